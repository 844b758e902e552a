// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The driver-ops fd ioctl dispatcher, through copy.generic v1 and v2:
 * the extensibility test of every ioctl (NOOP, COPY, FILL, RING_SETUP,
 * GET_INFO), EFAULT, ENOTTY around the number ranges, version-gated
 * ioctls, reserved fields and flags, too-small sizes, and that a failed
 * ioctl does nothing and loses nothing (completions queued before it are
 * still readable).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "tl_fds.h"

#define GEN DRVOPS_GENERIC_NAME
#define T DRVOPS_IOCTL_TYPE
#define XFER 64

static int baseline_fds = -1;

static void teardown(void)
{
	tl_close_tracked();
}

/* A uverbs fd with context and a copy.generic fd of each version. */
struct fx {
	int u;
	int fd[3];	/* fd[1]: version 1, fd[2]: version 2 */
	uint8_t src[XFER];
	uint8_t dst[XFER];
};

static void fx_open(struct fx *f)
{
	unsigned v;

	f->u = tl_track_fd(tl_open_device(TL_DEVICE_CURRENT));
	TL_ASSERT_OK(f->u);
	f->fd[0] = -1;
	for (v = 1; v <= 2; v++) {
		f->fd[v] = tl_track_fd(tl_get_fd(f->u, GEN, v));
		TL_ASSERT_OK(f->fd[v]);
	}
	for (v = 0; v < XFER; v++)
		f->src[v] = (uint8_t)(v * 7 + 1);
	memset(f->dst, 0, sizeof(f->dst));
}

/* One completion with a non-blocking read(); 0 or -errno. */
static int read_nb(int fd, struct drvops_generic_completion *c)
{
	int fl = fcntl(fd, F_GETFL), ret;

	if (fl < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	ret = tl_read_completion(fd, c);
	fcntl(fd, F_SETFL, fl);
	return ret;
}

/* Nothing queued: a non-blocking read() says EAGAIN. */
static void assert_no_completion(int fd)
{
	struct drvops_generic_completion c;

	TL_ASSERT_ERR(read_nb(fd, &c), EAGAIN);
}

static struct drvops_generic_copy copy_cmd(struct fx *f, uint64_t user_data)
{
	return (struct drvops_generic_copy){
		.size = sizeof(struct drvops_generic_copy),
		.src = tl_user_buf(f->src),
		.dst = tl_user_buf(f->dst),
		.length = XFER,
		.user_data = user_data,
	};
}

static struct drvops_generic_fill fill_cmd(struct fx *f, uint64_t user_data)
{
	return (struct drvops_generic_fill){
		.size = sizeof(struct drvops_generic_fill),
		.dst = tl_user_buf(f->dst),
		.length = XFER,
		.user_data = user_data,
		.pattern = 0xc3,
	};
}

static bool all_bytes(const void *p, int byte, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (uint8_t)byte)
			return false;
	return true;
}

/* ---- Extensibility (TL_CHECK_LENGTH) ------------------------------------- */

static void test_length_noop(void)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		CU_ASSERT(TL_CHECK_LENGTH(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
					  &noop, __reserved));
		assert_no_completion(f.fd[v]);
	}
}

static void test_length_copy(void)
{
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		struct drvops_generic_copy copy = copy_cmd(&f, 10 + v);

		memset(f.dst, 0, sizeof(f.dst));
		CU_ASSERT(TL_CHECK_LENGTH(f.fd[v], DRVOPS_GENERIC_IOCTL_COPY,
					  &copy, user_data));
		/* Steps 3 and 4 copied; 1 and 2 did nothing. */
		CU_ASSERT_EQUAL(tl_drain_completions(f.fd[v]), 2);
		CU_ASSERT(memcmp(f.dst, f.src, XFER) == 0);
	}
}

