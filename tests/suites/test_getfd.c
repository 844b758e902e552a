// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * DRVOPS_METHOD_GET_FD: name fallback and version negotiation, every
 * documented errno (uapi/rdma/drvops_ioctl.h), the extensibility rules of
 * the VERSIONS struct attribute, no fd left behind on failure, and what
 * the returned fd is (O_CLOEXEC | O_RDWR, own inode, GET_INFO).
 *
 * Devices: "current" offers copy.generic v1..2 with alias copy.legacy
 * (max v1); "legacy" offers only copy.legacy v1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "tl_fds.h"

#define GEN DRVOPS_GENERIC_NAME
#define LEG DRVOPS_GENERIC_LEGACY_NAME

/* ---- A GET_FD request built by hand -------------------------------- */

enum {
	GF_UVERBS_FD,
	GF_NAMES,
	GF_VERSIONS,
	GF_FLAGS,
	GF_FD,
	GF_NAME_INDEX,
	GF_VERSION,
	GF_NUM_ATTRS,
};

#define GF_OMIT(a) (1u << (a))

struct getfd {
	struct drvops_req req;
	/* Buffers the request points to: g must not move before exec. */
	char names[(DRVOPS_MAX_NAMES + 2) * DRVOPS_NAME_MAX];
	size_t names_len;
	uint8_t versions[16];	/* struct drvops_version_range, then a tail */
	size_t versions_len;
	int32_t fd;
	uint32_t index;
	uint32_t version;
	struct ib_uverbs_attr *attr[GF_NUM_ATTRS];
};

static void gf_names(struct getfd *g, const char *const *names, unsigned n)
{
	unsigned i;

	g->names_len = 0;
	for (i = 0; i < n; i++) {
		size_t len = strlen(names[i]) + 1;

		CU_ASSERT_FATAL(g->names_len + len <= sizeof(g->names));
		memcpy(g->names + g->names_len, names[i], len);
		g->names_len += len;
	}
}

static void gf_names_raw(struct getfd *g, const void *buf, size_t len)
{
	CU_ASSERT_FATAL(len <= sizeof(g->names));
	memcpy(g->names, buf, len);
	g->names_len = len;
}

static void gf_range(struct getfd *g, uint32_t min, uint32_t max)
{
	struct drvops_version_range r = { .min_version = min,
					  .max_version = max };

	memset(g->versions, 0, sizeof(g->versions));
	memcpy(g->versions, &r, sizeof(r));
	g->versions_len = sizeof(r);
}

/* Adds every attribute except those in omit; FLAGS only if asked. */
static void gf_build(struct getfd *g, int uverbs_fd, unsigned omit)
{
	drvops_req_init(&g->req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_GET_FD);
	memset(g->attr, 0, sizeof(g->attr));
	g->fd = -1;
	g->index = 0xdeadbeef;
	g->version = 0xdeadbeef;
	if (!(omit & GF_OMIT(GF_UVERBS_FD)))
		g->attr[GF_UVERBS_FD] = drvops_req_fd(
			&g->req, DRVOPS_ATTR_GET_FD_UVERBS_FD, uverbs_fd);
	if (!(omit & GF_OMIT(GF_NAMES)))
		g->attr[GF_NAMES] = drvops_req_in(
			&g->req, DRVOPS_ATTR_GET_FD_NAMES, g->names,
			g->names_len);
	if (!(omit & GF_OMIT(GF_VERSIONS)))
		g->attr[GF_VERSIONS] = drvops_req_in(
			&g->req, DRVOPS_ATTR_GET_FD_VERSIONS, g->versions,
			g->versions_len);
	if (!(omit & GF_OMIT(GF_FD)))
		g->attr[GF_FD] = drvops_req_out(&g->req, DRVOPS_ATTR_GET_FD_FD,
						&g->fd, sizeof(g->fd));
	if (!(omit & GF_OMIT(GF_NAME_INDEX)))
		g->attr[GF_NAME_INDEX] = drvops_req_out(
			&g->req, DRVOPS_ATTR_GET_FD_NAME_INDEX, &g->index,
			sizeof(g->index));
	if (!(omit & GF_OMIT(GF_VERSION)))
		g->attr[GF_VERSION] = drvops_req_out(
			&g->req, DRVOPS_ATTR_GET_FD_VERSION, &g->version,
			sizeof(g->version));
	CU_ASSERT_FATAL(g->req.error == 0);
}

static void gf_flags(struct getfd *g, uint32_t flags)
{
	g->attr[GF_FLAGS] =
		drvops_req_in_u32(&g->req, DRVOPS_ATTR_GET_FD_FLAGS, flags);
	CU_ASSERT_FATAL(g->attr[GF_FLAGS] != NULL);
}

/* The new fd (tracked for teardown) or -errno. */
static int gf_exec(struct getfd *g, int uverbs_fd)
{
	int ret = drvops_req_exec(uverbs_fd, &g->req);

	if (ret)
		return ret;
	return tl_track_fd(g->fd);
}

