// SPDX-License-Identifier: GPL-2.0
/*
 * The driver-ops interfaces of the HFI: "sdma.opa" v1/v2 and the legacy
 * "psm2.intel.com" v1, all on the same contexts and engines. Everything
 * below runs with the fd alive (the broker's rule); lifetime of contexts
 * is in ctxt.c, sending in sdma.c, expected receive in tid.c.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "hfi.h"

static struct hfi_ctxt *hfi_ctxt_of(struct drvops_ucmd *ucmd)
{
	return hfi_file_ctxt(ucmd->priv);
}

/*
 * The context becomes visible (to this fd's other threads and to the
 * fabric) only once the reply is written: a failed ioctl leaves the fd
 * exactly as it was, and nobody ever used what it aborts.
 */
static int hfi_ioctl_assign_ctxt(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_assign_ctxt *cmd = ucmd->cmd;
	struct hfi_file *hf = ucmd->priv;
	struct hfi_ctxt *c;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	mutex_lock(&hf->lock);
	if (hf->ctxt) {
		ret = -EBUSY;
		goto out;
	}
	c = hfi_ctxt_create(hf, cmd->job_key);
	if (IS_ERR(c)) {
		ret = PTR_ERR(c);
		goto out;
	}
	cmd->ctxt = c->ctxt;
	ret = drvops_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		hfi_ctxt_abort(c);
	else
		hfi_ctxt_finalize(hf, c);
out:
	mutex_unlock(&hf->lock);
	return ret;
}

static int hfi_ioctl_ctxt_info(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_ctxt_info *cmd = ucmd->cmd;
	struct hfi_ctxt *c = hfi_ctxt_of(ucmd);
	int r;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (!c)
		return -ENXIO;
	memset(cmd, 0, sizeof(*cmd));
	cmd->size = ucmd->user_size;
	cmd->unit = c->unit->sdev.ibdev.index;
	cmd->lid = c->unit->sdev.lid;
	cmd->ctxt = c->ctxt;
	cmd->rhq_entries = hfi_params.rhq_entries;
	cmd->eager_count = hfi_params.eager_count;
	cmd->eager_size = hfi_params.eager_size;
	cmd->sdma_slots = hfi_params.sdma_slots;
	cmd->max_iovs = hfi_params.max_iovs;
	cmd->eager_max = hfi_eager_max();
	cmd->node_guid = be64_to_cpu(c->unit->sdev.ibdev.node_guid);
	for (r = 0; r < DRVOPS_HFI_MMAP_NR; r++) {
		cmd->mmap_offset[r] = hfi_region_offset(r);
		cmd->mmap_length[r] = hfi_region_length(r);
	}
	return drvops_ucmd_respond(ucmd, sizeof(*cmd));
}

static int hfi_ioctl_tid_register(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_tid_register *cmd = ucmd->cmd;
	struct hfi_file *hf = ucmd->priv;
	struct hfi_ctxt *c = hfi_ctxt_of(ucmd);
	u32 known = hf->version >= 4 ? DRVOPS_HFI_TID_NOTIFY : 0;
	struct hfi_tid *t;
	int ret;

	if ((cmd->flags & ~known) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (!c)
		return -ENXIO;
	t = hfi_tid_register_user(c, cmd->vaddr, cmd->length,
				  cmd->flags & DRVOPS_HFI_TID_NOTIFY);
	if (IS_ERR(t))
		return PTR_ERR(t);
	cmd->tid = t->id;
	ret = drvops_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		hfi_tid_abort(c, t);
	else
		hfi_tid_publish(c, t);
	return ret;
}

static int hfi_ioctl_tid_register_mr(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_tid_register_mr *cmd = ucmd->cmd;
	struct hfi_file *hf = ucmd->priv;
	struct hfi_ctxt *c = hfi_file_ctxt(hf);
	struct hfi_tid *t;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (!c)
		return -ENXIO;
	/*
	 * Serialised with unbind, which frees the tids of its binding: the
	 * tid is published, or aborted, before unbind can look.
	 */
	mutex_lock(&hf->lock);
	t = hfi_tid_register_mr(c, ucmd->file, cmd->mr_handle, cmd->offset,
				cmd->length);
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto out;
	}
	cmd->tid = t->id;
	ret = drvops_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		hfi_tid_abort(c, t);
	else
		hfi_tid_publish(c, t);
out:
	mutex_unlock(&hf->lock);
	return ret;
}

