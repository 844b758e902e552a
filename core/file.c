// SPDX-License-Identifier: GPL-2.0
/*
 * The driver-ops fd: file operations and their synchronisation with
 * teardown. See struct drvops_file for the lifetime rules.
 *
 * f->ops lives in the driver module, which may be gone once the fd is
 * dead (rmmod after disassociate): touch it only between drvops_enter()
 * and drvops_exit().
 *
 * Every operation first checks that the caller is the creating process
 * (same mm): the fd gives access to that process's pinned memory through
 * bound MRs, so another process (a fork child, a receiver over
 * SCM_RIGHTS) may only close it.
 */
#include <linux/anon_inodes.h>
#include <linux/cgroup_rdma.h>
#include <linux/file.h>
#include <linux/pfn_t.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "drvops_priv.h"

struct drvops_stats drvops_stats;

struct drvops_file *drvops_file_alloc(struct drvops_device *dd,
				      struct ib_ucontext *ucontext,
				      const struct drvops_interface *iface,
				      u32 version)
{
	struct drvops_file *f;

	/* Charged to the caller's memory cgroup, like every per-fd object. */
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return NULL;
	if (drvops_active_init(&f->active, GFP_KERNEL_ACCOUNT)) {
		kfree(f);
		return NULL;
	}
	kref_init(&f->ref);
	mutex_init(&f->kill_lock);
	init_waitqueue_head(&f->wait);
	spin_lock_init(&f->bind_lock);
	INIT_LIST_HEAD(&f->bindings);
	INIT_LIST_HEAD(&f->dev_node);
	f->dd = dd;
	f->ucontext = ucontext;
	f->iface = iface;
	f->version = version;
	f->ops = iface->versions[version - iface->min_version];
	f->mm = current->mm;
	mmgrab(f->mm);
	/* Until open succeeds the file counts as dead: nothing to release. */
	f->dead = true;
	atomic_inc(&drvops_stats.files);
	return f;
}

/*
 * Each fd is one hca_object of the caller's rdma cgroup, like an IDR
 * object, so that rdma.max limits driver-ops fds in containers too.
 * Uncharged at kill, which runs before ib_unregister_device() drops the
 * device's cgroup pools.
 */
static int drvops_cg_charge(struct drvops_file *f)
{
#ifdef CONFIG_CGROUP_RDMA
	return rdmacg_try_charge(&f->cg_obj.cg, &f->dd->ibdev->cg_device,
				 RDMACG_RESOURCE_HCA_OBJECT);
#else
	return 0;
#endif
}

static void drvops_cg_uncharge(struct drvops_file *f)
{
#ifdef CONFIG_CGROUP_RDMA
	rdmacg_uncharge(f->cg_obj.cg, &f->dd->ibdev->cg_device,
			RDMACG_RESOURCE_HCA_OBJECT);
#endif
}

/*
 * Charge the rdma cgroup, call the driver's open and make the file live on
 * its device. On failure nothing is left charged or linked.
 */
int drvops_file_open(struct drvops_file *f)
{
	int ret;

	ret = drvops_cg_charge(f);
	if (ret)
		return ret;
	if (f->ops->open) {
		ret = f->ops->open(f);
		if (ret) {
			drvops_cg_uncharge(f);
			return ret;
		}
	}
	f->dead = false;
	atomic_inc(&drvops_stats.live_files);
	mutex_lock(&f->dd->lock);
	list_add_tail(&f->dev_node, &f->dd->files);
	mutex_unlock(&f->dd->lock);
	return 0;
}

static void drvops_file_free(struct kref *ref)
{
	struct drvops_file *f = container_of(ref, struct drvops_file, ref);

	mmdrop(f->mm);
	/* Killed and drained, or never opened (so never entered). */
	drvops_active_free(&f->active);
	atomic_dec(&drvops_stats.files);
	kfree(f);
}

void drvops_file_put(struct drvops_file *f)
{
	kref_put(&f->ref, drvops_file_free);
}

