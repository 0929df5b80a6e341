/*
 * The validating scanner: json_skip_value and json_flatten.
 *
 * Both walk the input once, iteratively (an explicit stack, never recursion, so
 * hostile nesting cannot overflow the C stack), and validate everything they
 * pass over, skipped subtrees included. See docs/internals/json.md.
 */
#include "json_int.h"

#include <stdlib.h>

#define S JSON__C_STOP
#define W JSON__C_WS
#define D JSON__C_DIGIT
/* clang-format off */
const uint8_t json__class[256] = {
    S, S, S, S, S, S, S, S, S, S|W, S|W, S, S, S|W, S, S,   /* 0x00 */
    S, S, S, S, S, S, S, S, S, S,   S,   S, S, S,   S, S,   /* 0x10 */
    W, 0, S, 0, 0, 0, 0, 0, 0, 0,   0,   0, 0, 0,   0, 0,   /* 0x20: ' ' '"' */
    D, D, D, D, D, D, D, D, D, D,   0,   0, 0, 0,   0, 0,   /* 0x30: digits */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   0,   0, 0, 0,   0, 0,   /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   0,   0, S, 0,   0, 0,   /* 0x50: '\\' */
};
/* clang-format on */
#undef S
#undef W
#undef D

int json__fail(struct json__scan *sc, const json__uc *at, int code, const char *msg)
{
    sc->code = code;
    if (sc->err != NULL) {
        err_set(sc->err, code, "%s", msg);
        sc->err->offset = (uint64_t)(at - sc->base);
    }
    return code;
}

const json__uc *json__ws_slow(struct json__scan *sc, const json__uc *s)
{
    while (s < sc->end && (json__class[*s] & JSON__C_WS))
        s++;
    return s;
}

int json__fail_value(struct json__scan *sc, const json__uc *s)
{
    if (s >= sc->end)
        return json__fail(sc, s, ERR_FORMAT, "unexpected end of input (expected a value)");
    switch (*s) {
    case ']':
        return json__fail(sc, s, ERR_FORMAT, "expected a value, got ']' (trailing comma?)");
    case '}':
        return json__fail(sc, s, ERR_FORMAT, "expected a value, got '}'");
    case 'N': case 'I': case '+': case '.':
        return json__fail(sc, s, ERR_FORMAT,
                          "invalid number (NaN, Infinity, '+' and a leading '.' are not JSON)");
    default:
        return json__fail(sc, s, ERR_FORMAT, "expected a value");
    }
}

static int fail_depth(struct json__scan *sc, const json__uc *s)
{
    return json__fail(sc, s, ERR_LIMIT, "nesting deeper than JSON_MAX_DEPTH (128)");
}

/* After ',' or '{' in an object: expects a key and its ':'; returns the byte
 * after the ':' and whitespace. */
static const json__uc *skip_key(struct json__scan *sc, const json__uc *s)
{
    if (JSON__UNLIKELY(json__at(sc, s) != '"')) {
        if (json__at(sc, s) == '}')
            json__fail(sc, s, ERR_FORMAT, "trailing comma in object");
        else if (s >= sc->end)
            json__fail(sc, s, ERR_FORMAT, "unexpected end of input (expected an object key)");
        else
            json__fail(sc, s, ERR_FORMAT, "expected '\"' to begin an object key");
        return NULL;
    }
    bool esc = false;
    const json__uc *q = json__scan_str(sc, s, &esc);
    if (q == NULL)
        return NULL;
    s = json__ws(sc, q + 1);
    if (JSON__UNLIKELY(json__at(sc, s) != ':')) {
        json__fail(sc, s, ERR_FORMAT, "expected ':' after object key");
        return NULL;
    }
    return json__ws(sc, s + 1);
}

