/* One connection's life in the engine: an explicit state machine over
 * loom_conn_state_e (loom/conn_state.h), whose one writer is enter(). See
 * loom/engine.h for who owns a connection when. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

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

#include "loom/config.h"
#include "loom/headtime.h"
#include "loom/headwait.h"
#include "loom/log.h"
#include "loom/tags.h"
#include "engine_int.h"

#define HEAD_PEEK 8192          /* bytes of a request head we wait for */


/* The only writer of c->state. A move the state machine does not make is
 * a bug in it: the child stops there, and the parent says so. Entering a
 * head or handshake wait starts its clock: Timeout bounds the whole wait,
 * not each byte, or a client trickling one a second would hold on for
 * ever. */
static void
enter(loom_conn_t *c, loom_conn_state_e next)
{
    ap_assert(loom_conn_move_ok(c->state, next));
    c->state = next;
    c->woken = 0;
    if (next == LOOM_CONN_HEAD || next == LOOM_CONN_HANDSHAKE) {
        c->wait_since = loom_now_ms();
        c->wait_due = c->wait_since
                      + (uint64_t) apr_time_as_msec(c->c->base_server->timeout);
    }
}


static void
set_lowat(loom_conn_t *c, int bytes)
{
    if (bytes != c->lowat
        && setsockopt(c->watch.fd, SOL_SOCKET, SO_RCVLOWAT, &bytes,
                      sizeof(bytes)) == 0) {
        c->lowat = bytes;
    }
}


/* Peeks at what the client has sent so far, leaving it in the socket.
 * Returns how many bytes, or -1 with `*then` set: the same wait while
 * nothing has come, CLOSED when the client left or the socket failed,
 * PROCESS when woken with nothing new (below its low-water mark only an
 * end of stream or an error makes a socket readable: peeking again would
 * spin, so httpd reads what there is and answers or closes). */
static ssize_t
peek_client(loom_conn_t *c, char *buf, size_t size, loom_conn_state_e *then)
{
    ssize_t n = recv(c->watch.fd, buf, size, MSG_PEEK | MSG_DONTWAIT);

    if (n > 0 && (c->head_peeked == 0 || n > c->head_peeked)) {
        return n;
    }
    if (n > 0) {
        *then = LOOM_CONN_PROCESS;
    }
    else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        *then = c->state;
    }
    else {
        *then = LOOM_CONN_CLOSED;
    }
    return -1;
}


/* The `n` bytes peeked are not enough: the connection waits for the next
 * one. Peeking leaves the bytes in the socket, so the socket stays
 * readable and the one-shot wait would fire again at once, for ever; the
 * low-water mark makes it fire on the next byte only. */
static loom_conn_state_e
wait_for_more(loom_conn_t *c, ssize_t n)
{
    set_lowat(c, (int) n + 1);
    c->head_peeked = (int) n;
    return c->state;
}


/* Whether the connection still speaks HTTP/1.x: once mod_http2 (or
 * another protocol) has taken it over, there is no request head to wait
 * for, and its thread mostly waits on its own. */
static int
speaks_http1(conn_rec *c)
{
    return strcmp(ap_get_protocol(c), AP_PROTOCOL_HTTP1) == 0;
}


/* What the head so far is, under the limits httpd reads it with: the
 * connection's server's, as the head names no other yet. */
static loom_head_shape_e
shape(const loom_conn_t *c, const char *buf, size_t n)
{
    return loom_head_shape(buf, n, c->c->base_server->limit_req_fields);
}


/* A TLS head: the decrypted bytes are pulled ahead of httpd, without
 * waiting (loom/readahead.h), until they are a whole head or cannot be
 * one, or nothing more has come. A client that closed or broke its TLS
 * leaves what it sent to httpd, or nothing to do. */
