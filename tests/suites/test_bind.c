// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * DRVOPS_METHOD_BIND / UNBIND and the uverbs IDR they share: bound objects
 * cannot be destroyed (EBUSY) until unbound, by UNBIND, by closing the
 * driver-ops fd or by closing the uverbs fd; every errno documented in
 * uapi/rdma/drvops_ioctl.h for BIND and UNBIND; and the debugfs
 * "bindings" counter, which every test leaves as it found it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

#define PAGE 4096UL
#define BUF_LEN (4 * PAGE)

/* ---- helpers ------------------------------------------------------- */

static long bindings_now(void)
{
	struct tl_stats st;

	return tl_read_stats(&st) ? -1 : st.bindings;
}

/*
 * Snapshot the counter at the start of a test and check it at the end,
 * after everything the test made is gone.
 */
#define BINDINGS_BEGIN()                                                     \
	long _bindings0 = bindings_now();                                    \
	CU_ASSERT_FATAL(_bindings0 >= 0)
#define BINDINGS_DELTA() (bindings_now() - _bindings0)
#define BINDINGS_END() CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0)

/* A uverbs fd with context, a driver-ops fd, and a PD, MR and CQ. */
struct objs {
	int uv;
	int ops;
	uint32_t pd, mr, cq;
	bool have_pd, have_mr, have_cq;
	uint8_t *buf;
};

static int objs_open(struct objs *o, enum tl_device_kind kind)
{
	const char *name = kind == TL_DEVICE_LEGACY ?
			   DRVOPS_GENERIC_LEGACY_NAME : DRVOPS_GENERIC_NAME;
	int ret;

	memset(o, 0, sizeof(*o));
	o->uv = -1;
	o->ops = -1;
	o->buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (o->buf == MAP_FAILED) {
		o->buf = NULL;
		return -ENOMEM;
	}
	memset(o->buf, 0, BUF_LEN);
	ret = tl_open_device(kind);
	if (ret < 0)
		return ret;
	o->uv = ret;
	ret = tl_get_fd(o->uv, name, 1);
	if (ret < 0)
		return ret;
	o->ops = ret;
	ret = drvops_alloc_pd(o->uv, &o->pd);
	if (ret)
		return ret;
	o->have_pd = true;
	ret = drvops_reg_mr(o->uv, o->pd, o->buf, BUF_LEN,
			    IB_UVERBS_ACCESS_LOCAL_WRITE, &o->mr, NULL, NULL);
	if (ret)
		return ret;
	o->have_mr = true;
	ret = drvops_create_cq(o->uv, 16, &o->cq);
	if (ret)
		return ret;
	o->have_cq = true;
	return 0;
}

/* Destroys what is left; returns the first error. */
static int objs_close(struct objs *o)
{
	int err = 0, ret;

	if (o->have_mr && (ret = drvops_dereg_mr(o->uv, o->mr)) && !err)
		err = ret;
	if (o->have_cq && (ret = drvops_destroy_cq(o->uv, o->cq)) && !err)
		err = ret;
	if (o->have_pd && (ret = drvops_dealloc_pd(o->uv, o->pd)) && !err)
		err = ret;
	if (o->ops >= 0 && close(o->ops) && !err)
		err = -errno;
	if (o->uv >= 0 && close(o->uv) && !err)
		err = -errno;
	if (o->buf)
		munmap(o->buf, BUF_LEN);
	memset(o, 0, sizeof(*o));
	o->uv = o->ops = -1;
	return err;
}

static uint32_t handle_of(const struct objs *o, enum drvops_obj_kind k)
{
	return k == DRVOPS_OBJ_PD ? o->pd : k == DRVOPS_OBJ_MR ? o->mr : o->cq;
}

static int destroy(struct objs *o, enum drvops_obj_kind k)
{
	int ret;

	switch (k) {
	case DRVOPS_OBJ_PD:
		ret = drvops_dealloc_pd(o->uv, o->pd);
		if (!ret)
			o->have_pd = false;
		return ret;
	case DRVOPS_OBJ_MR:
		ret = drvops_dereg_mr(o->uv, o->mr);
		if (!ret)
			o->have_mr = false;
		return ret;
	default:
		ret = drvops_destroy_cq(o->uv, o->cq);
		if (!ret)
			o->have_cq = false;
		return ret;
	}
}

