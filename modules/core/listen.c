/* Listener buckets, accept and accept back-off (see listen.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_main.h"
#include "apr_portable.h"
#include "http_log.h"

#include "loom/child.h"
#include "loom/figures.h"
#include "loom/listen.h"
#include "loom/log.h"
#include "loom/signals.h"


static int
set_nonblocking(ap_listen_rec *lr)
{
    apr_os_sock_t fd;
    int flags;

    /* Set on the descriptor behind APR's back: APR keeps believing the
     * socket blocks, so the sockets accepted from it (which do block on
     * Linux) get a consistent timeout state. */
    if (apr_os_sock_get(&fd, lr->sd) != APR_SUCCESS
        || (flags = fcntl(fd, F_GETFL)) < 0
        || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -errno;
    }
    return 0;
}


int
loom_listen_open(loom_state_t *st, server_rec *s)
{
    ap_unixd_mpm_retained_data *mpm = st->retained->mpm;
    int startup = mpm->module_loads == 1;
    int level = startup ? APLOG_STARTUP : 0;
    server_rec *where = startup ? NULL : s;
    apr_status_t rv;
    int b;

    if (ap_setup_listeners(s) < 1) {
        ap_log_error(APLOG_MARK, APLOG_ALERT | level, 0, where, LOOMNO(0201)
                     "no listening sockets available (check the Listen "
                     "directives), shutting down");
        return -1;
    }
    if (st->one_process) {
        mpm->num_buckets = 1;
    }
    else if (!mpm->was_graceful) {
        mpm->num_buckets = 0;   /* recomputed; kept across graceful */
    }
    rv = ap_duplicate_listeners(st->pconf, s, &st->buckets, &mpm->num_buckets);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | level, rv, where, LOOMNO(0202)
                     "could not open SO_REUSEPORT listener buckets");
        return -1;
    }
    if (mpm->max_buckets < mpm->num_buckets) {
        mpm->max_buckets = mpm->num_buckets;
    }
    st->num_buckets = mpm->num_buckets;
    for (b = 0; b < st->num_buckets; b++) {
        ap_listen_rec *lr;

        for (lr = st->buckets[b]; lr != NULL; lr = lr->next) {
            int err = set_nonblocking(lr);

            if (err != 0) {
                ap_log_error(APLOG_MARK, APLOG_CRIT | level, -err, where,
                             LOOMNO(0203) "fcntl(O_NONBLOCK) on a listener "
                             "failed");
                return -1;
            }
        }
    }
    return 0;
}


/* How long accepting pauses after a listener could not be armed. */
#define RETRY_ARM_MS 100


/* 0, or -errno of the epoll_ctl() that failed, with *failed_fd (when not
 * NULL) set to that listener's descriptor. */
static int
arm(loom_listeners_t *l, int *failed_fd)
{
    int i, err;

    for (i = 0; i < l->count; i++) {
        err = loom_poller_add(l->poller, &l->items[i].watch, LOOM_POLL_IN,
                              l->arm_flags);
        if (err == -EEXIST) {      /* a one-shot registration that fired */
            err = loom_poller_mod(l->poller, &l->items[i].watch,
                                  LOOM_POLL_IN, l->arm_flags);
        }
        if (err != 0) {
            if (failed_fd != NULL) {
                *failed_fd = l->items[i].watch.fd;
            }
            return err;
        }
    }
    l->armed = 1;
    return 0;
}


static void
disarm(loom_listeners_t *l)
{
    int i;

    /* EPOLLEXCLUSIVE is accepted only by EPOLL_CTL_ADD, so a listener is
     * paused by deleting its registration, never by MOD. */
    for (i = 0; i < l->count; i++) {
        loom_poller_del(l->poller, &l->items[i].watch);
    }
    l->armed = 0;
}


/* Stops accepting for `ms`; loom_listen_tick arms the listeners again
 * once that has passed (unless accepting is held then). */
static void
pause_accepting(loom_listeners_t *l, int ms)
{
    if (l->armed) {
        disarm(l);
    }
    l->paused_until = apr_time_now() + apr_time_from_msec(ms);
}


/* A listener could not be armed again (epoll_ctl failed, which takes a
 * lack of kernel memory or a closed descriptor): without this the child
 * would never accept again and nobody would know. Accepting pauses and
 * loom_listen_tick tries again; said once per child. */
static void
rearm_failed(loom_listeners_t *l, int err)
{
    if (!l->rearm_logged) {
        ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf, LOOMNO(0207)
                     "epoll_ctl() could not arm this child's listeners "
                     "again; accepting pauses and is retried every %d ms",
                     RETRY_ARM_MS);
        l->rearm_logged = 1;
    }
    pause_accepting(l, RETRY_ARM_MS);
}


int
loom_listen_child_init(loom_listeners_t *l, loom_state_t *st, int bucket,
                       loom_poller_t *poller, apr_pool_t *pool,
                       unsigned arm_flags)
{
    ap_listen_rec *lr;
    int b, err, fd = -1, n = 0;

    for (b = 0; b < st->num_buckets; b++) {
        if (b != bucket) {
            ap_close_listeners_ex(st->buckets[b]);
        }
    }
    for (lr = st->buckets[bucket]; lr != NULL; lr = lr->next) {
        n++;
    }
    memset(l, 0, sizeof(*l));
    l->poller = poller;
    l->arm_flags = arm_flags;
    l->items = apr_pcalloc(pool, n * sizeof(*l->items));
    for (lr = st->buckets[bucket]; lr != NULL; lr = lr->next) {
        loom_listen_watch_t *it = &l->items[l->count++];
        apr_os_sock_t fd;

        apr_os_sock_get(&fd, lr->sd);
        it->watch.fd = fd;
        it->watch.kind = LOOM_W_LISTENER;
        it->watch.data = it;
        it->lr = lr;
    }
    err = arm(l, &fd);
    if (err != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, -err, ap_server_conf,
                     LOOMNO(0208) "epoll_ctl() could not add listener fd %d "
                     "to the child's poller", fd);
    }
    return err;
}


