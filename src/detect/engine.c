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
#include "geo/geo.h"
#include "input/input.h"
#include "match/match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_MAX 4096
#define JOIN_MAX 8

/* Match ids: the rule index for a rule's pattern; for the stateful rules'
 * other patterns the srule index with the role in the top byte. */
#define ID_ROLE_SHIFT 24
#define ID_STEP 2u          /* sequence step s (1..7): role ID_STEP + s - 1 */

#define DG_TESTS 64

#define SRC_AUTO 1u /* detect_engine.src_mode */
#define SRC_XR 2u

struct detect_engine {
    const struct detect_rules *rules;
    const struct detect_rule **rule; /* enabled rules; match id = index */
    size_t n;
    /* One automaton per event source: an event only visits the patterns of
     * the rules that read its source (a flow line never walks CloudTrail
     * patterns), and a source without rules is not matched at all. */
    struct match_set *ms[EVENT_SOURCE_COUNT];
    size_t n_src[EVENT_SOURCE_COUNT]; /* rules per source with patterns to match */
    /* Stateful rules whose whole pattern is `{P: [{exists: true}]}` for one
     * record path P (the DNS rules' query_name): not in the automaton, whose
     * visit cost a Resolver line ~230 instructions for what one scan of the
     * leaves decides. Per source, by rule index (match ids are ascending, and
     * these are merged into them in order). */
    struct xrule {
        uint32_t idx;   /* rule index: its match id */
        uint32_t len;
        uint64_t hash;  /* json_path_hash of path */
        char *path;
        bool same;      /* the same path as the source's previous xrule */
    } *xr[EVENT_SOURCE_COUNT];
    size_t n_xr[EVENT_SOURCE_COUNT];
    size_t n_auto[EVENT_SOURCE_COUNT]; /* n_src but the xrules: the automaton has work */
    /* Per source: SRC_AUTO when n_auto, SRC_XR when n_xr (one test on the
     * path of every line, the sources without either's included). */
    uint8_t src_mode[EVENT_SOURCE_COUNT];
    /* Stateful rules without a pattern: every event of the source is theirs
     * to filter with `where`, without visiting the automaton. */
    uint32_t *always[EVENT_SOURCE_COUNT];
    size_t n_always[EVENT_SOURCE_COUNT];
    const struct detect_lists *lists;
    /* stateful rules */
    int32_t *srule_of;      /* rule index -> srule index, -1 for match rules */
    struct srule *sr;
    size_t n_sr;
    struct sunit *units;
    size_t n_units;
    struct match_set *where_ms; /* `where` patterns over derived leaves; id = srule index */
    struct fwatoms *atoms;      /* the fields of all direct `where`/`when` forms */
    struct fwgate *gate[EVENT_SOURCE_COUNT]; /* over the classes of `always` (flows) */
    /* With a gate: always[gate_lo[b] .. gate_lo[b + 1]) are the rules of gate bit b. */
    size_t gate_lo[EVENT_SOURCE_COUNT][65];
    uint32_t *always_cls[EVENT_SOURCE_COUNT];   /* always[k]'s where class */
    int8_t *always_gb[EVENT_SOURCE_COUNT];      /* always[k]'s gate bit */
    int8_t *gate_bit;           /* per srule: its class's bit in the gate, or -1 */
    /* Per unit (flow new_value units): a gate over its rules' `when`, bit k
     * for the unit's rule k; NULL entries: none. */
    struct fwgate **ugate;
    /* DNS: the `where` classes of the stateful rules made only of tests on
     * derived booleans (a query's exfil_label, dga, aws_domain; most
     * queries fail them all), decided together when the line first hits
     * such a rule, so that a rule whose `where` fails is neither marked nor
     * stepped. Test k reads derived field dg[k].dv for class bit dg[k].bit
     * (class dg_cls[bit]); dg_bit per srule: its class's bit, or -1 (not
     * decided here: the evaluator does, as before). */
    struct dgtest {
        int dv;
        uint8_t bres; /* the answers for false, true, absent (bits 0, 1, 2) */
        uint8_t bit;
    } dg[DG_TESTS];
    size_t n_dg;
    uint32_t dg_cls[64];
    size_t n_dg_cls;
    int8_t *dg_bit;
    struct fwindex **uwix; /* per unit: its `when`s over one record field, or NULL */
    bool dns_entropy;           /* some DNS rule reads $entropy */
    struct match_set *when_ms;  /* `when` patterns over record + derived leaves; id = srule index */
    /* Per source: some rule's where / when names a derived field, so the
     * automaton must see the derived leaves (else the record's are enough). */
    bool where_derived[EVENT_SOURCE_COUNT], when_derived[EVENT_SOURCE_COUNT];
    struct snap_filter *snapf;
    int64_t learning_override;
    bool insights; /* detect_options.insights */
    const struct input_options *input;
    const struct geo_db *geo;
};

/* What a flow line whose held `where` classes are a given set feeds: the
 * units, in the order run_stateful would take them, each with what the
 * touched-rule loop would have worked out (its first rule, the rules fed
 * without a `when`, those whose `when` is left to test). The set of
 * classes takes few values on real traffic, so the plans are made once per
 * set and per thread instead of once per line. */
struct ustep {
    uint32_t si;     /* the unit's first rule the event touched */
    uint32_t mask;   /* rule bits fed without a `when` (or the kind's role bits) */
    uint32_t whens;  /* unit rule k (bit k): pattern held, its `when` to test */
};

#define UPLAN_SLOTS 128u /* a power of two; at most half of them are used */

struct uplans {
    const struct detect_engine *e; /* the plans' engine */
    uint64_t key[UPLAN_SLOTS];     /* held classes + 1 (0 = free slot) */
    uint32_t lo[UPLAN_SLOTS], n[UPLAN_SLOTS];
    /* The derived values the plan's captures read (the units' cap_dv
     * together), or UINT32_MAX when one needs them all. */
    uint32_t need[UPLAN_SLOTS];
    size_t used;
    struct ustep *steps;
    size_t n_steps, cap_steps;
};

struct detect_scratch {
    struct match_scratch *ms[EVENT_SOURCE_COUNT];
    struct match_scratch *wms;
    struct match_scratch *whs;
    struct json_flat both;        /* record + derived leaves, for `where` and `when` */
    bool both_done;
    struct arena arena;
    struct buf buf;
    struct buf kb, vb;
    const struct json_value *rec; /* ev->raw parsed, once per event, for checks */
    bool rec_tried;
    struct derived dv;            /* the event's derived fields, once per event */
    struct collector *col;
    struct detect_pool *pool;     /* the collectors' objects (pool.c) */
    struct geocache *gc;
    uint32_t *umask;              /* per srule: what the event matched (0 = nothing) */
    uint32_t *utouched;
    size_t n_umask;
    /* Per-event stamps (O(1) "already seen this event" tests): the unit done,
     * the srule whose `where` held. */
    uint64_t stamp, where_stamp, when_stamp;
    uint64_t *ustamp, *wstamp, *wok, *whstamp;
    struct fwcache fwc;           /* fields of the direct `where`/`when` forms tested */
    uint32_t *xids;               /* the automaton's ids merged with the xrules' */
    size_t cap_xids;
    struct uplans plans;          /* flows: the units each set of gate classes feeds */
};

/* ---- build ----------------------------------------------------------------- */

