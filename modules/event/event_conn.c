/* One connection's life in loom_event: an explicit state machine (see
 * event.h for the states and for who owns a connection when). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "httpd.h"
#include "http_main.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_ssl.h"
#include "http_vhost.h"
#include "mpm_common.h"
#include "scoreboard.h"
#include "util_filter.h"

#include "loom/log.h"
#include "loom/sb.h"
#include "loom/tags.h"
#include "event.h"
#include "event_headtime.h"
#include "event_headwait.h"

#define HEAD_PEEK        8192   /* bytes of a request head we wait for */
#define FREE_CONNS_KEEP  64     /* recycled records kept per child */

APLOG_USE_MODULE(mpm_loom_event);


uint64_t
ev_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


/* The mod_status figure a parked state counts in, or -1. */
static int
count_of(enum ev_state s)
{
    switch (s) {
    case EV_WRITE:     return EVC_WRITE;
    case EV_KEEPALIVE: return EVC_KEEPALIVE;
    case EV_LINGER:    return EVC_LINGER;
    case EV_WAITIO:    return EVC_WAITIO;
    case EV_SUSPENDED: return EVC_SUSPENDED;
    case EV_HEAD:
    case EV_PROCESS:
    case EV_CLOSED:
        break;
    }
    return -1;
}


void
ev_conn_publish(ev_child_t *evc)
{
    process_score *ps = ap_get_scoreboard_process(evc->ch->slot);

    ps->connections = atomic_load_explicit(&evc->conns, memory_order_relaxed);
    ps->write_completion = evc->counts[EVC_WRITE];
    ps->keep_alive = evc->counts[EVC_KEEPALIVE];
    ps->lingering_close = evc->counts[EVC_LINGER];
    ps->wait_io = evc->counts[EVC_WAITIO];
    ps->suspended = evc->counts[EVC_SUSPENDED];
}


static void
count_change(ev_child_t *evc, enum ev_state s, int delta)
{
    int which = count_of(s);

    if (which >= 0) {
        evc->counts[which] += delta;
    }
    if (s != EV_SUSPENDED) {
        evc->parked += delta;
    }
    ev_conn_publish(evc);
}


ev_conn_t *
ev_conn_new(ev_child_t *evc)
{
    ev_conn_t *ec = NULL;

    pthread_mutex_lock(&evc->lock);
    if (!loom_list_empty(&evc->free_conns)) {
        ec = loom_list_entry(evc->free_conns.next, ev_conn_t, link);
        loom_list_remove(&ec->link);
        evc->free_count--;
    }
    pthread_mutex_unlock(&evc->lock);
    if (ec != NULL) {
        return ec;
    }
    ec = ap_calloc(1, sizeof(*ec));
    /* One thread at a time uses it, handed over through the poller; the
     * parent's list of children is guarded by the shared allocator's
     * mutex, so records made and freed on several threads are safe. */
    apr_pool_create_ex(&ec->ptrans, evc->pconns, NULL, NULL);
    apr_pool_tag(ec->ptrans, "transaction");
    ec->evc = evc;
    ec->lowat = 1;
    ec->watch.kind = LOOM_W_CONN;
    ec->watch.data = ec;
    loom_list_init(&ec->link);
    return ec;
}


/* Under evc->lock: keeps `ec` on the free list for the next connection,
 * if the list has room. 1 when kept. */
static int
keep_locked(ev_child_t *evc, ev_conn_t *ec)
{
    if (evc->free_count >= FREE_CONNS_KEEP) {
        return 0;
    }
    loom_list_append(&evc->free_conns, &ec->link);
    evc->free_count++;
    return 1;
}


static void
conn_free(ev_conn_t *ec)
{
    apr_pool_destroy(ec->ptrans);
    free(ec);
}


