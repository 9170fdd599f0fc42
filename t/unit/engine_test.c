/* The connection engine's steps on real loopback TCP connections
 * (modules/core/engine.c, engine_conn.c): the head wait without a thread,
 * TLS going straight to the hooks, parking between requests with its count
 * and deadline, expiry through the poller, pipelining, suspension, and the
 * closes. The real poller, timer queue, head rules and state rules run;
 * httpd's own functions are stubs that stand for the core's behaviour, and
 * the test plays the model's thread: it accepts, waits on the poller, hands
 * each event to loom_engine_ready and expires deadlines. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include "../../modules/core/conn_state.c"
#include "../../modules/core/timerq.c"
#include "../../modules/core/poll_epoll.c"
#include "../../modules/core/conftree.c"
#include "../../modules/core/number.c"
#include "../../modules/core/headwait.c"
#include "../../modules/core/headtime.c"
#include "../../modules/core/engine.c"
#include "../../modules/core/engine_conn.c"

#define KEEPALIVE_MS 5000
#define TIMEOUT_MS   60000
#define HEAD         "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

/* What the hooks and httpd's functions saw, for the tests to check. */
static struct {
    int               processed;   /* process_connection calls */
    int               suspended;   /* suspend_connection calls */
    int               resumed;     /* resume_connection calls */
    int               lingered;    /* ap_start_lingering_close calls */
    int               flushes;     /* the core output filter's calls */
    int               flushes_kept;/* ...that leave data behind */
    int               pre_fails;   /* pre_connection marks c->aborted */
    loom_conn_state_e in_hook;     /* the record's state in the last call */
    int               tls_in_hook;
    int               suspended_in_hook;
    loom_conn_state_e at_linger;
    int               ssl;         /* mod_ssl serves the address */
    int               hello_bytes; /* what the handshake needs to finish */
    int               hs_read;     /* what it has read so far */
    int               hs_calls;    /* non-blocking INIT reads made */
    int               hs_fails;    /* the client's bytes are no TLS */
    conn_rec         *conn;        /* the newest connection */
    const char       *tls_head;    /* decrypted bytes a TLS client sent */
    /* What the process_connection hooks do on the call-th call (from 1). */
    void            (*serve)(conn_rec *c, int call);
} seen;

/* The child, its engine and the model's one thread, as loom_event sets
 * them up; the listener and the client's end of the newest connection. */
static struct {
    apr_pool_t           *pool;
    server_rec            server;
    loom_cfg_t            cfg;
    loom_state_t          st;
    loom_child_t          ch;
    loom_poller_t        *poller;
    loom_engine_t         e;
    loom_thread_t         lt;
    loom_engine_thread_t  t;
    apr_socket_t         *listener;
    struct sockaddr_in    addr;
    int                   client;
} f;


/* --- What the engine needs from httpd, each standing for one thing. --- */

/* The loaded model: its module's per-server and per-connection slot 0. */
static module self;
static loom_mpm_ops_t ops = { .module = &self };

const loom_mpm_ops_t *
loom_mpm_ops(void)
{
    return &ops;
}


server_rec *ap_server_conf;         /* the main server */
apr_uint32_t ap_max_mem_free;       /* MaxMemFree 0: keep all, here */
ap_directive_t *ap_conftree;        /* an empty configuration */
static process_score score;         /* this child's scoreboard entry */

process_score *
ap_get_scoreboard_process(int x)
{
    return &score;
}


/* No process_connection hook of an unknown module: heads may be awaited. */
apr_array_header_t *
ap_hook_get_process_connection(void)
{
    return NULL;
}


/* The server runs (headwait.c logs unknown hooks only then). */
int
ap_state_query(int query)
{
    return AP_SQ_MS_RUN_MPM;
}


/* mod_reqtimeout is not loaded: only Timeout bounds a head. */
module *
ap_find_linked_module(const char *name)
{
    return NULL;
}


/* The error log: nothing here reads it. */
void
ap_log_error_(const char *file, int line, int index, int level,
              apr_status_t status, const server_rec *s, const char *fmt, ...)
{
}


void
ap_log_cerror_(const char *file, int line, int index, int level,
               apr_status_t status, const conn_rec *c, const char *fmt, ...)
{
}


/* An illegal move (enter()'s ap_assert) fails the test that made it. */
void
ap_log_assert(const char *what, const char *file, int line)
{
    printf("# assertion %s failed at %s:%d\n", what, file, line);
    fflush(stdout);
    abort();
}


