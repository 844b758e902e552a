// SPDX-License-Identifier: GPL-2.0
/*
 * drvops_swverbs: what uverbs needs for a ucontext, PD, CQ and user MR, and
 * nothing more, for the software devices of drvops. The MR pins user
 * memory with ib_umem and keeps a page array so that a driver can reach
 * it from the kernel.
 */
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <rdma/uverbs_ioctl.h>
#include "swverbs.h"

struct swverbs_ucontext {
	struct ib_ucontext ibuc;
};

struct swverbs_pd {
	struct ib_pd ibpd;
};

struct swverbs_cq {
	struct ib_cq ibcq;
};

#define SWVERBS_MAX_CQE 4096
#define SWVERBS_MAX_MR_SIZE (1ULL << 32)

static const struct uapi_definition swverbs_uapi_defs[] = {
	DRVOPS_UAPI_DEF_CHAIN(),
	{},
};

static int swverbs_query_device(struct ib_device *ibdev,
				struct ib_device_attr *attr,
				struct ib_udata *udata)
{
	if (udata->inlen || udata->outlen)
		return -EINVAL;
	memset(attr, 0, sizeof(*attr));
	attr->sys_image_guid = ibdev->node_guid;
	attr->max_mr_size = SWVERBS_MAX_MR_SIZE;
	attr->page_size_cap = PAGE_SIZE;
	attr->vendor_id = 0xffffff;
	attr->max_pd = 1024;
	attr->max_mr = 1024;
	attr->max_cq = 1024;
	attr->max_cqe = SWVERBS_MAX_CQE;
	return 0;
}

static int swverbs_query_port(struct ib_device *ibdev, u32 port,
			      struct ib_port_attr *attr)
{
	/* The core zeroed attr. */
	attr->state = IB_PORT_ACTIVE;
	attr->phys_state = IB_PORT_PHYS_STATE_LINK_UP;
	attr->max_mtu = IB_MTU_4096;
	attr->active_mtu = IB_MTU_4096;
	attr->gid_tbl_len = 1;
	attr->pkey_tbl_len = 1;
	attr->lid = to_swverbs_dev(ibdev)->lid;
	attr->sm_lid = 1;
	attr->active_width = IB_WIDTH_4X;
	attr->active_speed = IB_SPEED_EDR;
	attr->max_msg_sz = 1U << 31;
	return 0;
}

static int swverbs_get_port_immutable(struct ib_device *ibdev, u32 port,
				      struct ib_port_immutable *immutable)
{
	/* No MADs: IB protocol without the IBA management capability. */
	immutable->core_cap_flags = RDMA_CORE_CAP_PROT_IB;
	immutable->gid_tbl_len = 1;
	immutable->pkey_tbl_len = 1;
	return 0;
}

static int swverbs_query_gid(struct ib_device *ibdev, u32 port, int index,
			     union ib_gid *gid)
{
	memset(gid, 0, sizeof(*gid));
	gid->global.subnet_prefix = cpu_to_be64(0xfe80000000000000ULL);
	gid->global.interface_id = ibdev->node_guid;
	return 0;
}

static int swverbs_query_pkey(struct ib_device *ibdev, u32 port, u16 index,
			      u16 *pkey)
{
	*pkey = 0xffff;
	return 0;
}

static int swverbs_alloc_ucontext(struct ib_ucontext *uctx,
				  struct ib_udata *udata)
{
	return 0;
}

static void swverbs_dealloc_ucontext(struct ib_ucontext *uctx)
{
	drvops_ucontext_release(uctx);
}

/* Nothing is mapped through uverbs; drvops zaps its own mappings. */
static void swverbs_disassociate_ucontext(struct ib_ucontext *uctx)
{
}

static int swverbs_alloc_pd(struct ib_pd *pd, struct ib_udata *udata)
{
	return 0;
}

static int swverbs_dealloc_pd(struct ib_pd *pd, struct ib_udata *udata)
{
	return 0;
}

static int swverbs_create_cq(struct ib_cq *cq,
			     const struct ib_cq_init_attr *attr,
			     DRVOPS_CREATE_CQ_LAST_ARG)
{
	if (attr->flags || attr->cqe < 1 || attr->cqe > SWVERBS_MAX_CQE)
		return -EINVAL;
	cq->cqe = attr->cqe;
	return 0;
}

static int swverbs_destroy_cq(struct ib_cq *cq, struct ib_udata *udata)
{
	return 0;
}

static int swverbs_poll_cq(struct ib_cq *cq, int num, struct ib_wc *wc)
{
	return 0;
}

static int swverbs_req_notify_cq(struct ib_cq *cq, enum ib_cq_notify_flags f)
{
	return 0;
}

static int swverbs_collect_pages(struct swverbs_mr *mr)
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

