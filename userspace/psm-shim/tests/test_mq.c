// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Host tests of the matched-queue engine over the loopback fabric: tag
 * matching, queues, probes, cancel, eager and rendezvous with data checks
 * (0 B .. 16 MiB), per-sender ordering, truncation, stats, a busy wire and
 * the legacy (eager-only) path. No device, no guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "loopback.h"
#include "shim.h"

static struct lb_fabric *fab;

static const psm2_mq_tag_t no_bits = { .tag = { 0, 0, 0, 0 } };

static void fabric(int n, const struct lb_options *opt,
		   const struct shim_mq_config *cfg)
{
	lb_destroy(fab);
	fab = lb_create(n, opt, cfg);
	CU_ASSERT_FATAL(fab != NULL);
}

/* Drive every endpoint until req completes (bounded: a hang fails). */
static psm2_error_t finish(psm2_mq_req_t *req, psm2_mq_status2_t *st)
{
	long i;

	for (i = 0; i < 10000000; i++) {
		psm2_error_t err = psm2_mq_test2(req, st);

		if (err != PSM2_MQ_NO_COMPLETIONS)
			return err;
		lb_progress(fab);
	}
	return PSM2_TIMEOUT;
}

static void drain(void)
{
	int i;

	for (i = 0; i < 1000 && lb_progress(fab); i++)
		;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

static int test_setup(void)
{
	return 0;
}

static int test_teardown(void)
{
	lb_destroy(fab);
	fab = NULL;
	return 0;
}

/* --------------------------------------------------------------- match */

static void send_u32(int from, int to, psm2_mq_tag_t t, uint32_t v)
{
	psm2_mq_req_t s;
	psm2_mq_status2_t st;

	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(lb_mq(fab, from),
					     lb_peer(fab, from, to), 0, &t, &v,
					     sizeof(v), NULL, &s), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	CU_ASSERT_PTR_NULL(s);
}

/* As Intel's: test only looks; poll, ipeek and the waits progress. */
static void test_test_makes_no_progress(void)
{
	psm2_mq_tag_t t = lb_tag(1, 2, 3);
	psm2_mq_req_t s, r;
	psm2_mq_status2_t st;
	uint32_t v = 42, got = 0;
	int i;

	fabric(2, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(lb_mq(fab, 1), PSM2_MQ_ANY_ADDR,
					     &t, (psm2_mq_tag_t *)&lb_all_bits, 0, &got,
					     sizeof(got), NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					     0, &t, &v, sizeof(v), NULL, &s),
			      PSM2_OK);
	for (i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(psm2_mq_test2(&r, &st), PSM2_MQ_NO_COMPLETIONS);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);	/* progresses */
	CU_ASSERT_EQUAL(got, 42);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	/* A request tested complete is gone: testing its slot is a no-op. */
	CU_ASSERT_EQUAL(psm2_mq_test2(&r, &st), PSM2_OK);
}

static void test_tag_mask(void)
{
	psm2_mq_t rmq;
	psm2_mq_req_t r;
	psm2_mq_status2_t st;
	psm2_mq_tag_t want = lb_tag(1, 2, 3);
	psm2_mq_tag_t sel = lb_tag(~0u, 0, 0xff);
	uint32_t v = 0;

	fabric(2, NULL, NULL);
	rmq = lb_mq(fab, 1);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &want, &sel, 0,
				       &v, sizeof(v), NULL, &r), PSM2_OK);
	/* word 0 differs: no match */
	send_u32(0, 1, lb_tag(9, 2, 3), 10);
	/* word 2 differs inside the mask: no match */
	send_u32(0, 1, lb_tag(1, 2, 0x104), 11);
	drain();
	CU_ASSERT_EQUAL(psm2_mq_test2(&r, &st), PSM2_MQ_NO_COMPLETIONS);
	/* word 1 is masked out, word 2 differs only outside the mask */
	send_u32(0, 1, lb_tag(1, 77, 0xf03), 12);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 12);
	CU_ASSERT_EQUAL(st.msg_tag.tag1, 77);
	CU_ASSERT_EQUAL(st.msg_tag.tag2, 0xf03);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_PTR_EQUAL(st.msg_peer, lb_peer(fab, 1, 0));
	/* the two others wait, unexpected, in arrival order */
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &want,
				       (psm2_mq_tag_t *)&no_bits, 0, &v,
				       sizeof(v), NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &want,
				       (psm2_mq_tag_t *)&no_bits, 0, &v,
				       sizeof(v), NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 11);
}

