/* loom_event: threads serve requests, not connections.
 *
 * The worker threads of a child take events from the child's one poller
 * themselves: listeners and parked connections are armed there one-shot,
 * so each ready connection goes to exactly one thread and is served by it
 * directly, with no hand-off between a listener thread and a worker on the
 * hot path. How many threads poll or serve at once is bounded by the gate
 * (event_gate.h): the CPUs the child may run on, plus any that blocked.
 * Between requests, while a response drains to a slow reader, while a
 * request head trickles in and while a connection lingers on close, no
 * thread is held: the connections live in the connection engine
 * (loom/engine.h), which this model runs. A housekeeping thread keeps the
 * deadlines, watches the gate for blocked threads and hands due timed
 * callbacks to the worker threads (a callback may block; deadlines must
 * not wait for it); the main thread waits for the order to stop.
 *
 * Named event.c on purpose: httpd takes the module name from it, and
 * mod_http2 and <IfModule event.c> recognise event by that name. */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/config.h"
#include "loom/engine.h"
#include "loom/figures.h"
#include "loom/headtime.h"
#include "loom/headwait.h"
#include "loom/listen.h"
#include "loom/log.h"
#include "loom/mpm.h"
#include "loom/sb.h"
#include "loom/state.h"
#include "loom/tags.h"
#include "loom/threads.h"
#include "event_gate.h"

extern module AP_MODULE_DECLARE_DATA mpm_loom_event_module;

typedef struct ev_child ev_child_t;

typedef struct ev_thread {
    loom_engine_thread_t  et;       /* first: the engine hands it back */
    ev_child_t           *evc;
    int                   unwatched;   /* ev_gate_took's answer */
} ev_thread_t;

/* A child: the engine with its connections, and what event adds to run
 * it. The engine's lock is the child lock; it also guards the listeners,
 * the callbacks and the housekeeper's fields here, unless noted. */
struct ev_child {
    loom_child_t      *ch;
    loom_poller_t     *poller;
    loom_engine_t      engine;
    loom_listeners_t   listeners;
    loom_timerq_t      callbacks;   /* ap_mpm_register_timed_callback */
    /* Callbacks that are due wait here for a worker thread; cb_watch (an
     * eventfd, armed one-shot) is readable while any wait, so one idle
     * thread takes one. Never run by the housekeeper: a callback may
     * block (mod_dialup writes to its client), and deadlines must not. */
    struct timed_cb   *cb_head;
    struct timed_cb  **cb_tail;
    loom_watch_t       cb_watch;
    int                cb_running;  /* callbacks running on workers now */
    int                hk_exit;     /* the housekeeper leaves */
    /* Threads at the gate or polling; changed without the lock by each
     * thread, read under it when deciding to accept. Relaxed: a hint that
     * the next decision corrects. */
    _Atomic int        idle_threads;
    ev_gate_t          gate;        /* own lock; taken after the child's */
    ev_thread_t       *threads;
    int                nthreads;
    loom_thread_t     *set;         /* nthreads workers, then housekeeper */
};

/* The running child's state, for the hooks httpd calls without a context
 * (timed callbacks); NULL in the parent. */
static ev_child_t *running;

struct timed_cb {
    loom_timer_t           timer;    /* first: found from the timer */
    ap_mpm_callback_fn_t  *fn;
    void                  *baton;
    struct timed_cb       *next;
};


static int
stopping_of(ev_child_t *evc)
{
    return atomic_load_explicit(&evc->engine.stopping, memory_order_acquire);
}


/* Under the child lock: whether the child may take one more connection
 * (AsyncRequestWorkerFactor), and holding accepting off or on by it. */
static void
update_accepting(ev_child_t *evc)
{
    const loom_cfg_t *cfg = evc->ch->st->cfg;
    int active = loom_engine_busy_locked(&evc->engine);
    int idle = atomic_load_explicit(&evc->idle_threads, memory_order_relaxed);
    int ok = stopping_of(evc) == LOOM_STOP_NONE
             && active < cfg->threads_per_child + idle * cfg->async_factor;

    /* Parked connections cost no thread, so unlike stock event they do
     * not count: thousands of idle keep-alive connections never stop a
     * child from accepting. Nor do suspended ones (a module owns them,
     * mod_dialup between its timed callbacks): counted, a few of them
     * held accepting off while every thread sat idle, with nothing left
     * to wake a thread and look again. What counts is work waiting for a
     * thread. */
    if (ok == loom_listen_held(&evc->listeners)) {
        loom_listen_hold(&evc->listeners, !ok);
        ap_get_scoreboard_process(evc->ch->slot)->not_accepting = !ok;
    }
}


