/*
 * Input transformers and input paths, with EventBridge's semantics
 * (user guide "Amazon EventBridge input transformation", API reference
 * InputTransformer / Target.InputPath; docs/internals/bus.md).
 *
 * A template is text with <name> placeholders. What a placeholder becomes
 * depends on where it stands:
 *   - a template whose first non-blank character is '{' or '[' is a JSON
 *     template. There a placeholder outside any JSON string literal is a
 *     JSON value: a string variable becomes a quoted JSON string, a number,
 *     boolean, object or array its JSON text, an unresolved variable null;
 *   - inside a string literal of a JSON template, and anywhere in any other
 *     template (plain text, or a single quoted string like "<a> is <b>"), a
 *     value goes in raw: a string's characters as they are, not escaped (the
 *     guide: "EventBridge doesn't escape values extracted by Input Path"),
 *     anything else as its JSON text, an unresolved variable as nothing.
 * A path that does not resolve creates no variable ("that variable isn't
 * created"). Output whitespace is the template's: nothing is re-indented.
 *
 * Predefined variables: aws.events.rule-name, aws.events.rule-arn and
 * aws.events.event.ingestion-time are strings the caller supplies;
 * aws.events.event (the event without "detail", its "detail-type" key named
 * "detailType" as EventBridge delivers it) and aws.events.event.json (the
 * whole event, as received) may only be the value of a JSON field, since
 * their content is not escaped. EventBridge Pipes' forms are accepted too:
 * aws.pipes.* names and inline paths (<$.detail.state>).
 *
 * Paths: "$", then .name, [index], [*] or .* steps. A wildcard step collects
 * every match into a JSON array. Names may hold any character but '.', '[',
 * ']' (EventBridge allows dashes, underscores, slashes, alphanumerics).
 */
#include "match/match.h"

#include <stdlib.h>
#include <string.h>

#define XF_MAX_PATH_LEN 256   /* InputPathsMap value length (API constraint) */
#define XF_MAX_KEY_LEN 256    /* InputPathsMap key length */
#define XF_MAX_STEPS 64
#define XF_MAX_OUTPUT ((size_t)1 << 20)

enum step_kind { STEP_NAME, STEP_INDEX, STEP_ALL };

struct step {
    enum step_kind kind;
    char *name;   /* STEP_NAME: decoded, NUL-terminated */
    size_t len;
    uint64_t index;
};

struct xpath {
    struct step *steps;
    size_t n;
    bool wildcard; /* some step is STEP_ALL: the result is an array */
};

enum ph_kind {
    PH_VAR,      /* a variable of InputPathsMap (var index) */
    PH_INLINE,   /* an inline path (<$.detail.x>, Pipes) */
    PH_STRVAR,   /* a predefined string variable supplied by the caller (name) */
    PH_EVENT,    /* aws.events.event: the event without detail */
    PH_EVENT_JSON /* aws.events.event.json: the whole event */
};

struct seg {
    size_t lit_off, lit_len; /* literal text before the placeholder */
    bool has_ph;             /* false only for the trailing literal */
    enum ph_kind kind;
    bool json_ctx;           /* bare placeholder in a JSON template */
    size_t var;              /* PH_VAR */
    struct xpath inline_path; /* PH_INLINE */
    char *name;              /* PH_STRVAR */
};

struct var {
    char *name;
    struct xpath path;
};

struct match_xform {
    char *tmpl;
    size_t tmpl_len;
    struct var *vars;
    size_t n_vars;
    struct seg *segs;
    size_t n_segs;
    bool reads_event; /* some placeholder needs the parsed event */
};

/* ---- paths ------------------------------------------------------------------ */

