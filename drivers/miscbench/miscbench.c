// SPDX-License-Identifier: GPL-2.0
/*
 * drvops_miscbench: the baseline of the drvops benchmarks (ABI in
 * uapi/rdma/drvops_miscbench.h). A bare misc char device whose ioctls do
 * the work of copy.generic's NOOP and COPY (a user-to-user copy through a
 * per-fd bounce page, in the caller's context) with a plain switch on the
 * ioctl number: what a private driver char device costs, without the
 * broker's dispatch, lifetime and permission checks.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <rdma/drvops_miscbench.h>

struct miscbench_file {
	struct mutex lock;	/* one copy at a time, like copy.generic */
	void *bounce;		/* one page, under lock */
};

static int miscbench_open(struct inode *inode, struct file *filp)
{
	struct miscbench_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL);
	if (!mf)
		return -ENOMEM;
	mf->bounce = (void *)__get_free_page(GFP_KERNEL);
	if (!mf->bounce) {
		kfree(mf);
		return -ENOMEM;
	}
	mutex_init(&mf->lock);
	filp->private_data = mf;
	return 0;
}

static int miscbench_release(struct inode *inode, struct file *filp)
{
	struct miscbench_file *mf = filp->private_data;

	free_page((unsigned long)mf->bounce);
	kfree(mf);
	return 0;
}

static int miscbench_move(struct miscbench_file *mf, u64 src, u64 dst,
			  u64 len)
{
	u64 off;

	for (off = 0; off < len; off += PAGE_SIZE) {
		size_t n = min_t(u64, len - off, PAGE_SIZE);

		if (copy_from_user(mf->bounce, u64_to_user_ptr(src + off), n) ||
		    copy_to_user(u64_to_user_ptr(dst + off), mf->bounce, n))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

static int miscbench_copy(struct miscbench_file *mf, void __user *arg)
{
	struct drvops_miscbench_copy cmd;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (!cmd.length || cmd.length > DRVOPS_MISCBENCH_MAX_LENGTH)
		return -EINVAL;
	mutex_lock(&mf->lock);
	ret = miscbench_move(mf, cmd.src, cmd.dst, cmd.length);
	mutex_unlock(&mf->lock);
	return ret;
}

static long miscbench_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct drvops_miscbench_noop noop;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DRVOPS_MISCBENCH_IOCTL_NOOP:
		if (copy_from_user(&noop, uarg, sizeof(noop)))
			return -EFAULT;
		return noop.__reserved ? -EOPNOTSUPP : 0;
	case DRVOPS_MISCBENCH_IOCTL_COPY:
		return miscbench_copy(filp->private_data, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations miscbench_fops = {
	.owner = THIS_MODULE,
	.open = miscbench_open,
	.release = miscbench_release,
	.unlocked_ioctl = miscbench_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice miscbench_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "drvops_miscbench",
	.fops = &miscbench_fops,
	.mode = 0600,
};

module_misc_device(miscbench_dev);

MODULE_DESCRIPTION("drvops benchmark baseline: a bare misc char device");
MODULE_LICENSE("GPL");
