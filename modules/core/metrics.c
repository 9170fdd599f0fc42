/* The loom-metrics handler (loom/metrics.h): reads the scoreboard and the
 * shared figures (loom/figures.h) once, then writes every family. */
#include <signal.h>
#include <string.h>

#include "apr_strings.h"
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/exposition.h"
#include "loom/figures.h"
#include "loom/metrics.h"
#include "loom/mpm.h"
#include "loom/state.h"

/* Connection states as the metrics name them (label `state`). */
enum metric_state {
    M_HANDSHAKE, M_HEAD, M_PROCESSING, M_WRITE, M_KEEPALIVE, M_WAITIO,
    M_LINGER, M_SUSPENDED, M_STATES
};

static const char *const state_labels[M_STATES] = {
    "state=\"tls_handshake\"", "state=\"reading_head\"",
    "state=\"processing\"", "state=\"write_completion\"",
    "state=\"keepalive\"", "state=\"waiting_io\"", "state=\"lingering\"",
    "state=\"suspended\""
};

/* One live child, as read. */
typedef struct proc_row {
    int                 slot;
    pid_t               pid;
    int                 draining;      /* older generation, or told to */
    uint64_t            conns[M_STATES];
    loom_slot_figures_t figures;
} proc_row_t;

typedef struct reading {
    loom_server_figures_t server;
    loom_slot_figures_t  *slots;
    proc_row_t           *rows;
    int                   nrows;
    int                   server_limit;
    uint64_t              conns[M_STATES];
    uint64_t              requests, body_bytes, accept_pauses;
    uint64_t              busy, idle;
    uint64_t              gate_budget, gate_waiting;
    uint64_t              draining_procs, draining_conns;
} reading_t;


/* A connection on a thread, by what the thread says it does. */
static int
state_of_thread(int status)
{
    switch (status) {
    case SERVER_BUSY_READ:
        return M_HEAD;
    case SERVER_BUSY_KEEPALIVE:
        return M_KEEPALIVE;
    case SERVER_CLOSING:
        return M_LINGER;
    case SERVER_BUSY_WRITE:
    case SERVER_BUSY_LOG:
    case SERVER_BUSY_DNS:
        return M_PROCESSING;
    default:
        return -1;
    }
}


/* Where connections wait without a thread, the engine's counts say where
 * they are; what they do not count is on a thread. Elsewhere each
 * connection is on a thread, whose status says it. */
static void
count_conns(proc_row_t *row, const process_score *ps, int parks,
            int thread_states[M_STATES])
{
    uint64_t parked;
    int i;

    if (!parks) {
        for (i = 0; i < M_STATES; i++) {
            row->conns[i] = (uint64_t) thread_states[i];
        }
        return;
    }
    row->conns[M_HANDSHAKE] = (uint64_t) row->figures.handshakes;
    row->conns[M_HEAD] = (uint64_t) row->figures.heads;
    row->conns[M_WRITE] = ps->write_completion;
    row->conns[M_KEEPALIVE] = ps->keep_alive;
    row->conns[M_WAITIO] = ps->wait_io;
    row->conns[M_LINGER] = ps->lingering_close;
    row->conns[M_SUSPENDED] = ps->suspended;
    parked = 0;
    for (i = 0; i < M_STATES; i++) {
        parked += row->conns[i];
    }
    /* The fields are written one by one: a reader between two writes may
     * see more parked than open for a moment. */
    row->conns[M_PROCESSING] = ps->connections > parked
                               ? ps->connections - parked : 0;
}


/* The threads of live child `ps`: busy and idle ones, counted as
 * mod_status counts them (not in a child that is winding down; idle only
 * in the current generation), and the state of each busy one. */
static void
read_threads(reading_t *rd, int slot, const process_score *ps,
             ap_generation_t now_gen, int threads, int thread_states[M_STATES])
{
    int t;

    for (t = 0; t < threads; t++) {
        int status = ap_get_scoreboard_worker_from_indexes(slot, t)->status;
        int which = state_of_thread(status);

        if (which >= 0) {
            thread_states[which]++;
        }
        if (ps->quiescing) {
            continue;
        }
        if (status == SERVER_READY) {
            rd->idle += ps->generation == now_gen;
        }
        else if (status != SERVER_DEAD && status != SERVER_STARTING
                 && status != SERVER_IDLE_KILL && status != SERVER_GRACEFUL) {
            rd->busy++;
        }
    }
}


