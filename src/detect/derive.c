/*
 * Derived fields: what the stateful rules group by, count and filter on that
 * no single leaf of a record holds.
 *
 * VPC flows. A flow log line is captured at one network interface and names
 * both ends, but not which end is that interface. The local end is found, in
 * order, from the v5 flow-direction field, from the ENI map's addresses, then
 * from which end is an internal (VPC) address. Who opened the connection is
 * the end with the higher port (clients use ephemeral ports, servers listen on
 * lower ones); equal ports or portless protocols leave it unknown. A "probe"
 * is a rejected flow or one of at most three packets that carry no payload
 * (at most 80 bytes each: a SYN and its retries).
 *
 * DNS. The registered domain is the label under the public suffix, with a
 * small list of two-label suffixes (co.uk, com.au, ...) instead of the whole
 * Public Suffix List. Exfiltration labels and generated (DGA) names are judged
 * by length, Shannon entropy, digits and vowels (detect__exfil_label,
 * detect__dga_label).
 *
 * CloudTrail. The identity is userIdentity.arn (else principalId, else the
 * invoking service); the network is the caller's /16 (IPv4) or /48 (IPv6), or
 * the service name when AWS called on the principal's behalf; the address
 * class says whether the caller is a service, an internal address, an AWS
 * address (with --aws-ip-ranges) or any other public one; an EC2 instance-role
 * session names its instance in the role session name.
 */
#include "detect/detect_int.h"
#include "geo/geo.h"

#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__SSE4_1__)
#include <smmintrin.h>
#include <tmmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dname {
    const char *name;
    uint8_t type;
};

static const struct dname flow_names[DVF_N] = {
    [DVF_INSTANCE] = { "instance", DV_STR },
    [DVF_DIRECTION] = { "direction", DV_STR },
    [DVF_INITIATOR] = { "initiator", DV_STR },
    [DVF_LOCAL_IP] = { "local_ip", DV_STR },
    [DVF_LOCAL_PORT] = { "local_port", DV_NUM },
    [DVF_REMOTE_IP] = { "remote_ip", DV_STR },
    [DVF_REMOTE_PORT] = { "remote_port", DV_NUM },
    [DVF_REMOTE_PUBLIC] = { "remote_public", DV_BOOL },
    [DVF_REMOTE_AWS] = { "remote_aws", DV_BOOL },
    [DVF_PROTOCOL] = { "protocol_name", DV_STR },
    [DVF_PROBE] = { "probe", DV_BOOL },
    [DVF_IPV6] = { "ipv6", DV_BOOL },
    [DVF_DOH] = { "doh_server", DV_BOOL },
    [DVF_PACKET_SIZE] = { "packet_size", DV_NUM },
};

static const struct dname dns_names[DVD_N] = {
    [DVD_INSTANCE] = { "instance", DV_STR },
    [DVD_DOMAIN] = { "domain", DV_STR },
    [DVD_REGISTERED] = { "registered_domain", DV_STR },
    [DVD_SUBDOMAIN] = { "subdomain", DV_STR },
    [DVD_LONGEST_LABEL] = { "longest_label", DV_NUM },
    [DVD_ENTROPY] = { "entropy", DV_NUM },
    [DVD_EXFIL] = { "exfil_label", DV_BOOL },
    [DVD_DGA] = { "dga", DV_BOOL },
    [DVD_AWS_DOMAIN] = { "aws_domain", DV_BOOL },
};

static const struct dname ct_names[DVC_N] = {
    [DVC_IDENTITY] = { "identity", DV_STR },
    [DVC_UA_FAMILY] = { "ua_family", DV_STR },
    [DVC_NETWORK] = { "network", DV_STR },
    [DVC_IP_CLASS] = { "ip_class", DV_STR },
    [DVC_INSTANCE_SESSION] = { "instance_session", DV_STR },
    [DVC_API] = { "api", DV_STR },
    [DVC_COUNTRY] = { "country", DV_STR },
    [DVC_ASN] = { "asn", DV_STR },
};

static const struct dname *names_of(enum event_source src, size_t *n)
{
    switch (src) {
    case EVENT_VPCFLOW: *n = DVF_N; return flow_names;
    case EVENT_DNS: *n = DVD_N; return dns_names;
    case EVENT_CLOUDTRAIL: *n = DVC_N; return ct_names;
    default: *n = 0; return NULL;
    }
}

int detect__derived_find(enum event_source src, const char *name, size_t len)
{
    size_t n;
    const struct dname *t = names_of(src, &n);
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].name) == len && memcmp(t[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

const char *detect__derived_name(enum event_source src, int i)
{
    size_t n;
    const struct dname *t = names_of(src, &n);
    return i >= 0 && (size_t)i < n ? t[i].name : NULL;
}

const char *detect__source_name(enum event_source src)
{
    return event_source_name(src);
}

/* ---- small helpers ------------------------------------------------------------- */

static const struct json_leaf *leaf(const struct event *ev, const char *p, size_t len)
{
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (l->path_len == len && memcmp(l->path, p, len) == 0)
            return l;
    }
    return NULL;
}

#define LEAF(ev, lit) leaf((ev), (lit), sizeof(lit) - 1)

static struct sv leaf_sv(const struct json_leaf *l, struct arena *a)
{
    if (l == NULL || (l->type != JSON_STRING && l->type != JSON_NUMBER))
        return SV_NULL;
    if (l->type == JSON_STRING)
        return json_leaf_str(l, a);
    return sv_make(l->val, l->val_len);
}

static bool leaf_num(const struct json_leaf *l, int64_t *out)
{
    return l != NULL && (l->type == JSON_NUMBER || l->type == JSON_STRING) &&
           sv_to_i64(sv_make(l->val, l->val_len), out);
}

static void set_str(struct derived *d, int i, struct sv s)
{
    if (s.p == NULL)
        return;
    d->v[i] = (struct dval){ .type = DV_STR, .s = s };
}

static void set_cstr(struct derived *d, int i, const char *s)
{
    set_str(d, i, sv_cstr(s));
}

static void set_num(struct derived *d, int i, double v, struct arena *a)
{
    char tmp[32];
    size_t n;
    if (v >= 0 && v < 1e15 && v == (double)(int64_t)v) {
        /* Ports and sizes: integers, written without printf. */
        char r[24];
        size_t k = 0;
        uint64_t u = (uint64_t)v;
        do {
            r[k++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        for (n = 0; n < k; n++)
            tmp[n] = r[k - 1 - n];
    } else {
        n = json_format_double(v, tmp);
    }
    d->v[i] = (struct dval){ .type = DV_NUM, .num = v, .s = sv_make(arena_strndup(a, tmp, n), n) };
}

/* A number of hundredths k >= 0, written as its shortest decimal (3, 3.5,
 * 3.45) without printf. */
static void set_hundredths(struct derived *d, int i, int64_t k, struct arena *a)
{
    if (k < 0 || k > 100000000) {
        set_num(d, i, (double)k / 100.0, a);
        return;
    }
    char tmp[24];
    int n = 0;
    char r[24];
    int64_t ip = k / 100, fr = k % 100;
    int m = 0;
    do {
        r[m++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (m)
        tmp[n++] = r[--m];
    if (fr) {
        tmp[n++] = '.';
        tmp[n++] = (char)('0' + fr / 10);
        if (fr % 10)
            tmp[n++] = (char)('0' + fr % 10);
    }
    d->v[i] = (struct dval){ .type = DV_NUM, .num = (double)k / 100.0,
                             .s = sv_make(arena_strndup(a, tmp, (size_t)n), (size_t)n) };
}

static void set_bool(struct derived *d, int i, bool b)
{
    d->v[i] = (struct dval){ .type = DV_BOOL, .b = b, .s = b ? SV("true") : SV("false") };
}

/* The IPv4 private, shared (CGNAT), link-local and loopback ranges; b: the
 * address's 4 bytes. */
static inline bool ip4_internal(const uint8_t *b)
{
    /* By the first byte, the test on the second: two loads and a compare
     * instead of a branch per range (flows' ends are internal or not
     * about half the time each). Kind 0 never holds (nothing & 0 is 1). */
    static const uint8_t kind[256] = { [10] = 1, [127] = 1, [172] = 2,
                                       [192] = 3, [100] = 4, [169] = 5 };
    static const uint8_t mask[6] = { 0, 0, 0xf0, 0xff, 0xc0, 0xff };
    static const uint8_t want[6] = { 1, 0, 16, 168, 64, 254 };
    unsigned k = kind[b[0]];
    return (b[1] & mask[k]) == want[k];
}

bool detect__ip_internal(const struct ipaddr *ip)
{
    if (ip->v4)
        return ip4_internal(ip->b + 12);
    static const struct {
        uint8_t b[16];
        unsigned bits; /* over the 16-byte (v4-mapped) form */
    } r[] = {
        { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10 }, 104 },
        { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 172, 16 }, 108 },
        { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168 }, 112 },
        { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64 }, 106 },
        { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254 }, 112 },
        { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127 }, 104 },
        { { 0xfc }, 7 },
        { { 0xfe, 0x80 }, 10 },
        { { [15] = 1 }, 128 },
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        struct ipaddr net;
        memcpy(net.b, r[i].b, 16);
        net.v4 = r[i].bits >= 96 && i < 6;
        unsigned bits = r[i].bits;
        /* ip_in_cidr takes family-relative lengths. */
        if (net.v4) {
            if (!ip->v4)
                continue;
            bits -= 96;
        } else if (ip->v4) {
            continue;
        }
        if (ip_in_cidr(ip, &net, bits))
            return true;
    }
    return false;
}

