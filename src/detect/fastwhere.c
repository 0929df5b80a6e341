/*
 * A direct evaluator for the simple `where` and `when` patterns of stateful
 * rules, so that a flow record needs no automaton visit to find which of
 * twenty rules want it.
 *
 * "Simple" is a conjunction of top-level fields, each with a list of
 * alternatives among: a string, a number, true, false, null,
 * {"anything-but": value or list}, {"numeric": [op, n (, op, n)]},
 * {"exists": bool} and {"prefix": string}. The fields are derived fields (of
 * any source, CloudTrail included: one value each) or record fields of flow
 * and DNS records (one leaf each, never inside an array), and "$or" of such
 * conjunctions. Anything else (nested objects,
 * wildcards, CIDRs, CloudTrail record paths, which may sit in arrays) is left
 * to the automaton: compile says no and the engine keeps using match_event
 * for that rule.
 *
 * Flow fields with a numeric form (ports, sizes, protocol, the booleans, and
 * direction, initiator and action as codes: struct derived's facts) are
 * tested as numbers; fields equal across patterns share an atom, tested once
 * per event.
 *
 * The semantics are EventBridge's as the match module implements them;
 * test_state cross-checks the two on the whole rule pack.
 */
#include "detect/detect_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_STR, C_NUM, C_TRUE, C_FALSE, C_NULL, C_ABUT, C_RANGE, C_EXISTS, C_PREFIX };

struct fcond {
    uint8_t kind;
    bool exists;          /* C_EXISTS */
    double num;           /* C_NUM */
    const char *s;        /* C_STR, C_PREFIX */
    size_t len;
    /* C_ABUT: the excluded literals (strings and numbers) */
    struct fcond *list;
    size_t n_list;
    /* C_RANGE */
    bool has_lo, has_hi, lo_incl, hi_incl;
    double lo, hi;
};

/* An alternative over a flow fact (its numeric form, see struct derived). */
enum { T_EQ, T_RANGE, T_NOTIN, T_NEVER };
struct tcond {
    uint8_t op;
    double x;             /* T_EQ */
    const struct fcond *c; /* T_RANGE: the range */
    double *in;           /* T_NOTIN: the excluded values that can occur */
    size_t n_in;
};

struct fwhere;

struct ffield {
    struct fwhere **sub;  /* "$or": the alternatives, each a conjunction */
    size_t n_sub;
    int fact;             /* flow fact tested as a number, or -1 */
    struct tcond *t;      /* per alternative, when fact >= 0 */
    int atom;             /* id shared by equal fields of all patterns (detect__fwhere_share), or -1 */
    int rank;             /* evaluation order within a pattern: selective first */
    const char *ckey;     /* canonical text: field and alternatives */
    int dv;               /* derived index, or -1 */
    int raw;              /* flow field located by derivation (DVR_*), or -1 */
    int cost;             /* evaluation order: cheap and selective first */
    const char *path;     /* record path (dv < 0) */
    uint32_t path_len;
    uint64_t path_hash;
    struct fcond *alt;
    size_t n_alt;
    /* Derived fields: the answer when the value is false, true or absent
     * (bres bits 0, 1, 2), worked out once from the alternatives; btab
     * says it is set. DNS's exfil_label, dga, aws_domain are tested on
     * every query. */
    bool btab;
    uint8_t bres;
};

struct fwhere {
    struct ffield *f;
    size_t n;
    struct arena a;       /* strings and arrays */
};

void detect__fwhere_free(struct fwhere *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        for (size_t k = 0; k < w->f[i].n_sub; k++)
            detect__fwhere_free(w->f[i].sub[k]);
        free(w->f[i].sub);
    }
    arena_free(&w->a);
    free(w->f);
    free(w);
}

static bool literal(const struct json_value *v, struct fcond *c, struct arena *a)
{
    memset(c, 0, sizeof(*c));
    switch (v->type) {
    case JSON_STRING:
        c->kind = C_STR;
        c->s = arena_strndup(a, v->str, v->len);
        c->len = v->len;
        return true;
    case JSON_NUMBER:
        c->kind = C_NUM;
        c->num = v->num;
        return isfinite(v->num);
    case JSON_TRUE: c->kind = C_TRUE; return true;
    case JSON_FALSE: c->kind = C_FALSE; return true;
    case JSON_NULL: c->kind = C_NULL; return true;
    default: return false;
    }
}

static bool range(const struct json_value *arr, struct fcond *c)
{
    if (arr->type != JSON_ARRAY || (arr->n != 2 && arr->n != 4))
        return false;
    c->kind = C_RANGE;
    for (size_t i = 0; i < arr->n; i += 2) {
        const struct json_value *op = &arr->items[i], *n = &arr->items[i + 1];
        if (op->type != JSON_STRING || n->type != JSON_NUMBER || !isfinite(n->num))
            return false;
        if (strcmp(op->str, ">") == 0 || strcmp(op->str, ">=") == 0) {
            c->has_lo = true;
            c->lo = n->num;
            c->lo_incl = op->str[1] == '=';
        } else if (strcmp(op->str, "<") == 0 || strcmp(op->str, "<=") == 0) {
            c->has_hi = true;
            c->hi = n->num;
            c->hi_incl = op->str[1] == '=';
        } else if (strcmp(op->str, "=") == 0 && arr->n == 2) {
            c->has_lo = c->has_hi = c->lo_incl = c->hi_incl = true;
            c->lo = c->hi = n->num;
        } else {
            return false;
        }
    }
    return true;
}

