/*
 * vigil logs: CloudWatch Logs operations over local data, with the AWS CLI's
 * flags and output shapes.
 *
 *   vigil logs test-metric-filter --filter-pattern P --log-event-messages M1 [M2 ...]
 *       -> {"matches": [{"eventNumber", "eventMessage", "extractedValues"}]}
 *   vigil logs filter-log-events [--filter-pattern P] [--start-time T] [--end-time T]
 *                                [--limit N] FILE...
 *       -> {"events": [{"logStreamName", "timestamp", "message", "ingestionTime",
 *                       "eventId"}], "searchedLogStreams": [...]}
 *
 * For filter-log-events each FILE (plain or gzip) is a log stream named by its
 * path. A CloudTrail file ({"Records":[...]}) yields one event per record, as
 * CloudTrail delivers to CloudWatch Logs; any other file yields one event per
 * non-empty line. An event's timestamp is its own time when it has one (a
 * leading ISO 8601 time, or eventTime / time / timestamp in a JSON object),
 * else the file's modification time; ingestionTime is the same value, since
 * we do not know when AWS would have ingested it. Events are printed in
 * timestamp order across streams, as FilterLogEvents returns them.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "json/json.h"
#include "query/query.h"

#include <errno.h>
#include <inttypes.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Caps on what one run reads and keeps; past them the command fails with a message. */
#define LOGS_MAX_FILE ((size_t)2 << 30)        /* decompressed bytes per file */
#define LOGS_MAX_KEPT ((size_t)1 << 30)        /* bytes of matched messages kept for sorting */

static void usage(FILE *out)
{
    fputs("usage: vigil logs test-metric-filter --filter-pattern P --log-event-messages M1 [M2 ...]\n"
          "       vigil logs filter-log-events [--filter-pattern P] [--start-time T] [--end-time T]\n"
          "                                    [--limit N] FILE...\n"
          "\n"
          "  T is epoch milliseconds or an ISO 8601 time; FILE is a plain or gzip log file\n"
          "  (one event per line) or a CloudTrail {\"Records\":[...]} file.\n"
          "  Filter pattern syntax: docs/filter-patterns.md\n",
          out);
}

static int compile_or_report(const char *cmd, const char *pattern, struct query_filter **out)
{
    struct err e;
    err_clear(&e);
    if (query_filter_compile(pattern, strlen(pattern), out, &e) != 0) {
        fprintf(stderr, "vigil logs %s: invalid filter pattern: %s\n", cmd, e.msg);
        return 1;
    }
    return 0;
}

static void print_buf(struct buf *b)
{
    if (b->len)
        fwrite(b->p, 1, b->len, stdout);
    fputc('\n', stdout);
}

/* ---- test-metric-filter -------------------------------------------------- */

