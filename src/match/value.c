/*
 * Value primitives of the matcher: how event-ruler reads numbers, IP
 * addresses, case-insensitive text and wildcards, and whether one compiled
 * pattern accepts one event value.
 *
 * Strings are compared in their quoted form ('"' + text + '"') wherever
 * event-ruler does, so prefix/suffix/wildcard edge cases with '"' in the
 * pattern behave as in the Java engine.
 */
#include "match/match_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- UTF-8 and case folding ------------------------------------------------ */

size_t match__utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        *cp = 0xDC00 + c;
        return 1;
    }
    if (len < n) {
        *cp = 0xDC00 + c;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = 0xDC00 + c;
            return 1;
        }
        v = (v << 6) | (u[i] & 0x3F);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not characters */
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xDC00 + c;
        return 1;
    }
    *cp = v;
    return n;
}

void match__fold(const char *s, size_t len, struct buf *out)
{
    const char *pool = match__casemap_pool();
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            char l = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
            buf_putc(out, l);
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = match__utf8_next(s + i, len - i, &cp);
        const struct match_casemap *m = n > 1 ? match__casemap(cp) : NULL;
        if (m)
            buf_append(out, pool + m->fo_off, m->fo_len);
        else
            buf_append(out, s + i, n);
        i += n;
    }
}

/* ---- numbers ---------------------------------------------------------------- */

/* A decimal as 0.D x 10^exp with D free of leading and trailing zeros. */
struct dec {
    bool neg;
    const char *d; /* digits, possibly with one '.' inside (skipped) */
    size_t n;      /* significant digits */
    long long exp;
};

/* Splits JSON-number text into sign, significant digits and exponent. The
 * digits are collected into out (cap bytes). Returns false on junk. */
static bool dec_parse(const char *t, size_t len, char *out, size_t cap, size_t *n_out, bool *neg,
                      long long *exp_out)
{
    size_t i = 0, n = 0;
    long long point = 0; /* digits before the decimal point */
    bool seen_point = false, any = false, leading = true;
    long long lead_zeros = 0;
    *neg = false;
    if (i < len && (t[i] == '-' || t[i] == '+')) {
        *neg = t[i] == '-';
        i++;
    }
    for (; i < len; i++) {
        char c = t[i];
        if (c == '.') {
            if (seen_point)
                return false;
            seen_point = true;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        any = true;
        if (!seen_point)
            point++;
        if (leading && c == '0') {
            lead_zeros++;
            continue;
        }
        leading = false;
        if (n >= cap)
            return false;
        out[n++] = c;
    }
    if (!any)
        return false;
    long long e = 0;
    if (i < len && (t[i] == 'e' || t[i] == 'E')) {
        bool eneg = false;
        i++;
        if (i < len && (t[i] == '+' || t[i] == '-')) {
            eneg = t[i] == '-';
            i++;
        }
        if (i >= len)
            return false;
        for (; i < len && t[i] >= '0' && t[i] <= '9'; i++)
            if (e < 100000000)
                e = e * 10 + (t[i] - '0');
        if (eneg)
            e = -e;
    }
    if (i != len)
        return false;
    while (n > 0 && out[n - 1] == '0')
        n--;
    *n_out = n;
    *exp_out = point - lead_zeros + e;
    return true;
}

bool match__num_comparable(const char *text, size_t len, double *out)
{
    char small[64];
    char *z = len < sizeof(small) ? small : xmalloc(len + 1);
    memcpy(z, text, len);
    z[len] = '\0';
    char *end;
    double d = strtod(z, &end);
    bool ok = end == z + len && isfinite(d);
    char digits_small[64];
    char *digits = len < sizeof(digits_small) ? digits_small : xmalloc(len + 1);
    size_t n = 0;
    bool neg;
    long long exp;
    if (ok)
        ok = dec_parse(text, len, digits, len + 1, &n, &neg, &exp);
    if (ok) {
        if (n == 0) {
            d = 0.0; /* BigDecimal has no negative zero */
        } else if (d == 0.0) {
            ok = false; /* underflowed to zero */
        } else if (n > 15 || fabs(d) < DBL_MIN) {
            /* More digits than a double always keeps, or a subnormal: compare
             * with the shortest decimal that reads back as d, as Java's
             * BigDecimal.valueOf(double) does. */
            char tmp[40];
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
                if (strtod(tmp, NULL) == d)
                    break;
            }
            char d2[40];
            size_t n2;
            bool neg2;
            long long exp2;
            ok = dec_parse(tmp, strlen(tmp), d2, sizeof(d2), &n2, &neg2, &exp2) && n2 == n &&
                 exp2 == exp && memcmp(d2, digits, n) == 0;
        }
        /* With at most 15 significant digits and a normal double, the shortest
         * form of d is the text's own value: two different decimals of 15 digits
         * never round to the same double. */
    }
    if (z != small)
        free(z);
    if (digits != digits_small)
        free(digits);
    if (ok)
        *out = d;
    return ok;
}

