/*
 * investigate: playbook #1, compromised credentials.
 *
 * The set of credentials followed starts with one access key or principal and
 * grows with what their successful calls issued; each credential is queried
 * once (by access_key_id, principal_arn or, for a role, session_issuer_arn),
 * so the walk ends when a round adds nothing. An event reached through two
 * credentials (the AssumeRole session's key and its assumed-role ARN) is
 * counted once, under the first.
 */
#include "investigate/investigate_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cred_kind { CRED_KEY, CRED_PRINCIPAL, CRED_ROLE };

struct cred {
    enum cred_kind kind;
    char *value;
    char *how;       /* the API that issued it, or "start" */
    char *event_id;  /* that call */
    int64_t ms;
    int parent;      /* index of the credential that made the call, -1 for the start */
    char *user;      /* IAM user owning a key or session token, or NULL */
    char *role;      /* role name of an assumed-role session, or NULL */
    bool temporary;
    bool login;      /* a console password was set for this user */
    bool created;    /* a user the followed credentials created */
    uint64_t n_events;
    int64_t first_ms, last_ms;
};

struct ev {
    char *id, *source, *name, *error, *ip, *ua, *key, *principal, *principal_type, *user_name,
        *issuer;
    int64_t ms;
    int read_only; /* 1, 0, -1 unknown */
    int cred;
    const char *group;
};

/* The row ids of the events listed (cloudtrail.id, one per event id): an
 * open-addressed set, as a string map of event ids cost a malloc and a free
 * per event. */
struct id_set {
    int64_t *slots; /* 0 = empty; id 0 is `zero` */
    size_t cap, n;  /* cap a power of two */
    bool zero;
};

