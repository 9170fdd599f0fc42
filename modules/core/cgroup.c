/* See cgroup.h. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loom/cgroup.h"


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
own_group(loom_cgroup_e h, const char *controller, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[LOOM_CGROUP_PATH + 64];
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
        if (h == LOOM_CGROUP_V2 ? strcmp(line, "0") == 0 && *ids == '\0'
                                : has_token(ids, controller)) {
            found = snprintf(out, size, "%s", path) < (int) size ? 0 : -1;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}


/* Where hierarchy `h` is mounted, and which of its groups the mount shows
 * as its root (not "/" where a container sees only its own part), each
 * LOOM_CGROUP_PATH bytes. 0 or -1. */
static int
mount_of(loom_cgroup_e h, const char *controller, char *dir, char *root)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[2 * LOOM_CGROUP_PATH + 256];
    int found = -1;

    while (f != NULL && found != 0 && fgets(line, sizeof(line), f) != NULL) {
        char *tail = strstr(line, " - ");
        char fstype[32], source[64], opts[256] = "";

        if (tail == NULL
            || sscanf(tail + 3, "%31s %63s %255s", fstype, source, opts) < 2) {
            continue;
        }
        if (h == LOOM_CGROUP_V2 ? strcmp(fstype, "cgroup2") != 0
                                : strcmp(fstype, "cgroup") != 0
                                  || !has_token(opts, controller)) {
            continue;
        }
        /* id parent major:minor root mount-point ... */
        if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, dir) == 2) {
            found = 0;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}


int
loom_cgroup_dir(loom_cgroup_e h, const char *controller, char *dir,
                size_t *top)
{
    char group[LOOM_CGROUP_PATH], mnt[LOOM_CGROUP_PATH];
    char root[LOOM_CGROUP_PATH];
    const char *rel = group;

    if (own_group(h, controller, group, sizeof(group)) != 0
        || mount_of(h, controller, mnt, root) != 0) {
        return -1;
    }
    if (strcmp(root, "/") != 0) {
        size_t n = strlen(root);

        rel = strncmp(group, root, n) == 0 ? group + n : "";
    }
    if (snprintf(dir, LOOM_CGROUP_PATH, "%s%s", mnt, rel)
        >= LOOM_CGROUP_PATH) {
        return -1;
    }
    *top = strlen(mnt);
    return 0;
}


int
loom_cgroup_up(char *dir, size_t top)
{
    char *slash = strrchr(dir, '/');

    if (strlen(dir) <= top || slash == NULL || slash < dir + top) {
        return -1;
    }
    *slash = '\0';
    return 0;
}


int
loom_cgroup_read(const char *path, char *buf, size_t size)
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
