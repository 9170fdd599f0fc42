/* Connections that wait for their client without a thread (a TLS
 * handshake, a request head), counted per child in memory the parent maps
 * before its first fork and every child shares, because the scoreboard
 * has no field for them; shown by mod_status (the status_hook) beside its
 * own async counts.
 *
 * Threads: loom_waits_create from the parent's one thread, before the
 * first fork; loom_waits_publish from any thread of the child in `slot`
 * (the engine calls it under the child lock, so one writer at a time);
 * loom_waits_status from whatever thread serves the status request. */
#ifndef LOOM_WAITS_H
#define LOOM_WAITS_H

#include "httpd.h"

/* The shared table for `slots` process slots, or NULL (logged). Kept in
 * the retained data: it lives as long as the parent, across restarts. */
void *loom_waits_create(int slots);

/* Child `slot` now has `handshakes` and `heads` waiting. */
void loom_waits_publish(int slot, int handshakes, int heads);

/* mod_status's status_hook: the totals over the live children, and per
 * child on the HTML page. */
int loom_waits_status(request_rec *r, int flags);

#endif
