/* Listener-to-worker hand-off (see fdq.h). One mutex, two condition
 * variables: contention is one lock per connection, which is cheap next to
 * serving it. */
#include <errno.h>
#include <unistd.h>

#include "loom/fdq.h"


int
loom_fdq_init(loom_fdq_t *q, int cap, apr_pool_t *pool)
{
    memset(q, 0, sizeof(*q));
    q->ring = apr_pcalloc(pool, cap * sizeof(*q->ring));
    q->cap = cap;
    if (pthread_mutex_init(&q->lock, NULL) != 0
        || pthread_cond_init(&q->work, NULL) != 0
        || pthread_cond_init(&q->idler, NULL) != 0) {
        return -errno;
    }
    return 0;
}


int
loom_fdq_reserve(loom_fdq_t *q)
{
    int rc = 0;

    pthread_mutex_lock(&q->lock);
    while (q->idle == 0 && !q->ended) {
        pthread_cond_wait(&q->idler, &q->lock);
    }
    if (q->ended) {
        rc = -1;
    }
    else {
        q->idle--;
        q->reserved++;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}


void
loom_fdq_unreserve(loom_fdq_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->idle++;
    q->reserved--;
    pthread_cond_broadcast(&q->work);     /* a draining worker may leave */
    pthread_mutex_unlock(&q->lock);
}


void
loom_fdq_push(loom_fdq_t *q, const loom_accepted_t *a)
{
    pthread_mutex_lock(&q->lock);
    q->ring[(q->head + q->count) % q->cap] = *a;
    q->count++;
    q->reserved--;
    if (q->ended) {
        pthread_cond_broadcast(&q->work);  /* the others may leave now */
    }
    else {
        pthread_cond_signal(&q->work);
    }
    pthread_mutex_unlock(&q->lock);
}


int
loom_fdq_pop(loom_fdq_t *q, loom_accepted_t *a)
{
    int rc = -1;

    pthread_mutex_lock(&q->lock);
    q->idle++;
    pthread_cond_signal(&q->idler);
    /* A graceful end waits for the connection a reservation promised:
     * the listener may be pushing one it accepted just before the end. */
    while (q->count == 0 && (!q->ended || (q->ended == 1 && q->reserved > 0))) {
        pthread_cond_wait(&q->work, &q->lock);
    }
    if (q->count > 0 && q->ended < 2) {
        *a = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        rc = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}


void
loom_fdq_end(loom_fdq_t *q, int now)
{
    pthread_mutex_lock(&q->lock);
    q->ended = now ? 2 : 1;
    if (now) {
        while (q->count > 0) {
            close(q->ring[q->head].fd);
            q->head = (q->head + 1) % q->cap;
            q->count--;
        }
    }
    pthread_cond_broadcast(&q->work);
    pthread_cond_broadcast(&q->idler);
    pthread_mutex_unlock(&q->lock);
}
