// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Fault injection, the way iommufd's fail_nth selftest does it: every call
 * that creates something (GET_FD, BIND, RING_SETUP, ASSIGN_CTXT,
 * TID_REGISTER, TID_REGISTER_MR, writev) is made again and again with the
 * N-th fault site of this thread failing (/proc/thread-self/fail-nth:
 * slab allocations and user copies), for N = 1, 2, ... until the call
 * gets through without reaching the N-th site. After every failed call
 * the state must be exactly as before: no fd, binding, context, tid, slot,
 * pinned page or counter left behind, and the same call works at once.
 *
 * Debug kernel only (needs CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAULT_INJECTION_USERCOPY and their debugfs); needs root to configure
 * them. Page-allocation faults are not injected: the page allocator
 * prints a warning with a stack trace on every failure, by design, which
 * the test bed would count as a kernel report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tl_fds.h"
#include "tl_hfi.h"

#define PAGE 4096
/* More fault sites than any call here reaches (uverbs core included). */
#define MAX_NTH 400

static int nth_fd = -1;

/* Slab and user-copy faults count for fail-nth; nothing is printed. */
static int setup_fault_injection(void)
{
	static const char *const settings[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_usercopy/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	unsigned i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (tl_write_file(settings[i][0], settings[i][1])) {
			fprintf(stderr, "cannot set %s\n", settings[i][0]);
			return -1;
		}
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	return nth_fd < 0 ? -1 : 0;
}

static int cleanup_fault_injection(void)
{
	if (nth_fd >= 0)
		close(nth_fd);
	nth_fd = -1;
	return tl_write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "Y") ? -1 : 0;
}

static void nth_arm(unsigned n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	CU_ASSERT_FATAL(pwrite(nth_fd, buf, len, 0) == len);
}

/*
 * Disarm; true if the armed fault was used up by the call (the counter
 * reads 0). The read and the write are fault sites themselves: a fault
 * that hits them (EFAULT) was not used by the call.
 */
static bool nth_disarm(void)
{
	char buf[16] = "";
	bool used;
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	used = n > 0 && buf[0] == '0';
	if (n < 0 && errno == EFAULT)
		used = false;
	while (pwrite(nth_fd, "0", 1, 0) != 1)
		CU_ASSERT_FATAL(errno == EFAULT);
	return used;
}

/* The errnos a call may answer an injected fault with. */
static bool fault_errno(int ret)
{
	return ret == -ENOMEM || ret == -EFAULT;
}

/* What must be the same after a failed call. */
struct snapshot {
	struct tl_stats stats;
	int fds;
	long vm_pinned_kb;
};

static void snap(struct snapshot *s)
{
	TL_ASSERT_OK(tl_read_stats(&s->stats));
	s->fds = tl_count_open_fds();
	s->vm_pinned_kb = tl_vm_pinned_kb();
}

static bool same(const struct snapshot *a, const struct snapshot *b)
{
	bool ok = a->stats.files == b->stats.files &&
		  a->stats.live_files == b->stats.live_files &&
		  a->stats.bindings == b->stats.bindings && a->fds == b->fds &&
		  a->vm_pinned_kb == b->vm_pinned_kb;

	if (!ok)
		fprintf(stderr, "\n  state changed: files %ld->%ld live %ld->%ld "
			"bindings %ld->%ld fds %d->%d VmPin %ld->%ld\n",
			a->stats.files, b->stats.files, a->stats.live_files,
			b->stats.live_files, a->stats.bindings,
			b->stats.bindings, a->fds, b->fds, a->vm_pinned_kb,
			b->vm_pinned_kb);
	return ok;
}

/*
 * One operation under test: prepare (no faults), the call (faults armed),
 * check that a failure left nothing (and the call works at once), undo.
 */
struct op {
	const char *name;
	int (*prepare)(void *st);
	int (*call)(void *st);		/* 0 or -errno */
	void (*check_failed)(void *st);	/* after a failure: as before */
	void (*undo)(void *st);		/* after success or failure */
};

static void run_op(const struct op *op, void *st)
{
	unsigned n, failures = 0, odd = 0;
	struct snapshot base, before, after;

	snap(&base);
	for (n = 1; n <= MAX_NTH; n++) {
		bool used;
		int ret;

		TL_ASSERT_OK(op->prepare(st));
		snap(&before);
		nth_arm(n);
		ret = op->call(st);
		used = nth_disarm();
		if (ret) {
			failures++;
			if (!fault_errno(ret)) {
				odd++;
				fprintf(stderr, "\n  %s nth %u: %s\n", op->name, n,
					strerror(-ret));
			}
			snap(&after);
			CU_ASSERT(same(&before, &after));
			op->check_failed(st);
		}
		op->undo(st);
		if (!used) {
			CU_ASSERT(ret == 0);
			break;
		}
	}
	printf("  %s: %u fault sites, %u failed calls\n", op->name, n - 1,
	       failures);
	CU_ASSERT(n <= MAX_NTH);
	CU_ASSERT(odd == 0);
	TL_ASSERT_OK(tl_wait_stats(&base.stats, 5000));
	snap(&after);
	CU_ASSERT(same(&base, &after));
}

