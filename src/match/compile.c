/*
 * The pattern compiler: EventBridge pattern JSON -> sub-rules of fields.
 *
 * It follows aws/event-ruler 2.0.1's GenericMachine.addRule: the pattern is
 * compiled by JsonRuleCompiler (which knows "$or"); when that fails with a
 * syntax error (JsonParseException) it is compiled again by the older
 * RuleCompiler, for which "$or" is an ordinary field name and which knows
 * fewer anything-but forms. That is why {"$or":{"a":["1"]}} is a plain nested
 * field and {"$or":[{"a":["1"]}]} fails with "Unrecognized match type a".
 * Errors that event-ruler raises as IllegalArgumentException (CIDR syntax, a
 * single anything-but number that a double cannot hold) do not fall back.
 *
 * Messages are event-ruler's, followed by the position of the offending value.
 */
#include "match/match_int.h"

#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FAIL_NONE = 0, FAIL_PARSE, FAIL_ARG };

/* One field of a sub-rule while compiling: the path and its alternatives. */
struct plist {
    struct match_pat **pats;
    uint32_t n, cap;
    bool absent;
};

struct fent {
    const char *path;
    size_t path_len;
    const struct plist *pl;
};

struct fmap {
    struct fent *e;
    size_t n, cap;
};

struct rules {
    struct fmap *m;
    size_t n, cap;
};

struct cctx {
    struct arena *a;
    struct err *err;
    const char *text;
    size_t text_len;
    bool legacy; /* RuleCompiler: no $or, fewer anything-but forms */
    int fail;    /* FAIL_* of the first error */
};

/* ---- errors ---------------------------------------------------------------- */

static void where(const struct cctx *c, size_t off, size_t *line, size_t *col)
{
    size_t l = 1, start = 0;
    if (off > c->text_len)
        off = c->text_len;
    for (size_t i = 0; i < off; i++)
        if (c->text[i] == '\n') {
            l++;
            start = i + 1;
        }
    *line = l;
    *col = off - start + 1;
}

/* Where Jackson's parser stands once it has read the token of v: past an
 * opening quote (string contents are read lazily), past a number or literal,
 * past an opening bracket, or past the closing one when the complaint is about
 * the whole value (end). */
static size_t jackson_pos(const struct cctx *c, const struct json_value *v, bool end)
{
    if (!v)
        return 0;
    size_t off = v->offset;
    if (end) {
        struct err e;
        if (json_skip_value(c->text, c->text_len, &off, &e) != 0)
            off = v->offset;
        return off;
    }
    switch (v->type) {
    case JSON_NUMBER:
        return off + v->len;
    case JSON_TRUE:
    case JSON_NULL:
        return off + 4;
    case JSON_FALSE:
        return off + 5;
    default:
        return off + 1;
    }
}

/* event-ruler's JsonParseException: the message with the parser's position. */
__attribute__((format(printf, 4, 5))) static int barf_at(struct cctx *c,
                                                         const struct json_value *at, bool end,
                                                         const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t off = jackson_pos(c, at, end), line, col;
    where(c, off, &line, &col);
    c->fail = FAIL_PARSE;
    err_set(c->err, ERR_USAGE, "%s at line %zu, column %zu", msg, line, col);
    if (c->err)
        c->err->offset = at ? at->offset : 0;
    return ERR_USAGE;
}

#define barf(c, at, ...) barf_at((c), (at), false, __VA_ARGS__)

/* event-ruler's IllegalArgumentException: no position, no fallback. */
__attribute__((format(printf, 2, 3))) static int arg_error(struct cctx *c, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->fail = FAIL_ARG;
    err_set(c->err, ERR_USAGE, "%s", msg);
    return ERR_USAGE;
}

/* The text Jackson's getText() gives for a token, for messages. */
static const char *token_text(const struct json_value *v)
{
    if (!v)
        return "]";
    switch (v->type) {
    case JSON_STRING:
    case JSON_NUMBER:
        return v->str;
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    case JSON_OBJECT:
        return "{";
    default:
        return "[";
    }
}

/* ---- building blocks -------------------------------------------------------- */

static struct match_pat *new_pat(struct cctx *c, int kind)
{
    struct match_pat *p = arena_zalloc(c->a, sizeof(*p));
    p->kind = (uint8_t)kind;
    return p;
}

static const char *dup_quoted(struct cctx *c, const char *s, size_t len, bool before, bool after,
                              uint32_t *out_len)
{
    size_t n = len + before + after;
    char *q = arena_alloc(c->a, n + 1);
    size_t k = 0;
    if (before)
        q[k++] = '"';
    memcpy(q + k, s, len);
    k += len;
    if (after)
        q[k++] = '"';
    q[k] = '\0';
    *out_len = (uint32_t)n;
    return q;
}

static void pl_add(struct plist *pl, struct match_pat *p)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 4;
        pl->pats = xrealloc(pl->pats, pl->cap * sizeof(*pl->pats));
    }
    pl->pats[pl->n++] = p;
}

