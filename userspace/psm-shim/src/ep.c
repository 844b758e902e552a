// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Endpoints over the emulated HFI: device units from the broker's sysfs
 * discovery, a receive context per endpoint (hfictx: "sdma.opa", else the
 * legacy "psm2.intel.com"), the HFI transport under the MQ, connect by
 * (LID, context), blocking waits on the context's fd.
 *
 * Environment (read at psm2_ep_open / psm2_mq_init):
 *   HFI_UNIT                    unit index when opts.unit is -1, as with
 *                               Intel's PSM2 (indices count units offering
 *                               the HFI, in uverbs order)
 *   PSM2_MQ_RNDV_HFI_THRESH     eager -> rendezvous threshold (bytes)
 *   PSM2_MQ_RNDV_HFI_WINDOW     rendezvous window (bytes)
 *   PSM2_SHIM_SPIN_US           a blocking wait polls this long before it
 *                               sleeps on the context fd (default 100)
 *   PSM2_SHIM_RESEND_TIMEOUT_MS give up resending to a full receiver
 *   PSM2_SHIM_RESEND_MAX_US     longest backoff between resends
 *   PSM2_SHIM_TID_CACHE         0: register every receive window anew
 *                               (default 1: keep tids that follow their
 *                               mapping, sdma.opa 4)
 *   PSM2_SHIM_TID_CACHE_MB      idle cached tids kept pinned at most
 *                               (default: a quarter of RLIMIT_MEMLOCK, or
 *                               1024 without a limit)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <psm2.h>
#include <psm2_mq.h>

#include "drvops.h"
#include "ep.h"
#include "hfi_transport.h"
#include "mq.h"
#include "shm_transport.h"
#include "shim.h"

/* Open endpoints; the list (not the endpoints) under open_eps_lock. */
static struct shim_list open_eps = { &open_eps, &open_eps };
static pthread_mutex_t open_eps_lock = PTHREAD_MUTEX_INITIALIZER;

/* ----------------------------------------------- hfictx as hfi_dev_ops */

static int dev_send(void *dev, struct drvops_hfi_msg *m, unsigned n)
{
	return drvops_hfi_send_batch(dev, m, n);
}

static int dev_slot_status(void *dev, int slot)
{
	return drvops_hfi_slot_status(dev, slot);
}

static const volatile struct drvops_hfi_rhq_entry *dev_peek(void *dev)
{
	return drvops_hfi_peek(dev);
}

static const void *dev_eager_payload(void *dev,
				     const volatile struct drvops_hfi_rhq_entry *e)
{
	return drvops_hfi_eager_payload(dev, e);
}

static void dev_consume(void *dev, const volatile struct drvops_hfi_rhq_entry *e)
{
	drvops_hfi_consume(dev, e);
}

static int dev_tid_register(void *dev, void *buf, size_t len, uint32_t *tid)
{
	return drvops_hfi_tid_register(dev, buf, len, tid);
}

static int dev_tid_register_notify(void *dev, void *buf, size_t len,
				   uint32_t *tid)
{
	return drvops_hfi_tid_register_notify(dev, buf, len, tid);
}

static bool dev_tid_stale(void *dev, uint32_t tid)
{
	return drvops_hfi_tid_stale(dev, tid);
}

static int dev_tid_free(void *dev, uint32_t tid)
{
	return drvops_hfi_tid_free(dev, tid);
}

/* Runs without the endpoint's lock: the fd only, not the ring. */
static int dev_wait_recv(void *dev, int timeout_ms)
{
	return drvops_hfi_poll_event(dev, timeout_ms);
}

static void dev_comps_reaped(void *dev, uint32_t n)
{
	drvops_hfi_comps_reaped(dev, n);
}

static uint64_t dev_now_ns(void *dev)
{
	(void)dev;
	return shim_mono_ns();
}

static const struct hfi_dev_ops hfictx_dev_ops = {
	.send = dev_send,
	.slot_status = dev_slot_status,
	.peek = dev_peek,
	.eager_payload = dev_eager_payload,
	.consume = dev_consume,
	.tid_register = dev_tid_register,
	.tid_free = dev_tid_free,
	.tid_register_notify = dev_tid_register_notify,
	.tid_stale = dev_tid_stale,
	.wait_recv = dev_wait_recv,
	.comps_reaped = dev_comps_reaped,
	.now_ns = dev_now_ns,
};

/* ---------------------------------------------------------- discovery */

static int offers_hfi(const struct drvops_device_info *dev)
{
	struct drvops_interface_entry e[16];
	int n = drvops_sysfs_interfaces(dev, e, 16, NULL), i;

	for (i = 0; i < n; i++)
		if (!strncmp(e[i].name, DRVOPS_HFI_NAME, DRVOPS_NAME_MAX) ||
		    !strncmp(e[i].name, DRVOPS_HFI_LEGACY_NAME,
			     DRVOPS_NAME_MAX))
			return 1;
	return 0;
}

/* Units offering the HFI, in uverbs order: our unit numbers. */
static int list_units(struct drvops_device_info *units, unsigned max)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int n = drvops_list_devices(devs, DRVOPS_MAX_DEVICES), i;
	unsigned count = 0;

	if (n < 0)
		return n;
	for (i = 0; i < n && count < max; i++)
		if (offers_hfi(&devs[i]))
			units[count++] = devs[i];
	return (int)count;
}

