// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * A native PSM2 program pair over psm-shim (linked statically with
 * libpsm2.a): rank 0 and rank 1 in two processes on two HFI units, epids
 * exchanged through pipes; psm2_init, ep_open, connect, mq_init; tagged
 * isend/irecv with data checks from 0 B to 16 MiB (eager and
 * rendezvous), iprobe/improbe/imrecv, cancel, close; both ranks sending
 * to each other at once (rendezvous crossing); an endpoint closed and
 * reopened on the same context is a new peer. The per-unit debugfs
 * counters show the traffic went through the driver. Every test runs
 * with PSM2_DEVICES=self,hfi (the fabric is what they are about) unless it
 * sets its own: self,shm, or Intel's default (unset): local peers through
 * shared memory, a peer without shm through the HFI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <psm2.h>
#include <psm2_am.h>
#include <psm2_mq.h>

#include "testlib.h"

#define CONNECT_TIMEOUT_NS (30ll * 1000 * 1000 * 1000)
#define TAG_DATA 0x1000u
#define TAG_PROBE 0x2000u
#define TAG_NEVER 0x3000u
#define TAG_DONE 0x4000u

static const uint32_t sizes[] = {
	0, 1, 8, 100, 4096, 8191, 8192, 8193, 65535, 65536, 65537,
	200000, 524288, 524289, 1 << 20, (3 << 20) + 7, 16 << 20,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Failures inside a rank (the child has no CUnit of its own). */
static int rank_failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "test_psm2[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	rank_failures++;
}

#define CHECK(cond, ...) \
	do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 12));
}

static psm2_mq_tag_t tag_of(uint32_t kind, uint32_t n)
{
	psm2_mq_tag_t t;

	memset(&t, 0, sizeof(t));
	t.tag0 = kind | n;
	t.tag1 = 0xfeed;
	t.tag2 = n * 3;
	return t;
}

static psm2_mq_tag_t all_bits(void)
{
	psm2_mq_tag_t t = { .tag = { ~0u, ~0u, ~0u, 0 } };

	return t;
}

struct rank {
	int me;
	int unit;
	psm2_ep_t ep;
	psm2_epid_t epid;
	psm2_mq_t mq;
	psm2_epaddr_t peer;
};

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* init, open, swap epids, connect, mq_init: 0 or -1. */
static int rank_start(struct rank *r, int wfd, int rfd,
		      const psm2_uuid_t uuid)
{
	struct psm2_ep_open_opts opts;
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	psm2_epid_t peer_epid;
	psm2_error_t perr, err;
	uint32_t units = 0;

	err = psm2_init(&major, &minor);
	CHECK(err == PSM2_OK, "psm2_init: %d", err);
	err = psm2_ep_num_devunits(&units);
	CHECK(err == PSM2_OK && units >= 3, "num_devunits %d: %u", err, units);
	psm2_ep_open_opts_get_defaults(&opts);
	opts.unit = r->unit;
	err = psm2_ep_open(uuid, &opts, &r->ep, &r->epid);
	CHECK(err == PSM2_OK, "ep_open unit %d: %s", r->unit,
	      psm2_error_get_string(err));
	if (err)
		return -1;
	CHECK(psm2_epid_context(r->epid) == (r->epid & 0xffff) &&
	      psm2_epid_nid(r->epid) != 0, "epid %#llx",
	      (unsigned long long)r->epid);
	if (write(wfd, &r->epid, sizeof(r->epid)) != sizeof(r->epid) ||
	    read_full(rfd, &peer_epid, sizeof(peer_epid)))
		return fail("epid exchange"), -1;
	err = psm2_ep_connect(r->ep, 1, &peer_epid, NULL, &perr, &r->peer,
			      CONNECT_TIMEOUT_NS);
	CHECK(err == PSM2_OK && perr == PSM2_OK && r->peer,
	      "connect: %d/%d", err, perr);
	if (err)
		return -1;
	/* epid_lookup finds the connection; the address knows its epid */
	{
		psm2_epconn_t conn;
		psm2_epid_t e = 0;

		CHECK(psm2_ep_epid_lookup2(r->ep, peer_epid, &conn) ==
		      PSM2_OK && conn.addr == r->peer, "epid_lookup2");
		CHECK(psm2_epaddr_to_epid(r->peer, &e) == PSM2_OK &&
		      e == peer_epid, "epaddr_to_epid");
	}
	err = psm2_mq_init(r->ep, PSM2_MQ_ORDERMASK_ALL, NULL, 0, &r->mq);
	CHECK(err == PSM2_OK, "mq_init: %d", err);
	return err ? -1 : 0;
}

static void rank_stop(struct rank *r)
{
	psm2_epaddr_t a[1] = { r->peer };
	psm2_error_t e[1];

	if (r->peer)
		CHECK(psm2_ep_disconnect2(r->ep, 1, a, NULL, e,
					  PSM2_EP_DISCONNECT_GRACEFUL,
					  CONNECT_TIMEOUT_NS) == PSM2_OK,
		      "disconnect");
	if (r->mq)
		CHECK(psm2_mq_finalize(r->mq) == PSM2_OK, "mq_finalize");
	if (r->ep)
		CHECK(psm2_ep_close(r->ep, PSM2_EP_CLOSE_GRACEFUL,
				    CONNECT_TIMEOUT_NS) == PSM2_OK, "ep_close");
	CHECK(psm2_finalize() == PSM2_OK, "finalize");
}

