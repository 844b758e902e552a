// SPDX-License-Identifier: GPL-2.0
/*
 * "copy.generic": a copy engine behind a driver-ops fd (ABI and errnos in
 * uapi/rdma/drvops_generic.h). This file is all a drvops interface needs:
 * per-version ioctl tables, open/release of per-fd state, non-blocking
 * read and poll, a mapping populated by fault. Lifetime, waiting,
 * permission and teardown are the broker's.
 *
 * The data moves in the caller's context, so a user address is always
 * one of the caller's own, and the broker lets only the creating process
 * use the fd: the engine never touches another process's memory.
 */
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <rdma/drvops_generic.h>
#include "generic.h"

#define GENERIC_RING_MIN 2
#define GENERIC_RING_MAX 4096

struct generic_file {
	struct drvops_file *file;
	/* One transfer at a time: completions stay in posting order. */
	struct mutex op_lock;
	void *bounce;			/* one page, under op_lock */
	u32 seq;

	/* Completions for read(), a circular queue under op_lock. */
	struct drvops_generic_completion *cq;
	unsigned int cq_head;
	unsigned int cq_count;

	/* Version 2 ring, published once with release semantics. */
	struct drvops_generic_ring_header *ring;
	u32 ring_entries;
	u32 ring_prod;			/* the kernel's own copy */
	size_t ring_bytes;
};

/* One end of a transfer: a user address, or an offset in a bound MR. */
struct generic_side {
	struct drvops_binding *binding;
	struct swverbs_mr *mr;
	u64 addr;
};

static struct generic_file *to_gf(struct drvops_file *file)
{
	return drvops_file_priv(file);
}

static struct drvops_generic_completion *
generic_ring_entries(struct generic_file *gf)
{
	return (void *)(gf->ring + 1);
}

static int generic_side_get(struct drvops_file *file,
			    const struct drvops_generic_buf *buf, u64 len,
			    bool write, struct generic_side *side)
{
	struct swverbs_mr *mr;

	side->binding = NULL;
	side->mr = NULL;
	side->addr = buf->addr;
	if (buf->flags & ~DRVOPS_GENERIC_BUF_MR)
		return -EOPNOTSUPP;
	if (!(buf->flags & DRVOPS_GENERIC_BUF_MR))
		return buf->mr_handle ? -EOPNOTSUPP : 0;

	side->binding = drvops_file_get_binding(file, DRVOPS_OBJ_MR,
						buf->mr_handle);
	if (!side->binding)
		return -ENOENT;
	mr = to_swverbs_mr(side->binding->mr);
	if (buf->addr > mr->length || len > mr->length - buf->addr ||
	    (write && !(mr->access & IB_ACCESS_LOCAL_WRITE))) {
		drvops_binding_put(side->binding);
		side->binding = NULL;
		return -EINVAL;
	}
	side->mr = mr;
	return 0;
}

static void generic_side_put(struct generic_side *side)
{
	if (side->binding)
		drvops_binding_put(side->binding);
}

static int generic_side_read(struct generic_side *s, u64 off, void *dst,
			     size_t n)
{
	if (s->mr) {
		swverbs_mr_io(s->mr, s->addr + off, dst, n, false);
		return 0;
	}
	return copy_from_user(dst, u64_to_user_ptr(s->addr + off), n) ?
	       -EFAULT : 0;
}

static int generic_side_write(struct generic_side *s, u64 off,
			      const void *src, size_t n)
{
	if (s->mr) {
		swverbs_mr_io(s->mr, s->addr + off, (void *)src, n, true);
		return 0;
	}
	return copy_to_user(u64_to_user_ptr(s->addr + off), src, n) ?
	       -EFAULT : 0;
}

/*
 * Move len bytes through the bounce page; src NULL means fill. Stops
 * early on a fatal signal or teardown, which waits for this loop.
 */
static int generic_move(struct generic_file *gf, struct generic_side *src,
			struct generic_side *dst, u64 len, u64 *moved)
{
	u64 off;
	int ret = 0;

