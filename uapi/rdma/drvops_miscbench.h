/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * drvops_miscbench: the benchmark baseline, a bare misc char device
 * (/dev/drvops_miscbench) with the work of copy.generic's NOOP and COPY
 * behind a plain switch on the ioctl number, no broker. It measures what
 * a private driver char device costs. Not an interface to build on.
 *
 * Errors: ENOTTY unknown ioctl; EFAULT the struct or a buffer cannot be
 * read or written; EOPNOTSUPP a reserved field is not 0; EINVAL COPY
 * length 0 or above DRVOPS_MISCBENCH_MAX_LENGTH; EINTR fatal signal.
 */
#ifndef _UAPI_RDMA_DRVOPS_MISCBENCH_H
#define _UAPI_RDMA_DRVOPS_MISCBENCH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define DRVOPS_MISCBENCH_DEV "/dev/drvops_miscbench"
#define DRVOPS_MISCBENCH_MAX_LENGTH (1ULL << 30)

/* Same type as drvops (0x1b), numbers no drvops interface uses. */
#define DRVOPS_MISCBENCH_IOCTL_TYPE 0x1b

/* NOOP: reads the struct, checks it, returns 0. */
struct drvops_miscbench_noop {
	__u64 __reserved;	/* must be 0 */
};

/* COPY: length bytes from src to dst, both in the caller's memory. */
struct drvops_miscbench_copy {
	__u64 src;
	__u64 dst;
	__u64 length;
};

#define DRVOPS_MISCBENCH_IOCTL_NOOP \
	_IOW(DRVOPS_MISCBENCH_IOCTL_TYPE, 0xE0, struct drvops_miscbench_noop)
#define DRVOPS_MISCBENCH_IOCTL_COPY \
	_IOW(DRVOPS_MISCBENCH_IOCTL_TYPE, 0xE1, struct drvops_miscbench_copy)

#endif /* _UAPI_RDMA_DRVOPS_MISCBENCH_H */
