// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The emulated HFI, end to end across two units: name/version fallback,
 * eager messages (split into packets, reassembled), expected receive into
 * a registered buffer and into a bound MR, the legacy ABI talking to a
 * current unit, job-key isolation, counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl_hfi.h"

#define TIMEOUT_MS 10000

static uint8_t *pattern_buf(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t i;

	for (i = 0; p && i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
	return p;
}

static void make_hdr(uint8_t hdr[DRVOPS_HFI_HDR_BYTES], uint32_t tag)
{
	memset(hdr, 0, DRVOPS_HFI_HDR_BYTES);
	memcpy(hdr, &tag, sizeof(tag));
	memcpy(hdr + DRVOPS_HFI_HDR_BYTES - 4, "DRVO", 4);
}

/* Receive one eager message into out (len bytes expected); 0 or -errno. */
static int recv_eager(struct drvops_hfi_ctx *rx, uint8_t *out, size_t len,
		      const struct drvops_hfi_ctx *tx, uint32_t tag)
{
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	size_t got = 0;

	make_hdr(hdr, tag);
	for (;;) {
		const volatile struct drvops_hfi_rhq_entry *e;
		int ret = tl_hfi_recv(rx, &e, TIMEOUT_MS);

		if (ret)
			return ret;
		if (!(e->flags & DRVOPS_HFI_RHQ_EAGER) ||
		    e->src_lid != tx->info.lid || e->src_ctxt != tx->info.ctxt ||
		    e->msg_length != len || e->offset != got ||
		    memcmp((const void *)e->hdr, hdr, sizeof(hdr)))
			return -EBADMSG;
		if (e->length)
			memcpy(out + got, drvops_hfi_eager_payload(rx, e),
			       e->length);
		got += e->length;
		ret = e->flags & DRVOPS_HFI_RHQ_LAST;
		drvops_hfi_consume(rx, e);
		if (ret)
			return got == len ? 0 : -EBADMSG;
	}
}

struct pair {
	struct drvops_hfi_ctx a, b;	/* a on unit 0, b on unit 1 */
};

static int pair_open(struct pair *p, const uint8_t *key_b)
{
	int ret = tl_hfi_open(&p->a, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0);

	if (ret)
		return ret;
	ret = tl_hfi_open(&p->b, TL_HFI_CURRENT, 1, key_b, 0);
	if (ret)
		tl_hfi_close(&p->a);
	return ret;
}

static void pair_close(struct pair *p)
{
	tl_hfi_close(&p->a);
	tl_hfi_close(&p->b);
}

static int send_eager(struct drvops_hfi_ctx *tx, struct drvops_hfi_ctx *rx,
		      const void *buf, size_t len, uint32_t tag)
{
	struct iovec iov = { (void *)buf, len };
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	int slot;

	make_hdr(hdr, tag);
	slot = drvops_hfi_send(tx, DRVOPS_HFI_OP_EAGER, (uint16_t)rx->info.lid,
			       (uint16_t)rx->info.ctxt, 0, 0, hdr, &iov,
			       len ? 1 : 0);
	return slot < 0 ? slot : drvops_hfi_wait_slot(tx, slot);
}

static void test_fallback_current_and_legacy(void)
{
	struct drvops_hfi_ctx cur, cur1, old;

	TL_ASSERT_OK(tl_hfi_open(&cur, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	CU_ASSERT(!cur.legacy && cur.version == 4);
	TL_ASSERT_OK(tl_hfi_open(&cur1, TL_HFI_CURRENT, 0, tl_hfi_job_a, 1));
	CU_ASSERT(!cur1.legacy && cur1.version == 1);
	TL_ASSERT_OK(tl_hfi_open(&old, TL_HFI_LEGACY, 0, tl_hfi_job_a, 0));
	CU_ASSERT(old.legacy && old.version == 1);
	/* Contexts of one unit are distinct. */
	CU_ASSERT(cur.info.ctxt != cur1.info.ctxt);
	CU_ASSERT(cur.info.lid == cur1.info.lid && old.info.lid != cur.info.lid);
	tl_hfi_close(&cur);
	tl_hfi_close(&cur1);
	tl_hfi_close(&old);
}

static void test_eager_sizes_across_units(void)
{
	struct pair p;
	size_t sizes[] = { 0, 1, 100, 8191, 8192, 8193, 100000, 0 };
	unsigned i;

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	sizes[7] = p.a.info.eager_max;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *src = pattern_buf(sizes[i], i), *dst = calloc(1, sizes[i] + 1);

		CU_ASSERT_FATAL(src && dst);
		TL_ASSERT_OK(send_eager(&p.a, &p.b, src, sizes[i], i));
		TL_ASSERT_OK(recv_eager(&p.b, dst, sizes[i], &p.a, i));
		CU_ASSERT(memcmp(src, dst, sizes[i]) == 0);
		free(src);
		free(dst);
	}
	/* Above eager_max: refused up front. */
	{
		size_t big = p.a.info.eager_max + 1;
		uint8_t *src = pattern_buf(big, 1);
		struct iovec iov = { src, big };

		TL_ASSERT_ERR(drvops_hfi_send(&p.a, DRVOPS_HFI_OP_EAGER,
					      (uint16_t)p.b.info.lid,
					      (uint16_t)p.b.info.ctxt, 0, 0,
					      NULL, &iov, 1), EMSGSIZE);
		free(src);
	}
	pair_close(&p);
}

static void test_expected_into_registered_buffer(void)
{
	const size_t len = 4 << 20, off = 4096 + 17, n = 1 << 20;
	uint8_t *src, *dst;
	const volatile struct drvops_hfi_rhq_entry *e;
	struct iovec iov;
	struct pair p;
	uint32_t tid;
	int slot;

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	src = pattern_buf(n, 7);
	dst = calloc(1, len);
	CU_ASSERT_FATAL(src && dst);
	TL_ASSERT_OK(drvops_hfi_tid_register(&p.b, dst, len, &tid));

	iov = (struct iovec){ src, n };
	slot = drvops_hfi_send(&p.a, DRVOPS_HFI_OP_EXPECTED,
			       (uint16_t)p.b.info.lid, (uint16_t)p.b.info.ctxt,
			       tid, off, NULL, &iov, 1);
	TL_ASSERT_OK(slot);
	TL_ASSERT_OK(drvops_hfi_wait_slot(&p.a, slot));
	TL_ASSERT_OK(tl_hfi_recv(&p.b, &e, TIMEOUT_MS));
	CU_ASSERT(e->flags == (DRVOPS_HFI_RHQ_EXPECTED | DRVOPS_HFI_RHQ_LAST));
	CU_ASSERT(e->tid == tid && e->length == n && e->offset == off);
	drvops_hfi_consume(&p.b, e);
	/* Landed in place, nothing around it touched. */
	CU_ASSERT(memcmp(dst + off, src, n) == 0);
	CU_ASSERT(dst[off - 1] == 0 && dst[off + n] == 0);

	/* Beyond the buffer: ERANGE; unknown tid: ENOENT. */
	slot = drvops_hfi_send(&p.a, DRVOPS_HFI_OP_EXPECTED,
			       (uint16_t)p.b.info.lid, (uint16_t)p.b.info.ctxt,
			       tid, len - 10, NULL, &iov, 1);
	TL_ASSERT_ERR(drvops_hfi_wait_slot(&p.a, slot), ERANGE);
	slot = drvops_hfi_send(&p.a, DRVOPS_HFI_OP_EXPECTED,
			       (uint16_t)p.b.info.lid, (uint16_t)p.b.info.ctxt,
			       tid + 100, 0, NULL, &iov, 1);
	TL_ASSERT_ERR(drvops_hfi_wait_slot(&p.a, slot), ENOENT);

	TL_ASSERT_OK(drvops_hfi_tid_free(&p.b, tid));
	TL_ASSERT_ERR(drvops_hfi_tid_free(&p.b, tid), ENOENT);
	free(src);
	free(dst);
	pair_close(&p);
}

static void test_expected_into_bound_mr(void)
{
	const size_t len = 1 << 20;
	const volatile struct drvops_hfi_rhq_entry *e;
	uint32_t pd, mr, lkey, rkey, binding, tid;
	uint8_t *src, *dst;
	struct iovec iov;
	struct pair p;
	int slot;

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	src = pattern_buf(len, 3);
	dst = aligned_alloc(4096, len);
	CU_ASSERT_FATAL(src && dst);
	memset(dst, 0, len);
	/* The MR is made on the uverbs fd; the handle is shared. */
	TL_ASSERT_OK(drvops_alloc_pd(p.b.uverbs_fd, &pd));
	TL_ASSERT_OK(drvops_reg_mr(p.b.uverbs_fd, pd, dst, len, 1, &mr, &lkey,
				   &rkey));
	TL_ASSERT_OK(drvops_bind(p.b.uverbs_fd, p.b.fd, DRVOPS_OBJ_MR, mr,
				 &binding));
	TL_ASSERT_OK(drvops_hfi_tid_register_mr(&p.b, mr, 0, len, &tid));

	iov = (struct iovec){ src, len };
	slot = drvops_hfi_send(&p.a, DRVOPS_HFI_OP_EXPECTED,
			       (uint16_t)p.b.info.lid, (uint16_t)p.b.info.ctxt,
			       tid, 0, NULL, &iov, 1);
	TL_ASSERT_OK(drvops_hfi_wait_slot(&p.a, slot));
	TL_ASSERT_OK(tl_hfi_recv(&p.b, &e, TIMEOUT_MS));
	CU_ASSERT(e->tid == tid && e->length == len);
	drvops_hfi_consume(&p.b, e);
	CU_ASSERT(memcmp(dst, src, len) == 0);

	/* The MR is in use: it cannot go; unbinding frees the tid too. */
	TL_ASSERT_ERR(drvops_dereg_mr(p.b.uverbs_fd, mr), EBUSY);
	TL_ASSERT_OK(drvops_unbind(p.b.uverbs_fd, binding));
	TL_ASSERT_ERR(drvops_hfi_tid_free(&p.b, tid), ENOENT);
	TL_ASSERT_OK(drvops_dereg_mr(p.b.uverbs_fd, mr));
	TL_ASSERT_OK(drvops_dealloc_pd(p.b.uverbs_fd, pd));
	free(src);
	free(dst);
	pair_close(&p);
}

static void test_legacy_unit_talks_to_current_unit(void)
{
	struct drvops_hfi_ctx old, cur;
	uint8_t *src = pattern_buf(20000, 5), dst[20000];
	struct iovec iov = { src, 20000 };

	TL_ASSERT_OK(tl_hfi_open(&old, TL_HFI_LEGACY, 0, tl_hfi_job_a, 0));
	TL_ASSERT_OK(tl_hfi_open(&cur, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	TL_ASSERT_OK(send_eager(&old, &cur, src, 20000, 9));
	TL_ASSERT_OK(recv_eager(&cur, dst, 20000, &old, 9));
	CU_ASSERT(memcmp(src, dst, 20000) == 0);
	/* The legacy ABI has no expected receive. */
	TL_ASSERT_ERR(drvops_hfi_send(&old, DRVOPS_HFI_OP_EXPECTED,
				      (uint16_t)cur.info.lid,
				      (uint16_t)cur.info.ctxt, 1, 0, NULL,
				      &iov, 1), EOPNOTSUPP);
	TL_ASSERT_ERR(drvops_hfi_tid_register(&old, dst, sizeof(dst),
					      &(uint32_t){ 0 }), ENOTTY);
	free(src);
	tl_hfi_close(&old);
	tl_hfi_close(&cur);
}

/* write(2)-family system calls of this process so far, or -1 if unknown. */
static long syscalls_written(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/self/io", "r");

	if (!f)
		return -1;	/* no CONFIG_TASK_IO_ACCOUNTING (debug kernel) */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "syscw: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

#define BATCH_MSGS 40

/* m[i]: an eager message of i * 7 bytes of bufs[i] from a to b, tag i. */
static void batch_fill(struct drvops_hfi_msg *m, struct iovec *iov,
		       uint8_t (*hdr)[DRVOPS_HFI_HDR_BYTES], uint8_t **bufs,
		       unsigned n, const struct drvops_hfi_ctx *rx)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		make_hdr(hdr[i], i);
		iov[i] = (struct iovec){ bufs[i], i * 7 };
		m[i] = (struct drvops_hfi_msg){
			.opcode = DRVOPS_HFI_OP_EAGER,
			.dlid = (uint16_t)rx->info.lid,
			.dctxt = (uint16_t)rx->info.ctxt,
			.hdr = hdr[i],
			.iov = &iov[i],
			.niov = i ? 1 : 0,
			.slot = -1,
		};
	}
}

static void test_send_batch_in_order(void)
{
	struct drvops_hfi_msg m[BATCH_MSGS];
	struct iovec iov[BATCH_MSGS];
	uint8_t hdr[BATCH_MSGS][DRVOPS_HFI_HDR_BYTES], *bufs[BATCH_MSGS];
	uint8_t dst[BATCH_MSGS * 7];
	bool slot_used[256] = { false };
	long before, after;
	struct pair p;
	unsigned i;

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	CU_ASSERT_FATAL(p.a.info.sdma_slots <= 256);
	for (i = 0; i < BATCH_MSGS; i++) {
		bufs[i] = pattern_buf(i * 7, i);
		CU_ASSERT_FATAL(bufs[i] != NULL);
	}
	batch_fill(m, iov, hdr, bufs, BATCH_MSGS, &p.b);
	before = syscalls_written();
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&p.a, m, BATCH_MSGS), BATCH_MSGS);
	after = syscalls_written();
	/* DRVOPS_HFI_BATCH_MAX per writev: 16 + 16 + 8. */
	if (before >= 0)
		CU_ASSERT_EQUAL(after - before,
				(BATCH_MSGS + DRVOPS_HFI_BATCH_MAX - 1) /
				DRVOPS_HFI_BATCH_MAX);
	for (i = 0; i < BATCH_MSGS; i++) {
		/* Each took its own slot, and it completed. */
		CU_ASSERT(m[i].slot >= 0 &&
			  (uint32_t)m[i].slot < p.a.info.sdma_slots);
		if (m[i].slot >= 0 && m[i].slot < 256) {
			CU_ASSERT(!slot_used[m[i].slot]);
			slot_used[m[i].slot] = true;
			CU_ASSERT_EQUAL(drvops_hfi_wait_slot(&p.a, m[i].slot), 0);
		}
	}
	/* Delivered in order, each whole. */
	for (i = 0; i < BATCH_MSGS; i++) {
		TL_ASSERT_OK(recv_eager(&p.b, dst, i * 7, &p.a, i));
		CU_ASSERT(memcmp(dst, bufs[i], i * 7) == 0);
	}
	for (i = 0; i < BATCH_MSGS; i++)
		free(bufs[i]);
	pair_close(&p);
}

/* More messages than slots: one call sends as many as it has slots for. */
static void test_send_batch_at_most_one_round_of_slots(void)
{
	struct drvops_hfi_msg *m;
	const volatile struct drvops_hfi_rhq_entry *e;
	uint8_t hdr[DRVOPS_HFI_HDR_BYTES];
	struct pair p;
	unsigned i, n, slots;

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	slots = p.a.info.sdma_slots;
	n = slots + 7;
	m = calloc(n, sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(slots <= p.b.info.rhq_entries);
	make_hdr(hdr, 77);
	for (i = 0; i < n; i++)
		m[i] = (struct drvops_hfi_msg){
			.opcode = DRVOPS_HFI_OP_EAGER,
			.dlid = (uint16_t)p.b.info.lid,
			.dctxt = (uint16_t)p.b.info.ctxt,
			.hdr = hdr,
			.slot = -1,
		};
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&p.a, m, n), (int)slots);
	for (i = 0; i < slots; i++) {
		TL_ASSERT_OK(tl_hfi_recv(&p.b, &e, TIMEOUT_MS));
		drvops_hfi_consume(&p.b, e);
	}
	TL_ASSERT_ERR(tl_hfi_recv(&p.b, &e, 100), ETIMEDOUT);
	/* The rest in the next call. */
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&p.a, m + slots, n - slots),
			(int)(n - slots));
	free(m);
	pair_close(&p);
}

