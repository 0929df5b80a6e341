/*
 * JSON filter patterns: { expr } over a JSON object event.
 *
 *   expr     := and ( '||' and )*            precedence ( ) > && > ||
 *   and      := atom ( '&&' atom )*
 *   atom     := '(' expr ')' | selector cond
 *   cond     := op value | IS NULL | IS TRUE | IS FALSE | NOT EXISTS
 *   selector := '$' ( '.' name | '.*' | '[' n ']' | '[*]' | '.[' 'key' ']' )+
 *
 * Semantics (AWS docs 2020-2025): a selector must reach a scalar; on an
 * object or array every comparison, = and != alike, is false. A missing
 * property makes every condition false except NOT EXISTS. Wildcard selectors
 * ([*], .*) are true when any selected value satisfies the condition; one
 * wildcard per selector, at most QUERY_FILTER_MAX_WILDCARDS wildcard
 * selectors per pattern. IS NOT and bare EXISTS are rejected as AWS does.
 */
#include "query/query_int.h"

#include <string.h>

enum jnode_kind { JN_AND, JN_OR, JN_COND };
enum jcond_kind { JC_CMP, JC_IS_NULL, JC_IS_TRUE, JC_IS_FALSE, JC_NOT_EXISTS };

/* Parenthesis nesting limit; the recursive-descent parser recurses per level. */
#define JSON_PAT_MAX_DEPTH 64

struct query__jnode {
    uint8_t kind;
    uint8_t cond; /* JN_COND */
    uint8_t op;   /* JC_CMP: enum query__op */
    const struct query__jnode *a, *b; /* JN_AND / JN_OR */
    struct query__selector sel;
    struct query__val val;
};

struct jparser {
    struct query__lex *lx;
    unsigned depth;
    unsigned wildcards;
};

static bool at(struct query__lex *lx, const char *s)
{
    size_t n = strlen(s);
    return lx->len - lx->pos >= n && memcmp(lx->p + lx->pos, s, n) == 0;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A keyword (IS, NOT, ...) at lx->pos, as a view; empty when none. */
static struct sv peek_word(struct query__lex *lx)
{
    size_t i = lx->pos;
    while (i < lx->len && is_alpha(lx->p[i]))
        i++;
    return sv_make(lx->p + lx->pos, i - lx->pos);
}

static struct query__step *add_step(struct query__lex *lx, struct query__step **steps, size_t *n,
                                    size_t *cap)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct query__step *ns = arena_alloc(lx->arena, ncap * sizeof(*ns));
        if (*n)
            memcpy(ns, *steps, *n * sizeof(*ns));
        *steps = ns;
        *cap = ncap;
    }
    struct query__step *st = &(*steps)[(*n)++];
    memset(st, 0, sizeof(*st));
    return st;
}

/* ['key'] or ["key"] at lx->pos (the '['). */
static int bracket_key(struct query__lex *lx, struct query__step *st)
{
    size_t open = lx->pos;
    char q = lx->p[lx->pos + 1];
    size_t b = lx->pos + 2, i = b;
    while (i < lx->len && lx->p[i] != q)
        i++;
    if (i + 1 >= lx->len || lx->p[i + 1] != ']')
        return query__syntax(lx, open, "a quoted property [%c...%c] must be closed by %c]", q, q,
                             q);
    st->kind = QSTEP_KEY;
    st->key = arena_strndup(lx->arena, lx->p + b, i - b);
    lx->pos = i + 2;
    return 0;
}