static bool cond(const struct json_value *v, struct fcond *c, struct arena *a)
{
    if (v->type != JSON_OBJECT)
        return literal(v, c, a);
    if (v->n != 1)
        return false;
    const struct json_value *m = &v->items[0];
    memset(c, 0, sizeof(*c));
    if (strcmp(m->key, "exists") == 0) {
        if (m->type != JSON_TRUE && m->type != JSON_FALSE)
            return false;
        c->kind = C_EXISTS;
        c->exists = m->type == JSON_TRUE;
        return true;
    }
    if (strcmp(m->key, "prefix") == 0) {
        if (m->type != JSON_STRING)
            return false;
        c->kind = C_PREFIX;
        c->s = arena_strndup(a, m->str, m->len);
        c->len = m->len;
        return true;
    }
    if (strcmp(m->key, "numeric") == 0)
        return range(m, c);
    if (strcmp(m->key, "anything-but") == 0) {
        c->kind = C_ABUT;
        size_t n = m->type == JSON_ARRAY ? m->n : 1;
        if (n == 0)
            return false;
        c->list = arena_zalloc(a, n * sizeof(*c->list));
        c->n_list = n;
        for (size_t i = 0; i < n; i++) {
            const struct json_value *x = m->type == JSON_ARRAY ? &m->items[i] : m;
            if (!literal(x, &c->list[i], a) || (c->list[i].kind != C_STR && c->list[i].kind != C_NUM))
                return false;
            /* a list mixing strings and numbers is the automaton's call */
            if (i > 0 && c->list[i].kind != c->list[0].kind)
                return false;
        }
        return true;
    }
    return false;
}

/* A literal as a value of fact f, or false when no value of f equals it. */
static bool fact_literal(int f, const struct fcond *c, double *x)
{
    int ft = detect__flow_fact_type(f);
    switch (c->kind) {
    case C_STR: {
        int code = ft == FT_ENUM ? detect__flow_fact_code(f, c->s, c->len) : -1;
        *x = code;
        return code > 0;
    }
    case C_NUM: *x = c->num; return ft == FT_NUM;
    case C_TRUE: *x = 1; return ft == FT_BOOL;
    case C_FALSE: *x = 0; return ft == FT_BOOL;
    default: return false;
    }
}

/* The numeric form of a flow field's alternatives, when every one has one
 * (exists, prefix and null keep the general test). */
static void typed(enum event_source src, struct ffield *f, struct arena *a)
{
    f->fact = -1;
    if (src != EVENT_VPCFLOW)
        return;
    int fc = f->dv >= 0 ? f->dv : f->raw >= 0 ? DVF_N + f->raw : -1;
    if (fc < 0 || fc >= 32 || detect__flow_fact_type(fc) == FT_NONE)
        return;
    struct tcond *t = arena_zalloc(a, f->n_alt * sizeof(*t));
    for (size_t k = 0; k < f->n_alt; k++) {
        const struct fcond *c = &f->alt[k];
        switch (c->kind) {
        case C_STR:
        case C_NUM:
        case C_TRUE:
        case C_FALSE:
            t[k].op = fact_literal(fc, c, &t[k].x) ? T_EQ : T_NEVER;
            break;
        case C_RANGE:
            t[k].op = detect__flow_fact_type(fc) == FT_NUM ? T_RANGE : T_NEVER;
            t[k].c = c;
            break;
        case C_ABUT:
            t[k].op = T_NOTIN;
            t[k].in = arena_zalloc(a, (c->n_list ? c->n_list : 1) * sizeof(*t[k].in));
            for (size_t i = 0; i < c->n_list; i++)
                if (fact_literal(fc, &c->list[i], &t[k].in[t[k].n_in]))
                    t[k].n_in++;
            break;
        default:
            return; /* exists, prefix, null: the general test */
        }
    }
    f->t = t;
    f->fact = fc;
}

/* How early a field is tested: equality with a few literals (a port, an
 * action) rules out most records; a number range (packets) many; booleans
 * (remote_public, ipv6) and anything-but few. Record paths cost a search. */
static int rank_of(const struct ffield *f)
{
    int r = 0;
    bool eq = true, range = false, boolean = false;
    for (size_t k = 0; k < f->n_alt; k++) {
        uint8_t kd = f->alt[k].kind;
        if (kd == C_RANGE)
            range = true;
        else if (kd == C_TRUE || kd == C_FALSE)
            boolean = true;
        else if (kd != C_STR && kd != C_NUM)
            eq = false;
    }
    if (!eq)
        r = 40;
    else if (boolean)
        r = 30;
    else if (range)
        r = 10;
    else
        r = f->n_alt <= 4 ? 0 : 20;
    return r + f->cost;
}

