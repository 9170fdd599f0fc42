/* A threaded child's threads: starting them with the configured stack
 * size, keeping signals away from them, and the main thread's wait for the
 * order to stop. Runs in the child only. */
#ifndef LOOM_THREADS_H
#define LOOM_THREADS_H

#include <stdatomic.h>

#include "apr_thread_proc.h"

#include "loom/child.h"

/* One thread of a child, as the model describes it. */
typedef struct loom_thread {
    apr_thread_t       *thread;
    apr_thread_start_t  fn;
    void               *arg;
    /* The connection it serves, or -1: written by the thread itself, read
     * by the main thread and the stop-now signal handler to shut it down.
     * Relaxed: a stale descriptor costs at most a shutdown() that fails. */
    _Atomic int         busy_fd;
} loom_thread_t;

/* Blocks the stop signals for them and starts every thread of `set`; a
 * thread that cannot start ends the child (APEXIT_CHILDSICK). */
void loom_threads_run(loom_child_t *ch, loom_thread_t *set, int n);

/* Stop-now: shuts down every connection in service, so that blocked reads
 * and writes fail at once and the threads unwind. */
void loom_threads_abort_io(loom_thread_t *set, int n);

/* Joins every started thread of `set`. */
void loom_threads_join(loom_thread_t *set, int n);

/* Blocks every signal in the calling thread, so that the threads it starts
 * inherit a mask that keeps stop signals for the main thread. */
void loom_threads_block_signals(void);

/* Starts one thread with ThreadStackSize applied. 0 or an APR status
 * (logged). */
apr_status_t loom_threads_start(apr_thread_t **t, apr_thread_start_t fn,
                                void *arg, apr_pool_t *pool);

/* Main thread: lets the stop signals in and sleeps until the child must
 * stop; returns how. */
loom_stop_e loom_threads_wait_stop(loom_child_t *ch);

#endif
