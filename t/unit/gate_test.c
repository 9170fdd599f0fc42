/* loom_event's gate (modules/event/event_gate.c): at most `budget` threads
 * wait in the poller or serve, one more while some serve aside, except
 * that one thread always may poll when none does. Real threads go through the gate the way a child's workers do
 * (enter, took, step aside, done), and every thread that gets past it is
 * counted outside the gate. */
#include <pthread.h>
#include <sched.h>

#include "unit.h"
#include "../../modules/core/cgroup.c"
#include "../../modules/core/cpus.c"
#include "../../modules/event/event_gate.c"

enum { THREADS = 12, ROUNDS = 4000 };

/* What the threads do, counted by themselves: a thread counts itself in
 * only after the gate let it through, and out before it tells the gate it
 * left, so these counts never exceed the gate's own. */
static struct {
    pthread_mutex_t lock;
    int             polling;
    int             serving;
    int             worst_polling;   /* most polling with too many */
    int             released;        /* by the housekeeper, so far */
    int             bad;             /* moments past the budget */
    int             moments;
    int             finished;
    _Atomic int     stop;            /* the gate is open: stop checking */
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static ev_gate_t gate;
static ev_gate_seat_t seats[THREADS];
static int steps_aside;              /* this run's threads step aside */

/* Under seen.lock: the gate's promise. One thread may poll whatever the
 * budget says when it is the only one; more than one poll only within
 * the room the counted serving threads leave, and the one place more
 * that threads serving aside may have given. A thread the housekeeper
 * found asleep (one waiting for seen.lock through a whole look, on a busy
 * machine) no longer counts: its room is given back. */
static void
check_locked(void)
{
    int room = gate.budget + steps_aside - seen.serving + seen.released;

    seen.moments++;
    if (!seen.stop && seen.polling > (room > 1 ? room : 1)) {
        seen.bad++;
        if (seen.polling > seen.worst_polling) {
            seen.worst_polling = seen.polling;
        }
    }
}

static void
count(int *what, int by)
{
    pthread_mutex_lock(&seen.lock);
    *what += by;
    if (by > 0) {
        check_locked();
    }
    pthread_mutex_unlock(&seen.lock);
}

/* A little work, and now and then a turn of the scheduler. */
static void
busy(unsigned *seed)
{
    volatile int spin;
    int n = (int) (rand_r(seed) % 200);

    for (spin = 0; spin < n; spin++) {
    }
    if (rand_r(seed) % 4 == 0) {
        sched_yield();
    }
}

static void *
worker(void *arg)
{
    int seat = (int) (intptr_t) arg, round;
    unsigned seed = (unsigned) seat * 7919u + 1;

    ev_gate_sit(&gate, seat);
    for (round = 0; round < ROUNDS && !seen.stop; round++) {
        int got = rand_r(&seed) % 4 != 0, aside = 0;

        ev_gate_enter(&gate);
        count(&seen.polling, +1);
        busy(&seed);                            /* in the poller */
        count(&seen.polling, -1);
        ev_gate_took(&gate, seat, got);
        if (!got) {
            continue;
        }
        count(&seen.serving, +1);
        busy(&seed);                            /* serving */
        if (steps_aside && rand_r(&seed) % 8 == 0) {
            aside = 1;                          /* HTTP/2's main conn */
            count(&seen.serving, -1);
            ev_gate_step_aside(&gate, seat);
            busy(&seed);
        }
        if (!aside) {
            count(&seen.serving, -1);
        }
        ev_gate_done(&gate, seat);
    }
    pthread_mutex_lock(&seen.lock);
    seen.finished++;
    pthread_mutex_unlock(&seen.lock);
    return NULL;
}

/* Drives `THREADS` threads through a gate of `budget`, with a housekeeper
 * that calls waiting threads in when nobody polls, as event.c's does; an
 * eighth of their events step aside if `aside`. */
static void
run_with_budget(int budget, int aside)
{
    pthread_t th[THREADS];
    int i, finished = 0, spins;

    steps_aside = aside;
    UNIT_EQ(ev_gate_init(&gate, seats, THREADS, budget), 0);
    for (i = 0; i < THREADS; i++) {
        pthread_create(&th[i], NULL, worker, (void *) (intptr_t) i);
    }
    /* Up to 8 s; the threads finish in well under a second when idle. */
    for (spins = 0; spins < 8000 && finished < THREADS; spins++) {
        int released;

        usleep(1000);
        (void) ev_gate_check(&gate, &released);
        pthread_mutex_lock(&seen.lock);
        seen.released += released;
        finished = seen.finished;
        pthread_mutex_unlock(&seen.lock);
    }
    seen.stop = 1;                 /* after this the gate lets all in */
    ev_gate_open(&gate);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    if (seen.bad > 0 || seen.released > 0) {
        printf("# budget %d: %d of %d moments past the budget (at worst "
               "%d polling); %d serving threads found asleep\n", budget,
               seen.bad, seen.moments, seen.worst_polling, seen.released);
    }
    UNIT_EQ(finished, THREADS);
    UNIT_EQ(seen.bad, 0);
    UNIT_TRUE(seen.moments > THREADS * ROUNDS);
    /* Everyone is gone: the gate's own counts are back to nothing. */
    UNIT_EQ(gate.polling, 0);
    UNIT_EQ(gate.serving, 0);
}

UNIT_TEST(one_thread_polls_and_serves_at_a_time_with_a_budget_of_1)
{
    run_with_budget(1, 0);
}

UNIT_TEST(two_at_most_with_a_budget_of_1_while_threads_step_aside)
{
    run_with_budget(1, 1);
}

UNIT_TEST(two_threads_with_a_budget_of_2)
{
    run_with_budget(2, 1);
}

UNIT_TEST(three_threads_with_a_budget_of_3)
{
    run_with_budget(3, 1);
}

UNIT_TEST(the_budget_is_the_cpus_this_process_may_use_or_loom_cpus)
{
    loom_cfg_t cfg;
    loom_cpus_t cpus;
    char why[300];

    memset(&cfg, 0, sizeof(cfg));
    loom_cpus_probe(&cpus);
    UNIT_EQ(ev_gate_budget(&cfg, why, sizeof(why)), cpus.count);
    UNIT_TRUE(strstr(why, "affinity mask") != NULL);
    cfg.cpus = 3;
    UNIT_EQ(ev_gate_budget(&cfg, why, sizeof(why)), 3);
    UNIT_TRUE(strcmp(why, "LoomCPUs 3") == 0);
}

UNIT_TEST(a_budget_below_1_is_1)
{
    UNIT_EQ(ev_gate_init(&gate, seats, THREADS, 0), 0);
    UNIT_EQ(gate.budget, 1);
}

/* A thread that only goes through the gate. */
static void *
waits_at_the_gate(void *arg)
{
    ev_gate_enter(&gate);
    return NULL;
}

/* A gate with a budget of 1, seat 0 taken by this thread. */
static void
gate_of_one(void)
{
    UNIT_EQ(ev_gate_init(&gate, seats, THREADS, 1), 0);
    UNIT_EQ(ev_gate_sit(&gate, 0), 0);
}

static int
waiting_at_the_gate(void)
{
    int waiting;

    pthread_mutex_lock(&gate.lock);
    waiting = gate.waiting;
    pthread_mutex_unlock(&gate.lock);
    return waiting;
}

/* Another thread comes to the gate, and waits there until it is in. */
static pthread_t
another_waits(void)
{
    pthread_t waiter;
    int tries;

    pthread_create(&waiter, NULL, waits_at_the_gate, NULL);
    for (tries = 0; tries < 2000 && waiting_at_the_gate() != 1; tries++) {
        usleep(1000);
    }
    UNIT_EQ(waiting_at_the_gate(), 1);
    return waiter;
}

/* Seat 0 polls and another thread comes to the gate. */
static pthread_t
seat_0_polls_and_another_waits(void)
{
    ev_gate_enter(&gate);
    return another_waits();
}

static pthread_t
second_thread_waits(void)
{
    gate_of_one();
    return seat_0_polls_and_another_waits();
}

UNIT_TEST(a_thread_that_steps_aside_lets_a_waiting_one_in_at_once)
{
    pthread_t waiter = second_thread_waits();

    ev_gate_took(&gate, 0, 1);
    UNIT_EQ(gate.calls, 0);                     /* no room: it serves */
    ev_gate_step_aside(&gate, 0);               /* HTTP/2's main conn */
    pthread_join(waiter, NULL);                 /* it was called in */
    UNIT_EQ(gate.polling, 1);
    UNIT_EQ(gate.serving, 0);
    ev_gate_step_aside(&gate, 0);               /* twice is harmless */
    ev_gate_done(&gate, 0);
    UNIT_EQ(gate.serving, 0);                   /* not counted twice */
}

/* Uses `ms` of this thread's CPU time. */
static void
compute_for(int ms)
{
    struct timespec ts;
    uint64_t start, now;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    start = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        now = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
    } while (now - start < (uint64_t) ms);
}

