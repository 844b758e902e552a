// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The matched-queue engine (see mq.h).
 *
 * Every message is a request: a send, a posted receive, or an unexpected
 * message that arrived before its receive (PSM2 hands those out from
 * psm2_mq_improbe, so they must be requests too). A request sits on at
 * most one of the posted, unexpected or completed queues (qnode) and at
 * most once on the transmit queue (txnode) while the wire is busy.
 *
 * Protocols (header layouts below):
 *   eager       EAGER{seq, tag, len} + payload. The receiver copies it into
 *               the matched buffer, or into a buffer of ours until a
 *               receive matches.
 *   rendezvous  RTS{seq, tag, len, sender id}. Once matched the receiver
 *               registers (a window of) its buffer and answers
 *               CTS{sender id, receiver id, handle, offset, length, total};
 *               the sender writes the window with expected sends
 *               straight into that buffer, each followed by
 *               DATA{receiver id, offset, length} in the receiver's
 *               queue; one CTS per window until the total has arrived.
 *               A sender whose RTS says WIRE_RTS_AHEAD takes the next
 *               window's CTS while it still writes the current one: the
 *               receiver keeps two windows registered, so a message of
 *               several windows does not stall a round trip (and a
 *               registration) at each boundary.
 *               Without expected receive on either side the same DATA
 *               messages carry the payload through the eager path.
 *
 * Requests are named on the wire by a 32-bit id (table index and a
 * generation), never by pointer: a stale or forged id is simply dropped.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "am.h"
#include "lock.h"
#include "mq.h"
#include "shim.h"

/* ---------------------------------------------------------------- wire */

enum wire_type {
	WIRE_EAGER = 1,
	WIRE_RTS = 2,
	WIRE_CTS = 3,
	WIRE_DATA = 4,
	WIRE_AM_REQUEST = 5,
	WIRE_AM_REPLY = 6,
};

enum wire_cts_flags {
	WIRE_CTS_HANDLE = 1 << 0,	/* handle is valid: send expected */
};

enum wire_rts_flags {
	WIRE_RTS_AHEAD = 1 << 0,	/* takes one window's CTS ahead */
};

/*
 * What every header starts with. gen is the sender endpoint's generation
 * (its epid's, ep.h): a peer reopened on the same context is a new
 * incarnation whose sequence numbers start again (0: not stamped).
 */
struct wire_common {
	uint8_t type;
	uint8_t flags;
	uint16_t gen;
};

/* EAGER and RTS: what matching needs. */
struct wire_match {
	uint8_t type;
	uint8_t flags;
	uint16_t gen;
	uint32_t seq;			/* per sender-receiver pair */
	uint32_t tag[3];
	uint32_t msg_len;
	uint32_t sreq_id;		/* RTS: the sender's request */
	uint32_t reserved2;
};

struct wire_cts {
	uint8_t type;
	uint8_t flags;			/* enum wire_cts_flags */
	uint16_t gen;
	uint32_t sreq_id;
	uint32_t rreq_id;
	uint32_t offset;		/* of this window in the message */
	uint32_t len;			/* of this window */
	uint32_t total;			/* bytes the receiver takes in all */
	uint64_t handle;		/* registered window */
};

struct wire_data {
	uint8_t type;
	uint8_t flags;
	uint16_t gen;
	uint32_t rreq_id;
	uint32_t offset;
	uint32_t len;
	uint8_t reserved2[16];
};

/*
 * Active message (am.h): sequenced with EAGER/RTS (one order per sender),
 * payload = nargs 8-byte arguments, then the data.
 */
struct wire_am {
	uint8_t type;
	uint8_t flags;
	uint16_t gen;
	uint32_t seq;			/* same place as wire_match's */
	uint32_t handler;
	uint32_t nargs;
	uint8_t reserved[16];
};

union wire_hdr {
	uint8_t type;
	struct wire_common common;
	struct wire_am am;
	struct wire_match match;
	struct wire_cts cts;
	struct wire_data data;
	uint8_t bytes[SHIM_WIRE_HDR_BYTES];
};

_Static_assert(sizeof(union wire_hdr) == SHIM_WIRE_HDR_BYTES,
	       "the wire header is exactly the HFI's per-packet header");

/* ------------------------------------------------------------ requests */

enum req_kind { REQ_SEND, REQ_RECV, REQ_AM };

enum req_state {
	REQ_POSTED,		/* receive waiting for a message */
	REQ_UNEXPECTED,		/* message waiting for a receive */
	REQ_MPROBED,		/* message taken by improbe, awaiting imrecv */
	REQ_ACTIVE,		/* protocol under way */
	REQ_COMPLETE,		/* on the completed queue (or dequeued) */
};

/* What the request still has to put on the wire. */
enum req_tx {
	TX_NONE,
	TX_AM,
	TX_EAGER,
	TX_RTS,
	TX_CTS,
	TX_DATA,
};

struct psm2_mq_req {
	struct shim_list qnode;
	struct shim_list txnode;
	psm2_mq_t mq;
	uint32_t id;
	enum req_kind kind;
	enum req_state state;
	enum req_tx tx;
	bool on_txq;
	bool rndv;
	bool dequeued;		/* taken by ipeek_dequeue: not on a queue */
	bool internal;		/* of a blocking call: never on completed */
	/*
	 * 1 once REQ_COMPLETE (release): test reads it without the lock.
	 * Only __atomic_* touch it.
	 */
	int done;

	psm2_epaddr_t peer;	/* send: destination; recv: source/filter */
	psm2_mq_tag_t tag;	/* send: tag; recv: filter, then message's */
	psm2_mq_tag_t tagsel;
	uint32_t flags;
	void *buf;
	uint32_t buf_len;
	uint32_t msg_len;	/* the sender's length */
	uint32_t nbytes;	/* delivered (recv) / sent (send) */
	psm2_error_t error;
	void *context;

	/* eager message that arrived unexpected */
	void *sysbuf;

	/* rendezvous */
	uint32_t remote_id;	/* the other side's request */
	uint32_t total;		/* bytes moved in all: min(msg, buffer) */
	uint32_t win_off;	/* current window */
	uint32_t win_len;
	uint32_t win_done;	/* recv: arrived; send: submitted */
	/*
	 * recv: our registration of the current window, ours to release.
	 * send: the receiver's window from its CTS, a handle in the other
	 * endpoint's table: never released here (the same number may be
	 * one of our own receive windows).
	 */
	uint64_t handle;
	bool has_handle;
	uint64_t peer_handle;
	bool peer_has_handle;
	bool need_register;	/* recv: window waits for a free handle */
	bool cts_seen;		/* send: the receiver has matched */
	/*
	 * The window after the current one (WIRE_RTS_AHEAD). recv: ours,
	 * registered with its CTS sent or pending; send: from the
	 * receiver's CTS, written once the current one is.
	 */
	bool has_ahead;
	bool ahead_ok;		/* recv: the sender takes CTSes ahead */
	bool cts_pending;	/* recv: the current window's CTS */
	bool ahead_cts_pending;	/* recv: the ahead window's CTS */
	bool ahead_has_handle;
	uint32_t ahead_off;
	uint32_t ahead_len;
	uint32_t ahead_done;	/* recv: arrived */
	uint64_t ahead_handle;
	uint32_t inflight;	/* send: payload sends not yet done */
	uint32_t seq;		/* send: sequence number of the RTS/EAGER */

	/* active message: sysbuf holds its arguments and data */
	uint8_t am_type;	/* WIRE_AM_REQUEST or WIRE_AM_REPLY */
	uint32_t am_handler;
	uint32_t am_nargs;
};

/*
 * A transport the MQ sends through: a peer belongs to the one whose tp it
 * names (psm2_epaddr.tp), or to wires[0]. Each has its own rendezvous
 * threshold, as Intel's library has one per device (HFI_SZ, SHM_SZ).
 */
struct mq_wire {
	const struct shim_transport_ops *ops;
	void *tp;
	enum shim_wire_kind kind;
	uint32_t rndv_threshold;	/* cfg's for kind, <= eager_max */
};

/* A matchable message that arrived before its predecessors. */
struct early_msg {
	struct shim_list node;
	uint32_t seq;
	union wire_hdr hdr;
	size_t len;
	uint8_t payload[];
};

struct psm2_mq {
	struct shim_lock *lock;		/* the endpoint's, or own_lock */
	struct shim_lock own_lock;
	struct psm2_ep *ep;
	struct mq_wire wires[SHIM_MQ_MAX_WIRES];	/* [0]: the default */
	unsigned nwires;
	struct shim_mq_config cfg;
	uint16_t gen;			/* stamped on what we send */
	void *am;			/* am.c's handler table */
	void (*am_free)(void *am);
	struct shim_list posted;
	struct shim_list unexpected;
	struct shim_list completed;
	struct shim_list txq;
	psm2_mq_stats_t stats;

	/* request ids: index in the low bits, generation above */
	struct psm2_mq_req **ids;
	uint16_t *gens;
	uint32_t *free_ids;
	uint32_t nfree;
	/* Requests kept for reuse (linked by qnode), at most REQ_CACHE_MAX. */
	struct shim_list req_cache;
	uint32_t nreq_cache;
	uint32_t nids;
	uint32_t cap;
};

static struct mq_wire *peer_wire(psm2_mq_t mq, psm2_epaddr_t peer)
{
	unsigned i;

	for (i = 1; i < mq->nwires; i++)
		if (peer && peer->tp == mq->wires[i].tp)
			return &mq->wires[i];
	return &mq->wires[0];
}

/* Give a receive window's registration back to the wire that made it. */
static void release_window(psm2_mq_t mq, struct psm2_mq_req *req,
			   bool *has_handle, uint64_t handle, bool filled)
{
	struct mq_wire *w = peer_wire(mq, req->peer);

	if (*has_handle && w->ops->release_recv_buffer)
		w->ops->release_recv_buffer(w->tp, handle, filled);
	*has_handle = false;
}

