// SPDX-License-Identifier: GPL-2.0
/*
 * ib_drvops: driver-specific fds brokered by RDMA uverbs.
 *
 * Module glue and debugfs counters (ib_drvops/stats) that the leak tests
 * read: allocated files, live files, bound objects; on debug kernels the
 * race tests' fault injection (inject.c).
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include "drvops_priv.h"

static struct dentry *drvops_debugfs;

static int drvops_stats_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "files %d\n", atomic_read(&drvops_stats.files));
	seq_printf(s, "live_files %d\n", atomic_read(&drvops_stats.live_files));
	seq_printf(s, "bindings %d\n", atomic_read(&drvops_stats.bindings));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(drvops_stats);

static int __init drvops_init(void)
{
	int ret;

	ret = drvops_anon_init();
	if (ret)
		return ret;
	drvops_debugfs = debugfs_create_dir("ib_drvops", NULL);
	debugfs_create_file("stats", 0444, drvops_debugfs, NULL,
			    &drvops_stats_fops);
	drvops_inject_init(drvops_debugfs);
	return 0;
}

static void __exit drvops_exit_module(void)
{
	debugfs_remove_recursive(drvops_debugfs);
	drvops_anon_exit();
}

module_init(drvops_init);
module_exit(drvops_exit_module);

MODULE_DESCRIPTION("RDMA driver-ops fds brokered by uverbs");
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: ib_uverbs");