	for (off = 0; off < len && !ret; off += PAGE_SIZE) {
		size_t n = min_t(u64, len - off, PAGE_SIZE);

		if (src)
			ret = generic_side_read(src, off, gf->bounce, n);
		if (!ret)
			ret = generic_side_write(dst, off, gf->bounce, n);
		if (!ret)
			*moved += n;
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		if (!ret && drvops_file_dying(gf->file))
			ret = -EIO;
		cond_resched();
	}
	return ret;
}

static bool generic_has_room(struct generic_file *gf)
{
	if (gf->ring)
		return gf->ring_prod - READ_ONCE(gf->ring->consumer) <
		       gf->ring_entries;
	return gf->cq_count < DRVOPS_GENERIC_CQ_DEPTH;
}

static void generic_complete(struct generic_file *gf, u64 user_data,
			     u64 length, int status)
{
	struct drvops_generic_completion c = {
		.user_data = user_data,
		.length = length,
		.status = status,
		.seq = gf->seq++,
	};

	lockdep_assert_held(&gf->op_lock);
	if (gf->ring) {
		generic_ring_entries(gf)[gf->ring_prod & (gf->ring_entries - 1)] = c;
		gf->ring_prod++;
		/* The entry is visible before the producer index. */
		smp_store_release(&gf->ring->producer, gf->ring_prod);
	} else {
		gf->cq[(gf->cq_head + gf->cq_count) %
		       DRVOPS_GENERIC_CQ_DEPTH] = c;
		WRITE_ONCE(gf->cq_count, gf->cq_count + 1);
	}
	drvops_file_wake(gf->file);
}

/* Validate, move, complete. src NULL: fill dst with pattern. */
static int generic_transfer(struct drvops_file *file,
			    const struct drvops_generic_buf *src,
			    const struct drvops_generic_buf *dst, u64 len,
			    u64 user_data, u8 pattern)
{
	struct generic_file *gf = to_gf(file);
	struct generic_side s = {}, d = {};
	u64 moved = 0;
	int ret, status;

	if (!len || len > DRVOPS_GENERIC_MAX_LENGTH)
		return -EINVAL;
	ret = src ? generic_side_get(file, src, len, false, &s) : 0;
	if (!ret)
		ret = generic_side_get(file, dst, len, true, &d);
	if (ret)
		goto out;

	mutex_lock(&gf->op_lock);
	if (!generic_has_room(gf)) {
		ret = -ENOSPC;
	} else {
		if (!src)
			memset(gf->bounce, pattern, PAGE_SIZE);
		status = generic_move(gf, src ? &s : NULL, &d, len, &moved);
		generic_complete(gf, user_data, moved, status);
	}
	mutex_unlock(&gf->op_lock);
out:
	generic_side_put(&s);
	generic_side_put(&d);
	return ret;
}

static int generic_ioctl_noop(struct drvops_ucmd *ucmd)
{
	struct drvops_generic_noop *cmd = ucmd->cmd;

	return cmd->__reserved ? -EOPNOTSUPP : 0;
}

static int generic_ioctl_copy(struct drvops_ucmd *ucmd)
{
	struct drvops_generic_copy *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	return generic_transfer(ucmd->file, &cmd->src, &cmd->dst, cmd->length,
				cmd->user_data, 0);
}

static int generic_ioctl_fill(struct drvops_ucmd *ucmd)
{
	struct drvops_generic_fill *cmd = ucmd->cmd;

	if (cmd->flags || memchr_inv(cmd->__reserved, 0,
				     sizeof(cmd->__reserved)))
		return -EOPNOTSUPP;
	return generic_transfer(ucmd->file, NULL, &cmd->dst, cmd->length,
				cmd->user_data, cmd->pattern);
}

