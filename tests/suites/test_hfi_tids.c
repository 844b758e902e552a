// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Tids that follow their mapping (sdma.opa 4, DRVOPS_HFI_TID_NOTIFY), what
 * a registration cache relies on: whatever unmaps or replaces the pages of
 * a tid's range makes it stale (the user page says so; transfers still
 * land, in the pages the tid pinned), whatever leaves the pages in place
 * does not, and a new registration at the same address sees the new
 * pages. Also the
 * teardown orders: the process exits (its mm goes before its fds), the
 * uverbs fd is closed first, munmap races a stream of transfers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl_hfi.h"

#define TIMEOUT_MS 10000
#define PG 4096

struct pair {
	struct drvops_hfi_ctx tx, rx;	/* tx on unit 0, rx on unit 1 */
};

static int pair_open(struct pair *p, uint32_t rx_max_version)
{
	int ret = tl_hfi_open(&p->tx, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0);

	if (ret)
		return ret;
	ret = tl_hfi_open(&p->rx, TL_HFI_CURRENT, 1, tl_hfi_job_a,
			  rx_max_version);
	if (ret)
		tl_hfi_close(&p->tx);
	return ret;
}

static void pair_close(struct pair *p)
{
	tl_hfi_close(&p->tx);
	tl_hfi_close(&p->rx);
}

static uint8_t *map_pages(size_t n)
{
	void *b = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return b == MAP_FAILED ? NULL : b;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 13 + seed);
}

static bool filled(const uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (uint8_t)(i * 13 + seed))
			return false;
	return true;
}

/* One expected message of n bytes into (tid, off): 0 or -errcode. */
static int put(struct pair *p, uint32_t tid, uint64_t off, const void *src,
	       size_t n)
{
	struct iovec iov = { (void *)src, n };
	int slot = drvops_hfi_send(&p->tx, DRVOPS_HFI_OP_EXPECTED,
				   (uint16_t)p->rx.info.lid,
				   (uint16_t)p->rx.info.ctxt, tid, off, NULL,
				   &iov, 1);

	return slot < 0 ? slot : drvops_hfi_wait_slot(&p->tx, slot);
}

/* put() that must land: its RHQ entry is there and consumed. */
static int put_landed(struct pair *p, uint32_t tid, const void *src, size_t n)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	int ret = put(p, tid, 0, src, n);

	if (ret)
		return ret;
	ret = tl_hfi_recv(&p->rx, &e, TIMEOUT_MS);
	if (ret)
		return ret;
	ret = e->tid == tid && e->length == n ? 0 : -EBADMSG;
	drvops_hfi_consume(&p->rx, e);
	return ret;
}

static int reg(struct pair *p, void *b, size_t len, uint32_t *tid)
{
	return drvops_hfi_tid_register_notify(&p->rx, b, len, tid);
}

static void test_notify_needs_version_4(void)
{
	struct drvops_hfi_tid_register r;
	struct pair p;
	uint8_t *b = map_pages(1);
	uint32_t tid;

	CU_ASSERT_FATAL(b != NULL);
	TL_ASSERT_OK(pair_open(&p, 3));
	CU_ASSERT(p.rx.version == 3 && !drvops_hfi_has_tid_notify(&p.rx));
	TL_ASSERT_ERR(reg(&p, b, PG, &tid), EOPNOTSUPP);
	pair_close(&p);

	TL_ASSERT_OK(pair_open(&p, 0));
	CU_ASSERT(p.rx.version == 4 && drvops_hfi_has_tid_notify(&p.rx));
	r = (struct drvops_hfi_tid_register){ .size = sizeof(r),
		.flags = DRVOPS_HFI_TID_NOTIFY << 1, .vaddr = (uintptr_t)b,
		.length = PG };
	TL_ASSERT_ERR(tl_ioctl(p.rx.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &r),
		      EOPNOTSUPP);
	r.flags = DRVOPS_HFI_TID_NOTIFY;
	TL_ASSERT_OK(tl_ioctl(p.rx.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &r));
	CU_ASSERT(r.tid >= 1 && r.tid <= DRVOPS_HFI_MAX_TIDS);
	CU_ASSERT(!drvops_hfi_tid_stale(&p.rx, r.tid));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, r.tid));
	pair_close(&p);
	munmap(b, PG);
}

/*
 * TID_REGISTER with NOTIFY is the same size-extensible struct (short:
 * EINVAL, non-zero tail: E2BIG, zero tail: the same result); a reply that
 * cannot be written undoes the registration: nothing pinned, the id free
 * again, and a munmap of the range afterwards finds no notifier.
 */
