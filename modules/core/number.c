/* Whole-number parsing for directives (declared in config.h). Kept apart
 * from config.c, which needs httpd, so that it can be unit-tested alone. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "loom/config.h"


int
loom_cfg_parse_int(const char *arg, int *out)
{
    char *end;
    long v;

    if (arg == NULL || *arg == '\0') {
        return -1;
    }
    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || *end != '\0' || v < INT_MIN || v > INT_MAX) {
        return -1;
    }
    *out = (int) v;
    return 0;
}