/* Under no lock: reserves room for one more connection, or says no. */
static int
reserve(ev_child_t *evc)
{
    int ok;

    pthread_mutex_lock(&evc->engine.lock);
    update_accepting(evc);
    ok = !loom_listen_held(&evc->listeners);
    if (ok) {
        /* ConnsTotal counts it from the start. */
        loom_engine_count_open_locked(&evc->engine, 1);
    }
    pthread_mutex_unlock(&evc->engine.lock);
    return ok;
}


static void
unreserve(ev_child_t *evc, int err)
{
    pthread_mutex_lock(&evc->engine.lock);
    loom_engine_count_open_locked(&evc->engine, -1);
    if (loom_listen_out_of_resources(err)) {
        loom_listen_pause(&evc->listeners, LOOM_LISTEN_PAUSE_MS, err);
        pthread_cond_signal(&evc->engine.tick);     /* it re-arms them */
    }
    pthread_mutex_unlock(&evc->engine.lock);
    if (err != EAGAIN && !loom_listen_out_of_resources(err)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf,
                     LOOMNO(1201) "accept() failed; this child stops "
                     "accepting and exits");
        loom_signals_child_request(LOOM_STOP_GRACEFUL);
    }
}


/* At most this many connections are taken from a listener per wake-up.
 * More than one shortened the slowest of a crowd of TLS connects
 * (docs/benchmarking.md), but an extra whose client had not spoken yet
 * promised no thread: a child could take more connections than it had
 * idle threads, and one then waited behind threads blocked in CGIs while
 * other children sat idle (t/lifecycle/idle.t, once in about ten runs).
 * One per wake-up until that rule is mended (docs/architecture.md). */
#define ACCEPT_BATCH 1

/* Accepts one connection on `lw` into a new record; NULL when none was
 * waiting or the child has no room (then the listener is held). */
static loom_conn_t *
take_one(ev_child_t *evc, loom_listen_watch_t *lw)
{
    loom_conn_t *c;
    int rc;

    if (!reserve(evc)) {
        return NULL;
    }
    c = loom_engine_conn_new(&evc->engine);
    rc = loom_listen_accept(lw->lr, c->ptrans, &c->sock);
    if (rc != 0) {
        loom_engine_conn_unused(c);
        unreserve(evc, -rc);
        return NULL;
    }
    return c;
}


/* Counts an accepted connection; 1 when it was the child's last
 * (MaxConnectionsPerChild), which asks for a graceful stop. */
static int
count_accepted(ev_child_t *evc)
{
    if (atomic_fetch_add_explicit(&evc->ch->conns, 1, memory_order_relaxed) + 1
        == ap_max_requests_per_child) {
        loom_signals_child_request(LOOM_STOP_GRACEFUL);
        return 1;
    }
    return 0;
}


/* The listener is one-shot: take the connections waiting on it, let the
 * next idle thread have the listener, and serve the first here. The
 * others wait in the poller, each for a thread of this child: so beyond
 * the first no more are taken than it has idle threads not yet promised
 * to connections taken before (and at most ACCEPT_BATCH in all), the rule
 * by which stock accepts; else a child whose threads then block in long
 * responses would hold connections while a sibling sits idle. They are
 * parked before the listener is armed again, so that their events come
 * first. */
static void
accept_batch(ev_thread_t *t, loom_listen_watch_t *lw)
{
    ev_child_t *evc = t->evc;
    loom_conn_t *first = take_one(evc, lw), *more[ACCEPT_BATCH];
    int room = atomic_load_explicit(&evc->idle_threads, memory_order_relaxed)
               - atomic_load_explicit(&evc->engine.fresh, memory_order_relaxed);
    int n = 0, last = first != NULL && count_accepted(evc);

    if (room > ACCEPT_BATCH - 1) {
        room = ACCEPT_BATCH - 1;
    }
    while (first != NULL && !last && n < room && loom_listen_waiting(lw->lr)
           && (more[n] = take_one(evc, lw)) != NULL) {
        last = count_accepted(evc);
        n++;
    }
    for (int i = 0; i < n; i++) {
        loom_engine_accepted_later(&t->et, more[i]);
    }
    pthread_mutex_lock(&evc->engine.lock);
    loom_listen_rearm(&evc->listeners, &lw->watch);
    pthread_mutex_unlock(&evc->engine.lock);
    if (first != NULL) {
        loom_engine_accepted(&t->et, first);
    }
}


