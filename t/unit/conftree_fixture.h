/* Configuration trees and server lists built by hand, for the unit tests
 * of code that reads directives per server (loom/conftree.h). Include it
 * after the .c under test. */
#ifndef LOOM_CONFTREE_FIXTURE_H
#define LOOM_CONFTREE_FIXTURE_H

#include <stdlib.h>

#include "httpd.h"
#include "http_config.h"
#include "util_cfgtree.h"

/* A node of a configuration tree, as httpd would have read it from
 * `file` at `line`. */
static ap_directive_t *
node(const char *directive, const char *args, ap_directive_t *parent,
     const char *file, int line)
{
    ap_directive_t *d = calloc(1, sizeof(*d));

    d->directive = directive;
    d->args = args;
    d->parent = parent;
    d->filename = file;
    d->line_num = line;
    return d;
}

/* A server whose <VirtualHost> began at file:line (NULL, 0: the main
 * server), with one module-config slot, before `next` in the list. */
static server_rec *
server(const char *file, unsigned line, server_rec *next)
{
    server_rec *s = calloc(1, sizeof(*s));

    s->module_config = calloc(1, sizeof(void *));
    s->defn_name = file;
    s->defn_line_number = line;
    s->next = next;
    return s;
}

/* A main server and two virtual hosts (<VirtualHost> at a.conf lines 10
 * and 20), each with one line of `directive`: `main_args` at the top,
 * `v1_args` and `v2_args` inside the hosts. ap_conftree points at it. */
typedef struct {
    server_rec     *main_server, *v1, *v2;
    ap_directive_t *top, *vh1, *vh2;
} two_hosts_t;

extern ap_directive_t *ap_conftree;

static two_hosts_t
two_hosts(const char *directive, const char *main_args, const char *v1_args,
          const char *v2_args)
{
    two_hosts_t t;

    t.v2 = server("a.conf", 20, NULL);
    t.v1 = server("a.conf", 10, t.v2);
    t.main_server = server(NULL, 0, t.v1);
    t.top = node(directive, main_args, NULL, "a.conf", 1);
    t.vh1 = node("<VirtualHost", "127.0.0.1:81>", NULL, "a.conf", 10);
    t.vh2 = node("<VirtualHost", "127.0.0.1:82>", NULL, "a.conf", 20);
    t.top->next = t.vh1;
    t.vh1->next = t.vh2;
    t.vh1->first_child = node(directive, v1_args, t.vh1, "a.conf", 11);
    t.vh2->first_child = node(directive, v2_args, t.vh2, "a.conf", 21);
    ap_conftree = t.top;
    return t;
}

#endif
