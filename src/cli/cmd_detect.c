/*
 * vigil detect: read AWS logs, run the rules, print GuardDuty-format findings.
 *
 *   vigil detect [--output table|json|jsonl|asff|ocsf] [--rules PATH]... [--no-builtin]
 *                [--threat-list FILE]... [--tor-list FILE]... [--trusted-list FILE]...
 *                [--threads N] [--vpcflow-format FIELDS] [--stats]
 *                [--bus FILE [--bus-wait SECONDS]]
 *                [--geoip-db FILE] [--asn-db FILE] [--suppress FILE]... [--show-archived]
 *                [--db FILE] [--insights-out FILE] [--lateness DURATION] PATH...
 *
 * With --insights-out, the anomalies of rate rules with `insight` are also
 * written to FILE as CloudTrail Insights records (a Start and an End record
 * each, JSON lines in event-time order; docs/rules.md).
 *
 * PATH is a file, a directory (walked recursively, S3 layout understood) or
 * "-" for standard input. Files are read in the order of the delivery time in
 * their names (AWS's S3 layouts), in one-hour slices: worker threads take the
 * next file, read, normalize and detect on their own and aggregate into their
 * own finding sets; the main thread runs the stateful rules on each slice
 * behind a watermark (later files' earliest possible record minus
 * --lateness) while the workers read on, so what is held follows the slices
 * in flight, not the archive's span. Without a time in some file's name the
 * archive is one slice, run once all of it is read. The sets are merged at
 * the end. Aggregation is order-independent and errors are printed in file
 * order, so the output never depends on the thread count or the file order.
 *
 * With --bus, every record (as its EventBridge event) and then every finding
 * (as a "GuardDuty Finding" event) also goes through the bus of FILE
 * (docs/bus.md); detect then waits up to --bus-wait seconds (default 60) for
 * the deliveries. Without it nothing changes.
 *
 * With --db, the findings are also upserted into the store FILE with their
 * workflow status (docs/investigate.md: vigil findings list/get/update).
 *
 * Exit status: 0 all input read, 1 some input was bad (or a usage error),
 * 2 internal error.
 */
#include "cli/archive_plan.h"
#include "cli/bus_cli.h"
#include "cli/cli.h"
#include "cli/detect_opts.h"
#include "cli/live.h"
#include "cli/nats_cli.h"
#include "core/core.h"
#include "detect/detect.h"
#include "finding/finding.h"
#include "input/input.h"
#include "investigate/investigate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DETECT_MAX_THREADS 64

enum out_format { OUT_TABLE, OUT_JSON, OUT_JSONL, OUT_ASFF, OUT_OCSF };

/* A message for stderr, sorted into file order before printing. */
struct msg {
    size_t file;  /* index in the global file list */
    uint64_t seq; /* order within the worker */
    char *text;
};

struct pipeline;

struct worker {
    const struct detect_engine *engine;
    struct detect_scratch *scratch; /* stateful candidates, handed over slice by slice */
    const struct input_options *opt;
    const struct hmap *file_index; /* path -> index + 1 */
    struct input_list files;       /* the files it read: borrowed paths, never input_list_free'd */
    struct finding_agg *agg;
    struct msg *msgs;
    size_t n_msgs, cap_msgs;
    uint64_t errors, records;
    struct input_stats stats;
    int internal; /* an error that is not about the input */
    struct bus_worker *bw;         /* --bus: this thread's bus producer, else NULL */
    struct buf bev;                /* --bus: the record's EventBridge event */
    struct pipeline *pp;
};

struct args {
    enum out_format format;
    bool format_set;
    struct detect_opts d; /* rules, lists, GeoIP, suppression: shared with watch */
    int threads;
    bool stats;
    const char *bus;
    double bus_wait;
    bool show_archived;
    const char *db; /* --db: store the findings there too */
    const char *insights_out; /* --insights-out: CloudTrail Insights records there */
    bool live;                /* stream mode: "-" on a pipe, --follow, --nats */
    bool follow;              /* --follow: "-" is a stream even when stdin is a file */
    struct nats_args nats;    /* --nats...: JetStream in and out */
    const char **paths;
    size_t n_paths;
};