/* Under the child lock: suspended connections a module finished with go
 * back to the engine; ones whose client is gone too, once no timed
 * callback is due or running (loom_engine_resume_suspended_locked). */
static void
resume_suspended(ev_child_t *evc)
{
    int quiet = evc->callbacks.armed == 0 && evc->cb_head == NULL
                && evc->cb_running == 0;

    loom_engine_resume_suspended_locked(&evc->engine, quiet);
}


/* Lets the next idle thread take the callbacks' watch. If epoll cannot
 * arm it again, no thread would ever run a timed callback in this child
 * again: the child says so and leaves gracefully, and a new one takes
 * its place. */
static void
rearm_callbacks(ev_child_t *evc)
{
    int err = loom_poller_mod(evc->poller, &evc->cb_watch, LOOM_POLL_IN,
                              LOOM_ARM_ONESHOT);

    if (err != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, -err, ap_server_conf,
                     LOOMNO(1207) "epoll_ctl(MOD) of the timed callbacks' "
                     "eventfd %d failed; this child stops gracefully",
                     evc->cb_watch.fd);
        loom_signals_child_request(LOOM_STOP_GRACEFUL);
    }
}


/* A worker thread took the callbacks' watch: it runs the first due
 * callback, lets the next idle thread have the watch for the others, and
 * gives back the connections the callback finished with. */
static void
run_callback(ev_thread_t *t)
{
    ev_child_t *evc = t->evc;
    struct timed_cb *cb;
    uint64_t drained;

    pthread_mutex_lock(&evc->engine.lock);
    cb = evc->cb_head;
    if (cb != NULL) {
        evc->cb_running++;
        evc->cb_head = cb->next;
        if (evc->cb_head == NULL) {
            evc->cb_tail = &evc->cb_head;
        }
    }
    if (evc->cb_head == NULL) {
        /* Under the lock, as the housekeeper's write: readable exactly
         * while callbacks wait. */
        (void) !read(evc->cb_watch.fd, &drained, sizeof(drained));
    }
    pthread_mutex_unlock(&evc->engine.lock);
    rearm_callbacks(evc);
    if (cb == NULL) {
        return;
    }
    loom_sb_thread_status(evc->ch->slot, t->et.id, SERVER_BUSY_WRITE);
    cb->fn(cb->baton);
    free(cb);
    pthread_mutex_lock(&evc->engine.lock);
    evc->cb_running--;
    resume_suspended(evc);
    pthread_mutex_unlock(&evc->engine.lock);
    loom_engine_close_unarmed(&evc->engine);
}


static int
thread_may_exit(ev_child_t *evc)
{
    switch ((loom_stop_e) stopping_of(evc)) {
    case LOOM_STOP_NONE:
        return 0;
    case LOOM_STOP_GRACEFUL:
        return atomic_load_explicit(&evc->engine.conns,
                                    memory_order_relaxed) == 0;
    case LOOM_STOP_NOW:
        return 1;
    }
    return 1;
}


/* This thread is about to run what may block or compute for long: if the
 * gate has nobody in the poller, the housekeeper starts looking every few
 * ms whether a serving thread blocked. */
static void
watch_serving(ev_thread_t *t)
{
    ev_child_t *evc = t->evc;

    if (t->unwatched && ev_gate_watch(&evc->gate)) {
        pthread_mutex_lock(&evc->engine.lock);
        pthread_cond_signal(&evc->engine.tick);
        pthread_mutex_unlock(&evc->engine.lock);
    }
}


/* epoll_wait() fails only on a bad descriptor or argument: the child
 * cannot serve, says so once, and stops gracefully. */
static void
wait_failed(ev_child_t *evc, int err)
{
    static _Atomic int said;

    if (!atomic_exchange_explicit(&said, 1, memory_order_relaxed)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf,
                     LOOMNO(1206) "epoll_wait() on the child's poller "
                     "failed; this child stops gracefully");
    }
    loom_signals_child_request(LOOM_STOP_GRACEFUL);
}