/*
 * A BIND request built by hand: any of PD/MR/CQ (NULL: left out), and
 * FLAGS when flags is not NULL.
 */
static int bind_raw(int uv, int ops, const uint32_t *pd, const uint32_t *mr,
		    const uint32_t *cq, const uint32_t *flags, uint32_t *out)
{
	struct drvops_req req;

	drvops_req_init(&req, DRVOPS_OBJECT_BINDING, DRVOPS_METHOD_BIND);
	drvops_req_new_idr(&req, DRVOPS_ATTR_BIND_HANDLE, out);
	drvops_req_fd(&req, DRVOPS_ATTR_BIND_DRVOPS_FD, ops);
	if (pd)
		drvops_req_idr(&req, DRVOPS_ATTR_BIND_PD, *pd);
	if (mr)
		drvops_req_idr(&req, DRVOPS_ATTR_BIND_MR, *mr);
	if (cq)
		drvops_req_idr(&req, DRVOPS_ATTR_BIND_CQ, *cq);
	if (flags)
		drvops_req_in_u32(&req, DRVOPS_ATTR_BIND_FLAGS, *flags);
	return drvops_req_exec(uv, &req);
}

static int copy_into_mr(const struct objs *o, const void *src, size_t len,
			uint64_t off)
{
	return tl_copy(o->ops, tl_user_buf(src), tl_mr_buf(o->mr, off), len,
		       off);
}

static const char *const kind_name[] = { "PD", "MR", "CQ" };

/* ---- bound objects cannot be destroyed -------------------------------- */

static void bound_blocks_destroy(enum drvops_obj_kind k)
{
	struct objs o;
	uint32_t b;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	/* A PD with an MR on it is busy anyway: free the PD first. */
	if (k == DRVOPS_OBJ_PD)
		TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_MR));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, k, handle_of(&o, k), &b));
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 1);
	TL_ASSERT_ERR(destroy(&o, k), EBUSY);
	TL_ASSERT_ERR(destroy(&o, k), EBUSY);
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	TL_ASSERT_OK(destroy(&o, k));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

static void test_bound_pd_dealloc_ebusy(void)
{
	bound_blocks_destroy(DRVOPS_OBJ_PD);
}

static void test_bound_mr_dereg_ebusy(void)
{
	bound_blocks_destroy(DRVOPS_OBJ_MR);
}

static void test_bound_cq_destroy_ebusy(void)
{
	bound_blocks_destroy(DRVOPS_OBJ_CQ);
}

/* Bound means "not destroyable", not "not usable": a bound PD takes MRs. */
static void test_bound_pd_still_usable(void)
{
	uint32_t b, mr2;
	struct objs o;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_PD, o.pd, &b));
	TL_ASSERT_OK(drvops_reg_mr(o.uv, o.pd, o.buf, PAGE, 0, &mr2, NULL,
				   NULL));
	TL_ASSERT_OK(drvops_dereg_mr(o.uv, mr2));
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

static void test_close_ops_fd_unbinds(void)
{
	uint32_t bpd, bmr, bcq;
	struct objs o;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_PD, o.pd, &bpd));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &bmr));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_CQ, o.cq, &bcq));
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 3);
	TL_ASSERT_ERR(destroy(&o, DRVOPS_OBJ_MR), EBUSY);

	CU_ASSERT_EQUAL(close(o.ops), 0);
	o.ops = -1;
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_MR));
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_CQ));
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_PD));
	/* The binding handles are still valid, inert: UNBIND succeeds once. */
	TL_ASSERT_OK(drvops_unbind(o.uv, bpd));
	TL_ASSERT_OK(drvops_unbind(o.uv, bmr));
	TL_ASSERT_OK(drvops_unbind(o.uv, bcq));
	TL_ASSERT_ERR(drvops_unbind(o.uv, bmr), ENOENT);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* Closing the driver-ops fd, then UNBIND before destroying the object. */
static void test_unbind_after_ops_fd_closed_keeps_object(void)
{
	struct objs o;
	uint32_t b;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &b));
	CU_ASSERT_EQUAL(close(o.ops), 0);
	o.ops = -1;
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	/* The MR itself is untouched and can be destroyed normally. */
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_MR));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* ---- BIND errnos ------------------------------------------------------- */