static void usage(FILE *out)
{
    fputs("usage: vigil detect [options] PATH...\n"
          "\n"
          "  PATH                  a log file, a directory (walked recursively) or - for stdin:\n"
          "                        CloudTrail, VPC Flow Logs, Route 53 Resolver query logs,\n"
          "                        S3 server access, CloudFront standard and WAF logs,\n"
          "                        gzip or plain, as AWS delivers them\n"
          "  --output FORMAT       table (default on a terminal), json (default otherwise),\n"
          "                        jsonl, asff (Security Hub) or ocsf\n",
          out);
    detect_opts_usage(out);
    fputs("  --threads N           worker threads (default: the number of cores)\n"
          "  --stats               print records, bytes and time on stderr\n"
          "  --bus FILE            also send every record and finding through the event bus\n"
          "                        configured in FILE (EventBridge rules and targets)\n"
          "  --bus-wait SECONDS    how long to wait for the bus's deliveries (default 60)\n"
          "  --show-archived       also print archived findings (service.archived = true)\n"
          "  --db FILE             also store the findings in the store FILE (vigil findings list)\n"
          "  --insights-out FILE   write the API call/error rate anomalies there as CloudTrail\n"
          "                        Insights records (Start and End, JSON lines)\n"
          "\n"
          "  Streams: with - on a pipe or a terminal (or --follow), records are read as they\n"
          "  arrive and each finding is written as a JSON line (GuardDuty JSON, or --output\n"
          "  ocsf) as soon as the record completing it is read, again when its count grows;\n"
          "  stateful rules run behind a watermark (the latest event time minus --lateness).\n"
          "  --follow              treat - as a stream even when stdin is a file\n"
          "  --lateness DURATION   disorder allowed in a stream (default 5m), or how long after\n"
          "                        its stream's previous file a file's records may be in an\n"
          "                        archive read by delivery time (default 1h); later records\n"
          "                        are late: --stats counts them, stateful rules ignore them\n"
          "  --idle DURATION       after so long without a record (default: the lateness), a\n"
          "                        stream is caught up: the stateful findings it held back\n"
          "                        come out, and older records arriving later are late\n"
          "                        (0 = wait for more records or the end of the stream)\n",
          out);
    nats_cli_usage(out);
}

static void push(const char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = s;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    a->bus_wait = 60;
    a->threads = ncpu > 0 ? (int)(ncpu < DETECT_MAX_THREADS ? ncpu : DETECT_MAX_THREADS) : 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        int taken;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(o, "--stats") == 0) {
            a->stats = true;
            takes = false;
        } else if (strcmp(o, "--show-archived") == 0) {
            a->show_archived = true;
            takes = false;
        } else if (strcmp(o, "--follow") == 0) {
            a->follow = true;
            takes = false;
        } else if ((taken = detect_opts_parse(&a->d, "detect", o, val)) != 0) {
            if (taken < 0)
                return 1;
            takes = taken == 2;
        } else if (val != NULL && nats_cli_parse_arg(o, val, &a->nats)) {
            /* a --nats... option with its value */
        } else if (o[0] != '-' || o[1] == '\0') {
            push(&a->paths, &a->n_paths, o);
            takes = false;
        } else if (val == NULL) {
            fprintf(stderr, "vigil detect: %s needs a value\n", o);
            return 1;
        } else if (strcmp(o, "--output") == 0) {
            static const char *const names[] = { "table", "json", "jsonl", "asff", "ocsf" };
            size_t k = 0;
            while (k < 5 && strcmp(val, names[k]) != 0)
                k++;
            if (k == 5) {
                fprintf(stderr, "vigil detect: unknown --output '%s' (table, json, jsonl, asff, ocsf)\n", val);
                return 1;
            }
            a->format = (enum out_format)k;
            a->format_set = true;
        } else if (strcmp(o, "--threads") == 0) {
            int64_t n;
            if (!sv_to_i64(sv_cstr(val), &n) || n < 1 || n > DETECT_MAX_THREADS) {
                fprintf(stderr, "vigil detect: --threads wants 1..%d\n", DETECT_MAX_THREADS);
                return 1;
            }
            a->threads = (int)n;
        } else if (strcmp(o, "--bus") == 0) {
            a->bus = val;
        } else if (strcmp(o, "--bus-wait") == 0) {
            char *end;
            a->bus_wait = strtod(val, &end);
            if (*end || a->bus_wait < 0) {
                fprintf(stderr, "vigil detect: --bus-wait wants a number of seconds\n");
                return 1;
            }
        } else if (strcmp(o, "--db") == 0) {
            a->db = val;
        } else if (strcmp(o, "--insights-out") == 0) {
            a->insights_out = val;
        } else {
            fprintf(stderr, "vigil detect: unknown option '%s'\n", o);
            usage(stderr);
            return 1;
        }
        if (takes)
            i++;
    }
    if (nats_cli_check(&a->nats, a->n_paths) != 0)
        return 1;
    if (a->n_paths == 0 && !a->nats.url) {
        fprintf(stderr, "vigil detect: no input (give a file, a directory or -)\n");
        usage(stderr);
        return 1;
    }
    if (a->follow && !(a->n_paths == 1 && strcmp(a->paths[0], "-") == 0)) {
        fprintf(stderr, "vigil detect: --follow reads standard input: give - as the only PATH\n");
        return 1;
    }
    bool live = a->follow || a->nats.url;
    if (!live && a->n_paths == 1 && strcmp(a->paths[0], "-") == 0) {
        struct stat st;
        live = fstat(STDIN_FILENO, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) &&
               (!a->format_set || a->format == OUT_JSONL || a->format == OUT_OCSF);
    }
    if (live && a->format_set && a->format != OUT_JSONL && a->format != OUT_OCSF) {
        fprintf(stderr, "vigil detect: a stream writes findings as JSON lines: --output jsonl or ocsf\n");
        return 1;
    }
    if (live && a->insights_out) {
        fprintf(stderr, "vigil detect: --insights-out is for files, not streams\n");
        return 1;
    }
    a->live = live;
    /* Streams wait for the latest event minus the lateness, archives for the
     * next files' delivery time minus it: CloudTrail delivers within 5-15
     * minutes, so an hour is generous. */
    if (a->d.lateness_ms == 0)
        a->d.lateness_ms = live ? 5 * 60 * 1000 : 3600LL * 1000;
    /* A stream that has been quiet for as long as its disorder allows is
     * caught up: what it held back comes out. */
    if (a->d.idle_ms == 0)
        a->d.idle_ms = a->d.lateness_ms;
    if (!a->format_set)
        a->format = live ? OUT_JSONL : isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_JSON;
    return 0;
}

