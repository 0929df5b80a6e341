/*
 * The bus runtime: matching, staging, the durable outbox, delivery threads,
 * retries and dead-lettering, archive, replay and schedules.
 *
 * Life of an event: bus_put flattens it once (only the paths rules read),
 * matches it against every rule and archive pattern in one visit, renders
 * each target's input and stages one item per (rule, target) in the worker.
 * A flush commits the batch in one SQLite transaction: file targets are
 * appended (and flushed) first, queue targets become queue messages, exec and
 * http targets become outbox rows that the delivery threads send. A row
 * leaves the outbox only when delivered or moved to a dead-letter queue, in
 * the same transaction that records it, so a kill at any moment leaves every
 * committed delivery either done or still in the outbox (at least once).
 *
 * Retry: after attempt k fails (retriably), the next try waits
 * min(max, base * 2^(k-1)), the upper half of it jittered, until
 * RetryPolicy.MaximumRetryAttempts retries are spent or the event is older
 * than MaximumEventAgeInSeconds since it reached the bus (defaults 185 and
 * 86400, as EventBridge). Then the event goes to the dead-letter queue with
 * EventBridge's message attributes (ERROR_CODE, ERROR_MESSAGE,
 * EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, RULE_ARN, TARGET_ARN; plus
 * TARGET_ID so a redrive can find the target again).
 */
#include "bus/bus_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define BATCH_ITEMS 512
#define BATCH_BYTES ((size_t)8 << 20)
#define CLAIM_MAX 64

/* ---- small utilities ---------------------------------------------------------------- */

static int64_t real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bus__now(const struct bus *b) { return b->clock ? b->clock(b->clock_ctx) : real_now(); }

void bus__random_hex(char *out, size_t n_hex)
{
    unsigned char r[64];
    size_t nb = (n_hex + 1) / 2;
    if (nb > sizeof(r))
        nb = sizeof(r);
    if (getrandom(r, nb, 0) != (ssize_t)nb) {
        /* getrandom on Linux does not fail for small requests; be safe anyway. */
        uint64_t h = hash64(&out, sizeof(out), (uint64_t)real_now());
        for (size_t i = 0; i < nb; i++, h = h * 6364136223846793005ull + 1)
            r[i] = (unsigned char)(h >> 56);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n_hex && i / 2 < nb; i++)
        out[i] = hex[(i & 1) ? (r[i / 2] & 15) : (r[i / 2] >> 4)];
    out[n_hex] = '\0';
}

void bus_uuid4(char out[37]) { bus__uuid4(out); }

void bus__uuid4(char out[37])
{
    char h[33];
    bus__random_hex(h, 32);
    h[12] = '4';
    h[16] = "89ab"[(h[16] - '0') & 3];
    size_t o = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = h[i];
    }
    out[o] = '\0';
}

