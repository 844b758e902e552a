// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * drvops in containers: the driver-ops fd needs nothing a container does
 * not already give an RDMA user.
 *
 *  - RDMA netns exclusive mode: a process in another network namespace
 *    does not see the device and cannot open its uverbs node (EPERM), so
 *    it cannot get driver ops; once the device is moved into its namespace
 *    (`rdma dev set DEV netns NS`) everything works there, and the device
 *    comes back to the initial namespace when that namespace dies. A user
 *    left behind when the device moves away finds its driver-ops fd dead
 *    (EIO), as after any disassociate.
 *  - A mount namespace whose /dev holds only /dev/infiniband/uverbsN (a
 *    tmpfs with one mknod'ed node, like a container runtime's --device)
 *    is enough for copy.generic and for the HFI.
 *
 * (The rdma cgroup's limit on driver-ops fds is test_cgroup.)
 *
 * The netns mode is global: the suite sets "exclusive" only for its test
 * and always puts "shared" back (also at init, after a crashed run), so
 * the order of suites does not matter. Children report through their exit
 * code: 0, or the number of the first check that failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tl_hfi.h"
#include "tl_proc.h"

/* Where iproute2 (Debian) looks up named network namespaces. */
#define NETNS_DIR "/run/netns"
#define NETNS_NAME "drvops_ct"
#define NETNS_PATH NETNS_DIR "/" NETNS_NAME
#define TIMEOUT_MS 10000

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Runs a shell command; its output in out (may be NULL). Exit code or -1. */
static int run(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int run(char *out, size_t len, const char *fmt, ...)
{
	char cmd[512];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out && len) {
		n = fread(out, 1, len - 1, p);
		out[n] = '\0';
	} else {
		char sink[256];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "shared", "exclusive" or NULL from `rdma system show`. */
static const char *netns_mode(void)
{
	char out[256];

	if (run(out, sizeof(out), "rdma system show 2>&1"))
		return NULL;
	if (strstr(out, "netns exclusive"))
		return "exclusive";
	if (strstr(out, "netns shared"))
		return "shared";
	return NULL;
}

/*
 * Set the mode. ib_core refuses (EBUSY) while any network namespace but
 * the initial one exists, and dead ones are freed asynchronously: retry.
 */
static int set_netns_mode(const char *mode)
{
	int i;

	for (i = 0; i < 100; i++) {
		const char *now = netns_mode();

		if (now && !strcmp(now, mode))
			return 0;
		run(NULL, 0, "rdma system set netns %s 2>&1", mode);
		sleep_ms(100);
	}
	fprintf(stderr, "\n  cannot set rdma netns mode %s (now %s)\n", mode,
		netns_mode() ? netns_mode() : "?");
	return -1;
}

static int containers_init(void)
{
	/* A previous run may have died in exclusive mode. */
	umount2(NETNS_PATH, MNT_DETACH);
	return set_netns_mode("shared") ? -1 : 0;
}

static int containers_cleanup(void)
{
	umount2(NETNS_PATH, MNT_DETACH);
	unlink(NETNS_PATH);
	return set_netns_mode("shared") ? -1 : 0;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* One byte over a pipe; 0 or -1. */
static int put(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int get(int fd, char want)
{
	char c;

	return read(fd, &c, 1) == 1 && c == want ? 0 : -1;
}

/* A real operation: COPY into the bound MR, and the completion. */
static int generic_copy_works(struct tl_ctx *ctx, uint64_t guid)
{
	struct drvops_info info = { .size = sizeof(info) };
	struct drvops_generic_completion c;
	char src[128];
	int i;

	for (i = 0; i < (int)sizeof(src); i++)
		src[i] = (char)(i ^ 0x5a);
	TL_CHILD_CHECK(50, drvops_get_info(ctx->ops_fd, &info) == 0);
	TL_CHILD_CHECK(51, info.node_guid == guid);
	TL_CHILD_CHECK(52, tl_copy(ctx->ops_fd, tl_user_buf(src), tl_mr_buf(ctx->mr, 64),
			  sizeof(src), 99) == 0);
	TL_CHILD_CHECK(53, tl_read_completion(ctx->ops_fd, &c) == 0);
	TL_CHILD_CHECK(54, c.status == 0 && c.user_data == 99 && c.length == sizeof(src));
	TL_CHILD_CHECK(55, !memcmp(ctx->buf + 64, src, sizeof(src)));
	return 0;
}

/*
 * In a new network (and mount, for a sysfs of its own) namespace: first
 * the device is not there, then (after the parent moved it) it is.
 */
static int netns_child(int rd, int wr, const struct drvops_device_info *dev)
{
	struct drvops_device_info seen;
	struct tl_ctx ctx;
	int fd;

	TL_CHILD_CHECK(1, unshare(CLONE_NEWNET | CLONE_NEWNS) == 0);
	TL_CHILD_CHECK(2, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	/* sysfs shows the devices of the mounter's network namespace. */
	TL_CHILD_CHECK(3, mount("sysfs", "/sys", "sysfs", 0, NULL) == 0);
	TL_CHILD_CHECK(4, put(wr, 'R') == 0);

	/* Exclusive mode: not ours, so no uverbs, so no driver ops. */
	TL_CHILD_CHECK(5, tl_find_device(TL_DEVICE_CURRENT, &seen) == -ENODEV);
	TL_CHILD_CHECK(6, drvops_device_by_guid(dev->node_guid, &seen) == -ENODEV);
	fd = open(dev->uverbs_path, O_RDWR | O_CLOEXEC);
	TL_CHILD_CHECK(7, fd == -1 && errno == EPERM);
	TL_CHILD_CHECK(8, put(wr, 'A') == 0);

	/* The parent moved the device here. */
	TL_CHILD_CHECK(9, get(rd, 'M') == 0);
	TL_CHILD_CHECK(10, drvops_device_by_guid(dev->node_guid, &seen) == 0);
	TL_CHILD_CHECK(11, !strcmp(seen.ibdev, dev->ibdev));
	TL_CHILD_CHECK(12, tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 1,
			      4096) == 0);
	TL_CHILD_CHECK(13, generic_copy_works(&ctx, dev->node_guid) == 0);
	TL_CHILD_CHECK(14, tl_ctx_close(&ctx) == 0);
	return 0;
}

static void test_netns_exclusive(void)
{
	struct drvops_device_info dev, seen;
	int to_child[2], to_parent[2], fd, rc, i;
	char cmd_out[512];
	struct tl_ctx ctx, old;
	char path[64];
	pid_t pid;

	TL_ASSERT_OK(tl_find_device(TL_DEVICE_CURRENT, &dev));
	CU_ASSERT_FATAL(set_netns_mode("exclusive") == 0);
	CU_ASSERT_FATAL(pipe2(to_child, O_CLOEXEC) == 0);
	CU_ASSERT_FATAL(pipe2(to_parent, O_CLOEXEC) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(netns_child(to_child[0], to_parent[1], &dev));
	close(to_child[0]);
	close(to_parent[1]);

	/* Name the child's namespace for the rdma tool. */
	CU_ASSERT(get(to_parent[0], 'R') == 0);
	mkdir("/run", 0755);
	mkdir(NETNS_DIR, 0755);
	fd = open(NETNS_PATH, O_CREAT | O_RDONLY | O_CLOEXEC, 0444);
	CU_ASSERT(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	CU_ASSERT(mount(path, NETNS_PATH, NULL, MS_BIND, NULL) == 0);

	/*
	 * A user here while the device moves away: its context is
	 * disassociated, the driver-ops fd dies (EIO), close still works.
	 */
	TL_ASSERT_OK(tl_ctx_open(&old, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 4096));
	CU_ASSERT(generic_copy_works(&old, dev.node_guid) == 0);

	/* The child checked it has no access; move the device to it. */
	CU_ASSERT(get(to_parent[0], 'A') == 0);
	rc = run(cmd_out, sizeof(cmd_out), "rdma dev set %s netns %s 2>&1",
		 dev.ibdev, NETNS_NAME);
	if (rc)
		fprintf(stderr, "\n  rdma dev set: rc %d: %s\n", rc, cmd_out);
	CU_ASSERT(rc == 0);
	/* Gone from here: not listed, its node not ours to open. */
	CU_ASSERT(drvops_device_by_guid(dev.node_guid, &seen) == -ENODEV);
	fd = open(dev.uverbs_path, O_RDWR | O_CLOEXEC);
	CU_ASSERT(fd == -1 && (errno == EPERM || errno == ENOENT));
	if (fd >= 0)
		close(fd);
	{
		struct drvops_generic_noop noop = { .size = sizeof(noop) };

		TL_ASSERT_ERR(tl_ioctl(old.ops_fd, DRVOPS_GENERIC_IOCTL_NOOP,
				       &noop), EIO);
	}
	tl_ctx_close(&old);
	CU_ASSERT(put(to_child[1], 'M') == 0);
	rc = wait_child(pid);
	if (rc)
		fprintf(stderr, "\n  netns child failed check %d\n", rc);
	CU_ASSERT(rc == 0);
	close(to_child[1]);
	close(to_parent[0]);

	/* The namespace dies with its last user: the device comes home. */
	CU_ASSERT(umount2(NETNS_PATH, MNT_DETACH) == 0);
	unlink(NETNS_PATH);
	for (i = 0; i < TIMEOUT_MS / 50; i++) {
		if (!drvops_device_by_guid(dev.node_guid, &seen) &&
		    !access(seen.uverbs_path, F_OK))
			break;
		sleep_ms(50);
	}
	TL_ASSERT_OK(drvops_device_by_guid(dev.node_guid, &seen));
	CU_ASSERT_STRING_EQUAL(seen.ibdev, dev.ibdev);

	CU_ASSERT(set_netns_mode("shared") == 0);
	TL_ASSERT_OK(tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME,
				 1, 4096));
	CU_ASSERT(generic_copy_works(&ctx, dev.node_guid) == 0);
	CU_ASSERT(tl_ctx_close(&ctx) == 0);
}

/* major:minor of /dev/infiniband/uverbsN from sysfs. */
static int uverbs_devt(const struct drvops_device_info *dev, dev_t *devt)
{
	char path[128], buf[32];
	unsigned ma, mi;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/class/infiniband_verbs/uverbs%u/dev",
		 dev->uverbs_num);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%u:%u", &ma, &mi) == 2;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*devt = makedev(ma, mi);
	return 0;
}

/* Entries of dir (without . and ..) into names, "a b"; count or -errno. */
static int list_dir(const char *dir, char *names, size_t len)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -errno;
	names[0] = '\0';
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n++)
			strncat(names, " ", len - strlen(names) - 1);
		strncat(names, e->d_name, len - strlen(names) - 1);
	}
	closedir(d);
	return n;
}

/*
 * A private /dev: a tmpfs holding only /dev/infiniband/uverbsN of dev,
 * made the way a container runtime makes a --device node.
 */
static int only_this_node(const struct drvops_device_info *dev)
{
	char names[256], want[32];
	struct stat st;
	dev_t devt = 0;

	TL_CHILD_CHECK(1, uverbs_devt(dev, &devt) == 0);
	TL_CHILD_CHECK(2, unshare(CLONE_NEWNS) == 0);
	TL_CHILD_CHECK(3, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	TL_CHILD_CHECK(4, mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
		       "mode=755") == 0);
	TL_CHILD_CHECK(5, mkdir("/dev/infiniband", 0755) == 0);
	TL_CHILD_CHECK(6, mknod(dev->uverbs_path, S_IFCHR | 0666, devt) == 0);
	/* Exactly one node in the whole /dev. */
	TL_CHILD_CHECK(7, list_dir("/dev", names, sizeof(names)) == 1 &&
			 !strcmp(names, "infiniband"));
	snprintf(want, sizeof(want), "uverbs%u", dev->uverbs_num);
	TL_CHILD_CHECK(8, list_dir("/dev/infiniband", names, sizeof(names)) == 1 &&
			 !strcmp(names, want));
	TL_CHILD_CHECK(9, stat(dev->uverbs_path, &st) == 0 && S_ISCHR(st.st_mode) &&
			 st.st_rdev == devt);
	return 0;
}

static int private_dev_generic(void)
{
	struct drvops_generic_ring_setup rs = { .size = sizeof(rs), .entries = 4 };
	struct drvops_device_info dev;
	struct tl_ctx ctx;
	volatile struct drvops_generic_ring_header *ring;
	char src[64] = "one device node is all it takes", dst[64] = "";
	int ret;

	TL_CHILD_CHECK(20, tl_find_device(TL_DEVICE_CURRENT, &dev) == 0);
	ret = only_this_node(&dev);
	if (ret)
		return ret;
	TL_CHILD_CHECK(21, tl_ctx_open(&ctx, TL_DEVICE_CURRENT, DRVOPS_GENERIC_NAME, 2,
			      4096) == 0);
	TL_CHILD_CHECK(22, tl_ioctl(ctx.ops_fd, DRVOPS_GENERIC_IOCTL_RING_SETUP, &rs) == 0);
	ring = mmap(NULL, rs.mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		    ctx.ops_fd, rs.mmap_offset);
	TL_CHILD_CHECK(23, ring != MAP_FAILED);
	TL_CHILD_CHECK(24, tl_copy(ctx.ops_fd, tl_user_buf(src), tl_user_buf(dst),
			  sizeof(src), 5) == 0);
	TL_CHILD_CHECK(25, !memcmp(src, dst, sizeof(src)));
	TL_CHILD_CHECK(26, tl_fill(ctx.ops_fd, tl_mr_buf(ctx.mr, 0), 100, 0x3c, 6) == 0);
	TL_CHILD_CHECK(27, ctx.buf[0] == 0x3c && ctx.buf[99] == 0x3c && ctx.buf[100] == 0);
	TL_CHILD_CHECK(28, ring->producer == 2);
	munmap((void *)ring, rs.mmap_length);
	TL_CHILD_CHECK(29, tl_ctx_close(&ctx) == 0);
	return 0;
}

static int private_dev_hfi(void)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	struct drvops_device_info dev;
	struct drvops_hfi_ctx a, b;
	char msg[200] = "eager, through the only node";
	struct iovec iov = { msg, sizeof(msg) };
	int slot, ret;

	TL_CHILD_CHECK(30, tl_hfi_find(TL_HFI_CURRENT, 0, &dev) == 0);
	ret = only_this_node(&dev);
	if (ret)
		return ret;
	/* Two contexts of the one unit talk to each other. */
	TL_CHILD_CHECK(31, tl_hfi_open(&a, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0) == 0);
	TL_CHILD_CHECK(32, tl_hfi_open(&b, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0) == 0);
	TL_CHILD_CHECK(33, a.info.ctxt != b.info.ctxt && a.info.lid == b.info.lid);
	slot = drvops_hfi_send(&a, DRVOPS_HFI_OP_EAGER, (uint16_t)b.info.lid,
			       (uint16_t)b.info.ctxt, 0, 0, NULL, &iov, 1);
	TL_CHILD_CHECK(34, slot >= 0);
	TL_CHILD_CHECK(35, drvops_hfi_wait_slot(&a, slot) == 0);
	TL_CHILD_CHECK(36, tl_hfi_recv(&b, &e, TIMEOUT_MS) == 0);
	TL_CHILD_CHECK(37, (e->flags & DRVOPS_HFI_RHQ_EAGER) && e->length == sizeof(msg) &&
			  e->src_ctxt == a.info.ctxt);
	TL_CHILD_CHECK(38, !memcmp(drvops_hfi_eager_payload(&b, e), msg, sizeof(msg)));
	drvops_hfi_consume(&b, e);
	tl_hfi_close(&a);
	tl_hfi_close(&b);
	return 0;
}

static void run_child(int (*fn)(void))
{
	pid_t pid = fork();
	int rc;

	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(fn());
	rc = wait_child(pid);
	if (rc)
		fprintf(stderr, "\n  child failed check %d\n", rc);
	CU_ASSERT(rc == 0);
}

static void test_private_dev_generic(void)
{
	run_child(private_dev_generic);
}

static void test_private_dev_hfi(void)
{
	run_child(private_dev_hfi);
}

static CU_TestInfo container_tests[] = {
	{ "netns exclusive: no device until moved into the namespace",
	  test_netns_exclusive },
	{ "only /dev/infiniband/uverbsN: copy.generic", test_private_dev_generic },
	{ "only /dev/infiniband/uverbsN: HFI eager", test_private_dev_hfi },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "containers", containers_init, containers_cleanup, NULL, NULL,
	  container_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_containers", suites);
}
