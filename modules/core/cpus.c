/* See cpus.h. */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom/cpus.h"

/* The two hierarchies that can hold a CPU quota. */
enum hierarchy { CG_V2, CG_V1_CPU };

#define PATH_ROOM 512


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


/* Whether comma-separated `list` holds `name`. */
static int
has_token(const char *list, const char *name)
{
    size_t n = strlen(name);

    while (list != NULL && *list != '\0') {
        if (strncmp(list, name, n) == 0
            && (list[n] == ',' || list[n] == '\0')) {
            return 1;
        }
        list = strchr(list, ',');
        list = list != NULL ? list + 1 : NULL;
    }
    return 0;
}


/* The process's group in hierarchy `h` (/proc/self/cgroup). 0 or -1. */
static int
own_group(enum hierarchy h, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[PATH_ROOM + 64];
    int found = -1;

    while (f != NULL && found != 0 && fgets(line, sizeof(line), f) != NULL) {
        char *ids = strchr(line, ':');
        char *path = ids != NULL ? strchr(ids + 1, ':') : NULL;

        if (path == NULL) {
            continue;
        }
        *ids++ = '\0';
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        if (h == CG_V2 ? strcmp(line, "0") == 0 && *ids == '\0'
                       : has_token(ids, "cpu")) {
            found = snprintf(out, size, "%s", path) < (int) size ? 0 : -1;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}


/* Where hierarchy `h` is mounted, and which of its groups the mount shows
 * as its root (not "/" where a container sees only its own part). 0 or -1. */
static int
mount_of(enum hierarchy h, char *dir, char *root)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[2 * PATH_ROOM + 256];
    int found = -1;

    while (f != NULL && found != 0 && fgets(line, sizeof(line), f) != NULL) {
        char *tail = strstr(line, " - ");
        char fstype[32], source[64], opts[256] = "";

        if (tail == NULL
            || sscanf(tail + 3, "%31s %63s %255s", fstype, source, opts) < 2) {
            continue;
        }
        if (h == CG_V2 ? strcmp(fstype, "cgroup2") != 0
                       : strcmp(fstype, "cgroup") != 0
                         || !has_token(opts, "cpu")) {
            continue;
        }
        /* id parent major:minor root mount-point ... */
        if (sscanf(line, "%*s %*s %*s %511s %511s", root, dir) == 2) {
            found = 0;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}


/* Reads a small file whole into buf, as a string. 0 or -1. */
static int
read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

    if (fd >= 0) {
        close(fd);
    }
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    return 0;
}


/* The quota one group sets, in whole CPUs (0: none), and in `file` the
 * file that says so. */
static int
group_quota(enum hierarchy h, const char *dir, char *file, size_t size)
{
    char quota[128], period[64], period_file[2 * PATH_ROOM + 32];

    if (h == CG_V2) {
        snprintf(file, size, "%s/cpu.max", dir);
        return read_small(file, quota, sizeof(quota)) == 0
               ? loom_cpus_of_cpu_max(quota) : 0;
    }
    snprintf(file, size, "%s/cpu.cfs_quota_us", dir);
    snprintf(period_file, sizeof(period_file), "%s/cpu.cfs_period_us", dir);
    if (read_small(file, quota, sizeof(quota)) != 0
        || read_small(period_file, period, sizeof(period)) != 0) {
        return 0;
    }
    return loom_cpus_of_quota(atoll(quota), atoll(period));
}


/* The tightest quota of hierarchy `h` from the process's group up to the
 * root, kept in `out` when it is tighter than what is there. */
static void
tightest_quota(enum hierarchy h, loom_cpus_t *out)
{
    char group[PATH_ROOM], mnt[PATH_ROOM], root[PATH_ROOM];
    char dir[2 * PATH_ROOM], file[2 * PATH_ROOM + 32];
    const char *rel;
    size_t base;

    if (own_group(h, group, sizeof(group)) != 0 || mount_of(h, mnt, root) != 0) {
        return;
    }
    rel = group;
    if (strcmp(root, "/") != 0) {
        size_t n = strlen(root);

        rel = strncmp(group, root, n) == 0 ? group + n : "";
    }
    snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
    base = strlen(mnt);
    for (;;) {
        int q = group_quota(h, dir, file, sizeof(file));
        char *slash;

        if (q > 0 && (out->quota == 0 || q < out->quota)) {
            out->quota = q;
            /* A longer path is cut: it only names the file in the log. */
            snprintf(out->quota_from, sizeof(out->quota_from), "%.*s",
                     (int) sizeof(out->quota_from) - 1, file);
        }
        slash = strrchr(dir, '/');
        if (strlen(dir) <= base || slash == NULL || slash < dir + base) {
            return;
        }
        *slash = '\0';
    }
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
    tightest_quota(CG_V2, out);
    tightest_quota(CG_V1_CPU, out);
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
