/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * A fake HFI receive context for host tests of the HFI transport: same
 * RHQ entries, eager packets, completion codes and tids as the driver
 * (drvops_hfi.h), delivered synchronously inside send. Its clock only
 * moves when the test says so, to exercise the resend backoff.
 */
#ifndef PSM_SHIM_FAKE_HFI_H
#define PSM_SHIM_FAKE_HFI_H

#include "hfi_transport.h"

struct fake_hfi;

extern const struct hfi_dev_ops fake_hfi_ops;

/* A context at (lid, ctxt) with rhq_entries entries of eager_size bytes. */
struct fake_hfi *fake_hfi_create(uint16_t lid, uint16_t ctxt,
				 uint32_t rhq_entries, uint32_t eager_size,
				 bool legacy);
void fake_hfi_destroy(struct fake_hfi *f);
void fake_hfi_params(struct fake_hfi *f, struct hfi_dev_params *p);
/* Advance every fake's clock. */
void fake_hfi_advance_ns(uint64_t ns);
uint64_t fake_hfi_dropped(struct fake_hfi *f);
unsigned fake_hfi_tids_in_use(struct fake_hfi *f);
/* Tids registered so far, and the longest. */
unsigned fake_hfi_tid_registrations(struct fake_hfi *f, size_t *max_len);
/*
 * Tids that follow their mapping (registered with tid_register_notify)
 * and overlap [buf, buf + len) become stale, as after a munmap.
 */
void fake_hfi_unmap(struct fake_hfi *f, const void *buf, size_t len);
/* The next n sends or tid registrations fail as over RLIMIT_MEMLOCK. */
void fake_hfi_refuse_pinning(struct fake_hfi *f, unsigned n);
/* send() calls that carried several messages so far. */
unsigned fake_hfi_send_batches(struct fake_hfi *f);

#endif /* PSM_SHIM_FAKE_HFI_H */
