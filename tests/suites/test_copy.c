// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * copy.generic, functionally: COPY between user memory and bound MRs with
 * the data verified, completions through read() (version 1) and through
 * the mmap'ed ring (version 2), poll, queue limits, FILL, and every errno
 * that uapi/rdma/drvops_generic.h documents for them. Also copy.legacy v1
 * on the legacy device.
 *
 * Every test opens its own uverbs fd and driver-ops fd and closes them
 * again: sequence numbers start at 0 in each test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define KiB (1024UL)
#define MiB (1024UL * 1024UL)
#define PAGE 4096UL
#define CSIZE sizeof(struct drvops_generic_completion)
#define GUARD 0x5a

typedef struct drvops_generic_completion compl_t;

/* ---- helpers ------------------------------------------------------- */

static uint8_t *map_buf(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_buf(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* Deterministic non-repeating-ish bytes; different seeds differ. */
static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;
	size_t i;

	if (!x)
		x = 1;
	for (i = 0; i + 4 <= len; i += 4) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		memcpy(p + i, &x, 4);
	}
	for (; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static int open_current(struct tl_ctx *c, uint32_t version, size_t buf_len)
{
	return tl_ctx_open(c, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, version,
			   buf_len);
}

/* One more MR on the context, possibly at an unaligned start, maybe bound. */
struct xmr {
	uint8_t *map;
	size_t map_len;
	uint8_t *mem;		/* the registered start */
	size_t len;
	uint32_t handle, binding;
	bool registered, bound;
};

static int xmr_make(struct tl_ctx *c, struct xmr *m, size_t len,
		    size_t start_off, uint32_t access, bool bind)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->map_len = (start_off + len + PAGE - 1) & ~(PAGE - 1);
	m->map = map_buf(m->map_len);
	if (!m->map)
		return -ENOMEM;
	memset(m->map, GUARD, m->map_len);
	m->mem = m->map + start_off;
	m->len = len;
	ret = drvops_reg_mr(c->uverbs_fd, c->pd, m->mem, len, access,
			    &m->handle, NULL, NULL);
	if (ret)
		return ret;
	m->registered = true;
	if (bind) {
		ret = drvops_bind(c->uverbs_fd, c->ops_fd, DRVOPS_OBJ_MR,
				  m->handle, &m->binding);
		if (ret)
			return ret;
		m->bound = true;
	}
	return 0;
}

static int xmr_free(struct tl_ctx *c, struct xmr *m)
{
	int err = 0, ret;

	if (m->bound) {
		ret = drvops_unbind(c->uverbs_fd, m->binding);
		if (ret && !err)
			err = ret;
	}
	if (m->registered) {
		ret = drvops_dereg_mr(c->uverbs_fd, m->handle);
		if (ret && !err)
			err = ret;
	}
	unmap_buf(m->map, m->map_len);
	memset(m, 0, sizeof(*m));
	return err;
}

/* Reads one completion and checks every field. */
#define EXPECT_COMPLETION(fd, _seq, _ud, _len, _status)                     \
	do {                                                                 \
		compl_t _c;                                                  \
		int _r = tl_read_completion((fd), &_c);                      \
		TL_ASSERT_OK(_r);                                            \
		CU_ASSERT_EQUAL(_c.seq, (uint32_t)(_seq));                   \
		CU_ASSERT_EQUAL(_c.user_data, (uint64_t)(_ud));              \
		CU_ASSERT_EQUAL(_c.length, (uint64_t)(_len));                \
		CU_ASSERT_EQUAL(_c.status, (int32_t)(_status));              \
	} while (0)

static short poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	int n = poll(&p, 1, 0);

	if (n < 0)
		return -1;
	return n ? p.revents : 0;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

/* ---- COPY: data ---------------------------------------------------- */

static const size_t big_sizes[] = {
	1, 3, PAGE - 1, PAGE, PAGE + 1, 64 * KiB + 3, MiB + 13, 16 * MiB,
};
#define N_BIG (sizeof(big_sizes) / sizeof(big_sizes[0]))

static void test_copy_user_to_user(void)
{
	const size_t max = 16 * MiB, maplen = max + 4 * PAGE;
	const size_t soff = 1, doff = PAGE - 1;	/* unaligned, crossing pages */
	struct tl_ctx c;
	uint8_t *src, *dst;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	src = map_buf(maplen);
	dst = map_buf(maplen);
	CU_ASSERT_FATAL(src && dst);
	fill_pattern(src, maplen, 1);

	for (i = 0; i < N_BIG; i++) {
		size_t n = big_sizes[i];

		memset(dst, GUARD, maplen);
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src + soff),
				     tl_user_buf(dst + doff), n, 0x1000 + i));
		CU_ASSERT(memcmp(dst + doff, src + soff, n) == 0);
		CU_ASSERT_EQUAL(dst[doff - 1], GUARD);
		CU_ASSERT_EQUAL(dst[doff + n], GUARD);
		EXPECT_COMPLETION(c.ops_fd, i, 0x1000 + i, n, 0);
	}
	unmap_buf(src, maplen);
	unmap_buf(dst, maplen);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* (MR offset, length) pairs: aligned, unaligned, across page boundaries. */
static const struct {
	size_t off, len;
} mr_cases[] = {
	{ 0, 1 },
	{ 1, PAGE },
	{ PAGE - 1, 2 },
	{ PAGE - 1, 2 * PAGE + 2 },
	{ 12345, MiB + 7 },
	{ PAGE - 1, 16 * MiB },
};
#define N_MR_CASES (sizeof(mr_cases) / sizeof(mr_cases[0]))
#define MR_LEN (16 * MiB + 2 * PAGE)