const json__uc *json__skip(struct json__scan *sc, const json__uc *s, int depth)
{
    /* One bit per open container of this subtree: 1 = array, 0 = object. */
    uint64_t kind[(JSON_MAX_DEPTH + 63) / 64] = { 0 };
    int base = depth, d = depth;
    bool esc = false;

    for (;;) {
        /* A value starts at s. */
        switch (json__at(sc, s)) {
        case '"':
            s = json__scan_str(sc, s, &esc);
            if (s == NULL)
                return NULL;
            s++;
            break;
        case '{':
            if (d >= JSON_MAX_DEPTH) {
                fail_depth(sc, s);
                return NULL;
            }
            kind[(d - base) >> 6] &= ~(1ull << ((d - base) & 63));
            d++;
            s = json__ws(sc, s + 1);
            if (json__at(sc, s) == '}') {
                d--;
                s++;
                break;
            }
            s = skip_key(sc, s);
            if (s == NULL)
                return NULL;
            continue;
        case '[':
            if (d >= JSON_MAX_DEPTH) {
                fail_depth(sc, s);
                return NULL;
            }
            kind[(d - base) >> 6] |= 1ull << ((d - base) & 63);
            d++;
            s = json__ws(sc, s + 1);
            if (json__at(sc, s) == ']') {
                d--;
                s++;
                break;
            }
            continue;
        case 't':
            s = json__scan_lit(sc, s, "true", 4);
            if (s == NULL)
                return NULL;
            break;
        case 'f':
            s = json__scan_lit(sc, s, "false", 5);
            if (s == NULL)
                return NULL;
            break;
        case 'n':
            s = json__scan_lit(sc, s, "null", 4);
            if (s == NULL)
                return NULL;
            break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            s = json__scan_num(sc, s);
            if (s == NULL)
                return NULL;
            break;
        default:
            json__fail_value(sc, s);
            return NULL;
        }
        /* A value ended at s: close containers until one continues. */
        for (;;) {
            if (d == base)
                return s;
            s = json__ws(sc, s);
            int c = json__at(sc, s);
            int top = d - 1 - base;
            bool is_arr = (kind[top >> 6] >> (top & 63)) & 1;
            if (c == ',') {
                s = json__ws(sc, s + 1);
                if (!is_arr) {
                    s = skip_key(sc, s);
                    if (s == NULL)
                        return NULL;
                }
                break;
            }
            if (c == (is_arr ? ']' : '}')) {
                d--;
                s++;
                continue;
            }
            if (is_arr)
                json__fail(sc, s, ERR_FORMAT,
                           s >= sc->end ? "unexpected end of input (unclosed array)"
                                        : "expected ',' or ']' after array element");
            else
                json__fail(sc, s, ERR_FORMAT,
                           s >= sc->end ? "unexpected end of input (unclosed object)"
                                        : "expected ',' or '}' after object member");
            return NULL;
        }
    }
}

int json_skip_value(const char *p, size_t len, size_t *pos, struct err *err)
{
    struct json__scan sc = { (const json__uc *)p, (const json__uc *)p + len, err, 0 };
    if (*pos > len)
        return json__fail(&sc, sc.end, ERR_USAGE, "position past the end of input");
    const json__uc *s = json__ws(&sc, sc.base + *pos);
    s = json__skip(&sc, s, 0);
    if (s == NULL)
        return sc.code;
    *pos = (size_t)(s - sc.base);
    return 0;
}

/* ---- flattening -------------------------------------------------------------- */

void json_flat_init(struct json_flat *f)
{
    f->leaves = NULL;
    f->n = 0;
    f->cap = 0;
}

void json_flat_free(struct json_flat *f)
{
    free(f->leaves);
    json_flat_init(f);
}

uint64_t json_path_hash(const char *path, size_t len)
{
    return hash64(path, len, 0);
}

const struct json_leaf *json_flat_get(const struct json_flat *f, const char *path)
{
    size_t len = strlen(path);
    uint64_t h = json_path_hash(path, len);
    for (size_t i = 0; i < f->n; i++) {
        const struct json_leaf *l = &f->leaves[i];
        if (l->path_hash == h && l->path_len == len && memcmp(l->path, path, len) == 0)
            return l;
    }
    return NULL;
}

struct sv json_leaf_str(const struct json_leaf *leaf, struct arena *arena)
{
    if (!leaf->escaped)
        return sv_make(leaf->val, leaf->val_len);
    char *dst = arena_alloc(arena, (size_t)leaf->val_len + 1);
    size_t n = json__unescape_to(leaf->val, leaf->val_len, dst);
    if (n == (size_t)-1) /* cannot happen for a leaf json_flatten produced */
        return sv_make(leaf->val, leaf->val_len);
    dst[n] = '\0';
    return sv_make(dst, n);
}

