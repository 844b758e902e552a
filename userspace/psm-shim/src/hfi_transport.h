/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The MQ engine's wire over an HFI receive context (struct
 * shim_transport_ops of transport.h).
 *
 * The transport talks to the device through struct hfi_dev_ops, a thin
 * seam over userspace/lib/hfictx.h: the endpoint plugs in the real
 * context, the host tests a fake one (tests/fake_hfi.c), so reassembly,
 * resend and error handling are tested without a device.
 *
 * What it does for the engine:
 *  - eager: one send per message; the device cuts it into packets and the
 *    receiver's RHQ gets one entry per packet, each with the 32 header
 *    bytes (the engine's wire header). Packets are reassembled per source
 *    (LID, context) and handed over with shim_mq_recv() on the one
 *    flagged LAST; a one-packet message is handed over in place.
 *  - expected: TID_REGISTER over the receive window (the handle is the
 *    tid); shim_mq_recv_expected() once per DATA header, on its LAST entry.
 *    With tids that follow their mapping (sdma.opa 4) they are cached
 *    across receives (tid_cache.h); idle ones are given back when pinning
 *    is refused.
 *  - completion slots: the transport picks slots itself and reports every
 *    finished send with shim_mq_send_done().
 *  - "receiver not ready" (ERROR/ENOBUFS): resent by the transport with
 *    exponential backoff, given up after a bounded time (then -ETIMEDOUT,
 *    like a peer that stopped answering).
 *  - pinning refused (ENOMEM: RLIMIT_MEMLOCK without CAP_IPC_LOCK): "not
 *    now" while sends or tids of ours hold pinned pages (they come back),
 *    at most for the resend time limit; with nothing pinned the request
 *    alone is over the limit and fails (PSM2_NO_MEMORY).
 *  - EHOSTUNREACH: the peer is marked failed; its requests end with
 *    PSM2_EPID_UNREACHABLE (shim_mq_peer_failed), later sends to it fail
 *    at once. Nothing aborts.
 *  - a legacy unit (psm2.intel.com) has no expected receive: send_expected
 *    and register_recv_buffer are NULL and the engine moves rendezvous
 *    payload in eager messages.
 */
#ifndef PSM_SHIM_HFI_TRANSPORT_H
#define PSM_SHIM_HFI_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <rdma/drvops_hfi.h>

#include "hfictx.h"

#include "list.h"
#include "mq.h"
#include "tid_cache.h"
#include "transport.h"

/* Requests the transport hands the device in one send() at most. */
#define HFI_SEND_BATCH_MAX DRVOPS_HFI_BATCH_MAX

/* What the transport needs from a receive context (hfictx or a fake). */
struct hfi_dev_ops {
	/*
	 * Submit m[0..n) in order, each in the completion slot it names
	 * (which the transport knows is free), in as few calls into the
	 * device as it allows (drvops_hfi_send_batch). How many it accepted
	 * (those after a refused one are not sent: sending that one again
	 * says why), or the first one's negative errno (writev's).
	 */
	int (*send)(void *dev, struct drvops_hfi_msg *m, unsigned n);
	/* 1 still queued, 0 complete, or -errcode. */
	int (*slot_status)(void *dev, int slot);
	const volatile struct drvops_hfi_rhq_entry *(*peek)(void *dev);
	const void *(*eager_payload)(void *dev,
				     const volatile struct drvops_hfi_rhq_entry *e);
	void (*consume)(void *dev, const volatile struct drvops_hfi_rhq_entry *e);
	/* NULL on a legacy unit. */
	int (*tid_register)(void *dev, void *buf, size_t len, uint32_t *tid);
	int (*tid_free)(void *dev, uint32_t tid);
	/*
	 * Optional (sdma.opa 4): a tid that follows its mapping, and whether
	 * one has gone stale since (its buffer unmapped or replaced). With
	 * both, and hfi_dev_params.tid_cache, receive tids are cached.
	 */
	int (*tid_register_notify)(void *dev, void *buf, size_t len,
				   uint32_t *tid);
	bool (*tid_stale)(void *dev, uint32_t tid);
	/*
	 * Block until a packet may be there: 1, 0 (timeout) or -errno.
	 * Called without the endpoint's lock while other threads use the
	 * context: it may only wait on the device (poll() on its fd).
	 */
	int (*wait_recv)(void *dev, int timeout_ms);
	/*
	 * Optional, with hfi_dev_params.comp_events: n more slots were seen
	 * done (the device then wakes wait_recv() for completions too).
	 */
	void (*comps_reaped)(void *dev, uint32_t n);
	/* Monotonic clock in ns (a fake may run its own). */
	uint64_t (*now_ns)(void *dev);
};

struct hfi_dev_params {
	uint16_t lid;
	uint16_t ctxt;
	uint32_t sdma_slots;		/* a power of two */
	uint32_t max_iovs;
	uint64_t eager_max;
	/*
	 * Largest receive window to register (0: the device's largest tid).
	 * Without CAP_IPC_LOCK the endpoint caps it to a share of
	 * RLIMIT_MEMLOCK, so a large receive goes in several windows
	 * instead of failing to pin and falling back to two copies.
	 */
	uint64_t register_max;
	bool legacy;			/* eager only */
	/*
	 * The device wakes wait_recv() for completions too (sdma.opa 3):
	 * the engine may sleep with sends in flight instead of yielding.
	 */
	bool comp_events;
	/*
	 * Keep receive tids for the next receive into the same buffer
	 * (tid_cache.h), at most this many bytes of idle ones pinned.
	 */
	bool tid_cache;
	uint64_t tid_cache_bytes;
};

/* Resending on "receiver not ready": delays double from base to max. */
struct hfi_resend_policy {
	uint64_t base_ns;
	uint64_t max_ns;
	uint64_t give_up_ns;		/* after the first refusal */
};

void hfi_resend_policy_defaults(struct hfi_resend_policy *p);
/* PSM2_SHIM_RESEND_TIMEOUT_MS (give_up), PSM2_SHIM_RESEND_MAX_US (max). */
void hfi_resend_policy_from_env(struct hfi_resend_policy *p);
/* Delay before resend number `attempt` (1 for the first). */
uint64_t hfi_resend_delay(const struct hfi_resend_policy *p, unsigned attempt);
/* Has a send refused since first_ns been tried long enough by now_ns? */
bool hfi_resend_expired(const struct hfi_resend_policy *p, uint64_t first_ns,
			uint64_t now_ns);

/*
 * A partly received eager message from one source. The device delivers
 * all packets of a message in order and a source's messages one after
 * the other, so one per source is enough; anything else is dropped as
 * malformed.
 */
struct hfi_reasm {
	uint8_t *buf;
	uint64_t msg_len;
	uint64_t got;
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
};

enum hfi_reasm_result {
	HFI_REASM_MORE,			/* wait for the next packet */
	HFI_REASM_DONE,			/* buf holds msg_len bytes */
	HFI_REASM_DROPPED,		/* inconsistent packet: message lost */
};

/* Add one packet (offset/length/msg_length of its RHQ entry). */
enum hfi_reasm_result hfi_reasm_add(struct hfi_reasm *r, const void *hdr,
				    uint64_t msg_len, uint64_t offset,
				    const void *payload, uint64_t len,
				    bool last);
void hfi_reasm_reset(struct hfi_reasm *r);

/*
 * A peer as the transport sees it: the engine's struct psm2_epaddr
 * (what the user holds) plus where it is and its reassembly state.
 * tp_addr = LID << 16 | context.
 */
struct hfi_peer {
	struct psm2_epaddr addr;
	struct shim_list node;		/* in the transport's peer list */
	uint16_t lid;
	uint16_t ctxt;
	int error;			/* negative errno: peer failed */
	bool connected;			/* psm2_ep_connect named it */
	int probe;			/* 0 pending, 1 reachable, -errno */
	struct hfi_reasm reasm;
};

static inline struct hfi_peer *hfi_peer_of(psm2_epaddr_t a)
{
	return shim_container_of(a, struct hfi_peer, addr);
}

struct hfi_transport_stats {
	uint64_t resends;		/* after ERROR/ENOBUFS */
	uint64_t resend_batches;	/* device calls that resent several */
	uint64_t gave_up;		/* resend time exhausted */
	uint64_t unreachable;		/* EHOSTUNREACH completions */
	uint64_t dropped_rx;		/* malformed / unknown packets */
	uint64_t rx_packets;
	uint64_t tid_registrations;	/* TID_REGISTER calls that worked */
	struct tid_cache_stats tid_cache;
};

struct hfi_transport;

/*
 * A transport over dev. Peers it first hears from are created with
 * epid make_epid(arg, lid, ctxt) so that incoming messages from not yet
 * connected endpoints are not lost.
 */
struct hfi_transport *hfi_transport_create(const struct hfi_dev_ops *dops,
					   void *dev,
					   const struct hfi_dev_params *params,
					   const struct hfi_resend_policy *pol);
/* Frees peers and queued sends (the device must be closed after). */
void hfi_transport_destroy(struct hfi_transport *t);

const struct shim_transport_ops *hfi_transport_ops(struct hfi_transport *t);
void hfi_transport_set_mq(struct hfi_transport *t, psm2_mq_t mq);

/*
 * The peer at (lid, ctxt), created if create is set (NULL if not there or
 * no memory). A new peer's epid is `epid`.
 */
struct hfi_peer *hfi_transport_peer(struct hfi_transport *t, struct psm2_ep *ep,
				    uint16_t lid, uint16_t ctxt,
				    psm2_epid_t epid, bool create);
/* Iterate peers: the first after prev (NULL: from the start). */
struct hfi_peer *hfi_transport_next_peer(struct hfi_transport *t,
					 struct hfi_peer *prev);
/* Forget a peer (disconnect); its messages are dropped. */
void hfi_transport_peer_remove(struct hfi_transport *t, struct hfi_peer *p);

/*
 * Is p there? Sends it a header-only packet that MQs ignore; the answer
 * arrives in p->probe (1 reachable, even if its queue is full, or a
 * negative errno such as -EHOSTUNREACH) from a later progress call.
 * 0, -EAGAIN (no slot now) or a negative errno.
 */
int hfi_transport_probe(struct hfi_transport *t, struct hfi_peer *p);
/*
 * One round: completions, resends and (once an MQ is set) received
 * packets. >0 if anything moved, 0, or a negative errno.
 */
int hfi_transport_progress(struct hfi_transport *t);

/* Sends not yet completed (in the device or waiting to be resent). */
unsigned hfi_transport_pending(struct hfi_transport *t);
const struct hfi_transport_stats *hfi_transport_stats(struct hfi_transport *t);

#endif /* PSM_SHIM_HFI_TRANSPORT_H */
