/* Registers every httpd hook the three models share and forwards to the
 * model's loom_mpm_ops (see mpm.h). */
#include "apr_strings.h"
#include "httpd.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "http_log.h"
#include "mpm_common.h"
#include "util_mutex.h"
#include "mod_status.h"

#include "loom/conn.h"
#include "loom/listen.h"
#include "loom/log.h"
#include "loom/master.h"
#include "loom/mpm.h"
#include "loom/query.h"
#include "loom/readahead.h"
#include "loom/state.h"
#include "loom/metrics.h"
#include "loom/status.h"

/* The core's one context. The DSO is reloaded on every configuration pass,
 * so this starts zeroed each time; what must survive is in `retained`. */
static loom_state_t state;
static loom_cfg_t   cfg;


loom_state_t *
loom_state(void)
{
    return &state;
}


const loom_mpm_ops_t *
loom_mpm_ops(void)
{
    return state.ops;
}


int
loom_mpm_parks(void)
{
    return (state.ops->caps & LOOM_CAP_ASYNC)
           || ((state.ops->caps & LOOM_CAP_PARKABLE) && state.cfg->park);
}


static loom_retained_t *
retained_get(void)
{
    char key[64];
    loom_retained_t *r;

    apr_snprintf(key, sizeof(key), "loom-%s-retained", state.ops->name);
    r = ap_retained_data_get(key);
    if (r == NULL) {
        r = ap_retained_data_create(key, sizeof(*r));
        r->mpm = ap_unixd_mpm_get_retained_data();
        r->spawn_rate = 1;
    }
    if (r->mpm->baton != r) {
        /* Another MPM owned the block before: this is our first
         * generation, whatever the signal that brought us here. */
        r->mpm->was_graceful = 0;
        r->mpm->baton = r;
    }
    return r;
}


static void
read_run_flags(void)
{
    if (ap_exists_config_define("DEBUG")) {
        state.one_process = state.foreground = 1;
        state.no_detach = 0;
        return;
    }
    state.one_process = ap_exists_config_define("ONE_PROCESS");
    state.foreground = ap_exists_config_define("FOREGROUND");
    state.no_detach = ap_exists_config_define("NO_DETACH");
}


static int
detach(apr_pool_t *pconf)
{
    apr_status_t rv;

    if (state.one_process || state.foreground) {
        return OK;
    }
    /* Crash handlers first, so that a crash while detaching is logged. */
    ap_fatal_signal_setup(ap_server_conf, pconf);
    rv = apr_proc_detach(state.no_detach ? APR_PROC_DETACH_FOREGROUND
                                         : APR_PROC_DETACH_DAEMONIZE);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, NULL, LOOMNO(0001)
                     "apr_proc_detach failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}


static int
loom_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    state.pconf = pconf;
    state.cfg = &cfg;
    state.retained = retained_get();
    read_run_flags();
    loom_cfg_defaults(&cfg, state.ops->model);
    if (!(state.ops->caps & LOOM_CAP_ASYNC)) {
        /* Loom takes no accept mutex, but `Mutex mpm-accept ...` lines in
         * existing configs must stay valid, as with stock prefork/worker. */
        ap_mutex_register(pconf, AP_ACCEPT_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT,
                          0);
    }
    if (++state.retained->mpm->module_loads == 2 && detach(pconf) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_listen_pre_config();
    ap_extended_status = 0;   /* mod_status sets it back when loaded */
    return OK;
}


static int
loom_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                  server_rec *s)
{
    loom_retained_t *r = state.retained;
    int startup = r->mpm->module_loads == 1;
    int rc = loom_cfg_check(&cfg, state.ops->model, s, startup,
                            r->first_server_limit, r->first_thread_limit);

    if (r->first_server_limit == 0) {
        r->first_server_limit = cfg.server_limit;
        r->first_thread_limit = cfg.thread_limit;
    }
    return rc;
}


static int
loom_open_logs(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
               server_rec *s)
{
    return loom_listen_open(&state, s) == 0 ? OK : DONE;
}


/* ap_show_mpm(): the stock model's name ("event" for loom_event). Modules
 * choose code paths by it (mod_qos turns its keep-alive control off for
 * "event"), and each Loom MPM behaves as the model it replaces. */
static const char *
loom_get_name(void)
{
    const char *name = state.ops->name;

    return strncmp(name, "loom_", 5) == 0 ? name + 5 : name;
}


const char *
loom_mpm_clash(cmd_parms *cmd, void *dummy, const char *other)
{
    const char *self = cmd->info;

    return apr_psprintf(cmd->pool, "Two MPMs are enabled: %s and %s "
                        "(mods-enabled/%s.load). Keep one: 'a2dismod %s' or "
                        "'a2dismod %s'%s, then restart apache2", self, other,
                        other, other, self,
                        strcmp(other, "mpm_prefork") == 0
                        ? ", or 'loom-takeover prefork' to run Loom under "
                          "mpm_prefork's name (as mod_php needs)" : "");
}


void
loom_mpm_register(const loom_mpm_ops_t *ops, apr_pool_t *p)
{
    /* Our open_logs must run before the core's, which redirects stderr to
     * the error log: bind errors still reach the admin's console. */
    static const char *const before_core[] = { "core.c", NULL };

    state.ops = ops;
    state.cfg = &cfg;
    loom_cfg_defaults(&cfg, ops->model);   /* -V queries before pre_config */
    ap_hook_pre_config(loom_pre_config, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_config(loom_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_open_logs(loom_open_logs, NULL, before_core,
                      APR_HOOK_REALLY_FIRST);
    ap_hook_mpm(loom_master_run, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_mpm_query(loom_query, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_mpm_get_name(loom_get_name, NULL, NULL, APR_HOOK_MIDDLE);
    loom_metrics_register();
    if (!(ops->caps & LOOM_CAP_ASYNC)) {
        loom_conn_register_hooks();       /* connections served on a thread */
    }
    if (ops->caps & (LOOM_CAP_ASYNC | LOOM_CAP_PARKABLE)) {
        APR_OPTIONAL_HOOK(ap, status_hook, loom_status_hook, NULL, NULL,
                          APR_HOOK_MIDDLE);
        loom_readahead_register();        /* TLS heads wait without one */
    }
    if (ops->register_hooks != NULL) {
        ops->register_hooks(p);
    }
}