static void test_notify_length_and_unwritable_reply(void)
{
	uint8_t *b = map_pages(2), *ro;
	struct {
		struct drvops_hfi_tid_register r;
		uint8_t tail[8];
	} buf;
	struct drvops_hfi_tid_register r;
	long pinned0;
	struct pair p;
	uint32_t tid;

	CU_ASSERT_FATAL(b != NULL);
	TL_ASSERT_OK(pair_open(&p, 0));
	pinned0 = tl_vm_pinned_kb();
	r = (struct drvops_hfi_tid_register){ .size = sizeof(r),
		.flags = DRVOPS_HFI_TID_NOTIFY, .vaddr = (uintptr_t)b,
		.length = 2 * PG, .tid = 0xdeadbeef };
	memset(&buf, 0, sizeof(buf));
	buf.r = r;
	buf.r.size = sizeof(r) - 1;
	TL_ASSERT_ERR(tl_ioctl(p.rx.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &buf),
		      EINVAL);
	buf.r.size = sizeof(r) + 1;
	buf.tail[0] = 0xff;
	TL_ASSERT_ERR(tl_ioctl(p.rx.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &buf),
		      E2BIG);
	CU_ASSERT(buf.r.tid == 0xdeadbeef && tl_vm_pinned_kb() == pinned0);
	buf.tail[0] = 0;
	TL_ASSERT_OK(tl_ioctl(p.rx.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &buf));
	CU_ASSERT(buf.r.tid == 1 && !drvops_hfi_tid_stale(&p.rx, 1));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, buf.r.tid));
	CU_ASSERT(tl_vm_pinned_kb() == pinned0);

	ro = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(ro != MAP_FAILED);
	memcpy(ro, &r, sizeof(r));
	CU_ASSERT_FATAL(mprotect(ro, PG, PROT_READ) == 0);
	TL_ASSERT_ERR(tl_ioctl(p.rx.fd, DRVOPS_HFI_IOCTL_TID_REGISTER, ro),
		      EFAULT);
	CU_ASSERT(tl_vm_pinned_kb() == pinned0);
	TL_ASSERT_OK(reg(&p, b, 2 * PG, &tid));
	CU_ASSERT(tid == 1);			/* the undone id is free */
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid));
	CU_ASSERT(munmap(b, 2 * PG) == 0);
	CU_ASSERT(tl_vm_pinned_kb() == pinned0);
	pair_close(&p);
	munmap(ro, PG);
}

struct churner {
	struct pair *p;
	unsigned rounds;
	int bad;
};

/* Map, register, check, unmap, check stale, free: over and over. */
static void *churn(void *arg)
{
	struct churner *c = arg;
	unsigned i;

	for (i = 0; i < c->rounds && !c->bad; i++) {
		uint8_t *b = map_pages(4);
		uint32_t tid;

		if (!b || reg(c->p, b, 4 * PG, &tid)) {
			c->bad = 1;
			break;
		}
		if (drvops_hfi_tid_stale(&c->p->rx, tid))
			c->bad = 2;
		munmap(b, 4 * PG);
		if (!drvops_hfi_tid_stale(&c->p->rx, tid))
			c->bad = 3;
		if (drvops_hfi_tid_free(&c->p->rx, tid))
			c->bad = 4;
	}
	return NULL;
}

/*
 * Four threads on one fd register, unmap and free NOTIFY tids at once
 * (ids reused across threads): each sees its own tid fresh, then stale;
 * nothing stays pinned.
 */
static void test_threads_on_one_fd(void)
{
	struct churner c[4];
	pthread_t th[4];
	long pinned0;
	struct pair p;
	unsigned i;

	TL_ASSERT_OK(pair_open(&p, 0));
	pinned0 = tl_vm_pinned_kb();
	for (i = 0; i < 4; i++) {
		c[i] = (struct churner){ .p = &p, .rounds = 200 };
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, churn, &c[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (c[i].bad)
			fprintf(stderr, "\n  thread %u: check %d failed", i,
				c[i].bad);
		CU_ASSERT(c[i].bad == 0);
	}
	CU_ASSERT(tl_vm_pinned_kb() == pinned0);
	pair_close(&p);
}

static void test_fresh_tid_delivers(void)
{
	const size_t n = 3 * PG + 100;
	uint8_t *b = map_pages(4), *src = malloc(n);
	struct pair p;
	uint32_t tid;

	CU_ASSERT_FATAL(b && src);
	fill(src, n, 1);
	TL_ASSERT_OK(pair_open(&p, 0));
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &tid));
	TL_ASSERT_OK(put_landed(&p, tid, src, n));
	CU_ASSERT(filled(b, n, 1));
	/* Used again and again, as a cache uses it. */
	fill(src, n, 2);
	TL_ASSERT_OK(put_landed(&p, tid, src, n));
	CU_ASSERT(filled(b, n, 2));
	CU_ASSERT(!drvops_hfi_tid_stale(&p.rx, tid));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid));
	pair_close(&p);
	munmap(b, 4 * PG);
	free(src);
}

