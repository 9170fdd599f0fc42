/* The connection engine: a child's connections, each an explicit state
 * machine, parked without a thread in the child's poller between the
 * steps that need one (waiting for a request head, between requests,
 * draining a response to a slow reader, lingering on close). A model that
 * runs it (loom_event) supplies the threads that take events from the
 * poller, accepts the connections and decides when to accept; the engine
 * keeps everything about a connection: its record and pool, its state,
 * its deadline, and the counts mod_status shows.
 *
 * Ownership: exactly one thread owns a connection at a time. A parked
 * connection is owned by nobody: its descriptor is armed one-shot in the
 * poller and its deadline is in the engine's timer queue. The thread that
 * receives its one event owns it. A deadline never closes a parked
 * connection itself: it marks it expired and shuts its socket down, which
 * makes the one event fire, so ownership only ever passes through the
 * poller and a connection is never closed under a thread about to touch it.
 *
 * Threads: loom_engine_init from the child's main thread before the other
 * threads start. Functions named _locked run under `lock`, the child lock,
 * from any thread; the others take it themselves when they need it and
 * must be called without it. loom_engine_ready, loom_engine_accepted and
 * loom_engine_accepted_later run on the thread that owns the connection. The model may guard fields
 * of its own with the same lock. */
#ifndef LOOM_ENGINE_H
#define LOOM_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "httpd.h"
#include "scoreboard.h"

#include "loom/child.h"
#include "loom/conn_state.h"
#include "loom/list.h"
#include "loom/poller.h"
#include "loom/readahead.h"
#include "loom/threads.h"
#include "loom/timerq.h"

#define LOOM_LINGER_MS        30000  /* lingering close, normal */
#define LOOM_SHORT_LINGER_MS  2000   /* ...after a timeout, or stopping */
#define LOOM_DRAIN_KEEPALIVE_MS 2000 /* keep-alive while a child drains */

typedef struct loom_engine loom_engine_t;

/* One of the model's threads, as the engine sees it while it serves. */
typedef struct loom_engine_thread {
    loom_engine_t     *engine;
    int                id;          /* its thread slot in the scoreboard */
    loom_thread_t     *lt;          /* its thread; busy_fd while serving */
    ap_sb_handle_t    *sbh;
} loom_engine_thread_t;

typedef struct loom_conn {
    loom_watch_t        watch;      /* kind LOOM_W_CONN, data: this */
    loom_timer_t        timer;      /* the parked state's deadline */
    loom_conn_state_e   state;      /* written by enter() alone */
    int                 woken;      /* its event arrived since it parked */
    int                 expired;    /* its deadline passed (child lock) */
    int                 tls;        /* TLS: no peeking into the head */
    int                 lingering;  /* ap_start_lingering_close done */
    int                 registered; /* its descriptor is in the poller */
    int                 started;    /* process_connection has run once */
    int                 hooks_out;  /* suspend_connection ran, resume due */
    int                 lowat;      /* SO_RCVLOWAT now (1: the default) */
    int                 head_peeked; /* bytes of the head seen so far */
    int                 hs_begun;   /* a TLS record came: mod_ssl reads */
    int                 fresh;      /* counted in engine->fresh; written
                                     * by its owner, handed over with it
                                     * through the poller (park/unpark) */
    uint64_t            wait_since; /* when the head or handshake wait began */
    uint64_t            wait_due;   /* when Timeout ends it */
    loom_readahead_t    ra;         /* a TLS connection's reads ahead of
                                     * httpd: its handshake, its heads */
    int                 ra_on;      /* ...its filter is on the connection */
    uint64_t            linger_due;
    long                id;
    loom_engine_t      *engine;
    apr_pool_t         *ptrans;     /* a subpool of engine->pconns; cleared
                                     * on close, kept with the record */
    apr_bucket_alloc_t *ba;
    apr_socket_t       *sock;
    conn_rec           *c;
    conn_state_t        cs;
    loom_list_t         link;       /* free, suspended or unarmed list */
    loom_list_t         open_link;  /* engine->open while it is open */
} loom_conn_t;

struct loom_engine {
    loom_child_t      *ch;
    loom_poller_t     *poller;
    /* Called on the serving thread before a step that may block or
     * compute for long (a TLS handshake step, the connection's hooks);
     * NULL if the model has nothing to do then. `on_its_own`: serving it
     * mostly means waiting for someone else (a TLS handshake run by the
     * hooks, an HTTP/2 session's main connection). */
    void             (*about_to_serve)(loom_engine_thread_t *t,
                                       int on_its_own);
    pthread_mutex_t    lock;        /* the child lock: all below, unless noted */
    /* Signalled when a deadline earlier than `tick_due` is armed: the
     * model's thread that keeps deadlines sleeps on it until tick_due. */
    pthread_cond_t     tick;
    uint64_t           tick_due;
    pthread_cond_t     drained;     /* conns reached 0 while stopping */
    loom_timerq_t      timers;      /* connection deadlines */
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
    loom_list_t        unarmed;     /* resumed, refused by the poller */
    /* Set before the first connection by a model whose one thread serves
     * them all (loom_prefork). Only that thread then keeps `open`, every
     * connection httpd made a record of, and `turns`, connections whose
     * next request came in with the end of their last: no lock. A turn
     * waits behind the other connections ready, so that a client that
     * asks again at once cannot keep the thread from the rest. */
    int                one_thread;
    loom_list_t        open;
    loom_list_t        turns;
    /* Open connections: changed under the lock; read without it by the
     * model's threads deciding whether they may exit (relaxed: a stopping
     * child's threads look again after each wake-up, and the last close
     * broadcasts `drained`). */
    _Atomic int        conns;
    int                parked;      /* ...of which waiting in the poller */
    int                counts[LOOM_CONN_COUNTS];
    /* loom_stop_e: written under the lock (release), read with or without
     * it (acquire), so that a thread that sees the stop also sees what the
     * writer did before it. */
    _Atomic int        stopping;
    int                head_lane;   /* Timeout of the base server */
    int                drain_lane;
    int                linger_lane;
    int                short_linger_lane;
    _Atomic long       next_id;     /* connection ids; relaxed */
    /* Connections accepted later (loom_engine_accepted_later) that no
     * thread has taken yet: a model that takes several per wake-up counts
     * them against its idle threads. Relaxed: a hint for the next accept. */
    _Atomic int        fresh;
};

