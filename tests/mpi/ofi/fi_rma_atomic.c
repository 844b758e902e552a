// SPDX-License-Identifier: GPL-2.0
/*
 * RMA and atomics through libfabric's psm2 provider (Debian's libfabric1,
 * which links libpsm2.so.2: ours, first in LD_LIBRARY_PATH). The provider
 * builds both on PSM2 active messages, and long transfers on tagged
 * messages. Two processes (fork), addresses and the target's MR key
 * exchanged through pipes:
 *   write   fi_write of 8 B .. 1 MiB into the target's registered buffer,
 *           read back with fi_read and compared
 *   atomic  fi_atomic SUM, fi_fetch_atomic SUM, fi_compare_atomic CSWAP on
 *           a uint64 of the target, with the values each must see
 * The target checks its buffer at the end too. Exit status 0 if all held;
 * one line per check (PASS/FAIL).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_atomic.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#define BUF_LEN (2u << 20)
#define ATOMIC_OFF (BUF_LEN - 64)
#define MR_KEY 0xc0ffee
#define TIMEOUT_S 60

struct side {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	struct fid_mr *mr;
	uint8_t *buf;
};

/* What the target tells the initiator. */
struct target_addr {
	char name[64];
	size_t namelen;
	uint64_t key;
	uint64_t base;		/* remote address of buf[0] */
};

static int failures;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
	fflush(stdout);
	if (!ok)
		failures++;
}

static int open_side(struct side *s)
{
	struct fi_info *hints = fi_allocinfo();
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_CONTEXT };
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	int r;

	if (!hints)
		return -FI_ENOMEM;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_MSG | FI_RMA | FI_ATOMIC;
	hints->mode = FI_CONTEXT;
	hints->fabric_attr->prov_name = strdup("psm2");
	r = fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, hints, &s->info);
	fi_freeinfo(hints);
	if (r)
		return r;
	r = fi_fabric(s->info->fabric_attr, &s->fabric, NULL);
	if (!r)
		r = fi_domain(s->fabric, s->info, &s->domain, NULL);
	if (!r)
		r = fi_cq_open(s->domain, &cq_attr, &s->cq, NULL);
	if (!r)
		r = fi_av_open(s->domain, &av_attr, &s->av, NULL);
	if (!r)
		r = fi_endpoint(s->domain, s->info, &s->ep, NULL);
	if (!r)
		r = fi_ep_bind(s->ep, &s->av->fid, 0);
	if (!r)
		r = fi_ep_bind(s->ep, &s->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!r)
		r = fi_enable(s->ep);
	if (r)
		return r;
	s->buf = aligned_alloc(4096, BUF_LEN);
	if (!s->buf)
		return -FI_ENOMEM;
	memset(s->buf, 0, BUF_LEN);
	return fi_mr_reg(s->domain, s->buf, BUF_LEN,
			 FI_REMOTE_READ | FI_REMOTE_WRITE | FI_READ | FI_WRITE,
			 0, MR_KEY, 0, &s->mr, NULL);
}

static void close_side(struct side *s)
{
	if (s->mr)
		fi_close(&s->mr->fid);
	if (s->ep)
		fi_close(&s->ep->fid);
	if (s->av)
		fi_close(&s->av->fid);
	if (s->cq)
		fi_close(&s->cq->fid);
	if (s->domain)
		fi_close(&s->domain->fid);
	if (s->fabric)
		fi_close(&s->fabric->fid);
	if (s->info)
		fi_freeinfo(s->info);
	free(s->buf);
}

/* The completion of the one operation in flight: 0 or -errno. */
static int wait_one(struct side *s)
{
	time_t end = time(NULL) + TIMEOUT_S;
	struct fi_cq_entry e;

	while (time(NULL) < end) {
		ssize_t n = fi_cq_read(s->cq, &e, 1);

		if (n == 1)
			return 0;
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry err = { 0 };

			fi_cq_readerr(s->cq, &err, 0);
			fprintf(stderr, "completion error: %s\n",
				fi_strerror(err.err));
			return -(int)err.err;
		}
		if (n != -FI_EAGAIN)
			return (int)n;
	}
	return -ETIMEDOUT;
}

/* Post, retrying while the provider says "not now"; then its completion. */
#define POST_WAIT(ok, call)						\
	do {								\
		ssize_t _r;						\
		time_t _end = time(NULL) + TIMEOUT_S;			\
		do {							\
			_r = (call);					\
			if (_r == -FI_EAGAIN)				\
				fi_cq_read(s->cq, NULL, 0);		\
		} while (_r == -FI_EAGAIN && time(NULL) < _end);	\
		(ok) = _r == 0 && wait_one(s) == 0;			\
	} while (0)

static uint8_t byte_at(size_t i, unsigned seed)
{
	return (uint8_t)(i * 29 + seed * 101 + (i >> 11));
}

