/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvops: the driver-facing API of ib_drvops.
 *
 * A driver declares, per ib_device, named interfaces with a version range
 * and per version a table of operations. ib_drvops hands out driver-ops
 * fds through the uverbs method DRVOPS_METHOD_GET_FD and owns every
 * lifetime and locking rule of those fds, so a driver only writes handlers:
 *
 *  - Handlers run only while the fd is alive; after the uverbs fd is closed
 *    or the device is unregistered, the broker answers every file operation
 *    itself (EIO, EPOLLERR|EPOLLHUP, SIGBUS on mapped pages) and the driver
 *    is never called again except for release(), exactly once.
 *  - Handlers never block waiting for events: read() and write_iter()
 *    return -EAGAIN when they cannot progress, and poll() reports
 *    readiness without sleeping; the broker does the waiting, so that
 *    teardown can always wake and drain every caller.
 *  - Mappings are populated by fault(), never at mmap() time, so that no
 *    page can be reached once the fd is dead. Pages handed to fault() must
 *    be refcounted (alloc_pages, vmalloc_user).
 *
 * Driver duties:
 *  1. Fill a struct drvops_device and call drvops_register_device() before
 *     ib_register_device(); drvops_unregister_device() after
 *     ib_unregister_device().
 *  2. Put DRVOPS_UAPI_DEF_CHAIN() in ib_device.driver_def.
 *  3. Call drvops_ucontext_release() from ops.dealloc_ucontext, and set
 *     ops.disassociate_ucontext so that unregistering never waits for
 *     userspace.
 *  4. Optionally put &drvops_device_group in ops.device_group (sysfs list).
 */
#ifndef DRVOPS_H
#define DRVOPS_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <rdma/ib_verbs.h>
#include <rdma/uverbs_ioctl.h>
#include <rdma/drvops_ioctl.h>
#include "drvops_compat.h"

struct drvops_file;

/* Largest command struct a driver ioctl may declare. */
#define DRVOPS_IOCTL_MAX_SIZE 256

/*
 * A struct of whole u64 words from userspace, in one user-access window:
 * for the few-word commands and request headers of fast paths, where
 * copy_from_user() of a size known at run time is an out-of-line call, a
 * hardened-usercopy check and a string move. size must be a multiple of 8
 * and dst 8-byte aligned; false on a fault (dst is then partly written).
 */
static __always_inline bool drvops_read_user_words(void *dst,
						   const void __user *src,
						   size_t size)
{
	const u64 __user *from = src;
	u64 *to = dst;
	size_t i;

	if (!user_read_access_begin(from, size))
		return false;
	for (i = 0; i < size / sizeof(u64); i++)
		unsafe_get_user(to[i], &from[i], efault);
	user_read_access_end();
	return true;
efault:
	user_read_access_end();
	return false;
}

/*
 * A stack buffer the fast path writes before it reads: exempt from
 * CONFIG_INIT_STACK_ALL_ZERO (Debian's), which would zero it on every
 * call (a rep stosb per ioctl or message).
 */
#if __has_attribute(__uninitialized__)
#define drvops_uninitialized __attribute__((__uninitialized__))
#else
#define drvops_uninitialized
#endif

/* One ioctl call, as handed to a handler (the iommufd model). */
struct drvops_ucmd {
	struct drvops_file *file;
	void __user *ubuffer;	/* the user's struct */
	u32 user_size;		/* its size field */
	u32 kernel_size;	/* op->size: what cmd holds */
	void *cmd;		/* kernel copy, zero-extended to op->size */
	void *priv;		/* the file's drvops_file_priv() */
};

struct drvops_ioctl_op {
	unsigned int ioctl_num;
	unsigned int size;	/* sizeof the current struct */
	unsigned int min_size;	/* offsetofend of the last field of v1 */
	u32 since;		/* first interface version with it (0: all) */
	bool query;		/* DRVOPS_IOCTL_QUERY: see there */
	int (*execute)(struct drvops_ucmd *ucmd);
};

/*
 * An ioctl table covers one interface's range of 16 numbers (uapi
 * drvops_ioctl.h) and is indexed by the number's place in it: the
 * dispatcher goes straight to the entry, as iommufd does, instead of
 * searching. DRVOPS_IOCTL_OP puts each entry in its place (designated
 * initialisers); holes are allowed. The broker checks this at
 * registration.
 */
#define DRVOPS_IOCTL_RANGE 16
#define DRVOPS_IOCTL_SLOT(_ioctl) (_IOC_NR(_ioctl) % DRVOPS_IOCTL_RANGE)

/*
 * One table can serve every version of an interface: an entry added in
 * version N says so with DRVOPS_IOCTL_OP_SINCE, and fds of older versions
 * get ENOTTY for it.
 */
#define __DRVOPS_IOCTL_ENTRY(_ver, _ioctl, _fn, _struct, _last, _query)	\
	[DRVOPS_IOCTL_SLOT(_ioctl)] = {					\
		.ioctl_num = _ioctl,					\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.since = _ver,						\
		.query = _query,					\
		.execute = _fn,						\
	}

#define DRVOPS_IOCTL_OP_SINCE(_ver, _ioctl, _fn, _struct, _last)	\
	__DRVOPS_IOCTL_ENTRY(_ver, _ioctl, _fn, _struct, _last, false)

#define DRVOPS_IOCTL_OP(_ioctl, _fn, _struct, _last)			\
	DRVOPS_IOCTL_OP_SINCE(0, _ioctl, _fn, _struct, _last)