/* detect__ip_internal with its IPv4 half inlined: two calls per flow. */
static inline bool ip_internal(const struct ipaddr *ip)
{
    return ip->v4 ? ip4_internal(ip->b + 12) : detect__ip_internal(ip);
}

/* Public resolvers that serve DNS over HTTPS and TLS (Cloudflare, Google,
 * Quad9, OpenDNS, AdGuard, CleanBrowsing, Control D, NextDNS anycast), as
 * bytes: this runs for every flow. */
static const uint8_t doh_v4[][4] = {
    { 1, 1, 1, 1 }, { 1, 0, 0, 1 }, { 1, 1, 1, 2 }, { 1, 0, 0, 2 }, { 1, 1, 1, 3 }, { 1, 0, 0, 3 },
    { 8, 8, 8, 8 }, { 8, 8, 4, 4 }, { 9, 9, 9, 9 }, { 149, 112, 112, 112 }, { 9, 9, 9, 10 },
    { 149, 112, 112, 10 }, { 9, 9, 9, 11 }, { 208, 67, 222, 222 }, { 208, 67, 220, 220 },
    { 94, 140, 14, 14 }, { 94, 140, 15, 15 }, { 185, 228, 168, 9 }, { 185, 228, 169, 9 },
    { 76, 76, 2, 0 }, { 76, 76, 10, 0 }, { 45, 90, 28, 0 }, { 45, 90, 30, 0 },
};
static const uint8_t doh_v6[][16] = {
    { 0x26, 0x06, 0x47, 0x00, 0x47, 0x00, [14] = 0x11, [15] = 0x11 },
    { 0x26, 0x06, 0x47, 0x00, 0x47, 0x00, [14] = 0x10, [15] = 0x01 },
    { 0x20, 0x01, 0x48, 0x60, 0x48, 0x60, [14] = 0x88, [15] = 0x88 },
    { 0x20, 0x01, 0x48, 0x60, 0x48, 0x60, [14] = 0x88, [15] = 0x44 },
    { 0x26, 0x20, 0x00, 0xfe, [15] = 0xfe },
    { 0x26, 0x20, 0x00, 0xfe, [15] = 0x09 },
    { 0x26, 0x20, 0x01, 0x19, 0x00, 0x35, [15] = 0x35 },
    { 0x26, 0x20, 0x01, 0x19, 0x00, 0x53, [15] = 0x53 },
};

/* doh_v4 by a multiplicative hash (DOH_MUL, the top 6 bits of the 4 bytes
 * read little-endian times it) into 64 slots, one address per slot: a flow's
 * remote end is looked up with a load and a compare instead of a branch on
 * its first byte and a scan. Built once per thread; a unit test checks it
 * against the list. */
#define DOH_MUL 0x04d759889213147bULL

static unsigned doh_slot(uint32_t k) { return (unsigned)(((uint64_t)k * DOH_MUL) >> 58); }

struct doh_hash {
    uint32_t key[64];
    uint64_t used;
};

static __attribute__((cold, noinline)) void doh_hash_init(struct doh_hash *h)
{
    for (size_t i = 0; i < sizeof(doh_v4) / sizeof(doh_v4[0]); i++) {
        uint32_t k;
        memcpy(&k, doh_v4[i], 4);
        unsigned sl = doh_slot(k);
        /* DOH_MUL was chosen so that the list has no two in a slot
         * (detect__doh_hash_ok). */
        h->key[sl] = k;
        h->used |= 1ULL << sl;
    }
}

static inline const struct doh_hash *doh_hash(void)
{
    static _Thread_local struct doh_hash h;
    static _Thread_local bool init;
    if (__builtin_expect(!init, 0)) {
        doh_hash_init(&h);
        init = true;
    }
    return &h;
}

static bool doh_linear(const uint8_t *b4)
{
    for (size_t i = 0; i < sizeof(doh_v4) / sizeof(doh_v4[0]); i++)
        if (memcmp(b4, doh_v4[i], 4) == 0)
            return true;
    return false;
}

static inline bool doh_server(const struct ipaddr *ip);

bool detect__doh_hash_ok(void)
{
    uint64_t seen = 0;
    for (size_t i = 0; i < sizeof(doh_v4) / sizeof(doh_v4[0]); i++) {
        uint32_t k;
        memcpy(&k, doh_v4[i], 4);
        if (seen >> doh_slot(k) & 1)
            return false;
        seen |= 1ULL << doh_slot(k);
    }
    /* Every listed address, and addresses near them and elsewhere. */
    uint32_t x = 12345;
    for (size_t i = 0; i < 200000; i++) {
        struct ipaddr ip;
        memset(&ip, 0, sizeof(ip));
        ip.v4 = true;
        ip.b[10] = ip.b[11] = 0xff;
        size_t n = sizeof(doh_v4) / sizeof(doh_v4[0]);
        x = x * 1103515245u + 12345u;
        if (i < n) {
            memcpy(ip.b + 12, doh_v4[i], 4);
        } else if (i < 64 * n) {
            memcpy(ip.b + 12, doh_v4[i % n], 4);
            ip.b[12 + (x >> 8) % 4] ^= (uint8_t)(1u << (x >> 16) % 8);
        } else {
            memcpy(ip.b + 12, &x, 4);
        }
        if (doh_server(&ip) != doh_linear(ip.b + 12) || (i < n && !doh_server(&ip)))
            return false;
    }
    return true;
}

static inline bool doh_server(const struct ipaddr *ip)
{
    if (ip->v4) {
        const struct doh_hash *h = doh_hash();
        uint32_t k;
        memcpy(&k, ip->b + 12, 4);
        unsigned sl = doh_slot(k);
        return (h->key[sl] == k) & (unsigned)(h->used >> sl & 1);
    }
    for (size_t i = 0; i < sizeof(doh_v6) / sizeof(doh_v6[0]); i++)
        if (memcmp(ip->b, doh_v6[i], 16) == 0)
            return true;
    return false;
}

/* ---- flows ------------------------------------------------------------------------ */

static const char *proto_name(int64_t p, char *tmp, size_t cap)
{
    switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    default: snprintf(tmp, cap, "%lld", (long long)p); return tmp;
    }
}

#define IS(l, lit) ((l)->path_len == sizeof(lit) - 1 && memcmp((l)->path, lit, sizeof(lit) - 1) == 0)

/* The leaves of one file's lines come in its header's order: where the last
 * line had the same paths (hashes, in order), this one has the fields at the
 * same places. A line the reader marks with the same format id (event.
 * flow_fmt: every field of the same format) has them without comparing the
 * paths; otherwise the comparison is a row of independent loads, unlike a
 * hash chained over them. Per thread. */
#define FLOW_LAYOUT_MAX 48

static _Thread_local struct {
    size_t n;
    uint64_t path[FLOW_LAYOUT_MAX];
    int16_t at[DVR_N];
    bool ok;
    uint64_t fmt; /* the reader's event.flow_fmt of a line with this layout, or 0 */
} flow_layout;

static void flow_find_slow(const struct event *ev, const struct json_leaf **raw);

/* The flow fields derivation reads (raw[DVR_*], NULL = absent). */
static void flow_find(const struct event *ev, const struct json_leaf **raw)
{
    size_t n = ev->flat.n;
    const struct json_leaf *lv = ev->flat.leaves;
    bool same = flow_layout.ok && ev->flow_fmt != 0 && ev->flow_fmt == flow_layout.fmt;
    if (!same && flow_layout.ok && flow_layout.n == n) {
        /* An early exit, so that the compiler does not vectorize this
         * through the stack (a store-forwarding stall per pair). */
        size_t i = 0;
        while (i < n && lv[i].path_hash == flow_layout.path[i])
            i++;
        if (i == n) {
            same = true;
            if (ev->flow_fmt != 0)
                flow_layout.fmt = ev->flow_fmt;
        }
    }
    if (same) {
        for (int k = 0; k < DVR_N; k++) {
            int at = flow_layout.at[k];
            raw[k] = at < 0 ? NULL : &lv[at];
        }
        return;
    }
    flow_find_slow(ev, raw);
    flow_layout.ok = n <= FLOW_LAYOUT_MAX;
    flow_layout.fmt = flow_layout.ok ? ev->flow_fmt : 0;
    if (!flow_layout.ok)
        return;
    flow_layout.n = n;
    for (size_t i = 0; i < n; i++)
        flow_layout.path[i] = lv[i].path_hash;
    for (int k = 0; k < DVR_N; k++)
        flow_layout.at[k] = raw[k] ? (int16_t)(raw[k] - lv) : -1;
}

