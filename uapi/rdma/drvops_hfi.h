/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * The emulated Omni-Path-class HFI (drvops_hfi): a send-DMA engine, receive
 * contexts and expected receive, behind a driver-ops fd.
 *
 * Names and versions:
 *   "sdma.opa"        1  contexts, eager send/receive, expected receive into
 *                        registered user buffers (TID_REGISTER), counters.
 *                     2  adds expected receive into MRs bound to the fd
 *                        (TID_REGISTER_MR: the shared uverbs IDR) and
 *                        batched submission (several requests per writev).
 *                     3  the send request is size-extensible like an
 *                        ioctl struct (its size is its iov_len; explicit
 *                        __reserved, no padding hole), and completions are
 *                        an event: EPOLLPRI while some are not yet counted
 *                        in the user page's comp_head.
 *                     4  tids that follow their mapping
 *                        (DRVOPS_HFI_TID_NOTIFY): a registration cache
 *                        learns from the user page which tids a munmap,
 *                        mremap or MADV_DONTNEED made stale.
 *   "psm2.intel.com"  1  the legacy ABI on the same engine: one eager
 *                        request per writev in its own older struct, no
 *                        expected receive. An "old driver build" (module
 *                        parameter legacy_units) offers only this.
 *
 * A unit is one ib_device (one port, a LID). All units sit on one emulated
 * fabric: a packet sent to (LID, context) lands in that context's receive
 * queue on whatever unit has the LID.
 *
 * Jobs: a context exchanges packets only with contexts of the same owner
 * (the effective uid that did ASSIGN_CTXT, in the same user namespace) and
 * the same job key. The key separates the jobs of one user; the owner
 * separates users: another user's context is unreachable (the sender's
 * completion says EHOSTUNREACH) even with the right key, so nobody can
 * inject packets into, or write the tid buffers of, another user's job.
 *
 * Life of a context: ASSIGN_CTXT (once per fd), CTXT_INFO, mmap the four
 * regions, then writev to send and the receive header queue (RHQ) to
 * receive. Closing the fd frees the context; so does closing the uverbs fd
 * or unregistering the device (the fd is then dead, see drvops_ioctl.h).
 * Only the process that created the fd may use it (EPERM otherwise).
 */
#ifndef _UAPI_RDMA_DRVOPS_HFI_H
#define _UAPI_RDMA_DRVOPS_HFI_H

#include <linux/types.h>
#include <rdma/drvops_ioctl.h>

#define DRVOPS_HFI_NAME "sdma.opa"
#define DRVOPS_HFI_LEGACY_NAME "psm2.intel.com"

#define DRVOPS_HFI_JOB_KEY_LEN 16
#define DRVOPS_HFI_MAX_TIDS 1024	/* tids of a context: 1..1024 */
/* Where the user page's tid_stale bytes are (version 4). */
#define DRVOPS_HFI_TID_STALE_OFFSET 2048
#define DRVOPS_HFI_TID_STALE_BYTES 2048
#define DRVOPS_HFI_HDR_BYTES 32		/* sender's header bytes per packet */

/*
 * Ioctl numbers (see drvops_ioctl.h): "sdma.opa" has 0x30..0x3F,
 * "psm2.intel.com" 0x40..0x4F, so that a policy can allow one interface
 * and not the other. The legacy interface has the same structs and the
 * same offsets in its range: DRVOPS_HFI_LEGACY_IOCTL(DRVOPS_HFI_IOCTL_X).
 */
enum {
	DRVOPS_HFI_CMD_ASSIGN_CTXT = 0x30,
	DRVOPS_HFI_CMD_CTXT_INFO = 0x31,
	DRVOPS_HFI_CMD_TID_REGISTER = 0x32,
	DRVOPS_HFI_CMD_TID_FREE = 0x33,
	DRVOPS_HFI_CMD_COUNTERS = 0x34,
	DRVOPS_HFI_CMD_TID_REGISTER_MR = 0x35,	/* version 2 */
	DRVOPS_HFI_CMD_UNIT_INFO = 0x36,
};

