/* Deadlines: one API, two shapes inside. Almost every deadline has a fixed
 * length (Timeout, KeepAliveTimeout, the linger times): each distinct length
 * gets a FIFO lane, where arrival order is expiry order, so starting and
 * stopping are O(1). Anything else (module callbacks) goes into a min-heap.
 * The timer is embedded in its owner, so arming one never allocates (the
 * heap's array grows, rarely). Not thread-safe: one owner thread. */
#ifndef LOOM_TIMERQ_H
#define LOOM_TIMERQ_H

#include <stdint.h>

#include "loom/list.h"

#define LOOM_TIMERQ_LANES 16
#define LOOM_LANE_NONE    0xff

typedef struct loom_timer {
    uint64_t    due;          /* ms on the owner's monotonic clock */
    uint32_t    heap_idx;     /* 0: not in the heap; else index + 1 */
    uint8_t     lane;         /* LOOM_LANE_NONE, or the lane it is in */
    uint8_t     cancelable;   /* a draining child need not wait for it */
    loom_list_t link;         /* position in its lane */
} loom_timer_t;

typedef struct loom_timerq {
    loom_list_t    lanes[LOOM_TIMERQ_LANES];
    uint64_t       lane_ms[LOOM_TIMERQ_LANES];
    int            nlanes;
    loom_timer_t **heap;
    uint32_t       heap_len;
    uint32_t       heap_cap;
    int            armed;         /* timers running */
    int            armed_firm;    /* ...of which not cancelable */
} loom_timerq_t;

typedef void loom_timer_fn(void *ctx, loom_timer_t *t);

void loom_timerq_init(loom_timerq_t *q);
void loom_timerq_free(loom_timerq_t *q);

/* The lane for deadlines of `length_ms`, made on first use; -1 when every
 * lane is taken (use loom_timerq_start_at then). */
int loom_timerq_lane(loom_timerq_t *q, uint64_t length_ms);

/* Arms `t` to expire `now` + the lane's length. */
void loom_timerq_start_lane(loom_timerq_t *q, loom_timer_t *t, int lane,
                            uint64_t now);

/* Arms `t` to expire at `due`. 0, or -1 when the heap cannot grow. */
int loom_timerq_start_at(loom_timerq_t *q, loom_timer_t *t, uint64_t due);

/* Disarms `t` if it is armed. */
void loom_timerq_stop(loom_timerq_t *q, loom_timer_t *t);

/* Whether `t` is armed. */
int loom_timerq_armed(const loom_timer_t *t);

/* Milliseconds until the earliest deadline (0 if due), or -1 if none. */
int loom_timerq_next_ms(const loom_timerq_t *q, uint64_t now);

/* Disarms and fires, in deadline order, every timer due at `now`. A
 * callback may arm timers again, this one included. */
void loom_timerq_expire(loom_timerq_t *q, uint64_t now, loom_timer_fn *fire,
                        void *ctx);

/* True when every armed timer is cancelable: a draining child may exit. */
int loom_timerq_only_cancelable(const loom_timerq_t *q);

#endif
