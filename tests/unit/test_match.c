/* Unit tests for src/match: operators one by one, the invalid forms, the
 * shared EventBridge corpus (event-ruler's verdicts), and the whole corpus
 * compiled into one set. */
#include "match/match.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

/* 1 match, 0 no match, -1 invalid pattern, -2 bad event */
static int run(const char *pattern, const char *event)
{
    bool r = false;
    struct err e;
    err_clear(&e);
    int rc = match_test(pattern, strlen(pattern), event, strlen(event), &r, &e);
    if (rc == ERR_USAGE || rc == ERR_LIMIT)
        return -1;
    if (rc != 0)
        return -2;
    return r ? 1 : 0;
}

struct tcase {
    const char *pattern, *event;
    int want;
};

static void run_table(const struct tcase *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = run(t[i].pattern, t[i].event);
        if (got != t[i].want) {
            printf("#   pattern %s\n#   event   %s\n#   got %d, want %d\n", t[i].pattern,
                   t[i].event, got, t[i].want);
            harness_failures++;
        }
    }
}

#define TABLE(t) run_table(t, sizeof(t) / sizeof(t[0]))

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    if (!b.p)
        buf_putc(&b, '\0');
    return buf_steal(&b);
}

/* The raw text of member key of a JSONL line (number spellings and duplicate
 * keys matter, so values are cut out of the line, never re-serialised). */
static bool raw_member(const char *line, size_t len, const struct json_value *root,
                       const char *key, const char **p, size_t *n)
{
    const struct json_value *v = json_get(root, key);
    if (!v)
        return false;
    size_t pos = v->offset;
    struct err e;
    if (json_skip_value(line, len, &pos, &e) != 0)
        return false;
    *p = line + v->offset;
    *n = pos - v->offset;
    return true;
}

struct line {
    const char *p;
    size_t len;
};

static size_t split_lines(char *text, size_t len, struct line **out)
{
    size_t n = 0, cap = 0;
    struct line *ls = NULL;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i > start) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 256;
                    ls = xrealloc(ls, cap * sizeof(*ls));
                }
                ls[n++] = (struct line){ text + start, i - start };
            }
            start = i + 1;
        }
    }
    *out = ls;
    return n;
}

/* ---- operators ---------------------------------------------------------------- */

static void test_exact(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[\"x\"]}", "{\"a\":\"x\"}", 1 },
        { "{\"a\":[\"x\"]}", "{\"a\":\"X\"}", 0 },
        { "{\"a\":[\"x\",\"y\"]}", "{\"a\":\"y\"}", 1 },
        { "{\"a\":[\"x\"]}", "{\"b\":\"x\"}", 0 },
        { "{\"a\":[\"5\"]}", "{\"a\":5}", 0 },
        { "{\"a\":[5]}", "{\"a\":\"5\"}", 0 },
        { "{\"a\":[true]}", "{\"a\":true}", 1 },
        { "{\"a\":[true]}", "{\"a\":\"true\"}", 0 },
        { "{\"a\":[null]}", "{\"a\":null}", 1 },
        { "{\"a\":[null]}", "{}", 0 },
        { "{\"a\":[null]}", "{\"a\":\"\"}", 0 },
        { "{\"a\":[\"\"]}", "{\"a\":\"\"}", 1 },
        { "{\"a\":{\"b\":[\"x\"]}}", "{\"a\":{\"b\":\"x\"}}", 1 },
        { "{\"a\":{\"b\":[\"x\"]}}", "{\"a\":{\"c\":\"x\"}}", 0 },
        { "{\"a\":[\"x\"],\"b\":[\"y\"]}", "{\"a\":\"x\",\"b\":\"z\"}", 0 },
        { "{\"a\":[\"x\"]}", "{\"a\":[\"z\",\"x\"]}", 1 },
        { "{\"a\":[\"x\"]}", "{\"a\":\"x\\u0000\"}", 0 },
        { "{\"a\":[\"\\u00e9\"]}", "{\"a\":\"\xc3\xa9\"}", 1 },
        { "{\"a\":[{\"exactly\":\"10.0.0.1\"}]}", "{\"a\":\"10.0.0.01\"}", 0 },
        { "{\"a\":[\"10.0.0.1\"]}", "{\"a\":\"10.0.0.01\"}", 1 },
        { "{\"a\":[\"::1\"]}", "{\"a\":\"0:0:0:0:0:0:0:1\"}", 1 },
        { "{\"a\":[\"10.0.0.1\"]}", "{\"a\":\"::ffff:a00:1\"}", 1 },
        { "{\"a\":[\"300.0.0.1\"]}", "{\"a\":\"300.0.0.1\"}", 1 },
    };
    TABLE(t);
}

