/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * psm-shim: the core of the PSM2 programming interface, written for the
 * drvops HFI. Every type, constant and prototype here is laid out exactly
 * as in the public PSM2 API (libpsm2.so.2, symbol version PSM2_1.0), so
 * that programs built against Intel's headers (Open MPI's psm2 MTL,
 * libfabric's psm2 provider) run unchanged on our library.
 * tests/abi_check.sh compares both header sets mechanically.
 *
 * The text and the implementation are our own. Which functions are real
 * and which still return an error is listed in ../README.md.
 */
#ifndef PSM2_H
#define PSM2_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles: an open endpoint and its matched queue. */
typedef struct psm2_ep *psm2_ep_t;
typedef struct psm2_mq *psm2_mq_t;

/*
 * API version this header describes (2.2) and the oldest major a caller
 * may ask for in psm2_init().
 */
#define PSM2_VERNO 0x0202
#define PSM2_VERNO_MAJOR 0x02
#define PSM2_VERNO_MINOR 0x02
#define PSM2_VERNO_COMPAT_MAJOR 0x01

/* Return codes. The numbers are ABI: callers compare against them. */
enum psm2_error {
	PSM2_OK = 0,
	PSM2_OK_NO_PROGRESS = 1,	/* nothing happened on this poll */
	PSM2_PARAM_ERR = 3,
	PSM2_NO_MEMORY = 4,
	PSM2_INIT_NOT_INIT = 5,
	PSM2_INIT_BAD_API_VERSION = 6,
	PSM2_NO_AFFINITY = 7,
	PSM2_INTERNAL_ERR = 8,
	PSM2_SHMEM_SEGMENT_ERR = 9,
	PSM2_OPT_READONLY = 10,
	PSM2_TIMEOUT = 11,
	PSM2_TOO_MANY_ENDPOINTS = 12,
	PSM2_IS_FINALIZED = 13,

	PSM2_EP_WAS_CLOSED = 20,
	PSM2_EP_NO_DEVICE = 21,
	PSM2_EP_UNIT_NOT_FOUND = 22,
	PSM2_EP_DEVICE_FAILURE = 23,
	PSM2_EP_CLOSE_TIMEOUT = 24,
	PSM2_EP_NO_PORTS_AVAIL = 25,
	PSM2_EP_NO_NETWORK = 26,
	PSM2_EP_INVALID_UUID_KEY = 27,
	PSM2_EP_NO_RESOURCES = 28,

	PSM2_EPID_UNKNOWN = 40,
	PSM2_EPID_UNREACHABLE = 41,
	PSM2_EPID_INVALID_NODE = 43,
	PSM2_EPID_INVALID_MTU = 44,
	PSM2_EPID_INVALID_UUID_KEY = 45,
	PSM2_EPID_INVALID_VERSION = 46,
	PSM2_EPID_INVALID_CONNECT = 47,
	PSM2_EPID_ALREADY_CONNECTED = 48,
	PSM2_EPID_NETWORK_ERROR = 49,
	PSM2_EPID_INVALID_PKEY = 50,
	PSM2_EPID_PATH_RESOLUTION = 51,

	PSM2_MQ_NO_COMPLETIONS = 60,	/* request still in flight */
	PSM2_MQ_TRUNCATION = 61,	/* receive buffer shorter than message */

	PSM2_AM_INVALID_REPLY = 70,
	PSM2_IQ_INVALID_QUERY = 71,

	PSM2_ERROR_LAST = 80		/* one past any code we return */
};
#define PSM2_MQ_INCOMPLETE PSM2_MQ_NO_COMPLETIONS
typedef enum psm2_error psm2_error_t;

/* Which layer psm2_setopt()/psm2_getopt() address. */
enum psm2_component {
	PSM2_COMPONENT_CORE = 0,
	PSM2_COMPONENT_MQ = 1,
	PSM2_COMPONENT_AM = 2,
	PSM2_COMPONENT_IB = 3
};
typedef enum psm2_component psm2_component_t;

/* Path record resolution (we have one flat fabric: only NONE matters). */
enum psm2_path_res {
	PSM2_PATH_RES_NONE = 0,
	PSM2_PATH_RES_OPP = 1,
	PSM2_PATH_RES_UMAD = 2
};
typedef enum psm2_path_res psm2_path_res_t;

