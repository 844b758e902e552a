// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * What another process may do with a driver-ops fd: only close it. A fork
 * child and a receiver over SCM_RIGHTS get EPERM for every operation and
 * POLLERR from poll, do not inherit its mappings, and cannot reach the
 * creator's memory by binding its MRs through the inherited uverbs fd.
 * The creator keeps working throughout.
 *
 * Children report through their exit code: 0, or the number of the first
 * check that failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "tl_proc.h"

/* Every operation but close must be refused; returns 0 or a check number. */
static int foreign_checks(int fd, const volatile uint32_t *mapped)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_info info = { .size = sizeof(info) };
	struct drvops_generic_completion c;
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	char buf[64];

	if (tl_ioctl(fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop) != -EPERM)
		return 10;
	if (tl_ioctl(fd, DRVOPS_IOCTL_GET_INFO, &info) != -EPERM)
		return 11;
	if (tl_copy(fd, tl_user_buf(buf), tl_user_buf(buf + 32), 16, 0) !=
	    -EPERM)
		return 12;
	if (read(fd, &c, sizeof(c)) != -1 || errno != EPERM)
		return 13;
	if (write(fd, &c, sizeof(c)) != -1 || errno != EPERM)
		return 14;
	if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED ||
	    errno != EPERM)
		return 15;
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLERR))
		return 16;
	if (mapped && tl_probe_read(mapped) != SIGSEGV)
		return 17;
	if (close(fd))
		return 18;
	return 0;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The creator's fd still copies data correctly. */
static void assert_creator_works(struct tl_ctx *ctx)
{
	char src[32] = "still the creator's fd", dst[32] = "";
	struct drvops_generic_completion c;

	TL_ASSERT_OK(tl_copy(ctx->ops_fd, tl_user_buf(src), tl_user_buf(dst),
			     sizeof(src), 7));
	TL_ASSERT_OK(tl_read_completion(ctx->ops_fd, &c));
	CU_ASSERT(c.status == 0 && c.user_data == 7);
	CU_ASSERT(memcmp(src, dst, sizeof(src)) == 0);
}

static void test_fork_child_may_only_close(void)
{
	struct drvops_generic_ring_setup rs = {
		.size = sizeof(rs),
		.entries = 16,
	};
	volatile uint32_t *ring;
	struct tl_ctx ctx;
	pid_t pid;

	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 2, 4096));
	TL_ASSERT_OK(tl_ioctl(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP,
			      &rs));
	ring = mmap(NULL, rs.mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		    ctx.ops_fd, rs.mmap_offset);
	CU_ASSERT_FATAL(ring != MAP_FAILED);
	CU_ASSERT(ring[2] == 16);	/* header.entries */

	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(foreign_checks(ctx.ops_fd, ring));
	CU_ASSERT(wait_child(pid) == 0);

	/* The parent's mapping and fd are untouched. */
	CU_ASSERT(ring[2] == 16);
	munmap((void *)ring, rs.mmap_length);
	{
		struct drvops_generic_noop noop = { .size = sizeof(noop) };

		TL_ASSERT_OK(tl_ioctl(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_NOOP,
				      &noop));
	}
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
}

static void test_scm_rights_receiver_may_only_close(void)
{
	struct tl_ctx ctx;
	int sv[2];
	pid_t pid;

	/* The receiver exists before the fd does: it shares nothing. */
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		int fd;

		close(sv[0]);
		fd = tl_recv_fd(sv[1]);
		_exit(fd < 0 ? 1 : foreign_checks(fd, NULL));
	}
	close(sv[1]);
	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 0));
	TL_ASSERT_OK(tl_send_fd(sv[0], ctx.ops_fd));
	CU_ASSERT(wait_child(pid) == 0);
	close(sv[0]);
	assert_creator_works(&ctx);
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
}

/*
 * The child shares the parent's uverbs context (and so its MR handles):
 * a driver-ops fd of its own must still not reach the parent's MR.
 */
static void test_fork_child_cannot_bind_parent_mr(void)
{
	struct tl_ctx ctx;
	pid_t pid;

	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 4096));
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid) {
		uint32_t binding;
		int fd, ret;

		/* Binding to the parent's fd: not the child's to use. */
		ret = drvops_bind(ctx.uverbs_fd, ctx.ops_fd, DRVOPS_OBJ_MR,
				  ctx.mr, &binding);
		if (ret != -EPERM)
			_exit(1);
		fd = tl_get_fd(ctx.uverbs_fd, DRVOPS_GENERIC_NAME, 1);
		if (fd < 0)
			_exit(2);
		/* A fd of its own, but the MR's pages are the parent's. */
		ret = drvops_bind(ctx.uverbs_fd, fd, DRVOPS_OBJ_MR, ctx.mr,
				  &binding);
		if (ret != -EPERM)
			_exit(3);
		/* Its own memory is fine. */
		ret = drvops_bind(ctx.uverbs_fd, fd, DRVOPS_OBJ_PD, ctx.pd,
				  &binding);
		if (ret)
			_exit(4);
		if (drvops_unbind(ctx.uverbs_fd, binding))
			_exit(5);
		close(fd);
		_exit(0);
	}
	CU_ASSERT(wait_child(pid) == 0);
	assert_creator_works(&ctx);
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
}

static CU_TestInfo sharing_tests[] = {
	{ "fork child may only close", test_fork_child_may_only_close },
	{ "SCM_RIGHTS receiver may only close",
	  test_scm_rights_receiver_may_only_close },
	{ "fork child cannot bind parent's MR",
	  test_fork_child_cannot_bind_parent_mr },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "other processes", NULL, NULL, NULL, NULL, sharing_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_sharing", suites);
}
