/*
 * detect: rules as data and the detector kinds that run them.
 *
 * A rule is a YAML document (see README "Rule format"): an id, a GuardDuty
 * finding type, a severity, title/description templates, the source it reads,
 * an EventBridge pattern over the record, and optionally a named check (a C
 * predicate for what a pattern cannot say, e.g. "this bucket policy grants
 * access to everyone"). All rules' patterns are compiled into one match_set.
 *
 * The engine turns events into detections; the finding module turns
 * detections into GuardDuty findings (ids, aggregation, output).
 */
#ifndef VIGIL_DETECT_H
#define VIGIL_DETECT_H

#include "core/core.h"
#include "event/event.h"

/* What a finding is about, as GuardDuty's resource.resourceType says it. */
enum detect_resource {
    DETECT_RES_ACCESS_KEY = 0, /* "AccessKey": the principal's credentials */
    DETECT_RES_INSTANCE,       /* "Instance": an EC2 instance (flows, DNS) */
    DETECT_RES_S3_BUCKET       /* "S3Bucket" */
};

/* One piece of evidence that a rule fired on an event. Everything is borrowed:
 * the rule from the rule set, the strings from the rule set or the batch arena,
 * the event from the caller. Valid during the emit callback only. */
struct detection {
    const char *rule_id;
    const char *type;       /* GuardDuty finding type, e.g. "Stealth:IAMUser/CloudTrailLoggingDisabled" */
    double severity;        /* 1.0-8.9 as GuardDuty grades (Low < 4, Medium < 7, High) */
    const char *title;      /* rendered from the rule's template */
    const char *description;
    enum detect_resource resource;
    struct sv key;          /* what the finding is about: the same key aggregates */
    const char *threat_list;  /* threatListName when an indicator list fired, else NULL */
    struct sv indicator;      /* the listed IP or domain, when a list fired */
    const struct event *ev;
};

typedef void (*detect_emit_fn)(void *ctx, const struct detection *d);

#endif