static bool compile_obj(enum event_source src, const struct json_value *root, struct fwhere *w);

/* "$or": [{...}, {...}]: each alternative a conjunction of its own. */
static bool compile_or(enum event_source src, const struct json_value *m, struct ffield *f)
{
    if (m->type != JSON_ARRAY || m->n == 0)
        return false;
    f->sub = xcalloc(m->n, sizeof(*f->sub));
    for (size_t k = 0; k < m->n; k++) {
        const struct json_value *o = &m->items[k];
        if (o->type != JSON_OBJECT || o->n == 0)
            return false;
        struct fwhere *sw = xcalloc(1, sizeof(*sw));
        arena_init(&sw->a, 512);
        f->sub[f->n_sub++] = sw;
        if (!compile_obj(src, o, sw))
            return false;
    }
    f->dv = f->raw = f->fact = -1;
    f->cost = 3;
    return true;
}

static bool compile_obj(enum event_source src, const struct json_value *root, struct fwhere *w)
{
    w->f = xcalloc(root->n, sizeof(*w->f));
    w->n = root->n;
    for (size_t i = 0; i < root->n; i++) {
        const struct json_value *m = &root->items[i];
        struct ffield *f = &w->f[i];
        f->atom = -1;
        f->fact = -1;
        if (strcmp(m->key, "$or") == 0) {
            if (!compile_or(src, m, f))
                return false;
        } else {
            if (m->type != JSON_ARRAY || m->n == 0)
                return false;
            f->dv = detect__derived_find(src, m->key, m->key_len);
            f->raw = f->dv < 0 && src == EVENT_VPCFLOW ? detect__flow_raw_find(m->key, m->key_len) : -1;
            f->cost = f->dv >= 0 ? 0 : f->raw >= 0 ? 1 : 2;
            if (f->dv < 0 && f->raw < 0) {
                if (memchr(m->key, '.', m->key_len) && src != EVENT_DNS)
                    return false;
                f->path = arena_strndup(&w->a, m->key, m->key_len);
                f->path_len = (uint32_t)m->key_len;
                f->path_hash = json_path_hash(m->key, m->key_len);
            }
            f->alt = arena_zalloc(&w->a, m->n * sizeof(*f->alt));
            f->n_alt = m->n;
            for (size_t k = 0; k < m->n; k++)
                if (!cond(&m->items[k], &f->alt[k], &w->a))
                    return false;
            typed(src, f, &w->a);
        }
        struct buf b;
        buf_init(&b, 64);
        buf_append(&b, m->key, m->key_len);
        buf_append(&b, "=", 1);
        json_write_value(&b, m);
        f->ckey = arena_strndup(&w->a, b.p, b.len);
        buf_free(&b);
        f->rank = f->n_sub ? 100 : rank_of(f);
    }
    /* A conjunction: test the selective fields first, then the cheap ones
     * (stable, so equal ranks keep the rule's own order). */
    for (size_t i = 1; i < w->n; i++)
        for (size_t j = i; j > 0 && w->f[j - 1].rank > w->f[j].rank; j--) {
            struct ffield t = w->f[j];
            w->f[j] = w->f[j - 1];
            w->f[j - 1] = t;
        }
    return true;
}

/* Whether every field of w (and of its "$or" alternatives) is a derived
 * field: those are single values, so testing them directly decides exactly
 * what the automaton would. */
static bool only_derived(const struct fwhere *w)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct ffield *f = &w->f[i];
        for (size_t k = 0; k < f->n_sub; k++)
            if (!only_derived(f->sub[k]))
                return false;
        if (!f->n_sub && f->dv < 0)
            return false;
    }
    return true;
}

static void bool_tables(struct fwhere *w);

struct fwhere *detect__fwhere_compile(enum event_source src, const char *pattern)
{
    if (!pattern)
        return NULL;
    struct fwhere *w = xcalloc(1, sizeof(*w));
    arena_init(&w->a, 4096);
    struct json_value *root = NULL;
    bool ok = json_parse(pattern, strlen(pattern), &w->a, &root, NULL) == 0 &&
              root->type == JSON_OBJECT && root->n > 0 && compile_obj(src, root, w);
    /* CloudTrail record paths can hold arrays and repeated keys, where the
     * automaton's any-element semantics and a first-leaf test differ: only
     * patterns over derived fields are evaluated directly. */
    if (!ok || (src == EVENT_CLOUDTRAIL && !only_derived(w))) {
        detect__fwhere_free(w);
        return NULL;
    }
    bool_tables(w);
    return w;
}

/* ---- evaluation -------------------------------------------------------------------- */

/* One value as the evaluator sees it. */
struct fval {
    bool present;
    uint8_t type; /* JSON_* */
    struct sv s;
    const struct json_leaf *leaf; /* raw string leaves: decoded on demand */
    double num;
    bool num_ok;
};

