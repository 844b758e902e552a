// SPDX-License-Identifier: GPL-2.0
/*
 * Every rank exchanges with every other rank (round k: send to rank + k,
 * receive from rank - k), messages of 8 B, 20000 B (above PSM2's shm
 * rendezvous threshold, below the HFI's) and 1 MiB + 3, each filled with a
 * pattern of sender, receiver and size and checked byte by byte.
 *
 * Prints, per rank, "RECV <rank> <from> <bytes>" for every peer, so the
 * calling script can split what each unit should have seen into traffic
 * between nodes and inside one. Exit status: 0 if every byte arrived right.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const uint32_t sizes[] = { 8, 20000, (1u << 20) + 3 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define ROUNDS 3
#define MAX_SIZE ((1u << 20) + 3)

static uint8_t expected(int from, int to, uint32_t size, uint32_t i)
{
	return (uint8_t)(i * 13u + (uint32_t)from * 71u + (uint32_t)to * 5u +
			 size + (i >> 9));
}

int main(int argc, char **argv)
{
	int rank, n, errors = 0, all_errors = 0;
	uint8_t *out, *in;
	uint64_t *got;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &n);
	out = malloc(MAX_SIZE);
	in = malloc(MAX_SIZE);
	got = calloc((size_t)n, sizeof(*got));
	if (!out || !in || !got)
		MPI_Abort(MPI_COMM_WORLD, 2);
	for (int round = 0; round < ROUNDS; round++) {
		for (int k = 1; k < n; k++) {
			int to = (rank + k) % n, from = (rank - k + n) % n;

			for (unsigned s = 0; s < NSIZES; s++) {
				uint32_t len = sizes[s];

				for (uint32_t i = 0; i < len; i++)
					out[i] = expected(rank, to, len, i);
				MPI_Sendrecv(out, (int)len, MPI_BYTE, to, 40 + (int)s,
					     in, (int)len, MPI_BYTE, from,
					     40 + (int)s, MPI_COMM_WORLD,
					     MPI_STATUS_IGNORE);
				for (uint32_t i = 0; i < len; i++) {
					if (in[i] != expected(from, rank, len, i)) {
						fprintf(stderr,
							"rank %d: %u B from %d: byte %u wrong\n",
							rank, len, from, i);
						errors++;
						break;
					}
				}
				got[from] += len;
			}
		}
	}
	MPI_Allreduce(&errors, &all_errors, 1, MPI_INT, MPI_SUM,
		      MPI_COMM_WORLD);
	for (int from = 0; from < n; from++)
		if (from != rank)
			printf("RECV %d %d %llu\n", rank, from,
			       (unsigned long long)got[from]);
	if (rank == 0)
		printf("all pairs: %d ranks, %d errors\n", n, all_errors);
	free(out);
	free(in);
	free(got);
	MPI_Finalize();
	return all_errors ? 1 : 0;
}