static void fmap_put(struct fmap *m, const char *path, size_t path_len, const struct plist *pl)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].path_len == path_len && memcmp(m->e[i].path, path, path_len) == 0) {
            m->e[i].pl = pl; /* a later duplicate key overrides, as in a Java map */
            return;
        }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
    }
    m->e[m->n++] = (struct fent){ path, path_len, pl };
}

static void fmap_copy(struct fmap *dst, const struct fmap *src)
{
    dst->n = dst->cap = src->n;
    dst->e = src->n ? xmalloc(src->n * sizeof(*dst->e)) : NULL;
    if (src->n)
        memcpy(dst->e, src->e, src->n * sizeof(*dst->e));
}

static void rules_push(struct rules *r, struct fmap m)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->m = xrealloc(r->m, r->cap * sizeof(*r->m));
    }
    r->m[r->n++] = m;
}

static void rules_clear(struct rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->m[i].e);
    r->n = 0;
}

static void rules_free(struct rules *r)
{
    rules_clear(r);
    free(r->m);
    r->m = NULL;
    r->cap = 0;
}

static void rules_copy(struct rules *dst, const struct rules *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++) {
        struct fmap m;
        fmap_copy(&m, &src->m[i]);
        rules_push(dst, m);
    }
}

/* ---- numbers ------------------------------------------------------------------ */

static bool is_number(const struct json_value *v)
{
    return v && v->type == JSON_NUMBER;
}

/* ComparableNumber.generate inside a caught IllegalArgumentException: barf. */
static int comparable(struct cctx *c, const struct json_value *v, double *out)
{
    if (!match__num_comparable(v->str, v->len, out))
        return barf(c, v, "Cannot compare number : %s", v->str);
    return 0;
}

static int numeric_expr(struct cctx *c, const struct json_value *arr, struct plist *pl)
{
    const struct json_value *it = arr->items;
    size_t n = arr->n;
    const struct json_value *e0 = n > 0 ? &it[0] : NULL, *e1 = n > 1 ? &it[1] : NULL;
    if (!e0 || e0->type != JSON_STRING)
        return barf(c, e0 ? e0 : arr, "Invalid member in numeric match: %s", token_text(e0));
    const char *op = e0->str;
    struct match_pat *p = new_pat(c, MP_RANGE);
    int rc;
    if (strcmp(op, "=") == 0) {
        if (!is_number(e1))
            return e1 ? barf(c, e1, "Value of equals must be numeric")
                      : barf_at(c, arr, true, "Value of equals must be numeric");
        if (n > 2)
            return barf(c, &it[2], "Too many elements in numeric expression");
        if ((rc = comparable(c, e1, &p->lo)) != 0)
            return rc;
        p->kind = MP_NUM_EQ;
    } else if (strcmp(op, ">=") == 0 || strcmp(op, ">") == 0) {
        if (!is_number(e1))
            return e1 ? barf(c, e1, "Value of %s must be numeric", op)
                      : barf_at(c, arr, true, "Value of %s must be numeric", op);
        p->lo_open = op[1] == '\0';
        if (n == 2) {
            if ((rc = comparable(c, e1, &p->lo)) != 0)
                return rc;
            p->hi = DBL_MAX;
        } else {
            const struct json_value *e2 = &it[2], *e3 = n > 3 ? &it[3] : NULL;
            if (e2->type != JSON_STRING)
                return barf(c, e2, "Bad value in numeric range: %s", token_text(e2));
            if (strcmp(e2->str, "<") == 0)
                p->hi_open = 1;
            else if (strcmp(e2->str, "<=") != 0)
                return barf(c, e2, "Bad numeric range operator: %s", e2->str);
            if (!is_number(e3))
                return barf(c, e3 ? e3 : arr, "Value of %s must be numeric", e2->str);
            if (n > 4)
                return barf(c, &it[4], "Too many terms in numeric range expression");
            if ((rc = comparable(c, e1, &p->lo)) != 0 || (rc = comparable(c, e3, &p->hi)) != 0)
                return rc;
            if (!(p->lo < p->hi))
                return barf_at(c, arr, true, "Bottom must be less than top");
        }
    } else if (strcmp(op, "<=") == 0 || strcmp(op, "<") == 0) {
        if (!is_number(e1))
            return e1 ? barf(c, e1, "Value of %s must be numeric", op)
                      : barf_at(c, arr, true, "Value of %s must be numeric", op);
        if (n > 2)
            return barf(c, &it[2], "Too many elements in numeric expression");
        if ((rc = comparable(c, e1, &p->hi)) != 0)
            return rc;
        p->lo = -DBL_MAX;
        p->hi_open = op[1] == '\0';
    } else {
        return barf(c, e1 ? e1 : e0, "Unrecognized numeric range operator: %s", op);
    }
    pl_add(pl, p);
    return 0;
}

/* ---- CIDR ----------------------------------------------------------------------- */

/* Java's Integer.parseInt. */
static bool parse_int(const char *s, size_t len, long *out)
{
    size_t i = 0;
    bool neg = false;
    if (len == 0)
        return false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
        if (len == 1)
            return false;
    }
    long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > (long)INT_MAX + 1)
            return false;
    }
    if (neg)
        v = -v;
    if (v > INT_MAX || v < INT_MIN)
        return false;
    *out = v;
    return true;
}

