/* The connection engine's records, counts, parking and deadlines (see
 * loom/engine.h); the state machine itself is engine_conn.c. */
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <time.h>

#include "httpd.h"
#include "http_main.h"
#include "http_connection.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "loom/headtime.h"
#include "loom/log.h"
#include "loom/tags.h"
#include "loom/tcpinfo.h"
#include "loom/figures.h"
#include "engine_int.h"

#define FREE_CONNS_KEEP  64     /* recycled records kept per child */


uint64_t
loom_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


static apr_status_t
make_conn_parent(loom_engine_t *e, apr_pool_t *pchild)
{
    apr_allocator_t *allocator;
    apr_thread_mutex_t *mutex;
    apr_status_t rv;

    rv = apr_allocator_create(&allocator);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_allocator_max_free_set(allocator, ap_max_mem_free);
    rv = apr_pool_create_ex(&e->pconns, pchild, NULL, allocator);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, e->pconns);
    apr_pool_tag(e->pconns, "connections");
    rv = apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT,
                                 e->pconns);
    if (rv == APR_SUCCESS) {
        apr_allocator_mutex_set(allocator, mutex);
    }
    return rv;
}


int
loom_engine_init(loom_engine_t *e, loom_child_t *ch, loom_poller_t *poller)
{
    pthread_condattr_t monotonic;
    apr_status_t rv;
    int err;

    e->ch = ch;
    e->poller = poller;
    err = pthread_mutex_init(&e->lock, NULL);
    if (err == 0) {
        pthread_condattr_init(&monotonic);
        pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
        err = pthread_cond_init(&e->tick, &monotonic);
    }
    if (err == 0) {
        err = pthread_cond_init(&e->drained, &monotonic);
    }
    if (err != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, err, ap_server_conf,
                     LOOMNO(0601) "pthread_mutex_init() or pthread_cond_init() "
                     "for the child's connections failed");
        return -1;
    }
    loom_timerq_init(&e->timers);
    e->drain_lane = loom_timerq_lane(&e->timers, LOOM_DRAIN_KEEPALIVE_MS);
    e->short_linger_lane = loom_timerq_lane(&e->timers,
                                            LOOM_SHORT_LINGER_MS);
    e->linger_lane = loom_timerq_lane(&e->timers, LOOM_LINGER_MS);
    e->head_lane = loom_timerq_lane(
        &e->timers, (uint64_t) apr_time_as_msec(ap_server_conf->timeout));
    loom_list_init(&e->free_conns);
    loom_list_init(&e->suspended);
    loom_list_init(&e->unarmed);
    loom_list_init(&e->open);
    loom_list_init(&e->turns);
    e->tick_due = UINT64_MAX;
    rv = make_conn_parent(e, ch->pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, ap_server_conf,
                     LOOMNO(0602) "the connections' pool could not be made "
                     "(apr_allocator_create(), apr_pool_create_ex() or "
                     "apr_thread_mutex_create() failed)");
        return -1;
    }
    return 0;
}


void
loom_engine_publish_locked(loom_engine_t *e)
{
    process_score *ps = ap_get_scoreboard_process(e->ch->slot);

    ps->connections = atomic_load_explicit(&e->conns, memory_order_relaxed);
    ps->write_completion = e->counts[LOOM_COUNT_WRITE];
    ps->keep_alive = e->counts[LOOM_COUNT_KEEPALIVE];
    ps->lingering_close = e->counts[LOOM_COUNT_LINGER];
    ps->wait_io = e->counts[LOOM_COUNT_WAITIO];
    ps->suspended = e->counts[LOOM_COUNT_SUSPENDED];
    loom_figures_publish_waits(e->ch->slot, e->counts[LOOM_COUNT_HANDSHAKE],
                       e->counts[LOOM_COUNT_HEAD]);
}


/* Under the lock: `c` in state `s` starts (1) or stops (-1) waiting. */
static void
count_parked(loom_engine_t *e, loom_conn_state_e s, int delta)
{
    int which = loom_conn_count_of(s);

    if (which >= 0) {
        e->counts[which] += delta;
    }
    if (s != LOOM_CONN_SUSPENDED) {
        e->parked += delta;
    }
    loom_engine_publish_locked(e);
}


void
loom_engine_count_open_locked(loom_engine_t *e, int delta)
{
    atomic_fetch_add_explicit(&e->conns, delta, memory_order_relaxed);
    loom_engine_publish_locked(e);
}


int
loom_engine_busy_locked(const loom_engine_t *e)
{
    return atomic_load_explicit(&e->conns, memory_order_relaxed)
           - e->parked - e->counts[LOOM_COUNT_SUSPENDED];
}


