// SPDX-License-Identifier: GPL-2.0
/*
 * The MPI calls Open MPI's psm2 MTL maps onto the PSM2 MQ, on any number
 * of ranks (2, or 4 with two per unit), each checked on its data:
 *   nonblocking  Isend/Irecv to and from every rank, 0 B .. 2 MiB, Waitall
 *   probe        Probe, Iprobe, Mprobe/Mrecv, Improbe/Mrecv (size unknown
 *                to the receiver)
 *   cancel       Irecv nobody sends to, Cancel, Wait, Test_cancelled
 *   collectives  Allreduce, Alltoall, Bcast (from the first and last rank)
 *
 * Rank 0 prints "RXMIN <rank> <bytes>" per rank: payload that rank must
 * have received from others (a lower bound for the collectives, whatever
 * algorithm Open MPI picks), for the calling script to compare with the
 * driver's per-unit rx_bytes. Exit status 0 if every check passed.
 */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, nranks, errors;
static uint64_t rx_min;		/* payload this rank received, at least */

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			printf("rank %d: FAIL: ", rank); \
			printf(__VA_ARGS__); \
			printf("\n"); \
			errors++; \
		} \
	} while (0)

static uint8_t byte_at(uint32_t i, uint32_t seed)
{
	return (uint8_t)(i * 31u + seed * 131u + (i >> 10));
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = byte_at(i, seed);
}

static int same(const uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != byte_at(i, seed))
			return 0;
	return 1;
}

/* Seed of the message from src to dst of size index s. */
static uint32_t seed_of(int src, int dst, unsigned s)
{
	return (uint32_t)(src * 64 + dst * 8) + s;
}

static void test_nonblocking(void)
{
	static const uint32_t sizes[] = { 0, 100, 70000, 2u << 20 };
	const unsigned ns = sizeof(sizes) / sizeof(sizes[0]);
	unsigned nreq = 2 * ns * (unsigned)nranks, r = 0;
	MPI_Request *req = calloc(nreq, sizeof(*req));
	uint8_t **out = calloc(nreq, sizeof(*out)), **in = calloc(nreq, sizeof(*in));
	MPI_Status *st = calloc(nreq, sizeof(*st));

	/* receives first for half the peers, sends first for the others */
	for (int peer = 0; peer < nranks; peer++) {
		if (peer == rank)
			continue;
		for (unsigned s = 0; s < ns; s++) {
			in[r] = malloc(sizes[s] + 1);
			MPI_Irecv(in[r], (int)sizes[s], MPI_BYTE, peer, 100 + (int)s,
				  MPI_COMM_WORLD, &req[r]);
			r++;
			out[r] = malloc(sizes[s] + 1);
			fill(out[r], sizes[s], seed_of(rank, peer, s));
			MPI_Isend(out[r], (int)sizes[s], MPI_BYTE, peer, 100 + (int)s,
				  MPI_COMM_WORLD, &req[r]);
			r++;
		}
	}
	if (MPI_Waitall((int)r, req, st) != MPI_SUCCESS) {
		/* which ones: the status of each request says */
		for (unsigned i = 0; i < r; i++) {
			char msg[MPI_MAX_ERROR_STRING];
			int len = 0;

			if (st[i].MPI_ERROR == MPI_SUCCESS)
				continue;
			MPI_Error_string(st[i].MPI_ERROR, msg, &len);
			CHECK(0, "Waitall: %s %u of size index %u: %s",
			      i % 2 ? "send" : "receive", i / 2,
			      (i / 2) % ns, msg);
		}
	}
	r = 0;
	for (int peer = 0; peer < nranks; peer++) {
		if (peer == rank)
			continue;
		for (unsigned s = 0; s < ns; s++) {
			int count = -1;

			MPI_Get_count(&st[r], MPI_BYTE, &count);
			CHECK(count == (int)sizes[s] && st[r].MPI_SOURCE == peer &&
			      same(in[r], sizes[s], seed_of(peer, rank, s)),
			      "nonblocking %u B from %d: %d bytes", sizes[s],
			      peer, count);
			rx_min += sizes[s];
			free(in[r]);
			free(out[r + 1]);
			r += 2;
		}
	}
	free(req);
	free(out);
	free(in);
	free(st);
}

/* Pairs (0,1), (2,3): the even rank sends, the odd one probes. */
static void test_probe(void)
{
	static const uint32_t sizes[] = { 12, 5000, 300000, 0 };
	int peer = rank ^ 1;

	if (peer >= nranks)
		return;
	for (unsigned k = 0; k < 4; k++) {
		uint32_t n = sizes[k];
		uint32_t seed = 7000 + k;

		if (rank % 2 == 0) {
			uint8_t *buf = malloc(n + 1);

			fill(buf, n, seed);
			MPI_Send(buf, (int)n, MPI_BYTE, peer, 200 + (int)k,
				 MPI_COMM_WORLD);
			free(buf);
			continue;
		}
		MPI_Status st;
		MPI_Message msg = MPI_MESSAGE_NULL;
		int count = -1, flag = 0;
		uint8_t *buf;
		const char *how;

		switch (k) {
		case 0:
			how = "Probe";
			MPI_Probe(MPI_ANY_SOURCE, 200, MPI_COMM_WORLD, &st);
			break;
		case 1:
			how = "Iprobe";
			while (!flag)
				MPI_Iprobe(peer, MPI_ANY_TAG, MPI_COMM_WORLD,
					   &flag, &st);
			break;
		case 2:
			how = "Mprobe";
			MPI_Mprobe(peer, 202, MPI_COMM_WORLD, &msg, &st);
			break;
		default:
			how = "Improbe";
			while (!flag)
				MPI_Improbe(MPI_ANY_SOURCE, 203, MPI_COMM_WORLD,
					    &flag, &msg, &st);
			break;
		}
		MPI_Get_count(&st, MPI_BYTE, &count);
		CHECK(count == (int)n && st.MPI_SOURCE == peer &&
		      st.MPI_TAG == 200 + (int)k, "%s: %d bytes from %d tag %d",
		      how, count, st.MPI_SOURCE, st.MPI_TAG);
		buf = malloc(count > 0 ? (size_t)count : 1);
		if (msg != MPI_MESSAGE_NULL)
			MPI_Mrecv(buf, count, MPI_BYTE, &msg, &st);
		else
			MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE,
				 st.MPI_TAG, MPI_COMM_WORLD, &st);
		CHECK(same(buf, n, seed), "%s: data", how);
		rx_min += n;
		free(buf);
	}
}