static void test_posting_order(void)
{
	psm2_mq_t rmq;
	psm2_mq_req_t r[3];
	psm2_mq_status2_t st;
	psm2_mq_tag_t t = lb_tag(5, 0, 0);
	uint32_t v[3] = { 0, 0, 0 };
	int i;

	fabric(2, NULL, NULL);
	rmq = lb_mq(fab, 1);
	/* a specific receive posted after a wildcard one loses to it */
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&no_bits, 0, &v[0],
				       4, NULL, &r[0]), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, lb_peer(fab, 1, 0), &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &v[1],
				       4, NULL, &r[1]), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &v[2],
				       4, NULL, &r[2]), PSM2_OK);
	for (i = 0; i < 3; i++)
		send_u32(0, 1, t, 100 + i);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(finish(&r[i], &st), PSM2_OK);
		CU_ASSERT_EQUAL(v[i], 100 + (uint32_t)i);
	}
}

static void test_wildcard_source(void)
{
	psm2_mq_t rmq;
	psm2_mq_req_t r;
	psm2_mq_status2_t st;
	psm2_mq_tag_t t = lb_tag(7, 7, 7);
	uint32_t v = 0;

	fabric(3, NULL, NULL);
	rmq = lb_mq(fab, 0);
	send_u32(1, 0, t, 1);
	send_u32(2, 0, t, 2);
	drain();
	/* a receive for sender 2 skips sender 1's earlier message */
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, lb_peer(fab, 0, 2), &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &v, 4,
				       NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_PTR_EQUAL(st.msg_peer, lb_peer(fab, 0, 2));
	/* any source takes what is left */
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &v, 4,
				       NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_PTR_EQUAL(st.msg_peer, lb_peer(fab, 0, 1));
}

static void test_probe(void)
{
	psm2_mq_t rmq;
	psm2_mq_req_t r, m;
	psm2_mq_status2_t st;
	psm2_mq_status_t st1;
	psm2_mq_tag_t t = lb_tag(3, 4, 5);
	uint8_t big[100000], got[100000];

	fabric(2, NULL, NULL);
	rmq = lb_mq(fab, 1);
	CU_ASSERT_EQUAL(psm2_mq_iprobe2(rmq, PSM2_MQ_ANY_ADDR, &t,
					(psm2_mq_tag_t *)&lb_all_bits, &st),
			PSM2_MQ_NO_COMPLETIONS);
	send_u32(0, 1, t, 42);
	drain();
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL(psm2_mq_iprobe2(rmq, PSM2_MQ_ANY_ADDR, &t,
					(psm2_mq_tag_t *)&lb_all_bits, &st),
			PSM2_OK);
	CU_ASSERT_EQUAL(st.msg_length, 4);
	CU_ASSERT_EQUAL(st.msg_tag.tag2, 5);
	CU_ASSERT_PTR_EQUAL(st.msg_peer, lb_peer(fab, 1, 0));
	/* iprobe leaves it there; the 64-bit form sees words 0 and 1 */
	CU_ASSERT_EQUAL(psm2_mq_iprobe(rmq, 3 | (4ull << 32), ~0ull, &st1),
			PSM2_OK);
	CU_ASSERT_EQUAL(st1.msg_tag, 3 | (4ull << 32));
	/* improbe takes it: nobody else can match it any more */
	CU_ASSERT_EQUAL(psm2_mq_improbe2(rmq, PSM2_MQ_ANY_ADDR, &t,
					 (psm2_mq_tag_t *)&lb_all_bits, &m, &st),
			PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_iprobe2(rmq, PSM2_MQ_ANY_ADDR, &t,
					(psm2_mq_tag_t *)&lb_all_bits, &st),
			PSM2_MQ_NO_COMPLETIONS);
	uint32_t v = 0;
	CU_ASSERT_EQUAL(psm2_mq_imrecv(rmq, 0, &v, 4, (void *)0x55, &m),
			PSM2_OK);
	CU_ASSERT_EQUAL(finish(&m, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_PTR_EQUAL(st.context, (void *)0x55);

	/* a rendezvous message: probe, then imrecv pulls the payload */
	fill(big, sizeof(big), 9);
	CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1), 0,
				       &t, big, sizeof(big), NULL, &r),
			PSM2_OK);
	drain();
	CU_ASSERT_EQUAL(psm2_mq_improbe2(rmq, PSM2_MQ_ANY_ADDR, &t,
					 (psm2_mq_tag_t *)&lb_all_bits, &m, &st),
			PSM2_OK);
	CU_ASSERT_EQUAL(st.msg_length, sizeof(big));
	CU_ASSERT_EQUAL(psm2_mq_test2(&r, &st), PSM2_MQ_NO_COMPLETIONS);
	CU_ASSERT_EQUAL(psm2_mq_imrecv(rmq, 0, got, sizeof(got), NULL, &m),
			PSM2_OK);
	CU_ASSERT_EQUAL(finish(&m, &st), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT(memcmp(big, got, sizeof(big)) == 0);
}

