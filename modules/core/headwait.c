/* Which heads are worth waiting for (see event_headwait.h). */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "loom/conftree.h"
#include "loom/log.h"
#include "loom/headwait.h"

/* Modules known to leave a connection to HTTP unless their own switch is
 * on (mod_security2's and mod_qos's hooks only check limits and decline
 * or close). `directive` names that switch (NULL: the module never takes a
 * connection); `any` says whether any value turns it on, or only "On". */
static const struct {
    const char *module;
    const char *directive;
    int         any;
} known_hooks[] = {
    { "http_core.c",      NULL,                           0 },
    { "mod_reqtimeout.c", NULL,                           0 },
    { "mod_ssl.c",        NULL,                           0 },
    { "mod_http2.c",      NULL,                           0 },
    { "mod_security2.c",  NULL,                           0 },
    { "mod_qos.c",        NULL,                           0 },
    { "mod_echo.c",       "ProtocolEcho",                 0 },
    { "mod_perl.c",       "PerlProcessConnectionHandler", 1 },
};

/* Servers whose connections a protocol module takes (key: the
 * server_rec's address); read by every thread of a child, written only
 * in the parent before the fork. */
static apr_hash_t *foreign_servers;
static int unknown_hooks;


static int
tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9')
           || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}


/* Length of the run of `buf` whose bytes `ok` accepts. */
static size_t
span(const char *buf, size_t n, int (*ok)(unsigned char))
{
    size_t i = 0;

    while (i < n && ok((unsigned char) buf[i])) {
        i++;
    }
    return i;
}


static int
target_char(unsigned char ch)
{
    return ch > ' ' && ch != 0x7f;
}


static int
version_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ch == '.';
}


/* The request line "METHOD SP TARGET SP HTTP/d.d" up to its line end:
 * PARTIAL while it may still become one, FOREIGN once it cannot, WHOLE
 * (with *end just past its LF) when it is one. A line without a version
 * is HTTP/0.9 or another protocol: httpd answers either at once. */
static loom_head_shape_e
request_line(const char *buf, size_t n, size_t *end)
{
    static const char http[] = "HTTP/";
    size_t i = span(buf, n, tchar), m;

    if (i == n) {
        return LOOM_HEAD_PARTIAL;
    }
    if (i == 0 || buf[i++] != ' ') {
        return LOOM_HEAD_FOREIGN;
    }
    m = span(buf + i, n - i, target_char);
    if ((i += m) == n) {
        return LOOM_HEAD_PARTIAL;
    }
    if (m == 0 || buf[i++] != ' ') {
        return LOOM_HEAD_FOREIGN;
    }
    for (m = 0; m < sizeof(http) - 1; m++, i++) {
        if (i == n) {
            return LOOM_HEAD_PARTIAL;
        }
        if (buf[i] != http[m]) {
            return LOOM_HEAD_FOREIGN;
        }
    }
    if ((i += span(buf + i, n - i, version_char)) < n && buf[i] == '\r') {
        i++;
    }
    if (i == n) {
        return LOOM_HEAD_PARTIAL;
    }
    if (buf[i] != '\n') {
        return LOOM_HEAD_FOREIGN;
    }
    *end = i + 1;
    return LOOM_HEAD_WHOLE;
}


/* How many header lines `buf` holds whole (ended by LF); a folded line
 * (starting with a space or a tab) counts with the line it continues. */
static int
header_lines(const char *buf, size_t n)
{
    int lines = 0;
    size_t i = 0;
    const char *lf;

    while (i < n && (lf = memchr(buf + i, '\n', n - i)) != NULL) {
        if (buf[i] != ' ' && buf[i] != '\t') {
            lines++;
        }
        i = (size_t) (lf - buf) + 1;
    }
    return lines;
}


