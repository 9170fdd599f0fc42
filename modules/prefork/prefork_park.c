/* loom_prefork, parked: one thread runs the connection engine (see
 * prefork_park.h). The thread sleeps in the child's poller, where the
 * listeners (armed EPOLLEXCLUSIVE, so a new connection wakes one idle
 * child) and the parked connections wait; each event it takes, it serves
 * there and then, up to the connection's next wait. It keeps the
 * deadlines itself between events. The child's only other thread, the
 * passer (prefork_pass.h), runs no module code: while this one serves for
 * long, it passes ready connections to idle siblings. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_portable.h"

#include "httpd.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "scoreboard.h"

#include "loom/config.h"
#include "loom/engine.h"
#include "loom/listen.h"
#include "loom/log.h"
#include "loom/sb.h"
#include "loom/signals.h"
#include "loom/tags.h"
#include "prefork_park.h"
#include "prefork_pass.h"

/* Events taken per wait. More than one, so that a listener that woke this
 * child is seen beside a stop request that came at the same moment: the
 * kernel woke this child alone for that connection. */
#define PARK_EVENTS 16

/* How often a draining child looks again at what it still holds. */
#define DRAIN_LOOK_MS 1000

typedef struct park {
    loom_child_t         *ch;
    loom_poller_t        *poller;
    loom_engine_t         engine;
    loom_listeners_t      listeners;
    loom_thread_t         self;     /* busy_fd: what a stop-now shuts */
    loom_engine_thread_t  et;
    int                   limit;    /* LoomConnectionsPerProcess */
    loom_stop_e           stop;     /* acted on so far */
    pf_pass_t             pass;     /* ready connections to idle siblings */
    int                   pause_err; /* accept() ran out of descriptors */
    int                   accepted;  /* took a connection this spell */
} park_t;


/* Whether the child takes new connections now, and the listeners held or
 * let go by it: not while stopping, nor at its limit. */
static void
update_accepting(park_t *p)
{
    int open = atomic_load_explicit(&p->engine.conns, memory_order_relaxed);
    int ok = p->stop == LOOM_STOP_NONE && open < p->limit;

    if (p->stop == LOOM_STOP_NONE && ok == loom_listen_held(&p->listeners)) {
        loom_listen_hold(&p->listeners, !ok);
        pf_pass_hold(&p->pass, !ok);
        ap_get_scoreboard_process(p->ch->slot)->not_accepting = !ok;
    }
}


/* accept() failed with -rc: out of descriptors pauses the listeners (they
 * come back by loom_listen_tick); anything but "nothing there" is fatal
 * for accepting, and the child leaves gracefully for a new one. */
static void
accept_failed(park_t *p, int rc)
{
    if (rc == -EAGAIN) {
        return;
    }
    if (loom_listen_out_of_resources(-rc)) {
        /* Paused once the spell ends: the passer may hold the listeners
         * now, and only one thread at a time may change them. */
        p->pause_err = -rc;
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, -rc, ap_server_conf, LOOMNO(1301)
                 "accept() failed; this child stops accepting and exits");
    loom_signals_child_request(LOOM_STOP_GRACEFUL);
}


/* A record for a connection about to arrive, counted as open from the
 * start (ConnsTotal); record_unused gives it back when none came. */
static loom_conn_t *
record_new(park_t *p)
{
    pthread_mutex_lock(&p->engine.lock);
    loom_engine_count_open_locked(&p->engine, 1);
    pthread_mutex_unlock(&p->engine.lock);
    return loom_engine_conn_new(&p->engine);
}


static void
record_unused(park_t *p, loom_conn_t *c)
{
    loom_engine_conn_unused(c);
    pthread_mutex_lock(&p->engine.lock);
    loom_engine_count_open_locked(&p->engine, -1);
    pthread_mutex_unlock(&p->engine.lock);
}


/* The listener woke this child: takes one connection and serves its first
 * step at once. */
static void
accept_one(park_t *p, loom_listen_watch_t *lw)
{
    loom_conn_t *c = record_new(p);
    int rc = loom_listen_accept(lw->lr, c->ptrans, &c->sock);

    if (rc != 0) {
        record_unused(p, c);
        accept_failed(p, rc);
        return;
    }
    atomic_fetch_add_explicit(&p->ch->conns, 1, memory_order_relaxed);
    p->accepted = 1;
    loom_engine_accepted(&p->et, c);
}


/* A child that took a connection and holds more than the children's mean
 * goes to the back of the listeners' queue. The kernel wakes the first
 * idle child in that queue for each new connection, so without this the
 * oldest children gather the crowd while younger ones hold one each; under
 * load a crowded child's clients then share one process's turn on the CPU
 * that a lone client has to itself, and make the long tail of latency.
 * Costs a disarm and an arm (two epoll_ctl() per listener), on accepts
 * only. */
static void
requeue_if_crowded(park_t *p)
{
    int open = atomic_load_explicit(&p->engine.conns, memory_order_relaxed);

    if (p->accepted && p->stop == LOOM_STOP_NONE
        && !loom_listen_held(&p->listeners)
        && open > pf_pass_mean_conns(&p->pass)) {
        loom_listen_hold(&p->listeners, 1);
        loom_listen_hold(&p->listeners, 0);
    }
    p->accepted = 0;
}


