// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Lifetime of driver-ops fds: the uverbs fd closed first, the device
 * unregistered (rmmod of the driver) while fds are open and in use by
 * sleeping and busy threads, kill -9 of a process in the middle of work,
 * and get/close cycles that must leave nothing behind; on a debug kernel
 * also UNBIND racing the fd's teardown with the window held open by the
 * broker's fault injection (ib_drvops/delay_unbind_all).
 *
 * Dead means: ioctl/read/write/mmap fail with EIO, poll reports
 * POLLERR|POLLHUP, mapped pages fault with SIGBUS, close works, and the
 * broker's counters return to where they were.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "tl_hfi.h"
#include "tl_proc.h"

static struct tl_stats baseline;

static int read_baseline(void)
{
	return tl_read_stats(&baseline) ? -1 : 0;
}

static void assert_back_to_baseline(void)
{
	CU_ASSERT(tl_wait_stats(&baseline, 5000) == 0);
}

static int count_open_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (!access(path, F_OK))
			n++;
	}
	return n;
}

/* ---- probing a mapping ------------------------------------------------ */

/* ---- a v2 fd with a bound MR and a mapped ring ---------------------- */

struct ring_ctx {
	struct tl_ctx ctx;
	volatile uint32_t *ring;
	size_t ring_len;
};

static int open_with_ring(struct ring_ctx *rc)
{
	struct drvops_generic_ring_setup rs = {
		.size = sizeof(rs),
		.entries = 16,
	};
	int ret;

	memset(rc, 0, sizeof(*rc));
	ret = tl_ctx_open(&rc->ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			  1 << 20);
	if (ret)
		return ret;
	ret = tl_ioctl(rc->ctx.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs);
	if (ret)
		return ret;
	rc->ring = mmap(NULL, rs.mmap_length, PROT_READ | PROT_WRITE,
			MAP_SHARED, rc->ctx.ops_fd, rs.mmap_offset);
	if (rc->ring == MAP_FAILED)
		return -errno;
	rc->ring_len = rs.mmap_length;
	/* Populate it now: teardown must take the page away again. */
	return tl_probe_read(rc->ring) ? -EFAULT : 0;
}

static int close_live(struct ring_ctx *rc)
{
	munmap((void *)rc->ring, rc->ring_len);
	rc->ring = NULL;
	return tl_ctx_close(&rc->ctx);
}

/* After the uverbs fd is gone: only the fd, the mapping and memory remain. */
static void close_dead(struct ring_ctx *rc)
{
	if (rc->ring && rc->ring != MAP_FAILED)
		munmap((void *)rc->ring, rc->ring_len);
	if (rc->ctx.ops_fd >= 0)
		CU_ASSERT(close(rc->ctx.ops_fd) == 0);
	if (rc->ctx.uverbs_fd >= 0)
		close(rc->ctx.uverbs_fd);
	free(rc->ctx.buf);
	memset(rc, 0, sizeof(*rc));
}

static void assert_dead(int fd)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_info info = { .size = sizeof(info) };
	struct drvops_generic_completion c;
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	void *m;

	TL_ASSERT_ERR(tl_ioctl(fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop), EIO);
	TL_ASSERT_ERR(tl_ioctl(fd, DRVOPS_IOCTL_GET_INFO, &info), EIO);
	errno = 0;
	CU_ASSERT(read(fd, &c, sizeof(c)) == -1 && errno == EIO);
	errno = 0;
	CU_ASSERT(write(fd, &c, sizeof(c)) == -1 && errno == EIO);
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CU_ASSERT(m == MAP_FAILED && errno == EIO);
	CU_ASSERT(poll(&pfd, 1, 0) == 1);
	CU_ASSERT((pfd.revents & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP));
}

/* ---- threads that use an fd until it dies ----------------------------- */

enum worker_kind { W_READ, W_POLL, W_NOOP, W_COPY };

struct worker {
	pthread_t thread;
	enum worker_kind kind;
	int fd;
	uint32_t mr;		/* W_COPY: destination MR */
	volatile struct drvops_generic_ring_header *ring;	/* W_COPY */
	void *src;		/* W_COPY: source buffer */
	size_t len;		/* W_COPY */
	int result;		/* errno it ended with, or poll revents */
	atomic_int started;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_generic_completion c;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int ret;