static void test_length_fill(void)
{
	struct drvops_generic_fill fill;
	struct fx f;

	fx_open(&f);
	fill = fill_cmd(&f, 7);
	CU_ASSERT(TL_CHECK_LENGTH(f.fd[2], DRVOPS_GENERIC_IOCTL_FILL, &fill,
				  __reserved));
	CU_ASSERT_EQUAL(tl_drain_completions(f.fd[2]), 2);
	CU_ASSERT(all_bytes(f.dst, 0xc3, XFER));
}

/*
 * RING_SETUP succeeds once per fd, so the four steps run on an fd that
 * has its ring: R is EEXIST, which still proves that both the exact and
 * the zero-extended size reach the handler.
 */
static void test_length_ring_setup(void)
{
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs),
						.entries = 8 };
	struct tl_length_result r;
	struct fx f;

	fx_open(&f);
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs));
	rs = (struct drvops_generic_ring_setup){ .size = sizeof(rs),
						 .entries = 8 };
	CU_ASSERT(TL_CHECK_LENGTH(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP,
				  &rs, mmap_length));
	CU_ASSERT_EQUAL(tl_check_length(f.fd[2],
					DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs,
					sizeof(rs),
					offsetofend(struct drvops_generic_ring_setup,
						    mmap_length),
					&r),
			0);
	CU_ASSERT_EQUAL(r.exact_errno, EEXIST);
	CU_ASSERT_EQUAL(r.extended_errno, EEXIST);
}

/* The success half of the length test for RING_SETUP: two fresh fds. */
static void test_ring_setup_zero_extended_size_same_result(void)
{
	struct {
		struct drvops_generic_ring_setup rs;
		uint8_t tail[8];
	} a, b;
	struct fx f;

	fx_open(&f);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.rs.size = sizeof(a.rs);
	a.rs.entries = 16;
	b.rs.size = sizeof(b);
	b.rs.entries = 16;
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &a));
	f.fd[2] = tl_track_fd(tl_get_fd(f.u, GEN, 2));
	TL_ASSERT_OK(f.fd[2]);
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &b));
	CU_ASSERT_EQUAL(a.rs.mmap_offset, b.rs.mmap_offset);
	CU_ASSERT_EQUAL(a.rs.mmap_length, b.rs.mmap_length);
	CU_ASSERT(a.rs.mmap_length >=
		  sizeof(struct drvops_generic_ring_header) +
			  16 * sizeof(struct drvops_generic_completion));
	/* The output is cut to the kernel's size: the tail stays zero. */
	CU_ASSERT(all_bytes(b.tail, 0, sizeof(b.tail)));
}

static void test_length_get_info(void)
{
	struct drvops_info info = { .size = sizeof(info) };
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++)
		CU_ASSERT(TL_CHECK_LENGTH(f.fd[v], DRVOPS_IOCTL_GET_INFO,
					  &info, __reserved));
}

/* ---- EFAULT ----------------------------------------------------------------- */

struct op {
	const char *name;
	unsigned long cmd;
	uint32_t size;
	unsigned min_version;
};

static const struct op ops[] = {
	{ "NOOP", DRVOPS_GENERIC_IOCTL_NOOP,
	  sizeof(struct drvops_generic_noop), 1 },
	{ "COPY", DRVOPS_GENERIC_IOCTL_COPY,
	  sizeof(struct drvops_generic_copy), 1 },
	{ "FILL", DRVOPS_GENERIC_IOCTL_FILL,
	  sizeof(struct drvops_generic_fill), 2 },
	{ "RING_SETUP", DRVOPS_GENERIC_IOCTL_RING_SETUP,
	  sizeof(struct drvops_generic_ring_setup), 2 },
	{ "GET_INFO", DRVOPS_IOCTL_GET_INFO, sizeof(struct drvops_info), 1 },
};
#define NUM_OPS (sizeof(ops) / sizeof(ops[0]))

static void expect_errno(const char *what, const struct op *op, unsigned v,
			 int got, int want)
{
	if (got != -want)
		fprintf(stderr, "\n  %s %s on v%u: %s, want %s\n", what,
			op->name, v, got ? strerror(-got) : "success",
			strerror(want));
	CU_ASSERT_EQUAL(got, -want);
}

