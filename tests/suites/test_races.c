// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Races found in review, each driven from userspace the way an outside
 * tester (or a buggy program) can: several threads on one fd while
 * another makes a call whose reply copy fails, closes the fd or unbinds.
 * On the debug kernel a use-after-free here is a KASAN report, which
 * fails the run; the asserts check what userspace can see (errnos, that
 * nothing became visible before its call succeeded, counters, pinned
 * pages and fds back to baseline). Every loop is bounded in time.
 *
 *   assign     ASSIGN_CTXT whose reply copy fails vs. users of the fd
 *   tid        TID_REGISTER whose reply copy fails: no tid, no pin
 *   getfd      GET_FD whose last output fails vs. a thread dup'ing fds
 *   kill       a blocked reader and busy callers on one fd, uverbs close
 *   unbind     UNBIND vs. close of the driver-ops fd (unbind_all)
 *   tid_free   TID_FREE vs. UNBIND of the MR the tid lives in
 *   fault      page faults vs. kill: no page stays mapped
 *   lookup     deliveries vs. the release of the receiving context
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tl_fds.h"
#include "tl_hfi.h"
#include "tl_proc.h"

#define PAGE 4096UL
/* How long each racing loop runs: long enough for KASAN to see it. */
#define RACE_MS 1500

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A page holding *src, readable but not writable: reply copies fail. */
static void *readonly_copy(const void *src, size_t len)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	memcpy(p, src, len);
	CU_ASSERT_FATAL(mprotect(p, PAGE, PROT_READ) == 0);
	return p;
}

/* A driver-ops fd of an HFI unit without a context (tracked). */
static int hfi_ops_fd(int *uverbs_out)
{
	struct drvops_device_info dev;
	int ufd, fd;

	TL_ASSERT_OK(tl_hfi_find(TL_HFI_CURRENT, 0, &dev));
	ufd = drvops_open_device(&dev);
	TL_ASSERT_OK(ufd);
	TL_ASSERT_OK(drvops_get_context(ufd));
	tl_track_fd(ufd);
	fd = tl_get_fd(ufd, DRVOPS_HFI_NAME, 2);
	TL_ASSERT_OK(fd);
	tl_track_fd(fd);
	*uverbs_out = ufd;
	return fd;
}

/* ---- assign: nothing is visible before ASSIGN_CTXT can no longer fail */

struct users_arg {
	int fd;
	atomic_bool stop;
	atomic_long calls;
	atomic_long not_enxio;	/* calls that did not see "no context" */
	int last_bad;
};

static void note(struct users_arg *a, int ret)
{
	atomic_fetch_add(&a->calls, 1);
	if (ret != -ENXIO) {
		atomic_fetch_add(&a->not_enxio, 1);
		a->last_bad = ret;
	}
}

/* Everything that needs a context, in a loop: all must say ENXIO. */
static void *context_users(void *p)
{
	struct users_arg *a = p;
	static char buf[PAGE] __attribute__((aligned(4096)));
	struct drvops_hfi_sdma_req r = { .size = sizeof(r),
					 .opcode = DRVOPS_HFI_OP_EAGER,
					 .niov = 1, .dlid = 1, .length = 8 };
	struct iovec iov[2] = { { &r, sizeof(r) }, { buf, 8 } };

	while (!atomic_load(&a->stop)) {
		struct drvops_hfi_tid_register t = {
			.size = sizeof(t), .vaddr = (uintptr_t)buf,
			.length = PAGE };
		struct drvops_hfi_counters c = { .size = sizeof(c) };
		struct drvops_hfi_ctxt_info i = { .size = sizeof(i) };
		ssize_t n;

		note(a, tl_ioctl(a->fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &t));
		note(a, tl_ioctl(a->fd, DRVOPS_HFI_IOCTL_COUNTERS, &c));
		note(a, tl_ioctl(a->fd, DRVOPS_HFI_IOCTL_CTXT_INFO, &i));
		n = writev(a->fd, iov, 2);
		note(a, n < 0 ? -errno : (int)n);
	}
	return NULL;
}

