/*
 * Space-delimited filter patterns: [slot, slot, ...] over the fields of a
 * log line.
 *
 *   slot := '...'                     any number (0+) of fields
 *         | name                      one field, any value
 *         |                           one unnamed field (the 2020 docs end a
 *                                     pattern with a trailing comma)
 *         | name op value (('&&' | '||') name op value)*
 *
 * Event fields are separated by spaces/tabs; a field that starts with '"'
 * runs to the next '"', one that starts with '[' to the next ']', and the
 * quotes/brackets are not part of the value (AWS docs). Every field of the
 * event must be accounted for by a slot ("The pattern needs to match with the
 * entire log event message"), so ellipses absorb the unknown ones.
 *
 * Conditions joined by && / || inside one slot must all name that slot's
 * field; && binds tighter than ||. The 2020 docs show a cross-field
 * "status_code = 4* && bytes > 1000" without saying what it means, so we
 * reject it rather than guess.
 */
#include "query/query_int.h"

#include <stdlib.h>
#include <string.h>

enum dslot_kind { DSLOT_FIELD, DSLOT_ELLIPSIS };

struct dcond {
    uint8_t op;
    bool or_before; /* starts a new ||-group */
    struct query__val val;
};

struct dslot {
    uint8_t kind;
    struct sv name; /* "$name" or SV_NULL */
    struct dcond *conds;
    size_t nconds;
    bool numeric; /* some condition needs the field as a number */
};

struct query__delim {
    struct dslot *slots;
    size_t n;
};

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static size_t read_name(struct query__lex *lx)
{
    size_t i = lx->pos;
    while (i < lx->len && is_name_char(lx->p[i]))
        i++;
    return i - lx->pos;
}

static bool at2(struct query__lex *lx, const char *s)
{
    return lx->len - lx->pos >= 2 && lx->p[lx->pos] == s[0] && lx->p[lx->pos + 1] == s[1];
}

static int parse_conds(struct query__lex *lx, struct dslot *sl, size_t name_at, size_t name_len)
{
    size_t cap = 0;
    bool next_or = false;
    for (;;) {
        enum query__op op;
        size_t op_at = lx->pos;
        if (!query__parse_op(lx, &op))
            return query__syntax(lx, op_at, "expected ',', ']' or an operator (= != < <= > >=) "
                                            "after field '%.*s'", (int)name_len,
                                 lx->p + name_at);
        query__skip_ws(lx);
        struct query__val v;
        int rc = query__parse_value(lx, ",]", op != QOP_EQ && op != QOP_NE, &v);
        if (rc)
            return rc;
        if (sl->nconds == cap) {
            size_t ncap = cap ? cap * 2 : 2;
            struct dcond *nc = arena_alloc(lx->arena, ncap * sizeof(*nc));
            if (sl->nconds)
                memcpy(nc, sl->conds, sl->nconds * sizeof(*nc));
            sl->conds = nc;
            cap = ncap;
        }
        sl->conds[sl->nconds++] = (struct dcond){ .op = (uint8_t)op, .or_before = next_or,
                                                  .val = v };
        if (v.kind == QVAL_NUM)
            sl->numeric = true;
        query__skip_ws(lx);
        if (at2(lx, "||"))
            next_or = true;
        else if (at2(lx, "&&"))
            next_or = false;
        else
            return 0;
        const char *conn = next_or ? "||" : "&&";
        lx->pos += 2;
        query__skip_ws(lx);
        size_t other_at = lx->pos, other_len = read_name(lx);
        if (other_len == 0)
            return query__syntax(lx, other_at, "expected a field name after '%s'", conn);
        if (other_len != name_len || memcmp(lx->p + other_at, lx->p + name_at, name_len) != 0)
            return query__syntax(lx, other_at, "conditions joined by %s must all name the same "
                                               "field ('%.*s' is not '%.*s'): give each field "
                                               "its own slot", conn, (int)other_len,
                                 lx->p + other_at, (int)name_len, lx->p + name_at);
        lx->pos += other_len;
        query__skip_ws(lx);
    }
}