static void print_err(const char *prefix, const struct err *e)
{
    char line[1200];
    err_format(e, line, sizeof(line));
    fprintf(stderr, "%s%s\n", prefix, line);
}

static void add_msg(struct worker *w, size_t file, const char *kind, const struct err *e)
{
    char line[1200];
    struct buf b;
    err_format(e, line, sizeof(line));
    buf_init(&b, 0);
    buf_printf(&b, "vigil: %s%s", kind, line);
    if (w->n_msgs == w->cap_msgs) {
        w->cap_msgs = w->cap_msgs ? 2 * w->cap_msgs : 16;
        w->msgs = xrealloc(w->msgs, w->cap_msgs * sizeof(*w->msgs));
    }
    w->msgs[w->n_msgs] = (struct msg){ file, w->n_msgs, buf_steal(&b) };
    w->n_msgs++;
}

static size_t file_of(const struct worker *w, const struct err *e)
{
    void *v = hmap_get(w->file_index, e->file, strlen(e->file));
    return v ? (size_t)(uintptr_t)v - 1 : SIZE_MAX;
}

static void on_detection(void *ctx, const struct detection *d)
{
    finding_agg_add(ctx, d);
}

/* --insights-out: the records, sorted by time before they are written so
 * that the file does not depend on the order detections come out in. */
struct insight_line {
    int64_t ms;
    char *text;
};

struct finish_ctx {
    struct finding_agg *agg;
    bool want_insights;
    struct insight_line *v;
    size_t n, cap;
    bool failed;
};

static void on_stateful(void *ctx, const struct detection *d)
{
    struct finish_ctx *c = ctx;
    finding_agg_add(c->agg, d);
    if (!c->want_insights || !d->insight)
        return;
    for (int end = 0; end < 2; end++) {
        struct buf b;
        buf_init(&b, 1 << 20);
        int64_t ms = 0;
        if (detect_insight_write(d, end != 0, &b, &ms) != 0) {
            c->failed = true;
            buf_free(&b);
            continue;
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 16;
            c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
        }
        c->v[c->n++] = (struct insight_line){ ms, buf_steal(&b) };
    }
}

static int cmp_insight_line(const void *a, const void *b)
{
    const struct insight_line *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* Writes and frees the records; 0 or -1 (message printed). */
static int write_insights(const char *path, struct finish_ctx *c)
{
    qsort(c->v, c->n, sizeof(*c->v), cmp_insight_line);
    FILE *f = fopen(path, "w");
    int rc = f ? 0 : -1;
    for (size_t i = 0; i < c->n; i++) {
        if (f && fprintf(f, "%s\n", c->v[i].text) < 0)
            rc = -1;
        free(c->v[i].text);
    }
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "vigil detect: cannot write %s\n", path);
    return rc;
}

