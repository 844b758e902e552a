// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Host tests of the HFI transport (src/hfi_transport.c) with the MQ engine
 * over a fake device (fake_hfi.c): multi-packet reassembly, expected
 * receive through tids, resend after "receiver not ready" with backoff
 * and its time limit, unreachable peers, the legacy eager-only unit, and
 * the pure policy/reassembly helpers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "fake_hfi.h"
#include "hfi_transport.h"
#include "mq.h"
#include "shim.h"

struct side {
	struct fake_hfi *dev;
	struct hfi_transport *tp;
	psm2_mq_t mq;
	psm2_epaddr_t peer;		/* the other side */
};

static struct side A, B;
static const psm2_mq_tag_t all_bits = { .tag = { ~0u, ~0u, ~0u, 0 } };

/* Receive windows registered at most this long (0: no cap). */
static uint64_t register_cap;
/* Receive tids kept across receives (the fake's tids follow "mappings"). */
static bool tid_cache_on;

static void side_open(struct side *s, uint16_t lid, bool legacy,
		      uint32_t rhq, const struct hfi_resend_policy *pol)
{
	struct hfi_dev_params p;

	s->dev = fake_hfi_create(lid, 1, rhq, 4096, legacy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->dev);
	fake_hfi_params(s->dev, &p);
	p.register_max = register_cap;
	p.tid_cache = tid_cache_on;
	p.tid_cache_bytes = 1ull << 30;
	s->tp = hfi_transport_create(&fake_hfi_ops, s->dev, &p, pol);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->tp);
	CU_ASSERT_EQUAL_FATAL(shim_mq_create(NULL, NULL, hfi_transport_ops(s->tp),
					     s->tp, NULL, &s->mq), PSM2_OK);
	hfi_transport_set_mq(s->tp, s->mq);
}

static void pair_open(bool legacy_a, uint32_t rhq,
		      const struct hfi_resend_policy *pol)
{
	side_open(&A, 1, legacy_a, rhq, pol);
	side_open(&B, 2, false, rhq, pol);
	A.peer = &hfi_transport_peer(A.tp, NULL, 2, 1, 0x1002, true)->addr;
	B.peer = &hfi_transport_peer(B.tp, NULL, 1, 1, 0x1001, true)->addr;
}

static void side_close(struct side *s)
{
	shim_mq_destroy(s->mq);
	hfi_transport_destroy(s->tp);
	fake_hfi_destroy(s->dev);
	memset(s, 0, sizeof(*s));
}

static void pair_close(void)
{
	side_close(&A);
	side_close(&B);
}

static psm2_error_t finish(psm2_mq_req_t *req, psm2_mq_status2_t *st)
{
	for (long i = 0; i < 1000000; i++) {
		psm2_error_t err = psm2_mq_test2(req, st);

		if (err != PSM2_MQ_NO_COMPLETIONS)
			return err;
		shim_mq_progress(A.mq);
		shim_mq_progress(B.mq);
		fake_hfi_advance_ns(100000);
	}
	return PSM2_TIMEOUT;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 10));
}

/* A sends len bytes to B with tag into rx; B checks them. */
static void exchange_into(uint8_t *rx, uint32_t len, uint32_t tag)
{
	uint8_t *tx = malloc(len + 1);
	psm2_mq_tag_t t = { .tag = { tag, 7, 9, 0 } };
	psm2_mq_req_t s, r;
	psm2_mq_status2_t st;

	fill(tx, len, tag);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(B.mq, PSM2_MQ_ANY_ADDR, &t,
					     (psm2_mq_tag_t *)&all_bits, 0, rx,
					     len, NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(A.mq, A.peer, 0, &t, tx, len,
					     NULL, &s), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(st.nbytes, len);
	CU_ASSERT_PTR_EQUAL(st.msg_peer, B.peer);
	CU_ASSERT(memcmp(tx, rx, len) == 0);
	free(tx);
}

static void exchange(uint32_t len, uint32_t tag)
{
	uint8_t *rx = calloc(1, len + 1);

	exchange_into(rx, len, tag);
	free(rx);
}

static void test_sizes(void)
{
	static const uint32_t sizes[] = { 0, 1, 4095, 4096, 4097, 12288,
					  32767, 32768, 32769, 100000,
					  1 << 20, (3 << 20) + 5 };

	pair_open(false, 16, NULL);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		exchange(sizes[i], i);
	CU_ASSERT_EQUAL(hfi_transport_pending(A.tp), 0);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 0);
	CU_ASSERT_EQUAL(hfi_transport_stats(B.tp)->dropped_rx, 0);
	pair_close();
}

