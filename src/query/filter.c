/*
 * CloudWatch Logs filter patterns: dispatch on the pattern's shape, term
 * patterns, the comparison values shared by JSON and space-delimited
 * conditions, metric value references and the per-thread scratch.
 *
 * Term patterns (AWS docs, 2018-2025 text): words and "quoted phrases" must
 * all occur as substrings of the raw message; -term must not occur; ?term
 * terms are ORed, and are ignored when the pattern has any other term ("You
 * can't combine the question mark with other filter patterns"). An empty or
 * blank phrase ("" or " ") matches everything, as the docs promise.
 */
#include "query/query_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum term_kind { TERM_MUST, TERM_NOT, TERM_ANY };

struct term {
    const char *p;
    size_t len;
    uint8_t kind;
};

struct query_filter {
    struct arena arena; /* everything below lives here */
    enum query_filter_kind kind;
    struct term *terms;
    size_t nterms;
    bool any_only; /* only ?terms: OR them */
    struct query__re *re;
    struct query__jnode *json;
    struct query__delim *delim;
};

struct query_filter_scratch {
    struct arena arena; /* parsed JSON event, positional names; reset per match */
    struct query__re_work re;
    struct query__fields fields;
    struct query_filter_field *ext;
    size_t n_ext, ext_cap;
    const struct json_value *root; /* JSON event of the last match */
};

/* ---- lexing helpers ------------------------------------------------------ */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void query__skip_ws(struct query__lex *lx)
{
    while (lx->pos < lx->len && is_ws(lx->p[lx->pos]))
        lx->pos++;
}

int query__syntax(struct query__lex *lx, size_t pos, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(lx->err, ERR_USAGE, "column %zu: %s", pos + 1, msg);
}

bool query__parse_number(const char *p, size_t len, double *out)
{
    size_t i = 0;
    if (i < len && (p[i] == '+' || p[i] == '-'))
        i++;
    size_t d = i;
    while (i < len && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == d)
        return false;
    if (i < len && p[i] == '.') {
        i++;
        d = i;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < len && (p[i] == '+' || p[i] == '-'))
            i++;
        d = i;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i != len || len > 64)
        return false;
    char tmp[72];
    memcpy(tmp, p, len);
    tmp[len] = 0;
    *out = strtod(tmp, NULL);
    return true;
}

bool query__parse_op(struct query__lex *lx, enum query__op *out)
{
    const char *p = lx->p + lx->pos;
    size_t left = lx->len - lx->pos;
    char c0 = left > 0 ? p[0] : 0, c1 = left > 1 ? p[1] : 0;
    size_t n = 1;
    if (c0 == '!' && c1 == '=') {
        *out = QOP_NE;
        n = 2;
    } else if (c0 == '<') {
        *out = c1 == '=' ? QOP_LE : QOP_LT;
        n = c1 == '=' ? 2 : 1;
    } else if (c0 == '>') {
        *out = c1 == '=' ? QOP_GE : QOP_GT;
        n = c1 == '=' ? 2 : 1;
    } else if (c0 == '=') {
        *out = QOP_EQ;
        n = c1 == '=' ? 2 : 1; /* "==" is read as "=" */
    } else {
        return false;
    }
    lx->pos += n;
    return true;
}

/* Characters a value may hold without double quotes. The docs: alphanumeric
 * strings need no quotes, 123.123.* and 4* appear bare, "@ $ \ etc. must be
 * enclosed in double quotes". We also let : and / through for ARNs and paths. */
static bool bare_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("_-.*+:/", c) != NULL);
}

static void set_glob(struct query__val *v, const char *text, size_t len)
{
    v->kind = QVAL_STR;
    if (len > 0 && text[0] == '*') {
        v->star_lead = true;
        text++;
        len--;
    }
    if (len > 0 && text[len - 1] == '*') {
        v->star_trail = true;
        len--;
    }
    v->text = text;
    v->len = len;
}

