// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * SELinux mediates a driver-ops fd exactly like the uverbs node it came
 * from. Runs only in the enforcing boot (tests/vm/run.sh --selinux: the
 * guest loads tests/suites/selinux/drvops-test.cil before any RDMA module),
 * never in the normal one.
 *
 * Each case runs in a child that execs this binary again in a test domain
 * (context written to /proc/self/attr/exec), and reports through its exit
 * code: 0, or the number of the first check that failed (printed on
 * stderr). The domains mirror policy/drvops.if:
 *   drvops_ok_t        drvops_use_rdma
 *   drvops_generic_t   drvops_use_generic_copy (0x1b20-0x1b2f + broker)
 *   drvops_sdma_t      drvops_use_hfi_sdma (0x1b30-0x1b3f + broker)
 *   drvops_uverbs_t    drvops_use_uverbs (0x1b01 + broker only)
 *   drvops_nomap_t     drvops_use_rdma without map
 *   drvops_nouverbs_t  nothing on infiniband_device_t
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tl_fds.h"
#include "tl_hfi.h"
#include "tl_proc.h"

#define TIMEOUT_MS 10000
#define CTX_PREFIX "system_u:system_r:"
#define IB_LABEL "system_u:object_r:infiniband_device_t"

static const char *self_exe = "/proc/self/exe";

/* ---- In the child: checks that print what failed ------------------- */

/* The ioctl's errno, or 0. */
static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	int ret = tl_ioctl(fd, cmd, arg);

	return ret < 0 ? -ret : 0;
}

/* security.selinux of an fd or a path, NUL-terminated; 0 or -errno. */
static int label_of_fd(int fd, char *buf, size_t len)
{
	ssize_t n = fgetxattr(fd, "security.selinux", buf, len - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static uint8_t *pattern_buf(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len);
	size_t i;

	for (i = 0; p && i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
	return p;
}

/*
 * copy.generic v2 end to end: NOOP, COPY and FILL between user buffers and
 * into a bound MR, RING_SETUP and the completions in the mapped ring; a v1
 * fd's completions through read(). "generic" (ok and generic domains).
 */
static int case_generic(void)
{
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs), .entries = 8 };
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_info info = { .size = sizeof(info) };
	const struct drvops_generic_completion *ring_e;
	struct drvops_generic_completion c;
	volatile struct drvops_generic_ring_header *ring;
	char label[128], src[256], dst[256];
	struct tl_ctx ctx, v1;
	int i;

	TL_CHILD_CHECK(1, tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			     4096) == 0);
	/* The driver-ops fd carries the uverbs node's label. */
	TL_CHILD_CHECK(2, label_of_fd(ctx.ops_fd, label, sizeof(label)) == 0);
	TL_CHILD_CHECK(3, !strcmp(label, IB_LABEL));
	TL_CHILD_CHECK(4, ioctl_errno(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop) == 0);
	TL_CHILD_CHECK(5, ioctl_errno(ctx.ops_fd, DRVOPS_IOCTL_GET_INFO, &info) == 0);
	TL_CHILD_CHECK(6, info.version == 2 && !strcmp(info.name, DRVOPS_GENERIC_NAME));

	TL_CHILD_CHECK(7, ioctl_errno(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs) ==
		 0);
	ring = mmap(NULL, rs.mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		    ctx.ops_fd, rs.mmap_offset);
	TL_CHILD_CHECK(8, ring != MAP_FAILED);
	TL_CHILD_CHECK(9, ring->entries == 8 && ring->producer == 0);

	for (i = 0; i < (int)sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);
	memset(dst, 0, sizeof(dst));
	TL_CHILD_CHECK(10, tl_copy(ctx.ops_fd, tl_user_buf(src), tl_user_buf(dst),
			  sizeof(src), 11) == 0);
	TL_CHILD_CHECK(11, !memcmp(src, dst, sizeof(src)));
	TL_CHILD_CHECK(12, tl_copy(ctx.ops_fd, tl_user_buf(src), tl_mr_buf(ctx.mr, 100),
			  sizeof(src), 12) == 0);
	TL_CHILD_CHECK(13, !memcmp(ctx.buf + 100, src, sizeof(src)));
	TL_CHILD_CHECK(14, tl_fill(ctx.ops_fd, tl_mr_buf(ctx.mr, 1000), 64, 0xa5, 13) ==
		  0);
	for (i = 0; i < 64; i++)
		TL_CHILD_CHECK(15, ctx.buf[1000 + i] == 0xa5);
	TL_CHILD_CHECK(16, ctx.buf[999] == 0 && ctx.buf[1064] == 0);
	/* Three completions in the ring, in order, all successful. */
	TL_CHILD_CHECK(17, ring->producer == 3);
	ring_e = (const struct drvops_generic_completion *)(ring + 1);
	for (i = 0; i < 3; i++)
		TL_CHILD_CHECK(18, ring_e[i].status == 0 && ring_e[i].seq == (uint32_t)i &&
				  ring_e[i].user_data == 11u + i);
	ring->consumer = 3;
	munmap((void *)ring, rs.mmap_length);
	TL_CHILD_CHECK(19, tl_ctx_close(&ctx) == 0);

	/* Version 1: the completion is read(). */
	TL_CHILD_CHECK(20, tl_ctx_open(&v1, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 1,
			      0) == 0);
	memset(dst, 0, sizeof(dst));
	TL_CHILD_CHECK(21, tl_copy(v1.ops_fd, tl_user_buf(src), tl_user_buf(dst), 64,
			  21) == 0);
	TL_CHILD_CHECK(22, tl_read_completion(v1.ops_fd, &c) == 0);
	TL_CHILD_CHECK(23, c.status == 0 && c.user_data == 21 && c.length == 64 &&
			  !memcmp(src, dst, 64));
	TL_CHILD_CHECK(24, tl_ctx_close(&v1) == 0);
	return 0;
}