	atomic_store(&w->started, 1);
	switch (w->kind) {
	case W_READ:
		/* Nothing is ever posted: this sleeps until teardown. */
		w->result = read(w->fd, &c, sizeof(c)) < 0 ? errno : 0;
		break;
	case W_POLL:
		w->result = poll(&pfd, 1, -1) == 1 ? pfd.revents : -1;
		break;
	case W_NOOP:
		while (!(ret = tl_ioctl(w->fd, DRVOPS_GENERIC_IOCTL_NOOP,
					&noop)))
			;
		w->result = -ret;
		break;
	case W_COPY:
		for (;;) {
			ret = tl_copy(w->fd, tl_user_buf(w->src),
				      tl_mr_buf(w->mr, 0), w->len, 0);
			if (ret == -ENOSPC) {
				/* Consume everything the ring holds. */
				w->ring->consumer = w->ring->producer;
				ret = 0;
			}
			if (ret)
				break;
		}
		w->result = -ret;
		break;
	}
	return NULL;
}

static int worker_start(struct worker *w, enum worker_kind kind, int fd)
{
	w->kind = kind;
	w->fd = fd;
	w->result = -1;
	atomic_store(&w->started, 0);
	if (pthread_create(&w->thread, NULL, worker_main, w))
		return -1;
	while (!atomic_load(&w->started))
		usleep(1000);
	return 0;
}

/* Joins within a generous bound: a worker that never wakes fails here. */
static int worker_join(struct worker *w)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	return pthread_timedjoin_np(w->thread, NULL, &ts);
}

/* Let the workers reach their sleep or their loop. */
static void settle(void)
{
	usleep(200000);
}

/* ---- the uverbs fd closed first --------------------------------------- */

static void test_uverbs_close_kills_fd_and_mapping(void)
{
	struct ring_ctx rc;

	TL_ASSERT_OK(open_with_ring(&rc));
	CU_ASSERT(close(rc.ctx.uverbs_fd) == 0);
	rc.ctx.uverbs_fd = -1;

	assert_dead(rc.ctx.ops_fd);
	CU_ASSERT(tl_probe_read(rc.ring) == SIGBUS);
	close_dead(&rc);
	assert_back_to_baseline();
}