static void test_assign_reply_fault(void)
{
	struct drvops_hfi_assign_ctxt a = { .size = sizeof(a) }, *ro;
	struct users_arg ua = { 0 };
	long vmlck = tl_vm_pinned_kb(), attempts = 0, efault = 0, t_end;
	pthread_t th;
	int ufd;

	memcpy(a.job_key, tl_hfi_job_a, sizeof(a.job_key));
	ro = readonly_copy(&a, sizeof(a));
	ua.fd = hfi_ops_fd(&ufd);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, context_users, &ua) == 0);
	t_end = now_ms() + RACE_MS;
	while (now_ms() < t_end) {
		int ret = tl_ioctl(ua.fd, DRVOPS_HFI_IOCTL_ASSIGN_CTXT, ro);

		attempts++;
		efault += ret == -EFAULT;
	}
	atomic_store(&ua.stop, true);
	pthread_join(th, NULL);
	printf("  %ld ASSIGN_CTXT (%ld EFAULT), %ld racing calls, %ld saw a context (last %d)\n",
	       attempts, efault, atomic_load(&ua.calls),
	       atomic_load(&ua.not_enxio), ua.last_bad);
	CU_ASSERT(efault == attempts);
	CU_ASSERT(atomic_load(&ua.not_enxio) == 0);
	CU_ASSERT(tl_vm_pinned_kb() == vmlck);
	/* The fd is as it was: a good ASSIGN now works. */
	TL_ASSERT_OK(tl_ioctl(ua.fd, DRVOPS_HFI_IOCTL_ASSIGN_CTXT, &a));
	munmap(ro, PAGE);
	tl_close_tracked();
}

/* ---- tid: a TID_REGISTER whose reply fails leaves no tid and no pin */

struct tid_free_arg {
	int fd;
	atomic_bool stop;
	atomic_long freed;	/* TID_FREE that found something */
};

static void *tid_freer(void *p)
{
	struct tid_free_arg *a = p;

	while (!atomic_load(&a->stop)) {
		for (uint32_t id = 1; id <= 8; id++) {
			struct drvops_hfi_tid_free f = { .size = sizeof(f),
							 .tid = id };

			if (!tl_ioctl(a->fd, DRVOPS_HFI_IOCTL_TID_FREE, &f))
				atomic_fetch_add(&a->freed, 1);
		}
	}
	return NULL;
}

static void test_tid_reply_fault(void)
{
	static char buf[4 * PAGE] __attribute__((aligned(4096)));
	struct drvops_hfi_assign_ctxt a = { .size = sizeof(a) };
	struct drvops_hfi_tid_register t = { .size = sizeof(t),
					     .vaddr = (uintptr_t)buf,
					     .length = sizeof(buf) }, *ro;
	struct tid_free_arg fa = { 0 };
	long vmlck, attempts = 0, efault = 0, t_end;
	pthread_t th;
	int ufd;

	fa.fd = hfi_ops_fd(&ufd);
	memcpy(a.job_key, tl_hfi_job_a, sizeof(a.job_key));
	TL_ASSERT_OK(tl_ioctl(fa.fd, DRVOPS_HFI_IOCTL_ASSIGN_CTXT, &a));
	vmlck = tl_vm_pinned_kb();
	ro = readonly_copy(&t, sizeof(t));
	CU_ASSERT_FATAL(pthread_create(&th, NULL, tid_freer, &fa) == 0);
	t_end = now_ms() + RACE_MS;
	while (now_ms() < t_end) {
		attempts++;
		efault += tl_ioctl(fa.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, ro) ==
			  -EFAULT;
	}
	atomic_store(&fa.stop, true);
	pthread_join(th, NULL);
	printf("  %ld TID_REGISTER (%ld EFAULT), TID_FREE found %ld\n",
	       attempts, efault, atomic_load(&fa.freed));
	CU_ASSERT(efault == attempts);
	CU_ASSERT(atomic_load(&fa.freed) == 0);
	CU_ASSERT(tl_vm_pinned_kb() == vmlck);
	/* The ids were never used up: a good registration still works. */
	TL_ASSERT_OK(tl_ioctl(fa.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &t));
	CU_ASSERT(tl_vm_pinned_kb() == vmlck + (long)sizeof(buf) / 1024);
	munmap(ro, PAGE);
	tl_close_tracked();
}

