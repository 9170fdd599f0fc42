/* loom_prefork with LoomParkConnections On: the child's one thread runs
 * the connection engine (loom/engine.h). Between requests a connection
 * waits in the child's poller, not on the process, so one child holds many
 * connections and serves their requests one at a time; module code still
 * runs on that one thread only.
 *
 * Threads: everything here runs on the child's main thread (the passer of
 * prefork_pass.h is the child's only other thread). */
#ifndef LOOM_PREFORK_PARK_H
#define LOOM_PREFORK_PARK_H

#include "loom/child.h"

/* The child's loop: accepts while it holds fewer connections than
 * LoomConnectionsPerProcess, serves each connection's steps as their
 * events come, keeps their deadlines, and on a stop finishes what it holds
 * (graceful) or leaves at once. Never returns. */
void prefork_park_main(loom_child_t *ch) __attribute__((noreturn));

#endif