/* The housekeeper's part: a seat that has computed EV_GATE_LONG_MS for its
 * event stops counting even though it runs, and the thread waiting at the
 * gate is called in its place. Here seat 0's thread looks at itself. */
UNIT_TEST(a_thread_computing_for_long_makes_room_for_a_waiting_one)
{
    pthread_t waiter = second_thread_waits();
    int released = -1, next;

    UNIT_EQ(ev_gate_took(&gate, 0, 1), 1);      /* nobody watches */
    UNIT_EQ(ev_gate_watch(&gate), 1);           /* watch: all serve */
    UNIT_EQ(ev_gate_watch(&gate), 0);           /* already watched */
    next = ev_gate_check(&gate, &released);     /* notes the CPU time */
    UNIT_EQ(released, 0);
    UNIT_EQ(next, EV_GATE_CHECK_MS);
    compute_for(EV_GATE_LONG_MS / 2);
    next = ev_gate_check(&gate, &released);
    UNIT_EQ(released, 0);                       /* ran, not for long */
    compute_for(EV_GATE_LONG_MS / 2 + 1);
    next = ev_gate_check(&gate, &released);
    UNIT_EQ(released, 1);
    pthread_join(waiter, NULL);                 /* it was called in */
    UNIT_EQ(gate.polling, 1);
    UNIT_EQ(gate.serving, 0);
    UNIT_EQ(next, -1);                          /* somebody polls again */
    ev_gate_done(&gate, 0);
    UNIT_EQ(gate.serving, 0);                   /* not counted twice */
}

