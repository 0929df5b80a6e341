/*
 * investigate: the incident playbooks over the store, and the findings kept
 * in it.
 *
 * Findings: `vigil detect --db` upserts its findings into a findings table of
 * the store (created on first use), keyed by the stable finding id, with
 * Security Hub's Workflow.Status (NEW, NOTIFIED, RESOLVED, SUPPRESSED) and
 * RecordState (ACTIVE, ARCHIVED). Re-running detect never duplicates a
 * finding and never overwrites the analyst's workflow status, except that a
 * RESOLVED finding with new activity goes back to NEW, as Security Hub does.
 *
 * Playbooks: each investigation reads the cloudtrail and resources tables and
 * builds a report (struct investigate_report): a title, a summary of
 * key/value lines, tables, and time points for a chart. One renderer per
 * output format (Markdown, JSON, self-contained HTML with an SVG chart) writes
 * any report, so every playbook has every format.
 *   credentials  playbook #1: what a leaked key or principal did after T, and
 *                the credentials it minted, followed transitively;
 *                containment steps as AWS CLI commands (never run);
 *   bucket       playbook #2: changes to a bucket's policy, ACL, Block Public
 *                Access and logging, who read or wrote objects, exposure now;
 *   timeline     the events of a principal, a resource or an address in time
 *                order.
 *
 * Threading: a struct store is used by one thread at a time (store.h); reports
 * are plain data, read-only once built.
 */
#ifndef VIGIL_INVESTIGATE_H
#define VIGIL_INVESTIGATE_H

#include "core/core.h"
#include "finding/finding.h"
#include "store/store.h"

/* ---- reports ------------------------------------------------------------------ */

/* A table: n_cols column names, n_rows rows of n_cols cells (row-major).
 * Every string is owned by the report; a cell may be "" but not NULL. */
struct investigate_table {
    char *title;
    char *note; /* a sentence under the title, or NULL */
    size_t n_cols;
    char **cols;
    size_t n_rows, cap_rows;
    char **cells;
};

/* One event on the time chart: lane is the row of the chart (a group). */
struct investigate_point {
    int64_t ms;
    char *lane;
    char *label;
    bool failed;
};

struct investigate_report {
    char *kind;  /* "credentials", "bucket", "timeline" */
    char *title;
    size_t n_summary;
    char **summary_keys, **summary_vals;
    size_t n_tables;
    struct investigate_table **tables;
    size_t n_points, cap_points;
    struct investigate_point *points;
    struct arena point_text; /* the points' lane and label strings */
};

void investigate_report_free(struct investigate_report *r); /* NULL is fine */

/* The table titled title, or NULL. Borrowed from r. */
const struct investigate_table *investigate_report_table(const struct investigate_report *r,
                                                         const char *title);
/* The summary value for key, or NULL. Borrowed from r. */
const char *investigate_report_summary(const struct investigate_report *r, const char *key);
/* Index of the first row whose cell in column col equals value, or -1. */
long investigate_table_find(const struct investigate_table *t, const char *col, const char *value);
/* The cell (row, column named col), or NULL when there is no such column. */
const char *investigate_table_cell(const struct investigate_table *t, size_t row, const char *col);

/* Renderers: append to out; ERR_LIMIT when out's cap is hit. */
int investigate_write_markdown(struct buf *out, const struct investigate_report *r);
int investigate_write_json(struct buf *out, const struct investigate_report *r);
/* A self-contained page: inline CSS and script, the chart as inline SVG, no
 * network access. */
int investigate_write_html(struct buf *out, const struct investigate_report *r);

/* ---- playbooks ---------------------------------------------------------------- */

struct investigate_cred_opts {
    const char *access_key; /* start from this access key id, or */
    const char *principal;  /* this principal ARN (user, role, assumed role, federated user) */
    int64_t since_ms;       /* events at or after this time; INT64_MIN for all */
    int64_t now_ms;         /* the report's time: the revocation cut-off in the commands */
    size_t max_credentials; /* credentials followed at most; 0 = 10000 */
    size_t max_events;      /* events listed one by one at most; 0 = 5000 (all are counted) */
};

/*
 * Playbook #1. Starting from one access key or principal, lists every
 * CloudTrail event made with it at or after since_ms; each successful call
 * that issues credentials (CreateAccessKey, CreateUser, CreateLoginProfile,
 * UpdateLoginProfile, AssumeRole, GetSessionToken, GetFederationToken) adds
 * what it issued (the key, the user, the assumed-role or federated session)
 * to the set followed, until nothing new appears. Tables: "Credentials"
 * (temporary keys no event used are folded into one row per API and role,
 * and listed in "Unused temporary keys"),
 * "Actions" (grouped: failures, identity changes, deletions, resources
 * created, modifications, data access), "Source IPs", "User agents",
 * "Events", "Containment" (column "command": AWS CLI commands, not run).
 * ERR_USAGE when neither or both starts are given, ERR_DB on SQLite errors.
 * *out is owned by the caller.
 */
