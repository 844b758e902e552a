/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The MQ engine's wire between endpoints of one node (PSM2's "shm"
 * device), a struct shim_transport_ops like the HFI's:
 *  - each endpoint owns an inbox, a POSIX shared-memory object named after
 *    the job and the endpoint (mode 0600: only the same user opens it),
 *    holding a ring of slots that any local peer writes and the owner
 *    reads, in ticket order;
 *  - eager: the message is copied into a slot (header and payload), so
 *    the sender's buffer is free at once;
 *  - expected: the receiver's window handle is its address; the sender
 *    writes the payload straight into it with process_vm_writev (one copy,
 *    as Open MPI's vader does with CMA), then posts the header.
 * An endpoint uses it when PSM2_DEVICES has shm but not hfi (ep.c); the
 * host tests drive it directly.
 */
#ifndef PSM_SHIM_SHM_TRANSPORT_H
#define PSM_SHIM_SHM_TRANSPORT_H

#include <stdint.h>

#include "mq.h"
#include "transport.h"

#define SHM_SLOTS 64			/* a power of two */
#define SHM_SLOT_PAYLOAD (64u << 10)	/* the eager limit */

struct shm_transport;

/*
 * Our inbox for endpoint `id` of job `job` (a short name: the job key in
 * hex). NULL and errno set on failure (EEXIST: that inbox is taken).
 */
struct shm_transport *shm_transport_create(const char *job, uint64_t id);
/* Unlinks our inbox, unmaps the peers'. Reported sends are done. */
void shm_transport_destroy(struct shm_transport *t);
const struct shim_transport_ops *shm_transport_ops(struct shm_transport *t);
/* Where received messages go (NULL: they wait in the inbox). */
void shm_transport_set_mq(struct shm_transport *t, psm2_mq_t mq);
/* The endpoint its peers belong to (psm2_epaddr.ep). */
void shm_transport_set_ep(struct shm_transport *t, struct psm2_ep *ep);
/*
 * The peer whose inbox is `id` in our job, opened on first use: NULL if
 * there is none on this node (or it is not ours to open).
 */
psm2_epaddr_t shm_transport_peer(struct shm_transport *t, uint64_t id);
/* Payload bytes written straight into peers' windows (one copy). */
uint64_t shm_transport_cma_bytes(struct shm_transport *t);

#endif /* PSM_SHIM_SHM_TRANSPORT_H */
