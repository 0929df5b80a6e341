/*
 * store_int.h: what the store module's files share. Not a public header.
 */
#ifndef VIGIL_STORE_INT_H
#define VIGIL_STORE_INT_H

#include "store/store.h"

#include <sqlite3.h>

/* Most resources kept per event (a RunInstances of 500 instances keeps 64). */
#define STORE_MAX_RESOURCES 64
/* Largest CloudTrail record stored (compacted); larger ones are ERR_LIMIT. */
#define STORE_MAX_RAW ((size_t)64 << 20)

struct store_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char block[64];
    size_t fill;
};

void store__sha256_init(struct store_sha256 *s);
void store__sha256_update(struct store_sha256 *s, const void *data, size_t len);
/* Finishes the hash (s is spent) and writes 64 hex digits and a NUL. */
void store__sha256_hex(struct store_sha256 *s, char out[65]);

/* Prepared statements, made on first use and kept until close. */
enum store_stmt {
    STMT_INS_CT,
    STMT_INS_RAW,           /* the record of the row just inserted */
    STMT_RAW_OF_EVENT,      /* the record of a cloudtrail row */
    STMT_INS_RES,
    STMT_INS_FLOW,
    STMT_INS_DNS,
    STMT_INS_S3,
    STMT_INS_CF,
    STMT_INS_WAF,
    STMT_LEDGER_DONE_PATH,  /* finished row for (path, size, mtime) */
    STMT_LEDGER_DONE_HASH,  /* finished row for (sha256, size) */
    STMT_LEDGER_OPEN,       /* row for (path, sha256), unfinished first */
    STMT_LEDGER_INSERT,
    STMT_LEDGER_FINISH,
    STMT_RES_OF_EVENT,
    STMT_DAILY_ADD,
    STMT_N
};

/* One key of cloudtrail_daily with the events the open transaction added. */
struct store_daily {
    int64_t day_ms;
    char *account, *region; /* NULL for a NULL column */
    size_t account_len, region_len;
    int64_t n;
};

struct store {
    sqlite3 *db;
    bool readonly;
    bool in_tx;
    sqlite3_stmt *stmt[STMT_N];
    /* CloudTrail events inserted in the open transaction, by day, account and
     * Region: added to cloudtrail_daily before it commits (store_commit). */
    struct store_daily *daily;
    size_t n_daily, cap_daily;
    /* The text index (textidx.c): whether the store has it (-1: not known
     * yet, read again at each store_begin), and the first CloudTrail row id
     * of the open transaction not yet indexed (text_pending). */
    int text_on;
    bool text_pending;
    int64_t text_lo;
    struct buf raw;      /* compacted CloudTrail record */
    struct buf answers;  /* DNS answers as JSON */
    struct arena arena;  /* per-event scratch */
};

/* Counts one CloudTrail event just inserted (its time, account and Region as
 * bound to the row; a NULL sv is a NULL column) for cloudtrail_daily. Written
 * at once outside a transaction, else at store_commit. */
/* The text index's part of inserting CloudTrail record id: store__text_add
 * before the record's row goes in (so the guard trigger knows this
 * connection maintains the index), store__text_flush after it when outside a
 * transaction, else store_commit does. store__text_register defines the
 * guard's function on the connection. textidx.c. */
int store__text_add(struct store *st, int64_t id, struct err *err);
int store__text_flush(struct store *st, struct err *err);
int store__text_register(struct store *st, struct err *err);

int store__daily_add(struct store *st, int64_t time_ms, struct sv account, struct sv region,
                     struct err *err);
/* Writes the counts gathered so far into cloudtrail_daily / forgets them. */
int store__daily_flush(struct store *st, struct err *err);
void store__daily_clear(struct store *st);

/* Sets err from the connection's last error: "what: sqlite message". */
int store__db_err(struct store *st, struct err *err, const char *what);
/* Runs SQL without results (several statements allowed). */
int store__exec(struct store *st, const char *sql, struct err *err);
/* The cached prepared statement for id, reset and unbound. */
int store__stmt(struct store *st, enum store_stmt id, sqlite3_stmt **out, struct err *err);

/* The secondary indexes: created if absent / dropped (ingest's bulk mode) /
 * how many are absent. */
int store__ensure_indexes(struct store *st, struct err *err);
int store__drop_indexes(struct store *st, struct err *err);
int store__missing_indexes(struct store *st, int *out, struct err *err);

/* The SQL of migration `version` (1-based), NULL past the last: tests build
 * stores as older Vigils wrote them. */
const char *store__migration_sql(int version);

/* True when a JSON text has no whitespace between tokens. */
bool store__json_is_compact(struct sv in);
/* Copies a JSON text without the whitespace between tokens. */
int store__compact_json(struct sv in, struct buf *out);

#endif
