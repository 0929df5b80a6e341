/*
 * Finding output: GuardDuty finding JSON (GetFindings / EventBridge detail
 * shape), JSON lines, and a terminal table.
 *
 * Field names and nesting follow the GuardDuty API reference (Finding,
 * Resource, AccessKeyDetails, InstanceDetails, S3BucketDetail, Service,
 * Action, AwsApiCallAction, NetworkConnectionAction, DnsRequestAction,
 * PortProbeAction, RemoteIpDetails, Evidence) in their JSON (camelCase) form.
 * Absent values are left out rather than written as null. Timestamps are
 * ISO 8601 UTC with milliseconds; createdAt/updatedAt equal the first/last
 * event times so the output depends only on the input logs.
 */
#include "finding/finding_int.h"

#include <stdlib.h>
#include <string.h>

void finding__iso_ms(int64_t ms, char out[32])
{
    int64_t frac = ms % 1000;
    if (frac < 0)
        frac += 1000;
    size_t n = time_format_iso8601(ms - frac, false, out);
    /* "...SSZ" -> "...SS.mmmZ" */
    if (n >= 1 && n + 4 < 32 && out[n - 1] == 'Z') {
        out[n - 1] = '.';
        out[n] = (char)('0' + frac / 100);
        out[n + 1] = (char)('0' + frac / 10 % 10);
        out[n + 2] = (char)('0' + frac % 10);
        out[n + 3] = 'Z';
        out[n + 4] = '\0';
    }
}

const char *finding__partition(const char *region)
{
    if (region == NULL)
        return "aws";
    if (strncmp(region, "cn-", 3) == 0)
        return "aws-cn";
    if (strncmp(region, "us-gov-", 7) == 0)
        return "aws-us-gov";
    if (strncmp(region, "us-iso-", 7) == 0)
        return "aws-iso";
    if (strncmp(region, "us-isob-", 8) == 0)
        return "aws-iso-b";
    return "aws";
}

const char *finding__port_name(int port)
{
    /* The service names GuardDuty prints in portName; "Unknown" otherwise. */
    switch (port) {
    case 20: case 21: return "FTP";
    case 22: return "SSH";
    case 23: return "TELNET";
    case 25: return "SMTP";
    case 53: return "DNS";
    case 80: return "HTTP";
    case 110: return "POP3";
    case 123: return "NTP";
    case 143: return "IMAP";
    case 389: return "LDAP";
    case 443: return "HTTPS";
    case 445: return "SMB";
    case 465: case 587: return "SMTPS";
    case 853: return "DNS-over-TLS";
    case 1433: return "MSSQL";
    case 1521: return "ORACLE";
    case 2049: return "NFS";
    case 3306: return "MYSQL";
    case 3389: return "RDP";
    case 5432: return "POSTGRESQL";
    case 5900: return "VNC";
    case 5985: case 5986: return "WINRM";
    case 6379: return "REDIS";
    case 8080: return "HTTP";
    case 8088: return "YARN";
    case 9200: case 9300: return "ELASTICSEARCH";
    case 11211: return "MEMCACHED";
    case 27017: return "MONGODB";
    default: return "Unknown";
    }
}

/* GuardDuty's RemoteIpDetails / LocalIpDetails; geo may be NULL. */
static void ip_details(struct json_writer *w, const char *key, const char *ip,
                       const struct finding_geo *geo)
{
    struct ipaddr a;
    if (ip == NULL || !ip_parse(sv_cstr(ip), &a))
        return;
    jw_key(w, key);
    jw_object_begin(w);
    jw_key(w, a.v4 ? "ipAddressV4" : "ipAddressV6");
    jw_str(w, ip);
    if (geo != NULL) {
        if (geo->city) {
            jw_key(w, "city");
            jw_object_begin(w);
            finding__kv(w, "cityName", geo->city);
            jw_object_end(w);
        }
        if (geo->country_code || geo->country_name) {
            jw_key(w, "country");
            jw_object_begin(w);
            finding__kv(w, "countryCode", geo->country_code);
            finding__kv(w, "countryName", geo->country_name);
            jw_object_end(w);
        }
        if (geo->has_location) {
            jw_key(w, "geoLocation");
            jw_object_begin(w);
            jw_key(w, "lat");
            jw_double(w, geo->lat);
            jw_key(w, "lon");
            jw_double(w, geo->lon);
            jw_object_end(w);
        }
        if (geo->asn || geo->asn_org || geo->isp || geo->org) {
            jw_key(w, "organization");
            jw_object_begin(w);
            finding__kv(w, "asn", geo->asn);
            finding__kv(w, "asnOrg", geo->asn_org);
            finding__kv(w, "isp", geo->isp);
            finding__kv(w, "org", geo->org);
            jw_object_end(w);
        }
    }
    jw_object_end(w);
}

