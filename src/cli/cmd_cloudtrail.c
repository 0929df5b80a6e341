/*
 * vigil cloudtrail lookup-events: `aws cloudtrail lookup-events` over the
 * local store (query_lookup_events), with the AWS CLI's flags and output.
 *
 *   --lookup-attributes AttributeKey=K,AttributeValue=V [more items...]
 *                         shorthand, or JSON: [{"AttributeKey":...,"AttributeValue":...}]
 *   --start-time T --end-time T     epoch seconds, ISO 8601, "01-27-2015, 01:16 PM" ...
 *   --event-category insight
 *   --max-results N       one page of N (1-50) and a NextToken, as the API does
 *   --max-items N         the CLI's total cap, NextToken when cut
 *   --no-paginate         the first page only (MaxResults, default 50)
 *   --starting-token T / --next-token T
 *   --region R            only events of that Region (default: every Region)
 *   --output json|table   json by default unless stdout is a terminal
 *
 * Without --max-results/--max-items every matching event is printed, as the
 * CLI does by following NextToken. Errors LookupEvents would return print as
 * the CLI prints them, with its exit status: 254 for a service exception, 252
 * for what the CLI's parameter validation rejects. Vigil's own errors: 1 (bad
 * usage, no store), 2 (store failure).
 */
#include "cli/cli.h"
#include "core/core.h"
#include "json/json.h"
#include "query/query.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* AWS CLI v2 return codes (docs: "Command line return codes in the AWS CLI"). */
#define AWS_RC_PARAM 252   /* syntax or parameter validation */
#define AWS_RC_SERVICE 254 /* the service returned an error */

#define MAX_ATTRS 16

enum out_fmt { OUT_JSON, OUT_TABLE };

struct args {
    const char *db;
    struct query_lookup_attr attrs[MAX_ATTRS];
    size_t n_attrs;
    struct query_lookup_req req;
    size_t max_items;
    bool no_paginate;
    enum out_fmt fmt;
    bool fmt_set;
    struct arena arena; /* attribute strings */
};

static void usage(FILE *out)
{
    fputs("usage: vigil cloudtrail lookup-events --db FILE\n"
          "           [--lookup-attributes AttributeKey=K,AttributeValue=V]\n"
          "           [--start-time T] [--end-time T] [--event-category insight]\n"
          "           [--max-results N] [--max-items N] [--starting-token T] [--no-paginate]\n"
          "           [--region R] [--output json|table]\n"
          "\n"
          "  K is one of EventId, EventName, ReadOnly, Username, ResourceType,\n"
          "  ResourceName, EventSource, AccessKeyId (exact, case-sensitive; one per call).\n"
          "  T is epoch seconds or a date/time (2023-07-10, 2023-07-10T12:00:00Z, ...),\n"
          "  UTC unless it carries an offset. Events come newest first; management\n"
          "  events only (Insights events with --event-category insight).\n",
          out);
}

static int param_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int param_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\n", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    return AWS_RC_PARAM;
}

/* One shorthand item "AttributeKey=K,AttributeValue=V" (values may be quoted). */
static int parse_shorthand(struct args *a, const char *s)
{
    if (a->n_attrs == MAX_ATTRS)
        return param_error("Too many lookup attributes (%s)", "more than 16");
    struct query_lookup_attr *at = &a->attrs[a->n_attrs];
    at->key = at->value = NULL;
    const char *p = s;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (eq == NULL)
            return param_error("Error parsing parameter '--lookup-attributes': Expected: '=', "
                               "received: end of input for input:\n%s",
                               s);
        struct sv name = sv_make(p, (size_t)(eq - p));
        const char *v = eq + 1;
        struct buf val;
        buf_init(&val, 0);
        buf_append(&val, "", 0);
        char q = (*v == '"' || *v == '\'') ? *v : 0;
        if (q) {
            v++;
            while (*v && *v != q)
                buf_putc(&val, *v++);
            if (*v != q) {
                buf_free(&val);
                return param_error("Error parsing parameter '--lookup-attributes': unterminated "
                                   "quote in %s",
                                   s);
            }
            v++;
        } else {
            while (*v && *v != ',')
                buf_putc(&val, *v++);
        }
        char *copy = arena_strndup(&a->arena, val.p ? val.p : "", val.len);
        buf_free(&val);
        if (sv_eq_cstr(name, "AttributeKey")) {
            at->key = copy;
        } else if (sv_eq_cstr(name, "AttributeValue")) {
            at->value = copy;
        } else {
            char nm[128];
            snprintf(nm, sizeof(nm), "%.*s", (int)(name.len > 100 ? 100 : name.len), name.p);
            return param_error("Parameter validation failed:\nUnknown parameter in "
                               "LookupAttributes[0]: \"%s\", must be one of: AttributeKey, "
                               "AttributeValue",
                               nm);
        }
        if (*v == ',')
            v++;
        else if (*v != '\0')
            return param_error("Error parsing parameter '--lookup-attributes': Expected: ',', "
                               "received: a character after a quoted value in %s",
                               s);
        p = v;
    }
    a->n_attrs++;
    return 0;
}

