// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * drvops-demo: the README walk-through.
 *
 *   1. discovery    every uverbs device and its driver-ops interfaces
 *   2. negotiation  ask each device for "copy.generic" or else
 *                   "copy.legacy", versions 1..2, and show what it chose
 *   3. work         PD + MR on the uverbs fd, bind the MR to the
 *                   driver-ops fd, COPY into it (and FILL on version 2),
 *                   read the completions and check the bytes
 *   4. HFI          on the emulated HFI units: ["sdma.opa",
 *                   "psm2.intel.com"] on a current and an old unit, an
 *                   eager message and an expected (one-copy) transfer
 *                   between two units, and old -> current
 *
 * Exits 0 only if every check passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rdma/drvops_generic.h>

#include "drvops.h"
#include "hfictx.h"

#define BUF_LEN 8192
#define MAX_ENTRIES 32

static const char *const wanted_names[] = {
	DRVOPS_GENERIC_NAME,
	DRVOPS_GENERIC_LEGACY_NAME,
};

struct demo_device {
	struct drvops_device_info info;
	int uverbs_fd;
	int ops_fd;
	uint32_t version;
};

static int failures;

/* Prints one check; counts failures. Returns cond. */
static int check(int cond, const char *what)
{
	printf("      %-52s %s\n", what, cond ? "ok" : "FAILED");
	if (!cond)
		failures++;
	return cond;
}

static int check_ret(int ret, const char *what)
{
	if (ret < 0) {
		printf("      %-52s FAILED (%s)\n", what, strerror(-ret));
		failures++;
		return 0;
	}
	printf("      %-52s ok\n", what);
	return 1;
}

static void heading(const char *title, const char *why)
{
	printf("\n== %s ==\n%s\n\n", title, why);
}

/* ---- 1. discovery -------------------------------------------------- */

static void show_interfaces(int fd)
{
	struct drvops_interface_entry e[MAX_ENTRIES];
	int n, i;

	n = drvops_query(fd, e, MAX_ENTRIES, NULL);
	if (n == -ENOENT) {
		printf("      (no driver-ops interfaces)\n");
		return;
	}
	if (n < 0) {
		printf("      QUERY failed: %s\n", strerror(-n));
		return;
	}
	for (i = 0; i < n; i++)
		printf("      %-20.*s versions %u..%u%s\n", DRVOPS_NAME_MAX,
		       e[i].name, e[i].min_version, e[i].max_version,
		       e[i].flags & DRVOPS_ENTRY_ALIAS ? "  (alias)" : "");
}

static int discover(struct demo_device *devs, unsigned max)
{
	struct drvops_device_info info[DRVOPS_MAX_DEVICES];
	char guid[DRVOPS_GUID_STRLEN];
	int n, i, fd;

	heading("1. Discovery",
		"Devices are found in sysfs by index or node GUID, never by "
		"name (udev may\nrename them). QUERY, on a uverbs fd with a "
		"ucontext, lists what each offers.");

	n = drvops_list_devices(info, max < DRVOPS_MAX_DEVICES ?
					      max : DRVOPS_MAX_DEVICES);
	if (n <= 0) {
		printf("no uverbs devices found (%s)\n",
		       n ? strerror(-n) : "is ib_uverbs loaded?");
		return n < 0 ? n : -ENODEV;
	}
	for (i = 0; i < n; i++) {
		devs[i].info = info[i];
		devs[i].uverbs_fd = -1;
		devs[i].ops_fd = -1;
		printf("  [%u] %-12s %-24s guid %s\n", info[i].index,
		       info[i].ibdev, info[i].uverbs_path,
		       drvops_format_guid(info[i].node_guid, guid));
		fd = drvops_open_index(info[i].index);
		if (fd < 0) {
			printf("      open + GET_CONTEXT: %s\n", strerror(-fd));
			continue;
		}
		show_interfaces(fd);
		close(fd);
	}
	return n;
}

/* ---- 2. negotiation ------------------------------------------------ */

static void show_info(int ops_fd)
{
	char guid[DRVOPS_GUID_STRLEN];
	struct drvops_info info;
	int ret;

	ret = drvops_get_info(ops_fd, &info);
	if (!check_ret(ret, "GET_INFO on the new fd"))
		return;
	printf("      GET_INFO: \"%.*s\" version %u, guid %s, ibdev index "
	       "%u\n", DRVOPS_NAME_MAX, info.name, info.version,
	       drvops_format_guid(info.node_guid, guid), info.ibdev_index);
}

