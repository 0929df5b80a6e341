/*
 * The stateless engine: every enabled rule's pattern in the match_set of its
 * source (id = index into the engine's rule table), then per matching rule its check, its
 * templates and one detection; then the list detectors (threat, Tor) and the
 * trusted list that silences an event altogether.
 *
 * Immutable after detect_engine_new; detect_event keeps all per-event state in
 * the caller's scratch, so one engine serves any number of threads.
 */
#include "detect/detect_int.h"
#include "match/match.h"

#include <stdlib.h>
#include <string.h>

#define RENDER_MAX 4096
#define JOIN_MAX 8

struct detect_engine {
    const struct detect_rules *rules;
    const struct detect_rule **rule; /* enabled rules; match id = index */
    size_t n;
    /* One automaton per event source: an event only visits the patterns of
     * the rules that read its source (a flow line never walks CloudTrail
     * patterns), and a source without rules is not matched at all. */
    struct match_set *ms[EVENT_SOURCE_COUNT];
    size_t n_src[EVENT_SOURCE_COUNT]; /* rules per source */
    const struct detect_lists *lists;
};

struct detect_scratch {
    struct match_scratch *ms[EVENT_SOURCE_COUNT];
    struct arena arena;
    struct buf buf;
    const struct json_value *rec; /* ev->raw parsed, once per event, for checks */
    bool rec_tried;
};

/* ---- build ----------------------------------------------------------------- */

int detect_engine_new(const struct detect_rules *rules, const struct detect_options *opt,
                      struct detect_engine **out, struct err *err)
{
    struct detect_engine *e = xcalloc(1, sizeof(*e));
    e->rules = rules;
    e->lists = opt ? opt->lists : NULL;
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        e->ms[k] = match_set_new();
    size_t total = detect_rules_count(rules);
    e->rule = xcalloc(total ? total : 1, sizeof(*e->rule));
    for (size_t i = 0; i < total; i++) {
        const struct detect_rule *r = detect_rules_get(rules, i);
        if (!r->enabled)
            continue;
        struct err me;
        err_clear(&me);
        if ((unsigned)r->source >= EVENT_SOURCE_COUNT ||
            match_set_add(e->ms[r->source], r->pattern, strlen(r->pattern), (uint32_t)e->n,
                          &me) != 0) {
            if ((unsigned)r->source >= EVENT_SOURCE_COUNT)
                err_set(&me, ERR_USAGE, "unknown source");
            err_set(err, ERR_USAGE, "rule \"%s\": invalid pattern: %s", r->id, me.msg);
            err_where(err, r->file, 0, 0);
            detect_engine_free(e);
            return ERR_USAGE;
        }
        e->n_src[r->source]++;
        e->rule[e->n++] = r;
    }
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        match_set_build(e->ms[k]);
    *out = e;
    return 0;
}

void detect_engine_free(struct detect_engine *e)
{
    if (!e)
        return;
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        match_set_free(e->ms[k]);
    free(e->rule);
    free(e);
}

size_t detect_engine_rule_count(const struct detect_engine *e) { return e->n; }

static void add_path(struct json_pathset *ps, const char *p)
{
    json_pathset_add(ps, p, strlen(p));
}

/* Leaves the list detectors and default keys read. */
static const char *const list_paths[] = {
    "sourceIPAddress", "eventName", "eventSource", "managementEvent", "eventCategory",
    "userIdentity.accessKeyId", "userIdentity.arn", "userIdentity.type",
    "requestParameters.bucketName", "requestParameters.instanceId",
    "srcaddr", "dstaddr", "action", "instance-id", "interface-id",
    "query_name", "srcids.instance", NULL
};

static void tmpl_paths(const struct tmpl *t, struct json_pathset *ps)
{
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; t->segs[i].kind == TMPL_PATH && k < t->segs[i].n_alt; k++)
            if (!t->segs[i].alt[k].literal)
                json_pathset_add(ps, t->segs[i].alt[k].p, t->segs[i].alt[k].len);
}