static void port_details(struct json_writer *w, const char *key, int port)
{
    if (port < 0)
        return;
    jw_key(w, key);
    jw_object_begin(w);
    jw_key(w, "port");
    jw_int(w, port);
    jw_key(w, "portName");
    jw_str(w, finding__port_name(port));
    jw_object_end(w);
}

static void access_key_details(struct json_writer *w, const struct finding_detail *d)
{
    if (!d->access_key_id && !d->principal_id && !d->user_name && !d->user_type)
        return;
    jw_key(w, "accessKeyDetails");
    jw_object_begin(w);
    finding__kv(w, "accessKeyId", d->access_key_id);
    finding__kv(w, "principalId", d->principal_id);
    finding__kv(w, "userName", d->user_name);
    finding__kv(w, "userType", d->user_type);
    jw_object_end(w);
}

static void write_resource(struct json_writer *w, const struct finding *f)
{
    const struct finding_detail *d = &f->d;
    jw_key(w, "resource");
    jw_object_begin(w);
    switch (f->resource) {
    case DETECT_RES_ACCESS_KEY:
        jw_key(w, "resourceType");
        jw_str(w, "AccessKey");
        access_key_details(w, d);
        break;
    case DETECT_RES_INSTANCE:
        jw_key(w, "resourceType");
        jw_str(w, "Instance");
        jw_key(w, "instanceDetails");
        jw_object_begin(w);
        finding__kv(w, "instanceId", d->instance_id);
        if (d->eni_id || d->vpc_id || d->subnet_id || d->local_ip) {
            struct ipaddr a;
            bool v4 = d->local_ip && ip_parse(sv_cstr(d->local_ip), &a) && a.v4;
            jw_key(w, "networkInterfaces");
            jw_array_begin(w);
            jw_object_begin(w);
            if (d->local_ip && !v4) {
                jw_key(w, "ipv6Addresses");
                jw_array_begin(w);
                jw_str(w, d->local_ip);
                jw_array_end(w);
            }
            finding__kv(w, "networkInterfaceId", d->eni_id);
            if (v4)
                finding__kv(w, "privateIpAddress", d->local_ip);
            finding__kv(w, "subnetId", d->subnet_id);
            finding__kv(w, "vpcId", d->vpc_id);
            jw_object_end(w);
            jw_array_end(w);
        }
        jw_object_end(w);
        break;
    case DETECT_RES_S3_BUCKET:
        jw_key(w, "resourceType");
        jw_str(w, "S3Bucket");
        /* GuardDuty's S3 findings name the caller's credentials too. */
        access_key_details(w, d);
        if (d->bucket_name != NULL) {
            struct buf arn;
            buf_init(&arn, 0);
            buf_printf(&arn, "arn:%s:s3:::%s", finding__partition(f->region), d->bucket_name);
            jw_key(w, "s3BucketDetails");
            jw_array_begin(w);
            jw_object_begin(w);
            finding__kv(w, "arn", arn.p);
            finding__kv(w, "name", d->bucket_name);
            finding__kv(w, "type", "Destination");
            jw_object_end(w);
            jw_array_end(w);
            buf_free(&arn);
        }
        break;
    }
    jw_object_end(w);
}

