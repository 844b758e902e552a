// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Host tests of one MQ over two wires (PSM2's default devices: the HFI for
 * remote peers, shm for local ones; mq.h shim_mq_create_wires). Endpoint A
 * has a "far" wire of kind HFI and a "near" one of kind SHM; B is reached
 * through the far one, C through the near one. Every wire here is a shm
 * transport (its own inbox), so the test sees which one carried what: its
 * CMA bytes, and the kind's rendezvous threshold (HFI 64 KiB, SHM 16000 B
 * by default, PSM2_MQ_RNDV_{HFI,SHM}_SZ).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "loopback.h"
#include "mq_check.h"
#include "shm_transport.h"

enum { ID_A_FAR = 1, ID_A_NEAR, ID_B, ID_C };

static char job[32];
static struct shm_transport *a_far, *a_near, *tb, *tc;
static psm2_mq_t mqa, mqb, mqc;
static psm2_epaddr_t a_to_b, a_to_c, b_to_a, c_to_a;
static psm2_mq_t progress[4];


static int setup(void)
{
	struct shim_wire wires[2];

	snprintf(job, sizeof(job), "wires%d", (int)getpid());
	a_far = shm_transport_create(job, ID_A_FAR);
	a_near = shm_transport_create(job, ID_A_NEAR);
	tb = shm_transport_create(job, ID_B);
	tc = shm_transport_create(job, ID_C);
	if (!a_far || !a_near || !tb || !tc)
		return -1;
	wires[0] = (struct shim_wire){ shm_transport_ops(a_far), a_far,
				       SHIM_WIRE_HFI };
	wires[1] = (struct shim_wire){ shm_transport_ops(a_near), a_near,
				       SHIM_WIRE_SHM };
	if (shim_mq_create_wires(NULL, NULL, wires, 2, NULL, &mqa) ||
	    shim_mq_create(NULL, NULL, shm_transport_ops(tb), tb, NULL, &mqb))
		return -1;
	wires[0] = (struct shim_wire){ shm_transport_ops(tc), tc,
				       SHIM_WIRE_SHM };
	if (shim_mq_create_wires(NULL, NULL, wires, 1, NULL, &mqc))
		return -1;
	shm_transport_set_mq(a_far, mqa);
	shm_transport_set_mq(a_near, mqa);
	shm_transport_set_mq(tb, mqb);
	shm_transport_set_mq(tc, mqc);
	a_to_b = shm_transport_peer(a_far, ID_B);
	a_to_c = shm_transport_peer(a_near, ID_C);
	b_to_a = shm_transport_peer(tb, ID_A_FAR);
	c_to_a = shm_transport_peer(tc, ID_A_NEAR);
	progress[0] = mqa;
	progress[1] = mqb;
	progress[2] = mqc;
	mq_check_set(progress);
	return a_to_b && a_to_c && b_to_a && c_to_a ? 0 : -1;
}

static int teardown(void)
{
	shim_mq_destroy(mqa);
	shim_mq_destroy(mqb);
	shim_mq_destroy(mqc);
	shm_transport_destroy(a_far);
	shm_transport_destroy(a_near);
	shm_transport_destroy(tb);
	shm_transport_destroy(tc);
	return 0;
}

static uint64_t cma(struct shm_transport *t)
{
	return shm_transport_cma_bytes(t);
}

/* Each peer through its own wire, every size, both ways, data checked. */
static void test_each_peer_its_wire(void)
{
	static const uint32_t sizes[] = { 0, 1, 4096, 16000, 16001, 65536,
					  65537, 1 << 20, (2 << 20) + 3 };
	uint64_t far0 = cma(a_far), near0 = cma(a_near), b0 = cma(tb),
		 c0 = cma(tc);
	uint32_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		mq_check_exchange(mqa, a_to_b, mqb, b_to_a, sizes[i], i);
		mq_check_exchange(mqa, a_to_c, mqc, c_to_a, sizes[i], 100 + i);
		mq_check_exchange(mqb, b_to_a, mqa, a_to_b, sizes[i], 200 + i);
		mq_check_exchange(mqc, c_to_a, mqa, a_to_c, sizes[i], 300 + i);
	}
	/* Rendezvous payload left by the wire of the peer it went to. */
	CU_ASSERT(cma(a_far) - far0 >= (3u << 20));
	CU_ASSERT(cma(a_near) - near0 >= (3u << 20));
	CU_ASSERT(cma(tb) - b0 >= (3u << 20));
	CU_ASSERT(cma(tc) - c0 >= (3u << 20));
}

/* One receive posted for anyone gets messages from both wires. */
static void test_any_source_from_both(void)
{
	mq_check_exchange(mqb, b_to_a, mqa, PSM2_MQ_ANY_ADDR, 100, 400);
	mq_check_exchange(mqc, c_to_a, mqa, PSM2_MQ_ANY_ADDR, 100, 401);
	mq_check_exchange(mqc, c_to_a, mqa, PSM2_MQ_ANY_ADDR, 40000, 402);
	mq_check_exchange(mqb, b_to_a, mqa, PSM2_MQ_ANY_ADDR, 70000, 403);
}