static void test_null_pointer_efault(void)
{
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	for (v = 1; v <= 2; v++)
		for (i = 0; i < NUM_OPS; i++)
			if (ops[i].min_version <= v)
				expect_errno("NULL", &ops[i], v,
					     tl_ioctl(f.fd[v], ops[i].cmd,
						      NULL),
					     EFAULT);
	for (v = 1; v <= 2; v++)
		assert_no_completion(f.fd[v]);
}

static void test_unmapped_pointer_efault(void)
{
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	CU_ASSERT_FATAL(tl_fault_ptr() != NULL);
	for (v = 1; v <= 2; v++)
		for (i = 0; i < NUM_OPS; i++)
			if (ops[i].min_version <= v)
				expect_errno("unmapped", &ops[i], v,
					     tl_ioctl(f.fd[v], ops[i].cmd,
						      tl_fault_ptr()),
					     EFAULT);
	for (v = 1; v <= 2; v++)
		assert_no_completion(f.fd[v]);
}

/* size is readable, the rest of the struct runs into a PROT_NONE page. */
static void test_struct_cut_by_unmapped_page_efault(void)
{
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		for (i = 0; i < NUM_OPS; i++) {
			uint32_t *p;

			if (ops[i].min_version > v)
				continue;
			p = tl_page_end_ptr(sizeof(uint32_t));
			CU_ASSERT_FATAL(p != NULL);
			*p = ops[i].size;
			expect_errno("cut", &ops[i], v,
				     tl_ioctl(f.fd[v], ops[i].cmd, p), EFAULT);
		}
	}
	for (v = 1; v <= 2; v++)
		assert_no_completion(f.fd[v]);
}

/*
 * A struct that ends exactly where the mapping ends: the kernel reads no
 * byte past the user's size (its one-copy fast path reads the kernel's
 * size only when the user's is at least that), also with a zero tail.
 */
static void test_struct_at_page_end_works(void)
{
	struct drvops_generic_noop *noop;
	uint32_t *big;
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		noop = tl_page_end_ptr(sizeof(*noop));
		CU_ASSERT_FATAL(noop != NULL);
		noop->size = sizeof(*noop);
		noop->__reserved = 0;
		CU_ASSERT_EQUAL(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
					 noop), 0);
		/* 4 zero bytes past the kernel's struct, then the end */
		big = tl_page_end_ptr(sizeof(*noop) + 4);
		CU_ASSERT_FATAL(big != NULL);
		memset(big, 0, sizeof(*noop) + 4);
		big[0] = sizeof(*noop) + 4;
		CU_ASSERT_EQUAL(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
					 big), 0);
		big[2] = 1;
		TL_ASSERT_ERR(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP, big),
			      E2BIG);
	}
}

/* GET_INFO into a read-only struct: the answer cannot be written. */
static void test_get_info_readonly_efault(void)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	struct drvops_info *info;
	struct fx f;
	void *page;

	fx_open(&f);
	page = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(page != MAP_FAILED);
	info = page;
	info->size = sizeof(*info);
	CU_ASSERT(mprotect(page, psz, PROT_READ) == 0);
	TL_ASSERT_ERR(tl_ioctl(f.fd[2], DRVOPS_IOCTL_GET_INFO, info), EFAULT);
	TL_ASSERT_ERR(tl_ioctl(f.fd[1], DRVOPS_IOCTL_GET_INFO, info), EFAULT);
	munmap(page, psz);
}

/*
 * RING_SETUP whose answer (mmap_offset, mmap_length) cannot be written
 * fails with EFAULT; a failed ioctl must leave the fd as it was: no ring,
 * so completions still go to read() and a RING_SETUP can be retried.
 */