/* One open container while flattening. */
struct frame {
    uint32_t path_len; /* length of the container's own path */
    int32_t node;      /* its path-set node (JSON__NODE_ALL when unfiltered) */
    bool is_arr;
};

struct flat_ctx {
    struct json__scan sc;
    const struct json_pathset *ps;
    struct arena *arena;
    struct json_flat *out;
    size_t path_bytes;  /* bytes of paths copied into the arena so far */
    size_t path_budget; /* cap on path_bytes (ERR_LIMIT) */
    /* Paths and position lists are bump-allocated from arena chunks, so the
     * per-leaf cost is a pointer increment, not a call. */
    char *bp, *bend;
    size_t chunk;
    /* The path of the current value, built in place. */
    uint32_t plen;
    const char *path_copy; /* arena copy of path[0..plen), NULL when stale */
    uint64_t path_hash;
    /* Open arrays, outermost first; snap is an arena copy of arr[0..n_arr)
     * shared by consecutive leaves, NULL when stale. */
    uint32_t n_arr;
    uint32_t next_array_id;
    const struct json_arrpos *snap;
    struct json_arrpos arr[JSON_MAX_DEPTH];
    /* Slack past the end: whole 16-byte blocks are copied and hashed. */
    _Alignas(16) char path[JSON_MAX_PATH + 32];
};

static inline bool node_wants_leaf(const struct json_pathset *ps, int32_t node)
{
    return node == JSON__NODE_ALL ||
           (node >= 0 && (ps->nodes[node].flags & (JSON__PS_EXACT | JSON__PS_SUBTREE)) != 0);
}

static __attribute__((noinline)) void refill(struct flat_ctx *c, size_t n)
{
    size_t size = n > c->chunk ? n : c->chunk;
    c->bp = arena_alloc(c->arena, size);
    c->bend = c->bp + size;
}

/* n must be a multiple of 16, which keeps every allocation 16-byte aligned. */
static inline void *bump(struct flat_ctx *c, size_t n)
{
    if (JSON__UNLIKELY((size_t)(c->bend - c->bp) < n))
        refill(c, n);
    void *p = c->bp;
    c->bp += n;
    return p;
}

static __attribute__((noinline)) void grow_leaves(struct json_flat *out)
{
    out->cap = out->cap ? out->cap * 2 : 64;
    out->leaves = xrealloc(out->leaves, out->cap * sizeof(*out->leaves));
}

static __attribute__((noinline)) int copy_path(struct flat_ctx *c, const json__uc *at)
{
    size_t n = ((size_t)c->plen + 16) & ~(size_t)15; /* the NUL included */
    c->path_bytes += n;
    if (JSON__UNLIKELY(c->path_bytes > c->path_budget))
        return json__fail(&c->sc, at, ERR_LIMIT, "flattened paths too large for this input");
    char *pc = bump(c, n);
    c->path[c->plen] = '\0';
    for (size_t i = 0; i < n; i += 16)
        memcpy(pc + i, c->path + i, 16);
    c->path_copy = pc;
    c->path_hash = json__hash_padded(c->path, c->plen);
    return 0;
}

static inline int emit(struct flat_ctx *c, uint8_t type, const json__uc *v, size_t vlen, bool esc)
{
    struct json_flat *out = c->out;
    if (JSON__UNLIKELY(out->n == out->cap))
        grow_leaves(out);
    if (c->path_copy == NULL) {
        int rc = copy_path(c, v);
        if (rc != 0)
            return rc;
    }
    const struct json_arrpos *arr = NULL;
    if (c->n_arr != 0) {
        if (c->snap == NULL) {
            size_t n = ((size_t)c->n_arr * sizeof(struct json_arrpos) + 15) & ~(size_t)15;
            struct json_arrpos *sn = bump(c, n);
            memcpy(sn, c->arr, c->n_arr * sizeof(*sn));
            c->snap = sn;
        }
        arr = c->snap;
    }
    struct json_leaf *l = &out->leaves[out->n++];
    l->path = c->path_copy;
    l->path_hash = c->path_hash;
    l->val = (const char *)v;
    l->path_len = c->plen;
    l->val_len = (uint32_t)vlen;
    l->type = type;
    l->escaped = esc;
    l->n_arr = (uint16_t)c->n_arr;
    l->arr = arr;
    return 0;
}