/* Adds id; false when it was there. */
static bool id_set_add(struct id_set *set, int64_t id)
{
    if (id == 0) {
        bool fresh = !set->zero;
        set->zero = true;
        return fresh;
    }
    if (2 * (set->n + 1) > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        int64_t *slots = xcalloc(cap, sizeof(*slots));
        for (size_t i = 0; i < set->cap; i++) {
            if (set->slots[i] == 0)
                continue;
            size_t j = (size_t)hash64(&set->slots[i], sizeof(int64_t), 0) & (cap - 1);
            while (slots[j] != 0)
                j = (j + 1) & (cap - 1);
            slots[j] = set->slots[i];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t j = (size_t)hash64(&id, sizeof(id), 0) & (set->cap - 1);
    while (set->slots[j] != 0) {
        if (set->slots[j] == id)
            return false;
        j = (j + 1) & (set->cap - 1);
    }
    set->slots[j] = id;
    set->n++;
    return true;
}

struct walk {
    struct cred *creds;
    size_t n_creds, cap_creds;
    struct hmap cred_index; /* "kind:value" -> index + 1 */
    struct ev *evs;
    size_t n_evs, cap_evs;
    struct id_set ev_ids;
    struct arena strs; /* the events' strings */
    size_t max_creds;
};

/* The key of a credential in cred_index, "kind:value" (as snprintf wrote it),
 * into key[KEY_CAP]; its length, 0 when it does not fit. */
#define KEY_CAP 1100
static size_t index_key(char key[KEY_CAP], enum cred_kind kind, const char *value)
{
    size_t vl = strlen(value);
    if (vl + 2 >= KEY_CAP)
        return 0;
    key[0] = (char)('0' + (int)kind);
    key[1] = ':';
    memcpy(key + 2, value, vl + 1);
    return vl + 2;
}

/* Appends s to b[0..*len) truncated so the text stays under cap bytes with
 * its NUL, as snprintf into b[cap] would. */
static void cat_cut(char *b, size_t cap, size_t *len, const char *s)
{
    size_t sl = strlen(s);
    if (*len + sl >= cap)
        sl = cap - 1 - *len;
    memcpy(b + *len, s, sl);
    *len += sl;
    b[*len] = '\0';
}

static const char *const kind_name[] = { "access key", "principal", "role" };

static int add_cred(struct walk *w, enum cred_kind kind, const char *value, const char *how,
                    const char *event_id, int64_t ms, int parent)
{
    if (value == NULL || value[0] == '\0')
        return -1;
    char key[KEY_CAP];
    size_t kl = index_key(key, kind, value);
    if (kl == 0)
        return -1;
    void *got = hmap_get(&w->cred_index, key, kl);
    if (got)
        return (int)((uintptr_t)got - 1);
    if (w->n_creds >= w->max_creds)
        return -1;
    if (w->n_creds == w->cap_creds) {
        w->cap_creds = w->cap_creds ? w->cap_creds * 2 : 64;
        w->creds = xrealloc(w->creds, w->cap_creds * sizeof(*w->creds));
    }
    struct cred *c = &w->creds[w->n_creds];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->value = xstrdup(value);
    c->how = xstrdup(how);
    c->event_id = xstrdup(event_id ? event_id : "");
    c->ms = ms;
    c->parent = parent;
    c->first_ms = INT64_MAX;
    c->last_ms = INT64_MIN;
    hmap_put(&w->cred_index, key, kl, (void *)(uintptr_t)(w->n_creds + 1));
    return (int)w->n_creds++;
}

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool starts_any(const char *s, const char *const *ps)
{
    for (; *ps; ps++)
        if (starts(s, *ps))
            return true;
    return false;
}

/* The playbook's groups, by what an action does. A failed call is a failure
 * whatever it tried: the attacker probing permissions. */
static const char *group_of(const char *source, const char *name, const char *error, int read_only)
{
    static const char *const identity_src[] = { "iam.", "sts.", "sso.", "identitystore.",
                                                "organizations.", "signin.", NULL };
    static const char *const del[] = { "Delete", "Remove", "Terminate", "Detach", "Disable",
                                       "Deregister", "Revoke", "Stop", "Cancel", "Purge", NULL };
    static const char *const create[] = { "Create", "Run", "Launch", "Allocate", "Import",
                                          "Register", "Copy", "Request", "Upload", NULL };
    static const char *const read[] = { "Get", "List", "Describe", "Head", "Select", "Lookup",
                                        "Search", "Scan", "Query", "BatchGet", "Download", NULL };
    if (error[0])
        return "failures";
    if (starts_any(source, identity_src) && read_only != 1 && !starts_any(name, read))
        return "identity changes";
    if (starts_any(name, del))
        return "deletions";
    if (starts_any(name, create))
        return "resources created";
    if (read_only == 1 || starts_any(name, read))
        return "data access";
    return "modifications";
}

static const char *const group_order[] = { "data access",     "resources created", "identity changes",
                                           "deletions",       "modifications",     "failures" };

/* The last part of an ARN path: the role name of ...:role/path/Name or of
 * ...:assumed-role/Name/session (skip the session). */
static char *role_name_of(const char *arn)
{
    const char *p = strstr(arn, ":assumed-role/");
    if (p) {
        p += strlen(":assumed-role/");
        const char *e = strchr(p, '/');
        return xstrndup(p, e ? (size_t)(e - p) : strlen(p));
    }
    p = strstr(arn, ":role/");
    if (p) {
        const char *last = strrchr(arn, '/');
        return xstrdup(last + 1);
    }
    return NULL;
}

static char *user_name_of(const char *arn)
{
    const char *p = strstr(arn, ":user/");
    if (p == NULL)
        return NULL;
    return xstrdup(strrchr(arn, '/') + 1);
}

/* The rows of the walk: the columns the report needs, then the row id. */
static const char select_cols[] =
    "SELECT event_id, event_time_ms, ifnull(event_source,''), ifnull(event_name,''),"
    " ifnull(error_code,''), ifnull(read_only,-1), source_ip, user_agent, principal_arn,"
    " access_key_id, user_name, principal_type, account, session_issuer_arn, id"
    " FROM cloudtrail WHERE ";
#define COL_ID 14

/* What a call that mints credentials issued, from its record (cloudtrail_raw),
 * read only for those calls: one statement, one read and one parse of the
 * record per call (nine correlated subqueries per row, each re-testing the
 * API name, were half the playbook's time on a key with 48 k AssumeRoles). */
static const char mint_sql[] =
    "SELECT json_extract(raw,'$.responseElements.accessKey.accessKeyId'),"
    " json_extract(raw,'$.responseElements.accessKey.userName'),"
    " json_extract(raw,'$.responseElements.credentials.accessKeyId'),"
    " json_extract(raw,'$.responseElements.assumedRoleUser.arn'),"
    " json_extract(raw,'$.responseElements.federatedUser.arn'),"
    " json_extract(raw,'$.responseElements.user.arn'),"
    " json_extract(raw,'$.requestParameters.userName'),"
    " json_extract(raw,'$.requestParameters.roleArn'),"
    " json_extract(raw,'$.userIdentity.userName')"
    " FROM main.cloudtrail_raw WHERE id = ?1";

static bool is_mint(const char *name)
{
    static const char *const mints[] = { "CreateAccessKey", "CreateUser",
                                         "CreateLoginProfile", "UpdateLoginProfile",
                                         "AssumeRole", "GetSessionToken",
                                         "GetFederationToken", NULL };
    for (size_t i = 0; mints[i]; i++)
        if (strcmp(name, mints[i]) == 0)
            return true;
    return false;
}

/* Column i as a C string in the walk's arena ("" for NULL). */
static char *dup_col(struct walk *w, sqlite3_stmt *s, int i)
{
    const char *t = investigate__col(s, i);
    return arena_strndup(&w->strs, t, strlen(t));
}

/* What a successful call issued joins the walk. s is the walk's row, m the
 * prepared mint_sql. */
static int follow_mints(struct walk *w, sqlite3_stmt *s, sqlite3_stmt *m, int from)
{
    const char *name = investigate__col(s, 3);
    if (investigate__col(s, 4)[0] || !is_mint(name))
        return 0;
    const char *eid = investigate__col(s, 0);
    int64_t ms = sqlite3_column_int64(s, 1);
    const char *account = investigate__col(s, 12);
    sqlite3_reset(m);
    sqlite3_bind_int64(m, 1, sqlite3_column_int64(s, COL_ID));
    int step = sqlite3_step(m);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return step;
    /* No record: every field NULL, as the subqueries gave. */
    bool row = step == SQLITE_ROW;
    const char *new_key = row ? investigate__col(m, 0) : "";
    const char *key_user = row ? investigate__col(m, 1) : "";
    const char *cred_key = row ? investigate__col(m, 2) : "";
    const char *assumed = row ? investigate__col(m, 3) : "";
    const char *federated = row ? investigate__col(m, 4) : "";
    const char *user_arn = row ? investigate__col(m, 5) : "";
    const char *req_user = row ? investigate__col(m, 6) : "";
    const char *role_arn = row ? investigate__col(m, 7) : "";
    const char *self_user = row ? investigate__col(m, 8) : "";
    char arn[600];
    if (strcmp(name, "CreateAccessKey") == 0) {
        int c = add_cred(w, CRED_KEY, new_key, name, eid, ms, from);
        const char *u = key_user[0] ? key_user : req_user[0] ? req_user : self_user;
        if (c >= 0 && w->creds[c].user == NULL && u[0])
            w->creds[c].user = xstrdup(u);
    } else if (strcmp(name, "CreateUser") == 0) {
        if (user_arn[0] == '\0' && req_user[0])
            snprintf(arn, sizeof(arn), "arn:aws:iam::%s:user/%s", account, req_user);
        else
            snprintf(arn, sizeof(arn), "%s", user_arn);
        int c = add_cred(w, CRED_PRINCIPAL, arn, name, eid, ms, from);
        if (c >= 0) {
            w->creds[c].created = true;
            if (w->creds[c].user == NULL)
                w->creds[c].user = user_name_of(arn);
        }
    } else if (strcmp(name, "CreateLoginProfile") == 0 || strcmp(name, "UpdateLoginProfile") == 0) {
        const char *u = req_user[0] ? req_user : self_user;
        if (u[0] == '\0')
            return 0;
        snprintf(arn, sizeof(arn), "arn:aws:iam::%s:user/%s", account, u);
        int c = add_cred(w, CRED_PRINCIPAL, arn, name, eid, ms, from);
        if (c >= 0) {
            w->creds[c].login = true;
            if (w->creds[c].user == NULL)
                w->creds[c].user = xstrdup(u);
        }
    } else if (strcmp(name, "AssumeRole") == 0) {
        char *role = role_name_of(assumed[0] ? assumed : role_arn);
        int c = add_cred(w, CRED_KEY, cred_key, name, eid, ms, from);
        if (c >= 0) {
            w->creds[c].temporary = true;
            if (w->creds[c].role == NULL && role)
                w->creds[c].role = xstrdup(role);
        }
        c = add_cred(w, CRED_PRINCIPAL, assumed, name, eid, ms, from);
        if (c >= 0 && w->creds[c].role == NULL && role)
            w->creds[c].role = xstrdup(role);
        free(role);
    } else if (strcmp(name, "GetSessionToken") == 0 || strcmp(name, "GetFederationToken") == 0) {
        int c = add_cred(w, CRED_KEY, cred_key, name, eid, ms, from);
        if (c >= 0) {
            w->creds[c].temporary = true;
            if (w->creds[c].user == NULL && self_user[0])
                w->creds[c].user = xstrdup(self_user);
        }
        if (federated[0]) {
            c = add_cred(w, CRED_PRINCIPAL, federated, name, eid, ms, from);
            if (c >= 0 && w->creds[c].user == NULL && self_user[0])
                w->creds[c].user = xstrdup(self_user);
        }
    }
    return 0;
}

static int walk_one(struct walk *w, sqlite3 *db, sqlite3_stmt *const stmts[4], size_t ci,
                    int64_t since_ms, struct err *err)
{
    sqlite3_stmt *s = stmts[w->creds[ci].kind];
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, w->creds[ci].value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, since_ms);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *eid = investigate__col(s, 0);
        struct cred *c = &w->creds[ci];
        int64_t ms = sqlite3_column_int64(s, 1);
        /* Each credential counts every call made with it; the event itself
         * is listed once. */
        c->n_events++;
        if (ms < c->first_ms)
            c->first_ms = ms;
        if (ms > c->last_ms)
            c->last_ms = ms;
        if (id_set_add(&w->ev_ids, sqlite3_column_int64(s, COL_ID))) {
            if (w->n_evs == w->cap_evs) {
                w->cap_evs = w->cap_evs ? w->cap_evs * 2 : 256;
                w->evs = xrealloc(w->evs, w->cap_evs * sizeof(*w->evs));
            }
            struct ev *e = &w->evs[w->n_evs++];
            e->id = arena_strndup(&w->strs, eid, strlen(eid));
            e->ms = ms;
            e->source = dup_col(w, s, 2);
            e->name = dup_col(w, s, 3);
            e->error = dup_col(w, s, 4);
            e->read_only = sqlite3_column_int(s, 5);
            e->ip = dup_col(w, s, 6);
            e->ua = dup_col(w, s, 7);
            e->principal = dup_col(w, s, 8);
            e->key = dup_col(w, s, 9);
            e->user_name = dup_col(w, s, 10);
            e->principal_type = dup_col(w, s, 11);
            e->issuer = dup_col(w, s, 13);
            e->cred = (int)ci;
            e->group = group_of(e->source, e->name, e->error, e->read_only);
            /* The issuer is the most specific credential: the key that signed
             * the call when it is one of ours, else the one that found it. */
            int from = (int)ci;
            char k[KEY_CAP];
            size_t kl = e->key[0] ? index_key(k, CRED_KEY, e->key) : 0;
            void *got = kl > 0 ? hmap_get(&w->cred_index, k, kl) : NULL;
            if (got)
                from = (int)((uintptr_t)got - 1);
            if (follow_mints(w, s, stmts[3], from) != 0) {
                step = SQLITE_ERROR;
                break;
            }
        }
    }
    if (step != SQLITE_DONE)
        return investigate__db_err(db, err, "reading events");
    return 0;
}