static void test_ring_setup_readonly_efault_changes_nothing(void)
{
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	struct drvops_generic_ring_setup *rs, ok = { .size = sizeof(ok),
						     .entries = 8 };
	struct drvops_generic_completion c;
	struct drvops_generic_copy copy;
	struct fx f;
	void *page;
	int ret;

	fx_open(&f);
	page = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(page != MAP_FAILED);
	rs = page;
	rs->size = sizeof(*rs);
	rs->entries = 8;
	CU_ASSERT(mprotect(page, psz, PROT_READ) == 0);
	TL_ASSERT_ERR(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, rs),
		      EFAULT);
	munmap(page, psz);

	/* The completion of a COPY is still for read(). */
	copy = copy_cmd(&f, 0x77);
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_COPY, &copy));
	ret = read_nb(f.fd[2], &c);
	if (ret)
		fprintf(stderr,
			"\n  after RING_SETUP failed with EFAULT, read() of the "
			"next completion: %s (the ring was made anyway)\n",
			strerror(-ret));
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(ret || c.user_data == 0x77);
	/* And the ring can be set up now. */
	ret = tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &ok);
	if (ret)
		fprintf(stderr,
			"\n  retrying RING_SETUP after the EFAULT: %s\n",
			strerror(-ret));
	CU_ASSERT_EQUAL(ret, 0);
}

/* ---- ENOTTY ----------------------------------------------------------------- */

static void expect_enotty(int fd, unsigned v, unsigned long cmd)
{
	uint8_t buf[256] __attribute__((aligned(8)));
	int ret;

	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = 8;
	ret = tl_ioctl(fd, cmd, buf);
	if (ret != -ENOTTY)
		fprintf(stderr, "\n  ioctl 0x%lx on v%u: %s, want ENOTTY\n",
			cmd, v, ret ? strerror(-ret) : "success");
	CU_ASSERT_EQUAL(ret, -ENOTTY);
	/* The number is refused before the argument is looked at. */
	ret = tl_ioctl(fd, cmd, NULL);
	if (ret != -ENOTTY)
		fprintf(stderr, "\n  ioctl 0x%lx (NULL) on v%u: %s, want ENOTTY\n",
			cmd, v, ret ? strerror(-ret) : "success");
	CU_ASSERT_EQUAL(ret, -ENOTTY);
}

static void test_numbers_around_ranges_enotty(void)
{
	static const unsigned long cmds[] = {
		_IO(T, 0x04),	/* after the last copy.generic ioctl */
		_IO(T, 0x05),
		_IO(T, 0xBF),	/* just below the broker's range */
		_IO(T, 0xC1),	/* just above GET_INFO */
		_IO(T, 0xCF),	/* last number of the broker's range */
		_IO(T, 0xD0),	/* just above the broker's range */
		_IO(T, 0xFF),
	};
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	for (v = 1; v <= 2; v++)
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			expect_enotty(f.fd[v], v, cmds[i]);
	for (v = 1; v <= 2; v++)
		assert_no_completion(f.fd[v]);
}

static void test_other_type_byte_enotty(void)
{
	static const unsigned long cmds[] = {
		_IO(T + 1, DRVOPS_GENERIC_CMD_NOOP),
		_IO(T - 1, DRVOPS_GENERIC_CMD_COPY),
		_IO(T + 1, DRVOPS_CMD_GET_INFO),
		_IO(0, DRVOPS_GENERIC_CMD_NOOP),
	};
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	for (v = 1; v <= 2; v++)
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			expect_enotty(f.fd[v], v, cmds[i]);
}

/* The number does not encode a size or direction: with them it is another. */
static void test_direction_bits_enotty(void)
{
	static const unsigned long cmds[] = {
		_IOWR(T, DRVOPS_GENERIC_CMD_NOOP, struct drvops_generic_noop),
		_IOWR(T, DRVOPS_GENERIC_CMD_COPY, struct drvops_generic_copy),
		_IOW(T, DRVOPS_GENERIC_CMD_COPY, struct drvops_generic_copy),
		_IOWR(T, DRVOPS_GENERIC_CMD_FILL, struct drvops_generic_fill),
		_IOWR(T, DRVOPS_GENERIC_CMD_RING_SETUP,
		      struct drvops_generic_ring_setup),
		_IOWR(T, DRVOPS_CMD_GET_INFO, struct drvops_info),
		_IOR(T, DRVOPS_CMD_GET_INFO, struct drvops_info),
		_IOC(_IOC_NONE, T, DRVOPS_GENERIC_CMD_NOOP, 8),
	};
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	for (v = 1; v <= 2; v++)
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			expect_enotty(f.fd[v], v, cmds[i]);
}