static void
read_all(reading_t *rd, apr_pool_t *p)
{
    loom_retained_t *r = loom_state()->retained;
    int parks = loom_mpm_parks();
    int threads = r->first_thread_limit;
    ap_generation_t now_gen = ap_scoreboard_image->global->running_generation;
    int i, k;

    rd->server_limit = r->first_server_limit;
    rd->slots = apr_pcalloc(p, rd->server_limit * sizeof(*rd->slots));
    rd->rows = apr_pcalloc(p, rd->server_limit * sizeof(*rd->rows));
    loom_figures_read(&rd->server, rd->slots, rd->server_limit);
    rd->requests = rd->server.requests;
    rd->body_bytes = rd->server.body_bytes;
    rd->accept_pauses = rd->server.accept_pauses;
    for (i = 0; i < rd->server_limit; i++) {
        const process_score *ps = ap_get_scoreboard_process(i);
        proc_row_t *row = &rd->rows[rd->nrows];
        int thread_states[M_STATES] = { 0 };
        uint64_t open = 0;

        /* A gone child's counters are in the server's, its slot zeroed. */
        rd->requests += rd->slots[i].requests;
        rd->body_bytes += rd->slots[i].body_bytes;
        rd->accept_pauses += rd->slots[i].accept_pauses;
        if (ps->pid == 0) {
            continue;
        }
        read_threads(rd, i, ps, now_gen, threads, thread_states);
        row->slot = i;
        row->pid = ps->pid;
        row->draining = ps->generation != now_gen || ps->quiescing;
        row->figures = rd->slots[i];
        count_conns(row, ps, parks, thread_states);
        for (k = 0; k < M_STATES; k++) {
            rd->conns[k] += row->conns[k];
            open += row->conns[k];
        }
        rd->gate_budget += (uint64_t) row->figures.gate_budget;
        rd->gate_waiting += (uint64_t) row->figures.gate_waiting;
        if (row->draining) {
            rd->draining_procs++;
            rd->draining_conns += open;
        }
        rd->nrows++;
    }
}


static const char *
proc_labels(apr_pool_t *p, const proc_row_t *row, const char *more)
{
    return apr_psprintf(p, "slot=\"%d\",pid=\"%" APR_PID_T_FMT "\"%s%s",
                        row->slot, row->pid, more != NULL ? "," : "",
                        more != NULL ? more : "");
}


/* One sample per live child, of the figure `value` reads off its row. */
static void
samples_per_process(loom_exposition_t *x, const reading_t *rd, apr_pool_t *p,
                    uint64_t (*value)(const proc_row_t *row))
{
    int i;

    for (i = 0; i < rd->nrows; i++) {
        loom_expo_sample(x, proc_labels(p, &rd->rows[i], NULL),
                         value(&rd->rows[i]));
    }
}

static uint64_t
requests_of(const proc_row_t *row)
{
    return row->figures.requests;
}

static uint64_t
gate_waiting_of(const proc_row_t *row)
{
    return (uint64_t) row->figures.gate_waiting;
}

static uint64_t
accept_pauses_of(const proc_row_t *row)
{
    return row->figures.accept_pauses;
}


static void
write_connections(loom_exposition_t *x, const reading_t *rd, apr_pool_t *p)
{
    int i, k;

    loom_expo_family(x, "loom_connections", LOOM_GAUGE, NULL,
                     "Open connections by state, all processes.");
    for (k = 0; k < M_STATES; k++) {
        loom_expo_sample(x, state_labels[k], rd->conns[k]);
    }
    loom_expo_family(x, "loom_process_connections", LOOM_GAUGE, NULL,
                     "Open connections by state, per process.");
    for (i = 0; i < rd->nrows; i++) {
        for (k = 0; k < M_STATES; k++) {
            loom_expo_sample(x, proc_labels(p, &rd->rows[i], state_labels[k]),
                             rd->rows[i].conns[k]);
        }
    }
}


static void
write_requests(loom_exposition_t *x, const reading_t *rd, apr_pool_t *p)
{
    loom_expo_family(x, "loom_requests", LOOM_COUNTER, NULL,
                     "Requests answered (each logged transaction).");
    loom_expo_sample(x, NULL, rd->requests);
    loom_expo_family(x, "loom_response_body_bytes", LOOM_COUNTER, "bytes",
                     "Bytes of response bodies sent (headers not counted).");
    loom_expo_sample(x, NULL, rd->body_bytes);
    loom_expo_family(x, "loom_process_requests", LOOM_COUNTER, NULL,
                     "Requests answered by the process since it started.");
    samples_per_process(x, rd, p, requests_of);
}