static void resolve(enum event_source src, const char *ref, struct fref *f)
{
    memset(f, 0, sizeof(*f));
    f->dv = -1;
    f->raw = -1;
    f->ct = FCT_NONE;
    if (ref[0] == '$') {
        f->dv = detect__derived_find(src, ref + 1, strlen(ref + 1));
        return;
    }
    const char *p = ref;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (f->n_alt < 4) {
            f->alt[f->n_alt] = p;
            f->len[f->n_alt] = (uint32_t)len;
            f->hash[f->n_alt] = json_path_hash(p, len);
            f->n_alt++;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    /* A flow field that derivation finds anyway (the flow reader gives each
     * field once): capture takes its leaf from there. */
    if (src == EVENT_VPCFLOW && f->n_alt == 1)
        f->raw = (int8_t)detect__flow_raw_find(f->alt[0], f->len[0]);
    /* A CloudTrail field the reader has already found: capture reads it there
     * (ct_ref_text) instead of scanning the record's leaves. */
    static const struct {
        const char *ref;
        int8_t ct;
    } ct_refs[] = {
        { "eventName", FCT_EVENT_NAME },
        { "eventSource", FCT_EVENT_SOURCE },
        { "awsRegion", FCT_REGION },
        { "sourceIPAddress", FCT_SRC_IP },
        { "errorCode", FCT_ERROR_CODE },
        { "userAgent", FCT_USER_AGENT },
        { "eventID", FCT_EVENT_ID },
        { "userIdentity.arn", FCT_ARN },
        { "userIdentity.type", FCT_TYPE },
        { "userIdentity.principalId", FCT_PRINCIPAL_ID },
        { "userIdentity.accessKeyId", FCT_ACCESS_KEY },
        { "eventCategory", FCT_CATEGORY },
        { "recipientAccountId|userIdentity.accountId", FCT_ACCOUNT },
    };
    if (src == EVENT_CLOUDTRAIL)
        for (size_t i = 0; i < sizeof(ct_refs) / sizeof(ct_refs[0]); i++)
            if (strcmp(ref, ct_refs[i].ref) == 0)
                f->ct = ct_refs[i].ct;
}

/* The key a stateful rule groups by when it names none: the resource's. */
static const char *default_group(enum event_source src)
{
    return src == EVENT_CLOUDTRAIL ? "$identity" : src == EVENT_S3ACCESS ? "bucket_name" : "$instance";
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* new_value rules that differ only in `when` (and their output) share history. */
static bool same_feed(const struct detect_rule *a, const struct detect_rule *b)
{
    return a->kind == DETECT_KIND_NEW_VALUE && b->kind == DETECT_KIND_NEW_VALUE &&
           a->source == b->source && same_str(a->pattern, b->pattern) &&
           same_str(a->where, b->where) && same_str(a->check, b->check) &&
           same_list(a->group_by, a->n_group_by, b->group_by, b->n_group_by) &&
           same_list(a->value, a->n_value, b->value, b->n_value) &&
           same_list(a->unusual, a->n_unusual, b->unusual, b->n_unusual) &&
           a->learning_ms == b->learning_ms;
}

static void snap_paths_of(struct snap_filter *f, const struct fref *r)
{
    for (unsigned k = 0; k < r->n_alt; k++)
        detect__snapf_add(f, r->alt[k], r->len[k]);
}

static void snap_tmpl_paths(struct snap_filter *f, const struct tmpl *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; t->segs[i].kind == TMPL_PATH && k < t->segs[i].n_alt; k++)
            if (!t->segs[i].alt[k].literal)
                detect__snapf_add(f, t->segs[i].alt[k].p, t->segs[i].alt[k].len);
}

/* Leaves a snapshot keeps whatever the rules: what findings show and what the
 * derived fields are computed from. */
static const char *const snap_base[] = {
    "requestParameters.bucketName", "requestParameters.instanceId",
    "requestParameters.instancesSet.items.instanceId", "userIdentity.invokedBy",
    "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action",
    "instance-id", "interface-id", "vpc-id", "subnet-id", "flow-direction", "tcp-flags",
    "start", "end", "account-id", "region",
    "query_name", "query_type", "rcode", "transport", "srcids.instance", "vpc_id",
    "firewall_rule_action", "answers.Rdata", "account_id", "query_timestamp",
    "bucket_name", "remoteip", "requester", "operation", "key", "httpstatus", "errorcode",
    "useragent", NULL
};

static int add_pat(struct detect_engine *e, const struct detect_rule *r, const char *pat,
                   uint32_t id, struct err *err)
{
    struct err me;
    err_clear(&me);
    if (match_set_add(e->ms[r->source], pat, strlen(pat), id, &me) != 0) {
        err_set(err, ERR_USAGE, "rule \"%s\": invalid pattern: %s", r->id, me.msg);
        err_where(err, r->file, 0, 0);
        return ERR_USAGE;
    }
    return 0;
}

static bool has_word(const char *s, const char *w) { return s && strstr(s, w); }

static bool list_has_word(const char *const *v, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (has_word(v[i], w))
            return true;
    return false;
}

/* Whether any text of r that can name a derived field contains w (a
 * superset of the rules that read it: good enough to skip computing it). */
static bool rule_mentions(const struct detect_rule *r, const char *w)
{
    return has_word(r->where, w) || has_word(r->when, w) || has_word(r->sum, w) ||
           has_word(r->distinct, w) || has_word(r->key, w) || has_word(r->title, w) ||
           has_word(r->description, w) || has_word(r->pattern, w) ||
           list_has_word(r->group_by, r->n_group_by, w) || list_has_word(r->value, r->n_value, w) ||
           list_has_word(r->unusual, r->n_unusual, w) || list_has_word(r->then, r->n_then, w);
}

/* Whether an object of a pattern has a key naming a derived field of src
 * (derived leaves are top-level names; "$or" holds more such objects). */
static bool obj_names_derived(enum event_source src, const struct json_value *o)
{
    if (o->type != JSON_OBJECT)
        return false;
    for (size_t i = 0; i < o->n; i++) {
        const struct json_value *m = &o->items[i];
        if (strcmp(m->key, "$or") == 0 && m->type == JSON_ARRAY) {
            for (size_t k = 0; k < m->n; k++)
                if (obj_names_derived(src, &m->items[k]))
                    return true;
        } else if (detect__derived_find(src, m->key, m->key_len) >= 0) {
            return true;
        }
    }
    return false;
}

/* Whether pattern (valid: the automaton accepted it) names a derived field;
 * true when it cannot be read, to stay on the safe side. */
static bool names_derived(enum event_source src, const char *pattern)
{
    struct arena a;
    arena_init(&a, 4096);
    struct json_value *root = NULL;
    bool r = json_parse(pattern, strlen(pattern), &a, &root, NULL) != 0 ||
             obj_names_derived(src, root);
    arena_free(&a);
    return r;
}

/* The path P when pattern is exactly {P: [{"exists": true}]}, P given as
 * nested one-member objects of plain keys (no dot, no '$': what the path set
 * selects and the automaton would read), in arena; else NULL. */
static const char *exists_only_path(const char *pattern, struct arena *a)
{
    struct json_value *root = NULL;
    if (json_parse(pattern, strlen(pattern), a, &root, NULL) != 0)
        return NULL;
    const struct json_value *v = root;
    struct buf path;
    buf_init(&path, 64);
    const char *out = NULL;
    while (v->type == JSON_OBJECT && v->n == 1) {
        const struct json_value *m = &v->items[0];
        if (m->key_len == 0 || m->key[0] == '$' || memchr(m->key, '.', m->key_len) ||
            memchr(m->key, '\0', m->key_len))
            break;
        if ((path.len && buf_append(&path, ".", 1) != 0) ||
            buf_append(&path, m->key, m->key_len) != 0)
            break;
        if (m->type == JSON_ARRAY) {
            const struct json_value *x = m->n == 1 ? &m->items[0] : NULL;
            const struct json_value *op =
                x && x->type == JSON_OBJECT && x->n == 1 ? x->items : NULL;
            if (op && op->key_len == 6 && memcmp(op->key, "exists", 6) == 0 &&
                op->type == JSON_TRUE)
                out = arena_strndup(a, path.p, path.len);
            break;
        }
        v = m;
    }
    buf_free(&path);
    return out;
}

/* The derived values unit u's capture reads (struct sunit's cap_dv). */
static uint32_t cap_values(const struct sunit *u)
{
    const struct srule *c = u->first;
    if (c->r->source != EVENT_VPCFLOW)
        return UINT32_MAX;
    uint32_t m = 1u << DVF_INSTANCE;
    const struct fref *one[] = { c->has_distinct ? &c->distinct : NULL,
                                 c->has_sum ? &c->sum : NULL };
    for (size_t k = 0; k < c->n_group; k++)
        m |= c->group[k].dv >= 0 ? 1u << c->group[k].dv : 0;
    for (size_t k = 0; k < c->n_value; k++)
        m |= c->value[k].dv >= 0 ? 1u << c->value[k].dv : 0;
    for (size_t k = 0; k < c->n_unusual; k++)
        m |= c->unusual[k].dv >= 0 ? 1u << c->unusual[k].dv : 0;
    for (size_t k = 0; k < 2; k++)
        m |= one[k] && one[k]->dv >= 0 ? 1u << one[k]->dv : 0;
    return (m & ~detect__flow_some_vals()) ? UINT32_MAX : m;
}

static int build_stateful(struct detect_engine *e, struct err *err)
{
    e->where_ms = match_set_new();
    e->when_ms = match_set_new();
    e->snapf = detect__snapf_new();
    for (size_t i = 0; snap_base[i]; i++)
        detect__snapf_add(e->snapf, snap_base[i], strlen(snap_base[i]));
    e->srule_of = xcalloc(e->n ? e->n : 1, sizeof(*e->srule_of));
    e->sr = xcalloc(e->n ? e->n : 1, sizeof(*e->sr));
    e->units = xcalloc(e->n ? e->n : 1, sizeof(*e->units));
    for (size_t i = 0; i < e->n; i++) {
        const struct detect_rule *r = e->rule[i];
        e->srule_of[i] = -1;
        if (r->kind == DETECT_KIND_MATCH)
            continue;
        uint32_t si = (uint32_t)e->n_sr++;
        struct srule *sr = &e->sr[si];
        e->srule_of[i] = (int32_t)si;
        if (!r->pattern) {
            e->always[r->source] = xrealloc(e->always[r->source],
                                            (e->n_always[r->source] + 1) * sizeof(uint32_t));
            e->always[r->source][e->n_always[r->source]++] = si;
        }
        sr->r = r;
        sr->rule_index = (uint32_t)i;
        sr->where_id = -1;
        if (r->n_group_by == 0) {
            resolve(r->source, default_group(r->source), &sr->group[0]);
            sr->n_group = 1;
        }
        for (size_t k = 0; k < r->n_group_by && k < 8; k++)
            resolve(r->source, r->group_by[k], &sr->group[sr->n_group++]);
        for (size_t k = 0; k < r->n_value && k < 4; k++)
            resolve(r->source, r->value[k], &sr->value[sr->n_value++]);
        for (size_t k = 0; k < r->n_unusual && k < UNUSUAL_MAX; k++)
            resolve(r->source, r->unusual[k], &sr->unusual[sr->n_unusual++]);
        if (r->distinct) {
            resolve(r->source, r->distinct, &sr->distinct);
            sr->has_distinct = true;
        }
        if (r->sum) {
            resolve(r->source, r->sum, &sr->sum);
            sr->has_sum = true;
        }
        const struct fref *all[] = { &sr->distinct, &sr->sum };
        for (size_t k = 0; k < sr->n_group; k++)
            snap_paths_of(e->snapf, &sr->group[k]);
        for (size_t k = 0; k < sr->n_value; k++)
            snap_paths_of(e->snapf, &sr->value[k]);
        for (size_t k = 0; k < sr->n_unusual; k++)
            snap_paths_of(e->snapf, &sr->unusual[k]);
        for (size_t k = 0; k < 2; k++)
            snap_paths_of(e->snapf, all[k]);
        snap_tmpl_paths(e->snapf, detect__rule_title(r));
        snap_tmpl_paths(e->snapf, detect__rule_desc(r));
        if (r->key && r->key[0] != '$') {
            struct fref kf;
            resolve(r->source, r->key, &kf);
            snap_paths_of(e->snapf, &kf);
        }
        /* The unit: a new one, or a new_value feed it shares. */
        uint32_t ui = (uint32_t)e->n_units;
        for (uint32_t k = 0; k < e->n_units; k++)
            if (e->units[k].n_rules < UNIT_RULES_MAX && same_feed(e->units[k].first->r, r)) {
                ui = k;
                break;
            }
        struct sunit *u = &e->units[ui];
        if (ui == e->n_units) {
            e->n_units++;
            u->kind = r->kind;
            u->first = sr;
            u->learning_ms = e->learning_override > 0 && r->learning_ms > 0 ? e->learning_override
                                                                            : r->learning_ms;
            u->insight = e->insights && r->kind == DETECT_KIND_RATE &&
                         r->insight != DETECT_INSIGHT_NONE;
            /* the pattern was added for this first rule only (detect_engine_new) */
            u->one_pattern = r->kind == DETECT_KIND_NEW_VALUE && r->pattern && r->n_then == 0;
        }
        sr->unit = ui;
        sr->bit = (uint32_t)u->n_rules;
        u->rules[u->n_rules++] = sr;
        if (r->when) {
            struct err me;
            err_clear(&me);
            if (match_set_add(e->when_ms, r->when, strlen(r->when), si, &me) != 0) {
                err_set(err, ERR_USAGE, "rule \"%s\": invalid when: %s", r->id, me.msg);
                return ERR_USAGE;
            }
            sr->has_when = true;
        }
        for (size_t k = 0; k < r->n_then; k++) {
            int rc = add_pat(e, r, r->then[k], ((ID_STEP + (uint32_t)k) << ID_ROLE_SHIFT) | si,
                             err);
            if (rc != 0)
                return rc;
        }
        sr->fwhere = detect__fwhere_compile(r->source, r->where);
        sr->fwhen = detect__fwhere_compile(r->source, r->when);
        /* Patterns left to the automata: do they need the derived leaves? */
        if ((unsigned)r->source < EVENT_SOURCE_COUNT) {
            if (r->where && !sr->fwhere && names_derived(r->source, r->where))
                e->where_derived[r->source] = true;
            if (r->when && !sr->fwhen && names_derived(r->source, r->when))
                e->when_derived[r->source] = true;
        }
        if (!e->atoms)
            e->atoms = detect__fwatoms_new();
        detect__fwhere_share(sr->fwhere, e->atoms, r->source);
        detect__fwhere_share(sr->fwhen, e->atoms, r->source);
        sr->where_class = si;
        for (uint32_t k = 0; k < si; k++)
            if (e->sr[k].r->source == r->source && r->where && e->sr[k].r->where &&
                strcmp(e->sr[k].r->where, r->where) == 0) {
                sr->where_class = k;
                break;
            }
        if (r->where) {
            struct err me;
            err_clear(&me);
            if (match_set_add(e->where_ms, r->where, strlen(r->where), si, &me) != 0) {
                err_set(err, ERR_USAGE, "rule \"%s\": invalid where: %s", r->id, me.msg);
                return ERR_USAGE;
            }
            sr->where_id = (int)si;
        }
    }
    /* Rules without a pattern in order of their `where` class, so that one
     * test serves a run of rules sharing it (run_rules). */
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++) {
        uint32_t *v = e->always[k];
        for (size_t i = 1; i < e->n_always[k]; i++)
            for (size_t j = i; j > 0 && e->sr[v[j - 1]].where_class > e->sr[v[j]].where_class; j--) {
                uint32_t t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
    }
    /* Flows: the gate over those classes. */
    e->gate_bit = xcalloc(e->n_sr ? e->n_sr : 1, sizeof(*e->gate_bit));
    memset(e->gate_bit, -1, (e->n_sr ? e->n_sr : 1) * sizeof(*e->gate_bit));
    const struct fwhere *gw[64];
    size_t ng = 0;
    uint32_t last = UINT32_MAX;
    for (size_t i = 0; i < e->n_always[EVENT_VPCFLOW]; i++) {
        uint32_t si = e->always[EVENT_VPCFLOW][i];
        uint32_t c = e->sr[si].where_class;
        if (c != last) {
            if (ng == 64)
                break;
            gw[ng++] = e->sr[c].where_id >= 0 ? e->sr[c].fwhere : NULL;
            last = c;
        }
        e->gate_bit[si] = (int8_t)(ng - 1);
    }
    if (ng == 64 && e->n_always[EVENT_VPCFLOW] > 0) { /* too many classes: no gate */
        memset(e->gate_bit, -1, e->n_sr * sizeof(*e->gate_bit));
    } else {
        e->gate[EVENT_VPCFLOW] = detect__fwgate_build(gw, ng);
        size_t *lo = e->gate_lo[EVENT_VPCFLOW];
        for (size_t b = 0; b <= ng; b++)
            lo[b] = e->n_always[EVENT_VPCFLOW];
        for (size_t i = e->n_always[EVENT_VPCFLOW]; i-- > 0;)
            lo[e->gate_bit[e->always[EVENT_VPCFLOW][i]]] = i;
    }
    for (size_t i = 0; i < e->n; i++)
        if (e->rule[i]->source == EVENT_DNS && rule_mentions(e->rule[i], "entropy"))
            e->dns_entropy = true;
    /* DNS: the classes the boolean gate decides (dns_gate). */
    e->dg_bit = xcalloc(e->n_sr ? e->n_sr : 1, sizeof(*e->dg_bit));
    memset(e->dg_bit, -1, (e->n_sr ? e->n_sr : 1) * sizeof(*e->dg_bit));
    for (size_t si = 0; si < e->n_sr; si++) {
        const struct srule *sr = &e->sr[si];
        if (sr->r->source != EVENT_DNS || sr->where_id < 0)
            continue;
        uint32_t c = sr->where_class;
        int b = -1;
        for (size_t k = 0; k < e->n_dg_cls && b < 0; k++)
            if (e->dg_cls[k] == c)
                b = (int)k;
        if (b < 0) {
            int dvi[DG_TESTS];
            uint8_t br[DG_TESTS];
            size_t nf = 0;
            if (e->n_dg_cls == 64 ||
                !detect__fwhere_bools(e->sr[c].fwhere, dvi, br, DG_TESTS - e->n_dg, &nf))
                continue;
            b = (int)e->n_dg_cls;
            e->dg_cls[e->n_dg_cls++] = c;
            for (size_t k = 0; k < nf; k++)
                e->dg[e->n_dg++] = (struct dgtest){ dvi[k], br[k], (uint8_t)b };
        }
        e->dg_bit[si] = (int8_t)b;
    }
    e->ugate = xcalloc(e->n_units ? e->n_units : 1, sizeof(*e->ugate));
    for (size_t ui = 0; ui < e->n_units; ui++) {
        const struct sunit *u = &e->units[ui];
        if (u->kind != DETECT_KIND_NEW_VALUE || u->first->r->source != EVENT_VPCFLOW)
            continue;
        const struct fwhere *uw[UNIT_RULES_MAX];
        bool any = false;
        for (size_t k = 0; k < u->n_rules; k++) {
            uw[k] = u->rules[k]->has_when ? u->rules[k]->fwhen : NULL;
            any = any || uw[k];
        }
        if (any)
            e->ugate[ui] = detect__fwgate_build(uw, u->n_rules);
    }
    for (size_t ui = 0; ui < e->n_units; ui++)
        e->units[ui].cap_dv = cap_values(&e->units[ui]);
    e->uwix = xcalloc(e->n_units ? e->n_units : 1, sizeof(*e->uwix));
    for (size_t ui = 0; ui < e->n_units; ui++) {
        const struct sunit *u = &e->units[ui];
        if (u->kind != DETECT_KIND_NEW_VALUE)
            continue;
        const char *wp[UNIT_RULES_MAX];
        for (size_t k = 0; k < u->n_rules; k++)
            wp[k] = u->rules[k]->has_when && !u->rules[k]->fwhen ? u->rules[k]->r->when : NULL;
        e->uwix[ui] = detect__fwindex_build(u->first->r->source, wp, u->n_rules);
    }
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++) {
        size_t na = e->n_always[k] ? e->n_always[k] : 1;
        e->always_cls[k] = xcalloc(na, sizeof(uint32_t));
        e->always_gb[k] = xcalloc(na, sizeof(int8_t));
        for (size_t i = 0; i < e->n_always[k]; i++) {
            e->always_cls[k][i] = e->sr[e->always[k][i]].where_class;
            e->always_gb[k][i] = e->gate_bit[e->always[k][i]];
        }
    }
    return 0;
}

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
    /* new_value rules of one unit (same_feed, as build_stateful groups
     * them) share one pattern: the unit's first rule's stands for all
     * (unit_step), so the automaton tests and reports it once. */
    uint32_t *feed_n = xcalloc(total ? total : 1, sizeof(*feed_n));
    for (size_t i = 0; i < total; i++) {
        const struct detect_rule *r = detect_rules_get(rules, i);
        if (!r->enabled)
            continue;
        struct err me;
        err_clear(&me);
        bool shared = false;
        if (r->pattern && r->kind == DETECT_KIND_NEW_VALUE && r->n_then == 0) {
            for (size_t j = 0; j < e->n && !shared; j++)
                if (feed_n[j] > 0 && feed_n[j] < UNIT_RULES_MAX && same_feed(e->rule[j], r)) {
                    feed_n[j]++;
                    shared = true;
                }
            if (!shared)
                feed_n[e->n] = 1;
        }
        const char *xp = NULL;
        bool diverted = false;
        struct arena xa;
        arena_init(&xa, 1024);
        if ((unsigned)r->source < EVENT_SOURCE_COUNT && r->pattern && !shared &&
            r->kind != DETECT_KIND_MATCH && r->n_then == 0 &&
            (xp = exists_only_path(r->pattern, &xa)) != NULL &&
            detect__derived_find(r->source, xp, strlen(xp)) < 0) {
            size_t k = e->n_xr[r->source]++;
            e->xr[r->source] = xrealloc(e->xr[r->source], (k + 1) * sizeof(*e->xr[0]));
            struct xrule *x = &e->xr[r->source][k];
            x->idx = (uint32_t)e->n;
            x->len = (uint32_t)strlen(xp);
            x->hash = json_path_hash(xp, x->len);
            x->path = xstrdup(xp);
            x->same = k > 0 && strcmp(e->xr[r->source][k - 1].path, xp) == 0;
            shared = true; /* not in the automaton */
            diverted = true;
        }
        arena_free(&xa);
        if ((unsigned)r->source >= EVENT_SOURCE_COUNT ||
            (r->pattern && !shared &&
             match_set_add(e->ms[r->source], r->pattern, strlen(r->pattern), (uint32_t)e->n,
                           &me) != 0)) {
            if ((unsigned)r->source >= EVENT_SOURCE_COUNT)
                err_set(&me, ERR_USAGE, "unknown source");
            err_set(err, ERR_USAGE, "rule \"%s\": invalid pattern: %s", r->id, me.msg);
            err_where(err, r->file, 0, 0);
            free(feed_n);
            detect_engine_free(e);
            return ERR_USAGE;
        }
        if (r->pattern || r->n_then) {
            e->n_src[r->source]++;
            e->n_auto[r->source] += !diverted || r->n_then > 0;
        }
        e->rule[e->n++] = r;
    }
    free(feed_n);
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        e->src_mode[k] =
            (uint8_t)((e->n_auto[k] > 0 ? SRC_AUTO : 0) | (e->n_xr[k] > 0 ? SRC_XR : 0));
    e->learning_override = opt ? opt->learning_ms : 0;
    e->insights = opt ? opt->insights : false;
    e->input = opt ? opt->input : NULL;
    e->geo = opt ? opt->geo : NULL;
    int rc = build_stateful(e, err);
    if (rc != 0) {
        detect_engine_free(e);
        return rc;
    }
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        match_set_build(e->ms[k]);
    match_set_build(e->where_ms);
    match_set_build(e->when_ms);
    *out = e;
    return 0;
}

