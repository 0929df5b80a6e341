/*
 * Game-day runs: the collector that files generated records as AWS delivers
 * them, and the writer of the logs, lists, GeoIP databases and ground truth.
 *
 * Files are one per source and hour (CloudTrail per account and region, flow
 * logs per account, region and flow log, Resolver logs per account and VPC),
 * named and placed exactly as the S3 delivery names them. CloudTrail records
 * inside a file are shuffled, as CloudTrail delivers them unordered; flow and
 * Resolver records are sorted by time.
 */
#include "sim/sim_int.h"

#include <dirent.h>
#include <errno.h>
#include <libdeflate.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DAY_MS 1795132800000LL /* 2026-11-20T00:00:00Z */
#define DEFAULT_SEED 0x76696769c0de2026ULL

enum src { SRC_CT = 0, SRC_FLOW, SRC_DNS };

struct rec {
    int64_t ms;
    uint64_t seq;
    char *text;
};

struct file {
    enum src src;
    const char *account, *where; /* region (CloudTrail, flows) or VPC (DNS) */
    int64_t hour;                /* ms of the hour's start */
    struct rec *v;
    size_t n, cap;
};

struct place {
    const char *cidr, *cc, *city, *org;
    double lat, lon;
    unsigned asn;
};

struct sim_ctx {
    const struct sim_scenario_def *def;
    struct sim_options opt;
    int64_t day0;
    int history;
    struct sim_rng rng; /* the attack's stream */
    struct sim_rng ids; /* event ids, request ids */
    struct arena arena;
    struct hmap file_index; /* key -> struct file * */
    struct file **files;
    size_t n_files, cap_files;
    uint64_t seq;
    struct buf lists[SIM_LIST_COUNT];
    struct sim_expect *exp;
    size_t n_exp, cap_exp;
    struct place *places;
    size_t n_places, cap_places;
    const char **args;
    size_t n_args;
    const char **opt_args; /* triples: needs, flag, value */
    size_t n_opt_args;
    size_t records[3];
};

/* ---- random numbers ------------------------------------------------------------------- */

uint64_t sim__next(struct sim_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct sim_rng sim__stream(uint64_t seed, const char *name, uint64_t n)
{
    struct sim_rng r = { hash64(name, strlen(name), seed) ^ (n * 0xd6e8feb86659fd93ULL) };
    sim__next(&r);
    return r;
}

uint32_t sim__below(struct sim_rng *r, uint32_t n)
{
    return (uint32_t)(((sim__next(r) >> 32) * (uint64_t)n) >> 32);
}

uint32_t sim__range(struct sim_rng *r, uint32_t lo, uint32_t hi) { return lo + sim__below(r, hi - lo + 1); }

double sim__unit(struct sim_rng *r) { return (double)(sim__next(r) >> 11) * 0x1.0p-53; }

bool sim__chance(struct sim_rng *r, double p) { return sim__unit(r) < p; }

void sim__chars(struct sim_rng *r, const char *alphabet, size_t n, char *out)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[sim__below(r, (uint32_t)k)];
    out[n] = '\0';
}

void sim__uuid(struct sim_rng *r, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = sim__next(r), b = sim__next(r);
    int k = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[k++] = '-';
        unsigned nib = (unsigned)((i < 16 ? a >> (60 - 4 * i) : b >> (60 - 4 * (i - 16))) & 0xf);
        if (i == 12)
            nib = 4; /* version 4 */
        if (i == 16)
            nib = 8 | (nib & 3); /* variant 10xx */
        out[k++] = hex[nib];
    }
    out[k] = '\0';
}

/* ---- context ------------------------------------------------------------------------------ */

struct sim_rng *sim__rng(struct sim_ctx *c) { return &c->rng; }
int64_t sim__day0(const struct sim_ctx *c) { return c->day0; }
int sim__history(const struct sim_ctx *c) { return c->history; }

const char *sim__fmt(struct sim_ctx *c, const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    buf_init(&b, 0);
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *s = arena_strndup(&c->arena, b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

static const char *keep(struct sim_ctx *c, const char *s)
{
    return s ? arena_strndup(&c->arena, s, strlen(s)) : NULL;
}

static struct file *file_for(struct sim_ctx *c, enum src src, const char *account, const char *where,
                             int64_t ms)
{
    int64_t hour = ms - ((ms % SIM_HOUR) + SIM_HOUR) % SIM_HOUR;
    char key[160];
    snprintf(key, sizeof(key), "%d|%s|%s|%lld", (int)src, account, where, (long long)hour);
    struct file *f = hmap_get(&c->file_index, key, strlen(key));
    if (f != NULL)
        return f;
    f = xcalloc(1, sizeof(*f));
    f->src = src;
    f->account = keep(c, account);
    f->where = keep(c, where);
    f->hour = hour;
    hmap_put(&c->file_index, key, strlen(key), f);
    if (c->n_files == c->cap_files) {
        c->cap_files = c->cap_files ? 2 * c->cap_files : 64;
        c->files = xrealloc(c->files, c->cap_files * sizeof(*c->files));
    }
    c->files[c->n_files++] = f;
    return f;
}

static void file_add(struct sim_ctx *c, struct file *f, int64_t ms, struct buf *text)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
    }
    f->v[f->n++] = (struct rec){ ms, c->seq++, buf_steal(text) };
    c->records[f->src]++;
}