static void write_action(struct json_writer *w, const struct finding *f)
{
    const struct finding_detail *d = &f->d;
    jw_key(w, "action");
    jw_object_begin(w);
    jw_key(w, "actionType");
    jw_str(w, finding_action_name(d->action));
    switch (d->action) {
    case FINDING_ACTION_API_CALL:
        jw_key(w, "awsApiCallAction");
        jw_object_begin(w);
        finding__kv(w, "api", d->api);
        finding__kv(w, "serviceName", d->service_name);
        if (d->remote_ip) {
            finding__kv(w, "callerType", "Remote IP");
            ip_details(w, "remoteIpDetails", d->remote_ip, &d->remote_geo);
        } else if (d->caller_domain) {
            finding__kv(w, "callerType", "Domain");
            jw_key(w, "domainDetails");
            jw_object_begin(w);
            finding__kv(w, "domain", d->caller_domain);
            jw_object_end(w);
        }
        finding__kv(w, "errorCode", d->error_code);
        finding__kv(w, "userAgent", d->user_agent);
        if (f->resource == DETECT_RES_S3_BUCKET && d->bucket_name) {
            struct buf arn;
            buf_init(&arn, 0);
            buf_printf(&arn, "arn:%s:s3:::%s", finding__partition(f->region), d->bucket_name);
            jw_key(w, "affectedResources");
            jw_object_begin(w);
            finding__kv(w, "AWS::S3::Bucket", arn.p);
            jw_object_end(w);
            buf_free(&arn);
        }
        jw_object_end(w);
        break;
    case FINDING_ACTION_NETWORK:
        jw_key(w, "networkConnectionAction");
        jw_object_begin(w);
        jw_key(w, "blocked");
        jw_bool(w, d->blocked);
        finding__kv(w, "connectionDirection", d->direction);
        ip_details(w, "localIpDetails", d->local_ip, NULL);
        finding__kv(w, "localNetworkInterface", d->eni_id);
        port_details(w, "localPortDetails", d->local_port);
        finding__kv(w, "protocol", d->protocol);
        ip_details(w, "remoteIpDetails", d->remote_ip, &d->remote_geo);
        port_details(w, "remotePortDetails", d->remote_port);
        jw_object_end(w);
        break;
    case FINDING_ACTION_PORT_PROBE:
        jw_key(w, "portProbeAction");
        jw_object_begin(w);
        jw_key(w, "blocked");
        jw_bool(w, d->blocked);
        jw_key(w, "portProbeDetails");
        jw_array_begin(w);
        jw_object_begin(w);
        ip_details(w, "localIpDetails", d->local_ip, NULL);
        port_details(w, "localPortDetails", d->local_port);
        ip_details(w, "remoteIpDetails", d->remote_ip, &d->remote_geo);
        jw_object_end(w);
        jw_array_end(w);
        jw_object_end(w);
        break;
    case FINDING_ACTION_DNS:
        jw_key(w, "dnsRequestAction");
        jw_object_begin(w);
        finding__kv(w, "domain", d->domain);
        finding__kv(w, "protocol", d->protocol);
        jw_key(w, "blocked");
        jw_bool(w, d->blocked);
        jw_object_end(w);
        break;
    }
    jw_object_end(w);
}

static const char *resource_role(const struct finding *f)
{
    /* Our instance acted (it queried, it connected out) or was acted upon. */
    if (f->resource != DETECT_RES_INSTANCE)
        return "TARGET";
    if (f->d.action == FINDING_ACTION_DNS)
        return "ACTOR";
    if (f->d.action == FINDING_ACTION_NETWORK && f->d.direction &&
        strcmp(f->d.direction, "OUTBOUND") == 0)
        return "ACTOR";
    return "TARGET";
}

