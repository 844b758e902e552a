// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* A ready-to-use driver-ops fd with a bound MR, and its teardown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static void ctx_reset(struct tl_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->uverbs_fd = -1;
	ctx->ops_fd = -1;
}

/* Keeps the first error. */
static void first_error(int *err, int ret)
{
	if (ret < 0 && !*err)
		*err = ret;
}

int tl_ctx_close(struct tl_ctx *ctx)
{
	int err = 0;

	/* Reverse order of creation: a bound MR cannot be deregistered. */
	if (ctx->have_binding)
		first_error(&err, drvops_unbind(ctx->uverbs_fd, ctx->binding));
	if (ctx->have_mr)
		first_error(&err, drvops_dereg_mr(ctx->uverbs_fd, ctx->mr));
	if (ctx->have_pd)
		first_error(&err, drvops_dealloc_pd(ctx->uverbs_fd, ctx->pd));
	if (ctx->ops_fd >= 0 && close(ctx->ops_fd))
		first_error(&err, -errno);
	if (ctx->uverbs_fd >= 0 && close(ctx->uverbs_fd))
		first_error(&err, -errno);
	free(ctx->buf);
	ctx_reset(ctx);
	return err;
}

static int setup_mr(struct tl_ctx *ctx, size_t buf_len)
{
	/* aligned_alloc wants a multiple of the alignment. */
	size_t alloc_len = (buf_len + 4095) & ~(size_t)4095;
	int ret;

	ctx->buf = aligned_alloc(4096, alloc_len);
	if (!ctx->buf)
		return -ENOMEM;
	memset(ctx->buf, 0, alloc_len);
	ctx->len = buf_len;

	ret = drvops_alloc_pd(ctx->uverbs_fd, &ctx->pd);
	if (ret)
		return ret;
	ctx->have_pd = true;
	ret = drvops_reg_mr(ctx->uverbs_fd, ctx->pd, ctx->buf, buf_len,
			    IB_UVERBS_ACCESS_LOCAL_WRITE, &ctx->mr, NULL, NULL);
	if (ret)
		return ret;
	ctx->have_mr = true;
	ret = drvops_bind(ctx->uverbs_fd, ctx->ops_fd, DRVOPS_OBJ_MR, ctx->mr,
			  &ctx->binding);
	if (ret)
		return ret;
	ctx->have_binding = true;
	return 0;
}

int tl_ctx_open(struct tl_ctx *ctx, enum tl_device_kind kind,
		const char *name, uint32_t version, size_t buf_len)
{
	int ret;

	ctx_reset(ctx);
	ret = tl_open_device(kind);
	if (ret < 0)
		return ret;
	ctx->uverbs_fd = ret;

	ret = tl_get_fd(ctx->uverbs_fd, name, version);
	if (ret < 0)
		goto fail;
	ctx->ops_fd = ret;
	ctx->version = version;

	if (buf_len) {
		ret = setup_mr(ctx, buf_len);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	tl_ctx_close(ctx);
	return ret;
}
