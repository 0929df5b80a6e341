/*
 * event: the common fields of a normalized event, pulled out of its leaves.
 *
 * One pass over the leaves per event: each leaf's path is compared (length
 * first) against the short list of paths its source defines, so the cost is
 * linear in the number of leaves whatever the record's shape. Only leaves
 * outside arrays count: a common field is never inside an array, and a leaf
 * like resources.accountId must not be taken for one.
 */
#include "event/event.h"

#include <string.h>

static const char *const source_names[EVENT_SOURCE_COUNT] = { "cloudtrail", "vpcflow", "dns",
                                                                "s3access",   "cloudfront", "waf" };

const char *event_source_name(enum event_source s)
{
    if ((unsigned)s >= EVENT_SOURCE_COUNT)
        return "unknown";
    return source_names[s];
}

bool event_source_parse(struct sv name, enum event_source *out)
{
    for (unsigned i = 0; i < EVENT_SOURCE_COUNT; i++) {
        if (sv_eq_cstr(name, source_names[i])) {
            *out = (enum event_source)i;
            return true;
        }
    }
    return false;
}

/* Slots of the CloudTrail table; the order of ct_paths follows it. */
enum {
    CT_TIME,
    CT_ID,
    CT_RECIPIENT,
    CT_UI_ACCOUNT,
    CT_REGION,
    CT_SRCIP,
    CT_EVSOURCE,
    CT_EVNAME,
    CT_ARN,
    CT_TYPE,
    CT_PRINCIPAL,
    CT_KEY,
    CT_USERNAME,
    CT_ISSUER_USERNAME,
    CT_AGENT,
    CT_ERROR,
    CT_CATEGORY,
    CT_EVTYPE,
    CT_INS_SOURCE,
    CT_INS_NAME,
    CT_N
};

struct path {
    const char *s;
    uint32_t len;
};
#define P(s) { s, sizeof(s) - 1 }

static const struct path ct_paths[CT_N] = {
    P("eventTime"),
    P("eventID"),
    P("recipientAccountId"),
    P("userIdentity.accountId"),
    P("awsRegion"),
    P("sourceIPAddress"),
    P("eventSource"),
    P("eventName"),
    P("userIdentity.arn"),
    P("userIdentity.type"),
    P("userIdentity.principalId"),
    P("userIdentity.accessKeyId"),
    P("userIdentity.userName"),
    P("userIdentity.sessionContext.sessionIssuer.userName"),
    P("userAgent"),
    P("errorCode"),
    P("eventCategory"),
    P("eventType"),
    P("insightDetails.eventSource"),
    P("insightDetails.eventName"),
};

enum { FL_START, FL_ACCOUNT, FL_REGION, FL_SRCADDR, FL_N };
static const struct path flow_paths[FL_N] = { P("start"), P("account-id"), P("region"),
                                              P("srcaddr") };

enum { DN_TIME, DN_ACCOUNT, DN_REGION, DN_SRCADDR, DN_N };
static const struct path dns_paths[DN_N] = { P("query_timestamp"), P("account_id"), P("region"),
                                             P("srcaddr") };
enum { WF_TIME, WF_CLIENT, WF_N };
static const struct path waf_paths[WF_N] = { P("timestamp"), P("httpRequest.clientIp") };
#undef P

/* Points found[i] at the first leaf (outside arrays) whose path is paths[i]. */
static void find_leaves(const struct json_flat *f, const struct path *paths, size_t n,
                        const struct json_leaf **found)
{
    for (size_t i = 0; i < n; i++)
        found[i] = NULL;
    size_t left = n;
    for (size_t j = 0; j < f->n && left > 0; j++) {
        const struct json_leaf *l = &f->leaves[j];
        if (l->n_arr != 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (found[i] == NULL && paths[i].len == l->path_len &&
                memcmp(paths[i].s, l->path, l->path_len) == 0) {
                found[i] = l;
                left--;
                break;
            }
        }
    }
}

static const char *type_name(int t)
{
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_FALSE:
    case JSON_TRUE: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    }
    return "?";
}

/* A string field: absent and null give SV_NULL; any other type is an error. */
static int get_str(const struct json_leaf *l, struct arena *arena, struct sv *out, struct err *err)
{
    *out = SV_NULL;
    if (l == NULL || l->type == JSON_NULL)
        return 0;
    if (l->type != JSON_STRING)
        return err_set(err, ERR_FORMAT, "%s is %s, expected a string", l->path, type_name(l->type));
    /* Most values hold no escape: a view, without the call. */
    *out = l->escaped ? json_leaf_str(l, arena) : sv_make(l->val, l->val_len);
    return 0;
}

