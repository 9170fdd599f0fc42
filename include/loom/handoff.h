/* The listener-to-worker hand-off with idle-worker reservation.
 *
 * Each worker has a seat. The listener reserves an idle worker's seat
 * *before* it accepts, so it never accepts more than the child can serve at
 * once (the kernel keeps the rest for another child), and it accepts
 * straight into the reserved worker's pool: the connection is born where
 * it will be served, and a hand-over never blocks or queues.
 *
 * Idle seats form a stack: the worker that went idle last is used first,
 * its stack and pool still warm in the cache, and the others stay asleep.
 * A hand-over wakes exactly the worker it is for. */
#ifndef LOOM_HANDOFF_H
#define LOOM_HANDOFF_H

#include <pthread.h>

#include "apr_network_io.h"
#include "apr_pools.h"

/* A thread sleeps on a futex word that its wakers bump: unlike a condition
 * variable's wait, waking leaves the mutex uncontended, so its next unlock
 * makes no system call. */
typedef struct loom_sleeper {
    unsigned        seq;        /* the futex word */
    int             asleep;
} loom_sleeper_t;

typedef struct loom_seat {
    loom_sleeper_t  worker;     /* woken by a connection, or the end */
    apr_socket_t   *csd;        /* handed over and not yet taken */
    int             reserved;   /* the listener holds this seat */
} loom_seat_t;

typedef struct loom_handoff {
    pthread_mutex_t  lock;
    loom_sleeper_t   listener;  /* woken by an idle worker, or the end */
    loom_seat_t     *seats;
    int              count;
    int             *idle;      /* stack of idle, unreserved seats */
    int              idle_count;
    int              ended;     /* 1: finish what was reserved; 2: now */
} loom_handoff_t;

/* A hand-off for `seats` workers, numbered from 0. 0 or -errno. */
int loom_handoff_init(loom_handoff_t *h, int seats, apr_pool_t *pool);

/* Listener: waits until a worker is idle and reserves its seat. The seat
 * number, or -1 once the hand-off has ended. */
int loom_handoff_reserve(loom_handoff_t *h);

/* Listener: gives back a reservation it could not use. */
void loom_handoff_unreserve(loom_handoff_t *h, int seat);

/* Listener: hands `csd` (allocated from the seat's worker's pool) to the
 * worker of a reserved seat. */
void loom_handoff_give(loom_handoff_t *h, int seat, apr_socket_t *csd);

/* Worker of `seat`: becomes idle and waits for a connection. 0 with *csd
 * set, or -1 when the hand-off has ended (after the connection promised by
 * a reservation came, for a graceful end). */
int loom_handoff_take(loom_handoff_t *h, int seat, apr_socket_t **csd);

/* Ends the hand-off and wakes everyone. `now`: a connection handed over
 * but not yet taken is closed instead of served. */
void loom_handoff_end(loom_handoff_t *h, int now);

#endif
