/* Unit tests for core's IP addresses, CIDRs and indicator lists. */
#include "core/core.h"
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static bool parse(const char *s, struct ipaddr *a) { return ip_parse(sv_cstr(s), a); }

static const char *fmt(const char *s, char out[46])
{
    struct ipaddr a;
    if (!parse(s, &a))
        return "(bad)";
    ip_format(&a, out);
    return out;
}

static void test_parse_v4(void)
{
    struct ipaddr a;
    CHECK(parse("1.2.3.4", &a));
    CHECK(a.v4);
    CHECK_INT(a.b[10], 0xff);
    CHECK_INT(a.b[11], 0xff);
    CHECK_INT(a.b[12], 1);
    CHECK_INT(a.b[15], 4);
    CHECK(parse("0.0.0.0", &a));
    CHECK(parse("255.255.255.255", &a));
    CHECK_INT(a.b[15], 255);
    /* Leading zeros are decimal, as anonymized CloudTrail logs write them. */
    CHECK(parse("035.249.253.010", &a));
    CHECK_INT(a.b[12], 35);
    CHECK_INT(a.b[15], 10);
    CHECK(!parse("256.1.1.1", &a) && !parse("1.2.3.0256", &a));
    const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                          "0001.2.3.4", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4/", "a.b.c.d",
                          "1.2.3.1000", "1.2.3.-1", "+1.2.3.4", "1.2.3.0x1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &a)) {
            printf("#   accepted bad IPv4 \"%s\"\n", bad[i]);
            harness_failures++;
        }
    }
    CHECK(!ip_parse(sv_make("1.2.3.4", 6), &a) || a.b[15] == 3); /* length honoured */
    CHECK(ip_parse(sv_make("1.2.3.45", 7), &a) && a.b[15] == 4);
}

static void test_parse_v6(void)
{
    struct ipaddr a;
    CHECK(parse("::", &a));
    CHECK(!a.v4);
    for (int i = 0; i < 16; i++)
        CHECK_INT(a.b[i], 0);
    CHECK(parse("::1", &a));
    CHECK_INT(a.b[15], 1);
    CHECK(parse("2001:DB8::8:800:200C:417A", &a));
    CHECK_INT(a.b[0], 0x20);
    CHECK_INT(a.b[1], 0x01);
    CHECK_INT(a.b[3], 0xb8);
    CHECK_INT(a.b[14], 0x41);
    CHECK_INT(a.b[15], 0x7a);
    CHECK(parse("1:2:3:4:5:6:7:8", &a));
    CHECK_INT(a.b[15], 8);
    CHECK(parse("1:2:3:4:5:6:7::", &a)); /* "::" for a single group */
    CHECK_INT(a.b[13], 7);
    CHECK_INT(a.b[15], 0);
    CHECK(parse("::2:3:4:5:6:7:8", &a));
    CHECK_INT(a.b[1], 0);
    CHECK(parse("::ffff:10.0.0.1", &a));
    CHECK(!a.v4);
    CHECK_INT(a.b[12], 10);
    CHECK(parse("1:2:3:4:5:6:1.2.3.4", &a));
    CHECK_INT(a.b[11], 6);
    CHECK_INT(a.b[15], 4);
    CHECK(parse("fe80::1:2.3.4.5", &a));
    const char *bad[] = { ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "1:2:3:4:5:6:7:8::",
                          "::1:2:3:4:5:6:7:8", "12345::", "1:2:3:4:5:6:7", ":1::", "1::2:",
                          "g::", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.4:5", "fe80::1%eth0",
                          "[::1]", "::256.1.1.1", "1:2:3:4:5:6:7:8:", "1.2.3.4::" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &a)) {
            printf("#   accepted bad IPv6 \"%s\"\n", bad[i]);
            harness_failures++;
        }
    }
}

