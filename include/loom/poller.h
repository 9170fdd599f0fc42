/* The one poller interface. poll_epoll.c implements it on epoll and is the
 * only file that includes <sys/epoll.h>.
 *
 * A watch is embedded in whatever owns the descriptor; the poller hands it
 * back on readiness, and the caller dispatches on `kind` with a switch. */
#ifndef LOOM_POLLER_H
#define LOOM_POLLER_H

#include <stdint.h>
#include "apr_pools.h"

typedef struct loom_poller loom_poller_t;

enum loom_watch_kind {
    LOOM_W_LISTENER,
    LOOM_W_CONN,
    LOOM_W_OTHER
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

typedef void loom_ready_fn(void *ctx, loom_watch_t *w, unsigned ev);

/* Creates a poller whose descriptors close with `pool`. 0 or -errno. */
int loom_poller_create(loom_poller_t **out, apr_pool_t *pool);

/* Start, change or stop watching. EPOLLEXCLUSIVE watches cannot be
 * changed, only removed and added again. 0 or -errno. */
int loom_poller_add(loom_poller_t *p, loom_watch_t *w, unsigned ev,
                    unsigned flags);
int loom_poller_mod(loom_poller_t *p, loom_watch_t *w, unsigned ev,
                    unsigned flags);
int loom_poller_del(loom_poller_t *p, loom_watch_t *w);

/* Waits up to timeout_ms (-1: no limit) and calls fn once per ready watch.
 * Returns the number of reports, 0 on timeout or wake-up, or -errno
 * (-EINTR when a signal arrived). */
int loom_poller_wait(loom_poller_t *p, int timeout_ms, loom_ready_fn *fn,
                     void *ctx);

/* The same, taking at most `max` reports: threads that share one poller
 * take one each, so that ready connections spread over idle threads. */
int loom_poller_wait_n(loom_poller_t *p, int max, int timeout_ms,
                       loom_ready_fn *fn, void *ctx);

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
