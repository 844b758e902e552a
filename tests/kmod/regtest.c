// SPDX-License-Identifier: GPL-2.0
/*
 * drvops_regtest: what drvops_register_device() accepts and refuses, on
 * the real broker. At load it registers one well-formed interface table
 * and a series of malformed ones on an ib_device of its own (allocated,
 * never given to ib_core: the broker's registry is all that is exercised)
 * and records each result; /sys/kernel/debug/drvops_regtest/results lists
 * "<case> <expected errno> <returned errno>" per line for test_registry.
 * A driver author learns the rules from the cases below.
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <rdma/ib_verbs.h>
#include <rdma/drvops_ioctl.h>
#include "drvops.h"

#define RT_NR(_k) (DRVOPS_IOCTL_IFACE_FIRST + (_k))
#define RT_IOCTL(_k) _IO(DRVOPS_IOCTL_TYPE, RT_NR(_k))

struct rt_cmd {
	__u32 size;
	__u32 __reserved;
	__aligned_u64 value;
};

/* A query whose answer is not whole words. */
struct rt_query_odd {
	__u32 size;
	__u32 __reserved;
	__u32 value;
};

/* A query with no answer at all. */
struct rt_query_empty {
	__u32 size;
	__u32 __reserved;
};

static int rt_execute(struct drvops_ucmd *ucmd)
{
	return 0;
}

static ssize_t rt_read(struct drvops_file *file, char __user *buf,
		       size_t len)
{
	return -EAGAIN;
}

static ssize_t rt_write(struct drvops_file *file, struct iov_iter *from)
{
	return -EAGAIN;
}

static __poll_t rt_poll(struct drvops_file *file)
{
	return 0;
}

static int rt_mmap(struct drvops_file *file, struct vm_area_struct *vma)
{
	return -EINVAL;
}

struct rt_case {
	const char *name;
	int expect;		/* 0 or a negative errno */
	/* Break one thing of a well-formed device (the base below). */
	void (*spoil)(struct drvops_device *dd, struct drvops_interface *iface,
		      struct drvops_version_ops *ops,
		      struct drvops_ioctl_op *table);
};

static struct ib_device *rt_ibdev;

/* The objects a registration points at; the broker keeps dd only. */
static struct drvops_device rt_dd;
static struct drvops_interface rt_iface;
static const struct drvops_interface *rt_ifaces[1];
static const struct drvops_version_ops *rt_versions[2];
static struct drvops_version_ops rt_ops;
static struct drvops_ioctl_op rt_table[DRVOPS_IOCTL_RANGE];

/* The well-formed base: one interface, v1..v2, an ordinary op and a query. */
static void rt_base(void)
{
	static const struct drvops_alias aliases[] = {
		{ .name = "regtest.old", .max_version = 1 },
	};
	const struct drvops_ioctl_op ok[] = {
		DRVOPS_IOCTL_OP(RT_IOCTL(0), rt_execute, struct rt_cmd, value),
		DRVOPS_IOCTL_QUERY(RT_IOCTL(1), rt_execute, struct rt_cmd,
				   value),
	};

	memset(rt_table, 0, sizeof(rt_table));
	memcpy(rt_table, ok, sizeof(ok));
	rt_ops = (struct drvops_version_ops){
		.ioctls = rt_table,
		.num_ioctls = ARRAY_SIZE(ok),
	};
	rt_versions[0] = &rt_ops;
	rt_versions[1] = &rt_ops;
	rt_iface = (struct drvops_interface){
		.name = "regtest.drvops",
		.aliases = aliases,
		.num_aliases = ARRAY_SIZE(aliases),
		.min_version = 1,
		.max_version = 2,
		.versions = rt_versions,
	};
	rt_ifaces[0] = &rt_iface;
	rt_dd = (struct drvops_device){
		.ibdev = rt_ibdev,
		.interfaces = rt_ifaces,
		.num_interfaces = 1,
	};
}

#define SPOIL(_name)							\
	static void _name(struct drvops_device *dd,			\
			  struct drvops_interface *iface,		\
			  struct drvops_version_ops *ops,		\
			  struct drvops_ioctl_op *table)