/* Sets the current path to the container's path plus one key. */
static inline int push_key(struct flat_ctx *c, uint32_t base, const char *key, size_t klen,
                           const json__uc *at)
{
    size_t need = base + (base != 0) + klen;
    if (JSON__UNLIKELY(need > JSON_MAX_PATH))
        return json__fail(&c->sc, at, ERR_LIMIT, "path longer than JSON_MAX_PATH");
    char *d = c->path + base;
    if (base != 0)
        *d++ = '.';
    /* Most keys are short: one 16-byte move when the input has the room. */
    if (klen <= 16 && (size_t)((const char *)c->sc.end - key) >= 16)
        memcpy(d, key, 16);
    else
        memcpy(d, key, klen);
    c->plen = (uint32_t)need;
    c->path_copy = NULL;
    return 0;
}

static inline void set_plen(struct flat_ctx *c, uint32_t plen)
{
    if (c->plen != plen) {
        c->plen = plen;
        c->path_copy = NULL;
    }
}

/* Flattens the value starting at sc.base + from (after optional whitespace)
 * and sets *end_out just past it; trailing bytes are the caller's business.
 * Returns 0 or the error code (out->n = 0, err set). */
static int flatten_value(const char *p, size_t len, size_t from, const struct json_pathset *want,
                         struct arena *arena, struct json_flat *out, struct err *err,
                         const json__uc **end_out, size_t *path_bytes_out)
{
    struct flat_ctx ctx; /* about 7 KiB with the frame stack */
    struct flat_ctx *c = &ctx;
    c->sc.base = (const json__uc *)p;
    c->sc.end = (const json__uc *)p + len;
    c->sc.err = err;
    c->sc.code = 0;
    c->ps = want;
    c->arena = arena;
    c->out = out;
    c->path_bytes = 0;
    c->path_budget = 64 * (size_t)(len - from) + (1u << 20);
    c->bp = c->bend = NULL;
    /* About what a compact CloudTrail record's paths need: less waste at the
     * end of the last chunk than a fixed large size would leave. */
    c->chunk = (len - from) / 2 + 256 < 8192 ? (((len - from) / 2 + 256) & ~(size_t)15) : 8192;
    c->plen = 0;
    c->path_copy = NULL;
    c->path_hash = 0;
    c->n_arr = 0;
    c->next_array_id = 0;
    c->snap = NULL;
    out->n = 0;

    struct json__scan *sc = &c->sc;
    struct frame st[JSON_MAX_DEPTH];
    int depth = 0;
    int32_t node = want != NULL ? 0 : JSON__NODE_ALL;
    bool esc;
    int rc = 0;
    const json__uc *s = json__ws(sc, sc->base + from);
    const json__uc *v;

value:
    /* A value starts at s; node and the path describe it. */
    switch (json__at(sc, s)) {
    case '"':
        esc = false;
        v = json__scan_str(sc, s, &esc);
        if (v == NULL)
            goto fail;
        if (node_wants_leaf(want, node) &&
            (rc = emit(c, JSON_STRING, s + 1, (size_t)(v - s - 1), esc)) != 0)
            goto fail_rc;
        s = v + 1;
        goto after;
    case '{':
        if (node == JSON__NODE_NONE)
            goto skip_container;
        if (JSON__UNLIKELY(depth >= JSON_MAX_DEPTH)) {
            rc = fail_depth(sc, s);
            goto fail_rc;
        }
        st[depth].path_len = c->plen;
        st[depth].node = node;
        st[depth].is_arr = false;
        depth++;
        v = s;
        s = json__ws(sc, s + 1);
        if (json__at(sc, s) == '}') {
            depth--;
            s++;
            if (node_wants_leaf(want, node) &&
                (rc = emit(c, JSON_OBJECT, v, (size_t)(s - v), false)) != 0)
                goto fail_rc;
            goto after;
        }
        goto key;
    case '[':
        if (node == JSON__NODE_NONE)
            goto skip_container;
        if (JSON__UNLIKELY(depth >= JSON_MAX_DEPTH)) {
            rc = fail_depth(sc, s);
            goto fail_rc;
        }
        st[depth].path_len = c->plen;
        st[depth].node = node;
        st[depth].is_arr = true;
        depth++;
        v = s;
        s = json__ws(sc, s + 1);
        if (json__at(sc, s) == ']') {
            depth--;
            s++;
            if (node_wants_leaf(want, node) &&
                (rc = emit(c, JSON_ARRAY, v, (size_t)(s - v), false)) != 0)
                goto fail_rc;
            goto after;
        }
        c->arr[c->n_arr].array = c->next_array_id++;
        c->arr[c->n_arr].index = 0;
        c->n_arr++;
        c->snap = NULL;
        goto value;
    case 't':
        v = json__scan_lit(sc, s, "true", 4);
        if (v == NULL)
            goto fail;
        if (node_wants_leaf(want, node) && (rc = emit(c, JSON_TRUE, s, 4, false)) != 0)
            goto fail_rc;
        s = v;
        goto after;
    case 'f':
        v = json__scan_lit(sc, s, "false", 5);
        if (v == NULL)
            goto fail;
        if (node_wants_leaf(want, node) && (rc = emit(c, JSON_FALSE, s, 5, false)) != 0)
            goto fail_rc;
        s = v;
        goto after;
    case 'n':
        v = json__scan_lit(sc, s, "null", 4);
        if (v == NULL)
            goto fail;
        if (node_wants_leaf(want, node) && (rc = emit(c, JSON_NULL, s, 4, false)) != 0)
            goto fail_rc;
        s = v;
        goto after;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        v = json__scan_num(sc, s);
        if (v == NULL)
            goto fail;
        if (node_wants_leaf(want, node) &&
            (rc = emit(c, JSON_NUMBER, s, (size_t)(v - s), false)) != 0)
            goto fail_rc;
        s = v;
        goto after;
    default:
        rc = json__fail_value(sc, s);
        goto fail_rc;
    }

skip_container:
    /* An unwanted object or array: validated, nothing produced. Unwanted
     * scalars take the normal path above, which costs no call. */
    s = json__skip(sc, s, depth);
    if (s == NULL)
        goto fail;
    goto after;

key:
    /* s is at the first byte of a key in the object st[depth - 1]. */
    {
        if (JSON__UNLIKELY(json__at(sc, s) != '"')) {
            v = skip_key(sc, s); /* produces the right error */
            goto fail;
        }
        esc = false;
        v = json__scan_str(sc, s, &esc);
        if (v == NULL)
            goto fail;
        const char *k = (const char *)s + 1;
        size_t klen = (size_t)(v - s - 1);
        const json__uc *kat = s;
        s = json__ws(sc, v + 1);
        if (JSON__UNLIKELY(json__at(sc, s) != ':')) {
            rc = json__fail(sc, s, ERR_FORMAT, "expected ':' after object key");
            goto fail_rc;
        }
        s = json__ws(sc, s + 1);
        const struct frame *top = &st[depth - 1];
        int32_t parent = top->node;
        char kbuf[JSON_MAX_PATH];
        if (JSON__UNLIKELY(esc)) {
            /* Paths hold decoded keys; decoding never grows the text. */
            if (klen > JSON_MAX_PATH) {
                if (parent != JSON__NODE_ALL && !(want->nodes[parent].flags & JSON__PS_SUBTREE))
                    goto skip_member; /* no wanted path is that long */
                rc = json__fail(sc, kat, ERR_LIMIT, "path longer than JSON_MAX_PATH");
                goto fail_rc;
            }
            klen = json__unescape_to(k, klen, kbuf);
            k = kbuf;
        }
        if (parent == JSON__NODE_ALL || (want->nodes[parent].flags & JSON__PS_SUBTREE)) {
            node = JSON__NODE_ALL;
        } else {
            node = json__ps_child(want, parent, k, klen);
            if (node == JSON__NODE_NONE)
                goto value; /* skipped there without touching the path */
        }
        if ((rc = push_key(c, top->path_len, k, klen, kat)) != 0)
            goto fail_rc;
        if (node >= 0) {
            /* The set already holds this path and its hash. */
            const struct json__ps_node *nd = &want->nodes[node];
            c->path_copy = want->paths.p + nd->path_off;
            c->path_hash = nd->path_hash;
        }
        goto value;
    skip_member:
        node = JSON__NODE_NONE;
        goto value;
    }

after:
    /* A value ended at s: close containers until one continues. */
    for (;;) {
        if (depth == 0)
            goto done;
        s = json__ws(sc, s);
        struct frame *top = &st[depth - 1];
        int ch = json__at(sc, s);
        if (!top->is_arr) {
            if (JSON__LIKELY(ch == ',')) {
                s = json__ws(sc, s + 1);
                goto key;
            }
            if (ch == '}') {
                s++;
                depth--;
                set_plen(c, top->path_len);
                continue;
            }
            rc = json__fail(sc, s, ERR_FORMAT,
                            s >= sc->end ? "unexpected end of input (unclosed object)"
                                         : "expected ',' or '}' after object member");
            goto fail_rc;
        }
        if (ch == ',') {
            s = json__ws(sc, s + 1);
            c->arr[c->n_arr - 1].index++;
            c->snap = NULL;
            set_plen(c, top->path_len);
            node = top->node;
            goto value;
        }
        if (ch == ']') {
            s++;
            depth--;
            c->n_arr--;
            c->snap = NULL;
            set_plen(c, top->path_len);
            continue;
        }
        rc = json__fail(sc, s, ERR_FORMAT,
                        s >= sc->end ? "unexpected end of input (unclosed array)"
                                     : "expected ',' or ']' after array element");
        goto fail_rc;
    }

done:
    *end_out = s;
    *path_bytes_out = c->path_bytes;
    return 0;

fail:
    rc = c->sc.code;
fail_rc:
    out->n = 0;
    return rc;
}