SHIM_API psm2_error_t psm2_ep_num_devunits(uint32_t *num_units)
{
	struct drvops_device_info units[DRVOPS_MAX_DEVICES];
	int n;

	if (!num_units)
		return shim_report(NULL, PSM2_PARAM_ERR, "num_devunits: NULL");
	n = list_units(units, DRVOPS_MAX_DEVICES);
	if (n < 0)
		return shim_report(NULL, PSM2_EP_NO_DEVICE,
				   "num_devunits: discovery failed (%s)",
				   strerror(-n));
	*num_units = (uint32_t)n;
	return PSM2_OK;
}

/* ------------------------------------------------------------- open */

/* A context on unit; 0 or a negative errno (-ENOSPC: all taken). */
static int open_on(struct psm2_ep *ep, const struct drvops_device_info *dev)
{
	int fd = drvops_open_device(dev), ret;

	if (fd < 0)
		return fd;
	ret = drvops_get_context(fd);
	if (!ret)
		ret = drvops_hfi_open(&ep->hfi, fd, ep->uuid, 0);
	if (ret) {
		close(fd);
		return ret;
	}
	ep->uverbs_fd = fd;
	return 0;
}

static int env_unit(void)
{
	const char *s = getenv("HFI_UNIT");
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	return *end || v < 0 || v > 0xffff ? -1 : (int)v;
}

/* CAP_IPC_LOCK in our effective set (pinning is then not limited). */
static bool can_lock_memory(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long eff = 0;
	char line[256];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return found && (eff & (1ull << 14));	/* CAP_IPC_LOCK */
}

/*
 * Largest receive window to pin (hfi_dev_params.register_max): without
 * CAP_IPC_LOCK a quarter of RLIMIT_MEMLOCK, since sends in flight and
 * other receives pin too; 0 (the device's limit) when pinning is not
 * limited. Debian's default 8 MiB gives 2 MiB windows.
 */
static uint64_t pin_budget_window(void)
{
	struct rlimit rl;
	uint64_t w;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    can_lock_memory())
		return 0;
	w = (uint64_t)(rl.rlim_cur / 4) & ~4095ull;
	return w < 65536 ? 65536 : w;
}

/*
 * The registration cache (hfi_dev_params.tid_cache): on where the unit's
 * tids follow their mapping, unless PSM2_SHIM_TID_CACHE=0; idle tids may
 * keep PSM2_SHIM_TID_CACHE_MB pinned, by default as much as one receive
 * window may (pin_budget_window) or 1 GiB when pinning is not limited.
 */
static void tid_cache_params(const struct drvops_hfi_ctx *h,
			     struct hfi_dev_params *params)
{
	const char *on = getenv("PSM2_SHIM_TID_CACHE");

	params->tid_cache = drvops_hfi_has_tid_notify(h) &&
			    !(on && !strcmp(on, "0"));
	params->tid_cache_bytes = params->register_max ? params->register_max :
				  1ull << 30;
	shim_env_u64("PSM2_SHIM_TID_CACHE_MB", &params->tid_cache_bytes,
		     1ull << 20);
}

/* Random, non-zero: the same context reopened is another endpoint. */
static uint16_t new_generation(void)
{
	uint16_t g = 0;

	while (!g)
		if (getrandom(&g, sizeof(g), 0) != sizeof(g))
			g = (uint16_t)(shim_mono_ns() ^ (uint64_t)getpid() << 4);
	return g;
}

/* The driver's UNIT_INFO of dev, without taking a context. */
static int device_unit_info(const struct drvops_device_info *dev,
			    struct drvops_hfi_unit_info *info)
{
	int fd = drvops_open_device(dev), ret;

	if (fd < 0)
		return fd;
	ret = drvops_get_context(fd);
	if (!ret)
		ret = drvops_hfi_unit_info(fd, info);
	close(fd);
	return ret;
}

/*
 * Take a context: on the unit asked for, or the first unit with a free
 * one. Every context taken fails at once, saying which unit and what to
 * raise: waiting would only run into the MPI's own connect timeout.
 */
static psm2_error_t ep_attach(struct psm2_ep *ep, int want)
{
	struct drvops_device_info units[DRVOPS_MAX_DEVICES];
	int n = list_units(units, DRVOPS_MAX_DEVICES), i, ret = -ENODEV;
	struct drvops_hfi_unit_info ui = { 0 };

	if (n < 0)
		return shim_report(NULL, PSM2_EP_NO_DEVICE,
				   "ep_open: discovery failed (%s)",
				   strerror(-n));
	if (n == 0)
		return shim_report(NULL, PSM2_EP_NO_DEVICE,
				   "ep_open: no unit offers %s or %s",
				   DRVOPS_HFI_NAME, DRVOPS_HFI_LEGACY_NAME);
	if (want >= n)
		return shim_report(NULL, PSM2_EP_NO_DEVICE,
				   "ep_open: unit %d of %d", want, n);
	for (i = want >= 0 ? want : 0; i < n; i++) {
		ret = open_on(ep, &units[i]);
		if (!ret) {
			ep->unit = (unsigned)i;
			return PSM2_OK;
		}
		if (want >= 0 || ret != -ENOSPC)
			break;
	}
	if (ret == -ENOSPC)
		device_unit_info(&units[want >= 0 ? want : 0], &ui);
	if (ret == -ENOSPC && want >= 0)
		return shim_report(NULL, PSM2_EP_NO_RESOURCES,
				   "ep_open: all %u contexts of unit %d (%s) are taken; raise the drvops_hfi module parameter num_contexts (max 64)",
				   ui.num_contexts, want, units[want].ibdev);
	if (ret == -ENOSPC)
		return shim_report(NULL, PSM2_EP_NO_RESOURCES,
				   "ep_open: all %u contexts of each of the %d units are taken; raise the drvops_hfi module parameter num_contexts (max 64), or set HFI_UNIT",
				   ui.num_contexts, n);
	return shim_report(NULL, PSM2_EP_DEVICE_FAILURE,
			   "ep_open: cannot open a context (%s)",
			   strerror(-ret));
}