static int cmp_ev(const void *x, const void *y)
{
    const struct ev *a = x, *b = y;
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Aggregates by a text key: count, first and last seen, credentials used. */
struct agg {
    char *key, *group, *action, *error;
    uint64_t n;
    int64_t first, last;
    char creds[300];
};

struct aggs {
    struct agg *v;
    size_t n;
    struct hmap index;
};

static struct agg *agg_get(struct aggs *a, const char *key)
{
    void *got = hmap_get(&a->index, key, strlen(key));
    if (got)
        return &a->v[(uintptr_t)got - 1];
    a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
    struct agg *g = &a->v[a->n++];
    memset(g, 0, sizeof(*g));
    g->key = xstrdup(key);
    g->first = INT64_MAX;
    g->last = INT64_MIN;
    hmap_put(&a->index, g->key, strlen(g->key), (void *)(uintptr_t)a->n);
    return g;
}

static void agg_add(struct agg *g, int64_t ms, const char *cred)
{
    g->n++;
    if (ms < g->first)
        g->first = ms;
    if (ms > g->last)
        g->last = ms;
    if (strstr(g->creds, cred) == NULL) {
        size_t l = strlen(g->creds);
        if (l + strlen(cred) + 3 < sizeof(g->creds))
            snprintf(g->creds + l, sizeof(g->creds) - l, "%s%s", l ? ", " : "", cred);
    }
}

static void aggs_free(struct aggs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].key);
        free(a->v[i].group);
        free(a->v[i].action);
        free(a->v[i].error);
    }
    free(a->v);
    hmap_free(&a->index);
}