static void *APR_THREAD_FUNC
worker_thread(apr_thread_t *thread, void *arg)
{
    ev_thread_t *t = arg;
    ev_child_t *evc = t->evc;
    int slot = evc->ch->slot, id = t->et.id;

    if (ev_gate_sit(&evc->gate, id) != 0) {
        /* The housekeeper then tells a blocked thread by its state alone. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     LOOMNO(1209) "pthread_getcpuclockid() failed for "
                     "worker thread %d", id);
    }
    while (!thread_may_exit(evc)) {
        int stopping = stopping_of(evc);
        loom_fired_t fired;
        int n;

        loom_sb_thread_idle(slot, id, stopping != LOOM_STOP_NONE);
        atomic_fetch_add_explicit(&evc->idle_threads, 1, memory_order_relaxed);
        if (stopping == LOOM_STOP_NONE && loom_listen_held(&evc->listeners)) {
            pthread_mutex_lock(&evc->engine.lock);
            update_accepting(evc);   /* one more idle thread */
            pthread_mutex_unlock(&evc->engine.lock);
        }
        ev_gate_enter(&evc->gate);
        n = loom_poller_wait(evc->poller, &fired, 1, -1);
        atomic_fetch_sub_explicit(&evc->idle_threads, 1, memory_order_relaxed);
        t->unwatched = ev_gate_took(&evc->gate, id, n > 0);
        if (n <= 0) {
            if (n < 0 && n != -EINTR) {
                wait_failed(evc, -n);
            }
            continue;
        }
        switch ((enum loom_watch_kind) fired.watch->kind) {
        case LOOM_W_LISTENER:
            watch_serving(t);          /* modules' pre_connection hooks */
            accept_batch(t, fired.watch->data);
            break;
        case LOOM_W_CONN:              /* about_to_serve() decides */
            loom_engine_ready(&t->et, fired.watch->data, fired.ev);
            break;
        case LOOM_W_CALLBACKS:
            watch_serving(t);
            run_callback(t);
            break;
        case LOOM_W_PASSED:            /* prefork's; never armed here */
        case LOOM_W_WAKE:
            break;                     /* the poller keeps its own */
        }
        ev_gate_done(&evc->gate, id);
    }
    loom_sb_thread_status(slot, id, SERVER_DEAD);
    /* A wake-up reaches one waiting thread: pass it on to the next. */
    loom_poller_wake(evc->poller);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}


/* Under the lock, from the housekeeper: a due callback joins the queue
 * that worker threads take from. */
static void
take_callback(void *ctx, loom_timer_t *t)
{
    ev_child_t *evc = ctx;
    struct timed_cb *cb = (struct timed_cb *) t;
    uint64_t one = 1;

    cb->next = NULL;
    *evc->cb_tail = cb;
    evc->cb_tail = &cb->next;
    (void) !write(evc->cb_watch.fd, &one, sizeof(one));
}


/* Under the lock: sleeps until the next deadline, a re-arm of paused
 * listeners, the gate's next look (`gate_ms`), or a signal on `tick`. */
static void
housekeeper_sleep(ev_child_t *evc, int gate_ms)
{
    uint64_t now = loom_now_ms();
    int ms = loom_min_wait(1000, gate_ms);
    struct timespec until;

    ms = loom_min_wait(ms, loom_timerq_next_ms(&evc->engine.timers, now));
    ms = loom_min_wait(ms, loom_timerq_next_ms(&evc->callbacks, now));
    ms = loom_min_wait(ms, loom_listen_tick(&evc->listeners));
    evc->engine.tick_due = now + (uint64_t) ms;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&evc->engine.tick, &evc->engine.lock, &until);
}


/* The gate's waiting threads, for the metrics (under the gate lock). */
static void
show_gate_waiting(int waiting)
{
    loom_figures_publish_gate_waiting(loom_child_slot(), waiting);
}


static void *APR_THREAD_FUNC
housekeeper_thread(apr_thread_t *thread, void *arg)
{
    ev_child_t *evc = arg;

    pthread_mutex_lock(&evc->engine.lock);
    while (!evc->hk_exit) {
        uint64_t now = loom_now_ms();
        int gate_ms, released;

        loom_engine_expire_locked(&evc->engine, now);
        loom_timerq_expire(&evc->callbacks, now, take_callback, evc);
        gate_ms = ev_gate_check(&evc->gate, &released);
        if (released > 0) {
            ap_log_error(APLOG_MARK, APLOG_TRACE2, 0, ap_server_conf,
                         LOOMNO(1203) "gate: %d serving thread(s) found "
                         "asleep or serving for long; others called in "
                         "their place", released);
        }
        housekeeper_sleep(evc, gate_ms);
    }
    pthread_mutex_unlock(&evc->engine.lock);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}


