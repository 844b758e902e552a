// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The MQ engine's wire over an HFI receive context (see hfi_transport.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ep.h"
#include "hfi_transport.h"
#include "shim.h"

/* The engine sends at most one payload iovec; leave room for more. */
#define HFI_SEND_MAX_IOVS 4
/* RHQ entries handled per poll, so sends get their turn. */
#define HFI_POLL_BUDGET 64

/*
 * A send the engine has handed over: in a completion slot, or waiting to
 * be resent. The payload stays the engine's until shim_mq_send_done().
 */
struct hfi_send {
	struct shim_list node;		/* retry queue */
	struct hfi_peer *peer;
	void *cookie;
	uint8_t opcode;
	uint32_t tid;
	uint64_t toffset;
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	unsigned niov;
	struct iovec iov[HFI_SEND_MAX_IOVS];
	bool probe;			/* hfi_transport_probe(): no cookie */
	unsigned attempts;		/* refusals so far */
	uint64_t first_refused_ns;
	uint64_t due_ns;
};

/* A tid the device would not free yet (a transfer still in it). */
struct hfi_tid_pending {
	struct shim_list node;
	uint32_t tid;
};

struct hfi_transport {
	struct shim_transport_ops ops;
	const struct hfi_dev_ops *dops;
	void *dev;
	struct hfi_dev_params params;
	struct hfi_resend_policy policy;
	psm2_mq_t mq;
	struct hfi_send **slots;	/* [sdma_slots]: what each holds */
	unsigned inflight;
	unsigned next_slot;
	uint32_t reap_from;		/* the oldest slot maybe in flight */
	struct shim_list retry;		/* by due time */
	unsigned nretry;
	struct shim_list free_sends;	/* send_alloc() takes these first */
	unsigned nfree;
	struct shim_list tids_pending;
	unsigned tids_held;		/* registered, pinned until freed */
	bool caching;			/* tids kept across receives */
	struct tid_cache cache;
	bool pin_refusing;		/* -ENOMEM since pin_refused_ns */
	uint64_t pin_refused_ns;
	struct shim_list peers;
	struct hfi_transport_stats stats;
};

/* ------------------------------------------------------- resend policy */

void hfi_resend_policy_defaults(struct hfi_resend_policy *p)
{
	/*
	 * A receiver that is merely busy drains its RHQ within microseconds;
	 * one that computes for a while is polled gently (10 ms); 60 s is
	 * long enough for any sane compute phase and short enough that a
	 * hung peer shows up as an error instead of a hang.
	 */
	p->base_ns = 20 * 1000ull;
	p->max_ns = 10 * 1000 * 1000ull;
	p->give_up_ns = 60 * 1000 * 1000 * 1000ull;
}

void hfi_resend_policy_from_env(struct hfi_resend_policy *p)
{
	shim_env_u64("PSM2_SHIM_RESEND_TIMEOUT_MS", &p->give_up_ns, 1000000ull);
	shim_env_u64("PSM2_SHIM_RESEND_MAX_US", &p->max_ns, 1000ull);
	if (p->base_ns > p->max_ns)
		p->base_ns = p->max_ns;
}

uint64_t hfi_resend_delay(const struct hfi_resend_policy *p, unsigned attempt)
{
	uint64_t d = p->base_ns;

	while (attempt-- > 1 && d < p->max_ns)
		d *= 2;
	return d < p->max_ns ? d : p->max_ns;
}

bool hfi_resend_expired(const struct hfi_resend_policy *p, uint64_t first_ns,
			uint64_t now_ns)
{
	return now_ns - first_ns >= p->give_up_ns;
}

/* ---------------------------------------------------------- reassembly */