/* The JSON form: [{"AttributeKey": "...", "AttributeValue": "..."}, ...]. */
static int parse_json_attrs(struct args *a, const char *s)
{
    struct json_value *v;
    struct err e;
    err_clear(&e);
    if (json_parse(s, strlen(s), &a->arena, &v, &e) != 0 || v->type != JSON_ARRAY)
        return param_error("Error parsing parameter '--lookup-attributes': Invalid JSON: %s",
                           e.msg[0] ? e.msg : "expected a list");
    for (size_t i = 0; i < v->n; i++) {
        const struct json_value *it = &v->items[i];
        if (it->type != JSON_OBJECT || a->n_attrs == MAX_ATTRS)
            return param_error("Parameter validation failed:\nInvalid type for parameter "
                               "LookupAttributes[%s], expected a structure",
                               "n");
        const struct json_value *k = json_get(it, "AttributeKey");
        const struct json_value *val = json_get(it, "AttributeValue");
        a->attrs[a->n_attrs].key = k && k->type == JSON_STRING ? k->str : NULL;
        a->attrs[a->n_attrs].value = val && val->type == JSON_STRING ? val->str : NULL;
        a->n_attrs++;
    }
    return 0;
}

static int parse_time_arg(const char *flag, const char *v, int64_t *ms)
{
    if (!query_parse_cli_time(v, ms)) {
        fprintf(stderr,
                "\nInvalid value for parameter %s: \"%s\" is not a timestamp (epoch seconds or "
                "ISO 8601)\n",
                flag, v);
        return AWS_RC_PARAM;
    }
    return 0;
}