static void test_numbers(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[300]}", "{\"a\":300.0}", 1 },
        { "{\"a\":[300]}", "{\"a\":3.0e2}", 1 },
        { "{\"a\":[300]}", "{\"a\":301}", 0 },
        { "{\"a\":[0]}", "{\"a\":-0}", 1 },
        { "{\"a\":[0.3]}", "{\"a\":0.30000000000000004}", 0 },
        { "{\"a\":[0.30000000000000001]}", "{\"a\":0.30000000000000001}", 1 },
        { "{\"a\":[0.30000000000000001]}", "{\"a\":0.3}", 0 },
        { "{\"a\":[9007199254740993]}", "{\"a\":9007199254740993}", 1 },
        { "{\"a\":[9007199254740993]}", "{\"a\":9007199254740992}", 0 },
        { "{\"a\":[{\"numeric\":[\">\",0]}]}", "{\"a\":1e-300}", 1 },
        { "{\"a\":[{\"numeric\":[\">\",0]}]}", "{\"a\":0}", 0 },
        { "{\"a\":[{\"numeric\":[\">=\",0]}]}", "{\"a\":-0.0}", 1 },
        { "{\"a\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"a\":5}", 1 },
        { "{\"a\":[{\"numeric\":[\">\",0,\"<\",5]}]}", "{\"a\":5}", 0 },
        { "{\"a\":[{\"numeric\":[\"<\",10]}]}", "{\"a\":\"5\"}", 0 },
        { "{\"a\":[{\"numeric\":[\"=\",3.018e2]}]}", "{\"a\":301.8}", 1 },
        { "{\"a\":[{\"numeric\":[\">\",1e308]}]}", "{\"a\":1.7976931348623157e308}", 1 },
        { "{\"a\":[{\"numeric\":[\"<\",-1e308]}]}", "{\"a\":-1.7976931348623157e308}", 1 },
        /* a number a double cannot hold exactly is not compared (event-ruler) */
        { "{\"a\":[{\"numeric\":[\">\",0]}]}", "{\"a\":1e400}", 0 },
        { "{\"a\":[{\"numeric\":[\">\",0]}]}", "{\"a\":0.30000000000000001}", 0 },
        { "{\"a\":[{\"numeric\":[\">\",0]}]}", "{\"a\":[1,-1]}", 1 },
        { "{\"a\":[{\"numeric\":[\">\",0.30000000000000001]}]}", "{\"a\":1}", -1 },
        { "{\"a\":[{\"numeric\":[\">=\",5,\"<=\",5]}]}", "{\"a\":5}", -1 },
    };
    TABLE(t);
}

static void test_prefix_suffix(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":\"us-east-1\"}", 1 },
        { "{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":\"eu-west-1\"}", 0 },
        { "{\"a\":[{\"prefix\":\"\"}]}", "{\"a\":\"\"}", 1 },
        { "{\"a\":[{\"prefix\":\"1\"}]}", "{\"a\":123}", 0 },
        { "{\"a\":[{\"suffix\":\".png\"}]}", "{\"a\":\"x.png\"}", 1 },
        { "{\"a\":[{\"suffix\":\".png\"}]}", "{\"a\":\"x.PNG\"}", 0 },
        { "{\"a\":[{\"suffix\":\"\"}]}", "{\"a\":\"abc\"}", 1 },
        { "{\"a\":[{\"suffix\":\"\"}]}", "{\"a\":5}", 0 },
        { "{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}", "{\"a\":\"eventbridge\"}",
          1 },
        { "{\"a\":[{\"suffix\":{\"equals-ignore-case\":\".PNG\"}}]}", "{\"a\":\"x.png\"}", 1 },
        { "{\"a\":[{\"suffix\":{\"equals-ignore-case\":\".PNG\"}}]}", "{\"a\":\"x.jpg\"}", 0 },
    };
    TABLE(t);
}

static void test_ignore_case(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"a\":\"ALICE\"}", 1 },
        { "{\"a\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"a\":\"alicia\"}", 0 },
        { "{\"a\":[{\"equals-ignore-case\":\"stra\xc3\x9f" "e\"}]}", "{\"a\":\"STRASSE\"}", 1 },
        { "{\"a\":[{\"equals-ignore-case\":\"\xc3\x89" "cole\"}]}", "{\"a\":\"\xc3\xa9" "COLE\"}",
          1 },
        { "{\"a\":[{\"equals-ignore-case\":\"true\"}]}", "{\"a\":true}", 0 },
        /* Kelvin sign folds to k but is neither k's lower nor upper case */
        { "{\"a\":[{\"equals-ignore-case\":\"k\"}]}", "{\"a\":\"\xe2\x84\xaa\"}", 0 },
    };
    TABLE(t);
}