static void test_format(void)
{
    char o[46];
    CHECK_STR(fmt("1.2.3.4", o), "1.2.3.4");
    CHECK_STR(fmt("::", o), "::");
    CHECK_STR(fmt("0:0:0:0:0:0:0:1", o), "::1");
    CHECK_STR(fmt("2001:0DB8:0000:0000:0000:ff00:0042:8329", o), "2001:db8::ff00:42:8329");
    CHECK_STR(fmt("2001:db8:0:0:1:0:0:1", o), "2001:db8::1:0:0:1"); /* first of equal runs */
    CHECK_STR(fmt("2001:db8:0:1:1:1:1:1", o), "2001:db8:0:1:1:1:1:1"); /* one zero: no :: */
    CHECK_STR(fmt("2001:0:0:1:0:0:0:1", o), "2001:0:0:1::1");            /* longest run */
    CHECK_STR(fmt("1::", o), "1::");
    CHECK_STR(fmt("::ffff:192.0.2.1", o), "::ffff:192.0.2.1");
    CHECK_STR(fmt("::ffff:c000:201", o), "::ffff:192.0.2.1");
    CHECK_STR(fmt("fe80::1:0:0", o), "fe80::1:0:0");
    CHECK_INT(strlen(fmt("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", o)), 39);
    CHECK_INT(strlen(fmt("::ffff:255.255.255.255", o)), 22);
}

/* True when a dotted-quad octet in s starts with a redundant 0. */
static bool has_leading_zero(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        bool start = i == 0 || s[i - 1] == '.' || s[i - 1] == ':';
        if (start && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9')
            return true;
    }
    return false;
}

/* Copies s without the redundant leading zeros of dotted-quad octets. */
static void strip_zeros(const char *s, char *out)
{
    size_t n = 0;
    const char *last_colon = strrchr(s, ':');
    for (size_t i = 0; s[i]; i++) {
        bool in_quad = last_colon == NULL || s + i > last_colon;
        bool start = i == 0 || s[i - 1] == '.' || s[i - 1] == ':';
        if (in_quad && start)
            while (s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9')
                i++;
        out[n++] = s[i];
    }
    out[n] = '\0';
}

/* glibc's inet_pton/inet_ntop as an oracle over random addresses, both ways. */
static void test_against_libc(void)
{
    unsigned seed = 12345;
    char text[64], mine[46], theirs[64];
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t b[16];
        for (int i = 0; i < 16; i++) {
            seed = seed * 1103515245 + 12345;
            unsigned r = seed >> 16;
            /* Plenty of zero groups so "::" placement is exercised. */
            b[i] = (r & 3) == 0 ? (uint8_t)r : 0;
        }
        if (iter % 3 == 0)
            b[0] = 0x20;
        bool compat = true; /* ::a.b.c.d, which glibc still prints the old way */
        for (int i = 0; i < 12; i++)
            compat &= b[i] == 0;
        bool mapped = compat || (b[10] == 0xff && b[11] == 0xff);
        for (int i = 0; i < 10; i++)
            mapped &= b[i] == 0;
        if (compat || mapped)
            continue;
        inet_ntop(AF_INET6, b, theirs, sizeof(theirs));
        struct ipaddr a;
        if (!parse(theirs, &a)) {
            printf("#   cannot parse %s\n", theirs);
            harness_failures++;
            continue;
        }
        CHECK(memcmp(a.b, b, 16) == 0);
        ip_format(&a, mine);
        if (strcmp(mine, theirs) != 0) {
            printf("#   format %s, libc %s\n", mine, theirs);
            harness_failures++;
        }
        /* An uncompressed, upper-case spelling parses to the same bytes. */
        int n = 0;
        for (int g = 0; g < 8; g++)
            n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%X", g ? ":" : "",
                          b[2 * g] << 8 | b[2 * g + 1]);
        CHECK(parse(text, &a) && memcmp(a.b, b, 16) == 0);
    }
    /* Random short strings: we accept exactly what inet_pton accepts, except
     * IPv4 octets with leading zeros, which it refuses and we read as decimal. */
    const char alphabet[] = "0123456789abcdef:.:";
    for (int iter = 0; iter < 200000; iter++) {
        seed = seed * 1103515245 + 12345;
        size_t len = 1 + (seed >> 16) % 20;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245 + 12345;
            text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        uint8_t b4[4], b6[16];
        bool libc = inet_pton(AF_INET, text, b4) == 1 || inet_pton(AF_INET6, text, b6) == 1;
        struct ipaddr a;
        bool ours = parse(text, &a);
        if (ours && !libc && has_leading_zero(text)) {
            /* Then the same text without the zeros is what libc reads. */
            char strip[64];
            strip_zeros(text, strip);
            libc = inet_pton(AF_INET, strip, b4) == 1 || inet_pton(AF_INET6, strip, b6) == 1;
            if (strchr(text, ':') == NULL)
                CHECK(libc && memcmp(a.b + 12, b4, 4) == 0);
            if (strchr(text, ':') != NULL)
                memcpy(text, strip, strlen(strip) + 1);
        }
        if (ours != libc) {
            printf("#   \"%s\": ours %d, libc %d\n", text, ours, libc);
            harness_failures++;
        } else if (ours && strchr(text, ':') != NULL) {
            CHECK(memcmp(a.b, b6, 16) == 0);
        }
    }
}