static int parse_time(const char *what, struct sv s, int64_t *ms, struct err *err)
{
    if (s.p == NULL)
        return 0;
    if (!time_parse_iso8601(s, ms))
        return err_set(err, ERR_FORMAT, "%s \"%.*s\" is not an ISO 8601 time", what,
                       (int)(s.len > 64 ? 64 : s.len), s.p);
    return 0;
}

static struct sv hash_id(struct sv raw, struct arena *arena)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = raw.len;
    /* The same line read from a CRLF file must keep its id. */
    while (len > 0 && (raw.p[len - 1] == '\r' || raw.p[len - 1] == '\n'))
        len--;
    uint64_t h = hash64(raw.p, len, 0x766967696cULL);
    char *s = arena_alloc(arena, 17);
    for (int i = 15; i >= 0; i--) {
        s[i] = hex[h & 15];
        h >>= 4;
    }
    s[16] = '\0';
    return sv_make(s, 16);
}

static void clear_common(struct event *ev)
{
    ev->time_ms = 0;
    ev->id = ev->account = ev->region = ev->src_ip = SV_NULL;
    ev->event_source = ev->event_name = ev->principal_arn = ev->principal_type = SV_NULL;
    ev->principal_id = ev->user_name = ev->access_key = ev->user_agent = SV_NULL;
    ev->error_code = ev->event_category = SV_NULL;
    ev->flags &= ~(EVENT_F_INSIGHT | EVENT_F_CT_ARRAYED);
}

/* The CT_* slot of a CloudTrail path, or -1: what find_leaves would decide
 * with ct_paths, but by length first and with comparisons the compiler
 * inlines, since every record has dozens of leaves to look up. Must list
 * exactly the paths of ct_paths (tests/unit/test_event.c checks each). */
static int ct_slot(const char *p, uint32_t len)
{
#define L(lit) (sizeof(lit) - 1)
#define IS(lit, slot)                                                                  \
    do {                                                                               \
        if (memcmp(p, lit, sizeof(lit) - 1) == 0)                                      \
            return slot;                                                               \
    } while (0)
    /* Case labels are the literals' lengths: L("x") keeps them honest. */
    switch (len) {
    case L("eventID"): IS("eventID", CT_ID); break;
    case L("eventTime"):
        IS("eventTime", CT_TIME);
        IS("eventName", CT_EVNAME);
        IS("awsRegion", CT_REGION);
        IS("userAgent", CT_AGENT);
        IS("errorCode", CT_ERROR);
        IS("eventType", CT_EVTYPE);
        break;
    case L("eventSource"): IS("eventSource", CT_EVSOURCE); break;
    case L("eventCategory"): IS("eventCategory", CT_CATEGORY); break;
    case L("sourceIPAddress"): IS("sourceIPAddress", CT_SRCIP); break;
    case L("userIdentity.arn"): IS("userIdentity.arn", CT_ARN); break;
    case L("userIdentity.type"): IS("userIdentity.type", CT_TYPE); break;
    case L("recipientAccountId"): IS("recipientAccountId", CT_RECIPIENT); break;
    case L("userIdentity.userName"): IS("userIdentity.userName", CT_USERNAME); break;
    case L("userIdentity.accountId"): IS("userIdentity.accountId", CT_UI_ACCOUNT); break;
    case L("userIdentity.principalId"):
        IS("userIdentity.principalId", CT_PRINCIPAL);
        IS("userIdentity.accessKeyId", CT_KEY);
        IS("insightDetails.eventName", CT_INS_NAME);
        break;
    case L("insightDetails.eventSource"): IS("insightDetails.eventSource", CT_INS_SOURCE); break;
    case L("userIdentity.sessionContext.sessionIssuer.userName"):
        IS("userIdentity.sessionContext.sessionIssuer.userName", CT_ISSUER_USERNAME);
        break;
    default: break;
    }
#undef IS
#undef L
    return -1;
}

/* Also says whether a leaf inside an array has one of the paths (see
 * EVENT_F_CT_ARRAYED). */
static bool find_ct_leaves(const struct json_flat *f, const struct json_leaf **found)
{
    bool arrayed = false;
    for (size_t i = 0; i < CT_N; i++)
        found[i] = NULL;
    for (size_t j = 0; j < f->n; j++) {
        const struct json_leaf *l = &f->leaves[j];
        int slot = ct_slot(l->path, l->path_len);
        if (slot < 0)
            continue;
        if (l->n_arr != 0)
            arrayed = true;
        else if (found[slot] == NULL)
            found[slot] = l;
    }
    return arrayed;
}

