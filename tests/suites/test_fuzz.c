// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * A structured, seeded fuzzer of everything userspace can do to the broker
 * and its drivers, run on the debug kernel (a KASAN/lockdep report fails
 * the run).
 *
 * Workers (DRVOPS_FUZZ_PROCS processes as uid 1000, DRVOPS_FUZZ_THREADS
 * threads each) share, per process, a pool of uverbs fds, driver-ops fds,
 * PD/MR/CQ handles, bindings, tids and mappings, and pick calls at random:
 * every broker method (GET_FD, QUERY, BIND, UNBIND) with valid, junk and
 * missing attributes; every driver-ops ioctl number of every interface,
 * plus unknown ones, with structs of every size, sometimes shaped to pass
 * validation (a job key, a registered buffer, a bound MR), sometimes at a
 * bad or read-only pointer; writev in the three request formats; read;
 * mmap/munmap/mprotect and touching the pages (SIGBUS/SIGSEGV are caught);
 * poll; dup and close of any fd; fork (the child uses inherited fds);
 * SCM_RIGHTS to itself. The controller (root) adds chaos: kill -9 of a
 * worker (a new one takes its place), and rmmod + insmod of the drivers
 * while their devices are in use.
 *
 * Reproducible: each thread's choices come from its own generator seeded
 * from DRVOPS_FUZZ_SEED and its worker/thread number, so a seed replays
 * the same call sequence per thread (interleavings and chaos timing are
 * not reproducible). DRVOPS_FUZZ_CALLS is how many calls to make (default
 * 300000, the CI slice; `make fuzz` runs 5000000), DRVOPS_FUZZ_SECS a time
 * bound (default 200 s, under the test bed's 300 s per binary; 0: none): the debug
 * kernel under TCG runs this slice in 130 to 190 s, and a slow boot must
 * not look like a hang. Prints calls/s and, per call, an errno histogram.
 *
 * Passes when the calls completed (or, at the time bound, at least
 * FUZZ_MIN_CALLS of them) without a worker dying of anything but our
 * SIGKILL, and everything is back to baseline once the workers are gone.
 * Driver-ops fds are made non-blocking (a read or writev that waits for an
 * event that never comes would stall a thread; waiting is what test_races
 * covers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tl_fds.h"
#include "tl_hfi.h"
#include "tl_proc.h"

#define PAGE 4096UL
#define FUZZ_MIN_CALLS 100000L
#define POOL_PAGES 64
#define SLOTS 16		/* of each resource kind, per process */
#define MAX_PROCS 8
#define MAX_THREADS 8
#define MAX_ERRNO 134		/* errno 0..133; 134 = other */
#define WORKER_UID 1000

/* ---- calls and their histograms (shared between processes) ---------- */

enum call {
	C_OPEN, C_CLOSE_UVERBS, C_GET_FD, C_QUERY, C_ALLOC_PD, C_REG_MR,
	C_CREATE_CQ, C_DESTROY, C_BIND, C_UNBIND, C_IOCTL, C_WRITEV, C_READ,
	C_MMAP, C_MUNMAP, C_MPROTECT, C_TOUCH, C_POLL, C_DUP, C_CLOSE, C_FORK,
	C_SCM, C_NR
};

static const char *const call_names[C_NR] = {
	"open+GET_CONTEXT", "close uverbs", "GET_FD", "QUERY", "ALLOC_PD",
	"REG_MR", "CREATE_CQ", "DEREG/DEALLOC/DESTROY", "BIND", "UNBIND",
	"ioctl", "writev", "read", "mmap", "munmap", "mprotect", "touch map",
	"poll", "dup", "close", "fork", "SCM_RIGHTS",
};

struct shared {
	atomic_long target;		/* calls to complete (lowered to 0
					 * at the time bound) */
	atomic_long done;		/* completed (a killed worker's last
					 * calls never count) */
	atomic_long hist[C_NR][MAX_ERRNO + 1];
	atomic_long faults_caught;	/* SIGBUS/SIGSEGV on our mappings */
};

static struct shared *sh;

static void count(enum call c, long ret)
{
	long e = ret >= 0 ? 0 : -ret;

	if (e > MAX_ERRNO)
		e = MAX_ERRNO;
	atomic_fetch_add(&sh->hist[c][e], 1);
	atomic_fetch_add(&sh->done, 1);
}

/* ---- per-thread generator (xorshift64*) ------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static unsigned below(struct rng *r, unsigned n)
{
	return n ? (unsigned)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned pct)
{
	return below(r, 100) < pct;
}

/* ---- the pool of one worker process ---------------------------------- */

struct mapping {
	void *addr;
	size_t len;
};

struct pool {
	pthread_mutex_t lock;
	int uverbs[SLOTS];		/* -1: empty */
	int ops[SLOTS];
	int ops_uverbs[SLOTS];		/* the uverbs fd it came from */
	int ops_kind[SLOTS];		/* index in fuzz_names: the interface */
	uint32_t pd[SLOTS], mr[SLOTS], cq[SLOTS], binding[SLOTS];
	int pd_uverbs[SLOTS], mr_uverbs[SLOTS];	/* where they were made */
	struct mapping map[SLOTS];
	uint8_t *mem;			/* POOL_PAGES of our own memory */
	void *ro;			/* a read-only page */
};

static struct pool pool;
static pid_t controller;		/* the workers' parent */

static int pick_fd(struct rng *r)
{
	int fd = -1;

	pthread_mutex_lock(&pool.lock);
	switch (below(r, 8)) {
	case 0: case 1: case 2: case 3: case 4:
		fd = pool.ops[below(r, SLOTS)];
		break;
	case 5: case 6:
		fd = pool.uverbs[below(r, SLOTS)];
		break;
	default:
		fd = 3 + (int)below(r, 40);	/* anything, even closed */
	}
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

static int pick_uverbs(struct rng *r)
{
	int fd;

	pthread_mutex_lock(&pool.lock);
	fd = pool.uverbs[below(r, SLOTS)];
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

static uint32_t pick_handle(struct rng *r, const uint32_t *a)
{
	uint32_t h;

	if (chance(r, 10))
		return (uint32_t)rnd(r);
	pthread_mutex_lock(&pool.lock);
	h = a[below(r, SLOTS)];
	pthread_mutex_unlock(&pool.lock);
	return h;
}

/* Store v in a free (or random) slot; returns what it replaced. */
static int put_int(struct rng *r, int *a, int v)
{
	unsigned i, k = below(r, SLOTS);
	int old;

	pthread_mutex_lock(&pool.lock);
	for (i = 0; i < SLOTS; i++)
		if (a[(k + i) % SLOTS] < 0) {
			k = (k + i) % SLOTS;
			break;
		}
	old = a[k];
	a[k] = v;
	pthread_mutex_unlock(&pool.lock);
	return old;
}

static void put_handle(struct rng *r, uint32_t *a, uint32_t h, int *owner,
		       int ufd)
{
	unsigned k = below(r, SLOTS);

	pthread_mutex_lock(&pool.lock);
	a[k] = h;
	if (owner)
		owner[k] = ufd;
	pthread_mutex_unlock(&pool.lock);
}

/* Take an fd out of the pool (to close it). */
static int take_int(struct rng *r, int *a)
{
	unsigned k = below(r, SLOTS);
	int v;

	pthread_mutex_lock(&pool.lock);
	v = a[k];
	a[k] = -1;
	pthread_mutex_unlock(&pool.lock);
	return v;
}

/* A buffer address: ours (mostly), read-only, NULL, or unmapped. */
static uint64_t pick_addr(struct rng *r, size_t *len)
{
	unsigned first = below(r, POOL_PAGES);

	*len = (size_t)(below(r, POOL_PAGES - first) + 1) * PAGE -
	       below(r, 64);
	switch (below(r, 12)) {
	case 0:
		*len = below(r, 2 * PAGE);
		return (uintptr_t)pool.ro;
	case 1:
		return 0;
	case 2:
		return 0xdead0000ULL;
	case 3:
		return (uintptr_t)pool.mem + below(r, 4096);
	default:
		return (uintptr_t)pool.mem + (uint64_t)first * PAGE;
	}
}

/* ---- calls ----------------------------------------------------------- */

static long err(long ret)
{
	return ret < 0 ? -errno : ret;
}

static long do_open(struct rng *r)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES), fd, ret;

	if (n <= 0)
		return n ? n : -ENODEV;
	fd = drvops_open_device(&devs[below(r, (unsigned)n)]);
	if (fd < 0)
		return fd;
	ret = chance(r, 95) ? drvops_get_context(fd) : 0;
	fd = put_int(r, pool.uverbs, fd);
	if (fd >= 0)
		close(fd);	/* the slot's old fd: close with live objects */
	return ret;
}

static long do_close_uverbs(struct rng *r)
{
	int fd = take_int(r, pool.uverbs);

	return fd < 0 ? -EBADF : err(close(fd));
}

static const char *const fuzz_names[] = {
	DRVOPS_GENERIC_NAME, DRVOPS_GENERIC_LEGACY_NAME, DRVOPS_HFI_NAME,
	DRVOPS_HFI_LEGACY_NAME, "nope", "copy", "sdma.opa.x",
};

/* A new driver-ops fd: its slot remembers its uverbs fd and interface. */
static void put_ops(struct rng *r, int fd, int ufd, unsigned kind)
{
	unsigned i, k = below(r, SLOTS);
	int old;

	pthread_mutex_lock(&pool.lock);
	for (i = 0; i < SLOTS; i++)
		if (pool.ops[(k + i) % SLOTS] < 0) {
			k = (k + i) % SLOTS;
			break;
		}
	/* Non-blocking: a read or writev must never wait for ever. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	old = pool.ops[k];
	pool.ops[k] = fd;
	pool.ops_uverbs[k] = ufd;
	pool.ops_kind[k] = (int)kind;
	pthread_mutex_unlock(&pool.lock);
	if (old >= 0)
		close(old);
}

/* A driver-ops fd with its uverbs fd and interface (-1 if none). */
static int pick_ops(struct rng *r, int *ufd, int *kind)
{
	unsigned k = below(r, SLOTS);
	int fd;

	pthread_mutex_lock(&pool.lock);
	fd = pool.ops[k];
	*ufd = pool.ops_uverbs[k];
	*kind = fd >= 0 ? pool.ops_kind[k] : -1;
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

static long do_get_fd(struct rng *r)
{
	char names[3 * DRVOPS_NAME_MAX + 8];
	struct drvops_version_range range;
	int ufd = pick_uverbs(r);
	size_t len = 0;
	unsigned i, n = below(r, 3) + 1;
	struct drvops_req req;
	int32_t fd_out = -1;
	uint32_t idx, ver;
	long ret;

	unsigned kinds[3];

	for (i = 0; i < n; i++) {
		const char *s;

		kinds[i] = below(r, 7);
		s = fuzz_names[kinds[i]];
		memcpy(names + len, s, strlen(s) + 1);
		len += strlen(s) + 1;
	}
	if (chance(r, 5))
		names[below(r, (unsigned)len)] = (char)rnd(r);
	range.min_version = chance(r, 90) ? 1 : below(r, 4);
	range.max_version = chance(r, 80) ? 2 : below(r, 4);
	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_GET_FD);
	if (chance(r, 97))
		drvops_req_fd(&req, DRVOPS_ATTR_GET_FD_UVERBS_FD,
			      chance(r, 95) ? ufd : pick_fd(r));
	drvops_req_in(&req, DRVOPS_ATTR_GET_FD_NAMES, names, len);
	drvops_req_in(&req, DRVOPS_ATTR_GET_FD_VERSIONS, &range,
		      chance(r, 95) ? sizeof(range) : below(r, 16));
	if (chance(r, 10))
		drvops_req_in_u32(&req, DRVOPS_ATTR_GET_FD_FLAGS,
				  chance(r, 50) ? 0 : (uint32_t)rnd(r));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_FD,
		       chance(r, 97) ? (void *)&fd_out : pool.ro,
		       sizeof(fd_out));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_NAME_INDEX, &idx, sizeof(idx));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_VERSION,
		       chance(r, 97) ? (void *)&ver : pool.ro, sizeof(ver));
	ret = drvops_req_exec(ufd, &req);
	if (!ret)
		put_ops(r, fd_out, ufd, kinds[idx < n ? idx : 0]);
	return ret;
}