#define DRVOPS_HFI_LEGACY_IOCTL_DELTA 0x10
#define DRVOPS_HFI_LEGACY_IOCTL(sdma_ioctl) \
	((sdma_ioctl) + DRVOPS_HFI_LEGACY_IOCTL_DELTA)

/*
 * ASSIGN_CTXT: take a receive context of this unit.
 * Errors (beyond the common ones of drvops_ioctl.h):
 *   EBUSY       this fd has a context already.
 *   ENOSPC      every context of the unit is taken.
 *   ENOMEM      no memory for the context's regions, or they would take
 *               the caller's memory cgroup past memory.max (they are
 *               charged to it, about eager_count * eager_size each).
 *   EOPNOTSUPP  flags or __reserved not 0.
 */
struct drvops_hfi_assign_ctxt {
	__u32 size;
	__u32 flags;				/* must be 0 */
	__u8 job_key[DRVOPS_HFI_JOB_KEY_LEN];	/* packets only within a key */
	__u32 ctxt;				/* out: context number */
	__u32 __reserved;
};
#define DRVOPS_HFI_IOCTL_ASSIGN_CTXT \
	_IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_ASSIGN_CTXT)

/*
 * mmap regions, each at its offset from CTXT_INFO with exactly its length:
 *   RHQ        rhq_entries x struct drvops_hfi_rhq_entry, read-only.
 *   EAGER      eager_count buffers of eager_size bytes, read-only.
 *   COMP       sdma_slots x struct drvops_hfi_comp, read-only.
 *   USER       one page, struct drvops_hfi_user_page, read-write: the
 *              consumer indices the user hands back and (version 4)
 *              which tids are stale.
 *
 * mmap errors:
 *   ENXIO       no context assigned yet.
 *   EINVAL      offset not the start of a region, length not exactly the
 *               region's, or not MAP_SHARED.
 *   EPERM       PROT_WRITE on a read-only region (RHQ, EAGER, COMP).
 *   EACCES      mprotect(PROT_WRITE) later on a read-only region: the
 *               mapping was made without VM_MAYWRITE.
 *   EIO / EPERM the fd is dead / not the creator's (drvops_ioctl.h).
 * The mappings are not inherited by fork() (and madvise(MADV_DOFORK) on
 * them fails with EINVAL); nobody can pin their pages (get_user_pages
 * fails). Once the fd is dead every page is unmapped and a touch raises
 * SIGBUS.
 */
enum drvops_hfi_mmap_region {
	DRVOPS_HFI_MMAP_RHQ,
	DRVOPS_HFI_MMAP_EAGER,
	DRVOPS_HFI_MMAP_COMP,
	DRVOPS_HFI_MMAP_USER,
	DRVOPS_HFI_MMAP_NR,
};

/*
 * CTXT_INFO: where everything is.
 * Errors: ENXIO no context assigned yet; EOPNOTSUPP __reserved not 0.
 */
struct drvops_hfi_ctxt_info {
	__u32 size;
	__u32 unit;			/* ib_device index */
	__u32 lid;
	__u32 ctxt;
	__u32 rhq_entries;		/* a power of two */
	__u32 eager_count;		/* a power of two */
	__u32 eager_size;		/* bytes per eager buffer */
	__u32 sdma_slots;		/* completion slots, a power of two */
	__u32 max_iovs;			/* payload iovecs per request */
	__u32 __reserved;
	__u64 eager_max;		/* largest eager message */
	__u64 node_guid;
	__u64 mmap_offset[DRVOPS_HFI_MMAP_NR];
	__u64 mmap_length[DRVOPS_HFI_MMAP_NR];
};
#define DRVOPS_HFI_IOCTL_CTXT_INFO \
	_IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_CTXT_INFO)

enum drvops_hfi_rhq_flags {
	DRVOPS_HFI_RHQ_EAGER = 1 << 0,	/* payload in eager buffer(s) */
	DRVOPS_HFI_RHQ_EXPECTED = 1 << 1,	/* payload went to tid */
	DRVOPS_HFI_RHQ_LAST = 1 << 2,	/* last packet of the message */
};

/*
 * One received packet. The kernel fills an entry, then (release) sets seq
 * to the entry's absolute index + 1: the user reads an entry once
 * seq == its index + 1. An eager message larger than eager_size takes
 * several packets (entries and buffers), offset telling where each goes;
 * all packets of one message are delivered, in order, or none is.
 */
