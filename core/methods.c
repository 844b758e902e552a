// SPDX-License-Identifier: GPL-2.0
/*
 * The uverbs methods of drvops, declared as data and chained into each
 * driver's driver_def with DRVOPS_UAPI_DEF_CHAIN(). The ABI and every errno
 * are documented in uapi/rdma/drvops_ioctl.h.
 */
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <rdma/uverbs_types.h>
#include <rdma/uverbs_std_types.h>
#include "drvops_priv.h"

#define UVERBS_MODULE_NAME drvops
#include <rdma/uverbs_named_ioctl.h>

/* Split "a\0b\0" into names[]; every name must be printable and short. */
static int drvops_parse_names(const char *buf, size_t len,
			      const char **names, unsigned int *n)
{
	size_t pos = 0;

	*n = 0;
	if (!len || buf[len - 1] != '\0')
		return -EINVAL;
	while (pos < len) {
		size_t nlen = strlen(buf + pos), i;

		if (!nlen || nlen >= DRVOPS_NAME_MAX || *n == DRVOPS_MAX_NAMES)
			return -EINVAL;
		for (i = 0; i < nlen; i++)
			if (buf[pos + i] < 0x21 || buf[pos + i] > 0x7e)
				return -EINVAL;
		names[(*n)++] = buf + pos;
		pos += nlen + 1;
	}
	return 0;
}

/*
 * The first name, in the caller's order, that the device offers in a
 * version inside [lo, hi]; the version is the highest both support.
 */
static int drvops_negotiate(struct drvops_device *dd, const char **names,
			    unsigned int n, const struct drvops_version_range *r,
			    const struct drvops_interface **iface_out,
			    u32 *version, u32 *index)
{
	bool known = false;
	unsigned int i, j, k;

	for (i = 0; i < n; i++) {
		for (j = 0; j < dd->num_interfaces; j++) {
			const struct drvops_interface *iface = dd->interfaces[j];

			for (k = 0; k <= iface->num_aliases; k++) {
				const char *name = k ? iface->aliases[k - 1].name :
						       iface->name;
				u32 max = iface->max_version;
				u32 lo, hi;

				if (k && iface->aliases[k - 1].max_version)
					max = iface->aliases[k - 1].max_version;
				if (strcmp(name, names[i]))
					continue;
				known = true;
				lo = max(r->min_version, iface->min_version);
				hi = min(r->max_version, max);
				if (lo > hi)
					continue;
				*iface_out = iface;
				*version = hi;
				*index = i;
				return 0;
			}
		}
	}
	return known ? -ENOPROTOOPT : -ENOENT;
}

static struct drvops_device *drvops_device_of(struct ib_device *ibdev)
{
	struct drvops_device *dd;

	mutex_lock(&drvops_registry_lock);
	dd = drvops_device_find(ibdev);
	mutex_unlock(&drvops_registry_lock);
	return dd;
}

/* Every output of GET_FD; the fd is not installed yet. */
static int drvops_report_fd(struct uverbs_attr_bundle *attrs, int fd,
			    u32 index, u32 version)
{
	s32 fd_out = fd;
	int ret;

	ret = uverbs_copy_to(attrs, DRVOPS_ATTR_GET_FD_FD, &fd_out,
			     sizeof(fd_out));
	if (!ret)
		ret = uverbs_copy_to(attrs, DRVOPS_ATTR_GET_FD_NAME_INDEX,
				     &index, sizeof(index));
	if (!ret)
		ret = uverbs_copy_to(attrs, DRVOPS_ATTR_GET_FD_VERSION,
				     &version, sizeof(version));
	return ret;
}

/*
 * The uverbs file the call came in on, checked against the fd number the
 * caller passed (the new file takes that file's LSM context). Returns
 * with a reference on the file.
 */
static struct file *drvops_uverbs_file(struct uverbs_attr_bundle *attrs)
{
	struct file *file;
	int uverbs_fd;
	int ret;

	ret = uverbs_get_raw_fd(&uverbs_fd, attrs, DRVOPS_ATTR_GET_FD_UVERBS_FD);
	if (ret)
		return ERR_PTR(ret);
	if (uverbs_fd < 0)
		return ERR_PTR(-EBADF);
	file = fget(uverbs_fd);
	if (!file)
		return ERR_PTR(-EBADF);
	if (file->private_data != attrs->ufile) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}

