// SPDX-License-Identifier: GPL-2.0
/*
 * OSU-like MPI ping-pong latency/bandwidth between rank 0 and rank 1
 * (blocking MPI_Send/MPI_Recv, half a round trip per message), for
 * tests/mpi/bench/run.sh: the same binary runs over our libpsm2 (pml cm, mtl
 * psm2) and over Open MPI's shared memory (pml ob1, btl vader). Method and
 * output: bench/pingpong.h. Every message's first and last byte are checked.
 * Built on the host with mpicc (tests/mpi/Makefile) into build/mpi/.
 */
#include <mpi.h>
#include <stdint.h>
#include <string.h>

#include "pingpong.h"

static char *sbuf, *rbuf;
static int rank, bad;

/* n round trips of size bytes; rank 0's elapsed ns. */
static double round_trips(size_t size, unsigned n)
{
	double t0 = pp_now_ns();

	for (unsigned i = 0; i < n; i++) {
		if (rank == 0) {
			sbuf[0] = (char)i;
			sbuf[size - 1] = (char)(i + 1);
			MPI_Send(sbuf, (int)size, MPI_BYTE, 1, 1,
				 MPI_COMM_WORLD);
			MPI_Recv(rbuf, (int)size, MPI_BYTE, 1, 2,
				 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(rbuf, (int)size, MPI_BYTE, 0, 1,
				 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			memcpy(sbuf, rbuf, 1);
			sbuf[size - 1] = rbuf[size - 1];
			MPI_Send(sbuf, (int)size, MPI_BYTE, 0, 2,
				 MPI_COMM_WORLD);
		}
		if (rank == 0 && (rbuf[0] != (char)i ||
				  rbuf[size - 1] != (char)(i + 1)))
			bad++;
	}
	return pp_now_ns() - t0;
}

/* Every rank takes rank 0's round length. */
static int share_n(unsigned *n, void *arg)
{
	(void)arg;
	return MPI_Bcast(n, 1, MPI_UNSIGNED, 0, MPI_COMM_WORLD) != MPI_SUCCESS;
}

int main(int argc, char **argv)
{
	int nranks;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "mpi_bench: needs exactly 2 ranks\n");
		MPI_Finalize();
		return 2;
	}
	sbuf = malloc(PP_MAX_SIZE);
	rbuf = malloc(PP_MAX_SIZE);
	if (!sbuf || !rbuf)
		MPI_Abort(MPI_COMM_WORLD, 2);
	memset(sbuf, 1, PP_MAX_SIZE);
	memset(rbuf, 0, PP_MAX_SIZE);

	pp_run_sizes(rank, round_trips, share_n, NULL);
	if (rank == 0)
		printf("%s: %d wrong messages\n", bad ? "FAIL" : "OK", bad);
	free(sbuf);
	free(rbuf);
	MPI_Finalize();
	return bad ? 1 : 0;
}