static int
transient(int err)
{
    switch (err) {
    case EAGAIN:
    case EINTR:
    case ECONNABORTED:
    case ECONNRESET:
    case EPROTO:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case ETIMEDOUT:
        return 1;
    default:
        return 0;
    }
}


int
loom_listen_accept(ap_listen_rec *lr, apr_pool_t *ptrans, apr_socket_t **csd)
{
    /* Through APR rather than accept4() and apr_os_sock_make(): the socket
     * it makes knows its peer, its local address (for a listener bound to
     * one address) and that TCP_NODELAY came with it from the listener.
     * Wrapped by hand, the core asked the kernel for all three again on
     * every connection: a getpeername, a getsockname and a setsockopt. */
    apr_status_t rv = apr_socket_accept(csd, lr->sd, ptrans);

    if (rv == APR_SUCCESS) {
        return 0;
    }
    return transient(rv) ? -EAGAIN : -(int) rv;
}


int
loom_listen_waiting(const ap_listen_rec *lr)
{
    struct pollfd p = { .events = POLLIN };
    apr_os_sock_t fd;

    apr_os_sock_get(&fd, lr->sd);
    p.fd = fd;
    return poll(&p, 1, 0) == 1;
}


/* Tries each listener once, without waiting, round robin. Same results
 * as loom_listen_accept; -EAGAIN also while accepting is held or paused. */
static int
take(loom_listeners_t *l, apr_pool_t *ptrans, apr_socket_t **csd)
{
    int i;

    if (!l->armed) {            /* held, paused or closed */
        return -EAGAIN;
    }
    for (i = 0; i < l->count; i++) {
        int k = (l->next_try + i) % l->count;
        int rc = loom_listen_accept(l->items[k].lr, ptrans, csd);

        if (rc != -EAGAIN) {
            /* Round robin: a busy listener cannot starve the others. */
            l->next_try = (k + 1) % l->count;
            return rc;
        }
    }
    return -EAGAIN;
}


int
loom_listen_next(loom_listeners_t *l, apr_pool_t *ptrans, apr_socket_t **csd)
{
    int rc = take(l, ptrans, csd);

    if (rc == -EAGAIN) {
        /* What fired only wakes us: take() finds the ready listener. */
        loom_fired_t fired[8];

        rc = loom_poller_wait(l->poller, fired, 8, loom_listen_tick(l));
        if (rc < 0 && rc != -EINTR) {
            ap_log_error(APLOG_MARK, APLOG_ERR, -rc, ap_server_conf,
                         LOOMNO(0205) "epoll_wait() on the listeners "
                         "failed; this child stops accepting and exits");
            return -1;
        }
        if (loom_signals_child_pending() == LOOM_STOP_NOW) {
            return -EAGAIN;
        }
        rc = take(l, ptrans, csd);
    }
    if (rc == 0 || rc == -EAGAIN) {
        return rc;
    }
    if (loom_listen_out_of_resources(-rc)) {
        loom_listen_pause(l, LOOM_LISTEN_PAUSE_MS, -rc);
        return -EAGAIN;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, -rc, ap_server_conf, LOOMNO(0206)
                 "accept() failed; this child stops accepting and exits");
    return -1;
}


int
loom_listen_out_of_resources(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}


void
loom_listen_pause(loom_listeners_t *l, int ms, int err)
{
    if (!l->emfile_logged) {
        ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf, LOOMNO(0204)
                     "accept() failed for lack of resources; pausing "
                     "accepts in this process for %d ms at a time until it "
                     "recovers (raise the descriptor limit?)", ms);
        l->emfile_logged = 1;
    }
    loom_figures_count_accept_pause(loom_child_slot());
    pause_accepting(l, ms);
}


int
loom_listen_tick(loom_listeners_t *l)
{
    apr_time_t now;

    if (l->paused_until == 0) {
        return -1;
    }
    now = apr_time_now();
    if (now < l->paused_until) {
        return (int) apr_time_as_msec(l->paused_until - now) + 1;
    }
    l->paused_until = 0;
    if (!loom_listen_held(l)) {
        int err = arm(l, NULL);

        if (err != 0) {
            rearm_failed(l, -err);
            return RETRY_ARM_MS;
        }
    }
    return -1;
}


void
loom_listen_rearm(loom_listeners_t *l, loom_watch_t *w)
{
    int err;

    if (l->armed
        && (err = loom_poller_mod(l->poller, w, LOOM_POLL_IN,
                                  l->arm_flags)) != 0) {
        rearm_failed(l, -err);
    }
}


int
loom_listen_held(const loom_listeners_t *l)
{
    return atomic_load_explicit(&l->held, memory_order_relaxed);
}


void
loom_listen_hold(loom_listeners_t *l, int on)
{
    atomic_store_explicit(&l->held, on, memory_order_relaxed);
    if (on && l->armed) {
        disarm(l);
    }
    else if (!on && !l->armed && l->paused_until == 0 && l->count > 0) {
        int err = arm(l, NULL);

        if (err != 0) {
            rearm_failed(l, -err);
        }
    }
}


void
loom_listen_close(loom_listeners_t *l)
{
    int i;

    if (l->armed) {
        disarm(l);
    }
    for (i = 0; i < l->count; i++) {
        /* Through APR, so that its cleanup does not close the number
         * again once it may name another descriptor. */
        apr_socket_close(l->items[i].lr->sd);
        l->items[i].lr->active = 0;
    }
    l->count = 0;
    l->paused_until = 0;
}
