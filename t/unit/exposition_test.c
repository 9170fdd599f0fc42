/* Prometheus's two text formats (modules/core/exposition.c). promtool and
 * a real Prometheus read the real endpoint in t/status/metrics.t. */
#include "unit.h"
#include "../../modules/core/exposition.c"

static apr_pool_t *
pool(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    return p;
}

static const char *
sample_text(int openmetrics)
{
    loom_exposition_t x;

    loom_expo_init(&x, pool(), openmetrics);
    loom_expo_family(&x, "loom_requests", LOOM_COUNTER, NULL, "Requests.");
    loom_expo_sample(&x, NULL, 7);
    loom_expo_family(&x, "loom_backoff_seconds", LOOM_GAUGE, "seconds", "B.");
    loom_expo_sample_real(&x, "a=\"b\"", 1.5);
    loom_expo_family(&x, "loom_mpm", LOOM_INFO, NULL, "Which.");
    loom_expo_sample(&x, "model=\"event\"", 1);
    return loom_expo_end(&x);
}

UNIT_TEST(the_older_format_names_a_counter_family_as_its_samples)
{
    const char *t = sample_text(0);

    UNIT_TRUE(strstr(t, "# TYPE loom_requests_total counter\n"
                        "# HELP loom_requests_total Requests.\n"
                        "loom_requests_total 7\n") == t);
    UNIT_TRUE(strstr(t, "# UNIT") == NULL);
    UNIT_TRUE(strstr(t, "# TYPE loom_mpm_info gauge\n") != NULL);
    UNIT_TRUE(strstr(t, "# EOF") == NULL);
}

UNIT_TEST(openmetrics_names_the_family_bare_with_units_and_an_eof)
{
    const char *t = sample_text(1);

    UNIT_TRUE(strstr(t, "# TYPE loom_requests counter\n"
                        "# HELP loom_requests Requests.\n"
                        "loom_requests_total 7\n") == t);
    UNIT_TRUE(strstr(t, "# TYPE loom_backoff_seconds gauge\n"
                        "# UNIT loom_backoff_seconds seconds\n") != NULL);
    UNIT_TRUE(strstr(t, "loom_backoff_seconds{a=\"b\"} 1.500000\n") != NULL);
    UNIT_TRUE(strstr(t, "# TYPE loom_mpm info\n") != NULL);
    UNIT_TRUE(strstr(t, "loom_mpm_info{model=\"event\"} 1\n") != NULL);
    UNIT_EQ(strcmp(t + strlen(t) - 6, "# EOF\n"), 0);
}

UNIT_TEST(the_buffer_grows_past_its_first_size)
{
    loom_exposition_t x;
    int i;

    loom_expo_init(&x, pool(), 0);
    loom_expo_family(&x, "loom_x", LOOM_GAUGE, NULL, "X.");
    for (i = 0; i < 5000; i++) {
        loom_expo_sample(&x, "slot=\"12345\"", (uint64_t) i);
    }
    loom_expo_end(&x);
    UNIT_EQ(x.len, strlen(x.buf));
    UNIT_TRUE(strstr(x.buf, "loom_x{slot=\"12345\"} 4999\n") != NULL);
}

UNIT_TEST(prometheus_accept_header_asks_for_openmetrics)
{
    UNIT_EQ(loom_expo_wants_openmetrics(
        "application/openmetrics-text;version=1.0.0,application/"
        "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
        "q=0.5,*/*;q=0.1"), 1);
    UNIT_EQ(loom_expo_wants_openmetrics("*/*"), 0);
    UNIT_EQ(loom_expo_wants_openmetrics(NULL), 0);
}
