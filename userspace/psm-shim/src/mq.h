/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The matched-queue engine: tag matching, request life cycle and the
 * eager/rendezvous protocols, over any struct shim_transport_ops. It
 * implements the psm2_mq_* calls of psm2_mq.h; this header is what the
 * endpoint layer and the transports see besides them.
 *
 * Thread-safe as Intel's PSM2 is (lock.h): every psm2_mq_* call and
 * shim_mq_progress() hold the MQ's lock (its endpoint's), so the engine
 * and the transport below it run in one thread at a time; transports are
 * called with it held, except for their wait().
 */
#ifndef PSM_SHIM_MQ_H
#define PSM_SHIM_MQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <psm2.h>
#include <psm2_am.h>
#include <psm2_mq.h>

#include "list.h"
#include "lock.h"
#include "transport.h"

/*
 * A connected peer, as this endpoint sees it. The transport fills
 * tp_addr (for the HFI: LID and context), epid and tp (itself: the MQ
 * sends to the peer through the wire with that tp, shim_mq_create_wires);
 * the engine owns the sequence state that keeps one sender's messages in
 * order.
 */
struct psm2_epaddr {
	psm2_epid_t epid;
	struct psm2_ep *ep;
	uint64_t tp_addr;
	void *tp;			/* its wire's transport (NULL: the first) */
	void *user_ctxt;		/* psm2_epaddr_setctxt() */
	uint16_t gen;			/* its generation (0: not known yet) */
	uint32_t restarts;		/* new generations seen */
	uint32_t tx_seq;		/* next matchable message we send */
	uint32_t rx_seq;		/* next matchable message we accept */
	struct shim_list rx_early;	/* arrived before their turn, by seq */
};

struct shim_mq_config {
	uint32_t rndv_threshold;	/* bytes; above: rendezvous (HFI) */
	uint32_t rndv_shm_threshold;	/* the same for shm peers */
	uint32_t rndv_window;		/* bytes per expected send */
	/*
	 * Non-zero: no receive window registered ahead of the current one
	 * (PSM2_SHIM_RNDV_AHEAD=0; zero, the default, allows one).
	 */
	uint32_t rndv_no_ahead;
	/*
	 * A blocking wait polls this long after the last progress before it
	 * sleeps on the device (PSM2_SHIM_SPIN_US; 0: sleeps at once).
	 */
	uint32_t spin_us;
};

/*
 * Eager up to one eager packet of the HFI (8 KiB), rendezvous above: chosen
 * from measurement (README, "MPI"): the expected path copies once and an
 * eager message twice, so PSM2's 64000 left a 64 KiB ping-pong four times
 * slower than with 8 KiB, and 16 KiB no faster. PSM2_MQ_RNDV_HFI_THRESH
 * overrides it.
 */
#define SHIM_MQ_RNDV_THRESHOLD_DEFAULT 8192u
/* Intel's PSM2_MQ_RNDV_SHM_THRESH default. */
#define SHIM_MQ_RNDV_SHM_THRESHOLD_DEFAULT 16000u
/*
 * One expected send per window: larger than PSM2's 128 KiB because each
 * send costs a system call here and pinning is bounded per request.
 */
#define SHIM_MQ_RNDV_WINDOW_DEFAULT (1024u * 1024)
/*
 * Intel's PSM2 never sleeps in a wait. Sleeping at once cost a blocking
 * 8 B ping-pong six times the polling one (README, "MPI"): the reply comes
 * within microseconds, a wake-up takes tens. 100 us covers a reply, and an
 * idle wait still sleeps.
 */
#define SHIM_MQ_SPIN_US_DEFAULT 100u

/*
 * A defaulted config, then the environment knobs (PSM2_MQ_RNDV_HFI_*,
 * PSM2_MQ_RNDV_SHM_THRESH).
 */
void shim_mq_config_defaults(struct shim_mq_config *cfg);
void shim_mq_config_from_env(struct shim_mq_config *cfg);

/*
 * A new MQ sending and receiving through ops/tp. ep may be NULL (tests).
 * lock: the endpoint's, which the MQ then shares; NULL: its own.
 * Returns PSM2_OK, PSM2_PARAM_ERR or PSM2_NO_MEMORY.
 */
