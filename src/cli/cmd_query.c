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
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

#define CELL_MAX 80 /* table cells longer than this are cut with "..." */
#define TABLE_ROWS_MAX 100000

static void usage(FILE *out)
{
    fputs("usage: vigil query --db FILE [--output table|json|csv] \"SQL\"\n"
          "       vigil query --db FILE [--output ...] -f FILE.sql   (- for stdin)\n"
          "Athena (Trino) SQL over the views cloudtrail_logs, vpc_flow_logs, vpcflow and\n"
          "r53_rlogs (see docs/sql.md).\n",
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
    int error; /* errno of the first failed write; later output is dropped */
    size_t len;
    char buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
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

static int print_stream(sqlite3_stmt *st, enum fmt fmt, struct out *out, struct err *err)
{
    int ncol = sqlite3_column_count(st);
    struct buf b;
    struct json_writer w;
    buf_init(&b, 0);
    if (fmt == FMT_CSV) {
        for (int c = 0; c < ncol; c++) {
            if (c)
                out_putc(out, ',');
            write_csv_field(sqlite3_column_name(st, c), out);
        }
        out_putc(out, '\n');
    } else {
        out_putc(out, '[');
    }
    int s;
    size_t rows = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == FMT_CSV) {
            for (int c = 0; c < ncol; c++) {
                if (c)
                    out_putc(out, ',');
                write_csv_field((const char *)sqlite3_column_text(st, c), out);
            }
            out_putc(out, '\n');
            continue;
        }
        buf_reset(&b);
        jw_init(&w, &b, 0);
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
        out_write(out, rows ? ",\n " : "\n ", rows ? 3 : 2);
        out_write(out, b.p, b.len);
        rows++;
    }
    if (fmt == FMT_JSON)
        out_write(out, rows ? "\n]\n" : "]\n", rows ? 3 : 2);
    buf_free(&b);
    out_flush(out);
    if (s != SQLITE_DONE)
        return err_set(err, ERR_USAGE, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
    if (out->error != 0)
        return err_set(err, ERR_IO, "writing the output: %s", strerror(out->error));
    return 0;
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
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
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
        if (fmt == FMT_TABLE) {
            rc = print_table(stmt, stdout, &err);
        } else {
            struct out *o = xmalloc(sizeof(*o));
            o->fd = STDOUT_FILENO;
            o->error = 0;
            o->len = 0;
            fflush(stdout);
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
