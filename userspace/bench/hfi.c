// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The emulated HFI between two processes on two units (this process on
 * the first sdma.opa unit, a forked child on the second), 8 B .. max
 * bytes (powers of 4, plus eager_max), next to the copies a process can
 * make without a device, all measured side by side per size:
 *
 *   eager    eager bandwidth: a stream of eager messages (up to
 *            eager_max); the receiver copies each out of the eager ring
 *            into its buffer (two copies: kernel, then user)
 *   expected expected bandwidth: a stream of EXPECTED sends into a tid the
 *            receiver registered once (one copy, kernel into user pages)
 *   pp_eager half round trip: eager ping-pong (the child echoes)
 *   pp_exp   half round trip: expected ping-pong into each side's tid,
 *            from 64 KiB
 *   self     eager to our own context, one process: writev, then the
 *            entry consumed and copied out; the driver's own cost per
 *            message, without a second process to schedule
 *   exp_engines, exp_engine1  the expected stream through the send
 *            engines (inline_expected_max 0), from 1 MiB: each copy in
 *            parts over the engines (engine_split_min), or by its flow's
 *            engine alone (root: they set module parameters)
 *   memcpy   in userspace: the floor
 *   cma      process_vm_writev into a child (CMA): one copy across
 *            processes without a device
 *   pipe     half round trip: ping-pong over two pipes (sizes that fit
 *            the pipe)
 *
 * Streams are flow-controlled by credits the receiver publishes in shared
 * memory (consumed messages), so that no message is dropped for lack of
 * receive buffers; a dropped one would show as an error. Every method is
 * checked once per size (its data compared) before it is timed. One op of
 * a stream is one message; of a ping-pong, half a round trip.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hfictx.h"

#define MAX_SIZES 32
#define TIMEOUT_NS 10e9
#define TX_SEED 1		/* what the parent sends */
#define ECHO_SEED 2		/* what the child sends back */

enum child_cmd {
	CMD_IDLE,
	CMD_RECV,		/* consume messages, count them */
	CMD_VERIFY,		/* same, and compare each with TX_SEED */
	CMD_ECHO_EAGER,		/* answer each message with an eager one */
	CMD_ECHO_EXPECTED,	/* answer each with an EXPECTED into our tid */
	CMD_EXIT,
};

/* Shared with the child (MAP_SHARED before fork). */
struct hfi_shm {
	atomic_uint cmd_seq;	/* parent: a new command */
	atomic_uint ack_seq;	/* child: taken */
	uint32_t cmd;
	uint64_t size;
	atomic_ulong consumed;	/* messages the child has consumed */
	atomic_int status;	/* child: 0 or the first -errno */
	atomic_int ready;	/* child: 1 set up, -errno failed */
	uint32_t lid, ctxt, tid;	/* the child's context and tid */
	uint32_t plid, pctxt, ptid;	/* ours, for the echo */
};

struct hfi_bctx {
	struct hfi_shm *sh;
	struct drvops_hfi_ctx h;
	bool open;
	uint8_t *tx, *rx, *dst;	/* send, receive (tid), memcpy/CMA target */
	size_t max, len;
	uint64_t eager_max;
	uint32_t rx_tid;
	pid_t child, cma_child, pipe_child;
	int cma_ctl;
	int cmd_w;		/* wakes the child for a command */
	int to_pipe, from_pipe;
	size_t pipe_cap;
	unsigned long sent;	/* stream messages sent */
	struct drvops_hfi_sdma_req req;
};

/* ---- both sides ----------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * After an empty poll of a receive queue: spin for the first SPIN_NS, as a
 * PSM2 rank polls its queue on a core of its own (bench_place_peer()),
 * then sched_yield(), so that a peer on the same CPU (-c) still runs.
 * *since is 0 after a hit. Returns true once spinning is over.
 */
#define SPIN_NS 100e3

static bool idle_pause(double *since)
{
	double now = now_ns();

	if (!*since)
		*since = now;
	if (now - *since < SPIN_NS)
		return false;
	sched_yield();
	return true;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	uint64_t x = ((uint64_t)seed << 32) ^ 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7)) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		p[i] = (uint8_t)(x >> (8 * (i & 7)));
	}
}