static void test_anything_but(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{\"a\":\"y\"}", 1 },
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{\"a\":\"x\"}", 0 },
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{\"a\":5}", 1 },
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{\"a\":null}", 1 },
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{}", 0 },
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{\"a\":[\"x\",\"y\"]}", 1 },
        { "{\"a\":[{\"anything-but\":\"x\"}]}", "{\"a\":[\"x\"]}", 0 },
        { "{\"a\":[{\"anything-but\":[1,2]}]}", "{\"a\":1.0}", 0 },
        { "{\"a\":[{\"anything-but\":[1,2]}]}", "{\"a\":\"1\"}", 1 },
        { "{\"a\":[{\"anything-but\":[\"a\",\"b\"]}]}", "{\"a\":\"b\"}", 0 },
        { "{\"a\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"a\":\"initial\"}", 0 },
        { "{\"a\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"a\":\"final\"}", 1 },
        { "{\"a\":[{\"anything-but\":{\"suffix\":\".tmp\"}}]}", "{\"a\":\"x.tmp\"}", 0 },
        { "{\"a\":[{\"anything-but\":{\"equals-ignore-case\":[\"ALICE\",\"bob\"]}}]}",
          "{\"a\":\"Bob\"}", 0 },
        { "{\"a\":[{\"anything-but\":{\"equals-ignore-case\":\"ALICE\"}}]}", "{\"a\":\"carol\"}",
          1 },
        { "{\"a\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"a\":\"/usr/lib/x\"}", 0 },
        { "{\"a\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"a\":\"/usr/bin/x\"}", 1 },
        { "{\"a\":[{\"anything-but\":{\"prefix\":[]}}]}", "{\"a\":\"x\"}", 1 },
    };
    TABLE(t);
}

static void test_exists(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[{\"exists\":true}]}", "{\"a\":null}", 1 },
        { "{\"a\":[{\"exists\":true}]}", "{\"a\":[]}", 0 },
        { "{\"a\":[{\"exists\":true}]}", "{\"a\":{}}", 0 },
        { "{\"a\":[{\"exists\":true}]}", "{\"a\":{\"b\":1}}", 0 },
        { "{\"a\":[{\"exists\":false}]}", "{}", 1 },
        { "{\"a\":[{\"exists\":false}]}", "{\"a\":[]}", 1 },
        { "{\"a\":[{\"exists\":false}]}", "{\"a\":{\"b\":1}}", 1 },
        { "{\"a\":[{\"exists\":false}]}", "{\"a\":null}", 0 },
        { "{\"a\":[{\"exists\":false},\"x\"]}", "{\"a\":\"x\"}", 1 },
        { "{\"a\":[{\"exists\":false},\"x\"]}", "{\"a\":\"y\"}", 0 },
        { "{\"a\":{\"b\":[{\"exists\":true}],\"c\":[{\"exists\":false}]}}",
          "{\"a\":[{\"b\":1},{\"c\":2}]}", 1 },
        { "{\"a\":{\"b\":[{\"exists\":true}],\"c\":[{\"exists\":false}]}}",
          "{\"a\":[{\"b\":1,\"c\":2}]}", 0 },
    };
    TABLE(t);
}

static void test_cidr(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"a\":\"10.0.0.255\"}", 1 },
        { "{\"a\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"a\":\"10.0.1.0\"}", 0 },
        { "{\"a\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"a\":\"AWS Internal\"}", 0 },
        { "{\"a\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"a\":\"2001:DB8::1\"}", 1 },
        { "{\"a\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"a\":\"2001:db9::1\"}", 0 },
        { "{\"a\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"a\":\"1.2.3.4\"}", 1 },
        { "{\"a\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"a\":\"::1\"}", 0 },
        /* the host bits of the base address are kept as the bottom */
        { "{\"a\":[{\"cidr\":\"10.0.0.5/24\"}]}", "{\"a\":\"10.0.0.1\"}", 0 },
        { "{\"a\":[{\"cidr\":\"10.0.0.1/32\"}]}", "{\"a\":\"10.0.0.1\"}", -1 },
        { "{\"a\":[{\"cidr\":\"10.0.0.0\"}]}", "{\"a\":\"10.0.0.1\"}", -1 },
    };
    TABLE(t);
}

