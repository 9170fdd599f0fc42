/* How many of a child's worker threads take events at once (event_gate.c).
 *
 * Every idle thread waiting in the poller means every arriving event wakes
 * one more thread: under load all ThreadsPerChild threads run at once, on
 * a CPU or two, each holding the request it took while the scheduler
 * cycles through the others. The gate lets at most `budget` threads (the
 * CPUs the child may run on) wait in the poller or serve, one more while
 * some serve aside (ev_gate_enter); the others wait at the gate. A serving
 * thread that blocks (a CGI, a proxied backend, a slow disk) stops
 * counting once the housekeeper sees it asleep through one of its looks,
 * and so does one that has computed for long; a waiting thread takes its
 * place.
 * Private to the event model. Threads: ev_gate_init before the threads
 * start; ev_gate_sit, _enter, _took, _watch, _done and _step_aside from
 * the worker thread in the seat they name; ev_gate_check from the
 * housekeeper alone (it owns the seats' `looked_*` and `cpu_*` fields);
 * ev_gate_open from any thread. The counts are under `lock`. */
#ifndef LOOM_EVENT_GATE_H
#define LOOM_EVENT_GATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "loom/config.h"

/* How often the housekeeper looks at the serving threads while others
 * wait: a thread is found blocked when it slept through one interval, so
 * events wait about two of them behind a blocked thread. */
#define EV_GATE_CHECK_MS 2

/* A thread that has computed this long (CPU time, from its own CPU clock)
 * while serving stops counting even if it runs: a request that computes
 * for seconds (a big deflate, a script) must not hold the others of its
 * child behind it; past this they share the CPUs again. Wall time would
 * not do: a thread that only waits for a CPU is not computing, and calling
 * another one in its place would only lengthen the queue for that CPU. */
#define EV_GATE_LONG_MS 20

typedef struct ev_gate_seat {
    pid_t      tid;
    clockid_t  cpu_clock;       /* the thread's CPU-time clock */
    uint64_t   serves;          /* events taken; names the current one */
    int        serving;
    int        blocked;         /* asleep, or computing for long: not counted */
    /* The housekeeper's own: what it read at its last look at this seat. */
    uint64_t   looked_serve;    /* `serves` then; another value: first look */
    uint64_t   cpu_first_ns;    /* CPU time at the first look at this event */
    uint64_t   cpu_last_ns;     /* CPU time at the last look */
} ev_gate_seat_t;

typedef struct ev_gate {
    pthread_mutex_t  lock;
    pthread_cond_t   called;
    int              budget;
    int              polling;     /* threads in (or entering) the poller */
    int              serving;     /* serving and counted */
    int              aside;       /* serving, no longer counted */
    int              waiting;     /* at the gate */
    int              calls;       /* waiting threads called, not yet gone */
    int              open;        /* stopping: nobody waits at the gate */
    int              watched;     /* the housekeeper checks every few ms */
    ev_gate_seat_t  *seats;
    int              nseats;
    /* Told under the gate lock each time `waiting` changes, or NULL: the
     * metrics show it. */
    void           (*show_waiting)(int waiting);
} ev_gate_t;

/* `nseats` threads, of which `budget` (the CPUs the child may use,
 * ev_gate_budget; at least 1) take events at once. Returns 0, or -1
 * (errno set). */
int ev_gate_init(ev_gate_t *g, ev_gate_seat_t *seats, int nseats,
                 int budget);

/* The budget `cfg` gives: LoomCPUs, or the CPUs this process may use
 * (loom/cpus.h), probed now; what it came from in `why` (for the log). */
int ev_gate_budget(const loom_cfg_t *cfg, char *why, int size);

/* The calling thread takes seat `seat` (once, at its start). Returns 0, or
 * -1 when its CPU clock cannot be had (errno set). */
int ev_gate_sit(ev_gate_t *g, int seat);

/* Before waiting in the poller: returns once this thread may. While some
 * thread serves aside, a thread back from serving may take one place more
 * than the budget (a thread waiting at the gate is never called for it):
 * the next event of an HTTP/2 session, which steps aside at once, then
 * finds a thread in the poller instead of costing one woken at the gate
 * and one put to sleep there. So at most budget + 1 threads poll or serve
 * counted at once. */
void ev_gate_enter(ev_gate_t *g);

/* Back from the poller, with an event to serve (`got`) or not. Returns 1
 * when the housekeeper is not watching though nobody polls and threads
 * wait: then ev_gate_watch is worth asking, and otherwise not (under load
 * it is watching already, and this spares every event a second turn of
 * the lock). */
int ev_gate_took(ev_gate_t *g, int seat, int got);

/* The event taken is about to run code that may block or compute for long
 * (a module's hooks, a TLS handshake step). Returns 1 when the housekeeper
 * must be woken to start watching: nobody polls and threads wait. Asked
 * here rather than in ev_gate_took: most events of an HTTP/2 session step
 * aside at once (ev_gate_step_aside) and need no watching, and waking the
 * housekeeper for each of them was a measurable part of HTTP/2's cost. */
int ev_gate_watch(ev_gate_t *g);

/* The event taken is served. */
void ev_gate_done(ev_gate_t *g, int seat);

/* The event taken is served by code that mostly waits on its own (the
 * main connection of an HTTP/2 session, which sleeps in mod_http2's poll
 * while its streams run on mod_http2's threads): the thread stops counting
 * at once. Left to the housekeeper, every such wait kept the other
 * connections of the child from being served for two EV_GATE_CHECK_MS. */
void ev_gate_step_aside(ev_gate_t *g, int seat);

/* Stopping: every thread passes the gate from now on. */
void ev_gate_open(ev_gate_t *g);

/* From the housekeeper, while nobody polls and threads wait: a serving
 * thread that slept through the time since the previous look (it used no
 * CPU and sleeps now), or that has computed EV_GATE_LONG_MS for its event,
 * stops counting, and waiting threads take the room (*released says how
 * many). The first look at an event only notes its thread's CPU time.
 * Returns when to look again (ms), or -1 when nothing needs watching. */
int ev_gate_check(ev_gate_t *g, int *released);

#endif
