/* What the engine's two files share (engine.c: records, counts, parking
 * and deadlines; engine_conn.c: the state machine). Not for models: they
 * use loom/engine.h. Same thread rules as there. */
#ifndef LOOM_ENGINE_INT_H
#define LOOM_ENGINE_INT_H

#include "loom/engine.h"

/* Parks `c` in its state (one that parks): its deadline, its count, and
 * its descriptor armed one-shot in the poller for what the state waits
 * for. Runs the suspend_connection hooks first once modules have seen the
 * connection. Takes the child lock. Returns 0, or -1 when the poller
 * refused the descriptor (logged): nothing is armed or counted then, and
 * the caller must close the connection, as no event will ever come. */
int loom_engine_park(loom_conn_t *c);

/* The same, under the child lock and without the hooks. */
int loom_engine_park_locked(loom_conn_t *c);

/* `c`'s event arrived: its deadline is disarmed and it leaves its count.
 * Returns whether the deadline had passed. Takes the child lock. */
int loom_engine_unpark(loom_conn_t *c);

/* `c` joins the suspended list (a module owns it). Takes the lock. */
void loom_engine_suspend(loom_conn_t *c);

/* Under the lock: `c` leaves the suspended list and count (the caller
 * moves its state on). */
void loom_engine_unsuspend_locked(loom_conn_t *c);

/* Under the lock: `c`, which the poller refused, waits on `e->unarmed`
 * for the thread that owns it to close it (loom_engine_close_unarmed). */
void loom_engine_unarmed_locked(loom_conn_t *c);

/* Closes `c` (its pool goes) and keeps or frees its record. */
void loom_engine_conn_put(loom_conn_t *c);

/* A thread has `c`: if it was accepted later, it leaves engine->fresh.
 * From the thread that holds `c`. */
void loom_engine_taken(loom_conn_t *c);

/* When a head or a TLS handshake still waiting without a thread has had
 * its time: Timeout from the start of the wait, or mod_reqtimeout's header
 * or handshake stage if that ends first (loom/headtime.h). */
uint64_t loom_engine_wait_deadline(const loom_conn_t *c);

#endif