static int hfi_ioctl_tid_free(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_tid_free *cmd = ucmd->cmd;
	struct hfi_ctxt *c = hfi_ctxt_of(ucmd);

	if (!c)
		return -ENXIO;
	return hfi_tid_free(c, cmd->tid);
}

/* A query (DRVOPS_IOCTL_QUERY): fill the answer, nothing else. */
static int hfi_ioctl_counters(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_counters *cmd = ucmd->cmd;
	struct hfi_ctxt *c = hfi_ctxt_of(ucmd);
	struct hfi_counts n;

	if (!c)
		return -ENXIO;
	hfi_stats_read(&c->stats, &n);
	cmd->tx_packets = n.tx_packets;
	cmd->tx_bytes = n.tx_bytes;
	cmd->rx_packets = n.rx_packets;
	cmd->rx_bytes = n.rx_bytes;
	cmd->rx_dropped = n.rx_dropped;
	cmd->tx_errors = n.tx_errors;
	return 0;
}

/* A query (DRVOPS_IOCTL_QUERY). */
static int hfi_ioctl_unit_info(struct drvops_ucmd *ucmd)
{
	struct drvops_hfi_unit_info *cmd = ucmd->cmd;
	struct hfi_unit *unit = to_hfi_unit(drvops_file_ibdev(ucmd->file));

	cmd->num_contexts = hfi_params.num_contexts;
	cmd->free_contexts = hfi_unit_free_contexts(unit);
	cmd->lid = unit->sdev.lid;
	cmd->port_state = DRVOPS_HFI_PORT_ACTIVE;	/* an emulated link */
	cmd->eager_size = hfi_params.eager_size;
	cmd->sdma_slots = hfi_params.sdma_slots;
	return 0;
}

static int hfi_open(struct drvops_file *file, bool legacy_abi)
{
	struct hfi_file *hf = kzalloc(sizeof(*hf), GFP_KERNEL_ACCOUNT);

	if (!hf)
		return -ENOMEM;
	hf->file = file;
	hf->legacy_abi = legacy_abi;
	hf->version = drvops_file_version(file);
	hf->comp_events = !legacy_abi && hf->version >= 3;
	mutex_init(&hf->lock);
	drvops_file_set_priv(file, hf);
	return 0;
}

static int hfi_open_sdma(struct drvops_file *file)
{
	return hfi_open(file, false);
}

static int hfi_open_psm2(struct drvops_file *file)
{
	return hfi_open(file, true);
}

static void hfi_release(struct drvops_file *file)
{
	struct hfi_file *hf = to_hfi_file(file);

	if (hf->ctxt)
		hfi_ctxt_release(hf->ctxt);
	kfree(hf);
}

static ssize_t hfi_write_sdma(struct drvops_file *file, struct iov_iter *from)
{
	return hfi_sdma_writev(to_hfi_file(file), from);
}

static ssize_t hfi_write_psm2(struct drvops_file *file, struct iov_iter *from)
{
	return hfi_sdma_legacy_writev(to_hfi_file(file), from);
}

static __poll_t hfi_poll(struct drvops_file *file)
{
	struct hfi_ctxt *c = hfi_file_ctxt(to_hfi_file(file));
	struct drvops_hfi_rhq_entry *e;
	__poll_t mask = 0;
	u32 head;

	if (!c)
		return 0;
	head = READ_ONCE(c->user->rhq_head);
	e = &c->rhq[head & (hfi_params.rhq_entries - 1)];
	/* Pairs with the workers' release of seq (sdma.c). */
	if (smp_load_acquire(&e->seq) == head + 1)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (atomic_read(&c->sends_in_flight) < hfi_params.sdma_slots)
		mask |= EPOLLOUT | EPOLLWRNORM;
	/* Pairs with the increment after each completion (sdma.c). */
	if (to_hfi_file(file)->comp_events &&
	    atomic_read(&c->comps_done) != READ_ONCE(c->user->comp_head))
		mask |= EPOLLPRI;
	return mask;
}

