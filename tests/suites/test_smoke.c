// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Smoke test that needs no kernel module: the request builder packs
 * attributes the way drivers/infiniband/core/uverbs_ioctl.c reads them,
 * and the GUID text forms round-trip. Runs on any host.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static void test_abi_sizes(void)
{
	CU_ASSERT_EQUAL(sizeof(struct ib_uverbs_ioctl_hdr), 24);
	CU_ASSERT_EQUAL(sizeof(struct ib_uverbs_attr), 16);
	CU_ASSERT_EQUAL(offsetof(struct drvops_req, attrs), 24);
	CU_ASSERT_EQUAL(sizeof(struct drvops_interface_entry), 80);
	CU_ASSERT_EQUAL(sizeof(struct drvops_version_range), 8);
	CU_ASSERT_EQUAL(sizeof(struct drvops_info), 88);
}

static void test_init(void)
{
	struct drvops_req req;

	memset(&req, 0xaa, sizeof(req));
	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_GET_FD);
	CU_ASSERT_EQUAL(req.hdr.object_id, DRVOPS_OBJECT_BROKER);
	CU_ASSERT_EQUAL(req.hdr.method_id, DRVOPS_METHOD_GET_FD);
	CU_ASSERT_EQUAL(req.hdr.driver_id, 0);
	CU_ASSERT_EQUAL(req.hdr.reserved1, 0);
	CU_ASSERT_EQUAL(req.hdr.reserved2, 0);
	CU_ASSERT_EQUAL(req.num_attrs, 0);
	CU_ASSERT_EQUAL(req.error, 0);
	/* Namespace bit of driver ids. */
	CU_ASSERT_EQUAL(DRVOPS_OBJECT_BROKER, 0x1000 + 11);
}