enum shim_devices {
	DEV_SELF = 1 << 0,
	DEV_SHM = 1 << 1,
	DEV_HFI = 1 << 2,
};

/* PSM2_DEVICES (Intel's default: all three), or -1 if it names others. */
static int devices_from_env(void)
{
	const char *s = getenv("PSM2_DEVICES");
	char buf[128], *tok, *save = NULL;
	int dev = 0;

	if (!s || !*s)
		return DEV_SELF | DEV_SHM | DEV_HFI;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(tok, "self"))
			dev |= DEV_SELF;
		else if (!strcmp(tok, "shm"))
			dev |= DEV_SHM;
		else if (!strcmp(tok, "hfi") || !strcmp(tok, "ipath"))
			dev |= DEV_HFI;
		else
			return -1;
	}
	return dev;
}

/* The job key in hex: our inboxes' names start with it (shm_transport.h). */
static void job_name(const struct psm2_ep *ep,
		     char job[2 * sizeof(psm2_uuid_t) + 1])
{
	unsigned i;

	for (i = 0; i < sizeof(psm2_uuid_t); i++)
		snprintf(job + 2 * i, 3, "%02x", ep->uuid[i]);
}

/*
 * An endpoint without HFI (PSM2_DEVICES has shm, not hfi: what Open MPI
 * asks when every rank is on one node): its inbox in /dev/shm is its
 * address; no context is taken. Every peer must be on this node.
 */
static psm2_error_t ep_open_shm(struct psm2_ep *ep)
{
	char job[2 * sizeof(psm2_uuid_t) + 1];
	static atomic_uint opened;	/* endpoints may open in threads */
	unsigned i;

	job_name(ep, job);
	for (i = 0; i < 8 && !ep->shm; i++) {
		uint16_t ctxt = (uint16_t)(getpid() * 31 +
					   atomic_fetch_add(&opened, 1));

		ep->gen = new_generation();
		ep->epid = shim_hfi_epid(SHIM_EPID_UNIT_SHM, SHIM_EPID_LID_SHM,
					 ctxt, ep->gen);
		ep->shm = shm_transport_create(job, ep->epid);
		if (!ep->shm && errno != EEXIST)
			break;
	}
	if (!ep->shm)
		return shim_report(NULL, PSM2_EP_DEVICE_FAILURE,
				   "ep_open: no shared-memory inbox (%s)",
				   strerror(errno));
	shm_transport_set_ep(ep->shm, ep);
	return PSM2_OK;
}

/*
 * An HFI endpoint with shm too (Intel's default devices): an inbox named
 * after its HFI epid, so a peer finds it exactly when it is on this node
 * and then reaches it through shared memory instead of the device. No
 * inbox (say, /dev/shm full) only means every peer goes through the HFI.
 */
static void ep_add_shm(struct psm2_ep *ep)
{
	char job[2 * sizeof(psm2_uuid_t) + 1];

	job_name(ep, job);
	ep->shm = shm_transport_create(job, ep->epid);
	if (ep->shm)
		shm_transport_set_ep(ep->shm, ep);
}