void detect_engine_free(struct detect_engine *e)
{
    if (!e)
        return;
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++) {
        match_set_free(e->ms[k]);
        free(e->always[k]);
        for (size_t i = 0; i < e->n_xr[k]; i++)
            free(e->xr[k][i].path);
        free(e->xr[k]);
    }
    match_set_free(e->where_ms);
    match_set_free(e->when_ms);
    detect__snapf_free(e->snapf);
    for (size_t i = 0; i < e->n_sr; i++) {
        detect__fwhere_free(e->sr[i].fwhere);
        detect__fwhere_free(e->sr[i].fwhen);
    }
    detect__fwatoms_free(e->atoms);
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++) {
        detect__fwgate_free(e->gate[k]);
        free(e->always_cls[k]);
        free(e->always_gb[k]);
    }
    free(e->gate_bit);
    free(e->dg_bit);
    for (size_t i = 0; e->ugate && i < e->n_units; i++)
        detect__fwgate_free(e->ugate[i]);
    free(e->ugate);
    for (size_t i = 0; e->uwix && i < e->n_units; i++)
        detect__fwindex_free(e->uwix[i]);
    free(e->uwix);
    free(e->srule_of);
    free(e->sr);
    free(e->units);
    free(e->rule);
    free(e);
}

size_t detect_engine_stateful_count(const struct detect_engine *e) { return e->n_sr; }

