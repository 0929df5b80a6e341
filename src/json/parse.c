/*
 * The tree parser, for configuration-sized documents (patterns, rules, bus
 * files). Recursive descent bounded by JSON_MAX_DEPTH; the same validation as
 * the scanner (it uses the same primitives). Everything lands in the arena.
 */
#include "json_int.h"

#include <stdlib.h>

struct parser {
    struct json__scan sc;
    struct arena *arena;
};

static int parse_value(struct parser *P, const json__uc **sp, int depth, struct json_value *v);

/* Decodes the string whose opening quote is at q and closing quote at e. */
static const char *decode_str(struct parser *P, const json__uc *q, const json__uc *e, bool esc,
                              size_t *len_out)
{
    size_t raw = (size_t)(e - q - 1);
    char *d = arena_alloc(P->arena, raw + 1);
    size_t n = raw;
    if (esc)
        n = json__unescape_to((const char *)q + 1, raw, d); /* validated: cannot fail */
    else
        memcpy(d, q + 1, raw);
    d[n] = '\0';
    *len_out = n;
    return d;
}

/* Temporary list of children, copied into the arena once complete. */
struct vec {
    struct json_value *v;
    size_t n, cap;
};

static struct json_value *vec_push(struct vec *vec)
{
    if (vec->n == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 8;
        vec->v = xrealloc(vec->v, vec->cap * sizeof(*vec->v));
    }
    struct json_value *v = &vec->v[vec->n++];
    memset(v, 0, sizeof(*v));
    return v;
}

static void vec_finish(struct parser *P, struct vec *vec, struct json_value *into)
{
    into->n = vec->n;
    into->items = NULL;
    if (vec->n != 0) {
        into->items = arena_alloc(P->arena, vec->n * sizeof(*vec->v));
        memcpy(into->items, vec->v, vec->n * sizeof(*vec->v));
    }
    free(vec->v);
}

static int parse_container(struct parser *P, const json__uc **sp, int depth, struct json_value *v)
{
    struct json__scan *sc = &P->sc;
    const json__uc *s = *sp;
    bool is_obj = *s == '{';
    char close = is_obj ? '}' : ']';
    struct vec vec = { NULL, 0, 0 };
    int rc = 0;

    if (depth >= JSON_MAX_DEPTH)
        return json__fail(sc, s, ERR_LIMIT, "nesting deeper than JSON_MAX_DEPTH (128)");
    v->type = is_obj ? JSON_OBJECT : JSON_ARRAY;
    s = json__ws(sc, s + 1);
    if (json__at(sc, s) == close) {
        *sp = s + 1;
        vec_finish(P, &vec, v);
        return 0;
    }
    for (;;) {
        struct json_value *item = vec_push(&vec);
        if (is_obj) {
            if (json__at(sc, s) != '"') {
                if (json__at(sc, s) == '}')
                    rc = json__fail(sc, s, ERR_FORMAT, "trailing comma in object");
                else if (s >= sc->end)
                    rc = json__fail(sc, s, ERR_FORMAT,
                                    "unexpected end of input (expected an object key)");
                else
                    rc = json__fail(sc, s, ERR_FORMAT, "expected '\"' to begin an object key");
                break;
            }
            bool esc = false;
            const json__uc *e = json__scan_str(sc, s, &esc);
            if (e == NULL) {
                rc = sc->code;
                break;
            }
            item->key = decode_str(P, s, e, esc, &item->key_len);
            s = json__ws(sc, e + 1);
            if (json__at(sc, s) != ':') {
                rc = json__fail(sc, s, ERR_FORMAT, "expected ':' after object key");
                break;
            }
            s = json__ws(sc, s + 1);
        }
        rc = parse_value(P, &s, depth + 1, item);
        if (rc != 0)
            break;
        s = json__ws(sc, s);
        int c = json__at(sc, s);
        if (c == ',') {
            s = json__ws(sc, s + 1);
            continue;
        }
        if (c == close) {
            s++;
            break;
        }
        if (s >= sc->end)
            rc = json__fail(sc, s, ERR_FORMAT,
                            is_obj ? "unexpected end of input (unclosed object)"
                                   : "unexpected end of input (unclosed array)");
        else
            rc = json__fail(sc, s, ERR_FORMAT,
                            is_obj ? "expected ',' or '}' after object member"
                                   : "expected ',' or ']' after array element");
        break;
    }
    if (rc != 0) {
        free(vec.v);
        return rc;
    }
    vec_finish(P, &vec, v);
    *sp = s;
    return 0;
}

static int parse_value(struct parser *P, const json__uc **sp, int depth, struct json_value *v)
{
    struct json__scan *sc = &P->sc;
    const json__uc *s = *sp;
    const json__uc *e;
    bool esc = false;

    v->offset = (size_t)(s - sc->base);
    v->items = NULL;
    v->n = 0;
    v->str = NULL;
    v->len = 0;
    v->num = 0;
    switch (json__at(sc, s)) {
    case '"':
        e = json__scan_str(sc, s, &esc);
        if (e == NULL)
            return sc->code;
        v->type = JSON_STRING;
        v->str = decode_str(P, s, e, esc, &v->len);
        *sp = e + 1;
        return 0;
    case '{':
    case '[':
        return parse_container(P, sp, depth, v);
    case 't':
        e = json__scan_lit(sc, s, "true", 4);
        v->type = JSON_TRUE;
        break;
    case 'f':
        e = json__scan_lit(sc, s, "false", 5);
        v->type = JSON_FALSE;
        break;
    case 'n':
        e = json__scan_lit(sc, s, "null", 4);
        v->type = JSON_NULL;
        break;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        e = json__scan_num(sc, s);
        if (e == NULL)
            return sc->code;
        v->type = JSON_NUMBER;
        v->len = (size_t)(e - s);
        v->str = arena_strndup(P->arena, (const char *)s, v->len);
        v->num = strtod(v->str, NULL);
        *sp = e;
        return 0;
    default:
        return json__fail_value(sc, s);
    }
    if (e == NULL)
        return sc->code;
    v->str = arena_strndup(P->arena, (const char *)s, (size_t)(e - s));
    v->len = (size_t)(e - s);
    *sp = e;
    return 0;
}

int json_parse(const char *p, size_t len, struct arena *arena, struct json_value **out,
               struct err *err)
{
    struct parser P = { { (const json__uc *)p, (const json__uc *)p + len, err, 0 }, arena };
    struct json_value *root = arena_zalloc(arena, sizeof(*root));
    const json__uc *s = json__ws(&P.sc, P.sc.base);
    int rc = parse_value(&P, &s, 0, root);
    if (rc != 0)
        return rc;
    s = json__ws(&P.sc, s);
    if (s != P.sc.end)
        return json__fail(&P.sc, s, ERR_FORMAT, "unexpected data after the JSON value");
    *out = root;
    return 0;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = obj->n; i-- > 0;) {
        const struct json_value *m = &obj->items[i];
        if (m->key_len == len && memcmp(m->key, key, len) == 0)
            return m;
    }
    return NULL;
}