/* Names + range on uverbs_fd with every mandatory attribute present. */
static int gf_simple(struct getfd *g, int uverbs_fd, const char *const *names,
		     unsigned n, uint32_t min, uint32_t max)
{
	gf_names(g, names, n);
	gf_range(g, min, max);
	gf_build(g, uverbs_fd, 0);
	return gf_exec(g, uverbs_fd);
}

/* ---- Helpers --------------------------------------------------------- */

static int open_kind(enum tl_device_kind kind)
{
	int fd = tl_open_device(kind);

	TL_ASSERT_OK(fd);
	return tl_track_fd(fd);
}

/* drvops_get_fd, the fd tracked. */
static int get_fd(int uverbs_fd, const char *const *names, unsigned n,
		  uint32_t min, uint32_t max, unsigned *index,
		  uint32_t *version)
{
	return tl_track_fd(drvops_get_fd(uverbs_fd, names, n, min, max, 0,
					 index, version));
}

static int read_sysfs_guid(const struct drvops_device_info *dev,
			   uint64_t *guid)
{
	char path[256], line[64] = "";
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/node_guid",
		 dev->ibdev);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	ret = drvops_parse_guid(line, guid);
	return ret;
}

static int baseline_fds = -1;
static struct tl_stats baseline_stats;
static int have_baseline_stats;

static void teardown(void)
{
	tl_close_tracked();
}

/* ---- Negotiation and fallback ---------------------------------------- */

static void test_fallback_current_picks_first_name(void)
{
	const char *names[] = { GEN, LEG };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct drvops_info info;
	unsigned index = 99;
	uint32_t version = 99;
	int fd;

	fd = get_fd(u, names, 2, 1, 2, &index, &version);
	TL_ASSERT_OK(fd);
	CU_ASSERT_EQUAL(index, 0);
	CU_ASSERT_EQUAL(version, 2);
	TL_ASSERT_OK(drvops_get_info(fd, &info));
	CU_ASSERT_STRING_EQUAL(info.name, GEN);
	CU_ASSERT_EQUAL(info.version, 2);
}

static void test_fallback_legacy_picks_second_name(void)
{
	const char *names[] = { GEN, LEG };
	int u = open_kind(TL_DEVICE_LEGACY);
	struct drvops_info info;
	unsigned index = 99;
	uint32_t version = 99;
	int fd;

	fd = get_fd(u, names, 2, 1, 2, &index, &version);
	TL_ASSERT_OK(fd);
	CU_ASSERT_EQUAL(index, 1);
	CU_ASSERT_EQUAL(version, 1);
	TL_ASSERT_OK(drvops_get_info(fd, &info));
	CU_ASSERT_STRING_EQUAL(info.name, LEG);
	CU_ASSERT_EQUAL(info.version, 1);
}

/* The alias caps the version at its own max; GET_INFO names the primary. */
static void test_alias_alone_gets_alias_max_version(void)
{
	const char *names[] = { LEG };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct drvops_generic_fill fill = { .size = sizeof(fill) };
	struct drvops_info info;
	unsigned index = 99;
	uint32_t version = 99;
	int fd;

	fd = get_fd(u, names, 1, 1, 2, &index, &version);
	TL_ASSERT_OK(fd);
	CU_ASSERT_EQUAL(index, 0);
	CU_ASSERT_EQUAL(version, 1);
	TL_ASSERT_OK(drvops_get_info(fd, &info));
	CU_ASSERT_STRING_EQUAL(info.name, GEN);
	CU_ASSERT_EQUAL(info.version, 1);
	/* Version 1 operations: FILL is a version 2 ioctl. */
	TL_ASSERT_ERR(tl_ioctl(fd, DRVOPS_GENERIC_IOCTL_FILL, &fill), ENOTTY);
}

static void test_unknown_names_enoent(void)
{
	const char *unknown[] = { "copy.nothing", "generic", "copy" };
	const char *gen_only[] = { GEN };
	int cur = open_kind(TL_DEVICE_CURRENT);
	int leg = open_kind(TL_DEVICE_LEGACY);

	TL_ASSERT_ERR(get_fd(cur, unknown, 3, 1, 2, NULL, NULL), ENOENT);
	TL_ASSERT_ERR(get_fd(leg, unknown, 3, 1, 2, NULL, NULL), ENOENT);
	/* The legacy device does not know the new name at all. */
	TL_ASSERT_ERR(get_fd(leg, gen_only, 1, 1, 2, NULL, NULL), ENOENT);
}

