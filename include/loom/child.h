/* A child's life: set-up after fork (privileges, child_init), the exit
 * decision, and a clean exit. Runs in the child only. */
#ifndef LOOM_CHILD_H
#define LOOM_CHILD_H

#include <stdatomic.h>

#include "httpd.h"
#include "apr_thread_proc.h"

#include "loom/signals.h"
#include "loom/state.h"

typedef struct loom_child {
    loom_state_t    *st;
    int              slot;
    int              bucket;
    ap_generation_t  generation;
    pid_t            parent;
    apr_pool_t      *pchild;
    apr_thread_t    *thread;       /* the main thread */
    /* Connections taken so far: added to by whichever thread accepts,
     * read by the main thread for MaxConnectionsPerChild. Relaxed: a
     * count that orders nothing else. */
    _Atomic long     conns;
    int              stopping;     /* child_stopping has run */
} loom_child_t;

/* In a new child (or in the parent with -X): sets up the process and runs
 * the model's child_main. Never returns. */
void loom_child_run(loom_state_t *st, int slot, int bucket);

/* Any thread: the scoreboard slot of the child this process is, or -1 in
 * the parent. */
int loom_child_slot(void);

/* Whether the child should stop taking connections, and how: a stop
 * request, a newer generation, MaxConnectionsPerChild, or a parent that is
 * gone all say so. */
loom_stop_e loom_child_exit_reason(loom_child_t *ch);

/* Runs the child_stopping hook once and moves the MPM state to STOPPING. */
void loom_child_stopping(loom_child_t *ch, int graceful);

/* Destroys the child's pool (running module cleanups) and exits. */
void loom_child_exit(loom_child_t *ch, int code) __attribute__((noreturn));

#endif
