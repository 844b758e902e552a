// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * What the families measure against: a copy.generic v2 driver-ops fd
 * (through libdrvops, like any user) with its completion ring mapped, and
 * the baseline misc device of drivers/miscbench.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rdma/drvops_generic.h>
#include <rdma/drvops_miscbench.h>

#include "bench.h"
#include "drvops.h"
#include "hfictx.h"

#define RING_ENTRIES 64

static int ring_setup(struct bench_generic *g)
{
	struct drvops_generic_ring_setup rs = {
		.size = sizeof(rs),
		.entries = RING_ENTRIES,
	};
	void *p;

	if (ioctl(g->fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs))
		return -errno;
	p = mmap(NULL, rs.mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		 g->fd, rs.mmap_offset);
	if (p == MAP_FAILED)
		return -errno;
	g->ring = p;
	g->ring_len = rs.mmap_length;
	g->ring_mask = RING_ENTRIES - 1;
	g->cons = 0;
	return 0;
}

int bench_generic_open(struct bench_generic *g)
{
	static const char *const names[] = { DRVOPS_GENERIC_NAME };
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int n, i, ret = -ENODEV;

	memset(g, 0, sizeof(*g));
	g->uverbs_fd = -1;
	g->fd = -1;
	n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		g->uverbs_fd = drvops_open_index(devs[i].index);
		if (g->uverbs_fd < 0) {
			ret = g->uverbs_fd;
			continue;
		}
		/* Version 2 only: a legacy device answers ENOENT. */
		g->fd = drvops_get_fd(g->uverbs_fd, names, 1, 2, 2, 0, NULL,
				      NULL);
		if (g->fd >= 0) {
			snprintf(g->ibdev, sizeof(g->ibdev), "%s",
				 devs[i].ibdev);
			ret = ring_setup(g);
			if (ret)
				bench_generic_close(g);
			return ret;
		}
		ret = g->fd;
		close(g->uverbs_fd);
		g->uverbs_fd = -1;
	}
	return ret;
}

int bench_generic_reap(struct bench_generic *g)
{
	struct drvops_generic_ring_header *h = g->ring;
	struct drvops_generic_completion *e = (void *)(h + 1);
	uint32_t prod = __atomic_load_n(&h->producer, __ATOMIC_ACQUIRE);
	int ret = 0;

	for (; g->cons != prod; g->cons++)
		if (e[g->cons & g->ring_mask].status)
			ret = e[g->cons & g->ring_mask].status;
	__atomic_store_n(&h->consumer, g->cons, __ATOMIC_RELEASE);
	return ret;
}

void bench_generic_close(struct bench_generic *g)
{
	if (g->ring)
		munmap(g->ring, g->ring_len);
	if (g->fd >= 0)
		close(g->fd);
	if (g->uverbs_fd >= 0)
		close(g->uverbs_fd);
	g->ring = NULL;
	g->fd = -1;
	g->uverbs_fd = -1;
}

int bench_misc_open(void)
{
	int fd = open(DRVOPS_MISCBENCH_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int bench_hfi_open(struct drvops_hfi_ctx *h, unsigned int n)
{
	static const uint8_t key[DRVOPS_HFI_JOB_KEY_LEN] = "drvops-bench-job";
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int count, i, fd, ret = -ENODEV;

	count = drvops_list_devices(devs, DRVOPS_MAX_DEVICES);
	if (count < 0)
		return count;
	for (i = 0; i < count; i++) {
		fd = drvops_open_index(devs[i].index);
		if (fd < 0)
			continue;
		/* sdma.opa v2 or later: other devices and old units answer no. */
		ret = drvops_hfi_open(h, fd, key, 0);
		if (!ret && !h->legacy && h->version >= 2 && n-- == 0)
			return 0;
		if (!ret)
			drvops_hfi_close(h);
		close(fd);
		ret = -ENODEV;
	}
	return ret;
}

void bench_hfi_close(struct drvops_hfi_ctx *h)
{
	int uverbs_fd = h->uverbs_fd;

	drvops_hfi_close(h);
	if (uverbs_fd >= 0)
		close(uverbs_fd);
	h->uverbs_fd = -1;
}