static int hfi_region_of(u64 offset)
{
	int r;

	for (r = 0; r < DRVOPS_HFI_MMAP_NR; r++)
		if (offset >= hfi_region_offset(r) &&
		    offset < hfi_region_offset(r) + hfi_region_length(r))
			return r;
	return -1;
}

static int hfi_mmap(struct drvops_file *file, struct vm_area_struct *vma)
{
	u64 offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	int r = hfi_region_of(offset);

	if (!hfi_file_ctxt(to_hfi_file(file)))
		return -ENXIO;
	if (r < 0 || offset != hfi_region_offset(r) ||
	    vma->vm_end - vma->vm_start != hfi_region_length(r) ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (r != DRVOPS_HFI_MMAP_USER) {
		/* Written by the kernel only. */
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	return 0;
}

static vm_fault_t hfi_fault(struct drvops_file *file, struct vm_fault *vmf)
{
	struct hfi_ctxt *c = hfi_file_ctxt(to_hfi_file(file));
	u64 offset = (u64)vmf->pgoff << PAGE_SHIFT;
	int r = hfi_region_of(offset);
	void *base[DRVOPS_HFI_MMAP_NR];
	struct page *page;

	if (!c || r < 0)
		return VM_FAULT_SIGBUS;
	base[DRVOPS_HFI_MMAP_RHQ] = c->rhq;
	base[DRVOPS_HFI_MMAP_EAGER] = c->eager;
	base[DRVOPS_HFI_MMAP_COMP] = c->comp;
	base[DRVOPS_HFI_MMAP_USER] = c->user;
	page = vmalloc_to_page(base[r] + (offset - hfi_region_offset(r)));
	get_page(page);
	vmf->page = page;
	return 0;
}

/* Only MRs (TID_REGISTER_MR), and only of the caller's own memory. */
static int hfi_bind(struct drvops_file *file, struct drvops_binding *b)
{
	if (b->type != DRVOPS_OBJ_MR)
		return -EOPNOTSUPP;
	if (to_swverbs_mr(b->mr)->umem->owning_mm != current->mm)
		return -EPERM;
	return 0;
}

static void hfi_unbind(struct drvops_file *file, struct drvops_binding *b)
{
	struct hfi_file *hf = to_hfi_file(file);

	mutex_lock(&hf->lock);
	if (hf->ctxt)
		hfi_tid_free_all(hf->ctxt, b);
	mutex_unlock(&hf->lock);
}

#define HFI_IOCTL(_cmd, _fn, _struct, _last)				\
	DRVOPS_IOCTL_OP(_IO(DRVOPS_IOCTL_TYPE, _cmd), _fn, _struct, _last)
#define HFI_LEGACY_IOCTL(_cmd, _fn, _struct, _last)			\
	DRVOPS_IOCTL_OP(DRVOPS_HFI_LEGACY_IOCTL(_IO(DRVOPS_IOCTL_TYPE, _cmd)), \
			_fn, _struct, _last)
#define HFI_QUERY(_cmd, _fn, _struct, _last)				\
	DRVOPS_IOCTL_QUERY(_IO(DRVOPS_IOCTL_TYPE, _cmd), _fn, _struct, _last)
#define HFI_LEGACY_QUERY(_cmd, _fn, _struct, _last)			\
	DRVOPS_IOCTL_QUERY(DRVOPS_HFI_LEGACY_IOCTL(_IO(DRVOPS_IOCTL_TYPE, \
						       _cmd)),		\
			   _fn, _struct, _last)

/* sdma.opa v1/v2: TID_REGISTER_MR came with version 2. */
static const struct drvops_ioctl_op hfi_ioctls[] = {
	HFI_IOCTL(DRVOPS_HFI_CMD_ASSIGN_CTXT, hfi_ioctl_assign_ctxt,
		  struct drvops_hfi_assign_ctxt, __reserved),
	HFI_IOCTL(DRVOPS_HFI_CMD_CTXT_INFO, hfi_ioctl_ctxt_info,
		  struct drvops_hfi_ctxt_info, mmap_length),
	HFI_QUERY(DRVOPS_HFI_CMD_COUNTERS, hfi_ioctl_counters,
		  struct drvops_hfi_counters, tx_errors),
	HFI_IOCTL(DRVOPS_HFI_CMD_TID_REGISTER, hfi_ioctl_tid_register,
		  struct drvops_hfi_tid_register, __reserved),
	HFI_IOCTL(DRVOPS_HFI_CMD_TID_FREE, hfi_ioctl_tid_free,
		  struct drvops_hfi_tid_free, tid),
	HFI_QUERY(DRVOPS_HFI_CMD_UNIT_INFO, hfi_ioctl_unit_info,
		  struct drvops_hfi_unit_info, sdma_slots),
	DRVOPS_IOCTL_OP_SINCE(2, _IO(DRVOPS_IOCTL_TYPE,
				     DRVOPS_HFI_CMD_TID_REGISTER_MR),
			      hfi_ioctl_tid_register_mr,
			      struct drvops_hfi_tid_register_mr, flags),
};

/* psm2.intel.com: the context ioctls, in its own number range. */
static const struct drvops_ioctl_op hfi_psm2_ioctls[] = {
	HFI_LEGACY_IOCTL(DRVOPS_HFI_CMD_ASSIGN_CTXT, hfi_ioctl_assign_ctxt,
			 struct drvops_hfi_assign_ctxt, __reserved),
	HFI_LEGACY_IOCTL(DRVOPS_HFI_CMD_CTXT_INFO, hfi_ioctl_ctxt_info,
			 struct drvops_hfi_ctxt_info, mmap_length),
	HFI_LEGACY_QUERY(DRVOPS_HFI_CMD_COUNTERS, hfi_ioctl_counters,
			 struct drvops_hfi_counters, tx_errors),
	HFI_LEGACY_QUERY(DRVOPS_HFI_CMD_UNIT_INFO, hfi_ioctl_unit_info,
			 struct drvops_hfi_unit_info, sdma_slots),
};

#define HFI_COMMON_OPS					\
	.release = hfi_release,				\
	.poll = hfi_poll,				\
	.mmap = hfi_mmap,				\
	.fault = hfi_fault,				\
	.bind = hfi_bind,				\
	.unbind = hfi_unbind

/* The versions differ in what writev and poll accept (hfi_file.version). */
static const struct drvops_version_ops hfi_sdma_ops = {
	.ioctls = hfi_ioctls,
	.num_ioctls = ARRAY_SIZE(hfi_ioctls),
	.open = hfi_open_sdma,
	.write_iter = hfi_write_sdma,
	HFI_COMMON_OPS,
};

static const struct drvops_version_ops hfi_psm2_v1_ops = {
	.ioctls = hfi_psm2_ioctls,
	.num_ioctls = ARRAY_SIZE(hfi_psm2_ioctls),
	.open = hfi_open_psm2,
	.write_iter = hfi_write_psm2,
	HFI_COMMON_OPS,
};

static const struct drvops_version_ops *const hfi_sdma_versions[] = {
	&hfi_sdma_ops,
	&hfi_sdma_ops,
	&hfi_sdma_ops,
	&hfi_sdma_ops,
};

static const struct drvops_version_ops *const hfi_psm2_versions[] = {
	&hfi_psm2_v1_ops,
};

const struct drvops_interface hfi_sdma_interface = {
	.name = DRVOPS_HFI_NAME,
	.min_version = 1,
	.max_version = 4,
	.versions = hfi_sdma_versions,
};

const struct drvops_interface hfi_psm2_interface = {
	.name = DRVOPS_HFI_LEGACY_NAME,
	.min_version = 1,
	.max_version = 1,
	.versions = hfi_psm2_versions,
};