static int UVERBS_HANDLER(DRVOPS_METHOD_GET_FD)(struct uverbs_attr_bundle *attrs)
{
	const char *names[DRVOPS_MAX_NAMES];
	const struct drvops_interface *iface;
	struct drvops_version_range range;
	struct ib_ucontext *ucontext;
	struct file *uverbs_file, *file;
	struct drvops_device *dd;
	struct drvops_file *f;
	u32 flags, version, index;
	unsigned int n;
	int ret, fd;

	ucontext = ib_uverbs_get_ucontext(attrs);
	if (IS_ERR(ucontext))
		return PTR_ERR(ucontext);

	/* No flag is defined yet: uverbs answers EINVAL for unknown bits. */
	ret = uverbs_get_flags32(&flags, attrs, DRVOPS_ATTR_GET_FD_FLAGS, 0);
	if (ret)
		return ret;

	ret = uverbs_copy_from_or_zero(&range, attrs,
				       DRVOPS_ATTR_GET_FD_VERSIONS);
	if (ret)
		return ret;
	if (!range.min_version || range.min_version > range.max_version)
		return -EINVAL;

	ret = drvops_parse_names(
		uverbs_attr_get_alloced_ptr(attrs, DRVOPS_ATTR_GET_FD_NAMES),
		uverbs_attr_get_len(attrs, DRVOPS_ATTR_GET_FD_NAMES), names, &n);
	if (ret)
		return ret;

	dd = drvops_device_of(ucontext->device);
	if (!dd)
		return -ENOENT;
	ret = drvops_negotiate(dd, names, n, &range, &iface, &version, &index);
	if (ret)
		return ret;

	uverbs_file = drvops_uverbs_file(attrs);
	if (IS_ERR(uverbs_file))
		return PTR_ERR(uverbs_file);

	f = drvops_file_alloc(dd, ucontext, iface, version);
	if (!f) {
		ret = -ENOMEM;
		goto out_uverbs;
	}
	ret = drvops_file_open(f);
	if (ret) {
		drvops_file_put(f);
		goto out_uverbs;
	}
	file = drvops_anon_file(f, file_inode(uverbs_file));
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		drvops_file_kill(f);
		drvops_file_put(f);
		goto out_uverbs;
	}
	/* From here the file owns f: fput() undoes everything. */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto out_fput;
	}
	ret = drvops_report_fd(attrs, fd, index, version);
	if (ret) {
		put_unused_fd(fd);
		goto out_fput;
	}
	/* Last: a failing call must leave no fd behind, not even briefly. */
	fd_install(fd, file);
	fput(uverbs_file);
	return 0;

out_fput:
	fput(file);
out_uverbs:
	fput(uverbs_file);
	return ret;
}

/* Every name of the device, aliases included, in registration order. */
static unsigned int drvops_fill_entries(struct drvops_device *dd,
					struct drvops_interface_entry *e,
					unsigned int max)
{
	unsigned int i, k, n = 0;

	for (i = 0; i < dd->num_interfaces; i++) {
		const struct drvops_interface *iface = dd->interfaces[i];

		for (k = 0; k <= iface->num_aliases; k++, n++) {
			const struct drvops_alias *a =
				k ? &iface->aliases[k - 1] : NULL;

			if (n >= max)
				continue;
			memset(&e[n], 0, sizeof(e[n]));
			strscpy(e[n].name, a ? a->name : iface->name,
				sizeof(e[n].name));
			e[n].min_version = iface->min_version;
			e[n].max_version = a && a->max_version ?
					   a->max_version : iface->max_version;
			e[n].interface_index = i;
			e[n].flags = a ? DRVOPS_ENTRY_ALIAS : 0;
		}
	}
	return n;
}