size_t detect__engine_units(const struct detect_engine *e, const struct sunit **out)
{
    *out = e->units;
    return e->n_units;
}

const struct snap_filter *detect__engine_snapf(const struct detect_engine *e) { return e->snapf; }

size_t detect__engine_exists_rules(const struct detect_engine *e, enum event_source src)
{
    return (unsigned)src < EVENT_SOURCE_COUNT ? e->n_xr[src] : 0;
}
const struct input_options *detect__engine_input(const struct detect_engine *e) { return e->input; }

bool detect__engine_by_ref(const struct detect_engine *e, const struct event *ev)
{
    return e->input && ev->file && ev->record_no > 0 && strcmp(ev->file, "-") != 0;
}
const struct detect_lists *detect__engine_lists(const struct detect_engine *e) { return e->lists; }

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
    "query_name", "srcids.instance",
    /* derived fields' inputs (derive.c) */
    "userIdentity.invokedBy", "userIdentity.principalId", "srcport", "dstport", "protocol",
    "packets", "bytes", "flow-direction", NULL
};

/* A field reference's record paths (none for "$derived"). */
static void add_ref_paths(struct json_pathset *ps, const char *ref)
{
    if (ref[0] == '$')
        return;
    for (;;) {
        const char *bar = strchr(ref, '|');
        size_t len = bar ? (size_t)(bar - ref) : strlen(ref);
        json_pathset_add(ps, ref, len);
        if (!bar)
            return;
        ref = bar + 1;
    }
}

static void tmpl_paths(const struct tmpl *t, struct json_pathset *ps)
{
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; t->segs[i].kind == TMPL_PATH && k < t->segs[i].n_alt; k++)
            if (!t->segs[i].alt[k].literal)
                json_pathset_add(ps, t->segs[i].alt[k].p, t->segs[i].alt[k].len);
}

void detect_engine_paths(const struct detect_engine *e, struct json_pathset *ps)
{
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++) {
        match_set_paths(e->ms[k], ps);
        for (size_t i = 0; i < e->n_xr[k]; i++)
            add_path(ps, e->xr[k][i].path);
    }
    for (size_t i = 0; list_paths[i]; i++)
        add_path(ps, list_paths[i]);
    for (size_t i = 0; i < e->n; i++) {
        const struct detect_rule *r = e->rule[i];
        tmpl_paths(detect__rule_title(r), ps);
        tmpl_paths(detect__rule_desc(r), ps);
        if (r->key && r->key[0] != '$')
            add_ref_paths(ps, r->key);
        for (size_t k = 0; k < r->n_group_by; k++)
            add_ref_paths(ps, r->group_by[k]);
        for (size_t k = 0; k < r->n_value; k++)
            add_ref_paths(ps, r->value[k]);
        for (size_t k = 0; k < r->n_unusual; k++)
            add_ref_paths(ps, r->unusual[k]);
        if (r->sum)
            add_ref_paths(ps, r->sum);
        if (r->distinct)
            add_ref_paths(ps, r->distinct);
        /* Checks read ev->raw, not leaves (detect_int.h): no paths. */
    }
}

/* ---- scratch ---------------------------------------------------------------- */

struct detect_scratch *detect_scratch_new(void)
{
    struct detect_scratch *s = xcalloc(1, sizeof(*s));
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        s->ms[k] = match_scratch_new();
    s->wms = match_scratch_new();
    s->whs = match_scratch_new();
    json_flat_init(&s->both);
    arena_init(&s->arena, 0);
    buf_init(&s->buf, 0);
    buf_init(&s->kb, 4096);
    buf_init(&s->vb, 4096);
    s->pool = detect__pool_new();
    return s;
}

void detect_scratch_free(struct detect_scratch *s)
{
    if (!s)
        return;
    for (int k = 0; k < EVENT_SOURCE_COUNT; k++)
        match_scratch_free(s->ms[k]);
    match_scratch_free(s->wms);
    match_scratch_free(s->whs);
    json_flat_free(&s->both);
    arena_free(&s->arena);
    buf_free(&s->buf);
    buf_free(&s->kb);
    buf_free(&s->vb);
    detect__collector_free(s->col);
    detect__pool_free(s->pool); /* after its collector: see detect__pool_new */
    detect__geocache_free(s->gc);
    free(s->umask);
    free(s->utouched);
    free(s->ustamp);
    free(s->wstamp);
    free(s->wok);
    free(s->fwc.v);
    free(s->whstamp);
    free(s->plans.steps);
    free(s->xids);
    free(s);
}

struct collector *detect__scratch_collector(struct detect_scratch *s)
{
    if (!s->col)
        s->col = detect__collector_new(s->pool);
    return s->col;
}

struct detect_pool *detect__scratch_pool(struct detect_scratch *s) { return s->pool; }

struct collector *detect__scratch_take_collector(struct detect_scratch *s)
{
    struct collector *c = s->col;
    s->col = NULL;
    return c;
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

static void fmt_duration(struct buf *b, int64_t ms)
{
    static const struct { int64_t ms; const char *u; } units[] = {
        { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };
    for (size_t i = 0; i < 5; i++)
        if (ms >= units[i].ms && ms % units[i].ms == 0) {
            char t[40];
            int n = snprintf(t, sizeof(t), "%lld%s", (long long)(ms / units[i].ms), units[i].u);
            put(b, t, (size_t)n);
            return;
        }
    put(b, "0s", 2);
}

static void put_num(struct buf *b, double v)
{
    char t[32];
    /* Baselines are fractions of a call per minute: three decimals say enough. */
    if (v != (double)(int64_t)v && v < 1e12) {
        int n = snprintf(t, sizeof(t), "%.3f", v);
        put(b, t, (size_t)n);
        return;
    }
    size_t n = json_format_double(v, t);
    put(b, t, n);
}

static void put_time(struct buf *b, int64_t ms)
{
    char t[32];
    size_t n = time_format_iso8601(ms, false, t);
    put(b, t, n);
}

static void render_var(struct buf *b, const struct tmpl_seg *seg, const struct event *ev,
                       const struct derived *dv, const struct svars *v)
{
    int tv = detect__tmpl_var_find(seg->text, seg->len);
    if (tv >= 0 && v) {
        switch (tv) {
        case TV_COUNT: put_num(b, (double)v->count); return;
        case TV_SUM: put_num(b, v->sum); return;
        case TV_VALUE:
            if (v->value) {
                put(b, v->value, strlen(v->value));
                return;
            }
            break;
        case TV_KEY:
            if (v->key) {
                put(b, v->key, strlen(v->key));
                return;
            }
            break;
        case TV_WINDOW: fmt_duration(b, v->window_ms); return;
        case TV_BASELINE: put_num(b, v->baseline); return;
        case TV_FIRST: put_time(b, v->first_ms); return;
        case TV_LAST: put_time(b, v->last_ms); return;
        default: break;
        }
    }
    int d = tv < 0 && dv ? detect__derived_find(ev->source, seg->text, seg->len) : -1;
    if (d >= 0 && dv->v[d].type != DV_NONE) {
        put(b, dv->v[d].s.p, dv->v[d].s.len);
        return;
    }
    put(b, "unknown", 7);
}

static const char *render(struct detect_scratch *s, const struct tmpl *t, const struct event *ev,
                          const char *detail, const struct derived *dv, const struct svars *v)
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
        case TMPL_VAR:
            render_var(&s->buf, seg, ev, dv, v);
            break;
        }
    }
    if (s->buf.len >= RENDER_MAX)
        put(&s->buf, "...", 3);
    return arena_strndup(&s->arena, s->buf.p ? s->buf.p : "", s->buf.len);
}

static bool tmpl_has_vars(const struct tmpl *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->segs[i].kind == TMPL_VAR)
            return true;
    return false;
}

