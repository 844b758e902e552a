// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Latency baseline: 8 bytes bounced between two processes over a pair of
 * pipes. One op is half a round trip (one message, one wake-up): what a
 * later device latency test compares with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MSG 8

struct pp_ctx {
	int to_child;
	int from_child;
};

static int full_read(int fd, char *buf, size_t n)
{
	size_t got;
	ssize_t r;

	for (got = 0; got < n; got += r) {
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* The child: echo every message until EOF. */
static void echo_loop(int in, int out)
{
	char buf[MSG];

	while (!full_read(in, buf, MSG))
		if (write(out, buf, MSG) != MSG)
			break;
	_exit(0);
}

static int round_trips(void *ctx, unsigned long iters)
{
	struct pp_ctx *c = ctx;
	char buf[MSG] = "pingpong";
	int ret;

	while (iters--) {
		if (write(c->to_child, buf, MSG) != MSG)
			return -errno;
		ret = full_read(c->from_child, buf, MSG);
		if (ret)
			return ret;
	}
	return 0;
}

static int pingpong_run(const struct bench_family *fam,
			const struct bench_opts *o)
{
	static const char *const label = "pipe ping-pong, 2 processes (half RTT)";
	int down[2], up[2], ret;
	struct pp_ctx c;
	pid_t pid;

	if (pipe2(down, O_CLOEXEC)) {
		ret = -errno;
		goto fail;
	}
	if (pipe2(up, O_CLOEXEC)) {
		ret = -errno;
		close(down[0]);
		close(down[1]);
		goto fail;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		goto fail;
	}
	if (!pid) {
		bench_place_peer();
		close(down[1]);
		close(up[0]);
		echo_loop(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	c.to_child = down[1];
	c.from_child = up[0];
	ret = bench_run(fam, o, "pipe", label, MSG, round_trips, &c, 2);
	close(c.to_child);
	close(c.from_child);
	waitpid(pid, NULL, 0);
	return ret;
fail:
	bench_fail(fam, "pipe", label, MSG, ret);
	return ret;
}

const struct bench_family bench_pingpong_family = {
	.name = "pingpong",
	.title = "latency: 8-byte message between two processes (ns per one-way trip)",
	.run = pingpong_run,
};
