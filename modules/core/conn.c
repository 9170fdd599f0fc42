/* Connection bring-up and close for the synchronous models (conn.h). */
#include "httpd.h"
#include "http_main.h"
#include "http_connection.h"

#include "loom/conn.h"


void
loom_conn_serve_sync(apr_socket_t *csd, apr_pool_t *ptrans, long id,
                     ap_sb_handle_t *sbh, apr_bucket_alloc_t *ba,
                     apr_thread_t *thread)
{
    conn_rec *c = ap_run_create_connection(ptrans, ap_server_conf, csd, id,
                                           sbh, ba);

    if (c == NULL) {
        return;    /* the core closed the socket and logged why */
    }
    c->current_thread = thread;
    ap_process_connection(c, csd);
    ap_lingering_close(c);
}