/* httpd's calloc that aborts on no memory. */
void *
ap_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}


/* The core's create_connection: a conn_rec in the connection's pool. */
conn_rec *
ap_run_create_connection(apr_pool_t *p, server_rec *s, apr_socket_t *csd,
                         long id, void *sbh, apr_bucket_alloc_t *ba)
{
    conn_rec *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    c->base_server = s;
    c->id = id;
    c->sbh = sbh;
    c->bucket_alloc = ba;
    c->conn_config = apr_pcalloc(p, sizeof(void *));
    c->notes = apr_table_make(p, 1);
    return c;
}


/* Name-based vhosts: every connection stays with the main server. */
void
ap_update_vhost_given_ip(conn_rec *c)
{
}


/* The pre_connection hooks; a failing one marks the client gone. */
int
ap_pre_connection(conn_rec *c, void *csd)
{
    seen.conn = c;
    c->aborted = seen.pre_fails;
    return seen.pre_fails ? DONE : OK;
}


/* The protocol in use: nobody switched from HTTP/1.1. */
const char *
ap_get_protocol(conn_rec *c)
{
    return AP_PROTOCOL_HTTP1;
}


/* mod_ssl: it owns the connections of an address when the test says so,
 * until a failed handshake frees its state. */
int
ap_ssl_conn_is_ssl(conn_rec *c)
{
    return seen.ssl && !seen.hs_fails;
}


static loom_conn_t *record_of(const conn_rec *c);

/* The shared table mod_status reads (waits.c): what was published last. */
static int waits_published[2];

void
loom_figures_publish_waits(int slot, int handshakes, int heads)
{
    waits_published[0] = handshakes;
    waits_published[1] = heads;
}

/* The read-ahead filter (readahead.c, whose filter needs httpd's filter
 * chain): the decrypted bytes a TLS client has sent are `tls_head`, a
 * whole head unless a test says otherwise. */
static const char *
tls_head(void)
{
    return seen.tls_head != NULL ? seen.tls_head : HEAD;
}

void
loom_readahead_add(loom_readahead_t *ra, conn_rec *c)
{
    ra->len = 0;
}

apr_status_t
loom_readahead_pull(loom_readahead_t *ra, apr_off_t max)
{
    ra->len = (apr_off_t) strlen(tls_head());
    return APR_SUCCESS;
}

apr_size_t
loom_readahead_peek(const loom_readahead_t *ra, char *buf, apr_size_t n)
{
    apr_size_t len = strlen(tls_head());

    len = len < n ? len : n;
    memcpy(buf, tls_head(), len);
    return len;
}


/* TCP_INFO's count (tcpinfo.c cannot share this file: its kernel header
 * clashes with the C library's): what the handshake has read. */
uint64_t
loom_tcp_bytes_received(int fd)
{
    return (uint64_t) seen.hs_read;
}

/* mod_ssl's handshake, driven through the read-ahead filter without
 * blocking: it reads what has come and finishes once `hello_bytes` have;
 * EAGAIN until then; bytes that are no TLS end it, as mod_ssl ends it,
 * with the client marked gone. */
apr_status_t
loom_readahead_handshake(loom_readahead_t *ra)
{
    conn_rec *c = seen.conn;           /* the filters would know it */
    char buf[4096];
    ssize_t n;

    seen.hs_calls++;
    while ((n = recv(record_of(c)->watch.fd, buf, sizeof(buf),
                     MSG_DONTWAIT)) > 0) {
        seen.hs_read += (int) n;
    }
    if (seen.hs_fails) {
        c->aborted = 1;
        return APR_ECONNABORTED;
    }
    return seen.hs_read >= seen.hello_bytes ? APR_SUCCESS : APR_EAGAIN;
}


/* The engine's record of `c` (the model's per-connection slot). */
static loom_conn_t *
record_of(const conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &self);
}


/* The suspend_connection and resume_connection hooks: counted. */
void
ap_run_suspend_connection(conn_rec *c, request_rec *r)
{
    seen.suspended++;
}


void
ap_run_resume_connection(conn_rec *c, request_rec *r)
{
    seen.resumed++;
}


