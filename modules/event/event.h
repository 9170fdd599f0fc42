/* What event.c (the child: threads, accepting, deadlines, stopping) and
 * event_conn.c (one connection's state machine) share. Private to the
 * event model.
 *
 * Ownership of a connection: exactly one thread owns a connection at a
 * time. A parked connection is owned by nobody: its descriptor is armed
 * one-shot in the child's poller and its deadline is in the timer queue.
 * The thread that receives its one event owns it. A deadline never closes
 * a parked connection itself: it marks it expired and shuts its socket
 * down, which makes the one event fire, so ownership only ever passes
 * through the poller and a connection can never be closed under a thread
 * that is about to touch it. */
#ifndef LOOM_EVENT_H
#define LOOM_EVENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "httpd.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/list.h"
#include "loom/listen.h"
#include "loom/poller.h"
#include "loom/threads.h"
#include "loom/timerq.h"
#include "event_gate.h"

#define EV_LINGER_MS        30000  /* lingering close, normal */
#define EV_SHORT_LINGER_MS  2000   /* ...after a timeout, or while stopping */

/* Where a connection is, not what it last did. */
enum ev_state {
    EV_HEAD,        /* waiting for a whole request head (no thread) */
    EV_PROCESS,     /* the process_connection hooks run on a thread */
    EV_WRITE,       /* write completion: flushing what the core buffered */
    EV_KEEPALIVE,   /* between requests */
    EV_WAITIO,      /* a protocol module (HTTP/2) waits for I/O */
    EV_LINGER,      /* lingering close: reading until EOF or deadline */
    EV_SUSPENDED,   /* a module owns it (handler returned SUSPENDED) */
    EV_CLOSED
};

typedef struct ev_child ev_child_t;

typedef struct ev_conn {
    loom_watch_t        watch;      /* kind LOOM_W_CONN, data: this */
    loom_timer_t        timer;      /* the parked state's deadline */
    enum ev_state       state;
    int                 woken;      /* its event arrived since it parked */
    int                 expired;    /* its deadline passed (child lock) */
    int                 tls;        /* TLS: no peeking into the head */
    int                 lingering;  /* ap_start_lingering_close done */
    int                 registered; /* its descriptor is in the poller */
    int                 started;    /* process_connection has run once */
    int                 hooks_out;  /* suspend_connection ran, resume due */
    int                 lowat;      /* SO_RCVLOWAT now (1: the default) */
    int                 head_peeked; /* bytes of the head seen so far */
    uint64_t            head_since; /* when the head wait began */
    uint64_t            head_due;   /* when Timeout ends it (0: not waiting) */
    uint64_t            linger_due;
    long                id;
    ev_child_t         *evc;
    apr_pool_t         *ptrans;     /* a subpool of evc->pconns; cleared on
                                     * close, kept with the record */
    apr_bucket_alloc_t *ba;
    apr_socket_t       *sock;
    conn_rec           *c;
    conn_state_t        cs;
    loom_list_t         link;       /* free list, or the suspended list */
} ev_conn_t;

typedef struct ev_thread {
    ev_child_t        *evc;
    int                id;
    loom_thread_t     *lt;          /* its thread; busy_fd while serving */
    ap_sb_handle_t    *sbh;
} ev_thread_t;

/* Counts mod_status shows per process; kept under the child lock and
 * copied to the scoreboard at each change, so they are never stale. */
enum ev_count {
    EVC_WRITE, EVC_KEEPALIVE, EVC_LINGER, EVC_WAITIO, EVC_SUSPENDED,
    EVC_COUNT
};