/* Rank 0: sends every size (all posted at once), then probe and cancel. */
static void rank0_body(struct rank *r, unsigned nsizes)
{
	psm2_mq_req_t req[NSIZES];
	uint8_t *buf[NSIZES];
	psm2_mq_status2_t st;
	psm2_mq_tag_t t, sel = all_bits();
	uint32_t probe_val = 0, never = 0;
	psm2_mq_req_t preq = NULL, creq;
	unsigned i;
	int spins;

	for (i = 0; i < nsizes; i++) {
		buf[i] = malloc(sizes[i] + 1);
		pattern(buf[i], sizes[i], i);
		t = tag_of(TAG_DATA, i);
		CHECK(psm2_mq_isend2(r->mq, r->peer, 0, &t, buf[i], sizes[i],
				     NULL, &req[i]) == PSM2_OK, "isend %u", i);
	}
	for (i = 0; i < nsizes; i++) {
		CHECK(psm2_mq_wait2(&req[i], &st) == PSM2_OK &&
		      st.error_code == PSM2_OK && st.nbytes == sizes[i],
		      "send %u B: %d, %u bytes", sizes[i], st.error_code,
		      st.nbytes);
		free(buf[i]);
	}

	/* rank 1 answers with one message: find it by probing */
	t = tag_of(TAG_PROBE, 0);
	for (spins = 0; spins < 10000000; spins++) {
		if (psm2_mq_iprobe2(r->mq, PSM2_MQ_ANY_ADDR, &t, &sel, &st) ==
		    PSM2_OK)
			break;
	}
	CHECK(st.msg_length == sizeof(probe_val) && st.msg_peer == r->peer,
	      "iprobe: %u bytes", st.msg_length);
	CHECK(psm2_mq_improbe2(r->mq, r->peer, &t, &sel, &preq, &st) ==
	      PSM2_OK, "improbe");
	/* a probed message is no longer visible to other probes */
	CHECK(psm2_mq_iprobe2(r->mq, PSM2_MQ_ANY_ADDR, &t, &sel, NULL) ==
	      PSM2_MQ_NO_COMPLETIONS, "iprobe after improbe");
	CHECK(psm2_mq_imrecv(r->mq, 0, &probe_val, sizeof(probe_val), NULL,
			     &preq) == PSM2_OK, "imrecv");
	CHECK(psm2_mq_wait2(&preq, &st) == PSM2_OK && probe_val == 0xc0ffee,
	      "imrecv data %#x", probe_val);

	/* a receive nobody sends to: cancel, then it completes */
	t = tag_of(TAG_NEVER, 0);
	CHECK(psm2_mq_irecv2(r->mq, PSM2_MQ_ANY_ADDR, &t, &sel, 0, &never,
			     sizeof(never), NULL, &creq) == PSM2_OK, "irecv");
	CHECK(psm2_mq_cancel(&creq) == PSM2_OK, "cancel");
	CHECK(psm2_mq_wait2(&creq, &st) == PSM2_OK && st.nbytes == 0,
	      "cancelled receive");

	/* tell rank 1 we are done (blocking send) */
	t = tag_of(TAG_DONE, 0);
	CHECK(psm2_mq_send2(r->mq, r->peer, 0, &t, &never, sizeof(never)) ==
	      PSM2_OK, "done send");
}

/* Rank 1: receives in reverse posting order (matching is by tag). */
static void rank1_body(struct rank *r, unsigned nsizes)
{
	psm2_mq_req_t req[NSIZES];
	uint8_t *buf[NSIZES], *want;
	psm2_mq_status2_t st;
	psm2_mq_tag_t t, sel = all_bits();
	uint32_t v = 0xc0ffee, done = 1;
	int i;

	for (i = (int)nsizes - 1; i >= 0; i--) {
		buf[i] = calloc(1, sizes[i] + 1);
		t = tag_of(TAG_DATA, (uint32_t)i);
		CHECK(psm2_mq_irecv2(r->mq, r->peer, &t, &sel, 0, buf[i],
				     sizes[i], NULL, &req[i]) == PSM2_OK,
		      "irecv %d", i);
	}
	for (i = 0; i < (int)nsizes; i++) {
		CHECK(psm2_mq_wait2(&req[i], &st) == PSM2_OK &&
		      st.error_code == PSM2_OK && st.nbytes == sizes[i] &&
		      st.msg_tag.tag2 == (uint32_t)i * 3,
		      "recv %u B: %d, %u bytes", sizes[i], st.error_code,
		      st.nbytes);
		want = malloc(sizes[i] + 1);
		pattern(want, sizes[i], (unsigned)i);
		CHECK(memcmp(want, buf[i], sizes[i]) == 0,
		      "data of %u B differs", sizes[i]);
		free(want);
		free(buf[i]);
	}
	t = tag_of(TAG_PROBE, 0);
	CHECK(psm2_mq_send2(r->mq, r->peer, 0, &t, &v, sizeof(v)) == PSM2_OK,
	      "probe send");
	t = tag_of(TAG_DONE, 0);
	CHECK(psm2_mq_irecv2(r->mq, r->peer, &t, &sel, 0, &done, sizeof(done),
			     NULL, &req[0]) == PSM2_OK &&
	      psm2_mq_wait2(&req[0], &st) == PSM2_OK && done == 0,
	      "done recv");
}

/*
 * Both ranks at once, as MPI codes do (mpi_ops' nonblocking part): per
 * size a receive from the peer, then a send to it, all posted before any
 * wait, sizes on both sides of the rendezvous threshold and a few MiB,
 * so that the two rendezvous directions overlap: RTS and CTS cross, a
 * rank registers its receive windows while its own expected sends are in
 * flight. Several rounds, as the timing differs each time.
 */
static const uint32_t exchange_sizes[] = {
	0, 100, 65536, 65537, 70000, 300000, 2u << 20, (3u << 20) + 5,
};
#define NEXCHANGE (sizeof(exchange_sizes) / sizeof(exchange_sizes[0]))
#define EXCHANGE_ROUNDS 4
#define TAG_EXCHANGE 0x5000u

static void exchange_body(struct rank *r)
{
	psm2_mq_req_t rreq[NEXCHANGE], sreq[NEXCHANGE];
	uint8_t *in[NEXCHANGE], *out[NEXCHANGE], *want;
	psm2_mq_tag_t t, sel = all_bits();
	psm2_mq_status2_t st;
	psm2_error_t err;
	unsigned round, i;

	for (round = 0; round < EXCHANGE_ROUNDS; round++) {
		for (i = 0; i < NEXCHANGE; i++) {
			uint32_t n = exchange_sizes[i];

			in[i] = calloc(1, n + 1);
			out[i] = malloc(n + 1);
			/* the seed says who sent it: a crossed buffer shows */
			pattern(out[i], n, 100 * (unsigned)r->me + i + round);
			t = tag_of(TAG_EXCHANGE, i);
			err = psm2_mq_irecv2(r->mq, r->peer, &t, &sel, 0, in[i],
					     n, NULL, &rreq[i]);
			CHECK(err == PSM2_OK, "exchange irecv %u B: %s", n,
			      psm2_error_get_string(err));
			err = psm2_mq_isend2(r->mq, r->peer, 0, &t, out[i], n,
					     NULL, &sreq[i]);
			CHECK(err == PSM2_OK, "exchange isend %u B: %s", n,
			      psm2_error_get_string(err));
		}
		for (i = 0; i < NEXCHANGE; i++) {
			uint32_t n = exchange_sizes[i];

			memset(&st, 0, sizeof(st));
			err = psm2_mq_wait2(&sreq[i], &st);
			CHECK(err == PSM2_OK && st.error_code == PSM2_OK,
			      "round %u: send %u B: %s / %s", round, n,
			      psm2_error_get_string(err),
			      psm2_error_get_string(st.error_code));
			memset(&st, 0, sizeof(st));
			err = psm2_mq_wait2(&rreq[i], &st);
			CHECK(err == PSM2_OK && st.error_code == PSM2_OK &&
			      st.nbytes == n,
			      "round %u: receive %u B: %s / %s, %u bytes", round,
			      n, psm2_error_get_string(err),
			      psm2_error_get_string(st.error_code), st.nbytes);
			want = malloc(n + 1);
			pattern(want, n, 100 * (unsigned)(1 - r->me) + i + round);
			CHECK(memcmp(want, in[i], n) == 0,
			      "round %u: data of %u B differs", round, n);
			free(want);
			free(in[i]);
			free(out[i]);
		}
	}
}

