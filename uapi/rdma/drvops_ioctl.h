/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * drvops: driver-specific file descriptors brokered by RDMA uverbs.
 *
 * A process that may open /dev/infiniband/uverbsN and has done GET_CONTEXT
 * asks, through one uverbs method, for a driver-ops fd: a file with the
 * driver's own versioned ioctls, read/writev, mmap and poll. Discovery,
 * permissions (including the SELinux label) and the uobject IDR are the
 * ones of the uverbs fd it came from.
 *
 * Two layers live in this header:
 *  1. uverbs methods (sent with RDMA_VERBS_IOCTL on the uverbs fd): object
 *     and method ids in the driver namespace of the uverbs ioctl tree.
 *  2. ioctls on the driver-ops fd that every driver-ops fd understands
 *     (DRVOPS_IOCTL_GET_INFO). Each interface adds its own in its header.
 *
 * Ids 10 and 11 of the uverbs driver-object namespace belong to drvops; a
 * driver that uses drvops keeps its own driver objects below 10.
 */
#ifndef _UAPI_RDMA_DRVOPS_IOCTL_H
#define _UAPI_RDMA_DRVOPS_IOCTL_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <rdma/ib_user_ioctl_cmds.h>

#define DRVOPS_ID(n) ((1U << UVERBS_ID_NS_SHIFT) + (n))

/* Longest interface name, including the terminating NUL. */
#define DRVOPS_NAME_MAX 64
/* Most names one GET_FD call may list. */
#define DRVOPS_MAX_NAMES 16

enum drvops_objects {
	DRVOPS_OBJECT_BINDING = DRVOPS_ID(10),
	DRVOPS_OBJECT_BROKER = DRVOPS_ID(11),
};

enum drvops_broker_methods {
	DRVOPS_METHOD_GET_FD = DRVOPS_ID(0),
	DRVOPS_METHOD_QUERY = DRVOPS_ID(1),
};

enum drvops_binding_methods {
	DRVOPS_METHOD_BIND = DRVOPS_ID(0),
	DRVOPS_METHOD_UNBIND = DRVOPS_ID(1),
};

/*
 * DRVOPS_METHOD_GET_FD (object DRVOPS_OBJECT_BROKER)
 *
 * UVERBS_FD     in, raw fd, mandatory: the uverbs fd the request is sent
 *               on. The new fd takes its security label from this file.
 * NAMES         in, mandatory: interface names in order of preference,
 *               each NUL-terminated, packed back to back ("a\0b\0").
 *               1..DRVOPS_MAX_NAMES names, each 1..DRVOPS_NAME_MAX-1
 *               printable ASCII characters.
 * VERSIONS      in, mandatory: struct drvops_version_range.
 * FLAGS         in, optional, __u32 or __u64 (uverbs flags convention):
 *               no flag is defined yet, must be 0.
 * FD            out __s32: the new fd, opened O_CLOEXEC | O_RDWR.
 * NAME_INDEX    out __u32: index in NAMES of the name that was chosen.
 * VERSION       out __u32: the version chosen: the highest one that both
 *               the caller's range and the interface support.
 *
 * The first name, in the caller's order, that the device knows in a
 * version inside the range wins.
 *
 * Errors:
 *   EINVAL      no ucontext yet (do GET_CONTEXT first); malformed NAMES
 *               (not NUL-terminated, empty or non-printable name, too
 *               many or too long names); min_version == 0 or
 *               min_version > max_version; UVERBS_FD is not the uverbs
 *               file of this context; a missing mandatory attribute;
 *               an unknown bit in FLAGS (as every uverbs method answers).
 *   ENOMEM      out of memory (the fd's memory is charged to the caller's
 *               memory cgroup).
 *   ENOENT      the device knows none of the names.
 *   ENOPROTOOPT at least one name is known, but none of the known ones
 *               offers a version inside the range.
 *   EBADF       UVERBS_FD is not an open fd.
 *   EAGAIN      the rdma cgroup's hca_object limit is reached (each
 *               driver-ops fd counts as one object).
 *   EMFILE      no free fd number.
 *   EFAULT      an output could not be written; no fd is left open.
 *   EIO         the device is being unregistered.
 *   other       what the driver's open callback returned (documented by
 *               the interface, e.g. ENOMEM, EBUSY).
 */
