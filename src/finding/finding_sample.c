/*
 * Sample findings, as GuardDuty's CreateSampleFindings makes them: one
 * finding per type, "[SAMPLE]" in the title and service.additionalInfo.sample
 * = true, with placeholder details shaped like a real finding of that type
 * (the action GuardDuty reports for it, the ports and direction its detector
 * looks at, a remote address with its location and organization).
 *
 * Placeholders use the ranges reserved for documentation (198.51.100.0/24,
 * AS 64496-64511, example.com, amzn-s3-demo-bucket, AWS's EXAMPLE access
 * keys), so a sample can never be mistaken for, or collide with, a real
 * resource. Everything is derived from the type, so samples are stable.
 */
#include "finding/finding_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has(const char *type, const char *word) { return strstr(type, word) != NULL; }

static void set(char **field, const char *v)
{
    free(*field);
    *field = v ? xstrdup(v) : NULL;
}

/* A few remote places; the type picks one, so samples differ but are stable. */
static const struct {
    const char *cc, *country, *city;
    double lat, lon;
    const char *asn, *org;
} PLACES[] = {
    { "FR", "France", "Paris", 48.8566, 2.3522, "64496", "Example Transit Europe" },
    { "BR", "Brazil", "São Paulo", -23.5475, -46.6361, "64497", "Example Telecom Brasil" },
    { "SG", "Singapore", "Singapore", 1.2897, 103.8501, "64498", "Example Cloud Asia" },
    { "US", "United States", "Ashburn", 39.0437, -77.4875, "64499", "Example Hosting Inc." },
    { "NL", "Netherlands", "Amsterdam", 52.3740, 4.8897, "64500", "Example VPS B.V." },
    { "RO", "Romania", "Bucharest", 44.4323, 26.1063, "64501", "Example Datacenter SRL" },
};

struct net_shape {
    const char *direction; /* "INBOUND" / "OUTBOUND" */
    const char *protocol;
    int local_port, remote_port;
    bool blocked;
    bool probe; /* PORT_PROBE */
};

/* Ports and direction as the detector of this type sees them. */
static struct net_shape net_shape(const char *t)
{
    struct net_shape s = { "OUTBOUND", "TCP", 49152, 443, false, false };
    if (has(t, "SSHBruteForce") || has(t, "RDPBruteForce") || has(t, "WinRMBruteForce")) {
        int port = has(t, "SSH") ? 22 : has(t, "RDP") ? 3389 : 5985;
        s = (struct net_shape){ "INBOUND", "TCP", port, 51034, false, false };
    } else if (has(t, "PortProbe")) {
        s = (struct net_shape){ "INBOUND", "TCP", has(t, "EMR") ? 8088 : 22, 44321, false, true };
    } else if (has(t, "Portscan") || has(t, "PortSweep")) {
        s.remote_port = 22;
    } else if (has(t, "DenialOfService.Tcp")) {
        s.remote_port = 80;
    } else if (has(t, "DenialOfService.Udp") || has(t, "DenialOfService.UdpOnTcpPorts")) {
        s.protocol = "UDP";
        s.remote_port = has(t, "OnTcpPorts") ? 80 : 19;
    } else if (has(t, "DenialOfService.Dns")) {
        s.protocol = "UDP";
        s.remote_port = 53;
    } else if (has(t, "DenialOfService.UnusualProtocol")) {
        s.protocol = "IGMP";
        s.local_port = s.remote_port = -1;
    } else if (has(t, "Spambot")) {
        s.remote_port = 25;
    } else if (has(t, "UnusualDNSResolver")) {
        s.protocol = "UDP";
        s.remote_port = 53;
    } else if (has(t, "UnusualDoTActivity")) {
        s.remote_port = 853;
    } else if (has(t, "TorClient") || has(t, "TorRelay")) {
        s.remote_port = 9001;
    } else if (has(t, "NetworkPortUnusual")) {
        s.remote_port = 1389;
    } else if (has(t, "BitcoinTool")) {
        s.remote_port = 3333;
    }
    return s;
}

static const char *sample_domain(const char *t)
{
    if (has(t, "C&CActivity"))
        return "guarddutyc2activityb.com"; /* AWS's documented test domain */
    if (has(t, "DNSDataExfiltration"))
        return "mzxw6ytboi2gc3tfmfzgk3th.nzsxg5a.exfil.example.net";
    if (has(t, "DGADomainRequest"))
        return "xkqjzvbnwplrtys.example.com";
    if (has(t, "Bitcoin") || has(t, "CryptoCurrency"))
        return "pool.mining.example.com";
    if (has(t, "MetadataDNSRebind"))
        return "rebind.example.com";
    if (has(t, "Phishing"))
        return "login-verify.example.com";
    return "malicious.example.com";
}

