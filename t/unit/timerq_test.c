/* The timer queue: lanes plus heap (modules/core/timerq.c). */
#include "unit.h"
#include "../../modules/core/timerq.c"

struct fired {
    loom_timer_t *order[64];
    int n;
};

static void
record(void *ctx, loom_timer_t *t)
{
    struct fired *f = ctx;

    f->order[f->n++] = t;
}

UNIT_TEST(lane_timers_expire_in_arrival_order)
{
    loom_timerq_t q;
    loom_timer_t a = { 0 }, b = { 0 }, c = { 0 };
    struct fired f = { { 0 }, 0 };
    int lane;

    loom_timerq_init(&q);
    lane = loom_timerq_lane(&q, 5000);
    loom_timerq_start_lane(&q, &a, lane, 1000);
    loom_timerq_start_lane(&q, &b, lane, 1001);
    loom_timerq_start_lane(&q, &c, lane, 1002);
    UNIT_EQ(loom_timerq_next_ms(&q, 1000), 5000);
    loom_timerq_expire(&q, 6001, record, &f);
    UNIT_EQ(f.n, 2);
    UNIT_TRUE(f.order[0] == &a && f.order[1] == &b);
    UNIT_TRUE(loom_timerq_armed(&c) && !loom_timerq_armed(&a));
    loom_timerq_free(&q);
}

UNIT_TEST(same_length_shares_a_lane)
{
    loom_timerq_t q;

    loom_timerq_init(&q);
    UNIT_EQ(loom_timerq_lane(&q, 60000), 0);
    UNIT_EQ(loom_timerq_lane(&q, 5000), 1);
    UNIT_EQ(loom_timerq_lane(&q, 60000), 0);
}

UNIT_TEST(heap_and_lanes_merge_by_deadline)
{
    loom_timerq_t q;
    loom_timer_t lane_t = { 0 }, h1 = { 0 }, h2 = { 0 }, h3 = { 0 };
    struct fired f = { { 0 }, 0 };

    loom_timerq_init(&q);
    loom_timerq_start_lane(&q, &lane_t, loom_timerq_lane(&q, 300), 0);
    loom_timerq_start_at(&q, &h1, 500);
    loom_timerq_start_at(&q, &h2, 100);
    loom_timerq_start_at(&q, &h3, 400);
    UNIT_EQ(loom_timerq_next_ms(&q, 0), 100);
    loom_timerq_expire(&q, 1000, record, &f);
    UNIT_EQ(f.n, 4);
    UNIT_TRUE(f.order[0] == &h2 && f.order[1] == &lane_t
              && f.order[2] == &h3 && f.order[3] == &h1);
    UNIT_EQ(loom_timerq_next_ms(&q, 1000), -1);
    loom_timerq_free(&q);
}

UNIT_TEST(stopping_a_timer_in_the_middle_of_the_heap)
{
    loom_timerq_t q;
    loom_timer_t t[20];
    struct fired f = { { 0 }, 0 };
    int i;

    loom_timerq_init(&q);
    memset(t, 0, sizeof(t));
    for (i = 0; i < 20; i++) {
        loom_timerq_start_at(&q, &t[i], (uint64_t) ((i * 7) % 20) + 1);
    }
    loom_timerq_stop(&q, &t[3]);
    loom_timerq_stop(&q, &t[11]);
    loom_timerq_stop(&q, &t[11]);          /* twice is harmless */
    loom_timerq_expire(&q, 100, record, &f);
    UNIT_EQ(f.n, 18);
    for (i = 1; i < f.n; i++) {
        UNIT_TRUE(f.order[i - 1]->due <= f.order[i]->due);
    }
    loom_timerq_free(&q);
}

UNIT_TEST(only_cancelable_timers_left_lets_a_child_go)
{
    loom_timerq_t q;
    loom_timer_t keepalive = { 0 }, write = { 0 };

    loom_timerq_init(&q);
    keepalive.cancelable = 1;
    loom_timerq_start_at(&q, &keepalive, 10);
    UNIT_TRUE(loom_timerq_only_cancelable(&q));
    loom_timerq_start_at(&q, &write, 20);
    UNIT_TRUE(!loom_timerq_only_cancelable(&q));
    loom_timerq_stop(&q, &write);
    UNIT_TRUE(loom_timerq_only_cancelable(&q));
    loom_timerq_free(&q);
}

static void
rearm(void *ctx, loom_timer_t *t)
{
    loom_timerq_t *q = ctx;

    if (t->due < 300) {
        loom_timerq_start_at(q, t, t->due + 100);   /* a callback re-arms */
    }
}

UNIT_TEST(a_callback_may_rearm_its_own_timer)
{
    loom_timerq_t q;
    loom_timer_t t = { 0 };

    loom_timerq_init(&q);
    loom_timerq_start_at(&q, &t, 100);
    loom_timerq_expire(&q, 1000, rearm, &q);
    UNIT_TRUE(!loom_timerq_armed(&t));
    UNIT_EQ(t.due, 300);
    loom_timerq_free(&q);
}
