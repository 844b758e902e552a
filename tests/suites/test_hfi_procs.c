// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The emulated HFI between two processes: the parent on unit hfi0, a
 * forked child on unit hfi1, each with its own uverbs fd and context,
 * talking over a socketpair (LID, context and tid numbers, per-step
 * results) and over the fabric (the data).
 *
 *  - eager (0 B .. eager_max) and expected (1 B .. 16 MiB, into a tid the
 *    receiver registered and sent over) messages, both directions, every
 *    byte checked by the receiver;
 *  - 1000 pipelined messages of one flow arrive, and complete, in order;
 *  - job keys isolate contexts of different processes;
 *  - teardown with 16 MiB transfers in flight: kill -9 of the sender, of
 *    the receiver, close of the sender's uverbs fd, rmmod of drvops_hfi
 *    (then reloaded). The survivor's calls fail cleanly (EIO, SIGBUS on
 *    the mappings) or its completions say EHOSTUNREACH, the broker's
 *    counters return to their baseline and no WARN taints the kernel.
 *
 * The child never asserts: it reports over the socket and by its exit
 * status, and the parent asserts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tl_hfi.h"
#include "tl_proc.h"

#define TIMEOUT_MS 30000
#define BIG ((size_t)16 << 20)
#define GUARD 4096		/* around receive buffers, must stay 0 */
#define TID_OFF 123		/* receive buffers start unaligned */
#define STREAM_SEED 0x5eed
#define HFI_MODULE "drvops_hfi"
#define HFI_PARAMS "num_units=3 legacy_units=1"
#define TAINT_WARN (1UL << 9)	/* TAINT_WARN: a WARN_ON fired */

/* ---- small things --------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static unsigned long tainted(void)
{
	unsigned long t = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "re");

	if (f) {
		if (fscanf(f, "%lu", &t) != 1)
			t = 0;
		fclose(f);
	}
	return t;
}

/* No WARN since t0 was read (if one fired before, nothing can be told). */
static bool no_new_warn(unsigned long t0)
{
	return (t0 & TAINT_WARN) || !(tainted() & TAINT_WARN);
}

/*
 * Receivers register as a registration cache does, with tids that follow
 * their mapping where the unit has them (sdma.opa 4): so kill -9, rmmod
 * and closing the uverbs fd mid-stream also tear down MMU notifiers, and
 * a dying process's exit (its mm goes before its fds) invalidates tids
 * that transfers are still writing into.
 */
static int reg_tid(struct drvops_hfi_ctx *h, void *buf, size_t len,
		   uint32_t *tid)
{
	if (drvops_hfi_has_tid_notify(h))
		return drvops_hfi_tid_register_notify(h, buf, len, tid);
	return drvops_hfi_tid_register(h, buf, len, tid);
}

static uint64_t pat_next(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static uint64_t pat_start(uint32_t seed)
{
	return ((uint64_t)seed << 32) ^ 0x9e3779b97f4a7c15ULL;
}

/* A pseudo-random pattern per seed: a misplaced block shows. */
static void pattern_fill(uint8_t *p, size_t len, uint32_t seed)
{
	uint64_t x = pat_start(seed);
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		x = pat_next(x);
		memcpy(p + i, &x, 8);
	}
	x = pat_next(x);
	for (; i < len; i++)
		p[i] = (uint8_t)(x >> (8 * (i & 7)));
}

/* Offset of the first wrong byte, or len if every byte is right. */
static size_t pattern_check(const uint8_t *p, size_t len, uint32_t seed)
{
	uint64_t x = pat_start(seed);
	size_t i, k;

	for (i = 0; i + 8 <= len; i += 8) {
		x = pat_next(x);
		if (memcmp(p + i, &x, 8))
			for (k = 0; k < 8; k++)
				if (p[i + k] != (uint8_t)(x >> (8 * k)))
					return i + k;
	}
	x = pat_next(x);
	for (; i < len; i++)
		if (p[i] != (uint8_t)(x >> (8 * (i & 7))))
			return i;
	return len;
}

/* A zeroed receive buffer of len bytes at buf + GUARD + TID_OFF. */
static uint8_t *big_alloc(size_t len)
{
	void *p = mmap(NULL, len + 3 * GUARD, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void big_free(uint8_t *p, size_t len)
{
	if (p)
		munmap(p, len + 3 * GUARD);
}

/* The guards on both sides of [GUARD + TID_OFF, + len) are still 0. */
static bool guards_clean(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < GUARD + TID_OFF; i++)
		if (p[i])
			return false;
	for (i = GUARD + TID_OFF + len; i < len + 3 * GUARD; i++)
		if (p[i])
			return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

static void make_hdr(uint8_t hdr[DRVOPS_HFI_HDR_BYTES], uint32_t tag)
{
	memset(hdr, 0, DRVOPS_HFI_HDR_BYTES);
	memcpy(hdr, &tag, sizeof(tag));
	memcpy(hdr + DRVOPS_HFI_HDR_BYTES - 4, "PROC", 4);
}

static bool hdr_is(const volatile uint8_t *h, uint32_t tag)
{
	uint8_t want[DRVOPS_HFI_HDR_BYTES];

	make_hdr(want, tag);
	return !memcmp((const void *)h, want, sizeof(want));
}

/* ---- SIGBUS probing ----------------------------------------------------- */

static sigjmp_buf probe_jmp;

static void probe_handler(int sig)
{
	siglongjmp(probe_jmp, sig);
}

/* fn(arg), ended early by a SIGBUS (*sig = SIGBUS, returns 0). */
static int guarded(int (*fn)(void *), void *arg, int *sig)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old;
	volatile int ret = 0;

	sigaction(SIGBUS, &sa, &old);
	*sig = sigsetjmp(probe_jmp, 1);
	if (!*sig)
		ret = fn(arg);
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

/* ---- the control channel: fixed-size messages on a SEQPACKET pair ---- */

enum ctl_type {
	CTL_HELLO = 1,		/* lid, ctxt of a context; status of opening */
	CTL_TID,		/* tid registered (status: of registering) */
	CTL_RESULT,		/* status of a step, a/b: details */
	CTL_CREDIT,		/* a: messages consumed so far */
	CTL_STREAMING,		/* traffic flows both ways */
	CTL_GO,			/* go on (after the parent did something) */
};

struct ctl {
	uint32_t type;
	int32_t status;
	uint32_t lid, ctxt, tid, ctxt2;
	uint64_t a, b;
};

static int ctl_send(int sock, struct ctl m)
{
	ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);

	return n == (ssize_t)sizeof(m) ? 0 : n < 0 ? -errno : -EIO;
}

/* The next message of this type; credits met on the way are dropped. */
static int ctl_expect(int sock, uint32_t type, struct ctl *m, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		n = recv(sock, m, sizeof(*m), 0);
		if (!n)
			return -EPIPE;
		if (n < 0)
			return -errno;
		if (n != (ssize_t)sizeof(*m))
			return -EPROTO;
		if (m->type == type)
			return 0;
		if (m->type != CTL_CREDIT)
			return -EPROTO;
	}
}

/* Is a message waiting? */
static bool ctl_ready(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* ---- the child process ------------------------------------------------ */

struct peer {
	pid_t pid;
	int sock;
};

typedef int (*peer_fn)(int sock, void *arg);

static int peer_start(struct peer *p, peer_fn fn, void *arg)
{
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (!p->pid) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ret = fn(sv[1], arg);
		if (ret)
			fprintf(stderr, "  child %d: %s\n", getpid(),
				strerror(ret < 0 ? -ret : ret));
		_exit(ret ? 1 : 0);
	}
	close(sv[1]);
	p->sock = sv[0];
	return 0;
}

/* Reaps the child within 60 s (killing it after): its wait status, -1. */
static int peer_reap(struct peer *p)
{
	int status = -1, i;
	pid_t r = 0;

	for (i = 0; i < 6000 && !r; i++) {
		r = waitpid(p->pid, &status, WNOHANG);
		if (!r)
			usleep(10000);
	}
	if (!r) {
		fprintf(stderr, "\n  child %d did not end: killed\n", p->pid);
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		status = -1;
	} else if (r < 0) {
		status = -1;
	}
	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
	return status;
}