/**
 * drvops_file_kill - end a driver-ops fd's life, exactly once
 * @f: the file
 *
 * Returns once no handler runs and release() has been called. Safe to
 * call concurrently and repeatedly; later calls wait for the first.
 */
void drvops_file_kill(struct drvops_file *f)
{
	struct address_space *mapping;

	mutex_lock(&f->kill_lock);
	if (f->dead) {
		mutex_unlock(&f->kill_lock);
		return;
	}
	WRITE_ONCE(f->dead, true);

	/* Stop new operations, then wake and drain the ones in progress. */
	drvops_active_kill(&f->active);
	wake_up_all(&f->wait);
	drvops_active_wait_drained(&f->active);

	/* No page of the driver may stay reachable from userspace. */
	mapping = READ_ONCE(f->mapping);	/* published by mmap */
	if (mapping)
		unmap_mapping_range(mapping, 0, 0, 1);

	/* release() stops the driver's asynchronous users of bindings. */
	if (f->ops->release)
		f->ops->release(f);
	drvops_unbind_all(f);

	drvops_cg_uncharge(f);
	mutex_lock(&f->dd->lock);
	list_del_init(&f->dev_node);
	mutex_unlock(&f->dd->lock);
	atomic_dec(&drvops_stats.live_files);
	mutex_unlock(&f->kill_lock);
}

/* Wait condition: dead, or the driver reports one of @events. */
static bool drvops_ready(struct drvops_file *f, __poll_t events)
{
	__poll_t mask;

	if (!drvops_enter(f))
		return true;
	mask = f->ops->poll(f);
	drvops_exit(f);
	return mask & (events | EPOLLERR | EPOLLHUP);
}

static int drvops_fop_release(struct inode *inode, struct file *filp)
{
	struct drvops_file *f = filp->private_data;

	drvops_file_kill(f);
	drvops_file_put(f);
	return 0;
}

static ssize_t drvops_fop_read(struct file *filp, char __user *buf,
			       size_t len, loff_t *pos)
{
	struct drvops_file *f = filp->private_data;
	ssize_t ret;

	if (drvops_foreign(f))
		return -EPERM;
	for (;;) {
		if (!drvops_enter(f))
			return -EIO;
		ret = f->ops->read ? f->ops->read(f, buf, len) : -EINVAL;
		drvops_exit(f);
		if (ret != -EAGAIN || (filp->f_flags & O_NONBLOCK))
			return ret;
		if (wait_event_interruptible(f->wait, drvops_ready(f, EPOLLIN)))
			return -ERESTARTSYS;
	}
}

static ssize_t drvops_fop_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct drvops_file *f = iocb->ki_filp->private_data;
	ssize_t ret;

	if (drvops_foreign(f))
		return -EPERM;
	for (;;) {
		if (!drvops_enter(f))
			return -EIO;
		ret = f->ops->write_iter ? f->ops->write_iter(f, from) : -EINVAL;
		drvops_exit(f);
		if (ret != -EAGAIN || (iocb->ki_filp->f_flags & O_NONBLOCK) ||
		    (iocb->ki_flags & IOCB_NOWAIT))
			return ret;
		if (wait_event_interruptible(f->wait, drvops_ready(f, EPOLLOUT)))
			return -ERESTARTSYS;
	}
}

static __poll_t drvops_fop_poll(struct file *filp, poll_table *wait)
{
	struct drvops_file *f = filp->private_data;
	__poll_t mask = 0;

	if (drvops_foreign(f))
		return EPOLLERR;
	poll_wait(filp, &f->wait, wait);
	/* Queued before the state is read: pairs with drvops_file_wake(). */
	smp_mb();
	if (!drvops_enter(f))
		return EPOLLERR | EPOLLHUP;
	if (f->ops->poll)
		mask = f->ops->poll(f);
	drvops_exit(f);
	return mask;
}

