/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * A checked message between MQs of a host test that drives its own
 * transports (test_shm_transport.c, test_mq_wires.c): progress by hand
 * on every MQ of the test, data compared.
 */
#ifndef PSM_SHIM_MQ_CHECK_H
#define PSM_SHIM_MQ_CHECK_H

#include <stdint.h>

#include "mq.h"

/* The MQs to progress while waiting (NULL-terminated). */
void mq_check_set(psm2_mq_t const *mqs);
/* Until req completes, progressing them all: its error, or PSM2_TIMEOUT. */
psm2_error_t mq_check_finish(psm2_mq_req_t *req, psm2_mq_status2_t *st);
/*
 * len patterned bytes from `from` to dest, received on `to` from src (or
 * PSM2_MQ_ANY_ADDR): both requests finish without error, data equal
 * (CUnit asserts).
 */
void mq_check_exchange(psm2_mq_t from, psm2_epaddr_t dest, psm2_mq_t to,
		       psm2_epaddr_t src, uint32_t len, uint32_t tag);

#endif /* PSM_SHIM_MQ_CHECK_H */
