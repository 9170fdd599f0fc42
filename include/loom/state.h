/* The core's one context: what the current configuration pass set up, and
 * the data retained across restarts (the DSO is unloaded and reloaded on
 * every restart, so anything that must survive lives in `retained`).
 *
 * Threads: written only by the parent's one thread, during configuration
 * and in its loop; a child inherits a copy at fork and only reads it, from
 * any of its threads, so nothing here needs a lock. */
#ifndef LOOM_STATE_H
#define LOOM_STATE_H

#include "httpd.h"
#include "unixd.h"
#include "ap_listen.h"

#include "loom/capacity.h"
#include "loom/config.h"
#include "loom/mpm.h"

/* A process slot as the parent sees it. */
typedef struct loom_slot {
    pid_t           pid;          /* 0: free */
    ap_generation_t generation;
    int             bucket;
    int             draining;     /* told to finish and exit */
    apr_time_t      drain_since;  /* when it was told */
    int             drain_cut;    /* LoomDrainTimeout passed: stopped */
    int             killed;       /* we sent SIGKILL: not a crash */
    apr_time_t      started;
} loom_slot_t;

typedef struct loom_retained {
    ap_unixd_mpm_retained_data *mpm;    /* shared with the core's handlers */
    int           first_server_limit;   /* sizes `slots` and the scoreboard */
    int           first_thread_limit;
    int           max_slot_used;        /* highest slot ever used + 1 */
    int           spawn_rate;
    int           hold_off;             /* ticks without spawn-rate growth */
    int           reported_limit;       /* "MaxRequestWorkers reached" once */
    struct loom_crashes crashes;        /* the current crash burst */
    apr_time_t    spawn_not_before;     /* crash back-off */
    int           burst_logged;
    int           fork_failing;         /* logged once per episode */
    int           memory_capped;        /* LOOM0419 said; LOOM0420 not yet */
    uint64_t      child_own_most;       /* loom/memory.h: largest private
                                         * bytes of a settled child */
    loom_slot_t  *slots;                /* first_server_limit entries */
    void         *figures;              /* shared with the children:
                                         * loom/figures.h, or NULL */
} loom_retained_t;

typedef struct loom_state {
    const loom_mpm_ops_t *ops;
    loom_cfg_t           *cfg;          /* this configuration pass */
    loom_retained_t      *retained;
    apr_pool_t           *pconf;
    ap_listen_rec       **buckets;      /* listeners per bucket */
    int                   num_buckets;
    int                   one_process;  /* -X or -DONE_PROCESS */
    int                   foreground;
    int                   no_detach;
} loom_state_t;

/* The context; valid from register_hooks on. */
loom_state_t *loom_state(void);

#endif