/* CIDR.cidr: the bottom is the address as written (host bits kept), the top
 * has the host bits set; /32 and /128 are refused. */
static int cidr_pat(struct cctx *c, const char *s, size_t len, struct plist *pl)
{
    /* String.split("/") drops trailing empty parts */
    size_t end = len;
    while (end > 0 && s[end - 1] == '/')
        end--;
    size_t slashes = 0, slash = 0;
    for (size_t i = 0; i < end; i++)
        if (s[i] == '/') {
            slashes++;
            slash = i;
        }
    if (slashes != 1 || (end == 0 && len > 0))
        return arg_error(c, "Malformed CIDR, one '/' required");
    long bits;
    if (!parse_int(s + slash + 1, end - slash - 1, &bits))
        return arg_error(c, "Malformed CIDR, mask bits must be an integer");
    if (bits < 0)
        return arg_error(c, "Malformed CIDR, mask bits must not be negative");
    struct match_pat *p = new_pat(c, MP_CIDR);
    int n = match__ip_parse(s, slash, p->ip_lo);
    if (n == 0)
        return arg_error(c, "Nonstandard IP address: %.*s", (int)slash, s);
    if (n < 0)
        return arg_error(c, "Invalid IP address: %.*s", (int)slash, s);
    if (n == 4 && bits > 31)
        return arg_error(c, "IPv4 mask bits must be < 32");
    if (n == 16 && bits > 127)
        return arg_error(c, "IPv6 mask bits must be < 128");
    p->ip_len = (uint8_t)n;
    long host = n * 8 - bits;
    for (int i = n - 1; i >= 0; i--) {
        uint8_t b = p->ip_lo[i];
        if (host >= 8)
            b = 0xff;
        else if (host > 0)
            b = (uint8_t)(b | ((1u << host) - 1));
        p->ip_hi[i] = b;
        host -= 8;
    }
    p->s = dup_quoted(c, s, len, false, false, &p->len);
    pl_add(pl, p);
    return 0;
}

/* ---- anything-but ----------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b, size_t alen, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

struct sitem {
    const char *s;
    uint32_t len;
};

static int sitem_cmp(const void *a, const void *b)
{
    const struct sitem *x = a, *y = b;
    return str_cmp(x->s, y->s, x->len, y->len);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Builds the set of an anything-but pattern from texts (already in the form
 * the kind matches on), sorted and without duplicates. */