struct drvops_hfi_rhq_entry {
	__u32 seq;
	__u32 flags;			/* enum drvops_hfi_rhq_flags */
	__u16 src_lid;
	__u16 src_ctxt;
	__u32 eager_index;		/* absolute; EAGER with length > 0 */
	__u32 length;			/* payload bytes in this packet */
	__u32 tid;			/* EXPECTED: the tid written */
	__u64 msg_length;		/* whole message */
	__u64 offset;			/* of this packet in the message */
	__u8 hdr[DRVOPS_HFI_HDR_BYTES];	/* the sender's header bytes */
};

/*
 * The user page: the user writes how far it has consumed (absolute
 * indices, free-running). Entries and eager buffers before these are free
 * for the kernel again. The kernel never trusts them beyond its own
 * producer indices.
 */
struct drvops_hfi_user_page {
	__u32 rhq_head;
	__u32 eager_head;
	/*
	 * Version 3: completions the user has seen (COMPLETE or ERROR slots,
	 * counted by the user, free-running). poll() reports EPOLLPRI while
	 * the kernel has written more than this; the user counts what it
	 * reaped, stores the count here, and then may sleep until the next.
	 * Ignored by versions 1 and 2.
	 */
	__u32 comp_head;
	__u32 __reserved[13];
	/*
	 * Version 4, written by the kernel, indexed by tid (1..
	 * DRVOPS_HFI_MAX_TIDS): 1 once a DRVOPS_HFI_TID_NOTIFY tid no longer
	 * maps its buffer (see TID_REGISTER). TID_REGISTER of that id sets it
	 * back to 0. The kernel keeps its own copy: clearing a byte here
	 * does not make a stale tid usable again.
	 */
	__u8 __pad[DRVOPS_HFI_TID_STALE_OFFSET - 64];
	__u8 tid_stale[DRVOPS_HFI_TID_STALE_BYTES];
};

enum drvops_hfi_comp_status {
	DRVOPS_HFI_COMP_FREE = 0,
	DRVOPS_HFI_COMP_QUEUED = 1,
	DRVOPS_HFI_COMP_COMPLETE = 2,
	DRVOPS_HFI_COMP_ERROR = 3,
};

/*
 * A completion slot. The kernel writes errcode, then (release) status. A
 * slot is the user's to reuse once its status is COMPLETE or ERROR.
 * Requests of one flow (same source context, destination LID and context)
 * complete in submission order.
 * errcode with ERROR: ENOBUFS receiver not ready (its RHQ or eager ring
 * is full: the message was dropped whole, resend later), EHOSTUNREACH no
 * such LID/context or another job key, ENOENT unknown tid, ERANGE beyond
 * the tid's buffer, EIO teardown. (An unreadable payload is refused by
 * writev itself: it is pinned there.)
 */
struct drvops_hfi_comp {
	__u32 status;			/* enum drvops_hfi_comp_status */
	__s32 errcode;			/* positive errno with ERROR */
};

/*
 * A send request, written with writev: iov[0] is this struct, then niov
 * payload iovecs; version 2 may put several requests in one writev, one
 * after the other. writev returns the number of requests accepted.
 *
 * Size: versions 1 and 2 take exactly sizeof(struct drvops_hfi_sdma_req)
 * in both size and iov[0].iov_len (and ignore __reserved, which was
 * padding). Version 3 takes it as an ioctl struct: iov_len == size, size
 * at least DRVOPS_HFI_SDMA_REQ_SIZE_V3 (EINVAL), bytes beyond the kernel's
 * struct must be zero (E2BIG), __reserved must be 0 (EOPNOTSUPP).
 *
 * Eager messages up to the module's inline_max (64 KiB by default), and
 * expected ones up to inline_expected_max (4 MiB by default), with
 * nothing of this context queued are delivered within writev, unpinned
 * (RLIMIT_MEMLOCK does not apply): their slot is COMPLETE, or ERROR with
 * the errcodes below, when writev returns. EFAULT in the slot: another
 * thread unmapped the payload meanwhile (an eager message went out
 * zero-filled; an expected one was not posted, its tid holds a partial
 * copy).
 *
 * Errors (writev): ENXIO no context; EINVAL malformed request (iov[0] of
 * the wrong size, niov above max_iovs or beyond the iovecs given, length
 * not the sum of the payload, unknown opcode, bad slot index); E2BIG
 * (version 3) non-zero bytes past the kernel's struct; EOPNOTSUPP
 * non-zero flags or __reserved; EBADSLT the slot is QUEUED; ENOSPC every
 * slot is busy (nothing accepted); EFAULT the header, an iovec array or
 * the payload is unreadable; ENOMEM pinning the payload would pass RLIMIT_MEMLOCK;
 * EMSGSIZE an eager message above eager_max, or an expected one above
 * 64 MiB (the largest tid). A failure after some requests
 * were accepted returns their count instead.
 */