static void test_cancel(void)
{
	psm2_mq_t rmq;
	psm2_mq_req_t r, s;
	psm2_mq_status2_t st;
	psm2_mq_tag_t t = lb_tag(1, 1, 1);
	uint32_t v = 0, w = 9;

	fabric(2, NULL, NULL);
	rmq = lb_mq(fab, 1);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &v, 4,
				       (void *)7, &r), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_cancel(&r), PSM2_OK);
	/* cancelled: completes, must still be tested, took nothing */
	CU_ASSERT_EQUAL(psm2_mq_test2(&r, &st), PSM2_OK);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(st.nbytes, 0);
	CU_ASSERT_PTR_EQUAL(st.context, (void *)7);
	send_u32(0, 1, t, 5);
	drain();
	CU_ASSERT_EQUAL(v, 0);	/* the message went to the unexpected queue */
	CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &v, 4,
				       NULL, &r), PSM2_OK);
	/* matched already: too late to cancel */
	CU_ASSERT_EQUAL(psm2_mq_cancel(&r), PSM2_MQ_NO_COMPLETIONS);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(v, 5);
	/* sends cannot be cancelled: PSM2_PARAM_ERR, as Intel's */
	CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1), 0,
				       &t, &w, 4, NULL, &s), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_cancel(&s), PSM2_PARAM_ERR);
	r = NULL;
	CU_ASSERT_EQUAL(psm2_mq_cancel(&r), PSM2_MQ_NO_COMPLETIONS);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
}

static void test_ipeek(void)
{
	psm2_mq_t rmq;
	psm2_mq_req_t r[3], p;
	psm2_mq_status2_t st;
	psm2_mq_tag_t t[3] = { lb_tag(1, 0, 0), lb_tag(2, 0, 0), lb_tag(3, 0, 0) };
	uint32_t v[3];
	int i;

	fabric(2, NULL, NULL);
	rmq = lb_mq(fab, 1);
	CU_ASSERT_EQUAL(psm2_mq_ipeek2(rmq, &p, &st), PSM2_MQ_NO_COMPLETIONS);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t[i],
					       (psm2_mq_tag_t *)&lb_all_bits, 0,
					       &v[i], 4, (void *)(long)(i + 1),
					       &r[i]), PSM2_OK);
	/* complete them in the order 3, 1, 2 */
	send_u32(0, 1, t[2], 30);
	send_u32(0, 1, t[0], 10);
	send_u32(0, 1, t[1], 20);
	drain();
	for (i = 0; i < 3; i++) {
		static const long order[3] = { 3, 1, 2 };

		CU_ASSERT_EQUAL(psm2_mq_ipeek2(rmq, &p, &st), PSM2_OK);
		CU_ASSERT_EQUAL((long)st.context, order[i]);
		/* peek does not consume; test does */
		CU_ASSERT_EQUAL(psm2_mq_ipeek2(rmq, &p, NULL), PSM2_OK);
		CU_ASSERT_EQUAL(psm2_mq_test2(&p, &st), PSM2_OK);
		CU_ASSERT_EQUAL(v[order[i] - 1], (uint32_t)order[i] * 10);
	}
	CU_ASSERT_EQUAL(psm2_mq_ipeek2(rmq, &p, &st), PSM2_MQ_NO_COMPLETIONS);
}

/* ----------------------------------------------------------- protocols */

static const uint32_t sizes[] = {
	0, 1, 7, 8, 64, 4095, 4096, 65535, 65536, 65537, 200000,
	1u << 20, (1u << 20) + 3, 5u << 20, 16u << 20,
};

