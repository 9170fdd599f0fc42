/* Directive parsing and checking for the three models (see config.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "apr_strings.h"
#include "httpd.h"
#include "http_main.h"
#include "http_log.h"
#include "mpm_common.h"

#include "loom/config.h"
#include "loom/log.h"
#include "loom/state.h"

#define NA INT_MIN   /* the model rejects the directive, as stock does */

/* Stock's compile-time caps, kept so configs behave the same. */
#define PREFORK_MAX_SERVER_LIMIT 200000
#define THREADED_MAX_SERVER_LIMIT 20000
#define WORKER_MAX_THREAD_LIMIT 20000
#define EVENT_MAX_THREAD_LIMIT 100000

struct row {
    int def[LOOM_MODEL_COUNT];   /* default per model, or NA */
    int lo;                      /* smallest sane value */
    int hi[LOOM_MODEL_COUNT];    /* largest sane value: for the message,
                                  * and refused above it when `strict` */
    int strict;
};

#define P_MAX PREFORK_MAX_SERVER_LIMIT
#define T_MAX THREADED_MAX_SERVER_LIMIT
#define W_MAX WORKER_MAX_THREAD_LIMIT
#define E_MAX EVENT_MAX_THREAD_LIMIT
/* LoomConnectionsPerProcess: beyond this a child's descriptor table, not
 * the directive, is the limit anyway. */
#define CONNS_MAX 1048576
/* Descriptors a parked prefork child keeps for everything but its
 * connections: logs, the files it serves, CGI pipes, a PHP script's own. */
#define FD_RESERVE 128

static const struct row rows[LOOM_D_COUNT] = {
    /*                                  default: prefork worker event
     *                                  lo, largest: prefork worker event */
    [LOOM_D_START_SERVERS]       = { {   5, 3, 3 }, 1, { P_MAX, T_MAX, T_MAX } },
    [LOOM_D_MIN_SPARE_SERVERS]   = { {   5, NA, NA }, 1, { P_MAX, NA, NA } },
    [LOOM_D_MAX_SPARE_SERVERS]   = { {  10, NA, NA }, 1, { P_MAX, NA, NA } },
    [LOOM_D_MIN_SPARE_THREADS]   = { {  NA, 75, 75 }, 1, { NA, INT_MAX, INT_MAX } },
    [LOOM_D_MAX_SPARE_THREADS]   = { {  NA, 250, 250 }, 1, { NA, INT_MAX, INT_MAX } },
    [LOOM_D_MAX_REQUEST_WORKERS] = { { 256, 400, 400 }, 1, { INT_MAX, INT_MAX, INT_MAX } },
    [LOOM_D_MAX_CLIENTS]         = { { 256, 400, 400 }, 1, { INT_MAX, INT_MAX, INT_MAX } },
    [LOOM_D_SERVER_LIMIT]        = { { 256, 16, 16 }, 1, { P_MAX, T_MAX, T_MAX } },
    [LOOM_D_THREAD_LIMIT]        = { {   1, 64, 64 }, 1, { 1, W_MAX, E_MAX } },
    [LOOM_D_THREADS_PER_CHILD]   = { {   1, 25, 25 }, 1, { 1, W_MAX, E_MAX } },
    [LOOM_D_GRACEFUL_SHUTDOWN_TIMEOUT] = { { 0, 0, 0 }, 0, { INT_MAX, INT_MAX, INT_MAX } },
    [LOOM_D_DRAIN_TIMEOUT]       = { {   0,  0,  0 }, 0, { INT_MAX, INT_MAX, INT_MAX } },
    [LOOM_D_CONNS_PER_PROCESS]   = { {   0, NA, NA }, 0, { CONNS_MAX, NA, NA } },
    [LOOM_D_CPUS]                = { {  NA, NA,  0 }, 0, { NA, NA, INT_MAX } },
    [LOOM_D_MEMORY_SHARE]        = { {   0, NA, NA }, 0, { 100, NA, NA }, 1 },
};