/* ---- IP addresses ----------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ */
static bool looks_v4(const char *s, size_t len)
{
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
        parts++;
        if (parts < 4) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
    }
    return i == len;
}

/* [0-9a-fA-F:]*:[0-9a-fA-F:]* */
static bool looks_v6(const char *s, size_t len)
{
    bool colon = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':')
            colon = true;
        else if (hexval(s[i]) < 0)
            return false;
    }
    return colon;
}

/* Java's IPAddressUtil.textToNumericFormatV4 for four decimal parts: leading
 * zeros are decimal, the whole text is at most 15 characters. */
static bool parse_v4(const char *s, size_t len, uint8_t out[4])
{
    if (len == 0 || len > 15)
        return false;
    long v = 0;
    int part = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (v > 255)
                return false;
            out[part++] = (uint8_t)v;
            v = 0;
        } else {
            v = v * 10 + (s[i] - '0');
        }
    }
    if (v > 255)
        return false;
    out[part] = (uint8_t)v;
    return true;
}

/* Java's IPAddressUtil.textToNumericFormatV6 (without the embedded IPv4 form,
 * which the regex already excluded). A group may have more than 4 digits as
 * long as its value fits 16 bits, as in Java. */
static bool parse_v6(const char *s, size_t len, uint8_t dst[16])
{
    if (len < 2)
        return false;
    memset(dst, 0, 16);
    size_t i = 0, j = 0;
    long colonp = -1;
    unsigned val = 0;
    bool saw = false;
    if (s[0] == ':') {
        if (s[1] != ':')
            return false;
        i = 1;
    }
    while (i < len) {
        char ch = s[i++];
        int h = hexval(ch);
        if (h >= 0) {
            val = (val << 4) | (unsigned)h;
            if (val > 0xffff)
                return false;
            saw = true;
            continue;
        }
        /* ch == ':' (the regex allows nothing else) */
        if (!saw) {
            if (colonp != -1)
                return false;
            colonp = (long)j;
            continue;
        }
        if (i == len)
            return false;
        if (j + 2 > 16)
            return false;
        dst[j++] = (uint8_t)(val >> 8);
        dst[j++] = (uint8_t)val;
        saw = false;
        val = 0;
    }
    if (saw) {
        if (j + 2 > 16)
            return false;
        dst[j++] = (uint8_t)(val >> 8);
        dst[j++] = (uint8_t)val;
    }
    if (colonp != -1) {
        size_t n = j - (size_t)colonp;
        if (j == 16)
            return false;
        for (size_t k = 1; k <= n; k++) {
            dst[16 - k] = dst[(size_t)colonp + n - k];
            dst[(size_t)colonp + n - k] = 0;
        }
        j = 16;
    }
    return j == 16;
}

