/* Idle maintenance and crash back-off as pure decisions from counts: no
 * clock, no scoreboard, no side effects, so they can be unit-tested. */
#ifndef LOOM_CAPACITY_H
#define LOOM_CAPACITY_H

#include "apr_time.h"

#define LOOM_SPAWN_RATE_MAX 32

struct loom_capacity_in {
    int idle;         /* idle (or starting) workers in current children */
    int active;       /* current-generation children not draining */
    int max_active;   /* processes allowed by MaxRequestWorkers */
    int free_slots;   /* scoreboard slots a new child could take now */
    int per_child;    /* workers per child: 1 or ThreadsPerChild */
    int min_spare;    /* MinSpareServers / MinSpareThreads */
    int max_spare;    /* MaxSpareServers / MaxSpareThreads */
    int rate;         /* spawn rate after the previous decision */
    int hold_off;     /* > 0: do not grow the rate (after a restart) */
};

struct loom_capacity_out {
    int spawn;        /* children to start now */
    int retire;       /* children to retire now: 0 or 1 */
    int next_rate;
    int at_limit;     /* short of idle workers, but no child may start */
};

struct loom_capacity_out loom_capacity_decide(const struct loom_capacity_in *in);

/* Crash back-off. A crash within LOOM_CRASH_WINDOW of the previous one
 * belongs to the same burst; the first LOOM_CRASH_FREE of a burst are
 * replaced at once, later ones after a delay that doubles up to a cap. */
#define LOOM_CRASH_WINDOW  apr_time_from_sec(10)
#define LOOM_CRASH_FREE    3
#define LOOM_CRASH_DELAY_MIN apr_time_from_msec(50)
#define LOOM_CRASH_DELAY_MAX apr_time_from_sec(1)

struct loom_crashes {
    int        count;       /* crashes in the current burst */
    apr_time_t first;       /* when the burst began */
    apr_time_t last;        /* the latest crash */
};

/* Records a crash at `now`; returns how long to wait before the next
 * spawn (0: at once). */
apr_time_t loom_crash_note(struct loom_crashes *c, apr_time_t now);

/* True when a burst is going on but none happened for a whole window:
 * the caller logs the end of the burst and resets it. */
int loom_crash_burst_over(const struct loom_crashes *c, apr_time_t now);

#endif