static long do_query(struct rng *r)
{
	struct drvops_interface_entry e[8];
	unsigned total;

	return drvops_query(pick_uverbs(r), chance(r, 80) ? e : NULL,
			    below(r, 9), &total);
}

static long do_alloc_pd(struct rng *r)
{
	int ufd = pick_uverbs(r);
	uint32_t h;
	int ret = drvops_alloc_pd(ufd, &h);

	if (!ret)
		put_handle(r, pool.pd, h, pool.pd_uverbs, ufd);
	return ret;
}

static long do_reg_mr(struct rng *r)
{
	unsigned k = below(r, SLOTS);
	int ufd;
	size_t len;
	uint64_t addr = pick_addr(r, &len);
	uint32_t h, pd;
	int ret;

	/* Mostly a PD of the same uverbs fd, so that it can work. */
	pthread_mutex_lock(&pool.lock);
	ufd = pool.pd_uverbs[k];
	pd = pool.pd[k];
	pthread_mutex_unlock(&pool.lock);
	if (chance(r, 20))
		ufd = pick_uverbs(r);
	ret = drvops_reg_mr(ufd, pd, (void *)addr,
				len, chance(r, 80) ? IB_UVERBS_ACCESS_LOCAL_WRITE :
				below(r, 16), &h, NULL, NULL);

	if (!ret)
		put_handle(r, pool.mr, h, pool.mr_uverbs, ufd);
	return ret;
}