int match__ip_parse(const char *s, size_t len, uint8_t out[16])
{
    if (looks_v4(s, len))
        return parse_v4(s, len, out) ? 4 : -1;
    if (!looks_v6(s, len))
        return 0;
    uint8_t b[16];
    if (!parse_v6(s, len, b))
        return -1;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(b, mapped, 12) == 0) {
        memcpy(out, b + 12, 4); /* Java hands back an Inet4Address */
        return 4;
    }
    memcpy(out, b, 16);
    return 16;
}

/* ---- equals-ignore-case ------------------------------------------------------ */

struct match_eic *match__eic_compile(struct arena *a, const char *s, size_t len)
{
    const char *pool = match__casemap_pool();
    size_t nchar = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += match__utf8_next(s + i, len - i, &cp);
        nchar++;
    }
    struct match_eic *e = arena_zalloc(a, sizeof(*e));
    uint32_t *off = arena_alloc(a, 2 * nchar * sizeof(uint32_t) + 1);
    uint8_t *lens = arena_alloc(a, 2 * nchar + 1);
    /* an alternative is at most 3 code points of at most 4 bytes */
    char *bytes = arena_alloc(a, 2 * nchar * 12 + 1);
    size_t used = 0, k = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = match__utf8_next(s + i, len - i, &cp);
        const struct match_casemap *m = n > 1 || (cp < 0x80) ? match__casemap(cp) : NULL;
        if (m) {
            off[k] = (uint32_t)used;
            lens[k] = m->lo_len;
            memcpy(bytes + used, pool + m->lo_off, m->lo_len);
            used += m->lo_len;
            off[k + 1] = (uint32_t)used;
            lens[k + 1] = m->up_len;
            memcpy(bytes + used, pool + m->up_off, m->up_len);
            used += m->up_len;
        } else {
            off[k] = off[k + 1] = (uint32_t)used;
            lens[k] = lens[k + 1] = (uint8_t)n;
            memcpy(bytes + used, s + i, n);
            used += n;
        }
        k += 2;
        i += n;
    }
    e->n = (uint32_t)nchar;
    e->off = off;
    e->len = lens;
    e->bytes = bytes;
    return e;
}

void match__eic_key(const struct match_eic *e, struct buf *out)
{
    for (uint32_t i = 0; i < e->n; i++)
        match__fold(e->bytes + e->off[2 * i], e->len[2 * i], out);
}

/* Neither alternative of a character is a prefix or a suffix of the other
 * (scripts/gen-casemap.py checks it), so at most one of them fits at any
 * position and the scans never backtrack. */
static bool eic_scan(const struct match_eic *e, const char *s, size_t len, size_t *end)
{
    size_t pos = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        const char *a0 = e->bytes + e->off[2 * i], *a1 = e->bytes + e->off[2 * i + 1];
        size_t l0 = e->len[2 * i], l1 = e->len[2 * i + 1];
        if (l0 <= len - pos && memcmp(s + pos, a0, l0) == 0)
            pos += l0;
        else if (l1 <= len - pos && memcmp(s + pos, a1, l1) == 0)
            pos += l1;
        else
            return false;
    }
    *end = pos;
    return true;
}

bool match__eic_full(const struct match_eic *e, const char *s, size_t len)
{
    size_t end;
    return eic_scan(e, s, len, &end) && end == len;
}

bool match__eic_prefix(const struct match_eic *e, const char *s, size_t len)
{
    size_t end;
    return eic_scan(e, s, len, &end);
}

bool match__eic_suffix(const struct match_eic *e, const char *s, size_t len)
{
    size_t pos = len;
    for (uint32_t k = e->n; k-- > 0;) {
        const char *a0 = e->bytes + e->off[2 * k], *a1 = e->bytes + e->off[2 * k + 1];
        size_t l0 = e->len[2 * k], l1 = e->len[2 * k + 1];
        if (l0 <= pos && memcmp(s + pos - l0, a0, l0) == 0)
            pos -= l0;
        else if (l1 <= pos && memcmp(s + pos - l1, a1, l1) == 0)
            pos -= l1;
        else
            return false;
    }
    return true;
}

