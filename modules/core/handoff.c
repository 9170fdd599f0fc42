/* Listener-to-worker hand-off (see handoff.h). One mutex guards all the
 * state; a thread that must wait sleeps on its own futex word, and its
 * waker bumps the word and wakes it after releasing the mutex. So a
 * hand-over costs one wake and one wait, and a woken thread that preempts
 * its waker (a child's threads may all share one CPU) finds the mutex
 * free. */
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loom/handoff.h"


/* Under h->lock: sleeps until `sl` is bumped (or spuriously), and returns
 * with the lock held again. */
static void
sleep_locked(loom_handoff_t *h, loom_sleeper_t *sl)
{
    unsigned seen = sl->seq;

    sl->asleep = 1;
    pthread_mutex_unlock(&h->lock);
    syscall(SYS_futex, &sl->seq, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
    pthread_mutex_lock(&h->lock);
    sl->asleep = 0;
}


/* Under h->lock: bumps `sl`. Returns whether its thread sleeps and must be
 * woken (by wake(), once the lock is released). */
static int
bump_locked(loom_sleeper_t *sl)
{
    __atomic_add_fetch(&sl->seq, 1, __ATOMIC_RELEASE);
    return sl->asleep;
}


static void
wake(loom_sleeper_t *sl)
{
    syscall(SYS_futex, &sl->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}


int
loom_handoff_init(loom_handoff_t *h, int seats, apr_pool_t *pool)
{
    memset(h, 0, sizeof(*h));
    h->count = seats;
    h->seats = apr_pcalloc(pool, seats * sizeof(*h->seats));
    h->idle = apr_pcalloc(pool, seats * sizeof(*h->idle));
    return -pthread_mutex_init(&h->lock, NULL);   /* it returns the errno */
}


int
loom_handoff_reserve(loom_handoff_t *h)
{
    int seat = -1;

    pthread_mutex_lock(&h->lock);
    while (h->idle_count == 0 && !h->ended) {
        sleep_locked(h, &h->listener);
    }
    if (!h->ended) {
        seat = h->idle[--h->idle_count];
        h->seats[seat].reserved = 1;
    }
    pthread_mutex_unlock(&h->lock);
    return seat;
}


void
loom_handoff_unreserve(loom_handoff_t *h, int seat)
{
    loom_seat_t *s = &h->seats[seat];
    int asleep;

    pthread_mutex_lock(&h->lock);
    s->reserved = 0;
    h->idle[h->idle_count++] = seat;
    asleep = bump_locked(&s->worker);  /* a graceful end may wait on it */
    pthread_mutex_unlock(&h->lock);
    if (asleep) {
        wake(&s->worker);
    }
}


void
loom_handoff_give(loom_handoff_t *h, int seat, apr_socket_t *csd)
{
    loom_seat_t *s = &h->seats[seat];
    int asleep, ended;

    pthread_mutex_lock(&h->lock);
    ended = h->ended == 2;
    if (!ended) {
        s->csd = csd;
    }
    s->reserved = 0;
    asleep = bump_locked(&s->worker);
    pthread_mutex_unlock(&h->lock);
    if (ended) {
        apr_socket_close(csd);   /* its worker may have left already */
    }
    if (asleep) {
        wake(&s->worker);
    }
}


int
loom_handoff_take(loom_handoff_t *h, int seat, apr_socket_t **csd)
{
    loom_seat_t *s = &h->seats[seat];
    int wake_listener, now;

    pthread_mutex_lock(&h->lock);
    h->idle[h->idle_count++] = seat;
    wake_listener = bump_locked(&h->listener);
    if (wake_listener) {
        pthread_mutex_unlock(&h->lock);
        wake(&h->listener);
        pthread_mutex_lock(&h->lock);
    }
    /* A graceful end still waits for the connection a reservation of this
     * seat promised: the listener may be accepting it right now. */
    while (s->csd == NULL && (!h->ended || (h->ended == 1 && s->reserved))) {
        sleep_locked(h, &s->worker);
    }
    *csd = s->csd;
    s->csd = NULL;
    now = h->ended == 2;
    pthread_mutex_unlock(&h->lock);
    if (*csd != NULL && now) {
        apr_socket_close(*csd);
        *csd = NULL;
    }
    /* A worker that leaves stays on the idle stack: nothing reserves a
     * seat once the hand-off has ended. */
    return *csd != NULL ? 0 : -1;
}


void
loom_handoff_end(loom_handoff_t *h, int now)
{
    int i;

    pthread_mutex_lock(&h->lock);
    h->ended = now ? 2 : 1;
    bump_locked(&h->listener);
    for (i = 0; i < h->count; i++) {
        bump_locked(&h->seats[i].worker);
    }
    pthread_mutex_unlock(&h->lock);
    /* Everyone, asleep or not: cheap, and only once per child. Reserved
     * seats too: their workers leave now if the end is immediate. */
    wake(&h->listener);
    for (i = 0; i < h->count; i++) {
        wake(&h->seats[i].worker);
    }
}
