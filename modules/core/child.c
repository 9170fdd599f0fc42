/* A child's life (see child.h). */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "apr_thread_mutex.h"

#include "httpd.h"
#include "ap_mpm.h"
#include "http_main.h"
#include "http_log.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/log.h"


/* In a threaded child, threads create and destroy subpools of pchild
 * concurrently: apr_thread_exit() destroys the thread's own pool, and
 * modules (mod_http2, mod_proxy) make pools of their own from their
 * threads. A pool's list of subpools and its allocator's free lists are
 * guarded only by the allocator's mutex, when it has one; without it, two
 * threads leaving at once corrupted them and the child crashed on exit. */
static void
make_pool(loom_child_t *ch)
{
    apr_allocator_t *allocator;
    apr_thread_mutex_t *mutex;

    apr_allocator_create(&allocator);
    apr_allocator_max_free_set(allocator, ap_max_mem_free);
    apr_pool_create_ex(&ch->pchild, ch->st->pconf, NULL, allocator);
    apr_allocator_owner_set(allocator, ch->pchild);
    apr_pool_tag(ch->pchild, "pchild");
    if (ch->st->ops->caps & LOOM_CAP_THREADED) {
        apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT, ch->pchild);
        apr_allocator_mutex_set(allocator, mutex);
    }
}


static void
run_child_init(loom_child_t *ch)
{
    sigset_t all, old;

    /* Threads that modules start in child_init inherit this mask, so that
     * our stop signals always reach the thread that expects them. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    ap_run_child_init(ch->pchild, ap_server_conf);
    sigprocmask(SIG_SETMASK, &old, NULL);
}


/* This process's child record; slot -1 until loom_child_run fills it. */
static loom_child_t child = { .slot = -1 };


int
loom_child_slot(void)
{
    return child.slot;
}


void
loom_child_run(loom_state_t *st, int slot, int bucket)
{
    loom_child_t *ch = &child;

#if AP_HAS_THREAD_LOCAL
    ap_thread_current_after_fork();
#endif
    ch->st = st;
    ch->slot = slot;
    ch->bucket = bucket;
    ch->generation = st->retained->mpm->my_generation;
    ch->parent = getppid();
    loom_signals_child_install(-1);
    if (!st->one_process) {
        /* A parent that dies unexpectedly takes its children along,
         * gracefully: they finish what they serve. */
        prctl(PR_SET_PDEATHSIG, SIGUSR1);
    }
    ap_fatal_signal_child_setup(ap_server_conf);
    make_pool(ch);
    ap_thread_main_create(&ch->thread, ch->pchild);
    ap_reopen_scoreboard(ch->pchild, NULL, 0);
    if (ap_run_drop_privileges(ch->pchild, ap_server_conf) != 0) {
        loom_child_exit(ch, APEXIT_CHILDFATAL);
    }
    run_child_init(ch);
    st->retained->mpm->mpm_state = AP_MPMQ_RUNNING;
    st->ops->child_main(ch);
    loom_child_exit(ch, 0);
}


static loom_stop_e
exit_reason_now(loom_child_t *ch)
{
    loom_stop_e how = loom_signals_child_pending();

    if (how != LOOM_STOP_NONE) {
        return how;
    }
    if (ap_max_requests_per_child > 0
        && atomic_load_explicit(&ch->conns, memory_order_relaxed)
           >= ap_max_requests_per_child) {
        return LOOM_STOP_GRACEFUL;
    }
    if (ap_scoreboard_image->global->running_generation != ch->generation) {
        return LOOM_STOP_GRACEFUL;
    }
    if (!ch->st->one_process && getppid() != ch->parent) {
        return LOOM_STOP_GRACEFUL;
    }
    return LOOM_STOP_NONE;
}


loom_stop_e
loom_child_exit_reason(loom_child_t *ch)
{
    loom_stop_e how = exit_reason_now(ch);

    /* Recorded, so that every later look (the MPM state other modules
     * query, a draining loop) sees the stop, whatever told us. */
    if (how != LOOM_STOP_NONE && loom_signals_child_pending() < how) {
        loom_signals_child_request(how);
    }
    return how;
}


void
loom_child_stopping(loom_child_t *ch, int graceful)
{
    if (ch->stopping) {
        return;
    }
    ch->stopping = 1;
    ch->st->retained->mpm->mpm_state = AP_MPMQ_STOPPING;
    ap_run_child_stopping(ch->pchild, graceful);
}


void
loom_child_exit(loom_child_t *ch, int code)
{
    loom_child_stopping(ch, code == 0);
    if (ch->pchild != NULL) {
        apr_pool_destroy(ch->pchild);
    }
    exit(code);
}