/* ---- wildcards ----------------------------------------------------------------- */

int match__wild_compile(struct arena *a, const char *s, size_t len, struct match_wild **out,
                        struct err *err)
{
    size_t n_seg = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '*') {
            if (i + 1 < len && s[i + 1] == '*')
                return err_set(err, ERR_USAGE, "Consecutive wildcard characters at pos %zu", i);
            n_seg++;
        } else if (s[i] == '\\') {
            if (i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '\\')) {
                i++;
                continue;
            }
            return err_set(err, ERR_USAGE, "Invalid escape character at pos %zu", i);
        }
    }
    struct match_wild *w = arena_zalloc(a, sizeof(*w));
    const char **seg = arena_alloc(a, n_seg * sizeof(char *));
    uint32_t *seg_len = arena_alloc(a, n_seg * sizeof(uint32_t));
    char *bytes = arena_alloc(a, len + 1);
    size_t k = 0, used = 0;
    seg[0] = bytes;
    seg_len[0] = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '*') {
            k++;
            seg[k] = bytes + used;
            seg_len[k] = 0;
            continue;
        }
        if (s[i] == '\\')
            i++;
        bytes[used++] = s[i];
        seg_len[k]++;
    }
    w->n_seg = (uint32_t)n_seg;
    w->seg = seg;
    w->seg_len = seg_len;
    w->bare = n_seg >= 3 && seg_len[0] == 1 && seg[0][0] == '"' && seg_len[n_seg - 1] == 1 &&
              seg[n_seg - 1][0] == '"';
    *out = w;
    return 0;
}

/* Leftmost n in h. Wildcard segments are short ("kali") and user agents a
 * few dozen bytes, where glibc's memmem spends more on setup than on the
 * search: candidates are found 16 at a time where both the first and the last
 * byte of n fit, then confirmed. */
static const char *find_bytes(const char *h, size_t hlen, const char *n, size_t nlen)
{
    if (nlen == 0)
        return h;
    if (nlen > hlen)
        return NULL;
    if (nlen == 1)
        return memchr(h, n[0], hlen);
    size_t last_start = hlen - nlen, i = 0;
#if defined(__SSE2__)
    if (last_start >= 15) {
        const __m128i first = _mm_set1_epi8(n[0]);
        const __m128i last = _mm_set1_epi8(n[nlen - 1]);
        /* Starts i..i+15 read up to h[i + 15 + nlen - 1], inside h. The last
         * block is moved back to end at last_start: it re-tests starts that
         * already failed, which fail again, so the leftmost hit still wins. */
        for (;;) {
            if (i + 15 > last_start)
                i = last_start - 15;
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(h + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(h + i + nlen - 1));
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
            while (m != 0) {
                size_t k = i + (size_t)__builtin_ctz(m);
                if (match__eq(h + k + 1, n + 1, nlen - 2))
                    return h + k;
                m &= m - 1;
            }
            if (i + 15 >= last_start)
                return NULL;
            i += 16;
        }
    }
#endif
    for (; i <= last_start; i++)
        if (h[i] == n[0] && h[i + nlen - 1] == n[nlen - 1] &&
            match__eq(h + i + 1, n + 1, nlen - 2))
            return h + i;
    return NULL;
}

bool match__wild_match(const struct match_wild *w, const char *s, size_t len)
{
    size_t first = w->seg_len[0];
    if (w->n_seg == 1)
        return len == first && match__eq(s, w->seg[0], len);
    size_t last = w->seg_len[w->n_seg - 1];
    if (first + last > len || !match__eq(s, w->seg[0], first) ||
        !match__eq(s + len - last, w->seg[w->n_seg - 1], last))
        return false;
    /* Middle segments, leftmost first: with '*' the only operator, the
     * leftmost placement of each segment never loses a match. */
    size_t pos = first, stop = len - last;
    for (uint32_t k = 1; k + 1 < w->n_seg; k++) {
        const char *hit = find_bytes(s + pos, stop - pos, w->seg[k], w->seg_len[k]);
        if (!hit)
            return false;
        pos = (size_t)(hit - s) + w->seg_len[k];
    }
    return true;
}