/* --bus: the record as its EventBridge event, onto the bus. */
static void bus_record(struct worker *w, const struct event *ev)
{
    struct err e;
    err_clear(&e);
    buf_reset(&w->bev);
    int rc = bus_envelope_event(ev, &w->bev, &e);
    if (rc == 0) {
        long r = bus_put(w->bw, w->bev.p, w->bev.len, &e);
        rc = r < 0 ? (int)-r : 0;
    }
    if (rc != 0) {
        err_where(&e, ev->file, ev->record_no, 0);
        add_msg(w, file_of(w, &e), "bus: ", &e);
        if (rc == ERR_DB || rc == ERR_IO)
            w->internal = 1;
    }
}

/* --bus: every finding as a "GuardDuty Finding" event, then the deliveries. */
static int bus_findings(struct bus *b, struct finding_agg *agg, double wait_s)
{
    size_t n;
    const struct finding **fs = finding_agg_sorted(agg, &n);
    struct bus_worker *bw = bus_worker_new(b);
    struct buf ev;
    struct err e;
    int status = 0;
    buf_init(&ev, 0);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&ev);
        bus_envelope_finding(fs[i], &ev);
        err_clear(&e);
        if (bus_put(bw, ev.p, ev.len, &e) < 0) {
            fprintf(stderr, "vigil detect: bus: finding %s: %s\n", fs[i]->id, e.msg);
            status = 1;
        }
    }
    err_clear(&e);
    if (bus_worker_flush(bw, &e) != 0) {
        fprintf(stderr, "vigil detect: bus: %s\n", e.msg);
        status = 2;
    }
    bus_worker_free(bw);
    buf_free(&ev);
    free(fs);
    bus_cli_drain("detect", b, wait_s, true);
    return status;
}