/*
 * The first message the unit refuses ends the batch: those before it are
 * sent, it and those after it are not, and sending it again says why.
 */
static void test_send_batch_stops_at_refused(void)
{
	struct drvops_hfi_msg m[4];
	struct iovec iov[4];
	uint8_t hdr[4][DRVOPS_HFI_HDR_BYTES], *bufs[4], dst[32];
	uint8_t *hole = mmap(NULL, 4096, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const volatile struct drvops_hfi_rhq_entry *e;
	struct pair p;
	unsigned i;

	CU_ASSERT_FATAL(hole != MAP_FAILED);
	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	for (i = 0; i < 4; i++)
		bufs[i] = pattern_buf(i * 7, i);
	batch_fill(m, iov, hdr, bufs, 4, &p.b);
	iov[2].iov_base = hole;			/* unreadable */
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&p.a, m, 4), 2);
	TL_ASSERT_ERR(drvops_hfi_send_batch(&p.a, &m[2], 2), EFAULT);
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&p.a, &m[3], 1), 1);
	/* The library refuses what it cannot describe: nothing sent. */
	m[0].slot = (int)p.a.info.sdma_slots;
	TL_ASSERT_ERR(drvops_hfi_send_batch(&p.a, m, 1), EINVAL);
	m[0].slot = -1;
	m[0].niov = DRVOPS_HFI_MAX_IOVS_LIB + 1;
	TL_ASSERT_ERR(drvops_hfi_send_batch(&p.a, m, 1), EINVAL);
	/* b got 0, 1 and 3, nothing of 2. */
	TL_ASSERT_OK(recv_eager(&p.b, dst, 0, &p.a, 0));
	TL_ASSERT_OK(recv_eager(&p.b, dst, 7, &p.a, 1));
	CU_ASSERT(memcmp(dst, bufs[1], 7) == 0);
	TL_ASSERT_OK(recv_eager(&p.b, dst, 21, &p.a, 3));
	CU_ASSERT(memcmp(dst, bufs[3], 21) == 0);
	TL_ASSERT_ERR(tl_hfi_recv(&p.b, &e, 100), ETIMEDOUT);
	for (i = 0; i < 4; i++)
		free(bufs[i]);
	munmap(hole, 4096);
	pair_close(&p);
}