enum pair_mode { PAIR_ONE_WAY, PAIR_EXCHANGE };

static int rank_main(int me, int unit, int wfd, int rfd, unsigned nsizes,
		     enum pair_mode mode, const psm2_uuid_t uuid)
{
	struct rank r = { .me = me, .unit = unit };

	rank_failures = 0;
	if (rank_start(&r, wfd, rfd, uuid) == 0) {
		if (mode == PAIR_EXCHANGE)
			exchange_body(&r);
		else if (me == 0)
			rank0_body(&r, nsizes);
		else
			rank1_body(&r, nsizes);
	}
	rank_stop(&r);
	return rank_failures;
}

/* The ib_device of PSM2 unit n: the n-th offering the HFI, as the shim. */
static int unit_ibdev(unsigned n, char *name, size_t len)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int count = drvops_list_devices(devs, DRVOPS_MAX_DEVICES), i;

	for (i = 0; i < count; i++) {
		if (tl_device_offers(&devs[i], "sdma.opa") != 1 &&
		    tl_device_offers(&devs[i], "psm2.intel.com") != 1)
			continue;
		if (n-- == 0) {
			snprintf(name, len, "%s", devs[i].ibdev);
			return 0;
		}
	}
	return -ENODEV;
}

/* One counter of the unit's debugfs file, or -1. */
static long long unit_counter(unsigned unit, const char *what)
{
	char dev[64], path[160], key[64];
	long long v, found = -1;
	FILE *f;

	if (unit_ibdev(unit, dev, sizeof(dev)))
		return -1;
	snprintf(path, sizeof(path), "/sys/kernel/debug/drvops_hfi/%s/counters",
		 dev);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, what))
			found = v;
	fclose(f);
	return found;
}

/* Rank 0 here on unit0, rank 1 in a child on unit1; both must pass. */
static void pair_ranks(int unit0, int unit1, unsigned nsizes,
		       enum pair_mode mode)
{
	int to1[2], to0[2], status = 0, fails0;
	psm2_uuid_t uuid;
	pid_t pid;

