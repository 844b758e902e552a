// SPDX-License-Identifier: GPL-2.0
/*
 * The verbs of the generic device: what uverbs needs for a ucontext, PD,
 * CQ and user MR, and nothing more. The MR pins user memory with ib_umem
 * and keeps a page array so that the copy engine can reach it.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <rdma/uverbs_ioctl.h>
#include "generic.h"

#define GENERIC_MAX_CQE 4096
#define GENERIC_MAX_MR_SIZE (1ULL << 32)

const struct uapi_definition generic_uapi_defs[] = {
	DRVOPS_UAPI_DEF_CHAIN(),
	{},
};

static int generic_query_device(struct ib_device *ibdev,
				struct ib_device_attr *attr,
				struct ib_udata *udata)
{
	if (udata->inlen || udata->outlen)
		return -EINVAL;
	memset(attr, 0, sizeof(*attr));
	attr->sys_image_guid = ibdev->node_guid;
	attr->max_mr_size = GENERIC_MAX_MR_SIZE;
	attr->page_size_cap = PAGE_SIZE;
	attr->vendor_id = 0xffffff;
	attr->max_pd = 1024;
	attr->max_mr = 1024;
	attr->max_cq = 1024;
	attr->max_cqe = GENERIC_MAX_CQE;
	return 0;
}

static int generic_query_port(struct ib_device *ibdev, u32 port,
			      struct ib_port_attr *attr)
{
	/* The core zeroed attr. */
	attr->state = IB_PORT_ACTIVE;
	attr->phys_state = IB_PORT_PHYS_STATE_LINK_UP;
	attr->max_mtu = IB_MTU_4096;
	attr->active_mtu = IB_MTU_4096;
	attr->gid_tbl_len = 1;
	attr->pkey_tbl_len = 1;
	attr->lid = to_generic_dev(ibdev)->unit + 1;
	attr->sm_lid = 1;
	attr->active_width = IB_WIDTH_4X;
	attr->active_speed = IB_SPEED_EDR;
	attr->max_msg_sz = 1U << 31;
	return 0;
}

static int generic_get_port_immutable(struct ib_device *ibdev, u32 port,
				      struct ib_port_immutable *immutable)
{
	/* No MADs: IB protocol without the IBA management capability. */
	immutable->core_cap_flags = RDMA_CORE_CAP_PROT_IB;
	immutable->gid_tbl_len = 1;
	immutable->pkey_tbl_len = 1;
	return 0;
}

static int generic_query_gid(struct ib_device *ibdev, u32 port, int index,
			     union ib_gid *gid)
{
	memset(gid, 0, sizeof(*gid));
	gid->global.subnet_prefix = cpu_to_be64(0xfe80000000000000ULL);
	gid->global.interface_id = ibdev->node_guid;
	return 0;
}

static int generic_query_pkey(struct ib_device *ibdev, u32 port, u16 index,
			      u16 *pkey)
{
	*pkey = 0xffff;
	return 0;
}

static int generic_alloc_ucontext(struct ib_ucontext *uctx,
				  struct ib_udata *udata)
{
	return 0;
}

static void generic_dealloc_ucontext(struct ib_ucontext *uctx)
{
	drvops_ucontext_release(uctx);
}

/* Nothing is mapped through uverbs; drvops zaps its own mappings. */
static void generic_disassociate_ucontext(struct ib_ucontext *uctx)
{
}

static int generic_alloc_pd(struct ib_pd *pd, struct ib_udata *udata)
{
	return 0;
}

static int generic_dealloc_pd(struct ib_pd *pd, struct ib_udata *udata)
{
	return 0;
}

static int generic_create_cq(struct ib_cq *cq,
			     const struct ib_cq_init_attr *attr,
			     struct ib_udata *udata)
{
	if (attr->flags || attr->cqe < 1 || attr->cqe > GENERIC_MAX_CQE)
		return -EINVAL;
	cq->cqe = attr->cqe;
	return 0;
}

static int generic_destroy_cq(struct ib_cq *cq, struct ib_udata *udata)
{
	return 0;
}

static int generic_poll_cq(struct ib_cq *cq, int num, struct ib_wc *wc)
{
	return 0;
}

static int generic_req_notify_cq(struct ib_cq *cq, enum ib_cq_notify_flags f)
{
	return 0;
}

static int generic_collect_pages(struct generic_mr *mr)
{
	struct sg_page_iter iter;
	unsigned long i = 0;

	mr->npages = ib_umem_num_pages(mr->umem);
	mr->pages = kvcalloc(mr->npages, sizeof(*mr->pages), GFP_KERNEL);
	if (!mr->pages)
		return -ENOMEM;
	for_each_sgtable_page(&mr->umem->sgt_append.sgt, &iter, 0) {
		if (i == mr->npages)
			break;
		mr->pages[i++] = sg_page_iter_page(&iter);
	}
	return i == mr->npages ? 0 : -EFAULT;
}

static struct ib_mr *generic_reg_user_mr(struct ib_pd *pd, u64 start,
					 u64 length, u64 virt_addr, int access,
					 struct ib_udata *udata)
{
	struct generic_dev *gdev = to_generic_dev(pd->device);
	struct generic_mr *mr;
	int ret;

	if (!length || length > GENERIC_MAX_MR_SIZE)
		return ERR_PTR(-EINVAL);
	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	mr->umem = ib_umem_get(pd->device, start, length, access);
	if (IS_ERR(mr->umem)) {
		ret = PTR_ERR(mr->umem);
		goto err_free;
	}
	ret = generic_collect_pages(mr);
	if (ret)
		goto err_release;
	mr->first_offset = ib_umem_offset(mr->umem);
	mr->length = length;
	mr->access = access;
	mr->ibmr.lkey = atomic_inc_return(&gdev->next_key);
	mr->ibmr.rkey = mr->ibmr.lkey;
	return &mr->ibmr;

err_release:
	kvfree(mr->pages);
	ib_umem_release(mr->umem);
err_free:
	kfree(mr);
	return ERR_PTR(ret);
}

static int generic_dereg_mr(struct ib_mr *ibmr, struct ib_udata *udata)
{
	struct generic_mr *mr = to_generic_mr(ibmr);

	kvfree(mr->pages);
	ib_umem_release(mr->umem);
	kfree(mr);
	return 0;
}

const struct ib_device_ops generic_dev_ops = {
	.owner = THIS_MODULE,
	.driver_id = RDMA_DRIVER_UNKNOWN,
	.uverbs_abi_ver = 1,
	.device_group = &drvops_device_group,

	.query_device = generic_query_device,
	.query_port = generic_query_port,
	.get_port_immutable = generic_get_port_immutable,
	.query_gid = generic_query_gid,
	.query_pkey = generic_query_pkey,
	.alloc_ucontext = generic_alloc_ucontext,
	.dealloc_ucontext = generic_dealloc_ucontext,
	.disassociate_ucontext = generic_disassociate_ucontext,
	.alloc_pd = generic_alloc_pd,
	.dealloc_pd = generic_dealloc_pd,
	.create_cq = generic_create_cq,
	.destroy_cq = generic_destroy_cq,
	.poll_cq = generic_poll_cq,
	.req_notify_cq = generic_req_notify_cq,
	.reg_user_mr = generic_reg_user_mr,
	.dereg_mr = generic_dereg_mr,

	INIT_RDMA_OBJ_SIZE(ib_ucontext, generic_ucontext, ibuc),
	INIT_RDMA_OBJ_SIZE(ib_pd, generic_pd, ibpd),
	INIT_RDMA_OBJ_SIZE(ib_cq, generic_cq, ibcq),
};
