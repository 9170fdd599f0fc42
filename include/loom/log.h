/* Logging from the shared core.
 *
 * Core files belong to whichever model loaded them, so their log lines carry
 * that model's module index ([mpm_loom_prefork:notice]) and obey
 * `LogLevel mpm_loom_prefork:debug`. Include this in core files only: a
 * model's own file names its module with LOOM_DECLARE_MODULE. */
#ifndef LOOM_LOG_H
#define LOOM_LOG_H

#include "http_log.h"
#include "loom/mpm.h"
#include "loom/tags.h"

#undef APLOG_MODULE_INDEX
#define APLOG_MODULE_INDEX (loom_mpm_ops()->module->module_index)

#endif
