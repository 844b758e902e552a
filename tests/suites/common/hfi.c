// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Finding and opening emulated HFI units for the HFI suites. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "tl_hfi.h"

const uint8_t tl_hfi_job_a[DRVOPS_HFI_JOB_KEY_LEN] = "drvops-job-A....";
const uint8_t tl_hfi_job_b[DRVOPS_HFI_JOB_KEY_LEN] = "drvops-job-B....";

int tl_hfi_find(enum tl_hfi_kind kind, unsigned n,
		struct drvops_device_info *out)
{
	struct drvops_device_info devs[16];
	int count = drvops_list_devices(devs, 16), i;

	if (count < 0)
		return count;
	for (i = 0; i < count; i++) {
		int cur = tl_device_offers(&devs[i], DRVOPS_HFI_NAME);
		int old = tl_device_offers(&devs[i], DRVOPS_HFI_LEGACY_NAME);
		bool match = kind == TL_HFI_CURRENT ? cur == 1 :
			     cur == 0 && old == 1;

		if (match && n-- == 0) {
			*out = devs[i];
			return 0;
		}
	}
	return -ENODEV;
}

int tl_hfi_open(struct drvops_hfi_ctx *h, enum tl_hfi_kind kind, unsigned n,
		const uint8_t *job_key, uint32_t max_version)
{
	struct drvops_device_info dev;
	int uverbs_fd, ret;

	ret = tl_hfi_find(kind, n, &dev);
	if (ret)
		return ret;
	uverbs_fd = drvops_open_device(&dev);
	if (uverbs_fd < 0)
		return uverbs_fd;
	ret = drvops_get_context(uverbs_fd);
	if (!ret)
		ret = drvops_hfi_open(h, uverbs_fd, job_key, max_version);
	if (ret)
		close(uverbs_fd);
	return ret;
}

unsigned long tl_hfi_nr(int fd, unsigned long cmd)
{
	struct drvops_info info;

	if (drvops_get_info(fd, &info) == 0 &&
	    !strcmp(info.name, DRVOPS_HFI_LEGACY_NAME))
		return DRVOPS_HFI_LEGACY_IOCTL(cmd);
	return cmd;
}

int tl_hfi_ioctl(int fd, unsigned long cmd, void *arg)
{
	return tl_ioctl(fd, tl_hfi_nr(fd, cmd), arg);
}

void tl_hfi_close(struct drvops_hfi_ctx *h)
{
	int uverbs_fd = h->uverbs_fd;

	drvops_hfi_close(h);
	if (uverbs_fd >= 0)
		close(uverbs_fd);
}

int tl_hfi_recv(struct drvops_hfi_ctx *h,
		const volatile struct drvops_hfi_rhq_entry **e, int timeout_ms)
{
	int ret = drvops_hfi_wait_recv(h, timeout_ms);

	if (ret < 0)
		return ret;
	*e = drvops_hfi_peek(h);
	return *e ? 0 : -ETIMEDOUT;
}