/* ---- CloudTrail ----------------------------------------------------------------------------- */

static void kv(struct json_writer *w, const char *k, const char *v)
{
    jw_key(w, k);
    if (v)
        jw_str(w, v);
    else
        jw_null(w);
}

static void raw(struct json_writer *w, const char *k, const char *json)
{
    jw_key(w, k);
    if (json)
        jw_raw(w, sv_cstr(json));
    else
        jw_null(w);
}

static void iso(int64_t ms, char out[32]) { time_format_iso8601(ms - ms % 1000, false, out); }

static void user_identity(struct json_writer *w, const struct sim_identity *id)
{
    char when[32];
    jw_key(w, "userIdentity");
    jw_object_begin(w);
    switch (id->type) {
    case SIM_ID_ANON:
        kv(w, "type", "AWSAccount");
        kv(w, "principalId", "");
        kv(w, "accountId", "anonymous");
        break;
    case SIM_ID_SERVICE:
        kv(w, "type", "AWSService");
        kv(w, "invokedBy", id->name);
        break;
    case SIM_ID_ROOT:
    case SIM_ID_USER: {
        struct buf arn;
        buf_init(&arn, 0);
        bool root = id->type == SIM_ID_ROOT;
        if (root)
            buf_printf(&arn, "arn:aws:iam::%s:root", id->account);
        else
            buf_printf(&arn, "arn:aws:iam::%s:user/%s", id->account, id->name);
        kv(w, "type", root ? "Root" : "IAMUser");
        kv(w, "principalId", id->principal_id);
        kv(w, "arn", arn.p);
        kv(w, "accountId", id->account);
        if (id->access_key[0])
            kv(w, "accessKeyId", id->access_key);
        if (!root)
            kv(w, "userName", id->name);
        if (id->console) {
            iso(id->session_ms, when);
            jw_key(w, "sessionContext");
            jw_object_begin(w);
            jw_key(w, "sessionIssuer");
            jw_object_begin(w);
            jw_object_end(w);
            jw_key(w, "webIdFederationData");
            jw_object_begin(w);
            jw_object_end(w);
            jw_key(w, "attributes");
            jw_object_begin(w);
            kv(w, "creationDate", when);
            kv(w, "mfaAuthenticated", id->mfa ? "true" : "false");
            jw_object_end(w);
            jw_object_end(w);
        }
        buf_free(&arn);
        break;
    }
    case SIM_ID_ROLE: {
        struct buf arn, role;
        buf_init(&arn, 0);
        buf_init(&role, 0);
        buf_printf(&arn, "arn:aws:sts::%s:assumed-role/%s/%s", id->account, id->name, id->session);
        buf_printf(&role, "arn:aws:iam::%s:role/%s", id->account, id->name);
        const char *colon = strchr(id->principal_id, ':');
        char role_id[64];
        snprintf(role_id, sizeof(role_id), "%.*s",
                 (int)(colon ? (size_t)(colon - id->principal_id) : strlen(id->principal_id)),
                 id->principal_id);
        kv(w, "type", "AssumedRole");
        kv(w, "principalId", id->principal_id);
        kv(w, "arn", arn.p);
        kv(w, "accountId", id->account);
        kv(w, "accessKeyId", id->access_key);
        jw_key(w, "sessionContext");
        jw_object_begin(w);
        jw_key(w, "sessionIssuer");
        jw_object_begin(w);
        kv(w, "type", "Role");
        kv(w, "principalId", role_id);
        kv(w, "arn", role.p);
        kv(w, "accountId", id->account);
        kv(w, "userName", id->name);
        jw_object_end(w);
        jw_key(w, "webIdFederationData");
        jw_object_begin(w);
        jw_object_end(w);
        jw_key(w, "attributes");
        jw_object_begin(w);
        iso(id->session_ms, when);
        kv(w, "creationDate", when);
        kv(w, "mfaAuthenticated", id->mfa ? "true" : "false");
        jw_object_end(w);
        if (id->ec2_role)
            kv(w, "ec2RoleDelivery", "2.0");
        jw_object_end(w);
        buf_free(&arn);
        buf_free(&role);
        break;
    }
    }
    jw_object_end(w);
}

/* The endpoint a client names in TLS: "iam.amazonaws.com" is global, the
 * others are regional. */