/* Units that take one request per writev (version 1, legacy): the same. */
static void test_send_batch_one_per_call_units(void)
{
	struct drvops_hfi_ctx v1, old, rx;
	struct drvops_hfi_msg m[5];
	struct iovec iov[5];
	uint8_t hdr[5][DRVOPS_HFI_HDR_BYTES], *bufs[5], dst[32];
	long before, after;
	unsigned i;

	TL_ASSERT_OK(tl_hfi_open(&rx, TL_HFI_CURRENT, 1, tl_hfi_job_a, 0));
	TL_ASSERT_OK(tl_hfi_open(&v1, TL_HFI_CURRENT, 0, tl_hfi_job_a, 1));
	TL_ASSERT_OK(tl_hfi_open(&old, TL_HFI_LEGACY, 0, tl_hfi_job_a, 0));
	for (i = 0; i < 5; i++)
		bufs[i] = pattern_buf(i * 7, i);
	batch_fill(m, iov, hdr, bufs, 5, &rx);
	before = syscalls_written();
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&v1, m, 5), 5);
	after = syscalls_written();
	if (before >= 0)
		CU_ASSERT_EQUAL(after - before, 5);
	for (i = 0; i < 5; i++) {
		TL_ASSERT_OK(recv_eager(&rx, dst, i * 7, &v1, i));
		CU_ASSERT(memcmp(dst, bufs[i], i * 7) == 0);
	}
	batch_fill(m, iov, hdr, bufs, 5, &rx);
	CU_ASSERT_EQUAL(drvops_hfi_send_batch(&old, m, 5), 5);
	for (i = 0; i < 5; i++) {
		TL_ASSERT_OK(recv_eager(&rx, dst, i * 7, &old, i));
		CU_ASSERT(memcmp(dst, bufs[i], i * 7) == 0);
	}
	/* No expected receive on the legacy unit: refused first. */
	m[0].opcode = DRVOPS_HFI_OP_EXPECTED;
	TL_ASSERT_ERR(drvops_hfi_send_batch(&old, m, 2), EOPNOTSUPP);
	for (i = 0; i < 5; i++)
		free(bufs[i]);
	tl_hfi_close(&v1);
	tl_hfi_close(&old);
	tl_hfi_close(&rx);
}

