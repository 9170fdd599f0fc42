/* The figures the server's processes share (loom/figures.h). */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "loom/figures.h"
#include "loom/log.h"
#include "loom/state.h"

/* Every field is written by one process (a slot by its child, the rest by
 * the parent) and read by any: relaxed, except `seq`, which orders the
 * parent's fold of a gone child's counters against the readers. A slot
 * has a cache line of its own: every request of its child writes it, and
 * a neighbour's child must not pay for that. */
typedef struct shared_slot {
    _Alignas(64) _Atomic uint64_t requests;
    _Atomic uint64_t body_bytes;
    _Atomic uint64_t accept_pauses;
    _Atomic int      handshakes;
    _Atomic int      heads;
    _Atomic int      gate_budget;
    _Atomic int      gate_waiting;
} shared_slot_t;

typedef struct shared_table {
    _Atomic uint64_t seq;              /* odd while a fold is under way */
    _Atomic uint64_t requests;         /* of the children gone */
    _Atomic uint64_t body_bytes;       /* of the children gone */
    _Atomic uint64_t accept_pauses;    /* of the children gone */
    _Atomic uint64_t child_starts;
    _Atomic uint64_t child_exits;
    _Atomic uint64_t crashes[LOOM_FIGURES_SIGNALS];
    _Atomic uint64_t drain_cuts;
    _Atomic uint64_t restarts_graceful;
    _Atomic uint64_t restarts_hard;
    _Atomic int64_t  backoff_until;
    _Atomic int      crash_burst;
    _Atomic int      memory_capped;
    shared_slot_t    slots[];
} shared_table_t;

#define LOAD(field) atomic_load_explicit(&(field), memory_order_relaxed)
#define STORE(field, v) \
    atomic_store_explicit(&(field), (v), memory_order_relaxed)
#define ADD(field, n) \
    atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)
#define BUMP(field) ADD(field, 1)

/* A reader that finds a fold under way this many times in a row gives up:
 * a parent killed in the middle of one leaves `seq` odd for ever. */
#define READ_TRIES 1000


int
loom_figures_create(int slots)
{
    size_t size = sizeof(shared_table_t) + (size_t) slots * sizeof(shared_slot_t);
    void *table = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (table == MAP_FAILED) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     LOOMNO(0605) "mmap() of %d slots' figures failed; "
                     "mod_status and loom-metrics will show zeros for what "
                     "Loom counts itself", slots);
        return -1;
    }
    loom_state()->retained->figures = table;
    return 0;
}


static shared_table_t *
table(void)
{
    return loom_state()->retained->figures;
}


static shared_slot_t *
slot_of(int slot)
{
    shared_table_t *t = table();

    if (t == NULL || slot < 0
        || slot >= loom_state()->retained->first_server_limit) {
        return NULL;
    }
    return &t->slots[slot];
}


void
loom_figures_publish_waits(int slot, int handshakes, int heads)
{
    shared_slot_t *s = slot_of(slot);

    if (s != NULL) {
        STORE(s->handshakes, handshakes);
        STORE(s->heads, heads);
    }
}


void
loom_figures_publish_gate_budget(int slot, int budget)
{
    shared_slot_t *s = slot_of(slot);

    if (s != NULL) {
        STORE(s->gate_budget, budget);
    }
}


void
loom_figures_publish_gate_waiting(int slot, int waiting)
{
    shared_slot_t *s = slot_of(slot);

    if (s != NULL) {
        STORE(s->gate_waiting, waiting);
    }
}


void
loom_figures_count_request(int slot, uint64_t body_bytes)
{
    shared_slot_t *s = slot_of(slot);

    if (s != NULL) {
        BUMP(s->requests);
        ADD(s->body_bytes, body_bytes);
    }
}


void
loom_figures_count_accept_pause(int slot)
{
    shared_slot_t *s = slot_of(slot);

    if (s != NULL) {
        BUMP(s->accept_pauses);
    }
}


void
loom_figures_parent_child_started(void)
{
    shared_table_t *t = table();

    if (t != NULL) {
        BUMP(t->child_starts);
    }
}


/* A writer's half of the sequence count: odd from begin to end. */
static void
fold_begin(shared_table_t *t)
{
    STORE(t->seq, LOAD(t->seq) + 1);
    atomic_thread_fence(memory_order_release);
}

static void
fold_end(shared_table_t *t)
{
    atomic_store_explicit(&t->seq, LOAD(t->seq) + 1, memory_order_release);
}


