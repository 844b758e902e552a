// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The fake HFI context of fake_hfi.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_hfi.h"

#define FAKE_MAX 8
#define FAKE_SLOTS 16
#define FAKE_TIDS 8

struct fake_tid {
	bool used;
	uint8_t *buf;
	size_t len;
	bool notify;			/* follows its mapping (sdma.opa 4) */
	bool stale;			/* fake_hfi_unmap() hit it */
};

struct fake_hfi {
	uint16_t lid, ctxt;
	bool legacy;
	uint32_t rhq_entries, eager_size;
	struct drvops_hfi_rhq_entry *rhq;
	uint8_t *eager;			/* one buffer per RHQ entry */
	uint32_t tail, head;
	struct drvops_hfi_comp comp[FAKE_SLOTS];
	struct fake_tid tids[FAKE_TIDS];
	uint64_t dropped;
	unsigned refuse_pinning;	/* next n pin attempts: -ENOMEM */
	unsigned tid_registrations;
	size_t tid_max_len;
	unsigned send_batches;
};

static struct fake_hfi *fakes[FAKE_MAX];
static uint64_t fake_clock;

static struct fake_hfi *find(uint16_t lid, uint16_t ctxt)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (fakes[i] && fakes[i]->lid == lid && fakes[i]->ctxt == ctxt)
			return fakes[i];
	return NULL;
}

/* Gather len bytes at off of the iovecs into out. */
static void gather(const struct iovec *iov, unsigned niov, uint64_t off,
		   uint8_t *out, uint64_t len)
{
	for (unsigned i = 0; i < niov && len; i++) {
		uint64_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		uint64_t n = l - off < len ? l - off : len;

		memcpy(out, (uint8_t *)iov[i].iov_base + off, n);
		out += n;
		len -= n;
		off = 0;
	}
}

static void fill(struct fake_hfi *src, struct fake_hfi *d, uint32_t flags,
		 uint64_t msg_len, uint64_t off, uint64_t len, uint32_t tid,
		 const void *hdr)
{
	uint32_t idx = d->tail++;
	struct drvops_hfi_rhq_entry *e = &d->rhq[idx % d->rhq_entries];

	memset(e, 0, sizeof(*e));
	e->flags = flags;
	e->src_lid = src->lid;
	e->src_ctxt = src->ctxt;
	e->eager_index = idx;
	e->length = (uint32_t)len;
	e->tid = tid;
	e->msg_length = msg_len;
	e->offset = off;
	memcpy(e->hdr, hdr, sizeof(e->hdr));
	e->seq = idx + 1;
}