int query__json_selector(struct query__lex *lx, struct query__selector *sel)
{
    size_t start = lx->pos, cap = 0;
    memset(sel, 0, sizeof(*sel));
    if (lx->pos >= lx->len || lx->p[lx->pos] != '$')
        return query__syntax(lx, lx->pos, "expected a selector starting with '$'");
    lx->pos++;
    unsigned wild = 0;
    for (;;) {
        size_t here = lx->pos;
        char c = here < lx->len ? lx->p[here] : 0;
        char c1 = here + 1 < lx->len ? lx->p[here + 1] : 0;
        struct query__step *st;
        int rc;
        if (c == '.' && c1 == '*') {
            st = add_step(lx, &sel->steps, &sel->n, &cap);
            st->kind = QSTEP_ANY_KEY;
            wild++;
            lx->pos += 2;
        } else if (c == '.' && c1 == '[' && (here + 2 < lx->len) &&
                   (lx->p[here + 2] == '\'' || lx->p[here + 2] == '"')) {
            lx->pos++;
            st = add_step(lx, &sel->steps, &sel->n, &cap);
            if ((rc = bracket_key(lx, st)) != 0)
                return rc;
        } else if (c == '.') {
            size_t i = here + 1;
            while (i < lx->len && is_name_char(lx->p[i]))
                i++;
            if (i == here + 1)
                return query__syntax(lx, here, "expected a property name after '.' (letters, "
                                               "digits, '_' and '-'; use $.['a.b'] for other "
                                               "keys)");
            st = add_step(lx, &sel->steps, &sel->n, &cap);
            st->kind = QSTEP_KEY;
            st->key = arena_strndup(lx->arena, lx->p + here + 1, i - here - 1);
            lx->pos = i;
        } else if (c == '[') {
            if (c1 == '\'' || c1 == '"') {
                st = add_step(lx, &sel->steps, &sel->n, &cap);
                if ((rc = bracket_key(lx, st)) != 0)
                    return rc;
                continue;
            }
            if (sel->n == 0)
                return query__syntax(lx, here, "an array index must follow a property, as in "
                                               "$.items[0]");
            if (c1 == '*' && here + 2 < lx->len && lx->p[here + 2] == ']') {
                st = add_step(lx, &sel->steps, &sel->n, &cap);
                st->kind = QSTEP_ANY_INDEX;
                wild++;
                lx->pos += 3;
                continue;
            }
            size_t i = here + 1;
            uint64_t idx = 0;
            while (i < lx->len && lx->p[i] >= '0' && lx->p[i] <= '9') {
                idx = idx * 10 + (uint64_t)(lx->p[i] - '0');
                if (idx > 100000000)
                    return query__syntax(lx, here, "array index too large");
                i++;
            }
            if (i == here + 1 || i >= lx->len || lx->p[i] != ']')
                return query__syntax(lx, here, "expected [number] or [*] after the property");
            st = add_step(lx, &sel->steps, &sel->n, &cap);
            st->kind = QSTEP_INDEX;
            st->index = (size_t)idx;
            lx->pos = i + 1;
        } else {
            break;
        }
    }
    if (sel->n == 0)
        return query__syntax(lx, start, "a selector needs a property after '$', as in $.name");
    if (wild > 1)
        return query__syntax(lx, start, "only one wildcard ([*] or .*) is allowed per selector");
    sel->wildcard = wild > 0;
    return 0;
}

static struct query__jnode *node(struct query__lex *lx, uint8_t kind)
{
    struct query__jnode *n = arena_zalloc(lx->arena, sizeof(*n));
    n->kind = kind;
    return n;
}

static int parse_or(struct jparser *jp, const struct query__jnode **out);