/* One message of each size; receives posted before (expected) or after. */
static void transfer_sizes(bool post_first, bool check_handles)
{
	uint8_t *src = malloc(16u << 20), *dst = malloc((16u << 20) + 64);
	psm2_mq_t smq = lb_mq(fab, 0), rmq = lb_mq(fab, 1);
	size_t i;

	CU_ASSERT_FATAL(src && dst);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i];
		psm2_mq_tag_t t = lb_tag((uint32_t)i, n, 0xabc);
		psm2_mq_req_t s, r;
		psm2_mq_status2_t sst, rst;

		fill(src, n, (unsigned)i);
		memset(dst, 0xee, n + 64);
		if (post_first)
			CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR,
						       &t, (psm2_mq_tag_t *)&lb_all_bits,
						       0, dst, n + 64, NULL,
						       &r), PSM2_OK);
		CU_ASSERT_EQUAL(psm2_mq_isend2(smq, lb_peer(fab, 0, 1), 0, &t,
					       src, n, (void *)1, &s), PSM2_OK);
		if (!post_first) {
			drain();
			CU_ASSERT_EQUAL(psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR,
						       &t, (psm2_mq_tag_t *)&lb_all_bits,
						       0, dst, n + 64, NULL,
						       &r), PSM2_OK);
		}
		CU_ASSERT_EQUAL(finish(&r, &rst), PSM2_OK);
		CU_ASSERT_EQUAL(finish(&s, &sst), PSM2_OK);
		CU_ASSERT_EQUAL(rst.error_code, PSM2_OK);
		CU_ASSERT_EQUAL(rst.msg_length, n);
		CU_ASSERT_EQUAL(rst.nbytes, n);
		CU_ASSERT_EQUAL(sst.error_code, PSM2_OK);
		CU_ASSERT_EQUAL(sst.msg_length, n);
		CU_ASSERT_PTR_EQUAL(sst.context, (void *)1);
		CU_ASSERT(memcmp(src, dst, n) == 0);
		/* nothing written past the message */
		CU_ASSERT(dst[n] == 0xee && dst[n + 63] == 0xee);
		if (memcmp(src, dst, n))
			fprintf(stderr, "size %u: data differs\n", n);
	}
	if (check_handles) {
		CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 0);
	}
	free(src);
	free(dst);
}

static void test_eager_rndv_sizes(void)
{
	const unsigned n = sizeof(sizes) / sizeof(sizes[0]);
	psm2_mq_stats_t s;
	unsigned i, eager = 0;

	fabric(2, NULL, NULL);
	transfer_sizes(true, true);
	transfer_sizes(false, true);
	psm2_mq_get_stats(lb_mq(fab, 0), &s);
	/* up to the default threshold eager, above it rendezvous; twice */
	for (i = 0; i < n; i++)
		eager += sizes[i] <= SHIM_MQ_RNDV_THRESHOLD_DEFAULT;
	CU_ASSERT(eager > 0 && eager < n);
	CU_ASSERT_EQUAL(s.tx_num, 2 * n);
	CU_ASSERT_EQUAL(s.tx_eager_num, 2 * eager);
	CU_ASSERT_EQUAL(s.tx_rndv_num, 2 * (n - eager));
}

static void test_rndv_windows(void)
{
	struct lb_options opt = { .register_max = 256 * 1024, .max_handles = 2 };
	struct shim_mq_config cfg = { .rndv_threshold = 1000,
				      .rndv_window = 64 * 1024 };

	/* many windows (one CTS each), several expected sends per window */
	fabric(2, &opt, &cfg);
	transfer_sizes(true, true);
	transfer_sizes(false, true);
}

/*
 * A message of several windows: the receiver keeps the next one
 * registered while the current one fills (two at once), unless turned
 * off; the data is whole either way, also with packets reordered.
 */
static void test_rndv_windows_ahead(void)
{
	static uint8_t src[1 << 20], dst[1 << 20];
	struct lb_options opt = { .register_max = 128 * 1024 };
	struct shim_mq_config cfg = { .rndv_threshold = 1000,
				      .rndv_window = 32 * 1024 };
	psm2_mq_tag_t t = lb_tag(5, 6, 7);
	psm2_mq_req_t s, r;
	psm2_mq_status2_t st;
	int off;

	for (off = 0; off < 3; off++) {
		/* third round: ahead, and the wire swaps packet pairs */
		cfg.rndv_no_ahead = off == 1;
		opt.reorder = off == 2;
		fabric(2, &opt, &cfg);
		fill(src, sizeof(src), (unsigned)off + 40);
		memset(dst, 0, sizeof(dst));
		CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(lb_mq(fab, 1),
						     PSM2_MQ_ANY_ADDR, &t,
						     (psm2_mq_tag_t *)&lb_all_bits,
						     0, dst, sizeof(dst), NULL,
						     &r), PSM2_OK);
		CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(lb_mq(fab, 0),
						     lb_peer(fab, 0, 1), 0, &t,
						     src, sizeof(src), NULL,
						     &s), PSM2_OK);
		CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
		CU_ASSERT_EQUAL(st.nbytes, sizeof(src));
		CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
		CU_ASSERT(memcmp(src, dst, sizeof(src)) == 0);
		CU_ASSERT_EQUAL(lb_handles_peak(fab, 1), off == 1 ? 1 : 2);
		CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 0);
	}
}