/* ---- copy.generic: GET_FD, BIND, RING_SETUP */

struct gen_state {
	struct tl_ctx ctx;
	int fd;				/* GET_FD's result */
	uint32_t binding;
	struct drvops_generic_ring_setup rs;
};

static int gen_prepare_uverbs(void *p)
{
	struct gen_state *s = p;

	s->fd = -1;
	return tl_ctx_open(&s->ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			   0);
}

static int getfd_call(void *p)
{
	struct gen_state *s = p;

	s->fd = tl_get_fd(s->ctx.uverbs_fd, DRVOPS_GENERIC_NAME, 2);
	return s->fd < 0 ? s->fd : 0;
}

static void getfd_check(void *p)
{
	struct gen_state *s = p;
	int fd = tl_get_fd(s->ctx.uverbs_fd, DRVOPS_GENERIC_NAME, 2);

	TL_ASSERT_OK(fd);
	close(fd);
}

static void gen_undo(void *p)
{
	struct gen_state *s = p;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	CU_ASSERT(tl_ctx_close(&s->ctx) == 0);
}

static int bind_prepare(void *p)
{
	struct gen_state *s = p;
	int ret;

	s->fd = -1;
	ret = tl_ctx_open(&s->ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			  2 * PAGE);
	if (ret)
		return ret;
	/* tl_ctx_open bound the MR: start unbound. */
	ret = drvops_unbind(s->ctx.uverbs_fd, s->ctx.binding);
	s->ctx.have_binding = false;
	return ret;
}

static int bind_call(void *p)
{
	struct gen_state *s = p;
	int ret = drvops_bind(s->ctx.uverbs_fd, s->ctx.ops_fd, DRVOPS_OBJ_MR,
			      s->ctx.mr, &s->binding);

	if (!ret) {
		s->ctx.binding = s->binding;
		s->ctx.have_binding = true;
	}
	return ret;
}

static void bind_check(void *p)
{
	struct gen_state *s = p;

	TL_ASSERT_OK(bind_call(s));
}

static int ring_prepare(void *p)
{
	struct gen_state *s = p;

	memset(&s->rs, 0, sizeof(s->rs));
	s->rs.size = sizeof(s->rs);
	s->rs.entries = 64;
	return gen_prepare_uverbs(p);
}

static int ring_call(void *p)
{
	struct gen_state *s = p;

	return tl_ioctl(s->ctx.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &s->rs);
}

static void ring_check(void *p)
{
	TL_ASSERT_OK(ring_call(p));	/* not EEXIST: nothing was made */
}

/* ---- HFI: ASSIGN_CTXT, TID_REGISTER, TID_REGISTER_MR, writev */

struct hfi_state {
	int uverbs_fd, fd;
	struct drvops_hfi_ctx h;	/* assigned (tid, writev) */
	uint32_t tid, pd, mr, binding;
	uint8_t *buf;
	bool have_h;
};

static int assign_prepare(void *p)
{
	struct hfi_state *s = p;
	struct drvops_device_info dev;
	int ret = tl_hfi_find(TL_HFI_CURRENT, 0, &dev);

	if (ret)
		return ret;
	s->uverbs_fd = drvops_open_device(&dev);
	if (s->uverbs_fd < 0)
		return s->uverbs_fd;
	ret = drvops_get_context(s->uverbs_fd);
	if (ret)
		return ret;
	s->fd = tl_get_fd(s->uverbs_fd, DRVOPS_HFI_NAME, 2);
	return s->fd < 0 ? s->fd : 0;
}

static int assign_call(void *p)
{
	struct hfi_state *s = p;
	struct drvops_hfi_assign_ctxt a = { .size = sizeof(a) };

	memcpy(a.job_key, tl_hfi_job_a, sizeof(a.job_key));
	return tl_ioctl(s->fd, DRVOPS_HFI_IOCTL_ASSIGN_CTXT, &a);
}

static void assign_check(void *p)
{
	struct hfi_state *s = p;
	struct drvops_hfi_counters c = { .size = sizeof(c) };

	/* No context on the fd (ENXIO), and one can be assigned now. */
	TL_ASSERT_ERR(tl_ioctl(s->fd, DRVOPS_HFI_IOCTL_COUNTERS, &c), ENXIO);
	TL_ASSERT_OK(assign_call(s));
}

static void assign_undo(void *p)
{
	struct hfi_state *s = p;

	close(s->fd);
	close(s->uverbs_fd);
}

static int ctx_prepare(void *p)
{
	struct hfi_state *s = p;
	int ret = tl_hfi_open(&s->h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0);

	s->have_h = !ret;
	s->tid = 0;
	s->binding = 0;
	return ret;
}