static void test_v2_ioctls_on_v1_enotty(void)
{
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs),
						.entries = 8 };
	struct fx f;
	struct drvops_generic_fill fill;

	fx_open(&f);
	fill = fill_cmd(&f, 1);
	TL_ASSERT_ERR(tl_ioctl(f.fd[1], DRVOPS_GENERIC_IOCTL_FILL, &fill),
		      ENOTTY);
	TL_ASSERT_ERR(tl_ioctl(f.fd[1], DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs),
		      ENOTTY);
	/* Nothing was done. */
	CU_ASSERT(all_bytes(f.dst, 0, XFER));
	CU_ASSERT_EQUAL(rs.mmap_length, 0);
	assert_no_completion(f.fd[1]);
	/* The same calls work on v2. */
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_FILL, &fill));
	CU_ASSERT(all_bytes(f.dst, 0xc3, XFER));
	CU_ASSERT_EQUAL(tl_drain_completions(f.fd[2]), 1);
}

/* ---- Reserved fields and flags: EOPNOTSUPP, nothing done ------------------ */

static void test_noop_reserved_eopnotsupp(void)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		noop.__reserved = 1;
		TL_ASSERT_ERR(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
				       &noop),
			      EOPNOTSUPP);
		noop.__reserved = 0x80000000u;
		TL_ASSERT_ERR(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
				       &noop),
			      EOPNOTSUPP);
		noop.__reserved = 0;
		TL_ASSERT_OK(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
				      &noop));
	}
}

static void expect_copy_refused(struct fx *f, unsigned v,
				struct drvops_generic_copy *copy, int err)
{
	memset(f->dst, 0, sizeof(f->dst));
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, copy),
		      err);
	CU_ASSERT(all_bytes(f->dst, 0, XFER));
	assert_no_completion(f->fd[v]);
}

static void test_copy_flags_eopnotsupp(void)
{
	struct drvops_generic_copy copy;
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		copy = copy_cmd(&f, 1);
		copy.flags = 1;
		expect_copy_refused(&f, v, &copy, EOPNOTSUPP);
		copy.flags = 0x80000000u;
		expect_copy_refused(&f, v, &copy, EOPNOTSUPP);
	}
}

static void test_copy_buf_unknown_flag_eopnotsupp(void)
{
	struct drvops_generic_copy copy;
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		copy = copy_cmd(&f, 1);
		copy.src.flags = 1u << 1;
		expect_copy_refused(&f, v, &copy, EOPNOTSUPP);
		copy = copy_cmd(&f, 1);
		copy.dst.flags = 0x80000000u;
		expect_copy_refused(&f, v, &copy, EOPNOTSUPP);
		/* An unknown bit next to the known one. */
		copy = copy_cmd(&f, 1);
		copy.dst.flags = DRVOPS_GENERIC_BUF_MR | (1u << 2);
		expect_copy_refused(&f, v, &copy, EOPNOTSUPP);
	}
}

static void expect_fill_refused(struct fx *f, struct drvops_generic_fill *fill,
				int err)
{
	memset(f->dst, 0, sizeof(f->dst));
	TL_ASSERT_ERR(tl_ioctl(f->fd[2], DRVOPS_GENERIC_IOCTL_FILL, fill),
		      err);
	CU_ASSERT(all_bytes(f->dst, 0, XFER));
	assert_no_completion(f->fd[2]);
}

