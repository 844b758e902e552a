// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * RDMA_VERBS_IOCTL request builder. Packing follows the kernel's reader
 * (drivers/infiniband/core/uverbs_ioctl.c): PTR_IN of 8 bytes or less is
 * inline in attr.data, PTR_OUT is always a pointer, IDR/FD/RAW_FD attrs
 * carry len 0 and the handle or fd in data.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "drvops.h"

/* Our header is the kernel's, and attrs[] follows it without a gap. */
#define SAME_FIELD(f)                                                        \
	_Static_assert(offsetof(struct drvops_req_hdr, f) ==                 \
			       offsetof(struct ib_uverbs_ioctl_hdr, f) &&    \
		       sizeof(((struct drvops_req_hdr *)0)->f) ==            \
			       sizeof(((struct ib_uverbs_ioctl_hdr *)0)->f), \
		       "drvops_req_hdr." #f " differs from the kernel's")
SAME_FIELD(length);
SAME_FIELD(object_id);
SAME_FIELD(method_id);
SAME_FIELD(num_attrs);
SAME_FIELD(reserved1);
SAME_FIELD(driver_id);
SAME_FIELD(reserved2);
_Static_assert(sizeof(struct drvops_req_hdr) ==
		       sizeof(struct ib_uverbs_ioctl_hdr),
	       "header size differs from the kernel's");
_Static_assert(offsetof(struct drvops_req, attrs) ==
		       offsetof(struct ib_uverbs_ioctl_hdr, attrs),
	       "attrs must follow the ioctl header");

void drvops_req_init(struct drvops_req *req, uint16_t object_id,
		     uint16_t method_id)
{
	memset(req, 0, sizeof(*req));
	req->hdr.object_id = object_id;
	req->hdr.method_id = method_id;
	/* RDMA_DRIVER_UNKNOWN: out-of-tree drivers cannot own an id. */
	req->hdr.driver_id = 0;
}

static struct ib_uverbs_attr *next_attr(struct drvops_req *req,
					uint16_t attr_id)
{
	struct ib_uverbs_attr *attr;

	if (req->num_attrs >= DRVOPS_REQ_MAX_ATTRS) {
		if (!req->error)
			req->error = -ENOSPC;
		return NULL;
	}
	attr = &req->attrs[req->num_attrs++];
	memset(attr, 0, sizeof(*attr));
	attr->attr_id = attr_id;
	attr->flags = UVERBS_ATTR_F_MANDATORY;
	return attr;
}

/* attr.len is 16 bits wide. */
static int len_fits(struct drvops_req *req, size_t len)
{
	if (len <= UINT16_MAX)
		return 1;
	if (!req->error)
		req->error = -E2BIG;
	return 0;
}

struct ib_uverbs_attr *drvops_req_in(struct drvops_req *req, uint16_t attr_id,
				     const void *ptr, size_t len)
{
	struct ib_uverbs_attr *attr;

	if (!len_fits(req, len))
		return NULL;
	attr = next_attr(req, attr_id);
	if (!attr)
		return NULL;
	attr->len = len;
	if (len <= sizeof(attr->data)) {
		if (len)
			memcpy(&attr->data, ptr, len);
	} else {
		attr->data = (uintptr_t)ptr;
	}
	return attr;
}

struct ib_uverbs_attr *drvops_req_in_u32(struct drvops_req *req,
					 uint16_t attr_id, uint32_t value)
{
	return drvops_req_in(req, attr_id, &value, sizeof(value));
}

struct ib_uverbs_attr *drvops_req_out(struct drvops_req *req, uint16_t attr_id,
				      void *ptr, size_t len)
{
	struct ib_uverbs_attr *attr;

	if (!len_fits(req, len))
		return NULL;
	attr = next_attr(req, attr_id);
	if (!attr)
		return NULL;
	attr->len = len;
	attr->data = (uintptr_t)ptr;
	return attr;
}

struct ib_uverbs_attr *drvops_req_fd(struct drvops_req *req, uint16_t attr_id,
				     int fd)
{
	struct ib_uverbs_attr *attr = next_attr(req, attr_id);

	if (attr)
		attr->data_s64 = fd;
	return attr;
}

struct ib_uverbs_attr *drvops_req_idr(struct drvops_req *req, uint16_t attr_id,
				      uint32_t handle)
{
	struct ib_uverbs_attr *attr = next_attr(req, attr_id);

	if (attr)
		attr->data = handle;
	return attr;
}

static struct ib_uverbs_attr *new_obj(struct drvops_req *req, uint16_t attr_id,
				      void *out, int is_fd)
{
	struct ib_uverbs_attr *attr = next_attr(req, attr_id);
	unsigned idx;

	if (!attr)
		return NULL;
	idx = attr - req->attrs;
	req->readback[idx].ptr = out;
	req->readback[idx].is_fd = is_fd;
	return attr;
}

struct ib_uverbs_attr *drvops_req_new_idr(struct drvops_req *req,
					  uint16_t attr_id,
					  uint32_t *handle_out)
{
	return new_obj(req, attr_id, handle_out, 0);
}

struct ib_uverbs_attr *drvops_req_new_fd(struct drvops_req *req,
					 uint16_t attr_id, int *fd_out)
{
	return new_obj(req, attr_id, fd_out, 1);
}

int drvops_req_exec_raw(int uverbs_fd, struct drvops_req *req)
{
	if (ioctl(uverbs_fd, RDMA_VERBS_IOCTL, &req->hdr) < 0)
		return -errno;
	return 0;
}

int drvops_req_exec(int uverbs_fd, struct drvops_req *req)
{
	unsigned i;
	int ret;

	if (req->error)
		return req->error;
	req->hdr.num_attrs = req->num_attrs;
	req->hdr.length = sizeof(req->hdr) +
			  req->num_attrs * sizeof(req->attrs[0]);

	ret = drvops_req_exec_raw(uverbs_fd, req);
	if (ret)
		return ret;

	for (i = 0; i < req->num_attrs; i++) {
		void *out = req->readback[i].ptr;

		if (!out)
			continue;
		if (req->readback[i].is_fd)
			*(int *)out = (int)req->attrs[i].data_s64;
		else
			*(uint32_t *)out = (uint32_t)req->attrs[i].data;
	}
	return 0;
}
