// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The broker's debugfs counters, and unloading/reloading the driver. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testlib.h"

#define TL_STATS_PATH "/sys/kernel/debug/ib_drvops/stats"

int tl_read_stats(struct tl_stats *st)
{
	char key[32];
	long val;
	FILE *f;
	int n = 0;

	memset(st, 0, sizeof(*st));
	f = fopen(TL_STATS_PATH, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%31s %ld", key, &val) == 2) {
		if (!strcmp(key, "files"))
			st->files = val;
		else if (!strcmp(key, "live_files"))
			st->live_files = val;
		else if (!strcmp(key, "bindings"))
			st->bindings = val;
		else
			continue;
		n++;
	}
	fclose(f);
	return n == 3 ? 0 : -EPROTO;
}

int tl_wait_stats(const struct tl_stats *want, int timeout_ms)
{
	struct tl_stats now;
	int ret;

	for (;;) {
		ret = tl_read_stats(&now);
		if (ret)
			return ret;
		if (now.files == want->files &&
		    now.live_files == want->live_files &&
		    now.bindings == want->bindings)
			return 0;
		if (timeout_ms <= 0) {
			fprintf(stderr,
				"stats: files %ld live %ld bindings %ld, want %ld %ld %ld\n",
				now.files, now.live_files, now.bindings,
				want->files, want->live_files, want->bindings);
			return -ETIMEDOUT;
		}
		usleep(10000);
		timeout_ms -= 10;
	}
}

int tl_unload_generic(void)
{
	return syscall(SYS_delete_module, TL_GENERIC_MODULE, O_NONBLOCK) ?
	       -errno : 0;
}

int tl_load_generic(void)
{
	const char *dir = getenv("DRVOPS_MODDIR");
	char path[256];
	int fd, ret, tries;

	snprintf(path, sizeof(path), "%s/%s.ko", dir ? dir : "/drvops/modules",
		 TL_GENERIC_MODULE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, TL_GENERIC_PARAMS, 0) ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	/* The uverbs nodes appear as the devices register. */
	for (tries = 0; tries < 500; tries++) {
		if (drvops_list_devices(NULL, 0) >= 2)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int tl_unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

long tl_read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

long tl_module_param(const char *module, const char *param)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module,
		 param);
	return tl_read_long(path);
}

/* Every uverbs device listed has its node (at least one device). */
static bool tl_uverbs_nodes_ready(void)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES), i;

	if (n <= 0)
		return false;
	for (i = 0; i < n; i++)
		if (access(devs[i].uverbs_path, F_OK))
			return false;
	return true;
}

int tl_reload_module(const char *name, const char *params)
{
	const char *dir = getenv("DRVOPS_MODDIR");
	char path[256];
	int fd, ret, tries;

	snprintf(path, sizeof(path), "%s/%s.ko", dir ? dir : "/drvops/modules",
		 name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0) ?
	      -errno : 0;
	close(fd);
	if (ret)
		return ret;
	/* Registration is synchronous; the nodes are checked anyway. */
	for (tries = 0; tries < 500; tries++) {
		if (tl_uverbs_nodes_ready())
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

long tl_vm_pinned_kb(void)
{
	char line[256];
	long kb = -ENOENT;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int tl_wait_vm_pinned_kb(long kb, int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms; i++) {
		if (tl_vm_pinned_kb() == kb)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

int tl_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(s))
		ret = -EIO;
	close(fd);
	return ret;
}