/* How long the next wait may sleep: until the next deadline, the end of
 * an accept pause, or a draining child's next look; not at all while a
 * connection waits for its turn. */
static int
wait_ms(park_t *p)
{
    int ms = p->stop == LOOM_STOP_NONE ? -1 : DRAIN_LOOK_MS;

    if (!loom_list_empty(&p->engine.turns)) {
        return 0;
    }

    pthread_mutex_lock(&p->engine.lock);
    ms = loom_min_wait(ms, loom_timerq_next_ms(&p->engine.timers, loom_now_ms()));
    pthread_mutex_unlock(&p->engine.lock);
    return loom_min_wait(ms, loom_listen_tick(&p->listeners));
}


/* epoll_wait() fails only on a bad descriptor or argument: the child
 * cannot serve, says so, and stops gracefully. */
static void
wait_failed(int err)
{
    ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf, LOOMNO(1302)
                 "epoll_wait() on the child's poller failed; this child "
                 "stops gracefully");
    loom_signals_child_request(LOOM_STOP_GRACEFUL);
}


/* What APR needs to wrap a passed descriptor as an accepted socket: its
 * addresses (the core logs and matches virtual hosts by them), and the
 * blocking mode APR assumes of a socket it did not make itself (the
 * sender's APR may have left it non-blocking). 0, or -1 if the client is
 * already gone. */
static int
describe(int *fd, apr_os_sock_info_t *info, struct sockaddr_storage *local,
         struct sockaddr_storage *remote)
{
    socklen_t llen = sizeof(*local), rlen = sizeof(*remote);
    int flags = fcntl(*fd, F_GETFL);

    if (getsockname(*fd, (struct sockaddr *) local, &llen) != 0
        || getpeername(*fd, (struct sockaddr *) remote, &rlen) != 0
        || flags < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        return -1;
    }
    memset(info, 0, sizeof(*info));
    info->os_sock = fd;
    info->local = (struct sockaddr *) local;
    info->remote = (struct sockaddr *) remote;
    info->family = local->ss_family;
    info->type = SOCK_STREAM;
    return 0;
}


/* A sibling passed this child a connection (prefork_pass.h): it is
 * served as a new one. */
static void
take_passed(park_t *p)
{
    apr_os_sock_info_t info;
    struct sockaddr_storage local, remote;
    loom_conn_t *c;
    int between = 0, fd = pf_pass_receive(&p->pass, &between);

    if (fd < 0) {
        return;
    }
    c = record_new(p);
    if (describe(&fd, &info, &local, &remote) != 0
        || apr_os_sock_make(&c->sock, &info, c->ptrans) != APR_SUCCESS) {
        close(fd);
        record_unused(p, c);
        return;
    }
    loom_engine_adopted(&p->et, c, between);
}


static void
dispatch(park_t *p, const loom_fired_t *f)
{
    switch ((enum loom_watch_kind) f->watch->kind) {
    case LOOM_W_LISTENER:
        if (p->stop == LOOM_STOP_NONE) {
            accept_one(p, f->watch->data);
        }
        break;
    case LOOM_W_PASSED:
        if (p->stop == LOOM_STOP_NONE) {
            take_passed(p);
        }
        break;
    case LOOM_W_CONN:
        loom_engine_ready(&p->et, f->watch->data, f->ev);
        break;
    case LOOM_W_CALLBACKS:
    case LOOM_W_WAKE:
        break;
    }
}


/* The thread is done with the events it took: it closes its copies of the
 * connections the passer sent to siblings meanwhile, and serves those the
 * passer took but could not pass, with the passer watching again. */
static void
end_spell(park_t *p)
{
    loom_list_t passed, kept;

    for (;;) {
        loom_list_init(&passed);
        loom_list_init(&kept);
        pf_pass_idle(&p->pass, &passed, &kept);
        while (!loom_list_empty(&passed)) {
            loom_conn_t *c = loom_list_entry(passed.next, loom_conn_t, link);

            loom_list_remove(&c->link);
            loom_engine_let_go(c);
        }
        if (loom_list_empty(&kept)) {
            return;
        }
        pf_pass_busy(&p->pass);
        while (!loom_list_empty(&kept)) {
            loom_conn_t *c = loom_list_entry(kept.next, loom_conn_t, link);

            loom_list_remove(&c->link);
            loom_engine_resume(&p->et, c, c->expired);
        }
    }
}


/* Sleeps until something is ready or due, serves every event taken and
 * one request of each connection that waits for its turn, then closes
 * what has had its time. Events are served before deadlines are kept: a
 * connection whose request arrived while this thread served another must
 * not be closed for having waited for it. */