static int cmp_msg(const void *a, const void *b)
{
    const struct msg *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int write_findings(const struct args *a, struct finding_agg *agg)
{
    size_t n;
    const struct finding **fs = finding_agg_sorted(agg, &n);
    if (!a->show_archived)
        n = finding_drop_archived(fs, n);
    struct buf out;
    int rc = 0;
    buf_init(&out, 0);
    switch (a->format) {
    case OUT_TABLE: {
        struct winsize ws;
        struct finding_table_opts topts = { isatty(STDOUT_FILENO) != 0, 0 };
        if (topts.color && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
            topts.width = ws.ws_col;
        rc = finding_write_table(&out, fs, n, &topts);
        break;
    }
    case OUT_JSON:
        rc = finding_write_json(&out, fs, n, 2);
        break;
    case OUT_JSONL:
        rc = finding_write_jsonl(&out, fs, n);
        break;
    case OUT_ASFF:
        rc = finding_write_asff(&out, fs, n, 2);
        break;
    case OUT_OCSF:
        rc = finding_write_ocsf(&out, fs, n);
        break;
    }
    if (rc == 0 && out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len)
        rc = ERR_IO;
    if (fflush(stdout) != 0)
        rc = ERR_IO;
    buf_free(&out);
    free(fs);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Emits after this many records even when input keeps coming. */
#define LIVE_BURST 256

/* Stream mode over standard input: records as their lines arrive, findings
 * as soon as they are final, the watermark flushed at EOF. */
static int run_stdin(const struct args *a, const struct input_options *iopt, struct live *l)
{
    struct input_reader *r = NULL;
    struct err e;
    err_clear(&e);
    if (input_open_stream("-", STDIN_FILENO, iopt, &r, &e) != 0) {
        print_err("vigil detect: ", &e);
        return 1;
    }
    int status = 0;
    uint64_t errors = 0;
    unsigned since = 0;
    for (;;) {
        struct event ev;
        err_clear(&e);
        int rc = input_next(r, &ev, &e);
        if (rc == 0) {
            live_event(l, &ev);
            if (++since < LIVE_BURST)
                continue;
        } else if (rc == INPUT_NOTE) {
            print_err("vigil: note: ", &e);
            continue;
        } else if (rc != INPUT_AGAIN && rc != INPUT_END) {
            print_err("vigil: ", &e);
            errors++;
            continue;
        }
        since = 0;
        int s = rc == INPUT_END ? live_finish(l) : live_emit(l);
        if (s > status)
            status = s;
        if (rc == INPUT_END || status == 2)
            break;
        if (rc == INPUT_AGAIN) {
            /* Waits a second at a time so a quiet stream can be caught up. */
            struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
            for (;;) {
                s = live_idle(l, (int64_t)(now_s() * 1000));
                if (s > status)
                    status = s;
                int pr = poll(&p, 1, 1000);
                if (pr > 0 || status == 2)
                    break;
            }
            if (status == 2)
                break;
        }
    }
    if (a->stats) {
        uint64_t records, late;
        size_t findings;
        live_counts(l, &records, &findings, &late);
        fprintf(stderr,
                "vigil detect: stream: %llu records, %llu bad, %zu findings, %llu late for the "
                "stateful rules (lateness %lld ms)\n",
                (unsigned long long)records, (unsigned long long)errors, findings,
                (unsigned long long)late, (long long)a->d.lateness_ms);
    }
    input_close(r);
    if (errors > 0 && status == 0)
        status = 1;
    return status;
}

/* Stream mode: standard input or JetStream, findings out as they come. */
static int run_live(const struct args *a, const struct detect_engine *engine,
                    const struct input_options *iopt, const struct geo_db *geo,
                    const struct finding_filters *filters, struct bus *bus)
{
    struct nats_cli *nc = NULL;
    if (a->nats.url && nats_cli_open(&a->nats, &nc) != 0)
        return 1;
    struct live_opts lo = {
        .cmd = "detect",
        .engine = engine,
        .lateness_ms = a->d.lateness_ms,
        .idle_ms = a->d.idle_ms > 0 ? a->d.idle_ms : 0,
        .geo = geo,
        .filters = filters,
        .show_archived = a->show_archived,
        .ocsf = a->format == OUT_OCSF,
        .out = stdout,
        .bus = bus,
        .publish = a->nats.findings_subject ? nats_cli_publish_finding : NULL,
        .publish_ctx = nc,
    };
    struct live *l = live_new(&lo);
    int status = a->nats.stream ? nats_cli_consume(nc, &a->nats, iopt, l, a->stats)
                                : run_stdin(a, iopt, l);
    if (bus) {
        int bs = bus_cli_drain("detect", bus, a->bus_wait, true);
        if (bs > status)
            status = bs;
    }
    live_free(l);
    nats_cli_close(nc);
    return status;
}

/* ---- archives in delivery-time order -------------------------------------- */

/* Readers may run ahead of the kinds by this many bytes of files beyond the
 * slice the kinds wait for: enough to keep every worker busy, small enough
 * that memory does not follow the archive's size. */
#define READ_AHEAD_BYTES (64ULL << 20)

/* The workers take files in plan order; the main thread runs the kinds on
 * each slice once every file of it is read and handed over. mu guards every
 * field below it; workers wait on work, the main thread on done. */
struct pipeline {
    const struct archive_plan *pl;
    const struct input_list *files;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    size_t next;    /* next position to read */
    size_t taken;   /* slices the kinds have taken */
    size_t *handed; /* per slice: files whose candidates were handed over */
    struct detect_batch ***batches; /* per slice */
    size_t *n_batches;
};

static size_t slice_files(const struct archive_plan *pl, size_t s)
{
    return pl->end[s] - (s ? pl->end[s - 1] : 0);
}

/* Whether position p may be read now: it is in the slice the kinds wait for,
 * or within the read-ahead. */
static bool may_read(const struct pipeline *pp, size_t p)
{
    const struct archive_plan *pl = pp->pl;
    if (pp->taken >= pl->n_slices || pl->slice[p] <= pp->taken)
        return true;
    size_t from = pp->taken ? pl->end[pp->taken - 1] : 0;
    return pl->cum[p] - pl->cum[from] < READ_AHEAD_BYTES;
}

/* Hands what the worker collected from n files of slice s to the kinds. mu held. */
static void hand_over(struct pipeline *pp, struct worker *w, size_t s, size_t n)
{
    struct detect_batch *b = detect_scratch_take(w->scratch);
    if (b) {
        pp->batches[s] = xrealloc(pp->batches[s], (pp->n_batches[s] + 1) * sizeof(**pp->batches));
        pp->batches[s][pp->n_batches[s]++] = b;
    }
    pp->handed[s] += n;
    pthread_cond_signal(&pp->done);
}

/* Reads every record of the files appended to w->files since the last call. */
static void read_records(struct worker *w, struct input_reader *r)
{
    struct err e;
    for (;;) {
        struct event ev;
        err_clear(&e);
        int rc = input_next(r, &ev, &e);
        if (rc == INPUT_END)
            break;
        if (rc == INPUT_NOTE) {
            add_msg(w, file_of(w, &e), "note: ", &e);
            continue;
        }
        if (rc != 0) {
            add_msg(w, file_of(w, &e), "", &e);
            w->errors++;
            if (rc == ERR_INTERNAL)
                w->internal = 1;
            continue;
        }
        w->records++;
        detect_event(w->engine, w->scratch, &ev, on_detection, w->agg);
        if (w->bw)
            bus_record(w, &ev);
    }
}

/* A worker thread: takes the next file in plan order (a reader reused from
 * file to file), hands its candidates over at each change of slice and
 * whenever it has to wait, so the kinds never wait for a worker that waits. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct pipeline *pp = w->pp;
    const struct archive_plan *pl = pp->pl;
    struct input_reader *r = NULL;
    struct err e;
    err_clear(&e);
    if (input_open(&w->files, w->opt, &r, &e) != 0) {
        add_msg(w, SIZE_MAX, "", &e);
        w->errors++;
        r = NULL;
    }
    size_t cur = 0, cur_n = 0;
    pthread_mutex_lock(&pp->mu);
    for (;;) {
        while (pp->next < pl->n && !may_read(pp, pp->next)) {
            if (cur_n) {
                hand_over(pp, w, cur, cur_n);
                cur_n = 0;
            }
            pthread_cond_wait(&pp->work, &pp->mu);
        }
        if (pp->next >= pl->n)
            break;
        size_t p = pp->next++;
        if (cur_n && pl->slice[p] != cur) {
            hand_over(pp, w, cur, cur_n);
            cur_n = 0;
        }
        cur = pl->slice[p];
        pthread_mutex_unlock(&pp->mu);
        struct input_list *l = &w->files;
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 8;
            l->files = xrealloc(l->files, l->cap * sizeof(*l->files));
        }
        l->files[l->n++] = pp->files->files[pl->order[p]];
        if (r)
            read_records(w, r);
        pthread_mutex_lock(&pp->mu);
        cur_n++;
    }
    if (cur_n)
        hand_over(pp, w, cur, cur_n);
    pthread_mutex_unlock(&pp->mu);
    if (w->bw && bus_worker_flush(w->bw, &e) != 0) {
        add_msg(w, SIZE_MAX, "bus: ", &e);
        w->internal = 1;
    }
    if (r)
        input_get_stats(r, &w->stats);
    input_close(r);
    return NULL;
}

/* The kinds' side: each slice, once read, runs up to its watermark while the
 * workers read on. Returns the seconds spent in the kinds; *last_in gets the
 * time the last file was read. */
static double run_slices(struct pipeline *pp, struct detect_archive *ar, int nthreads,
                         double *last_in)
{
    const struct archive_plan *pl = pp->pl;
    double busy = 0;
    for (size_t s = 0; s < pl->n_slices; s++) {
        pthread_mutex_lock(&pp->mu);
        while (pp->handed[s] < slice_files(pl, s))
            pthread_cond_wait(&pp->done, &pp->mu);
        struct detect_batch **b = pp->batches[s];
        size_t nb = pp->n_batches[s];
        pp->batches[s] = NULL;
        pp->n_batches[s] = 0;
        pp->taken = s + 1;
        pthread_cond_broadcast(&pp->work);
        pthread_mutex_unlock(&pp->mu);
        double t = now_s();
        if (s + 1 == pl->n_slices) {
            *last_in = t;
            /* Every file is read: the workers' cores are free for the drain. */
            detect_archive_set_threads(ar, nthreads);
        }
        detect_archive_run(ar, b, nb, pl->wm[s]);
        busy += now_s() - t;
        free(b);
    }
    return busy;
}

static int run(const struct args *a, const char *exe)
{
    struct detect_rules *rules = detect_rules_new();
    struct detect_lists *lists = detect_lists_new();
    struct detect_engine *engine = NULL;
    struct json_pathset *want = json_pathset_new();
    struct input_list files;
    struct hmap index;
    struct worker *ws = xcalloc((size_t)a->threads, sizeof(*ws));
    struct finding_agg *total = finding_agg_new();
    struct geo_db *geo = NULL;
    struct finding_filters *filters = finding_filters_new();
    struct err e;
    int status = 0, nthreads = a->threads;
    double t0 = now_s();
    struct bus_config *bcfg = NULL;
    struct bus *bus = NULL;

    input_list_init(&files);
    hmap_init(&index);
    err_clear(&e);
    if (detect_opts_load(&a->d, "detect", exe, rules, lists, &geo, filters) != 0) {
        status = 1;
        goto out;
    }
    /* Stateful candidates keep where their record is and read it again only
     * for the detections that fire: the files stay put during the run. */
    struct input_options iopt = { .want = want, .vpcflow_fields = a->d.vpcflow_fields };
    struct detect_options dopt = { lists, a->d.learning_ms, a->live ? NULL : &iopt, geo,
                                   a->insights_out != NULL };
    if (detect_engine_new(rules, &dopt, &engine, &e) != 0) {
        print_err("vigil detect: ", &e);
        status = e.code == ERR_INTERNAL ? 2 : 1;
        goto out;
    }
    if (a->bus && (!(bcfg = bus_cli_load("detect", a->bus)) ||
                   !(bus = bus_cli_open("detect", bcfg, false)))) {
        status = 1;
        goto out;
    }
    detect_engine_paths(engine, want);
    event_add_common_paths(want);
    /* What the finding details read (flow lines always give every field). */
    finding_add_paths(want, EVENT_CLOUDTRAIL);
    finding_add_paths(want, EVENT_DNS);
    if (a->live) {
        status = run_live(a, engine, &iopt, geo, filters, bus);
        goto out;
    }
    if (input_collect(a->paths, a->n_paths, &files, &e) != 0) {
        /* A missing path is bad input; the others are still read. */
        print_err("vigil detect: ", &e);
        status = 1;
    }
    for (size_t i = 0; i < files.n; i++)
        hmap_put(&index, files.files[i].path, strlen(files.files[i].path), (void *)(uintptr_t)(i + 1));

    if ((size_t)nthreads > files.n)
        nthreads = files.n > 0 ? (int)files.n : 1;
    struct archive_plan plan;
    archive_plan_build(&files, a->d.lateness_ms, &plan);
    struct pipeline pp = { .pl = &plan, .files = &files };
    pthread_mutex_init(&pp.mu, NULL);
    pthread_cond_init(&pp.work, NULL);
    pthread_cond_init(&pp.done, NULL);
    pp.handed = xcalloc(plan.n_slices, sizeof(*pp.handed));
    pp.batches = xcalloc(plan.n_slices, sizeof(*pp.batches));
    pp.n_batches = xcalloc(plan.n_slices, sizeof(*pp.n_batches));
    struct finish_ctx fin = { .agg = total, .want_insights = a->insights_out != NULL };
    struct detect_archive *ar = detect_archive_new(engine, on_stateful, &fin);
    for (int t = 0; t < nthreads; t++) {
        ws[t].engine = engine;
        ws[t].scratch = detect_scratch_new();
        ws[t].opt = &iopt;
        ws[t].file_index = &index;
        ws[t].agg = finding_agg_new();
        ws[t].bw = bus ? bus_worker_new(bus) : NULL;
        ws[t].pp = &pp;
        buf_init(&ws[t].bev, 0);
    }
    /* The workers read; this thread runs the stateful kinds slice by slice
     * behind them (with one slice, all of it once the reading is done). */
    pthread_t tids[DETECT_MAX_THREADS];
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&tids[t], NULL, worker_run, &ws[t]) != 0) {
            fprintf(stderr, "vigil detect: cannot start a thread\n");
            abort();
        }
    double t_tail = now_s();
    double t_kinds = run_slices(&pp, ar, nthreads, &t_tail);
    for (int t = 0; t < nthreads; t++)
        pthread_join(tids[t], NULL);

    /* Merge and report in a fixed order. */
    struct msg *all = NULL;
    size_t n_all = 0;
    uint64_t records = 0, errors = 0, bytes_in = 0, bytes_out = 0;
    for (int t = 0; t < nthreads; t++) {
        finding_agg_merge(total, ws[t].agg);
        all = xrealloc(all, (n_all + ws[t].n_msgs + 1) * sizeof(*all));
        if (ws[t].n_msgs > 0)
            memcpy(all + n_all, ws[t].msgs, ws[t].n_msgs * sizeof(*all));
        n_all += ws[t].n_msgs;
        records += ws[t].records;
        errors += ws[t].errors;
        bytes_in += ws[t].stats.bytes_in;
        bytes_out += ws[t].stats.bytes_out;
        if (ws[t].internal)
            status = 2;
    }
    /* What is still held runs now; detections kept by reference are read
     * again from their files. */
    struct detect_state_stats sst;
    double t_fin = now_s();
    detect_archive_finish(ar, &sst);
    detect_archive_free(ar);
    t_kinds += now_s() - t_fin;
    /* The serial part: from the last file read to the last detection. */
    t_tail = now_s() - t_tail;
    pthread_mutex_destroy(&pp.mu);
    pthread_cond_destroy(&pp.work);
    pthread_cond_destroy(&pp.done);
    free(pp.handed);
    free(pp.batches);
    free(pp.n_batches);
    size_t n_insights = fin.n;
    if (a->insights_out && (write_insights(a->insights_out, &fin) != 0 || fin.failed))
        status = 2;
    qsort(all, n_all, sizeof(*all), cmp_msg);
    for (size_t i = 0; i < n_all; i++) {
        fprintf(stderr, "%s\n", all[i].text);
        free(all[i].text);
    }
    free(all);
    if (errors > 0 && status == 0)
        status = 1;
    /* Enrich first: suppression rules may name the country or the ASN. */
    finding_agg_enrich(total, geo);
    size_t archived = finding_agg_archive(total, filters);
    if (write_findings(a, total) != 0) {
        fprintf(stderr, "vigil detect: cannot write the findings\n");
        status = 2;
    }
    if (a->db && investigate_findings_save(a->db, total, (int64_t)time(NULL) * 1000, NULL, &e) != 0) {
        print_err("vigil detect: storing findings: ", &e);
        status = 2;
    }
    if (bus) {
        int bs = bus_findings(bus, total, a->bus_wait);
        if (bs > status)
            status = bs;
    }
    if (a->stats) {
        double dt = now_s() - t0;
        fprintf(stderr,
                "vigil detect: %zu files, %llu records, %llu bad, %.1f MB read (%.1f MB inflated), "
                "%zu findings (%zu archived), %.3f s, %.0f records/s, %d threads\n",
                files.n, (unsigned long long)records, (unsigned long long)errors, bytes_in / 1e6,
                bytes_out / 1e6, finding_agg_count(total), archived, dt, dt > 0 ? (double)records / dt : 0.0,
                nthreads);
        fprintf(stderr,
                "vigil detect: stateful rules: %zu, %llu candidates, %llu items, %llu detections, "
                "%.1f MB held, %.3f s in event-time order (%.3f s after the last file)\n",
                detect_engine_stateful_count(engine), (unsigned long long)sst.candidates,
                (unsigned long long)sst.items, (unsigned long long)sst.detections,
                sst.bytes / 1e6, t_kinds, t_tail);
        if (plan.timed)
            fprintf(stderr,
                    "vigil detect: archive read in %zu slices by the delivery time in the file "
                    "names, lateness %lld s: %llu candidates late (ignored by the stateful rules)\n",
                    plan.n_slices, (long long)(a->d.lateness_ms / 1000),
                    (unsigned long long)sst.late);
        else if (files.n > 0)
            fprintf(stderr,
                    "vigil detect: archive read as one chunk (%s has no delivery time in its "
                    "name): every stateful candidate held until the end\n",
                    plan.untimed);
        fprintf(stderr,
                "vigil detect: stateful state at its peak: %llu keys, %llu values, %.2f MB; "
                "expired %llu keys and %llu values (window, baseline, retention); "
                "refused %llu keys and %llu values (caps)%s",
                (unsigned long long)sst.state_keys, (unsigned long long)sst.state_values,
                sst.state_bytes / 1e6, (unsigned long long)sst.expired_keys,
                (unsigned long long)sst.expired_values, (unsigned long long)sst.refused_keys,
                (unsigned long long)sst.refused_values, a->insights_out ? "" : "\n");
        if (a->insights_out)
            fprintf(stderr, "; %zu Insights records\n", n_insights);
    }
    archive_plan_free(&plan);
out:
    for (int t = 0; t < a->threads; t++) {
        finding_agg_free(ws[t].agg);
        free(ws[t].files.files);
        free(ws[t].msgs);
        detect_scratch_free(ws[t].scratch);
        bus_worker_free(ws[t].bw);
        buf_free(&ws[t].bev);
    }
    bus_close(bus);
    bus_config_free(bcfg);
    free(ws);
    finding_agg_free(total);
    finding_filters_free(filters);
    geo_close(geo);
    hmap_free(&index);
    input_list_free(&files);
    json_pathset_free(want);
    detect_engine_free(engine);
    detect_lists_free(lists);
    detect_rules_free(rules);
    return status;
}

int cmd_detect(int argc, char **argv)
{
    struct args a;
    memset(&a, 0, sizeof(a));
    int status = parse_args(argc, argv, &a);
    if (status == 0)
        status = run(&a, "/proc/self/exe"); /* the rule pack sits beside the binary */
    detect_opts_free(&a.d);
    free(a.paths);
    return status;
}
