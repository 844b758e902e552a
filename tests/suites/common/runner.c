// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Running CUnit suites the same way in every test binary. */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* $DRVOPS_ONLY: run only the tests whose name contains it (development). */
static void tl_select_tests(void)
{
	const char *only = getenv("DRVOPS_ONLY");
	CU_pSuite s;
	CU_pTest t;

	if (!only || !*only)
		return;
	for (s = CU_get_registry()->pSuite; s; s = s->pNext)
		for (t = s->pTest; t; t = t->pNext)
			if (!strstr(t->pName, only))
				CU_set_test_active(t, CU_FALSE);
	printf("DRVOPS_ONLY=%s: other tests inactive\n", only);
}

/*
 * $DRVOPS_RUN_AS=uid:gid[:memlock_kib]: become that user before any test,
 * as a real user runs: no capabilities, and the RLIMIT_MEMLOCK inherited
 * (the kernel's default, 8 MiB as on Debian) unless memlock_kib says
 * otherwise (what a cluster's limits.conf gives MPI users). The test bed
 * sets it for every suite that does not need root (tests/vm/guest-init.sh).
 */
static int tl_drop_privileges(const char *prog)
{
	const char *as = getenv("DRVOPS_RUN_AS");
	unsigned uid, gid, memlock_kib = 0;
	struct rlimit rl;

	if (!as || !*as)
		return 0;
	if (sscanf(as, "%u:%u:%u", &uid, &gid, &memlock_kib) < 2) {
		fprintf(stderr, "%s: DRVOPS_RUN_AS=%s is not uid:gid[:kib]\n",
			prog, as);
		return -1;
	}
	if (memlock_kib) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)memlock_kib * 1024;
		if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
			perror("DRVOPS_RUN_AS: RLIMIT_MEMLOCK");
			return -1;
		}
	}
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid) ||
	    getuid() != uid || geteuid() != uid) {
		perror("DRVOPS_RUN_AS");
		return -1;
	}
	/* Own /proc/self files again (a uid change clears "dumpable"). */
	prctl(PR_SET_DUMPABLE, 1);
	getrlimit(RLIMIT_MEMLOCK, &rl);
	printf("%s: running as uid %u gid %u, RLIMIT_MEMLOCK %llu KiB\n", prog,
	       uid, gid, (unsigned long long)rl.rlim_cur / 1024);
	return 0;
}

int tl_run_suites(const char *prog, CU_SuiteInfo *suites)
{
	unsigned failed;

	if (tl_drop_privileges(prog)) {
		printf("TESTS %s: FAIL\n", prog);
		return 1;
	}

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
	tl_select_tests();
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