static long do_create_cq(struct rng *r)
{
	uint32_t h;
	int ret = drvops_create_cq(pick_uverbs(r), below(r, 64), &h);

	if (!ret)
		put_handle(r, pool.cq, h, NULL, 0);
	return ret;
}

static long do_destroy(struct rng *r)
{
	int ufd = pick_uverbs(r);

	switch (below(r, 3)) {
	case 0:
		return drvops_dereg_mr(ufd, pick_handle(r, pool.mr));
	case 1:
		return drvops_dealloc_pd(ufd, pick_handle(r, pool.pd));
	default:
		return drvops_destroy_cq(ufd, pick_handle(r, pool.cq));
	}
}

static long do_bind(struct rng *r)
{
	static const enum drvops_obj_kind kinds[] = { DRVOPS_OBJ_PD,
						      DRVOPS_OBJ_MR,
						      DRVOPS_OBJ_CQ };
	enum drvops_obj_kind k = kinds[chance(r, 70) ? 1 : below(r, 3)];
	const uint32_t *handles = k == DRVOPS_OBJ_MR ? pool.mr :
				  k == DRVOPS_OBJ_PD ? pool.pd : pool.cq;
	int ufd = pick_uverbs(r), ofd = pick_fd(r), kind;
	uint32_t b, h = pick_handle(r, handles);
	int ret;

	if (k == DRVOPS_OBJ_MR && chance(r, 70)) {
		/* An MR and a driver-ops fd of the same uverbs fd. */
		unsigned m = below(r, SLOTS), i;
		int ofd2, ou;

		pthread_mutex_lock(&pool.lock);
		ufd = pool.mr_uverbs[m];
		h = pool.mr[m];
		pthread_mutex_unlock(&pool.lock);
		for (i = 0; i < 4; i++) {
			ofd2 = pick_ops(r, &ou, &kind);
			if (ofd2 >= 0 && ou == ufd) {
				ofd = ofd2;
				break;
			}
		}
	}
	ret = drvops_bind(ufd, ofd, k, h, &b);

	if (!ret)
		put_handle(r, pool.binding, b, NULL, ufd);
	return ret;
}