SPOIL(no_change) { }
SPOIL(no_interfaces) { dd->num_interfaces = 0; }
SPOIL(no_ibdev) { dd->ibdev = NULL; }
SPOIL(name_empty) { iface->name = ""; }
SPOIL(name_space) { iface->name = "regtest drvops"; }
static char rt_long_name[DRVOPS_NAME_MAX + 1];

SPOIL(name_63_chars)
{
	memset(rt_long_name, 'n', DRVOPS_NAME_MAX - 1);
	rt_long_name[DRVOPS_NAME_MAX - 1] = '\0';
	iface->name = rt_long_name;
}
SPOIL(name_64_chars)
{
	memset(rt_long_name, 'n', DRVOPS_NAME_MAX);
	rt_long_name[DRVOPS_NAME_MAX] = '\0';
	iface->name = rt_long_name;
}
SPOIL(name_null) { iface->name = NULL; }
SPOIL(version_zero) { iface->min_version = 0; }
SPOIL(versions_reversed) { iface->min_version = 3; }
SPOIL(versions_missing) { iface->versions = NULL; }
SPOIL(alias_bad_name)
{
	static const struct drvops_alias a[] = { { .name = "old\tname" } };

	iface->aliases = a;
}
SPOIL(alias_past_max)
{
	static const struct drvops_alias a[] = {
		{ .name = "regtest.old", .max_version = 3 },
	};

	iface->aliases = a;
}
SPOIL(read_without_poll) { ops->read = rt_read; }
SPOIL(write_without_poll) { ops->write_iter = rt_write; }
SPOIL(read_with_poll) { ops->read = rt_read; ops->poll = rt_poll; }
SPOIL(mmap_without_fault) { ops->mmap = rt_mmap; }
SPOIL(table_missing) { ops->ioctls = NULL; }
SPOIL(table_too_long) { ops->num_ioctls = DRVOPS_IOCTL_RANGE + 1; }
SPOIL(table_with_hole)
{
	table[5] = table[1];
	table[5].ioctl_num = RT_IOCTL(5);
	memset(&table[1], 0, sizeof(table[1]));
	ops->num_ioctls = 6;
}
SPOIL(op_wrong_slot) { table[1].ioctl_num = RT_IOCTL(2); }
SPOIL(op_no_handler) { table[0].execute = NULL; }
SPOIL(op_too_big) { table[0].size = DRVOPS_IOCTL_MAX_SIZE + 8; }
SPOIL(op_min_below_size_field) { table[0].min_size = 2; }
SPOIL(op_min_above_size) { table[0].min_size = table[0].size + 8; }
SPOIL(op_wrong_type)
{
	table[0].ioctl_num = _IO(DRVOPS_IOCTL_TYPE + 1, RT_NR(0));
}
SPOIL(op_broker_number)
{
	/* The broker's own range (GET_INFO...), slot 0 all the same. */
	table[0].ioctl_num = _IO(DRVOPS_IOCTL_TYPE, 0x10);
}
SPOIL(op_two_ranges)
{
	table[1].ioctl_num = _IO(DRVOPS_IOCTL_TYPE,
				 RT_NR(DRVOPS_IOCTL_RANGE + 1));
}
SPOIL(query_odd_answer)
{
	table[1].size = sizeof(struct rt_query_odd);
	table[1].min_size = offsetofend(struct rt_query_odd, value);
}
SPOIL(query_no_answer)
{
	table[1].size = sizeof(struct rt_query_empty);
	table[1].min_size = sizeof(struct rt_query_empty);
}
SPOIL(query_min_in_header) { table[1].min_size = sizeof(__u32); }
SPOIL(ordinary_min_in_header) { table[0].min_size = sizeof(__u32); }

