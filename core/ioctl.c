// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl dispatcher of driver-ops fds, with the rules of iommufd:
 * unknown number -> ENOTTY; size < min_size -> EINVAL; bytes beyond what
 * the kernel knows must be zero (E2BIG); responses are cut to the user's
 * size. The broker's own commands (0xC0..) come first, then the table of
 * the negotiated version.
 */
#include <linux/uaccess.h>
#include "drvops_priv.h"

static bool drvops_is_broker_cmd(unsigned int cmd)
{
	return _IOC_TYPE(cmd) == DRVOPS_IOCTL_TYPE &&
	       _IOC_NR(cmd) >= DRVOPS_IOCTL_BROKER_BASE &&
	       _IOC_NR(cmd) < DRVOPS_IOCTL_BROKER_BASE + 0x10;
}

/*
 * Replies are a few words: written in one user-access window, a word at a
 * time, instead of through copy_to_user()'s out-of-line string move.
 */
int drvops_ucmd_respond(struct drvops_ucmd *ucmd, size_t len)
{
	len = min3(len, (size_t)ucmd->user_size, (size_t)ucmd->kernel_size);
	if (!user_write_access_begin(ucmd->ubuffer, len))
		return -EFAULT;
	unsafe_copy_to_user(ucmd->ubuffer, ucmd->cmd, len, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}
EXPORT_SYMBOL_GPL(drvops_ucmd_respond);

static int drvops_get_info(struct drvops_ucmd *ucmd)
{
	struct drvops_file *f = ucmd->file;
	struct drvops_info *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	cmd->version = f->version;
	strscpy(cmd->name, f->iface->name, sizeof(cmd->name));
	cmd->node_guid = be64_to_cpu(f->dd->ibdev->node_guid);
	cmd->ibdev_index = f->dd->ibdev->index;
	return drvops_ucmd_respond(ucmd, sizeof(*cmd));
}

static const struct drvops_ioctl_op drvops_broker_ioctls[] = {
	DRVOPS_IOCTL_OP(DRVOPS_IOCTL_GET_INFO, drvops_get_info,
			struct drvops_info, __reserved),
};

/* The entry for cmd, if this fd's version has it: one index, no search. */
static const struct drvops_ioctl_op *
drvops_lookup_op(const struct drvops_ioctl_op *ops, unsigned int n,
		 unsigned int cmd, u32 version)
{
	unsigned int slot = DRVOPS_IOCTL_SLOT(cmd);

	if (slot >= n || ops[slot].ioctl_num != cmd || !ops[slot].execute ||
	    ops[slot].since > version)
		return NULL;
	return &ops[slot];
}

/*
 * The kernel's whole struct: a few words, read as such when they are.
 * This and drvops_copy_cmd() are inline on purpose: with two callers gcc
 * made them calls, and the NOOP went from 1.07-1.12 to 1.18 of the misc
 * NOOP.
 */
static __always_inline bool drvops_read_cmd(void *cmd,
					    const void __user *ubuffer,
					    u32 size)
{
	if (size % sizeof(u64))
		return !copy_from_user(cmd, ubuffer, size);
	return drvops_read_user_words(cmd, ubuffer, size);
}

/*
 * The command, as copy_struct_from_user() defines it, in one user access
 * in the common case: the kernel's whole struct is read at once and, if
 * its size field says exactly that, done. Any other size (or a struct that
 * ends before a fault) goes the usual two-step way.
 */
static __always_inline int drvops_copy_cmd(struct drvops_ucmd *ucmd,
					   const struct drvops_ioctl_op *op)
{
	if (drvops_read_cmd(ucmd->cmd, ucmd->ubuffer, op->size)) {
		ucmd->user_size = *(u32 *)ucmd->cmd;
		if (ucmd->user_size == op->size)
			return 0;
	} else if (get_user(ucmd->user_size, (u32 __user *)ucmd->ubuffer)) {
		return -EFAULT;
	}
	if (ucmd->user_size < op->min_size)
		return -EINVAL;
	return copy_struct_from_user(ucmd->cmd, op->size, ucmd->ubuffer,
				     ucmd->user_size);
}

/*
 * DRVOPS_IOCTL_QUERY, the common case: the answer is made first, then one
 * user access reads the header and, if it is exactly the kernel's (its
 * size, __reserved 0), writes the answer. Returns 1 for anything else (the
 * handler failed, another size, __reserved set, the header unreadable):
 * the ordinary path then gives the errno. The header is not written back:
 * the user's is already what respond would copy.
 */
static __always_inline int drvops_query_fast(struct drvops_ucmd *ucmd,
					     const struct drvops_ioctl_op *op)
{
	u64 __user *ubuf = ucmd->ubuffer;
	u64 *answer = ucmd->cmd;
	union {
		u64 word;
		struct {
			u32 size;
			u32 reserved;
		};
	} head;
	unsigned int i;

	/* The buffer is not zeroed per call: a field a handler skips is 0. */
	for (i = 1; i < op->size / sizeof(u64); i++)
		answer[i] = 0;
	if (op->execute(ucmd))
		return 1;
	if (!user_access_begin(ubuf, op->size))
		return 1;
	unsafe_get_user(head.word, ubuf, unread);
	if (head.size != op->size || head.reserved)
		goto unread;
	for (i = 1; i < op->size / sizeof(u64); i++)
		unsafe_put_user(answer[i], &ubuf[i], efault);
	user_access_end();
	return 0;
unread:
	user_access_end();
	return 1;
efault:
	user_access_end();
	return -EFAULT;
}

/* A query: the fast path, else the ordinary one with its checks. */
static __always_inline int drvops_query(struct drvops_ucmd *ucmd,
					const struct drvops_ioctl_op *op)
{
	int ret = drvops_query_fast(ucmd, op);

	if (ret <= 0)
		return ret;
	ret = drvops_copy_cmd(ucmd, op);
	if (ret)
		return ret;
	if (((u32 *)ucmd->cmd)[1])	/* __reserved */
		return -EOPNOTSUPP;
	ret = op->execute(ucmd);
	if (ret)
		return ret;
	return drvops_ucmd_respond(ucmd, op->size);
}


static __always_inline long
drvops_dispatch_ioctl(struct drvops_file *f, unsigned int cmd,
		      unsigned long arg)
{
	/*
	 * Written before it is read, up to op->size (the handler's struct;
	 * respond copies no more): no zeroing on every call.
	 */
	union {
		u32 size;
		u64 words[DRVOPS_IOCTL_MAX_SIZE / sizeof(u64)];	/* aligned */
	} buf drvops_uninitialized;
	struct drvops_ucmd ucmd = {
		.file = f,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
		.priv = f->priv,
	};
	const struct drvops_ioctl_op *op;
	int ret;

	if (drvops_is_broker_cmd(cmd))
		op = drvops_lookup_op(drvops_broker_ioctls,
				      ARRAY_SIZE(drvops_broker_ioctls), cmd,
				      f->version);
	else
		op = drvops_lookup_op(f->ops->ioctls, f->ops->num_ioctls, cmd,
				      f->version);
	if (!op)
		return -ENOIOCTLCMD;

	ucmd.kernel_size = op->size;
	if (unlikely(op->query))	/* one test on every other path */
		return drvops_query(&ucmd, op);
	ret = drvops_copy_cmd(&ucmd, op);
	if (ret)
		return ret;
	return op->execute(&ucmd);
}

/* The file operation, with the dispatcher inlined: one call less per ioctl. */
long drvops_fop_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct drvops_file *f = filp->private_data;
	long ret;

	if (drvops_foreign(f))
		return -EPERM;
	if (!drvops_enter(f))
		return -EIO;
	ret = drvops_dispatch_ioctl(f, cmd, arg);
	drvops_exit(f);
	return ret;
}