static bool exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && !WEXITSTATUS(status);
}

static bool killed_by_sigkill(int status)
{
	return status != -1 && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL;
}

/* ---- one context talking to the peer's ---------------------------------- */

struct link {
	struct drvops_hfi_ctx h;
	bool open;
	int sock;
	uint16_t plid, pctxt;	/* the peer's context */
};

/*
 * Open our context (the n-th current unit, key) and swap HELLOs. Both
 * sides always send theirs, so neither waits for nothing.
 */
static int link_open(struct link *l, int sock, unsigned unit,
		     const uint8_t *key)
{
	struct ctl m = { .type = CTL_HELLO };
	int ret, r;

	memset(l, 0, sizeof(*l));
	l->sock = sock;
	l->h.fd = -1;
	l->h.uverbs_fd = -1;
	ret = tl_hfi_open(&l->h, TL_HFI_CURRENT, unit, key, 0);
	if (!ret) {
		l->open = true;
		m.lid = l->h.info.lid;
		m.ctxt = l->h.info.ctxt;
	}
	m.status = ret;
	r = ctl_send(sock, m);
	if (!ret)
		ret = r;
	r = ctl_expect(sock, CTL_HELLO, &m, TIMEOUT_MS);
	if (!ret)
		ret = r ? r : m.status ? -ECONNREFUSED : 0;
	l->plid = (uint16_t)m.lid;
	l->pctxt = (uint16_t)m.ctxt;
	return ret;
}

static void link_close(struct link *l)
{
	if (l->open)
		tl_hfi_close(&l->h);
	l->open = false;
}

/* A slot's status within timeout_ms: 0, -errcode, or -ETIMEDOUT. */
static int slot_wait(struct drvops_hfi_ctx *h, int slot, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	int st;

	while ((st = drvops_hfi_slot_status(h, slot)) == 1) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return st;
}

static int send_wait(struct drvops_hfi_ctx *h, uint8_t op, uint16_t dlid,
		     uint16_t dctxt, uint32_t tid, const void *buf, size_t len,
		     uint32_t tag)
{
	struct iovec iov = { (void *)buf, len };
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	int slot;

	make_hdr(hdr, tag);
	slot = drvops_hfi_send(h, op, dlid, dctxt, tid, 0, hdr, &iov,
			       len ? 1 : 0);
	return slot < 0 ? slot : slot_wait(h, slot, TIMEOUT_MS);
}

/* One eager message from the peer into out: every packet checked. */
static int recv_eager(struct link *l, uint8_t *out, size_t len, uint32_t tag)
{
	size_t got = 0;

	for (;;) {
		const volatile struct drvops_hfi_rhq_entry *e;
		int ret = tl_hfi_recv(&l->h, &e, TIMEOUT_MS), last;

		if (ret)
			return ret;
		if (!(e->flags & DRVOPS_HFI_RHQ_EAGER) ||
		    (e->flags & DRVOPS_HFI_RHQ_EXPECTED) ||
		    e->src_lid != l->plid || e->src_ctxt != l->pctxt ||
		    e->msg_length != len || e->offset != got ||
		    e->length > len - got || !hdr_is(e->hdr, tag)) {
			drvops_hfi_consume(&l->h, e);
			return -EBADMSG;
		}
		if (e->length)
			memcpy(out + got, drvops_hfi_eager_payload(&l->h, e),
			       e->length);
		got += e->length;
		last = e->flags & DRVOPS_HFI_RHQ_LAST;
		drvops_hfi_consume(&l->h, e);
		if (last)
			return got == len ? 0 : -EBADMSG;
	}
}

/* An expected message's one entry: whole, for this tid, from the peer. */
static bool expected_entry_ok(const struct link *l,
			      const volatile struct drvops_hfi_rhq_entry *e,
			      uint32_t tid, size_t len)
{
	return e->flags == (DRVOPS_HFI_RHQ_EXPECTED | DRVOPS_HFI_RHQ_LAST) &&
	       e->tid == tid && e->length == len && e->msg_length == len &&
	       e->offset == 0 && e->src_lid == l->plid &&
	       e->src_ctxt == l->pctxt;
}

/* Consume every entry there is (expected, tid, len each); -EBADMSG. */
static int rx_take(struct link *l, uint32_t tid, size_t len, unsigned *n)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	int ret = 0;

	while ((e = drvops_hfi_peek(&l->h))) {
		if (!expected_entry_ok(l, e, tid, len))
			ret = -EBADMSG;
		drvops_hfi_consume(&l->h, e);
		(*n)++;
	}
	return ret;
}

/* ---- 1. eager and expected, both directions ---------------------------- */

struct step {
	int sender;		/* 0: parent, 1: child */
	uint8_t op;
	size_t len;
};

#define MAX_STEPS 64

static unsigned build_script(struct step *s, size_t eager_max)
{
	const size_t eager[] = { 0, 1, 31, 4096, 8191, 8192, 8193, 65536,
				 100000, eager_max - 1, eager_max };
	const size_t expected[] = { 1, 4095, 4096, 65539, 1 << 20, BIG };
	unsigned n = 0, i;
	int side;

	for (side = 0; side < 2; side++) {
		for (i = 0; i < sizeof(eager) / sizeof(eager[0]); i++)
			s[n++] = (struct step){ side, DRVOPS_HFI_OP_EAGER,
						eager[i] };
		for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
			s[n++] = (struct step){ side, DRVOPS_HFI_OP_EXPECTED,
						expected[i] };
	}
	return n;
}

static int step_send(struct link *l, const struct step *s, uint32_t tag,
		     uint8_t *buf)
{
	struct ctl m;
	uint32_t tid = 0;
	int ret;

	if (s->op == DRVOPS_HFI_OP_EXPECTED) {
		/* The receiver registers its buffer and tells us the tid. */
		ret = ctl_expect(l->sock, CTL_TID, &m, TIMEOUT_MS);
		if (ret)
			return ret;
		if (m.status)
			return -ECANCELED;
		tid = m.tid;
	}
	pattern_fill(buf, s->len, tag);
	return send_wait(&l->h, s->op, l->plid, l->pctxt, tid, buf, s->len,
			 tag);
}

static int step_recv(struct link *l, const struct step *s, uint32_t tag,
		     uint8_t *buf)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	uint8_t *dst = buf + GUARD + TID_OFF;
	uint32_t tid = 0;
	int ret, r;

	memset(buf, 0, s->len + 3 * GUARD);
	if (s->op == DRVOPS_HFI_OP_EAGER) {
		ret = recv_eager(l, dst, s->len, tag);
	} else {
		ret = reg_tid(&l->h, dst, s->len, &tid);
		r = ctl_send(l->sock, (struct ctl){ .type = CTL_TID,
						    .status = ret, .tid = tid });
		if (ret || r)
			return ret ? ret : r;
		ret = tl_hfi_recv(&l->h, &e, TIMEOUT_MS);
		if (!ret) {
			if (!expected_entry_ok(l, e, tid, s->len) ||
			    !hdr_is(e->hdr, tag))
				ret = -EBADMSG;
			drvops_hfi_consume(&l->h, e);
		}
		r = drvops_hfi_tid_free(&l->h, tid);
		if (!ret)
			ret = r;
	}
	if (!ret && pattern_check(dst, s->len, tag) != s->len)
		ret = -EILSEQ;
	if (!ret && !guards_clean(buf, s->len))
		ret = -EOVERFLOW;
	return ret;
}

/*
 * Both sides run the same script; each step's two results are swapped.
 * Returns 0 or the error of the control channel.
 */
static int run_script(struct link *l, int side, const struct step *s,
		      unsigned n, uint8_t *buf, int *mine, int *theirs)
{
	struct ctl m;
	unsigned i;
	int ret;

	for (i = 0; i < n; i++) {
		uint32_t tag = 1000 + i;

		mine[i] = s[i].sender == side ? step_send(l, &s[i], tag, buf) :
						step_recv(l, &s[i], tag, buf);
		ret = ctl_send(l->sock, (struct ctl){ .type = CTL_RESULT,
						      .status = mine[i],
						      .a = i });
		if (!ret)
			ret = ctl_expect(l->sock, CTL_RESULT, &m, 2 * TIMEOUT_MS);
		if (ret)
			return ret;
		theirs[i] = m.a == i ? m.status : -EPROTO;
	}
	return 0;
}