static bool cidr(const char *s, struct ipaddr *net, unsigned *bits)
{
    return cidr_parse(sv_cstr(s), net, bits);
}

static void test_cidr(void)
{
    struct ipaddr net, ip;
    unsigned bits;
    char o[46];
    CHECK(cidr("10.1.2.3/8", &net, &bits));
    CHECK_INT(bits, 8);
    CHECK(net.v4);
    ip_format(&net, o);
    CHECK_STR(o, "10.0.0.0"); /* host bits cleared */
    CHECK(parse("10.255.0.1", &ip) && ip_in_cidr(&ip, &net, bits));
    CHECK(parse("11.0.0.0", &ip) && !ip_in_cidr(&ip, &net, bits));
    CHECK(cidr("1.2.3.4", &net, &bits));
    CHECK_INT(bits, 32);
    CHECK(cidr("0.0.0.0/0", &net, &bits) && parse("200.1.1.1", &ip) && ip_in_cidr(&ip, &net, bits));
    CHECK(cidr("172.16.0.0/12", &net, &bits));
    CHECK(parse("172.31.255.255", &ip) && ip_in_cidr(&ip, &net, bits));
    CHECK(parse("172.32.0.0", &ip) && !ip_in_cidr(&ip, &net, bits));
    CHECK(cidr("2001:db8::/32", &net, &bits));
    CHECK_INT(bits, 32);
    CHECK(parse("2001:db8:ffff::1", &ip) && ip_in_cidr(&ip, &net, bits));
    CHECK(parse("2001:db9::1", &ip) && !ip_in_cidr(&ip, &net, bits));
    CHECK(cidr("2001:db8::1/127", &net, &bits));
    ip_format(&net, o);
    CHECK_STR(o, "2001:db8::");
    CHECK(cidr("::/0", &net, &bits) && bits == 0);
    CHECK(cidr("fe80::1", &net, &bits) && bits == 128);
    /* A mapped IPv6 address is inside the IPv4 CIDR of its address. */
    CHECK(cidr("192.0.2.0/24", &net, &bits) && parse("::ffff:192.0.2.9", &ip) &&
          ip_in_cidr(&ip, &net, bits));
    const char *bad[] = { "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/08", "::/129",
                          "/8", "1.2.3.4/8/8", "1.2.3.4/ 8", "1.2.3/8", "::/1000" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cidr(bad[i], &net, &bits)) {
            printf("#   accepted bad CIDR \"%s\"\n", bad[i]);
            harness_failures++;
        }
    }
}

static void test_private(void)
{
    const char *priv[] = { "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "169.254.169.254",
                           "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.7",
                           "::1", "::", "fe80::1", "fd00::1", "fc12::1", "ff02::1", "2001:db8::1",
                           "::ffff:10.0.0.1", "198.18.0.1" };
    const char *pub[] = { "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "52.95.110.1",
                          "2600:1f18::1", "2001:4860:4860::8888", "2001:0:4136:e378::1",
                          "::ffff:8.8.8.8", "11.0.0.1", "192.169.0.1" };
    struct ipaddr a;
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        if (!parse(priv[i], &a) || !ip_is_private(&a)) {
            printf("#   %s should be private\n", priv[i]);
            harness_failures++;
        }
    }
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
        if (!parse(pub[i], &a) || ip_is_private(&a)) {
            printf("#   %s should be public\n", pub[i]);
            harness_failures++;
        }
    }
}

static const char *lookup(const struct iplist *l, const char *s)
{
    struct ipaddr a;
    if (!parse(s, &a))
        return "(bad)";
    return iplist_lookup(l, &a);
}

static void add(struct iplist *l, const char *s, const char *tag)
{
    struct ipaddr net;
    unsigned bits;
    CHECK(cidr(s, &net, &bits));
    iplist_add(l, &net, bits, tag);
}