static void
write_workers(loom_exposition_t *x, const reading_t *rd)
{
    loom_expo_family(x, "loom_workers", LOOM_GAUGE, NULL,
                     "Threads (prefork: processes) serving a connection or "
                     "free to, as mod_status's BusyWorkers and IdleWorkers.");
    loom_expo_sample(x, "state=\"busy\"", rd->busy);
    loom_expo_sample(x, "state=\"idle\"", rd->idle);
}


static void
write_gate(loom_exposition_t *x, const reading_t *rd, apr_pool_t *p)
{
    if (!(loom_mpm_ops()->caps & LOOM_CAP_ASYNC)) {
        return;          /* only loom_event has a gate */
    }
    loom_expo_family(x, "loom_gate_budget_threads", LOOM_GAUGE, "threads",
                     "Threads allowed to take events at once, summed over "
                     "the processes (each: its CPUs, or LoomCPUs).");
    loom_expo_sample(x, NULL, rd->gate_budget);
    loom_expo_family(x, "loom_gate_waiting_threads", LOOM_GAUGE, "threads",
                     "Threads waiting at the gate for room to take events.");
    loom_expo_sample(x, NULL, rd->gate_waiting);
    loom_expo_family(x, "loom_process_gate_waiting_threads", LOOM_GAUGE,
                     "threads", "Threads waiting at the gate, per process.");
    samples_per_process(x, rd, p, gate_waiting_of);
}


static void
write_accepting(loom_exposition_t *x, const reading_t *rd, apr_pool_t *p)
{
    loom_expo_family(x, "loom_accept_pauses", LOOM_COUNTER, NULL,
                     "Times a process paused accepting because accept() "
                     "found no descriptor or memory (EMFILE, ENFILE, "
                     "ENOBUFS, ENOMEM).");
    loom_expo_sample(x, NULL, rd->accept_pauses);
    loom_expo_family(x, "loom_process_accept_pauses", LOOM_COUNTER, NULL,
                     "Accept pauses of the process since it started.");
    samples_per_process(x, rd, p, accept_pauses_of);
}


/* Crash causes always shown, at 0 too, so that rate() sees the first. */
static const int usual_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGKILL };

static int
usual_signal(int sig)
{
    size_t i;

    for (i = 0; i < sizeof(usual_signals) / sizeof(usual_signals[0]); i++) {
        if (usual_signals[i] == sig) {
            return 1;
        }
    }
    return 0;
}


static void
write_children(loom_exposition_t *x, const reading_t *rd, apr_pool_t *p)
{
    const loom_server_figures_t *f = &rd->server;
    apr_time_t now = apr_time_now();
    int sig;

    loom_expo_family(x, "loom_child_starts", LOOM_COUNTER, NULL,
                     "Child processes forked.");
    loom_expo_sample(x, NULL, f->child_starts);
    loom_expo_family(x, "loom_child_exits", LOOM_COUNTER, NULL,
                     "Child processes reaped, for any reason.");
    loom_expo_sample(x, NULL, f->child_exits);
    loom_expo_family(x, "loom_child_crashes", LOOM_COUNTER, NULL,
                     "Children that crashed: by the signal that killed "
                     "them, or exit_status for an error exit.");
    loom_expo_sample(x, "cause=\"exit_status\"", f->crashes[0]);
    for (sig = 1; sig < LOOM_FIGURES_SIGNALS; sig++) {
        /* Real-time signals have no short name: their number then. */
        const char *abbrev = sigabbrev_np(sig);
        const char *cause = abbrev != NULL
                            ? apr_psprintf(p, "cause=\"SIG%s\"", abbrev)
                            : apr_psprintf(p, "cause=\"SIG%d\"", sig);

        if (f->crashes[sig] > 0 || usual_signal(sig)) {
            loom_expo_sample(x, cause, f->crashes[sig]);
        }
    }
    loom_expo_family(x, "loom_crash_backoff_seconds", LOOM_GAUGE, "seconds",
                     "Time until the parent forks again after a crash "
                     "loop; 0 when it is not backing off.");
    loom_expo_sample_real(x, NULL, f->backoff_until > now
                          ? (double) (f->backoff_until - now) / APR_USEC_PER_SEC
                          : 0.0);
    loom_expo_family(x, "loom_crash_burst_crashes", LOOM_GAUGE, NULL,
                     "Crashes in the current burst (0 once the parent "
                     "has seen none for a while).");
    loom_expo_sample(x, NULL, (uint64_t) f->crash_burst);
    loom_expo_family(x, "loom_memory_capped", LOOM_GAUGE, NULL,
                     "1 when LoomMemoryShare refused the parent's last "
                     "wish to fork a child; 0 otherwise.");
    loom_expo_sample(x, NULL, (uint64_t) f->memory_capped);
}


