// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The psm2_am_* calls: endpoint-level wrappers of am.c. */
#include <string.h>

#include "am.h"
#include "ep.h"
#include "mq.h"
#include "shim.h"

/* The endpoint's MQ, made on first use: AM works without psm2_mq_init. */
static psm2_mq_t ep_mq(psm2_ep_t ep)
{
	psm2_mq_t mq = NULL;

	if (ep && !ep->mq)
		psm2_mq_init(ep, PSM2_MQ_ORDERMASK_ALL, NULL, 0, &mq);
	return ep ? ep->mq : NULL;
}

SHIM_API psm2_error_t psm2_am_register_handlers(
	psm2_ep_t ep, const psm2_am_handler_fn_t *handlers, int num_handlers,
	int *handlers_idx)
{
	psm2_mq_t mq = ep_mq(ep);
	psm2_error_t err;

	if (!mq || !handlers)
		return shim_report(ep, PSM2_PARAM_ERR,
				   "am_register_handlers: bad args");
	err = shim_am_register(mq, handlers, NULL, num_handlers, NULL,
			       handlers_idx);
	return err ? shim_report(ep, err, "am_register_handlers") : PSM2_OK;
}

SHIM_API psm2_error_t psm2_am_register_handlers_2(
	psm2_ep_t ep, const psm2_am_handler_2_fn_t *handlers, int num_handlers,
	void **hctx, int *handlers_idx)
{
	psm2_mq_t mq = ep_mq(ep);
	psm2_error_t err;

	if (!mq || !handlers)
		return shim_report(ep, PSM2_PARAM_ERR,
				   "am_register_handlers_2: bad args");
	err = shim_am_register(mq, NULL, handlers, num_handlers, hctx,
			       handlers_idx);
	return err ? shim_report(ep, err, "am_register_handlers_2") : PSM2_OK;
}

SHIM_API void psm2_am_unregister_handlers(psm2_ep_t ep)
{
	if (ep && ep->mq)
		shim_am_unregister(ep->mq);
}

SHIM_API psm2_error_t psm2_am_request_short(
	psm2_epaddr_t epaddr, psm2_handler_t handler, psm2_amarg_t *args,
	int nargs, void *src, size_t len, int flags,
	psm2_am_completion_fn_t completion_fn, void *completion_ctxt)
{
	psm2_mq_t mq = epaddr ? ep_mq(epaddr->ep) : NULL;
	psm2_error_t err;

	(void)flags;	/* ASYNC, NOREPLY: we copy, and need no hint */
	if (!mq)
		return shim_report(NULL, PSM2_PARAM_ERR,
				   "am_request_short: no endpoint");
	err = shim_am_request(mq, epaddr, handler, args, nargs, src, len,
			      completion_fn, completion_ctxt);
	return err ? shim_report(epaddr->ep, err, "am_request_short") : PSM2_OK;
}

SHIM_API psm2_error_t psm2_am_reply_short(
	psm2_am_token_t token, psm2_handler_t handler, psm2_amarg_t *args,
	int nargs, void *src, size_t len, int flags,
	psm2_am_completion_fn_t completion_fn, void *completion_ctxt)
{
	psm2_error_t err;

	(void)flags;
	err = shim_am_reply(token, handler, args, nargs, src, len,
			    completion_fn, completion_ctxt);
	if (err)
		return shim_report(NULL, err,
				   "am_reply_short: %s", err == PSM2_PARAM_ERR ?
				   "bad args, or not in a request handler" :
				   "cannot send");
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_am_get_source(psm2_am_token_t token,
					 psm2_epaddr_t *epaddr_out)
{
	if (!token || !epaddr_out)
		return shim_report(NULL, PSM2_PARAM_ERR, "am_get_source: NULL");
	*epaddr_out = shim_am_source(token);
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_am_get_parameters(
	psm2_ep_t ep, struct psm2_am_parameters *parameters,
	size_t sizeof_parameters_in, size_t *sizeof_parameters_out)
{
	struct psm2_am_parameters p;
	psm2_mq_t mq = ep_mq(ep);

	if (!mq || !parameters || !sizeof_parameters_out)
		return shim_report(ep, PSM2_PARAM_ERR,
				   "am_get_parameters: bad args");
	shim_am_parameters(mq, &p);
	/* Size-extensible, as Intel's: copy what both know. */
	memcpy(parameters, &p, sizeof_parameters_in < sizeof(p) ?
			       sizeof_parameters_in : sizeof(p));
	*sizeof_parameters_out = sizeof(p);
	return PSM2_OK;
}