const char *detect__render_state(struct detect_scratch *s, const struct tmpl *t,
                                 const struct event *ev, const struct derived *dv,
                                 const struct svars *v)
{
    return render(s, t, ev, NULL, dv, v);
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
        return or_unknown(value(ev, ev->source == EVENT_S3ACCESS ? "bucket_name"
                                                                 : "requestParameters.bucketName",
                                a));
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

static const struct derived *derived_of(const struct detect_engine *e, struct detect_scratch *s,
                                        const struct event *ev)
{
    if (!s->dv.done) {
        if (e->geo && !s->gc)
            s->gc = detect__geocache_new();
        struct dctx c = { e->lists, e->geo, s->gc, !e->dns_entropy };
        if (s->dv.facts_done)
            detect__derive_rest(&c, ev, &s->arena, &s->dv);
        else
            detect__derive(&c, ev, &s->arena, &s->dv);
    }
    return &s->dv;
}

/* The event's facts (derived.ff, ffmask), what the gate reads; the
 * rest of the derivation waits for derived_of. */
static const struct derived *facts_of(const struct detect_engine *e, struct detect_scratch *s,
                                      const struct event *ev)
{
    if (!s->dv.done && !s->dv.facts_done) {
        if (e->geo && !s->gc)
            s->gc = detect__geocache_new();
        struct dctx c = { e->lists, e->geo, s->gc, !e->dns_entropy };
        detect__derive_facts(&c, ev, &s->arena, &s->dv);
    }
    return &s->dv;
}

/* A flow's facts, all of them (the late ones too), and of its values
 * those in need (detect__derive_some); the rest waits for derived_of. */
static const struct derived *values_of(const struct detect_engine *e, struct detect_scratch *s,
                                       const struct event *ev, uint32_t need)
{
    if (!s->dv.done) {
        facts_of(e, s, ev);
        struct dctx c = { e->lists, e->geo, s->gc, !e->dns_entropy };
        detect__derive_late(&c, ev, &s->dv);
        if (need)
            detect__derive_some(&c, ev, &s->arena, &s->dv, need);
    }
    return &s->dv;
}

/* The gate's call for a flow's late facts (detect__fwgate_mask_more). */
struct late_ctx {
    const struct detect_engine *e;
    struct detect_scratch *s;
    const struct event *ev;
};

static void derive_late(void *p)
{
    struct late_ctx *x = p;
    struct dctx c = { x->e->lists, x->e->geo, x->s->gc, !x->e->dns_entropy };
    detect__derive_late(&c, x->ev, &x->s->dv);
}

/* Bits of an srule's mask: the pattern (bit 0), the sequence steps (bit s),
 * `when`. */
#define M_PATTERN 1u

/* Notes that stateful rule si matched role bits of the event; returns true
 * the first time it is noted for this event. */
static void size_marks(const struct detect_engine *e, struct detect_scratch *s)
{
    if (s->n_umask < e->n_sr) {
        s->umask = xrealloc(s->umask, e->n_sr * sizeof(*s->umask));
        s->utouched = xrealloc(s->utouched, e->n_sr * sizeof(*s->utouched));
        s->ustamp = xrealloc(s->ustamp, e->n_sr * sizeof(*s->ustamp));
        s->wstamp = xrealloc(s->wstamp, e->n_sr * sizeof(*s->wstamp));
        s->wok = xrealloc(s->wok, e->n_sr * sizeof(*s->wok));
        s->whstamp = xrealloc(s->whstamp, e->n_sr * sizeof(*s->whstamp));
        size_t add = e->n_sr - s->n_umask;
        memset(s->umask + s->n_umask, 0, add * sizeof(*s->umask));
        memset(s->ustamp + s->n_umask, 0, add * sizeof(*s->ustamp));
        memset(s->wstamp + s->n_umask, 0, add * sizeof(*s->wstamp));
        memset(s->wok + s->n_umask, 0, add * sizeof(*s->wok));
        memset(s->whstamp + s->n_umask, 0, add * sizeof(*s->whstamp));
        s->n_umask = e->n_sr;
    }
    size_t na = detect__fwatoms_count(e->atoms);
    if (s->fwc.n < na) {
        s->fwc.v = xrealloc(s->fwc.v, na * sizeof(*s->fwc.v));
        memset(s->fwc.v + s->fwc.n, 0, (na - s->fwc.n) * sizeof(*s->fwc.v));
        s->fwc.n = na;
    }
}

static bool mark(struct detect_scratch *s, uint32_t si, uint32_t bits)
{
    bool first = s->umask[si] == 0;
    s->umask[si] |= bits;
    return first;
}

/* The record's leaves and the derived ones, which `where` and `when` see;
 * built once per event. */
static const struct json_flat *both_flat(struct detect_scratch *s, const struct event *ev,
                                         const struct derived *dv)
{
    if (s->both_done)
        return &s->both;
    /* dv is the scratch's own (derived_of), whose leaves are built on demand. */
    const struct json_flat *df = detect__derived_flat(&s->dv, ev->source);
    (void)dv;
    size_t n = ev->flat.n + df->n;
    if (s->both.cap < n) {
        s->both.leaves = xrealloc(s->both.leaves, n * sizeof(*s->both.leaves));
        s->both.cap = n;
    }
    if (ev->flat.n)
        memcpy(s->both.leaves, ev->flat.leaves, ev->flat.n * sizeof(*s->both.leaves));
    if (df->n)
        memcpy(s->both.leaves + ev->flat.n, df->leaves, df->n * sizeof(*s->both.leaves));
    s->both.n = n;
    s->both_done = true;
    return &s->both;
}

/* Runs the `where` patterns once for the event; after it, wstamp[si] ==
 * s->stamp says srule si's `where` held. */
static void run_where(const struct detect_engine *e, struct detect_scratch *s,
                      const struct event *ev, const struct derived *dv)
{
    if (s->where_stamp == s->stamp)
        return;
    const uint32_t *wids = NULL;
    size_t nw = match_event(e->where_ms,
                            e->where_derived[ev->source] ? both_flat(s, ev, dv) : &ev->flat,
                            s->wms, &wids);
    for (size_t k = 0; k < nw; k++)
        if (wids[k] < e->n_sr)
            s->wstamp[wids[k]] = s->stamp;
    s->where_stamp = s->stamp;
}

/* Whether srule si's `where` holds for the event (decided once per event):
 * the direct evaluator when the pattern is simple, else the automaton. */
static bool where_holds(const struct detect_engine *e, struct detect_scratch *s, uint32_t si,
                        const struct event *ev, const struct derived *dv)
{
    const struct srule *sr = &e->sr[si];
    if (sr->where_id < 0)
        return true;
    /* wok: stamp when the class's where held, stamp + 1<<63 when it failed. */
    uint32_t c = sr->where_class;
    uint64_t no = s->stamp | (1ULL << 63);
    if (s->wok[c] == s->stamp)
        return true;
    if (s->wok[c] == no)
        return false;
    bool ok;
    if (e->sr[c].fwhere) {
        s->fwc.stamp = s->stamp;
        ok = detect__fwhere_eval_cached(e->sr[c].fwhere, ev, dv, &s->arena, &s->fwc);
    } else {
        run_where(e, s, ev, dv);
        ok = s->wstamp[c] == s->stamp;
    }
    s->wok[c] = ok ? s->stamp : no;
    return ok;
}

/* DNS: the bits of the boolean gate's classes that hold for ev (bit b:
 * class dg_cls[b]), each answer recorded in wok as where_holds records it;
 * ~0 and nothing recorded when a tested field is neither a boolean nor
 * absent (where_holds then decides each, as field_holds does). */
static uint64_t dns_gate(const struct detect_engine *e, struct detect_scratch *s,
                         const struct event *ev)
{
    const struct derived *dv = derived_of(e, s, ev);
    uint64_t fail = 0;
    for (size_t k = 0; k < e->n_dg; k++) {
        const struct dval *d = &dv->v[e->dg[k].dv];
        unsigned st = d->type == DV_BOOL ? (unsigned)d->b : d->type == DV_NONE ? 2u : 3u;
        if (st == 3)
            return ~0ULL;
        fail |= (uint64_t)(~(unsigned)e->dg[k].bres >> st & 1u) << e->dg[k].bit;
    }
    uint64_t no = s->stamp | (1ULL << 63);
    for (size_t b = 0; b < e->n_dg_cls; b++)
        s->wok[e->dg_cls[b]] = (fail >> b & 1) ? no : s->stamp;
    return ~fail;
}

/* Whether srule si may feed its unit as far as the DNS gate knows: false
 * only when its `where` is decided there and fails (its unit would not be
 * fed: a unit's rules share their `where`). The gate runs on first need. */
static inline bool dg_allows(const struct detect_engine *e, struct detect_scratch *s,
                             const struct event *ev, uint32_t si, uint64_t *held, bool *known)
{
    int b = e->dg_bit[si];
    if (b < 0)
        return true;
    if (!*known) {
        *held = dns_gate(e, s, ev);
        *known = true;
    }
    return *held >> b & 1;
}

/* Whether srule x's `when` holds (its unit is being fed). */
static bool when_holds(const struct detect_engine *e, struct detect_scratch *s,
                       const struct srule *x, const struct event *ev, const struct derived *dv)
{
    if (x->fwhen) {
        s->fwc.stamp = s->stamp;
        return detect__fwhere_eval_cached(x->fwhen, ev, dv, &s->arena, &s->fwc);
    }
    if (s->when_stamp != s->stamp) {
        const uint32_t *wids = NULL;
        size_t nw = match_event(e->when_ms,
                                e->when_derived[ev->source] ? both_flat(s, ev, dv) : &ev->flat,
                                s->whs, &wids);
        for (size_t k = 0; k < nw; k++)
            if (wids[k] < e->n_sr)
                s->whstamp[wids[k]] = s->stamp;
        s->when_stamp = s->stamp;
    }
    return s->whstamp[x - e->sr] == s->stamp;
}

/* The `when`s of *whens that the unit's index covers, decided at once (and
 * taken out of *whens): the rule bits of those that hold. Out of line: the
 * flow units, fed far more often, have no index. */
static __attribute__((noinline)) uint32_t index_whens(const struct fwindex *wx,
                                                      const struct sunit *u,
                                                      struct detect_scratch *s,
                                                      const struct event *ev, uint32_t *whens)
{
    uint32_t cov = *whens & detect__fwindex_covered(wx), mask = 0;
    if (!cov)
        return 0;
    *whens &= ~cov;
    for (uint32_t m = detect__fwindex_eval(wx, ev, &s->arena) & cov; m; m &= m - 1)
        mask |= 1u << u->rules[__builtin_ctz(m)]->bit;
    return mask;
}

/* Feeds unit sr->unit with the event: `where` (unless where_held: sr's
 * class is known to hold), check, the `when`s of the unit rules in whens
 * (bit k: rule k), then the collector. mask: the rule bits already decided. */
static inline __attribute__((always_inline)) void
feed_unit(const struct detect_engine *e, struct detect_scratch *s, const struct event *ev,
          struct capev *ce, int *by_ref, const struct srule *sr, uint32_t mask, uint32_t whens,
          bool where_held, bool some)
{
    const struct sunit *u = &e->units[sr->unit];
    /* some: the caller derived the facts and the values this unit's
     * capture reads (values_of); anything else waits for derived_of. */
    const struct derived *dv = some ? &s->dv : derived_of(e, s, ev);
    if (!where_held && !where_holds(e, s, (uint32_t)(sr - e->sr), ev, dv))
        return;
    const struct detect_check *c = detect__rule_check(sr->r);
    if (c) {
        struct detect_check_ctx cx = { .ev = ev, .arena = &s->arena };
        cx.rec = record_tree(s, ev);
        if (!cx.rec || !c->fn(&cx))
            return;
    }
    if (whens) {
        /* A flow unit's gate rules out most `when`s and decides the
         * fact-only ones; a CloudTrail unit's index decides its name
         * lists; the rest are evaluated. */
        uint64_t wg = ~0ULL, wex = 0;
        if (e->ugate[sr->unit])
            wg = detect__fwgate_mask(e->ugate[sr->unit], dv, &wex);
        else if (e->uwix[sr->unit])
            mask |= index_whens(e->uwix[sr->unit], u, s, ev, &whens);
        for (uint64_t m = whens & wg; m; m &= m - 1) {
            int k = __builtin_ctzll(m);
            const struct srule *x = u->rules[k];
            if ((wex >> k & 1) || when_holds(e, s, x, ev, derived_of(e, s, ev)))
                mask |= 1u << x->bit;
        }
    }
    ce->dv = dv;
    struct collector *col = detect__scratch_collector(s);
    ce->bytes = detect__collector_bytes(col);
    ce->pool = s->pool;
    if (*by_ref < 0)
        *by_ref = detect__engine_by_ref(e, ev) && !detect__collector_is_stream(col);
    ce->by_ref = *by_ref;
    detect__capture(col, u, sr->unit, ce, mask, &s->arena, &s->kb, &s->vb);
}

/* For touched rule t (s->utouched[t], marked in s->umask): whether it is
 * the first the event touched of a unit that is fed, and then (*out) the
 * rule bits fed without a `when` and the rules whose `when` is to be
 * tested. Leaves umask as it was. */
static inline __attribute__((always_inline)) bool
unit_step(const struct detect_engine *e, struct detect_scratch *s, size_t t, struct ustep *out)
{
    const struct srule *sr = &e->sr[s->utouched[t]];
    const struct sunit *u = &e->units[sr->unit];
    /* A unit is handled by its first rule that the event touched. */
    if (s->ustamp[sr->unit] == s->stamp)
        return false;
    s->ustamp[sr->unit] = s->stamp;
    uint32_t mask = 0, whens = 0;
    bool fed = false;
    for (size_t k = 0; k < u->n_rules; k++) {
        const struct srule *x = u->rules[k];
        uint32_t m = s->umask[x - e->sr];
        if (u->kind == DETECT_KIND_NEW_VALUE) {
            if (u->one_pattern)
                m = s->umask[u->first - e->sr];
            if (m & M_PATTERN) {
                fed = true;
                if (!x->has_when)
                    mask |= 1u << x->bit;
                else
                    whens |= 1u << k;
            }
        } else {
            mask = m & 0xffu;
            fed = mask != 0;
        }
    }
    *out = (struct ustep){ (uint32_t)(sr - e->sr), mask, whens };
    return fed;
}

/* A capev for ev: its key hashes are left as they are (kvalid says none
 * holds), since zeroing the struct whole was a `rep stos` of 176 bytes on
 * every captured flow (perf: a tenth of run_rules' samples). */
static inline void capev_init(struct capev *ce, const struct detect_engine *e,
                              const struct event *ev)
{
    ce->e = e;
    ce->ev = ev;
    ce->dv = NULL;
    ce->sn = NULL;
    ce->bytes = NULL;
    ce->by_ref = false;
    ce->pool = NULL;
    ce->kvalid = 0;
}

/* The stateful units this event feeds. */
static void run_stateful(const struct detect_engine *e, struct detect_scratch *s,
                         const struct event *ev, size_t nt)
{
    struct capev ce;
    capev_init(&ce, e, ev);
    int by_ref = -1; /* the same for every unit: decided on first use */
    for (size_t t = 0; t < nt; t++) {
        struct ustep st;
        if (unit_step(e, s, t, &st))
            feed_unit(e, s, ev, &ce, &by_ref, &e->sr[st.si], st.mask, st.whens, false, false);
    }
    detect__capev_done(&ce);
    for (size_t t = 0; t < nt; t++)
        s->umask[s->utouched[t]] = 0;
}

/* The plan of the flow units fed when exactly the gate classes in held
 * hold (bit b: class b), made on first use; NULL when the cache is full
 * (the caller marks the rules itself). */
static const struct ustep *uplan_of(const struct detect_engine *e, struct detect_scratch *s,
                                    uint64_t held, size_t *n_out, uint32_t *need_out)
{
    struct uplans *p = &s->plans;
    if (p->e != e) {
        memset(p->key, 0, sizeof(p->key));
        p->used = 0;
        p->n_steps = 0;
        p->e = e;
    }
    uint64_t key = held + 1, h = held * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> 57) & (UPLAN_SLOTS - 1);
    while (p->key[i] != 0 && p->key[i] != key)
        i = (i + 1) & (UPLAN_SLOTS - 1);
    if (p->key[i] == key) {
        *n_out = p->n[i];
        *need_out = p->need[i];
        return p->steps + p->lo[i];
    }
    if (2 * (p->used + 1) > UPLAN_SLOTS)
        return NULL;
    /* Mark the classes' rules as run_rules would, and plan from the marks. */
    const size_t *lo = e->gate_lo[EVENT_VPCFLOW];
    const uint32_t *al = e->always[EVENT_VPCFLOW];
    size_t nt = 0;
    for (uint64_t m = held; m; m &= m - 1) {
        int b = __builtin_ctzll(m);
        for (size_t k = lo[b]; k < lo[b + 1]; k++)
            if (mark(s, al[k], M_PATTERN))
                s->utouched[nt++] = al[k];
    }
    if (p->cap_steps < p->n_steps + nt) {
        p->cap_steps = 2 * (p->n_steps + nt);
        p->steps = xrealloc(p->steps, p->cap_steps * sizeof(*p->steps));
    }
    size_t np = 0;
    for (size_t t = 0; t < nt; t++)
        if (unit_step(e, s, t, &p->steps[p->n_steps + np]))
            np++;
    for (size_t t = 0; t < nt; t++)
        s->umask[s->utouched[t]] = 0;
    uint32_t need = 0;
    for (size_t k = 0; k < np; k++) {
        uint32_t c = e->units[e->sr[p->steps[p->n_steps + k].si].unit].cap_dv;
        need = c == UINT32_MAX || need == UINT32_MAX ? UINT32_MAX : need | c;
    }
    p->key[i] = key;
    p->lo[i] = (uint32_t)p->n_steps;
    p->n[i] = (uint32_t)np;
    p->need[i] = need;
    *need_out = need;
    p->n_steps += np;
    p->used++;
    *n_out = np;
    return p->steps + p->lo[i];
}