loom_conn_t *
loom_engine_conn_new(loom_engine_t *e)
{
    loom_conn_t *c = NULL;

    pthread_mutex_lock(&e->lock);
    if (!loom_list_empty(&e->free_conns)) {
        c = loom_list_entry(e->free_conns.next, loom_conn_t, link);
        loom_list_remove(&c->link);
        e->free_count--;
    }
    pthread_mutex_unlock(&e->lock);
    if (c != NULL) {
        return c;
    }
    c = ap_calloc(1, sizeof(*c));
    /* One thread at a time uses it, handed over through the poller; the
     * parent's list of children is guarded by the shared allocator's
     * mutex, so records made and freed on several threads are safe. */
    apr_pool_create_ex(&c->ptrans, e->pconns, NULL, NULL);
    apr_pool_tag(c->ptrans, "transaction");
    c->engine = e;
    c->state = LOOM_CONN_CLOSED;
    c->lowat = 1;
    c->watch.kind = LOOM_W_CONN;
    c->watch.data = c;
    loom_list_init(&c->link);
    loom_list_init(&c->open_link);
    return c;
}


/* Under the lock: keeps `c` on the free list for the next connection, if
 * the list has room. 1 when kept. */
static int
keep_locked(loom_engine_t *e, loom_conn_t *c)
{
    if (e->free_count >= FREE_CONNS_KEEP) {
        return 0;
    }
    loom_list_append(&e->free_conns, &c->link);
    e->free_count++;
    return 1;
}


static void
conn_free(loom_conn_t *c)
{
    apr_pool_destroy(c->ptrans);
    free(c);
}


void
loom_engine_taken(loom_conn_t *c)
{
    if (c->fresh) {
        c->fresh = 0;
        atomic_fetch_sub_explicit(&c->engine->fresh, 1, memory_order_relaxed);
    }
}


void
loom_engine_conn_put(loom_conn_t *c)
{
    loom_engine_t *e = c->engine;

    if (c->registered) {
        /* Before the close: a forked CGI may still hold the descriptor,
         * and epoll forgets a registration only when the file goes. */
        loom_poller_del(e->poller, &c->watch);
    }
    loom_engine_taken(c);         /* a path that closes it untaken */
    if (c->hooks_out) {
        /* Modules that heard it leave its thread hear it come back before
         * it goes, as under stock: state they keep between the two must
         * not outlive the connection. No thread serves it now. */
        c->hooks_out = 0;
        c->c->sbh = NULL;
        ap_run_resume_connection(c->c, NULL);
    }
    apr_pool_clear(c->ptrans);    /* closes the socket */
    c->c = NULL;
    c->sock = NULL;
    c->registered = c->started = c->lingering = c->tls = c->hs_begun = 0;
    c->ra_on = 0;
    c->hooks_out = 0;
    c->lowat = 1;
    c->head_peeked = 0;
    c->wait_due = 0;
    loom_list_remove(&c->open_link);   /* a no-op when not tracked */
    loom_list_init(&c->open_link);
    pthread_mutex_lock(&e->lock);
    loom_engine_count_open_locked(e, -1);
    if (keep_locked(e, c)) {
        c = NULL;
    }
    if (atomic_load_explicit(&e->stopping, memory_order_acquire)
            != LOOM_STOP_NONE
        && atomic_load_explicit(&e->conns, memory_order_relaxed) == 0) {
        pthread_cond_broadcast(&e->drained);
    }
    pthread_mutex_unlock(&e->lock);
    if (c != NULL) {
        conn_free(c);
    }
}


void
loom_engine_conn_unused(loom_conn_t *c)
{
    loom_engine_t *e = c->engine;
    int kept;

    /* A failed accept allocated nothing from the pool. */
    pthread_mutex_lock(&e->lock);
    kept = keep_locked(e, c);
    pthread_mutex_unlock(&e->lock);
    if (!kept) {
        conn_free(c);
    }
}


static uint64_t
ms_of(apr_interval_time_t t)
{
    return (uint64_t) apr_time_as_msec(t);
}


/* Under the lock: arms `c`'s deadline `ms` from now, in the lane for that
 * length when there is one. */
static void
arm_in(loom_engine_t *e, loom_conn_t *c, uint64_t ms, uint64_t now)
{
    int lane = loom_timerq_lane(&e->timers, ms);

    if (lane >= 0) {
        loom_timerq_start_lane(&e->timers, &c->timer, lane, now);
    }
    else {
        loom_timerq_start_at(&e->timers, &c->timer, now + ms);
    }
}