/* The process_connection hooks: what they saw, then what the test asks. */
int
ap_run_process_connection(conn_rec *c)
{
    seen.processed++;
    seen.in_hook = record_of(c)->state;
    seen.tls_in_hook = record_of(c)->tls;
    seen.suspended_in_hook = seen.suspended;
    if (seen.serve != NULL) {
        seen.serve(c, seen.processed);
    }
    return OK;
}


/* httpd 2.4.5x's: flush (nothing is kept here), then 1 ("close it now")
 * for a client that is gone, else the write side shut down, 0. Its caller
 * closes the socket. */
int
ap_start_lingering_close(conn_rec *c)
{
    loom_conn_t *lc = record_of(c);

    seen.lingered++;
    seen.at_linger = lc->state;
    if (c->aborted) {
        return 1;
    }
    return apr_socket_shutdown(lc->sock, APR_SHUTDOWN_WRITE) != APR_SUCCESS;
}


/* --- What the hooks do. --- */

/* Reads what the client sent, as the core's input filter would. */
static void
drain(conn_rec *c)
{
    char buf[4096];

    while (recv(record_of(c)->watch.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}


/* A request served, the response sent, the connection kept alive. */
static void
answer_keepalive(conn_rec *c, int call)
{
    drain(c);
    c->keepalive = AP_CONN_KEEPALIVE;
    c->cs->state = CONN_STATE_WRITE_COMPLETION;
}


/* The same with "Connection: close". */
static void
answer_close(conn_rec *c, int call)
{
    drain(c);
    c->keepalive = AP_CONN_CLOSE;
    c->cs->state = CONN_STATE_WRITE_COMPLETION;
}


/* A request served while the next is already buffered by the core. */
static void
answer_pipelined(conn_rec *c, int call)
{
    answer_keepalive(c, call);
    c->data_in_input_filters = call == 1;
}


/* The core's network output filter, asked by write completion to send
 * what it kept (no new data): it keeps some `flushes_kept` times more. */
static apr_status_t
core_output(ap_filter_t *f, apr_bucket_brigade *bb)
{
    seen.flushes++;
    f->c->data_in_output_filters = seen.flushes <= seen.flushes_kept;
    return APR_SUCCESS;
}


static ap_filter_rec_t core_output_rec = {
    .name = "CORE", .filter_func.out_func = core_output
};


/* A response of which the core kept a part it could not send at once. */
static void
answer_partly_sent(conn_rec *c, int call)
{
    ap_filter_t *f = apr_pcalloc(c->pool, sizeof(*f));

    answer_keepalive(c, call);
    f->frec = &core_output_rec;
    f->c = c;
    c->output_filters = f;
    c->data_in_output_filters = 1;
}


/* The client vanished while its response was being sent. */
static void
lose_client(conn_rec *c, int call)
{
    answer_partly_sent(c, call);
    c->aborted = 1;
}


/* A handler returned SUSPENDED (mod_dialup): a module owns it now. */
static void
suspend(conn_rec *c, int call)
{
    answer_keepalive(c, call);
    c->cs->state = CONN_STATE_SUSPENDED;
}


/* --- The model's side. --- */

static void
fixture(void)
{
    apr_sockaddr_t *sa;

    apr_initialize();
    apr_pool_create(&f.pool, NULL);
    f.server.timeout = apr_time_from_msec(TIMEOUT_MS);
    f.server.keep_alive_timeout = apr_time_from_msec(KEEPALIVE_MS);
    f.server.module_config = apr_pcalloc(f.pool, sizeof(void *));
    ap_server_conf = &f.server;
    f.cfg.wait_for_head = 1;
    f.st.cfg = &f.cfg;
    f.ch.st = &f.st;
    f.ch.pchild = f.pool;
    f.ch.slot = 3;
    loom_headwait_setup(f.pool, &f.server);
    UNIT_EQ(loom_poller_create(&f.poller, f.pool), 0);
    UNIT_EQ(loom_engine_init(&f.e, &f.ch, f.poller), 0);
    f.lt.busy_fd = -1;
    f.t = (loom_engine_thread_t) { .engine = &f.e, .id = 0, .lt = &f.lt };
    seen.serve = answer_keepalive;

    apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, f.pool);
    apr_socket_create(&f.listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                      f.pool);
    UNIT_EQ(apr_socket_bind(f.listener, sa), APR_SUCCESS);
    UNIT_EQ(apr_socket_listen(f.listener, 8), APR_SUCCESS);
    apr_socket_addr_get(&sa, APR_LOCAL, f.listener);
    f.addr = sa->sa.sin;
}


/* Whether `fd` has something to read within a second. */
static int
readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 1000) == 1;
}