enum drvops_hfi_opcode {
	DRVOPS_HFI_OP_EAGER = 1,
	DRVOPS_HFI_OP_EXPECTED = 2,
};

struct drvops_hfi_sdma_req {
	__u32 size;			/* sizeof(struct drvops_hfi_sdma_req) */
	__u8 opcode;			/* enum drvops_hfi_opcode */
	__u8 niov;			/* payload iovecs that follow */
	__u16 slot;			/* completion slot */
	__u16 dlid;
	__u16 dctxt;
	__u32 flags;			/* must be 0 */
	__u32 tid;			/* EXPECTED: destination buffer */
	__u32 __reserved;		/* version 3: must be 0 */
	__u64 toffset;			/* EXPECTED: offset in it */
	__u64 length;			/* payload bytes: sum of the iovecs */
	__u8 hdr[DRVOPS_HFI_HDR_BYTES];	/* delivered in every RHQ entry */
};
/* The smallest version 3 request: everything up to hdr. */
#define DRVOPS_HFI_SDMA_REQ_SIZE_V3 72

/*
 * TID_REGISTER: pin a user buffer as an expected-receive target; senders
 * address it by (LID, context, tid). Pinned pages count against
 * RLIMIT_MEMLOCK until TID_FREE or the context's end.
 *
 * DRVOPS_HFI_TID_NOTIFY (version 4), for a registration cache that keeps
 * tids across messages: the tid follows the mapping it was made from. Once
 * any page of it may have been unmapped or replaced (munmap, mremap,
 * MADV_DONTNEED, a new mapping over it, the process's exit) the tid is
 * stale: the user page's tid_stale[tid] becomes 1. Do not hand a stale tid
 * out again: transfers into it still land in the pages it pinned, which
 * the process may no longer see (a receive posted before keeps working,
 * as the kernel also says "stale" where the pages stay: a transparent
 * huge page split or collapse around them, KSM, reclaim scans). The pages
 * stay pinned and counted until TID_FREE: free a stale tid and register
 * the buffer again. Changes of protection (mprotect, NUMA balancing,
 * fork's copy-on-write) keep it; a real change is never missed.
 *
 * Errors: ENXIO no context; EINVAL length 0 or too large; EFAULT
 * unmappable buffer; ENOMEM memlock limit; ENOSPC no free tid;
 * EOPNOTSUPP unknown flags (NOTIFY before version 4) or __reserved not 0;
 * EAGAIN (NOTIFY) the buffer's mapping kept changing while it was pinned.
 */
enum drvops_hfi_tid_register_flags {
	DRVOPS_HFI_TID_NOTIFY = 1 << 0,		/* version 4 */
};

struct drvops_hfi_tid_register {
	__u32 size;
	__u32 flags;			/* enum drvops_hfi_tid_register_flags */
	__u64 vaddr;
	__u64 length;
	__u32 tid;			/* out */
	__u32 __reserved;
};
#define DRVOPS_HFI_IOCTL_TID_REGISTER \
	_IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_TID_REGISTER)

/*
 * TID_REGISTER_MR (version 2): as TID_REGISTER, over a range of an MR
 * bound to this fd (DRVOPS_METHOD_BIND): no extra pinning, the MR's pages
 * are used. While the tid exists the binding cannot end (UNBIND waits for
 * transfers in flight, then frees the tid).
 * Errors: ENOENT mr_handle not bound; EINVAL range outside the MR or MR
 * without local write access; the TID_REGISTER ones.
 */