void hfi_reasm_reset(struct hfi_reasm *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

enum hfi_reasm_result hfi_reasm_add(struct hfi_reasm *r, const void *hdr,
				    uint64_t msg_len, uint64_t offset,
				    const void *payload, uint64_t len,
				    bool last)
{
	if (offset == 0) {
		/* A new message; a half-built one before it is lost. */
		bool lost = r->buf || r->got;

		hfi_reasm_reset(r);
		if (lost)
			return HFI_REASM_DROPPED;
		r->buf = malloc(msg_len ? msg_len : 1);
		if (!r->buf)
			return HFI_REASM_DROPPED;
		r->msg_len = msg_len;
		memcpy(r->hdr, hdr, sizeof(r->hdr));
	} else if (!r->buf || msg_len != r->msg_len || offset != r->got ||
		   memcmp(r->hdr, hdr, sizeof(r->hdr))) {
		hfi_reasm_reset(r);
		return HFI_REASM_DROPPED;
	}
	if (len > r->msg_len - r->got) {
		hfi_reasm_reset(r);
		return HFI_REASM_DROPPED;
	}
	if (len)
		memcpy(r->buf + r->got, payload, len);
	r->got += len;
	if (!last)
		return HFI_REASM_MORE;
	if (r->got != r->msg_len) {
		hfi_reasm_reset(r);
		return HFI_REASM_DROPPED;
	}
	return HFI_REASM_DONE;
}

/* --------------------------------------------------------------- peers */

struct hfi_peer *hfi_transport_peer(struct hfi_transport *t, struct psm2_ep *ep,
				    uint16_t lid, uint16_t ctxt,
				    psm2_epid_t epid, bool create)
{
	struct shim_list *pos;
	struct hfi_peer *p;

	for (pos = t->peers.next; pos != &t->peers; pos = pos->next) {
		p = shim_container_of(pos, struct hfi_peer, node);
		if (p->lid == lid && p->ctxt == ctxt)
			return p;
	}
	if (!create)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	shim_peer_init(&p->addr, ep, epid, (uint64_t)lid << 16 | ctxt);
	p->addr.tp = t;
	p->lid = lid;
	p->ctxt = ctxt;
	shim_list_append(&t->peers, &p->node);
	return p;
}

struct hfi_peer *hfi_transport_next_peer(struct hfi_transport *t,
					 struct hfi_peer *prev)
{
	struct shim_list *n = prev ? prev->node.next : t->peers.next;

	return n == &t->peers ? NULL : shim_container_of(n, struct hfi_peer,
							 node);
}

/* Sends kept for reuse: a message costs no malloc/free in the steady state. */
#define HFI_SEND_FREELIST_MAX 64

static struct hfi_send *send_alloc(struct hfi_transport *t)
{
	struct hfi_send *s;

	if (shim_list_empty(&t->free_sends))
		s = malloc(sizeof(*s));
	else {
		s = shim_container_of(t->free_sends.next, struct hfi_send,
				      node);
		shim_list_del(&s->node);
		t->nfree--;
	}
	if (s) {
		memset(s, 0, sizeof(*s));
		shim_list_init(&s->node);
	}
	return s;
}

static void send_free(struct hfi_transport *t, struct hfi_send *s)
{
	shim_list_del(&s->node);
	if (t->nfree >= HFI_SEND_FREELIST_MAX) {
		free(s);
		return;
	}
	shim_list_insert_before(&t->free_sends, &s->node);
	t->nfree++;
}

void hfi_transport_peer_remove(struct hfi_transport *t, struct hfi_peer *p)
{
	struct shim_list *pos, *tmp;
	unsigned i;

	/* Its queued resends go with it; the engine hears they failed. */
	shim_list_for_each_safe(pos, tmp, &t->retry) {
		struct hfi_send *s = shim_container_of(pos, struct hfi_send,
						       node);
		if (s->peer != p)
			continue;
		t->nretry--;
		if (t->mq)
			shim_mq_send_done(t->mq, s->cookie, -ECONNRESET);
		send_free(t, s);
	}
	/* Sends still in a slot only need to forget whom they were for. */
	for (i = 0; i < t->params.sdma_slots; i++)
		if (t->slots[i] && t->slots[i]->peer == p)
			t->slots[i]->peer = NULL;
	shim_list_del(&p->node);
	hfi_reasm_reset(&p->reasm);
	shim_peer_fini(&p->addr);
	free(p);
}

static void peer_failed(struct hfi_transport *t, struct hfi_peer *p, int err)
{
	if (!p || p->error)
		return;
	p->error = err;
	if (t->mq)
		shim_mq_peer_failed(t->mq, &p->addr, err);
}

/* --------------------------------------------------------------- sends */

static uint64_t now(struct hfi_transport *t)
{
	return t->dops->now_ns(t->dev);
}

/* A slot nobody holds. The device only reuses what we hand it. */
static int slot_take(struct hfi_transport *t)
{
	uint32_t n = t->params.sdma_slots, i;

	if (t->inflight == n)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		uint32_t s = (t->next_slot + i) & (n - 1);

		if (!t->slots[s]) {
			t->next_slot = s + 1;
			return (int)s;
		}
	}
	return -ENOSPC;
}