int investigate_credentials(struct store *st, const struct investigate_cred_opts *o,
                            struct investigate_report **out, struct err *err);

/*
 * Playbook #2. The events that touched bucket (by name or ARN, object ARNs
 * included) at or after since_ms. Tables: "Configuration changes" (policy,
 * ACL, Block Public Access, logging, ownership, website, CORS, encryption,
 * creation and deletion), "Object access" (data events grouped by principal,
 * source IP and action), "Exposure" (the latest policy, ACL, Block Public
 * Access and logging state seen). Summary key "exposed": "yes", "no" or
 * "unknown" (no policy/ACL change seen), with "exposure reason".
 */
int investigate_bucket(struct store *st, const char *bucket, int64_t since_ms,
                       struct investigate_report **out, struct err *err);

struct investigate_timeline_opts {
    const char *principal; /* principal ARN or session issuer (role) ARN, or */
    const char *resource;  /* a resource name or ARN (resources table), or */
    const char *ip;        /* a source IP address */
    int64_t since_ms, until_ms; /* inclusive; INT64_MIN / INT64_MAX for none */
    size_t limit;               /* events at most; 0 = 10000 */
};

/* The chain of events in time order: table "Events". ERR_USAGE unless exactly
 * one of principal, resource, ip is given. */
int investigate_timeline(struct store *st, const struct investigate_timeline_opts *o,
                         struct investigate_report **out, struct err *err);

/* ---- findings in the store ---------------------------------------------------- */

/* The findings table is the store's (schema version 3 and later), shared by
 * `vigil detect --db`, `vigil findings` and the playbooks. */

/* Upserts fs[0..n) by id in one transaction: a new finding gets workflow
 * status NEW and record state ARCHIVED when a suppression rule archived it,
 * else ACTIVE; a known one gets the new severity, JSON, first/last seen
 * widened and its count (added when the new activity lies wholly after what
 * was stored, else the larger of the two, so re-running over the same logs
 * changes nothing). *added_out (may be NULL) counts the new ids. */
int investigate_findings_put(struct store *st, const struct finding *const *fs, size_t n,
                             int64_t now_ms, size_t *added_out, struct err *err);

/* investigate_findings_put for every finding of agg (archived ones included,
 * as record state ARCHIVED) into the store at db_path, created if missing:
 * what `vigil detect --db` calls. agg is only read. */
int investigate_findings_save(const char *db_path, const struct finding_agg *agg, int64_t now_ms,
                              size_t *added_out, struct err *err);

/* One stored finding; pointers valid during the callback only. */
struct investigate_finding_row {
    const char *id, *type, *account, *region, *resource, *title;
    double severity;
    int64_t first_ms, last_ms, count, updated_ms;
    const char *workflow_status, *record_state, *note;
    const char *json; /* the GuardDuty finding JSON */
};

enum investigate_sort { INVESTIGATE_SORT_SEVERITY = 0, INVESTIGATE_SORT_TIME };

struct investigate_findings_query {
    double severity_min;     /* 0 = all */
    const char *type;        /* exact, or NULL */
    const char *status;      /* workflow status, or NULL */
    const char *record_state;/* "ACTIVE" (NULL means ACTIVE), "ARCHIVED" or "ALL" */
    enum investigate_sort sort; /* severity desc then last seen desc; or last seen desc */
    size_t limit;               /* 0 = all */
};

typedef int (*investigate_finding_fn)(void *ctx, const struct investigate_finding_row *row);

int investigate_findings_list(struct store *st, const struct investigate_findings_query *q,
                              investigate_finding_fn fn, void *ctx, struct err *err);
/* ERR_NOTFOUND when no finding has this id. */
int investigate_findings_get(struct store *st, const char *id, investigate_finding_fn fn,
                             void *ctx, struct err *err);
/* Sets the workflow status (NEW, NOTIFIED, RESOLVED, SUPPRESSED; ERR_USAGE
 * otherwise) and, when note is not NULL, the note. ERR_NOTFOUND for an unknown id. */
int investigate_findings_update(struct store *st, const char *id, const char *status,
                                const char *note, int64_t now_ms, struct err *err);
/* Record state ARCHIVED (archived = true) or ACTIVE (false). */
int investigate_findings_archive(struct store *st, const char *id, bool archived, int64_t now_ms,
                                 struct err *err);
/* Deletes findings not updated since before_ms (neither seen by detect nor
 * touched by an analyst); *n_out (may be NULL) counts them. */
int investigate_findings_purge(struct store *st, int64_t before_ms, int64_t *n_out,
                               struct err *err);

#endif