static void flow_find_slow(const struct event *ev, const struct json_leaf **raw)
{
    for (int k = 0; k < DVR_N; k++)
        raw[k] = NULL;
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        switch (l->path_len) {
        case 5:
            if (IS(l, "bytes"))
                raw[DVR_BYTES] = l;
            break;
        case 6:
            if (IS(l, "action"))
                raw[DVR_ACTION] = l;
            break;
        case 7:
            if (IS(l, "srcaddr"))
                raw[DVR_SRCADDR] = l;
            else if (IS(l, "dstaddr"))
                raw[DVR_DSTADDR] = l;
            else if (IS(l, "srcport"))
                raw[DVR_SRCPORT] = l;
            else if (IS(l, "dstport"))
                raw[DVR_DSTPORT] = l;
            else if (IS(l, "packets"))
                raw[DVR_PACKETS] = l;
            break;
        case 8:
            if (IS(l, "protocol"))
                raw[DVR_PROTOCOL] = l;
            break;
        case 11:
            if (IS(l, "instance-id"))
                raw[DVR_INSTANCE] = l;
            break;
        case 12:
            if (IS(l, "interface-id"))
                raw[DVR_ENI] = l;
            break;
        case 14:
            if (IS(l, "flow-direction"))
                raw[DVR_FDIR] = l;
            break;
        default:
            break;
        }
    }
}

static const char *const raw_names[DVR_N] = {
    [DVR_SRCADDR] = "srcaddr", [DVR_DSTADDR] = "dstaddr", [DVR_SRCPORT] = "srcport",
    [DVR_DSTPORT] = "dstport", [DVR_PROTOCOL] = "protocol", [DVR_PACKETS] = "packets",
    [DVR_BYTES] = "bytes", [DVR_ACTION] = "action", [DVR_INSTANCE] = "instance-id",
    [DVR_ENI] = "interface-id", [DVR_FDIR] = "flow-direction",
};

int detect__flow_raw_find(const char *name, size_t len)
{
    for (int i = 0; i < DVR_N; i++)
        if (strlen(raw_names[i]) == len && memcmp(raw_names[i], name, len) == 0)
            return i;
    return -1;
}

/* ---- flow facts ---------------------------------------------------------------------- */

#define FACT_RAW(i) (DVF_N + (i))

int detect__flow_fact_type(int f)
{
    switch (f) {
    case DVF_DIRECTION:
    case DVF_INITIATOR:
    case FACT_RAW(DVR_ACTION):
        return FT_ENUM;
    case DVF_LOCAL_PORT:
    case DVF_REMOTE_PORT:
    case DVF_PACKET_SIZE:
    case FACT_RAW(DVR_SRCPORT):
    case FACT_RAW(DVR_DSTPORT):
    case FACT_RAW(DVR_PROTOCOL):
    case FACT_RAW(DVR_PACKETS):
    case FACT_RAW(DVR_BYTES):
        return FT_NUM;
    case DVF_REMOTE_PUBLIC:
    case DVF_REMOTE_AWS:
    case DVF_PROBE:
    case DVF_IPV6:
    case DVF_DOH:
        return FT_BOOL;
    default:
        return FT_NONE;
    }
}

static const char *const dir_codes[] = { NULL, "inbound", "outbound", "unknown" };
static const char *const init_codes[] = { NULL, "local", "remote", "unknown" };
static const char *const action_codes[] = { NULL, "ACCEPT", "REJECT" };

int detect__flow_fact_code(int f, const char *s, size_t len)
{
    const char *const *t = f == DVF_DIRECTION ? dir_codes
                         : f == DVF_INITIATOR ? init_codes
                         : f == FACT_RAW(DVR_ACTION) ? action_codes
                                                      : NULL;
    size_t n = t == action_codes ? 3 : 4;
    for (size_t i = 1; t && i < n; i++)
        if (strlen(t[i]) == len && memcmp(t[i], s, len) == 0)
            return (int)i;
    return -1;
}

/* The facts derive_flow_late sets. */
#define FLOW_LATE                                                                                \
    (1u << FACT_RAW(DVR_PACKETS) | 1u << FACT_RAW(DVR_BYTES) | 1u << DVF_PACKET_SIZE |         \
     1u << DVF_PROBE | 1u << DVF_DOH | 1u << DVF_REMOTE_AWS)

/* Every flow fact is a whole number from 0 (see struct derived). */
static void fact(struct derived *d, int f, int64_t v)
{
    d->ff[f] = (uint64_t)v;
    d->ffmask |= 1u << f;
}

/* 1 to 8 ASCII digits at p (n of them; 8 bytes readable from p) as their
 * value, without a loop: the lengths of flow fields vary from line to
 * line, so a digit loop's exit is a branch mispredicted on most numbers.
 * False when one of the n bytes is not a digit. */