void
loom_figures_parent_child_gone(int slot, int crash)
{
    shared_table_t *t = table();
    shared_slot_t *s = slot_of(slot);

    if (s == NULL) {
        return;
    }
    BUMP(t->child_exits);
    if (crash >= 0 && crash < LOOM_FIGURES_SIGNALS) {
        BUMP(t->crashes[crash]);
    }
    /* The child is dead: nobody else writes its slot now. */
    fold_begin(t);
    STORE(t->requests, LOAD(t->requests) + LOAD(s->requests));
    STORE(t->body_bytes, LOAD(t->body_bytes) + LOAD(s->body_bytes));
    STORE(t->accept_pauses, LOAD(t->accept_pauses) + LOAD(s->accept_pauses));
    STORE(s->requests, 0);
    STORE(s->body_bytes, 0);
    STORE(s->accept_pauses, 0);
    STORE(s->handshakes, 0);
    STORE(s->heads, 0);
    STORE(s->gate_budget, 0);
    STORE(s->gate_waiting, 0);
    fold_end(t);
}


void
loom_figures_parent_drain_cut(void)
{
    shared_table_t *t = table();

    if (t != NULL) {
        BUMP(t->drain_cuts);
    }
}


void
loom_figures_parent_restart(int graceful)
{
    shared_table_t *t = table();

    if (t != NULL && graceful) {
        BUMP(t->restarts_graceful);
    }
    else if (t != NULL) {
        BUMP(t->restarts_hard);
    }
}


void
loom_figures_parent_backoff(apr_time_t until, int burst)
{
    shared_table_t *t = table();

    if (t != NULL) {
        STORE(t->backoff_until, until);
        STORE(t->crash_burst, burst);
    }
}


void
loom_figures_parent_memory_capped(int capped)
{
    shared_table_t *t = table();

    if (t != NULL) {
        STORE(t->memory_capped, capped);
    }
}


static void
copy_once(const shared_table_t *t, loom_server_figures_t *server,
          loom_slot_figures_t *slots, int nslots)
{
    int i;

    server->requests = LOAD(t->requests);
    server->body_bytes = LOAD(t->body_bytes);
    server->accept_pauses = LOAD(t->accept_pauses);
    server->child_starts = LOAD(t->child_starts);
    server->child_exits = LOAD(t->child_exits);
    for (i = 0; i < LOOM_FIGURES_SIGNALS; i++) {
        server->crashes[i] = LOAD(t->crashes[i]);
    }
    server->drain_cuts = LOAD(t->drain_cuts);
    server->restarts_graceful = LOAD(t->restarts_graceful);
    server->restarts_hard = LOAD(t->restarts_hard);
    server->backoff_until = LOAD(t->backoff_until);
    server->crash_burst = LOAD(t->crash_burst);
    server->memory_capped = LOAD(t->memory_capped);
    for (i = 0; slots != NULL && i < nslots; i++) {
        const shared_slot_t *s = &t->slots[i];

        slots[i].handshakes = LOAD(s->handshakes);
        slots[i].heads = LOAD(s->heads);
        slots[i].gate_budget = LOAD(s->gate_budget);
        slots[i].gate_waiting = LOAD(s->gate_waiting);
        slots[i].requests = LOAD(s->requests);
        slots[i].body_bytes = LOAD(s->body_bytes);
        slots[i].accept_pauses = LOAD(s->accept_pauses);
    }
}


static int
zeros(loom_server_figures_t *server, loom_slot_figures_t *slots, int nslots)
{
    memset(server, 0, sizeof(*server));
    if (slots != NULL) {
        memset(slots, 0, (size_t) nslots * sizeof(*slots));
    }
    return -1;
}


int
loom_figures_read(loom_server_figures_t *server, loom_slot_figures_t *slots,
                  int nslots)
{
    shared_table_t *t = table();
    int limit = loom_state()->retained->first_server_limit;
    uint64_t before, after;
    int tries = 0;

    if (t == NULL) {
        return zeros(server, slots, nslots);
    }
    if (nslots > limit) {
        zeros(server, slots + limit, nslots - limit);   /* none has these */
        nslots = limit;
    }
    /* A fold moves a gone child's counters into the server's: a copy made
     * across one would count them twice or not at all. */
    do {
        if (++tries > READ_TRIES) {
            return zeros(server, slots, nslots);
        }
        before = atomic_load_explicit(&t->seq, memory_order_acquire);
        copy_once(t, server, slots, nslots);
        atomic_thread_fence(memory_order_acquire);
        after = LOAD(t->seq);
    } while ((before & 1) || before != after);
    return 0;
}