/* The current receive window's registration. */
static void release_handle(psm2_mq_t mq, struct psm2_mq_req *req)
{
	release_window(mq, req, &req->has_handle, req->handle,
		       req->win_done == req->win_len);
}

/*
 * Both windows of a request that ends (a send's window ahead names the
 * receiver's registration: nothing of ours to give back).
 */
static void release_windows(psm2_mq_t mq, struct psm2_mq_req *req)
{
	release_handle(mq, req);
	if (req->kind == REQ_RECV && req->has_ahead)
		release_window(mq, req, &req->ahead_has_handle,
			       req->ahead_handle,
			       req->ahead_done == req->ahead_len);
	req->has_ahead = false;
}

#define ID_INDEX_BITS 20
#define ID_INDEX_MASK ((1u << ID_INDEX_BITS) - 1)

static int id_alloc(psm2_mq_t mq, struct psm2_mq_req *req)
{
	uint32_t idx;

	if (mq->nfree) {
		idx = mq->free_ids[--mq->nfree];
	} else {
		if (mq->nids == mq->cap) {
			uint32_t cap = mq->cap ? mq->cap * 2 : 64;
			void *ids, *gens, *free_ids;

			if (cap > ID_INDEX_MASK)
				return -ENOMEM;
			ids = realloc(mq->ids, cap * sizeof(*mq->ids));
			if (!ids)
				return -ENOMEM;
			mq->ids = ids;
			gens = realloc(mq->gens, cap * sizeof(*mq->gens));
			if (!gens)
				return -ENOMEM;
			mq->gens = gens;
			free_ids = realloc(mq->free_ids,
					   cap * sizeof(*mq->free_ids));
			if (!free_ids)
				return -ENOMEM;
			mq->free_ids = free_ids;
			mq->cap = cap;
		}
		idx = mq->nids++;
		mq->gens[idx] = 0;
	}
	/* Index 0 with generation 0 would be id 0: keep 0 meaning "none". */
	mq->gens[idx]++;
	if (idx == 0 && mq->gens[idx] == 0)
		mq->gens[idx]++;
	mq->ids[idx] = req;
	req->id = idx | ((uint32_t)(mq->gens[idx] & 0xfff) << ID_INDEX_BITS);
	return 0;
}

static void id_free(psm2_mq_t mq, struct psm2_mq_req *req)
{
	uint32_t idx = req->id & ID_INDEX_MASK;

	mq->ids[idx] = NULL;
	mq->free_ids[mq->nfree++] = idx;
}

static struct psm2_mq_req *id_lookup(psm2_mq_t mq, uint32_t id)
{
	uint32_t idx = id & ID_INDEX_MASK;
	struct psm2_mq_req *req;

	if (idx >= mq->nids)
		return NULL;
	req = mq->ids[idx];
	if (!req || req->id != id)
		return NULL;
	return req;
}

/* A message costs no malloc/free in the steady state. */
#define REQ_CACHE_MAX 64

static struct psm2_mq_req *req_alloc(psm2_mq_t mq, enum req_kind kind)
{
	struct psm2_mq_req *req;

	if (shim_list_empty(&mq->req_cache)) {
		req = calloc(1, sizeof(*req));
	} else {
		req = shim_container_of(mq->req_cache.next, struct psm2_mq_req,
					qnode);
		shim_list_del(&req->qnode);
		mq->nreq_cache--;
		memset(req, 0, sizeof(*req));
	}
	if (!req)
		return NULL;
	if (id_alloc(mq, req)) {
		free(req);
		return NULL;
	}
	shim_list_init(&req->qnode);
	shim_list_init(&req->txnode);
	req->mq = mq;
	req->kind = kind;
	req->error = PSM2_OK;
	return req;
}

static void req_free(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;

	shim_list_del(&req->qnode);
	shim_list_del(&req->txnode);
	release_windows(mq, req);
	free(req->sysbuf);
	id_free(mq, req);
	if (mq->nreq_cache >= REQ_CACHE_MAX) {
		free(req);
		return;
	}
	shim_list_insert_before(&mq->req_cache, &req->qnode);
	mq->nreq_cache++;
}

static void req_complete(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;

	if (req->state == REQ_COMPLETE)
		return;
	shim_list_del(&req->qnode);
	shim_list_del(&req->txnode);
	req->on_txq = false;
	req->tx = TX_NONE;
	release_windows(mq, req);
	req->state = REQ_COMPLETE;
	__atomic_store_n(&req->done, 1, __ATOMIC_RELEASE);
	/* A blocking call's own request is nobody else's to see. */
	if (!req->internal)
		shim_list_append(&mq->completed, &req->qnode);
}

/* ------------------------------------------------------------- helpers */

psm2_error_t shim_error_from_errno(int err)
{
	switch (-err) {
	case 0:
		return PSM2_OK;
	case ENOMEM:
		return PSM2_NO_MEMORY;
	case EHOSTUNREACH:
		return PSM2_EPID_UNREACHABLE;
	case ETIMEDOUT:
		return PSM2_TIMEOUT;
	case EINVAL:
	case EMSGSIZE:
		return PSM2_PARAM_ERR;
	case ENODEV:
	case EIO:
	case ENXIO:
		return PSM2_EP_DEVICE_FAILURE;
	default:
		return PSM2_EPID_NETWORK_ERROR;
	}
}

/* What a request is, for PSM2_SHIM_DEBUG lines. */
static void debug_req(const struct psm2_mq_req *req, const char *what, int err)
{
	if (!shim_debug_enabled())
		return;
	shim_debug("%s %s of %u B tag %08x.%08x.%08x peer %#llx: %s"
		   " (errno %d %s) tx %d win %u+%u done %u nbytes %u"
		   " inflight %u",
		   req->kind == REQ_SEND ? "send" : "receive",
		   req->rndv ? "rendezvous" : "eager", req->msg_len,
		   req->tag.tag0, req->tag.tag1, req->tag.tag2,
		   req->peer ? (unsigned long long)req->peer->epid : 0ull,
		   what, -err, err ? strerror(-err) : "-", (int)req->tx,
		   req->win_off, req->win_len, req->win_done, req->nbytes,
		   req->inflight);
}

static bool wire_busy(int err)
{
	return err == -EAGAIN || err == -ENOSPC || err == -ENOBUFS;
}

static bool tag_matches(const psm2_mq_tag_t *msg, const psm2_mq_tag_t *want,
			const psm2_mq_tag_t *sel)
{
	return !((msg->tag0 ^ want->tag0) & sel->tag0) &&
	       !((msg->tag1 ^ want->tag1) & sel->tag1) &&
	       !((msg->tag2 ^ want->tag2) & sel->tag2);
}

static bool src_matches(psm2_epaddr_t msg_src, psm2_epaddr_t want)
{
	return want == PSM2_MQ_ANY_ADDR || want == msg_src;
}

/* The 64-bit tag calls use words 0 and 1; word 2 never constrains. */
static void tag_from_u64(psm2_mq_tag_t *t, uint64_t v)
{
	memset(t, 0, sizeof(*t));
	t->tag0 = (uint32_t)v;
	t->tag1 = (uint32_t)(v >> 32);
}

static uint64_t tag_to_u64(const psm2_mq_tag_t *t)
{
	return t->tag0 | ((uint64_t)t->tag1 << 32);
}

static void fill_status2(const struct psm2_mq_req *req, psm2_mq_status2_t *st)
{
	if (!st)
		return;
	st->msg_peer = req->peer;
	st->msg_tag = req->tag;
	st->msg_length = req->msg_len;
	st->nbytes = req->nbytes;
	st->error_code = req->error;
	st->context = req->context;
}

static void fill_status(const struct psm2_mq_req *req, psm2_mq_status_t *st)
{
	if (!st)
		return;
	st->msg_tag = tag_to_u64(&req->tag);
	st->msg_length = req->msg_len;
	st->nbytes = req->nbytes;
	st->error_code = req->error;
	st->context = req->context;
}

/* ------------------------------------------------------------ transmit */

static int tx_eager_or_rts(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	struct mq_wire *w = peer_wire(mq, req->peer);
	union wire_hdr h;
	struct iovec iov = { .iov_base = req->buf, .iov_len = req->msg_len };
	bool rts = req->tx == TX_RTS;

	memset(&h, 0, sizeof(h));
	h.common.gen = mq->gen;
	h.match.type = rts ? WIRE_RTS : WIRE_EAGER;
	h.match.flags = rts && !mq->cfg.rndv_no_ahead ? WIRE_RTS_AHEAD : 0;
	h.match.seq = req->seq;
	h.match.tag[0] = req->tag.tag0;
	h.match.tag[1] = req->tag.tag1;
	h.match.tag[2] = req->tag.tag2;
	h.match.msg_len = req->msg_len;
	h.match.sreq_id = req->id;
	if (rts)
		return w->ops->send_eager(w->tp, req->peer, &h, NULL, 0, NULL);
	req->inflight++;
	int err = w->ops->send_eager(w->tp, req->peer, &h, &iov,
				     req->msg_len ? 1 : 0, req);
	if (err)
		req->inflight--;
	return err;
}

static int tx_am(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	struct mq_wire *w = peer_wire(mq, req->peer);
	struct iovec iov = { .iov_base = req->sysbuf, .iov_len = req->buf_len };
	union wire_hdr h;
	int err;

	memset(&h, 0, sizeof(h));
	h.common.gen = mq->gen;
	h.am.type = req->am_type;
	h.am.seq = req->seq;
	h.am.handler = req->am_handler;
	h.am.nargs = req->am_nargs;
	req->inflight++;
	err = w->ops->send_eager(w->tp, req->peer, &h, &iov,
				 req->buf_len ? 1 : 0, req);
	if (err)
		req->inflight--;
	return err;
}

