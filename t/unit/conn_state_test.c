/* The rules about a connection's states that need no connection
 * (modules/core/conn_state.c): which moves are legal, the state after the
 * process_connection hooks, the mod_status figure of each parked state,
 * which states park, and their names. Every expectation is a table written
 * here from what engine_conn.c does, not read back from the code. */
#include "unit.h"
#include "../../modules/core/conn_state.c"

#define N LOOM_CONN_STATES

/* Every move engine_conn.c makes, and why. */
static const struct {
    loom_conn_state_e from, to;
} made[] = {
    { LOOM_CONN_CLOSED,    LOOM_CONN_HEAD },      /* accepted */
    { LOOM_CONN_CLOSED,    LOOM_CONN_HANDSHAKE }, /* accepted, TLS */
    { LOOM_CONN_CLOSED,    LOOM_CONN_KEEPALIVE }, /* handed over idle */
    { LOOM_CONN_HANDSHAKE, LOOM_CONN_HEAD },      /* done: the head waits */
    { LOOM_CONN_HANDSHAKE, LOOM_CONN_PROCESS },   /* done, or plain HTTP */
    { LOOM_CONN_HANDSHAKE, LOOM_CONN_CLOSED },    /* failed, expired */
    { LOOM_CONN_CLOSED,    LOOM_CONN_LINGER },    /* pre_connection failed */
    { LOOM_CONN_HEAD,      LOOM_CONN_PROCESS },   /* head whole, TLS, ... */
    { LOOM_CONN_HEAD,      LOOM_CONN_CLOSED },    /* client left, expired */
    { LOOM_CONN_PROCESS,   LOOM_CONN_WRITE },
    { LOOM_CONN_PROCESS,   LOOM_CONN_WAITIO },
    { LOOM_CONN_PROCESS,   LOOM_CONN_SUSPENDED },
    { LOOM_CONN_PROCESS,   LOOM_CONN_LINGER },
    { LOOM_CONN_WRITE,     LOOM_CONN_KEEPALIVE },
    { LOOM_CONN_WRITE,     LOOM_CONN_PROCESS },   /* pipelined */
    { LOOM_CONN_WRITE,     LOOM_CONN_LINGER },
    { LOOM_CONN_WRITE,     LOOM_CONN_CLOSED },    /* expired */
    { LOOM_CONN_KEEPALIVE, LOOM_CONN_HEAD },
    { LOOM_CONN_KEEPALIVE, LOOM_CONN_CLOSED },    /* expired */
    { LOOM_CONN_WAITIO,    LOOM_CONN_PROCESS },
    { LOOM_CONN_WAITIO,    LOOM_CONN_CLOSED },    /* expired */
    { LOOM_CONN_LINGER,    LOOM_CONN_CLOSED },
    { LOOM_CONN_SUSPENDED, LOOM_CONN_WRITE },     /* resumed */
};

#define MADE (sizeof(made) / sizeof(made[0]))


/* Whether the table above lists from -> to. */
static int
is_made(int from, int to)
{
    size_t i;

    for (i = 0; i < MADE; i++) {
        if ((int) made[i].from == from && (int) made[i].to == to) {
            return 1;
        }
    }
    return 0;
}


UNIT_TEST(every_move_the_state_machine_makes_is_legal)
{
    size_t i;

    for (i = 0; i < MADE; i++) {
        if (!loom_conn_move_ok(made[i].from, made[i].to)) {
            printf("# %s -> %s refused\n", loom_conn_state_name(made[i].from),
                   loom_conn_state_name(made[i].to));
            unit_failed = 1;
        }
    }
}


UNIT_TEST(every_other_pair_is_refused_staying_put_included)
{
    int from, to;

    for (from = 0; from < N; from++) {
        for (to = 0; to < N; to++) {
            if (!is_made(from, to) && loom_conn_move_ok(from, to)) {
                printf("# %s -> %s allowed\n", loom_conn_state_name(from),
                       loom_conn_state_name(to));
                unit_failed = 1;
            }
        }
        UNIT_EQ(loom_conn_move_ok(from, from), 0);
    }
}


UNIT_TEST(states_out_of_range_are_refused_on_either_side)
{
    static const int bad[] = { -1, N, N + 1, 255, 1 << 20 };
    size_t i;
    int s;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (s = 0; s < N; s++) {
            UNIT_EQ(loom_conn_move_ok(bad[i], s), 0);
            UNIT_EQ(loom_conn_move_ok(s, bad[i]), 0);
        }
        UNIT_EQ(loom_conn_move_ok(bad[i], bad[i]), 0);
    }
}


