/*
 * Fuzz target for src/json: the bytes are one JSON text.
 *
 * Beyond "no crash, no sanitizer report", it checks that the module agrees
 * with itself (any disagreement aborts):
 *   - json_flatten, json_parse and json_skip_value accept exactly the same
 *     inputs and report the same error code and offset (the scanner and the
 *     tree parser share primitives but not their walk);
 *   - flatten yields one leaf per tree leaf, in order, with the same decoded
 *     string values, valid array positions and path hashes;
 *   - a path set's leaves are a subsequence of the unfiltered ones;
 *   - parse -> json_write_value -> parse gives the same tree, and writing it
 *     again gives the same bytes;
 *   - any bytes written with jw_str come back intact through json_parse;
 *   - json_flatten_next (one pass) agrees with json_skip_value followed by
 *     json_flatten on the value's bytes: same result, same end, same leaves
 *     (with and without a path set), and the same error as skip_value.
 */
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

static size_t count_leaves(const struct json_value *v)
{
    if ((v->type == JSON_OBJECT || v->type == JSON_ARRAY) && v->n > 0) {
        size_t n = 0;
        for (size_t i = 0; i < v->n; i++)
            n += count_leaves(&v->items[i]);
        return n;
    }
    return 1;
}

static bool same_tree(const struct json_value *a, const struct json_value *b)
{
    if (a->type != b->type || a->n != b->n || a->len != b->len)
        return false;
    if ((a->key == NULL) != (b->key == NULL))
        return false;
    if (a->key != NULL && (a->key_len != b->key_len || memcmp(a->key, b->key, a->key_len) != 0))
        return false;
    if (a->str != NULL && (b->str == NULL || memcmp(a->str, b->str, a->len) != 0))
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!same_tree(&a->items[i], &b->items[i]))
            return false;
    return true;
}

/* Walks the tree's leaves in document order alongside the flat leaves. */
static void check_leaves(const struct json_value *v, const struct json_flat *f, size_t *i,
                         struct arena *a)
{
    if ((v->type == JSON_OBJECT || v->type == JSON_ARRAY) && v->n > 0) {
        for (size_t k = 0; k < v->n; k++)
            check_leaves(&v->items[k], f, i, a);
        return;
    }
    if (*i >= f->n)
        abort();
    const struct json_leaf *l = &f->leaves[(*i)++];
    if (l->type != v->type)
        abort();
    if (l->path_hash != json_path_hash(l->path, l->path_len) || strlen(l->path) > l->path_len)
        abort();
    if (l->type == JSON_STRING) {
        struct sv s = json_leaf_str(l, a);
        if (s.len != v->len || memcmp(s.p, v->str, s.len) != 0)
            abort();
    } else if (l->type == JSON_NUMBER) {
        if (l->val_len != v->len || memcmp(l->val, v->str, v->len) != 0)
            abort();
    }
    for (uint16_t k = 1; k < l->n_arr; k++)
        if (l->arr[k].array <= l->arr[k - 1].array)
            abort(); /* inner arrays open after outer ones */
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *p = (const char *)d;
    struct arena a;
    struct json_flat f, g;
    struct json_value *v = NULL;
    struct err e1, e2, e3;
    arena_init(&a, 0);
    json_flat_init(&f);
    json_flat_init(&g);
    err_clear(&e1);
    err_clear(&e2);
    err_clear(&e3);

    int rf = json_flatten(p, n, NULL, &a, &f, &e1);
    int rp = json_parse(p, n, &a, &v, &e2);
    size_t pos = 0;
    int rs = json_skip_value(p, n, &pos, &e3);

    /* flatten has limits (path length, path bytes) parse has not */
    if (rf != ERR_LIMIT || rp == ERR_LIMIT) {
        if (rf != rp)
            abort();
        if (rf != 0 && (e1.offset != e2.offset || strcmp(e1.msg, e2.msg) != 0))
            abort();
    }
    if (rf != 0 && f.n != 0)
        abort();
    /* skip_value stops after the first value: it may succeed where a whole-text
     * parse fails on trailing data, never the other way round */
    if (rp == 0 && rs != 0)
        abort();
    if (rs == 0 && pos > n)
        abort();
    if (rs != 0 && rp != 0 && rs != rp)
        abort();