static void
say(const char *text)
{
    UNIT_EQ(send(f.client, text, strlen(text), 0), (long) strlen(text));
}


/* A client connects and sends `first`; the model reserves a place for it
 * and accepts it into a record, as loom_event's accept_one does. */
static loom_conn_t *
connect_one(const char *first)
{
    loom_conn_t *c;

    f.client = socket(AF_INET, SOCK_STREAM, 0);
    UNIT_EQ(connect(f.client, (struct sockaddr *) &f.addr, sizeof(f.addr)),
            0);
    say(first);
    pthread_mutex_lock(&f.e.lock);
    loom_engine_count_open_locked(&f.e, 1);
    pthread_mutex_unlock(&f.e.lock);
    c = loom_engine_conn_new(&f.e);
    UNIT_EQ(apr_socket_accept(&c->sock, f.listener, c->ptrans), APR_SUCCESS);
    return c;
}


/* Accepts a connection whose first bytes `first` have arrived. */
static loom_conn_t *
accept_with(const char *first)
{
    loom_conn_t *c = connect_one(first);
    apr_os_sock_t fd;

    apr_os_sock_get(&fd, c->sock);
    UNIT_TRUE(readable(fd));
    loom_engine_accepted(&f.t, c);
    return c;
}


/* The connection whose event the poller gives within `ms`, or NULL. */
static loom_conn_t *
next_event(int ms, unsigned *ev)
{
    loom_fired_t fired;

    if (loom_poller_wait(f.poller, &fired, 1, ms) != 1) {
        return NULL;
    }
    UNIT_EQ(fired.watch->kind, LOOM_W_CONN);
    *ev = fired.ev;
    return fired.watch->data;
}


/* The poller gives `c`'s event; the model's thread hands it over. */
static void
deliver(loom_conn_t *c)
{
    unsigned ev = 0;
    loom_conn_t *got = next_event(1000, &ev);

    UNIT_TRUE(got == c);
    if (got == c) {
        loom_engine_ready(&f.t, c, ev);
    }
}


static void
expire_at(uint64_t now)
{
    pthread_mutex_lock(&f.e.lock);
    loom_engine_expire_locked(&f.e, now);
    pthread_mutex_unlock(&f.e.lock);
}


/* The client reads what is left and finds the connection closed. */
static int
client_sees_close(void)
{
    char buf[256];

    return readable(f.client) && recv(f.client, buf, sizeof(buf), 0) == 0;
}


static int
conns(void)
{
    return atomic_load(&f.e.conns);
}


/* --- The tests. --- */

UNIT_TEST(a_head_arriving_in_pieces_waits_parked_until_its_blank_line)
{
    unsigned ev;
    loom_conn_t *c;

    fixture();
    c = accept_with("GET / HTTP/1.1\r\n");
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(c->state, LOOM_CONN_HEAD);
    UNIT_EQ(f.e.parked, 1);
    UNIT_EQ(f.e.counts[LOOM_COUNT_HEAD], 1);
    UNIT_EQ(waits_published[1], 1);             /* for mod_status */
    UNIT_TRUE(loom_timerq_armed(&c->timer));
    UNIT_TRUE(next_event(100, &ev) == NULL);   /* peeked bytes wake nobody */

    say("Host: a\r\n");
    deliver(c);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(c->state, LOOM_CONN_HEAD);
    UNIT_EQ(f.e.parked, 1);

    say("\r\n");
    deliver(c);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.in_hook, LOOM_CONN_PROCESS);
    UNIT_EQ(seen.tls_in_hook, 0);
}


UNIT_TEST(a_head_waits_within_timeout_from_the_start_of_the_wait)
{
    uint64_t before = loom_now_ms();
    loom_conn_t *c;

    fixture();
    c = accept_with("GET / HTTP/1.1\r\n");
    UNIT_TRUE(c->timer.due >= before + TIMEOUT_MS);
    UNIT_TRUE(c->timer.due <= loom_now_ms() + TIMEOUT_MS);
    usleep(20000);
    say("Host: a\r\n");
    deliver(c);                         /* more bytes do not extend it */
    UNIT_EQ(c->timer.due, c->wait_since + TIMEOUT_MS);

    expire_at(c->timer.due);
    deliver(c);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(conns(), 0);
    UNIT_TRUE(client_sees_close());
}


