/* How long a request head may take to arrive while it waits without a
 * thread (LoomWaitForHead, the engine's head step in engine_conn.c).
 *
 * mod_reqtimeout times a request head by the reads made on a thread. A
 * head Loom waits for is never read on a thread until it is whole, so
 * that clock would never run: a client trickling its head would be held
 * until Timeout, where stock answers 408 after the header stage's time.
 * The engine applies the header stage itself instead: the values of each
 * server's RequestReadTimeout (read from the configuration tree, since
 * mod_reqtimeout keeps them to itself), or that module's defaults when it
 * is loaded and they are not set. Part of the connection engine
 * (loom/engine.h): setup from post_config (parent, one thread), the rest
 * from any thread of a child. */
#ifndef LOOM_HEADTIME_H
#define LOOM_HEADTIME_H

#include <stdint.h>

#include "httpd.h"

/* The stages of mod_reqtimeout that a wait without a thread applies. */
typedef enum loom_stage {
    LOOM_STAGE_HEADER,      /* "header=": the request head */
    LOOM_STAGE_HANDSHAKE,   /* "handshake=": the TLS handshake */
    LOOM_STAGES
} loom_stage_e;

typedef struct loom_headtime {
    int first_s;    /* the stage's time, s; 0: none (only Timeout bounds it) */
    int max_s;      /* how far received bytes may extend it, s; 0: no cap */
    int min_rate;   /* each min_rate bytes extend it by 1 s; 0: never */
} loom_headtime_t;

/* From post_config: each server's stages, from the configuration tree.
 * Without mod_reqtimeout every server has none. */
void loom_headtime_setup(apr_pool_t *pconf, server_rec *main_server);

/* Stage `stage` of connections whose base server is `s` (never NULL). */
const loom_headtime_t *loom_headtime_of(server_rec *s, loom_stage_e stage);

/* When a wait that began at `since_ms`, and in which `bytes` have arrived,
 * has had its time; UINT64_MAX when the stage sets none. */
uint64_t loom_headtime_due(const loom_headtime_t *h, uint64_t since_ms,
                         int bytes);

/* Reads "header=T", "header=T-M,MinRate=R" (or "handshake=...": the
 * value as RequestReadTimeout takes it, key case-insensitive) for `stage`
 * out of one RequestReadTimeout line's arguments into *h. Returns 1 when
 * the line sets that stage. */
int loom_headtime_parse(const char *args, loom_stage_e stage,
                        loom_headtime_t *h);

#endif
