// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Message rate of the emulated HFI: eager messages of 8 B .. 4 KiB
 * streamed by one and by several sender/receiver pairs at once, each pair
 * its own contexts (senders: threads of this process on the first unit;
 * receivers: one forked process per pair on the second unit, consuming
 * and counting). One op is one message of all the pairs together, so the
 * rates (1e9 / ns) of 1, 2 and 4 pairs compare directly.
 *
 *   rate_1p, rate_2p, rate_4p   eager messages per second, 1/2/4 pairs
 *   rate_1p_b16                 1 pair, DRVOPS_HFI_BATCH_MAX messages per
 *                               system call (drvops_hfi_send_batch)
 *
 * Streams are flow-controlled as in hfi.c: a sender stays at most a
 * window ahead of what its receiver has consumed, so nothing is dropped;
 * a drop would show as an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hfictx.h"

#define MAX_PAIRS 4
#define MAX_LEN 4096
#define TIMEOUT_NS 10e9

/* One receiver, shared with its process. */
struct rate_rx {
	atomic_ulong consumed;
	atomic_int status;	/* 0, or the first -errno */
	atomic_int ready;	/* 1 set up, -errno failed */
	atomic_int quit;
	uint32_t lid, ctxt;
};

struct rate_tx {
	struct drvops_hfi_ctx h;
	struct rate_rx *rx;
	unsigned long sent;
	unsigned long todo;	/* this round */
	size_t len;
	unsigned int batch;	/* messages per system call */
	int err;
	uint8_t buf[MAX_LEN];
};

struct rate_ctx {
	struct rate_rx *rx;	/* [MAX_PAIRS], MAP_SHARED */
	struct rate_tx tx[MAX_PAIRS];
	pid_t child[MAX_PAIRS];
};

/* One method at one size: the first `pairs` pairs of the shared set. */
struct rate_case {
	struct rate_ctx *c;
	unsigned int pairs;
	size_t len;
	unsigned int batch;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void receiver(struct rate_rx *rx)
{
	struct drvops_hfi_ctx h;
	unsigned int idle = 0;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ret = bench_hfi_open(&h, 1);	/* the second unit */
	if (ret) {
		atomic_store(&rx->ready, ret);
		_exit(1);
	}
	rx->lid = h.info.lid;
	rx->ctxt = h.info.ctxt;
	atomic_store(&rx->ready, 1);
	while (!atomic_load(&rx->quit)) {
		const volatile struct drvops_hfi_rhq_entry *e =
			drvops_hfi_peek(&h);

		/*
		 * Poll while busy, sleep on the fd when idle: receivers of
		 * pairs not in this round must leave the CPUs to the others.
		 */
		if (!e) {
			if (++idle < 256)
				sched_yield();
			else
				drvops_hfi_poll_recv(&h, 10);
			continue;
		}
		idle = 0;
		if (e->flags & DRVOPS_HFI_RHQ_LAST)
			atomic_fetch_add(&rx->consumed, 1);
		drvops_hfi_consume(&h, e);
	}
	bench_hfi_close(&h);
	_exit(0);
}

/* Messages one sender may have unconsumed at once. */
static unsigned long window(const struct drvops_hfi_ctx *h)
{
	unsigned long w = h->info.rhq_entries / 2;

	if (w > h->info.sdma_slots / 2)
		w = h->info.sdma_slots / 2;
	return w ? w : 1;
}

/*
 * Up to t->batch messages in one drvops_hfi_send_batch(), as many as the
 * window and the round allow: 0 (t->sent counts them) or -errno.
 */
static int send_some(struct rate_tx *t, unsigned long w, unsigned long target,
		     const uint8_t *hdr, const struct iovec *iov)
{
	struct drvops_hfi_msg m[DRVOPS_HFI_BATCH_MAX];
	unsigned long room = w - (t->sent - atomic_load(&t->rx->consumed));
	unsigned int n = t->batch, i;
	int got;

	if (n > room)
		n = (unsigned int)room;
	if (n > target - t->sent)
		n = (unsigned int)(target - t->sent);
	for (i = 0; i < n; i++)
		m[i] = (struct drvops_hfi_msg){
			.opcode = DRVOPS_HFI_OP_EAGER,
			.dlid = (uint16_t)t->rx->lid,
			.dctxt = (uint16_t)t->rx->ctxt,
			.hdr = hdr,
			.iov = iov,
			.niov = t->len ? 1 : 0,
			.slot = -1,
		};
	got = drvops_hfi_send_batch(&t->h, m, n);
	if (got < 0)
		return got;
	t->sent += (unsigned long)got;
	return 0;
}

static void *sender(void *arg)
{
	struct rate_tx *t = arg;
	unsigned long w = window(&t->h), target = t->sent + t->todo;
	double end = now_ns() + TIMEOUT_NS;
	struct drvops_hfi_sdma_req r;
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES] = { 0 };
	struct iovec iov = { t->buf, t->len };

	memset(&r, 0, sizeof(r));
	while (t->sent < target) {
		int slot;

		if (t->sent - atomic_load(&t->rx->consumed) >= w) {
			if (atomic_load(&t->rx->status) || now_ns() > end) {
				t->err = -ETIMEDOUT;
				return NULL;
			}
			sched_yield();
			continue;
		}
		if (t->batch > 1)
			slot = send_some(t, w, target, hdr, &iov);
		else
			slot = drvops_hfi_send(&t->h, DRVOPS_HFI_OP_EAGER,
					       (uint16_t)t->rx->lid,
					       (uint16_t)t->rx->ctxt, 0, 0, hdr,
					       &iov, t->len ? 1 : 0);
		if (slot == -ENOSPC) {
			sched_yield();
			continue;
		}
		if (slot < 0) {
			t->err = slot;
			return NULL;
		}
		if (t->batch <= 1)
			t->sent++;
		end = now_ns() + TIMEOUT_NS;
	}
	/* Drained: the round ends when every message is consumed. */
	while (atomic_load(&t->rx->consumed) < target) {
		if (now_ns() > end) {
			t->err = -ETIMEDOUT;
			return NULL;
		}
		sched_yield();
	}
	return NULL;
}