static int fill_cloudtrail(struct event *ev, struct arena *arena, struct err *err)
{
    const struct json_leaf *f[CT_N];
    struct sv v[CT_N];
    if (find_ct_leaves(&ev->flat, f))
        ev->flags |= EVENT_F_CT_ARRAYED;
    for (int i = 0; i < CT_N; i++) {
        int rc = get_str(f[i], arena, &v[i], err);
        if (rc != 0)
            return rc;
    }
    int rc = parse_time("eventTime", v[CT_TIME], &ev->time_ms, err);
    if (rc != 0)
        return rc;
    if (v[CT_TIME].p == NULL && ev->envelope.time.p != NULL) {
        rc = parse_time("envelope time", ev->envelope.time, &ev->time_ms, err);
        if (rc != 0)
            return rc;
    }
    ev->id = v[CT_ID];
    ev->account = v[CT_RECIPIENT].p ? v[CT_RECIPIENT] : v[CT_UI_ACCOUNT];
    if (ev->account.p == NULL)
        ev->account = ev->envelope.account;
    ev->region = v[CT_REGION].p ? v[CT_REGION] : ev->envelope.region;
    ev->src_ip = v[CT_SRCIP];
    ev->event_source = v[CT_EVSOURCE];
    ev->event_name = v[CT_EVNAME];
    ev->principal_arn = v[CT_ARN];
    ev->principal_type = v[CT_TYPE];
    ev->principal_id = v[CT_PRINCIPAL];
    ev->access_key = v[CT_KEY];
    ev->user_name = v[CT_USERNAME].p ? v[CT_USERNAME] : v[CT_ISSUER_USERNAME];
    ev->user_agent = v[CT_AGENT];
    ev->error_code = v[CT_ERROR];
    ev->event_category = v[CT_CATEGORY];
    if (sv_eq(v[CT_CATEGORY], SV("Insight")) || sv_eq(v[CT_EVTYPE], SV("AwsCloudTrailInsight"))) {
        ev->flags |= EVENT_F_INSIGHT;
        /* An Insights record names the API it is about only in insightDetails;
         * lookups by event name expect to find it there. */
        if (ev->event_source.p == NULL)
            ev->event_source = v[CT_INS_SOURCE];
        if (ev->event_name.p == NULL)
            ev->event_name = v[CT_INS_NAME];
    }
    return 0;
}

static int fill_flow(struct event *ev, struct arena *arena, struct err *err)
{
    const struct json_leaf *f[FL_N];
    find_leaves(&ev->flat, flow_paths, FL_N, f);
    const struct json_leaf *st = f[FL_START];
    if (st != NULL) {
        int64_t secs;
        if (st->type != JSON_NUMBER || !sv_to_i64(sv_make(st->val, st->val_len), &secs) ||
            secs < 0 || secs > INT64_MAX / 1000)
            return err_set(err, ERR_FORMAT, "start \"%.*s\" is not a Unix time in seconds",
                           (int)(st->val_len > 32 ? 32 : st->val_len), st->val);
        ev->time_ms = secs * 1000;
    }
    int rc = get_str(f[FL_ACCOUNT], arena, &ev->account, err);
    if (rc == 0)
        rc = get_str(f[FL_REGION], arena, &ev->region, err);
    if (rc == 0)
        rc = get_str(f[FL_SRCADDR], arena, &ev->src_ip, err);
    if (rc == 0)
        ev->id = hash_id(ev->raw, arena);
    return rc;
}

static int fill_dns(struct event *ev, struct arena *arena, struct err *err)
{
    const struct json_leaf *f[DN_N];
    struct sv t;
    find_leaves(&ev->flat, dns_paths, DN_N, f);
    int rc = get_str(f[DN_TIME], arena, &t, err);
    if (rc == 0)
        rc = parse_time("query_timestamp", t, &ev->time_ms, err);
    if (rc == 0)
        rc = get_str(f[DN_ACCOUNT], arena, &ev->account, err);
    if (rc == 0)
        rc = get_str(f[DN_REGION], arena, &ev->region, err);
    if (rc == 0)
        rc = get_str(f[DN_SRCADDR], arena, &ev->src_ip, err);
    if (rc == 0)
        ev->id = hash_id(ev->raw, arena);
    return rc;
}

static const struct json_leaf *leaf_at(const struct event *ev, const char *path)
{
    return json_flat_get(&ev->flat, path);
}

static struct sv leaf_sv(const struct json_leaf *l)
{
    return l != NULL && l->type == JSON_STRING ? sv_make(l->val, l->val_len) : SV_NULL;
}

