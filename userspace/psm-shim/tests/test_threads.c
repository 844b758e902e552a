// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Thread safety of the library as Intel's PSM2 gives it, over the loopback
 * fabric: several threads per endpoint, each with its own tag space and
 * one shared by all, every message's data checked. Built twice by the
 * Makefile: plain, and with ThreadSanitizer (test_threads_tsan), which
 * fails on any data race.
 *
 *   own tags    each thread sends and receives its own messages, waiting
 *               on each with psm2_mq_wait2 / psm2_mq_send2
 *   progress    Open MPI's model: threads post, and whichever thread
 *               polls completes everybody's requests, with ipeek2 + test2
 *               under the application's mutex (as Open MPI's MTL does),
 *               or with ipeek_dequeue_multi (as libfabric's provider);
 *               the blocking sends mixed in never show up there
 *   dequeue     psm2_mq_ipeek_dequeue_multi's contract (Intel's)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "loopback.h"
#include "shim.h"

enum {
	THREADS = 4,
	MSGS = 150,		/* per thread and tag space */
	SHARED_TAG = 0x5eed,
};

static struct lb_fabric *fab;

/* Sizes around the eager/rendezvous threshold (64 KiB) and tiny ones. */
static uint32_t msg_size(unsigned thread, unsigned i)
{
	static const uint32_t sizes[] = { 0, 8, 64, 1000, 4096, 65536,
					  65537, 100000, 262144 };

	return sizes[(thread * 7 + i) % (sizeof(sizes) / sizeof(sizes[0]))];
}

/* Payload: its own identity, so a message delivered to the wrong
 * receive or corrupted on the way is caught. */
static void fill(uint8_t *p, uint32_t n, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(id * 131 + i * 7 + (i >> 9));
}

static bool check(const uint8_t *p, uint32_t n, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (uint8_t)(id * 131 + i * 7 + (i >> 9)))
			return false;
	return true;
}

static int setup(void)
{
	struct lb_options opt = { .max_handles = 64 };

	fab = lb_create(2, &opt, NULL);
	return fab ? 0 : -1;
}

static int teardown(void)
{
	lb_destroy(fab);
	fab = NULL;
	return 0;
}

/* ------------------------------------------------------------ own tags */

struct own_arg {
	unsigned thread;
	bool sender;
	atomic_int *bad;
};

static void *own_tags(void *p)
{
	struct own_arg *a = p;
	psm2_mq_t mq = lb_mq(fab, a->sender ? 0 : 1);
	psm2_epaddr_t peer = lb_peer(fab, a->sender ? 0 : 1, a->sender ? 1 : 0);
	uint8_t *buf = malloc(262144);
	unsigned i;

	for (i = 0; buf && i < MSGS; i++) {
		uint32_t n = msg_size(a->thread, i);
		uint32_t id = a->thread << 16 | i;
		psm2_mq_tag_t t = lb_tag(a->thread, i, 1);
		psm2_mq_status2_t st;
		psm2_mq_req_t req;

		if (a->sender) {
			fill(buf, n, id);
			/* Every other one blocking: its request is internal. */
			if (i & 1) {
				if (psm2_mq_send2(mq, peer, 0, &t, buf, n))
					atomic_fetch_add(a->bad, 1);
				continue;
			}
			if (psm2_mq_isend2(mq, peer, 0, &t, buf, n, NULL,
					   &req) ||
			    psm2_mq_wait2(&req, &st) || st.error_code)
				atomic_fetch_add(a->bad, 1);
			continue;
		}
		memset(buf, 0xee, n);
		if (psm2_mq_irecv2(mq, peer, &t, (psm2_mq_tag_t *)&lb_all_bits, 0,
				   buf, 262144, NULL, &req) ||
		    psm2_mq_wait2(&req, &st) || st.error_code ||
		    st.msg_length != n || !check(buf, n, id))
			atomic_fetch_add(a->bad, 1);
	}
	if (!buf)
		atomic_fetch_add(a->bad, 1);
	free(buf);
	return NULL;
}

static void test_own_tags(void)
{
	struct own_arg args[2 * THREADS];
	pthread_t th[2 * THREADS];
	atomic_int bad = 0;
	int i;

	for (i = 0; i < 2 * THREADS; i++) {
		args[i].thread = (unsigned)i / 2;
		args[i].sender = i & 1;
		args[i].bad = &bad;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, own_tags,
					       &args[i]) == 0);
	}
	for (i = 0; i < 2 * THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&bad), 0);
	CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 0);
}

/* ------------------------------------------------------------ progress */

/* What a request's context points to: Open MPI's request. */
struct op {
	atomic_bool done;
	psm2_error_t error;
	uint32_t len, id;
	uint8_t *buf;
};

struct prog_arg {
	unsigned thread;
	bool sender;
	bool dequeue;		/* ipeek_dequeue_multi, else ipeek2 + test2 */
	atomic_int *bad, *internal_seen;
};

