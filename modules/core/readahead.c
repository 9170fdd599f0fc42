/* Bytes read ahead of httpd on a connection (loom/readahead.h). */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "http_connection.h"
#include "util_filter.h"

#include "loom/readahead.h"

#define FILTER_NAME "LOOM_READAHEAD"
/* Above mod_ssl (CONNECTION + 5), mod_remoteip and mod_reqtimeout, below
 * every protocol filter. */
#define FILTER_TYPE ((ap_filter_type) (AP_FTYPE_CONNECTION + 4))

/* Reads in a row that must give nothing before nothing more has come:
 * mod_ssl turns OpenSSL's automatic retry off, so a read that took a
 * record with no data in it (a KeyUpdate) answers EAGAIN, while the next
 * record may already wait in mod_ssl's own buffer, where the poller
 * cannot see it. */
#define EMPTY_PULLS 2

static ap_filter_rec_t *filter_rec;


/* The first held bucket beyond `readbytes` bytes, or the end of `held`
 * when it holds no more than that. */
static apr_bucket *
held_end(loom_readahead_t *ra, apr_off_t readbytes)
{
    apr_bucket *end;

    if (apr_brigade_partition(ra->held, readbytes, &end) != APR_SUCCESS) {
        end = APR_BRIGADE_SENTINEL(ra->held);
    }
    return end;
}


/* Moves the held buckets before `end` to the tail of `bb`. */
static void
move_before(apr_bucket_brigade *bb, loom_readahead_t *ra, apr_bucket *end)
{
    while (APR_BRIGADE_FIRST(ra->held) != end) {
        apr_bucket *e = APR_BRIGADE_FIRST(ra->held);

        APR_BUCKET_REMOVE(e);
        APR_BRIGADE_INSERT_TAIL(bb, e);
    }
}


/* Copies the held buckets before `end` to the tail of `bb`. */
static void
copy_before(apr_bucket_brigade *bb, loom_readahead_t *ra, apr_bucket *end)
{
    for (apr_bucket *e = APR_BRIGADE_FIRST(ra->held); e != end;
         e = APR_BUCKET_NEXT(e)) {
        apr_bucket *copy;

        if (apr_bucket_copy(e, &copy) == APR_SUCCESS) {
            APR_BRIGADE_INSERT_TAIL(bb, copy);
        }
    }
}


static apr_status_t
serve_held(loom_readahead_t *ra, apr_bucket_brigade *bb, ap_input_mode_t mode,
           apr_read_type_e block, apr_off_t readbytes)
{
    apr_status_t rv = APR_SUCCESS;

    switch (mode) {
    case AP_MODE_GETLINE:
        rv = apr_brigade_split_line(bb, ra->held, block, HUGE_STRING_LEN);
        break;
    case AP_MODE_READBYTES:
        move_before(bb, ra, held_end(ra, readbytes));
        break;
    case AP_MODE_SPECULATIVE:
        copy_before(bb, ra, held_end(ra, readbytes));
        return APR_SUCCESS;
    case AP_MODE_EXHAUSTIVE:
    case AP_MODE_EATCRLF:
    case AP_MODE_INIT:
        return ap_get_brigade(ra->f->next, bb, mode, block, readbytes);
    }
    /* Held buckets are set aside in memory: measuring them reads nothing. */
    apr_brigade_length(ra->held, 1, &ra->len);
    return rv;
}


static apr_status_t
readahead_filter(ap_filter_t *f, apr_bucket_brigade *bb, ap_input_mode_t mode,
                 apr_read_type_e block, apr_off_t readbytes)
{
    loom_readahead_t *ra = f->ctx;

    if (ra->len <= 0) {
        /* Splitting the last line may leave an empty bucket behind: served,
         * it would be an empty success, which httpd takes for no data or
         * an error, never for "read on". */
        apr_brigade_cleanup(ra->held);
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    return serve_held(ra, bb, mode, block, readbytes);
}


void
loom_readahead_register(void)
{
    filter_rec = ap_register_input_filter(FILTER_NAME, readahead_filter,
                                          NULL, FILTER_TYPE);
}


void
loom_readahead_add(loom_readahead_t *ra, conn_rec *c)
{
    ra->held = apr_brigade_create(c->pool, c->bucket_alloc);
    ra->pull = apr_brigade_create(c->pool, c->bucket_alloc);
    ra->len = 0;
    ra->f = ap_add_input_filter_handle(filter_rec, ra, NULL, c);
}


apr_status_t
loom_readahead_handshake(loom_readahead_t *ra)
{
    conn_rec *c = ra->f->c;
    apr_status_t rv = ap_get_brigade(c->input_filters, ra->pull, AP_MODE_INIT,
                                     APR_NONBLOCK_READ, 0);

    apr_brigade_cleanup(ra->pull);
    return rv;
}


/* The filter below `above` named mod_reqtimeout's, if it is there. */
static ap_filter_t **
reqtimeout_link(ap_filter_t *above)
{
    ap_filter_t **link;

    for (link = &above->next; *link != NULL; link = &(*link)->next) {
        if (strcasecmp((*link)->frec->name, "reqtimeout") == 0) {
            return link;
        }
    }
    return NULL;
}


/* Sets each pulled bucket aside (mod_ssl hands out transient ones) and
 * moves it to `held`. */
static void
keep_pulled(loom_readahead_t *ra, conn_rec *c)
{
    while (!APR_BRIGADE_EMPTY(ra->pull)) {
        apr_bucket *e = APR_BRIGADE_FIRST(ra->pull);

        APR_BUCKET_REMOVE(e);
        if (APR_BUCKET_IS_METADATA(e)) {
            apr_bucket_delete(e);
            continue;
        }
        apr_bucket_setaside(e, c->pool);
        ra->len += (apr_off_t) e->length;
        APR_BRIGADE_INSERT_TAIL(ra->held, e);
    }
}


apr_status_t
loom_readahead_pull(loom_readahead_t *ra, apr_off_t max)
{
    conn_rec *c = ra->f->c;
    ap_filter_t **link = reqtimeout_link(ra->f);
    ap_filter_t *skipped = link != NULL ? *link : NULL;
    apr_status_t rv = APR_SUCCESS;

    if (skipped != NULL) {
        *link = skipped->next;
    }
    for (int empty = 0; ra->len < max && empty < EMPTY_PULLS; empty++) {
        apr_off_t before = ra->len;

        rv = ap_get_brigade(ra->f->next, ra->pull, AP_MODE_READBYTES,
                            APR_NONBLOCK_READ, max - ra->len);
        keep_pulled(ra, c);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
            break;
        }
        rv = APR_SUCCESS;
        if (ra->len > before) {
            break;
        }
    }
    if (skipped != NULL) {
        *link = skipped;
    }
    return rv;
}


apr_size_t
loom_readahead_peek(const loom_readahead_t *ra, char *buf, apr_size_t n)
{
    apr_size_t done = 0;
    apr_bucket *e;

    for (e = APR_BRIGADE_FIRST(ra->held);
         e != APR_BRIGADE_SENTINEL(ra->held) && done < n;
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t len;

        if (apr_bucket_read(e, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
            break;
        }
        if (len > n - done) {
            len = n - done;
        }
        memcpy(buf + done, data, len);
        done += len;
    }
    return done;
}