void finding_to_json(struct json_writer *w, const struct finding *f)
{
    char first[32], last[32];
    finding__iso_ms(f->first_ms, first);
    finding__iso_ms(f->last_ms, last);
    const char *account = f->account ? f->account : "";
    const char *region = f->region ? f->region : "";

    jw_object_begin(w);
    finding__kv(w, "schemaVersion", "2.0");
    jw_key(w, "accountId");
    jw_str(w, account);
    jw_key(w, "region");
    jw_str(w, region);
    finding__kv(w, "partition", finding__partition(f->region));
    finding__kv(w, "id", f->id);
    struct buf arn;
    buf_init(&arn, 0);
    buf_printf(&arn, "arn:%s:guardduty:%s:%s:detector/%s/finding/%s", finding__partition(f->region),
               region, account, f->detector_id, f->id);
    finding__kv(w, "arn", arn.p);
    buf_free(&arn);
    finding__kv(w, "type", f->type ? f->type : "");
    write_resource(w, f);

    jw_key(w, "service");
    jw_object_begin(w);
    finding__kv(w, "serviceName", "guardduty");
    finding__kv(w, "detectorId", f->detector_id);
    write_action(w, f);
    finding__kv(w, "resourceRole", resource_role(f));
    jw_key(w, "additionalInfo");
    jw_object_begin(w);
    finding__kv(w, "threatListName", f->threat_list);
    if (f->sample) {
        jw_key(w, "sample");
        jw_bool(w, true);
    }
    jw_key(w, "vigil");
    jw_object_begin(w);
    finding__kv(w, "ruleId", f->rule_id);
    finding__kv(w, "key", f->key);
    finding__kv(w, "archivedBy", f->archived_by);
    jw_key(w, "eventIds");
    jw_array_begin(w);
    for (size_t i = 0; i < f->n_evidence; i++)
        jw_str(w, f->evidence[i]);
    jw_array_end(w);
    jw_key(w, "eventCount");
    jw_int(w, (int64_t)f->events);
    jw_object_end(w);
    jw_object_end(w);
    if (f->threat_list != NULL) {
        jw_key(w, "evidence");
        jw_object_begin(w);
        jw_key(w, "threatIntelligenceDetails");
        jw_array_begin(w);
        jw_object_begin(w);
        finding__kv(w, "threatListName", f->threat_list);
        jw_key(w, "threatNames");
        jw_array_begin(w);
        if (f->indicator != NULL)
            jw_str(w, f->indicator);
        jw_array_end(w);
        jw_object_end(w);
        jw_array_end(w);
        jw_object_end(w);
    }
    finding__kv(w, "eventFirstSeen", first);
    finding__kv(w, "eventLastSeen", last);
    jw_key(w, "archived");
    jw_bool(w, f->archived);
    jw_key(w, "count");
    jw_int(w, (int64_t)f->count);
    jw_object_end(w);

    jw_key(w, "severity");
    jw_double(w, f->severity);
    finding__kv(w, "createdAt", first);
    finding__kv(w, "updatedAt", last);
    finding__kv(w, "title", f->title ? f->title : "");
    finding__kv(w, "description", f->description ? f->description : "");
    jw_object_end(w);
}

/* Each finding is rendered into its own buffer and then appended, so the
 * output cap is checked by buf_append (the writer itself cannot fail). */
int finding__append(struct buf *out, const struct finding *f, int indent, int depth,
                    void (*fn)(struct json_writer *w, const struct finding *f))
{
    struct buf tmp;
    struct json_writer w;
    buf_init(&tmp, 0);
    jw_init(&w, &tmp, indent);
    fn(&w, f);
    int rc = 0;
    if (indent > 0 && depth > 0) {
        /* Re-indent the nested object to its place inside {"Findings":[ ... ]}. */
        for (size_t i = 0; i < tmp.len && rc == 0; i++) {
            rc = buf_putc(out, tmp.p[i]);
            if (rc == 0 && tmp.p[i] == '\n')
                for (int k = 0; k < indent * depth && rc == 0; k++)
                    rc = buf_putc(out, ' ');
        }
    } else {
        rc = buf_append(out, tmp.p ? tmp.p : "", tmp.len);
    }
    buf_free(&tmp);
    return rc;
}

static int put_indent(struct buf *out, int n)
{
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = buf_putc(out, ' ');
    return rc;
}