UNIT_TEST(a_client_that_leaves_mid_head_leaves_its_bytes_to_httpd)
{
    loom_conn_t *c;

    fixture();
    c = accept_with("GET / HT");
    shutdown(f.client, SHUT_WR);
    deliver(c);                         /* nothing new: httpd answers */
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.in_hook, LOOM_CONN_PROCESS);
}


UNIT_TEST(a_keepalive_client_that_leaves_is_closed_without_the_hooks)
{
    loom_conn_t *c;

    fixture();
    c = accept_with(HEAD);
    close(f.client);
    deliver(c);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.lingered, 0);          /* nobody left to linger for */
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.parked, 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_KEEPALIVE], 0);
    UNIT_EQ(f.e.free_count, 1);
}


UNIT_TEST(a_tls_handshake_goes_to_the_hooks_at_once_marked_tls)
{
    loom_conn_t *c;

    fixture();
    c = accept_with("\x16\x03\x01\x02\x00\x01");
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.in_hook, LOOM_CONN_PROCESS);
    UNIT_EQ(seen.tls_in_hook, 1);
    UNIT_EQ(c->tls, 1);
}


UNIT_TEST(a_served_connection_parks_in_keepalive_counted_with_its_deadline)
{
    uint64_t before = loom_now_ms();
    unsigned ev;
    loom_conn_t *c;

    fixture();
    c = accept_with(HEAD);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(c->state, LOOM_CONN_KEEPALIVE);
    UNIT_EQ(f.e.counts[LOOM_COUNT_KEEPALIVE], 1);
    UNIT_EQ(f.e.parked, 1);
    UNIT_EQ(conns(), 1);
    UNIT_EQ(score.keep_alive, 1);       /* published for mod_status */
    UNIT_EQ(score.connections, 1);
    UNIT_EQ(seen.suspended, 1);         /* modules hear it left its thread */
    UNIT_TRUE(loom_timerq_armed(&c->timer));
    UNIT_TRUE(c->timer.due >= before + KEEPALIVE_MS);
    UNIT_TRUE(c->timer.due <= loom_now_ms() + KEEPALIVE_MS);
    UNIT_TRUE(next_event(50, &ev) == NULL);
}


UNIT_TEST(an_expired_keepalive_is_shut_and_closed_by_its_next_event)
{
    unsigned ev;
    loom_conn_t *c;

    fixture();
    c = accept_with(HEAD);
    expire_at(c->timer.due - 1);
    UNIT_TRUE(loom_timerq_armed(&c->timer));
    UNIT_TRUE(next_event(50, &ev) == NULL);

    expire_at(c->timer.due);
    UNIT_TRUE(!loom_timerq_armed(&c->timer));
    UNIT_EQ(c->state, LOOM_CONN_KEEPALIVE);   /* the deadline closes nothing */
    deliver(c);
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.parked, 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_KEEPALIVE], 0);
    UNIT_EQ(score.keep_alive, 0);
    UNIT_EQ(f.e.free_count, 1);
    UNIT_TRUE(client_sees_close());
    UNIT_TRUE(loom_engine_conn_new(&f.e) == c);   /* the record is reused */
}


UNIT_TEST(a_keepalive_connection_sending_its_next_head_is_served_again)
{
    loom_conn_t *c;

    fixture();
    c = accept_with(HEAD);
    say(HEAD);
    deliver(c);
    UNIT_EQ(seen.processed, 2);
    UNIT_EQ(seen.resumed, 1);           /* back on a thread: modules hear */
    UNIT_EQ(c->state, LOOM_CONN_KEEPALIVE);
    UNIT_EQ(f.e.counts[LOOM_COUNT_KEEPALIVE], 1);
    UNIT_EQ(f.e.parked, 1);
}


UNIT_TEST(a_pipelined_request_is_served_again_on_the_same_thread)
{
    loom_conn_t *c;

    fixture();
    seen.serve = answer_pipelined;
    c = accept_with(HEAD HEAD);
    UNIT_EQ(seen.processed, 2);         /* both within loom_engine_accepted */
    UNIT_EQ(seen.suspended_in_hook, 0); /* it never left the thread */
    UNIT_EQ(c->state, LOOM_CONN_KEEPALIVE);
    UNIT_EQ(f.e.parked, 1);
}


