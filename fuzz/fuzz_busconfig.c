/*
 * Fuzz target for the bus configuration loader (JSON or YAML): arbitrary
 * bytes as a configuration file. A configuration that loads must write back
 * to JSON that loads again and writes the same text (put-rule and
 * put-targets rewrite files this way).
 */
#include "bus/bus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct bus_config *cfg = NULL, *again = NULL;
    struct err err;
    err_clear(&err);
    if (bus_config_parse((const char *)d, n, "fuzz.json", NULL, &cfg, &err) != 0) {
        if (cfg)
            abort(); /* a failed load returns nothing */
        return 0;
    }
    struct buf w1, w2;
    buf_init(&w1, 0);
    buf_init(&w2, 0);
    bus_config_write(cfg, &w1, 2);
    if (bus_config_parse(w1.p, w1.len, "fuzz.json", NULL, &again, &err) != 0)
        abort(); /* what was written must load */
    bus_config_write(again, &w2, 2);
    if (w1.len != w2.len || memcmp(w1.p, w2.p, w1.len) != 0)
        abort(); /* and write the same */
    buf_free(&w1);
    buf_free(&w2);
    bus_config_free(again);
    bus_config_free(cfg);
    return 0;
}
