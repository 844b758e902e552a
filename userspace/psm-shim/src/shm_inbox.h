/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The layout of a shm inbox (shm_transport.h), shared by every process of
 * a job on a node: one version of the library at a time (SHM_VERSION).
 * Only shm_transport.c and its tests include it.
 */
#ifndef PSM_SHIM_SHM_INBOX_H
#define PSM_SHIM_SHM_INBOX_H

#include <stdint.h>

#include "shm_transport.h"

#define SHM_MAGIC 0x70736d32u		/* "psm2" */
#define SHM_VERSION 2u

enum shm_slot_flags {
	SHM_SLOT_EXPECTED = 1 << 0,	/* header only: payload written by CMA */
	SHM_SLOT_VOID = 1 << 1,		/* a reservation given up: skip */
};

struct shm_slot {
	_Atomic uint64_t seq;		/* ticket + 1 once written */
	uint64_t src;			/* the sender's inbox id */
	uint32_t len;
	uint32_t flags;			/* enum shm_slot_flags */
	uint8_t hdr[SHIM_WIRE_HDR_BYTES];
	uint8_t payload[SHM_SLOT_PAYLOAD];
};

struct shm_inbox {
	_Atomic uint32_t magic;		/* set last, once the rest is */
	uint32_t version;
	int32_t owner;			/* pid, for process_vm_writev */
	uint32_t nslots;
	/*
	 * The owner's pid namespace (its /proc/self/ns/pid): a peer in
	 * another one (a container sharing /dev/shm but not pids) would
	 * write into whatever process owner names there, so it must not
	 * use this inbox.
	 */
	uint64_t pidns_dev;
	uint64_t pidns_ino;
	_Atomic uint64_t tail;		/* next ticket (writers) */
	_Atomic uint64_t head;		/* next to read (owner) */
	struct shm_slot slots[SHM_SLOTS];
};

#endif /* PSM_SHIM_SHM_INBOX_H */
