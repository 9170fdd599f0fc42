/* Connection bring-up and close for the synchronous models (conn.h). */
#include "httpd.h"
#include "http_main.h"
#include "http_connection.h"

#include "ap_mpm.h"
#include "http_protocol.h"

#include "loom/conn.h"

/* Per-thread, not shared: what the HTTP/1 connection on this thread has
 * seen. Reset for each connection by loom_conn_serve_sync. */
static __thread int tl_h1;           /* an HTTP/1 request was read here */
static __thread int tl_h1_stopping;  /* ...and began after the stop */


static void
note_request(request_rec *r, conn_rec *c)
{
    int state = AP_MPMQ_RUNNING;

    if (c->master != NULL) {
        return;               /* an HTTP/2 stream on a module's thread */
    }
    tl_h1 = 0;                /* ask for the real state */
    ap_mpm_query(AP_MPMQ_MPM_STATE, &state);
    tl_h1 = 1;
    tl_h1_stopping = state == AP_MPMQ_STOPPING;
}


void
loom_conn_register_hooks(void)
{
    ap_hook_pre_read_request(note_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
}


int
loom_conn_mpm_state(int real)
{
    if (!tl_h1) {
        return real;
    }
    return tl_h1_stopping ? AP_MPMQ_STOPPING : AP_MPMQ_RUNNING;
}


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
    tl_h1 = 0;
    ap_process_connection(c, csd);
    ap_lingering_close(c);
    tl_h1 = 0;
}