static int ab_set(struct cctx *c, struct match_pat *p, struct sitem *items, size_t n)
{
    if (n)
        qsort(items, n, sizeof(*items), sitem_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || sitem_cmp(&items[k - 1], &items[i]) != 0)
            items[k++] = items[i];
    const char **set = arena_alloc(c->a, (k + 1) * sizeof(char *));
    uint32_t *lens = arena_alloc(c->a, (k + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < k; i++) {
        set[i] = items[i].s;
        lens[i] = items[i].len;
    }
    p->n_set = (uint32_t)k;
    p->set = set;
    p->set_len = lens;
    if (p->kind == MP_AB_EIC) {
        const struct match_eic **e = arena_alloc(c->a, (k + 1) * sizeof(*e));
        for (size_t i = 0; i < k; i++)
            e[i] = match__eic_compile(c->a, set[i], lens[i]);
        p->eics = e;
    } else if (p->kind == MP_AB_WILDCARD) {
        const struct match_wild **w = arena_alloc(c->a, (k + 1) * sizeof(*w));
        for (size_t i = 0; i < k; i++) {
            struct match_wild *one;
            struct err e2;
            err_clear(&e2);
            if (match__wild_compile(c->a, set[i], lens[i], &one, &e2) != 0)
                return barf(c, NULL, "%s", e2.msg);
            w[i] = one;
        }
        p->wilds = w;
    }
    return 0;
}

static const char *ab_set_message(int kind)
{
    switch (kind) {
    case MP_AB_EIC:
        return "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not "
               "supported.";
    case MP_AB_WILDCARD:
        return "wildcard match pattern must be a string";
    default:
        return "prefix/suffix match pattern must be a string";
    }
}

/* One string of a prefix/suffix/ignore-case/wildcard anything-but, in the
 * form its kind compares (event-ruler's generateValueBasedOnMatchType). */
static int ab_item(struct cctx *c, int kind, const struct json_value *v, struct sitem *out)
{
    if (v->type != JSON_STRING)
        return barf(c, v, "%s", ab_set_message(kind));
    if ((kind == MP_AB_PREFIX || kind == MP_AB_SUFFIX) && v->len == 0)
        return barf_at(c, v, true, "Null prefix/suffix not allowed");
    if (kind == MP_AB_PREFIX)
        out->s = dup_quoted(c, v->str, v->len, true, false, &out->len);
    else if (kind == MP_AB_SUFFIX)
        out->s = dup_quoted(c, v->str, v->len, false, true, &out->len);
    else if (kind == MP_AB_WILDCARD)
        out->s = dup_quoted(c, v->str, v->len, true, true, &out->len);
    else
        out->s = dup_quoted(c, v->str, v->len, false, false, &out->len);
    return 0;
}

static int anything_but(struct cctx *c, const struct json_value *expr, const struct json_value *v,
                        struct plist *pl)
{
    int kind = MP_AB_STR, rc;
    const struct json_value *t = v;
    if (v->type == JSON_OBJECT) {
        if (v->n == 0)
            return barf(c, v, "Anything-But expression name not found");
        const char *op = v->items[0].key;
        if (strcmp(op, "equals-ignore-case") == 0)
            kind = MP_AB_EIC;
        else if (strcmp(op, "prefix") == 0)
            kind = MP_AB_PREFIX;
        else if (strcmp(op, "suffix") == 0)
            kind = MP_AB_SUFFIX;
        else if (strcmp(op, "wildcard") == 0 && !c->legacy)
            kind = MP_AB_WILDCARD;
        else
            return barf(c, &v->items[0], "Unsupported anything-but pattern: %s", op);
        t = &v->items[0];
        if (c->legacy && (kind == MP_AB_PREFIX || kind == MP_AB_SUFFIX)) {
            /* RuleCompiler takes a single string only */
            if (t->type != JSON_STRING)
                return barf(c, t, "prefix/suffix match pattern must be a string");
            if (t->len == 0)
                return barf(c, t, "Null prefix/suffix not allowed");
            if (v->n > 1 || expr->n > 1)
                return barf(c, v->n > 1 ? &v->items[1] : &expr->items[1],
                            "Only one key allowed in match expression");
        }
    }
    if (t->type != JSON_ARRAY && t->type != JSON_STRING && t->type != JSON_NUMBER)
        return barf(c, t, "Value of anything-but must be an array or single string/number value.");

    struct match_pat *p = new_pat(c, kind);
    size_t n = t->type == JSON_ARRAY ? t->n : 1;
    struct sitem *items = xmalloc((n + 1) * sizeof(*items));
    double *nums = NULL;
    rc = 0;
    if (kind == MP_AB_STR) {
        bool has_num = false, has_str = false;
        nums = arena_alloc(c->a, (n + 1) * sizeof(double));
        size_t ns = 0, nn = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const struct json_value *e = t->type == JSON_ARRAY ? &t->items[i] : t;
            if (e->type == JSON_STRING) {
                items[ns].s = dup_quoted(c, e->str, e->len, false, false, &items[ns].len);
                ns++;
                has_str = true;
            } else if (e->type == JSON_NUMBER) {
                if (!match__num_comparable(e->str, e->len, &nums[nn])) {
                    /* in a list the exception is caught and re-raised as a
                     * parse error; a single number lets it escape */
                    rc = t->type == JSON_ARRAY
                             ? barf(c, e, "Cannot compare number : %s", e->str)
                             : arg_error(c, "Cannot compare number : %s", e->str);
                    break;
                }
                nn++;
                has_num = true;
            } else {
                rc = barf(c, e, "Inside anything but list, start|null|boolean is not supported.");
            }
        }
        if (rc == 0 && has_num == has_str)
            rc = barf_at(c, t, true,
                         "Inside anything but list, either all values are number or string, mixed "
                      "type is not supported");
        if (rc == 0 && has_num) {
            p->kind = MP_AB_NUM;
            qsort(nums, nn, sizeof(double), dbl_cmp);
            size_t k = 0;
            for (size_t i = 0; i < nn; i++)
                if (k == 0 || nums[k - 1] != nums[i])
                    nums[k++] = nums[i];
            p->nums = nums;
            p->n_set = (uint32_t)k;
        } else if (rc == 0) {
            rc = ab_set(c, p, items, ns);
        }
    } else {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = ab_item(c, kind, t->type == JSON_ARRAY ? &t->items[i] : t, &items[i]);
        if (rc == 0)
            rc = ab_set(c, p, items, n);
    }
    free(items);
    if (rc)
        return rc;
    if (v->type == JSON_OBJECT && v->n > 1)
        return barf(c, &v->items[1], "Too many elements in numeric expression");
    if (expr->n > 1)
        return barf(c, &expr->items[1], "Too many elements in numeric expression");
    pl_add(pl, p);
    return 0;
}

/* ---- match expressions -------------------------------------------------------------- */

static int one_key(struct cctx *c, const struct json_value *expr)
{
    if (expr->n > 1)
        return barf(c, &expr->items[1], "Only one key allowed in match expression");
    return 0;
}

static struct match_pat *eic_pat(struct cctx *c, int kind, const char *s, size_t len, bool before,
                                 bool after)
{
    struct match_pat *p = new_pat(c, kind);
    p->s = dup_quoted(c, s, len, before, after, &p->len);
    p->eic = match__eic_compile(c->a, p->s, p->len);
    return p;
}

