/* Deadlines: one API, two shapes inside. Almost every deadline has a fixed
 * length (Timeout, KeepAliveTimeout, the linger times): each distinct length
 * gets a FIFO lane, a list kept in deadline order, so that arming and
 * disarming are O(1). Anything else (module callbacks, a deadline set
 * earlier and armed again) goes into a binary min-heap, O(log n). The timer
 * is embedded in its owner, heap links included, so arming one never
 * allocates and cannot fail. A zeroed loom_timer_t is a disarmed timer.
 *
 * Threads: a queue has no lock of its own. Its user serialises every call
 * on one queue and every read of its fields; any thread may make the calls
 * under that rule. In loom_event each child has two queues (connection
 * deadlines, timed callbacks): every worker thread arms and disarms, the
 * housekeeper expires, and the main thread shortens them at a graceful
 * stop, all under the child lock (loom_engine_t.lock). Callbacks fired by
 * loom_timerq_expire run under that lock as well: they must not block, and
 * must not call loom_timerq_expire or loom_timerq_shorten on the same
 * queue; they may arm and disarm any timer of it. */
#ifndef LOOM_TIMERQ_H
#define LOOM_TIMERQ_H

#include <stdint.h>

#include "loom/list.h"

#define LOOM_TIMERQ_LANES 16

typedef struct loom_timer {
    uint64_t            due;      /* ms on the user's monotonic clock */
    struct loom_timer  *parent;   /* in the heap: its links */
    struct loom_timer  *left;
    struct loom_timer  *right;
    loom_list_t         link;     /* in a lane, or fired soon by expire */
    uint8_t             where;    /* enum loom_timer_where; 0: disarmed */
} loom_timer_t;

enum loom_timer_where {
    LOOM_TIMER_OFF = 0,           /* disarmed */
    LOOM_TIMER_HEAP,
    LOOM_TIMER_FIRING,            /* due, taken out by the expire running */
    LOOM_TIMER_LANE0              /* in lane i: LOOM_TIMER_LANE0 + i */
};

typedef struct loom_timerq {
    loom_list_t    lanes[LOOM_TIMERQ_LANES];   /* each in deadline order */
    uint64_t       lane_ms[LOOM_TIMERQ_LANES];
    int            nlanes;
    loom_timer_t  *heap;          /* the root: the earliest heap deadline */
    uint32_t       heap_len;
    int            armed;         /* timers armed, in a lane or the heap */
} loom_timerq_t;

typedef void loom_timer_fn(void *ctx, loom_timer_t *t);
typedef int loom_timer_pick_fn(void *ctx, loom_timer_t *t);

/* An empty queue with no lanes. Nothing to free afterwards. */
void loom_timerq_init(loom_timerq_t *q);

/* The lane for deadlines of `length_ms`, made on first use; -1 when every
 * lane is taken (use loom_timerq_start_at then). */
int loom_timerq_lane(loom_timerq_t *q, uint64_t length_ms);

/* Arms `t` to expire `now` + the lane's length, at the end of the lane. If
 * another thread read a later `now` and armed first, `t` is due with that
 * later entry instead (a few ms at most), which keeps the lane in order. */
void loom_timerq_start_lane(loom_timerq_t *q, loom_timer_t *t, int lane,
                            uint64_t now);

/* Arms `t` to expire at `due`, a deadline set earlier that belongs to
 * `lane` (a lingering close armed again, a head's Timeout): at the end of
 * the lane when `due` is no earlier than its last entry, O(1); in the heap
 * otherwise, or when `lane` is -1, O(log n), so the lane stays in order. */
void loom_timerq_start_lane_at(loom_timerq_t *q, loom_timer_t *t, int lane,
                               uint64_t due);

/* Arms `t` to expire at `due`, in the heap. O(log n); cannot fail. */
void loom_timerq_start_at(loom_timerq_t *q, loom_timer_t *t, uint64_t due);

/* Disarms `t` if it is armed (O(1) in a lane, O(log n) in the heap). */
void loom_timerq_stop(loom_timerq_t *q, loom_timer_t *t);

/* Whether `t` is armed. */
int loom_timerq_armed(const loom_timer_t *t);

/* Milliseconds until the earliest deadline (0 if due), or -1 if none. */
int loom_timerq_next_ms(const loom_timerq_t *q, uint64_t now);

/* Fires, in deadline order, every timer due at `now`, each disarmed just
 * before its callback and each at most once per call. A callback may arm
 * or disarm any timer: one it disarms or re-arms before its turn does not
 * fire in this call, and one armed due at or before `now` (its own timer
 * included) waits for the next call. */
void loom_timerq_expire(loom_timerq_t *q, uint64_t now, loom_timer_fn *fire,
                        void *ctx);

/* Moves every armed timer due later than `now` + the length of `lane` and
 * for which `pick(ctx, t)` is true into `lane`, due `now` + its length, as
 * loom_timerq_start_lane arms it (a stopping child shortens its lingering
 * closes so). Cost: each other lane is walked back from its end only past
 * the entries due later than that, the heap is walked whole, and each timer
 * moved costs O(1) from a lane or O(log n) from the heap; no timer is
 * visited twice. `pick` must not change the queue; it may note the new
 * deadline in the timer's owner. */
void loom_timerq_shorten(loom_timerq_t *q, int lane, uint64_t now,
                         loom_timer_pick_fn *pick, void *ctx);

/* The shorter of two waits in milliseconds, where -1 means "no limit"
 * (as loom_timerq_next_ms and epoll_wait have it). */
static inline int
loom_min_wait(int a, int b)
{
    if (a < 0) {
        return b;
    }
    return b >= 0 && b < a ? b : a;
}

#endif