static int send_cts(struct psm2_mq_req *req, uint32_t off, uint32_t len,
		    bool has_handle, uint64_t handle)
{
	psm2_mq_t mq = req->mq;
	struct mq_wire *w = peer_wire(mq, req->peer);
	union wire_hdr h;

	memset(&h, 0, sizeof(h));
	h.common.gen = mq->gen;
	h.cts.type = WIRE_CTS;
	h.cts.flags = has_handle ? WIRE_CTS_HANDLE : 0;
	h.cts.sreq_id = req->remote_id;
	h.cts.rreq_id = req->id;
	h.cts.offset = off;
	h.cts.len = len;
	h.cts.total = req->total;
	h.cts.handle = handle;
	return w->ops->send_eager(w->tp, req->peer, &h, NULL, 0, NULL);
}

/* The CTSes not sent yet, current window first. */
static int tx_cts(struct psm2_mq_req *req)
{
	int err;

	if (req->cts_pending) {
		err = send_cts(req, req->win_off, req->win_len,
			       req->has_handle, req->handle);
		if (err)
			return err;
		req->cts_pending = false;
	}
	if (req->has_ahead && req->ahead_cts_pending) {
		err = send_cts(req, req->ahead_off, req->ahead_len,
			       req->ahead_has_handle, req->ahead_handle);
		if (err)
			return err;
		req->ahead_cts_pending = false;
	}
	return 0;
}

/* Submit what is left of the current window; -EAGAIN when the wire fills. */
static int tx_data(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	struct mq_wire *w = peer_wire(mq, req->peer);

	for (;;) {
		bool expected = req->peer_has_handle && w->ops->send_expected;
		uint32_t chunk_max = mq->cfg.rndv_window;
		uint32_t chunk = req->win_len - req->win_done;
		uint32_t off = req->win_off + req->win_done;
		union wire_hdr h;
		struct iovec iov;
		int err;

		if (req->win_done == req->win_len) {
			/* Written: on to the window the receiver has ready. */
			if (!req->has_ahead)
				return 0;
			req->win_off = req->ahead_off;
			req->win_len = req->ahead_len;
			req->win_done = 0;
			req->peer_handle = req->ahead_handle;
			req->peer_has_handle = req->ahead_has_handle;
			req->has_ahead = false;
			continue;
		}
		if (!expected && w->ops->eager_max < chunk_max)
			chunk_max = (uint32_t)w->ops->eager_max;
		if (chunk > chunk_max)
			chunk = chunk_max;
		memset(&h, 0, sizeof(h));
		h.common.gen = mq->gen;
		h.data.type = WIRE_DATA;
		h.data.rreq_id = req->remote_id;
		h.data.offset = off;
		h.data.len = chunk;
		iov.iov_base = (uint8_t *)req->buf + off;
		iov.iov_len = chunk;
		req->inflight++;
		if (expected)
			err = w->ops->send_expected(w->tp, req->peer,
						     req->peer_handle,
						     req->win_done,
						     &h, &iov, 1, req);
		else
			err = w->ops->send_eager(w->tp, req->peer, &h, &iov,
						 1, req);
		if (err) {
			req->inflight--;
			return err;
		}
		req->win_done += chunk;
		req->nbytes += chunk;
	}
}

static void send_maybe_complete(struct psm2_mq_req *req)
{
	if (req->inflight || req->state == REQ_COMPLETE)
		return;
	/* An active message is nobody's to wait for: gone once sent. */
	if (req->kind == REQ_AM) {
		if (req->tx == TX_NONE)
			req_free(req);
		return;
	}
	if (!req->rndv || req->error != PSM2_OK) {
		/* eager: its one send is done (or a rendezvous failed) */
		if (!req->rndv && req->tx == TX_NONE)
			req_complete(req);
		else if (req->error != PSM2_OK)
			req_complete(req);
		return;
	}
	if (req->state == REQ_ACTIVE && req->cts_seen &&
	    req->nbytes == req->total && !req->has_ahead &&
	    req->win_done == req->win_len && req->tx == TX_NONE)
		req_complete(req);
}

static int rndv_recv_window(struct psm2_mq_req *req);
static void rndv_recv_ahead(struct psm2_mq_req *req);

/* Move req->tx forward: 0 when it has nothing more to send right now. */
static int tx_push(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	int err = 0;

	switch (req->tx) {
	case TX_NONE:
		return 0;
	case TX_AM:
		err = tx_am(req);
		break;
	case TX_EAGER:
	case TX_RTS:
		err = tx_eager_or_rts(req);
		break;
	case TX_CTS:
		/* registration was busy last time: again */
		if (req->need_register && rndv_recv_window(req))
			return -EAGAIN;
		err = tx_cts(req);
		break;
	case TX_DATA:
		err = tx_data(req);
		break;
	}
	if (wire_busy(err))
		return -EAGAIN;
	if (err) {
		debug_req(req, "submission failed", err);
		req->tx = TX_NONE;
		req->error = shim_error_from_errno(err);
		if (req->kind != REQ_RECV)
			send_maybe_complete(req);
		else
			req_complete(req);
		return 0;
	}
	switch (req->tx) {
	case TX_AM:
	case TX_EAGER:
		req->tx = TX_NONE;
		send_maybe_complete(req);
		break;
	case TX_RTS:
		req->tx = TX_NONE;	/* now the CTS's turn */
		break;
	case TX_CTS:
		req->tx = TX_NONE;
		if (req->total == 0) {
			mq->stats.rx_user_num++;
			req_complete(req);
			break;
		}
		/* The current window's CTS is out: the next one's now. */
		rndv_recv_ahead(req);
		if (req->tx == TX_CTS)
			return tx_push(req);
		break;
	case TX_DATA:
		req->tx = TX_NONE;
		send_maybe_complete(req);
		break;
	case TX_NONE:
		break;
	}
	return 0;
}

/* Send now if nothing waits before us, else queue behind. */
static void tx_kick(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;

	if (req->on_txq)
		return;
	if (shim_list_empty(&mq->txq) && tx_push(req) == 0)
		return;
	req->on_txq = true;
	shim_list_append(&mq->txq, &req->txnode);
}

static int tx_progress(psm2_mq_t mq)
{
	int moved = 0;

	while (!shim_list_empty(&mq->txq)) {
		struct psm2_mq_req *req = shim_container_of(
			mq->txq.next, struct psm2_mq_req, txnode);

		if (tx_push(req) == -EAGAIN)
			break;
		shim_list_del(&req->txnode);
		req->on_txq = false;
		moved = 1;
	}
	return moved;
}

/* Every wire's poll: >0 if any moved, the first failure otherwise. */
static int wires_poll(psm2_mq_t mq)
{
	int moved = 0, err = 0;
	unsigned i;

	for (i = 0; i < mq->nwires; i++) {
		int r = mq->wires[i].ops->poll(mq->wires[i].tp);

		if (r < 0 && !err)
			err = r;
		moved |= r > 0;
	}
	return err ? err : moved;
}

int shim_mq_progress(psm2_mq_t mq)
{
	int moved = 0, err;

	shim_lock(mq->lock);
	err = wires_poll(mq);
	if (err >= 0) {
		moved |= err > 0;
		moved |= tx_progress(mq);
	}
	shim_unlock(mq->lock);
	return err < 0 ? err : moved;
}

int shim_mq_am_send(psm2_mq_t mq, psm2_epaddr_t peer, bool reply,
		    uint32_t handler, const psm2_amarg_t *args, uint32_t nargs,
		    const void *src, size_t len)
{
	size_t alen = (size_t)nargs * sizeof(*args);
	struct psm2_mq_req *req;

	if (alen + len > shim_mq_am_max_bytes(mq))
		return -EMSGSIZE;
	shim_lock(mq->lock);
	req = req_alloc(mq, REQ_AM);
	if (req && alen + len) {
		req->sysbuf = malloc(alen + len);
		if (!req->sysbuf) {
			req_free(req);
			req = NULL;
		}
	}
	if (!req) {
		shim_unlock(mq->lock);
		return -ENOMEM;
	}
	if (alen)
		memcpy(req->sysbuf, args, alen);
	if (len)
		memcpy((uint8_t *)req->sysbuf + alen, src, len);
	req->internal = true;
	req->state = REQ_ACTIVE;
	req->peer = peer;
	req->buf_len = (uint32_t)(alen + len);
	req->am_type = reply ? WIRE_AM_REPLY : WIRE_AM_REQUEST;
	req->am_handler = handler;
	req->am_nargs = nargs;
	req->seq = peer->tx_seq++;
	req->tx = TX_AM;
	tx_kick(req);
	shim_unlock(mq->lock);
	return 0;
}

/* One active message fits every wire's eager path (any peer may get it). */
size_t shim_mq_am_max_bytes(psm2_mq_t mq)
{
	size_t max = 65536;
	unsigned i;

	for (i = 0; i < mq->nwires; i++)
		if (mq->wires[i].ops->eager_max < max)
			max = mq->wires[i].ops->eager_max;
	return max;
}

void *shim_mq_am(psm2_mq_t mq)
{
	return mq->am;
}

void shim_mq_set_am(psm2_mq_t mq, void *am, void (*am_free)(void *am))
{
	mq->am = am;
	mq->am_free = am_free;
}

void shim_mq_lock(psm2_mq_t mq)
{
	shim_lock(mq->lock);
}

void shim_mq_unlock(psm2_mq_t mq)
{
	shim_unlock(mq->lock);
}

void shim_mq_send_done(psm2_mq_t mq, void *cookie, int err)
{
	struct psm2_mq_req *req = cookie;

	if (!req)
		return;
	if (req->inflight)
		req->inflight--;
	if (err && req->error == PSM2_OK) {
		debug_req(req, "send completed with an error", err);
		req->error = shim_error_from_errno(err);
	}
	(void)mq;
	send_maybe_complete(req);
}

/* ------------------------------------------------------------- receive */