/* Busy for now (come back later), as the engine understands it. */
static bool dev_busy(int err)
{
	return err == -ENOSPC || err == -EBADSLT || err == -EAGAIN ||
	       err == -EINTR;
}

/*
 * Pinning refused (-ENOMEM: it would pass RLIMIT_MEMLOCK). What we hold
 * pinned comes back as our sends complete and as peers fill our receive
 * windows, so that is worth waiting for (-EAGAIN: the engine retries);
 * with nothing of ours pinned, the request alone is over the limit. A
 * peer that never fills our windows must not make us wait forever: after
 * the resend time limit the refusal stands.
 */
static bool cache_give_back(struct hfi_transport *t);

static int pin_refused(struct hfi_transport *t)
{
	uint64_t tnow;

	/* Idle cached tids first: their pages come back at once. */
	if (cache_give_back(t))
		return -EAGAIN;
	if (!t->inflight && !t->tids_held)
		return -ENOMEM;
	tnow = now(t);
	if (!t->pin_refusing) {
		t->pin_refusing = true;
		t->pin_refused_ns = tnow;
	} else if (hfi_resend_expired(&t->policy, t->pin_refused_ns, tnow)) {
		return -ENOMEM;
	}
	return -EAGAIN;
}

/*
 * Hand b[0..n) to the device in one call, each in a slot of its own (a
 * send whose peer has failed ends the call before it): how many it took,
 * each now in its slot, or the first one's error (-EAGAIN: no slot, or
 * the device is full: try later). What follows a taken part is left to
 * the next call, whose first send then says why it was refused.
 */
static int submit_some(struct hfi_transport *t, struct hfi_send **b,
		       unsigned n)
{
	struct drvops_hfi_msg m[HFI_SEND_BATCH_MAX];
	unsigned i, k = 0;
	int got;

	for (i = 0; i < n && i < HFI_SEND_BATCH_MAX; i++) {
		struct hfi_send *s = b[i];
		int slot = i && s->peer->error ? -1 : slot_take(t);

		if (slot < 0)
			break;
		t->slots[slot] = s;	/* held: slot_take() passes it by */
		m[k++] = (struct drvops_hfi_msg){
			.opcode = s->opcode, .dlid = s->peer->lid,
			.dctxt = s->peer->ctxt, .tid = s->tid,
			.toffset = s->toffset, .hdr = s->hdr, .iov = s->iov,
			.niov = s->niov, .slot = slot,
		};
	}
	if (!k)
		return -EAGAIN;
	got = t->dops->send(t->dev, m, k);
	if (!got)
		got = -EAGAIN;	/* nothing taken: as if busy */
	for (i = got > 0 ? (unsigned)got : 0; i < k; i++)
		t->slots[m[i].slot] = NULL;
	if (got > 0) {
		t->inflight += (unsigned)got;
		t->pin_refusing = false;
		return got;
	}
	if (dev_busy(got))
		return -EAGAIN;
	if (got == -ENOMEM)
		got = pin_refused(t);
	if (got != -EAGAIN)
		shim_debug("send op %u of %zu B to lid %u ctxt %u refused: %s"
			   " (%u in flight, %u to resend)", b[0]->opcode,
			   b[0]->niov ? b[0]->iov[0].iov_len : 0,
			   b[0]->peer->lid, b[0]->peer->ctxt, strerror(-got),
			   t->inflight, t->nretry);
	return got;
}

