/*
 * AWS Security Finding Format (ASFF, SchemaVersion 2018-10-08), the shape
 * Security Hub's BatchImportFindings takes: {"Findings":[...]}.
 *
 * Required top-level attributes are always present (AwsAccountId, CreatedAt,
 * Description, GeneratorId, Id, ProductArn, Resources, SchemaVersion,
 * Severity, Title, Types, UpdatedAt). ProductArn is the account's own
 * "default" product, the one Security Hub accepts findings from any tool
 * under; Id is the GuardDuty-style finding ARN, so an import of a re-run
 * updates instead of duplicating. Types map the GuardDuty threat purpose onto
 * the ASFF namespace/category taxonomy, with the GuardDuty type (its '/'
 * replaced by '-') as the classifier.
 */
#include "finding/finding_int.h"

#include <stdio.h>
#include <string.h>

struct purpose_map {
    const char *purpose;
    const char *category;
};

static const struct purpose_map purposes[] = {
    { "Backdoor", "TTPs/Command and Control" },
    { "Behavior", "Unusual Behaviors/VM" },
    { "CredentialAccess", "TTPs/Credential Access" },
    { "CryptoCurrency", "Effects/Resource Consumption" },
    { "DefenseEvasion", "TTPs/Defense Evasion" },
    { "Discovery", "TTPs/Discovery" },
    { "Execution", "TTPs/Execution" },
    { "Exfiltration", "Effects/Data Exfiltration" },
    { "Impact", "Effects/Resource Consumption" },
    { "InitialAccess", "TTPs/Initial Access" },
    { "PenTest", "TTPs/Discovery" },
    { "Persistence", "TTPs/Persistence" },
    { "Policy", "Software and Configuration Checks/AWS Security Best Practices" },
    { "PrivilegeEscalation", "TTPs/Privilege Escalation" },
    { "Recon", "TTPs/Discovery" },
    { "Stealth", "TTPs/Defense Evasion" },
    { "Trojan", "TTPs/Command and Control" },
    { "UnauthorizedAccess", "TTPs/Initial Access" },
};

static void asff_type(struct buf *b, const char *type)
{
    const char *colon = strchr(type, ':');
    size_t plen = colon ? (size_t)(colon - type) : 0;
    const char *cat = "Unusual Behaviors/User";
    for (size_t i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
        if (strlen(purposes[i].purpose) == plen && strncmp(type, purposes[i].purpose, plen) == 0) {
            cat = purposes[i].category;
            break;
        }
    }
    /* Behavior on an IAM user is the user's, not a VM's. */
    if (strcmp(cat, "Unusual Behaviors/VM") == 0 && strstr(type, ":IAMUser/") != NULL)
        cat = "Unusual Behaviors/User";
    buf_printf(b, "%s/", cat);
    for (const char *p = type; *p; p++)
        buf_putc(b, *p == '/' ? '-' : *p);
}

/* ASFF's ActionRemoteIpDetails / ActionLocalIpDetails; geo may be NULL. */
static void ip_obj(struct json_writer *w, const char *key, const char *ip,
                   const struct finding_geo *geo)
{
    struct ipaddr a;
    if (ip == NULL || !ip_parse(sv_cstr(ip), &a))
        return;
    jw_key(w, key);
    jw_object_begin(w);
    finding__kv(w, a.v4 ? "IpAddressV4" : "IpAddressV6", ip);
    if (geo != NULL) {
        if (geo->asn || geo->asn_org || geo->isp || geo->org) {
            int64_t asn;
            jw_key(w, "Organization");
            jw_object_begin(w);
            if (geo->asn && sv_to_i64(sv_cstr(geo->asn), &asn)) {
                jw_key(w, "Asn");
                jw_int(w, asn);
            }
            finding__kv(w, "AsnOrg", geo->asn_org);
            finding__kv(w, "Isp", geo->isp);
            finding__kv(w, "Org", geo->org);
            jw_object_end(w);
        }
        if (geo->country_code || geo->country_name) {
            jw_key(w, "Country");
            jw_object_begin(w);
            finding__kv(w, "CountryCode", geo->country_code);
            finding__kv(w, "CountryName", geo->country_name);
            jw_object_end(w);
        }
        if (geo->city) {
            jw_key(w, "City");
            jw_object_begin(w);
            finding__kv(w, "CityName", geo->city);
            jw_object_end(w);
        }
        if (geo->has_location) {
            jw_key(w, "GeoLocation");
            jw_object_begin(w);
            jw_key(w, "Lon");
            jw_double(w, geo->lon);
            jw_key(w, "Lat");
            jw_double(w, geo->lat);
            jw_object_end(w);
        }
    }
    jw_object_end(w);
}

