/* Which connections may wait for their request head without a thread
 * (LoomWaitForHead, the engine's head step in engine_conn.c), and when
 * the bytes peeked so far stop being worth the wait.
 *
 * The head wait assumes a connection speaks HTTP/1: it holds the
 * connection until a blank line ends the head. A connection may instead
 * belong to a protocol module that takes it in a process_connection hook
 * before HTTP does (mod_echo's ProtocolEcho, mod_perl's
 * PerlProcessConnectionHandler, third-party protocol modules). Stock event
 * runs those hooks at once, so a protocol whose client sends something
 * that is not an HTTP head, or whose server speaks first, works there.
 * Two rules keep that true here:
 *  - the wait lasts only while the bytes so far can still be the start of
 *    an HTTP/1 request line (method, target, version) and its header
 *    lines; anything else goes to httpd at once (loom_head_shape);
 *  - a new connection is not held at all (loom_headwait_first) when its
 *    server turns such a protocol on, or when a module the engine knows
 *    nothing of has a process_connection hook (it might speak first).
 * Part of the connection engine (loom/engine.h); each function says from
 * which thread it may be called. */
#ifndef LOOM_HEADWAIT_H
#define LOOM_HEADWAIT_H

#include <stddef.h>

#include "httpd.h"

typedef enum loom_head_shape {
    LOOM_HEAD_PARTIAL,  /* can still become an HTTP/1 head: keep waiting */
    LOOM_HEAD_WHOLE,    /* a request line and its headers, blank line seen */
    LOOM_HEAD_FOREIGN,  /* not HTTP/1 (or HTTP/0.9): httpd decides now */
    LOOM_HEAD_TOO_MANY  /* more header fields than `max_fields`, and the
                         * line after the first one beyond: httpd
                         * refuses it now, as it would have on a thread */
} loom_head_shape_e;

/* What the first `n` bytes a client sent are, for a server that allows
 * `max_fields` header lines (its LimitRequestFields; 0: no limit). Any
 * thread; pure. */
loom_head_shape_e loom_head_shape(const char *buf, size_t n, int max_fields);

/* From post_config (parent, one thread): which servers have protocol
 * modules on, and which process_connection hooks are unknown; logs the
 * latter once per configuration, at notice. */
void loom_headwait_setup(apr_pool_t *pconf, server_rec *main_server);

/* Whether a new connection whose base server is `s` may wait for its
 * first request head without a thread (any thread of a child). A
 * connection that has served a request speaks HTTP and may always wait. */
int loom_headwait_first(server_rec *s);

#endif
