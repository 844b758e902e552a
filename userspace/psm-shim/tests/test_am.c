// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Host tests of active messages (src/am.c) over the loopback fabric, the
 * way libfabric's psm2 provider uses them: handlers registered from index
 * 0, requests with up to 5 arguments and a payload, a reply sent from
 * inside the request handler, per-sender order (also mixed with matched
 * messages on a reordering wire), and the refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "am.h"
#include "loopback.h"
#include "shim.h"

static struct lb_fabric *fab;

enum { H_UNUSED, H_REQUEST, H_REPLY, H_ORDER, NHANDLERS };

struct seen {
	int requests, replies, bad;
	uint64_t reply_arg;
	uint8_t reply_data[64];
	uint32_t reply_len;
	uint64_t order[256];
	int norder;
	psm2_error_t second_reply;
};

static struct seen seen_a, seen_b;	/* hctx of endpoint 0 and 1 */

static int on_unused(psm2_am_token_t token, psm2_amarg_t *args, int nargs,
		     void *src, uint32_t len, void *hctx)
{
	(void)token; (void)args; (void)nargs; (void)src; (void)len;
	((struct seen *)hctx)->bad++;
	return 0;
}

/* Checks the request, answers from inside with the payload reversed. */
static int on_request(psm2_am_token_t token, psm2_amarg_t *args, int nargs,
		      void *src, uint32_t len, void *hctx)
{
	struct seen *me = hctx;
	psm2_epaddr_t from = NULL;
	psm2_amarg_t rep[2];
	uint8_t back[64];

	me->requests++;
	if (nargs != 5 || args[0].u64 != 0x1111 || args[4].u32w1 != 44 ||
	    len != 10 || memcmp(src, "0123456789", 10) ||
	    !(from = shim_am_source(token)) || from != lb_peer(fab, 1, 0))
		me->bad++;
	for (uint32_t i = 0; i < len && i < sizeof(back); i++)
		back[i] = ((uint8_t *)src)[len - 1 - i];
	rep[0].u64 = args[1].u64 + 1;
	rep[1].u64 = 0;
	if (shim_am_reply(token, H_REPLY, rep, 2, back, len, NULL, NULL))
		me->bad++;
	me->second_reply = shim_am_reply(token, H_REPLY, rep, 2, back, len,
					 NULL, NULL);
	return 0;
}

static int on_reply(psm2_am_token_t token, psm2_amarg_t *args, int nargs,
		    void *src, uint32_t len, void *hctx)
{
	struct seen *me = hctx;

	(void)token;
	me->replies++;
	if (nargs != 2 || len > sizeof(me->reply_data)) {
		me->bad++;
		return 0;
	}
	me->reply_arg = args[0].u64;
	me->reply_len = len;
	memcpy(me->reply_data, src, len);
	return 0;
}

static int on_order(psm2_am_token_t token, psm2_amarg_t *args, int nargs,
		    void *src, uint32_t len, void *hctx)
{
	struct seen *me = hctx;

	(void)token; (void)src; (void)len;
	if (nargs == 1 && me->norder < 256)
		me->order[me->norder++] = args[0].u64;
	return 0;
}

static void setup_fabric(bool reorder)
{
	static const psm2_am_handler_2_fn_t h[NHANDLERS] = {
		on_unused, on_request, on_reply, on_order
	};
	void *ctx_a[NHANDLERS], *ctx_b[NHANDLERS];
	struct lb_options opt = { .reorder = reorder };
	int idx[NHANDLERS];

	lb_destroy(fab);
	fab = lb_create(2, &opt, NULL);
	CU_ASSERT_FATAL(fab != NULL);
	memset(&seen_a, 0, sizeof(seen_a));
	memset(&seen_b, 0, sizeof(seen_b));
	for (int i = 0; i < NHANDLERS; i++) {
		ctx_a[i] = &seen_a;
		ctx_b[i] = &seen_b;
	}
	/* Indices from 0, in registration order, per endpoint. */
	CU_ASSERT_EQUAL_FATAL(shim_am_register(lb_mq(fab, 0), NULL, h,
					       NHANDLERS, ctx_a, idx), PSM2_OK);
	for (int i = 0; i < NHANDLERS; i++)
		CU_ASSERT_EQUAL(idx[i], i);
	CU_ASSERT_EQUAL_FATAL(shim_am_register(lb_mq(fab, 1), NULL, h,
					       NHANDLERS, ctx_b, idx), PSM2_OK);
	CU_ASSERT_EQUAL(idx[0], 0);
}

static void progress(int rounds)
{
	for (int i = 0; i < rounds; i++)
		lb_progress(fab);
}

static int completions;

static void count_completion(void *ctx)
{
	(void)ctx;
	completions++;
}

