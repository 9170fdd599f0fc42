/* Each server's time for a request head (see event_headtime.h). */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include "loom/config.h"
#include "loom/conftree.h"
#include "loom/headtime.h"
#include "loom/mpm.h"

/* Each server's stage is kept in the loaded model's per-server slot,
 * which no Loom model uses otherwise. */
static module *
slot_owner(void)
{
    return loom_mpm_ops()->module;
}

/* mod_reqtimeout's header stage when it is loaded and nothing sets it:
 * 20 s, extended by 1 s per 500 bytes received, up to 40 s. */
static const loom_headtime_t reqtimeout_default = { 20, 40, 500 };
static const loom_headtime_t no_limit = { 0, 0, 0 };


/* A whole non-negative number, with the directives' own parser. */
static int
whole(const char *s, int *out)
{
    return loom_cfg_parse_int(s, out) == 0 && *out >= 0;
}


/* One "header=..." value, cut up in place: "T", or "T-M" or "T" followed
 * by ",MinRate=R". mod_reqtimeout refused anything else when it read the
 * configuration. */
static int
parse_value(char *v, loom_headtime_t *h)
{
    loom_headtime_t got = { 0, 0, 0 };
    char *rate = strcasestr(v, ",minrate=");
    char *dash;

    if (rate != NULL) {
        *rate = '\0';
        if (!whole(rate + strlen(",minrate="), &got.min_rate)) {
            return 0;
        }
        if ((dash = strchr(v, '-')) != NULL) {
            *dash = '\0';
            if (!whole(dash + 1, &got.max_s)) {
                return 0;
            }
        }
    }
    if (!whole(v, &got.first_s)) {
        return 0;
    }
    *h = got;
    return 1;
}


int
loom_headtime_parse(const char *args, loom_headtime_t *h)
{
    char word[256];
    int found = 0;

    while (*args) {
        size_t n = strcspn(args, " \t");

        if (n > 0 && n < sizeof(word)) {
            memcpy(word, args, n);
            word[n] = '\0';
            if (strncasecmp(word, "header=", 7) == 0
                && parse_value(word + 7, h)) {
                found = 1;         /* the last one counts, as for the module */
            }
        }
        args += n;
        args += strspn(args, " \t");
    }
    return found;
}


static loom_headtime_t *
own_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, slot_owner());
}


/* One RequestReadTimeout line: the last that sets the header stage of a
 * server counts, as it does for the module. */
static void
take_line(server_rec *s, const char *args, void *pconf)
{
    loom_headtime_t h;
    loom_headtime_t *own;

    if (!loom_headtime_parse(args, &h)) {
        return;
    }
    own = own_of(s);
    if (own == NULL) {
        own = apr_palloc(pconf, sizeof(*own));
        ap_set_module_config(s->module_config, slot_owner(), own);
    }
    *own = h;
}


void
loom_headtime_setup(apr_pool_t *pconf, server_rec *main_server)
{
    const loom_headtime_t *base;
    server_rec *s;

    /* The slots may still hold the previous generation's values. */
    for (s = main_server; s != NULL; s = s->next) {
        ap_set_module_config(s->module_config, slot_owner(), NULL);
    }
    if (ap_find_linked_module("mod_reqtimeout.c") == NULL) {
        return;
    }
    loom_conftree_each("RequestReadTimeout", main_server, take_line, pconf);
    /* A virtual host that sets nothing has the main server's stage. */
    base = own_of(main_server);
    if (base == NULL) {
        ap_set_module_config(main_server->module_config,
                             slot_owner(),
                             (void *) &reqtimeout_default);
        base = &reqtimeout_default;
    }
    for (s = main_server->next; s != NULL; s = s->next) {
        if (own_of(s) == NULL) {
            ap_set_module_config(s->module_config, slot_owner(),
                                 (void *) base);
        }
    }
}


const loom_headtime_t *
loom_headtime_of(server_rec *s)
{
    const loom_headtime_t *h = own_of(s);

    return h != NULL ? h : &no_limit;
}


uint64_t
loom_headtime_due(const loom_headtime_t *h, uint64_t since_ms, int bytes)
{
    uint64_t ms;

    if (h->first_s <= 0) {
        return UINT64_MAX;
    }
    ms = (uint64_t) h->first_s * 1000;
    if (h->min_rate > 0 && bytes > 0) {
        ms += (uint64_t) bytes * 1000 / (uint64_t) h->min_rate;
        if (h->max_s > 0 && ms > (uint64_t) h->max_s * 1000) {
            ms = (uint64_t) h->max_s * 1000;
        }
    }
    return since_ms + ms;
}