static int child_script(int sock, void *arg)
{
	int mine[MAX_STEPS], theirs[MAX_STEPS], ret;
	struct step s[MAX_STEPS];
	uint8_t *buf = big_alloc(BIG);
	struct link l;
	unsigned n;

	(void)arg;
	ret = link_open(&l, sock, 1, tl_hfi_job_a);
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret) {
		n = build_script(s, l.h.info.eager_max);
		ret = run_script(&l, 1, s, n, buf, mine, theirs);
		while (!ret && n--)
			ret = mine[n];
	}
	link_close(&l);
	big_free(buf, BIG);
	return ret;
}

static void test_eager_and_expected_both_directions(void)
{
	int mine[MAX_STEPS], theirs[MAX_STEPS], status;
	struct step s[MAX_STEPS];
	struct tl_stats base;
	struct peer p;
	struct link l;
	uint8_t *buf;
	unsigned n, i;

	TL_ASSERT_OK(tl_read_stats(&base));
	buf = big_alloc(BIG);
	CU_ASSERT_FATAL(buf != NULL);
	TL_ASSERT_OK(peer_start(&p, child_script, NULL));
	TL_ASSERT_OK(link_open(&l, p.sock, 0, tl_hfi_job_a));
	/* Two units, two processes. */
	CU_ASSERT(l.plid != l.h.info.lid);
	n = build_script(s, l.h.info.eager_max);
	TL_ASSERT_OK(run_script(&l, 0, s, n, buf, mine, theirs));
	for (i = 0; i < n; i++) {
		if (mine[i] || theirs[i])
			fprintf(stderr,
				"\n  step %u: %s %s %zu B: parent %s, child %s",
				i, s[i].sender ? "child->parent" :
				"parent->child", s[i].op == DRVOPS_HFI_OP_EAGER ?
				"eager" : "expected", s[i].len,
				strerror(-mine[i]), strerror(-theirs[i]));
		CU_ASSERT(mine[i] == 0);
		CU_ASSERT(theirs[i] == 0);
	}
	status = peer_reap(&p);
	CU_ASSERT(exited_ok(status));
	link_close(&l);
	big_free(buf, BIG);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
}

/* ---- 2. ordering ---------------------------------------------------- */

#define ORD_N 1000
#define ORD_LEN 64
#define ORD_WINDOW 64		/* unconsumed at the receiver: < its rings */
#define ORD_INFLIGHT 32		/* uncompleted at the sender */

/*
 * Record the completed prefix of [*done, sent). Newest first: an older
 * request still queued after a newer one completed breaks the flow's
 * order (a newer completion read first cannot be a race).
 */
static int ord_reap(struct drvops_hfi_ctx *h, const int *slots,
		    unsigned *done, unsigned sent)
{
	bool newer_done = false;
	unsigned j;
	int st;

	for (j = sent; j-- > *done;) {
		st = drvops_hfi_slot_status(h, slots[j]);
		if (st == 1 && newer_done)
			return -EILSEQ;
		if (st != 1)
			newer_done = true;
	}
	while (*done < sent) {
		st = drvops_hfi_slot_status(h, slots[*done]);
		if (st == 1)
			break;
		if (st)
			return st;
		(*done)++;
	}
	return 0;
}

static int ord_send(struct link *l)
{
	/* A payload stays the kernel's until its request completes. */
	static uint32_t payloads[ORD_INFLIGHT][ORD_LEN / 4];
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	unsigned i, k, done = 0, credits = 0;
	static int slots[ORD_N];
	double end;
	struct ctl m;
	int ret;

	for (i = 0; i < ORD_N; i++) {
		uint32_t *payload = payloads[i % ORD_INFLIGHT];
		struct iovec iov = { payload, sizeof(payloads[0]) };

		while (i - credits >= ORD_WINDOW) {
			ret = ctl_expect(l->sock, CTL_CREDIT, &m, TIMEOUT_MS);
			if (ret)
				return ret;
			credits = (unsigned)m.a;
		}
		end = now_ms() + TIMEOUT_MS;
		/* Also frees the payload buffer of message i - INFLIGHT. */
		while (i - done >= ORD_INFLIGHT) {
			ret = ord_reap(&l->h, slots, &done, i);
			if (ret)
				return ret;
			if (now_ms() > end)
				return -ETIMEDOUT;
			sched_yield();
		}
		for (k = 0; k < ORD_LEN / 4; k++)
			payload[k] = i;
		make_hdr(hdr, i);
		slots[i] = drvops_hfi_send(&l->h, DRVOPS_HFI_OP_EAGER, l->plid,
					   l->pctxt, 0, 0, hdr, &iov, 1);
		if (slots[i] < 0)
			return slots[i];
		ret = ord_reap(&l->h, slots, &done, i + 1);
		if (ret)
			return ret;
	}
	end = now_ms() + TIMEOUT_MS;
	while (done < ORD_N) {
		ret = ord_reap(&l->h, slots, &done, ORD_N);
		if (ret)
			return ret;
		if (now_ms() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

/* 0, or -EBADMSG with *bad the first message out of place. */
static int ord_recv(struct link *l, unsigned *bad)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	uint32_t payload[ORD_LEN / 4];
	int ret, first = 0;
	unsigned i, k;

	*bad = ORD_N;
	for (i = 0; i < ORD_N; i++) {
		ret = tl_hfi_recv(&l->h, &e, TIMEOUT_MS);
		if (ret)
			return ret;
		ret = e->flags == (DRVOPS_HFI_RHQ_EAGER | DRVOPS_HFI_RHQ_LAST) &&
		      e->length == ORD_LEN && e->msg_length == ORD_LEN &&
		      e->src_lid == l->plid && e->src_ctxt == l->pctxt &&
		      hdr_is(e->hdr, i);
		if (ret) {
			memcpy(payload, drvops_hfi_eager_payload(&l->h, e),
			       sizeof(payload));
			for (k = 0; k < ORD_LEN / 4; k++)
				ret &= payload[k] == i;
		}
		drvops_hfi_consume(&l->h, e);
		if (!ret && !first) {
			first = -EBADMSG;
			*bad = i;
		}
		if (!((i + 1) % 16)) {
			ret = ctl_send(l->sock, (struct ctl){
				.type = CTL_CREDIT, .a = i + 1 });
			if (ret)
				return ret;
		}
	}
	return first;
}

/*
 * Parent sends first, then the child; results swapped after each:
 * res[dir][0] ours, res[dir][1] the peer's. Returns 0 or the error of the
 * control channel.
 */
static int run_ordered(struct link *l, int side, int res[2][2],
		       unsigned bad[2])
{
	struct ctl m;
	int dir, ret;

	for (dir = 0; dir < 2; dir++) {
		bad[dir] = ORD_N;
		res[dir][0] = dir == side ? ord_send(l) :
			      ord_recv(l, &bad[dir]);
		ret = ctl_send(l->sock, (struct ctl){ .type = CTL_RESULT,
						      .status = res[dir][0],
						      .a = bad[dir] });
		if (!ret)
			ret = ctl_expect(l->sock, CTL_RESULT, &m, 2 * TIMEOUT_MS);
		if (ret)
			return ret;
		res[dir][1] = m.status;
		if (dir == side)
			bad[dir] = (unsigned)m.a;
	}
	return 0;
}

static int child_ordered(int sock, void *arg)
{
	int res[2][2], ret;
	unsigned bad[2];
	struct link l;

	(void)arg;
	ret = link_open(&l, sock, 1, tl_hfi_job_a);
	if (!ret)
		ret = run_ordered(&l, 1, res, bad);
	if (!ret)
		ret = res[0][0] ? res[0][0] : res[1][0];
	link_close(&l);
	return ret;
}

static void test_1000_messages_arrive_in_order(void)
{
	struct drvops_hfi_counters c;
	struct tl_stats base;
	int res[2][2], dir;
	unsigned bad[2];
	struct peer p;
	struct link l;

	TL_ASSERT_OK(tl_read_stats(&base));
	TL_ASSERT_OK(peer_start(&p, child_ordered, NULL));
	TL_ASSERT_OK(link_open(&l, p.sock, 0, tl_hfi_job_a));
	TL_ASSERT_OK(run_ordered(&l, 0, res, bad));
	for (dir = 0; dir < 2; dir++) {
		/* res[dir]: [0] ours, [1] the child's; sender = dir. */
		int snd = dir == 0 ? res[dir][0] : res[dir][1];
		int rcv = dir == 0 ? res[dir][1] : res[dir][0];

		if (snd || rcv)
			fprintf(stderr,
				"\n  %s: sender %s, receiver %s (first out of order: %u)",
				dir ? "child->parent" : "parent->child",
				strerror(-snd), strerror(-rcv), bad[dir]);
		CU_ASSERT(snd == 0);
		CU_ASSERT(rcv == 0);
		CU_ASSERT(bad[dir] == ORD_N);
	}
	/* Flow control kept every message: none dropped. */
	TL_ASSERT_OK(drvops_hfi_counters(&l.h, &c));
	CU_ASSERT(c.tx_packets == ORD_N && c.rx_packets == ORD_N);
	CU_ASSERT(c.tx_errors == 0 && c.rx_dropped == 0);
	CU_ASSERT(exited_ok(peer_reap(&p)));
	link_close(&l);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
}

/* ---- 3. job keys ------------------------------------------------------- */

/*
 * The child: context B (job B) and context A2 (job A) on hfi1. The
 * parent (job A) reaches A2 but not B; B reaches nothing of job A.
 */
static int child_job_keys(int sock, void *arg)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	struct drvops_hfi_ctx a2 = { .fd = -1, .uverbs_fd = -1 };
	struct drvops_hfi_counters c;
	uint8_t *buf = big_alloc(65536), msg[256];
	struct link l;
	struct ctl m;
	uint32_t tid = 0;
	int ret, check = 0;

	(void)arg;
	/* HELLO carries B's context; A2 goes in ctxt2 of CTL_TID. */
	ret = link_open(&l, sock, 1, tl_hfi_job_b);
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret)
		ret = tl_hfi_open(&a2, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0);
	if (!ret)
		ret = reg_tid(&l.h, buf + GUARD, 65536 - GUARD,
					      &tid);
	ret = ctl_send(sock, (struct ctl){ .type = CTL_TID, .status = ret,
					   .tid = tid,
					   .ctxt2 = a2.fd >= 0 ?
						    a2.info.ctxt : 0 }) ?: ret;
	if (ret)
		goto out;
	/* The parent has sent to B (eager, expected) and to A2. */
	ret = ctl_expect(sock, CTL_GO, &m, TIMEOUT_MS);
	if (ret)
		goto out;
#define CHECK(cond)                                                         \
	do {                                                                \
		check++;                                                    \
		if (!(cond)) {                                              \
			ret = -EACCES;                                      \
			goto report;                                        \
		}                                                           \
	} while (0)
	/* 1: B got nothing, 2: B's buffer untouched. */
	CHECK(tl_hfi_recv(&l.h, &e, 300) == -ETIMEDOUT);
	CHECK(all_zero(buf, 65536));
	/* 3, 4: counters of B: nothing received, nothing dropped. */
	CHECK(!drvops_hfi_counters(&l.h, &c));
	CHECK(c.rx_packets == 0 && c.rx_dropped == 0);
	/* 5, 6: A2 (same key, same unit as B) got the parent's message. */
	CHECK(!tl_hfi_recv(&a2, &e, TIMEOUT_MS));
	CHECK(e->src_lid == l.plid && e->src_ctxt == l.pctxt &&
	      e->length == 100 && e->flags == (DRVOPS_HFI_RHQ_EAGER |
					       DRVOPS_HFI_RHQ_LAST));
	drvops_hfi_consume(&a2, e);
	/* 7: B cannot reach the parent (job A) either. */
	memset(msg, 0xab, sizeof(msg));
	CHECK(send_wait(&l.h, DRVOPS_HFI_OP_EAGER, l.plid, l.pctxt, 0, msg,
			sizeof(msg), 7) == -EHOSTUNREACH);
	/* 8: and it counts as a transmit error. */
	CHECK(!drvops_hfi_counters(&l.h, &c) && c.tx_errors == 1 &&
	      c.tx_packets == 0);
	/* 9: the tid is free of transfers. */
	CHECK(!drvops_hfi_tid_free(&l.h, tid));
	check = 0;
#undef CHECK
report:
	ret = ctl_send(sock, (struct ctl){ .type = CTL_RESULT, .status = ret,
					   .a = check }) ?: ret;
out:
	if (a2.fd >= 0)
		tl_hfi_close(&a2);
	link_close(&l);
	big_free(buf, 65536);
	return ret;
}