static void initiator(struct side *s, const struct target_addr *t)
{
	static const size_t sizes[] = { 8, 4096, 65536, 200000, 1 << 20 };
	struct fi_context ctx;
	fi_addr_t peer;
	uint64_t op, result = 0, compare, swap;
	char what[96];
	uint8_t *src = s->buf, *dst = s->buf + (1 << 20);
	int ok;

	ok = fi_av_insert(s->av, t->name, 1, &peer, 0, NULL) == 1;
	check(ok, "fi_av_insert of the target");
	if (!ok)
		return;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		for (size_t j = 0; j < n; j++)
			src[j] = byte_at(j, i);
		int ok2;

		POST_WAIT(ok, fi_write(s->ep, src, n, fi_mr_desc(s->mr), peer,
				       t->base, t->key, &ctx));
		memset(dst, 0, n);
		POST_WAIT(ok2, fi_read(s->ep, dst, n, fi_mr_desc(s->mr), peer,
				       t->base, t->key, &ctx));
		ok = ok && ok2 && memcmp(src, dst, n) == 0;
		snprintf(what, sizeof(what), "fi_write then fi_read of %zu B",
			 n);
		check(ok, what);
	}

	op = 5;
	POST_WAIT(ok, fi_atomic(s->ep, &op, 1, NULL, peer,
				t->base + ATOMIC_OFF, t->key, FI_UINT64,
				FI_SUM, &ctx));
	check(ok, "fi_atomic SUM 5 (0 -> 5)");
	op = 7;
	POST_WAIT(ok, fi_fetch_atomic(s->ep, &op, 1, NULL, &result, NULL, peer,
				      t->base + ATOMIC_OFF, t->key, FI_UINT64,
				      FI_SUM, &ctx));
	ok = ok && result == 5;
	check(ok, "fi_fetch_atomic SUM 7 saw 5 (5 -> 12)");
	compare = 12;
	swap = 100;
	POST_WAIT(ok, fi_compare_atomic(s->ep, &swap, 1, NULL, &compare, NULL,
					&result, NULL, peer,
					t->base + ATOMIC_OFF, t->key,
					FI_UINT64, FI_CSWAP, &ctx));
	ok = ok && result == 12;
	check(ok, "fi_compare_atomic CSWAP 12 -> 100 saw 12");
	POST_WAIT(ok, fi_read(s->ep, &result, sizeof(result), NULL, peer,
			      t->base + ATOMIC_OFF, t->key, &ctx));
	ok = ok && result == 100;
	check(ok, "fi_read of the atomic: 100");
}

static int write_full(int fd, const void *p, size_t n)
{
	return write(fd, p, n) == (ssize_t)n ? 0 : -1;
}

static int read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The target: serve until the initiator says done, then check. */
static int target(int to_init, int from_init)
{
	struct side s = { 0 };
	struct target_addr t = { .namelen = sizeof(t.name) };
	uint64_t v = 0;
	char done;
	int r = open_side(&s);

	if (r) {
		fprintf(stderr, "target: %s\n", fi_strerror(-r));
		return 1;
	}
	fi_getname(&s.ep->fid, t.name, &t.namelen);
	t.key = fi_mr_key(s.mr);
	t.base = (s.info->domain_attr->mr_mode &
		  (FI_MR_VIRT_ADDR | FI_MR_BASIC)) ? (uintptr_t)s.buf : 0;
	if (write_full(to_init, &t, sizeof(t)))
		return 1;
	/* Progress while waiting (the provider also has its own thread). */
	for (;;) {
		fd_set rd;
		struct timeval tv = { 0, 1000 };

		FD_ZERO(&rd);
		FD_SET(from_init, &rd);
		fi_cq_read(s.cq, NULL, 0);
		if (select(from_init + 1, &rd, NULL, NULL, &tv) > 0)
			break;
	}
	if (read_full(from_init, &done, 1))
		return 1;
	memcpy(&v, s.buf + ATOMIC_OFF, sizeof(v));
	close_side(&s);
	return v == 100 ? 0 : 2;
}

int main(void)
{
	int to_init[2], to_target[2], status;
	struct target_addr t;
	struct side s = { 0 };
	pid_t pid;
	int r;

	if (pipe(to_init) || pipe(to_target))
		return 1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(target(to_init[1], to_target[0]));
	r = open_side(&s);
	check(r == 0, "fi_getinfo/fabric/domain/ep/mr on psm2");
	if (r) {
		fprintf(stderr, "initiator: %s\n", fi_strerror(-r));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	printf("provider %s, fabric %s, domain %s, mr_mode %#x\n",
	       s.info->fabric_attr->prov_name, s.info->fabric_attr->name,
	       s.info->domain_attr->name, s.info->domain_attr->mr_mode);
	if (read_full(to_init[0], &t, sizeof(t)) == 0)
		initiator(&s, &t);
	else
		check(0, "the target's address");
	write_full(to_target[1], "d", 1);
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the target saw 100 in its buffer and exited cleanly");
	close_side(&s);
	printf("%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