static bool digits8(const char *p, uint32_t n, int64_t *out)
{
    uint64_t w;
    memcpy(&w, p, 8);
    unsigned sh = 8 * (8 - n);
    uint64_t keep = ~0ULL << sh;
    /* Little-endian: shifted up, the n digits fill the top bytes in reading
     * order below 8 - n zero bytes, which count as leading zeros. */
    uint64_t x = (w << sh) ^ 0x3030303030303030ULL;
    if ((((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL & keep) != 0)
        return false;
    x &= keep;
    x = (x * 2561) >> 8;
    x = ((x & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
    x = ((x & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
    *out = (int64_t)x;
    return true;
}

static inline uint64_t word6(const char *p)
{
    uint32_t w4;
    uint16_t w2;
    memcpy(&w4, p, 4);
    memcpy(&w2, p + 4, 2);
    return (uint64_t)w4 | (uint64_t)w2 << 32;
}

/* The action's code (detect__flow_fact_code: ACCEPT 1, REJECT 2, else 0)
 * by two compares of the 6 bytes instead of memcmps: whether a line is
 * accepted or rejected is the traffic's mix, so a branch on it is
 * mispredicted. */
static inline int action_code(const char *p, size_t len)
{
    if (len != 6)
        return 0;
    uint64_t w = word6(p);
    /* The words as constants: made with memcpy on the stack, gcc stored
     * them in pieces and read them back whole, a store-forwarding stall
     * (perf: ~20% of derive_flow_facts' samples on that one compare). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t acc = 0x545045434341ULL, rej = 0x5443454A4552ULL;
#else
    const uint64_t acc = word6("ACCEPT"), rej = word6("REJECT");
#endif
    return (w == acc) | (w == rej) << 1;
}

/* A raw flow leaf as a fact: numbers typed as such, the action as its code;
 * *out (if not NULL) the leaf's integer value, numbers or strings, as
 * leaf_num reads it (left alone when it has none). True when the leaf is
 * 1 to 15 plain digits. A value that starts within lim bytes of lo (the
 * flow line, less 8 bytes) is read 8 bytes at a time; lo 0, lim 0: none. */
static inline __attribute__((always_inline)) bool
raw_fact(struct derived *d, int r, const struct json_leaf *l, uintptr_t lo, size_t lim, int64_t *out)
{
    if (!l)
        return false;
    if (r == DVR_ACTION) {
        if (l->type == JSON_STRING && !l->escaped) {
            int c = detect__flow_fact_code(FACT_RAW(r), l->val, l->val_len);
            if (c > 0)
                fact(d, FACT_RAW(r), c);
        }
        return false;
    }
    if (l->val_len > 0 && l->val_len <= 15) {
        int64_t v = 0;
        bool plain;
        /* One compare: at - lo wraps for a value before the line. */
        if (l->val_len <= 8 && (uintptr_t)l->val - lo <= lim) {
            plain = digits8(l->val, l->val_len, &v);
        } else {
            uint32_t i = 0;
            for (; i < l->val_len; i++) {
                unsigned dg = (unsigned)(l->val[i] - '0');
                if (dg > 9)
                    break;
                v = v * 10 + dg;
            }
            plain = i == l->val_len;
        }
        if (plain) {
            if (l->type == JSON_NUMBER)
                fact(d, FACT_RAW(r), v);
            if (out && (l->type == JSON_NUMBER || l->type == JSON_STRING))
                *out = v;
            return true;
        }
    }
    if (out)
        leaf_num(l, out);
    return false;
}

/* A port's value: its text is the leaf's when that is the number written
 * plainly (plain: the leaf is digits only, raw_fact says). */
static void set_port(struct derived *d, int i, int64_t v, const struct json_leaf *l, bool plain,
                     struct arena *a)
{
    if (plain && (l->val[0] != '0' || l->val_len == 1)) {
        d->v[i] = (struct dval){ .type = DV_NUM, .num = (double)v, .s = sv_make(l->val, l->val_len) };
        return;
    }
    set_num(d, i, (double)v, a);
}

/* A flow leaf's text: flow lines hold no escapes, so a view. */
static struct sv flow_sv(const struct json_leaf *l, struct arena *a)
{
    if (l == NULL || (l->type != JSON_STRING && l->type != JSON_NUMBER))
        return SV_NULL;
    if (l->type == JSON_STRING && l->escaped)
        return json_leaf_str(l, a);
    return sv_make(l->val, l->val_len);
}

/* ip_parse for the dotted quads flow lines are made of, without a call or a
 * scan for ':'; anything else goes to ip_parse. Same results. */
static inline __attribute__((always_inline)) bool flow_ip(struct sv s, struct ipaddr *out)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const char *p = s.p;
    size_t len = s.len, i = 0;
    if (p == NULL || len < 7 || len > 15)
        return ip_parse(s, out);
    uint8_t q[4];
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || p[i] != '.')
                return ip_parse(s, out);
            i++;
        }
        /* One to three digits, unrolled: a loop's bounds tests cost more
         * than the digits here. */
        unsigned v = i < len ? (unsigned)(unsigned char)p[i] - '0' : 10u;
        if (v > 9)
            return ip_parse(s, out);
        i++;
        unsigned dg = i < len ? (unsigned)(unsigned char)p[i] - '0' : 10u;
        if (dg <= 9) {
            v = v * 10 + dg;
            i++;
            dg = i < len ? (unsigned)(unsigned char)p[i] - '0' : 10u;
            if (dg <= 9) {
                v = v * 10 + dg;
                i++;
            }
        }
        if (v > 255)
            return ip_parse(s, out);
        q[part] = (uint8_t)v;
    }
    if (i != len)
        return ip_parse(s, out);
    memcpy(out->b, mapped, 12);
    memcpy(out->b + 12, q, 4);
    out->v4 = true;
    return true;
}

#if defined(__SSE4_1__)
/* flow_ip's dotted quads where 16 bytes from s.p are readable (room), with
 * one branch: the dots and digits found by a 16-byte compare; the parts'
 * lengths (1-3 each: 81 layouts) pick a shuffle that puts each part's
 * digits in a 4-byte lane as 0, hundreds, tens, units, and two multiply-adds
 * make the values. The lengths vary from line to line, so a digit loop's
 * exits mispredict. False (nothing written) for anything flow_ip would not
 * take as a dotted quad of 1-3 digit parts up to 255: the caller asks
 * flow_ip. */
struct quad_shuf {
    uint8_t s[81][16];
};

static __attribute__((cold, noinline)) void quad_shuf_init(struct quad_shuf *t)
{
    for (unsigned id = 0; id < 81; id++) {
        unsigned ln[4] = { id / 27 + 1, id / 9 % 3 + 1, id / 3 % 3 + 1, id % 3 + 1 };
        unsigned at = 0;
        for (unsigned k = 0; k < 4; k++) {
            /* Lane bytes 0..3: zero, then the part right-aligned. */
            for (unsigned j = 0; j < 4; j++) {
                unsigned from_end = 3 - j; /* 0: units */
                t->s[id][4 * k + j] =
                    j > 0 && from_end < ln[k] ? (uint8_t)(at + ln[k] - 1 - from_end) : 0x80;
            }
            at += ln[k] + 1;
        }
    }
}

static inline const struct quad_shuf *quad_shuf(void)
{
    static _Thread_local struct quad_shuf t;
    static _Thread_local bool init;
    if (__builtin_expect(!init, 0)) {
        quad_shuf_init(&t);
        init = true;
    }
    return &t;
}

static inline __attribute__((always_inline)) bool
flow_ip4_wide(struct sv s, size_t room, const struct quad_shuf *qs, struct ipaddr *out)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const char *p = s.p;
    size_t len = s.len;
    if (p == NULL || len < 7 || len > 15 || room < 16)
        return false;
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    uint32_t lm = (1u << len) - 1;
    uint32_t dots = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & lm;
    uint32_t dig =
        (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)) & lm;
    unsigned d1 = (unsigned)__builtin_ctz(dots | 0x10000u);
    uint32_t r1 = dots & (dots - 1);
    unsigned d2 = (unsigned)__builtin_ctz(r1 | 0x10000u);
    uint32_t r2 = r1 & (r1 - 1);
    unsigned d3 = (unsigned)__builtin_ctz(r2 | 0x10000u);
    /* Lengths less one, each 0..2 when the layout is one (else it wraps). */
    unsigned m0 = d1 - 1, m1 = d2 - d1 - 2, m2 = d3 - d2 - 2, m3 = (unsigned)len - d3 - 2;
    bool shape = (dots | dig) == lm && (r2 & (r2 - 1)) == 0 && r2 != 0 &&
                 ((m0 < 3) & (m1 < 3) & (m2 < 3) & (m3 < 3));
    if (!shape)
        return false;
    unsigned id = m0 * 27 + m1 * 9 + m2 * 3 + m3;
    __m128i sh = _mm_loadu_si128((const __m128i *)(const void *)qs->s[id]);
    __m128i lanes = _mm_shuffle_epi8(d, sh);
    /* (0 * 0 + h * 100), (t * 10 + u * 1), then their sum per lane. */
    __m128i pairs = _mm_maddubs_epi16(lanes, _mm_set1_epi32(0x010a6400));
    __m128i vals = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00010001));
    if (_mm_movemask_epi8(_mm_cmpgt_epi32(vals, _mm_set1_epi32(255))) != 0)
        return false;
    __m128i b = _mm_packus_epi16(_mm_packus_epi32(vals, vals), _mm_setzero_si128());
    uint32_t q = (uint32_t)_mm_cvtsi128_si32(b);
    memcpy(out->b, mapped, 12);
    memcpy(out->b + 12, &q, 4);
    out->v4 = true;
    return true;
}
#endif

/* Where flow addresses may be read 16 bytes at a time: from lo, values that
 * start at most lim bytes after it (the flow line less 16 bytes); lo 0 and
 * lim 0: none. */
struct wide {
    uintptr_t lo;
    size_t lim;
#if defined(__SSE4_1__)
    const struct quad_shuf *qs;
#endif
};

static inline struct wide wide_of(struct sv line)
{
    struct wide w = { 0, 0 };
    if (line.p && line.len >= 16) {
        w.lo = (uintptr_t)line.p;
        w.lim = line.len - 16;
    }
#if defined(__SSE4_1__)
    w.qs = quad_shuf();
#endif
    return w;
}

/* flow_ip, reading past the address inside the line where that helps: 2 when
 * it did, 1 when flow_ip read it, 0 when it is no address. */
static inline __attribute__((always_inline)) int flow_ip_at(struct sv s, const struct wide *w,
                                                            struct ipaddr *out)
{
#if defined(__SSE4_1__)
    /* One compare: s.p - lo wraps for an address before the line. */
    size_t room = s.p && (uintptr_t)s.p - w->lo <= w->lim ? 16 : 0;
    if (flow_ip4_wide(s, room, w->qs, out))
        return 2;
#else
    (void)w;
#endif
    return flow_ip(s, out) ? 1 : 0;
}

int detect__flow_ip(struct sv s, struct sv line, struct ipaddr *out)
{
    struct wide w = wide_of(line);
    return flow_ip_at(s, &w, out);
}

static bool sv_is(struct sv s, const char *lit, size_t n)
{
    return s.len == n && memcmp(s.p, lit, n) == 0;
}
#define SV_IS(s, lit) sv_is((s), (lit), sizeof(lit) - 1)

/* An integer as text in the struct's own buffer (no arena: this runs for
 * every flow), two digits at a time from the end: packet sizes have 2 to 4
 * digits, and a digit loop from the front needs a reversal after it. */
static void set_num_own(struct derived *d, int i, int64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    uint64_t u = (uint64_t)v;
    size_t k = 1;
    for (uint64_t t = u; t >= 10; t /= 10)
        k++;
    char *o = d->numtxt[i];
    size_t at = k;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        at -= 2;
        memcpy(o + at, pairs + 2 * r, 2);
    }
    if (u >= 10) {
        memcpy(o, pairs + 2 * u, 2);
    } else {
        o[0] = (char)('0' + u);
    }
    d->v[i] = (struct dval){ .type = DV_NUM, .num = (double)v, .s = sv_make(o, k) };
}

