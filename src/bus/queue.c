/*
 * Local queues with the SQS semantics that matter for incident response
 * (SQS developer guide: visibility timeout, ApproximateReceiveCount,
 * redrive policy, dead-letter queue redrive):
 *   - a received message is invisible for the visibility timeout, then comes
 *     back unless deleted; each receive counts and gets a new receipt handle;
 *   - DeleteMessage needs the latest receipt handle: an older one succeeds
 *     and deletes nothing;
 *   - with a RedrivePolicy, a message received maxReceiveCount times moves to
 *     the dead-letter queue on its next receive;
 *   - redrive moves messages back: to the queue they came from, or, for
 *     events the bus dead-lettered, to their rule's target.
 * Messages live in the bus store (SQLite, WAL); every operation is one
 * transaction, so a kill never loses or duplicates a message's state.
 */
#include "bus/bus_int.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static sqlite3_stmt *prep(struct bus *b, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

static int db_err(struct bus *b, struct err *err)
{
    return err_set(err, ERR_DB, "store: %s", sqlite3_errmsg(b->db));
}

static int check_name(const char *q, struct err *err)
{
    if (!q || !bus__valid_queue_name(q))
        return err_set(err, ERR_USAGE, "bad queue name \"%s\" ([A-Za-z0-9_-]{1,80})", q ? q : "");
    return 0;
}

/* "queue:NAME", an SQS ARN or URL path, or NAME -> NAME (caller frees). */
static char *qname(const char *q)
{
    const char *slash = strrchr(q, '/');
    if (strncmp(q, "http", 4) == 0 && slash)
        q = slash + 1; /* a queue URL: the last path segment */
    char *n = bus__queue_name(q);
    return n;
}

int bus_queue_send(struct bus *b, const char *queue, const char *body, size_t len,
                   const char *attrs_json, char msg_id_out[37], struct err *err)
{
    char *q = qname(queue);
    int rc = check_name(q, err);
    if (rc == 0) {
        pthread_mutex_lock(&b->mu);
        if (bus__queue_insert(b, q, body, len, attrs_json, NULL, msg_id_out) != 0)
            rc = db_err(b, err);
        pthread_mutex_unlock(&b->mu);
    }
    free(q);
    return rc;
}

static void md5_hex(const void *p, size_t len, char out[33]);

/* Under mu, in a transaction: messages past the retention period go. */
static void expire(struct bus *b, const char *q, int64_t now)
{
    struct bus_queue_cfg qc;
    bus__queue_settings(b->cfg, q, &qc);
    sqlite3_stmt *st = prep(b, "DELETE FROM receipts WHERE seq IN (SELECT seq FROM queue_msg "
                               "WHERE queue=? AND sent_ms<?)");
    if (st) {
        sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now - (int64_t)qc.retention_s * 1000);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    st = prep(b, "DELETE FROM queue_msg WHERE queue=? AND sent_ms<?");
    if (st) {
        sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now - (int64_t)qc.retention_s * 1000);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
}

static void num_attr(struct json_writer *w, const char *k, int64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)v);
    jw_key(w, k);
    jw_str(w, s);
}

