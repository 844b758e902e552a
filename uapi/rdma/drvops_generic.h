/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * "copy.generic": the interface of the drvops reference driver (generic).
 *
 * A copy engine between buffers of the calling process: plain user
 * addresses, or memory regions (MRs) made on the uverbs fd and bound to the
 * driver-ops fd with DRVOPS_METHOD_BIND. Work is posted with an ioctl; the
 * data moves before the ioctl returns and a completion is queued.
 *
 *   version 1   NOOP, COPY; completions read with read() (whole struct
 *               drvops_generic_completion records), poll EPOLLIN when one
 *               is queued.
 *   version 2   adds FILL and a completion ring mapped with mmap
 *               (RING_SETUP); once a ring exists completions go to the ring
 *               and read() returns EINVAL.
 *
 * Names: "copy.generic" (versions 1-2) and its old alias "copy.legacy"
 * (version 1 only). A device built as "legacy" offers only "copy.legacy".
 */
#ifndef _UAPI_RDMA_DRVOPS_GENERIC_H
#define _UAPI_RDMA_DRVOPS_GENERIC_H

#include <linux/types.h>
#include <rdma/drvops_ioctl.h>

#define DRVOPS_GENERIC_NAME "copy.generic"
#define DRVOPS_GENERIC_LEGACY_NAME "copy.legacy"

/* Completions a version 1 fd holds for read() before COPY fails ENOSPC. */
#define DRVOPS_GENERIC_CQ_DEPTH 256
/* Largest single COPY or FILL. */
#define DRVOPS_GENERIC_MAX_LENGTH (1ULL << 30)

/* Ioctl numbers 0x20..0x2F (see drvops_ioctl.h), for both names. */
enum {
	DRVOPS_GENERIC_CMD_NOOP = 0x20,
	DRVOPS_GENERIC_CMD_COPY = 0x21,
	DRVOPS_GENERIC_CMD_FILL = 0x22,		/* version 2 */
	DRVOPS_GENERIC_CMD_RING_SETUP = 0x23,	/* version 2 */
};

/*
 * NOOP: does nothing; measures the dispatch cost.
 * Errors: the common ones of drvops_ioctl.h.
 */
struct drvops_generic_noop {
	__u32 size;
	__u32 __reserved;	/* must be 0 */
};
#define DRVOPS_GENERIC_IOCTL_NOOP _IO(DRVOPS_IOCTL_TYPE, DRVOPS_GENERIC_CMD_NOOP)

enum drvops_generic_buf_flags {
	/* addr is an offset into the bound MR mr_handle, not a user address. */
	DRVOPS_GENERIC_BUF_MR = 1 << 0,
};

/* One side of a transfer. */
struct drvops_generic_buf {
	__u64 addr;		/* user address, or offset into the MR */
	__u32 mr_handle;	/* uverbs MR handle, with DRVOPS_GENERIC_BUF_MR */
	__u32 flags;		/* enum drvops_generic_buf_flags */
};

/*
 * COPY: copies length bytes from src to dst, then queues a completion
 * carrying user_data. Returns 0 once the work is done and its completion
 * queued; a fault while moving data is reported in the completion's
 * status (-EFAULT), not by the ioctl.
 *
 * Errors (beyond the common ones):
 *   EOPNOTSUPP  flags or a buf's unknown flag bits are not 0, or a user
 *               buf (no DRVOPS_GENERIC_BUF_MR) has a non-zero mr_handle.
 *   EINVAL      length is 0 or above DRVOPS_GENERIC_MAX_LENGTH; an MR
 *               range outside the MR; dst MR without local write access.
 *   ENOENT      mr_handle is not an MR bound to this fd.
 *   ENOSPC      no room for the completion (read completions, or advance
 *               the ring's consumer index).
 */
struct drvops_generic_copy {
	__u32 size;
	__u32 flags;		/* must be 0 */
	struct drvops_generic_buf src;
	struct drvops_generic_buf dst;
	__u64 length;
	__u64 user_data;
};
#define DRVOPS_GENERIC_IOCTL_COPY _IO(DRVOPS_IOCTL_TYPE, DRVOPS_GENERIC_CMD_COPY)

/*
 * FILL (version 2): sets length bytes of dst to pattern.
 * Errors: as COPY.
 */
struct drvops_generic_fill {
	__u32 size;
	__u32 flags;		/* must be 0 */
	struct drvops_generic_buf dst;
	__u64 length;
	__u64 user_data;
	__u8 pattern;
	__u8 __reserved[7];	/* must be 0 */
};
#define DRVOPS_GENERIC_IOCTL_FILL _IO(DRVOPS_IOCTL_TYPE, DRVOPS_GENERIC_CMD_FILL)

/* A completion: read() returns these; the ring holds these. */
struct drvops_generic_completion {
	__u64 user_data;
	__u64 length;		/* bytes moved */
	__s32 status;		/* 0, or a negative errno such as -EFAULT */
	__u32 seq;		/* 0, 1, 2, ... per fd, in posting order */
};

/*
 * RING_SETUP (version 2): creates the completion ring, once per fd.
 * entries: a power of two, 2..4096. Then mmap(NULL, mmap_length,
 * PROT_READ | PROT_WRITE, MAP_SHARED, fd, mmap_offset) maps it: a struct
 * drvops_generic_ring_header followed by the entries. The kernel writes
 * an entry, then (release) producer; the user reads entries up to
 * producer, then writes consumer. Index i lives in entry i & (entries-1).
 *
 * Errors (beyond the common ones):
 *   EINVAL      entries not a power of two in range.
 *   EEXIST      the ring exists already.
 *   EBUSY       completions are waiting for read(): read them first.
 *   ENOMEM      no memory, or the ring would take the caller's memory
 *               cgroup past memory.max (it is charged there).
 *   EFAULT      the answer could not be written; no ring was made.
 * mmap errors: EINVAL wrong offset or length, or not MAP_SHARED;
 *   ENODEV      no ring yet.
 */
struct drvops_generic_ring_setup {
	__u32 size;
	__u32 entries;		/* in */
	__u64 mmap_offset;	/* out */
	__u64 mmap_length;	/* out */
};
#define DRVOPS_GENERIC_IOCTL_RING_SETUP \
	_IO(DRVOPS_IOCTL_TYPE, DRVOPS_GENERIC_CMD_RING_SETUP)

struct drvops_generic_ring_header {
	__u32 producer;		/* written by the kernel */
	__u32 consumer;		/* written by the user */
	__u32 entries;
	__u32 __reserved[13];
};

#endif /* _UAPI_RDMA_DRVOPS_GENERIC_H */