static void test_iplist_basic(void)
{
    struct iplist *l = iplist_new();
    CHECK(lookup(l, "1.2.3.4") == NULL);
    CHECK(lookup(l, "::1") == NULL);
    add(l, "10.0.0.0/8", "ten");
    add(l, "10.1.0.0/16", "ten-one");
    add(l, "10.1.2.0/24", "ten-one-two");
    add(l, "10.1.2.3", "host");
    add(l, "10.1.2.3/32", "dup"); /* the first tag stays */
    add(l, "192.168.0.0/17", "half");
    add(l, "2001:db8::/32", "doc");
    add(l, "2001:db8:1::/48", "doc1");
    add(l, "2001:db8:1::5", "doc1-5");
    CHECK_INT(iplist_count(l), 8);
    CHECK(lookup(l, "10.1.2.3") && strcmp(lookup(l, "10.1.2.3"), "host") == 0);
    CHECK_STR(lookup(l, "10.1.2.4"), "ten-one-two");
    CHECK_STR(lookup(l, "10.1.3.4"), "ten-one");
    CHECK_STR(lookup(l, "10.2.3.4"), "ten");
    CHECK(lookup(l, "11.0.0.0") == NULL);
    CHECK_STR(lookup(l, "192.168.127.255"), "half");
    CHECK(lookup(l, "192.168.128.0") == NULL);
    CHECK_STR(lookup(l, "::ffff:10.9.9.9"), "ten");
    CHECK_STR(lookup(l, "2001:db8:1::5"), "doc1-5");
    CHECK_STR(lookup(l, "2001:db8:1::6"), "doc1");
    CHECK_STR(lookup(l, "2001:db8:2::6"), "doc");
    CHECK(lookup(l, "2001:db9::") == NULL);
    /* Shorter prefixes added after longer ones do not hide them. */
    add(l, "10.0.0.0/7", "seven");
    CHECK_STR(lookup(l, "10.2.3.4"), "ten");
    CHECK_STR(lookup(l, "11.2.3.4"), "seven");
    add(l, "::/0", "all6");
    CHECK_STR(lookup(l, "2001:db9::"), "all6");
    CHECK_STR(lookup(l, "8.8.8.8"), "all6"); /* ::/0 covers the mapped range too */
    CHECK_STR(lookup(l, "11.2.3.4"), "seven");
    add(l, "0.0.0.0/0", "all4");
    CHECK_STR(lookup(l, "8.8.8.8"), "all4");
    iplist_free(l);
    iplist_free(NULL);
}

/* Random prefixes checked against a linear scan with ip_in_cidr. */
struct ref {
    struct ipaddr net;
    unsigned bits;
    const char *tag;
};

