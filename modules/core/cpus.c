/* See cpus.h. */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom/cgroup.h"
#include "loom/cpus.h"


int
loom_cpus_of_quota(long long quota, long long period)
{
    long long n;

    if (quota <= 0 || period <= 0) {
        return 0;
    }
    n = quota / period + (quota % period != 0);
    return n > INT_MAX ? INT_MAX : (int) n;
}


int
loom_cpus_of_cpu_max(const char *text)
{
    char quota[32];
    long long period, q;
    char *end;

    if (sscanf(text, "%31s %lld", quota, &period) != 2
        || strcmp(quota, "max") == 0) {
        return 0;
    }
    q = strtoll(quota, &end, 10);
    return *end == '\0' ? loom_cpus_of_quota(q, period) : 0;
}


/* The quota one group sets, in whole CPUs (0: none), and in `file` the
 * file that says so. */
static int
group_quota(loom_cgroup_e h, const char *dir, char *file, size_t size)
{
    char quota[128], period[64], period_file[LOOM_CGROUP_PATH + 32];

    if (h == LOOM_CGROUP_V2) {
        snprintf(file, size, "%s/cpu.max", dir);
        return loom_cgroup_read(file, quota, sizeof(quota)) == 0
               ? loom_cpus_of_cpu_max(quota) : 0;
    }
    snprintf(file, size, "%s/cpu.cfs_quota_us", dir);
    snprintf(period_file, sizeof(period_file), "%s/cpu.cfs_period_us", dir);
    if (loom_cgroup_read(file, quota, sizeof(quota)) != 0
        || loom_cgroup_read(period_file, period, sizeof(period)) != 0) {
        return 0;
    }
    return loom_cpus_of_quota(atoll(quota), atoll(period));
}


/* The tightest quota of hierarchy `h` from the process's group up to the
 * root, kept in `out` when it is tighter than what is there. */
static void
tightest_quota(loom_cgroup_e h, loom_cpus_t *out)
{
    char dir[LOOM_CGROUP_PATH], file[LOOM_CGROUP_PATH + 32];
    size_t top;

    if (loom_cgroup_dir(h, "cpu", dir, &top) != 0) {
        return;
    }
    do {
        int q = group_quota(h, dir, file, sizeof(file));

        if (q > 0 && (out->quota == 0 || q < out->quota)) {
            out->quota = q;
            /* A longer path is cut: it only names the file in the log. */
            snprintf(out->quota_from, sizeof(out->quota_from), "%.*s",
                     (int) sizeof(out->quota_from) - 1, file);
        }
    } while (loom_cgroup_up(dir, top) == 0);
}


void
loom_cpus_probe(loom_cpus_t *out)
{
    cpu_set_t set;

    memset(out, 0, sizeof(*out));
    out->affinity = sched_getaffinity(0, sizeof(set), &set) == 0
                    ? CPU_COUNT(&set) : 1;
    if (out->affinity < 1) {
        out->affinity = 1;
    }
    tightest_quota(LOOM_CGROUP_V2, out);
    tightest_quota(LOOM_CGROUP_V1, out);
    out->count = out->quota > 0 && out->quota < out->affinity
                 ? out->quota : out->affinity;
}


const char *
loom_cpus_describe(const loom_cpus_t *c, char *buf, int size)
{
    if (c->quota > 0) {
        snprintf(buf, (size_t) size, "%d CPU%s (affinity mask: %d; cgroup "
                 "CPU quota: %d, from %s)", c->count, c->count == 1 ? "" : "s",
                 c->affinity, c->quota, c->quota_from);
    }
    else {
        snprintf(buf, (size_t) size, "%d CPU%s (affinity mask: %d; no cgroup "
                 "CPU quota)", c->count, c->count == 1 ? "" : "s",
                 c->affinity);
    }
    return buf;
}
