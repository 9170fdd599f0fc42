/* The listener-to-worker hand-off with idle-worker reservation
 * (modules/core/fdq.c), with real threads. */
#include <unistd.h>

#include "unit.h"
#include "../../modules/core/fdq.c"

struct popper {
    loom_fdq_t *q;
    int         got[8];
    int         n;
};

static void *
pop_all(void *arg)
{
    struct popper *p = arg;
    loom_accepted_t a;

    while (loom_fdq_pop(p->q, &a) == 0) {
        p->got[p->n++] = a.fd;
    }
    return NULL;
}

static apr_pool_t *
pool(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    return p;
}

UNIT_TEST(reserve_waits_for_an_idle_worker)
{
    loom_fdq_t q;
    struct popper p = { &q, { 0 }, 0 };
    loom_accepted_t a = { .fd = 42 };
    pthread_t t;

    UNIT_EQ(loom_fdq_init(&q, 4, pool()), 0);
    pthread_create(&t, NULL, pop_all, &p);
    UNIT_EQ(loom_fdq_reserve(&q), 0);     /* returns once the worker waits */
    loom_fdq_push(&q, &a);
    loom_fdq_end(&q, 0);
    pthread_join(t, NULL);
    UNIT_EQ(p.n, 1);
    UNIT_EQ(p.got[0], 42);
}

UNIT_TEST(a_graceful_end_serves_what_is_queued)
{
    loom_fdq_t q;
    struct popper p = { &q, { 0 }, 0 };
    loom_accepted_t a = { .fd = 7 }, b = { .fd = 8 };
    pthread_t t;

    loom_fdq_init(&q, 4, pool());
    q.idle = 2;                 /* two reservations' worth, no thread yet */
    UNIT_EQ(loom_fdq_reserve(&q), 0);
    loom_fdq_push(&q, &a);
    UNIT_EQ(loom_fdq_reserve(&q), 0);
    loom_fdq_push(&q, &b);
    loom_fdq_end(&q, 0);
    pthread_create(&t, NULL, pop_all, &p);
    pthread_join(t, NULL);
    UNIT_EQ(p.n, 2);
    UNIT_TRUE(p.got[0] == 7 && p.got[1] == 8);
    UNIT_EQ(loom_fdq_reserve(&q), -1);    /* nothing more once ended */
}

UNIT_TEST(an_immediate_end_closes_what_is_queued)
{
    loom_fdq_t q;
    struct popper p = { &q, { 0 }, 0 };
    int fds[2];
    loom_accepted_t a;
    pthread_t t;

    UNIT_EQ(pipe(fds), 0);
    a.fd = fds[0];
    loom_fdq_init(&q, 2, pool());
    q.idle = 1;
    UNIT_EQ(loom_fdq_reserve(&q), 0);
    loom_fdq_push(&q, &a);
    loom_fdq_end(&q, 1);
    pthread_create(&t, NULL, pop_all, &p);
    pthread_join(t, NULL);
    UNIT_EQ(p.n, 0);
    UNIT_EQ(close(fds[0]), -1);           /* already closed by the queue */
}

UNIT_TEST(an_unused_reservation_goes_back)
{
    loom_fdq_t q;

    loom_fdq_init(&q, 2, pool());
    q.idle = 1;
    UNIT_EQ(loom_fdq_reserve(&q), 0);
    UNIT_EQ(q.idle, 0);
    loom_fdq_unreserve(&q);
    UNIT_EQ(q.idle, 1);
}