/* Whether the automaton would find `exists: true` on x's path: a leaf of
 * that path that is not an empty container ([] and {} are not leaves to
 * event-ruler), in an array or not. */
static bool xrule_holds(const struct xrule *x, const struct event *ev)
{
    const struct json_leaf *l = ev->flat.leaves;
    const uint64_t h = x->hash;
    for (size_t i = 0, n = ev->flat.n; i < n; i++) {
        if (l[i].path_hash != h)
            continue;
        if (l[i].path_len == x->len && l[i].type != JSON_OBJECT && l[i].type != JSON_ARRAY &&
            memcmp(l[i].path, x->path, x->len) == 0)
            return true;
    }
    return false;
}

/* The automaton's n ids with those of the source's xrules that hold, in
 * ascending order as match_event gives them (so that rules are marked in
 * the same order as when the patterns were in the automaton); *out points
 * at ids itself when none holds. Rules of one path share the scan. */
static __attribute__((noinline)) size_t
merge_xrules(const struct detect_engine *e, struct detect_scratch *s, const struct event *ev,
             const uint32_t *ids, size_t n, const uint32_t **out)
{
    const struct xrule *xr = e->xr[ev->source];
    size_t nx = e->n_xr[ev->source];
    if (s->cap_xids < n + nx) {
        s->cap_xids = 2 * (n + nx);
        s->xids = xrealloc(s->xids, s->cap_xids * sizeof(*s->xids));
    }
    uint32_t *v = s->xids;
    size_t m = 0, i = 0;
    bool holds = false;
    for (size_t k = 0; k < nx; k++) {
        if (!xr[k].same)
            holds = xrule_holds(&xr[k], ev);
        if (!holds)
            continue;
        while (i < n && ids[i] < xr[k].idx)
            v[m++] = ids[i++];
        v[m++] = xr[k].idx;
    }
    if (m == 0) {
        *out = ids;
        return n;
    }
    while (i < n)
        v[m++] = ids[i++];
    *out = v;
    return m;
}