int json_flatten(const char *p, size_t len, const struct json_pathset *want, struct arena *arena,
                 struct json_flat *out, struct err *err)
{
    const json__uc *s;
    size_t pb;
    int rc = flatten_value(p, len, 0, want, arena, out, err, &s, &pb);
    if (rc != 0)
        return rc;
    struct json__scan sc = { (const json__uc *)p, (const json__uc *)p + len, err, 0 };
    s = json__ws(&sc, s);
    if (s != sc.end) {
        out->n = 0;
        return json__fail(&sc, s, ERR_FORMAT, "unexpected data after the JSON value");
    }
    return 0;
}

int json_flatten_next(const char *p, size_t len, size_t *pos, const struct json_pathset *want,
                      struct arena *arena, struct json_flat *out, struct err *err)
{
    if (*pos > len) {
        struct json__scan sc = { (const json__uc *)p, (const json__uc *)p + len, err, 0 };
        out->n = 0;
        return json__fail(&sc, sc.end, ERR_USAGE, "position past the end of input");
    }
    const json__uc *s;
    size_t pb;
    int rc = flatten_value(p, len, *pos, want, arena, out, err, &s, &pb);
    if (rc != 0)
        return rc;
    /* The budget json_flatten would give the value alone: the same records
     * pass whichever way they are read. */
    size_t start = *pos;
    while (start < len && (json__class[(json__uc)p[start]] & JSON__C_WS))
        start++;
    if (pb > 64 * (size_t)((const char *)s - (p + start)) + (1u << 20)) {
        struct json__scan sc = { (const json__uc *)p, (const json__uc *)p + len, err, 0 };
        out->n = 0;
        return json__fail(&sc, s, ERR_LIMIT, "flattened paths too large for this input");
    }
    *pos = (size_t)(s - (const json__uc *)p);
    return 0;
}

