/* See memory.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "loom/cgroup.h"
#include "loom/figures.h"
#include "loom/log.h"
#include "loom/memory.h"
#include "loom/tags.h"

/* How long a child runs before its PSS says what a child costs. */
#define SETTLE apr_time_from_sec(1)

/* v1 writes "no limit" as the largest page-aligned long; anything this
 * big is none. */
#define NO_LIMIT_ABOVE (UINT64_C(1) << 60)
#define MB(b) ((double) (b) / (1024.0 * 1024.0))


uint64_t
loom_memory_of_limit(const char *text)
{
    char *end;
    unsigned long long v;

    if (strncmp(text, "max", 3) == 0) {
        return 0;
    }
    v = strtoull(text, &end, 10);
    if (end == text || (*end != '\0' && *end != '\n')) {
        return 0;
    }
    return v >= NO_LIMIT_ABOVE ? 0 : (uint64_t) v;
}


/* The `field` line ("Pss:") of an smaps_rollup, in bytes; 0 if none. */
static uint64_t
rollup_field(const char *text, const char *field)
{
    const char *line = strstr(text, field);
    unsigned long long kb;

    if (line == NULL || sscanf(line + strlen(field), "%llu", &kb) != 1) {
        return 0;
    }
    return (uint64_t) kb * 1024;
}


int
loom_memory_of_rollup(const char *text, uint64_t *pss, uint64_t *own)
{
    *pss = rollup_field(text, "\nPss:");
    *own = rollup_field(text, "\nPrivate_Clean:")
           + rollup_field(text, "\nPrivate_Dirty:");
    return *pss > 0 ? 0 : -1;
}


static int
measure(pid_t pid, uint64_t *pss, uint64_t *own)
{
    char path[64], text[2048];

    snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long) pid);
    *pss = *own = 0;
    return loom_cgroup_read(path, text, sizeof(text)) == 0
           ? loom_memory_of_rollup(text, pss, own) : -1;
}


/* The tightest limit of hierarchy `h` from the process's group up, kept
 * in `out` when tighter than what is there. */
static void
tightest_limit(loom_cgroup_e h, loom_memory_t *out)
{
    char dir[LOOM_CGROUP_PATH], file[LOOM_CGROUP_PATH + 32], text[64];
    size_t top;

    if (loom_cgroup_dir(h, "memory", dir, &top) != 0) {
        return;
    }
    do {
        uint64_t v;

        snprintf(file, sizeof(file), "%s/%s", dir, h == LOOM_CGROUP_V2
                 ? "memory.max" : "memory.limit_in_bytes");
        v = loom_cgroup_read(file, text, sizeof(text)) == 0
            ? loom_memory_of_limit(text) : 0;
        if (v > 0 && (out->limit == 0 || v < out->limit)) {
            out->limit = v;
            snprintf(out->limit_from, sizeof(out->limit_from), "%.*s",
                     (int) sizeof(out->limit_from) - 1, file);
        }
    } while (loom_cgroup_up(dir, top) == 0);
}


static uint64_t
mem_total(void)
{
    char text[4096];
    const char *line;
    unsigned long long kb;

    if (loom_cgroup_read("/proc/meminfo", text, sizeof(text)) != 0
        || (line = strstr(text, "MemTotal:")) == NULL
        || sscanf(line + 9, "%llu", &kb) != 1) {
        return 0;
    }
    return (uint64_t) kb * 1024;
}


void
loom_memory_probe(loom_state_t *st, loom_memory_t *out)
{
    loom_retained_t *r = st->retained;
    apr_time_t settled = apr_time_now() - SETTLE;
    uint64_t pss, own, fresh_own = 0;
    int i, fresh = 0;

    memset(out, 0, sizeof(*out));
    out->per_child = r->child_own_most;
    out->limit = mem_total();
    snprintf(out->limit_from, sizeof(out->limit_from), "/proc/meminfo");
    tightest_limit(LOOM_CGROUP_V2, out);
    tightest_limit(LOOM_CGROUP_V1, out);
    if (measure(getpid(), &pss, &own) == 0) {
        out->used = pss;
    }
    for (i = 0; i < r->max_slot_used; i++) {
        if (r->slots[i].pid == 0 || measure(r->slots[i].pid, &pss, &own) != 0) {
            continue;
        }
        out->children++;
        out->used += pss;
        if (r->slots[i].started > settled) {
            fresh++;
            fresh_own += own;
        }
        else if (own > out->per_child) {
            out->per_child = own;
        }
    }
    r->child_own_most = out->per_child;
    /* A child just forked shares nearly all its pages with the parent:
     * what it will take of its own shows only once it has run, so a fresh
     * one counts as much of its own as the largest settled one has. */
    if ((uint64_t) fresh * out->per_child > fresh_own) {
        out->used += (uint64_t) fresh * out->per_child - fresh_own;
    }
}


/* loom_memory_room's answer, with its log lines. */
static int
decide_room(loom_state_t *st)
{
    loom_retained_t *r = st->retained;
    int share = st->cfg->memory_share;
    loom_memory_t m;
    uint64_t allowed;
    int room;

    if (share <= 0) {
        return 1;
    }
    loom_memory_probe(st, &m);
    if (m.children == 0) {
        return 1;       /* the first always: without one, nothing is served */
    }
    if (m.per_child == 0) {
        return 0;       /* none has run long enough to say what one costs */
    }
    allowed = m.limit / 100 * (uint64_t) share;
    /* Once stopped, room for two before it starts one again: PSS moves a
     * little from look to look, and a server at the mark would otherwise
     * start and stop, and say so, over and over. */
    room = m.limit == 0
           || m.used + m.per_child * (r->memory_capped ? 2 : 1) <= allowed;
    if (!room && !r->memory_capped) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     LOOMNO(0419) "not starting another child: the server "
                     "uses %.1f MB (the PSS of the parent and %d children), "
                     "and one more, with the %.1f MB of its own that a "
                     "child has, would pass the %.1f MB that "
                     "LoomMemoryShare %d%% allows of %.1f MB (%s)",
                     MB(m.used), m.children, MB(m.per_child), MB(allowed),
                     share, MB(m.limit), m.limit_from);
    }
    else if (room && r->memory_capped) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     LOOMNO(0420) "the server may start children again: "
                     "%.1f MB used of the %.1f MB LoomMemoryShare allows",
                     MB(m.used), MB(allowed));
    }
    r->memory_capped = !room;
    return room;
}


int
loom_memory_room(loom_state_t *st)
{
    int room = decide_room(st);

    loom_figures_parent_memory_capped(!room);
    return room;
}
