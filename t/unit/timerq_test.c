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

/* Walks the heap and checks its shape: the links agree, every parent is
 * due no later than its children, and positions 1..heap_len are filled
 * (a complete tree). Returns the number of nodes, or -1. */
static int
heap_ok(loom_timerq_t *q)
{
    uint32_t pos;

    if ((q->heap == NULL) != (q->heap_len == 0)
        || (q->heap != NULL && q->heap->parent != NULL)) {
        return -1;
    }
    for (pos = 1; pos <= q->heap_len; pos++) {
        loom_timer_t *t = *heap_slot(q, pos);

        if (t == NULL || t->where != LOOM_TIMER_HEAP) {
            return -1;
        }
        if ((t->left != NULL && (t->left->parent != t
                                 || t->left->due < t->due))
            || (t->right != NULL && (t->right->parent != t
                                     || t->right->due < t->due))) {
            return -1;
        }
        if ((t->left != NULL) != (2 * pos <= q->heap_len)
            || (t->right != NULL) != (2 * pos + 1 <= q->heap_len)) {
            return -1;
        }
    }
    return (int) q->heap_len;
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
    UNIT_EQ(q.armed, 1);
}

UNIT_TEST(same_length_shares_a_lane)
{
    loom_timerq_t q;

    loom_timerq_init(&q);
    UNIT_EQ(loom_timerq_lane(&q, 60000), 0);
    UNIT_EQ(loom_timerq_lane(&q, 5000), 1);
    UNIT_EQ(loom_timerq_lane(&q, 60000), 0);
}

UNIT_TEST(a_lane_stays_in_order_when_a_clock_was_read_late)
{
    loom_timerq_t q;
    loom_timer_t a = { 0 }, b = { 0 };
    int lane;

    loom_timerq_init(&q);
    lane = loom_timerq_lane(&q, 100);
    loom_timerq_start_lane(&q, &a, lane, 1005);
    loom_timerq_start_lane(&q, &b, lane, 1000);   /* read before a's */
    UNIT_EQ(b.due, 1105);
    UNIT_EQ(b.where, LOOM_TIMER_LANE0 + lane);
}

UNIT_TEST(a_deadline_set_earlier_joins_its_lane_or_the_heap)
{
    loom_timerq_t q;
    loom_timer_t a = { 0 }, b = { 0 }, c = { 0 };
    struct fired f = { { 0 }, 0 };
    int lane;

    loom_timerq_init(&q);
    lane = loom_timerq_lane(&q, 30000);
    loom_timerq_start_lane_at(&q, &a, lane, 31000);   /* empty lane */
    loom_timerq_start_lane_at(&q, &b, lane, 31000);   /* same deadline */
    UNIT_EQ(a.where, LOOM_TIMER_LANE0 + lane);
    UNIT_EQ(b.where, LOOM_TIMER_LANE0 + lane);
    loom_timerq_start_lane_at(&q, &c, lane, 30500);   /* before b: heap */
    UNIT_EQ(c.where, LOOM_TIMER_HEAP);
    UNIT_EQ(c.due, 30500);
    /* b parks again with its deadline unchanged: still the lane's end. */
    loom_timerq_start_lane_at(&q, &b, lane, 31000);
    UNIT_EQ(b.where, LOOM_TIMER_LANE0 + lane);
    UNIT_EQ(q.armed, 3);
    loom_timerq_expire(&q, 31000, record, &f);
    UNIT_EQ(f.n, 3);
    UNIT_TRUE(f.order[0] == &c && f.order[1] == &a && f.order[2] == &b);
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
    UNIT_EQ(q.armed, 0);
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
    UNIT_EQ(heap_ok(&q), 20);
    loom_timerq_stop(&q, &t[3]);
    loom_timerq_stop(&q, &t[11]);
    loom_timerq_stop(&q, &t[11]);          /* twice is harmless */
    UNIT_EQ(heap_ok(&q), 18);
    loom_timerq_expire(&q, 100, record, &f);
    UNIT_EQ(f.n, 18);
    for (i = 1; i < f.n; i++) {
        UNIT_TRUE(f.order[i - 1]->due <= f.order[i]->due);
    }
}

UNIT_TEST(the_heap_keeps_its_shape_through_random_work)
{
    enum { N = 300 };
    static loom_timer_t t[N];
    loom_timerq_t q;
    uint64_t last = 0;
    unsigned seed = 14;
    int i, n = 0, bad = 0;

    loom_timerq_init(&q);
    for (i = 0; i < 20000; i++) {
        loom_timer_t *x = &t[rand_r(&seed) % N];

        if (rand_r(&seed) % 3 == 0) {
            n -= loom_timerq_armed(x);
            loom_timerq_stop(&q, x);
        }
        else {
            n += !loom_timerq_armed(x);
            loom_timerq_start_at(&q, x, (uint64_t) (rand_r(&seed) % 1000));
        }
        bad += heap_ok(&q) != n || q.armed != n;
    }
    UNIT_EQ(bad, 0);
    /* Emptied from the root, the deadlines come out in order. */
    while (q.heap != NULL) {
        loom_timer_t *root = q.heap;

        bad += root->due < last;
        last = root->due;
        loom_timerq_stop(&q, root);
        bad += heap_ok(&q) != --n;
    }
    UNIT_EQ(bad, 0);
    UNIT_EQ(q.armed, 0);
}

