// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The MQ engine's wire inside a node (see shm_transport.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "list.h"
#include "shm_inbox.h"
#include "shm_transport.h"

#define SHM_POLL_BUDGET 64
/* The largest expected write: the MQ cuts windows to register_max. */
#define SHM_REGISTER_MAX (1u << 30)

struct shm_peer {
	struct psm2_epaddr addr;	/* must be first */
	struct shim_list node;
	uint64_t id;
	struct shm_inbox *box;		/* mapped */
};

struct shm_done {
	struct shim_list node;
	void *cookie;
	int err;
};

struct shm_transport {
	struct shim_transport_ops ops;
	psm2_mq_t mq;
	struct psm2_ep *ep;
	char job[64];
	uint64_t id;
	char name[128];
	struct shm_inbox *box;		/* ours */
	struct shim_list peers;
	struct shim_list done;		/* sends to report from poll */
	uint64_t cma_bytes;		/* written into peers' windows */
};

static void inbox_name(char *out, size_t len, const char *job, uint64_t id)
{
	snprintf(out, len, "/psm2-shim.%s.%016llx", job, (unsigned long long)id);
}

static struct shm_inbox *inbox_map(int fd)
{
	void *p = mmap(NULL, sizeof(struct shm_inbox), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Our pid namespace: who our pids mean something to. 0 or -1. */
static int pidns_of_self(uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Inbox box may be written by us: the same layout and the same pids. */
static bool inbox_usable(const struct shm_transport *t,
			 const struct shm_inbox *box)
{
	return atomic_load_explicit(&box->magic, memory_order_acquire) ==
	       SHM_MAGIC && box->version == SHM_VERSION &&
	       box->pidns_dev == t->box->pidns_dev &&
	       box->pidns_ino == t->box->pidns_ino;
}

/*
 * A full inbox whose owner is gone (killed: nobody unlinked it) never
 * drains: the peer is unreachable, not busy.
 */
static int inbox_full(const struct shm_inbox *box)
{
	return kill(box->owner, 0) && errno == ESRCH ? -EHOSTUNREACH :
						      -EAGAIN;
}

static struct shm_peer *peer_find(struct shm_transport *t, uint64_t id)
{
	struct shim_list *pos;

	for (pos = t->peers.next; pos != &t->peers; pos = pos->next) {
		struct shm_peer *p = shim_container_of(pos, struct shm_peer,
						       node);
		if (p->id == id)
			return p;
	}
	return NULL;
}

psm2_epaddr_t shm_transport_peer(struct shm_transport *t, uint64_t id)
{
	struct shm_peer *p = peer_find(t, id);
	char name[128];
	struct stat st;
	int fd;

	if (p)
		return p->box ? &p->addr : NULL;
	inbox_name(name, sizeof(name), t->job, id);
	fd = shm_open(name, O_RDWR, 0);
	if (fd < 0)
		return NULL;
	/* Not yet sized by its creator: touching it would be SIGBUS. */
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(struct shm_inbox)) {
		close(fd);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->box = inbox_map(fd);
	close(fd);
	if (!p || !p->box || !inbox_usable(t, p->box)) {
		if (p && p->box)
			munmap(p->box, sizeof(*p->box));
		free(p);
		return NULL;
	}
	p->id = id;
	shim_peer_init(&p->addr, t->ep, id, id);
	p->addr.tp = t;
	shim_list_append(&t->peers, &p->node);
	return &p->addr;
}

/*
 * A slot of dest's inbox for us, or NULL with -EAGAIN (full). Once
 * reserved it must be published, VOID if nothing else.
 */
static struct shm_slot *slot_reserve(struct shm_inbox *box, uint64_t *ticket)
{
	uint64_t t = atomic_load(&box->tail);

	for (;;) {
		uint64_t h = atomic_load_explicit(&box->head,
						  memory_order_acquire);

		if (t - h >= SHM_SLOTS)
			return NULL;
		if (atomic_compare_exchange_weak(&box->tail, &t, t + 1))
			break;
	}
	*ticket = t;
	return &box->slots[t & (SHM_SLOTS - 1)];
}

static void slot_publish(struct shm_slot *s, uint64_t ticket)
{
	atomic_store_explicit(&s->seq, ticket + 1, memory_order_release);
}

/*
 * The report of a send with a cookie, allocated before the message is
 * published (after that nothing may fail), queued once it is.
 */
static int done_alloc(void *cookie, struct shm_done **d)
{
	*d = NULL;
	if (!cookie)
		return 0;
	*d = malloc(sizeof(**d));
	if (!*d)
		return -ENOMEM;
	(*d)->cookie = cookie;
	(*d)->err = 0;
	return 0;
}

static void done_queue(struct shm_transport *t, struct shm_done *d)
{
	if (d)
		shim_list_append(&t->done, &d->node);
}

/*
 * A slot of p's inbox and the report of the send using it (see above):
 * 0, or an error with nothing taken.
 */
static int slot_claim(struct shm_peer *p, void *cookie, struct shm_done **d,
		      struct shm_slot **s, uint64_t *ticket)
{
	if (done_alloc(cookie, d))
		return -ENOMEM;
	*s = slot_reserve(p->box, ticket);
	if (*s)
		return 0;
	free(*d);
	return inbox_full(p->box);
}

static size_t iov_total(const struct iovec *iov, unsigned niov)
{
	size_t len = 0;

	while (niov--)
		len += iov[niov].iov_len;
	return len;
}

static int shm_send_eager(void *tp, psm2_epaddr_t dest, const void *hdr,
			  const struct iovec *iov, unsigned niov, void *cookie)
{
	struct shm_transport *t = tp;
	struct shm_peer *p = (struct shm_peer *)dest;
	size_t len = iov_total(iov, niov), off = 0;
	struct shm_done *d;
	struct shm_slot *s;
	uint64_t ticket;
	unsigned i;
	int err;

	if (len > SHM_SLOT_PAYLOAD)
		return -EMSGSIZE;
	err = slot_claim(p, cookie, &d, &s, &ticket);
	if (err)
		return err;
	s->src = t->id;
	s->len = (uint32_t)len;
	s->flags = 0;
	memcpy(s->hdr, hdr, SHIM_WIRE_HDR_BYTES);
	for (i = 0; i < niov; i++) {
		memcpy(s->payload + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	slot_publish(s, ticket);
	done_queue(t, d);
	return 0;
}

static int shm_send_expected(void *tp, psm2_epaddr_t dest, uint64_t handle,
			     uint64_t offset, const void *hdr,
			     const struct iovec *iov, unsigned niov,
			     void *cookie)
{
	struct shm_transport *t = tp;
	struct shm_peer *p = (struct shm_peer *)dest;
	size_t len = iov_total(iov, niov);
	struct shm_done *d;
	struct iovec remote;
	struct shm_slot *s;
	uint64_t ticket;
	ssize_t n;
	int err;

	err = slot_claim(p, cookie, &d, &s, &ticket);
	if (err)
		return err;
	remote.iov_base = (void *)(uintptr_t)(handle + offset);
	remote.iov_len = len;
	/* One copy, into the receiver's registered window. */
	n = len ? process_vm_writev(p->box->owner, iov, niov, &remote, 1, 0) :
		  0;
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EFAULT;
	else
		t->cma_bytes += len;
	s->src = t->id;
	s->len = 0;
	s->flags = err ? SHM_SLOT_VOID : SHM_SLOT_EXPECTED;
	memcpy(s->hdr, hdr, SHIM_WIRE_HDR_BYTES);
	slot_publish(s, ticket);
	if (err) {
		free(d);
		return err;
	}
	done_queue(t, d);
	return 0;
}

static int shm_register(void *tp, void *buf, size_t len, uint64_t *handle)
{
	(void)tp;
	if (!len || len > SHM_REGISTER_MAX || !buf)
		return -EINVAL;
	*handle = (uintptr_t)buf;	/* the peer writes there by CMA */
	return 0;
}

static int shm_release(void *tp, uint64_t handle, bool filled)
{
	(void)tp;
	(void)handle;
	(void)filled;
	return 0;
}

/*
 * Peers write our inbox without waking us, so an engine that also has the
 * HFI must not sleep long in the HFI's poll(): with local peers it spins,
 * as Open MPI's vader does; without any yet (a peer may write first) it
 * looks at the inbox every millisecond.
 */
static int shm_wait_time(void *tp, int timeout_ms)
{
	struct shm_transport *t = tp;

	if (!shim_list_empty(&t->peers))
		return 0;
	return timeout_ms < 0 || timeout_ms > 1 ? 1 : timeout_ms;
}

static int shm_poll(void *tp)
{
	struct shm_transport *t = tp;
	struct shm_inbox *box = t->box;
	struct shim_list *pos, *tmp;
	int moved = 0, budget = SHM_POLL_BUDGET;

	shim_list_for_each_safe(pos, tmp, &t->done) {
		struct shm_done *d = shim_container_of(pos, struct shm_done,
						       node);

		shim_list_del(pos);
		if (t->mq)
			shim_mq_send_done(t->mq, d->cookie, d->err);
		free(d);
		moved = 1;
	}
	while (t->mq && budget--) {
		uint64_t h = atomic_load_explicit(&box->head,
						  memory_order_relaxed);
		struct shm_slot *s = &box->slots[h & (SHM_SLOTS - 1)];
		psm2_epaddr_t src;

		if (atomic_load_explicit(&s->seq, memory_order_acquire) != h + 1)
			break;
		src = shm_transport_peer(t, s->src);
		if (src && s->flags & SHM_SLOT_EXPECTED)
			shim_mq_recv_expected(t->mq, src, s->hdr);
		else if (src && !(s->flags & SHM_SLOT_VOID))
			shim_mq_recv(t->mq, src, s->hdr, s->payload, s->len);
		/* Only now: the engine has copied what it keeps. */
		atomic_store_explicit(&box->head, h + 1, memory_order_release);
		moved = 1;
	}
	return moved;
}

struct shm_transport *shm_transport_create(const char *job, uint64_t id)
{
	struct shm_transport *t = calloc(1, sizeof(*t));
	int fd;

	if (!t)
		return NULL;
	snprintf(t->job, sizeof(t->job), "%s", job);
	t->id = id;
	inbox_name(t->name, sizeof(t->name), job, id);
	fd = shm_open(t->name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct shm_inbox))) {
		int e = errno;

		if (fd >= 0) {
			close(fd);
			shm_unlink(t->name);
		}
		free(t);
		errno = e;
		return NULL;
	}
	t->box = inbox_map(fd);
	close(fd);
	if (!t->box) {
		shm_unlink(t->name);
		free(t);
		return NULL;
	}
	if (pidns_of_self(&t->box->pidns_dev, &t->box->pidns_ino)) {
		munmap(t->box, sizeof(*t->box));
		shm_unlink(t->name);
		free(t);
		return NULL;
	}
	t->box->owner = getpid();
	t->box->nslots = SHM_SLOTS;
	t->box->version = SHM_VERSION;
	atomic_store_explicit(&t->box->magic, SHM_MAGIC, memory_order_release);
	shim_list_init(&t->peers);
	shim_list_init(&t->done);
	t->ops.send_eager = shm_send_eager;
	t->ops.send_expected = shm_send_expected;
	t->ops.register_recv_buffer = shm_register;
	t->ops.release_recv_buffer = shm_release;
	t->ops.poll = shm_poll;
	t->ops.wait_time = shm_wait_time;
	t->ops.eager_max = SHM_SLOT_PAYLOAD;
	t->ops.register_max = SHM_REGISTER_MAX;
	return t;
}

void shm_transport_destroy(struct shm_transport *t)
{
	struct shim_list *pos, *tmp;

	if (!t)
		return;
	shim_list_for_each_safe(pos, tmp, &t->peers) {
		struct shm_peer *p = shim_container_of(pos, struct shm_peer,
						       node);

		shim_list_del(pos);
		shim_peer_fini(&p->addr);
		munmap(p->box, sizeof(*p->box));
		free(p);
	}
	shim_list_for_each_safe(pos, tmp, &t->done) {
		shim_list_del(pos);
		free(shim_container_of(pos, struct shm_done, node));
	}
	munmap(t->box, sizeof(*t->box));
	shm_unlink(t->name);
	free(t);
}

const struct shim_transport_ops *shm_transport_ops(struct shm_transport *t)
{
	return &t->ops;
}

uint64_t shm_transport_cma_bytes(struct shm_transport *t)
{
	return t->cma_bytes;
}

void shm_transport_set_ep(struct shm_transport *t, struct psm2_ep *ep)
{
	t->ep = ep;
}

void shm_transport_set_mq(struct shm_transport *t, psm2_mq_t mq)
{
	t->mq = mq;
}