static const struct rt_case rt_cases[] = {
	{ "well_formed", 0, no_change },
	{ "no_interfaces", -EINVAL, no_interfaces },
	{ "no_ibdev", -EINVAL, no_ibdev },
	{ "name_empty", -EINVAL, name_empty },
	{ "name_with_space", -EINVAL, name_space },
	{ "name_63_chars", 0, name_63_chars },
	{ "name_64_chars", -EINVAL, name_64_chars },
	{ "name_null", -EINVAL, name_null },
	{ "min_version_0", -EINVAL, version_zero },
	{ "min_version_above_max", -EINVAL, versions_reversed },
	{ "versions_null", -EINVAL, versions_missing },
	{ "alias_name_with_tab", -EINVAL, alias_bad_name },
	{ "alias_max_past_interface", -EINVAL, alias_past_max },
	{ "read_without_poll", -EINVAL, read_without_poll },
	{ "write_without_poll", -EINVAL, write_without_poll },
	{ "read_with_poll", 0, read_with_poll },
	{ "mmap_without_fault", -EINVAL, mmap_without_fault },
	{ "ioctls_null", -EINVAL, table_missing },
	{ "ioctls_17", -EINVAL, table_too_long },
	{ "ioctls_with_hole", 0, table_with_hole },
	{ "op_in_wrong_slot", -EINVAL, op_wrong_slot },
	{ "op_without_handler", -EINVAL, op_no_handler },
	{ "op_size_over_max", -EINVAL, op_too_big },
	{ "op_min_size_2", -EINVAL, op_min_below_size_field },
	{ "op_min_size_over_size", -EINVAL, op_min_above_size },
	{ "op_other_ioctl_type", -EINVAL, op_wrong_type },
	{ "op_broker_number", -EINVAL, op_broker_number },
	{ "ops_in_two_ranges", -EINVAL, op_two_ranges },
	{ "query_answer_not_words", -EINVAL, query_odd_answer },
	{ "query_without_answer", -EINVAL, query_no_answer },
	{ "query_min_size_4", -EINVAL, query_min_in_header },
	{ "op_min_size_4", 0, ordinary_min_in_header },
};

static int rt_got[ARRAY_SIZE(rt_cases)];	/* what each case returned */
static int rt_duplicate;	/* the base registered twice */
struct rt_dev {
	struct ib_device ibdev;
};

static struct dentry *rt_dir;

static int rt_try(const struct rt_case *c)
{
	int ret;

	rt_base();
	c->spoil(&rt_dd, &rt_iface, &rt_ops, rt_table);
	ret = drvops_register_device(&rt_dd);
	if (!ret)
		drvops_unregister_device(&rt_dd);
	return ret;
}

static int rt_show(struct seq_file *m, void *unused)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rt_cases); i++)
		seq_printf(m, "%s %d %d\n", rt_cases[i].name,
			   -rt_cases[i].expect, -rt_got[i]);
	seq_printf(m, "registered_twice %d %d\n", EEXIST, -rt_duplicate);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rt);

static int __init rt_init(void)
{
	struct rt_dev *dev = ib_alloc_device(rt_dev, ibdev);
	struct drvops_device second;
	size_t i;

	if (!dev)
		return -ENOMEM;
	rt_ibdev = &dev->ibdev;
	for (i = 0; i < ARRAY_SIZE(rt_cases); i++)
		rt_got[i] = rt_try(&rt_cases[i]);

	/* One ib_device, one registration. */
	rt_base();
	second = rt_dd;
	rt_duplicate = drvops_register_device(&rt_dd);
	if (!rt_duplicate) {
		rt_duplicate = drvops_register_device(&second);
		if (!rt_duplicate)
			drvops_unregister_device(&second);
		drvops_unregister_device(&rt_dd);
	} else {
		rt_duplicate = -ENOEXEC;	/* the base itself refused */
	}

	rt_dir = debugfs_create_dir("drvops_regtest", NULL);
	debugfs_create_file("results", 0444, rt_dir, NULL, &rt_fops);
	return 0;
}

static void __exit rt_exit(void)
{
	debugfs_remove_recursive(rt_dir);
	ib_dealloc_device(rt_ibdev);
}

module_init(rt_init);
module_exit(rt_exit);
MODULE_DESCRIPTION("drvops: registration rules, tested on the real broker");
MODULE_LICENSE("GPL");