static void test_wildcard(void)
{
    static const struct tcase t[] = {
        { "{\"a\":[{\"wildcard\":\"*/lib/*\"}]}", "{\"a\":\"/usr/lib/x\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"*/lib/*\"}]}", "{\"a\":\"/usr/bin/x\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"a*b*c\"}]}", "{\"a\":\"abc\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"a*b*c\"}]}", "{\"a\":\"aXbYbZc\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"a*b*c\"}]}", "{\"a\":\"aXcYb\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"*\"}]}", "{\"a\":\"\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"*\"}]}", "{\"a\":7}", 0 },
        { "{\"a\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"a\":\"a*b\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"a\":\"axb\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"a\\\\\\\\b\"}]}", "{\"a\":\"a\\\\b\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"a**b\"}]}", "{\"a\":\"ab\"}", -1 },
        { "{\"a\":[{\"wildcard\":\"a\\\\nb\"}]}", "{\"a\":\"ab\"}", -1 },
        { "{\"a\":[{\"wildcard\":\"ab*ab\"}]}", "{\"a\":\"ab\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"ab*ab\"}]}", "{\"a\":\"abab\"}", 1 },
        /* segments found past the first 16 bytes, back to back */
        { "{\"a\":[{\"wildcard\":\"*kali*pa*\"}]}", "{\"a\":\"aws-cli/2.0 Linux/6.1-kalipa-amd64 exe/x86_64.debian.12\"}", 1 },
        { "{\"a\":[{\"wildcard\":\"*kali*pa*\"}]}", "{\"a\":\"aws-cli/2.0 Linux/6.1-kalp kali-amd64 exe/x86_64.debian.12\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"*kali*ali*\"}]}", "{\"a\":\"aws-cli/2.0 Linux/6.1-kalkali-amd64 exe/x86_64.debian.12\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"*Kali*\"}]}", "{\"a\":\"aws-cli/2.0 Linux/6.1-kaliKal-amd64 exe/x86_64.debian.12\"}", 0 },
        { "{\"a\":[{\"wildcard\":\"*Kali*\"}]}", "{\"a\":\"aws-cli/2.0 Linux/6.1.0-Kali-amd64 exe/x86_64.debian.12\"}", 1 },
    };
    TABLE(t);
}


/* Middle segments are searched 16 bytes at a time: compare with strstr over
 * many strings from a small alphabet (so first/last-byte candidates that fail
 * in the middle are common), at every length around the block size. */
static void test_wildcard_search(void)
{
    static const char alphabet[] = "abkli";
    uint32_t seed = 12345;
    char hay[200], n1[8], n2[8], pat[128], ev[256];
    size_t checked = 0;
    for (int iter = 0; iter < 4000; iter++) {
        size_t hl = (size_t)(iter % 90), l1 = 1 + (size_t)(iter % 6), l2 = 1 + (size_t)(iter / 6 % 4);
        for (size_t i = 0; i < hl; i++) {
            seed = seed * 1103515245u + 12345u;
            hay[i] = alphabet[(seed >> 16) % 5];
        }
        hay[hl] = '\0';
        for (size_t i = 0; i < l1; i++) {
            seed = seed * 1103515245u + 12345u;
            n1[i] = alphabet[(seed >> 16) % 5];
        }
        n1[l1] = '\0';
        for (size_t i = 0; i < l2; i++) {
            seed = seed * 1103515245u + 12345u;
            n2[i] = alphabet[(seed >> 16) % 5];
        }
        n2[l2] = '\0';
        snprintf(ev, sizeof(ev), "{\"a\":\"%s\"}", hay);
        snprintf(pat, sizeof(pat), "{\"a\":[{\"wildcard\":\"*%s*\"}]}", n1);
        int want = strstr(hay, n1) != NULL;
        CHECK_INT(run(pat, ev), want);
        snprintf(pat, sizeof(pat), "{\"a\":[{\"wildcard\":\"*%s*%s*\"}]}", n1, n2);
        const char *at = strstr(hay, n1);
        want = at != NULL && strstr(at + l1, n2) != NULL;
        CHECK_INT(run(pat, ev), want);
        /* not starting and ending with '*': matched on the quoted value */
        snprintf(pat, sizeof(pat), "{\"a\":[{\"wildcard\":\"*%s*%s\"}]}", n1, n2);
        want = 0;
        if (hl >= l2 && memcmp(hay + hl - l2, n2, l2) == 0) {
            char head[200];
            memcpy(head, hay, hl - l2);
            head[hl - l2] = '\0';
            want = strstr(head, n1) != NULL;
        }
        CHECK_INT(run(pat, ev), want);
        checked += 3;
    }
    CHECK_INT(checked, 12000);
}

static void test_or_and_arrays(void)
{
    static const struct tcase t[] = {
        { "{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]}", "{\"b\":\"2\"}", 1 },
        { "{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]}", "{\"c\":\"2\"}", 0 },
        { "{\"x\":{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]},\"y\":[\"3\"]}",
          "{\"x\":{\"b\":\"2\"},\"y\":\"3\"}", 1 },
        { "{\"x\":{\"$or\":[{\"a\":[\"1\"]},{\"b\":[\"2\"]}]},\"y\":[\"3\"]}",
          "{\"x\":{\"b\":\"2\"},\"y\":\"4\"}", 0 },
        /* "$or" as a plain field name when it is not a valid $or */
        { "{\"$or\":{\"a\":[\"1\"]}}", "{\"$or\":{\"a\":\"1\"}}", 1 },
        { "{\"$or\":[{\"a\":[\"1\"]}]}", "{}", -1 },
        /* array consistency: fields from one element of an array of objects */
        { "{\"r\":{\"a\":[\"1\"],\"b\":[\"2\"]}}", "{\"r\":[{\"a\":\"1\",\"b\":\"2\"}]}", 1 },
        { "{\"r\":{\"a\":[\"1\"],\"b\":[\"2\"]}}", "{\"r\":[{\"a\":\"1\"},{\"b\":\"2\"}]}", 0 },
        { "{\"r\":{\"a\":[\"1\"],\"b\":[\"2\"]}}",
          "{\"r\":[{\"a\":\"9\",\"b\":\"2\"},{\"a\":\"1\",\"b\":\"2\"}]}", 1 },
        { "{\"r\":{\"a\":[\"1\"]},\"s\":{\"b\":[\"2\"]}}",
          "{\"r\":[{\"a\":\"1\"}],\"s\":[{\"b\":\"2\"}]}", 1 },
        /* dotted pattern keys meet nested event keys */
        { "{\"a.b\":[\"x\"]}", "{\"a\":{\"b\":\"x\"}}", 1 },
        { "{\"a\":{\"b\":[\"x\"]}}", "{\"a.b\":\"x\"}", 1 },
        /* the last duplicate key wins */
        { "{\"x\":[\"a\"],\"x\":[\"b\"]}", "{\"x\":\"a\"}", 0 },
        { "{\"x\":[\"a\"],\"x\":[\"b\"]}", "{\"x\":\"b\"}", 1 },
    };
    TABLE(t);
}

static void test_invalid_messages(void)
{
    static const struct {
        const char *pattern, *msg;
    } t[] = {
        { "{\"x\":[]}", "Empty arrays are not allowed" },
        { "{\"x\":\"a\"}", "\"x\" must be an object or an array" },
        { "[]", "Filter is not an object" },
        { "{}", "Empty objects are not allowed" },
        { "{\"x\":[{\"foo\":\"a\"}]}", "Unrecognized match type foo" },
        { "{\"x\":[{\"numeric\":[\">\",10,\"<\",5]}]}", "Bottom must be less than top" },
        { "{\"x\":[{\"cidr\":\"10.0.0.0/33\"}]}", "IPv4 mask bits must be < 32" },
        { "{\"x\":[{\"cidr\":\"not-an-ip\"}]}", "Malformed CIDR, one '/' required" },
        { "{\"x\":[{\"wildcard\":\"a**b\"}]}", "Consecutive wildcard characters at pos 2" },
        { "{\"$or\":[{\"a\":[\"1\"]}]}", "Unrecognized match type a" },
        { "{\"$or\":[{\"a\":[\"1\"]},{\"prefix\":[\"2\"]}]}",
          "Unrecognized match type a" },
        { "{\"x\":[{\"prefix\":\"a\",\"suffix\":\"b\"}]}",
          "Only one key allowed in match expression" },
        { "{\"x\":[{\"anything-but\":{\"numeric\":[\">\",1]}}]}",
          "Unsupported anything-but pattern: numeric" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct match_set *ms = match_set_new();
        struct err e;
        err_clear(&e);
        int rc = match_set_add(ms, t[i].pattern, strlen(t[i].pattern), 1, &e);
        CHECK_INT(rc, ERR_USAGE);
        if (strncmp(e.msg, t[i].msg, strlen(t[i].msg)) != 0) {
            printf("#   %s: message \"%s\", want \"%s...\"\n", t[i].pattern, e.msg, t[i].msg);
            harness_failures++;
        }
        match_set_free(ms);
    }
}

/* Several patterns in one set; ids come back ascending, once each. */
static void test_set_ids(void)
{
    static const char *const pats[] = {
        "{\"source\":[\"aws.s3\"]}",
        "{\"source\":[\"aws.s3\"],\"detail\":{\"eventName\":[\"PutObject\"]}}",
        "{\"source\":[{\"prefix\":\"aws.\"}]}",
        "{\"detail\":{\"eventName\":[{\"anything-but\":\"PutObject\"}]}}",
        "{\"source\":[\"aws.ec2\"]}",
    };
    struct match_set *ms = match_set_new();
    struct err e;
    for (uint32_t i = 0; i < 5; i++)
        CHECK_INT(match_set_add(ms, pats[i], strlen(pats[i]), 100 - i * 10, &e), 0);
    /* the same id twice means either pattern */
    CHECK_INT(match_set_add(ms, pats[4], strlen(pats[4]), 100, &e), 0);
    CHECK_INT(match_set_add(ms, "{\"x\":[]}", 8, 7, &e), ERR_USAGE);
    match_set_build(ms);
    CHECK_INT(match_set_add(ms, pats[0], strlen(pats[0]), 1, &e), ERR_USAGE);

    const char *ev = "{\"source\":\"aws.s3\",\"detail\":{\"eventName\":\"PutObject\"}}";
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    CHECK_INT(json_flatten(ev, strlen(ev), NULL, &a, &f, &e), 0);
    struct match_scratch *s = match_scratch_new();
    const uint32_t *ids;
    size_t n = match_event(ms, &f, s, &ids);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(ids[0], 80);
        CHECK_INT(ids[1], 90);
        CHECK_INT(ids[2], 100);
    }
    const char *ev2 = "{\"source\":\"aws.ec2\",\"detail\":{\"eventName\":\"RunInstances\"}}";
    arena_reset(&a);
    CHECK_INT(json_flatten(ev2, strlen(ev2), NULL, &a, &f, &e), 0);
    n = match_event(ms, &f, s, &ids);
    CHECK_INT(n, 4); /* ec2 (60 and 100), anything-but (70), prefix aws. (80) */
    if (n == 4) {
        CHECK_INT(ids[0], 60);
        CHECK_INT(ids[1], 70);
        CHECK_INT(ids[2], 80);
        CHECK_INT(ids[3], 100);
    }

    /* the scanner can skip what no pattern reads */
    struct json_pathset *ps = json_pathset_new();
    match_set_paths(ms, ps);
    const char *ev3 = "{\"noise\":{\"deep\":[1,2,3]},\"source\":\"aws.s3\"}";
    arena_reset(&a);
    CHECK_INT(json_flatten(ev3, strlen(ev3), ps, &a, &f, &e), 0);
    CHECK_INT(f.n, 1);
    n = match_event(ms, &f, s, &ids);
    CHECK_INT(n, 2); /* 80 prefix, 90 exact; anything-but needs eventName */
    json_pathset_free(ps);
    match_scratch_free(s);
    json_flat_free(&f);
    arena_free(&a);
    match_set_free(ms);
}

/* Many rules on the same paths, big enough for the hash indexes. */
static void test_indexed_group(void)
{
    struct match_set *ms = match_set_new();
    struct err e;
    char pat[256];
    for (uint32_t i = 0; i < 200; i++) {
        int n;
        switch (i % 5) {
        case 0:
            n = snprintf(pat, sizeof(pat), "{\"a\":[\"v%u\"]}", i);
            break;
        case 1:
            n = snprintf(pat, sizeof(pat), "{\"a\":[{\"prefix\":\"p%u-\"}]}", i);
            break;
        case 2:
            n = snprintf(pat, sizeof(pat), "{\"a\":[{\"suffix\":\"-s%u\"}]}", i);
            break;
        case 3:
            n = snprintf(pat, sizeof(pat), "{\"a\":[{\"equals-ignore-case\":\"E%u\"}]}", i);
            break;
        default:
            n = snprintf(pat, sizeof(pat), "{\"a\":[%u]}", i);
            break;
        }
        CHECK_INT(match_set_add(ms, pat, (size_t)n, i, &e), 0);
    }
    match_set_build(ms);
    static const struct {
        const char *ev;
        uint32_t id;
    } t[] = {
        { "{\"a\":\"v10\"}", 10 },   { "{\"a\":\"p11-xyz\"}", 11 }, { "{\"a\":\"abc-s12\"}", 12 },
        { "{\"a\":\"e13\"}", 13 },   { "{\"a\":14.0}", 14 },        { "{\"a\":\"p196-\"}", 196 },
        { "{\"a\":1.4e1}", 14 },
    };
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    struct match_scratch *s = match_scratch_new();
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        arena_reset(&a);
        CHECK_INT(json_flatten(t[i].ev, strlen(t[i].ev), NULL, &a, &f, &e), 0);
        const uint32_t *ids;
        size_t n = match_event(ms, &f, s, &ids);
        CHECK_INT(n, 1);
        if (n == 1)
            CHECK_INT(ids[0], t[i].id);
    }
    match_scratch_free(s);
    json_flat_free(&f);
    arena_free(&a);
    match_set_free(ms);
}