static const char *sample_user_agent(const char *t)
{
    if (has(t, "KaliLinux"))
        return "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off";
    if (has(t, "ParrotLinux"))
        return "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-13parrot1-amd64 exe/x86_64.parrot.6 prompt/off";
    if (has(t, "PentooLinux"))
        return "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.8-pentoo exe/x86_64.gentoo prompt/off";
    return "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.210-201.852.amzn2.x86_64 exe/x86_64.amzn.2";
}

/* An API of the class GuardDuty's detectors of this purpose look at (the
 * classes the AnomalousBehavior types use), when the rule names none. */
static void default_api(const char *t, bool s3, const char **api, const char **service)
{
    static const struct {
        const char *prefix;
        const char *api, *service;        /* management events */
        const char *s3api;                /* S3 data events */
    } BY_PURPOSE[] = {
        { "Recon:", "DescribeInstances", "ec2.amazonaws.com", "ListObjects" },
        { "Discovery:", "ListAccessKeys", "iam.amazonaws.com", "ListObjects" },
        { "CredentialAccess:", "GetSecretValue", "secretsmanager.amazonaws.com", "GetObject" },
        { "DefenseEvasion:", "DeleteFlowLogs", "ec2.amazonaws.com", "PutBucketLogging" },
        { "Stealth:", "StopLogging", "cloudtrail.amazonaws.com", "PutBucketLogging" },
        { "Exfiltration:", "CreateSnapshot", "ec2.amazonaws.com", "GetObject" },
        { "Impact:", "DeleteSecurityGroup", "ec2.amazonaws.com", "DeleteObject" },
        { "InitialAccess:", "StartSession", "ssm.amazonaws.com", "GetObject" },
        { "Persistence:", "CreateAccessKey", "iam.amazonaws.com", "PutObject" },
        { "PrivilegeEscalation:", "AttachUserPolicy", "iam.amazonaws.com", "PutBucketPolicy" },
        { "Policy:", "GetCallerIdentity", "sts.amazonaws.com", "PutBucketPolicy" },
        { "UnauthorizedAccess:", "RunInstances", "ec2.amazonaws.com", "PutObject" },
    };
    *api = s3 ? "GetObject" : "DescribeInstances";
    *service = s3 ? "s3.amazonaws.com" : "ec2.amazonaws.com";
    for (size_t i = 0; i < sizeof(BY_PURPOSE) / sizeof(BY_PURPOSE[0]); i++) {
        if (strncmp(t, BY_PURPOSE[i].prefix, strlen(BY_PURPOSE[i].prefix)) != 0)
            continue;
        if (s3) {
            *api = BY_PURPOSE[i].s3api;
        } else {
            *api = BY_PURPOSE[i].api;
            *service = BY_PURPOSE[i].service;
        }
        break;
    }
    if (has(t, "ConsoleLogin")) {
        *api = "ConsoleLogin";
        *service = "signin.amazonaws.com";
    }
}

static void fill_access_key(struct finding_detail *d, const char *t)
{
    if (has(t, "Root")) {
        set(&d->access_key_id, "ASIAIOSFODNN7EXAMPLE");
        set(&d->principal_id, "123456789012");
        set(&d->user_name, "Root");
        set(&d->user_type, "Root");
    } else if (has(t, "InstanceCredentialExfiltration")) {
        set(&d->access_key_id, "ASIAI44QH8DHBEXAMPLE");
        set(&d->principal_id, "AROAJ52OTH4H7LEXAMPLE:i-0a1b2c3d4e5f67890");
        set(&d->user_name, "app-server-role");
        set(&d->user_type, "AssumedRole");
    } else {
        set(&d->access_key_id, "AKIAIOSFODNN7EXAMPLE");
        set(&d->principal_id, "AIDACKCEVSQ6C2EXAMPLE");
        set(&d->user_name, "alice");
        set(&d->user_type, "IAMUser");
    }
}

