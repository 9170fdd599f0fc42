/* Idle maintenance and crash back-off decisions (modules/core/capacity.c). */
#include "unit.h"
#include "../../modules/core/capacity.c"

static struct loom_capacity_in
prefork_in(int idle, int active, int rate)
{
    struct loom_capacity_in in = {
        .idle = idle, .active = active, .max_active = 150,
        .free_slots = 256 - active, .per_child = 1,
        .min_spare = 5, .max_spare = 10, .rate = rate, .hold_off = 0,
    };
    return in;
}

UNIT_TEST(the_whole_shortfall_is_spawned_and_the_rate_doubles)
{
    struct loom_capacity_in in = prefork_in(0, 1, 1);
    struct loom_capacity_out out = loom_capacity_decide(&in);

    UNIT_EQ(out.spawn, 5);          /* MinSpare 5 - 0 idle */
    UNIT_EQ(out.next_rate, 2);
    UNIT_EQ(out.retire, 0);
}

UNIT_TEST(a_grown_rate_is_spent_whole_beyond_the_shortfall)
{
    struct loom_capacity_in in = prefork_in(3, 4, 8);
    struct loom_capacity_out out = loom_capacity_decide(&in);

    UNIT_EQ(out.spawn, 8);          /* more than 5 - 3: load keeps coming */
    UNIT_EQ(out.next_rate, 16);
}

UNIT_TEST(a_burst_doubles_the_spawns_per_short_tick)
{
    struct loom_capacity_in in = prefork_in(0, 1, 1);
    int tick, spawned[5];

    in.min_spare = 2;
    for (tick = 0; tick < 5; tick++) {
        struct loom_capacity_out out = loom_capacity_decide(&in);

        spawned[tick] = out.spawn;
        in.active += out.spawn;
        in.rate = out.next_rate;    /* every new child is taken at once */
    }
    UNIT_EQ(spawned[0], 2);
    UNIT_EQ(spawned[1], 2);
    UNIT_EQ(spawned[2], 4);
    UNIT_EQ(spawned[3], 8);
    UNIT_EQ(spawned[4], 16);
}

UNIT_TEST(rate_stops_at_its_maximum)
{
    struct loom_capacity_in in = prefork_in(0, 1, LOOM_SPAWN_RATE_MAX);

    in.min_spare = 100;
    UNIT_EQ(loom_capacity_decide(&in).spawn, LOOM_SPAWN_RATE_MAX);
    UNIT_EQ(loom_capacity_decide(&in).next_rate, LOOM_SPAWN_RATE_MAX);
}

UNIT_TEST(rate_resets_when_nothing_is_short)
{
    struct loom_capacity_in in = prefork_in(7, 8, 16);
    struct loom_capacity_out out = loom_capacity_decide(&in);

    UNIT_EQ(out.spawn, 0);
    UNIT_EQ(out.retire, 0);
    UNIT_EQ(out.next_rate, 1);
}

UNIT_TEST(retire_one_above_max_spare_but_never_the_last_child)
{
    struct loom_capacity_in in = prefork_in(12, 12, 1);

    UNIT_EQ(loom_capacity_decide(&in).retire, 1);
    in = prefork_in(12, 1, 1);
    in.per_child = 25;
    in.max_spare = 10;
    UNIT_EQ(loom_capacity_decide(&in).retire, 0);
}

UNIT_TEST(threads_needed_become_whole_children)
{
    struct loom_capacity_in in = prefork_in(10, 1, 1);

    in.per_child = 25;
    in.min_spare = 75;
    in.max_spare = 250;
    UNIT_EQ(loom_capacity_decide(&in).spawn, 3);   /* 65 threads: 3 x 25 */
}

UNIT_TEST(at_limit_when_max_request_workers_is_reached)
{
    struct loom_capacity_in in = prefork_in(0, 150, 4);
    struct loom_capacity_out out = loom_capacity_decide(&in);

    UNIT_EQ(out.spawn, 0);
    UNIT_EQ(out.at_limit, 1);
    in = prefork_in(0, 10, 4);
    in.free_slots = 0;             /* slots held by a finishing generation */
    UNIT_EQ(loom_capacity_decide(&in).at_limit, 1);
}

UNIT_TEST(no_rate_growth_while_held_off_after_a_restart)
{
    struct loom_capacity_in in = prefork_in(0, 1, 2);

    in.hold_off = 3;
    in.min_spare = 1;
    UNIT_EQ(loom_capacity_decide(&in).spawn, 2);
    UNIT_EQ(loom_capacity_decide(&in).next_rate, 2);
}

UNIT_TEST(first_crashes_are_replaced_at_once_then_backed_off)
{
    struct loom_crashes c = { 0, 0, 0 };
    apr_time_t now = apr_time_from_sec(100);
    int i;

    for (i = 0; i < LOOM_CRASH_FREE; i++) {
        UNIT_EQ(loom_crash_note(&c, now + i), 0);
    }
    UNIT_EQ(loom_crash_note(&c, now + 10), LOOM_CRASH_DELAY_MIN);
    UNIT_EQ(loom_crash_note(&c, now + 20), 2 * LOOM_CRASH_DELAY_MIN);
    for (i = 0; i < 30; i++) {
        UNIT_TRUE(loom_crash_note(&c, now + 30 + i) <= LOOM_CRASH_DELAY_MAX);
    }
    UNIT_EQ(loom_crash_note(&c, now + 100), LOOM_CRASH_DELAY_MAX);
}

UNIT_TEST(a_quiet_window_ends_the_burst)
{
    struct loom_crashes c = { 0, 0, 0 };
    apr_time_t now = apr_time_from_sec(100);
    int i;

    for (i = 0; i < 6; i++) {
        loom_crash_note(&c, now);
    }
    UNIT_TRUE(!loom_crash_burst_over(&c, now + LOOM_CRASH_WINDOW));
    UNIT_TRUE(loom_crash_burst_over(&c, now + LOOM_CRASH_WINDOW + 1));
    /* a crash after the window starts a new burst: replaced at once */
    UNIT_EQ(loom_crash_note(&c, now + LOOM_CRASH_WINDOW + 1), 0);
    UNIT_EQ(c.count, 1);
}
