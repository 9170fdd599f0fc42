/* ap_mpm_query answers for the three models, which differ only by their
 * caps and configuration. Safe from any process or thread, before
 * pre_config too (apache2 -V asks right after loading the DSO). */
#ifndef LOOM_QUERY_H
#define LOOM_QUERY_H

#include "httpd.h"

int loom_query(int code, int *result, apr_status_t *rv);

#endif
