/* The bounded hand-off from a listener thread to worker threads, with
 * idle-worker reservation: the listener reserves an idle worker *before* it
 * accepts, so it never accepts more than the child can serve at once (the
 * kernel keeps the rest for another child) and a push never blocks. */
#ifndef LOOM_FDQ_H
#define LOOM_FDQ_H

#include <pthread.h>

#include "loom/listen.h"

typedef struct loom_fdq {
    pthread_mutex_t  lock;
    pthread_cond_t   work;      /* an item arrived, or the queue ended */
    pthread_cond_t   idler;     /* a worker became idle, or the queue ended */
    loom_accepted_t *ring;
    int              cap;
    int              head;
    int              count;
    int              idle;      /* waiting workers not yet reserved */
    int              reserved;  /* reservations not yet pushed or undone */
    int              ended;     /* 1: drain then stop; 2: stop now */
} loom_fdq_t;

/* A queue for `cap` items (the number of workers). 0 or -errno. */
int loom_fdq_init(loom_fdq_t *q, int cap, apr_pool_t *pool);

/* Listener: waits until a worker is idle and reserves it. 0, or -1 once
 * the queue has ended. */
int loom_fdq_reserve(loom_fdq_t *q);

/* Listener: gives back a reservation it could not use. */
void loom_fdq_unreserve(loom_fdq_t *q);

/* Listener: hands over a connection (holding a reservation). */
void loom_fdq_push(loom_fdq_t *q, const loom_accepted_t *a);

/* Worker: waits for a connection. 0 with *a filled, or -1 when the queue
 * has ended (after it drained, for a graceful end). */
int loom_fdq_pop(loom_fdq_t *q, loom_accepted_t *a);

/* Ends the queue and wakes everyone. `now`: waiting items are dropped
 * (their connections closed) instead of served. */
void loom_fdq_end(loom_fdq_t *q, int now);

#endif