/* ---- getfd: no fd is ever installed by a GET_FD that fails */

struct dup_arg {
	atomic_bool stop;
	atomic_long seen;	/* driver-ops fds found */
	atomic_long looks;
};

/* Dups every fd number GET_FD could pick, as another thread of a program may. */
static void *fd_dupper(void *p)
{
	struct dup_arg *a = p;

	while (!atomic_load(&a->stop)) {
		for (int fd = 3; fd < 64; fd++) {
			int d = fcntl(fd, F_DUPFD_CLOEXEC, 100);

			if (d < 0)
				continue;
			atomic_fetch_add(&a->looks, 1);
			if (tl_is_drvops_fd(d))
				atomic_fetch_add(&a->seen, 1);
			close(d);
		}
	}
	return NULL;
}

static void test_getfd_output_fault(void)
{
	static const char names[] = DRVOPS_HFI_NAME;
	struct drvops_version_range range = { 1, 2 };
	struct dup_arg da = { 0 };
	struct tl_stats before, after;
	long attempts = 0, efault = 0, t_end;
	uint32_t *ro_version;
	int32_t fd_out;
	uint32_t index;
	pthread_t th;
	int ufd, fd;

	/* Any driver-ops fd the dupper finds would be one of ours. */
	fd = hfi_ops_fd(&ufd);
	tl_close_fd(fd);
	TL_ASSERT_OK(tl_read_stats(&before));
	ro_version = readonly_copy(&range, sizeof(range));
	CU_ASSERT_FATAL(pthread_create(&th, NULL, fd_dupper, &da) == 0);
	t_end = now_ms() + RACE_MS;
	while (now_ms() < t_end) {
		struct drvops_req req;
		int ret;

		drvops_req_init(&req, DRVOPS_OBJECT_BROKER,
				DRVOPS_METHOD_GET_FD);
		drvops_req_fd(&req, DRVOPS_ATTR_GET_FD_UVERBS_FD, ufd);
		drvops_req_in(&req, DRVOPS_ATTR_GET_FD_NAMES, names,
			      sizeof(names));
		drvops_req_in(&req, DRVOPS_ATTR_GET_FD_VERSIONS, &range,
			      sizeof(range));
		drvops_req_out(&req, DRVOPS_ATTR_GET_FD_FD, &fd_out,
			       sizeof(fd_out));
		drvops_req_out(&req, DRVOPS_ATTR_GET_FD_NAME_INDEX, &index,
			       sizeof(index));
		/* The last output cannot be written. */
		drvops_req_out(&req, DRVOPS_ATTR_GET_FD_VERSION, ro_version,
			       sizeof(*ro_version));
		ret = drvops_req_exec(ufd, &req);
		attempts++;
		efault += ret == -EFAULT;
		if (!ret)
			close(fd_out);
	}
	atomic_store(&da.stop, true);
	pthread_join(th, NULL);
	printf("  %ld GET_FD (%ld EFAULT), %ld fds looked at, %ld driver-ops fds seen\n",
	       attempts, efault, atomic_load(&da.looks), atomic_load(&da.seen));
	CU_ASSERT(efault == attempts);
	CU_ASSERT(atomic_load(&da.seen) == 0);
	TL_ASSERT_OK(tl_wait_stats(&before, 5000));
	TL_ASSERT_OK(tl_read_stats(&after));
	CU_ASSERT(after.live_files == before.live_files);
	munmap(ro_version, PAGE);
	tl_close_tracked();
}