/* {"prefix": {"equals-ignore-case": "x"}} and the suffix form. */
static int affix_eic(struct cctx *c, const struct json_value *expr, const struct json_value *v,
                     bool prefix, struct plist *pl)
{
    const char *name = prefix ? "Prefix" : "Suffix";
    if (v->n == 0)
        return barf(c, v, "%s expression name not found", name);
    const struct json_value *in = &v->items[0];
    if (strcmp(in->key, "equals-ignore-case") != 0)
        return barf(c, in, "Unsupported %s pattern: %s", prefix ? "prefix" : "suffix", in->key);
    if (in->type != JSON_STRING)
        return barf(c, in, "equals-ignore-case match pattern must be a string");
    if (v->n > 1)
        return barf(c, &v->items[1], "Only one key allowed in match expression");
    int rc = one_key(c, expr);
    if (rc)
        return rc;
    pl_add(pl, eic_pat(c, prefix ? MP_PREFIX_EIC : MP_SUFFIX_EIC, in->str, in->len, prefix,
                       !prefix));
    return 0;
}

static int match_expr(struct cctx *c, const struct json_value *expr, struct plist *pl)
{
    if (expr->n == 0)
        return barf(c, expr, "Match expression name not found");
    const struct json_value *v = &expr->items[0];
    const char *op = v->key;
    struct match_pat *p;
    int rc;
    if (strcmp(op, "exactly") == 0) {
        if (v->type != JSON_STRING)
            return barf(c, v, "exact match pattern must be a string");
        p = new_pat(c, MP_EXACT_STR);
        p->s = dup_quoted(c, v->str, v->len, false, false, &p->len);
    } else if (strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0) {
        bool prefix = op[0] == 'p';
        if (v->type == JSON_OBJECT)
            return affix_eic(c, expr, v, prefix, pl);
        if (v->type != JSON_STRING)
            return barf(c, v, "%s match pattern must be a string", op);
        p = new_pat(c, prefix ? MP_PREFIX : MP_SUFFIX);
        p->s = dup_quoted(c, v->str, v->len, prefix, !prefix, &p->len);
    } else if (strcmp(op, "numeric") == 0) {
        if (v->type != JSON_ARRAY)
            return barf(c, v, "Value of numeric must be an array.");
        if ((rc = numeric_expr(c, v, pl)) != 0)
            return rc;
        if (expr->n > 1)
            return barf(c, &expr->items[1], "Too many elements in numeric expression");
        return 0;
    } else if (strcmp(op, "anything-but") == 0) {
        return anything_but(c, expr, v, pl);
    } else if (strcmp(op, "exists") == 0) {
        if (v->type != JSON_TRUE && v->type != JSON_FALSE)
            return barf(c, v, "exists match pattern must be either true or false.");
        if ((rc = one_key(c, expr)) != 0)
            return rc;
        if (v->type == JSON_FALSE)
            pl->absent = true;
        else
            pl_add(pl, new_pat(c, MP_EXISTS));
        return 0;
    } else if (strcmp(op, "cidr") == 0) {
        if (v->type != JSON_STRING)
            return barf(c, v, "prefix match pattern must be a string");
        if ((rc = cidr_pat(c, v->str, v->len, pl)) != 0)
            return rc;
        return one_key(c, expr);
    } else if (strcmp(op, "equals-ignore-case") == 0) {
        if (v->type != JSON_STRING)
            return barf(c, v, "equals-ignore-case match pattern must be a string");
        p = eic_pat(c, MP_EIC, v->str, v->len, false, false);
    } else if (strcmp(op, "wildcard") == 0) {
        if (v->type != JSON_STRING)
            return barf(c, v, "wildcard match pattern must be a string");
        p = new_pat(c, MP_WILDCARD);
        p->s = dup_quoted(c, v->str, v->len, true, true, &p->len);
        struct match_wild *w;
        struct err e2;
        err_clear(&e2);
        if (match__wild_compile(c->a, p->s, p->len, &w, &e2) != 0)
            return barf_at(c, v, true, "%s", e2.msg);
        p->wild = w;
    } else {
        return barf(c, v, "Unrecognized match type %s", op);
    }
    if ((rc = one_key(c, expr)) != 0)
        return rc;
    pl_add(pl, p);
    return 0;
}

/* ---- objects, arrays and $or --------------------------------------------------------- */

