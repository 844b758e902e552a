/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Helpers shared by the CUnit suites (tests/suites/test_*.c).
 *
 * Like libdrvops, helpers return 0 / an fd / a count, or a negative errno;
 * the suites decide what to assert.
 */
#ifndef DRVOPS_TESTLIB_H
#define DRVOPS_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>
#include <rdma/drvops_generic.h>

#include "drvops.h"

#ifndef offsetofend
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))
#endif

/* ---- Finding the test devices -------------------------------------- */

/*
 * The generic driver registers two kinds of device: "current" offers
 * copy.generic (v1..2, alias copy.legacy), "legacy" offers only
 * copy.legacy v1. Both are recognised by what sysfs says they offer
 * (drvops_interfaces), never by name.
 */
enum tl_device_kind {
	TL_DEVICE_CURRENT,
	TL_DEVICE_LEGACY,
};

/* -ENODEV if there is no such device. */
int tl_find_device(enum tl_device_kind kind, struct drvops_device_info *out);
/* Open with GET_CONTEXT done; returns the uverbs fd. */
int tl_open_device(enum tl_device_kind kind);
/* Open device number index with GET_CONTEXT done (drvops_open_index). */
int tl_open_index(unsigned index);
/* Does the device offer this name (primary or alias)? 1, 0 or -errno. */
int tl_device_offers(const struct drvops_device_info *dev, const char *name);

/* GET_FD for one name at exactly one version; returns the fd. */
int tl_get_fd(int uverbs_fd, const char *name, uint32_t version);

/*
 * Everything a copy test needs: a uverbs fd with context, a driver-ops fd,
 * a PD, a page-aligned buffer registered as an MR (local write) and that
 * MR bound to the driver-ops fd. Fields are -1 / 0 / NULL when not made.
 */
struct tl_ctx {
	int uverbs_fd;
	int ops_fd;
	uint32_t version;
	uint32_t pd;
	uint32_t mr;
	uint32_t binding;
	bool have_pd, have_mr, have_binding;
	uint8_t *buf;		/* the MR's memory */
	size_t len;
};

/*
 * Opens kind, asks for name at version, and if buf_len is non-zero sets
 * up PD, MR and binding. On error everything made is undone.
 */
int tl_ctx_open(struct tl_ctx *ctx, enum tl_device_kind kind,
		const char *name, uint32_t version, size_t buf_len);
/* Undoes tl_ctx_open in reverse order; returns the first error. */
int tl_ctx_close(struct tl_ctx *ctx);

/* ---- copy.generic shortcuts ----------------------------------------- */

static inline struct drvops_generic_buf tl_user_buf(const void *addr)
{
	return (struct drvops_generic_buf){ .addr = (uintptr_t)addr };
}

static inline struct drvops_generic_buf tl_mr_buf(uint32_t mr, uint64_t off)
{
	return (struct drvops_generic_buf){
		.addr = off, .mr_handle = mr, .flags = DRVOPS_GENERIC_BUF_MR };
}

/* ioctl() as 0 or -errno. */
int tl_ioctl(int fd, unsigned long cmd, void *arg);
int tl_copy(int ops_fd, struct drvops_generic_buf src,
	    struct drvops_generic_buf dst, uint64_t length, uint64_t user_data);
int tl_fill(int ops_fd, struct drvops_generic_buf dst, uint64_t length,
	    uint8_t pattern, uint64_t user_data);
/* read() of one completion: 0, -errno, or -EIO on a short read. */
int tl_read_completion(int ops_fd, struct drvops_generic_completion *c);
/* Reads until read() would block (fd made non-blocking meanwhile). */
int tl_drain_completions(int ops_fd);

/* ---- The extensibility test (iommufd TEST_LENGTH) ------------------- */

/*
 * Runs one driver-ops ioctl four times on fresh copies of cmd (whose
 * first field is __u32 size):
 *   1. size = min_size - 1, extra byte 0xff      expect EINVAL
 *   2. size = cmd_size + 1, extra byte 0xff      expect E2BIG
 *   3. size = cmd_size                           result R
 *   4. size = cmd_size + 1, extra byte 0         exactly R again
 * min_size is offsetofend() of the last field of version 1. The call must
 * be repeatable: if R is success, it happens twice (a COPY posts two
 * completions: drain them).
 */
