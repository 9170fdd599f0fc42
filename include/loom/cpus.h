/* How many CPUs a child may use, for whatever Loom sizes from CPUs
 * (loom_event's gate): the CPUs its affinity mask allows, bounded by the
 * CPU quota of its cgroup, so that a container limited to 2 CPUs on a
 * 64-CPU host sizes for 2. The quota is cgroup v2's cpu.max or v1's
 * cpu.cfs_quota_us over cpu.cfs_period_us, the tightest from the process's
 * own group up to the hierarchy's root, rounded up to whole CPUs.
 *
 * Threads: any. The probe reads /proc and /sys and allocates nothing. */
#ifndef LOOM_CPUS_H
#define LOOM_CPUS_H

typedef struct loom_cpus {
    int  count;             /* what to size for; at least 1 */
    int  affinity;          /* CPUs in the affinity mask */
    int  quota;             /* CPUs the quota allows; 0: no quota found */
    char quota_from[240];   /* the file that set the quota */
} loom_cpus_t;

/* Probes the calling process. */
void loom_cpus_probe(loom_cpus_t *out);

/* `quota` microseconds of CPU time per `period` as whole CPUs, rounded
 * up; 0 when there is no limit (a negative quota, v1's "-1") or the
 * figures make no sense. */
int loom_cpus_of_quota(long long quota, long long period);

/* A cgroup v2 cpu.max ("max 100000", "150000 100000") as whole CPUs,
 * rounded up; 0 when it sets no limit or cannot be read. */
int loom_cpus_of_cpu_max(const char *text);

/* One line for the log: "N CPUs (affinity mask: A; cgroup quota: Q, from
 * FILE)" into buf. */
const char *loom_cpus_describe(const loom_cpus_t *c, char *buf, int size);

#endif