static int parse_cond(struct jparser *jp, const struct query__jnode **out)
{
    struct query__lex *lx = jp->lx;
    struct query__jnode *n = node(lx, JN_COND);
    int rc = query__json_selector(lx, &n->sel);
    if (rc)
        return rc;
    if (n->sel.wildcard && ++jp->wildcards > QUERY_FILTER_MAX_WILDCARDS)
        return query__syntax(lx, lx->pos, "at most %d wildcard selectors are allowed in one "
                                          "pattern", QUERY_FILTER_MAX_WILDCARDS);
    query__skip_ws(lx);
    size_t here = lx->pos;
    struct sv w = peek_word(lx);
    enum query__op op;
    if (sv_eq_cstr(w, "IS")) {
        lx->pos += w.len;
        query__skip_ws(lx);
        struct sv k = peek_word(lx);
        if (sv_eq_cstr(k, "NULL"))
            n->cond = JC_IS_NULL;
        else if (sv_eq_cstr(k, "TRUE"))
            n->cond = JC_IS_TRUE;
        else if (sv_eq_cstr(k, "FALSE"))
            n->cond = JC_IS_FALSE;
        else if (sv_eq_cstr(k, "NOT"))
            return query__syntax(lx, here, "IS NOT is not supported: use NOT EXISTS, or != with "
                                           "a value");
        else
            return query__syntax(lx, lx->pos, "expected NULL, TRUE or FALSE after IS");
        lx->pos += k.len;
    } else if (sv_eq_cstr(w, "NOT")) {
        lx->pos += w.len;
        query__skip_ws(lx);
        struct sv k = peek_word(lx);
        if (!sv_eq_cstr(k, "EXISTS"))
            return query__syntax(lx, lx->pos, "expected EXISTS after NOT");
        lx->pos += k.len;
        n->cond = JC_NOT_EXISTS;
    } else if (sv_eq_cstr(w, "EXISTS")) {
        return query__syntax(lx, here, "EXISTS alone is not supported: use NOT EXISTS, or = * to "
                                       "require a value");
    } else if (query__parse_op(lx, &op)) {
        query__skip_ws(lx);
        n->cond = JC_CMP;
        n->op = (uint8_t)op;
        rc = query__parse_value(lx, ")}", op != QOP_EQ && op != QOP_NE, &n->val);
        if (rc)
            return rc;
    } else {
        return query__syntax(lx, here, "expected an operator (= != < <= > >=), IS or NOT EXISTS "
                                       "after the selector");
    }
    *out = n;
    return 0;
}

static int parse_atom(struct jparser *jp, const struct query__jnode **out)
{
    struct query__lex *lx = jp->lx;
    query__skip_ws(lx);
    if (lx->pos < lx->len && lx->p[lx->pos] == '(') {
        size_t open = lx->pos;
        if (++jp->depth > JSON_PAT_MAX_DEPTH)
            return query__syntax(lx, open, "parentheses nested too deeply");
        lx->pos++;
        int rc = parse_or(jp, out);
        if (rc)
            return rc;
        query__skip_ws(lx);
        if (lx->pos >= lx->len || lx->p[lx->pos] != ')')
            return query__syntax(lx, open, "'(' is not closed by ')'");
        lx->pos++;
        jp->depth--;
        return 0;
    }
    if (lx->pos < lx->len && lx->p[lx->pos] == '$')
        return parse_cond(jp, out);
    if (lx->pos >= lx->len || lx->p[lx->pos] == '}')
        return query__syntax(lx, lx->pos, "expected a condition such as $.name = value");
    return query__syntax(lx, lx->pos, "expected a selector ($.name) or '('");
}

static int parse_and(struct jparser *jp, const struct query__jnode **out)
{
    const struct query__jnode *a;
    int rc = parse_atom(jp, &a);
    while (rc == 0) {
        query__skip_ws(jp->lx);
        if (!at(jp->lx, "&&"))
            break;
        jp->lx->pos += 2;
        const struct query__jnode *b;
        if ((rc = parse_atom(jp, &b)) != 0)
            break;
        struct query__jnode *n = node(jp->lx, JN_AND);
        n->a = a;
        n->b = b;
        a = n;
    }
    *out = a;
    return rc;
}

static int parse_or(struct jparser *jp, const struct query__jnode **out)
{
    const struct query__jnode *a;
    int rc = parse_and(jp, &a);
    while (rc == 0) {
        query__skip_ws(jp->lx);
        if (!at(jp->lx, "||"))
            break;
        jp->lx->pos += 2;
        const struct query__jnode *b;
        if ((rc = parse_and(jp, &b)) != 0)
            break;
        struct query__jnode *n = node(jp->lx, JN_OR);
        n->a = a;
        n->b = b;
        a = n;
    }
    *out = a;
    return rc;
}