static loom_conn_state_e
tls_head_step(loom_engine_thread_t *t, loom_conn_t *c)
{
    char buf[HEAD_PEEK];

    c->c->sbh = t->sbh;
    c->c->current_thread = t->lt->thread;
    for (;;) {
        apr_off_t before = c->ra.len;
        apr_status_t rv = loom_readahead_pull(&c->ra, HEAD_PEEK);
        apr_size_t n;

        if (rv != APR_SUCCESS) {
            return c->ra.len > 0 ? LOOM_CONN_PROCESS : LOOM_CONN_CLOSED;
        }
        n = loom_readahead_peek(&c->ra, buf, sizeof(buf));
        if (n == sizeof(buf) || (n > 0 && shape(c, buf, n)
                                          != LOOM_HEAD_PARTIAL)) {
            return LOOM_CONN_PROCESS;
        }
        if (c->ra.len == before) {
            c->head_peeked = (int) n;
            return LOOM_CONN_HEAD;
        }
    }
}


/* Whether a plain head may wait for its client without a thread: not
 * where a protocol module may take a new connection and speak first, nor
 * once a connection speaks something other than HTTP/1. */
static int
head_waits(const loom_conn_t *c)
{
    return !c->tls && c->engine->ch->st->cfg->wait_for_head
           && (c->started ? speaks_http1(c->c)
                          : loom_headwait_first(c->c->base_server));
}


/* Waits, without a thread, until the request head is all there: a client
 * that sends it slowly holds a few bytes of kernel buffer, not a thread.
 * A TLS head is read ahead through mod_ssl instead (tls_head_step); heads
 * beyond the peek window are read by the core on a thread, as stock
 * does. */
static loom_conn_state_e
head_step(loom_engine_thread_t *t, loom_conn_t *c)
{
    char buf[HEAD_PEEK];
    loom_conn_state_e then;
    ssize_t n;

    if (c->ra_on && speaks_http1(c->c)) {
        return tls_head_step(t, c);
    }
    if (!head_waits(c)) {
        return LOOM_CONN_PROCESS;   /* HTTP/2 frames, or maybe not HTTP */
    }
    n = peek_client(c, buf, sizeof(buf), &then);
    if (n < 0) {
        return then;
    }
    if (buf[0] == 0x16) {           /* a TLS handshake record */
        c->tls = 1;
        return LOOM_CONN_PROCESS;
    }
    if ((size_t) n == sizeof(buf)
        || shape(c, buf, (size_t) n) != LOOM_HEAD_PARTIAL) {
        return LOOM_CONN_PROCESS;
    }
    return wait_for_more(c, n);
}


/* Before mod_ssl reads anything: a client that speaks TLS starts with a
 * handshake record (0x16), and its handshake goes on here. One that sends
 * something else (plain HTTP to the TLS port) goes to the hooks once the
 * 5 bytes OpenSSL needs to tell HTTP are there, so that mod_ssl's hook
 * answers it with its 400 as under stock (a handshake step of ours would
 * take the request line mod_ssl makes up for that answer); until then it
 * waits here, as a head would. */
static loom_conn_state_e
handshake_first_bytes(loom_conn_t *c)
{
    char buf[5];
    loom_conn_state_e then;
    ssize_t n = peek_client(c, buf, sizeof(buf), &then);

    if (n < 0) {
        return then;
    }
    if (buf[0] == 0x16) {
        c->hs_begun = 1;
        return LOOM_CONN_HANDSHAKE;
    }
    if ((size_t) n == sizeof(buf)) {
        return LOOM_CONN_PROCESS;   /* enough to tell */
    }
    return wait_for_more(c, n);
}


/* Advances a TLS handshake as far as the bytes that arrived allow, without
 * waiting for more (docs/research/mod_ssl-handshake.md): mod_ssl answers
 * EAGAIN when OpenSSL wants more of the client. Its callbacks (SNI, ALPN,
 * session resumption, client certificates) run inside the call. */
