/* The parent: one generation of children, from start to the stop or
 * restart that ends it. This is the `mpm` hook. */
#ifndef LOOM_MASTER_H
#define LOOM_MASTER_H

#include "httpd.h"

int loom_master_run(apr_pool_t *pconf, apr_pool_t *plog, server_rec *s);

#endif