void detect_engine_paths(const struct detect_engine *e, struct json_pathset *ps)
{
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        match_set_paths(e->ms[k], ps);
    for (size_t i = 0; list_paths[i]; i++)
        add_path(ps, list_paths[i]);
    for (size_t i = 0; i < e->n; i++) {
        const struct detect_rule *r = e->rule[i];
        tmpl_paths(detect__rule_title(r), ps);
        tmpl_paths(detect__rule_desc(r), ps);
        if (r->key)
            add_path(ps, r->key);
        /* Checks read ev->raw, not leaves (detect_int.h): no paths. */
    }
}

/* ---- scratch ---------------------------------------------------------------- */

struct detect_scratch *detect_scratch_new(void)
{
    struct detect_scratch *s = xcalloc(1, sizeof(*s));
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        s->ms[k] = match_scratch_new();
    arena_init(&s->arena, 0);
    buf_init(&s->buf, 0);
    return s;
}

void detect_scratch_free(struct detect_scratch *s)
{
    if (!s)
        return;
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        match_scratch_free(s->ms[k]);
    arena_free(&s->arena);
    buf_free(&s->buf);
    free(s);
}

/* ---- leaves ----------------------------------------------------------------- */

/* Value of a leaf as text: strings decoded, numbers and booleans as written;
 * false for null and empty containers. */
static bool leaf_text(const struct json_leaf *l, struct arena *a, struct sv *out)
{
    switch (l->type) {
    case JSON_STRING:
        *out = json_leaf_str(l, a);
        return out->p != NULL || out->len == 0;
    case JSON_NUMBER:
    case JSON_TRUE:
    case JSON_FALSE:
        *out = sv_make(l->val, l->val_len);
        return true;
    default:
        return false;
    }
}

static bool leaf_path_is(const struct json_leaf *l, uint64_t h, const char *p, size_t len)
{
    return l->path_hash == h && l->path_len == len && memcmp(l->path, p, len) == 0;
}

/* First textual value at path, or SV_NULL. */
static struct sv first_value(const struct event *ev, const char *p, size_t len, struct arena *a)
{
    uint64_t h = json_path_hash(p, len);
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        struct sv v;
        if (leaf_path_is(l, h, p, len) && leaf_text(l, a, &v))
            return v;
    }
    return SV_NULL;
}

static struct sv value(const struct event *ev, const char *p, struct arena *a)
{
    return first_value(ev, p, strlen(p), a);
}

static const struct json_leaf *leaf_at(const struct event *ev, const char *p)
{
    size_t len = strlen(p);
    uint64_t h = json_path_hash(p, len);
    for (size_t i = 0; i < ev->flat.n; i++)
        if (leaf_path_is(&ev->flat.leaves[i], h, p, len))
            return &ev->flat.leaves[i];
    return NULL;
}

/* ---- rendering ---------------------------------------------------------------- */

/* Appends up to the render cap; a cut never splits a UTF-8 sequence. */
static void put(struct buf *b, const char *p, size_t len)
{
    if (b->len >= RENDER_MAX)
        return;
    size_t room = RENDER_MAX - b->len;
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)p[len] & 0xC0) == 0x80)
            len--;
    }
    if (buf_append(b, p, len) != 0)
        return;
}

/* Appends the distinct values at one path, joined; false when there are none. */
static bool render_alt(struct buf *b, const struct event *ev, const char *p, size_t len,
                       uint64_t hash, struct arena *a)
{
    struct sv seen[JOIN_MAX];
    size_t n = 0;
    for (size_t i = 0; i < ev->flat.n && n < JOIN_MAX; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        struct sv v;
        if (!leaf_path_is(l, hash, p, len) || !leaf_text(l, a, &v))
            continue;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = sv_eq(seen[k], v);
        if (dup)
            continue;
        if (n > 0)
            put(b, ", ", 2);
        put(b, v.p ? v.p : "", v.len);
        seen[n++] = v;
    }
    return n > 0;
}

static void render_path(struct buf *b, const struct event *ev, const struct tmpl_seg *seg,
                        struct arena *a)
{
    for (size_t k = 0; k < seg->n_alt; k++) {
        if (seg->alt[k].literal) {
            put(b, seg->alt[k].p + 1, seg->alt[k].len - 2);
            return;
        }
        if (render_alt(b, ev, seg->alt[k].p, seg->alt[k].len, seg->alt[k].hash, a))
            return;
    }
    put(b, "unknown", 7);
}

