/*
 * sim internals: the world (accounts, instances, people), the record
 * builders every generator uses, and the output collector.
 *
 * Generators never write files: they hand records to the collector
 * (sim__ct, sim__flow, sim__dns), which files them by source and hour as AWS
 * delivers them, and at the end writes every file in S3 layout. Times are
 * event times in milliseconds since the epoch (UTC).
 */
#ifndef VIGIL_SIM_INT_H
#define VIGIL_SIM_INT_H

#include "json/json.h"
#include "sim/sim.h"

#define SIM_MIN 60000LL
#define SIM_HOUR (60 * SIM_MIN)
#define SIM_DAY (24 * SIM_HOUR)

/* ---- random numbers (splitmix64): deterministic streams ------------------------- */

struct sim_rng {
    uint64_t s;
};

uint64_t sim__next(struct sim_rng *r);
/* A stream of its own for (seed, name, n): generators that must not shift
 * when another one changes (the background under every attack) use their own. */
struct sim_rng sim__stream(uint64_t seed, const char *name, uint64_t n);
uint32_t sim__below(struct sim_rng *r, uint32_t n); /* [0, n) */
uint32_t sim__range(struct sim_rng *r, uint32_t lo, uint32_t hi); /* [lo, hi] */
bool sim__chance(struct sim_rng *r, double p);
double sim__unit(struct sim_rng *r);
/* Writes n characters drawn from alphabet into out (NUL-terminated). */
void sim__chars(struct sim_rng *r, const char *alphabet, size_t n, char *out);
/* A random RFC 4122 version 4 UUID: 36 characters + NUL. */
void sim__uuid(struct sim_rng *r, char out[37]);

/* ---- the world -------------------------------------------------------------------- */

#define SIM_ACCOUNT "111122223333"   /* the company's production account */
#define SIM_ACCOUNT2 "444455556666"  /* its shared-services account */
#define SIM_OUTSIDER "999988887777"  /* an account that is not theirs */
#define SIM_REGION "us-east-1"
#define SIM_VPC "vpc-0a1b2c3d4e5f60718"
#define SIM_FLOW_LOG "fl-0123456789abcdef0"
#define SIM_TRAIL "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"
#define SIM_NAT_IP "3.84.10.100"      /* the NAT gateway's Elastic IP */
#define SIM_OFFICE_IP "192.0.2.10"    /* the office egress */
#define SIM_CI_IP "192.0.2.20"        /* the CI runners */
#define SIM_HOME_IP "198.51.100.23"   /* bob's home */

enum sim_kind { SIM_WEB, SIM_APP, SIM_DB, SIM_BASTION, SIM_BATCH, SIM_WIN, SIM_DEV };

struct sim_instance {
    const char *name;
    const char *id, *eni, *subnet, *az;
    const char *private_ip;
    const char *public_ip; /* NULL: egress through the NAT gateway */
    const char *role;      /* instance profile role, or NULL */
    enum sim_kind kind;
};

size_t sim__instance_count(void);
const struct sim_instance *sim__instance(size_t i);
const struct sim_instance *sim__instance_named(const char *name);
/* The address its API calls come from (public IP, or the NAT's). */
const char *sim__egress_ip(const struct sim_instance *in);

/* Who made a CloudTrail call. */
enum sim_id_type { SIM_ID_USER, SIM_ID_ROLE, SIM_ID_ROOT, SIM_ID_ANON, SIM_ID_SERVICE };

struct sim_identity {
    enum sim_id_type type;
    const char *account;
    const char *name;       /* user name, role name, or service ("ec2.amazonaws.com") */
    const char *session;    /* role session name (instance id for EC2 roles) */
    char access_key[24];    /* AKIA... / ASIA... / "" (console sign-in) */
    char principal_id[64];  /* AIDA... or AROA...:session */
    bool console;           /* a console session (temporary key, sessionContext) */
    bool mfa;
    bool ec2_role;          /* credentials delivered by the instance metadata service */
    int64_t session_ms;     /* sessionContext.attributes.creationDate */
};

/* An IAM user's long-term key (stable per user name). */
void sim__user(struct sim_identity *id, const char *account, const char *user);
/* The same user signed in to the console (temporary key, MFA as given). */
void sim__console_user(struct sim_identity *id, const char *account, const char *user, bool mfa,
                       int64_t login_ms);
/* An instance role session: the key changes every 6 hours as IMDS rotates it. */
void sim__instance_role(struct sim_identity *id, const struct sim_instance *in, int64_t ms);
void sim__root(struct sim_identity *id, const char *account);
void sim__anonymous(struct sim_identity *id);
void sim__service(struct sim_identity *id, const char *service);
/* A stable id of the given shape: prefix + n characters of [A-Z2-7] from name. */
void sim__stable_id(const char *prefix, const char *name, size_t n, char *out);

/* ---- records ------------------------------------------------------------------------ */

