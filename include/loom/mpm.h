/* The one plug-in point: what a process model supplies to the shared core.
 *
 * mpm.c registers every httpd hook once and forwards to these functions, so
 * a model's own file holds only its module struct, its ops table and the
 * code that makes it different (its child loop). */
#ifndef LOOM_MPM_H
#define LOOM_MPM_H

#include "httpd.h"
#include "http_config.h"

typedef enum {
    LOOM_MODEL_PREFORK = 0,
    LOOM_MODEL_WORKER  = 1,
    LOOM_MODEL_EVENT   = 2
} loom_model_e;

#define LOOM_MODEL_COUNT 3

struct loom_child;

/* What a model can do. The core asks these, not which model it is; the
 * model id only picks a model's row in tables of defaults and limits. */
#define LOOM_CAP_THREADED 1u   /* several threads serve in one child */
#define LOOM_CAP_ASYNC    2u   /* between requests, connections wait in the
                                * child's poller, not on a thread */
#define LOOM_CAP_PARKABLE 4u   /* ...or do so when LoomParkConnections is On
                                * (prefork: one thread runs the engine) */

typedef struct loom_mpm_ops {
    const char   *name;          /* "loom_prefork"; -V shows "prefork" */
    loom_model_e  model;
    unsigned      caps;          /* LOOM_CAP_* */
    module       *module;        /* the model's module struct */
    /* Runs in a freshly set-up child (privileges dropped, child_init done)
     * and never returns: it ends with loom_child_exit(). */
    void        (*child_main)(struct loom_child *ch);
    /* Hooks of the model's own, or NULL. */
    void        (*register_hooks)(apr_pool_t *p);
} loom_mpm_ops_t;

/* Defines the model's module struct, the only symbol its .so exports
 * (everything else is built with -fvisibility=hidden). */
#define LOOM_DECLARE_MODULE(foo) \
    extern __attribute__((visibility("default"))) \
        module AP_MODULE_DECLARE_DATA foo##_module; \
    APLOG_USE_MODULE(foo); \
    __attribute__((visibility("default"))) \
        module AP_MODULE_DECLARE_DATA foo##_module

/* LoomMPMClash OTHER: each mpm_loom_*.conf has it inside <IfModule
 * OTHER_module> for every other MPM. It runs while the file is read, before
 * httpd's bare "More than one MPM loaded", and stops startup with a message
 * naming both MPMs and the fix. */
const char *loom_mpm_clash(cmd_parms *cmd, void *dummy, const char *other);
#define LOOM_CLASH_COMMAND(self) \
    AP_INIT_TAKE1("LoomMPMClash", loom_mpm_clash, (void *)(self), \
                  RSRC_CONF | EXEC_ON_READ, \
                  "another MPM that is enabled beside this one")

/* Defines everything a model declares to httpd (its directive table, its
 * ops and its module struct) in one statement:
 *   LOOM_MPM_MODULE(worker, LOOM_MODEL_WORKER, LOOM_CAP_THREADED,
 *                   LOOM_THREADED_COMMANDS, worker_child_main, NULL);
 * The module symbol is mpm_loom_<name>_module, -V shows <name>. */
#define LOOM_MPM_MODULE(name, model_id, caps, commands, main_fn, hooks_fn) \
    static const command_rec name##_cmds[] = {                             \
        commands, LOOM_CLASH_COMMAND("mpm_loom_" #name), { NULL }          \
    };                                                                     \
    static const loom_mpm_ops_t name##_ops = {                             \
        "loom_" #name, model_id, caps, &mpm_loom_##name##_module, main_fn, \
        hooks_fn                                                           \
    };                                                                     \
    static void                                                            \
    name##_register_hooks(apr_pool_t *p)                                   \
    {                                                                      \
        loom_mpm_register(&name##_ops, p);                                 \
    }                                                                      \
    LOOM_DECLARE_MODULE(mpm_loom_##name) = {                               \
        MPM20_MODULE_STUFF,                                                \
        NULL,                     /* rewrite_args: a DSO cannot use it */  \
        NULL, NULL, NULL, NULL,   /* per-dir and per-server config */      \
        name##_cmds,                                                       \
        name##_register_hooks,                                             \
        AP_MODULE_FLAG_NONE                                                \
    }

/* Called from the model's register_hooks: registers every hook and makes
 * `ops` the context for this configuration pass. */
void loom_mpm_register(const loom_mpm_ops_t *ops, apr_pool_t *p);

/* The ops of the loaded model (set by loom_mpm_register). */
const loom_mpm_ops_t *loom_mpm_ops(void);

/* Whether this configuration runs the connection engine: connections wait
 * in the child's poller between requests, and httpd's core hands them
 * back after each request (AP_MPMQ_IS_ASYNC). Any thread, once the
 * configuration is read. */
int loom_mpm_parks(void);

#endif