static loom_conn_state_e
handshake_step(loom_engine_thread_t *t, loom_conn_t *c)
{
    conn_rec *cr = c->c;
    apr_status_t rv;

    if (!c->hs_begun) {
        loom_conn_state_e first = handshake_first_bytes(c);

        if (first != LOOM_CONN_HANDSHAKE || !c->hs_begun) {
            return first;
        }
    }
    cr->sbh = t->sbh;
    cr->current_thread = t->lt->thread;
    if (c->engine->about_to_serve != NULL) {
        c->engine->about_to_serve(t, 0);    /* OCSP stapling may block */
    }
    atomic_store_explicit(&t->lt->busy_fd, c->watch.fd, memory_order_relaxed);
    rv = loom_readahead_handshake(&c->ra);
    atomic_store_explicit(&t->lt->busy_fd, -1, memory_order_relaxed);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return LOOM_CONN_HANDSHAKE;
    }
    if (rv == APR_SUCCESS && speaks_http1(cr)) {
        return LOOM_CONN_HEAD;      /* done: its head waits without a thread */
    }
    if (rv == APR_SUCCESS || (!cr->aborted && !ap_ssl_conn_is_ssl(cr))) {
        /* Done, h2 chosen; or plain HTTP on a TLS port, which mod_ssl's
         * hook answers with its 400, as under stock. */
        return LOOM_CONN_PROCESS;
    }
    /* mod_ssl said why. A lingering close would flush through its filter,
     * which would try the handshake again, blocking. */
    cr->aborted = 1;
    return LOOM_CONN_CLOSED;
}


/* Whether serving this connection now mostly means waiting for someone
 * else, so that the model may let its thread stop counting at once:
 * - a TLS handshake waits for the client's second flight;
 * - the main connection of an HTTP/2 session sleeps in mod_http2's poll
 *   while its streams run on mod_http2's threads. */
static int
waits_on_its_own(const loom_conn_t *c)
{
    if (!c->started) {
        return c->tls || ap_ssl_conn_is_ssl(c->c);
    }
    return !speaks_http1(c->c);
}


static loom_conn_state_e
process_step(loom_engine_thread_t *t, loom_conn_t *c)
{
    conn_rec *cr = c->c;
    int rc = OK;

    set_lowat(c, 1);          /* httpd's own reads take what there is */
    c->head_peeked = 0;       /* the next head starts afresh */
    c->wait_due = 0;

    cr->sbh = t->sbh;
    cr->current_thread = t->lt->thread;
    if (c->hooks_out) {
        c->hooks_out = 0;
        ap_run_resume_connection(cr, NULL);
    }
    if (!cr->aborted && c->engine->about_to_serve != NULL) {
        c->engine->about_to_serve(t, waits_on_its_own(c));
    }
    c->started = 1;
    if (!cr->aborted) {
        c->cs.state = CONN_STATE_PROCESSING;
        atomic_store_explicit(&t->lt->busy_fd, c->watch.fd,
                              memory_order_relaxed);
        rc = ap_run_process_connection(cr);
        atomic_store_explicit(&t->lt->busy_fd, -1, memory_order_relaxed);
    }
    return loom_conn_after_hooks(rc, c->cs.state, cr->aborted);
}


/* Write completion: what the core's output filter kept is sent without
 * blocking, by calling that filter with no new data. */
static loom_conn_state_e
write_step(loom_conn_t *c)
{
    conn_rec *cr = c->c;

    if (cr->data_in_output_filters) {
        ap_filter_t *f = cr->output_filters;

        while (f->next != NULL) {
            f = f->next;
        }
        if (f->frec->filter_func.out_func(f, NULL) != APR_SUCCESS) {
            return LOOM_CONN_LINGER;
        }
    }
    if (cr->data_in_output_filters || c->cs.sense == CONN_SENSE_WANT_READ) {
        return LOOM_CONN_WRITE;
    }
    if (cr->keepalive != AP_CONN_KEEPALIVE || cr->aborted) {
        return LOOM_CONN_LINGER;
    }
    if (cr->data_in_input_filters) {
        return LOOM_CONN_PROCESS;   /* a pipelined request is buffered */
    }
    return LOOM_CONN_KEEPALIVE;
}