int bus_queue_receive(struct bus *b, const char *queue, int max, int visibility_s,
                      struct buf *out, size_t *n_out, struct err *err)
{
    *n_out = 0;
    char *q = qname(queue);
    int rc = check_name(q, err);
    if (rc == 0 && (max < 1 || max > 10))
        rc = err_set(err, ERR_USAGE, "MaxNumberOfMessages must be from 1 to 10");
    if (rc == 0 && (visibility_s < -1 || visibility_s > 43200))
        rc = err_set(err, ERR_USAGE, "VisibilityTimeout must be from 0 to 43200");
    if (rc != 0) {
        free(q);
        return rc;
    }
    struct bus_queue_cfg qc;
    bus__queue_settings(b->cfg, q, &qc);
    int vis = visibility_s >= 0 ? visibility_s : qc.visibility_s;
    struct buf msgs;
    struct json_writer w;
    buf_init(&msgs, 0);
    jw_init(&w, &msgs, 4);
    jw_object_begin(&w);
    jw_key(&w, "Messages");
    jw_array_begin(&w);
    pthread_mutex_lock(&b->mu);
    int64_t now = bus__now(b);
    rc = bus__exec(b, "BEGIN IMMEDIATE", err);
    if (rc == 0)
        expire(b, q, now);
    sqlite3_stmt *sel = rc == 0 ? prep(b, "SELECT seq,msg_id,body,attrs,sent_ms,receive_count,"
                                          "first_receive_ms FROM queue_msg WHERE queue=? AND "
                                          "visible_ms<=? ORDER BY seq LIMIT ?")
                                : NULL;
    if (rc == 0 && !sel)
        rc = db_err(b, err);
    /* Candidates are read first: moving or updating rows while stepping the
     * same query would revisit them. */
    struct cand {
        int64_t seq, sent, first;
        int count;
        char *id, *body, *attrs;
        size_t blen;
    } *c = NULL;
    size_t nc = 0;
    if (sel) {
        sqlite3_bind_text(sel, 1, q, -1, SQLITE_STATIC);
        sqlite3_bind_int64(sel, 2, now);
        sqlite3_bind_int(sel, 3, 10 * max + 10);
        while (sqlite3_step(sel) == SQLITE_ROW) {
            c = xrealloc(c, (nc + 1) * sizeof(*c));
            struct cand *x = &c[nc++];
            x->seq = sqlite3_column_int64(sel, 0);
            x->id = xstrdup((const char *)sqlite3_column_text(sel, 1));
            x->blen = (size_t)sqlite3_column_bytes(sel, 2);
            x->body = xmalloc(x->blen + 1);
            if (x->blen)
                memcpy(x->body, sqlite3_column_blob(sel, 2), x->blen);
            x->body[x->blen] = '\0';
            const unsigned char *a = sqlite3_column_text(sel, 3);
            x->attrs = a ? xstrdup((const char *)a) : NULL;
            x->sent = sqlite3_column_int64(sel, 4);
            x->count = sqlite3_column_int(sel, 5);
            x->first = sqlite3_column_int64(sel, 6);
        }
        sqlite3_finalize(sel);
    }
    for (size_t i = 0; rc == 0 && i < nc && (int)*n_out < max; i++) {
        struct cand *x = &c[i];
        if (qc.max_receive > 0 && qc.dlq && x->count >= qc.max_receive) {
            /* Received maxReceiveCount times already: to the dead-letter queue. */
            sqlite3_stmt *mv = prep(b, "UPDATE queue_msg SET queue=?,src_queue=?,visible_ms=?,"
                                       "receive_count=0,receipt=NULL WHERE seq=?");
            sqlite3_bind_text(mv, 1, qc.dlq, -1, SQLITE_STATIC);
            sqlite3_bind_text(mv, 2, q, -1, SQLITE_STATIC);
            sqlite3_bind_int64(mv, 3, now);
            sqlite3_bind_int64(mv, 4, x->seq);
            if (sqlite3_step(mv) != SQLITE_DONE)
                rc = db_err(b, err);
            sqlite3_finalize(mv);
            continue;
        }
        char receipt[97];
        bus__random_hex(receipt, 96);
        int64_t first = x->first ? x->first : now;
        sqlite3_stmt *up = prep(b, "UPDATE queue_msg SET visible_ms=?,receive_count=receive_count+1,"
                                   "first_receive_ms=?,receipt=? WHERE seq=?");
        sqlite3_bind_int64(up, 1, now + (int64_t)vis * 1000);
        sqlite3_bind_int64(up, 2, first);
        sqlite3_bind_text(up, 3, receipt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 4, x->seq);
        if (sqlite3_step(up) != SQLITE_DONE)
            rc = db_err(b, err);
        sqlite3_finalize(up);
        sqlite3_stmt *rr = prep(b, "INSERT OR REPLACE INTO receipts(receipt,seq) VALUES(?,?)");
        sqlite3_bind_text(rr, 1, receipt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(rr, 2, x->seq);
        if (rc == 0 && sqlite3_step(rr) != SQLITE_DONE)
            rc = db_err(b, err);
        sqlite3_finalize(rr);
        char md5[33];
        md5_hex(x->body, x->blen, md5);
        jw_object_begin(&w);
        jw_key(&w, "MessageId");
        jw_str(&w, x->id);
        jw_key(&w, "ReceiptHandle");
        jw_str(&w, receipt);
        jw_key(&w, "MD5OfBody");
        jw_str(&w, md5);
        jw_key(&w, "Body");
        jw_str_sv(&w, sv_make(x->body, x->blen));
        jw_key(&w, "Attributes");
        jw_object_begin(&w);
        num_attr(&w, "ApproximateReceiveCount", x->count + 1);
        num_attr(&w, "SentTimestamp", x->sent);
        num_attr(&w, "ApproximateFirstReceiveTimestamp", first);
        jw_object_end(&w);
        if (x->attrs) {
            struct arena a;
            struct json_value *av;
            arena_init(&a, 4096);
            if (json_parse(x->attrs, strlen(x->attrs), &a, &av, NULL) == 0) {
                jw_key(&w, "MessageAttributes");
                bus__write_tree(&w, av);
            }
            arena_free(&a);
        }
        jw_object_end(&w);
        (*n_out)++;
    }
    for (size_t i = 0; i < nc; i++) {
        free(c[i].id);
        free(c[i].body);
        free(c[i].attrs);
    }
    free(c);
    if (rc == 0)
        rc = bus__exec(b, "COMMIT", err);
    else
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&b->mu);
    jw_array_end(&w);
    jw_object_end(&w);
    /* The CLI prints nothing at all for an empty receive. */
    if (rc == 0 && *n_out > 0)
        buf_append(out, msgs.p, msgs.len);
    buf_free(&msgs);
    free(q);
    return rc;
}

