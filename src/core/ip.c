/*
 * IPv4/IPv6 text addresses and CIDRs; see core.h.
 *
 * Accepted forms: dotted-quad IPv4 (four decimal octets of 1-3 digits), and
 * RFC 4291 section 2.2 IPv6 (1-4 hex digits per
 * group, one "::", an optional trailing dotted quad). No zone ids, no spaces.
 * IPv4 is stored IPv4-mapped, so a mapped IPv6 address written as
 * "::ffff:1.2.3.4" falls inside an IPv4 CIDR byte for byte.
 */
#include "core.h"

#include <string.h>

static bool parse_v4(const char *p, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || p[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && p[i] >= '0' && p[i] <= '9' && i - start < 3) {
            v = v * 10 + (unsigned)(p[i] - '0');
            i++;
        }
        /* A leading zero is read as decimal, never octal: AWS writes none, but
         * anonymized logs do ("035.249.253.232"), and those are decimal. */
        if (i == start || v > 255)
            return false;
        out[part] = (uint8_t)v;
    }
    return i == len;
}

static bool parse_v6(const char *p, size_t len, uint8_t out[16])
{
    uint8_t b[16] = { 0 };
    int n = 0;    /* bytes written */
    int gap = -1; /* byte index where "::" stands */
    size_t i = 0;

    if (len < 2)
        return false;
    if (p[0] == ':') {
        if (p[1] != ':')
            return false;
        gap = 0;
        i = 2;
        if (i == len) {
            memset(out, 0, 16);
            return true;
        }
    }
    for (;;) {
        /* One group: hex digits, or a dotted quad when it is the last piece. */
        size_t start = i;
        unsigned v = 0;
        while (i < len && i - start < 5 && core_hexval(p[i]) >= 0) {
            v = (v << 4) | (unsigned)core_hexval(p[i]);
            i++;
        }
        if (i < len && p[i] == '.') {
            if (n > 12)
                return false;
            if (!parse_v4(p + start, len - start, b + n))
                return false;
            n += 4;
            i = len;
            break;
        }
        if (i == start || i - start > 4 || n > 14)
            return false;
        b[n++] = (uint8_t)(v >> 8);
        b[n++] = (uint8_t)v;
        if (i == len)
            break;
        if (p[i] != ':')
            return false;
        i++;
        if (i < len && p[i] == ':') {
            if (gap >= 0)
                return false;
            gap = n;
            i++;
            if (i == len)
                break;
        } else if (i == len) {
            return false; /* a single trailing ':' */
        }
    }
    if (gap >= 0) {
        /* "::" stands for at least one zero group (RFC 4291 2.2.2). */
        if (n > 14)
            return false;
        int tail = n - gap;
        memset(out, 0, 16);
        memcpy(out, b, (size_t)gap);
        memcpy(out + 16 - tail, b + gap, (size_t)tail);
        return true;
    }
    if (n != 16)
        return false;
    memcpy(out, b, 16);
    return true;
}

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool ip_parse(struct sv s, struct ipaddr *out)
{
    struct ipaddr a;
    if (s.p == NULL || s.len == 0 || s.len > 45)
        return false;
    if (memchr(s.p, ':', s.len) == NULL) {
        memcpy(a.b, mapped_prefix, 12);
        if (!parse_v4(s.p, s.len, a.b + 12))
            return false;
        a.v4 = true;
    } else {
        if (!parse_v6(s.p, s.len, a.b))
            return false;
        a.v4 = false;
    }
    *out = a;
    return true;
}

static void clear_host_bits(uint8_t b[16], unsigned abs_bits)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned lo = i * 8;
        if (abs_bits >= lo + 8)
            continue;
        if (abs_bits <= lo)
            b[i] = 0;
        else
            b[i] &= (uint8_t)(0xff00u >> (abs_bits - lo));
    }
}

bool cidr_parse(struct sv s, struct ipaddr *net_out, unsigned *bits_out)
{
    if (s.p == NULL)
        return false;
    const char *slash = memchr(s.p, '/', s.len);
    struct ipaddr a;
    if (slash == NULL) {
        if (!ip_parse(s, &a))
            return false;
        *net_out = a;
        *bits_out = a.v4 ? 32 : 128;
        return true;
    }
    size_t alen = (size_t)(slash - s.p);
    struct sv num = sv_make(slash + 1, s.len - alen - 1);
    if (!ip_parse(sv_make(s.p, alen), &a))
        return false;
    /* Up to three digits, no sign, no leading zero: "/08" is as ambiguous as "010". */
    if (num.len == 0 || num.len > 3 || (num.len > 1 && num.p[0] == '0'))
        return false;
    unsigned bits = 0;
    for (size_t i = 0; i < num.len; i++) {
        if (num.p[i] < '0' || num.p[i] > '9')
            return false;
        bits = bits * 10 + (unsigned)(num.p[i] - '0');
    }
    if (bits > (a.v4 ? 32u : 128u))
        return false;
    clear_host_bits(a.b, a.v4 ? 96 + bits : bits);
    *net_out = a;
    *bits_out = bits;
    return true;
}