    if (rp == 0 && rf == 0) {
        if (f.n != count_leaves(v))
            abort();
        size_t i = 0;
        check_leaves(v, &f, &i, &a);

        /* a path set keeps a subsequence of the leaves */
        struct json_pathset *ps = json_pathset_new();
        if (f.n > 0)
            json_pathset_add(ps, f.leaves[0].path, f.leaves[0].path_len);
        if (f.n > 2)
            json_pathset_add_subtree(ps, f.leaves[f.n / 2].path, f.leaves[f.n / 2].path_len);
        if (json_flatten(p, n, ps, &a, &g, NULL) != 0)
            abort();
        size_t j = 0;
        for (size_t k = 0; k < f.n && j < g.n; k++)
            if (f.leaves[k].val == g.leaves[j].val && f.leaves[k].type == g.leaves[j].type)
                j++;
        if (j != g.n)
            abort();
        json_pathset_free(ps);

        /* round trip through the writer */
        struct buf b1, b2;
        struct json_value *v2 = NULL;
        buf_init(&b1, 0);
        buf_init(&b2, 0);
        if (json_write_value(&b1, v) != 0)
            abort();
        if (json_parse(b1.p, b1.len, &a, &v2, NULL) != 0)
            abort();
        if (!same_tree(v, v2))
            abort();
        if (json_write_value(&b2, v2) != 0 || b1.len != b2.len || memcmp(b1.p, b2.p, b1.len) != 0)
            abort();
        buf_free(&b1);
        buf_free(&b2);
    }

    /* one pass (json_flatten_next) == skip_value + flatten of the value */
    {
        struct json_pathset *ps = json_pathset_new();
        if (rf == 0 && f.n > 1)
            json_pathset_add(ps, f.leaves[f.n - 1].path, f.leaves[f.n - 1].path_len);
        for (int with_ps = 0; with_ps < 2; with_ps++) {
            const struct json_pathset *want = with_ps ? ps : NULL;
            struct json_flat h, k;
            struct err e4, e5;
            json_flat_init(&h);
            json_flat_init(&k);
            err_clear(&e4);
            err_clear(&e5);
            size_t at = 0;
            int rn = json_flatten_next(p, n, &at, want, &a, &h, &e4);
            if (rs != 0) {
                /* flatten_next fails where skip_value does, the same way;
                 * it may also hit a flatten limit first */
                if (rn == 0 || at != 0 || h.n != 0)
                    abort();
                if (rn != ERR_LIMIT && (rn != rs || e4.offset != e3.offset ||
                                        strcmp(e4.msg, e3.msg) != 0))
                    abort();
            } else {
                size_t vs = 0;
                while (vs < n && (p[vs] == ' ' || p[vs] == '\t' || p[vs] == '\n' || p[vs] == '\r'))
                    vs++;
                int rv = json_flatten(p + vs, pos - vs, want, &a, &k, &e5);
                if (rn != rv)
                    abort();
                if (rn == 0) {
                    if (at != pos || h.n != k.n)
                        abort();
                    for (size_t q = 0; q < h.n; q++) {
                        const struct json_leaf *x = &h.leaves[q], *y = &k.leaves[q];
                        if (x->type != y->type || x->val != y->val || x->val_len != y->val_len ||
                            x->path_len != y->path_len || x->path_hash != y->path_hash ||
                            memcmp(x->path, y->path, x->path_len) != 0 || x->n_arr != y->n_arr ||
                            (x->n_arr && memcmp(x->arr, y->arr, x->n_arr * sizeof(*x->arr)) != 0))
                            abort();
                    }
                } else if (at != 0 || h.n != 0 || strcmp(e4.msg, e5.msg) != 0) {
                    abort();
                }
            }
            json_flat_free(&h);
            json_flat_free(&k);
        }
        json_pathset_free(ps);
    }

    /* arbitrary bytes through the writer come back as they went in */
    {
        struct buf b;
        struct json_writer w;
        struct json_value *s = NULL;
        buf_init(&b, 0);
        jw_init(&w, &b, n & 1 ? 2 : 0);
        jw_array_begin(&w);
        jw_str_sv(&w, sv_make(p, n));
        jw_double(&w, n > 8 ? (double)d[0] * 1e-3 + (double)(int8_t)d[1] : 0.5);
        jw_array_end(&w);
        if (w.rc != 0 || json_parse(b.p, b.len, &a, &s, NULL) != 0)
            abort();
        if (s->n != 2 || s->items[0].len != n || (n && memcmp(s->items[0].str, p, n) != 0))
            abort();
        buf_free(&b);
    }

    json_flat_free(&f);
    json_flat_free(&g);
    arena_free(&a);
    return 0;
}