int query__parse_value(struct query__lex *lx, const char *stop, bool numeric_op,
                       struct query__val *out)
{
    size_t start = lx->pos;
    memset(out, 0, sizeof(*out));
    if (start >= lx->len)
        return query__syntax(lx, start, "missing value at the end of the pattern");
    char c = lx->p[start];
    if (c == '"') {
        struct buf b;
        buf_init(&b, 0);
        size_t i = start + 1;
        for (; i < lx->len && lx->p[i] != '"'; i++) {
            char ch = lx->p[i];
            if (ch == '\\' && i + 1 < lx->len && (lx->p[i + 1] == '"' || lx->p[i + 1] == '\\'))
                ch = lx->p[++i];
            buf_putc(&b, ch);
        }
        if (i >= lx->len) {
            buf_free(&b);
            return query__syntax(lx, start, "quoted value is not closed by '\"'");
        }
        lx->pos = i + 1;
        if (numeric_op) {
            buf_free(&b);
            return query__syntax(lx, start, "this operator compares numbers; a quoted string "
                                            "can only be used with = or !=");
        }
        char *text = arena_strndup(lx->arena, b.p ? b.p : "", b.len);
        set_glob(out, text, b.len);
        buf_free(&b);
        return 0;
    }
    if (c == '%') {
        const char *end = memchr(lx->p + start + 1, '%', lx->len - start - 1);
        if (!end)
            return query__syntax(lx, start, "regular expression is not closed by '%%'");
        if (numeric_op)
            return query__syntax(lx, start, "this operator compares numbers; a regular "
                                            "expression can only be used with = or !=");
        if (++lx->n_regex > QUERY_FILTER_MAX_REGEX)
            return query__syntax(lx, start, "at most %d regular expressions are allowed in one "
                                            "pattern", QUERY_FILTER_MAX_REGEX);
        size_t body = start + 1, blen = (size_t)(end - (lx->p + body));
        struct query__re *re;
        int rc = query__re_compile(lx->p + body, blen, body + 1, lx->arena, &re, lx->err);
        if (rc)
            return rc;
        out->kind = QVAL_REGEX;
        out->re = re;
        out->text = lx->p + body;
        out->len = blen;
        lx->pos = (size_t)(end - lx->p) + 1;
        return 0;
    }
    size_t i = start;
    while (i < lx->len && !is_ws(lx->p[i]) && !strchr(stop, lx->p[i]) && lx->p[i] != '&' &&
           lx->p[i] != '|')
        i++;
    if (i == start)
        return query__syntax(lx, start, "missing value after the operator");
    const char *text = lx->p + start;
    size_t len = i - start;
    double num;
    if (query__parse_number(text, len, &num)) {
        out->kind = QVAL_NUM;
        out->num = num;
        out->text = text;
        out->len = len;
        lx->pos = i;
        return 0;
    }
    if (numeric_op)
        return query__syntax(lx, start, "this operator compares numbers; '%.*s' is not a number",
                             (int)(len > 60 ? 60 : len), text);
    for (size_t k = 0; k < len; k++) {
        unsigned char ch = (unsigned char)text[k];
        if (!bare_ok(ch)) {
            if (ch >= 0x80)
                return query__syntax(lx, start + k, "values with non-ASCII characters must be "
                                                    "enclosed in double quotes");
            return query__syntax(lx, start + k, "'%c' is not allowed in an unquoted value: "
                                                "enclose the value in double quotes", ch);
        }
    }
    set_glob(out, text, len);
    lx->pos = i;
    return 0;
}

static bool glob_match(const struct query__val *v, const char *s, size_t len)
{
    if (v->star_lead && v->star_trail)
        return v->len == 0 || (len >= v->len && memmem(s, len, v->text, v->len) != NULL);
    if (v->star_lead)
        return len >= v->len && memcmp(s + len - v->len, v->text, v->len) == 0;
    if (v->star_trail)
        return len >= v->len && memcmp(s, v->text, v->len) == 0;
    return len == v->len && memcmp(s, v->text, len) == 0;
}

bool query__compare(const struct query__val *v, enum query__op op, const char *text, size_t len,
                    bool is_num, double num, struct query__re_work *w)
{
    bool eq;
    switch (v->kind) {
    case QVAL_REGEX:
        eq = query__re_search(v->re, text, len, w);
        break;
    case QVAL_STR:
        eq = glob_match(v, text, len);
        break;
    default: /* QVAL_NUM */
        if (op != QOP_EQ && op != QOP_NE) {
            if (!is_num)
                return false;
            switch (op) {
            case QOP_LT: return num < v->num;
            case QOP_LE: return num <= v->num;
            case QOP_GT: return num > v->num;
            default: return num >= v->num;
            }
        }
        eq = is_num ? num == v->num : (len == v->len && memcmp(text, v->text, len) == 0);
        break;
    }
    if (op == QOP_EQ)
        return eq;
    if (op == QOP_NE)
        return !eq;
    return false;
}

