/*
 * Threat, Tor and trusted lists: GuardDuty TXT files loaded through core's
 * indicator API into one IP set and one domain set per kind. The list names
 * (threatListName) are owned here because the sets borrow them as tags.
 */
#include "detect/detect_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KINDS 3

struct eni {
    char *instance; /* NULL when the map names no instance */
    struct ipaddr *ips;
    size_t n_ips;
};

struct detect_lists {
    struct iplist *ips[KINDS];
    struct domlist *doms[KINDS];
    char **names;
    enum detect_category *cats; /* parallel to names */
    size_t n_names;
    struct hmap enis; /* ENI id -> struct eni * */
    struct iplist *aws;
};

const struct iplist *detect__lists_ips(const struct detect_lists *l, enum detect_list_kind k)
{
    return l ? l->ips[k] : NULL;
}

const struct domlist *detect__lists_doms(const struct detect_lists *l, enum detect_list_kind k)
{
    return l ? l->doms[k] : NULL;
}

struct detect_lists *detect_lists_new(void)
{
    struct detect_lists *l = xcalloc(1, sizeof(*l));
    for (int k = 0; k < KINDS; k++) {
        l->ips[k] = iplist_new();
        l->doms[k] = domlist_new();
    }
    hmap_init(&l->enis);
    l->aws = iplist_new();
    return l;
}

void detect_lists_free(struct detect_lists *l)
{
    if (!l)
        return;
    for (int k = 0; k < KINDS; k++) {
        iplist_free(l->ips[k]);
        domlist_free(l->doms[k]);
    }
    for (size_t i = 0; i < l->n_names; i++)
        free(l->names[i]);
    free(l->names);
    free(l->cats);
    size_t i = 0;
    struct sv k;
    void *v;
    while (hmap_next(&l->enis, &i, &k, &v)) {
        struct eni *e = v;
        free(e->instance);
        free(e->ips);
        free(e);
    }
    hmap_free(&l->enis);
    iplist_free(l->aws);
    free(l);
}

int detect_lists_load(struct detect_lists *l, enum detect_list_kind kind, const char *path,
                      const char *name, size_t *bad_out, struct err *err)
{
    if ((unsigned)kind >= KINDS)
        return err_set(err, ERR_USAGE, "unknown list kind %d", (int)kind);
    if (!name) {
        const char *slash = strrchr(path, '/');
        name = slash ? slash + 1 : path;
    }
    char *tag = xstrdup(name);
    l->names = xrealloc(l->names, (l->n_names + 1) * sizeof(*l->names));
    l->cats = xrealloc(l->cats, (l->n_names + 1) * sizeof(*l->cats));
    l->cats[l->n_names] = DETECT_CAT_CUSTOM;
    l->names[l->n_names++] = tag;
    size_t bad = 0;
    int rc = indicators_load(path, tag, l->ips[kind], l->doms[kind], &bad, err);
    if (bad_out)
        *bad_out = bad;
    return rc;
}

size_t detect_lists_count(const struct detect_lists *l, enum detect_list_kind kind)
{
    if (!l || (unsigned)kind >= KINDS)
        return 0;
    return iplist_count(l->ips[kind]) + domlist_count(l->doms[kind]);
}

/* ---- categories --------------------------------------------------------------- */

static const char *const cat_names[DETECT_CAT_COUNT] = {
    "custom", "bitcoin", "c2", "blackhole", "droppoint", "phishing", "driveby", "dga"
};

bool detect_list_category_parse(struct sv name, enum detect_category *out)
{
    for (int i = 0; i < DETECT_CAT_COUNT; i++)
        if (sv_eq_nocase(name, sv_cstr(cat_names[i]))) {
            *out = (enum detect_category)i;
            return true;
        }
    return false;
}

int detect_lists_load_category(struct detect_lists *l, enum detect_category cat, const char *path,
                               const char *name, size_t *bad_out, struct err *err)
{
    int rc = detect_lists_load(l, DETECT_LIST_THREAT, path, name, bad_out, err);
    if (l->n_names > 0 && (unsigned)cat < DETECT_CAT_COUNT)
        l->cats[l->n_names - 1] = cat;
    return rc;
}

enum detect_category detect__lists_category(const struct detect_lists *l, const char *tag)
{
    for (size_t i = 0; l && i < l->n_names; i++)
        if (l->names[i] == tag)
            return l->cats[i];
    return DETECT_CAT_CUSTOM;
}

/* ---- ENI map ---------------------------------------------------------------------- */

#define MAP_FILE_MAX (256u << 20)
#define ENI_MAX 1000000

