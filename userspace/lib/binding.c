// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Binding core objects (PD, MR, CQ) to a driver-ops fd. */
#include <errno.h>

#include "drvops.h"

int drvops_bind(int uverbs_fd, int drvops_fd, enum drvops_obj_kind kind,
		uint32_t handle, uint32_t *binding_handle)
{
	uint32_t new_handle = 0;
	struct drvops_req req;
	uint16_t obj_attr;
	int ret;

	switch (kind) {
	case DRVOPS_OBJ_PD:
		obj_attr = DRVOPS_ATTR_BIND_PD;
		break;
	case DRVOPS_OBJ_MR:
		obj_attr = DRVOPS_ATTR_BIND_MR;
		break;
	case DRVOPS_OBJ_CQ:
		obj_attr = DRVOPS_ATTR_BIND_CQ;
		break;
	default:
		return -EINVAL;
	}

	drvops_req_init(&req, DRVOPS_OBJECT_BINDING, DRVOPS_METHOD_BIND);
	drvops_req_new_idr(&req, DRVOPS_ATTR_BIND_HANDLE, &new_handle);
	drvops_req_fd(&req, DRVOPS_ATTR_BIND_DRVOPS_FD, drvops_fd);
	drvops_req_idr(&req, obj_attr, handle);
	ret = drvops_req_exec(uverbs_fd, &req);
	if (ret)
		return ret;
	if (binding_handle)
		*binding_handle = new_handle;
	return 0;
}

int drvops_unbind(int uverbs_fd, uint32_t binding_handle)
{
	struct drvops_req req;

	drvops_req_init(&req, DRVOPS_OBJECT_BINDING, DRVOPS_METHOD_UNBIND);
	drvops_req_idr(&req, DRVOPS_ATTR_UNBIND_HANDLE, binding_handle);
	return drvops_req_exec(uverbs_fd, &req);
}