static void test_iplist_random(void)
{
    static const char *tags[] = { "a", "b", "c", "d" };
    enum { N = 3000 };
    struct ref *refs = xcalloc(N, sizeof(*refs));
    size_t nref = 0;
    struct iplist *l = iplist_new();
    unsigned seed = 99;
#define RND() (seed = seed * 1103515245 + 12345, seed >> 8)
    for (int i = 0; i < N; i++) {
        struct ipaddr a = { .v4 = (RND() % 3) != 0 };
        if (a.v4) {
            a.b[10] = a.b[11] = 0xff;
            /* A small address space, so prefixes nest and collide. */
            a.b[12] = (uint8_t)(10 + RND() % 3);
            for (int k = 13; k < 16; k++)
                a.b[k] = (uint8_t)(RND() % 4);
        } else {
            a.b[0] = 0x20;
            a.b[1] = (uint8_t)(RND() % 2);
            for (int k = 2; k < 16; k++)
                a.b[k] = (uint8_t)(RND() % 3 == 0 ? RND() : 0);
        }
        unsigned max = a.v4 ? 32 : 128;
        unsigned bits = RND() % 2 ? max : RND() % (max + 1);
        char txt[64], o[46];
        ip_format(&a, o);
        snprintf(txt, sizeof(txt), "%s/%u", o, bits);
        struct ipaddr net;
        unsigned nb;
        CHECK(cidr(txt, &net, &nb));
        const char *tag = tags[RND() % 4];
        bool dup = false;
        for (size_t k = 0; k < nref; k++)
            if (refs[k].bits == nb && refs[k].net.v4 == net.v4 && memcmp(refs[k].net.b, net.b, 16) == 0)
                dup = true;
        if (!dup)
            refs[nref++] = (struct ref){ net, nb, tag };
        iplist_add(l, &net, nb, tag);
    }
    CHECK_INT(iplist_count(l), nref);
    int mismatches = 0;
    for (int i = 0; i < 20000; i++) {
        struct ipaddr ip = { .v4 = (RND() % 2) != 0 };
        if (ip.v4) {
            ip.b[10] = ip.b[11] = 0xff;
            ip.b[12] = (uint8_t)(9 + RND() % 5);
            for (int k = 13; k < 16; k++)
                ip.b[k] = (uint8_t)(RND() % 5);
        } else {
            ip.b[0] = 0x20;
            ip.b[1] = (uint8_t)(RND() % 2);
            for (int k = 2; k < 16; k++)
                ip.b[k] = (uint8_t)(RND() % 3 == 0 ? RND() : 0);
        }
        const char *want = NULL;
        int best = -1;
        for (size_t k = 0; k < nref; k++) {
            int abs_bits = (int)refs[k].bits + (refs[k].net.v4 ? 96 : 0);
            if (abs_bits > best && ip_in_cidr(&ip, &refs[k].net, refs[k].bits)) {
                best = abs_bits;
                want = refs[k].tag;
            }
        }
        const char *got = iplist_lookup(l, &ip);
        if (got != want && mismatches++ < 5) {
            char o[46];
            ip_format(&ip, o);
            printf("#   %s: got %s, want %s\n", o, got ? got : "-", want ? want : "-");
        }
    }
    CHECK_INT(mismatches, 0);
#undef RND
    iplist_free(l);
    free(refs);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 100k entries shaped like a real list: mostly IPv4 hosts, some ranges, a few
 * IPv6. Prints ns per lookup; fails only if grossly slow (sanitizer builds). */
static void test_iplist_speed(void)
{
    struct iplist *l = iplist_new();
    uint64_t seed = 7;
#define RND64() (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, seed >> 16)
    for (int i = 0; i < 100000; i++) {
        struct ipaddr a = { .v4 = i % 50 != 0 };
        unsigned bits;
        if (a.v4) {
            a.b[10] = a.b[11] = 0xff;
            uint32_t v = (uint32_t)RND64();
            memcpy(a.b + 12, &v, 4);
            unsigned r = (unsigned)(RND64() % 100);
            bits = r < 85 ? 32 : r < 95 ? 24 : 16 + (r % 8);
        } else {
            a.b[0] = 0x2a;
            uint64_t v = RND64();
            memcpy(a.b + 1, &v, 8);
            bits = i % 3 ? 128 : 48;
        }
        struct ipaddr net;
        unsigned nb;
        char o[46], txt[64];
        ip_format(&a, o);
        snprintf(txt, sizeof(txt), "%s/%u", o, bits);
        CHECK(cidr(txt, &net, &nb));
        iplist_add(l, &net, nb, "list");
    }
    enum { Q = 2000000 };
    struct ipaddr *qs = xmalloc(65536 * sizeof(*qs));
    for (int i = 0; i < 65536; i++) {
        qs[i] = (struct ipaddr){ .v4 = i % 10 != 0 };
        if (qs[i].v4) {
            qs[i].b[10] = qs[i].b[11] = 0xff;
            uint32_t v = (uint32_t)RND64();
            memcpy(qs[i].b + 12, &v, 4);
        } else {
            qs[i].b[0] = 0x2a;
            uint64_t v = RND64();
            memcpy(qs[i].b + 1, &v, 8);
        }
    }
    size_t hits = 0;
    double t0 = now_s();
    for (int i = 0; i < Q; i++)
        hits += iplist_lookup(l, &qs[(unsigned)i * 2654435761u % 65536]) != NULL;
    double ns = (now_s() - t0) * 1e9 / Q;
    printf("# iplist: %zu entries, %.1f ns per lookup (%zu hits of %d)\n", iplist_count(l), ns,
           hits, Q);
    CHECK(ns < 2000);
#undef RND64
    free(qs);
    iplist_free(l);
}

static void test_domlist(void)
{
    struct domlist *d = domlist_new();
    CHECK(domlist_lookup(d, SV("evil.com")) == NULL);
    domlist_add(d, SV("Evil.COM."), "t1");
    domlist_add(d, SV("sub.evil.com"), "t2");
    domlist_add(d, SV("evil.com"), "t3"); /* duplicate: the first tag stays */
    domlist_add(d, SV("bad.org"), "t4");
    CHECK_INT(domlist_count(d), 3);
    CHECK_STR(domlist_lookup(d, SV("evil.com")), "t1");
    CHECK_STR(domlist_lookup(d, SV("EVIL.com.")), "t1");
    CHECK_STR(domlist_lookup(d, SV("a.b.Evil.com")), "t1");
    CHECK_STR(domlist_lookup(d, SV("x.SUB.evil.com.")), "t2");
    CHECK_STR(domlist_lookup(d, SV("sub.evil.com")), "t2");
    CHECK(domlist_lookup(d, SV("notevil.com")) == NULL); /* labels, not bytes */
    CHECK(domlist_lookup(d, SV("evil.com.au")) == NULL);
    CHECK(domlist_lookup(d, SV("com")) == NULL);
    CHECK(domlist_lookup(d, SV("")) == NULL);
    CHECK(domlist_lookup(d, SV(".")) == NULL);
    CHECK_STR(domlist_lookup(d, SV("www.bad.org")), "t4");
    /* A name longer than DNS allows still finds a listed suffix. */
    char longname[600];
    memset(longname, 'a', sizeof(longname));
    for (size_t i = 60; i < 500; i += 61)
        longname[i] = '.';
    memcpy(longname + 500, ".bad.org", 8);
    CHECK_STR(domlist_lookup(d, sv_make(longname, 508)), "t4");
    domlist_free(d);
    domlist_free(NULL);
}

static void test_indicators_parse(void)
{
    const char *text = "\xEF\xBB\xBF# GuardDuty threat list\r\n"
                       "198.51.100.7\r\n"
                       "\n"
                       "   203.0.113.0/24   # a range\n"
                       "2001:db8::/32\n"
                       "evil.example.com\n"
                       "*.wild.example.net\n"
                       "not a line\n"
                       "http://bad.example/x\n"
                       "1.2.3.999\n"
                       "Mixed.Case.Org.\n"
                       "10.0.0.1"; /* no final newline */
    struct iplist *ips = iplist_new();
    struct domlist *doms = domlist_new();
    struct err e;
    err_clear(&e);
    size_t bad = 0;
    int rc = indicators_parse(text, strlen(text), "list.txt", "MyList", ips, doms, &bad, &e);
    CHECK_INT(rc, ERR_FORMAT);
    CHECK_INT(bad, 3);
    CHECK_STR(e.file, "list.txt");
    CHECK_INT(e.record, 8);
    CHECK(strstr(e.msg, "not a line") != NULL);
    CHECK(strstr(e.msg, "3 bad lines") != NULL);
    CHECK_INT(iplist_count(ips), 4);
    CHECK_INT(domlist_count(doms), 3);
    CHECK_STR(lookup(ips, "198.51.100.7"), "MyList");
    CHECK_STR(lookup(ips, "203.0.113.200"), "MyList");
    CHECK_STR(lookup(ips, "2001:db8::1"), "MyList");
    CHECK_STR(lookup(ips, "10.0.0.1"), "MyList");
    CHECK(lookup(ips, "10.0.0.2") == NULL);
    CHECK_STR(domlist_lookup(doms, SV("a.wild.example.net")), "MyList");
    CHECK_STR(domlist_lookup(doms, SV("mixed.case.org")), "MyList");
    CHECK(domlist_lookup(doms, SV("example.com")) == NULL);

    /* A clean list returns 0 and says nothing. */
    err_clear(&e);
    rc = indicators_parse("# only\n1.1.1.1\n", 15, NULL, "x", ips, doms, &bad, &e);
    CHECK_INT(rc, 0);
    CHECK_INT(bad, 0);
    CHECK_INT(e.code, 0);
    /* An over-long line is one bad line, and the next line still loads. */
    char *big = xmalloc(10000);
    memset(big, 'a', 9000);
    memcpy(big + 9000, "\n9.9.9.9\n", 9);
    rc = indicators_parse(big, 9009, "big", "x", ips, doms, &bad, &e);
    CHECK_INT(rc, ERR_FORMAT);
    CHECK_INT(bad, 1);
    CHECK_INT(e.record, 1);
    CHECK_STR(lookup(ips, "9.9.9.9"), "x");
    free(big);
    iplist_free(ips);
    domlist_free(doms);
}

static void test_indicators_load(void)
{
    char path[] = "/tmp/vigil-test-ipXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    /* More than one read chunk, with a bad line past the first chunk. */
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "10.%d.%d.1\n", i / 256, i % 256);
    buf_append_cstr(&b, "bad line here\nbad.\nfinal.example\n");
    CHECK_INT(write(fd, b.p, b.len), (long long)b.len);
    close(fd);
    struct iplist *ips = iplist_new();
    struct domlist *doms = domlist_new();
    struct err e;
    err_clear(&e);
    size_t bad = 0;
    int rc = indicators_load(path, "T", ips, doms, &bad, &e);
    CHECK_INT(rc, ERR_FORMAT);
    CHECK_INT(bad, 1);
    CHECK_INT(e.record, 10001);
    CHECK_INT(e.offset, 10000 * 0 + (long long)(b.len - strlen("bad line here\nbad.\nfinal.example\n")));
    CHECK_STR(e.file, path);
    CHECK_INT(iplist_count(ips), 10000);
    CHECK_INT(domlist_count(doms), 2);
    CHECK_STR(domlist_lookup(doms, SV("final.example")), "T");
    CHECK_STR(domlist_lookup(doms, SV("x.bad")), "T");
    unlink(path);
    rc = indicators_load(path, "T", ips, doms, &bad, &e);
    CHECK_INT(rc, ERR_IO);
    buf_free(&b);
    iplist_free(ips);
    domlist_free(doms);
}