static int read_whole(const char *path, struct buf *b, struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
        err_where(err, path, 0, 0);
        return ERR_IO;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(b, chunk, n) != 0) {
            rc = err_set(err, ERR_LIMIT, "larger than %u bytes", MAP_FILE_MAX);
            err_where(err, path, 0, 0);
            break;
        }
    if (rc == 0 && ferror(f)) {
        rc = err_set(err, ERR_IO, "read error: %s", strerror(errno));
        err_where(err, path, 0, 0);
    }
    fclose(f);
    return rc;
}

static struct eni *eni_get(struct detect_lists *l, struct sv id)
{
    struct eni *e = hmap_get(&l->enis, id.p, id.len);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        hmap_put(&l->enis, id.p, id.len, e);
    }
    return e;
}

static void eni_add_ip(struct eni *e, const struct ipaddr *ip)
{
    for (size_t i = 0; i < e->n_ips; i++)
        if (memcmp(e->ips[i].b, ip->b, 16) == 0)
            return;
    e->ips = xrealloc(e->ips, (e->n_ips + 1) * sizeof(*e->ips));
    e->ips[e->n_ips++] = *ip;
}

static void eni_set_instance(struct eni *e, struct sv inst)
{
    if (inst.len == 0 || sv_eq_cstr(inst, "-"))
        return;
    free(e->instance);
    e->instance = xstrndup(inst.p, inst.len);
}

static const struct json_value *jmember(const struct json_value *o, const char *k)
{
    return o && o->type == JSON_OBJECT ? json_get(o, k) : NULL;
}

static struct sv jstr(const struct json_value *v)
{
    return v && v->type == JSON_STRING ? sv_make(v->str, v->len) : SV_NULL;
}

static void json_ips(struct eni *e, const struct json_value *arr, const char *key)
{
    if (!arr || arr->type != JSON_ARRAY)
        return;
    for (size_t i = 0; i < arr->n; i++) {
        struct ipaddr ip;
        if (ip_parse(jstr(jmember(&arr->items[i], key)), &ip))
            eni_add_ip(e, &ip);
    }
}

static int eni_json(struct detect_lists *l, const char *path, const struct buf *b, struct err *err)
{
    struct arena a;
    arena_init(&a, 1 << 20);
    struct json_value *root = NULL;
    int rc = json_parse(b->p, b->len, &a, &root, err);
    if (rc != 0) {
        err_where(err, path, 0, err->offset);
        arena_free(&a);
        return rc;
    }
    const struct json_value *list = jmember(root, "NetworkInterfaces");
    if (!list || list->type != JSON_ARRAY) {
        arena_free(&a);
        err_set(err, ERR_FORMAT, "no NetworkInterfaces array (expected the output of "
                                 "`aws ec2 describe-network-interfaces`)");
        err_where(err, path, 0, 0);
        return ERR_FORMAT;
    }
    for (size_t i = 0; i < list->n && rc == 0; i++) {
        const struct json_value *ni = &list->items[i];
        struct sv id = jstr(jmember(ni, "NetworkInterfaceId"));
        if (id.len == 0)
            continue;
        if (l->enis.n >= ENI_MAX) {
            rc = err_set(err, ERR_LIMIT, "more than %d interfaces", ENI_MAX);
            err_where(err, path, 0, 0);
            break;
        }
        struct eni *e = eni_get(l, id);
        eni_set_instance(e, jstr(jmember(jmember(ni, "Attachment"), "InstanceId")));
        struct ipaddr ip;
        if (ip_parse(jstr(jmember(ni, "PrivateIpAddress")), &ip))
            eni_add_ip(e, &ip);
        json_ips(e, jmember(ni, "PrivateIpAddresses"), "PrivateIpAddress");
        json_ips(e, jmember(ni, "Ipv6Addresses"), "Ipv6Address");
        if (ip_parse(jstr(jmember(jmember(ni, "Association"), "PublicIp")), &ip))
            eni_add_ip(e, &ip);
    }
    arena_free(&a);
    return rc;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int eni_text(struct detect_lists *l, const char *path, const struct buf *b, struct err *err)
{
    const char *p = b->p ? b->p : "", *end = p + b->len;
    uint64_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        struct sv tok[64];
        size_t nt = 0;
        const char *q = p;
        while (q < le && *q != '#') {
            while (q < le && is_space(*q))
                q++;
            if (q >= le || *q == '#')
                break;
            const char *t = q;
            while (q < le && !is_space(*q) && *q != '#')
                q++;
            if (nt < 64)
                tok[nt++] = sv_make(t, (size_t)(q - t));
        }
        p = nl ? nl + 1 : end;
        if (nt == 0)
            continue;
        if (nt < 2 || !sv_starts_with(tok[0], SV("eni-"))) {
            err_set(err, ERR_FORMAT, "line %llu: expected \"eni-id instance-id [address ...]\"",
                    (unsigned long long)line);
            err_where(err, path, line, 0);
            return ERR_FORMAT;
        }
        if (l->enis.n >= ENI_MAX) {
            err_set(err, ERR_LIMIT, "more than %d interfaces", ENI_MAX);
            err_where(err, path, line, 0);
            return ERR_LIMIT;
        }
        struct eni *e = eni_get(l, tok[0]);
        eni_set_instance(e, tok[1]);
        for (size_t i = 2; i < nt; i++) {
            struct ipaddr ip;
            if (!ip_parse(tok[i], &ip)) {
                err_set(err, ERR_FORMAT, "line %llu: \"%.*s\" is not an IP address",
                        (unsigned long long)line, (int)(tok[i].len > 64 ? 64 : tok[i].len),
                        tok[i].p);
                err_where(err, path, line, 0);
                return ERR_FORMAT;
            }
            eni_add_ip(e, &ip);
        }
    }
    return 0;
}