static void aggs_table(struct investigate_report *r, struct aggs *a, const char *title,
                       const char *col)
{
    struct investigate_table *t =
        investigate__table(r, title, NULL, col, "events", "first seen", "last seen", "credentials",
                           (const char *)NULL);
    for (size_t i = 0; i < a->n; i++) {
        char f[32], l[32], n[24];
        investigate__time(a->v[i].first, f);
        investigate__time(a->v[i].last, l);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)a->v[i].n);
        investigate__row(t, a->v[i].key[0] ? a->v[i].key : "(none)", n, f, l, a->v[i].creds);
    }
}

static void add_cmd(struct investigate_table *t, struct hmap *seen, const char *cmd)
{
    if (hmap_get(seen, cmd, strlen(cmd)))
        return;
    hmap_put(seen, cmd, strlen(cmd), (void *)1);
    investigate__row(t, cmd);
}

/* Containment: every credential seen or minted gets the step that stops it.
 * Temporary credentials cannot be deactivated: the deny policy on their role
 * or user, conditioned on aws:TokenIssueTime, is what the IAM console's
 * "Revoke active sessions" does. */
static void containment(struct investigate_report *r, const struct walk *w, int64_t now_ms)
{
    struct investigate_table *t = investigate__table(
        r, "Containment",
        "AWS CLI commands to run after review (Vigil runs none). Keys are deactivated, not "
        "deleted, to keep the evidence; temporary credentials are revoked with a deny policy on "
        "tokens issued before now.",
        "command", (const char *)NULL);
    struct hmap seen;
    hmap_init(&seen);
    char now[32], deny[400], cmd[1200];
    investigate__time(now_ms, now);
    snprintf(deny, sizeof(deny),
             "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"*\"],"
             "\"Resource\":[\"*\"],\"Condition\":{\"DateLessThan\":{\"aws:TokenIssueTime\":\"%s\"}}}]}",
             now);
    /* Long-term keys: from minted records and from the events that used them. */
    for (size_t i = 0; i < w->n_evs; i++) {
        const struct ev *e = &w->evs[i];
        if (starts(e->key, "AKIA")) {
            if (strcmp(e->principal_type, "Root") == 0)
                snprintf(cmd, sizeof(cmd),
                         "aws iam update-access-key --access-key-id %s --status Inactive  # root "
                         "user's key: run with root credentials",
                         e->key);
            else if (e->user_name[0])
                snprintf(cmd, sizeof(cmd),
                         "aws iam update-access-key --user-name %s --access-key-id %s --status "
                         "Inactive",
                         e->user_name, e->key);
            else
                continue;
            add_cmd(t, &seen, cmd);
        }
    }
    for (size_t i = 0; i < w->n_creds; i++) {
        const struct cred *c = &w->creds[i];
        if (c->kind == CRED_KEY && !c->temporary && c->user) {
            snprintf(cmd, sizeof(cmd),
                     "aws iam update-access-key --user-name %s --access-key-id %s --status Inactive",
                     c->user, c->value);
            add_cmd(t, &seen, cmd);
        }
    }
    /* Roles whose sessions were used or minted. */
    for (size_t i = 0; i < w->n_evs + w->n_creds; i++) {
        char *role = NULL, *user = NULL;
        if (i < w->n_evs) {
            const struct ev *e = &w->evs[i];
            if (strcmp(e->principal_type, "AssumedRole") == 0)
                role = role_name_of(e->issuer[0] ? e->issuer : e->principal);
            else if (starts(e->key, "ASIA") && strcmp(e->principal_type, "IAMUser") == 0 &&
                     e->user_name[0])
                user = xstrdup(e->user_name);
            else if (strcmp(e->principal_type, "FederatedUser") == 0 && e->issuer[0])
                user = user_name_of(e->issuer);
        } else {
            const struct cred *c = &w->creds[i - w->n_evs];
            if (c->role)
                role = xstrdup(c->role);
            else if (c->temporary && c->user)
                user = xstrdup(c->user);
        }
        if (role) {
            snprintf(cmd, sizeof(cmd),
                     "aws iam put-role-policy --role-name %s --policy-name AWSRevokeOlderSessions "
                     "--policy-document '%s'",
                     role, deny);
            add_cmd(t, &seen, cmd);
        }
        if (user) {
            snprintf(cmd, sizeof(cmd),
                     "aws iam put-user-policy --user-name %s --policy-name VigilRevokeOlderSessions "
                     "--policy-document '%s'",
                     user, deny);
            add_cmd(t, &seen, cmd);
        }
        free(role);
        free(user);
    }
    /* Users: console access and whatever keys were not seen. */
    for (size_t i = 0; i < w->n_creds; i++) {
        const struct cred *c = &w->creds[i];
        if (c->kind != CRED_PRINCIPAL || c->user == NULL || strstr(c->value, ":user/") == NULL)
            continue;
        if (c->login || c->created) {
            snprintf(cmd, sizeof(cmd), "aws iam delete-login-profile --user-name %s", c->user);
            add_cmd(t, &seen, cmd);
        }
        if (c->created) {
            snprintf(cmd, sizeof(cmd),
                     "aws iam attach-user-policy --user-name %s --policy-arn "
                     "arn:aws:iam::aws:policy/AWSDenyAll",
                     c->user);
            add_cmd(t, &seen, cmd);
        }
    }
    for (size_t i = 0; i < w->n_evs; i++) {
        const struct ev *e = &w->evs[i];
        if (strcmp(e->name, "ConsoleLogin") == 0 && e->error[0] == '\0' && e->user_name[0] &&
            strcmp(e->principal_type, "IAMUser") == 0) {
            snprintf(cmd, sizeof(cmd), "aws iam delete-login-profile --user-name %s", e->user_name);
            add_cmd(t, &seen, cmd);
        }
    }
    /* Keys Vigil did not see (created outside the logs' window). */
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *u = strstr(t->cells[i], "--user-name ");
        if (u == NULL || !starts(t->cells[i], "aws iam update-access-key"))
            continue;
        u += strlen("--user-name ");
        const char *end = strchr(u, ' ');
        snprintf(cmd, sizeof(cmd), "aws iam list-access-keys --user-name %.*s",
                 (int)(end ? end - u : (long)strlen(u)), u);
        add_cmd(t, &seen, cmd);
    }
    hmap_free(&seen);
}

