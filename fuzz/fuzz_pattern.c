/*
 * Fuzz target for src/match: the pattern compiler and the matcher.
 *
 * Input: pattern bytes, optionally followed by a NUL byte and event bytes.
 * The pattern is compiled alone and inside a set with a few fixed patterns;
 * it is matched against the given event (when it is a JSON object) and a few
 * fixed events. Beyond "no crash, no sanitizer report" it checks (aborting on
 * a disagreement):
 *   - match_set_add and match_test accept exactly the same patterns;
 *   - a failed add leaves the set usable and unchanged;
 *   - the pattern's verdict in the shared set equals its verdict alone;
 *   - match_event returns ascending ids, each once;
 *   - matching with the set's path set (skipped fields) gives the same ids,
 *     unless an event key contains '.' or is empty: a path set is a trie of
 *     '.'-separated segments, so it cannot keep the key "a.b" that event-ruler's
 *     dotted-path quirk matches against the pattern path "a.b", and
 *     json_flatten writes the top-level key "" followed by "a" as "a" while the
 *     path set looks for the segment "" (docs/internals/match.md).
 */
#include "match/match.h"

#include <stdlib.h>
#include <string.h>

static const char *const fixed_patterns[] = {
    "{\"source\":[\"aws.s3\"],\"detail\":{\"eventName\":[{\"prefix\":\"Put\"}]}}",
    "{\"detail\":{\"userIdentity\":{\"type\":[{\"anything-but\":[\"AWSService\"]}]}}}",
    "{\"$or\":[{\"a\":[{\"exists\":false}]},{\"b\":{\"c\":[{\"numeric\":[\">\",1]}]}}]}",
};

static const char *const fixed_events[] = {
    "{\"source\":\"aws.s3\",\"detail\":{\"eventName\":\"PutObject\",\"userIdentity\":"
    "{\"type\":\"IAMUser\"}}}",
    "{\"a\":[{\"b\":1},{\"c\":[2,\"x\",null,true]}],\"b\":[{\"c\":5},{\"c\":\"6\"}],\"x\":{}}",
    "{\"ip\":\"10.0.0.1\",\"n\":3.0e2,\"s\":\"STRASSE\",\"e\":[],\"d\":{\"a.b\":[[1,{\"c\":2}]]}}",
};

#define N_FIXED (sizeof(fixed_patterns) / sizeof(fixed_patterns[0]))
#define PAT_ID 1000

static void check_ids(const uint32_t *ids, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (ids[i] <= ids[i - 1])
            abort();
}

static bool has(const uint32_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static bool dotted_key(const struct json_value *v)
{
    if (v->type != JSON_OBJECT && v->type != JSON_ARRAY)
        return false;
    for (size_t i = 0; i < v->n; i++) {
        const struct json_value *m = &v->items[i];
        if (m->key && (m->key_len == 0 || memchr(m->key, '.', m->key_len)))
            return true;
        if (dotted_key(m))
            return true;
    }
    return false;
}

static void one_event(struct match_set *alone, struct match_set *shared, struct json_pathset *ps,
                      struct match_scratch *s, const char *ev, size_t len, const char *pat,
                      size_t plen)
{
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    struct err e;
    size_t i = 0;
    while (i < len && (ev[i] == ' ' || ev[i] == '\n' || ev[i] == '\t' || ev[i] == '\r'))
        i++;
    if (i < len && ev[i] == '{' && json_flatten(ev, len, NULL, &a, &f, &e) == 0) {
        const uint32_t *ids;
        size_t n1 = alone ? match_event(alone, &f, s, &ids) : 0;
        check_ids(ids, n1);
        bool r1 = n1 > 0;
        size_t n = match_event(shared, &f, s, &ids);
        check_ids(ids, n);
        uint32_t copy[N_FIXED + 1];
        size_t nc = 0;
        for (size_t k = 0; k < n && nc <= N_FIXED; k++)
            copy[nc++] = ids[k];
        if (alone && has(ids, n, PAT_ID) != r1)
            abort();
        bool r2 = false;
        if (alone && (match_test(pat, plen, ev, len, &r2, &e) != 0 || r2 != r1))
            abort();
        /* the same event scanned with the set's path set */
        struct json_flat g;
        json_flat_init(&g);
        struct json_value *root;
        bool dotted = json_parse(ev, len, &a, &root, &e) != 0 || dotted_key(root);
        if (!dotted && json_flatten(ev, len, ps, &a, &g, &e) == 0) {
            size_t n2 = match_event(shared, &g, s, &ids);
            if (n2 != nc)
                abort();
            for (size_t k = 0; k < n2; k++)
                if (ids[k] != copy[k])
                    abort();
        }
        json_flat_free(&g);
    }
    json_flat_free(&f);
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *pat = (const char *)d;
    const uint8_t *nul = memchr(d, 0, n);
    size_t plen = nul ? (size_t)(nul - d) : n;
    const char *ev = nul ? (const char *)nul + 1 : NULL;
    size_t elen = nul ? n - plen - 1 : 0;

    struct err e;
    struct match_set *alone = match_set_new();
    bool ok = match_set_add(alone, pat, plen, PAT_ID, &e) == 0;
    bool r;
    int trc = match_test(pat, plen, "{}", 2, &r, &e);
    if (ok != (trc == 0))
        abort();

    struct match_set *shared = match_set_new();
    for (uint32_t i = 0; i < N_FIXED; i++)
        if (match_set_add(shared, fixed_patterns[i], strlen(fixed_patterns[i]), i, &e) != 0)
            abort();
    if ((match_set_add(shared, pat, plen, PAT_ID, &e) == 0) != ok)
        abort();
    match_set_build(shared);
    if (ok) {
        match_set_build(alone);
    } else {
        match_set_free(alone);
        alone = NULL;
    }
    struct json_pathset *ps = json_pathset_new();
    match_set_paths(shared, ps);
    struct match_scratch *s = match_scratch_new();
    if (ev)
        one_event(alone, shared, ps, s, ev, elen, pat, plen);
    for (size_t i = 0; i < sizeof(fixed_events) / sizeof(fixed_events[0]); i++)
        one_event(alone, shared, ps, s, fixed_events[i], strlen(fixed_events[i]), pat, plen);
    match_scratch_free(s);
    json_pathset_free(ps);
    match_set_free(shared);
    match_set_free(alone);
    return 0;
}
