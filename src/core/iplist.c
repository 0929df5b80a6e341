/*
 * Longest-prefix-match sets of CIDRs; see core.h.
 *
 * Threat lists are mostly single IPv4 addresses plus some shorter prefixes, and
 * most lookups miss, so the structure is shaped for the IPv4 miss:
 *
 *   - every prefix lives in one open-addressing hash table keyed by
 *     (masked 128-bit address, absolute length); IPv4 is the mapped range, so
 *     1.2.3.0/24 is the key (::ffff:1.2.3.0, 120);
 *   - IPv4 has a 65536-entry direct table indexed by the top 16 bits. Each entry
 *     holds the best prefix of length <= 16 covering it (pushed down when the
 *     prefix is added) and a bitmask of the lengths 17..32 present under it.
 *     A lookup reads one entry, then probes the hash only for the lengths of
 *     that mask, longest first. A bitmap over all /24s (2 MiB) says which
 *     /24s meet some prefix longer than /16, so a miss under a /16 that has
 *     only a few listed hosts stops there instead of probing the hash: two
 *     cache lines from tables that stay in L2/L3, and no random DRAM read;
 *   - IPv6 keeps a bitmap of the lengths present and probes those, longest first.
 *
 * IPv6 prefixes shorter than 96 bits that cover the mapped range (e.g. ::/0)
 * also cover every IPv4 address; the longest one is kept aside as the IPv4
 * fallback. IPv6 prefixes inside ::ffff:0:0/96 are filed as IPv4.
 *
 * Adding a prefix that is already present keeps the first tag. Built by one
 * thread; lookups only read, so any number of threads may look up at once.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

struct ipslot {
    uint64_t hi, lo;
    const char *tag; /* NULL = empty slot */
    uint8_t len;     /* absolute, 0..128 */
};

/* Direct-table entry: 8 bytes so the table stays within 512 KiB of cache. */
struct v4ent {
    uint32_t tag1;     /* 1 + index in tags[] of the best prefix <= /16; 0 = none */
    uint8_t len;       /* its IPv4 length 0..16 */
    uint8_t pad;
    uint16_t longer;   /* bit (L - 17) set when some /L, L in 17..32, lies below */
};

struct iplist {
    struct ipslot *slots;
    size_t cap; /* power of two */
    size_t n;
    struct v4ent *v4; /* 65536 entries, allocated on the first IPv4 prefix */
    uint64_t *v4_24;  /* 2^24 bits: this /24 meets a prefix longer than /16 */
    uint64_t v6lens[3]; /* bit L set when an IPv6 prefix of absolute length L exists */
    const char *v4cover;  /* longest IPv6 prefix < 96 bits covering the mapped range */
    int v4cover_len;      /* -1 = none */
    /* Tags referenced by index from the direct table, deduplicated by pointer. */
    const char **tags;
    size_t ntags, tagcap;
    struct hmap tagidx;
};

static const uint64_t mapped_hi = 0;
static const uint64_t mapped_lo_base = 0x0000ffff00000000ULL;

static uint64_t load_be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static void mask128(uint64_t *hi, uint64_t *lo, unsigned len)
{
    if (len == 0) {
        *hi = *lo = 0;
    } else if (len < 64) {
        *hi &= ~0ULL << (64 - len);
        *lo = 0;
    } else if (len == 64) {
        *lo = 0;
    } else if (len < 128) {
        *lo &= ~0ULL << (128 - len);
    }
}