static apr_status_t
event_timed_callback(apr_time_t t, ap_mpm_callback_fn_t *fn, void *baton)
{
    ev_child_t *evc = running;
    struct timed_cb *cb;

    if (evc == NULL) {
        return APR_ENOTIMPL;       /* not in a serving child */
    }
    cb = ap_calloc(1, sizeof(*cb));
    cb->fn = fn;
    cb->baton = baton;
    pthread_mutex_lock(&evc->engine.lock);
    loom_timerq_start_at(&evc->callbacks, &cb->timer,
                         loom_now_ms() + (uint64_t) apr_time_as_msec(t));
    if (cb->timer.due < evc->engine.tick_due) {
        pthread_cond_signal(&evc->engine.tick);
    }
    pthread_mutex_unlock(&evc->engine.lock);
    return APR_SUCCESS;
}


/* One step of setting up the child failed: says which, with its error. */
static int
setup_failed(const char *what, apr_status_t err)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, err, ap_server_conf,
                 LOOMNO(1208) "setting up the child failed at %s", what);
    return -1;
}


/* A connection that mostly waits on its own (a TLS handshake run by the
 * hooks, an HTTP/2 session's main connection) stops counting against the
 * gate at once, rather than after the housekeeper's looks; any other is
 * watched. */
static void
about_to_serve(loom_engine_thread_t *et, int on_its_own)
{
    ev_thread_t *t = (ev_thread_t *) et;

    if (on_its_own) {
        ev_gate_step_aside(&t->evc->gate, et->id);
    }
    else {
        watch_serving(t);
    }
}


static int
prepare(ev_child_t *evc, loom_child_t *ch)
{
    int i, err, budget, tpc = ch->st->cfg->threads_per_child;
    char why[300];

    evc->ch = ch;
    if (loom_poller_create(&evc->poller, ch->pchild) != 0) {
        return -1;                              /* it said why */
    }
    if (loom_engine_init(&evc->engine, ch, evc->poller) != 0) {
        return -1;                              /* it said why */
    }
    evc->engine.about_to_serve = about_to_serve;
    loom_timerq_init(&evc->callbacks);
    evc->nthreads = tpc;
    evc->threads = apr_pcalloc(ch->pchild, tpc * sizeof(*evc->threads));
    evc->set = apr_pcalloc(ch->pchild, (tpc + 1) * sizeof(*evc->set));
    for (i = 0; i < tpc; i++) {
        ev_thread_t *t = &evc->threads[i];

        t->evc = evc;
        t->et.engine = &evc->engine;
        t->et.id = i;
        t->et.lt = &evc->set[i];
        evc->set[i].fn = worker_thread;
        evc->set[i].arg = t;
        ap_create_sb_handle(&t->et.sbh, ch->pchild, ch->slot, i);
    }
    budget = ev_gate_budget(ch->st->cfg, why, sizeof(why));
    if (ev_gate_init(&evc->gate,
                     apr_pcalloc(ch->pchild, tpc * sizeof(ev_gate_seat_t)),
                     tpc, budget) != 0) {
        return setup_failed("the gate (pthread_mutex_init(), "
                            "pthread_cond_init())", 0);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, LOOMNO(1211)
                 "this child: up to %d thread%s take events at once: %s",
                 budget, budget == 1 ? "" : "s", why);
    loom_figures_publish_gate_budget(ch->slot, evc->gate.budget);
    evc->gate.show_waiting = show_gate_waiting;
    evc->set[tpc].fn = housekeeper_thread;
    evc->set[tpc].arg = evc;
    evc->cb_tail = &evc->cb_head;
    evc->cb_watch.kind = LOOM_W_CALLBACKS;
    evc->cb_watch.data = evc;
    evc->cb_watch.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (evc->cb_watch.fd < 0) {
        return setup_failed("eventfd() for the timed callbacks", errno);
    }
    err = loom_poller_add(evc->poller, &evc->cb_watch, LOOM_POLL_IN,
                          LOOM_ARM_ONESHOT);
    if (err != 0) {
        return setup_failed("epoll_ctl(ADD) of the timed callbacks' eventfd",
                            -err);
    }
    return loom_listen_child_init(&evc->listeners, ch->st, ch->bucket,
                                  evc->poller, ch->pchild, LOOM_ARM_ONESHOT);
}


