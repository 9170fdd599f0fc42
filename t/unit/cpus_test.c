/* CPUs from a cgroup quota (modules/core/cpus.c). The probe itself is
 * tested under a real cgroup by t/event/cpus.t. */
#include "unit.h"
#include "../../modules/core/cgroup.c"
#include "../../modules/core/cpus.c"

UNIT_TEST(a_quota_is_whole_cpus_rounded_up)
{
    UNIT_EQ(loom_cpus_of_quota(100000, 100000), 1);
    UNIT_EQ(loom_cpus_of_quota(150000, 100000), 2);
    UNIT_EQ(loom_cpus_of_quota(50000, 100000), 1);
    UNIT_EQ(loom_cpus_of_quota(400000, 100000), 4);
}

UNIT_TEST(no_quota_or_nonsense_is_no_limit)
{
    UNIT_EQ(loom_cpus_of_quota(-1, 100000), 0);     /* v1: unlimited */
    UNIT_EQ(loom_cpus_of_quota(100000, 0), 0);
    UNIT_EQ(loom_cpus_of_quota(0, 100000), 0);
}

UNIT_TEST(cgroup_v2_cpu_max_is_read)
{
    UNIT_EQ(loom_cpus_of_cpu_max("max 100000\n"), 0);
    UNIT_EQ(loom_cpus_of_cpu_max("200000 100000\n"), 2);
    UNIT_EQ(loom_cpus_of_cpu_max("250000 100000"), 3);
    UNIT_EQ(loom_cpus_of_cpu_max("junk"), 0);
    UNIT_EQ(loom_cpus_of_cpu_max("12x 100000"), 0);
    UNIT_EQ(loom_cpus_of_cpu_max(""), 0);
}

UNIT_TEST(the_probe_counts_at_least_one_and_never_more_than_the_mask)
{
    loom_cpus_t c;
    char line[400];

    loom_cpus_probe(&c);
    UNIT_TRUE(c.count >= 1);
    UNIT_TRUE(c.count <= c.affinity);
    UNIT_TRUE(c.quota == 0 || c.count == (c.quota < c.affinity ? c.quota : c.affinity));
    UNIT_TRUE(strstr(loom_cpus_describe(&c, line, sizeof(line)), "affinity mask") != NULL);
}