static void
conn_put(ev_conn_t *ec)
{
    ev_child_t *evc = ec->evc;

    if (ec->registered) {
        /* Before the close: a forked CGI may still hold the descriptor,
         * and epoll forgets a registration only when the file goes. */
        loom_poller_del(evc->poller, &ec->watch);
    }
    apr_pool_clear(ec->ptrans);    /* closes the socket */
    ec->c = NULL;
    ec->sock = NULL;
    ec->registered = ec->started = ec->lingering = ec->tls = 0;
    ec->hooks_out = 0;
    ec->lowat = 1;
    ec->head_peeked = 0;
    ec->head_due = 0;
    pthread_mutex_lock(&evc->lock);
    atomic_fetch_sub_explicit(&evc->conns, 1, memory_order_relaxed);
    ev_conn_publish(evc);
    if (keep_locked(evc, ec)) {
        ec = NULL;
    }
    if (atomic_load_explicit(&evc->stopping, memory_order_acquire)
            != LOOM_STOP_NONE
        && atomic_load_explicit(&evc->conns, memory_order_relaxed) == 0) {
        pthread_cond_broadcast(&evc->drained);
    }
    ev_child_update_accepting(evc);
    pthread_mutex_unlock(&evc->lock);
    if (ec != NULL) {
        conn_free(ec);
    }
}


void
ev_conn_unused(ev_conn_t *ec)
{
    ev_child_t *evc = ec->evc;
    int kept;

    /* A failed accept allocated nothing from the pool. */
    pthread_mutex_lock(&evc->lock);
    kept = keep_locked(evc, ec);
    pthread_mutex_unlock(&evc->lock);
    if (!kept) {
        conn_free(ec);
    }
}


static uint64_t
ms_of(apr_interval_time_t t)
{
    return (uint64_t) apr_time_as_msec(t);
}


/* Under the lock: arms `ec`'s deadline `ms` from now, in the lane for that
 * length when there is one. */
static void
arm_in(ev_child_t *evc, ev_conn_t *ec, uint64_t ms, uint64_t now)
{
    int lane = loom_timerq_lane(&evc->timers, ms);

    if (lane >= 0) {
        loom_timerq_start_lane(&evc->timers, &ec->timer, lane, now);
    }
    else {
        loom_timerq_start_at(&evc->timers, &ec->timer, now + ms);
    }
}


/* When a head still waiting without a thread has had its time: Timeout
 * from the start of the wait, or mod_reqtimeout's header stage if that
 * ends first (event_headtime.h). */
static uint64_t
head_deadline(const ev_conn_t *ec)
{
    uint64_t stage = ev_headtime_due(ev_headtime_of(ec->c->base_server),
                                     ec->head_since, ec->head_peeked);

    return stage < ec->head_due ? stage : ec->head_due;
}


/* Under the lock: the deadline of parked state `s`. */
static void
arm_for_state(ev_child_t *evc, ev_conn_t *ec, uint64_t now)
{
    server_rec *s = ec->c->base_server;

    switch (ec->state) {
    case EV_KEEPALIVE:
        if (atomic_load_explicit(&evc->stopping, memory_order_acquire)
            != LOOM_STOP_NONE) {
            loom_timerq_start_lane(&evc->timers, &ec->timer, evc->drain_lane,
                                   now);
        }
        else {
            arm_in(evc, ec, ms_of(s->keep_alive_timeout), now);
        }
        break;
    case EV_HEAD:
        /* Timeout bounds the whole head, set when its wait begins: per
         * byte, a client trickling one a second would hold on for ever. */
        if (ec->head_due == 0) {
            ec->head_since = now;
            ec->head_due = now + ms_of(s->timeout);
        }
        loom_timerq_start_lane_at(&evc->timers, &ec->timer,
                                  ms_of(s->timeout) == evc->timers.lane_ms[
                                      evc->head_lane] ? evc->head_lane : -1,
                                  head_deadline(ec));
        break;
    case EV_WRITE:
    case EV_WAITIO:
        arm_in(evc, ec, ms_of(s->timeout), now);
        break;
    case EV_LINGER:
        loom_timerq_start_lane_at(&evc->timers, &ec->timer,
                                  ec->linger_due > now + EV_SHORT_LINGER_MS
                                  ? evc->linger_lane : evc->short_linger_lane,
                                  ec->linger_due);
        break;
    case EV_PROCESS:
    case EV_SUSPENDED:
    case EV_CLOSED:
        break;
    }
    if (ec->timer.due < evc->hk_due) {
        pthread_cond_signal(&evc->tick);   /* earlier than it planned */
    }
}


