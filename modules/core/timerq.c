/* Fixed-length lanes plus a min-heap behind one deadline API (timerq.h).
 *
 * The heap is a complete binary tree of the timers themselves, linked by
 * their parent/left/right pointers: position p (1-based, in level order)
 * is reached from the root by the bits of p below its top bit, 0 going
 * left and 1 right, so the last position, where a timer is added and from
 * where one fills a hole, is found in O(log n) without an array. */
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


/* The timer at the end of `lane`, or NULL. */
static loom_timer_t *
lane_last(loom_timerq_t *q, int lane)
{
    loom_list_t *head = &q->lanes[lane];

    return loom_list_empty(head) ? NULL
           : loom_list_entry(head->prev, loom_timer_t, link);
}


static void
lane_append(loom_timerq_t *q, loom_timer_t *t, int lane, uint64_t due)
{
    t->due = due;
    t->where = (uint8_t) (LOOM_TIMER_LANE0 + lane);
    loom_list_append(&q->lanes[lane], &t->link);
    q->armed++;
}


/* The link that holds heap position `pos` (1-based): the root pointer, or
 * a child pointer of the node at pos / 2. */
static loom_timer_t **
heap_slot(loom_timerq_t *q, uint32_t pos)
{
    loom_timer_t **slot = &q->heap;
    uint32_t bit;

    for (bit = 1u << (31 - __builtin_clz(pos)) >> 1; bit != 0; bit >>= 1) {
        slot = (pos & bit) ? &(*slot)->right : &(*slot)->left;
    }
    return slot;
}


/* The link that points at `t` from its parent, or the root pointer. */
static loom_timer_t **
link_to(loom_timerq_t *q, loom_timer_t *t)
{
    if (t->parent == NULL) {
        return &q->heap;
    }
    return t->parent->left == t ? &t->parent->left : &t->parent->right;
}


/* Swaps `c` with its parent `p`: c takes p's place and p takes c's. */
static void
swap_with_parent(loom_timerq_t *q, loom_timer_t *c)
{
    loom_timer_t *p = c->parent;
    loom_timer_t *cl = c->left, *cr = c->right;

    *link_to(q, p) = c;
    c->parent = p->parent;
    if (p->left == c) {
        c->left = p;
        c->right = p->right;
        if (c->right != NULL) {
            c->right->parent = c;
        }
    }
    else {
        c->right = p;
        c->left = p->left;
        if (c->left != NULL) {
            c->left->parent = c;
        }
    }
    p->parent = c;
    p->left = cl;
    p->right = cr;
    if (cl != NULL) {
        cl->parent = p;
    }
    if (cr != NULL) {
        cr->parent = p;
    }
}


static void
sift_up(loom_timerq_t *q, loom_timer_t *t)
{
    while (t->parent != NULL && t->due < t->parent->due) {
        swap_with_parent(q, t);
    }
}


static void
sift_down(loom_timerq_t *q, loom_timer_t *t)
{
    for (;;) {
        loom_timer_t *least = t->left;

        if (least == NULL) {
            return;
        }
        if (t->right != NULL && t->right->due < least->due) {
            least = t->right;
        }
        if (t->due <= least->due) {
            return;
        }
        swap_with_parent(q, least);
    }
}


static void
heap_add(loom_timerq_t *q, loom_timer_t *t, uint64_t due)
{
    uint32_t pos = ++q->heap_len;

    t->due = due;
    t->where = LOOM_TIMER_HEAP;
    t->left = t->right = NULL;
    t->parent = pos == 1 ? NULL : *heap_slot(q, pos / 2);
    *heap_slot(q, pos) = t;
    sift_up(q, t);
    q->armed++;
}


/* Takes `t` out of the heap: the last node fills its place. */
static void
heap_remove(loom_timerq_t *q, loom_timer_t *t)
{
    loom_timer_t **last_slot = heap_slot(q, q->heap_len--);
    loom_timer_t *last = *last_slot;

    *last_slot = NULL;              /* the last node leaves its place */
    if (last != t) {
        last->parent = t->parent;
        last->left = t->left;
        last->right = t->right;
        *link_to(q, t) = last;
        if (last->left != NULL) {
            last->left->parent = last;
        }
        if (last->right != NULL) {
            last->right->parent = last;
        }
        sift_up(q, last);
        sift_down(q, last);
    }
    t->parent = t->left = t->right = NULL;
}


