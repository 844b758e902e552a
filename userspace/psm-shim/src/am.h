/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Active messages (psm2_am.h), as libfabric's psm2 provider builds RMA and
 * atomics on them: per endpoint a table of handlers (indices from 0 in
 * registration order), short requests and replies carrying up to
 * SHIM_AM_MAX_NARGS arguments and a payload, handlers run by whichever
 * call makes progress (psm2_poll, psm2_mq_ipeek, waits), with the
 * endpoint's lock held; a request handler may reply from inside. They
 * travel in the same per-sender order as matched messages (mq.h).
 */
#ifndef PSM_SHIM_AM_H
#define PSM_SHIM_AM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <psm2.h>
#include <psm2_am.h>

#define SHIM_AM_MAX_HANDLERS 64
#define SHIM_AM_MAX_NARGS 8

/* The MQ-level calls behind the psm2_am_* ones (the host tests use them). */
psm2_error_t shim_am_register(psm2_mq_t mq, const psm2_am_handler_fn_t *fn,
			      const psm2_am_handler_2_fn_t *fn2, int n,
			      void **hctx, int *idx);
void shim_am_unregister(psm2_mq_t mq);
psm2_error_t shim_am_request(psm2_mq_t mq, psm2_epaddr_t peer,
			     psm2_handler_t handler, const psm2_amarg_t *args,
			     int nargs, const void *src, size_t len,
			     psm2_am_completion_fn_t done, void *done_ctx);
/* From inside a request's handler, once: PSM2_PARAM_ERR otherwise. */
psm2_error_t shim_am_reply(psm2_am_token_t token, psm2_handler_t handler,
			   const psm2_amarg_t *args, int nargs,
			   const void *src, size_t len,
			   psm2_am_completion_fn_t done, void *done_ctx);
psm2_epaddr_t shim_am_source(psm2_am_token_t token);
void shim_am_parameters(psm2_mq_t mq, struct psm2_am_parameters *p);

/* Called by the MQ for an active message whose turn it is. */
void shim_am_deliver(psm2_mq_t mq, psm2_epaddr_t src, bool request,
		     uint32_t handler, uint32_t nargs, const void *payload,
		     size_t len);

#endif /* PSM_SHIM_AM_H */