bool ip_in_cidr(const struct ipaddr *ip, const struct ipaddr *net, unsigned bits)
{
    unsigned abs_bits = net->v4 ? 96 + (bits > 32 ? 32 : bits) : (bits > 128 ? 128 : bits);
    unsigned whole = abs_bits / 8, rest = abs_bits % 8;
    if (memcmp(ip->b, net->b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (ip->b[whole] & m) == (net->b[whole] & m);
}

static size_t put_dec(char *o, unsigned v)
{
    char t[4];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        o[i] = t[n - 1 - i];
    return n;
}

static size_t format_v4(const uint8_t *b, char *o)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (i)
            o[n++] = '.';
        n += put_dec(o + n, b[i]);
    }
    return n;
}

size_t ip_format(const struct ipaddr *ip, char out[46])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (ip->v4) {
        n = format_v4(ip->b + 12, out);
        out[n] = '\0';
        return n;
    }
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(ip->b[2 * i] << 8 | ip->b[2 * i + 1]);

    /* RFC 5952 4.2: the longest run of two or more zero groups, the first on a tie. */
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    /* RFC 5952 5: IPv4-mapped addresses keep their dotted quad. */
    bool mapped = memcmp(ip->b, mapped_prefix, 12) == 0;
    int groups = mapped ? 6 : 8;
    if (mapped) {
        best = 0;
        best_len = 5;
    }
    for (int i = 0; i < groups;) {
        if (i == best) {
            out[n++] = ':';
            out[n++] = ':';
            i += best_len;
            continue;
        }
        if (i > 0 && i != best + best_len)
            out[n++] = ':';
        unsigned v = g[i];
        bool started = false;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (v >> sh) & 0xf;
            if (d || started || sh == 0) {
                out[n++] = hex[d];
                started = true;
            }
        }
        i++;
    }
    if (mapped) {
        if (out[n - 1] != ':')
            out[n++] = ':';
        n += format_v4(ip->b + 12, out + n);
    }
    out[n] = '\0';
    return n;
}

struct range {
    uint8_t b[16];
    unsigned bits; /* absolute, out of 128 */
};

static bool in_range(const struct ipaddr *ip, const struct range *r)
{
    struct ipaddr net = { .v4 = false };
    memcpy(net.b, r->b, 16);
    return ip_in_cidr(ip, &net, r->bits);
}

#define V4R(a, b_, c, d, len) { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b_, c, d }, 96 + (len) }

bool ip_is_private(const struct ipaddr *ip)
{
    /* IANA special-purpose registries (RFC 6890 and updates): everything that
     * is not a globally reachable unicast address. */
    static const struct range ranges[] = {
        V4R(0, 0, 0, 0, 8),        /* "this network" */
        V4R(10, 0, 0, 0, 8),       /* RFC 1918 */
        V4R(100, 64, 0, 0, 10),    /* CGNAT, RFC 6598 */
        V4R(127, 0, 0, 0, 8),      /* loopback */
        V4R(169, 254, 0, 0, 16),   /* link-local */
        V4R(172, 16, 0, 0, 12),    /* RFC 1918 */
        V4R(192, 0, 0, 0, 24),     /* IETF protocol assignments */
        V4R(192, 0, 2, 0, 24),     /* TEST-NET-1 */
        V4R(192, 88, 99, 0, 24),   /* deprecated 6to4 relay anycast */
        V4R(192, 168, 0, 0, 16),   /* RFC 1918 */
        V4R(198, 18, 0, 0, 15),    /* benchmarking */
        V4R(198, 51, 100, 0, 24),  /* TEST-NET-2 */
        V4R(203, 0, 113, 0, 24),   /* TEST-NET-3 */
        V4R(224, 0, 0, 0, 4),      /* multicast */
        V4R(240, 0, 0, 0, 4),      /* reserved, and the broadcast address */
        { { 0 }, 128 },            /* :: unspecified */
        { { [15] = 1 }, 128 },     /* ::1 loopback */
        { { 0x01, 0x00 }, 64 },    /* 100::/64 discard */
        { { 0x20, 0x01, 0x0d, 0xb8 }, 32 }, /* documentation */
        { { 0x20, 0x01, 0x00, 0x00 }, 23 }, /* IETF protocol assignments (Teredo excepted below) */
        { { 0xfc }, 7 },           /* unique local */
        { { 0xfe, 0x80 }, 10 },    /* link-local */
        { { 0xfe, 0xc0 }, 10 },    /* deprecated site-local */
        { { 0xff }, 8 },           /* multicast */
    };
    /* Teredo (2001::/32) sits inside 2001::/23 but carries public traffic. */
    static const struct range teredo = { { 0x20, 0x01, 0x00, 0x00 }, 32 };
    if (in_range(ip, &teredo))
        return false;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (in_range(ip, &ranges[i]))
            return true;
    return false;
}