/* ---- kill: teardown wins over callers that keep the fd busy */

struct busy_arg {
	int fd;
	atomic_bool stop;
	atomic_int eio;		/* callers that saw the fd die */
	atomic_long calls;
};

static void *busy_caller(void *p)
{
	struct busy_arg *a = p;

	while (!atomic_load(&a->stop)) {
		struct drvops_info info = { .size = sizeof(info) };
		int ret = tl_ioctl(a->fd, DRVOPS_IOCTL_GET_INFO, &info);

		atomic_fetch_add(&a->calls, 1);
		if (ret == -EIO) {
			atomic_fetch_add(&a->eio, 1);
			break;
		}
	}
	return NULL;
}

struct sleeper_arg {
	int fd;
	int ret;		/* read(): -errno */
	atomic_bool done;
};

static void *blocked_reader(void *p)
{
	struct sleeper_arg *s = p;
	struct drvops_generic_completion c;
	ssize_t n = read(s->fd, &c, sizeof(c));

	s->ret = n < 0 ? -errno : (int)n;
	atomic_store(&s->done, true);
	return NULL;
}

struct closer_arg {
	int fd;
	atomic_bool done;
};

static void *closer(void *p)
{
	struct closer_arg *c = p;

	close(c->fd);
	atomic_store(&c->done, true);
	return NULL;
}

static void nop_handler(int sig)
{
	(void)sig;
}

static void test_kill_with_busy_callers(void)
{
	enum { NBUSY = 3 };
	struct busy_arg ba = { 0 };
	struct sleeper_arg sa = { 0 };
	struct closer_arg ca = { 0 };
	struct sigaction nop = { .sa_handler = nop_handler }, old;
	pthread_t busy[NBUSY], sleeper, cl;
	struct tl_ctx ctx;
	long deadline;
	int i;

	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, "copy.generic", 2, 0));
	/* SIGINT interrupts a sleeper that teardown failed to wake. */
	sigaction(SIGINT, &nop, &old);
	ba.fd = sa.fd = ctx.ops_fd;
	CU_ASSERT_FATAL(pthread_create(&sleeper, NULL, blocked_reader, &sa) == 0);
	for (i = 0; i < NBUSY; i++)
		CU_ASSERT_FATAL(pthread_create(&busy[i], NULL, busy_caller, &ba) == 0);
	usleep(200 * 1000);
	CU_ASSERT(!atomic_load(&sa.done));	/* really blocked */
	ca.fd = ctx.uverbs_fd;
	ctx.uverbs_fd = -1;
	CU_ASSERT_FATAL(pthread_create(&cl, NULL, closer, &ca) == 0);
	deadline = now_ms() + 10000;
	while (now_ms() < deadline &&
	       !(atomic_load(&ca.done) && atomic_load(&sa.done)))
		usleep(10 * 1000);
	printf("  close done %d, sleeper done %d (%d), %ld busy calls, %d saw EIO\n",
	       atomic_load(&ca.done), atomic_load(&sa.done), sa.ret,
	       atomic_load(&ba.calls), atomic_load(&ba.eio));
	CU_ASSERT(atomic_load(&ca.done));
	CU_ASSERT(atomic_load(&sa.done));
	/* Let them go if teardown starved, so the suite can end. */
	atomic_store(&ba.stop, true);
	for (i = 0; i < NBUSY; i++)
		pthread_join(busy[i], NULL);
	pthread_join(cl, NULL);
	if (!atomic_load(&sa.done))
		pthread_kill(sleeper, SIGINT);
	pthread_join(sleeper, NULL);
	sigaction(SIGINT, &old, NULL);
	CU_ASSERT(sa.ret == -EIO);
	CU_ASSERT(atomic_load(&ba.eio) == NBUSY);
	tl_ctx_close(&ctx);
}