/* Hand s to the device: 0 (s now in a slot), -EAGAIN (later) or its error. */
static int submit(struct hfi_transport *t, struct hfi_send *s)
{
	int got = submit_some(t, &s, 1);

	return got < 0 ? got : 0;
}

static int tp_send(struct hfi_transport *t, psm2_epaddr_t dest,
		   uint8_t opcode, uint32_t tid, uint64_t toffset,
		   const void *hdr, const struct iovec *iov, unsigned niov,
		   void *cookie)
{
	struct hfi_peer *p = hfi_peer_of(dest);
	struct hfi_send *s;
	int err;

	if (p->error)
		return p->error;
	if (niov > HFI_SEND_MAX_IOVS || niov > t->params.max_iovs)
		return -EINVAL;
	s = send_alloc(t);
	if (!s)
		return -ENOMEM;
	s->peer = p;
	s->cookie = cookie;
	s->opcode = opcode;
	s->tid = tid;
	s->toffset = toffset;
	memcpy(s->hdr, hdr, sizeof(s->hdr));
	s->niov = niov;
	if (niov)
		memcpy(s->iov, iov, niov * sizeof(*iov));
	err = submit(t, s);
	if (err)
		send_free(t, s);	/* not sent: the engine retries or fails it */
	return err;
}

static int op_send_eager(void *tp, psm2_epaddr_t dest, const void *hdr,
			 const struct iovec *iov, unsigned niov, void *cookie)
{
	return tp_send(tp, dest, DRVOPS_HFI_OP_EAGER, 0, 0, hdr, iov, niov,
		       cookie);
}

static int op_send_expected(void *tp, psm2_epaddr_t dest, uint64_t handle,
			    uint64_t offset, const void *hdr,
			    const struct iovec *iov, unsigned niov,
			    void *cookie)
{
	return tp_send(tp, dest, DRVOPS_HFI_OP_EXPECTED, (uint32_t)handle,
		       offset, hdr, iov, niov, cookie);
}

static void retry_queue(struct hfi_transport *t, struct hfi_send *s)
{
	struct shim_list *pos;

	/* Sorted by due time: the head is the next to go. */
	for (pos = t->retry.next; pos != &t->retry; pos = pos->next)
		if (shim_container_of(pos, struct hfi_send, node)->due_ns >
		    s->due_ns)
			break;
	shim_list_insert_before(pos, &s->node);
	t->nretry++;
}

/* A send has finished for good: tell the engine and forget it. */
static void send_finish(struct hfi_transport *t, struct hfi_send *s, int err)
{
	if (err)
		shim_debug("send op %u of %zu B to lid %u ctxt %u failed: %s",
			   s->opcode, s->niov ? s->iov[0].iov_len : 0,
			   s->peer ? s->peer->lid : 0,
			   s->peer ? s->peer->ctxt : 0, strerror(-err));
	if (err == -EHOSTUNREACH) {
		t->stats.unreachable++;
		peer_failed(t, s->peer, err);
	}
	if (t->mq)
		shim_mq_send_done(t->mq, s->cookie, err);
	/*
	 * A control message (no cookie) that cannot get through leaves the
	 * engine waiting for an answer that never comes: fail the peer.
	 */
	if (err && !s->cookie)
		peer_failed(t, s->peer, err);
	send_free(t, s);
}

static void send_refused(struct hfi_transport *t, struct hfi_send *s)
{
	uint64_t tnow = now(t);

	if (s->attempts++ == 0)
		s->first_refused_ns = tnow;
	if (hfi_resend_expired(&t->policy, s->first_refused_ns, tnow)) {
		t->stats.gave_up++;
		send_finish(t, s, -ETIMEDOUT);
		return;
	}
	s->due_ns = tnow + hfi_resend_delay(&t->policy, s->attempts);
	retry_queue(t, s);
}

/*
 * Slots are taken round-robin (slot_take) and held until reaped, so those
 * in flight follow reap_from: the scan starts there and stops once it has
 * met every slot in flight, usually at the first one.
 */