/* ---- term patterns -------------------------------------------------------- */

static bool blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_ws(p[i]))
            return false;
    return true;
}

static int compile_terms(struct query_filter *f, struct query__lex *lx)
{
    size_t cap = 8, n = 0, n_any = 0, n_other = 0;
    struct term *terms = xmalloc(cap * sizeof(*terms));
    int rc = 0;
    for (;;) {
        query__skip_ws(lx);
        if (lx->pos >= lx->len)
            break;
        size_t at = lx->pos;
        uint8_t kind = TERM_MUST;
        char c = lx->p[lx->pos];
        if (c == '?' || c == '-') {
            kind = c == '?' ? TERM_ANY : TERM_NOT;
            lx->pos++;
            /* The 2018 docs write "ERROR" - "Exiting": the sign may stand alone. */
            query__skip_ws(lx);
            if (lx->pos >= lx->len) {
                rc = query__syntax(lx, at, "'%c' must be followed by a term", c);
                break;
            }
        }
        const char *tp;
        size_t tlen;
        if (lx->p[lx->pos] == '"') {
            struct buf b;
            buf_init(&b, 0);
            size_t i = lx->pos + 1;
            for (; i < lx->len && lx->p[i] != '"'; i++) {
                char ch = lx->p[i];
                if (ch == '\\' && i + 1 < lx->len && (lx->p[i + 1] == '"' || lx->p[i + 1] == '\\'))
                    ch = lx->p[++i];
                buf_putc(&b, ch);
            }
            if (i >= lx->len) {
                buf_free(&b);
                rc = query__syntax(lx, lx->pos, "quoted phrase is not closed by '\"'");
                break;
            }
            lx->pos = i + 1;
            tlen = b.len;
            tp = arena_strndup(&f->arena, b.p ? b.p : "", b.len);
            buf_free(&b);
            if (kind != TERM_NOT && blank(tp, tlen))
                continue; /* "" and " " match everything */
        } else {
            size_t i = lx->pos;
            while (i < lx->len && !is_ws(lx->p[i])) {
                if (lx->p[i] == '"') {
                    rc = query__syntax(lx, i, "'\"' inside a term: enclose the whole term in "
                                              "double quotes");
                    break;
                }
                i++;
            }
            if (rc)
                break;
            tp = lx->p + lx->pos;
            tlen = i - lx->pos;
            lx->pos = i;
        }
        if (n == cap) {
            cap *= 2;
            terms = xrealloc(terms, cap * sizeof(*terms));
        }
        terms[n++] = (struct term){ .p = tp, .len = tlen, .kind = kind };
        if (kind == TERM_ANY)
            n_any++;
        else
            n_other++;
    }
    if (rc) {
        free(terms);
        return rc;
    }
    /* "?ERROR ?ARGUMENTS REQUEST behaves exactly like REQUEST" (AWS docs). */
    size_t keep = 0;
    f->any_only = n_other == 0 && n_any > 0;
    f->terms = arena_alloc(&f->arena, (n ? n : 1) * sizeof(*f->terms));
    for (size_t i = 0; i < n; i++)
        if (f->any_only || terms[i].kind != TERM_ANY)
            f->terms[keep++] = terms[i];
    f->nterms = keep;
    f->kind = keep ? QUERY_FILTER_TERMS : QUERY_FILTER_ALL;
    free(terms);
    return 0;
}

static bool contains(const char *msg, size_t len, const struct term *t)
{
    return t->len == 0 || memmem(msg, len, t->p, t->len) != NULL;
}

static bool match_terms(const struct query_filter *f, const char *msg, size_t len)
{
    if (f->any_only) {
        for (size_t i = 0; i < f->nterms; i++)
            if (contains(msg, len, &f->terms[i]))
                return true;
        return false;
    }
    for (size_t i = 0; i < f->nterms; i++) {
        bool has = contains(msg, len, &f->terms[i]);
        if (has != (f->terms[i].kind == TERM_MUST))
            return false;
    }
    return true;
}

/* ---- compile / match -------------------------------------------------------- */