/*
 * Library initialisation. The two version numbers carry the caller's in and
 * ours out. Reference counted: every psm2_init() needs a psm2_finalize().
 */
psm2_error_t psm2_init(int *api_verno_major, int *api_verno_minor);

/* Capability bits for psm2_get_capability_mask(). */
#define PSM2_MULTI_EP_CAP 0x1		/* several endpoints per process */
#define PSM2_LIB_REFCOUNT_CAP 0x2	/* init/finalize are counted */

/* The subset of req_cap_mask this library supports. */
uint64_t psm2_get_capability_mask(uint64_t req_cap_mask);

psm2_error_t psm2_finalize(void);

/*
 * Error handling. A handler registered for an endpoint (or for all, with
 * ep NULL) sees every error before it is returned; it may return it, or
 * hand it to the default action with psm2_error_defer().
 */
typedef struct psm2_error_token *psm2_error_token_t;

typedef psm2_error_t (*psm2_ep_errhandler_t)(psm2_ep_t ep,
					     const psm2_error_t error,
					     const char *error_string,
					     psm2_error_token_t token);

/* Sentinels accepted by psm2_error_register_handler(). */
#define PSM2_ERRHANDLER_DEFAULT ((psm2_ep_errhandler_t)-1)
#define PSM2_ERRHANDLER_NOP ((psm2_ep_errhandler_t)-2)
#define PSM2_ERRHANDLER_PSM_HANDLER ((psm2_ep_errhandler_t)-1)
#define PSM2_ERRHANDLER_NO_HANDLER ((psm2_ep_errhandler_t)-2)

/* Longest string an error handler is given, NUL included. */
#define PSM2_ERRSTRING_MAXLEN 512

psm2_error_t psm2_error_register_handler(psm2_ep_t ep,
					 const psm2_ep_errhandler_t errhandler);
psm2_error_t psm2_error_defer(psm2_error_token_t err_token);
const char *psm2_error_get_string(psm2_error_t error);

/* One option for psm2_mq_init(). */
struct psm2_optkey {
	uint32_t key;
	void *value;
};

/*
 * Endpoint identity. An epid names an endpoint on the fabric (it is what
 * ranks exchange out of band); an epaddr is the local handle of a
 * connected peer.
 */
typedef uint64_t psm2_epid_t;
typedef struct psm2_epaddr *psm2_epaddr_t;
typedef uint8_t psm2_uuid_t[16];	/* the job key */

uint64_t psm2_epid_nid(psm2_epid_t epid);
uint64_t psm2_epid_context(psm2_epid_t epid);
uint64_t psm2_epid_port(psm2_epid_t epid);

psm2_error_t psm2_ep_num_devunits(uint32_t *num_units);
void psm2_uuid_generate(psm2_uuid_t uuid_out);

/* CPU affinity policy of psm2_ep_open() (ignored by us: no pinning). */
#define PSM2_EP_OPEN_AFFINITY_SKIP 0
#define PSM2_EP_OPEN_AFFINITY_SET 1
#define PSM2_EP_OPEN_AFFINITY_FORCE 2

#define PSM2_EP_OPEN_PKEY_DEFAULT 0xffffffffffffffffULL

/* psm2_ep_open() options; fill with psm2_ep_open_opts_get_defaults(). */
struct psm2_ep_open_opts {
	int64_t timeout;		/* ns; how long to wait for a context */
	int unit;			/* device index, -1: any */
	int affinity;			/* PSM2_EP_OPEN_AFFINITY_* */
	int shm_mbytes;			/* unused, kept for the layout */
	int sendbufs_num;
	uint64_t network_pkey;
	int port;			/* 1-based, 0: any */
	int outsl;
	uint64_t service_id;
	psm2_path_res_t path_res_type;
	int senddesc_num;
	int imm_size;
};

psm2_error_t psm2_ep_open(const psm2_uuid_t unique_job_key,
			  const struct psm2_ep_open_opts *opts, psm2_ep_t *ep,
			  psm2_epid_t *epid);
psm2_error_t psm2_ep_open_opts_get_defaults(struct psm2_ep_open_opts *opts);
psm2_error_t psm2_ep_epid_share_memory(psm2_ep_t ep, psm2_epid_t epid,
				       int *result);
psm2_error_t psm2_ep_close(psm2_ep_t ep, int mode, int64_t timeout);