uint64_t
loom_engine_wait_deadline(const loom_conn_t *c)
{
    server_rec *s = c->c->base_server;
    const loom_headtime_t *h;
    uint64_t bytes, stage;

    if (c->state == LOOM_CONN_HANDSHAKE) {
        /* What OpenSSL read is not ours to count: the kernel's count of
         * what the client sent serves, and costs a call only with a rate. */
        h = loom_headtime_of(s, LOOM_STAGE_HANDSHAKE);
        bytes = h->min_rate > 0 ? loom_tcp_bytes_received(c->watch.fd) : 0;
    }
    else {
        h = loom_headtime_of(s, LOOM_STAGE_HEADER);
        bytes = (uint64_t) c->head_peeked;
    }
    stage = loom_headtime_due(h, c->wait_since,
                              bytes > INT_MAX ? INT_MAX : (int) bytes);
    return stage < c->wait_due ? stage : c->wait_due;
}


/* Under the lock: the deadline of `c`'s parked state. */
static void
arm_for_state(loom_engine_t *e, loom_conn_t *c, uint64_t now)
{
    server_rec *s = c->c->base_server;

    switch (c->state) {
    case LOOM_CONN_KEEPALIVE:
        if (atomic_load_explicit(&e->stopping, memory_order_acquire)
            != LOOM_STOP_NONE) {
            loom_timerq_start_lane(&e->timers, &c->timer, e->drain_lane, now);
        }
        else {
            arm_in(e, c, ms_of(s->keep_alive_timeout), now);
        }
        break;
    case LOOM_CONN_HANDSHAKE:
    case LOOM_CONN_HEAD:
        loom_timerq_start_lane_at(&e->timers, &c->timer,
                                  ms_of(s->timeout)
                                  == e->timers.lane_ms[e->head_lane]
                                  ? e->head_lane : -1,
                                  loom_engine_wait_deadline(c));
        break;
    case LOOM_CONN_WRITE:
    case LOOM_CONN_WAITIO:
        arm_in(e, c, ms_of(s->timeout), now);
        break;
    case LOOM_CONN_LINGER:
        loom_timerq_start_lane_at(&e->timers, &c->timer,
                                  c->linger_due > now + LOOM_SHORT_LINGER_MS
                                  ? e->linger_lane : e->short_linger_lane,
                                  c->linger_due);
        break;
    case LOOM_CONN_PROCESS:
    case LOOM_CONN_SUSPENDED:
    case LOOM_CONN_CLOSED:
        break;
    }
    if (c->timer.due < e->tick_due) {
        pthread_cond_signal(&e->tick);   /* earlier than it planned */
    }
}


static unsigned
interest_of(const loom_conn_t *c)
{
    switch (c->cs.sense) {
    case CONN_SENSE_WANT_READ:  return LOOM_POLL_IN;
    case CONN_SENSE_WANT_WRITE: return LOOM_POLL_OUT;
    case CONN_SENSE_DEFAULT:    break;
    }
    return c->state == LOOM_CONN_WRITE ? LOOM_POLL_OUT : LOOM_POLL_IN;
}


/* Under the lock: the poller refused `c` (err: -errno), said once per
 * child, since what makes it refuse (no memory, max_user_watches) makes
 * it refuse many. */
static void
arm_failed(loom_conn_t *c, int err)
{
    static _Atomic int said;

    if (!atomic_exchange_explicit(&said, 1, memory_order_relaxed)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, -err, ap_server_conf,
                     LOOMNO(0603) "epoll_ctl(%s) of connection %d failed; "
                     "it is closed (and so is any other the poller refuses)",
                     c->registered ? "MOD" : "ADD", c->watch.fd);
    }
}


int
loom_engine_park_locked(loom_conn_t *c)
{
    loom_engine_t *e = c->engine;
    unsigned ev = interest_of(c);
    int rc;

    ap_assert(loom_conn_parks(c->state) && c->state != LOOM_CONN_SUSPENDED);
    c->cs.sense = CONN_SENSE_DEFAULT;   /* consumed once, as stock */
    c->woken = 0;
    c->expired = 0;
    if (c->c != NULL) {
        c->c->sbh = NULL;
    }
    /* The deadline goes in before the descriptor is armed, so that the
     * one event always finds it. */
    arm_for_state(e, c, loom_now_ms());
    count_parked(e, c->state, +1);
    rc = c->registered
         ? loom_poller_mod(e->poller, &c->watch, ev, LOOM_ARM_ONESHOT)
         : loom_poller_add(e->poller, &c->watch, ev, LOOM_ARM_ONESHOT);
    if (rc != 0) {
        /* No event will come: a deadline would wait for it for ever. */
        arm_failed(c, rc);
        loom_timerq_stop(&e->timers, &c->timer);
        count_parked(e, c->state, -1);
        return -1;
    }
    c->registered = 1;
    return 0;
}


