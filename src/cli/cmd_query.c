/*
 * vigil query --db FILE [--output table|json|csv] "SQL" | -f FILE
 *
 * Runs one Athena-dialect statement (query_sql_prepare) over the store,
 * read-only. Output: an aligned table on a terminal (default there), JSON (an
 * array of objects, default otherwise) or CSV (RFC 4180, header row). DDL the
 * store has no use for (CREATE EXTERNAL TABLE, ADD PARTITION) prints a note
 * on stderr and exits 0. Exit status: 0 ok, 1 usage or an unsupported or
 * invalid statement, 2 store failure.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "json/json.h"
#include "query/query.h"
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

#define CELL_MAX 80 /* table cells longer than this are cut with "..." */
#define TABLE_ROWS_MAX 100000

static void usage(FILE *out)
{
    fputs("usage: vigil query --db FILE [--output table|json|csv] [--threads N] [--explain] \"SQL\"\n"
          "       vigil query --db FILE [--output ...] -f FILE.sql   (- for stdin)\n"
          "Athena (Trino) SQL over the views cloudtrail_logs, vpc_flow_logs, vpcflow and\n"
          "r53_rlogs (see docs/sql.md). --threads: a CloudTrail statement bounded in time\n"
          "(no LIMIT, no ORDER BY but eventtime) runs as slices of its window on N threads\n"
          "(default: the cores; 1 runs it on one); the output is the same. --explain\n"
          "prints the statement as run, SQLite's plan and the slices instead of rows.\n",
          out);
}

/* The CSV and JSON output: our own 64 KiB buffer, written with write(2) when
 * full. Through stdio a 195 k-record export was a tenth of its CPU time in
 * fwrite/fputs/fputc calls (several per field, one per quote of a JSON
 * column); here a field is a strpbrk and a memcpy, or one memchr and memcpy
 * per quote run when it needs quoting. */
#define OUT_BUF 65536