static int deliver(struct fake_hfi *f, uint8_t opcode, uint16_t dlid,
		   uint16_t dctxt, uint32_t tid, uint64_t toffset,
		   const void *hdr, const struct iovec *iov, unsigned niov)
{
	struct fake_hfi *d = find(dlid, dctxt);
	uint64_t len = 0;
	uint32_t npkts, p;

	for (unsigned i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if (!d)
		return -EHOSTUNREACH;
	if (opcode == DRVOPS_HFI_OP_EXPECTED) {
		struct fake_tid *t = tid < FAKE_TIDS ? &d->tids[tid] : NULL;

		if (!t || !t->used)
			return -ENOENT;
		if (toffset > t->len || len > t->len - toffset)
			return -ERANGE;
		if (d->tail - d->head >= d->rhq_entries) {
			d->dropped++;
			return -ENOBUFS;
		}
		gather(iov, niov, 0, t->buf + toffset, len);
		fill(f, d, DRVOPS_HFI_RHQ_EXPECTED | DRVOPS_HFI_RHQ_LAST, len,
		     toffset, len, tid, hdr);
		return 0;
	}
	npkts = len ? (uint32_t)((len + d->eager_size - 1) / d->eager_size) : 1;
	if (d->rhq_entries - (d->tail - d->head) < npkts) {
		d->dropped++;
		return -ENOBUFS;
	}
	for (p = 0; p < npkts; p++) {
		uint64_t off = (uint64_t)p * d->eager_size;
		uint64_t plen = len - off < d->eager_size ? len - off :
			       d->eager_size;

		if (!len)
			plen = 0;
		gather(iov, niov, off,
		       d->eager + (size_t)(d->tail % d->rhq_entries) *
				  d->eager_size, plen);
		fill(f, d, DRVOPS_HFI_RHQ_EAGER |
			   (p == npkts - 1 ? DRVOPS_HFI_RHQ_LAST : 0),
		     len, off, plen, 0, hdr);
	}
	return 0;
}

static int f_send_one(void *dev, int slot, uint8_t opcode, uint16_t dlid,
		      uint16_t dctxt, uint32_t tid, uint64_t toffset,
		      const void *hdr, const struct iovec *iov, unsigned niov)
{
	struct fake_hfi *f = dev;
	int err;

	if (slot < 0 || slot >= FAKE_SLOTS)
		return -EINVAL;
	if (f->comp[slot].status == DRVOPS_HFI_COMP_QUEUED)
		return -EBADSLT;
	if (f->legacy && opcode != DRVOPS_HFI_OP_EAGER)
		return -EINVAL;
	if (f->refuse_pinning) {
		f->refuse_pinning--;
		return -ENOMEM;
	}
	err = deliver(f, opcode, dlid, dctxt, tid, toffset, hdr, iov, niov);
	f->comp[slot].errcode = -err;
	f->comp[slot].status = err ? DRVOPS_HFI_COMP_ERROR :
				     DRVOPS_HFI_COMP_COMPLETE;
	return 0;
}

/* As the device: in order, up to the first refused one. */
static int f_send(void *dev, struct drvops_hfi_msg *m, unsigned n)
{
	struct fake_hfi *f = dev;
	unsigned i;

	if (n > 1)
		f->send_batches++;
	for (i = 0; i < n; i++) {
		int err = f_send_one(dev, m[i].slot, m[i].opcode, m[i].dlid,
				     m[i].dctxt, m[i].tid, m[i].toffset,
				     m[i].hdr, m[i].iov, m[i].niov);

		if (err)
			return i ? (int)i : err;
	}
	return (int)n;
}

static int f_slot_status(void *dev, int slot)
{
	struct fake_hfi *f = dev;

	if (f->comp[slot].status == DRVOPS_HFI_COMP_QUEUED)
		return 1;
	if (f->comp[slot].status == DRVOPS_HFI_COMP_ERROR)
		return -f->comp[slot].errcode;
	return 0;
}

static const volatile struct drvops_hfi_rhq_entry *f_peek(void *dev)
{
	struct fake_hfi *f = dev;
	struct drvops_hfi_rhq_entry *e = &f->rhq[f->head % f->rhq_entries];

	return e->seq == f->head + 1 ? e : NULL;
}

static const void *f_payload(void *dev,
			     const volatile struct drvops_hfi_rhq_entry *e)
{
	struct fake_hfi *f = dev;

	return f->eager + (size_t)(e->eager_index % f->rhq_entries) *
			  f->eager_size;
}

static void f_consume(void *dev, const volatile struct drvops_hfi_rhq_entry *e)
{
	(void)e;
	((struct fake_hfi *)dev)->head++;
}

static int f_tid_register(void *dev, void *buf, size_t len, uint32_t *tid)
{
	struct fake_hfi *f = dev;

	if (f->refuse_pinning) {
		f->refuse_pinning--;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < FAKE_TIDS; i++)
		if (!f->tids[i].used) {
			f->tids[i] = (struct fake_tid){ .used = true, .buf = buf, .len = len };
			*tid = i;
			f->tid_registrations++;
			if (len > f->tid_max_len)
				f->tid_max_len = len;
			return 0;
		}
	return -ENOSPC;
}

static int f_tid_register_notify(void *dev, void *buf, size_t len,
				 uint32_t *tid)
{
	struct fake_hfi *f = dev;
	int ret = f_tid_register(dev, buf, len, tid);

	if (!ret)
		f->tids[*tid].notify = true;
	return ret;
}

static bool f_tid_stale(void *dev, uint32_t tid)
{
	struct fake_hfi *f = dev;

	return tid < FAKE_TIDS && f->tids[tid].stale;
}

void fake_hfi_unmap(struct fake_hfi *f, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	for (int i = 0; i < FAKE_TIDS; i++) {
		struct fake_tid *t = &f->tids[i];

		if (t->used && t->notify && t->buf < b + len &&
		    b < t->buf + t->len)
			t->stale = true;
	}
}

static int f_tid_free(void *dev, uint32_t tid)
{
	struct fake_hfi *f = dev;

	if (tid >= FAKE_TIDS || !f->tids[tid].used)
		return -ENOENT;
	f->tids[tid].used = false;
	return 0;
}

static int f_wait_recv(void *dev, int timeout_ms)
{
	(void)timeout_ms;
	return f_peek(dev) ? 1 : 0;
}

static uint64_t f_now(void *dev)
{
	(void)dev;
	return fake_clock;
}

const struct hfi_dev_ops fake_hfi_ops = {
	.send = f_send,
	.slot_status = f_slot_status,
	.peek = f_peek,
	.eager_payload = f_payload,
	.consume = f_consume,
	.tid_register = f_tid_register,
	.tid_free = f_tid_free,
	.tid_register_notify = f_tid_register_notify,
	.tid_stale = f_tid_stale,
	.wait_recv = f_wait_recv,
	.now_ns = f_now,
};

struct fake_hfi *fake_hfi_create(uint16_t lid, uint16_t ctxt,
				 uint32_t rhq_entries, uint32_t eager_size,
				 bool legacy)
{
	struct fake_hfi *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->lid = lid;
	f->ctxt = ctxt;
	f->legacy = legacy;
	f->rhq_entries = rhq_entries;
	f->eager_size = eager_size;
	f->rhq = calloc(rhq_entries, sizeof(*f->rhq));
	f->eager = calloc(rhq_entries, eager_size);
	for (int i = 0; i < FAKE_MAX; i++)
		if (!fakes[i]) {
			fakes[i] = f;
			return f;
		}
	fake_hfi_destroy(f);
	return NULL;
}

void fake_hfi_destroy(struct fake_hfi *f)
{
	if (!f)
		return;
	for (int i = 0; i < FAKE_MAX; i++)
		if (fakes[i] == f)
			fakes[i] = NULL;
	free(f->rhq);
	free(f->eager);
	free(f);
}

void fake_hfi_params(struct fake_hfi *f, struct hfi_dev_params *p)
{
	memset(p, 0, sizeof(*p));
	p->lid = f->lid;
	p->ctxt = f->ctxt;
	p->sdma_slots = FAKE_SLOTS;
	p->max_iovs = 8;
	/* Like the driver: half the ring. */
	p->eager_max = (uint64_t)f->rhq_entries / 2 * f->eager_size;
	p->legacy = f->legacy;
}

void fake_hfi_advance_ns(uint64_t ns)
{
	fake_clock += ns;
}

uint64_t fake_hfi_dropped(struct fake_hfi *f)
{
	return f->dropped;
}

unsigned fake_hfi_tids_in_use(struct fake_hfi *f)
{
	unsigned n = 0;

	for (int i = 0; i < FAKE_TIDS; i++)
		n += f->tids[i].used;
	return n;
}

unsigned fake_hfi_tid_registrations(struct fake_hfi *f, size_t *max_len)
{
	*max_len = f->tid_max_len;
	return f->tid_registrations;
}

void fake_hfi_refuse_pinning(struct fake_hfi *f, unsigned n)
{
	f->refuse_pinning = n;
}

unsigned fake_hfi_send_batches(struct fake_hfi *f)
{
	return f->send_batches;
}
