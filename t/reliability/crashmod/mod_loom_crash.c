/* A test module for t/reliability/faults_crashloop.t: the handler
 * "loom-crash" kills the process that runs it with SIGSEGV, as a module
 * with a bad pointer would, after logging one line that names its pid.
 * Everything else it declines. Built by the test with `apxs -c`; never
 * installed. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

static int
crash_handler(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, "loom-crash") != 0) {
        return DECLINED;
    }
    /* One line per crash, with the time and the pid: the test counts the
     * children that crashed (forks) and the gaps between them (back-off)
     * from these, exactly, however short-lived the children were. */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "loom-crash: crashing pid %ld",
                  (long) getpid());
    raise(SIGSEGV);
    /* Not reached unless SIGSEGV is caught; then a bad write does it. */
    *(volatile int *) 0 = 0;
    return HTTP_INTERNAL_SERVER_ERROR;
}

static void
register_hooks(apr_pool_t *p)
{
    ap_hook_handler(crash_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA loom_crash_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    register_hooks
};