static void port_obj(struct json_writer *w, const char *key, int port)
{
    if (port < 0)
        return;
    jw_key(w, key);
    jw_object_begin(w);
    jw_key(w, "Port");
    jw_int(w, port);
    finding__kv(w, "PortName", finding__port_name(port));
    jw_object_end(w);
}

static void write_resources(struct json_writer *w, const struct finding *f, const char *part)
{
    const struct finding_detail *d = &f->d;
    struct buf id;
    buf_init(&id, 0);
    jw_key(w, "Resources");
    jw_array_begin(w);
    jw_object_begin(w);
    switch (f->resource) {
    case DETECT_RES_ACCESS_KEY:
        finding__kv(w, "Type", "AwsIamAccessKey");
        buf_append_cstr(&id, d->access_key_id ? d->access_key_id : f->key ? f->key : "unknown");
        break;
    case DETECT_RES_INSTANCE:
        finding__kv(w, "Type", "AwsEc2Instance");
        buf_printf(&id, "arn:%s:ec2:%s:%s:instance/%s", part, f->region ? f->region : "",
                   f->account ? f->account : "",
                   d->instance_id ? d->instance_id : f->key ? f->key : "unknown");
        break;
    case DETECT_RES_S3_BUCKET:
        finding__kv(w, "Type", "AwsS3Bucket");
        buf_printf(&id, "arn:%s:s3:::%s", part,
                   d->bucket_name ? d->bucket_name : f->key ? f->key : "unknown");
        break;
    }
    finding__kv(w, "Id", id.p);
    finding__kv(w, "Partition", part);
    finding__kv(w, "Region", f->region ? f->region : "");
    jw_key(w, "Details");
    jw_object_begin(w);
    switch (f->resource) {
    case DETECT_RES_ACCESS_KEY:
        jw_key(w, "AwsIamAccessKey");
        jw_object_begin(w);
        finding__kv(w, "AccessKeyId", d->access_key_id);
        finding__kv(w, "PrincipalId", d->principal_id);
        finding__kv(w, "PrincipalName", d->user_name);
        finding__kv(w, "PrincipalType", d->user_type);
        finding__kv(w, "AccountId", f->account);
        jw_object_end(w);
        break;
    case DETECT_RES_INSTANCE:
        jw_key(w, "AwsEc2Instance");
        jw_object_begin(w);
        if (d->local_ip) {
            struct ipaddr a;
            bool v4 = ip_parse(sv_cstr(d->local_ip), &a) && a.v4;
            jw_key(w, v4 ? "IpV4Addresses" : "IpV6Addresses");
            jw_array_begin(w);
            jw_str(w, d->local_ip);
            jw_array_end(w);
        }
        finding__kv(w, "VpcId", d->vpc_id);
        finding__kv(w, "SubnetId", d->subnet_id);
        if (d->eni_id) {
            jw_key(w, "NetworkInterfaces");
            jw_array_begin(w);
            jw_object_begin(w);
            finding__kv(w, "NetworkInterfaceId", d->eni_id);
            jw_object_end(w);
            jw_array_end(w);
        }
        jw_object_end(w);
        break;
    case DETECT_RES_S3_BUCKET:
        jw_key(w, "AwsS3Bucket");
        jw_object_begin(w);
        finding__kv(w, "Name", d->bucket_name ? d->bucket_name : f->key);
        jw_object_end(w);
        break;
    }
    jw_object_end(w);
    jw_object_end(w);
    /* The caller's key is a resource of an S3 finding too, as GuardDuty lists it. */
    if (f->resource == DETECT_RES_S3_BUCKET && d->access_key_id) {
        jw_object_begin(w);
        finding__kv(w, "Type", "AwsIamAccessKey");
        finding__kv(w, "Id", d->access_key_id);
        finding__kv(w, "Partition", part);
        finding__kv(w, "Region", f->region ? f->region : "");
        jw_object_end(w);
    }
    jw_array_end(w);
    buf_free(&id);
}

