// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The in-memory fabric of loopback.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loopback.h"

struct lb_pkt {
	struct shim_list node;
	int src;
	bool expected;
	uint8_t hdr[SHIM_WIRE_HDR_BYTES];
	size_t len;
	uint8_t payload[];
};

struct lb_done {
	struct shim_list node;
	void *cookie;
};

struct lb_reg {
	bool used;
	uint8_t *buf;
	size_t len;
};

struct lb_ep {
	struct lb_fabric *fab;
	int index;
	psm2_mq_t mq;
	struct shim_transport_ops ops;
	struct psm2_epaddr peers[LB_MAX_EPS];
	struct shim_list rxq;
	struct shim_list done;
	struct lb_reg *regs;
	unsigned regs_used, regs_peak;	/* registered now, most at once */
	unsigned sends;
};

/*
 * Each endpoint's MQ has its own lock; the fabric's queues and registered
 * buffers are shared between endpoints, under the fabric's lock (taken
 * inside the MQ's, never held while calling into an MQ).
 */
struct lb_fabric {
	pthread_mutex_t lock;
	int n;
	struct lb_options opt;
	struct shim_mq_config cfg;
	bool have_cfg;
	struct lb_ep eps[LB_MAX_EPS];
};

static int lb_busy(struct lb_ep *e)
{
	e->sends++;
	return e->fab->opt.busy_every &&
	       e->sends % e->fab->opt.busy_every == 0;
}