	psm2_uuid_generate(uuid);
	CU_ASSERT_FATAL(pipe(to1) == 0 && pipe(to0) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(to1[1]);
		close(to0[0]);
		_exit(rank_main(1, unit1, to0[1], to1[0], nsizes, mode, uuid) ?
		      1 : 0);
	}
	close(to1[0]);
	close(to0[1]);
	fails0 = rank_main(0, unit0, to1[1], to0[0], nsizes, mode, uuid);
	close(to1[1]);
	close(to0[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_EQUAL(fails0, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Rank 0 (this process) on unit0, rank 1 (a child) on unit1. */
static void run_pair(int unit0, int unit1, unsigned nsizes,
		     enum pair_mode mode)
{
	long long rx0 = unit_counter((unsigned)unit1, "rx_bytes"), rx1;
	uint64_t total = 0;

	if (mode == PAIR_EXCHANGE)
		for (unsigned i = 0; i < NEXCHANGE; i++)
			total += (uint64_t)exchange_sizes[i] * EXCHANGE_ROUNDS;
	else
		for (unsigned i = 0; i < nsizes; i++)
			total += sizes[i];
	pair_ranks(unit0, unit1, nsizes, mode);

	/* It went through the driver: the receiving unit counted it all. */
	rx1 = unit_counter((unsigned)unit1, "rx_bytes");
	CU_ASSERT(rx0 >= 0 && rx1 >= 0);
	CU_ASSERT(rx1 - rx0 >= (long long)total);
	printf("\n    units %d->%d: %u messages, %llu payload bytes, unit %d "
	       "rx_bytes +%lld ", unit0, unit1,
	       mode == PAIR_EXCHANGE ? (unsigned)(NEXCHANGE * EXCHANGE_ROUNDS) :
				       nsizes,
	       (unsigned long long)total, unit1, rx1 - rx0);
}

/* One info_query about a unit (nargs as the query needs). */
static uint32_t query_unit(psm2_info_query_t q, uint32_t unit,
			   psm2_error_t *err)
{
	psm2_info_query_arg_t a[2] = { { .unit = unit }, { .port = 1 } };
	uint32_t v = 0xdeadbeef;

	*err = psm2_info_query(q, &v, q == PSM2_INFO_QUERY_UNIT_PORT_STATUS ?
				      2 : 1, a);
	return v;
}

static uint32_t free_contexts(uint32_t unit)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	psm2_error_t err;
	uint32_t n;

	psm2_init(&major, &minor);
	n = query_unit(PSM2_INFO_QUERY_NUM_FREE_CONTEXTS, unit, &err);
	psm2_finalize();
	return n;
}

/*
 * PSM2_DEVICES=self,shm (what Open MPI asks when all ranks are on one
 * node): the same pair, 0 B .. 16 MiB, through the shared-memory inboxes
 * and CMA, without taking a context and without a byte on the fabric.
 */
static void test_shm_pair(void)
{
	long long rx0 = unit_counter(0, "rx_bytes");
	long long rx1 = unit_counter(1, "rx_bytes");
	uint32_t free_before = free_contexts(1);

	CU_ASSERT_FATAL(setenv("PSM2_DEVICES", "self,shm", 1) == 0);
	pair_ranks(0, 1, NSIZES, PAIR_ONE_WAY);
	unsetenv("PSM2_DEVICES");
	/* No context taken, nothing on the fabric. */
	CU_ASSERT_EQUAL(free_contexts(1), free_before);
	CU_ASSERT_EQUAL(unit_counter(0, "rx_bytes"), rx0);
	CU_ASSERT_EQUAL(unit_counter(1, "rx_bytes"), rx1);
	printf("\n    0 B .. 16 MiB over shm, units' rx_bytes unchanged ");
}

static void test_two_current_units(void)
{
	run_pair(0, 1, NSIZES, PAIR_ONE_WAY);
}

static void test_two_way_exchange(void)
{
	run_pair(0, 1, 0, PAIR_EXCHANGE);
}

/*
 * A legacy unit (psm2.intel.com: no expected receive) talking to a
 * current one: rendezvous moves its payload in eager messages.
 */
static void test_legacy_unit_pair(void)
{
	uint32_t units = 0;
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	CU_ASSERT(psm2_ep_num_devunits(&units) == PSM2_OK);
	psm2_finalize();
	if (units < 3) {
		CU_FAIL("no third (legacy) unit");
		return;
	}
	/* up to 1 MiB: TCG is slow */
	run_pair(0, 2, NSIZES - 2, PAIR_ONE_WAY);
}

/* Connecting to an endpoint that does not exist: an error, no abort. */
static void test_connect_unreachable(void)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct psm2_ep_open_opts opts;
	psm2_uuid_t uuid;
	psm2_ep_t ep;
	psm2_epid_t epid, ghost;
	psm2_epaddr_t addr;
	psm2_error_t perr;

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_error_register_handler(NULL, PSM2_ERRHANDLER_NO_HANDLER);
	psm2_uuid_generate(uuid);
	psm2_ep_open_opts_get_defaults(&opts);
	opts.unit = 0;
	CU_ASSERT_FATAL(psm2_ep_open(uuid, &opts, &ep, &epid) == PSM2_OK);
	/* our own LID, a context nobody has */
	ghost = (epid & ~0xffffull) | 0x7777;
	CU_ASSERT_EQUAL(psm2_ep_connect(ep, 1, &ghost, NULL, &perr, &addr,
					CONNECT_TIMEOUT_NS),
			PSM2_EPID_UNREACHABLE);
	CU_ASSERT_EQUAL(perr, PSM2_EPID_UNREACHABLE);
	/* ourselves: reachable */
	CU_ASSERT_EQUAL(psm2_ep_connect(ep, 1, &epid, NULL, &perr, &addr,
					CONNECT_TIMEOUT_NS), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_ep_close(ep, PSM2_EP_CLOSE_GRACEFUL, 0), PSM2_OK);
	psm2_error_register_handler(NULL, PSM2_ERRHANDLER_DEFAULT);
	psm2_finalize();
}

/* ---- reopen: a new endpoint on an old context */

struct end {
	psm2_ep_t ep;
	psm2_epid_t epid;
	psm2_mq_t mq;
	psm2_epaddr_t peer;		/* the other end, as this one sees it */
};

static int end_open(struct end *e, int unit, const psm2_uuid_t uuid)
{
	struct psm2_ep_open_opts opts;

	psm2_ep_open_opts_get_defaults(&opts);
	opts.unit = unit;
	if (psm2_ep_open(uuid, &opts, &e->ep, &e->epid) != PSM2_OK ||
	    psm2_mq_init(e->ep, PSM2_MQ_ORDERMASK_ALL, NULL, 0, &e->mq) !=
	    PSM2_OK)
		return -1;
	return 0;
}

static int end_connect(struct end *e, const struct end *to)
{
	psm2_error_t perr;

	return psm2_ep_connect(e->ep, 1, &to->epid, NULL, &perr, &e->peer,
			       CONNECT_TIMEOUT_NS) == PSM2_OK ? 0 : -1;
}

/*
 * Until send s and receive r complete, polling ep1 and ep2 (or NULL);
 * bounded. True if both did; an unfinished receive is cancelled.
 */
static bool finish_both(psm2_mq_req_t *s, psm2_mq_req_t *r, psm2_ep_t ep1,
			psm2_ep_t ep2)
{
	psm2_mq_status2_t st;
	int done = 0;

	for (long i = 0; i < 5000000 && done != 3; i++) {
		if (!(done & 1) && psm2_mq_test2(s, &st) == PSM2_OK)
			done |= 1;
		if (!(done & 2) && psm2_mq_test2(r, &st) == PSM2_OK)
			done |= 2;
		if (done == 3)
			break;
		psm2_poll(ep1);
		if (ep2)
			psm2_poll(ep2);
	}
	if (!(done & 2))
		psm2_mq_cancel(r);
	return done == 3;
}

/* One 8-byte message from a to b (one process drives both): its value,
 * or ~0 if it never arrives. */
static uint64_t end_xfer(struct end *a, struct end *b, uint64_t v)
{
	psm2_mq_tag_t t = tag_of(TAG_DATA, 7), sel = all_bits();
	psm2_mq_req_t s, r;
	uint64_t got = ~0ull;

	if (psm2_mq_irecv2(b->mq, b->peer, &t, &sel, 0, &got, sizeof(got),
			   NULL, &r) != PSM2_OK ||
	    psm2_mq_isend2(a->mq, a->peer, 0, &t, &v, sizeof(v), NULL, &s) !=
	    PSM2_OK)
		return ~0ull;
	return finish_both(&s, &r, a->ep, b->ep) ? got : ~0ull;
}

/*
 * Close an endpoint, reopen it on the same unit: it gets the same context
 * back (the lowest free one) but another epid. Connected again, both
 * directions work although the old one had advanced the sequence numbers
 * the other end keeps for that context: without a generation in the epid
 * and on the wire, the new one's messages were dropped as duplicates.
 */
static void test_reopened_endpoint(void)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct end a = { 0 }, b = { 0 };
	psm2_epid_t old;
	psm2_uuid_t uuid;
	uint64_t i;

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_uuid_generate(uuid);
	CU_ASSERT_FATAL(end_open(&a, 0, uuid) == 0 && end_open(&b, 1, uuid) == 0);
	CU_ASSERT_FATAL(end_connect(&a, &b) == 0 && end_connect(&b, &a) == 0);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(end_xfer(&a, &b, i), i);
		CU_ASSERT_EQUAL(end_xfer(&b, &a, 100 + i), 100 + i);
	}
	old = b.epid;
	CU_ASSERT(psm2_mq_finalize(b.mq) == PSM2_OK);
	CU_ASSERT(psm2_ep_close(b.ep, PSM2_EP_CLOSE_GRACEFUL, 0) == PSM2_OK);
	CU_ASSERT_FATAL(end_open(&b, 1, uuid) == 0);
	printf("\n    epid %#llx reopened as %#llx ", (unsigned long long)old,
	       (unsigned long long)b.epid);
	CU_ASSERT(b.epid != old);
	CU_ASSERT(psm2_epid_context(b.epid) == psm2_epid_context(old) &&
		  psm2_epid_nid(b.epid) == psm2_epid_nid(old));
	CU_ASSERT_FATAL(end_connect(&a, &b) == 0 && end_connect(&b, &a) == 0);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(end_xfer(&b, &a, 200 + i), 200 + i);
		CU_ASSERT_EQUAL(end_xfer(&a, &b, 300 + i), 300 + i);
	}
	psm2_mq_finalize(a.mq);
	psm2_mq_finalize(b.mq);
	psm2_ep_close(a.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_ep_close(b.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_finalize();
}

/*
 * Every context of a unit taken: ep_open fails at once with
 * PSM2_EP_NO_RESOURCES (it used to retry until opts.timeout, past an
 * MPI's own connect timeout), and a context given back is usable.
 */
static void test_contexts_exhausted(void)
{
	enum { MAX_EPS = 64 };
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct psm2_ep_open_opts opts;
	psm2_ep_t eps[MAX_EPS], extra;
	psm2_epid_t epid;
	psm2_error_t err = PSM2_OK;
	struct timespec t0, t1;
	psm2_uuid_t uuid;
	long ms;
	int n = 0, i;

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_error_register_handler(NULL, PSM2_ERRHANDLER_NO_HANDLER);
	psm2_uuid_generate(uuid);
	psm2_ep_open_opts_get_defaults(&opts);
	opts.unit = 0;
	opts.timeout = 60ll * 1000 * 1000 * 1000;
	while (n < MAX_EPS) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = psm2_ep_open(uuid, &opts, &eps[n], &epid);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (err)
			break;
		n++;
	}
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("\n    %d contexts, then %s after %ld ms ", n,
	       psm2_error_get_string(err), ms);
	CU_ASSERT(n > 0 && n < MAX_EPS);
	CU_ASSERT_EQUAL(err, PSM2_EP_NO_RESOURCES);
	CU_ASSERT(ms < 10000);		/* not the 60 s timeout */
	if (n) {
		CU_ASSERT(psm2_ep_close(eps[--n], PSM2_EP_CLOSE_GRACEFUL, 0) ==
			  PSM2_OK);
		CU_ASSERT_EQUAL(psm2_ep_open(uuid, &opts, &extra, &epid),
				PSM2_OK);
		eps[n++] = extra;
	}
	for (i = 0; i < n; i++)
		psm2_ep_close(eps[i], PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_error_register_handler(NULL, PSM2_ERRHANDLER_DEFAULT);
	psm2_finalize();
}

/*
 * A rank restarted in a job: a process on unit 1 echoes what this one
 * sends, is killed with SIGKILL, and a new process takes the same context
 * (another epid) and echoes again. This process keeps its endpoint (and
 * its sequence numbers for that context) all along.
 */
#define TAG_ECHO 0x5000u

/* The echoing rank: epid out, ours in, then echo until killed. */
static int echo_rank(int wfd, int rfd, const psm2_uuid_t uuid)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	psm2_mq_tag_t t = tag_of(TAG_ECHO, 0), sel = all_bits();
	struct end me = { 0 }, peer = { 0 };

	if (psm2_init(&major, &minor) != PSM2_OK || end_open(&me, 1, uuid) ||
	    write(wfd, &me.epid, sizeof(me.epid)) != sizeof(me.epid) ||
	    read_full(rfd, &peer.epid, sizeof(peer.epid)) ||
	    end_connect(&me, &peer))
		return 1;
	for (;;) {
		psm2_mq_status2_t st;
		psm2_mq_req_t r;
		uint64_t v;

		if (psm2_mq_irecv2(me.mq, me.peer, &t, &sel, 0, &v, sizeof(v),
				   NULL, &r) != PSM2_OK ||
		    psm2_mq_wait2(&r, &st) != PSM2_OK)
			return 2;
		v++;
		if (psm2_mq_send2(me.mq, me.peer, 0, &t, &v, sizeof(v)) !=
		    PSM2_OK)
			return 3;
	}
}