int bus__exec(struct bus *b, const char *sql, struct err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(b->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = err_set(err, ERR_DB, "store: %s", msg ? msg : sqlite3_errmsg(b->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static sqlite3_stmt *prep(struct bus *b, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

bool bus__find_target(const struct bus_config *cfg, const char *rule, const char *target,
                      const struct bus_rule **r_out, const struct bus_target **t_out)
{
    long ri = bus_config_find_rule(cfg, rule);
    if (ri < 0)
        return false;
    const struct bus_rule *r = &cfg->rules[ri];
    for (size_t i = 0; i < r->n_targets; i++)
        if (strcmp(r->targets[i].id, target) == 0) {
            *r_out = r;
            *t_out = &r->targets[i];
            return true;
        }
    return false;
}

/* A parsed value through the writer, so it is indented like the rest. */
void bus__write_tree(struct json_writer *w, const struct json_value *v)
{
    switch (v->type) {
    case JSON_OBJECT:
        jw_object_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            jw_key_sv(w, sv_make(v->items[i].key, v->items[i].key_len));
            bus__write_tree(w, &v->items[i]);
        }
        jw_object_end(w);
        break;
    case JSON_ARRAY:
        jw_array_begin(w);
        for (size_t i = 0; i < v->n; i++)
            bus__write_tree(w, &v->items[i]);
        jw_array_end(w);
        break;
    case JSON_STRING:
        jw_str_sv(w, sv_make(v->str, v->len));
        break;
    default: {
        struct buf t;
        buf_init(&t, 0);
        json_write_value(&t, v);
        jw_raw(w, sv_make(t.p, t.len));
        buf_free(&t);
    }
    }
}

/* ---- the store ---------------------------------------------------------------------------- */

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS outbox("
    "  id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL,"
    "  payload BLOB NOT NULL, event BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  first_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL, last_code TEXT, last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_next ON outbox(next_ms);"
    "CREATE TABLE IF NOT EXISTS queue_msg("
    "  seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, msg_id TEXT NOT NULL, body BLOB NOT NULL,"
    "  attrs TEXT, sent_ms INTEGER NOT NULL, visible_ms INTEGER NOT NULL,"
    "  receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER NOT NULL DEFAULT 0,"
    "  receipt TEXT, src_queue TEXT);"
    "CREATE INDEX IF NOT EXISTS queue_msg_vis ON queue_msg(queue, visible_ms);"
    "CREATE TABLE IF NOT EXISTS receipts(receipt TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS archive("
    "  archive TEXT NOT NULL, event_id TEXT NOT NULL, time_ms INTEGER NOT NULL,"
    "  archived_ms INTEGER NOT NULL, event BLOB NOT NULL, PRIMARY KEY(archive, event_id));"
    "CREATE INDEX IF NOT EXISTS archive_time ON archive(archive, time_ms);"
    "CREATE TABLE IF NOT EXISTS files_done(path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER,"
    "  done_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS schedule(rule TEXT PRIMARY KEY, last_ms INTEGER NOT NULL);";

static int store_open(struct bus *b, const char *path, struct err *err)
{
    if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK)
        return err_set(err, ERR_DB, "%s: %s", path, b->db ? sqlite3_errmsg(b->db) : "cannot open");
    sqlite3_busy_timeout(b->db, 10000);
    if (bus__exec(b, SCHEMA, err) != 0)
        return ERR_DB;
    /* One delivering process per store: the others only stage (the lock
     * goes with the process, so a killed deliverer frees it). */
    struct buf lp;
    buf_init(&lp, 0);
    buf_printf(&lp, "%s.lock", path);
    b->lock_fd = open(lp.p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    buf_free(&lp);
    b->deliverer = b->lock_fd >= 0 && flock(b->lock_fd, LOCK_EX | LOCK_NB) == 0;
    /* Archive retention counts from when an event was archived. */
    int64_t now = bus__now(b);
    for (size_t i = 0; i < b->cfg->n_archives; i++) {
        const struct bus_archive_cfg *a = &b->cfg->archives[i];
        if (a->retention_days <= 0)
            continue;
        sqlite3_stmt *st = prep(b, "DELETE FROM archive WHERE archive=? AND archived_ms<?");
        if (st) {
            sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, now - (int64_t)a->retention_days * 86400000);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
    }
    return 0;
}

int bus__queue_insert(struct bus *b, const char *queue, const char *body, size_t len,
                      const char *attrs, const char *src_queue, char id_out[37])
{
    char id[37];
    bus__uuid4(id);
    if (id_out)
        memcpy(id_out, id, 37);
    sqlite3_stmt *st = prep(b, "INSERT INTO queue_msg(queue,msg_id,body,attrs,sent_ms,visible_ms,"
                               "src_queue) VALUES(?,?,?,?,?,?,?)");
    if (!st)
        return ERR_DB;
    int64_t now = bus__now(b);
    sqlite3_bind_text(st, 1, queue, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, body, (int)len, SQLITE_STATIC);
    if (attrs)
        sqlite3_bind_text(st, 4, attrs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now);
    if (src_queue)
        sqlite3_bind_text(st, 7, src_queue, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
    sqlite3_finalize(st);
    return rc;
}

int bus__outbox_insert(struct bus *b, const char *event_id, const char *rule, const char *target,
                       const char *payload, size_t plen, const char *event, size_t elen,
                       int64_t first_ms)
{
    sqlite3_stmt *st = prep(b, "INSERT INTO outbox(event_id,rule,target,payload,event,first_ms,"
                               "next_ms) VALUES(?,?,?,?,?,?,?)");
    if (!st)
        return ERR_DB;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, payload, (int)plen, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, event, (int)elen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, first_ms);
    sqlite3_bind_int64(st, 7, first_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
    sqlite3_finalize(st);
    return rc;
}

/* ---- dead-letter attributes ---------------------------------------------------------------- */

static void attr(struct json_writer *w, const char *name, const char *type, const char *val)
{
    jw_key(w, name);
    jw_object_begin(w);
    jw_key(w, "DataType");
    jw_str(w, type);
    jw_key(w, "StringValue");
    jw_str(w, val);
    jw_object_end(w);
}

static char *dlq_attrs(const struct bus_rule *r, const char *rule_name, const struct bus_target *t,
                       const char *target_id, const char *code, const char *msg,
                       const char *exhausted, int attempts)
{
    struct buf b;
    struct json_writer w;
    char num[24];
    buf_init(&b, 0);
    jw_init(&w, &b, 0);
    jw_object_begin(&w);
    attr(&w, "ERROR_CODE", "String", code);
    attr(&w, "ERROR_MESSAGE", "String", msg);
    if (exhausted)
        attr(&w, "EXHAUSTED_RETRY_CONDITION", "String", exhausted);
    snprintf(num, sizeof(num), "%d", attempts > 0 ? attempts - 1 : 0);
    attr(&w, "RETRY_ATTEMPTS", "Number", num);
    if (r)
        attr(&w, "RULE_ARN", "String", r->arn);
    attr(&w, "RULE_NAME", "String", rule_name);
    if (t)
        attr(&w, "TARGET_ARN", "String", t->arn);
    attr(&w, "TARGET_ID", "String", target_id);
    jw_object_end(&w);
    return buf_steal(&b);
}

/* ---- file targets ------------------------------------------------------------------------------ */

void bus__jsonl(struct buf *out, const char *payload, size_t len)
{
    if (!memchr(payload, '\n', len)) {
        /* Fast path: an event or a one-line payload; text payloads are
         * written as JSON strings so the file stays JSON lines. */
        struct arena a;
        bool json = true;
        if (len == 0 || (payload[0] != '{' && payload[0] != '[')) {
            arena_init(&a, 4096);
            struct json_value *v;
            json = json_parse(payload, len, &a, &v, NULL) == 0;
            arena_free(&a);
        }
        if (json) {
            buf_append(out, payload, len);
        } else {
            buf_putc(out, '"');
            json_escape(out, payload, len);
            buf_putc(out, '"');
        }
        buf_putc(out, '\n');
        return;
    }
    struct arena a;
    arena_init(&a, 0);
    struct json_value *v;
    if (json_parse(payload, len, &a, &v, NULL) == 0) {
        json_write_value(out, v);
    } else {
        buf_putc(out, '"');
        json_escape(out, payload, len);
        buf_putc(out, '"');
    }
    arena_free(&a);
    buf_putc(out, '\n');
}

/* Under mu. */
static struct bus_file *file_get(struct bus *b, const char *path)
{
    for (size_t i = 0; i < b->n_files; i++)
        if (strcmp(b->files[i].path, path) == 0)
            return &b->files[i];
    b->files = xrealloc(b->files, (b->n_files + 1) * sizeof(*b->files));
    struct bus_file *f = &b->files[b->n_files++];
    f->path = xstrdup(path);
    f->f = NULL;
    f->dirty = false;
    return f;
}

/* Appends a line to a file target (under mu). */
static int file_append(struct bus *b, const char *path, const char *line, size_t len,
                       struct bus_result *res)
{
    struct bus_file *f = file_get(b, path);
    if (!f->f)
        f->f = fopen(path, "ae");
    if (!f->f || fwrite(line, 1, len, f->f) != len) {
        res->ok = false;
        res->retriable = true;
        snprintf(res->code, sizeof(res->code), "IO_ERROR");
        snprintf(res->msg, sizeof(res->msg), "%s: %s", path, strerror(errno ? errno : EIO));
        if (f->f) {
            fclose(f->f);
            f->f = NULL;
        }
        return ERR_IO;
    }
    f->dirty = true;
    res->ok = true;
    return 0;
}

static int files_flush(struct bus *b)
{
    int rc = 0;
    for (size_t i = 0; i < b->n_files; i++)
        if (b->files[i].dirty && b->files[i].f) {
            if (fflush(b->files[i].f) != 0)
                rc = ERR_IO;
            b->files[i].dirty = false;
        }
    return rc;
}

/* ---- rendering --------------------------------------------------------------------------------- */

int bus__render(struct bus *b, const struct bus_rule *r, const struct bus_target *t,
                const char *event, size_t len, struct buf *out, struct err *err)
{
    if (t->input)
        return buf_append_cstr(out, t->input);
    if (t->input_path) {
        bool found;
        int rc = match_path_extract(t->input_path, strlen(t->input_path), event, len, out, &found,
                                    err);
        if (rc == 0 && !found)
            buf_append_cstr(out, "null");
        return rc;
    }
    if (t->xf) {
        char ts[32];
        time_format_iso8601(bus__now(b), false, ts);
        const char *names[] = { "aws.events.rule-name", "aws.events.rule-arn",
                                "aws.events.event.ingestion-time" };
        const char *values[] = { r->name, r->arn, ts };
        struct match_xform_vars vars = { names, values, 3 };
        return match_xform_apply(t->xf, event, len, &vars, out, err);
    }
    return buf_append(out, event, len);
}

/* ---- workers: staging and flushing --------------------------------------------------------------- */

enum item_kind { IT_FILE, IT_QUEUE, IT_OUTBOX, IT_ARCHIVE, IT_DLQ };

struct item {
    enum item_kind kind;
    const struct bus_rule *r;
    const struct bus_target *t;
    const struct bus_archive_cfg *ar;
    size_t pay_off, pay_len; /* in data */
    size_t ev_off, ev_len;   /* in data */
    size_t msg_off;          /* IT_DLQ: error message (NUL-terminated) in data */
    char event_id[64];
    int64_t time_ms;
};

struct bus_worker {
    struct bus *b;
    struct arena arena;
    struct json_flat flat;
    struct match_scratch *scratch;
    struct buf data;
    struct item *items;
    size_t n_items, cap_items;
    /* replay: no archives, only some rules */
    bool replaying;
    const char *const *only_rules;
    size_t n_only;
    struct bus_stats st; /* folded into the bus at flush */
};

struct bus_worker *bus_worker_new(struct bus *b)
{
    struct bus_worker *w = xcalloc(1, sizeof(*w));
    w->b = b;
    arena_init(&w->arena, 0);
    json_flat_init(&w->flat);
    w->scratch = match_scratch_new();
    buf_init(&w->data, 0);
    return w;
}

void bus_worker_free(struct bus_worker *w)
{
    if (!w)
        return;
    arena_free(&w->arena);
    json_flat_free(&w->flat);
    match_scratch_free(w->scratch);
    buf_free(&w->data);
    free(w->items);
    free(w);
}

static struct item *item_push(struct bus_worker *w)
{
    if (w->n_items == w->cap_items) {
        w->cap_items = w->cap_items ? 2 * w->cap_items : 64;
        w->items = xrealloc(w->items, w->cap_items * sizeof(*w->items));
    }
    struct item *it = &w->items[w->n_items++];
    memset(it, 0, sizeof(*it));
    return it;
}

/* Stages the deliveries of rule r for an event already in w->data. */
static void stage_rule(struct bus_worker *w, const struct bus_rule *r, size_t ev_off,
                       size_t ev_len, const char *event_id, int64_t time_ms)
{
    for (size_t k = 0; k < r->n_targets; k++) {
        const struct bus_target *t = &r->targets[k];
        struct item *it = item_push(w);
        it->r = r;
        it->t = t;
        it->ev_off = ev_off;
        it->ev_len = ev_len;
        it->time_ms = time_ms;
        snprintf(it->event_id, sizeof(it->event_id), "%s", event_id);
        it->pay_off = w->data.len;
        struct err e;
        err_clear(&e);
        /* data may move while rendering: the event is copied out first. */
        int rc;
        if (!t->input && !t->input_path && !t->xf) {
            it->pay_off = ev_off; /* the event itself: no copy */
            it->pay_len = ev_len;
            rc = 0;
        } else {
            char *ev = xstrndup(w->data.p + ev_off, ev_len);
            rc = bus__render(w->b, r, t, ev, ev_len, &w->data, &e);
            free(ev);
            it->pay_len = w->data.len - it->pay_off;
        }
        if (rc != 0) {
            /* EventBridge sends an event whose input cannot be built to the DLQ. */
            w->data.len = it->pay_off;
            it->kind = IT_DLQ;
            it->msg_off = w->data.len;
            buf_append(&w->data, e.msg, strlen(e.msg) + 1);
            continue;
        }
        it->kind = t->kind == BUS_T_FILE ? IT_FILE : t->kind == BUS_T_QUEUE ? IT_QUEUE : IT_OUTBOX;
        w->st.staged++;
    }
}

static bool rule_allowed(const struct bus_worker *w, const struct bus_rule *r)
{
    if (w->n_only == 0)
        return true;
    for (size_t i = 0; i < w->n_only; i++)
        if (strcmp(w->only_rules[i], r->name) == 0 || strcmp(w->only_rules[i], r->arn) == 0)
            return true;
    return false;
}

static struct sv leaf_str(const struct json_flat *f, const char *path, struct arena *a)
{
    const struct json_leaf *l = json_flat_get(f, path);
    if (!l || l->type != JSON_STRING)
        return SV_NULL;
    return json_leaf_str(l, a);
}

long bus_put(struct bus_worker *w, const char *event, size_t len, struct err *err)
{
    struct bus *b = w->b;
    if (len > BUS_MAX_EVENT) {
        err_set(err, ERR_LIMIT, "event of %zu bytes is larger than EventBridge's 256 KB", len);
        return -ERR_LIMIT;
    }
    arena_reset(&w->arena);
    if (json_flatten(event, len, b->want, &w->arena, &w->flat, err) != 0)
        return -ERR_FORMAT;
    struct sv id = leaf_str(&w->flat, "id", &w->arena);
    if (id.len == 0 || id.len >= 64) {
        err_set(err, ERR_FORMAT, "the event has no id (or one longer than 63 bytes)");
        return -ERR_FORMAT;
    }
    char idz[64];
    memcpy(idz, id.p, id.len);
    idz[id.len] = '\0';
    int64_t time_ms;
    if (!time_parse_iso8601(leaf_str(&w->flat, "time", &w->arena), &time_ms))
        time_ms = bus__now(b);
    /* Read-only management events from CloudTrail reach only the rules that
     * asked for them. */
    bool read_only = false;
    struct sv dt = leaf_str(&w->flat, "detail-type", &w->arena);
    if (dt.len > 15 && sv_ends_with(dt, SV("via CloudTrail"))) {
        const struct json_leaf *ro = json_flat_get(&w->flat, "detail.readOnly");
        struct sv cat = leaf_str(&w->flat, "detail.eventCategory", &w->arena);
        read_only = ro && ro->type == JSON_TRUE && (cat.len == 0 || sv_eq_cstr(cat, "Management"));
    }
    size_t ev_off = w->data.len;
    buf_append(&w->data, event, len);
    const uint32_t *ids;
    size_t n = match_event(b->ms, &w->flat, w->scratch, &ids);
    long staged = 0;
    size_t before = w->n_items;
    const struct bus_config *cfg = b->cfg;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < cfg->n_rules) {
            const struct bus_rule *r = &cfg->rules[ids[i]];
            if (read_only && strcmp(r->state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") != 0)
                continue;
            if (!rule_allowed(w, r))
                continue;
            w->st.matched++;
            stage_rule(w, r, ev_off, len, idz, time_ms);
        } else if (!w->replaying) {
            struct item *it = item_push(w);
            it->kind = IT_ARCHIVE;
            it->ar = &cfg->archives[ids[i] - cfg->n_rules];
            it->ev_off = ev_off;
            it->ev_len = len;
            it->time_ms = time_ms;
            snprintf(it->event_id, sizeof(it->event_id), "%s", idz);
        }
    }
    /* Archives without a pattern take every event. */
    for (size_t a = 0; !w->replaying && a < cfg->n_archives; a++) {
        if (cfg->archives[a].pattern)
            continue;
        struct item *it = item_push(w);
        it->kind = IT_ARCHIVE;
        it->ar = &cfg->archives[a];
        it->ev_off = ev_off;
        it->ev_len = len;
        it->time_ms = time_ms;
        snprintf(it->event_id, sizeof(it->event_id), "%s", idz);
    }
    for (size_t i = before; i < w->n_items; i++)
        staged += w->items[i].kind != IT_ARCHIVE && w->items[i].kind != IT_DLQ;
    if (w->n_items == before)
        w->data.len = ev_off; /* nothing refers to the event: drop its copy */
    w->st.events++;
    if (w->n_items >= BATCH_ITEMS || w->data.len >= BATCH_BYTES) {
        int rc = bus_worker_flush(w, err);
        if (rc != 0)
            return -rc;
    }
    return staged;
}

static void fold_stats(struct bus_stats *dst, struct bus_stats *src)
{
    dst->events += src->events;
    dst->matched += src->matched;
    dst->staged += src->staged;
    dst->delivered += src->delivered;
    dst->dead_lettered += src->dead_lettered;
    dst->archived += src->archived;
    memset(src, 0, sizeof(*src));
}

/* Under mu, inside a transaction. */
static int flush_item(struct bus *b, struct bus_worker *w, const struct item *it, bool *wake)
{
    const char *ev = w->data.p + it->ev_off;
    const char *pay = w->data.p + it->pay_off;
    switch (it->kind) {
    case IT_FILE: {
        struct bus_result res;
        int rc;
        /* Events, InputPath results and Input are JSON; so is what a JSON
         * template makes. Text payloads get quoted by bus__jsonl. */
        const char *tt = it->t->input_template;
        while (tt && (*tt == ' ' || *tt == '\n' || *tt == '\t' || *tt == '\r'))
            tt++;
        bool json = !tt || *tt == '{' || *tt == '[';
        if (json && it->pay_len > 0 && !memchr(pay, '\n', it->pay_len)) {
            /* The common case (an event, a one-line JSON payload): no copy. */
            rc = file_append(b, it->t->path, pay, it->pay_len, &res);
            if (rc == 0)
                rc = file_append(b, it->t->path, "\n", 1, &res);
        } else {
            struct buf line;
            buf_init(&line, 0);
            bus__jsonl(&line, pay, it->pay_len);
            rc = file_append(b, it->t->path, line.p, line.len, &res);
            buf_free(&line);
        }
        if (rc == 0) {
            w->st.delivered++;
            return 0;
        }
        /* The file failed: keep the delivery for the retry machinery. */
        *wake = true;
        return bus__outbox_insert(b, it->event_id, it->r->name, it->t->id, pay, it->pay_len, ev,
                                  it->ev_len, bus__now(b));
    }
    case IT_QUEUE:
        w->st.delivered++;
        return bus__queue_insert(b, it->t->path, pay, it->pay_len, NULL, NULL, NULL);
    case IT_OUTBOX:
        *wake = true;
        return bus__outbox_insert(b, it->event_id, it->r->name, it->t->id, pay, it->pay_len, ev,
                                  it->ev_len, bus__now(b));
    case IT_DLQ: {
        char *attrs = dlq_attrs(it->r, it->r->name, it->t, it->t->id, "INPUT_TRANSFORMATION_FAILED",
                                w->data.p + it->msg_off, NULL, 0);
        int rc = bus__queue_insert(b, it->t->dlq, ev, it->ev_len, attrs, NULL, NULL);
        free(attrs);
        w->st.dead_lettered++;
        return rc;
    }
    case IT_ARCHIVE: {
        sqlite3_stmt *st = prep(b, "INSERT OR IGNORE INTO archive(archive,event_id,time_ms,"
                                   "archived_ms,event) VALUES(?,?,?,?,?)");
        if (!st)
            return ERR_DB;
        sqlite3_bind_text(st, 1, it->ar->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, it->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, it->time_ms);
        sqlite3_bind_int64(st, 4, bus__now(b));
        sqlite3_bind_blob(st, 5, ev, (int)it->ev_len, SQLITE_STATIC);
        int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
        if (rc == 0)
            w->st.archived += (uint64_t)sqlite3_changes(b->db);
        sqlite3_finalize(st);
        return rc;
    }
    }
    return 0;
}

int bus_worker_flush(struct bus_worker *w, struct err *err)
{
    struct bus *b = w->b;
    int rc = 0;
    bool wake = false;
    pthread_mutex_lock(&b->mu);
    if (w->n_items > 0) {
        rc = bus__exec(b, "BEGIN IMMEDIATE", err);
        for (size_t i = 0; rc == 0 && i < w->n_items; i++)
            if ((rc = flush_item(b, w, &w->items[i], &wake)) != 0)
                err_set(err, rc, "store: %s", sqlite3_errmsg(b->db));
        /* Files first: a commit must not claim a line that is not written. */
        if (rc == 0 && files_flush(b) != 0)
            rc = err_set(err, ERR_IO, "a file target could not be flushed");
        if (rc == 0)
            rc = bus__exec(b, "COMMIT", err);
        if (rc != 0)
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == 0)
        fold_stats(&b->st, &w->st);
    if (wake)
        pthread_cond_broadcast(&b->cv_work);
    pthread_mutex_unlock(&b->mu);
    w->n_items = 0;
    buf_reset(&w->data);
    return rc;
}

/* ---- delivery -------------------------------------------------------------------------------------- */

struct claim {
    int64_t id;
    char *event_id, *rule, *target;
    char *payload, *event;
    size_t plen, elen;
    int attempts;
    int64_t first_ms;
};

static void claim_free(struct claim *c)
{
    free(c->event_id);
    free(c->rule);
    free(c->target);
    free(c->payload);
    free(c->event);
}

static bool inflight_has(const struct bus *b, int64_t id)
{
    for (size_t i = 0; i < b->n_inflight; i++)
        if (b->inflight[i] == id)
            return true;
    return false;
}

static void inflight_del(struct bus *b, int64_t id)
{
    for (size_t i = 0; i < b->n_inflight; i++)
        if (b->inflight[i] == id) {
            b->inflight[i] = b->inflight[--b->n_inflight];
            return;
        }
}

static char *blob_dup(sqlite3_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    char *d = xmalloc(*len + 1);
    if (*len)
        memcpy(d, p, *len);
    d[*len] = '\0';
    return d;
}

/* Under mu: takes the first due row nobody is delivering. */
static bool claim_next(struct bus *b, struct claim *c, int64_t *next_due)
{
    int64_t now = bus__now(b);
    *next_due = -1;
    sqlite3_stmt *st = prep(b, "SELECT id,event_id,rule,target,payload,event,attempts,first_ms,"
                               "next_ms FROM outbox ORDER BY next_ms,id LIMIT ?");
    if (!st)
        return false;
    sqlite3_bind_int(st, 1, (int)(b->n_inflight + CLAIM_MAX));
    bool got = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (inflight_has(b, id))
            continue;
        int64_t next = sqlite3_column_int64(st, 8);
        if (next > now) {
            *next_due = next;
            break;
        }
        c->id = id;
        c->event_id = xstrdup(col_text(st, 1));
        c->rule = xstrdup(col_text(st, 2));
        c->target = xstrdup(col_text(st, 3));
        c->payload = blob_dup(st, 4, &c->plen);
        c->event = blob_dup(st, 5, &c->elen);
        c->attempts = sqlite3_column_int(st, 6);
        c->first_ms = sqlite3_column_int64(st, 7);
        got = true;
        break;
    }
    sqlite3_finalize(st);
    if (got) {
        b->inflight = xrealloc(b->inflight, (b->n_inflight + 1) * sizeof(*b->inflight));
        b->inflight[b->n_inflight++] = c->id;
    }
    return got;
}

static int64_t backoff_ms(struct bus *b, int attempts)
{
    int64_t d = b->cfg->retry_base_ms;
    for (int i = 1; i < attempts && d < b->cfg->retry_max_ms; i++)
        d *= 2;
    if (d > b->cfg->retry_max_ms)
        d = b->cfg->retry_max_ms;
    b->rng = b->rng * 6364136223846793005ull + 1442695040888963407ull;
    int64_t half = d / 2;
    return half + (int64_t)((b->rng >> 33) % (uint64_t)(d - half + 1));
}

/* Under mu: records the outcome of an attempt. */
static void record(struct bus *b, const struct claim *c, const struct bus_rule *r,
                   const struct bus_target *t, const struct bus_result *res)
{
    int64_t now = bus__now(b);
    int attempts = c->attempts + 1;
    if (bus__exec(b, "BEGIN IMMEDIATE", NULL) != 0)
        return; /* the row stays: it is delivered again later (at least once) */
    int rc = 0;
    if (res->ok) {
        sqlite3_stmt *st = prep(b, "DELETE FROM outbox WHERE id=?");
        sqlite3_bind_int64(st, 1, c->id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
        sqlite3_finalize(st);
        b->st.delivered++;
    } else {
        int max_retries = t && t->max_retries >= 0 ? t->max_retries : BUS_DEFAULT_RETRIES;
        int max_age = t && t->max_age_s >= 0 ? t->max_age_s : BUS_DEFAULT_MAX_AGE;
        const char *exhausted = NULL;
        if (res->retriable) {
            if (attempts - 1 >= max_retries)
                exhausted = "MaximumRetryAttemptsExhausted";
            else if (now - c->first_ms >= (int64_t)max_age * 1000)
                exhausted = "MaximumEventAgeExhausted";
        }
        if (res->retriable && !exhausted) {
            int64_t next = now + backoff_ms(b, attempts);
            /* A retry that would land past the event's age limit is not made. */
            if (next - c->first_ms > (int64_t)max_age * 1000)
                next = c->first_ms + (int64_t)max_age * 1000;
            sqlite3_stmt *st = prep(b, "UPDATE outbox SET attempts=?,next_ms=?,last_code=?,"
                                       "last_error=? WHERE id=?");
            sqlite3_bind_int(st, 1, attempts);
            sqlite3_bind_int64(st, 2, next);
            sqlite3_bind_text(st, 3, res->code, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, res->msg, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, c->id);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
            sqlite3_finalize(st);
            b->st.retried++;
        } else {
            char *attrs = dlq_attrs(r, c->rule, t, c->target, res->code, res->msg, exhausted,
                                    attempts);
            rc = bus__queue_insert(b, t ? t->dlq : BUS_DEFAULT_DLQ, c->event, c->elen, attrs, NULL,
                                   NULL);
            free(attrs);
            if (rc == 0) {
                sqlite3_stmt *st = prep(b, "DELETE FROM outbox WHERE id=?");
                sqlite3_bind_int64(st, 1, c->id);
                rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
                sqlite3_finalize(st);
            }
            b->st.dead_lettered++;
        }
    }
    if (rc == 0 && files_flush(b) == 0)
        bus__exec(b, "COMMIT", NULL);
    else
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
}

static void *delivery_thread(void *arg)
{
    struct bus *b = arg;
    struct bus_sender *snd = bus__sender_new();
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        struct claim c;
        int64_t next_due;
        memset(&c, 0, sizeof(c));
        if (!claim_next(b, &c, &next_due)) {
            /* Sleep until something is due or new work arrives; never long,
             * so an injected clock is followed too. */
            int64_t wait = 200;
            if (next_due > 0) {
                int64_t d = next_due - bus__now(b);
                if (d < wait)
                    wait = d < 1 ? 1 : d;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&b->cv_work, &b->mu, &ts);
            continue;
        }
        const struct bus_rule *r = NULL;
        const struct bus_target *t = NULL;
        struct bus_result res;
        memset(&res, 0, sizeof(res));
        if (!bus__find_target(b->cfg, c.rule, c.target, &r, &t)) {
            res.retriable = false;
            snprintf(res.code, sizeof(res.code), "TARGET_NOT_FOUND");
            snprintf(res.msg, sizeof(res.msg), "rule %s has no target %s any more", c.rule,
                     c.target);
        } else if (t->kind == BUS_T_FILE || t->kind == BUS_T_QUEUE) {
            /* Local targets are written under the lock (they are quick). */
            if (t->kind == BUS_T_FILE) {
                struct buf line;
                buf_init(&line, 0);
                bus__jsonl(&line, c.payload, c.plen);
                file_append(b, t->path, line.p, line.len, &res);
                buf_free(&line);
            } else {
                res.ok = bus__queue_insert(b, t->path, c.payload, c.plen, NULL, NULL, NULL) == 0;
                res.retriable = true;
                snprintf(res.code, sizeof(res.code), "IO_ERROR");
                snprintf(res.msg, sizeof(res.msg), "queue insert failed");
            }
        } else {
            pthread_mutex_unlock(&b->mu);
            bus__send(snd, t, c.rule, c.event_id, c.attempts + 1, c.payload, c.plen, bus__now(b),
                      &res);
            pthread_mutex_lock(&b->mu);
        }
        record(b, &c, r, t, &res);
        inflight_del(b, c.id);
        pthread_cond_broadcast(&b->cv_work);
        claim_free(&c);
    }
    pthread_mutex_unlock(&b->mu);
    bus__sender_free(snd);
    return NULL;
}

static int64_t count_outbox(struct bus *b, int64_t *min_next)
{
    sqlite3_stmt *st = prep(b, "SELECT COUNT(*), MIN(next_ms) FROM outbox");
    int64_t n = 0;
    *min_next = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            *min_next = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return n;
}

int bus_drain(struct bus *b, int64_t max_wait_ms, struct err *err)
{
    pthread_mutex_lock(&b->mu);
    int64_t start = bus__now(b);
    int64_t deadline = max_wait_ms < 0 ? INT64_MAX : start + max_wait_ms;
    int rc = 0;
    for (;;) {
        int64_t min_next;
        int64_t n = count_outbox(b, &min_next);
        if (n == 0)
            break;
        if (b->n_threads == 0) {
            rc = err_set(err, ERR_USAGE,
                         b->deliverer ? "delivery is off in this process; %lld deliveries wait "
                                        "in the store"
                                      : "another vigil process delivers from this store; %lld "
                                        "deliveries wait for it",
                         (long long)n);
            break;
        }
        int64_t now = bus__now(b);
        if (now >= deadline || (b->n_inflight == 0 && min_next > deadline))
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&b->cv_work, &b->mu, &ts);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void bus_get_stats(struct bus *b, struct bus_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->st;
    int64_t min_next;
    out->pending = (uint64_t)count_outbox(b, &min_next);
    pthread_mutex_unlock(&b->mu);
}

/* ---- open / close ------------------------------------------------------------------------------------ */

int bus_open(const struct bus_config *cfg, const struct bus_options *opt, struct bus **out,
             struct err *err)
{
    struct bus_options defaults = { 0 };
    if (!opt)
        opt = &defaults;
    *out = NULL;
    struct bus *b = xcalloc(1, sizeof(*b));
    b->cfg = cfg;
    b->clock = opt->clock;
    b->clock_ctx = opt->clock_ctx;
    b->lock_fd = -1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv_work, NULL);
    b->rng = (uint64_t)real_now() ^ ((uint64_t)getpid() << 32);
    b->ms = match_set_new();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->n_rules; i++) {
        const struct bus_rule *r = &cfg->rules[i];
        if (!r->pattern || strcmp(r->state, "DISABLED") == 0)
            continue;
        rc = match_set_add(b->ms, r->pattern, strlen(r->pattern), (uint32_t)i, err);
    }
    for (size_t i = 0; rc == 0 && i < cfg->n_archives; i++)
        if (cfg->archives[i].pattern)
            rc = match_set_add(b->ms, cfg->archives[i].pattern, strlen(cfg->archives[i].pattern),
                               (uint32_t)(cfg->n_rules + i), err);
    if (rc != 0) {
        bus_close(b);
        return rc;
    }
    match_set_build(b->ms);
    b->want = json_pathset_new();
    match_set_paths(b->ms, b->want);
    static const char *const extra[] = { "id", "time", "detail-type", "detail.readOnly",
                                         "detail.eventCategory" };
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        json_pathset_add(b->want, extra[i], strlen(extra[i]));
    const char *path = opt->state_path ? opt->state_path : cfg->state_path;
    if ((rc = store_open(b, path, err)) != 0) {
        bus_close(b);
        return rc;
    }
    if (b->deliverer && !opt->no_delivery) {
        int n = opt->delivery_threads > 0 ? opt->delivery_threads : cfg->delivery_threads;
        b->threads = xcalloc((size_t)n, sizeof(*b->threads));
        for (int i = 0; i < n; i++) {
            if (pthread_create(&b->threads[i], NULL, delivery_thread, b) != 0)
                break;
            b->n_threads++;
        }
    }
    *out = b;
    return 0;
}

void bus_close(struct bus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv_work);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->n_threads; i++)
        pthread_join(b->threads[i], NULL);
    free(b->threads);
    for (size_t i = 0; i < b->n_files; i++) {
        if (b->files[i].f)
            fclose(b->files[i].f);
        free(b->files[i].path);
    }
    free(b->files);
    free(b->inflight);
    if (b->db)
        sqlite3_close(b->db);
    if (b->lock_fd >= 0)
        close(b->lock_fd); /* releases the delivery lock */
    match_set_free(b->ms);
    json_pathset_free(b->want);
    pthread_cond_destroy(&b->cv_work);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ---- replay ------------------------------------------------------------------------------------------- */

int bus_replay(struct bus *b, const char *archive, int64_t from_ms, int64_t to_ms,
               const char *replay_name, const char *const *rules, size_t n_rules,
               uint64_t *n_out, struct err *err)
{
    *n_out = 0;
    bool known = false;
    for (size_t i = 0; i < b->cfg->n_archives; i++)
        known |= strcmp(b->cfg->archives[i].name, archive) == 0;
    if (!known)
        return err_set(err, ERR_NOTFOUND, "Archive %s does not exist.", archive);
    for (size_t i = 0; i < n_rules; i++) {
        bool found = false;
        for (size_t k = 0; k < b->cfg->n_rules; k++)
            found |= strcmp(b->cfg->rules[k].name, rules[i]) == 0 ||
                     strcmp(b->cfg->rules[k].arn, rules[i]) == 0;
        if (!found)
            return err_set(err, ERR_NOTFOUND, "Rule %s does not exist.", rules[i]);
    }
    /* Read the events first (under the lock), then put them without it. */
    struct buf evs;
    size_t *offs = NULL, n = 0, cap = 0;
    buf_init(&evs, 0);
    pthread_mutex_lock(&b->mu);
    sqlite3_stmt *st = prep(b, "SELECT event FROM archive WHERE archive=? AND time_ms>=? AND "
                               "time_ms<? ORDER BY time_ms,event_id");
    int rc = st ? 0 : err_set(err, ERR_DB, "store: %s", sqlite3_errmsg(b->db));
    if (st) {
        sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, from_ms);
        sqlite3_bind_int64(st, 3, to_ms);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n + 2 > cap) {
                cap = cap ? 2 * cap : 64;
                offs = xrealloc(offs, cap * sizeof(*offs));
            }
            offs[n++] = evs.len;
            buf_append(&evs, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&b->mu);
    struct bus_worker *w = bus_worker_new(b);
    w->replaying = true;
    w->only_rules = rules;
    w->n_only = n_rules;
    struct buf one;
    buf_init(&one, 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t end = i + 1 < n ? offs[i + 1] : evs.len;
        const char *e = evs.p + offs[i];
        size_t len = end - offs[i];
        size_t brace = 0;
        while (brace < len && e[brace] != '{')
            brace++;
        if (brace == len)
            continue;
        /* EventBridge marks replayed events with the replay's name. */
        buf_reset(&one);
        buf_append(&one, e, brace + 1);
        buf_append_cstr(&one, "\"replay-name\":");
        struct json_writer jw;
        jw_init(&jw, &one, 0);
        jw_str(&jw, replay_name);
        size_t k = brace + 1;
        while (k < len && (e[k] == ' ' || e[k] == '\n' || e[k] == '\r' || e[k] == '\t'))
            k++;
        if (k < len && e[k] != '}')
            buf_putc(&one, ',');
        buf_append(&one, e + brace + 1, len - brace - 1);
        long r = bus_put(w, one.p, one.len, err);
        if (r < 0)
            rc = (int)-r;
        else
            (*n_out)++;
    }
    if (rc == 0)
        rc = bus_worker_flush(w, err);
    bus_worker_free(w);
    buf_free(&one);
    buf_free(&evs);
    free(offs);
    return rc;
}

/* ---- schedules ---------------------------------------------------------------------------------------- */

long bus_tick(struct bus *b, struct bus_worker *w, int64_t *next_ms_out, struct err *err)
{
    const struct bus_config *cfg = b->cfg;
    int64_t now = bus__now(b), soonest = -1;
    long fired = 0;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct bus_rule *r = &cfg->rules[i];
        if (!r->schedule || strcmp(r->state, "DISABLED") == 0)
            continue;
        int64_t last = -1;
        pthread_mutex_lock(&b->mu);
        sqlite3_stmt *st = prep(b, "SELECT last_ms FROM schedule WHERE rule=?");
        if (st) {
            sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW)
                last = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
        bool fire = false;
        int64_t due = last >= 0 ? bus_schedule_next(r->schedule, last) : -1;
        if (last < 0 || (due >= 0 && due <= now)) {
            /* A schedule starts when first seen; missed firings collapse
             * into one, recorded as the latest firing time due by now. */
            fire = last >= 0;
            int64_t mark = now;
            if (fire) {
                mark = due;
                for (int64_t nx; (nx = bus_schedule_next(r->schedule, mark)) >= 0 && nx <= now;)
                    mark = nx;
            }
            st = prep(b, "INSERT OR REPLACE INTO schedule(rule,last_ms) VALUES(?,?)");
            if (st) {
                sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, mark);
                sqlite3_step(st);
                sqlite3_finalize(st);
            }
            due = bus_schedule_next(r->schedule, mark);
        }
        pthread_mutex_unlock(&b->mu);
        if (due >= 0 && (soonest < 0 || due < soonest))
            soonest = due;
        if (!fire)
            continue;
        char ts[32], id[37];
        struct buf name, ev;
        buf_init(&name, 0);
        buf_init(&ev, 0);
        buf_printf(&name, "schedule/%s/%lld", r->arn, (long long)now);
        bus_uuid5(name.p, name.len, id);
        time_format_iso8601(now, false, ts);
        struct json_writer jw;
        jw_init(&jw, &ev, 0);
        jw_object_begin(&jw);
        jw_key(&jw, "version");
        jw_str(&jw, "0");
        jw_key(&jw, "id");
        jw_str(&jw, id);
        jw_key(&jw, "detail-type");
        jw_str(&jw, "Scheduled Event");
        jw_key(&jw, "source");
        jw_str(&jw, "aws.events");
        jw_key(&jw, "account");
        jw_str(&jw, cfg->account);
        jw_key(&jw, "time");
        jw_str(&jw, ts);
        jw_key(&jw, "region");
        jw_str(&jw, cfg->region);
        jw_key(&jw, "resources");
        jw_array_begin(&jw);
        jw_str(&jw, r->arn);
        jw_array_end(&jw);
        jw_key(&jw, "detail");
        jw_object_begin(&jw);
        jw_object_end(&jw);
        jw_object_end(&jw);
        /* A scheduled event goes to its own rule's targets only. */
        size_t off = w->data.len;
        buf_append(&w->data, ev.p, ev.len);
        stage_rule(w, r, off, ev.len, id, now);
        buf_free(&name);
        buf_free(&ev);
        fired++;
    }
    if (next_ms_out)
        *next_ms_out = soonest;
    if (fired > 0) {
        int rc = bus_worker_flush(w, err);
        if (rc != 0)
            return -rc;
    }
    return fired;
}