static int lb_enqueue(struct lb_ep *e, psm2_epaddr_t dest, const void *hdr,
		      const struct iovec *iov, unsigned niov, bool expected,
		      void *cookie)
{
	struct lb_ep *d = &e->fab->eps[dest->tp_addr];
	size_t len = 0, off = 0;
	struct lb_pkt *p;
	unsigned i;

	if (!expected)
		for (i = 0; i < niov; i++)
			len += iov[i].iov_len;
	p = malloc(sizeof(*p) + len);
	if (!p)
		return -ENOMEM;
	p->src = e->index;
	p->expected = expected;
	memcpy(p->hdr, hdr, SHIM_WIRE_HDR_BYTES);
	p->len = len;
	for (i = 0; !expected && i < niov; i++) {
		memcpy(p->payload + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	shim_list_append(&d->rxq, &p->node);
	if (cookie) {
		struct lb_done *c = malloc(sizeof(*c));

		if (!c)
			return -ENOMEM;
		c->cookie = cookie;
		shim_list_append(&e->done, &c->node);
	}
	return 0;
}

static int lb_send_eager(void *tp, psm2_epaddr_t dest, const void *hdr,
			 const struct iovec *iov, unsigned niov, void *cookie)
{
	struct lb_ep *e = tp;
	size_t len = 0;
	unsigned i;
	int r;

	for (i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if (len > e->ops.eager_max)
		return -EMSGSIZE;
	pthread_mutex_lock(&e->fab->lock);
	r = lb_busy(e) ? -EAGAIN :
			 lb_enqueue(e, dest, hdr, iov, niov, false, cookie);
	pthread_mutex_unlock(&e->fab->lock);
	return r;
}

/* The "DMA": straight into the receiver's registered buffer. */
static int lb_send_expected(void *tp, psm2_epaddr_t dest, uint64_t handle,
			    uint64_t offset, const void *hdr,
			    const struct iovec *iov, unsigned niov,
			    void *cookie)
{
	struct lb_ep *e = tp;
	struct lb_ep *d = &e->fab->eps[dest->tp_addr];
	unsigned max = e->fab->opt.max_handles;
	struct lb_reg *r;
	unsigned i;
	int ret = 0;

	pthread_mutex_lock(&e->fab->lock);
	if (lb_busy(e)) {
		ret = -EAGAIN;
		goto out;
	}
	if (handle == 0 || handle > max || !d->regs[handle - 1].used) {
		ret = -ENOENT;
		goto out;
	}
	r = &d->regs[handle - 1];
	for (i = 0; i < niov; i++) {
		if (offset + iov[i].iov_len > r->len) {
			ret = -ERANGE;
			goto out;
		}
		memcpy(r->buf + offset, iov[i].iov_base, iov[i].iov_len);
		offset += iov[i].iov_len;
	}
	ret = lb_enqueue(e, dest, hdr, NULL, 0, true, cookie);
out:
	pthread_mutex_unlock(&e->fab->lock);
	return ret;
}

static int lb_register(void *tp, void *buf, size_t len, uint64_t *handle)
{
	struct lb_ep *e = tp;
	unsigned i;
	int r = -ENOSPC;

	if (!len || len > e->ops.register_max)
		return -EINVAL;
	pthread_mutex_lock(&e->fab->lock);
	for (i = 0; i < e->fab->opt.max_handles; i++) {
		if (!e->regs[i].used) {
			e->regs[i].used = true;
			e->regs[i].buf = buf;
			e->regs[i].len = len;
			*handle = i + 1;
			if (++e->regs_used > e->regs_peak)
				e->regs_peak = e->regs_used;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&e->fab->lock);
	return r;
}

static int lb_release(void *tp, uint64_t handle, bool filled)
{
	struct lb_ep *e = tp;
	int r = -ENOENT;

	(void)filled;

	pthread_mutex_lock(&e->fab->lock);
	if (handle && handle <= e->fab->opt.max_handles &&
	    e->regs[handle - 1].used) {
		e->regs[handle - 1].used = false;
		e->regs_used--;
		r = 0;
	}
	pthread_mutex_unlock(&e->fab->lock);
	return r;
}

static int lb_poll(void *tp)
{
	struct lb_ep *e = tp;
	struct shim_list batch, *pos, *tmp;
	int moved = 0;

	/* Sends first: their completions were "written" before now. */
	shim_list_init(&batch);
	pthread_mutex_lock(&e->fab->lock);
	if (!shim_list_empty(&e->done)) {
		batch = e->done;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		shim_list_init(&e->done);
	}
	pthread_mutex_unlock(&e->fab->lock);
	shim_list_for_each_safe(pos, tmp, &batch) {
		struct lb_done *c = shim_container_of(pos, struct lb_done,
						      node);
		shim_list_del(pos);
		shim_mq_send_done(e->mq, c->cookie, 0);
		free(c);
		moved = 1;
	}

	/* Then what arrived until now (not what our handlers send). */
	shim_list_init(&batch);
	pthread_mutex_lock(&e->fab->lock);
	if (!shim_list_empty(&e->rxq)) {
		batch = e->rxq;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		shim_list_init(&e->rxq);
	}
	pthread_mutex_unlock(&e->fab->lock);
	if (e->fab->opt.reorder) {
		/* swap each pair: the engine must restore the order */
		struct shim_list *a = batch.next;

		while (a != &batch && a->next != &batch) {
			struct shim_list *b = a->next;

			shim_list_del(a);
			shim_list_insert_before(b->next, a);
			a = a->next;
		}
	}
	shim_list_for_each_safe(pos, tmp, &batch) {
		struct lb_pkt *p = shim_container_of(pos, struct lb_pkt, node);
		psm2_epaddr_t src = &e->peers[p->src];

		shim_list_del(pos);
		if (p->expected)
			shim_mq_recv_expected(e->mq, src, p->hdr);
		else
			shim_mq_recv(e->mq, src, p->hdr, p->payload, p->len);
		free(p);
		moved = 1;
	}
	return moved;
}

struct lb_fabric *lb_create(int n, const struct lb_options *opt,
			    const struct shim_mq_config *cfg)
{
	struct lb_fabric *fab;
	int i, j;

	if (n < 1 || n > LB_MAX_EPS)
		return NULL;
	fab = calloc(1, sizeof(*fab));
	if (!fab)
		return NULL;
	pthread_mutex_init(&fab->lock, NULL);
	fab->n = n;
	if (cfg) {
		fab->cfg = *cfg;
		fab->have_cfg = true;
	}
	if (opt)
		fab->opt = *opt;
	if (!fab->opt.eager_max)
		fab->opt.eager_max = 64 * 1024;
	if (!fab->opt.register_max)
		fab->opt.register_max = 64u << 20;
	if (!fab->opt.max_handles)
		fab->opt.max_handles = 32;
	for (i = 0; i < n; i++) {
		struct lb_ep *e = &fab->eps[i];

		e->fab = fab;
		e->index = i;
		shim_list_init(&e->rxq);
		shim_list_init(&e->done);
		e->regs = calloc(fab->opt.max_handles, sizeof(*e->regs));
		e->ops.send_eager = lb_send_eager;
		e->ops.poll = lb_poll;
		if (!fab->opt.no_expected) {
			e->ops.send_expected = lb_send_expected;
			e->ops.register_recv_buffer = lb_register;
			e->ops.release_recv_buffer = lb_release;
		}
		e->ops.eager_max = fab->opt.eager_max;
		e->ops.register_max = fab->opt.register_max;
		for (j = 0; j < n; j++)
			shim_peer_init(&e->peers[j], NULL, 0x100 + j, j);
		if (!e->regs || shim_mq_create(NULL, NULL, &e->ops, e, cfg, &e->mq)) {
			lb_destroy(fab);
			return NULL;
		}
	}
	return fab;
}

static void free_list(struct shim_list *l, size_t node_off)
{
	struct shim_list *pos, *tmp;

	shim_list_for_each_safe(pos, tmp, l) {
		shim_list_del(pos);
		free((char *)pos - node_off);
	}
}

void lb_destroy(struct lb_fabric *fab)
{
	int i, j;

	if (!fab)
		return;
	for (i = 0; i < fab->n; i++) {
		struct lb_ep *e = &fab->eps[i];

		shim_mq_destroy(e->mq);
		e->mq = NULL;
		free_list(&e->rxq, offsetof(struct lb_pkt, node));
		free_list(&e->done, offsetof(struct lb_done, node));
		for (j = 0; j < fab->n; j++)
			shim_peer_fini(&e->peers[j]);
		free(e->regs);
	}
	pthread_mutex_destroy(&fab->lock);
	free(fab);
}

int lb_restart(struct lb_fabric *fab, int ep, uint16_t gen)
{
	struct lb_ep *e = &fab->eps[ep];
	int j;

	shim_mq_destroy(e->mq);
	e->mq = NULL;
	pthread_mutex_lock(&fab->lock);
	free_list(&e->rxq, offsetof(struct lb_pkt, node));
	free_list(&e->done, offsetof(struct lb_done, node));
	memset(e->regs, 0, fab->opt.max_handles * sizeof(*e->regs));
	e->regs_used = 0;
	pthread_mutex_unlock(&fab->lock);
	for (j = 0; j < fab->n; j++) {
		shim_peer_fini(&e->peers[j]);
		shim_peer_init(&e->peers[j], NULL, 0x100 + j, j);
	}
	if (shim_mq_create(NULL, NULL, &e->ops, e,
			   fab->have_cfg ? &fab->cfg : NULL, &e->mq))
		return -1;
	shim_mq_set_generation(e->mq, gen);
	return 0;
}

psm2_mq_t lb_mq(struct lb_fabric *fab, int ep)
{
	return fab->eps[ep].mq;
}

psm2_epaddr_t lb_peer(struct lb_fabric *fab, int ep, int peer)
{
	return &fab->eps[ep].peers[peer];
}

int lb_progress(struct lb_fabric *fab)
{
	int i, moved = 0;

	for (i = 0; i < fab->n; i++)
		if (shim_mq_progress(fab->eps[i].mq) > 0)
			moved = 1;
	return moved;
}

unsigned lb_handles_in_use(struct lb_fabric *fab, int ep)
{
	unsigned i, n = 0;

	pthread_mutex_lock(&fab->lock);
	for (i = 0; i < fab->opt.max_handles; i++)
		n += fab->eps[ep].regs[i].used;
	pthread_mutex_unlock(&fab->lock);
	return n;
}

unsigned lb_handles_peak(struct lb_fabric *fab, int ep)
{
	unsigned n;

	pthread_mutex_lock(&fab->lock);
	n = fab->eps[ep].regs_peak;
	pthread_mutex_unlock(&fab->lock);
	return n;
}
