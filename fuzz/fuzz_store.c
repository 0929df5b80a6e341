/*
 * Fuzz target for the store's row building and lookups: the bytes are one
 * input file (any format the reader accepts); every event is put into an
 * in-memory store twice (the second time must insert nothing), its resources
 * and user name are derived, and LookupEvents runs with each attribute on the
 * values found. The same bytes are also tried as a CLI timestamp and as a JSON
 * text to compact (compacting twice must change nothing).
 */
#include "input/input.h"
#include "query/query.h"
#include "store/store.h"
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static int count_row(void *ctx, const struct store_lookup_row *row)
{
    size_t *c = ctx;
    if (row->event_id == NULL || row->cloudtrail_event == NULL ||
        strlen(row->cloudtrail_event) != row->cloudtrail_event_len)
        abort();
    (*c)++;
    return 0;
}

static void lookups(struct store *st, const char *name, const char *user)
{
    static const char *const keys[] = { "EventId", "EventName", "ReadOnly", "Username",
                                        "ResourceType", "ResourceName", "EventSource",
                                        "AccessKeyId" };
    char tok[QUERY_LOOKUP_TOKEN_MAX];
    struct query_aws_error ae;
    struct err e;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        struct query_lookup_attr at = { keys[k], k == 3 ? user : name };
        struct query_lookup_req req = { .attrs = &at, .n_attrs = 1, .max_results = 3 };
        size_t c = 0;
        int rc = query_lookup_events(st, &req, count_row, &c, tok, &ae, &e);
        if (rc != 0 && rc != ERR_USAGE)
            abort();
        if (c > 3)
            abort();
        if (tok[0]) {
            req.next_token = tok;
            char tok2[QUERY_LOOKUP_TOKEN_MAX];
            if (query_lookup_events(st, &req, count_row, &c, tok2, &ae, &e) != 0)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *text = malloc(n + 1);
    memcpy(text, d, n);
    text[n] = '\0';
    int64_t ms;
    (void)query_parse_cli_time(text, &ms);
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    if (store__compact_json(sv_make(text, n), &a) == 0) {
        if (!store__json_is_compact(sv_make(a.p, a.len)))
            abort();
        store__compact_json(sv_make(a.p, a.len), &b);
        if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
            abort();
    }
    buf_free(&a);
    buf_free(&b);

    struct store *st = NULL;
    struct err e;
    if (store_open(":memory:", &st, &e) != 0)
        abort();
    struct json_pathset *ps = json_pathset_new();
    store_add_paths(ps);
    struct input_options opt = { .want = ps, .max_record = 8192, .max_file = 1 << 20 };
    char name[128] = "x", user[128] = "x";
    for (int pass = 0; pass < 2; pass++) {
        struct input_reader *r = NULL;
        if (input_open_mem("fuzz", d, n, &opt, &r, &e) != 0 || store_begin(st, &e) != 0)
            abort();
        struct event ev;
        int rc;
        while ((rc = input_next(r, &ev, &e)) != INPUT_END) {
            if (rc != 0)
                continue;
            bool ins = false;
            rc = store_put_event(st, &ev, 0, &ins, &e);
            if (rc == ERR_DB || rc == ERR_INTERNAL)
                abort();
            if (pass == 1 && ins)
                abort(); /* the same input twice must insert nothing */
            if (ev.source == EVENT_CLOUDTRAIL && ev.event_name.len > 0 && ev.event_name.len < 100)
                snprintf(name, sizeof(name), "%.*s", (int)ev.event_name.len, ev.event_name.p);
            struct arena ar;
            arena_init(&ar, 0);
            struct store_resource res[8];
            size_t nr = store_event_resources(&ev, &ar, res, 8);
            if (nr > 8)
                abort();
            struct sv u = store_username(&ev, &ar);
            if (u.len > 0 && u.len < 100)
                snprintf(user, sizeof(user), "%.*s", (int)u.len, u.p);
            arena_free(&ar);
        }
        if (store_commit(st, &e) != 0)
            abort();
        input_close(r);
    }
    lookups(st, name, user);
    json_pathset_free(ps);
    store_close(st);
    free(text);
    return 0;
}