#define PSM2_EP_CLOSE_GRACEFUL 0
#define PSM2_EP_CLOSE_FORCE 1

psm2_error_t psm2_map_nid_hostname(int num, const uint64_t *nids,
				   const char **hostnames);

/*
 * Connect to num_of_epid peers (those with a non-zero mask entry, or all if
 * the mask is NULL); one error and one epaddr per entry.
 */
psm2_error_t psm2_ep_connect(psm2_ep_t ep, int num_of_epid,
			     const psm2_epid_t *array_of_epid,
			     const int *array_of_epid_mask,
			     psm2_error_t *array_of_errors,
			     psm2_epaddr_t *array_of_epaddr, int64_t timeout);
psm2_error_t psm2_ep_disconnect(psm2_ep_t ep, int num_of_epaddr,
				psm2_epaddr_t *array_of_epaddr,
				const int *array_of_epaddr_mask,
				psm2_error_t *array_of_errors, int64_t timeout);
psm2_error_t psm2_ep_disconnect2(psm2_ep_t ep, int num_of_epaddr,
				 psm2_epaddr_t *array_of_epaddr,
				 const int *array_of_epaddr_mask,
				 psm2_error_t *array_of_errors,
				 int mode, int64_t timeout);

#define PSM2_EP_DISCONNECT_GRACEFUL PSM2_EP_CLOSE_GRACEFUL
#define PSM2_EP_DISCONNECT_FORCE PSM2_EP_CLOSE_FORCE

/* Drive communication once: PSM2_OK if something progressed. */
psm2_error_t psm2_poll(psm2_ep_t ep);

void psm2_epaddr_setlabel(psm2_epaddr_t epaddr,
			  const char *epaddr_label_string);
/* One user pointer per peer, for the caller's bookkeeping. */
void psm2_epaddr_setctxt(psm2_epaddr_t epaddr, void *ctxt);
void *psm2_epaddr_getctxt(psm2_epaddr_t epaddr);

/* Option names for psm2_setopt()/psm2_getopt(). */
#define PSM2_CORE_OPT_DEBUG 0x101
#define PSM2_CORE_OPT_EP_CTXT 0x102
#define PSM2_IB_OPT_DF_SL 0x201
#define PSM2_IB_OPT_EP_SL 0x202
#define PSM2_MQ_OPT_RNDV_IB_SZ 0x301	/* eager -> rendezvous threshold */
#define PSM2_MQ_RNDV_HFI_SZ PSM2_MQ_OPT_RNDV_IB_SZ
#define PSM2_MQ_RNDV_IPATH_SZ PSM2_MQ_OPT_RNDV_IB_SZ
#define PSM2_MQ_OPT_RNDV_SHM_SZ 0x302
#define PSM2_MQ_RNDV_SHM_SZ PSM2_MQ_OPT_RNDV_SHM_SZ
#define PSM2_MQ_OPT_SYSBUF_MYBYTES 0x303
#define PSM2_MQ_MAX_SYSBUF_MBYTES PSM2_MQ_OPT_SYSBUF_MYBYTES
#define PSM2_AM_OPT_FRAG_SZ 0x401
#define PSM2_AM_MAX_FRAG_SZ PSM2_AM_OPT_FRAG_SZ
#define PSM2_AM_OPT_NARGS 0x402
#define PSM2_AM_MAX_NARGS PSM2_AM_OPT_NARGS
#define PSM2_AM_OPT_HANDLERS 0x403
#define PSM2_AM_MAX_HANDLERS PSM2_AM_OPT_HANDLERS

psm2_error_t psm2_setopt(psm2_component_t component,
			 const void *component_obj, int optname,
			 const void *optval, uint64_t optlen);
psm2_error_t psm2_getopt(psm2_component_t component,
			 const void *component_obj, int optname,
			 void *optval, uint64_t *optlen);

/* What psm2_ep_query() reports per open endpoint. */
typedef struct psm2_epinfo {
	psm2_ep_t ep;
	psm2_epid_t epid;
	psm2_uuid_t uuid;
	uint16_t jkey;
	char uuid_str[64];
} psm2_epinfo_t;

/* What psm2_ep_epid_lookup() reports for a known epid. */
typedef struct psm2_epconn {
	psm2_epaddr_t addr;
	psm2_ep_t ep;
	psm2_mq_t mq;
} psm2_epconn_t;