static int reap_completions(struct hfi_transport *t)
{
	uint32_t n = t->params.sdma_slots, i = t->reap_from, k;
	uint32_t reaped = 0, queued = 0, first_queued = n;
	int moved = 0;

	for (k = 0; k < n && queued < t->inflight; k++, i = (i + 1) & (n - 1)) {
		struct hfi_send *s = t->slots[i];
		int st;

		if (!s)
			continue;
		st = t->dops->slot_status(t->dev, (int)i);
		if (st == 1) {
			if (!queued++)
				first_queued = i;
			continue;
		}
		t->slots[i] = NULL;
		t->inflight--;
		reaped++;
		moved = 1;
		if (s->probe) {
			/* Refused for lack of room: someone is there. */
			if (s->peer)
				s->peer->probe = st == 0 || st == -ENOBUFS ?
						 1 : st;
			send_free(t, s);
		} else if (st == -ENOBUFS && s->peer)
			send_refused(t, s);
		else
			send_finish(t, s, st);
	}
	t->reap_from = first_queued < n ? first_queued : i;
	if (reaped && t->params.comp_events)
		t->dops->comps_reaped(t->dev, reaped);
	return moved;
}

/* b[0..n) back at the head of the retry queue, in that order. */
static void retry_requeue_head(struct hfi_transport *t, struct hfi_send **b,
			       unsigned n)
{
	while (n--) {
		shim_list_insert_before(t->retry.next, &b[n]->node);
		t->nretry++;
	}
}

/*
 * Resend what is due, in due order, HFI_SEND_BATCH_MAX per call into the
 * device (a receiver that was full usually has several of ours waiting).
 */
static int resend_due(struct hfi_transport *t)
{
	struct hfi_send *b[HFI_SEND_BATCH_MAX];
	uint64_t tnow;
	int moved = 0;

	if (!t->nretry)
		return 0;
	tnow = now(t);
	for (;;) {
		unsigned n = 0, i;

		while (n < HFI_SEND_BATCH_MAX && !shim_list_empty(&t->retry)) {
			struct hfi_send *s = shim_container_of(t->retry.next,
							       struct hfi_send,
							       node);

			if (s->due_ns > tnow)
				break;
			shim_list_del(&s->node);
			t->nretry--;
			if (s->peer->error) {
				moved = 1;
				send_finish(t, s, s->peer->error);
				continue;
			}
			b[n++] = s;
		}
		if (!n)
			break;
		for (i = 0; i < n;) {
			int got = b[i]->peer->error ? b[i]->peer->error :
				  submit_some(t, b + i, n - i);

			if (got == -EAGAIN) {
				/* device full: keep their place, next poll */
				retry_requeue_head(t, b + i, n - i);
				return moved;
			}
			moved = 1;
			if (got < 0) {
				send_finish(t, b[i++], got);
				continue;
			}
			t->stats.resends += (unsigned)got;
			t->stats.resend_batches += got > 1;
			i += (unsigned)got;
		}
	}
	return moved;
}

/* ------------------------------------------------------- expected tids */

/* TID_FREE now, or from a later poll while a transfer still writes. */
static int tid_free(struct hfi_transport *t, uint32_t tid)
{
	struct hfi_tid_pending *pend;
	int err = t->dops->tid_free(t->dev, tid);

	if (err == 0 && t->tids_held)
		t->tids_held--;
	if (err && err != -EBUSY)
		shim_debug("TID_FREE %u: %s", (unsigned)tid, strerror(-err));
	if (err != -EBUSY)
		return err;
	pend = malloc(sizeof(*pend));
	if (!pend)
		return -ENOMEM;
	pend->tid = tid;
	shim_list_append(&t->tids_pending, &pend->node);
	return 0;
}

/* Free every idle cached tid: true if there was one. */
static bool cache_give_back(struct hfi_transport *t)
{
	bool any = false;
	uint32_t tid;

	while (t->caching && tid_cache_evict(&t->cache, true, &tid)) {
		tid_free(t, tid);
		any = true;
	}
	return any;
}