static int value_list(struct cctx *c, const struct json_value *arr, struct plist *pl)
{
    int rc;
    for (size_t i = 0; i < arr->n; i++) {
        const struct json_value *e = &arr->items[i];
        struct match_pat *p;
        switch (e->type) {
        case JSON_OBJECT:
            if ((rc = match_expr(c, e, pl)) != 0)
                return rc;
            break;
        case JSON_STRING: {
            uint8_t ip[16];
            int n = match__ip_parse(e->str, e->len, ip);
            if (n > 0) {
                /* an address-looking string matches the address however it is
                 * written (CIDR.ipToRangeIfPossible) */
                p = new_pat(c, MP_IP_EQ);
                p->ip_len = (uint8_t)n;
                memcpy(p->ip_lo, ip, (size_t)n);
                memcpy(p->ip_hi, ip, (size_t)n);
            } else {
                p = new_pat(c, MP_EXACT_STR);
            }
            p->s = dup_quoted(c, e->str, e->len, false, false, &p->len);
            pl_add(pl, p);
            break;
        }
        case JSON_NUMBER: {
            /* both the literal text and, when a double holds it exactly, the
             * numeric value: 300 matches 3.0e2 (see docs/internals/match.md) */
            double d;
            if (match__num_comparable(e->str, e->len, &d)) {
                p = new_pat(c, MP_NUM_EQ);
                p->lo = d;
                pl_add(pl, p);
            }
            p = new_pat(c, MP_NUM_LIT);
            p->s = dup_quoted(c, e->str, e->len, false, false, &p->len);
            pl_add(pl, p);
            break;
        }
        case JSON_TRUE:
        case JSON_FALSE:
        case JSON_NULL: {
            const char *t = token_text(e);
            p = new_pat(c, MP_LIT);
            p->s = dup_quoted(c, t, strlen(t), false, false, &p->len);
            pl_add(pl, p);
            break;
        }
        default:
            return barf(c, e, "Match value must be String, number, true, false, or null");
        }
    }
    if (arr->n == 0)
        return barf_at(c, arr, true, "Empty arrays are not allowed");
    return 0;
}

static bool reserved_in_or(const char *k)
{
    static const char *const names[] = {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists",
        "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard",
        "not-equals-ignore-case", "date-after", "date-on-or-after", "date-before",
        "date-on-or-before", "in-date-range", "ip-address-in-range", "ip-address-not-in-range",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(k, names[i]) == 0)
            return true;
    return false;
}

static int parse_object(struct cctx *c, struct rules *r, const struct json_value *obj,
                        const char *prefix, size_t prefix_len, bool in_or);

static int parse_or(struct cctx *c, struct rules *r, const struct json_value *v,
                    const char *prefix, size_t prefix_len)
{
    if (v->type != JSON_ARRAY)
        return barf(c, v, "It must be an Array followed with $or.");
    struct rules current;
    rules_copy(&current, r);
    rules_clear(r);
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const struct json_value *e = &v->items[i];
        if (e->type != JSON_OBJECT) {
            rc = barf(c, e, "Only JSON object is allowed in array of $or relationship.");
            break;
        }
        struct rules branch;
        rules_copy(&branch, &current);
        if (branch.n == 0)
            rules_push(&branch, (struct fmap){ 0 });
        rc = parse_object(c, &branch, e, prefix, prefix_len, true);
        for (size_t k = 0; k < branch.n; k++)
            rules_push(r, branch.m[k]);
        free(branch.m);
        if (rc == 0 && r->n > MATCH_MAX_SUBRULES) {
            rc = err_set(c->err, ERR_LIMIT, "pattern expands to more than %d $or combinations",
                         MATCH_MAX_SUBRULES);
            c->fail = FAIL_ARG;
        }
    }
    if (rc == 0 && v->n < 2)
        rc = barf(c, v, "There must have at least 2 Objects in $or relationship.");
    rules_free(&current);
    return rc;
}

static int parse_object(struct cctx *c, struct rules *r, const struct json_value *obj,
                        const char *prefix, size_t prefix_len, bool in_or)
{
    if (obj->n == 0)
        return barf_at(c, obj, true, "Empty objects are not allowed");
    int rc = 0;
    for (size_t i = 0; i < obj->n && rc == 0; i++) {
        const struct json_value *m = &obj->items[i];
        const char *key = m->key;
        if (!c->legacy && strcmp(key, "$or") == 0) {
            rc = parse_or(c, r, m, prefix, prefix_len);
            continue;
        }
        if (in_or && reserved_in_or(key)) {
            rc = barf(c, m, "%s is Ruler reserved fieldName which cannot be used inside $or.",
                      key);
            break;
        }
        size_t plen = prefix_len ? prefix_len + 1 + m->key_len : m->key_len;
        char *path = arena_alloc(c->a, plen + 1);
        if (prefix_len) {
            memcpy(path, prefix, prefix_len);
            path[prefix_len] = '.';
            memcpy(path + prefix_len + 1, key, m->key_len);
        } else {
            memcpy(path, key, m->key_len);
        }
        path[plen] = '\0';
        if (m->type == JSON_OBJECT) {
            rc = parse_object(c, r, m, path, plen, in_or);
        } else if (m->type == JSON_ARRAY) {
            struct plist *pl = arena_zalloc(c->a, sizeof(*pl));
            rc = value_list(c, m, pl);
            /* the pattern array lives in the arena; the growing one is freed */
            if (pl->n) {
                struct match_pat **keep = arena_alloc(c->a, pl->n * sizeof(*keep));
                memcpy(keep, pl->pats, pl->n * sizeof(*keep));
                free(pl->pats);
                pl->pats = keep;
                pl->cap = pl->n;
            } else {
                free(pl->pats);
                pl->pats = NULL;
            }
            if (rc == 0) {
                if (r->n == 0)
                    rules_push(r, (struct fmap){ 0 });
                for (size_t k = 0; k < r->n; k++)
                    fmap_put(&r->m[k], path, plen, pl);
            }
        } else {
            rc = barf(c, m, "\"%s\" must be an object or an array", key);
        }
    }
    return rc;
}