static void test_copy_user_to_mr(void)
{
	const size_t maplen = 16 * MiB + 2 * PAGE;
	struct tl_ctx c;
	uint8_t *src;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, MR_LEN));
	src = map_buf(maplen);
	CU_ASSERT_FATAL(src != NULL);
	fill_pattern(src, maplen, 2);

	for (i = 0; i < N_MR_CASES; i++) {
		size_t off = mr_cases[i].off, n = mr_cases[i].len;

		memset(c.buf, GUARD, MR_LEN);
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src + 3),
				     tl_mr_buf(c.mr, off), n, 0x2000 + i));
		CU_ASSERT(memcmp(c.buf + off, src + 3, n) == 0);
		if (off)
			CU_ASSERT_EQUAL(c.buf[off - 1], GUARD);
		CU_ASSERT_EQUAL(c.buf[off + n], GUARD);
		EXPECT_COMPLETION(c.ops_fd, i, 0x2000 + i, n, 0);
	}
	unmap_buf(src, maplen);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_mr_to_user(void)
{
	const size_t maplen = 16 * MiB + 2 * PAGE;
	struct tl_ctx c;
	uint8_t *dst;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, MR_LEN));
	dst = map_buf(maplen);
	CU_ASSERT_FATAL(dst != NULL);
	fill_pattern(c.buf, MR_LEN, 3);

	for (i = 0; i < N_MR_CASES; i++) {
		size_t off = mr_cases[i].off, n = mr_cases[i].len;

		memset(dst, GUARD, maplen);
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_mr_buf(c.mr, off),
				     tl_user_buf(dst + 5), n, 0x3000 + i));
		CU_ASSERT(memcmp(dst + 5, c.buf + off, n) == 0);
		CU_ASSERT_EQUAL(dst[4], GUARD);
		CU_ASSERT_EQUAL(dst[5 + n], GUARD);
		EXPECT_COMPLETION(c.ops_fd, i, 0x3000 + i, n, 0);
	}
	unmap_buf(dst, maplen);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_mr_to_mr(void)
{
	struct tl_ctx c;
	struct xmr b;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, MR_LEN));
	TL_ASSERT_OK(xmr_make(&c, &b, MR_LEN, 0, IB_UVERBS_ACCESS_LOCAL_WRITE,
			      true));
	fill_pattern(c.buf, MR_LEN, 4);

	for (i = 0; i < N_MR_CASES; i++) {
		/* Different offsets on the two sides. */
		size_t soff = mr_cases[N_MR_CASES - 1 - i].off;
		size_t doff = mr_cases[i].off, n = mr_cases[i].len;

		memset(b.mem, GUARD, MR_LEN);
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_mr_buf(c.mr, soff),
				     tl_mr_buf(b.handle, doff), n, 0x4000 + i));
		CU_ASSERT(memcmp(b.mem + doff, c.buf + soff, n) == 0);
		if (doff)
			CU_ASSERT_EQUAL(b.mem[doff - 1], GUARD);
		CU_ASSERT_EQUAL(b.mem[doff + n], GUARD);
		EXPECT_COMPLETION(c.ops_fd, i, 0x4000 + i, n, 0);
	}
	CU_ASSERT_EQUAL(xmr_free(&c, &b), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* An MR whose first byte is not at a page start: offset 0 is that byte. */
static void test_copy_mr_registered_unaligned(void)
{
	const size_t start = 123, len = 5 * PAGE;
	uint8_t src[3 * PAGE], back[3 * PAGE];
	struct tl_ctx c;
	struct xmr m;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	TL_ASSERT_OK(drvops_alloc_pd(c.uverbs_fd, &c.pd));
	c.have_pd = true;
	TL_ASSERT_OK(xmr_make(&c, &m, len, start, IB_UVERBS_ACCESS_LOCAL_WRITE,
			      true));
	fill_pattern(src, sizeof(src), 5);

	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_mr_buf(m.handle, 0),
			     100, 1));
	CU_ASSERT(memcmp(m.mem, src, 100) == 0);
	CU_ASSERT_EQUAL(m.map[start - 1], GUARD);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src),
			     tl_mr_buf(m.handle, 4000), sizeof(src), 2));
	CU_ASSERT(memcmp(m.mem + 4000, src, sizeof(src)) == 0);
	CU_ASSERT_EQUAL(m.mem[4000 + sizeof(src)], GUARD);
	/* The last byte of the MR, then back out of it. */
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src),
			     tl_mr_buf(m.handle, len - 1), 1, 3));
	CU_ASSERT_EQUAL(m.mem[len - 1], src[0]);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_mr_buf(m.handle, 4000),
			     tl_user_buf(back), sizeof(back), 4));
	CU_ASSERT(memcmp(back, src, sizeof(back)) == 0);
	EXPECT_COMPLETION(c.ops_fd, 0, 1, 100, 0);
	EXPECT_COMPLETION(c.ops_fd, 1, 2, sizeof(src), 0);
	EXPECT_COMPLETION(c.ops_fd, 2, 3, 1, 0);
	EXPECT_COMPLETION(c.ops_fd, 3, 4, sizeof(back), 0);
	CU_ASSERT_EQUAL(xmr_free(&c, &m), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* The source side is only read: an MR without local write may be a source. */
static void test_copy_from_readonly_mr(void)
{
	uint8_t dst[2 * PAGE];
	struct tl_ctx c;
	struct xmr m;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	memset(dst, 0, sizeof(dst));
	/* Contents first: the MR pins these pages read-only. */
	{
		uint8_t *map = map_buf(2 * PAGE);

		CU_ASSERT_FATAL(map != NULL);
		fill_pattern(map, 2 * PAGE, 6);
		memset(&m, 0, sizeof(m));
		m.map = map;
		m.map_len = 2 * PAGE;
		m.mem = map;
		m.len = 2 * PAGE;
		TL_ASSERT_OK(drvops_reg_mr(c.uverbs_fd, c.pd, map, 2 * PAGE, 0,
					   &m.handle, NULL, NULL));
		m.registered = true;
		TL_ASSERT_OK(drvops_bind(c.uverbs_fd, c.ops_fd, DRVOPS_OBJ_MR,
					 m.handle, &m.binding));
		m.bound = true;
	}
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_mr_buf(m.handle, 10),
			     tl_user_buf(dst), PAGE + 100, 9));
	CU_ASSERT(memcmp(dst, m.mem + 10, PAGE + 100) == 0);
	EXPECT_COMPLETION(c.ops_fd, 0, 9, PAGE + 100, 0);
	CU_ASSERT_EQUAL(xmr_free(&c, &m), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* ---- completions through read() ------------------------------------- */

static void test_completions_in_posting_order(void)
{
	uint8_t src[64], dst[64];
	struct tl_ctx c;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	for (i = 0; i < 6; i++) {
		/* Different lengths, so length is checked per completion. */
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src),
				     tl_user_buf(dst), i + 1,
				     0xfeed000000000000ULL | i));
	}
	for (i = 0; i < 6; i++)
		EXPECT_COMPLETION(c.ops_fd, i, 0xfeed000000000000ULL | i,
				  i + 1, 0);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_read_several_completions_at_once(void)
{
	uint8_t src[16] = { 0 }, dst[16];
	compl_t out[8];
	struct tl_ctx c;
	ssize_t n;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	for (i = 0; i < 5; i++)
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src),
				     tl_user_buf(dst), 8, 100 + i));
	memset(out, 0xff, sizeof(out));
	n = read(c.ops_fd, out, sizeof(out));
	CU_ASSERT_EQUAL(n, (ssize_t)(5 * CSIZE));
	for (i = 0; i < 5 && n == (ssize_t)(5 * CSIZE); i++) {
		CU_ASSERT_EQUAL(out[i].seq, i);
		CU_ASSERT_EQUAL(out[i].user_data, 100 + i);
		CU_ASSERT_EQUAL(out[i].length, 8);
		CU_ASSERT_EQUAL(out[i].status, 0);
	}
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* A buffer of 2.5 records gets 2 whole records; the third stays queued. */
static void test_read_returns_whole_completions_only(void)
{
	uint8_t src[16] = { 0 }, dst[16];
	uint8_t raw[2 * CSIZE + CSIZE / 2];
	compl_t out[2];
	struct tl_ctx c;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	for (i = 0; i < 3; i++)
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src),
				     tl_user_buf(dst), 4, 7 + i));
	CU_ASSERT_EQUAL(read(c.ops_fd, raw, sizeof(raw)), (ssize_t)(2 * CSIZE));
	memcpy(out, raw, sizeof(out));
	CU_ASSERT_EQUAL(out[0].seq, 0);
	CU_ASSERT_EQUAL(out[1].seq, 1);
	CU_ASSERT_EQUAL(out[1].user_data, 8);
	EXPECT_COMPLETION(c.ops_fd, 2, 9, 4, 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_read_shorter_than_completion_einval(void)
{
	uint8_t src[4] = { 0 }, dst[4];
	uint8_t raw[CSIZE];
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	/* Empty queue and a queued completion: EINVAL either way. */
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, raw, CSIZE - 1), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 4,
			     77));
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, raw, CSIZE - 1), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, raw, 1), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* Nothing was consumed. */
	EXPECT_COMPLETION(c.ops_fd, 0, 77, 4, 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_read_nonblocking_empty_eagain(void)
{
	compl_t out;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	TL_ASSERT_OK(set_nonblock(c.ops_fd, true));
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, &out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(errno, EAGAIN);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

struct reader {
	int fd;
	int ret;
	compl_t c;
	int done;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->ret = tl_read_completion(r->fd, &r->c);
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static bool wait_flag(int *flag, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (__atomic_load_n(flag, __ATOMIC_SEQ_CST))
			return true;
		usleep(10000);
	}
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

static void test_blocking_read_wakes_on_copy(void)
{
	struct sigaction sa, old;
	uint8_t src[32] = { 1 }, dst[32];
	struct reader r = { 0 };
	struct tl_ctx c;
	pthread_t th;
	bool blocked, woke;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;	/* no SA_RESTART: unblocks read */
	sigaction(SIGUSR1, &sa, &old);

	r.fd = c.ops_fd;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, reader_main, &r) == 0);
	usleep(300000);
	blocked = !__atomic_load_n(&r.done, __ATOMIC_SEQ_CST);
	CU_ASSERT(blocked);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 32,
			     0xabc));
	woke = wait_flag(&r.done, 10000);
	CU_ASSERT(woke);
	if (!woke) {
		fprintf(stderr, "\n  blocked reader did not wake on COPY\n");
		while (!wait_flag(&r.done, 100))
			pthread_kill(th, SIGUSR1);
	}
	pthread_join(th, NULL);
	sigaction(SIGUSR1, &old, NULL);

	CU_ASSERT_EQUAL(r.ret, 0);
	CU_ASSERT_EQUAL(r.c.seq, 0);
	CU_ASSERT_EQUAL(r.c.user_data, 0xabc);
	CU_ASSERT_EQUAL(r.c.length, 32);
	CU_ASSERT_EQUAL(r.c.status, 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_poll_epollin_iff_completion_queued(void)
{
	uint8_t src[8] = { 0 }, dst[8];
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLOUT);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 8,
			     1));
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 8,
			     2));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN | POLLOUT);
	EXPECT_COMPLETION(c.ops_fd, 0, 1, 8, 0);
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN | POLLOUT);
	EXPECT_COMPLETION(c.ops_fd, 1, 2, 8, 0);
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLOUT);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* Posts n one-byte copies with user_data base + i; stops at the first error. */
static int post_n(int fd, unsigned n, uint64_t base)
{
	static uint8_t s, d;
	unsigned i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = tl_copy(fd, tl_user_buf(&s), tl_user_buf(&d), 1, base + i);
		if (ret)
			return ret;
	}
	return 0;
}