/* A serving thread in seat 1 that sleeps until told to run a little. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t  turn;
    int             runs;       /* asked for */
    int             ran;        /* done, asleep again */
} sleeper = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1 };

static void *
serves_asleep(void *arg)
{
    (void) arg;
    ev_gate_sit(&gate, 1);
    pthread_mutex_lock(&sleeper.lock);
    ev_gate_enter(&gate);                        /* nobody polls: it may */
    ev_gate_took(&gate, 1, 1);
    sleeper.ran = 0;
    pthread_cond_broadcast(&sleeper.turn);
    while (sleeper.runs >= 0) {
        if (sleeper.ran < sleeper.runs) {
            compute_for(1);
            sleeper.ran++;
            pthread_cond_broadcast(&sleeper.turn);
        }
        pthread_cond_wait(&sleeper.turn, &sleeper.lock);
    }
    pthread_mutex_unlock(&sleeper.lock);
    ev_gate_done(&gate, 1);
    return NULL;
}

/* Lets the sleeper run `runs` times in all, and returns once it sleeps
 * again (its state in /proc says so). */
static void
sleeper_runs_to(int runs)
{
    int tries;

    pthread_mutex_lock(&sleeper.lock);
    sleeper.runs = runs;
    pthread_cond_broadcast(&sleeper.turn);
    while (sleeper.ran < runs) {
        pthread_cond_wait(&sleeper.turn, &sleeper.lock);
    }
    pthread_mutex_unlock(&sleeper.lock);
    for (tries = 0; tries < 2000 && !thread_sleeps(gate.seats[1].tid); tries++) {
        usleep(1000);
    }
    UNIT_TRUE(thread_sleeps(gate.seats[1].tid));
}

