/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * libdrvops: userspace side of the drvops broker.
 *
 * Raw syscalls on /dev/infiniband/uverbsN, no libibverbs: our devices have
 * no rdma-core provider. Every function returns 0 (or a count, or an fd)
 * on success and a negative errno on failure; nothing here exits, aborts
 * or prints.
 */
#ifndef DRVOPS_H
#define DRVOPS_H

#include <stddef.h>
#include <stdint.h>

#include <rdma/rdma_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/drvops_ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Device discovery (sysfs) ------------------------------------------ */

/* Enough for any test bed; callers may use more. */
#define DRVOPS_MAX_DEVICES 64

struct drvops_device_info {
	unsigned index;		/* position in the list sorted by uverbs_num */
	unsigned uverbs_num;	/* N of /dev/infiniband/uverbsN */
	char ibdev[64];		/* ib_device name (may be renamed by udev) */
	char uverbs_path[64];	/* "/dev/infiniband/uverbsN" */
	uint64_t node_guid;	/* host order; 0 if sysfs has none */
};

/*
 * Fills out[0..max-1] with the uverbs devices sorted by uverbs number and
 * returns how many were written. With out == NULL and max == 0 returns how
 * many exist. No ib_uverbs loaded means 0 devices, not an error.
 */
int drvops_list_devices(struct drvops_device_info *out, unsigned max);
/* Look one device up. -ENODEV if there is no such device. */
int drvops_device_by_index(unsigned index, struct drvops_device_info *out);
int drvops_device_by_guid(uint64_t guid, struct drvops_device_info *out);

/* "xxxx:xxxx:xxxx:xxxx" (sysfs form) or plain hex with optional 0x. */
int drvops_parse_guid(const char *s, uint64_t *guid);
/* Writes the sysfs form; buf needs DRVOPS_GUID_STRLEN bytes. */
#define DRVOPS_GUID_STRLEN 20
char *drvops_format_guid(uint64_t guid, char *buf);

/* ---- Opening a device ---------------------------------------------------- */

/* open(O_RDWR | O_CLOEXEC) only, no ucontext (see drvops_get_context). */
int drvops_open_device(const struct drvops_device_info *dev);
/* Open and GET_CONTEXT; return the uverbs fd. */
int drvops_open_index(unsigned index);
int drvops_open_guid(uint64_t guid);
/* UVERBS_METHOD_GET_CONTEXT by ioctl. EINVAL if the fd already has one. */
int drvops_get_context(int uverbs_fd);

/* ---- Raw uverbs ioctl request builder ------------------------------------ */

#define DRVOPS_REQ_MAX_ATTRS 16

/*
 * struct ib_uverbs_ioctl_hdr without its flexible array: a struct ending in
 * one may not be followed by our attribute array (C++, -Wpedantic). Same
 * layout, checked in req.c.
 */
struct drvops_req_hdr {
	uint16_t length;
	uint16_t object_id;
	uint16_t method_id;
	uint16_t num_attrs;
	uint64_t reserved1;
	uint32_t driver_id;
	uint32_t reserved2;
};

/*
 * One RDMA_VERBS_IOCTL request: the header immediately followed by the
 * attribute array, as the kernel reads it. Tests may edit any field before
 * drvops_req_exec_raw() to build malformed requests.
 */
struct drvops_req {
	struct drvops_req_hdr hdr;
	struct ib_uverbs_attr attrs[DRVOPS_REQ_MAX_ATTRS];
	/* Not sent to the kernel. */
	unsigned num_attrs;
	int error;		/* first builder error, returned by exec */
	struct {
		void *ptr;	/* uint32_t * (IDR) or int * (FD) */
		int is_fd;
	} readback[DRVOPS_REQ_MAX_ATTRS];
};

void drvops_req_init(struct drvops_req *req, uint16_t object_id,
		     uint16_t method_id);

/*
 * The adders return the new attribute so the caller can adjust it, or NULL
 * (and req->error is set) when the request is full or len is too large.
 * Attributes are mandatory by default, like rdma-core: a kernel that does
 * not know one fails with EPROTONOSUPPORT instead of ignoring it. Use
 * drvops_attr_optional() to send one the kernel may ignore.
 */
/* PTR_IN: len <= 8 is copied inline into attr.data, else data = ptr. */
struct ib_uverbs_attr *drvops_req_in(struct drvops_req *req, uint16_t attr_id,
				     const void *ptr, size_t len);
struct ib_uverbs_attr *drvops_req_in_u32(struct drvops_req *req,
					 uint16_t attr_id, uint32_t value);
/* PTR_OUT: always a pointer, whatever the length. */
struct ib_uverbs_attr *drvops_req_out(struct drvops_req *req, uint16_t attr_id,
				      void *ptr, size_t len);
