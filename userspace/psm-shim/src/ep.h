/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * An endpoint: one HFI receive context (through the broker) and its MQ.
 * Only what the error path and the MQ need exists yet; the HFI wiring
 * (hfictx, discovery, connect) comes with the endpoint implementation.
 */
#ifndef PSM_SHIM_EP_H
#define PSM_SHIM_EP_H

#include <psm2.h>

struct psm2_ep {
	psm2_epid_t epid;
	psm2_ep_errhandler_t errhandler;	/* inherited at open */
	psm2_mq_t mq;
};

#endif /* PSM_SHIM_EP_H */