psm2_error_t psm2_ep_query(int *num_of_epinfo, psm2_epinfo_t *array_of_epinfo);
psm2_error_t psm2_ep_epid_lookup(psm2_epid_t epid, psm2_epconn_t *epconn);
psm2_error_t psm2_ep_epid_lookup2(psm2_ep_t ep, psm2_epid_t epid,
				  psm2_epconn_t *epconn);
psm2_error_t psm2_epaddr_to_epid(psm2_epaddr_t epaddr, psm2_epid_t *epid);

/* psm2_info_query(): what can be asked, with which argument. */
typedef enum psm2_info_query_et {
	PSM2_INFO_QUERY_NUM_UNITS,		/* no argument */
	PSM2_INFO_QUERY_NUM_PORTS,		/* unit */
	PSM2_INFO_QUERY_UNIT_STATUS,		/* unit */
	PSM2_INFO_QUERY_UNIT_PORT_STATUS,	/* unit, port */
	PSM2_INFO_QUERY_NUM_FREE_CONTEXTS,	/* unit */
	PSM2_INFO_QUERY_NUM_CONTEXTS,		/* unit */
	PSM2_INFO_QUERY_CONFIG,			/* mq, epaddr */
	PSM2_INFO_QUERY_THRESH,			/* mq, epaddr, threshold */
	PSM2_INFO_QUERY_DEVICE_NAME,		/* mq, epaddr, length */
	PSM2_INFO_QUERY_MTU,			/* mq, epaddr */
	PSM2_INFO_QUERY_LINK_SPEED,		/* mq, epaddr */
	PSM2_INFO_QUERY_NETWORK_TYPE,		/* mq, epaddr, length */
	PSM2_INFO_QUERY_FEATURE_MASK,		/* no argument */
	PSM2_INFO_QUERY_LAST,
} psm2_info_query_t;

enum psm2_info_query_config {
	PSM2_INFO_QUERY_CONFIG_IPS = (1 << 0),
	PSM2_INFO_QUERY_CONFIG_AMSH = (1 << 1),
	PSM2_INFO_QUERY_CONFIG_SELF = (1 << 2),
	PSM2_INFO_QUERY_CONFIG_CUDA = (1 << 3),
	PSM2_INFO_QUERY_CONFIG_PIO = (1 << 4),
	PSM2_INFO_QUERY_CONFIG_DMA = (1 << 5),
	PSM2_INFO_QUERY_CONFIG_GDR_COPY = (1 << 6),
};

enum psm2_info_query_thresh_et {
	PSM2_INFO_QUERY_THRESH_IPS_START,
	PSM2_INFO_QUERY_THRESH_IPS_PIO_DMA = PSM2_INFO_QUERY_THRESH_IPS_START,
	PSM2_INFO_QUERY_THRESH_IPS_TINY,
	PSM2_INFO_QUERY_THRESH_IPS_PIO_FRAG_SIZE,
	PSM2_INFO_QUERY_THRESH_IPS_DMA_FRAG_SIZE,
	PSM2_INFO_QUERY_THRESH_IPS_RNDV,
	PSM2_INFO_QUERY_THRESH_IPS_END = PSM2_INFO_QUERY_THRESH_IPS_RNDV,
	PSM2_INFO_QUERY_THRESH_AMSH_START,
	PSM2_INFO_QUERY_THRESH_AMSH_END = PSM2_INFO_QUERY_THRESH_AMSH_START,
	PSM2_INFO_QUERY_THRESH_SELF_START,
	PSM2_INFO_QUERY_THRESH_SELF_END = PSM2_INFO_QUERY_THRESH_SELF_START,
};

enum psm2_info_query_feature_mask {
	PSM2_INFO_QUERY_FEATURE_CUDA = (1 << 0),
};

/* One argument of psm2_info_query(); which member depends on the query. */
typedef union psm2_info_query_arg {
	uint32_t unit;
	uint32_t port;
	size_t length;
	psm2_mq_t mq;
	psm2_epaddr_t epaddr;
	enum psm2_info_query_thresh_et mstq;
} psm2_info_query_arg_t;

psm2_error_t psm2_info_query(psm2_info_query_t, void *out, size_t nargs,
			     psm2_info_query_arg_t[]);

#ifdef __cplusplus
}
#endif

#endif /* PSM2_H */