/*
 * Without CAP_IPC_LOCK the endpoint caps receive windows to a share of
 * RLIMIT_MEMLOCK: a receive larger than that arrives in several windows,
 * each a tid no longer than the cap, all in place (no eager fallback).
 */
static void test_register_cap(void)
{
	size_t longest;
	unsigned n;

	register_cap = 256 << 10;
	pair_open(false, 16, NULL);
	exchange((3 << 20) + 5, 1);
	n = fake_hfi_tid_registrations(B.dev, &longest);
	CU_ASSERT(longest <= register_cap);
	CU_ASSERT(n >= ((3u << 20) + 5) / (256u << 10));
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 0);
	pair_close();
	register_cap = 0;
}

/*
 * Both sides post receives and sends of every size at once, as MPI's
 * Isend/Irecv/Waitall between two ranks does: eager and rendezvous
 * messages cross in both directions at the same time.
 */
static void test_both_directions(void)
{
	static const uint32_t sizes[] = { 0, 100, 70000, 2 << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct side *sides[2] = { &A, &B };
	uint8_t *tx[2][N], *rx[2][N];
	psm2_mq_req_t sreq[2][N], rreq[2][N];
	psm2_mq_status2_t st;

	pair_open(false, 16, NULL);
	for (int d = 0; d < 2; d++) {
		struct side *me = sides[d];

		for (unsigned i = 0; i < N; i++) {
			psm2_mq_tag_t t = { .tag = { 100 + i, 0, 0, 0 } };

			tx[d][i] = malloc(sizes[i] + 1);
			rx[d][i] = calloc(1, sizes[i] + 1);
			fill(tx[d][i], sizes[i], 10 * d + i);
			CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(me->mq, me->peer,
				&t, (psm2_mq_tag_t *)&all_bits, 0, rx[d][i],
				sizes[i], NULL, &rreq[d][i]), PSM2_OK);
			CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(me->mq, me->peer,
				0, &t, tx[d][i], sizes[i], NULL, &sreq[d][i]),
				PSM2_OK);
		}
	}
	for (int d = 0; d < 2; d++) {
		for (unsigned i = 0; i < N; i++) {
			CU_ASSERT_EQUAL(finish(&sreq[d][i], &st), PSM2_OK);
			CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
			CU_ASSERT_EQUAL(finish(&rreq[d][i], &st), PSM2_OK);
			CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
			CU_ASSERT_EQUAL(st.nbytes, sizes[i]);
			/* what the other side sent */
			CU_ASSERT(memcmp(rx[d][i], tx[1 - d][i], sizes[i]) == 0);
		}
	}
	for (int d = 0; d < 2; d++)
		for (unsigned i = 0; i < N; i++) {
			free(tx[d][i]);
			free(rx[d][i]);
		}
	CU_ASSERT_EQUAL(hfi_transport_pending(A.tp), 0);
	CU_ASSERT_EQUAL(hfi_transport_pending(B.tp), 0);
	pair_close();
}

/*
 * Two rendezvous crossing in a fixed order: each side's receive window
 * is registered (both devices hand out the same tid number first) while
 * the other direction's send runs. A's send finishing must not touch A's
 * own tid: the number it got in B's CTS names B's window, not A's (the
 * MPI guest's mpi_ops failed this way: ENOENT for the second window).
 */