static loom_conn_state_e
linger_step(loom_conn_t *c)
{
    char buf[2048];
    int reads;

    if (!c->lingering) {
        int brief = apr_table_get(c->c->notes, "short-lingering-close") != NULL
                    || atomic_load_explicit(&c->engine->stopping,
                                            memory_order_acquire)
                       != LOOM_STOP_NONE;

        c->lingering = 1;
        /* The last flush may wait a little, never a thread's lifetime. */
        apr_socket_timeout_set(c->sock, apr_time_from_sec(2));
        if (ap_start_lingering_close(c->c)) {
            return LOOM_CONN_CLOSED;
        }
        apr_socket_timeout_set(c->sock, 0);
        c->linger_due = loom_now_ms() + (brief ? LOOM_SHORT_LINGER_MS
                                               : LOOM_LINGER_MS);
    }
    for (reads = 0; reads < 16; reads++) {
        apr_size_t len = sizeof(buf);
        apr_status_t rv = apr_socket_recv(c->sock, buf, &len);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            return LOOM_CONN_LINGER;
        }
        if (rv != APR_SUCCESS || len == 0) {
            return LOOM_CONN_CLOSED;
        }
    }
    return LOOM_CONN_LINGER;        /* a flood: let others run first */
}


/* One step of `c` in its state, on thread `t`: the state it goes to. A
 * parked state whose event has not come stays (the caller parks it). */
static loom_conn_state_e
step(loom_engine_thread_t *t, loom_conn_t *c)
{
    switch (c->state) {
    case LOOM_CONN_HANDSHAKE: return handshake_step(t, c);
    case LOOM_CONN_HEAD:      return head_step(t, c);
    case LOOM_CONN_PROCESS:   return process_step(t, c);
    case LOOM_CONN_WRITE:     return write_step(c);
    case LOOM_CONN_KEEPALIVE: return c->woken ? LOOM_CONN_HEAD
                                              : LOOM_CONN_KEEPALIVE;
    case LOOM_CONN_WAITIO:    return c->woken ? LOOM_CONN_PROCESS
                                              : LOOM_CONN_WAITIO;
    case LOOM_CONN_LINGER:    return linger_step(c);
    case LOOM_CONN_SUSPENDED:
    case LOOM_CONN_CLOSED:
        break;
    }
    return c->state;
}


/* Runs `c` on this thread until it parks, is suspended or closes. */
static void
run(loom_engine_thread_t *t, loom_conn_t *c)
{
    for (;;) {
        loom_conn_state_e next;

        switch (c->state) {
        case LOOM_CONN_SUSPENDED:
            loom_engine_suspend(c);
            return;
        case LOOM_CONN_CLOSED:
            loom_engine_conn_put(c);
            return;
        case LOOM_CONN_HANDSHAKE:
        case LOOM_CONN_HEAD:
        case LOOM_CONN_PROCESS:
        case LOOM_CONN_WRITE:
        case LOOM_CONN_KEEPALIVE:
        case LOOM_CONN_WAITIO:
        case LOOM_CONN_LINGER:
            break;
        }
        next = step(t, c);
        if (next == c->state) {
            if (loom_engine_park(c) == 0) {
                return;         /* an event or its deadline resumes it */
            }
            next = LOOM_CONN_CLOSED;   /* it could not wait: it ends */
        }
        if (next == LOOM_CONN_PROCESS && c->state == LOOM_CONN_WRITE
            && c->engine->one_thread) {
            /* Its next request is already read in: no event will come for
             * it, so it waits its turn here (engine.h). */
            enter(c, next);
            loom_list_append(&c->engine->turns, &c->link);
            return;
        }
        enter(c, next);
    }
}