static int test_metric_filter(int argc, char **argv)
{
    const char *pattern = NULL;
    int first_msg = -1, n_msg = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter-pattern") == 0 && i + 1 < argc) {
            pattern = argv[++i];
        } else if (strncmp(argv[i], "--filter-pattern=", 17) == 0) {
            pattern = argv[i] + 17;
        } else if (strcmp(argv[i], "--log-event-messages") == 0) {
            first_msg = i + 1;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                i++;
                n_msg++;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "vigil logs test-metric-filter: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }
    if (!pattern || n_msg == 0) {
        fprintf(stderr, "vigil logs test-metric-filter: --filter-pattern and at least one "
                        "--log-event-messages value are required\n");
        usage(stderr);
        return 1;
    }
    struct query_filter *f;
    if (compile_or_report("test-metric-filter", pattern, &f))
        return 1;
    struct query_filter_scratch *s = query_filter_scratch_new();
    struct buf out;
    buf_init(&out, 0);
    struct json_writer w;
    jw_init(&w, &out, 4); /* the AWS CLI prints JSON with 4-space indentation */
    jw_object_begin(&w);
    jw_key(&w, "matches");
    jw_array_begin(&w);
    for (int k = 0; k < n_msg; k++) {
        const char *m = argv[first_msg + k];
        size_t len = strlen(m);
        if (!query_filter_match(f, m, len, s))
            continue;
        jw_object_begin(&w);
        jw_key(&w, "eventNumber");
        jw_int(&w, k + 1);
        jw_key(&w, "eventMessage");
        jw_str_sv(&w, sv_make(m, len));
        jw_key(&w, "extractedValues");
        jw_object_begin(&w);
        const struct query_filter_field *fv;
        size_t n = query_filter_extracted(s, &fv);
        for (size_t j = 0; j < n; j++) {
            jw_key_sv(&w, fv[j].name);
            jw_str_sv(&w, fv[j].value);
        }
        jw_object_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    print_buf(&out);
    buf_free(&out);
    query_filter_scratch_free(s);
    query_filter_free(f);
    return 0;
}

/* ---- reading log files ---------------------------------------------------- */

/* Reads a whole file, inflating gzip (all members). The input module will
 * take this over; until then the command reads files itself. */
static int read_file(const char *path, struct buf *out, int64_t *mtime_ms, struct err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) == 0)
        *mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    struct buf raw;
    buf_init(&raw, LOGS_MAX_FILE);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if (buf_append(&raw, chunk, n) != 0)
            rc = err_set(err, ERR_LIMIT, "file larger than %zu bytes", LOGS_MAX_FILE);
    if (rc == 0 && ferror(fp))
        rc = err_set(err, ERR_IO, "read error: %s", strerror(errno));
    fclose(fp);
    if (rc) {
        buf_free(&raw);
        return rc;
    }
    if (raw.len < 2 || (unsigned char)raw.p[0] != 0x1f || (unsigned char)raw.p[1] != 0x8b) {
        buf_free(out);
        *out = raw;
        return 0;
    }
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t in_off = 0;
    buf_reset(out);
    while (rc == 0 && in_off < raw.len) {
        size_t avail = (raw.len - in_off) * 4 + 4096, in_used = 0, out_len = 0;
        for (;;) {
            if (out->len + avail > LOGS_MAX_FILE) {
                rc = err_set(err, ERR_LIMIT, "file inflates past %zu bytes", LOGS_MAX_FILE);
                break;
            }
            if (buf_reserve(out, avail) != 0) {
                rc = err_set(err, ERR_LIMIT, "file inflates past %zu bytes", LOGS_MAX_FILE);
                break;
            }
            enum libdeflate_result r = libdeflate_gzip_decompress_ex(
                d, raw.p + in_off, raw.len - in_off, out->p + out->len, avail, &in_used, &out_len);
            if (r == LIBDEFLATE_SUCCESS) {
                out->len += out_len;
                out->p[out->len] = 0;
                in_off += in_used;
                break;
            }
            if (r != LIBDEFLATE_INSUFFICIENT_SPACE) {
                rc = err_set(err, ERR_FORMAT, "bad or truncated gzip data at byte %zu", in_off);
                break;
            }
            avail *= 2;
        }
    }
    libdeflate_free_decompressor(d);
    buf_free(&raw);
    return rc;
}

struct kept_event {
    size_t stream;
    uint64_t record;
    int64_t ts;
    char *msg;
    size_t len;
};

struct fle {
    const struct query_filter *f;
    struct query_filter_scratch *s;
    struct arena arena; /* per-event JSON for timestamps */
    bool has_start, has_end;
    int64_t start, end;
    struct kept_event *ev;
    size_t n, cap, kept_bytes;
    int rc;
};

/* The event's own time: a leading ISO 8601 token, or eventTime / time /
 * timestamp of a JSON object. */
static bool event_time(struct fle *x, const char *m, size_t len, int64_t *out)
{
    if (len && m[0] == '{') {
        struct json_value *root;
        struct err e;
        bool ok = false;
        arena_reset(&x->arena);
        if (json_parse(m, len, &x->arena, &root, &e) == 0 && root->type == JSON_OBJECT) {
            static const char *const keys[] = { "eventTime", "time", "timestamp" };
            for (size_t k = 0; k < 3 && !ok; k++) {
                const struct json_value *v = json_get(root, keys[k]);
                if (v && v->type == JSON_STRING)
                    ok = time_parse_iso8601(sv_make(v->str, v->len), out);
                else if (v && v->type == JSON_NUMBER)
                    ok = sv_to_i64(sv_make(v->str, v->len), out);
            }
        }
        return ok;
    }
    size_t i = 0;
    while (i < len && m[i] != ' ' && m[i] != '\t')
        i++;
    return i >= 10 && time_parse_iso8601(sv_make(m, i), out);
}