static void test_poll_no_epollout_when_queue_full(void)
{
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	TL_ASSERT_OK(post_n(c.ops_fd, DRVOPS_GENERIC_CQ_DEPTH - 1, 0));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN | POLLOUT);
	TL_ASSERT_OK(post_n(c.ops_fd, 1, 0));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN);
	EXPECT_COMPLETION(c.ops_fd, 0, 0, 1, 0);
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN | POLLOUT);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd),
			DRVOPS_GENERIC_CQ_DEPTH - 1);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_queue_full_enospc_nothing_lost(void)
{
	const unsigned depth = DRVOPS_GENERIC_CQ_DEPTH;
	compl_t *all;
	struct tl_ctx c;
	uint8_t s = 0x11, d = 0;
	ssize_t n;
	unsigned i;
	bool ok = true;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	TL_ASSERT_OK(post_n(c.ops_fd, depth, 5000));
	/* The next one has no room; its data must not move either. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(&s), tl_user_buf(&d), 1,
			      99999), ENOSPC);
	CU_ASSERT_EQUAL(d, 0);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(&s), tl_user_buf(&d), 1,
			      99999), ENOSPC);

	all = calloc(depth + 1, CSIZE);
	CU_ASSERT_FATAL(all != NULL);
	n = read(c.ops_fd, all, (depth + 1) * CSIZE);
	CU_ASSERT_EQUAL(n, (ssize_t)(depth * CSIZE));
	for (i = 0; i < depth && n == (ssize_t)(depth * CSIZE); i++)
		if (all[i].seq != i || all[i].user_data != 5000 + i ||
		    all[i].length != 1 || all[i].status != 0)
			ok = false;
	CU_ASSERT(ok);
	free(all);

	/* Room again; the refused COPYs took no sequence number. */
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(&s), tl_user_buf(&d), 1,
			     424242));
	CU_ASSERT_EQUAL(d, 0x11);
	EXPECT_COMPLETION(c.ops_fd, depth, 424242, 1, 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* ---- COPY: faults and errors ---------------------------------------- */

/* Two pages: the first readable and writable, the second PROT_NONE. */
static uint8_t *map_half_bad(void)
{
	uint8_t *p = map_buf(2 * PAGE);

	if (p && mprotect(p + PAGE, PAGE, PROT_NONE)) {
		unmap_buf(p, 2 * PAGE);
		return NULL;
	}
	return p;
}

static void test_copy_bad_user_src_efault_in_completion(void)
{
	uint8_t dst[64];
	uint8_t *bad = map_half_bad();
	struct tl_ctx c;

	CU_ASSERT_FATAL(bad != NULL);
	TL_ASSERT_OK(open_current(&c, 1, 0));
	CU_ASSERT_EQUAL(tl_copy(c.ops_fd, tl_user_buf(bad + PAGE),
				tl_user_buf(dst), sizeof(dst), 0xbad1), 0);
	EXPECT_COMPLETION(c.ops_fd, 0, 0xbad1, 0, -EFAULT);
	unmap_buf(bad, 2 * PAGE);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_bad_user_dst_efault_in_completion(void)
{
	uint8_t src[64] = { 3 };
	uint8_t *bad = map_half_bad();
	struct tl_ctx c;

	CU_ASSERT_FATAL(bad != NULL);
	TL_ASSERT_OK(open_current(&c, 1, 0));
	CU_ASSERT_EQUAL(tl_copy(c.ops_fd, tl_user_buf(src),
				tl_user_buf(bad + PAGE), sizeof(src), 0xbad2),
			0);
	EXPECT_COMPLETION(c.ops_fd, 0, 0xbad2, 0, -EFAULT);
	/* The fd stays usable. */
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(bad), 8,
			     0x600d));
	EXPECT_COMPLETION(c.ops_fd, 1, 0x600d, 8, 0);
	unmap_buf(bad, 2 * PAGE);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* Kernel and wrapping addresses are not the caller's memory: -EFAULT. */
static void test_copy_kernel_or_wrapping_address_efault(void)
{
	static const uint64_t bad[] = {
		0xffffffff81000000ULL,	/* kernel text */
		0xffff888000000000ULL,	/* direct map */
		0x8000000000000000ULL,	/* non-canonical */
	};
	uint8_t user[64], orig[64];
	struct tl_ctx c;
	unsigned i, seq = 0;
	struct drvops_generic_buf kb;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	fill_pattern(orig, sizeof(orig), 11);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kb = (struct drvops_generic_buf){ .addr = bad[i] };
		memcpy(user, orig, sizeof(user));
		CU_ASSERT_EQUAL(tl_copy(c.ops_fd, kb, tl_user_buf(user),
					sizeof(user), i), 0);
		EXPECT_COMPLETION(c.ops_fd, seq++, i, 0, -EFAULT);
		CU_ASSERT(memcmp(user, orig, sizeof(user)) == 0);
		CU_ASSERT_EQUAL(tl_copy(c.ops_fd, tl_user_buf(user), kb,
					sizeof(user), 100 + i), 0);
		EXPECT_COMPLETION(c.ops_fd, seq++, 100 + i, 0, -EFAULT);
	}
	/* A user range that wraps around the end of the address space. */
	kb = (struct drvops_generic_buf){ .addr = UINT64_MAX - 15 };
	CU_ASSERT_EQUAL(tl_copy(c.ops_fd, kb, tl_user_buf(user), 32, 7), 0);
	EXPECT_COMPLETION(c.ops_fd, seq++, 7, 0, -EFAULT);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* read() into memory it cannot write: EFAULT, and the completion stays. */
static void test_read_into_bad_buffer_loses_nothing(void)
{
	uint8_t *bad = map_half_bad();
	uint8_t s[4] = { 0 }, d[4];
	compl_t *two;
	struct tl_ctx c;

	CU_ASSERT_FATAL(bad != NULL);
	TL_ASSERT_OK(open_current(&c, 1, 0));
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(s), tl_user_buf(d), 4, 1));
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(s), tl_user_buf(d), 4, 2));
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, bad + PAGE, CSIZE), -1);
	CU_ASSERT_EQUAL(errno, EFAULT);
	/* Room for one record before the bad page: exactly one is taken. */
	two = (compl_t *)(bad + PAGE - CSIZE);
	CU_ASSERT_EQUAL(read(c.ops_fd, two, 2 * CSIZE), (ssize_t)CSIZE);
	CU_ASSERT_EQUAL(two->seq, 0);
	CU_ASSERT_EQUAL(two->user_data, 1);
	EXPECT_COMPLETION(c.ops_fd, 1, 2, 4, 0);
	unmap_buf(bad, 2 * PAGE);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* A source that turns bad after one page: what moved is reported and is right. */