/*
 * hfi_only: the rank has PSM2_DEVICES=self,hfi, no inbox in /dev/shm, as
 * a rank on another node looks to shm: it is reached through the HFI.
 */
static pid_t start_echo(const psm2_uuid_t uuid, psm2_epid_t *epid,
			psm2_epid_t mine, bool hfi_only)
{
	int to_parent[2], to_child[2];
	pid_t pid;

	if (pipe(to_parent) || pipe(to_child))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(to_parent[0]);
		close(to_child[1]);
		if (hfi_only)
			setenv("PSM2_DEVICES", "self,hfi", 1);
		_exit(echo_rank(to_parent[1], to_child[0], uuid));
	}
	close(to_parent[1]);
	close(to_child[0]);
	if (pid < 0 || read_full(to_parent[0], epid, sizeof(*epid)) ||
	    write(to_child[1], &mine, sizeof(mine)) != sizeof(mine))
		pid = -1;
	close(to_parent[0]);
	close(to_child[1]);
	return pid;
}

/* Send v to the echo rank, wait for v + 1: 0, or -1 if it never comes. */
static int echo_once(struct end *e, uint64_t v)
{
	psm2_mq_tag_t t = tag_of(TAG_ECHO, 0), sel = all_bits();
	psm2_mq_req_t s, r;
	uint64_t got = 0;

	if (psm2_mq_irecv2(e->mq, e->peer, &t, &sel, 0, &got, sizeof(got),
			   NULL, &r) != PSM2_OK ||
	    psm2_mq_isend2(e->mq, e->peer, 0, &t, &v, sizeof(v), NULL, &s) !=
	    PSM2_OK)
		return -1;
	return finish_both(&s, &r, e->ep, NULL) && got == v + 1 ? 0 : -1;
}

static void test_rank_restarted(void)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct end me = { 0 }, other = { 0 };
	psm2_epid_t first;
	psm2_uuid_t uuid;
	pid_t pid;
	int round, i;

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_uuid_generate(uuid);
	CU_ASSERT_FATAL(end_open(&me, 0, uuid) == 0);
	for (round = 0; round < 2; round++) {
		pid = start_echo(uuid, &other.epid, me.epid, false);
		CU_ASSERT_FATAL(pid > 0);
		if (round == 0)
			first = other.epid;
		else
			CU_ASSERT(other.epid != first &&
				  psm2_epid_context(other.epid) ==
				  psm2_epid_context(first) &&
				  psm2_epid_nid(other.epid) ==
				  psm2_epid_nid(first));
		CU_ASSERT_FATAL(end_connect(&me, &other) == 0);
		for (i = 0; i < 5; i++)
			CU_ASSERT_EQUAL(echo_once(&me, 100 * round + i), 0);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	printf("\n    rank on context %u killed and restarted: epid %#llx -> %#llx ",
	       (unsigned)psm2_epid_context(first), (unsigned long long)first,
	       (unsigned long long)other.epid);
	psm2_mq_finalize(me.mq);
	psm2_ep_close(me.ep, PSM2_EP_CLOSE_FORCE, 0);
	psm2_finalize();
}

/* len bytes from a to b (one process drives both), data checked. */
static bool end_xfer_len(struct end *a, struct end *b, uint32_t len,
			 unsigned seed)
{
	psm2_mq_tag_t t = tag_of(TAG_DATA, seed), sel = all_bits();
	uint8_t *tx = malloc(len + 1), *rx = calloc(1, len + 1);
	psm2_mq_req_t s, r;
	bool ok = false;

	if (!tx || !rx)
		goto out;
	pattern(tx, len, seed);
	if (psm2_mq_irecv2(b->mq, b->peer, &t, &sel, 0, rx, len, NULL, &r) !=
	    PSM2_OK ||
	    psm2_mq_isend2(a->mq, a->peer, 0, &t, tx, len, NULL, &s) !=
	    PSM2_OK)
		goto out;
	ok = finish_both(&s, &r, a->ep, b->ep) && !memcmp(tx, rx, len);
out:
	free(tx);
	free(rx);
	return ok;
}

/* len bytes from a to b into rx (b's own buffer), checked. */
static bool end_xfer_into(struct end *a, struct end *b, uint8_t *rx,
			  uint32_t len, unsigned seed)
{
	psm2_mq_tag_t t = tag_of(TAG_DATA, seed), sel = all_bits();
	uint8_t *tx = malloc(len);
	psm2_mq_req_t s, r;
	bool ok = false;

	if (!tx)
		return false;
	pattern(tx, len, seed);
	memset(rx, 0, len);
	if (psm2_mq_irecv2(b->mq, b->peer, &t, &sel, 0, rx, len, NULL, &r) ==
	    PSM2_OK &&
	    psm2_mq_isend2(a->mq, a->peer, 0, &t, tx, len, NULL, &s) == PSM2_OK)
		ok = finish_both(&s, &r, a->ep, b->ep) && !memcmp(tx, rx, len);
	free(tx);
	return ok;
}