static unsigned
interest_of(const ev_conn_t *ec)
{
    switch (ec->cs.sense) {
    case CONN_SENSE_WANT_READ:  return LOOM_POLL_IN;
    case CONN_SENSE_WANT_WRITE: return LOOM_POLL_OUT;
    case CONN_SENSE_DEFAULT:    break;
    }
    return ec->state == EV_WRITE ? LOOM_POLL_OUT : LOOM_POLL_IN;
}


/* Under the lock: parks `ec` in its current state. The deadline goes in
 * before the descriptor is armed, so that the one event always finds it. */
static void
park_locked(ev_conn_t *ec)
{
    ev_child_t *evc = ec->evc;
    unsigned ev = interest_of(ec);
    int rc;

    ec->cs.sense = CONN_SENSE_DEFAULT;   /* consumed once, as stock */
    ec->woken = 0;
    ec->expired = 0;
    if (ec->c != NULL) {
        ec->c->sbh = NULL;
    }
    arm_for_state(evc, ec, ev_now_ms());
    count_change(evc, ec->state, +1);
    rc = ec->registered
         ? loom_poller_mod(evc->poller, &ec->watch, ev, LOOM_ARM_ONESHOT)
         : loom_poller_add(evc->poller, &ec->watch, ev, LOOM_ARM_ONESHOT);
    ec->registered = 1;
    if (rc != 0) {
        /* Cannot wait for it: let the deadline close it right away. */
        ec->expired = 1;
        loom_timerq_stop(&evc->timers, &ec->timer);
        loom_timerq_start_at(&evc->timers, &ec->timer, 0);
    }
}


static void
park(ev_conn_t *ec)
{
    /* Modules hear that the connection leaves its thread only once their
     * code ran on it, and hear of its return the next time it does. */
    if (ec->started && !ec->hooks_out && ec->state != EV_LINGER) {
        ec->hooks_out = 1;
        ap_run_suspend_connection(ec->c, NULL);
    }
    pthread_mutex_lock(&ec->evc->lock);
    park_locked(ec);
    pthread_mutex_unlock(&ec->evc->lock);
}


void
ev_conn_expire(ev_conn_t *ec)
{
    ec->expired = 1;
    /* Makes the one event fire; whoever gets it closes the connection. */
    shutdown(ec->watch.fd, SHUT_RDWR);
}


/* Picks the lingering closes among the deadlines to shorten, and keeps
 * their own record of the deadline in step (`ctx`: the new one). */
static int
pick_lingering(void *ctx, loom_timer_t *t)
{
    ev_conn_t *ec = loom_list_entry(t, ev_conn_t, timer);

    if (ec->state != EV_LINGER) {
        return 0;
    }
    ec->linger_due = *(const uint64_t *) ctx;
    return 1;
}


/* Under the lock: lingering closes of a stopping child end within the
 * short linger time, as stock does. Cost (loom_timerq_shorten): the
 * deadlines due later than that in each lane, plus the heap, once. */
static void
shorten_lingering(ev_child_t *evc, uint64_t now)
{
    uint64_t due = now + EV_SHORT_LINGER_MS;

    loom_timerq_shorten(&evc->timers, evc->short_linger_lane, now,
                        pick_lingering, &due);
}


void
ev_conn_shorten_keepalive(ev_child_t *evc)
{
    uint64_t now = ev_now_ms();
    uint64_t drain_due = now + evc->timers.lane_ms[evc->drain_lane];
    int lane;

    for (lane = 0; lane < evc->timers.nlanes; lane++) {
        loom_list_t *head = &evc->timers.lanes[lane];
        loom_list_t *it = head->next;

        if (lane == evc->drain_lane) {
            continue;
        }
        /* A lane may hold several states' deadlines (the same length):
         * move only the keep-alive ones, and only those due later. */
        while (it != head) {
            loom_list_t *next = it->next;
            loom_timer_t *t = loom_list_entry(it, loom_timer_t, link);
            ev_conn_t *ec = loom_list_entry(t, ev_conn_t, timer);

            if (ec->state == EV_KEEPALIVE && t->due > drain_due) {
                loom_timerq_start_lane(&evc->timers, t, evc->drain_lane,
                                       now);
            }
            it = next;
        }
    }
    shorten_lingering(evc, now);
    pthread_cond_signal(&evc->tick);
}