static void test_copy_fault_midway_reports_bytes_moved(void)
{
	uint8_t *bad = map_half_bad();
	compl_t done;
	struct tl_ctx c;

	CU_ASSERT_FATAL(bad != NULL);
	TL_ASSERT_OK(open_current(&c, 1, 2 * PAGE));
	fill_pattern(bad, PAGE, 7);
	memset(c.buf, GUARD, 2 * PAGE);
	CU_ASSERT_EQUAL(tl_copy(c.ops_fd, tl_user_buf(bad),
				tl_mr_buf(c.mr, 0), 2 * PAGE, 0xbad3), 0);
	TL_ASSERT_OK(tl_read_completion(c.ops_fd, &done));
	CU_ASSERT_EQUAL(done.status, -EFAULT);
	CU_ASSERT_EQUAL(done.user_data, 0xbad3);
	CU_ASSERT(done.length < 2 * PAGE);
	if (done.length <= 2 * PAGE)
		CU_ASSERT(memcmp(c.buf, bad, done.length) == 0);
	unmap_buf(bad, 2 * PAGE);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_mr_range_beyond_mr_einval(void)
{
	const size_t len = 3 * PAGE;
	uint8_t user[64] = { 0 };
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, len));
	/* As destination. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(c.mr, len - 10), 20, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(c.mr, len), 1, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(c.mr, 0), len + 1, 1), EINVAL);
	/* As source. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(c.mr, len - 1),
			      tl_user_buf(user), 2, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(c.mr, len + PAGE),
			      tl_user_buf(user), 1, 1), EINVAL);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	/* The exact end is inside. */
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(user),
			     tl_mr_buf(c.mr, len - 10), 10, 2));
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_mr_buf(c.mr, 0), tl_user_buf(user),
			     len > sizeof(user) ? sizeof(user) : len, 3));
	EXPECT_COMPLETION(c.ops_fd, 0, 2, 10, 0);
	EXPECT_COMPLETION(c.ops_fd, 1, 3, sizeof(user), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_mr_offset_overflow_einval(void)
{
	uint8_t user[16] = { 0 };
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(c.mr, UINT64_MAX), 1, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(c.mr, UINT64_MAX),
			      tl_user_buf(user), 1, 1), EINVAL);
	/* addr + length wraps around to a small number. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(c.mr, UINT64_MAX - 5), 16, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(c.mr, UINT64_MAX - 5),
			      tl_user_buf(user), 16, 1), EINVAL);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_dst_mr_without_local_write_einval(void)
{
	uint8_t user[64];
	struct tl_ctx c;
	struct xmr ro;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	TL_ASSERT_OK(xmr_make(&c, &ro, PAGE, 0, 0, true));
	fill_pattern(user, sizeof(user), 8);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(ro.handle, 0), sizeof(user), 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(c.mr, 0),
			      tl_mr_buf(ro.handle, 0), 16, 1), EINVAL);
	CU_ASSERT(all_bytes(ro.mem, PAGE, GUARD));
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(xmr_free(&c, &ro), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_unbound_mr_enoent(void)
{
	uint8_t user[16] = { 0 };
	struct tl_ctx c;
	struct xmr un;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	TL_ASSERT_OK(xmr_make(&c, &un, PAGE, 0, IB_UVERBS_ACCESS_LOCAL_WRITE,
			      false));
	/* Registered on the uverbs fd, but not bound to this fd. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(un.handle, 0), 8, 1), ENOENT);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(un.handle, 0),
			      tl_user_buf(user), 8, 1), ENOENT);
	/* A handle nothing has. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(0x7fff1234, 0), 8, 1), ENOENT);
	/* The PD's handle is bound to nothing as an MR either. */
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(user),
			      tl_mr_buf(c.pd, 0), 8, 1), ENOENT);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(xmr_free(&c, &un), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* A binding belongs to one driver-ops fd: another fd of the context sees none. */
static void test_copy_mr_bound_to_other_fd_enoent(void)
{
	uint8_t user[16] = { 0 };
	struct tl_ctx c;
	int other;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	other = tl_get_fd(c.uverbs_fd, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(other);
	TL_ASSERT_ERR(tl_copy(other, tl_user_buf(user), tl_mr_buf(c.mr, 0), 8,
			      1), ENOENT);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(user), tl_mr_buf(c.mr, 0),
			     8, 1));
	CU_ASSERT_EQUAL(tl_drain_completions(other), 0);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 1);
	close(other);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_length_zero_or_too_big_einval(void)
{
	uint8_t src[16] = { 0 }, dst[16];
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 0,
			      1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_mr_buf(c.mr, 0), tl_user_buf(dst),
			      0, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst),
			      DRVOPS_GENERIC_MAX_LENGTH + 1, 1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst),
			      UINT64_MAX, 1), EINVAL);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_copy_flags_eopnotsupp(void)
{
	uint8_t src[16] = { 0 }, dst[16];
	struct drvops_generic_buf with_handle = tl_user_buf(src);
	struct drvops_generic_buf unknown_flag = tl_user_buf(src);
	struct drvops_generic_copy cmd = {
		.size = sizeof(cmd),
		.flags = 1,
		.src = tl_user_buf(src),
		.dst = tl_user_buf(dst),
		.length = 8,
	};
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	/* A user buffer naming an MR without the MR flag. */
	with_handle.mr_handle = c.mr;
	TL_ASSERT_ERR(tl_copy(c.ops_fd, with_handle, tl_user_buf(dst), 8, 1),
		      EOPNOTSUPP);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(dst), with_handle, 8, 1),
		      EOPNOTSUPP);
	/* An unknown buf flag, and an unknown COPY flag. */
	unknown_flag.flags = 1u << 1;
	TL_ASSERT_ERR(tl_copy(c.ops_fd, unknown_flag, tl_user_buf(dst), 8, 1),
		      EOPNOTSUPP);
	TL_ASSERT_ERR(tl_ioctl(c.ops_fd, DRVOPS_GENERIC_IOCTL_COPY, &cmd),
		      EOPNOTSUPP);
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* A refused COPY queues nothing and takes no sequence number. */
static void test_failed_copy_queues_nothing(void)
{
	uint8_t src[16] = { 0 }, dst[16];
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, PAGE));
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 0,
			      1), EINVAL);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(src), tl_mr_buf(999999, 0),
			      8, 2), ENOENT);
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLOUT);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_user_buf(dst), 8,
			     3));
	EXPECT_COMPLETION(c.ops_fd, 0, 3, 8, 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* ---- version 2: FILL ------------------------------------------------- */

static void test_fill_user_memory(void)
{
	const size_t maplen = 4 * PAGE, off = 77, n = 2 * PAGE + 300;
	uint8_t *buf = map_buf(maplen);
	struct tl_ctx c;

	CU_ASSERT_FATAL(buf != NULL);
	TL_ASSERT_OK(open_current(&c, 2, 0));
	memset(buf, GUARD, maplen);
	TL_ASSERT_OK(tl_fill(c.ops_fd, tl_user_buf(buf + off), n, 0xa5, 0xf1));
	CU_ASSERT(all_bytes(buf, off, GUARD));
	CU_ASSERT(all_bytes(buf + off, n, 0xa5));
	CU_ASSERT(all_bytes(buf + off + n, maplen - off - n, GUARD));
	TL_ASSERT_OK(tl_fill(c.ops_fd, tl_user_buf(buf + off + 1), 1, 0x00,
			     0xf2));
	CU_ASSERT_EQUAL(buf[off], 0xa5);
	CU_ASSERT_EQUAL(buf[off + 1], 0x00);
	CU_ASSERT_EQUAL(buf[off + 2], 0xa5);
	EXPECT_COMPLETION(c.ops_fd, 0, 0xf1, n, 0);
	EXPECT_COMPLETION(c.ops_fd, 1, 0xf2, 1, 0);
	unmap_buf(buf, maplen);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_fill_mr(void)
{
	const size_t len = 16 * MiB + 2 * PAGE;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, len));
	memset(c.buf, GUARD, len);
	TL_ASSERT_OK(tl_fill(c.ops_fd, tl_mr_buf(c.mr, PAGE - 1), 2 * PAGE + 2,
			     0x3c, 1));
	CU_ASSERT_EQUAL(c.buf[PAGE - 2], GUARD);
	CU_ASSERT(all_bytes(c.buf + PAGE - 1, 2 * PAGE + 2, 0x3c));
	CU_ASSERT_EQUAL(c.buf[3 * PAGE + 1], GUARD);
	TL_ASSERT_OK(tl_fill(c.ops_fd, tl_mr_buf(c.mr, 1), 16 * MiB, 0xc3, 2));
	CU_ASSERT_EQUAL(c.buf[0], GUARD);
	CU_ASSERT(all_bytes(c.buf + 1, 16 * MiB, 0xc3));
	CU_ASSERT_EQUAL(c.buf[16 * MiB + 1], GUARD);
	EXPECT_COMPLETION(c.ops_fd, 0, 1, 2 * PAGE + 2, 0);
	EXPECT_COMPLETION(c.ops_fd, 1, 2, 16 * MiB, 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_fill_errors(void)
{
	struct drvops_generic_fill cmd = {
		.size = sizeof(cmd),
		.length = 8,
	};
	uint8_t dst[16];
	struct tl_ctx c;
	struct xmr ro;

	TL_ASSERT_OK(open_current(&c, 2, PAGE));
	TL_ASSERT_OK(xmr_make(&c, &ro, PAGE, 0, 0, true));
	TL_ASSERT_ERR(tl_fill(c.ops_fd, tl_user_buf(dst), 0, 1, 1), EINVAL);
	TL_ASSERT_ERR(tl_fill(c.ops_fd, tl_user_buf(dst),
			      DRVOPS_GENERIC_MAX_LENGTH + 1, 1, 1), EINVAL);
	TL_ASSERT_ERR(tl_fill(c.ops_fd, tl_mr_buf(c.mr, PAGE - 4), 8, 1, 1),
		      EINVAL);
	TL_ASSERT_ERR(tl_fill(c.ops_fd, tl_mr_buf(ro.handle, 0), 8, 1, 1),
		      EINVAL);
	TL_ASSERT_ERR(tl_fill(c.ops_fd, tl_mr_buf(424242, 0), 8, 1, 1),
		      ENOENT);
	cmd.dst = tl_user_buf(dst);
	cmd.__reserved[6] = 1;
	TL_ASSERT_ERR(tl_ioctl(c.ops_fd, DRVOPS_GENERIC_IOCTL_FILL, &cmd),
		      EOPNOTSUPP);
	cmd.__reserved[6] = 0;
	cmd.flags = 1;
	TL_ASSERT_ERR(tl_ioctl(c.ops_fd, DRVOPS_GENERIC_IOCTL_FILL, &cmd),
		      EOPNOTSUPP);
	CU_ASSERT(all_bytes(ro.mem, PAGE, GUARD));
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 0);
	CU_ASSERT_EQUAL(xmr_free(&c, &ro), 0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_v2_ioctls_enotty_on_v1(void)
{
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs),
						.entries = 8 };
	uint8_t dst[8];
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 1, 0));
	TL_ASSERT_ERR(tl_fill(c.ops_fd, tl_user_buf(dst), 8, 1, 1), ENOTTY);
	TL_ASSERT_ERR(tl_ioctl(c.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs),
		      ENOTTY);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* ---- version 2: the completion ring ---------------------------------- */