static const char *render(struct detect_scratch *s, const struct tmpl *t, const struct event *ev,
                          const char *detail)
{
    buf_reset(&s->buf);
    for (size_t i = 0; i < t->n; i++) {
        const struct tmpl_seg *seg = &t->segs[i];
        switch (seg->kind) {
        case TMPL_TEXT:
            put(&s->buf, seg->text, seg->len);
            break;
        case TMPL_PATH:
            render_path(&s->buf, ev, seg, &s->arena);
            break;
        case TMPL_DETAIL:
            if (detail)
                put(&s->buf, detail, strlen(detail));
            else
                put(&s->buf, "unknown", 7);
            break;
        }
    }
    if (s->buf.len >= RENDER_MAX)
        put(&s->buf, "...", 3);
    return arena_strndup(&s->arena, s->buf.p ? s->buf.p : "", s->buf.len);
}

/* ---- keys -------------------------------------------------------------------- */

static struct sv or_unknown(struct sv v) { return v.len ? v : SV("unknown"); }

static struct sv instance_key(const struct event *ev, struct arena *a)
{
    struct sv v = SV_NULL;
    switch (ev->source) {
    case EVENT_CLOUDTRAIL:
        v = value(ev, "requestParameters.instanceId", a);
        break;
    case EVENT_DNS:
        v = value(ev, "srcids.instance", a);
        break;
    case EVENT_VPCFLOW:
        v = value(ev, "instance-id", a);
        if (v.len == 0 || sv_eq_cstr(v, "-"))
            v = value(ev, "interface-id", a);
        break;
    default:
        break;
    }
    return or_unknown(v);
}

static struct sv default_key(enum detect_resource res, const struct event *ev, struct arena *a)
{
    switch (res) {
    case DETECT_RES_ACCESS_KEY:
        if (ev->access_key.len)
            return ev->access_key;
        if (ev->principal_arn.len)
            return ev->principal_arn;
        return or_unknown(value(ev, "userIdentity.arn", a));
    case DETECT_RES_S3_BUCKET:
        return or_unknown(value(ev, "requestParameters.bucketName", a));
    case DETECT_RES_INSTANCE:
        return instance_key(ev, a);
    }
    return SV("unknown");
}

/* ---- rules ------------------------------------------------------------------- */

static const struct json_value *record_tree(struct detect_scratch *s, const struct event *ev)
{
    if (!s->rec_tried) {
        s->rec_tried = true;
        if (ev->raw.p && ev->raw.len) {
            struct json_value *v = NULL;
            struct err e;
            err_clear(&e);
            if (json_parse(ev->raw.p, ev->raw.len, &s->arena, &v, &e) == 0)
                s->rec = v;
        }
    }
    return s->rec;
}

static size_t run_rules(const struct detect_engine *e, struct detect_scratch *s,
                        const struct event *ev, detect_emit_fn emit, void *ctx)
{
    const uint32_t *ids = NULL;
    if ((unsigned)ev->source >= EVENT_SOURCE_COUNT || e->n_src[ev->source] == 0)
        return 0;
    size_t n = match_event(e->ms[ev->source], &ev->flat, s->ms[ev->source], &ids);
    size_t emitted = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= e->n)
            continue;
        const struct detect_rule *r = e->rule[ids[i]];
        if (r->source != ev->source)
            continue;
        struct detect_check_ctx cx = { .ev = ev, .arena = &s->arena };
        const struct detect_check *c = detect__rule_check(r);
        if (c) {
            cx.rec = record_tree(s, ev);
            if (!cx.rec || !c->fn(&cx))
                continue;
        }
        struct detection d = {
            .rule_id = r->id,
            .type = r->type,
            .severity = cx.severity > 0 ? cx.severity : r->severity,
            .resource = r->resource,
            .ev = ev,
            .rule = r,
            .detail = cx.detail,
        };
        d.title = render(s, detect__rule_title(r), ev, cx.detail);
        d.description = render(s, detect__rule_desc(r), ev, cx.detail);
        d.key = r->key ? or_unknown(value(ev, r->key, &s->arena))
                       : default_key(r->resource, ev, &s->arena);
        emit(ctx, &d);
        emitted++;
    }
    return emitted;
}

