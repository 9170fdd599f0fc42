/* Reading another module's directives out of httpd's configuration tree,
 * per server.
 *
 * Some modules keep their settings to themselves (mod_reqtimeout's stages,
 * mod_echo's ProtocolEcho), yet a model must act on them before that module
 * runs. The tree (ap_conftree) still holds every line with its file and
 * line number, and each virtual host records where its <VirtualHost>
 * began, which is how a line is matched to the server it configures.
 *
 * Called from post_config only (the parent, one thread): the tree is
 * gone by the time children serve. */
#ifndef LOOM_CONFTREE_H
#define LOOM_CONFTREE_H

#include "httpd.h"
#include "http_config.h"

/* Called once for each line of `directive`, in file order, with the server
 * it configures and its arguments as written (never NULL). */
typedef void (*loom_conftree_fn)(server_rec *s, const char *args,
                                 void *baton);

/* Every line of `directive` (case-insensitive) anywhere in ap_conftree:
 * at the top (the main server), in a <VirtualHost> (that host), or in
 * containers within either. A line in a <VirtualHost> httpd did not
 * create a server for is skipped. */
void loom_conftree_each(const char *directive, server_rec *main_server,
                        loom_conftree_fn fn, void *baton);

#endif
