// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Error handling as PSM2 defines it: an error goes to the handler of its
 * endpoint (or the global one), whose verdict the call returns. Our
 * default action prints the error and returns it. It never exits or
 * aborts: the caller (an MPI) decides what a failed device means.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ep.h"
#include "shim.h"

struct psm2_error_token {
	psm2_ep_t ep;
	psm2_error_t error;
	const char *string;
};

static psm2_ep_errhandler_t global_handler = PSM2_ERRHANDLER_DEFAULT;

psm2_ep_errhandler_t shim_global_errhandler(void)
{
	return global_handler;
}

static const char *const error_strings[PSM2_ERROR_LAST] = {
	[PSM2_OK] = "Success",
	[PSM2_OK_NO_PROGRESS] = "Success, but nothing progressed",
	[PSM2_PARAM_ERR] = "Invalid parameter",
	[PSM2_NO_MEMORY] = "Out of memory",
	[PSM2_INIT_NOT_INIT] = "The library is not initialised",
	[PSM2_INIT_BAD_API_VERSION] = "Incompatible API version",
	[PSM2_NO_AFFINITY] = "No CPU affinity could be set",
	[PSM2_INTERNAL_ERR] = "Internal error",
	[PSM2_SHMEM_SEGMENT_ERR] = "Shared memory segment error",
	[PSM2_OPT_READONLY] = "Option is read-only",
	[PSM2_TIMEOUT] = "Operation timed out",
	[PSM2_TOO_MANY_ENDPOINTS] = "Too many endpoints",
	[PSM2_IS_FINALIZED] = "The library has been finalised",
	[PSM2_EP_WAS_CLOSED] = "Endpoint was closed",
	[PSM2_EP_NO_DEVICE] = "No HFI device found",
	[PSM2_EP_UNIT_NOT_FOUND] = "No such HFI unit",
	[PSM2_EP_DEVICE_FAILURE] = "HFI device failure",
	[PSM2_EP_CLOSE_TIMEOUT] = "Endpoint close timed out",
	[PSM2_EP_NO_PORTS_AVAIL] = "No free context on the HFI",
	[PSM2_EP_NO_NETWORK] = "No network (port not active)",
	[PSM2_EP_INVALID_UUID_KEY] = "Invalid job key",
	[PSM2_EP_NO_RESOURCES] = "Out of endpoint resources",
	[PSM2_EPID_UNKNOWN] = "Unknown endpoint id",
	[PSM2_EPID_UNREACHABLE] = "Endpoint unreachable",
	[PSM2_EPID_INVALID_NODE] = "Invalid node in endpoint id",
	[PSM2_EPID_INVALID_MTU] = "Endpoint MTU mismatch",
	[PSM2_EPID_INVALID_UUID_KEY] = "Endpoint has another job key",
	[PSM2_EPID_INVALID_VERSION] = "Endpoint runs an incompatible version",
	[PSM2_EPID_INVALID_CONNECT] = "Invalid connection request",
	[PSM2_EPID_ALREADY_CONNECTED] = "Endpoint already connected",
	[PSM2_EPID_NETWORK_ERROR] = "Network error talking to endpoint",
	[PSM2_EPID_INVALID_PKEY] = "Endpoint has another partition key",
	[PSM2_EPID_PATH_RESOLUTION] = "Path resolution failed",
	[PSM2_MQ_NO_COMPLETIONS] = "No completions yet",
	[PSM2_MQ_TRUNCATION] = "Message truncated",
	[PSM2_AM_INVALID_REPLY] = "Invalid active-message reply",
	[PSM2_IQ_INVALID_QUERY] = "Invalid info query",
};

SHIM_API const char *psm2_error_get_string(psm2_error_t error)
{
	if ((unsigned)error < PSM2_ERROR_LAST && error_strings[error])
		return error_strings[error];
	return "Unknown error";
}

static psm2_error_t default_action(const struct psm2_error_token *t)
{
	fprintf(stderr, "psm-shim: %s\n", t->string);
	return t->error;
}

psm2_error_t shim_report(psm2_ep_t ep, psm2_error_t err, const char *fmt, ...)
{
	char msg[PSM2_ERRSTRING_MAXLEN];
	int n;
	struct psm2_error_token token;
	psm2_ep_errhandler_t h;
	va_list ap;

	if (err == PSM2_OK || err == PSM2_OK_NO_PROGRESS ||
	    err == PSM2_MQ_NO_COMPLETIONS)
		return err;
	h = ep ? ep->errhandler : global_handler;
	if (h == PSM2_ERRHANDLER_NO_HANDLER)
		return err;
	/* "<what the code means>: <what happened>", cut to the PSM2 limit */
	n = snprintf(msg, sizeof(msg), "%s: ", psm2_error_get_string(err));
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	token.ep = ep;
	token.error = err;
	token.string = msg;
	if (h == PSM2_ERRHANDLER_DEFAULT)
		return default_action(&token);
	return h(ep, err, msg, &token);
}

bool shim_debug_enabled(void)
{
	static int enabled = -1;

	if (enabled < 0) {
		const char *s = getenv("PSM2_SHIM_DEBUG");

		enabled = s && *s && strcmp(s, "0") != 0;
	}
	return enabled;
}

void shim_debug(const char *fmt, ...)
{
	va_list ap;

	if (!shim_debug_enabled())
		return;
	fprintf(stderr, "psm-shim[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

SHIM_API psm2_error_t psm2_error_register_handler(psm2_ep_t ep,
						  const psm2_ep_errhandler_t h)
{
	if (!h)
		return PSM2_PARAM_ERR;
	if (ep)
		ep->errhandler = h;
	else
		global_handler = h;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_error_defer(psm2_error_token_t token)
{
	if (!token)
		return PSM2_PARAM_ERR;
	return default_action(token);
}