static void test_bind_twice_ealready(void)
{
	enum drvops_obj_kind k;
	uint32_t b[3], again = 0;
	struct objs o;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	for (k = DRVOPS_OBJ_PD; k <= DRVOPS_OBJ_CQ; k++) {
		TL_ASSERT_OK(drvops_bind(o.uv, o.ops, k, handle_of(&o, k),
					 &b[k]));
		TL_ASSERT_ERR(drvops_bind(o.uv, o.ops, k, handle_of(&o, k),
					  &again), EALREADY);
		if (BINDINGS_DELTA() != (long)k + 1)
			fprintf(stderr, "\n  %s: bindings delta %ld\n",
				kind_name[k], BINDINGS_DELTA());
		CU_ASSERT_EQUAL(BINDINGS_DELTA(), (long)k + 1);
	}
	/* After UNBIND the same object binds again. */
	TL_ASSERT_OK(drvops_unbind(o.uv, b[DRVOPS_OBJ_MR]));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr,
				 &b[DRVOPS_OBJ_MR]));
	for (k = DRVOPS_OBJ_PD; k <= DRVOPS_OBJ_CQ; k++)
		TL_ASSERT_OK(drvops_unbind(o.uv, b[k]));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

static void test_same_mr_two_ops_fds(void)
{
	uint32_t b1, b2;
	struct objs o;
	int ops2;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	ops2 = tl_get_fd(o.uv, DRVOPS_GENERIC_NAME, 2);
	TL_ASSERT_OK(ops2);
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &b1));
	TL_ASSERT_OK(drvops_bind(o.uv, ops2, DRVOPS_OBJ_MR, o.mr, &b2));
	CU_ASSERT_NOT_EQUAL(b1, b2);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 2);
	TL_ASSERT_ERR(destroy(&o, DRVOPS_OBJ_MR), EBUSY);
	TL_ASSERT_OK(drvops_unbind(o.uv, b1));
	TL_ASSERT_ERR(destroy(&o, DRVOPS_OBJ_MR), EBUSY);
	TL_ASSERT_OK(drvops_unbind(o.uv, b2));
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_MR));
	close(ops2);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* Handles of another uverbs fd are never visible: no such object here. */
static void test_handle_of_other_uverbs_fd_enoent(void)
{
	struct objs a;
	uint32_t b = 0;
	int uv2, ops2;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&a, TL_DEVICE_CURRENT));
	/* A second open of the same device: its own context, no objects. */
	uv2 = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uv2);
	ops2 = tl_get_fd(uv2, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(ops2);
	TL_ASSERT_ERR(drvops_bind(uv2, ops2, DRVOPS_OBJ_PD, a.pd, &b), ENOENT);
	TL_ASSERT_ERR(drvops_bind(uv2, ops2, DRVOPS_OBJ_MR, a.mr, &b), ENOENT);
	TL_ASSERT_ERR(drvops_bind(uv2, ops2, DRVOPS_OBJ_CQ, a.cq, &b), ENOENT);
	/* And a handle nobody has, on the first fd. */
	TL_ASSERT_ERR(drvops_bind(a.uv, a.ops, DRVOPS_OBJ_MR, 0x7ffff000, &b),
		      ENOENT);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	/* Nothing was bound on the first fd either. */
	TL_ASSERT_OK(destroy(&a, DRVOPS_OBJ_MR));
	close(ops2);
	close(uv2);
	CU_ASSERT_EQUAL(objs_close(&a), 0);
	BINDINGS_END();
}

static void test_ops_fd_of_other_context_exdev(void)
{
	struct objs a;
	uint32_t b = 0;
	int uv2, ops2, uv3, ops3;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&a, TL_DEVICE_CURRENT));
	/* Same device, another context. */
	uv2 = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uv2);
	ops2 = tl_get_fd(uv2, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(ops2);
	/* Another device. */
	uv3 = tl_open_device(TL_DEVICE_LEGACY);
	TL_ASSERT_OK(uv3);
	ops3 = tl_get_fd(uv3, DRVOPS_GENERIC_LEGACY_NAME, 1);
	TL_ASSERT_OK(ops3);

	TL_ASSERT_ERR(drvops_bind(a.uv, ops2, DRVOPS_OBJ_MR, a.mr, &b), EXDEV);
	TL_ASSERT_ERR(drvops_bind(a.uv, ops2, DRVOPS_OBJ_PD, a.pd, &b), EXDEV);
	TL_ASSERT_ERR(drvops_bind(a.uv, ops3, DRVOPS_OBJ_MR, a.mr, &b), EXDEV);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	TL_ASSERT_OK(destroy(&a, DRVOPS_OBJ_MR));
	close(ops3);
	close(uv3);
	close(ops2);
	close(uv2);
	CU_ASSERT_EQUAL(objs_close(&a), 0);
	BINDINGS_END();
}