static void test_legacy_no_expected(void)
{
	struct lb_options opt = { .no_expected = true, .eager_max = 10240 };

	/* psm2.intel.com: rendezvous payload in eager DATA messages */
	fabric(2, &opt, NULL);
	transfer_sizes(true, false);
	transfer_sizes(false, false);
}

static void test_busy_wire(void)
{
	struct lb_options opt = { .busy_every = 3, .max_handles = 1 };
	struct shim_mq_config cfg = { .rndv_threshold = 4096,
				      .rndv_window = 100000 };

	/* every third send refused, one handle at a time: all still arrive */
	fabric(2, &opt, &cfg);
	transfer_sizes(true, true);
	transfer_sizes(false, true);
}

static void test_truncation(void)
{
	static uint8_t src[300000], dst[300000];
	psm2_mq_t rmq;
	psm2_mq_tag_t t = lb_tag(8, 8, 8);
	static const uint32_t n[] = { 100, 300000 };	/* eager, rendezvous */
	int i, post_first;

	fabric(2, NULL, NULL);
	rmq = lb_mq(fab, 1);
	fill(src, sizeof(src), 3);
	for (post_first = 0; post_first < 2; post_first++)
		for (i = 0; i < 2; i++) {
			psm2_mq_req_t s, r;
			psm2_mq_status2_t sst, rst;
			uint32_t cap = n[i] / 3;

			memset(dst, 0, sizeof(dst));
			if (post_first)
				psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
					       (psm2_mq_tag_t *)&lb_all_bits, 0,
					       dst, cap, NULL, &r);
			CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0),
						       lb_peer(fab, 0, 1), 0,
						       &t, src, n[i], NULL, &s),
					PSM2_OK);
			drain();
			if (!post_first)
				psm2_mq_irecv2(rmq, PSM2_MQ_ANY_ADDR, &t,
					       (psm2_mq_tag_t *)&lb_all_bits, 0,
					       dst, cap, NULL, &r);
			CU_ASSERT_EQUAL(finish(&r, &rst), PSM2_OK);
			CU_ASSERT_EQUAL(finish(&s, &sst), PSM2_OK);
			CU_ASSERT_EQUAL(rst.error_code, PSM2_MQ_TRUNCATION);
			CU_ASSERT_EQUAL(rst.msg_length, n[i]);
			CU_ASSERT_EQUAL(rst.nbytes, cap);
			CU_ASSERT(memcmp(src, dst, cap) == 0);
			CU_ASSERT_EQUAL(dst[cap], 0);
		}
	CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 0);
}

/* Messages of one sender match in sending order, even reordered. */
static void test_order_per_peer(void)
{
	struct lb_options opt = { .reorder = true };
	struct shim_mq_config cfg = { .rndv_threshold = 2000,
				      .rndv_window = 4096 };
	enum { N = 64 };
	static uint32_t out[N][1024], in[N][1024];
	psm2_mq_req_t s[N], r[N];
	psm2_mq_status2_t st;
	psm2_mq_tag_t t = lb_tag(1, 2, 3);
	int i, j;

	fabric(3, &opt, &cfg);
	for (i = 0; i < N; i++) {
		uint32_t len = (i % 3 == 0) ? 4096 : 16;	/* mix protocols */

		for (j = 0; j < 1024; j++)
			out[i][j] = (uint32_t)(i * 1024 + j);
		CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					       0, &t, out[i], len, NULL, &s[i]),
				PSM2_OK);
		if (i % 5 == 0)
			lb_progress(fab);	/* some arrive unexpected */
	}
	/* interleave a second sender: its messages must not disturb */
	send_u32(2, 1, t, 0xdead);
	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL(psm2_mq_irecv2(lb_mq(fab, 1), lb_peer(fab, 1, 0),
					       &t, (psm2_mq_tag_t *)&lb_all_bits, 0,
					       in[i], sizeof(in[i]), NULL, &r[i]),
				PSM2_OK);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(finish(&r[i], &st), PSM2_OK);
		CU_ASSERT_EQUAL(in[i][0], (uint32_t)i * 1024);
		CU_ASSERT_EQUAL(st.msg_length, (i % 3 == 0) ? 4096u : 16u);
		CU_ASSERT_EQUAL(finish(&s[i], &st), PSM2_OK);
	}
}

