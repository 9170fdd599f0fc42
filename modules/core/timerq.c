/* Fixed-length lanes plus a min-heap behind one deadline API (timerq.h). */
#include <stdlib.h>
#include <string.h>

#include "loom/timerq.h"


void
loom_timerq_init(loom_timerq_t *q)
{
    int i;

    memset(q, 0, sizeof(*q));
    for (i = 0; i < LOOM_TIMERQ_LANES; i++) {
        loom_list_init(&q->lanes[i]);
    }
}


void
loom_timerq_free(loom_timerq_t *q)
{
    free(q->heap);
    q->heap = NULL;
    q->heap_len = q->heap_cap = 0;
}


int
loom_timerq_lane(loom_timerq_t *q, uint64_t length_ms)
{
    int i;

    for (i = 0; i < q->nlanes; i++) {
        if (q->lane_ms[i] == length_ms) {
            return i;
        }
    }
    if (q->nlanes == LOOM_TIMERQ_LANES) {
        return -1;
    }
    q->lane_ms[q->nlanes] = length_ms;
    return q->nlanes++;
}


static void
count_in(loom_timerq_t *q, const loom_timer_t *t)
{
    q->armed++;
    q->armed_firm += !t->cancelable;
}


void
loom_timerq_start_lane(loom_timerq_t *q, loom_timer_t *t, int lane,
                       uint64_t now)
{
    loom_timerq_stop(q, t);
    t->due = now + q->lane_ms[lane];
    t->lane = (uint8_t) lane;
    loom_list_append(&q->lanes[lane], &t->link);
    count_in(q, t);
}


/* Heap positions are 0-based here; heap_idx stores position + 1 so that
 * 0 can mean "not in the heap". */
static void
heap_set(loom_timerq_t *q, uint32_t pos, loom_timer_t *t)
{
    q->heap[pos] = t;
    t->heap_idx = pos + 1;
}


static void
sift_up(loom_timerq_t *q, uint32_t pos)
{
    loom_timer_t *t = q->heap[pos];

    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;

        if (q->heap[parent]->due <= t->due) {
            break;
        }
        heap_set(q, pos, q->heap[parent]);
        pos = parent;
    }
    heap_set(q, pos, t);
}


static void
sift_down(loom_timerq_t *q, uint32_t pos)
{
    loom_timer_t *t = q->heap[pos];

    for (;;) {
        uint32_t child = 2 * pos + 1;

        if (child >= q->heap_len) {
            break;
        }
        if (child + 1 < q->heap_len
            && q->heap[child + 1]->due < q->heap[child]->due) {
            child++;
        }
        if (t->due <= q->heap[child]->due) {
            break;
        }
        heap_set(q, pos, q->heap[child]);
        pos = child;
    }
    heap_set(q, pos, t);
}


int
loom_timerq_start_at(loom_timerq_t *q, loom_timer_t *t, uint64_t due)
{
    loom_timerq_stop(q, t);
    if (q->heap_len == q->heap_cap) {
        uint32_t cap = q->heap_cap ? q->heap_cap * 2 : 64;
        loom_timer_t **grown = realloc(q->heap, cap * sizeof(*grown));

        if (grown == NULL) {
            return -1;
        }
        q->heap = grown;
        q->heap_cap = cap;
    }
    t->due = due;
    t->lane = LOOM_LANE_NONE;
    heap_set(q, q->heap_len++, t);
    sift_up(q, q->heap_len - 1);
    count_in(q, t);
    return 0;
}


void
loom_timerq_stop(loom_timerq_t *q, loom_timer_t *t)
{
    if (t->heap_idx != 0) {
        uint32_t pos = t->heap_idx - 1;
        loom_timer_t *last = q->heap[--q->heap_len];

        t->heap_idx = 0;
        if (last != t) {
            heap_set(q, pos, last);
            sift_down(q, pos);
            sift_up(q, last->heap_idx - 1);
        }
    }
    else if (t->lane != LOOM_LANE_NONE && t->link.next != NULL
             && t->link.next != &t->link) {
        loom_list_remove(&t->link);
    }
    else {
        return;          /* not armed */
    }
    t->lane = LOOM_LANE_NONE;
    q->armed--;
    q->armed_firm -= !t->cancelable;
}


int
loom_timerq_armed(const loom_timer_t *t)
{
    return t->heap_idx != 0
           || (t->lane != LOOM_LANE_NONE && t->link.next != NULL
               && t->link.next != &t->link);
}


static loom_timer_t *
earliest(const loom_timerq_t *q)
{
    loom_timer_t *best = q->heap_len > 0 ? q->heap[0] : NULL;
    int i;

    for (i = 0; i < q->nlanes; i++) {
        if (!loom_list_empty(&q->lanes[i])) {
            loom_timer_t *head = loom_list_entry(q->lanes[i].next,
                                                 loom_timer_t, link);

            if (best == NULL || head->due < best->due) {
                best = head;
            }
        }
    }
    return best;
}


int
loom_timerq_next_ms(const loom_timerq_t *q, uint64_t now)
{
    const loom_timer_t *t = earliest(q);

    if (t == NULL) {
        return -1;
    }
    return t->due <= now ? 0 : (int) (t->due - now);
}


void
loom_timerq_expire(loom_timerq_t *q, uint64_t now, loom_timer_fn *fire,
                   void *ctx)
{
    loom_timer_t *t;

    while ((t = earliest(q)) != NULL && t->due <= now) {
        loom_timerq_stop(q, t);        /* first, so the callback may re-arm */
        fire(ctx, t);
    }
}


int
loom_timerq_only_cancelable(const loom_timerq_t *q)
{
    return q->armed_firm == 0;
}
