/* Error values with their context; see core.h. */
#include "core.h"

#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void err_where(struct err *err, const char *file, uint64_t record, uint64_t offset)
{
    if (err == NULL)
        return;
    if (file != NULL)
        snprintf(err->file, sizeof(err->file), "%s", file);
    err->record = record;
    err->offset = offset;
}

void err_clear(struct err *err)
{
    if (err == NULL)
        return;
    err->code = ERR_OK;
    err->msg[0] = '\0';
    err->file[0] = '\0';
    err->record = 0;
    err->offset = 0;
}

void err_format(const struct err *err, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    if (err->file[0] != '\0')
        n += (size_t)snprintf(out + n, cap - n, "%s: ", err->file);
    if (n < cap && err->record != 0)
        n += (size_t)snprintf(out + n, cap - n, "record %llu: ", (unsigned long long)err->record);
    if (n < cap)
        snprintf(out + n, cap - n, "%s", err->msg[0] ? err->msg : err_name(err->code));
}

const char *err_name(int code)
{
    static const char *const names[] = {
        "ok", "io", "format", "limit", "not found", "usage", "database", "internal",
    };
    if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[code];
}