bool match__wild_match_bare(const struct match_wild *w, const char *s, size_t len)
{
    /* What match__wild_match does on '"' + s + '"' once the quotes, the first
     * and last segments, have matched: leftmost placement of the middle ones. */
    size_t pos = 0;
    for (uint32_t k = 1; k + 1 < w->n_seg; k++) {
        const char *hit = find_bytes(s + pos, len - pos, w->seg[k], w->seg_len[k]);
        if (!hit)
            return false;
        pos = (size_t)(hit - s) + w->seg_len[k];
    }
    return true;
}

/* ---- one value against one pattern -------------------------------------------- */

void match__val_need(struct match_val *v, unsigned need, struct arena *arena, struct buf *tmp)
{
    unsigned todo = need & ~(unsigned)v->done;
    if (!todo)
        return;
    if (todo & (MV_Q_DONE | MV_FOLD_DONE | MV_IP_DONE))
        todo |= MV_STR_DONE & ~(unsigned)v->done;
    if (todo & MV_FOLD_DONE)
        todo |= MV_Q_DONE & ~(unsigned)v->done;
    const struct json_leaf *l = v->leaf;
    if (todo & MV_STR_DONE) {
        if (v->type == JSON_STRING) {
            struct sv s = json_leaf_str(l, arena);
            v->s = s.p;
            v->len = s.len;
        } else {
            v->s = l->val;
            v->len = l->val_len;
        }
        v->done |= MV_STR_DONE;
    }
    if (todo & MV_Q_DONE) {
        char *q = arena_alloc(arena, v->len + 2);
        q[0] = '"';
        memcpy(q + 1, v->s, v->len);
        q[v->len + 1] = '"';
        v->q = q;
        v->qlen = v->len + 2;
        v->done |= MV_Q_DONE;
    }
    if (todo & MV_NUM_DONE) {
        v->comparable =
            v->type == JSON_NUMBER && match__num_comparable(l->val, l->val_len, &v->num);
        v->done |= MV_NUM_DONE;
    }
    if (todo & MV_IP_DONE) {
        v->ip_len = (int8_t)(v->type == JSON_STRING ? match__ip_parse(v->s, v->len, v->ip) : 0);
        v->done |= MV_IP_DONE;
    }
    if (todo & MV_FOLD_DONE) {
        buf_reset(tmp);
        match__fold(v->q, v->qlen, tmp);
        char *f = arena_alloc(arena, tmp->len + 1);
        if (tmp->len)
            memcpy(f, tmp->p, tmp->len);
        v->f = f;
        v->flen = tmp->len;
        v->done |= MV_FOLD_DONE;
    }
}

