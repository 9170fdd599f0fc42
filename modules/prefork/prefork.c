/* loom_prefork: processes whose module code runs on one thread, for code
 * that is not thread-safe.
 *
 * With LoomParkConnections On (the default) a child's main thread runs the
 * connection engine (prefork_park.h), and a passer thread that runs no
 * module code hands its ready connections to idle siblings while it is
 * busy (prefork_pass.h). With it Off, the classic model below: one process
 * per connection. Each child takes a connection without blocking, serves
 * it to its end and takes the next. When none is queued it waits in its
 * own epoll set on its bucket's listeners (each armed with EPOLLEXCLUSIVE,
 * so a new connection wakes one idle child, not all of them, and no
 * accept mutex is needed); no thread is started.
 *
 * This file is named prefork.c on purpose: httpd takes the module name
 * from it, and mod_http2 and <IfModule prefork.c> recognise stock prefork
 * by that name. */
#include <errno.h>

#include "apr_portable.h"
#include "httpd.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/headtime.h"
#include "loom/headwait.h"
#include "loom/config.h"
#include "loom/conn.h"
#include "loom/listen.h"
#include "loom/log.h"
#include "loom/master.h"
#include "loom/mpm.h"
#include "loom/poller.h"
#include "loom/sb.h"
#include "loom/tags.h"
#include "prefork_park.h"
#include "prefork_pass.h"

extern module AP_MODULE_DECLARE_DATA mpm_loom_prefork_module;

static void
serve_one(loom_child_t *ch, apr_socket_t *csd, apr_pool_t *ptrans,
          ap_sb_handle_t *sbh, apr_bucket_alloc_t *ba)
{
    apr_os_sock_t fd;

    apr_os_sock_get(&fd, csd);
    atomic_fetch_add_explicit(&ch->conns, 1, memory_order_relaxed);
    loom_signals_child_busy_fd(fd);
    loom_conn_serve_sync(csd, ptrans, ch->slot, sbh, ba, ch->thread);
    loom_signals_child_busy_fd(-1);
}


/* Serves one connection if one is queued, or else waits until one may be.
 * Returns 0 to go on, or an exit status when the child must leave. */
static int
take_one(loom_child_t *ch, loom_listeners_t *ls, apr_pool_t *ptrans,
         ap_sb_handle_t *sbh, apr_bucket_alloc_t *ba)
{
    apr_socket_t *csd;

    switch (loom_listen_next(ls, ptrans, &csd)) {
    case 0:
        serve_one(ch, csd, ptrans, sbh, ba);
        return 0;
    case -EAGAIN:
        return 0;
    default:
        return APEXIT_CHILDSICK;
    }
}


static void
prefork_child_main(loom_child_t *ch)
{
    loom_listeners_t ls;
    loom_poller_t *poller;
    apr_pool_t *ptrans;
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(ch->pchild);
    ap_sb_handle_t *sbh;
    int code = 0;

    if (ch->st->cfg->park) {
        prefork_park_main(ch);
    }
    apr_pool_create(&ptrans, ch->pchild);
    apr_pool_tag(ptrans, "transaction");
    ap_create_sb_handle(&sbh, ch->pchild, ch->slot, 0);
    if (loom_poller_create(&poller, ch->pchild) != 0
        || loom_listen_child_init(&ls, ch->st, ch->bucket, poller,
                                  ch->pchild, LOOM_ARM_EXCLUSIVE) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, ap_server_conf,
                     LOOMNO(1002) "this child cannot serve (the line before "
                     "says why); it exits");
        loom_child_exit(ch, APEXIT_CHILDSICK);
    }
    loom_signals_child_install(loom_poller_wake_fd(poller));
    while (code == 0 && loom_child_exit_reason(ch) == LOOM_STOP_NONE) {
        loom_sb_thread_idle(ch->slot, 0, 0);
        code = take_one(ch, &ls, ptrans, sbh, ba);
        apr_pool_clear(ptrans);
    }
    loom_listen_close(&ls);
    if (code == 0 && loom_child_exit_reason(ch) == LOOM_STOP_GRACEFUL) {
        loom_sb_thread_status(ch->slot, 0, SERVER_GRACEFUL);
    }
    loom_child_exit(ch, code);
}


static int
prefork_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s)
{
    loom_master_watch(NULL, NULL);
    if (!loom_mpm_parks()) {
        return OK;
    }
    loom_headtime_setup(pconf, s);
    loom_headwait_setup(pconf, s);
    if (pf_pass_setup(s, loom_state()->cfg->server_limit) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    loom_master_watch(pf_pass_watch, pf_pass_held_up);
    return OK;
}


static void
prefork_own_hooks(apr_pool_t *p)
{
    ap_hook_post_config(prefork_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}


LOOM_MPM_MODULE(prefork, LOOM_MODEL_PREFORK, LOOM_CAP_PARKABLE,
                LOOM_PREFORK_COMMANDS, prefork_child_main, prefork_own_hooks);
