/*
 * OCSF 1.1 Detection Finding (category 2 Findings, class_uid 2004), activity
 * Create (type_uid 200401), with the cloud profile. The required attributes
 * are always written (activity_id, category_uid, class_uid, finding_info.uid,
 * finding_info.title, metadata.product, metadata.version, severity_id, time,
 * type_uid); the event behind the finding becomes one evidences[] entry and
 * its addresses, domain and key become observables. Times are epoch ms, as
 * OCSF's timestamp_t is. The GuardDuty type is finding_info.types[0]; Vigil's
 * own fields (rule id, event ids) go under unmapped.vigil.
 */
#include "finding/finding_int.h"

#include <string.h>

static void kint(struct json_writer *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

static int severity_id(double s)
{
    /* OCSF: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. */
    return s >= 9.0 ? 5 : s >= 7.0 ? 4 : s >= 4.0 ? 3 : 2;
}

/* OCSF Network Endpoint; geo (the remote end's, or NULL) gives its location
 * and autonomous system. */
static void endpoint(struct json_writer *w, const char *key, const char *ip, int port,
                     const char *domain, const struct finding_geo *geo)
{
    if (ip == NULL && port < 0 && domain == NULL)
        return;
    jw_key(w, key);
    jw_object_begin(w);
    finding__kv(w, "ip", ip);
    finding__kv(w, "domain", domain);
    if (port >= 0)
        kint(w, "port", port);
    if (geo != NULL && (geo->country_code || geo->city || geo->has_location)) {
        jw_key(w, "location");
        jw_object_begin(w);
        finding__kv(w, "city", geo->city);
        finding__kv(w, "country", geo->country_code);
        if (geo->has_location) {
            /* GeoJSON order: longitude first. */
            jw_key(w, "coordinates");
            jw_array_begin(w);
            jw_double(w, geo->lon);
            jw_double(w, geo->lat);
            jw_array_end(w);
        }
        jw_object_end(w);
    }
    if (geo != NULL && (geo->asn || geo->asn_org)) {
        int64_t asn;
        jw_key(w, "autonomous_system");
        jw_object_begin(w);
        finding__kv(w, "name", geo->asn_org);
        if (geo->asn && sv_to_i64(sv_cstr(geo->asn), &asn))
            kint(w, "number", asn);
        jw_object_end(w);
    }
    jw_object_end(w);
}

static void observable(struct json_writer *w, const char *name, int type_id, const char *value)
{
    if (value == NULL)
        return;
    jw_object_begin(w);
    finding__kv(w, "name", name);
    kint(w, "type_id", type_id);
    finding__kv(w, "value", value);
    jw_object_end(w);
}

static void write_evidence(struct json_writer *w, const struct finding *f)
{
    const struct finding_detail *d = &f->d;
    bool in = d->direction && strcmp(d->direction, "INBOUND") == 0;
    jw_key(w, "evidences");
    jw_array_begin(w);
    jw_object_begin(w);
    switch (d->action) {
    case FINDING_ACTION_API_CALL:
        if (d->api || d->service_name) {
            jw_key(w, "api");
            jw_object_begin(w);
            finding__kv(w, "operation", d->api);
            if (d->service_name) {
                jw_key(w, "service");
                jw_object_begin(w);
                finding__kv(w, "name", d->service_name);
                jw_object_end(w);
            }
            if (d->error_code) {
                jw_key(w, "response");
                jw_object_begin(w);
                finding__kv(w, "error", d->error_code);
                jw_object_end(w);
            }
            jw_object_end(w);
        }
        if (d->access_key_id || d->user_name || d->principal_id) {
            jw_key(w, "actor");
            jw_object_begin(w);
            jw_key(w, "user");
            jw_object_begin(w);
            finding__kv(w, "uid", d->principal_id);
            finding__kv(w, "name", d->user_name);
            finding__kv(w, "type", d->user_type);
            if (d->access_key_id) {
                jw_key(w, "credential_uid");
                jw_str(w, d->access_key_id);
            }
            jw_object_end(w);
            jw_object_end(w);
        }
        endpoint(w, "src_endpoint", d->remote_ip, -1, d->caller_domain, &d->remote_geo);
        break;
    case FINDING_ACTION_NETWORK:
    case FINDING_ACTION_PORT_PROBE:
        endpoint(w, "src_endpoint", in ? d->remote_ip : d->local_ip,
                 in ? d->remote_port : d->local_port, NULL, in ? &d->remote_geo : NULL);
        endpoint(w, "dst_endpoint", in ? d->local_ip : d->remote_ip,
                 in ? d->local_port : d->remote_port, NULL, in ? NULL : &d->remote_geo);
        jw_key(w, "connection_info");
        jw_object_begin(w);
        finding__kv(w, "protocol_name", d->protocol);
        /* OCSF direction_id: 1 Inbound, 2 Outbound, 0 Unknown. */
        kint(w, "direction_id", in ? 1 : d->direction && strcmp(d->direction, "OUTBOUND") == 0 ? 2 : 0);
        jw_object_end(w);
        break;
    case FINDING_ACTION_DNS:
        endpoint(w, "src_endpoint", d->local_ip, d->local_port, NULL, NULL);
        if (d->domain) {
            jw_key(w, "query");
            jw_object_begin(w);
            finding__kv(w, "hostname", d->domain);
            jw_object_end(w);
        }
        break;
    }
    jw_object_end(w);
    jw_array_end(w);
}

void finding_to_ocsf(struct json_writer *w, const struct finding *f)
{
    const struct finding_detail *d = &f->d;
    const char *part = finding__partition(f->region);
    struct buf b;
    buf_init(&b, 0);

    jw_object_begin(w);
    kint(w, "activity_id", 1);
    finding__kv(w, "activity_name", "Create");
    kint(w, "category_uid", 2);
    finding__kv(w, "category_name", "Findings");
    kint(w, "class_uid", 2004);
    finding__kv(w, "class_name", "Detection Finding");
    kint(w, "type_uid", 200401);
    finding__kv(w, "type_name", "Detection Finding: Create");
    kint(w, "severity_id", severity_id(f->severity));
    finding__kv(w, "severity", finding_severity_label(f->severity));
    kint(w, "status_id", 1);
    finding__kv(w, "status", "New");
    kint(w, "time", f->last_ms);
    kint(w, "start_time", f->first_ms);
    kint(w, "end_time", f->last_ms);
    kint(w, "count", (int64_t)(f->count > INT32_MAX ? INT32_MAX : f->count));
    finding__kv(w, "message", f->title ? f->title : "");

    jw_key(w, "metadata");
    jw_object_begin(w);
    finding__kv(w, "version", "1.1.0");
    jw_key(w, "profiles");
    jw_array_begin(w);
    jw_str(w, "cloud");
    jw_array_end(w);
    jw_key(w, "product");
    jw_object_begin(w);
    finding__kv(w, "name", "Vigil");
    finding__kv(w, "vendor_name", "Vigil");
    jw_object_end(w);
    finding__kv(w, "uid", f->id);
    jw_object_end(w);

    jw_key(w, "cloud");
    jw_object_begin(w);
    finding__kv(w, "provider", "AWS");
    finding__kv(w, "region", f->region ? f->region : "");
    jw_key(w, "account");
    jw_object_begin(w);
    finding__kv(w, "uid", f->account ? f->account : "");
    jw_object_end(w);
    jw_object_end(w);

    jw_key(w, "finding_info");
    jw_object_begin(w);
    buf_printf(&b, "arn:%s:guardduty:%s:%s:detector/%s/finding/%s", part,
               f->region ? f->region : "", f->account ? f->account : "", f->detector_id, f->id);
    finding__kv(w, "uid", b.p);
    finding__kv(w, "title", f->title ? f->title : "");
    finding__kv(w, "desc", f->description);
    jw_key(w, "types");
    jw_array_begin(w);
    jw_str(w, f->type ? f->type : "");
    jw_array_end(w);
    kint(w, "created_time", f->first_ms);
    kint(w, "modified_time", f->last_ms);
    kint(w, "first_seen_time", f->first_ms);
    kint(w, "last_seen_time", f->last_ms);
    if (f->rule_id) {
        jw_key(w, "analytic");
        jw_object_begin(w);
        finding__kv(w, "uid", f->rule_id);
        finding__kv(w, "name", f->rule_id);
        kint(w, "type_id", 1);
        finding__kv(w, "type", "Rule");
        jw_object_end(w);
    }
    jw_object_end(w);

    jw_key(w, "resources");
    jw_array_begin(w);
    jw_object_begin(w);
    buf_reset(&b);
    switch (f->resource) {
    case DETECT_RES_ACCESS_KEY:
        finding__kv(w, "type", "AwsIamAccessKey");
        finding__kv(w, "uid", d->access_key_id ? d->access_key_id : f->key);
        finding__kv(w, "name", d->user_name);
        break;
    case DETECT_RES_INSTANCE:
        finding__kv(w, "type", "AwsEc2Instance");
        buf_printf(&b, "arn:%s:ec2:%s:%s:instance/%s", part, f->region ? f->region : "",
                   f->account ? f->account : "", d->instance_id ? d->instance_id : f->key ? f->key : "");
        finding__kv(w, "uid", b.p);
        finding__kv(w, "name", d->instance_id ? d->instance_id : f->key);
        break;
    case DETECT_RES_S3_BUCKET:
        finding__kv(w, "type", "AwsS3Bucket");
        buf_printf(&b, "arn:%s:s3:::%s", part, d->bucket_name ? d->bucket_name : f->key ? f->key : "");
        finding__kv(w, "uid", b.p);
        finding__kv(w, "name", d->bucket_name ? d->bucket_name : f->key);
        break;
    }
    finding__kv(w, "region", f->region);
    finding__kv(w, "cloud_partition", part);
    jw_object_end(w);
    jw_array_end(w);

    write_evidence(w, f);

    /* OCSF observable type_id: 1 Hostname, 2 IP Address. */
    jw_key(w, "observables");
    jw_array_begin(w);
    observable(w, "remote_ip", 2, d->remote_ip);
    observable(w, "local_ip", 2, d->local_ip);
    observable(w, "domain", 1, d->domain);
    if (f->indicator) {
        struct ipaddr a;
        observable(w, "indicator", ip_parse(sv_cstr(f->indicator), &a) ? 2 : 1, f->indicator);
    }
    jw_array_end(w);

    jw_key(w, "unmapped");
    jw_object_begin(w);
    jw_key(w, "vigil");
    jw_object_begin(w);
    finding__kv(w, "ruleId", f->rule_id);
    finding__kv(w, "key", f->key);
    finding__kv(w, "threatListName", f->threat_list);
    jw_key(w, "eventIds");
    jw_array_begin(w);
    for (size_t i = 0; i < f->n_evidence; i++)
        jw_str(w, f->evidence[i]);
    jw_array_end(w);
    kint(w, "eventCount", (int64_t)f->events);
    jw_object_end(w);
    jw_object_end(w);
    jw_object_end(w);
    buf_free(&b);
}

int finding_write_ocsf(struct buf *out, const struct finding *const *f, size_t n)
{
    /* OCSF has no list envelope: one event per line, as collectors ingest it. */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = finding__append(out, f[i], 0, 0, finding_to_ocsf);
        if (rc == 0)
            rc = buf_putc(out, '\n');
    }
    return rc;
}