/* Idle tids whose buffers went away hold pages nobody sees: free them. */
static void cache_sweep_stale(struct hfi_transport *t)
{
	struct tid_cache_entry *e = tid_cache_idle_next(&t->cache, NULL);

	while (e) {
		struct tid_cache_entry *next = tid_cache_idle_next(&t->cache, e);
		uint32_t tid = e->tid;

		if (t->dops->tid_stale(t->dev, tid) &&
		    tid_cache_drop_stale(&t->cache, e))
			tid_free(t, tid);
		e = next;
	}
}

/* A cached tid for (buf, len) that still maps it, taken; or NULL. */
static struct tid_cache_entry *cache_find(struct hfi_transport *t, void *buf,
					  size_t len)
{
	struct tid_cache_entry *e;

	while ((e = tid_cache_lookup(&t->cache, buf, len))) {
		uint32_t tid = e->tid;

		if (!t->dops->tid_stale(t->dev, tid)) {
			tid_cache_get(&t->cache, e);
			return e;
		}
		if (tid_cache_drop_stale(&t->cache, e))
			tid_free(t, tid);
	}
	return NULL;
}

static int tid_register(struct hfi_transport *t, void *buf, size_t len,
			uint32_t *tid)
{
	int err;

	if (!t->caching)
		return t->dops->tid_register(t->dev, buf, len, tid);
	err = t->dops->tid_register_notify(t->dev, buf, len, tid);
	/* Out of tids or of memlock: idle cached ones make room. */
	if ((err == -ENOSPC || err == -ENOMEM) && cache_give_back(t))
		err = t->dops->tid_register_notify(t->dev, buf, len, tid);
	return err;
}

static int op_register(void *tp, void *buf, size_t len, uint64_t *handle)
{
	struct hfi_transport *t = tp;
	struct tid_cache_entry *e;
	uint32_t tid;
	int err;

	if (t->caching) {
		e = cache_find(t, buf, len);
		if (e) {
			*handle = e->tid;
			return 0;
		}
		cache_sweep_stale(t);
	}
	err = tid_register(t, buf, len, &tid);
	if (err == -ENOMEM)
		err = pin_refused(t);
	if (err == -EAGAIN)
		return err;
	if (err) {
		shim_debug("TID_REGISTER of %zu B: %s (%u in flight)", len,
			   strerror(-err), t->inflight);
		return err;
	}
	t->tids_held++;
	t->stats.tid_registrations++;
	t->pin_refusing = false;
	/* Not kept (no memory): released like an uncached one. */
	if (t->caching)
		tid_cache_insert(&t->cache, buf, len, tid);
	*handle = tid;
	return 0;
}

static int op_release(void *tp, uint64_t handle, bool filled)
{
	struct hfi_transport *t = tp;
	uint32_t tid = (uint32_t)handle;

	if (t->caching) {
		switch (tid_cache_put(&t->cache, tid, filled)) {
		case TID_CACHE_KEPT:
			/* Over the idle limits: the oldest idle ones go. */
			while (tid_cache_evict(&t->cache, false, &tid))
				tid_free(t, tid);
			return 0;
		case TID_CACHE_FREE:
		case TID_CACHE_NOT_MINE:
			break;
		}
	}
	return tid_free(t, tid);
}

static void free_pending_tids(struct hfi_transport *t)
{
	struct shim_list *pos, *tmp;

	shim_list_for_each_safe(pos, tmp, &t->tids_pending) {
		struct hfi_tid_pending *p = shim_container_of(
			pos, struct hfi_tid_pending, node);

		int err = t->dops->tid_free(t->dev, p->tid);

		if (err == -EBUSY)
			continue;
		if (err == 0 && t->tids_held)
			t->tids_held--;
		shim_list_del(&p->node);
		free(p);
	}
}

/* ------------------------------------------------------------- receive */