static int ring_setup(int fd, uint32_t entries,
		      struct drvops_generic_ring_setup *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->size = sizeof(*rs);
	rs->entries = entries;
	return tl_ioctl(fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, rs);
}

struct ring {
	void *map;
	size_t len;
	struct drvops_generic_ring_header *hdr;
	compl_t *e;
};

/* mmap as documented; 0 or -errno. */
static int ring_map(int fd, const struct drvops_generic_ring_setup *rs,
		    struct ring *r)
{
	void *p = mmap(NULL, rs->mmap_length, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, (off_t)rs->mmap_offset);

	memset(r, 0, sizeof(*r));
	if (p == MAP_FAILED)
		return -errno;
	r->map = p;
	r->len = rs->mmap_length;
	r->hdr = p;
	r->e = (compl_t *)(r->hdr + 1);
	return 0;
}

static void ring_unmap(struct ring *r)
{
	if (r->map)
		munmap(r->map, r->len);
	memset(r, 0, sizeof(*r));
}

static uint32_t ring_prod(const struct ring *r)
{
	return __atomic_load_n(&r->hdr->producer, __ATOMIC_ACQUIRE);
}

static void ring_set_cons(struct ring *r, uint32_t v)
{
	__atomic_store_n(&r->hdr->consumer, v, __ATOMIC_RELEASE);
}

