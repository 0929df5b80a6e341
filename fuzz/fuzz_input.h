/*
 * Shared body of the input fuzz targets (fuzz_cloudtrail, fuzz_vpcflow,
 * fuzz_dns): the bytes are one in-memory input (gzip or not) read to the end.
 * Every event's views are read byte by byte so the sanitizers see any view
 * that points outside live memory; results must stay within the reader's
 * contract (known return codes, progress on every call).
 */
#ifndef VIGIL_FUZZ_INPUT_H
#define VIGIL_FUZZ_INPUT_H

#include "event/event.h"
#include "input/input.h"
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

static unsigned fuzz_touch(struct sv s)
{
    unsigned h = 0;
    for (size_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.p[i];
    return h;
}

static void fuzz_check_event(const struct event *ev)
{
    volatile unsigned h = 0;
    if ((unsigned)ev->source >= EVENT_SOURCE_COUNT)
        abort();
    h += fuzz_touch(ev->raw) + fuzz_touch(ev->id) + fuzz_touch(ev->account);
    h += fuzz_touch(ev->region) + fuzz_touch(ev->src_ip) + fuzz_touch(ev->event_name);
    h += fuzz_touch(ev->event_source) + fuzz_touch(ev->principal_arn) + fuzz_touch(ev->user_name);
    h += fuzz_touch(ev->envelope.raw) + fuzz_touch(ev->envelope.detail_type);
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (strlen(l->path) != l->path_len)
            abort();
        h += fuzz_touch(sv_make(l->path, l->path_len)) + fuzz_touch(sv_make(l->val, l->val_len));
        for (uint16_t k = 0; k < l->n_arr; k++)
            h += l->arr[k].index;
    }
    if (ev->source != EVENT_CLOUDTRAIL && ev->id.len != 16)
        abort();
    (void)h;
}

static void fuzz_input(const uint8_t *d, size_t n, const struct input_options *opt)
{
    struct input_reader *r = NULL;
    struct err err;
    if (input_open_mem("fuzz", d, n, opt, &r, &err) != 0)
        abort();
    struct event ev;
    uint64_t calls = 0;
    int rc;
    while ((rc = input_next(r, &ev, &err)) != INPUT_END) {
        calls++;
        if (rc == 0)
            fuzz_check_event(&ev);
        else if (rc != INPUT_NOTE && rc != ERR_FORMAT && rc != ERR_LIMIT)
            abort();
        else if (err.msg[0] == '\0' || strcmp(err.file, "fuzz") != 0)
            abort();
    }
    struct input_stats st;
    input_get_stats(r, &st);
    /* Every call consumed at least one byte of the (decompressed) input. */
    if (calls > st.bytes_out + 2 || st.records + st.errors + st.notes != calls)
        abort();
    input_close(r);
}

#endif
