// SPDX-License-Identifier: GPL-2.0
/*
 * drvops_hfi: N emulated HFI units ("hfi0", ...) on one fabric. Unit i has
 * LID i + 1. The last legacy_units of them stand in for an old driver build
 * that only offers "psm2.intel.com".
 *
 * Per-unit counters: debugfs drvops_hfi/<dev>/counters.
 */
#include <linux/debugfs.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "hfi.h"

static unsigned int num_units = 2;
module_param(num_units, uint, 0444);
MODULE_PARM_DESC(num_units, "number of HFI units (1-16)");

static unsigned int legacy_units;
module_param(legacy_units, uint, 0444);
MODULE_PARM_DESC(legacy_units,
		 "how many of the last units offer only psm2.intel.com");

struct hfi_params hfi_params = {
	.num_contexts = 8,
	.rhq_entries = 256,
	.eager_count = 128,
	.eager_size = 8192,
	.sdma_slots = 128,
	.sdma_engines = 4,
	.max_iovs = 64,
	.inline_max = 64 << 10,
	/*
	 * A rendezvous window of psm-shim (1 MiB) and up to the MPI
	 * benchmark's largest message: about a millisecond of copying in the
	 * sender's writev; larger ones keep the engines' asynchrony.
	 */
	.inline_expected_max = 4 << 20,
	.engine_split_min = 1 << 20,
};
module_param_named(num_contexts, hfi_params.num_contexts, uint, 0444);
MODULE_PARM_DESC(num_contexts, "receive contexts per unit");
module_param_named(sdma_engines, hfi_params.sdma_engines, uint, 0444);
MODULE_PARM_DESC(sdma_engines, "SDMA engines shared by all units");
module_param_named(inline_max, hfi_params.inline_max, uint, 0444);
MODULE_PARM_DESC(inline_max,
		 "largest eager message delivered within writev (bytes, 0: none)");
/* Writable: a benchmark compares both ways in one boot. */
module_param_named(inline_expected_max, hfi_params.inline_expected_max, ulong,
		   0644);
MODULE_PARM_DESC(inline_expected_max,
		 "largest expected message delivered within writev (bytes, 0: none)");
/* Writable: the benchmark compares one engine with several in one boot. */
module_param_named(engine_split_min, hfi_params.engine_split_min, ulong, 0644);
MODULE_PARM_DESC(engine_split_min,
		 "expected engine copies of twice this or more are spread over the engines, one part per this many bytes (bytes, 0: never)");

#define HFI_MAX_UNITS 16

static struct hfi_unit *hfi_units[HFI_MAX_UNITS];
static struct dentry *hfi_debugfs;

static const struct drvops_interface *const hfi_interfaces[] = {
	&hfi_sdma_interface,
	&hfi_psm2_interface,
};

static const struct drvops_interface *const hfi_legacy_interfaces[] = {
	&hfi_psm2_interface,
};

static const struct ib_device_ops hfi_dev_ops = {
	.owner = THIS_MODULE,
	.uverbs_abi_ver = 1,
};

static int hfi_counters_show(struct seq_file *s, void *unused)
{
	struct hfi_unit *unit = s->private;
	struct hfi_counts n;

	hfi_stats_read(&unit->stats, &n);
	seq_printf(s, "tx_packets %llu\ntx_bytes %llu\nrx_packets %llu\n",
		   n.tx_packets, n.tx_bytes, n.rx_packets);
	seq_printf(s, "rx_bytes %llu\nrx_dropped %llu\ntx_errors %llu\n",
		   n.rx_bytes, n.rx_dropped, n.tx_errors);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hfi_counters);