/* ---- lists ------------------------------------------------------------------- */

static bool sv_ip(struct sv s, struct ipaddr *ip) { return s.len && ip_parse(s, ip); }

/* Whether list k holds any address (domain): lookups on an empty list, and
 * finding the leaves they would look up, are skipped. */
static bool has_ips(const struct detect_engine *e, enum detect_list_kind k)
{
    const struct iplist *l = detect__lists_ips(e->lists, k);
    return l != NULL && iplist_count(l) != 0;
}

static bool has_doms(const struct detect_engine *e, enum detect_list_kind k)
{
    const struct domlist *l = detect__lists_doms(e->lists, k);
    return l != NULL && domlist_count(l) != 0;
}

/* An address parsed at most once per event, and only if some list needs it. */
struct ipcache {
    struct sv addr;
    bool tried, ok;
    struct ipaddr ip;
};

static bool ip_listed_c(const struct detect_engine *e, enum detect_list_kind k,
                        struct ipcache *c, const char **tag)
{
    if (!has_ips(e, k))
        return false;
    const struct iplist *l = detect__lists_ips(e->lists, k);
    if (!c->tried) {
        c->tried = true;
        c->ok = sv_ip(c->addr, &c->ip);
    }
    if (!c->ok)
        return false;
    *tag = iplist_lookup(l, &c->ip);
    return *tag != NULL;
}

static bool ip_listed(const struct detect_engine *e, enum detect_list_kind k, struct sv addr,
                      const char **tag)
{
    struct ipcache c = { .addr = addr };
    return ip_listed_c(e, k, &c, tag);
}

static bool dom_listed(const struct detect_engine *e, enum detect_list_kind k, struct sv name,
                       const char **tag)
{
    if (!has_doms(e, k) || name.len == 0)
        return false;
    const struct domlist *l = detect__lists_doms(e->lists, k);
    *tag = domlist_lookup(l, name);
    return *tag != NULL;
}

static bool trusted(const struct detect_engine *e, const struct event *ev, struct ipcache *src,
                    struct arena *a)
{
    const char *tag;
    switch (ev->source) {
    case EVENT_CLOUDTRAIL:
        return ip_listed_c(e, DETECT_LIST_TRUSTED, src, &tag);
    case EVENT_VPCFLOW:
        return has_ips(e, DETECT_LIST_TRUSTED) &&
               (ip_listed(e, DETECT_LIST_TRUSTED, value(ev, "srcaddr", a), &tag) ||
                ip_listed(e, DETECT_LIST_TRUSTED, value(ev, "dstaddr", a), &tag));
    case EVENT_DNS:
        return has_doms(e, DETECT_LIST_TRUSTED) &&
               dom_listed(e, DETECT_LIST_TRUSTED, value(ev, "query_name", a), &tag);
    default:
        return false;
    }
}

static bool has_prefix(struct sv s, const char *p) { return sv_starts_with(s, sv_cstr(p)); }

/* GuardDuty's "recon" APIs: the ones that list or describe resources. */
static bool recon_api(struct sv name)
{
    return has_prefix(name, "List") || has_prefix(name, "Describe") || has_prefix(name, "Get");
}

/* S3 discovery calls (GuardDuty's Discovery:S3 examples: GetObjectAcl,
 * ListObjects) as opposed to reading or changing data. */
static bool s3_discovery_api(struct sv name)
{
    if (has_prefix(name, "List") || has_prefix(name, "Head") || has_prefix(name, "GetBucket"))
        return true;
    return has_prefix(name, "Get") && (sv_ends_with(name, SV("Acl")) ||
                                       sv_ends_with(name, SV("Tagging")) ||
                                       sv_ends_with(name, SV("Attributes")));
}

