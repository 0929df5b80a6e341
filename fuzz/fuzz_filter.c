/*
 * Fuzz target for the CloudWatch Logs filter-pattern compiler and matcher.
 * The input's first line is the pattern, the rest is one log event message;
 * the whole input is also compiled as a pattern on its own and matched
 * against itself. Compile errors must carry a message; a match must not read
 * past the event (the replay driver and libFuzzer hand over exact-size
 * buffers, so ASan sees any overread); extracted values must lie inside the
 * event; metric references compile or fail cleanly.
 */
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void run(struct query_filter_scratch *s, const char *pat, size_t plen, const char *msg,
                size_t mlen)
{
    struct query_filter *f;
    struct err e;
    err_clear(&e);
    if (query_filter_compile(pat, plen, &f, &e) != 0) {
        if (e.msg[0] == 0)
            abort(); /* every rejection says why */
        return;
    }
    if (query_filter_match(f, msg, mlen, s)) {
        const struct query_filter_field *fv;
        size_t nf = query_filter_extracted(s, &fv);
        for (size_t i = 0; i < nf; i++) {
            if (fv[i].name.len < 2 || fv[i].name.p[0] != '$')
                abort();
            if (fv[i].value.len && (fv[i].value.p < msg || fv[i].value.p + fv[i].value.len >
                                                               msg + mlen))
                abort();
        }
        static const char *const refs[] = { "$.a", "$.a[0].b", "$ip", "$1", "1", "$.*" };
        for (size_t k = 0; k < sizeof(refs) / sizeof(refs[0]); k++) {
            struct query_filter_ref *r;
            struct sv v;
            if (query_filter_ref_compile(f, refs[k], strlen(refs[k]), &r, &e) == 0) {
                (void)query_filter_ref_value(r, s, &v);
                query_filter_ref_free(r);
            }
        }
    }
    query_filter_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *p = (const char *)d;
    const char *nl = memchr(p, '\n', n);
    size_t plen = nl ? (size_t)(nl - p) : n;
    struct query_filter_scratch *s = query_filter_scratch_new();
    /* Separate allocations so ASan catches reads past either part. */
    char *pat = malloc(plen ? plen : 1);
    size_t mlen = nl ? n - plen - 1 : 0;
    char *msg = malloc(mlen ? mlen : 1);
    if (pat && msg) {
        memcpy(pat, p, plen);
        if (mlen)
            memcpy(msg, nl + 1, mlen);
        run(s, pat, plen, msg, mlen);
        run(s, p, n, p, n);
    }
    free(pat);
    free(msg);
    query_filter_scratch_free(s);
    return 0;
}
