/* Every scoreboard write the core makes, so that mod_status stays honest.
 * Parent-side functions run in the parent only; the thread-slot ones run
 * in the thread that owns the slot. */
#ifndef LOOM_SB_H
#define LOOM_SB_H

#include "httpd.h"
#include "scoreboard.h"

#include "loom/state.h"

/* Parent, before fork: the child's thread slots show 'S'. */
void loom_sb_child_starting(const loom_state_t *st, int slot);
/* Parent, after fork: the process slot names the child. */
void loom_sb_child_started(const loom_state_t *st, int slot, pid_t pid);
/* Parent, after reaping: every thread slot '.', the process slot free. */
void loom_sb_child_gone(const loom_state_t *st, int slot);
/* Parent: the child was told to finish and exit. */
void loom_sb_child_quiescing(int slot);

/* Parent: the child was told to finish; its live thread slots show 'G'
 * until the child's own threads write a new status or exit. */
void loom_sb_child_finishing(const loom_state_t *st, int slot);

/* A thread with nothing to do: '_' while its child takes new work, 'G'
 * once the child only finishes what it holds (mod_status must not count
 * it as capacity). */
void loom_sb_thread_idle(int slot, int thread, int finishing);

/* A thread slot's status ('_', 'G', ...). */
void loom_sb_thread_status(int slot, int thread, int status);

/* Parent: idle workers of a child, counting slots still starting, the way
 * the stock MPMs count them. */
int loom_sb_idle_threads(int slot, int threads);

#endif
