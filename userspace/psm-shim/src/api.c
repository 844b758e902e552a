// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The core PSM2 calls: library life cycle, capabilities, options, epid
 * helpers (the endpoint calls and info_query are in ep.c, active messages
 * in am_api.c). Errors go through the error handler; nothing aborts.
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

bool shim_initialized(void)
{
	return init_count > 0;
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

/* epid layout: ep.h. */
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

/* The endpoint calls are in ep.c. */

SHIM_API psm2_error_t psm2_map_nid_hostname(int num, const uint64_t *nids,
					    const char **hostnames)
{
	/* Names only make error messages nicer; we keep none. */
	if (num < 0 || (num && (!nids || !hostnames)))
		return shim_report(NULL, PSM2_PARAM_ERR, "map_nid_hostname");
	return PSM2_OK;
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

/* Active messages: am.c. */