static int *
field_of(loom_cfg_t *cfg, loom_directive_e id)
{
    switch (id) {
    case LOOM_D_START_SERVERS:       return &cfg->start_servers;
    case LOOM_D_MIN_SPARE_SERVERS:   return &cfg->min_spare;
    case LOOM_D_MAX_SPARE_SERVERS:   return &cfg->max_spare;
    case LOOM_D_MIN_SPARE_THREADS:   return &cfg->min_spare;
    case LOOM_D_MAX_SPARE_THREADS:   return &cfg->max_spare;
    case LOOM_D_MAX_REQUEST_WORKERS: return &cfg->max_workers;
    case LOOM_D_MAX_CLIENTS:         return &cfg->max_workers;
    case LOOM_D_SERVER_LIMIT:        return &cfg->server_limit;
    case LOOM_D_THREAD_LIMIT:        return &cfg->thread_limit;
    case LOOM_D_THREADS_PER_CHILD:   return &cfg->threads_per_child;
    case LOOM_D_GRACEFUL_SHUTDOWN_TIMEOUT: return &cfg->graceful_timeout;
    case LOOM_D_DRAIN_TIMEOUT:       return &cfg->drain_timeout;
    case LOOM_D_CONNS_PER_PROCESS:   return &cfg->conns_per_process;
    case LOOM_D_CPUS:                return &cfg->cpus;
    case LOOM_D_MEMORY_SHARE:        return &cfg->memory_share;
    case LOOM_D_COUNT:               break;
    }
    return NULL;
}


void
loom_cfg_defaults(loom_cfg_t *cfg, loom_model_e model)
{
    int id;

    memset(cfg, 0, sizeof(*cfg));
    for (id = 0; id < LOOM_D_COUNT; id++) {
        int def = rows[id].def[model];

        if (def != NA) {
            *field_of(cfg, (loom_directive_e) id) = def;
        }
    }
    ap_graceful_shutdown_timeout = 0;
    cfg->async_factor = 2.0;
    cfg->wait_for_head = 1;
    cfg->park = 1;                 /* prefork: LoomParkConnections */
}


const char *
loom_cfg_set_number(cmd_parms *cmd, void *dummy, const char *arg)
{
    loom_directive_e id = (loom_directive_e) (intptr_t) cmd->info;
    const char *name = cmd->cmd->name;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int value;

    if (err != NULL) {
        return err;
    }
    if (loom_cfg_parse_int(arg, &value) != 0
        || (rows[id].lo == 0 && value < 0)
        || (rows[id].strict
            && value > rows[id].hi[loom_state()->ops->model])) {
        /* Stock parses with atoi(), so junk silently became 0: refuse it.
         * A negative time means nothing either; counts below 1 are raised
         * with a warning later, as stock does, and so are counts above
         * their range, but for a share, which means nothing beyond it. */
        return apr_psprintf(cmd->pool, "%s must be a whole number from %d "
                            "to %d, not '%s'", name, rows[id].lo,
                            rows[id].hi[loom_state()->ops->model], arg);
    }
    if (id == LOOM_D_MAX_CLIENTS) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, NULL, LOOMNO(0101)
                     "MaxClients was renamed MaxRequestWorkers in 2.3.13; "
                     "please use the new name");
    }
    if (id == LOOM_D_GRACEFUL_SHUTDOWN_TIMEOUT) {
        ap_graceful_shutdown_timeout = value;
    }
    *field_of(loom_state()->cfg, id) = value;
    loom_state()->cfg->set[id] = 1;
    return NULL;
}


const char *
loom_cfg_set_async_factor(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    double v;

    if (err != NULL) {
        return err;
    }
    errno = 0;
    v = strtod(arg, &end);
    if (*arg == '\0' || *end != '\0' || !(v > 0.0)
        || (errno != 0 && v != HUGE_VAL)) {
        return apr_psprintf(cmd->pool, "AsyncRequestWorkerFactor must be a "
                            "number above 0 (such as 2 or 1.5), not '%s'",
                            arg);
    }
    /* Below 1 would admit fewer connections than threads: as stock.
     * Huge values (even inf, which stock takes too) mean "no limit"; the
     * cap keeps the arithmetic finite (0 idle threads x inf is NaN). */
    loom_state()->cfg->async_factor = v < 1.0 ? 1.0 : v > 1e6 ? 1e6 : v;
    return NULL;
}


const char *
loom_cfg_set_wait_for_head(cmd_parms *cmd, void *dummy, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err == NULL) {
        loom_state()->cfg->wait_for_head = on;
    }
    return err;
}


const char *
loom_cfg_set_park(cmd_parms *cmd, void *dummy, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err == NULL) {
        loom_state()->cfg->park = on;
    }
    return err;
}


