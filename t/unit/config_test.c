/* Directives and their checks for the three models (modules/core/config.c,
 * docs/directives.md): defaults, the ranges the setters accept, the stock
 * warnings and adjustments of loom_cfg_check, and the derived limits. */
#include <sys/resource.h>
#include <math.h>

#include "unit.h"
#include "../../modules/core/number.c"
#include "../../modules/core/config.c"

/* What the file needs from httpd and the rest of the core. */
int ap_graceful_shutdown_timeout;
static module self;
static loom_mpm_ops_t ops = { .module = &self };
static loom_cfg_t the_cfg;
static loom_state_t state = { .ops = &ops, .cfg = &the_cfg };

const loom_mpm_ops_t *
loom_mpm_ops(void)
{
    return &ops;
}

loom_state_t *
loom_state(void)
{
    return &state;
}

const char *
ap_check_cmd_context(cmd_parms *cmd, unsigned forbidden)
{
    return NULL;
}

/* Every line logged, for the tests to look at. */
static char log_text[8192];
static int log_lines;

void
ap_log_error_(const char *file, int line, int index, int level,
              apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    size_t used = strlen(log_text);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(log_text + used, sizeof(log_text) - used, fmt, ap);
    va_end(ap);
    strncat(log_text, "\n", sizeof(log_text) - strlen(log_text) - 1);
    log_lines++;
}

static int
logged(const char *text)
{
    return strstr(log_text, text) != NULL;
}

static server_rec server;

/* `model`'s defaults with the given directives set, checked on a first
 * start. Returns the configuration; the log holds its warnings. */
#define CHECKED(model, ...) checked(model, 0, 0, (int[]) { __VA_ARGS__, -1 })

static loom_cfg_t *
checked(loom_model_e model, int first_sl, int first_tl, const int *sets)
{
    loom_cfg_t *cfg = &the_cfg;
    int i;

    log_text[0] = '\0';
    log_lines = 0;
    server.log.level = APLOG_TRACE8;
    ops.model = model;
    loom_cfg_defaults(cfg, model);
    for (i = 0; sets[i] >= 0; i += 2) {
        *field_of(cfg, (loom_directive_e) sets[i]) = sets[i + 1];
        cfg->set[sets[i]] = 1;
    }
    UNIT_EQ(loom_cfg_check(cfg, model, &server, 1, first_sl, first_tl), OK);
    return cfg;
}

static const loom_model_e threaded[] = { LOOM_MODEL_WORKER,
                                         LOOM_MODEL_EVENT };

UNIT_TEST(each_model_starts_from_stock_defaults)
{
    loom_cfg_t *c = CHECKED(LOOM_MODEL_PREFORK, -1);
    int i;

    UNIT_EQ(c->start_servers, 5);
    UNIT_EQ(c->min_spare, 5);
    UNIT_EQ(c->max_spare, 10);
    UNIT_EQ(c->max_workers, 256);
    UNIT_EQ(c->server_limit, 256);
    UNIT_EQ(c->thread_limit, 1);
    UNIT_EQ(c->threads_per_child, 1);
    UNIT_EQ(c->max_daemons, 256);
    UNIT_EQ(c->graceful_timeout, 0);
    UNIT_EQ(c->drain_timeout, 0);
    UNIT_EQ(log_lines, 0);
    for (i = 0; i < 2; i++) {
        c = CHECKED(threaded[i], -1);
        UNIT_EQ(c->start_servers, 3);
        UNIT_EQ(c->min_spare, 75);
        UNIT_EQ(c->max_spare, 250);
        UNIT_EQ(c->max_workers, 400);
        UNIT_EQ(c->server_limit, 16);
        UNIT_EQ(c->thread_limit, 64);
        UNIT_EQ(c->threads_per_child, 25);
        UNIT_EQ(c->max_daemons, 16);              /* 400 / 25 */
        UNIT_TRUE(c->async_factor == 2.0 && c->wait_for_head == 1);
        UNIT_EQ(log_lines, 0);
    }
}