static void
set_lowat(ev_conn_t *ec, int bytes)
{
    if (bytes != ec->lowat
        && setsockopt(ec->watch.fd, SOL_SOCKET, SO_RCVLOWAT, &bytes,
                      sizeof(bytes)) == 0) {
        ec->lowat = bytes;
    }
}


/* Whether the connection still speaks HTTP/1.x: once mod_http2 (or
 * another protocol) has taken it over, there is no request head to wait
 * for, and its thread mostly waits on its own. */
static int
speaks_http1(conn_rec *c)
{
    return strcmp(ap_get_protocol(c), AP_PROTOCOL_HTTP1) == 0;
}


/* Waits, without a thread, until the request head is all there: a client
 * that sends it slowly holds a few bytes of kernel buffer, not a thread.
 * TLS (the head is encrypted) and heads beyond the peek window are read by
 * the core on a thread, as stock does. */
static enum ev_state
head_step(ev_conn_t *ec)
{
    char buf[HEAD_PEEK];
    ssize_t n;

    if (ec->tls || !ec->evc->ch->st->cfg->wait_for_head
        || (ec->started && !speaks_http1(ec->c))
        || (!ec->started && !ev_headwait_first(ec->c->base_server))) {
        return EV_PROCESS;      /* HTTP/2 frames, or maybe not HTTP */
    }
    n = recv(ec->watch.fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return EV_CLOSED;          /* the client left */
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? EV_HEAD : EV_CLOSED;
    }
    if (ec->head_peeked > 0 && n <= ec->head_peeked) {
        /* Woken with nothing new: below its low-water mark only an end of
         * stream or an error makes a socket readable. Peeking again would
         * spin; httpd reads the partial head and answers or closes. */
        return EV_PROCESS;
    }
    if (buf[0] == 0x16) {          /* a TLS handshake record */
        ec->tls = 1;
        return EV_PROCESS;
    }
    if ((size_t) n == sizeof(buf)
        || ev_head_shape(buf, (size_t) n) != EV_HEAD_PARTIAL) {
        return EV_PROCESS;
    }
    /* Peeking leaves the bytes in the socket, so the socket stays
     * readable: without this the one-shot wait would fire again at once,
     * for ever. The low-water mark makes it fire on the next byte only. */
    set_lowat(ec, (int) n + 1);
    ec->head_peeked = (int) n;
    return EV_HEAD;
}


static enum ev_state
state_after_hooks(const ev_conn_t *ec, int rc)
{
    if ((rc != OK && rc != DONE) || ec->c->aborted) {
        return EV_LINGER;
    }
    switch (ec->cs.state) {
    case CONN_STATE_KEEPALIVE:          /* modules mean "flush first" */
    case CONN_STATE_WRITE_COMPLETION:
        return EV_WRITE;
    case CONN_STATE_ASYNC_WAITIO:
        return EV_WAITIO;
    case CONN_STATE_SUSPENDED:
        return EV_SUSPENDED;
    case CONN_STATE_LINGER:
    case CONN_STATE_LINGER_NORMAL:
    case CONN_STATE_LINGER_SHORT:
        return EV_LINGER;
    case CONN_STATE_PROCESSING:         /* nobody said what comes next */
    case CONN_STATE_HANDLER:
    case CONN_STATE_NUM:
        break;
    }
    return EV_LINGER;
}


/* Whether serving this connection now mostly means waiting for someone
 * else, so that its thread should stop counting against the gate at once
 * (ev_gate_step_aside) rather than after the housekeeper's next look:
 * - a TLS handshake waits for the client's second flight; when a crowd of
 *   clients connects at once, counted handshakes went one per housekeeper
 *   round (2 ms), and the last client of fifty waited some 300 ms for it;
 * - the main connection of an HTTP/2 session sleeps in mod_http2's poll
 *   while its streams run on mod_http2's threads. */
static int
waits_on_its_own(const ev_conn_t *ec)
{
    if (!ec->started) {
        return ec->tls || ap_ssl_conn_is_ssl(ec->c);
    }
    return !speaks_http1(ec->c);
}