static int parse_args(struct args *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(o, "--no-paginate") == 0) {
            a->no_paginate = true; /* one API call: the first page */
            continue;
        }
        if (strcmp(o, "--no-cli-pager") == 0)
            continue;
        if (strncmp(o, "--", 2) != 0 || v == NULL) {
            if (strncmp(o, "--", 2) == 0)
                fprintf(stderr, "vigil cloudtrail lookup-events: %s needs a value\n", o);
            else
                fprintf(stderr, "vigil cloudtrail lookup-events: unexpected argument '%s'\n", o);
            usage(stderr);
            return 1;
        }
        i++;
        int rc = 0;
        if (strcmp(o, "--db") == 0) {
            a->db = v;
        } else if (strcmp(o, "--lookup-attributes") == 0) {
            /* The list's items are the following words up to the next option. */
            for (;;) {
                const char *s = argv[i];
                while (*s == ' ')
                    s++;
                rc = *s == '[' ? parse_json_attrs(a, s) : parse_shorthand(a, s);
                if (rc != 0 || i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                    break;
                i++;
            }
        } else if (strcmp(o, "--start-time") == 0) {
            rc = parse_time_arg("start-time", v, &a->req.start_ms);
            a->req.has_start = true;
        } else if (strcmp(o, "--end-time") == 0) {
            rc = parse_time_arg("end-time", v, &a->req.end_ms);
            a->req.has_end = true;
        } else if (strcmp(o, "--event-category") == 0) {
            a->req.event_category = v;
        } else if (strcmp(o, "--max-results") == 0 || strcmp(o, "--max-items") == 0 ||
                   strcmp(o, "--page-size") == 0) {
            uint64_t n;
            if (!sv_to_u64(sv_cstr(v), &n) || n == 0 || n > SIZE_MAX / 2) {
                fprintf(stderr, "\nInvalid value for parameter %s: \"%s\" is not a positive "
                                "integer\n", o + 2, v);
                return AWS_RC_PARAM;
            }
            if (strcmp(o, "--max-results") == 0)
                a->req.max_results = (size_t)n;
            else if (strcmp(o, "--max-items") == 0)
                a->max_items = (size_t)n;
            /* --page-size only shapes the CLI's API calls; nothing to do here. */
        } else if (strcmp(o, "--starting-token") == 0 || strcmp(o, "--next-token") == 0) {
            a->req.next_token = v;
        } else if (strcmp(o, "--region") == 0) {
            a->req.region = v;
        } else if (strcmp(o, "--output") == 0) {
            if (strcmp(v, "json") == 0) {
                a->fmt = OUT_JSON;
            } else if (strcmp(v, "table") == 0) {
                a->fmt = OUT_TABLE;
            } else {
                fprintf(stderr, "vigil cloudtrail lookup-events: unknown --output '%s' (json, "
                                "table)\n", v);
                return 1;
            }
            a->fmt_set = true;
        } else {
            fprintf(stderr, "vigil cloudtrail lookup-events: unknown option '%s'\n", o);
            usage(stderr);
            return 1;
        }
        if (rc != 0)
            return rc;
    }
    if (a->db == NULL) {
        fprintf(stderr, "vigil cloudtrail lookup-events: --db FILE is required\n");
        usage(stderr);
        return 1;
    }
    if (a->no_paginate && a->req.max_results == 0)
        a->req.max_results = QUERY_LOOKUP_MAX_RESULTS;
    a->req.attrs = a->attrs;
    a->req.n_attrs = a->n_attrs;
    if (!a->fmt_set)
        a->fmt = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_JSON;
    return 0;
}

/* ---- output -------------------------------------------------------------------- */

struct out {
    enum out_fmt fmt;
    struct json_writer w;
    struct buf b;
    size_t count;
    size_t cap; /* --max-items: stop after this many (0 = none) */
};

static void flush_buf(struct out *o)
{
    if (o->b.len)
        fwrite(o->b.p, 1, o->b.len, stdout);
    buf_reset(&o->b);
}

/* Fits s into width columns (cut with "..."), padded. */
static void cell(struct buf *b, const char *s, int width)
{
    size_t n = s ? strlen(s) : 0;
    if (n > (size_t)width) {
        buf_append(b, s, (size_t)width - 3);
        buf_append_cstr(b, "...");
    } else {
        if (n)
            buf_append(b, s, n);
        for (size_t i = n; i < (size_t)width; i++)
            buf_putc(b, ' ');
    }
    buf_putc(b, ' ');
}

static void table_head(struct buf *b)
{
    cell(b, "EventTime", 25);
    cell(b, "EventName", 30);
    cell(b, "Username", 28);
    cell(b, "EventSource", 28);
    cell(b, "ReadOnly", 8);
    buf_append_cstr(b, "Resources\n");
}

static int on_row(void *ctx, const struct store_lookup_row *row)
{
    struct out *o = ctx;
    if (o->fmt == OUT_JSON) {
        query_lookup_write_event(&o->w, row, true);
    } else {
        char when[48];
        query_format_cli_time(row->time_ms, true, when);
        cell(&o->b, when, 25);
        cell(&o->b, row->event_name, 30);
        cell(&o->b, row->username ? row->username : "-", 28);
        cell(&o->b, row->event_source, 28);
        cell(&o->b, row->read_only ? row->read_only : "-", 8);
        for (size_t i = 0; i < row->n_resources && i < 3; i++)
            buf_printf(&o->b, "%s%s %s", i ? ", " : "",
                       row->resources[i].type ? row->resources[i].type : "?",
                       row->resources[i].name);
        if (row->n_resources > 3)
            buf_printf(&o->b, " (+%zu)", row->n_resources - 3);
        while (o->b.len > 0 && o->b.p[o->b.len - 1] == ' ')
            o->b.len--;
        buf_putc(&o->b, '\n');
    }
    o->count++;
    if (o->b.len > (1 << 16))
        flush_buf(o);
    return 0;
}

