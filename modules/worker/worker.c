/* loom_worker: ThreadsPerChild worker threads per child, fed by one
 * listener thread.
 *
 * The listener reserves an idle worker before it waits for a connection,
 * so a busy child stops taking connections and the kernel gives them to a
 * child that has room (EPOLLEXCLUSIVE wakes one waiting listener), and it
 * accepts straight into that worker's pool. A connection keeps its worker
 * thread until it closes, keep-alive waits included: that is the worker
 * model's documented trade-off.
 *
 * Named worker.c on purpose: httpd takes the module name from it, and
 * mod_http2 and <IfModule worker.c> recognise worker by that name. */
#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "httpd.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/config.h"
#include "loom/conn.h"
#include "loom/handoff.h"
#include "loom/listen.h"
#include "loom/log.h"
#include "loom/mpm.h"
#include "loom/poller.h"
#include "loom/sb.h"
#include "loom/tags.h"
#include "loom/threads.h"

extern module AP_MODULE_DECLARE_DATA mpm_loom_worker_module;

struct worker;

/* What the threads of one child share. `stop` is written by the main
 * thread (and by the listener for MaxConnectionsPerChild) and read by the
 * listener; the hand-off carries everything else between threads. A
 * worker's seat in the hand-off is its id. */
struct pool_of_threads {
    loom_child_t     *ch;
    loom_handoff_t    handoff;
    loom_listeners_t  listeners;     /* the listener thread's */
    struct worker    *workers;
    int               count;
    loom_thread_t    *set;           /* count workers, then the listener */
    _Atomic int       stop;          /* release by main, acquire by all */
};

struct worker {
    struct pool_of_threads *pt;
    int                 id;
    loom_thread_t      *lt;
    apr_pool_t         *tpool;     /* this thread's, never cleared */
    apr_pool_t         *ptrans;    /* cleared after each connection */
    apr_bucket_alloc_t *ba;
    ap_sb_handle_t     *sbh;
};


static int
stopping(struct pool_of_threads *pt)
{
    return atomic_load_explicit(&pt->stop, memory_order_acquire);
}


static void *APR_THREAD_FUNC
worker_thread(apr_thread_t *thread, void *arg)
{
    struct worker *w = arg;
    loom_child_t *ch = w->pt->ch;
    long id_base = (long) ch->slot * ch->st->cfg->thread_limit;
    apr_socket_t *csd;
    apr_os_sock_t fd;

    for (;;) {
        loom_sb_thread_idle(ch->slot, w->id, stopping(w->pt));
        if (loom_handoff_take(&w->pt->handoff, w->id, &csd) != 0) {
            break;
        }
        apr_os_sock_get(&fd, csd);
        atomic_store_explicit(&w->lt->busy_fd, fd, memory_order_relaxed);
        loom_conn_serve_sync(csd, w->ptrans, id_base + w->id, w->sbh, w->ba,
                             thread);
        atomic_store_explicit(&w->lt->busy_fd, -1, memory_order_relaxed);
        apr_pool_clear(w->ptrans);
    }
    loom_sb_thread_status(ch->slot, w->id, SERVER_DEAD);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}


/* Takes a connection into `ptrans`, waiting for one if none is queued.
 * 0 with *csd set, or -1 when the listener must stop. */
static int
accept_one(struct pool_of_threads *pt, apr_pool_t *ptrans, apr_socket_t **csd)
{
    for (;;) {
        switch (loom_listen_next(&pt->listeners, ptrans, csd)) {
        case 0:
            return 0;
        case -EAGAIN:
            if (stopping(pt)) {
                return -1;
            }
            break;
        default:
            loom_signals_child_request(LOOM_STOP_GRACEFUL);
            return -1;
        }
    }
}


