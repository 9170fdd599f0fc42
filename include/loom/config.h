/* Directives: one table for the three models, one generic setter, and the
 * checks and derived limits, so that no model carries its own copy.
 *
 * Threads: the setters and checks run while httpd reads the configuration,
 * in the parent's one thread; afterwards the values are read-only (and
 * children read their inherited copy from any thread).
 *
 * The command_rec macros below are the only per-model lists; each row points
 * at a loom_directive_e, and config.c knows every row's defaults and range. */
#ifndef LOOM_CONFIG_H
#define LOOM_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "ap_listen.h"
#include "loom/mpm.h"

typedef enum {
    LOOM_D_START_SERVERS,
    LOOM_D_MIN_SPARE_SERVERS,
    LOOM_D_MAX_SPARE_SERVERS,
    LOOM_D_MIN_SPARE_THREADS,
    LOOM_D_MAX_SPARE_THREADS,
    LOOM_D_MAX_REQUEST_WORKERS,
    LOOM_D_MAX_CLIENTS,            /* old name of MaxRequestWorkers */
    LOOM_D_SERVER_LIMIT,
    LOOM_D_THREAD_LIMIT,
    LOOM_D_THREADS_PER_CHILD,
    LOOM_D_GRACEFUL_SHUTDOWN_TIMEOUT,
    LOOM_D_DRAIN_TIMEOUT,          /* LoomDrainTimeout: Loom's own */
    LOOM_D_CONNS_PER_PROCESS,      /* LoomConnectionsPerProcess: prefork */
    LOOM_D_CPUS,                   /* LoomCPUs: event */
    LOOM_D_MEMORY_SHARE,           /* LoomMemoryShare: prefork */
    LOOM_D_COUNT
} loom_directive_e;

/* Values of one configuration pass. Counts of "spare" are processes for
 * prefork and threads for worker and event, as in the stock MPMs. */
typedef struct loom_cfg {
    int start_servers;
    int min_spare;
    int max_spare;
    int max_workers;         /* MaxRequestWorkers */
    int server_limit;
    int thread_limit;        /* 1 for prefork */
    int threads_per_child;   /* 1 for prefork */
    int graceful_timeout;    /* mirrors ap_graceful_shutdown_timeout */
    int drain_timeout;       /* LoomDrainTimeout, seconds; 0: unbounded */
    int max_daemons;         /* derived: active processes allowed */
    double async_factor;     /* event: AsyncRequestWorkerFactor */
    int wait_for_head;       /* event, parked prefork: LoomWaitForHead */
    int park;                /* prefork: LoomParkConnections (event: 1) */
    int conns_per_process;   /* prefork, parked: connections one child
                              * holds at most (0 in the config: from the
                              * descriptor limit, set by the check) */
    int cpus;                /* event: LoomCPUs, the CPUs the gate sizes
                              * for (0: probed, loom/cpus.h) */
    int memory_share;        /* prefork: LoomMemoryShare, percent of the
                              * memory limit (0: off; loom/memory.h) */
    int set[LOOM_D_COUNT];   /* which directives the config gave */
} loom_cfg_t;

/* The generic setter behind every numeric row. */
const char *loom_cfg_set_number(cmd_parms *cmd, void *dummy, const char *arg);
/* AsyncRequestWorkerFactor: a real number above 0. */
const char *loom_cfg_set_async_factor(cmd_parms *cmd, void *dummy,
                                      const char *arg);
/* LoomWaitForHead On|Off. */
const char *loom_cfg_set_wait_for_head(cmd_parms *cmd, void *dummy, int on);
/* LoomParkConnections On|Off. */
const char *loom_cfg_set_park(cmd_parms *cmd, void *dummy, int on);
/* EnableExceptionHook: accepted for configs written for other builds. */
const char *loom_cfg_set_exception_hook(cmd_parms *cmd, void *dummy, int on);

/* Parses a whole decimal number into *out; 0 on success, -1 on junk,
 * trailing characters, an empty string or a value outside int. */
int loom_cfg_parse_int(const char *arg, int *out);

/* Resets `cfg` to `model`'s defaults (every pre_config pass). */
void loom_cfg_defaults(loom_cfg_t *cfg, loom_model_e model);

/* Applies the stock MPM's warnings and adjustments and computes the derived
 * limits. `first_server_limit`/`first_thread_limit` are the values latched
 * at first start (0 on the first pass). Logs through `s`, to the console
 * when `startup` is set. Returns OK or a non-OK status to fail the config. */
int loom_cfg_check(loom_cfg_t *cfg, loom_model_e model, server_rec *s,
                   int startup, int first_server_limit,
                   int first_thread_limit);