/*
 * 12000 B: above the HFI's default threshold (8 KiB), below shm's (16000,
 * Intel's): rendezvous to B, eager to C. Each knob moves only its own
 * wire's threshold.
 */
static void test_threshold_per_kind(void)
{
	uint32_t hfi = 0, shm = 0, v;
	uint64_t far0, near0;

	CU_ASSERT_EQUAL(psm2_mq_getopt(mqa, PSM2_MQ_RNDV_HFI_SZ, &hfi),
			PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_getopt(mqa, PSM2_MQ_RNDV_SHM_SZ, &shm),
			PSM2_OK);
	CU_ASSERT_EQUAL(hfi, SHIM_MQ_RNDV_THRESHOLD_DEFAULT);
	CU_ASSERT_EQUAL(shm, SHIM_MQ_RNDV_SHM_THRESHOLD_DEFAULT);

	far0 = cma(a_far);
	near0 = cma(a_near);
	mq_check_exchange(mqa, a_to_b, mqb, b_to_a, 12000, 500);
	mq_check_exchange(mqa, a_to_c, mqc, c_to_a, 12000, 501);
	CU_ASSERT_EQUAL(cma(a_far) - far0, 12000);	/* rendezvous */
	CU_ASSERT_EQUAL(cma(a_near), near0);		/* eager */

	v = 8000;
	CU_ASSERT_EQUAL(psm2_mq_setopt(mqa, PSM2_MQ_RNDV_SHM_SZ, &v), PSM2_OK);
	v = 30000;
	CU_ASSERT_EQUAL(psm2_mq_setopt(mqa, PSM2_MQ_RNDV_HFI_SZ, &v), PSM2_OK);
	far0 = cma(a_far);
	near0 = cma(a_near);
	mq_check_exchange(mqa, a_to_b, mqb, b_to_a, 12000, 502);
	mq_check_exchange(mqa, a_to_c, mqc, c_to_a, 12000, 503);
	CU_ASSERT_EQUAL(cma(a_far), far0);		/* eager now */
	CU_ASSERT_EQUAL(cma(a_near) - near0, 12000);	/* rendezvous now */
	CU_ASSERT_EQUAL(psm2_mq_getopt(mqa, PSM2_MQ_RNDV_SHM_SZ, &shm),
			PSM2_OK);
	CU_ASSERT_EQUAL(shm, 8000);

	/* Above a wire's eager limit: capped, every message still fits. */
	v = 1u << 30;
	CU_ASSERT_EQUAL(psm2_mq_setopt(mqa, PSM2_MQ_RNDV_SHM_SZ, &v), PSM2_OK);
	CU_ASSERT_EQUAL(psm2_mq_getopt(mqa, PSM2_MQ_RNDV_SHM_SZ, &shm),
			PSM2_OK);
	CU_ASSERT_EQUAL(shm, SHM_SLOT_PAYLOAD);
	mq_check_exchange(mqa, a_to_c, mqc, c_to_a, SHM_SLOT_PAYLOAD + 1, 504);

	v = SHIM_MQ_RNDV_SHM_THRESHOLD_DEFAULT;
	psm2_mq_setopt(mqa, PSM2_MQ_RNDV_SHM_SZ, &v);
	v = SHIM_MQ_RNDV_THRESHOLD_DEFAULT;
	psm2_mq_setopt(mqa, PSM2_MQ_RNDV_HFI_SZ, &v);
}

/* What the MQ refuses to be built from. */
static void test_bad_wires(void)
{
	struct shim_transport_ops sleeper = *shm_transport_ops(tb);
	struct shim_wire w[3];
	psm2_mq_t mq = NULL;

	w[0] = (struct shim_wire){ shm_transport_ops(tb), tb, SHIM_WIRE_HFI };
	w[1] = w[0];
	w[2] = w[0];
	CU_ASSERT_EQUAL(shim_mq_create_wires(NULL, NULL, w, 0, NULL, &mq),
			PSM2_PARAM_ERR);
	CU_ASSERT_EQUAL(shim_mq_create_wires(NULL, NULL, w, 3, NULL, &mq),
			PSM2_PARAM_ERR);
	w[1].ops = NULL;
	CU_ASSERT_EQUAL(shim_mq_create_wires(NULL, NULL, w, 2, NULL, &mq),
			PSM2_PARAM_ERR);
	/* Two wires that both want to sleep: one poll() cannot serve both. */
	sleeper.wait = (int (*)(void *, int))1;
	w[0].ops = &sleeper;
	w[1].ops = &sleeper;
	CU_ASSERT_EQUAL(shim_mq_create_wires(NULL, NULL, w, 2, NULL, &mq),
			PSM2_PARAM_ERR);
	CU_ASSERT_PTR_NULL(mq);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("MQ over two wires", setup, teardown);
	CU_add_test(s, "each peer through its wire, 0 B .. 2 MiB, both ways",
		    test_each_peer_its_wire);
	CU_add_test(s, "a receive from any source gets both wires'",
		    test_any_source_from_both);
	CU_add_test(s, "rendezvous threshold per kind (HFI_SZ, SHM_SZ)",
		    test_threshold_per_kind);
	CU_add_test(s, "bad wire sets refused", test_bad_wires);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
