/* The parent loop: start, reap, maintain capacity, and carry out the four
 * kinds of stop and restart (see master.h). */
#include <signal.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_signal.h"

#include "ap_mpm.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "loom/capacity.h"
#include "loom/child.h"
#include "loom/log.h"
#include "loom/master.h"
#include "loom/proc.h"
#include "loom/sb.h"
#include "loom/figures.h"
#include "loom/signals.h"

#define TICK_MS 1000
#define MONITOR_EVERY 10          /* ticks between monitor hook runs */
#define HOLD_OFF_TICKS 10         /* no spawn-rate growth after a restart */
#define STOP_KILL_AFTER apr_time_from_sec(5)

enum run_end {             /* how this generation ends */
    END_STOP,              /* SIGTERM: abort everything, exit */
    END_GRACEFUL_STOP,     /* SIGWINCH: finish in-flight work, exit */
    END_RESTART,           /* SIGHUP: abort everything, new generation */
    END_GRACEFUL,          /* SIGUSR1: old children finish, new generation */
    END_FATAL              /* a child could not start at all */
};

typedef struct master {
    loom_state_t    *st;
    loom_retained_t *r;
    server_rec      *s;
    int              fatal;         /* a current child exited CHILDFATAL */
    /* StartServers children that found no free slot at a graceful restart
     * (old children still held them): each is forked as a slot frees. */
    int              starts_owed;
    int              ticks;
    apr_time_t       next_tick;
} master_t;


static void
log_crash(master_t *m, int slot, const loom_slot_t *sl, apr_exit_why_e why,
          int code, apr_time_t delay)
{
    loom_retained_t *r = m->r;

    if (delay == 0) {
        if (APR_PROC_CHECK_SIGNALED(why)) {
            /* httpd's fatal-signal handler moves into CoreDumpDirectory
             * (ServerRoot by default) before the signal kills the child,
             * so that is where a core with a relative core_pattern is. */
            int dumped = APR_PROC_CHECK_CORE_DUMP(why);

            ap_log_error(APLOG_MARK, APLOG_ERR, 0, m->s, LOOMNO(0401)
                         "child pid %" APR_PID_T_FMT " (slot %d) died on "
                         "signal %d (%s)%s%s; replacing it", sl->pid, slot,
                         code, apr_signal_description_get(code),
                         dumped ? ", core dumped in " : "",
                         dumped ? ap_coredump_dir : "");
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, m->s, LOOMNO(0402)
                         "child pid %" APR_PID_T_FMT " (slot %d) exited "
                         "with status %d; replacing it", sl->pid, slot, code);
        }
        return;
    }
    if (!r->burst_logged) {
        r->burst_logged = 1;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, m->s, LOOMNO(0403)
                     "children are crashing in a loop (%d in %" APR_TIME_T_FMT
                     " ms, the last %s %d); slowing down respawning to avoid "
                     "a fork storm", r->crashes.count,
                     apr_time_as_msec(r->crashes.last - r->crashes.first),
                     APR_PROC_CHECK_SIGNALED(why) ? "on signal" : "with status",
                     code);
    }
}


/* What the metrics show of the crash back-off: when it ends, or 0. */
static void
publish_backoff(const loom_retained_t *r, apr_time_t now)
{
    loom_figures_parent_backoff(r->spawn_not_before > now
                                ? r->spawn_not_before : 0, r->crashes.count);
}


static int
is_crash(const loom_slot_t *sl, apr_exit_why_e why, int code)
{
    if (APR_PROC_CHECK_SIGNALED(why)) {
        switch (code) {
        case SIGTERM:
        case SIGHUP:
        case SIGUSR1:
            return 0;       /* ours, arriving before its handlers */
        case SIGALRM:
            return 0;       /* the end of a stop-now's grace time */
        case SIGKILL:
            return !sl->killed;
        default:
            return 1;
        }
    }
    return code != 0 && code != APEXIT_CHILDSICK;
}