/* Silent per-generation adjustments that depend on the listener buckets. */
void loom_cfg_fit_buckets(loom_cfg_t *cfg, loom_model_e model, int buckets);

#define LOOM_CMD(id, name, help) \
    AP_INIT_TAKE1(name, loom_cfg_set_number, (void *) LOOM_D_##id, \
                  RSRC_CONF, help)

#define LOOM_COMMON_COMMANDS \
    LISTEN_COMMANDS, \
    LOOM_CMD(GRACEFUL_SHUTDOWN_TIMEOUT, "GracefulShutdownTimeout", \
             "Maximum time in seconds to wait for child processes to " \
             "complete transactions during a graceful stop (0: no limit)"), \
    LOOM_CMD(DRAIN_TIMEOUT, "LoomDrainTimeout", \
             "Seconds a child told to finish (graceful restart, idle " \
             "maintenance) may keep serving what it holds before it is " \
             "stopped (0, the default: as long as its connections last)"), \
    LOOM_CMD(START_SERVERS, "StartServers", \
             "Number of child processes launched at server startup"), \
    LOOM_CMD(MAX_REQUEST_WORKERS, "MaxRequestWorkers", \
             "Maximum number of connections served at the same time"), \
    LOOM_CMD(MAX_CLIENTS, "MaxClients", \
             "Deprecated name of MaxRequestWorkers"), \
    LOOM_CMD(SERVER_LIMIT, "ServerLimit", \
             "Maximum value of MaxRequestWorkers for this run of Apache"), \
    AP_INIT_FLAG("EnableExceptionHook", loom_cfg_set_exception_hook, NULL, \
                 RSRC_CONF, "Accepted for compatibility; this httpd " \
                 "build has no exception hook")

#define LOOM_WAIT_FOR_HEAD_COMMAND \
    AP_INIT_FLAG("LoomWaitForHead", loom_cfg_set_wait_for_head, NULL, \
                 RSRC_CONF, "On (default): a plain-HTTP connection gets " \
                 "a thread only once its request head has arrived")

#define LOOM_PREFORK_COMMANDS \
    LOOM_COMMON_COMMANDS, \
    LOOM_CMD(MIN_SPARE_SERVERS, "MinSpareServers", \
             "Minimum number of idle children, to handle request spikes"), \
    LOOM_CMD(MAX_SPARE_SERVERS, "MaxSpareServers", \
             "Maximum number of idle children"), \
    AP_INIT_FLAG("LoomParkConnections", loom_cfg_set_park, NULL, \
                 RSRC_CONF, "On (default): between requests a connection " \
                 "waits in its child's poller, not holding the process; " \
                 "Off: a process per connection, as stock prefork"), \
    LOOM_CMD(CONNS_PER_PROCESS, "LoomConnectionsPerProcess", \
             "Connections one child may hold at once with " \
             "LoomParkConnections On (0, the default: from the " \
             "descriptor limit)"), \
    LOOM_CMD(MEMORY_SHARE, "LoomMemoryShare", \
             "Percent of the memory the server may use (its cgroup's " \
             "limit or the machine's) beyond which no child is started " \
             "(0, the default: no such bound)"), \
    LOOM_WAIT_FOR_HEAD_COMMAND

#define LOOM_THREADED_COMMANDS \
    LOOM_COMMON_COMMANDS, \
    LOOM_CMD(MIN_SPARE_THREADS, "MinSpareThreads", \
             "Minimum number of idle threads, to handle request spikes"), \
    LOOM_CMD(MAX_SPARE_THREADS, "MaxSpareThreads", \
             "Maximum number of idle threads"), \
    LOOM_CMD(THREAD_LIMIT, "ThreadLimit", \
             "Maximum value of ThreadsPerChild for this run of Apache"), \
    LOOM_CMD(THREADS_PER_CHILD, "ThreadsPerChild", \
             "Number of threads each child creates")

#define LOOM_EVENT_COMMANDS \
    LOOM_THREADED_COMMANDS, \
    AP_INIT_TAKE1("AsyncRequestWorkerFactor", loom_cfg_set_async_factor, \
                  NULL, RSRC_CONF, "How many connections a child takes " \
                  "per idle worker thread, beyond ThreadsPerChild"), \
    LOOM_CMD(CPUS, "LoomCPUs", \
             "How many threads of a child take events at once (0, the " \
             "default: the CPUs of its affinity mask, or fewer if its " \
             "cgroup's CPU quota allows fewer)"), \
    LOOM_WAIT_FOR_HEAD_COMMAND

#endif