/* Ranges, CIDRs, affixes and anything-buts on one path, enough for the
 * indexes: the set's answer must equal each pattern's own, value by value. */
static void test_indexed_differential(void)
{
    enum { NP = 120 };
    char pats[NP][128];
    struct match_set *ms = match_set_new();
    struct err e;
    for (uint32_t i = 0; i < NP; i++) {
        int n;
        switch (i % 6) {
        case 0:
            n = snprintf(pats[i], sizeof(pats[i]), "{\"v\":[{\"cidr\":\"10.%u.%u.0/%u\"}]}",
                         i % 7, i % 3, 16 + i % 13);
            break;
        case 1:
            n = snprintf(pats[i], sizeof(pats[i]), "{\"v\":[{\"numeric\":[\">\",%u,\"<=\",%u]}]}",
                         i, i + 20 + i % 9);
            break;
        case 2:
            n = snprintf(pats[i], sizeof(pats[i]), "{\"v\":[{\"numeric\":[\"%s\",%u]}]}",
                         i % 4 ? "<" : ">=", i);
            break;
        case 3:
            n = snprintf(pats[i], sizeof(pats[i]), "{\"v\":[{\"cidr\":\"2001:db8:%x::/%u\"}]}",
                         i % 5, 40 + i % 20);
            break;
        case 4:
            n = snprintf(pats[i], sizeof(pats[i]), "{\"v\":[{\"anything-but\":[%u,%u]}]}", i,
                         i + 1);
            break;
        default:
            n = snprintf(pats[i], sizeof(pats[i]), "{\"v\":[\"10.%u.0.1\",%u,{\"prefix\":\"1%u\"}]}",
                         i % 7, i, i % 10);
            break;
        }
        CHECK_INT(match_set_add(ms, pats[i], (size_t)n, i, &e), 0);
    }
    match_set_build(ms);
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    struct match_scratch *s = match_scratch_new();
    char ev[128];
    size_t checked = 0;
    for (uint32_t k = 0; k < 400; k++) {
        int n;
        switch (k % 4) {
        case 0:
            n = snprintf(ev, sizeof(ev), "{\"v\":\"10.%u.%u.%u\"}", k % 8, k % 4, k % 256);
            break;
        case 1:
            n = snprintf(ev, sizeof(ev), "{\"v\":%u.5}", k % 160);
            break;
        case 2:
            n = snprintf(ev, sizeof(ev), "{\"v\":%u}", k % 160);
            break;
        default:
            n = snprintf(ev, sizeof(ev), "{\"v\":\"2001:db8:%x::%x\"}", k % 6, k);
            break;
        }
        arena_reset(&a);
        CHECK_INT(json_flatten(ev, (size_t)n, NULL, &a, &f, &e), 0);
        const uint32_t *ids;
        size_t got = match_event(ms, &f, s, &ids), j = 0;
        for (uint32_t i = 0; i < NP; i++) {
            bool r = false;
            CHECK_INT(match_test(pats[i], strlen(pats[i]), ev, (size_t)n, &r, &e), 0);
            bool in = j < got && ids[j] == i;
            if (in)
                j++;
            if (in != r) {
                printf("#   %s vs %s: set says %d, alone %d\n", pats[i], ev, in, r);
                harness_failures++;
            }
            checked++;
        }
        CHECK_INT(j, got);
    }
    printf("# %zu pattern/value pairs checked\n", checked);
    match_scratch_free(s);
    json_flat_free(&f);
    arena_free(&a);
    match_set_free(ms);
}