static void *map_rw(void *at, size_t len)
{
	void *p = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS |
		       (at ? MAP_FIXED_NOREPLACE : 0), -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * The registration cache (sdma.opa 4 tids that follow their mapping):
 * the receive tid stays registered after a rendezvous receive (its pages
 * stay pinned) and serves the next receive into the buffer; once the
 * buffer is unmapped and the address mapped again, a receive there lands
 * in the new pages (a cache that kept the old tid wrote into the old
 * ones: this receive then saw zeros). PSM2_SHIM_TID_CACHE=0 keeps nothing.
 */
static void test_registration_cache(void)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	const uint32_t len = 1 << 20;
	struct end a = { 0 }, b = { 0 };
	long pinned0, pinned1;
	psm2_uuid_t uuid;
	uint8_t *rx, *again;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass)
			setenv("PSM2_SHIM_TID_CACHE", "0", 1);
		CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
		psm2_uuid_generate(uuid);
		CU_ASSERT_FATAL(end_open(&a, 0, uuid) == 0 &&
				end_open(&b, 1, uuid) == 0);
		CU_ASSERT_FATAL(end_connect(&a, &b) == 0 &&
				end_connect(&b, &a) == 0);
		rx = map_rw(NULL, len);
		CU_ASSERT_FATAL(rx != NULL);
		pinned0 = tl_vm_pinned_kb();
		CU_ASSERT(end_xfer_into(&a, &b, rx, len, 1));
		pinned1 = tl_vm_pinned_kb();
		CU_ASSERT(end_xfer_into(&a, &b, rx, len, 2));
		CU_ASSERT(tl_vm_pinned_kb() == pinned1);
		/* Kept pinned with the cache, given back without it. */
		CU_ASSERT(pass ? pinned1 == pinned0 :
				 pinned1 - pinned0 >= (long)(len >> 10));
		CU_ASSERT(munmap(rx, len) == 0);
		again = map_rw(rx, len);
		CU_ASSERT_FATAL(again == rx);
		CU_ASSERT(end_xfer_into(&a, &b, rx, len, 3));
		CU_ASSERT(end_xfer_into(&a, &b, rx, len, 4));
		munmap(rx, len);
		psm2_mq_finalize(a.mq);
		psm2_mq_finalize(b.mq);
		psm2_ep_close(a.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
		psm2_ep_close(b.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
		psm2_finalize();
	}
	unsetenv("PSM2_SHIM_TID_CACHE");
}

/*
 * Intel's default devices (PSM2_DEVICES unset: self,shm,hfi), as libfabric's
 * psm2 provider runs: two endpoints of this node reach each other through
 * shared memory (nothing on the fabric, though each holds a context), a
 * rank without shm (as one on another node looks) through the HFI, both
 * from one endpoint and one MQ, interleaved. Ranks on really separate
 * /dev/shm: tests/mpi/mpi_nodes.sh (needs root for the mount namespace).
 */
static void test_default_devices(void)
{
	static const uint32_t lens[] = { 0, 8, 15999, 16001, 65537, 1 << 20,
					 (3 << 20) + 1 };
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct end a = { 0 }, b = { 0 }, far = { 0 }, far_a = { 0 };
	long long rx0, rx1, d0, d1;
	uint64_t local = 0;
	psm2_uuid_t uuid;
	int shared = -1;
	unsigned i;
	pid_t pid;

	unsetenv("PSM2_DEVICES");
	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_uuid_generate(uuid);
	CU_ASSERT_FATAL(end_open(&a, 0, uuid) == 0 && end_open(&b, 1, uuid) == 0);
	CU_ASSERT(psm2_ep_epid_share_memory(a.ep, b.epid, &shared) == PSM2_OK &&
		  shared == 1);
	CU_ASSERT_FATAL(end_connect(&a, &b) == 0 && end_connect(&b, &a) == 0);
	rx0 = unit_counter(0, "rx_bytes");
	rx1 = unit_counter(1, "rx_bytes");
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		CU_ASSERT(end_xfer_len(&a, &b, lens[i], i));
		CU_ASSERT(end_xfer_len(&b, &a, lens[i], 50 + i));
		local += 2ull * lens[i];
	}
	CU_ASSERT_EQUAL(unit_counter(0, "rx_bytes"), rx0);
	CU_ASSERT_EQUAL(unit_counter(1, "rx_bytes"), rx1);

	/* A rank without shm, on unit 1: through the HFI. */
	pid = start_echo(uuid, &far.epid, a.epid, true);
	CU_ASSERT_FATAL(pid > 0);
	shared = -1;
	CU_ASSERT(psm2_ep_epid_share_memory(a.ep, far.epid, &shared) ==
		  PSM2_OK && shared == 0);
	far_a = a;
	CU_ASSERT_FATAL(end_connect(&far_a, &far) == 0);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(echo_once(&far_a, 10 * i), 0);
		CU_ASSERT(end_xfer_len(&a, &b, 20000, 90 + i));
		local += 20000;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	d0 = unit_counter(0, "rx_bytes") - rx0;
	d1 = unit_counter(1, "rx_bytes") - rx1;
	/* 5 echoes of 8 B each way, and nothing of the local traffic. */
	CU_ASSERT(d0 >= 40 && d0 < 20000);
	CU_ASSERT(d1 >= 40 && d1 < 20000);
	printf("\n    %llu bytes between local endpoints by shm (units' rx_bytes +0), the rank without shm by the HFI: rx_bytes +%lld/+%lld ",
	       (unsigned long long)local, d0, d1);
	psm2_mq_finalize(a.mq);
	psm2_mq_finalize(b.mq);
	psm2_ep_close(a.ep, PSM2_EP_CLOSE_FORCE, 0);
	psm2_ep_close(b.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_finalize();
}

/* ---- info_query and active messages, as libfabric's psm2 provider */