/* Returns 1 if the device gave us an fd, 0 if it offers none of the names. */
static int negotiate(struct demo_device *dev)
{
	unsigned name_index = 0;
	int fd;

	printf("  [%u] %s\n", dev->info.index, dev->info.ibdev);
	fd = drvops_open_index(dev->info.index);
	if (!check_ret(fd, "open + GET_CONTEXT"))
		return 0;
	dev->uverbs_fd = fd;

	fd = drvops_get_fd(dev->uverbs_fd, wanted_names, 2, 1, 2, 0,
			   &name_index, &dev->version);
	if (fd == -ENOENT) {
		printf("      offers neither name: skipped\n");
		return 0;
	}
	if (!check_ret(fd, "GET_FD"))
		return 0;
	dev->ops_fd = fd;
	printf("      chose \"%s\" version %u%s\n",
	       name_index < 2 ? wanted_names[name_index] : "?", dev->version,
	       name_index == 1 ? "  <- fallback to the old name" : "");
	check(name_index < 2 && dev->version >= 1 && dev->version <= 2,
	      "choice inside what we asked for");
	show_info(dev->ops_fd);
	return 1;
}

/* ---- 3. work on the fd -------------------------------------------- */

static int read_completion(int ops_fd, struct drvops_generic_completion *c)
{
	ssize_t n = read(ops_fd, c, sizeof(*c));

	if (n < 0)
		return -errno;
	return n == sizeof(*c) ? 0 : -EIO;
}

static void check_completion(int ops_fd, uint64_t user_data, uint64_t length,
			     uint32_t seq)
{
	struct drvops_generic_completion c;
	int ret = read_completion(ops_fd, &c);

	if (!check_ret(ret, "read() the completion"))
		return;
	printf("      completion: user_data %#llx, length %llu, status %d, "
	       "seq %u\n", (unsigned long long)c.user_data,
	       (unsigned long long)c.length, c.status, c.seq);
	check(c.status == 0 && c.user_data == user_data &&
		      c.length == length && c.seq == seq,
	      "completion matches the work posted");
}

static void do_copy(struct demo_device *dev, uint32_t mr, const uint8_t *src,
		    const uint8_t *dst)
{
	struct drvops_generic_copy copy;
	int ret;

	memset(&copy, 0, sizeof(copy));
	copy.size = sizeof(copy);
	copy.src.addr = (uintptr_t)src;
	copy.dst.addr = 0;	/* offset into the MR */
	copy.dst.mr_handle = mr;
	copy.dst.flags = DRVOPS_GENERIC_BUF_MR;
	copy.length = BUF_LEN;
	copy.user_data = 0xc0b1;
	ret = ioctl(dev->ops_fd, DRVOPS_GENERIC_IOCTL_COPY, &copy) ? -errno : 0;
	if (!check_ret(ret, "COPY user buffer -> MR"))
		return;
	check_completion(dev->ops_fd, copy.user_data, BUF_LEN, 0);
	check(memcmp(src, dst, BUF_LEN) == 0, "MR holds the source bytes");
}

static void do_fill(struct demo_device *dev, uint32_t mr, const uint8_t *src,
		    const uint8_t *dst)
{
	const size_t off = 100, len = 200;
	struct drvops_generic_fill fill;
	size_t i;
	int ret, ok = 1;

	memset(&fill, 0, sizeof(fill));
	fill.size = sizeof(fill);
	fill.dst.addr = off;
	fill.dst.mr_handle = mr;
	fill.dst.flags = DRVOPS_GENERIC_BUF_MR;
	fill.length = len;
	fill.user_data = 0xf111;
	fill.pattern = 0x5a;
	ret = ioctl(dev->ops_fd, DRVOPS_GENERIC_IOCTL_FILL, &fill) ? -errno : 0;
	if (!check_ret(ret, "FILL 200 bytes of the MR with 0x5a (v2)"))
		return;
	check_completion(dev->ops_fd, fill.user_data, len, 1);
	for (i = 0; i < BUF_LEN; i++)
		if (dst[i] != (i >= off && i < off + len ? 0x5a : src[i]))
			ok = 0;
	check(ok, "filled range set, the rest untouched");
}