static size_t run_rules(const struct detect_engine *e, struct detect_scratch *s,
                        const struct event *ev, detect_emit_fn emit, void *ctx)
{
    const uint32_t *ids = NULL;
    if ((unsigned)ev->source >= EVENT_SOURCE_COUNT)
        return 0;
    size_t emitted = 0, nt = 0, n = 0;
    size_marks(e, s);
    s->stamp++;
    s->where_stamp = s->when_stamp = 0;
    /* Rules without a pattern: `where` (one automaton visit over the record
     * and its derived fields) is what selects for them. */
    if (e->n_always[ev->source] > 0 && e->gate[ev->source]) {
        /* The gate names the `where` classes that can hold and decides the
         * ones made of fact tests; only the others are evaluated. */
        /* Facts alone: a line that keeps no class needs no more. */
        uint64_t exact;
        struct late_ctx lc = { e, s, ev };
        uint64_t gate = detect__fwgate_mask_more(e->gate[ev->source], facts_of(e, s, ev), &exact,
                                                 derive_late, &lc);
        const size_t *lo = e->gate_lo[ev->source];
        const uint32_t *al = e->always[ev->source];
        uint64_t held = 0;
        for (uint64_t m = gate; m; m &= m - 1) {
            int b = __builtin_ctzll(m);
            if (lo[b] >= lo[b + 1])
                continue;
            uint32_t first = al[lo[b]];
            if (exact >> b & 1) {
                if (e->sr[first].where_id >= 0)
                    s->wok[e->sr[first].where_class] = s->stamp;
            } else if (!where_holds(e, s, first, ev, derived_of(e, s, ev))) {
                continue;
            }
            held |= 1ULL << b;
        }
        /* Without patterns to match for the source, the held classes alone
         * say which units the line feeds: their plan replaces the marks. */
        size_t np = 0;
        uint32_t need = UINT32_MAX;
        const struct ustep *plan =
            held && e->n_src[ev->source] == 0 ? uplan_of(e, s, held, &np, &need) : NULL;
        if (plan) {
            struct capev ce;
            capev_init(&ce, e, ev);
            int by_ref = -1;
            /* The units' captures read a few values of the many a flow
             * derives: those only, once for all the units. */
            bool some = need != UINT32_MAX && !s->dv.done;
            if (some)
                values_of(e, s, ev, need);
            /* Each step's rule is of a held class: its `where` holds. */
            for (size_t k = 0; k < np; k++)
                feed_unit(e, s, ev, &ce, &by_ref, &e->sr[plan[k].si], plan[k].mask,
                          plan[k].whens, true, some);
            detect__capev_done(&ce);
            return emitted;
        }
        for (uint64_t m = held; m; m &= m - 1) {
            int b = __builtin_ctzll(m);
            for (size_t k = lo[b]; k < lo[b + 1]; k++)
                if (mark(s, al[k], M_PATTERN))
                    s->utouched[nt++] = al[k];
        }
    } else if (e->n_always[ev->source] > 0) {
        const struct derived *dv = derived_of(e, s, ev);
        uint32_t cls = UINT32_MAX;
        bool ok = false;
        uint64_t gate = detect__fwgate_mask(e->gate[ev->source], dv, NULL);
        const uint32_t *acls = e->always_cls[ev->source];
        const int8_t *agb = e->always_gb[ev->source];
        for (size_t k = 0; k < e->n_always[ev->source]; k++) {
            if (acls[k] != cls) {
                cls = acls[k];
                int gb = agb[k];
                ok = (gb < 0 || (gate >> gb & 1)) &&
                     where_holds(e, s, e->always[ev->source][k], ev, dv);
            }
            uint32_t si = e->always[ev->source][k];
            if (!ok)
                continue;
            if (mark(s, si, M_PATTERN))
                s->utouched[nt++] = si;
        }
    }
    unsigned mode = e->src_mode[ev->source];
    if (mode) {
        if (mode & SRC_AUTO)
            n = match_event(e->ms[ev->source], &ev->flat, s->ms[ev->source], &ids);
        if (mode & SRC_XR)
            n = merge_xrules(e, s, ev, ids, n, &ids);
    }
    uint64_t dheld = 0;
    bool dknown = false;
    for (size_t i = 0; i < n; i++) {
        uint32_t role = ids[i] >> ID_ROLE_SHIFT, idx = ids[i] & ((1u << ID_ROLE_SHIFT) - 1);
        if (role != 0) {
            if (idx >= e->n_sr || e->sr[idx].r->source != ev->source)
                continue;
            if (!dg_allows(e, s, ev, idx, &dheld, &dknown))
                continue;
            if (mark(s, idx, 1u << (role - ID_STEP + 1)))
                s->utouched[nt++] = idx;
            continue;
        }
        if (idx >= e->n)
            continue;
        const struct detect_rule *r = e->rule[idx];
        if (r->source != ev->source)
            continue;
        if (r->kind != DETECT_KIND_MATCH) {
            uint32_t si = (uint32_t)e->srule_of[idx];
            if (!dg_allows(e, s, ev, si, &dheld, &dknown))
                continue;
            if (mark(s, si, M_PATTERN))
                s->utouched[nt++] = si;
            continue;
        }
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
            .n_events = 1,
            .first_ms = ev->time_ms,
            .last_ms = ev->time_ms,
        };
        const struct tmpl *tt = detect__rule_title(r), *td = detect__rule_desc(r);
        /* Derived fields are computed only for templates that name one. */
        const struct derived *dv =
            tmpl_has_vars(tt) || tmpl_has_vars(td) ? derived_of(e, s, ev) : NULL;
        d.title = render(s, tt, ev, cx.detail, dv, NULL);
        d.description = render(s, td, ev, cx.detail, dv, NULL);
        d.key = r->key ? or_unknown(value(ev, r->key, &s->arena))
                       : default_key(r->resource, ev, &s->arena);
        emit(ctx, &d);
        emitted++;
    }
    if (nt > 0)
        run_stateful(e, s, ev, nt);
    return emitted;
}

/* ---- stateful emission ----------------------------------------------------------- */

/* The detection of rule sr with the kind's variables v about ev. */
static void emit_event(struct semit *em, const struct srule *sr, const struct svars *v,
                       const struct event *ev0)
{
    struct detect_scratch *s = em->s;
    const struct detect_rule *r = sr->r;
    struct derived dv;
    dv.hash_src = 0;
    struct dctx dc = { em->e->lists, em->e->geo, s->gc, !em->e->dns_entropy };
    detect__derive(&dc, ev0, &s->arena, &dv);
    struct event evc = *ev0;
    struct event *ev = &evc;
    /* A flow whose ENI the map names: the finding shows the instance, as if
     * the record had the instance-id field. */
    if (ev->source == EVENT_VPCFLOW && dv.v[DVF_INSTANCE].type == DV_STR &&
        sv_starts_with(dv.v[DVF_INSTANCE].s, SV("i-")) && !leaf_at(ev, "instance-id")) {
        struct json_leaf *lv = arena_alloc(&s->arena, (ev->flat.n + 1) * sizeof(*lv));
        if (ev->flat.n)
            memcpy(lv, ev->flat.leaves, ev->flat.n * sizeof(*lv));
        struct json_leaf *x = &lv[ev->flat.n];
        memset(x, 0, sizeof(*x));
        x->path = "instance-id";
        x->path_len = 11;
        x->path_hash = json_path_hash("instance-id", 11);
        x->val = dv.v[DVF_INSTANCE].s.p;
        x->val_len = (uint32_t)dv.v[DVF_INSTANCE].s.len;
        x->type = JSON_STRING;
        evc.flat.leaves = lv;
        evc.flat.n = ev0->flat.n + 1;
        evc.flat.cap = evc.flat.n;
    }
    struct detection d = {
        .rule_id = r->id,
        .type = r->type,
        .severity = r->severity,
        .resource = r->resource,
        .ev = ev,
        .rule = r,
        .evidence = v->evidence,
        .n_evidence = v->n_evidence,
        .n_events = v->count ? v->count : 1,
        .first_ms = v->first_ms,
        .last_ms = v->last_ms,
        .insight = v->insight,
    };
    d.title = render(s, detect__rule_title(r), ev, NULL, &dv, v);
    d.description = render(s, detect__rule_desc(r), ev, NULL, &dv, v);
    if (r->key && r->key[0] == '$') {
        int k = detect__derived_find(ev->source, r->key + 1, strlen(r->key + 1));
        d.key = k >= 0 && dv.v[k].type != DV_NONE ? dv.v[k].s : SV("unknown");
    } else if (r->key) {
        d.key = SV_NULL;
        for (const char *p = r->key; d.key.len == 0;) {
            const char *bar = strchr(p, '|');
            size_t len = bar ? (size_t)(bar - p) : strlen(p);
            d.key = first_value(ev, p, len, &s->arena);
            if (!bar)
                break;
            p = bar + 1;
        }
        d.key = or_unknown(d.key);
    } else {
        d.key = default_key(r->resource, ev, &s->arena);
    }
    if (ev->source == EVENT_VPCFLOW) {
        if (dv.v[DVF_REMOTE_IP].type == DV_STR)
            d.indicator = dv.v[DVF_REMOTE_IP].s;
        if (sv_eq_cstr(dv.v[DVF_INITIATOR].s, "local"))
            d.direction = DETECT_DIR_OUTBOUND;
        else if (sv_eq_cstr(dv.v[DVF_INITIATOR].s, "remote"))
            d.direction = DETECT_DIR_INBOUND;
    }
    em->emit(em->ctx, &d);
    em->n++;
}

/* A detection waiting for its event to be read again. */
struct pending {
    const struct srule *sr;
    struct snap *sn;
    const char *file;
    uint64_t record_no;
    size_t order;
    struct svars v;             /* strings and evidence owned by the pending */
    struct detect_evidence *evidence;
    char *ids;
};

static char *dup0(const char *s) { return s ? xstrdup(s) : NULL; }

