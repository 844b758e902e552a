// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Copies of 8 B .. max_bytes between two buffers, five ways:
 *
 *   drvops   copy.generic COPY user->user on a driver-ops fd (bounce
 *            page in the kernel, completion consumed from the mapped ring)
 *   misc     the same copy on the bare misc device (no broker, no
 *            completion: the ioctl's return value is the status)
 *   memcpy   in userspace: the floor
 *   cma      process_vm_writev into a child process, one call per copy
 *   pipe     write() then read() of the same bytes on a pipe, one process
 *            (in pipe-capacity chunks)
 *
 * All five are set up together and measured side by side at each size
 * (bench_run_set). Each is checked once per size (destination cleared,
 * one copy, compared) before it is timed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rdma/drvops_generic.h>
#include <rdma/drvops_miscbench.h>

#include "bench.h"

#define MAX_SIZES 32

struct copy_ctx {
	char *src;
	char *dst;
	size_t len;
	size_t max;
	struct bench_generic g;
	int misc_fd;
	int pipe_fd[2];
	size_t pipe_cap;
	pid_t child;
	int child_ctl;		/* closing it ends the child */
};

struct copy_method {
	const char *id;
	const char *label;
	int (*setup)(struct copy_ctx *c);
	void (*teardown)(struct copy_ctx *c);
	bench_fn fn;
	/* Bring the copy back into c->dst for the check; NULL: it is there. */
	int (*fetch)(struct copy_ctx *c);
};

/* ---- drvops: copy.generic COPY ---------------------------------------- */

static int generic_setup(struct copy_ctx *c)
{
	return bench_generic_open(&c->g);
}

static void generic_teardown(struct copy_ctx *c)
{
	bench_generic_close(&c->g);
}

static int generic_copy(void *ctx, unsigned long iters)
{
	struct copy_ctx *c = ctx;
	struct drvops_generic_copy cmd = {
		.size = sizeof(cmd),
		.src.addr = (uintptr_t)c->src,
		.dst.addr = (uintptr_t)c->dst,
		.length = c->len,
	};
	int ret;

	while (iters--) {
		if (ioctl(c->g.fd, DRVOPS_GENERIC_IOCTL_COPY, &cmd))
			return -errno;
		ret = bench_generic_reap(&c->g);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- misc: the baseline char device ----------------------------------- */

static int misc_setup(struct copy_ctx *c)
{
	c->misc_fd = bench_misc_open();
	return c->misc_fd < 0 ? c->misc_fd : 0;
}

static void misc_teardown(struct copy_ctx *c)
{
	close(c->misc_fd);
}

static int misc_copy(void *ctx, unsigned long iters)
{
	struct copy_ctx *c = ctx;
	struct drvops_miscbench_copy cmd = {
		.src = (uintptr_t)c->src,
		.dst = (uintptr_t)c->dst,
		.length = c->len,
	};

	while (iters--)
		if (ioctl(c->misc_fd, DRVOPS_MISCBENCH_IOCTL_COPY, &cmd))
			return -errno;
	return 0;
}

/* ---- memcpy ----------------------------------------------------------- */

static int user_memcpy(void *ctx, unsigned long iters)
{
	struct copy_ctx *c = ctx;

	while (iters--) {
		memcpy(c->dst, c->src, c->len);
		/* The copy is used: the compiler may not drop it. */
		__asm__ __volatile__("" : : "r"(c->dst) : "memory");
	}
	return 0;
}

/* ---- cma: process_vm_writev into a child ------------------------------ */

/*
 * The child is a fork of us: c->dst exists in it at the same address. It
 * waits for EOF on its control pipe, then exits.
 */
static int cma_setup(struct copy_ctx *c)
{
	int ctl[2];
	char b;

	if (pipe2(ctl, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	c->child = fork();
	if (c->child < 0) {
		close(ctl[0]);
		close(ctl[1]);
		return -errno;
	}
	if (!c->child) {
		bench_place_peer();
		close(ctl[1]);
		while (read(ctl[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ctl[0]);
	c->child_ctl = ctl[1];
	return 0;
}

static void cma_teardown(struct copy_ctx *c)
{
	close(c->child_ctl);
	waitpid(c->child, NULL, 0);
}

static int cma_copy(void *ctx, unsigned long iters)
{
	struct copy_ctx *c = ctx;
	struct iovec local = { .iov_base = c->src, .iov_len = c->len };
	struct iovec remote = { .iov_base = c->dst, .iov_len = c->len };
	ssize_t n;

	while (iters--) {
		n = process_vm_writev(c->child, &local, 1, &remote, 1, 0);
		if (n != (ssize_t)c->len)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static int cma_fetch(struct copy_ctx *c)
{
	struct iovec local = { .iov_base = c->dst, .iov_len = c->len };
	struct iovec remote = { .iov_base = c->dst, .iov_len = c->len };
	ssize_t n = process_vm_readv(c->child, &local, 1, &remote, 1, 0);

	return n == (ssize_t)c->len ? 0 : n < 0 ? -errno : -EIO;
}

/* ---- pipe: write + read in one process -------------------------------- */

static int pipe_setup(struct copy_ctx *c)
{
	int cap;

	if (pipe2(c->pipe_fd, O_CLOEXEC))
		return -errno;
	/* As large as allowed (root may exceed pipe-max-size); else chunks. */
	fcntl(c->pipe_fd[1], F_SETPIPE_SZ, (int)c->max);
	cap = fcntl(c->pipe_fd[1], F_GETPIPE_SZ);
	c->pipe_cap = cap > 0 ? (size_t)cap : 4096;
	return 0;
}

static void pipe_teardown(struct copy_ctx *c)
{
	close(c->pipe_fd[0]);
	close(c->pipe_fd[1]);
}

static int pipe_chunk(struct copy_ctx *c, size_t off, size_t n)
{
	size_t got;
	ssize_t r;

	r = write(c->pipe_fd[1], c->src + off, n);
	if (r != (ssize_t)n)
		return r < 0 ? -errno : -EIO;
	for (got = 0; got < n; got += r) {
		r = read(c->pipe_fd[0], c->dst + off + got, n - got);
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
	}
	return 0;
}

static int pipe_copy(void *ctx, unsigned long iters)
{
	struct copy_ctx *c = ctx;
	size_t off, n;
	int ret;

	while (iters--) {
		for (off = 0; off < c->len; off += n) {
			n = c->len - off < c->pipe_cap ? c->len - off :
							 c->pipe_cap;
			ret = pipe_chunk(c, off, n);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ---- the sweep -------------------------------------------------------- */

static const struct copy_method methods[] = {
	{ "drvops", "drvops copy.generic COPY user->user (broker)",
	  generic_setup, generic_teardown, generic_copy, NULL },
	{ "misc", "misc char dev COPY user->user (no broker)",
	  misc_setup, misc_teardown, misc_copy, NULL },
	{ "memcpy", "memcpy in userspace",
	  NULL, NULL, user_memcpy, NULL },
	{ "cma", "process_vm_writev into a child (CMA)",
	  cma_setup, cma_teardown, cma_copy, cma_fetch },
	{ "pipe", "pipe write+read, one process",
	  pipe_setup, pipe_teardown, pipe_copy, NULL },
};

/* One copy into a cleared destination, compared with the source. */
static int check_once(const struct copy_method *m, struct copy_ctx *c)
{
	int ret;

	memset(c->dst, 0, c->len);
	ret = m->fn(c, 1);
	if (!ret && m->fetch)
		ret = m->fetch(c);
	if (!ret && memcmp(c->dst, c->src, c->len))
		ret = -EBADMSG;
	return ret;
}

#define NUM_METHODS (sizeof(methods) / sizeof(methods[0]))

/* All methods at one size, side by side; a failed check is its row. */
static int one_size(const struct bench_family *fam,
		    const struct bench_opts *o, struct copy_ctx *c,
		    const int *setup, size_t len)
{
	struct bench_case cases[NUM_METHODS];
	unsigned int i;

	c->len = len;
	for (i = 0; i < NUM_METHODS; i++) {
		cases[i] = (struct bench_case){
			.method = methods[i].id,
			.label = methods[i].label,
			.bytes = len,
			.fn = methods[i].fn,
			.ctx = c,
			.err = setup[i],
		};
		if (!cases[i].err)
			cases[i].err = check_once(&methods[i], c);
	}
	return bench_run_set(fam, o, cases, NUM_METHODS);
}

static int copy_run(const struct bench_family *fam, const struct bench_opts *o)
{
	struct copy_ctx c = { .max = o->max_bytes };
	int setup[NUM_METHODS], ret, err = 0;
	size_t sizes[MAX_SIZES], j;
	unsigned int ns, i;

	ns = bench_sizes(o->max_bytes, sizes, MAX_SIZES);
	c.src = mmap(NULL, c.max, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	c.dst = mmap(NULL, c.max, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (c.src == MAP_FAILED || c.dst == MAP_FAILED)
		return -ENOMEM;
	for (j = 0; j < c.max; j++)
		c.src[j] = (char)(j * 7 + 1);

	for (i = 0; i < NUM_METHODS; i++)
		setup[i] = methods[i].setup ? methods[i].setup(&c) : 0;
	for (i = 0; i < ns; i++) {
		fprintf(stderr, "drvops-bench: copy %zu bytes\n", sizes[i]);
		ret = one_size(fam, o, &c, setup, sizes[i]);
		if (ret && !err)
			err = ret;
	}
	for (i = 0; i < NUM_METHODS; i++)
		if (!setup[i] && methods[i].teardown)
			methods[i].teardown(&c);
	munmap(c.src, c.max);
	munmap(c.dst, c.max);
	return err;
}

const struct bench_family bench_copy_family = {
	.name = "copy",
	.title = "copy through the kernel, user buffer to user buffer",
	.ref = "misc",
	.run = copy_run,
};