static enum ev_state
process_step(ev_thread_t *t, ev_conn_t *ec)
{
    conn_rec *c = ec->c;
    int rc = OK;

    set_lowat(ec, 1);         /* httpd's own reads take what there is */
    ec->head_peeked = 0;      /* the next head starts afresh */
    ec->head_due = 0;

    c->sbh = t->sbh;
    c->current_thread = t->lt->thread;
    if (ec->hooks_out) {
        ec->hooks_out = 0;
        ap_run_resume_connection(c, NULL);
    }
    if (!c->aborted && waits_on_its_own(ec)) {
        ev_gate_step_aside(&ec->evc->gate, t->id);
    }
    ec->started = 1;
    if (!c->aborted) {
        ec->cs.state = CONN_STATE_PROCESSING;
        atomic_store_explicit(&t->lt->busy_fd, ec->watch.fd,
                              memory_order_relaxed);
        rc = ap_run_process_connection(c);
        atomic_store_explicit(&t->lt->busy_fd, -1, memory_order_relaxed);
    }
    return state_after_hooks(ec, rc);
}


/* Write completion: what the core's output filter kept is sent without
 * blocking, by calling that filter with no new data. */
static enum ev_state
write_step(ev_conn_t *ec)
{
    conn_rec *c = ec->c;

    if (c->data_in_output_filters) {
        ap_filter_t *f = c->output_filters;

        while (f->next != NULL) {
            f = f->next;
        }
        if (f->frec->filter_func.out_func(f, NULL) != APR_SUCCESS) {
            return EV_LINGER;
        }
    }
    if (c->data_in_output_filters || ec->cs.sense == CONN_SENSE_WANT_READ) {
        return EV_WRITE;
    }
    if (c->keepalive != AP_CONN_KEEPALIVE || c->aborted) {
        return EV_LINGER;
    }
    if (c->data_in_input_filters) {
        return EV_PROCESS;         /* a pipelined request is buffered */
    }
    return EV_KEEPALIVE;
}


static enum ev_state
linger_step(ev_conn_t *ec)
{
    conn_rec *c = ec->c;
    char buf[2048];
    int reads;

    if (!ec->lingering) {
        int brief = apr_table_get(c->notes, "short-lingering-close") != NULL
                    || atomic_load_explicit(&ec->evc->stopping,
                                            memory_order_acquire)
                       != LOOM_STOP_NONE;

        ec->lingering = 1;
        /* The last flush may wait a little, never a thread's lifetime. */
        apr_socket_timeout_set(ec->sock, apr_time_from_sec(2));
        if (ap_start_lingering_close(c)) {
            return EV_CLOSED;
        }
        apr_socket_timeout_set(ec->sock, 0);
        ec->linger_due = ev_now_ms() + (brief ? EV_SHORT_LINGER_MS
                                              : EV_LINGER_MS);
    }
    for (reads = 0; reads < 16; reads++) {
        apr_size_t len = sizeof(buf);
        apr_status_t rv = apr_socket_recv(ec->sock, buf, &len);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            return EV_LINGER;
        }
        if (rv != APR_SUCCESS || len == 0) {
            return EV_CLOSED;
        }
    }
    return EV_LINGER;              /* a flood: let others run first */
}


static void
suspend(ev_conn_t *ec)
{
    ev_child_t *evc = ec->evc;

    if (!ec->hooks_out) {
        ec->hooks_out = 1;
        ap_run_suspend_connection(ec->c, NULL);
    }
    ec->c->sbh = NULL;
    pthread_mutex_lock(&evc->lock);
    count_change(evc, EV_SUSPENDED, +1);
    loom_list_append(&evc->suspended, &ec->link);
    pthread_mutex_unlock(&evc->lock);
}


