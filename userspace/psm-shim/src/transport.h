/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * What the matched-queue engine needs from a wire. The HFI
 * (userspace/lib/hfictx.h) provides it for real; tests plug in an
 * in-memory loopback (tests/loopback.c).
 *
 * The model is the HFI's: a message sent "eager" arrives whole in the
 * receiver's queue with the sender's header (SHIM_WIRE_HDR_BYTES); a
 * message sent "expected" lands straight in a buffer the receiver
 * registered, and the receiver's queue gets only the header, once the
 * payload is in place. Send calls copy the header before returning, but
 * the payload stays the caller's until the transport reports the cookie
 * through shim_mq_send_done() (SDMA reads user pages while in flight).
 *
 * The engine calls every function with its lock held (mq.h), one thread
 * at a time, except wait(), which it calls with the lock released.
 *
 * All functions return 0 or a negative errno. -EAGAIN (or -ENOSPC,
 * -ENOBUFS) from a send means "not now": nothing was sent, the engine
 * tries again from its progress loop. A transport that resends on
 * "receiver not ready" itself (as the HFI one must) never reports that.
 */
#ifndef PSM_SHIM_TRANSPORT_H
#define PSM_SHIM_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <psm2.h>

/* Header bytes carried by each message: the HFI's per-packet header. */
#define SHIM_WIRE_HDR_BYTES 32

/* Which of PSM2's devices a wire is (its rendezvous threshold's knob). */
enum shim_wire_kind {
	SHIM_WIRE_HFI,
	SHIM_WIRE_SHM,
};

struct shim_transport_ops {
	/* Eager: hdr, then the payload iovecs, delivered as one message. */
	int (*send_eager)(void *tp, psm2_epaddr_t dest, const void *hdr,
			  const struct iovec *iov, unsigned niov, void *cookie);
	/*
	 * Expected: the payload goes to offset of the receiver's buffer
	 * handle; then hdr reaches the receiver's queue. NULL if the wire
	 * has no expected receive (the legacy psm2.intel.com ABI): the
	 * engine then moves rendezvous payload in eager messages.
	 */
	int (*send_expected)(void *tp, psm2_epaddr_t dest, uint64_t handle,
			     uint64_t offset, const void *hdr,
			     const struct iovec *iov, unsigned niov,
			     void *cookie);
	/* Make buf a target for expected sends (pinning, a TID). */
	int (*register_recv_buffer)(void *tp, void *buf, size_t len,
				    uint64_t *handle);
	/*
	 * Done with it. filled: every byte the window asked for arrived, so
	 * no transfer into it is left and the wire may keep the handle for
	 * the next receive into buf; otherwise (an error, a cancel) a late
	 * transfer may still come, and the handle must die.
	 */
	int (*release_recv_buffer)(void *tp, uint64_t handle, bool filled);
	/*
	 * Hand what arrived to shim_mq_recv()/shim_mq_recv_expected() and
	 * finished sends to shim_mq_send_done(). Returns >0 if anything
	 * happened, 0 if not, or a negative errno (device gone).
	 */
	int (*poll)(void *tp);
	/*
	 * Optional, with wait(): how long wait() may sleep now, at most
	 * timeout_ms (-1: no limit); 0: it must not (say, sends complete
	 * without waking the device), the engine yields instead. A wire
	 * without wait() may have it too: whether another wire may sleep.
	 */
	int (*wait_time)(void *tp, int timeout_ms);
	/*
	 * Optional: sleep until poll() may find something, at most
	 * timeout_ms (-1: no limit). 0 or a negative errno. Called WITHOUT
	 * the engine's lock while other threads may use the transport: it
	 * may only wait on the device. Without it the engine's blocking
	 * calls spin on poll().
	 */
	int (*wait)(void *tp, int timeout_ms);

	size_t eager_max;	/* largest eager payload per message */
	size_t register_max;	/* largest buffer per handle */
};

#endif /* PSM_SHIM_TRANSPORT_H */
