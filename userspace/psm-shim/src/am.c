// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Active messages (see am.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "am.h"
#include "mq.h"
#include "shim.h"

struct shim_am_handler {
	psm2_am_handler_fn_t fn;	/* one of the two */
	psm2_am_handler_2_fn_t fn2;
	void *hctx;
};

struct shim_am {
	struct shim_am_handler h[SHIM_AM_MAX_HANDLERS];
	int n;
};

/* What a handler's token points to: valid while the handler runs. */
struct shim_am_token {
	psm2_mq_t mq;
	psm2_epaddr_t src;
	bool request;
	bool replied;
};

psm2_error_t shim_am_register(psm2_mq_t mq, const psm2_am_handler_fn_t *fn,
			      const psm2_am_handler_2_fn_t *fn2, int n,
			      void **hctx, int *idx)
{
	struct shim_am *am;
	psm2_error_t err = PSM2_OK;

	if (n < 0 || (n && !idx) || (n && !fn && !fn2))
		return PSM2_PARAM_ERR;
	shim_mq_lock(mq);
	am = shim_mq_am(mq);
	if (!am) {
		am = calloc(1, sizeof(*am));
		if (am)
			shim_mq_set_am(mq, am, free);
	}
	if (!am) {
		err = PSM2_NO_MEMORY;
	} else if (am->n + n > SHIM_AM_MAX_HANDLERS) {
		err = PSM2_EP_NO_RESOURCES;
	} else {
		for (int i = 0; i < n; i++) {
			struct shim_am_handler *h = &am->h[am->n];

			h->fn = fn ? fn[i] : NULL;
			h->fn2 = fn2 ? fn2[i] : NULL;
			h->hctx = hctx ? hctx[i] : NULL;
			idx[i] = am->n++;
		}
	}
	shim_mq_unlock(mq);
	return err;
}

void shim_am_unregister(psm2_mq_t mq)
{
	struct shim_am *am;

	shim_mq_lock(mq);
	am = shim_mq_am(mq);
	if (am)
		am->n = 0;
	shim_mq_unlock(mq);
}

void shim_am_parameters(psm2_mq_t mq, struct psm2_am_parameters *p)
{
	uint32_t bytes = (uint32_t)shim_mq_am_max_bytes(mq) -
			 SHIM_AM_MAX_NARGS * sizeof(psm2_amarg_t);

	p->max_handlers = SHIM_AM_MAX_HANDLERS;
	p->max_nargs = SHIM_AM_MAX_NARGS;
	p->max_request_short = bytes;
	p->max_reply_short = bytes;
}

static psm2_error_t am_send(psm2_mq_t mq, psm2_epaddr_t peer, bool reply,
			    psm2_handler_t handler, const psm2_amarg_t *args,
			    int nargs, const void *src, size_t len,
			    psm2_am_completion_fn_t done, void *done_ctx)
{
	struct psm2_am_parameters p;
	int r;

	shim_am_parameters(mq, &p);
	if (!peer || nargs < 0 || nargs > SHIM_AM_MAX_NARGS ||
	    (nargs && !args) || (len && !src) ||
	    len > (reply ? p.max_reply_short : p.max_request_short))
		return PSM2_PARAM_ERR;
	r = shim_mq_am_send(mq, peer, reply, handler, args, (uint32_t)nargs,
			    src, len);
	if (r)
		return shim_error_from_errno(r);
	/* Copied: src is the caller's again (ASYNC or not). */
	if (done)
		done(done_ctx);
	return PSM2_OK;
}

psm2_error_t shim_am_request(psm2_mq_t mq, psm2_epaddr_t peer,
			     psm2_handler_t handler, const psm2_amarg_t *args,
			     int nargs, const void *src, size_t len,
			     psm2_am_completion_fn_t done, void *done_ctx)
{
	return am_send(mq, peer, false, handler, args, nargs, src, len, done,
		       done_ctx);
}

psm2_error_t shim_am_reply(psm2_am_token_t token, psm2_handler_t handler,
			   const psm2_amarg_t *args, int nargs,
			   const void *src, size_t len,
			   psm2_am_completion_fn_t done, void *done_ctx)
{
	struct shim_am_token *t = token;
	psm2_error_t err;

	/* Only from inside a request's handler, once. */
	if (!t || !t->request || t->replied)
		return PSM2_PARAM_ERR;
	err = am_send(t->mq, t->src, true, handler, args, nargs, src, len,
		      done, done_ctx);
	if (!err)
		t->replied = true;
	return err;
}

psm2_epaddr_t shim_am_source(psm2_am_token_t token)
{
	struct shim_am_token *t = token;

	return t ? t->src : NULL;
}

void shim_am_deliver(psm2_mq_t mq, psm2_epaddr_t src, bool request,
		     uint32_t handler, uint32_t nargs, const void *payload,
		     size_t len)
{
	struct shim_am *am = shim_mq_am(mq);
	psm2_amarg_t args[SHIM_AM_MAX_NARGS];
	struct shim_am_token token = { mq, src, request, false };
	size_t alen = (size_t)nargs * sizeof(args[0]);
	struct shim_am_handler *h;
	void *data;

	/* Nobody registered that index, or malformed: dropped. */
	if (!am || handler >= (uint32_t)am->n || nargs > SHIM_AM_MAX_NARGS ||
	    len < alen)
		return;
	h = &am->h[handler];
	if (alen)
		memcpy(args, payload, alen);
	data = len > alen ? (uint8_t *)payload + alen : NULL;
	if (h->fn2)
		h->fn2(&token, args, (int)nargs, data, (uint32_t)(len - alen),
		       h->hctx);
	else if (h->fn)
		h->fn(&token, args, (int)nargs, data, (uint32_t)(len - alen));
}