/* One u32 from `from` at `to` with tag t; ~0 if it never arrives. */
static uint32_t recv_u32(int to, int from, psm2_mq_tag_t t)
{
	psm2_mq_status2_t st;
	psm2_mq_req_t r;
	uint32_t v = ~0u;

	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(lb_mq(fab, to), lb_peer(fab, to, from),
					     &t, (psm2_mq_tag_t *)&lb_all_bits, 0,
					     &v, sizeof(v), NULL, &r), PSM2_OK);
	if (finish(&r, &st) != PSM2_OK) {
		psm2_mq_cancel(&r);
		return ~0u;
	}
	return v;
}

/*
 * A peer closed and reopened on the same address is a new endpoint: its
 * messages (sequence 0 again) are not duplicates, ours to it start at 0,
 * and what was under way with the old one ends with an error. Learned
 * from its first message, or from its epid at connect.
 */
static void test_restarted_peer(void)
{
	struct shim_mq_config cfg = { .rndv_threshold = 1024,
				      .rndv_window = 4096 };
	static uint8_t big[8192];
	psm2_mq_tag_t t = lb_tag(7, 7, 7);
	psm2_mq_status2_t st;
	psm2_mq_req_t pending;
	uint32_t i;

	fabric(2, NULL, &cfg);
	shim_mq_set_generation(lb_mq(fab, 0), 0x10);
	shim_mq_set_generation(lb_mq(fab, 1), 0x20);
	for (i = 0; i < 3; i++) {
		send_u32(0, 1, t, i);
		CU_ASSERT_EQUAL(recv_u32(1, 0, t), i);
		send_u32(1, 0, t, 100 + i);
		CU_ASSERT_EQUAL(recv_u32(0, 1, t), 100 + i);
	}
	/* A rendezvous the old endpoint never matches. */
	CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1), 0, &t,
				       big, sizeof(big), NULL, &pending),
			PSM2_OK);
	drain();
	CU_ASSERT_EQUAL_FATAL(lb_restart(fab, 1, 0x21), 0);

	/* The new one speaks first. */
	send_u32(1, 0, t, 200);
	CU_ASSERT_EQUAL(recv_u32(0, 1, t), 200);
	CU_ASSERT_EQUAL(finish(&pending, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_EPID_NETWORK_ERROR);
	send_u32(0, 1, t, 201);
	CU_ASSERT_EQUAL(recv_u32(1, 0, t), 201);

	/* Connect names the next one before it says anything. */
	CU_ASSERT_EQUAL_FATAL(lb_restart(fab, 1, 0x22), 0);
	shim_peer_set_generation(lb_mq(fab, 0), lb_peer(fab, 0, 1), 0x22);
	send_u32(0, 1, t, 300);
	CU_ASSERT_EQUAL(recv_u32(1, 0, t), 300);
	send_u32(1, 0, t, 301);
	CU_ASSERT_EQUAL(recv_u32(0, 1, t), 301);
	CU_ASSERT_EQUAL(lb_peer(fab, 0, 1)->restarts, 2);
}

/*
 * The sender goes away while the receiver holds a window and the one
 * ahead: the receive ends with an error and both registrations are given
 * back.
 */
static void test_rndv_ahead_sender_restarts(void)
{
	static uint8_t src[256 << 10], dst[256 << 10];
	struct lb_options opt = { .register_max = 64 * 1024 };
	struct shim_mq_config cfg = { .rndv_threshold = 1000,
				      .rndv_window = 16 * 1024 };
	psm2_mq_tag_t t = lb_tag(9, 9, 9), t2 = lb_tag(1, 2, 3);
	psm2_mq_req_t s, r;
	psm2_mq_status2_t st;
	int i;

	fabric(2, &opt, &cfg);
	shim_mq_set_generation(lb_mq(fab, 0), 0x30);
	shim_mq_set_generation(lb_mq(fab, 1), 0x40);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(lb_mq(fab, 1), PSM2_MQ_ANY_ADDR,
					     &t, (psm2_mq_tag_t *)&lb_all_bits,
					     0, dst, sizeof(dst), NULL, &r),
			      PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					     0, &t, src, sizeof(src), NULL, &s),
			      PSM2_OK);
	for (i = 0; i < 100 && lb_handles_in_use(fab, 1) < 2; i++)
		lb_progress(fab);
	CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 2);
	CU_ASSERT_PTR_NOT_NULL(r);	/* not complete yet */
	CU_ASSERT_EQUAL_FATAL(lb_restart(fab, 0, 0x31), 0);
	send_u32(0, 1, t2, 5);		/* the new sender speaks */
	CU_ASSERT_EQUAL(recv_u32(1, 0, t2), 5);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_EPID_NETWORK_ERROR);
	CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 0);
}