/* ---- unbind: UNBIND racing the death of the driver-ops fd */

struct unbind_arg {
	int uverbs_fd;
	uint32_t binding;
	int ret;
};

static void *unbinder(void *p)
{
	struct unbind_arg *u = p;

	u->ret = drvops_unbind(u->uverbs_fd, u->binding);
	return NULL;
}

static void test_unbind_vs_close(void)
{
	struct tl_stats base;
	long rounds = 0, t_end;

	TL_ASSERT_OK(tl_read_stats(&base));
	t_end = now_ms() + RACE_MS;
	while (now_ms() < t_end) {
		struct unbind_arg u;
		struct tl_ctx ctx;
		pthread_t th;

		TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT,
					 "copy.generic", 2, PAGE));
		u.uverbs_fd = ctx.uverbs_fd;
		u.binding = ctx.binding;
		CU_ASSERT_FATAL(pthread_create(&th, NULL, unbinder, &u) == 0);
		close(ctx.ops_fd);
		ctx.ops_fd = -1;
		pthread_join(th, NULL);
		/* Whichever came first, the binding is gone exactly once. */
		CU_ASSERT(u.ret == 0);
		ctx.have_binding = false;
		TL_ASSERT_OK(tl_ctx_close(&ctx));
		rounds++;
	}
	printf("  %ld rounds\n", rounds);
	TL_ASSERT_OK(tl_wait_stats(&base, 5000));
}

/* ---- tid_free: TID_FREE racing UNBIND of the tid's MR */

struct tidfree_arg {
	int fd;
	uint32_t tid;
	int ret;
};

static void *tid_free_once(void *p)
{
	struct tidfree_arg *a = p;
	struct drvops_hfi_tid_free f = { .size = sizeof(f), .tid = a->tid };

	a->ret = tl_ioctl(a->fd, DRVOPS_HFI_IOCTL_TID_FREE, &f);
	return NULL;
}

