// SPDX-License-Identifier: GPL-2.0
/*
 * drvops_generic: N software RDMA devices ("generic0", ...), each offering
 * the "copy.generic" driver-ops interface. The last legacy_devices of them
 * stand in for an old driver build that only knows "copy.legacy" v1, so
 * that name fallback can be exercised in one boot.
 *
 * The order below is the one every drvops driver follows: drvops before
 * ib_register_device, and after ib_unregister_device on the way out.
 */
#include <linux/module.h>
#include "generic.h"

static unsigned int num_devices = 1;
module_param(num_devices, uint, 0444);
MODULE_PARM_DESC(num_devices, "number of devices to create (1-8)");

static unsigned int legacy_devices;
module_param(legacy_devices, uint, 0444);
MODULE_PARM_DESC(legacy_devices,
		 "how many of the last devices offer only copy.legacy v1");

#define GENERIC_MAX_DEVICES 8

static struct generic_dev *generic_devs[GENERIC_MAX_DEVICES];

/* Only what this driver adds to the software verbs. */
static const struct ib_device_ops generic_dev_ops = {
	.owner = THIS_MODULE,
	.uverbs_abi_ver = 1,
};

static const struct drvops_interface *const generic_interfaces[] = {
	&generic_copy_interface,
};

static const struct drvops_interface *const generic_legacy_interfaces[] = {
	&generic_copy_legacy_interface,
};

static int generic_add_one(unsigned int unit, bool legacy)
{
	struct generic_dev *gdev;
	int ret;

	gdev = ib_alloc_device(generic_dev, sdev.ibdev);
	if (!gdev)
		return -ENOMEM;
	gdev->unit = unit;
	gdev->legacy = legacy;
	/* Locally administered GUID, unit in the low byte: stable across loads. */
	swverbs_init_device(&gdev->sdev, 0x02d0c0de00000000ULL | (unit + 1),
			    unit + 1, "drvops generic");
	ib_set_device_ops(&gdev->sdev.ibdev, &generic_dev_ops);

	if (legacy) {
		gdev->sdev.drvops.interfaces = generic_legacy_interfaces;
		gdev->sdev.drvops.num_interfaces =
			ARRAY_SIZE(generic_legacy_interfaces);
	} else {
		gdev->sdev.drvops.interfaces = generic_interfaces;
		gdev->sdev.drvops.num_interfaces = ARRAY_SIZE(generic_interfaces);
	}
	ret = drvops_register_device(&gdev->sdev.drvops);
	if (ret)
		goto err_dealloc;

	ret = ib_register_device(&gdev->sdev.ibdev, "generic%d", NULL);
	if (ret)
		goto err_drvops;
	generic_devs[unit] = gdev;
	return 0;

err_drvops:
	drvops_unregister_device(&gdev->sdev.drvops);
err_dealloc:
	ib_dealloc_device(&gdev->sdev.ibdev);
	return ret;
}

static void generic_remove_one(unsigned int unit)
{
	struct generic_dev *gdev = generic_devs[unit];

	if (!gdev)
		return;
	/* Disassociates every user context: never waits for userspace. */
	ib_unregister_device(&gdev->sdev.ibdev);
	drvops_unregister_device(&gdev->sdev.drvops);
	ib_dealloc_device(&gdev->sdev.ibdev);
	generic_devs[unit] = NULL;
}

static int __init generic_init(void)
{
	unsigned int i;
	int ret;

	if (!num_devices || num_devices > GENERIC_MAX_DEVICES ||
	    legacy_devices > num_devices)
		return -EINVAL;
	for (i = 0; i < num_devices; i++) {
		ret = generic_add_one(i, i >= num_devices - legacy_devices);
		if (ret) {
			while (i--)
				generic_remove_one(i);
			return ret;
		}
	}
	return 0;
}

static void __exit generic_exit(void)
{
	unsigned int i;

	for (i = 0; i < GENERIC_MAX_DEVICES; i++)
		generic_remove_one(i);
}

module_init(generic_init);
module_exit(generic_exit);

MODULE_DESCRIPTION("drvops reference driver: software RDMA copy engine");
MODULE_LICENSE("GPL");