/*
 * munmap: stale at once; a transfer still lands (in the pinned pages the
 * process no longer sees: a receive posted before is not failed by a
 * notifier that fires needlessly), the pages stay pinned and counted
 * until TID_FREE gives them back.
 */
static void test_munmap_makes_it_stale(void)
{
	uint8_t *b = map_pages(8), src[256];
	long pinned0, pinned1;
	struct pair p;
	uint32_t tid;

	CU_ASSERT_FATAL(b != NULL);
	fill(src, sizeof(src), 3);
	TL_ASSERT_OK(pair_open(&p, 0));
	pinned0 = tl_vm_pinned_kb();
	TL_ASSERT_OK(reg(&p, b, 8 * PG, &tid));
	pinned1 = tl_vm_pinned_kb();
	CU_ASSERT(pinned1 - pinned0 == 32);
	CU_ASSERT(munmap(b + 2 * PG, PG) == 0);	/* one page of it */
	CU_ASSERT(drvops_hfi_tid_stale(&p.rx, tid));
	TL_ASSERT_OK(put_landed(&p, tid, src, sizeof(src)));
	CU_ASSERT(tl_vm_pinned_kb() == pinned1);
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid));
	CU_ASSERT(tl_vm_pinned_kb() == pinned0);
	TL_ASSERT_ERR(put(&p, tid, 0, src, sizeof(src)), ENOENT);
	pair_close(&p);
	munmap(b, 8 * PG);
}

/*
 * The case a cache exists for: the buffer is freed and the address comes
 * back with other pages. The old tid is stale; registering the address
 * again (the freed id comes back, its byte cleared) reaches the new pages.
 */
static void test_new_mapping_at_the_same_address(void)
{
	uint8_t *b = map_pages(4), *again, src[1000];
	uint32_t tid, tid2;
	struct pair p;

	CU_ASSERT_FATAL(b != NULL);
	fill(src, sizeof(src), 4);
	TL_ASSERT_OK(pair_open(&p, 0));
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &tid));
	TL_ASSERT_OK(put_landed(&p, tid, src, sizeof(src)));
	CU_ASSERT(munmap(b, 4 * PG) == 0);
	again = mmap(b, 4 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CU_ASSERT_FATAL(again == b);
	CU_ASSERT(drvops_hfi_tid_stale(&p.rx, tid));
	/* Why a cache must look: the old tid writes where nobody sees it. */
	TL_ASSERT_OK(put_landed(&p, tid, src, sizeof(src)));
	CU_ASSERT(b[0] == 0 && b[999] == 0);

	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid));
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &tid2));
	CU_ASSERT(tid2 == tid);			/* lowest free id */
	CU_ASSERT(!drvops_hfi_tid_stale(&p.rx, tid2));
	TL_ASSERT_OK(put_landed(&p, tid2, src, sizeof(src)));
	CU_ASSERT(filled(b, sizeof(src), 4));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid2));
	pair_close(&p);
	munmap(b, 4 * PG);
}

/* Each way the pages of the range can change under it. */
static void test_every_remap_makes_it_stale(void)
{
	uint8_t *b, *moved, *over;
	uint32_t t_fixed, t_dontneed, t_remap;
	struct pair p;

	TL_ASSERT_OK(pair_open(&p, 0));
	/* A new mapping over part of it, without munmap. */
	b = map_pages(4);
	CU_ASSERT_FATAL(b != NULL);
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &t_fixed));
	over = mmap(b + PG, PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CU_ASSERT(over == b + PG);
	CU_ASSERT(drvops_hfi_tid_stale(&p.rx, t_fixed));
	munmap(b, 4 * PG);

	/* MADV_DONTNEED: the next touch maps a fresh zero page. */
	b = map_pages(4);
	CU_ASSERT_FATAL(b != NULL);
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &t_dontneed));
	CU_ASSERT(madvise(b + 3 * PG, PG, MADV_DONTNEED) == 0);
	CU_ASSERT(drvops_hfi_tid_stale(&p.rx, t_dontneed));
	munmap(b, 4 * PG);

	/* mremap moving it elsewhere. */
	b = map_pages(4);
	CU_ASSERT_FATAL(b != NULL);
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &t_remap));
	over = map_pages(4);		/* somewhere free to move it to */
	CU_ASSERT_FATAL(over != NULL);
	moved = mremap(b, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		       over);
	CU_ASSERT_FATAL(moved == over);
	CU_ASSERT(drvops_hfi_tid_stale(&p.rx, t_remap));
	munmap(moved, 4 * PG);

	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, t_fixed));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, t_dontneed));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, t_remap));
	pair_close(&p);
}

