/*
 * reader: the input_next iterator. One file at a time is read whole into a
 * reused buffer (inflated when gzip), its format is sniffed from the first
 * bytes, then records are cut out of it one per call.
 *
 * JSON inputs are a sequence of top-level values, either one per line (JSON
 * lines, CloudWatch Logs exports; a record cannot run past its line, so a bad
 * line costs only itself) or free-form (pretty-printed files, concatenated
 * values). A top-level value is either a record or a container whose array
 * holds the records: {"Records":[...]}, {"logEvents":[...]}, {"Events":[...]},
 * {"events":[...]} or a bare [...]. The scan of a container stops at its array
 * and hands out one element per call, so a CloudTrail file is never walked
 * whole before its first record is returned.
 *
 * Structure is found with json_skip_value (keys and values alike); this file
 * only steps over the punctuation between them. Records are then flattened by
 * json_flatten; the elements of {"Records":[...]} are flattened in the same
 * pass that finds their end (json_flatten_next). When an element is broken, a bracket count from its start finds
 * the next element (the usual damage, a garbled token, keeps brackets
 * balanced); at top level the next line starting with '{' or '[' is the
 * resynchronisation point.
 */
#include "input/input_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_FILE ((size_t)4 << 30)
#define DEFAULT_MAX_RECORD ((size_t)16 << 20)
/* After this many bad records a file is given up: junk must not flood. */
#define MAX_ERRORS_PER_FILE 1000
#define NOPOS SIZE_MAX

/* Internal step results, beside 0 / INPUT_NOTE / enum err_code. */
enum { STEP_AGAIN = -10, STEP_DONE = -11 };

enum mode { M_JSON_LINES, M_JSON_STREAM, M_FLOW, M_S3ACCESS, M_W3C };

/* What the elements of a container array are. */
enum elem {
    EL_CLOUDTRAIL, /* {"Records":[...]}: CloudTrail records, no questions asked */
    EL_ANY,        /* a bare top-level array: each element classified */
    EL_MESSAGE,    /* CloudWatch Logs events: the record is the "message" string */
    EL_LOOKUP,     /* lookup-events: inline record or "CloudTrailEvent" string */
    EL_SKIP        /* a CloudWatch Logs CONTROL_MESSAGE's events: no data */
};

/* Top-level keys that tell formats apart. */
enum key {
    K_RECORDS, K_LOGEVENTS, K_EVENTS, K_EVENTS_LC, K_MSGTYPE,
    K_DETAIL_TYPE, K_DETAIL, K_SOURCE, K_ID, K_ACCOUNT, K_TIME, K_REGION,
    K_DIGEST_OBJ, K_DIGEST_FP, K_SNS_TYPE, K_SNS_MESSAGE, K_SNS_TOPIC,
    K_EVVERSION, K_EVTIME, K_EVNAME, K_EVSOURCE, K_EVID, K_EVTYPE,
    K_QNAME, K_QTS, K_CFG_ITEMS, K_CFG_ITEM, K_CFG_FILEVER,
    K_CTEVENT, K_MESSAGE, K_WEBACL,
    K_N
};

#define KEY(s) { s, sizeof(s) - 1 }
static const struct {
    const char *name;
    size_t len;
} key_names[K_N] = {
    KEY("Records"), KEY("logEvents"), KEY("Events"), KEY("events"), KEY("messageType"),
    KEY("detail-type"), KEY("detail"), KEY("source"), KEY("id"), KEY("account"), KEY("time"),
    KEY("region"), KEY("digestS3Object"), KEY("digestPublicKeyFingerprint"), KEY("Type"),
    KEY("Message"), KEY("TopicArn"), KEY("eventVersion"), KEY("eventTime"), KEY("eventName"),
    KEY("eventSource"), KEY("eventID"), KEY("eventType"), KEY("query_name"),
    KEY("query_timestamp"), KEY("configurationItems"), KEY("configurationItem"),
    KEY("fileVersion"), KEY("CloudTrailEvent"), KEY("message"), KEY("webaclId"),
};
#undef KEY

struct span {
    size_t s, e; /* [s, e) in the buffer walked; s == NOPOS when absent */
};

/* What a walk over one object's members found. */
struct top {
    struct span v[K_N];
    size_t start, end;
    int stop_key; /* the container key the walk stopped at, or -1 */
    size_t stop_at;
};

struct input_reader {
    struct input_options opt;
    const struct input_list *files;
    size_t next_file;
    const char *mem_name;
    const void *mem;
    size_t mem_len;
    bool is_mem, mem_pending;

    /* A stream (input_open_stream): raw[0, s_fill) holds what was read and
     * not consumed yet; in line modes data = raw and len ends after the last
     * complete line, so the record code never sees half a line. */
    bool is_stream, s_started, s_eof, s_whole, s_skip;
    int s_fd;
    size_t s_fill;
    uint64_t s_dropped; /* first lines whose format was not recognised */

    struct input_gz gz;
    char *raw;
    size_t raw_cap;
    struct arena arena;
    struct json_flat flat;
    struct buf tmp; /* embedded records decoded from JSON strings */
    struct input_stats st;

    /* The current file. */
    bool active;
    const char *name;
    enum input_hint hint;
    const char *data;
    size_t len, pos;
    uint64_t rec_no, line_no, file_errors;
    enum mode mode;
    bool cwl_prefix;
    /* The first line's end as sniff found it (eol_at, NOPOS if none), valid
     * for a search from eol_for: a file in one line ({"Records":[...]}) is
     * not searched for its newline twice. */
    size_t eol_for, eol_at;
    struct flow_format flow;
    struct w3c_format w3c;

    /* The container being iterated, if any. */
    size_t lstart, lpos, lend; /* line mode: the current line, its unread rest */
    /* Line mode: the source of the plain records seen so far (0 = none yet or
     * mixed), which lets a line go straight to json_flatten. */
    int fast_src;
    bool in_arr, arr_first, top_is_obj;
    enum elem el;
    size_t arr_pos, bound;
    struct top top;
};

/* ---- small helpers --------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *p, size_t end, size_t pos)
{
    while (pos < end && is_ws(p[pos]))
        pos++;
    return pos;
}

static int key_lookup(const char *k, size_t n)
{
    for (int i = 0; i < K_N; i++)
        if (key_names[i].len == n && memcmp(key_names[i].name, k, n) == 0)
            return i;
    return -1;
}

static bool is_container_key(int k)
{
    return k == K_RECORDS || k == K_LOGEVENTS || k == K_EVENTS || k == K_EVENTS_LC;
}

/* "line N: " in front of a message, for line-oriented inputs. */
static void prefix_line(struct err *err, uint64_t line)
{
    char head[32];
    int h = snprintf(head, sizeof(head), "line %llu: ", (unsigned long long)line);
    size_t n = strlen(err->msg);
    if ((size_t)h + n >= sizeof(err->msg))
        n = sizeof(err->msg) - 1 - (size_t)h; /* a long message loses its tail */
    memmove(err->msg + h, err->msg, n);
    memcpy(err->msg, head, (size_t)h);
    err->msg[h + n] = '\0';
}

