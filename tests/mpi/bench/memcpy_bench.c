// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of the MPI benchmark's goals: memcpy in one process, per size
 * of pingpong.h, measured the same way (warm-up, rounds of ~150 ms, median
 * of PP_ROUNDS), so bench/run.sh can put Open MPI's bandwidth next to it
 * in the same boot. One op is one copy of the size (the "half RTT"
 * column), source and destination 4 MiB apart from other buffers.
 * Prints RESULT lines as pingpong.h, then "OK: 0 wrong messages".
 */
#include <stdint.h>
#include <string.h>

#include "pingpong.h"

static void copy_n(uint8_t *dst, const uint8_t *src, size_t size, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		memcpy(dst, src, size);
		/* the copy is the result: keep the compiler from dropping it */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
}

int main(void)
{
	uint8_t *src = malloc(PP_MAX_SIZE), *dst = malloc(PP_MAX_SIZE);
	double half[PP_ROUNDS];

	if (!src || !dst)
		return 1;
	memset(src, 0x5a, PP_MAX_SIZE);
	memset(dst, 0, PP_MAX_SIZE);
	for (unsigned s = 0; s < PP_NSIZES; s++) {
		size_t size = pp_sizes[s];
		double t0, one;
		unsigned n;

		copy_n(dst, src, size, PP_WARMUP);
		t0 = pp_now_ns();
		copy_n(dst, src, size, PP_WARMUP);
		one = (pp_now_ns() - t0) / PP_WARMUP;
		n = pp_round_len(one);
		for (unsigned r = 0; r < PP_ROUNDS; r++) {
			t0 = pp_now_ns();
			copy_n(dst, src, size, n);
			half[r] = (pp_now_ns() - t0) / n;
		}
		pp_report(size, half, PP_ROUNDS, n);
	}
	if (memcmp(dst, src, PP_MAX_SIZE)) {
		printf("memcpy copied wrong bytes\n");
		return 1;
	}
	printf("OK: 0 wrong messages\n");
	free(src);
	free(dst);
	return 0;
}