static bool leaf_number(const char *p, size_t len, double *out)
{
    size_t i = len > 0 && p[0] == '-' ? 1 : 0;
    if (len > i && len - i <= 15) {
        int64_t v = 0;
        size_t k = i;
        while (k < len && p[k] >= '0' && p[k] <= '9')
            v = v * 10 + (p[k++] - '0');
        if (k == len) {
            *out = (double)(i ? -v : v);
            return true;
        }
    }
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp))
        return false;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    char *end = NULL;
    double d = strtod(tmp, &end);
    if (end != tmp + len || !isfinite(d))
        return false;
    *out = d;
    return true;
}

static void get(const struct ffield *f, const struct event *ev, const struct derived *dv,
                struct fval *v)
{
    memset(v, 0, sizeof(*v));
    if (f->dv >= 0) {
        const struct dval *d = &dv->v[f->dv];
        v->present = d->type != DV_NONE;
        switch (d->type) {
        case DV_STR: v->type = JSON_STRING; v->s = d->s; break;
        case DV_NUM: v->type = JSON_NUMBER; v->num = d->num; v->num_ok = true; break;
        case DV_BOOL: v->type = d->b ? JSON_TRUE : JSON_FALSE; break;
        default: break;
        }
        return;
    }
    if (f->raw >= 0) {
        const struct json_leaf *l = dv->raw[f->raw];
        if (l) {
            v->present = true;
            v->type = l->type;
            v->s = sv_make(l->val, l->val_len);
            v->leaf = l;
            if (l->type == JSON_NUMBER)
                v->num_ok = leaf_number(l->val, l->val_len, &v->num);
        }
        return;
    }
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (l->path_hash != f->path_hash || l->path_len != f->path_len ||
            memcmp(l->path, f->path, f->path_len) != 0)
            continue;
        v->present = true;
        v->type = l->type;
        v->s = sv_make(l->val, l->val_len);
        v->leaf = l;
        if (l->type == JSON_NUMBER)
            v->num_ok = leaf_number(l->val, l->val_len, &v->num);
        return;
    }
}

static bool str_eq(const struct fval *v, const char *s, size_t len, struct arena *a)
{
    if (!v->present || v->type != JSON_STRING)
        return false;
    struct sv t = v->s;
    if (v->leaf && v->leaf->escaped)
        t = json_leaf_str(v->leaf, a);
    return t.len == len && (len == 0 || memcmp(t.p, s, len) == 0);
}

static inline __attribute__((always_inline)) bool lit_eq(const struct fval *v, const struct fcond *c,
                                                        struct arena *a)
{
    switch (c->kind) {
    case C_STR: return str_eq(v, c->s, c->len, a);
    case C_NUM: return v->present && v->type == JSON_NUMBER && v->num_ok && v->num == c->num;
    case C_TRUE: return v->present && v->type == JSON_TRUE;
    case C_FALSE: return v->present && v->type == JSON_FALSE;
    case C_NULL: return v->present && v->type == JSON_NULL;
    default: return false;
    }
}

static inline __attribute__((always_inline)) bool holds(const struct fval *v, const struct fcond *c,
                                                       struct arena *a)
{
    switch (c->kind) {
    case C_EXISTS:
        return c->exists == v->present;
    case C_ABUT:
        if (!v->present)
            return false;
        for (size_t i = 0; i < c->n_list; i++)
            if (lit_eq(v, &c->list[i], a))
                return false;
        return true;
    case C_RANGE:
        if (!v->present || v->type != JSON_NUMBER || !v->num_ok)
            return false;
        if (c->has_lo && (c->lo_incl ? v->num < c->lo : v->num <= c->lo))
            return false;
        if (c->has_hi && (c->hi_incl ? v->num > c->hi : v->num >= c->hi))
            return false;
        return true;
    case C_PREFIX: {
        if (!v->present || v->type != JSON_STRING)
            return false;
        struct sv t = v->leaf && v->leaf->escaped ? json_leaf_str(v->leaf, a) : v->s;
        return t.len >= c->len && memcmp(t.p, c->s, c->len) == 0;
    }
    default:
        return lit_eq(v, c, a);
    }
}

static void bool_tables(struct fwhere *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct ffield *f = &w->f[i];
        for (size_t k = 0; k < f->n_sub; k++)
            bool_tables(f->sub[k]);
        if (f->dv < 0 || f->n_sub)
            continue;
        /* The values get() gives for a derived false, true and absent. */
        struct fval v[3];
        memset(v, 0, sizeof(v));
        v[0].present = v[1].present = true;
        v[0].type = JSON_FALSE;
        v[1].type = JSON_TRUE;
        f->bres = 0;
        for (int b = 0; b < 3; b++) {
            bool any = false;
            for (size_t k = 0; k < f->n_alt && !any; k++)
                any = holds(&v[b], &f->alt[k], &w->a);
            f->bres |= (uint8_t)(any << b);
        }
        f->btab = true;
    }
}