/* Field by field: the padding is left alone, so this stays a row of stores
 * instead of becoming a memset. */
static inline void clear_vals(struct dval *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i].type = DV_NONE;
        v[i].b = false;
        v[i].num = 0;
        v[i].s = SV_NULL;
    }
}

/* A flow in two steps. The facts (what the gate and the direct `where`
 * read: ff, ffmask) come first; most lines feed no unit, and their
 * values and texts (d->v) are never needed. What the second step needs of
 * the first is kept in d->fp. */
static void derive_flow_facts(const struct dctx *c, const struct event *ev, struct arena *a,
                              struct derived *d)
{
    const struct detect_lists *l = c->lists;
    struct flow_pend *fp = &d->fp;
    if (ev->flow_fmt == 0 || ev->flow_fmt != d->raw_fmt || ev->flat.leaves != d->raw_base) {
        flow_find(ev, d->raw);
        d->raw_fmt = ev->flow_fmt;
        d->raw_base = ev->flat.leaves;
    }
    const struct flow_leaves {
        const struct json_leaf *eni, *src, *dst, *sport, *dport, *proto, *action, *fdir;
    } fl = { d->raw[DVR_ENI],     d->raw[DVR_SRCADDR], d->raw[DVR_DSTADDR], d->raw[DVR_SRCPORT],
             d->raw[DVR_DSTPORT], d->raw[DVR_PROTOCOL], d->raw[DVR_ACTION], d->raw[DVR_FDIR] };
    int64_t sport = -1, dport = -1, proto = -1;
    /* The line's own bytes: the numbers are read 8 bytes at a time where
     * that stays inside it. */
    uintptr_t lo = 0;
    size_t lim = 0; /* nothing is read wide: lo 0 puts every value past lim */
    if (ev->raw.p && ev->raw.len >= 8) {
        lo = (uintptr_t)ev->raw.p;
        lim = ev->raw.len - 8;
    }
    fp->splain = raw_fact(d, DVR_SRCPORT, fl.sport, lo, lim, &sport);
    fp->dplain = raw_fact(d, DVR_DSTPORT, fl.dport, lo, lim, &dport);
    raw_fact(d, DVR_PROTOCOL, fl.proto, lo, lim, &proto);
    fp->proto = proto;
    /* The counts and what follows from them wait for derive_flow_late. */
    d->late = FLOW_LATE;
    bool rejected;
    if (fl.action && fl.action->type == JSON_STRING && !fl.action->escaped) {
        int code = action_code(fl.action->val, fl.action->val_len);
        rejected = code == 2;
        if (code)
            fact(d, FACT_RAW(DVR_ACTION), code);
    } else {
        struct sv action = flow_sv(fl.action, a);
        rejected = SV_IS(action, "REJECT");
    }
    struct sv ssrc = flow_sv(fl.src, a), sdst = flow_sv(fl.dst, a);
    struct ipaddr src, dst;
    struct wide wd = wide_of(ev->raw);
    fp->ends = flow_ip_at(ssrc, &wd, &src) && flow_ip_at(sdst, &wd, &dst);
    if (!fp->ends)
        return; /* NODATA/SKIPDATA lines: nothing to say about ends */

    /* Which end is ours. */
    int local_is_dst = -1;
    struct sv eni = flow_sv(fl.eni, a);
    struct sv fdir = flow_sv(fl.fdir, a);
    if (SV_IS(fdir, "ingress"))
        local_is_dst = 1;
    else if (SV_IS(fdir, "egress"))
        local_is_dst = 0;
    if (local_is_dst < 0 && eni.len && l) {
        if (detect__lists_eni_has_ip(l, eni, &dst) == 1)
            local_is_dst = 1;
        else if (detect__lists_eni_has_ip(l, eni, &src) == 1)
            local_is_dst = 0;
    }
    bool si = ip_internal(&src), di = ip_internal(&dst);
    if (local_is_dst < 0 && si != di)
        local_is_dst = di ? 1 : 0;
    /* Unknown: take the line's own view, the sender as local. */
    bool ldst = local_is_dst == 1;
    int64_t lport = ldst ? dport : sport, rport = ldst ? sport : dport;
    const struct ipaddr *remote = ldst ? &src : &dst;

    /* Who opened it: security groups are stateful, so a rejected flow is
     * always its sender's attempt; otherwise the end with the higher port
     * (clients use ephemeral ports, servers listen on lower ones). */
    int init = 3; /* unknown */
    if (rejected && local_is_dst >= 0)
        init = ldst ? 2 : 1;
    else if ((proto == 6 || proto == 17) && sport >= 0 && dport >= 0 && sport != dport)
        init = (lport > rport) ? 1 : 2;

    fact(d, DVF_DIRECTION, local_is_dst < 0 ? 3 : local_is_dst ? 1 : 2);
    fact(d, DVF_INITIATOR, init);
    if (lport >= 0)
        fact(d, DVF_LOCAL_PORT, lport);
    if (rport >= 0)
        fact(d, DVF_REMOTE_PORT, rport);
    bool pub = !(ldst ? si : di);
    fact(d, DVF_REMOTE_PUBLIC, pub);
    fact(d, DVF_IPV6, !src.v4);
    fp->dir = (int8_t)local_is_dst;
    fp->init = (int8_t)init;
    fp->lport = lport;
    fp->rport = rport;
    fp->pub = pub;
    fp->v6 = !src.v4;
    fp->rejected = rejected;
    fp->remote = *remote;
}

/* The flow facts the gate reaches on few lines (FLOW_LATE): most lines are
 * ruled out by the ends, ports and directions first (on the bench corpus
 * 58% of the lines keep no class, nearly all of them before these). */
static void derive_flow_late(const struct dctx *c, const struct event *ev, struct derived *d)
{
    struct flow_pend *fp = &d->fp;
    const struct detect_lists *l = c->lists;
    uintptr_t lo = 0;
    size_t lim = 0;
    if (ev->raw.p && ev->raw.len >= 8) {
        lo = (uintptr_t)ev->raw.p;
        lim = ev->raw.len - 8;
    }
    int64_t packets = -1, bytes = -1;
    raw_fact(d, DVR_PACKETS, d->raw[DVR_PACKETS], lo, lim, &packets);
    raw_fact(d, DVR_BYTES, d->raw[DVR_BYTES], lo, lim, &bytes);
    fp->psize = packets > 0 && bytes >= 0 ? bytes / packets : -1;
    d->late = 0;
    if (!fp->ends)
        return;
    const struct iplist *aws = l ? detect__lists_aws(l) : NULL;
    fp->has_aws = aws && iplist_count(aws);
    if (fp->has_aws) {
        fp->in_aws = iplist_lookup(aws, &fp->remote) != NULL;
        fact(d, DVF_REMOTE_AWS, fp->in_aws);
    }
    /* Bitwise, not short-circuit: which lines are probes is the traffic's
     * mix, a branch per test would be mispredicted on it. */
    bool probe = fp->rejected | ((packets > 0) & (packets <= 3) & (bytes >= 0) &
                                 ((uint64_t)bytes <= (uint64_t)packets * 80u));
    fact(d, DVF_PROBE, probe);
    bool doh = doh_server(&fp->remote);
    fact(d, DVF_DOH, doh);
    if (fp->psize >= 0)
        fact(d, DVF_PACKET_SIZE, fp->psize);
    fp->probe = probe;
    fp->doh = doh;
}

uint32_t detect__flow_late_facts(void) { return FLOW_LATE; }

bool detect__flow_raw_num(const struct derived *d, int raw, uint64_t *out)
{
    if (raw < 0 || raw >= DVR_N || raw == DVR_ACTION || !(d->ffmask >> FACT_RAW(raw) & 1))
        return false;
    *out = d->ff[FACT_RAW(raw)];
    return true;
}

void detect__derive_late(const struct dctx *c, const struct event *ev, struct derived *d)
{
    if (d->late && ev->source == EVENT_VPCFLOW)
        derive_flow_late(c, ev, d);
}

/* A flow's $instance (cleared before): the line's instance-id, else the
 * instance the ENI map gives its interface, else the interface. */
static void flow_instance(const struct dctx *c, struct arena *a, struct derived *d)
{
    const struct detect_lists *l = c->lists;
    struct sv eni = flow_sv(d->raw[DVR_ENI], a);
    struct sv inst = flow_sv(d->raw[DVR_INSTANCE], a);
    if (inst.len == 0 || SV_IS(inst, "-")) {
        const char *m = eni.len && l ? detect__lists_eni_instance(l, eni) : NULL;
        inst = m ? sv_cstr(m) : eni;
    }
    if (inst.len)
        set_str(d, DVF_INSTANCE, inst);
}

