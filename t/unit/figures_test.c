/* The figures the server's processes share (modules/core/figures.c): a
 * gone child's counters move into the server's and its slot is cleared,
 * so that totals never go back; a reader gives up on a fold that never
 * ends. The table under a real httpd is checked by t/status/metrics.t. */
#include <signal.h>
#include <stddef.h>

#include "unit.h"
#include "../../modules/core/figures.c"

/* What the file needs from httpd and the rest of the core. */
server_rec *ap_server_conf;
static module self;
static loom_mpm_ops_t ops = { .module = &self };
static loom_retained_t retained = { .first_server_limit = 4 };
static loom_state_t state = { .ops = &ops, .retained = &retained };

const loom_mpm_ops_t *
loom_mpm_ops(void)
{
    return &ops;
}

loom_state_t *
loom_state(void)
{
    return &state;
}

void
ap_log_error_(const char *file, int line, int index, int level,
              apr_status_t status, const server_rec *s, const char *fmt, ...)
{
}

/* Requests over the server and every slot, as metrics.c adds them. */
static uint64_t
requests_now(loom_server_figures_t *server, loom_slot_figures_t slots[4])
{
    uint64_t sum;
    int i;

    UNIT_EQ(loom_figures_read(server, slots, 4), 0);
    sum = server->requests;
    for (i = 0; i < 4; i++) {
        sum += slots[i].requests;
    }
    return sum;
}

UNIT_TEST(a_gone_childs_counts_move_to_the_server)
{
    loom_server_figures_t server;
    loom_slot_figures_t slots[4];
    int i;

    UNIT_EQ(loom_figures_create(4), 0);
    for (i = 0; i < 3; i++) {
        loom_figures_count_request(1, 100);
    }
    loom_figures_count_request(2, 7);
    loom_figures_count_accept_pause(1);
    loom_figures_publish_waits(1, 5, 6);
    UNIT_EQ(requests_now(&server, slots), 4);
    UNIT_EQ(slots[1].requests, 3);
    UNIT_EQ(slots[1].heads, 6);

    loom_figures_parent_child_gone(1, SIGSEGV);
    UNIT_EQ(requests_now(&server, slots), 4);
    UNIT_EQ(server.requests, 3);
    UNIT_EQ(server.body_bytes, 300);
    UNIT_EQ(server.accept_pauses, 1);
    UNIT_EQ(slots[1].requests, 0);
    UNIT_EQ(slots[1].accept_pauses, 0);
    UNIT_EQ(slots[1].heads, 0);
    UNIT_EQ(slots[2].requests, 1);
    UNIT_EQ(server.child_exits, 1);
    UNIT_EQ(server.crashes[SIGSEGV], 1);
}

UNIT_TEST(a_clean_exit_counts_as_an_exit_not_a_crash)
{
    loom_server_figures_t server;
    int i;

    UNIT_EQ(loom_figures_create(4), 0);
    loom_figures_parent_child_started();
    loom_figures_parent_child_gone(0, -1);
    loom_figures_parent_child_gone(3, 0);
    UNIT_EQ(loom_figures_read(&server, NULL, 0), 0);
    UNIT_EQ(server.child_starts, 1);
    UNIT_EQ(server.child_exits, 2);
    UNIT_EQ(server.crashes[0], 1);          /* the error exit status */
    for (i = 1; i < LOOM_FIGURES_SIGNALS; i++) {
        UNIT_EQ(server.crashes[i], 0);
    }
}

UNIT_TEST(slots_out_of_range_change_nothing)
{
    loom_server_figures_t server;
    loom_slot_figures_t slots[4];

    UNIT_EQ(loom_figures_create(4), 0);
    loom_figures_count_request(-1, 10);
    loom_figures_count_request(4, 10);
    loom_figures_parent_child_gone(4, SIGBUS);
    UNIT_EQ(requests_now(&server, slots), 0);
    UNIT_EQ(server.child_exits, 0);
}

UNIT_TEST(a_fold_that_never_ends_reads_as_zeros)
{
    loom_server_figures_t server;
    loom_slot_figures_t slots[4];

    UNIT_EQ(loom_figures_create(4), 0);
    loom_figures_count_request(0, 1);
    fold_begin(table());                    /* a parent killed inside one */
    UNIT_EQ(loom_figures_read(&server, slots, 4), -1);
    UNIT_EQ(server.requests, 0);
    UNIT_EQ(slots[0].requests, 0);
    fold_end(table());
    UNIT_EQ(requests_now(&server, slots), 1);
}

UNIT_TEST(without_a_table_everything_reads_zero)
{
    loom_server_figures_t server;
    loom_slot_figures_t slots[4];

    loom_figures_count_request(0, 1);
    loom_figures_parent_child_gone(0, SIGSEGV);
    UNIT_EQ(loom_figures_read(&server, slots, 4), -1);
    UNIT_EQ(server.child_exits, 0);
    UNIT_EQ(slots[0].requests, 0);
}

UNIT_TEST(a_slot_has_a_cache_line_of_its_own)
{
    UNIT_EQ(sizeof(shared_slot_t) % 64, 0);
    UNIT_EQ(offsetof(shared_table_t, slots) % 64, 0);
}