static void test_job_keys_isolate_processes(void)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	struct drvops_hfi_counters c;
	uint8_t msg[100];
	struct tl_stats base;
	struct peer p;
	struct link l;
	struct ctl m;

	TL_ASSERT_OK(tl_read_stats(&base));
	TL_ASSERT_OK(peer_start(&p, child_job_keys, NULL));
	TL_ASSERT_OK(link_open(&l, p.sock, 0, tl_hfi_job_a));
	TL_ASSERT_OK(ctl_expect(p.sock, CTL_TID, &m, TIMEOUT_MS));
	TL_ASSERT_OK(m.status);
	memset(msg, 0x5a, sizeof(msg));
	/* To B: eager and expected (into B's own tid) are unreachable. */
	TL_ASSERT_ERR(send_wait(&l.h, DRVOPS_HFI_OP_EAGER, l.plid, l.pctxt, 0,
				msg, sizeof(msg), 1), EHOSTUNREACH);
	TL_ASSERT_ERR(send_wait(&l.h, DRVOPS_HFI_OP_EXPECTED, l.plid, l.pctxt,
				m.tid, msg, sizeof(msg), 2), EHOSTUNREACH);
	/* To A2 in the same process on the same unit: delivered. */
	TL_ASSERT_OK(send_wait(&l.h, DRVOPS_HFI_OP_EAGER, l.plid,
			       (uint16_t)m.ctxt2, 0, msg, sizeof(msg), 3));
	TL_ASSERT_OK(ctl_send(p.sock, (struct ctl){ .type = CTL_GO }));
	TL_ASSERT_OK(ctl_expect(p.sock, CTL_RESULT, &m, 2 * TIMEOUT_MS));
	if (m.status)
		fprintf(stderr, "\n  child check %lu failed",
			(unsigned long)m.a);
	CU_ASSERT(m.status == 0);
	/* B's message never arrived here. */
	TL_ASSERT_ERR(tl_hfi_recv(&l.h, &e, 300), ETIMEDOUT);
	TL_ASSERT_OK(drvops_hfi_counters(&l.h, &c));
	CU_ASSERT(c.tx_errors == 2 && c.tx_packets == 1);
	CU_ASSERT(c.rx_packets == 0 && c.rx_dropped == 0);
	CU_ASSERT(exited_ok(peer_reap(&p)));
	link_close(&l);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
}

/* ---- 4. teardown with traffic in flight ------------------------------ */

#define STREAM_DEPTH 4

/* A stream of EXPECTED sends of one buffer into the peer's tid. */
struct stream {
	struct drvops_hfi_ctx *h;
	uint16_t dlid, dctxt;
	uint32_t tid;
	const uint8_t *buf;
	size_t len;
	int slots[STREAM_DEPTH];
	unsigned head, count;	/* FIFO of slots in flight */
	unsigned ok, unreach, other;
	int other_err;
};

static void stream_init(struct stream *s, struct link *l, uint32_t tid,
			const uint8_t *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->h = &l->h;
	s->dlid = l->plid;
	s->dctxt = l->pctxt;
	s->tid = tid;
	s->buf = buf;
	s->len = len;
}

static int stream_submit(struct stream *s)
{
	struct iovec iov = { (void *)s->buf, s->len };
	int slot = drvops_hfi_send(s->h, DRVOPS_HFI_OP_EXPECTED, s->dlid,
				   s->dctxt, s->tid, 0, NULL, &iov, 1);

	if (slot < 0)
		return slot;
	s->slots[(s->head + s->count++) % STREAM_DEPTH] = slot;
	return 0;
}