int detect_lists_load_eni_map(struct detect_lists *l, const char *path, struct err *err)
{
    struct buf b;
    buf_init(&b, MAP_FILE_MAX);
    int rc = read_whole(path, &b, err);
    if (rc == 0) {
        size_t i = 0;
        while (i < b.len && (is_space(b.p[i]) || b.p[i] == '\n'))
            i++;
        rc = i < b.len && b.p[i] == '{' ? eni_json(l, path, &b, err) : eni_text(l, path, &b, err);
    }
    buf_free(&b);
    return rc;
}

size_t detect_lists_eni_count(const struct detect_lists *l) { return l ? l->enis.n : 0; }

const char *detect__lists_eni_instance(const struct detect_lists *l, struct sv eni)
{
    if (!l || l->enis.n == 0 || eni.len == 0)
        return NULL;
    const struct eni *e = hmap_get(&l->enis, eni.p, eni.len);
    return e ? e->instance : NULL;
}

int detect__lists_eni_has_ip(const struct detect_lists *l, struct sv eni, const struct ipaddr *ip)
{
    if (!l || l->enis.n == 0 || eni.len == 0)
        return -1;
    const struct eni *e = hmap_get(&l->enis, eni.p, eni.len);
    if (!e || e->n_ips == 0)
        return -1;
    for (size_t i = 0; i < e->n_ips; i++)
        if (memcmp(e->ips[i].b, ip->b, 16) == 0)
            return 1;
    return 0;
}

/* ---- AWS ranges -------------------------------------------------------------------- */

static int add_prefixes(struct iplist *dst, const struct json_value *arr, const char *key,
                        const char *path, struct err *err)
{
    if (!arr)
        return 0;
    if (arr->type != JSON_ARRAY) {
        err_set(err, ERR_FORMAT, "%s: not an array", key);
        err_where(err, path, 0, 0);
        return ERR_FORMAT;
    }
    for (size_t i = 0; i < arr->n; i++) {
        struct sv p = jstr(jmember(&arr->items[i], key));
        struct ipaddr net;
        unsigned bits;
        if (!cidr_parse(p, &net, &bits)) {
            err_set(err, ERR_FORMAT, "%s \"%.*s\" is not a CIDR", key, (int)(p.len > 64 ? 64 : p.len),
                    p.p ? p.p : "");
            err_where(err, path, 0, 0);
            return ERR_FORMAT;
        }
        iplist_add(dst, &net, bits, "aws");
    }
    return 0;
}

int detect_lists_load_aws_ranges(struct detect_lists *l, const char *path, struct err *err)
{
    struct buf b;
    buf_init(&b, MAP_FILE_MAX);
    int rc = read_whole(path, &b, err);
    struct arena a;
    arena_init(&a, 1 << 20);
    struct json_value *root = NULL;
    if (rc == 0 && (rc = json_parse(b.p ? b.p : "", b.len, &a, &root, err)) != 0)
        err_where(err, path, 0, err->offset);
    if (rc == 0 && !jmember(root, "prefixes")) {
        rc = err_set(err, ERR_FORMAT, "no \"prefixes\" (expected AWS's ip-ranges.json)");
        err_where(err, path, 0, 0);
    }
    if (rc == 0)
        rc = add_prefixes(l->aws, jmember(root, "prefixes"), "ip_prefix", path, err);
    if (rc == 0)
        rc = add_prefixes(l->aws, jmember(root, "ipv6_prefixes"), "ipv6_prefix", path, err);
    arena_free(&a);
    buf_free(&b);
    return rc;
}