/* Every sourceIPAddress in real CloudTrail (the Stratus detonation logs):
 * addresses must parse, service names ("AWS Internal", "x.amazonaws.com")
 * must not, and parsed addresses print back to the same text modulo zeros. */
static void scan_dir(const char *dir, size_t *addrs_out, size_t *names_out)
{
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        printf("# skip: %s not found\n", dir);
        return;
    }
    size_t addrs = 0, names = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        if (fp == NULL)
            continue;
        struct buf text;
        buf_init(&text, 0);
        char chunk[8192];
        size_t got;
        while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            buf_append(&text, chunk, got);
        fclose(fp);
        static const char key[] = "\"sourceIPAddress\"";
        for (const char *p = text.p; p && (p = strstr(p, key)) != NULL;) {
            p += sizeof(key) - 1;
            while (*p == ' ' || *p == ':')
                p++;
            if (*p != '"')
                continue;
            const char *v = ++p, *end = strchr(v, '"');
            if (end == NULL)
                break;
            struct sv val = sv_make(v, (size_t)(end - v));
            bool numeric = val.len > 0 && strspn(v, "0123456789.") >= val.len;
            bool v6 = memchr(v, ':', val.len) != NULL && strspn(v, "0123456789abcdefABCDEF:.") >= val.len;
            struct ipaddr a;
            bool ok = ip_parse(val, &a);
            if (numeric || v6) {
                addrs++;
                if (!ok) {
                    printf("#   %s: address not parsed: %.*s\n", de->d_name, (int)val.len, v);
                    harness_failures++;
                }
            } else {
                names++;
                if (ok) {
                    printf("#   %s: name parsed as address: %.*s\n", de->d_name, (int)val.len, v);
                    harness_failures++;
                }
            }
            p = end + 1;
        }
        buf_free(&text);
    }
    closedir(dp);
    *addrs_out += addrs;
    *names_out += names;
}

static void test_cloudtrail_addresses(void)
{
    const char *root = harness_datasets();
    if (root == NULL)
        return;
    char dir[1024];
    size_t addrs = 0, names = 0;
    snprintf(dir, sizeof(dir), "%s/stratus-detonation-logs", root);
    scan_dir(dir, &addrs, &names);
    snprintf(dir, sizeof(dir), "%s/invictus-aws-stratus-2023/CloudTrail", root);
    scan_dir(dir, &addrs, &names);
    printf("# %zu addresses and %zu service names from real CloudTrail\n", addrs, names);
    CHECK(addrs > 0 && names > 0);
}

static const struct harness_test tests[] = {
    { "parse_v4", test_parse_v4 },
    { "parse_v6", test_parse_v6 },
    { "format", test_format },
    { "against_libc", test_against_libc },
    { "cidr", test_cidr },
    { "private", test_private },
    { "iplist_basic", test_iplist_basic },
    { "iplist_random", test_iplist_random },
    { "iplist_speed", test_iplist_speed },
    { "domlist", test_domlist },
    { "indicators_parse", test_indicators_parse },
    { "indicators_load", test_indicators_load },
    { "cloudtrail_addresses", test_cloudtrail_addresses },
};

HARNESS_MAIN(tests)