static void test_unknown_name_is_skipped(void)
{
	const char *names[] = { "copy.nothing", GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	unsigned index = 99;
	uint32_t version = 99;

	TL_ASSERT_OK(get_fd(u, names, 2, 1, 2, &index, &version));
	CU_ASSERT_EQUAL(index, 1);
	CU_ASSERT_EQUAL(version, 2);
}

static void test_range_above_enoprotoopt(void)
{
	const char *gen[] = { GEN };
	const char *leg[] = { LEG };
	int u = open_kind(TL_DEVICE_CURRENT);

	TL_ASSERT_ERR(get_fd(u, gen, 1, 3, 5, NULL, NULL), ENOPROTOOPT);
	TL_ASSERT_ERR(get_fd(u, gen, 1, 3, UINT32_MAX, NULL, NULL),
		      ENOPROTOOPT);
	/* Above the alias's own max, inside the interface's range. */
	TL_ASSERT_ERR(get_fd(u, leg, 1, 2, 5, NULL, NULL), ENOPROTOOPT);
}

/* A range that stops below the interface's max gets the range's max. */
static void test_range_below_interface_max(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t version = 99;

	TL_ASSERT_OK(get_fd(u, names, 1, 1, 1, NULL, &version));
	CU_ASSERT_EQUAL(version, 1);
}

static void test_range_overlapping_gets_highest_common(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	uint32_t version = 99;

	TL_ASSERT_OK(get_fd(u, names, 1, 1, 9, NULL, &version));
	CU_ASSERT_EQUAL(version, 2);
	version = 99;
	TL_ASSERT_OK(get_fd(u, names, 1, 2, UINT32_MAX, NULL, &version));
	CU_ASSERT_EQUAL(version, 2);
}

static void test_range_exact(void)
{
	const char *names[] = { GEN };
	const char *leg[] = { LEG };
	int u = open_kind(TL_DEVICE_CURRENT);
	int l = open_kind(TL_DEVICE_LEGACY);
	uint32_t version = 99;

	TL_ASSERT_OK(get_fd(u, names, 1, 1, 1, NULL, &version));
	CU_ASSERT_EQUAL(version, 1);
	version = 99;
	TL_ASSERT_OK(get_fd(u, names, 1, 2, 2, NULL, &version));
	CU_ASSERT_EQUAL(version, 2);
	version = 99;
	TL_ASSERT_OK(get_fd(l, leg, 1, 1, 1, NULL, &version));
	CU_ASSERT_EQUAL(version, 1);
}

static void test_range_min_zero_einval(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);

	TL_ASSERT_ERR(get_fd(u, names, 1, 0, 2, NULL, NULL), EINVAL);
	TL_ASSERT_ERR(get_fd(u, names, 1, 0, 0, NULL, NULL), EINVAL);
}

static void test_range_min_above_max_einval(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);

	TL_ASSERT_ERR(get_fd(u, names, 1, 2, 1, NULL, NULL), EINVAL);
	TL_ASSERT_ERR(get_fd(u, names, 1, UINT32_MAX, 1, NULL, NULL), EINVAL);
}

static void test_legacy_device_v2_only_enoprotoopt(void)
{
	const char *names[] = { GEN, LEG };
	int u = open_kind(TL_DEVICE_LEGACY);

	TL_ASSERT_ERR(get_fd(u, names, 2, 2, 2, NULL, NULL), ENOPROTOOPT);
}

/* One name known (out of range) among unknown ones: ENOPROTOOPT. */
static void test_known_name_out_of_range_wins_over_enoent(void)
{
	const char *names[] = { "copy.nothing", LEG, "copy.other" };
	int u = open_kind(TL_DEVICE_CURRENT);

	TL_ASSERT_ERR(get_fd(u, names, 3, 2, 2, NULL, NULL), ENOPROTOOPT);
}

/* FLAGS follows the uverbs convention: unknown bits are EINVAL. */
static void test_flags_unknown_einval(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct getfd g;
	int before = tl_count_open_fds();

	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, u, 0);
	gf_flags(&g, 1);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);

	gf_build(&g, u, 0);
	gf_flags(&g, 0x80000000u);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
	CU_ASSERT_EQUAL(tl_count_open_fds(), before);
}

/* The uverbs flags attribute may be 64 bits wide. */
static void test_flags_u64_zero_accepted(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	uint64_t zero = 0, high = 1ULL << 40;
	struct getfd g;

	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, u, 0);
	CU_ASSERT_FATAL(drvops_req_in(&g.req, DRVOPS_ATTR_GET_FD_FLAGS, &zero,
				      sizeof(zero)) != NULL);
	TL_ASSERT_OK(gf_exec(&g, u));
	gf_build(&g, u, 0);
	CU_ASSERT_FATAL(drvops_req_in(&g.req, DRVOPS_ATTR_GET_FD_FLAGS, &high,
				      sizeof(high)) != NULL);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
}

static void test_flags_zero_accepted(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct getfd g;

	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, u, 0);
	gf_flags(&g, 0);
	TL_ASSERT_OK(gf_exec(&g, u));
	CU_ASSERT_EQUAL(g.index, 0);
	CU_ASSERT_EQUAL(g.version, 2);
}

/* ---- Malformed NAMES --------------------------------------------------- */

static int raw_names(int u, const void *buf, size_t len)
{
	struct getfd g;

	gf_names_raw(&g, buf, len);
	gf_range(&g, 1, 2);
	gf_build(&g, u, 0);
	return gf_exec(&g, u);
}