static void test_in_inline(void)
{
	struct drvops_version_range range = { 1, 2 };
	uint8_t big[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	uint8_t three[3] = { 0x11, 0x22, 0x33 };
	struct ib_uverbs_attr *a;
	struct drvops_req req;
	uint64_t expect = 0;

	drvops_req_init(&req, 1, 2);

	a = drvops_req_in(&req, 5, &range, sizeof(range));
	CU_ASSERT_PTR_EQUAL(a, &req.attrs[0]);
	CU_ASSERT_EQUAL(a->attr_id, 5);
	CU_ASSERT_EQUAL(a->len, 8);
	CU_ASSERT_EQUAL(a->flags, UVERBS_ATTR_F_MANDATORY);
	CU_ASSERT_EQUAL(a->attr_data.reserved, 0);
	CU_ASSERT(memcmp(&a->data, &range, 8) == 0);

	a = drvops_req_in(&req, 6, three, sizeof(three));
	memcpy(&expect, three, sizeof(three));
	CU_ASSERT_EQUAL(a->len, 3);
	CU_ASSERT_EQUAL(a->data, expect);	/* rest of data is zero */

	a = drvops_req_in_u32(&req, 7, 0xdeadbeef);
	CU_ASSERT_EQUAL(a->len, 4);
	CU_ASSERT_EQUAL(a->data, 0xdeadbeefULL);

	a = drvops_req_in(&req, 8, big, sizeof(big));
	CU_ASSERT_EQUAL(a->len, 9);
	CU_ASSERT_EQUAL(a->data, (uintptr_t)big);

	a = drvops_req_in(&req, 9, NULL, 0);
	CU_ASSERT_EQUAL(a->len, 0);
	CU_ASSERT_EQUAL(a->data, 0);

	CU_ASSERT_EQUAL(req.num_attrs, 5);
	CU_ASSERT_EQUAL(req.error, 0);
}

static void test_out_is_pointer(void)
{
	struct drvops_req req;
	uint32_t small;
	struct ib_uverbs_attr *a;

	drvops_req_init(&req, 1, 2);
	a = drvops_req_out(&req, 3, &small, sizeof(small));
	CU_ASSERT_EQUAL(a->len, 4);
	CU_ASSERT_EQUAL(a->data, (uintptr_t)&small);
}

static void test_fd_and_idr(void)
{
	struct drvops_req req;
	struct ib_uverbs_attr *a;
	uint32_t handle;
	int fd;

	drvops_req_init(&req, 1, 2);
	a = drvops_req_fd(&req, 1, 7);
	CU_ASSERT_EQUAL(a->len, 0);
	CU_ASSERT_EQUAL(a->data_s64, 7);
	a = drvops_req_fd(&req, 2, -1);
	CU_ASSERT_EQUAL(a->data_s64, -1);
	a = drvops_req_idr(&req, 3, 42);
	CU_ASSERT_EQUAL(a->len, 0);
	CU_ASSERT_EQUAL(a->data, 42);
	a = drvops_req_new_idr(&req, 4, &handle);
	CU_ASSERT_EQUAL(a->len, 0);
	CU_ASSERT_EQUAL(a->data, 0);
	CU_ASSERT_PTR_EQUAL(req.readback[3].ptr, &handle);
	CU_ASSERT_FALSE(req.readback[3].is_fd);
	a = drvops_req_new_fd(&req, 5, &fd);
	CU_ASSERT_PTR_EQUAL(req.readback[4].ptr, &fd);
	CU_ASSERT_TRUE(req.readback[4].is_fd);
}

static void test_optional(void)
{
	struct drvops_req req;
	struct ib_uverbs_attr *a;

	drvops_req_init(&req, 1, 2);
	a = drvops_attr_optional(drvops_req_in_u32(&req, 1, 0));
	CU_ASSERT_EQUAL(a->flags, 0);
	CU_ASSERT_PTR_NULL(drvops_attr_optional(NULL));
}

static void test_overflow(void)
{
	struct drvops_req req;
	char big[UINT16_MAX + 1];
	unsigned i;

	drvops_req_init(&req, 1, 2);
	for (i = 0; i < DRVOPS_REQ_MAX_ATTRS; i++)
		CU_ASSERT_PTR_NOT_NULL(drvops_req_idr(&req, i, i));
	CU_ASSERT_PTR_NULL(drvops_req_idr(&req, 99, 0));
	CU_ASSERT_EQUAL(req.error, -ENOSPC);
	/* Builder errors are returned before any syscall. */
	CU_ASSERT_EQUAL(drvops_req_exec(-1, &req), -ENOSPC);

	drvops_req_init(&req, 1, 2);
	CU_ASSERT_PTR_NULL(drvops_req_out(&req, 1, big, sizeof(big)));
	CU_ASSERT_EQUAL(req.error, -E2BIG);
	CU_ASSERT_EQUAL(req.num_attrs, 0);
}

static void test_exec_sets_header(void)
{
	struct drvops_req req;
	uint32_t handle = 0x1234;
	int pipefd[2];

	CU_ASSERT_FATAL(pipe(pipefd) == 0);
	drvops_req_init(&req, 1, 2);
	drvops_req_idr(&req, 1, 1);
	drvops_req_new_idr(&req, 2, &handle);
	/* A pipe is no uverbs file: the ioctl fails and nothing is read back. */
	CU_ASSERT_EQUAL(drvops_req_exec(pipefd[0], &req), -ENOTTY);
	CU_ASSERT_EQUAL(req.hdr.num_attrs, 2);
	CU_ASSERT_EQUAL(req.hdr.length, 24 + 2 * 16);
	CU_ASSERT_EQUAL(handle, 0x1234);
	CU_ASSERT_EQUAL(drvops_req_exec(-1, &req), -EBADF);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_guid(void)
{
	char buf[DRVOPS_GUID_STRLEN];
	uint64_t guid = 0;

	CU_ASSERT_EQUAL(drvops_parse_guid("0002:c903:0001:2345", &guid), 0);
	CU_ASSERT_EQUAL(guid, 0x0002c90300012345ULL);
	CU_ASSERT_STRING_EQUAL(drvops_format_guid(guid, buf),
			       "0002:c903:0001:2345");
	CU_ASSERT_EQUAL(drvops_parse_guid("0x0002C90300012345", &guid), 0);
	CU_ASSERT_EQUAL(guid, 0x0002c90300012345ULL);
	CU_ASSERT_EQUAL(drvops_parse_guid("ff", &guid), 0);
	CU_ASSERT_EQUAL(guid, 0xff);
	CU_ASSERT_EQUAL(drvops_parse_guid("", &guid), -EINVAL);
	CU_ASSERT_EQUAL(drvops_parse_guid("0002:c903:0001", &guid), -EINVAL);
	CU_ASSERT_EQUAL(drvops_parse_guid("02:c903:0001:2345", &guid), -EINVAL);
	CU_ASSERT_EQUAL(drvops_parse_guid("0002:c903:0001:234g", &guid),
			-EINVAL);
	CU_ASSERT_EQUAL(drvops_parse_guid("00000000000000000", &guid), -EINVAL);
}

static void test_argument_checks(void)
{
	CU_ASSERT_EQUAL(drvops_list_devices(NULL, 1), -EINVAL);
	CU_ASSERT(drvops_list_devices(NULL, 0) >= 0);
	CU_ASSERT_EQUAL(drvops_bind(-1, -1, (enum drvops_obj_kind)42, 0, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(drvops_query(-1, NULL, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(drvops_get_fd(-1, NULL, 1, 1, 1, 0, NULL, NULL),
			-EINVAL);
}

static CU_TestInfo builder_tests[] = {
	{ "ABI sizes", test_abi_sizes },
	{ "init clears the header", test_init },
	{ "PTR_IN up to 8 bytes is inline", test_in_inline },
	{ "PTR_OUT is always a pointer", test_out_is_pointer },
	{ "fd and IDR attributes", test_fd_and_idr },
	{ "optional attributes", test_optional },
	{ "overflow is reported by exec", test_overflow },
	{ "exec sets length and num_attrs", test_exec_sets_header },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo misc_tests[] = {
	{ "GUID parse and format", test_guid },
	{ "argument checks", test_argument_checks },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "request builder", NULL, NULL, NULL, NULL, builder_tests },
	{ "helpers", NULL, NULL, NULL, NULL, misc_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_smoke", suites);
}
