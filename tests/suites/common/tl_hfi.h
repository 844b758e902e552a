/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Helpers for the emulated-HFI suites. */
#ifndef DRVOPS_TL_HFI_H
#define DRVOPS_TL_HFI_H

#include "hfictx.h"
#include "testlib.h"

/*
 * The test bed loads three units: two "current" (sdma.opa and
 * psm2.intel.com) and one "legacy" (psm2.intel.com only).
 */
enum tl_hfi_kind {
	TL_HFI_CURRENT,
	TL_HFI_LEGACY,
};

extern const uint8_t tl_hfi_job_a[DRVOPS_HFI_JOB_KEY_LEN];
extern const uint8_t tl_hfi_job_b[DRVOPS_HFI_JOB_KEY_LEN];

/* The n-th unit of a kind (by sysfs), or -ENODEV. */
int tl_hfi_find(enum tl_hfi_kind kind, unsigned n,
		struct drvops_device_info *out);
/* Opens that unit (own uverbs fd) and a context with job_key. */
int tl_hfi_open(struct drvops_hfi_ctx *h, enum tl_hfi_kind kind, unsigned n,
		const uint8_t *job_key, uint32_t max_version);
/*
 * An HFI ioctl given by its sdma.opa number (DRVOPS_HFI_IOCTL_*), sent with
 * the number of the interface the fd speaks: psm2.intel.com has its own
 * range. The interface is asked with GET_INFO; any other fd gets cmd as is.
 */
unsigned long tl_hfi_nr(int fd, unsigned long cmd);
int tl_hfi_ioctl(int fd, unsigned long cmd, void *arg);

/* Closes the context and its uverbs fd. */
void tl_hfi_close(struct drvops_hfi_ctx *h);
/* Waits for the next packet: 0 and *e, or -ETIMEDOUT / -errno. */
int tl_hfi_recv(struct drvops_hfi_ctx *h,
		const volatile struct drvops_hfi_rhq_entry **e, int timeout_ms);

#endif /* DRVOPS_TL_HFI_H */