void finding_sample_add(struct finding_agg *agg, const struct finding_sample_spec *spec,
                        const char *account, const char *region, int64_t ms)
{
    const char *t = spec->type ? spec->type : "";
    uint64_t h = hash64(t, strlen(t), 0x73616d706c65ULL);
    const char *key = spec->resource == DETECT_RES_INSTANCE    ? "i-0a1b2c3d4e5f67890"
                      : spec->resource == DETECT_RES_S3_BUCKET ? "amzn-s3-demo-bucket"
                      : has(t, "Root")                          ? "ASIAIOSFODNN7EXAMPLE"
                      : has(t, "InstanceCredentialExfiltration") ? "ASIAI44QH8DHBEXAMPLE"
                                                                 : "AKIAIOSFODNN7EXAMPLE";
    struct finding *f = finding__create(agg, sv_cstr(account), sv_cstr(region), t, sv_cstr(key),
                                        spec->resource);
    struct finding_detail *d = &f->d;
    f->severity = spec->severity;
    f->count = 1;
    f->events = 1;
    f->first_ms = f->last_ms = f->rep_ms = ms;
    f->sample = true;
    set(&f->rule_id, spec->rule_id);

    char remote[32];
    snprintf(remote, sizeof(remote), "198.51.100.%u", (unsigned)(10 + h % 240));
    size_t pl = (size_t)(h >> 32) % (sizeof(PLACES) / sizeof(PLACES[0]));
    struct finding_geo *g = &d->remote_geo;
    finding__geo_free(g);
    set(&g->country_code, PLACES[pl].cc);
    set(&g->country_name, PLACES[pl].country);
    set(&g->city, PLACES[pl].city);
    g->has_location = true;
    g->lat = PLACES[pl].lat;
    g->lon = PLACES[pl].lon;
    set(&g->asn, PLACES[pl].asn);
    set(&g->asn_org, PLACES[pl].org);
    set(&g->isp, PLACES[pl].org);
    set(&g->org, PLACES[pl].org);

    d->source = spec->source;
    d->remote_port = d->local_port = -1;
    const char *what = key;
    if (spec->source == EVENT_CLOUDTRAIL) {
        d->action = FINDING_ACTION_API_CALL;
        fill_access_key(d, t);
        bool s3 = spec->resource == DETECT_RES_S3_BUCKET;
        const char *api, *service;
        default_api(t, s3, &api, &service);
        set(&d->api, spec->api ? spec->api : api);
        set(&d->service_name, spec->service ? spec->service : service);
        set(&d->user_agent, sample_user_agent(t));
        set(&d->remote_ip, remote);
        if (s3)
            set(&d->bucket_name, key);
        if (spec->resource == DETECT_RES_INSTANCE)
            set(&d->instance_id, key);
        if (spec->resource == DETECT_RES_ACCESS_KEY)
            what = d->user_name;
    } else {
        set(&d->instance_id, key);
        set(&d->eni_id, "eni-0a1b2c3d4e5f67890");
        set(&d->vpc_id, "vpc-0a1b2c3d4e5f67890");
        set(&d->subnet_id, "subnet-0a1b2c3d4e5f67890");
        set(&d->local_ip, "10.0.1.25");
        if (spec->source == EVENT_DNS) {
            d->action = FINDING_ACTION_DNS;
            set(&d->domain, sample_domain(t));
            set(&d->protocol, "UDP");
            finding__geo_free(g); /* a DNS finding has no remote address */
        } else {
            struct net_shape s = net_shape(t);
            d->action = s.probe ? FINDING_ACTION_PORT_PROBE : FINDING_ACTION_NETWORK;
            set(&d->direction, s.direction);
            set(&d->protocol, s.protocol);
            d->local_port = s.local_port;
            d->remote_port = s.remote_port;
            d->blocked = s.blocked;
            set(&d->remote_ip, remote);
        }
    }

    /* List detectors name their list and the listed indicator. */
    if (has(t, ".Custom") || has(t, "TorIPCaller") || has(t, "TorClient")) {
        set(&f->threat_list, has(t, "Tor") ? "tor-exit-nodes.txt" : "my-threat-list.txt");
        set(&f->indicator, d->domain ? d->domain : d->remote_ip);
    }

    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "[SAMPLE] %s", spec->title ? spec->title : t);
    if (spec->title == NULL)
        buf_printf(&b, " on %s %s", detect_resource_name(spec->resource), what ? what : key);
    set(&f->title, b.p);
    buf_reset(&b);
    buf_printf(&b,
               "This is a sample finding of type %s made by vigil findings sample: the resource, "
               "addresses and names are placeholders. Use it to test suppression rules, "
               "EventBridge patterns and the tooling that reads findings.",
               t);
    set(&f->description, b.p);
    buf_reset(&b);
    /* One evidence id, shaped like a CloudTrail eventID. */
    uint64_t e = hash64(t, strlen(t), 0x65766964ULL);
    buf_printf(&b, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(e >> 32), (unsigned)(e >> 16) & 0xffff,
               (unsigned)e & 0xffff, (unsigned)(h >> 48), (unsigned long long)(h & 0xffffffffffffULL));
    set(&f->rep_event_id, b.p);
    if (f->n_evidence == 0) {
        f->evidence[0] = buf_steal(&b);
        f->evidence_ms[0] = ms;
        f->n_evidence = 1;
    }
    buf_free(&b);
}