/*
 * A query: the struct starts with "__u32 size; __u32 __reserved;" and
 * everything after is the answer, which depends on nothing the caller
 * passes (its size a multiple of 8). The handler only fills cmd past those
 * 8 bytes (which come zeroed; it must not read them or ucmd->user_size) or
 * fails, and does not respond; the broker checks the header
 * (__reserved != 0: EOPNOTSUPP) and writes the answer. The broker may
 * call the handler before it has read the header, so it must have no side
 * effect: that way a caller passing the kernel's size gets its answer in
 * one user access instead of two.
 */
#define DRVOPS_IOCTL_QUERY_SINCE(_ver, _ioctl, _fn, _struct, _last)	\
	__DRVOPS_IOCTL_ENTRY(_ver, _ioctl, _fn, _struct, _last, true)

#define DRVOPS_IOCTL_QUERY(_ioctl, _fn, _struct, _last)			\
	DRVOPS_IOCTL_QUERY_SINCE(0, _ioctl, _fn, _struct, _last)

/* Copy min(user size, len, op->size) bytes of ucmd->cmd back to the user. */
int drvops_ucmd_respond(struct drvops_ucmd *ucmd, size_t len);

enum drvops_obj_type {
	DRVOPS_OBJ_PD,
	DRVOPS_OBJ_MR,
	DRVOPS_OBJ_CQ,
};

/* A core object bound to a driver-ops fd. Drivers only read these. */
struct drvops_binding {
	enum drvops_obj_type type;
	u32 handle;		/* the object's handle on the uverbs fd */
	union {
		struct ib_pd *pd;
		struct ib_mr *mr;
		struct ib_cq *cq;
		void *object;
	};
};

/*
 * The operations of one version of an interface. Every handler may assume
 * the fd is alive for its whole duration. ioctls[] is indexed by
 * DRVOPS_IOCTL_SLOT (DRVOPS_IOCTL_OP); entries with since > the fd's
 * version answer ENOTTY.
 */
struct drvops_version_ops {
	const struct drvops_ioctl_op *ioctls;
	unsigned int num_ioctls;

	/* Create the per-fd state (drvops_file_set_priv). */
	int (*open)(struct drvops_file *file);
	/* Free it: called exactly once, after every other handler returned. */
	void (*release)(struct drvops_file *file);

	/* Non-blocking: -EAGAIN when there is nothing; needs poll. */
	ssize_t (*read)(struct drvops_file *file, char __user *buf, size_t len);
	/* Non-blocking: -EAGAIN when full; needs poll. */
	ssize_t (*write_iter)(struct drvops_file *file, struct iov_iter *from);
	/* Current readiness; must not sleep. */
	__poll_t (*poll)(struct drvops_file *file);

	/* Validate a new mapping (offset, length, flags); needs fault. */
	int (*mmap)(struct drvops_file *file, struct vm_area_struct *vma);
	/*
	 * Set vmf->page with a reference held for the broker, which maps it
	 * before the fd can die (it drops that reference afterwards).
	 */
	vm_fault_t (*fault)(struct drvops_file *file, struct vm_fault *vmf);

	/* Accept (0) or refuse a core object; NULL refuses all. */
	int (*bind)(struct drvops_file *file, struct drvops_binding *binding);
	/* Stop every use of the object, including asynchronous ones. */
	void (*unbind)(struct drvops_file *file,
		       struct drvops_binding *binding);
};

/* Another name of an interface; an old name may know fewer versions. */
struct drvops_alias {
	const char *name;
	u32 max_version;	/* 0: the interface's max_version */
};

struct drvops_interface {
	const char *name;
	const struct drvops_alias *aliases;
	unsigned int num_aliases;
	u32 min_version;
	u32 max_version;
	/* versions[v - min_version] for every v in min..max */
	const struct drvops_version_ops *const *versions;
};

struct drvops_device {
	/* Filled by the driver. */
	struct ib_device *ibdev;
	const struct drvops_interface *const *interfaces;
	unsigned int num_interfaces;

	/* Owned by the broker. */
	struct list_head node;		/* in the registry */
	struct mutex lock;		/* protects files */
	struct list_head files;		/* live driver-ops fds */
};

int drvops_register_device(struct drvops_device *dd);
void drvops_unregister_device(struct drvops_device *dd);
void drvops_ucontext_release(struct ib_ucontext *ucontext);

extern const struct uapi_definition drvops_uapi_defs[];
#define DRVOPS_UAPI_DEF_CHAIN() UAPI_DEF_CHAIN(drvops_uapi_defs)

extern const struct attribute_group drvops_device_group;

void *drvops_file_priv(const struct drvops_file *file);
void drvops_file_set_priv(struct drvops_file *file, void *priv);
u32 drvops_file_version(const struct drvops_file *file);
struct ib_device *drvops_file_ibdev(const struct drvops_file *file);
/*
 * True once teardown has begun: long-running handlers should stop early
 * (teardown waits for them) and report -EIO.
 */
bool drvops_file_dying(const struct drvops_file *file);
/* Readiness changed: wake readers, writers and pollers. Any context. */
void drvops_file_wake(struct drvops_file *file);

/*
 * Look up a bound object by type and uverbs handle. The binding cannot be
 * unbound until drvops_binding_put(); hold it only while using it.
 */
struct drvops_binding *drvops_file_get_binding(struct drvops_file *file,
					       enum drvops_obj_type type,
					       u32 handle);
void drvops_binding_put(struct drvops_binding *binding);

#endif /* DRVOPS_H */
