/*
 * ingest: files -> rows, idempotent and resumable.
 *
 * For each file: if the ledger has it finished (same path, size and mtime; or
 * the same SHA-256 and size under any path) it is skipped. Otherwise its
 * ledger row is found (a run killed half-way left one, unfinished) or made,
 * its records are inserted (INSERT OR IGNORE, so rows a killed run already
 * committed are not duplicated) and the row is marked finished. Rows go in
 * batches of batch_rows per transaction; batches span files, and a file's
 * "finished" mark is written in the transaction of its last rows, so the two
 * are committed together or not at all.
 *
 * The content hash is taken over the file's bytes as stored (compressed or
 * not), so `sha256sum FILE` gives the same value.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_CHUNK ((size_t)1 << 20)

struct ingest {
    struct store *st;
    const struct store_ingest_opts *o;
    struct input_options in_opt;
    struct store_ingest_stats s;
    size_t batch_rows;
    size_t in_batch;
    char *chunk; /* hashing buffer, reused */
    struct stat own[3]; /* the database's files (st_ino 0 when absent) */
};

static void problem(struct ingest *g, int code, const struct err *e)
{
    if (g->o->on_problem != NULL)
        g->o->on_problem(g->o->ctx, code, e);
}

static void progress(struct ingest *g)
{
    if (g->o->on_progress != NULL)
        g->o->on_progress(g->o->ctx, &g->s);
}

/* Commits the open batch and starts the next one. A non-zero after_commit
 * return ends the run (ERR_INTERNAL is not used for it: the caller asked). */
static int next_batch(struct ingest *g, bool *stop, struct err *err)
{
    int rc = store_commit(g->st, err);
    if (rc != 0)
        return rc;
    g->in_batch = 0;
    progress(g);
    if (g->o->after_commit != NULL && g->o->after_commit(g->o->ctx, &g->s) != 0) {
        *stop = true;
        return 0;
    }
    return store_begin(g->st, err);
}

static int hash_file(struct ingest *g, const char *path, char hex[65], struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
    struct store_sha256 sh;
    store__sha256_init(&sh);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, g->chunk, HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(err, ERR_IO, "read failed: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        store__sha256_update(&sh, g->chunk, (size_t)n);
    }
    close(fd);
    if (rc == 0)
        store__sha256_hex(&sh, hex);
    return rc;
}

/* Runs a one-row, one-column ledger query: parameters (a, text_b) when
 * text_b is given, else (a, b) and, when the statement has a third, c. *found
 * says whether a row came back. */
