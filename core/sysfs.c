// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/class/infiniband/<dev>/drvops_interfaces: the QUERY list for
 * discovery without opening anything. One line per name:
 * "<name> <min_version> <max_version> <interface_index>[ alias]".
 */
#include <linux/device.h>
#include <linux/sysfs.h>
#include "drvops_priv.h"

static ssize_t drvops_interfaces_show(struct device *device,
				      struct device_attribute *attr, char *buf)
{
	struct ib_device *ibdev = rdma_device_to_ibdev(device);
	struct drvops_device *dd;
	unsigned int i, k;
	int len = 0;

	mutex_lock(&drvops_registry_lock);
	dd = drvops_device_find(ibdev);
	for (i = 0; dd && i < dd->num_interfaces; i++) {
		const struct drvops_interface *iface = dd->interfaces[i];

		len += sysfs_emit_at(buf, len, "%s %u %u %u\n", iface->name,
				     iface->min_version, iface->max_version, i);
		for (k = 0; k < iface->num_aliases; k++) {
			const struct drvops_alias *a = &iface->aliases[k];

			len += sysfs_emit_at(buf, len, "%s %u %u %u alias\n",
					     a->name, iface->min_version,
					     a->max_version ? a->max_version :
					     iface->max_version, i);
		}
	}
	mutex_unlock(&drvops_registry_lock);
	return len;
}
static DEVICE_ATTR_RO(drvops_interfaces);

static struct attribute *drvops_device_attrs[] = {
	&dev_attr_drvops_interfaces.attr,
	NULL,
};

const struct attribute_group drvops_device_group = {
	.attrs = drvops_device_attrs,
};
EXPORT_SYMBOL_GPL(drvops_device_group);