loom_head_shape_e
loom_head_shape(const char *buf, size_t n, int max_fields)
{
    size_t start = 0, end = 0;
    loom_head_shape_e line;

    /* httpd skips empty lines before a request line. */
    while (start < n && (buf[start] == '\r' || buf[start] == '\n')) {
        start++;
    }
    line = request_line(buf + start, n - start, &end);
    if (line != LOOM_HEAD_WHOLE) {
        return line;
    }
    /* The headers end with an empty line: from the request line's own LF
     * on, an LF followed by LF or CR LF. */
    end += start - 1;
    if (memmem(buf + end, n - end, "\n\n", 2) != NULL
        || memmem(buf + end, n - end, "\n\r\n", 3) != NULL) {
        return LOOM_HEAD_WHOLE;
    }
    /* httpd counts a field once the line after it has come (that line
     * might have continued it) and answers 400 at the first field beyond
     * the limit, whether the head ever ends or not: a slow client must
     * not be held past that point. */
    if (max_fields > 0
        && header_lines(buf + end + 1, n - end - 1) > max_fields + 1) {
        return LOOM_HEAD_TOO_MANY;
    }
    return LOOM_HEAD_PARTIAL;
}


struct switch_baton {
    server_rec *main_server;
    int         any;          /* any value turns the protocol on */
};


static void
mark(server_rec *s, int foreign)
{
    server_rec **key = apr_palloc(apr_hash_pool_get(foreign_servers),
                                  sizeof(*key));

    *key = s;
    apr_hash_set(foreign_servers, key, sizeof(*key), foreign ? s : NULL);
}


/* One line of a protocol switch: the server it is in takes connections
 * away from HTTP if the line turns the protocol on (the last line counts).
 * A module whose switch takes any value may pass it on to every virtual
 * host, so a line in the main server marks them all. */
static void
take_switch(server_rec *s, const char *args, void *baton)
{
    const struct switch_baton *b = baton;
    int on = b->any || strcasecmp(args, "on") == 0;

    if (b->any && s == b->main_server) {
        for (; s != NULL; s = s->next) {
            mark(s, 1);
        }
        return;
    }
    mark(s, on);
}


static const char *
hook_module(const apr_array_header_t *hooks, int i)
{
    return APR_ARRAY_IDX(hooks, i, ap_LINK_process_connection_t).szName;
}


/* Whether a hook before the i-th has the same module (mod_http2 has two). */
static int
named_before(const apr_array_header_t *hooks, int i)
{
    const char *module = hook_module(hooks, i);
    int j;

    for (j = 0; j < i; j++) {
        if (module != NULL && hook_module(hooks, j) != NULL
            && strcmp(module, hook_module(hooks, j)) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
known(const char *module)
{
    size_t i;

    for (i = 0; i < sizeof(known_hooks) / sizeof(known_hooks[0]); i++) {
        if (module != NULL && strcmp(module, known_hooks[i].module) == 0) {
            return (int) i;
        }
    }
    return -1;
}


void
loom_headwait_setup(apr_pool_t *pconf, server_rec *main_server)
{
    apr_array_header_t *hooks = ap_hook_get_process_connection();
    int quiet = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    int i;

    foreign_servers = apr_hash_make(pconf);
    unknown_hooks = 0;
    for (i = 0; hooks != NULL && i < hooks->nelts; i++) {
        const char *module = hook_module(hooks, i);
        int k = known(module);

        if (named_before(hooks, i)) {
            continue;
        }
        if (k < 0) {
            unknown_hooks = 1;
            if (!quiet) {
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, main_server,
                             LOOMNO(1205) "%s has a process_connection hook "
                             "and may take connections before HTTP does: "
                             "new connections are served at once, as stock "
                             "event serves them, not held by "
                             "LoomWaitForHead until their head is whole",
                             module != NULL ? module : "a module");
            }
        }
        else if (known_hooks[k].directive != NULL) {
            struct switch_baton b = { main_server, known_hooks[k].any };

            loom_conftree_each(known_hooks[k].directive, main_server,
                               take_switch, &b);
        }
    }
}


int
loom_headwait_first(server_rec *s)
{
    if (unknown_hooks) {
        return 0;
    }
    return apr_hash_count(foreign_servers) == 0
           || apr_hash_get(foreign_servers, &s, sizeof(s)) == NULL;
}