struct ev_child {
    loom_child_t      *ch;
    loom_poller_t     *poller;
    loom_listeners_t   listeners;
    pthread_mutex_t    lock;        /* everything below, unless noted */
    pthread_cond_t     tick;        /* wakes the housekeeper */
    pthread_cond_t     drained;     /* conns reached 0 while stopping */
    loom_timerq_t      timers;      /* connection deadlines */
    loom_timerq_t      callbacks;   /* ap_mpm_register_timed_callback */
    /* Callbacks that are due wait here for a worker thread; cb_watch (an
     * eventfd, armed one-shot) is readable while any wait, so one idle
     * thread takes one. Never run by the housekeeper: a callback may
     * block (mod_dialup writes to its client), and deadlines must not. */
    struct timed_cb   *cb_head;
    struct timed_cb  **cb_tail;
    loom_watch_t       cb_watch;
    int                cb_running;  /* callbacks running on workers now */
    int                hk_exit;     /* the housekeeper leaves */
    uint64_t           hk_due;      /* when the housekeeper wakes next */
    /* The parent of every connection's pool, a child of pchild, so that
     * a connection pool's chain of parents ends at the process's pool as
     * in stock (libraries find "the process" by walking up it). It owns
     * one allocator, with its own mutex, that all connections share:
     * what a request frees goes back to the child, not to a free list of
     * its connection that would sit idle with it. */
    apr_pool_t        *pconns;
    loom_list_t        free_conns;
    int                free_count;
    loom_list_t        suspended;
    /* Open connections: changed under the lock; thread_may_exit reads it
     * without (relaxed: a stopping child's threads look again after each
     * wake-up, and the last close broadcasts `drained`). */
    _Atomic int        conns;
    int                parked;      /* ...of which waiting in the poller */
    int                counts[EVC_COUNT];
    /* Threads at the gate or polling; changed without the lock by each
     * thread, read under it when deciding to accept. Relaxed: a hint that
     * the next decision corrects. */
    _Atomic int        idle_threads;
    ev_gate_t          gate;        /* own lock; taken after `lock` */
    /* loom_stop_e: written by the main thread under the lock (release),
     * read by any thread with or without it (acquire), so that a thread
     * that sees the stop also sees what the main thread did before it. */
    _Atomic int        stopping;
    int                head_lane;   /* Timeout of the base server */
    int                drain_lane;  /* keep-alive while draining */
    int                linger_lane;
    int                short_linger_lane;
    _Atomic long       next_id;     /* connection ids; relaxed */
    ev_thread_t       *threads;
    int                nthreads;
    loom_thread_t     *set;         /* nthreads workers, then housekeeper */
};

/* Milliseconds on a monotonic clock. */
uint64_t ev_now_ms(void);

/* A connection record for a connection about to be accepted into its
 * pool (ec->ptrans, ec->sock), from the free list when one is there. */
ev_conn_t *ev_conn_new(ev_child_t *evc);

/* Gives back a record whose accept failed. */
void ev_conn_unused(ev_conn_t *ec);

/* Thread `t` accepted ec->sock: it serves the connection at once. */
void ev_conn_accepted(ev_thread_t *t, ev_conn_t *ec);

/* Thread `t` received the one event of parked connection `ec`. */
void ev_conn_ready(ev_thread_t *t, ev_conn_t *ec, unsigned ev);

/* Under the child lock, from the housekeeper: `ec`'s deadline passed. */
void ev_conn_expire(ev_conn_t *ec);

/* Under the child lock: copies the child's connection counts to its
 * scoreboard entry, for mod_status (ConnsTotal and the async figures). */
void ev_conn_publish(ev_child_t *evc);

/* Under the child lock: a resumable suspended connection goes back to
 * write completion (mod_dialup finishes its responses from callbacks). So
 * does one whose client is gone (c->aborted) while no timed callback is
 * due or running, which is when a module gave up on it without a word
 * (mod_dialup after a failed write): no module code can still reach it,
 * and kept, it would hold its child from ever finishing a graceful stop. */
void ev_conn_resume_suspended(ev_child_t *evc);

/* Under the child lock: keep-alive connections of a draining child wait at
 * most a short while more (a client idle that long is not racing us). */
void ev_conn_shorten_keepalive(ev_child_t *evc);

/* Under the child lock: whether the child may take one more connection
 * (AsyncRequestWorkerFactor), and holding accepting off or on by it. */
void ev_child_update_accepting(ev_child_t *evc);

#endif
