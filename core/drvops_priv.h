/* SPDX-License-Identifier: GPL-2.0 */
/* ib_drvops internals shared between its files. */
#ifndef DRVOPS_PRIV_H
#define DRVOPS_PRIV_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <rdma/ib_verbs.h>
#include "active.h"
#include "drvops.h"

/*
 * One driver-ops fd.
 *
 * Lifetime: ref counts the file and every binding that points here; the
 * struct is freed when the last goes. Liveness is separate: "active"
 * counts the file operations running (active.h: a per-CPU increment, no
 * shared cache line, no call on the fast path), each between drvops_enter
 * and drvops_exit. drvops_file_kill() marks the fd dead, stops new
 * operations and waits until the running ones return, so once it returns
 * no driver handler runs or will run, and release() is called exactly
 * once. The price is one RCU grace period per kill.
 * kill runs on the first of: close of this fd, close of the uverbs fd,
 * device unregister (both through drvops_ucontext_release) or failure of
 * GET_FD after the file existed.
 */
struct drvops_file {
	struct kref ref;
	struct drvops_active active;
	struct mutex kill_lock;		/* serialises killers */
	bool dead;			/* set once, under kill_lock */
	wait_queue_head_t wait;		/* readers, writers, pollers */

	struct drvops_device *dd;
	struct ib_ucontext *ucontext;
	const struct drvops_interface *iface;
	const struct drvops_version_ops *ops;
	u32 version;
	void *priv;
	struct mm_struct *mm;		/* creator; mmgrab'd */
	struct address_space *mapping;	/* set at first mmap, for zapping */
	struct ib_rdmacg_object cg_obj;
	struct list_head dev_node;	/* dd->files, under dd->lock */

	spinlock_t bind_lock;		/* protects bindings and their lists */
	struct list_head bindings;
};

/* A binding, embedded in its uverbs object. */
struct drvops_binding_obj {
	struct ib_uobject uobj;		/* must be first */
	struct drvops_binding pub;
	struct drvops_file *file;	/* holds a file ref */
	struct ib_uobject *target;	/* read-locked and referenced while bound */
	struct list_head file_node;	/* file->bindings, under bind_lock */
	bool bound;
	atomic_t users;			/* 1 while bound, + lookups in progress */
	struct completion idle;
	/* Set once the target is dropped, by whoever took b off the list. */
	struct completion finished;
};

extern const struct file_operations drvops_fops;

/* registry.c */
struct drvops_device *drvops_device_find(struct ib_device *ibdev);
extern struct mutex drvops_registry_lock;

/* file.c */
static inline bool drvops_foreign(const struct drvops_file *f)
{
	return current->mm != f->mm;
}

static inline void drvops_exit(struct drvops_file *f)
{
	drvops_active_exit(&f->active);
}

/*
 * Admit one operation. Once kill has begun nothing new is admitted, even
 * while other operations still hold "active": otherwise overlapping
 * callers could keep teardown waiting for ever, and a sleeper woken by
 * kill could go back to sleep.
 */
static inline bool drvops_enter(struct drvops_file *f)
{
	return drvops_active_enter(&f->active);
}

struct drvops_file *drvops_file_alloc(struct drvops_device *dd,
				      struct ib_ucontext *ucontext,
				      const struct drvops_interface *iface,
				      u32 version);
int drvops_file_open(struct drvops_file *f);
void drvops_file_kill(struct drvops_file *f);
void drvops_file_put(struct drvops_file *f);
struct drvops_file *drvops_file_from_fd(struct fd fd);

/* anon_file.c */
int drvops_anon_init(void);
void drvops_anon_exit(void);
struct file *drvops_anon_file(struct drvops_file *f,
			      const struct inode *context);

/* ioctl.c */
long drvops_fop_ioctl(struct file *filp, unsigned int cmd, unsigned long arg);
int drvops_check_ioctl_table(const struct drvops_version_ops *ops);

/* inject.c: delays that widen race windows for the tests (debug kernels) */
struct dentry;
enum drvops_inject_site {
	DRVOPS_INJECT_UNBIND_ALL,
	DRVOPS_INJECT_FAULT,
	DRVOPS_INJECT_NR,
};
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
void drvops_inject_init(struct dentry *dir);
void drvops_inject_delay(enum drvops_inject_site site);
#else
static inline void drvops_inject_init(struct dentry *dir) {}
static inline void drvops_inject_delay(enum drvops_inject_site site) {}
#endif

/* bind.c */
int drvops_bind(struct drvops_file *f, struct drvops_binding_obj *b,
		enum drvops_obj_type type, struct ib_uobject *target);
void drvops_unbind(struct drvops_binding_obj *b);
void drvops_unbind_all(struct drvops_file *f);

/* stats, for the leak tests (debugfs) */
struct drvops_stats {
	atomic_t files;		/* allocated drvops_file structs */
	atomic_t live_files;	/* not yet killed */
	atomic_t bindings;	/* bound, not yet unbound */
};
extern struct drvops_stats drvops_stats;

#endif /* DRVOPS_PRIV_H */