/* The ends' addresses and ports of a flow with both ends (need: bits
 * 1 << DVF_*; the ports cleared before). */
static void flow_ends(struct arena *a, struct derived *d, uint32_t need)
{
    const struct flow_pend *fp = &d->fp;
    bool ldst = fp->dir == 1;
    struct sv ssrc = flow_sv(d->raw[DVR_SRCADDR], a), sdst = flow_sv(d->raw[DVR_DSTADDR], a);
    if (need >> DVF_LOCAL_IP & 1)
        set_str(d, DVF_LOCAL_IP, ldst ? sdst : ssrc);
    if (need >> DVF_REMOTE_IP & 1)
        set_str(d, DVF_REMOTE_IP, ldst ? ssrc : sdst);
    const struct json_leaf *sp = d->raw[DVR_SRCPORT], *dp = d->raw[DVR_DSTPORT];
    if ((need >> DVF_LOCAL_PORT & 1) && fp->lport >= 0)
        set_port(d, DVF_LOCAL_PORT, fp->lport, ldst ? dp : sp, ldst ? fp->dplain : fp->splain, a);
    if ((need >> DVF_REMOTE_PORT & 1) && fp->rport >= 0)
        set_port(d, DVF_REMOTE_PORT, fp->rport, ldst ? sp : dp, ldst ? fp->splain : fp->dplain, a);
}

#define FLOW_ENDS_VALS                                                                          \
    (1u << DVF_LOCAL_IP | 1u << DVF_REMOTE_IP | 1u << DVF_LOCAL_PORT | 1u << DVF_REMOTE_PORT)

uint32_t detect__flow_some_vals(void) { return 1u << DVF_INSTANCE | FLOW_ENDS_VALS; }

/* The values and texts of a flow whose facts are derived. */
static void derive_flow_rest(const struct dctx *c, const struct event *ev, struct arena *a,
                             struct derived *d)
{
    (void)ev;
    const struct flow_pend *fp = &d->fp;
    if (fp->ends) {
        /* A flow with both ends sets the others below on every path. */
        static const uint8_t maybe[] = { DVF_INSTANCE, DVF_LOCAL_PORT, DVF_REMOTE_PORT,
                                         DVF_REMOTE_AWS, DVF_PROTOCOL, DVF_PACKET_SIZE };
        for (size_t i = 0; i < sizeof(maybe); i++)
            clear_vals(&d->v[maybe[i]], 1);
    } else {
        clear_vals(d->v, DVF_N);
    }
    flow_instance(c, a, d);
    if (!fp->ends)
        return;
    flow_ends(a, d, FLOW_ENDS_VALS);
    d->v[DVF_DIRECTION] = (struct dval){ .type = DV_STR,
                                         .s = fp->dir < 0 ? SV("unknown")
                                            : fp->dir    ? SV("inbound")
                                                         : SV("outbound") };
    d->v[DVF_INITIATOR] = (struct dval){ .type = DV_STR,
                                         .s = fp->init == 1 ? SV("local")
                                            : fp->init == 2 ? SV("remote")
                                                            : SV("unknown") };
    set_bool(d, DVF_REMOTE_PUBLIC, fp->pub);
    if (fp->has_aws)
        set_bool(d, DVF_REMOTE_AWS, fp->in_aws);
    if (fp->proto >= 0) {
        switch (fp->proto) {
        case 1: set_str(d, DVF_PROTOCOL, SV("icmp")); break;
        case 6: set_str(d, DVF_PROTOCOL, SV("tcp")); break;
        case 17: set_str(d, DVF_PROTOCOL, SV("udp")); break;
        case 58: set_str(d, DVF_PROTOCOL, SV("icmpv6")); break;
        default: {
            char tmp[24];
            const char *pn = proto_name(fp->proto, tmp, sizeof(tmp));
            set_str(d, DVF_PROTOCOL, sv_make(arena_strndup(a, pn, strlen(pn)), strlen(pn)));
        }
        }
    }
    set_bool(d, DVF_PROBE, fp->probe);
    set_bool(d, DVF_IPV6, fp->v6);
    set_bool(d, DVF_DOH, fp->doh);
    if (fp->psize >= 0)
        set_num_own(d, DVF_PACKET_SIZE, fp->psize);
}

/* ---- DNS -------------------------------------------------------------------------- */

/* c * log2(c) for the counts a DNS name can have. */
static double xlog2x(unsigned c)
{
    static _Thread_local double t[256];
    static _Thread_local bool init;
    if (!init) {
        for (unsigned k = 1; k < 256; k++)
            t[k] = (double)k * log2((double)k);
        init = true;
    }
    return c < 256 ? t[c] : (double)c * log2((double)c);
}

/* Shannon entropy in bits per character: log2(n) - sum(c log2 c) / n. */
double detect__entropy(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    unsigned counts[256] = { 0 };
    unsigned char seen[256];
    size_t ns = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (counts[c]++ == 0)
            seen[ns++] = c;
    }
    double acc = 0;
    for (size_t k = 0; k < ns; k++)
        acc += xlog2x(counts[seen[k]]);
    double h = log2((double)len) - acc / (double)len;
    return h < 0 ? 0 : h;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Second-level labels under which registrars sell names in country domains. */
static bool sld_suffix(const char *s, size_t len)
{
    static const char *const l[] = { "co", "com", "net", "org", "gov", "ac", "edu", "or", "ne",
                                     "go", "gob", "mil", "ltd", "plc", NULL };
    for (size_t i = 0; l[i]; i++)
        if (strlen(l[i]) == len && memcmp(l[i], s, len) == 0)
            return true;
    return false;
}

size_t detect__registered_domain(struct sv name, char *out, size_t cap)
{
    size_t len = name.len;
    while (len > 0 && name.p[len - 1] == '.')
        len--;
    if (len == 0 || len >= cap)
        return 0;
    /* The last three dots, right to left. */
    size_t dots[3];
    int nd = 0;
    for (size_t i = len; i-- > 0 && nd < 3;)
        if (name.p[i] == '.')
            dots[nd++] = i;
    if (nd == 0)
        return 0; /* one label: no registered domain */
    size_t tld_len = len - dots[0] - 1;
    size_t sld_start = nd >= 2 ? dots[1] + 1 : 0;
    size_t start = sld_start;
    if (tld_len == 2 && sld_suffix(name.p + sld_start, dots[0] - sld_start)) {
        if (nd < 2)
            return 0; /* "co.uk" itself */
        start = nd >= 3 ? dots[2] + 1 : 0;
    }
    size_t n = len - start;
    for (size_t i = 0; i < n; i++)
        out[i] = lower(name.p[start + i]);
    out[n] = '\0';
    return n;
}

/* Lowercases dom[0 .. len) in place (ASCII) and sets bit i of dm for each
 * dot at i. dom has 16 bytes after len that may be written. */
static void lower_dots(char *dom, size_t len, uint64_t dm[4])
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1);
    const __m128i dot = _mm_set1_epi8('.'), bit = _mm_set1_epi8(0x20);
    for (; i < len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(dom + i));
        /* Signed compares: bytes >= 0x80 are below 'A', left alone. */
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, a1), _mm_cmplt_epi8(x, z1));
        _mm_storeu_si128((__m128i *)(void *)(dom + i), _mm_or_si128(x, _mm_and_si128(up, bit)));
        uint64_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, dot));
        if (len - i < 16)
            m &= (1ULL << (len - i)) - 1;
        dm[i / 64] |= m << (i % 64);
    }
#else
    for (; i < len; i++) {
        dom[i] = lower(dom[i]);
        if (dom[i] == '.')
            dm[i / 64] |= 1ULL << (i % 64);
    }
#endif
}

/* The highest dot of dm below pos, or -1. */
static long prev_dot(const uint64_t dm[4], size_t pos)
{
    for (size_t w = (pos + 63) / 64; w-- > 0;) {
        uint64_t m = dm[w];
        if (pos < 64 * (w + 1))
            m &= pos - 64 * w >= 64 ? ~0ULL : (1ULL << (pos - 64 * w)) - 1;
        if (m)
            return (long)(64 * w + 63 - (size_t)__builtin_clzll(m));
    }
    return -1;
}

/* Where the registered domain of name starts (detect__registered_domain's
 * rule; name: len > 0 bytes, no trailing dot, dots in dm); false if it has
 * none. */
static bool registered_start(const char *name, size_t len, const uint64_t dm[4], size_t *out)
{
    size_t dots[3];
    int nd = 0;
    for (long at = prev_dot(dm, len); at >= 0 && nd < 3; at = prev_dot(dm, (size_t)at))
        dots[nd++] = (size_t)at;
    if (nd == 0)
        return false; /* one label: no registered domain */
    size_t tld_len = len - dots[0] - 1;
    size_t sld_start = nd >= 2 ? dots[1] + 1 : 0;
    size_t start = sld_start;
    if (tld_len == 2 && sld_suffix(name + sld_start, dots[0] - sld_start)) {
        if (nd < 2)
            return false; /* "co.uk" itself */
        start = nd >= 3 ? dots[2] + 1 : 0;
    }
    *out = start;
    return true;
}

static bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
static bool is_dig(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha_l(char c) { return c >= 'a' && c <= 'z'; }

bool detect__dga_label(const char *label, size_t len)
{
    if (len < 8 || len > 63)
        return false;
    size_t vowels = 0, digits = 0, run = 0, max_run = 0, switches = 0, other = 0;
    char buf[64];
    for (size_t i = 0; i < len; i++) {
        char c = lower(label[i]);
        buf[i] = c;
        if (is_vowel(c)) {
            vowels++;
            run = 0;
        } else if (is_alpha_l(c)) {
            if (++run > max_run)
                max_run = run;
        } else {
            run = 0;
            if (is_dig(c))
                digits++;
            else
                other++;
        }
        if (i > 0 && is_dig(buf[i]) != is_dig(buf[i - 1]))
            switches++;
    }
    if (other > 1)
        return false; /* hyphenated names are people's choices */
    double ent = detect__entropy(buf, len);
    double vratio = (double)vowels / (double)len;
    int score = 0;
    score += len >= 12;
    score += ent >= 3.4;
    score += vratio < 0.22;
    score += max_run >= 5;
    score += switches >= 3;
    score += digits >= 2 && digits * 3 < len * 2;
    return score >= 3 && ent >= 2.8;
}

bool detect__exfil_label(const char *label, size_t len)
{
    if (len < 24)
        return false;
    size_t digits = 0, hyph = 0, letters = 0;
    for (size_t i = 0; i < len; i++) {
        char c = lower(label[i]);
        if (is_dig(c))
            digits++;
        else if (is_alpha_l(c))
            letters++;
        else if (c == '-' || c == '_')
            hyph++;
    }
    /* Encoders (hex, base32, base64) mix digits and letters and leave out
     * the hyphens that people put between words. */
    if (hyph > 1 || digits == 0 || letters == 0)
        return false;
    return detect__entropy(label, len) >= 3.2;
}

static bool aws_domain(struct sv reg)
{
#define D(s) { s, sizeof(s) - 1 }
    /* With their lengths: this runs for every query. */
    static const struct {
        const char *s;
        size_t len;
    } l[] = { D("amazonaws.com"),  D("amazonaws.com.cn"), D("aws"),
              D("cloudfront.net"), D("amazon.com"),       D("awsstatic.com"),
              D("aws.dev"),        D("amazontrust.com"),  D("amazon-dss.com"),
              D("api.aws") };
#undef D
    for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
        if (reg.len == l[i].len && memcmp(reg.p, l[i].s, l[i].len) == 0)
            return true;
    return reg.len >= 4 && memcmp(reg.p + reg.len - 4, ".aws", 4) == 0;
}

static void derive_dns(const struct dctx *c, const struct event *ev, struct arena *a,
                       struct derived *d)
{
    struct sv inst = leaf_sv(LEAF(ev, "srcids.instance"), a);
    if (inst.len)
        set_str(d, DVD_INSTANCE, inst);
    struct sv q = leaf_sv(LEAF(ev, "query_name"), a);
    size_t len = q.len;
    while (len > 0 && q.p[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return;
    /* The name lowercased, with its dots as a bitmap (len <= 253: 4
     * words), 16 bytes at a time where the build has SSE2 (dom is padded
     * for that); then the labels are read from the bitmap, not by a byte
     * loop whose exit at each dot mispredicts. */
    char *dom = arena_alloc(a, len + 16);
    memcpy(dom, q.p, len);
    uint64_t dm[4] = { 0, 0, 0, 0 };
    lower_dots(dom, len, dm);
    dom[len] = '\0';
    set_str(d, DVD_DOMAIN, sv_make(dom, len));
    /* The registered domain is a suffix of dom (lowercase, no trailing
     * dot): detect__registered_domain's, without its copy. */
    size_t rs;
    if (!registered_start(dom, len, dm, &rs))
        return;
    size_t rl = len - rs;
    struct sv rsv = sv_make(dom + rs, rl);
    set_str(d, DVD_REGISTERED, rsv);
    size_t sub_len = len > rl ? len - rl - 1 : 0;
    set_str(d, DVD_SUBDOMAIN, sv_make(dom, sub_len));
    /* Longest label of the subdomain (the first of the longest) and its
     * entropy. */
    size_t best = 0, best_at = 0, at = 0;
    for (size_t w = 0; w < 4 && 64 * w < sub_len; w++) {
        uint64_t m = dm[w];
        if (sub_len < 64 * (w + 1))
            m &= (1ULL << (sub_len - 64 * w)) - 1;
        for (; m; m &= m - 1) {
            size_t i = 64 * w + (size_t)__builtin_ctzll(m);
            if (i - at > best) {
                best = i - at;
                best_at = at;
            }
            at = i + 1;
        }
    }
    if (sub_len >= at && sub_len - at > best) {
        best = sub_len - at;
        best_at = at;
    }
    set_num_own(d, DVD_LONGEST_LABEL, (int64_t)best);
    if (!c->skip_entropy)
        set_hundredths(d, DVD_ENTROPY,
                       (int64_t)floor(detect__entropy(dom + best_at, best) * 100.0 + 0.5), a);
    set_bool(d, DVD_EXFIL, detect__exfil_label(dom + best_at, best));
    /* The registered name's own label (left of the suffix). */
    const char *dot = memchr(rsv.p, '.', rsv.len);
    size_t sld = dot ? (size_t)(dot - rsv.p) : rsv.len;
    bool aws = aws_domain(rsv);
    set_bool(d, DVD_DGA, !aws && detect__dga_label(rsv.p, sld));
    set_bool(d, DVD_AWS_DOMAIN, aws);
}

/* ---- CloudTrail ----------------------------------------------------------------- */

size_t detect__ua_family(struct sv ua, char *out, size_t cap)
{
    size_t i = 0;
    while (i < ua.len && (ua.p[i] == '[' || ua.p[i] == ' '))
        i++;
    size_t n = 0;
    for (; i < ua.len && n + 1 < cap; i++) {
        char c = ua.p[i];
        if (c == '/' || c == ' ' || c == ']' || c == ',' || c == ';' || c == '(')
            break;
        out[n++] = lower(c);
    }
    /* Tools stamp a run id onto their name ("stratus-red-team_6f1c..."): the
     * family is the name without it. */
    size_t cut = n, digits = 0;
    while (cut > 0 && (is_dig(out[cut - 1]) || (out[cut - 1] >= 'a' && out[cut - 1] <= 'f') ||
                       out[cut - 1] == '-')) {
        digits += is_dig(out[cut - 1]);
        cut--;
    }
    if (cut > 0 && n - cut >= 8 && digits >= 2 && (out[cut - 1] == '_' || out[cut - 1] == '-')) {
        n = cut - 1;
        out[n] = '\0';
    }
    out[n] = '\0';
    return n;
}

/* i-0123abcd (8 or 17 hex digits; either case, as anonymised logs write them). */
static bool instance_id(const char *s, size_t len)
{
    if (len != 10 && len != 19)
        return false;
    if (s[0] != 'i' || s[1] != '-')
        return false;
    for (size_t i = 2; i < len; i++) {
        char c = lower(s[i]);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* ---- GeoIP, cached ----------------------------------------------------------------- */

#define GEOCACHE_SLOTS 1024

struct geoslot {
    bool used, known;
    struct ipaddr ip;
    char country[4];
    uint32_t asn;
};

struct geocache {
    struct geoslot s[GEOCACHE_SLOTS];
};

struct geocache *detect__geocache_new(void) { return xcalloc(1, sizeof(struct geocache)); }
void detect__geocache_free(struct geocache *gc) { free(gc); }

static const struct geoslot *geo_of(const struct dctx *c, const struct ipaddr *ip,
                                    struct geoslot *tmp)
{
    struct geoslot *g = tmp;
    if (c->gc) {
        uint64_t h = hash64(ip->b, 16, 0x67656f);
        g = &c->gc->s[h & (GEOCACHE_SLOTS - 1)];
        if (g->used && memcmp(g->ip.b, ip->b, 16) == 0)
            return g;
    }
    memset(g, 0, sizeof(*g));
    g->used = true;
    g->ip = *ip;
    struct geo_info info;
    if (geo_lookup(c->geo, ip, &info)) {
        g->known = true;
        memcpy(g->country, info.country_code, sizeof(g->country));
        g->country[3] = '\0';
        g->asn = info.asn;
    }
    return g;
}

static void derive_ct(const struct dctx *c, const struct event *ev, struct arena *a,
                      struct derived *d)
{
    const struct detect_lists *l = c->lists;
    struct sv id = ev->principal_arn;
    if (id.len == 0)
        id = ev->principal_id;
    if (id.len == 0)
        id = leaf_sv(LEAF(ev, "userIdentity.invokedBy"), a);
    if (id.len)
        set_str(d, DVC_IDENTITY, id);
    if (ev->user_agent.len) {
        char fam[64];
        size_t n = detect__ua_family(ev->user_agent, fam, sizeof(fam));
        if (n)
            set_str(d, DVC_UA_FAMILY, sv_make(arena_strndup(a, fam, n), n));
    }
    struct ipaddr ip;
    if (ev->src_ip.len && ip_parse(ev->src_ip, &ip)) {
        struct ipaddr net = ip;
        unsigned bits = ip.v4 ? 16 : 48;
        unsigned full = ip.v4 ? 96 + bits : bits; /* whole bytes: /16 and /48 */
        memset(net.b + full / 8, 0, 16 - full / 8);
        if (ip.v4) {
            /* "a.b.0.0/16" written directly: this runs for every record. */
            char *s = arena_alloc(a, 16);
            size_t k = 0;
            for (int q = 0; q < 2; q++) {
                unsigned v = ip.b[12 + q];
                if (v >= 100)
                    s[k++] = (char)('0' + v / 100);
                if (v >= 10)
                    s[k++] = (char)('0' + v / 10 % 10);
                s[k++] = (char)('0' + v % 10);
                s[k++] = '.';
            }
            memcpy(s + k, "0.0/16", 7);
            k += 6;
            set_str(d, DVC_NETWORK, sv_make(s, k));
        } else {
            char t[46];
            size_t n = ip_format(&net, t);
            char *s = arena_alloc(a, n + 5);
            int k = snprintf(s, n + 5, "%.*s/%u", (int)n, t, bits);
            set_str(d, DVC_NETWORK, sv_make(s, (size_t)k));
        }
        if (c->geo && !detect__ip_internal(&ip)) {
            struct geoslot tmp;
            const struct geoslot *g = geo_of(c, &ip, &tmp);
            if (g->known && g->country[0])
                set_str(d, DVC_COUNTRY, sv_make(arena_strndup(a, g->country, strlen(g->country)),
                                                strlen(g->country)));
            if (g->known && g->asn) {
                char *as = arena_alloc(a, 16);
                int k2 = snprintf(as, 16, "AS%u", g->asn);
                set_str(d, DVC_ASN, sv_make(as, (size_t)k2));
                /* The caller's network: its ASN says more than a /16. */
                set_str(d, DVC_NETWORK, sv_make(as, (size_t)k2));
            }
        }
        const char *cls;
        if (detect__ip_internal(&ip)) {
            cls = "internal";
        } else {
            const struct iplist *aws = detect__lists_aws(l);
            cls = (aws && iplist_count(aws) && iplist_lookup(aws, &ip)) ? "aws" : "public";
        }
        set_cstr(d, DVC_IP_CLASS, cls);
    } else if (ev->src_ip.len) {
        /* "ec2.amazonaws.com", "AWS Internal": a service acting for the principal. */
        set_str(d, DVC_NETWORK, ev->src_ip);
        set_cstr(d, DVC_IP_CLASS, "service");
    }
    /* An EC2 instance profile session: principalId "AROA...:i-0abc...", the
     * session name of the assumed-role ARN is the instance id. */
    if (sv_eq_cstr(ev->principal_type, "AssumedRole")) {
        struct sv pid = ev->principal_id;
        const char *colon = pid.len ? memchr(pid.p, ':', pid.len) : NULL;
        if (colon) {
            const char *s = colon + 1;
            size_t n = (size_t)(pid.p + pid.len - s);
            if (instance_id(s, n))
                set_str(d, DVC_INSTANCE_SESSION, sv_make(s, n));
        }
    }
    if (ev->event_source.len && ev->event_name.len) {
        const char *dot = memchr(ev->event_source.p, '.', ev->event_source.len);
        size_t sl = dot ? (size_t)(dot - ev->event_source.p) : ev->event_source.len;
        size_t n = sl + 1 + ev->event_name.len;
        char *s = arena_alloc(a, n + 1);
        memcpy(s, ev->event_source.p, sl);
        s[sl] = ':';
        memcpy(s + sl + 1, ev->event_name.p, ev->event_name.len);
        s[n] = '\0';
        set_str(d, DVC_API, sv_make(s, n));
    }
}

/* ---- the leaves for `where` ------------------------------------------------------- */

/* What every derivation starts with. */
static void derive_begin(const struct event *ev, struct derived *d)
{
    size_t n;
    (void)names_of(ev->source, &n);
    d->ffmask = 0;
    d->late = 0;
    d->vsome = 0;
    d->flat_done = false;
    d->flat.n = 0;
    d->n = n;
    d->done = false;
}

/* d->hash_src must be 0 or left from an earlier call on the same struct. */
void detect__derive(const struct dctx *c, const struct event *ev, struct arena *a,
                    struct derived *d)
{
    derive_begin(ev, d);
    /* Each source's count as a constant: stores rather than a rep stos,
     * whose start-up cost more than the clearing on every flow. */
    switch (ev->source) {
    case EVENT_VPCFLOW:
        derive_flow_facts(c, ev, a, d);
        derive_flow_late(c, ev, d);
        derive_flow_rest(c, ev, a, d);
        break;
    case EVENT_DNS:
        clear_vals(d->v, DVD_N);
        derive_dns(c, ev, a, d);
        break;
    case EVENT_CLOUDTRAIL:
        clear_vals(d->v, DVC_N);
        derive_ct(c, ev, a, d);
        break;
    default: memset(d->v, 0, d->n * sizeof(d->v[0])); break;
    }
    d->facts_done = true;
    d->done = true;
}

void detect__derive_facts(const struct dctx *c, const struct event *ev, struct arena *a,
                          struct derived *d)
{
    if (ev->source != EVENT_VPCFLOW) {
        detect__derive(c, ev, a, d);
        return;
    }
    derive_begin(ev, d);
    derive_flow_facts(c, ev, a, d);
    d->facts_done = true;
}

void detect__derive_rest(const struct dctx *c, const struct event *ev, struct arena *a,
                         struct derived *d)
{
    if (d->done)
        return;
    if (!d->facts_done || ev->source != EVENT_VPCFLOW) {
        detect__derive(c, ev, a, d);
        return;
    }
    if (d->late)
        derive_flow_late(c, ev, d);
    derive_flow_rest(c, ev, a, d);
    d->done = true;
}

void detect__derive_some(const struct dctx *c, const struct event *ev, struct arena *a,
                         struct derived *d, uint32_t need)
{
    if (d->done || (need & ~d->vsome) == 0)
        return;
    if (!d->facts_done || ev->source != EVENT_VPCFLOW || (need & ~detect__flow_some_vals())) {
        detect__derive_rest(c, ev, a, d);
        return;
    }
    need &= ~d->vsome;
    for (uint32_t m = need; m; m &= m - 1)
        clear_vals(&d->v[__builtin_ctz(m)], 1);
    if (need >> DVF_INSTANCE & 1)
        flow_instance(c, a, d);
    if ((need & FLOW_ENDS_VALS) && d->fp.ends)
        flow_ends(a, d, need);
    d->vsome |= need;
}

const struct json_flat *detect__derived_flat(struct derived *d, enum event_source src)
{
    if (d->flat_done)
        return &d->flat;
    size_t n;
    const struct dname *t = names_of(src, &n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct dval *v = &d->v[i];
        if (v->type == DV_NONE)
            continue;
        struct json_leaf *lf = &d->leaves[k++];
        memset(lf, 0, sizeof(*lf));
        lf->path = t[i].name;
        lf->path_len = (uint32_t)strlen(t[i].name);
        /* Names hash the same every time: once per source per struct. */
        if (d->hash_src != (int)src + 1) {
            for (size_t j = 0; j < n; j++)
                d->hash[j] = json_path_hash(t[j].name, strlen(t[j].name));
            d->hash_src = (int)src + 1;
        }
        lf->path_hash = d->hash[i];
        lf->val = v->s.p ? v->s.p : "";
        lf->val_len = (uint32_t)v->s.len;
        lf->type = v->type == DV_STR ? JSON_STRING
                 : v->type == DV_NUM ? JSON_NUMBER
                 : v->b              ? JSON_TRUE
                                     : JSON_FALSE;
    }
    d->flat.leaves = d->leaves;
    d->flat.n = k;
    d->flat.cap = DERIVED_MAX;
    d->flat_done = true;
    return &d->flat;
}