static void
on_reaped(void *ctx, int slot, const loom_slot_t *sl, apr_exit_why_e why,
          int code)
{
    master_t *m = ctx;
    loom_retained_t *r = m->r;
    int current = sl->generation == r->mpm->my_generation;
    int crash = is_crash(sl, why, code);
    apr_time_t now = apr_time_now();

    loom_figures_parent_child_gone(slot, !crash ? -1
                                   : APR_PROC_CHECK_SIGNALED(why) ? code : 0);
    if (APR_PROC_CHECK_EXIT(why) && code == APEXIT_CHILDFATAL && current) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, m->s, LOOMNO(0404)
                     "child pid %" APR_PID_T_FMT " exit signalled a fatal "
                     "error (see above); shutting the server down", sl->pid);
        m->fatal = 1;
        return;
    }
    if (APR_PROC_CHECK_EXIT(why) && code == APEXIT_CHILDSICK) {
        r->spawn_rate = 1;
    }
    if (crash && r->mpm->mpm_state == AP_MPMQ_RUNNING) {
        apr_time_t delay = loom_crash_note(&r->crashes, now);

        log_crash(m, slot, sl, why, code, delay);
        if (now + delay > r->spawn_not_before) {
            r->spawn_not_before = now + delay;
        }
        publish_backoff(r, now);
    }
    /* A current child that left on its own (MaxConnectionsPerChild, a
     * crash) is replaced at once, in its own slot, unless we are backing
     * off; idle maintenance trims any excess later. */
    if (current && !sl->draining && r->mpm->mpm_state == AP_MPMQ_RUNNING
        && !r->mpm->shutdown_pending && !r->mpm->restart_pending
        && now >= r->spawn_not_before) {
        loom_proc_spawn(m->st, slot);
    }
    else if (m->starts_owed > 0 && r->mpm->mpm_state == AP_MPMQ_RUNNING
             && !r->mpm->shutdown_pending && !r->mpm->restart_pending
             && now >= r->spawn_not_before
             && loom_proc_spawn(m->st, slot) == 0) {
        /* Not left to idle maintenance: in prefork each busy connection
         * holds one of these, and maintenance grows slowly after a restart
         * (hold-off, then 1, 2, 4... a second), which kept clients waiting
         * for seconds (t/reliability/faults_restarts.t). */
        m->starts_owed--;
    }
}


static void (*model_watch)(void);
static int (*model_held_up)(int slot);


void
loom_master_watch(void (*watch)(void), int (*held_up)(int slot))
{
    model_watch = watch;
    model_held_up = held_up;
}


static int
idle_of(const master_t *m, int slot)
{
    if (ap_get_scoreboard_process(slot)->not_accepting) {
        /* At its bound (AsyncRequestWorkerFactor, LoomConnectionsPerProcess):
         * its idle workers take no new connection now. */
        return 0;
    }
    if (model_held_up != NULL) {
        return model_held_up(slot) ? 0 : 1;
    }
    return loom_sb_idle_threads(slot, m->st->cfg->threads_per_child);
}


static void
count(master_t *m, struct loom_capacity_in *in)
{
    const loom_cfg_t *cfg = m->st->cfg;
    int i;

    memset(in, 0, sizeof(*in));
    for (i = 0; i < m->r->first_server_limit; i++) {
        if (m->r->slots[i].pid == 0) {
            in->free_slots++;
        }
        else if (loom_proc_current(m->st, i)) {
            in->active++;
            in->idle += idle_of(m, i);
        }
    }
    in->max_active = cfg->max_daemons;
    in->per_child = cfg->threads_per_child;
    in->min_spare = cfg->min_spare;
    in->max_spare = cfg->max_spare;
    in->rate = m->r->spawn_rate;
    in->hold_off = m->r->hold_off;
}


/* The child to retire: the current one that holds the fewest connections
 * (async models publish them; a retiring child must close those it holds),
 * then the one with the most idle workers; the highest slot wins a tie, so
 * that the low slots stay packed. */
static int
child_to_retire(master_t *m)
{
    int i, best = -1, best_conns = 0, best_idle = -1;

    for (i = 0; i < m->r->max_slot_used; i++) {
        int idle, conns;

        if (!loom_proc_current(m->st, i)) {
            continue;
        }
        conns = (int) ap_get_scoreboard_process(i)->connections;
        idle = idle_of(m, i);
        if (best < 0 || conns < best_conns
            || (conns == best_conns && idle >= best_idle)) {
            best = i;
            best_conns = conns;
            best_idle = idle;
        }
    }
    return best;
}