UNIT_TEST(what_the_core_kept_is_flushed_parked_until_the_socket_drains)
{
    loom_conn_t *c;

    fixture();
    seen.serve = answer_partly_sent;
    seen.flushes_kept = 1;
    c = accept_with(HEAD);
    UNIT_EQ(seen.flushes, 1);           /* tried at once, on the thread */
    UNIT_EQ(c->state, LOOM_CONN_WRITE);
    UNIT_EQ(f.e.counts[LOOM_COUNT_WRITE], 1);
    UNIT_EQ(f.e.parked, 1);
    UNIT_TRUE(c->timer.due <= loom_now_ms() + TIMEOUT_MS);

    deliver(c);                         /* writable */
    UNIT_EQ(seen.flushes, 2);
    UNIT_EQ(c->state, LOOM_CONN_KEEPALIVE);
    UNIT_EQ(f.e.counts[LOOM_COUNT_WRITE], 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_KEEPALIVE], 1);
    UNIT_EQ(seen.processed, 1);
}


UNIT_TEST(a_hook_that_finds_the_client_gone_lingers_then_closes)
{
    loom_conn_t *c;

    fixture();
    seen.serve = lose_client;
    c = accept_with(HEAD);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.flushes, 0);           /* nothing more for a dead client */
    UNIT_EQ(seen.lingered, 1);
    UNIT_EQ(seen.at_linger, LOOM_CONN_LINGER);
    UNIT_EQ(c->state, LOOM_CONN_CLOSED);
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.parked, 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_LINGER], 0);
    UNIT_EQ(f.e.free_count, 1);
    UNIT_TRUE(client_sees_close());
}


UNIT_TEST(a_failed_pre_connection_lingers_and_closes_without_the_hooks)
{
    fixture();
    seen.pre_fails = 1;
    accept_with(HEAD);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(seen.lingered, 1);
    UNIT_EQ(conns(), 0);
}


UNIT_TEST(a_closing_connection_lingers_parked_until_the_client_closes)
{
    loom_conn_t *c;

    fixture();
    seen.serve = answer_close;
    c = accept_with(HEAD);
    UNIT_EQ(c->state, LOOM_CONN_LINGER);
    UNIT_EQ(f.e.counts[LOOM_COUNT_LINGER], 1);
    UNIT_EQ(f.e.parked, 1);
    UNIT_TRUE(c->timer.due <= loom_now_ms() + LOOM_LINGER_MS);
    UNIT_TRUE(c->timer.due > loom_now_ms() + LOOM_SHORT_LINGER_MS);
    UNIT_TRUE(client_sees_close());     /* our FIN */

    close(f.client);
    deliver(c);
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_LINGER], 0);
    UNIT_EQ(f.e.parked, 0);
}


UNIT_TEST(a_suspended_connection_waits_for_its_module_then_finishes_writing)
{
    loom_conn_t *c;

    fixture();
    seen.serve = suspend;
    c = accept_with(HEAD);
    UNIT_EQ(c->state, LOOM_CONN_SUSPENDED);
    UNIT_EQ(f.e.counts[LOOM_COUNT_SUSPENDED], 1);
    UNIT_EQ(f.e.parked, 0);
    UNIT_EQ(loom_engine_busy_locked(&f.e), 0);

    pthread_mutex_lock(&f.e.lock);
    loom_engine_resume_suspended_locked(&f.e, 1);  /* still the module's */
    UNIT_EQ(c->state, LOOM_CONN_SUSPENDED);
    c->cs.state = CONN_STATE_WRITE_COMPLETION;     /* the module is done */
    loom_engine_resume_suspended_locked(&f.e, 0);
    pthread_mutex_unlock(&f.e.lock);
    UNIT_EQ(c->state, LOOM_CONN_WRITE);
    UNIT_EQ(f.e.counts[LOOM_COUNT_SUSPENDED], 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_WRITE], 1);

    deliver(c);                         /* writable at once */
    UNIT_EQ(c->state, LOOM_CONN_KEEPALIVE);
    UNIT_EQ(f.e.counts[LOOM_COUNT_WRITE], 0);
    UNIT_EQ(seen.processed, 1);
}


/* The poller stops taking descriptors (epoll_ctl fails, as it does without
 * memory or past max_user_watches): with no event to wait for, the
 * connection is closed at once, and counts as neither parked nor open. */