const char *
loom_cfg_set_exception_hook(cmd_parms *cmd, void *dummy, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err == NULL && on) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, NULL, LOOMNO(0102)
                     "EnableExceptionHook On has no effect: this httpd "
                     "build has no exception hook");
    }
    return err;
}


/* One warning, to the console during the first pass and to the error log
 * afterwards, as stock does. */
static void
warn(server_rec *s, int startup, const char *fmt, const char *name,
     int value, int limit, int now)
{
    if (startup) {
        ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, NULL,
                     fmt, name, value, limit, now);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, fmt, name, value,
                     limit, now);
    }
}


static void
clamp(int *v, const char *name, int lo, int hi, server_rec *s, int startup)
{
    if (*v > hi) {
        warn(s, startup, LOOMNO(0110) "WARNING: %s of %d exceeds the limit "
             "of %d, decreasing to %d.", name, *v, hi, hi);
        *v = hi;
    }
    else if (*v < lo) {
        warn(s, startup, LOOMNO(0111) "WARNING: %s of %d is below the "
             "minimum of %d, increasing to %d.", name, *v, lo, lo);
        *v = lo;
    }
}


/* ServerLimit and ThreadLimit size the scoreboard once, at first start. */
static void
keep_first(int *v, int first, const char *name, server_rec *s)
{
    if (first != 0 && *v != first) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LOOMNO(0112)
                     "changing %s to %d from original value of %d not "
                     "allowed during restart (it sizes the scoreboard); a "
                     "full stop and start applies it", name, *v, first);
        *v = first;
    }
}


/* A parked child holds its connections' descriptors: at most what its
 * descriptor limit leaves after FD_RESERVE (half of it, if that is
 * smaller), which is also the default. */
static void
fit_conns_per_process(loom_cfg_t *cfg, server_rec *s, int startup)
{
    struct rlimit nofile;
    rlim_t room = 1024;
    int most;

    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0
        && nofile.rlim_cur != RLIM_INFINITY) {
        room = nofile.rlim_cur;
    }
    room = room > 2 * FD_RESERVE ? room - FD_RESERVE : room / 2;
    most = room > CONNS_MAX ? CONNS_MAX : room < 1 ? 1 : (int) room;
    if (cfg->conns_per_process == 0) {
        cfg->conns_per_process = most;
    }
    else if (cfg->conns_per_process > most) {
        warn(s, startup, LOOMNO(0118) "WARNING: %s of %d exceeds what the "
             "descriptor limit leaves room for (%d), decreasing to %d; "
             "raise the limit (ulimit -n) to hold more.",
             "LoomConnectionsPerProcess", cfg->conns_per_process, most, most);
        cfg->conns_per_process = most;
    }
}


static void
check_prefork(loom_cfg_t *cfg, server_rec *s, int startup, int first_sl)
{
    clamp(&cfg->server_limit, "ServerLimit", 1, PREFORK_MAX_SERVER_LIMIT,
          s, startup);
    keep_first(&cfg->server_limit, first_sl, "ServerLimit", s);
    if (cfg->max_workers > cfg->server_limit) {
        warn(s, startup, LOOMNO(0113) "WARNING: %s of %d exceeds ServerLimit "
             "of %d, decreasing to %d. To increase, please see the "
             "ServerLimit directive.", "MaxRequestWorkers", cfg->max_workers,
             cfg->server_limit, cfg->server_limit);
        cfg->max_workers = cfg->server_limit;
    }
    clamp(&cfg->max_workers, "MaxRequestWorkers", 1, INT_MAX, s, startup);
    clamp(&cfg->start_servers, "StartServers", 1, INT_MAX, s, startup);
    clamp(&cfg->min_spare, "MinSpareServers", 1, INT_MAX, s, startup);
    fit_conns_per_process(cfg, s, startup);
    cfg->thread_limit = 1;
    cfg->threads_per_child = 1;
    cfg->max_daemons = cfg->max_workers;
}


