/*
 * Findings: ids, aggregation of detections, details copied from events.
 * See finding.h for the determinism rules this file keeps.
 */
#include "finding/finding_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- ids ------------------------------------------------------------------- */

/* Each field is length-prefixed so ("ab","c") and ("a","bc") never collide. */
static size_t put_field(uint8_t *dst, struct sv s)
{
    uint32_t n = (uint32_t)s.len;
    if (dst != NULL) {
        memcpy(dst, &n, sizeof(n));
        if (s.len)
            memcpy(dst + sizeof(n), s.p, s.len);
    }
    return sizeof(n) + s.len;
}

/* Two independent 64-bit hashes of the fields make GuardDuty's 32 hex digits.
 * Ids are computed for every detection, so short inputs stay on the stack. */
static void hash_fields(const struct sv *fields, size_t n, uint64_t seed_a, uint64_t seed_b,
                        char out[33])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t stack[512];
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += put_field(NULL, fields[i]);
    uint8_t *p = len <= sizeof(stack) ? stack : xmalloc(len);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += put_field(p + at, fields[i]);
    uint64_t h[2] = { hash64(p, len, seed_a), hash64(p, len, seed_b) };
    if (p != stack)
        free(p);
    for (int i = 0; i < 32; i++)
        out[i] = hex[(h[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
    out[32] = '\0';
}

void finding_id(struct sv account, struct sv region, struct sv type, struct sv key, char out[33])
{
    const struct sv f[4] = { account, region, type, key };
    hash_fields(f, 4, 0x76696769c0ffee01ULL, 0x76696769c0ffee02ULL, out);
}

static void detector_id(struct sv account, struct sv region, char out[33])
{
    const struct sv f[3] = { SV("vigil-detector"), account, region };
    hash_fields(f, 3, 0x64657465c7000001ULL, 0x64657465c7000002ULL, out);
}

const char *finding_severity_label(double s)
{
    if (s >= 9.0)
        return "Critical";
    if (s >= 7.0)
        return "High";
    if (s >= 4.0)
        return "Medium";
    return "Low";
}

const char *finding_action_name(enum finding_action a)
{
    switch (a) {
    case FINDING_ACTION_API_CALL: return "AWS_API_CALL";
    case FINDING_ACTION_NETWORK: return "NETWORK_CONNECTION";
    case FINDING_ACTION_DNS: return "DNS_REQUEST";
    case FINDING_ACTION_PORT_PROBE: return "PORT_PROBE";
    }
    return "AWS_API_CALL";
}

/* ---- copying details out of the event --------------------------------------- */

static char *dup_sv(struct sv s)
{
    if (s.p == NULL || s.len == 0)
        return NULL;
    return xstrndup(s.p, s.len);
}

static char *dup_cstr(const char *s) { return s && *s ? xstrdup(s) : NULL; }

/* A leaf as an owned string: strings decoded, numbers as written. Flow logs
 * write "-" for a field they have no value for; that is absent too. */
static char *leaf_dup(const struct event *ev, const char *path)
{
    const struct json_leaf *l = json_flat_get(&ev->flat, path);
    if (l == NULL || (l->type != JSON_STRING && l->type != JSON_NUMBER) || l->val_len == 0)
        return NULL;
    if (l->val_len == 1 && l->val[0] == '-')
        return NULL;
    if (l->type == JSON_STRING && l->escaped) {
        struct buf b;
        buf_init(&b, 0);
        if (json_unescape(l->val, l->val_len, &b) != 0 || b.len == 0) {
            buf_free(&b);
            return NULL;
        }
        return buf_steal(&b);
    }
    return xstrndup(l->val, l->val_len);
}

static int leaf_port(const struct event *ev, const char *path)
{
    const struct json_leaf *l = json_flat_get(&ev->flat, path);
    int64_t v;
    if (l == NULL || (l->type != JSON_STRING && l->type != JSON_NUMBER))
        return -1;
    if (!sv_to_i64(sv_make(l->val, l->val_len), &v) || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

static bool leaf_is(const struct event *ev, const char *path, const char *want)
{
    const struct json_leaf *l = json_flat_get(&ev->flat, path);
    return l != NULL && l->type == JSON_STRING && sv_eq_nocase(sv_make(l->val, l->val_len), sv_cstr(want));
}

static const char *protocol_name(const char *num)
{
    if (num == NULL)
        return NULL;
    if (strcmp(num, "6") == 0)
        return "TCP";
    if (strcmp(num, "17") == 0)
        return "UDP";
    if (strcmp(num, "1") == 0)
        return "ICMP";
    if (strcmp(num, "58") == 0)
        return "ICMPV6";
    return NULL;
}

static bool parse_ip(const char *s, struct ipaddr *a) { return s && ip_parse(sv_cstr(s), a); }

void finding__geo_free(struct finding_geo *g)
{
    char **fields[] = { &g->country_code, &g->country_name, &g->city, &g->asn,
                        &g->asn_org, &g->isp, &g->org };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    g->has_location = false;
    g->lat = g->lon = 0;
}

static void detail_free(struct finding_detail *d)
{
    finding__geo_free(&d->remote_geo);
    char **fields[] = { &d->access_key_id, &d->principal_id, &d->user_name, &d->user_type,
                        &d->api, &d->service_name, &d->error_code, &d->user_agent,
                        &d->caller_domain, &d->remote_ip, &d->instance_id, &d->eni_id,
                        &d->vpc_id, &d->subnet_id, &d->local_ip, &d->protocol,
                        &d->direction, &d->domain, &d->bucket_name };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}

/* The leaves the details read, per source; finding_add_paths hands them to
 * the scanner. Keep them in step with fill_cloudtrail/fill_flow/fill_dns. */
static const char *const ct_paths[] = { "requestParameters.bucketName",
                                        "requestParameters.instanceId",
                                        "requestParameters.instancesSet.items.instanceId", NULL };
static const char *const flow_paths[] = { "srcaddr",      "dstaddr", "srcport",  "dstport",
                                          "protocol",     "action",  "instance-id",
                                          "interface-id", "vpc-id",  "subnet-id",
                                          "flow-direction", NULL };
static const char *const s3access_paths[] = { "operation", "errorcode", "useragent", "remoteip",
                                              "bucket_name", "requester", NULL };
static const char *const dns_paths[] = { "query_name",      "transport", "srcaddr",
                                         "srcport",         "srcids.instance",
                                         "vpc_id",          "firewall_rule_action", NULL };

void finding_add_paths(struct json_pathset *ps, enum event_source src)
{
    const char *const *p = src == EVENT_CLOUDTRAIL ? ct_paths
                           : src == EVENT_VPCFLOW  ? flow_paths
                           : src == EVENT_DNS      ? dns_paths
                           : src == EVENT_S3ACCESS ? s3access_paths
                                                   : NULL;
    for (; p && *p; p++)
        json_pathset_add(ps, *p, strlen(*p));
}

static void fill_cloudtrail(struct finding_detail *d, const struct event *ev)
{
    d->action = FINDING_ACTION_API_CALL;
    d->access_key_id = dup_sv(ev->access_key);
    d->principal_id = dup_sv(ev->principal_id);
    d->user_name = dup_sv(ev->user_name);
    d->user_type = dup_sv(ev->principal_type);
    d->api = dup_sv(ev->event_name);
    d->service_name = dup_sv(ev->event_source);
    d->error_code = dup_sv(ev->error_code);
    d->user_agent = dup_sv(ev->user_agent);
    /* sourceIPAddress is an address, or the service that called on the
     * principal's behalf ("cloudformation.amazonaws.com"): GuardDuty's
     * callerType "Remote IP" versus "Domain". */
    struct ipaddr a;
    if (ev->src_ip.len && ip_parse(ev->src_ip, &a))
        d->remote_ip = dup_sv(ev->src_ip);
    else
        d->caller_domain = dup_sv(ev->src_ip);
    d->bucket_name = leaf_dup(ev, "requestParameters.bucketName");
    d->instance_id = leaf_dup(ev, "requestParameters.instanceId");
    if (d->instance_id == NULL)
        d->instance_id = leaf_dup(ev, "requestParameters.instancesSet.items.instanceId");
}

static void fill_flow(struct finding_detail *d, const struct event *ev, const struct detection *det)
{
    char *src = leaf_dup(ev, "srcaddr"), *dst = leaf_dup(ev, "dstaddr");
    int sport = leaf_port(ev, "srcport"), dport = leaf_port(ev, "dstport");
    d->instance_id = leaf_dup(ev, "instance-id");
    d->eni_id = leaf_dup(ev, "interface-id");
    d->vpc_id = leaf_dup(ev, "vpc-id");
    d->subnet_id = leaf_dup(ev, "subnet-id");
    char *proto = leaf_dup(ev, "protocol");
    const char *pname = protocol_name(proto);
    d->protocol = pname ? xstrdup(pname) : proto;
    if (pname)
        free(proto);
    d->blocked = leaf_is(ev, "action", "REJECT");

    /* Which end is ours: the listed indicator is always the remote one; then
     * the v5 flow-direction field; then which side is private. */
    int inbound = -1;
    struct ipaddr sa, da;
    bool sok = parse_ip(src, &sa), dok = parse_ip(dst, &da);
    if (det->indicator.len && src && sv_eq(det->indicator, sv_cstr(src)))
        inbound = 1;
    else if (det->indicator.len && dst && sv_eq(det->indicator, sv_cstr(dst)))
        inbound = 0;
    else if (leaf_is(ev, "flow-direction", "ingress"))
        inbound = 1;
    else if (leaf_is(ev, "flow-direction", "egress"))
        inbound = 0;
    else if (sok && dok && ip_is_private(&sa) != ip_is_private(&da))
        inbound = ip_is_private(&da) ? 1 : 0;

    if (inbound == 1) {
        d->remote_ip = src;
        d->local_ip = dst;
        d->remote_port = sport;
        d->local_port = dport;
        d->direction = xstrdup("INBOUND");
    } else {
        d->local_ip = src;
        d->remote_ip = dst;
        d->local_port = sport;
        d->remote_port = dport;
        d->direction = xstrdup(inbound == 0 ? "OUTBOUND" : "UNKNOWN");
    }
    if (det->direction != DETECT_DIR_DEFAULT) {
        /* The detector knows who opened the connection; the line's own order
         * (a reply is written server first) does not say. */
        free(d->direction);
        d->direction = xstrdup(det->direction == DETECT_DIR_INBOUND ? "INBOUND" : "OUTBOUND");
    }
    d->action = strstr(det->type ? det->type : "", "PortProbe") ? FINDING_ACTION_PORT_PROBE
                                                                 : FINDING_ACTION_NETWORK;
}

/* An S3 server access log request: the API call it stands for, made by the
 * requester (none: anonymous) from remoteip. */
static void fill_s3access(struct finding_detail *d, const struct event *ev)
{
    d->action = FINDING_ACTION_API_CALL;
    d->api = leaf_dup(ev, "operation");
    d->service_name = xstrdup("s3.amazonaws.com");
    d->error_code = leaf_dup(ev, "errorcode");
    d->user_agent = leaf_dup(ev, "useragent");
    d->remote_ip = leaf_dup(ev, "remoteip");
    d->bucket_name = leaf_dup(ev, "bucket_name");
    d->principal_id = leaf_dup(ev, "requester");
    d->user_type = xstrdup(d->principal_id ? "Requester" : "Anonymous");
}

static void fill_dns(struct finding_detail *d, const struct event *ev)
{
    d->action = FINDING_ACTION_DNS;
    d->domain = leaf_dup(ev, "query_name");
    if (d->domain != NULL) {
        /* Resolver logs write the root dot; GuardDuty's domain has none. */
        size_t n = strlen(d->domain);
        if (n > 1 && d->domain[n - 1] == '.')
            d->domain[n - 1] = '\0';
    }
    d->protocol = leaf_dup(ev, "transport");
    d->local_ip = leaf_dup(ev, "srcaddr");
    d->local_port = leaf_port(ev, "srcport");
    d->instance_id = leaf_dup(ev, "srcids.instance");
    d->vpc_id = leaf_dup(ev, "vpc_id");
    d->blocked = leaf_is(ev, "firewall_rule_action", "BLOCK");
}

static bool looks_like(const char *key, const char *prefix)
{
    return key != NULL && strncmp(key, prefix, strlen(prefix)) == 0;
}

static void fill_detail(struct finding *f, const struct detection *det)
{
    struct finding_detail *d = &f->d;
    const struct event *ev = det->ev;
    detail_free(d);
    d->remote_port = d->local_port = -1;
    d->blocked = false;
    d->source = ev ? ev->source : EVENT_CLOUDTRAIL;
    d->action = FINDING_ACTION_API_CALL;
    if (ev != NULL) {
        switch (ev->source) {
        case EVENT_VPCFLOW: fill_flow(d, ev, det); break;
        case EVENT_DNS: fill_dns(d, ev); break;
        case EVENT_S3ACCESS: fill_s3access(d, ev); break;
        default: fill_cloudtrail(d, ev); break;
        }
    }
    /* The key names the resource when the event does not. */
    switch (f->resource) {
    case DETECT_RES_INSTANCE:
        if (d->instance_id == NULL && looks_like(f->key, "i-"))
            d->instance_id = xstrdup(f->key);
        break;
    case DETECT_RES_S3_BUCKET:
        if (d->bucket_name == NULL)
            d->bucket_name = dup_cstr(f->key);
        break;
    case DETECT_RES_ACCESS_KEY:
        if (d->access_key_id == NULL && (looks_like(f->key, "AKIA") || looks_like(f->key, "ASIA")))
            d->access_key_id = xstrdup(f->key);
        break;
    }
}

/* ---- ordering -------------------------------------------------------------- */

static int cmp_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }

static int cmp_at(int64_t ams, const char *aid, int64_t bms, const char *bid)
{
    if (ams != bms)
        return ams < bms ? -1 : 1;
    return cmp_str(aid, bid);
}

static int cmp_rep(int64_t ams, const char *aid, const char *arule, int64_t bms, const char *bid,
                   const char *brule)
{
    int c = cmp_at(ams, aid, bms, bid);
    return c ? c : cmp_str(arule, brule);
}

static int cmp_sv_str(struct sv a, const char *b)
{
    size_t bl = b ? strlen(b) : 0, n = a.len < bl ? a.len : bl;
    int c = n ? memcmp(a.p, b, n) : 0;
    if (c != 0)
        return c;
    return a.len < bl ? -1 : a.len > bl ? 1 : 0;
}

static int cmp_rep_sv(int64_t ams, struct sv aid, const char *arule, int64_t bms, const char *bid,
                      const char *brule)
{
    if (ams != bms)
        return ams < bms ? -1 : 1;
    int c = cmp_sv_str(aid, bid);
    return c ? c : cmp_str(arule, brule);
}

/* Inserts (ms, id) into the sorted, capped evidence; takes ownership of id. */
static void evidence_insert(struct finding *f, int64_t ms, char *id)
{
    size_t lo = 0, hi = f->n_evidence;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_at(f->evidence_ms[mid], f->evidence[mid], ms, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool dup = lo < f->n_evidence && cmp_at(f->evidence_ms[lo], f->evidence[lo], ms, id) == 0;
    if (dup || lo >= FINDING_EVIDENCE_MAX) {
        free(id);
        return;
    }
    if (f->n_evidence == FINDING_EVIDENCE_MAX) {
        free(f->evidence[FINDING_EVIDENCE_MAX - 1]);
        f->n_evidence--;
    }
    memmove(&f->evidence[lo + 1], &f->evidence[lo], (f->n_evidence - lo) * sizeof(f->evidence[0]));
    memmove(&f->evidence_ms[lo + 1], &f->evidence_ms[lo],
            (f->n_evidence - lo) * sizeof(f->evidence_ms[0]));
    f->evidence[lo] = id;
    f->evidence_ms[lo] = ms;
    f->n_evidence++;
}

static bool evidence_wants(const struct finding *f, int64_t ms, struct sv id)
{
    if (f->n_evidence < FINDING_EVIDENCE_MAX)
        return true;
    int64_t lms = f->evidence_ms[FINDING_EVIDENCE_MAX - 1];
    if (ms != lms)
        return ms < lms;
    return cmp_sv_str(id, f->evidence[FINDING_EVIDENCE_MAX - 1]) < 0;
}

/* ---- aggregation ---------------------------------------------------------------- */

struct finding_agg *finding_agg_new(void)
{
    struct finding_agg *agg = xcalloc(1, sizeof(*agg));
    hmap_init(&agg->map);
    return agg;
}

void finding__free(struct finding *f)
{
    if (f == NULL)
        return;
    detail_free(&f->d);
    char *owned[] = { f->account, f->region, f->type, f->key, f->rule_id, f->title,
                      f->description, f->rep_event_id, f->threat_list, f->indicator,
                      f->list_event_id, f->archived_by };
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        free(owned[i]);
    for (size_t i = 0; i < f->n_evidence; i++)
        free(f->evidence[i]);
    free(f);
}

void finding_agg_free(struct finding_agg *agg)
{
    if (agg == NULL)
        return;
    size_t i = 0;
    struct sv k;
    void *v;
    while (hmap_next(&agg->map, &i, &k, &v))
        finding__free(v);
    hmap_free(&agg->map);
    free(agg);
}

size_t finding_agg_count(const struct finding_agg *agg) { return agg->map.n; }

const struct finding *finding_agg_get(const struct finding_agg *agg, const char *id)
{
    return hmap_get(&agg->map, id, strlen(id));
}

static void set_rep(struct finding *f, const struct detection *d, int64_t ms)
{
    free(f->rule_id);
    free(f->title);
    free(f->description);
    free(f->rep_event_id);
    f->rule_id = dup_cstr(d->rule_id);
    f->title = dup_cstr(d->title);
    f->description = dup_cstr(d->description);
    f->rep_ms = ms;
    f->rep_event_id = d->ev ? dup_sv(d->ev->id) : NULL;
    fill_detail(f, d);
}

struct finding *finding__create(struct finding_agg *agg, struct sv account, struct sv region,
                                const char *type, struct sv key, enum detect_resource res)
{
    char id[33];
    finding_id(account, region, sv_cstr(type ? type : ""), key, id);
    struct finding *f = hmap_get(&agg->map, id, 32);
    if (f != NULL)
        return f;
    f = xcalloc(1, sizeof(*f));
    memcpy(f->id, id, 33);
    detector_id(account, region, f->detector_id);
    f->account = dup_sv(account);
    f->region = dup_sv(region);
    f->type = dup_cstr(type);
    f->key = dup_sv(key);
    f->resource = res;
    f->d.remote_port = f->d.local_port = -1;
    hmap_put(&agg->map, id, 32, f);
    return f;
}

void finding_agg_add(struct finding_agg *agg, const struct detection *d)
{
    const struct event *ev = d->ev;
    struct sv account = ev ? ev->account : SV_NULL, region = ev ? ev->region : SV_NULL;
    struct sv evid = ev ? ev->id : SV_NULL;
    int64_t ms = ev ? ev->time_ms : 0;
    /* Stateful detections span their evidence; the representative is still
     * ordered by its own event. */
    bool span = d->n_events > 0;
    int64_t first = span ? d->first_ms : ms, last = span ? d->last_ms : ms;
    if (first > last) {
        int64_t t = first;
        first = last;
        last = t;
    }
    char id[33];
    finding_id(account, region, sv_cstr(d->type ? d->type : ""), d->key, id);

    struct finding *f = hmap_get(&agg->map, id, 32);
    if (f == NULL) {
        f = xcalloc(1, sizeof(*f));
        memcpy(f->id, id, 33);
        detector_id(account, region, f->detector_id);
        f->account = dup_sv(account);
        f->region = dup_sv(region);
        f->type = dup_cstr(d->type);
        f->key = dup_sv(d->key);
        f->resource = d->resource;
        f->severity = d->severity;
        f->first_ms = first;
        f->last_ms = last;
        f->d.remote_port = f->d.local_port = -1;
        hmap_put(&agg->map, id, 32, f);
        set_rep(f, d, ms);
    } else {
        if (d->severity > f->severity)
            f->severity = d->severity;
        if (first < f->first_ms)
            f->first_ms = first;
        if (last > f->last_ms)
            f->last_ms = last;
        /* The representative is replaced only by an earlier detection,
         * compared in place so the common in-order case copies nothing. */
        if (cmp_rep_sv(ms, evid, d->rule_id, f->rep_ms, f->rep_event_id, f->rule_id) < 0)
            set_rep(f, d, ms);
    }
    f->count++;
    f->events += span ? d->n_events : 1;

    if (d->threat_list != NULL && d->threat_list[0] &&
        (f->threat_list == NULL || cmp_rep_sv(ms, evid, NULL, f->list_ms, f->list_event_id, NULL) < 0)) {
        free(f->threat_list);
        free(f->indicator);
        free(f->list_event_id);
        f->threat_list = xstrdup(d->threat_list);
        f->indicator = dup_sv(d->indicator);
        f->list_ms = ms;
        f->list_event_id = dup_sv(evid);
    }
    if (d->n_evidence > 0) {
        for (size_t i = 0; i < d->n_evidence; i++) {
            const struct detect_evidence *e = &d->evidence[i];
            if (e->id.len && evidence_wants(f, e->ms, e->id))
                evidence_insert(f, e->ms, xstrndup(e->id.p, e->id.len));
        }
    } else if (evid.len && evidence_wants(f, ms, evid)) {
        evidence_insert(f, ms, xstrndup(evid.p, evid.len));
    }
}

/* Folds src into dst (same id) and frees src. */
static void fold(struct finding *dst, struct finding *src)
{
    dst->count += src->count;
    dst->events += src->events;
    if (src->severity > dst->severity)
        dst->severity = src->severity;
    if (src->first_ms < dst->first_ms)
        dst->first_ms = src->first_ms;
    if (src->last_ms > dst->last_ms)
        dst->last_ms = src->last_ms;
    if (cmp_rep(src->rep_ms, src->rep_event_id, src->rule_id, dst->rep_ms, dst->rep_event_id,
                dst->rule_id) < 0) {
        struct finding_detail t = dst->d;
        dst->d = src->d;
        src->d = t;
        char *tr = dst->rule_id, *tt = dst->title, *td = dst->description, *te = dst->rep_event_id;
        dst->rule_id = src->rule_id;
        dst->title = src->title;
        dst->description = src->description;
        dst->rep_event_id = src->rep_event_id;
        dst->rep_ms = src->rep_ms;
        src->rule_id = tr;
        src->title = tt;
        src->description = td;
        src->rep_event_id = te;
    }
    if (src->threat_list != NULL &&
        (dst->threat_list == NULL ||
         cmp_at(src->list_ms, src->list_event_id, dst->list_ms, dst->list_event_id) < 0)) {
        char *a = dst->threat_list, *b = dst->indicator, *c = dst->list_event_id;
        dst->threat_list = src->threat_list;
        dst->indicator = src->indicator;
        dst->list_event_id = src->list_event_id;
        dst->list_ms = src->list_ms;
        src->threat_list = a;
        src->indicator = b;
        src->list_event_id = c;
    }
    for (size_t i = 0; i < src->n_evidence; i++) {
        evidence_insert(dst, src->evidence_ms[i], src->evidence[i]);
        src->evidence[i] = NULL;
    }
    src->n_evidence = 0;
    finding__free(src);
}

void finding_agg_merge(struct finding_agg *dst, struct finding_agg *src)
{
    size_t i = 0;
    struct sv k;
    void *v;
    while (hmap_next(&src->map, &i, &k, &v)) {
        struct finding *f = v, *have = hmap_get(&dst->map, f->id, 32);
        if (have == NULL)
            hmap_put(&dst->map, f->id, 32, f);
        else
            fold(have, f);
    }
    hmap_free(&src->map);
    hmap_init(&src->map);
}

static int cmp_out(const void *pa, const void *pb)
{
    const struct finding *a = *(const struct finding *const *)pa;
    const struct finding *b = *(const struct finding *const *)pb;
    if (a->severity != b->severity)
        return a->severity > b->severity ? -1 : 1;
    if (a->first_ms != b->first_ms)
        return a->first_ms < b->first_ms ? -1 : 1;
    return strcmp(a->id, b->id);
}

const struct finding **finding_agg_sorted(const struct finding_agg *agg, size_t *n_out)
{
    *n_out = 0;
    if (agg->map.n == 0)
        return NULL;
    const struct finding **arr = xmalloc(agg->map.n * sizeof(*arr));
    size_t i = 0, n = 0;
    struct sv k;
    void *v;
    while (hmap_next(&agg->map, &i, &k, &v))
        arr[n++] = v;
    qsort(arr, n, sizeof(*arr), cmp_out);
    *n_out = n;
    return arr;
}