psm2_error_t shim_mq_create(struct psm2_ep *ep, struct shim_lock *lock,
			    const struct shim_transport_ops *ops, void *tp,
			    const struct shim_mq_config *cfg, psm2_mq_t *mq);
/*
 * An MQ over several wires (PSM2 devices: the HFI, shared memory): each
 * peer is reached through the wire whose tp it names. At most one wire may
 * have wait(); the rendezvous threshold is per kind (PSM2_MQ_RNDV_HFI_SZ,
 * PSM2_MQ_RNDV_SHM_SZ).
 */
#define SHIM_MQ_MAX_WIRES 2
struct shim_wire {
	const struct shim_transport_ops *ops;
	void *tp;
	enum shim_wire_kind kind;
};
psm2_error_t shim_mq_create_wires(struct psm2_ep *ep, struct shim_lock *lock,
				  const struct shim_wire *wires,
				  unsigned nwires,
				  const struct shim_mq_config *cfg,
				  psm2_mq_t *mq);
/* Frees the MQ and every request still in it. */
void shim_mq_destroy(psm2_mq_t mq);

void shim_peer_init(struct psm2_epaddr *peer, struct psm2_ep *ep,
		    psm2_epid_t epid, uint64_t tp_addr);
/* Frees messages held for ordering (the peer is going away). */
void shim_peer_fini(struct psm2_epaddr *peer);

/*
 * Generations (ep.h): ours, stamped on every header we send, and a
 * peer's as learned from its epid at connect. A peer heard from (or
 * connected to) with a new generation is a new incarnation: requests
 * under way with the old one end with PSM2_EPID_NETWORK_ERROR and the
 * sequence numbers restart. mq may be NULL (no MQ yet: no requests).
 */
void shim_mq_set_generation(psm2_mq_t mq, uint16_t gen);
void shim_peer_set_generation(psm2_mq_t mq, psm2_epaddr_t peer, uint16_t gen);

/* One round of the progress engine: >0 if something moved, <0 errno. */
int shim_mq_progress(psm2_mq_t mq);
/*
 * Active messages (am.c) ride the MQ's wire, in the same per-sender order
 * as matched messages: nargs arguments and len bytes of src, copied, then
 * sent when the wire takes them. 0, -ENOMEM or -EMSGSIZE (more than
 * shim_mq_am_max_bytes() in all). am.c keeps its handler table in the MQ.
 */
int shim_mq_am_send(psm2_mq_t mq, psm2_epaddr_t peer, bool reply,
		    uint32_t handler, const psm2_amarg_t *args, uint32_t nargs,
		    const void *src, size_t len);
size_t shim_mq_am_max_bytes(psm2_mq_t mq);
void *shim_mq_am(psm2_mq_t mq);
void shim_mq_set_am(psm2_mq_t mq, void *am, void (*am_free)(void *am));

/* The MQ's lock, for callers outside the psm2_mq_* calls. */
void shim_mq_lock(psm2_mq_t mq);
void shim_mq_unlock(psm2_mq_t mq);

/* --- called by transports from their poll() --- */

/* A message that came through the eager path, header and whole payload. */
void shim_mq_recv(psm2_mq_t mq, psm2_epaddr_t src, const void *hdr,
		  const void *payload, size_t len);
/* An expected send has landed in one of our buffers; hdr is the sender's. */
void shim_mq_recv_expected(psm2_mq_t mq, psm2_epaddr_t src, const void *hdr);
/* A send's payload is no longer needed (err: 0 or a negative errno). */
void shim_mq_send_done(psm2_mq_t mq, void *cookie, int err);

/*
 * The transport gave up on peer (err: -EHOSTUNREACH, -ETIMEDOUT, ...):
 * every send to it and every rendezvous receive from it ends with the
 * matching PSM2 error (sends still in the wire end when their payload is
 * released). Later sends are refused by the transport itself.
 */
void shim_mq_peer_failed(psm2_mq_t mq, psm2_epaddr_t peer, int err);
/* The endpoint an MQ belongs to (NULL in tests). */
struct psm2_ep *shim_mq_ep(psm2_mq_t mq);

/* psm2_error_t for a negative errno from a transport. */
psm2_error_t shim_error_from_errno(int err);

#endif /* PSM_SHIM_MQ_H */
