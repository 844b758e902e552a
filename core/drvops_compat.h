/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel APIs that differ between the kernels drvops builds on
 * (Debian's 6.1 and 6.12 LTS), each spelled the newer way. With
 * core/anon_file.c, the only place in the tree that tests a kernel
 * version: DRVOPS_KV is VERSION * 100 + PATCHLEVEL, set by the top-level
 * Kbuild (602 for 6.2, 612 for 6.12).
 */
#ifndef DRVOPS_COMPAT_H
#define DRVOPS_COMPAT_H

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/uio.h>

#ifndef DRVOPS_KV
#error "DRVOPS_KV is not set: build with the Kbuild at the top of drvops"
#endif

#if DRVOPS_KV < 603
/* vma->vm_flags is read-only from 6.3 on. */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#if DRVOPS_KV < 604
/* iov_iter.iov is iov_iter.__iov from 6.4 on. */
static inline const struct iovec *iter_iov(const struct iov_iter *iter)
{
	return iter->iov;
}
#endif

#if DRVOPS_KV < 612
/* struct fd is opaque from 6.12 on. */
static inline struct file *fd_file(struct fd f)
{
	return f.file;
}
#endif

#if DRVOPS_KV < 609
/* The last parameter of ib_device_ops.create_cq (the attr bundle from 6.9). */
#define DRVOPS_CREATE_CQ_LAST_ARG struct ib_udata *udata
#else
#define DRVOPS_CREATE_CQ_LAST_ARG struct uverbs_attr_bundle *attrs
#endif

#endif /* DRVOPS_COMPAT_H */