static long do_unbind(struct rng *r)
{
	return drvops_unbind(pick_uverbs(r), pick_handle(r, pool.binding));
}

/* Every ioctl number of every interface, and a few that are none. */
static unsigned long pick_cmd(struct rng *r)
{
	static const unsigned long cmds[] = {
		DRVOPS_IOCTL_GET_INFO,
		DRVOPS_GENERIC_IOCTL_NOOP, DRVOPS_GENERIC_IOCTL_COPY,
		DRVOPS_GENERIC_IOCTL_FILL, DRVOPS_GENERIC_IOCTL_RING_SETUP,
		DRVOPS_HFI_IOCTL_ASSIGN_CTXT, DRVOPS_HFI_IOCTL_CTXT_INFO,
		DRVOPS_HFI_IOCTL_TID_REGISTER, DRVOPS_HFI_IOCTL_TID_FREE,
		DRVOPS_HFI_IOCTL_COUNTERS, DRVOPS_HFI_IOCTL_TID_REGISTER_MR,
		DRVOPS_HFI_IOCTL_UNIT_INFO,
		DRVOPS_HFI_LEGACY_IOCTL_ASSIGN_CTXT,
		DRVOPS_HFI_LEGACY_IOCTL_CTXT_INFO,
		DRVOPS_HFI_LEGACY_IOCTL_COUNTERS,
		DRVOPS_HFI_LEGACY_IOCTL_UNIT_INFO,
	};

	if (chance(r, 8))
		return chance(r, 50) ? _IO(DRVOPS_IOCTL_TYPE, below(r, 256)) :
				       (unsigned long)rnd(r);
	return cmds[below(r, sizeof(cmds) / sizeof(cmds[0]))];
}

static void fill_buf(struct rng *r, struct drvops_generic_buf *b)
{
	size_t len;

	if (chance(r, 50)) {
		b->addr = pick_addr(r, &len);
		b->mr_handle = 0;
		b->flags = 0;
	} else {
		b->addr = below(r, POOL_PAGES * PAGE);
		b->mr_handle = pick_handle(r, pool.mr);
		b->flags = DRVOPS_GENERIC_BUF_MR;
	}
	if (chance(r, 3))
		b->flags = (uint32_t)rnd(r);
}

/* A struct for cmd: random, or shaped to pass validation. */
static void shape(struct rng *r, unsigned long cmd, uint8_t *s, uint32_t *size)
{
	size_t len;

	switch (_IOC_NR(cmd)) {
	case DRVOPS_HFI_CMD_ASSIGN_CTXT:
	case DRVOPS_HFI_CMD_ASSIGN_CTXT + DRVOPS_HFI_LEGACY_IOCTL_DELTA: {
		struct drvops_hfi_assign_ctxt *a = (void *)s;

		memset(a, 0, sizeof(*a));
		memcpy(a->job_key, tl_hfi_job_a, sizeof(a->job_key));
		*size = sizeof(*a);
		break;
	}
	case DRVOPS_HFI_CMD_TID_REGISTER: {
		struct drvops_hfi_tid_register *t = (void *)s;

		memset(t, 0, sizeof(*t));
		t->vaddr = pick_addr(r, &len);
		t->length = chance(r, 90) ? len : rnd(r);
		/* Half follow their mapping: munmaps race the notifiers. */
		t->flags = chance(r, 50) ? DRVOPS_HFI_TID_NOTIFY : 0;
		*size = sizeof(*t);
		break;
	}
	case DRVOPS_HFI_CMD_TID_REGISTER_MR: {
		struct drvops_hfi_tid_register_mr *t = (void *)s;

		memset(t, 0, sizeof(*t));
		t->mr_handle = pick_handle(r, pool.mr);
		t->offset = below(r, 8) * PAGE + below(r, 2) * below(r, 4096);
		t->length = below(r, 16) * PAGE + below(r, 4096);
		*size = sizeof(*t);
		break;
	}
	case DRVOPS_HFI_CMD_TID_FREE: {
		struct drvops_hfi_tid_free *t = (void *)s;

		t->tid = chance(r, 80) ? below(r, 20) : (uint32_t)rnd(r);
		*size = sizeof(*t);
		break;
	}
	case DRVOPS_GENERIC_CMD_COPY: {
		struct drvops_generic_copy *c = (void *)s;

		memset(c, 0, sizeof(*c));
		fill_buf(r, &c->src);
		fill_buf(r, &c->dst);
		c->length = below(r, 3 * PAGE);
		*size = sizeof(*c);
		break;
	}
	case DRVOPS_GENERIC_CMD_FILL: {
		struct drvops_generic_fill *f = (void *)s;

		memset(f, 0, sizeof(*f));
		fill_buf(r, &f->dst);
		f->length = below(r, 3 * PAGE);
		*size = sizeof(*f);
		break;
	}
	case DRVOPS_GENERIC_CMD_RING_SETUP: {
		struct drvops_generic_ring_setup *g = (void *)s;

		memset(g, 0, sizeof(*g));
		g->entries = 1u << below(r, 14);
		*size = sizeof(*g);
		break;
	}
	default:
		*size = 8 + below(r, 120);
		memset(s + 4, 0, *size);
	}
}

