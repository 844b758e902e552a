// SPDX-License-Identifier: GPL-2.0
/*
 * Ping-pong between rank 0 and rank 1 for every size from 0 B to 16 MiB
 * (powers of two and odd sizes around the eager/rendezvous thresholds),
 * each message filled with a pattern that depends on size, iteration and
 * direction and checked byte by byte on arrival.
 *
 * Prints one line per size and at the end
 *   PAYLOAD rank0->rank1 <bytes> rank1->rank0 <bytes>
 * so the calling script can compare the driver's per-unit rx_bytes with
 * what was really sent. Exit status: 0 if every byte arrived right.
 *
 * Built on the host against Debian's Open MPI 4.1.4 (tests/mpi/Makefile).
 */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE (16u << 20)
#define TAG_PING 17
#define TAG_PONG 18

static const uint32_t sizes[] = {
	0, 1, 7, 64, 1024, 4096, 8192, 8193, 16384, 65535, 65536, 65537,
	131072, 262144, 524288, 524289, 1u << 20, (1u << 20) + 3, 2u << 20,
	4u << 20, (4u << 20) + 1, 8u << 20, 16u << 20,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Fewer round trips for big messages: TCG moves ~100 MB/s at best. */
static unsigned iterations(uint32_t size)
{
	return size <= 65536 ? 10 : size <= (1u << 20) ? 3 : 1;
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31u + seed * 131u + (i >> 10));
}

/* Index of the first wrong byte, or -1. */
static long long first_diff(const uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(i * 31u + seed * 131u + (i >> 10)))
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	uint64_t sent_by[2] = { 0, 0 };
	uint8_t *out, *in;
	int rank, nranks, errors = 0, total_errors = 0;
	uint32_t max = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : MAX_SIZE;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "mpi_pingpong: needs exactly 2 ranks\n");
		MPI_Finalize();
		return 2;
	}
	out = malloc(MAX_SIZE + 1);
	in = malloc(MAX_SIZE + 1);
	if (!out || !in) {
		fprintf(stderr, "mpi_pingpong: no memory\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}

	for (unsigned s = 0; s < NSIZES && sizes[s] <= max; s++) {
		uint32_t n = sizes[s];
		unsigned iters = iterations(n);
		double t0 = MPI_Wtime();

		for (unsigned it = 0; it < iters; it++) {
			/* distinct per size, iteration and direction */
			uint32_t ping_seed = s * 1000 + it * 2;
			uint32_t pong_seed = ping_seed + 1;
			MPI_Status st;
			int count;
			long long bad;

			if (rank == 0) {
				fill(out, n, ping_seed);
				MPI_Send(out, (int)n, MPI_BYTE, 1, TAG_PING,
					 MPI_COMM_WORLD);
				memset(in, 0xa5, n + 1);
				MPI_Recv(in, (int)n, MPI_BYTE, 1, TAG_PONG,
					 MPI_COMM_WORLD, &st);
				bad = first_diff(in, n, pong_seed);
			} else {
				memset(in, 0xa5, n + 1);
				MPI_Recv(in, (int)n, MPI_BYTE, 0, TAG_PING,
					 MPI_COMM_WORLD, &st);
				bad = first_diff(in, n, ping_seed);
				fill(out, n, pong_seed);
				MPI_Send(out, (int)n, MPI_BYTE, 0, TAG_PONG,
					 MPI_COMM_WORLD);
			}
			MPI_Get_count(&st, MPI_BYTE, &count);
			if (count != (int)n || bad >= 0 || in[n] != 0xa5) {
				printf("rank %d: size %u iteration %u: got %d bytes, first wrong byte %lld, guard %#x\n",
				       rank, n, it, count, bad, in[n]);
				errors++;
			}
			sent_by[0] += n;
			sent_by[1] += n;
		}
		if (rank == 0)
			printf("size %9u B x %2u round trips: %10.1f us per round trip\n",
			       n, iters, (MPI_Wtime() - t0) * 1e6 / iters);
	}

	MPI_Allreduce(&errors, &total_errors, 1, MPI_INT, MPI_SUM,
		      MPI_COMM_WORLD);
	if (rank == 0) {
		printf("PAYLOAD rank0->rank1 %" PRIu64 " rank1->rank0 %" PRIu64 "\n",
		       sent_by[0], sent_by[1]);
		printf("%s: %d data errors\n", total_errors ? "FAIL" : "OK",
		       total_errors);
	}
	free(out);
	free(in);
	MPI_Finalize();
	return total_errors ? 1 : 0;
}
