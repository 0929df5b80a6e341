/*
 * vigil ingest --db FILE [--batch N] [--force] [--text-index] [--quiet] PATH...
 * vigil ingest --db FILE --text-index
 *
 * Loads CloudTrail, VPC Flow Logs and Route 53 Resolver query logs into the
 * SQLite store (store.h). Idempotent and resumable: run it again after an
 * interruption, or over the same files, and every record is there once.
 * A progress bar goes to stderr when stderr is a terminal; bad records are
 * reported there with their file and record number. Exit status 0 when all
 * went in, 1 when some input was bad (the rest is ingested) or the usage is
 * wrong, 2 on a store failure.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "input/input.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: vigil ingest --db FILE [--batch N] [--force] [--indexes auto|defer|keep]\n"
          "                    [--text-index] [--quiet] PATH...\n"
          "       vigil ingest --db FILE --text-index [--quiet]\n"
          "\n"
          "  Loads CloudTrail, VPC Flow Logs and Route 53 Resolver query logs (files,\n"
          "  directories, gzip or plain, - for stdin) into the SQLite store FILE.\n"
          "  Files already ingested are skipped (the ledger records path, size, mtime\n"
          "  and SHA-256); records already present are not inserted twice.\n"
          "\n"
          "  --batch N   rows per transaction (default 10000)\n"
          "  --force     read files again even when the ledger has them\n"
          "  --indexes   defer: drop the secondary indexes for the load and build them\n"
          "              at the end (faster for large loads); keep: update them row by\n"
          "              row; auto (default): defer when the input is very large\n"
          "              (>= 1 GiB) next to the store\n"
          "  --text-index  turn on the store's text index of CloudTrail requestParameters\n"
          "              (built over the records already there, then kept by every\n"
          "              later ingest): requestparameters LIKE '%text%' in vigil query\n"
          "              reads the matching rows only; costs about the size of that\n"
          "              text on disk and ~40% more ingest CPU\n"
          "  --quiet     no progress bar, no summary\n",
          out);
}

struct ui {
    bool bar;       /* stderr is a terminal */
    bool drawn;     /* a bar is on the screen */
    double t0, last;
    uint64_t shown_errors;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void clear_bar(struct ui *u)
{
    if (u->drawn) {
        fputs("\r\033[K", stderr);
        u->drawn = false;
    }
}

static void on_problem(void *ctx, int code, const struct err *e)
{
    struct ui *u = ctx;
    char line[1200];
    err_format(e, line, sizeof(line));
    clear_bar(u);
    fprintf(stderr, "vigil ingest: %s%s\n", code == INPUT_NOTE ? "note: " : "", line);
    if (code != INPUT_NOTE)
        u->shown_errors++;
}

static void on_progress(void *ctx, const struct store_ingest_stats *s)
{
    struct ui *u = ctx;
    if (!u->bar)
        return;
    double t = now_s();
    if (s->current != NULL && !s->indexing && t - u->last < 0.1)
        return;
    u->last = t;
    double frac = s->bytes_total ? (double)s->bytes_done / (double)s->bytes_total : 1.0;
    if (frac > 1.0)
        frac = 1.0;
    char bar[31];
    int fill = (int)(frac * 30.0);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    double el = t - u->t0;
    if (s->indexing) {
        fprintf(stderr, "\r\033[K[%s] building indexes (%" PRIu64 " records loaded)...", bar,
                s->records);
        u->drawn = true;
        return;
    }
    fprintf(stderr, "\r\033[K[%s] %3d%%  %" PRIu64 "/%" PRIu64 " files  %" PRIu64
                    " records  %.0f rec/s",
            bar, (int)(frac * 100.0), s->files_done + s->files_skipped, s->files_total,
            s->records, el > 0 ? (double)s->records / el : 0.0);
    u->drawn = true;
}

static void on_text_progress(void *ctx, int64_t done, int64_t total)
{
    struct ui *u = ctx;
    if (!u->bar)
        return;
    double t = now_s();
    if (done != 0 && done != total && t - u->last < 0.1)
        return;
    u->last = t;
    double frac = total ? (double)done / (double)total : 1.0;
    char bar[31];
    int fill = (int)(frac * 30.0);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r\033[K[%s] %3d%%  text index: %" PRId64 "/%" PRId64 " records", bar,
            (int)(frac * 100.0), done, total);
    u->drawn = true;
}

