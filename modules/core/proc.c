/* Fork, reap, signal and reclaim children (see proc.h). */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "http_main.h"
#include "http_log.h"
#include "mpm_common.h"

#include "loom/child.h"
#include "loom/figures.h"
#include "loom/log.h"
#include "loom/memory.h"
#include "loom/proc.h"
#include "loom/sb.h"


int
loom_proc_spawn(loom_state_t *st, int slot)
{
    loom_retained_t *r = st->retained;
    loom_slot_t *sl = &r->slots[slot];
    int bucket = slot % st->num_buckets;
    sigset_t all, old;
    pid_t pid;

    if (!loom_memory_room(st)) {
        return -ENOMEM;
    }
    loom_sb_child_starting(st, slot);
    /* No signal may reach the child before it has its own handlers: the
     * parent's would only set flags that nobody in the child reads. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0) {
        loom_child_run(st, slot, bucket);    /* unblocks, never returns */
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        int err = errno;

        loom_sb_child_gone(st, slot);
        if (!r->fork_failing) {
            r->fork_failing = 1;
            ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf,
                         LOOMNO(0301) "fork() for a new child failed; "
                         "serving with the children there are and trying "
                         "again every second");
        }
        return -err;
    }
    if (r->fork_failing) {
        r->fork_failing = 0;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf, LOOMNO(0304)
                     "fork() works again");
    }
    sl->pid = pid;
    sl->generation = r->mpm->my_generation;
    sl->bucket = bucket;
    sl->draining = 0;
    sl->drain_cut = 0;
    sl->killed = 0;
    sl->started = apr_time_now();
    loom_sb_child_started(st, slot, pid);
    loom_figures_parent_child_started();
    if (slot + 1 > r->max_slot_used) {
        r->max_slot_used = slot + 1;
    }
    ap_run_child_status(ap_server_conf, pid, sl->generation, slot,
                        MPM_CHILD_STARTED);
    return 0;
}


int
loom_proc_current(const loom_state_t *st, int slot)
{
    const loom_retained_t *r = st->retained;
    const loom_slot_t *sl = &r->slots[slot];

    return sl->pid != 0 && !sl->draining
           && sl->generation == r->mpm->my_generation;
}


int
loom_proc_free_slot(const loom_state_t *st)
{
    int i;

    for (i = 0; i < st->retained->first_server_limit; i++) {
        if (st->retained->slots[i].pid == 0) {
            return i;
        }
    }
    return -1;
}


static int
slot_of(const loom_state_t *st, pid_t pid)
{
    int i;

    for (i = 0; i < st->retained->max_slot_used; i++) {
        if (st->retained->slots[i].pid == pid) {
            return i;
        }
    }
    return -1;
}


int
loom_proc_reap(loom_state_t *st, loom_reaped_fn *fn, void *ctx)
{
    apr_exit_why_e why;
    apr_proc_t proc;
    int code, slot, n = 0;

    while (apr_proc_wait_all_procs(&proc, &code, &why, APR_NOWAIT,
                                   st->pconf) == APR_CHILD_DONE) {
        n++;
        slot = slot_of(st, proc.pid);
        if (slot < 0) {
            /* Not ours: a piped logger or mod_cgid's daemon, which their
             * modules restart through APR's other-child registry. */
            apr_proc_other_child_alert(&proc, APR_OC_REASON_DEATH, code);
            continue;
        }
        loom_slot_t gone = st->retained->slots[slot];

        loom_sb_child_gone(st, slot);
        st->retained->slots[slot].pid = 0;
        ap_run_child_status(ap_server_conf, proc.pid, gone.generation, slot,
                            MPM_CHILD_EXITED);
        if (fn != NULL) {
            fn(ctx, slot, &gone, why, code);
        }
    }
    return n;
}


void
loom_proc_drain(loom_state_t *st, int slot)
{
    loom_slot_t *sl = &st->retained->slots[slot];

    if (sl->pid == 0 || sl->draining) {
        return;
    }
    sl->draining = 1;
    sl->drain_since = apr_time_now();
    if (st->ops->caps & LOOM_CAP_THREADED) {
        loom_sb_child_quiescing(slot);
    }
    loom_sb_child_finishing(st, slot);
    kill(sl->pid, SIGUSR1);
}


void
loom_proc_signal_all(loom_state_t *st, int sig, int gen)
{
    int i;

    for (i = 0; i < st->retained->max_slot_used; i++) {
        loom_slot_t *sl = &st->retained->slots[i];

        if (sl->pid != 0 && (gen < 0 || sl->generation == gen)) {
            if (sig == SIGKILL) {
                sl->killed = 1;
            }
            kill(sl->pid, sig);
        }
    }
}


int
loom_proc_live(const loom_state_t *st)
{
    int i, n = 0;

    for (i = 0; i < st->retained->max_slot_used; i++) {
        n += st->retained->slots[i].pid != 0;
    }
    return n;
}


void
loom_proc_reclaim(loom_state_t *st, int sig, apr_interval_time_t kill_after,
                  loom_reaped_fn *fn, void *ctx)
{
    apr_time_t start = apr_time_now();
    apr_interval_time_t pause = apr_time_from_msec(5);
    int killed = 0;

    loom_proc_signal_all(st, sig, -1);
    while (loom_proc_live(st) > 0) {
        apr_time_t waited;

        loom_proc_reap(st, fn, ctx);
        waited = apr_time_now() - start;
        if (loom_proc_live(st) == 0) {
            break;
        }
        if (!killed && waited >= kill_after) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         LOOMNO(0302) "%d children did not exit within %"
                         APR_TIME_T_FMT " ms of the stop; sending SIGKILL",
                         loom_proc_live(st), apr_time_as_msec(kill_after));
            loom_proc_signal_all(st, SIGKILL, -1);
            killed = 1;
        }
        if (killed && waited >= kill_after + apr_time_from_sec(5)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                         LOOMNO(0303) "%d children survived SIGKILL; giving "
                         "up on them", loom_proc_live(st));
            break;
        }
        apr_sleep(pause);
        if (pause < apr_time_from_msec(100)) {
            pause *= 2;
        }
    }
}