int
loom_engine_park(loom_conn_t *c)
{
    int rc;

    /* Modules hear that the connection leaves its thread only once their
     * code ran on it, and hear of its return the next time it does. */
    if (c->started && !c->hooks_out && c->state != LOOM_CONN_LINGER) {
        c->hooks_out = 1;
        ap_run_suspend_connection(c->c, NULL);
    }
    pthread_mutex_lock(&c->engine->lock);
    rc = loom_engine_park_locked(c);
    pthread_mutex_unlock(&c->engine->lock);
    return rc;
}


void
loom_engine_keepalive(loom_engine_t *e, loom_list_t *out)
{
    loom_list_t *it;

    for (it = e->open.next; it != &e->open; it = it->next) {
        loom_conn_t *c = loom_list_entry(it, loom_conn_t, open_link);

        if (c->state == LOOM_CONN_KEEPALIVE && c->registered && !c->woken) {
            loom_list_append(out, &c->link);
        }
    }
}


int
loom_engine_take(loom_conn_t *c)
{
    return loom_engine_unpark(c);
}


int
loom_engine_unpark(loom_conn_t *c)
{
    loom_engine_t *e = c->engine;
    int expired;

    pthread_mutex_lock(&e->lock);
    expired = c->expired;
    loom_timerq_stop(&e->timers, &c->timer);
    count_parked(e, c->state, -1);
    pthread_mutex_unlock(&e->lock);
    return expired;
}


void
loom_engine_suspend(loom_conn_t *c)
{
    loom_engine_t *e = c->engine;

    if (!c->hooks_out) {
        c->hooks_out = 1;
        ap_run_suspend_connection(c->c, NULL);
    }
    c->c->sbh = NULL;
    pthread_mutex_lock(&e->lock);
    count_parked(e, LOOM_CONN_SUSPENDED, +1);
    loom_list_append(&e->suspended, &c->link);
    pthread_mutex_unlock(&e->lock);
}


void
loom_engine_unsuspend_locked(loom_conn_t *c)
{
    loom_list_remove(&c->link);
    count_parked(c->engine, LOOM_CONN_SUSPENDED, -1);
}


void
loom_engine_unarmed_locked(loom_conn_t *c)
{
    loom_list_append(&c->engine->unarmed, &c->link);
}


/* Whether a parked keep-alive connection's next request has begun to
 * arrive: its event is due, only no thread has taken it yet (all busy, or
 * prefork's one thread serving another). */
static int
next_request_came(const loom_conn_t *c)
{
    char b;

    return c->state == LOOM_CONN_KEEPALIVE
           && recv(c->watch.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}


static void
expire_conn(void *ctx, loom_timer_t *t)
{
    loom_conn_t *c = loom_list_entry(t, loom_conn_t, timer);

    if (next_request_came(c)) {
        /* Not idle: closing it would drop a request the client has sent.
         * Its event comes with the next free thread, deadline or not. */
        return;
    }
    c->expired = 1;
    /* Makes the one event fire; whoever gets it closes the connection. */
    shutdown(c->watch.fd, SHUT_RDWR);
}


void
loom_engine_expire_locked(loom_engine_t *e, uint64_t now)
{
    loom_timerq_expire(&e->timers, now, expire_conn, NULL);
}


/* Picks the lingering closes among the deadlines to shorten, and keeps
 * their own record of the deadline in step (`ctx`: the new one). */
static int
pick_lingering(void *ctx, loom_timer_t *t)
{
    loom_conn_t *c = loom_list_entry(t, loom_conn_t, timer);

    if (c->state != LOOM_CONN_LINGER) {
        return 0;
    }
    c->linger_due = *(const uint64_t *) ctx;
    return 1;
}


/* Picks the keep-alive connections (a lane may hold several states'
 * deadlines of the same length). */
static int
pick_keepalive(void *ctx, loom_timer_t *t)
{
    return loom_list_entry(t, loom_conn_t, timer)->state
           == LOOM_CONN_KEEPALIVE;
}


void
loom_engine_stop_locked(loom_engine_t *e, int how)
{
    uint64_t now = loom_now_ms();
    uint64_t linger_due = now + LOOM_SHORT_LINGER_MS;

    atomic_store_explicit(&e->stopping, how, memory_order_release);
    if (how != LOOM_STOP_GRACEFUL) {
        return;
    }
    /* Cost (loom_timerq_shorten): the deadlines due later than the new
     * ones in each lane, plus the heap, once per call. */
    loom_timerq_shorten(&e->timers, e->drain_lane, now, pick_keepalive, NULL);
    loom_timerq_shorten(&e->timers, e->short_linger_lane, now,
                        pick_lingering, &linger_due);
    pthread_cond_signal(&e->tick);
}
