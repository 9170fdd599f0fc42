/* Scoreboard writes (see sb.h). */
#include "httpd.h"
#include "ap_mpm.h"
#include "http_main.h"

#include "loom/sb.h"


void
loom_sb_child_starting(const loom_state_t *st, int slot)
{
    int t;

    for (t = 0; t < st->cfg->threads_per_child; t++) {
        ap_update_child_status_from_indexes(slot, t, SERVER_STARTING, NULL);
    }
}


void
loom_sb_child_started(const loom_state_t *st, int slot, pid_t pid)
{
    process_score *ps = ap_get_scoreboard_process(slot);

    ps->pid = pid;
    ps->generation = st->retained->mpm->my_generation;
    ps->quiescing = 0;
    ps->not_accepting = 0;
}


void
loom_sb_child_gone(const loom_state_t *st, int slot)
{
    process_score *ps = ap_get_scoreboard_process(slot);
    int t;

    for (t = 0; t < st->cfg->thread_limit; t++) {
        worker_score *ws = ap_get_scoreboard_worker_from_indexes(slot, t);

        if (ws->status != SERVER_DEAD) {
            ap_update_child_status_from_indexes(slot, t, SERVER_DEAD, NULL);
        }
    }
    ps->pid = 0;
    ps->quiescing = 0;
    ps->not_accepting = 0;
}


void
loom_sb_child_quiescing(int slot)
{
    ap_get_scoreboard_process(slot)->quiescing = 1;
}


void
loom_sb_child_finishing(const loom_state_t *st, int slot)
{
    int t;

    for (t = 0; t < st->cfg->threads_per_child; t++) {
        worker_score *ws = ap_get_scoreboard_worker_from_indexes(slot, t);

        if (ws->status != SERVER_DEAD) {
            ap_update_child_status_from_indexes(slot, t, SERVER_GRACEFUL, NULL);
        }
    }
}


void
loom_sb_thread_idle(int slot, int thread, int finishing)
{
    ap_update_child_status_from_indexes(slot, thread,
                                        finishing ? SERVER_GRACEFUL : SERVER_READY,
                                        NULL);
}


void
loom_sb_thread_status(int slot, int thread, int status)
{
    ap_update_child_status_from_indexes(slot, thread, status, NULL);
}


int
loom_sb_idle_threads(int slot, int threads)
{
    int t, idle = 0;

    for (t = 0; t < threads; t++) {
        int status = ap_get_scoreboard_worker_from_indexes(slot, t)->status;

        idle += status == SERVER_READY || status == SERVER_STARTING;
    }
    return idle;
}