static void test_sendsync(void)
{
	psm2_mq_req_t s, r;
	psm2_mq_status2_t st;
	psm2_mq_tag_t t = lb_tag(4, 4, 4);
	uint32_t v = 77, w = 0;
	int i;

	fabric(2, NULL, NULL);
	CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1),
				       PSM2_MQ_FLAG_SENDSYNC, &t, &v, 4, NULL,
				       &s), PSM2_OK);
	for (i = 0; i < 10; i++)
		lb_progress(fab);
	/* not matched yet: a synchronous send must not complete */
	CU_ASSERT_EQUAL(psm2_mq_test2(&s, &st), PSM2_MQ_NO_COMPLETIONS);
	CU_ASSERT_EQUAL(psm2_mq_irecv2(lb_mq(fab, 1), PSM2_MQ_ANY_ADDR, &t,
				       (psm2_mq_tag_t *)&lb_all_bits, 0, &w, 4,
				       NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&s, &st), PSM2_OK);
	CU_ASSERT_EQUAL(finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(w, 77);
}

static void test_stats(void)
{
	psm2_mq_stats_t s, r;
	psm2_mq_req_t rq;
	psm2_mq_status2_t st;
	psm2_mq_tag_t t = lb_tag(6, 6, 6);
	static uint8_t buf[100000];

	fabric(2, NULL, NULL);
	/* one unexpected eager, one expected eager, one rendezvous */
	send_u32(0, 1, t, 1);
	drain();
	psm2_mq_irecv2(lb_mq(fab, 1), PSM2_MQ_ANY_ADDR, &t,
		       (psm2_mq_tag_t *)&lb_all_bits, 0, buf, sizeof(buf), NULL,
		       &rq);
	CU_ASSERT_EQUAL(finish(&rq, &st), PSM2_OK);
	psm2_mq_irecv2(lb_mq(fab, 1), PSM2_MQ_ANY_ADDR, &t,
		       (psm2_mq_tag_t *)&lb_all_bits, 0, buf, sizeof(buf), NULL,
		       &rq);
	send_u32(0, 1, t, 2);
	CU_ASSERT_EQUAL(finish(&rq, &st), PSM2_OK);
	psm2_mq_irecv2(lb_mq(fab, 1), PSM2_MQ_ANY_ADDR, &t,
		       (psm2_mq_tag_t *)&lb_all_bits, 0, buf, sizeof(buf), NULL,
		       &rq);
	{
		psm2_mq_req_t sq;

		CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					       0, &t, buf, sizeof(buf), NULL,
					       &sq), PSM2_OK);
		CU_ASSERT_EQUAL(finish(&rq, &st), PSM2_OK);
		CU_ASSERT_EQUAL(finish(&sq, &st), PSM2_OK);
	}
	psm2_mq_get_stats(lb_mq(fab, 0), &s);
	psm2_mq_get_stats(lb_mq(fab, 1), &r);
	CU_ASSERT_EQUAL(s.tx_num, 3);
	CU_ASSERT_EQUAL(s.tx_eager_num, 2);
	CU_ASSERT_EQUAL(s.tx_eager_bytes, 8);
	CU_ASSERT_EQUAL(s.tx_rndv_num, 1);
	CU_ASSERT_EQUAL(s.tx_rndv_bytes, sizeof(buf));
	CU_ASSERT_EQUAL(r.rx_sys_num, 1);
	CU_ASSERT_EQUAL(r.rx_sys_bytes, 4);
	CU_ASSERT_EQUAL(r.rx_sysbuf_num, 1);
	CU_ASSERT_EQUAL(r.rx_user_num, 2);
	CU_ASSERT_EQUAL(r.rx_user_bytes, 4 + sizeof(buf));
}

/* ----------------------------------------------------------------- api */

static int handler_calls;

