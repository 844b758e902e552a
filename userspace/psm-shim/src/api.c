// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The core PSM2 calls: library life cycle, capabilities, options, epid
 * helpers, and the endpoint calls. The endpoint is not wired to the HFI
 * yet (hfictx + broker discovery come next): those calls return
 * PSM2_INTERNAL_ERR, marked TODO(ep), never abort.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <psm2.h>
#include <psm2_am.h>
#include <psm2_mq.h>

#include "ep.h"
#include "mq.h"
#include "shim.h"

static int init_count;

SHIM_API psm2_error_t psm2_init(int *major, int *minor)
{
	if (!major || !minor)
		return shim_report(NULL, PSM2_PARAM_ERR, "init: NULL version");
	/* A caller built for API major 1 or 2 can use us. */
	if (*major != PSM2_VERNO_MAJOR && *major != PSM2_VERNO_COMPAT_MAJOR)
		return shim_report(NULL, PSM2_INIT_BAD_API_VERSION,
				   "init: caller wants API %d.%d, we offer %d.%d",
				   *major, *minor, PSM2_VERNO_MAJOR,
				   PSM2_VERNO_MINOR);
	*major = PSM2_VERNO_MAJOR;
	*minor = PSM2_VERNO_MINOR;
	init_count++;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_finalize(void)
{
	if (init_count == 0)
		return shim_report(NULL, PSM2_INIT_NOT_INIT,
				   "finalize without init");
	init_count--;
	return PSM2_OK;
}

/*
 * Intel's library exports this word (not in any header); a program that
 * reads it directly must find it here too.
 */
SHIM_API uint64_t psm2_capabilities_bitset =
	PSM2_MULTI_EP_CAP | PSM2_LIB_REFCOUNT_CAP;

SHIM_API uint64_t psm2_get_capability_mask(uint64_t req_cap_mask)
{
	return req_cap_mask & (PSM2_MULTI_EP_CAP | PSM2_LIB_REFCOUNT_CAP);
}

/*
 * epid layout (ours; peers only need to agree with each other):
 * bits 0-15 context, 16-31 LID, 32-47 unit, 56-63 format version (1),
 * so that no valid epid is 0.
 */
#define EPID_VERSION 1ull

SHIM_API uint64_t psm2_epid_nid(psm2_epid_t epid)
{
	return (epid >> 16) & 0xffff;	/* the LID names the node */
}

SHIM_API uint64_t psm2_epid_context(psm2_epid_t epid)
{
	return epid & 0xffff;
}

SHIM_API uint64_t psm2_epid_port(psm2_epid_t epid)
{
	(void)epid;
	return 1;			/* every unit has one port */
}

SHIM_API void psm2_uuid_generate(psm2_uuid_t uuid_out)
{
	size_t got = 0;

	while (got < sizeof(psm2_uuid_t)) {
		ssize_t n = getrandom(uuid_out + got,
				      sizeof(psm2_uuid_t) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got < sizeof(psm2_uuid_t)) {	/* no entropy: still unique-ish */
		for (; got < sizeof(psm2_uuid_t); got++)
			uuid_out[got] = (uint8_t)rand();
	}
	/* RFC 4122 version 4, variant 1 */
	uuid_out[6] = (uuid_out[6] & 0x0f) | 0x40;
	uuid_out[8] = (uuid_out[8] & 0x3f) | 0x80;
}

SHIM_API psm2_error_t
psm2_ep_open_opts_get_defaults(struct psm2_ep_open_opts *opts)
{
	if (!opts)
		return shim_report(NULL, PSM2_PARAM_ERR, "opts: NULL");
	memset(opts, 0, sizeof(*opts));
	opts->timeout = 30000000000ll;	/* 30 s to get a context */
	opts->unit = -1;		/* any; HFI_UNIT picks one by index */
	opts->affinity = PSM2_EP_OPEN_AFFINITY_SKIP; /* we never pin CPUs */
	opts->shm_mbytes = 0;
	opts->sendbufs_num = 1024;
	opts->network_pkey = PSM2_EP_OPEN_PKEY_DEFAULT;
	opts->port = 0;
	opts->outsl = 0;
	opts->service_id = 0;
	opts->path_res_type = PSM2_PATH_RES_NONE;
	opts->senddesc_num = 4096;
	opts->imm_size = 128;
	return PSM2_OK;
}

/* ---- endpoint: TODO(ep) wire to hfictx and the broker's discovery ---- */

SHIM_API psm2_error_t psm2_ep_num_devunits(uint32_t *num_units)
{
	if (!num_units)
		return shim_report(NULL, PSM2_PARAM_ERR, "num_devunits: NULL");
	/* TODO(ep): count units offering sdma.opa or psm2.intel.com */
	return shim_report(NULL, PSM2_INTERNAL_ERR,
			   "num_devunits: not implemented yet");
}

SHIM_API psm2_error_t psm2_ep_open(const psm2_uuid_t unique_job_key,
				   const struct psm2_ep_open_opts *opts,
				   psm2_ep_t *ep, psm2_epid_t *epid)
{
	(void)unique_job_key;
	(void)opts;
	if (!ep || !epid)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_open: NULL");
	if (init_count == 0)
		return shim_report(NULL, PSM2_INIT_NOT_INIT,
				   "ep_open before psm2_init");
	/* TODO(ep): discovery by index/GUID, GET_FD, ASSIGN_CTXT(job key) */
	return shim_report(NULL, PSM2_INTERNAL_ERR,
			   "ep_open: not implemented yet");
}

SHIM_API psm2_error_t psm2_ep_close(psm2_ep_t ep, int mode, int64_t timeout)
{
	(void)mode;
	(void)timeout;
	if (!ep)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_close: NULL");
	/* TODO(ep) */
	return shim_report(ep, PSM2_INTERNAL_ERR, "ep_close: not implemented");
}

SHIM_API psm2_error_t psm2_ep_epid_share_memory(psm2_ep_t ep,
						psm2_epid_t epid, int *result)
{
	(void)epid;
	if (!ep || !result)
		return shim_report(ep, PSM2_PARAM_ERR, "share_memory: NULL");
	*result = 0;	/* we have no shared-memory path: all goes by HFI */
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_map_nid_hostname(int num, const uint64_t *nids,
					    const char **hostnames)
{
	/* Names only make error messages nicer; we keep none. */
	if (num < 0 || (num && (!nids || !hostnames)))
		return shim_report(NULL, PSM2_PARAM_ERR, "map_nid_hostname");
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_ep_connect(psm2_ep_t ep, int num_of_epid,
				      const psm2_epid_t *array_of_epid,
				      const int *array_of_epid_mask,
				      psm2_error_t *array_of_errors,
				      psm2_epaddr_t *array_of_epaddr,
				      int64_t timeout)
{
	(void)array_of_epid_mask;
	(void)timeout;
	if (!ep || num_of_epid < 0 ||
	    (num_of_epid && (!array_of_epid || !array_of_errors ||
			     !array_of_epaddr)))
		return shim_report(ep, PSM2_PARAM_ERR, "ep_connect: bad args");
	/* TODO(ep): per-peer (LID, context) from the epid, shim_peer_init */
	return shim_report(ep, PSM2_INTERNAL_ERR,
			   "ep_connect: not implemented yet");
}

SHIM_API psm2_error_t psm2_ep_disconnect2(psm2_ep_t ep, int num_of_epaddr,
					  psm2_epaddr_t *array_of_epaddr,
					  const int *array_of_epaddr_mask,
					  psm2_error_t *array_of_errors,
					  int mode, int64_t timeout)
{
	(void)num_of_epaddr;
	(void)array_of_epaddr;
	(void)array_of_epaddr_mask;
	(void)array_of_errors;
	(void)mode;
	(void)timeout;
	if (!ep)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_disconnect: NULL");
	/* TODO(ep) */
	return shim_report(ep, PSM2_INTERNAL_ERR,
			   "ep_disconnect: not implemented yet");
}

SHIM_API psm2_error_t psm2_ep_disconnect(psm2_ep_t ep, int num_of_epaddr,
					 psm2_epaddr_t *array_of_epaddr,
					 const int *array_of_epaddr_mask,
					 psm2_error_t *array_of_errors,
					 int64_t timeout)
{
	return psm2_ep_disconnect2(ep, num_of_epaddr, array_of_epaddr,
				   array_of_epaddr_mask, array_of_errors,
				   PSM2_EP_DISCONNECT_GRACEFUL, timeout);
}

SHIM_API psm2_error_t psm2_poll(psm2_ep_t ep)
{
	int r;

	if (!ep)
		return shim_report(NULL, PSM2_PARAM_ERR, "poll: NULL");
	if (!ep->mq)
		return PSM2_OK_NO_PROGRESS;
	r = shim_mq_progress(ep->mq);
	if (r < 0)
		return shim_report(ep, shim_error_from_errno(r), "poll: device");
	return r ? PSM2_OK : PSM2_OK_NO_PROGRESS;
}

SHIM_API void psm2_epaddr_setlabel(psm2_epaddr_t epaddr, const char *label)
{
	(void)epaddr;	/* labels only decorate PSM2's own messages */
	(void)label;
}

SHIM_API void psm2_epaddr_setctxt(psm2_epaddr_t epaddr, void *ctxt)
{
	if (epaddr)
		epaddr->user_ctxt = ctxt;
}

SHIM_API void *psm2_epaddr_getctxt(psm2_epaddr_t epaddr)
{
	return epaddr ? epaddr->user_ctxt : NULL;
}

SHIM_API psm2_error_t psm2_epaddr_to_epid(psm2_epaddr_t epaddr,
					  psm2_epid_t *epid)
{
	if (!epaddr || !epid)
		return shim_report(NULL, PSM2_PARAM_ERR, "epaddr_to_epid: NULL");
	*epid = epaddr->epid;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_ep_query(int *num_of_epinfo,
				    psm2_epinfo_t *array_of_epinfo)
{
	(void)array_of_epinfo;
	if (!num_of_epinfo)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_query: NULL");
	/* TODO(ep): list open endpoints */
	return shim_report(NULL, PSM2_INTERNAL_ERR, "ep_query: not implemented");
}

SHIM_API psm2_error_t psm2_ep_epid_lookup2(psm2_ep_t ep, psm2_epid_t epid,
					   psm2_epconn_t *epconn)
{
	(void)epid;
	if (!ep || !epconn)
		return shim_report(ep, PSM2_PARAM_ERR, "epid_lookup: NULL");
	/* TODO(ep): search the endpoint's peer table */
	return shim_report(ep, PSM2_INTERNAL_ERR,
			   "epid_lookup: not implemented yet");
}

SHIM_API psm2_error_t psm2_ep_epid_lookup(psm2_epid_t epid,
					  psm2_epconn_t *epconn)
{
	(void)epid;
	if (!epconn)
		return shim_report(NULL, PSM2_PARAM_ERR, "epid_lookup: NULL");
	/* TODO(ep): search every open endpoint */
	return shim_report(NULL, PSM2_INTERNAL_ERR,
			   "epid_lookup: not implemented yet");
}

SHIM_API psm2_error_t psm2_mq_init(psm2_ep_t ep, uint64_t ignored,
				   const struct psm2_optkey *opts, int numopts,
				   psm2_mq_t *mq)
{
	(void)ignored;
	if (!ep || !mq || numopts < 0 || (numopts && !opts))
		return shim_report(ep, PSM2_PARAM_ERR, "mq_init: bad args");
	/* TODO(ep): shim_mq_create over the endpoint's hfictx transport */
	return shim_report(ep, PSM2_INTERNAL_ERR, "mq_init: not implemented");
}

SHIM_API psm2_error_t psm2_mq_finalize(psm2_mq_t mq)
{
	if (!mq)
		return shim_report(NULL, PSM2_PARAM_ERR, "mq_finalize: NULL");
	shim_mq_destroy(mq);
	return PSM2_OK;
}

static uint32_t debug_mask;

SHIM_API psm2_error_t psm2_setopt(psm2_component_t component,
				  const void *obj, int optname,
				  const void *optval, uint64_t optlen)
{
	if (!optval)
		return shim_report(NULL, PSM2_PARAM_ERR, "setopt: NULL");
	switch (component) {
	case PSM2_COMPONENT_CORE:
		if (optname == PSM2_CORE_OPT_DEBUG &&
		    optlen >= sizeof(uint32_t)) {
			debug_mask = *(const uint32_t *)optval;
			return PSM2_OK;
		}
		break;
	case PSM2_COMPONENT_MQ:
		if (obj && optlen >= sizeof(uint32_t))
			return psm2_mq_setopt((psm2_mq_t)obj, optname, optval);
		break;
	default:
		break;
	}
	return shim_report(NULL, PSM2_PARAM_ERR, "setopt: option %#x", optname);
}

SHIM_API psm2_error_t psm2_getopt(psm2_component_t component,
				  const void *obj, int optname, void *optval,
				  uint64_t *optlen)
{
	if (!optval || !optlen)
		return shim_report(NULL, PSM2_PARAM_ERR, "getopt: NULL");
	switch (component) {
	case PSM2_COMPONENT_CORE:
		if (optname == PSM2_CORE_OPT_DEBUG &&
		    *optlen >= sizeof(uint32_t)) {
			*(uint32_t *)optval = debug_mask;
			*optlen = sizeof(uint32_t);
			return PSM2_OK;
		}
		break;
	case PSM2_COMPONENT_MQ:
		if (obj && *optlen >= sizeof(uint32_t)) {
			*optlen = sizeof(uint32_t);
			return psm2_mq_getopt((psm2_mq_t)obj, optname, optval);
		}
		break;
	default:
		break;
	}
	return shim_report(NULL, PSM2_PARAM_ERR, "getopt: option %#x", optname);
}

SHIM_API psm2_error_t psm2_info_query(psm2_info_query_t q, void *out,
				      size_t nargs, psm2_info_query_arg_t args[])
{
	(void)nargs;
	(void)args;
	if (!out || q >= PSM2_INFO_QUERY_LAST)
		return PSM2_IQ_INVALID_QUERY;
	/* TODO(ep): units/contexts from discovery, thresholds from the MQ */
	return shim_report(NULL, PSM2_INTERNAL_ERR,
			   "info_query: not implemented yet");
}

/* ---- active messages: TODO(am), used by libfabric only ---- */

SHIM_API psm2_error_t psm2_am_register_handlers(
	psm2_ep_t ep, const psm2_am_handler_fn_t *handlers, int num_handlers,
	int *handlers_idx)
{
	(void)handlers;
	(void)num_handlers;
	(void)handlers_idx;
	return shim_report(ep, PSM2_INTERNAL_ERR, "am: not implemented yet");
}

SHIM_API psm2_error_t psm2_am_register_handlers_2(
	psm2_ep_t ep, const psm2_am_handler_2_fn_t *handlers, int num_handlers,
	void **hctx, int *handlers_idx)
{
	(void)handlers;
	(void)num_handlers;
	(void)hctx;
	(void)handlers_idx;
	return shim_report(ep, PSM2_INTERNAL_ERR, "am: not implemented yet");
}

SHIM_API void psm2_am_unregister_handlers(psm2_ep_t ep)
{
	(void)ep;	/* nothing registered yet */
}

SHIM_API psm2_error_t psm2_am_request_short(
	psm2_epaddr_t epaddr, psm2_handler_t handler, psm2_amarg_t *args,
	int nargs, void *src, size_t len, int flags,
	psm2_am_completion_fn_t completion_fn, void *completion_ctxt)
{
	(void)handler;
	(void)args;
	(void)nargs;
	(void)src;
	(void)len;
	(void)flags;
	(void)completion_fn;
	(void)completion_ctxt;
	return shim_report(epaddr ? epaddr->ep : NULL, PSM2_INTERNAL_ERR,
			   "am: not implemented yet");
}

SHIM_API psm2_error_t psm2_am_reply_short(
	psm2_am_token_t token, psm2_handler_t handler, psm2_amarg_t *args,
	int nargs, void *src, size_t len, int flags,
	psm2_am_completion_fn_t completion_fn, void *completion_ctxt)
{
	(void)token;
	(void)handler;
	(void)args;
	(void)nargs;
	(void)src;
	(void)len;
	(void)flags;
	(void)completion_fn;
	(void)completion_ctxt;
	return shim_report(NULL, PSM2_INTERNAL_ERR, "am: not implemented yet");
}

SHIM_API psm2_error_t psm2_am_get_source(psm2_am_token_t token,
					 psm2_epaddr_t *epaddr_out)
{
	(void)token;
	(void)epaddr_out;
	return shim_report(NULL, PSM2_INTERNAL_ERR, "am: not implemented yet");
}

SHIM_API psm2_error_t psm2_am_get_parameters(
	psm2_ep_t ep, struct psm2_am_parameters *parameters,
	size_t sizeof_parameters_in, size_t *sizeof_parameters_out)
{
	(void)parameters;
	(void)sizeof_parameters_in;
	(void)sizeof_parameters_out;
	return shim_report(ep, PSM2_INTERNAL_ERR, "am: not implemented yet");
}
