/* What Loom adds to mod_status's pages: the connections waiting for their
 * client without a thread (TLS handshakes, request heads), which the
 * scoreboard has no field for.
 *
 * Threads: mod_status calls the hook from whatever thread serves the
 * status request. */
#ifndef LOOM_STATUS_H
#define LOOM_STATUS_H

#include "httpd.h"

/* mod_status's status_hook: the totals over the live children. */
int loom_status_hook(request_rec *r, int flags);

#endif