/*
 * Register the next window of a matched rendezvous and set its CTS to go:
 * 0, or -EAGAIN when no handle is free now (need_register stays set).
 */
/*
 * Once per process, always (not only with PSM2_SHIM_DEBUG): a receive
 * that could not be pinned still works, but with two copies, and the
 * user should know why it is slow.
 */
static void warn_eager_fallback(uint32_t len, int err)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	struct rlimit rl;

	if (atomic_flag_test_and_set(&warned))
		return;
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		rl.rlim_cur = RLIM_INFINITY;
	fprintf(stderr,
		"psm-shim: a %u-byte receive window could not be pinned (%s); such receives take the eager path (two copies). RLIMIT_MEMLOCK is %s%llu KiB: raise it (ulimit -l, limits.conf) or lower PSM2_MQ_RNDV_HFI_WINDOW. (shown once)\n",
		len, strerror(-err),
		rl.rlim_cur == RLIM_INFINITY ? "unlimited, " : "",
		rl.rlim_cur == RLIM_INFINITY ? 0ull :
		(unsigned long long)rl.rlim_cur >> 10);
}

static int rndv_recv_window(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	struct mq_wire *w = peer_wire(mq, req->peer);
	uint32_t left = req->total - req->win_off;
	uint32_t len = left;
	int err;

	req->win_done = 0;
	req->has_handle = false;
	req->need_register = false;
	req->cts_pending = true;
	req->tx = TX_CTS;
	if (left && w->ops->register_recv_buffer) {
		if (w->ops->register_max && len > w->ops->register_max)
			len = (uint32_t)w->ops->register_max;
		err = w->ops->register_recv_buffer(
			w->tp, (uint8_t *)req->buf + req->win_off, len,
			&req->handle);
		if (err == 0) {
			req->has_handle = true;
		} else if (wire_busy(err)) {
			/* no handle free now: retried from the tx queue */
			req->need_register = true;
			return -EAGAIN;
		} else {
			/* any other failure: the payload comes the eager way */
			debug_req(req, "registration failed, eager instead",
				  err);
			warn_eager_fallback(len, err);
		}
	}
	req->win_len = len;
	return 0;
}

/*
 * With a sender that takes it (WIRE_RTS_AHEAD), register the window after
 * the current registered one too and set its CTS to go, once the current
 * one's CTS is out (so as not to delay it by a registration). Best effort:
 * no handle free, or pinning refused, and it waits until the current
 * window is full, as without.
 */
static void rndv_recv_ahead(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	struct mq_wire *w = peer_wire(mq, req->peer);
	uint32_t off = req->win_off + req->win_len, len;

	if (!req->ahead_ok || mq->cfg.rndv_no_ahead || req->has_ahead ||
	    !req->has_handle || req->need_register || req->cts_pending ||
	    off >= req->total)
		return;
	len = req->total - off;
	if (w->ops->register_max && len > w->ops->register_max)
		len = (uint32_t)w->ops->register_max;
	if (w->ops->register_recv_buffer(w->tp, (uint8_t *)req->buf + off, len,
					 &req->ahead_handle))
		return;
	req->has_ahead = true;
	req->ahead_has_handle = true;
	req->ahead_off = off;
	req->ahead_len = len;
	req->ahead_done = 0;
	req->ahead_cts_pending = true;
	req->tx = TX_CTS;
}

static void rndv_recv_start(struct psm2_mq_req *req)
{
	req->state = REQ_ACTIVE;
	req->total = req->msg_len < req->buf_len ? req->msg_len : req->buf_len;
	req->win_off = 0;
	(void)rndv_recv_window(req);	/* busy: tx_push retries */
	tx_kick(req);
}

/* A receive meets its message: deliver or start the rendezvous. */
static void recv_matched(struct psm2_mq_req *req, const void *payload,
			 bool from_sysbuf)
{
	psm2_mq_t mq = req->mq;

	if (req->msg_len > req->buf_len)
		req->error = PSM2_MQ_TRUNCATION;
	if (req->rndv) {
		rndv_recv_start(req);
		return;
	}
	req->nbytes = req->msg_len < req->buf_len ? req->msg_len : req->buf_len;
	if (req->nbytes)
		memcpy(req->buf, payload, req->nbytes);
	if (!from_sysbuf) {
		mq->stats.rx_user_num++;
		mq->stats.rx_user_bytes += req->nbytes;
	}
	free(req->sysbuf);
	req->sysbuf = NULL;
	req_complete(req);
}

/* What a receive learns from the EAGER or RTS it now holds. */
static void recv_take_message(struct psm2_mq_req *req, enum req_state state,
			      psm2_epaddr_t src, const psm2_mq_tag_t *tag,
			      const union wire_hdr *h)
{
	req->state = state;
	req->peer = src;
	req->tag = *tag;
	req->msg_len = h->match.msg_len;
	req->rndv = h->type == WIRE_RTS;
	req->remote_id = h->match.sreq_id;
	req->ahead_ok = req->rndv && (h->match.flags & WIRE_RTS_AHEAD);
}

static void recv_match_msg(psm2_mq_t mq, psm2_epaddr_t src,
			   const union wire_hdr *h, const void *payload,
			   size_t len)
{
	psm2_mq_tag_t tag = { .tag = { h->match.tag[0], h->match.tag[1],
				       h->match.tag[2], 0 } };
	bool rndv = h->type == WIRE_RTS;
	struct shim_list *pos, *tmp;
	struct psm2_mq_req *req;

	if (!rndv && len != h->match.msg_len)
		return;		/* malformed: drop */

	shim_list_for_each_safe(pos, tmp, &mq->posted) {
		req = shim_container_of(pos, struct psm2_mq_req, qnode);
		if (!src_matches(src, req->peer) ||
		    !tag_matches(&tag, &req->tag, &req->tagsel))
			continue;
		shim_list_del(&req->qnode);
		recv_take_message(req, REQ_ACTIVE, src, &tag, h);
		recv_matched(req, payload, false);
		return;
	}

	/* No receive yet: keep the message (its payload, if eager). */
	req = req_alloc(mq, REQ_RECV);
	if (!req)
		return;		/* like a drop: the sender's wait shows it */
	recv_take_message(req, REQ_UNEXPECTED, src, &tag, h);
	if (!rndv && len) {
		req->sysbuf = malloc(len);
		if (!req->sysbuf) {
			req_free(req);
			return;
		}
		memcpy(req->sysbuf, payload, len);
		mq->stats.rx_sysbuf_num++;
		mq->stats.rx_sysbuf_bytes += len;
	}
	if (!rndv) {
		mq->stats.rx_sys_num++;
		mq->stats.rx_sys_bytes += len;
	}
	shim_list_append(&mq->unexpected, &req->qnode);
}

/* Serial-number comparison: is a after b (modulo 2^32)? */
static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* A sequenced message whose turn it is: matched, or an active message. */
static void recv_sequenced(psm2_mq_t mq, psm2_epaddr_t src,
			   const union wire_hdr *h, const void *payload,
			   size_t len)
{
	if (h->type == WIRE_AM_REQUEST || h->type == WIRE_AM_REPLY)
		shim_am_deliver(mq, src, h->type == WIRE_AM_REQUEST,
				h->am.handler, h->am.nargs, payload, len);
	else
		recv_match_msg(mq, src, h, payload, len);
}

static void recv_in_order(psm2_mq_t mq, psm2_epaddr_t src,
			  const union wire_hdr *h, const void *payload,
			  size_t len)
{
	uint32_t seq = h->match.seq;
	struct early_msg *m;
	struct shim_list *pos;

	if (seq == src->rx_seq) {
		src->rx_seq++;
		recv_sequenced(mq, src, h, payload, len);
		/* Whatever waited for this one may go now. */
		while (!shim_list_empty(&src->rx_early)) {
			m = shim_container_of(src->rx_early.next,
					      struct early_msg, node);
			if (m->seq != src->rx_seq)
				break;
			shim_list_del(&m->node);
			src->rx_seq++;
			recv_sequenced(mq, src, &m->hdr, m->payload, m->len);
			free(m);
		}
		return;
	}
	if (!seq_after(seq, src->rx_seq))
		return;		/* a duplicate of something delivered */

	m = malloc(sizeof(*m) + len);
	if (!m)
		return;
	m->seq = seq;
	m->hdr = *h;
	m->len = len;
	if (len)
		memcpy(m->payload, payload, len);
	for (pos = src->rx_early.next; pos != &src->rx_early; pos = pos->next) {
		struct early_msg *o = shim_container_of(pos, struct early_msg,
							node);
		if (o->seq == seq) {
			free(m);
			return;
		}
		if (seq_after(o->seq, seq))
			break;
	}
	shim_list_insert_before(pos, &m->node);
}

static void recv_cts(psm2_mq_t mq, psm2_epaddr_t src, const struct wire_cts *c)
{
	struct psm2_mq_req *req = id_lookup(mq, c->sreq_id);

	if (!req || req->kind != REQ_SEND || !req->rndv || req->peer != src ||
	    req->state != REQ_ACTIVE || c->total > req->msg_len ||
	    c->offset + (uint64_t)c->len > c->total)
		return;
	req->remote_id = c->rreq_id;
	req->total = c->total;
	if (req->cts_seen && req->win_done < req->win_len) {
		/* The next window while we write this one: one at most. */
		if (req->has_ahead)
			return;
		req->has_ahead = true;
		req->ahead_off = c->offset;
		req->ahead_len = c->len;
		req->ahead_handle = c->handle;
		req->ahead_has_handle = c->flags & WIRE_CTS_HANDLE;
		return;
	}
	req->win_off = c->offset;
	req->win_len = c->len;
	req->win_done = 0;
	req->peer_handle = c->handle;
	req->peer_has_handle = c->flags & WIRE_CTS_HANDLE;
	req->cts_seen = true;
	if (req->win_len) {
		req->tx = TX_DATA;
		tx_kick(req);
	} else {
		send_maybe_complete(req);
	}
}

