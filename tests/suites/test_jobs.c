// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * What isolates jobs on the emulated fabric (uapi/rdma/drvops_hfi.h):
 * packets flow only between contexts of the same owner (euid, user
 * namespace) and the same job key. A receiver runs in a child process as
 * another user, or as the same user in another user namespace, with the
 * sender's job key; the sender must get EHOSTUNREACH for eager and
 * expected sends, and the receiver must see nothing arrive and its tid
 * buffer untouched. The same user with the same key is the control.
 *
 * Needs root: it switches users and makes a user namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl_hfi.h"

#define PAGE 4096
#define OTHER_UID 1001

enum receiver_kind {
	SAME_USER,
	OTHER_USER,
	OTHER_USERNS,
};

/* What the receiver tells the sender, and what it saw at the end. */
struct rx_info {
	uint16_t lid, ctxt;
	uint32_t tid;
	uint64_t rx_packets;
	int buf_intact;
	int err;
};

/* Become the receiver's identity. */
static int become(enum receiver_kind kind)
{
	switch (kind) {
	case SAME_USER:
		return 0;
	case OTHER_USER:
		if (setgroups(0, NULL) || setgid(OTHER_UID) || setuid(OTHER_UID))
			return -errno;
		return 0;
	case OTHER_USERNS:
		/* Same kuid (0 maps to 0), another user namespace. */
		if (unshare(CLONE_NEWUSER))
			return -errno;
		if (tl_write_file("/proc/self/setgroups", "deny") ||
		    tl_write_file("/proc/self/uid_map", "0 0 1") ||
		    tl_write_file("/proc/self/gid_map", "0 0 1"))
			return -EPERM;
		return 0;
	}
	return -EINVAL;
}

/* The child: a context on unit 1 with key A and a tid, then wait. */
static int receiver(enum receiver_kind kind, int to_parent, int from_parent)
{
	static uint8_t buf[PAGE] __attribute__((aligned(PAGE)));
	struct drvops_hfi_counters c = { .size = sizeof(c) };
	struct rx_info info = { 0 };
	struct drvops_hfi_ctx h;
	char go;

	memset(buf, 0x11, sizeof(buf));
	info.err = become(kind);
	if (!info.err)
		info.err = tl_hfi_open(&h, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0);
	if (!info.err)
		info.err = drvops_hfi_tid_register(&h, buf, sizeof(buf),
						   &info.tid);
	if (!info.err) {
		info.lid = h.info.lid;
		info.ctxt = h.info.ctxt;
	}
	if (write(to_parent, &info, sizeof(info)) != sizeof(info) || info.err)
		return 1;
	if (read(from_parent, &go, 1) != 1)
		return 2;
	info.err = drvops_hfi_counters(&h, &c);
	info.rx_packets = c.rx_packets;
	info.buf_intact = 1;
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != 0x11)
			info.buf_intact = 0;
	if (write(to_parent, &info, sizeof(info)) != sizeof(info))
		return 3;
	tl_hfi_close(&h);
	return 0;
}

struct outcome {
	int eager;		/* completion: 0 or -errcode */
	int expected;
	struct rx_info rx;	/* as the receiver saw it afterwards */
};

/* Sender on unit 0 with key A against a receiver of that kind. */
static void run_pair(enum receiver_kind kind, struct outcome *out)
{
	static uint8_t payload[256];
	int up[2], down[2], status;
	struct drvops_hfi_ctx h;
	struct rx_info info;
	struct iovec iov = { payload, sizeof(payload) };
	pid_t pid;
	int slot;

	memset(payload, 0x5a, sizeof(payload));
	CU_ASSERT_FATAL(pipe(up) == 0 && pipe(down) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(receiver(kind, up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	CU_ASSERT_FATAL(read(up[0], &info, sizeof(info)) == sizeof(info));
	if (info.err)
		fprintf(stderr, "\n  receiver setup: %s\n", strerror(-info.err));
	CU_ASSERT_FATAL(info.err == 0);

	TL_ASSERT_OK(tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	slot = drvops_hfi_send(&h, DRVOPS_HFI_OP_EAGER, info.lid, info.ctxt, 0,
			       0, NULL, &iov, 1);
	TL_ASSERT_OK(slot);
	out->eager = drvops_hfi_wait_slot(&h, slot);
	slot = drvops_hfi_send(&h, DRVOPS_HFI_OP_EXPECTED, info.lid, info.ctxt,
			       info.tid, 0, NULL, &iov, 1);
	TL_ASSERT_OK(slot);
	out->expected = drvops_hfi_wait_slot(&h, slot);
	tl_hfi_close(&h);

	CU_ASSERT_FATAL(write(down[1], "g", 1) == 1);
	CU_ASSERT_FATAL(read(up[0], &out->rx, sizeof(out->rx)) ==
			sizeof(out->rx));
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0);
	close(up[0]);
	close(down[1]);
}

static void test_same_user_same_key_delivers(void)
{
	struct outcome o;

	run_pair(SAME_USER, &o);
	CU_ASSERT_EQUAL(o.eager, 0);
	CU_ASSERT_EQUAL(o.expected, 0);
	CU_ASSERT_EQUAL(o.rx.rx_packets, 2);
	CU_ASSERT(!o.rx.buf_intact);	/* the expected send landed */
}

/* Another owner: both sends EHOSTUNREACH, nothing arrives or is written. */
static void expect_isolated(enum receiver_kind kind)
{
	struct outcome o;

	run_pair(kind, &o);
	CU_ASSERT_EQUAL(o.eager, -EHOSTUNREACH);
	CU_ASSERT_EQUAL(o.expected, -EHOSTUNREACH);
	CU_ASSERT_EQUAL(o.rx.rx_packets, 0);
	CU_ASSERT(o.rx.buf_intact);
}

static void test_other_user_unreachable(void)
{
	expect_isolated(OTHER_USER);
}

static void test_other_userns_unreachable(void)
{
	expect_isolated(OTHER_USERNS);
}

static CU_TestInfo job_tests[] = {
	{ "same user, same key: delivered", test_same_user_same_key_delivers },
	{ "other user, same key: EHOSTUNREACH, nothing written",
	  test_other_user_unreachable },
	{ "same uid in another user namespace: EHOSTUNREACH",
	  test_other_userns_unreachable },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "job isolation", NULL, NULL, NULL, NULL, job_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_jobs", suites);
}
