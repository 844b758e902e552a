// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Null ioctl: one call into the kernel that does nothing, four ways.
 *
 *   drvops   copy.generic NOOP on a driver-ops fd: the broker's dispatch
 *            (creator check, enter/exit, table lookup, size-extensible
 *            struct copy) plus the driver's handler
 *   misc     the same NOOP on the bare misc device (switch, copy_from_user)
 *   devnull  an ioctl on /dev/null failing ENOTTY: the ioctl syscall alone
 *   getppid  the cheapest syscall
 *   hfi      sdma.opa COUNTERS on an HFI context fd: the broker's dispatch
 *            plus a handler that copies six counters out
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rdma/drvops_generic.h>
#include <rdma/drvops_miscbench.h>

#include "bench.h"
#include "hfictx.h"

struct null_ctx {
	struct bench_generic g;
	struct drvops_hfi_ctx h;
	int fd;
};

struct null_method {
	const char *id;
	const char *label;
	int (*open)(struct null_ctx *c);	/* sets c->fd; 0 or -errno */
	void (*close)(struct null_ctx *c);
	bench_fn fn;
};

static int generic_open(struct null_ctx *c)
{
	int ret = bench_generic_open(&c->g);

	c->fd = c->g.fd;
	return ret;
}

static void generic_close(struct null_ctx *c)
{
	bench_generic_close(&c->g);
}

static int hfi_open(struct null_ctx *c)
{
	int ret = bench_hfi_open(&c->h, 0);

	c->fd = c->h.fd;
	return ret;
}

static void hfi_close(struct null_ctx *c)
{
	bench_hfi_close(&c->h);
}

static int counters_hfi(void *ctx, unsigned long iters)
{
	struct drvops_hfi_counters cmd = { .size = sizeof(cmd) };
	int fd = ((struct null_ctx *)ctx)->fd;

	while (iters--)
		if (ioctl(fd, DRVOPS_HFI_IOCTL_COUNTERS, &cmd))
			return -errno;
	return 0;
}

static int misc_open(struct null_ctx *c)
{
	c->fd = bench_misc_open();
	return c->fd < 0 ? c->fd : 0;
}

static int devnull_open(struct null_ctx *c)
{
	c->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return c->fd < 0 ? -errno : 0;
}

static void fd_close(struct null_ctx *c)
{
	close(c->fd);
}

static int noop_generic(void *ctx, unsigned long iters)
{
	struct drvops_generic_noop cmd = { .size = sizeof(cmd) };
	int fd = ((struct null_ctx *)ctx)->fd;

	while (iters--)
		if (ioctl(fd, DRVOPS_GENERIC_IOCTL_NOOP, &cmd))
			return -errno;
	return 0;
}

static int noop_misc(void *ctx, unsigned long iters)
{
	struct drvops_miscbench_noop cmd = { 0 };
	int fd = ((struct null_ctx *)ctx)->fd;

	while (iters--)
		if (ioctl(fd, DRVOPS_MISCBENCH_IOCTL_NOOP, &cmd))
			return -errno;
	return 0;
}

static int noop_devnull(void *ctx, unsigned long iters)
{
	struct drvops_miscbench_noop cmd = { 0 };
	int fd = ((struct null_ctx *)ctx)->fd;

	while (iters--)
		if (ioctl(fd, DRVOPS_MISCBENCH_IOCTL_NOOP, &cmd) != -1 ||
		    errno != ENOTTY)
			return -EPROTO;
	return 0;
}

static int noop_getppid(void *ctx, unsigned long iters)
{
	(void)ctx;
	while (iters--)
		syscall(SYS_getppid);
	return 0;
}

static const struct null_method methods[] = {
	{ "drvops", "drvops NOOP (copy.generic v2 fd)",
	  generic_open, generic_close, noop_generic },
	{ "misc", "misc char dev NOOP (no broker)",
	  misc_open, fd_close, noop_misc },
	{ "hfi", "sdma.opa COUNTERS (HFI context fd)",
	  hfi_open, hfi_close, counters_hfi },
	{ "devnull", "ioctl on /dev/null (ENOTTY)",
	  devnull_open, fd_close, noop_devnull },
	{ "getppid", "syscall getppid()",
	  NULL, NULL, noop_getppid },
};

#define NUM_METHODS (sizeof(methods) / sizeof(methods[0]))

static int null_run(const struct bench_family *fam, const struct bench_opts *o)
{
	struct bench_case cases[NUM_METHODS];
	struct null_ctx ctx[NUM_METHODS];
	const struct null_method *m;
	int opened[NUM_METHODS];
	unsigned int i;
	int ret;

	for (i = 0; i < NUM_METHODS; i++) {
		m = &methods[i];
		ctx[i].fd = -1;
		cases[i] = (struct bench_case){
			.method = m->id,
			.label = m->label,
			.fn = m->fn,
			.ctx = &ctx[i],
			.err = m->open ? m->open(&ctx[i]) : 0,
		};
		opened[i] = !cases[i].err;
	}
	ret = bench_run_set(fam, o, cases, NUM_METHODS);
	for (i = 0; i < NUM_METHODS; i++)
		if (opened[i] && methods[i].close)
			methods[i].close(&ctx[i]);
	return ret;
}

const struct bench_family bench_null_family = {
	.name = "null",
	.title = "null ioctl: one call that does nothing (ns/op)",
	.ref = "misc",
	.run = null_run,
};