int bus_queue_delete(struct bus *b, const char *queue, const char *receipt, struct err *err)
{
    char *q = qname(queue);
    int rc = check_name(q, err);
    if (rc != 0) {
        free(q);
        return rc;
    }
    pthread_mutex_lock(&b->mu);
    rc = bus__exec(b, "BEGIN IMMEDIATE", err);
    int64_t seq = -1;
    sqlite3_stmt *st = rc == 0 ? prep(b, "SELECT r.seq, m.receipt FROM receipts r JOIN queue_msg m "
                                         "ON m.seq=r.seq WHERE r.receipt=? AND m.queue=?")
                               : NULL;
    bool latest = false;
    if (st) {
        sqlite3_bind_text(st, 1, receipt, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, q, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            seq = sqlite3_column_int64(st, 0);
            const unsigned char *cur = sqlite3_column_text(st, 1);
            latest = cur && strcmp((const char *)cur, receipt) == 0;
        }
        sqlite3_finalize(st);
    }
    if (rc == 0 && seq < 0) {
        /* A receipt of a message that is already gone still "succeeds". */
        sqlite3_stmt *k = prep(b, "SELECT 1 FROM receipts WHERE receipt=?");
        sqlite3_bind_text(k, 1, receipt, -1, SQLITE_STATIC);
        bool known = sqlite3_step(k) == SQLITE_ROW;
        sqlite3_finalize(k);
        if (!known)
            rc = err_set(err, ERR_NOTFOUND,
                         "The input receipt handle \"%.20s...\" is not a valid receipt handle.",
                         receipt);
    }
    if (rc == 0 && latest) {
        sqlite3_stmt *d = prep(b, "DELETE FROM queue_msg WHERE seq=?");
        sqlite3_bind_int64(d, 1, seq);
        if (sqlite3_step(d) != SQLITE_DONE)
            rc = db_err(b, err);
        sqlite3_finalize(d);
        /* Later deletes with any of its handles succeed and do nothing. */
    }
    if (rc == 0)
        rc = bus__exec(b, "COMMIT", err);
    else
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&b->mu);
    free(q);
    return rc;
}