/* Re-arms the timer that fired 100 ms after its deadline, up to 300. */
static void
rearm(void *ctx, loom_timer_t *t)
{
    loom_timerq_t *q = ctx;

    if (t->due < 300) {
        loom_timerq_start_at(q, t, t->due + 100);
    }
}

UNIT_TEST(a_timer_rearmed_by_its_callback_fires_once_per_call)
{
    loom_timerq_t q;
    loom_timer_t t = { 0 };

    loom_timerq_init(&q);
    loom_timerq_start_at(&q, &t, 100);
    loom_timerq_expire(&q, 1000, rearm, &q);
    UNIT_TRUE(loom_timerq_armed(&t));      /* due at 200: the next call */
    UNIT_EQ(t.due, 200);
    UNIT_EQ(loom_timerq_next_ms(&q, 1000), 0);
    loom_timerq_expire(&q, 1000, rearm, &q);
    UNIT_EQ(t.due, 300);
    loom_timerq_expire(&q, 1000, rearm, &q);
    UNIT_TRUE(!loom_timerq_armed(&t));
    UNIT_EQ(q.armed, 0);
}

struct chain {
    loom_timerq_t *q;
    loom_timer_t  *victim;   /* disarmed by the first callback */
    loom_timer_t  *moved;    /* re-armed later by the first callback */
    loom_timer_t  *fresh;    /* armed due now by the first callback */
    struct fired   f;
};

static void
meddle(void *ctx, loom_timer_t *t)
{
    struct chain *c = ctx;

    record(&c->f, t);
    if (c->f.n == 1) {
        loom_timerq_stop(c->q, c->victim);
        loom_timerq_start_at(c->q, c->moved, 5000);
        loom_timerq_start_at(c->q, c->fresh, 0);
    }
}

UNIT_TEST(a_callback_may_disarm_or_arm_others_due_in_the_same_call)
{
    loom_timerq_t q;
    loom_timer_t a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 };
    struct chain ch = { &q, &b, &c, &e, { { 0 }, 0 } };
    int lane;

    loom_timerq_init(&q);
    lane = loom_timerq_lane(&q, 10);
    loom_timerq_start_at(&q, &a, 1);
    loom_timerq_start_lane(&q, &b, lane, 0);      /* due 10 */
    loom_timerq_start_at(&q, &c, 20);
    loom_timerq_start_at(&q, &d, 30);
    loom_timerq_expire(&q, 100, meddle, &ch);
    UNIT_EQ(ch.f.n, 2);
    UNIT_TRUE(ch.f.order[0] == &a && ch.f.order[1] == &d);
    UNIT_TRUE(!loom_timerq_armed(&b));
    UNIT_TRUE(loom_timerq_armed(&c) && c.due == 5000);
    UNIT_TRUE(loom_timerq_armed(&e));             /* waits for next call */
    UNIT_EQ(q.armed, 2);
    loom_timerq_expire(&q, 100, meddle, &ch);
    UNIT_EQ(ch.f.n, 3);
    UNIT_TRUE(ch.f.order[2] == &e);
}

/* Shortening picks the timers whose owner says so (odd-numbered ones). */
struct owner {
    loom_timer_t timer;
    int          lingering;
};

static int
is_lingering(void *ctx, loom_timer_t *t)
{
    int *visits = ctx;

    (*visits)++;
    return loom_list_entry(t, struct owner, timer)->lingering;
}

UNIT_TEST(shortening_moves_only_picked_timers_due_after_the_cut)
{
    enum { N = 40 };
    struct owner o[N];
    loom_timerq_t q;
    int i, long_lane, short_lane, visits = 0, bad = 0;

    memset(o, 0, sizeof(o));
    loom_timerq_init(&q);
    long_lane = loom_timerq_lane(&q, 30000);
    short_lane = loom_timerq_lane(&q, 2000);
    for (i = 0; i < N; i++) {
        o[i].lingering = i % 2;
        if (i < 10) {                   /* due before the cut: left alone */
            loom_timerq_start_lane(&q, &o[i].timer, long_lane,
                                   (uint64_t) i);
        }
        else if (i < 30) {              /* due after it, in the lane */
            loom_timerq_start_lane(&q, &o[i].timer, long_lane,
                                   (uint64_t) (10000 + i));
        }
        else {                          /* due after it, in the heap */
            loom_timerq_start_at(&q, &o[i].timer, (uint64_t) (50000 + i));
        }
    }
    loom_timerq_start_lane(&q, &o[0].timer, short_lane, 20000);
    /* At 29000 the cut is 31000: lane entries due 30000..30009 stay. */
    loom_timerq_shorten(&q, short_lane, 29000, is_lingering, &visits);
    for (i = 1; i < N; i++) {
        uint64_t want = i < 10 ? 30000 + (uint64_t) i
                        : !o[i].lingering ? (i < 30 ? 40000 : 50000)
                                            + (uint64_t) i
                        : 31000;

        bad += o[i].timer.due != want;
        bad += o[i].lingering && i >= 10
               && o[i].timer.where != LOOM_TIMER_LANE0 + short_lane;
    }
    UNIT_EQ(bad, 0);
    /* The 20 lane entries after the cut and the 10 in the heap. */
    UNIT_EQ(visits, 30);
    UNIT_EQ(heap_ok(&q), 5);
    UNIT_EQ(q.armed, N);
}