/* Record what completed (oldest first), then top up to depth. */
static int stream_pump(struct stream *s, unsigned depth)
{
	int st, ret;

	while (s->count) {
		st = drvops_hfi_slot_status(s->h, s->slots[s->head]);
		if (st == 1)
			break;
		if (!st) {
			s->ok++;
		} else if (st == -EHOSTUNREACH) {
			s->unreach++;
		} else {
			s->other++;
			s->other_err = st;
		}
		s->head = (s->head + 1) % STREAM_DEPTH;
		s->count--;
	}
	while (s->count < depth) {
		ret = stream_submit(s);
		if (ret)
			return ret;
	}
	return 0;
}

/* Wait until nothing is in flight. */
static int stream_drain(struct stream *s, int timeout_ms)
{
	double end = now_ms() + timeout_ms;

	while (s->count) {
		stream_pump(s, 0);
		if (now_ms() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

/* A request straight to writev (the library would read the comp page). */
static int raw_writev(int fd)
{
	struct drvops_hfi_sdma_req r = {
		.size = sizeof(r),
		.opcode = DRVOPS_HFI_OP_EAGER,
		.dlid = 1,
	};
	struct iovec v = { &r, sizeof(r) };

	return writev(fd, &v, 1) < 0 ? -errno : 0;
}

/*
 * A dead driver-ops fd: writev, ioctls and mmap fail with EIO, poll says
 * POLLERR|POLLHUP, every mapped region faults with SIGBUS. Returns how
 * many of these did not hold (and says which on stderr).
 */
static unsigned dead_checks(struct drvops_hfi_ctx *h, const char *who)
{
	struct drvops_hfi_ctxt_info info = { .size = sizeof(info) };
	struct drvops_hfi_counters c = { .size = sizeof(c) };
	struct pollfd p = { .fd = h->fd, .events = POLLIN | POLLOUT };
	const char *failed[16];
	unsigned n = 0, i;
	void *m;

	if (raw_writev(h->fd) != -EIO)
		failed[n++] = "writev != EIO";
	if (tl_hfi_ioctl(h->fd, DRVOPS_HFI_IOCTL_CTXT_INFO, &info) != -EIO)
		failed[n++] = "CTXT_INFO != EIO";
	if (tl_hfi_ioctl(h->fd, DRVOPS_HFI_IOCTL_COUNTERS, &c) != -EIO)
		failed[n++] = "COUNTERS != EIO";
	if (poll(&p, 1, 0) != 1 ||
	    (p.revents & (POLLERR | POLLHUP)) != (POLLERR | POLLHUP))
		failed[n++] = "poll != POLLERR|POLLHUP";
	errno = 0;
	m = mmap(NULL, h->info.mmap_length[DRVOPS_HFI_MMAP_USER],
		 PROT_READ | PROT_WRITE, MAP_SHARED, h->fd,
		 (off_t)h->info.mmap_offset[DRVOPS_HFI_MMAP_USER]);
	if (m != MAP_FAILED) {
		munmap(m, h->info.mmap_length[DRVOPS_HFI_MMAP_USER]);
		failed[n++] = "mmap succeeded";
	} else if (errno != EIO) {
		failed[n++] = "mmap != EIO";
	}
	if (tl_probe_read(h->rhq) != SIGBUS)
		failed[n++] = "RHQ page readable";
	if (tl_probe_read(h->eager) != SIGBUS)
		failed[n++] = "eager page readable";
	if (tl_probe_read(h->comp) != SIGBUS)
		failed[n++] = "completion page readable";
	if (tl_probe_read(h->user) != SIGBUS)
		failed[n++] = "user page readable";
	for (i = 0; i < n; i++)
		fprintf(stderr, "\n  %s: dead fd: %s", who, failed[i]);
	return n;
}

/* Unmap and close a dead context: close must work; 0 or -errno. */
static int dead_close(struct drvops_hfi_ctx *h)
{
	int ret = 0;

	munmap((void *)h->rhq, h->info.mmap_length[DRVOPS_HFI_MMAP_RHQ]);
	munmap((void *)h->eager, h->info.mmap_length[DRVOPS_HFI_MMAP_EAGER]);
	munmap((void *)h->comp, h->info.mmap_length[DRVOPS_HFI_MMAP_COMP]);
	munmap((void *)h->user, h->info.mmap_length[DRVOPS_HFI_MMAP_USER]);
	if (close(h->fd))
		ret = -errno;
	if (h->uverbs_fd >= 0 && close(h->uverbs_fd) && !ret)
		ret = -errno;
	h->fd = -1;
	h->uverbs_fd = -1;
	return ret;
}

/* -- kill -9 of the sender ---------------------------------------------- */

/* Streams 16 MiB EXPECTED sends into the parent's tid until killed. */
static int child_stream_until_killed(int sock, void *arg)
{
	uint8_t *buf = big_alloc(BIG);
	struct stream s;
	struct link l;
	struct ctl m;
	int ret;

	(void)arg;
	ret = link_open(&l, sock, 1, tl_hfi_job_a);
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret)
		ret = ctl_expect(sock, CTL_TID, &m, TIMEOUT_MS);
	if (ret)
		return ret;
	pattern_fill(buf, BIG, STREAM_SEED);
	stream_init(&s, &l, m.tid, buf, BIG);
	for (;;) {
		ret = stream_pump(&s, STREAM_DEPTH);
		if (ret || s.other || s.unreach)
			return ret ? ret : s.other ? s.other_err : -EHOSTUNREACH;
		sched_yield();
	}
}

static void test_kill9_sender_mid_stream(void)
{
	unsigned long t0 = tainted();
	const volatile struct drvops_hfi_rhq_entry *e;
	struct drvops_hfi_counters c;
	uint8_t *buf = big_alloc(BIG), *dst, msg[64] = "anyone there?";
	struct tl_stats base;
	unsigned n = 0;
	uint32_t tid;
	struct peer p;
	struct link l;
	int ret = 0;

	TL_ASSERT_OK(tl_read_stats(&base));
	CU_ASSERT_FATAL(buf != NULL);
	dst = buf + GUARD + TID_OFF;
	TL_ASSERT_OK(peer_start(&p, child_stream_until_killed, NULL));
	TL_ASSERT_OK(link_open(&l, p.sock, 0, tl_hfi_job_a));
	TL_ASSERT_OK(reg_tid(&l.h, dst, BIG, &tid));
	TL_ASSERT_OK(ctl_send(p.sock, (struct ctl){ .type = CTL_TID,
						    .tid = tid }));
	/* Two whole messages in, more on the way: kill it. */
	while (n < 2 && !ret) {
		ret = tl_hfi_recv(&l.h, &e, TIMEOUT_MS);
		if (!ret)
			ret = rx_take(&l, tid, BIG, &n);
	}
	TL_ASSERT_OK(ret);
	usleep(20000);
	CU_ASSERT(kill(p.pid, SIGKILL) == 0);
	CU_ASSERT(killed_by_sigkill(peer_reap(&p)));

	/* Whatever arrived is whole; nothing half-posted, nothing dropped. */
	TL_ASSERT_OK(rx_take(&l, tid, BIG, &n));
	usleep(100000);
	TL_ASSERT_OK(rx_take(&l, tid, BIG, &n));
	TL_ASSERT_OK(drvops_hfi_counters(&l.h, &c));
	CU_ASSERT(c.rx_packets == n && c.rx_bytes == n * BIG);
	CU_ASSERT(c.rx_dropped == 0);
	/* A copy under way when it died was finished, not cut short. */
	CU_ASSERT(pattern_check(dst, BIG, STREAM_SEED) == BIG);
	CU_ASSERT(guards_clean(buf, BIG));
	/* No transfer into the tid is left; the dead context is gone. */
	TL_ASSERT_OK(drvops_hfi_tid_free(&l.h, tid));
	TL_ASSERT_ERR(send_wait(&l.h, DRVOPS_HFI_OP_EAGER, l.plid, l.pctxt, 0,
				msg, sizeof(msg), 1), EHOSTUNREACH);
	link_close(&l);
	big_free(buf, BIG);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
	CU_ASSERT(no_new_warn(t0));
}

/* -- kill -9 of the receiver ----------------------------------------------- */

/* Registers a 16 MiB tid, says which, then consumes until killed. */
static int child_receive_until_killed(int sock, void *arg)
{
	uint8_t *buf = big_alloc(BIG);
	struct link l;
	uint32_t tid = 0;
	unsigned n = 0;
	int ret;

	(void)arg;
	ret = link_open(&l, sock, 1, tl_hfi_job_a);
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret)
		ret = reg_tid(&l.h, buf + GUARD, BIG, &tid);
	ret = ctl_send(sock, (struct ctl){ .type = CTL_TID, .status = ret,
					   .tid = tid }) ?: ret;
	if (ret)
		return ret;
	for (;;) {
		drvops_hfi_wait_recv(&l.h, 100);
		if (rx_take(&l, tid, BIG, &n))
			return -EBADMSG;
	}
}

static void test_kill9_receiver_mid_stream(void)
{
	unsigned long t0 = tainted();
	struct drvops_hfi_counters c;
	uint8_t *buf = big_alloc(BIG), msg[64] = "anyone there?";
	struct tl_stats base;
	unsigned ok_before, i;
	long lck0 = tl_vm_pinned_kb();
	struct stream s;
	struct peer p;
	struct link l;
	struct ctl m;
	double end;
	int ret = 0;

	TL_ASSERT_OK(tl_read_stats(&base));
	CU_ASSERT_FATAL(buf != NULL && lck0 >= 0);
	pattern_fill(buf, BIG, STREAM_SEED);
	TL_ASSERT_OK(peer_start(&p, child_receive_until_killed, NULL));
	TL_ASSERT_OK(link_open(&l, p.sock, 0, tl_hfi_job_a));
	TL_ASSERT_OK(ctl_expect(p.sock, CTL_TID, &m, TIMEOUT_MS));
	TL_ASSERT_OK(m.status);
	stream_init(&s, &l, m.tid, buf, BIG);
	end = now_ms() + 2 * TIMEOUT_MS;
	while (s.ok < 3 && !ret && !s.other && !s.unreach) {
		ret = stream_pump(&s, STREAM_DEPTH);
		if (now_ms() > end)
			ret = -ETIMEDOUT;
		sched_yield();
	}
	TL_ASSERT_OK(ret);
	CU_ASSERT_FATAL(s.other == 0 && s.unreach == 0);
	/* Kill it with a full pipeline of 16 MiB requests queued. */
	TL_ASSERT_OK(stream_pump(&s, STREAM_DEPTH));
	CU_ASSERT(s.count == STREAM_DEPTH);
	CU_ASSERT(kill(p.pid, SIGKILL) == 0);
	CU_ASSERT(killed_by_sigkill(peer_reap(&p)));

	/* What was in flight was delivered or is unreachable: nothing else. */
	TL_ASSERT_OK(stream_drain(&s, TIMEOUT_MS));
	if (s.other)
		fprintf(stderr, "\n  in flight at the kill: %u ended %s", s.other,
			strerror(-s.other_err));
	CU_ASSERT(s.other == 0);
	/* New requests: each completes ERROR with EHOSTUNREACH. */
	ok_before = s.ok;
	for (i = 0; i < STREAM_DEPTH; i++)
		TL_ASSERT_OK(stream_submit(&s));
	TL_ASSERT_OK(stream_drain(&s, TIMEOUT_MS));
	CU_ASSERT(s.ok == ok_before && s.other == 0);
	for (i = 0; i < STREAM_DEPTH; i++) {
		const volatile struct drvops_hfi_comp *comp =
			&l.h.comp[s.slots[i]];

		CU_ASSERT(comp->status == DRVOPS_HFI_COMP_ERROR &&
			  comp->errcode == EHOSTUNREACH);
	}
	TL_ASSERT_ERR(send_wait(&l.h, DRVOPS_HFI_OP_EAGER, l.plid, l.pctxt, 0,
				msg, sizeof(msg), 1), EHOSTUNREACH);
	TL_ASSERT_OK(drvops_hfi_counters(&l.h, &c));
	CU_ASSERT(c.tx_packets == s.ok && c.tx_bytes == s.ok * BIG);
	CU_ASSERT(c.tx_errors == s.unreach + 1);
	/* Every payload page is unpinned again. */
	CU_ASSERT(tl_vm_pinned_kb() == lck0);
	link_close(&l);
	big_free(buf, BIG);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
	CU_ASSERT(no_new_warn(t0));
}

/* -- close of the sender's uverbs fd ---------------------------------------- */

/* Receives until told to stop, then checks and reports. */
static int child_receive_until_stop(int sock, void *arg)
{
	uint8_t *buf = big_alloc(BIG), msg[64] = "still there?";
	struct link l;
	uint32_t tid = 0;
	unsigned n = 0;
	int ret, bad = 0, check = 0;
	struct ctl m;

	(void)arg;
	ret = link_open(&l, sock, 1, tl_hfi_job_a);
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret)
		ret = reg_tid(&l.h, buf + GUARD + TID_OFF, BIG,
					      &tid);
	ret = ctl_send(sock, (struct ctl){ .type = CTL_TID, .status = ret,
					   .tid = tid }) ?: ret;
	if (ret)
		return ret;
	while (!ctl_ready(sock)) {
		drvops_hfi_wait_recv(&l.h, 20);
		bad |= rx_take(&l, tid, BIG, &n);
	}
	ret = ctl_expect(sock, CTL_GO, &m, TIMEOUT_MS);
	if (ret)
		return ret;
	usleep(100000);
	bad |= rx_take(&l, tid, BIG, &n);
	/* 1: only whole messages; 2: at least one; 3: landed intact. */
	ret = -EACCES;
	check = 1;
	if (bad)
		goto report;
	check = 2;
	if (!n)
		goto report;
	check = 3;
	if (pattern_check(buf + GUARD + TID_OFF, BIG, STREAM_SEED) != BIG ||
	    !guards_clean(buf, BIG))
		goto report;
	/* 4: the sender's context is gone from the fabric. */
	check = 4;
	if (send_wait(&l.h, DRVOPS_HFI_OP_EAGER, l.plid, l.pctxt, 0, msg,
		      sizeof(msg), 1) != -EHOSTUNREACH)
		goto report;
	/* 5: no transfer into the tid is left. */
	check = 5;
	if (drvops_hfi_tid_free(&l.h, tid))
		goto report;
	ret = 0;
	check = 0;
report:
	ret = ctl_send(sock, (struct ctl){ .type = CTL_RESULT, .status = ret,
					   .a = check, .b = n }) ?: ret;
	link_close(&l);
	big_free(buf, BIG);
	return ret;
}

