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

#include "loom/log.h"
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


/* A poller that could not be made says which call failed; the caller
 * only decides what that means for it. */
static int
create_failed(const char *call, int err)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, err, ap_server_conf,
                 LOOMNO(0503) "%s failed while making a poller", call);
    return -err;
}


int
loom_poller_create(loom_poller_t **out, apr_pool_t *pool)
{
    loom_poller_t *p = apr_pcalloc(pool, sizeof(*p));
    int err;

    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        return create_failed("epoll_create1()", errno);
    }
    p->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wakefd < 0) {
        err = errno;
        close(p->epfd);
        return create_failed("eventfd()", err);
    }
    apr_pool_cleanup_register(pool, p, close_poller, apr_pool_cleanup_null);
    p->wake_watch.fd = p->wakefd;
    p->wake_watch.kind = LOOM_W_WAKE;
    *out = p;
    err = loom_poller_add(p, &p->wake_watch, LOOM_POLL_IN, 0);
    return err == 0 ? 0 : create_failed("epoll_ctl(ADD) of its wake-up eventfd",
                                        -err);
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
loom_poller_wait(loom_poller_t *p, loom_fired_t *fired, int max,
                 int timeout_ms)
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

        if (w->kind == LOOM_W_WAKE) {
            uint64_t drained;

            if (!atomic_load_explicit(&p->wake_all, memory_order_acquire)) {
                (void) !read(p->wakefd, &drained, sizeof(drained));
            }
            continue;
        }
        ev |= (evs[i].events & EPOLLIN) ? LOOM_POLL_IN : 0;
        ev |= (evs[i].events & EPOLLOUT) ? LOOM_POLL_OUT : 0;
        ev |= (evs[i].events & (EPOLLERR | EPOLLHUP)) ? LOOM_POLL_ERR : 0;
        fired[reports].watch = w;
        fired[reports].ev = ev;
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