static bool fact_holds(const struct ffield *f, double x)
{
    for (size_t k = 0; k < f->n_alt; k++) {
        const struct tcond *t = &f->t[k];
        switch (t->op) {
        case T_EQ:
            if (x == t->x)
                return true;
            break;
        case T_RANGE: {
            const struct fcond *c = t->c;
            if (c->has_lo && (c->lo_incl ? x < c->lo : x <= c->lo))
                break;
            if (c->has_hi && (c->hi_incl ? x > c->hi : x >= c->hi))
                break;
            return true;
        }
        case T_NOTIN: {
            bool in = false;
            for (size_t i = 0; i < t->n_in && !in; i++)
                in = x == t->in[i];
            if (!in)
                return true;
            break;
        }
        default:
            break;
        }
    }
    return false;
}

bool detect__fwhere_eval(const struct fwhere *w, const struct event *ev, const struct derived *dv,
                         struct arena *a);

static bool field_holds(const struct ffield *f, const struct event *ev, const struct derived *dv,
                        struct arena *a)
{
    if (f->fact >= 0 && (dv->ffmask >> f->fact & 1))
        return fact_holds(f, (double)dv->ff[f->fact]);
    if (f->n_sub) {
        for (size_t k = 0; k < f->n_sub; k++)
            if (detect__fwhere_eval(f->sub[k], ev, dv, a))
                return true;
        return false;
    }
    if (f->btab) {
        const struct dval *d = &dv->v[f->dv];
        if (d->type == DV_BOOL)
            return f->bres >> d->b & 1;
        if (d->type == DV_NONE)
            return f->bres >> 2 & 1;
    }
    struct fval v;
    get(f, ev, dv, &v);
    for (size_t k = 0; k < f->n_alt; k++)
        if (holds(&v, &f->alt[k], a))
            return true;
    return false;
}

bool detect__fwhere_eval(const struct fwhere *w, const struct event *ev, const struct derived *dv,
                         struct arena *a)
{
    for (size_t i = 0; i < w->n; i++)
        if (!field_holds(&w->f[i], ev, dv, a))
            return false;
    return true;
}

/* ---- shared fields ------------------------------------------------------------------ */

struct fwatoms {
    char **keys;
    size_t n, cap;
};

struct fwatoms *detect__fwatoms_new(void) { return xcalloc(1, sizeof(struct fwatoms)); }

void detect__fwatoms_free(struct fwatoms *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s);
}

size_t detect__fwatoms_count(const struct fwatoms *s) { return s ? s->n : 0; }

void detect__fwhere_share(struct fwhere *w, struct fwatoms *s, enum event_source src)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        struct ffield *f = &w->f[i];
        char pre[8];
        snprintf(pre, sizeof(pre), "%d:", (int)src);
        size_t k;
        for (k = 0; k < s->n; k++)
            if (strncmp(s->keys[k], pre, strlen(pre)) == 0 && strcmp(s->keys[k] + strlen(pre), f->ckey) == 0)
                break;
        if (k == s->n) {
            if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 32;
                s->keys = xrealloc(s->keys, s->cap * sizeof(*s->keys));
            }
            struct buf b;
            buf_init(&b, 64);
            buf_append(&b, pre, strlen(pre));
            buf_append(&b, f->ckey, strlen(f->ckey));
            s->keys[s->n++] = xstrndup(b.p, b.len);
            buf_free(&b);
        }
        f->atom = (int)k;
    }
}

bool detect__fwhere_eval_cached(const struct fwhere *w, const struct event *ev,
                                const struct derived *dv, struct arena *a, struct fwcache *c)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct ffield *f = &w->f[i];
        bool ok;
        if (f->fact >= 0 && (dv->ffmask >> f->fact & 1)) {
            ok = fact_holds(f, (double)dv->ff[f->fact]);
        } else if (f->atom >= 0 && (size_t)f->atom < c->n) {
            uint64_t *slot = &c->v[f->atom];
            if ((*slot >> 1) == c->stamp) {
                ok = *slot & 1;
            } else {
                ok = field_holds(f, ev, dv, a);
                *slot = c->stamp << 1 | (ok ? 1 : 0);
            }
        } else {
            ok = field_holds(f, ev, dv, a);
        }
        if (!ok)
            return false;
    }
    return true;
}

bool detect__fwhere_bools(const struct fwhere *w, int *dvi, uint8_t *bres, size_t cap, size_t *n)
{
    if (!w || w->n > cap)
        return false;
    for (size_t i = 0; i < w->n; i++) {
        const struct ffield *f = &w->f[i];
        if (!f->btab || f->n_sub || f->fact >= 0 || f->dv < 0)
            return false;
        dvi[i] = f->dv;
        bres[i] = f->bres;
    }
    *n = w->n;
    return true;
}

/* ---- the gate: which flow patterns can hold, from the facts ------------------------------ */

/* Every test on a fact (equality, anything-but, a range) compares its value
 * with a few constants. Those constants cut the number line into points and
 * open intervals, within each of which every test gives one answer: per fact,
 * a table from the region a value falls in to the patterns whose tests on that
 * fact pass (patterns that do not test it included). A flow's AND over its
 * facts is exactly the set of patterns whose fact tests all pass; for a
 * pattern made only of fact tests ("typed") that decides it. */

