/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * psm-shim: active messages of the PSM2 interface, laid out as the public
 * PSM2 API (see psm2.h). libfabric's psm2 provider links against these;
 * Open MPI's MTL does not. Not implemented yet: every call returns an error.
 */
#ifndef PSM2_AM_H
#define PSM2_AM_H

#include <stddef.h>
#include <stdint.h>
#include <psm2.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t psm2_handler_t;	/* index of a registered handler */
typedef void *psm2_am_token_t;		/* names a request to reply to */

#define PSM2_AM_FLAG_NONE 0
#define PSM2_AM_FLAG_ASYNC 1		/* src need not stay valid */
#define PSM2_AM_FLAG_NOREPLY 2		/* the handler will not reply */

/* One 64-bit argument, viewable as words of 16 or 32 bits. */
typedef struct psm2_amarg {
	union {
		struct {
			uint16_t u16w3;
			uint16_t u16w2;
			uint16_t u16w1;
			uint16_t u16w0;
		};
		struct {
			uint32_t u32w1;
			uint32_t u32w0;
		};
		uint64_t u64w0;
		uint64_t u64;
	};
} psm2_amarg_t;

typedef int (*psm2_am_handler_fn_t)(psm2_am_token_t token, psm2_amarg_t *args,
				    int nargs, void *src, uint32_t len);
typedef int (*psm2_am_handler_2_fn_t)(psm2_am_token_t token,
				      psm2_amarg_t *args, int nargs, void *src,
				      uint32_t len, void *hctx);
typedef void (*psm2_am_completion_fn_t)(void *context);

psm2_error_t psm2_am_register_handlers(psm2_ep_t ep,
				       const psm2_am_handler_fn_t *handlers,
				       int num_handlers, int *handlers_idx);
psm2_error_t psm2_am_register_handlers_2(psm2_ep_t ep,
					 const psm2_am_handler_2_fn_t *handlers,
					 int num_handlers, void **hctx,
					 int *handlers_idx);
void psm2_am_unregister_handlers(psm2_ep_t ep);

psm2_error_t psm2_am_request_short(psm2_epaddr_t epaddr, psm2_handler_t handler,
				   psm2_amarg_t *args, int nargs, void *src,
				   size_t len, int flags,
				   psm2_am_completion_fn_t completion_fn,
				   void *completion_ctxt);
psm2_error_t psm2_am_reply_short(psm2_am_token_t token, psm2_handler_t handler,
				 psm2_amarg_t *args, int nargs, void *src,
				 size_t len, int flags,
				 psm2_am_completion_fn_t completion_fn,
				 void *completion_ctxt);
psm2_error_t psm2_am_get_source(psm2_am_token_t token,
				psm2_epaddr_t *epaddr_out);

/* Limits of this implementation. */
struct psm2_am_parameters {
	uint32_t max_handlers;
	uint32_t max_nargs;
	uint32_t max_request_short;
	uint32_t max_reply_short;
};

psm2_error_t psm2_am_get_parameters(psm2_ep_t ep,
				    struct psm2_am_parameters *parameters,
				    size_t sizeof_parameters_in,
				    size_t *sizeof_parameters_out);

#ifdef __cplusplus
}
#endif

#endif /* PSM2_AM_H */