int query__json_compile(struct query__lex *lx, struct query__jnode **out)
{
    struct jparser jp = { .lx = lx };
    size_t open = lx->pos;
    lx->pos++; /* '{' */
    const struct query__jnode *root;
    int rc = parse_or(&jp, &root);
    if (rc)
        return rc;
    query__skip_ws(lx);
    if (lx->pos >= lx->len)
        return query__syntax(lx, open, "'{' is not closed by '}'");
    if (lx->p[lx->pos] != '}') {
        if (lx->p[lx->pos] == ')')
            return query__syntax(lx, lx->pos, "')' without a matching '('");
        return query__syntax(lx, lx->pos, "expected &&, || or '}'");
    }
    lx->pos++;
    query__skip_ws(lx);
    if (lx->pos < lx->len)
        return query__syntax(lx, lx->pos, "unexpected text after the closing '}'");
    *out = (struct query__jnode *)root;
    return 0;
}

/* ---- evaluation ------------------------------------------------------------- */

static bool test_value(const struct query__jnode *c, const struct json_value *v,
                       struct query__re_work *w)
{
    switch (c->cond) {
    case JC_IS_NULL:
        return v->type == JSON_NULL;
    case JC_IS_TRUE:
        return v->type == JSON_TRUE;
    case JC_IS_FALSE:
        return v->type == JSON_FALSE;
    case JC_NOT_EXISTS:
        return true; /* reached: it exists; the caller negates */
    default:
        break;
    }
    const char *text;
    size_t len;
    switch (v->type) {
    case JSON_STRING:
    case JSON_NUMBER:
        text = v->str;
        len = v->len;
        break;
    case JSON_TRUE:
        text = "true";
        len = 4;
        break;
    case JSON_FALSE:
        text = "false";
        len = 5;
        break;
    case JSON_NULL:
        text = "null";
        len = 4;
        break;
    default:
        return false; /* objects and arrays: "the filter will not be applied" */
    }
    return query__compare(&c->val, (enum query__op)c->op, text, len, v->type == JSON_NUMBER,
                          v->num, w);
}

/* True when some value the selector reaches from v satisfies c. */
static bool select_any(const struct query__step *st, size_t n, const struct json_value *v,
                       const struct query__jnode *c, struct query__re_work *w)
{
    if (n == 0)
        return test_value(c, v, w);
    switch (st->kind) {
    case QSTEP_KEY: {
        if (v->type != JSON_OBJECT)
            return false;
        const struct json_value *m = json_get(v, st->key);
        return m && select_any(st + 1, n - 1, m, c, w);
    }
    case QSTEP_INDEX:
        return v->type == JSON_ARRAY && st->index < v->n &&
               select_any(st + 1, n - 1, &v->items[st->index], c, w);
    case QSTEP_ANY_INDEX:
        if (v->type != JSON_ARRAY)
            return false;
        for (size_t i = 0; i < v->n; i++)
            if (select_any(st + 1, n - 1, &v->items[i], c, w))
                return true;
        return false;
    default: /* QSTEP_ANY_KEY */
        if (v->type != JSON_OBJECT)
            return false;
        for (size_t i = 0; i < v->n; i++)
            if (select_any(st + 1, n - 1, &v->items[i], c, w))
                return true;
        return false;
    }
}

bool query__json_eval(const struct query__jnode *n, const struct json_value *root,
                      struct query__re_work *w)
{
    switch (n->kind) {
    case JN_AND:
        return query__json_eval(n->a, root, w) && query__json_eval(n->b, root, w);
    case JN_OR:
        return query__json_eval(n->a, root, w) || query__json_eval(n->b, root, w);
    default:
        if (n->cond == JC_NOT_EXISTS)
            return !select_any(n->sel.steps, n->sel.n, root, n, w);
        return select_any(n->sel.steps, n->sel.n, root, n, w);
    }
}

const struct json_value *query__json_resolve(const struct query__selector *sel,
                                             const struct json_value *root)
{
    const struct json_value *v = root;
    for (size_t i = 0; i < sel->n && v; i++) {
        const struct query__step *st = &sel->steps[i];
        if (st->kind == QSTEP_KEY)
            v = v->type == JSON_OBJECT ? json_get(v, st->key) : NULL;
        else if (st->kind == QSTEP_INDEX)
            v = v->type == JSON_ARRAY && st->index < v->n ? &v->items[st->index] : NULL;
        else
            v = NULL;
    }
    return v;
}