static inline uint64_t slot_hash(uint64_t hi, uint64_t lo, unsigned len)
{
    uint64_t h = hi * 0x9e3779b97f4a7c15ULL ^ (lo + len) * 0xc2b2ae3d27d4eb4fULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static inline const struct ipslot *probe(const struct iplist *l, uint64_t hi, uint64_t lo,
                                         unsigned len)
{
    size_t mask = l->cap - 1;
    for (size_t i = slot_hash(hi, lo, len) & mask;; i = (i + 1) & mask) {
        const struct ipslot *s = &l->slots[i];
        if (s->tag == NULL)
            return s;
        if (s->lo == lo && s->hi == hi && s->len == len)
            return s;
    }
}

struct iplist *iplist_new(void)
{
    struct iplist *l = xcalloc(1, sizeof(*l));
    l->cap = 64;
    l->slots = xcalloc(l->cap, sizeof(*l->slots));
    l->v4cover_len = -1;
    hmap_init(&l->tagidx);
    return l;
}

void iplist_free(struct iplist *l)
{
    if (l == NULL)
        return;
    free(l->slots);
    free(l->v4);
    free(l->v4_24);
    free(l->tags);
    hmap_free(&l->tagidx);
    free(l);
}

size_t iplist_count(const struct iplist *l) { return l->n; }

static void grow(struct iplist *l)
{
    struct ipslot *old = l->slots;
    size_t oldcap = l->cap;
    l->cap *= 2;
    l->slots = xcalloc(l->cap, sizeof(*l->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].tag != NULL)
            *(struct ipslot *)probe(l, old[i].hi, old[i].lo, old[i].len) = old[i];
    free(old);
}

static uint32_t tag_index(struct iplist *l, const char *tag)
{
    void *v = hmap_get(&l->tagidx, (const char *)&tag, sizeof(tag));
    if (v != NULL)
        return (uint32_t)(uintptr_t)v;
    if (l->ntags == l->tagcap) {
        l->tagcap = l->tagcap ? l->tagcap * 2 : 8;
        l->tags = xrealloc(l->tags, l->tagcap * sizeof(*l->tags));
    }
    l->tags[l->ntags++] = tag;
    hmap_put(&l->tagidx, (const char *)&tag, sizeof(tag), (void *)(uintptr_t)l->ntags);
    return (uint32_t)l->ntags;
}

static void add_v4(struct iplist *l, uint32_t addr, unsigned bits, const char *tag)
{
    if (l->v4 == NULL)
        l->v4 = xcalloc(65536, sizeof(*l->v4));
    if (bits <= 16) {
        uint32_t t = tag_index(l, tag);
        uint32_t first = bits ? addr >> 16 : 0;
        uint32_t span = 1u << (16 - bits);
        for (uint32_t i = first; i < first + span; i++) {
            struct v4ent *e = &l->v4[i];
            if (e->tag1 == 0 || e->len < bits) {
                e->tag1 = t;
                e->len = (uint8_t)bits;
            }
        }
    } else {
        l->v4[addr >> 16].longer |= (uint16_t)(1u << (bits - 17));
        if (l->v4_24 == NULL)
            l->v4_24 = xcalloc((1u << 24) / 64, sizeof(uint64_t));
        uint32_t first = addr >> 8;
        uint32_t span = bits >= 24 ? 1u : 1u << (24 - bits);
        for (uint32_t i = first; i < first + span; i++)
            l->v4_24[i / 64] |= 1ULL << (i % 64);
    }
}

void iplist_add(struct iplist *l, const struct ipaddr *net, unsigned bits, const char *tag)
{
    uint64_t hi = load_be64(net->b), lo = load_be64(net->b + 8);
    unsigned len = net->v4 ? 96 + (bits > 32 ? 32 : bits) : (bits > 128 ? 128 : bits);
    mask128(&hi, &lo, len);
    bool is_v4 = len >= 96 && hi == mapped_hi && (lo >> 32) == (mapped_lo_base >> 32);

    if ((l->n + 1) * 2 > l->cap)
        grow(l);
    struct ipslot *s = (struct ipslot *)probe(l, hi, lo, len);
    if (s->tag != NULL)
        return; /* first tag wins */
    s->hi = hi;
    s->lo = lo;
    s->len = (uint8_t)len;
    s->tag = tag;
    l->n++;

    if (is_v4) {
        add_v4(l, (uint32_t)lo, len - 96, tag);
        return;
    }
    l->v6lens[len / 64] |= 1ULL << (len % 64);
    if (len < 96) {
        uint64_t chi = mapped_hi, clo = mapped_lo_base;
        mask128(&chi, &clo, len);
        if (chi == hi && clo == lo && (int)len > l->v4cover_len) {
            l->v4cover = tag;
            l->v4cover_len = (int)len;
        }
    }
}

const char *iplist_lookup(const struct iplist *l, const struct ipaddr *ip)
{
    uint64_t hi = load_be64(ip->b), lo = load_be64(ip->b + 8);
    if (hi == mapped_hi && (lo >> 32) == (mapped_lo_base >> 32)) {
        if (l->v4 == NULL)
            return l->v4cover;
        uint32_t a = (uint32_t)lo;
        const struct v4ent *e = &l->v4[a >> 16];
        unsigned m = e->longer;
        if (m != 0 && !(l->v4_24[(a >> 8) / 64] >> ((a >> 8) % 64) & 1))
            m = 0;
        while (m != 0) {
            unsigned top = 31u - (unsigned)__builtin_clz(m);
            m &= ~(1u << top);
            unsigned bits = top + 17;
            uint64_t klo = mapped_lo_base | (a & (0xffffffffu << (32 - bits)));
            const struct ipslot *s = probe(l, mapped_hi, klo, 96 + bits);
            if (s->tag != NULL)
                return s->tag;
        }
        if (e->tag1 != 0)
            return l->tags[e->tag1 - 1];
        return l->v4cover;
    }
    for (int w = 2; w >= 0; w--) {
        for (uint64_t m = l->v6lens[w]; m != 0;) {
            unsigned top = 63u - (unsigned)__builtin_clzll(m);
            m &= ~(1ULL << top);
            unsigned len = (unsigned)w * 64 + top;
            uint64_t khi = hi, klo = lo;
            mask128(&khi, &klo, len);
            const struct ipslot *s = probe(l, khi, klo, len);
            if (s->tag != NULL)
                return s->tag;
        }
    }
    return NULL;
}