static int same(const uint8_t *p, size_t len, uint32_t seed, uint8_t *tmp)
{
	fill(tmp, len, seed);
	return memcmp(p, tmp, len) ? -EBADMSG : 0;
}

/*
 * One request with the slot chosen here: a slot about to be reused must
 * have completed without error (that is how errors surface). Returns 0 or
 * -errno.
 */
static int post(struct drvops_hfi_ctx *h, struct drvops_hfi_sdma_req *r,
		uint8_t op, uint16_t dlid, uint16_t dctxt, uint32_t tid,
		const void *buf, size_t len)
{
	struct iovec v[2] = { { r, sizeof(*r) }, { (void *)buf, len } };
	int slot = drvops_hfi_free_slot(h), st;

	if (slot < 0)
		return slot;
	st = drvops_hfi_slot_status(h, slot);
	if (st < 0)
		return st;
	r->size = sizeof(*r);
	r->opcode = op;
	r->niov = len ? 1 : 0;
	r->slot = (uint16_t)slot;
	r->dlid = dlid;
	r->dctxt = dctxt;
	r->tid = tid;
	r->length = len;
	if (writev(h->fd, v, len ? 2 : 1) != 1)
		return -errno;
	return 0;
}

/*
 * Take one packet if there is one: 1 when a whole message is in (eager:
 * copied out into out; expected: already in the tid), 0 if none or not
 * yet, -EBADMSG.
 */
static int take(struct drvops_hfi_ctx *h, uint8_t *out, size_t len)
{
	const volatile struct drvops_hfi_rhq_entry *e = drvops_hfi_peek(h);
	int last;

	if (!e)
		return 0;
	if (e->msg_length != len || e->offset + e->length > len) {
		drvops_hfi_consume(h, e);
		return -EBADMSG;
	}
	if ((e->flags & DRVOPS_HFI_RHQ_EAGER) && e->length)
		memcpy(out + e->offset, drvops_hfi_eager_payload(h, e),
		       e->length);
	last = !!(e->flags & DRVOPS_HFI_RHQ_LAST);
	drvops_hfi_consume(h, e);
	return last;
}

/* ---- the child -------------------------------------------------------- */

/*
 * Sleep until the parent writes a command byte to cmd_fd or, with rx, a
 * packet is there; drains the command bytes.
 */
static void child_sleep(int cmd_fd, const struct drvops_hfi_ctx *h, bool rx)
{
	struct pollfd p[2] = { { cmd_fd, POLLIN, 0 }, { h->fd, POLLIN, 0 } };
	char buf[64];

	if (poll(p, rx ? 2 : 1, 100) > 0 && (p[0].revents & POLLIN))
		while (read(cmd_fd, buf, sizeof(buf)) > 0)
			;
}

static void child_fail(struct hfi_shm *sh, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&sh->status, &zero, err);
}

static void child_loop(struct hfi_shm *sh, struct drvops_hfi_ctx *h,
		       int cmd_fd, uint8_t *rx, uint8_t *tx, uint8_t *tmp)
{
	struct drvops_hfi_sdma_req r;
	unsigned int seen = 0, seq, idle = 0;
	double idle_since = 0;
	uint32_t cmd = CMD_IDLE;
	size_t len = 0;
	int got, ret;

	memset(&r, 0, sizeof(r));
	for (;;) {
		seq = atomic_load(&sh->cmd_seq);
		if (seq != seen) {
			seen = seq;
			cmd = sh->cmd;
			len = sh->size;
			atomic_store(&sh->ack_seq, seq);
			if (cmd == CMD_EXIT)
				return;
		}
		if (cmd == CMD_IDLE) {
			/* Asleep until the next command: see child_idle(). */
			child_sleep(cmd_fd, h, false);
			continue;
		}
		got = take(h, rx, len);
		if (got < 0)
			child_fail(sh, got);
		/*
		 * Poll while messages come, sleep on the fd (woken by the
		 * next entry) once none has for a while, as a PSM2 receiver
		 * does: a large message takes milliseconds to copy, and a
		 * spinning receiver takes a CPU from the copying sender that
		 * the memcpy baseline has to itself.
		 */
		if (got <= 0) {
			if (idle_pause(&idle_since) && ++idle >= 256)
				child_sleep(cmd_fd, h, true);
			continue;
		}
		idle = 0;
		idle_since = 0;
		ret = 0;
		if (cmd == CMD_VERIFY)
			ret = same(rx, len, TX_SEED, tmp);
		if (ret)
			child_fail(sh, ret);
		/* Counted before the answer: the parent may move on then. */
		atomic_fetch_add(&sh->consumed, 1);
		if (cmd == CMD_ECHO_EAGER)
			ret = post(h, &r, DRVOPS_HFI_OP_EAGER, sh->plid,
				   sh->pctxt, 0, tx, len);
		else if (cmd == CMD_ECHO_EXPECTED)
			ret = post(h, &r, DRVOPS_HFI_OP_EXPECTED, sh->plid,
				   sh->pctxt, sh->ptid, tx, len);
		if (ret)
			child_fail(sh, ret);
	}
}

