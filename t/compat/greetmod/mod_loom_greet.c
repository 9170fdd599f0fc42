/* A test module for t/compat/protocols.t: a small line protocol that is
 * not HTTP, run from a process_connection hook as protocol modules do
 * (mod_echo, mod_ftp, SMTP modules). On a server with `LoomGreet On` the
 * server speaks first, "220 loom-greet ready", then reads one greeting
 * line "HELO <name>" and answers "250 hello <name>". Elsewhere it
 * declines, and HTTP serves the connection. Built by the test with
 * `apxs -c`; never installed. */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "util_filter.h"
#include "apr_buckets.h"
#include "apr_strings.h"

module AP_MODULE_DECLARE_DATA loom_greet_module;

typedef struct {
    int on;
} greet_conf_t;

static void *
make_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(greet_conf_t));
}

static const char *
set_greet(cmd_parms *cmd, void *dummy, int on)
{
    greet_conf_t *conf = ap_get_module_config(cmd->server->module_config,
                                              &loom_greet_module);

    conf->on = on;
    return NULL;
}

static apr_status_t
say(conn_rec *c, apr_bucket_brigade *bb, const char *line)
{
    apr_brigade_cleanup(bb);
    apr_brigade_puts(bb, NULL, NULL, line);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    return ap_pass_brigade(c->output_filters, bb);
}

static int
greet_connection(conn_rec *c)
{
    greet_conf_t *conf = ap_get_module_config(c->base_server->module_config,
                                              &loom_greet_module);
    apr_bucket_brigade *bb;
    char line[256];
    apr_size_t len = sizeof(line) - 1;

    if (conf == NULL || !conf->on) {
        return DECLINED;
    }
    bb = apr_brigade_create(c->pool, c->bucket_alloc);
    if (say(c, bb, "220 loom-greet ready\r\n") != APR_SUCCESS) {
        return OK;
    }
    apr_brigade_cleanup(bb);
    if (ap_get_brigade(c->input_filters, bb, AP_MODE_GETLINE,
                       APR_BLOCK_READ, 0) != APR_SUCCESS
        || apr_brigade_flatten(bb, line, &len) != APR_SUCCESS) {
        return OK;
    }
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "HELO ", 5) == 0) {
        say(c, bb, apr_psprintf(c->pool, "250 hello %s\r\n", line + 5));
    }
    else {
        say(c, bb, "500 say HELO first\r\n");
    }
    c->keepalive = AP_CONN_CLOSE;
    return OK;
}

static const command_rec greet_cmds[] = {
    AP_INIT_FLAG("LoomGreet", set_greet, NULL, RSRC_CONF,
                 "On: this server's connections speak the greeting protocol"),
    { NULL }
};

static void
register_hooks(apr_pool_t *p)
{
    ap_hook_process_connection(greet_connection, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA loom_greet_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, make_conf, NULL, greet_cmds, register_hooks
};
