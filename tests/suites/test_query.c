// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * DRVOPS_METHOD_QUERY: the entries of the current and the legacy device,
 * NUM_ENTRIES alone, short buffers, the ENTRIES length rule, bad pointers,
 * and agreement with /sys/class/infiniband/<dev>/drvops_interfaces (read
 * and parsed here, not through libdrvops).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "tl_fds.h"

#define GEN DRVOPS_GENERIC_NAME
#define LEG DRVOPS_GENERIC_LEGACY_NAME
#define ESIZE sizeof(struct drvops_interface_entry)
#define CANARY 0x5a

static int baseline_fds = -1;

static void teardown(void)
{
	tl_close_tracked();
}

static int open_kind(enum tl_device_kind kind)
{
	int fd = tl_open_device(kind);

	TL_ASSERT_OK(fd);
	return tl_track_fd(fd);
}

/*
 * QUERY by hand: ENTRIES of entries_len bytes at entries (omitted if
 * entries is NULL), NUM_ENTRIES at num (omitted if NULL).
 */
static int query_raw(int u, void *entries, size_t entries_len, uint32_t *num)
{
	struct drvops_req req;

	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_QUERY);
	if (entries)
		drvops_req_out(&req, DRVOPS_ATTR_QUERY_ENTRIES, entries,
			       entries_len);
	if (num)
		drvops_req_out(&req, DRVOPS_ATTR_QUERY_NUM_ENTRIES, num,
			       sizeof(*num));
	return drvops_req_exec(u, &req);
}

static bool all_bytes(const void *p, int byte, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (uint8_t)byte)
			return false;
	return true;
}

static void check_entry(const struct drvops_interface_entry *e,
			const char *name, uint32_t min, uint32_t max,
			uint32_t index, uint32_t flags)
{
	size_t len = strnlen(e->name, DRVOPS_NAME_MAX);

	CU_ASSERT_FATAL(len < DRVOPS_NAME_MAX);
	CU_ASSERT_STRING_EQUAL(e->name, name);
	/* Zero padded: no stale kernel bytes after the NUL. */
	CU_ASSERT(all_bytes(e->name + len, 0, DRVOPS_NAME_MAX - len));
	CU_ASSERT_EQUAL(e->min_version, min);
	CU_ASSERT_EQUAL(e->max_version, max);
	CU_ASSERT_EQUAL(e->interface_index, index);
	CU_ASSERT_EQUAL(e->flags, flags);
}

/* ---- Entries ------------------------------------------------------------- */

static void test_entries_current_device(void)
{
	struct drvops_interface_entry e[4];
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t num = 0xdeadbeef;

	memset(e, CANARY, sizeof(e));
	TL_ASSERT_OK(query_raw(u, e, sizeof(e), &num));
	CU_ASSERT_EQUAL_FATAL(num, 2);
	check_entry(&e[0], GEN, 1, 2, 0, 0);
	check_entry(&e[1], LEG, 1, 1, 0, DRVOPS_ENTRY_ALIAS);
	/* Entries beyond the device's are not touched. */
	CU_ASSERT(all_bytes(&e[2], CANARY, 2 * ESIZE));
}

static void test_entries_legacy_device(void)
{
	struct drvops_interface_entry e[4];
	int u = open_kind(TL_DEVICE_LEGACY);
	uint32_t num = 0xdeadbeef;

	memset(e, CANARY, sizeof(e));
	TL_ASSERT_OK(query_raw(u, e, sizeof(e), &num));
	CU_ASSERT_EQUAL_FATAL(num, 1);
	/* Here copy.legacy is the primary name, not an alias. */
	check_entry(&e[0], LEG, 1, 1, 0, 0);
	CU_ASSERT(all_bytes(&e[1], CANARY, 3 * ESIZE));
}

static void test_library_query_agrees(void)
{
	struct drvops_interface_entry e[4];
	int u = open_kind(TL_DEVICE_CURRENT);
	unsigned total = 0;

	CU_ASSERT_EQUAL(drvops_query(u, e, 4, &total), 2);
	CU_ASSERT_EQUAL(total, 2);
	check_entry(&e[0], GEN, 1, 2, 0, 0);
	check_entry(&e[1], LEG, 1, 1, 0, DRVOPS_ENTRY_ALIAS);
}