static void host_header(const char *source, const char *region, char *out, size_t cap)
{
    size_t n = strcspn(source, ".");
    if (strncmp(source, "iam.", 4) == 0 || strncmp(source, "signin.", 7) == 0)
        snprintf(out, cap, "%s", source);
    else
        snprintf(out, cap, "%.*s.%s.amazonaws.com", (int)n, source, region);
}

void sim__ct(struct sim_ctx *c, const struct sim_ct *r)
{
    const char *region = r->region ? r->region : SIM_REGION;
    const char *account = r->recipient ? r->recipient
                          : r->who->type == SIM_ID_ANON || r->who->type == SIM_ID_SERVICE
                              ? SIM_ACCOUNT
                              : r->who->account;
    char when[32], id[37], req_id[37];
    iso(r->ms, when);
    sim__uuid(&c->ids, id);
    sim__uuid(&c->ids, req_id);
    bool signin = strcmp(r->event_source, "signin.amazonaws.com") == 0;
    if (!signin)
        for (char *p = req_id; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');

    struct buf b;
    struct json_writer w;
    buf_init(&b, 0);
    jw_init(&w, &b, 0);
    jw_object_begin(&w);
    kv(&w, "eventVersion", signin ? "1.09" : "1.10");
    user_identity(&w, r->who);
    kv(&w, "eventTime", when);
    kv(&w, "eventSource", r->event_source);
    kv(&w, "eventName", r->event_name);
    kv(&w, "awsRegion", region);
    kv(&w, "sourceIPAddress", r->ip);
    kv(&w, "userAgent", r->ua);
    if (r->error_code) {
        kv(&w, "errorCode", r->error_code);
        if (r->error_message)
            kv(&w, "errorMessage", r->error_message);
    }
    raw(&w, "requestParameters", r->req);
    raw(&w, "responseElements", r->resp);
    if (r->additional)
        raw(&w, "additionalEventData", r->additional);
    kv(&w, "requestID", req_id);
    kv(&w, "eventID", id);
    jw_key(&w, "readOnly");
    jw_bool(&w, r->read_only);
    if (r->resources)
        raw(&w, "resources", r->resources);
    kv(&w, "eventType", r->event_type ? r->event_type : signin ? "AwsConsoleSignIn" : "AwsApiCall");
    jw_key(&w, "managementEvent");
    jw_bool(&w, !r->data);
    kv(&w, "recipientAccountId", account);
    kv(&w, "eventCategory", r->data ? "Data" : "Management");
    if (!signin && r->who->type != SIM_ID_SERVICE) {
        char host[128];
        host_header(r->event_source, region, host, sizeof(host));
        jw_key(&w, "tlsDetails");
        jw_object_begin(&w);
        kv(&w, "tlsVersion", "TLSv1.3");
        kv(&w, "cipherSuite", "TLS_AES_128_GCM_SHA256");
        kv(&w, "clientProvidedHostHeader", host);
        jw_object_end(&w);
    }
    if (r->who->console && !signin)
        kv(&w, "sessionCredentialFromConsole", "true");
    jw_object_end(&w);
    file_add(c, file_for(c, SRC_CT, account, region, r->ms), r->ms, &b);
}

/* ---- flows -------------------------------------------------------------------------------------- */

static const char FLOW_HEADER[] =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start "
    "end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr "
    "region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service "
    "flow-direction traffic-path";

static bool is_private(const char *ip)
{
    struct ipaddr a;
    /* The documentation ranges are the simulated internet here, so only the
     * VPC's own 10/8 counts as inside. */
    return ip_parse(sv_cstr(ip), &a) && a.v4 && a.b[12] == 10;
}

void sim__flow(struct sim_ctx *c, const struct sim_flow *f)
{
    int64_t start = f->ms / 1000;
    int64_t end = start + (f->secs > 0 ? f->secs : 60);
    bool tcp_udp = f->proto == 6 || f->proto == 17;
    const char *path = "-";
    if (!f->ingress)
        path = is_private(f->src) && is_private(f->dst) ? "1" : "8";
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "5 %s %s %s %s %d %d %d %llu %llu %lld %lld %s OK %s %s %s %d IPv4 %s %s %s %s - - %s %s %s %s",
               SIM_ACCOUNT, f->in->eni, f->src, f->dst, tcp_udp ? f->sport : 0,
               tcp_udp ? f->dport : 0, f->proto, (unsigned long long)f->packets,
               (unsigned long long)f->bytes, (long long)start, (long long)end,
               f->reject ? "REJECT" : "ACCEPT", SIM_VPC, f->in->subnet, f->in->id,
               f->proto == 6 ? f->tcp_flags : 0, f->src, f->dst, SIM_REGION, f->in->az,
               f->src_service ? f->src_service : "-", f->dst_service ? f->dst_service : "-",
               f->ingress ? "ingress" : "egress", path);
    file_add(c, file_for(c, SRC_FLOW, SIM_ACCOUNT, SIM_REGION, f->ms), f->ms, &b);
}

