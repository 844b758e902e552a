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
 */
#ifndef BENCH_PINGPONG_H
#define BENCH_PINGPONG_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

#endif