static void
poller_refuses(int refuse)
{
    static int epfd = -1;

    if (refuse) {
        epfd = f.poller->epfd;
        f.poller->epfd = -1;
    }
    else {
        f.poller->epfd = epfd;
    }
}

UNIT_TEST(a_connection_the_poller_refuses_is_closed_at_once)
{
    loom_conn_t *c;

    fixture();
    c = connect_one("GET / HTTP/1.1\r\n");   /* a head that must wait */
    poller_refuses(1);
    loom_engine_accepted(&f.t, c);
    poller_refuses(0);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.parked, 0);
    UNIT_EQ(f.e.timers.armed, 0);
    /* Closed with its head unread: the client gets a reset, not a FIN. */
    UNIT_TRUE(readable(f.client) && recv(f.client, (char[16]) { 0 }, 16, 0) <= 0);
}

UNIT_TEST(a_resumed_connection_the_poller_refuses_is_closed_by_its_thread)
{
    loom_conn_t *c;

    fixture();
    seen.serve = suspend;
    c = accept_with(HEAD);
    UNIT_EQ(c->state, LOOM_CONN_SUSPENDED);
    c->cs.state = CONN_STATE_WRITE_COMPLETION;
    poller_refuses(1);
    pthread_mutex_lock(&f.e.lock);
    loom_engine_resume_suspended_locked(&f.e, 0);
    pthread_mutex_unlock(&f.e.lock);
    poller_refuses(0);
    UNIT_EQ(conns(), 1);                      /* until its thread closes it */
    UNIT_EQ(f.e.counts[LOOM_COUNT_WRITE], 0);
    loom_engine_close_unarmed(&f.e);
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_SUSPENDED], 0);
    UNIT_TRUE(client_sees_close());
}


/* --- TLS: the handshake waits in the poller too. --- */

/* Accepts a connection to an address mod_ssl serves, whose handshake
 * needs 30 bytes, after `first` arrived. */
static loom_conn_t *
accept_tls(const char *first)
{
    seen.ssl = 1;
    seen.hello_bytes = 30;
    return accept_with(first);
}

UNIT_TEST(a_tls_handshake_waits_parked_until_its_client_has_sent_enough)
{
    loom_conn_t *c;

    fixture();
    c = accept_tls("\x16\x03\x01\x01\x19hello");   /* 10 of 30 */
    UNIT_EQ(c->state, LOOM_CONN_HANDSHAKE);
    UNIT_EQ(seen.hs_calls, 1);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(f.e.parked, 1);
    UNIT_EQ(f.e.counts[LOOM_COUNT_HANDSHAKE], 1);
    UNIT_EQ(waits_published[0], 1);             /* for mod_status */
    UNIT_TRUE(loom_timerq_armed(&c->timer));
    UNIT_EQ(c->timer.due, c->wait_since + TIMEOUT_MS);   /* no stage set */

    say("0123456789");                     /* 20 of 30: still waiting */
    deliver(c);
    UNIT_EQ(c->state, LOOM_CONN_HANDSHAKE);
    UNIT_EQ(seen.processed, 0);
    say("0123456789");
    deliver(c);                            /* done: the hooks run */
    UNIT_EQ(seen.hs_calls, 3);
    UNIT_EQ(f.e.counts[LOOM_COUNT_HANDSHAKE], 0);
    UNIT_EQ(waits_published[0], 0);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.in_hook, LOOM_CONN_PROCESS);
    UNIT_EQ(seen.tls_in_hook, 1);
}


UNIT_TEST(a_stalled_tls_handshake_is_closed_at_timeout_without_the_hooks)
{
    loom_conn_t *c;

    fixture();
    c = accept_tls("\x16\x03\x01");
    expire_at(c->timer.due - 1);
    UNIT_TRUE(loom_timerq_armed(&c->timer));
    expire_at(c->timer.due);
    deliver(c);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(seen.lingered, 0);             /* no flush through mod_ssl */
    UNIT_EQ(conns(), 0);
    UNIT_TRUE(client_sees_close());
}


UNIT_TEST(a_failed_tls_handshake_closes_without_the_hooks)
{
    loom_conn_t *c;

    fixture();
    c = accept_tls("\x16\x03\x01");
    seen.hs_fails = 1;
    say("garbage");
    deliver(c);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(seen.lingered, 0);
    UNIT_EQ(conns(), 0);
    UNIT_EQ(f.e.parked, 0);
}