void sim__conn(struct sim_ctx *c, const struct sim_flow *f)
{
    struct sim_flow req = *f;
    if (req.tcp_flags == 0 && req.proto == 6)
        req.tcp_flags = f->reject ? 2 : 3; /* SYN; SYN+FIN */
    sim__flow(c, &req);
    if (f->reject)
        return;
    struct sim_flow rep = *f;
    rep.src = f->dst;
    rep.dst = f->src;
    rep.sport = f->dport;
    rep.dport = f->sport;
    rep.ingress = !f->ingress;
    rep.src_service = f->dst_service;
    rep.dst_service = f->src_service;
    rep.tcp_flags = f->proto == 6 ? 19 : 0; /* SYN+ACK+FIN */
    /* Replies are about as many packets; the bytes go the other way. */
    rep.bytes = f->bytes / 4 + 40 * f->packets;
    sim__flow(c, &rep);
}

/* ---- DNS ------------------------------------------------------------------------------------------ */

void sim__dns(struct sim_ctx *c, const struct sim_dns *d)
{
    char when[32], port[8], name[300];
    iso(d->ms, when);
    snprintf(port, sizeof(port), "%u", 32768 + (unsigned)(sim__next(&c->ids) % 28000));
    snprintf(name, sizeof(name), "%s.", d->name);
    struct buf b;
    struct json_writer w;
    buf_init(&b, 0);
    jw_init(&w, &b, 0);
    jw_object_begin(&w);
    kv(&w, "version", "1.100000");
    kv(&w, "account_id", SIM_ACCOUNT);
    kv(&w, "region", SIM_REGION);
    kv(&w, "vpc_id", SIM_VPC);
    kv(&w, "query_timestamp", when);
    kv(&w, "query_name", name);
    kv(&w, "query_type", d->qtype ? d->qtype : "A");
    kv(&w, "query_class", "IN");
    kv(&w, "rcode", d->rcode ? d->rcode : "NOERROR");
    jw_key(&w, "answers");
    jw_array_begin(&w);
    if (d->answer) {
        jw_object_begin(&w);
        kv(&w, "Rdata", d->answer);
        kv(&w, "Type", d->answer_type ? d->answer_type : d->qtype ? d->qtype : "A");
        kv(&w, "Class", "IN");
        jw_object_end(&w);
    }
    jw_array_end(&w);
    kv(&w, "srcaddr", d->in->private_ip);
    kv(&w, "srcport", port);
    kv(&w, "transport", "UDP");
    jw_key(&w, "srcids");
    jw_object_begin(&w);
    kv(&w, "instance", d->in->id);
    jw_object_end(&w);
    jw_object_end(&w);
    file_add(c, file_for(c, SRC_DNS, SIM_ACCOUNT, SIM_VPC, d->ms), d->ms, &b);
}

/* ---- expectations, lists, places --------------------------------------------------------------------- */

void sim__expect(struct sim_ctx *c, const struct sim_expect *e)
{
    if (c->n_exp == c->cap_exp) {
        c->cap_exp = c->cap_exp ? 2 * c->cap_exp : 16;
        c->exp = xrealloc(c->exp, c->cap_exp * sizeof(*c->exp));
    }
    struct sim_expect k = *e;
    k.type = keep(c, e->type);
    k.resource = keep(c, e->resource);
    k.key = keep(c, e->key);
    k.remote_ip = keep(c, e->remote_ip);
    k.domain = keep(c, e->domain);
    k.why = keep(c, e->why);
    c->exp[c->n_exp++] = k;
}

void sim__list(struct sim_ctx *c, enum sim_list l, const char *entry, const char *comment)
{
    if (comment)
        buf_printf(&c->lists[l], "# %s\n", comment);
    buf_printf(&c->lists[l], "%s\n", entry);
}

void sim__place(struct sim_ctx *c, const char *cidr, const char *cc, const char *city, double lat,
                double lon, unsigned asn, const char *org)
{
    if (c->n_places == c->cap_places) {
        c->cap_places = c->cap_places ? 2 * c->cap_places : 32;
        c->places = xrealloc(c->places, c->cap_places * sizeof(*c->places));
    }
    c->places[c->n_places++] =
        (struct place){ keep(c, cidr), keep(c, cc), keep(c, city), keep(c, org), lat, lon, asn };
}

void sim__opt_arg(struct sim_ctx *c, const char *needs, const char *flag, const char *value)
{
    c->opt_args = xrealloc(c->opt_args, (c->n_opt_args + 3) * sizeof(*c->opt_args));
    c->opt_args[c->n_opt_args++] = keep(c, needs);
    c->opt_args[c->n_opt_args++] = keep(c, flag);
    c->opt_args[c->n_opt_args++] = keep(c, value);
}

