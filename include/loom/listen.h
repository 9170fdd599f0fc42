/* Listeners: buckets of SO_REUSEPORT sockets, non-blocking accept, and a
 * wait that wakes one process or thread per connection (EPOLLEXCLUSIVE)
 * instead of an accept mutex. */
#ifndef LOOM_LISTEN_H
#define LOOM_LISTEN_H

#include <stdatomic.h>

#include "apr_network_io.h"
#include "ap_listen.h"

#include "loom/poller.h"
#include "loom/state.h"

typedef struct loom_listen_watch {
    loom_watch_t   watch;
    ap_listen_rec *lr;
} loom_listen_watch_t;

/* One child's listeners: the sockets of its bucket in its poller. */
typedef struct loom_listeners {
    loom_poller_t        *poller;
    loom_listen_watch_t  *items;
    int                   count;
    int                   armed;        /* in the poller now */
    unsigned              arm_flags;    /* EXCLUSIVE, or ONESHOT */
    /* The model holds accepting off: written by loom_listen_hold under the
     * model's serialisation, read by anyone through loom_listen_held. */
    _Atomic int           held;
    apr_time_t            paused_until; /* 0: not paused for lack of fds */
    int                   emfile_logged;
    int                   rearm_logged; /* LOOM0207 said once */
    int                   next_try;     /* the listener tried first */
} loom_listeners_t;

/* open_logs: binds every Listen, splits them into buckets (kept across
 * graceful restarts) and makes them non-blocking. 0 or -1 (logged). */
int loom_listen_open(loom_state_t *st, server_rec *s);

/* In a child: closes the other buckets' sockets and arms this bucket's in
 * `poller` with `arm_flags`. A process with one waiting thread uses
 * LOOM_ARM_EXCLUSIVE: the kernel wakes one waiting process per connection.
 * Threads that share one poller use LOOM_ARM_ONESHOT: one of them takes a
 * ready listener, accepts one connection and re-arms it with
 * loom_listen_rearm, so a backlog spreads over the idle threads and no
 * connection waits behind a busy one. 0 or -errno. */
int loom_listen_child_init(loom_listeners_t *l, loom_state_t *st, int bucket,
                           loom_poller_t *poller, apr_pool_t *pool,
                           unsigned arm_flags);

/* Whether accepting is held off now. Any thread, no lock: relaxed, a
 * hint for a fast path; decide under the lock that loom_listen_hold
 * is called under. */
int loom_listen_held(const loom_listeners_t *l);

/* One-shot listeners: arms `w` again after its report (unless accepting
 * is held or paused meanwhile; then the re-arm happens when that ends). */
void loom_listen_rearm(loom_listeners_t *l, loom_watch_t *w);

/* Accepts one connection from `lr` into an APR socket allocated from
 * `ptrans` (the pool that closes it when cleared). The socket blocks and is
 * closed on exec. 0 with *csd set; -EAGAIN when there was nothing to take
 * (another waiter won, or a transient network error); -EMFILE and friends
 * when out of resources (the caller pauses); other -errno is fatal for the
 * child. */
int loom_listen_accept(ap_listen_rec *lr, apr_pool_t *ptrans,
                       apr_socket_t **csd);

/* Whether a connection waits on `lr` to be accepted, asked without
 * waiting: one poll() instead of a failed accept into a fresh record. Any
 * thread. */
int loom_listen_waiting(const ap_listen_rec *lr);

/* How long accepting pauses after the process ran out of descriptors. */
#define LOOM_LISTEN_PAUSE_MS 250

/* For a process or thread that alone waits on its listeners (prefork's
 * child, worker's listener thread): takes a queued connection into
 * `ptrans`, or else sleeps in the poller until one may be there, or a
 * wake-up, and tries once more. Under load a connection is nearly always
 * queued, and taking it first saves an epoll_wait per connection. After a
 * wake-up it takes before the caller looks at a graceful stop:
 * EPOLLEXCLUSIVE woke this waiter alone, and a connection left behind
 * would wait for the next arrival to wake another. Not during a stop-now,
 * which ends the whole generation: the next one's children find the
 * connection as they arm their listeners.
 * 0 with *csd set; -EAGAIN when there is nothing to take now (the caller
 * checks whether it must stop, and calls again); -1 when accepting failed
 * for good (logged): the child must stop accepting and exit. Running out of
 * descriptors pauses accepting (logged once) and returns -EAGAIN. */
int loom_listen_next(loom_listeners_t *l, apr_pool_t *ptrans,
                     apr_socket_t **csd);

/* True for the accept errors that mean "out of resources": pause. */
int loom_listen_out_of_resources(int err);

/* Takes the listeners out of the poller for `ms` milliseconds after the
 * process ran out of descriptors, so that accepting does not spin. */
void loom_listen_pause(loom_listeners_t *l, int ms, int err);

/* Re-arms paused listeners whose pause is over; returns the milliseconds
 * left until the next re-arm is due, or -1 when none is pending. */
int loom_listen_tick(loom_listeners_t *l);

/* Holds accepting off (on != 0) or lets it go on, for a model that limits
 * the connections a child takes; a pause for lack of descriptors still
 * applies. The caller serialises calls on one loom_listeners_t. */
void loom_listen_hold(loom_listeners_t *l, int on);

/* Stops accepting for good (graceful stop): disarms and closes. */
void loom_listen_close(loom_listeners_t *l);

#endif