/* ---- field order ----------------------------------------------------------------------- */

static uint32_t utf16_unit(uint32_t cp, bool high)
{
    if (cp < 0x10000)
        return cp;
    cp -= 0x10000;
    return high ? 0xD800 + (cp >> 10) : 0xDC00 + (cp & 0x3FF);
}

/* Java's String.compareTo: UTF-16 code unit order, which puts characters above
 * U+FFFF before U+E000..U+FFFF. */
static int java_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    while (i < alen && j < blen) {
        uint32_t x, y;
        i += match__utf8_next(a + i, alen - i, &x);
        j += match__utf8_next(b + j, blen - j, &y);
        if (x == y)
            continue;
        uint32_t hx = utf16_unit(x, true), hy = utf16_unit(y, true);
        if (hx != hy)
            return hx < hy ? -1 : 1;
        return utf16_unit(x, false) < utf16_unit(y, false) ? -1 : 1;
    }
    return (i < alen) - (j < blen);
}

static int field_cmp(const void *a, const void *b)
{
    const struct match_field *x = a, *y = b;
    return java_cmp(x->path, x->path_len, y->path, y->path_len);
}

static int compile_mode(struct cctx *c, const struct json_value *root, struct rules *r)
{
    if (root->type != JSON_OBJECT)
        return barf(c, root, "Filter is not an object");
    if (c->legacy)
        rules_push(r, (struct fmap){ 0 });
    return parse_object(c, r, root, "", 0, false);
}

int match__compile(struct arena *a, const char *text, size_t len, struct match_rule *out,
                   struct err *err)
{
    if (len > MATCH_MAX_PATTERN_LEN)
        return err_set(err, ERR_LIMIT, "pattern is %zu bytes, more than the %u allowed", len,
                       MATCH_MAX_PATTERN_LEN);
    struct json_value *root;
    struct err jerr;
    err_clear(&jerr);
    if (json_parse(text, len, a, &root, &jerr) != 0) {
        err_set(err, ERR_USAGE, "%s", jerr.msg);
        if (err)
            err->offset = jerr.offset;
        return ERR_USAGE;
    }
    struct cctx c = { .a = a, .err = err, .text = text, .text_len = len };
    struct rules r = { 0 };
    int rc = compile_mode(&c, root, &r);
    if (rc != 0 && c.fail == FAIL_PARSE) {
        /* GenericMachine.addRule falls back to RuleCompiler */
        rules_free(&r);
        c.legacy = true;
        c.fail = FAIL_NONE;
        rc = compile_mode(&c, root, &r);
    }
    if (rc != 0) {
        rules_free(&r);
        return rc;
    }
    out->n_sub = (uint32_t)r.n;
    out->subs = arena_zalloc(a, r.n * sizeof(*out->subs));
    for (size_t i = 0; i < r.n && rc == 0; i++) {
        struct fmap *m = &r.m[i];
        struct match_subrule *sr = &out->subs[i];
        if (m->n > MATCH_MAX_FIELDS) {
            rc = err_set(err, ERR_USAGE, "Size of rule exceeds max value of %d",
                         MATCH_MAX_FIELDS);
            break;
        }
        sr->n_field = (uint32_t)m->n;
        sr->fields = arena_zalloc(a, m->n * sizeof(*sr->fields));
        for (size_t k = 0; k < m->n; k++) {
            struct match_field *f = &sr->fields[k];
            f->path = m->e[k].path;
            f->path_len = (uint32_t)m->e[k].path_len;
            f->absent = m->e[k].pl->absent;
            f->n_pat = m->e[k].pl->n;
            f->pats = (const struct match_pat *const *)m->e[k].pl->pats;
        }
        qsort(sr->fields, sr->n_field, sizeof(*sr->fields), field_cmp);
    }
    rules_free(&r);
    return rc;
}

/* ---- canonical keys ----------------------------------------------------------------------- */

static void key_bytes(struct buf *out, const void *p, size_t len)
{
    uint32_t n = (uint32_t)len;
    buf_append(out, &n, sizeof(n));
    if (len)
        buf_append(out, p, len);
}

void match__pat_key(const struct match_pat *p, struct buf *out)
{
    buf_putc(out, (char)p->kind);
    switch (p->kind) {
    case MP_NUM_EQ:
        buf_append(out, &p->lo, sizeof(p->lo));
        break;
    case MP_RANGE:
        buf_append(out, &p->lo, sizeof(p->lo));
        buf_append(out, &p->hi, sizeof(p->hi));
        buf_putc(out, (char)(p->lo_open | p->hi_open << 1));
        break;
    case MP_IP_EQ:
    case MP_CIDR:
        buf_putc(out, (char)p->ip_len);
        buf_append(out, p->ip_lo, p->ip_len);
        buf_append(out, p->ip_hi, p->ip_len);
        break;
    case MP_EXISTS:
        break;
    case MP_AB_NUM:
        buf_append(out, &p->n_set, sizeof(p->n_set));
        buf_append(out, p->nums, p->n_set * sizeof(double));
        break;
    case MP_AB_STR:
    case MP_AB_PREFIX:
    case MP_AB_SUFFIX:
    case MP_AB_EIC:
    case MP_AB_WILDCARD:
        buf_append(out, &p->n_set, sizeof(p->n_set));
        for (uint32_t i = 0; i < p->n_set; i++)
            key_bytes(out, p->set[i], p->set_len[i]);
        break;
    default:
        key_bytes(out, p->s, p->len);
        break;
    }
}