static void test_job_keys_isolate(void)
{
	const volatile struct drvops_hfi_rhq_entry *e;
	struct drvops_hfi_counters c;
	struct pair p;
	char msg[64] = "not for you";

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_b));
	TL_ASSERT_ERR(send_eager(&p.a, &p.b, msg, sizeof(msg), 1),
		      EHOSTUNREACH);
	TL_ASSERT_ERR(tl_hfi_recv(&p.b, &e, 200), ETIMEDOUT);
	TL_ASSERT_OK(drvops_hfi_counters(&p.a, &c));
	CU_ASSERT(c.tx_errors == 1 && c.tx_packets == 0);
	TL_ASSERT_OK(drvops_hfi_counters(&p.b, &c));
	CU_ASSERT(c.rx_packets == 0);
	pair_close(&p);
}

static void test_counters_count_packets_and_bytes(void)
{
	struct drvops_hfi_counters ca, cb;
	uint8_t *buf = pattern_buf(20000, 1), out[20000];
	struct pair p;

	TL_ASSERT_OK(pair_open(&p, tl_hfi_job_a));
	TL_ASSERT_OK(send_eager(&p.a, &p.b, buf, 20000, 1));
	TL_ASSERT_OK(recv_eager(&p.b, out, 20000, &p.a, 1));
	TL_ASSERT_OK(drvops_hfi_counters(&p.a, &ca));
	TL_ASSERT_OK(drvops_hfi_counters(&p.b, &cb));
	/* 20000 bytes in 8 KiB eager packets: 3 packets. */
	CU_ASSERT(ca.tx_packets == 3 && ca.tx_bytes == 20000);
	CU_ASSERT(cb.rx_packets == 3 && cb.rx_bytes == 20000);
	CU_ASSERT(ca.tx_errors == 0 && cb.rx_dropped == 0);
	free(buf);
	pair_close(&p);
}

