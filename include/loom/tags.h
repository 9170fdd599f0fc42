/* Every Loom message carries a stable "LOOMnnnn" tag that tests and admins
 * can match, as httpd's APLOGNO tags do. Numbers: 00xx module set-up,
 * 01xx directives, 02xx listeners, 03xx forking and reaping children,
 * 04xx the parent's view of its children (crashes, restarts, drains),
 * 05xx a child's threads and poller, 06xx the connection engine, 10xx
 * prefork, 11xx worker, 12xx event, 13xx parked prefork. A tag, once
 * used, keeps its meaning, and its number, when its code moves: LOOM1204
 * (a head's reqtimeout stage) and LOOM1205 (an unknown process_connection
 * hook) began in event and now come from the engine's head wait. */
#ifndef LOOM_TAGS_H
#define LOOM_TAGS_H

#define LOOMNO(n) "LOOM" #n ": "

#endif