static psm2_error_t count_handler(psm2_ep_t ep, const psm2_error_t error,
				 const char *str, psm2_error_token_t token)
{
	(void)ep;
	(void)token;
	handler_calls++;
	CU_ASSERT_PTR_NOT_NULL(strstr(str, "Invalid parameter"));
	return error;
}

static void test_errors_and_u64(void)
{
	psm2_mq_req_t s, r;
	psm2_mq_status_t st;
	uint64_t v = 0x1122334455667788ull, w = 0;
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;

	CU_ASSERT_STRING_EQUAL(psm2_error_get_string(PSM2_MQ_TRUNCATION),
			       "Message truncated");
	CU_ASSERT_PTR_NOT_NULL(psm2_error_get_string((psm2_error_t)999));
	CU_ASSERT_EQUAL(psm2_init(&major, &minor), PSM2_OK);
	CU_ASSERT_EQUAL(major, PSM2_VERNO_MAJOR);
	CU_ASSERT_EQUAL(psm2_finalize(), PSM2_OK);
	major = 7;
	CU_ASSERT_EQUAL(psm2_error_register_handler(NULL,
						    PSM2_ERRHANDLER_NO_HANDLER),
			PSM2_OK);
	CU_ASSERT_EQUAL(psm2_init(&major, &minor), PSM2_INIT_BAD_API_VERSION);

	fabric(2, NULL, NULL);
	CU_ASSERT_EQUAL(psm2_error_register_handler(NULL, count_handler),
			PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0), NULL, 0, NULL, NULL, 0,
				       NULL, &s), PSM2_PARAM_ERR);
	CU_ASSERT_EQUAL(handler_calls, 1);
	psm2_error_register_handler(NULL, PSM2_ERRHANDLER_NO_HANDLER);

	/* the 64-bit calls: mask selects bits of the 64-bit tag */
	CU_ASSERT_EQUAL(psm2_mq_irecv(lb_mq(fab, 1), 0xab00000000000001ull,
				      0xff000000000000ffull, 0, &w, 8, NULL,
				      &r), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_isend(lb_mq(fab, 0), lb_peer(fab, 0, 1), 0,
				      0xab12345678000001ull, &v, 8, NULL, &s),
			PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_wait(&s, &st), PSM2_OK);
	while (psm2_mq_test(&r, &st) == PSM2_MQ_NO_COMPLETIONS)
		lb_progress(fab);
	CU_ASSERT_EQUAL(w, v);
	CU_ASSERT_EQUAL(st.msg_tag, 0xab12345678000001ull);
	CU_ASSERT_EQUAL(st.msg_length, 8);
	CU_ASSERT_EQUAL(psm2_get_capability_mask(~0ull),
			PSM2_MULTI_EP_CAP | PSM2_LIB_REFCOUNT_CAP);
}

int main(void)
{
	CU_pSuite m, p, a;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	m = CU_add_suite("mq_matching", test_setup, test_teardown);
	p = CU_add_suite("mq_protocols", test_setup, test_teardown);
	a = CU_add_suite("mq_api", test_setup, test_teardown);
	if (!m || !p || !a)
		return 2;
	CU_add_test(m, "tag and mask, 96 bits", test_tag_mask);
	CU_add_test(m, "posting order", test_posting_order);
	CU_add_test(m, "wildcard and specific source", test_wildcard_source);
	CU_add_test(m, "iprobe, improbe, imrecv", test_probe);
	CU_add_test(m, "cancel", test_cancel);
	CU_add_test(m, "ipeek in completion order", test_ipeek);
	CU_add_test(p, "eager and rendezvous, 0 B .. 16 MiB", test_eager_rndv_sizes);
	CU_add_test(p, "rendezvous in many windows", test_rndv_windows);
	CU_add_test(p, "rendezvous: one window registered ahead",
		    test_rndv_windows_ahead);
	CU_add_test(p, "rendezvous ahead: the sender restarts mid-message",
		    test_rndv_ahead_sender_restarts);
	CU_add_test(p, "no expected receive (legacy)", test_legacy_no_expected);
	CU_add_test(p, "busy wire, one handle", test_busy_wire);
	CU_add_test(p, "truncation", test_truncation);
	CU_add_test(p, "order per sender, reordered wire", test_order_per_peer);
	CU_add_test(p, "restarted peer: new generation", test_restarted_peer);
	CU_add_test(p, "synchronous send", test_sendsync);
	CU_add_test(p, "stats", test_stats);
	CU_add_test(a, "errors, handler, 64-bit tags", test_errors_and_u64);
	CU_add_test(a, "test makes no progress", test_test_makes_no_progress);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