/* Only the process that owns the context may submit, map or register. */
static int foreign_process_checks(struct drvops_hfi_ctx *h)
{
	struct drvops_hfi_ctxt_info info = { .size = sizeof(info) };
	static char buf[4096];
	struct drvops_hfi_sdma_req r = { .size = sizeof(r) };
	struct iovec iov[2] = { { &r, sizeof(r) }, { buf, 64 } };
	uint32_t tid;

	r.opcode = DRVOPS_HFI_OP_EAGER;
	r.niov = 1;
	r.dlid = (uint16_t)h->info.lid;
	r.dctxt = (uint16_t)h->info.ctxt;
	r.length = 64;
	if (writev(h->fd, iov, 2) != -1 || errno != EPERM)
		return 1;
	if (mmap(NULL, h->info.mmap_length[DRVOPS_HFI_MMAP_USER],
		 PROT_READ | PROT_WRITE, MAP_SHARED, h->fd,
		 (off_t)h->info.mmap_offset[DRVOPS_HFI_MMAP_USER]) != MAP_FAILED ||
	    errno != EPERM)
		return 2;
	if (drvops_hfi_tid_register(h, buf, sizeof(buf), &tid) != -EPERM)
		return 3;
	if (ioctl(h->fd, DRVOPS_HFI_IOCTL_CTXT_INFO, &info) != -1 ||
	    errno != EPERM)
		return 4;
	/* Its mappings were not inherited either. */
	if (!mprotect((void *)h->comp, 4096, PROT_READ))
		return 5;
	return 0;
}