static void consider(struct fle *x, size_t stream, uint64_t record, int64_t mtime, const char *m,
                     size_t len)
{
    if (x->rc)
        return;
    int64_t ts = mtime;
    bool timed = false;
    if (x->has_start || x->has_end) {
        if (!event_time(x, m, len, &ts))
            ts = mtime;
        timed = true;
        if ((x->has_start && ts < x->start) || (x->has_end && ts > x->end))
            return;
    }
    if (!query_filter_match(x->f, m, len, x->s))
        return;
    if (!timed && !event_time(x, m, len, &ts))
        ts = mtime;
    if (x->kept_bytes + len > LOGS_MAX_KEPT) {
        fprintf(stderr, "vigil logs filter-log-events: more than %zu bytes of matching events; "
                        "narrow the pattern or the time range, or use --limit\n", LOGS_MAX_KEPT);
        x->rc = 1;
        return;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 256;
        x->ev = xrealloc(x->ev, x->cap * sizeof(*x->ev));
    }
    x->ev[x->n++] = (struct kept_event){ .stream = stream, .record = record, .ts = ts,
                                         .msg = xstrndup(m, len), .len = len };
    x->kept_bytes += len;
}

/* If data is {"Records":[...]} (CloudTrail), walks its records and returns true. */
static bool cloudtrail_records(struct fle *x, size_t stream, int64_t mtime, const char *p,
                               size_t len, struct err *err)
{
    size_t i = 0;
#define WS() while (i < len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) i++
    WS();
    if (i >= len || p[i] != '{')
        return false;
    i++;
    WS();
    if (len - i < 10 || memcmp(p + i, "\"Records\"", 9) != 0)
        return false;
    i += 9;
    WS();
    if (i >= len || p[i] != ':')
        return false;
    i++;
    WS();
    if (i >= len || p[i] != '[')
        return false;
    i++;
    uint64_t record = 0;
    for (;;) {
        WS();
        if (i < len && p[i] == ']')
            break;
        size_t b = i;
        if (json_skip_value(p, len, &i, err) != 0) {
            err_where(err, NULL, record + 1, i);
            x->rc = 1;
            return true;
        }
        size_t e = i;
        while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\n' || p[e - 1] == '\r' || p[e - 1] == '\t'))
            e--;
        while (b < e && (p[b] == ' ' || p[b] == '\n' || p[b] == '\r' || p[b] == '\t'))
            b++;
        consider(x, stream, ++record, mtime, p + b, e - b);
        WS();
        if (i < len && p[i] == ',') {
            i++;
            continue;
        }
        if (i < len && p[i] == ']')
            break;
        err_set(err, ERR_FORMAT, "expected ',' or ']' between records");
        err_where(err, NULL, record, i);
        x->rc = 1;
        return true;
    }
#undef WS
    return true;
}

static int cmp_events(const void *a, const void *b)
{
    const struct kept_event *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    return x->record < y->record ? -1 : x->record > y->record;
}

static bool parse_time_arg(const char *s, int64_t *out)
{
    return sv_to_i64(sv_cstr(s), out) || time_parse_iso8601(sv_cstr(s), out);
}