static void make_hdr(uint8_t hdr[DRVOPS_HFI_HDR_BYTES], uint32_t tag)
{
	memset(hdr, 0, DRVOPS_HFI_HDR_BYTES);
	memcpy(hdr, &tag, sizeof(tag));
}

/* One expected message of len bytes from a into tid of b; 0 or -errno. */
static int hfi_expected(struct drvops_hfi_ctx *a, struct drvops_hfi_ctx *b,
			const uint8_t *src, size_t len, uint32_t tid)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	struct iovec iov = { (void *)src, len };
	int slot, ret;

	slot = drvops_hfi_send(a, DRVOPS_HFI_OP_EXPECTED, (uint16_t)b->info.lid,
			       (uint16_t)b->info.ctxt, tid, 0, NULL, &iov, 1);
	if (slot < 0)
		return slot;
	ret = drvops_hfi_wait_slot(a, slot);
	if (!ret)
		ret = tl_hfi_recv(b, &e, TIMEOUT_MS);
	if (ret)
		return ret;
	ret = e->tid == tid && e->length == len ? 0 : -EBADMSG;
	drvops_hfi_consume(b, e);
	return ret;
}

/*
 * sdma.opa across two units: contexts (ASSIGN_CTXT 0x1b30, CTXT_INFO
 * 0x1b31, four mappings), an eager message, expected receive into a
 * registered buffer (TID_REGISTER 0x1b32, TID_FREE 0x1b33), COUNTERS
 * (0x1b34) and expected receive into a bound MR (TID_REGISTER_MR 0x1b35).
 */