static void test_other_process_gets_eperm(void)
{
	struct drvops_hfi_ctx h;
	int status;
	pid_t pid;

	TL_ASSERT_OK(tl_hfi_open(&h, TL_HFI_CURRENT, 0, tl_hfi_job_a, 0));
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (!pid)
		_exit(foreign_process_checks(&h));
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The owner is unaffected. */
	{
		char msg[32] = "still mine";

		TL_ASSERT_OK(send_eager(&h, &h, msg, sizeof(msg), 3));
		TL_ASSERT_OK(recv_eager(&h, (uint8_t *)msg, sizeof(msg), &h, 3));
	}
	tl_hfi_close(&h);
}

static CU_TestInfo hfi_tests[] = {
	{ "fallback: current and legacy units", test_fallback_current_and_legacy },
	{ "eager sizes across units", test_eager_sizes_across_units },
	{ "expected into a registered buffer",
	  test_expected_into_registered_buffer },
	{ "expected into a bound MR", test_expected_into_bound_mr },
	{ "legacy unit talks to current unit",
	  test_legacy_unit_talks_to_current_unit },
	{ "job keys isolate", test_job_keys_isolate },
	{ "send_batch: 40 messages in order, 16 per writev",
	  test_send_batch_in_order },
	{ "send_batch: at most one message per slot in a call",
	  test_send_batch_at_most_one_round_of_slots },
	{ "send_batch: stops at the first refused message",
	  test_send_batch_stops_at_refused },
	{ "send_batch: one request per writev on version 1 and legacy",
	  test_send_batch_one_per_call_units },
	{ "counters count packets and bytes",
	  test_counters_count_packets_and_bytes },
	{ "another process gets EPERM", test_other_process_gets_eperm },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "hfi end to end", NULL, NULL, NULL, NULL, hfi_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return tl_run_suites("test_hfi", suites);
}