static void test_not_a_driver_ops_fd_ebadf(void)
{
	int p[2], devnull;
	struct objs o;
	uint32_t b = 0;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	CU_ASSERT_FATAL(pipe(p) == 0);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	TL_ASSERT_ERR(drvops_bind(o.uv, p[0], DRVOPS_OBJ_MR, o.mr, &b), EBADF);
	TL_ASSERT_ERR(drvops_bind(o.uv, p[1], DRVOPS_OBJ_MR, o.mr, &b), EBADF);
	TL_ASSERT_ERR(drvops_bind(o.uv, o.uv, DRVOPS_OBJ_MR, o.mr, &b), EBADF);
	if (devnull >= 0)
		TL_ASSERT_ERR(drvops_bind(o.uv, devnull, DRVOPS_OBJ_MR, o.mr,
					  &b), EBADF);
	TL_ASSERT_ERR(drvops_bind(o.uv, -1, DRVOPS_OBJ_MR, o.mr, &b), EBADF);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_MR));
	close(p[0]);
	close(p[1]);
	if (devnull >= 0)
		close(devnull);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

static void test_closed_fd_number_ebadf(void)
{
	struct objs o;
	uint32_t b = 0;
	int gone;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	/* A driver-ops fd that was closed: its number names nothing now. */
	gone = tl_get_fd(o.uv, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(gone);
	CU_ASSERT_EQUAL(close(gone), 0);
	TL_ASSERT_ERR(drvops_bind(o.uv, gone, DRVOPS_OBJ_MR, o.mr, &b), EBADF);
	TL_ASSERT_ERR(drvops_bind(o.uv, 1000000, DRVOPS_OBJ_MR, o.mr, &b),
		      EBADF);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	TL_ASSERT_OK(destroy(&o, DRVOPS_OBJ_MR));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

static void test_no_object_einval(void)
{
	struct objs o;
	uint32_t b = 0;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_ERR(bind_raw(o.uv, o.ops, NULL, NULL, NULL, NULL, &b),
		      EINVAL);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

static void test_two_objects_einval(void)
{
	struct objs o;
	uint32_t b = 0;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_ERR(bind_raw(o.uv, o.ops, &o.pd, &o.mr, NULL, NULL, &b),
		      EINVAL);
	TL_ASSERT_ERR(bind_raw(o.uv, o.ops, NULL, &o.mr, &o.cq, NULL, &b),
		      EINVAL);
	TL_ASSERT_ERR(bind_raw(o.uv, o.ops, &o.pd, &o.mr, &o.cq, NULL, &b),
		      EINVAL);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	/* None of them was left bound. */
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* FLAGS follows the uverbs convention: unknown bits are EINVAL. */
static void test_flags_unknown_einval(void)
{
	const uint32_t one = 1, high = 1u << 31, zero = 0;
	struct objs o;
	uint32_t b = 0;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_ERR(bind_raw(o.uv, o.ops, NULL, &o.mr, NULL, &one, &b),
		      EINVAL);
	TL_ASSERT_ERR(bind_raw(o.uv, o.ops, NULL, &o.mr, NULL, &high, &b),
		      EINVAL);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	/* FLAGS = 0 spelled out is accepted. */
	TL_ASSERT_OK(bind_raw(o.uv, o.ops, NULL, &o.mr, NULL, &zero, &b));
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 1);
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/*
 * A driver-ops fd whose uverbs fd was closed is dead: EIO, whether a live
 * context was opened before the old one died or after.
 */
static void test_bind_dead_ops_fd_eio(void)
{
	struct objs o;
	uint32_t b = 0, pd2;
	int uv_old, ops_old, ret, uv2;
	BINDINGS_BEGIN();

	/* The live context exists before the other one dies. */
	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	uv_old = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uv_old);
	ops_old = tl_get_fd(uv_old, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(ops_old);
	CU_ASSERT_EQUAL(close(uv_old), 0);
	ret = drvops_bind(o.uv, ops_old, DRVOPS_OBJ_MR, o.mr, &b);
	if (ret != -EIO)
		fprintf(stderr, "\n  dead fd, context opened before: %s\n",
			strerror(-ret));
	CU_ASSERT_EQUAL(ret, -EIO);
	if (!ret)
		drvops_unbind(o.uv, b);
	close(ops_old);

	/* A context opened right after the old one died. */
	uv_old = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uv_old);
	ops_old = tl_get_fd(uv_old, DRVOPS_GENERIC_NAME, 1);
	TL_ASSERT_OK(ops_old);
	CU_ASSERT_EQUAL(close(uv_old), 0);
	uv2 = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uv2);
	TL_ASSERT_OK(drvops_alloc_pd(uv2, &pd2));
	ret = drvops_bind(uv2, ops_old, DRVOPS_OBJ_PD, pd2, &b);
	if (ret != -EIO)
		fprintf(stderr, "\n  dead fd, context opened after: %s\n",
			strerror(-ret));
	CU_ASSERT_EQUAL(ret, -EIO);
	if (!ret)
		drvops_unbind(uv2, b);
	CU_ASSERT_EQUAL(drvops_dealloc_pd(uv2, pd2), 0);
	close(uv2);
	close(ops_old);
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* ---- UNBIND ------------------------------------------------------------ */

static void test_unbind_unknown_handle_enoent(void)
{
	struct objs o;
	uint32_t b;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_ERR(drvops_unbind(o.uv, 0x7ffff000), ENOENT);
	/* A binding already unbound is unknown too. */
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &b));
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	TL_ASSERT_ERR(drvops_unbind(o.uv, b), ENOENT);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* A binding handle belongs to its uverbs fd: another one cannot unbind it. */
static void test_unbind_from_other_uverbs_fd_enoent(void)
{
	struct objs o;
	uint32_t b;
	int uv2;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &b));
	uv2 = tl_open_device(TL_DEVICE_CURRENT);
	TL_ASSERT_OK(uv2);
	TL_ASSERT_ERR(drvops_unbind(uv2, b), ENOENT);
	close(uv2);
	TL_ASSERT_ERR(destroy(&o, DRVOPS_OBJ_MR), EBUSY);
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* ---- bindings in use --------------------------------------------------- */

static void test_bound_mr_usable_by_copy_until_unbind(void)
{
	uint8_t src[100];
	struct drvops_generic_completion c;
	struct objs o;
	uint32_t b;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	memset(src, 0x42, sizeof(src));
	/* Not bound yet. */
	TL_ASSERT_ERR(copy_into_mr(&o, src, sizeof(src), 0), ENOENT);
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &b));
	TL_ASSERT_OK(copy_into_mr(&o, src, sizeof(src), PAGE - 50));
	CU_ASSERT(memcmp(o.buf + PAGE - 50, src, sizeof(src)) == 0);
	TL_ASSERT_OK(tl_read_completion(o.ops, &c));
	CU_ASSERT_EQUAL(c.status, 0);
	CU_ASSERT_EQUAL(c.length, sizeof(src));
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	memset(src, 0x43, sizeof(src));
	TL_ASSERT_ERR(copy_into_mr(&o, src, sizeof(src), 0), ENOENT);
	CU_ASSERT_EQUAL(o.buf[0], 0);
	CU_ASSERT_EQUAL(tl_drain_completions(o.ops), 0);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