/* "06/Feb/2019:00:00:38 +0000" (the brackets already stripped). */
static bool parse_clf_time(struct sv s, int64_t *ms)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (s.len < 26 || s.p[2] != '/' || s.p[6] != '/' || s.p[11] != ':' || s.p[20] != ' ')
        return false;
    int mo = 0;
    for (int i = 0; i < 12; i++)
        if (memcmp(s.p + 3, months + 3 * i, 3) == 0)
            mo = i + 1;
    char iso[32];
    if (mo == 0)
        return false;
    /* yyyy-mm-ddTHH:MM:SS+hh:mm for the ISO parser */
    memcpy(iso, s.p + 7, 4);
    iso[4] = '-';
    iso[5] = (char)('0' + mo / 10);
    iso[6] = (char)('0' + mo % 10);
    iso[7] = '-';
    memcpy(iso + 8, s.p, 2);
    iso[10] = 'T';
    memcpy(iso + 11, s.p + 12, 8);
    iso[19] = s.p[21];
    memcpy(iso + 20, s.p + 22, 2);
    iso[22] = ':';
    memcpy(iso + 23, s.p + 24, 2);
    return time_parse_iso8601(sv_make(iso, 25), ms);
}

static int fill_web(struct event *ev, struct arena *arena, struct err *err)
{
    int64_t ms = 0;
    if (ev->source == EVENT_S3ACCESS) {
        struct sv t = leaf_sv(leaf_at(ev, "requestdatetime"));
        if (t.p == NULL || !parse_clf_time(t, &ms))
            return err_set(err, ERR_FORMAT, "S3 access log time \"%.*s\" is not "
                           "dd/Mon/yyyy:HH:MM:SS +hhmm", (int)(t.len > 40 ? 40 : t.len),
                           t.p ? t.p : "");
        ev->src_ip = leaf_sv(leaf_at(ev, "remoteip"));
    } else if (ev->source == EVENT_CLOUDFRONT) {
        struct sv d = leaf_sv(leaf_at(ev, "date")), t = leaf_sv(leaf_at(ev, "time"));
        char iso[40];
        if (d.len != 10 || t.len < 8 || t.len > 12)
            return err_set(err, ERR_FORMAT, "CloudFront record without a date and time");
        memcpy(iso, d.p, 10);
        iso[10] = 'T';
        memcpy(iso + 11, t.p, t.len);
        iso[11 + t.len] = 'Z';
        if (!time_parse_iso8601(sv_make(iso, 12 + t.len), &ms))
            return err_set(err, ERR_FORMAT, "CloudFront date/time \"%.10s %.*s\" does not parse",
                           d.p, (int)t.len, t.p);
        ev->src_ip = leaf_sv(leaf_at(ev, "c-ip"));
    } else {
        const struct json_leaf *f[WF_N];
        find_leaves(&ev->flat, waf_paths, WF_N, f);
        if (f[WF_TIME] == NULL || f[WF_TIME]->type != JSON_NUMBER ||
            !sv_to_i64(sv_make(f[WF_TIME]->val, f[WF_TIME]->val_len), &ms) || ms < 0)
            return err_set(err, ERR_FORMAT, "WAF log record without a numeric timestamp");
        int rc = get_str(f[WF_CLIENT], arena, &ev->src_ip, err);
        if (rc != 0)
            return rc;
    }
    ev->time_ms = ms;
    ev->id = hash_id(ev->raw, arena);
    return 0;
}

int event_fill_common(struct event *ev, struct arena *arena, struct err *err)
{
    clear_common(ev);
    switch (ev->source) {
    case EVENT_CLOUDTRAIL: return fill_cloudtrail(ev, arena, err);
    case EVENT_VPCFLOW: return fill_flow(ev, arena, err);
    case EVENT_DNS: return fill_dns(ev, arena, err);
    case EVENT_S3ACCESS:
    case EVENT_CLOUDFRONT:
    case EVENT_WAF: return fill_web(ev, arena, err);
    default: break;
    }
    return err_set(err, ERR_INTERNAL, "event source %d unknown", (int)ev->source);
}

struct sv event_get_str(const struct event *ev, const char *path, struct arena *arena)
{
    const struct json_leaf *l = json_flat_get(&ev->flat, path);
    if (l == NULL || l->type != JSON_STRING)
        return SV_NULL;
    return json_leaf_str(l, arena);
}

void event_add_common_paths(struct json_pathset *ps)
{
    for (int i = 0; i < CT_N; i++)
        json_pathset_add(ps, ct_paths[i].s, ct_paths[i].len);
    for (int i = 0; i < FL_N; i++)
        json_pathset_add(ps, flow_paths[i].s, flow_paths[i].len);
    for (int i = 0; i < DN_N; i++)
        json_pathset_add(ps, dns_paths[i].s, dns_paths[i].len);
    for (int i = 0; i < WF_N; i++)
        json_pathset_add(ps, waf_paths[i].s, waf_paths[i].len);
}