/* Main thread, graceful: stop accepting, let idle keep-alive connections
 * go soon, and wait until every connection is gone, or until a stop-now
 * arrives meanwhile. */
static loom_stop_e
drain(ev_child_t *evc)
{
    loom_engine_t *e = &evc->engine;
    loom_stop_e how = LOOM_STOP_GRACEFUL;

    pthread_mutex_lock(&e->lock);
    while (atomic_load_explicit(&e->conns, memory_order_relaxed) > 0
           && how == LOOM_STOP_GRACEFUL) {
        struct timespec until;

        resume_suspended(evc);   /* any left behind by a module */
        pthread_mutex_unlock(&e->lock);
        loom_engine_close_unarmed(e);
        pthread_mutex_lock(&e->lock);
        if (atomic_load_explicit(&e->conns, memory_order_relaxed) == 0) {
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&e->drained, &e->lock, &until);
        if (loom_signals_child_pending() == LOOM_STOP_NOW) {
            how = LOOM_STOP_NOW;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return how;
}


static void
stop(ev_child_t *evc, loom_stop_e how)
{
    loom_engine_t *e = &evc->engine;

    pthread_mutex_lock(&e->lock);
    loom_engine_stop_locked(e, how);
    update_accepting(evc);           /* holds accepting off */
    ap_get_scoreboard_process(evc->ch->slot)->quiescing = 1;
    pthread_mutex_unlock(&e->lock);
    if (how == LOOM_STOP_GRACEFUL) {
        how = drain(evc);
        pthread_mutex_lock(&e->lock);
        loom_engine_stop_locked(e, how);
        pthread_mutex_unlock(&e->lock);
    }
    if (how == LOOM_STOP_NOW) {
        loom_threads_abort_io(evc->set, evc->nthreads);
    }
    ev_gate_open(&evc->gate);
    loom_poller_wake_all(evc->poller);
    pthread_mutex_lock(&e->lock);
    evc->hk_exit = 1;
    pthread_cond_signal(&e->tick);
    pthread_mutex_unlock(&e->lock);
    loom_threads_join(evc->set, evc->nthreads + 1);
}


static void
event_child_main(loom_child_t *ch)
{
    static ev_child_t evc;
    loom_stop_e how;

    if (prepare(&evc, ch) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, ap_server_conf,
                     LOOMNO(1202) "this child cannot serve (the line before "
                     "says why); it exits");
        loom_child_exit(ch, APEXIT_CHILDSICK);
    }
    running = &evc;
    loom_threads_run(ch, evc.set, evc.nthreads + 1);
    how = loom_threads_wait_stop(ch);
    loom_child_stopping(ch, how == LOOM_STOP_GRACEFUL);
    stop(&evc, how);
    running = NULL;
    loom_child_exit(ch, 0);
}


/* HTTP/2 streams are connections on top of a connection: each needs a
 * state of its own, or it would overwrite the primary's. */
static int
event_pre_connection(conn_rec *c, void *csd)
{
    if (c->master != NULL && (c->cs == NULL || c->cs == c->master->cs)) {
        conn_state_t *cs = apr_pcalloc(c->pool, sizeof(*cs));

        cs->state = CONN_STATE_PROCESSING;
        c->cs = cs;
    }
    return OK;
}


static int
event_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                  server_rec *s)
{
    char why[300];
    int budget = ev_gate_budget(loom_state()->cfg, why, sizeof(why));

    loom_headtime_setup(pconf, s);
    loom_headwait_setup(pconf, s);
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        /* Children probe again as they start: a container's quota may
         * change while the server runs. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LOOMNO(1210)
                     "up to %d thread%s per child take events at once: %s",
                     budget, budget == 1 ? "" : "s", why);
    }
    return OK;
}


static void
event_own_hooks(apr_pool_t *p)
{
    ap_hook_post_config(event_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(event_pre_connection, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_mpm_register_timed_callback(event_timed_callback, NULL, NULL,
                                        APR_HOOK_MIDDLE);
}


LOOM_MPM_MODULE(event, LOOM_MODEL_EVENT, LOOM_CAP_THREADED | LOOM_CAP_ASYNC,
                LOOM_EVENT_COMMANDS,
                event_child_main, event_own_hooks);