static void append_msg(struct err *err, const char *more)
{
    size_t n = strlen(err->msg), m = strlen(more);
    if (n + m >= sizeof(err->msg))
        m = sizeof(err->msg) - 1 - n;
    memcpy(err->msg + n, more, m);
    err->msg[n + m] = '\0';
}

/* Decodes a string value found by a walk (span includes the quotes). */
static struct sv span_str(const char *p, struct span sp, struct arena *arena)
{
    if (sp.s == NOPOS || sp.e - sp.s < 2 || p[sp.s] != '"')
        return SV_NULL;
    struct json_leaf l;
    memset(&l, 0, sizeof(l));
    l.val = p + sp.s + 1;
    l.val_len = (uint32_t)(sp.e - sp.s - 2);
    l.type = JSON_STRING;
    l.escaped = memchr(l.val, '\\', l.val_len) != NULL;
    return json_leaf_str(&l, arena);
}

/*
 * Walks the members of the object at p[*pos] (or, when resume, continues after
 * a member's value), recording the values of the keys in key_names. With stop,
 * the walk pauses at the '[' of a container key's array (t->stop_key) so the
 * caller can iterate it, then resume. Keys and values are checked by
 * json_skip_value; only the punctuation between them is looked at here.
 */
static int walk_object(const char *p, size_t end, size_t *pos, struct top *t, bool stop,
                       bool resume, struct err *err)
{
    size_t i = *pos;
    if (!resume) {
        for (int k = 0; k < K_N; k++)
            t->v[k].s = t->v[k].e = NOPOS;
        t->start = i;
        t->end = NOPOS;
        t->stop_key = -1;
        i = skip_ws(p, end, i + 1); /* past '{' */
        if (i < end && p[i] == '}') {
            t->end = *pos = i + 1;
            return 0;
        }
        goto member;
    }
    t->stop_key = -1;
    for (;;) {
        i = skip_ws(p, end, i);
        if (i < end && p[i] == '}') {
            t->end = *pos = i + 1;
            return 0;
        }
        if (i >= end || p[i] != ',') {
            err_where(err, NULL, 0, i);
            return err_set(err, ERR_FORMAT, i >= end ? "unexpected end of data in an object"
                                                     : "expected ',' or '}' in an object");
        }
        i = skip_ws(p, end, i + 1);
    member:
        if (i >= end || p[i] != '"') {
            err_where(err, NULL, 0, i);
            return err_set(err, ERR_FORMAT, i >= end ? "unexpected end of data in an object"
                                                     : "expected a member name");
        }
        size_t ks = i;
        int rc = json_skip_value(p, end, &i, err);
        if (rc != 0)
            return rc;
        int k = key_lookup(p + ks + 1, i - ks - 2);
        i = skip_ws(p, end, i);
        if (i >= end || p[i] != ':') {
            err_where(err, NULL, 0, i);
            return err_set(err, ERR_FORMAT, "expected ':' after a member name");
        }
        i = skip_ws(p, end, i + 1);
        if (stop && is_container_key(k) && i < end && p[i] == '[') {
            t->stop_key = k;
            t->stop_at = i;
            *pos = i;
            return 0;
        }
        size_t vs = i;
        rc = json_skip_value(p, end, &i, err);
        if (rc != 0)
            return rc;
        if (k >= 0 && t->v[k].s == NOPOS) {
            t->v[k].s = vs;
            t->v[k].e = i;
        }
    }
}

static bool has(const struct top *t, int k)
{
    return t->v[k].s != NOPOS;
}

static bool looks_like_record(const struct top *t)
{
    return has(t, K_EVVERSION) || has(t, K_EVTIME) || has(t, K_EVNAME) || has(t, K_EVSOURCE) ||
           has(t, K_EVID) || has(t, K_EVTYPE) || has(t, K_QNAME) || has(t, K_QTS) ||
           (has(t, K_DETAIL_TYPE) && has(t, K_DETAIL));
}

/* The next line after from that starts with '{' or '[' (a likely record). */
static size_t line_resync(const char *p, size_t end, size_t from)
{
    for (size_t i = from; i < end; i++) {
        const char *nl = memchr(p + i, '\n', end - i);
        if (nl == NULL)
            return NOPOS;
        i = (size_t)(nl - p) + 1;
        if (i < end && (p[i] == '{' || p[i] == '['))
            return i;
        i--;
    }
    return NOPOS;
}

static bool looks_like_record(const struct top *t);
static int walk_object(const char *p, size_t end, size_t *pos, struct top *t, bool stop,
                       bool resume, struct err *err);

/* After a broken array element: the next '{' that follows a ',' or '[' and
 * walks cleanly as an object with a record's keys. Brackets cannot be trusted
 * here (the damage is often a lost '}'), and a nested object in an array
 * (resources[]) has none of a record's keys. NOPOS when none. */
static size_t record_resync(const char *p, size_t end, size_t from)
{
    unsigned tries = 0;
    for (size_t i = from; i < end; i++) {
        const char *q = memchr(p + i, '{', end - i);
        if (q == NULL)
            return NOPOS;
        i = (size_t)(q - p);
        size_t k = i;
        while (k > 0 && is_ws(p[k - 1]))
            k--;
        if (k == 0 || (p[k - 1] != ',' && p[k - 1] != '['))
            continue;
        if (++tries > 100000)
            return NOPOS;
        struct top t;
        size_t pos = i;
        if (walk_object(p, end, &pos, &t, false, false, NULL) == 0 && looks_like_record(&t))
            return i;
    }
    return NOPOS;
}

/* Length of a CloudWatch Logs export timestamp prefix ("2023-01-02T03:04:05.678Z "
 * or epoch milliseconds and a space), 0 when the line has none. */
static size_t cwl_prefix_len(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && p[i] != ' ' && i < 40)
        i++;
    if (i == 0 || i >= len || p[i] != ' ')
        return 0;
    bool digits = true;
    for (size_t k = 0; k < i; k++)
        digits &= p[k] >= '0' && p[k] <= '9';
    int64_t ms;
    /* Epoch milliseconds have 13 digits (an account id, 12, must not match). */
    if ((digits && i == 13) || (i >= 20 && p[4] == '-' && p[10] == 'T' &&
                                time_parse_iso8601(sv_make(p, i), &ms)))
        return i + 1;
    return 0;
}

static bool looks_binary(const unsigned char *p, size_t len)
{
    size_t n = len < 512 ? len : 512, ctl = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0)
            return true;
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            ctl++;
    }
    return ctl * 10 > n;
}

/* ---- events ------------------------------------------------------------- */

static int emit_flat(struct input_reader *r, struct event *ev, enum event_source src,
                     struct sv raw, const struct event_envelope *env, struct err *err)
{
    memset(ev, 0, sizeof(*ev));
    ev->source = src;
    ev->flat = r->flat;
    ev->raw = raw;
    ev->file = r->name;
    ev->record_no = r->rec_no;
    if (env != NULL) {
        ev->envelope = *env;
        ev->flags |= EVENT_F_ENVELOPE;
    }
    return event_fill_common(ev, &r->arena, err);
}