void
loom_engine_take_turns(loom_engine_thread_t *t)
{
    loom_list_t round;

    loom_list_init(&round);
    while (!loom_list_empty(&t->engine->turns)) {
        loom_list_t *it = t->engine->turns.next;

        loom_list_remove(it);
        loom_list_append(&round, it);
    }
    while (!loom_list_empty(&round)) {
        loom_conn_t *c = loom_list_entry(round.next, loom_conn_t, link);

        loom_list_remove(&c->link);
        run(t, c);
    }
}


/* A head or handshake closed by one of mod_reqtimeout's stages (not by
 * Timeout) is said so, as the module would. */
static void
log_stage_end(const loom_conn_t *c)
{
    uint64_t due = loom_engine_wait_deadline(c);
    int s = (int) ((due - c->wait_since) / 1000);

    if (due >= c->wait_due || loom_now_ms() < due) {
        return;
    }
    if (c->state == LOOM_CONN_HANDSHAKE) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c->c, LOOMNO(0604)
                      "TLS handshake not complete after %d s "
                      "(RequestReadTimeout handshake), closing", s);
    }
    else {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c->c, LOOMNO(1204)
                      "request head not complete after %d s "
                      "(RequestReadTimeout header), closing", s);
    }
}


void
loom_engine_ready(loom_engine_thread_t *t, loom_conn_t *c, unsigned ev)
{
    loom_engine_resume(t, c, loom_engine_unpark(c));
}


void
loom_engine_resume(loom_engine_thread_t *t, loom_conn_t *c, int expired)
{
    loom_engine_taken(c);

    c->woken = 1;
    if (expired) {
        /* Timed out: a keep-alive or head wait just ends; a stalled write
         * or a lingering close ends too, the socket is already shut. */
        if (c->state == LOOM_CONN_HEAD || c->state == LOOM_CONN_HANDSHAKE) {
            log_stage_end(c);
        }
        if (c->state == LOOM_CONN_HANDSHAKE) {
            c->c->aborted = 1;   /* mod_ssl's cleanup must not write */
        }
        enter(c, LOOM_CONN_CLOSED);
    }
    run(t, c);
}


void
loom_engine_let_go(loom_conn_t *c)
{
    /* Its deadline is off and nothing was shut down: closing our
     * descriptor leaves the connection to the process that has the other. */
    loom_engine_taken(c);
    enter(c, LOOM_CONN_CLOSED);
    loom_engine_conn_put(c);
}


/* Makes c->sock a connection of httpd's and picks its first state (a
 * plain one that was `between` two requests elsewhere waits as keep-alive
 * does); -1 when httpd made none (the record went back). */
static int
open_accepted(loom_engine_thread_t *t, loom_conn_t *c, int between)
{
    loom_engine_t *e = t->engine;
    apr_os_sock_t fd;
    conn_rec *cr;

    apr_os_sock_get(&fd, c->sock);
    c->ba = apr_bucket_alloc_create(c->ptrans);
    c->watch.fd = fd;
    c->id = e->ch->slot * 1048576L
            + atomic_fetch_add_explicit(&e->next_id, 1, memory_order_relaxed)
              % 1048576L;
    memset(&c->cs, 0, sizeof(c->cs));
    cr = ap_run_create_connection(c->ptrans, ap_server_conf, c->sock, c->id,
                                  t->sbh, c->ba);
    if (cr == NULL) {
        loom_engine_conn_put(c);
        return -1;
    }
    c->c = cr;
    if (e->one_thread) {
        loom_list_append(&e->open, &c->open_link);
    }
    ap_set_module_config(cr->conn_config, loom_mpm_ops()->module, c);
    cr->cs = &c->cs;
    cr->current_thread = t->lt->thread;
    ap_update_vhost_given_ip(cr);
    ap_pre_connection(cr, c->sock);     /* marks c->aborted on failure */
    c->cs.state = CONN_STATE_PROCESSING;
    if (cr->aborted) {
        enter(c, LOOM_CONN_LINGER);
    }
    else if (e->ch->st->cfg->wait_for_head && ap_ssl_conn_is_ssl(cr)
             && loom_headwait_first(cr->base_server)) {
        c->tls = 1;                     /* mod_ssl serves this address */
        loom_readahead_add(&c->ra, cr);
        c->ra_on = 1;
        enter(c, LOOM_CONN_HANDSHAKE);
    }
    else {
        enter(c, between ? LOOM_CONN_KEEPALIVE : LOOM_CONN_HEAD);
    }
    return 0;
}


