/* A connection's states in the engine (loom/engine.h), and the rules about
 * them that need no connection: which moves are legal, which state the
 * process_connection hooks leave a connection in, which mod_status figure
 * a parked state counts in, what a parked state waits for. Pure functions:
 * any thread. */
#ifndef LOOM_CONN_STATE_H
#define LOOM_CONN_STATE_H

#include "httpd.h"

/* Where a connection is, not what it last did. */
typedef enum loom_conn_state {
    LOOM_CONN_HANDSHAKE,  /* a TLS handshake waiting for the client */
    LOOM_CONN_HEAD,       /* waiting for a whole request head (no thread) */
    LOOM_CONN_PROCESS,    /* the process_connection hooks run on a thread */
    LOOM_CONN_WRITE,      /* write completion: flushing what the core kept */
    LOOM_CONN_KEEPALIVE,  /* between requests */
    LOOM_CONN_WAITIO,     /* a protocol module (HTTP/2) waits for I/O */
    LOOM_CONN_LINGER,     /* lingering close: reading until EOF or deadline */
    LOOM_CONN_SUSPENDED,  /* a module owns it (handler returned SUSPENDED) */
    LOOM_CONN_CLOSED      /* no connection: a new or recycled record */
} loom_conn_state_e;

#define LOOM_CONN_STATES (LOOM_CONN_CLOSED + 1)

/* Figures mod_status shows per process. Each counts the connections
 * *parked* in its state, as stock event's queues do: one being served on
 * a thread counts as busy instead. The last two have no field in the
 * scoreboard; Loom shows them itself (loom/figures.h). */
typedef enum loom_conn_count {
    LOOM_COUNT_WRITE, LOOM_COUNT_KEEPALIVE, LOOM_COUNT_LINGER,
    LOOM_COUNT_WAITIO, LOOM_COUNT_SUSPENDED,
    LOOM_COUNT_HANDSHAKE, LOOM_COUNT_HEAD,
    LOOM_CONN_COUNTS
} loom_conn_count_e;

/* Whether a connection may go from `from` to `to`. Staying in a state is
 * parking in it, not a move. */
int loom_conn_move_ok(loom_conn_state_e from, loom_conn_state_e to);

/* The state after the process_connection hooks returned `rc` and left the
 * connection in `cs_state` (`aborted`: c->aborted). */
loom_conn_state_e loom_conn_after_hooks(int rc, conn_state_e cs_state,
                                        int aborted);

/* The mod_status figure parked state `s` counts in, or -1. */
int loom_conn_count_of(loom_conn_state_e s);

/* Whether state `s` can park in the poller (or with a module, SUSPENDED). */
int loom_conn_parks(loom_conn_state_e s);

/* The state's name, for messages. */
const char *loom_conn_state_name(loom_conn_state_e s);

#endif