static void write_action(struct json_writer *w, const struct finding *f, const char *first,
                         const char *last)
{
    const struct finding_detail *d = &f->d;
    bool in = d->direction && strcmp(d->direction, "INBOUND") == 0;
    jw_key(w, "Action");
    jw_object_begin(w);
    finding__kv(w, "ActionType", finding_action_name(d->action));
    switch (d->action) {
    case FINDING_ACTION_API_CALL:
        jw_key(w, "AwsApiCallAction");
        jw_object_begin(w);
        finding__kv(w, "Api", d->api);
        finding__kv(w, "ServiceName", d->service_name);
        if (d->remote_ip) {
            finding__kv(w, "CallerType", "remoteip");
            ip_obj(w, "RemoteIpDetails", d->remote_ip, &d->remote_geo);
        } else if (d->caller_domain) {
            finding__kv(w, "CallerType", "domain");
            jw_key(w, "DomainDetails");
            jw_object_begin(w);
            finding__kv(w, "Domain", d->caller_domain);
            jw_object_end(w);
        }
        finding__kv(w, "FirstSeen", first);
        finding__kv(w, "LastSeen", last);
        jw_object_end(w);
        break;
    case FINDING_ACTION_NETWORK:
        jw_key(w, "NetworkConnectionAction");
        jw_object_begin(w);
        finding__kv(w, "ConnectionDirection", in ? "IN" : "OUT");
        ip_obj(w, "RemoteIpDetails", d->remote_ip, &d->remote_geo);
        port_obj(w, "RemotePortDetails", d->remote_port);
        port_obj(w, "LocalPortDetails", d->local_port);
        finding__kv(w, "Protocol", d->protocol);
        jw_key(w, "Blocked");
        jw_bool(w, d->blocked);
        jw_object_end(w);
        break;
    case FINDING_ACTION_PORT_PROBE:
        jw_key(w, "PortProbeAction");
        jw_object_begin(w);
        jw_key(w, "PortProbeDetails");
        jw_array_begin(w);
        jw_object_begin(w);
        port_obj(w, "LocalPortDetails", d->local_port);
        ip_obj(w, "LocalIpDetails", d->local_ip, NULL);
        ip_obj(w, "RemoteIpDetails", d->remote_ip, &d->remote_geo);
        jw_object_end(w);
        jw_array_end(w);
        jw_key(w, "Blocked");
        jw_bool(w, d->blocked);
        jw_object_end(w);
        break;
    case FINDING_ACTION_DNS:
        jw_key(w, "DnsRequestAction");
        jw_object_begin(w);
        finding__kv(w, "Domain", d->domain);
        finding__kv(w, "Protocol", d->protocol);
        jw_key(w, "Blocked");
        jw_bool(w, d->blocked);
        jw_object_end(w);
        break;
    }
    jw_object_end(w);
}

/* The flat Network object: source and destination as the packet saw them. */
static void write_network(struct json_writer *w, const struct finding *f)
{
    const struct finding_detail *d = &f->d;
    if (d->action != FINDING_ACTION_NETWORK && d->action != FINDING_ACTION_PORT_PROBE)
        return;
    bool in = d->direction && strcmp(d->direction, "INBOUND") == 0;
    const char *src = in ? d->remote_ip : d->local_ip, *dst = in ? d->local_ip : d->remote_ip;
    int sport = in ? d->remote_port : d->local_port, dport = in ? d->local_port : d->remote_port;
    struct ipaddr a;
    jw_key(w, "Network");
    jw_object_begin(w);
    finding__kv(w, "Direction", in || d->action == FINDING_ACTION_PORT_PROBE ? "IN" : "OUT");
    finding__kv(w, "Protocol", d->protocol);
    if (src && ip_parse(sv_cstr(src), &a))
        finding__kv(w, a.v4 ? "SourceIpV4" : "SourceIpV6", src);
    if (sport >= 0) {
        jw_key(w, "SourcePort");
        jw_int(w, sport);
    }
    if (dst && ip_parse(sv_cstr(dst), &a))
        finding__kv(w, a.v4 ? "DestinationIpV4" : "DestinationIpV6", dst);
    if (dport >= 0) {
        jw_key(w, "DestinationPort");
        jw_int(w, dport);
    }
    jw_object_end(w);
}

