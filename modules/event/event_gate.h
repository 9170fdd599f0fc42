/* How many of a child's worker threads take events at once (event_gate.c).
 *
 * Every idle thread waiting in the poller means every arriving event wakes
 * one more thread: under load all ThreadsPerChild threads run at once, on
 * a CPU or two, each holding the request it took while the scheduler
 * cycles through the others. The gate lets at most `budget` threads (the
 * CPUs the child may run on) wait in the poller or serve; the others wait
 * at the gate. A serving thread that blocks (a CGI, a proxied backend, a
 * slow disk) stops counting once the housekeeper sees it asleep, and so
 * does one that has served for long; a waiting thread takes its place.
 * Private to the event model. */
#ifndef LOOM_EVENT_GATE_H
#define LOOM_EVENT_GATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* How long a thread serves before the housekeeper looks whether it is
 * blocked: events wait at most about this long behind a blocked thread. */
#define EV_GATE_CHECK_MS 2

/* A thread serving this long stops counting even if it runs: a request
 * that computes for seconds (a big deflate, a script) must not hold the
 * others of its child behind it; past this they share the CPUs again. */
#define EV_GATE_LONG_MS 20

typedef struct ev_gate_seat {
    pid_t     tid;
    uint64_t  serving_since;   /* ms; 0 while not serving */
    int       blocked;         /* asleep, or serving for long: not counted */
} ev_gate_seat_t;

typedef struct ev_gate {
    pthread_mutex_t  lock;
    pthread_cond_t   called;
    int              budget;
    int              polling;     /* threads in (or entering) the poller */
    int              serving;     /* serving and counted */
    int              waiting;     /* at the gate */
    int              calls;       /* waiting threads called, not yet gone */
    int              open;        /* stopping: nobody waits at the gate */
    int              watched;     /* the housekeeper checks every few ms */
    ev_gate_seat_t  *seats;
    int              nseats;
} ev_gate_t;

/* `nseats` threads; the budget is the number of CPUs this process may run
 * on. Returns 0, or -1 (errno set). */
int ev_gate_init(ev_gate_t *g, ev_gate_seat_t *seats, int nseats);

/* The calling thread takes seat `seat` (once, at its start). */
void ev_gate_sit(ev_gate_t *g, int seat);

/* Before waiting in the poller: returns once this thread may. */
void ev_gate_enter(ev_gate_t *g);

/* Back from the poller, with an event to serve (`got`) or not. Returns 1
 * when the housekeeper must be woken to start watching. */
int ev_gate_took(ev_gate_t *g, int seat, int got, uint64_t now);

/* The event taken is served. */
void ev_gate_done(ev_gate_t *g, int seat);

/* The event taken is served by code that mostly waits on its own (the
 * main connection of an HTTP/2 session, which sleeps in mod_http2's poll
 * while its streams run on mod_http2's threads): the thread stops counting
 * at once. Left to the housekeeper, every such wait kept the other
 * connections of the child from being served for up to EV_GATE_CHECK_MS. */
void ev_gate_step_aside(ev_gate_t *g, int seat);

/* Stopping: every thread passes the gate from now on. */
void ev_gate_open(ev_gate_t *g);

/* From the housekeeper: threads serving for a while that sleep, or that
 * have served for long, stop counting and make room for waiting ones
 * (*released says how many). Returns when to look again (ms), or -1 when
 * nothing needs watching. */
int ev_gate_check(ev_gate_t *g, uint64_t now, int *released);

#endif