/* Is [off, off + len) inside window [woff, woff + wlen) with room? */
static bool in_window(uint32_t off, uint32_t len, uint32_t woff,
		      uint32_t wlen, uint32_t wdone)
{
	return off >= woff && off + (uint64_t)len <= woff + (uint64_t)wlen &&
	       wdone + (uint64_t)len <= wlen;
}

/*
 * The current window is full: free its registration; the window ahead (if
 * any) becomes the current one, and the one after it is registered, or
 * the current one's successor if there was none ahead. true when the
 * whole message is in.
 */
static bool rndv_recv_next_window(psm2_mq_t mq, struct psm2_mq_req *req)
{
	while (req->win_done == req->win_len) {
		release_handle(mq, req);
		if (!req->has_ahead) {
			req->win_off += req->win_len;
			if (req->win_off >= req->total)
				return true;
			(void)rndv_recv_window(req);
			tx_kick(req);
			return false;
		}
		req->win_off = req->ahead_off;
		req->win_len = req->ahead_len;
		req->win_done = req->ahead_done;
		req->handle = req->ahead_handle;
		req->has_handle = req->ahead_has_handle;
		req->cts_pending = req->ahead_cts_pending;
		req->has_ahead = false;
		req->ahead_has_handle = false;
		req->ahead_cts_pending = false;
	}
	rndv_recv_ahead(req);
	if (req->tx == TX_CTS)
		tx_kick(req);
	return false;
}

/* Payload of a rendezvous window has arrived (copied by us or the wire). */
static void recv_data(psm2_mq_t mq, const struct wire_data *d,
		      const void *payload, size_t len)
{
	struct psm2_mq_req *req = id_lookup(mq, d->rreq_id);
	uint32_t *done;

	if (!req || req->kind != REQ_RECV || !req->rndv ||
	    req->state != REQ_ACTIVE)
		return;
	if (in_window(d->offset, d->len, req->win_off, req->win_len,
		      req->win_done))
		done = &req->win_done;
	else if (req->has_ahead &&
		 in_window(d->offset, d->len, req->ahead_off, req->ahead_len,
			   req->ahead_done))
		done = &req->ahead_done;
	else
		return;
	if (payload) {
		if (len != d->len)
			return;
		memcpy((uint8_t *)req->buf + d->offset, payload, len);
	}
	*done += d->len;
	req->nbytes += d->len;
	if (req->win_done < req->win_len || !rndv_recv_next_window(mq, req))
		return;
	mq->stats.rx_user_num++;
	mq->stats.rx_user_bytes += req->nbytes;
	req_complete(req);
}

/*
 * A peer's generation changed: the endpoint we talked to is gone and a new
 * one has the same address. What we had under way with the old one ends
 * with an error (its sequence numbers mean nothing to the new one), and
 * both directions start again at sequence 0.
 */
static void peer_new_generation(psm2_mq_t mq, psm2_epaddr_t peer,
				uint16_t gen)
{
	struct shim_list *pos, *tmp;

	if (!gen || peer->gen == gen)
		return;
	if (peer->gen) {
		if (mq)
			shim_mq_peer_failed(mq, peer, -ECONNRESET);
		shim_list_for_each_safe(pos, tmp, &peer->rx_early) {
			shim_list_del(pos);
			free(shim_container_of(pos, struct early_msg, node));
		}
		peer->tx_seq = 0;
		peer->rx_seq = 0;
		peer->restarts++;
	}
	peer->gen = gen;
}

void shim_mq_set_generation(psm2_mq_t mq, uint16_t gen)
{
	shim_lock(mq->lock);
	mq->gen = gen;
	shim_unlock(mq->lock);
}

void shim_peer_set_generation(psm2_mq_t mq, psm2_epaddr_t peer, uint16_t gen)
{
	if (mq)
		shim_lock(mq->lock);
	peer_new_generation(mq, peer, gen);
	if (mq)
		shim_unlock(mq->lock);
}

void shim_mq_recv(psm2_mq_t mq, psm2_epaddr_t src, const void *hdr,
		  const void *payload, size_t len)
{
	union wire_hdr h;

	if (!src)
		return;
	memcpy(&h, hdr, sizeof(h));
	if (h.type >= WIRE_EAGER && h.type <= WIRE_AM_REPLY)
		peer_new_generation(mq, src, h.common.gen);
	switch (h.type) {
	case WIRE_EAGER:
	case WIRE_RTS:
	case WIRE_AM_REQUEST:
	case WIRE_AM_REPLY:
		recv_in_order(mq, src, &h, payload, len);
		break;
	case WIRE_CTS:
		recv_cts(mq, src, &h.cts);
		break;
	case WIRE_DATA:
		recv_data(mq, &h.data, payload ? payload : "", len);
		break;
	default:
		break;		/* not ours: drop */
	}
}

void shim_mq_recv_expected(psm2_mq_t mq, psm2_epaddr_t src, const void *hdr)
{
	union wire_hdr h;

	memcpy(&h, hdr, sizeof(h));
	if (h.type != WIRE_DATA)
		return;
	if (src)
		peer_new_generation(mq, src, h.common.gen);
	recv_data(mq, &h.data, NULL, 0);
}

void shim_mq_peer_failed(psm2_mq_t mq, psm2_epaddr_t peer, int err)
{
	psm2_error_t perr = shim_error_from_errno(err);
	uint32_t i;

	for (i = 0; i < mq->nids; i++) {
		struct psm2_mq_req *req = mq->ids[i];

		if (!req || req->peer != peer || req->state != REQ_ACTIVE)
			continue;
		debug_req(req, "peer failed", err);
		if (req->error == PSM2_OK)
			req->error = perr;
		req->tx = TX_NONE;
		req->on_txq = false;
		shim_list_del(&req->txnode);
		if (req->kind != REQ_RECV)
			send_maybe_complete(req);	/* once inflight is 0 */
		else
			req_complete(req);
	}
}

struct psm2_ep *shim_mq_ep(psm2_mq_t mq)
{
	return mq->ep;
}

/* ------------------------------------------------------------ creation */

void shim_mq_config_defaults(struct shim_mq_config *cfg)
{
	cfg->rndv_threshold = SHIM_MQ_RNDV_THRESHOLD_DEFAULT;
	cfg->rndv_shm_threshold = SHIM_MQ_RNDV_SHM_THRESHOLD_DEFAULT;
	cfg->rndv_window = SHIM_MQ_RNDV_WINDOW_DEFAULT;
	cfg->spin_us = SHIM_MQ_SPIN_US_DEFAULT;
}

static void env_u32(const char *name, uint32_t *out, uint32_t min)
{
	uint64_t v;

	if (shim_env_number(name, min, UINT32_MAX, &v))
		*out = (uint32_t)v;
}

void shim_mq_config_from_env(struct shim_mq_config *cfg)
{
	uint64_t ahead;

	/* PSM2's own knob names, so existing job scripts keep working. */
	env_u32("PSM2_MQ_RNDV_HFI_THRESH", &cfg->rndv_threshold, 0);
	env_u32("PSM2_MQ_RNDV_SHM_THRESH", &cfg->rndv_shm_threshold, 0);
	env_u32("PSM2_MQ_RNDV_HFI_WINDOW", &cfg->rndv_window, 4096);
	if (shim_env_number("PSM2_SHIM_RNDV_AHEAD", 0, UINT32_MAX, &ahead))
		cfg->rndv_no_ahead = !ahead;
	env_u32("PSM2_SHIM_SPIN_US", &cfg->spin_us, 0);
}

/* The threshold of the wires of kind: the wanted one, if it fits whole. */
static void wires_set_threshold(psm2_mq_t mq, enum shim_wire_kind kind,
				uint32_t v)
{
	unsigned i;

	for (i = 0; i < mq->nwires; i++) {
		struct mq_wire *w = &mq->wires[i];

		if (w->kind == kind)
			w->rndv_threshold = v > w->ops->eager_max ?
					    (uint32_t)w->ops->eager_max : v;
	}
}

static bool wire_ops_valid(const struct shim_transport_ops *ops)
{
	return ops && ops->send_eager && ops->poll && ops->eager_max &&
	       (!ops->register_recv_buffer || ops->release_recv_buffer);
}

psm2_error_t shim_mq_create_wires(struct psm2_ep *ep, struct shim_lock *lock,
				  const struct shim_wire *wires,
				  unsigned nwires,
				  const struct shim_mq_config *cfg,
				  psm2_mq_t *mqo)
{
	unsigned i, waiters = 0;
	psm2_mq_t mq;

	if (!mqo || !wires || !nwires || nwires > SHIM_MQ_MAX_WIRES)
		return PSM2_PARAM_ERR;
	for (i = 0; i < nwires; i++) {
		if (!wire_ops_valid(wires[i].ops))
			return PSM2_PARAM_ERR;
		waiters += wires[i].ops->wait != NULL;
	}
	/* One wire to sleep in: the others only say whether we may. */
	if (waiters > 1)
		return PSM2_PARAM_ERR;
	mq = calloc(1, sizeof(*mq));
	if (!mq)
		return PSM2_NO_MEMORY;
	if (shim_lock_init(&mq->own_lock)) {
		free(mq);
		return PSM2_NO_MEMORY;
	}
	mq->lock = lock ? lock : &mq->own_lock;
	mq->ep = ep;
	shim_list_init(&mq->req_cache);
	for (i = 0; i < nwires; i++) {
		mq->wires[i].ops = wires[i].ops;
		mq->wires[i].tp = wires[i].tp;
		mq->wires[i].kind = wires[i].kind;
	}
	mq->nwires = nwires;
	if (cfg)
		mq->cfg = *cfg;
	else
		shim_mq_config_defaults(&mq->cfg);
	if (mq->cfg.rndv_window == 0)
		mq->cfg.rndv_window = SHIM_MQ_RNDV_WINDOW_DEFAULT;
	/* An eager message must fit the wire's eager path whole. */
	wires_set_threshold(mq, SHIM_WIRE_HFI, mq->cfg.rndv_threshold);
	wires_set_threshold(mq, SHIM_WIRE_SHM, mq->cfg.rndv_shm_threshold);
	shim_list_init(&mq->posted);
	shim_list_init(&mq->unexpected);
	shim_list_init(&mq->completed);
	shim_list_init(&mq->txq);
	*mqo = mq;
	return PSM2_OK;
}