/* Opens the second unit, registers a tid over rx, serves commands. */
static void child_main(struct hfi_shm *sh, int cmd_fd, size_t max)
{
	struct drvops_hfi_ctx h;
	uint8_t *rx = malloc(max), *tx = malloc(max), *tmp = malloc(max);
	uint32_t tid;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ret = rx && tx && tmp ? bench_hfi_open(&h, 1) : -ENOMEM;
	if (!ret) {
		ret = drvops_hfi_tid_register(&h, rx, max, &tid);
		if (ret)
			bench_hfi_close(&h);
	}
	if (ret) {
		atomic_store(&sh->ready, ret);
		_exit(1);
	}
	fill(tx, max, ECHO_SEED);
	sh->lid = h.info.lid;
	sh->ctxt = h.info.ctxt;
	sh->tid = tid;
	atomic_store(&sh->ready, 1);
	child_loop(sh, &h, cmd_fd, rx, tx, tmp);
	drvops_hfi_tid_free(&h, tid);
	bench_hfi_close(&h);
	_exit(0);
}

/* ---- the parent: commands --------------------------------------------- */

/* Put the child into cmd for len bytes (if it is not there yet). */
static int command(struct hfi_bctx *c, uint32_t cmd, size_t len)
{
	struct hfi_shm *sh = c->sh;
	unsigned int seq;
	double end;

	if (sh->cmd == cmd && sh->size == len)
		return 0;
	sh->cmd = cmd;
	sh->size = len;
	atomic_store(&sh->consumed, 0);
	c->sent = 0;
	seq = atomic_fetch_add(&sh->cmd_seq, 1) + 1;
	/* Wakes a sleeping child; a full pipe has a wake-up pending anyway. */
	if (write(c->cmd_w, "c", 1) < 0 && errno != EAGAIN)
		return -errno;
	end = now_ns() + TIMEOUT_NS;
	while (atomic_load(&sh->ack_seq) != seq) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return atomic_load(&sh->status);
}

/*
 * The methods of one process (and the baselines) run with the child asleep:
 * polling, it would take a CPU from them. 0, or the child's error.
 */
static int child_idle(struct hfi_bctx *c)
{
	return command(c, CMD_IDLE, 0);
}

