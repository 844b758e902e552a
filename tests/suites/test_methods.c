// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * How the broker's uverbs methods grow: by attributes. A newer library may
 * send an attribute this kernel does not know; marked optional it is
 * ignored (same result as without it), marked mandatory the call fails
 * with EPROTONOSUPPORT and changes nothing. Checked for every method.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

/* An attribute id of the driver namespace no method declares. */
#define FUTURE_ATTR DRVOPS_ID(30)

enum future { NONE, OPTIONAL, MANDATORY };

static void add_future(struct drvops_req *req, enum future f)
{
	static const uint32_t value = 1;
	struct ib_uverbs_attr *a;

	if (f == NONE)
		return;
	a = drvops_req_in(req, FUTURE_ATTR, &value, sizeof(value));
	if (f == OPTIONAL)
		drvops_attr_optional(a);
}

static int get_fd(int uverbs_fd, enum future f, int *fd, uint32_t *version)
{
	static const char names[] = DRVOPS_GENERIC_NAME;
	struct drvops_version_range range = { 1, 2 };
	struct drvops_req req;
	uint32_t index;
	int32_t out_fd = -1;
	int ret;

	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_GET_FD);
	drvops_req_fd(&req, DRVOPS_ATTR_GET_FD_UVERBS_FD, uverbs_fd);
	drvops_req_in(&req, DRVOPS_ATTR_GET_FD_NAMES, names, sizeof(names));
	drvops_req_in(&req, DRVOPS_ATTR_GET_FD_VERSIONS, &range, sizeof(range));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_FD, &out_fd, sizeof(out_fd));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_NAME_INDEX, &index,
		       sizeof(index));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_VERSION, version,
		       sizeof(*version));
	add_future(&req, f);
	ret = drvops_req_exec(uverbs_fd, &req);
	*fd = ret ? -1 : out_fd;
	return ret;
}

static void test_get_fd_future_attribute(void)
{
	int uverbs_fd = tl_open_device(TL_DEVICE_CURRENT);
	struct tl_stats before, after;
	uint32_t v0 = 0, v1 = 0;
	int fd0, fd1, fd2;

	TL_ASSERT_OK(uverbs_fd);
	TL_ASSERT_OK(get_fd(uverbs_fd, NONE, &fd0, &v0));
	TL_ASSERT_OK(get_fd(uverbs_fd, OPTIONAL, &fd1, &v1));
	CU_ASSERT(v0 == 2 && v1 == v0);
	TL_ASSERT_OK(tl_read_stats(&before));
	TL_ASSERT_ERR(get_fd(uverbs_fd, MANDATORY, &fd2, &v1), EPROTONOSUPPORT);
	TL_ASSERT_OK(tl_read_stats(&after));
	CU_ASSERT(after.files == before.files);
	close(fd0);
	close(fd1);
	close(uverbs_fd);
}

static int query(int uverbs_fd, enum future f, uint32_t *total)
{
	struct drvops_req req;

	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_QUERY);
	drvops_req_out(&req, DRVOPS_ATTR_QUERY_NUM_ENTRIES, total,
		       sizeof(*total));
	add_future(&req, f);
	return drvops_req_exec(uverbs_fd, &req);
}

static void test_query_future_attribute(void)
{
	int uverbs_fd = tl_open_device(TL_DEVICE_CURRENT);
	uint32_t t0 = 0, t1 = 0, t2 = 0;

	TL_ASSERT_OK(uverbs_fd);
	TL_ASSERT_OK(query(uverbs_fd, NONE, &t0));
	TL_ASSERT_OK(query(uverbs_fd, OPTIONAL, &t1));
	CU_ASSERT(t0 == 2 && t1 == t0);
	TL_ASSERT_ERR(query(uverbs_fd, MANDATORY, &t2), EPROTONOSUPPORT);
	close(uverbs_fd);
}

static int bind_pd(struct tl_ctx *ctx, enum future f, uint32_t *binding)
{
	struct drvops_req req;

	drvops_req_init(&req, DRVOPS_OBJECT_BINDING, DRVOPS_METHOD_BIND);
	drvops_req_new_idr(&req, DRVOPS_ATTR_BIND_HANDLE, binding);
	drvops_req_fd(&req, DRVOPS_ATTR_BIND_DRVOPS_FD, ctx->ops_fd);
	drvops_req_idr(&req, DRVOPS_ATTR_BIND_PD, ctx->pd);
	add_future(&req, f);
	return drvops_req_exec(ctx->uverbs_fd, &req);
}

static int unbind(struct tl_ctx *ctx, enum future f, uint32_t binding)
{
	struct drvops_req req;

	drvops_req_init(&req, DRVOPS_OBJECT_BINDING, DRVOPS_METHOD_UNBIND);
	drvops_req_idr(&req, DRVOPS_ATTR_UNBIND_HANDLE, binding);
	add_future(&req, f);
	return drvops_req_exec(ctx->uverbs_fd, &req);
}

static void test_bind_and_unbind_future_attribute(void)
{
	struct tl_stats base, now;
	struct tl_ctx ctx;
	uint32_t b = 0;

	TL_ASSERT_OK(tl_read_stats(&base));
	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 4096));
	/* Refused: nothing bound (the PD can still be freed at the end). */
	TL_ASSERT_ERR(bind_pd(&ctx, MANDATORY, &b), EPROTONOSUPPORT);
	TL_ASSERT_OK(tl_read_stats(&now));
	CU_ASSERT(now.bindings == base.bindings + 1);	/* ctx's MR only */

	TL_ASSERT_OK(bind_pd(&ctx, OPTIONAL, &b));
	TL_ASSERT_ERR(unbind(&ctx, MANDATORY, b), EPROTONOSUPPORT);
	TL_ASSERT_ERR(drvops_dealloc_pd(ctx.uverbs_fd, ctx.pd), EBUSY);
	TL_ASSERT_OK(unbind(&ctx, OPTIONAL, b));
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
	CU_ASSERT(tl_wait_stats(&base, 2000) == 0);
}

static CU_TestInfo method_tests[] = {
	{ "GET_FD: future attribute ignored if optional, refused if mandatory",
	  test_get_fd_future_attribute },
	{ "QUERY: future attribute ignored if optional, refused if mandatory",
	  test_query_future_attribute },
	{ "BIND/UNBIND: future attribute ignored if optional, refused if mandatory",
	  test_bind_and_unbind_future_attribute },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "method extensibility", NULL, NULL, NULL, NULL, method_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_methods", suites);
}