static void xpath_free(struct xpath *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->steps[i].name);
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int xpath_parse(const char *s, size_t len, struct xpath *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || s[0] != '$')
        return err_set(err, ERR_USAGE, "\"%.*s\" is not a JSON path (it must start with $)",
                       (int)(len > 64 ? 64 : len), s);
    if (len > XF_MAX_PATH_LEN)
        return err_set(err, ERR_LIMIT, "JSON path longer than %d characters", XF_MAX_PATH_LEN);
    size_t i = 1;
    while (i < len) {
        if (out->n == XF_MAX_STEPS) {
            xpath_free(out);
            return err_set(err, ERR_LIMIT, "JSON path with more than %d steps", XF_MAX_STEPS);
        }
        struct step st = { 0 };
        if (s[i] == '.') {
            size_t b = ++i;
            while (i < len && s[i] != '.' && s[i] != '[' && s[i] != ']')
                i++;
            if (i == b) {
                xpath_free(out);
                return err_set(err, ERR_USAGE, "JSON path \"%.*s\": empty name at offset %zu",
                               (int)len, s, b);
            }
            if (i - b == 1 && s[b] == '*') {
                st.kind = STEP_ALL;
            } else {
                st.kind = STEP_NAME;
                st.name = xstrndup(s + b, i - b);
                st.len = i - b;
            }
        } else if (s[i] == '[') {
            size_t b = ++i;
            while (i < len && s[i] != ']')
                i++;
            if (i == len || i == b) {
                xpath_free(out);
                return err_set(err, ERR_USAGE, "JSON path \"%.*s\": bad [index]", (int)len, s);
            }
            if (i - b == 1 && s[b] == '*') {
                st.kind = STEP_ALL;
            } else {
                uint64_t v = 0;
                for (size_t k = b; k < i; k++) {
                    if (!is_digit(s[k]) || v > 100000000) {
                        xpath_free(out);
                        return err_set(err, ERR_USAGE,
                                       "JSON path \"%.*s\": an index must be a number or *",
                                       (int)len, s);
                    }
                    v = v * 10 + (uint64_t)(s[k] - '0');
                }
                st.kind = STEP_INDEX;
                st.index = v;
            }
            i++; /* past ']' */
        } else {
            xpath_free(out);
            return err_set(err, ERR_USAGE, "JSON path \"%.*s\": unexpected '%c' at offset %zu",
                           (int)len, s, s[i], i);
        }
        out->steps = xrealloc(out->steps, (out->n + 1) * sizeof(*out->steps));
        out->steps[out->n++] = st;
        if (st.kind == STEP_ALL)
            out->wildcard = true;
    }
    return 0;
}

int match_path_check(const char *path, size_t len, struct err *err)
{
    struct xpath p;
    int rc = xpath_parse(path, len, &p, err);
    xpath_free(&p);
    return rc;
}

/* Collected matches of a wildcard path. */
struct hits {
    const struct json_value **v;
    size_t n, cap;
};

static void hits_push(struct hits *h, const struct json_value *v)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 8;
        h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n++] = v;
}

static const struct json_value *member(const struct json_value *obj, const struct step *st)
{
    const struct json_value *found = NULL;
    /* The last duplicate wins, as in every JSON parser EventBridge would use. */
    for (size_t i = 0; i < obj->n; i++)
        if (obj->items[i].key_len == st->len && memcmp(obj->items[i].key, st->name, st->len) == 0)
            found = &obj->items[i];
    return found;
}

static void walk(const struct json_value *v, const struct xpath *p, size_t k, struct hits *h)
{
    if (k == p->n) {
        hits_push(h, v);
        return;
    }
    const struct step *st = &p->steps[k];
    switch (st->kind) {
    case STEP_NAME:
        if (v->type == JSON_OBJECT) {
            const struct json_value *m = member(v, st);
            if (m)
                walk(m, p, k + 1, h);
        }
        break;
    case STEP_INDEX:
        if (v->type == JSON_ARRAY && st->index < v->n)
            walk(&v->items[st->index], p, k + 1, h);
        break;
    case STEP_ALL:
        if (v->type == JSON_ARRAY || v->type == JSON_OBJECT)
            for (size_t i = 0; i < v->n; i++)
                walk(&v->items[i], p, k + 1, h);
        break;
    }
}

/* Resolves p in root. Without a wildcard: *one is the value (or NULL).
 * With one: every match is in h (empty when none). */
static void resolve(const struct json_value *root, const struct xpath *p,
                    const struct json_value **one, struct hits *h)
{
    h->n = 0;
    walk(root, p, 0, h);
    *one = (!p->wildcard && h->n > 0) ? h->v[0] : NULL;
}

/* A value as JSON text: strings re-escaped, numbers as written. */
static void write_json(struct buf *out, const struct json_value *v) { json_write_value(out, v); }

static void write_hits(struct buf *out, const struct hits *h)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < h->n; i++) {
        if (i)
            buf_putc(out, ',');
        write_json(out, h->v[i]);
    }
    buf_putc(out, ']');
}

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

