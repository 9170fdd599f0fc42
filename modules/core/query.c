/* ap_mpm_query answers shared by the three models (see query.h). */
#include "httpd.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "loom/conn.h"
#include "loom/query.h"
#include "loom/signals.h"
#include "loom/state.h"


static int
mpm_state(void)
{
    loom_retained_t *r = loom_state()->retained;
    int real = r != NULL ? r->mpm->mpm_state : AP_MPMQ_STARTING;

    /* In a child, a stop request counts from the moment it arrives, even
     * before the child's loop has acted on it. */
    if (loom_signals_child_pending() != LOOM_STOP_NONE) {
        real = AP_MPMQ_STOPPING;
    }
    /* A thread that serves a whole connection (the synchronous models)
     * may report the state its current request began in. */
    return loom_mpm_parks() ? real : loom_conn_mpm_state(real);
}


static int
shared_answer(int code, int *result)
{
    const loom_state_t *st = loom_state();
    const loom_cfg_t *cfg = st->cfg;
    int threaded = (st->ops->caps & LOOM_CAP_THREADED) != 0;

    switch (code) {
    case AP_MPMQ_MAX_DAEMON_USED:
        /* The highest slot really used, so that children in slots above a
         * lowered MaxRequestWorkers are still found and reaped. */
        *result = st->retained != NULL && st->retained->max_slot_used > 0
                  ? st->retained->max_slot_used : cfg->max_daemons;
        return 1;
    case AP_MPMQ_IS_THREADED:
        *result = threaded ? AP_MPMQ_STATIC : AP_MPMQ_NOT_SUPPORTED;
        return 1;
    case AP_MPMQ_IS_FORKED:
        *result = AP_MPMQ_DYNAMIC;
        return 1;
    case AP_MPMQ_HARD_LIMIT_DAEMONS:
        *result = cfg->server_limit;
        return 1;
    case AP_MPMQ_HARD_LIMIT_THREADS:
        *result = cfg->thread_limit;
        return 1;
    case AP_MPMQ_MAX_THREADS:
        *result = cfg->threads_per_child;
        return 1;
    case AP_MPMQ_MIN_SPARE_DAEMONS:
        *result = threaded ? 0 : cfg->min_spare;
        return 1;
    case AP_MPMQ_MIN_SPARE_THREADS:
        *result = threaded ? cfg->min_spare : 0;
        return 1;
    case AP_MPMQ_MAX_SPARE_DAEMONS:
        *result = threaded ? 0 : cfg->max_spare;
        return 1;
    case AP_MPMQ_MAX_SPARE_THREADS:
        *result = threaded ? cfg->max_spare : 0;
        return 1;
    case AP_MPMQ_MAX_REQUESTS_DAEMON:
        *result = ap_max_requests_per_child;
        return 1;
    case AP_MPMQ_MAX_DAEMONS:
        *result = threaded ? cfg->max_daemons : cfg->max_workers;
        return 1;
    case AP_MPMQ_MPM_STATE:
        *result = mpm_state();
        return 1;
    case AP_MPMQ_IS_ASYNC:
    case AP_MPMQ_CAN_WAITIO:
        /* Parking, httpd's core hands a connection back after each
         * request, so that it waits for the next one without a thread
         * (prefork: without the process; threads are never claimed there,
         * so mod_php and its kin load as under stock prefork). */
        *result = loom_mpm_parks();
        return 1;
    case AP_MPMQ_GENERATION:
        *result = st->retained != NULL ? st->retained->mpm->my_generation : 0;
        return 1;
    }
    return 0;
}


int
loom_query(int code, int *result, apr_status_t *rv)
{
    *rv = APR_SUCCESS;
    if (!shared_answer(code, result)) {
        *rv = APR_ENOTIMPL;
    }
    return OK;
}