static void test_crossing_rendezvous(void)
{
	enum { LEN = 200000 };
	static uint8_t txa[LEN], txb[LEN], rxa[LEN], rxb[LEN];
	psm2_mq_tag_t ta = { .tag = { 1, 0, 0, 0 } };
	psm2_mq_tag_t tb = { .tag = { 2, 0, 0, 0 } };
	psm2_mq_req_t sa, sb, ra, rb;
	psm2_mq_status2_t st;

	pair_open(false, 16, NULL);
	fill(txa, LEN, 1);
	fill(txb, LEN, 2);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(B.mq, B.peer, &ta,
		(psm2_mq_tag_t *)&all_bits, 0, rxb, LEN, NULL, &rb), PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(A.mq, A.peer, &tb,
		(psm2_mq_tag_t *)&all_bits, 0, rxa, LEN, NULL, &ra), PSM2_OK);
	/* both send an RTS */
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(A.mq, A.peer, 0, &ta, txa, LEN,
					     NULL, &sa), PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(B.mq, B.peer, 0, &tb, txb, LEN,
					     NULL, &sb), PSM2_OK);
	/* B: A's RTS, registers its window (tid 0), CTS to A */
	shim_mq_progress(B.mq);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 1);
	/*
	 * A: B's RTS (registers A's window: tid 0 too), then B's CTS (A's
	 * payload into B's tid 0); the next round reaps A's send.
	 */
	shim_mq_progress(A.mq);
	shim_mq_progress(A.mq);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(A.dev), 1);
	CU_ASSERT_EQUAL(finish(&sa, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	/* A's window must still be there for B's payload */
	CU_ASSERT_EQUAL(finish(&sb, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(finish(&ra, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(st.nbytes, LEN);
	CU_ASSERT(memcmp(rxa, txb, LEN) == 0);
	CU_ASSERT_EQUAL(finish(&rb, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT(memcmp(rxb, txa, LEN) == 0);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(A.dev), 0);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 0);
	pair_close();
}

/*
 * Pinning refused (-ENOMEM, RLIMIT_MEMLOCK): while a receive window of
 * ours is pinned it will come back, so the send waits and goes; with
 * nothing of ours pinned the send alone is over the limit and fails
 * with PSM2_NO_MEMORY, as an error of that request (nothing aborts).
 */
static void test_pinning_refused(void)
{
	enum { BIG = 200000 };
	static uint8_t big_tx[BIG], big_rx[BIG];
	psm2_mq_tag_t tbig = { .tag = { 1, 0, 0, 0 } };
	psm2_mq_tag_t tsmall = { .tag = { 2, 0, 0, 0 } };
	uint32_t small = 0x5a5a, got = 0;
	psm2_mq_req_t rbig, sbig, rsmall, ssmall;
	psm2_mq_status2_t st;

	pair_open(false, 16, NULL);
	/* A holds a pinned window: B's rendezvous, matched, not yet filled */
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(A.mq, A.peer, &tbig,
		(psm2_mq_tag_t *)&all_bits, 0, big_rx, BIG, NULL, &rbig),
		PSM2_OK);
	fill(big_tx, BIG, 7);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(B.mq, B.peer, 0, &tbig, big_tx,
					     BIG, NULL, &sbig), PSM2_OK);
	shim_mq_progress(A.mq);		/* RTS: A registers, CTS to B */
	shim_mq_progress(A.mq);		/* the CTS's slot is reaped */
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(A.dev), 1);
	CU_ASSERT_EQUAL(hfi_transport_pending(A.tp), 0); /* none in flight */
	fake_hfi_refuse_pinning(A.dev, 1);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(B.mq, B.peer, &tsmall,
		(psm2_mq_tag_t *)&all_bits, 0, &got, sizeof(got), NULL,
		&rsmall), PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(A.mq, A.peer, 0, &tsmall, &small,
					     sizeof(small), NULL, &ssmall),
			      PSM2_OK);
	CU_ASSERT_EQUAL(finish(&ssmall, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(finish(&rsmall, &st), PSM2_OK);
	CU_ASSERT_EQUAL(got, small);
	CU_ASSERT_EQUAL(finish(&sbig, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(finish(&rbig, &st), PSM2_OK);
	CU_ASSERT(memcmp(big_rx, big_tx, BIG) == 0);

	/* nothing pinned any more: the refusal is final for that send */
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(A.dev), 0);
	fake_hfi_refuse_pinning(A.dev, 1);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(A.mq, A.peer, 0, &tsmall, &small,
					     sizeof(small), NULL, &ssmall),
			      PSM2_OK);
	CU_ASSERT_EQUAL(finish(&ssmall, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_NO_MEMORY);
	pair_close();
}

static void test_legacy(void)
{
	pair_open(true, 16, NULL);
	CU_ASSERT_PTR_NULL(hfi_transport_ops(A.tp)->send_expected);
	exchange(100, 1);
	exchange(200000, 2);	/* rendezvous, payload in eager messages */
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 0);
	pair_close();
}

/* A sends n messages of len bytes (tag i: the i-th of tx) to B. */
static void send_n(uint8_t *tx, int n, uint32_t len, psm2_mq_req_t *s)
{
	for (int i = 0; i < n; i++) {
		psm2_mq_tag_t t = { .tag = { (uint32_t)i, 0, 0, 0 } };

		fill(tx + (size_t)i * len, len, (unsigned)i);
		CU_ASSERT_EQUAL(psm2_mq_isend2(A.mq, A.peer, 0, &t,
					       tx + (size_t)i * len, len, NULL,
					       &s[i]), PSM2_OK);
	}
}

/* B receives them into rx; every send and receive ends whole. */
static void recv_n_check(const uint8_t *tx, uint8_t *rx, int n, uint32_t len,
			 psm2_mq_req_t *s, psm2_mq_req_t *r)
{
	psm2_mq_status2_t st;
	int i;

	for (i = 0; i < n; i++) {
		psm2_mq_tag_t t = { .tag = { (uint32_t)i, 0, 0, 0 } };

		CU_ASSERT_EQUAL(psm2_mq_irecv2(B.mq, PSM2_MQ_ANY_ADDR, &t,
					       (psm2_mq_tag_t *)&all_bits, 0,
					       rx + (size_t)i * len, len, NULL,
					       &r[i]), PSM2_OK);
	}
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(finish(&s[i], &st), PSM2_OK);
		CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
		CU_ASSERT_EQUAL(finish(&r[i], &st), PSM2_OK);
		CU_ASSERT_EQUAL(st.nbytes, len);
		CU_ASSERT(memcmp(tx + (size_t)i * len, rx + (size_t)i * len,
				 len) == 0);
	}
}

/* B's RHQ fills while it does not poll: A resends until it drains. */
static void test_resend(void)
{
	enum { N = 20, LEN = 6000 };	/* two packets each, 16 entries */
	static uint8_t tx[N][LEN], rx[N][LEN];
	psm2_mq_req_t s[N], r[N];
	int i;

	pair_open(false, 16, NULL);
	send_n(&tx[0][0], N, LEN, s);
	for (i = 0; i < 50; i++) {	/* only A moves */
		shim_mq_progress(A.mq);
		fake_hfi_advance_ns(1000000);
	}
	CU_ASSERT(fake_hfi_dropped(B.dev) > 0);
	CU_ASSERT(hfi_transport_stats(A.tp)->resends > 0);
	recv_n_check(&tx[0][0], &rx[0][0], N, LEN, s, r);
	pair_close();
}

/*
 * Messages refused by a full receiver wait together: once due they go
 * back to the device several per call, all delivered.
 */
static void test_resend_batches(void)
{
	enum { N = 12, LEN = 100 };	/* one packet each, 4 entries */
	static uint8_t tx[N][LEN], rx[N][LEN];
	psm2_mq_req_t s[N], r[N];
	const struct hfi_transport_stats *ts;

	pair_open(false, 4, NULL);
	send_n(&tx[0][0], N, LEN, s);
	shim_mq_progress(A.mq);		/* reaps the refusals */
	CU_ASSERT(fake_hfi_dropped(B.dev) >= N - 4);
	recv_n_check(&tx[0][0], &rx[0][0], N, LEN, s, r);
	ts = hfi_transport_stats(A.tp);
	CU_ASSERT(ts->resend_batches > 0);
	CU_ASSERT_EQUAL(ts->resend_batches, fake_hfi_send_batches(A.dev));
	/* Each batch carried several. */
	CU_ASSERT(ts->resends >= 2 * ts->resend_batches);
	pair_close();
}

/* A receiver that never drains: the sender gives up, with an error. */
static void test_give_up(void)
{
	struct hfi_resend_policy pol;
	static uint8_t buf[4 * 4096];
	psm2_mq_tag_t t = { .tag = { 1, 0, 0, 0 } };
	psm2_mq_req_t s[3];
	psm2_mq_status2_t st;

	uint32_t thresh = sizeof(buf);

	hfi_resend_policy_defaults(&pol);
	pol.give_up_ns = 50 * 1000000ull;
	pair_open(false, 8, &pol);
	/* eager (the default threshold is one packet): they must queue */
	CU_ASSERT_EQUAL(psm2_mq_setopt(A.mq, PSM2_MQ_RNDV_HFI_SZ, &thresh),
			PSM2_OK);
	/* 4 packets each in an 8-entry RHQ: the third cannot get in */
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(psm2_mq_isend2(A.mq, A.peer, 0, &t, buf,
					       sizeof(buf), NULL, &s[i]),
				PSM2_OK);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(psm2_mq_wait2(&s[i], &st), PSM2_OK);
		CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	}
	for (int i = 0; i < 10000 && psm2_mq_test2(&s[2], &st); i++) {
		shim_mq_progress(A.mq);
		fake_hfi_advance_ns(1000000);
	}
	CU_ASSERT_PTR_NULL(s[2]);
	CU_ASSERT_EQUAL(st.error_code, PSM2_TIMEOUT);
	CU_ASSERT_EQUAL(hfi_transport_stats(A.tp)->gave_up, 1);
	pair_close();
}

/* No context at the address: errors, never a hang or an abort. */
static void test_unreachable(void)
{
	static uint8_t buf[200000];
	psm2_mq_tag_t t = { .tag = { 1, 0, 0, 0 } };
	psm2_epaddr_t ghost;
	psm2_mq_req_t s;
	psm2_mq_status2_t st;
	struct hfi_peer *p;

	pair_open(false, 16, NULL);
	p = hfi_transport_peer(A.tp, NULL, 9, 3, 0x90003, true);
	ghost = &p->addr;
	/* the connect-time probe */
	CU_ASSERT_EQUAL(hfi_transport_probe(A.tp, p), 0);
	hfi_transport_progress(A.tp);
	CU_ASSERT_EQUAL(p->probe, -EHOSTUNREACH);
	/* rendezvous: the RTS (no cookie) fails, so must the request */
	CU_ASSERT_EQUAL(psm2_mq_isend2(A.mq, ghost, 0, &t, buf, sizeof(buf),
				       NULL, &s), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_EPID_UNREACHABLE);
	/* later sends fail at once */
	CU_ASSERT_EQUAL(psm2_mq_isend2(A.mq, ghost, 0, &t, buf, 10, NULL, &s),
			PSM2_OK);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_EPID_UNREACHABLE);
	/* the real peer still works */
	exchange(5000, 3);
	/* and a probe of it says so, even with its queue full */
	p = hfi_peer_of(A.peer);
	CU_ASSERT_EQUAL(hfi_transport_probe(A.tp, p), 0);
	hfi_transport_progress(A.tp);
	CU_ASSERT_EQUAL(p->probe, 1);
	pair_close();
}