/* Milliseconds on a monotonic clock (any thread). */
uint64_t loom_now_ms(void);

/* Sets up `e` for child `ch`, its connections parked in `poller`. Returns
 * 0, or -1 after logging which step failed and why. */
int loom_engine_init(loom_engine_t *e, loom_child_t *ch,
                     loom_poller_t *poller);

/* Copies the counts to the child's scoreboard entry, for mod_status
 * (ConnsTotal and the async figures). */
void loom_engine_publish_locked(loom_engine_t *e);

/* Counts `delta` (1 or -1) connections more as open: the model reserves
 * one before it accepts, and gives it back when the accept fails. */
void loom_engine_count_open_locked(loom_engine_t *e, int delta);

/* Connections that want a thread now: open ones neither parked nor
 * suspended. What the model weighs against its threads to accept. */
int loom_engine_busy_locked(const loom_engine_t *e);

/* A record for a connection about to be accepted into its pool
 * (c->ptrans, then c->sock), from the free list when one is there. */
loom_conn_t *loom_engine_conn_new(loom_engine_t *e);

/* Gives back a record whose accept failed. */
void loom_engine_conn_unused(loom_conn_t *c);

/* Thread `t` accepted c->sock: it serves the connection at once. */
void loom_engine_accepted(loom_engine_thread_t *t, loom_conn_t *c);

/* The same for a connection another process served before and handed
 * over (c->sock made from its descriptor): one that was `between` two
 * requests there waits for its next as a keep-alive connection does
 * (KeepAliveTimeout), not as a new one. */
void loom_engine_adopted(loom_engine_thread_t *t, loom_conn_t *c,
                         int between);

/* Thread `t` accepted c->sock beside another it serves: the connection
 * waits in the poller for the next free thread. One whose first step
 * waits for its client (a head, a handshake) waits for its bytes; any
 * other (a protocol module may speak first) for its socket to be
 * writable, which it is at once. Counted in engine->fresh while its event
 * is due now, until a thread takes it; a client that has sent nothing
 * promises no thread. */
void loom_engine_accepted_later(loom_engine_thread_t *t, loom_conn_t *c);

/* Thread `t` received the one event `ev` (LOOM_POLL_*) of parked `c`. */
void loom_engine_ready(loom_engine_thread_t *t, loom_conn_t *c, unsigned ev);

/* The same in two halves, for a model whose thread that receives the event
 * is not the one that serves it (loom_prefork's passer): loom_engine_take
 * (any thread, the one that received the event) disarms its deadline and
 * counts it as no longer parked, and says whether the deadline had passed;
 * loom_engine_resume (the serving thread) goes on from there. */
int loom_engine_take(loom_conn_t *c);
void loom_engine_resume(loom_engine_thread_t *t, loom_conn_t *c, int expired);

/* Moves onto `out` (through their `link`) the connections parked between
 * two requests. Only with one_thread, from the thread that keeps `open`,
 * when it knows no thread can take their events meanwhile (loom_prefork's
 * main thread, between its events); each is then taken with
 * loom_engine_take or left parked. */
void loom_engine_keepalive(loom_engine_t *e, loom_list_t *out);

/* With one_thread, from that thread: serves the next request of each
 * connection that waited for its turn (one each; those that come back
 * wait for the next call). Whether any waits is !loom_list_empty(&e->turns). */
void loom_engine_take_turns(loom_engine_thread_t *t);

/* Closes `c`, taken with loom_engine_take, without a word to its client:
 * its descriptor went to another process, which serves it now. From the
 * thread that serves this child's connections (its pool's cleanups are
 * module code). */
void loom_engine_let_go(loom_conn_t *c);

/* Expires the deadlines due at `now`. From the model's thread that keeps
 * deadlines; must not block, and it does not. */
void loom_engine_expire_locked(loom_engine_t *e, uint64_t now);

/* Resumable suspended connections go back to write completion (mod_dialup
 * finishes its responses from timed callbacks). So do ones whose client is
 * gone (c->aborted) when `quiet` (no timed callback due or running): no
 * module code can still reach them then, and kept, they would hold their
 * child from ever finishing a graceful stop. */
void loom_engine_resume_suspended_locked(loom_engine_t *e, int quiet);

/* Closes the connections that resuming put back but the poller refused
 * (it said so): nobody else can reach them. Call it without the lock,
 * after loom_engine_resume_suspended_locked, from the same thread. */
void loom_engine_close_unarmed(loom_engine_t *e);

/* The child stops (how: loom_stop_e). Gracefully, keep-alive connections
 * wait at most a short while more (a client idle that long is not racing
 * us) and lingering closes end within the short linger time, as stock. */
void loom_engine_stop_locked(loom_engine_t *e, int how);

#endif