static void test_num_entries_only(void)
{
	int cur = open_kind(TL_DEVICE_CURRENT);
	int leg = open_kind(TL_DEVICE_LEGACY);
	uint32_t num = 0xdeadbeef;

	TL_ASSERT_OK(query_raw(cur, NULL, 0, &num));
	CU_ASSERT_EQUAL(num, 2);
	num = 0xdeadbeef;
	TL_ASSERT_OK(query_raw(leg, NULL, 0, &num));
	CU_ASSERT_EQUAL(num, 1);
}

/* ENTRIES present with length 0: nothing written, the count reported. */
static void test_zero_length_entries(void)
{
	struct drvops_interface_entry e[1];
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t num = 0xdeadbeef;

	memset(e, CANARY, sizeof(e));
	TL_ASSERT_OK(query_raw(u, e, 0, &num));
	CU_ASSERT_EQUAL(num, 2);
	CU_ASSERT(all_bytes(e, CANARY, sizeof(e)));
}

static void test_short_buffer_writes_what_fits(void)
{
	struct drvops_interface_entry e[2];
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t num = 0xdeadbeef;

	memset(e, CANARY, sizeof(e));
	/* Room for one entry of the two. */
	TL_ASSERT_OK(query_raw(u, e, ESIZE, &num));
	CU_ASSERT_EQUAL(num, 2);
	check_entry(&e[0], GEN, 1, 2, 0, 0);
	CU_ASSERT(all_bytes(&e[1], CANARY, ESIZE));
}

static void test_length_not_multiple_einval(void)
{
	static const size_t lens[] = { 1, ESIZE - 1, ESIZE + 1,
				       2 * ESIZE - 4, 3 * ESIZE + 7 };
	struct drvops_interface_entry e[4];
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t num;
	unsigned i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(e, CANARY, sizeof(e));
		num = 0xdeadbeef;
		TL_ASSERT_ERR(query_raw(u, e, lens[i], &num), EINVAL);
		/* Refused before anything was written. */
		CU_ASSERT(all_bytes(e, CANARY, sizeof(e)));
		CU_ASSERT_EQUAL(num, 0xdeadbeef);
	}
}

static void test_bad_entries_pointer_efault(void)
{
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t num = 0;

	CU_ASSERT_FATAL(tl_fault_ptr() != NULL);
	TL_ASSERT_ERR(query_raw(u, tl_fault_ptr(), 2 * ESIZE, &num), EFAULT);
	TL_ASSERT_ERR(query_raw(u, NULL, 0, tl_fault_ptr()), EFAULT);
	/* ENTRIES whose second entry is out of reach. */
	TL_ASSERT_ERR(query_raw(u, tl_page_end_ptr(ESIZE), 2 * ESIZE, &num),
		      EFAULT);
	/* A fitting ENTRIES and a bad NUM_ENTRIES. */
	TL_ASSERT_ERR(query_raw(u, tl_page_end_ptr(2 * ESIZE), 2 * ESIZE,
				tl_fault_ptr()),
		      EFAULT);
}

static void test_before_get_context_einval(void)
{
	struct drvops_interface_entry e[2];
	struct drvops_device_info dev;
	uint32_t num = 0xdeadbeef;
	int u;

	TL_ASSERT_OK(tl_find_device(TL_DEVICE_CURRENT, &dev));
	u = tl_track_fd(drvops_open_device(&dev));
	TL_ASSERT_OK(u);
	TL_ASSERT_ERR(query_raw(u, e, sizeof(e), &num), EINVAL);
	CU_ASSERT_EQUAL(num, 0xdeadbeef);
}

static void test_missing_num_entries_einval(void)
{
	struct drvops_interface_entry e[2];
	int u = open_kind(TL_DEVICE_CURRENT);

	memset(e, CANARY, sizeof(e));
	TL_ASSERT_ERR(query_raw(u, e, sizeof(e), NULL), EINVAL);
	CU_ASSERT(all_bytes(e, CANARY, sizeof(e)));
}