static void test_cancel(void)
{
	MPI_Request req;
	MPI_Status st;
	int cancelled = 0, x = 0;

	MPI_Irecv(&x, 1, MPI_INT, MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &req);
	CHECK(MPI_Cancel(&req) == MPI_SUCCESS, "Cancel");
	CHECK(MPI_Wait(&req, &st) == MPI_SUCCESS, "Wait after Cancel");
	MPI_Test_cancelled(&st, &cancelled);
	CHECK(cancelled, "receive not cancelled");
}

static void test_collectives(void)
{
	const int count = 1 << 18;		/* 1 MiB of int32 */
	const int block = 64 * 1024;		/* bytes per rank in Alltoall */
	const uint32_t bcast_bytes = 4u << 20;
	int32_t *in = malloc(count * sizeof(*in)), *sum = malloc(count * sizeof(*sum));
	uint8_t *a2a_out = malloc((size_t)block * nranks);
	uint8_t *a2a_in = malloc((size_t)block * nranks);
	uint8_t *bc = malloc(bcast_bytes);
	int ok = 1;

	for (int i = 0; i < count; i++)
		in[i] = i * (rank + 1) - rank;
	MPI_Allreduce(in, sum, count, MPI_INT32_T, MPI_SUM, MPI_COMM_WORLD);
	for (int i = 0; i < count && ok; i++) {
		int64_t want = 0;

		for (int r = 0; r < nranks; r++)
			want += (int64_t)i * (r + 1) - r;
		ok = sum[i] == (int32_t)want;
	}
	CHECK(ok, "Allreduce");
	/* whatever the algorithm, the others' contribution must reach us */
	rx_min += nranks > 1 ? (uint64_t)count * sizeof(*in) / 2 : 0;

	for (int r = 0; r < nranks; r++)
		fill(a2a_out + (size_t)r * block, (uint32_t)block,
		     seed_of(rank, r, 9));
	MPI_Alltoall(a2a_out, block, MPI_BYTE, a2a_in, block, MPI_BYTE,
		     MPI_COMM_WORLD);
	ok = 1;
	for (int r = 0; r < nranks; r++)
		ok &= same(a2a_in + (size_t)r * block, (uint32_t)block,
			   seed_of(r, rank, 9));
	CHECK(ok, "Alltoall");
	rx_min += (uint64_t)block * (uint64_t)(nranks - 1);

	for (int root = 0; root < nranks; root += nranks - 1) {
		if (rank == root)
			fill(bc, bcast_bytes, 4242 + (uint32_t)root);
		else
			memset(bc, 0, bcast_bytes);
		MPI_Bcast(bc, (int)bcast_bytes, MPI_BYTE, root, MPI_COMM_WORLD);
		CHECK(same(bc, bcast_bytes, 4242 + (uint32_t)root),
		      "Bcast from %d", root);
		if (rank != root)
			rx_min += bcast_bytes;
		if (nranks == 1)
			break;
	}
	free(in);
	free(sum);
	free(a2a_out);
	free(a2a_in);
	free(bc);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "nonblocking", test_nonblocking },
		{ "probe", test_probe },
		{ "cancel", test_cancel },
		{ "collectives", test_collectives },
	};
	int total = 0;
	uint64_t *rx_all;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	/* report failed calls as checks instead of aborting the job */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	for (unsigned t = 0; t < sizeof(tests) / sizeof(tests[0]); t++) {
		int before = errors, failed_anywhere = 0, failed_here;

		tests[t].fn();
		failed_here = errors > before;
		MPI_Allreduce(&failed_here, &failed_anywhere, 1, MPI_INT,
			      MPI_SUM, MPI_COMM_WORLD);
		if (rank == 0)
			printf("%s: %s (%d ranks)\n",
			       failed_anywhere ? "FAIL" : "PASS", tests[t].name,
			       nranks);
	}
	rx_all = calloc((size_t)nranks, sizeof(*rx_all));
	MPI_Gather(&rx_min, 1, MPI_UINT64_T, rx_all, 1, MPI_UINT64_T, 0,
		   MPI_COMM_WORLD);
	MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0)
		for (int r = 0; r < nranks; r++)
			printf("RXMIN %d %" PRIu64 "\n", r, rx_all[r]);
	free(rx_all);
	MPI_Finalize();
	return total ? 1 : 0;
}