/* ---- the shared corpus ------------------------------------------------------------ */

struct corpus {
    char *text;
    struct line *lines;
    size_t n;
    const char **pat, **ev;
    size_t *pat_len, *ev_len;
    bool *want;
    struct arena arena;
};

static bool corpus_load(struct corpus *c, const char *ds)
{
    memset(c, 0, sizeof(*c));
    char path[4200];
    snprintf(path, sizeof(path), "%s/eventbridge/patterns.jsonl", ds);
    size_t len;
    c->text = slurp(path, &len);
    if (!c->text) {
        printf("# skip: %s not readable\n", path);
        return false;
    }
    c->n = split_lines(c->text, len, &c->lines);
    c->pat = xcalloc(c->n, sizeof(*c->pat));
    c->ev = xcalloc(c->n, sizeof(*c->ev));
    c->pat_len = xcalloc(c->n, sizeof(size_t));
    c->ev_len = xcalloc(c->n, sizeof(size_t));
    c->want = xcalloc(c->n, sizeof(bool));
    arena_init(&c->arena, 0);
    for (size_t i = 0; i < c->n; i++) {
        struct json_value *root;
        struct err e;
        CHECK_INT(json_parse(c->lines[i].p, c->lines[i].len, &c->arena, &root, &e), 0);
        CHECK(raw_member(c->lines[i].p, c->lines[i].len, root, "pattern", &c->pat[i],
                         &c->pat_len[i]));
        CHECK(raw_member(c->lines[i].p, c->lines[i].len, root, "event", &c->ev[i],
                         &c->ev_len[i]));
        const struct json_value *m = json_get(root, "match");
        c->want[i] = m && m->type == JSON_TRUE;
    }
    return true;
}

