// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Device discovery from sysfs. Names are never hard-coded: rdma-core's udev
 * rules rename ib_devices, so a device is found by its position in the
 * list sorted by uverbs number, or by node GUID.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drvops.h"

#define UVERBS_CLASS "/sys/class/infiniband_verbs"
#define IB_CLASS "/sys/class/infiniband"

/* Reads a one-line sysfs file without its newline. */
static int read_sysfs_line(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* "uverbsN" -> N; other entries (abi_version) are not devices. */
static int parse_uverbs_name(const char *name, unsigned *num)
{
	char *end;
	unsigned long n;

	if (strncmp(name, "uverbs", 6) != 0 || name[6] < '0' || name[6] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(name + 6, &end, 10);
	if (errno || *end || n > 0xffffffffUL)
		return -EINVAL;
	*num = n;
	return 0;
}

static int fill_device(unsigned num, struct drvops_device_info *dev)
{
	char path[256], line[128];
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->uverbs_num = num;
	snprintf(dev->uverbs_path, sizeof(dev->uverbs_path),
		 "/dev/infiniband/uverbs%u", num);

	snprintf(path, sizeof(path), UVERBS_CLASS "/uverbs%u/ibdev", num);
	ret = read_sysfs_line(path, line, sizeof(line));
	if (ret)
		return ret;
	if (strlen(line) >= sizeof(dev->ibdev))
		return -ENAMETOOLONG;
	strcpy(dev->ibdev, line);

	snprintf(path, sizeof(path), IB_CLASS "/%s/node_guid", dev->ibdev);
	if (read_sysfs_line(path, line, sizeof(line)) == 0)
		drvops_parse_guid(line, &dev->node_guid);
	return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* Sorted uverbs numbers; *nums is malloc'ed. Returns the count. */
static int list_uverbs_nums(unsigned **nums)
{
	unsigned *list = NULL, *grown, num;
	size_t count = 0, cap = 0;
	struct dirent *ent;
	DIR *dir;

	*nums = NULL;
	dir = opendir(UVERBS_CLASS);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;

	while ((ent = readdir(dir))) {
		if (parse_uverbs_name(ent->d_name, &num))
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				free(list);
				closedir(dir);
				return -ENOMEM;
			}
			list = grown;
		}
		list[count++] = num;
	}
	closedir(dir);

	qsort(list, count, sizeof(*list), cmp_unsigned);
	*nums = list;
	return count;
}

int drvops_list_devices(struct drvops_device_info *out, unsigned max)
{
	unsigned *nums;
	int count, i, written = 0;

	if (!out && max)
		return -EINVAL;
	count = list_uverbs_nums(&nums);
	if (count < 0)
		return count;
	if (!out) {
		free(nums);
		return count;
	}
	for (i = 0; i < count && (unsigned)written < max; i++) {
		/*
		 * A device that vanished between readdir and here is
		 * skipped; indices stay dense over what we report.
		 */
		if (fill_device(nums[i], &out[written]))
			continue;
		out[written].index = written;
		written++;
	}
	free(nums);
	return written;
}

/* Walks the whole list so that index numbering matches list_devices. */
static int find_device(int (*match)(const struct drvops_device_info *,
				    const void *),
		       const void *key, struct drvops_device_info *out)
{
	struct drvops_device_info *devs;
	int count, i, ret = -ENODEV;

	count = drvops_list_devices(NULL, 0);
	if (count <= 0)
		return count ? count : -ENODEV;
	devs = calloc(count, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	count = drvops_list_devices(devs, count);
	for (i = 0; i < count; i++) {
		if (match(&devs[i], key)) {
			*out = devs[i];
			ret = 0;
			break;
		}
	}
	free(devs);
	return count < 0 ? count : ret;
}

static int match_index(const struct drvops_device_info *dev, const void *key)
{
	return dev->index == *(const unsigned *)key;
}

static int match_guid(const struct drvops_device_info *dev, const void *key)
{
	return dev->node_guid == *(const uint64_t *)key;
}

int drvops_device_by_index(unsigned index, struct drvops_device_info *out)
{
	return find_device(match_index, &index, out);
}

int drvops_device_by_guid(uint64_t guid, struct drvops_device_info *out)
{
	return find_device(match_guid, &guid, out);
}