static int case_hfi(void)
{
	const size_t len = 64 << 10;
	const volatile struct drvops_hfi_rhq_entry *e;
	struct drvops_hfi_counters cnt = { .size = sizeof(cnt) };
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	struct drvops_hfi_ctx a, b;
	uint32_t tid, pd, mr, binding;
	uint8_t *src, *dst;
	struct iovec iov;
	char label[128];
	int slot, ret;

	TL_CHILD_CHECK(1, tl_hfi_open(&a, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0) == 0);
	TL_CHILD_CHECK(2, tl_hfi_open(&b, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0) == 0);
	TL_CHILD_CHECK(3, !a.legacy && a.version == 4 && b.version == 4);
	TL_CHILD_CHECK(4, label_of_fd(b.fd, label, sizeof(label)) == 0 &&
			 !strcmp(label, IB_LABEL));
	src = pattern_buf(len, 5);
	dst = aligned_alloc(4096, len);
	TL_CHILD_CHECK(5, src && dst);
	memset(dst, 0, len);

	/* Eager: 1000 bytes, one packet. */
	make_hdr(hdr, 77);
	iov = (struct iovec){ src, 1000 };
	slot = drvops_hfi_send(&a, DRVOPS_HFI_OP_EAGER, (uint16_t)b.info.lid,
			       (uint16_t)b.info.ctxt, 0, 0, hdr, &iov, 1);
	TL_CHILD_CHECK(6, slot >= 0);
	TL_CHILD_CHECK(7, drvops_hfi_wait_slot(&a, slot) == 0);
	TL_CHILD_CHECK(8, tl_hfi_recv(&b, &e, TIMEOUT_MS) == 0);
	TL_CHILD_CHECK(9, (e->flags & DRVOPS_HFI_RHQ_EAGER) && e->length == 1000 &&
			 e->src_lid == a.info.lid && !memcmp((const void *)e->hdr, hdr, 4));
	TL_CHILD_CHECK(10, !memcmp(drvops_hfi_eager_payload(&b, e), src, 1000));
	drvops_hfi_consume(&b, e);

	/* Expected into a registered buffer. */
	TL_CHILD_CHECK(11, drvops_hfi_tid_register(&b, dst, len, &tid) == 0);
	TL_CHILD_CHECK(12, hfi_expected(&a, &b, src, len, tid) == 0);
	TL_CHILD_CHECK(13, !memcmp(dst, src, len));
	TL_CHILD_CHECK(14, drvops_hfi_tid_free(&b, tid) == 0);

	ret = drvops_hfi_counters(&a, &cnt);
	TL_CHILD_CHECK(15, ret == 0);
	TL_CHILD_CHECK(16, cnt.tx_packets >= 2 && cnt.tx_bytes >= 1000 + len);

	/* Expected into an MR made on the uverbs fd and bound. */
	memset(dst, 0, len);
	TL_CHILD_CHECK(18, drvops_alloc_pd(b.uverbs_fd, &pd) == 0);
	TL_CHILD_CHECK(19, drvops_reg_mr(b.uverbs_fd, pd, dst, len, 1, &mr, NULL,
				NULL) == 0);
	TL_CHILD_CHECK(20, drvops_bind(b.uverbs_fd, b.fd, DRVOPS_OBJ_MR, mr,
			      &binding) == 0);
	ret = drvops_hfi_tid_register_mr(&b, mr, 0, len, &tid);
	TL_CHILD_CHECK(21, ret == 0);
	TL_CHILD_CHECK(22, hfi_expected(&a, &b, src, len, tid) == 0);
	TL_CHILD_CHECK(23, !memcmp(dst, src, len));
	TL_CHILD_CHECK(24, drvops_hfi_tid_free(&b, tid) == 0);
	TL_CHILD_CHECK(27, drvops_unbind(b.uverbs_fd, binding) == 0);
	TL_CHILD_CHECK(28, drvops_dereg_mr(b.uverbs_fd, mr) == 0);
	TL_CHILD_CHECK(29, drvops_dealloc_pd(b.uverbs_fd, pd) == 0);
	tl_hfi_close(&a);
	tl_hfi_close(&b);
	free(src);
	free(dst);
	return 0;
}

/* No infiniband_device_t: the node cannot even be opened. */
static int case_nodev(void)
{
	struct drvops_device_info dev;
	int fd;

	/* Discovery (sysfs) works, the node does not. */
	TL_CHILD_CHECK(1, tl_find_device(TL_DEVICE_CURRENT, &dev) == 0);
	fd = open(dev.uverbs_path, O_RDWR | O_CLOEXEC);
	TL_CHILD_CHECK(2, fd == -1 && errno == EACCES);
	fd = open(dev.uverbs_path, O_RDONLY | O_CLOEXEC);
	TL_CHILD_CHECK(3, fd == -1 && errno == EACCES);
	TL_CHILD_CHECK(4, tl_open_device(TL_DEVICE_CURRENT) == -EACCES);
	TL_CHILD_CHECK(5, tl_hfi_find(TL_HFI_CURRENT, 0, &dev) == 0);
	TL_CHILD_CHECK(6, drvops_open_device(&dev) == -EACCES);
	return 0;
}