/* ---- path sets ------------------------------------------------------------------ */

static void ps_rehash(struct json_pathset *ps, size_t tcap)
{
    free(ps->table);
    ps->table = xmalloc(tcap * sizeof(*ps->table));
    for (size_t i = 0; i < tcap; i++)
        ps->table[i] = -1;
    ps->tcap = tcap;
    ps->shift = 64;
    for (size_t c = tcap; c > 1; c >>= 1)
        ps->shift--;
    for (size_t id = 1; id < ps->n; id++) {
        size_t i = json__ps_slot(ps, ps->nodes[id].hash);
        while (ps->table[i] >= 0)
            i = (i + 1) & (tcap - 1);
        ps->table[i] = (int32_t)id;
    }
}

struct json_pathset *json_pathset_new(void)
{
    struct json_pathset *ps = xcalloc(1, sizeof(*ps));
    ps->cap = 16;
    ps->nodes = xcalloc(ps->cap, sizeof(*ps->nodes));
    ps->n = 1; /* the root */
    buf_init(&ps->segs, 0);
    buf_init(&ps->paths, 0);
    buf_putc(&ps->paths, '\0'); /* the root's path "" */
    ps->nodes[0].path_hash = json_path_hash("", 0);
    ps_rehash(ps, 16);
    return ps;
}

