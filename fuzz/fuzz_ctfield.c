/*
 * Differential fuzz target for ct_field (src/query/sql_ctrec.c), which claims
 * to give exactly what SQLite's own -> and ->> give on a stored CloudTrail
 * record. Input: a key (letters, digits and '_', up to the first newline, at
 * most 32 bytes) then the record's bytes. For both arrows, when SQLite answers,
 * ct_field must answer the same value, type and subtype; when SQLite refuses
 * the record (malformed JSON) ct_field may give anything but must not crash.
 * Anything else aborts.
 */
#include "query/query_int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* Column 0 of sql's one row as (type, text, subtype); false if no row. */
static bool one_value(sqlite3 *db, const char *sql, const char *key, int *type, char **text,
                      unsigned *subtype)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        sqlite3_value *v = sqlite3_column_value(st, 0);
        *type = sqlite3_value_type(v);
        *subtype = sqlite3_value_subtype(v);
        const char *t = (const char *)sqlite3_value_text(v);
        *text = t ? xstrdup(t) : NULL;
    }
    sqlite3_finalize(st);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    size_t k = 0;
    while (k < n && k < 32 && d[k] != '\n')
        k++;
    if (k == 0 || k >= n || d[k] != '\n')
        return 0;
    char key[33];
    for (size_t i = 0; i < k; i++) {
        char c = (char)d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
        key[i] = c;
    }
    key[k] = '\0';
    const char *rec = (const char *)d + k + 1;
    size_t rec_len = n - k - 1;

    sqlite3 *db = NULL;
    struct err e;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || query__sql_ct_record(db, &e) != 0 ||
        sqlite3_exec(db, "CREATE TABLE cloudtrail_raw(id INTEGER PRIMARY KEY, raw TEXT)", NULL, NULL,
                     NULL) != SQLITE_OK)
        abort();
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO cloudtrail_raw VALUES(1, ?1)", -1, &ins, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_text(ins, 1, rec, (int)rec_len, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE)
        abort();
    sqlite3_finalize(ins);

    static const char *const theirs[2] = {
        "SELECT raw ->> ('$.' || ?1) FROM cloudtrail_raw WHERE id = 1",
        "SELECT raw -> ('$.' || ?1) FROM cloudtrail_raw WHERE id = 1",
    };
    static const char *const ours[2] = {
        "SELECT ct_field(1, ?1, 0)",
        "SELECT ct_field(1, ?1, 1)",
    };
    for (int mode = 0; mode < 2; mode++) {
        int ta = 0, tb = 0;
        char *xa = NULL, *xb = NULL;
        unsigned sa = 0, sb = 0;
        bool a = one_value(db, theirs[mode], key, &ta, &xa, &sa);
        bool b = one_value(db, ours[mode], key, &tb, &xb, &sb);
        if (a && (!b || ta != tb || sa != sb || (xa == NULL) != (xb == NULL) ||
                  (xa && strcmp(xa, xb) != 0)))
            abort();
        free(xa);
        free(xb);
    }
    sqlite3_close(db);
    return 0;
}