/* One CloudTrail record. JSON members (req, resp, resources, extra) are JSON
 * text written as is; NULL request/response become null. */
struct sim_ct {
    int64_t ms;
    const struct sim_identity *who;
    const char *event_source; /* "iam.amazonaws.com" */
    const char *event_name;
    const char *ip;           /* sourceIPAddress */
    const char *ua;           /* userAgent */
    const char *req, *resp;
    const char *error_code, *error_message;
    bool read_only;
    bool data;                /* a data event (S3 object level) */
    const char *resources;    /* JSON array text */
    const char *additional;   /* additionalEventData object text */
    const char *region;       /* NULL = us-east-1 */
    const char *recipient;    /* recipientAccountId; NULL = the identity's account */
    const char *event_type;   /* NULL = "AwsApiCall" */
};

struct sim_flow {
    int64_t ms;               /* start */
    const struct sim_instance *in; /* the interface the record is logged on */
    const char *src, *dst;
    int sport, dport;
    int proto;                /* 6, 17, 1, 2 ... */
    uint64_t packets, bytes;
    bool reject;
    bool ingress;             /* flow-direction as seen by in's interface */
    int tcp_flags;
    int secs;                 /* end - start, 0 = 60 */
    const char *src_service, *dst_service; /* pkt-*-aws-service, NULL = "-" */
};

struct sim_dns {
    int64_t ms;
    const struct sim_instance *in;
    const char *name;         /* without the trailing dot */
    const char *qtype;        /* "A" */
    const char *rcode;        /* "NOERROR" */
    const char *answer;       /* Rdata of one answer, or NULL */
    const char *answer_type;  /* NULL = qtype */
};

/* What the logs should make vigil find. */
struct sim_expect {
    const char *type;
    const char *resource; /* "AccessKey", "Instance", "S3Bucket" */
    const char *key;      /* the aggregation key: access key id, instance id, bucket */
    const char *remote_ip;
    const char *domain;   /* the queried domain (or a parent of it) */
    bool pending;         /* its detector is not on main yet */
    const char *why;      /* one line: what in the logs should raise it */
    bool optional;        /* may be raised (a side effect GuardDuty may or may not
                           * report): not required, not unexpected either */
};

/* The lists a scenario writes into lists/. A category list (GuardDuty's
 * threat intelligence for one purpose, e.g. crypto-mining) is passed as
 * --threat-list CATEGORY:FILE, which vigil detect may not support yet: it goes
 * into ground-truth.json's optional arguments. */
enum sim_list { SIM_LIST_THREAT = 0, SIM_LIST_TOR, SIM_LIST_TRUSTED, SIM_LIST_BITCOIN,
                SIM_LIST_COUNT };

struct sim_ctx;

void sim__ct(struct sim_ctx *c, const struct sim_ct *r);
void sim__flow(struct sim_ctx *c, const struct sim_flow *f);
/* A TCP/UDP connection as flow logs show it on in's interface: the request
 * record and, unless rejected, the reply record. */
void sim__conn(struct sim_ctx *c, const struct sim_flow *f);
void sim__dns(struct sim_ctx *c, const struct sim_dns *d);
void sim__expect(struct sim_ctx *c, const struct sim_expect *e);
void sim__list(struct sim_ctx *c, enum sim_list l, const char *entry, const char *comment);
/* Where an address range is, for geo/: records go into both databases. */
void sim__place(struct sim_ctx *c, const char *cidr, const char *cc, const char *city, double lat,
                double lon, unsigned asn, const char *org);
/* Note for ground-truth.json: an extra vigil detect argument (with its value). */
void sim__arg(struct sim_ctx *c, const char *flag, const char *value);
/* The same for an argument that only a vigil detect whose --help mentions
 * `needs` understands (a detector not everywhere yet). */
void sim__opt_arg(struct sim_ctx *c, const char *needs, const char *flag, const char *value);

/* The generator's random stream and the scenario's clock. */
struct sim_rng *sim__rng(struct sim_ctx *c);
int64_t sim__day0(const struct sim_ctx *c);  /* the attack day, 00:00 UTC */
int sim__history(const struct sim_ctx *c);   /* benign days before it */
/* Text that lives as long as the run (for generated names and JSON). */
const char *sim__fmt(struct sim_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- generators ----------------------------------------------------------------------- */

/* The benign background from day0 - history days to the end of day0. */
void sim__background(struct sim_ctx *c);
/* The places every run declares (office, CI, AWS, clients). */
void sim__world_places(struct sim_ctx *c);

/* A scenario's attack: adds records, lists, places and expectations. */
typedef void (*sim_attack_fn)(struct sim_ctx *c);

struct sim_scenario_def {
    struct sim_scenario pub;
    int history_days;
    sim_attack_fn attack;
};

const struct sim_scenario_def *sim__scenario_defs(size_t *n);

#endif