static int report_aws(const struct query_aws_error *ae)
{
    if (strcmp(ae->code, "ParamValidation") == 0) {
        fprintf(stderr, "\nParameter validation failed:\n%s\n", ae->message);
        return AWS_RC_PARAM;
    }
    fprintf(stderr, "\nAn error occurred (%s) when calling the LookupEvents operation: %s\n",
            ae->code, ae->message);
    return AWS_RC_SERVICE;
}

static int lookup_events(int argc, char **argv)
{
    struct args a;
    memset(&a, 0, sizeof(a));
    arena_init(&a.arena, 0);
    int status = parse_args(&a, argc, argv);
    if (status != 0) {
        arena_free(&a.arena);
        return status < 0 ? 0 : status;
    }
    struct err e;
    err_clear(&e);
    struct store *st = NULL;
    if (store_open_flags(a.db, STORE_OPEN_READONLY, &st, &e) != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil cloudtrail lookup-events: %s\n", line);
        arena_free(&a.arena);
        return e.code == ERR_NOTFOUND || e.code == ERR_IO ? 1 : 2;
    }

    struct out o = { .fmt = a.fmt };
    buf_init(&o.b, 0);
    jw_init(&o.w, &o.b, 4);
    if (o.fmt == OUT_JSON) {
        jw_object_begin(&o.w);
        jw_key(&o.w, "Events");
        jw_array_begin(&o.w);
    } else {
        table_head(&o.b);
    }

    char token[QUERY_LOOKUP_TOKEN_MAX] = "";
    char prev[QUERY_LOOKUP_TOKEN_MAX];
    struct query_aws_error ae;
    int rc;
    if (a.max_items > 0) {
        /* The CLI's pagination: pages of at most 50 until max-items, so the
         * last token resumes exactly after the last event printed. */
        size_t want = a.max_items;
        struct query_lookup_req r = a.req;
        for (;;) {
            size_t page = want - o.count;
            if (a.req.max_results && a.req.max_results < page)
                page = a.req.max_results;
            if (page > QUERY_LOOKUP_MAX_RESULTS)
                page = QUERY_LOOKUP_MAX_RESULTS;
            r.max_results = page;
            rc = query_lookup_events(st, &r, on_row, &o, token, &ae, &e);
            if (rc != 0 || token[0] == '\0' || o.count >= want)
                break;
            memcpy(prev, token, sizeof(prev));
            r.next_token = prev;
        }
    } else {
        rc = query_lookup_events(st, &a.req, on_row, &o, token, &ae, &e);
    }

    if (rc == ERR_USAGE) {
        status = report_aws(&ae);
    } else if (rc != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil cloudtrail lookup-events: %s\n", line);
        status = 2;
    } else {
        if (o.fmt == OUT_JSON) {
            jw_array_end(&o.w);
            if (token[0]) {
                jw_key(&o.w, "NextToken");
                jw_str(&o.w, token);
            }
            jw_object_end(&o.w);
            buf_putc(&o.b, '\n');
        } else if (token[0]) {
            buf_printf(&o.b, "NextToken: %s\n", token);
        }
        flush_buf(&o);
        status = 0;
    }
    if (status != 0)
        buf_reset(&o.b); /* nothing half-written on stdout for a refused request */
    fflush(stdout);
    buf_free(&o.b);
    store_close(st);
    arena_free(&a.arena);
    return status;
}

int cmd_cloudtrail(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "lookup-events") == 0)
        return lookup_events(argc - 1, argv + 1);
    fprintf(stderr, "vigil cloudtrail: unknown operation '%s' (lookup-events)\n", argv[1]);
    return 1;
}