/* Flattens p[s..e) as one record of src and builds the event. off is where the
 * record starts in the file's data, for messages. */
static int emit_json(struct input_reader *r, struct event *ev, enum event_source src,
                     const char *p, size_t s, size_t e, const struct event_envelope *env,
                     size_t off, struct err *err)
{
    if (e - s > r->opt.max_record) {
        err_where(err, NULL, 0, off);
        return err_set(err, ERR_LIMIT, "record of %zu bytes exceeds the cap of %zu bytes", e - s,
                       r->opt.max_record);
    }
    int rc = json_flatten(p + s, e - s, r->opt.want, &r->arena, &r->flat, err);
    if (rc != 0) {
        err->offset += off;
        return rc;
    }
    return emit_flat(r, ev, src, sv_make(p + s, e - s), env, err);
}

static int emit_flow(struct input_reader *r, struct event *ev, const char *line, size_t len,
                     struct err *err)
{
    if (len > r->opt.max_record)
        return err_set(err, ERR_LIMIT, "line of %zu bytes exceeds the cap of %zu bytes", len,
                       r->opt.max_record);
    int rc = input__flow_line(&r->flow, line, len, &r->flat, err);
    if (rc != 0)
        return rc;
    rc = emit_flat(r, ev, EVENT_VPCFLOW, sv_make(line, len), NULL, err);
    ev->flow_fmt = r->flat.n == r->flow.n ? r->flow.id : 0;
    return rc;
}

/* A record already walked (t over p): decides what it is and emits it, or
 * returns a note/error for things that are not records. */
static int emit_walked(struct input_reader *r, struct event *ev, const char *p, const struct top *t,
                       size_t off, struct err *err)
{
    if (has(t, K_DIGEST_OBJ) || has(t, K_DIGEST_FP)) {
        r->active = false; /* a digest file holds one object and no events */
        return err_set(err, INPUT_NOTE,
                       "CloudTrail digest file (log file hashes, no events): skipped");
    }
    if (has(t, K_DETAIL_TYPE) && has(t, K_DETAIL) && p[t->v[K_DETAIL].s] == '{') {
        struct event_envelope env;
        env.raw = sv_make(p + t->start, t->end - t->start);
        env.id = span_str(p, t->v[K_ID], &r->arena);
        env.detail_type = span_str(p, t->v[K_DETAIL_TYPE], &r->arena);
        env.source = span_str(p, t->v[K_SOURCE], &r->arena);
        env.account = span_str(p, t->v[K_ACCOUNT], &r->arena);
        env.region = span_str(p, t->v[K_REGION], &r->arena);
        env.time = span_str(p, t->v[K_TIME], &r->arena);
        if (!sv_ends_with(env.detail_type, SV("via CloudTrail")))
            return err_set(err, INPUT_NOTE,
                           "EventBridge event with detail-type \"%.*s\" (not a CloudTrail "
                           "record): skipped",
                           (int)(env.detail_type.len > 80 ? 80 : env.detail_type.len),
                           env.detail_type.p ? env.detail_type.p : "");
        return emit_json(r, ev, EVENT_CLOUDTRAIL, p, t->v[K_DETAIL].s, t->v[K_DETAIL].e, &env,
                         off + (t->v[K_DETAIL].s - t->start), err);
    }
    if (has(t, K_QNAME) || has(t, K_QTS))
        return emit_json(r, ev, EVENT_DNS, p, t->start, t->end, NULL, off, err);
    if (has(t, K_WEBACL))
        return emit_json(r, ev, EVENT_WAF, p, t->start, t->end, NULL, off, err);
    if (has(t, K_EVVERSION) || has(t, K_EVTIME) || has(t, K_EVNAME) || has(t, K_EVSOURCE) ||
        has(t, K_EVID) || has(t, K_EVTYPE))
        return emit_json(r, ev, EVENT_CLOUDTRAIL, p, t->start, t->end, NULL, off, err);
    if (has(t, K_SNS_TYPE) && has(t, K_SNS_TOPIC)) {
        if (!has(t, K_SNS_MESSAGE))
            return err_set(err, ERR_FORMAT, "SNS notification without a Message");
        return err_set(err, INPUT_NOTE,
                       "SNS notification (announces log files, holds no events): skipped");
    }
    if (has(t, K_CFG_ITEMS) || has(t, K_CFG_ITEM) || has(t, K_CFG_FILEVER))
        return err_set(err, INPUT_NOTE, "AWS Config data (not an event source yet): skipped");
    if (has(t, K_MSGTYPE))
        return STEP_AGAIN; /* a CloudWatch Logs CONTROL_MESSAGE: carries no data */
    return err_set(err, ERR_FORMAT,
                   "JSON object is not a CloudTrail record, a Resolver query log record, a WAF "
                   "log record or an EventBridge event");
}

/* A record given as text (a CloudWatch Logs message, a CloudTrailEvent string):
 * JSON is walked and classified, anything else is taken as a flow log line. */
static int emit_text(struct input_reader *r, struct event *ev, const char *p, size_t len,
                     size_t off, struct err *err)
{
    size_t i = skip_ws(p, len, 0);
    while (len > i && is_ws(p[len - 1]))
        len--;
    if (i < len && p[i] == '{') {
        struct top t;
        size_t pos = i;
        int rc = walk_object(p, len, &pos, &t, false, false, err);
        if (rc == 0 && skip_ws(p, len, pos) != len)
            rc = err_set(err, ERR_FORMAT, "unexpected text after the JSON value");
        if (rc != 0) {
            err->offset = off;
            return rc;
        }
        rc = emit_walked(r, ev, p, &t, off, err);
        if (rc > 0)
            err->offset = off;
        return rc;
    }
    if (i == len)
        return err_set(err, ERR_FORMAT, "empty message");
    return emit_flow(r, ev, p + i, len - i, err);
}

/* ---- files ------------------------------------------------------------- */