/* UVERBS_ATTR_RAW_FD: len 0, data = fd. */
struct ib_uverbs_attr *drvops_req_fd(struct drvops_req *req, uint16_t attr_id,
				     int fd);
/* IDR (read, write or destroy access): len 0, data = handle. */
struct ib_uverbs_attr *drvops_req_idr(struct drvops_req *req, uint16_t attr_id,
				      uint32_t handle);
/*
 * IDR with NEW access: the kernel writes the new handle into attr.data of
 * our array; exec stores it in *handle_out on success.
 */
struct ib_uverbs_attr *drvops_req_new_idr(struct drvops_req *req,
					  uint16_t attr_id,
					  uint32_t *handle_out);
/* FD uobject with NEW access: as above, the fd number comes back in data. */
struct ib_uverbs_attr *drvops_req_new_fd(struct drvops_req *req,
					 uint16_t attr_id, int *fd_out);

static inline struct ib_uverbs_attr *
drvops_attr_optional(struct ib_uverbs_attr *attr)
{
	if (attr)
		attr->flags &= ~UVERBS_ATTR_F_MANDATORY;
	return attr;
}

/* The kernel set UVERBS_ATTR_F_VALID_OUTPUT on this out attribute. */
static inline int drvops_attr_output_valid(const struct ib_uverbs_attr *attr)
{
	return attr && (attr->flags & UVERBS_ATTR_F_VALID_OUTPUT);
}

/*
 * Sets hdr.length and hdr.num_attrs from the attributes added, sends the
 * request, and on success fills the NEW handles/fds. 0 or -errno.
 */
int drvops_req_exec(int uverbs_fd, struct drvops_req *req);
/* Sends the header exactly as it is (for malformed-request tests). */
int drvops_req_exec_raw(int uverbs_fd, struct drvops_req *req);

/* ---- Broker methods ---------------------------------------------------- */

/*
 * DRVOPS_METHOD_GET_FD: the first of names[] (in order) the device offers
 * in a version inside [min_version, max_version]. Returns the new fd;
 * *name_index and *version (either may be NULL) say what was chosen.
 */
int drvops_get_fd(int uverbs_fd, const char *const *names, unsigned n_names,
		  uint32_t min_version, uint32_t max_version, uint32_t flags,
		  unsigned *name_index, uint32_t *version);

/*
 * DRVOPS_METHOD_QUERY: writes up to max entries (entries may be NULL when
 * max is 0) and returns how many were written; *total (may be NULL) gets
 * how many the device has. Needs a ucontext (EINVAL without one).
 */
int drvops_query(int uverbs_fd, struct drvops_interface_entry *entries,
		 unsigned max, unsigned *total);
/*
 * The same list from sysfs (drvops_interfaces), without opening the
 * device or creating a ucontext. Same return convention; -ENOENT when the
 * device has no driver-ops, -EPROTO on a line we cannot parse.
 */
int drvops_sysfs_interfaces(const struct drvops_device_info *dev,
			    struct drvops_interface_entry *entries,
			    unsigned max, unsigned *total);

/* ---- Bindings ---------------------------------------------------------- */

enum drvops_obj_kind {
	DRVOPS_OBJ_PD,
	DRVOPS_OBJ_MR,
	DRVOPS_OBJ_CQ,
};

int drvops_bind(int uverbs_fd, int drvops_fd, enum drvops_obj_kind kind,
		uint32_t handle, uint32_t *binding_handle);
int drvops_unbind(int uverbs_fd, uint32_t binding_handle);

/* ---- Common driver-ops fd ioctls ------------------------------------- */

/* DRVOPS_IOCTL_GET_INFO with size = sizeof(*info). */
int drvops_get_info(int drvops_fd, struct drvops_info *info);

/* ---- Core verbs over the legacy write() ABI ------------------------- */

int drvops_alloc_pd(int uverbs_fd, uint32_t *pd_handle);
int drvops_dealloc_pd(int uverbs_fd, uint32_t pd_handle);
/* access: enum ib_uverbs_access_flags, e.g. IB_UVERBS_ACCESS_LOCAL_WRITE. */
int drvops_reg_mr(int uverbs_fd, uint32_t pd_handle, void *addr, size_t len,
		  uint32_t access, uint32_t *mr_handle, uint32_t *lkey,
		  uint32_t *rkey);
int drvops_dereg_mr(int uverbs_fd, uint32_t mr_handle);
/* No completion channel, comp_vector 0. */
int drvops_create_cq(int uverbs_fd, uint32_t cqe, uint32_t *cq_handle);
int drvops_destroy_cq(int uverbs_fd, uint32_t cq_handle);

#ifdef __cplusplus
}
#endif

#endif /* DRVOPS_H */
