// SPDX-License-Identifier: GPL-2.0
/*
 * MPI_THREAD_MULTIPLE over the psm2 MTL: THREADS threads per rank, rank r
 * paired with rank r ^ 1, every thread at once:
 *   own tags     thread t exchanges with thread t of its peer in its own
 *                tag space: blocking Send/Recv (psm2_mq_send2 in the MTL)
 *                and Isend/Irecv/Waitall, 0 B .. 1 MiB, data checked
 *   shared tag   every thread sends to and receives from one tag all
 *                threads share: a message may reach any thread of the
 *                peer; each carries its sender's thread and number, the
 *                receiver checks its data, and in the end every message
 *                arrived exactly once
 * Rank 0 prints "RXMIN <rank> <bytes>" per rank (payload received), for
 * the script to compare with the driver's rx_bytes. Exit status 0 if
 * every check passed.
 */
#include <inttypes.h>
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	THREADS = 4,
	MSGS = 40,
	SHARED_TAG = 30000,
	MAX_SIZE = 1 << 20,
	SHARED_MAX = 256 << 10,	/* payload per shared-tag message */
};

static int rank, nranks, peer;
static atomic_int errors;
static atomic_uint_fast64_t rx_bytes;
/* shared tag: messages received, by sender thread and number */
static atomic_int seen[THREADS][MSGS];

#define FAIL(...) \
	do { \
		printf("rank %d: FAIL: ", rank); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		atomic_fetch_add(&errors, 1); \
	} while (0)

static uint32_t size_of(unsigned t, unsigned i)
{
	static const uint32_t sizes[] = { 0, 8, 100, 4096, 65536, 70000,
					  262144, MAX_SIZE };

	return sizes[(t * 3 + i) % (sizeof(sizes) / sizeof(sizes[0]))];
}

static uint8_t byte_at(uint32_t i, uint32_t seed)
{
	return (uint8_t)(i * 31u + seed * 131u + (i >> 10));
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = byte_at(i, seed);
}

static uint32_t bad_byte(const uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != byte_at(i, seed))
			return i + 1;
	return 0;
}

/* The seed of message i of thread t sent by rank r. */
static uint32_t seed_of(int r, unsigned t, unsigned i)
{
	return (uint32_t)r << 20 | t << 12 | i;
}

static void own_tags(unsigned t, uint8_t *sbuf, uint8_t *rbuf)
{
	for (unsigned i = 0; i < MSGS; i++) {
		uint32_t n = size_of(t, i);
		int tag = (int)(t * 1000 + i), got;
		MPI_Request rq[2];
		MPI_Status st;

		fill(sbuf, n, seed_of(rank, t, i));
		memset(rbuf, 0xee, n);
		if (i % 2) {
			/* blocking, lower rank first: no deadlock */
			if (rank < peer) {
				MPI_Send(sbuf, (int)n, MPI_BYTE, peer, tag,
					 MPI_COMM_WORLD);
				MPI_Recv(rbuf, MAX_SIZE, MPI_BYTE, peer, tag,
					 MPI_COMM_WORLD, &st);
			} else {
				MPI_Recv(rbuf, MAX_SIZE, MPI_BYTE, peer, tag,
					 MPI_COMM_WORLD, &st);
				MPI_Send(sbuf, (int)n, MPI_BYTE, peer, tag,
					 MPI_COMM_WORLD);
			}
		} else {
			MPI_Irecv(rbuf, MAX_SIZE, MPI_BYTE, peer, tag,
				  MPI_COMM_WORLD, &rq[0]);
			MPI_Isend(sbuf, (int)n, MPI_BYTE, peer, tag,
				  MPI_COMM_WORLD, &rq[1]);
			MPI_Wait(&rq[1], MPI_STATUS_IGNORE);
			MPI_Wait(&rq[0], &st);
		}
		MPI_Get_count(&st, MPI_BYTE, &got);
		if ((uint32_t)got != n || st.MPI_TAG != tag)
			FAIL("thread %u msg %u: %d bytes, tag %d (want %u, %d)",
			     t, i, got, st.MPI_TAG, n, tag);
		else if (bad_byte(rbuf, n, seed_of(peer, t, i)))
			FAIL("thread %u msg %u: data differs at byte %u", t, i,
			     bad_byte(rbuf, n, seed_of(peer, t, i)) - 1);
		atomic_fetch_add(&rx_bytes, (uint64_t)got);
	}
}