int match_path_extract(const char *path, size_t plen, const char *event, size_t elen,
                       struct buf *out, bool *found, struct err *err)
{
    struct xpath p;
    int rc = xpath_parse(path, plen, &p, err);
    if (rc != 0)
        return rc;
    struct arena a;
    arena_init(&a, 0);
    struct json_value *root = NULL;
    struct hits h = { 0 };
    *found = false;
    rc = json_parse(event, elen, &a, &root, err);
    if (rc == 0) {
        const struct json_value *one;
        resolve(root, &p, &one, &h);
        if (p.n == 0) {
            /* "$" is the event as it came, byte for byte. */
            size_t b = skip_ws(event, elen, 0), e = elen;
            while (e > b && (event[e - 1] == ' ' || event[e - 1] == '\n' ||
                             event[e - 1] == '\r' || event[e - 1] == '\t'))
                e--;
            rc = buf_append(out, event + b, e - b);
            *found = true;
        } else if (p.wildcard) {
            write_hits(out, &h);
            *found = true;
        } else if (one) {
            write_json(out, one);
            *found = true;
        }
    }
    free(h.v);
    arena_free(&a);
    xpath_free(&p);
    return rc;
}

/* ---- compiling a transformer ---------------------------------------------------- */

void match_xform_free(struct match_xform *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_vars; i++) {
        free(x->vars[i].name);
        xpath_free(&x->vars[i].path);
    }
    for (size_t i = 0; i < x->n_segs; i++) {
        xpath_free(&x->segs[i].inline_path);
        free(x->segs[i].name);
    }
    free(x->vars);
    free(x->segs);
    free(x->tmpl);
    free(x);
}