/*
 * Receiving a driver-ops fd over SCM_RIGHTS (socket inherited as fd
 * argv): with ok, the fd arrives (and the broker refuses it: not the
 * creator, EPERM); without uverbs access, SELinux drops it: the message
 * arrives with MSG_CTRUNC and no fd.
 */
static int case_recv(int sock, int expect_fd)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	memset(cbuf, 0, sizeof(cbuf));
	TL_CHILD_CHECK(1, recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) == 1 && byte == 'f');
	cm = CMSG_FIRSTHDR(&msg);
	if (!expect_fd) {
		TL_CHILD_CHECK(2, msg.msg_flags & MSG_CTRUNC);
		TL_CHILD_CHECK(3, !cm || cm->cmsg_len < CMSG_LEN(sizeof(int)));
		/* No drvops fd appeared anywhere in this process. */
		for (fd = 0; fd < 64; fd++)
			TL_CHILD_CHECK(4, !tl_is_drvops_fd(fd));
		return 0;
	}
	TL_CHILD_CHECK(5, !(msg.msg_flags & MSG_CTRUNC));
	TL_CHILD_CHECK(6, cm && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	TL_CHILD_CHECK(7, tl_is_drvops_fd(fd));
	TL_CHILD_CHECK(8, ioctl_errno(fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop) == EPERM);
	TL_CHILD_CHECK(9, close(fd) == 0);
	return 0;
}

/*
 * A driver-ops fd inherited across exec (FD_CLOEXEC cleared): a domain
 * without uverbs access does not keep it (SELinux closes or replaces
 * it at the transition); a permitted one keeps it but may only close it
 * (the broker: not the creating process).
 */
static int case_inherit(int fd, int expect_fd)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };

	if (!expect_fd) {
		TL_CHILD_CHECK(1, !tl_is_drvops_fd(fd));
		return 0;
	}
	TL_CHILD_CHECK(2, tl_is_drvops_fd(fd));
	TL_CHILD_CHECK(3, ioctl_errno(fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop) == EPERM);
	TL_CHILD_CHECK(4, close(fd) == 0);
	return 0;
}

/*
 * An interface the domain may not use: the HFI library's open fails at
 * ASSIGN_CTXT with EACCES (the driver-ops fd itself is granted: GET_FD is
 * a uverbs method), and nothing is left open.
 */
static int case_hfi_denied(void)
{
	struct drvops_hfi_ctx h;
	int before = tl_count_open_fds();

	TL_CHILD_CHECK(1, tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0) ==
			 -EACCES);
	TL_CHILD_CHECK(2, tl_count_open_fds() == before);
	return 0;
}

/*
 * drvops_use_hfi_sdma: sdma.opa works end to end, but psm2.intel.com,
 * an interface of the same driver in its own number range, does not;
 * nor does copy.generic.
 */
static int case_sdma_only(void)
{
	static const char *const legacy[] = { DRVOPS_HFI_LEGACY_NAME };
	struct drvops_hfi_assign_ctxt a = { .size = sizeof(a) };
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_device_info dev;
	struct tl_ctx ctx;
	int u, fd, ret;

	ret = case_hfi();
	if (ret)
		return ret;
	TL_CHILD_CHECK(40, tl_hfi_find(TL_HFI_CURRENT, 0, &dev) == 0);
	u = drvops_open_device(&dev);
	TL_CHILD_CHECK(41, u >= 0 && drvops_get_context(u) == 0);
	fd = drvops_get_fd(u, legacy, 1, 1, 1, 0, NULL, NULL);
	TL_CHILD_CHECK(42, fd >= 0);
	memcpy(a.job_key, tl_hfi_job_a, sizeof(a.job_key));
	TL_CHILD_CHECK(43, ioctl_errno(fd, DRVOPS_HFI_LEGACY_IOCTL_ASSIGN_CTXT,
				       &a) == EACCES);
	close(fd);
	close(u);
	TL_CHILD_CHECK(44, tl_ctx_open(&ctx, TL_DEVICE_CURRENT,
				       DRVOPS_GENERIC_NAME, 2, 0) == 0);
	TL_CHILD_CHECK(45, ioctl_errno(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_NOOP,
				       &noop) == EACCES);
	TL_CHILD_CHECK(46, tl_ctx_close(&ctx) == 0);
	return 0;
}

