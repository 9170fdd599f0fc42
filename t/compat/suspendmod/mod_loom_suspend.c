/* A test module for t/compat/suspend.t: it counts, for each connection,
 * the suspend_connection and resume_connection calls the MPM makes, and
 * says when the connection's pool goes how many suspends were left
 * without their resume. A module that keeps per-connection state between
 * the two (a limiter counting connections away from a thread) relies on
 * each suspend being followed by a resume, the last one before the
 * connection goes, as stock event makes it. Built by the test with
 * `apxs -c`; never installed. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "mpm_common.h"

module AP_MODULE_DECLARE_DATA loom_suspend_module;

typedef struct {
    int suspends;
    int out;            /* suspended, not resumed since */
} suspend_count_t;

static suspend_count_t *
count_of(conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &loom_suspend_module);
}

static apr_status_t
say_balance(void *data)
{
    conn_rec *c = data;
    suspend_count_t *n = count_of(c);

    if (n != NULL && n->suspends > 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "loom-suspend: %d suspends, %d not resumed at close",
                      n->suspends, n->out);
    }
    return APR_SUCCESS;
}

static int
on_pre_connection(conn_rec *c, void *csd)
{
    ap_set_module_config(c->conn_config, &loom_suspend_module,
                         apr_pcalloc(c->pool, sizeof(suspend_count_t)));
    apr_pool_cleanup_register(c->pool, c, say_balance, apr_pool_cleanup_null);
    return OK;
}

static void
on_suspend(conn_rec *c, request_rec *r)
{
    suspend_count_t *n = count_of(c);

    if (n != NULL) {
        n->suspends++;
        n->out++;
    }
}

static void
on_resume(conn_rec *c, request_rec *r)
{
    suspend_count_t *n = count_of(c);

    if (n != NULL) {
        n->out--;
    }
}

static void
register_hooks(apr_pool_t *p)
{
    ap_hook_pre_connection(on_pre_connection, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_suspend_connection(on_suspend, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_resume_connection(on_resume, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(loom_suspend) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    register_hooks
};