void
ev_conn_resume_suspended(ev_child_t *evc)
{
    loom_list_t *it = evc->suspended.next;
    int quiet = evc->callbacks.armed == 0 && evc->cb_head == NULL
                && evc->cb_running == 0;

    while (it != &evc->suspended) {
        ev_conn_t *ec = loom_list_entry(it, ev_conn_t, link);

        it = it->next;
        if (ec->cs.state == CONN_STATE_SUSPENDED
            && !(quiet && ec->c->aborted)) {
            continue;
        }
        /* The module finished its response (mod_dialup does so from a
         * timed callback), or gave up on a client that is gone: the
         * connection is ours again (write completion sees c->aborted and
         * closes it). */
        loom_list_remove(&ec->link);
        count_change(evc, EV_SUSPENDED, -1);
        ec->state = EV_WRITE;
        ec->cs.sense = CONN_SENSE_WANT_WRITE;
        park_locked(ec);
    }
}


/* Runs `ec` on this thread until it parks, is suspended or closes. */
static void
run(ev_thread_t *t, ev_conn_t *ec)
{
    for (;;) {
        enum ev_state next = EV_CLOSED;

        switch (ec->state) {
        case EV_HEAD:      next = head_step(ec);                      break;
        case EV_PROCESS:   next = process_step(t, ec);                break;
        case EV_WRITE:     next = write_step(ec);                     break;
        case EV_KEEPALIVE: next = ec->woken ? EV_HEAD : EV_KEEPALIVE; break;
        case EV_WAITIO:    next = ec->woken ? EV_PROCESS : EV_WAITIO; break;
        case EV_LINGER:    next = linger_step(ec);                    break;
        case EV_SUSPENDED: suspend(ec);                               return;
        case EV_CLOSED:    conn_put(ec);                              return;
        }
        if (next == ec->state) {
            park(ec);          /* an event or its deadline resumes it */
            return;
        }
        ec->state = next;
        ec->woken = 0;
    }
}


/* A head closed by mod_reqtimeout's header stage (not by Timeout, nor by
 * a poller that could not take it) is said so, as the module would. */
static void
log_head_stage_end(const ev_conn_t *ec)
{
    uint64_t due = head_deadline(ec);

    if (due < ec->head_due && ev_now_ms() >= due) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, ec->c, LOOMNO(1204)
                      "request head not complete after %d s "
                      "(RequestReadTimeout header), closing",
                      (int) ((due - ec->head_since) / 1000));
    }
}


void
ev_conn_ready(ev_thread_t *t, ev_conn_t *ec, unsigned ev)
{
    ev_child_t *evc = ec->evc;
    int expired;

    pthread_mutex_lock(&evc->lock);
    expired = ec->expired;
    loom_timerq_stop(&evc->timers, &ec->timer);
    count_change(evc, ec->state, -1);
    pthread_mutex_unlock(&evc->lock);
    ec->woken = 1;
    if (expired) {
        /* Timed out: a keep-alive or head wait just ends; a stalled write
         * or a lingering close ends too, the socket is already shut. */
        if (ec->state == EV_HEAD) {
            log_head_stage_end(ec);
        }
        ec->state = EV_CLOSED;
    }
    run(t, ec);
}


void
ev_conn_accepted(ev_thread_t *t, ev_conn_t *ec)
{
    ev_child_t *evc = t->evc;
    apr_os_sock_t fd;
    conn_rec *c;

    apr_os_sock_get(&fd, ec->sock);
    ec->ba = apr_bucket_alloc_create(ec->ptrans);
    ec->watch.fd = fd;
    ec->id = evc->ch->slot * 1048576L
             + atomic_fetch_add_explicit(&evc->next_id, 1,
                                         memory_order_relaxed)
               % 1048576L;
    memset(&ec->cs, 0, sizeof(ec->cs));
    c = ap_run_create_connection(ec->ptrans, ap_server_conf, ec->sock, ec->id,
                                 t->sbh, ec->ba);
    if (c == NULL) {
        ec->state = EV_CLOSED;
        run(t, ec);
        return;
    }
    ec->c = c;
    ap_set_module_config(c->conn_config, &mpm_loom_event_module, ec);
    c->cs = &ec->cs;
    c->current_thread = t->lt->thread;
    ap_update_vhost_given_ip(c);
    ap_pre_connection(c, ec->sock);     /* marks c->aborted on failure */
    ec->cs.state = CONN_STATE_PROCESSING;
    ec->state = c->aborted ? EV_LINGER : EV_HEAD;
    run(t, ec);
}
