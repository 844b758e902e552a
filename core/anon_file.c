// SPDX-License-Identifier: GPL-2.0
/*
 * Driver-ops files, made without installing an fd.
 *
 * GET_FD must not install the fd before its outputs are written: another
 * thread could dup it before a failing reply copy closes it again. Each
 * file gets its own inode in the LSM context of the uverbs file it was
 * asked on (SELinux labels it like /dev/infiniband/uverbsN and checks
 * every operation against that), and /proc shows it as
 * "anon_inode:[drvops]". The two kernels export different ways to build
 * such a file without installing it, hence the two constructors below:
 *  - 6.12: anon_inode_create_getfile();
 *  - 6.1: anon_inode_getfd_secure() installs at once, so the inode comes
 *    from anon_inode_make_secure_inode() and the file lives on a pseudo
 *    filesystem of ours, the way secretmem does it.
 * Only 6.1.y and 6.12.y are built and tested.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include "drvops_priv.h"

static const char drvops_anon_name[] = "[drvops]";

#if DRVOPS_KV >= 612

int drvops_anon_init(void)
{
	return 0;
}

void drvops_anon_exit(void)
{
}

static struct file *drvops_anon_getfile(struct drvops_file *f,
					const struct inode *context)
{
	return anon_inode_create_getfile(drvops_anon_name, &drvops_fops, f,
					 O_RDWR, context);
}

#else

static struct vfsmount *drvops_mnt;

static char *drvops_fs_dname(struct dentry *dentry, char *buffer, int buflen)
{
	static const char name[] = "anon_inode:[drvops]";

	if (buflen < (int)sizeof(name))
		return ERR_PTR(-ENAMETOOLONG);
	buffer += buflen - sizeof(name);
	memcpy(buffer, name, sizeof(name));
	return buffer;
}

static const struct dentry_operations drvops_fs_dops = {
	.d_dname = drvops_fs_dname,
};

static int drvops_fs_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, ANON_INODE_FS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->dops = &drvops_fs_dops;
	return 0;
}

static struct file_system_type drvops_fs_type = {
	.name = "drvops",
	.init_fs_context = drvops_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

int drvops_anon_init(void)
{
	drvops_mnt = kern_mount(&drvops_fs_type);
	return PTR_ERR_OR_ZERO(drvops_mnt);
}

void drvops_anon_exit(void)
{
	kern_unmount(drvops_mnt);
}

static struct file *drvops_anon_getfile(struct drvops_file *f,
					const struct inode *context)
{
	struct inode *inode;
	struct file *file;

	/* fput() drops it, as for any file whose f_op->owner is us. */
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENOENT);
	inode = anon_inode_make_secure_inode(drvops_mnt->mnt_sb,
					     drvops_anon_name, context);
	if (IS_ERR(inode)) {
		module_put(THIS_MODULE);
		return ERR_CAST(inode);
	}
	file = alloc_file_pseudo(inode, drvops_mnt, drvops_anon_name, O_RDWR,
				 &drvops_fops);
	if (IS_ERR(file)) {
		iput(inode);
		module_put(THIS_MODULE);
		return file;
	}
	file->f_mapping = inode->i_mapping;
	file->private_data = f;
	return file;
}

#endif

/**
 * drvops_anon_file - a new, not installed, non-seekable file for @f
 * @f: becomes the file's private_data; its release() kills @f
 * @context: the uverbs inode whose LSM context the file takes
 *
 * The caller installs it with fd_install() once nothing can fail, or drops
 * it with fput().
 */
struct file *drvops_anon_file(struct drvops_file *f,
			      const struct inode *context)
{
	struct file *file = drvops_anon_getfile(f, context);

	if (!IS_ERR(file))
		nonseekable_open(file_inode(file), file);
	return file;
}