static void test_names_without_trailing_nul_einval(void)
{
	int u = open_kind(TL_DEVICE_CURRENT);

	/* A known name, its NUL cut off. */
	TL_ASSERT_ERR(raw_names(u, GEN, strlen(GEN)), EINVAL);
	/* Two names, the second one unterminated. */
	TL_ASSERT_ERR(raw_names(u, "copy.generic\0copy.legacy",
				sizeof("copy.generic\0copy.legacy") - 1),
		      EINVAL);
	/* Inline (<= 8 bytes) form as well. */
	TL_ASSERT_ERR(raw_names(u, "abc", 3), EINVAL);
}

static void test_names_empty_name_einval(void)
{
	int u = open_kind(TL_DEVICE_CURRENT);

	/* Empty first name, a known second one. */
	TL_ASSERT_ERR(raw_names(u, "\0copy.generic", sizeof("\0copy.generic")),
		      EINVAL);
	/* Known first name, then an empty one. */
	TL_ASSERT_ERR(raw_names(u, "copy.generic\0", sizeof("copy.generic\0")),
		      EINVAL);
	/* Only an empty name (2 bytes: the method's minimum length). */
	TL_ASSERT_ERR(raw_names(u, "\0", 2), EINVAL);
	/* Nothing at all. */
	TL_ASSERT_ERR(raw_names(u, "", 0), EINVAL);
}