static void test_uverbs_close_wakes_sleepers_and_drains_busy_threads(void)
{
	struct worker rd = {}, pl = {}, noop = {}, copy = {};
	struct tl_ctx v1;
	struct ring_ctx rc;
	int rd_fd, pl_fd;

	TL_ASSERT_OK(open_with_ring(&rc));
	/* Another context, which must not notice. */
	TL_ASSERT_OK(tl_ctx_open(&v1, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 0));
	/* v1 fds of the same context that never see a completion. */
	rd_fd = tl_get_fd(rc.ctx.uverbs_fd, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(rd_fd);
	pl_fd = tl_get_fd(rc.ctx.uverbs_fd, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(pl_fd);
	copy.mr = rc.ctx.mr;
	copy.ring = (void *)rc.ring;
	copy.len = 64 << 10;
	copy.src = calloc(1, copy.len);
	CU_ASSERT_FATAL(copy.src != NULL);

	CU_ASSERT_FATAL(worker_start(&rd, W_READ, rd_fd) == 0);
	CU_ASSERT_FATAL(worker_start(&pl, W_POLL, pl_fd) == 0);
	CU_ASSERT_FATAL(worker_start(&noop, W_NOOP, rc.ctx.ops_fd) == 0);
	CU_ASSERT_FATAL(worker_start(&copy, W_COPY, rc.ctx.ops_fd) == 0);
	settle();

	CU_ASSERT(close(rc.ctx.uverbs_fd) == 0);
	rc.ctx.uverbs_fd = -1;

	CU_ASSERT(worker_join(&rd) == 0);
	CU_ASSERT(worker_join(&pl) == 0);
	CU_ASSERT(worker_join(&noop) == 0);
	CU_ASSERT(worker_join(&copy) == 0);
	CU_ASSERT(rd.result == EIO);
	CU_ASSERT((pl.result & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP));
	CU_ASSERT(noop.result == EIO);
	CU_ASSERT(copy.result == EIO);

	/* The other context is untouched. */
	{
		struct drvops_generic_noop n = { .size = sizeof(n) };

		TL_ASSERT_OK(tl_ioctl(v1.ops_fd, DRVOPS_GENERIC_IOCTL_NOOP, &n));
	}
	CU_ASSERT(close(rd_fd) == 0);
	CU_ASSERT(close(pl_fd) == 0);
	close_dead(&rc);
	free(copy.src);
	CU_ASSERT(tl_ctx_close(&v1) == 0);
	assert_back_to_baseline();
}

/* ---- the device unregistered while in use ----------------------------- */

static void test_rmmod_with_fds_in_use(void)
{
	struct worker rd = {}, pl = {}, noop = {}, copy = {};
	struct tl_ctx legacy;
	struct ring_ctx rc;
	struct drvops_interface_entry e;
	unsigned total;
	int pl_fd;

	TL_ASSERT_OK(open_with_ring(&rc));
	TL_ASSERT_OK(tl_ctx_open(&legacy, TL_DEVICE_LEGACY,
				 DRVOPS_GENERIC_LEGACY_NAME, 1, 0));
	pl_fd = tl_get_fd(rc.ctx.uverbs_fd, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(pl_fd);
	copy.mr = rc.ctx.mr;
	copy.ring = (void *)rc.ring;
	copy.len = 64 << 10;
	copy.src = calloc(1, copy.len);
	CU_ASSERT_FATAL(copy.src != NULL);

	CU_ASSERT_FATAL(worker_start(&rd, W_READ, legacy.ops_fd) == 0);
	CU_ASSERT_FATAL(worker_start(&pl, W_POLL, pl_fd) == 0);
	CU_ASSERT_FATAL(worker_start(&noop, W_NOOP, rc.ctx.ops_fd) == 0);
	CU_ASSERT_FATAL(worker_start(&copy, W_COPY, rc.ctx.ops_fd) == 0);
	settle();

	/* Disassociate: returns without waiting for any of them. */
	TL_ASSERT_OK(tl_unload_generic());

	CU_ASSERT(worker_join(&rd) == 0);
	CU_ASSERT(worker_join(&pl) == 0);
	CU_ASSERT(worker_join(&noop) == 0);
	CU_ASSERT(worker_join(&copy) == 0);
	CU_ASSERT(rd.result == EIO);
	CU_ASSERT((pl.result & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP));
	CU_ASSERT(noop.result == EIO);
	CU_ASSERT(copy.result == EIO);

	assert_dead(rc.ctx.ops_fd);
	assert_dead(pl_fd);
	assert_dead(legacy.ops_fd);
	CU_ASSERT(tl_probe_read(rc.ring) == SIGBUS);
	/* The uverbs fd is disassociated too. */
	TL_ASSERT_ERR(drvops_query(rc.ctx.uverbs_fd, &e, 1, &total), EIO);

	close_dead(&rc);
	CU_ASSERT(close(pl_fd) == 0);
	CU_ASSERT(close(legacy.ops_fd) == 0);
	CU_ASSERT(close(legacy.uverbs_fd) == 0);
	free(copy.src);
	assert_back_to_baseline();

	/* And the driver comes back as new. */
	TL_ASSERT_OK(tl_load_generic());
	TL_ASSERT_OK(open_with_ring(&rc));
	CU_ASSERT(close_live(&rc) == 0);
	assert_back_to_baseline();
}

static void test_rmmod_with_closed_uverbs_and_open_fd(void)
{
	struct ring_ctx rc;

	/* The fd is already dead; unregistering must not touch it again. */
	TL_ASSERT_OK(open_with_ring(&rc));
	CU_ASSERT(close(rc.ctx.uverbs_fd) == 0);
	rc.ctx.uverbs_fd = -1;
	TL_ASSERT_OK(tl_unload_generic());
	assert_dead(rc.ctx.ops_fd);
	close_dead(&rc);
	TL_ASSERT_OK(tl_load_generic());
	assert_back_to_baseline();
}

/* ---- nothing leaks ----------------------------------------------------- */

static void test_get_close_1000_cycles(void)
{
	int uverbs_fd, fd, i, fds_before;

	uverbs_fd = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uverbs_fd);
	fds_before = count_open_fds();
	for (i = 0; i < 1000; i++) {
		fd = tl_get_fd(uverbs_fd, DRVOPS_GENERIC_NAME, 1 + (i & 1));
		if (fd < 0)
			break;
		close(fd);
	}
	CU_ASSERT(i == 1000);
	CU_ASSERT(count_open_fds() == fds_before);
	assert_back_to_baseline();
	CU_ASSERT(close(uverbs_fd) == 0);
}

static void test_uverbs_close_first_200_cycles(void)
{
	struct tl_ctx ctx;
	int i, ret = 0;

	for (i = 0; i < 200 && !ret; i++) {
		ret = tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				  2, 4096);
		if (ret)
			break;
		close(ctx.uverbs_fd);
		close(ctx.ops_fd);
		free(ctx.buf);
	}
	CU_ASSERT(ret == 0);
	assert_back_to_baseline();
}

/* ---- kill -9 --------------------------------------------------------- */

/* A child that sets everything up, says so, then works until killed. */
static void child_busy_until_killed(int ready_fd, size_t copy_len)
{
	struct worker rd = {};
	struct tl_ctx v1;
	struct ring_ctx rc;
	void *src;

	if (open_with_ring(&rc) ||
	    tl_ctx_open(&v1, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 1, 0) ||
	    worker_start(&rd, W_READ, v1.ops_fd))
		_exit(2);
	src = calloc(1, copy_len);
	if (!src || write(ready_fd, "r", 1) != 1)
		_exit(3);
	for (;;) {
		/* The ring fills; user->user copies need no room check. */
		if (tl_copy(rc.ctx.ops_fd, tl_user_buf(src),
			    tl_mr_buf(rc.ctx.mr, 0),
			    copy_len < rc.ctx.len ? copy_len : rc.ctx.len,
			    0) == -ENOSPC)
			((struct drvops_generic_ring_header *)rc.ring)->consumer =
				((struct drvops_generic_ring_header *)rc.ring)->producer;
	}
}

static void kill_child_at_work(size_t copy_len)
{
	int pipefd[2], status;
	char c;
	pid_t pid;

	CU_ASSERT_FATAL(pipe(pipefd) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		close(pipefd[0]);
		child_busy_until_killed(pipefd[1], copy_len);
	}
	close(pipefd[1]);
	CU_ASSERT(read(pipefd[0], &c, 1) == 1);
	close(pipefd[0]);
	settle();
	CU_ASSERT(kill(pid, SIGKILL) == 0);
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_back_to_baseline();
}

static void test_kill9_with_sleeping_reader_and_mapped_ring(void)
{
	kill_child_at_work(4096);
}

static void test_kill9_mid_copy(void)
{
	kill_child_at_work(1 << 20);
}

/* ---- UNBIND vs. the teardown of the fd, window held open */

#define INJECT_DIR "/sys/kernel/debug/ib_drvops/"

static int attr_set(const char *attr, const char *file, const char *value)
{
	char path[160];

	snprintf(path, sizeof(path), INJECT_DIR "%s/%s", attr, file);
	return tl_write_file(path, value);
}

/* One injected delay at the site, the next time it is reached. */
static int delay_once(const char *attr)
{
	return attr_set(attr, "verbose", "0") ||
	       attr_set(attr, "interval", "1") ||
	       attr_set(attr, "times", "1") ||
	       attr_set(attr, "probability", "100") ? -1 : 0;
}


struct closer {
	int fd;
	atomic_bool done;
};

static void *close_fd(void *p)
{
	struct closer *c = p;

	close(c->fd);
	atomic_store(&c->done, true);
	return NULL;
}

/*
 * drvops_unbind_all() (the fd's teardown) takes the binding off the list,
 * then sleeps 200 ms (injected) before it drops the MR. An UNBIND in that
 * window finds the binding already off the list: it must still wait for
 * the teardown to let go of the MR before it returns, since uverbs frees
 * the binding then and the caller may destroy the MR. Before that was
 * fixed UNBIND returned at once: DEREG_MR got EBUSY, and the teardown
 * resumed on the freed binding (a KASAN use-after-free).
 */
static void test_unbind_in_teardown_window(void)
{
	struct closer c = { 0 };
	struct tl_ctx ctx;
	struct timespec t0, t1;
	pthread_t th;
	long waited_ms;
	int ret;

	if (access(INJECT_DIR "delay_unbind_all/probability", W_OK)) {
		printf("  no fault injection (not a debug kernel): skipped\n");
		return;
	}
	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, "copy.generic", 2,
				 4096));
	TL_ASSERT_OK(delay_once("delay_unbind_all"));
	c.fd = ctx.ops_fd;
	ctx.ops_fd = -1;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, close_fd, &c) == 0);
	usleep(50 * 1000);		/* into the 200 ms window */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = drvops_unbind(ctx.uverbs_fd, ctx.binding);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Unbound means free: nothing holds the MR any more. */
	CU_ASSERT(ret == 0);
	TL_ASSERT_OK(drvops_dereg_mr(ctx.uverbs_fd, ctx.mr));
	waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("  UNBIND returned after %ld ms, the teardown %s then\n",
	       waited_ms, atomic_load(&c.done) ? "had ended" : "still ran");
	pthread_join(th, NULL);
	attr_set("delay_unbind_all", "probability", "0");
	ctx.have_binding = false;
	ctx.have_mr = false;
	TL_ASSERT_OK(tl_ctx_close(&ctx));
	assert_back_to_baseline();
}