struct tl_length_result {
	int short_errno;	/* errno of step 1, 0 if it succeeded */
	int e2big_errno;	/* errno of step 2 */
	int exact_errno;	/* R: errno of step 3 */
	int extended_errno;	/* errno of step 4 */
	bool same_output;	/* steps 3 and 4 wrote the same bytes */
	bool ok;		/* all of the above as expected */
};

int tl_check_length(int fd, unsigned long cmd, const void *cmd_struct,
		    size_t cmd_size, size_t min_size,
		    struct tl_length_result *res);
/* One line saying what went wrong, for test output. */
void tl_print_length_result(const char *what,
			    const struct tl_length_result *res);

#define TL_CHECK_LENGTH(fd, cmd, structp, last_v1_field)                     \
	({                                                                   \
		struct tl_length_result _r;                                  \
		int _ret = tl_check_length(                                  \
			(fd), (cmd), (structp), sizeof(*(structp)),          \
			offsetofend(__typeof__(*(structp)), last_v1_field),  \
			&_r);                                                \
		if (_ret || !_r.ok)                                          \
			tl_print_length_result(#cmd, &_r);                   \
		!_ret && _r.ok;                                              \
	})

/* ---- Kernel state ---------------------------------------------------- */

/* Counters of ib_drvops (debugfs ib_drvops/stats). */
struct tl_stats {
	long files;		/* allocated driver-ops file structs */
	long live_files;	/* not yet torn down */
	long bindings;		/* objects bound right now */
};

int tl_read_stats(struct tl_stats *st);
/* Pinned memory of this process in KiB: VmPin of /proc/self/status
 * (mm->pinned_vm, where MRs and HFI pins count), or -errno. */
long tl_vm_pinned_kb(void);
/* Polls until VmPin is kb (teardown may finish after close returns): 0,
 * or -ETIMEDOUT after timeout_ms. */
int tl_wait_vm_pinned_kb(long kb, int timeout_ms);
/* Write s to a file (sysfs, debugfs, /proc): 0 or -errno. */
int tl_write_file(const char *path, const char *s);
/* Polls until the counters equal want; -ETIMEDOUT (and prints) if not. */
int tl_wait_stats(const struct tl_stats *want, int timeout_ms);

/* The driver as the test bed loads it. */
#define TL_GENERIC_MODULE "drvops_generic"
#define TL_GENERIC_PARAMS "num_devices=2 legacy_devices=1"
/* rmmod: unregisters every device, disassociating its users. */
int tl_unload_generic(void);
/* insmod from $DRVOPS_MODDIR and wait for both devices. */
int tl_load_generic(void);
/*
 * Any of our modules by name: rmmod with O_NONBLOCK (returns at once with
 * -EWOULDBLOCK if the module is in use, never waits for userspace), and
 * insmod of $DRVOPS_MODDIR/<name>.ko with params (NULL: none), then wait
 * until every uverbs device listed has its /dev node.
 */
int tl_unload_module(const char *name);
int tl_reload_module(const char *name, const char *params);
/* The number a file (sysfs, cgroupfs) holds, or -1 if it cannot be read. */
long tl_read_long(const char *path);
/* A loaded module's numeric parameter, or -1 if it cannot be read. */
long tl_module_param(const char *module, const char *param);

/* ---- Running suites --------------------------------------------------- */

/*
 * Registers the suites (CU_SuiteInfo array ending in CU_SUITE_INFO_NULL),
 * runs them with the basic runner in verbose mode and returns the exit
 * code: 0 if nothing failed, 1 otherwise (a suite whose init failed
 * counts as failed). Prints "TESTS <prog>: PASS|FAIL" last.
 */
int tl_run_suites(const char *prog, CU_SuiteInfo *suites);

/* Assert a libdrvops-style return (>= 0 success) and print the errno. */
#define TL_ASSERT_OK(expr)                                                   \
	do {                                                                 \
		long _v = (long)(expr);                                      \
		if (_v < 0)                                                  \
			tl_report_errno(#expr, _v);                          \
		CU_ASSERT_FATAL(_v >= 0);                                    \
	} while (0)
/* Assert a negative errno return. */
#define TL_ASSERT_ERR(expr, err)                                             \
	do {                                                                 \
		long _v = (long)(expr);                                      \
		if (_v != -(long)(err))                                      \
			tl_report_mismatch(#expr, _v, -(long)(err));         \
		CU_ASSERT(_v == -(long)(err));                               \
	} while (0)

void tl_report_errno(const char *expr, long value);
void tl_report_mismatch(const char *expr, long got, long want);

#endif /* DRVOPS_TESTLIB_H */