UNIT_TEST(without_the_head_wait_a_tls_handshake_runs_in_the_hooks_as_stock)
{
    loom_conn_t *c;

    fixture();
    f.cfg.wait_for_head = 0;
    c = accept_tls("\x16\x03\x01");
    UNIT_EQ(seen.hs_calls, 0);
    UNIT_EQ(seen.processed, 1);
    UNIT_TRUE(c->state != LOOM_CONN_HANDSHAKE);
}


UNIT_TEST(a_tls_head_arriving_in_pieces_waits_parked_after_the_handshake)
{
    loom_conn_t *c;

    fixture();
    seen.tls_head = "GET / HTTP/1.1\r\nHost:";   /* decrypted so far */
    c = accept_tls("\x16\x03\x01\x01\x19hello0123456789012345678901234");
    UNIT_EQ(seen.hs_calls, 1);                    /* handshake done */
    UNIT_EQ(c->state, LOOM_CONN_HEAD);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(f.e.counts[LOOM_COUNT_HEAD], 1);
    UNIT_EQ(c->head_peeked, 21);
    UNIT_EQ(c->timer.due, loom_engine_wait_deadline(c));

    seen.tls_head = HEAD;                         /* the rest came */
    say("more");
    deliver(c);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(seen.in_hook, LOOM_CONN_PROCESS);
    UNIT_EQ(f.e.counts[LOOM_COUNT_HEAD], 0);
}


/* --- Connections accepted beside another (loom_event takes a burst from
 * its listener at once and serves the first). --- */

UNIT_TEST(a_connection_accepted_beside_another_waits_in_the_poller_for_a_thread)
{
    loom_conn_t *c;

    fixture();
    c = connect_one(HEAD);
    loom_engine_accepted_later(&f.t, c);
    UNIT_EQ(seen.processed, 0);
    UNIT_EQ(c->state, LOOM_CONN_HEAD);
    UNIT_EQ(f.e.parked, 1);
    UNIT_EQ(f.e.fresh, 1);              /* promised to an idle thread */
    UNIT_TRUE(loom_timerq_armed(&c->timer));

    deliver(c);                         /* its head is whole: served */
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(f.e.fresh, 0);
    UNIT_EQ(seen.in_hook, LOOM_CONN_PROCESS);
}


UNIT_TEST(a_tls_connection_accepted_beside_another_waits_before_its_handshake)
{
    loom_conn_t *c;

    fixture();
    seen.ssl = 1;
    seen.hello_bytes = 30;
    seen.tls_head = HEAD;
    c = connect_one("\x16\x03\x01\x01\x19hello0123456789012345678901234");
    loom_engine_accepted_later(&f.t, c);
    UNIT_EQ(c->state, LOOM_CONN_HANDSHAKE);
    UNIT_EQ(seen.hs_calls, 0);          /* no crypto on the accepting thread */
    UNIT_EQ(f.e.counts[LOOM_COUNT_HANDSHAKE], 1);

    deliver(c);
    UNIT_EQ(seen.hs_calls, 1);
    UNIT_EQ(seen.processed, 1);
}


UNIT_TEST(a_connection_a_module_may_speak_first_on_goes_to_the_next_thread)
{
    unsigned ev = 0;
    loom_conn_t *c;

    fixture();
    unknown_hooks = 1;                  /* a process_connection hook of a
                                         * module Loom does not know */
    c = connect_one("");
    loom_engine_accepted_later(&f.t, c);
    UNIT_EQ(seen.processed, 0);         /* not on the accepting thread */
    UNIT_EQ(f.e.fresh, 1);
    UNIT_TRUE(next_event(100, &ev) == c);   /* writable: due at once */
    loom_engine_ready(&f.t, c, ev);
    UNIT_EQ(seen.processed, 1);         /* before its client said a word */
    UNIT_EQ(f.e.fresh, 0);
}


UNIT_TEST(a_silent_client_accepted_beside_another_promises_no_thread)
{
    loom_conn_t *c;

    fixture();
    c = connect_one("");
    loom_engine_accepted_later(&f.t, c);
    UNIT_EQ(c->state, LOOM_CONN_HEAD);
    UNIT_EQ(f.e.parked, 1);
    UNIT_EQ(f.e.fresh, 0);

    say(HEAD);
    deliver(c);
    UNIT_EQ(seen.processed, 1);
    UNIT_EQ(f.e.fresh, 0);
}
