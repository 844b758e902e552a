// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Discovery: the generic devices are ordinary RDMA devices (iproute2's
 * `rdma dev` and `rdma link` show them, port ACTIVE), found by index or by
 * node GUID without knowing their names, and drvops-info lists their
 * interfaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

/* Output of a shell command, NUL-terminated, or NULL. */
static char *run(const char *cmd)
{
	static char out[16384];
	size_t n = 0, r;
	FILE *p = popen(cmd, "r");

	if (!p)
		return NULL;
	while (n < sizeof(out) - 1 &&
	       (r = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	return pclose(p) == 0 ? out : NULL;
}

static int list(struct drvops_device_info *devs, unsigned max)
{
	int n = drvops_list_devices(devs, max);

	CU_ASSERT_FATAL(n >= 2);
	return n;
}

static void test_rdma_dev_shows_every_device(void)
{
	struct drvops_device_info devs[8];
	char *out = run("rdma dev");
	int i, n = list(devs, 8);

	CU_ASSERT_FATAL(out != NULL);
	for (i = 0; i < n; i++) {
		char want[96];

		snprintf(want, sizeof(want), "%s: node_type ca", devs[i].ibdev);
		CU_ASSERT(strstr(out, want) != NULL);
	}
}

static void test_rdma_link_shows_ports_active(void)
{
	struct drvops_device_info devs[8];
	char *out = run("rdma link");
	int i, n = list(devs, 8);

	CU_ASSERT_FATAL(out != NULL);
	for (i = 0; i < n; i++) {
		char want[96], *line, *end;

		/* "link generic0/1 subnet_prefix ... state ACTIVE ..." */
		snprintf(want, sizeof(want), "link %s/1 ", devs[i].ibdev);
		line = strstr(out, want);
		CU_ASSERT_FATAL(line != NULL);
		end = strchrnul(line, '\n');
		*end = '\0';
		CU_ASSERT(strstr(line, " state ACTIVE ") != NULL);
		CU_ASSERT(strstr(line, " physical_state LINK_UP") != NULL);
		*end = '\n';
	}
}

static void test_open_by_index_and_guid_reach_the_same_device(void)
{
	struct drvops_device_info devs[8];
	struct drvops_info a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	int i, n = list(devs, 8);

	for (i = 0; i < n; i++) {
		int by_index, by_guid, fa, fb;

		/* The generic devices: every one answers to copy.legacy v1. */
		if (tl_device_offers(&devs[i], DRVOPS_GENERIC_LEGACY_NAME) != 1)
			continue;
		by_index = drvops_open_index(devs[i].index);
		by_guid = drvops_open_guid(devs[i].node_guid);
		TL_ASSERT_OK(by_index);
		TL_ASSERT_OK(by_guid);
		fa = tl_get_fd(by_index, DRVOPS_GENERIC_LEGACY_NAME, 1);
		fb = tl_get_fd(by_guid, DRVOPS_GENERIC_LEGACY_NAME, 1);
		TL_ASSERT_OK(fa);
		TL_ASSERT_OK(fb);
		TL_ASSERT_OK(drvops_get_info(fa, &a));
		TL_ASSERT_OK(drvops_get_info(fb, &b));
		CU_ASSERT(a.node_guid == devs[i].node_guid);
		CU_ASSERT(b.node_guid == devs[i].node_guid);
		CU_ASSERT(a.ibdev_index == b.ibdev_index);
		close(fa);
		close(fb);
		close(by_index);
		close(by_guid);
	}
}

static void test_unknown_guid_and_index_are_enodev(void)
{
	TL_ASSERT_ERR(drvops_open_guid(0x1234), ENODEV);
	TL_ASSERT_ERR(drvops_open_index(99), ENODEV);
}

static void test_drvops_info_lists_interfaces(void)
{
	char *out = run("drvops-info");

	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT(strstr(out, DRVOPS_GENERIC_NAME) != NULL);
	CU_ASSERT(strstr(out, DRVOPS_GENERIC_LEGACY_NAME) != NULL);
	CU_ASSERT(strstr(out, "alias of " DRVOPS_GENERIC_NAME) != NULL);
	CU_ASSERT(strstr(out, "02d0:c0de:0000:0001") != NULL);
}

static CU_TestInfo discovery_tests[] = {
	{ "rdma dev shows every device", test_rdma_dev_shows_every_device },
	{ "rdma link shows ports ACTIVE", test_rdma_link_shows_ports_active },
	{ "open by index and by GUID reach the same device",
	  test_open_by_index_and_guid_reach_the_same_device },
	{ "unknown GUID and index are ENODEV",
	  test_unknown_guid_and_index_are_enodev },
	{ "drvops-info lists interfaces", test_drvops_info_lists_interfaces },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "discovery", NULL, NULL, NULL, NULL, discovery_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_discovery", suites);
}