#define GATE_FACTS 32

struct gfact {
    int fact;
    double *pt;      /* breakpoints, ascending */
    size_t n_pt;
    uint64_t *mask;  /* per region: 2 * n_pt + 1 */
    uint64_t tests;  /* patterns with a test on the fact */
    /* Facts whose breakpoints are small whole numbers (ports, protocols,
     * codes, booleans): the region of each whole value 0..tmax, so a flow's
     * value finds its region with one load instead of a binary search. */
    uint8_t *rt;
    uint32_t tmax;
    /* Derived facts: the fact is absent exactly when the derived value is
     * (derive.c), and a test on an absent value gives the same answer on
     * every line, so the gate decides it: the patterns whose tests on the
     * fact pass then. Raw fields' facts can be absent with the field there
     * (a "-"): absent_ok false, the full test decides. */
    bool absent_ok;
    uint64_t absent_mask;
};

struct fwgate {
    struct gfact f[GATE_FACTS];
    size_t n;
    uint64_t all;    /* one bit per pattern */
    uint64_t typed;  /* patterns decided by their fact tests alone */
};

void detect__fwgate_free(struct fwgate *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->f[i].pt);
        free(g->f[i].mask);
        free(g->f[i].rt);
    }
    free(g);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void add_pt(double **v, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = x;
}

/* A value inside region r (even: the open interval before point r/2 or after
 * the last; odd: point (r-1)/2). */
static double region_value(const struct gfact *gf, size_t r)
{
    if (r & 1)
        return gf->pt[(r - 1) / 2];
    if (gf->n_pt == 0)
        return 0;
    if (r == 0)
        return gf->pt[0] - 1;
    if (r == 2 * gf->n_pt)
        return gf->pt[gf->n_pt - 1] + 1;
    return (gf->pt[r / 2 - 1] + gf->pt[r / 2]) / 2;
}

/* The region of x: the open interval or the point of gf's breakpoints it
 * falls in. */