/* Wait until the child has consumed n messages. */
static int wait_consumed(struct hfi_bctx *c, unsigned long n)
{
	double end = now_ns() + TIMEOUT_NS;
	int st;

	while (atomic_load(&c->sh->consumed) < n) {
		st = atomic_load(&c->sh->status);
		if (st)
			return st;
		if (now_ns() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return atomic_load(&c->sh->status);
}

/* Messages of len bytes the receiver can hold at once, with margin. */
static unsigned long window(const struct hfi_bctx *c, uint8_t op)
{
	const struct drvops_hfi_ctxt_info *i = &c->h.info;
	unsigned long pkts = 1, w;

	if (op == DRVOPS_HFI_OP_EAGER && c->len)
		pkts = (c->len + i->eager_size - 1) / i->eager_size;
	w = (op == DRVOPS_HFI_OP_EAGER ? i->eager_count : i->rhq_entries) /
	    pkts / 2;
	if (w > i->sdma_slots / 2)
		w = i->sdma_slots / 2;
	return w ? w : 1;
}

/* iters messages, at most a window ahead of the receiver, then drained. */
static int stream(struct hfi_bctx *c, uint8_t op, uint32_t cmd,
		  unsigned long iters)
{
	struct hfi_shm *sh = c->sh;
	unsigned long w = window(c, op), target;
	double end, since = 0;
	int ret;

	ret = command(c, cmd, c->len);
	if (ret)
		return ret;
	target = c->sent + iters;
	end = now_ns() + TIMEOUT_NS;
	while (c->sent < target) {
		if (c->sent - atomic_load(&sh->consumed) >= w) {
			ret = atomic_load(&sh->status);
			if (ret)
				return ret;
			if (now_ns() > end)
				return -ETIMEDOUT;
			idle_pause(&since);
			continue;
		}
		since = 0;
		ret = post(&c->h, &c->req, op, (uint16_t)sh->lid,
			   (uint16_t)sh->ctxt, sh->tid, c->tx, c->len);
		if (ret)
			return ret;
		c->sent++;
		end = now_ns() + TIMEOUT_NS;
	}
	return wait_consumed(c, target);
}

static int eager_bw(void *ctx, unsigned long iters)
{
	return stream(ctx, DRVOPS_HFI_OP_EAGER, CMD_RECV, iters);
}

static int expected_bw(void *ctx, unsigned long iters)
{
	return stream(ctx, DRVOPS_HFI_OP_EXPECTED, CMD_RECV, iters);
}

#define HFI_PARAMS "/sys/module/drvops_hfi/parameters/"

/* A module parameter of drvops_hfi, or -1 if it cannot be read. */
static long param_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), HFI_PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int param_set(const char *name, long v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), HFI_PARAMS "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/*
 * The expected stream through the engines (inline_expected_max 0), the
 * copy of a large message in parts over the engines or (split false:
 * engine_split_min 0) by its flow's engine alone. Needs root (module
 * parameters); puts them back.
 */
static int engine_stream(struct hfi_bctx *c, unsigned long iters, bool split,
			 uint32_t cmd)
{
	long inl = param_get("inline_expected_max");
	long min = param_get("engine_split_min");
	int ret;

	if (inl < 0 || min < 0)
		return -ENOENT;
	ret = param_set("inline_expected_max", 0);
	if (!ret && !split)
		ret = param_set("engine_split_min", 0);
	if (!ret)
		ret = stream(c, DRVOPS_HFI_OP_EXPECTED, cmd, iters);
	param_set("inline_expected_max", inl);
	param_set("engine_split_min", min);
	return ret;
}

static int expected_engines(void *ctx, unsigned long iters)
{
	return engine_stream(ctx, iters, true, CMD_RECV);
}

static int expected_one_engine(void *ctx, unsigned long iters)
{
	return engine_stream(ctx, iters, false, CMD_RECV);
}

/* iters round trips: send, wait for the whole answer. */
static int ping_pong(struct hfi_bctx *c, uint8_t op, uint32_t cmd,
		     unsigned long iters)
{
	struct hfi_shm *sh = c->sh;
	double end;
	int ret;

	ret = command(c, cmd, c->len);
	if (ret)
		return ret;
	while (iters--) {
		double since = 0;

		ret = post(&c->h, &c->req, op, (uint16_t)sh->lid,
			   (uint16_t)sh->ctxt, sh->tid, c->tx, c->len);
		if (ret)
			return ret;
		end = now_ns() + TIMEOUT_NS;
		while (!(ret = take(&c->h, c->rx, c->len))) {
			if (now_ns() > end)
				return atomic_load(&sh->status) ?: -ETIMEDOUT;
			idle_pause(&since);
		}
		if (ret < 0)
			return ret;
	}
	return atomic_load(&sh->status);
}

static int pp_eager(void *ctx, unsigned long iters)
{
	return ping_pong(ctx, DRVOPS_HFI_OP_EAGER, CMD_ECHO_EAGER, iters);
}

static int pp_expected(void *ctx, unsigned long iters)
{
	return ping_pong(ctx, DRVOPS_HFI_OP_EXPECTED, CMD_ECHO_EXPECTED,
			 iters);
}

