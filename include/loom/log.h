/* Logging with the loaded model's module index.
 *
 * Core files belong to whichever model loaded them, so their log lines carry
 * that model's module index ([mpm_loom_prefork:notice]) and obey
 * `LogLevel mpm_loom_prefork:debug`. A model's own file includes it too:
 * its module is declared (LOOM_MPM_MODULE) only at its end, and a line
 * logged above that would carry no module and ignore the model's
 * LogLevel. */
#ifndef LOOM_LOG_H
#define LOOM_LOG_H

#include "http_log.h"
#include "loom/mpm.h"
#include "loom/tags.h"

#undef APLOG_MODULE_INDEX
#define APLOG_MODULE_INDEX (loom_mpm_ops()->module->module_index)

#endif