static void recv_one(struct hfi_transport *t,
		     const volatile struct drvops_hfi_rhq_entry *e)
{
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	uint32_t flags = e->flags;
	uint64_t len = e->length, msg_len = e->msg_length, off = e->offset;
	bool last = flags & DRVOPS_HFI_RHQ_LAST;
	struct hfi_peer *p;
	const void *payload;

	memcpy(hdr, (const void *)e->hdr, sizeof(hdr));
	/*
	 * A sender we have not connected to yet (it connected to us first):
	 * keep its messages under a peer of its own, as PSM2 does.
	 */
	p = hfi_transport_peer(t, t->mq ? shim_mq_ep(t->mq) : NULL, e->src_lid,
			       e->src_ctxt, 0, true);
	if (!p || p->error) {
		t->stats.dropped_rx++;
		return;
	}
	if (!p->addr.epid)
		p->addr.epid = shim_hfi_epid(SHIM_EPID_UNIT_UNKNOWN, p->lid,
					     p->ctxt, 0);
	if (flags & DRVOPS_HFI_RHQ_EXPECTED) {
		/* The payload is in place; the header says which window. */
		if (last)
			shim_mq_recv_expected(t->mq, &p->addr, hdr);
		return;
	}
	if (!(flags & DRVOPS_HFI_RHQ_EAGER)) {
		t->stats.dropped_rx++;
		return;
	}
	payload = len ? t->dops->eager_payload(t->dev, e) : NULL;
	if (off == 0 && last && len == msg_len && !p->reasm.buf) {
		/* One packet: straight from the eager buffer, no copy. */
		shim_mq_recv(t->mq, &p->addr, hdr, payload, len);
		return;
	}
	switch (hfi_reasm_add(&p->reasm, hdr, msg_len, off, payload, len,
			      last)) {
	case HFI_REASM_MORE:
		break;
	case HFI_REASM_DONE:
		shim_mq_recv(t->mq, &p->addr, p->reasm.hdr, p->reasm.buf,
			     p->reasm.msg_len);
		hfi_reasm_reset(&p->reasm);
		break;
	case HFI_REASM_DROPPED:
		t->stats.dropped_rx++;
		break;
	}
}

static int hfi_transport_wait_time(struct hfi_transport *t, int timeout_ms);
static int hfi_transport_sleep(struct hfi_transport *t, int timeout_ms);

static int op_wait_time(void *tp, int timeout_ms)
{
	return hfi_transport_wait_time(tp, timeout_ms);
}

static int op_wait(void *tp, int timeout_ms)
{
	return hfi_transport_sleep(tp, timeout_ms);
}

int hfi_transport_probe(struct hfi_transport *t, struct hfi_peer *p)
{
	/* Message type 0: every MQ drops it unread. */
	static const uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	struct hfi_send *s = send_alloc(t);
	int err;

	if (!s)
		return -ENOMEM;
	s->peer = p;
	s->probe = true;
	s->opcode = DRVOPS_HFI_OP_EAGER;
	memcpy(s->hdr, hdr, sizeof(hdr));
	p->probe = 0;
	err = submit(t, s);
	if (err)
		send_free(t, s);
	return err;
}

static int op_poll(void *tp)
{
	struct hfi_transport *t = tp;
	int moved = 0, budget = HFI_POLL_BUDGET;
	const volatile struct drvops_hfi_rhq_entry *e;

	if (t->inflight)
		moved |= reap_completions(t);
	moved |= resend_due(t);
	/* Before mq_init, packets wait in the RHQ (the device keeps them). */
	while (t->mq && budget-- && (e = t->dops->peek(t->dev))) {
		t->stats.rx_packets++;
		recv_one(t, e);
		/* Only now: the engine may have read the eager buffer. */
		t->dops->consume(t->dev, e);
		moved = 1;
	}
	if (!shim_list_empty(&t->tids_pending))
		free_pending_tids(t);
	return moved;
}

/* ------------------------------------------------------------ creation */

