/* Idle maintenance and crash back-off decisions (see capacity.h). */
#include "httpd.h"
#include "http_main.h"
#include "loom/capacity.h"


static int
min_int(int a, int b)
{
    return a < b ? a : b;
}


struct loom_capacity_out
loom_capacity_decide(const struct loom_capacity_in *in)
{
    struct loom_capacity_out out = { 0, 0, 1, 0 };
    int need, room;

    if (in->idle > in->max_spare && in->active > 1) {
        /* One per decision: the hysteresis between Min and MaxSpare keeps
         * a bursty load from flapping the process count. */
        out.retire = 1;
        return out;
    }
    if (in->idle >= in->min_spare) {
        return out;
    }
    need = (in->min_spare - in->idle + in->per_child - 1) / in->per_child;
    room = min_int(in->max_active - in->active, in->free_slots);
    if (room <= 0) {
        out.at_limit = 1;
        return out;
    }
    /* The whole shortfall now, or the rate if it has grown larger: a
     * shortage that outlives a tick means load is arriving faster than
     * children start, so the rate doubles per short tick (as stock's
     * does) and is spent whole even beyond the shortfall seen now. */
    out.spawn = min_int(need > in->rate ? need : in->rate, room);
    out.spawn = min_int(out.spawn, LOOM_SPAWN_RATE_MAX);
    out.next_rate = in->rate;
    if (in->hold_off == 0) {
        out.next_rate = min_int(in->rate * 2, LOOM_SPAWN_RATE_MAX);
    }
    return out;
}


apr_time_t
loom_crash_note(struct loom_crashes *c, apr_time_t now)
{
    apr_time_t delay;
    int shift;

    if (c->count == 0 || now - c->last > LOOM_CRASH_WINDOW) {
        c->count = 0;
        c->first = now;
    }
    c->count++;
    c->last = now;
    if (c->count <= LOOM_CRASH_FREE) {
        return 0;
    }
    shift = min_int(c->count - LOOM_CRASH_FREE - 1, 16);
    delay = LOOM_CRASH_DELAY_MIN << shift;
    return delay < LOOM_CRASH_DELAY_MAX ? delay : LOOM_CRASH_DELAY_MAX;
}


int
loom_crash_burst_over(const struct loom_crashes *c, apr_time_t now)
{
    return c->count > 0 && now - c->last > LOOM_CRASH_WINDOW;
}
