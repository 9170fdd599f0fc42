/* LoomMemoryShare: the parent forks no child that would take the server
 * past a share of the memory it may use, so that the kernel's OOM killer
 * is never what limits a prefork server in a container. The memory it may
 * use is the tightest cgroup limit from its own group up (v2 memory.max,
 * v1 memory.limit_in_bytes) or the machine's MemTotal, whichever is less;
 * what it uses is the PSS of the parent and its children (smaps_rollup:
 * shared pages split among those that share them, so the sum is what the
 * server takes), and a new child adds the private memory of the largest
 * child that has run for a second (a child just forked has hardly any of
 * its own yet, so a fresh one is counted at that much too). The first
 * child is always started; the next waits until one has run that long.
 *
 * Threads: the parent's one thread. */
#ifndef LOOM_MEMORY_H
#define LOOM_MEMORY_H

#include <stdint.h>
#include <sys/types.h>

#include "loom/state.h"

typedef struct loom_memory {
    uint64_t limit;            /* bytes the server may use */
    char     limit_from[240];  /* the cgroup file, or /proc/meminfo */
    uint64_t used;             /* PSS, fresh children counted up */
    uint64_t per_child;        /* private bytes of the largest settled
                                * child: what one more adds (0: none yet) */
    int      children;         /* children measured */
} loom_memory_t;

/* The bytes a cgroup memory file says ("max", or v1's near-2^63 "no
 * limit", is 0: none). */
uint64_t loom_memory_of_limit(const char *text);

/* From an smaps_rollup: its PSS and its private bytes (clean and dirty).
 * 0, or -1 when it has no PSS. */
int loom_memory_of_rollup(const char *text, uint64_t *pss, uint64_t *own);

/* Measures the server: the parent and the children in `st`'s slots. The
 * private bytes of the largest settled child are remembered (in the
 * retained data): what a child takes only grows as it serves, and an
 * estimate that fell as children came and went would start a child too
 * many each time. */
void loom_memory_probe(loom_state_t *st, loom_memory_t *out);

/* Whether one more child fits in LoomMemoryShare; always when it is 0,
 * and for the first child (a server without one serves nothing). Once it
 * said no, it says yes again only when two more would fit.
 * Says once (LOOM0419) when the server stops growing for it, and once
 * when it may grow again (LOOM0420). */
int loom_memory_room(loom_state_t *st);

#endif