int finding__write_list(struct buf *out, const struct finding *const *f, size_t n, int indent,
                        void (*fn)(struct json_writer *w, const struct finding *f))
{
    bool pretty = indent > 0;
    int rc = buf_append_cstr(out, pretty ? "{\n" : "{");
    if (rc == 0)
        rc = put_indent(out, indent);
    if (rc == 0)
        rc = buf_append_cstr(out, pretty ? "\"Findings\": [" : "\"Findings\":[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(out, ',');
        if (rc == 0 && pretty) {
            rc = buf_putc(out, '\n');
            if (rc == 0)
                rc = put_indent(out, 2 * indent);
        }
        if (rc == 0)
            rc = finding__append(out, f[i], indent, 2, fn);
    }
    if (rc == 0 && pretty && n > 0) {
        rc = buf_putc(out, '\n');
        if (rc == 0)
            rc = put_indent(out, indent);
    }
    if (rc == 0)
        rc = buf_append_cstr(out, pretty ? "]\n}\n" : "]}");
    return rc;
}

int finding_write_json(struct buf *out, const struct finding *const *f, size_t n, int indent)
{
    return finding__write_list(out, f, n, indent, finding_to_json);
}

int finding_write_jsonl(struct buf *out, const struct finding *const *f, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = finding__append(out, f[i], 0, 0, finding_to_json);
        if (rc == 0)
            rc = buf_putc(out, '\n');
    }
    return rc;
}

/* ---- table ------------------------------------------------------------------ */

void finding_resource_text(const struct finding *f, char *out, size_t cap)
{
    const struct finding_detail *d = &f->d;
    struct buf b;
    buf_init(&b, 0);
    switch (f->resource) {
    case DETECT_RES_ACCESS_KEY: {
        const char *k = d->access_key_id ? d->access_key_id : f->key ? f->key : "-";
        buf_printf(&b, "AccessKey %s", k);
        if (d->user_name)
            buf_printf(&b, " (%s)", d->user_name);
        break;
    }
    case DETECT_RES_INSTANCE:
        buf_printf(&b, "Instance %s",
                   d->instance_id ? d->instance_id : d->eni_id ? d->eni_id : f->key ? f->key : "-");
        break;
    case DETECT_RES_S3_BUCKET:
        buf_printf(&b, "S3Bucket %s", d->bucket_name ? d->bucket_name : f->key ? f->key : "-");
        break;
    }
    if (cap > 0) {
        size_t n = b.len < cap - 1 ? b.len : cap - 1;
        memcpy(out, b.p ? b.p : "", n);
        out[n] = '\0';
    }
    buf_free(&b);
}

enum { COL_SEV, COL_TYPE, COL_RES, COL_COUNT, COL_FIRST, COL_LAST, COL_TITLE, NCOL };

/* Display width of UTF-8 text: code points, as terminals show most of them. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

/* Byte length of the longest prefix of s that shows in at most width columns. */
static size_t prefix_bytes(const char *s, size_t width)
{
    size_t w = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (w == width)
                break;
            w++;
        }
    }
    return i;
}

static void table_time(int64_t ms, char out[32])
{
    time_format_iso8601(ms, false, out);
    /* "2024-01-02T03:04:05Z" reads better as "2024-01-02 03:04:05". */
    size_t n = strlen(out);
    if (n > 11 && out[10] == 'T')
        out[10] = ' ';
    if (n > 0 && out[n - 1] == 'Z')
        out[n - 1] = '\0';
}

static int put_cell(struct buf *out, const char *s, size_t width, bool last, bool right)
{
    size_t w = text_width(s);
    int rc = 0;
    if (right)
        rc = put_indent(out, (int)(width > w ? width - w : 0));
    if (rc == 0)
        rc = buf_append_cstr(out, s);
    if (rc == 0 && !right && !last)
        rc = put_indent(out, (int)(width > w ? width - w : 0));
    if (rc == 0 && !last)
        rc = buf_append_cstr(out, "  ");
    return rc;
}