void finding_to_asff(struct json_writer *w, const struct finding *f)
{
    char first[32], last[32], num[32];
    finding__iso_ms(f->first_ms, first);
    finding__iso_ms(f->last_ms, last);
    const char *part = finding__partition(f->region);
    const char *region = f->region ? f->region : "";
    const char *account = f->account ? f->account : "";
    struct buf b;
    buf_init(&b, 0);

    jw_object_begin(w);
    finding__kv(w, "SchemaVersion", "2018-10-08");
    buf_printf(&b, "arn:%s:guardduty:%s:%s:detector/%s/finding/%s", part, region, account,
               f->detector_id, f->id);
    finding__kv(w, "Id", b.p);
    buf_reset(&b);
    buf_printf(&b, "arn:%s:securityhub:%s:%s:product/%s/default", part, region, account, account);
    finding__kv(w, "ProductArn", b.p);
    finding__kv(w, "ProductName", "Vigil");
    finding__kv(w, "CompanyName", "Vigil");
    finding__kv(w, "Region", region);
    buf_reset(&b);
    buf_printf(&b, "vigil/%s", f->rule_id ? f->rule_id : f->type ? f->type : "");
    finding__kv(w, "GeneratorId", b.p);
    finding__kv(w, "AwsAccountId", account);
    jw_key(w, "Types");
    jw_array_begin(w);
    buf_reset(&b);
    asff_type(&b, f->type ? f->type : "");
    jw_str(w, b.p);
    jw_array_end(w);
    finding__kv(w, "FirstObservedAt", first);
    finding__kv(w, "LastObservedAt", last);
    finding__kv(w, "CreatedAt", first);
    finding__kv(w, "UpdatedAt", last);
    jw_key(w, "Severity");
    jw_object_begin(w);
    const char *label = finding_severity_label(f->severity);
    buf_reset(&b);
    for (const char *p = label; *p; p++)
        buf_putc(&b, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
    finding__kv(w, "Label", b.p);
    snprintf(num, sizeof(num), "%g", f->severity);
    finding__kv(w, "Original", num);
    jw_object_end(w);
    /* ASFF caps these: Title at 256 characters, Description at 1024. */
    const char *title = f->title ? f->title : "", *desc = f->description ? f->description : "";
    jw_key(w, "Title");
    jw_str_sv(w, sv_make(title, strlen(title) > 256 ? 256 : strlen(title)));
    jw_key(w, "Description");
    jw_str_sv(w, sv_make(desc, strlen(desc) > 1024 ? 1024 : strlen(desc)));
    write_resources(w, f, part);
    write_network(w, f);
    write_action(w, f, first, last);

    jw_key(w, "ProductFields");
    jw_object_begin(w);
    finding__kv(w, "aws/guardduty/service/archived", "false");
    snprintf(num, sizeof(num), "%llu", (unsigned long long)f->count);
    finding__kv(w, "aws/guardduty/service/count", num);
    finding__kv(w, "aws/guardduty/service/detectorId", f->detector_id);
    finding__kv(w, "aws/guardduty/service/additionalInfo/threatListName", f->threat_list);
    finding__kv(w, "vigil/ruleId", f->rule_id);
    finding__kv(w, "vigil/key", f->key);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)f->events);
    finding__kv(w, "vigil/eventCount", num);
    buf_reset(&b);
    for (size_t i = 0; i < f->n_evidence; i++)
        buf_printf(&b, "%s%s", i ? "," : "", f->evidence[i]);
    if (f->n_evidence)
        finding__kv(w, "vigil/eventIds", b.p);
    jw_object_end(w);
    if (f->threat_list != NULL) {
        jw_key(w, "ThreatIntelIndicators");
        jw_array_begin(w);
        jw_object_begin(w);
        struct ipaddr a;
        bool ip = f->indicator && ip_parse(sv_cstr(f->indicator), &a);
        finding__kv(w, "Type", ip ? (a.v4 ? "IPV4_ADDRESS" : "IPV6_ADDRESS") : "DOMAIN");
        finding__kv(w, "Value", f->indicator);
        finding__kv(w, "Source", f->threat_list);
        jw_object_end(w);
        jw_array_end(w);
    }
    finding__kv(w, "RecordState", "ACTIVE");
    jw_key(w, "Workflow");
    jw_object_begin(w);
    finding__kv(w, "Status", "NEW");
    jw_object_end(w);
    jw_object_end(w);
    buf_free(&b);
}

int finding_write_asff(struct buf *out, const struct finding *const *f, size_t n, int indent)
{
    return finding__write_list(out, f, n, indent, finding_to_asff);
}