static void work(struct demo_device *dev)
{
	uint32_t pd, mr, binding;
	uint8_t *src, *dst;
	size_t i;
	int ret;

	printf("  [%u] %s, version %u\n", dev->info.index, dev->info.ibdev,
	       dev->version);
	src = malloc(BUF_LEN);
	dst = aligned_alloc(4096, BUF_LEN);
	if (!src || !dst) {
		check(0, "allocate buffers");
		goto out_free;
	}
	for (i = 0; i < BUF_LEN; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	memset(dst, 0, BUF_LEN);

	if (!check_ret(drvops_alloc_pd(dev->uverbs_fd, &pd), "ALLOC_PD"))
		goto out_free;
	ret = drvops_reg_mr(dev->uverbs_fd, pd, dst, BUF_LEN,
			    IB_UVERBS_ACCESS_LOCAL_WRITE, &mr, NULL, NULL);
	if (!check_ret(ret, "REG_MR over an 8 KiB buffer (local write)"))
		goto out_pd;
	ret = drvops_bind(dev->uverbs_fd, dev->ops_fd, DRVOPS_OBJ_MR, mr,
			  &binding);
	if (!check_ret(ret, "BIND the MR to the driver-ops fd"))
		goto out_mr;
	check(drvops_dereg_mr(dev->uverbs_fd, mr) == -EBUSY,
	      "DEREG_MR while bound is refused (EBUSY)");

	do_copy(dev, mr, src, dst);
	if (dev->version >= 2)
		do_fill(dev, mr, src, dst);

	check_ret(drvops_unbind(dev->uverbs_fd, binding), "UNBIND");
out_mr:
	check_ret(drvops_dereg_mr(dev->uverbs_fd, mr), "DEREG_MR");
out_pd:
	check_ret(drvops_dealloc_pd(dev->uverbs_fd, pd), "DEALLOC_PD");
out_free:
	free(src);
	free(dst);
}


static const uint8_t demo_job_key[DRVOPS_HFI_JOB_KEY_LEN] = "drvops-demo-job";

/* The idx-th current (sdma.opa) or old (psm2.intel.com only) unit. */
static int hfi_open_unit(struct demo_device *devs, int n, bool current_unit,
			 int idx, struct drvops_hfi_ctx *h)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		struct drvops_interface_entry e[MAX_ENTRIES];
		unsigned total = 0, k;
		int cur = 0, old = 0, fd;

		fd = drvops_open_device(&devs[i].info);
		if (fd < 0)
			continue;
		if (drvops_get_context(fd) ||
		    drvops_query(fd, e, MAX_ENTRIES, &total) < 0) {
			close(fd);
			continue;
		}
		for (k = 0; k < total && k < MAX_ENTRIES; k++) {
			cur |= !strcmp(e[k].name, DRVOPS_HFI_NAME);
			old |= !strcmp(e[k].name, DRVOPS_HFI_LEGACY_NAME);
		}
		if ((current_unit ? cur : (old && !cur)) && idx-- == 0) {
			ret = drvops_hfi_open(h, fd, demo_job_key, 0);
			if (ret)
				close(fd);
			return ret;
		}
		close(fd);
	}
	return -ENODEV;
}

static void hfi_close_unit(struct drvops_hfi_ctx *h)
{
	int fd = h->uverbs_fd;

	drvops_hfi_close(h);
	close(fd);
}

/* Send len bytes from a to b and check what b receives. */
static void hfi_eager(struct drvops_hfi_ctx *a, struct drvops_hfi_ctx *b,
		      size_t len, const char *what)
{
	uint8_t *src = malloc(len), *dst = calloc(1, len);
	struct iovec iov = { src, len };
	size_t got = 0, i;
	int slot, last = 0;

	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 13 + 1);
	slot = drvops_hfi_send(a, DRVOPS_HFI_OP_EAGER, (uint16_t)b->info.lid,
			       (uint16_t)b->info.ctxt, 0, 0, NULL, &iov, 1);
	if (check_ret(slot, what) && check_ret(drvops_hfi_wait_slot(a, slot),
					       "  completion slot says COMPLETE")) {
		while (!last && drvops_hfi_wait_recv(b, 5000) == 1) {
			const volatile struct drvops_hfi_rhq_entry *e =
				drvops_hfi_peek(b);

			memcpy(dst + e->offset, drvops_hfi_eager_payload(b, e),
			       e->length);
			got += e->length;
			last = e->flags & DRVOPS_HFI_RHQ_LAST;
			drvops_hfi_consume(b, e);
		}
		printf("      received %zu bytes in %zu eager packet(s)\n", got,
		       (len + b->info.eager_size - 1) / b->info.eager_size);
		check(got == len && !memcmp(src, dst, len),
		      "  every byte arrived, in place");
	}
	free(src);
	free(dst);
}