static size_t region_of(const struct gfact *gf, double x)
{
    size_t lo = 0, hi = gf->n_pt;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (gf->pt[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < gf->n_pt && gf->pt[lo] == x ? 2 * lo + 1 : 2 * lo;
}

#define GATE_TABLE_MAX 65535

static void build_region_table(struct gfact *gf)
{
    if (gf->n_pt == 0 || 2 * gf->n_pt + 1 > UINT8_MAX)
        return;
    for (size_t k = 0; k < gf->n_pt; k++)
        if (!(gf->pt[k] >= 0 && gf->pt[k] <= GATE_TABLE_MAX) ||
            (double)(uint32_t)gf->pt[k] != gf->pt[k])
            return;
    uint32_t tmax = (uint32_t)gf->pt[gf->n_pt - 1];
    uint8_t *rt = xmalloc((size_t)tmax + 1);
    for (uint32_t v = 0; v <= tmax; v++)
        rt[v] = (uint8_t)region_of(gf, v);
    gf->rt = rt;
    gf->tmax = tmax;
}

static bool gate_before(const struct gfact *a, const struct gfact *b)
{
    /* The late facts last: a line ruled out before them is not derived
     * further (detect__fwgate_mask_more). */
    uint32_t late = detect__flow_late_facts();
    bool la = late >> a->fact & 1, lb = late >> b->fact & 1;
    if (la != lb)
        return lb;
    int na = __builtin_popcountll(a->tests), nb = __builtin_popcountll(b->tests);
    if (na != nb)
        return na > nb;
    return a->n_pt < b->n_pt;
}

struct fwgate *detect__fwgate_build(const struct fwhere *const *w, size_t n)
{
    if (n == 0 || n > 64)
        return NULL;
    struct fwgate *g = xcalloc(1, sizeof(*g));
    g->all = n == 64 ? ~0ULL : (1ULL << n) - 1;
    struct arena scratch;
    arena_init(&scratch, 0);
    int slot_of[GATE_FACTS];
    for (int k = 0; k < GATE_FACTS; k++)
        slot_of[k] = -1;
    size_t cap[GATE_FACTS] = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (!w[i])
            continue;
        bool typed_all = true;
        for (size_t j = 0; j < w[i]->n; j++) {
            const struct ffield *f = &w[i]->f[j];
            if (f->fact < 0 || f->fact >= GATE_FACTS || f->n_sub) {
                typed_all = false;
                continue;
            }
            if (slot_of[f->fact] < 0) {
                slot_of[f->fact] = (int)g->n;
                g->f[g->n++].fact = f->fact;
            }
            struct gfact *gf = &g->f[slot_of[f->fact]];
            gf->tests |= 1ULL << i;
            size_t *c = &cap[slot_of[f->fact]];
            for (size_t k = 0; k < f->n_alt; k++) {
                const struct tcond *t = &f->t[k];
                if (t->op == T_EQ)
                    add_pt(&gf->pt, &gf->n_pt, c, t->x);
                else if (t->op == T_NOTIN)
                    for (size_t q = 0; q < t->n_in; q++)
                        add_pt(&gf->pt, &gf->n_pt, c, t->in[q]);
                else if (t->op == T_RANGE) {
                    if (t->c->has_lo)
                        add_pt(&gf->pt, &gf->n_pt, c, t->c->lo);
                    if (t->c->has_hi)
                        add_pt(&gf->pt, &gf->n_pt, c, t->c->hi);
                }
            }
        }
        if (typed_all)
            g->typed |= 1ULL << i;
    }
    for (size_t s = 0; s < g->n; s++) {
        struct gfact *gf = &g->f[s];
        if (gf->n_pt > 1)
            qsort(gf->pt, gf->n_pt, sizeof(*gf->pt), cmp_dbl);
        size_t m = 0;
        for (size_t k = 0; k < gf->n_pt; k++)
            if (m == 0 || gf->pt[m - 1] != gf->pt[k])
                gf->pt[m++] = gf->pt[k];
        gf->n_pt = m;
        size_t nr = 2 * m + 1;
        gf->mask = xcalloc(nr, sizeof(*gf->mask));
        if (gf->fact < DVF_N) {
            struct fval none;
            memset(&none, 0, sizeof(none));
            gf->absent_ok = true;
            gf->absent_mask = g->all;
            for (size_t i = 0; i < n; i++) {
                if (!(gf->tests >> i & 1))
                    continue;
                for (size_t j = 0; j < w[i]->n; j++) {
                    const struct ffield *f = &w[i]->f[j];
                    if (f->fact != gf->fact || f->n_sub)
                        continue;
                    bool any = false;
                    for (size_t k = 0; k < f->n_alt && !any; k++)
                        any = holds(&none, &f->alt[k], &scratch);
                    if (!any)
                        gf->absent_mask &= ~(1ULL << i);
                }
            }
        }
        for (size_t r = 0; r < nr; r++) {
            double x = region_value(gf, r);
            uint64_t mk = g->all;
            for (size_t i = 0; i < n; i++) {
                if (!(gf->tests >> i & 1))
                    continue;
                for (size_t j = 0; j < w[i]->n; j++) {
                    const struct ffield *f = &w[i]->f[j];
                    if (f->fact == gf->fact && !f->n_sub && !fact_holds(f, x))
                        mk &= ~(1ULL << i);
                }
            }
            gf->mask[r] = mk;
        }
        build_region_table(gf);
    }
    /* The mask is the same in any order, but the loop stops once no
     * pattern is left: facts that many patterns test come first, as they
     * rule most out (on the bench corpus's flows, 58% of lines keep none),
     * those derived late after all others. */
    for (size_t i = 1; i < g->n; i++)
        for (size_t j = i; j > 0 && gate_before(&g->f[j], &g->f[j - 1]); j--) {
            struct gfact t = g->f[j];
            g->f[j] = g->f[j - 1];
            g->f[j - 1] = t;
        }
    arena_free(&scratch);
    return g;
}

uint64_t detect__fwgate_mask(const struct fwgate *g, const struct derived *dv, uint64_t *exact)
{
    return detect__fwgate_mask_more(g, dv, exact, NULL, NULL);
}

uint64_t detect__fwgate_mask_more(const struct fwgate *g, const struct derived *dv,
                                  uint64_t *exact, void (*more)(void *), void *ctx)
{
    if (!g) {
        if (exact)
            *exact = 0;
        return ~0ULL;
    }
    uint64_t m = g->all, unsure = 0;
    for (size_t s = 0; s < g->n && m; s++) {
        const struct gfact *gf = &g->f[s];
        if (!(dv->ffmask >> gf->fact & 1)) {
            /* Pending facts are absent from ffmask: this branch is taken on
             * absent facts only, so present ones pay nothing for it. */
            if ((dv->late >> gf->fact & 1) && more) {
                more(ctx);
                more = NULL;
            }
            if (dv->late >> gf->fact & 1) {
                unsure |= gf->tests; /* still pending: the full test decides */
                continue;
            }
            if (!(dv->ffmask >> gf->fact & 1)) {
                if (gf->absent_ok) {
                    m &= gf->absent_mask;
                    continue;
                }
                /* No numeric form (a missing or odd field): the full test decides. */
                unsure |= gf->tests;
                continue;
            }
        }
        uint64_t xi = dv->ff[gf->fact];
        size_t r;
        if (gf->rt) /* past the last breakpoint (tmax) is the last region */
            r = xi > gf->tmax ? 2 * gf->n_pt : gf->rt[xi];
        else
            r = region_of(gf, (double)xi);
        m &= gf->mask[r];
    }
    if (exact)
        *exact = g->typed & ~unsure;
    return m;
}

/* ---- an index over one record field's string lists ---------------------------------- */

/* The `when`s of a new_value unit are often the same record field with a
 * list of names each (the IAM anomaly classes: eventName, and Discovery's
 * prefixes). The automaton visits the whole record for them; one pass over
 * the leaves of that field, a lookup and a few prefix tests per value, gives
 * every such `when` at once. A pattern is covered only when it is exactly
 * one undotted record field whose alternatives are all plain strings or
 * {"prefix": string}: it holds when some leaf of that path (an array's
 * elements and repeated keys included) is a string equal to one of them or
 * starting with one, which is the automaton's any-leaf semantics. */
struct fwprefix {
    char *s;
    size_t len;
    uint32_t mask;
};

struct fwindex {
    char *path;
    uint32_t path_len;
    uint64_t path_hash;
    uint32_t covered;
    struct hmap names; /* value -> mask of the patterns listing it */
    struct fwprefix *pfx;
    size_t n_pfx;
};

void detect__fwindex_free(struct fwindex *x)
{
    if (!x)
        return;
    hmap_free(&x->names);
    for (size_t i = 0; i < x->n_pfx; i++)
        free(x->pfx[i].s);
    free(x->pfx);
    free(x->path);
    free(x);
}

/* The prefix of alternative v when it is {"prefix": string}, else NULL. */
static const struct json_value *alt_prefix(const struct json_value *v)
{
    if (v->type != JSON_OBJECT || v->n != 1)
        return NULL;
    const struct json_value *m = &v->items[0];
    if (m->key_len != 6 || memcmp(m->key, "prefix", 6) != 0 || m->type != JSON_STRING)
        return NULL;
    return m;
}

/* The field and alternatives of pattern p when it is covered, else NULL. */
static const struct json_value *index_field(enum event_source src, const char *p,
                                            struct arena *a)
{
    struct json_value *root = NULL;
    if (json_parse(p, strlen(p), a, &root, NULL) != 0 || root->type != JSON_OBJECT ||
        root->n != 1)
        return NULL;
    const struct json_value *m = &root->items[0];
    if (m->key_len == 0 || m->key[0] == '$' || memchr(m->key, '.', m->key_len) ||
        strlen(m->key) != m->key_len || detect__derived_find(src, m->key, m->key_len) >= 0 ||
        m->type != JSON_ARRAY || m->n == 0)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].type != JSON_STRING && !alt_prefix(&m->items[i]))
            return NULL;
    return m;
}

