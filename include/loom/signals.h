/* Signals: handlers only record what was asked (and write a wake-up byte);
 * the loops act on it.
 *
 * The parent's stop/restart signals are the core's own handlers
 * (ap_unixd_mpm_set_signals): they live in the server binary, so a signal
 * that arrives while our DSO is unloaded between generations is harmless.
 * The only parent handler here is SIGCHLD's, which is installed for the
 * length of the mpm hook and removed before it returns. */
#ifndef LOOM_SIGNALS_H
#define LOOM_SIGNALS_H

#include <stddef.h>

/* Seconds a child has to exit cleanly after a stop-now request. */
#define LOOM_STOP_NOW_GRACE_S 1

/* What a child has been asked to do, in increasing order of urgency. */
typedef enum {
    LOOM_STOP_NONE = 0,
    LOOM_STOP_GRACEFUL,    /* SIGUSR1: finish what is in flight, exit */
    LOOM_STOP_NOW          /* SIGTERM, SIGHUP: abort and exit */
} loom_stop_e;

/* Parent: start catching SIGCHLD (0 or -errno) / stop catching it. */
int  loom_signals_parent_begin(void);
void loom_signals_parent_end(void);

/* Parent: sleeps until a child exits, a stop/restart signal arrives or
 * timeout_ms passes. Returns 1 if a child may have exited. */
int  loom_signals_parent_wait(int timeout_ms);

/* A new child: drop the parent's SIGCHLD catching and install the child's
 * handlers. `wake_fd` (an eventfd, or -1) is written on every request. */
void loom_signals_child_install(int wake_fd);

/* The most urgent stop request received so far. */
loom_stop_e loom_signals_child_pending(void);

/* Records a stop request made from inside the child (not a signal). */
void loom_signals_child_request(loom_stop_e how);

/* Single-threaded children: the connection descriptor in service, or -1.
 * A stop-now request shuts it down, so that blocking I/O fails at once and
 * the child unwinds and exits cleanly instead of dying inside a handler. */
void loom_signals_child_busy_fd(int fd);

/* Threaded children: where their threads keep the connection each one
 * serves: `n` ints, one every `stride` bytes from `first` (the busy_fd of
 * a loom_thread_t set), each a descriptor or -1. A stop-now request shuts
 * every one of them down from the handler, as for a single-threaded
 * child, so that a thread blocked on its client fails at once even when
 * the main thread is not there to abort it (it may be waiting for a
 * graceful drain that the stop-now cuts short). */
void loom_signals_child_busy_fds(_Atomic int *first, size_t stride, int n);

#endif