/* errno of an mmap call, 0 if it mapped (and is unmapped again). */
static int mmap_errno(int fd, size_t len, int flags, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

static void test_ring_setup_bad_entries_einval(void)
{
	static const uint32_t bad[] = { 0, 1, 3, 6, 100, 4097, 8192, 1u << 31,
					UINT32_MAX };
	struct drvops_generic_ring_setup rs;
	struct tl_ctx c;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TL_ASSERT_ERR(ring_setup(c.ops_fd, bad[i], &rs), EINVAL);
	/* Nothing was created: the smallest valid ring still works. */
	TL_ASSERT_OK(ring_setup(c.ops_fd, 2, &rs));
	CU_ASSERT(rs.mmap_length >= sizeof(struct drvops_generic_ring_header) +
				    2 * CSIZE);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_setup_largest(void)
{
	struct drvops_generic_ring_setup rs;
	struct ring r;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 4096, &rs));
	CU_ASSERT(rs.mmap_length >= sizeof(struct drvops_generic_ring_header) +
				    4096 * CSIZE);
	CU_ASSERT_EQUAL(rs.mmap_length % PAGE, 0);
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r));
	CU_ASSERT_EQUAL(r.hdr->entries, 4096);
	CU_ASSERT_EQUAL(ring_prod(&r), 0);
	ring_unmap(&r);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_setup_twice_eexist(void)
{
	struct drvops_generic_ring_setup rs;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 8, &rs));
	TL_ASSERT_ERR(ring_setup(c.ops_fd, 8, &rs), EEXIST);
	TL_ASSERT_ERR(ring_setup(c.ops_fd, 16, &rs), EEXIST);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_setup_with_pending_completions_ebusy(void)
{
	struct drvops_generic_ring_setup rs;
	uint8_t s[4] = { 0 }, d[4];
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(s), tl_user_buf(d), 4, 31));
	TL_ASSERT_ERR(ring_setup(c.ops_fd, 8, &rs), EBUSY);
	/* Still readable, then the ring may be made. */
	EXPECT_COMPLETION(c.ops_fd, 0, 31, 4, 0);
	TL_ASSERT_OK(ring_setup(c.ops_fd, 8, &rs));
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_mmap_before_setup_enodev(void)
{
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, PAGE, MAP_SHARED, 0), ENODEV);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
	/* Version 1 has no ring at all. */
	TL_ASSERT_OK(open_current(&c, 1, 0));
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, PAGE, MAP_SHARED, 0), ENODEV);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_mmap_wrong_length_or_offset_einval(void)
{
	struct drvops_generic_ring_setup rs;
	struct tl_ctx c;
	size_t len;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	/* 256 entries: more than one page. */
	TL_ASSERT_OK(ring_setup(c.ops_fd, 256, &rs));
	len = rs.mmap_length;
	CU_ASSERT_FATAL(len > PAGE);
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, len - PAGE, MAP_SHARED,
				   rs.mmap_offset), EINVAL);
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, len + PAGE, MAP_SHARED,
				   rs.mmap_offset), EINVAL);
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, len, MAP_SHARED,
				   rs.mmap_offset + PAGE), EINVAL);
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, len - PAGE, MAP_SHARED,
				   rs.mmap_offset + PAGE), EINVAL);
	/* The documented call works. */
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, len, MAP_SHARED, rs.mmap_offset),
			0);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_mmap_private_einval(void)
{
	struct drvops_generic_ring_setup rs;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 8, &rs));
	CU_ASSERT_EQUAL(mmap_errno(c.ops_fd, rs.mmap_length, MAP_PRIVATE,
				   rs.mmap_offset), EINVAL);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_completions_in_order(void)
{
	struct drvops_generic_ring_setup rs;
	uint8_t src[3 * PAGE], back[3 * PAGE];
	compl_t out;
	struct ring r;
	struct tl_ctx c;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 2, 4 * PAGE));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 8, &rs));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r));
	CU_ASSERT_EQUAL(r.hdr->entries, 8);
	CU_ASSERT_EQUAL(ring_prod(&r), 0);
	CU_ASSERT_EQUAL(r.hdr->consumer, 0);

	fill_pattern(src, sizeof(src), 9);
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src), tl_mr_buf(c.mr, 1),
			     sizeof(src), 0x100));
	TL_ASSERT_OK(tl_copy(c.ops_fd, tl_mr_buf(c.mr, 1), tl_user_buf(back),
			     sizeof(back), 0x101));
	CU_ASSERT(memcmp(back, src, sizeof(src)) == 0);
	TL_ASSERT_OK(tl_fill(c.ops_fd, tl_mr_buf(c.mr, 0), 1, 0x77, 0x102));
	CU_ASSERT_EQUAL(c.buf[0], 0x77);
	for (i = 3; i < 5; i++)
		TL_ASSERT_OK(tl_copy(c.ops_fd, tl_user_buf(src),
				     tl_user_buf(back), i, 0x100 + i));

	CU_ASSERT_EQUAL(ring_prod(&r), 5);
	CU_ASSERT_EQUAL(r.e[0].length, sizeof(src));
	CU_ASSERT_EQUAL(r.e[1].length, sizeof(back));
	CU_ASSERT_EQUAL(r.e[2].length, 1);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(r.e[i].seq, i);
		CU_ASSERT_EQUAL(r.e[i].user_data, 0x100 + i);
		CU_ASSERT_EQUAL(r.e[i].status, 0);
		if (i >= 3)
			CU_ASSERT_EQUAL(r.e[i].length, i);
	}
	/* Completions go to the ring: read() is refused, queued or not. */
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, &out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	ring_set_cons(&r, 5);
	errno = 0;
	CU_ASSERT_EQUAL(read(c.ops_fd, &out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	ring_unmap(&r);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* seq counts per fd: completions read before RING_SETUP keep their numbers. */
static void test_ring_seq_continues_after_read_queue(void)
{
	struct drvops_generic_ring_setup rs;
	struct ring r;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(post_n(c.ops_fd, 3, 50));
	CU_ASSERT_EQUAL(tl_drain_completions(c.ops_fd), 3);
	TL_ASSERT_OK(ring_setup(c.ops_fd, 4, &rs));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r));
	TL_ASSERT_OK(post_n(c.ops_fd, 2, 60));
	CU_ASSERT_EQUAL(ring_prod(&r), 2);
	CU_ASSERT_EQUAL(r.e[0].seq, 3);
	CU_ASSERT_EQUAL(r.e[0].user_data, 60);
	CU_ASSERT_EQUAL(r.e[1].seq, 4);
	CU_ASSERT_EQUAL(r.e[1].user_data, 61);
	ring_unmap(&r);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* The ring's memory is the kernel's: a second mapping sees the same ring. */
static void test_ring_two_mappings_share(void)
{
	struct drvops_generic_ring_setup rs;
	struct ring r1, r2;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 8, &rs));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r1));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r2));
	TL_ASSERT_OK(post_n(c.ops_fd, 3, 70));
	CU_ASSERT_EQUAL(ring_prod(&r1), 3);
	CU_ASSERT_EQUAL(ring_prod(&r2), 3);
	CU_ASSERT_EQUAL(r2.e[2].user_data, 72);
	ring_set_cons(&r2, 3);
	CU_ASSERT_EQUAL(r1.hdr->consumer, 3);
	ring_unmap(&r1);
	CU_ASSERT_EQUAL(r2.e[1].user_data, 71);
	ring_unmap(&r2);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_full_enospc_until_consumer_advances(void)
{
	struct drvops_generic_ring_setup rs;
	uint8_t s = 0xee, d = 0;
	struct ring r;
	struct tl_ctx c;
	unsigned i;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 4, &rs));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r));
	TL_ASSERT_OK(post_n(c.ops_fd, 4, 10));
	CU_ASSERT_EQUAL(ring_prod(&r), 4);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(&s), tl_user_buf(&d), 1,
			      666), ENOSPC);
	CU_ASSERT_EQUAL(d, 0);
	CU_ASSERT_EQUAL(ring_prod(&r), 4);
	/* Nothing was overwritten. */
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(r.e[i].seq, i);
		CU_ASSERT_EQUAL(r.e[i].user_data, 10 + i);
	}

	/* Consume two: two more fit, wrapping into slots 0 and 1. */
	ring_set_cons(&r, 2);
	TL_ASSERT_OK(post_n(c.ops_fd, 2, 20));
	CU_ASSERT_EQUAL(ring_prod(&r), 6);
	TL_ASSERT_ERR(tl_copy(c.ops_fd, tl_user_buf(&s), tl_user_buf(&d), 1,
			      667), ENOSPC);
	CU_ASSERT_EQUAL(r.e[0].seq, 4);
	CU_ASSERT_EQUAL(r.e[0].user_data, 20);
	CU_ASSERT_EQUAL(r.e[1].seq, 5);
	CU_ASSERT_EQUAL(r.e[1].user_data, 21);
	CU_ASSERT_EQUAL(r.e[2].seq, 2);
	CU_ASSERT_EQUAL(r.e[3].seq, 3);

	/* Consume everything: a whole ring's worth fits again. */
	ring_set_cons(&r, 6);
	TL_ASSERT_OK(post_n(c.ops_fd, 4, 30));
	CU_ASSERT_EQUAL(ring_prod(&r), 10);
	CU_ASSERT_EQUAL(r.e[9 & 3].seq, 9);
	CU_ASSERT_EQUAL(r.e[9 & 3].user_data, 33);
	ring_unmap(&r);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_ring_poll(void)
{
	struct drvops_generic_ring_setup rs;
	struct ring r;
	struct tl_ctx c;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 2, &rs));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLOUT);
	TL_ASSERT_OK(post_n(c.ops_fd, 1, 0));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN | POLLOUT);
	TL_ASSERT_OK(post_n(c.ops_fd, 1, 0));
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN);
	ring_set_cons(&r, 1);
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLIN | POLLOUT);
	ring_set_cons(&r, 2);
	CU_ASSERT_EQUAL(poll_now(c.ops_fd), POLLOUT);
	ring_unmap(&r);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* A blocked poll() wakes when a completion lands in the ring. */