psm2_error_t shim_mq_create(struct psm2_ep *ep, struct shim_lock *lock,
			    const struct shim_transport_ops *ops, void *tp,
			    const struct shim_mq_config *cfg, psm2_mq_t *mqo)
{
	struct shim_wire w = { .ops = ops, .tp = tp, .kind = SHIM_WIRE_HFI };

	return shim_mq_create_wires(ep, lock, &w, 1, cfg, mqo);
}

void shim_mq_destroy(psm2_mq_t mq)
{
	uint32_t i;

	if (!mq)
		return;
	for (i = 0; i < mq->nids; i++)
		if (mq->ids[i])
			req_free(mq->ids[i]);
	while (!shim_list_empty(&mq->req_cache)) {
		struct psm2_mq_req *req = shim_container_of(
			mq->req_cache.next, struct psm2_mq_req, qnode);

		shim_list_del(&req->qnode);
		free(req);
	}
	free(mq->ids);
	free(mq->gens);
	free(mq->free_ids);
	if (mq->am_free)
		mq->am_free(mq->am);
	shim_lock_destroy(&mq->own_lock);
	free(mq);
}

void shim_peer_init(struct psm2_epaddr *peer, struct psm2_ep *ep,
		    psm2_epid_t epid, uint64_t tp_addr)
{
	memset(peer, 0, sizeof(*peer));
	peer->ep = ep;
	peer->epid = epid;
	peer->tp_addr = tp_addr;
	shim_list_init(&peer->rx_early);
}

void shim_peer_fini(struct psm2_epaddr *peer)
{
	struct shim_list *pos, *tmp;

	shim_list_for_each_safe(pos, tmp, &peer->rx_early) {
		shim_list_del(pos);
		free(shim_container_of(pos, struct early_msg, node));
	}
}

/* --------------------------------------------------------- the PSM2 API */

static psm2_error_t param_err(psm2_mq_t mq, const char *what)
{
	return shim_report(mq ? mq->ep : NULL, PSM2_PARAM_ERR, "%s", what);
}

