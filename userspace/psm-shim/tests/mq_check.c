// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Checked messages between hand-driven MQs (mq_check.h). */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "loopback.h"
#include "mq_check.h"

static psm2_mq_t const *progress_set;

void mq_check_set(psm2_mq_t const *mqs)
{
	progress_set = mqs;
}

psm2_error_t mq_check_finish(psm2_mq_req_t *req, psm2_mq_status2_t *st)
{
	for (long i = 0; i < 10000000; i++) {
		psm2_error_t err = psm2_mq_test2(req, st);

		if (err != PSM2_MQ_NO_COMPLETIONS)
			return err;
		for (psm2_mq_t const *m = progress_set; m && *m; m++)
			shim_mq_progress(*m);
	}
	return PSM2_TIMEOUT;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 12));
}

void mq_check_exchange(psm2_mq_t from, psm2_epaddr_t dest, psm2_mq_t to,
		       psm2_epaddr_t src, uint32_t len, uint32_t tag)
{
	uint8_t *tx = malloc(len + 1), *rx = calloc(1, len + 1);
	psm2_mq_tag_t t = lb_tag(tag, 1, 2);
	psm2_mq_status2_t st;
	psm2_mq_req_t s, r;

	CU_ASSERT_FATAL(tx && rx);
	fill(tx, len, tag);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_irecv2(to, src, &t,
					     (psm2_mq_tag_t *)&lb_all_bits, 0,
					     rx, len, NULL, &r), PSM2_OK);
	CU_ASSERT_EQUAL_FATAL(psm2_mq_isend2(from, dest, 0, &t, tx, len, NULL,
					     &s), PSM2_OK);
	CU_ASSERT_EQUAL(mq_check_finish(&s, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(mq_check_finish(&r, &st), PSM2_OK);
	CU_ASSERT_EQUAL(st.error_code, PSM2_OK);
	CU_ASSERT_EQUAL(st.nbytes, len);
	CU_ASSERT(memcmp(tx, rx, len) == 0);
	free(tx);
	free(rx);
}
