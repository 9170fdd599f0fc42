/* The gate in front of a child's poller (see event_gate.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loom/cpus.h"
#include "event_gate.h"


int
ev_gate_budget(const loom_cfg_t *cfg, char *why, int size)
{
    loom_cpus_t cpus;

    if (cfg->cpus > 0) {
        snprintf(why, (size_t) size, "LoomCPUs %d", cfg->cpus);
        return cfg->cpus;
    }
    loom_cpus_probe(&cpus);
    loom_cpus_describe(&cpus, why, size);
    return cpus.count;
}


int
ev_gate_init(ev_gate_t *g, ev_gate_seat_t *seats, int nseats, int budget)
{
    memset(g, 0, sizeof(*g));
    g->seats = seats;
    g->nseats = nseats;
    g->budget = budget > 1 ? budget : 1;
    if (pthread_mutex_init(&g->lock, NULL) != 0
        || pthread_cond_init(&g->called, NULL) != 0) {
        return -1;
    }
    return 0;
}


int
ev_gate_sit(ev_gate_t *g, int seat)
{
    ev_gate_seat_t *s = &g->seats[seat];
    int rv;

    s->tid = gettid();
    rv = pthread_getcpuclockid(pthread_self(), &s->cpu_clock);
    if (rv != 0) {
        errno = rv;
        return -1;
    }
    return 0;
}


/* Under the gate lock: calls waiting threads while the budget has room. */
static void
call_while_room(ev_gate_t *g)
{
    while (g->waiting > g->calls
           && g->polling + g->serving + g->calls < g->budget) {
        g->calls++;
        pthread_cond_signal(&g->called);
    }
}


static void
show_waiting(const ev_gate_t *g)
{
    if (g->show_waiting != NULL) {
        g->show_waiting(g->waiting);
    }
}


void
ev_gate_enter(ev_gate_t *g)
{
    pthread_mutex_lock(&g->lock);
    /* With nobody in the poller, this thread watches it whatever the
     * budget says: the events must not wait for the housekeeper. A thread
     * called from the gate but not yet through counts as in the poller:
     * its room is taken. */
    if (!g->open && g->polling + g->calls > 0
        && g->polling + g->serving + g->calls
           >= g->budget + (g->aside > 0)) {
        g->waiting++;
        show_waiting(g);
        while (!g->open && g->calls == 0) {
            pthread_cond_wait(&g->called, &g->lock);
        }
        g->waiting--;
        show_waiting(g);
        if (g->calls > 0) {
            g->calls--;
        }
    }
    g->polling++;
    pthread_mutex_unlock(&g->lock);
}


/* Under the gate lock: nobody polls, threads wait and serve, and the
 * housekeeper does not watch them. */
static int
unwatched(const ev_gate_t *g)
{
    return g->polling == 0 && g->serving > 0 && g->waiting > 0
           && !g->watched;
}


int
ev_gate_took(ev_gate_t *g, int seat, int got)
{
    ev_gate_seat_t *s = &g->seats[seat];
    int watch;

    pthread_mutex_lock(&g->lock);
    g->polling--;
    if (got) {
        g->serving++;
        s->serving = 1;
        s->serves++;
        s->blocked = 0;
    }
    call_while_room(g);
    watch = unwatched(g);
    pthread_mutex_unlock(&g->lock);
    return watch;
}


int
ev_gate_watch(ev_gate_t *g)
{
    int arm = 0;

    pthread_mutex_lock(&g->lock);
    if (unwatched(g)) {
        g->watched = 1;
        arm = 1;
    }
    pthread_mutex_unlock(&g->lock);
    return arm;
}


void
ev_gate_done(ev_gate_t *g, int seat)
{
    ev_gate_seat_t *s = &g->seats[seat];

    pthread_mutex_lock(&g->lock);
    if (s->blocked) {
        g->aside--;
    }
    else {
        g->serving--;
    }
    s->serving = 0;
    s->blocked = 0;
    pthread_mutex_unlock(&g->lock);
}


/* Under the gate lock: a serving thread stops counting against the budget
 * (ev_gate_done then leaves the count alone). 1 if it counted until now. */
static int
stop_counting(ev_gate_t *g, ev_gate_seat_t *s)
{
    if (!s->serving || s->blocked) {
        return 0;
    }
    s->blocked = 1;
    g->serving--;
    g->aside++;
    return 1;
}


void
ev_gate_step_aside(ev_gate_t *g, int seat)
{
    pthread_mutex_lock(&g->lock);
    if (stop_counting(g, &g->seats[seat])) {
        call_while_room(g);
    }
    pthread_mutex_unlock(&g->lock);
}


void
ev_gate_open(ev_gate_t *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = 1;
    pthread_cond_broadcast(&g->called);
    pthread_mutex_unlock(&g->lock);
}


/* Whether thread `tid` of this process sleeps now (state S or D), from
 * its /proc entry. */
static int
thread_sleeps(pid_t tid)
{
    char path[64], buf[512];
    const char *close_paren;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int) tid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    if (close_paren == NULL || close_paren[1] != ' ') {
        return 0;
    }
    return close_paren[2] == 'S' || close_paren[2] == 'D';
}


/* The CPU time the seat's thread has used, in ns (0 if unreadable: the
 * thread then looks as if it had not run, and its state decides). */
static uint64_t
seat_cpu_ns(const ev_gate_seat_t *s)
{
    struct timespec ts;

    if (clock_gettime(s->cpu_clock, &ts) != 0) {
        return 0;
    }
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}


/* Under the gate lock, from the housekeeper: whether the serving seat `s`
 * is blocked or has computed for long. A thread that used no CPU since the
 * last look and sleeps now slept all along: a wait that long is a CGI, a
 * backend, a disk, not a lock passed between threads. A thread that waits
 * for a CPU (R) is neither: it would run if it could. */
static int
should_stop_counting(ev_gate_seat_t *s)
{
    uint64_t cpu = seat_cpu_ns(s);
    int ran, long_enough;

    if (s->looked_serve != s->serves) {
        s->looked_serve = s->serves;
        s->cpu_first_ns = s->cpu_last_ns = cpu;
        return 0;
    }
    ran = cpu != s->cpu_last_ns;
    long_enough = cpu - s->cpu_first_ns >= EV_GATE_LONG_MS * 1000000ull;
    s->cpu_last_ns = cpu;
    return long_enough || (!ran && thread_sleeps(s->tid));
}


int
ev_gate_check(ev_gate_t *g, int *released)
{
    int i, next;

    *released = 0;
    pthread_mutex_lock(&g->lock);
    if (!g->open && g->polling == 0 && g->waiting > g->calls) {
        for (i = 0; i < g->nseats; i++) {
            ev_gate_seat_t *s = &g->seats[i];

            if (s->serving && !s->blocked && should_stop_counting(s)) {
                *released += stop_counting(g, s);
            }
        }
        call_while_room(g);
    }
    next = !g->open && g->polling == 0 && g->serving > 0 && g->waiting > 0
           ? EV_GATE_CHECK_MS : -1;
    g->watched = next >= 0;
    pthread_mutex_unlock(&g->lock);
    return next;
}