void json_pathset_free(struct json_pathset *ps)
{
    if (ps == NULL)
        return;
    free(ps->nodes);
    free(ps->table);
    buf_free(&ps->segs);
    buf_free(&ps->paths);
    free(ps);
}

static int32_t ps_intern(struct json_pathset *ps, int32_t parent, const char *seg, size_t len)
{
    int32_t id = json__ps_child(ps, parent, seg, len);
    if (id >= 0)
        return id;
    if (ps->n == ps->cap) {
        ps->cap *= 2;
        ps->nodes = xrealloc(ps->nodes, ps->cap * sizeof(*ps->nodes));
    }
    id = (int32_t)ps->n++;
    struct json__ps_node *nd = &ps->nodes[id];
    nd->parent = (uint32_t)parent;
    nd->flags = 0;
    nd->seg_len = (uint32_t)len;
    nd->seg_off = (uint32_t)ps->segs.len;
    nd->hash = json__seg_hash((uint32_t)parent, seg, len);
    buf_append(&ps->segs, seg, len); /* uncapped buf: cannot fail */
    /* The whole path, built once here so flattening need not copy it. */
    const struct json__ps_node *pn = &ps->nodes[parent];
    buf_reserve(&ps->paths, pn->path_len + 2 + len); /* the parent's path is copied from it */
    nd->path_off = (uint32_t)ps->paths.len;
    if (parent != 0) {
        buf_append(&ps->paths, ps->paths.p + pn->path_off, pn->path_len);
        buf_putc(&ps->paths, '.');
    }
    buf_append(&ps->paths, seg, len);
    nd->path_len = (uint32_t)(ps->paths.len - nd->path_off);
    buf_putc(&ps->paths, '\0');
    nd->path_hash = json_path_hash(ps->paths.p + nd->path_off, nd->path_len);
    /* At most a quarter full: most keys a record has are not wanted, and a
     * miss probes until an empty slot. */
    if (ps->n * 4 > ps->tcap)
        ps_rehash(ps, ps->tcap * 2);
    else {
        size_t i = json__ps_slot(ps, nd->hash);
        while (ps->table[i] >= 0)
            i = (i + 1) & (ps->tcap - 1);
        ps->table[i] = id;
    }
    return id;
}

static void ps_add(struct json_pathset *ps, const char *path, size_t len, uint32_t flag)
{
    int32_t node = 0; /* the empty path is the root itself */
    size_t i = 0;
    while (len > 0) {
        size_t j = i;
        while (j < len && path[j] != '.')
            j++;
        node = ps_intern(ps, node, path + i, j - i);
        if (j >= len)
            break;
        i = j + 1; /* "a." ends with an empty segment, as a key "" would */
    }
    ps->nodes[node].flags |= flag;
}

void json_pathset_add(struct json_pathset *ps, const char *path, size_t len)
{
    ps_add(ps, path, len, JSON__PS_EXACT);
}

void json_pathset_add_subtree(struct json_pathset *ps, const char *path, size_t len)
{
    ps_add(ps, path, len, JSON__PS_EXACT | JSON__PS_SUBTREE);
}