static struct ib_mr *swverbs_reg_user_mr(struct ib_pd *pd, u64 start,
					 u64 length, u64 virt_addr, int access,
					 struct ib_udata *udata)
{
	struct swverbs_dev *sdev = to_swverbs_dev(pd->device);
	struct swverbs_mr *mr;
	int ret;

	if (!length || length > SWVERBS_MAX_MR_SIZE)
		return ERR_PTR(-EINVAL);
	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	mr->umem = ib_umem_get(pd->device, start, length, access);
	if (IS_ERR(mr->umem)) {
		ret = PTR_ERR(mr->umem);
		goto err_free;
	}
	ret = swverbs_collect_pages(mr);
	if (ret)
		goto err_release;
	mr->first_offset = ib_umem_offset(mr->umem);
	mr->length = length;
	mr->access = access;
	mr->ibmr.lkey = atomic_inc_return(&sdev->next_key);
	mr->ibmr.rkey = mr->ibmr.lkey;
	return &mr->ibmr;

err_release:
	kvfree(mr->pages);
	ib_umem_release(mr->umem);
err_free:
	kfree(mr);
	return ERR_PTR(ret);
}

static int swverbs_dereg_mr(struct ib_mr *ibmr, struct ib_udata *udata)
{
	struct swverbs_mr *mr = to_swverbs_mr(ibmr);

	kvfree(mr->pages);
	ib_umem_release(mr->umem);
	kfree(mr);
	return 0;
}

static const struct ib_device_ops swverbs_dev_ops = {
	.driver_id = RDMA_DRIVER_UNKNOWN,
	.uverbs_abi_ver = 1,
	.device_group = &drvops_device_group,

	.query_device = swverbs_query_device,
	.query_port = swverbs_query_port,
	.get_port_immutable = swverbs_get_port_immutable,
	.query_gid = swverbs_query_gid,
	.query_pkey = swverbs_query_pkey,
	.alloc_ucontext = swverbs_alloc_ucontext,
	.dealloc_ucontext = swverbs_dealloc_ucontext,
	.disassociate_ucontext = swverbs_disassociate_ucontext,
	.alloc_pd = swverbs_alloc_pd,
	.dealloc_pd = swverbs_dealloc_pd,
	.create_cq = swverbs_create_cq,
	.destroy_cq = swverbs_destroy_cq,
	.poll_cq = swverbs_poll_cq,
	.req_notify_cq = swverbs_req_notify_cq,
	.reg_user_mr = swverbs_reg_user_mr,
	.dereg_mr = swverbs_dereg_mr,

	INIT_RDMA_OBJ_SIZE(ib_ucontext, swverbs_ucontext, ibuc),
	INIT_RDMA_OBJ_SIZE(ib_pd, swverbs_pd, ibpd),
	INIT_RDMA_OBJ_SIZE(ib_cq, swverbs_cq, ibcq),
};

void swverbs_init_device(struct swverbs_dev *sdev, u64 node_guid, u16 lid,
			 const char *node_desc)
{
	struct ib_device *ibdev = &sdev->ibdev;

	sdev->lid = lid;
	ibdev->node_guid = cpu_to_be64(node_guid);
	ibdev->phys_port_cnt = 1;
	ibdev->num_comp_vectors = 1;
	ibdev->node_type = RDMA_NODE_IB_CA;
	strscpy(ibdev->node_desc, node_desc, IB_DEVICE_NODE_DESC_MAX);
	ib_set_device_ops(ibdev, &swverbs_dev_ops);
	ibdev->driver_def = swverbs_uapi_defs;
	sdev->drvops.ibdev = ibdev;
}
EXPORT_SYMBOL_GPL(swverbs_init_device);

void swverbs_pages_io(struct page **pages, unsigned int first_offset, u64 off,
		      void *buf, size_t n, bool to_pages)
{
	off += first_offset;
	while (n) {
		size_t poff = off & ~PAGE_MASK;
		size_t chunk = min_t(size_t, n, PAGE_SIZE - poff);
		void *va = kmap_local_page(pages[off >> PAGE_SHIFT]);

		if (to_pages)
			memcpy(va + poff, buf, chunk);
		else
			memcpy(buf, va + poff, chunk);
		kunmap_local(va);
		off += chunk;
		buf += chunk;
		n -= chunk;
	}
}
EXPORT_SYMBOL_GPL(swverbs_pages_io);

void swverbs_mr_io(struct swverbs_mr *mr, u64 off, void *buf, size_t n,
		   bool to_mr)
{
	swverbs_pages_io(mr->pages, mr->first_offset, off, buf, n, to_mr);
}
EXPORT_SYMBOL_GPL(swverbs_mr_io);

MODULE_DESCRIPTION("drvops: verbs of software RDMA devices");
MODULE_LICENSE("GPL");
