// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* A ready-to-use HFI receive context (see hfictx.h). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drvops.h"
#include "hfictx.h"

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* The interface's own number for a command (its own range if legacy). */
static unsigned long hfi_nr(const struct drvops_hfi_ctx *h, unsigned long cmd)
{
	return h->legacy ? DRVOPS_HFI_LEGACY_IOCTL(cmd) : cmd;
}

static void *map_region(struct drvops_hfi_ctx *h, enum drvops_hfi_mmap_region r,
			int prot)
{
	void *p = mmap(NULL, h->info.mmap_length[r], prot, MAP_SHARED, h->fd,
		       (off_t)h->info.mmap_offset[r]);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_all(struct drvops_hfi_ctx *h)
{
	if (h->rhq)
		munmap((void *)h->rhq,
		       h->info.mmap_length[DRVOPS_HFI_MMAP_RHQ]);
	if (h->eager)
		munmap((void *)h->eager,
		       h->info.mmap_length[DRVOPS_HFI_MMAP_EAGER]);
	if (h->comp)
		munmap((void *)h->comp,
		       h->info.mmap_length[DRVOPS_HFI_MMAP_COMP]);
	if (h->user)
		munmap((void *)h->user,
		       h->info.mmap_length[DRVOPS_HFI_MMAP_USER]);
	h->rhq = NULL;
	h->eager = NULL;
	h->comp = NULL;
	h->user = NULL;
}

int drvops_hfi_unit_info(int uverbs_fd, struct drvops_hfi_unit_info *info)
{
	static const char *const names[] = { DRVOPS_HFI_NAME,
					     DRVOPS_HFI_LEGACY_NAME };
	unsigned index;
	uint32_t version;
	int fd, ret;

	fd = drvops_get_fd(uverbs_fd, names, 2, 1, UINT32_MAX, 0, &index,
			   &version);
	if (fd < 0)
		return fd;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	ret = xioctl(fd, index == 1 ?
		     DRVOPS_HFI_LEGACY_IOCTL(DRVOPS_HFI_IOCTL_UNIT_INFO) :
		     DRVOPS_HFI_IOCTL_UNIT_INFO, info);
	close(fd);
	return ret;
}

int drvops_hfi_open(struct drvops_hfi_ctx *h, int uverbs_fd,
		    const uint8_t job_key[DRVOPS_HFI_JOB_KEY_LEN],
		    uint32_t max_version)
{
	static const char *const names[] = { DRVOPS_HFI_NAME,
					     DRVOPS_HFI_LEGACY_NAME };
	struct drvops_hfi_assign_ctxt assign = { .size = sizeof(assign) };
	unsigned index;
	int ret;

	memset(h, 0, sizeof(*h));
	h->uverbs_fd = uverbs_fd;
	h->fd = drvops_get_fd(uverbs_fd, names, 2, 1,
			      max_version ? max_version : UINT32_MAX, 0,
			      &index, &h->version);
	if (h->fd < 0)
		return h->fd;
	h->legacy = index == 1;
	memcpy(assign.job_key, job_key, sizeof(assign.job_key));
	ret = xioctl(h->fd, hfi_nr(h, DRVOPS_HFI_IOCTL_ASSIGN_CTXT), &assign);
	if (!ret) {
		h->info.size = sizeof(h->info);
		ret = xioctl(h->fd, hfi_nr(h, DRVOPS_HFI_IOCTL_CTXT_INFO), &h->info);
	}
	if (ret)
		goto err_close;
	h->rhq = map_region(h, DRVOPS_HFI_MMAP_RHQ, PROT_READ);
	h->eager = map_region(h, DRVOPS_HFI_MMAP_EAGER, PROT_READ);
	h->comp = map_region(h, DRVOPS_HFI_MMAP_COMP, PROT_READ);
	h->user = map_region(h, DRVOPS_HFI_MMAP_USER, PROT_READ | PROT_WRITE);
	if (!h->rhq || !h->eager || !h->comp || !h->user) {
		ret = -errno;
		unmap_all(h);
		goto err_close;
	}
	return 0;

err_close:
	close(h->fd);
	h->fd = -1;
	return ret;
}

void drvops_hfi_close(struct drvops_hfi_ctx *h)
{
	unmap_all(h);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

int drvops_hfi_slot_status(struct drvops_hfi_ctx *h, int slot)
{
	uint32_t st = __atomic_load_n(&h->comp[slot].status, __ATOMIC_ACQUIRE);

	if (st == DRVOPS_HFI_COMP_QUEUED)
		return 1;
	if (st == DRVOPS_HFI_COMP_ERROR)
		return -h->comp[slot].errcode;
	return 0;
}

int drvops_hfi_free_slot(struct drvops_hfi_ctx *h)
{
	uint32_t n = h->info.sdma_slots, i;

	for (i = 0; i < n; i++) {
		uint32_t slot = (h->next_slot + i) & (n - 1);

		if (drvops_hfi_slot_status(h, (int)slot) != 1) {
			h->next_slot = slot + 1;
			return (int)slot;
		}
	}
	return -ENOSPC;
}

/* Iovecs one writev of a batch uses at most (on the stack). */
#define BATCH_IOVS 128

/* One request block per message of a writev. */
union hfi_send_hdr {
	struct drvops_hfi_sdma_req r;
	struct drvops_hfi_legacy_send ls;
};

/*
 * m's request block in *b and its iovecs from v[0]: how many iovecs, or
 * -errno. Takes a free slot if m->slot < 0.
 */
static int fill_one(struct drvops_hfi_ctx *h, struct drvops_hfi_msg *m,
		    union hfi_send_hdr *b, struct iovec *v)
{
	uint64_t len = 0;
	unsigned i;

	if (m->niov > DRVOPS_HFI_MAX_IOVS_LIB || (m->niov && !m->iov))
		return -EINVAL;
	if (h->legacy && m->opcode != DRVOPS_HFI_OP_EAGER)
		return -EOPNOTSUPP;
	if (m->slot < 0)
		m->slot = drvops_hfi_free_slot(h);
	if (m->slot < 0)
		return m->slot;
	if ((uint32_t)m->slot >= h->info.sdma_slots)
		return -EINVAL;
	for (i = 0; i < m->niov; i++) {
		v[1 + i] = m->iov[i];
		len += m->iov[i].iov_len;
	}
	memset(b, 0, sizeof(*b));
	if (h->legacy) {
		b->ls.size = sizeof(b->ls);
		b->ls.dlid = m->dlid;
		b->ls.dctxt = m->dctxt;
		b->ls.slot = (uint16_t)m->slot;
		b->ls.niov = (uint16_t)m->niov;
		b->ls.length = (uint32_t)len;
		if (m->hdr)
			memcpy(b->ls.hdr, m->hdr, sizeof(b->ls.hdr));
		v[0] = (struct iovec){ &b->ls, sizeof(b->ls) };
	} else {
		b->r.size = sizeof(b->r);
		b->r.opcode = m->opcode;
		b->r.niov = (uint8_t)m->niov;
		b->r.slot = (uint16_t)m->slot;
		b->r.dlid = m->dlid;
		b->r.dctxt = m->dctxt;
		b->r.tid = m->tid;
		b->r.toffset = m->toffset;
		b->r.length = len;
		if (m->hdr)
			memcpy(b->r.hdr, m->hdr, sizeof(b->r.hdr));
		v[0] = (struct iovec){ &b->r, sizeof(b->r) };
	}
	return (int)(1 + m->niov);
}

/* One writev of m[0..n): how many the unit accepted, or -errno. */
static int send_some(struct drvops_hfi_ctx *h, struct drvops_hfi_msg *m,
		     unsigned n)
{
	union hfi_send_hdr b[DRVOPS_HFI_BATCH_MAX];
	struct iovec v[BATCH_IOVS];
	unsigned k, nv = 0;
	ssize_t got;
	int r = 0;

	for (k = 0; k < n; k++) {
		if (nv + 1 + m[k].niov > BATCH_IOVS)
			break;
		r = fill_one(h, &m[k], &b[k], v + nv);
		if (r < 0)
			break;
		nv += (unsigned)r;
	}
	if (!k)
		return r < 0 ? r : -EINVAL;
	got = writev(h->fd, v, (int)nv);
	if (got < 0)
		return -errno;
	return (int)got;
}

int drvops_hfi_send_batch(struct drvops_hfi_ctx *h, struct drvops_hfi_msg *m,
			  unsigned n)
{
	/* Version 1 and the legacy unit take one request per writev. */
	unsigned per = h->legacy || h->version < 2 ? 1 : DRVOPS_HFI_BATCH_MAX;
	unsigned done = 0;

	/*
	 * The slots of one call must differ (a reused one would lose the
	 * earlier message's completion): at most sdma_slots messages.
	 */
	if (n > h->info.sdma_slots)
		n = h->info.sdma_slots;
	while (done < n) {
		unsigned k = n - done < per ? n - done : per;
		int r = send_some(h, m + done, k);

		if (r < 0)
			return done ? (int)done : r;
		done += (unsigned)r;
		if ((unsigned)r < k)
			break;
	}
	return (int)done;
}

int drvops_hfi_send(struct drvops_hfi_ctx *h, uint8_t opcode, uint16_t dlid,
		    uint16_t dctxt, uint32_t tid, uint64_t toffset,
		    const void *hdr, const struct iovec *iov, unsigned niov)
{
	struct drvops_hfi_msg m = {
		.opcode = opcode, .dlid = dlid, .dctxt = dctxt, .tid = tid,
		.toffset = toffset, .hdr = hdr, .iov = iov, .niov = niov,
		.slot = -1,
	};
	int r = send_some(h, &m, 1);

	return r < 0 ? r : m.slot;
}

int drvops_hfi_wait_slot(struct drvops_hfi_ctx *h, int slot)
{
	int st;

	while ((st = drvops_hfi_slot_status(h, slot)) == 1)
		sched_yield();
	return st;
}

const volatile struct drvops_hfi_rhq_entry *
drvops_hfi_peek(struct drvops_hfi_ctx *h)
{
	const volatile struct drvops_hfi_rhq_entry *e =
		&h->rhq[h->rhq_head & (h->info.rhq_entries - 1)];

	if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != h->rhq_head + 1)
		return NULL;
	return e;
}

static bool has_eager_buffer(const volatile struct drvops_hfi_rhq_entry *e)
{
	return (e->flags & DRVOPS_HFI_RHQ_EAGER) && e->length;
}

const void *drvops_hfi_eager_payload(struct drvops_hfi_ctx *h,
				     const volatile struct drvops_hfi_rhq_entry *e)
{
	if (!has_eager_buffer(e))
		return NULL;
	return h->eager + (size_t)(e->eager_index &
				   (h->info.eager_count - 1)) *
			  h->info.eager_size;
}

void drvops_hfi_consume(struct drvops_hfi_ctx *h,
			const volatile struct drvops_hfi_rhq_entry *e)
{
	if (has_eager_buffer(e))
		h->eager_head++;
	h->rhq_head++;
	/* Done reading the entry and its buffer before handing them back. */
	__atomic_store_n(&h->user->eager_head, h->eager_head, __ATOMIC_RELEASE);
	__atomic_store_n(&h->user->rhq_head, h->rhq_head, __ATOMIC_RELEASE);
}

/* poll() the context fd for events: 1, 0 (timeout) or -errno (-EIO: dead). */
static int poll_fd(const struct drvops_hfi_ctx *h, short events,
		   int timeout_ms)
{
	struct pollfd p = { .fd = h->fd, .events = events };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (n && (p.revents & (POLLERR | POLLHUP)))
		return -EIO;
	return n;
}

int drvops_hfi_poll_recv(const struct drvops_hfi_ctx *h, int timeout_ms)
{
	return poll_fd(h, POLLIN, timeout_ms);
}

void drvops_hfi_comps_reaped(struct drvops_hfi_ctx *h, uint32_t n)
{
	if (!drvops_hfi_has_comp_events(h) || !n)
		return;
	h->comps_reaped += n;
	__atomic_store_n(&h->user->comp_head, h->comps_reaped,
			 __ATOMIC_RELEASE);
}

int drvops_hfi_poll_event(const struct drvops_hfi_ctx *h, int timeout_ms)
{
	return poll_fd(h, drvops_hfi_has_comp_events(h) ? POLLIN | POLLPRI :
							 POLLIN, timeout_ms);
}

int drvops_hfi_wait_recv(struct drvops_hfi_ctx *h, int timeout_ms)
{
	if (drvops_hfi_peek(h))
		return 1;
	return drvops_hfi_poll_recv(h, timeout_ms);
}

static int tid_register(struct drvops_hfi_ctx *h, void *buf, size_t len,
			uint32_t flags, uint32_t *tid)
{
	struct drvops_hfi_tid_register t = {
		.size = sizeof(t),
		.flags = flags,
		.vaddr = (uintptr_t)buf,
		.length = len,
	};
	int ret = xioctl(h->fd, DRVOPS_HFI_IOCTL_TID_REGISTER, &t);

	if (!ret)
		*tid = t.tid;
	return ret;
}

int drvops_hfi_tid_register(struct drvops_hfi_ctx *h, void *buf, size_t len,
			    uint32_t *tid)
{
	return tid_register(h, buf, len, 0, tid);
}

int drvops_hfi_tid_register_notify(struct drvops_hfi_ctx *h, void *buf,
				   size_t len, uint32_t *tid)
{
	return tid_register(h, buf, len, DRVOPS_HFI_TID_NOTIFY, tid);
}

int drvops_hfi_tid_register_mr(struct drvops_hfi_ctx *h, uint32_t mr_handle,
			       uint64_t offset, uint64_t len, uint32_t *tid)
{
	struct drvops_hfi_tid_register_mr t = {
		.size = sizeof(t),
		.mr_handle = mr_handle,
		.offset = offset,
		.length = len,
	};
	int ret = xioctl(h->fd, DRVOPS_HFI_IOCTL_TID_REGISTER_MR, &t);

	if (!ret)
		*tid = t.tid;
	return ret;
}

int drvops_hfi_tid_free(struct drvops_hfi_ctx *h, uint32_t tid)
{
	struct drvops_hfi_tid_free t = { .size = sizeof(t), .tid = tid };

	return xioctl(h->fd, DRVOPS_HFI_IOCTL_TID_FREE, &t);
}

int drvops_hfi_counters(struct drvops_hfi_ctx *h,
			struct drvops_hfi_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	return xioctl(h->fd, hfi_nr(h, DRVOPS_HFI_IOCTL_COUNTERS), c);
}