static void test_close_sender_uverbs_fd_mid_stream(void)
{
	unsigned long t0 = tainted();
	uint8_t *buf = big_alloc(BIG), *own = big_alloc(1 << 20);
	long lck0 = tl_vm_pinned_kb(), lck1;
	struct tl_stats base;
	uint32_t own_tid;
	struct stream s;
	struct peer p;
	struct link l;
	struct ctl m;
	double end;
	int ret = 0;

	TL_ASSERT_OK(tl_read_stats(&base));
	CU_ASSERT_FATAL(buf && own && lck0 >= 0);
	pattern_fill(buf, BIG, STREAM_SEED);
	TL_ASSERT_OK(peer_start(&p, child_receive_until_stop, NULL));
	TL_ASSERT_OK(link_open(&l, p.sock, 0, tl_hfi_job_a));
	TL_ASSERT_OK(ctl_expect(p.sock, CTL_TID, &m, TIMEOUT_MS));
	TL_ASSERT_OK(m.status);
	/* A tid of our own too: its pages are locked as well. */
	TL_ASSERT_OK(reg_tid(&l.h, own, 1 << 20, &own_tid));
	stream_init(&s, &l, m.tid, buf, BIG);
	end = now_ms() + 2 * TIMEOUT_MS;
	while (s.ok < 2 && !ret && !s.other && !s.unreach) {
		ret = stream_pump(&s, STREAM_DEPTH);
		if (now_ms() > end)
			ret = -ETIMEDOUT;
		sched_yield();
	}
	TL_ASSERT_OK(ret);
	CU_ASSERT_FATAL(s.other == 0 && s.unreach == 0);
	TL_ASSERT_OK(stream_pump(&s, STREAM_DEPTH));
	CU_ASSERT(s.count == STREAM_DEPTH);
	lck1 = tl_vm_pinned_kb();
	/* At least the tid is pinned (and what is still queued). */
	CU_ASSERT(lck1 >= lck0 + 1024);

	/* The uverbs fd goes with four 16 MiB requests queued. */
	CU_ASSERT(close(l.h.uverbs_fd) == 0);
	l.h.uverbs_fd = -1;
	CU_ASSERT(dead_checks(&l.h, "sender") == 0);
	end = now_ms() + 5000;
	while (tl_vm_pinned_kb() != lck0 && now_ms() < end)
		usleep(10000);
	if (tl_vm_pinned_kb() != lck0)
		fprintf(stderr, "\n  VmPin %ld kB, before %ld kB (%ld with traffic)",
			tl_vm_pinned_kb(), lck0, lck1);
	CU_ASSERT(tl_vm_pinned_kb() == lck0);

	/* The receiver saw whole messages only, and we are unreachable. */
	TL_ASSERT_OK(ctl_send(p.sock, (struct ctl){ .type = CTL_GO }));
	TL_ASSERT_OK(ctl_expect(p.sock, CTL_RESULT, &m, 2 * TIMEOUT_MS));
	if (m.status)
		fprintf(stderr, "\n  receiver check %lu failed (%lu received)",
			(unsigned long)m.a, (unsigned long)m.b);
	CU_ASSERT(m.status == 0 && m.b >= 1);
	CU_ASSERT(exited_ok(peer_reap(&p)));

	CU_ASSERT(dead_close(&l.h) == 0);
	l.open = false;
	big_free(buf, BIG);
	big_free(own, 1 << 20);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
	CU_ASSERT(tl_vm_pinned_kb() == lck0);
	CU_ASSERT(no_new_warn(t0));
}

