/*
 * json_int.h: pieces shared by the json module's files (scanner primitives,
 * the unescaper, the path-set layout). Not part of the public API.
 *
 * The primitives work on unsigned byte pointers into the input and never read
 * at or past `end`: the input is the caller's buffer, not padded.
 */
#ifndef VIGIL_JSON_INT_H
#define VIGIL_JSON_INT_H

#include "json/json.h"

#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef unsigned char json__uc;

#define JSON__LIKELY(x) __builtin_expect(!!(x), 1)
#define JSON__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Byte classes: bit 1 = stops a string scan ('"', '\\', control characters),
 * bit 2 = JSON whitespace, bit 4 = digit. */
extern const uint8_t json__class[256];
#define JSON__C_STOP 1
#define JSON__C_WS 2
#define JSON__C_DIGIT 4

/* What the scanner knows about where it is; err may be NULL. */
struct json__scan {
    const json__uc *base;
    const json__uc *end;
    struct err *err;
    int code; /* the code of the last failure, also when err is NULL */
};

/* Sets sc->code and err (code, message, err->offset = at - base); returns code. */
int json__fail(struct json__scan *sc, const json__uc *at, int code, const char *msg);

/* Byte at s, or -1 at the end of input: a sentinel that matches no JSON token. */
static inline int json__at(struct json__scan *sc, const json__uc *s)
{
    return s < sc->end ? *s : -1;
}

const json__uc *json__ws_slow(struct json__scan *sc, const json__uc *s);

static inline const json__uc *json__ws(struct json__scan *sc, const json__uc *s)
{
    /* Compact input is the common case: no whitespace, no loop, no call. */
    if (JSON__LIKELY(s < sc->end && *s > ' '))
        return s;
    return json__ws_slow(sc, s);
}

/* First byte at or after s that ends a run of plain string bytes, or end. */
static inline const json__uc *json__str_stop(const json__uc *s, const json__uc *end)
{
#if defined(__AVX2__)
    /* Only when the build targets x86-64-v3; the default build is v2. */
    const __m256i q32 = _mm256_set1_epi8('"');
    const __m256i b32 = _mm256_set1_epi8('\\');
    const __m256i c32 = _mm256_set1_epi8(0x1f);
    while (end - s >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)s);
        __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(v, q32), _mm256_cmpeq_epi8(v, b32));
        m = _mm256_or_si256(m, _mm256_cmpeq_epi8(_mm256_min_epu8(v, c32), v));
        unsigned bits = (unsigned)_mm256_movemask_epi8(m);
        if (bits != 0)
            return s + __builtin_ctz(bits);
        s += 32;
    }
#endif
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f);
    while (end - s >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
        /* unsigned v <= 0x1f  <=>  min(v, 0x1f) == v */
        m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return s + __builtin_ctz(bits);
        s += 16;
    }
#endif
    while (s < end && !(json__class[*s] & JSON__C_STOP))
        s++;
    return s;
}

/* Scans a string body; s points just after the opening quote at q. Returns the
 * closing quote, or NULL with err set. *escaped is set when a backslash occurs. */