/* --text-index: on before the ingest, so the rows it adds are indexed by the
 * triggers in their own transactions. */
static int text_index(struct store *st, struct ui *u, bool quiet, const char *db)
{
    struct err e;
    err_clear(&e);
    bool built = false;
    double t0 = now_s();
    int rc = store_text_index_enable(st, on_text_progress, u, &built, &e);
    clear_bar(u);
    if (rc != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil ingest: text index: %s\n", line);
        return 2;
    }
    if (!quiet && built)
        fprintf(stderr, "vigil ingest: %s: text index built (%.1f s)\n", db, now_s() - t0);
    else if (!quiet)
        fprintf(stderr, "vigil ingest: %s: text index already on\n", db);
    return 0;
}

int cmd_ingest(int argc, char **argv)
{
    const char *db = NULL;
    bool force = false, quiet = false, text = false;
    size_t batch = 0;
    enum store_index_mode index_mode = STORE_INDEX_AUTO;
    const char **paths = xcalloc((size_t)argc, sizeof(*paths));
    size_t n = 0;
    int status = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strncmp(a, "--db=", 5) == 0) {
            db = a + 5;
        } else if (strcmp(a, "--batch") == 0 && i + 1 < argc) {
            uint64_t v;
            if (!sv_to_u64(sv_cstr(argv[++i]), &v) || v == 0 || v > 10000000) {
                fprintf(stderr, "vigil ingest: --batch wants 1..10000000\n");
                goto out;
            }
            batch = (size_t)v;
        } else if (strcmp(a, "--indexes") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            if (strcmp(m, "auto") == 0) {
                index_mode = STORE_INDEX_AUTO;
            } else if (strcmp(m, "defer") == 0) {
                index_mode = STORE_INDEX_DEFER;
            } else if (strcmp(m, "keep") == 0) {
                index_mode = STORE_INDEX_KEEP;
            } else {
                fprintf(stderr, "vigil ingest: --indexes wants auto, defer or keep\n");
                goto out;
            }
        } else if (strcmp(a, "--text-index") == 0) {
            text = true;
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            status = 0;
            goto out;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "vigil ingest: unknown option '%s'\n", a);
            usage(stderr);
            goto out;
        } else {
            paths[n++] = a;
        }
    }
    if (db == NULL || (n == 0 && !text)) {
        fprintf(stderr, "vigil ingest: %s\n", db == NULL ? "--db FILE is required"
                                                         : "no input (give a file, a directory or -)");
        usage(stderr);
        goto out;
    }

    struct err e;
    err_clear(&e);
    struct store *st = NULL;
    if (store_open(db, &st, &e) != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil ingest: %s\n", line);
        status = 2;
        goto out;
    }
    struct ui u = { .bar = !quiet && isatty(STDERR_FILENO) };
    u.t0 = u.last = now_s();
    if (text) {
        status = text_index(st, &u, quiet, db);
        if (status != 0 || n == 0) {
            store_close(st);
            goto out;
        }
        u.t0 = u.last = now_s();
    }
    struct store_ingest_opts o = {
        .batch_rows = batch,
        .force = force,
        .index_mode = index_mode,
        .on_problem = on_problem,
        .on_progress = on_progress,
        .ctx = &u,
    };
    struct store_ingest_stats s;
    int rc = store_ingest(st, paths, n, &o, &s, &e);
    clear_bar(&u);
    if (rc != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil ingest: %s\n", line);
        status = rc == ERR_USAGE ? 1 : 2;
    } else {
        status = s.bad ? 1 : 0;
    }
    if (!quiet) {
        fprintf(stderr,
                "vigil ingest: %" PRIu64 " file(s): %" PRIu64 " read, %" PRIu64
                " already ingested; %" PRIu64 " record(s): %" PRIu64 " new, %" PRIu64
                " already present; %" PRIu64 " bad\n",
                s.files_total, s.files_done, s.files_skipped, s.records, s.inserted,
                s.duplicates, s.bad);
        if (u.bar) {
            double el = now_s() - u.t0;
            fprintf(stderr, "vigil ingest: %.1f s, %.0f records/s\n", el,
                    el > 0 ? (double)s.records / el : 0.0);
        }
    }
    store_close(st);
out:
    free(paths);
    return status;
}
