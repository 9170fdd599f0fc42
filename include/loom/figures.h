/* Figures the processes of one server show each other, in memory the
 * parent maps before its first fork and keeps for its whole life: what a
 * child knows that the scoreboard has no field for (connections waiting
 * without a thread, its gate, its accept pauses) and what only the parent
 * knows (children started and crashed, crash back-off, drains cut). Read
 * by mod_status's hook (status.c) and the metrics handler (metrics.c).
 *
 * Counters never go back while the parent lives, across graceful and hard
 * restarts alike: when a child is reaped the parent folds its counters
 * into the server's, under a sequence count that readers retry on.
 *
 * Threads: loom_figures_create and the loom_figures_parent_* functions
 * from the parent's one thread. A child writes only its own slot (the
 * loom_figures_publish_* and loom_figures_count_* functions), from any of
 * its threads. Readers (loom_figures_read) from any thread of any
 * process. */
#ifndef LOOM_FIGURES_H
#define LOOM_FIGURES_H

#include <stdint.h>

#include "httpd.h"

/* Crashes are counted by signal number; index 0 counts the children that
 * crashed by exiting with an error status. */
#define LOOM_FIGURES_SIGNALS 65

/* One slot's figures, as a reader sees them. */
typedef struct loom_slot_figures {
    uint64_t requests;         /* since this child started */
    uint64_t body_bytes;       /* of its responses' bodies */
    int      handshakes;       /* TLS handshakes waiting for their client */
    int      heads;            /* request heads waiting to be whole */
    int      gate_budget;      /* loom_event's gate; 0 in other models */
    int      gate_waiting;     /* threads waiting at it */
    uint64_t accept_pauses;    /* since this child started */
} loom_slot_figures_t;

/* The server's figures, as a reader sees them. The counters include every
 * child gone; requests, body_bytes and accept_pauses do not include the
 * live children's (add their slots'). */
typedef struct loom_server_figures {
    uint64_t   requests;
    uint64_t   body_bytes;
    uint64_t   accept_pauses;
    uint64_t   child_starts;
    uint64_t   child_exits;
    uint64_t   crashes[LOOM_FIGURES_SIGNALS];
    uint64_t   drain_cuts;
    uint64_t   restarts_graceful;
    uint64_t   restarts_hard;
    apr_time_t backoff_until;  /* no child is forked before; 0: none */
    int        crash_burst;    /* crashes in the current burst */
    int        memory_capped;  /* LoomMemoryShare keeps children from forking */
} loom_server_figures_t;

/* Parent, before the first fork: the shared table for `slots` process
 * slots. 0, or -1 (logged: the figures then read as zeros). */
int loom_figures_create(int slots);

/* Child in `slot`: its waiting connections, its gate, an accept pause. */
void loom_figures_publish_waits(int slot, int handshakes, int heads);
void loom_figures_publish_gate_budget(int slot, int budget);
void loom_figures_publish_gate_waiting(int slot, int waiting);
void loom_figures_count_accept_pause(int slot);
/* Child in `slot`: a request ended, with `body_bytes` of response body. */
void loom_figures_count_request(int slot, uint64_t body_bytes);

/* Parent: a child was forked; a child in `slot` was reaped
 * (`crash`: -1 not a crash, 0 an error exit status, else the signal that
 * killed it); LoomDrainTimeout stopped a child; a restart began. */
void loom_figures_parent_child_started(void);
void loom_figures_parent_child_gone(int slot, int crash);
void loom_figures_parent_drain_cut(void);
void loom_figures_parent_restart(int graceful);
/* Parent: the crash back-off and the memory cap, as they are now. */
void loom_figures_parent_backoff(apr_time_t until, int burst);
void loom_figures_parent_memory_capped(int capped);

/* Any process: a consistent copy of the server's figures and of slots
 * 0..nslots-1 (`slots` may be NULL). 0; or -1, with zeros, when there is
 * no table or a fold never seemed to end (a parent killed inside one). */
int loom_figures_read(loom_server_figures_t *server,
                      loom_slot_figures_t *slots, int nslots);

#endif
