// SPDX-License-Identifier: GPL-2.0
/*
 * The registry: which ib_device offers which driver-ops interfaces.
 *
 * Drivers register before ib_register_device() and unregister after
 * ib_unregister_device(); uverbs methods only run in between, so a method
 * handler may use the drvops_device it finds without holding a reference.
 */
#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/string.h>
#include "drvops_priv.h"

/* Protects drvops_devices and the interface tables read through it. */
DEFINE_MUTEX(drvops_registry_lock);
static LIST_HEAD(drvops_devices);

struct drvops_device *drvops_device_find(struct ib_device *ibdev)
{
	struct drvops_device *dd;

	lockdep_assert_held(&drvops_registry_lock);
	list_for_each_entry(dd, &drvops_devices, node)
		if (dd->ibdev == ibdev)
			return dd;
	return NULL;
}

static bool drvops_name_valid(const char *name)
{
	size_t len, i;

	if (!name)
		return false;
	len = strnlen(name, DRVOPS_NAME_MAX);
	if (len == 0 || len >= DRVOPS_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isgraph(name[i]))
			return false;
	return true;
}

static int drvops_check_version_ops(const struct drvops_version_ops *ops)
{
	if (!ops)
		return -EINVAL;
	if ((ops->read || ops->write_iter) && !ops->poll)
		return -EINVAL;
	if (!ops->mmap != !ops->fault)
		return -EINVAL;
	return drvops_check_ioctl_table(ops);
}

static int drvops_check_interface(const struct drvops_interface *iface)
{
	unsigned int i;
	u32 v;
	int ret;

	if (!iface || !drvops_name_valid(iface->name) || !iface->versions)
		return -EINVAL;
	if (!iface->min_version || iface->min_version > iface->max_version)
		return -EINVAL;
	for (i = 0; i < iface->num_aliases; i++) {
		const struct drvops_alias *a = &iface->aliases[i];

		if (!drvops_name_valid(a->name))
			return -EINVAL;
		if (a->max_version && (a->max_version < iface->min_version ||
				       a->max_version > iface->max_version))
			return -EINVAL;
	}
	for (v = iface->min_version; v <= iface->max_version; v++) {
		ret = drvops_check_version_ops(
			iface->versions[v - iface->min_version]);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * drvops_register_device - offer driver-ops interfaces on an ib_device
 * @dd: filled with ibdev and interfaces; the rest is the broker's
 *
 * Returns -EINVAL for a malformed interface table, -EEXIST if the ib_device
 * is registered already.
 */
int drvops_register_device(struct drvops_device *dd)
{
	unsigned int i;
	int ret;

	if (!dd->ibdev || !dd->num_interfaces)
		return -EINVAL;
	for (i = 0; i < dd->num_interfaces; i++) {
		ret = drvops_check_interface(dd->interfaces[i]);
		if (ret) {
			pr_err("drvops: interface %u of %s is malformed\n", i,
			       dd->interfaces[i] && dd->interfaces[i]->name ?
			       dd->interfaces[i]->name : "(null)");
			return ret;
		}
	}

	mutex_init(&dd->lock);
	INIT_LIST_HEAD(&dd->files);

	mutex_lock(&drvops_registry_lock);
	if (drvops_device_find(dd->ibdev)) {
		mutex_unlock(&drvops_registry_lock);
		return -EEXIST;
	}
	list_add_tail(&dd->node, &drvops_devices);
	mutex_unlock(&drvops_registry_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(drvops_register_device);

/**
 * drvops_unregister_device - withdraw the interfaces of an ib_device
 * @dd: as registered
 *
 * Call after ib_unregister_device(): by then every ucontext is gone and so
 * is every live driver-ops fd of the device.
 */
void drvops_unregister_device(struct drvops_device *dd)
{
	mutex_lock(&drvops_registry_lock);
	list_del(&dd->node);
	mutex_unlock(&drvops_registry_lock);
	WARN_ON_ONCE(!list_empty(&dd->files));
}
EXPORT_SYMBOL_GPL(drvops_unregister_device);

static struct drvops_file *drvops_next_file_of(struct drvops_device *dd,
					       struct ib_ucontext *ucontext)
{
	struct drvops_file *f;

	mutex_lock(&dd->lock);
	list_for_each_entry(f, &dd->files, dev_node) {
		if (f->ucontext == ucontext) {
			kref_get(&f->ref);
			mutex_unlock(&dd->lock);
			return f;
		}
	}
	mutex_unlock(&dd->lock);
	return NULL;
}

/**
 * drvops_ucontext_release - kill every driver-ops fd of a ucontext
 * @ucontext: the context being deallocated
 *
 * Call from ib_device_ops.dealloc_ucontext. uverbs calls that when the
 * uverbs fd is closed and when the device is unregistered (after
 * disassociate); bindings, being uverbs objects, are gone already.
 */
void drvops_ucontext_release(struct ib_ucontext *ucontext)
{
	struct drvops_device *dd;
	struct drvops_file *f;

	mutex_lock(&drvops_registry_lock);
	dd = drvops_device_find(ucontext->device);
	mutex_unlock(&drvops_registry_lock);
	if (!dd)
		return;

	/* kill unlinks the file from dd->files, so this terminates. */
	while ((f = drvops_next_file_of(dd, ucontext))) {
		drvops_file_kill(f);
		drvops_file_put(f);
	}
}
EXPORT_SYMBOL_GPL(drvops_ucontext_release);
