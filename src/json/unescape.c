/*
 * Decoding of JSON string escapes into UTF-8.
 *
 * \uXXXX surrogate pairs become one 4-byte UTF-8 sequence. A lone surrogate
 * (a high one not followed by \u of a low one, or a low one alone) becomes
 * U+FFFD rather than an error: AWS logs echo user input, and one odd character
 * must not cost the whole record. \u0000 decodes to a NUL byte, so decoded
 * strings may contain NULs; their length is authoritative. Raw bytes are copied
 * as they are (invalid UTF-8 passes through).
 */
#include "json_int.h"

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = (unsigned char)s[i];
        int d;
        if (c - '0' < 10u)
            d = (int)(c - '0');
        else if ((c | 0x20) - 'a' < 6u)
            d = (int)((c | 0x20) - 'a' + 10);
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xc0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xe0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *d++ = (char)(0xf0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    }
    return d;
}

size_t json__unescape_to(const char *s, size_t len, char *dst)
{
    const char *end = s + len;
    char *d = dst;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        if (bs == NULL) {
            memcpy(d, s, (size_t)(end - s));
            d += end - s;
            break;
        }
        memcpy(d, s, (size_t)(bs - s));
        d += bs - s;
        s = bs;
        if (end - s < 2)
            return (size_t)-1;
        switch (s[1]) {
        case '"': *d++ = '"'; s += 2; continue;
        case '\\': *d++ = '\\'; s += 2; continue;
        case '/': *d++ = '/'; s += 2; continue;
        case 'b': *d++ = '\b'; s += 2; continue;
        case 'f': *d++ = '\f'; s += 2; continue;
        case 'n': *d++ = '\n'; s += 2; continue;
        case 'r': *d++ = '\r'; s += 2; continue;
        case 't': *d++ = '\t'; s += 2; continue;
        case 'u': break;
        default: return (size_t)-1;
        }
        if (end - s < 6)
            return (size_t)-1;
        int cp = hex4(s + 2);
        if (cp < 0)
            return (size_t)-1;
        s += 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            int lo = -1;
            if (end - s >= 6 && s[0] == '\\' && s[1] == 'u')
                lo = hex4(s + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                s += 6;
                d = put_utf8(d, 0x10000u + (((uint32_t)cp - 0xd800u) << 10) +
                                    ((uint32_t)lo - 0xdc00u));
            } else {
                d = put_utf8(d, 0xfffd); /* lone high surrogate; what follows is decoded on its own */
            }
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            d = put_utf8(d, 0xfffd); /* lone low surrogate */
        } else {
            d = put_utf8(d, (uint32_t)cp);
        }
    }
    return (size_t)(d - dst);
}

int json_unescape(const char *s, size_t len, struct buf *out)
{
    int rc = buf_reserve(out, len);
    if (rc != 0)
        return rc;
    size_t n = json__unescape_to(s, len, out->p + out->len);
    if (n == (size_t)-1) {
        out->p[out->len] = '\0';
        return ERR_FORMAT;
    }
    out->len += n;
    out->p[out->len] = '\0';
    return 0;
}