/*
 * Registration-time check of a driver's table: every entry in its place
 * (DRVOPS_IOCTL_SLOT), all in one interface range, sizes we can copy.
 */
int drvops_check_ioctl_table(const struct drvops_version_ops *ops)
{
	unsigned int i, range = 0;

	if (ops->num_ioctls && !ops->ioctls)
		return -EINVAL;
	if (ops->num_ioctls > DRVOPS_IOCTL_RANGE)
		return -EINVAL;
	for (i = 0; i < ops->num_ioctls; i++) {
		const struct drvops_ioctl_op *op = &ops->ioctls[i];
		unsigned int nr = _IOC_NR(op->ioctl_num);

		if (!op->execute && !op->ioctl_num)
			continue;		/* a hole */
		if (op->size > DRVOPS_IOCTL_MAX_SIZE ||
		    op->min_size < sizeof(u32) || op->min_size > op->size ||
		    !op->execute || DRVOPS_IOCTL_SLOT(op->ioctl_num) != i)
			return -EINVAL;
		/* A query's header is two u32s, its answer whole words. */
		if (op->query && (op->size % sizeof(u64) ||
				  op->size <= sizeof(u64) ||
				  op->min_size < sizeof(u64)))
			return -EINVAL;
		/* Only the interfaces' own numbers (see drvops_ioctl.h). */
		if (_IOC_TYPE(op->ioctl_num) != DRVOPS_IOCTL_TYPE ||
		    nr < DRVOPS_IOCTL_IFACE_FIRST ||
		    nr > DRVOPS_IOCTL_IFACE_LAST)
			return -EINVAL;
		if (!range)
			range = nr - DRVOPS_IOCTL_SLOT(op->ioctl_num);
		else if (nr - DRVOPS_IOCTL_SLOT(op->ioctl_num) != range)
			return -EINVAL;
	}
	return 0;
}