/* An eager message to ourselves, received and copied out, iters times. */
static int self_eager(void *ctx, unsigned long iters)
{
	struct hfi_bctx *c = ctx;
	double end = now_ns() + TIMEOUT_NS;
	unsigned long i;
	int ret = child_idle(c);

	if (ret)
		return ret;
	for (i = 0; i < iters; i++) {
		ret = post(&c->h, &c->req, DRVOPS_HFI_OP_EAGER,
			   (uint16_t)c->h.info.lid, (uint16_t)c->h.info.ctxt, 0,
			   c->tx, c->len);
		if (ret)
			return ret;
		while (!(ret = take(&c->h, c->dst, c->len))) {
			if (now_ns() > end)
				return -ETIMEDOUT;
			sched_yield();	/* above inline_max: the engine's */
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- the baselines ------------------------------------------------------ */

static int user_memcpy(void *ctx, unsigned long iters)
{
	struct hfi_bctx *c = ctx;
	int ret = child_idle(c);

	if (ret)
		return ret;
	while (iters--) {
		memcpy(c->dst, c->tx, c->len);
		__asm__ __volatile__("" : : "r"(c->dst) : "memory");
	}
	return 0;
}

static int cma_copy(void *ctx, unsigned long iters)
{
	struct hfi_bctx *c = ctx;
	struct iovec local = { c->tx, c->len }, remote = { c->dst, c->len };
	ssize_t n;
	int ret = child_idle(c);

	if (ret)
		return ret;
	while (iters--) {
		n = process_vm_writev(c->cma_child, &local, 1, &remote, 1, 0);
		if (n != (ssize_t)c->len)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static int full_io(int fd, uint8_t *buf, size_t n, bool wr)
{
	size_t done;
	ssize_t r;

	for (done = 0; done < n; done += r) {
		r = wr ? write(fd, buf + done, n - done) :
			 read(fd, buf + done, n - done);
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
	}
	return 0;
}

static int pipe_pp(void *ctx, unsigned long iters)
{
	struct hfi_bctx *c = ctx;
	int ret = child_idle(c);

	if (ret)
		return ret;
	while (iters--) {
		ret = full_io(c->to_pipe, c->tx, c->len, true);
		if (!ret)
			ret = full_io(c->from_pipe, c->rx, c->len, false);
		if (ret)
			return ret;
	}
	return 0;
}

/* The pipe child: echo whatever arrives, until EOF. */
static void pipe_echo(int in, int out, size_t max)
{
	uint8_t *buf = malloc(max);
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (buf && (n = read(in, buf, max)) > 0)
		if (full_io(out, buf, (size_t)n, true))
			break;
	_exit(0);
}

/* The CMA target: a fork of us (c->dst at the same address), idle. */
static int cma_setup(struct hfi_bctx *c)
{
	int ctl[2];
	char b;

	if (pipe2(ctl, O_CLOEXEC))
		return -errno;
	c->cma_child = fork();
	if (c->cma_child < 0) {
		close(ctl[0]);
		close(ctl[1]);
		return -errno;
	}
	if (!c->cma_child) {
		bench_place_peer();
		close(ctl[1]);
		while (read(ctl[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ctl[0]);
	c->cma_ctl = ctl[1];
	return 0;
}

static int pipe_setup(struct hfi_bctx *c)
{
	int down[2], up[2], cap;

	if (pipe2(down, O_CLOEXEC))
		return -errno;
	if (pipe2(up, O_CLOEXEC)) {
		close(down[0]);
		close(down[1]);
		return -errno;
	}
	/* As large as allowed; sizes above what both hold are not run. */
	fcntl(down[1], F_SETPIPE_SZ, (int)c->max);
	fcntl(up[1], F_SETPIPE_SZ, (int)c->max);
	cap = fcntl(down[1], F_GETPIPE_SZ);
	if (fcntl(up[1], F_GETPIPE_SZ) < cap)
		cap = fcntl(up[1], F_GETPIPE_SZ);
	c->pipe_cap = cap > 0 ? (size_t)cap : 4096;
	c->pipe_child = fork();
	if (c->pipe_child < 0) {
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return -errno;
	}
	if (!c->pipe_child) {
		bench_place_peer();
		close(down[1]);
		close(up[0]);
		/* Else the CMA child would never see its EOF. */
		if (c->cma_child > 0)
			close(c->cma_ctl);
		pipe_echo(down[0], up[1], c->max);
	}
	close(down[0]);
	close(up[1]);
	c->to_pipe = down[1];
	c->from_pipe = up[0];
	return 0;
}

/* ---- set-up and the sweep -------------------------------------------- */

static int hfi_setup(struct hfi_bctx *c)
{
	struct hfi_shm *sh = c->sh;
	double end;
	int ret, cmd[2];

	if (pipe2(cmd, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	c->child = fork();
	if (c->child < 0) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	if (!c->child) {
		bench_place_peer();
		/* Only the parent may keep the baselines' children going. */
		if (c->cma_child > 0)
			close(c->cma_ctl);
		if (c->pipe_child > 0) {
			close(c->to_pipe);
			close(c->from_pipe);
		}
		close(cmd[1]);
		child_main(sh, cmd[0], c->max);
	}
	close(cmd[0]);
	c->cmd_w = cmd[1];
	end = now_ns() + 3 * TIMEOUT_NS;
	while (!atomic_load(&sh->ready)) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	if (atomic_load(&sh->ready) < 0)
		return atomic_load(&sh->ready);
	ret = bench_hfi_open(&c->h, 0);
	if (ret)
		return ret;
	c->open = true;
	c->eager_max = c->h.info.eager_max;
	ret = drvops_hfi_tid_register(&c->h, c->rx, c->max, &c->rx_tid);
	if (ret)
		return ret;
	sh->plid = c->h.info.lid;
	sh->pctxt = c->h.info.ctxt;
	sh->ptid = c->rx_tid;
	return 0;
}

enum { M_EAGER, M_EXPECTED, M_PP_EAGER, M_PP_EXP, M_SELF, M_EXP_ENGINES,
       M_EXP_ENGINE1, M_MEMCPY, M_CMA, M_PIPE, NUM_METHODS };

static const struct {
	const char *id;
	const char *label;
	bench_fn fn;
	unsigned int div;
} methods[NUM_METHODS] = {
	[M_EAGER] = { "eager", "HFI eager stream, copied out (MB/s)",
		      eager_bw, 1 },
	[M_EXPECTED] = { "expected", "HFI expected stream into a tid (MB/s)",
			 expected_bw, 1 },
	[M_PP_EAGER] = { "pp_eager", "HFI eager ping-pong (half RTT)",
			 pp_eager, 2 },
	[M_PP_EXP] = { "pp_exp", "HFI expected ping-pong (half RTT)",
		       pp_expected, 2 },
	[M_SELF] = { "self", "HFI eager to its own context (one process)",
		     self_eager, 1 },
	[M_EXP_ENGINES] = { "exp_engines",
			    "HFI expected stream by the engines, in parts",
			    expected_engines, 1 },
	[M_EXP_ENGINE1] = { "exp_engine1",
			    "HFI expected stream by the engines, one each",
			    expected_one_engine, 1 },
	[M_MEMCPY] = { "memcpy", "memcpy in userspace", user_memcpy, 1 },
	[M_CMA] = { "cma", "process_vm_writev into a child (CMA)", cma_copy,
		    1 },
	[M_PIPE] = { "pipe", "pipe ping-pong, 2 processes (half RTT)",
		     pipe_pp, 2 },
};

/* Does method m run at this size? */
static bool applies(const struct hfi_bctx *c, int m, size_t len)
{
	switch (m) {
	case M_EAGER:
	case M_PP_EAGER:
	case M_SELF:
		return len <= c->eager_max;
	case M_PP_EXP:
		return len >= 65536;
	case M_EXP_ENGINES:
	case M_EXP_ENGINE1:
		return len >= (1 << 20);
	case M_PIPE:
		return len <= c->pipe_cap;
	default:
		return true;
	}
}

/* One transfer of this method, its data compared. */
static int check_once(struct hfi_bctx *c, int m)
{
	uint8_t *tmp = c->dst;
	int ret;

	switch (m) {
	case M_EAGER:
	case M_EXPECTED:
		ret = command(c, CMD_VERIFY, c->len);
		if (!ret)
			ret = stream(c, m == M_EAGER ? DRVOPS_HFI_OP_EAGER :
				     DRVOPS_HFI_OP_EXPECTED, CMD_VERIFY, 1);
		return ret;
	case M_EXP_ENGINES:
	case M_EXP_ENGINE1:
		ret = command(c, CMD_VERIFY, c->len);
		if (!ret)
			ret = engine_stream(c, 1, m == M_EXP_ENGINES,
					    CMD_VERIFY);
		return ret;
	case M_PP_EAGER:
	case M_PP_EXP:
	case M_PIPE:
		memset(c->rx, 0, c->len);
		ret = methods[m].fn(c, 1);
		if (!ret)
			ret = same(c->rx, c->len,
				   m == M_PIPE ? TX_SEED : ECHO_SEED, tmp);
		return ret;
	case M_MEMCPY:
	case M_SELF:
		memset(c->dst, 0, c->len);
		ret = methods[m].fn(c, 1);
		return ret ? ret : memcmp(c->dst, c->tx, c->len) ? -EBADMSG : 0;
	default:
		return 0;	/* CMA: checked by the copy family */
	}
}

static int one_size(const struct bench_family *fam,
		    const struct bench_opts *o, struct hfi_bctx *c,
		    const int *setup, size_t len)
{
	struct bench_case cases[NUM_METHODS];
	unsigned int n = 0;
	int m;

	c->len = len;
	for (m = 0; m < NUM_METHODS; m++) {
		if (!applies(c, m, len))
			continue;
		cases[n] = (struct bench_case){
			.method = methods[m].id,
			.label = methods[m].label,
			.bytes = len,
			.fn = methods[m].fn,
			.ctx = c,
			.div = methods[m].div,
			.err = setup[m],
		};
		if (!cases[n].err)
			cases[n].err = check_once(c, m);
		n++;
	}
	return bench_run_set(fam, o, cases, n);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static int hfi_run(const struct bench_family *fam, const struct bench_opts *o)
{
	struct hfi_bctx c = { .max = o->max_bytes, .child = -1,
			      .cma_child = -1, .pipe_child = -1 };
	int setup[NUM_METHODS], ret, err = 0, hfi_err, cma_err, pipe_err, m;
	size_t sizes[MAX_SIZES];
	unsigned int ns, i;

	c.sh = mmap(NULL, sizeof(*c.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c.tx = malloc(c.max);
	c.rx = malloc(c.max);
	c.dst = malloc(c.max);
	if (c.sh == MAP_FAILED || !c.tx || !c.rx || !c.dst)
		return -ENOMEM;
	memset(c.sh, 0, sizeof(*c.sh));
	fill(c.tx, c.max, TX_SEED);
	memset(c.rx, 0, c.max);
	memset(c.dst, 0, c.max);
	fflush(NULL);

	/* Children of the baselines first: they need no HFI fd of ours. */
	cma_err = cma_setup(&c);
	pipe_err = pipe_setup(&c);
	hfi_err = hfi_setup(&c);
	for (m = 0; m < NUM_METHODS; m++)
		setup[m] = m <= M_SELF ? hfi_err : m == M_CMA ? cma_err :
			   m == M_PIPE ? pipe_err : 0;

	ns = bench_sizes(o->max_bytes, sizes, MAX_SIZES - 1);
	if (!hfi_err && c.eager_max <= o->max_bytes) {
		for (i = 0; i < ns && sizes[i] != c.eager_max; i++)
			;
		if (i == ns)
			sizes[ns++] = c.eager_max;
	}
	qsort(sizes, ns, sizeof(sizes[0]), cmp_size);
	for (i = 0; i < ns; i++) {
		fprintf(stderr, "drvops-bench: hfi %zu bytes\n", sizes[i]);
		ret = one_size(fam, o, &c, setup, sizes[i]);
		if (ret && !err)
			err = ret;
	}

	if (c.child > 0) {
		command(&c, CMD_EXIT, 0);
		waitpid(c.child, NULL, 0);
		close(c.cmd_w);
	}
	if (c.open) {
		drvops_hfi_tid_free(&c.h, c.rx_tid);
		bench_hfi_close(&c.h);
	}
	/* Every end closed before any wait: children hold none of them. */
	if (!cma_err)
		close(c.cma_ctl);
	if (!pipe_err) {
		close(c.to_pipe);
		close(c.from_pipe);
		waitpid(c.pipe_child, NULL, 0);
	}
	if (!cma_err)
		waitpid(c.cma_child, NULL, 0);
	munmap(c.sh, sizeof(*c.sh));
	free(c.tx);
	free(c.rx);
	free(c.dst);
	return err;
}

const struct bench_family bench_hfi_family = {
	.name = "hfi",
	.title = "HFI between two processes on two units, next to memcpy, CMA "
		 "and pipes (ns per one-way message)",
	.ref = "cma",
	.run = hfi_run,
};
