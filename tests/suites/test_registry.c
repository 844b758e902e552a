// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * What the broker's drvops_register_device() accepts and refuses: the
 * test module drvops_regtest.ko (tests/kmod/regtest.c) registers one
 * well-formed interface table and one malformed in each way on an
 * ib_device of its own, at load, and lists "<case> <expected errno>
 * <returned errno>" in debugfs. Needs root (insmod/rmmod).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

#define REGTEST_MODULE "drvops_regtest"
#define RESULTS "/sys/kernel/debug/drvops_regtest/results"

/* Cases the rules must keep: each refused with EINVAL unless noted. */
static const struct {
	const char *name;
	int expect;
} must_have[] = {
	{ "well_formed", 0 },
	{ "registered_twice", EEXIST },
	{ "no_interfaces", EINVAL },
	{ "no_ibdev", EINVAL },
	{ "name_empty", EINVAL },
	{ "name_with_space", EINVAL },
	{ "name_63_chars", 0 },
	{ "name_64_chars", EINVAL },
	{ "name_null", EINVAL },
	{ "min_version_0", EINVAL },
	{ "min_version_above_max", EINVAL },
	{ "versions_null", EINVAL },
	{ "alias_name_with_tab", EINVAL },
	{ "alias_max_past_interface", EINVAL },
	{ "read_without_poll", EINVAL },
	{ "write_without_poll", EINVAL },
	{ "read_with_poll", 0 },
	{ "mmap_without_fault", EINVAL },
	{ "ioctls_null", EINVAL },
	{ "ioctls_17", EINVAL },
	{ "ioctls_with_hole", 0 },
	{ "op_in_wrong_slot", EINVAL },
	{ "op_without_handler", EINVAL },
	{ "op_size_over_max", EINVAL },
	{ "op_min_size_2", EINVAL },
	{ "op_min_size_over_size", EINVAL },
	{ "op_other_ioctl_type", EINVAL },
	{ "op_broker_number", EINVAL },
	{ "ops_in_two_ranges", EINVAL },
	{ "query_answer_not_words", EINVAL },
	{ "query_without_answer", EINVAL },
	{ "query_min_size_4", EINVAL },
	{ "op_min_size_4", 0 },
};
#define NMUST (sizeof(must_have) / sizeof(must_have[0]))

static void test_registration_rules(void)
{
	int seen[NMUST] = { 0 };
	unsigned int lines = 0, wrong = 0, i;
	char name[64];
	int expect, got;
	FILE *f;

	CU_ASSERT_FATAL(tl_reload_module(REGTEST_MODULE, NULL) == 0);
	f = fopen(RESULTS, "re");
	CU_ASSERT_PTR_NOT_NULL(f);
	while (f && fscanf(f, "%63s %d %d", name, &expect, &got) == 3) {
		lines++;
		if (got != expect) {
			wrong++;
			printf("\n    %s: %s, expected %s ", name,
			       got ? strerrorname_np(got) : "accepted",
			       expect ? strerrorname_np(expect) : "accepted");
		}
		for (i = 0; i < NMUST; i++) {
			if (strcmp(name, must_have[i].name))
				continue;
			seen[i]++;
			/* The module and this list agree on each rule. */
			CU_ASSERT_EQUAL(expect, must_have[i].expect);
		}
	}
	if (f)
		fclose(f);
	CU_ASSERT_EQUAL(wrong, 0);
	for (i = 0; i < NMUST; i++) {
		if (seen[i] != 1)
			printf("\n    case %s listed %d times ", must_have[i].name,
			       seen[i]);
		CU_ASSERT_EQUAL(seen[i], 1);
	}
	CU_ASSERT_EQUAL(tl_unload_module(REGTEST_MODULE), 0);
	printf("\n    %u registrations, %u as expected ", lines, lines - wrong);
}

static CU_TestInfo registry_tests[] = {
	{ "registration: well-formed tables in, each malformed one EINVAL",
	  test_registration_rules },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "registry", NULL, NULL, NULL, NULL, registry_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_registry", suites);
}