/* ---- copying a compiled rule ------------------------------------------------------------ */

static const char *copy_bytes(struct arena *a, const char *s, size_t len)
{
    char *d = arena_alloc(a, len + 1);
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static const struct match_eic *copy_eic(struct arena *a, const struct match_eic *e)
{
    struct match_eic *d = arena_alloc(a, sizeof(*d));
    size_t n = 2 * (size_t)e->n, bytes = 0;
    for (size_t i = 0; i < n; i++)
        if (e->off[i] + e->len[i] > bytes)
            bytes = e->off[i] + e->len[i];
    uint32_t *off = arena_alloc(a, n * sizeof(uint32_t) + 1);
    uint8_t *len = arena_alloc(a, n + 1);
    if (n) {
        memcpy(off, e->off, n * sizeof(uint32_t));
        memcpy(len, e->len, n);
    }
    d->n = e->n;
    d->off = off;
    d->len = len;
    d->bytes = copy_bytes(a, e->bytes, bytes);
    return d;
}

static const struct match_wild *copy_wild(struct arena *a, const struct match_wild *w)
{
    struct match_wild *d = arena_alloc(a, sizeof(*d));
    const char **seg = arena_alloc(a, w->n_seg * sizeof(char *));
    uint32_t *seg_len = arena_alloc(a, w->n_seg * sizeof(uint32_t));
    for (uint32_t i = 0; i < w->n_seg; i++) {
        seg[i] = copy_bytes(a, w->seg[i], w->seg_len[i]);
        seg_len[i] = w->seg_len[i];
    }
    d->n_seg = w->n_seg;
    d->seg = seg;
    d->seg_len = seg_len;
    return d;
}

static const struct match_pat *copy_pat(struct arena *a, const struct match_pat *p)
{
    struct match_pat *d = arena_alloc(a, sizeof(*d));
    *d = *p;
    if (p->s)
        d->s = copy_bytes(a, p->s, p->len);
    if (p->eic)
        d->eic = copy_eic(a, p->eic);
    if (p->wild)
        d->wild = copy_wild(a, p->wild);
    uint32_t n = p->n_set;
    if (p->set) {
        const char **set = arena_alloc(a, (n + 1) * sizeof(char *));
        uint32_t *set_len = arena_alloc(a, (n + 1) * sizeof(uint32_t));
        for (uint32_t i = 0; i < n; i++) {
            set[i] = copy_bytes(a, p->set[i], p->set_len[i]);
            set_len[i] = p->set_len[i];
        }
        d->set = set;
        d->set_len = set_len;
    }
    if (p->nums) {
        double *nums = arena_alloc(a, (n + 1) * sizeof(double));
        if (n)
            memcpy(nums, p->nums, n * sizeof(double));
        d->nums = nums;
    }
    if (p->eics) {
        const struct match_eic **e = arena_alloc(a, (n + 1) * sizeof(*e));
        for (uint32_t i = 0; i < n; i++)
            e[i] = copy_eic(a, p->eics[i]);
        d->eics = e;
    }
    if (p->wilds) {
        const struct match_wild **w = arena_alloc(a, (n + 1) * sizeof(*w));
        for (uint32_t i = 0; i < n; i++)
            w[i] = copy_wild(a, p->wilds[i]);
        d->wilds = w;
    }
    return d;
}

void match__rule_copy(struct arena *a, const struct match_rule *src, struct match_rule *dst)
{
    dst->n_sub = src->n_sub;
    dst->subs = arena_alloc(a, (src->n_sub + 1) * sizeof(*dst->subs));
    for (uint32_t s = 0; s < src->n_sub; s++) {
        const struct match_subrule *ss = &src->subs[s];
        struct match_subrule *ds = &dst->subs[s];
        ds->n_field = ss->n_field;
        ds->fields = arena_alloc(a, (ss->n_field + 1) * sizeof(*ds->fields));
        for (uint32_t f = 0; f < ss->n_field; f++) {
            const struct match_field *sf = &ss->fields[f];
            struct match_field *df = &ds->fields[f];
            df->path = copy_bytes(a, sf->path, sf->path_len);
            df->path_len = sf->path_len;
            df->absent = sf->absent;
            df->n_pat = sf->n_pat;
            const struct match_pat **pats = arena_alloc(a, (sf->n_pat + 1) * sizeof(*pats));
            for (uint32_t k = 0; k < sf->n_pat; k++)
                pats[k] = copy_pat(a, sf->pats[k]);
            df->pats = pats;
        }
    }
}