static bool s3_data_event(const struct event *ev)
{
    if (!sv_eq_cstr(ev->event_source, "s3.amazonaws.com"))
        return false;
    if (ev->event_category.len)
        return sv_eq_cstr(ev->event_category, "Data");
    /* Records older than eventCategory (1.07) still say managementEvent. */
    const struct json_leaf *m = leaf_at(ev, "managementEvent");
    return m && m->type == JSON_FALSE;
}

struct list_hit {
    const char *rule_id;
    const char *type;
    double severity;
    enum detect_resource res;
};

static void emit_list(struct detect_scratch *s, const struct event *ev, const struct list_hit *h,
                      const char *tag, struct sv indicator, struct sv key, const char *title,
                      const char *desc, detect_emit_fn emit, void *ctx)
{
    struct detection d = {
        .rule_id = h->rule_id,
        .type = h->type,
        .severity = h->severity,
        .title = title,
        .description = desc,
        .resource = h->res,
        .key = key,
        .threat_list = tag,
        .indicator = indicator,
        .ev = ev,
    };
    (void)s;
    emit(ctx, &d);
}

static size_t lists_cloudtrail(const struct detect_engine *e, struct detect_scratch *s,
                               const struct event *ev, struct ipcache *src, detect_emit_fn emit,
                               void *ctx)
{
    size_t emitted = 0;
    struct arena *a = &s->arena;
    struct sv name = ev->event_name;
    for (int k = DETECT_LIST_THREAT; k <= DETECT_LIST_TOR; k++) {
        const char *tag;
        if (!ip_listed_c(e, (enum detect_list_kind)k, src, &tag))
            continue;
        /* Only for a listed caller: most events stop at the lookup. */
        bool s3 = s3_data_event(ev);
        bool recon = s3 ? s3_discovery_api(name) : recon_api(name);
        struct sv who = or_unknown(ev->principal_arn.len ? ev->principal_arn
                                                         : value(ev, "userIdentity.arn", a));
        struct list_hit h;
        if (k == DETECT_LIST_THREAT) {
            if (s3)
                h = recon ? (struct list_hit){ "threatlist-s3-discovery",
                                               "Discovery:S3/MaliciousIPCaller.Custom", 8.0,
                                               DETECT_RES_S3_BUCKET }
                          : (struct list_hit){ "threatlist-s3-access",
                                               "UnauthorizedAccess:S3/MaliciousIPCaller.Custom",
                                               8.0, DETECT_RES_S3_BUCKET };
            else
                h = recon ? (struct list_hit){ "threatlist-iam-recon",
                                               "Recon:IAMUser/MaliciousIPCaller.Custom", 5.0,
                                               DETECT_RES_ACCESS_KEY }
                          : (struct list_hit){ "threatlist-iam-api",
                                               "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
                                               5.0, DETECT_RES_ACCESS_KEY };
        } else {
            if (s3)
                h = recon ? (struct list_hit){ "torlist-s3-discovery", "Discovery:S3/TorIPCaller",
                                               5.0, DETECT_RES_S3_BUCKET }
                          : (struct list_hit){ "torlist-s3-access",
                                               "UnauthorizedAccess:S3/TorIPCaller", 8.0,
                                               DETECT_RES_S3_BUCKET };
            else
                h = recon ? (struct list_hit){ "torlist-iam-recon", "Recon:IAMUser/TorIPCaller",
                                               5.0, DETECT_RES_ACCESS_KEY }
                          : (struct list_hit){ "torlist-iam-api",
                                               "UnauthorizedAccess:IAMUser/TorIPCaller", 5.0,
                                               DETECT_RES_ACCESS_KEY };
        }
        const char *where = k == DETECT_LIST_TOR ? "a Tor exit node" : "an IP address";
        const char *title = detect__afmt(a, "API %.*s was invoked from %s on the list %s.",
                                         (int)name.len, name.p ? name.p : "", where, tag);
        const char *desc = detect__afmt(
            a, "API %.*s (%.*s) was invoked by %.*s from %.*s, which is on the %s list %s.",
            (int)name.len, name.p ? name.p : "", (int)ev->event_source.len,
            ev->event_source.p ? ev->event_source.p : "", (int)who.len, who.p,
            (int)ev->src_ip.len, ev->src_ip.p, k == DETECT_LIST_TOR ? "Tor exit" : "threat", tag);
        emit_list(s, ev, &h, tag, ev->src_ip, default_key(h.res, ev, a), title, desc, emit, ctx);
        emitted++;
    }
    return emitted;
}