struct copier {
	int ops;
	uint32_t mr;
	const uint8_t *src;
	size_t len;
	int started, ret;
};

static void *copier_main(void *arg)
{
	struct copier *c = arg;

	__atomic_store_n(&c->started, 1, __ATOMIC_SEQ_CST);
	c->ret = tl_copy(c->ops, tl_user_buf(c->src), tl_mr_buf(c->mr, 0),
			 c->len, 0xc0c0);
	return NULL;
}

/*
 * UNBIND while a COPY into the MR runs: UNBIND returns only after the
 * COPY is done with the MR (its completion is queued by then), so the MR
 * can be deregistered at once.
 */
static void test_unbind_waits_for_copy_in_progress(void)
{
	const size_t len = 64UL << 20;
	struct drvops_generic_completion done;
	struct copier cp = { 0 };
	uint8_t *src, *dst;
	uint32_t pd, mr, b;
	pthread_t th;
	short revents;
	struct objs o;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	src = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(src != MAP_FAILED && dst != MAP_FAILED);
	memset(src, 0x6b, len);
	memset(dst, 0, len);
	pd = o.pd;
	TL_ASSERT_OK(drvops_reg_mr(o.uv, pd, dst, len,
				   IB_UVERBS_ACCESS_LOCAL_WRITE, &mr, NULL,
				   NULL));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, mr, &b));

	cp.ops = o.ops;
	cp.mr = mr;
	cp.src = src;
	cp.len = len;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, copier_main, &cp) == 0);
	while (!__atomic_load_n(&cp.started, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(30000);
	TL_ASSERT_OK(drvops_unbind(o.uv, b));
	/* The COPY has finished with the MR: its completion is there. */
	{
		struct pollfd pfd = { .fd = o.ops, .events = POLLIN };

		revents = poll(&pfd, 1, 0) == 1 ? pfd.revents : 0;
	}
	CU_ASSERT(revents & POLLIN);
	TL_ASSERT_OK(drvops_dereg_mr(o.uv, mr));
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(cp.ret, 0);
	if (cp.ret == 0) {
		TL_ASSERT_OK(tl_read_completion(o.ops, &done));
		CU_ASSERT_EQUAL(done.status, 0);
		CU_ASSERT_EQUAL(done.length, len);
		CU_ASSERT(dst[0] == 0x6b && dst[len - 1] == 0x6b &&
			  memcmp(dst, src, len) == 0);
	}
	munmap(src, len);
	munmap(dst, len);
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	BINDINGS_END();
}

/* The uverbs fd goes first: bindings end, the driver-ops fd is dead. */
static void test_close_uverbs_fd_with_bindings_open(void)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_generic_completion c;
	struct tl_stats st0, st;
	struct pollfd pfd;
	struct drvops_info info;
	uint8_t src[8] = { 0 };
	uint32_t b[3];
	enum drvops_obj_kind k;
	struct objs o;
	void *p;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(tl_read_stats(&st0));
	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	for (k = DRVOPS_OBJ_PD; k <= DRVOPS_OBJ_CQ; k++)
		TL_ASSERT_OK(drvops_bind(o.uv, o.ops, k, handle_of(&o, k),
					 &b[k]));
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 3);
	TL_ASSERT_OK(copy_into_mr(&o, src, sizeof(src), 0));

	/* Objects and bindings go with the uverbs fd. */
	CU_ASSERT_EQUAL(close(o.uv), 0);
	o.uv = -1;
	o.have_pd = o.have_mr = o.have_cq = false;
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	TL_ASSERT_OK(tl_read_stats(&st));
	CU_ASSERT_EQUAL(st.live_files, st0.live_files);

	TL_ASSERT_ERR(tl_ioctl(o.ops, DRVOPS_GENERIC_IOCTL_NOOP, &noop), EIO);
	TL_ASSERT_ERR(copy_into_mr(&o, src, sizeof(src), 0), EIO);
	TL_ASSERT_ERR(drvops_get_info(o.ops, &info), EIO);
	/* The queued completion is not readable any more. */
	errno = 0;
	CU_ASSERT_EQUAL(read(o.ops, &c, sizeof(c)), -1);
	CU_ASSERT_EQUAL(errno, EIO);
	pfd.fd = o.ops;
	pfd.events = POLLIN | POLLOUT;
	pfd.revents = 0;
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 1);
	CU_ASSERT_EQUAL(pfd.revents & (POLLERR | POLLHUP), POLLERR | POLLHUP);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, o.ops, 0);
	CU_ASSERT(p == MAP_FAILED);
	if (p != MAP_FAILED)
		munmap(p, PAGE);

	CU_ASSERT_EQUAL(objs_close(&o), 0);
	TL_ASSERT_OK(tl_read_stats(&st));
	CU_ASSERT_EQUAL(st.files, st0.files);
	CU_ASSERT_EQUAL(st.live_files, st0.live_files);
	BINDINGS_END();
}

