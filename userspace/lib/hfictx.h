/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * A receive context of the emulated HFI, ready to use: what a messaging
 * library (psm-shim), the tests and the benchmark share. Asks for
 * ["sdma.opa", "psm2.intel.com"] and works with either.
 *
 * Functions return 0 (or a count) on success and a negative errno.
 */
#ifndef DRVOPS_HFICTX_H
#define DRVOPS_HFICTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <rdma/drvops_hfi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Payload iovecs per message this library sends (the unit may take more). */
#define DRVOPS_HFI_MAX_IOVS_LIB 16

struct drvops_hfi_ctx {
	int uverbs_fd;
	int fd;
	uint32_t version;
	bool legacy;			/* psm2.intel.com: eager only */
	struct drvops_hfi_ctxt_info info;
	volatile struct drvops_hfi_rhq_entry *rhq;
	const uint8_t *eager;
	volatile struct drvops_hfi_comp *comp;
	volatile struct drvops_hfi_user_page *user;
	uint32_t rhq_head;		/* next entry to read */
	uint32_t eager_head;		/* next eager buffer to read */
	uint32_t next_slot;
	uint32_t comps_reaped;		/* sdma.opa 3: told in comp_head */
};

/*
 * The unit behind an open uverbs fd (GET_CONTEXT done): contexts, free
 * contexts, LID, port state (UNIT_INFO), without taking a context.
 */
int drvops_hfi_unit_info(int uverbs_fd, struct drvops_hfi_unit_info *info);

/*
 * On an open uverbs fd (GET_CONTEXT done): driver-ops fd, context with
 * job_key, the four mappings. max_version caps sdma.opa (0: newest).
 */
int drvops_hfi_open(struct drvops_hfi_ctx *h, int uverbs_fd,
		    const uint8_t job_key[DRVOPS_HFI_JOB_KEY_LEN],
		    uint32_t max_version);
/* Unmaps and closes the driver-ops fd (not the uverbs fd). */
void drvops_hfi_close(struct drvops_hfi_ctx *h);

/* A slot whose last request has completed; -ENOSPC if none. */
int drvops_hfi_free_slot(struct drvops_hfi_ctx *h);

/*
 * Send one message: EAGER (tid/toffset ignored) or EXPECTED. hdr is
 * DRVOPS_HFI_HDR_BYTES or NULL. Returns the slot used.
 */
int drvops_hfi_send(struct drvops_hfi_ctx *h, uint8_t opcode, uint16_t dlid,
		    uint16_t dctxt, uint32_t tid, uint64_t toffset,
		    const void *hdr, const struct iovec *iov, unsigned niov);

/* Messages drvops_hfi_send_batch() puts in one system call at most. */
#define DRVOPS_HFI_BATCH_MAX 16

/* One message of drvops_hfi_send_batch(), as drvops_hfi_send() takes it. */
struct drvops_hfi_msg {
	uint8_t opcode;
	uint16_t dlid;
	uint16_t dctxt;
	uint32_t tid;			/* EXPECTED */
	uint64_t toffset;		/* EXPECTED */
	const void *hdr;		/* DRVOPS_HFI_HDR_BYTES or NULL */
	const struct iovec *iov;
	unsigned niov;
	/* In: a slot not queued, or -1: a free one; out: the slot it took. */
	int slot;
};

/*
 * Send m[0..n) in order, DRVOPS_HFI_BATCH_MAX per system call (sdma.opa 2
 * and later; one each on older units), at most info.sdma_slots in one call
 * (each message's slot differs). Returns how many were accepted; when that
 * is less than n, sending m[count] again says why. -errno when none was.
 * Since libdrvops 1.1 (DRVOPS_1.1).
 */
int drvops_hfi_send_batch(struct drvops_hfi_ctx *h, struct drvops_hfi_msg *m,
			  unsigned n);
/* Slot state: 1 still queued, 0 complete, or -errcode. */
int drvops_hfi_slot_status(struct drvops_hfi_ctx *h, int slot);
/* Spins (yielding) until the slot completes: 0 or -errcode. */
int drvops_hfi_wait_slot(struct drvops_hfi_ctx *h, int slot);

/* The next received packet, or NULL. */
const volatile struct drvops_hfi_rhq_entry *
drvops_hfi_peek(struct drvops_hfi_ctx *h);
/* Its payload, for an eager packet with length > 0. */
const void *drvops_hfi_eager_payload(struct drvops_hfi_ctx *h,
				     const volatile struct drvops_hfi_rhq_entry *e);
/* Give the entry (and its eager buffer) back to the kernel. */
void drvops_hfi_consume(struct drvops_hfi_ctx *h,
			const volatile struct drvops_hfi_rhq_entry *e);
/* poll() for POLLIN with a timeout (ms, -1 forever): 1, 0 or -errno. */
int drvops_hfi_wait_recv(struct drvops_hfi_ctx *h, int timeout_ms);
/*
 * The same without looking at the ring first: only the fd is touched, so
 * another thread may consume entries meanwhile (the kernel reports POLLIN
 * while the entry at the head we published is valid).
 */
int drvops_hfi_poll_recv(const struct drvops_hfi_ctx *h, int timeout_ms);

/* sdma.opa 3 (completion events): a context that has them. */
static inline bool drvops_hfi_has_comp_events(const struct drvops_hfi_ctx *h)
{
	return !h->legacy && h->version >= 3;
}
/*
 * The caller has seen n more slots become COMPLETE or ERROR (each exactly
 * once): counted in the user page, so EPOLLPRI means "more than these".
 */
void drvops_hfi_comps_reaped(struct drvops_hfi_ctx *h, uint32_t n);
/*
 * Sleep until a packet may be there or (with completion events) a
 * completion not yet reaped: 1, 0 (timeout) or -errno. Touches only the
 * fd: callable without the caller's lock.
 */
int drvops_hfi_poll_event(const struct drvops_hfi_ctx *h, int timeout_ms);

int drvops_hfi_tid_register(struct drvops_hfi_ctx *h, void *buf, size_t len,
			    uint32_t *tid);
/*
 * sdma.opa 4: a tid that follows its mapping (DRVOPS_HFI_TID_NOTIFY), for
 * a registration cache; drvops_hfi_tid_stale() says when it no longer
 * maps the buffer (free it and register again).
 */
static inline bool drvops_hfi_has_tid_notify(const struct drvops_hfi_ctx *h)
{
	return !h->legacy && h->version >= 4;
}
int drvops_hfi_tid_register_notify(struct drvops_hfi_ctx *h, void *buf,
				   size_t len, uint32_t *tid);
static inline bool drvops_hfi_tid_stale(const struct drvops_hfi_ctx *h,
					uint32_t tid)
{
	return tid < DRVOPS_HFI_TID_STALE_BYTES && h->user->tid_stale[tid];
}
int drvops_hfi_tid_register_mr(struct drvops_hfi_ctx *h, uint32_t mr_handle,
			       uint64_t offset, uint64_t len, uint32_t *tid);
int drvops_hfi_tid_free(struct drvops_hfi_ctx *h, uint32_t tid);
int drvops_hfi_counters(struct drvops_hfi_ctx *h,
			struct drvops_hfi_counters *c);

#ifdef __cplusplus
}
#endif

#endif /* DRVOPS_HFICTX_H */