static void ctx_undo(void *p)
{
	struct hfi_state *s = p;

	if (s->binding)
		CU_ASSERT(drvops_unbind(s->h.uverbs_fd, s->binding) == 0);
	if (s->mr)
		CU_ASSERT(drvops_dereg_mr(s->h.uverbs_fd, s->mr) == 0);
	if (s->pd)
		CU_ASSERT(drvops_dealloc_pd(s->h.uverbs_fd, s->pd) == 0);
	s->binding = s->mr = s->pd = 0;
	if (s->have_h)
		tl_hfi_close(&s->h);
	s->have_h = false;
}

static int tid_call(void *p)
{
	struct hfi_state *s = p;

	return drvops_hfi_tid_register(&s->h, s->buf, 4 * PAGE, &s->tid);
}

/* No tid was left: ids 1..8 are all unknown, and registering works. */
static void tid_check(void *p)
{
	struct hfi_state *s = p;
	uint32_t id;

	for (id = 1; id <= 8; id++)
		TL_ASSERT_ERR(drvops_hfi_tid_free(&s->h, id), ENOENT);
	TL_ASSERT_OK(tid_call(s));
	TL_ASSERT_OK(drvops_hfi_tid_free(&s->h, s->tid));
}

static int tid_mr_prepare(void *p)
{
	struct hfi_state *s = p;
	int ret = ctx_prepare(p);

	if (!ret)
		ret = drvops_alloc_pd(s->h.uverbs_fd, &s->pd);
	if (!ret)
		ret = drvops_reg_mr(s->h.uverbs_fd, s->pd, s->buf, 4 * PAGE,
				    IB_UVERBS_ACCESS_LOCAL_WRITE, &s->mr, NULL,
				    NULL);
	if (!ret)
		ret = drvops_bind(s->h.uverbs_fd, s->h.fd, DRVOPS_OBJ_MR, s->mr,
				  &s->binding);
	return ret;
}

static int tid_mr_call(void *p)
{
	struct hfi_state *s = p;

	return drvops_hfi_tid_register_mr(&s->h, s->mr, 0, 4 * PAGE, &s->tid);
}

static void tid_mr_check(void *p)
{
	struct hfi_state *s = p;
	uint32_t id;

	for (id = 1; id <= 8; id++)
		TL_ASSERT_ERR(drvops_hfi_tid_free(&s->h, id), ENOENT);
	TL_ASSERT_OK(tid_mr_call(s));
	TL_ASSERT_OK(drvops_hfi_tid_free(&s->h, s->tid));
}

/* An eager message to ourselves. */
static int send_call(void *p)
{
	struct hfi_state *s = p;
	struct iovec iov = { s->buf, 2 * PAGE };
	int slot = drvops_hfi_send(&s->h, DRVOPS_HFI_OP_EAGER, s->h.info.lid,
				   s->h.info.ctxt, 0, 0, NULL, &iov, 1);

	if (slot < 0)
		return slot;
	return drvops_hfi_wait_slot(&s->h, slot);
}

/* Slot 0 is not left QUEUED; the next send goes through. */
static void send_check(void *p)
{
	struct hfi_state *s = p;

	CU_ASSERT(drvops_hfi_slot_status(&s->h, 0) != 1);
	TL_ASSERT_OK(send_call(s));
}

static void test_generic_ops(void)
{
	static const struct op ops[] = {
		{ "GET_FD", gen_prepare_uverbs, getfd_call, getfd_check,
		  gen_undo },
		{ "BIND", bind_prepare, bind_call, bind_check, gen_undo },
		{ "RING_SETUP", ring_prepare, ring_call, ring_check, gen_undo },
	};
	struct gen_state s;
	unsigned i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		memset(&s, 0, sizeof(s));
		run_op(&ops[i], &s);
	}
}

static void test_hfi_ops(void)
{
	static const struct op ops[] = {
		{ "ASSIGN_CTXT", assign_prepare, assign_call, assign_check,
		  assign_undo },
		{ "TID_REGISTER", ctx_prepare, tid_call, tid_check, ctx_undo },
		{ "TID_REGISTER_MR", tid_mr_prepare, tid_mr_call, tid_mr_check,
		  ctx_undo },
		{ "writev (eager send)", ctx_prepare, send_call, send_check,
		  ctx_undo },
	};
	struct hfi_state s;
	uint8_t *buf = aligned_alloc(PAGE, 4 * PAGE);
	unsigned i;

	CU_ASSERT_FATAL(buf != NULL);
	memset(buf, 0x3c, 4 * PAGE);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		memset(&s, 0, sizeof(s));
		s.buf = buf;
		run_op(&ops[i], &s);
	}
	free(buf);
}

static int suite_init(void)
{
	return setup_fault_injection();
}

static int suite_cleanup(void)
{
	return cleanup_fault_injection();
}

static CU_TestInfo failnth_tests[] = {
	{ "copy.generic: GET_FD, BIND, RING_SETUP", test_generic_ops },
	{ "HFI: ASSIGN_CTXT, TID_REGISTER(_MR), writev", test_hfi_ops },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "fail-nth", suite_init, suite_cleanup, NULL, NULL, failnth_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_failnth", suites);
}
