/* The process's own control group, for what Loom sizes from its limits
 * (loom/cpus.h, loom/memory.h): which directory holds it in a hierarchy,
 * and its ancestors up to that hierarchy's root, whose limits bind it too.
 *
 * Threads: any. Reads /proc and /sys; allocates nothing. */
#ifndef LOOM_CGROUP_H
#define LOOM_CGROUP_H

#include <stddef.h>

#define LOOM_CGROUP_PATH 1024

/* The hierarchies a limit can be in. */
typedef enum { LOOM_CGROUP_V2, LOOM_CGROUP_V1 } loom_cgroup_e;

/* The directory of the process's own group in hierarchy `h`, where v1
 * means the hierarchy that holds `controller` ("cpu", "memory"), into
 * `dir` (LOOM_CGROUP_PATH bytes), and in *top the length of the
 * hierarchy's mount point (the walk up stops there). 0, or -1 when the
 * process has no such group or it is not mounted. */
int loom_cgroup_dir(loom_cgroup_e h, const char *controller, char *dir,
                    size_t *top);

/* Moves `dir` to its parent group: 0, or -1 when it was the top. */
int loom_cgroup_up(char *dir, size_t top);

/* Reads a small file whole into `buf` as a string: 0, or -1. */
int loom_cgroup_read(const char *path, char *buf, size_t size);

#endif