static void test_info_query(void)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	psm2_info_query_arg_t a[3];
	struct end e = { 0 };
	psm2_uuid_t uuid;
	psm2_error_t err;
	uint32_t units = 0, free0, v;
	char name[32];

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	CU_ASSERT_EQUAL(psm2_info_query(PSM2_INFO_QUERY_NUM_UNITS, &units, 0,
					NULL), PSM2_OK);
	CU_ASSERT_EQUAL(units, 3);
	for (uint32_t u = 0; u < units; u++) {
		CU_ASSERT_EQUAL(query_unit(PSM2_INFO_QUERY_UNIT_STATUS, u, &err), 1);
		CU_ASSERT_EQUAL(err, PSM2_OK);
		CU_ASSERT_EQUAL(query_unit(PSM2_INFO_QUERY_UNIT_PORT_STATUS, u,
					   &err), 1);
		CU_ASSERT_EQUAL(query_unit(PSM2_INFO_QUERY_NUM_CONTEXTS, u, &err),
				8);
		CU_ASSERT(query_unit(PSM2_INFO_QUERY_NUM_FREE_CONTEXTS, u,
				     &err) <= 8 && err == PSM2_OK);
	}
	query_unit(PSM2_INFO_QUERY_UNIT_STATUS, units, &err);
	CU_ASSERT_EQUAL(err, PSM2_PARAM_ERR);
	CU_ASSERT_EQUAL(psm2_info_query(PSM2_INFO_QUERY_NUM_CONTEXTS, &v, 0,
					NULL), PSM2_PARAM_ERR);
	CU_ASSERT_EQUAL(psm2_info_query(PSM2_INFO_QUERY_LAST, &v, 0, NULL),
			PSM2_IQ_INVALID_QUERY);

	/* An endpoint takes a context: one fewer free. */
	free0 = query_unit(PSM2_INFO_QUERY_NUM_FREE_CONTEXTS, 0, &err);
	psm2_uuid_generate(uuid);
	CU_ASSERT_FATAL(end_open(&e, 0, uuid) == 0);
	CU_ASSERT_EQUAL(query_unit(PSM2_INFO_QUERY_NUM_FREE_CONTEXTS, 0, &err),
			free0 - 1);
	a[0].mq = e.mq;
	a[1].epaddr = NULL;
	a[2].length = sizeof(name);
	CU_ASSERT_EQUAL(psm2_info_query(PSM2_INFO_QUERY_DEVICE_NAME, name, 3, a),
			PSM2_OK);
	CU_ASSERT(strncmp(name, "hfi", 3) == 0);
	CU_ASSERT_EQUAL(psm2_info_query(PSM2_INFO_QUERY_MTU, &v, 2, a), PSM2_OK);
	CU_ASSERT_EQUAL(v, 8192);
	psm2_mq_finalize(e.mq);
	psm2_ep_close(e.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	CU_ASSERT_EQUAL(query_unit(PSM2_INFO_QUERY_NUM_FREE_CONTEXTS, 0, &err),
			free0);
	psm2_finalize();
}

struct am_seen {
	int requests, replies, bad;
	uint8_t data[1 << 16];
	uint32_t len;
	uint64_t arg;
	psm2_epaddr_t expect_src;
};

static int am_on_request(psm2_am_token_t token, psm2_amarg_t *args,
			 int nargs, void *src, uint32_t len, void *hctx)
{
	struct am_seen *me = hctx;
	psm2_epaddr_t from;
	psm2_amarg_t rep = { .u64 = args[0].u64 * 2 };

	me->requests++;
	/* The source: one address for every request of that sender. */
	if (nargs != 5 || args[4].u32w1 != 77 ||
	    psm2_am_get_source(token, &from) != PSM2_OK || !from ||
	    (me->expect_src && from != me->expect_src))
		me->bad++;
	me->expect_src = from;
	/* Echo the payload back from inside the handler. */
	if (psm2_am_reply_short(token, 1, &rep, 1, src, len, 0, NULL, NULL))
		me->bad++;
	return 0;
}

static int am_on_reply(psm2_am_token_t token, psm2_amarg_t *args, int nargs,
		       void *src, uint32_t len, void *hctx)
{
	struct am_seen *me = hctx;

	(void)token;
	me->replies++;
	if (nargs != 1 || len > sizeof(me->data)) {
		me->bad++;
		return 0;
	}
	me->arg = args[0].u64;
	me->len = len;
	memcpy(me->data, src, len);
	return 0;
}

/* Request (5 arguments, payload up to max_request_short) and its reply
 * between two units, handlers run by psm2_poll. */
