/* Per-child counts of connections waiting without a thread (loom/waits.h). */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "httpd.h"
#include "http_main.h"
#include "http_protocol.h"
#include "mod_status.h"
#include "scoreboard.h"

#include "loom/log.h"
#include "loom/mpm.h"
#include "loom/state.h"
#include "loom/tags.h"
#include "loom/waits.h"

/* Relaxed: figures for a status page, each written by one child. */
typedef struct waits_slot {
    _Atomic int handshakes;
    _Atomic int heads;
} waits_slot_t;


void *
loom_waits_create(int slots)
{
    void *table = mmap(NULL, (size_t) slots * sizeof(waits_slot_t),
                       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);

    if (table == MAP_FAILED) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     LOOMNO(0605) "mmap() of %d slots' wait counts failed; "
                     "mod_status will not show them", slots);
        return NULL;
    }
    return table;
}


static waits_slot_t *
slot_of(int slot)
{
    const loom_retained_t *r = loom_state()->retained;
    waits_slot_t *table = r->waits;

    if (table == NULL || slot < 0 || slot >= r->first_server_limit) {
        return NULL;
    }
    return &table[slot];
}


void
loom_waits_publish(int slot, int handshakes, int heads)
{
    waits_slot_t *w = slot_of(slot);

    if (w != NULL) {
        atomic_store_explicit(&w->handshakes, handshakes, memory_order_relaxed);
        atomic_store_explicit(&w->heads, heads, memory_order_relaxed);
    }
}


int
loom_waits_status(request_rec *r, int flags)
{
    int i, slots = loom_state()->retained->first_server_limit;
    int handshakes = 0, heads = 0;

    if (!loom_mpm_parks()) {
        return OK;               /* prefork with LoomParkConnections Off */
    }
    for (i = 0; i < slots; i++) {
        waits_slot_t *w = slot_of(i);

        if (w == NULL || ap_get_scoreboard_process(i)->pid == 0) {
            continue;
        }
        handshakes += atomic_load_explicit(&w->handshakes,
                                           memory_order_relaxed);
        heads += atomic_load_explicit(&w->heads, memory_order_relaxed);
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
