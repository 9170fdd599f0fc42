/* Bytes of a connection read ahead of httpd, kept until httpd reads them.
 *
 * A TLS request head cannot be peeked at in the socket (it is encrypted)
 * nor through mod_ssl (a speculative read returns only what mod_ssl
 * already buffered). So the engine pulls the decrypted head itself, with
 * non-blocking reads from the filter below this one, until it is whole
 * (docs/research/tls-head-wait.md); this connection input filter, above
 * mod_ssl and below HTTP's filters, then serves httpd's reads from what
 * was pulled before reading on. The engine drives the handshake through
 * it too, so a TLS connection it waits for has the filter from its start;
 * it stays for the connection's life (a filter removed while a request is
 * read leaves that request's chain pointing at it), and passes every read
 * on while it holds nothing, as on an HTTP/2 connection.
 *
 * Threads: loom_readahead_register from register_hooks; the others from
 * the thread that owns the connection. */
#ifndef LOOM_READAHEAD_H
#define LOOM_READAHEAD_H

#include "httpd.h"
#include "util_filter.h"

typedef struct loom_readahead {
    ap_filter_t        *f;       /* this connection's filter */
    apr_bucket_brigade *held;    /* pulled, not yet read by httpd */
    apr_bucket_brigade *pull;    /* one pull's buckets */
    apr_off_t           len;     /* bytes in `held` */
} loom_readahead_t;

/* Registers the filter (once per configuration). */
void loom_readahead_register(void);

/* Adds the filter to connection `c`, with `ra` (zeroed, living as long as
 * the connection's pool) as its state. */
void loom_readahead_add(loom_readahead_t *ra, conn_rec *c);

/* Advances the handshake of the filters below (mod_ssl's) as far as the
 * client's bytes allow, without waiting for more: a non-blocking
 * AP_MODE_INIT read from the top of the connection's chain, which passes
 * every filter httpd's own first read would. Returns APR_SUCCESS once the
 * handshake is done, EAGAIN while it wants more of the client, or the
 * error that ended it. */
apr_status_t loom_readahead_handshake(loom_readahead_t *ra);

/* Pulls the next decrypted bytes that have come, without waiting, up to
 * `max` held in all (ra->len): one read that gave data, or two in a row
 * that gave none (nothing more has come; ra->len unchanged). So a caller
 * that has what it needs stops there, without the reads that would only
 * have said EAGAIN. The connection's mod_reqtimeout filter is
 * stepped over meanwhile: its clock is for httpd's reads, and between two
 * requests it may still run the last body's. Returns APR_SUCCESS, or the
 * error that stopped the reads (APR_EOF: the client closed). */
apr_status_t loom_readahead_pull(loom_readahead_t *ra, apr_off_t max);

/* Copies up to `n` held bytes into `buf`; returns how many. */
apr_size_t loom_readahead_peek(const loom_readahead_t *ra, char *buf,
                               apr_size_t n);

#endif
