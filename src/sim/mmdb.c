/*
 * A minimal MaxMind DB writer: game days ship GeoIP/ASN databases for the
 * addresses they use, so enrichment and impossible-travel detection work on
 * them without downloading anything, and tests write the few networks they
 * need. The format is MaxMind DB 2.0 (https://maxmind.github.io/MaxMind-DB/):
 * a binary trie of nodes holding two records each, 16 zero bytes, the data
 * section, then the metadata map after "\xAB\xCD\xEFMaxMind.com".
 */
#include "sim/sim.h"

#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum rec_kind { REC_EMPTY = 0, REC_NODE, REC_DATA };

struct rec {
    uint8_t kind;
    uint32_t val; /* node index or data offset */
};

struct node {
    struct rec r[2];
};

struct sim_mmdb {
    char *type;
    struct node *nodes;
    size_t n, cap;
    struct buf data;
};

struct sim_mmdb *sim_mmdb_new(const char *database_type)
{
    struct sim_mmdb *w = xcalloc(1, sizeof(*w));
    w->type = xstrdup(database_type ? database_type : "Vigil-Test");
    w->cap = 16;
    w->nodes = xcalloc(w->cap, sizeof(*w->nodes));
    w->n = 1; /* the root, both records empty */
    buf_init(&w->data, 0);
    return w;
}

void sim_mmdb_free(struct sim_mmdb *w)
{
    if (w == NULL)
        return;
    free(w->type);
    free(w->nodes);
    buf_free(&w->data);
    free(w);
}

static uint32_t new_node(struct sim_mmdb *w, struct rec fill)
{
    if (w->n == w->cap) {
        w->cap *= 2;
        w->nodes = xrealloc(w->nodes, w->cap * sizeof(*w->nodes));
    }
    w->nodes[w->n].r[0] = w->nodes[w->n].r[1] = fill;
    return (uint32_t)w->n++;
}

/* ---- data section encoding ------------------------------------------------------ */

static void put_byte(struct buf *b, unsigned v) { (void)buf_putc(b, (char)(v & 0xff)); }

static void put_ctrl(struct buf *b, unsigned type, size_t size)
{
    unsigned first = type <= 7 ? type << 5 : 0;
    size_t extra = 0, nextra = 0;
    if (size < 29) {
        first |= (unsigned)size;
    } else if (size < 285) {
        first |= 29;
        extra = size - 29;
        nextra = 1;
    } else if (size < 65821) {
        first |= 30;
        extra = size - 285;
        nextra = 2;
    } else {
        first |= 31;
        extra = size - 65821;
        nextra = 3;
    }
    put_byte(b, first);
    if (type > 7)
        put_byte(b, type - 7);
    for (size_t i = nextra; i > 0; i--)
        put_byte(b, (unsigned)(extra >> (8 * (i - 1))));
}

static void put_uint(struct buf *b, unsigned type, uint64_t v)
{
    size_t n = 0;
    for (uint64_t t = v; t != 0; t >>= 8)
        n++;
    put_ctrl(b, type, n);
    for (size_t i = n; i > 0; i--)
        put_byte(b, (unsigned)(v >> (8 * (i - 1))));
}

static void put_string(struct buf *b, const char *s, size_t len)
{
    put_ctrl(b, 2, len);
    (void)buf_append(b, s, len);
}

static void put_double(struct buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    put_ctrl(b, 3, 8);
    for (int i = 7; i >= 0; i--)
        put_byte(b, (unsigned)(u >> (8 * i)));
}

static int put_value(struct buf *b, const struct json_value *v)
{
    switch (v->type) {
    case JSON_STRING:
        put_string(b, v->str, v->len);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        put_ctrl(b, 14, v->type == JSON_TRUE);
        return 0;
    case JSON_NUMBER: {
        bool frac = memchr(v->str, '.', v->len) || memchr(v->str, 'e', v->len) ||
                    memchr(v->str, 'E', v->len);
        if (frac) {
            put_double(b, v->num);
        } else if (v->num < 0) {
            /* int32, two's complement, always 4 bytes */
            uint32_t u = (uint32_t)(int32_t)v->num;
            put_ctrl(b, 8, 4);
            for (int i = 3; i >= 0; i--)
                put_byte(b, u >> (8 * i));
        } else {
            put_uint(b, v->num <= 4294967295.0 ? 6 : 9, (uint64_t)v->num);
        }
        return 0;
    }
    case JSON_ARRAY:
        put_ctrl(b, 11, v->n);
        for (size_t i = 0; i < v->n; i++)
            if (put_value(b, &v->items[i]) != 0)
                return ERR_FORMAT;
        return 0;
    case JSON_OBJECT:
        put_ctrl(b, 7, v->n);
        for (size_t i = 0; i < v->n; i++) {
            put_string(b, v->items[i].key, v->items[i].key_len);
            if (put_value(b, &v->items[i]) != 0)
                return ERR_FORMAT;
        }
        return 0;
    default:
        return ERR_FORMAT; /* MMDB has no null */
    }
}

/* ---- tree -------------------------------------------------------------------------- */