/* The uverbs fd closed after the driver-ops fd, with inert bindings left. */
static void test_close_uverbs_fd_with_inert_bindings(void)
{
	struct tl_stats st0, st;
	uint32_t b1, b2;
	struct objs o;
	BINDINGS_BEGIN();

	TL_ASSERT_OK(tl_read_stats(&st0));
	TL_ASSERT_OK(objs_open(&o, TL_DEVICE_CURRENT));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_MR, o.mr, &b1));
	TL_ASSERT_OK(drvops_bind(o.uv, o.ops, DRVOPS_OBJ_CQ, o.cq, &b2));
	CU_ASSERT_EQUAL(close(o.ops), 0);
	o.ops = -1;
	CU_ASSERT_EQUAL(BINDINGS_DELTA(), 0);
	/* No UNBIND, no destroy: the uverbs close cleans everything. */
	CU_ASSERT_EQUAL(close(o.uv), 0);
	o.uv = -1;
	o.have_pd = o.have_mr = o.have_cq = false;
	CU_ASSERT_EQUAL(objs_close(&o), 0);
	TL_ASSERT_OK(tl_read_stats(&st));
	CU_ASSERT_EQUAL(st.files, st0.files);
	CU_ASSERT_EQUAL(st.live_files, st0.live_files);
	BINDINGS_END();
}