struct hfi_transport *hfi_transport_create(const struct hfi_dev_ops *dops,
					   void *dev,
					   const struct hfi_dev_params *params,
					   const struct hfi_resend_policy *pol)
{
	struct hfi_transport *t;

	if (!params->sdma_slots ||
	    (params->sdma_slots & (params->sdma_slots - 1)))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->slots = calloc(params->sdma_slots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->dops = dops;
	t->dev = dev;
	t->params = *params;
	if (!dops->comps_reaped)
		t->params.comp_events = false;
	if (pol)
		t->policy = *pol;
	else
		hfi_resend_policy_defaults(&t->policy);
	shim_list_init(&t->retry);
	shim_list_init(&t->free_sends);
	shim_list_init(&t->tids_pending);
	shim_list_init(&t->peers);
	t->caching = params->tid_cache && !params->legacy &&
		     dops->tid_register_notify && dops->tid_stale;
	/* Most tids idle at once: leave some for windows in use. */
	tid_cache_init(&t->cache, DRVOPS_HFI_MAX_TIDS / 2,
		       params->tid_cache_bytes);

	t->ops.send_eager = op_send_eager;
	t->ops.poll = op_poll;
	t->ops.wait_time = op_wait_time;
	t->ops.wait = op_wait;
	t->ops.eager_max = params->eager_max;
	if (!params->legacy && dops->tid_register) {
		t->ops.send_expected = op_send_expected;
		t->ops.register_recv_buffer = op_register;
		t->ops.release_recv_buffer = op_release;
		/* The device's largest tid (drvops_hfi.h, EMSGSIZE). */
		t->ops.register_max = 64u << 20;
		if (params->register_max &&
		    params->register_max < t->ops.register_max)
			t->ops.register_max = params->register_max;
	}
	return t;
}

void hfi_transport_destroy(struct hfi_transport *t)
{
	struct shim_list *pos, *tmp;
	uint32_t i;

	if (!t)
		return;
	for (i = 0; i < t->params.sdma_slots; i++)
		free(t->slots[i]);
	free(t->slots);
	shim_list_for_each_safe(pos, tmp, &t->retry)
		free(shim_container_of(pos, struct hfi_send, node));
	shim_list_for_each_safe(pos, tmp, &t->free_sends)
		free(shim_container_of(pos, struct hfi_send, node));
	shim_list_for_each_safe(pos, tmp, &t->tids_pending) {
		shim_list_del(pos);
		free(shim_container_of(pos, struct hfi_tid_pending, node));
	}
	tid_cache_fini(&t->cache);
	while (!shim_list_empty(&t->peers)) {
		struct hfi_peer *p = shim_container_of(t->peers.next,
						       struct hfi_peer, node);

		shim_list_del(&p->node);
		hfi_reasm_reset(&p->reasm);
		shim_peer_fini(&p->addr);
		free(p);
	}
	free(t);
}

int hfi_transport_progress(struct hfi_transport *t)
{
	return op_poll(t);
}

const struct shim_transport_ops *hfi_transport_ops(struct hfi_transport *t)
{
	return &t->ops;
}

void hfi_transport_set_mq(struct hfi_transport *t, psm2_mq_t mq)
{
	t->mq = mq;
}

unsigned hfi_transport_pending(struct hfi_transport *t)
{
	return t->inflight + t->nretry;
}

/* How long the engine may sleep in wait_recv(): 0 to only yield. */
static int hfi_transport_wait_time(struct hfi_transport *t, int timeout_ms)
{
	/*
	 * Without completion events the device wakes poll() for packets
	 * only, and its engines complete within microseconds: with sends
	 * in flight, only yield.
	 */
	if (t->inflight && !t->params.comp_events)
		return 0;
	if (t->nretry) {
		struct hfi_send *s = shim_container_of(t->retry.next,
						       struct hfi_send, node);
		uint64_t tnow = now(t);
		int64_t ms = s->due_ns > tnow ?
			     (int64_t)((s->due_ns - tnow + 999999) / 1000000) :
			     0;

		if (ms < timeout_ms || timeout_ms < 0)
			timeout_ms = (int)ms;
	}
	return timeout_ms;
}

/* Without the engine's lock: touch nothing but the device. */
static int hfi_transport_sleep(struct hfi_transport *t, int timeout_ms)
{
	int r = t->dops->wait_recv(t->dev, timeout_ms);

	if (r == -EINTR)
		return 0;
	return r < 0 ? r : 0;
}

const struct hfi_transport_stats *hfi_transport_stats(struct hfi_transport *t)
{
	t->stats.tid_cache = t->cache.stats;
	return &t->stats;
}