/* iters messages over c->pairs pairs (split evenly), all consumed. */
static int rate_round(void *ctx, unsigned long iters)
{
	struct rate_case *k = ctx;
	struct rate_ctx *c = k->c;
	pthread_t th[MAX_PAIRS];
	unsigned int p, started;
	int err = 0;

	for (p = 0; p < k->pairs; p++) {
		c->tx[p].todo = iters / k->pairs + (p < iters % k->pairs);
		c->tx[p].len = k->len;
		c->tx[p].batch = k->batch;
		c->tx[p].err = 0;
	}
	for (started = 1; started < k->pairs; started++)
		if (pthread_create(&th[started], NULL, sender, &c->tx[started]))
			break;
	sender(&c->tx[0]);
	for (p = 1; p < started; p++)
		pthread_join(th[p], NULL);
	if (started < k->pairs)
		return -EAGAIN;
	for (p = 0; p < k->pairs && !err; p++)
		err = c->tx[p].err;
	return err;
}

static int rate_setup(struct rate_ctx *c)
{
	unsigned int p;
	double end;
	int ret;

	c->rx = mmap(NULL, sizeof(*c->rx) * MAX_PAIRS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->rx == MAP_FAILED)
		return -ENOMEM;
	memset(c->rx, 0, sizeof(*c->rx) * MAX_PAIRS);
	for (p = 0; p < MAX_PAIRS; p++) {
		c->child[p] = -1;
		c->tx[p].h.fd = -1;
	}
	fflush(NULL);
	for (p = 0; p < MAX_PAIRS; p++) {
		c->child[p] = fork();
		if (c->child[p] < 0)
			return -errno;
		if (c->child[p] == 0) {
			bench_place_peer();
			receiver(&c->rx[p]);
		}
	}
	end = now_ns() + TIMEOUT_NS;
	for (p = 0; p < MAX_PAIRS; p++) {
		while (!atomic_load(&c->rx[p].ready)) {
			if (now_ns() > end)
				return -ETIMEDOUT;
			usleep(1000);
		}
		if (atomic_load(&c->rx[p].ready) < 0)
			return atomic_load(&c->rx[p].ready);
		ret = bench_hfi_open(&c->tx[p].h, 0);
		if (ret)
			return ret;
		c->tx[p].rx = &c->rx[p];
		memset(c->tx[p].buf, 0x5a, MAX_LEN);
	}
	return 0;
}

static void rate_teardown(struct rate_ctx *c)
{
	unsigned int p;

	for (p = 0; p < MAX_PAIRS; p++) {
		if (c->tx[p].h.fd >= 0)
			bench_hfi_close(&c->tx[p].h);
		if (c->rx != MAP_FAILED && c->rx)
			atomic_store(&c->rx[p].quit, 1);
	}
	for (p = 0; p < MAX_PAIRS; p++)
		if (c->child[p] > 0)
			waitpid(c->child[p], NULL, 0);
	if (c->rx && c->rx != MAP_FAILED)
		munmap(c->rx, sizeof(*c->rx) * MAX_PAIRS);
}

static const struct {
	const char *id;
	const char *label;
	unsigned int pairs;
	unsigned int batch;
} methods[] = {
	{ "rate_1p", "eager stream, 1 pair (messages/s = 1e9 / ns)", 1, 1 },
	{ "rate_2p", "eager stream, 2 pairs at once", 2, 1 },
	{ "rate_4p", "eager stream, 4 pairs at once", 4, 1 },
	{ "rate_1p_b16", "eager stream, 1 pair, 16 per writev (send_batch)",
	  1, DRVOPS_HFI_BATCH_MAX },
};
#define NUM_METHODS (sizeof(methods) / sizeof(methods[0]))

static int msgrate_run(const struct bench_family *fam,
		       const struct bench_opts *o)
{
	static const size_t sizes[] = { 8, 64, 256, 1024, 4096 };
	static struct rate_ctx base;	/* 4 x 4 KiB buffers: not on the stack */
	struct rate_case k[NUM_METHODS];
	int setup, err = 0, ret;
	unsigned int i, m;

	memset(&base, 0, sizeof(base));
	setup = rate_setup(&base);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct bench_case cases[NUM_METHODS];

		if (sizes[i] > o->max_bytes)
			break;
		fprintf(stderr, "drvops-bench: msgrate %zu bytes\n", sizes[i]);
		for (m = 0; m < NUM_METHODS; m++) {
			k[m] = (struct rate_case){ &base, methods[m].pairs,
						   sizes[i], methods[m].batch };
			cases[m] = (struct bench_case){
				.method = methods[m].id,
				.label = methods[m].label,
				.bytes = sizes[i],
				.fn = rate_round,
				.ctx = &k[m],
				.div = 1,
				.err = setup,
			};
		}
		ret = bench_run_set(fam, o, cases, NUM_METHODS);
		if (ret && !err)
			err = ret;
	}
	rate_teardown(&base);
	return err;
}

const struct bench_family bench_msgrate_family = {
	.name = "msgrate",
	.title = "HFI message rate: eager streams of 1, 2 and 4 pairs at once "
		 "(ns per message of all pairs; rate = 1e9 / ns)",
	.ref = "rate_1p",
	.run = msgrate_run,
};
