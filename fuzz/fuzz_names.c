/*
 * Fuzz target for what a log file's path tells the reader: the S3 layout's
 * hint (input_hint_from_path) and the delivery time in the base name
 * (input_name_time, which orders an archive's reading). The bytes, up to the
 * first NUL, are the path. A time found must be the name's own digits, read
 * back: anything else aborts.
 */
#include "input/input.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *path = malloc(n + 1);
    if (path == NULL)
        return 0;
    memcpy(path, d, n);
    path[n] = '\0';
    struct input_file f;
    input_hint_from_path(path, &f);
    if (memchr(f.account, '\0', sizeof(f.account)) == NULL ||
        memchr(f.region, '\0', sizeof(f.region)) == NULL)
        abort();
    int64_t ms;
    size_t off, plen;
    if (input_name_time(path, &ms, &off, &plen)) {
        size_t len = strlen(path);
        if (off > len || plen + 16 > len - off || path[off + plen] != '_' ||
            memchr(path + off, '/', len - off) != NULL)
            abort();
        const char *t = path + off + plen + 1;
        char iso[32];
        time_format_iso8601(ms, false, iso);
        /* YYYYMMDDTHHmm against YYYY-MM-DDTHH:mm:00Z. */
        if (memcmp(t, iso, 4) != 0 || memcmp(t + 4, iso + 5, 2) != 0 || memcmp(t + 6, iso + 8, 2) != 0 ||
            memcmp(t + 9, iso + 11, 2) != 0 || memcmp(t + 11, iso + 14, 2) != 0 ||
            strcmp(iso + 16, ":00Z") != 0)
            abort();
    }
    free(path);
    return 0;
}