static int generic_ioctl_ring_setup(struct drvops_ucmd *ucmd)
{
	struct drvops_generic_ring_setup *cmd = ucmd->cmd;
	struct generic_file *gf = ucmd->priv;	/* drvops_file_priv() */
	struct drvops_generic_ring_header *ring;
	size_t bytes;
	int ret;

	if (cmd->entries < GENERIC_RING_MIN || cmd->entries > GENERIC_RING_MAX ||
	    !is_power_of_2(cmd->entries))
		return -EINVAL;
	bytes = PAGE_ALIGN(sizeof(*ring) + cmd->entries *
			   sizeof(struct drvops_generic_completion));

	mutex_lock(&gf->op_lock);
	if (gf->ring) {
		ret = -EEXIST;
		goto unlock;
	}
	if (gf->cq_count) {
		/* Completions waiting for read() would be stranded. */
		ret = -EBUSY;
		goto unlock;
	}
	/*
	 * Charged to the caller's memory cgroup; a failure, or a cgroup at
	 * its memory.max, is the caller's ENOMEM, not a warning or an OOM
	 * kill.
	 */
	ring = __vmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN |
			 __GFP_RETRY_MAYFAIL);
	if (!ring) {
		ret = -ENOMEM;
		goto unlock;
	}
	/* Answer first: a failed ioctl must leave the fd as it was. */
	cmd->mmap_offset = 0;
	cmd->mmap_length = bytes;
	ret = drvops_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		vfree(ring);
		goto unlock;
	}
	ring->entries = cmd->entries;
	gf->ring_entries = cmd->entries;
	gf->ring_bytes = bytes;
	/* poll/mmap read the ring unlocked: sizes first. */
	smp_store_release(&gf->ring, ring);
unlock:
	mutex_unlock(&gf->op_lock);
	return ret;
}

static ssize_t generic_read(struct drvops_file *file, char __user *buf,
			    size_t len)
{
	const size_t esize = sizeof(struct drvops_generic_completion);
	struct generic_file *gf = to_gf(file);
	ssize_t done = 0;

	if (len < esize)
		return -EINVAL;
	mutex_lock(&gf->op_lock);
	if (gf->ring && !gf->cq_count) {
		mutex_unlock(&gf->op_lock);
		return -EINVAL;
	}
	while (gf->cq_count && len - done >= esize) {
		if (copy_to_user(buf + done, &gf->cq[gf->cq_head], esize)) {
			if (!done)
				done = -EFAULT;
			break;
		}
		/* Consumed only once the user has it: nothing is lost. */
		gf->cq_head = (gf->cq_head + 1) % DRVOPS_GENERIC_CQ_DEPTH;
		WRITE_ONCE(gf->cq_count, gf->cq_count - 1);
		done += esize;
	}
	mutex_unlock(&gf->op_lock);
	return done ? done : -EAGAIN;
}

static __poll_t generic_poll(struct drvops_file *file)
{
	struct generic_file *gf = to_gf(file);
	/* Pairs with RING_SETUP: ring_entries is valid once ring is seen. */
	struct drvops_generic_ring_header *ring = smp_load_acquire(&gf->ring);
	__poll_t mask = 0;

	if (READ_ONCE(gf->cq_count))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (ring) {
		u32 prod = READ_ONCE(gf->ring_prod);
		u32 cons = READ_ONCE(ring->consumer);

		if (prod != cons)
			mask |= EPOLLIN | EPOLLRDNORM;
		if (prod - cons < gf->ring_entries)
			mask |= EPOLLOUT | EPOLLWRNORM;
	} else if (READ_ONCE(gf->cq_count) < DRVOPS_GENERIC_CQ_DEPTH) {
		mask |= EPOLLOUT | EPOLLWRNORM;
	}
	return mask;
}

static int generic_mmap(struct drvops_file *file, struct vm_area_struct *vma)
{
	struct generic_file *gf = to_gf(file);
	/* Pairs with RING_SETUP: ring_bytes is valid once ring is seen. */
	struct drvops_generic_ring_header *ring = smp_load_acquire(&gf->ring);

	if (!ring)
		return -ENODEV;
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != gf->ring_bytes ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	return 0;
}