/* Every entry can be opened at its max, and not above. */
static void test_entries_match_get_fd(void)
{
	static const enum tl_device_kind kinds[] = { TL_DEVICE_CURRENT,
						     TL_DEVICE_LEGACY };
	struct drvops_interface_entry e[8];
	unsigned k;
	int i, n;

	for (k = 0; k < 2; k++) {
		int u = open_kind(kinds[k]);

		n = drvops_query(u, e, 8, NULL);
		CU_ASSERT_FATAL(n > 0);
		for (i = 0; i < n; i++) {
			const char *names[] = { e[i].name };
			uint32_t version = 0;
			int fd;

			fd = drvops_get_fd(u, names, 1, e[i].min_version,
					   UINT32_MAX, 0, NULL, &version);
			TL_ASSERT_OK(fd);
			close(fd);
			CU_ASSERT_EQUAL(version, e[i].max_version);
			fd = drvops_get_fd(u, names, 1, e[i].max_version + 1,
					   UINT32_MAX, 0, NULL, NULL);
			if (fd >= 0)
				close(fd);
			TL_ASSERT_ERR(fd, ENOPROTOOPT);
		}
	}
}

/* ---- sysfs ----------------------------------------------------------------- */

/*
 * Reads drvops_interfaces and compares it, line by line, with QUERY:
 * "<name> <min> <max> <index>[ alias]\n".
 */
static void check_sysfs_matches(enum tl_device_kind kind)
{
	struct drvops_interface_entry e[16];
	struct drvops_device_info dev;
	char path[256], line[256];
	uint32_t num = 0;
	unsigned lines = 0;
	FILE *f;
	int u;

	TL_ASSERT_OK(tl_find_device(kind, &dev));
	u = open_kind(kind);
	TL_ASSERT_OK(query_raw(u, e, sizeof(e), &num));
	CU_ASSERT_FATAL(num > 0 && num <= 16);

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/drvops_interfaces", dev.ibdev);
	f = fopen(path, "re");
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		char expect[256];
		size_t len = strlen(line);

		CU_ASSERT(len > 0 && line[len - 1] == '\n');
		if (lines < num) {
			snprintf(expect, sizeof(expect), "%s %u %u %u%s\n",
				 e[lines].name, e[lines].min_version,
				 e[lines].max_version,
				 e[lines].interface_index,
				 e[lines].flags & DRVOPS_ENTRY_ALIAS ?
					 " alias" : "");
			if (strcmp(line, expect))
				fprintf(stderr,
					"\n  %s line %u: '%s', QUERY says '%s'\n",
					dev.ibdev, lines, line, expect);
			CU_ASSERT_STRING_EQUAL(line, expect);
		}
		lines++;
	}
	fclose(f);
	CU_ASSERT_EQUAL(lines, num);
}

static void test_sysfs_matches_current(void)
{
	check_sysfs_matches(TL_DEVICE_CURRENT);
}

static void test_sysfs_matches_legacy(void)
{
	check_sysfs_matches(TL_DEVICE_LEGACY);
}

/* ---- Leaks --------------------------------------------------------------- */

static void test_nothing_left_open(void)
{
	tl_close_tracked();
	CU_ASSERT_EQUAL(tl_count_open_fds(), baseline_fds);
}

static CU_TestInfo query_tests[] = {
	{ "entries of the current device", test_entries_current_device },
	{ "entries of the legacy device", test_entries_legacy_device },
	{ "drvops_query() returns the same", test_library_query_agrees },
	{ "NUM_ENTRIES only", test_num_entries_only },
	{ "ENTRIES of length 0: nothing written", test_zero_length_entries },
	{ "short buffer: only what fits, total reported",
	  test_short_buffer_writes_what_fits },
	{ "ENTRIES length not a multiple: EINVAL",
	  test_length_not_multiple_einval },
	{ "bad pointers: EFAULT", test_bad_entries_pointer_efault },
	{ "before GET_CONTEXT: EINVAL", test_before_get_context_einval },
	{ "NUM_ENTRIES missing: EINVAL", test_missing_num_entries_einval },
	{ "each entry opens at its max version, not above",
	  test_entries_match_get_fd },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo sysfs_tests[] = {
	{ "sysfs drvops_interfaces = QUERY (current)",
	  test_sysfs_matches_current },
	{ "sysfs drvops_interfaces = QUERY (legacy)",
	  test_sysfs_matches_legacy },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo leak_tests[] = {
	{ "no fd left open", test_nothing_left_open },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "QUERY", NULL, NULL, NULL, teardown, query_tests },
	{ "QUERY vs sysfs", NULL, NULL, NULL, teardown, sysfs_tests },
	{ "QUERY leaks", NULL, NULL, NULL, teardown, leak_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	baseline_fds = tl_count_open_fds();
	return tl_run_suites("test_query", suites);
}