static int hfi_add_unit(unsigned int index, bool legacy)
{
	struct hfi_unit *unit;
	int ret;

	unit = ib_alloc_device(hfi_unit, sdev.ibdev);
	if (!unit)
		return -ENOMEM;
	unit->index = index;
	unit->legacy = legacy;
	unit->ctxts = kcalloc(hfi_params.num_contexts, sizeof(*unit->ctxts),
			      GFP_KERNEL);
	if (!unit->ctxts || hfi_stats_init(&unit->stats)) {
		ret = -ENOMEM;
		goto err_free;
	}
	swverbs_init_device(&unit->sdev, 0x0011750000000000ULL | (index + 1),
			    index + 1, "drvops emulated HFI");
	ib_set_device_ops(&unit->sdev.ibdev, &hfi_dev_ops);
	if (legacy) {
		unit->sdev.drvops.interfaces = hfi_legacy_interfaces;
		unit->sdev.drvops.num_interfaces =
			ARRAY_SIZE(hfi_legacy_interfaces);
	} else {
		unit->sdev.drvops.interfaces = hfi_interfaces;
		unit->sdev.drvops.num_interfaces = ARRAY_SIZE(hfi_interfaces);
	}

	ret = hfi_fabric_add(unit);
	if (ret)
		goto err_free;
	ret = drvops_register_device(&unit->sdev.drvops);
	if (ret)
		goto err_fabric;
	ret = ib_register_device(&unit->sdev.ibdev, "hfi%d", NULL);
	if (ret)
		goto err_drvops;
	unit->debugfs = debugfs_create_dir(dev_name(&unit->sdev.ibdev.dev),
					   hfi_debugfs);
	debugfs_create_file("counters", 0444, unit->debugfs, unit,
			    &hfi_counters_fops);
	hfi_units[index] = unit;
	return 0;

err_drvops:
	drvops_unregister_device(&unit->sdev.drvops);
err_fabric:
	hfi_fabric_remove(unit);
err_free:
	hfi_stats_free(&unit->stats);
	kfree(unit->ctxts);
	ib_dealloc_device(&unit->sdev.ibdev);
	return ret;
}

static void hfi_remove_unit(unsigned int index)
{
	struct hfi_unit *unit = hfi_units[index];

	if (!unit)
		return;
	debugfs_remove_recursive(unit->debugfs);
	/* Disassociates every user: contexts are released, never waited for. */
	ib_unregister_device(&unit->sdev.ibdev);
	drvops_unregister_device(&unit->sdev.drvops);
	hfi_fabric_remove(unit);
	hfi_stats_free(&unit->stats);
	kfree(unit->ctxts);
	ib_dealloc_device(&unit->sdev.ibdev);
	hfi_units[index] = NULL;
}

static bool hfi_params_valid(void)
{
	struct hfi_params *p = &hfi_params;

	return num_units && num_units <= HFI_MAX_UNITS &&
	       legacy_units <= num_units && p->num_contexts &&
	       p->num_contexts <= 64 && is_power_of_2(p->rhq_entries) &&
	       is_power_of_2(p->eager_count) && is_power_of_2(p->sdma_slots) &&
	       p->eager_size >= PAGE_SIZE && p->sdma_engines &&
	       p->sdma_engines <= 64 && p->max_iovs && p->max_iovs <= 255 &&
	       p->inline_max <= hfi_eager_max();
}

static int __init hfi_init(void)
{
	unsigned int i;
	int ret;

	if (!hfi_params_valid())
		return -EINVAL;
	ret = hfi_engines_init();
	if (ret)
		return ret;
	hfi_debugfs = debugfs_create_dir("drvops_hfi", NULL);
	for (i = 0; i < num_units; i++) {
		ret = hfi_add_unit(i, i >= num_units - legacy_units);
		if (ret)
			goto err;
	}
	return 0;

err:
	while (i--)
		hfi_remove_unit(i);
	debugfs_remove_recursive(hfi_debugfs);
	hfi_engines_exit();
	return ret;
}

static void __exit hfi_exit(void)
{
	unsigned int i;

	for (i = 0; i < HFI_MAX_UNITS; i++)
		hfi_remove_unit(i);
	debugfs_remove_recursive(hfi_debugfs);
	hfi_engines_exit();
}

module_init(hfi_init);
module_exit(hfi_exit);

MODULE_DESCRIPTION("drvops: emulated Omni-Path-class HFI with send DMA");
MODULE_LICENSE("GPL");
