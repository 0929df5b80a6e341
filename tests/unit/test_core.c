/* Unit tests for src/core. */
#include "core/core.h"
#include "harness.h"

#include <stdlib.h>

static void test_err_format(void)
{
    struct err e;
    char out[600];
    err_clear(&e);
    err_set(&e, ERR_FORMAT, "bad %s", "thing");
    err_where(&e, "a.json", 7, 0);
    err_format(&e, out, sizeof(out));
    CHECK_STR(out, "a.json: record 7: bad thing");
    CHECK_INT(e.code, ERR_FORMAT);
    CHECK_STR(err_name(ERR_LIMIT), "limit");
}

static void test_buf_cap(void)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(buf_append_cstr(&b, "12345678"), 0);
    CHECK_INT(buf_putc(&b, 'x'), ERR_LIMIT);
    CHECK_STR(b.p, "12345678");
    buf_reset(&b);
    CHECK_INT(buf_printf(&b, "%d-%s", 42, "ab"), 0);
    CHECK_STR(b.p, "42-ab");
    buf_free(&b);
}

static void test_arena_reuse(void)
{
    struct arena a;
    arena_init(&a, 1024);
    char *p = arena_strndup(&a, "hello", 5);
    CHECK_STR(p, "hello");
    void *big = arena_alloc(&a, 5000); /* oversized block */
    CHECK(big != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(arena_alloc(&a, 100) != NULL);
    arena_reset(&a);
    CHECK(arena_alloc(&a, 10) != NULL);
    arena_free(&a);
}

static void test_hmap(void)
{
    struct hmap m;
    char key[32];
    hmap_init(&m);
    for (long i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof(key), "k%ld", i);
        CHECK(hmap_put(&m, key, (size_t)n, (void *)(i + 1)) == NULL);
    }
    CHECK_INT(m.n, 1000);
    CHECK((long)hmap_get(&m, "k999", 4) == 1000);
    CHECK(hmap_get(&m, "nope", 4) == NULL);
    CHECK((long)hmap_put(&m, "k5", 2, (void *)77) == 6);
    size_t i = 0, seen = 0;
    struct sv k;
    void *v;
    while (hmap_next(&m, &i, &k, &v))
        seen++;
    CHECK_INT(seen, 1000);
    hmap_free(&m);
    CHECK(hash64("abc", 3, 0) == hash64("abc", 3, 0));
    CHECK(hash64("abc", 3, 0) != hash64("abd", 3, 0));
}

/* The hash as specified (FNV-1a over 8-byte words, the tail a byte at a
 * time): finding ids depend on its values, so any faster form must agree. */
static uint64_t hash_spec(uint64_t h, const unsigned char *s, size_t len)
{
    while (len >= 8) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w |= (uint64_t)s[i] << (8 * i);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        s += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < len; i++)
        tail |= (uint64_t)s[i] << (8 * i);
    h = (h ^ tail ^ ((uint64_t)len << 56)) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static void test_hash64_spec(void)
{
    unsigned char buf[64];
    uint32_t x = 12345;
    int bad = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        for (size_t off = 0; off < 8; off++)
            for (size_t len = 0; off + len <= 48; len++) {
                uint64_t seed = (uint64_t)round * 0x9e3779b97f4a7c15ULL;
                if (hash64(buf + off, len, seed) !=
                    hash_spec(0xcbf29ce484222325ULL ^ seed, buf + off, len))
                    bad++;
            }
    }
    CHECK_INT(bad, 0);
}

static void test_time(void)
{
    int64_t ms;
    char out[32];
    CHECK(time_parse_iso8601(SV("2023-01-02T03:04:05Z"), &ms));
    CHECK_INT(ms, 1672628645000LL);
    time_format_iso8601(ms, false, out);
    CHECK_STR(out, "2023-01-02T03:04:05Z");
    CHECK(time_parse_iso8601(SV("2023-01-02T03:04:05.250Z"), &ms));
    CHECK_INT(ms, 1672628645250LL);
    time_format_iso8601(ms, true, out);
    CHECK_STR(out, "2023-01-02T03:04:05.250Z");
    CHECK(time_parse_iso8601(SV("2023-01-02T05:04:05+02:00"), &ms));
    CHECK_INT(ms, 1672628645000LL);
    CHECK(time_parse_iso8601(SV("1970-01-01"), &ms));
    CHECK_INT(ms, 0);
    CHECK(!time_parse_iso8601(SV("2023-13-02T03:04:05Z"), &ms));
    CHECK(!time_parse_iso8601(SV("2023-01-02T03:04:05Zjunk"), &ms));
    CHECK(!time_parse_iso8601(SV("yesterday"), &ms));
    time_format_iso8601(951782400000LL, false, out); /* leap day */
    CHECK_STR(out, "2000-02-29T00:00:00Z");
}

static void test_sv_numbers(void)
{
    int64_t v;
    uint64_t u;
    CHECK(sv_to_i64(SV("-9223372036854775808"), &v) && v == INT64_MIN);
    CHECK(!sv_to_i64(SV("9223372036854775808"), &v));
    CHECK(sv_to_u64(SV("18446744073709551615"), &u) && u == UINT64_MAX);
    CHECK(!sv_to_u64(SV("18446744073709551616"), &u));
    CHECK(!sv_to_u64(SV("12a"), &u));
    CHECK(sv_eq_nocase(SV("AbC"), SV("aBc")));
    CHECK(sv_starts_with(SV("arn:aws:iam"), SV("arn:")));
    CHECK(sv_ends_with(SV("file.json.gz"), SV(".gz")));
}

static const struct harness_test tests[] = {
    { "err_format", test_err_format }, { "buf_cap", test_buf_cap },
    { "arena_reuse", test_arena_reuse }, { "hmap", test_hmap },
    { "hash64_spec", test_hash64_spec }, { "time", test_time },           { "sv_numbers", test_sv_numbers },
};

HARNESS_MAIN(tests)