int finding_write_table(struct buf *out, const struct finding *const *f, size_t n,
                        const struct finding_table_opts *opts)
{
    static const char *heads[NCOL] = { "SEVERITY", "TYPE", "RESOURCE", "COUNT",
                                       "FIRST SEEN", "LAST SEEN", "TITLE" };
    bool color = opts && opts->color;
    int width = opts ? opts->width : 0;
    if (n == 0)
        return buf_append_cstr(out, "No findings.\n");

    char **cells = xcalloc(n * NCOL, sizeof(*cells));
    size_t wcol[NCOL];
    for (int c = 0; c < NCOL; c++)
        wcol[c] = strlen(heads[c]);
    for (size_t i = 0; i < n; i++) {
        char tmp[512], t[32];
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%-8s %.1f", finding_severity_label(f[i]->severity), f[i]->severity);
        cells[i * NCOL + COL_SEV] = buf_steal(&b);
        cells[i * NCOL + COL_TYPE] = xstrdup(f[i]->type ? f[i]->type : "");
        finding_resource_text(f[i], tmp, sizeof(tmp));
        cells[i * NCOL + COL_RES] = xstrdup(tmp);
        buf_printf(&b, "%llu", (unsigned long long)f[i]->count);
        cells[i * NCOL + COL_COUNT] = buf_steal(&b);
        table_time(f[i]->first_ms, t);
        cells[i * NCOL + COL_FIRST] = xstrdup(t);
        table_time(f[i]->last_ms, t);
        cells[i * NCOL + COL_LAST] = xstrdup(t);
        cells[i * NCOL + COL_TITLE] = xstrdup(f[i]->title ? f[i]->title : "");
        buf_free(&b);
        for (int c = 0; c < NCOL; c++) {
            size_t w = text_width(cells[i * NCOL + c]);
            if (w > wcol[c])
                wcol[c] = w;
        }
    }
    /* Fit the terminal by shortening the title, then the resource. */
    if (width > 0) {
        size_t total = 0;
        for (int c = 0; c < NCOL; c++)
            total += wcol[c] + (c + 1 < NCOL ? 2 : 0);
        size_t over = total > (size_t)width ? total - (size_t)width : 0;
        size_t shrink_title = wcol[COL_TITLE] > 20 ? wcol[COL_TITLE] - 20 : 0;
        size_t s = over < shrink_title ? over : shrink_title;
        wcol[COL_TITLE] -= s;
        over -= s;
        size_t shrink_res = wcol[COL_RES] > 24 ? wcol[COL_RES] - 24 : 0;
        s = over < shrink_res ? over : shrink_res;
        wcol[COL_RES] -= s;
    }

    int rc = 0;
    for (int c = 0; c < NCOL && rc == 0; c++)
        rc = put_cell(out, heads[c], wcol[c], c == NCOL - 1, c == COL_COUNT);
    if (rc == 0)
        rc = buf_putc(out, '\n');
    for (size_t i = 0; i < n && rc == 0; i++) {
        for (int c = 0; c < NCOL && rc == 0; c++) {
            char *cell = cells[i * NCOL + c];
            if (text_width(cell) > wcol[c] && wcol[c] > 3) {
                size_t keep = prefix_bytes(cell, wcol[c] - 3);
                memcpy(cell + keep, "...", 4);
            }
            if (c == COL_SEV && color) {
                const char *code = f[i]->severity >= 7.0   ? "\033[1;31m"
                                   : f[i]->severity >= 4.0 ? "\033[33m"
                                                           : "\033[34m";
                rc = buf_append_cstr(out, code);
                if (rc == 0)
                    rc = buf_append_cstr(out, cell);
                if (rc == 0)
                    rc = buf_append_cstr(out, "\033[0m");
                size_t w = text_width(cell);
                if (rc == 0)
                    rc = put_indent(out, (int)(wcol[c] > w ? wcol[c] - w : 0));
                if (rc == 0)
                    rc = buf_append_cstr(out, "  ");
            } else {
                rc = put_cell(out, cell, wcol[c], c == NCOL - 1, c == COL_COUNT);
            }
        }
        if (rc == 0)
            rc = buf_putc(out, '\n');
    }
    if (rc == 0)
        rc = buf_printf(out, "%zu finding%s\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n * NCOL; i++)
        free(cells[i]);
    free(cells);
    return rc;
}