size_t detect_lists_aws_count(const struct detect_lists *l) { return l ? iplist_count(l->aws) : 0; }

const struct iplist *detect__lists_aws(const struct detect_lists *l) { return l ? l->aws : NULL; }
/* Keep in step with engine.c's list detectors; test_detect checks that every
 * type they emit is here. */
static const struct detect_list_type LIST_TYPES[] = {
    { "threatlist-iam-recon", "Recon:IAMUser/MaliciousIPCaller.Custom", 5.0, DETECT_RES_ACCESS_KEY,
      EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "threatlist-iam-api", "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", 5.0,
      DETECT_RES_ACCESS_KEY, EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "threatlist-s3-discovery", "Discovery:S3/MaliciousIPCaller.Custom", 8.0,
      DETECT_RES_S3_BUCKET, EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "threatlist-s3-access", "UnauthorizedAccess:S3/MaliciousIPCaller.Custom", 8.0,
      DETECT_RES_S3_BUCKET, EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "torlist-iam-recon", "Recon:IAMUser/TorIPCaller", 5.0, DETECT_RES_ACCESS_KEY,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "torlist-iam-api", "UnauthorizedAccess:IAMUser/TorIPCaller", 5.0, DETECT_RES_ACCESS_KEY,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "torlist-s3-discovery", "Discovery:S3/TorIPCaller", 5.0, DETECT_RES_S3_BUCKET,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "torlist-s3-access", "UnauthorizedAccess:S3/TorIPCaller", 8.0, DETECT_RES_S3_BUCKET,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "threatlist-ec2-flow", "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", 5.0,
      DETECT_RES_INSTANCE, EVENT_VPCFLOW, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns", "Impact:EC2/MaliciousDomainRequest.Custom", 5.0, DETECT_RES_INSTANCE,
      EVENT_DNS, DETECT_LIST_THREAT },
    /* threat lists with a category (detect_lists_load_category) */
    { "threatlist-ec2-flow-bitcoin", "CryptoCurrency:EC2/BitcoinTool.B", 8.0, DETECT_RES_INSTANCE,
      EVENT_VPCFLOW, DETECT_LIST_THREAT },
    { "threatlist-ec2-flow-c2", "Backdoor:EC2/C&CActivity.B", 8.0, DETECT_RES_INSTANCE,
      EVENT_VPCFLOW, DETECT_LIST_THREAT },
    { "threatlist-ec2-flow-blackhole", "Trojan:EC2/BlackholeTraffic", 5.0, DETECT_RES_INSTANCE,
      EVENT_VPCFLOW, DETECT_LIST_THREAT },
    { "threatlist-ec2-flow-droppoint", "Trojan:EC2/DropPoint", 5.0, DETECT_RES_INSTANCE,
      EVENT_VPCFLOW, DETECT_LIST_THREAT },
    { "torlist-ec2-client", "UnauthorizedAccess:EC2/TorClient", 8.0, DETECT_RES_INSTANCE,
      EVENT_VPCFLOW, DETECT_LIST_TOR },
    { "threatlist-ec2-dns-bitcoin", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0,
      DETECT_RES_INSTANCE, EVENT_DNS, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns-c2", "Backdoor:EC2/C&CActivity.B!DNS", 8.0, DETECT_RES_INSTANCE,
      EVENT_DNS, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns-blackhole", "Trojan:EC2/BlackholeTraffic!DNS", 5.0, DETECT_RES_INSTANCE,
      EVENT_DNS, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns-droppoint", "Trojan:EC2/DropPoint!DNS", 5.0, DETECT_RES_INSTANCE,
      EVENT_DNS, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns-phishing", "Trojan:EC2/PhishingDomainRequest!DNS", 8.0,
      DETECT_RES_INSTANCE, EVENT_DNS, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns-driveby", "Trojan:EC2/DriveBySourceTraffic!DNS", 8.0,
      DETECT_RES_INSTANCE, EVENT_DNS, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns-dga", "Trojan:EC2/DGADomainRequest.C!DNS", 8.0, DETECT_RES_INSTANCE,
      EVENT_DNS, DETECT_LIST_THREAT },
};

const struct detect_list_type *detect_list_types(size_t *n_out)
{
    *n_out = sizeof(LIST_TYPES) / sizeof(LIST_TYPES[0]);
    return LIST_TYPES;
}
