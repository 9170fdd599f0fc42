/* Loom's lines on mod_status's pages (loom/status.h). */
#include "httpd.h"
#include "http_protocol.h"
#include "mod_status.h"
#include "scoreboard.h"

#include "loom/figures.h"
#include "loom/mpm.h"
#include "loom/state.h"
#include "loom/status.h"


int
loom_status_hook(request_rec *r, int flags)
{
    int i, slots = loom_state()->retained->first_server_limit;
    int handshakes = 0, heads = 0;
    loom_server_figures_t server;
    loom_slot_figures_t *each;

    if (!loom_mpm_parks()) {
        return OK;               /* prefork with LoomParkConnections Off */
    }
    each = apr_palloc(r->pool, (apr_size_t) slots * sizeof(*each));
    loom_figures_read(&server, each, slots);
    for (i = 0; i < slots; i++) {
        if (ap_get_scoreboard_process(i)->pid != 0) {
            handshakes += each[i].handshakes;
            heads += each[i].heads;
        }
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "LoomConnsHandshake: %d\nLoomConnsHeadWait: %d\n",
                   handshakes, heads);
    }
    else {
        ap_rprintf(r, "<p>Waiting for their client without a thread: %d TLS "
                   "handshake(s), %d request head(s) (Loom).</p>\n",
                   handshakes, heads);
    }
    return OK;
}
