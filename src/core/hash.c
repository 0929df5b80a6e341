/* 64-bit hashing and a string-keyed open-addressing map; see core.h. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over 8-byte words with a final avalanche: fast on short keys
 * (paths, names), stable across runs and machines, which finding ids need. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t load32(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

uint64_t hash64_more(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    size_t n = len;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    /* The last n (< 8) bytes as a little-endian word, byte i at bits 8i:
     * read with overlapping loads instead of a byte loop, whose exit was a
     * mispredicted branch on most keys (the value is the loop's). */
    uint64_t tail;
    if (n == 0) {
        tail = 0;
    } else if (len >= 8) {
        uint64_t w;
        memcpy(&w, s + n - 8, 8); /* the 8 bytes ending at the end */
        tail = w >> (8 * (8 - n));
    } else if (n >= 4) {
        tail = load32(s) | load32(s + n - 4) << (8 * (n - 4));
    } else {
        tail = (uint64_t)s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) |
               (uint64_t)s[n - 1] << (8 * (n - 1));
    }
    h = (h ^ tail ^ ((uint64_t)n << 56)) * 0x100000001b3ULL;
    return mix(h);
}

uint64_t hash64(const void *p, size_t len, uint64_t seed)
{
    return hash64_more(0xcbf29ce484222325ULL ^ seed, p, len);
}

struct hmap_slot {
    char *key; /* NULL = empty */
    size_t len;
    uint64_t h;
    void *val;
};

void hmap_init(struct hmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void hmap_free(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    hmap_init(m);
}

static struct hmap_slot *find(const struct hmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct hmap_slot *s = &m->slots[i];
        if (s->key == NULL || (s->h == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static void grow(struct hmap *m)
{
    struct hmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old.cap; i++) {
        struct hmap_slot *s = &old.slots[i];
        if (s->key != NULL)
            *find(m, s->key, s->len, s->h) = *s;
    }
    free(old.slots);
}

void *hmap_get(const struct hmap *m, const char *key, size_t len)
{
    if (m->n == 0)
        return NULL;
    struct hmap_slot *s = find(m, key, len, hash64(key, len, 0));
    return s->key ? s->val : NULL;
}

void *hmap_put(struct hmap *m, const char *key, size_t len, void *val)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = hash64(key, len, 0);
    struct hmap_slot *s = find(m, key, len, h);
    if (s->key != NULL) {
        void *prev = s->val;
        s->val = val;
        return prev;
    }
    s->key = xstrndup(key, len);
    s->len = len;
    s->h = h;
    s->val = val;
    m->n++;
    return NULL;
}

bool hmap_next(const struct hmap *m, size_t *i, struct sv *key, void **val)
{
    for (; *i < m->cap; (*i)++) {
        struct hmap_slot *s = &m->slots[*i];
        if (s->key != NULL) {
            *key = sv_make(s->key, s->len);
            *val = s->val;
            (*i)++;
            return true;
        }
    }
    return false;
}
