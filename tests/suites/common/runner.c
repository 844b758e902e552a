// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Running CUnit suites the same way in every test binary. */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testlib.h"

void tl_report_errno(const char *expr, long value)
{
	fprintf(stderr, "\n  %s failed: %s\n", expr, strerror((int)-value));
}

void tl_report_mismatch(const char *expr, long got, long want)
{
	fprintf(stderr, "\n  %s returned %ld (%s), want %ld (%s)\n", expr, got,
		got < 0 ? strerror((int)-got) : "not an error", want,
		strerror((int)-want));
}

int tl_run_suites(const char *prog, CU_SuiteInfo *suites)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CUnit: %s\n", prog, CU_get_error_msg());
		printf("TESTS %s: FAIL\n", prog);
		return 1;
	}
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "%s: CUnit: %s\n", prog, CU_get_error_msg());
		CU_cleanup_registry();
		printf("TESTS %s: FAIL\n", prog);
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() +
		 CU_get_number_of_suites_failed() +
		 CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	printf("TESTS %s: %s\n", prog, failed ? "FAIL" : "PASS");
	fflush(stdout);
	return failed ? 1 : 0;
}