SHIM_API psm2_error_t psm2_ep_open(const psm2_uuid_t unique_job_key,
				   const struct psm2_ep_open_opts *opts_in,
				   psm2_ep_t *epo, psm2_epid_t *epid)
{
	struct psm2_ep_open_opts opts;
	struct hfi_dev_params params;
	struct hfi_resend_policy pol;
	struct psm2_ep *ep;
	psm2_error_t err;
	int unit, devices;

	if (!unique_job_key || !epo || !epid)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_open: NULL");
	if (!shim_initialized())
		return shim_report(NULL, PSM2_INIT_NOT_INIT,
				   "ep_open before psm2_init");
	if (opts_in)
		opts = *opts_in;
	else
		psm2_ep_open_opts_get_defaults(&opts);
	unit = opts.unit >= 0 ? opts.unit : env_unit();

	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return shim_report(NULL, PSM2_NO_MEMORY, "ep_open: no memory");
	if (shim_lock_init(&ep->lock)) {
		free(ep);
		return shim_report(NULL, PSM2_NO_MEMORY, "ep_open: no memory");
	}
	ep->errhandler = shim_global_errhandler();
	ep->uverbs_fd = -1;
	/* The job key keeps jobs apart on the fabric: the job's uuid. */
	_Static_assert(sizeof(psm2_uuid_t) == DRVOPS_HFI_JOB_KEY_LEN,
		       "the uuid is the job key");
	memcpy(ep->uuid, unique_job_key, sizeof(ep->uuid));
	devices = devices_from_env();
	if (devices < 0 || !(devices & (DEV_HFI | DEV_SHM))) {
		shim_lock_destroy(&ep->lock);
		free(ep);
		return shim_report(NULL, PSM2_PARAM_ERR,
				   "ep_open: PSM2_DEVICES=%s: we have hfi, shm and self",
				   getenv("PSM2_DEVICES"));
	}
	if (!(devices & DEV_HFI)) {
		err = ep_open_shm(ep);
		if (err) {
			shim_lock_destroy(&ep->lock);
			free(ep);
			return err;
		}
		goto opened;
	}
	err = ep_attach(ep, unit);
	if (err) {
		shim_lock_destroy(&ep->lock);
		free(ep);
		return err;
	}
	params.lid = (uint16_t)ep->hfi.info.lid;
	params.ctxt = (uint16_t)ep->hfi.info.ctxt;
	params.sdma_slots = ep->hfi.info.sdma_slots;
	params.max_iovs = ep->hfi.info.max_iovs;
	params.eager_max = ep->hfi.info.eager_max;
	params.legacy = ep->hfi.legacy;
	params.comp_events = drvops_hfi_has_comp_events(&ep->hfi);
	params.register_max = pin_budget_window();
	tid_cache_params(&ep->hfi, &params);
	hfi_resend_policy_defaults(&pol);
	hfi_resend_policy_from_env(&pol);
	ep->tp = hfi_transport_create(&hfictx_dev_ops, &ep->hfi, &params, &pol);
	if (!ep->tp) {
		drvops_hfi_close(&ep->hfi);
		close(ep->uverbs_fd);
		shim_lock_destroy(&ep->lock);
		free(ep);
		return shim_report(NULL, PSM2_NO_MEMORY, "ep_open: no memory");
	}
	ep->gen = new_generation();
	ep->epid = shim_hfi_epid(ep->unit, params.lid, params.ctxt, ep->gen);
	if (devices & DEV_SHM)
		ep_add_shm(ep);
opened:
	pthread_mutex_lock(&open_eps_lock);
	shim_list_append(&open_eps, &ep->node);
	pthread_mutex_unlock(&open_eps_lock);
	*epo = ep;
	*epid = ep->epid;
	return PSM2_OK;
}

/*
 * Progress until no send is pending or the deadline (0: none) passes.
 * With ep->lock held (released while yielding).
 */
static bool drain_sends(struct psm2_ep *ep, int64_t timeout)
{
	uint64_t deadline = timeout > 0 ? shim_mono_ns() + (uint64_t)timeout : 0;

	/* shm copies at send time: only what the engine still queues. */
	if (ep->shm) {
		for (int i = 0; i < 1000 && ep->mq; i++)
			if (shim_mq_progress(ep->mq) <= 0)
				break;
	}
	if (!ep->tp)
		return true;
	while (hfi_transport_pending(ep->tp)) {
		int r = ep->mq ? shim_mq_progress(ep->mq) :
				 hfi_transport_progress(ep->tp);

		if (r < 0 || (deadline && shim_mono_ns() >= deadline))
			return false;
		if (r == 0)
			shim_lock_yield(&ep->lock);
	}
	return true;
}

SHIM_API psm2_error_t psm2_ep_close(psm2_ep_t ep, int mode, int64_t timeout)
{
	bool drained = true;

	if (!ep)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_close: NULL");
	pthread_mutex_lock(&open_eps_lock);
	shim_list_del(&ep->node);
	pthread_mutex_unlock(&open_eps_lock);
	/* No other thread may use ep any more; those inside finish first. */
	shim_lock(&ep->lock);
	if (mode == PSM2_EP_CLOSE_GRACEFUL)
		drained = drain_sends(ep, timeout);
	if (ep->mq) {
		/* Its tids go back through the transport: before it goes. */
		shim_mq_destroy(ep->mq);
		ep->mq = NULL;
		if (ep->tp)
			hfi_transport_set_mq(ep->tp, NULL);
	}
	if (ep->shm)
		shm_transport_destroy(ep->shm);
	if (ep->tp) {
		hfi_transport_destroy(ep->tp);
		/* Closing the fd ends what is still in flight (with EIO). */
		drvops_hfi_close(&ep->hfi);
		close(ep->uverbs_fd);
	}
	shim_unlock(&ep->lock);
	shim_lock_destroy(&ep->lock);
	free(ep);
	return drained ? PSM2_OK :
			 shim_report(NULL, PSM2_EP_CLOSE_TIMEOUT,
				     "ep_close: sends still pending, closed anyway");
}

/* ----------------------------------------------------------- connect */

