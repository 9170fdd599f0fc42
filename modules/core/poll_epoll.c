/* poller.h on Linux epoll. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "httpd.h"
#include "http_main.h"
#include "apr_pools.h"

#include "loom/poller.h"

#define BATCH 64

struct loom_poller {
    int           epfd;
    int           wakefd;       /* eventfd: written by loom_poller_wake */
    _Atomic int   wake_all;     /* never drain it again: wake everyone;
                                 * release by the waker, acquire by waiters */
    loom_watch_t  wake_watch;
};


static apr_status_t
close_poller(void *data)
{
    loom_poller_t *p = data;

    close(p->epfd);
    close(p->wakefd);
    return APR_SUCCESS;
}


static uint32_t
to_epoll(unsigned ev, unsigned flags)
{
    uint32_t e = 0;

    if (ev & LOOM_POLL_IN) {
        e |= EPOLLIN;
    }
    if (ev & LOOM_POLL_OUT) {
        e |= EPOLLOUT;
    }
    if (flags & LOOM_ARM_EXCLUSIVE) {
        e |= EPOLLEXCLUSIVE;
    }
    if (flags & LOOM_ARM_ONESHOT) {
        e |= EPOLLONESHOT;
    }
    return e;
}


int
loom_poller_create(loom_poller_t **out, apr_pool_t *pool)
{
    loom_poller_t *p = apr_pcalloc(pool, sizeof(*p));

    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        return -errno;
    }
    p->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wakefd < 0) {
        int err = errno;

        close(p->epfd);
        return -err;
    }
    apr_pool_cleanup_register(pool, p, close_poller, apr_pool_cleanup_null);
    p->wake_watch.fd = p->wakefd;
    p->wake_watch.kind = LOOM_W_OTHER;
    *out = p;
    return loom_poller_add(p, &p->wake_watch, LOOM_POLL_IN, 0);
}


static int
ctl(loom_poller_t *p, int op, loom_watch_t *w, unsigned ev, unsigned flags)
{
    struct epoll_event e = { .events = to_epoll(ev, flags), .data.ptr = w };

    return epoll_ctl(p->epfd, op, w->fd, &e) == 0 ? 0 : -errno;
}


int
loom_poller_add(loom_poller_t *p, loom_watch_t *w, unsigned ev,
                unsigned flags)
{
    return ctl(p, EPOLL_CTL_ADD, w, ev, flags);
}


int
loom_poller_mod(loom_poller_t *p, loom_watch_t *w, unsigned ev,
                unsigned flags)
{
    return ctl(p, EPOLL_CTL_MOD, w, ev, flags);
}


int
loom_poller_del(loom_poller_t *p, loom_watch_t *w)
{
    return ctl(p, EPOLL_CTL_DEL, w, 0, 0);
}


int
loom_poller_wait(loom_poller_t *p, int timeout_ms, loom_ready_fn *fn,
                 void *ctx)
{
    return loom_poller_wait_n(p, BATCH, timeout_ms, fn, ctx);
}


int
loom_poller_wait_n(loom_poller_t *p, int max, int timeout_ms,
                   loom_ready_fn *fn, void *ctx)
{
    struct epoll_event evs[BATCH];
    int i, n, reports = 0;

    n = epoll_wait(p->epfd, evs, max < BATCH ? max : BATCH, timeout_ms);
    if (n < 0) {
        return -errno;
    }
    for (i = 0; i < n; i++) {
        loom_watch_t *w = evs[i].data.ptr;
        unsigned ev = 0;

        if (w == &p->wake_watch) {
            uint64_t drained;

            if (!atomic_load_explicit(&p->wake_all, memory_order_acquire)) {
                (void) !read(p->wakefd, &drained, sizeof(drained));
            }
            continue;
        }
        ev |= (evs[i].events & EPOLLIN) ? LOOM_POLL_IN : 0;
        ev |= (evs[i].events & EPOLLOUT) ? LOOM_POLL_OUT : 0;
        ev |= (evs[i].events & (EPOLLERR | EPOLLHUP)) ? LOOM_POLL_ERR : 0;
        fn(ctx, w, ev);
        reports++;
    }
    return reports;
}


void
loom_poller_wake(loom_poller_t *p)
{
    uint64_t one = 1;
    int saved = errno;     /* callable from signal handlers */

    (void) !write(p->wakefd, &one, sizeof(one));
    errno = saved;
}


void
loom_poller_wake_all(loom_poller_t *p)
{
    atomic_store_explicit(&p->wake_all, 1, memory_order_release);
    loom_poller_wake(p);
}


int
loom_poller_wake_fd(const loom_poller_t *p)
{
    return p->wakefd;
}