static void test_active_messages(void)
{
	static const psm2_am_handler_2_fn_t h[2] = { am_on_request,
						      am_on_reply };
	static struct am_seen seen_a, seen_b;
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	void *ctx_a[2] = { &seen_a, &seen_a }, *ctx_b[2] = { &seen_b, &seen_b };
	struct psm2_am_parameters p;
	struct end a = { 0 }, b = { 0 };
	static uint8_t payload[1 << 16];
	psm2_uuid_t uuid;
	size_t psize;
	int idx[2];
	uint32_t sizes[3] = { 0, 100, 0 };

	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_uuid_generate(uuid);
	CU_ASSERT_FATAL(end_open(&a, 0, uuid) == 0 && end_open(&b, 1, uuid) == 0);
	CU_ASSERT_FATAL(end_connect(&a, &b) == 0);
	CU_ASSERT_EQUAL(psm2_am_register_handlers_2(a.ep, h, 2, ctx_a, idx),
			PSM2_OK);
	CU_ASSERT(idx[0] == 0 && idx[1] == 1);
	CU_ASSERT_EQUAL(psm2_am_register_handlers_2(b.ep, h, 2, ctx_b, idx),
			PSM2_OK);
	CU_ASSERT(idx[0] == 0 && idx[1] == 1);
	CU_ASSERT_EQUAL(psm2_am_get_parameters(a.ep, &p, sizeof(p), &psize),
			PSM2_OK);
	CU_ASSERT(psize == sizeof(p) && p.max_nargs >= 5 &&
		  p.max_request_short >= 4096 &&
		  p.max_reply_short >= p.max_request_short);
	sizes[2] = p.max_request_short < sizeof(payload) ?
		   p.max_request_short : sizeof(payload);
	memset(&seen_a, 0, sizeof(seen_a));
	memset(&seen_b, 0, sizeof(seen_b));
	/* B never connected to A: its reply goes to the source it saw. */
	for (unsigned i = 0; i < 3; i++) {
		psm2_amarg_t args[5] = { { .u64 = 1000 + i } };
		long spins;

		args[4].u32w1 = 77;
		pattern(payload, sizes[i], i);
		CU_ASSERT_EQUAL(psm2_am_request_short(a.peer, 0, args, 5, payload,
						      sizes[i], PSM2_AM_FLAG_ASYNC,
						      NULL, NULL), PSM2_OK);
		for (spins = 0; spins < 2000000 && seen_a.replies <= (int)i;
		     spins++) {
			psm2_poll(b.ep);
			psm2_poll(a.ep);
		}
		CU_ASSERT_EQUAL(seen_a.replies, (int)i + 1);
		CU_ASSERT_EQUAL(seen_a.arg, 2 * (1000 + i));
		CU_ASSERT_EQUAL(seen_a.len, sizes[i]);
		CU_ASSERT(memcmp(seen_a.data, payload, sizes[i]) == 0);
	}
	CU_ASSERT_EQUAL(seen_b.requests, 3);
	CU_ASSERT_EQUAL(seen_a.bad + seen_b.bad, 0);
	{
		psm2_epid_t src = 0;

		CU_ASSERT(psm2_epaddr_to_epid(seen_b.expect_src, &src) ==
			  PSM2_OK &&
			  psm2_epid_context(src) == psm2_epid_context(a.epid) &&
			  psm2_epid_nid(src) == psm2_epid_nid(a.epid));
	}
	printf("\n    3 requests and replies, up to %u bytes, %d bad ", sizes[2],
	       seen_a.bad + seen_b.bad);
	psm2_mq_finalize(a.mq);
	psm2_mq_finalize(b.mq);
	psm2_ep_close(a.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_ep_close(b.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_finalize();
}

struct late_send {
	struct end *from;
	unsigned delay_ms;
	uint64_t value;
	psm2_error_t err;
};

static void *send_late(void *arg)
{
	struct late_send *l = arg;
	struct timespec d = { l->delay_ms / 1000,
			      (long)(l->delay_ms % 1000) * 1000000L };
	psm2_mq_tag_t t = tag_of(TAG_DATA, 77);

	nanosleep(&d, NULL);
	l->err = psm2_mq_send2(l->from->mq, l->from->peer, 0, &t, &l->value,
			       sizeof(l->value));
	return NULL;
}

struct wait_cost {
	long nvcsw;		/* the waiting thread's voluntary switches */
	double cpu_ms;		/* and its CPU time, during the wait */
};

static double tv_ms(const struct timeval *tv)
{
	return tv->tv_sec * 1e3 + tv->tv_usec / 1e3;
}

/*
 * psm2_mq_wait2 for an 8 B message another thread sends delay_ms later,
 * PSM2_SHIM_SPIN_US as spin (NULL: the default); what the wait cost.
 */
static struct wait_cost wait_for_late_send(const char *spin,
					   unsigned delay_ms)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct late_send l = { .delay_ms = delay_ms,
			       .value = 0x5eed0000u + delay_ms };
	psm2_mq_tag_t t = tag_of(TAG_DATA, 77), sel = all_bits();
	struct wait_cost c = { -1, -1 };
	struct end a = { 0 }, b = { 0 };
	struct rusage r0, r1;
	psm2_mq_status2_t st;
	psm2_mq_req_t req;
	uint64_t got = 0;
	psm2_uuid_t uuid;
	pthread_t th;

	if (spin) {
		CU_ASSERT_FATAL(setenv("PSM2_SHIM_SPIN_US", spin, 1) == 0);
	} else {
		unsetenv("PSM2_SHIM_SPIN_US");
	}
	CU_ASSERT_FATAL(psm2_init(&major, &minor) == PSM2_OK);
	psm2_uuid_generate(uuid);
	/* The MQs read the variable at psm2_mq_init. */
	CU_ASSERT_FATAL(end_open(&a, 0, uuid) == 0 && end_open(&b, 1, uuid) == 0);
	unsetenv("PSM2_SHIM_SPIN_US");
	CU_ASSERT_FATAL(end_connect(&a, &b) == 0 && end_connect(&b, &a) == 0);
	CU_ASSERT_FATAL(psm2_mq_irecv2(a.mq, PSM2_MQ_ANY_ADDR, &t, &sel, 0,
				       &got, sizeof(got), NULL, &req) ==
			PSM2_OK);
	l.from = &b;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, send_late, &l) == 0);
	getrusage(RUSAGE_THREAD, &r0);
	CU_ASSERT_EQUAL(psm2_mq_wait2(&req, &st), PSM2_OK);
	getrusage(RUSAGE_THREAD, &r1);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(l.err, PSM2_OK);
	CU_ASSERT(st.error_code == PSM2_OK && st.nbytes == sizeof(got) &&
		  got == l.value);
	c.nvcsw = r1.ru_nvcsw - r0.ru_nvcsw;
	c.cpu_ms = tv_ms(&r1.ru_utime) + tv_ms(&r1.ru_stime) -
		   tv_ms(&r0.ru_utime) - tv_ms(&r0.ru_stime);
	psm2_mq_finalize(a.mq);
	psm2_mq_finalize(b.mq);
	psm2_ep_close(a.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_ep_close(b.ep, PSM2_EP_CLOSE_GRACEFUL, 0);
	psm2_finalize();
	return c;
}

/*
 * A blocking wait polls for PSM2_SHIM_SPIN_US after the last progress,
 * then sleeps on the device: a reply that comes soon is caught without a
 * wake-up, an idle wait costs no CPU. Told by the waiting thread's
 * voluntary context switches (a sleep is one) and CPU time.
 */
static void test_wait_spins_then_sleeps(void)
{
	struct wait_cost spin0, spin_long, dflt;

	/* 0: sleeps at once (it used to, always). */
	spin0 = wait_for_late_send("0", 50);
	CU_ASSERT(spin0.nvcsw >= 1);
	CU_ASSERT(spin0.cpu_ms >= 0 && spin0.cpu_ms < 25);
	/* A spin longer than the wait: never sleeps. */
	spin_long = wait_for_late_send("10000000", 50);
	CU_ASSERT_EQUAL(spin_long.nvcsw, 0);
	/* The default (100 us) against a 200 ms wait: spins, then sleeps. */
	dflt = wait_for_late_send(NULL, 200);
	CU_ASSERT(dflt.nvcsw >= 1);
	CU_ASSERT(dflt.cpu_ms >= 0 && dflt.cpu_ms < 100);
	printf("\n    50 ms wait: spin 0 %ld sleeps %.1f ms CPU, spin 10 s %ld "
	       "sleeps %.1f ms CPU; 200 ms wait, default: %ld sleeps %.1f ms CPU ",
	       spin0.nvcsw, spin0.cpu_ms, spin_long.nvcsw, spin_long.cpu_ms,
	       dflt.nvcsw, dflt.cpu_ms);
}

/* Before each test: the fabric's devices, whatever the last one set. */
static void devices_hfi(void)
{
	setenv("PSM2_DEVICES", "self,hfi", 1);
}

static CU_TestInfo psm2_tests[] = {
	{ "rank pair on two current units, 0 B .. 16 MiB",
	  test_two_current_units },
	{ "rank pair, both ways at once, around the rendezvous threshold",
	  test_two_way_exchange },
	{ "rank pair legacy unit <-> current unit", test_legacy_unit_pair },
	{ "connect to a missing endpoint", test_connect_unreachable },
	{ "reopened endpoint on the same context is a new peer",
	  test_reopened_endpoint },
	{ "a rank killed and restarted on its context", test_rank_restarted },
	{ "PSM2_DEVICES=self,shm: a pair without the HFI", test_shm_pair },
	{ "default devices: local peer by shm, one without shm by the HFI",
	  test_default_devices },
	{ "every context taken: ep_open fails at once",
	  test_contexts_exhausted },
	{ "info_query: units, status, contexts, device", test_info_query },
	{ "active messages: request, reply from the handler",
	  test_active_messages },
	{ "registration cache: kept, and a new mapping at the same address",
	  test_registration_cache },
	{ "blocking wait: polls PSM2_SHIM_SPIN_US, then sleeps",
	  test_wait_spins_then_sleeps },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "psm2 over psm-shim", NULL, NULL, devices_hfi, NULL, psm2_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_psm2", suites);
}