int bus_queue_purge(struct bus *b, const char *queue, uint64_t *n_out, struct err *err)
{
    *n_out = 0;
    char *q = qname(queue);
    int rc = check_name(q, err);
    if (rc != 0) {
        free(q);
        return rc;
    }
    pthread_mutex_lock(&b->mu);
    rc = bus__exec(b, "BEGIN IMMEDIATE", err);
    sqlite3_stmt *st = rc == 0 ? prep(b, "DELETE FROM queue_msg WHERE queue=?") : NULL;
    if (st) {
        sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_err(b, err);
        *n_out = (uint64_t)sqlite3_changes(b->db);
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = bus__exec(b, "COMMIT", err);
    else
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&b->mu);
    free(q);
    return rc;
}

/* The StringValue of message attribute name in attrs (JSON text), copied. */
static char *attr_value(const char *attrs, const char *name)
{
    if (!attrs)
        return NULL;
    struct arena a;
    arena_init(&a, 4096);
    struct json_value *v;
    char *out = NULL;
    if (json_parse(attrs, strlen(attrs), &a, &v, NULL) == 0) {
        const struct json_value *m = json_get(v, name);
        const struct json_value *s = m ? json_get(m, "StringValue") : NULL;
        if (s && s->type == JSON_STRING)
            out = xstrdup(s->str);
    }
    arena_free(&a);
    return out;
}

int bus_queue_redrive(struct bus *b, const char *dlq, const char *dest, uint64_t *n_out,
                      struct err *err)
{
    *n_out = 0;
    char *q = qname(dlq);
    char *d = dest ? qname(dest) : NULL;
    int rc = check_name(q, err);
    if (rc == 0 && dest)
        rc = check_name(d, err);
    if (rc != 0) {
        free(q);
        free(d);
        return rc;
    }
    pthread_mutex_lock(&b->mu);
    rc = bus__exec(b, "BEGIN IMMEDIATE", err);
    struct msg {
        int64_t seq;
        char *body, *attrs, *src;
        size_t blen;
    } *m = NULL;
    size_t n = 0;
    sqlite3_stmt *st = rc == 0 ? prep(b, "SELECT seq,body,attrs,src_queue FROM queue_msg WHERE "
                                         "queue=? ORDER BY seq")
                               : NULL;
    if (st) {
        sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            m = xrealloc(m, (n + 1) * sizeof(*m));
            struct msg *x = &m[n++];
            x->seq = sqlite3_column_int64(st, 0);
            x->blen = (size_t)sqlite3_column_bytes(st, 1);
            x->body = xmalloc(x->blen + 1);
            if (x->blen)
                memcpy(x->body, sqlite3_column_blob(st, 1), x->blen);
            x->body[x->blen] = '\0';
            const unsigned char *a = sqlite3_column_text(st, 2);
            x->attrs = a ? xstrdup((const char *)a) : NULL;
            const unsigned char *s = sqlite3_column_text(st, 3);
            x->src = s ? xstrdup((const char *)s) : NULL;
        }
        sqlite3_finalize(st);
    }
    bool wake = false;
    int64_t now = bus__now(b);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct msg *x = &m[i];
        char *rule = attr_value(x->attrs, "RULE_NAME");
        char *tid = attr_value(x->attrs, "TARGET_ID");
        const struct bus_rule *r;
        const struct bus_target *t;
        bool moved = false;
        if (rule && tid && bus__find_target(b->cfg, rule, tid, &r, &t)) {
            /* Dead-lettered by the bus: deliver to the target again. */
            struct buf pay;
            struct err e2;
            buf_init(&pay, 0);
            err_clear(&e2);
            if (bus__render(b, r, t, x->body, x->blen, &pay, &e2) == 0) {
                char eid[37];
                struct arena a;
                arena_init(&a, 4096);
                struct json_value *v;
                const struct json_value *idv = NULL;
                if (json_parse(x->body, x->blen, &a, &v, NULL) == 0)
                    idv = json_get(v, "id");
                snprintf(eid, sizeof(eid), "%s", idv && idv->type == JSON_STRING ? idv->str : "");
                arena_free(&a);
                if (bus__outbox_insert(b, eid, r->name, t->id, pay.p ? pay.p : "", pay.len,
                                       x->body, x->blen, now) != 0)
                    rc = db_err(b, err);
                moved = wake = true;
            }
            buf_free(&pay);
        } else if (x->src || d) {
            sqlite3_stmt *mv = prep(b, "UPDATE queue_msg SET queue=?,src_queue=NULL,visible_ms=?,"
                                       "receive_count=0,first_receive_ms=0,receipt=NULL WHERE seq=?");
            sqlite3_bind_text(mv, 1, x->src ? x->src : d, -1, SQLITE_STATIC);
            sqlite3_bind_int64(mv, 2, now);
            sqlite3_bind_int64(mv, 3, x->seq);
            if (sqlite3_step(mv) != SQLITE_DONE)
                rc = db_err(b, err);
            sqlite3_finalize(mv);
            (*n_out)++;
        }
        if (moved && rc == 0) {
            sqlite3_stmt *del = prep(b, "DELETE FROM queue_msg WHERE seq=?");
            sqlite3_bind_int64(del, 1, x->seq);
            if (sqlite3_step(del) != SQLITE_DONE)
                rc = db_err(b, err);
            sqlite3_finalize(del);
            (*n_out)++;
        }
        free(rule);
        free(tid);
    }
    for (size_t i = 0; i < n; i++) {
        free(m[i].body);
        free(m[i].attrs);
        free(m[i].src);
    }
    free(m);
    if (rc == 0)
        rc = bus__exec(b, "COMMIT", err);
    else {
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        *n_out = 0;
    }
    if (wake)
        pthread_cond_broadcast(&b->cv_work);
    pthread_mutex_unlock(&b->mu);
    free(q);
    free(d);
    return rc;
}