static void
check_threaded(loom_cfg_t *cfg, loom_model_e model, server_rec *s,
               int startup, int first_sl, int first_tl)
{
    int tl_max = model == LOOM_MODEL_EVENT ? EVENT_MAX_THREAD_LIMIT
                                           : WORKER_MAX_THREAD_LIMIT;
    int tpc, rounded;

    clamp(&cfg->server_limit, "ServerLimit", 1, THREADED_MAX_SERVER_LIMIT,
          s, startup);
    keep_first(&cfg->server_limit, first_sl, "ServerLimit", s);
    clamp(&cfg->thread_limit, "ThreadLimit", 1, tl_max, s, startup);
    keep_first(&cfg->thread_limit, first_tl, "ThreadLimit", s);
    if (cfg->threads_per_child > cfg->thread_limit) {
        warn(s, startup, LOOMNO(0114) "WARNING: %s of %d exceeds ThreadLimit "
             "of %d, decreasing to %d. To increase, please see the "
             "ThreadLimit directive.", "ThreadsPerChild",
             cfg->threads_per_child, cfg->thread_limit, cfg->thread_limit);
        cfg->threads_per_child = cfg->thread_limit;
    }
    clamp(&cfg->threads_per_child, "ThreadsPerChild", 1, INT_MAX, s, startup);
    tpc = cfg->threads_per_child;
    if (cfg->max_workers < tpc) {
        warn(s, startup, LOOMNO(0115) "WARNING: %s of %d is less than "
             "ThreadsPerChild of %d, increasing to %d (one child's threads).",
             "MaxRequestWorkers", cfg->max_workers, tpc, tpc);
        cfg->max_workers = tpc;
    }
    rounded = cfg->max_workers / tpc * tpc;
    if (rounded != cfg->max_workers) {
        warn(s, startup, LOOMNO(0116) "WARNING: %s of %d is not a multiple of "
             "ThreadsPerChild of %d, decreasing to %d.", "MaxRequestWorkers",
             cfg->max_workers, tpc, rounded);
        cfg->max_workers = rounded;
    }
    cfg->max_daemons = cfg->max_workers / tpc;
    if (cfg->max_daemons > cfg->server_limit) {
        int wanted = cfg->max_workers, processes = cfg->max_daemons;

        cfg->max_daemons = cfg->server_limit;
        cfg->max_workers = cfg->server_limit * tpc;
        /* Unlike stock's message, say what really changes: the number of
         * processes, hence the number of workers. */
        ap_log_error(APLOG_MARK, APLOG_WARNING | (startup ? APLOG_STARTUP : 0),
                     0, startup ? NULL : s, LOOMNO(0117) "WARNING: "
                     "MaxRequestWorkers of %d needs %d processes but "
                     "ServerLimit is %d; serving at most ServerLimit x "
                     "ThreadsPerChild = %d workers. To increase, please see "
                     "the ServerLimit directive.", wanted, processes,
                     cfg->server_limit, cfg->max_workers);
    }
    clamp(&cfg->start_servers, "StartServers", 1, INT_MAX, s, startup);
    clamp(&cfg->min_spare, "MinSpareThreads", 1, INT_MAX, s, startup);
}


int
loom_cfg_check(loom_cfg_t *cfg, loom_model_e model, server_rec *s,
               int startup, int first_server_limit, int first_thread_limit)
{
    switch (model) {
    case LOOM_MODEL_PREFORK:
        check_prefork(cfg, s, startup, first_server_limit);
        break;
    case LOOM_MODEL_WORKER:
    case LOOM_MODEL_EVENT:
        check_threaded(cfg, model, s, startup, first_server_limit,
                       first_thread_limit);
        break;
    }
    cfg->graceful_timeout = ap_graceful_shutdown_timeout;
    return OK;
}


void
loom_cfg_fit_buckets(loom_cfg_t *cfg, loom_model_e model, int buckets)
{
    int tpc = cfg->threads_per_child;

    if (cfg->max_daemons < buckets) {
        cfg->max_daemons = buckets;
    }
    if (cfg->start_servers < buckets) {
        cfg->start_servers = buckets;
    }
    if (cfg->start_servers > cfg->max_daemons) {
        cfg->start_servers = cfg->max_daemons;
    }
    switch (model) {
    case LOOM_MODEL_PREFORK:
        if (cfg->min_spare < buckets) {
            cfg->min_spare = buckets;
        }
        if (cfg->max_spare < cfg->min_spare + buckets) {
            cfg->max_spare = cfg->min_spare + buckets;
        }
        break;
    case LOOM_MODEL_WORKER:
    case LOOM_MODEL_EVENT:
        if (cfg->min_spare < tpc * (buckets - 1) + buckets) {
            cfg->min_spare = tpc * (buckets - 1) + buckets;
        }
        if (cfg->max_spare < cfg->min_spare + (tpc + 1) * buckets) {
            cfg->max_spare = cfg->min_spare + (tpc + 1) * buckets;
        }
        break;
    }
}