UNIT_TEST(prefork_caps_workers_at_server_limit_and_raises_zeros)
{
    loom_cfg_t *c;

    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_MAX_REQUEST_WORKERS, 300);
    UNIT_EQ(c->max_workers, 256);
    UNIT_EQ(c->max_daemons, 256);
    UNIT_TRUE(logged("LOOM0113") && logged("MaxRequestWorkers of 300 "
                                           "exceeds ServerLimit of 256"));
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_SERVER_LIMIT, 300000,
                LOOM_D_MAX_REQUEST_WORKERS, 250000);
    UNIT_EQ(c->server_limit, 200000);
    UNIT_EQ(c->max_workers, 200000);
    UNIT_TRUE(logged("LOOM0110") && logged("ServerLimit of 300000"));
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_SERVER_LIMIT, 0,
                LOOM_D_START_SERVERS, 0, LOOM_D_MIN_SPARE_SERVERS, -3);
    UNIT_EQ(c->server_limit, 1);
    UNIT_EQ(c->max_workers, 1);
    UNIT_EQ(c->max_daemons, 1);
    UNIT_EQ(c->start_servers, 1);
    UNIT_EQ(c->min_spare, 1);
    UNIT_TRUE(logged("LOOM0111") && logged("StartServers of 0 is below "
                                           "the minimum of 1"));
    UNIT_TRUE(logged("MinSpareServers of -3"));
}

UNIT_TEST(server_limit_and_thread_limit_keep_their_first_values)
{
    loom_cfg_t *c;
    int i;

    c = checked(LOOM_MODEL_PREFORK, 256, 0,
                (int[]) { LOOM_D_SERVER_LIMIT, 512, -1 });
    UNIT_EQ(c->server_limit, 256);
    UNIT_TRUE(logged("LOOM0112") && logged("changing ServerLimit to 512 "
                                           "from original value of 256"));
    for (i = 0; i < 2; i++) {
        c = checked(threaded[i], 16, 64,
                    (int[]) { LOOM_D_SERVER_LIMIT, 32,
                              LOOM_D_THREAD_LIMIT, 128, -1 });
        UNIT_EQ(c->server_limit, 16);
        UNIT_EQ(c->thread_limit, 64);
        UNIT_TRUE(logged("changing ThreadLimit to 128"));
    }
}

UNIT_TEST(threaded_models_fit_workers_to_whole_children)
{
    loom_cfg_t *c;
    int i;

    for (i = 0; i < 2; i++) {
        loom_model_e m = threaded[i];

        c = CHECKED(m, LOOM_D_THREADS_PER_CHILD, 100);
        UNIT_EQ(c->threads_per_child, 64);       /* ThreadLimit */
        UNIT_EQ(c->max_workers, 384);            /* 400 rounded down */
        UNIT_EQ(c->max_daemons, 6);
        UNIT_TRUE(logged("LOOM0114") && logged("LOOM0116"));
        c = CHECKED(m, LOOM_D_MAX_REQUEST_WORKERS, 10);
        UNIT_EQ(c->max_workers, 25);             /* one child's threads */
        UNIT_EQ(c->max_daemons, 1);
        UNIT_TRUE(logged("LOOM0115"));
        c = CHECKED(m, LOOM_D_MAX_REQUEST_WORKERS, 410);
        UNIT_EQ(c->max_workers, 400);
        UNIT_TRUE(logged("MaxRequestWorkers of 410 is not a multiple of "
                         "ThreadsPerChild of 25, decreasing to 400"));
        c = CHECKED(m, LOOM_D_MAX_REQUEST_WORKERS, 1000);
        UNIT_EQ(c->max_daemons, 16);             /* ServerLimit */
        UNIT_EQ(c->max_workers, 400);            /* really 16 x 25 */
        UNIT_TRUE(logged("LOOM0117") && logged("needs 40 processes"));
        c = CHECKED(m, LOOM_D_THREADS_PER_CHILD, 0,
                    LOOM_D_START_SERVERS, 0, LOOM_D_MIN_SPARE_THREADS, 0);
        UNIT_EQ(c->threads_per_child, 1);
        UNIT_EQ(c->max_daemons, 16);             /* 400 / 1, capped */
        UNIT_EQ(c->max_workers, 16);
        UNIT_EQ(c->start_servers, 1);
        UNIT_EQ(c->min_spare, 1);
    }
}