enum drvops_get_fd_attrs {
	DRVOPS_ATTR_GET_FD_UVERBS_FD = DRVOPS_ID(0),
	DRVOPS_ATTR_GET_FD_NAMES = DRVOPS_ID(1),
	DRVOPS_ATTR_GET_FD_VERSIONS = DRVOPS_ID(2),
	DRVOPS_ATTR_GET_FD_FLAGS = DRVOPS_ID(3),
	DRVOPS_ATTR_GET_FD_FD = DRVOPS_ID(4),
	DRVOPS_ATTR_GET_FD_NAME_INDEX = DRVOPS_ID(5),
	DRVOPS_ATTR_GET_FD_VERSION = DRVOPS_ID(6),
};

struct drvops_version_range {
	__u32 min_version;
	__u32 max_version;
};

/*
 * DRVOPS_METHOD_QUERY (object DRVOPS_OBJECT_BROKER)
 *
 * ENTRIES       out, optional: an array of struct drvops_interface_entry,
 *               one per name the device answers to (primary names and
 *               aliases). As many entries as fit are written; the length
 *               must be a multiple of sizeof(struct drvops_interface_entry).
 * NUM_ENTRIES   out __u32, mandatory: how many entries the device has,
 *               whether or not they all fitted.
 *
 * Needs a ucontext, like every method. Without one, the same list is in
 * sysfs:
 * /sys/class/infiniband/<dev>/drvops_interfaces, one line per name:
 * "<name> <min_version> <max_version> <interface_index> [alias]".
 *
 * Errors: EINVAL  length of ENTRIES not a multiple of the entry size, or
 *                 no ucontext yet;
 *         EFAULT  bad pointer; ENOENT the device offers no driver-ops.
 */
enum drvops_query_attrs {
	DRVOPS_ATTR_QUERY_ENTRIES = DRVOPS_ID(0),
	DRVOPS_ATTR_QUERY_NUM_ENTRIES = DRVOPS_ID(1),
};

enum drvops_interface_entry_flags {
	/* This name is an alias of the entry's interface. */
	DRVOPS_ENTRY_ALIAS = 1 << 0,
};

struct drvops_interface_entry {
	char name[DRVOPS_NAME_MAX];	/* NUL-terminated */
	__u32 min_version;
	__u32 max_version;
	__u32 interface_index;		/* same for a name and its aliases */
	__u32 flags;			/* enum drvops_interface_entry_flags */
};

/*
 * DRVOPS_METHOD_BIND (object DRVOPS_OBJECT_BINDING)
 *
 * Attaches a core object created on this uverbs fd to a driver-ops fd of
 * the same context, so that the driver may use it (for an MR: its pinned
 * pages). While bound, destroying the object on the uverbs fd fails with
 * EBUSY. The binding is itself a uverbs object; it ends when it is
 * destroyed with UNBIND, when the driver-ops fd is closed (the handle then
 * stays valid but inert until UNBIND or the uverbs fd is closed), or when
 * the uverbs fd is closed.
 *
 * HANDLE        new binding handle, mandatory.
 * DRVOPS_FD     in, raw fd, mandatory: the driver-ops fd.
 * PD / MR / CQ  in, handle of the object to bind: exactly one of them.
 * FLAGS         in, optional, __u32 or __u64: no flag is defined yet,
 *               must be 0.
 *
 * Errors:
 *   EINVAL      none or several of PD/MR/CQ; no ucontext; an unknown bit
 *               in FLAGS.
 *   ENOENT      the handle names no such object on this uverbs fd
 *               (handles of other uverbs fds are never visible).
 *   EINVAL      the handle names an object of another type (uverbs'
 *               own check).
 *   EBADF       DRVOPS_FD is not an open driver-ops fd.
 *   EXDEV       DRVOPS_FD belongs to another uverbs context.
 *   EPERM       the caller is not the process that created DRVOPS_FD, or
 *               (driver check) the MR's memory belongs to another process,
 *               e.g. a fork child binding its parent's MR through the
 *               inherited uverbs fd.
 *   EALREADY    this object is already bound to this driver-ops fd.
 *   EBUSY       the object is being destroyed or modified right now.
 *   EOPNOTSUPP  the interface does not accept this kind of object (its
 *               header says which it takes).
 *   EIO         the driver-ops fd is dead (its uverbs context is gone).
 */