static int read_fd(struct input_reader *r, int fd, size_t hint, size_t *len_out, struct err *err)
{
    size_t len = 0;
    size_t max = r->opt.max_file;
    if (hint + 1 > r->raw_cap && hint < max) {
        r->raw_cap = hint + 1;
        r->raw = xrealloc(r->raw, r->raw_cap + 1);
    }
    for (;;) {
        if (len == r->raw_cap) {
            if (r->raw_cap >= max)
                return err_set(err, ERR_LIMIT, "file larger than the cap of %zu bytes", max);
            size_t cap = r->raw_cap ? r->raw_cap * 2 : 1 << 20;
            if (cap > max)
                cap = max;
            r->raw = xrealloc(r->raw, cap + 1);
            r->raw_cap = cap;
        }
        ssize_t n = read(fd, r->raw + len, r->raw_cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_set(err, ERR_IO, "read: %s", strerror(errno));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *len_out = len;
    return 0;
}

static int read_file(struct input_reader *r, const char *path, size_t *len_out, struct err *err)
{
    if (strcmp(path, "-") == 0)
        return read_fd(r, STDIN_FILENO, 0, len_out, err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    size_t hint = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        hint = (size_t)st.st_size;
    int rc = read_fd(r, fd, hint, len_out, err);
    close(fd);
    return rc;
}

/* Chooses the format from the first bytes. Returns 0 with r->active set, or a
 * note/error for a file that is skipped. */
static int sniff(struct input_reader *r, struct err *err)
{
    const char *p = r->data;
    size_t n = r->len, i = 0, bom = 0;
    if (n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        bom = 3;
    i = skip_ws(p, n, bom);
    if (i == n)
        return err_set(err, INPUT_NOTE, "empty file: no records");
    if (n - i >= 4 && memcmp(p + i, "PAR1", 4) == 0)
        return err_set(err, ERR_FORMAT,
                       "Apache Parquet data (flow logs in Parquet format) is not supported: "
                       "deliver flow logs as text");
    if (looks_binary((const unsigned char *)p + i, n - i))
        return err_set(err, ERR_FORMAT, "binary data (neither gzip nor text): not a log file");

    /* The first line decides; i is at its first non-blank byte. */
    size_t ls = i;
    while (ls > bom && p[ls - 1] != '\n')
        ls--;
    const char *nl = memchr(p + i, '\n', n - i);
    size_t le = nl ? (size_t)(nl - p) : n;
    /* [ls, i) holds no newline: a search from ls finds the same one */
    r->eol_for = ls;
    r->eol_at = nl ? le : NOPOS;
    size_t te = le;
    while (te > i && is_ws(p[te - 1]))
        te--;
    size_t pre = cwl_prefix_len(p + i, te - i);
    r->cwl_prefix = pre > 0;
    size_t c = i + pre;
    r->pos = ls;
    if (c < te && (p[c] == '{' || p[c] == '[')) {
        /* One value per line when the first line holds a whole value. */
        r->mode = (r->cwl_prefix || (te - c > 1 && (p[te - 1] == '}' || p[te - 1] == ']')))
                      ? M_JSON_LINES
                      : M_JSON_STREAM;
        r->active = true;
        return 0;
    }
    /* CloudWatch Logs writes this object (aws-logs-write-test) beside every
     * export to S3. */
    if (sv_eq_cstr(sv_make(p + i, te - i), "Permission Check Successful"))
        return err_set(err, INPUT_NOTE,
                       "CloudWatch Logs export permission check object (no events): skipped");
    if (!r->cwl_prefix && input__w3c_is(p + i, te - i)) {
        r->mode = M_W3C; /* CloudFront standard logs */
        r->w3c.n = 0;
        r->active = true;
        return 0;
    }
    if (!r->cwl_prefix && input__s3access_is(p + i, te - i)) {
        r->mode = M_S3ACCESS;
        r->active = true;
        return 0;
    }
    r->mode = M_FLOW;
    if (input__flow_is_header(p + c, te - c)) {
        int rc = input__flow_format(&r->flow, p + c, te - c, err);
        if (rc != 0) {
            err_where(err, NULL, 1, c);
            return rc;
        }
        r->pos = nl ? le + 1 : n;
        r->line_no = 1;
    } else {
        size_t fields = input__flow_count_fields(p + c, te - c);
        size_t d = c;
        while (d < te && p[d] >= '0' && p[d] <= '9')
            d++;
        bool v2 = fields == 14 && d > c && d < te && p[d] == ' ';
        if (r->opt.vpcflow_fields == NULL && !v2 && r->hint != INPUT_HINT_VPCFLOW) {
            size_t show = te - i > 60 ? 60 : te - i;
            return err_set(err, ERR_FORMAT, "not a recognised log format (first line \"%.*s%s\")",
                           (int)show, p + i, te - i > 60 ? "..." : "");
        }
    }
    r->active = true;
    return 0;
}

static void reset_file(struct input_reader *r)
{
    r->active = false;
    r->pos = r->len = 0;
    r->rec_no = r->line_no = r->file_errors = 0;
    r->in_arr = false;
    r->cwl_prefix = false;
    r->eol_for = r->eol_at = NOPOS;
    r->lstart = r->lpos = r->lend = 0;
    r->fast_src = 0;
    if (r->opt.vpcflow_fields != NULL &&
        input__flow_format(&r->flow, r->opt.vpcflow_fields, strlen(r->opt.vpcflow_fields), NULL) ==
            0)
        return;
    input__flow_default(&r->flow);
}


/* ---- streams ------------------------------------------------------------- */

#define STREAM_CHUNK ((size_t)64 << 10)

/* Reads what the stream has now, without blocking: 0 when something was read
 * or the end was seen (s_eof), INPUT_AGAIN when nothing is available yet. The
 * buffer grows to what one record needs, never to the whole stream. */
static int stream_fill(struct input_reader *r, size_t max, struct err *err)
{
    if (r->s_eof)
        return 0;
    struct pollfd pfd = { r->s_fd, POLLIN, 0 };
    int pr = poll(&pfd, 1, 0);
    if (pr < 0 && errno != EINTR)
        return err_set(err, ERR_IO, "poll: %s", strerror(errno));
    if (pr <= 0)
        return INPUT_AGAIN;
    if (r->raw_cap - r->s_fill < STREAM_CHUNK) {
        size_t cap = r->raw_cap ? r->raw_cap * 2 : STREAM_CHUNK * 2;
        while (cap - r->s_fill < STREAM_CHUNK)
            cap *= 2;
        if (cap > max + STREAM_CHUNK)
            cap = max + STREAM_CHUNK;
        if (cap > r->raw_cap) {
            r->raw = xrealloc(r->raw, cap + 1);
            r->raw_cap = cap;
        }
    }
    if (r->s_fill == r->raw_cap)
        return err_set(err, ERR_LIMIT, "stream buffer full");
    ssize_t n = read(r->s_fd, r->raw + r->s_fill, r->raw_cap - r->s_fill);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return INPUT_AGAIN;
        return err_set(err, ERR_IO, "read: %s", strerror(errno));
    }
    if (n == 0)
        r->s_eof = true;
    r->s_fill += (size_t)n;
    r->st.bytes_in += (size_t)n;
    r->st.bytes_out += (size_t)n;
    return 0;
}

/* End of the complete lines in raw[0, s_fill), or 0 when there is none (all of
 * it at the end of the stream). */
static size_t stream_lines_end(const struct input_reader *r)
{
    if (r->s_fill == 0)
        return 0;
    if (r->s_eof)
        return r->s_fill;
    const char *p = r->raw, *q = p + r->s_fill;
    while (q > p && q[-1] != '\n')
        q--;
    return (size_t)(q - p);
}

/* Drops raw's bytes up to and including the first newline; without one,
 * all of them, and the rest of that line as it arrives (s_skip). */
static void stream_drop_line(struct input_reader *r)
{
    const char *nl = r->s_fill > 0 ? memchr(r->raw, '\n', r->s_fill) : NULL;
    if (nl == NULL) {
        r->s_fill = 0;
        r->s_skip = !r->s_eof;
        return;
    }
    size_t k = (size_t)(nl - r->raw) + 1;
    memmove(r->raw, r->raw + k, r->s_fill - k);
    r->s_fill -= k;
    r->s_skip = false;
}

/* The first bytes of a stream: sniffed once a whole first line is in. gzip
 * data and whole JSON documents (a pretty-printed {"Records":[...]}) cannot
 * be cut at line ends, so they are read to the end first (capped by max_file,
 * like a file). */
static int stream_open(struct input_reader *r, struct err *err)
{
    reset_file(r);
    r->rec_no = r->line_no = r->s_dropped;
    r->name = r->mem_name;
    r->hint = INPUT_HINT_NONE;
    err_where(err, r->name, 0, 0);
    for (;;) {
        if (r->s_skip)
            stream_drop_line(r);
        bool gz = r->s_fill >= 2 && input__is_gzip(r->raw, r->s_fill);
        if (r->s_eof || (!gz && !r->s_whole && r->s_fill > 0 &&
                         memchr(r->raw, '\n', r->s_fill) != NULL))
            break;
        if (!r->s_whole && !gz && r->s_fill >= r->opt.max_record)
            break; /* a first line over the cap: whole-document sniffing decides */
        int rc = stream_fill(r, gz || r->s_whole ? r->opt.max_file : r->opt.max_record, err);
        if (rc != 0)
            return rc;
    }
    if (r->s_fill == 0)
        return INPUT_END;
    if (input__is_gzip(r->raw, r->s_fill)) {
        r->st.files++;
        size_t out_len = 0;
        r->st.bytes_out -= r->s_fill;
        int rc = input__gunzip(&r->gz, r->raw, r->s_fill, r->opt.max_file, &out_len, err);
        r->s_started = true;
        r->s_whole = true;
        if (rc != 0 && out_len == 0)
            return rc;
        r->data = r->gz.out;
        r->len = out_len;
        r->st.bytes_out += out_len;
        struct err keep = *err;
        int src = sniff(r, err);
        if (rc != 0) {
            *err = keep;
            return rc;
        }
        return src;
    }
    r->data = r->raw;
    r->len = r->s_whole ? r->s_fill : stream_lines_end(r);
    if (r->len == 0)
        r->len = r->s_fill;
    int rc = sniff(r, err);
    if (rc == 0 && r->mode == M_JSON_STREAM && !r->s_whole) {
        /* Only a line that opens a document ("{", "{\"Records\": [", ...)
         * means a whole document: a broken first record must not make a live
         * stream wait for its end. */
        const char *nl = memchr(r->raw, '\n', r->s_fill);
        size_t e = nl ? (size_t)(nl - r->raw) : r->s_fill;
        while (e > 0 && is_ws(r->raw[e - 1]))
            e--;
        char last = e > 0 ? r->raw[e - 1] : '{';
        if (last != '{' && last != '[' && last != ',' && last != ':')
            r->mode = M_JSON_LINES;
    }
    if (rc == 0 && r->mode == M_JSON_STREAM && !r->s_whole && !r->s_eof) {
        r->s_whole = true; /* read on to the end, then sniff again */
        r->active = false;
        return STEP_AGAIN;
    }
    if (rc != 0 && !r->s_whole) {
        /* A stream does not end on a bad first line: it is reported and the
         * next line is sniffed instead. */
        r->active = false;
        r->s_dropped++;
        stream_drop_line(r);
        err_where(err, r->name, r->s_dropped, 0);
        if (rc > 0) {
            prefix_line(err, r->s_dropped);
            return rc;
        }
        return STEP_AGAIN; /* a note (an empty line of blanks, ...): nothing to say */
    }
    r->s_started = true;
    r->st.files++;
    return rc;
}

/* Line modes, when the complete lines buffered are consumed: drops them and
 * waits for the next complete line. 0 when there is more to read,
 * INPUT_AGAIN, INPUT_END, or ERR_LIMIT for a line over the cap (its bytes are
 * skipped up to the next newline). */
static int stream_refill(struct input_reader *r, struct err *err)
{
    if (r->s_whole || r->s_eof) {
        if (!r->s_whole && r->len < r->s_fill) {
            /* unreachable: at the end every byte belongs to a line */
        }
        return INPUT_END;
    }
    if (r->s_fill > r->len)
        memmove(r->raw, r->raw + r->len, r->s_fill - r->len);
    r->s_fill -= r->len;
    r->pos = r->len = 0;
    r->eol_for = r->eol_at = NOPOS;
    r->lstart = r->lpos = r->lend = 0;
    r->data = r->raw;
    for (;;) {
        if (r->s_skip)
            stream_drop_line(r);
        if (r->s_skip && r->s_eof)
            return INPUT_END;
        if (!r->s_skip) {
            size_t end = stream_lines_end(r);
            if (end > 0) {
                r->len = end;
                return 0;
            }
            if (r->s_eof)
                return INPUT_END;
            if (r->s_fill >= r->opt.max_record) {
                r->rec_no++;
                r->line_no++;
                r->s_skip = true;
                err_where(err, NULL, r->rec_no, 0);
                int rc = err_set(err, ERR_LIMIT, "line %llu: longer than the cap of %zu bytes: skipped",
                                 (unsigned long long)r->line_no, r->opt.max_record);
                r->s_fill = 0;
                return rc;
            }
        }
        int rc = stream_fill(r, r->opt.max_record, err);
        if (rc != 0)
            return rc;
    }
}

static int open_next(struct input_reader *r, struct err *err)
{
    const void *in;
    size_t in_len = 0;
    reset_file(r);
    if (r->is_mem) {
        if (!r->mem_pending)
            return INPUT_END;
        r->mem_pending = false;
        r->name = r->mem_name;
        r->hint = INPUT_HINT_NONE;
        in = r->mem;
        in_len = r->mem_len;
    } else {
        if (r->files == NULL || r->next_file >= r->files->n)
            return INPUT_END;
        const struct input_file *f = &r->files->files[r->next_file++];
        r->name = f->path;
        r->hint = f->hint;
        r->st.files++;
        err_where(err, r->name, 0, 0);
        if (f->hint == INPUT_HINT_CLOUDTRAIL_DIGEST)
            return err_set(err, INPUT_NOTE,
                           "CloudTrail digest file (log file hashes, no events): skipped");
        int rc = read_file(r, f->path, &in_len, err);
        if (rc != 0)
            return rc;
        in = r->raw;
    }
    if (r->is_mem)
        r->st.files++;
    r->st.bytes_in += in_len;
    err_where(err, r->name, 0, 0);
    int gz_rc = 0;
    if (input__is_gzip(in, in_len)) {
        size_t out_len = 0;
        gz_rc = input__gunzip(&r->gz, in, in_len, r->opt.max_file, &out_len, err);
        if (gz_rc != 0 && out_len == 0)
            return gz_rc;
        r->data = r->gz.out;
        r->len = out_len;
    } else {
        if (in_len > r->opt.max_file)
            return err_set(err, ERR_LIMIT, "file larger than the cap of %zu bytes",
                           r->opt.max_file);
        r->data = in;
        r->len = in_len;
    }
    r->st.bytes_out += r->len;
    if (gz_rc != 0) {
        /* The good members are still read; the error about the rest comes first. */
        struct err keep = *err;
        int rc = sniff(r, err);
        *err = keep;
        (void)rc;
        return gz_rc;
    }
    return sniff(r, err);
}

/* ---- record iteration ---------------------------------------------------- */

/* The next non-blank line [*ls, *le) (without '\r'); false at the end. */
static bool next_line(struct input_reader *r, size_t *ls, size_t *le)
{
    while (r->pos < r->len) {
        size_t s = r->pos;
        const char *nl;
        if (s == r->eol_for)
            nl = r->eol_at == NOPOS ? NULL : r->data + r->eol_at;
        else
            nl = memchr(r->data + s, '\n', r->len - s);
        size_t e = nl ? (size_t)(nl - r->data) : r->len;
        r->pos = nl ? e + 1 : r->len;
        r->line_no++;
        size_t te = e;
        while (te > s && is_ws(r->data[te - 1]))
            te--;
        size_t ts = s;
        while (ts < te && is_ws(r->data[ts]))
            ts++;
        if (ts < te) {
            *ls = ts;
            *le = te;
            return true;
        }
    }
    return false;
}

static int next_flow(struct input_reader *r, struct event *ev, struct err *err)
{
    size_t ls, le;
    if (!next_line(r, &ls, &le))
        return STEP_DONE;
    const char *p = r->data;
    if (r->cwl_prefix)
        ls += cwl_prefix_len(p + ls, le - ls);
    /* A header line in the middle: files concatenated with cat. */
    if (p[ls] >= 'a' && p[ls] <= 'z' && input__flow_is_header(p + ls, le - ls)) {
        int rc = input__flow_format(&r->flow, p + ls, le - ls, err);
        if (rc != 0) {
            err_where(err, NULL, r->line_no, ls);
            prefix_line(err, r->line_no);
        }
        return rc != 0 ? rc : STEP_AGAIN;
    }
    r->rec_no++;
    int rc = emit_flow(r, ev, p + ls, le - ls, err);
    if (rc != 0) {
        err_where(err, NULL, r->rec_no, ls);
        prefix_line(err, r->line_no);
    }
    return rc;
}

/* S3 server access logs and CloudFront logs: one record per line; CloudFront's
 * '#' lines are headers (#Fields sets the field names). */
static int next_web(struct input_reader *r, struct event *ev, struct err *err)
{
    size_t ls, le;
    if (!next_line(r, &ls, &le))
        return STEP_DONE;
    const char *p = r->data;
    int rc;
    if (r->mode == M_W3C && p[ls] == '#') {
        if (le - ls < 8 || memcmp(p + ls, "#Fields:", 8) != 0)
            return STEP_AGAIN;
        rc = input__w3c_fields(&r->w3c, p + ls, le - ls, err);
        if (rc != 0) {
            err_where(err, NULL, r->line_no, ls);
            prefix_line(err, r->line_no);
        }
        return rc != 0 ? rc : STEP_AGAIN;
    }
    r->rec_no++;
    if (le - ls > r->opt.max_record)
        rc = err_set(err, ERR_LIMIT, "line of %zu bytes exceeds the cap of %zu bytes", le - ls,
                     r->opt.max_record);
    else if (r->mode == M_W3C)
        rc = input__w3c_line(&r->w3c, p + ls, le - ls, &r->flat, err);
    else
        rc = input__s3access_line(p + ls, le - ls, &r->flat, err);
    if (rc == 0)
        rc = emit_flat(r, ev, r->mode == M_W3C ? EVENT_CLOUDFRONT : EVENT_S3ACCESS,
                       sv_make(p + ls, le - ls), NULL, err);
    if (rc != 0) {
        err_where(err, NULL, r->rec_no, ls);
        prefix_line(err, r->line_no);
    }
    return rc;
}

/* Ends the current container and, for {"Records":[...]}-style objects,
 * walks the members after the array. */
static int finish_container(struct input_reader *r, size_t after, struct err *err)
{
    r->in_arr = false;
    size_t end = after;
    if (r->top_is_obj) {
        size_t pos = after;
        int rc = walk_object(r->data, r->bound, &pos, &r->top, false, true, err);
        if (rc != 0) {
            err_where(err, NULL, r->rec_no, err->offset);
            if (r->mode == M_JSON_STREAM)
                r->pos = r->len;
            else
                r->lpos = r->lend;
            return rc;
        }
        end = pos;
    }
    if (r->mode == M_JSON_STREAM)
        r->pos = end;
    else
        r->lpos = end;
    return STEP_AGAIN;
}

/* After a broken element: moves to the next one, or ends the container. */
static void resync_element(struct input_reader *r, size_t es, struct err *err)
{
    /* The damage is at or before the error's offset; the next record starts
     * after it. */
    size_t from = err->offset > es && err->offset < r->bound ? err->offset : es + 1;
    size_t at = record_resync(r->data, r->bound, from);
    if (at == NOPOS) {
        r->in_arr = false;
        if (r->mode == M_JSON_STREAM)
            r->pos = r->len;
        else
            r->lpos = r->lend;
        append_msg(err, r->mode == M_JSON_STREAM
                            ? " (cannot resynchronise: the rest of the file is skipped)"
                            : " (cannot resynchronise: the rest of the line is skipped)");
        return;
    }
    r->arr_pos = at;
    r->arr_first = true;
}

static int next_element(struct input_reader *r, struct event *ev, struct err *err)
{
    const char *p = r->data;
    size_t end = r->bound;
    size_t i = skip_ws(p, end, r->arr_pos);
    if (i < end && p[i] == ']')
        return finish_container(r, i + 1, err);
    if (!r->arr_first) {
        if (i >= end || p[i] != ',') {
            err_where(err, NULL, r->rec_no + 1, i);
            if (i >= end)
                err_set(err, ERR_FORMAT, "unexpected end of data inside an array (truncated?)");
            else
                err_set(err, ERR_FORMAT, "expected ',' or ']' between array elements");
            r->in_arr = false;
            if (r->mode == M_JSON_STREAM)
                r->pos = r->len;
            else
                r->lpos = r->lend;
            return ERR_FORMAT;
        }
        i = skip_ws(p, end, i + 1);
    }
    r->arr_first = false;
    r->rec_no++;
    size_t es = i;
    if (es >= end) {
        err_where(err, NULL, r->rec_no, es);
        err_set(err, ERR_FORMAT, "unexpected end of data inside an array (truncated?)");
        r->in_arr = false;
        if (r->mode == M_JSON_STREAM)
            r->pos = r->len;
        else
            r->lpos = r->lend;
        return ERR_FORMAT;
    }
    int rc;
    struct top t;
    size_t pos = es;
    if (r->el == EL_SKIP) {
        rc = json_skip_value(p, end, &pos, err);
        if (rc == 0) {
            r->arr_pos = pos;
            rc = STEP_AGAIN;
        } else {
            resync_element(r, es, err);
        }
    } else if (r->el == EL_CLOUDTRAIL) {
        /* One pass over a good record; anything wrong with it (or a record
         * over the cap, which cannot end within lim) takes the two-pass path,
         * which reports it. */
        size_t lim = end - es > r->opt.max_record ? es + r->opt.max_record : end;
        if (json_flatten_next(p, lim, &pos, r->opt.want, &r->arena, &r->flat, NULL) == 0) {
            r->arr_pos = pos;
            rc = emit_flat(r, ev, EVENT_CLOUDTRAIL, sv_make(p + es, pos - es), NULL, err);
        } else {
            pos = es;
            rc = json_skip_value(p, end, &pos, err);
            if (rc == 0) {
                r->arr_pos = pos;
                rc = emit_json(r, ev, EVENT_CLOUDTRAIL, p, es, pos, NULL, es, err);
            } else {
                resync_element(r, es, err);
            }
        }
    } else if (p[es] != '{') {
        rc = json_skip_value(p, end, &pos, err);
        if (rc == 0) {
            r->arr_pos = pos;
            rc = err_set(err, ERR_FORMAT, "array element is not a JSON object");
        } else {
            resync_element(r, es, err);
        }
    } else {
        rc = walk_object(p, end, &pos, &t, false, false, err);
        if (rc != 0) {
            resync_element(r, es, err);
        } else {
            r->arr_pos = pos;
            struct span body = { NOPOS, NOPOS };
            if (r->el == EL_MESSAGE)
                body = t.v[K_MESSAGE];
            else if (r->el == EL_LOOKUP)
                body = t.v[K_CTEVENT];
            if (body.s != NOPOS && p[body.s] == '"') {
                /* The record travels as a JSON string: decode it, then read it. */
                buf_reset(&r->tmp);
                rc = json_unescape(p + body.s + 1, body.e - body.s - 2, &r->tmp);
                if (rc == 0)
                    rc = emit_text(r, ev, r->tmp.p ? r->tmp.p : "", r->tmp.len, body.s, err);
            } else if (r->el == EL_MESSAGE) {
                rc = err_set(err, ERR_FORMAT, "log event without a \"message\" string");
            } else {
                rc = emit_walked(r, ev, p, &t, es, err);
            }
        }
    }
    if (rc > 0 || rc == INPUT_NOTE) {
        if (err->offset == 0)
            err->offset = es;
        err_where(err, NULL, r->rec_no, err->offset);
        if (r->mode == M_JSON_LINES && rc > 0)
            prefix_line(err, r->line_no);
    }
    return rc;
}

/* Whether the leaves of a line flattened directly are a plain record of the
 * source the file has held so far (what walking its keys would decide). */
static bool path_is(const struct json_leaf *l, const char *lit, size_t n)
{
    return l->path_len == n && memcmp(l->path, lit, n) == 0;
}
#define PATH_IS(l, lit) path_is(l, lit, sizeof(lit) - 1)

static bool fast_kind_ok(const struct json_flat *f, int src)
{
    bool mine = false;
    if (src != EVENT_DNS + 1 && src != EVENT_CLOUDTRAIL + 1)
        return false; /* WAF records: always walked (their key is not flattened) */
    for (size_t i = 0; i < f->n; i++) {
        const struct json_leaf *l = &f->leaves[i];
        if (l->n_arr != 0 || l->path_len < 9 || l->path_len > 15)
            continue;
        if (PATH_IS(l, "detail-type") || PATH_IS(l, "digestS3Object"))
            return false;
        if (src == EVENT_DNS + 1)
            mine |= PATH_IS(l, "query_timestamp") || PATH_IS(l, "query_name");
        else
            mine |= PATH_IS(l, "eventVersion") || PATH_IS(l, "eventTime") ||
                    PATH_IS(l, "eventName") || PATH_IS(l, "eventSource");
    }
    return mine;
}

/* Line mode, once the file has shown plain records of one source: the line is
 * flattened at once, saving the walk over its keys. Anything unusual (a bad
 * line, several values on one line, another kind of record) goes back to the
 * general path, which reports it properly. STEP_AGAIN means "not taken". */
static int fast_line(struct input_reader *r, struct event *ev, size_t vs, struct err *err)
{
    const char *p = r->data;
    if (r->fast_src == 0 || p[vs] != '{' || r->lend - vs > r->opt.max_record)
        return STEP_AGAIN;
    if (json_flatten(p + vs, r->lend - vs, r->opt.want, &r->arena, &r->flat, NULL) != 0)
        return STEP_AGAIN;
    if (!fast_kind_ok(&r->flat, r->fast_src)) {
        r->fast_src = 0;
        return STEP_AGAIN;
    }
    r->rec_no++;
    r->lpos = r->lend;
    int rc = emit_flat(r, ev, (enum event_source)(r->fast_src - 1), sv_make(p + vs, r->lend - vs),
                       NULL, err);
    if (rc != 0) {
        err_where(err, NULL, r->rec_no, vs);
        prefix_line(err, r->line_no);
    }
    return rc;
}

static int next_json(struct input_reader *r, struct event *ev, struct err *err)
{
    if (r->in_arr)
        return next_element(r, ev, err);
    const char *p = r->data;
    size_t vs, end;
    if (r->mode == M_JSON_LINES) {
        /* A line may hold several values (Firehose concatenates objects). */
        vs = skip_ws(p, r->lend, r->lpos);
        if (vs >= r->lend) {
            size_t ls, le;
            if (!next_line(r, &ls, &le))
                return STEP_DONE;
            if (r->cwl_prefix)
                ls += cwl_prefix_len(p + ls, le - ls);
            r->lstart = r->lpos = vs = ls;
            r->lend = le;
            int rc = fast_line(r, ev, vs, err);
            if (rc != STEP_AGAIN)
                return rc;
        }
        end = r->lend;
    } else {
        vs = skip_ws(p, r->len, r->pos);
        end = r->len;
        if (vs >= end)
            return STEP_DONE;
    }
    r->bound = end;
    if (p[vs] == '[') {
        r->in_arr = true;
        r->arr_first = true;
        r->top_is_obj = false;
        r->el = EL_ANY;
        r->arr_pos = vs + 1;
        return STEP_AGAIN;
    }
    size_t pos = vs;
    int rc;
    if (p[vs] != '{') {
        err_where(err, NULL, r->rec_no + 1, vs);
        rc = err_set(err, ERR_FORMAT, "expected a JSON object or array, found '%c'",
                     (p[vs] >= 0x20 && p[vs] < 0x7f) ? p[vs] : '?');
    } else {
        rc = walk_object(p, end, &pos, &r->top, true, false, err);
    }
    if (rc != 0) {
        r->rec_no++;
        err_where(err, NULL, r->rec_no, err->offset ? err->offset : vs);
        if (r->mode == M_JSON_LINES) {
            r->lpos = r->lend;
            prefix_line(err, r->line_no);
        } else {
            size_t at = line_resync(p, r->len, vs);
            r->pos = at == NOPOS ? r->len : at;
            if (at == NOPOS)
                append_msg(err, " (cannot resynchronise: the rest of the file is skipped)");
        }
        return rc;
    }
    if (r->top.stop_key >= 0) {
        r->in_arr = true;
        r->arr_first = true;
        r->top_is_obj = true;
        r->arr_pos = r->top.stop_at + 1;
        switch (r->top.stop_key) {
        case K_RECORDS: r->el = EL_CLOUDTRAIL; break;
        case K_EVENTS: r->el = EL_LOOKUP; break;
        default: r->el = EL_MESSAGE; break;
        }
        struct sv mt = span_str(p, r->top.v[K_MSGTYPE], &r->arena);
        if (sv_eq_cstr(mt, "CONTROL_MESSAGE"))
            r->el = EL_SKIP;
        return STEP_AGAIN;
    }
    r->rec_no++;
    if (r->mode == M_JSON_STREAM)
        r->pos = pos;
    else
        r->lpos = pos;
    rc = emit_walked(r, ev, p, &r->top, vs, err);
    if (r->mode == M_JSON_LINES && rc == 0 && !(ev->flags & EVENT_F_ENVELOPE) && vs == r->lstart &&
        skip_ws(p, end, pos) == end)
        r->fast_src = (int)ev->source + 1;
    if (rc > 0 || rc == INPUT_NOTE) {
        if (err->offset == 0)
            err->offset = vs;
        err_where(err, NULL, r->rec_no, err->offset);
        if (r->mode == M_JSON_LINES && rc > 0)
            prefix_line(err, r->line_no);
    }
    return rc;
}

/* ---- API --------------------------------------------------------------- */

static struct input_reader *reader_new(const struct input_options *opt)
{
    struct input_reader *r = xcalloc(1, sizeof(*r));
    if (opt != NULL)
        r->opt = *opt;
    if (r->opt.max_file == 0)
        r->opt.max_file = DEFAULT_MAX_FILE;
    if (r->opt.max_record == 0)
        r->opt.max_record = DEFAULT_MAX_RECORD;
    input__gz_init(&r->gz);
    arena_init(&r->arena, 0);
    json_flat_init(&r->flat);
    buf_init(&r->tmp, r->opt.max_record);
    return r;
}

static int check_options(const struct input_options *opt, struct err *err)
{
    if (opt != NULL && opt->vpcflow_fields != NULL) {
        struct flow_format ff;
        return input__flow_format(&ff, opt->vpcflow_fields, strlen(opt->vpcflow_fields), err);
    }
    return 0;
}

int input_open(const struct input_list *files, const struct input_options *opt,
               struct input_reader **out, struct err *err)
{
    int rc = check_options(opt, err);
    if (rc != 0)
        return rc == ERR_FORMAT ? ERR_USAGE : rc;
    struct input_reader *r = reader_new(opt);
    r->files = files;
    *out = r;
    return 0;
}

int input_open_mem(const char *name, const void *data, size_t len,
                   const struct input_options *opt, struct input_reader **out, struct err *err)
{
    int rc = check_options(opt, err);
    if (rc != 0)
        return rc == ERR_FORMAT ? ERR_USAGE : rc;
    struct input_reader *r = reader_new(opt);
    r->is_mem = true;
    r->mem_pending = true;
    r->mem_name = name ? name : "(memory)";
    r->mem = data;
    r->mem_len = len;
    *out = r;
    return 0;
}

int input_open_stream(const char *name, int fd, const struct input_options *opt,
                      struct input_reader **out, struct err *err)
{
    int rc = check_options(opt, err);
    if (rc != 0)
        return rc == ERR_FORMAT ? ERR_USAGE : rc;
    struct input_reader *r = reader_new(opt);
    r->is_stream = true;
    r->s_fd = fd;
    r->mem_name = name ? name : "-";
    *out = r;
    return 0;
}

void input_reset_mem(struct input_reader *r, const char *name, const void *data, size_t len)
{
    r->is_mem = true;
    r->mem_pending = true;
    r->active = false;
    r->mem_name = name ? name : "(memory)";
    r->mem = data;
    r->mem_len = len;
}

int input_next(struct input_reader *r, struct event *ev, struct err *err)
{
    arena_reset(&r->arena);
    for (;;) {
        err_clear(err);
        int rc;
        if (!r->active) {
            if (r->is_stream && r->s_started)
                return INPUT_END;
            rc = r->is_stream ? stream_open(r, err) : open_next(r, err);
            if (rc == INPUT_END || rc == INPUT_AGAIN)
                return rc;
            if (rc == 0 || rc == STEP_AGAIN)
                continue;
        } else {
            rc = r->mode == M_FLOW                                  ? next_flow(r, ev, err)
                 : r->mode == M_S3ACCESS || r->mode == M_W3C ? next_web(r, ev, err)
                                                             : next_json(r, ev, err);
            if (rc == STEP_AGAIN)
                continue;
            if (rc == STEP_DONE && r->is_stream) {
                rc = stream_refill(r, err);
                if (rc == 0)
                    continue;
                if (rc == INPUT_AGAIN)
                    return rc;
                if (rc == INPUT_END) {
                    r->active = false;
                    return rc;
                }
            } else if (rc == STEP_DONE) {
                r->active = false;
                continue;
            }
        }
        if (rc == 0) {
            r->st.records++;
            return 0;
        }
        err_where(err, r->name, err->record, err->offset);
        if (rc == INPUT_NOTE) {
            err->code = ERR_OK;
            r->st.notes++;
            return INPUT_NOTE;
        }
        err->code = rc;
        r->st.errors++;
        /* A stream never ends on bad records: each costs only itself. */
        if (r->active && !r->is_stream && ++r->file_errors >= MAX_ERRORS_PER_FILE) {
            r->active = false;
            append_msg(err, " (too many bad records: the rest of the file is skipped)");
        }
        return rc;
    }
}

bool input_flow_header(const struct input_reader *r, struct buf *out)
{
    if (!r->active || r->mode != M_FLOW)
        return false;
    struct flow_format v2;
    input__flow_default(&v2);
    bool same = v2.n == r->flow.n;
    for (size_t i = 0; same && i < v2.n; i++)
        same = strcmp(v2.names[i], r->flow.names[i]) == 0;
    if (same)
        return false;
    for (size_t i = 0; i < r->flow.n; i++) {
        if (i > 0)
            buf_putc(out, ' ');
        buf_append_cstr(out, r->flow.names[i]);
    }
    return true;
}

void input_get_stats(const struct input_reader *r, struct input_stats *out)
{
    *out = r->st;
}

void input_close(struct input_reader *r)
{
    if (r == NULL)
        return;
    input__gz_free(&r->gz);
    free(r->raw);
    arena_free(&r->arena);
    json_flat_free(&r->flat);
    buf_free(&r->tmp);
    free(r);
}