static void walk_free(struct walk *w)
{
    for (size_t i = 0; i < w->n_creds; i++) {
        free(w->creds[i].value);
        free(w->creds[i].how);
        free(w->creds[i].event_id);
        free(w->creds[i].user);
        free(w->creds[i].role);
    }
    free(w->creds);
    free(w->evs);
    hmap_free(&w->cred_index);
    free(w->ev_ids.slots);
    arena_free(&w->strs);
}

static void build_report(struct investigate_report *r, struct walk *w,
                         const struct investigate_cred_opts *o)
{
    qsort(w->evs, w->n_evs, sizeof(*w->evs), cmp_ev);
    char t1[32], t2[32];
    investigate__summary(r, "start", "%s", o->access_key ? o->access_key : o->principal);
    investigate__time(o->since_ms, t1);
    investigate__summary(r, "since", "%s", t1[0] ? t1 : "(all)");
    investigate__summary(r, "events", "%zu", w->n_evs);
    investigate__summary(r, "credentials followed", "%zu", w->n_creds);
    if (w->n_evs) {
        investigate__time(w->evs[0].ms, t1);
        investigate__time(w->evs[w->n_evs - 1].ms, t2);
        investigate__summary(r, "first event", "%s", t1);
        investigate__summary(r, "last event", "%s", t2);
    }
    if (w->n_creds >= w->max_creds)
        investigate__summary(r, "warning", "stopped after %zu credentials", w->max_creds);

    struct investigate_table *t = investigate__table(
        r, "Credentials", "The starting credential and every credential obtained from it, in turn.",
        "credential", "type", "obtained by", "at", "from", "event id", "events", "first used",
        "last used", (const char *)NULL);
    /* Temporary keys never used in the logs (a role assumed every hour
     * mints thousands) are one line per issuing API and role here, and
     * listed in a table of their own. */
    struct aggs unused = { 0 };
    hmap_init(&unused.index);
    size_t n_unused = 0;
    for (size_t i = 0; i < w->n_creds; i++) {
        const struct cred *c = &w->creds[i];
        if (c->kind != CRED_KEY || !c->temporary || c->n_events > 0 || c->parent < 0)
            continue;
        char key[600];
        snprintf(key, sizeof(key), "%s %s", c->how, c->role ? c->role : c->user ? c->user : "");
        agg_add(agg_get(&unused, key), c->ms, w->creds[c->parent].value);
        n_unused++;
    }
    for (size_t i = 0; i < w->n_creds; i++) {
        const struct cred *c = &w->creds[i];
        if (c->kind == CRED_KEY && c->temporary && c->n_events == 0 && c->parent >= 0)
            continue;
        char at[32], f[32], l[32], n[24];
        investigate__time(c->ms, at);
        investigate__time(c->first_ms, f);
        investigate__time(c->last_ms, l);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)c->n_events);
        char type[64];
        snprintf(type, sizeof(type), "%s%s", kind_name[c->kind],
                 c->temporary ? " (temporary)" : "");
        investigate__row(t, c->value, type, c->how, c->parent < 0 ? "" : at,
                         c->parent < 0 ? "" : w->creds[c->parent].value, c->event_id, n, f, l);
    }

    for (size_t i = 0; i < unused.n; i++) {
        char f[32], l[32], what[700], at[80];
        investigate__time(unused.v[i].first, f);
        investigate__time(unused.v[i].last, l);
        const char *sp = strchr(unused.v[i].key, ' ');
        snprintf(what, sizeof(what), "%llu unused temporary key%s%s%s%s",
                 (unsigned long long)unused.v[i].n, unused.v[i].n == 1 ? "" : "s",
                 sp && sp[1] ? " (" : "", sp && sp[1] ? sp + 1 : "", sp && sp[1] ? ")" : "");
        if (unused.v[i].first == unused.v[i].last)
            snprintf(at, sizeof(at), "%s", f);
        else
            snprintf(at, sizeof(at), "%s .. %s", f, l);
        char how[64];
        snprintf(how, sizeof(how), "%.*s", (int)(sp ? sp - unused.v[i].key : 0), unused.v[i].key);
        investigate__row(t, what, "access key (temporary)", how, at, unused.v[i].creds, "", "0", "",
                         "");
    }
    aggs_free(&unused);
    investigate__summary(r, "unused temporary keys", "%zu", n_unused);
    if (n_unused) {
        size_t max_list = o->max_events ? o->max_events : 5000;
        t = investigate__table(r, "Unused temporary keys",
                               "Temporary keys issued to the followed credentials that no event in "
                               "the logs used.",
                               "credential", "obtained by", "at", "role or user", "from",
                               "event id", (const char *)NULL);
        for (size_t i = 0; i < w->n_creds && t->n_rows < max_list; i++) {
            const struct cred *c = &w->creds[i];
            if (c->kind != CRED_KEY || !c->temporary || c->n_events > 0 || c->parent < 0)
                continue;
            char at[32];
            investigate__time(c->ms, at);
            investigate__row(t, c->value, c->how, at, c->role ? c->role : c->user ? c->user : "",
                             w->creds[c->parent].value, c->event_id);
        }
    }

    struct aggs acts = { 0 }, ips = { 0 }, uas = { 0 };
    hmap_init(&acts.index);
    hmap_init(&ips.index);
    hmap_init(&uas.index);
    for (size_t i = 0; i < w->n_evs; i++) {
        const struct ev *e = &w->evs[i];
        const char *cred = w->creds[e->cred].value;
        char key[600];
        size_t kl = 0;
        key[0] = '\0';
        cat_cut(key, sizeof(key), &kl, e->group);
        cat_cut(key, sizeof(key), &kl, "\x1f");
        cat_cut(key, sizeof(key), &kl, e->source);
        cat_cut(key, sizeof(key), &kl, "\x1f");
        cat_cut(key, sizeof(key), &kl, e->name);
        cat_cut(key, sizeof(key), &kl, "\x1f");
        cat_cut(key, sizeof(key), &kl, e->error);
        struct agg *g = agg_get(&acts, key);
        if (g->group == NULL) {
            char action[300];
            const char *dot = strchr(e->source, '.');
            snprintf(action, sizeof(action), "%.*s:%s", (int)(dot ? dot - e->source : (long)strlen(e->source)),
                     e->source, e->name);
            g->group = xstrdup(e->group);
            g->action = xstrdup(action);
            g->error = xstrdup(e->error);
        }
        agg_add(g, e->ms, cred);
        agg_add(agg_get(&ips, e->ip), e->ms, cred);
        agg_add(agg_get(&uas, e->ua), e->ms, cred);
    }
    t = investigate__table(r, "Actions",
                           "Every API action, grouped: data access, resources created, identity "
                           "changes, deletions, modifications, failures.",
                           "group", "action", "error", "events", "first seen", "last seen",
                           "credentials", (const char *)NULL);
    for (size_t gi = 0; gi < sizeof(group_order) / sizeof(group_order[0]); gi++)
        for (size_t i = 0; i < acts.n; i++) {
            const struct agg *g = &acts.v[i];
            if (strcmp(g->group, group_order[gi]) != 0)
                continue;
            char f[32], l[32], n[24];
            investigate__time(g->first, f);
            investigate__time(g->last, l);
            snprintf(n, sizeof(n), "%llu", (unsigned long long)g->n);
            investigate__row(t, g->group, g->action, g->error, n, f, l, g->creds);
        }
    for (size_t gi = 0; gi < sizeof(group_order) / sizeof(group_order[0]); gi++) {
        size_t n = 0;
        for (size_t i = 0; i < w->n_evs; i++)
            n += strcmp(w->evs[i].group, group_order[gi]) == 0;
        investigate__summary(r, group_order[gi], "%zu", n);
    }
    aggs_table(r, &ips, "Source IPs", "source ip");
    aggs_table(r, &uas, "User agents", "user agent");
    aggs_free(&acts);
    aggs_free(&ips);
    aggs_free(&uas);

    size_t max_ev = o->max_events ? o->max_events : 5000;
    t = investigate__table(r, "Events", w->n_evs > max_ev ? "Only the first events are listed."
                                                          : NULL,
                           "time", "group", "action", "credential", "source ip", "error",
                           "event id", (const char *)NULL);
    for (size_t i = 0; i < w->n_evs; i++) {
        const struct ev *e = &w->evs[i];
        char ts[32], action[300];
        size_t al = 0;
        investigate__time(e->ms, ts);
        action[0] = '\0';
        cat_cut(action, sizeof(action), &al, e->source);
        cat_cut(action, sizeof(action), &al, ":");
        cat_cut(action, sizeof(action), &al, e->name);
        if (i < max_ev)
            investigate__row(t, ts, e->group, action, w->creds[e->cred].value, e->ip, e->error,
                             e->id);
        investigate__point(r, e->ms, e->group, action, e->error[0] != '\0');
    }
    containment(r, w, o->now_ms);
}

