/*
 * Fuzz target for input transformers and input paths: the input is
 * InputPathsMap, InputTemplate and an event separated by NUL bytes (missing
 * parts are empty). A transformer that compiles is applied to the event;
 * the second part is also tried as an InputPath.
 */
#include "match/match.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *p[3] = { "", "", "" };
    size_t len[3] = { 0, 0, 0 };
    const char *s = (const char *)d, *end = s + n;
    for (int k = 0; k < 3 && s <= end; k++) {
        const char *z = k < 2 ? memchr(s, '\0', (size_t)(end - s)) : NULL;
        p[k] = s;
        len[k] = z ? (size_t)(z - s) : (size_t)(end - s);
        s += len[k] + 1;
        if (!z)
            break;
    }
    struct err err;
    struct match_xform *x = NULL;
    err_clear(&err);
    if (match_xform_new(p[0], len[0], p[1], len[1], &x, &err) == 0) {
        const char *names[] = { "aws.events.rule-name", "aws.events.rule-arn" };
        const char *vals[] = { "rule", "arn:aws:events:us-east-1:1:rule/rule" };
        struct match_xform_vars vars = { names, vals, 2 };
        struct buf out;
        buf_init(&out, 0);
        match_xform_apply(x, p[2], len[2], &vars, &out, &err);
        buf_free(&out);
        match_xform_free(x);
    } else if (x) {
        abort();
    }
    struct buf out;
    bool found;
    buf_init(&out, 0);
    if (match_path_check(p[1], len[1], &err) == 0)
        match_path_extract(p[1], len[1], p[2], len[2], &out, &found, &err);
    buf_free(&out);
    return 0;
}
