/* Another module's directives, per server (see loom/conftree.h). */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "http_config.h"
#include "util_cfgtree.h"

#include "loom/conftree.h"


/* The server a node of the configuration tree configures: the one whose
 * <VirtualHost> encloses it, or the main server. */
static server_rec *
server_of(const ap_directive_t *d, server_rec *main_server)
{
    server_rec *s;

    for (; d != NULL; d = d->parent) {
        if (strcasecmp(d->directive, "<VirtualHost") != 0) {
            continue;
        }
        for (s = main_server->next; s != NULL; s = s->next) {
            if (s->defn_name != NULL && d->filename != NULL
                && strcmp(s->defn_name, d->filename) == 0
                && s->defn_line_number == (unsigned) d->line_num) {
                return s;
            }
        }
        return NULL;          /* not a server we know: leave it alone */
    }
    return main_server;
}


static void
walk(const ap_directive_t *d, const char *directive, server_rec *main_server,
     loom_conftree_fn fn, void *baton)
{
    for (; d != NULL; d = d->next) {
        if (strcasecmp(d->directive, directive) == 0) {
            server_rec *s = server_of(d, main_server);

            if (s != NULL) {
                fn(s, d->args != NULL ? d->args : "", baton);
            }
        }
        walk(d->first_child, directive, main_server, fn, baton);
    }
}


void
loom_conftree_each(const char *directive, server_rec *main_server,
                   loom_conftree_fn fn, void *baton)
{
    walk(ap_conftree, directive, main_server, fn, baton);
}