static void corpus_free(struct corpus *c)
{
    free(c->text);
    free(c->lines);
    free(c->pat);
    free(c->ev);
    free(c->pat_len);
    free(c->ev_len);
    free(c->want);
    arena_free(&c->arena);
}

static void test_corpus_patterns(void)
{
    const char *ds = harness_datasets();
    struct corpus c;
    if (!ds || !corpus_load(&c, ds))
        return;
    size_t pass = 0;
    for (size_t i = 0; i < c.n; i++) {
        bool r = false;
        struct err e;
        err_clear(&e);
        int rc = match_test(c.pat[i], c.pat_len[i], c.ev[i], c.ev_len[i], &r, &e);
        if (rc == 0 && r == c.want[i]) {
            pass++;
            continue;
        }
        printf("#   patterns.jsonl:%zu: want %s, got %s%s\n#     %.*s\n", i + 1,
               c.want[i] ? "match" : "no match", rc ? "error: " : (r ? "match" : "no match"),
               rc ? e.msg : "", (int)(c.lines[i].len > 600 ? 600 : c.lines[i].len),
               c.lines[i].p);
        harness_failures++;
    }
    printf("# patterns.jsonl: %zu/%zu give event-ruler's verdict\n", pass, c.n);
    corpus_free(&c);
}