struct toucher {
	const volatile uint8_t *p;
	int sig;
};

static void *touch_page(void *arg)
{
	struct toucher *t = arg;

	t->sig = tl_probe_read(t->p);
	return NULL;
}

/*
 * A page fault that is still on its way out when the fd dies: the handler
 * has mapped the page and released the fd, then sleeps (injected) while
 * the uverbs fd is closed and the kill zaps the mapping. Nothing may be
 * mapped afterwards. Before the fix the handler handed the page to the mm,
 * which mapped it only after the handler returned: after the zap, leaving
 * the dead context's page mapped.
 */
static void test_fault_in_kill_window(void)
{
	struct drvops_hfi_ctx h;
	struct toucher t;
	pthread_t th;
	size_t len;
	int present;

	if (access(INJECT_DIR "delay_fault/probability", W_OK)) {
		printf("  no fault injection (not a debug kernel): skipped\n");
		return;
	}
	TL_ASSERT_OK(tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	len = h.info.mmap_length[DRVOPS_HFI_MMAP_EAGER];
	t.p = h.eager;
	t.sig = -1;
	CU_ASSERT_FATAL(tl_pages_present(h.eager, len) == 0);
	TL_ASSERT_OK(delay_once("delay_fault"));
	CU_ASSERT_FATAL(pthread_create(&th, NULL, touch_page, &t) == 0);
	usleep(50 * 1000);		/* into the 200 ms sleep */
	close(h.uverbs_fd);		/* kill: zap while the fault sleeps */
	h.uverbs_fd = -1;
	pthread_join(th, NULL);
	attr_set("delay_fault", "probability", "0");
	present = tl_pages_present(h.eager, len);
	printf("  the read %s; %d page(s) mapped after the kill\n",
	       t.sig ? "got a signal (retried on a dead fd)" : "went through",
	       present);
	CU_ASSERT(present == 0);
	tl_hfi_close(&h);
	assert_back_to_baseline();
}

static CU_TestInfo inject_tests[] = {
	{ "UNBIND in the teardown's window waits for it",
	  test_unbind_in_teardown_window },
	{ "a fault on its way out when the fd dies maps nothing",
	  test_fault_in_kill_window },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo uverbs_close_tests[] = {
	{ "uverbs close kills fd and mapping",
	  test_uverbs_close_kills_fd_and_mapping },
	{ "uverbs close wakes sleepers and drains busy threads",
	  test_uverbs_close_wakes_sleepers_and_drains_busy_threads },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo leak_tests[] = {
	{ "get/close 1000 cycles", test_get_close_1000_cycles },
	{ "uverbs close first, 200 cycles", test_uverbs_close_first_200_cycles },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo kill_tests[] = {
	{ "kill -9 with sleeping reader and mapped ring",
	  test_kill9_with_sleeping_reader_and_mapped_ring },
	{ "kill -9 mid copy", test_kill9_mid_copy },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo unregister_tests[] = {
	{ "rmmod with fds in use", test_rmmod_with_fds_in_use },
	{ "rmmod with closed uverbs and open fd",
	  test_rmmod_with_closed_uverbs_and_open_fd },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "uverbs fd closed first", read_baseline, NULL, NULL, NULL,
	  uverbs_close_tests },
	{ "leaks", read_baseline, NULL, NULL, NULL, leak_tests },
	{ "kill -9", read_baseline, NULL, NULL, NULL, kill_tests },
	{ "unregister", read_baseline, NULL, NULL, NULL, unregister_tests },
	{ "fault injection", read_baseline, NULL, NULL, NULL, inject_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_lifetime", suites);
}