void
loom_engine_accepted(loom_engine_thread_t *t, loom_conn_t *c)
{
    if (open_accepted(t, c, 0) == 0) {
        run(t, c);
    }
}


void
loom_engine_adopted(loom_engine_thread_t *t, loom_conn_t *c, int between)
{
    if (open_accepted(t, c, between) == 0) {
        run(t, c);
    }
}


/* Whether `c`'s client has sent something (or left): its event is due
 * now, not when a slow or silent client gets round to it. */
static int
client_has_spoken(const loom_conn_t *c)
{
    char b;

    return recv(c->watch.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0
           || (errno != EAGAIN && errno != EWOULDBLOCK);
}


void
loom_engine_accepted_later(loom_engine_thread_t *t, loom_conn_t *c)
{
    int due_now;

    if (open_accepted(t, c, 0) != 0) {
        return;
    }
    if (c->state == LOOM_CONN_LINGER) {
        run(t, c);                      /* refused: closing costs nothing */
        return;
    }
    if (c->state == LOOM_CONN_HEAD && !head_waits(c)) {
        /* A new socket is writable at once: the next idle thread runs its
         * hooks, so a module that speaks first is not kept waiting behind
         * the others taken here. */
        c->cs.sense = CONN_SENSE_WANT_WRITE;
    }
    due_now = c->cs.sense == CONN_SENSE_WANT_WRITE || client_has_spoken(c);
    if (due_now) {
        /* Counted before it is armed: a thread may take it at once. */
        c->fresh = 1;
        atomic_fetch_add_explicit(&c->engine->fresh, 1, memory_order_relaxed);
    }
    if (loom_engine_park(c) != 0) {
        loom_engine_taken(c);
        enter(c, LOOM_CONN_CLOSED);     /* it could not wait: it ends */
        run(t, c);
    }
}


void
loom_engine_resume_suspended_locked(loom_engine_t *e, int quiet)
{
    loom_list_t *it = e->suspended.next;

    while (it != &e->suspended) {
        loom_conn_t *c = loom_list_entry(it, loom_conn_t, link);

        it = it->next;
        if (c->cs.state == CONN_STATE_SUSPENDED
            && !(quiet && c->c->aborted)) {
            continue;
        }
        /* The module finished its response (mod_dialup does so from a
         * timed callback), or gave up on a client that is gone: the
         * connection is ours again (write completion sees c->aborted and
         * closes it). */
        loom_engine_unsuspend_locked(c);
        enter(c, LOOM_CONN_WRITE);
        c->cs.sense = CONN_SENSE_WANT_WRITE;
        if (loom_engine_park_locked(c) != 0) {
            loom_engine_unarmed_locked(c);
        }
    }
}


void
loom_engine_close_unarmed(loom_engine_t *e)
{
    for (;;) {
        loom_conn_t *c = NULL;

        pthread_mutex_lock(&e->lock);
        if (!loom_list_empty(&e->unarmed)) {
            c = loom_list_entry(e->unarmed.next, loom_conn_t, link);
            loom_list_remove(&c->link);
        }
        pthread_mutex_unlock(&e->lock);
        if (c == NULL) {
            return;
        }
        enter(c, LOOM_CONN_CLOSED);
        loom_engine_conn_put(c);
    }
}