void sim__arg(struct sim_ctx *c, const char *flag, const char *value)
{
    c->args = xrealloc(c->args, (c->n_args + 2) * sizeof(*c->args));
    c->args[c->n_args++] = keep(c, flag);
    c->args[c->n_args++] = keep(c, value);
}

/* ---- writing ------------------------------------------------------------------------------------------- */

static int mkdirs(const char *path, struct err *err)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof(tmp))
        return err_set(err, ERR_LIMIT, "path too long: %s", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char keep_c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            err_where(err, tmp, 0, 0);
            return err_set(err, ERR_IO, "cannot create directory: %s", strerror(errno));
        }
        tmp[i] = keep_c;
    }
    return 0;
}

static int write_bytes(const char *path, const void *p, size_t len, struct err *err)
{
    FILE *f = fopen(path, "wb");
    int rc = 0;
    if (f == NULL || (len > 0 && fwrite(p, 1, len, f) != len))
        rc = ERR_IO;
    if (f != NULL && fclose(f) != 0)
        rc = ERR_IO;
    if (rc != 0) {
        err_where(err, path, 0, 0);
        return err_set(err, ERR_IO, "cannot write: %s", strerror(errno));
    }
    return 0;
}

static int write_gz(struct libdeflate_compressor *z, const char *path, const struct buf *b,
                    struct err *err)
{
    size_t cap = libdeflate_gzip_compress_bound(z, b->len);
    void *out = xmalloc(cap);
    size_t n = libdeflate_gzip_compress(z, b->p ? b->p : "", b->len, out, cap);
    int rc = n == 0 ? err_set(err, ERR_INTERNAL, "gzip failed for %s", path)
                    : write_bytes(path, out, n, err);
    free(out);
    return rc;
}