int bus_queue_list(struct bus *b, struct json_writer *w, struct err *err)
{
    pthread_mutex_lock(&b->mu);
    int64_t now = bus__now(b);
    sqlite3_stmt *st = prep(b, "SELECT queue, SUM(visible_ms<=?), SUM(visible_ms>?) FROM "
                               "queue_msg GROUP BY queue ORDER BY queue");
    int rc = st ? 0 : db_err(b, err);
    jw_object_begin(w);
    jw_key(w, "Queues");
    jw_array_begin(w);
    /* Configured queues appear even when empty. */
    size_t nq = b->cfg->n_queues;
    bool *seen = xcalloc(nq + 1, sizeof(*seen));
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, now);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            for (size_t i = 0; i < nq; i++)
                seen[i] |= strcmp(b->cfg->queues[i].name, name) == 0;
            jw_object_begin(w);
            jw_key(w, "QueueName");
            jw_str(w, name);
            jw_key(w, "ApproximateNumberOfMessages");
            jw_int(w, sqlite3_column_int64(st, 1));
            jw_key(w, "ApproximateNumberOfMessagesNotVisible");
            jw_int(w, sqlite3_column_int64(st, 2));
            jw_object_end(w);
        }
        sqlite3_finalize(st);
    }
    for (size_t i = 0; i < nq; i++) {
        if (seen[i])
            continue;
        jw_object_begin(w);
        jw_key(w, "QueueName");
        jw_str(w, b->cfg->queues[i].name);
        jw_key(w, "ApproximateNumberOfMessages");
        jw_int(w, 0);
        jw_key(w, "ApproximateNumberOfMessagesNotVisible");
        jw_int(w, 0);
        jw_object_end(w);
    }
    free(seen);
    jw_array_end(w);
    jw_object_end(w);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

/* MD5OfBody, as SQS reports it. */
static void md5_hex(const void *p, size_t len, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(p, len, md, &n, EVP_md5(), NULL);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}