/*
 * Only the broker's numbers and 0x1b01 (RDMA_VERBS_IOCTL): GET_FD works,
 * GET_INFO works, every copy.generic ioctl (0x1b20..) is EACCES: no
 * interface shares a number with RDMA_VERBS_IOCTL any more.
 */
static int case_uverbs_only(void)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_info info = { .size = sizeof(info) };
	char src[64] = "shares its number with RDMA_VERBS_IOCTL", dst[64] = "";
	struct tl_ctx ctx;

	TL_CHILD_CHECK(1, tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			     0) == 0);
	TL_CHILD_CHECK(2, ioctl_errno(ctx.ops_fd, DRVOPS_IOCTL_GET_INFO, &info) == 0);
	TL_CHILD_CHECK(3, info.version == 2);
	TL_CHILD_CHECK(4, ioctl_errno(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop) ==
			 EACCES);
	TL_CHILD_CHECK(5, tl_fill(ctx.ops_fd, tl_user_buf(dst), 8, 1, 1) == -EACCES);
	TL_CHILD_CHECK(6, dst[0] == 0);
	TL_CHILD_CHECK(7, tl_copy(ctx.ops_fd, tl_user_buf(src), tl_user_buf(dst),
			 sizeof(src), 2) == -EACCES);
	TL_CHILD_CHECK(8, dst[0] == 0);
	TL_CHILD_CHECK(10, tl_ctx_close(&ctx) == 0);
	return 0;
}

/* Everything but map: ioctls work, mmap of the fd is EACCES. */
static int case_nomap(void)
{
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs), .entries = 8 };
	struct drvops_hfi_ctx h;
	struct drvops_device_info dev;
	struct tl_ctx ctx;
	void *p;
	int uverbs_fd;

	TL_CHILD_CHECK(1, tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			     0) == 0);
	TL_CHILD_CHECK(2, ioctl_errno(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs) ==
			 0);
	p = mmap(NULL, rs.mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		 ctx.ops_fd, rs.mmap_offset);
	TL_CHILD_CHECK(3, p == MAP_FAILED && errno == EACCES);
	p = mmap(NULL, rs.mmap_length, PROT_READ, MAP_SHARED, ctx.ops_fd,
		 rs.mmap_offset);
	TL_CHILD_CHECK(4, p == MAP_FAILED && errno == EACCES);
	TL_CHILD_CHECK(5, tl_ctx_close(&ctx) == 0);
	/* The HFI needs its mappings: the library's open fails cleanly. */
	TL_CHILD_CHECK(6, tl_hfi_find(TL_HFI_CURRENT, 0, &dev) == 0);
	uverbs_fd = drvops_open_device(&dev);
	TL_CHILD_CHECK(7, uverbs_fd >= 0 && drvops_get_context(uverbs_fd) == 0);
	TL_CHILD_CHECK(8, drvops_hfi_open(&h, uverbs_fd, tl_hfi_job_a, 0) == -EACCES);
	TL_CHILD_CHECK(9, h.fd == -1);
	close(uverbs_fd);
	return 0;
}

