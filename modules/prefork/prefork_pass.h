/* Parked prefork: a busy child passes its ready plain-HTTP connections to
 * an idle sibling, so that no request waits behind another one's long
 * request (a 2 s PHP page) while some process is idle.
 *
 * Every child shares one datagram socket pair, made by the parent once and
 * kept across restarts. A child passes a connection by sending its
 * descriptor (SCM_RIGHTS) on one end; idle children poll the other end as
 * they poll a listener (EPOLLEXCLUSIVE: one wakes), and the one that
 * receives it serves it as a new connection. TLS connections, whose state
 * lives in their child, and connections in write completion stay.
 *
 * The passer is a thread of the child that never runs module code (no
 * hook, no filter, no pool cleanup). It sleeps until the parent, which
 * looks at every child every 10 ms, sees the main thread in the same spell
 * of serving twice; then, if the main thread sleeps in the kernel (PHP's
 * sleep, a database, a CGI, a slow client; not waiting for a CPU), or has
 * been at it for 200 ms whatever it does, it takes the child's listeners and the receiving end out
 * of the poller (so that it never swallows a wake-up meant for an idle
 * process), waits in the poller for the child's parked connections, passes
 * those it may, and sets the others aside for the main thread, which
 * closes its copies of the passed ones and serves the rest once it is
 * free.
 *
 * Threads: pf_pass_setup and pf_pass_watch on the parent's one thread;
 * pf_pass_start, pf_pass_busy, pf_pass_idle, pf_pass_hold, pf_pass_give,
 * pf_pass_receive and pf_pass_stop on the child's main thread; everything
 * else on the passer. */
#ifndef LOOM_PREFORK_PASS_H
#define LOOM_PREFORK_PASS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "httpd.h"

#include "loom/engine.h"
#include "loom/list.h"
#include "loom/listen.h"
#include "loom/poller.h"

/* One child's line in the table the parent and the children share: what
 * the child's main thread publishes, and the parent's word to its passer.
 * Written by one side each; relaxed, but for long_spell, which the parent
 * releases after long_ticks and the passer acquires. A torn read of the
 * quiet pair costs one wake-up too many or one look late, no more. */
typedef struct pf_slot {
    _Atomic unsigned  spell;       /* child: serving spells begun so far */
    _Atomic int       busy;        /* child: its main thread serves */
    _Atomic unsigned  long_spell;  /* parent: the spell it saw go on */
    _Atomic int       long_ticks;  /* parent: for so many looks */
    _Atomic uint32_t  wake;        /* parent: a futex word its passer sleeps on */
    _Atomic unsigned  quiet_spell; /* passer: in this spell, no wake-up */
    _Atomic int       quiet_until; /* passer: before so many looks */
    _Atomic int       mean_conns;  /* parent: connections per child */
    _Atomic int       in_session;  /* passer: it waits in the poller for
                                    * the main thread, in a long spell */
    char              pad[28];     /* a cache line each */
} pf_slot_t;

_Static_assert(sizeof(pf_slot_t) == 64, "one cache line per child's slot");

typedef struct pf_pass {
    loom_engine_t      *engine;
    loom_listeners_t   *listeners;
    loom_poller_t      *poller;
    loom_watch_t        receiver;   /* kind LOOM_W_PASSED; armed EXCLUSIVE */
    int                 send_fd;
    int                 stat_fd;    /* the main thread's /proc stat */
    int                 receiver_armed;
    pthread_t           thread;
    int                 started;
    pf_slot_t          *me;         /* this child's line in the table */
    _Atomic int         quit;
    /* The passer holds `token` while it uses the poller and the
     * listeners; the lists and `took` are guarded by it. */
    pthread_mutex_t     token;
    int                 took;       /* it took the listeners out */
    int                 main_holds; /* the main thread wants the receiver
                                     * out (pf_pass_hold) */
    loom_list_t         passed;     /* sent away: the main thread closes */
    loom_list_t         kept;       /* ready, not passable: main serves */
    int                 logged;     /* LOOM1311 said once */
} pf_pass_t;

/* Parent, post_config: makes the shared socket pair and the table of
 * `server_limit` slots on the first pass (kept in the retained data, so
 * children of every generation share them). OK, or a failure status after
 * logging why. */
int pf_pass_setup(server_rec *s, int server_limit);

/* Parent, every LOOM_WATCH_MS (loom_master_watch): wakes the passer of
 * each child whose main thread is in the same spell of serving as a look
 * ago (which costs no child anything while its spells are short), and
 * tells every child how many connections the current children hold on
 * average. */
void pf_pass_watch(void);

/* Parent: whether the child in `slot` is held up in one long spell of
 * serving (its passer is in session): the only state in which a parked
 * child counts as busy for MinSpareServers and MaxSpareServers. */
int pf_pass_held_up(int slot);

/* Main thread: the connections the current children held on average at
 * the parent's last look (0 until it looked). */
int pf_pass_mean_conns(const pf_pass_t *ps);

/* Child in process slot `slot`: arms the receiving end in `poller` and
 * starts the passer. 0, or -1 after logging why (the child then serves
 * without passing). */
int pf_pass_start(pf_pass_t *ps, int slot, loom_engine_t *e,
                  loom_listeners_t *ls, loom_poller_t *poller);

/* The main thread took events and starts serving them. */
void pf_pass_busy(pf_pass_t *ps);

/* The main thread is done serving: once the passer is out of the poller,
 * puts back what it took out and moves the connections it passed onto
 * `passed` and those it set aside onto `kept`. */
void pf_pass_idle(pf_pass_t *ps, loom_list_t *passed, loom_list_t *kept);

/* Takes the receiving end out of the poller (on != 0) or puts it back,
 * with the listeners (the child at its bound, or stopping). */
void pf_pass_hold(pf_pass_t *ps, int on);

/* Main thread, between events, for a connection no thread can take the
 * event of now: sends `c` to the siblings if it may go. 0 when sent (the
 * caller takes it and lets it go), -EAGAIN when the pair's queue is full,
 * another -errno when it may not or could not go. */
int pf_pass_give(pf_pass_t *ps, loom_conn_t *c);

/* The receiving end fired: a passed descriptor, and in *between whether
 * it was idle between two requests (handed over) rather than ready; or -1
 * when another child took it first. */
int pf_pass_receive(pf_pass_t *ps, int *between);

/* Stops and joins the passer (a child on its way out). */
void pf_pass_stop(pf_pass_t *ps);

#endif