struct out {
    int fd;
    struct buf *mem; /* when set, the output goes here instead of fd */
    int error;       /* errno of the first failed write; later output is dropped */
    size_t len;
    char buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
    if (o->mem != NULL) {
        if (o->error == 0 && buf_append(o->mem, o->buf, o->len) != 0)
            o->error = ENOMEM;
        o->len = 0;
        return;
    }
    size_t done = 0;
    while (o->error == 0 && done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            o->error = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    o->len = 0;
}

static void out_write(struct out *o, const char *p, size_t n)
{
    if (o->len + n > OUT_BUF) {
        out_flush(o);
        if (n > OUT_BUF && o->mem != NULL) {
            if (o->error == 0 && buf_append(o->mem, p, n) != 0)
                o->error = ENOMEM;
            return;
        }
        if (n > OUT_BUF) { /* bigger than the buffer: write it straight */
            size_t keep = o->len;
            o->len = 0;
            while (o->error == 0 && n > 0) {
                ssize_t w = write(o->fd, p, n);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    o->error = w < 0 ? errno : EIO;
                else {
                    p += w;
                    n -= (size_t)w;
                }
            }
            o->len = keep;
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void out_putc(struct out *o, char c)
{
    if (o->len == OUT_BUF)
        out_flush(o);
    o->buf[o->len++] = c;
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break, quotes
 * doubled. s is a C string (SQLite text is cut at a NUL, as fputs did). */
static void write_csv_field(const char *s, struct out *o)
{
    if (s == NULL)
        return;
    size_t len = strlen(s);
    if (strpbrk(s, ",\"\n\r") == NULL) {
        out_write(o, s, len);
        return;
    }
    const char *end = s + len;
    out_putc(o, '"');
    for (const char *q; (q = memchr(s, '"', (size_t)(end - s))) != NULL; s = q + 1) {
        out_write(o, s, (size_t)(q - s) + 1);
        out_putc(o, '"');
    }
    out_write(o, s, (size_t)(end - s));
    out_putc(o, '"');
}

struct table {
    size_t ncol;
    char **cells; /* rows x ncol, NULL = SQL NULL */
    size_t nrows, cap;
};

static int print_table(sqlite3_stmt *st, FILE *out, struct err *err)
{
    struct table t = { 0 };
    t.ncol = (size_t)sqlite3_column_count(st);
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (t.nrows == TABLE_ROWS_MAX) {
            rc = err_set(err, ERR_LIMIT, "more than %d rows: use --output csv or json, or LIMIT",
                         TABLE_ROWS_MAX);
            break;
        }
        if ((t.nrows + 1) * t.ncol > t.cap) {
            t.cap = t.cap ? t.cap * 2 : 64 * (t.ncol ? t.ncol : 1);
            t.cells = xrealloc(t.cells, t.cap * sizeof(*t.cells));
        }
        for (size_t c = 0; c < t.ncol; c++) {
            const char *v = (const char *)sqlite3_column_text(st, (int)c);
            t.cells[t.nrows * t.ncol + c] = v ? xstrdup(v) : NULL;
        }
        t.nrows++;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = err_set(err, ERR_USAGE, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
    size_t *w = xcalloc(t.ncol ? t.ncol : 1, sizeof(*w));
    for (size_t c = 0; c < t.ncol; c++) {
        w[c] = strlen(sqlite3_column_name(st, (int)c));
        for (size_t r = 0; r < t.nrows; r++) {
            const char *v = t.cells[r * t.ncol + c];
            size_t l = v ? strlen(v) : 4;
            if (l > CELL_MAX)
                l = CELL_MAX;
            if (l > w[c])
                w[c] = l;
        }
    }
    if (rc == 0) {
        for (size_t c = 0; c < t.ncol; c++)
            fprintf(out, "%s%-*s", c ? " | " : "", (int)w[c], sqlite3_column_name(st, (int)c));
        fputc('\n', out);
        for (size_t c = 0; c < t.ncol; c++) {
            fputs(c ? "-+-" : "", out);
            for (size_t k = 0; k < w[c]; k++)
                fputc('-', out);
        }
        fputc('\n', out);
        for (size_t r = 0; r < t.nrows; r++) {
            for (size_t c = 0; c < t.ncol; c++) {
                const char *v = t.cells[r * t.ncol + c];
                if (v == NULL)
                    v = "NULL";
                size_t l = strlen(v);
                fputs(c ? " | " : "", out);
                if (l > CELL_MAX)
                    fprintf(out, "%.*s...", CELL_MAX - 3, v);
                else
                    fprintf(out, "%-*s", (int)w[c], v);
            }
            fputc('\n', out);
        }
        fprintf(out, "(%zu row%s)\n", t.nrows, t.nrows == 1 ? "" : "s");
    }
    for (size_t i = 0; i < t.nrows * t.ncol; i++)
        free(t.cells[i]);
    free(t.cells);
    free(w);
    return rc;
}

static void print_header(sqlite3_stmt *st, enum fmt fmt, struct out *out)
{
    if (fmt == FMT_CSV) {
        int ncol = sqlite3_column_count(st);
        for (int c = 0; c < ncol; c++) {
            if (c)
                out_putc(out, ',');
            write_csv_field(sqlite3_column_name(st, c), out);
        }
        out_putc(out, '\n');
    } else {
        out_putc(out, '[');
    }
}

/* The current row of st; a JSON object after ",\n " (after "\n " for the
 * first). b is scratch. */
static void print_row(sqlite3_stmt *st, enum fmt fmt, bool first, struct buf *b, struct out *out)
{
    int ncol = sqlite3_column_count(st);
    if (fmt == FMT_CSV) {
        for (int c = 0; c < ncol; c++) {
            if (c)
                out_putc(out, ',');
            write_csv_field((const char *)sqlite3_column_text(st, c), out);
        }
        out_putc(out, '\n');
        return;
    }
    struct json_writer w;
    buf_reset(b);
    jw_init(&w, b, 0);
    jw_object_begin(&w);
    for (int c = 0; c < ncol; c++) {
        jw_key(&w, sqlite3_column_name(st, c));
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_NULL: jw_null(&w); break;
        case SQLITE_INTEGER: jw_int(&w, sqlite3_column_int64(st, c)); break;
        case SQLITE_FLOAT: jw_double(&w, sqlite3_column_double(st, c)); break;
        default: {
            const char *v = (const char *)sqlite3_column_text(st, c);
            size_t l = (size_t)sqlite3_column_bytes(st, c);
            /* ROW/ARRAY values are JSON text: keep them structured */
            struct arena a;
            struct json_value *jv = NULL;
            struct err e;
            arena_init(&a, 4096);
            if (l > 0 && (v[0] == '{' || v[0] == '[') && json_parse(v, l, &a, &jv, &e) == 0)
                jw_raw(&w, sv_make(v, l));
            else
                jw_str_sv(&w, sv_make(v, l));
            arena_free(&a);
            break;
        }
        }
    }
    jw_object_end(&w);
    out_write(out, first ? "\n " : ",\n ", first ? 2 : 3);
    out_write(out, b->p, b->len);
}

/* Every row of st; *rows counts them. 0, or SQLite's error. */
static int print_rows(sqlite3_stmt *st, enum fmt fmt, bool first, struct out *out, size_t *rows,
                      struct err *err)
{
    struct buf b;
    buf_init(&b, 0);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        print_row(st, fmt, first && *rows == 0, &b, out);
        (*rows)++;
    }
    buf_free(&b);
    if (s != SQLITE_DONE)
        return err_set(err, ERR_USAGE, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
    return 0;
}

static int print_end(enum fmt fmt, size_t rows, struct out *out, struct err *err)
{
    if (fmt == FMT_JSON)
        out_write(out, rows ? "\n]\n" : "]\n", rows ? 3 : 2);
    out_flush(out);
    if (out->error != 0)
        return err_set(err, ERR_IO, "writing the output: %s", strerror(out->error));
    return 0;
}

static int print_stream(sqlite3_stmt *st, enum fmt fmt, struct out *out, struct err *err)
{
    size_t rows = 0;
    print_header(st, fmt, out);
    int rc = print_rows(st, fmt, true, out, &rows, err);
    int rc2 = print_end(fmt, rows, out, err);
    return rc != 0 ? rc : rc2;
}

/* ---- slices of the time window on several threads ---------------------------- */

/* A big answer (every record of a principal over a month) is bound by
 * reading its records: each on its own page, copied by the kernel, then cut
 * into columns. A statement whose plan reads its rows through an index
 * bounded by the event time (query_sql_split) runs as slices of its window,
 * each on its own read-only connection and thread, formatted into memory and
 * written in time order: the same bytes as one thread, in about half the
 * time on two cores. At most `window` slices are taken ahead of the one
 * being written, and a slice holds at most SLICE_TEXT_MAX: past that, its
 * thread waits for its turn and writes the rest straight out. */
#define SLICES_PER_THREAD 8
#define SLICE_TEXT_MAX ((size_t)32 << 20) /* VIGIL_QUERY_SLICE_BYTES overrides (tests) */

/* How many slices a statement is cut into: fewer when each pays a setup. */
static size_t slice_count(const struct query_sql_split *sp, size_t threads)
{
    return sp->setup_cost ? threads : threads * SLICES_PER_THREAD;
}

struct slice {
    int64_t lo, hi;
    struct buf text;
    size_t rows;
    int rc;
    bool done, streamed;
    char msg[ERR_MSG_MAX];
};

struct slicer {
    const char *path, *sql;
    size_t len;
    const struct query_sql_split *sp;
    enum fmt fmt;
    struct out *out; /* written by the main thread, or by the slice whose turn it is */
    size_t text_max; /* bytes a slice may hold */
    struct slice *s;
    size_t n, next, written, window;
    size_t rows; /* rows written so far */
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Waits until slice k is the next to be written; false when stopped. */
static bool wait_turn(struct slicer *z, size_t k)
{
    pthread_mutex_lock(&z->mu);
    while (!z->stop && z->written != k)
        pthread_cond_wait(&z->cv, &z->mu);
    bool ok = !z->stop;
    pthread_mutex_unlock(&z->mu);
    return ok;
}

static int run_slice(struct slicer *z, struct store *st, size_t k, struct err *err)
{
    struct slice *sl = &z->s[k];
    sqlite3_stmt *stmt = NULL;
    int rc = query_sql_prepare_slice(store_db(st), z->sql, z->len, z->sp, sl->lo, sl->hi, &stmt,
                                     err);
    if (rc != 0)
        return rc;
    struct out *mem = xmalloc(sizeof(*mem)), *o = mem;
    mem->fd = -1;
    mem->mem = &sl->text;
    mem->error = 0;
    mem->len = 0;
    struct buf b;
    buf_init(&b, 0);
    int s;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (o == mem && sl->text.len + mem->len > z->text_max) {
            out_flush(mem);
            if (!wait_turn(z, k))
                break;
            /* our turn: what we hold, then the rest straight out (the
             * main thread waits for this slice meanwhile) */
            size_t skip = z->fmt == FMT_JSON && z->rows == 0 && sl->text.len > 0 ? 1 : 0;
            out_write(z->out, sl->text.p + skip, sl->text.len - skip);
            buf_free(&sl->text);
            sl->streamed = true;
            o = z->out;
        }
        print_row(stmt, z->fmt, o != mem && z->rows + sl->rows == 0, &b, o);
        sl->rows++;
    }
    if (s != SQLITE_DONE && s != SQLITE_ROW)
        rc = err_set(err, ERR_USAGE, "%s", sqlite3_errmsg(store_db(st)));
    if (o == mem)
        out_flush(mem);
    if (rc == 0 && mem->error != 0)
        rc = err_set(err, ERR_LIMIT, "out of memory holding a slice of the answer");
    buf_free(&b);
    free(mem);
    sqlite3_finalize(stmt);
    return rc;
}

static void *slice_worker(void *arg)
{
    struct slicer *z = arg;
    struct store *st = NULL;
    struct err e = { 0 };
    int open_rc = store_open_flags(z->path, STORE_OPEN_READONLY, &st, &e);
    if (open_rc == 0)
        open_rc = query_sql_setup(store_db(st), &e);
    for (;;) {
        pthread_mutex_lock(&z->mu);
        while (!z->stop && z->next < z->n && z->next >= z->written + z->window)
            pthread_cond_wait(&z->cv, &z->mu);
        if (z->stop || z->next >= z->n) {
            pthread_mutex_unlock(&z->mu);
            break;
        }
        size_t k = z->next++;
        pthread_mutex_unlock(&z->mu);
        int rc = open_rc != 0 ? open_rc : run_slice(z, st, k, &e);
        pthread_mutex_lock(&z->mu);
        z->s[k].rc = rc;
        if (rc != 0)
            snprintf(z->s[k].msg, sizeof(z->s[k].msg), "%s", e.msg);
        z->s[k].done = true;
        pthread_cond_broadcast(&z->cv);
        pthread_mutex_unlock(&z->mu);
    }
    store_close(st);
    return NULL;
}

/* The slices of [sp->lo, sp->hi) in the order they are written. */
static struct slice *make_slices(const struct query_sql_split *sp, size_t n)
{
    struct slice *s = xcalloc(n, sizeof(*s));
    int64_t span = sp->hi - sp->lo, w = span / (int64_t)n + (span % (int64_t)n != 0);
    for (size_t k = 0; k < n; k++) {
        int64_t a = sp->lo + (int64_t)k * w, b = k + 1 == n ? sp->hi : sp->lo + (int64_t)(k + 1) * w;
        if (b > sp->hi)
            b = sp->hi;
        if (a > b)
            a = b;
        size_t at = sp->desc ? n - 1 - k : k;
        s[at].lo = a;
        s[at].hi = b;
        buf_init(&s[at].text, 0);
    }
    return s;
}

static int print_sliced(sqlite3_stmt *serial, const char *path, const char *sql, size_t len,
                        const struct query_sql_split *sp, enum fmt fmt, size_t threads,
                        size_t text_max, struct out *out, struct err *err)
{
    struct slicer z = { .path = path, .sql = sql, .len = len, .sp = sp, .fmt = fmt, .out = out,
                        .text_max = text_max };
    z.n = slice_count(sp, threads);
    z.window = threads * 2;
    z.s = make_slices(sp, z.n);
    pthread_mutex_init(&z.mu, NULL);
    pthread_cond_init(&z.cv, NULL);
    print_header(serial, fmt, out);
    pthread_t *tids = xcalloc(threads, sizeof(*tids));
    size_t started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, slice_worker, &z) != 0)
            break;
    int rc = started == 0 ? err_set(err, ERR_INTERNAL, "cannot start a thread") : 0;
    for (size_t k = 0; rc == 0 && k < z.n; k++) {
        struct slice *sl = &z.s[k];
        pthread_mutex_lock(&z.mu);
        while (!sl->done)
            pthread_cond_wait(&z.cv, &z.mu);
        pthread_mutex_unlock(&z.mu);
        if (sl->rc != 0) {
            rc = err_set(err, sl->rc, "%s", sl->msg);
        } else if (!sl->streamed && sl->rows > 0) {
            /* every held JSON object starts ",\n ": the first of all "\n " */
            size_t skip = fmt == FMT_JSON && z.rows == 0 ? 1 : 0;
            out_write(out, sl->text.p + skip, sl->text.len - skip);
        }
        buf_free(&sl->text);
        pthread_mutex_lock(&z.mu);
        z.rows += sl->rows;
        z.written++;
        pthread_cond_broadcast(&z.cv);
        pthread_mutex_unlock(&z.mu);
    }
    pthread_mutex_lock(&z.mu);
    z.stop = true;
    pthread_cond_broadcast(&z.cv);
    pthread_mutex_unlock(&z.mu);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    for (size_t k = 0; k < z.n; k++)
        buf_free(&z.s[k].text);
    free(z.s);
    free(tids);
    pthread_cond_destroy(&z.cv);
    pthread_mutex_destroy(&z.mu);
    int rc2 = print_end(fmt, z.rows, out, err);
    return rc != 0 ? rc : rc2;
}

static void print_plan_node(void *ctx, int id, int parent, const char *detail)
{
    (void)ctx;
    printf("  %d %d %s\n", id, parent, detail);
}

/* --explain: the statement as SQLite runs it, its plan, and the slices. */
static int print_explain(sqlite3_stmt *st, const struct query_sql_split *sp, size_t threads,
                         struct err *err)
{
    printf("statement: %s\nplan:\n", sqlite3_sql(st));
    int rc = query_sql_plan(sqlite3_db_handle(st), sqlite3_sql(st), print_plan_node, NULL, err);
    if (sp != NULL) {
        char a[48], b[48];
        query_format_cli_time(sp->lo, false, a);
        query_format_cli_time(sp->hi, false, b);
        printf("slices: %zu of [%s, %s)%s on %zu threads\n",
               slice_count(sp, threads), a, b,
               sp->desc ? ", newest first," : "", threads);
    } else {
        printf("slices: none (one thread)\n");
    }
    return rc;
}

static char *read_all(const char *path, size_t *len, struct err *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        err_set(err, ERR_IO, "%s: cannot open", path);
        return NULL;
    }
    struct buf b;
    buf_init(&b, QUERY_SQL_MAX_INPUT);
    char tmp[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        rc = buf_append(&b, tmp, n);
    if (f != stdin)
        fclose(f);
    if (rc != 0 || buf_putc(&b, '\0') != 0) {
        buf_free(&b);
        err_set(err, ERR_LIMIT, "%s: larger than %u bytes", path, QUERY_SQL_MAX_INPUT);
        return NULL;
    }
    *len = b.len - 1;
    return buf_steal(&b);
}

int cmd_query(int argc, char **argv)
{
    const char *db = NULL, *file = NULL, *sql = NULL;
    enum fmt fmt = isatty(STDOUT_FILENO) ? FMT_TABLE : FMT_JSON;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t text_max = SLICE_TEXT_MAX;
    bool explain = false;
    const char *tm = getenv("VIGIL_QUERY_SLICE_BYTES");
    int64_t tmv;
    if (tm != NULL && sv_to_i64(sv_cstr(tm), &tmv) && tmv >= 0)
        text_max = (size_t)tmv;
    size_t threads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (size_t)ncpu;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--explain") == 0)
            explain = true;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            int64_t t;
            if (!sv_to_i64(sv_cstr(argv[++i]), &t) || t < 1 || t > 64) {
                fprintf(stderr, "vigil query: --threads must be 1 to 64\n");
                return 1;
            }
            threads = (size_t)t;
        }
        else if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--file") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
            const char *o = argv[++i];
            if (strcmp(o, "table") == 0)
                fmt = FMT_TABLE;
            else if (strcmp(o, "json") == 0)
                fmt = FMT_JSON;
            else if (strcmp(o, "csv") == 0)
                fmt = FMT_CSV;
            else {
                fprintf(stderr, "vigil query: --output must be table, json or csv\n");
                return 1;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "vigil query: unknown option %s\n", argv[i]);
            usage(stderr);
            return 1;
        } else if (sql == NULL) {
            sql = argv[i];
        } else {
            fprintf(stderr, "vigil query: one statement at a time (quote the SQL)\n");
            return 1;
        }
    }
    if (db == NULL || (sql == NULL) == (file == NULL)) {
        usage(stderr);
        return 1;
    }
    struct err err = { 0 };
    size_t len = 0;
    char *text = NULL;
    if (file != NULL) {
        text = read_all(file, &len, &err);
        if (text == NULL) {
            fprintf(stderr, "vigil query: %s\n", err.msg);
            return 1;
        }
        sql = text;
    } else {
        len = strlen(sql);
    }
    struct store *st = NULL;
    int rc = store_open_flags(db, STORE_OPEN_READONLY, &st, &err);
    int status = 0;
    sqlite3_stmt *stmt = NULL;
    char note[256];
    if (rc != 0) {
        fprintf(stderr, "vigil query: %s\n", err.msg);
        status = rc == ERR_NOTFOUND ? 1 : 2;
    } else if ((rc = query_sql_setup(store_db(st), &err)) != 0) {
        fprintf(stderr, "vigil query: %s\n", err.msg);
        status = 2;
    } else if ((rc = query_sql_prepare(store_db(st), sql, len, &stmt, note, &err)) != 0) {
        fprintf(stderr, "vigil query: %s\n", err.msg);
        status = 1;
    } else if (stmt == NULL) {
        fprintf(stderr, "vigil query: %s\n", note);
    } else {
        struct query_sql_split sp = { 0 };
        /* the table is computed whole: no slices for it */
        bool sliced = threads > 1 && (explain || fmt != FMT_TABLE) &&
                      query_sql_split(store_db(st), sql, len, &sp, &err) == 0 && sp.ok &&
                      sp.hi - sp.lo >= (int64_t)slice_count(&sp, threads);
        if (explain) {
            rc = print_explain(stmt, sliced ? &sp : NULL, threads, &err);
        } else if (fmt == FMT_TABLE) {
            rc = print_table(stmt, stdout, &err);
        } else {
            struct out *o = xmalloc(sizeof(*o));
            o->fd = STDOUT_FILENO;
            o->mem = NULL;
            o->error = 0;
            o->len = 0;
            fflush(stdout);
            if (sliced)
                rc = print_sliced(stmt, db, sql, len, &sp, fmt, threads, text_max, o, &err);
            else
                rc = print_stream(stmt, fmt, o, &err);
            free(o);
        }
        if (rc != 0) {
            fprintf(stderr, "vigil query: %s\n", err.msg);
            status = 1;
        }
    }
    sqlite3_finalize(stmt);
    store_close(st);
    free(text);
    return status;
}