static void test_fill_reserved_eopnotsupp(void)
{
	struct drvops_generic_fill fill;
	struct fx f;
	unsigned i;

	fx_open(&f);
	for (i = 0; i < sizeof(fill.__reserved); i++) {
		fill = fill_cmd(&f, 1);
		fill.__reserved[i] = 1;
		expect_fill_refused(&f, &fill, EOPNOTSUPP);
	}
	fill = fill_cmd(&f, 1);
	fill.flags = 1;
	expect_fill_refused(&f, &fill, EOPNOTSUPP);
	fill = fill_cmd(&f, 1);
	fill.dst.flags = 1u << 1;
	expect_fill_refused(&f, &fill, EOPNOTSUPP);
}

/* ---- size < min: EINVAL, nothing done ---------------------------------------- */

static void test_copy_size_too_small_einval(void)
{
	static const uint32_t sizes[] = {
		0, 4, offsetofend(struct drvops_generic_copy, user_data) - 1,
	};
	struct drvops_generic_copy copy;
	struct fx f;
	unsigned v, i;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			copy = copy_cmd(&f, 1);
			copy.size = sizes[i];
			expect_copy_refused(&f, v, &copy, EINVAL);
		}
	}
}

static void test_fill_size_too_small_einval(void)
{
	static const uint32_t sizes[] = {
		0, 4, offsetofend(struct drvops_generic_fill, __reserved) - 1,
	};
	struct drvops_generic_fill fill;
	struct fx f;
	unsigned i;

	fx_open(&f);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill = fill_cmd(&f, 1);
		fill.size = sizes[i];
		expect_fill_refused(&f, &fill, EINVAL);
	}
}

static void test_other_sizes_too_small_einval(void)
{
	struct drvops_generic_ring_setup rs = { .entries = 8 };
	struct drvops_generic_noop noop = { 0 };
	struct drvops_info info;
	struct drvops_generic_copy copy;
	struct drvops_generic_completion c;
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		noop.size = sizeof(noop) - 1;
		TL_ASSERT_ERR(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_NOOP,
				       &noop),
			      EINVAL);
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info) - 1;
		TL_ASSERT_ERR(tl_ioctl(f.fd[v], DRVOPS_IOCTL_GET_INFO, &info),
			      EINVAL);
		CU_ASSERT(all_bytes(&info.version, 0,
				    sizeof(info) - sizeof(info.size)));
	}
	/* RING_SETUP: no ring made, completions still go to read(). */
	rs.size = sizeof(rs) - 1;
	TL_ASSERT_ERR(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs),
		      EINVAL);
	CU_ASSERT_EQUAL(rs.mmap_length, 0);
	copy = copy_cmd(&f, 5);
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_COPY, &copy));
	TL_ASSERT_OK(read_nb(f.fd[2], &c));
	CU_ASSERT_EQUAL(c.user_data, 5);
}

/* ---- A failed ioctl loses nothing -------------------------------------------- */

static void expect_completions(int fd, const uint64_t *user_data, unsigned n,
			       uint32_t first_seq)
{
	struct drvops_generic_completion c;
	unsigned i;

	for (i = 0; i < n; i++) {
		int ret = read_nb(fd, &c);

		TL_ASSERT_OK(ret);
		CU_ASSERT_EQUAL(c.user_data, user_data[i]);
		CU_ASSERT_EQUAL(c.seq, first_seq + i);
		CU_ASSERT_EQUAL(c.status, 0);
		CU_ASSERT_EQUAL(c.length, XFER);
	}
	assert_no_completion(fd);
}

