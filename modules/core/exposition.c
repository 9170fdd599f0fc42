/* The two text formats of Prometheus (loom/exposition.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* strcasestr */
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apr_strings.h"

#include "loom/exposition.h"


void
loom_expo_init(loom_exposition_t *x, apr_pool_t *pool, int openmetrics)
{
    memset(x, 0, sizeof(*x));
    x->pool = pool;
    x->openmetrics = openmetrics;
    x->cap = 8192;
    x->buf = apr_palloc(pool, x->cap);
    x->buf[0] = '\0';
}


static void
put(loom_exposition_t *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(loom_exposition_t *x, const char *fmt, ...)
{
    va_list ap;
    char *bigger;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(x->buf + x->len, x->cap - x->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (apr_size_t) n < x->cap - x->len) {
            x->len += (apr_size_t) n;
            return;
        }
        /* Pool memory is not freed one piece at a time: the old buffer
         * stays until the request ends, which doubling keeps small. */
        bigger = apr_palloc(x->pool, x->cap * 2);
        memcpy(bigger, x->buf, x->len + 1);
        x->buf = bigger;
        x->cap *= 2;
    }
}


static const char *
suffix_of(loom_metric_type_e type)
{
    switch (type) {
    case LOOM_COUNTER:
        return "_total";
    case LOOM_INFO:
        return "_info";
    case LOOM_GAUGE:
        break;
    }
    return "";
}


static const char *
type_word(const loom_exposition_t *x, loom_metric_type_e type)
{
    switch (type) {
    case LOOM_COUNTER:
        return "counter";
    case LOOM_INFO:
        /* The older format has no info type: a gauge whose value is 1. */
        return x->openmetrics ? "info" : "gauge";
    case LOOM_GAUGE:
        break;
    }
    return "gauge";
}


void
loom_expo_family(loom_exposition_t *x, const char *name,
                 loom_metric_type_e type, const char *unit, const char *help)
{
    /* OpenMetrics names a family without its samples' suffix; the older
     * format names it as its samples are named. */
    const char *shown = x->openmetrics ? "" : suffix_of(type);

    x->family = name;
    x->type = type;
    put(x, "# TYPE %s%s %s\n", name, shown, type_word(x, type));
    if (unit != NULL && x->openmetrics) {
        put(x, "# UNIT %s %s\n", name, unit);
    }
    put(x, "# HELP %s%s %s\n", name, shown, help);
}


void
loom_expo_sample(loom_exposition_t *x, const char *labels, uint64_t value)
{
    put(x, "%s%s%s%s%s %llu\n", x->family, suffix_of(x->type),
        labels != NULL ? "{" : "", labels != NULL ? labels : "",
        labels != NULL ? "}" : "", (unsigned long long) value);
}


void
loom_expo_sample_real(loom_exposition_t *x, const char *labels, double value)
{
    put(x, "%s%s%s%s%s %.6f\n", x->family, suffix_of(x->type),
        labels != NULL ? "{" : "", labels != NULL ? labels : "",
        labels != NULL ? "}" : "", value);
}


const char *
loom_expo_end(loom_exposition_t *x)
{
    if (x->openmetrics) {
        put(x, "# EOF\n");
    }
    return x->buf;
}


const char *
loom_expo_content_type(int openmetrics)
{
    return openmetrics
           ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
           : "text/plain; version=0.0.4; charset=utf-8";
}


int
loom_expo_wants_openmetrics(const char *accept)
{
    /* Prometheus lists OpenMetrics first, with the older format as a
     * fallback at a lower q; a client that names it at all can read it. */
    return accept != NULL
           && strcasestr(accept, "application/openmetrics-text") != NULL;
}