static void test_names_64_chars_einval(void)
{
	char name[DRVOPS_NAME_MAX + 1];
	const char *names[] = { name, GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct getfd g;

	/* 63 characters is the longest name: well-formed, unknown. */
	memset(name, 'a', DRVOPS_NAME_MAX - 1);
	name[DRVOPS_NAME_MAX - 1] = '\0';
	TL_ASSERT_ERR(get_fd(u, names, 1, 1, 2, NULL, NULL), ENOENT);

	/* 64 characters: malformed, even followed by a known name. */
	memset(name, 'a', DRVOPS_NAME_MAX);
	name[DRVOPS_NAME_MAX] = '\0';
	gf_names(&g, names, 2);
	gf_range(&g, 1, 2);
	gf_build(&g, u, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
}

static void test_names_17_einval_16_accepted(void)
{
	char buf[DRVOPS_MAX_NAMES + 1][8];
	const char *names[DRVOPS_MAX_NAMES + 1];
	int u = open_kind(TL_DEVICE_CURRENT);
	unsigned i, index = 99;
	uint32_t version = 99;

	for (i = 0; i < DRVOPS_MAX_NAMES + 1; i++) {
		snprintf(buf[i], sizeof(buf[i]), "n%u", i);
		names[i] = buf[i];
	}
	/* 17 names, the last one known: too many. */
	names[DRVOPS_MAX_NAMES] = GEN;
	TL_ASSERT_ERR(get_fd(u, names, DRVOPS_MAX_NAMES + 1, 1, 2, NULL, NULL),
		      EINVAL);
	/* 16 names, the last one known: the maximum, accepted. */
	names[DRVOPS_MAX_NAMES - 1] = GEN;
	TL_ASSERT_OK(get_fd(u, names, DRVOPS_MAX_NAMES, 1, 2, &index,
			    &version));
	CU_ASSERT_EQUAL(index, DRVOPS_MAX_NAMES - 1);
	CU_ASSERT_EQUAL(version, 2);
}

static void test_names_non_printable_einval(void)
{
	static const char *const bad[] = {
		"copy\tgeneric", "copy generic", "copy.generic\x7f",
		"copy.generic\x01", "copy.g\xc3\xa9n\xc3\xa9ric",
	};
	int u = open_kind(TL_DEVICE_CURRENT);
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Bad first, then a good name: the whole list is refused. */
		const char *names[] = { bad[i], GEN };

		TL_ASSERT_ERR(get_fd(u, names, 2, 1, 2, NULL, NULL), EINVAL);
	}
}

/* ---- Context and UVERBS_FD -------------------------------------------- */

static void test_before_get_context_einval(void)
{
	const char *names[] = { GEN };
	struct drvops_device_info dev;
	struct getfd g;
	int u;

	TL_ASSERT_OK(tl_find_device(TL_DEVICE_CURRENT, &dev));
	u = tl_track_fd(drvops_open_device(&dev));
	TL_ASSERT_OK(u);
	TL_ASSERT_ERR(gf_simple(&g, u, names, 1, 1, 2), EINVAL);
	/* After GET_CONTEXT the same request works. */
	TL_ASSERT_OK(drvops_get_context(u));
	TL_ASSERT_OK(gf_simple(&g, u, names, 1, 1, 2));
}

static void test_uverbs_fd_of_other_context_einval(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int same_dev = open_kind(TL_DEVICE_CURRENT);
	int other_dev = open_kind(TL_DEVICE_LEGACY);
	struct getfd g;

	/* Second open of the same device, with its own context. */
	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, same_dev, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
	/* And the other way round. */
	gf_build(&g, u, 0);
	TL_ASSERT_ERR(gf_exec(&g, same_dev), EINVAL);
	/* The uverbs fd of another device. */
	gf_build(&g, other_dev, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
}

/* A dup() is the same file, hence the same context: accepted. */
static void test_uverbs_fd_dup_accepted(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int d = tl_track_fd(dup(u));
	struct getfd g;

	CU_ASSERT_FATAL(d >= 0);
	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, d, 0);
	TL_ASSERT_OK(gf_exec(&g, u));
	CU_ASSERT_EQUAL(g.version, 2);
}

static void test_uverbs_fd_not_uverbs_einval(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int p[2], ops;
	struct getfd g;

	CU_ASSERT_FATAL(pipe(p) == 0);
	tl_track_fd(p[0]);
	tl_track_fd(p[1]);
	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, p[0], 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);

	/* A driver-ops fd is not a uverbs fd either. */
	ops = get_fd(u, names, 1, 1, 2, NULL, NULL);
	TL_ASSERT_OK(ops);
	gf_build(&g, ops, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
}

static void test_uverbs_fd_closed_ebadf(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int closed = dup(u);
	struct getfd g;

	CU_ASSERT_FATAL(closed >= 0);
	close(closed);
	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	gf_build(&g, closed, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EBADF);
	gf_build(&g, -1, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EBADF);
}

/* ---- Attributes ------------------------------------------------------- */

static void test_missing_mandatory_attr_einval(void)
{
	static const unsigned mandatory[] = {
		GF_UVERBS_FD, GF_NAMES, GF_VERSIONS, GF_FD, GF_NAME_INDEX,
		GF_VERSION,
	};
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int before = tl_count_open_fds();
	struct getfd g;
	unsigned i;

	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	for (i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		gf_build(&g, u, GF_OMIT(mandatory[i]));
		/* GF_* numbers are the attribute ids minus the namespace. */
		TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
	}
	CU_ASSERT_EQUAL(tl_count_open_fds(), before);
}

static void test_versions_len_7_einval(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct getfd g;

	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	g.versions_len = 7;
	gf_build(&g, u, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
	g.versions_len = 0;
	gf_build(&g, u, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EINVAL);
}

static void test_versions_len_9_nonzero_tail_eopnotsupp(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct getfd g;

	gf_names(&g, names, 1);
	gf_range(&g, 1, 2);
	g.versions[8] = 0x01;
	g.versions_len = 9;
	gf_build(&g, u, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EOPNOTSUPP);
	/* The last byte of a longer tail counts too. */
	g.versions[8] = 0;
	g.versions[15] = 0x80;
	g.versions_len = 16;
	gf_build(&g, u, 0);
	TL_ASSERT_ERR(gf_exec(&g, u), EOPNOTSUPP);
}

static void test_versions_len_9_zero_tail_like_len_8(void)
{
	const char *names[] = { GEN, LEG };
	int u = open_kind(TL_DEVICE_CURRENT);
	int r8, r9;
	struct getfd g8, g9;

	/* A success: same name and version. */
	gf_names(&g8, names, 2);
	gf_range(&g8, 1, 2);
	gf_build(&g8, u, 0);
	r8 = gf_exec(&g8, u);
	TL_ASSERT_OK(r8);

	gf_names(&g9, names, 2);
	gf_range(&g9, 1, 2);
	g9.versions_len = 9;
	gf_build(&g9, u, 0);
	r9 = gf_exec(&g9, u);
	TL_ASSERT_OK(r9);
	CU_ASSERT_NOT_EQUAL(r8, r9);
	CU_ASSERT_EQUAL(g9.index, g8.index);
	CU_ASSERT_EQUAL(g9.version, g8.version);
	CU_ASSERT_EQUAL(g9.version, 2);

	/* A failure: the same errno. */
	gf_range(&g8, 3, 5);
	gf_build(&g8, u, 0);
	gf_range(&g9, 3, 5);
	g9.versions_len = 9;
	gf_build(&g9, u, 0);
	r8 = gf_exec(&g8, u);
	r9 = gf_exec(&g9, u);
	TL_ASSERT_ERR(r8, ENOPROTOOPT);
	TL_ASSERT_ERR(r9, ENOPROTOOPT);
}

static void test_names_bad_pointer_efault(void)
{
	const char *names[] = { GEN, LEG };
	int u = open_kind(TL_DEVICE_CURRENT);
	int before = tl_count_open_fds();
	struct getfd g;

	gf_names(&g, names, 2);
	CU_ASSERT_FATAL(g.names_len > 8);
	gf_range(&g, 1, 2);
	gf_build(&g, u, 0);
	CU_ASSERT_FATAL(tl_fault_ptr() != NULL);
	g.attr[GF_NAMES]->data = (uintptr_t)tl_fault_ptr();
	TL_ASSERT_ERR(gf_exec(&g, u), EFAULT);
	CU_ASSERT_EQUAL(tl_count_open_fds(), before);
}

static void test_bad_output_pointer_efault_no_fd_left(void)
{
	static const unsigned outs[] = { GF_FD, GF_NAME_INDEX, GF_VERSION };
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct tl_stats s0, s1;
	int stats, before;
	struct getfd g;
	unsigned i;

	CU_ASSERT_FATAL(tl_fault_ptr() != NULL);
	stats = tl_read_stats(&s0);
	for (i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		before = tl_count_open_fds();
		gf_names(&g, names, 1);
		gf_range(&g, 1, 2);
		gf_build(&g, u, 0);
		g.attr[outs[i]]->data = (uintptr_t)tl_fault_ptr();
		TL_ASSERT_ERR(gf_exec(&g, u), EFAULT);
		CU_ASSERT_EQUAL(tl_count_open_fds(), before);
		/*
		 * When FD itself could be written, the number it reports was
		 * installed and must be closed again.
		 */
		if (outs[i] != GF_FD) {
			CU_ASSERT(g.fd >= 0);
			if (g.fd >= 0) {
				errno = 0;
				CU_ASSERT_EQUAL(fcntl(g.fd, F_GETFD), -1);
				CU_ASSERT_EQUAL(errno, EBADF);
			}
		}
	}
	/* debugfs is mounted in the test guest: the counters must be there. */
	CU_ASSERT_EQUAL(stats, 0);
	if (stats == 0) {
		CU_ASSERT_EQUAL(tl_read_stats(&s1), 0);
		CU_ASSERT_EQUAL(s1.live_files, s0.live_files);
		CU_ASSERT_EQUAL(s1.files, s0.files);
	}
}

static void test_no_free_fd_emfile(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	struct tl_stats s0, s1;
	struct rlimit old, lim;
	int stats, fillers[128], n = 0, ret, fd;

	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
	CU_ASSERT_FATAL(u < 64);
	stats = tl_read_stats(&s0);
	lim = old;
	lim.rlim_cur = 64;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &lim) == 0);
	while (n < 128 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fillers[n++] = fd;
	ret = drvops_get_fd(u, names, 1, 1, 2, 0, NULL, NULL);
	if (ret >= 0)
		tl_track_fd(ret);
	while (n)
		close(fillers[--n]);
	CU_ASSERT(setrlimit(RLIMIT_NOFILE, &old) == 0);
	TL_ASSERT_ERR(ret, EMFILE);
	/* debugfs is mounted in the test guest: the counters must be there. */
	CU_ASSERT_EQUAL(stats, 0);
	if (stats == 0) {
		CU_ASSERT_EQUAL(tl_read_stats(&s1), 0);
		CU_ASSERT_EQUAL(s1.live_files, s0.live_files);
		CU_ASSERT_EQUAL(s1.files, s0.files);
	}
	/* And the same request works with a free number. */
	TL_ASSERT_OK(get_fd(u, names, 1, 1, 2, NULL, NULL));
}

/* ---- The returned fd --------------------------------------------------- */

static void test_fd_cloexec_rdwr(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int fd = get_fd(u, names, 1, 1, 2, NULL, NULL);
	int fdflags, flflags;

	TL_ASSERT_OK(fd);
	fdflags = fcntl(fd, F_GETFD);
	flflags = fcntl(fd, F_GETFL);
	CU_ASSERT(fdflags >= 0 && (fdflags & FD_CLOEXEC));
	CU_ASSERT(flflags >= 0 && (flflags & O_ACCMODE) == O_RDWR);
	CU_ASSERT(flflags >= 0 && !(flflags & O_NONBLOCK));
}

static void test_fd_is_anon_inode_drvops(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int fd = get_fd(u, names, 1, 1, 2, NULL, NULL);
	char path[64], target[128];
	ssize_t n;

	TL_ASSERT_OK(fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	CU_ASSERT_FATAL(n > 0);
	target[n] = '\0';
	CU_ASSERT_STRING_EQUAL(target, "anon_inode:[drvops]");
}

static void test_fds_have_distinct_inodes(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int a = get_fd(u, names, 1, 1, 2, NULL, NULL);
	int b = get_fd(u, names, 1, 1, 1, NULL, NULL);
	struct stat su, sa, sb;

	TL_ASSERT_OK(a);
	TL_ASSERT_OK(b);
	CU_ASSERT_FATAL(fstat(u, &su) == 0);
	CU_ASSERT_FATAL(fstat(a, &sa) == 0);
	CU_ASSERT_FATAL(fstat(b, &sb) == 0);
	CU_ASSERT_NOT_EQUAL(sa.st_ino, sb.st_ino);
	CU_ASSERT(sa.st_ino != su.st_ino || sa.st_dev != su.st_dev);
	CU_ASSERT(sb.st_ino != su.st_ino || sb.st_dev != su.st_dev);
}

static void check_info(enum tl_device_kind kind, const char *name,
		       uint32_t version, const char *expect_name)
{
	const char *names[] = { name };
	struct drvops_device_info dev;
	struct drvops_info info;
	uint64_t guid = 0;
	int u, fd;

	TL_ASSERT_OK(tl_find_device(kind, &dev));
	TL_ASSERT_OK(read_sysfs_guid(&dev, &guid));
	CU_ASSERT_NOT_EQUAL(guid, 0);
	u = open_kind(kind);
	fd = get_fd(u, names, 1, version, version, NULL, NULL);
	TL_ASSERT_OK(fd);

	memset(&info, 0xa5, sizeof(info));
	info.size = sizeof(info);
	info.__reserved = 0;
	TL_ASSERT_OK(tl_ioctl(fd, DRVOPS_IOCTL_GET_INFO, &info));
	CU_ASSERT_EQUAL(info.size, sizeof(info));
	CU_ASSERT_EQUAL(info.version, version);
	CU_ASSERT_STRING_EQUAL(info.name, expect_name);
	CU_ASSERT_EQUAL(info.node_guid, guid);
	CU_ASSERT_EQUAL(info.__reserved, 0);
}

static void test_get_info_current(void)
{
	check_info(TL_DEVICE_CURRENT, GEN, 2, GEN);
	check_info(TL_DEVICE_CURRENT, GEN, 1, GEN);
	check_info(TL_DEVICE_CURRENT, LEG, 1, GEN);
}

static void test_get_info_legacy(void)
{
	check_info(TL_DEVICE_LEGACY, LEG, 1, LEG);
}

static void test_get_info_ibdev_index(void)
{
	const char *gen[] = { GEN };
	const char *leg[] = { LEG };
	int u1 = open_kind(TL_DEVICE_CURRENT);
	int u2 = open_kind(TL_DEVICE_CURRENT);
	int l = open_kind(TL_DEVICE_LEGACY);
	int fa = get_fd(u1, gen, 1, 1, 2, NULL, NULL);
	int fb = get_fd(u2, leg, 1, 1, 1, NULL, NULL);
	int fc = get_fd(l, leg, 1, 1, 1, NULL, NULL);
	struct drvops_info a, b, c;

	TL_ASSERT_OK(fa);
	TL_ASSERT_OK(fb);
	TL_ASSERT_OK(fc);
	TL_ASSERT_OK(drvops_get_info(fa, &a));
	TL_ASSERT_OK(drvops_get_info(fb, &b));
	TL_ASSERT_OK(drvops_get_info(fc, &c));
	/* Same ib_device, same index, whatever the context or name. */
	CU_ASSERT_EQUAL(a.ibdev_index, b.ibdev_index);
	CU_ASSERT_EQUAL(a.node_guid, b.node_guid);
	CU_ASSERT_NOT_EQUAL(a.ibdev_index, c.ibdev_index);
	CU_ASSERT_NOT_EQUAL(a.node_guid, c.node_guid);
}

static void test_get_info_length(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int v2 = get_fd(u, names, 1, 2, 2, NULL, NULL);
	int v1 = get_fd(u, names, 1, 1, 1, NULL, NULL);
	struct drvops_info info = { .size = sizeof(info) };

	TL_ASSERT_OK(v2);
	TL_ASSERT_OK(v1);
	CU_ASSERT(TL_CHECK_LENGTH(v2, DRVOPS_IOCTL_GET_INFO, &info,
				  __reserved));
	CU_ASSERT(TL_CHECK_LENGTH(v1, DRVOPS_IOCTL_GET_INFO, &info,
				  __reserved));
}

static void test_get_info_reserved_eopnotsupp(void)
{
	const char *names[] = { GEN };
	int u = open_kind(TL_DEVICE_CURRENT);
	int fd = get_fd(u, names, 1, 1, 2, NULL, NULL);
	struct drvops_info info;

	TL_ASSERT_OK(fd);
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.__reserved = 1;
	TL_ASSERT_ERR(tl_ioctl(fd, DRVOPS_IOCTL_GET_INFO, &info), EOPNOTSUPP);
	/* Nothing was written back. */
	CU_ASSERT_EQUAL(info.version, 0);
	CU_ASSERT_EQUAL(info.name[0], '\0');
	CU_ASSERT_EQUAL(info.node_guid, 0);
	info.__reserved = 0x80000000u;
	TL_ASSERT_ERR(tl_ioctl(fd, DRVOPS_IOCTL_GET_INFO, &info), EOPNOTSUPP);
}

/* ---- Leaks --------------------------------------------------------------- */

static void test_nothing_left_open(void)
{
	struct tl_stats s;

	tl_close_tracked();
	CU_ASSERT_EQUAL(tl_count_open_fds(), baseline_fds);
	CU_ASSERT(have_baseline_stats);
	if (have_baseline_stats) {
		CU_ASSERT_EQUAL(tl_read_stats(&s), 0);
		CU_ASSERT_EQUAL(s.live_files, baseline_stats.live_files);
		CU_ASSERT_EQUAL(s.files, baseline_stats.files);
	}
}

static CU_TestInfo negotiation_tests[] = {
	{ "fallback on current device picks index 0, v2",
	  test_fallback_current_picks_first_name },
	{ "fallback on legacy device picks index 1, v1",
	  test_fallback_legacy_picks_second_name },
	{ "alias alone gets the alias max version (v1)",
	  test_alias_alone_gets_alias_max_version },
	{ "unknown names only: ENOENT", test_unknown_names_enoent },
	{ "unknown name before a known one is skipped",
	  test_unknown_name_is_skipped },
	{ "range above the interface: ENOPROTOOPT",
	  test_range_above_enoprotoopt },
	{ "range below the interface max gets the range max",
	  test_range_below_interface_max },
	{ "overlapping range gets the highest common version",
	  test_range_overlapping_gets_highest_common },
	{ "exact range", test_range_exact },
	{ "min_version 0: EINVAL", test_range_min_zero_einval },
	{ "min_version > max_version: EINVAL",
	  test_range_min_above_max_einval },
	{ "legacy device, both names at 2..2: ENOPROTOOPT",
	  test_legacy_device_v2_only_enoprotoopt },
	{ "a known name out of range among unknown ones: ENOPROTOOPT",
	  test_known_name_out_of_range_wins_over_enoent },
	{ "FLAGS unknown bit: EINVAL", test_flags_unknown_einval },
	{ "FLAGS as __u64 0 accepted", test_flags_u64_zero_accepted },
	{ "FLAGS == 0 accepted", test_flags_zero_accepted },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo names_tests[] = {
	{ "no trailing NUL: EINVAL", test_names_without_trailing_nul_einval },
	{ "empty name: EINVAL", test_names_empty_name_einval },
	{ "name of 64 chars: EINVAL (63 accepted)", test_names_64_chars_einval },
	{ "17 names: EINVAL (16 accepted)", test_names_17_einval_16_accepted },
	{ "non-printable name: EINVAL", test_names_non_printable_einval },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo context_tests[] = {
	{ "before GET_CONTEXT: EINVAL", test_before_get_context_einval },
	{ "UVERBS_FD of another context: EINVAL",
	  test_uverbs_fd_of_other_context_einval },
	{ "UVERBS_FD dup of the same file accepted",
	  test_uverbs_fd_dup_accepted },
	{ "UVERBS_FD not a uverbs fd (pipe, driver-ops fd): EINVAL",
	  test_uverbs_fd_not_uverbs_einval },
	{ "UVERBS_FD closed or -1: EBADF", test_uverbs_fd_closed_ebadf },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo attr_tests[] = {
	{ "missing mandatory attribute: EINVAL",
	  test_missing_mandatory_attr_einval },
	{ "VERSIONS len 7 (and 0): EINVAL", test_versions_len_7_einval },
	{ "VERSIONS len 9, non-zero tail: EOPNOTSUPP",
	  test_versions_len_9_nonzero_tail_eopnotsupp },
	{ "VERSIONS len 9, zero tail: same as len 8",
	  test_versions_len_9_zero_tail_like_len_8 },
	{ "NAMES bad pointer (len > 8): EFAULT", test_names_bad_pointer_efault },
	{ "bad output pointer: EFAULT, no fd left open",
	  test_bad_output_pointer_efault_no_fd_left },
	{ "no free fd number: EMFILE, nothing left",
	  test_no_free_fd_emfile },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo fd_tests[] = {
	{ "fd is O_CLOEXEC and O_RDWR", test_fd_cloexec_rdwr },
	{ "fd is anon_inode:[drvops]", test_fd_is_anon_inode_drvops },
	{ "two fds have distinct inodes, not the uverbs one",
	  test_fds_have_distinct_inodes },
	{ "GET_INFO on the current device", test_get_info_current },
	{ "GET_INFO on the legacy device", test_get_info_legacy },
	{ "GET_INFO ibdev_index and node_guid per device",
	  test_get_info_ibdev_index },
	{ "GET_INFO extensibility (TL_CHECK_LENGTH)", test_get_info_length },
	{ "GET_INFO __reserved != 0: EOPNOTSUPP",
	  test_get_info_reserved_eopnotsupp },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo leak_tests[] = {
	{ "no fd or driver-ops file left", test_nothing_left_open },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "GET_FD negotiation", NULL, NULL, NULL, teardown, negotiation_tests },
	{ "GET_FD NAMES", NULL, NULL, NULL, teardown, names_tests },
	{ "GET_FD context and UVERBS_FD", NULL, NULL, NULL, teardown,
	  context_tests },
	{ "GET_FD attributes", NULL, NULL, NULL, teardown, attr_tests },
	{ "driver-ops fd", NULL, NULL, NULL, teardown, fd_tests },
	{ "GET_FD leaks", NULL, NULL, NULL, teardown, leak_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	baseline_fds = tl_count_open_fds();
	have_baseline_stats = tl_read_stats(&baseline_stats) == 0;
	return tl_run_suites("test_getfd", suites);
}
