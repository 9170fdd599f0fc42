/* One intrusive doubly linked list, for timer lanes, graveyards and any
 * other queue of things that embed a loom_list_t. Header-only. */
#ifndef LOOM_LIST_H
#define LOOM_LIST_H

#include <stddef.h>

typedef struct loom_list {
    struct loom_list *prev;
    struct loom_list *next;
} loom_list_t;

#define loom_list_entry(ptr, type, member) \
    ((type *) ((char *) (ptr) - offsetof(type, member)))

static inline void
loom_list_init(loom_list_t *head)
{
    head->prev = head->next = head;
}

static inline int
loom_list_empty(const loom_list_t *head)
{
    return head->next == head;
}

static inline void
loom_list_append(loom_list_t *head, loom_list_t *item)
{
    item->prev = head->prev;
    item->next = head;
    head->prev->next = item;
    head->prev = item;
}

static inline void
loom_list_remove(loom_list_t *item)
{
    item->prev->next = item->next;
    item->next->prev = item->prev;
    item->prev = item->next = item;
}

#endif
