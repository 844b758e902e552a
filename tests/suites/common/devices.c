// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Finding the "current" and "legacy" test devices by what they offer. */
#include <errno.h>
#include <string.h>

#include "testlib.h"

#define MAX_ENTRIES 32

/*
 * From sysfs: finding a device must not create a ucontext or hold the
 * device open (tests of QUERY itself call drvops_query).
 */
int tl_device_offers(const struct drvops_device_info *dev, const char *name)
{
	struct drvops_interface_entry e[MAX_ENTRIES];
	int n, i;

	n = drvops_sysfs_interfaces(dev, e, MAX_ENTRIES, NULL);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (strncmp(e[i].name, name, DRVOPS_NAME_MAX) == 0)
			return 1;
	return 0;
}

static int is_kind(const struct drvops_device_info *dev,
		   enum tl_device_kind kind)
{
	int generic = tl_device_offers(dev, DRVOPS_GENERIC_NAME);
	int legacy;

	if (generic < 0)
		return generic;
	if (kind == TL_DEVICE_CURRENT)
		return generic;
	legacy = tl_device_offers(dev, DRVOPS_GENERIC_LEGACY_NAME);
	if (legacy < 0)
		return legacy;
	return legacy && !generic;
}

int tl_find_device(enum tl_device_kind kind, struct drvops_device_info *out)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int n, i;

	n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		/* A device we cannot query is simply not a match. */
		if (is_kind(&devs[i], kind) == 1) {
			*out = devs[i];
			return 0;
		}
	}
	return -ENODEV;
}

int tl_open_index(unsigned index)
{
	return drvops_open_index(index);
}

int tl_open_device(enum tl_device_kind kind)
{
	struct drvops_device_info dev;
	int ret = tl_find_device(kind, &dev);

	return ret ? ret : drvops_open_index(dev.index);
}

int tl_get_fd(int uverbs_fd, const char *name, uint32_t version)
{
	const char *names[] = { name };

	return drvops_get_fd(uverbs_fd, names, 1, version, version, 0, NULL,
			     NULL);
}
