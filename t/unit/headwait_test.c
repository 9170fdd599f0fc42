/* Which request heads loom_event waits for without a thread
 * (modules/core/headwait.c): the shape of the bytes peeked so far,
 * and which servers' new connections may wait at all, from the
 * process_connection hooks and the protocol switches of a configuration
 * tree built here. */
#include "unit.h"
#include "../../modules/core/conftree.c"
#include "../../modules/core/headwait.c"
#include "conftree_fixture.h"

/* What the file needs from httpd, for hooks and a tree built here. */
ap_directive_t *ap_conftree;
static apr_array_header_t *hooks;
static int logged;

apr_array_header_t *
ap_hook_get_process_connection(void)
{
    return hooks;
}

int
ap_state_query(int query)
{
    return AP_SQ_MS_CREATE_CONFIG;
}

void
ap_log_error_(const char *file, int line, int index, int level,
              apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    logged++;
}

static module self;
static loom_mpm_ops_t ops = { .module = &self };

const loom_mpm_ops_t *
loom_mpm_ops(void)
{
    return &ops;
}

#define SHAPE(text) loom_head_shape(text, sizeof(text) - 1, 100)

UNIT_TEST(an_http1_head_is_waited_for_until_its_blank_line)
{
    UNIT_EQ(SHAPE(""), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("G"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET "), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET /index.html"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET /index.html HT"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET / HTTP/1.1"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET / HTTP/1.1\r"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET / HTTP/1.1\r\nHost: a\r\n"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET / HTTP/1.1\r\nHost: a\r\n\r"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), LOOM_HEAD_WHOLE);
    UNIT_EQ(SHAPE("GET / HTTP/1.0\r\n\r\n"), LOOM_HEAD_WHOLE);
    UNIT_EQ(SHAPE("GET / HTTP/1.0\n\n"), LOOM_HEAD_WHOLE);
    UNIT_EQ(SHAPE("GET / HTTP/1.1\nHost: a\n\n"), LOOM_HEAD_WHOLE);
    UNIT_EQ(SHAPE("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n"), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE("\r\nGET / HTTP/1.0\r\n\r\n"), LOOM_HEAD_WHOLE);
    UNIT_EQ(SHAPE("M-SEARCH * HTTP/1.1\r\n\r\n"), LOOM_HEAD_WHOLE);
    UNIT_EQ(SHAPE("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), LOOM_HEAD_WHOLE);
}

UNIT_TEST(anything_that_cannot_be_an_http1_head_goes_at_once)
{
    UNIT_EQ(SHAPE("hello\n"), LOOM_HEAD_FOREIGN);           /* mod_echo */
    UNIT_EQ(SHAPE("EHLO mail.example\r\n"), LOOM_HEAD_FOREIGN);
    UNIT_EQ(SHAPE("GET /\r\n"), LOOM_HEAD_FOREIGN);         /* HTTP/0.9 */
    UNIT_EQ(SHAPE("\x16\x03\x01"), LOOM_HEAD_FOREIGN);      /* TLS */
    UNIT_EQ(SHAPE(" GET / HTTP/1.1"), LOOM_HEAD_FOREIGN);
    UNIT_EQ(SHAPE("GET  / HTTP/1.1"), LOOM_HEAD_FOREIGN);
    UNIT_EQ(SHAPE("GET / FTP/1.1"), LOOM_HEAD_FOREIGN);
    UNIT_EQ(SHAPE("GET / HTTP/1.1 x"), LOOM_HEAD_FOREIGN);
    UNIT_EQ(SHAPE("GE(T / HTTP/1.1"), LOOM_HEAD_FOREIGN);
    UNIT_EQ(SHAPE("GE\0T / HTTP/1.1"), LOOM_HEAD_FOREIGN);   /* NUL */
    UNIT_EQ(SHAPE("GET /a\tb HTTP/1.1"), LOOM_HEAD_FOREIGN);
}

#define SHAPE_UNDER(text, max) loom_head_shape(text, sizeof(text) - 1, max)

UNIT_TEST(a_head_with_more_lines_than_the_limit_goes_at_once)
{
#define THREE "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n C\r\nD: 3\r\n"
    /* httpd knows field B+C whole once D has come, and D once a line
     * after it has: two fields so far. */
    UNIT_EQ(SHAPE_UNDER(THREE, 2), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE_UNDER(THREE, 1), LOOM_HEAD_TOO_MANY);
    UNIT_EQ(SHAPE_UNDER(THREE, 0), LOOM_HEAD_PARTIAL);      /* no limit */
    /* A line not ended yet is not counted; an ended head is whole. */
    UNIT_EQ(SHAPE_UNDER("GET / HTTP/1.1\r\nA: 1\r\nB: 2", 0), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE_UNDER("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC", 1), LOOM_HEAD_PARTIAL);
    UNIT_EQ(SHAPE_UNDER("GET / HTTP/1.1\nA: 1\nB: 2\n\n", 1), LOOM_HEAD_WHOLE);
#undef THREE
}

static void
hooks_of(apr_pool_t *p, const char *const *modules)
{
    hooks = apr_array_make(p, 4, sizeof(ap_LINK_process_connection_t));
    for (; *modules != NULL; modules++) {
        ap_LINK_process_connection_t *h = apr_array_push(hooks);

        memset(h, 0, sizeof(*h));
        h->szName = *modules;
    }
}

UNIT_TEST(only_servers_with_a_protocol_on_skip_the_first_wait)
{
    static const char *const http[] = {
        "mod_reqtimeout.c", "mod_http2.c", "mod_ssl.c", "mod_http2.c",
        "mod_echo.c", "http_core.c", NULL };
    two_hosts_t t = two_hosts("ProtocolEcho", "Off", "on", "On");
    server_rec *main_server = t.main_server, *v1 = t.v1, *v2 = t.v2;
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    t.vh2->first_child->next = node("ProtocolEcho", "Off", t.vh2, "a.conf", 22);
    hooks_of(p, http);

    loom_headwait_setup(p, main_server);
    UNIT_EQ(loom_headwait_first(main_server), 1);
    UNIT_EQ(loom_headwait_first(v1), 0);
    UNIT_EQ(loom_headwait_first(v2), 1);     /* the last line counts */
    UNIT_EQ(logged, 0);

    /* Without mod_echo's hook its directive means nothing here. */
    hooks_of(p, (const char *const[]) { "http_core.c", NULL });
    loom_headwait_setup(p, main_server);
    UNIT_EQ(loom_headwait_first(v1), 1);
}

UNIT_TEST(a_connection_handler_in_the_main_server_reaches_every_host)
{
    server_rec *v1 = server("a.conf", 10, NULL);
    server_rec *main_server = server(NULL, 0, v1);
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ap_conftree = node("PerlProcessConnectionHandler", "My::Echo", NULL,
                       "a.conf", 1);
    hooks_of(p, (const char *const[]) { "mod_perl.c", "http_core.c", NULL });
    loom_headwait_setup(p, main_server);
    UNIT_EQ(loom_headwait_first(main_server), 0);
    UNIT_EQ(loom_headwait_first(v1), 0);
}

UNIT_TEST(an_unknown_connection_hook_turns_the_first_wait_off_and_says_so)
{
    server_rec *main_server = server(NULL, 0, NULL);
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ap_conftree = NULL;
    hooks_of(p, (const char *const[]) {
        "mod_smtpd.c", "http_core.c", "mod_smtpd.c", NULL });
    loom_headwait_setup(p, main_server);
    UNIT_EQ(loom_headwait_first(main_server), 0);
    UNIT_EQ(logged, 1);                    /* once per module */
}