static size_t lists_flow(const struct detect_engine *e, struct detect_scratch *s,
                         const struct event *ev, detect_emit_fn emit, void *ctx)
{
    struct arena *a = &s->arena;
    if (!has_ips(e, DETECT_LIST_THREAT))
        return 0;
    /* A connection that happened: rejected probes from listed hosts would
     * otherwise raise a finding on every instance they scan. */
    if (!sv_eq_cstr(value(ev, "action", a), "ACCEPT"))
        return 0;
    const char *tag = NULL;
    struct sv remote = value(ev, "dstaddr", a);
    const char *dir = "outbound to";
    if (!ip_listed(e, DETECT_LIST_THREAT, remote, &tag)) {
        remote = value(ev, "srcaddr", a);
        dir = "inbound from";
        if (!ip_listed(e, DETECT_LIST_THREAT, remote, &tag))
            return 0;
    }
    static const struct list_hit h = { "threatlist-ec2-flow",
                                       "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", 5.0,
                                       DETECT_RES_INSTANCE };
    struct sv key = instance_key(ev, a);
    const char *title = detect__afmt(a, "EC2 instance %.*s is communicating %s %.*s on the list %s.",
                                     (int)key.len, key.p, dir, (int)remote.len, remote.p, tag);
    struct sv port = value(ev, "dstport", a);
    const char *desc = detect__afmt(
        a, "EC2 instance %.*s has an accepted connection %s %.*s (destination port %.*s), an "
           "address on the threat list %s.",
        (int)key.len, key.p, dir, (int)remote.len, remote.p, (int)port.len,
        port.p ? port.p : "", tag);
    emit_list(s, ev, &h, tag, remote, key, title, desc, emit, ctx);
    return 1;
}

static size_t lists_dns(const struct detect_engine *e, struct detect_scratch *s,
                        const struct event *ev, detect_emit_fn emit, void *ctx)
{
    struct arena *a = &s->arena;
    if (!has_doms(e, DETECT_LIST_THREAT))
        return 0;
    struct sv q = value(ev, "query_name", a);
    const char *tag;
    if (!dom_listed(e, DETECT_LIST_THREAT, q, &tag))
        return 0;
    static const struct list_hit h = { "threatlist-ec2-dns",
                                       "Impact:EC2/MaliciousDomainRequest.Custom", 5.0,
                                       DETECT_RES_INSTANCE };
    struct sv key = instance_key(ev, a);
    const char *title = detect__afmt(a, "EC2 instance %.*s queried %.*s, a domain on the list %s.",
                                     (int)key.len, key.p, (int)q.len, q.p, tag);
    const char *desc = detect__afmt(
        a, "EC2 instance %.*s (source %.*s) queried the domain %.*s, which is on the threat list "
           "%s.",
        (int)key.len, key.p, (int)ev->src_ip.len, ev->src_ip.p ? ev->src_ip.p : "", (int)q.len,
        q.p, tag);
    emit_list(s, ev, &h, tag, q, key, title, desc, emit, ctx);
    return 1;
}

size_t detect_event(const struct detect_engine *e, struct detect_scratch *s,
                    const struct event *ev, detect_emit_fn emit, void *ctx)
{
    arena_reset(&s->arena);
    s->rec = NULL;
    s->rec_tried = false;
    struct ipcache src = { .addr = ev->src_ip };
    if (e->lists && trusted(e, ev, &src, &s->arena))
        return 0;
    size_t n = run_rules(e, s, ev, emit, ctx);
    if (!e->lists)
        return n;
    switch (ev->source) {
    case EVENT_CLOUDTRAIL:
        n += lists_cloudtrail(e, s, ev, &src, emit, ctx);
        break;
    case EVENT_VPCFLOW:
        n += lists_flow(e, s, ev, emit, ctx);
        break;
    case EVENT_DNS:
        n += lists_dns(e, s, ev, emit, ctx);
        break;
    default:
        break;
    }
    return n;
}