static void
serve_events(park_t *p)
{
    loom_fired_t fired[PARK_EVENTS];
    int i, n;

    loom_sb_thread_idle(p->ch->slot, 0, p->stop != LOOM_STOP_NONE);
    n = loom_poller_wait(p->poller, fired, PARK_EVENTS, wait_ms(p));
    if (n < 0 && n != -EINTR) {
        wait_failed(-n);
    }
    if (n > 0 || !loom_list_empty(&p->engine.turns)) {
        pf_pass_busy(&p->pass);
        for (i = 0; i < n; i++) {
            dispatch(p, &fired[i]);
        }
        loom_engine_take_turns(&p->et);
        end_spell(p);
    }
    if (p->pause_err != 0) {
        loom_listen_pause(&p->listeners, LOOM_LISTEN_PAUSE_MS, p->pause_err);
        p->pause_err = 0;
    }
    update_accepting(p);
    requeue_if_crowded(p);
    pthread_mutex_lock(&p->engine.lock);
    loom_engine_expire_locked(&p->engine, loom_now_ms());
    pthread_mutex_unlock(&p->engine.lock);
}


/* A child told to finish hands its keep-alive clients to its siblings (a
 * new generation's children, after a graceful restart), where they keep
 * their connection, instead of closing them. What the socket pair cannot
 * take now waits for the next look; what is left when the drain's 2 s are
 * over is closed as before. Between events: no thread can take theirs. */
static void
hand_over_keepalive(park_t *p)
{
    loom_list_t parked;

    loom_list_init(&parked);
    loom_engine_keepalive(&p->engine, &parked);
    while (!loom_list_empty(&parked)) {
        loom_conn_t *c = loom_list_entry(parked.next, loom_conn_t, link);
        int err = pf_pass_give(&p->pass, c);

        loom_list_remove(&c->link);
        if (err == -EAGAIN) {
            return;                     /* full: the next look goes on */
        }
        if (err == 0) {
            loom_engine_take(c);
            loom_engine_let_go(c);
        }
    }
}


/* The child was told to stop. Gracefully: no new connection, keep-alive
 * ones get a short last while (the engine's drain) and the rest finish;
 * the caller serves on until none is left. */
static void
begin_stop(park_t *p, loom_stop_e how)
{
    loom_engine_t *e = &p->engine;

    p->stop = how;
    loom_child_stopping(p->ch, how == LOOM_STOP_GRACEFUL);
    pthread_mutex_lock(&e->lock);
    loom_engine_stop_locked(e, how);
    pthread_mutex_unlock(&e->lock);
    loom_listen_close(&p->listeners);
    pf_pass_hold(&p->pass, 1);
    ap_get_scoreboard_process(p->ch->slot)->quiescing = 1;
    if (how == LOOM_STOP_GRACEFUL) {
        hand_over_keepalive(p);
    }
}


/* While draining: a connection a module suspended and gave up on, or one
 * the poller refused, must not keep the child from ever leaving. */
static void
release_leftovers(park_t *p)
{
    hand_over_keepalive(p);
    pthread_mutex_lock(&p->engine.lock);
    loom_engine_resume_suspended_locked(&p->engine, 1);
    pthread_mutex_unlock(&p->engine.lock);
    loom_engine_close_unarmed(&p->engine);
}


static int
set_up(park_t *p, loom_child_t *ch)
{
    p->ch = ch;
    p->limit = ch->st->cfg->conns_per_process;
    p->self.thread = ch->thread;
    atomic_init(&p->self.busy_fd, -1);
    p->et.engine = &p->engine;
    p->et.id = 0;
    p->et.lt = &p->self;
    ap_create_sb_handle(&p->et.sbh, ch->pchild, ch->slot, 0);
    if (loom_poller_create(&p->poller, ch->pchild) != 0
        || loom_engine_init(&p->engine, ch, p->poller) != 0
        || loom_listen_child_init(&p->listeners, ch->st, ch->bucket,
                                  p->poller, ch->pchild,
                                  LOOM_ARM_EXCLUSIVE) != 0) {
        return -1;                              /* each says why */
    }
    p->engine.one_thread = 1;
    loom_signals_child_busy_fds(&p->self.busy_fd, sizeof(p->self), 1);
    loom_signals_child_install(loom_poller_wake_fd(p->poller));
    pf_pass_start(&p->pass, ch->slot, &p->engine, &p->listeners, p->poller);
    return 0;
}


void
prefork_park_main(loom_child_t *ch)
{
    static park_t p;
    loom_stop_e how;

    if (set_up(&p, ch) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, ap_server_conf,
                     LOOMNO(1303) "this child cannot serve (the line before "
                     "says why); it exits");
        loom_child_exit(ch, APEXIT_CHILDSICK);
    }
    for (;;) {
        how = loom_child_exit_reason(ch);
        if (how != p.stop) {
            begin_stop(&p, how);
        }
        if (how == LOOM_STOP_NOW
            || (how == LOOM_STOP_GRACEFUL
                && atomic_load_explicit(&p.engine.conns,
                                        memory_order_relaxed) == 0)) {
            break;
        }
        if (how == LOOM_STOP_GRACEFUL) {
            release_leftovers(&p);
        }
        serve_events(&p);
    }
    pf_pass_stop(&p.pass);
    if (how == LOOM_STOP_GRACEFUL) {
        loom_sb_thread_status(ch->slot, 0, SERVER_GRACEFUL);
    }
    loom_child_exit(ch, 0);
}

