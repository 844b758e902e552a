// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The interface list from sysfs, for callers without a ucontext (QUERY
 * needs one). /sys/class/infiniband/<ibdev>/drvops_interfaces holds one
 * line per name: "<name> <min_version> <max_version> <interface_index>
 * [alias]", the same content as QUERY's entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drvops.h"

/* A sysfs attribute is at most one page. */
#define SYSFS_MAX 8192

static int read_file(const char *path, char *buf, size_t size)
{
	size_t used = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (used < size - 1) {
		n = read(fd, buf + used, size - 1 - used);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	buf[used] = '\0';
	return used;
}

static int parse_line(char *line, struct drvops_interface_entry *e)
{
	char name[DRVOPS_NAME_MAX], flag[16] = "";
	unsigned min, max, index;
	int fields;

	fields = sscanf(line, "%63s %u %u %u %15s", name, &min, &max, &index,
			flag);
	if (fields < 4 || (fields == 5 && strcmp(flag, "alias") != 0))
		return -EPROTO;
	memset(e, 0, sizeof(*e));
	strcpy(e->name, name);
	e->min_version = min;
	e->max_version = max;
	e->interface_index = index;
	e->flags = fields == 5 ? DRVOPS_ENTRY_ALIAS : 0;
	return 0;
}

int drvops_sysfs_interfaces(const struct drvops_device_info *dev,
			    struct drvops_interface_entry *entries,
			    unsigned max, unsigned *total)
{
	struct drvops_interface_entry entry;
	unsigned count = 0, written = 0;
	char path[256], *buf, *line, *save;
	int ret;

	if (!entries && max)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/drvops_interfaces",
		 dev->ibdev);
	buf = malloc(SYSFS_MAX);
	if (!buf)
		return -ENOMEM;
	ret = read_file(path, buf, SYSFS_MAX);
	if (ret < 0)
		goto out;

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		ret = parse_line(line, &entry);
		if (ret)
			goto out;
		if (written < max)
			entries[written++] = entry;
		count++;
	}
	if (total)
		*total = count;
	ret = written;
out:
	free(buf);
	return ret;
}