/*
 * What leaves the pages in place keeps the tid: mprotect, fork (the child
 * gets copies, the parent keeps its pinned pages), munmap of a neighbour,
 * and a plain (not NOTIFY) tid is never marked at all.
 */
static void test_what_keeps_it(void)
{
	uint8_t *b = map_pages(3), *plain = map_pages(1), src[512];
	uint32_t tid, tid_plain;
	struct pair p;
	int status;
	pid_t pid;

	CU_ASSERT_FATAL(b && plain);
	fill(src, sizeof(src), 5);
	TL_ASSERT_OK(pair_open(&p, 0));
	TL_ASSERT_OK(reg(&p, b + PG, PG, &tid));	/* the middle page */
	TL_ASSERT_OK(drvops_hfi_tid_register(&p.rx, plain, PG, &tid_plain));

	CU_ASSERT(mprotect(b + PG, PG, PROT_READ) == 0);
	CU_ASSERT(mprotect(b + PG, PG, PROT_READ | PROT_WRITE) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		b[PG] = 1;	/* the child's copy */
		_exit(0);
	}
	CU_ASSERT(waitpid(pid, &status, 0) == pid && status == 0);
	b[PG] = 2;		/* the parent's own page after fork */
	CU_ASSERT(munmap(b, PG) == 0);
	CU_ASSERT(munmap(b + 2 * PG, PG) == 0);
	CU_ASSERT(!drvops_hfi_tid_stale(&p.rx, tid));
	TL_ASSERT_OK(put_landed(&p, tid, src, sizeof(src)));
	CU_ASSERT(filled(b + PG, sizeof(src), 5));

	CU_ASSERT(munmap(plain, PG) == 0);
	CU_ASSERT(!drvops_hfi_tid_stale(&p.rx, tid_plain));
	TL_ASSERT_OK(put_landed(&p, tid_plain, src, sizeof(src)));

	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, tid_plain));
	pair_close(&p);
	munmap(b + PG, PG);
}

/* ---- Races and teardown ------------------------------------------------ */

struct streamer {
	struct pair *p;
	uint32_t tid;
	const uint8_t *src;
	size_t n;
	unsigned ok, other;
	volatile bool stop;
};

/* Transfers into the tid until told; counts how each ended. */
static void *stream(void *arg)
{
	struct streamer *s = arg;

	while (!s->stop) {
		int ret = put(s->p, s->tid, 0, s->src, s->n);

		if (!ret)
			s->ok++;
		else
			s->other++;
		/* Keep the RHQ from filling: entries are not read here. */
		while (drvops_hfi_peek(&s->p->rx))
			drvops_hfi_consume(&s->p->rx, drvops_hfi_peek(&s->p->rx));
	}
	return NULL;
}

/*
 * munmap while 256 KiB transfers stream into the range: they go on into
 * the old (still pinned) pages, the tid says stale, and the freed tid
 * goes away cleanly (KASAN/lockdep on the debug kernel).
 */
static void test_munmap_while_transfers_stream(void)
{
	const size_t n = 256 << 10;
	uint8_t *b = map_pages(n / PG), *src = malloc(n);
	struct streamer s = { .n = n };
	struct pair p;
	pthread_t th;
	unsigned i, ok_at_unmap;

	CU_ASSERT_FATAL(b && src);
	fill(src, n, 6);
	TL_ASSERT_OK(pair_open(&p, 0));
	s.p = &p;
	s.src = src;
	TL_ASSERT_OK(reg(&p, b, n, &s.tid));
	CU_ASSERT_FATAL(pthread_create(&th, NULL, stream, &s) == 0);
	for (i = 0; i < 1000 && s.ok < 3; i++)
		usleep(1000);
	CU_ASSERT(munmap(b, n) == 0);
	ok_at_unmap = s.ok;
	for (i = 0; i < 1000 && s.ok < ok_at_unmap + 3; i++)
		usleep(1000);
	s.stop = true;
	pthread_join(th, NULL);
	CU_ASSERT(s.ok >= ok_at_unmap + 3 && s.other == 0);
	CU_ASSERT(drvops_hfi_tid_stale(&p.rx, s.tid));
	TL_ASSERT_OK(drvops_hfi_tid_free(&p.rx, s.tid));
	pair_close(&p);
	free(src);
}

