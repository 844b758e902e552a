/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * An endpoint: one HFI receive context (hfictx, through the broker), its
 * transport (hfi_transport.h) and its MQ.
 */
#ifndef PSM_SHIM_EP_H
#define PSM_SHIM_EP_H

#include <stdint.h>

#include <psm2.h>

#include "hfictx.h"
#include "list.h"
#include "lock.h"

struct hfi_transport;
struct shm_transport;

struct psm2_ep {
	struct shim_lock lock;			/* lock.h: ep, MQ, transport */
	psm2_epid_t epid;
	psm2_ep_errhandler_t errhandler;	/* inherited at open */
	psm2_mq_t mq;
	struct shim_list node;			/* open endpoints */
	psm2_uuid_t uuid;
	unsigned unit;				/* our devunit index */
	uint16_t gen;				/* epid's generation */
	int uverbs_fd;
	struct drvops_hfi_ctx hfi;
	/* PSM2_DEVICES: hfi (tp), shm (shm), or both: local peers by shm */
	struct hfi_transport *tp;	/* NULL: a shm-only endpoint */
	struct shm_transport *shm;	/* NULL: every peer through the HFI */
};

/*
 * epid layout (ours; peers only need to agree with each other):
 * bits 0-15 context, 16-31 LID, 32-39 unit, 40-55 generation, 56-63
 * format version (2), so that no valid epid is 0. The generation is
 * random and non-zero per psm2_ep_open: an endpoint reopened on the same
 * context is another epid, a new peer (mq.h). A peer first heard from
 * (not connected yet) gets unit 0xff and generation 0: neither is known
 * from the wire address alone.
 */
#define SHIM_EPID_VERSION 2ull
#define SHIM_EPID_UNIT_UNKNOWN 0xffu
/* A shm endpoint (no HFI): unit 0xfe, LID 0xfffe, context from its pid. */
#define SHIM_EPID_UNIT_SHM 0xfeu
#define SHIM_EPID_LID_SHM 0xfffeu

static inline psm2_epid_t shim_hfi_epid(unsigned unit, uint16_t lid,
					uint16_t ctxt, uint16_t gen)
{
	return SHIM_EPID_VERSION << 56 | (uint64_t)gen << 40 |
	       (uint64_t)(unit & 0xff) << 32 | (uint64_t)lid << 16 | ctxt;
}

static inline unsigned shim_epid_unit(psm2_epid_t epid)
{
	return (unsigned)(epid >> 32) & 0xff;
}

static inline uint16_t shim_epid_gen(psm2_epid_t epid)
{
	return (uint16_t)(epid >> 40);
}

static inline unsigned shim_epid_version(psm2_epid_t epid)
{
	return (unsigned)(epid >> 56);
}

static inline uint16_t shim_epid_lid(psm2_epid_t epid)
{
	return (uint16_t)(epid >> 16);
}

static inline uint16_t shim_epid_ctxt(psm2_epid_t epid)
{
	return (uint16_t)epid;
}

#endif /* PSM_SHIM_EP_H */
