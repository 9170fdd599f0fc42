/* Parked prefork's passer: see prefork_pass.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apr_strings.h"
#include "httpd.h"
#include "http_main.h"
#include "http_config.h"
#include "http_log.h"
#include "scoreboard.h"

#include "loom/log.h"
#include "loom/proc.h"
#include "loom/state.h"
#include "loom/tags.h"
#include "prefork_pass.h"

#define PASS_TICK_MS   10   /* a session's wait: how soon it sees the end */
#define PASS_LONG_TICKS 20  /* parent looks: a spell this long is long, the
                             * main thread asleep or not */
#define PASS_EVENTS    16

/* The parent's socket pair ([0] is sent on, [1] received on) and the
 * table of slots the children and the parent share (pf_slot_t). */
typedef struct pass_pair {
    int        fds[2];
    int        made;
    pf_slot_t *slots;
    int        nslots;
    /* The parent's own: per slot, the spell it saw at its last look and
     * for how many looks it has seen it. */
    unsigned  *seen;
    int       *looks;
} pass_pair_t;

static const char *const PAIR_KEY = "loom-prefork-pass-pair";


static pass_pair_t *
pair(void)
{
    pass_pair_t *p = ap_retained_data_get(PAIR_KEY);

    return p != NULL ? p : ap_retained_data_create(PAIR_KEY, sizeof(*p));
}


int
pf_pass_setup(server_rec *s, int server_limit)
{
    pass_pair_t *p = pair();
    void *table;

    if (p->made) {
        return OK;
    }
    table = mmap(NULL, (size_t) server_limit * sizeof(pf_slot_t),
                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (table == MAP_FAILED) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s, LOOMNO(1313)
                     "mmap() of the children's passing slots failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   p->fds) != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s, LOOMNO(1310)
                     "socketpair() for passing connections between children "
                     "failed");
        munmap(table, (size_t) server_limit * sizeof(pf_slot_t));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    p->slots = table;
    p->nslots = server_limit;
    p->seen = ap_calloc((size_t) server_limit, sizeof(*p->seen));
    p->looks = ap_calloc((size_t) server_limit, sizeof(*p->looks));
    p->made = 1;
    return OK;
}


static long
futex(_Atomic uint32_t *word, int op, uint32_t val)
{
    /* Not FUTEX_PRIVATE: the word is in memory the parent shares. */
    return syscall(SYS_futex, (uint32_t *) word, op, val, NULL, NULL, 0);
}


/* Connections per current child, rounded down. */
static int
mean_conns(void)
{
    loom_state_t *st = loom_state();
    int i, children = 0, conns = 0;

    for (i = 0; i < st->retained->max_slot_used; i++) {
        if (loom_proc_current(st, i)) {
            children++;
            conns += (int) ap_get_scoreboard_process(i)->connections;
        }
    }
    return children > 0 ? conns / children : 0;
}


int
pf_pass_held_up(int slot)
{
    pass_pair_t *p = pair();

    return p->made && slot < p->nslots
           && atomic_load_explicit(&p->slots[slot].in_session,
                                   memory_order_relaxed);
}


int
pf_pass_mean_conns(const pf_pass_t *ps)
{
    return ps->me != NULL
           ? atomic_load_explicit(&ps->me->mean_conns, memory_order_relaxed)
           : 0;
}


void
pf_pass_watch(void)
{
    pass_pair_t *p = pair();
    int i, mean = p->made ? mean_conns() : 0;

    for (i = 0; p->made && i < p->nslots
                && i < loom_state()->retained->max_slot_used; i++) {
        pf_slot_t *sl = &p->slots[i];
        unsigned spell = atomic_load_explicit(&sl->spell,
                                              memory_order_relaxed);

        atomic_store_explicit(&sl->mean_conns, mean, memory_order_relaxed);
        if (!atomic_load_explicit(&sl->busy, memory_order_relaxed)
            || spell != p->seen[i]) {
            p->seen[i] = spell;
            p->looks[i] = 0;
            continue;
        }
        /* In the same spell as a look ago: its passer has a look, unless
         * it asked for none this early in the spell. */
        p->looks[i]++;
        if (atomic_load_explicit(&sl->quiet_spell, memory_order_relaxed)
                == spell
            && p->looks[i] < atomic_load_explicit(&sl->quiet_until,
                                                  memory_order_relaxed)) {
            continue;
        }
        atomic_store_explicit(&sl->long_ticks, p->looks[i],
                              memory_order_relaxed);
        atomic_store_explicit(&sl->long_spell, spell, memory_order_release);
        atomic_fetch_add_explicit(&sl->wake, 1, memory_order_release);
        futex(&sl->wake, FUTEX_WAKE, 1);
    }
}


