// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * drvops-info: every uverbs device and the driver-ops interfaces it offers.
 *
 *   drvops-info [-d index | -g guid]
 *
 * The interface list comes from QUERY (open + GET_CONTEXT); if the device
 * cannot be opened or gives no ucontext, from sysfs (drvops_interfaces),
 * which needs neither.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drvops.h"

#define MAX_ENTRIES 64

static void usage(FILE *f)
{
	fprintf(f, "usage: drvops-info [-d index | -g guid]\n"
		   "  -d index   only the device at this index\n"
		   "  -g guid    only the device with this node GUID "
		   "(xxxx:xxxx:xxxx:xxxx)\n");
}

/* The primary name of an interface: the entry without the alias flag. */
static const char *primary_name(const struct drvops_interface_entry *e,
				unsigned n, uint32_t interface_index)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (e[i].interface_index == interface_index &&
		    !(e[i].flags & DRVOPS_ENTRY_ALIAS))
			return e[i].name;
	return NULL;
}

/* QUERY through a fresh ucontext; the fd is closed again. */
static int query_with_context(const struct drvops_device_info *dev,
			      struct drvops_interface_entry *entries,
			      unsigned max, unsigned *total, const char **step)
{
	int fd, ret;

	*step = "open";
	fd = drvops_open_device(dev);
	if (fd < 0)
		return fd;
	*step = "GET_CONTEXT";
	ret = drvops_get_context(fd);
	if (!ret) {
		*step = "QUERY";
		ret = drvops_query(fd, entries, max, total);
	}
	close(fd);
	return ret;
}

static void print_interfaces(const struct drvops_device_info *dev)
{
	struct drvops_interface_entry entries[MAX_ENTRIES];
	unsigned total = 0, i;
	const char *step;
	int n;

	n = query_with_context(dev, entries, MAX_ENTRIES, &total, &step);
	if (n < 0 && n != -ENOENT) {
		printf("    (%s failed: %s; listing from sysfs)\n", step,
		       strerror(-n));
		n = drvops_sysfs_interfaces(dev, entries, MAX_ENTRIES, &total);
	}
	if (n == -ENOENT) {
		printf("    no driver-ops interfaces\n");
		return;
	}
	if (n < 0) {
		printf("    cannot list interfaces: %s\n", strerror(-n));
		return;
	}

	printf("    %-24s %-9s %-6s %s\n", "interface", "versions", "iface",
	       "notes");
	for (i = 0; i < (unsigned)n; i++) {
		const struct drvops_interface_entry *e = &entries[i];
		char name[DRVOPS_NAME_MAX + 1], versions[24];
		const char *primary;

		/* The kernel promises NUL termination; do not rely on it. */
		memcpy(name, e->name, DRVOPS_NAME_MAX);
		name[DRVOPS_NAME_MAX] = '\0';
		snprintf(versions, sizeof(versions), "%u..%u", e->min_version,
			 e->max_version);
		printf("    %-24s %-9s %-6u", name, versions, e->interface_index);
		if (e->flags & DRVOPS_ENTRY_ALIAS) {
			primary = primary_name(entries, n, e->interface_index);
			if (primary)
				printf(" alias of %.*s", DRVOPS_NAME_MAX,
				       primary);
			else
				printf(" alias");
		}
		printf("\n");
	}
	if (total > (unsigned)n)
		printf("    (%u more not shown)\n", total - n);
}

static void print_device(const struct drvops_device_info *dev)
{
	char guid[DRVOPS_GUID_STRLEN];

	printf("[%u] %-16s %-24s guid %s\n", dev->index, dev->ibdev,
	       dev->uverbs_path, drvops_format_guid(dev->node_guid, guid));
	print_interfaces(dev);
}

int main(int argc, char **argv)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES], one;
	int by_index = 0, by_guid = 0, opt, n, i, ret;
	unsigned long index = 0;
	uint64_t guid = 0;
	char *end;

	while ((opt = getopt(argc, argv, "d:g:h")) != -1) {
		switch (opt) {
		case 'd':
			errno = 0;
			index = strtoul(optarg, &end, 0);
			if (errno || *end || !*optarg) {
				fprintf(stderr, "bad index: %s\n", optarg);
				return 2;
			}
			by_index = 1;
			break;
		case 'g':
			if (drvops_parse_guid(optarg, &guid)) {
				fprintf(stderr, "bad GUID: %s\n", optarg);
				return 2;
			}
			by_guid = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (by_index && by_guid)) {
		usage(stderr);
		return 2;
	}

	if (by_index || by_guid) {
		ret = by_index ? drvops_device_by_index(index, &one) :
				 drvops_device_by_guid(guid, &one);
		if (ret) {
			fprintf(stderr, "no such device: %s\n", strerror(-ret));
			return 1;
		}
		print_device(&one);
		return 0;
	}

	n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES);
	if (n < 0) {
		fprintf(stderr, "listing devices: %s\n", strerror(-n));
		return 1;
	}
	if (n == 0) {
		printf("no uverbs devices (is ib_uverbs loaded?)\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		print_device(&devs[i]);
	return 0;
}