/* -- rmmod of drvops_hfi while both stream -------------------------------- */

/* Both sides: send into the peer's tid and receive into our own. */
struct duplex {
	struct link *l;
	struct stream s;
	uint32_t rx_tid;
	unsigned received;
	int rx_err;
	/* Parent: stop once this much flowed and the child said so. */
	bool parent;
	bool child_streaming;
	bool told;		/* child: STREAMING sent */
};

static bool duplex_flowing(const struct duplex *d)
{
	return d->received >= 1 && d->s.ok >= 1;
}

/* Pump until an error (rmmod) or, for the parent, until both flow. */
static int duplex_pump(void *arg)
{
	struct duplex *d = arg;
	double end = now_ms() + 4 * TIMEOUT_MS;
	struct ctl m;
	int ret;

	for (;;) {
		ret = stream_pump(&d->s, 2);
		if (ret)
			return ret;
		if (d->s.other)
			return d->s.other_err;
		d->rx_err |= rx_take(d->l, d->rx_tid, BIG, &d->received);
		if (!d->parent && !d->told && duplex_flowing(d)) {
			ret = ctl_send(d->l->sock,
				       (struct ctl){ .type = CTL_STREAMING });
			if (ret)
				return ret;
			d->told = true;
		}
		if (d->parent && !d->child_streaming &&
		    ctl_ready(d->l->sock)) {
			ret = ctl_expect(d->l->sock, CTL_STREAMING, &m, 0);
			if (ret)
				return ret;
			d->child_streaming = true;
		}
		if (d->parent && d->child_streaming && duplex_flowing(d))
			return 0;
		if (now_ms() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
}

/* Open, register a tid over rx, swap tids. */
static int duplex_open(struct duplex *d, struct link *l, int sock,
		       unsigned unit, uint8_t *rx, const uint8_t *tx)
{
	struct ctl m = { 0 };
	uint32_t tid = 0;
	int ret;

	memset(d, 0, sizeof(*d));
	d->l = l;
	ret = link_open(l, sock, unit, tl_hfi_job_a);
	if (!ret)
		ret = reg_tid(&l->h, rx, BIG, &tid);
	ret = ctl_send(sock, (struct ctl){ .type = CTL_TID, .status = ret,
					   .tid = tid }) ?: ret;
	if (!ret)
		ret = ctl_expect(sock, CTL_TID, &m, TIMEOUT_MS);
	if (!ret && m.status)
		ret = -ECONNREFUSED;
	d->rx_tid = tid;
	stream_init(&d->s, l, m.tid, tx, BIG);
	return ret;
}

static int child_duplex_until_rmmod(int sock, void *arg)
{
	uint8_t *rx = big_alloc(BIG), *tx = big_alloc(BIG);
	struct duplex d;
	struct link l;
	struct ctl m;
	unsigned bad;
	int ret, sig, r;

	(void)arg;
	if (!rx || !tx)
		return -ENOMEM;
	pattern_fill(tx, BIG, STREAM_SEED);
	ret = duplex_open(&d, &l, sock, 1, rx, tx);
	if (ret)
		return ret;
	/* Ends with EIO from a call or SIGBUS from a mapping. */
	ret = guarded(duplex_pump, &d, &sig);
	if (!sig && ret != -EIO)
		fprintf(stderr, "\n  child: streaming ended with %s\n",
			strerror(-ret));
	r = ctl_expect(sock, CTL_GO, &m, 4 * TIMEOUT_MS);
	if (r)
		return r;
	bad = dead_checks(&l.h, "child");
	r = dead_close(&l.h);
	ret = ctl_send(sock, (struct ctl){
		.type = CTL_RESULT,
		.status = bad || r || d.rx_err || d.s.other ||
			  (!sig && ret != -EIO) ? -EACCES : 0,
		.a = sig ? SIGBUS : (uint64_t)-ret,
		.b = d.received });
	big_free(rx, BIG);
	big_free(tx, BIG);
	return ret;
}

/* After a reload: a fresh pair of contexts carries eager and expected. */
static void fresh_pair_moves_data(uint8_t *rx, const uint8_t *tx)
{
	struct link a, b;
	uint8_t msg[100];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	TL_ASSERT_OK(tl_hfi_open(&a.h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	TL_ASSERT_OK(tl_hfi_open(&b.h, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0));
	a.plid = (uint16_t)b.h.info.lid;
	a.pctxt = (uint16_t)b.h.info.ctxt;
	b.plid = (uint16_t)a.h.info.lid;
	b.pctxt = (uint16_t)a.h.info.ctxt;
	pattern_fill(msg, sizeof(msg), 3);
	TL_ASSERT_OK(send_wait(&a.h, DRVOPS_HFI_OP_EAGER, a.plid, a.pctxt, 0,
			       msg, sizeof(msg), 3));
	memset(rx, 0, BIG);
	TL_ASSERT_OK(recv_eager(&b, rx, sizeof(msg), 3));
	CU_ASSERT(pattern_check(rx, sizeof(msg), 3) == sizeof(msg));
	{
		const volatile struct drvops_hfi_rhq_entry *e;
		uint32_t tid;

		memset(rx, 0, BIG);
		TL_ASSERT_OK(reg_tid(&a.h, rx, BIG, &tid));
		TL_ASSERT_OK(send_wait(&b.h, DRVOPS_HFI_OP_EXPECTED, b.plid,
				       b.pctxt, tid, tx, BIG, 4));
		TL_ASSERT_OK(tl_hfi_recv(&a.h, &e, TIMEOUT_MS));
		CU_ASSERT(expected_entry_ok(&a, e, tid, BIG));
		drvops_hfi_consume(&a.h, e);
		CU_ASSERT(pattern_check(rx, BIG, STREAM_SEED) == BIG);
		TL_ASSERT_OK(drvops_hfi_tid_free(&a.h, tid));
	}
	tl_hfi_close(&a.h);
	tl_hfi_close(&b.h);
}

static void test_rmmod_while_both_stream(void)
{
	unsigned long t0 = tainted();
	uint8_t *rx = big_alloc(BIG), *tx = big_alloc(BIG);
	struct tl_stats base;
	struct duplex d;
	struct link l;
	struct peer p;
	struct ctl m;
	double t;
	int sig;

	TL_ASSERT_OK(tl_read_stats(&base));
	CU_ASSERT_FATAL(rx && tx);
	pattern_fill(tx, BIG, STREAM_SEED);
	TL_ASSERT_OK(peer_start(&p, child_duplex_until_rmmod, NULL));
	TL_ASSERT_OK(duplex_open(&d, &l, p.sock, 0, rx, tx));
	d.parent = true;
	TL_ASSERT_OK(guarded(duplex_pump, &d, &sig));
	CU_ASSERT_FATAL(sig == 0);
	CU_ASSERT(d.rx_err == 0 && d.s.other == 0);

	/* The child streams on while the driver goes: no waiting for it. */
	t = now_ms();
	TL_ASSERT_OK(tl_unload_module(HFI_MODULE));
	fprintf(stderr, "\n  rmmod took %.0f ms", now_ms() - t);
	CU_ASSERT(access("/sys/module/" HFI_MODULE, F_OK) != 0);
	CU_ASSERT(dead_checks(&l.h, "parent") == 0);
	CU_ASSERT(dead_close(&l.h) == 0);
	l.open = false;

	TL_ASSERT_OK(ctl_send(p.sock, (struct ctl){ .type = CTL_GO }));
	TL_ASSERT_OK(ctl_expect(p.sock, CTL_RESULT, &m, 4 * TIMEOUT_MS));
	if (m.status)
		fprintf(stderr, "\n  child: ended by %s, checks failed",
			m.a == SIGBUS ? "SIGBUS" : strerror((int)m.a));
	CU_ASSERT(m.status == 0);
	CU_ASSERT(m.b >= 1);
	CU_ASSERT(exited_ok(peer_reap(&p)));
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);

	/* Back as new: a fresh pair of contexts carries eager and expected. */
	TL_ASSERT_OK(tl_reload_module(HFI_MODULE, HFI_PARAMS));
	fresh_pair_moves_data(rx, tx);
	big_free(rx, BIG);
	big_free(tx, BIG);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
	CU_ASSERT(no_new_warn(t0));
}

/*
 * rmmod while engines copy in parts: four 16 MiB expected sends (above
 * inline_expected_max, so the engines', each cut in parts over the copy
 * helpers: engine_split_min is at most 8 MiB) from unit 0 into a tid on
 * unit 1, and the module goes while they are queued. Every part finishes
 * or is dropped before the engines and helpers are destroyed (the debug
 * kernel checks the work items, the pins and the pages), nothing stays
 * pinned or counted, and the driver comes back as new.
 */
static void test_rmmod_while_engines_copy_in_parts(void)
{
	unsigned long t0 = tainted();
	long lck0 = tl_vm_pinned_kb(),
	     split = tl_module_param(HFI_MODULE, "engine_split_min");
	uint8_t *rx = big_alloc(BIG), *tx = big_alloc(BIG);
	struct drvops_hfi_ctx a, b;
	struct drvops_hfi_msg m[4];
	struct tl_stats base;
	struct iovec iov;
	uint32_t tid;
	int i;
	double t;

	TL_ASSERT_OK(tl_read_stats(&base));
	CU_ASSERT_FATAL(rx && tx);
	CU_ASSERT_FATAL(split > 0 && split <= (long)BIG / 2);
	pattern_fill(tx, BIG, STREAM_SEED);
	TL_ASSERT_OK(tl_hfi_open(&a, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	TL_ASSERT_OK(tl_hfi_open(&b, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0));
	TL_ASSERT_OK(drvops_hfi_tid_register(&b, rx, BIG, &tid));
	iov = (struct iovec){ tx, BIG };
	for (i = 0; i < 4; i++)
		m[i] = (struct drvops_hfi_msg){
			.opcode = DRVOPS_HFI_OP_EXPECTED,
			.dlid = (uint16_t)b.info.lid,
			.dctxt = (uint16_t)b.info.ctxt,
			.tid = tid, .iov = &iov, .niov = 1, .slot = -1 };
	/* One writev, so that the last is surely behind three copies. */
	CU_ASSERT_EQUAL_FATAL(drvops_hfi_send_batch(&a, m, 4), 4);
	CU_ASSERT_EQUAL(drvops_hfi_slot_status(&a, m[3].slot), 1);

	t = now_ms();
	TL_ASSERT_OK(tl_unload_module(HFI_MODULE));
	fprintf(stderr, "\n  rmmod took %.0f ms", now_ms() - t);
	CU_ASSERT(access("/sys/module/" HFI_MODULE, F_OK) != 0);
	CU_ASSERT(dead_checks(&a, "sender") == 0);
	CU_ASSERT(dead_checks(&b, "receiver") == 0);
	CU_ASSERT(dead_close(&a) == 0);
	CU_ASSERT(dead_close(&b) == 0);
	CU_ASSERT(tl_vm_pinned_kb() == lck0);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);

	TL_ASSERT_OK(tl_reload_module(HFI_MODULE, HFI_PARAMS));
	fresh_pair_moves_data(rx, tx);
	big_free(rx, BIG);
	big_free(tx, BIG);
	CU_ASSERT(tl_wait_stats(&base, 5000) == 0);
	CU_ASSERT(no_new_warn(t0));
}

/*
 * Tenants do not wait for each other: context A keeps one engine busy
 * with 64 MiB expected transfers into itself; context B, idle, closes.
 * B's release waits only for its own requests and for deliveries into
 * it, so it returns while A's last transfer is still queued (it used to
 * flush every engine, waiting for all of A's traffic).
 */
static void test_release_does_not_wait_for_other_tenants(void)
{
	const size_t len = 64 << 20;
	const int nsend = 8;
	uint8_t *src = aligned_alloc(4096, len), *dst = aligned_alloc(4096, len);
	struct drvops_hfi_ctx a, b;
	struct iovec iov;
	int slots[8], i, last_state;
	uint32_t tid;

	CU_ASSERT_FATAL(src && dst);
	memset(src, 0x6d, len);
	memset(dst, 0, len);
	TL_ASSERT_OK(tl_hfi_open(&a, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	TL_ASSERT_OK(tl_hfi_open(&b, TL_HFI_CURRENT, 1, tl_hfi_job_b, 0));
	TL_ASSERT_OK(drvops_hfi_tid_register(&a, dst, len, &tid));
	iov = (struct iovec){ src, len };
	for (i = 0; i < nsend; i++) {
		slots[i] = drvops_hfi_send(&a, DRVOPS_HFI_OP_EXPECTED,
					   (uint16_t)a.info.lid,
					   (uint16_t)a.info.ctxt, tid, 0, NULL,
					   &iov, 1);
		TL_ASSERT_OK(slots[i]);
	}
	tl_hfi_close(&b);
	last_state = drvops_hfi_slot_status(&a, slots[nsend - 1]);
	if (last_state != 1)
		fprintf(stderr, "\n  B's close waited for A's traffic\n");
	CU_ASSERT_EQUAL(last_state, 1);		/* still queued */
	for (i = 0; i < nsend; i++)
		CU_ASSERT_EQUAL(drvops_hfi_wait_slot(&a, slots[i]), 0);
	CU_ASSERT(dst[0] == 0x6d && dst[len - 1] == 0x6d);
	TL_ASSERT_OK(drvops_hfi_tid_free(&a, tid));
	tl_hfi_close(&a);
	free(src);
	free(dst);
}

static CU_TestInfo traffic_tests[] = {
	{ "release does not wait for another context's traffic",
	  test_release_does_not_wait_for_other_tenants },
	{ "eager and expected, both directions",
	  test_eager_and_expected_both_directions },
	{ "1000 messages arrive in order", test_1000_messages_arrive_in_order },
	{ "job keys isolate processes", test_job_keys_isolate_processes },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo teardown_tests[] = {
	{ "kill -9 of the sender mid-stream", test_kill9_sender_mid_stream },
	{ "kill -9 of the receiver mid-stream",
	  test_kill9_receiver_mid_stream },
	{ "close of the sender's uverbs fd mid-stream",
	  test_close_sender_uverbs_fd_mid_stream },
	{ "rmmod while both stream", test_rmmod_while_both_stream },
	{ "rmmod while engines copy in parts",
	  test_rmmod_while_engines_copy_in_parts },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "hfi between two processes", NULL, NULL, NULL, NULL, traffic_tests },
	{ "hfi teardown with traffic in flight", NULL, NULL, NULL, NULL,
	  teardown_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_hfi_procs", suites);
}