UNIT_TEST(prefork_holds_what_its_descriptor_limit_leaves_room_for)
{
    struct rlimit saved, lim;
    loom_cfg_t *c;

    getrlimit(RLIMIT_NOFILE, &saved);
    lim = saved;
    lim.rlim_cur = 1024;
    UNIT_TRUE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_START_SERVERS, 5);
    UNIT_EQ(c->park, 1);                          /* on by default */
    UNIT_EQ(c->conns_per_process, 1024 - 128);    /* 0: the limit's room */
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_CONNS_PER_PROCESS, 40);
    UNIT_EQ(c->conns_per_process, 40);
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_CONNS_PER_PROCESS, 5000);
    UNIT_EQ(c->conns_per_process, 1024 - 128);
    UNIT_TRUE(logged("LOOM0118") && logged("LoomConnectionsPerProcess of "
                                           "5000 exceeds"));
    lim.rlim_cur = 100;                           /* tiny: half of it */
    UNIT_TRUE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_START_SERVERS, 5);
    UNIT_EQ(c->conns_per_process, 50);
    setrlimit(RLIMIT_NOFILE, &saved);
}

UNIT_TEST(thread_and_server_limits_have_each_models_caps)
{
    loom_cfg_t *c;

    c = CHECKED(LOOM_MODEL_WORKER, LOOM_D_THREAD_LIMIT, 50000,
                LOOM_D_SERVER_LIMIT, 30000);
    UNIT_EQ(c->thread_limit, 20000);
    UNIT_EQ(c->server_limit, 20000);
    c = CHECKED(LOOM_MODEL_EVENT, LOOM_D_THREAD_LIMIT, 50000);
    UNIT_EQ(c->thread_limit, 50000);
    UNIT_EQ(log_lines, 0);
    c = CHECKED(LOOM_MODEL_EVENT, LOOM_D_THREAD_LIMIT, 200000,
                LOOM_D_THREADS_PER_CHILD, 200000);
    UNIT_EQ(c->thread_limit, 100000);
    UNIT_EQ(c->threads_per_child, 100000);
    UNIT_EQ(c->max_workers, 100000);             /* one child's threads */
    c = CHECKED(LOOM_MODEL_WORKER, LOOM_D_THREAD_LIMIT, 0);
    UNIT_EQ(c->thread_limit, 1);
    UNIT_EQ(c->threads_per_child, 1);
}

UNIT_TEST(the_graceful_timeout_follows_the_directive)
{
    loom_cfg_t *c;

    loom_cfg_defaults(&the_cfg, LOOM_MODEL_WORKER);
    ap_graceful_shutdown_timeout = 30;           /* as its setter does */
    UNIT_EQ(loom_cfg_check(&the_cfg, LOOM_MODEL_WORKER, &server, 0, 0, 0),
            OK);
    UNIT_EQ(the_cfg.graceful_timeout, 30);
    c = CHECKED(LOOM_MODEL_WORKER, -1);          /* defaults reset it */
    UNIT_EQ(c->graceful_timeout, 0);
}

UNIT_TEST(buckets_raise_the_spares_and_the_children)
{
    loom_cfg_t *c;

    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_START_SERVERS, 1,
                LOOM_D_MIN_SPARE_SERVERS, 1, LOOM_D_MAX_SPARE_SERVERS, 2);
    loom_cfg_fit_buckets(c, LOOM_MODEL_PREFORK, 4);
    UNIT_EQ(c->start_servers, 4);
    UNIT_EQ(c->min_spare, 4);
    UNIT_EQ(c->max_spare, 8);                    /* min + one per bucket */
    c = CHECKED(LOOM_MODEL_PREFORK, LOOM_D_MAX_REQUEST_WORKERS, 2,
                LOOM_D_START_SERVERS, 9);
    loom_cfg_fit_buckets(c, LOOM_MODEL_PREFORK, 3);
    UNIT_EQ(c->max_daemons, 3);                  /* one per bucket */
    UNIT_EQ(c->start_servers, 3);                /* no more than those */
    c = CHECKED(LOOM_MODEL_EVENT, LOOM_D_MIN_SPARE_THREADS, 1,
                LOOM_D_MAX_SPARE_THREADS, 1);
    loom_cfg_fit_buckets(c, LOOM_MODEL_EVENT, 2);
    UNIT_EQ(c->min_spare, 27);                   /* 25 x 1 + 2 */
    UNIT_EQ(c->max_spare, 79);                   /* 27 + 26 x 2 */
    UNIT_EQ(c->start_servers, 3);
    c = CHECKED(LOOM_MODEL_WORKER, -1);
    loom_cfg_fit_buckets(c, LOOM_MODEL_WORKER, 1);
    UNIT_EQ(c->min_spare, 75);                   /* one bucket: as set */
    UNIT_EQ(c->max_spare, 250);
}