/* A command of the interface behind fuzz_names[kind]. */
static unsigned long cmd_of(struct rng *r, int kind)
{
	static const unsigned long generic[] = {
		DRVOPS_GENERIC_IOCTL_NOOP, DRVOPS_GENERIC_IOCTL_COPY,
		DRVOPS_GENERIC_IOCTL_FILL, DRVOPS_GENERIC_IOCTL_RING_SETUP,
	};
	static const unsigned long sdma[] = {
		DRVOPS_HFI_IOCTL_ASSIGN_CTXT, DRVOPS_HFI_IOCTL_CTXT_INFO,
		DRVOPS_HFI_IOCTL_TID_REGISTER, DRVOPS_HFI_IOCTL_TID_FREE,
		DRVOPS_HFI_IOCTL_COUNTERS, DRVOPS_HFI_IOCTL_TID_REGISTER_MR,
		DRVOPS_HFI_IOCTL_UNIT_INFO,
	};
	static const unsigned long psm2[] = {
		DRVOPS_HFI_LEGACY_IOCTL_ASSIGN_CTXT,
		DRVOPS_HFI_LEGACY_IOCTL_CTXT_INFO,
		DRVOPS_HFI_LEGACY_IOCTL_COUNTERS,
		DRVOPS_HFI_LEGACY_IOCTL_UNIT_INFO,
	};

	switch (kind) {
	case 0: case 1:
		return generic[below(r, 4)];
	case 2:
		return sdma[below(r, 6)];
	case 3:
		return psm2[below(r, 3)];
	default:
		return pick_cmd(r);
	}
}

static long do_ioctl(struct rng *r)
{
	uint8_t buf[512] __attribute__((aligned(8)));
	int ufd, kind, fd = pick_ops(r, &ufd, &kind);
	unsigned long cmd;
	uint32_t size;
	void *arg = buf;
	unsigned i;

	if (fd < 0 || chance(r, 15))
		fd = pick_fd(r);
	cmd = chance(r, 80) ? cmd_of(r, kind) : pick_cmd(r);
	for (i = 0; i < sizeof(buf); i += 8) {
		uint64_t v = rnd(r);

		memcpy(buf + i, &v, 8);
	}
	if (chance(r, 70))
		shape(r, cmd, buf, &size);
	else
		size = (uint32_t)rnd(r) % 300;
	switch (below(r, 20)) {
	case 0: size = 0; break;
	case 1: size = size ? size - 1 : 0; break;
	case 2: size += 1 + below(r, 64); break;	/* E2BIG or zero tail */
	case 3: size = UINT32_MAX; break;
	}
	if (size > 4 && size < sizeof(buf) - 64 && chance(r, 50))
		memset(buf + size, 0, 64);	/* extended, zero tail */
	memcpy(buf, &size, 4);
	switch (below(r, 30)) {
	case 0: arg = NULL; break;
	case 1: arg = pool.ro; memcpy(pool.mem, buf, 64); break;
	case 2: arg = (void *)0xdead0000UL; break;
	}
	return err(ioctl(fd, cmd, arg));
}

static long do_writev(struct rng *r)
{
	struct iovec iov[12];
	union {
		struct drvops_hfi_sdma_req req[3];
		struct drvops_hfi_legacy_send ls;
	} u;
	unsigned n = 0, nreq = chance(r, 80) ? 1 : below(r, 3) + 1, i, k;

	memset(&u, 0, sizeof(u));
	for (i = 0; i < nreq && n < 10; i++) {
		struct drvops_hfi_sdma_req *q = &u.req[i];
		unsigned niov = below(r, 3);
		size_t len;

		q->size = chance(r, 95) ? sizeof(*q) : (uint32_t)rnd(r);
		q->opcode = chance(r, 90) ? below(r, 2) + 1 : (uint8_t)rnd(r);
		q->slot = chance(r, 90) ? below(r, 128) : (uint16_t)rnd(r);
		q->dlid = chance(r, 90) ? below(r, 4) + 1 : (uint16_t)rnd(r);
		q->dctxt = below(r, 9);
		q->tid = below(r, 20);
		q->toffset = below(r, 2) * below(r, 8192);
		q->flags = chance(r, 97) ? 0 : (uint32_t)rnd(r);
		iov[n++] = (struct iovec){ q, chance(r, 95) ? sizeof(*q) :
					   below(r, 128) };
		q->length = 0;
		for (k = 0; k < niov && n < 12; k++) {
			uint64_t a = pick_addr(r, &len);

			len = below(r, 3) ? len % (64 << 10) : len;
			iov[n++] = (struct iovec){ (void *)a, len };
			q->length += len;
		}
		q->niov = chance(r, 95) ? niov : below(r, 12);
		if (chance(r, 5))
			q->length = rnd(r);
	}
	if (chance(r, 15)) {	/* the legacy format */
		u.ls.size = sizeof(u.ls);
		iov[0] = (struct iovec){ &u.ls, sizeof(u.ls) };
	}
	{
		int ufd, kind, fd = pick_ops(r, &ufd, &kind);

		return err(writev(fd >= 0 && chance(r, 85) ? fd : pick_fd(r),
				  iov, (int)n));
	}
}