struct drvops_hfi_tid_register_mr {
	__u32 size;
	__u32 mr_handle;
	__u64 offset;
	__u64 length;
	__u32 tid;			/* out */
	__u32 flags;			/* must be 0 */
};
#define DRVOPS_HFI_IOCTL_TID_REGISTER_MR \
	_IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_TID_REGISTER_MR)

/*
 * TID_FREE. Errors: ENOENT unknown tid; EBUSY a transfer into it is in
 * flight (retry).
 */
struct drvops_hfi_tid_free {
	__u32 size;
	__u32 tid;
};
#define DRVOPS_HFI_IOCTL_TID_FREE _IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_TID_FREE)

/*
 * COUNTERS of this context (the unit's are in debugfs:
 * /sys/kernel/debug/drvops_hfi/<dev>/counters).
 * Errors: ENXIO no context; EOPNOTSUPP __reserved not 0.
 */
struct drvops_hfi_counters {
	__u32 size;
	__u32 __reserved;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 rx_dropped;		/* receiver not ready */
	__u64 tx_errors;
};
#define DRVOPS_HFI_IOCTL_COUNTERS _IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_COUNTERS)

/*
 * UNIT_INFO: the unit this fd is on, with or without a context of its own
 * (what a PSM2 library reports through psm2_info_query). free_contexts is
 * a snapshot: an ASSIGN_CTXT may still get ENOSPC.
 * Errors: EOPNOTSUPP __reserved not 0.
 */
struct drvops_hfi_unit_info {
	__u32 size;
	__u32 __reserved;
	__u32 num_contexts;		/* receive contexts of the unit */
	__u32 free_contexts;		/* of those, not assigned now */
	__u32 lid;			/* the unit's address on the fabric */
	__u32 port_state;		/* enum drvops_hfi_port_state */
	__u32 eager_size;		/* bytes per packet */
	__u32 sdma_slots;		/* completion slots per context */
};
#define DRVOPS_HFI_IOCTL_UNIT_INFO \
	_IO(DRVOPS_IOCTL_TYPE, DRVOPS_HFI_CMD_UNIT_INFO)

enum drvops_hfi_port_state {
	DRVOPS_HFI_PORT_DOWN = 0,
	DRVOPS_HFI_PORT_ACTIVE = 1,
};

/*
 * "psm2.intel.com" version 1: the legacy ABI. ASSIGN_CTXT, CTXT_INFO,
 * COUNTERS and UNIT_INFO as above but numbered in its own range (no
 * TID_*, and the numbers of sdma.opa: ENOTTY), the same mmap regions,
 * and writev takes exactly one EAGER request: iov[0] = struct
 * drvops_hfi_legacy_send, then niov payload iovecs. Errors as for
 * sdma.opa.
 */
#define DRVOPS_HFI_LEGACY_IOCTL_ASSIGN_CTXT \
	DRVOPS_HFI_LEGACY_IOCTL(DRVOPS_HFI_IOCTL_ASSIGN_CTXT)
#define DRVOPS_HFI_LEGACY_IOCTL_CTXT_INFO \
	DRVOPS_HFI_LEGACY_IOCTL(DRVOPS_HFI_IOCTL_CTXT_INFO)
#define DRVOPS_HFI_LEGACY_IOCTL_COUNTERS \
	DRVOPS_HFI_LEGACY_IOCTL(DRVOPS_HFI_IOCTL_COUNTERS)
#define DRVOPS_HFI_LEGACY_IOCTL_UNIT_INFO \
	DRVOPS_HFI_LEGACY_IOCTL(DRVOPS_HFI_IOCTL_UNIT_INFO)

struct drvops_hfi_legacy_send {
	__u32 size;			/* sizeof(struct drvops_hfi_legacy_send) */
	__u16 dlid;
	__u16 dctxt;
	__u16 slot;
	__u16 niov;
	__u32 length;
	__u8 hdr[DRVOPS_HFI_HDR_BYTES];
};

#endif /* _UAPI_RDMA_DRVOPS_HFI_H */