static bool valid_key(const char *s, size_t len)
{
    if (len == 0 || len > XF_MAX_KEY_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* Characters a placeholder name may hold: variable names, predefined names
 * (dots) and inline paths ($ [ ] * /). Anything else means the '<' is text. */
static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '-' || c == '.' || c == '$' || c == '[' || c == ']' || c == '*' || c == '/' ||
           c == ':' || c == '@';
}

static bool is_prefix_family(const char *s, size_t len, const char *fam)
{
    size_t fl = strlen(fam);
    return len > fl && memcmp(s, fam, fl) == 0;
}

/* Predefined names: which kind, or -1 when s is not one. */
static int predefined(const char *s, size_t len)
{
    static const char *const fams[] = { "aws.events.", "aws.pipes." };
    for (size_t f = 0; f < 2; f++) {
        if (!is_prefix_family(s, len, fams[f]))
            continue;
        const char *rest = s + strlen(fams[f]);
        size_t rl = len - strlen(fams[f]);
        if (rl == 5 && memcmp(rest, "event", 5) == 0)
            return PH_EVENT;
        if (rl == 10 && memcmp(rest, "event.json", 10) == 0)
            return PH_EVENT_JSON;
        static const char *const strs[2][5] = {
            { "rule-name", "rule-arn", "event.ingestion-time", NULL, NULL },
            { "pipe-name", "pipe-arn", "event.ingestion-time", "source-arn", "target-arn" },
        };
        for (size_t k = 0; k < 5 && strs[f][k]; k++)
            if (strlen(strs[f][k]) == rl && memcmp(strs[f][k], rest, rl) == 0)
                return PH_STRVAR;
    }
    return -1;
}

static struct seg *seg_push(struct match_xform *x)
{
    x->segs = xrealloc(x->segs, (x->n_segs + 1) * sizeof(*x->segs));
    struct seg *s = &x->segs[x->n_segs++];
    memset(s, 0, sizeof(*s));
    return s;
}

static int parse_map(struct match_xform *x, const char *map, size_t map_len, struct err *err)
{
    struct arena a;
    arena_init(&a, 0);
    struct json_value *root = NULL;
    int rc = json_parse(map, map_len, &a, &root, err);
    if (rc != 0) {
        if (err) {
            char inner[ERR_MSG_MAX];
            memcpy(inner, err->msg, sizeof(inner));
            err_set(err, ERR_USAGE, "InputPathsMap is not valid JSON: %s", inner);
        }
        rc = ERR_USAGE;
        goto out;
    }
    if (root->type == JSON_NULL)
        goto out;
    if (root->type != JSON_OBJECT) {
        rc = err_set(err, ERR_USAGE, "InputPathsMap must be a JSON object");
        goto out;
    }
    if (root->n > MATCH_XFORM_MAX_VARS) {
        rc = err_set(err, ERR_LIMIT, "InputPathsMap has %zu variables; at most %d are allowed",
                     root->n, MATCH_XFORM_MAX_VARS);
        goto out;
    }
    x->vars = xcalloc(root->n ? root->n : 1, sizeof(*x->vars));
    for (size_t i = 0; i < root->n; i++) {
        const struct json_value *m = &root->items[i];
        if (!valid_key(m->key, m->key_len)) {
            rc = err_set(err, ERR_USAGE,
                         "InputPathsMap key \"%.*s\" must be 1-256 characters of [A-Za-z0-9_-]",
                         (int)(m->key_len > 64 ? 64 : m->key_len), m->key);
            goto out;
        }
        for (size_t k = 0; k < x->n_vars; k++)
            if (strcmp(x->vars[k].name, m->key) == 0) {
                rc = err_set(err, ERR_USAGE, "InputPathsMap key \"%s\" appears twice", m->key);
                goto out;
            }
        if (m->type != JSON_STRING) {
            rc = err_set(err, ERR_USAGE, "InputPathsMap value of \"%s\" must be a string",
                         m->key);
            goto out;
        }
        struct var *v = &x->vars[x->n_vars];
        rc = xpath_parse(m->str, m->len, &v->path, err);
        if (rc != 0) {
            if (err) {
                char inner[ERR_MSG_MAX];
                memcpy(inner, err->msg, sizeof(inner));
                err_set(err, rc, "InputPathsMap \"%s\": %s", m->key, inner);
            }
            goto out;
        }
        v->name = xstrndup(m->key, m->key_len);
        x->n_vars++;
    }
out:
    arena_free(&a);
    return rc;
}

static long find_var(const struct match_xform *x, const char *s, size_t len)
{
    for (size_t i = 0; i < x->n_vars; i++)
        if (strlen(x->vars[i].name) == len && memcmp(x->vars[i].name, s, len) == 0)
            return (long)i;
    return -1;
}

int match_xform_new(const char *paths_map, size_t map_len, const char *tmpl, size_t tmpl_len,
                    struct match_xform **out, struct err *err)
{
    struct match_xform *x = xcalloc(1, sizeof(*x));
    int rc = 0;
    *out = NULL;
    if (tmpl_len == 0) {
        rc = err_set(err, ERR_USAGE, "InputTemplate must not be empty");
        goto fail;
    }
    if (tmpl_len > MATCH_XFORM_MAX_TEMPLATE) {
        rc = err_set(err, ERR_LIMIT, "InputTemplate longer than %d characters",
                     MATCH_XFORM_MAX_TEMPLATE);
        goto fail;
    }
    if (paths_map && map_len > 0 && (rc = parse_map(x, paths_map, map_len, err)) != 0)
        goto fail;
    x->tmpl = xstrndup(tmpl, tmpl_len);
    x->tmpl_len = tmpl_len;

    size_t first = skip_ws(tmpl, tmpl_len, 0);
    bool json = first < tmpl_len && (tmpl[first] == '{' || tmpl[first] == '[');
    bool in_str = false;
    size_t lit = 0, i = 0;
    while (i < tmpl_len) {
        char c = tmpl[i];
        if (json && in_str && c == '\\') {
            i += 2; /* an escaped character never ends the string */
            continue;
        }
        if (json && c == '"') {
            in_str = !in_str;
            i++;
            continue;
        }
        if (c != '<') {
            i++;
            continue;
        }
        size_t b = i + 1, e = b;
        while (e < tmpl_len && name_char(tmpl[e]))
            e++;
        if (e == b || e == tmpl_len || tmpl[e] != '>') {
            i++; /* not a placeholder: a '<' in the text */
            continue;
        }
        const char *nm = tmpl + b;
        size_t nl = e - b;
        struct seg s = { .lit_off = lit, .lit_len = i - lit, .has_ph = true,
                         .json_ctx = json && !in_str };
        long vi = find_var(x, nm, nl);
        int pk = predefined(nm, nl);
        if (vi >= 0) {
            s.kind = PH_VAR;
            s.var = (size_t)vi;
            x->reads_event = true;
        } else if (pk >= 0) {
            s.kind = (enum ph_kind)pk;
            if (pk == PH_STRVAR)
                s.name = xstrndup(nm, nl);
            else
                x->reads_event = true;
            if ((pk == PH_EVENT || pk == PH_EVENT_JSON) && !s.json_ctx) {
                rc = err_set(err, ERR_USAGE,
                             "InputTemplate: <%.*s> can only be used as the value of a JSON "
                             "field (its content is not escaped)",
                             (int)nl, nm);
                goto fail;
            }
        } else if (nm[0] == '$') {
            s.kind = PH_INLINE;
            if ((rc = xpath_parse(nm, nl, &s.inline_path, err)) != 0)
                goto fail;
            x->reads_event = true;
        } else {
            rc = err_set(err, ERR_USAGE,
                         "InputTemplate contains invalid placeholder <%.*s>: it is neither a "
                         "key of InputPathsMap nor a predefined variable",
                         (int)(nl > 64 ? 64 : nl), nm);
            goto fail;
        }
        *seg_push(x) = s;
        i = e + 1;
        lit = i;
    }
    struct seg *tail = seg_push(x);
    tail->lit_off = lit;
    tail->lit_len = tmpl_len - lit;
    *out = x;
    return 0;
fail:
    match_xform_free(x);
    return rc;
}

size_t match_xform_var_count(const struct match_xform *x) { return x ? x->n_vars : 0; }

/* ---- applying --------------------------------------------------------------------- */

static const char *strvar(const struct match_xform_vars *vars, const char *name)
{
    if (!vars)
        return NULL;
    for (size_t i = 0; i < vars->n; i++)
        if (strcmp(vars->names[i], name) == 0)
            return vars->values[i];
    return NULL;
}

static void put_string(struct buf *out, const char *s, size_t len, bool json_ctx)
{
    if (!json_ctx) {
        buf_append(out, s, len);
        return;
    }
    buf_putc(out, '"');
    json_escape(out, s, len);
    buf_putc(out, '"');
}

static void put_value(struct buf *out, const struct json_value *one, const struct hits *h,
                      bool wildcard, bool json_ctx)
{
    if (wildcard) {
        write_hits(out, h); /* an array is JSON text in either context */
        return;
    }
    if (!one) {
        if (json_ctx)
            buf_append(out, "null", 4);
        return;
    }
    if (one->type == JSON_STRING)
        put_string(out, one->str, one->len, json_ctx);
    else
        write_json(out, one);
}

/* aws.events.event: the envelope without detail; "detail-type" is delivered
 * as "detailType" there. */
static void put_event_no_detail(struct buf *out, const struct json_value *root)
{
    if (root->type != JSON_OBJECT) {
        write_json(out, root);
        return;
    }
    struct json_writer w;
    jw_init(&w, out, 0);
    jw_object_begin(&w);
    for (size_t i = 0; i < root->n; i++) {
        const struct json_value *m = &root->items[i];
        if (strcmp(m->key, "detail") == 0)
            continue;
        jw_key(&w, strcmp(m->key, "detail-type") == 0 ? "detailType" : m->key);
        struct buf tmp;
        buf_init(&tmp, 0);
        write_json(&tmp, m);
        jw_raw(&w, sv_make(tmp.p ? tmp.p : "", tmp.len));
        buf_free(&tmp);
    }
    jw_object_end(&w);
}

int match_xform_apply(const struct match_xform *x, const char *event, size_t elen,
                      const struct match_xform_vars *vars, struct buf *out, struct err *err)
{
    struct arena a;
    struct json_value *root = NULL;
    struct hits h = { 0 };
    int rc = 0;
    arena_init(&a, 0);
    if (x->reads_event && (rc = json_parse(event, elen, &a, &root, err)) != 0)
        goto out;
    size_t start = out->len;
    for (size_t i = 0; i < x->n_segs; i++) {
        const struct seg *s = &x->segs[i];
        buf_append(out, x->tmpl + s->lit_off, s->lit_len);
        if (!s->has_ph)
            continue;
        const struct json_value *one = NULL;
        switch (s->kind) {
        case PH_VAR:
            resolve(root, &x->vars[s->var].path, &one, &h);
            put_value(out, one, &h, x->vars[s->var].path.wildcard && h.n > 0, s->json_ctx);
            break;
        case PH_INLINE:
            resolve(root, &s->inline_path, &one, &h);
            put_value(out, one, &h, s->inline_path.wildcard && h.n > 0, s->json_ctx);
            break;
        case PH_STRVAR: {
            const char *v = strvar(vars, s->name);
            if (v)
                put_string(out, v, strlen(v), s->json_ctx);
            else if (s->json_ctx)
                buf_append(out, "null", 4);
            break;
        }
        case PH_EVENT:
            put_event_no_detail(out, root);
            break;
        case PH_EVENT_JSON: {
            size_t b = skip_ws(event, elen, 0), e = elen;
            while (e > b && (event[e - 1] == ' ' || event[e - 1] == '\n' ||
                             event[e - 1] == '\r' || event[e - 1] == '\t'))
                e--;
            buf_append(out, event + b, e - b);
            break;
        }
        }
        if (out->len - start > XF_MAX_OUTPUT) {
            rc = err_set(err, ERR_LIMIT, "transformed input larger than %zu bytes",
                         (size_t)XF_MAX_OUTPUT);
            goto out;
        }
    }
out:
    free(h.v);
    arena_free(&a);
    return rc;
}