/* A message from a source we never connected to is kept, not lost. */
static void test_unknown_source(void)
{
	uint32_t v = 42, got = 0;
	psm2_mq_tag_t t = { .tag = { 5, 0, 0, 0 } };
	psm2_mq_req_t s, r;
	psm2_mq_status2_t st;

	side_open(&A, 1, false, 16, NULL);
	side_open(&B, 2, false, 16, NULL);
	A.peer = &hfi_transport_peer(A.tp, NULL, 2, 1, 0x1002, true)->addr;
	CU_ASSERT_EQUAL(psm2_mq_isend2(A.mq, A.peer, 0, &t, &v, sizeof(v),
				       NULL, &s), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(B.mq, PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&all_bits, 0, &got,
				       sizeof(got), NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(got, 42);
	CU_ASSERT_PTR_EQUAL(st.msg_peer,
			    &hfi_transport_peer(B.tp, NULL, 1, 1, 0, false)->addr);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	pair_close();
}

static void test_policy(void)
{
	struct hfi_resend_policy p = { .base_ns = 10, .max_ns = 100,
				       .give_up_ns = 1000 };

	CU_ASSERT_EQUAL(hfi_resend_delay(&p, 1), 10);
	CU_ASSERT_EQUAL(hfi_resend_delay(&p, 2), 20);
	CU_ASSERT_EQUAL(hfi_resend_delay(&p, 4), 80);
	CU_ASSERT_EQUAL(hfi_resend_delay(&p, 5), 100);
	CU_ASSERT_EQUAL(hfi_resend_delay(&p, 1000), 100);
	CU_ASSERT_FALSE(hfi_resend_expired(&p, 5000, 5999));
	CU_ASSERT_TRUE(hfi_resend_expired(&p, 5000, 6000));
}

static void test_reasm(void)
{
	struct hfi_reasm r = { 0 };
	uint8_t h1[DRVOPS_HFI_HDR_BYTES] = { 1 }, h2[DRVOPS_HFI_HDR_BYTES] = { 2 };

	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 0, "abc", 3, false),
			HFI_REASM_MORE);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 3, "def", 3, true),
			HFI_REASM_DONE);
	CU_ASSERT(memcmp(r.buf, "abcdef", 6) == 0);
	hfi_reasm_reset(&r);
	/* a gap, another header, too much, too little: dropped */
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 0, "abc", 3, false),
			HFI_REASM_MORE);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 4, "ef", 2, true),
			HFI_REASM_DROPPED);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 0, "abc", 3, false),
			HFI_REASM_MORE);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h2, 6, 3, "def", 3, true),
			HFI_REASM_DROPPED);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 4, 0, "abc", 3, false),
			HFI_REASM_MORE);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 4, 3, "def", 3, true),
			HFI_REASM_DROPPED);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 8, 0, "abc", 3, false),
			HFI_REASM_MORE);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 8, 3, "def", 3, true),
			HFI_REASM_DROPPED);
	/* a new message while one is half-built: the old one is lost */
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 0, "abc", 3, false),
			HFI_REASM_MORE);
	CU_ASSERT_EQUAL(hfi_reasm_add(&r, h1, 6, 0, "abc", 3, false),
			HFI_REASM_DROPPED);
	hfi_reasm_reset(&r);
	CU_ASSERT_PTR_NULL(r.buf);
}