static void op_done(void *context, psm2_error_t err, uint32_t len,
		    atomic_int *internal_seen)
{
	struct op *o = context;

	if (!o) {
		atomic_fetch_add(internal_seen, 1);
		return;
	}
	o->error = err;
	o->len = len;
	atomic_store(&o->done, true);
}

static int copy_done(struct psm2_mq_req_user *u, void *array, int index)
{
	atomic_int *internal_seen = array;

	(void)index;
	op_done(u->context, u->error_code, u->recv_msglen, internal_seen);
	return 1;
}

/*
 * Complete whatever has completed, anybody's. Open MPI's psm2 MTL peeks
 * and tests under its own mutex (a request peeked by one thread may be
 * tested and freed by another); ipeek_dequeue_multi needs no such lock.
 */
static pthread_mutex_t app_mutex = PTHREAD_MUTEX_INITIALIZER;

static void poll_completions(psm2_mq_t mq, bool dequeue,
			     atomic_int *internal_seen)
{
	psm2_mq_status2_t st;
	psm2_mq_req_t req;
	int count;

	if (dequeue) {
		do
			count = 16;
		while (psm2_mq_ipeek_dequeue_multi(mq, internal_seen,
						   copy_done, &count) ==
		       PSM2_OK);
		return;
	}
	pthread_mutex_lock(&app_mutex);
	while (psm2_mq_ipeek2(mq, &req, NULL) == PSM2_OK &&
	       psm2_mq_test2(&req, &st) == PSM2_OK)
		op_done(st.context, st.error_code, st.msg_length,
			internal_seen);
	pthread_mutex_unlock(&app_mutex);
}

static void *progress_model(void *p)
{
	struct prog_arg *a = p;
	int ep = a->sender ? 0 : 1;
	psm2_mq_t mq = lb_mq(fab, ep);
	psm2_epaddr_t peer = lb_peer(fab, ep, !ep);
	struct op *ops = calloc(2 * MSGS, sizeof(*ops));
	unsigned i, k;

	if (!ops) {
		atomic_fetch_add(a->bad, 1);
		return NULL;
	}
	/* Own tags, then the shared one (any receiver thread may get it). */
	for (i = 0; i < 2 * MSGS; i++) {
		struct op *o = &ops[i];
		bool shared = i >= MSGS;
		uint32_t n = msg_size(a->thread, i);
		psm2_mq_tag_t t = shared ? lb_tag(SHARED_TAG, 0, 2) :
					   lb_tag(a->thread, i, 2);
		psm2_mq_req_t req;

		o->id = shared ? 0x77 : (a->thread << 16 | i);
		o->buf = malloc(262144);
		if (!o->buf) {
			atomic_fetch_add(a->bad, 1);
			break;
		}
		if (a->sender) {
			fill(o->buf, n, o->id);
			o->len = n;
			/* A blocking send now and then: invisible to ipeek. */
			if (i % 10 == 3) {
				if (psm2_mq_send2(mq, peer, 0, &t, o->buf, n))
					atomic_fetch_add(a->bad, 1);
				atomic_store(&o->done, true);
				continue;
			}
			if (psm2_mq_isend2(mq, peer, 0, &t, o->buf, n, o,
					   &req))
				atomic_fetch_add(a->bad, 1);
		} else if (psm2_mq_irecv2(mq, PSM2_MQ_ANY_ADDR, &t,
					  (psm2_mq_tag_t *)&lb_all_bits, 0,
					  o->buf, 262144, o, &req)) {
			atomic_fetch_add(a->bad, 1);
		}
		/* Keep a few in flight; progress for everybody. */
		if (i % 8 == 7)
			poll_completions(mq, a->dequeue, a->internal_seen);
	}
	for (k = 0; k < 2 * MSGS; k++) {
		long spins = 0;

		while (ops[k].buf && !atomic_load(&ops[k].done) &&
		       spins++ < 50000000)
			poll_completions(mq, a->dequeue, a->internal_seen);
		if (!ops[k].buf || !atomic_load(&ops[k].done) ||
		    ops[k].error != PSM2_OK) {
			atomic_fetch_add(a->bad, 1);
			continue;
		}
		/* Shared-tag data is checked by length: any sender's. */
		if (!a->sender && ops[k].id != 0x77 &&
		    (ops[k].len != msg_size(a->thread, k) ||
		     !check(ops[k].buf, ops[k].len, ops[k].id)))
			atomic_fetch_add(a->bad, 1);
		if (!a->sender && ops[k].id == 0x77 &&
		    !check(ops[k].buf, ops[k].len, 0x77))
			atomic_fetch_add(a->bad, 1);
	}
	/* Other threads may still complete ours: keep polling a while. */
	for (k = 0; k < 1000; k++)
		poll_completions(mq, a->dequeue, a->internal_seen);
	for (k = 0; k < 2 * MSGS; k++)
		free(ops[k].buf);
	free(ops);
	return NULL;
}

