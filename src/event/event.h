/*
 * event: the one model every source is normalized into.
 *
 * An event is a record (a CloudTrail record, a VPC flow log line, a Route 53
 * Resolver query) seen through two lenses:
 *   - its leaves: the record flattened the way EventBridge flattens events
 *     (json.h), which is what rule patterns match against. A flow log line's
 *     leaves are its named fields ("srcaddr", "dstport", ...) with numbers typed
 *     as numbers; a Resolver query's leaves come from its JSON.
 *   - a few common fields, pulled out once so detectors, findings and the
 *     store need not search the leaves.
 *
 * Every view points into the record's bytes or the batch arena: an event is
 * valid until the arena it was built in is reset. Copy out what must outlive it.
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include "core/core.h"
#include "json/json.h"

enum event_source {
    EVENT_CLOUDTRAIL = 0, /* a CloudTrail record (management, data or Insights event) */
    EVENT_VPCFLOW,        /* a VPC Flow Logs record */
    EVENT_DNS,            /* a Route 53 Resolver query log record */
    EVENT_S3ACCESS,       /* an Amazon S3 server access log record */
    EVENT_CLOUDFRONT,     /* a CloudFront standard (access) log record */
    EVENT_WAF,            /* an AWS WAF web ACL traffic log record */
    EVENT_SOURCE_COUNT
};

/* Name used in rule files ("cloudtrail", "vpcflow", "dns", "s3access",
 * "cloudfront", "waf"). */
const char *event_source_name(enum event_source s);
/* Parses a rule file's source name; false if unknown. */
bool event_source_parse(struct sv name, enum event_source *out);

/* The EventBridge envelope a record arrived in ("detail-type": "AWS API Call
 * via CloudTrail", ...); all views empty when the record came bare. */
struct event_envelope {
    struct sv raw;         /* the whole envelope's JSON text */
    struct sv id;          /* "id" */
    struct sv detail_type; /* "detail-type" */
    struct sv source;      /* "source", e.g. "aws.signin" */
    struct sv account;     /* "account" */
    struct sv region;      /* "region" */
    struct sv time;        /* "time" (ISO 8601 text) */
};

/* event.flags */
#define EVENT_F_INSIGHT 0x1u  /* a CloudTrail Insights event (eventCategory "Insight") */
#define EVENT_F_ENVELOPE 0x2u /* the record came inside an EventBridge envelope */
/* A CloudTrail record with a leaf inside an array at one of the paths
 * event_fill_common reads ("eventName": [...]): its fields are then the
 * first leaf outside arrays, which is not the first leaf of the path. */
#define EVENT_F_CT_ARRAYED 0x4u

struct event {
    enum event_source source;
    uint32_t flags;      /* EVENT_F_* */
    int64_t time_ms;     /* event time (eventTime, flow start, query_timestamp) */
    struct sv id;        /* eventID; for flows/DNS a stable hash id (hex) of the record */
    struct sv account;   /* recipientAccountId / account-id / account_id */
    struct sv region;    /* awsRegion / region */
    struct sv src_ip;    /* sourceIPAddress / srcaddr / srcaddr of the query */
    /* CloudTrail only (empty otherwise). */
    struct sv event_source; /* "s3.amazonaws.com" */
    struct sv event_name;   /* "PutBucketPolicy" */
    struct sv principal_arn;
    struct sv principal_type; /* userIdentity.type */
    struct sv principal_id;
    struct sv user_name;      /* userIdentity.userName or sessionIssuer.userName */
    struct sv access_key;     /* userIdentity.accessKeyId */
    struct sv user_agent;
    struct sv error_code;
    struct sv event_category; /* "Management", "Data", "Insight", ... */
    struct event_envelope envelope;
    struct json_flat flat;    /* the leaves (storage owned by whoever built the event) */
    struct sv raw;            /* the record's bytes (JSON text or the flow line) */
    /* VPC flow lines from the input module that have every field of their
     * format: an id of that format (a hash of its field names, never 0), so
     * that all such lines have the same leaf paths in the same order and a
     * later stage can reuse where it found a field in an earlier line without
     * comparing the paths. 0 for other lines and other events. */
    uint64_t flow_fmt;
    const char *file;         /* borrowed input file name ("-" for stdin) */
    uint64_t record_no;       /* 1-based record number within the file */
};

/* Builds the common fields of ev from its leaves (ev->flat, ev->source and,
 * for flows/DNS, ev->raw must be set; the other common fields are overwritten,
 * envelope and flags other than EVENT_F_INSIGHT and EVENT_F_CT_ARRAYED are
 * kept). String values with escapes are decoded into arena. Null values count
 * as absent.
 *   CloudTrail: eventTime, eventID, recipientAccountId (else
 *     userIdentity.accountId), awsRegion, sourceIPAddress, eventSource,
 *     eventName, userIdentity.{arn,type,principalId,accessKeyId,userName or
 *     sessionContext.sessionIssuer.userName}, userAgent, errorCode,
 *     eventCategory. An Insights record takes eventSource/eventName from
 *     insightDetails and gets EVENT_F_INSIGHT. When eventTime is absent the
 *     envelope's time is used.
 *   VPC flow: start (Unix seconds), account-id, region, srcaddr.
 *   DNS: query_timestamp, account_id, region, srcaddr.
 *   S3 server access: requestdatetime ("06/Feb/2019:00:00:38 +0000"), remoteip.
 *   CloudFront: date and time (UTC), c-ip.
 *   WAF: timestamp (epoch ms), httpRequest.clientIp.
 * For flows, DNS and the web logs, id is a hash of the raw record (16 hex digits, in arena):
 * the same record gives the same id in whatever file it is found.
 * Returns ERR_FORMAT when a field that must be a string is not, or a time does
 * not parse (err names the field and the value). */
int event_fill_common(struct event *ev, struct arena *arena, struct err *err);

/* Leaf value for an exact path, decoded; SV_NULL when absent or not a string. */
struct sv event_get_str(const struct event *ev, const char *path, struct arena *arena);

/* Paths event_fill_common reads, to add to the scanner's path set. */
void event_add_common_paths(struct json_pathset *ps);

#endif