static int bit_at(const uint8_t *a, unsigned i) { return (a[i / 8] >> (7 - i % 8)) & 1; }

int sim_mmdb_insert(struct sim_mmdb *w, const char *cidr, const char *json, struct err *err)
{
    struct ipaddr net;
    unsigned bits;
    if (!cidr_parse(sv_cstr(cidr), &net, &bits))
        return err_set(err, ERR_FORMAT, "bad network '%s'", cidr);
    uint8_t key[16];
    memcpy(key, net.b, 16);
    if (net.v4) {
        /* IPv4 lives at ::a.b.c.d in an IPv6 tree. */
        memset(key, 0, 12);
        bits += 96;
    }
    if (bits == 0)
        return err_set(err, ERR_FORMAT, "a /0 network cannot be stored");

    struct arena a;
    struct json_value *v;
    arena_init(&a, 0);
    int rc = json_parse(json, strlen(json), &a, &v, err);
    size_t off = w->data.len;
    if (rc == 0 && put_value(&w->data, v) != 0)
        rc = err_set(err, ERR_FORMAT, "null has no MMDB encoding");
    arena_free(&a);
    if (rc != 0)
        return rc;

    uint32_t n = 0;
    for (unsigned d = 0; d + 1 < bits; d++) {
        int bit = bit_at(key, d);
        struct rec r = w->nodes[n].r[bit];
        if (r.kind == REC_NODE) {
            n = r.val;
            continue;
        }
        /* Split a leaf (or empty record): the new node inherits it on both sides
         * so the rest of the old network keeps its data. */
        uint32_t m = new_node(w, r);
        w->nodes[n].r[bit] = (struct rec){ REC_NODE, m };
        n = m;
    }
    w->nodes[n].r[bit_at(key, bits - 1)] = (struct rec){ REC_DATA, (uint32_t)off };
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void sim_mmdb_build(const struct sim_mmdb *w, uint8_t **out, size_t *len)
{
    uint64_t nc = w->n;
    uint64_t maxv = nc + 16 + w->data.len;
    int rs = maxv < (1u << 24) ? 24 : maxv < (1u << 28) ? 28 : 32;
    size_t node_bytes = (size_t)rs / 4, tree = node_bytes * w->n;

    struct buf f;
    buf_init(&f, 0);
    (void)buf_reserve(&f, tree + 16 + w->data.len + 512);
    for (size_t i = 0; i < w->n; i++) {
        uint64_t v[2];
        for (int k = 0; k < 2; k++) {
            struct rec r = w->nodes[i].r[k];
            v[k] = r.kind == REC_NODE ? r.val : r.kind == REC_DATA ? nc + 16 + r.val : nc;
        }
        uint8_t nb[8];
        if (rs == 24) {
            put_be(nb, v[0], 3);
            put_be(nb + 3, v[1], 3);
        } else if (rs == 28) {
            put_be(nb, v[0] & 0xffffff, 3);
            nb[3] = (uint8_t)((((v[0] >> 24) & 0xf) << 4) | ((v[1] >> 24) & 0xf));
            put_be(nb + 4, v[1] & 0xffffff, 3);
        } else {
            put_be(nb, v[0], 4);
            put_be(nb + 4, v[1], 4);
        }
        (void)buf_append(&f, nb, node_bytes);
    }
    static const char zeros[16];
    (void)buf_append(&f, zeros, 16);
    if (w->data.len)
        (void)buf_append(&f, w->data.p, w->data.len);

    (void)buf_append(&f, "\xAB\xCD\xEFMaxMind.com", 14);
    struct buf *m = &f;
    put_ctrl(m, 7, 9);
    put_string(m, "binary_format_major_version", 27);
    put_uint(m, 5, 2);
    put_string(m, "binary_format_minor_version", 27);
    put_uint(m, 5, 0);
    put_string(m, "build_epoch", 11);
    put_uint(m, 9, 1700000000);
    put_string(m, "database_type", 13);
    put_string(m, w->type, strlen(w->type));
    put_string(m, "description", 11);
    put_ctrl(m, 7, 1);
    put_string(m, "en", 2);
    put_string(m, "Vigil test database", 19);
    put_string(m, "ip_version", 10);
    put_uint(m, 5, 6);
    put_string(m, "languages", 9);
    put_ctrl(m, 11, 1);
    put_string(m, "en", 2);
    put_string(m, "node_count", 10);
    put_uint(m, 6, nc);
    put_string(m, "record_size", 11);
    put_uint(m, 5, (uint64_t)rs);

    *len = f.len;
    *out = (uint8_t *)buf_steal(&f);
}

int sim_mmdb_write(const struct sim_mmdb *w, const char *path, struct err *err)
{
    uint8_t *p;
    size_t n;
    sim_mmdb_build(w, &p, &n);
    FILE *fp = fopen(path, "wb");
    int rc = 0;
    if (fp == NULL || fwrite(p, 1, n, fp) != n)
        rc = err_set(err, ERR_IO, "cannot write %s", path);
    if (fp != NULL && fclose(fp) != 0 && rc == 0)
        rc = err_set(err, ERR_IO, "cannot write %s", path);
    free(p);
    return rc;
}