/* ---- registration ------------------------------------------------------ */

static CU_TestInfo busy_tests[] = {
	{ "bound PD: dealloc EBUSY until UNBIND", test_bound_pd_dealloc_ebusy },
	{ "bound MR: dereg EBUSY until UNBIND", test_bound_mr_dereg_ebusy },
	{ "bound CQ: destroy EBUSY until UNBIND", test_bound_cq_destroy_ebusy },
	{ "a bound PD can still register MRs", test_bound_pd_still_usable },
	{ "closing the driver-ops fd unbinds; UNBIND then returns 0",
	  test_close_ops_fd_unbinds },
	{ "UNBIND after the driver-ops fd closed, object kept",
	  test_unbind_after_ops_fd_closed_keeps_object },
	{ "same MR bound to two driver-ops fds", test_same_mr_two_ops_fds },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo bind_error_tests[] = {
	{ "same object twice to one fd -> EALREADY", test_bind_twice_ealready },
	{ "handle of another uverbs fd -> ENOENT",
	  test_handle_of_other_uverbs_fd_enoent },
	{ "driver-ops fd of another context -> EXDEV",
	  test_ops_fd_of_other_context_exdev },
	{ "not a driver-ops fd -> EBADF", test_not_a_driver_ops_fd_ebadf },
	{ "closed fd number -> EBADF", test_closed_fd_number_ebadf },
	{ "none of PD/MR/CQ -> EINVAL", test_no_object_einval },
	{ "two or three of PD/MR/CQ -> EINVAL", test_two_objects_einval },
	{ "FLAGS unknown bit -> EINVAL", test_flags_unknown_einval },
	{ "dead driver-ops fd -> EIO", test_bind_dead_ops_fd_eio },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo unbind_tests[] = {
	{ "UNBIND unknown handle -> ENOENT", test_unbind_unknown_handle_enoent },
	{ "UNBIND on another uverbs fd -> ENOENT",
	  test_unbind_from_other_uverbs_fd_enoent },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo use_tests[] = {
	{ "bound MR usable by COPY, ENOENT after UNBIND",
	  test_bound_mr_usable_by_copy_until_unbind },
	{ "UNBIND waits for a COPY in progress",
	  test_unbind_waits_for_copy_in_progress },
	{ "closing the uverbs fd with bindings: fd dead (EIO), clean",
	  test_close_uverbs_fd_with_bindings_open },
	{ "closing the uverbs fd with inert bindings is clean",
	  test_close_uverbs_fd_with_inert_bindings },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "bind: bound objects are busy", NULL, NULL, NULL, NULL, busy_tests },
	{ "bind: errors", NULL, NULL, NULL, NULL, bind_error_tests },
	{ "unbind", NULL, NULL, NULL, NULL, unbind_tests },
	{ "bind: use and teardown", NULL, NULL, NULL, NULL, use_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_bind", suites);
}