/* A serving thread found asleep at two looks in a row, without having run
 * in between, stops counting; one that ran in between is looked at again.
 * Seat 0 waits at the gate meanwhile, as a thread of a busy child would. */
UNIT_TEST(a_thread_asleep_through_a_look_makes_room_for_a_waiting_one)
{
    pthread_t serving, waiter;
    int released = -1;

    gate_of_one();
    pthread_create(&serving, NULL, serves_asleep, NULL);
    sleeper_runs_to(0);                          /* serving, asleep */
    waiter = seat_0_polls_and_another_waits();
    UNIT_EQ(ev_gate_took(&gate, 0, 0), 1);      /* nobody watches */
    UNIT_EQ(ev_gate_watch(&gate), 1);           /* nobody polls: watch */
    (void) ev_gate_check(&gate, &released);     /* notes the CPU time */
    UNIT_EQ(released, 0);
    sleeper_runs_to(1);                          /* woke, ran, sleeps */
    (void) ev_gate_check(&gate, &released);
    UNIT_EQ(released, 0);                        /* it ran since */
    (void) ev_gate_check(&gate, &released);
    UNIT_EQ(released, 1);                        /* it did not */
    pthread_join(waiter, NULL);                  /* it was called in */
    UNIT_EQ(gate.polling, 1);
    UNIT_EQ(gate.serving, 0);
    pthread_mutex_lock(&sleeper.lock);
    sleeper.runs = -1;
    pthread_cond_broadcast(&sleeper.turn);
    pthread_mutex_unlock(&sleeper.lock);
    pthread_join(serving, NULL);
    UNIT_EQ(gate.serving, 0);                    /* not counted twice */
}

/* The place one more than the budget: with a budget of 1, seat 0 serves
 * aside and seat 1 polls; seat 2, back from serving, polls beside seat 1
 * at once, while a thread already waiting at the gate is not called. Once
 * nobody serves aside, a thread back from serving waits again. */
UNIT_TEST(a_thread_back_from_serving_may_poll_beside_another_while_one_serves_aside)
{
    pthread_t waiter;

    gate_of_one();
    ev_gate_enter(&gate);                       /* seat 0 polls */
    ev_gate_took(&gate, 0, 1);
    ev_gate_step_aside(&gate, 0);               /* HTTP/2's main conn */
    UNIT_EQ(gate.aside, 1);
    ev_gate_enter(&gate);                       /* seat 1 polls */
    ev_gate_enter(&gate);                       /* seat 2, the spare place */
    UNIT_EQ(gate.polling, 2);
    waiter = another_waits();                   /* no place for it */
    ev_gate_took(&gate, 1, 1);                  /* seat 1 serves, counted */
    UNIT_EQ(gate.calls, 0);                     /* nobody woken for it */
    UNIT_EQ(waiting_at_the_gate(), 1);
    ev_gate_done(&gate, 0);                     /* nobody aside any more */
    UNIT_EQ(gate.aside, 0);
    ev_gate_done(&gate, 1);
    ev_gate_took(&gate, 2, 0);                  /* seat 2 leaves the poller */
    pthread_join(waiter, NULL);                 /* now there is room */
    UNIT_EQ(gate.polling, 1);
    UNIT_EQ(gate.serving, 0);
}