static psm2_error_t ep_connect_locked(psm2_ep_t ep, int num_of_epid,
				      const psm2_epid_t *array_of_epid,
				      const int *array_of_epid_mask,
				      psm2_error_t *array_of_errors,
				      psm2_epaddr_t *array_of_epaddr,
				      int64_t timeout)
{
	/* PSM2: a timeout of 0 waits until every peer answered or failed. */
	uint64_t deadline = timeout > 0 ? shim_mono_ns() + (uint64_t)timeout : 0;
	psm2_error_t first = PSM2_OK;
	struct hfi_peer **peers;
	bool waiting;
	int i;

	if (!ep || num_of_epid < 0 ||
	    (num_of_epid && (!array_of_epid || !array_of_errors ||
			     !array_of_epaddr)))
		return shim_report(ep, PSM2_PARAM_ERR, "ep_connect: bad args");
	peers = calloc((size_t)num_of_epid + 1, sizeof(*peers));
	if (!peers)
		return shim_report(ep, PSM2_NO_MEMORY, "ep_connect: no memory");

	for (i = 0; i < num_of_epid; i++) {
		psm2_epid_t epid = array_of_epid[i];
		struct hfi_peer *p;

		if (array_of_epid_mask && !array_of_epid_mask[i])
			continue;
		array_of_epaddr[i] = NULL;
		array_of_errors[i] = PSM2_OK;
		if (shim_epid_version(epid) != SHIM_EPID_VERSION) {
			array_of_errors[i] = PSM2_EPID_INVALID_VERSION;
			continue;
		}
		if (ep->shm) {
			/* Through shared memory if its inbox is on this node. */
			psm2_epaddr_t a = shm_transport_peer(ep->shm, epid);

			if (a) {
				shim_peer_set_generation(ep->mq, a,
							 shim_epid_gen(epid));
				array_of_epaddr[i] = a;
				continue;
			}
		}
		/* A shm-only endpoint elsewhere, or we have no HFI. */
		if (!ep->tp || shim_epid_unit(epid) == SHIM_EPID_UNIT_SHM) {
			array_of_errors[i] = PSM2_EPID_UNREACHABLE;
			continue;
		}
		p = hfi_transport_peer(ep->tp, ep, shim_epid_lid(epid),
				       shim_epid_ctxt(epid), epid, true);
		if (!p) {
			array_of_errors[i] = PSM2_NO_MEMORY;
			continue;
		}
		/*
		 * Known from its messages (or an old connection): now named.
		 * Another generation on that context is a new endpoint: probe
		 * it again, and start its sequences afresh (mq.h).
		 */
		if (p->addr.gen && p->addr.gen != shim_epid_gen(epid)) {
			p->connected = false;
			p->error = 0;
		}
		shim_peer_set_generation(ep->mq, &p->addr, shim_epid_gen(epid));
		p->addr.epid = epid;
		if (p->connected && !p->error) {
			array_of_epaddr[i] = &p->addr;
			continue;
		}
		p->error = 0;
		p->probe = 0;
		peers[i] = p;
	}

	/*
	 * Each new peer gets a header-only packet MQs ignore: the device's
	 * completion says whether (LID, context) exists with our job key.
	 */
	for (i = 0; i < num_of_epid && ep->tp; i++) {
		int r;

		if (!peers[i])
			continue;
		while ((r = hfi_transport_probe(ep->tp, peers[i])) == -EAGAIN)
			hfi_transport_progress(ep->tp);
		if (r < 0)
			peers[i]->probe = r;
	}
	do {
		int r = ep->tp ? hfi_transport_progress(ep->tp) : 0;

		if (r < 0) {
			free(peers);
			return shim_report(ep, shim_error_from_errno(r),
					   "ep_connect: device failed");
		}
		waiting = false;
		for (i = 0; i < num_of_epid; i++)
			waiting |= peers[i] && peers[i]->probe == 0;
		if (waiting && r == 0)
			shim_lock_yield(&ep->lock);
	} while (waiting && (!deadline || shim_mono_ns() < deadline));

	for (i = 0; i < num_of_epid; i++) {
		struct hfi_peer *p = peers[i];

		if (p) {
			if (p->probe == 1) {
				p->connected = true;
				array_of_epaddr[i] = &p->addr;
			} else {
				array_of_errors[i] =
					p->probe == 0 ? PSM2_TIMEOUT :
					shim_error_from_errno(p->probe);
			}
		}
		if ((!array_of_epid_mask || array_of_epid_mask[i]) &&
		    array_of_errors[i] != PSM2_OK && first == PSM2_OK)
			first = array_of_errors[i];
	}
	free(peers);
	if (first != PSM2_OK)
		return shim_report(ep, first, "ep_connect: not every peer");
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_ep_connect(psm2_ep_t ep, int num_of_epid,
				      const psm2_epid_t *array_of_epid,
				      const int *array_of_epid_mask,
				      psm2_error_t *array_of_errors,
				      psm2_epaddr_t *array_of_epaddr,
				      int64_t timeout)
{
	psm2_error_t err;

	if (!ep)
		return shim_report(ep, PSM2_PARAM_ERR, "ep_connect: bad args");
	shim_lock(&ep->lock);
	err = ep_connect_locked(ep, num_of_epid, array_of_epid, array_of_epid_mask,
			     array_of_errors, array_of_epaddr, timeout);
	shim_unlock(&ep->lock);
	return err;
}

static psm2_error_t ep_disconnect2_locked(psm2_ep_t ep, int num_of_epaddr,
					  psm2_epaddr_t *array_of_epaddr,
					  const int *array_of_epaddr_mask,
					  psm2_error_t *array_of_errors,
					  int mode, int64_t timeout)
{
	int i;

	if (!ep || num_of_epaddr < 0 ||
	    (num_of_epaddr && (!array_of_epaddr || !array_of_errors)))
		return shim_report(ep, PSM2_PARAM_ERR, "ep_disconnect: bad args");
	/* Graceful: what we sent gets out first. */
	if (mode == PSM2_EP_DISCONNECT_GRACEFUL && !drain_sends(ep, timeout))
		return shim_report(ep, PSM2_TIMEOUT,
				   "ep_disconnect: sends still pending");
	for (i = 0; i < num_of_epaddr; i++) {
		if (array_of_epaddr_mask && !array_of_epaddr_mask[i])
			continue;
		array_of_errors[i] = PSM2_OK;
		if (!array_of_epaddr[i] || array_of_epaddr[i]->ep != ep) {
			array_of_errors[i] = PSM2_EPID_UNKNOWN;
			continue;
		}
		/*
		 * The epaddr stays valid until ep_close: requests and
		 * unexpected messages may still name it, and a later connect
		 * to the same epid gives it back.
		 */
		if (ep->tp && array_of_epaddr[i]->tp == ep->tp)
			hfi_peer_of(array_of_epaddr[i])->connected = false;
	}
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_ep_disconnect2(psm2_ep_t ep, int num_of_epaddr,
					  psm2_epaddr_t *array_of_epaddr,
					  const int *array_of_epaddr_mask,
					  psm2_error_t *array_of_errors,
					  int mode, int64_t timeout)
{
	psm2_error_t err;

	if (!ep)
		return shim_report(ep, PSM2_PARAM_ERR, "ep_disconnect: bad args");
	shim_lock(&ep->lock);
	err = ep_disconnect2_locked(ep, num_of_epaddr, array_of_epaddr,
				 array_of_epaddr_mask, array_of_errors, mode,
				 timeout);
	shim_unlock(&ep->lock);
	return err;
}

SHIM_API psm2_error_t psm2_ep_disconnect(psm2_ep_t ep, int num_of_epaddr,
					 psm2_epaddr_t *array_of_epaddr,
					 const int *array_of_epaddr_mask,
					 psm2_error_t *array_of_errors,
					 int64_t timeout)
{
	return psm2_ep_disconnect2(ep, num_of_epaddr, array_of_epaddr,
				   array_of_epaddr_mask, array_of_errors,
				   PSM2_EP_DISCONNECT_GRACEFUL, timeout);
}

/* ------------------------------------------------------------ lookup */

SHIM_API psm2_error_t psm2_ep_query(int *num_of_epinfo,
				    psm2_epinfo_t *array_of_epinfo)
{
	struct shim_list *pos;
	int n = 0;

	if (!num_of_epinfo || *num_of_epinfo < 0)
		return shim_report(NULL, PSM2_PARAM_ERR, "ep_query: bad args");
	pthread_mutex_lock(&open_eps_lock);
	for (pos = open_eps.next; pos != &open_eps; pos = pos->next) {
		struct psm2_ep *ep = shim_container_of(pos, struct psm2_ep,
						       node);

		if (array_of_epinfo && n < *num_of_epinfo) {
			psm2_epinfo_t *e = &array_of_epinfo[n];
			unsigned j;

			memset(e, 0, sizeof(*e));
			e->ep = ep;
			e->epid = ep->epid;
			memcpy(e->uuid, ep->uuid, sizeof(e->uuid));
			e->jkey = (uint16_t)(ep->uuid[0] | ep->uuid[1] << 8);
			for (j = 0; j < sizeof(ep->uuid); j++)
				snprintf(e->uuid_str + 2 * j, 3, "%02x",
					 ep->uuid[j]);
		}
		n++;
	}
	pthread_mutex_unlock(&open_eps_lock);
	if (array_of_epinfo && n > *num_of_epinfo)
		n = *num_of_epinfo;
	*num_of_epinfo = n;
	return PSM2_OK;
}

static psm2_error_t ep_epid_lookup2_locked(psm2_ep_t ep, psm2_epid_t epid,
					   psm2_epconn_t *epconn)
{
	struct hfi_peer *p;

	if (!ep || !epconn)
		return shim_report(ep, PSM2_PARAM_ERR, "epid_lookup: NULL");
	if (ep->shm) {
		psm2_epaddr_t a = shm_transport_peer(ep->shm, epid);

		if (a) {
			epconn->addr = a;
			epconn->ep = ep;
			epconn->mq = ep->mq;
			return PSM2_OK;
		}
	}
	if (!ep->tp)
		return PSM2_EPID_UNKNOWN;
	p = hfi_transport_peer(ep->tp, ep, shim_epid_lid(epid),
			       shim_epid_ctxt(epid), 0, false);
	if (!p || !p->connected || p->addr.epid != epid)
		return PSM2_EPID_UNKNOWN;	/* an answer, not a failure */
	epconn->addr = &p->addr;
	epconn->ep = ep;
	epconn->mq = ep->mq;
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_ep_epid_lookup2(psm2_ep_t ep, psm2_epid_t epid,
					   psm2_epconn_t *epconn)
{
	psm2_error_t err;

	if (!ep)
		return shim_report(ep, PSM2_PARAM_ERR, "epid_lookup: NULL");
	shim_lock(&ep->lock);
	err = ep_epid_lookup2_locked(ep, epid, epconn);
	shim_unlock(&ep->lock);
	return err;
}

SHIM_API psm2_error_t psm2_ep_epid_lookup(psm2_epid_t epid,
					  psm2_epconn_t *epconn)
{
	struct shim_list *pos;

	psm2_error_t err = PSM2_EPID_UNKNOWN;

	if (!epconn)
		return shim_report(NULL, PSM2_PARAM_ERR, "epid_lookup: NULL");
	pthread_mutex_lock(&open_eps_lock);
	for (pos = open_eps.next; pos != &open_eps && err; pos = pos->next)
		err = psm2_ep_epid_lookup2(shim_container_of(pos, struct psm2_ep,
							     node),
					   epid, epconn);
	pthread_mutex_unlock(&open_eps_lock);
	return err;
}

/*
 * Same node and reached through shared memory: its inbox is here, and we
 * have the shm device (PSM2_DEVICES has shm).
 */
SHIM_API psm2_error_t psm2_ep_epid_share_memory(psm2_ep_t ep,
						psm2_epid_t epid, int *result)
{
	if (!ep || !result)
		return shim_report(ep, PSM2_PARAM_ERR, "share_memory: NULL");
	shim_lock(&ep->lock);
	*result = ep->shm && shm_transport_peer(ep->shm, epid);
	shim_unlock(&ep->lock);
	return PSM2_OK;
}

/* ---------------------------------------------------------------- MQ */

static psm2_error_t mq_init_locked(psm2_ep_t ep, uint64_t ignored,
				   const struct psm2_optkey *opts, int numopts,
				   psm2_mq_t *mq)
{
	struct shim_wire wires[SHIM_MQ_MAX_WIRES];
	struct shim_mq_config cfg;
	psm2_error_t err;
	unsigned n = 0;

	(void)ignored;
	if (!ep || !mq || numopts < 0 || (numopts && !opts))
		return shim_report(ep, PSM2_PARAM_ERR, "mq_init: bad args");
	if (ep->mq) {			/* one MQ per endpoint */
		*mq = ep->mq;
		return PSM2_OK;
	}
	shim_mq_config_defaults(&cfg);
	shim_mq_config_from_env(&cfg);
	/* The HFI first: wires[0] (mq.h). */
	if (ep->tp)
		wires[n++] = (struct shim_wire){ hfi_transport_ops(ep->tp),
						 ep->tp, SHIM_WIRE_HFI };
	if (ep->shm)
		wires[n++] = (struct shim_wire){ shm_transport_ops(ep->shm),
						 ep->shm, SHIM_WIRE_SHM };
	err = shim_mq_create_wires(ep, &ep->lock, wires, n, &cfg, mq);
	if (err)
		return shim_report(ep, err, "mq_init");
	ep->mq = *mq;
	shim_mq_set_generation(*mq, ep->gen);
	if (ep->shm)
		shm_transport_set_mq(ep->shm, *mq);
	if (ep->tp)
		hfi_transport_set_mq(ep->tp, *mq);
	/* Options: the same as psm2_mq_setopt, in order. */
	for (int i = 0; i < numopts; i++) {
		err = psm2_mq_setopt(*mq, (int)opts[i].key, opts[i].value);
		if (err)
			return err;
	}
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_mq_init(psm2_ep_t ep, uint64_t ignored,
				   const struct psm2_optkey *opts, int numopts,
				   psm2_mq_t *mq)
{
	psm2_error_t err;

	if (!ep)
		return shim_report(ep, PSM2_PARAM_ERR, "mq_init: bad args");
	shim_lock(&ep->lock);
	err = mq_init_locked(ep, ignored, opts, numopts, mq);
	shim_unlock(&ep->lock);
	return err;
}

SHIM_API psm2_error_t psm2_mq_finalize(psm2_mq_t mq)
{
	struct psm2_ep *ep;

	if (!mq)
		return shim_report(NULL, PSM2_PARAM_ERR, "mq_finalize: NULL");
	ep = shim_mq_ep(mq);
	if (ep) {
		shim_lock(&ep->lock);
		/* Sends already handed over must not report to a freed MQ. */
		drain_sends(ep, 0);
		if (ep->shm)
			shm_transport_set_mq(ep->shm, NULL);
		if (ep->tp)
			hfi_transport_set_mq(ep->tp, NULL);
		ep->mq = NULL;
	}
	shim_mq_destroy(mq);
	if (ep)
		shim_unlock(&ep->lock);
	return PSM2_OK;
}

static psm2_error_t poll_locked(psm2_ep_t ep)
{
	int r;

	if (!ep)
		return shim_report(NULL, PSM2_PARAM_ERR, "poll: NULL");
	r = ep->mq ? shim_mq_progress(ep->mq) :
	    ep->tp ? hfi_transport_progress(ep->tp) : 0;
	if (r < 0)
		return shim_report(ep, shim_error_from_errno(r), "poll: device");
	return r ? PSM2_OK : PSM2_OK_NO_PROGRESS;
}

SHIM_API psm2_error_t psm2_poll(psm2_ep_t ep)
{
	psm2_error_t err;

	if (!ep)
		return shim_report(NULL, PSM2_PARAM_ERR, "poll: NULL");
	shim_lock(&ep->lock);
	err = poll_locked(ep);
	shim_unlock(&ep->lock);
	return err;
}

/* UNIT_INFO of our devunit `unit` (units offering the HFI, in order). */
static int unit_info(uint32_t unit, struct drvops_hfi_unit_info *info,
		     struct drvops_device_info *dev)
{
	struct drvops_device_info units[DRVOPS_MAX_DEVICES];
	int n = list_units(units, DRVOPS_MAX_DEVICES);

	if (n < 0)
		return n;
	if (unit >= (uint32_t)n)
		return -ENODEV;
	if (dev)
		*dev = units[unit];
	return device_unit_info(&units[unit], info);
}

/* What each query takes (Intel's table). */
static const size_t info_query_nargs[PSM2_INFO_QUERY_LAST] = {
	[PSM2_INFO_QUERY_NUM_UNITS] = 0,
	[PSM2_INFO_QUERY_NUM_PORTS] = 1,
	[PSM2_INFO_QUERY_UNIT_STATUS] = 1,
	[PSM2_INFO_QUERY_UNIT_PORT_STATUS] = 2,
	[PSM2_INFO_QUERY_NUM_FREE_CONTEXTS] = 1,
	[PSM2_INFO_QUERY_NUM_CONTEXTS] = 1,
	[PSM2_INFO_QUERY_CONFIG] = 2,
	[PSM2_INFO_QUERY_THRESH] = 3,
	[PSM2_INFO_QUERY_DEVICE_NAME] = 3,
	[PSM2_INFO_QUERY_MTU] = 2,
	[PSM2_INFO_QUERY_LINK_SPEED] = 2,
	[PSM2_INFO_QUERY_NETWORK_TYPE] = 3,
	[PSM2_INFO_QUERY_FEATURE_MASK] = 0,
};

static psm2_error_t copy_string(void *out, size_t len, const char *s)
{
	if (!len)
		return PSM2_PARAM_ERR;
	snprintf(out, len, "%s", s);
	return PSM2_OK;
}

SHIM_API psm2_error_t psm2_info_query(psm2_info_query_t q, void *out,
				      size_t nargs, psm2_info_query_arg_t args[])
{
	struct drvops_hfi_unit_info ui;
	struct drvops_device_info dev;
	uint32_t *u32 = out, n;
	psm2_mq_t mq = NULL;
	psm2_ep_t ep = NULL;
	psm2_error_t err;
	int r;

	if (!out || (unsigned)q >= PSM2_INFO_QUERY_LAST)
		return PSM2_IQ_INVALID_QUERY;
	if (nargs != info_query_nargs[q] || (nargs && !args))
		return PSM2_PARAM_ERR;
	if (q >= PSM2_INFO_QUERY_CONFIG && q <= PSM2_INFO_QUERY_NETWORK_TYPE) {
		mq = args[0].mq;
		ep = mq ? shim_mq_ep(mq) : NULL;
		if (!ep)
			return PSM2_PARAM_ERR;
	}
	switch (q) {
	case PSM2_INFO_QUERY_NUM_UNITS:
		err = psm2_ep_num_devunits(&n);
		if (!err)
			*u32 = n;
		return err;
	case PSM2_INFO_QUERY_NUM_PORTS:
		*u32 = 1;			/* one port per unit */
		return PSM2_OK;
	case PSM2_INFO_QUERY_UNIT_STATUS:
	case PSM2_INFO_QUERY_UNIT_PORT_STATUS:
	case PSM2_INFO_QUERY_NUM_FREE_CONTEXTS:
	case PSM2_INFO_QUERY_NUM_CONTEXTS:
		r = unit_info(args[0].unit, &ui, NULL);
		if (r)
			return r == -ENODEV ? PSM2_PARAM_ERR :
					      PSM2_EP_DEVICE_FAILURE;
		if (q == PSM2_INFO_QUERY_NUM_CONTEXTS)
			*u32 = ui.num_contexts;
		else if (q == PSM2_INFO_QUERY_NUM_FREE_CONTEXTS)
			*u32 = ui.free_contexts;
		else if (q == PSM2_INFO_QUERY_UNIT_PORT_STATUS &&
			 args[1].port != 1 && args[1].port != 0)
			*u32 = 0;		/* no such port */
		else
			*u32 = ui.port_state == DRVOPS_HFI_PORT_ACTIVE;
		return PSM2_OK;
	case PSM2_INFO_QUERY_CONFIG:
		/* One device, sending by SDMA. */
		*u32 = PSM2_INFO_QUERY_CONFIG_IPS | PSM2_INFO_QUERY_CONFIG_DMA;
		return PSM2_OK;
	case PSM2_INFO_QUERY_THRESH:
		if (args[2].mstq == PSM2_INFO_QUERY_THRESH_IPS_RNDV) {
			return psm2_mq_getopt(mq, PSM2_MQ_RNDV_HFI_SZ, out);
		}
		*u32 = 0;			/* no such switch here */
		return PSM2_OK;
	case PSM2_INFO_QUERY_DEVICE_NAME:
		if (!ep->tp)
			return copy_string(out, args[2].length, "shm");
		if (unit_info(ep->unit, &ui, &dev))
			return PSM2_EP_DEVICE_FAILURE;
		return copy_string(out, args[2].length, dev.ibdev);
	case PSM2_INFO_QUERY_MTU:
		*u32 = !ep->tp ? SHM_SLOT_PAYLOAD :
				 (uint32_t)ep->hfi.info.eager_size;
		return PSM2_OK;
	case PSM2_INFO_QUERY_LINK_SPEED:
		*u32 = 0;			/* emulated: no rate */
		return PSM2_OK;
	case PSM2_INFO_QUERY_NETWORK_TYPE:
		return copy_string(out, args[2].length, "drvops HFI");
	case PSM2_INFO_QUERY_FEATURE_MASK:
		*u32 = 0;			/* no CUDA */
		return PSM2_OK;
	default:
		return PSM2_IQ_INVALID_QUERY;
	}
}