static int cmp_rec_time(const void *x, const void *y)
{
    const struct rec *a = x, *b = y;
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_file(const void *x, const void *y)
{
    const struct file *a = *(struct file *const *)x, *b = *(struct file *const *)y;
    if (a->src != b->src)
        return (int)a->src - (int)b->src;
    int k = strcmp(a->account, b->account);
    if (k == 0)
        k = strcmp(a->where, b->where);
    if (k != 0)
        return k;
    return a->hour < b->hour ? -1 : a->hour > b->hour;
}

static int write_file(struct sim_ctx *c, struct libdeflate_compressor *z, struct file *f,
                      struct err *err)
{
    char day[32], stamp[32];
    int64_t delivered = f->hour + 55 * SIM_MIN;
    time_format_iso8601(f->hour, false, day); /* YYYY-MM-DDT... */
    time_format_iso8601(delivered, false, stamp);
    /* "YYYYMMDDTHHMMZ" */
    char ts[16];
    snprintf(ts, sizeof(ts), "%.4s%.2s%.2sT%.2s%.2sZ", stamp, stamp + 5, stamp + 8, stamp + 11,
             stamp + 14);
    struct sim_rng name_rng = sim__stream(c->opt.seed, "file", (uint64_t)f->hour + 7919u * f->src);
    char suffix[20];
    struct buf path, body;
    buf_init(&path, 0);
    buf_init(&body, 0);
    const char *kind = f->src == SRC_CT ? "CloudTrail" : f->src == SRC_FLOW ? "vpcflowlogs" : "vpcdnsquerylogs";
    buf_printf(&path, "%s/AWSLogs/%s/%s/%s/%.4s/%.2s/%.2s", c->opt.out_dir, f->account, kind,
               f->where, day, day + 5, day + 8);
    int rc = mkdirs(path.p, err);
    if (f->src == SRC_CT) {
        sim__chars(&name_rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16, suffix);
        buf_printf(&path, "/%s_CloudTrail_%s_%s_%s.json.gz", f->account, f->where, ts, suffix);
        /* CloudTrail delivers the records of a file in no particular order. */
        for (size_t i = f->n; i > 1; i--) {
            size_t j = sim__below(&name_rng, (uint32_t)i);
            struct rec t = f->v[i - 1];
            f->v[i - 1] = f->v[j];
            f->v[j] = t;
        }
        buf_append_cstr(&body, "{\"Records\":[");
        for (size_t i = 0; i < f->n; i++) {
            if (i)
                buf_putc(&body, ',');
            buf_append_cstr(&body, f->v[i].text);
        }
        buf_append_cstr(&body, "]}");
    } else {
        sim__chars(&name_rng, "0123456789abcdef", 8, suffix);
        if (f->src == SRC_FLOW)
            buf_printf(&path, "/%s_vpcflowlogs_%s_%s_%s_%s.log.gz", f->account, f->where,
                       SIM_FLOW_LOG, ts, suffix);
        else
            buf_printf(&path, "/%s_vpcdnsquerylogs_%s_%s_%s.log.gz", f->account, f->where, ts,
                       suffix);
        qsort(f->v, f->n, sizeof(*f->v), cmp_rec_time);
        if (f->src == SRC_FLOW) {
            buf_append_cstr(&body, FLOW_HEADER);
            buf_putc(&body, '\n');
        }
        for (size_t i = 0; i < f->n; i++) {
            buf_append_cstr(&body, f->v[i].text);
            buf_putc(&body, '\n');
        }
    }
    if (rc == 0)
        rc = write_gz(z, path.p, &body, err);
    buf_free(&path);
    buf_free(&body);
    return rc;
}

static int write_geo(struct sim_ctx *c, const char *dir, struct err *err)
{
    struct sim_mmdb *city = sim_mmdb_new("GeoLite2-City");
    struct sim_mmdb *asn = sim_mmdb_new("GeoLite2-ASN");
    int rc = 0;
    for (size_t i = 0; i < c->n_places && rc == 0; i++) {
        const struct place *p = &c->places[i];
        struct buf j;
        struct json_writer w;
        buf_init(&j, 0);
        jw_init(&w, &j, 0);
        jw_object_begin(&w);
        jw_key(&w, "city");
        jw_object_begin(&w);
        jw_key(&w, "names");
        jw_object_begin(&w);
        kv(&w, "en", p->city);
        jw_object_end(&w);
        jw_object_end(&w);
        jw_key(&w, "country");
        jw_object_begin(&w);
        kv(&w, "iso_code", p->cc);
        jw_object_end(&w);
        jw_key(&w, "location");
        jw_object_begin(&w);
        /* Always with a fraction, so the writer stores doubles as MaxMind does. */
        char num[48];
        snprintf(num, sizeof(num), "%.4f", p->lat);
        jw_key(&w, "latitude");
        jw_raw(&w, sv_cstr(num));
        snprintf(num, sizeof(num), "%.4f", p->lon);
        jw_key(&w, "longitude");
        jw_raw(&w, sv_cstr(num));
        jw_object_end(&w);
        jw_object_end(&w);
        rc = sim_mmdb_insert(city, p->cidr, j.p, err);
        buf_reset(&j);
        jw_init(&w, &j, 0);
        jw_object_begin(&w);
        jw_key(&w, "autonomous_system_number");
        jw_int(&w, p->asn);
        kv(&w, "autonomous_system_organization", p->org);
        jw_object_end(&w);
        if (rc == 0)
            rc = sim_mmdb_insert(asn, p->cidr, j.p, err);
        buf_free(&j);
    }
    struct buf path;
    buf_init(&path, 0);
    buf_printf(&path, "%s/city.mmdb", dir);
    if (rc == 0)
        rc = sim_mmdb_write(city, path.p, err);
    buf_reset(&path);
    buf_printf(&path, "%s/asn.mmdb", dir);
    if (rc == 0)
        rc = sim_mmdb_write(asn, path.p, err);
    buf_free(&path);
    sim_mmdb_free(city);
    sim_mmdb_free(asn);
    return rc;
}

/* AWS's ip-ranges.json shape, with the prefixes the world uses. */
static int write_aws_ranges(struct sim_ctx *c, struct err *err)
{
    static const struct {
        const char *prefix, *service;
    } RANGES[] = {
        { "3.80.0.0/12", "AMAZON" },    { "3.80.0.0/12", "EC2" },
        { "18.204.0.0/14", "AMAZON" },  { "18.204.0.0/14", "EC2" },
        { "52.216.0.0/15", "AMAZON" },  { "52.216.0.0/15", "S3" },
        { "52.94.0.0/22", "AMAZON" },   { "54.239.0.0/17", "AMAZON" },
    };
    struct buf b;
    struct json_writer w;
    buf_init(&b, 0);
    jw_init(&w, &b, 2);
    jw_object_begin(&w);
    kv(&w, "syncToken", "1795132800");
    kv(&w, "createDate", "2026-11-19-22-00-00");
    jw_key(&w, "prefixes");
    jw_array_begin(&w);
    for (size_t i = 0; i < sizeof(RANGES) / sizeof(RANGES[0]); i++) {
        jw_object_begin(&w);
        kv(&w, "ip_prefix", RANGES[i].prefix);
        kv(&w, "region", SIM_REGION);
        kv(&w, "service", RANGES[i].service);
        kv(&w, "network_border_group", SIM_REGION);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "ipv6_prefixes");
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_object_end(&w);
    buf_putc(&b, '\n');
    struct buf path;
    buf_init(&path, 0);
    buf_printf(&path, "%s/aws-ip-ranges.json", c->opt.out_dir);
    int rc = write_bytes(path.p, b.p, b.len, err);
    buf_free(&path);
    buf_free(&b);
    return rc;
}

static int write_truth(struct sim_ctx *c, size_t n_files, struct err *err)
{
    const struct sim_scenario *s = &c->def->pub;
    struct buf b;
    struct json_writer w;
    char t0[32], t1[32], day[32];
    buf_init(&b, 0);
    jw_init(&w, &b, 2);
    time_format_iso8601(c->day0 - (int64_t)c->history * SIM_DAY, false, t0);
    time_format_iso8601(c->day0 + SIM_DAY, false, t1);
    time_format_iso8601(c->day0, false, day);
    day[10] = '\0';
    jw_object_begin(&w);
    kv(&w, "scenario", s->name);
    kv(&w, "title", s->title);
    kv(&w, "playbook", s->playbook);
    kv(&w, "pending", s->pending);
    kv(&w, "generatedBy", "vigil simulate");
    jw_key(&w, "seed");
    jw_int(&w, (int64_t)(c->opt.seed & 0x7fffffffffffffffULL));
    jw_key(&w, "window");
    jw_object_begin(&w);
    kv(&w, "start", t0);
    kv(&w, "end", t1);
    kv(&w, "attackDay", day);
    jw_key(&w, "historyDays");
    jw_int(&w, c->history);
    jw_object_end(&w);
    jw_key(&w, "accounts");
    jw_array_begin(&w);
    jw_str(&w, SIM_ACCOUNT);
    jw_array_end(&w);
    jw_key(&w, "detect");
    jw_object_begin(&w);
    jw_key(&w, "args");
    jw_array_begin(&w);
    for (size_t i = 0; i < c->n_args; i++)
        jw_str(&w, c->args[i]);
    jw_array_end(&w);
    /* Arguments for detectors some vigil builds have: the test adds each
     * when `vigil detect --help` mentions what it needs. */
    jw_key(&w, "optionalArgs");
    jw_array_begin(&w);
    for (size_t i = 0; i + 2 < c->n_opt_args; i += 3) {
        jw_object_begin(&w);
        kv(&w, "needs", c->opt_args[i]);
        jw_key(&w, "args");
        jw_array_begin(&w);
        jw_str(&w, c->opt_args[i + 1]);
        jw_str(&w, c->opt_args[i + 2]);
        jw_array_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "paths");
    jw_array_begin(&w);
    jw_str(&w, "AWSLogs");
    jw_array_end(&w);
    kv(&w, "awsIpRanges", "aws-ip-ranges.json");
    jw_object_end(&w);
    jw_key(&w, "files");
    jw_int(&w, (int64_t)n_files);
    jw_key(&w, "records");
    jw_object_begin(&w);
    jw_key(&w, "cloudtrail");
    jw_int(&w, (int64_t)c->records[SRC_CT]);
    jw_key(&w, "vpcflow");
    jw_int(&w, (int64_t)c->records[SRC_FLOW]);
    jw_key(&w, "dns");
    jw_int(&w, (int64_t)c->records[SRC_DNS]);
    jw_object_end(&w);
    jw_key(&w, "expected");
    jw_array_begin(&w);
    for (size_t i = 0; i < c->n_exp; i++) {
        const struct sim_expect *e = &c->exp[i];
        jw_object_begin(&w);
        kv(&w, "type", e->type);
        kv(&w, "resourceType", e->resource);
        kv(&w, "key", e->key);
        if (e->remote_ip)
            kv(&w, "remoteIp", e->remote_ip);
        if (e->domain)
            kv(&w, "domain", e->domain);
        jw_key(&w, "pending");
        jw_bool(&w, e->pending);
        if (e->optional) {
            jw_key(&w, "optional");
            jw_bool(&w, true);
        }
        kv(&w, "why", e->why);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    buf_putc(&b, '\n');
    struct buf path;
    buf_init(&path, 0);
    buf_printf(&path, "%s/ground-truth.json", c->opt.out_dir);
    int rc = write_bytes(path.p, b.p, b.len, err);
    buf_free(&path);
    buf_free(&b);
    return rc;
}

static int write_all(struct sim_ctx *c, struct sim_result *res, struct err *err)
{
    struct libdeflate_compressor *z = libdeflate_alloc_compressor(6);
    if (z == NULL)
        return err_set(err, ERR_INTERNAL, "cannot allocate a compressor");
    qsort(c->files, c->n_files, sizeof(*c->files), cmp_file);
    int rc = 0;
    for (size_t i = 0; i < c->n_files && rc == 0; i++)
        rc = write_file(c, z, c->files[i], err);
    libdeflate_free_compressor(z);

    static const char *const names[SIM_LIST_COUNT] = { "threats.txt", "tor.txt", "trusted.txt",
                                                       "bitcoin.txt" };
    static const char *const flags[SIM_LIST_COUNT] = { "--threat-list", "--tor-list",
                                                       "--trusted-list", "--threat-list" };
    struct buf path;
    buf_init(&path, 0);
    for (int l = 0; l < SIM_LIST_COUNT && rc == 0; l++) {
        if (c->lists[l].len == 0)
            continue;
        buf_reset(&path);
        buf_printf(&path, "%s/lists", c->opt.out_dir);
        rc = mkdirs(path.p, err);
        buf_printf(&path, "/%s", names[l]);
        if (rc == 0)
            rc = write_bytes(path.p, c->lists[l].p, c->lists[l].len, err);
        if (l == SIM_LIST_BITCOIN)
            sim__opt_arg(c, "CATEGORY:FILE", flags[l], sim__fmt(c, "bitcoin:lists/%s", names[l]));
        else
            sim__arg(c, flags[l], sim__fmt(c, "lists/%s", names[l]));
    }
    if (rc == 0) {
        buf_reset(&path);
        buf_printf(&path, "%s/geo", c->opt.out_dir);
        rc = mkdirs(path.p, err);
        if (rc == 0)
            rc = write_geo(c, path.p, err);
        sim__arg(c, "--geoip-db", "geo/city.mmdb");
        sim__arg(c, "--asn-db", "geo/asn.mmdb");
    }
    buf_free(&path);
    if (rc == 0) {
        rc = write_aws_ranges(c, err);
        sim__opt_arg(c, "--aws-ip-ranges", "--aws-ip-ranges", "aws-ip-ranges.json");
    }
    if (rc == 0)
        rc = write_truth(c, c->n_files, err);
    if (res != NULL) {
        res->files = c->n_files;
        for (int k = 0; k < 3; k++)
            res->records[k] = c->records[k];
        res->expected = c->n_exp;
        res->pending = 0;
        for (size_t i = 0; i < c->n_exp; i++)
            res->pending += c->exp[i].pending;
    }
    return rc;
}

/* ---- scenarios and runs ------------------------------------------------------------------------------- */

size_t sim_scenario_count(void)
{
    size_t n;
    sim__scenario_defs(&n);
    return n;
}

const struct sim_scenario *sim_scenario_at(size_t i)
{
    size_t n;
    const struct sim_scenario_def *d = sim__scenario_defs(&n);
    return i < n ? &d[i].pub : NULL;
}

const struct sim_scenario *sim_scenario_find(const char *name)
{
    size_t n;
    const struct sim_scenario_def *d = sim__scenario_defs(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].pub.name, name) == 0)
            return &d[i].pub;
    return NULL;
}

