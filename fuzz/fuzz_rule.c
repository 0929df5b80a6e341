/*
 * Fuzz target for the rule loader: arbitrary bytes as a YAML rule file. A file
 * that loads is also compiled into an engine, so patterns the loader accepted
 * must compile together too.
 */
#include "detect/detect.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct detect_rules *rs = detect_rules_new();
    struct err err;
    err_clear(&err);
    if (detect_rules_load_text(rs, "fuzz.yaml", (const char *)d, n, &err) == 0) {
        struct detect_engine *e = NULL;
        if (detect_engine_new(rs, NULL, &e, &err) != 0)
            abort(); /* the loader validated every pattern */
        detect_engine_free(e);
    } else if (detect_rules_count(rs) != 0) {
        abort(); /* a failed file adds nothing */
    }
    detect_rules_free(rs);
    return 0;
}
