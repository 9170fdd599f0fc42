/* Turning an accepted socket into a served connection. */
#ifndef LOOM_CONN_H
#define LOOM_CONN_H

#include "httpd.h"
#include "scoreboard.h"

/* Synchronous models: creates the conn_rec, serves every request on it
 * (keep-alive included) and closes it with a lingering close, all on the
 * calling thread. `ptrans` is the connection's pool; the caller clears it
 * afterwards. */
void loom_conn_serve_sync(apr_socket_t *csd, apr_pool_t *ptrans, long id,
                          ap_sb_handle_t *sbh, apr_bucket_alloc_t *ba,
                          apr_thread_t *thread);

/* Registers the hooks behind loom_conn_mpm_state (sync models). */
void loom_conn_register_hooks(void);

/* The MPM state to report on the calling thread, given the child's real
 * one. A thread serving HTTP/1 reports STOPPING only once a request that
 * began after the stop is in hand: that request's response then says
 * "Connection: close" and the connection ends right after it, so a client
 * that reuses the connection never races its close. Other callers (HTTP/2
 * sends GOAWAY on STOPPING, which cannot race) get the real state. */
int loom_conn_mpm_state(int real);

#endif