static int check_empty_dir(const char *path, struct err *err)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT ? 0 : (err_where(err, path, 0, 0), err_set(err, ERR_IO, "cannot open: %s", strerror(errno)));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            err_where(err, path, 0, 0);
            rc = err_set(err, ERR_USAGE, "directory is not empty (a game day writes into a fresh one)");
            break;
        }
    closedir(d);
    return rc;
}

static void ctx_free(struct sim_ctx *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        for (size_t k = 0; k < c->files[i]->n; k++)
            free(c->files[i]->v[k].text);
        free(c->files[i]->v);
        free(c->files[i]);
    }
    free(c->files);
    hmap_free(&c->file_index);
    for (int l = 0; l < SIM_LIST_COUNT; l++)
        buf_free(&c->lists[l]);
    free(c->opt_args);
    free(c->exp);
    free(c->places);
    free(c->args);
    arena_free(&c->arena);
}

int sim_run(const struct sim_scenario *s, const struct sim_options *opt, struct sim_result *res,
            struct err *err)
{
    const struct sim_scenario_def *def = (const struct sim_scenario_def *)s;
    if (opt == NULL || opt->out_dir == NULL || opt->out_dir[0] == '\0')
        return err_set(err, ERR_USAGE, "no output directory");
    int rc = check_empty_dir(opt->out_dir, err);
    if (rc == 0)
        rc = mkdirs(opt->out_dir, err);
    if (rc != 0)
        return rc;

    struct sim_ctx c;
    memset(&c, 0, sizeof(c));
    c.def = def;
    c.opt = *opt;
    if (c.opt.seed == 0)
        c.opt.seed = DEFAULT_SEED;
    c.day0 = opt->attack_day_ms ? opt->attack_day_ms - ((opt->attack_day_ms % SIM_DAY) + SIM_DAY) % SIM_DAY
                                : DEFAULT_DAY_MS;
    c.history = opt->history_days > 0 ? opt->history_days : def->history_days;
    c.rng = sim__stream(c.opt.seed, s->name, 1);
    c.ids = sim__stream(c.opt.seed, "ids", 0);
    arena_init(&c.arena, 0);
    hmap_init(&c.file_index);
    for (int l = 0; l < SIM_LIST_COUNT; l++)
        buf_init(&c.lists[l], 0);

    sim__world_places(&c);
    sim__background(&c);
    def->attack(&c);
    rc = write_all(&c, res, err);
    ctx_free(&c);
    return rc;
}