/*
 * The PTE is installed here, while the fd is held alive: had the core mm
 * installed it after we return, a fault that began before kill could map
 * the page after kill's zap. Only the creator's mm may fault pages in.
 */
static vm_fault_t drvops_vm_fault(struct vm_fault *vmf)
{
	struct drvops_file *f = vmf->vma->vm_file->private_data;
	vm_fault_t ret;

	if (vmf->vma->vm_mm != f->mm)
		return VM_FAULT_SIGBUS;
	if (!drvops_enter(f))
		return VM_FAULT_SIGBUS;
	vmf->page = NULL;
	ret = f->ops->fault(f, vmf);
	if (!ret && vmf->page) {
		ret = vmf_insert_mixed(vmf->vma, vmf->address,
				       page_to_pfn_t(vmf->page));
		put_page(vmf->page);	/* the PTE holds its own reference */
		vmf->page = NULL;
	} else if (!ret) {
		ret = VM_FAULT_SIGBUS;
	}
	drvops_exit(f);
	drvops_inject_delay(DRVOPS_INJECT_FAULT);
	return ret;
}

static const struct vm_operations_struct drvops_vm_ops = {
	.fault = drvops_vm_fault,
};

static int drvops_fop_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct drvops_file *f = filp->private_data;
	int ret;

	if (drvops_foreign(f))
		return -EPERM;
	if (!drvops_enter(f))
		return -EIO;
	ret = f->ops->mmap ? f->ops->mmap(f, vma) : -ENODEV;
	if (!ret) {
		/*
		 * Not inherited (a child may not use this fd anyway), and
		 * VM_IO so that MADV_DOFORK cannot undo that and nobody can
		 * pin these pages with GUP. MIXEDMAP: the fault handler
		 * inserts refcounted pages itself.
		 */
		vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP |
			     VM_IO | VM_MIXEDMAP);
		vma->vm_ops = &drvops_vm_ops;
		WRITE_ONCE(f->mapping, filp->f_mapping);
	}
	drvops_exit(f);
	return ret;
}

const struct file_operations drvops_fops = {
	.owner = THIS_MODULE,
	.release = drvops_fop_release,
	.unlocked_ioctl = drvops_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = drvops_fop_read,
	.write_iter = drvops_fop_write_iter,
	.poll = drvops_fop_poll,
	.mmap = drvops_fop_mmap,
};

/* The drvops_file behind an fd, or NULL if it is no driver-ops fd. */
struct drvops_file *drvops_file_from_fd(struct fd fd)
{
	struct file *file = fd_file(fd);

	if (!file || file->f_op != &drvops_fops)
		return NULL;
	return file->private_data;
}

void *drvops_file_priv(const struct drvops_file *file)
{
	return file->priv;
}
EXPORT_SYMBOL_GPL(drvops_file_priv);

void drvops_file_set_priv(struct drvops_file *file, void *priv)
{
	file->priv = priv;
}
EXPORT_SYMBOL_GPL(drvops_file_set_priv);

u32 drvops_file_version(const struct drvops_file *file)
{
	return file->version;
}
EXPORT_SYMBOL_GPL(drvops_file_version);

struct ib_device *drvops_file_ibdev(const struct drvops_file *file)
{
	return file->dd->ibdev;
}
EXPORT_SYMBOL_GPL(drvops_file_ibdev);

bool drvops_file_dying(const struct drvops_file *file)
{
	return READ_ONCE(file->dead);
}
EXPORT_SYMBOL_GPL(drvops_file_dying);

/*
 * Most wakes find nobody waiting (a spinning receiver, a sender that
 * checks its slots): wq_has_sleeper() spares them the waitqueue lock. Its
 * barrier pairs with the one after poll_wait() in drvops_fop_poll() and
 * with set_current_state() in wait_event_*().
 */
void drvops_file_wake(struct drvops_file *file)
{
	if (wq_has_sleeper(&file->wait))
		wake_up_all(&file->wait);
}
EXPORT_SYMBOL_GPL(drvops_file_wake);