static int UVERBS_HANDLER(DRVOPS_METHOD_QUERY)(struct uverbs_attr_bundle *attrs)
{
	const size_t esize = sizeof(struct drvops_interface_entry);
	struct drvops_interface_entry *entries;
	struct ib_ucontext *ucontext;
	struct drvops_device *dd;
	unsigned int total, fit = 0;
	int ret = 0;

	ucontext = ib_uverbs_get_ucontext(attrs);
	if (IS_ERR(ucontext))
		return PTR_ERR(ucontext);
	dd = drvops_device_of(ucontext->device);
	if (!dd)
		return -ENOENT;
	total = drvops_fill_entries(dd, NULL, 0);

	if (uverbs_attr_is_valid(attrs, DRVOPS_ATTR_QUERY_ENTRIES)) {
		size_t len = uverbs_attr_get_len(attrs,
						 DRVOPS_ATTR_QUERY_ENTRIES);

		if (len % esize)
			return -EINVAL;
		fit = min_t(size_t, len / esize, total);
	}
	if (fit) {
		entries = kcalloc(fit, esize, GFP_KERNEL);
		if (!entries)
			return -ENOMEM;
		drvops_fill_entries(dd, entries, fit);
		ret = uverbs_copy_to(attrs, DRVOPS_ATTR_QUERY_ENTRIES, entries,
				     fit * esize);
		kfree(entries);
		if (ret)
			return ret;
	}
	return uverbs_copy_to(attrs, DRVOPS_ATTR_QUERY_NUM_ENTRIES, &total,
			      sizeof(total));
}

DECLARE_UVERBS_NAMED_METHOD(
	DRVOPS_METHOD_GET_FD,
	UVERBS_ATTR_RAW_FD(DRVOPS_ATTR_GET_FD_UVERBS_FD, UA_MANDATORY),
	UVERBS_ATTR_PTR_IN(DRVOPS_ATTR_GET_FD_NAMES,
			   UVERBS_ATTR_MIN_SIZE(2),
			   UA_MANDATORY, UA_ALLOC_AND_COPY),
	UVERBS_ATTR_PTR_IN(DRVOPS_ATTR_GET_FD_VERSIONS,
			   UVERBS_ATTR_STRUCT(struct drvops_version_range,
					      max_version),
			   UA_MANDATORY),
	UVERBS_ATTR_FLAGS_IN(DRVOPS_ATTR_GET_FD_FLAGS, u32, UA_OPTIONAL),
	UVERBS_ATTR_PTR_OUT(DRVOPS_ATTR_GET_FD_FD, UVERBS_ATTR_TYPE(s32),
			    UA_MANDATORY),
	UVERBS_ATTR_PTR_OUT(DRVOPS_ATTR_GET_FD_NAME_INDEX,
			    UVERBS_ATTR_TYPE(u32), UA_MANDATORY),
	UVERBS_ATTR_PTR_OUT(DRVOPS_ATTR_GET_FD_VERSION,
			    UVERBS_ATTR_TYPE(u32), UA_MANDATORY));

DECLARE_UVERBS_NAMED_METHOD(
	DRVOPS_METHOD_QUERY,
	UVERBS_ATTR_PTR_OUT(DRVOPS_ATTR_QUERY_ENTRIES,
			    UVERBS_ATTR_MIN_SIZE(0), UA_OPTIONAL),
	UVERBS_ATTR_PTR_OUT(DRVOPS_ATTR_QUERY_NUM_ENTRIES,
			    UVERBS_ATTR_TYPE(u32), UA_MANDATORY));

DECLARE_UVERBS_GLOBAL_METHODS(DRVOPS_OBJECT_BROKER,
			      &UVERBS_METHOD(DRVOPS_METHOD_GET_FD),
			      &UVERBS_METHOD(DRVOPS_METHOD_QUERY));

static const enum drvops_obj_type drvops_bind_types[] = {
	DRVOPS_OBJ_PD, DRVOPS_OBJ_MR, DRVOPS_OBJ_CQ,
};

static const u16 drvops_bind_attrs[] = {
	DRVOPS_ATTR_BIND_PD, DRVOPS_ATTR_BIND_MR, DRVOPS_ATTR_BIND_CQ,
};

