/* A threaded child's threads: starting them with the configured stack
 * size, keeping signals away from them, and the main thread's wait for the
 * order to stop. Runs in the child only. */
#ifndef LOOM_THREADS_H
#define LOOM_THREADS_H

#include "apr_thread_proc.h"

#include "loom/child.h"

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