static void *APR_THREAD_FUNC
listener_thread(apr_thread_t *thread, void *arg)
{
    struct pool_of_threads *pt = arg;
    loom_child_t *ch = pt->ch;
    apr_socket_t *csd;
    int seat;

    while (!stopping(pt) && (seat = loom_handoff_reserve(&pt->handoff)) >= 0) {
        if (accept_one(pt, pt->workers[seat].ptrans, &csd) != 0) {
            loom_handoff_unreserve(&pt->handoff, seat);
            break;
        }
        loom_handoff_give(&pt->handoff, seat, csd);
        if (atomic_fetch_add_explicit(&ch->conns, 1, memory_order_relaxed) + 1
            == ap_max_requests_per_child) {
            loom_signals_child_request(LOOM_STOP_GRACEFUL);
            break;
        }
    }
    /* Stop taking connections at once; the workers finish theirs. */
    ap_get_scoreboard_process(ch->slot)->quiescing = 1;
    loom_listen_close(&pt->listeners);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}


static int
prepare(struct pool_of_threads *pt, loom_child_t *ch)
{
    loom_poller_t *poller;
    int i, err, tpc = ch->st->cfg->threads_per_child;

    pt->ch = ch;
    pt->count = tpc;
    pt->workers = apr_pcalloc(ch->pchild, tpc * sizeof(*pt->workers));
    pt->set = apr_pcalloc(ch->pchild, (tpc + 1) * sizeof(*pt->set));
    pt->set[tpc].fn = listener_thread;
    pt->set[tpc].arg = pt;
    err = loom_handoff_init(&pt->handoff, tpc, ch->pchild);
    if (err != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, -err, ap_server_conf,
                     LOOMNO(1103) "pthread_mutex_init() for the hand-off "
                     "failed");
        return -1;
    }
    /* Both say why when they fail. */
    if (loom_poller_create(&poller, ch->pchild) != 0
        || loom_listen_child_init(&pt->listeners, ch->st, ch->bucket, poller,
                                  ch->pchild, LOOM_ARM_EXCLUSIVE) != 0) {
        return -1;
    }
    for (i = 0; i < tpc; i++) {
        struct worker *w = &pt->workers[i];
        apr_allocator_t *allocator;

        /* One allocator per thread: no lock on the allocation path. */
        apr_allocator_create(&allocator);
        apr_allocator_max_free_set(allocator, ap_max_mem_free);
        apr_pool_create_ex(&w->tpool, ch->pchild, NULL, allocator);
        apr_allocator_owner_set(allocator, w->tpool);
        apr_pool_create(&w->ptrans, w->tpool);
        apr_pool_tag(w->ptrans, "transaction");
        w->ba = apr_bucket_alloc_create(w->tpool);
        ap_create_sb_handle(&w->sbh, w->tpool, ch->slot, i);
        w->pt = pt;
        w->id = i;
        w->lt = &pt->set[i];
        pt->set[i].fn = worker_thread;
        pt->set[i].arg = w;
    }
    return 0;
}


static void
stop_threads(struct pool_of_threads *pt, loom_stop_e how)
{
    atomic_store_explicit(&pt->stop, 1, memory_order_release);
    loom_poller_wake(pt->listeners.poller);
    loom_handoff_end(&pt->handoff, how == LOOM_STOP_NOW);
    if (how == LOOM_STOP_NOW) {
        loom_threads_abort_io(pt->set, pt->count);
    }
    loom_threads_join(pt->set, pt->count + 1);
}


static void
worker_child_main(loom_child_t *ch)
{
    static struct pool_of_threads pt;
    loom_stop_e how;

    if (prepare(&pt, ch) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, ap_server_conf,
                     LOOMNO(1102) "this child cannot serve (the line before "
                     "says why); it exits");
        loom_child_exit(ch, APEXIT_CHILDSICK);
    }
    loom_threads_run(ch, pt.set, pt.count + 1);
    how = loom_threads_wait_stop(ch);
    loom_child_stopping(ch, how == LOOM_STOP_GRACEFUL);
    stop_threads(&pt, how);
    loom_child_exit(ch, 0);
}


LOOM_MPM_MODULE(worker, LOOM_MODEL_WORKER, LOOM_CAP_THREADED,
                LOOM_THREADED_COMMANDS,
                worker_child_main, NULL);
