/* `SetHandler loom-metrics`: the server's figures for Prometheus, in
 * OpenMetrics when the scraper asks for it and in Prometheus's older text
 * format otherwise (loom/exposition.h). What each metric means, and the
 * queries that answer an operator's questions, are in docs/metrics.md.
 *
 * Threads: httpd calls the handler from whatever thread serves the
 * request, in any child. */
#ifndef LOOM_METRICS_H
#define LOOM_METRICS_H

#include "httpd.h"

/* Registers the handler, and the log_transaction hook that counts every
 * request (from loom_mpm_register). */
void loom_metrics_register(void);

#endif