static void
report_limit(master_t *m, const struct loom_capacity_in *in)
{
    const loom_cfg_t *cfg = m->st->cfg;

    if (m->r->reported_limit) {
        return;
    }
    m->r->reported_limit = 1;
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, m->s, LOOMNO(0405)
                 "server reached MaxRequestWorkers (%d = %d processes x %d "
                 "workers, with %d scoreboard slots free): consider raising "
                 "MaxRequestWorkers%s", cfg->max_workers, cfg->max_daemons,
                 cfg->threads_per_child, in->free_slots,
                 in->free_slots == 0 ? " and ServerLimit" : "");
}


static void
maintain(master_t *m)
{
    struct loom_capacity_in in;
    struct loom_capacity_out out;
    int i;

    count(m, &in);
    out = loom_capacity_decide(&in);
    if (out.retire) {
        int slot = child_to_retire(m);

        if (slot >= 0) {
            loom_proc_drain(m->st, slot);
        }
    }
    if (out.at_limit) {
        report_limit(m, &in);
    }
    if (apr_time_now() < m->r->spawn_not_before) {
        return;          /* crash back-off */
    }
    if (m->r->crashes.count > LOOM_CRASH_FREE) {
        /* Children keep crashing: one at a time, and no rate growth, or
         * every back-off would end in a burst of forks that crash too. */
        out.spawn = out.spawn > 0 ? 1 : 0;
        out.next_rate = 1;
    }
    if (out.spawn >= 8) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, m->s, LOOMNO(0406)
                     "server seems busy (you may need to increase "
                     "StartServers or the spare settings): spawning %d "
                     "children, %d idle workers, %d children", out.spawn,
                     in.idle, in.active);
    }
    for (i = 0; i < out.spawn; i++) {
        int slot = loom_proc_free_slot(m->st);

        if (slot < 0 || loom_proc_spawn(m->st, slot) != 0) {
            out.next_rate = 1;
            break;
        }
    }
    m->r->spawn_rate = out.next_rate;
    if (m->r->hold_off > 0) {
        m->r->hold_off--;
    }
}


/* LoomDrainTimeout: a child told to finish that still holds connections
 * after the timeout (a long download, a WebSocket tunnel, a keep-alive
 * client that never pauses) is stopped, so that an old generation cannot
 * hold its slots and its memory for ever. The child's stop closes what it
 * holds at once. */
static void
cut_long_drains(master_t *m, apr_time_t now)
{
    apr_time_t limit = apr_time_from_sec(m->st->cfg->drain_timeout);
    int i;

    if (limit <= 0) {
        return;
    }
    for (i = 0; i < m->r->max_slot_used; i++) {
        loom_slot_t *sl = &m->r->slots[i];

        if (sl->pid == 0 || !sl->draining || sl->drain_cut
            || now - sl->drain_since < limit) {
            continue;
        }
        sl->drain_cut = 1;
        loom_figures_parent_drain_cut();
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, m->s, LOOMNO(0417)
                     "child pid %" APR_PID_T_FMT " has not finished %d s "
                     "after it was told to; LoomDrainTimeout stops it now, "
                     "closing the connections it still serves", sl->pid,
                     m->st->cfg->drain_timeout);
        kill(sl->pid, SIGTERM);
    }
}


static void
tick(master_t *m)
{
    loom_retained_t *r = m->r;
    apr_time_t now = apr_time_now();

    if (++m->ticks % MONITOR_EVERY == 0) {
        ap_run_monitor(m->st->pconf, m->s);
    }
    apr_proc_other_child_refresh_all(APR_OC_REASON_RUNNING);
    ap_update_global_status();
    if (loom_crash_burst_over(&r->crashes, now)) {
        if (r->burst_logged) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, m->s, LOOMNO(0407)
                         "crash loop over: %d children crashed in %"
                         APR_TIME_T_FMT " s", r->crashes.count,
                         apr_time_sec(r->crashes.last - r->crashes.first));
        }
        memset(&r->crashes, 0, sizeof(r->crashes));
        r->burst_logged = 0;
    }
    publish_backoff(r, now);
    cut_long_drains(m, now);
    maintain(m);
}


