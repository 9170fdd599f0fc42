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

/* mod_reqtimeout's stages when it is loaded and nothing sets them: the
 * header has 20 s, extended by 1 s per 500 bytes received, up to 40 s;
 * the handshake has none (only Timeout bounds it). */
static const loom_headtime_t stage_default[LOOM_STAGES] = {
    [LOOM_STAGE_HEADER]    = { 20, 40, 500 },
    [LOOM_STAGE_HANDSHAKE] = { 0, 0, 0 },
};
static const loom_headtime_t no_limit = { 0, 0, 0 };
static const char *const stage_key[LOOM_STAGES] = {
    [LOOM_STAGE_HEADER]    = "header=",
    [LOOM_STAGE_HANDSHAKE] = "handshake=",
};

/* One server's stages, and which of them its own lines set. */
typedef struct server_stages {
    loom_headtime_t stage[LOOM_STAGES];
    int             set[LOOM_STAGES];
} server_stages_t;


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
loom_headtime_parse(const char *args, loom_stage_e stage, loom_headtime_t *h)
{
    const char *key = stage_key[stage];
    size_t keylen = strlen(key);
    char word[256];
    int found = 0;

    while (*args) {
        size_t n = strcspn(args, " \t");

        if (n > 0 && n < sizeof(word)) {
            memcpy(word, args, n);
            word[n] = '\0';
            if (strncasecmp(word, key, keylen) == 0
                && parse_value(word + keylen, h)) {
                found = 1;         /* the last one counts, as for the module */
            }
        }
        args += n;
        args += strspn(args, " \t");
    }
    return found;
}


static server_stages_t *
own_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, slot_owner());
}


static server_stages_t *
own_or_new(server_rec *s, apr_pool_t *pconf)
{
    server_stages_t *own = own_of(s);

    if (own == NULL) {
        own = apr_pcalloc(pconf, sizeof(*own));
        ap_set_module_config(s->module_config, slot_owner(), own);
    }
    return own;
}


/* One RequestReadTimeout line: for each stage, the last line that sets it
 * for a server counts, as it does for the module. */
static void
take_line(server_rec *s, const char *args, void *pconf)
{
    loom_headtime_t h;
    int i;

    for (i = 0; i < LOOM_STAGES; i++) {
        if (loom_headtime_parse(args, (loom_stage_e) i, &h)) {
            server_stages_t *own = own_or_new(s, pconf);

            own->stage[i] = h;
            own->set[i] = 1;
        }
    }
}


/* Stages `own` does not set come from `from`. */
static void
inherit(server_stages_t *own, const loom_headtime_t *from)
{
    int i;

    for (i = 0; i < LOOM_STAGES; i++) {
        if (!own->set[i]) {
            own->stage[i] = from[i];
        }
    }
}


void
loom_headtime_setup(apr_pool_t *pconf, server_rec *main_server)
{
    server_stages_t *base;
    server_rec *s;

    /* The slots may still hold the previous generation's values. */
    for (s = main_server; s != NULL; s = s->next) {
        ap_set_module_config(s->module_config, slot_owner(), NULL);
    }
    if (ap_find_linked_module("mod_reqtimeout.c") == NULL) {
        return;
    }
    loom_conftree_each("RequestReadTimeout", main_server, take_line, pconf);
    /* A virtual host has the main server's stages where it sets none. */
    base = own_or_new(main_server, pconf);
    inherit(base, stage_default);
    for (s = main_server->next; s != NULL; s = s->next) {
        inherit(own_or_new(s, pconf), base->stage);
    }
}


const loom_headtime_t *
loom_headtime_of(server_rec *s, loom_stage_e stage)
{
    const server_stages_t *own = own_of(s);

    return own != NULL ? &own->stage[stage] : &no_limit;
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
