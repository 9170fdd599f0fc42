/* The one poller interface. poll_epoll.c implements it on epoll and is the
 * only file that includes <sys/epoll.h>.
 *
 * A watch is embedded in whatever owns the descriptor; a wait hands back
 * the watches that fired, and the caller dispatches on `kind` with one
 * switch.
 *
 * Threads: any thread may add, change, remove and wait, on the same poller
 * at once (epoll serialises them); a watch itself must not be changed by
 * two threads at once, which the one-shot ownership rule of the models
 * guarantees. The wake-ups are async-signal-safe. */
#ifndef LOOM_POLLER_H
#define LOOM_POLLER_H

#include <stdint.h>
#include "apr_pools.h"

typedef struct loom_poller loom_poller_t;

enum loom_watch_kind {
    LOOM_W_LISTENER,    /* data: the model's listener record */
    LOOM_W_CONN,        /* data: the model's connection record */
    LOOM_W_CALLBACKS,   /* data: the model's queue of due timed callbacks */
    LOOM_W_PASSED,      /* data: parked prefork's end of the socket pair
                         * that busy children pass connections over */
    LOOM_W_WAKE         /* the poller's own wake-up: never handed back */
};

typedef struct loom_watch {
    int      fd;
    uint8_t  kind;          /* enum loom_watch_kind: how the caller dispatches */
    void    *data;          /* the owner */
} loom_watch_t;

#define LOOM_POLL_IN   1u
#define LOOM_POLL_OUT  2u
#define LOOM_POLL_ERR  4u   /* error or hang-up: reported whatever was asked */

#define LOOM_ARM_EXCLUSIVE 1u  /* wake one waiter of many (listeners) */
#define LOOM_ARM_ONESHOT   2u  /* disarm after one report (connections) */

/* One watch that fired, and how (LOOM_POLL_*). */
typedef struct loom_fired {
    loom_watch_t *watch;
    unsigned      ev;
} loom_fired_t;

/* Creates a poller whose descriptors close with `pool`. 0 or -errno. */
int loom_poller_create(loom_poller_t **out, apr_pool_t *pool);

/* Start, change or stop watching. EPOLLEXCLUSIVE watches cannot be
 * changed, only removed and added again. 0 or -errno. */
int loom_poller_add(loom_poller_t *p, loom_watch_t *w, unsigned ev,
                    unsigned flags);
int loom_poller_mod(loom_poller_t *p, loom_watch_t *w, unsigned ev,
                    unsigned flags);
int loom_poller_del(loom_poller_t *p, loom_watch_t *w);

/* Waits up to timeout_ms (-1: no limit) for at most `max` watches to
 * fire and writes them to fired[0..n). Returns n, 0 on timeout or
 * wake-up, or -errno (-EINTR when a signal arrived). Threads that share
 * one poller ask for one each, so that ready connections spread over the
 * idle threads. */
int loom_poller_wait(loom_poller_t *p, loom_fired_t *fired, int max,
                     int timeout_ms);

/* Makes a current or next wait return. Async-signal-safe, any thread. */
void loom_poller_wake(loom_poller_t *p);

/* Makes every later wait return at once, for good: for the end of a child
 * whose threads all wait on one poller. A thread that is asleep in a wait
 * may see only one wake-up among many: each thread that leaves calls
 * loom_poller_wake so that the next one wakes too. */
void loom_poller_wake_all(loom_poller_t *p);

/* The wake-up descriptor, for code that must wake the poller from a
 * signal handler without a pointer to it. */
int loom_poller_wake_fd(const loom_poller_t *p);

#endif