static int ledger_find(struct store *st, enum store_stmt id, const char *a, int64_t b, int64_t c,
                       const char *text_b, int64_t *id_out, bool *found, struct err *err)
{
    sqlite3_stmt *s;
    int rc = store__stmt(st, id, &s, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    if (text_b != NULL) {
        sqlite3_bind_text(s, 2, text_b, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(s, 2, b);
        if (sqlite3_bind_parameter_count(s) >= 3)
            sqlite3_bind_int64(s, 3, c);
    }
    int step = sqlite3_step(s);
    *found = step == SQLITE_ROW;
    if (*found && id_out != NULL)
        *id_out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return store__db_err(st, err, "reading the ingest ledger");
    return 0;
}

static int ledger_start(struct ingest *g, const char *path, int64_t size, int64_t mtime,
                        const char *sha, int64_t *id_out, struct err *err)
{
    bool found;
    int rc = ledger_find(g->st, STMT_LEDGER_OPEN, path, 0, 0, sha, id_out, &found, err);
    if (rc != 0 || found)
        return rc;
    sqlite3_stmt *s;
    rc = store__stmt(g->st, STMT_LEDGER_INSERT, &s, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, size);
    sqlite3_bind_int64(s, 3, mtime);
    sqlite3_bind_text(s, 4, sha, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return store__db_err(g->st, err, "writing the ingest ledger");
    *id_out = sqlite3_last_insert_rowid(g->st->db);
    return 0;
}

static int ledger_finish(struct ingest *g, int64_t id, uint64_t records, uint64_t inserted,
                         uint64_t bad, int64_t size, int64_t mtime, struct err *err)
{
    sqlite3_stmt *s;
    int rc = store__stmt(g->st, STMT_LEDGER_FINISH, &s, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, (int64_t)records);
    sqlite3_bind_int64(s, 3, (int64_t)inserted);
    sqlite3_bind_int64(s, 4, (int64_t)bad);
    sqlite3_bind_int64(s, 5, size);
    sqlite3_bind_int64(s, 6, mtime);
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    return step == SQLITE_DONE ? 0 : store__db_err(g->st, err, "writing the ingest ledger");
}

/* Which of the database, its WAL and its shared-memory file sb is (0, 1, 2),
 * or -1: a walk may find them (vigil ingest --db here/case.db here/). */
static int own_file(const struct ingest *g, const struct stat *sb)
{
    for (int i = 0; i < 3; i++)
        if (g->own[i].st_ino != 0 && g->own[i].st_ino == sb->st_ino &&
            g->own[i].st_dev == sb->st_dev)
            return i;
    return -1;
}

static int64_t mtime_ns(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

/* Reads one file's records into the store. Returns 0 (bad records are counted
 * and reported, not returned) or a fatal error (ERR_DB). */
static int ingest_file(struct ingest *g, const struct input_file *f, bool *stop, struct err *err)
{
    const bool is_stdin = strcmp(f->path, "-") == 0;
    int64_t size = 0, mtime = 0, file_id = 0;
    struct err e;
    err_clear(&e);
    g->s.current = f->path;

    if (!is_stdin) {
        struct stat sb;
        int own = stat(f->path, &sb) == 0 ? own_file(g, &sb) : -1;
        if (own >= 0) {
            if (own == 0) {
                err_where(&e, f->path, 0, 0);
                err_set(&e, INPUT_NOTE, "the store itself: skipped");
                problem(g, INPUT_NOTE, &e);
                g->s.notes++;
            }
            g->s.files_total--;
            g->s.bytes_total -= (uint64_t)sb.st_size < g->s.bytes_total ? (uint64_t)sb.st_size
                                                                        : g->s.bytes_total;
            return 0;
        }
        if (stat(f->path, &sb) != 0) {
            err_where(&e, f->path, 0, 0);
            err_set(&e, ERR_IO, "cannot stat: %s", strerror(errno));
            problem(g, ERR_IO, &e);
            g->s.bad++;
            return 0;
        }
        size = (int64_t)sb.st_size;
        mtime = mtime_ns(&sb);
        bool found = false;
        int rc = 0;
        if (!g->o->force)
            rc = ledger_find(g->st, STMT_LEDGER_DONE_PATH, f->path, size, mtime, NULL, NULL,
                             &found, err);
        if (rc != 0)
            return rc;
        if (found) {
            g->s.files_skipped++;
            g->s.bytes_done += (uint64_t)size;
            return 0;
        }
        char sha[65];
        if (hash_file(g, f->path, sha, &e) != 0) {
            err_where(&e, f->path, 0, 0);
            problem(g, e.code, &e);
            g->s.bad++;
            return 0;
        }
        if (!g->o->force)
            rc = ledger_find(g->st, STMT_LEDGER_DONE_HASH, sha, size, 0, NULL, NULL, &found, err);
        if (rc != 0)
            return rc;
        if (found) {
            g->s.files_skipped++;
            g->s.bytes_done += (uint64_t)size;
            return 0;
        }
        rc = ledger_start(g, f->path, size, mtime, sha, &file_id, err);
        if (rc != 0)
            return rc;
    }

    struct input_list one = { .files = (struct input_file *)f, .n = 1, .cap = 1 };
    struct input_reader *r = NULL;
    int rc = input_open(&one, &g->in_opt, &r, err);
    if (rc != 0)
        return rc;
    uint64_t records = 0, inserted = 0, bad = 0;
    struct event ev;
    for (;;) {
        int nrc = input_next(r, &ev, &e);
        if (nrc == INPUT_END)
            break;
        if (nrc == INPUT_NOTE) {
            problem(g, INPUT_NOTE, &e);
            g->s.notes++;
            continue;
        }
        if (nrc != 0) {
            problem(g, nrc, &e);
            bad++;
            g->s.bad++;
            continue;
        }
        bool ins = false;
        records++;
        g->s.records++;
        rc = store_put_event(g->st, &ev, file_id, &ins, &e);
        if (rc == ERR_DB || rc == ERR_INTERNAL) {
            *err = e;
            break;
        }
        if (rc != 0) {
            err_where(&e, ev.file ? ev.file : f->path, ev.record_no, 0);
            problem(g, rc, &e);
            bad++;
            g->s.bad++;
            rc = 0;
            continue;
        }
        if (ins) {
            inserted++;
            g->s.inserted++;
        } else {
            g->s.duplicates++;
        }
        if (++g->in_batch >= g->batch_rows) {
            rc = next_batch(g, stop, err);
            if (rc != 0 || *stop)
                break;
        }
    }
    input_close(r);
    if (rc != 0 || *stop)
        return rc;
    if (file_id > 0) {
        rc = ledger_finish(g, file_id, records, inserted, bad, size, mtime, err);
        if (rc != 0)
            return rc;
    }
    g->s.files_done++;
    g->s.bytes_done += (uint64_t)size;
    progress(g);
    return 0;
}

/* A very large input next to what the store holds. Measured here, deferring
 * gains little while the store fits in the OS page cache (200k and 1M
 * CloudTrail records: within the noise), since SQLite's random index updates
 * then cost syscalls, not disk reads; past that (1 GiB of gzip is ~4M
 * CloudTrail records, a ~12 GB store) every index update risks a disk read,
 * and one sorted build at the end wins. */
static bool defer_worth_it(struct store *st, uint64_t input_bytes)
{
    int64_t bytes = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT page_count * page_size FROM pragma_page_count(),"
                                   " pragma_page_size()",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        bytes = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return input_bytes >= ((uint64_t)1 << 30) && (uint64_t)bytes < input_bytes * 8;
}

int store_ingest(struct store *st, const char *const *paths, size_t n,
                 const struct store_ingest_opts *opt, struct store_ingest_stats *stats_out,
                 struct err *err)
{
    static const struct store_ingest_opts defaults = { 0 };
    struct ingest g;
    memset(&g, 0, sizeof(g));
    g.st = st;
    g.o = opt ? opt : &defaults;
    if (st->readonly)
        return err_set(err, ERR_USAGE, "the store is open read-only");
    if (g.o->input != NULL)
        g.in_opt = *g.o->input;
    g.batch_rows = g.o->batch_rows ? g.o->batch_rows : 10000;

    struct input_list list;
    input_list_init(&list);
    struct err e;
    err_clear(&e);
    if (input_collect(paths, n, &list, &e) != 0) {
        /* Missing paths are bad input, not the end of the run. */
        problem(&g, e.code, &e);
        g.s.bad++;
    }
    g.s.files_total = list.n;
    const char *dbpath = sqlite3_db_filename(st->db, "main");
    if (dbpath != NULL && dbpath[0] != '\0') {
        static const char *const suffix[3] = { "", "-wal", "-shm" };
        for (int i = 0; i < 3; i++) {
            char p[4200];
            snprintf(p, sizeof(p), "%s%s", dbpath, suffix[i]);
            if (stat(p, &g.own[i]) != 0)
                g.own[i].st_ino = 0;
        }
    }
    for (size_t i = 0; i < list.n; i++) {
        struct stat sb;
        if (strcmp(list.files[i].path, "-") != 0 && stat(list.files[i].path, &sb) == 0)
            g.s.bytes_total += (uint64_t)sb.st_size;
    }

    struct json_pathset *ps = NULL;
    if (g.in_opt.want == NULL) {
        ps = json_pathset_new();
        store_add_paths(ps);
        g.in_opt.want = ps;
    }
    g.chunk = xmalloc(HASH_CHUNK);
    bool stop = false;
    int rc = 0;
    if (g.o->index_mode == STORE_INDEX_DEFER ||
        (g.o->index_mode == STORE_INDEX_AUTO && defer_worth_it(st, g.s.bytes_total))) {
        g.s.deferred = true;
        rc = store__drop_indexes(st, err);
    }
    if (rc == 0)
        rc = store_begin(st, err);
    for (size_t i = 0; rc == 0 && !stop && i < list.n; i++)
        rc = ingest_file(&g, &list.files[i], &stop, err);
    if (rc == 0 && !stop)
        rc = store_commit(st, err);
    if (rc != 0)
        store_rollback(st);
    int missing = 0;
    if (rc == 0 && !stop)
        rc = store__missing_indexes(st, &missing, err);
    if (rc == 0 && missing > 0) {
        g.s.indexing = true;
        g.s.current = NULL;
        progress(&g);
        rc = store__ensure_indexes(st, err);
        g.s.indexing = false;
    }
    g.s.current = NULL;
    progress(&g);
    free(g.chunk);
    json_pathset_free(ps);
    input_list_free(&list);
    if (stats_out != NULL)
        *stats_out = g.s;
    return rc;
}
