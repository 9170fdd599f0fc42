/* The parent: one generation of children, from start to the stop or
 * restart that ends it. This is the `mpm` hook. */
#ifndef LOOM_MASTER_H
#define LOOM_MASTER_H

#include "httpd.h"

int loom_master_run(apr_pool_t *pconf, apr_pool_t *plog, server_rec *s);

/* How often the parent calls a model's watch, at most. */
#define LOOM_WATCH_MS 10

/* A model's look at its children from the parent, every LOOM_WATCH_MS
 * while this configuration runs (NULL: none), and its word on which
 * child counts as busy for MinSpareServers and MaxSpareServers (NULL: a
 * child counts its workers idle in the scoreboard; else the one worker
 * of the child in `slot` is idle unless held_up says). Set from the
 * model's register_hooks or post_config; called on the parent's one
 * thread. */
void loom_master_watch(void (*watch)(void), int (*held_up)(int slot));

#endif
