/*
 * detect internals shared by rules.c, engine.c, lists.c and the check_*.c files.
 */
#ifndef VIGIL_DETECT_INT_H
#define VIGIL_DETECT_INT_H

#include "detect/detect.h"
#include "json/json.h"

/* ---- templates ----------------------------------------------------------------- */

enum tmpl_kind {
    TMPL_TEXT = 0, /* literal text */
    TMPL_PATH,     /* {{a.b.c}}: the event's leaves at that path */
    TMPL_DETAIL,   /* {{$detail}}: what the rule's check found */
    TMPL_VAR       /* {{$count}} ...: a stateful kind's variable or a derived field */
};

/* Stateful variables a template may name ({{$count}}); derived fields are
 * named by their own names ({{$remote_ip}}). */
enum { TV_COUNT = 0, TV_SUM, TV_VALUE, TV_KEY, TV_WINDOW, TV_BASELINE, TV_FIRST, TV_LAST, TV_N };
int detect__tmpl_var_find(const char *name, size_t len);

#define TMPL_ALTS_MAX 4

/* {{a|b}} renders the first of a, b that the event has; {{a|'none'}} renders
 * "none" when a is absent. */
struct tmpl_seg {
    uint8_t kind;  /* enum tmpl_kind */
    uint8_t n_alt; /* PATH: number of alternatives */
    const char *text; /* TEXT: the literal */
    size_t len;
    struct {
        const char *p; /* not NUL-terminated, points into the template source */
        size_t len;
        uint64_t hash; /* json_path_hash */
        bool literal;  /* 'text' (last alternative only): p/len include the quotes */
    } alt[TMPL_ALTS_MAX];
};

struct tmpl {
    struct tmpl_seg *segs;
    size_t n;
};

/* Compiles src into t (segments point into src, which must outlive t).
 * ERR_FORMAT with a message in err for an unterminated or empty placeholder or
 * an unknown $name. */
int detect__tmpl_compile(const char *src, struct tmpl *t, struct err *err);
void detect__tmpl_free(struct tmpl *t);

/* Rule internals for the engine. */
const struct tmpl *detect__rule_title(const struct detect_rule *r);
const struct tmpl *detect__rule_desc(const struct detect_rule *r);
const struct detect_check *detect__rule_check(const struct detect_rule *r);
/* A dotted record path as rules may write it. */
bool detect__valid_path(const char *s, size_t len);

/* The sets behind a list kind (NULL when l is NULL). */
const struct iplist *detect__lists_ips(const struct detect_lists *l, enum detect_list_kind k);
const struct domlist *detect__lists_doms(const struct detect_lists *l, enum detect_list_kind k);

/* ---- checks --------------------------------------------------------------------- */

/* What a check sees and may set. */
struct detect_check_ctx {
    const struct event *ev;
    const struct json_value *rec; /* the record parsed from ev->raw */
    struct arena *arena;          /* per-event scratch memory */
    double severity;              /* out: 0 = the rule's own */
    const char *detail;           /* out: a short explanation, or NULL */
};

typedef bool (*detect_check_fn)(struct detect_check_ctx *cx);

/* A check reads the record through cx->rec (ev->raw parsed on demand) and the
 * event's common fields, never its leaves: it needs nothing from the path set,
 * so the subtrees it looks at (requestParameters, userIdentity) are not
 * flattened for every record. */
struct detect_check {
    const char *name;
    detect_check_fn fn;
};

/* The check named name, or NULL. */
const struct detect_check *detect__check_find(const char *name, size_t len);

/* The checks, one group per file. */
bool detect__check_s3_anonymous(struct detect_check_ctx *cx);
bool detect__check_s3_authenticated(struct detect_check_ctx *cx);
bool detect__check_s3_external_account(struct detect_check_ctx *cx);
bool detect__check_s3_bpa_disabled(struct detect_check_ctx *cx);
bool detect__check_password_policy(struct detect_check_ctx *cx);
bool detect__check_admin_policy(struct detect_check_ctx *cx);
bool detect__check_other_user(struct detect_check_ctx *cx);
bool detect__check_role_trust_external(struct detect_check_ctx *cx);
bool detect__check_sg_admin_open(struct detect_check_ctx *cx);
bool detect__check_resource_shared(struct detect_check_ctx *cx);
bool detect__check_trail_mgmt_excluded(struct detect_check_ctx *cx);

/* ---- helpers over parsed JSON (check_util.c) ------------------------------------ */

