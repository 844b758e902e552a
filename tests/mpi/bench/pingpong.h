/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The measurement shared by the ping-pong benchmarks of bench/run.sh
 * (psm2_pingpong.c: PSM2 directly; mpi_bench.c: Open MPI), so both report
 * the same thing the same way:
 *
 * sizes 8 B, 64 B, then powers of 4 from 256 B to 4 MiB (drvops-bench's
 * bench_sizes()); per size 3 untimed warm-up round trips, then 3 more that
 * time one round trip, which sets the round length N (~PP_ROUND_NS, 2..2000
 * round trips; rank 0 decides and tells rank 1), then PP_ROUNDS rounds of N
 * round trips. Reported per size, by rank 0, one line:
 *   RESULT <bytes> <half RTT us, median of rounds> <min> <max> <MB/s> <N>
 * MB/s = bytes / median half round trip (10^6 bytes per second).
 * DRVOPS_PP_MAX_BYTES (environment, every rank): stop after that size.
 */
#ifndef BENCH_PINGPONG_H
#define BENCH_PINGPONG_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PP_MAX_SIZE (4u << 20)
#define PP_ROUNDS 11
#define PP_WARMUP 3
#define PP_ROUND_NS 150000000.0 /* 150 ms per round */

static const size_t pp_sizes[] = {
	8, 64, 256, 1024, 4096, 16384, 65536, 262144, 1u << 20, 4u << 20,
};
#define PP_NSIZES (sizeof(pp_sizes) / sizeof(pp_sizes[0]))

static inline double pp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Round trips per round from the time of one warm-up round trip. */
static inline unsigned pp_round_len(double rtt_ns)
{
	double n = rtt_ns > 0 ? PP_ROUND_NS / rtt_ns : 2000;

	return n < 2 ? 2 : n > 2000 ? 2000 : (unsigned)n;
}

static int pp_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* half[]: half round trips in ns, one per round (sorted here). */
static inline void pp_report(size_t size, double *half, unsigned rounds,
			     unsigned n)
{
	double med;

	qsort(half, rounds, sizeof(half[0]), pp_cmp);
	med = half[rounds / 2];
	printf("RESULT %zu %.2f %.2f %.2f %.2f %u\n", size, med / 1e3,
	       half[0] / 1e3, half[rounds - 1] / 1e3,
	       med > 0 ? (double)size / (med / 1e9) / 1e6 : 0.0, n);
	fflush(stdout);
}

/* Read exactly len bytes from fd: 0, or -1 on end of file or error. */
static inline int pp_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/*
 * Every size of pp_sizes, as described at the top: round_trips(size, n)
 * runs n round trips and returns the ns they took; rank 0 (me == 0)
 * proposes the round length and share_n(&n, arg) makes every rank agree
 * on rank 0's; rank 0 reports. 0, or share_n's failure.
 */
static inline int pp_run_sizes(int me,
			       double (*round_trips)(size_t size, unsigned n),
			       int (*share_n)(unsigned *n, void *arg),
			       void *arg)
{
	const char *max_env = getenv("DRVOPS_PP_MAX_BYTES");
	size_t max = max_env ? strtoul(max_env, NULL, 0) : 0;
	double half[PP_ROUNDS];

	for (unsigned s = 0; s < PP_NSIZES; s++) {
		size_t size = pp_sizes[s];
		unsigned n;
		double w;
		int err;

		/* bench/profile.sh: only the small sizes (every rank sees it). */
		if (max && size > max)
			break;

		round_trips(size, PP_WARMUP); /* untimed: first touch */
		w = round_trips(size, PP_WARMUP);
		n = pp_round_len(w / PP_WARMUP);
		err = share_n(&n, arg);
		if (err)
			return err;
		for (unsigned r = 0; r < PP_ROUNDS; r++)
			half[r] = round_trips(size, n) / n / 2;
		if (me == 0)
			pp_report(size, half, PP_ROUNDS, n);
	}
	return 0;
}

/* The two ranks of pp_two_ranks(): rank 0 writes n, rank 1 reads it. */
struct pp_pipes {
	int me, wfd, rfd;
};

static inline int pp_share_n_pipes(unsigned *n, void *arg)
{
	const struct pp_pipes *p = arg;

	if (p->me == 0)
		return write(p->wfd, n, sizeof(*n)) == sizeof(*n) ? 0 : -1;
	return pp_read_full(p->rfd, n, sizeof(*n));
}

/*
 * The two ranks, connected by two pipes: rank 1 forked, rank 0 in this
 * process, each rank(me, unit, wfd, rfd) on its own unit; rank 0 counts
 * wrong messages in *bad. Returns the exit status: 0 when both ran and
 * none was wrong ("OK: 0 wrong messages", what bench/run.sh looks for).
 */
static inline int pp_two_ranks(void (*rank)(int me, int unit, int wfd, int rfd),
			       int unit0, int unit1, const char *name,
			       const int *bad)
{
	int to1[2], to0[2], status = 0;
	pid_t pid;

	if (pipe(to1) || pipe(to0)) {
		perror("pipe");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		rank(1, unit1, to0[1], to1[0]);
		_exit(*bad ? 1 : 0);
	}
	rank(0, unit0, to1[1], to0[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "%s: rank 1 failed (status %#x)\n", name,
			status);
		return 1;
	}
	printf("%s: %d wrong messages\n", *bad ? "FAIL" : "OK", *bad);
	return *bad ? 1 : 0;
}

#endif