/* ---- the ingest ledger --------------------------------------------------------------------------------- */

bool bus_file_done(struct bus *b, const char *path, int64_t size, int64_t mtime)
{
    bool done = false;
    pthread_mutex_lock(&b->mu);
    sqlite3_stmt *st = prep(b, "SELECT 1 FROM files_done WHERE path=? AND size=? AND mtime=?");
    if (st) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, size);
        sqlite3_bind_int64(st, 3, mtime);
        done = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&b->mu);
    return done;
}

int bus_mark_file_done(struct bus *b, const char *path, int64_t size, int64_t mtime,
                       struct err *err)
{
    pthread_mutex_lock(&b->mu);
    sqlite3_stmt *st = prep(b, "INSERT OR REPLACE INTO files_done(path,size,mtime,done_ms) "
                               "VALUES(?,?,?,?)");
    int rc = st ? 0 : ERR_DB;
    if (st) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, size);
        sqlite3_bind_int64(st, 3, mtime);
        sqlite3_bind_int64(st, 4, bus__now(b));
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ERR_DB;
        sqlite3_finalize(st);
    }
    if (rc != 0)
        err_set(err, ERR_DB, "store: %s", sqlite3_errmsg(b->db));
    pthread_mutex_unlock(&b->mu);
    return rc;
}
