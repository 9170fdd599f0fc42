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

#endif