/*
 * A child with NOTIFY tids, one a stream is writing into, ends by exit or
 * by SIGKILL: its mm is torn down (every notifier fires) before its fds
 * are released (the tids are freed). Nothing is left behind.
 */
static int child_with_tids(int ready_fd, bool wait_for_kill)
{
	const size_t n = 1 << 20;
	uint8_t *b = map_pages(n / PG * 4), *src = malloc(n);
	struct streamer s = { .n = n };
	struct pair p;
	pthread_t th;
	uint32_t tid;
	unsigned i;

	if (!b || !src || pair_open(&p, 0))
		return 1;
	for (i = 0; i < 4; i++)
		if (reg(&p, b + i * n, n, &tid))
			return 2;
	s.p = &p;
	s.src = src;
	s.tid = tid;
	if (pthread_create(&th, NULL, stream, &s))
		return 3;
	while (s.ok < 2)
		usleep(1000);
	if (write(ready_fd, "r", 1) != 1)
		return 4;
	if (wait_for_kill)
		for (;;)
			pause();
	return 0;	/* exit with the stream running */
}

static void end_child_with_tids(bool kill9)
{
	struct tl_stats base;
	int fds[2], status;
	char c;
	pid_t pid;

	TL_ASSERT_OK(tl_read_stats(&base));
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(child_with_tids(fds[1], kill9));
	close(fds[1]);
	CU_ASSERT(read(fds[0], &c, 1) == 1);
	close(fds[0]);
	if (kill9)
		CU_ASSERT(kill(pid, SIGKILL) == 0);
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(kill9 ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
			: WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
}

static void test_exit_with_tids_in_use(void)
{
	end_child_with_tids(false);
}

static void test_kill9_with_tids_in_use(void)
{
	end_child_with_tids(true);
}

/*
 * The uverbs fd closed first: the context and its tids go with it (their
 * notifiers removed); a munmap afterwards finds nothing to tell, and the
 * dead driver-ops fd still closes.
 */
static void test_uverbs_fd_closed_first(void)
{
	uint8_t *b = map_pages(4);
	long pinned0 = tl_vm_pinned_kb();
	struct tl_stats base;
	struct pair p;
	uint32_t tid;

	CU_ASSERT_FATAL(b != NULL);
	TL_ASSERT_OK(tl_read_stats(&base));
	TL_ASSERT_OK(pair_open(&p, 0));
	TL_ASSERT_OK(reg(&p, b, 4 * PG, &tid));
	TL_ASSERT_OK(reg(&p, b + PG, PG, &tid));
	CU_ASSERT(close(p.rx.uverbs_fd) == 0);
	p.rx.uverbs_fd = -1;
	CU_ASSERT(tl_wait_vm_pinned_kb(pinned0, 5000) == 0);
	CU_ASSERT(munmap(b, 4 * PG) == 0);
	TL_ASSERT_ERR(drvops_hfi_tid_free(&p.rx, tid), EIO);
	pair_close(&p);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
}

static CU_TestInfo tid_tests[] = {
	{ "NOTIFY needs version 4; unknown flags: EOPNOTSUPP",
	  test_notify_needs_version_4 },
	{ "NOTIFY: size extensibility, unwritable reply undone",
	  test_notify_length_and_unwritable_reply },
	{ "a fresh tid delivers, again and again", test_fresh_tid_delivers },
	{ "munmap: stale, still lands, pinned until TID_FREE",
	  test_munmap_makes_it_stale },
	{ "a new mapping at the same address: the new tid reaches it",
	  test_new_mapping_at_the_same_address },
	{ "MAP_FIXED over it, MADV_DONTNEED, mremap: stale",
	  test_every_remap_makes_it_stale },
	{ "mprotect, fork, a neighbour's munmap, plain tids: kept",
	  test_what_keeps_it },
	{ "munmap while transfers stream into it",
	  test_munmap_while_transfers_stream },
	{ "exit with tids in use", test_exit_with_tids_in_use },
	{ "kill -9 with tids in use", test_kill9_with_tids_in_use },
	{ "uverbs fd closed first", test_uverbs_fd_closed_first },
	{ "four threads on one fd", test_threads_on_one_fd },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "tids that follow their mapping", NULL, NULL, NULL, NULL, tid_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_hfi_tids", suites);
}