static void progress_model_run(bool dequeue)
{
	struct prog_arg args[2 * THREADS];
	pthread_t th[2 * THREADS];
	atomic_int bad = 0, internal_seen = 0;
	int i;

	for (i = 0; i < 2 * THREADS; i++) {
		args[i].thread = (unsigned)i / 2;
		args[i].sender = i & 1;
		args[i].bad = &bad;
		args[i].internal_seen = &internal_seen;
		args[i].dequeue = dequeue;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, progress_model,
					       &args[i]) == 0);
	}
	for (i = 0; i < 2 * THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&bad), 0);
	CU_ASSERT_EQUAL(atomic_load(&internal_seen), 0);
	CU_ASSERT_EQUAL(lb_handles_in_use(fab, 1), 0);
}

static void test_progress_ipeek_test(void)
{
	progress_model_run(false);
}

static void test_progress_dequeue_multi(void)
{
	progress_model_run(true);
}

/* ------------------------------------------------------------- dequeue */

struct copied {
	void *context;
	uint32_t len;
};

/* Returns what the context says: its first byte, as an int. */
static int copy_and_answer(struct psm2_mq_req_user *u, void *array,
			   int index)
{
	struct copied *c = array;

	c[index].context = u->context;
	c[index].len = u->recv_msglen;
	return *(const signed char *)u->context;
}

/* n receives, context[i] = answers[i]; all completed before returning. */
static void post_completed(const signed char *answers, int n)
{
	static signed char ctx[16];
	psm2_mq_t tx = lb_mq(fab, 0), rx = lb_mq(fab, 1);
	psm2_mq_tag_t t = lb_tag(9, 9, 9);
	static char bufs[16][8];
	psm2_mq_req_t req;
	int i;

	for (i = 0; i < n; i++) {
		ctx[i] = answers[i];
		CU_ASSERT_EQUAL(psm2_mq_irecv2(rx, PSM2_MQ_ANY_ADDR, &t,
					       (psm2_mq_tag_t *)&lb_all_bits, 0,
					       bufs[i], 8, &ctx[i], &req),
				PSM2_OK);
		CU_ASSERT_EQUAL(psm2_mq_send2(tx, lb_peer(fab, 0, 1), 0, &t,
					      "abcdefg", 8), PSM2_OK);
	}
	for (i = 0; i < 100; i++)
		lb_progress(fab);
}

/* Intel's contract (opa-psm2): 1 counts, 0 skips, >1 counts and stops,
 * <0 stops with PSM2_INTERNAL_ERR; an empty queue is NO_COMPLETIONS. */
/* One call asking for `ask`: its result and the count it leaves. */
static void expect_dequeue(int ask, psm2_error_t want, int want_count)
{
	struct copied c[16];
	int count = ask;

	memset(c, 0, sizeof(c));
	CU_ASSERT_EQUAL(psm2_mq_ipeek_dequeue_multi(lb_mq(fab, 1), c,
						    copy_and_answer, &count),
			want);
	CU_ASSERT_EQUAL(count, want_count);
	if (want_count > 0)
		CU_ASSERT_EQUAL(c[want_count - 1].len, 8);
}

static void test_dequeue_multi_contract(void)
{
	expect_dequeue(8, PSM2_MQ_NO_COMPLETIONS, 0);
	/* 1, 0 (skipped), 1: the queue runs empty before 8 */
	post_completed((const signed char[]){ 1, 0, 1 }, 3);
	expect_dequeue(8, PSM2_MQ_NO_COMPLETIONS, 2);
	/* exactly *count: PSM2_OK, the rest stays queued */
	post_completed((const signed char[]){ 1, 1, 1 }, 3);
	expect_dequeue(2, PSM2_OK, 2);
	expect_dequeue(8, PSM2_MQ_NO_COMPLETIONS, 1);
	/* >1: counted, stop */
	post_completed((const signed char[]){ 1, 2, 1 }, 3);
	expect_dequeue(8, PSM2_OK, 2);
	expect_dequeue(8, PSM2_MQ_NO_COMPLETIONS, 1);
	/* <0: stop, *count is the value */
	post_completed((const signed char[]){ 1, -5, 1 }, 3);
	expect_dequeue(8, PSM2_INTERNAL_ERR, -5);
	expect_dequeue(8, PSM2_MQ_NO_COMPLETIONS, 1);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("threads", setup, teardown);
	CU_add_test(s, "own tag spaces, blocking waits", test_own_tags);
	CU_add_test(s, "Open MPI's progress model (ipeek2 + test2), shared tag",
		    test_progress_ipeek_test);
	CU_add_test(s, "progress by ipeek_dequeue_multi, shared tag",
		    test_progress_dequeue_multi);
	CU_add_test(s, "ipeek_dequeue_multi contract",
		    test_dequeue_multi_contract);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
