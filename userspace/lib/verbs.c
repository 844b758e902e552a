// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * PD, MR and CQ through the legacy write() ABI: struct ib_uverbs_cmd_hdr,
 * then the command, whose first field is the user address of the
 * response. in_words counts the header too; out_words the response.
 * The kernel gates these on the driver's uverbs_cmd_mask.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rdma/ib_user_verbs.h>

#include "drvops.h"

#define MAX_CMD_SIZE 128

static int write_cmd(int uverbs_fd, uint32_t command, const void *cmd,
		     size_t cmd_size, size_t resp_size)
{
	union {
		struct ib_uverbs_cmd_hdr hdr;
		uint64_t align;
		unsigned char bytes[MAX_CMD_SIZE];
	} buf;
	size_t total = sizeof(buf.hdr) + cmd_size;
	ssize_t n;

	if (total > sizeof(buf) || total % 4 || resp_size % 4)
		return -EINVAL;
	memset(&buf, 0, sizeof(buf));
	buf.hdr.command = command;
	buf.hdr.in_words = total / 4;
	buf.hdr.out_words = resp_size / 4;
	memcpy(buf.bytes + sizeof(buf.hdr), cmd, cmd_size);

	n = write(uverbs_fd, buf.bytes, total);
	if (n < 0)
		return -errno;
	/* The kernel returns the whole count or an error. */
	return (size_t)n == total ? 0 : -EIO;
}

int drvops_alloc_pd(int uverbs_fd, uint32_t *pd_handle)
{
	struct ib_uverbs_alloc_pd_resp resp;
	struct ib_uverbs_alloc_pd cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	cmd.response = (uintptr_t)&resp;
	ret = write_cmd(uverbs_fd, IB_USER_VERBS_CMD_ALLOC_PD, &cmd,
			sizeof(cmd), sizeof(resp));
	if (ret)
		return ret;
	*pd_handle = resp.pd_handle;
	return 0;
}

int drvops_dealloc_pd(int uverbs_fd, uint32_t pd_handle)
{
	struct ib_uverbs_dealloc_pd cmd = { .pd_handle = pd_handle };

	return write_cmd(uverbs_fd, IB_USER_VERBS_CMD_DEALLOC_PD, &cmd,
			 sizeof(cmd), 0);
}

int drvops_reg_mr(int uverbs_fd, uint32_t pd_handle, void *addr, size_t len,
		  uint32_t access, uint32_t *mr_handle, uint32_t *lkey,
		  uint32_t *rkey)
{
	struct ib_uverbs_reg_mr_resp resp;
	struct ib_uverbs_reg_mr cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	cmd.response = (uintptr_t)&resp;
	cmd.start = (uintptr_t)addr;
	cmd.length = len;
	/* The MR's I/O virtual address is the user address, as ibv_reg_mr. */
	cmd.hca_va = (uintptr_t)addr;
	cmd.pd_handle = pd_handle;
	cmd.access_flags = access;
	ret = write_cmd(uverbs_fd, IB_USER_VERBS_CMD_REG_MR, &cmd, sizeof(cmd),
			sizeof(resp));
	if (ret)
		return ret;
	if (mr_handle)
		*mr_handle = resp.mr_handle;
	if (lkey)
		*lkey = resp.lkey;
	if (rkey)
		*rkey = resp.rkey;
	return 0;
}

int drvops_dereg_mr(int uverbs_fd, uint32_t mr_handle)
{
	struct ib_uverbs_dereg_mr cmd = { .mr_handle = mr_handle };

	return write_cmd(uverbs_fd, IB_USER_VERBS_CMD_DEREG_MR, &cmd,
			 sizeof(cmd), 0);
}

int drvops_create_cq(int uverbs_fd, uint32_t cqe, uint32_t *cq_handle)
{
	struct ib_uverbs_create_cq_resp resp;
	struct ib_uverbs_create_cq cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	cmd.response = (uintptr_t)&resp;
	cmd.cqe = cqe;
	cmd.comp_vector = 0;
	cmd.comp_channel = -1;
	ret = write_cmd(uverbs_fd, IB_USER_VERBS_CMD_CREATE_CQ, &cmd,
			sizeof(cmd), sizeof(resp));
	if (ret)
		return ret;
	*cq_handle = resp.cq_handle;
	return 0;
}

int drvops_destroy_cq(int uverbs_fd, uint32_t cq_handle)
{
	struct ib_uverbs_destroy_cq_resp resp;
	struct ib_uverbs_destroy_cq cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.response = (uintptr_t)&resp;
	cmd.cq_handle = cq_handle;
	return write_cmd(uverbs_fd, IB_USER_VERBS_CMD_DESTROY_CQ, &cmd,
			 sizeof(cmd), sizeof(resp));
}
