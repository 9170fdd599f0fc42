/* A request head's time from mod_reqtimeout's header stage
 * (modules/core/headtime.c): reading RequestReadTimeout's
 * arguments, the deadline with the MinRate extension, and which server
 * each line of a configuration tree sets. */
#include "unit.h"
#include "../../modules/core/conftree.c"
#include "../../modules/core/number.c"
#include "../../modules/core/headtime.c"
#include "conftree_fixture.h"

/* What the file needs from httpd and the core, for a tree built here. */
static module self;
static loom_mpm_ops_t ops = { .module = &self };

const loom_mpm_ops_t *
loom_mpm_ops(void)
{
    return &ops;
}

ap_directive_t *ap_conftree;
static int reqtimeout_loaded = 1;
static module reqtimeout_stub;

module *
ap_find_linked_module(const char *name)
{
    return reqtimeout_loaded && strcmp(name, "mod_reqtimeout.c") == 0
           ? &reqtimeout_stub : NULL;
}

static loom_headtime_t
parsed_stage(const char *args, loom_stage_e stage, int *found)
{
    loom_headtime_t h = { -1, -1, -1 };

    *found = loom_headtime_parse(args, stage, &h);
    return h;
}

static loom_headtime_t
parsed(const char *args, int *found)
{
    return parsed_stage(args, LOOM_STAGE_HEADER, found);
}

static int
first_s(server_rec *s, loom_stage_e stage)
{
    return loom_headtime_of(s, stage)->first_s;
}

UNIT_TEST(the_header_stage_is_read_in_each_form)
{
    int found;
    loom_headtime_t h;

    h = parsed("header=20-40,MinRate=500", &found);
    UNIT_EQ(found, 1);
    UNIT_EQ(h.first_s, 20);
    UNIT_EQ(h.max_s, 40);
    UNIT_EQ(h.min_rate, 500);
    h = parsed("HEADER=5", &found);
    UNIT_EQ(found, 1);
    UNIT_EQ(h.first_s, 5);
    UNIT_EQ(h.max_s, 0);
    UNIT_EQ(h.min_rate, 0);
    h = parsed("handshake=2 header=3,minrate=10 body=4", &found);
    UNIT_EQ(found, 1);
    UNIT_EQ(h.first_s, 3);
    UNIT_EQ(h.max_s, 0);
    UNIT_EQ(h.min_rate, 10);
    h = parsed("header=0", &found);      /* switched off */
    UNIT_EQ(found, 1);
    UNIT_EQ(h.first_s, 0);
}

UNIT_TEST(other_stages_and_junk_set_nothing_and_the_last_line_counts)
{
    int found;
    loom_headtime_t h;

    h = parsed("body=10,MinRate=500 handshake=5", &found);
    UNIT_EQ(found, 0);
    UNIT_EQ(h.first_s, -1);              /* untouched */
    h = parsed("header=abc", &found);
    UNIT_EQ(found, 0);
    h = parsed("header=2 header=7", &found);
    UNIT_EQ(found, 1);
    UNIT_EQ(h.first_s, 7);
}

UNIT_TEST(the_handshake_stage_is_read_apart_from_the_header_stage)
{
    int found;
    loom_headtime_t h;

    h = parsed_stage("handshake=5-15,MinRate=1000 header=3", LOOM_STAGE_HANDSHAKE,
                     &found);
    UNIT_EQ(found, 1);
    UNIT_EQ(h.first_s, 5);
    UNIT_EQ(h.max_s, 15);
    UNIT_EQ(h.min_rate, 1000);
    h = parsed_stage("header=20-40,MinRate=500", LOOM_STAGE_HANDSHAKE, &found);
    UNIT_EQ(found, 0);
    UNIT_EQ(h.first_s, -1);
}

UNIT_TEST(received_bytes_extend_the_time_up_to_its_cap)
{
    loom_headtime_t deflt = { 20, 40, 500 }, fixed = { 5, 0, 0 }, off = { 0, 0, 0 };

    UNIT_EQ(loom_headtime_due(&deflt, 1000, 0), 21000);
    UNIT_EQ(loom_headtime_due(&deflt, 1000, 5000), 31000);   /* +10 s */
    UNIT_EQ(loom_headtime_due(&deflt, 1000, 20000), 41000);  /* capped */
    UNIT_EQ(loom_headtime_due(&fixed, 1000, 100000), 6000);  /* no rate */
    UNIT_TRUE(loom_headtime_due(&off, 1000, 0) == UINT64_MAX);
}

UNIT_TEST(each_line_sets_its_own_server_and_the_rest_inherit)
{
    /* main: header=8; vhost at a.conf:10 sets header=3; vhost at
     * a.conf:20 sets only the body stage and so has the main server's. */
    two_hosts_t t = two_hosts("RequestReadTimeout", "header=8 body=4",
                              "header=3", "body=9");
    server_rec *main_server = t.main_server, *v1 = t.v1, *v2 = t.v2;
    ap_directive_t *vh2 = t.vh2;
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    loom_headtime_setup(p, main_server);
    UNIT_EQ(first_s(main_server, LOOM_STAGE_HEADER), 8);
    UNIT_EQ(first_s(v1, LOOM_STAGE_HEADER), 3);
    UNIT_EQ(first_s(v2, LOOM_STAGE_HEADER), 8);
    UNIT_EQ(first_s(v1, LOOM_STAGE_HANDSHAKE), 0);   /* none by default */

    /* Nothing set: mod_reqtimeout's own defaults, 20-40 s at 500 B/s. */
    ap_conftree = vh2;
    vh2->next = NULL;
    loom_headtime_setup(p, main_server);
    UNIT_EQ(first_s(main_server, LOOM_STAGE_HEADER), 20);
    UNIT_EQ(loom_headtime_of(v1, LOOM_STAGE_HEADER)->max_s, 40);
    UNIT_EQ(loom_headtime_of(v2, LOOM_STAGE_HEADER)->min_rate, 500);

    /* Without mod_reqtimeout, no server has a header stage. */
    reqtimeout_loaded = 0;
    ap_conftree = t.top;
    loom_headtime_setup(p, main_server);
    UNIT_EQ(first_s(main_server, LOOM_STAGE_HEADER), 0);
    UNIT_EQ(first_s(v1, LOOM_STAGE_HEADER), 0);
}

UNIT_TEST(each_stage_is_inherited_on_its_own)
{
    /* main sets the handshake stage only; a vhost sets its header stage:
     * it keeps the main server's handshake stage, and the other vhost has
     * the default header stage with the main server's handshake stage. */
    two_hosts_t t = two_hosts("RequestReadTimeout", "handshake=6",
                              "header=3", "body=9");
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    reqtimeout_loaded = 1;
    loom_headtime_setup(p, t.main_server);
    UNIT_EQ(first_s(t.main_server, LOOM_STAGE_HANDSHAKE), 6);
    UNIT_EQ(first_s(t.main_server, LOOM_STAGE_HEADER), 20);
    UNIT_EQ(first_s(t.v1, LOOM_STAGE_HEADER), 3);
    UNIT_EQ(first_s(t.v1, LOOM_STAGE_HANDSHAKE), 6);
    UNIT_EQ(first_s(t.v2, LOOM_STAGE_HEADER), 20);
    UNIT_EQ(first_s(t.v2, LOOM_STAGE_HANDSHAKE), 6);
}