static inline const json__uc *json__scan_str(struct json__scan *sc, const json__uc *q,
                                             bool *escaped)
{
    const json__uc *s = q + 1;
    for (;;) {
        s = json__str_stop(s, sc->end);
        if (JSON__UNLIKELY(s >= sc->end)) {
            json__fail(sc, q, ERR_FORMAT, "unterminated string");
            return NULL;
        }
        if (JSON__LIKELY(*s == '"'))
            return s;
        if (*s == '\\') {
            *escaped = true;
            if (sc->end - s < 2) {
                json__fail(sc, q, ERR_FORMAT, "unterminated string");
                return NULL;
            }
            switch (s[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                s += 2;
                continue;
            case 'u':
                for (int i = 2; i < 6; i++) {
                    if (s + i >= sc->end) {
                        json__fail(sc, q, ERR_FORMAT, "unterminated string");
                        return NULL;
                    }
                    unsigned c = s[i];
                    if (!((c - '0') < 10u || ((c | 0x20) - 'a') < 6u)) {
                        json__fail(sc, s, ERR_FORMAT, "invalid \\u escape: expected 4 hex digits");
                        return NULL;
                    }
                }
                s += 6;
                continue;
            default:
                json__fail(sc, s, ERR_FORMAT, "invalid escape in string");
                return NULL;
            }
        }
        json__fail(sc, s, ERR_FORMAT, "control character in string (must be escaped)");
        return NULL;
    }
}

/* Scans a number starting at s (a '-' or a digit) per RFC 8259. Returns the
 * byte after it, or NULL with err set. */
static inline const json__uc *json__scan_num(struct json__scan *sc, const json__uc *s)
{
    const json__uc *p = s;
    const json__uc *end = sc->end;
    if (*p == '-')
        p++;
    if (p >= end || !(json__class[*p] & JSON__C_DIGIT)) {
        json__fail(sc, p, ERR_FORMAT, "expected a digit in number");
        return NULL;
    }
    if (*p == '0') {
        p++;
        if (p < end && (json__class[*p] & JSON__C_DIGIT)) {
            json__fail(sc, s, ERR_FORMAT, "leading zeros are not allowed in numbers");
            return NULL;
        }
    } else {
        while (p < end && (json__class[*p] & JSON__C_DIGIT))
            p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !(json__class[*p] & JSON__C_DIGIT)) {
            json__fail(sc, p, ERR_FORMAT, "expected a digit after '.' in number");
            return NULL;
        }
        while (p < end && (json__class[*p] & JSON__C_DIGIT))
            p++;
    }
    if (p < end && (*p | 0x20) == 'e') {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !(json__class[*p] & JSON__C_DIGIT)) {
            json__fail(sc, p, ERR_FORMAT, "expected a digit in number exponent");
            return NULL;
        }
        while (p < end && (json__class[*p] & JSON__C_DIGIT))
            p++;
    }
    return p;
}

/* Matches the literal word (true/false/null) at s. Returns the byte after it,
 * or NULL with err set. */
static inline const json__uc *json__scan_lit(struct json__scan *sc, const json__uc *s,
                                             const char *word, size_t n)
{
    if ((size_t)(sc->end - s) < n || memcmp(s, word, n) != 0) {
        json__fail(sc, s, ERR_FORMAT, "invalid literal (expected true, false or null)");
        return NULL;
    }
    return s + n;
}

/* Validates one value whose first byte is at s (whitespace already skipped);
 * depth is the nesting depth of the value's container. Returns the byte after
 * the value, or NULL with err set. */
const json__uc *json__skip(struct json__scan *sc, const json__uc *s, int depth);

/* Error for a value that cannot start at s. */
int json__fail_value(struct json__scan *sc, const json__uc *s);

/* Decodes the string body s[0..len) into dst (room for len bytes is always
 * enough: no escape grows). Returns the decoded length, or (size_t)-1 on a bad
 * escape. Lone surrogates become U+FFFD. */
size_t json__unescape_to(const char *s, size_t len, char *dst);

/* hash64(p, len, 0) of core/hash.c, computed inline for a buffer that has at
 * least 8 readable bytes past p + len (the scanner's own path buffer). Must
 * stay identical to hash64: tests/unit/test_json.c checks every leaf. */
static inline uint64_t json__hash_padded(const char *p, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t h = 0xcbf29ce484222325ULL;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    if (len != 0) {
        memcpy(&tail, p, 8);
        tail &= ~0ULL >> (64 - 8 * len);
    }
    h = (h ^ tail ^ ((uint64_t)len << 56)) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
#else
    return hash64(p, len, 0);
#endif
}

/* ---- path sets --------------------------------------------------------------- */