static vm_fault_t generic_fault(struct drvops_file *file, struct vm_fault *vmf)
{
	struct generic_file *gf = to_gf(file);
	struct page *page;

	if (vmf->pgoff >= gf->ring_bytes >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page((void *)gf->ring + (vmf->pgoff << PAGE_SHIFT));
	get_page(page);
	vmf->page = page;
	return 0;
}

/*
 * Only the caller's own memory: a fork child shares the parent's uverbs
 * context and could otherwise bind (and read) the parent's MRs. Bound
 * objects are used only during an ioctl, so unbind has nothing to stop.
 */
static int generic_bind(struct drvops_file *file,
			struct drvops_binding *binding)
{
	if (binding->type == DRVOPS_OBJ_MR &&
	    to_swverbs_mr(binding->mr)->umem->owning_mm != current->mm)
		return -EPERM;
	return 0;
}

static int generic_open(struct drvops_file *file)
{
	struct generic_file *gf;

	gf = kzalloc(sizeof(*gf), GFP_KERNEL_ACCOUNT);
	if (!gf)
		return -ENOMEM;
	gf->cq = kcalloc(DRVOPS_GENERIC_CQ_DEPTH, sizeof(*gf->cq),
			 GFP_KERNEL_ACCOUNT);
	gf->bounce = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!gf->cq || !gf->bounce) {
		free_page((unsigned long)gf->bounce);
		kfree(gf->cq);
		kfree(gf);
		return -ENOMEM;
	}
	mutex_init(&gf->op_lock);
	gf->file = file;
	drvops_file_set_priv(file, gf);
	return 0;
}

static void generic_release(struct drvops_file *file)
{
	struct generic_file *gf = to_gf(file);

	vfree(gf->ring);
	free_page((unsigned long)gf->bounce);
	kfree(gf->cq);
	kfree(gf);
}

/* One table for both versions: FILL and the ring came with version 2. */
static const struct drvops_ioctl_op generic_ioctls[] = {
	DRVOPS_IOCTL_OP(DRVOPS_GENERIC_IOCTL_NOOP, generic_ioctl_noop,
			struct drvops_generic_noop, __reserved),
	DRVOPS_IOCTL_OP(DRVOPS_GENERIC_IOCTL_COPY, generic_ioctl_copy,
			struct drvops_generic_copy, user_data),
	DRVOPS_IOCTL_OP_SINCE(2, DRVOPS_GENERIC_IOCTL_FILL, generic_ioctl_fill,
			      struct drvops_generic_fill, __reserved),
	DRVOPS_IOCTL_OP_SINCE(2, DRVOPS_GENERIC_IOCTL_RING_SETUP,
			      generic_ioctl_ring_setup,
			      struct drvops_generic_ring_setup, mmap_length),
};

static const struct drvops_version_ops generic_v1_ops = {
	.ioctls = generic_ioctls,
	.num_ioctls = ARRAY_SIZE(generic_ioctls),
	.open = generic_open,
	.release = generic_release,
	.read = generic_read,
	.poll = generic_poll,
	.bind = generic_bind,
};

static const struct drvops_version_ops generic_v2_ops = {
	.ioctls = generic_ioctls,
	.num_ioctls = ARRAY_SIZE(generic_ioctls),
	.open = generic_open,
	.release = generic_release,
	.read = generic_read,
	.poll = generic_poll,
	.mmap = generic_mmap,
	.fault = generic_fault,
	.bind = generic_bind,
};

static const struct drvops_version_ops *const generic_versions[] = {
	&generic_v1_ops,
	&generic_v2_ops,
};

static const struct drvops_alias generic_aliases[] = {
	{ .name = DRVOPS_GENERIC_LEGACY_NAME, .max_version = 1 },
};

const struct drvops_interface generic_copy_interface = {
	.name = DRVOPS_GENERIC_NAME,
	.aliases = generic_aliases,
	.num_aliases = ARRAY_SIZE(generic_aliases),
	.min_version = 1,
	.max_version = 2,
	.versions = generic_versions,
};

/* What an old driver build offered: the old name, version 1 only. */
const struct drvops_interface generic_copy_legacy_interface = {
	.name = DRVOPS_GENERIC_LEGACY_NAME,
	.min_version = 1,
	.max_version = 1,
	.versions = generic_versions,
};