static long do_read(struct rng *r)
{
	uint8_t buf[256];

	return err(read(pick_fd(r), chance(r, 95) ? (void *)buf : pool.ro,
			below(r, sizeof(buf) + 1)));
}

static long do_mmap(struct rng *r)
{
	static const size_t lens[] = { PAGE, 4 * PAGE, 1 << 20, 64 * PAGE };
	int prot = chance(r, 60) ? PROT_READ : PROT_READ | PROT_WRITE;
	off_t off = (off_t)below(r, 5) << 24;	/* HFI region offsets */
	size_t len = lens[below(r, 4)];
	unsigned k;
	void *p;

	if (chance(r, 10))
		off = (off_t)below(r, 64) * PAGE;
	p = mmap(NULL, len, prot, chance(r, 95) ? MAP_SHARED : MAP_PRIVATE,
		 pick_fd(r), off);
	if (p == MAP_FAILED)
		return -errno;
	k = below(r, SLOTS);
	pthread_mutex_lock(&pool.lock);
	if (pool.map[k].addr)
		munmap(pool.map[k].addr, pool.map[k].len);
	pool.map[k] = (struct mapping){ p, len };
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

static long do_munmap(struct rng *r)
{
	unsigned k = below(r, SLOTS);
	long ret = -EINVAL;

	/*
	 * Sometimes drop pages of the buffer pool instead: the pool stays
	 * mapped, but tids that follow their mapping over it go stale while
	 * transfers may be writing into them.
	 */
	if (chance(r, 25)) {
		unsigned first = below(r, POOL_PAGES);

		return err(madvise(pool.mem + (size_t)first * PAGE,
				   (below(r, POOL_PAGES - first) + 1) * PAGE,
				   MADV_DONTNEED));
	}
	pthread_mutex_lock(&pool.lock);
	if (pool.map[k].addr) {
		ret = err(munmap(pool.map[k].addr, pool.map[k].len));
		pool.map[k].addr = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	return ret;
}

static long do_mprotect(struct rng *r)
{
	unsigned k = below(r, SLOTS);
	long ret = -EINVAL;

	pthread_mutex_lock(&pool.lock);
	if (pool.map[k].addr)
		ret = err(mprotect(pool.map[k].addr, PAGE,
				   chance(r, 50) ? PROT_READ :
				   PROT_READ | PROT_WRITE));
	pthread_mutex_unlock(&pool.lock);
	return ret;
}

static __thread sigjmp_buf touch_jmp;
static __thread volatile int touching;

static void fault_handler(int sig)
{
	if (touching)
		siglongjmp(touch_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read or write a mapped page; a dead fd's pages give SIGBUS. */
static long do_touch(struct rng *r)
{
	unsigned k = below(r, SLOTS);
	volatile uint8_t *p;
	struct mapping m;
	volatile long ret = 0;

	/* Held across the access so nobody unmaps it meanwhile. */
	pthread_mutex_lock(&pool.lock);
	m = pool.map[k];
	if (!m.addr) {
		pthread_mutex_unlock(&pool.lock);
		return -EINVAL;
	}
	p = (volatile uint8_t *)m.addr + below(r, (unsigned)m.len);
	touching = 1;
	if (sigsetjmp(touch_jmp, 1)) {
		atomic_fetch_add(&sh->faults_caught, 1);
		ret = -EFAULT;
	} else if (chance(r, 70)) {
		(void)*p;
	} else {
		*p = (uint8_t)rnd(r);
	}
	touching = 0;
	pthread_mutex_unlock(&pool.lock);
	return ret;
}

static long do_poll(struct rng *r)
{
	struct pollfd p = { .fd = pick_fd(r), .events = POLLIN | POLLOUT };

	return err(poll(&p, 1, 0));
}

static long do_dup(struct rng *r)
{
	int fd = dup(pick_fd(r));

	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFL, O_NONBLOCK);	/* shares the file's flags anyway */
	fd = put_int(r, chance(r, 80) ? pool.ops : pool.uverbs, fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

static long do_close(struct rng *r)
{
	int fd = take_int(r, pool.ops);

	return fd < 0 ? -EBADF : err(close(fd));
}

/* The child may only close what it inherited: everything else EPERM. */
static long do_fork(struct rng *r)
{
	int fd = pick_fd(r), status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct drvops_info info = { .size = sizeof(info) };
		struct pollfd p = { .fd = fd, .events = POLLIN };

		(void)ioctl(fd, DRVOPS_IOCTL_GET_INFO, &info);
		(void)poll(&p, 1, 0);
		(void)mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
		(void)r;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECHILD;
}

/* Passes an fd to ourselves and uses what arrives. */
static long do_scm(struct rng *r)
{
	struct drvops_info info = { .size = sizeof(info) };
	int sv[2], got;
	long ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	ret = tl_send_fd(sv[0], pick_fd(r));
	if (!ret) {
		got = tl_recv_fd(sv[1]);
		if (got >= 0) {
			ret = err(ioctl(got, DRVOPS_IOCTL_GET_INFO, &info));
			close(got);
		} else {
			ret = got;
		}
	}
	close(sv[0]);
	close(sv[1]);
	return ret;
}

typedef long (*call_fn)(struct rng *r);

static const struct {
	enum call c;
	call_fn fn;
	unsigned weight;
} calls[] = {
	{ C_OPEN, do_open, 3 },		{ C_CLOSE_UVERBS, do_close_uverbs, 1 },
	{ C_GET_FD, do_get_fd, 8 },	{ C_QUERY, do_query, 2 },
	{ C_ALLOC_PD, do_alloc_pd, 2 },	{ C_REG_MR, do_reg_mr, 4 },
	{ C_CREATE_CQ, do_create_cq, 1 }, { C_DESTROY, do_destroy, 3 },
	{ C_BIND, do_bind, 6 },		{ C_UNBIND, do_unbind, 3 },
	{ C_IOCTL, do_ioctl, 30 },	{ C_WRITEV, do_writev, 12 },
	{ C_READ, do_read, 3 },		{ C_MMAP, do_mmap, 4 },
	{ C_MUNMAP, do_munmap, 2 },	{ C_MPROTECT, do_mprotect, 1 },
	{ C_TOUCH, do_touch, 5 },	{ C_POLL, do_poll, 4 },
	{ C_DUP, do_dup, 2 },		{ C_CLOSE, do_close, 3 },
	{ C_FORK, do_fork, 1 },		{ C_SCM, do_scm, 1 },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static unsigned total_weight(void)
{
	unsigned i, w = 0;

	for (i = 0; i < NCALLS; i++)
		w += calls[i].weight;
	return w;
}

/* ---- workers --------------------------------------------------------- */

struct thread_arg {
	uint64_t seed;
};

static void *worker_thread(void *p)
{
	struct thread_arg *a = p;
	struct rng r = { a->seed | 1 };
	unsigned tw = total_weight();

	/* Until the completed calls reach the target (checked every 64). */
	while (atomic_load(&sh->done) < atomic_load(&sh->target)) {
		for (int b = 0; b < 64; b++) {
			unsigned w = below(&r, tw), i = 0;

			while (w >= calls[i].weight)
				w -= calls[i++].weight;
			count(calls[i].c, calls[i].fn(&r));
		}
	}
	return NULL;
}

static int worker_main(uint64_t seed, unsigned nthreads)
{
	struct thread_arg args[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	struct sigaction sa = { .sa_handler = fault_handler };
	uint8_t *area;
	unsigned i;

	if (setgroups(0, NULL) || setgid(WORKER_UID) || setuid(WORKER_UID))
		return 90;
	prctl(PR_SET_DUMPABLE, 1);
	/*
	 * Die with the controller (the suite's timeout kills only it): set
	 * after setuid, which clears it; the controller may be gone already.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != controller)
		return 93;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&pool.lock, NULL);
	for (i = 0; i < SLOTS; i++)
		pool.uverbs[i] = pool.ops[i] = pool.ops_uverbs[i] = -1;
	for (i = 0; i < SLOTS; i++)
		pool.pd_uverbs[i] = pool.mr_uverbs[i] = -1;
	/*
	 * [guard][mem][guard x 8][ro][guard x 8]: lengths the fuzzer makes
	 * up may run past a buffer, into a guard (EFAULT), never into
	 * memory of ours such as the shared counters.
	 */
	area = mmap(NULL, (POOL_PAGES + 18) * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 91;
	pool.mem = area + PAGE;
	pool.ro = area + (POOL_PAGES + 9) * PAGE;
	if (mprotect(pool.mem, POOL_PAGES * PAGE, PROT_READ | PROT_WRITE) ||
	    mprotect(pool.ro, PAGE, PROT_READ))
		return 91;
	memset(pool.mem, 0x5a, POOL_PAGES * PAGE);
	for (i = 0; i < nthreads; i++) {
		args[i].seed = seed * 1000003ULL + i;
		if (pthread_create(&th[i], NULL, worker_thread, &args[i]))
			return 92;
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return 0;	/* exit closes and unmaps everything */
}

/* ---- the controller: workers, chaos, verdict ------------------------- */

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

static pid_t spawn(uint64_t seed, unsigned nthreads)
{
	pid_t pid;

	controller = getpid();
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(worker_main(seed, nthreads));
	return pid;
}

static void print_report(double secs)
{
	unsigned c, e;
	long total = atomic_load(&sh->done);

	printf("\n  %ld calls in %.1f s: %.0f calls/s; %ld SIGBUS/SIGSEGV caught\n",
	       total, secs, total / secs, atomic_load(&sh->faults_caught));
	printf("  %-22s %9s  errno histogram (count)\n", "call", "calls");
	for (c = 0; c < C_NR; c++) {
		long n = 0;

		for (e = 0; e <= MAX_ERRNO; e++)
			n += atomic_load(&sh->hist[c][e]);
		printf("  %-22s %9ld ", call_names[c], n);
		for (e = 0; e <= MAX_ERRNO; e++) {
			long k = atomic_load(&sh->hist[c][e]);

			if (!k)
				continue;
			if (e == 0)
				printf(" ok:%ld", k);
			else if (e == MAX_ERRNO)
				printf(" other:%ld", k);
			else
				printf(" %s:%ld", strerrorname_np((int)e) ?
				       strerrorname_np((int)e) : "?", k);
		}
		printf("\n");
	}
}

static void test_fuzz(void)
{
	unsigned long calls = env_ul("DRVOPS_FUZZ_CALLS", 300000);
	unsigned long seed = env_ul("DRVOPS_FUZZ_SEED", 1);
	unsigned nprocs = env_ul("DRVOPS_FUZZ_PROCS", 2);
	unsigned nthreads = env_ul("DRVOPS_FUZZ_THREADS", 3);
	unsigned chaos_ms = env_ul("DRVOPS_FUZZ_CHAOS_MS", 2000);
	unsigned long max_secs = env_ul("DRVOPS_FUZZ_SECS", 200);
	unsigned long spawned = 0, killed = 0, reloads = 0, bad_exits = 0;
	pid_t pids[MAX_PROCS];
	struct timespec t0, t1, last_chaos;
	struct tl_stats base, now;
	struct rng chaos = { seed * 7919 + 1 };
	unsigned i, alive;
	bool bounded = false;
	double secs;

	CU_ASSERT_FATAL(nprocs >= 1 && nprocs <= MAX_PROCS);
	CU_ASSERT_FATAL(nthreads >= 1 && nthreads <= MAX_THREADS);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(sh != MAP_FAILED);
	atomic_store(&sh->target, (long)calls);
	TL_ASSERT_OK(tl_read_stats(&base));
	printf("  seed %lu, %lu calls (at most %lu s), %u processes x %u threads, "
	       "chaos every %u ms\n", seed, calls, max_secs, nprocs, nthreads,
	       chaos_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	last_chaos = t0;
	for (i = 0; i < nprocs; i++)
		pids[i] = spawn(seed + 100 * spawned++, nthreads);
	for (alive = nprocs; alive;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			for (i = 0; i < nprocs; i++) {
				if (pids[i] != pid)
					continue;
				pids[i] = -1;
				if (WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGKILL) {
					/* ours: replace it while calls remain */
				} else if (!WIFEXITED(status) ||
					   WEXITSTATUS(status)) {
					bad_exits++;
					fprintf(stderr, "\n  worker %d: status %#x\n",
						pid, status);
				}
				if (atomic_load(&sh->done) <
				    atomic_load(&sh->target))
					pids[i] = spawn(seed + 100 * spawned++,
							nthreads);
				else
					alive--;
			}
			continue;
		}
		usleep(20 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!bounded && max_secs &&
		    t1.tv_sec - t0.tv_sec >= (time_t)max_secs &&
		    atomic_load(&sh->done) < atomic_load(&sh->target)) {
			/* The workers finish their rounds and leave. */
			bounded = true;
			atomic_store(&sh->target, 0);
		}
		if ((t1.tv_sec - last_chaos.tv_sec) * 1000 +
		    (t1.tv_nsec - last_chaos.tv_nsec) / 1000000 < chaos_ms ||
		    atomic_load(&sh->done) >= atomic_load(&sh->target))
			continue;
		last_chaos = t1;
		if (chance(&chaos, 50)) {
			i = below(&chaos, nprocs);
			if (pids[i] > 0 && !kill(pids[i], SIGKILL))
				killed++;
		} else {
			/* The drivers go away under their users, and come back. */
			static const char *const mods[][2] = {
				{ TL_GENERIC_MODULE, TL_GENERIC_PARAMS },
				{ "drvops_hfi", "num_units=3 legacy_units=1" },
			};
			unsigned m = below(&chaos, 2);

			if (!tl_unload_module(mods[m][0])) {
				CU_ASSERT(tl_reload_module(mods[m][0],
							   mods[m][1]) == 0);
				reloads++;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_report(secs);
	printf("  workers: %lu started, %lu killed (SIGKILL), %lu module reloads\n",
	       spawned, killed, reloads);
	if (bounded)
		printf("  stopped at the %lu s bound: %ld of %lu calls\n",
		       max_secs, atomic_load(&sh->done), calls);
	/* At the bound, still a slice worth the name. */
	CU_ASSERT(atomic_load(&sh->done) >=
		  (long)(bounded && calls > FUZZ_MIN_CALLS ? FUZZ_MIN_CALLS :
							     calls));
	CU_ASSERT(bad_exits == 0);
	/* Every worker is gone: nothing of theirs may be left. */
	base.files = base.live_files = base.bindings = 0;
	CU_ASSERT(tl_wait_stats(&base, 10000) == 0);
	TL_ASSERT_OK(tl_read_stats(&now));
	munmap(sh, sizeof(*sh));
}

static CU_TestInfo fuzz_tests[] = {
	{ "seeded fuzzing with chaos", test_fuzz },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "fuzz", NULL, NULL, NULL, NULL, fuzz_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_fuzz", suites);
}
