/*
 * Fuzz target for detection over hostile records: the bytes are one input
 * (CloudTrail, VPC flow, Resolver, ...; gzip or not) read to the end through
 * every built-in rule, stateless and stateful (a stream, flushed at the end).
 * Derivation reads flow addresses, numbers and DNS names several bytes at a
 * time; the input is the fuzzer's own buffer (a plain input is not copied),
 * so a read past a record's end is past the allocation and ASan sees it.
 * Every detection's views are touched.
 */
#include "detect/detect.h"
#include "input/input.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void on_detection(void *ctx, const struct detection *det)
{
    size_t *count = ctx;
    volatile unsigned h = 0;
    for (const char *c = det->title; c && *c; c++)
        h += (unsigned char)*c;
    for (size_t i = 0; i < det->key.len; i++)
        h += (unsigned char)det->key.p[i];
    for (size_t i = 0; i < det->indicator.len; i++)
        h += (unsigned char)det->indicator.p[i];
    (void)h;
    (*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct detect_rules *rs = detect_rules_new();
    struct err err;
    err_clear(&err);
    if (detect_rules_load(rs, VIGIL_FUZZ_RULES, &err) != 0)
        abort(); /* the built-in pack must load */
    struct detect_engine *e = NULL;
    if (detect_engine_new(rs, NULL, &e, &err) != 0)
        abort();
    struct detect_stream *st = detect_stream_new(e, 5 * 60 * 1000);
    struct input_reader *r = NULL;
    if (input_open_mem("fuzz", d, n, NULL, &r, &err) != 0)
        abort();
    size_t found = 0;
    struct event ev;
    int rc;
    while ((rc = input_next(r, &ev, &err)) != INPUT_END)
        if (rc == 0)
            detect_stream_event(st, &ev, on_detection, &found);
    detect_stream_flush(st, on_detection, &found);
    input_close(r);
    detect_stream_free(st);
    detect_engine_free(e);
    detect_rules_free(rs);
    return 0;
}