/* During a crash burst the back-off delay may end between two ticks: the
 * child owed then is forked at that moment, not at the next tick (which,
 * with a 1 s cap and a 1 s tick, would come just before the delay ends and
 * double every wait). */
static void
respawn_due(master_t *m)
{
    struct loom_capacity_in in;
    struct loom_capacity_out out;
    int slot;

    if (m->r->crashes.count <= LOOM_CRASH_FREE
        || apr_time_now() < m->r->spawn_not_before) {
        return;
    }
    count(m, &in);
    out = loom_capacity_decide(&in);
    if (out.spawn > 0 && (slot = loom_proc_free_slot(m->st)) >= 0) {
        loom_proc_spawn(m->st, slot);
        /* One child per wait: the next waits for the tick, whatever other
         * wake-ups come before it. */
        m->r->spawn_not_before = m->next_tick;
    }
}


static enum run_end
serve(master_t *m)
{
    ap_unixd_mpm_retained_data *mpm = m->r->mpm;

    m->next_tick = apr_time_now() + apr_time_from_msec(TICK_MS);
    while (!mpm->shutdown_pending && !mpm->restart_pending && !m->fatal) {
        apr_time_t now = apr_time_now();
        apr_time_t wake = m->next_tick;
        int ms;

        if (m->r->crashes.count > LOOM_CRASH_FREE
            && m->r->spawn_not_before > now && m->r->spawn_not_before < wake) {
            wake = m->r->spawn_not_before;
        }
        ms = now >= wake ? 0 : (int) apr_time_as_msec(wake - now) + 1;
        if (model_watch != NULL && ms > LOOM_WATCH_MS) {
            ms = LOOM_WATCH_MS;
        }
        loom_signals_parent_wait(ms);
        if (model_watch != NULL) {
            model_watch();
        }
        loom_proc_reap(m->st, on_reaped, m);
        if (apr_time_now() >= m->next_tick) {
            tick(m);
            m->next_tick = apr_time_now() + apr_time_from_msec(TICK_MS);
        }
        else {
            respawn_due(m);
        }
    }
    if (m->fatal) {
        return END_FATAL;
    }
    if (mpm->shutdown_pending) {
        return mpm->is_ungraceful ? END_STOP : END_GRACEFUL_STOP;
    }
    return mpm->is_ungraceful ? END_RESTART : END_GRACEFUL;
}


static void
start_children(master_t *m)
{
    int i, slot;

    for (i = 0; i < m->st->cfg->start_servers; i++) {
        slot = loom_proc_free_slot(m->st);
        if (slot < 0 || loom_proc_spawn(m->st, slot) != 0) {
            break;
        }
    }
    m->starts_owed = m->st->cfg->start_servers - i;
    if (m->starts_owed > 0 && slot < 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, m->s, LOOMNO(0418)
                     "%d of StartServers %d children wait for scoreboard "
                     "slots that old children still hold; each starts as "
                     "one frees (ServerLimit %d)", m->starts_owed,
                     m->st->cfg->start_servers,
                     m->r->first_server_limit);
    }
}


/* After a graceful restart: the new children are forked first, then the
 * old ones are told to finish. The listening sockets never close, so a
 * connection that arrives in between waits in the backlog. */
static void
drain_old_generation(master_t *m)
{
    int i;

    for (i = 0; i < m->r->max_slot_used; i++) {
        const loom_slot_t *sl = &m->r->slots[i];

        if (sl->pid != 0 && sl->generation != m->r->mpm->my_generation) {
            loom_proc_drain(m->st, i);
        }
    }
}


static void
graceful_stop(master_t *m)
{
    ap_unixd_mpm_retained_data *mpm = m->r->mpm;
    int timeout = ap_graceful_shutdown_timeout;
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(timeout);
    int i;

    ap_close_listeners();
    for (i = 0; i < m->r->max_slot_used; i++) {
        loom_proc_drain(m->st, i);
    }
    while (loom_proc_live(m->st) > 0) {
        loom_signals_parent_wait(100);
        loom_proc_reap(m->st, on_reaped, m);
        if (mpm->is_ungraceful) {
            break;      /* a plain stop arrived meanwhile */
        }
        if (timeout > 0 && apr_time_now() >= deadline) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, m->s, LOOMNO(0408)
                         "GracefulShutdownTimeout of %d s expired with %d "
                         "children still busy; stopping them", timeout,
                         loom_proc_live(m->st));
            break;
        }
    }
    loom_proc_reclaim(m->st, SIGTERM, STOP_KILL_AFTER, on_reaped, m);
}