static void test_tid_free_vs_unbind(void)
{
	static char buf[2 * PAGE] __attribute__((aligned(4096)));
	struct drvops_hfi_ctx h;
	struct tl_stats base;
	long rounds = 0, freed = 0, t_end;
	uint32_t pd, mr, lkey, rkey;

	TL_ASSERT_OK(tl_read_stats(&base));
	TL_ASSERT_OK(tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	TL_ASSERT_OK(drvops_alloc_pd(h.uverbs_fd, &pd));
	TL_ASSERT_OK(drvops_reg_mr(h.uverbs_fd, pd, buf, sizeof(buf),
				   IB_UVERBS_ACCESS_LOCAL_WRITE, &mr, &lkey,
				   &rkey));
	t_end = now_ms() + RACE_MS;
	while (now_ms() < t_end) {
		struct tidfree_arg a = { .fd = h.fd };
		uint32_t binding;
		pthread_t th;
		int ret;

		TL_ASSERT_OK(drvops_bind(h.uverbs_fd, h.fd, DRVOPS_OBJ_MR, mr,
					 &binding));
		TL_ASSERT_OK(drvops_hfi_tid_register_mr(&h, mr, 0, PAGE,
							&a.tid));
		CU_ASSERT_FATAL(pthread_create(&th, NULL, tid_free_once, &a) == 0);
		ret = drvops_unbind(h.uverbs_fd, binding);
		pthread_join(th, NULL);
		CU_ASSERT(ret == 0);
		CU_ASSERT(a.ret == 0 || a.ret == -ENOENT);
		freed += a.ret == 0;
		rounds++;
	}
	printf("  %ld rounds, TID_FREE first in %ld\n", rounds, freed);
	/* Nothing holds the MR: it deregisters (no EBUSY, no leaked users). */
	TL_ASSERT_OK(drvops_dereg_mr(h.uverbs_fd, mr));
	TL_ASSERT_OK(drvops_dealloc_pd(h.uverbs_fd, pd));
	tl_hfi_close(&h);
	TL_ASSERT_OK(tl_wait_stats(&base, 5000));
}

/* ---- fault: page faults racing kill leave no page mapped */

static __thread sigjmp_buf fault_jmp;

static void fault_handler(int sig)
{
	siglongjmp(fault_jmp, sig);
}

struct toucher_arg {
	volatile const uint8_t *map;
	size_t len;
	atomic_bool stop;
	atomic_long faults;
	atomic_long sigbus;
};

/* Drops the pages and touches them again, over and over. */
static void *toucher(void *p)
{
	struct toucher_arg *t = p;

	while (!atomic_load(&t->stop)) {
		if (sigsetjmp(fault_jmp, 1)) {
			atomic_fetch_add(&t->sigbus, 1);
			continue;
		}
		madvise((void *)t->map, t->len, MADV_DONTNEED);
		for (size_t off = 0; off < t->len; off += PAGE)
			(void)t->map[off];
		atomic_fetch_add(&t->faults, 1);
	}
	return NULL;
}

/* Pages of [p, p+len) with a present PTE, from /proc/self/pagemap. */
static void test_fault_vs_kill(void)
{
	struct sigaction sa = { .sa_handler = fault_handler }, old;
	long rounds = 0, faults = 0, sigbus = 0, t_end;
	int present = 0;

	sigaction(SIGBUS, &sa, &old);
	t_end = now_ms() + RACE_MS;
	while (now_ms() < t_end) {
		struct toucher_arg ta = { 0 };
		struct drvops_hfi_ctx h;
		pthread_t th;

		TL_ASSERT_OK(tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a,
					 0));
		ta.map = (const uint8_t *)h.eager;
		ta.len = h.info.mmap_length[DRVOPS_HFI_MMAP_EAGER];
		CU_ASSERT_FATAL(pthread_create(&th, NULL, toucher, &ta) == 0);
		usleep(20 * 1000);
		/* Kill: close the uverbs fd while the thread faults. */
		close(h.uverbs_fd);
		h.uverbs_fd = -1;
		present += tl_pages_present((const void *)ta.map, ta.len);
		atomic_store(&ta.stop, true);
		pthread_join(th, NULL);
		faults += atomic_load(&ta.faults);
		sigbus += atomic_load(&ta.sigbus);
		tl_hfi_close(&h);
		rounds++;
	}
	sigaction(SIGBUS, &old, NULL);
	printf("  %ld rounds, %ld fault passes, %ld SIGBUS, %d pages mapped after kill\n",
	       rounds, faults, sigbus, present);
	CU_ASSERT(present == 0);
	CU_ASSERT(sigbus > 0);
}

/* ---- lookup: deliveries vs. the release of the receiving context ---- */

struct lookup_sender {
	struct drvops_hfi_ctx h;
	atomic_bool *stop;
	atomic_uint *dest;	/* lid << 16 | ctxt of the receiver now */
	long delivered, refused, bad;
	int last_bad;
};

/* Eager 8 B to whatever context the receiver has now, until stopped. */
static void *lookup_send(void *p)
{
	struct lookup_sender *s = p;
	char payload[8] = "lookup!";
	struct iovec iov = { payload, sizeof(payload) };

	while (!atomic_load(s->stop)) {
		unsigned int d = atomic_load(s->dest);
		int slot = drvops_hfi_send(&s->h, DRVOPS_HFI_OP_EAGER,
					   (uint16_t)(d >> 16),
					   (uint16_t)d, 0, 0, NULL, &iov, 1);
		int st = slot < 0 ? slot : drvops_hfi_wait_slot(&s->h, slot);

		if (!st) {
			s->delivered++;
		} else if (st == -EHOSTUNREACH || st == -ENOBUFS) {
			s->refused++;	/* gone, or not consuming */
		} else {
			s->bad++;
			s->last_bad = st;
		}
	}
	return NULL;
}

