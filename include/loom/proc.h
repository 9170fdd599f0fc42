/* Children as processes: fork into a slot, reap, signal, reclaim at stop.
 * Parent only. The policy (when to spawn, whom to retire, what a death
 * means) is master.c's; this file only does it. */
#ifndef LOOM_PROC_H
#define LOOM_PROC_H

#include "apr_thread_proc.h"

#include "loom/state.h"

/* Forks a child into `slot`. 0; -ENOMEM when LoomMemoryShare leaves no
 * room for it (loom/memory.h, logged once); or -errno (logged) when fork
 * failed. */
int loom_proc_spawn(loom_state_t *st, int slot);

/* Whether `slot` holds a live child of the current generation that was not
 * told to finish: one that counts as the server's capacity. */
int loom_proc_current(const loom_state_t *st, int slot);

/* The lowest slot with no process, or -1 when the scoreboard is full. */
int loom_proc_free_slot(const loom_state_t *st);

/* Called for every reaped child that held a slot, before the slot is
 * cleared; `sl` still describes the child. */
typedef void loom_reaped_fn(void *ctx, int slot, const loom_slot_t *sl,
                            apr_exit_why_e why, int code);

/* Reaps every child that has exited without waiting. Children that hold no
 * slot (piped loggers, mod_cgid's daemon) go to APR's other-child
 * handlers, which restart them. Returns how many were reaped. */
int loom_proc_reap(loom_state_t *st, loom_reaped_fn *fn, void *ctx);

/* Tells the child in `slot` to finish its work and exit (SIGUSR1). */
void loom_proc_drain(loom_state_t *st, int slot);

/* Sends `sig` to every child (those of `gen` only, when gen >= 0). */
void loom_proc_signal_all(loom_state_t *st, int sig, int gen);

/* Children alive now. */
int loom_proc_live(const loom_state_t *st);

/* Stops every child: `sig` at once, SIGKILL to those left after
 * `kill_after`, then waits (bounded) until all are reaped. */
void loom_proc_reclaim(loom_state_t *st, int sig, apr_interval_time_t kill_after,
                       loom_reaped_fn *fn, void *ctx);

#endif