/* Each of these fails and must leave the queue alone. */
static void fail_everything(struct fx *f, unsigned v)
{
	struct drvops_generic_noop noop = { .size = sizeof(noop) };
	struct drvops_generic_copy copy;
	struct drvops_generic_fill fill;
	struct {
		struct drvops_generic_copy copy;
		uint64_t tail;
	} big;

	TL_ASSERT_ERR(tl_ioctl(f->fd[v], _IO(T, 0x04), &noop), ENOTTY);
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, NULL),
		      EFAULT);
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY,
			       tl_fault_ptr()),
		      EFAULT);
	copy = copy_cmd(f, 0xbad);
	copy.size = 4;
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, &copy),
		      EINVAL);
	big.copy = copy_cmd(f, 0xbad);
	big.copy.size = sizeof(big);
	big.tail = 1;
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, &big),
		      E2BIG);
	copy = copy_cmd(f, 0xbad);
	copy.flags = 1;
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, &copy),
		      EOPNOTSUPP);
	copy = copy_cmd(f, 0xbad);
	copy.length = 0;
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, &copy),
		      EINVAL);
	copy = copy_cmd(f, 0xbad);
	copy.dst = tl_mr_buf(12345, 0);
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_COPY, &copy),
		      ENOENT);
	fill = fill_cmd(f, 0xbad);
	fill.__reserved[3] = 1;
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_FILL, &fill),
		      v == 1 ? ENOTTY : EOPNOTSUPP);
	noop.__reserved = 1;
	TL_ASSERT_ERR(tl_ioctl(f->fd[v], DRVOPS_GENERIC_IOCTL_NOOP, &noop),
		      EOPNOTSUPP);
}

static void test_failed_ioctls_lose_no_completion(void)
{
	static const uint64_t ud[] = { 0x1111, 0x2222 }, ud3 = 0x3333;
	struct drvops_generic_copy copy;
	struct fx f;
	unsigned v;

	fx_open(&f);
	for (v = 1; v <= 2; v++) {
		copy = copy_cmd(&f, ud[0]);
		TL_ASSERT_OK(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_COPY,
				      &copy));
		copy = copy_cmd(&f, ud[1]);
		TL_ASSERT_OK(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_COPY,
				      &copy));
		fail_everything(&f, v);
		expect_completions(f.fd[v], ud, 2, 0);
		/* Posting goes on in sequence after the failures. */
		copy = copy_cmd(&f, ud3);
		TL_ASSERT_OK(tl_ioctl(f.fd[v], DRVOPS_GENERIC_IOCTL_COPY,
				      &copy));
		expect_completions(f.fd[v], &ud3, 1, 2);
	}
}

/*
 * RING_SETUP while completions wait for read() is refused (EBUSY in the
 * driver; not listed among RING_SETUP's errors in drvops_generic.h) and
 * the waiting completions stay readable.
 */
static void test_ring_setup_with_queued_completions_loses_nothing(void)
{
	static const uint64_t ud[] = { 0xa1, 0xa2 };
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs),
						.entries = 8 };
	struct drvops_generic_copy copy;
	struct fx f;

	fx_open(&f);
	copy = copy_cmd(&f, ud[0]);
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_COPY, &copy));
	copy = copy_cmd(&f, ud[1]);
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_COPY, &copy));
	TL_ASSERT_ERR(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs),
		      EBUSY);
	CU_ASSERT_EQUAL(rs.mmap_length, 0);
	expect_completions(f.fd[2], ud, 2, 0);
	/* Drained: now the ring can be made. */
	TL_ASSERT_OK(tl_ioctl(f.fd[2], DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs));
	CU_ASSERT_NOT_EQUAL(rs.mmap_length, 0);
}

/* A full queue refuses COPY with ENOSPC and keeps every completion. */
static void test_full_queue_enospc_loses_nothing(void)
{
	struct drvops_generic_completion c;
	struct drvops_generic_copy copy;
	struct fx f;
	unsigned i, n = 0;
	bool in_order = true;

	fx_open(&f);
	for (i = 0; i < DRVOPS_GENERIC_CQ_DEPTH; i++) {
		copy = copy_cmd(&f, 1000 + i);
		copy.length = 1;
		TL_ASSERT_OK(tl_ioctl(f.fd[1], DRVOPS_GENERIC_IOCTL_COPY,
				      &copy));
	}
	copy = copy_cmd(&f, 0xbad);
	copy.length = 1;
	TL_ASSERT_ERR(tl_ioctl(f.fd[1], DRVOPS_GENERIC_IOCTL_COPY, &copy),
		      ENOSPC);
	while (read_nb(f.fd[1], &c) == 0) {
		if (c.user_data != 1000 + n || c.seq != n)
			in_order = false;
		n++;
	}
	CU_ASSERT_EQUAL(n, DRVOPS_GENERIC_CQ_DEPTH);
	CU_ASSERT(in_order);
}