enum drvops_bind_attrs {
	DRVOPS_ATTR_BIND_HANDLE = DRVOPS_ID(0),
	DRVOPS_ATTR_BIND_DRVOPS_FD = DRVOPS_ID(1),
	DRVOPS_ATTR_BIND_PD = DRVOPS_ID(2),
	DRVOPS_ATTR_BIND_MR = DRVOPS_ID(3),
	DRVOPS_ATTR_BIND_CQ = DRVOPS_ID(4),
	DRVOPS_ATTR_BIND_FLAGS = DRVOPS_ID(5),
};

/*
 * DRVOPS_METHOD_UNBIND (object DRVOPS_OBJECT_BINDING)
 *
 * HANDLE        the binding to destroy, mandatory.
 * Errors: ENOENT unknown handle; EINVAL a handle of another type;
 *         EBUSY  another call is using the binding right now (uverbs
 *                refuses to destroy an object that is in use): retry.
 */
enum drvops_unbind_attrs {
	DRVOPS_ATTR_UNBIND_HANDLE = DRVOPS_ID(0),
};

/*
 * ioctls on a driver-ops fd
 *
 * Every command struct starts with __u32 size = sizeof what the caller
 * filled in; the ioctl number does not encode the size. Rules, the same
 * for every interface:
 *   ENOTTY      unknown ioctl number for the negotiated version.
 *   EFAULT      the struct cannot be read or written.
 *   EINVAL      size smaller than the first version of the struct, or a
 *               value that is understood but invalid.
 *   E2BIG       size larger than the kernel knows and the extra bytes are
 *               not all zero.
 *   EOPNOTSUPP  a reserved field or an unknown flag bit is not zero.
 *   EIO         the fd is dead: its uverbs fd was closed or the device was
 *               unregistered. Only close() is left to do.
 *   EPERM       the caller is not the process (mm) that created the fd: a
 *               driver-ops fd is usable only by its creator. A child after
 *               fork() or a receiver of the fd over SCM_RIGHTS may only
 *               close it (read/write/ioctl/mmap fail with EPERM, poll
 *               reports EPOLLERR).
 * Output is copied back with min(size, kernel size) bytes.
 *
 * Ioctl numbers. Every command is _IO(DRVOPS_IOCTL_TYPE, nr), and nr alone
 * tells it apart: SELinux (allowxperm) sees only (type << 8) | nr, so no
 * two interfaces, and nothing else of type 0x1b, may share a number.
 *   0x00..0x1F  RDMA core: RDMA_VERBS_IOCTL (0x01), ib_umad's
 *               IB_USER_MAD_* (0x01..0x04); never used by an interface.
 *   0x20..0xBF  interfaces, 16 numbers each, assigned here:
 *               0x20 "copy.generic" (and its alias "copy.legacy"),
 *               0x30 "sdma.opa", 0x40 "psm2.intel.com".
 *   0xC0..0xCF  the broker (GET_INFO), on every driver-ops fd.
 *   0xD0..0xFF  reserved (the test bed's misc-device baseline uses 0xE0).
 * The broker refuses to register a table with a number outside its
 * interface's range of 0x20..0xBF.
 */
#define DRVOPS_IOCTL_TYPE 0x1b
#define DRVOPS_IOCTL_IFACE_FIRST 0x20
#define DRVOPS_IOCTL_IFACE_LAST 0xBF
#define DRVOPS_IOCTL_BROKER_BASE 0xC0

enum {
	DRVOPS_CMD_GET_INFO = DRVOPS_IOCTL_BROKER_BASE,
};

/*
 * DRVOPS_IOCTL_GET_INFO: what this fd is.
 * Errors: the common ones above.
 */
struct drvops_info {
	__u32 size;
	__u32 version;			/* out: negotiated ABI version */
	char name[DRVOPS_NAME_MAX];	/* out: primary interface name */
	__u64 node_guid;		/* out: of the ib_device, host order */
	__u32 ibdev_index;		/* out: ib_device index */
	__u32 __reserved;		/* out: 0 */
};
#define DRVOPS_IOCTL_GET_INFO _IO(DRVOPS_IOCTL_TYPE, DRVOPS_CMD_GET_INFO)

#endif /* _UAPI_RDMA_DRVOPS_IOCTL_H */