int query__delim_compile(struct query__lex *lx, struct query__delim **out)
{
    struct query__delim *d = arena_zalloc(lx->arena, sizeof(*d));
    size_t open = lx->pos, cap = 0;
    lx->pos++; /* '[' */
    for (;;) {
        query__skip_ws(lx);
        if (lx->pos >= lx->len)
            return query__syntax(lx, open, "'[' is not closed by ']'");
        if (d->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct dslot *ns = arena_alloc(lx->arena, ncap * sizeof(*ns));
            if (d->n)
                memcpy(ns, d->slots, d->n * sizeof(*ns));
            d->slots = ns;
            cap = ncap;
        }
        struct dslot *sl = &d->slots[d->n++];
        memset(sl, 0, sizeof(*sl));
        size_t slot_at = lx->pos;
        char c = lx->p[lx->pos];
        if (lx->len - lx->pos >= 3 && memcmp(lx->p + lx->pos, "...", 3) == 0) {
            sl->kind = DSLOT_ELLIPSIS;
            lx->pos += 3;
        } else if (c == ',' || c == ']') {
            sl->kind = DSLOT_FIELD; /* unnamed */
        } else {
            size_t nlen = read_name(lx);
            if (nlen == 0)
                return query__syntax(lx, slot_at, "expected a field name, '...' or ']' (field "
                                                  "names use letters, digits, '_' and '-')");
            for (size_t k = 0; k + 1 < d->n; k++) {
                const struct sv *o = &d->slots[k].name;
                if (o->p && o->len == nlen + 1 && memcmp(o->p + 1, lx->p + slot_at, nlen) == 0)
                    return query__syntax(lx, slot_at, "field name '%.*s' is used twice",
                                         (int)nlen, lx->p + slot_at);
            }
            char *name = arena_alloc(lx->arena, nlen + 2);
            name[0] = '$';
            memcpy(name + 1, lx->p + slot_at, nlen);
            name[nlen + 1] = 0;
            sl->kind = DSLOT_FIELD;
            sl->name = sv_make(name, nlen + 1);
            lx->pos += nlen;
            query__skip_ws(lx);
            if (lx->pos < lx->len && lx->p[lx->pos] != ',' && lx->p[lx->pos] != ']') {
                int rc = parse_conds(lx, sl, slot_at, nlen);
                if (rc)
                    return rc;
            }
        }
        query__skip_ws(lx);
        if (lx->pos >= lx->len)
            return query__syntax(lx, open, "'[' is not closed by ']'");
        if (lx->p[lx->pos] == ']')
            break;
        if (lx->p[lx->pos] != ',')
            return query__syntax(lx, lx->pos, "expected ',' or ']'");
        lx->pos++;
    }
    lx->pos++; /* ']' */
    query__skip_ws(lx);
    if (lx->pos < lx->len)
        return query__syntax(lx, lx->pos, "unexpected text after the closing ']'");
    /* "[]" is one unnamed field by the grammar above; AWS has no such pattern. */
    if (d->n == 1 && d->slots[0].kind == DSLOT_FIELD && !d->slots[0].name.p)
        return query__syntax(lx, open, "a space-delimited pattern needs at least one field");
    *out = d;
    return 0;
}

int query__delim_field_index(const struct query__delim *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct sv *o = &d->slots[i].name;
        if (o->p && o->len == len + 1 && memcmp(o->p + 1, name, len) == 0)
            return (int)i;
    }
    return -1;
}

struct sv query__delim_slot_name(const struct query__delim *d, int32_t slot)
{
    if (slot < 0 || (size_t)slot >= d->n)
        return SV_NULL;
    return d->slots[slot].name;
}

void query__fields_free(struct query__fields *f)
{
    if (!f)
        return;
    free(f->v);
    free(f->slot);
    memset(f, 0, sizeof(*f));
}

static bool is_sep(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void push_field(struct query__fields *f, const char *p, size_t len)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
        f->slot = xrealloc(f->slot, f->cap * sizeof(*f->slot));
    }
    f->v[f->n] = sv_make(p, len);
    f->slot[f->n] = -1;
    f->n++;
}

/* Splits msg into fields; the count is bounded by len/2 + 1. */
static void tokenize(const char *msg, size_t len, struct query__fields *f)
{
    size_t i = 0;
    f->n = 0;
    for (;;) {
        while (i < len && is_sep(msg[i]))
            i++;
        if (i >= len)
            return;
        char c = msg[i];
        if (c == '"' || c == '[') {
            char close = c == '"' ? '"' : ']';
            const char *end = memchr(msg + i + 1, close, len - i - 1);
            size_t e = end ? (size_t)(end - msg) : len;
            push_field(f, msg + i + 1, e - i - 1);
            i = end ? e + 1 : len;
        } else {
            size_t b = i;
            while (i < len && !is_sep(msg[i]))
                i++;
            push_field(f, msg + b, i - b);
        }
    }
}

static bool slot_accepts(const struct dslot *sl, struct sv v, struct query__re_work *w)
{
    if (sl->nconds == 0)
        return true;
    double num = 0;
    bool is_num = sl->numeric && query__parse_number(v.p, v.len, &num);
    bool group = true;
    for (size_t i = 0; i < sl->nconds; i++) {
        const struct dcond *c = &sl->conds[i];
        if (c->or_before) {
            if (group)
                return true;
            group = true;
        }
        if (group)
            group = query__compare(&c->val, (enum query__op)c->op, v.p, v.len, is_num, num, w);
    }
    return group;
}

bool query__delim_match(const struct query__delim *d, const char *msg, size_t len,
                        struct query__fields *fields, struct query__re_work *w)
{
    tokenize(msg, len, fields);
    /* Wildcard matching with ellipses as '*' and slots as single-field
     * predicates: on a mismatch, retry from the last ellipsis with one more
     * field absorbed. Each slot consumes exactly one field, so the classic
     * one-backtrack-point algorithm is complete. */
    size_t i = 0, j = 0, n = fields->n;
    size_t star_i = SIZE_MAX, star_j = 0;
    while (j < n) {
        if (i < d->n && d->slots[i].kind == DSLOT_ELLIPSIS) {
            star_i = i++;
            star_j = j;
            continue;
        }
        if (i < d->n && slot_accepts(&d->slots[i], fields->v[j], w)) {
            fields->slot[j] = (int32_t)i;
            i++;
            j++;
            continue;
        }
        if (star_i == SIZE_MAX)
            return false;
        fields->slot[star_j] = -1; /* absorbed by the ellipsis */
        i = star_i + 1;
        j = ++star_j;
    }
    while (i < d->n && d->slots[i].kind == DSLOT_ELLIPSIS)
        i++;
    return i == d->n;
}