struct poller {
	int fd;
	int n;
	short revents;
	int done;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	p->n = poll(&pfd, 1, 20000);
	p->revents = pfd.revents;
	__atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_ring_poll_wakes_on_completion(void)
{
	struct drvops_generic_ring_setup rs;
	struct poller p = { 0 };
	struct ring r;
	struct tl_ctx c;
	pthread_t th;

	TL_ASSERT_OK(open_current(&c, 2, 0));
	TL_ASSERT_OK(ring_setup(c.ops_fd, 4, &rs));
	TL_ASSERT_OK(ring_map(c.ops_fd, &rs, &r));
	p.fd = c.ops_fd;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, poller_main, &p) == 0);
	usleep(300000);
	CU_ASSERT_FALSE(__atomic_load_n(&p.done, __ATOMIC_SEQ_CST));
	TL_ASSERT_OK(post_n(c.ops_fd, 1, 0));
	CU_ASSERT(wait_flag(&p.done, 10000));
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(p.n, 1);
	CU_ASSERT(p.revents & POLLIN);
	ring_unmap(&r);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* ---- the old name ---------------------------------------------------- */

static void check_legacy_fd_copies(struct tl_ctx *c)
{
	uint8_t src[2 * PAGE], back[2 * PAGE];
	struct drvops_info info;

	TL_ASSERT_OK(drvops_get_info(c->ops_fd, &info));
	CU_ASSERT_EQUAL(info.version, 1);
	fill_pattern(src, sizeof(src), 10);
	TL_ASSERT_OK(tl_copy(c->ops_fd, tl_user_buf(src),
			     tl_mr_buf(c->mr, 100), sizeof(src), 1));
	CU_ASSERT(memcmp(c->buf + 100, src, sizeof(src)) == 0);
	TL_ASSERT_OK(tl_copy(c->ops_fd, tl_mr_buf(c->mr, 100),
			     tl_user_buf(back), sizeof(back), 2));
	CU_ASSERT(memcmp(back, src, sizeof(src)) == 0);
	CU_ASSERT_EQUAL(poll_now(c->ops_fd), POLLIN | POLLOUT);
	EXPECT_COMPLETION(c->ops_fd, 0, 1, sizeof(src), 0);
	EXPECT_COMPLETION(c->ops_fd, 1, 2, sizeof(back), 0);
	TL_ASSERT_ERR(tl_fill(c->ops_fd, tl_user_buf(back), 8, 1, 1), ENOTTY);
}