static int
finish(master_t *m, enum run_end end)
{
    ap_unixd_mpm_retained_data *mpm = m->r->mpm;
    apr_pool_t *pconf = m->st->pconf;

    mpm->mpm_state = AP_MPMQ_STOPPING;
    switch (end) {
    case END_STOP:
    case END_FATAL:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, m->s, LOOMNO(0410)
                     "%s, shutting down", end == END_STOP ? "stop requested (SIGTERM)"
                     : "a child hit a fatal error");
        loom_proc_reclaim(m->st, SIGTERM, STOP_KILL_AFTER, on_reaped, m);
        ap_remove_pid(pconf, ap_pid_fname);
        return end == END_STOP ? DONE : !OK;
    case END_GRACEFUL_STOP:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, m->s, LOOMNO(0411)
                     "caught SIGWINCH, shutting down gracefully");
        ap_remove_pid(pconf, ap_pid_fname);
        graceful_stop(m);
        return DONE;
    case END_RESTART:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, m->s, LOOMNO(0412)
                     "SIGHUP received; stopping children and restarting");
        loom_proc_reclaim(m->st, SIGTERM, STOP_KILL_AFTER, on_reaped, m);
        loom_figures_parent_restart(0);
        break;
    case END_GRACEFUL:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, m->s, LOOMNO(0413)
                     "graceful restart requested; old children finish "
                     "their work while new ones start");
        loom_figures_parent_restart(1);
        break;
    }
    mpm->my_generation++;
    ap_scoreboard_image->global->running_generation = mpm->my_generation;
    return OK;
}


static int
begin(master_t *m, apr_pool_t *pconf, server_rec *s)
{
    loom_retained_t *r = m->r;

    ap_log_pid(pconf, ap_pid_fname);
    if (!r->mpm->was_graceful) {
        if (ap_run_pre_mpm(s->process->pool, SB_SHARED) != OK) {
            r->mpm->mpm_state = AP_MPMQ_STOPPING;
            return !OK;
        }
        r->spawn_rate = 1;
    }
    if (r->slots == NULL) {
        r->slots = apr_pcalloc(ap_pglobal,
                               r->first_server_limit * sizeof(*r->slots));
        loom_figures_create(r->first_server_limit);
    }
    ap_scoreboard_image->global->running_generation = r->mpm->my_generation;
    ap_unixd_mpm_set_signals(pconf, m->st->one_process);
    loom_cfg_fit_buckets(m->st->cfg, m->st->ops->model, m->st->num_buckets);
    return OK;
}


int
loom_master_run(apr_pool_t *pconf, apr_pool_t *plog, server_rec *s)
{
    master_t m = { .st = loom_state(), .r = loom_state()->retained, .s = s };
    int rc;

    if (begin(&m, pconf, s) != OK) {
        return !OK;
    }
    if (m.st->one_process) {
        m.r->mpm->mpm_state = AP_MPMQ_RUNNING;
        loom_sb_child_started(m.st, 0, getpid());  /* as mod_status expects */
        loom_child_run(m.st, 0, 0);     /* -X: serve in this process */
    }
    rc = loom_signals_parent_begin();
    if (rc != 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, -rc, s, LOOMNO(0414)
                     "could not catch SIGCHLD");
        return !OK;
    }
    start_children(&m);
    if (m.r->mpm->was_graceful) {
        m.r->hold_off = HOLD_OFF_TICKS;
        drain_old_generation(&m);
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LOOMNO(0415)
                 "%s configured -- resuming normal operations",
                 ap_get_server_description());
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, LOOMNO(0416)
                 "Server built: %s", ap_get_server_built());
    ap_log_command_line(plog, s);
    ap_log_mpm_common(s);
    m.r->mpm->mpm_state = AP_MPMQ_RUNNING;
    rc = finish(&m, serve(&m));
    loom_signals_parent_end();
    return rc;
}