/* isend with the lock held; internal: a blocking send's own request. */
static psm2_error_t isend_locked(psm2_mq_t mq, psm2_epaddr_t dest,
				 uint32_t flags, const psm2_mq_tag_t *stag,
				 const void *buf, uint32_t len, void *context,
				 bool internal, psm2_mq_req_t *reqo)
{
	struct psm2_mq_req *req;

	req = req_alloc(mq, REQ_SEND);
	if (!req)
		return shim_report(mq->ep, PSM2_NO_MEMORY, "isend: no memory");
	req->internal = internal;
	req->state = REQ_ACTIVE;
	req->peer = dest;
	req->tag = *stag;
	req->tag.tag[3] = 0;
	req->flags = flags;
	req->buf = (void *)buf;	/* only read, through the iovecs */
	req->buf_len = len;
	req->msg_len = len;
	req->context = context;
	req->seq = dest->tx_seq++;
	/* A synchronous send completes only once matched: the rendezvous. */
	req->rndv = len > peer_wire(mq, dest)->rndv_threshold ||
		    (flags & PSM2_MQ_FLAG_SENDSYNC);
	mq->stats.tx_num++;
	if (req->rndv) {
		req->tx = TX_RTS;
		mq->stats.tx_rndv_num++;
		mq->stats.tx_rndv_bytes += len;
	} else {
		req->tx = TX_EAGER;
		req->nbytes = len;
		mq->stats.tx_eager_num++;
		mq->stats.tx_eager_bytes += len;
	}
	*reqo = req;
	tx_kick(req);
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_isend2(psm2_mq_t mq, psm2_epaddr_t dest,
				     uint32_t flags, psm2_mq_tag_t *stag,
				     const void *buf, uint32_t len,
				     void *context, psm2_mq_req_t *reqo)
{
	psm2_error_t err;

	if (!mq || !dest || !stag || !reqo || (len && !buf))
		return param_err(mq, "isend: NULL argument");
	shim_lock(mq->lock);
	err = isend_locked(mq, dest, flags, stag, buf, len, context, false,
			   reqo);
	shim_unlock(mq->lock);
	return err;
}

SHIM_API psm2_error_t psm2_mq_isend(psm2_mq_t mq, psm2_epaddr_t dest,
				    uint32_t flags, uint64_t stag,
				    const void *buf, uint32_t len,
				    void *context, psm2_mq_req_t *req)
{
	psm2_mq_tag_t t;

	tag_from_u64(&t, stag);
	return psm2_mq_isend2(mq, dest, flags, &t, buf, len, context, req);
}

SHIM_API psm2_error_t psm2_mq_send2(psm2_mq_t mq, psm2_epaddr_t dest,
				    uint32_t flags, psm2_mq_tag_t *stag,
				    const void *buf, uint32_t len)
{
	psm2_mq_req_t req;
	psm2_mq_status2_t st;
	psm2_error_t err;

	if (!mq || !dest || !stag || (len && !buf))
		return param_err(mq, "send: NULL argument");
	shim_lock(mq->lock);
	err = isend_locked(mq, dest, flags, stag, buf, len, NULL, true, &req);
	shim_unlock(mq->lock);
	/* Internal: no other thread can see or take it while we wait. */
	if (!err)
		err = psm2_mq_wait2(&req, &st);
	return err ? err : st.error_code;
}

SHIM_API psm2_error_t psm2_mq_send(psm2_mq_t mq, psm2_epaddr_t dest,
				   uint32_t flags, uint64_t stag,
				   const void *buf, uint32_t len)
{
	psm2_mq_tag_t t;

	tag_from_u64(&t, stag);
	return psm2_mq_send2(mq, dest, flags, &t, buf, len);
}

/* First unexpected message matching (src, tag/sel), in arrival order. */
static struct psm2_mq_req *find_unexpected(psm2_mq_t mq, psm2_epaddr_t src,
					   const psm2_mq_tag_t *tag,
					   const psm2_mq_tag_t *sel)
{
	struct shim_list *pos;

	for (pos = mq->unexpected.next; pos != &mq->unexpected;
	     pos = pos->next) {
		struct psm2_mq_req *req = shim_container_of(
			pos, struct psm2_mq_req, qnode);

		if (src_matches(req->peer, src) &&
		    tag_matches(&req->tag, tag, sel))
			return req;
	}
	return NULL;
}

/* Give an unexpected (or probed) message its receive buffer. */
static void claim_unexpected(struct psm2_mq_req *req, void *buf,
			     uint32_t len, void *context)
{
	shim_list_del(&req->qnode);
	req->state = REQ_ACTIVE;
	req->buf = buf;
	req->buf_len = len;
	req->context = context;
	recv_matched(req, req->sysbuf, true);
}

static psm2_error_t irecv2_locked(psm2_mq_t mq, psm2_epaddr_t src,
				     psm2_mq_tag_t *rtag,
				     psm2_mq_tag_t *rtagsel, uint32_t flags,
				     void *buf, uint32_t len, void *context,
				     psm2_mq_req_t *reqo)
{
	struct psm2_mq_req *req;

	(void)flags;		/* no receive flags are defined */
	if (!mq || !rtag || !rtagsel || !reqo || (len && !buf))
		return param_err(mq, "irecv: NULL argument");
	req = find_unexpected(mq, src, rtag, rtagsel);
	if (req) {
		*reqo = req;
		claim_unexpected(req, buf, len, context);
		return PSM2_OK;
	}
	req = req_alloc(mq, REQ_RECV);
	if (!req)
		return shim_report(mq->ep, PSM2_NO_MEMORY, "irecv: no memory");
	req->state = REQ_POSTED;
	req->peer = src;
	req->tag = *rtag;
	req->tagsel = *rtagsel;
	req->buf = buf;
	req->buf_len = len;
	req->context = context;
	shim_list_append(&mq->posted, &req->qnode);
	*reqo = req;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_irecv2(psm2_mq_t mq, psm2_epaddr_t src,
				     psm2_mq_tag_t *rtag,
				     psm2_mq_tag_t *rtagsel, uint32_t flags,
				     void *buf, uint32_t len, void *context,
				     psm2_mq_req_t *reqo)
{
	if (!mq)
		return param_err(mq, "irecv: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = irecv2_locked(mq, src, rtag, rtagsel, flags, buf, len, context, reqo);
	shim_unlock(mq->lock);
	return err;
}

SHIM_API psm2_error_t psm2_mq_irecv(psm2_mq_t mq, uint64_t rtag,
				    uint64_t rtagsel, uint32_t flags,
				    void *buf, uint32_t len, void *context,
				    psm2_mq_req_t *req)
{
	psm2_mq_tag_t t, s;

	tag_from_u64(&t, rtag);
	tag_from_u64(&s, rtagsel);
	return psm2_mq_irecv2(mq, PSM2_MQ_ANY_ADDR, &t, &s, flags, buf, len,
			      context, req);
}

SHIM_API psm2_error_t psm2_mq_fp_msg(psm2_ep_t ep, psm2_mq_t mq,
				     psm2_epaddr_t addr, psm2_mq_tag_t *tag,
				     psm2_mq_tag_t *tagsel, uint32_t flags,
				     void *buf, uint32_t len, void *context,
				     enum psm2_mq_fp_op fp_type,
				     psm2_mq_req_t *req)
{
	(void)ep;
	if (fp_type == PSM2_MQ_ISEND_FP)
		return psm2_mq_isend2(mq, addr, flags, tag, buf, len, context,
				      req);
	if (fp_type == PSM2_MQ_IRECV_FP)
		return psm2_mq_irecv2(mq, addr, tag, tagsel, flags, buf, len,
				      context, req);
	return param_err(mq, "fp_msg: unknown operation");
}

static psm2_error_t imrecv_locked(psm2_mq_t mq, uint32_t flags, void *buf,
				     uint32_t len, void *context,
				     psm2_mq_req_t *reqo)
{
	struct psm2_mq_req *req;

	(void)flags;
	if (!mq || !reqo || !*reqo || (len && !buf))
		return param_err(mq, "imrecv: NULL argument");
	req = *reqo;
	if (req->mq != mq || req->state != REQ_MPROBED)
		return param_err(mq, "imrecv: request not from improbe");
	claim_unexpected(req, buf, len, context);
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_imrecv(psm2_mq_t mq, uint32_t flags, void *buf,
				     uint32_t len, void *context,
				     psm2_mq_req_t *reqo)
{
	if (!mq)
		return param_err(mq, "imrecv: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = imrecv_locked(mq, flags, buf, len, context, reqo);
	shim_unlock(mq->lock);
	return err;
}

/* Probe: look for a match, polling the wire once if there is none yet. */
static struct psm2_mq_req *probe(psm2_mq_t mq, psm2_epaddr_t src,
				 const psm2_mq_tag_t *tag,
				 const psm2_mq_tag_t *sel)
{
	struct psm2_mq_req *req = find_unexpected(mq, src, tag, sel);

	if (!req && shim_mq_progress(mq) > 0)
		req = find_unexpected(mq, src, tag, sel);
	return req;
}

static psm2_error_t iprobe2_locked(psm2_mq_t mq, psm2_epaddr_t src,
				      psm2_mq_tag_t *rtag,
				      psm2_mq_tag_t *rtagsel,
				      psm2_mq_status2_t *status)
{
	struct psm2_mq_req *req;

	if (!mq || !rtag || !rtagsel)
		return param_err(mq, "iprobe: NULL argument");
	req = probe(mq, src, rtag, rtagsel);
	if (!req)
		return PSM2_MQ_NO_COMPLETIONS;
	if (status) {
		fill_status2(req, status);
		status->nbytes = req->msg_len;	/* what a receive would get */
	}
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_iprobe2(psm2_mq_t mq, psm2_epaddr_t src,
				      psm2_mq_tag_t *rtag,
				      psm2_mq_tag_t *rtagsel,
				      psm2_mq_status2_t *status)
{
	if (!mq)
		return param_err(mq, "iprobe: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = iprobe2_locked(mq, src, rtag, rtagsel, status);
	shim_unlock(mq->lock);
	return err;
}

/* The 64-bit status of a call made through its 96-bit twin. */
static void status_from_status2(psm2_mq_status_t *st,
				const psm2_mq_status2_t *st2)
{
	if (!st)
		return;
	st->msg_tag = tag_to_u64(&st2->msg_tag);
	st->msg_length = st2->msg_length;
	st->nbytes = st2->nbytes;
	st->error_code = st2->error_code;
	st->context = st2->context;
}

SHIM_API psm2_error_t psm2_mq_iprobe(psm2_mq_t mq, uint64_t rtag,
				     uint64_t rtagsel,
				     psm2_mq_status_t *status)
{
	psm2_mq_tag_t t, s;
	psm2_mq_status2_t st2;
	psm2_error_t err;

	tag_from_u64(&t, rtag);
	tag_from_u64(&s, rtagsel);
	err = psm2_mq_iprobe2(mq, PSM2_MQ_ANY_ADDR, &t, &s, &st2);
	if (err == PSM2_OK)
		status_from_status2(status, &st2);
	return err;
}

static psm2_error_t improbe2_locked(psm2_mq_t mq, psm2_epaddr_t src,
				       psm2_mq_tag_t *rtag,
				       psm2_mq_tag_t *rtagsel,
				       psm2_mq_req_t *reqo,
				       psm2_mq_status2_t *status)
{
	struct psm2_mq_req *req;

	if (!mq || !rtag || !rtagsel || !reqo)
		return param_err(mq, "improbe: NULL argument");
	req = probe(mq, src, rtag, rtagsel);
	if (!req)
		return PSM2_MQ_NO_COMPLETIONS;
	/* Out of the queue: no other receive can take it now. */
	shim_list_del(&req->qnode);
	req->state = REQ_MPROBED;
	if (status) {
		fill_status2(req, status);
		status->nbytes = req->msg_len;
	}
	*reqo = req;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_improbe2(psm2_mq_t mq, psm2_epaddr_t src,
				       psm2_mq_tag_t *rtag,
				       psm2_mq_tag_t *rtagsel,
				       psm2_mq_req_t *reqo,
				       psm2_mq_status2_t *status)
{
	if (!mq)
		return param_err(mq, "improbe: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = improbe2_locked(mq, src, rtag, rtagsel, reqo, status);
	shim_unlock(mq->lock);
	return err;
}

SHIM_API psm2_error_t psm2_mq_improbe(psm2_mq_t mq, uint64_t rtag,
				      uint64_t rtagsel, psm2_mq_req_t *req,
				      psm2_mq_status_t *status)
{
	psm2_mq_tag_t t, s;
	psm2_mq_status2_t st2;
	psm2_error_t err;

	tag_from_u64(&t, rtag);
	tag_from_u64(&s, rtagsel);
	err = psm2_mq_improbe2(mq, PSM2_MQ_ANY_ADDR, &t, &s, req, &st2);
	if (err == PSM2_OK)
		status_from_status2(status, &st2);
	return err;
}

static struct psm2_mq_req *peek(psm2_mq_t mq)
{
	if (shim_list_empty(&mq->completed))
		shim_mq_progress(mq);
	if (shim_list_empty(&mq->completed))
		return NULL;
	return shim_container_of(mq->completed.next, struct psm2_mq_req,
				 qnode);
}

static psm2_error_t ipeek_common(psm2_mq_t mq, psm2_mq_req_t *reqo)
{
	struct psm2_mq_req *req;

	if (!mq || !reqo)
		return param_err(mq, "ipeek: NULL argument");
	req = peek(mq);
	if (!req)
		return PSM2_MQ_NO_COMPLETIONS;
	*reqo = req;
	return PSM2_OK;
}

static psm2_error_t ipeek2_locked(psm2_mq_t mq, psm2_mq_req_t *reqo,
				     psm2_mq_status2_t *status)
{
	psm2_error_t err = ipeek_common(mq, reqo);

	if (err == PSM2_OK)
		fill_status2(*reqo, status);
	return err;
}

SHIM_API psm2_error_t psm2_mq_ipeek2(psm2_mq_t mq, psm2_mq_req_t *reqo,
				     psm2_mq_status2_t *status)
{
	if (!mq)
		return param_err(mq, "ipeek: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = ipeek2_locked(mq, reqo, status);
	shim_unlock(mq->lock);
	return err;
}

static psm2_error_t ipeek_locked(psm2_mq_t mq, psm2_mq_req_t *reqo,
				    psm2_mq_status_t *status)
{
	psm2_error_t err = ipeek_common(mq, reqo);

	if (err == PSM2_OK)
		fill_status(*reqo, status);
	return err;
}

SHIM_API psm2_error_t psm2_mq_ipeek(psm2_mq_t mq, psm2_mq_req_t *reqo,
				    psm2_mq_status_t *status)
{
	if (!mq)
		return param_err(mq, "ipeek: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = ipeek_locked(mq, reqo, status);
	shim_unlock(mq->lock);
	return err;
}

static psm2_error_t ipeek_dequeue_locked(psm2_mq_t mq, psm2_mq_req_t *reqo)
{
	struct psm2_mq_req *req;

	if (!mq || !reqo)
		return param_err(mq, "ipeek_dequeue: NULL argument");
	req = peek(mq);
	if (!req)
		return PSM2_MQ_NO_COMPLETIONS;
	shim_list_del(&req->qnode);
	req->dequeued = true;
	*reqo = req;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_ipeek_dequeue(psm2_mq_t mq, psm2_mq_req_t *reqo)
{
	if (!mq)
		return param_err(mq, "ipeek_dequeue: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = ipeek_dequeue_locked(mq, reqo);
	shim_unlock(mq->lock);
	return err;
}

/*
 * Intel's contract (opa-psm2's psm_mq.c): completed requests are dequeued
 * one by one, each handed to status_copy(req, status_array, index) with
 * the lock released, then freed. status_copy returns 1: counted, go on;
 * 0: not counted (skipped), go on; more than 1: counted, stop; negative:
 * stop with PSM2_INTERNAL_ERR and *count set to that value. The call
 * returns PSM2_OK once *count requests were counted (or a callback
 * stopped it), PSM2_MQ_NO_COMPLETIONS when the queue ran empty first,
 * with *count saying how many were counted before.
 */
SHIM_API psm2_error_t psm2_mq_ipeek_dequeue_multi(
	psm2_mq_t mq, void *status_array,
	psmi_mq_status_copy_user_t status_copy, int *count)
{
	int want;

	if (!mq || !status_copy || !count || *count < 0)
		return param_err(mq, "ipeek_dequeue_multi: bad argument");
	want = *count;
	*count = 0;
	while (*count < want) {
		struct psm2_mq_req_user u;
		struct psm2_mq_req *req;
		int ret;

		shim_lock(mq->lock);
		req = peek(mq);
		if (req) {
			memset(&u, 0, sizeof(u));
			u.peer = req->peer;
			u.tag = req->tag;
			u.tagsel = req->tagsel;
			u.buf = req->buf;
			u.buf_len = req->buf_len;
			u.error_code = req->error;
			u.recv_msglen = req->nbytes;
			u.send_msglen = req->msg_len;
			u.context = req->context;
			req_free(req);
		}
		shim_unlock(mq->lock);
		if (!req)
			return PSM2_MQ_NO_COMPLETIONS;
		ret = status_copy(&u, status_array, *count);
		if (ret < 0) {
			*count = ret;
			return PSM2_INTERNAL_ERR;
		}
		if (ret == 0)
			continue;
		(*count)++;
		if (ret > 1)
			break;
	}
	return PSM2_OK;
}

static psm2_error_t req_free_locked(psm2_mq_t mq, psm2_mq_req_t req)
{
	if (!mq || !req || req->mq != mq || req->state != REQ_COMPLETE)
		return param_err(mq, "req_free: request not complete");
	req_free(req);
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_req_free(psm2_mq_t mq, psm2_mq_req_t req)
{
	if (!mq)
		return param_err(mq, "req_free: request not complete");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = req_free_locked(mq, req);
	shim_unlock(mq->lock);
	return err;
}

/*
 * Test, and on completion fill one of the two status forms and free. As
 * Intel's, test makes no progress (psm2_poll, the ipeeks and the waits
 * do): a request not complete yet costs no lock, which is what a loop of
 * psm2_poll() and psm2_mq_test2() (Open MPI, libfabric) spends its time on.
 */
static psm2_error_t test_and_free(psm2_mq_req_t *reqp, psm2_mq_status_t *st,
				  psm2_mq_status2_t *st2)
{
	struct psm2_mq_req *req;
	struct shim_lock *lock;

	if (!reqp)
		return param_err(NULL, "test: NULL argument");
	req = *reqp;
	if (req == PSM2_MQ_REQINVALID)
		return PSM2_OK;
	if (!__atomic_load_n(&req->done, __ATOMIC_ACQUIRE))
		return PSM2_MQ_NO_COMPLETIONS;
	lock = req->mq->lock;
	shim_lock(lock);
	if (st2)
		fill_status2(req, st2);
	else
		fill_status(req, st);
	req_free(req);
	*reqp = PSM2_MQ_REQINVALID;
	shim_unlock(lock);
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_test2(psm2_mq_req_t *reqp,
				    psm2_mq_status2_t *status)
{
	return test_and_free(reqp, NULL, status);
}

SHIM_API psm2_error_t psm2_mq_test(psm2_mq_req_t *reqp,
				   psm2_mq_status_t *status)
{
	return test_and_free(reqp, status, NULL);
}

static int transport_wait(void *arg, int timeout_ms)
{
	struct mq_wire *w = arg;

	return w->ops->wait(w->tp, timeout_ms);
}

/*
 * The wire to sleep in and for how long (0: do not sleep, yield). Only
 * one wire may have wait(); any other one must allow it (wait_time): a
 * shm inbox with peers is written without a wakeup, so it says 0.
 */
static struct mq_wire *wires_sleep_time(psm2_mq_t mq, int *ms)
{
	struct mq_wire *sleeper = NULL;
	unsigned i;

	*ms = 1000;
	for (i = 0; i < mq->nwires; i++) {
		struct mq_wire *w = &mq->wires[i];
		int t;

		if (w->ops->wait)
			sleeper = w;
		else if (!w->ops->wait_time)
			*ms = 0;
		if (w->ops->wait_time) {
			t = w->ops->wait_time(w->tp, *ms);
			if (t >= 0 && t < *ms)
				*ms = t;
		}
	}
	return sleeper;
}

/*
 * Drive the engine until req completes; a dead wire ends the wait. Once
 * rounds move nothing, keep polling for cfg.spin_us (the lock let go
 * between rounds), then sleep in the transport (a real device: poll() on
 * its fd) with the lock released, instead of spinning on (lock.h).
 */
static psm2_error_t wait_common(struct psm2_mq_req *req)
{
	psm2_mq_t mq = req->mq;
	uint64_t spin_ns = (uint64_t)mq->cfg.spin_us * 1000, idle_since = 0;
	struct mq_wire *sleeper;
	int r = 0, ms;

	shim_lock(mq->lock);
	while (req->state != REQ_COMPLETE) {
		r = shim_mq_progress(mq);
		if (r < 0 || req->state == REQ_COMPLETE)
			break;
		if (r > 0) {
			idle_since = 0;
			continue;
		}
		if (!shim_list_empty(&mq->txq) ||
		    !(sleeper = wires_sleep_time(mq, &ms)) || !ms) {
			/*
			 * Nothing to sleep on (a shm peer writes no wake-up):
			 * let the other threads, and processes, in.
			 */
			shim_lock_yield(mq->lock);
			continue;
		}
		if (spin_ns) {
			uint64_t t = shim_mono_ns();

			if (!idle_since)
				idle_since = t;
			if (t - idle_since < spin_ns) {
				shim_lock_relax(mq->lock);
				continue;
			}
		}
		r = shim_lock_sleep(mq->lock, transport_wait, sleeper,
				    ms);
		if (r < 0)
			break;
	}
	shim_unlock(mq->lock);
	if (r < 0)
		return shim_report(mq->ep, shim_error_from_errno(r),
				   "wait: the device failed (%s)",
				   strerror(-r));
	return PSM2_OK;
}

/* Until *reqp completes (or the wire dies); then test it to free it. */
static psm2_error_t wait_for(psm2_mq_req_t *reqp)
{
	if (!reqp)
		return param_err(NULL, "wait: NULL argument");
	if (*reqp == PSM2_MQ_REQINVALID)
		return PSM2_OK;
	return wait_common(*reqp);
}

SHIM_API psm2_error_t psm2_mq_wait2(psm2_mq_req_t *reqp,
				    psm2_mq_status2_t *status)
{
	psm2_error_t err = wait_for(reqp);

	return err ? err : psm2_mq_test2(reqp, status);
}

SHIM_API psm2_error_t psm2_mq_wait(psm2_mq_req_t *reqp,
				   psm2_mq_status_t *status)
{
	psm2_error_t err = wait_for(reqp);

	return err ? err : psm2_mq_test(reqp, status);
}

SHIM_API psm2_error_t psm2_mq_cancel(psm2_mq_req_t *reqp)
{
	struct shim_lock *lock;
	struct psm2_mq_req *req;

	if (!reqp)
		return param_err(NULL, "cancel: NULL argument");
	req = *reqp;
	if (!req)
		return PSM2_MQ_NO_COMPLETIONS;	/* as Intel's */
	/* As Intel's: a send is refused through the error handler. */
	if (req->kind != REQ_RECV)
		return param_err(req->mq, "cancel: cannot cancel send requests");
	lock = req->mq->lock;
	shim_lock(lock);
	/* Only a receive still waiting in the posted queue can go back. */
	if (req->state != REQ_POSTED) {
		shim_unlock(lock);
		return PSM2_MQ_NO_COMPLETIONS;
	}
	req->nbytes = 0;
	req->msg_len = 0;
	req_complete(req);
	shim_unlock(lock);
	return PSM2_OK;
}

static void get_stats_locked(psm2_mq_t mq, psm2_mq_stats_t *stats)
{
	if (mq && stats)
		*stats = mq->stats;
}

SHIM_API void psm2_mq_get_stats(psm2_mq_t mq, psm2_mq_stats_t *stats)
{
	if (!mq)
		return;
	shim_lock(mq->lock);
	get_stats_locked(mq, stats);
	shim_unlock(mq->lock);
}

/* What a message to a peer of that kind goes by (the setting if none). */
static uint32_t wire_threshold(psm2_mq_t mq, enum shim_wire_kind kind)
{
	unsigned i;

	for (i = 0; i < mq->nwires; i++)
		if (mq->wires[i].kind == kind)
			return mq->wires[i].rndv_threshold;
	return kind == SHIM_WIRE_SHM ? mq->cfg.rndv_shm_threshold :
				       mq->cfg.rndv_threshold;
}

static psm2_error_t getopt_locked(psm2_mq_t mq, int option, void *value)
{
	if (!mq || !value)
		return param_err(mq, "mq_getopt: NULL argument");
	switch (option) {
	case PSM2_MQ_RNDV_HFI_SZ:
		*(uint32_t *)value = wire_threshold(mq, SHIM_WIRE_HFI);
		return PSM2_OK;
	case PSM2_MQ_RNDV_SHM_SZ:
		*(uint32_t *)value = wire_threshold(mq, SHIM_WIRE_SHM);
		return PSM2_OK;
	default:
		return param_err(mq, "mq_getopt: unknown option");
	}
}

SHIM_API psm2_error_t psm2_mq_getopt(psm2_mq_t mq, int option, void *value)
{
	if (!mq)
		return param_err(mq, "mq_getopt: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = getopt_locked(mq, option, value);
	shim_unlock(mq->lock);
	return err;
}

static psm2_error_t setopt_locked(psm2_mq_t mq, int option,
				     const void *value)
{
	uint32_t v;

	if (!mq || !value)
		return param_err(mq, "mq_setopt: NULL argument");
	switch (option) {
	case PSM2_MQ_RNDV_HFI_SZ:
		v = *(const uint32_t *)value;
		mq->cfg.rndv_threshold = v;
		wires_set_threshold(mq, SHIM_WIRE_HFI, v);
		return PSM2_OK;
	case PSM2_MQ_RNDV_SHM_SZ:
		v = *(const uint32_t *)value;
		mq->cfg.rndv_shm_threshold = v;
		wires_set_threshold(mq, SHIM_WIRE_SHM, v);
		return PSM2_OK;
	default:
		return param_err(mq, "mq_setopt: unknown option");
	}
}

SHIM_API psm2_error_t psm2_mq_setopt(psm2_mq_t mq, int option,
				     const void *value)
{
	if (!mq)
		return param_err(mq, "mq_setopt: NULL argument");
	psm2_error_t err;

	shim_lock(mq->lock);
	err = setopt_locked(mq, option, value);
	shim_unlock(mq->lock);
	return err;
}