/*
 * The registration cache: receives into the same buffer register once;
 * a buffer whose mapping changed (stale) is registered again; a shorter
 * receive at the same address reuses, a longer one registers; running
 * out of tids or of memlock gives idle ones back.
 */
static void test_tid_cache(void)
{
	const uint32_t len = 1 << 20;
	uint8_t *rx[10];
	const struct hfi_transport_stats *st;
	size_t longest;
	unsigned i;

	tid_cache_on = true;
	pair_open(false, 16, NULL);
	for (i = 0; i < 10; i++)
		CU_ASSERT_PTR_NOT_NULL_FATAL(rx[i] = calloc(1, 2 * len));
	for (i = 0; i < 3; i++)
		exchange_into(rx[0], len, i);
	CU_ASSERT_EQUAL(fake_hfi_tid_registrations(B.dev, &longest), 1);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 1);	/* kept */
	st = hfi_transport_stats(B.tp);
	CU_ASSERT_EQUAL(st->tid_cache.hits, 2);

	/* Its "mapping" changed: stale, freed, registered again. */
	fake_hfi_unmap(B.dev, rx[0] + 100, 1);
	exchange_into(rx[0], len, 10);
	CU_ASSERT_EQUAL(fake_hfi_tid_registrations(B.dev, &longest), 2);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 1);
	CU_ASSERT_EQUAL(hfi_transport_stats(B.tp)->tid_cache.stale, 1);

	/* Shorter at the same address: reused; longer: a new tid. */
	exchange_into(rx[0], len / 2, 11);
	CU_ASSERT_EQUAL(fake_hfi_tid_registrations(B.dev, &longest), 2);
	exchange_into(rx[0], 2 * len - 1, 12);
	CU_ASSERT_EQUAL(fake_hfi_tid_registrations(B.dev, &longest), 3);

	/* 10 buffers, 8 tids: idle ones make room, every receive lands. */
	for (i = 0; i < 10; i++)
		exchange_into(rx[i], len, 20 + i);
	CU_ASSERT(fake_hfi_tids_in_use(B.dev) <= 8);
	CU_ASSERT(hfi_transport_stats(B.tp)->tid_cache.evicted > 0);

	/* Pinning refused while idle tids hold pages: they go, it works. */
	fake_hfi_refuse_pinning(B.dev, 1);
	exchange_into(rx[9] + 4096, len, 40);
	CU_ASSERT_EQUAL(fake_hfi_tids_in_use(B.dev), 1);
	CU_ASSERT_EQUAL(hfi_transport_pending(A.tp), 0);
	pair_close();
	tid_cache_on = false;
	for (i = 0; i < 10; i++)
		free(rx[i]);
}