/* What each state the hooks may leave means to the engine, when they
 * returned OK or DONE on a client still there. */
static const loom_conn_state_e after_ok[CONN_STATE_NUM] = {
    [CONN_STATE_KEEPALIVE]        = LOOM_CONN_WRITE,   /* flush first */
    [CONN_STATE_PROCESSING]       = LOOM_CONN_LINGER,  /* nothing said */
    [CONN_STATE_HANDLER]          = LOOM_CONN_LINGER,
    [CONN_STATE_WRITE_COMPLETION] = LOOM_CONN_WRITE,
    [CONN_STATE_SUSPENDED]        = LOOM_CONN_SUSPENDED,
    [CONN_STATE_LINGER]           = LOOM_CONN_LINGER,
    [CONN_STATE_LINGER_NORMAL]    = LOOM_CONN_LINGER,
    [CONN_STATE_LINGER_SHORT]     = LOOM_CONN_LINGER,
    [CONN_STATE_ASYNC_WAITIO]     = LOOM_CONN_WAITIO,
};


UNIT_TEST(hooks_that_return_ok_or_done_leave_the_state_they_asked_for)
{
    int s;

    for (s = 0; s < CONN_STATE_NUM; s++) {
        UNIT_EQ(loom_conn_after_hooks(OK, s, 0), after_ok[s]);
        UNIT_EQ(loom_conn_after_hooks(DONE, s, 0), after_ok[s]);
    }
    UNIT_EQ(loom_conn_after_hooks(OK, CONN_STATE_NUM, 0), LOOM_CONN_LINGER);
}


UNIT_TEST(any_other_return_code_or_an_aborted_client_lingers)
{
    static const int errors[] = { DECLINED, SUSPENDED, HTTP_BAD_REQUEST,
                                  HTTP_INTERNAL_SERVER_ERROR, 1, 42 };
    size_t i;
    int s;

    for (s = 0; s < CONN_STATE_NUM; s++) {
        for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
            UNIT_EQ(loom_conn_after_hooks(errors[i], s, 0), LOOM_CONN_LINGER);
            UNIT_EQ(loom_conn_after_hooks(errors[i], s, 1), LOOM_CONN_LINGER);
        }
        UNIT_EQ(loom_conn_after_hooks(OK, s, 1), LOOM_CONN_LINGER);
        UNIT_EQ(loom_conn_after_hooks(DONE, s, 1), LOOM_CONN_LINGER);
    }
}


UNIT_TEST(each_parked_state_counts_in_its_own_figure_and_no_other_counts)
{
    static const int want[N] = {
        [LOOM_CONN_HANDSHAKE] = LOOM_COUNT_HANDSHAKE,   /* Loom's own */
        [LOOM_CONN_HEAD]      = LOOM_COUNT_HEAD,        /* Loom's own */
        [LOOM_CONN_PROCESS]   = -1,   /* busy, on a thread */
        [LOOM_CONN_WRITE]     = LOOM_COUNT_WRITE,
        [LOOM_CONN_KEEPALIVE] = LOOM_COUNT_KEEPALIVE,
        [LOOM_CONN_WAITIO]    = LOOM_COUNT_WAITIO,
        [LOOM_CONN_LINGER]    = LOOM_COUNT_LINGER,
        [LOOM_CONN_SUSPENDED] = LOOM_COUNT_SUSPENDED,
        [LOOM_CONN_CLOSED]    = -1,
    };
    int s;

    for (s = 0; s < N; s++) {
        UNIT_EQ(loom_conn_count_of(s), want[s]);
    }
}


UNIT_TEST(every_state_but_process_and_closed_parks)
{
    int s;

    for (s = 0; s < N; s++) {
        UNIT_EQ(loom_conn_parks(s),
                s != LOOM_CONN_PROCESS && s != LOOM_CONN_CLOSED);
    }
}


UNIT_TEST(each_state_has_its_own_name_and_only_states_have_one)
{
    int a, b;

    for (a = 0; a < N; a++) {
        UNIT_TRUE(strcmp(loom_conn_state_name(a), "?") != 0);
        UNIT_TRUE(loom_conn_state_name(a)[0] != '\0');
        for (b = a + 1; b < N; b++) {
            UNIT_TRUE(strcmp(loom_conn_state_name(a),
                             loom_conn_state_name(b)) != 0);
        }
    }
    UNIT_TRUE(strcmp(loom_conn_state_name(N), "?") == 0);
    UNIT_TRUE(strcmp(loom_conn_state_name(-1), "?") == 0);
}