/* Whether `c` may be served by another process: a plain-HTTP connection
 * between requests, or one whose request head is still coming, that no
 * module holds data of (a buffered pipelined request moves it on, not
 * here). */
static int
passable(const loom_conn_t *c)
{
    if (c->tls || c->ra_on || c->c == NULL || c->c->aborted) {
        return 0;
    }
    return c->state == LOOM_CONN_KEEPALIVE || c->state == LOOM_CONN_HEAD;
}


/* What a passed descriptor's one byte says: its next request is there
 * (or coming), or it is idle between two requests (a hand-over). */
#define PASS_READY 'r'
#define PASS_IDLE  'k'

/* One message on the pair: a byte that says the kind, and a descriptor. */
typedef struct pass_msg {
    char           kind;
    struct iovec   iov;
    union {
        struct cmsghdr h;
        char           buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr  msg;
} pass_msg_t;


static void
pass_msg_init(pass_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    m->iov.iov_base = &m->kind;
    m->iov.iov_len = 1;
    m->msg.msg_iov = &m->iov;
    m->msg.msg_iovlen = 1;
    m->msg.msg_control = m->ctl.buf;
    m->msg.msg_controllen = sizeof(m->ctl.buf);
}


/* Sends descriptor `fd` to whichever idle sibling takes it. 0, or -errno
 * (EAGAIN: the pair's queue is full). */
static int
send_fd(pf_pass_t *ps, int fd, char kind)
{
    pass_msg_t m;
    struct cmsghdr *cm;

    pass_msg_init(&m);
    m.kind = kind;
    cm = CMSG_FIRSTHDR(&m.msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(ps->send_fd, &m.msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1
           ? 0 : -errno;
}


/* Passer, holding the token: `c`'s event came while the main thread
 * serves. Passed, its record waits for the main thread to close our copy;
 * otherwise it waits for the main thread to serve it. */
static void
took_event(pf_pass_t *ps, loom_conn_t *c)
{
    int expired = loom_engine_take(c);
    int err;

    c->expired = expired;
    if (!expired && passable(c)) {
        err = send_fd(ps, c->watch.fd, PASS_READY);
        if (err == 0) {
            loom_list_append(&ps->passed, &c->link);
            return;
        }
        if (err != -EAGAIN && !ps->logged) {
            ps->logged = 1;
            ap_log_error(APLOG_MARK, APLOG_WARNING, -err, ap_server_conf,
                         LOOMNO(1311) "sendmsg() passing a connection to an "
                         "idle child failed; this child serves it itself");
        }
    }
    loom_list_append(&ps->kept, &c->link);
}


int
pf_pass_give(pf_pass_t *ps, loom_conn_t *c)
{
    if (ps->receiver.data == NULL || !passable(c)) {
        return -EINVAL;
    }
    return send_fd(ps, c->watch.fd,
                   c->state == LOOM_CONN_KEEPALIVE ? PASS_IDLE : PASS_READY);
}


static void
hold_receiver(pf_pass_t *ps, int on)
{
    if (on && ps->receiver_armed) {
        loom_poller_del(ps->poller, &ps->receiver);
        ps->receiver_armed = 0;
    }
    else if (!on && !ps->receiver_armed
             && loom_poller_add(ps->poller, &ps->receiver, LOOM_POLL_IN,
                                LOOM_ARM_EXCLUSIVE) == 0) {
        ps->receiver_armed = 1;
    }
}


/* Passer: the main thread has served for a tick or more. Until it is done,
 * take the parked connections' events in its place. */
static void
session(pf_pass_t *ps)
{
    loom_fired_t fired[PASS_EVENTS];

    pthread_mutex_lock(&ps->token);
    if (!atomic_load(&ps->me->busy) || atomic_load(&ps->quit)) {
        pthread_mutex_unlock(&ps->token);
        return;
    }
    if (!ps->took && (ps->receiver_armed
                      || !loom_listen_held(ps->listeners))) {
        ps->took = 1;
        loom_listen_hold(ps->listeners, 1);
        hold_receiver(ps, 1);
    }
    atomic_store(&ps->me->in_session, 1);
    while (atomic_load(&ps->me->busy) && !atomic_load(&ps->quit)) {
        int i, n = loom_poller_wait(ps->poller, fired, PASS_EVENTS,
                                    PASS_TICK_MS);

        for (i = 0; i < n; i++) {
            if (fired[i].watch->kind == LOOM_W_CONN) {
                took_event(ps, fired[i].watch->data);
            }
        }
    }
    atomic_store(&ps->me->in_session, 0);
    pthread_mutex_unlock(&ps->token);
}


/* Whether the main thread sleeps in the kernel (state S or D in its
 * /proc stat: a PHP sleep, a database, a CGI's pipe, a slow client) rather
 * than runs or waits for a CPU. Only a thread that waits on something
 * else leaves work a sibling could do now: one that waits for a CPU would
 * have the sibling wait for one too, and passing its clients on under
 * load only costs. */
static int
main_sleeps(pf_pass_t *ps)
{
    char buf[512];
    ssize_t n = ps->stat_fd >= 0
                ? pread(ps->stat_fd, buf, sizeof(buf) - 1, 0) : -1;
    char *end;

    if (n <= 0) {
        return 0;               /* cannot tell: the spell's length decides */
    }
    buf[n] = '\0';
    end = strrchr(buf, ')');    /* the name may hold spaces and parens */
    return end != NULL && end[1] == ' ' && (end[2] == 'S' || end[2] == 'D');
}


/* Passer: the parent saw the main thread in one spell of serving at two
 * looks in a row; it sleeps in the kernel, or has been at it for long. */
static int
spell_is_long(pf_pass_t *ps)
{
    pf_slot_t *me = ps->me;
    unsigned spell = atomic_load_explicit(&me->long_spell,
                                          memory_order_acquire);
    int ticks = atomic_load_explicit(&me->long_ticks, memory_order_relaxed);

    if (!atomic_load_explicit(&me->busy, memory_order_relaxed)
        || atomic_load_explicit(&me->spell, memory_order_relaxed) != spell) {
        return 0;
    }
    if (ticks >= PASS_LONG_TICKS || main_sleeps(ps)) {
        return 1;
    }
    /* It runs, or waits for a CPU: on a loaded machine most spells last a
     * few looks that way. The next look comes when the spell has lasted as
     * long again, so that such a spell costs a few wake-ups, not one per
     * look, and a main thread that falls asleep later in it is seen at
     * most that much later. */
    atomic_store_explicit(&me->quiet_until,
                          ticks * 2 < PASS_LONG_TICKS ? ticks * 2
                                                      : PASS_LONG_TICKS,
                          memory_order_relaxed);
    atomic_store_explicit(&me->quiet_spell, spell, memory_order_relaxed);
    return 0;
}


static void *
passer(void *arg)
{
    pf_pass_t *ps = arg;

    while (!atomic_load(&ps->quit)) {
        uint32_t woken = atomic_load_explicit(&ps->me->wake,
                                              memory_order_acquire);

        if (spell_is_long(ps)) {
            session(ps);
            continue;
        }
        futex(&ps->me->wake, FUTEX_WAIT, woken);
    }
    return NULL;
}


int
pf_pass_start(pf_pass_t *ps, int slot, loom_engine_t *e,
              loom_listeners_t *ls, loom_poller_t *poller)
{
    pass_pair_t *p = pair();
    sigset_t all, old;
    int err;

    ps->send_fd = -1;
    ps->engine = e;
    ps->listeners = ls;
    ps->poller = poller;
    loom_list_init(&ps->passed);
    loom_list_init(&ps->kept);
    if (!p->made || slot >= p->nslots) {
        return -1;                      /* setup said why */
    }
    ps->me = &p->slots[slot];
    atomic_store(&ps->me->busy, 0);
    atomic_store(&ps->me->in_session, 0);   /* a crashed one's, maybe */
    ps->send_fd = p->fds[0];
    ps->stat_fd = open(apr_psprintf(ps->engine->ch->pchild,
                                    "/proc/self/task/%ld/stat",
                                    (long) gettid()), O_RDONLY | O_CLOEXEC);
    ps->receiver.fd = p->fds[1];
    ps->receiver.kind = LOOM_W_PASSED;
    pthread_mutex_init(&ps->token, NULL);
    hold_receiver(ps, 0);
    ps->receiver.data = ps;
    /* Signals are the main thread's: the passer starts with all blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(&ps->thread, NULL, passer, ps);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, err, ap_server_conf, LOOMNO(1312)
                     "pthread_create() of the passer failed; this child "
                     "serves what it holds itself");
        return -1;
    }
    ps->started = 1;
    return 0;
}


void
pf_pass_busy(pf_pass_t *ps)
{
    if (!ps->started) {
        return;
    }
    /* Relaxed: the parent's looks are 10 ms apart, and the passer checks
     * under the token before it acts. */
    atomic_fetch_add_explicit(&ps->me->spell, 1, memory_order_relaxed);
    atomic_store_explicit(&ps->me->busy, 1, memory_order_relaxed);
}


static void
splice_onto(loom_list_t *to, loom_list_t *from)
{
    while (!loom_list_empty(from)) {
        loom_list_t *it = from->next;

        loom_list_remove(it);
        loom_list_append(to, it);
    }
}


void
pf_pass_idle(pf_pass_t *ps, loom_list_t *passed, loom_list_t *kept)
{
    if (!ps->started) {
        return;
    }
    atomic_store(&ps->me->busy, 0);
    if (atomic_load(&ps->me->in_session)) {
        loom_poller_wake(ps->poller);   /* out of its wait at once */
    }
    pthread_mutex_lock(&ps->token);
    if (ps->took) {
        /* The model's own hold (at its bound) is put back by the caller's
         * next look; the receiver's is known here. */
        ps->took = 0;
        loom_listen_hold(ps->listeners, 0);
        hold_receiver(ps, ps->main_holds);
    }
    splice_onto(passed, &ps->passed);
    splice_onto(kept, &ps->kept);
    pthread_mutex_unlock(&ps->token);
}


void
pf_pass_hold(pf_pass_t *ps, int on)
{
    if (ps->receiver.data == NULL) {
        return;                         /* not started */
    }
    pthread_mutex_lock(&ps->token);
    ps->main_holds = on;
    if (!ps->took) {
        hold_receiver(ps, on);
    }
    pthread_mutex_unlock(&ps->token);
}


int
pf_pass_receive(pf_pass_t *ps, int *between)
{
    pass_msg_t m;
    struct cmsghdr *cm;
    int fd = -1;

    pass_msg_init(&m);
    if (recvmsg(ps->receiver.fd, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
        != 1) {
        return -1;                  /* another child took it */
    }
    cm = CMSG_FIRSTHDR(&m.msg);
    if (cm != NULL && cm->cmsg_level == SOL_SOCKET
        && cm->cmsg_type == SCM_RIGHTS
        && cm->cmsg_len == CMSG_LEN(sizeof(int))) {
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    }
    *between = m.kind == PASS_IDLE;
    return fd;
}


void
pf_pass_stop(pf_pass_t *ps)
{
    if (!ps->started) {
        return;
    }
    atomic_store(&ps->quit, 1);
    atomic_fetch_add(&ps->me->wake, 1);
    futex(&ps->me->wake, FUTEX_WAKE, 1);
    loom_poller_wake(ps->poller);
    pthread_join(ps->thread, NULL);
    ps->started = 0;
}