static void test_corpus_invalid(void)
{
    const char *ds = harness_datasets();
    if (!ds)
        return;
    char path[4200];
    snprintf(path, sizeof(path), "%s/eventbridge/invalid_patterns.jsonl", ds);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        printf("# skip: %s not readable\n", path);
        return;
    }
    struct line *lines;
    size_t n = split_lines(text, len, &lines), pass = 0;
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < n; i++) {
        struct json_value *root;
        struct err e;
        CHECK_INT(json_parse(lines[i].p, lines[i].len, &a, &root, &e), 0);
        const struct json_value *pt = json_get(root, "pattern_text");
        const struct json_value *rej = json_get(root, "event_ruler_rejects");
        if (!pt || !rej) {
            harness_failures++;
            continue;
        }
        struct match_set *ms = match_set_new();
        err_clear(&e);
        int rc = match_set_add(ms, pt->str, pt->len, 1, &e);
        bool rejected = rc != 0, want = rej->type == JSON_TRUE;
        if (rejected == want) {
            pass++;
        } else {
            printf("#   invalid_patterns.jsonl:%zu: %s: want %s, got %s (%s)\n", i + 1, pt->str,
                   want ? "rejected" : "accepted", rejected ? "rejected" : "accepted", e.msg);
            harness_failures++;
        }
        match_set_free(ms);
    }
    printf("# invalid_patterns.jsonl: %zu/%zu as event-ruler decides\n", pass, n);
    arena_free(&a);
    free(lines);
    free(text);
}

/* All corpus patterns in ONE set must give, for every corpus event, exactly
 * the patterns that match it one at a time. */
static void test_corpus_one_set(void)
{
    const char *ds = harness_datasets();
    struct corpus c;
    if (!ds || !corpus_load(&c, ds))
        return;
    struct match_set *all = match_set_new();
    struct match_set **one = xcalloc(c.n, sizeof(*one));
    struct err e;
    for (size_t i = 0; i < c.n; i++) {
        CHECK_INT(match_set_add(all, c.pat[i], c.pat_len[i], (uint32_t)i, &e), 0);
        one[i] = match_set_new();
        CHECK_INT(match_set_add(one[i], c.pat[i], c.pat_len[i], (uint32_t)i, &e), 0);
        match_set_build(one[i]);
    }
    match_set_build(all);
    struct match_scratch *s = match_scratch_new();
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    bool *want = xcalloc(c.n, sizeof(bool));
    size_t events_ok = 0, total = 0;
    for (size_t i = 0; i < c.n; i++) {
        arena_reset(&a);
        if (json_flatten(c.ev[i], c.ev_len[i], NULL, &a, &f, &e) != 0) {
            harness_failures++;
            continue;
        }
        size_t n_want = 0;
        for (size_t j = 0; j < c.n; j++) {
            const uint32_t *ids;
            want[j] = match_event(one[j], &f, s, &ids) == 1;
            n_want += want[j];
        }
        const uint32_t *ids;
        size_t n = match_event(all, &f, s, &ids);
        total += n;
        bool ok = n == n_want;
        for (size_t k = 0; k < n && ok; k++)
            ok = ids[k] < c.n && want[ids[k]] && (k == 0 || ids[k] > ids[k - 1]);
        if (ok) {
            events_ok++;
        } else {
            printf("#   event of line %zu: one set gives %zu ids, single sets %zu\n", i + 1, n,
                   n_want);
            harness_failures++;
        }
    }
    printf("# one set of %zu patterns: %zu/%zu events agree (%zu matches in all)\n", c.n,
           events_ok, c.n, total);
    free(want);
    json_flat_free(&f);
    arena_free(&a);
    match_scratch_free(s);
    for (size_t i = 0; i < c.n; i++)
        match_set_free(one[i]);
    free(one);
    match_set_free(all);
    corpus_free(&c);
}

static const struct harness_test tests[] = {
    { "exact", test_exact },
    { "numbers", test_numbers },
    { "prefix_suffix", test_prefix_suffix },
    { "ignore_case", test_ignore_case },
    { "anything_but", test_anything_but },
    { "exists", test_exists },
    { "cidr", test_cidr },
    { "wildcard", test_wildcard },
    { "wildcard_search", test_wildcard_search },
    { "or_and_arrays", test_or_and_arrays },
    { "invalid_messages", test_invalid_messages },
    { "set_ids", test_set_ids },
    { "indexed_group", test_indexed_group },
    { "indexed_differential", test_indexed_differential },
    { "corpus_patterns", test_corpus_patterns },
    { "corpus_invalid", test_corpus_invalid },
    { "corpus_one_set", test_corpus_one_set },
};

HARNESS_MAIN(tests)