static uint32_t shared_size(unsigned t, unsigned i)
{
	uint32_t n = size_of(t, i);

	return (n > SHARED_MAX ? SHARED_MAX : n) + 8;
}

/* Shared tag: header (thread, number) in the first 8 bytes, then data. */
static void shared_tag(unsigned t, uint8_t *sbufs, uint8_t *rbufs)
{
	MPI_Request rq[2 * MSGS];
	MPI_Status st[2 * MSGS];

	for (unsigned i = 0; i < MSGS; i++) {
		uint32_t n = shared_size(t, i);
		uint8_t *s = sbufs + (size_t)i * (SHARED_MAX + 8);

		MPI_Irecv(rbufs + (size_t)i * (SHARED_MAX + 8), SHARED_MAX + 8,
			  MPI_BYTE, peer, SHARED_TAG, MPI_COMM_WORLD, &rq[i]);
		memcpy(s, &t, 4);
		memcpy(s + 4, &i, 4);
		fill(s + 8, n - 8, seed_of(rank, t, i) ^ 0x80000);
		MPI_Isend(s, (int)n, MPI_BYTE, peer, SHARED_TAG,
			  MPI_COMM_WORLD, &rq[MSGS + i]);
	}
	MPI_Waitall(2 * MSGS, rq, st);
	for (unsigned i = 0; i < MSGS; i++) {
		const uint8_t *r = rbufs + (size_t)i * (SHARED_MAX + 8);
		unsigned st_, si;
		int got;

		MPI_Get_count(&st[i], MPI_BYTE, &got);
		memcpy(&st_, r, 4);
		memcpy(&si, r + 4, 4);
		if (got < 8 || st_ >= THREADS || si >= MSGS ||
		    (uint32_t)got != shared_size(st_, si)) {
			FAIL("shared tag: bad message (%d bytes)", got);
			continue;
		}
		if (bad_byte(r + 8, (uint32_t)got - 8,
			     seed_of(peer, st_, si) ^ 0x80000))
			FAIL("shared tag: data of thread %u msg %u differs",
			     st_, si);
		atomic_fetch_add(&seen[st_][si], 1);
		atomic_fetch_add(&rx_bytes, (uint64_t)got);
	}
}

static void *thread_main(void *p)
{
	unsigned t = (unsigned)(uintptr_t)p;
	uint8_t *sbuf = malloc(MAX_SIZE), *rbuf = malloc(MAX_SIZE);
	uint8_t *sbufs = malloc((size_t)MSGS * (SHARED_MAX + 8));
	uint8_t *rbufs = malloc((size_t)MSGS * (SHARED_MAX + 8));

	if (!sbuf || !rbuf || !sbufs || !rbufs) {
		FAIL("thread %u: out of memory", t);
	} else {
		own_tags(t, sbuf, rbuf);
		shared_tag(t, sbufs, rbufs);
	}
	free(sbuf);
	free(rbuf);
	free(sbufs);
	free(rbufs);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[THREADS];
	int provided, total = 0;
	uint64_t mine, *all;

	MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if (provided < MPI_THREAD_MULTIPLE || nranks % 2) {
		if (rank == 0)
			printf("FAIL: thread level %d (want %d), %d ranks (want even)\n",
			       provided, MPI_THREAD_MULTIPLE, nranks);
		MPI_Finalize();
		return 1;
	}
	peer = rank ^ 1;
	for (unsigned t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, thread_main,
				   (void *)(uintptr_t)t))
			FAIL("pthread_create");
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	for (unsigned t = 0; t < THREADS; t++)
		for (unsigned i = 0; i < MSGS; i++)
			if (atomic_load(&seen[t][i]) != 1)
				FAIL("shared tag: message %u of thread %u arrived %d times",
				     i, t, atomic_load(&seen[t][i]));

	mine = atomic_load(&rx_bytes);
	all = calloc((size_t)nranks, sizeof(*all));
	MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0,
		   MPI_COMM_WORLD);
	int mine_err = atomic_load(&errors);

	MPI_Allreduce(&mine_err, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("%s: MPI_THREAD_MULTIPLE, %d threads per rank, own and shared tags (%d ranks)\n",
		       total ? "FAIL" : "PASS", THREADS, nranks);
		for (int r = 0; r < nranks; r++)
			printf("RXMIN %d %" PRIu64 "\n", r, all[r]);
	}
	free(all);
	MPI_Finalize();
	return total ? 1 : 0;
}