/* The child side: argv = self --as DOMAIN CASE [ARG]. */
static int child_main(int argc, char **argv)
{
	const char *domain = argv[2], *what = argv[3];
	int arg = argc > 4 ? atoi(argv[4]) : -1;
	char want[128], cur[128] = "";
	ssize_t n;
	int fd;

	/* Really in the domain? */
	snprintf(want, sizeof(want), CTX_PREFIX "%s", domain);
	fd = open("/proc/self/attr/current", O_RDONLY | O_CLOEXEC);
	TL_CHILD_CHECK(100, fd >= 0);
	n = read(fd, cur, sizeof(cur) - 1);
	close(fd);
	TL_CHILD_CHECK(101, n > 0);
	cur[n] = '\0';
	while (n > 0 && (cur[n - 1] == '\n' || cur[n - 1] == '\0'))
		cur[--n] = '\0';
	if (strcmp(cur, want)) {
		fprintf(stderr, "  running as '%s', want '%s'\n", cur, want);
		return 102;
	}

	if (!strcmp(what, "generic"))
		return case_generic();
	if (!strcmp(what, "hfi-full"))
		return case_hfi();
	if (!strcmp(what, "hfi-denied"))
		return case_hfi_denied();
	if (!strcmp(what, "sdma-only"))
		return case_sdma_only();
	if (!strcmp(what, "nodev"))
		return case_nodev();
	if (!strcmp(what, "recv-fd"))
		return case_recv(arg, 1);
	if (!strcmp(what, "recv-nofd"))
		return case_recv(arg, 0);
	if (!strcmp(what, "inherit-fd"))
		return case_inherit(arg, 1);
	if (!strcmp(what, "inherit-nofd"))
		return case_inherit(arg, 0);
	if (!strcmp(what, "uverbs-only"))
		return case_uverbs_only();
	if (!strcmp(what, "nomap"))
		return case_nomap();
	fprintf(stderr, "unknown case %s\n", what);
	return 99;
}

/* ---- In the CUnit process ------------------------------------------- */

static pid_t spawn_in(const char *domain, const char *what, int arg)
{
	char ctx[128], num[16];
	pid_t pid;

	snprintf(ctx, sizeof(ctx), CTX_PREFIX "%s", domain);
	snprintf(num, sizeof(num), "%d", arg);
	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	{
		int fd = open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
		char *args[] = { "test_selinux", "--as", (char *)domain,
				 (char *)what, num, NULL };

		if (fd < 0 || write(fd, ctx, strlen(ctx)) != (ssize_t)strlen(ctx)) {
			perror("  /proc/self/attr/exec");
			_exit(98);
		}
		close(fd);
		execv(self_exe, args);
		perror("  execv");
		_exit(97);
	}
}

static int wait_status(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status))
		return -2;
	return WEXITSTATUS(status);
}

/* Run a case in a domain; its exit code (0: every check passed). */
static int run_in(const char *domain, const char *what, int arg)
{
	int rc = wait_status(spawn_in(domain, what, arg));

	if (rc)
		fprintf(stderr, "\n  %s in %s: rc %d\n", what, domain, rc);
	return rc;
}

static void test_enforcing_and_labels(void)
{
	struct drvops_device_info dev;
	char buf[128] = "";
	ssize_t n;
	int fd;

	fd = open("/sys/fs/selinux/enforce", O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(read(fd, buf, 1) == 1 && buf[0] == '1');
	close(fd);
	TL_ASSERT_OK(tl_find_device(TL_DEVICE_CURRENT, &dev));
	n = getxattr(dev.uverbs_path, "security.selinux", buf, sizeof(buf) - 1);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, IB_LABEL);
	/* A context the policy does not know is refused (child rc 98). */
	CU_ASSERT(wait_status(spawn_in("drvops_bogus_t", "generic", 0)) == 98);
}

static void test_permitted_generic(void)
{
	CU_ASSERT(run_in("drvops_ok_t", "generic", 0) == 0);
}

static void test_permitted_hfi(void)
{
	CU_ASSERT(run_in("drvops_ok_t", "hfi-full", 0) == 0);
}

static void test_no_uverbs_cannot_open(void)
{
	CU_ASSERT(run_in("drvops_nouverbs_t", "nodev", 0) == 0);
}

/* Send our driver-ops fd to a receiver running what in domain. */
static int scm_rights_to(const char *domain, const char *what,
			 struct tl_ctx *ctx)
{
	int sv[2], rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	/* sv[1] is inherited (no CLOEXEC) by the receiver. */
	pid = spawn_in(domain, what, sv[1]);
	close(sv[1]);
	rc = tl_send_fd(sv[0], ctx->ops_fd);
	if (rc)
		fprintf(stderr, "\n  send_fd: %s\n", strerror(-rc));
	rc = wait_status(pid);
	if (rc)
		fprintf(stderr, "\n  %s in %s: rc %d\n", what, domain, rc);
	close(sv[0]);
	return rc;
}

