// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The rdma cgroup limits driver-ops fds like any other RDMA object: each
 * fd is one hca_object of the caller's cgroup, charged at GET_FD and
 * returned at close, so a container's rdma.max applies to them too.
 * The memory a driver-ops fd makes the kernel hold (an HFI context's
 * rings: a MiB each) is charged to the caller's memory cgroup, so
 * memory.max holds with ENOMEM, not with the OOM killer.
 *
 * The work happens in a child moved into a fresh cgroup; it reports
 * through its exit code (0, or the number of the failed check).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl_hfi.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG_TEST CG_ROOT "/drvops_test"
#define CG_MEM CG_ROOT "/drvops_mem"
#define LIMIT 3

/* hca_object of dev in rdma.current, or -1. */
static long current_objects(const char *dev)
{
	char line[256], name[64];
	long handles, objects = -1;
	FILE *f = fopen(CG_TEST "/rdma.current", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s hca_handle=%ld hca_object=%ld", name,
			   &handles, &objects) == 3 && !strcmp(name, dev))
			break;
		else
			objects = -1;
	fclose(f);
	return objects;
}

static int setup_cgroup(const char *controller, const char *dir)
{
	struct stat st;

	if (stat(CG_ROOT "/cgroup.controllers", &st)) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
			return -1;
	}
	if (tl_write_file(CG_ROOT "/cgroup.subtree_control", controller))
		return -1;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

static int child_main(const struct drvops_device_info *dev)
{
	char limit[128], pid[32];
	int uverbs_fd, fds[LIMIT], fd, i;

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (tl_write_file(CG_TEST "/cgroup.procs", pid))
		return 1;
	snprintf(limit, sizeof(limit), "%s hca_handle=max hca_object=%d",
		 dev->ibdev, LIMIT);
	if (tl_write_file(CG_TEST "/rdma.max", limit))
		return 2;

	uverbs_fd = drvops_open_device(dev);
	if (uverbs_fd < 0 || drvops_get_context(uverbs_fd))
		return 3;
	for (i = 0; i < LIMIT; i++) {
		fds[i] = tl_get_fd(uverbs_fd, DRVOPS_GENERIC_NAME, 1);
		if (fds[i] < 0)
			return 4;
	}
	if (current_objects(dev->ibdev) != LIMIT)
		return 5;
	/* One more is over the limit, and leaves no fd behind. */
	fd = tl_get_fd(uverbs_fd, DRVOPS_GENERIC_NAME, 1);
	if (fd != -EAGAIN)
		return 6;
	/* Closing one gives its charge back. */
	close(fds[0]);
	if (current_objects(dev->ibdev) != LIMIT - 1)
		return 7;
	fds[0] = tl_get_fd(uverbs_fd, DRVOPS_GENERIC_NAME, 1);
	if (fds[0] < 0)
		return 8;
	/* Closing the uverbs fd first returns every charge too. */
	close(uverbs_fd);
	if (current_objects(dev->ibdev) > 0)
		return 9;
	for (i = 0; i < LIMIT; i++)
		close(fds[i]);
	return 0;
}

static void test_rdma_cgroup_limits_driver_ops_fds(void)
{
	struct drvops_device_info dev;
	char limit[128];
	int status;
	pid_t pid;

	TL_ASSERT_OK(tl_find_device(TL_DEVICE_CURRENT, &dev));
	CU_ASSERT_FATAL(setup_cgroup("+rdma", CG_TEST) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(child_main(&dev));
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fprintf(stderr, "cgroup child failed check %d\n",
			WEXITSTATUS(status));
	CU_ASSERT(WEXITSTATUS(status) == 0);

	/*
	 * Linux 6.1 bug, not ours: rmdir of a cgroup whose rdma.max names a
	 * device leaves that device's pool linked to the freed cgroup
	 * (rdmacg_css_offline only marks it "max"), and unregistering the
	 * device later corrupts the list. Setting the limits back to max
	 * frees the unused pool first.
	 */
	snprintf(limit, sizeof(limit), "%s hca_handle=max hca_object=max",
		 dev.ibdev);
	CU_ASSERT(tl_write_file(CG_TEST "/rdma.max", limit) == 0);
	CU_ASSERT(rmdir(CG_TEST) == 0);
}

/* memory.current of CG_MEM in bytes, or -1. */
static long mem_current(void)
{
	return tl_read_long(CG_MEM "/memory.current");
}

static int set_mem_max(long bytes)
{
	char s[32];

	if (bytes < 0)
		return tl_write_file(CG_MEM "/memory.max", "max");
	snprintf(s, sizeof(s), "%ld", bytes);
	return tl_write_file(CG_MEM "/memory.max", s);
}

enum { MEM_CTXTS = 3 };

static int mem_child_main(void)
{
	struct drvops_hfi_ctx h[MEM_CTXTS], extra;
	long base, held, per_ctxt = 0, after;
	char pid[32];
	int i, r, ret;

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (tl_write_file(CG_MEM "/cgroup.procs", pid))
		return 1;
	base = mem_current();
	if (base < 0)
		return 2;
	for (i = 0; i < MEM_CTXTS; i++)
		if (tl_hfi_open(&h[i], TL_HFI_CURRENT, 0, tl_hfi_job_a, 0))
			return 3;
	for (r = 0; r < DRVOPS_HFI_MMAP_NR; r++)
		per_ctxt += h[0].info.mmap_length[r];
	/* Every context's regions are in this cgroup's memory. */
	held = mem_current() - base;
	printf("  %d contexts of %ld KiB each: memory.current +%ld KiB\n",
	       MEM_CTXTS, per_ctxt >> 10, held >> 10);
	/* (less the part a per-CPU charge cache already held) */
	if (held < MEM_CTXTS * per_ctxt * 9 / 10)
		return 4;

	/* Room for the small things, not for another context's rings. */
	if (set_mem_max(mem_current() + per_ctxt / 2))
		return 5;
	ret = tl_hfi_open(&extra, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0);
	if (!ret)
		tl_hfi_close(&extra);
	printf("  over memory.max: %d (%s)\n", ret, strerror(-ret));
	if (ret != -ENOMEM)
		return 6;
	/* The failure held nothing, and the limit lifted, all works. */
	if (set_mem_max(-1))
		return 7;
	if (tl_hfi_open(&extra, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0))
		return 8;
	tl_hfi_close(&extra);
	for (i = 0; i < MEM_CTXTS; i++)
		tl_hfi_close(&h[i]);
	/* Closing gives it all back (a page table or two may stay). */
	after = mem_current() - base;
	printf("  after close: memory.current %+ld KiB\n", after >> 10);
	if (after > per_ctxt / 4)
		return 9;
	return 0;
}

static void test_memory_cgroup_holds_contexts(void)
{
	int status;
	pid_t pid;

	CU_ASSERT_FATAL(setup_cgroup("+memory", CG_MEM) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(mem_child_main());
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	/* Killed (by the OOM killer) is a failure too. */
	CU_ASSERT(WIFEXITED(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "memory cgroup child failed check %d\n",
			WEXITSTATUS(status));
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(rmdir(CG_MEM) == 0);
}

static CU_TestInfo cgroup_tests[] = {
	{ "rdma cgroup limits driver-ops fds",
	  test_rdma_cgroup_limits_driver_ops_fds },
	{ "memory cgroup holds HFI contexts (ENOMEM, no OOM kill)",
	  test_memory_cgroup_holds_contexts },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "cgroups", NULL, NULL, NULL, NULL, cgroup_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_cgroup", suites);
}
