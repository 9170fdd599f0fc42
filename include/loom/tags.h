/* Every Loom message carries a stable "LOOMnnnn" tag that tests and admins
 * can match, as httpd's APLOGNO tags do. Numbers: 01xx config, 02xx
 * listeners, 03xx processes, 04xx parent, 05xx connections, 1xxx models. */
#ifndef LOOM_TAGS_H
#define LOOM_TAGS_H

#define LOOMNO(n) "LOOM" #n ": "

#endif
