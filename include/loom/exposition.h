/* Prometheus's text exposition format (version 0.0.4, what promtool and
 * most tools read) and OpenMetrics 1.0 (what Prometheus asks for first),
 * written into one buffer. The two differ only in how a counter's or an
 * info's family is named in its TYPE and HELP lines, in the info type's
 * word (the older format has none: a gauge), in UNIT lines, and in
 * OpenMetrics' closing "# EOF"; callers write one family at a time, its
 * samples right after it, the same way for both.
 *
 * Pure: any thread, one writer per buffer. */
#ifndef LOOM_EXPOSITION_H
#define LOOM_EXPOSITION_H

#include <stdint.h>

#include "apr_pools.h"

typedef enum loom_metric_type {
    LOOM_GAUGE,
    LOOM_COUNTER,      /* samples are named <family>_total */
    LOOM_INFO          /* samples are named <family>_info, value 1 */
} loom_metric_type_e;

typedef struct loom_exposition {
    apr_pool_t         *pool;
    char               *buf;
    apr_size_t          len, cap;
    int                 openmetrics;
    const char         *family;   /* the family being written */
    loom_metric_type_e  type;
} loom_exposition_t;

/* An empty buffer in `pool`; `openmetrics`: which format. */
void loom_expo_init(loom_exposition_t *x, apr_pool_t *pool, int openmetrics);

/* Starts family `name` (no _total or _info suffix). `unit`, or NULL, must
 * be the name's last word (loom_crash_backoff_seconds: "seconds"). `help`
 * is written as it is: no backslash, double quote or newline. */
void loom_expo_family(loom_exposition_t *x, const char *name,
                      loom_metric_type_e type, const char *unit,
                      const char *help);

/* One sample of the current family. `labels`: `a="x",b="y"` or NULL;
 * label values are Loom's own words and numbers, never escaped. */
void loom_expo_sample(loom_exposition_t *x, const char *labels,
                      uint64_t value);
void loom_expo_sample_real(loom_exposition_t *x, const char *labels,
                           double value);

/* Ends the exposition; returns the text (NUL-terminated; x->len bytes). */
const char *loom_expo_end(loom_exposition_t *x);

/* The Content-Type of the format. */
const char *loom_expo_content_type(int openmetrics);

/* Whether an Accept header asks for OpenMetrics (NULL: no). */
int loom_expo_wants_openmetrics(const char *accept);

#endif
