/* The rules about a connection's states (see loom/conn_state.h). */
#include "loom/conn_state.h"

#define MOVE(to) (1u << (to))

/* For each state, the states it may move to. Any parked state may close
 * when its deadline passes (its socket is already shut then). */
static const unsigned moves[LOOM_CONN_STATES] = {
    [LOOM_CONN_HANDSHAKE] = MOVE(LOOM_CONN_HEAD)       /* done: its head */
                            | MOVE(LOOM_CONN_PROCESS) | MOVE(LOOM_CONN_CLOSED),
    [LOOM_CONN_HEAD]      = MOVE(LOOM_CONN_PROCESS) | MOVE(LOOM_CONN_CLOSED),
    [LOOM_CONN_PROCESS]   = MOVE(LOOM_CONN_WRITE) | MOVE(LOOM_CONN_WAITIO)
                            | MOVE(LOOM_CONN_SUSPENDED)
                            | MOVE(LOOM_CONN_LINGER),
    [LOOM_CONN_WRITE]     = MOVE(LOOM_CONN_KEEPALIVE)
                            | MOVE(LOOM_CONN_PROCESS)  /* pipelined */
                            | MOVE(LOOM_CONN_LINGER) | MOVE(LOOM_CONN_CLOSED),
    [LOOM_CONN_KEEPALIVE] = MOVE(LOOM_CONN_HEAD) | MOVE(LOOM_CONN_CLOSED),
    [LOOM_CONN_WAITIO]    = MOVE(LOOM_CONN_PROCESS) | MOVE(LOOM_CONN_CLOSED),
    [LOOM_CONN_LINGER]    = MOVE(LOOM_CONN_CLOSED),
    [LOOM_CONN_SUSPENDED] = MOVE(LOOM_CONN_WRITE),     /* resumed */
    [LOOM_CONN_CLOSED]    = MOVE(LOOM_CONN_HEAD)       /* accepted */
                            | MOVE(LOOM_CONN_HANDSHAKE)   /* ...TLS */
                            | MOVE(LOOM_CONN_KEEPALIVE)   /* handed over
                                                           * between requests */
                            | MOVE(LOOM_CONN_LINGER),  /* ...and refused */
};


int
loom_conn_move_ok(loom_conn_state_e from, loom_conn_state_e to)
{
    if ((unsigned) from >= LOOM_CONN_STATES
        || (unsigned) to >= LOOM_CONN_STATES) {
        return 0;
    }
    return (moves[from] & MOVE(to)) != 0;
}


loom_conn_state_e
loom_conn_after_hooks(int rc, conn_state_e cs_state, int aborted)
{
    if ((rc != OK && rc != DONE) || aborted) {
        return LOOM_CONN_LINGER;
    }
    switch (cs_state) {
    case CONN_STATE_KEEPALIVE:          /* modules mean "flush first" */
    case CONN_STATE_WRITE_COMPLETION:
        return LOOM_CONN_WRITE;
    case CONN_STATE_ASYNC_WAITIO:
        return LOOM_CONN_WAITIO;
    case CONN_STATE_SUSPENDED:
        return LOOM_CONN_SUSPENDED;
    case CONN_STATE_LINGER:
    case CONN_STATE_LINGER_NORMAL:
    case CONN_STATE_LINGER_SHORT:
        return LOOM_CONN_LINGER;
    case CONN_STATE_PROCESSING:         /* nobody said what comes next */
    case CONN_STATE_HANDLER:
    case CONN_STATE_NUM:
        break;
    }
    return LOOM_CONN_LINGER;
}


int
loom_conn_count_of(loom_conn_state_e s)
{
    switch (s) {
    case LOOM_CONN_WRITE:     return LOOM_COUNT_WRITE;
    case LOOM_CONN_KEEPALIVE: return LOOM_COUNT_KEEPALIVE;
    case LOOM_CONN_LINGER:    return LOOM_COUNT_LINGER;
    case LOOM_CONN_WAITIO:    return LOOM_COUNT_WAITIO;
    case LOOM_CONN_SUSPENDED: return LOOM_COUNT_SUSPENDED;
    case LOOM_CONN_HANDSHAKE: return LOOM_COUNT_HANDSHAKE;
    case LOOM_CONN_HEAD:      return LOOM_COUNT_HEAD;
    case LOOM_CONN_PROCESS:
    case LOOM_CONN_CLOSED:
        break;
    }
    return -1;
}


int
loom_conn_parks(loom_conn_state_e s)
{
    switch (s) {
    case LOOM_CONN_HANDSHAKE:
    case LOOM_CONN_HEAD:
    case LOOM_CONN_WRITE:
    case LOOM_CONN_KEEPALIVE:
    case LOOM_CONN_WAITIO:
    case LOOM_CONN_LINGER:
    case LOOM_CONN_SUSPENDED:
        return 1;
    case LOOM_CONN_PROCESS:
    case LOOM_CONN_CLOSED:
        break;
    }
    return 0;
}


const char *
loom_conn_state_name(loom_conn_state_e s)
{
    switch (s) {
    case LOOM_CONN_HANDSHAKE: return "handshake";
    case LOOM_CONN_HEAD:      return "head";
    case LOOM_CONN_PROCESS:   return "process";
    case LOOM_CONN_WRITE:     return "write";
    case LOOM_CONN_KEEPALIVE: return "keepalive";
    case LOOM_CONN_WAITIO:    return "waitio";
    case LOOM_CONN_LINGER:    return "linger";
    case LOOM_CONN_SUSPENDED: return "suspended";
    case LOOM_CONN_CLOSED:    return "closed";
    }
    return "?";
}
