// SPDX-License-Identifier: GPL-2.0
/*
 * Endless large-message ping-pong between rank 0 and rank 1, for
 * tests/mpi/mpi_kill.sh: sizes cycle 4, 8, 16 MiB; each rank prints
 *   READY rank <r> pid <pid>
 * once, and rank 0 prints
 *   ITER <n> size <bytes>
 * after every completed round trip (stdout flushed), so the script can kill
 * one rank with a large transfer in flight. The first and last bytes of
 * every message are checked (a full check would only slow TCG down).
 *
 * Errors return (MPI_ERRORS_RETURN): the survivor of a kill prints
 *   ERROR rank <r> <call>: <MPI error string>
 * if Open MPI tells it before mpirun tears the job down.
 *
 * Bounded: stops by itself after argv[1] seconds (default 240) and then
 * exits 3, so a kill that never comes cannot look like a hang.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SIZE (16u << 20)

static const uint32_t sizes[] = { 4u << 20, 8u << 20, 16u << 20 };

static int report(int rank, const char *call, int rc)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (rc == MPI_SUCCESS)
		return 0;
	MPI_Error_string(rc, msg, &len);
	printf("ERROR rank %d %s: %s\n", rank, call, msg);
	fflush(stdout);
	return 1;
}

static void mark(uint8_t *p, uint32_t n, uint32_t seq)
{
	p[0] = (uint8_t)seq;
	p[n / 2] = (uint8_t)(seq >> 8);
	p[n - 1] = (uint8_t)(seq * 7u + 1u);
}

static int marked(const uint8_t *p, uint32_t n, uint32_t seq)
{
	return p[0] == (uint8_t)seq && p[n / 2] == (uint8_t)(seq >> 8) &&
	       p[n - 1] == (uint8_t)(seq * 7u + 1u);
}

int main(int argc, char **argv)
{
	double limit = argc > 1 ? atof(argv[1]) : 240.0, t0;
	uint8_t *out, *in;
	int rank, nranks;

	MPI_Init(&argc, &argv);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "mpi_stream: needs exactly 2 ranks\n");
		MPI_Finalize();
		return 2;
	}
	out = malloc(MAX_SIZE);
	in = malloc(MAX_SIZE);
	if (!out || !in) {
		fprintf(stderr, "mpi_stream: no memory\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	memset(out, 0x5a, MAX_SIZE);
	printf("READY rank %d pid %d\n", rank, (int)getpid());
	fflush(stdout);

	t0 = MPI_Wtime();
	for (uint32_t it = 0; MPI_Wtime() - t0 < limit; it++) {
		uint32_t n = sizes[it % 3];
		MPI_Status st;

		if (rank == 0) {
			mark(out, n, it);
			if (report(rank, "MPI_Send",
				   MPI_Send(out, (int)n, MPI_BYTE, 1, 1,
					    MPI_COMM_WORLD)) ||
			    report(rank, "MPI_Recv",
				   MPI_Recv(in, (int)n, MPI_BYTE, 1, 2,
					    MPI_COMM_WORLD, &st)))
				return 1;
		} else {
			if (report(rank, "MPI_Recv",
				   MPI_Recv(in, (int)n, MPI_BYTE, 0, 1,
					    MPI_COMM_WORLD, &st)))
				return 1;
			mark(out, n, it + 1000);
			if (report(rank, "MPI_Send",
				   MPI_Send(out, (int)n, MPI_BYTE, 0, 2,
					    MPI_COMM_WORLD)))
				return 1;
		}
		if (!marked(in, n, rank == 0 ? it + 1000 : it)) {
			printf("ERROR rank %d: iteration %u: wrong data\n",
			       rank, it);
			fflush(stdout);
			return 1;
		}
		if (rank == 0) {
			printf("ITER %u size %u\n", it + 1, n);
			fflush(stdout);
		}
	}
	printf("TIMEUP rank %d: nobody was killed within %.0f s\n", rank,
	       limit);
	MPI_Finalize();
	return 3;
}