/*
 * Two senders (own contexts) stream to a receiving context that is closed
 * and assigned again, over and over, at the same (LID, context) or the
 * next: every send is delivered, or refused with EHOSTUNREACH (gone) or
 * ENOBUFS (its ring full), never anything else, and on the debug kernel
 * no lookup touches a released context (KASAN).
 */
static void test_lookup_vs_release(void)
{
	struct lookup_sender s[2];
	atomic_bool stop = false;
	atomic_uint dest;
	struct drvops_hfi_ctx rx;
	pthread_t th[2];
	long end, cycles = 0;
	unsigned int i;

	TL_ASSERT_OK(tl_hfi_open(&rx, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0));
	atomic_init(&dest, (unsigned int)rx.info.lid << 16 | rx.info.ctxt);
	for (i = 0; i < 2; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		TL_ASSERT_OK(tl_hfi_open(&s[i].h, TL_HFI_CURRENT, 0,
					 tl_hfi_job_a, 0));
		s[i].stop = &stop;
		s[i].dest = &dest;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, lookup_send,
					       &s[i]) == 0);
	}
	end = now_ms() + RACE_MS;
	while (now_ms() < end) {
		usleep(1000);
		tl_hfi_close(&rx);
		usleep(500);
		TL_ASSERT_OK(tl_hfi_open(&rx, TL_HFI_CURRENT, 1, tl_hfi_job_a,
					 0));
		atomic_store(&dest,
			     (unsigned int)rx.info.lid << 16 | rx.info.ctxt);
		cycles++;
	}
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT(s[i].bad == 0);
		if (s[i].bad)
			printf("\n  sender %u: %ld unexpected, last %d\n", i,
			       s[i].bad, s[i].last_bad);
		CU_ASSERT(s[i].delivered + s[i].refused > 0);
		tl_hfi_close(&s[i].h);
	}
	CU_ASSERT(cycles >= 10);
	tl_hfi_close(&rx);
}

/*
 * A driver-ops mapping stays the creator's: MADV_DOFORK cannot make a
 * child inherit it (the child has nothing mapped there), and nobody can
 * pin its pages (a tid over it is EFAULT).
 */
static void test_mapping_stays_private(void)
{
	struct drvops_hfi_ctx h;
	uint32_t tid;
	size_t len;
	int status;
	pid_t pid;

	TL_ASSERT_OK(tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	len = h.info.mmap_length[DRVOPS_HFI_MMAP_USER];
	CU_ASSERT(madvise((void *)h.user, len, MADV_DOFORK) == -1 &&
		  errno == EINVAL);
	TL_ASSERT_ERR(drvops_hfi_tid_register(&h, (void *)h.user, len, &tid),
		      EFAULT);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(tl_probe_read((const void *)h.user) == SIGSEGV ? 0 : 1);
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0);
	tl_hfi_close(&h);
}

static CU_TestInfo race_tests[] = {
	{ "ASSIGN_CTXT reply fault vs. users of the fd", test_assign_reply_fault },
	{ "TID_REGISTER reply fault: no tid, no pin", test_tid_reply_fault },
	{ "GET_FD output fault vs. dup: no fd ever visible", test_getfd_output_fault },
	{ "kill wins over busy callers and wakes a sleeper", test_kill_with_busy_callers },
	{ "UNBIND vs. close of the driver-ops fd", test_unbind_vs_close },
	{ "TID_FREE vs. UNBIND of its MR", test_tid_free_vs_unbind },
	{ "page faults vs. kill leave nothing mapped", test_fault_vs_kill },
	{ "deliveries vs. release of the receiving context",
	  test_lookup_vs_release },
	{ "mappings: no MADV_DOFORK, no pinning, not in a child",
	  test_mapping_stays_private },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "races", NULL, NULL, NULL, NULL, race_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_races", suites);
}