static int UVERBS_HANDLER(DRVOPS_METHOD_BIND)(struct uverbs_attr_bundle *attrs)
{
	struct ib_uobject *uobj =
		uverbs_attr_get_uobject(attrs, DRVOPS_ATTR_BIND_HANDLE);
	struct drvops_binding_obj *b =
		container_of(uobj, struct drvops_binding_obj, uobj);
	struct ib_uobject *target = NULL;
	struct ib_ucontext *ucontext;
	enum drvops_obj_type type = DRVOPS_OBJ_PD;
	struct drvops_file *f;
	unsigned int i;
	struct fd df;
	int drvops_fd;
	u32 flags;
	int ret;

	ucontext = ib_uverbs_get_ucontext(attrs);
	if (IS_ERR(ucontext))
		return PTR_ERR(ucontext);
	ret = uverbs_get_flags32(&flags, attrs, DRVOPS_ATTR_BIND_FLAGS, 0);
	if (ret)
		return ret;

	for (i = 0; i < ARRAY_SIZE(drvops_bind_attrs); i++) {
		if (!uverbs_attr_is_valid(attrs, drvops_bind_attrs[i]))
			continue;
		if (target)
			return -EINVAL;
		target = uverbs_attr_get_uobject(attrs, drvops_bind_attrs[i]);
		type = drvops_bind_types[i];
	}
	if (!target)
		return -EINVAL;

	ret = uverbs_get_raw_fd(&drvops_fd, attrs, DRVOPS_ATTR_BIND_DRVOPS_FD);
	if (ret)
		return ret;
	if (drvops_fd < 0)
		return -EBADF;
	df = fdget(drvops_fd);
	f = drvops_file_from_fd(df);
	if (!f)
		ret = -EBADF;
	else if (drvops_file_dying(f))
		/* Its ucontext pointer may be stale: never compare it. */
		ret = -EIO;
	else if (f->ucontext != ucontext)
		ret = -EXDEV;
	else if (f->mm != current->mm)
		ret = -EPERM;
	else
		ret = drvops_bind(f, b, type, target);
	if (!ret)
		uobj->object = b;
	fdput(df);
	return ret;
}

/* UNBIND, or the binding's context going away: never fails. */
static int drvops_binding_destroy(struct ib_uobject *uobj,
				  enum rdma_remove_reason why,
				  struct uverbs_attr_bundle *attrs)
{
	struct drvops_binding_obj *b =
		container_of(uobj, struct drvops_binding_obj, uobj);

	/*
	 * Anything but UNBIND means the whole context is going away: the fd
	 * dies first, so its users see EIO rather than an object vanishing
	 * under them (ENOENT) while the rest of the context is torn down.
	 */
	if (why != RDMA_REMOVE_DESTROY && b->file)
		drvops_file_kill(b->file);
	drvops_unbind(b);
	return 0;
}

DECLARE_UVERBS_NAMED_METHOD(
	DRVOPS_METHOD_BIND,
	UVERBS_ATTR_IDR(DRVOPS_ATTR_BIND_HANDLE, DRVOPS_OBJECT_BINDING,
			UVERBS_ACCESS_NEW, UA_MANDATORY),
	UVERBS_ATTR_RAW_FD(DRVOPS_ATTR_BIND_DRVOPS_FD, UA_MANDATORY),
	UVERBS_ATTR_IDR(DRVOPS_ATTR_BIND_PD, UVERBS_OBJECT_PD,
			UVERBS_ACCESS_READ, UA_OPTIONAL),
	UVERBS_ATTR_IDR(DRVOPS_ATTR_BIND_MR, UVERBS_OBJECT_MR,
			UVERBS_ACCESS_READ, UA_OPTIONAL),
	UVERBS_ATTR_IDR(DRVOPS_ATTR_BIND_CQ, UVERBS_OBJECT_CQ,
			UVERBS_ACCESS_READ, UA_OPTIONAL),
	UVERBS_ATTR_FLAGS_IN(DRVOPS_ATTR_BIND_FLAGS, u32, UA_OPTIONAL));

DECLARE_UVERBS_NAMED_METHOD_DESTROY(
	DRVOPS_METHOD_UNBIND,
	UVERBS_ATTR_IDR(DRVOPS_ATTR_UNBIND_HANDLE, DRVOPS_OBJECT_BINDING,
			UVERBS_ACCESS_DESTROY, UA_MANDATORY));

DECLARE_UVERBS_NAMED_OBJECT(
	DRVOPS_OBJECT_BINDING,
	UVERBS_TYPE_ALLOC_IDR_SZ(sizeof(struct drvops_binding_obj),
				 drvops_binding_destroy),
	&UVERBS_METHOD(DRVOPS_METHOD_BIND),
	&UVERBS_METHOD(DRVOPS_METHOD_UNBIND));

const struct uapi_definition drvops_uapi_defs[] = {
	UAPI_DEF_CHAIN_OBJ_TREE_NAMED(DRVOPS_OBJECT_BROKER),
	UAPI_DEF_CHAIN_OBJ_TREE_NAMED(DRVOPS_OBJECT_BINDING),
	{},
};
EXPORT_SYMBOL_GPL(drvops_uapi_defs);