static void
write_generations(loom_exposition_t *x, const reading_t *rd)
{
    const loom_server_figures_t *f = &rd->server;
    int used = rd->nrows;

    loom_expo_family(x, "loom_generation", LOOM_GAUGE, NULL,
                     "The current generation: one more at every restart.");
    loom_expo_sample(x, NULL,
                     (uint64_t) ap_scoreboard_image->global->running_generation);
    loom_expo_family(x, "loom_restarts", LOOM_COUNTER, NULL,
                     "Restarts since the parent started, by kind.");
    loom_expo_sample(x, "kind=\"graceful\"", f->restarts_graceful);
    loom_expo_sample(x, "kind=\"hard\"", f->restarts_hard);
    loom_expo_family(x, "loom_processes", LOOM_GAUGE, NULL,
                     "Child processes: serving the current generation, or "
                     "draining (finishing what they hold, then exiting).");
    loom_expo_sample(x, "state=\"serving\"", (uint64_t) used - rd->draining_procs);
    loom_expo_sample(x, "state=\"draining\"", rd->draining_procs);
    loom_expo_family(x, "loom_draining_connections", LOOM_GAUGE, NULL,
                     "Connections still held by draining processes.");
    loom_expo_sample(x, NULL, rd->draining_conns);
    loom_expo_family(x, "loom_drain_cuts", LOOM_COUNTER, NULL,
                     "Draining processes stopped by LoomDrainTimeout.");
    loom_expo_sample(x, NULL, f->drain_cuts);
    loom_expo_family(x, "loom_scoreboard_process_slots", LOOM_GAUGE, NULL,
                     "Process slots of the scoreboard (ServerLimit), by use.");
    loom_expo_sample(x, "state=\"used\"", (uint64_t) used);
    loom_expo_sample(x, "state=\"free\"", (uint64_t) (rd->server_limit - used));
}


static int
metrics_handler(request_rec *r)
{
    loom_exposition_t x;
    reading_t rd;
    int om;

    if (r->handler == NULL || strcmp(r->handler, "loom-metrics") != 0) {
        return DECLINED;
    }
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);  /* a 405's Allow */
    if (r->method_number == M_OPTIONS) {
        return DECLINED;         /* the default handler lists `allowed` */
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    memset(&rd, 0, sizeof(rd));
    read_all(&rd, r->pool);
    om = loom_expo_wants_openmetrics(apr_table_get(r->headers_in, "Accept"));
    loom_expo_init(&x, r->pool, om);
    loom_expo_family(&x, "loom_mpm", LOOM_INFO, NULL,
                     "The Loom MPM serving (model as -V shows it).");
    loom_expo_sample(&x, apr_psprintf(r->pool, "model=\"%s\"",
                                      ap_show_mpm()), 1);
    write_connections(&x, &rd, r->pool);
    write_requests(&x, &rd, r->pool);
    write_workers(&x, &rd);
    write_gate(&x, &rd, r->pool);
    write_accepting(&x, &rd, r->pool);
    write_children(&x, &rd, r->pool);
    write_generations(&x, &rd);
    loom_expo_end(&x);
    ap_set_content_type(r, loom_expo_content_type(om));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rwrite(x.buf, (int) x.len, r);
    }
    return OK;
}


/* Every request that ends is counted, whatever else logs it: first, so
 * that a logger returning an error cannot skip it. */
static int
count_request(request_rec *r)
{
    loom_figures_count_request(loom_child_slot(),
                               r->bytes_sent > 0 ? (uint64_t) r->bytes_sent : 0);
    return DECLINED;
}


void
loom_metrics_register(void)
{
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(count_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
}