struct fwindex *detect__fwindex_build(enum event_source src, const char *const *pats, size_t n)
{
    if (src != EVENT_CLOUDTRAIL)
        return NULL;
    struct fwindex *x = xcalloc(1, sizeof(*x));
    hmap_init(&x->names);
    struct arena a;
    arena_init(&a, 4096);
    for (size_t k = 0; k < n && k < 32; k++) {
        const struct json_value *m = pats[k] ? index_field(src, pats[k], &a) : NULL;
        if (!m)
            continue;
        if (!x->path) {
            x->path = xstrdup(m->key);
            x->path_len = (uint32_t)m->key_len;
            x->path_hash = json_path_hash(m->key, m->key_len);
        } else if (m->key_len != x->path_len || memcmp(m->key, x->path, m->key_len) != 0) {
            continue;
        }
        for (size_t i = 0; i < m->n; i++) {
            const struct json_value *v = &m->items[i];
            const struct json_value *pv = alt_prefix(v);
            if (pv) {
                size_t j = 0;
                while (j < x->n_pfx && (x->pfx[j].len != pv->len ||
                                        memcmp(x->pfx[j].s, pv->str, pv->len) != 0))
                    j++;
                if (j == x->n_pfx) {
                    x->pfx = xrealloc(x->pfx, (x->n_pfx + 1) * sizeof(*x->pfx));
                    x->pfx[j] = (struct fwprefix){ xmalloc(pv->len + 1), pv->len, 0 };
                    memcpy(x->pfx[j].s, pv->str, pv->len + 1);
                    x->n_pfx++;
                }
                x->pfx[j].mask |= 1u << k;
                continue;
            }
            uintptr_t had = (uintptr_t)hmap_get(&x->names, v->str, v->len);
            hmap_put(&x->names, v->str, v->len, (void *)(had | (uintptr_t)1 << k));
        }
        x->covered |= 1u << k;
    }
    arena_free(&a);
    if (!x->covered) {
        detect__fwindex_free(x);
        return NULL;
    }
    return x;
}

uint32_t detect__fwindex_covered(const struct fwindex *x) { return x ? x->covered : 0; }

uint32_t detect__fwindex_eval(const struct fwindex *x, const struct event *ev, struct arena *a)
{
    uint32_t m = 0;
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (l->path_hash != x->path_hash || l->path_len != x->path_len ||
            l->type != JSON_STRING || memcmp(l->path, x->path, x->path_len) != 0)
            continue;
        struct sv t = l->escaped ? json_leaf_str(l, a) : sv_make(l->val, l->val_len);
        m |= (uint32_t)(uintptr_t)hmap_get(&x->names, t.p, t.len);
        for (size_t j = 0; j < x->n_pfx; j++)
            if (t.len >= x->pfx[j].len && memcmp(t.p, x->pfx[j].s, x->pfx[j].len) == 0)
                m |= x->pfx[j].mask;
    }
    return m;
}