#define JSON__PS_EXACT 1u   /* this path itself is wanted */
#define JSON__PS_SUBTREE 2u /* everything below it is wanted */

#define JSON__NODE_ALL (-1)  /* no filtering below this point */
#define JSON__NODE_NONE (-2) /* not wanted: skip */

struct json__ps_node {
    uint32_t parent;
    uint32_t flags;
    uint32_t seg_len;
    uint32_t seg_off;   /* into json_pathset.segs */
    uint64_t hash;      /* of (parent, segment) */
    uint32_t path_off;  /* the node's whole dotted path, NUL-terminated, in json_pathset.paths */
    uint32_t path_len;
    uint64_t path_hash; /* json_path_hash of that path: leaves at a node share it, uncopied */
};

struct json_pathset {
    struct json__ps_node *nodes; /* [0] is the root (the empty path) */
    size_t n, cap;
    int32_t *table; /* open addressing over nodes by hash; -1 = empty */
    size_t tcap;    /* power of two */
    unsigned shift; /* 64 - log2(tcap): json__ps_slot takes the hash's top bits */
    struct buf segs; /* segment bytes */
    struct buf paths; /* whole paths of the nodes */
};

/* Hash of one key segment under a parent node: only used inside a path set,
 * so it need not match anything else. Reads the key's first and last words,
 * which is enough to tell keys apart (matches are confirmed with memcmp). It
 * sits on the critical path of every object key the scanner meets, so it is
 * two independent multiplies and an add (a short dependency chain), and the
 * table is indexed by the product's top bits, which depend on every input
 * bit (json__ps_slot). */
static inline uint64_t json__seg_hash(uint32_t parent, const char *seg, size_t len)
{
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, seg, 8);
        memcpy(&b, seg + len - 8, 8);
    } else if (len >= 4) {
        uint32_t x, y;
        memcpy(&x, seg, 4);
        memcpy(&y, seg + len - 4, 4);
        a = x;
        b = y;
    } else if (len > 0) {
        const unsigned char *u = (const unsigned char *)seg;
        a = u[0] | (uint64_t)u[len / 2] << 8 | (uint64_t)u[len - 1] << 16;
    }
    return (a ^ ((uint64_t)parent << 32) ^ len) * 0x9e3779b97f4a7c15ULL +
           (b ^ ((uint64_t)len << 48)) * 0xc2b2ae3d27d4eb4fULL;
}

/* First table slot for hash h: its top bits. */
static inline size_t json__ps_slot(const struct json_pathset *ps, uint64_t h)
{
    return (size_t)(h >> ps->shift);
}

/* a[0..len) == b[0..len) for short keys without a call: the first and last
 * words overlap, so every byte is compared and nothing outside is read. */
static inline bool json__eq(const char *a, const char *b, size_t len)
{
    if (len >= 8) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + len - 8, 8);
        memcpy(&v, b + len - 8, 8);
        if (((x ^ y) | (u ^ v)) != 0)
            return false;
        return len <= 16 || memcmp(a + 8, b + 8, len - 16) == 0;
    }
    if (len >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + len - 4, 4);
        memcpy(&v, b + len - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Child node of parent for one key segment, or JSON__NODE_NONE. */
static inline int32_t json__ps_child(const struct json_pathset *ps, int32_t parent,
                                     const char *seg, size_t len)
{
    uint64_t h = json__seg_hash((uint32_t)parent, seg, len);
    size_t mask = ps->tcap - 1;
    for (size_t i = json__ps_slot(ps, h);; i = (i + 1) & mask) {
        int32_t id = ps->table[i];
        if (id < 0)
            return JSON__NODE_NONE;
        const struct json__ps_node *nd = &ps->nodes[id];
        if (nd->hash == h && nd->parent == (uint32_t)parent && nd->seg_len == len &&
            json__eq(ps->segs.p + nd->seg_off, seg, len))
            return id;
    }
}

#endif
