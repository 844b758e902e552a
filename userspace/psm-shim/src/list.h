/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* A circular doubly linked list with the links inside the elements. */
#ifndef PSM_SHIM_LIST_H
#define PSM_SHIM_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct shim_list {
	struct shim_list *next, *prev;
};

#define shim_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void shim_list_init(struct shim_list *l)
{
	l->next = l->prev = l;
}

static inline bool shim_list_empty(const struct shim_list *l)
{
	return l->next == l;
}

/* Insert n before pos (at the tail when pos is the list head). */
static inline void shim_list_insert_before(struct shim_list *pos,
					   struct shim_list *n)
{
	n->prev = pos->prev;
	n->next = pos;
	pos->prev->next = n;
	pos->prev = n;
}

static inline void shim_list_append(struct shim_list *head, struct shim_list *n)
{
	shim_list_insert_before(head, n);
}

/* Unlink n; it is left pointing at itself so a second del is harmless. */
static inline void shim_list_del(struct shim_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	shim_list_init(n);
}

#define shim_list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif /* PSM_SHIM_LIST_H */