/* obj.key, following dotted segments ("requestParameters.bucketName"); NULL if
 * any step is missing or not an object. */
const struct json_value *detect__jpath(const struct json_value *obj, const char *path);
/* Member by key, ASCII case-insensitive; last one wins. */
const struct json_value *detect__jget_nocase(const struct json_value *obj, const char *key);
/* True for JSON true or the string "true" (any case). */
bool detect__jtrue(const struct json_value *v);
/* True for JSON false or the string "false" (any case). */
bool detect__jfalse(const struct json_value *v);
/* Integer value of a number or a numeric string; false otherwise. */
bool detect__jint(const struct json_value *v, int64_t *out);
/* String value equals s (exact). */
bool detect__jstr_eq(const struct json_value *v, const char *s);

/* A policy document given as an object, a JSON string or a URL-encoded JSON
 * string (IAM writes all three into CloudTrail); NULL if none parses. */
const struct json_value *detect__policy_doc(const struct json_value *v, struct arena *arena);

/* Calls fn for each statement (Statement may be one object or an array).
 * Stops early and returns true when fn does. */
typedef bool (*detect_stmt_fn)(void *ctx, const struct json_value *stmt);
bool detect__each_statement(const struct json_value *doc, detect_stmt_fn fn, void *ctx);

/* Calls fn for each string in v (a string or an array of strings). */
typedef bool (*detect_str_fn)(void *ctx, const char *s, size_t len);
bool detect__each_string(const struct json_value *v, detect_str_fn fn, void *ctx);

/* Account id in an AWS principal: a 12-digit id or an arn:aws:iam::<id>:...
 * ARN. Writes 12 digits + NUL; false for "*" and anything else. */
bool detect__principal_account(const char *s, size_t len, char out[13]);

/* The account that owns what the event touched (recipientAccountId, else the
 * caller's account): 12 digits + NUL; false if unknown. */
bool detect__own_account(const struct detect_check_ctx *cx, char out[13]);

/* True when the policy document allows every action on every resource. */
bool detect__policy_is_admin(const struct json_value *doc);