/* Takes `t` out of wherever it is armed; it is then disarmed. */
static void
detach(loom_timerq_t *q, loom_timer_t *t)
{
    if (t->where == LOOM_TIMER_OFF) {
        return;
    }
    if (t->where == LOOM_TIMER_HEAP) {
        heap_remove(q, t);
    }
    else {
        loom_list_remove(&t->link);  /* from a lane, or about to fire */
    }
    t->where = LOOM_TIMER_OFF;
    q->armed--;
}


void
loom_timerq_start_lane(loom_timerq_t *q, loom_timer_t *t, int lane,
                       uint64_t now)
{
    uint64_t due = now + q->lane_ms[lane];
    const loom_timer_t *last;

    detach(q, t);
    last = lane_last(q, lane);
    if (last != NULL && last->due > due) {
        due = last->due;            /* `now` was read before theirs */
    }
    lane_append(q, t, lane, due);
}


void
loom_timerq_start_lane_at(loom_timerq_t *q, loom_timer_t *t, int lane,
                          uint64_t due)
{
    const loom_timer_t *last;

    detach(q, t);
    last = lane < 0 ? NULL : lane_last(q, lane);
    if (lane >= 0 && (last == NULL || last->due <= due)) {
        lane_append(q, t, lane, due);
    }
    else {
        heap_add(q, t, due);
    }
}


void
loom_timerq_start_at(loom_timerq_t *q, loom_timer_t *t, uint64_t due)
{
    detach(q, t);
    heap_add(q, t, due);
}


void
loom_timerq_stop(loom_timerq_t *q, loom_timer_t *t)
{
    detach(q, t);
}


int
loom_timerq_armed(const loom_timer_t *t)
{
    return t->where != LOOM_TIMER_OFF;
}


/* The smaller of the heap's root and each lane's first entry; the heap
 * wins a tie. */
static loom_timer_t *
earliest(const loom_timerq_t *q)
{
    loom_timer_t *best = q->heap;
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
    loom_list_t firing;
    loom_timer_t *t;

    /* First every timer due now, in order, onto a list of this call's
     * own: what the callbacks arm afterwards is not on it, and a timer
     * they disarm or re-arm leaves it (detach), so none fires twice. */
    loom_list_init(&firing);
    while ((t = earliest(q)) != NULL && t->due <= now) {
        detach(q, t);
        t->where = LOOM_TIMER_FIRING;
        loom_list_append(&firing, &t->link);
        q->armed++;                 /* still armed until it fires */
    }
    while (!loom_list_empty(&firing)) {
        t = loom_list_entry(firing.next, loom_timer_t, link);
        detach(q, t);               /* first, so the callback may re-arm */
        fire(ctx, t);
    }
}


/* Collects onto `out` the heap's timers that `pick` wants and that are due
 * after `cut`, walking the tree in preorder by its parent links; the heap
 * is not changed while it is walked. */
static void
collect_heap(loom_timerq_t *q, uint64_t cut, loom_timer_pick_fn *pick,
             void *ctx, loom_list_t *out)
{
    loom_timer_t *t = q->heap;

    while (t != NULL) {
        if (t->due > cut && pick(ctx, t)) {
            loom_list_append(out, &t->link);   /* unused while in the heap */
        }
        if (t->left != NULL) {
            t = t->left;
            continue;
        }
        /* A leaf: up to the nearest ancestor whose right side is left. */
        while (t->parent != NULL
               && (t->parent->right == t || t->parent->right == NULL)) {
            t = t->parent;
        }
        t = t->parent != NULL ? t->parent->right : NULL;
    }
}


void
loom_timerq_shorten(loom_timerq_t *q, int lane, uint64_t now,
                    loom_timer_pick_fn *pick, void *ctx)
{
    uint64_t cut = now + q->lane_ms[lane];
    loom_list_t moving;
    int i;

    loom_list_init(&moving);
    collect_heap(q, cut, pick, ctx, &moving);
    while (!loom_list_empty(&moving)) {
        loom_timer_t *t = loom_list_entry(moving.next, loom_timer_t, link);

        loom_list_remove(&t->link);
        loom_timerq_start_lane(q, t, lane, now);
    }
    for (i = 0; i < q->nlanes; i++) {
        loom_list_t *it = q->lanes[i].prev;

        /* A lane is in deadline order: from its end, only the entries due
         * after the cut, then stop. */
        while (i != lane && it != &q->lanes[i]) {
            loom_timer_t *t = loom_list_entry(it, loom_timer_t, link);

            if (t->due <= cut) {
                break;
            }
            it = it->prev;
            if (pick(ctx, t)) {
                loom_timerq_start_lane(q, t, lane, now);
            }
        }
    }
}