unsigned match__pat_needs(const struct match_pat *p)
{
    switch (p->kind) {
    case MP_EXACT_STR:
    case MP_LIT:
    case MP_NUM_LIT:
    case MP_EIC:
    case MP_AB_STR:
    case MP_AB_EIC:
        return MV_STR_DONE;
    case MP_NUM_EQ:
    case MP_RANGE:
    case MP_AB_NUM:
        return MV_NUM_DONE;
    case MP_IP_EQ:
    case MP_CIDR:
        return MV_IP_DONE;
    case MP_WILDCARD:
        return p->wild->bare ? MV_STR_DONE : MV_Q_DONE;
    case MP_PREFIX:
    case MP_SUFFIX:
    case MP_PREFIX_EIC:
    case MP_SUFFIX_EIC:
    case MP_AB_PREFIX:
    case MP_AB_SUFFIX:
    case MP_AB_WILDCARD:
        return MV_Q_DONE;
    default:
        return 0;
    }
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static bool in_str_set(const struct match_pat *p, const char *s, size_t len)
{
    size_t lo = 0, hi = p->n_set;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bytes_cmp(p->set[mid], p->set_len[mid], s, len);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool in_num_set(const struct match_pat *p, double x)
{
    size_t lo = 0, hi = p->n_set;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->nums[mid] == x)
            return true;
        if (p->nums[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool has_prefix(const char *s, size_t len, const char *p, size_t plen)
{
    return plen <= len && match__eq(s, p, plen);
}

static bool has_suffix(const char *s, size_t len, const char *p, size_t plen)
{
    return plen <= len && match__eq(s + len - plen, p, plen);
}

static bool in_range(const struct match_pat *p, double x)
{
    if (p->lo_open ? !(x > p->lo) : !(x >= p->lo))
        return false;
    return p->hi_open ? x < p->hi : x <= p->hi;
}

bool match__pat_match(const struct match_pat *p, const struct match_val *v)
{
    bool str = v->type == JSON_STRING;
    switch (p->kind) {
    case MP_EXACT_STR:
        return str && v->len == p->len && match__eq(v->s, p->s, p->len);
    case MP_LIT:
        return (v->type == JSON_NULL || v->type == JSON_TRUE || v->type == JSON_FALSE) &&
               v->len == p->len && memcmp(v->s, p->s, p->len) == 0;
    case MP_NUM_LIT:
        return v->type == JSON_NUMBER && v->len == p->len && memcmp(v->s, p->s, p->len) == 0;
    case MP_NUM_EQ:
        return v->comparable && v->num == p->lo;
    case MP_IP_EQ:
        return v->ip_len == p->ip_len && memcmp(v->ip, p->ip_lo, p->ip_len) == 0;
    case MP_CIDR:
        return v->ip_len == p->ip_len && memcmp(v->ip, p->ip_lo, p->ip_len) >= 0 &&
               memcmp(v->ip, p->ip_hi, p->ip_len) <= 0;
    case MP_PREFIX:
        return str && has_prefix(v->q, v->qlen, p->s, p->len);
    case MP_SUFFIX:
        return str && has_suffix(v->q, v->qlen, p->s, p->len);
    case MP_EIC:
        return str && match__eic_full(p->eic, v->s, v->len);
    case MP_PREFIX_EIC:
        return str && match__eic_prefix(p->eic, v->q, v->qlen);
    case MP_SUFFIX_EIC:
        return str && match__eic_suffix(p->eic, v->q, v->qlen);
    case MP_WILDCARD:
        return str && (p->wild->bare ? match__wild_match_bare(p->wild, v->s, v->len)
                                     : match__wild_match(p->wild, v->q, v->qlen));
    case MP_RANGE:
        return v->comparable && in_range(p, v->num);
    case MP_EXISTS:
        return true;
    case MP_AB_STR:
        return !(str && in_str_set(p, v->s, v->len));
    case MP_AB_NUM:
        return !(v->comparable && in_num_set(p, v->num));
    case MP_AB_PREFIX:
        if (str)
            for (uint32_t i = 0; i < p->n_set; i++)
                if (has_prefix(v->q, v->qlen, p->set[i], p->set_len[i]))
                    return false;
        return true;
    case MP_AB_SUFFIX:
        if (str)
            for (uint32_t i = 0; i < p->n_set; i++)
                if (has_suffix(v->q, v->qlen, p->set[i], p->set_len[i]))
                    return false;
        return true;
    case MP_AB_EIC:
        if (str)
            for (uint32_t i = 0; i < p->n_set; i++)
                if (match__eic_full(p->eics[i], v->s, v->len))
                    return false;
        return true;
    case MP_AB_WILDCARD:
        if (str)
            for (uint32_t i = 0; i < p->n_set; i++)
                if (match__wild_match(p->wilds[i], v->q, v->qlen))
                    return false;
        return true;
    default:
        return false;
    }
}
