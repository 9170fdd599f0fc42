/* The listener-to-worker hand-off with idle-worker reservation
 * (modules/core/handoff.c), with real threads and real sockets. */
#include <sys/socket.h>
#include <unistd.h>

#include "apr_portable.h"

#include "unit.h"
#include "../../modules/core/handoff.c"

struct worker {
    loom_handoff_t *h;
    int             seat;
    apr_socket_t   *got[8];
    int             n;
};

static void *
take_all(void *arg)
{
    struct worker *w = arg;
    apr_socket_t *csd;

    while (loom_handoff_take(w->h, w->seat, &csd) == 0) {
        w->got[w->n++] = csd;
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

/* An APR socket around one end of a socket pair; *other gets the peer. */
static apr_socket_t *
socket_in(apr_pool_t *p, int *other)
{
    int sv[2];
    apr_os_sock_t fd;
    apr_socket_t *s = NULL;

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fd = sv[0];
    apr_os_sock_put(&s, &fd, p);
    *other = sv[1];
    return s;
}

/* Waits until `n` seats are idle (their workers wait in take). */
static void
wait_idle(loom_handoff_t *h, int n)
{
    for (;;) {
        int idle;

        pthread_mutex_lock(&h->lock);
        idle = h->idle_count;
        pthread_mutex_unlock(&h->lock);
        if (idle >= n) {
            return;
        }
        usleep(1000);
    }
}

UNIT_TEST(reserve_waits_for_an_idle_worker_and_gives_it_the_connection)
{
    loom_handoff_t h;
    apr_pool_t *p = pool();
    struct worker w = { &h, 2, { NULL }, 0 };
    apr_socket_t *s;
    int peer;
    pthread_t t;

    UNIT_EQ(loom_handoff_init(&h, 4, p), 0);
    s = socket_in(p, &peer);
    pthread_create(&t, NULL, take_all, &w);
    UNIT_EQ(loom_handoff_reserve(&h), 2);  /* returns once seat 2 waits */
    loom_handoff_give(&h, 2, s);
    loom_handoff_end(&h, 0);
    pthread_join(t, NULL);
    UNIT_EQ(w.n, 1);
    UNIT_TRUE(w.got[0] == s);
    UNIT_EQ(loom_handoff_reserve(&h), -1);   /* nothing more once ended */
}

UNIT_TEST(the_worker_idle_last_is_reserved_first)
{
    loom_handoff_t h;
    struct worker a = { &h, 0, { NULL }, 0 }, b = { &h, 1, { NULL }, 0 };
    pthread_t ta, tb;

    UNIT_EQ(loom_handoff_init(&h, 2, pool()), 0);
    pthread_create(&ta, NULL, take_all, &a);
    wait_idle(&h, 1);
    pthread_create(&tb, NULL, take_all, &b);
    wait_idle(&h, 2);
    UNIT_EQ(loom_handoff_reserve(&h), 1);
    UNIT_EQ(loom_handoff_reserve(&h), 0);
    loom_handoff_unreserve(&h, 0);
    loom_handoff_unreserve(&h, 1);
    UNIT_EQ(loom_handoff_reserve(&h), 1);
    loom_handoff_unreserve(&h, 1);
    loom_handoff_end(&h, 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    UNIT_EQ(a.n + b.n, 0);
}

UNIT_TEST(a_graceful_end_waits_for_the_reserved_connection)
{
    loom_handoff_t h;
    apr_pool_t *p = pool();
    struct worker w = { &h, 0, { NULL }, 0 };
    apr_socket_t *s;
    int peer;
    pthread_t t;

    loom_handoff_init(&h, 1, p);
    s = socket_in(p, &peer);
    pthread_create(&t, NULL, take_all, &w);
    UNIT_EQ(loom_handoff_reserve(&h), 0);
    loom_handoff_end(&h, 0);       /* the listener is still accepting */
    usleep(20000);
    UNIT_EQ(w.n, 0);
    loom_handoff_give(&h, 0, s);
    pthread_join(t, NULL);
    UNIT_EQ(w.n, 1);
    UNIT_TRUE(w.got[0] == s);
}

UNIT_TEST(a_graceful_end_lets_an_unused_reservation_leave)
{
    loom_handoff_t h;
    struct worker w = { &h, 0, { NULL }, 0 };
    pthread_t t;

    loom_handoff_init(&h, 1, pool());
    pthread_create(&t, NULL, take_all, &w);
    UNIT_EQ(loom_handoff_reserve(&h), 0);
    loom_handoff_end(&h, 0);
    loom_handoff_unreserve(&h, 0);     /* the accept failed */
    pthread_join(t, NULL);
    UNIT_EQ(w.n, 0);
}

UNIT_TEST(an_immediate_end_closes_what_was_not_taken)
{
    loom_handoff_t h;
    apr_pool_t *p = pool();
    apr_socket_t *s;
    char c;
    int peer;

    loom_handoff_init(&h, 1, p);
    s = socket_in(p, &peer);
    h.idle[h.idle_count++] = 0;        /* a seat whose worker is gone */
    UNIT_EQ(loom_handoff_reserve(&h), 0);
    loom_handoff_end(&h, 1);
    loom_handoff_give(&h, 0, s);
    UNIT_EQ(read(peer, &c, 1), 0);     /* closed: the peer sees EOF */
}