void detect__semit(struct semit *em, const struct srule *sr, const struct svars *v)
{
    struct detect_scratch *s = em->s;
    arena_reset(&s->arena);
    s->rec = NULL;
    s->rec_tried = false;
    s->dv.done = false;
    s->dv.facts_done = false;
    const char *file;
    uint64_t rec;
    if (detect__snap_is_ref(v->it->sn, &file, &rec)) {
        if (em->n_pend == em->cap_pend) {
            em->cap_pend = em->cap_pend ? 2 * em->cap_pend : 16;
            em->pend = xrealloc(em->pend, em->cap_pend * sizeof(*em->pend));
        }
        struct pending *p = &em->pend[em->n_pend];
        memset(p, 0, sizeof(*p));
        p->sr = sr;
        p->sn = detect__snap_ref_shared(v->it->sn);
        p->file = file;
        p->record_no = rec;
        p->order = em->n_pend++;
        p->v = *v;
        p->v.it = NULL;
        p->v.key = dup0(v->key);
        p->v.value = dup0(v->value);
        p->v.insight = detect_insight_dup(v->insight);
        size_t bytes = 0;
        for (size_t i = 0; i < v->n_evidence; i++)
            bytes += v->evidence[i].id.len + 1;
        p->ids = xmalloc(bytes + 1);
        p->evidence = xcalloc(v->n_evidence ? v->n_evidence : 1, sizeof(*p->evidence));
        size_t at = 0;
        for (size_t i = 0; i < v->n_evidence; i++) {
            const struct sv id = v->evidence[i].id;
            if (id.len)
                memcpy(p->ids + at, id.p, id.len);
            p->ids[at + id.len] = '\0';
            p->evidence[i].ms = v->evidence[i].ms;
            p->evidence[i].id = sv_make(p->ids + at, id.len);
            at += id.len + 1;
        }
        p->v.evidence = p->evidence;
        return;
    }
    struct event ev;
    detect__snap_event(v->it->sn, &ev, &s->arena);
    emit_event(em, sr, v, &ev);
}

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->record_no != y->record_no)
        return x->record_no < y->record_no ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void pending_free(struct pending *p)
{
    detect__snap_unref_shared(p->sn);
    free((void *)p->v.key);
    free((void *)p->v.value);
    detect_insight_free((struct detect_insight *)p->v.insight);
    free(p->evidence);
    free(p->ids);
}

/* Emits p with ev (NULL: the record could not be read again; the detection
 * still goes out, with what the reference kept: its time and id). */
static void emit_pending(struct semit *em, struct pending *p, const struct event *ev)
{
    struct event bare;
    if (!ev) {
        memset(&bare, 0, sizeof(bare));
        bare.source = detect__snap_source(p->sn);
        bare.time_ms = detect__snap_ms(p->sn);
        bare.id = detect__snap_id(p->sn);
        ev = &bare;
    }
    arena_reset(&em->s->arena);
    emit_event(em, p->sr, &p->v, ev);
}

void detect__semit_resolve(struct semit *em)
{
    if (em->n_pend == 0)
        return;
    qsort(em->pend, em->n_pend, sizeof(*em->pend), cmp_pending);
    const struct input_options *opt = detect__engine_input(em->e);
    size_t i = 0;
    while (i < em->n_pend) {
        size_t j = i;
        while (j < em->n_pend && strcmp(em->pend[j].file, em->pend[i].file) == 0)
            j++;
        struct input_file f;
        memset(&f, 0, sizeof(f));
        input_hint_from_path(em->pend[i].file, &f);
        f.path = (char *)em->pend[i].file;
        struct input_list l = { &f, 1, 1 };
        struct input_reader *r = NULL;
        struct err err;
        err_clear(&err);
        size_t k = i;
        if (input_open(&l, opt, &r, &err) == 0) {
            struct event ev;
            int rc;
            while (k < j && (rc = input_next(r, &ev, &err)) != INPUT_END) {
                if (rc != 0)
                    continue;
                while (k < j && em->pend[k].record_no < ev.record_no)
                    emit_pending(em, &em->pend[k++], NULL); /* the file changed under us */
                while (k < j && em->pend[k].record_no == ev.record_no)
                    emit_pending(em, &em->pend[k++], &ev);
            }
            input_close(r);
        }
        while (k < j)
            emit_pending(em, &em->pend[k++], NULL);
        i = j;
    }
    for (size_t p = 0; p < em->n_pend; p++)
        pending_free(&em->pend[p]);
    free(em->pend);
    em->pend = NULL;
    em->n_pend = em->cap_pend = 0;
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

/* GuardDuty's type for a flow to or from an address on a list of category c. */
static struct list_hit flow_hit(enum detect_category c)
{
    switch (c) {
    case DETECT_CAT_BITCOIN:
        return (struct list_hit){ "threatlist-ec2-flow-bitcoin", "CryptoCurrency:EC2/BitcoinTool.B",
                                  8.0, DETECT_RES_INSTANCE };
    case DETECT_CAT_C2:
        return (struct list_hit){ "threatlist-ec2-flow-c2", "Backdoor:EC2/C&CActivity.B", 8.0,
                                  DETECT_RES_INSTANCE };
    case DETECT_CAT_BLACKHOLE:
        return (struct list_hit){ "threatlist-ec2-flow-blackhole", "Trojan:EC2/BlackholeTraffic",
                                  5.0, DETECT_RES_INSTANCE };
    case DETECT_CAT_DROPPOINT:
        return (struct list_hit){ "threatlist-ec2-flow-droppoint", "Trojan:EC2/DropPoint", 5.0,
                                  DETECT_RES_INSTANCE };
    default:
        return (struct list_hit){ "threatlist-ec2-flow",
                                  "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", 5.0,
                                  DETECT_RES_INSTANCE };
    }
}

static size_t lists_flow(const struct detect_engine *e, struct detect_scratch *s,
                         const struct event *ev, detect_emit_fn emit, void *ctx)
{
    struct arena *a = &s->arena;
    bool threat = has_ips(e, DETECT_LIST_THREAT), tor = has_ips(e, DETECT_LIST_TOR);
    if (!threat && !tor)
        return 0;
    /* A connection that happened: rejected probes from listed hosts would
     * otherwise raise a finding on every instance they scan. */
    if (!sv_eq_cstr(value(ev, "action", a), "ACCEPT"))
        return 0;
    size_t emitted = 0;
    const char *tag = NULL;
    struct sv remote = value(ev, "dstaddr", a);
    const char *dir = "outbound to";
    bool listed = threat && ip_listed(e, DETECT_LIST_THREAT, remote, &tag);
    if (!listed && threat) {
        remote = value(ev, "srcaddr", a);
        dir = "inbound from";
        listed = ip_listed(e, DETECT_LIST_THREAT, remote, &tag);
    }
    struct sv key = instance_key(ev, a);
    if (listed) {
        struct list_hit h = flow_hit(detect__lists_category(e->lists, tag));
        const char *title = detect__afmt(a, "EC2 instance %.*s is communicating %s %.*s on the list %s.",
                                         (int)key.len, key.p, dir, (int)remote.len, remote.p, tag);
        struct sv port = value(ev, "dstport", a);
        const char *desc = detect__afmt(
            a, "EC2 instance %.*s has an accepted connection %s %.*s (destination port %.*s), an "
               "address on the threat list %s.",
            (int)key.len, key.p, dir, (int)remote.len, remote.p, (int)port.len,
            port.p ? port.p : "", tag);
        emit_list(s, ev, &h, tag, remote, key, title, desc, emit, ctx);
        emitted++;
    }
    /* TorClient: the instance opened a connection to a Tor node. */
    if (tor) {
        const struct derived *dv = derived_of(e, s, ev);
        const struct dval *rip = &dv->v[DVF_REMOTE_IP];
        if (rip->type == DV_STR && sv_eq_cstr(dv->v[DVF_INITIATOR].s, "local") &&
            ip_listed(e, DETECT_LIST_TOR, rip->s, &tag)) {
            static const struct list_hit h = { "torlist-ec2-client", "UnauthorizedAccess:EC2/TorClient",
                                               8.0, DETECT_RES_INSTANCE };
            struct sv inst = dv->v[DVF_INSTANCE].type == DV_STR ? dv->v[DVF_INSTANCE].s : key;
            const char *title = detect__afmt(a, "EC2 instance %.*s is communicating with Tor node %.*s.",
                                             (int)inst.len, inst.p, (int)rip->s.len, rip->s.p);
            const char *desc = detect__afmt(
                a, "EC2 instance %.*s opened a connection to %.*s port %.*s, a Tor node on the list "
                   "%s: the instance is reaching the Tor network, which hides where its traffic "
                   "goes.",
                (int)inst.len, inst.p, (int)rip->s.len, rip->s.p,
                (int)dv->v[DVF_REMOTE_PORT].s.len, dv->v[DVF_REMOTE_PORT].s.p ? dv->v[DVF_REMOTE_PORT].s.p : "",
                tag);
            emit_list(s, ev, &h, tag, rip->s, inst, title, desc, emit, ctx);
            emitted++;
        }
    }
    return emitted;
}

static struct list_hit dns_hit(enum detect_category c)
{
    switch (c) {
    case DETECT_CAT_BITCOIN:
        return (struct list_hit){ "threatlist-ec2-dns-bitcoin",
                                  "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0, DETECT_RES_INSTANCE };
    case DETECT_CAT_C2:
        return (struct list_hit){ "threatlist-ec2-dns-c2", "Backdoor:EC2/C&CActivity.B!DNS", 8.0,
                                  DETECT_RES_INSTANCE };
    case DETECT_CAT_BLACKHOLE:
        return (struct list_hit){ "threatlist-ec2-dns-blackhole", "Trojan:EC2/BlackholeTraffic!DNS",
                                  5.0, DETECT_RES_INSTANCE };
    case DETECT_CAT_DROPPOINT:
        return (struct list_hit){ "threatlist-ec2-dns-droppoint", "Trojan:EC2/DropPoint!DNS", 5.0,
                                  DETECT_RES_INSTANCE };
    case DETECT_CAT_PHISHING:
        return (struct list_hit){ "threatlist-ec2-dns-phishing",
                                  "Trojan:EC2/PhishingDomainRequest!DNS", 8.0, DETECT_RES_INSTANCE };
    case DETECT_CAT_DRIVEBY:
        return (struct list_hit){ "threatlist-ec2-dns-driveby",
                                  "Trojan:EC2/DriveBySourceTraffic!DNS", 8.0, DETECT_RES_INSTANCE };
    case DETECT_CAT_DGA:
        return (struct list_hit){ "threatlist-ec2-dns-dga", "Trojan:EC2/DGADomainRequest.C!DNS", 8.0,
                                  DETECT_RES_INSTANCE };
    default:
        return (struct list_hit){ "threatlist-ec2-dns", "Impact:EC2/MaliciousDomainRequest.Custom",
                                  5.0, DETECT_RES_INSTANCE };
    }
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
    struct list_hit h = dns_hit(detect__lists_category(e->lists, tag));
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
    s->dv.done = false;
    s->dv.facts_done = false;
    s->both_done = false;
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