/* printf into the arena. */
const char *detect__afmt(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- rule fields for the stateful kinds (rules.c) ------------------------------ */

/* "500ms", "30s", "10m", "1h", "7d" (at most a year). */
bool detect__parse_duration(struct sv s, int64_t *ms_out);

/* ---- derived fields (derive.c) ------------------------------------------------- */

/*
 * Values computed from a record that no single leaf holds: for flows which end
 * is ours and who opened the connection, for DNS the registered domain and how
 * random its labels look, for CloudTrail the caller's identity, network and
 * user-agent family. Rules use them as "$name" in group_by/value/... and as the
 * keys of `where`. Indices are per source (detect__derived_find).
 */
enum { DV_NONE = 0, DV_STR, DV_NUM, DV_BOOL };

struct dval {
    uint8_t type; /* DV_*; DV_NONE = absent */
    bool b;
    double num;
    struct sv s;  /* DV_STR; also the text of numbers and booleans */
};

#define DERIVED_MAX 16

/* A flow's derivation between its two steps (derive.c). */
struct flow_pend {
    int64_t proto, lport, rport, psize; /* -1: none */
    int8_t dir;                         /* local end: 1 dst, 0 src, -1 unknown */
    int8_t init;                        /* 1 local, 2 remote, 3 unknown */
    bool ends, splain, dplain, pub, has_aws, in_aws, probe, v6, doh, rejected;
    struct ipaddr remote; /* ends: the remote end, for the late facts */
};

struct derived {
    bool done;
    bool facts_done;           /* flows: ff/ffmask set (done: v too) */
    struct flow_pend fp;
    struct dval v[DERIVED_MAX];
    size_t n;                  /* entries of v used by the source */
    struct json_flat flat;     /* present values as leaves named like the fields, for `where` */
    struct json_leaf leaves[DERIVED_MAX];
    int hash_src;              /* source (+1) whose name hashes `hash` holds; 0 = none */
    uint64_t hash[DERIVED_MAX];
    /* Flow records: the leaves derivation found (DVR_*), so filters on
     * record fields need not search the leaves again; NULL = absent. */
    const struct json_leaf *raw[16];
    /* What raw was found for: a line of that format (event.flow_fmt, not
     * 0) whose leaves are at that address has its fields at the same
     * places, so raw holds as it is (the reader reuses its leaves). */
    uint64_t raw_fmt;
    const struct json_leaf *raw_base;
    /* Flow records: the fields the direct `where` tests as numbers (facts:
     * a derived index, or DVF_N + a DVR_* index), valid where ffmask has
     * their bit; enumerations by detect__flow_fact_code. Every fact is a
     * whole number from 0 to 10^15 - 1 (exact as a double): derivation
     * stores only the integer, and the readers convert what they test
     * (the gate's region tables are indexed by it, most lines test a few
     * facts only). */
    uint64_t ff[32];
    uint32_t ffmask;
    /* Flows: the facts the first step leaves for detect__derive_late
     * (what few lines reach in the gate: the counts, the packet size, probe,
     * DoH, AWS address); 0 once they are derived or for other sources. */
    uint32_t late;
    /* Flows whose values are not all derived (done false): the values of
     * v that detect__derive_some has set (bit i: v[i]). */
    uint32_t vsome;
    bool flat_done;
    /* Texts of numbers derivation writes itself (no arena per flow). */
    char numtxt[DERIVED_MAX][24];
};

/* Flow record fields derive.c locates (derived.raw), by name (-1 if none). */
enum { DVR_SRCADDR, DVR_DSTADDR, DVR_SRCPORT, DVR_DSTPORT, DVR_PROTOCOL, DVR_PACKETS, DVR_BYTES,
       DVR_ACTION, DVR_INSTANCE, DVR_ENI, DVR_FDIR, DVR_N };
int detect__flow_raw_find(const char *name, size_t len);

/* Index of a derived field of src, or -1. */
int detect__derived_find(enum event_source src, const char *name, size_t len);
const char *detect__derived_name(enum event_source src, int i);
/* "cloudtrail", "vpcflow", "dns". */
const char *detect__source_name(enum event_source src);

/* What derivation may look things up in; any member may be NULL. The geo
 * cache is per thread (callers' scratch): CloudTrail callers repeat. */
struct geocache;
struct dctx {
    const struct detect_lists *lists;
    const struct geo_db *geo;
    struct geocache *gc;
    /* DNS: no loaded rule reads $entropy, so it is not computed (it costs a
     * pass over the longest label of every query). */
    bool skip_entropy;
};
struct geocache *detect__geocache_new(void);
void detect__geocache_free(struct geocache *gc);

/* Fills out for ev (strings in a). */
void detect__derive(const struct dctx *c, const struct event *ev, struct arena *a,
                    struct derived *out);
/* Flows: only the facts (ff, ffmask, raw), for the gate; d->v is not
 * valid until detect__derive_rest (same arguments, the same event). Other
 * sources: detect__derive. done is true only once everything is derived. */
void detect__derive_facts(const struct dctx *c, const struct event *ev, struct arena *a,
                          struct derived *d);
void detect__derive_rest(const struct dctx *c, const struct event *ev, struct arena *a,
                         struct derived *d);
/* Flows whose facts are derived: the values of the fields in need (bit i:
 * v[i]) as detect__derive_rest gives them, without the others; any field
 * outside detect__flow_some_vals(), or another source, derives the rest.
 * Nothing when done. For capture, whose keys and values are a few fields
 * of the many a flow derives. */
void detect__derive_some(const struct dctx *c, const struct event *ev, struct arena *a,
                         struct derived *d, uint32_t need);
uint32_t detect__flow_some_vals(void);
/* Flows: the facts detect__derive_facts left (d->late), so that ff and
 * ffmask hold every fact; nothing when none is left. detect__derive_rest
 * does it first. */
void detect__derive_late(const struct dctx *c, const struct event *ev, struct derived *d);
/* Flows: the value of raw field raw (DVR_*) as its fact holds it: true only
 * for a number field written as 1 to 15 plain digits whose fact is derived
 * (what reading the leaf's digits gives). */
bool detect__flow_raw_num(const struct derived *d, int raw, uint64_t *out);
/* The facts (bits of derived.ffmask) derive_late sets. */
uint32_t detect__flow_late_facts(void);
/* out's present values as leaves named like the fields (built on first use). */
const struct json_flat *detect__derived_flat(struct derived *d, enum event_source src);

/* Flow facts: FT_NONE when fact f (see struct derived) has no numeric form,
 * else what its values are; the code of string s for an enumerated fact, or
 * -1 (no value of the fact is s). */
enum { FT_NONE = 0, FT_ENUM, FT_NUM, FT_BOOL };
int detect__flow_fact_type(int f);
int detect__flow_fact_code(int f, const char *s, size_t len);

/* Derived flow field indices, used by the engine. */
enum { DVF_INSTANCE = 0, DVF_DIRECTION, DVF_INITIATOR, DVF_LOCAL_IP, DVF_LOCAL_PORT, DVF_REMOTE_IP,
       DVF_REMOTE_PORT, DVF_REMOTE_PUBLIC, DVF_REMOTE_AWS, DVF_PROTOCOL, DVF_PROBE, DVF_IPV6,
       DVF_DOH, DVF_PACKET_SIZE, DVF_N };
enum { DVD_INSTANCE = 0, DVD_DOMAIN, DVD_REGISTERED, DVD_SUBDOMAIN, DVD_LONGEST_LABEL,
       DVD_ENTROPY, DVD_EXFIL, DVD_DGA, DVD_AWS_DOMAIN, DVD_N };
enum { DVC_IDENTITY = 0, DVC_UA_FAMILY, DVC_NETWORK, DVC_IP_CLASS, DVC_INSTANCE_SESSION, DVC_API,
       DVC_COUNTRY, DVC_ASN, DVC_N };

/* Internal (VPC) addresses: RFC 1918, CGNAT, link-local, loopback, ULA. Unlike
 * ip_is_private, the documentation ranges count as public here: they stand for
 * internet hosts in AWS's examples and in test data. */
bool detect__ip_internal(const struct ipaddr *ip);

/* Pieces the derived fields are made of, exposed for tests. */
/* Whether the flows' hashed set of DoH resolvers agrees with their list. */
bool detect__doh_hash_ok(void);
/* A flow address as derivation parses it: s inside line (or not), the same
 * result as ip_parse; 0 when it is none, 2 when it was read 16 bytes at a
 * time, else 1. */
int detect__flow_ip(struct sv s, struct sv line, struct ipaddr *out);
double detect__entropy(const char *s, size_t len);
/* Registered domain ("example.co.uk" of "a.b.example.co.uk."), lowercase, no
 * trailing dot, into out (cap bytes); returns its length, 0 if none. */
size_t detect__registered_domain(struct sv name, char *out, size_t cap);
/* True when label looks algorithmically generated (length, entropy, vowels,
 * consonant runs, digits). */
bool detect__dga_label(const char *label, size_t len);
/* True when label looks like encoded data (long, high entropy, digits). */
bool detect__exfil_label(const char *label, size_t len);
/* "aws-cli", "boto3", "mozilla", ... (lowercase, into out). */
size_t detect__ua_family(struct sv ua, char *out, size_t cap);

/* The list sets behind detect_lists, for derive.c and the list detectors. */
const struct iplist *detect__lists_aws(const struct detect_lists *l);
/* Instance id for an ENI (NULL if unmapped) and whether ip is one of its addresses. */
const char *detect__lists_eni_instance(const struct detect_lists *l, struct sv eni);
int detect__lists_eni_has_ip(const struct detect_lists *l, struct sv eni, const struct ipaddr *ip);
/* The category of a threat list by its tag (list name). */
enum detect_category detect__lists_category(const struct detect_lists *l, const char *tag);

/* ---- snapshots (snap.c) ------------------------------------------------------------- */

/*
 * An immutable, reference-counted copy of what a stateful detection may need
 * from an event once the event itself is gone: the common fields and the
 * leaves whose paths the filter keeps (finding details, templates, keys,
 * derivation inputs). One allocation; restored as a struct event whose views
 * point into it.
 */
/* ---- the candidates' allocator (pool.c) ---------------------------------------- */

/* Objects of at most DETECT_POOL_MAX bytes, 16-byte aligned, for the
 * stateful candidates: one pool per scratch, owned by the thread that uses
 * the scratch (it allocates; any thread may give back). A pool must outlive
 * every object it gave out: a scratch is freed after the archives, streams
 * and finishes that took its candidates. */
#define DETECT_POOL_MAX 512u
struct detect_pool;
struct detect_pool *detect__pool_new(void);
/* Frees the pool's memory at once, the objects still out included. */
void detect__pool_free(struct detect_pool *p);
/* Owner thread only; 1 <= size <= DETECT_POOL_MAX; never NULL (aborts on OOM). */
void *detect__pool_alloc(struct detect_pool *p, size_t size);
void *detect__pool_zalloc(struct detect_pool *p, size_t size);
/* Gives o (from any pool; NULL is fine) back. me: the pool the calling
 * thread owns, or NULL; other pools' objects go back through their lock-free
 * list. */
void detect__pool_put(struct detect_pool *me, void *o);
/* Memory the pool holds (its chunks). */
size_t detect__pool_bytes(const struct detect_pool *p);

struct snap;
struct snap_filter;

struct snap_filter *detect__snapf_new(void);
void detect__snapf_free(struct snap_filter *f);
void detect__snapf_add(struct snap_filter *f, const char *path, size_t len);
bool detect__snapf_has(const struct snap_filter *f, const char *path, size_t len, uint64_t hash);

/* extra_path/extra_val: one more string leaf to add (the instance an ENI map
 * gave a flow), or NULL. */
struct snap *detect__snap_new(struct detect_pool *pool, const struct event *ev,
                              const struct snap_filter *f, const char *extra_path,
                              struct sv extra_val);
/* A snapshot that only says where the record is (ev->file, ev->record_no)
 * and its time and id: detect__snap_event cannot restore it, the record is
 * read again (detect_options.input). */
struct snap *detect__snap_new_ref(struct detect_pool *pool, const struct event *ev);
bool detect__snap_is_ref(const struct snap *sn, const char **file, uint64_t *record_no);
enum event_source detect__snap_source(const struct snap *sn);
struct snap *detect__snap_ref(struct snap *sn);
void detect__snap_unref(struct snap *sn); /* NULL is fine */
/* The same from the thread that owns me (a faster give-back to the pool). */
void detect__snap_unref_in(struct detect_pool *me, struct snap *sn);
/* The same with atomic counts, for the kinds' thread while an archive's
 * parallel drain gives items back on other threads (state.c): a snapshot
 * is shared by the units its event fed, so two threads may count the same
 * one. Every count taken while such a drain runs must go through these. */
struct snap *detect__snap_ref_shared(struct snap *sn);
void detect__snap_unref_shared(struct snap *sn); /* NULL is fine */
/* Whether the caller holds the only reference (its unref frees sn). */
bool detect__snap_last(const struct snap *sn);
/* The event as it was; its leaves go into a (the rest points into sn). */
void detect__snap_event(const struct snap *sn, struct event *out, struct arena *a);
int64_t detect__snap_ms(const struct snap *sn);
struct sv detect__snap_id(const struct snap *sn);
size_t detect__snap_size(const struct snap *sn);

/* (ms, id) order of events, the order every stateful rule sees. */
int detect__cmp_at(int64_t ams, struct sv aid, int64_t bms, struct sv bid);
/* An id's first 8 bytes, big-endian and zero-padded: where two differ, they
 * order as detect__cmp_at orders the ids (state.c: items carry it). */
uint64_t detect__id_prefix(struct sv id);

/* ---- the stateful stage (state.c, kinds.c) ------------------------------------------ */

/* A field reference of a rule, resolved. */
/* CloudTrail record paths whose value event_fill_common already holds
 * (struct fref.ct; 0, what a zeroed fref holds, is none). */
enum {
    FCT_NONE = 0,
    FCT_EVENT_NAME,
    FCT_EVENT_SOURCE,
    FCT_REGION,
    FCT_SRC_IP,
    FCT_ERROR_CODE,
    FCT_USER_AGENT,
    FCT_EVENT_ID,
    FCT_ARN,
    FCT_TYPE,
    FCT_PRINCIPAL_ID,
    FCT_ACCESS_KEY,
    FCT_CATEGORY,
    FCT_ACCOUNT, /* recipientAccountId|userIdentity.accountId */
};

struct fref {
    int dv;         /* derived field index, or -1 for record paths */
    int8_t raw;     /* flows: the one path's DVR_* (derived.raw holds its leaf), or -1 */
    int8_t ct;      /* CloudTrail: the event field the reference is (FCT_*), or FCT_NONE */
    uint8_t n_alt;  /* record paths: alternatives, the first present counts */
    const char *alt[4];
    uint32_t len[4];
    uint64_t hash[4];
};

#define UNIT_RULES_MAX 32
#define UNUSUAL_MAX 8

/* A stateful rule with its references resolved. Rules of kind new_value that
 * share everything but `when` (the IAM AnomalousBehavior family) share one
 * unit, so their history is kept once; each rule has a bit in the unit's
 * when-mask. */
struct srule {
    const struct detect_rule *r;
    uint32_t rule_index; /* index among the engine's enabled rules */
    uint32_t unit;
    uint32_t bit;
    bool has_when;
    struct fref group[8];
    size_t n_group;
    struct fref value[4];
    size_t n_value;
    struct fref distinct, sum;
    struct fref unusual[UNUSUAL_MAX];
    size_t n_unusual;
    bool has_distinct, has_sum;
    int where_id; /* id in the engine's where-set, -1 without `where` */
    struct fwhere *fwhere, *fwhen; /* direct forms, or NULL (automaton) */
    uint32_t where_class;          /* first srule with the same `where`: one evaluation per event */
};

struct sunit {
    enum detect_kind kind;
    const struct srule *first; /* configuration (all rules of a unit agree on it) */
    const struct srule *rules[UNIT_RULES_MAX];
    size_t n_rules;
    int64_t learning_ms;       /* engine override applied */
    bool insight;              /* rate: count callers for Insights records (detect_options.insights) */
    bool one_pattern;          /* new_value: the automaton reports only first's pattern, for all */
    /* Flows: the derived values capture reads (bit i: derived.v[i]; the
     * instance always, a full snapshot names it), or UINT32_MAX when they
     * are not all of detect__flow_some_vals(). */
    uint32_t cap_dv;
};

/* Rate rules with `insight`: who made a bucket's calls, per attribute
 * (RATTR_ARN userIdentity.arn, RATTR_UA userAgent, RATTR_ERR errorCode). Each
 * attribute keeps the RATTR_K values of smallest hash with exact counts: a
 * bottom-k sample, the same whatever order the events came in and however
 * partial tables are merged (a value kept in the whole is kept in every
 * part). Values are "null" when the record has none. */
enum { RATTR_ARN = 0, RATTR_UA, RATTR_ERR, RATTR_N };
#define RATTR_K 32
#define RATTR_TEXT_MAX 1024

struct rattr_val {
    uint64_t h;
    char *s;
    uint64_t n;
};

struct rattr {
    struct rattr_val *v[RATTR_N];
    uint8_t n[RATTR_N], cap[RATTR_N];
};

/* Adds n uses of value s (len bytes, copied) to attribute a of *t (created
 * when NULL). */
void detect__rattr_add(struct rattr **t, int a, struct sv s, uint64_t n);
/* Folds src into *dst (which takes it over when NULL); src is consumed. */
void detect__rattr_merge(struct rattr **dst, struct rattr *src);
void detect__rattr_free(struct rattr *t);
size_t detect__rattr_bytes(const struct rattr *t);
/* The event's userIdentity.arn, userAgent and errorCode into *t. */
void detect__rattr_add_event(struct rattr **t, const struct event *ev);

/* One event (or an aggregate of events) as the kinds see it. */
struct sitem {
    int64_t ms;          /* event time; rate buckets: bucket start */
    struct snap *sn;     /* the (representative) event; the item holds a reference */
    uint64_t khash;      /* key within the unit */
    const char *key;     /* key text (owned by the item's collector) */
    uint64_t vhash;      /* distinct / new_value value */
    const char *val;
    uint64_t *uhash;     /* new_value `unusual` values' hashes (0 = absent), or NULL */
    double num;          /* 1, or the summed field */
    uint32_t mask;       /* sequence: steps matched (bit 0 = pattern); new_value: when-bits */
    /* Set with sn by the collectors (state.c), so that taking and sorting
     * the items do not read their snapshots: sn's size, and its id's first
     * 8 bytes (big-endian, zero-padded). */
    uint32_t sn_size;
    uint64_t idp;
    uint64_t n;          /* events behind it (rate buckets: all in the bucket) */
    struct rattr *attr;  /* rate buckets of `insight` rules: the callers; owned, or NULL */
    uint32_t key_len, val_len; /* set by the collectors for their own items (byte counts) */
};

/* Where detections of the kinds go: restores the snapshot, renders the rule's
 * templates with the kind's variables, emits. */
struct pending;

struct semit {
    const struct detect_engine *e;
    struct detect_scratch *s;
    detect_emit_fn emit;
    void *ctx;
    uint64_t n;
    /* Detections whose event is kept by reference, emitted by
     * detect__semit_resolve once every unit has run. */
    struct pending *pend;
    size_t n_pend, cap_pend;
};

/* Reads the files behind the pending detections (each once, in name order)
 * and emits them. */
void detect__semit_resolve(struct semit *em);

/* Variables a stateful detection renders in its templates ({{$count}} ...). */
struct svars {
    const struct sitem *it;     /* the representative item */
    const char *key;
    const char *value;          /* new_value: the new value; distinct: the values, joined */
    uint64_t count;             /* events */
    double sum;                 /* threshold/rate: the total; distinct: values */
    double baseline;            /* rate: expected per bucket */
    int64_t window_ms;
    int64_t first_ms, last_ms;
    const struct detect_evidence *evidence;
    size_t n_evidence;
    const struct detect_insight *insight; /* rate rules with `insight`, else NULL */
};

void detect__semit(struct semit *em, const struct srule *sr, const struct svars *v);

/* The kinds: ordered-input state machines. feed() takes items in (ms, id)
 * order; advance() tells them time has reached now (windows close, quiet
 * buckets end anomalies, idle keys expire); finish() closes everything. */
struct kstate;
struct kstate *detect__kind_new(const struct sunit *u);
void detect__kind_feed(struct kstate *k, const struct sitem *it, struct semit *em);
/* Starts fetching what feeding it will read first (its key's slot; for the
 * kinds that keep evidence, its snapshot's id): a drain calls it a few items
 * ahead. Changes nothing. */
void detect__kind_prefetch(const struct kstate *k, const struct sitem *it);
void detect__kind_advance(struct kstate *k, int64_t now_ms, struct semit *em);
void detect__kind_finish(struct kstate *k, struct semit *em);
void detect__kind_free(struct kstate *k);
size_t detect__kind_keys(const struct kstate *k);
/* Adds the kind's counters (state at its peak, expiries, refusals) to st. */
void detect__kind_stats(struct kstate *k, struct detect_state_stats *st);

/* ---- the direct evaluator for simple `where` / `when` (fastwhere.c) --------- */

struct fwhere;
/* NULL when the pattern is not simple enough (the automaton then decides). */
struct fwhere *detect__fwhere_compile(enum event_source src, const char *pattern);
void detect__fwhere_free(struct fwhere *w);
/* Whether the pattern holds for ev with its derived fields; a scratch arena
 * for decoded strings. */
bool detect__fwhere_eval(const struct fwhere *w, const struct event *ev, const struct derived *dv,
                         struct arena *a);
/* Fields equal across patterns (same source, name and alternatives) share an
 * atom id, so that an event tests each at most once: fwcache holds, per atom,
 * stamp << 1 | result for the event whose stamp it is. */
struct fwatoms;
struct fwatoms *detect__fwatoms_new(void);
void detect__fwatoms_free(struct fwatoms *s);
size_t detect__fwatoms_count(const struct fwatoms *s);
void detect__fwhere_share(struct fwhere *w, struct fwatoms *s, enum event_source src);
struct fwcache {
    uint64_t *v;
    size_t n;
    uint64_t stamp; /* the current event's, nonzero */
};
bool detect__fwhere_eval_cached(const struct fwhere *w, const struct event *ev,
                                const struct derived *dv, struct arena *a, struct fwcache *c);
/* When w is made only of direct tests on derived booleans: its n fields'
 * derived indexes (dvi) and their answers for false, true and absent (bres
 * bits 0, 1, 2), at most cap of them; false otherwise (NULL w included). */
bool detect__fwhere_bools(const struct fwhere *w, int *dvi, uint8_t *bres, size_t cap, size_t *n);
/* For up to 64 flow patterns (NULL: not direct), per fact a table from the
 * fact's value to the patterns whose tests on it pass: the patterns that can
 * hold for a flow (bit i: w[i]), found with a few lookups. *exact (may be
 * NULL) gets the bits the mask decides: patterns made only of fact tests
 * whose facts the flow has; a set bit there holds, without evaluation. NULL
 * gate: ~0, nothing exact. */
struct fwgate;
struct fwgate *detect__fwgate_build(const struct fwhere *const *w, size_t n);
void detect__fwgate_free(struct fwgate *g);
uint64_t detect__fwgate_mask(const struct fwgate *g, const struct derived *dv, uint64_t *exact);
/* The same for a flow whose late facts (derived.late) may be pending: when
 * the gate first needs one of them, more(ctx) is called, which must derive
 * them into dv (detect__derive_late); lines ruled out before never pay for
 * them. A fact still pending then (more NULL) is left to the full test,
 * like a fact without numeric form. */
uint64_t detect__fwgate_mask_more(const struct fwgate *g, const struct derived *dv,
                                  uint64_t *exact, void (*more)(void *), void *ctx);

/* For the `when`s of one unit (pats[k]: rule k's, NULL for none), an index
 * over those that are one CloudTrail record field (the same for all) with a
 * list of plain strings and {"prefix": string}s: covered() gives  their bits, eval() the bits of the
 * covered ones that hold for ev, from one pass over the field's leaves,
 * deciding as the automaton does. NULL when none is covered. a: scratch for
 * decoded strings. */
struct fwindex;
struct fwindex *detect__fwindex_build(enum event_source src, const char *const *pats, size_t n);
void detect__fwindex_free(struct fwindex *x);
uint32_t detect__fwindex_covered(const struct fwindex *x);
uint32_t detect__fwindex_eval(const struct fwindex *x, const struct event *ev, struct arena *a);

/* Engine internals the stateful stage reads. */
size_t detect__engine_units(const struct detect_engine *e, const struct sunit **out);
const struct snap_filter *detect__engine_snapf(const struct detect_engine *e);
const struct detect_lists *detect__engine_lists(const struct detect_engine *e);

struct collector;

/* The last period a unit's candidate fell in: [lo, hi) is period k (lo ==
 * hi: none). Candidates of one file are close in time, so most find theirs
 * here instead of by a 64-bit division, which sat on capture's chain from
 * the event's time to the table's slot. */
struct pcache {
    int64_t lo, hi, k;
};
/* Which period of p ms ms falls in (floor(ms / p); 0 when p <= 0), through
 * the memo *c of the last answer (zeroed: none): the same answers. */
int64_t detect__period_cached(struct pcache *c, int64_t ms, int64_t p);

/* One event on its way into the collectors: its derived fields, and the
 * snapshot made the first time a unit keeps it (shared by the units). */
struct capev {
    const struct detect_engine *e;
    const struct event *ev;
    const struct derived *dv;
    struct snap *sn;  /* reference owned by the capev until detect__capev_done */
    size_t *bytes;    /* the collector's byte count, or NULL */
    bool by_ref;      /* keep the record by reference (file, record number) */
    struct detect_pool *pool; /* the scratch's: where the snapshot comes from */
    /* Key hashes of single derived-field keys, by field (bit set: valid). */
    uint32_t kvalid;
    uint64_t khash[DERIVED_MAX];
};
/* How many of src's rules the engine decides without the automaton (their
 * pattern is one `exists: true`); for tests. */
size_t detect__engine_exists_rules(const struct detect_engine *e, enum event_source src);


/* Whether candidates of ev may be kept by reference (detect_options.input). */
bool detect__engine_by_ref(const struct detect_engine *e, const struct event *ev);
const struct input_options *detect__engine_input(const struct detect_engine *e);
bool detect__collector_is_stream(const struct collector *c);

struct collector;
/* pool: where the collector's items, texts, buckets and snapshots come from
 * (borrowed: the scratch's). */
struct collector *detect__collector_new(struct detect_pool *pool);
void detect__collector_free(struct collector *c);
/* Stream collectors keep every candidate (no reductions). */
void detect__collector_set_stream(struct collector *c);
size_t *detect__collector_bytes(struct collector *c);
/* Called by detect_event for each unit that selected the event: mask as for
 * sitem. kb, vb are scratch buffers. */
void detect__capture(struct collector *c, const struct sunit *u, uint32_t unit_index,
                     struct capev *ce, uint32_t mask, struct arena *tmp, struct buf *kb,
                     struct buf *vb);
/* Drops the capev's own snapshot reference. */
void detect__capev_done(struct capev *ce);
struct collector *detect__scratch_collector(struct detect_scratch *s);
/* The scratch's pool: owned by the thread that uses the scratch. */
struct detect_pool *detect__scratch_pool(struct detect_scratch *s);
/* Detaches s's collector (NULL if none yet); the next capture starts a new one. */
struct collector *detect__scratch_take_collector(struct detect_scratch *s);
/* Moves the stream collector's new items out (the caller owns them; *n set). */
struct sitem *detect__collector_take_raw(struct collector *c, uint32_t unit, size_t *n);
size_t detect__collector_units(const struct collector *c);

/* Renders a template for a stateful detection (engine.c). */
const char *detect__render_state(struct detect_scratch *s, const struct tmpl *t,
                                 const struct event *ev, const struct derived *dv,
                                 const struct svars *v);

#endif
