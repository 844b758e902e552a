// SPDX-License-Identifier: GPL-2.0
/*
 * Bindings: core objects (PD, MR, CQ) of a uverbs fd lent to a driver-ops
 * fd of the same context.
 *
 * While bound, the broker holds the target uobject read-locked (one more
 * reader in uobj->usecnt): uverbs then refuses to destroy or modify it
 * with EBUSY, for every object type, before any driver code runs. The
 * binding is a uverbs object of its own, always newer than its target;
 * uverbs tears a context down newest first, so the binding is gone before
 * the target is destroyed and the cleanup never meets a locked object.
 *
 * A binding's users count is 1 while bound plus one per lookup in
 * progress; unbinding drops the 1 and waits for the lookups to end, so the
 * driver never sees an object that is being destroyed.
 */
#include <linux/slab.h>
#include "drvops_priv.h"

static struct drvops_binding_obj *drvops_binding_obj(struct drvops_binding *b)
{
	return container_of(b, struct drvops_binding_obj, pub);
}

static struct drvops_binding_obj *
drvops_find_bound(struct drvops_file *f, enum drvops_obj_type type, u32 handle)
{
	struct drvops_binding_obj *b;

	lockdep_assert_held(&f->bind_lock);
	list_for_each_entry(b, &f->bindings, file_node)
		if (b->pub.type == type && b->pub.handle == handle)
			return b;
	return NULL;
}

/* Called from the BIND method, which holds the target read-locked. */
int drvops_bind(struct drvops_file *f, struct drvops_binding_obj *b,
		enum drvops_obj_type type, struct ib_uobject *target)
{
	int ret;

	b->pub.type = type;
	b->pub.handle = target->id;
	b->pub.object = target->object;
	atomic_set(&b->users, 1);
	init_completion(&b->idle);
	init_completion(&b->finished);

	if (!drvops_enter(f))
		return -EIO;

	spin_lock(&f->bind_lock);
	ret = drvops_find_bound(f, type, b->pub.handle) ? -EALREADY : 0;
	spin_unlock(&f->bind_lock);
	if (!ret && !f->ops->bind)
		ret = -EOPNOTSUPP;
	if (!ret)
		ret = f->ops->bind(f, &b->pub);
	if (ret)
		goto out;

	/* A long-term reader: uverbs destroy/modify now get EBUSY. */
	atomic_inc(&target->usecnt);
	uverbs_uobject_get(target);
	b->target = target;
	kref_get(&f->ref);
	b->file = f;

	spin_lock(&f->bind_lock);
	/* Two concurrent BINDs of one object: the second loses. */
	if (drvops_find_bound(f, type, b->pub.handle)) {
		spin_unlock(&f->bind_lock);
		atomic_dec(&target->usecnt);
		uverbs_uobject_put(target);
		drvops_file_put(f);
		b->file = NULL;
		b->target = NULL;
		if (f->ops->unbind)
			f->ops->unbind(f, &b->pub);
		ret = -EALREADY;
		goto out;
	}
	b->bound = true;
	list_add_tail(&b->file_node, &f->bindings);
	spin_unlock(&f->bind_lock);
	atomic_inc(&drvops_stats.bindings);
out:
	drvops_exit(f);
	return ret;
}

/* Drop the target; the caller has taken b off the file's list. */
static void drvops_binding_finish(struct drvops_binding_obj *b)
{
	if (!atomic_dec_and_test(&b->users))
		wait_for_completion(&b->idle);
	atomic_dec(&b->target->usecnt);
	uverbs_uobject_put(b->target);
	b->target = NULL;
	atomic_dec(&drvops_stats.bindings);
	complete_all(&b->finished);
}

/* UNBIND, or the binding uobject destroyed with its context. */
void drvops_unbind(struct drvops_binding_obj *b)
{
	struct drvops_file *f = b->file;
	bool was_bound;

	if (!f)
		return;
	spin_lock(&f->bind_lock);
	was_bound = b->bound;
	if (was_bound) {
		b->bound = false;
		list_del_init(&b->file_node);
	}
	spin_unlock(&f->bind_lock);

	if (was_bound) {
		/* A live file's driver must stop using the object first. */
		if (drvops_enter(f)) {
			if (f->ops->unbind)
				f->ops->unbind(f, &b->pub);
			drvops_exit(f);
		}
		drvops_binding_finish(b);
	} else {
		/*
		 * drvops_unbind_all() of a dying file took it off the list
		 * first and may still be using it: uverbs frees b when we
		 * return.
		 */
		wait_for_completion(&b->finished);
	}
	b->file = NULL;
	drvops_file_put(f);
}

/* The file is dead and released: every binding becomes inert. */
void drvops_unbind_all(struct drvops_file *f)
{
	struct drvops_binding_obj *b;

	for (;;) {
		spin_lock(&f->bind_lock);
		b = list_first_entry_or_null(&f->bindings,
					     struct drvops_binding_obj,
					     file_node);
		if (b) {
			b->bound = false;
			list_del_init(&b->file_node);
		}
		spin_unlock(&f->bind_lock);
		if (!b)
			return;
		drvops_inject_delay(DRVOPS_INJECT_UNBIND_ALL);
		drvops_binding_finish(b);
	}
}

struct drvops_binding *drvops_file_get_binding(struct drvops_file *file,
					       enum drvops_obj_type type,
					       u32 handle)
{
	struct drvops_binding_obj *b;

	spin_lock(&file->bind_lock);
	b = drvops_find_bound(file, type, handle);
	if (b)
		atomic_inc(&b->users);
	spin_unlock(&file->bind_lock);
	return b ? &b->pub : NULL;
}
EXPORT_SYMBOL_GPL(drvops_file_get_binding);

void drvops_binding_put(struct drvops_binding *binding)
{
	struct drvops_binding_obj *b = drvops_binding_obj(binding);

	if (atomic_dec_and_test(&b->users))
		complete(&b->idle);
}
EXPORT_SYMBOL_GPL(drvops_binding_put);