static void assert_still_works(struct tl_ctx *ctx)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };

	TL_ASSERT_OK(tl_ioctl(ctx->ops_fd, DRVOPS_GENERIC_IOCTL_NOOP, &noop));
}

static void test_no_uverbs_scm_rights(void)
{
	struct tl_ctx ctx;

	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 0));
	/* Control: a permitted domain receives it (the broker then says EPERM). */
	CU_ASSERT(scm_rights_to("drvops_ok_t", "recv-fd", &ctx) == 0);
	CU_ASSERT(scm_rights_to("drvops_nouverbs_t", "recv-nofd", &ctx) == 0);
	assert_still_works(&ctx);
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
}

static void test_no_uverbs_exec_inherit(void)
{
	struct tl_ctx ctx;
	int flags;

	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 0));
	flags = fcntl(ctx.ops_fd, F_GETFD);
	CU_ASSERT_FATAL(flags >= 0);
	CU_ASSERT_FATAL(fcntl(ctx.ops_fd, F_SETFD, flags & ~FD_CLOEXEC) == 0);
	CU_ASSERT(run_in("drvops_ok_t", "inherit-fd", ctx.ops_fd) == 0);
	CU_ASSERT(run_in("drvops_nouverbs_t", "inherit-nofd", ctx.ops_fd) == 0);
	assert_still_works(&ctx);
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
}

static void test_partial_generic_ioctls(void)
{
	/* drvops_use_generic_copy: all of copy.generic works. */
	CU_ASSERT(run_in("drvops_generic_t", "generic", 0) == 0);
}

static void test_partial_hfi_ioctls(void)
{
	/* ... but no ioctl of the HFI's interfaces. */
	CU_ASSERT(run_in("drvops_generic_t", "hfi-denied", 0) == 0);
}

static void test_one_interface_of_a_driver(void)
{
	/* drvops_use_hfi_sdma: sdma.opa, not psm2.intel.com. */
	CU_ASSERT(run_in("drvops_sdma_t", "sdma-only", 0) == 0);
}

static void test_uverbs_only_ioctls(void)
{
	CU_ASSERT(run_in("drvops_uverbs_t", "uverbs-only", 0) == 0);
}

static void test_map_is_checked(void)
{
	CU_ASSERT(run_in("drvops_nomap_t", "nomap", 0) == 0);
}

static CU_TestInfo selinux_tests[] = {
	{ "enforcing, uverbs node labelled infiniband_device_t",
	  test_enforcing_and_labels },
	{ "permitted domain: copy.generic end to end", test_permitted_generic },
	{ "permitted domain: HFI end to end", test_permitted_hfi },
	{ "no uverbs access: cannot open the device",
	  test_no_uverbs_cannot_open },
	{ "no uverbs access: SCM_RIGHTS delivers no driver-ops fd",
	  test_no_uverbs_scm_rights },
	{ "no uverbs access: no driver-ops fd across exec",
	  test_no_uverbs_exec_inherit },
	{ "allowxperm 0x1b20-0x1b2f: copy.generic works",
	  test_partial_generic_ioctls },
	{ "allowxperm 0x1b20-0x1b2f: every HFI ioctl EACCES",
	  test_partial_hfi_ioctls },
	{ "allowxperm 0x1b30-0x1b3f: sdma.opa works, psm2.intel.com EACCES",
	  test_one_interface_of_a_driver },
	{ "allowxperm 0x1b01+broker: GET_INFO works, copy.generic EACCES",
	  test_uverbs_only_ioctls },
	{ "no map permission: mmap of the fd EACCES", test_map_is_checked },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "selinux", NULL, NULL, NULL, NULL, selinux_tests },
	CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "--as"))
		return child_main(argc, argv);
	return tl_run_suites("test_selinux", suites);
}