/* ---- Leaks --------------------------------------------------------------- */

static void test_nothing_left_open(void)
{
	tl_close_tracked();
	CU_ASSERT_EQUAL(tl_count_open_fds(), baseline_fds);
}

static CU_TestInfo length_tests[] = {
	{ "NOOP v1/v2", test_length_noop },
	{ "COPY v1/v2", test_length_copy },
	{ "FILL v2", test_length_fill },
	{ "RING_SETUP v2 (ring exists: EEXIST twice)", test_length_ring_setup },
	{ "RING_SETUP v2 zero-extended size: same result",
	  test_ring_setup_zero_extended_size_same_result },
	{ "GET_INFO v1/v2", test_length_get_info },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo efault_tests[] = {
	{ "NULL argument: EFAULT", test_null_pointer_efault },
	{ "unmapped argument: EFAULT", test_unmapped_pointer_efault },
	{ "struct cut by an unmapped page: EFAULT",
	  test_struct_cut_by_unmapped_page_efault },
	{ "struct ending where the mapping ends: works",
	  test_struct_at_page_end_works },
	{ "GET_INFO into read-only memory: EFAULT",
	  test_get_info_readonly_efault },
	{ "RING_SETUP into read-only memory: EFAULT, no ring made",
	  test_ring_setup_readonly_efault_changes_nothing },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo enotty_tests[] = {
	{ "numbers just below/above the ranges: ENOTTY",
	  test_numbers_around_ranges_enotty },
	{ "another type byte: ENOTTY", test_other_type_byte_enotty },
	{ "right nr with direction/size bits: ENOTTY",
	  test_direction_bits_enotty },
	{ "FILL and RING_SETUP on a v1 fd: ENOTTY",
	  test_v2_ioctls_on_v1_enotty },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo reserved_tests[] = {
	{ "NOOP __reserved: EOPNOTSUPP", test_noop_reserved_eopnotsupp },
	{ "COPY flags: EOPNOTSUPP, nothing done", test_copy_flags_eopnotsupp },
	{ "COPY buf unknown flag bit: EOPNOTSUPP, nothing done",
	  test_copy_buf_unknown_flag_eopnotsupp },
	{ "FILL __reserved/flags/buf flag: EOPNOTSUPP, nothing done",
	  test_fill_reserved_eopnotsupp },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo size_tests[] = {
	{ "COPY size < min: EINVAL, nothing done",
	  test_copy_size_too_small_einval },
	{ "FILL size < min: EINVAL, nothing done",
	  test_fill_size_too_small_einval },
	{ "NOOP/GET_INFO/RING_SETUP size < min: EINVAL, nothing done",
	  test_other_sizes_too_small_einval },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo lose_tests[] = {
	{ "failed ioctls lose no queued completion",
	  test_failed_ioctls_lose_no_completion },
	{ "RING_SETUP with queued completions: EBUSY, they stay readable",
	  test_ring_setup_with_queued_completions_loses_nothing },
	{ "full queue: ENOSPC, every completion kept",
	  test_full_queue_enospc_loses_nothing },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo leak_tests[] = {
	{ "no fd left open", test_nothing_left_open },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "ioctl extensibility", NULL, NULL, NULL, teardown, length_tests },
	{ "ioctl EFAULT", NULL, NULL, NULL, teardown, efault_tests },
	{ "ioctl ENOTTY", NULL, NULL, NULL, teardown, enotty_tests },
	{ "ioctl reserved fields", NULL, NULL, NULL, teardown, reserved_tests },
	{ "ioctl size too small", NULL, NULL, NULL, teardown, size_tests },
	{ "ioctl failures lose nothing", NULL, NULL, NULL, teardown,
	  lose_tests },
	{ "ioctl leaks", NULL, NULL, NULL, teardown, leak_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	baseline_fds = tl_count_open_fds();
	return tl_run_suites("test_ioctl", suites);
}