int query_filter_compile(const char *pattern, size_t len, struct query_filter **out,
                         struct err *err)
{
    if (len > QUERY_FILTER_MAX_LEN)
        return err_set(err, ERR_LIMIT, "filter pattern is %zu characters long; the maximum is %d",
                       len, QUERY_FILTER_MAX_LEN);
    if (memchr(pattern, 0, len))
        return err_set(err, ERR_USAGE, "column %zu: NUL byte in the filter pattern",
                       (size_t)((const char *)memchr(pattern, 0, len) - pattern) + 1);
    struct query_filter *f = xcalloc(1, sizeof(*f));
    arena_init(&f->arena, 4096);
    struct query__lex lx = { .p = pattern, .len = len, .arena = &f->arena, .err = err };
    /* Dispatch on the trimmed pattern, columns still counted in the original. */
    size_t b = 0, e = len;
    while (b < e && is_ws(pattern[b]))
        b++;
    while (e > b && is_ws(pattern[e - 1]))
        e--;
    int rc = 0;
    lx.pos = b;
    if (b == e) {
        f->kind = QUERY_FILTER_ALL;
    } else if (pattern[b] == '{') {
        f->kind = QUERY_FILTER_JSON;
        rc = query__json_compile(&lx, &f->json);
    } else if (pattern[b] == '[') {
        f->kind = QUERY_FILTER_DELIMITED;
        rc = query__delim_compile(&lx, &f->delim);
    } else if (pattern[b] == '%') {
        f->kind = QUERY_FILTER_REGEX;
        if (e - b < 2 || pattern[e - 1] != '%')
            rc = query__syntax(&lx, b, "a regular expression pattern must end with '%%'");
        else
            rc = query__re_compile(pattern + b + 1, e - b - 2, b + 2, &f->arena, &f->re, err);
    } else {
        rc = compile_terms(f, &lx);
    }
    if (rc) {
        query_filter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void query_filter_free(struct query_filter *f)
{
    if (!f)
        return;
    arena_free(&f->arena);
    free(f);
}

enum query_filter_kind query_filter_kind(const struct query_filter *f) { return f->kind; }

struct query_filter_scratch *query_filter_scratch_new(void)
{
    struct query_filter_scratch *s = xcalloc(1, sizeof(*s));
    arena_init(&s->arena, 0);
    return s;
}

void query_filter_scratch_free(struct query_filter_scratch *s)
{
    if (!s)
        return;
    arena_free(&s->arena);
    query__re_work_free(&s->re);
    query__fields_free(&s->fields);
    free(s->ext);
    free(s);
}

static void extract_fields(const struct query_filter *f, struct query_filter_scratch *s)
{
    const struct query__fields *fl = &s->fields;
    if (s->ext_cap < fl->n) {
        s->ext_cap = fl->n;
        s->ext = xrealloc(s->ext, s->ext_cap * sizeof(*s->ext));
    }
    for (size_t j = 0; j < fl->n; j++) {
        struct sv name = query__delim_slot_name(f->delim, fl->slot[j]);
        if (!name.p) {
            /* Unnamed fields are named by position, as the 2020 docs show ($1, $7). */
            char tmp[32];
            int n = snprintf(tmp, sizeof(tmp), "$%zu", j + 1);
            name = sv_make(arena_strndup(&s->arena, tmp, (size_t)n), (size_t)n);
        }
        s->ext[j] = (struct query_filter_field){ .name = name, .value = fl->v[j] };
    }
    s->n_ext = fl->n;
}

bool query_filter_match(const struct query_filter *f, const char *msg, size_t len,
                        struct query_filter_scratch *s)
{
    s->n_ext = 0;
    s->root = NULL;
    arena_reset(&s->arena);
    switch (f->kind) {
    case QUERY_FILTER_ALL:
        return true;
    case QUERY_FILTER_TERMS:
        return match_terms(f, msg, len);
    case QUERY_FILTER_REGEX:
        return query__re_search(f->re, msg, len, &s->re);
    case QUERY_FILTER_JSON: {
        size_t i = 0;
        while (i < len && is_ws(msg[i]))
            i++;
        if (i == len || msg[i] != '{')
            return false; /* not a JSON object: cheaper than a failed parse */
        struct json_value *root;
        struct err e;
        if (json_parse(msg, len, &s->arena, &root, &e) != 0 || root->type != JSON_OBJECT)
            return false;
        s->root = root;
        return query__json_eval(f->json, root, &s->re);
    }
    case QUERY_FILTER_DELIMITED:
        if (!query__delim_match(f->delim, msg, len, &s->fields, &s->re))
            return false;
        extract_fields(f, s);
        return true;
    }
    return false;
}

size_t query_filter_extracted(const struct query_filter_scratch *s,
                              const struct query_filter_field **out)
{
    *out = s->ext;
    return s->n_ext;
}

/* ---- metric value / dimension references ------------------------------------ */

enum ref_kind { REF_LITERAL, REF_JSON, REF_FIELD };

struct query_filter_ref {
    uint8_t kind;
    struct sv literal;
    int32_t field;
    struct query__selector sel;
    struct arena arena;
};

int query_filter_ref_compile(const struct query_filter *f, const char *expr, size_t len,
                             struct query_filter_ref **out, struct err *err)
{
    struct query_filter_ref *r = xcalloc(1, sizeof(*r));
    arena_init(&r->arena, 1024);
    size_t b = 0, e = len;
    while (b < e && is_ws(expr[b]))
        b++;
    while (e > b && is_ws(expr[e - 1]))
        e--;
    int rc = 0;
    double num;
    if (e - b >= 2 && expr[b] == '$' && (expr[b + 1] == '.' || expr[b + 1] == '[')) {
        struct query__lex lx = { .p = expr, .len = e, .pos = b, .arena = &r->arena, .err = err };
        r->kind = REF_JSON;
        if (f->kind != QUERY_FILTER_JSON)
            rc = err_set(err, ERR_USAGE, "'%.*s' selects a JSON property: it needs a JSON filter "
                                         "pattern { ... }", (int)(e - b), expr + b);
        else if ((rc = query__json_selector(&lx, &r->sel)) == 0 && lx.pos != e)
            rc = query__syntax(&lx, lx.pos, "unexpected text after the selector");
        else if (rc == 0 && r->sel.wildcard)
            rc = err_set(err, ERR_USAGE, "a metric value or dimension cannot use a wildcard "
                                         "selector");
    } else if (e - b >= 2 && expr[b] == '$') {
        r->kind = REF_FIELD;
        if (f->kind != QUERY_FILTER_DELIMITED)
            rc = err_set(err, ERR_USAGE, "'%.*s' names a field: it needs a space-delimited "
                                         "filter pattern [ ... ]", (int)(e - b), expr + b);
        else if ((r->field = (int32_t)query__delim_field_index(f->delim, expr + b + 1,
                                                                e - b - 1)) < 0)
            rc = err_set(err, ERR_USAGE, "the filter pattern has no field named '%.*s'",
                         (int)(e - b - 1), expr + b + 1);
    } else if (query__parse_number(expr + b, e - b, &num)) {
        r->kind = REF_LITERAL;
        r->literal = sv_make(arena_strndup(&r->arena, expr + b, e - b), e - b);
    } else {
        rc = err_set(err, ERR_USAGE, "'%.*s' is not a number, a $.selector or a $field",
                     (int)(e - b > 60 ? 60 : e - b), expr + b);
    }
    if (rc) {
        query_filter_ref_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void query_filter_ref_free(struct query_filter_ref *r)
{
    if (!r)
        return;
    arena_free(&r->arena);
    free(r);
}

bool query_filter_ref_value(const struct query_filter_ref *r, const struct query_filter_scratch *s,
                            struct sv *out)
{
    switch (r->kind) {
    case REF_LITERAL:
        *out = r->literal;
        return true;
    case REF_FIELD:
        for (size_t j = 0; j < s->fields.n && j < s->n_ext; j++)
            if (s->fields.slot[j] == r->field) {
                *out = s->fields.v[j];
                return true;
            }
        return false;
    default: {
        if (!s->root)
            return false;
        const struct json_value *v = query__json_resolve(&r->sel, s->root);
        if (!v)
            return false;
        switch (v->type) {
        case JSON_STRING:
        case JSON_NUMBER:
            *out = sv_make(v->str, v->len);
            return true;
        case JSON_TRUE:
            *out = SV("true");
            return true;
        case JSON_FALSE:
            *out = SV("false");
            return true;
        case JSON_NULL:
            *out = SV("null");
            return true;
        default:
            return false;
        }
    }
    }
}