int investigate_credentials(struct store *st, const struct investigate_cred_opts *o,
                            struct investigate_report **out, struct err *err)
{
    if ((o->access_key == NULL) == (o->principal == NULL))
        return err_set(err, ERR_USAGE, "give one of an access key or a principal ARN");
    sqlite3 *db = store_db(st);
    static const char *const where[3] = {
        "access_key_id = ?1 AND event_time_ms >= ?2",
        "principal_arn = ?1 AND event_time_ms >= ?2",
        "session_issuer_arn = ?1 AND event_time_ms >= ?2",
    };
    sqlite3_stmt *stmts[4] = { NULL, NULL, NULL, NULL };
    int rc = 0;
    if (sqlite3_prepare_v2(db, mint_sql, -1, &stmts[3], NULL) != SQLITE_OK)
        rc = investigate__db_err(db, err, "credentials query");
    for (int k = 0; k < 3 && rc == 0; k++) {
        struct buf sql;
        buf_init(&sql, 0);
        buf_printf(&sql, "%s%s ORDER BY event_time_ms, event_id", select_cols, where[k]);
        if (sqlite3_prepare_v2(db, sql.p, (int)sql.len, &stmts[k], NULL) != SQLITE_OK)
            rc = investigate__db_err(db, err, "credentials query");
        buf_free(&sql);
    }
    struct walk w;
    memset(&w, 0, sizeof(w));
    hmap_init(&w.cred_index);
    arena_init(&w.strs, 1u << 20);
    w.max_creds = o->max_credentials ? o->max_credentials : 10000;
    if (o->access_key) {
        add_cred(&w, CRED_KEY, o->access_key, "start", NULL, INT64_MIN, -1);
    } else {
        bool role = strstr(o->principal, ":role/") != NULL;
        int c = add_cred(&w, role ? CRED_ROLE : CRED_PRINCIPAL, o->principal, "start", NULL,
                         INT64_MIN, -1);
        if (c >= 0)
            w.creds[c].role = role_name_of(o->principal);
    }
    if (w.n_creds == 0 && rc == 0)
        rc = err_set(err, ERR_USAGE, "empty access key or principal");
    for (size_t i = 0; rc == 0 && i < w.n_creds; i++)
        rc = walk_one(&w, db, stmts, i, o->since_ms, err);
    for (int k = 0; k < 4; k++)
        sqlite3_finalize(stmts[k]);
    if (rc == 0) {
        char title[600];
        snprintf(title, sizeof(title), "Compromised credentials: %s",
                 o->access_key ? o->access_key : o->principal);
        struct investigate_report *r = investigate__report_new("credentials", title);
        build_report(r, &w, o);
        *out = r;
    }
    walk_free(&w);
    return rc;
}