/* The bookkeeping alone: a window let go unfilled is never handed out. */
static void test_tid_cache_unfilled(void)
{
	struct tid_cache c;
	char buf[64];
	uint32_t tid;

	tid_cache_init(&c, 4, 1 << 20);
	CU_ASSERT(tid_cache_insert(&c, buf, sizeof(buf), 3));
	CU_ASSERT_EQUAL(tid_cache_put(&c, 3, true), TID_CACHE_KEPT);
	CU_ASSERT_PTR_NOT_NULL(tid_cache_lookup(&c, buf, sizeof(buf)));
	tid_cache_get(&c, tid_cache_lookup(&c, buf, sizeof(buf)));
	CU_ASSERT_EQUAL(tid_cache_put(&c, 3, false), TID_CACHE_FREE);
	CU_ASSERT_PTR_NULL(tid_cache_lookup(&c, buf, sizeof(buf)));
	CU_ASSERT_EQUAL(tid_cache_put(&c, 3, true), TID_CACHE_NOT_MINE);
	/* Idle limits: the fifth idle entry pushes the oldest out. */
	for (tid = 1; tid <= 5; tid++) {
		CU_ASSERT(tid_cache_insert(&c, buf + tid, 1, tid));
		CU_ASSERT_EQUAL(tid_cache_put(&c, tid, true), TID_CACHE_KEPT);
	}
	CU_ASSERT(tid_cache_evict(&c, false, &tid));
	CU_ASSERT_EQUAL(tid, 1);
	CU_ASSERT(!tid_cache_evict(&c, false, &tid));
	tid_cache_fini(&c);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("hfi transport (fake device)", NULL, NULL);
	CU_add_test(s, "resend policy", test_policy);
	CU_add_test(s, "reassembly", test_reasm);
	CU_add_test(s, "eager and rendezvous, 0 B .. 3 MiB", test_sizes);
	CU_add_test(s, "receive windows capped by the pinning budget",
		    test_register_cap);
	CU_add_test(s, "both directions at once, eager and rendezvous",
		    test_both_directions);
	CU_add_test(s, "crossing rendezvous: a send leaves our tids alone",
		    test_crossing_rendezvous);
	CU_add_test(s, "pinning refused: wait while pinned, else fail",
		    test_pinning_refused);
	CU_add_test(s, "legacy unit: eager only", test_legacy);
	CU_add_test(s, "receiver not ready: resend", test_resend);
	CU_add_test(s, "resends go out in batches", test_resend_batches);
	CU_add_test(s, "receiver never ready: give up", test_give_up);
	CU_add_test(s, "unreachable peer", test_unreachable);
	CU_add_test(s, "message from an unconnected source", test_unknown_source);
	CU_add_test(s, "tid cache: reuse, stale, evict", test_tid_cache);
	CU_add_test(s, "tid cache: an unfilled window dies",
		    test_tid_cache_unfilled);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