static int filter_log_events(int argc, char **argv)
{
    const char *pattern = "";
    int64_t limit = -1;
    struct fle x;
    memset(&x, 0, sizeof(x));
    char **files = xcalloc((size_t)argc, sizeof(*files));
    bool *complete = xcalloc((size_t)argc, sizeof(*complete));
    size_t nfiles = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            free(files);
            free(complete);
            return 0;
        } else if (strcmp(a, "--filter-pattern") == 0 && v) {
            pattern = v;
            i++;
        } else if (strcmp(a, "--start-time") == 0 && v) {
            x.has_start = true;
            if (!parse_time_arg(v, &x.start))
                rc = 1;
            i++;
        } else if (strcmp(a, "--end-time") == 0 && v) {
            x.has_end = true;
            if (!parse_time_arg(v, &x.end))
                rc = 1;
            i++;
        } else if (strcmp(a, "--limit") == 0 && v) {
            if (!sv_to_i64(sv_cstr(v), &limit) || limit < 1)
                rc = 1;
            i++;
        } else if (strncmp(a, "--", 2) == 0) {
            fprintf(stderr, "vigil logs filter-log-events: unknown option '%s'\n", a);
            rc = 1;
        } else {
            files[nfiles++] = argv[i];
        }
        if (rc && strncmp(a, "--", 2) == 0 && v && strcmp(a, "--filter-pattern") != 0)
            fprintf(stderr, "vigil logs filter-log-events: bad value '%s' for %s\n", v, a);
    }
    if (rc == 0 && nfiles == 0) {
        fprintf(stderr, "vigil logs filter-log-events: no log files given\n");
        rc = 1;
    }
    struct query_filter *f = NULL;
    if (rc == 0)
        rc = compile_or_report("filter-log-events", pattern, &f);
    if (rc) {
        usage(stderr);
        free(files);
        free(complete);
        return rc;
    }
    x.f = f;
    x.s = query_filter_scratch_new();
    arena_init(&x.arena, 0);
    struct buf data;
    buf_init(&data, 0);
    int status = 0;
    for (size_t k = 0; k < nfiles && x.rc == 0; k++) {
        struct err e;
        err_clear(&e);
        int64_t mtime = 0;
        if (read_file(files[k], &data, &mtime, &e) != 0) {
            err_where(&e, files[k], 0, 0);
            char msg[1024];
            err_format(&e, msg, sizeof(msg));
            fprintf(stderr, "vigil logs filter-log-events: %s\n", msg);
            status = 1;
            continue;
        }
        complete[k] = true;
        if (cloudtrail_records(&x, k, mtime, data.p, data.len, &e)) {
            if (x.rc) {
                err_where(&e, files[k], e.record, e.offset);
                char msg[1024];
                err_format(&e, msg, sizeof(msg));
                fprintf(stderr, "vigil logs filter-log-events: %s\n", msg);
                status = 1;
                complete[k] = false;
                x.rc = 0; /* the rest of the input is still processed */
            }
            continue;
        }
        uint64_t line = 0;
        for (size_t i = 0; i < data.len && x.rc == 0;) {
            const char *nl = memchr(data.p + i, '\n', data.len - i);
            size_t e_ = nl ? (size_t)(nl - data.p) : data.len;
            size_t l = e_ - i;
            line++;
            if (l && data.p[i + l - 1] == '\r')
                l--;
            if (l)
                consider(&x, k, line, mtime, data.p + i, l);
            i = e_ + 1;
        }
    }
    if (x.rc)
        status = 1;
    qsort(x.ev, x.n, sizeof(*x.ev), cmp_events);
    size_t shown = limit > 0 && (uint64_t)limit < x.n ? (size_t)limit : x.n;
    struct buf out;
    buf_init(&out, 0);
    struct json_writer w;
    jw_init(&w, &out, 4);
    jw_object_begin(&w);
    jw_key(&w, "events");
    jw_array_begin(&w);
    for (size_t i = 0; i < shown; i++) {
        const struct kept_event *ev = &x.ev[i];
        char id[64];
        /* A stable 56-digit id like AWS's: time, stream, record. */
        uint64_t h = hash64(files[ev->stream], strlen(files[ev->stream]), 0);
        snprintf(id, sizeof(id), "%020" PRIu64 "%020" PRIu64 "%016" PRIu64,
                 (uint64_t)(ev->ts < 0 ? 0 : ev->ts), h % UINT64_C(10000000000000000000),
                 ev->record % UINT64_C(10000000000000000));
        jw_object_begin(&w);
        jw_key(&w, "logStreamName");
        jw_str(&w, files[ev->stream]);
        jw_key(&w, "timestamp");
        jw_int(&w, ev->ts);
        jw_key(&w, "message");
        jw_str_sv(&w, sv_make(ev->msg, ev->len));
        jw_key(&w, "ingestionTime");
        jw_int(&w, ev->ts);
        jw_key(&w, "eventId");
        jw_str(&w, id);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "searchedLogStreams");
    jw_array_begin(&w);
    for (size_t k = 0; k < nfiles; k++) {
        jw_object_begin(&w);
        jw_key(&w, "logStreamName");
        jw_str(&w, files[k]);
        jw_key(&w, "searchedCompletely");
        jw_bool(&w, complete[k]);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    print_buf(&out);
    buf_free(&out);
    for (size_t i = 0; i < x.n; i++)
        free(x.ev[i].msg);
    free(x.ev);
    buf_free(&data);
    arena_free(&x.arena);
    query_filter_scratch_free(x.s);
    query_filter_free(f);
    free(files);
    free(complete);
    return status;
}

int cmd_logs(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "test-metric-filter") == 0)
        return test_metric_filter(argc - 1, argv + 1);
    if (strcmp(argv[1], "filter-log-events") == 0)
        return filter_log_events(argc - 1, argv + 1);
    fprintf(stderr, "vigil logs: unknown operation '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