static void test_request_reply(void)
{
	psm2_amarg_t args[5] = {
		{ .u64 = 0x1111 }, { .u64 = 41 }, { .u64 = 0 }, { .u64 = 0 },
		{ .u32w0 = 3, .u32w1 = 44 }
	};
	char payload[] = "0123456789";

	setup_fabric(false);
	completions = 0;
	CU_ASSERT_EQUAL(shim_am_request(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					H_REQUEST, args, 5, payload, 10,
					count_completion, NULL), PSM2_OK);
	/* Copied: the caller's buffer is free at once. */
	CU_ASSERT_EQUAL(completions, 1);
	memset(payload, 'x', sizeof(payload));
	progress(10);
	CU_ASSERT_EQUAL(seen_b.requests, 1);
	CU_ASSERT_EQUAL(seen_b.bad, 0);
	CU_ASSERT_EQUAL(seen_b.second_reply, PSM2_PARAM_ERR);
	CU_ASSERT_EQUAL(seen_a.replies, 1);
	CU_ASSERT_EQUAL(seen_a.reply_arg, 42);
	CU_ASSERT_EQUAL(seen_a.reply_len, 10);
	CU_ASSERT(memcmp(seen_a.reply_data, "9876543210", 10) == 0);
	CU_ASSERT_EQUAL(seen_a.bad + seen_b.bad, 0);
}

/* Requests keep their order per sender, mixed with matched messages,
 * on a wire that swaps every pair of packets. */
static void test_order(void)
{
	psm2_mq_tag_t t = { .tag = { 5, 6, 7, 0 } };
	psm2_mq_req_t s[64];
	psm2_mq_status2_t st;
	uint32_t v = 7;

	setup_fabric(true);
	for (uint64_t i = 0; i < 128; i++) {
		psm2_amarg_t a = { .u64 = i };

		CU_ASSERT_EQUAL(shim_am_request(lb_mq(fab, 0),
						lb_peer(fab, 0, 1), H_ORDER,
						&a, 1, NULL, 0, NULL, NULL),
				PSM2_OK);
		if (i % 2 == 0)
			CU_ASSERT_EQUAL(psm2_mq_isend2(lb_mq(fab, 0),
						       lb_peer(fab, 0, 1), 0,
						       &t, &v, sizeof(v), NULL,
						       &s[i / 2]), PSM2_OK);
	}
	progress(50);
	CU_ASSERT_EQUAL(seen_b.norder, 128);
	for (int i = 0; i < seen_b.norder; i++)
		CU_ASSERT_EQUAL(seen_b.order[i], (uint64_t)i);
	for (int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(psm2_mq_test2(&s[i], &st), PSM2_OK);
}

static void test_refusals(void)
{
	struct psm2_am_parameters p;
	psm2_amarg_t args[SHIM_AM_MAX_NARGS + 1];
	char *big;

	setup_fabric(false);
	memset(args, 0, sizeof(args));
	shim_am_parameters(lb_mq(fab, 0), &p);
	CU_ASSERT(p.max_nargs >= 5);
	CU_ASSERT(p.max_request_short >= 4096);
	CU_ASSERT(p.max_reply_short >= p.max_request_short);
	CU_ASSERT(p.max_handlers >= NHANDLERS);
	big = calloc(1, p.max_request_short + 1);
	CU_ASSERT_EQUAL(shim_am_request(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					H_ORDER, args, SHIM_AM_MAX_NARGS + 1,
					NULL, 0, NULL, NULL), PSM2_PARAM_ERR);
	CU_ASSERT_EQUAL(shim_am_request(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					H_ORDER, args, 1, big,
					p.max_request_short + 1, NULL, NULL),
			PSM2_PARAM_ERR);
	/* The largest one goes. */
	CU_ASSERT_EQUAL(shim_am_request(lb_mq(fab, 0), lb_peer(fab, 0, 1),
					H_ORDER, args, 1, big,
					p.max_request_short, NULL, NULL),
			PSM2_OK);
	/* An index nobody registered: dropped, nothing called. */
	CU_ASSERT_EQUAL(shim_am_request(lb_mq(fab, 0), lb_peer(fab, 0, 1), 40,
					args, 1, NULL, 0, NULL, NULL), PSM2_OK);
	progress(10);
	CU_ASSERT_EQUAL(seen_b.norder, 1);
	CU_ASSERT_EQUAL(seen_b.bad, 0);
	/* A reply outside a handler. */
	CU_ASSERT_EQUAL(shim_am_reply(NULL, H_REPLY, args, 1, NULL, 0, NULL,
				      NULL), PSM2_PARAM_ERR);
	free(big);
}

static int teardown(void)
{
	lb_destroy(fab);
	fab = NULL;
	return 0;
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("active messages", NULL, teardown);
	CU_add_test(s, "request, reply from its handler", test_request_reply);
	CU_add_test(s, "order per sender with matched messages, reordered wire",
		    test_order);
	CU_add_test(s, "refusals and limits", test_refusals);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