static void test_legacy_device_copy_legacy_v1(void)
{
	struct drvops_info info;
	struct tl_ctx c;

	TL_ASSERT_OK(tl_ctx_open(&c, TL_DEVICE_LEGACY,
				 DRVOPS_GENERIC_LEGACY_NAME, 1, 4 * PAGE));
	TL_ASSERT_OK(drvops_get_info(c.ops_fd, &info));
	CU_ASSERT_STRING_EQUAL(info.name, DRVOPS_GENERIC_LEGACY_NAME);
	check_legacy_fd_copies(&c);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

static void test_alias_copy_legacy_on_current_device(void)
{
	struct tl_ctx c;

	TL_ASSERT_OK(tl_ctx_open(&c, TL_DEVICE_CURRENT,
				 DRVOPS_GENERIC_LEGACY_NAME, 1, 4 * PAGE));
	check_legacy_fd_copies(&c);
	CU_ASSERT_EQUAL(tl_ctx_close(&c), 0);
}

/* ---- registration ---------------------------------------------------- */

static CU_TestInfo copy_data_tests[] = {
	{ "COPY user->user, 1 B..16 MiB, unaligned", test_copy_user_to_user },
	{ "COPY user->MR at offsets, 1 B..16 MiB", test_copy_user_to_mr },
	{ "COPY MR->user at offsets, 1 B..16 MiB", test_copy_mr_to_user },
	{ "COPY MR->MR (two MRs), 1 B..16 MiB", test_copy_mr_to_mr },
	{ "COPY with an MR registered at an unaligned start",
	  test_copy_mr_registered_unaligned },
	{ "COPY from an MR without local write", test_copy_from_readonly_mr },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo completion_tests[] = {
	{ "completions read in posting order", test_completions_in_posting_order },
	{ "several completions in one read()",
	  test_read_several_completions_at_once },
	{ "read() returns whole completions only",
	  test_read_returns_whole_completions_only },
	{ "read() shorter than a completion -> EINVAL",
	  test_read_shorter_than_completion_einval },
	{ "non-blocking read() with nothing queued -> EAGAIN",
	  test_read_nonblocking_empty_eagain },
	{ "blocking read() in a thread wakes on COPY",
	  test_blocking_read_wakes_on_copy },
	{ "poll: EPOLLIN iff a completion is queued",
	  test_poll_epollin_iff_completion_queued },
	{ "poll: no EPOLLOUT while the queue is full",
	  test_poll_no_epollout_when_queue_full },
	{ "queue of CQ_DEPTH full -> ENOSPC, nothing lost",
	  test_queue_full_enospc_nothing_lost },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo copy_error_tests[] = {
	{ "bad user source -> completion status -EFAULT",
	  test_copy_bad_user_src_efault_in_completion },
	{ "bad user destination -> completion status -EFAULT",
	  test_copy_bad_user_dst_efault_in_completion },
	{ "kernel or wrapping address -> completion status -EFAULT",
	  test_copy_kernel_or_wrapping_address_efault },
	{ "read() into a bad buffer -> EFAULT, nothing lost",
	  test_read_into_bad_buffer_loses_nothing },
	{ "fault midway: length = bytes moved",
	  test_copy_fault_midway_reports_bytes_moved },
	{ "MR range beyond the MR -> EINVAL", test_copy_mr_range_beyond_mr_einval },
	{ "MR offset overflow -> EINVAL", test_copy_mr_offset_overflow_einval },
	{ "dst MR without local write -> EINVAL",
	  test_copy_dst_mr_without_local_write_einval },
	{ "MR handle not bound -> ENOENT", test_copy_unbound_mr_enoent },
	{ "MR bound to another driver-ops fd -> ENOENT",
	  test_copy_mr_bound_to_other_fd_enoent },
	{ "length 0 or > MAX_LENGTH -> EINVAL",
	  test_copy_length_zero_or_too_big_einval },
	{ "mr_handle without MR flag, unknown flags -> EOPNOTSUPP",
	  test_copy_flags_eopnotsupp },
	{ "a refused COPY queues nothing", test_failed_copy_queues_nothing },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo v2_tests[] = {
	{ "FILL user memory", test_fill_user_memory },
	{ "FILL an MR, up to 16 MiB", test_fill_mr },
	{ "FILL errors", test_fill_errors },
	{ "FILL and RING_SETUP on v1 -> ENOTTY", test_v2_ioctls_enotty_on_v1 },
	{ "RING_SETUP bad entries -> EINVAL", test_ring_setup_bad_entries_einval },
	{ "RING_SETUP 4096 entries maps", test_ring_setup_largest },
	{ "RING_SETUP twice -> EEXIST", test_ring_setup_twice_eexist },
	{ "RING_SETUP with completions pending -> EBUSY",
	  test_ring_setup_with_pending_completions_ebusy },
	{ "mmap before RING_SETUP -> ENODEV", test_ring_mmap_before_setup_enodev },
	{ "mmap wrong length or offset -> EINVAL",
	  test_ring_mmap_wrong_length_or_offset_einval },
	{ "mmap MAP_PRIVATE -> EINVAL", test_ring_mmap_private_einval },
	{ "ring: completions in order, read() -> EINVAL",
	  test_ring_completions_in_order },
	{ "ring: seq continues after completions read()",
	  test_ring_seq_continues_after_read_queue },
	{ "ring: two mappings share the ring", test_ring_two_mappings_share },
	{ "ring full -> ENOSPC until consumer advances",
	  test_ring_full_enospc_until_consumer_advances },
	{ "ring: poll reflects producer/consumer", test_ring_poll },
	{ "ring: blocked poll wakes on a completion",
	  test_ring_poll_wakes_on_completion },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo legacy_tests[] = {
	{ "copy.legacy v1 on the legacy device",
	  test_legacy_device_copy_legacy_v1 },
	{ "alias copy.legacy v1 on the current device",
	  test_alias_copy_legacy_on_current_device },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "copy: data", NULL, NULL, NULL, NULL, copy_data_tests },
	{ "copy: completions (v1 read)", NULL, NULL, NULL, NULL,
	  completion_tests },
	{ "copy: errors", NULL, NULL, NULL, NULL, copy_error_tests },
	{ "copy: v2 fill and ring", NULL, NULL, NULL, NULL, v2_tests },
	{ "copy: legacy", NULL, NULL, NULL, NULL, legacy_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_copy", suites);
}