static void hfi_expected(struct drvops_hfi_ctx *a, struct drvops_hfi_ctx *b,
			 size_t len)
{
	uint8_t *src = malloc(len), *dst = calloc(1, len);
	struct iovec iov = { src, len };
	uint32_t tid;
	size_t i;
	int slot;

	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	if (check_ret(drvops_hfi_tid_register(b, dst, len, &tid),
		      "receiver registers a 1 MiB buffer (TID_REGISTER)")) {
		slot = drvops_hfi_send(a, DRVOPS_HFI_OP_EXPECTED,
				       (uint16_t)b->info.lid,
				       (uint16_t)b->info.ctxt, tid, 0, NULL,
				       &iov, 1);
		check_ret(slot >= 0 ? drvops_hfi_wait_slot(a, slot) : slot,
			  "sender writes straight into it (EXPECTED)");
		if (drvops_hfi_wait_recv(b, 5000) == 1) {
			const volatile struct drvops_hfi_rhq_entry *e =
				drvops_hfi_peek(b);

			check(e->tid == tid && e->length == len,
			      "  one RHQ entry announces it");
			drvops_hfi_consume(b, e);
		}
		check(!memcmp(src, dst, len), "  the buffer holds the data: one copy");
		drvops_hfi_tid_free(b, tid);
	}
	free(src);
	free(dst);
}

static void show_hfi(const char *who, const struct drvops_hfi_ctx *h)
{
	printf("      %-8s %s v%u, LID %u, context %u\n", who,
	       h->legacy ? DRVOPS_HFI_LEGACY_NAME : DRVOPS_HFI_NAME,
	       h->version, h->info.lid, h->info.ctxt);
}

static void hfi_demo(struct demo_device *devs, int n)
{
	struct drvops_hfi_ctx a, b, old;

	heading("4. An emulated HFI",
		"Each unit is asked for [\"sdma.opa\", \"psm2.intel.com\"]; "
		"an old driver build\nonly knows the second. Units talk "
		"across one emulated fabric.");
	if (hfi_open_unit(devs, n, true, 0, &a)) {
		printf("      no HFI units: skipped\n");
		return;
	}
	if (!check_ret(hfi_open_unit(devs, n, true, 1, &b),
		       "a second current unit")) {
		hfi_close_unit(&a);
		return;
	}
	show_hfi("unit A", &a);
	show_hfi("unit B", &b);
	hfi_eager(&a, &b, 20000, "A -> B: eager message, 20000 bytes");
	hfi_expected(&a, &b, 1 << 20);
	if (!hfi_open_unit(devs, n, false, 0, &old)) {
		show_hfi("old unit", &old);
		hfi_eager(&old, &b, 5000, "old -> B: eager, legacy ABI");
		hfi_close_unit(&old);
	}
	hfi_close_unit(&a);
	hfi_close_unit(&b);
}

int main(void)
{
	struct demo_device devs[DRVOPS_MAX_DEVICES];
	int n, i, served = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	n = discover(devs, DRVOPS_MAX_DEVICES);
	if (n < 0)
		return 1;

	heading("2. Negotiation",
		"Each device is asked for \"copy.generic\", else "
		"\"copy.legacy\", versions 1..2.\nThe first name it knows in "
		"range wins, at the highest common version.");
	for (i = 0; i < n; i++)
		served += negotiate(&devs[i]);

	heading("3. Work through the driver-ops fd",
		"The MR is made on the uverbs fd and bound to the driver-ops "
		"fd, which then\nmoves data into it; completions come back "
		"through read().");
	for (i = 0; i < n; i++)
		if (devs[i].ops_fd >= 0)
			work(&devs[i]);

	hfi_demo(devs, n);

	for (i = 0; i < n; i++) {
		if (devs[i].ops_fd >= 0)
			close(devs[i].ops_fd);
		if (devs[i].uverbs_fd >= 0)
			close(devs[i].uverbs_fd);
	}

	if (!served)
		check(0, "at least one device offers a driver-ops fd");
	printf("\n%s: %d check(s) failed\n", failures ? "DEMO FAILED" :
							"DEMO OK", failures);
	return failures ? 1 : 0;
}