/* A directive line through its setter, as httpd would call it. */
static const char *
set(loom_directive_e id, const char *name, const char *arg)
{
    static apr_pool_t *pool;
    command_rec rec = { .name = name };
    cmd_parms cmd;

    if (pool == NULL) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.info = (void *) (intptr_t) id;
    cmd.cmd = &rec;
    cmd.pool = pool;
    return loom_cfg_set_number(&cmd, NULL, arg);
}

UNIT_TEST(numbers_are_whole_and_times_not_negative)
{
    const char *err;

    ops.model = LOOM_MODEL_PREFORK;
    loom_cfg_defaults(&the_cfg, LOOM_MODEL_PREFORK);
    err = set(LOOM_D_START_SERVERS, "StartServers", "abc");
    UNIT_TRUE(err != NULL && strcmp(err, "StartServers must be a whole "
                                    "number from 1 to 200000, not 'abc'")
                             == 0);
    UNIT_TRUE(set(LOOM_D_START_SERVERS, "StartServers", "12abc") != NULL);
    UNIT_TRUE(set(LOOM_D_START_SERVERS, "StartServers", "") != NULL);
    UNIT_EQ(the_cfg.start_servers, 5);           /* untouched */
    UNIT_EQ(the_cfg.set[LOOM_D_START_SERVERS], 0);
    /* A count below 1 is taken, and raised by the check with a warning. */
    UNIT_TRUE(set(LOOM_D_START_SERVERS, "StartServers", "-2") == NULL);
    UNIT_EQ(the_cfg.start_servers, -2);
    UNIT_EQ(the_cfg.set[LOOM_D_START_SERVERS], 1);
    /* A time below 0 is not. */
    err = set(LOOM_D_GRACEFUL_SHUTDOWN_TIMEOUT, "GracefulShutdownTimeout",
              "-1");
    UNIT_TRUE(err != NULL && strstr(err, "from 0 to 2147483647") != NULL);
    UNIT_TRUE(set(LOOM_D_GRACEFUL_SHUTDOWN_TIMEOUT,
                  "GracefulShutdownTimeout", "15") == NULL);
    UNIT_EQ(ap_graceful_shutdown_timeout, 15);
    UNIT_TRUE(set(LOOM_D_DRAIN_TIMEOUT, "LoomDrainTimeout", "-5") != NULL);
    log_text[0] = '\0';
    UNIT_TRUE(set(LOOM_D_MAX_CLIENTS, "MaxClients", "77") == NULL);
    UNIT_EQ(the_cfg.max_workers, 77);            /* MaxRequestWorkers */
    UNIT_TRUE(logged("LOOM0101"));
}

UNIT_TEST(the_async_factor_is_a_number_above_0_within_bounds)
{
    static const struct {
        const char *arg;
        double      want;            /* 0: refused */
    } cases[] = {
        { "2", 2.0 }, { "1.5", 1.5 }, { "0.5", 1.0 }, { "inf", 1e6 },
        { "1e9", 1e6 }, { "0", 0 }, { "-1", 0 }, { "nan", 0 },
        { "abc", 0 }, { "2x", 0 }, { "", 0 },
    };
    apr_pool_t *pool;
    cmd_parms cmd;
    size_t i;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    memset(&cmd, 0, sizeof(cmd));
    cmd.pool = pool;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err;

        the_cfg.async_factor = -7;
        err = loom_cfg_set_async_factor(&cmd, NULL, cases[i].arg);
        if (cases[i].want == 0) {
            UNIT_TRUE(err != NULL && the_cfg.async_factor == -7);
        }
        else if (err != NULL || the_cfg.async_factor != cases[i].want) {
            printf("# AsyncRequestWorkerFactor %s gave %g\n", cases[i].arg,
                   the_cfg.async_factor);
            unit_failed = 1;
        }
    }
}
