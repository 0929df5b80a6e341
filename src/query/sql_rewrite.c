/*
 * Athena (Trino/Presto) SQL -> SQLite SQL over the views of sql_funcs.c.
 *
 * A tokenizer and targeted rewrites, not a parser: SQLite parses the result,
 * and its errors are mapped back to input lines through the offset map kept
 * here. What is rewritten:
 *   tables      cloudtrail, cloudtrail_<account>, "db"."table", vpcflow, r53dns, ...
 *               -> the view they stand for, keeping the name as the alias
 *   struct      useridentity.sessioncontext.sessionissuer.arn, t.useridentity.arn
 *               -> vq_get(useridentity, 'sessioncontext.sessionissuer.arn')
 *               dot access on a STRING column (requestparameters.bucketName) is
 *               refused as Athena refuses it
 *   literals    DATE '..', TIMESTAMP '..', IPADDRESS '..', current_timestamp,
 *               current_date, now(), x +/- INTERVAL 'n' unit
 *   functions   CAST/TRY_CAST to varchar/bigint/double/timestamp/date/ipaddress,
 *               try(), approx_distinct, arbitrary, concat, if, array_agg(... ORDER BY),
 *               filter/transform/any_match/all_match/none_match lambdas, UNNEST
 *   ORDER BY    ascending keys get NULLS LAST (Trino's default; SQLite's is first)
 *   LIKE        requestparameters LIKE '%lit%' gets the rows of the store's text
 *               index that contain lit, when the store has one (QUERY_SQL_TEXT_INDEX)
 *   DDL         CREATE EXTERNAL TABLE, ALTER TABLE ADD PARTITION, MSCK REPAIR:
 *               recognised, nothing to do (QUERY_SQL_NOOP)
 * Comments are dropped; a trailing ';' is dropped; one statement per call.
 */
#include "query/query_int.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tok_type { T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_OP };

struct tok {
    uint8_t type;
    bool space; /* whitespace or a comment before it */
    const char *p;
    size_t len;
    unsigned line;
};

#define MAX_TOKENS 200000
#define MAX_NAMES 64
#define NAME_LEN 64
#define MAX_DEPTH 64

struct unnest {
    char alias[NAME_LEN], col[NAME_LEN], ord[NAME_LEN];
};

struct rw {
    const struct tok *t;
    size_t n;
    struct buf out;
    struct query_sql *q;
    size_t map_cap;
    struct err *err;
    int rc;
    char aliases[MAX_NAMES][NAME_LEN]; /* table names and aliases in scope (any) */
    size_t n_aliases;
    struct unnest un[MAX_NAMES];
    size_t n_un;
    char lam_var[MAX_DEPTH][NAME_LEN]; /* lambda parameters, innermost last */
    size_t n_lam;
    unsigned lam_seq;
    size_t operand_start; /* output offset where the last primary expression began */
    int depth;
    /* ORDER BY state per paren depth */
    bool ob_on[MAX_DEPTH];
    bool ob_desc[MAX_DEPTH], ob_nulls[MAX_DEPTH];
    bool sel_on[MAX_DEPTH]; /* inside a SELECT list at this depth */
    bool derived;           /* a FROM (subquery): column names may be redefined */
    bool ct_only;           /* every FROM/JOIN table is cloudtrail_logs, no comma joins */
    bool text_index;        /* the store has STORE_TEXT_TABLE */
    bool time_order;        /* ORDER BY eventtime reads as "eventtime.ms" */
    bool text_probe;        /* the text filter as vq_text_has, not an IN list */
    /* The window [span_lo, span_hi) the WHERE's top AND chain bounds the
     * epoch column to (INT64_MIN / INT64_MAX: unbounded). */
    int64_t span_lo, span_hi;
    bool slice;                 /* add "eventtime.ms" in [slice_lo, slice_hi) */
    int64_t slice_lo, slice_hi;
};

/* ---- tokenizer --------------------------------------------------------------- */

static int tokenize(const char *s, size_t len, struct tok **out, size_t *n_out, struct err *err)
{
    size_t cap = 64, n = 0;
    struct tok *t = xmalloc(cap * sizeof(*t));
    unsigned line = 1;
    bool space = false;
    size_t i = 0;
    int rc = 0;
    while (i < len) {
        char c = s[i];
        if (c == '\0') { /* SQLite would silently stop there */
            rc = err_set(err, ERR_USAGE, "NUL byte in the statement at line %u", line);
            break;
        }
        if (c == '\n') {
            line++;
            space = true;
            i++;
            continue;
        }
        if (isspace((unsigned char)c)) {
            space = true;
            i++;
            continue;
        }
        if (c == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
            space = true;
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            unsigned l0 = line;
            i += 2;
            while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/')) {
                if (s[i] == '\n')
                    line++;
                i++;
            }
            if (i + 1 >= len) {
                rc = err_set(err, ERR_USAGE, "unterminated comment at line %u", l0);
                break;
            }
            i += 2;
            space = true;
            continue;
        }
        if (n == cap) {
            if (cap >= MAX_TOKENS) {
                rc = err_set(err, ERR_LIMIT, "statement too long (over %d tokens)", MAX_TOKENS);
                break;
            }
            cap *= 2;
            t = xrealloc(t, cap * sizeof(*t));
        }
        struct tok *k = &t[n];
        k->space = space;
        k->line = line;
        k->p = s + i;
        space = false;
        size_t st = i;
        if (c == '\'' || c == '"' || c == '`') {
            unsigned l0 = line;
            i++;
            for (;;) {
                if (i >= len) {
                    rc = err_set(err, ERR_USAGE, "unterminated %s at line %u",
                                 c == '\'' ? "string" : "quoted identifier", l0);
                    break;
                }
                if (s[i] == '\n')
                    line++;
                if (s[i] == '\0') {
                    rc = err_set(err, ERR_USAGE, "NUL byte in the statement at line %u", line);
                    break;
                }
                if (s[i] == c) {
                    if (i + 1 < len && s[i + 1] == c) {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
            if (rc != 0)
                break;
            k->type = c == '\'' ? T_STRING : T_QIDENT;
        } else if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
            while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' ||
                               (unsigned char)s[i] >= 0x80))
                i++;
            k->type = T_IDENT;
        } else if (isdigit((unsigned char)c) ||
                   (c == '.' && i + 1 < len && isdigit((unsigned char)s[i + 1]))) {
            while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '.'))
                i++;
            k->type = T_NUMBER;
        } else {
            static const char *const two[] = { "<>", "!=", "<=", ">=", "||", "->", "==" };
            k->type = T_OP;
            i++;
            for (size_t m = 0; m < sizeof(two) / sizeof(two[0]); m++)
                if (st + 1 < len && s[st] == two[m][0] && s[st + 1] == two[m][1]) {
                    i = st + 2;
                    break;
                }
        }
        k->len = i - st;
        n++;
    }
    if (rc != 0) {
        free(t);
        return rc;
    }
    *out = t;
    *n_out = n;
    return 0;
}

/* ---- helpers --------------------------------------------------------------- */

static bool is(const struct tok *k, const char *word)
{
    size_t l = strlen(word);
    if (k->type == T_OP)
        return k->len == l && memcmp(k->p, word, l) == 0;
    return k->type == T_IDENT && k->len == l && strncasecmp(k->p, word, l) == 0;
}

static bool at_op(const struct tok *t, size_t n, size_t i, const char *word);

static bool at(const struct rw *r, size_t i, const char *word)
{
    return i < r->n && is(&r->t[i], word);
}

static bool at_op(const struct tok *t, size_t n, size_t i, const char *word)
{
    return i < n && is(&t[i], word);
}

/* The token's name lower-cased, quotes removed, truncated to NAME_LEN-1. */
static void name_of(const struct tok *k, char out[NAME_LEN])
{
    const char *p = k->p;
    size_t len = k->len;
    if (k->type == T_QIDENT && len >= 2) {
        p++;
        len -= 2;
    }
    if (len >= NAME_LEN)
        len = NAME_LEN - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)p[i]);
    out[len] = '\0';
}

static const char *const keywords[] = {
    "where", "join",  "cross",  "inner",  "left",   "right",  "full",   "outer",     "on",
    "group", "order", "limit",  "having", "union",  "natural", "using", "as",        "window",
    "offset", "fetch", "except", "intersect", "lateral", "tablesample", "select", "from",
    "and",   "or",    "not",    "with",   "by",     "desc",   "asc",    "nulls",     "in",
    "is",    "like",  "between", "case",  "when",   "then",   "else",   "end",       "null",
    "distinct", "all", "exists", "interval", "over", "partition", "rows", "range", "escape",
    "cast", "try_cast", "unnest", "ordinality", "values", "first", "last", "true", "false",
};

static bool is_keyword(const struct tok *k)
{
    if (k->type != T_IDENT)
        return false;
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (is(k, keywords[i]))
            return true;
    return false;
}

static bool in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

/* Columns holding a ROW or an ARRAY of ROWs (JSON text in the views). */
static const char *const struct_cols[] = {
    "useridentity", "tlsdetails", "addendum", "edgedevicedetails", "srcids", "httprequest",
    /* OCSF */
    "metadata", "cloud", "api", "actor", "http_request", "src_endpoint", "dst_endpoint",
    "connection_info", "traffic", "query", "user", "unmapped", NULL
};
/* Columns the DDL declares STRING although they hold JSON. */
static const char *const json_string_cols[] = { "requestparameters", "responseelements",
                                                "additionaleventdata", "serviceeventdetails",
                                                NULL };

static size_t match_paren(const struct rw *r, size_t open)
{
    int d = 0;
    for (size_t i = open; i < r->n; i++) {
        if (is(&r->t[i], "(") || is(&r->t[i], "["))
            d++;
        else if (is(&r->t[i], ")") || is(&r->t[i], "]")) {
            if (--d == 0)
                return i;
        }
    }
    return r->n;
}

static int fail(struct rw *r, const struct tok *k, const char *what)
{
    if (r->rc == 0)
        r->rc = err_set(r->err, ERR_USAGE, "unsupported: %s at line %u", what,
                        k ? k->line : 0);
    return r->rc;
}

static void map_add(struct rw *r, unsigned line)
{
    struct query_sql *q = r->q;
    if (q->n_map == r->map_cap) {
        r->map_cap = r->map_cap ? r->map_cap * 2 : 256;
        q->map_off = xrealloc(q->map_off, r->map_cap * sizeof(*q->map_off));
        q->map_line = xrealloc(q->map_line, r->map_cap * sizeof(*q->map_line));
    }
    q->map_off[q->n_map] = (uint32_t)r->out.len;
    q->map_line[q->n_map] = line;
    q->n_map++;
}

static void put(struct rw *r, const char *s) { buf_append_cstr(&r->out, s); }

/* Emits text attributed to token k's line, with a space before it. */
static void put_at(struct rw *r, const struct tok *k, const char *s)
{
    buf_putc(&r->out, ' ');
    map_add(r, k->line);
    put(r, s);
}

static void put_tok(struct rw *r, const struct tok *k)
{
    if (k->space)
        buf_putc(&r->out, ' ');
    map_add(r, k->line);
    if (k->type == T_QIDENT && k->p[0] == '`') {
        /* backticks: SQLite takes them, but normalise to standard quoting */
        buf_putc(&r->out, '"');
        buf_append(&r->out, k->p + 1, k->len - 2);
        buf_putc(&r->out, '"');
        return;
    }
    buf_append(&r->out, k->p, k->len);
}

static void emit_range(struct rw *r, size_t i, size_t end);
static size_t emit_time_filter(struct rw *r, size_t first, size_t i);
static size_t emit_text_filter(struct rw *r, size_t first, size_t i);
static void and_chain(const struct rw *r, size_t i, size_t *b, size_t *e);
static size_t emit_partition_filter(struct rw *r, size_t first, size_t i);
static size_t emit_time_key(struct rw *r, size_t i);
static const char *view_for(const char *name, bool qualified);

/* ---- prescan: table aliases and UNNEST columns --------------------------------- */

static void add_alias(struct rw *r, const char *name)
{
    if (r->n_aliases < MAX_NAMES && name[0]) {
        memcpy(r->aliases[r->n_aliases], name, NAME_LEN);
        r->n_aliases++;
    }
}

static bool is_alias(const struct rw *r, const char *name)
{
    for (size_t i = 0; i < r->n_aliases; i++)
        if (strcmp(r->aliases[i], name) == 0)
            return true;
    return false;
}

/* Index after "[AS] alias [(c1, c2)]" starting at i; fills what it finds. */
static size_t scan_alias(const struct rw *r, size_t i, char alias[NAME_LEN], char c1[NAME_LEN],
                         char c2[NAME_LEN])
{
    alias[0] = c1[0] = c2[0] = '\0';
    if (at(r, i, "as"))
        i++;
    if (i < r->n && (r->t[i].type == T_IDENT || r->t[i].type == T_QIDENT) &&
        !is_keyword(&r->t[i])) {
        name_of(&r->t[i], alias);
        i++;
        if (at(r, i, "(") && i + 1 < r->n && r->t[i + 1].type != T_OP) {
            name_of(&r->t[i + 1], c1);
            if (at(r, i + 2, ",") && i + 3 < r->n) {
                name_of(&r->t[i + 3], c2);
                i += 5;
            } else {
                i += 3;
            }
        }
    }
    return i;
}

static void prescan(struct rw *r)
{
    size_t n_tables = 0;
    for (size_t i = 0; i + 1 < r->n; i++)
        if (((at(r, i, "from") || at(r, i, "join")) && at(r, i + 1, "(")) ||
            (at(r, i, "as") && at(r, i + 1, "(") && i + 2 < r->n &&
             (at(r, i + 2, "select") || at(r, i + 2, "with")))) /* a CTE */
            r->derived = true;
    for (size_t i = 0; i + 1 < r->n; i++) {
        if (at(r, i, "unnest") && at(r, i + 1, "(")) {
            size_t k = match_paren(r, i + 1) + 1;
            bool ord = false;
            if (at(r, k, "with") && at(r, k + 1, "ordinality")) {
                ord = true;
                k += 2;
            }
            if (r->n_un < MAX_NAMES) {
                struct unnest *u = &r->un[r->n_un];
                scan_alias(r, k, u->alias, u->col, u->ord);
                if (!ord)
                    u->ord[0] = '\0';
                if (u->alias[0]) {
                    add_alias(r, u->alias);
                    r->n_un++;
                }
            }
            continue;
        }
        if (!(at(r, i, "from") || at(r, i, "join")))
            continue;
        size_t k = i + 1;
        if (k >= r->n || (r->t[k].type != T_IDENT && r->t[k].type != T_QIDENT) ||
            is_keyword(&r->t[k]))
            continue;
        char last[NAME_LEN];
        size_t first = k;
        name_of(&r->t[k], last);
        while (at(r, k + 1, ".") && k + 2 < r->n) {
            k += 2;
            name_of(&r->t[k], last);
        }
        add_alias(r, last);
        char alias[NAME_LEN], c1[NAME_LEN], c2[NAME_LEN];
        size_t after = scan_alias(r, k + 1, alias, c1, c2);
        add_alias(r, alias);
        /* Placeholders ("<table>") pick their view from the columns later:
         * not counted as CloudTrail here. */
        const char *view = view_for(last, k > first);
        if (!n_tables++)
            r->ct_only = true;
        if (view == NULL || strcmp(view, "cloudtrail_logs") != 0 || strcmp(last, "table") == 0 ||
            strchr(last, '<') != NULL || at(r, after, ","))
            r->ct_only = false;
    }
    /* subquery aliases: ") [AS] name" */
    for (size_t i = 0; i + 1 < r->n; i++)
        if (is(&r->t[i], ")")) {
            char alias[NAME_LEN], c1[NAME_LEN], c2[NAME_LEN];
            size_t k = i + 1;
            if (at(r, k, "as") || (k < r->n && r->t[k].type == T_IDENT && !is_keyword(&r->t[k]))) {
                scan_alias(r, k, alias, c1, c2);
                add_alias(r, alias);
            }
        }
}

/* ---- tables ------------------------------------------------------------------ */

#define TABLES_HINT                                                                         \
    "cloudtrail_logs, vpc_flow_logs, vpcflow, r53_rlogs, s3_access_logs, cloudfront_logs, " \
    "waf_logs, the Security Lake tables and their aliases"

static bool digits_suffix(const char *s, const char *prefix)
{
    size_t l = strlen(prefix);
    if (strncmp(s, prefix, l) != 0 || s[l] == '\0')
        return false;
    for (s += l; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != 'x' && *s != '#')
            return false;
    return true;
}

/* The view a table name of the corpus stands for, or NULL. */
static const char *view_for(const char *name, bool qualified)
{
    if (strcmp(name, "cloudtrail_logs") == 0 || strcmp(name, "cloudtrail") == 0 ||
        strcmp(name, "cloudtrail_table") == 0 || strcmp(name, "cloudtrail_logs_table") == 0 ||
        digits_suffix(name, "cloudtrail_") || digits_suffix(name, "cloudtrail_logs_") ||
        strcmp(name, "irworkshopgluetablecloudtrail") == 0 ||
        (qualified && (strcmp(name, "table") == 0 || strcmp(name, "<table>") == 0)))
        return "cloudtrail_logs";
    if (strstr(name, "amazon_security_lake_table") != NULL) {
        if (strstr(name, "cloud_trail_mgmt") != NULL)
            return "ocsf_cloudtrail";
        if (strstr(name, "lambda_execution") != NULL)
            return "ocsf_lambda_execution";
        if (strstr(name, "vpc_flow") != NULL)
            return "ocsf_vpc_flow";
        if (strstr(name, "route53") != NULL)
            return "ocsf_route53";
        return NULL;
    }
    if (strcmp(name, "vpc_flow_logs") == 0 || strcmp(name, "test_table_vpclogs") == 0)
        return "vpc_flow_logs";
    if (strcmp(name, "vpcflow") == 0 || digits_suffix(name, "vpc_flow_logs_") ||
        strcmp(name, "irworkshopgluetablevpcflow") == 0)
        return "vpcflow";
    if (strcmp(name, "r53_rlogs") == 0 || strcmp(name, "r53dns") == 0 ||
        strcmp(name, "irworkshopgluetabledns") == 0)
        return "r53_rlogs";
    if (strcmp(name, "s3_access_logs") == 0 || strcmp(name, "s3_server_access_logs") == 0 ||
        strcmp(name, "s3_access_logs_db") == 0 || strcmp(name, "s3access") == 0)
        return "s3_access_logs";
    if (strcmp(name, "cloudfront_logs") == 0 || strcmp(name, "cloudfront_standard_logs") == 0 ||
        strcmp(name, "cloudfront_access_logs") == 0)
        return "cloudfront_logs";
    if (strcmp(name, "waf_logs") == 0 || strcmp(name, "waf") == 0 ||
        strcmp(name, "aws_waf_logs") == 0)
        return "waf_logs";
    return NULL;
}

/* Columns only the customer-playbook JSON flow layout has, and columns only
 * the AWS documentation's layout has: both are declared as vpc_flow_logs. */
static const char *const flow_json_only[] = {
    "ip", "start_time", "end_time", "local_port", "remote_port", "in_bytes", "out_bytes",
    "is_rejected_packet", "is_skipped_rejected_packets", "avg_in_packet_size",
    "avg_out_packet_size", "source_az", "source_region", "interface_local_ips",
    "interface_public_ips", "source_dc", "source_tag", "instance_type", NULL
};
static const char *const flow_doc_only[] = {
    "srcaddr", "dstaddr", "srcport", "dstport", "packets", "bytes", "start", "end",
    "interface_id", "log_status", "action", "tcp_flags", "flow_direction", NULL
};

/* True when the statement names columns of the JSON flow layout and none of
 * the documentation layout's: vpc_flow_logs then means the former. */
static bool flow_json_layout(const struct rw *r)
{
    bool json = false;
    for (size_t k = 0; k < r->n; k++) {
        if (r->t[k].type != T_IDENT && r->t[k].type != T_QIDENT)
            continue;
        char name[NAME_LEN];
        name_of(&r->t[k], name);
        if (r->t[k].type == T_IDENT && strcmp(name, "end") == 0)
            continue; /* CASE ... END */
        if (in_list(name, flow_doc_only))
            return false;
        json |= in_list(name, flow_json_only);
    }
    return json;
}

/* FROM/JOIN table reference at i; returns the index after it (and its alias). */
static size_t emit_table(struct rw *r, size_t i)
{
    size_t first = i;
    char last[NAME_LEN];
    name_of(&r->t[i], last);
    while (at(r, i + 1, ".") && i + 2 < r->n) {
        i += 2;
        name_of(&r->t[i], last);
    }
    const char *view = view_for(last, i > first);
    if (view != NULL && (strcmp(last, "table") == 0 || strcmp(last, "<table>") == 0)) {
        /* a placeholder name: the columns say which log it is */
        for (size_t k = 0; k < r->n; k++) {
            if (is(&r->t[k], "sourceaddress") || is(&r->t[k], "numbytes"))
                view = "vpcflow";
            else if (is(&r->t[k], "srcaddr") || is(&r->t[k], "dstaddr"))
                view = "vpc_flow_logs";
            else if (is(&r->t[k], "query_name"))
                view = "r53_rlogs";
        }
    }
    if (view != NULL && strcmp(view, "vpc_flow_logs") == 0 && flow_json_layout(r))
        view = "vpc_flow_json";
    if (view == NULL && strstr(last, "amazon_security_lake_table") != NULL) {
        fail(r, &r->t[first], "this Security Lake (OCSF) table (vigil query has CloudTrail "
                              "management and Lambda data events, VPC flow and Route 53)");
        return i + 1;
    }
    if (view == NULL && (strstr(last, "alb") != NULL || strstr(last, "elb") != NULL ||
                         strstr(last, "nlb") != NULL)) {
        char what[NAME_LEN + 120];
        snprintf(what, sizeof(what), "table %s (load balancer access logs: vigil ingest does "
                 "not read ALB/ELB/NLB logs)", last);
        fail(r, &r->t[first], what);
        return i + 1;
    }
    if (view == NULL) {
        for (size_t k = first; k <= i; k++)
            put_tok(r, &r->t[k]);
        return i + 1;
    }
    if (r->t[first].space)
        buf_putc(&r->out, ' ');
    map_add(r, r->t[first].line);
    put(r, view);
    size_t k = i + 1;
    bool has_alias = at(r, k, "as") ||
                     (k < r->n && (r->t[k].type == T_IDENT || r->t[k].type == T_QIDENT) &&
                      !is_keyword(&r->t[k]));
    if (!has_alias && strcmp(view, last) != 0 && strchr(last, '<') == NULL) {
        put(r, " AS \"");
        put(r, last);
        put(r, "\"");
    }
    return k;
}

/* ---- identifiers -------------------------------------------------------------- */

static const struct unnest *unnest_col(const struct rw *r, const char *name, bool *ord)
{
    for (size_t i = 0; i < r->n_un; i++) {
        if (strcmp(r->un[i].col, name) == 0) {
            *ord = false;
            return &r->un[i];
        }
        if (r->un[i].ord[0] && strcmp(r->un[i].ord, name) == 0) {
            *ord = true;
            return &r->un[i];
        }
    }
    return NULL;
}

static int lambda_index(const struct rw *r, const char *name)
{
    for (size_t i = r->n_lam; i-- > 0;)
        if (strcmp(r->lam_var[i], name) == 0)
            return (int)i;
    return -1;
}

/* useridentity fields the cloudtrail_logs view also has as indexed columns. */
static const char *const indexed_ui[] = { "arn", "type", "principalid", "accesskeyid",
                                          "sessioncontext.sessionissuer.arn", NULL };

/* The public columns of cloudtrail_logs, what SELECT * lists (Athena: the
 * DDL's columns, then the partition columns). */
static const char ct_star[] =
    "eventversion, useridentity, eventtime, eventsource, eventname, awsregion, "
    "sourceipaddress, useragent, errorcode, errormessage, requestparameters, responseelements, "
    "additionaleventdata, requestid, eventid, resources, eventtype, apiversion, readonly, "
    "recipientaccountid, serviceeventdetails, sharedeventid, vpcendpointid, "
    "vpcendpointaccountid, eventcategory, addendum, sessioncredentialfromconsole, "
    "edgedevicedetails, tlsdetails, region, year, month, day, \"timestamp\", account, "
    "account_partition, region_partition, date_partition";

/* An identifier chain a.b.c at i; returns the index after it. */
static size_t emit_chain(struct rw *r, size_t i)
{
    size_t idx[16], n = 0;
    idx[n++] = i;
    while (n < 16 && at(r, idx[n - 1] + 1, ".") && idx[n - 1] + 2 < r->n &&
           (r->t[idx[n - 1] + 2].type == T_IDENT || r->t[idx[n - 1] + 2].type == T_QIDENT))
        idx[n] = idx[n - 1] + 2, n++;
    size_t next = idx[n - 1] + 1;
    char names[16][NAME_LEN];
    for (size_t k = 0; k < n; k++)
        name_of(&r->t[idx[k]], names[k]);

    size_t p = 0; /* first part after a table qualifier */
    bool un_ord = false;
    if (n >= 2 && is_alias(r, names[0]) &&
        (in_list(names[1], struct_cols) || in_list(names[1], json_string_cols) ||
         unnest_col(r, names[1], &un_ord) != NULL))
        p = 1;
    const struct tok *k0 = &r->t[idx[0]];
    struct buf base;
    buf_init(&base, 4096);
    bool ord = false;
    const struct unnest *u = unnest_col(r, names[p], &ord);
    int lam = lambda_index(r, names[p]);
    if (lam >= 0) {
        buf_printf(&base, "_l%d.value", lam);
    } else if (u != NULL) {
        if (ord)
            buf_printf(&base, "(\"%s\".key + 1)", u->alias);
        else
            buf_printf(&base, "\"%s\".value", u->alias);
    } else if ((in_list(names[p], struct_cols) || in_list(names[p], json_string_cols)) &&
               n > p + 1) {
        /* JSON text STRING columns too: Athena refuses requestparameters.bucketname
         * ("not of type ROW"); we read it as the field, a documented extension. */
        for (size_t q = 0; q <= p; q++) {
            if (q)
                buf_putc(&base, '.');
            buf_append(&base, r->t[idx[q]].p, r->t[idx[q]].len);
        }
    } else {
        buf_free(&base);
        if (strcmp(names[n - 1], "eventtime") == 0 && n <= 2 &&
            (n == 1 || is_alias(r, names[0]))) {
            size_t after = emit_time_filter(r, idx[0], idx[n - 1]);
            if (after != 0)
                return after;
        }
        if (n <= 2 && (n == 1 || is_alias(r, names[0]))) {
            size_t after = emit_partition_filter(r, idx[0], idx[n - 1]);
            if (after != 0)
                return after;
        }
        if (strcmp(names[n - 1], "requestparameters") == 0 && n <= 2 &&
            (n == 1 || is_alias(r, names[0]))) {
            size_t after = emit_text_filter(r, idx[0], idx[n - 1]);
            if (after != 0)
                return after;
        }
        for (size_t q = 0; q < n; q++) {
            if (q)
                put_tok(r, &r->t[idx[q] - 1]);
            put_tok(r, &r->t[idx[q]]);
        }
        return next;
    }
    if (k0->space)
        buf_putc(&r->out, ' ');
    map_add(r, k0->line);
    char path[NAME_LEN * 4] = "";
    for (size_t q = p + 1, l = 0; q < n; q++) {
        size_t nl = strlen(names[q]);
        if (l + nl + 2 >= sizeof(path))
            break;
        if (q > p + 1)
            path[l++] = '.';
        memcpy(path + l, names[q], nl + 1);
        l += nl;
    }
    if (n > p + 1 && strcmp(names[p], "useridentity") == 0 && u == NULL && lam < 0 && !r->derived &&
        in_list(path, indexed_ui)) {
        /* same value, but an indexed column of the store */
        if (p == 1) {
            buf_append(&r->out, r->t[idx[0]].p, r->t[idx[0]].len);
            buf_putc(&r->out, '.');
        }
        buf_printf(&r->out, "\"useridentity.%s\"", path);
    } else if (n > p + 1 && u == NULL && lam < 0 && !r->derived &&
               (strcmp(names[p], "useridentity") == 0 ||
                in_list(names[p], json_string_cols))) {
        /* cloudtrail_logs columns: walk the stored record itself, once,
         * rather than have SQLite cut the column out of it first */
        put(r, "vq_get(");
        if (p == 1) {
            buf_append(&r->out, r->t[idx[0]].p, r->t[idx[0]].len);
            buf_putc(&r->out, '.');
        }
        put(r, "\"$raw\", '");
        put(r, names[p]);
        put(r, ".");
        put(r, path);
        put(r, "')");
    } else if (n > p + 1) {
        put(r, "vq_get(");
        buf_append(&r->out, base.p, base.len);
        put(r, ", '");
        put(r, path);
        put(r, "')");
    }
    if (n > p + 1) {
        /* A bare select item is named after its last field, as Athena names it. */
        const struct tok *prev = idx[0] > 0 ? &r->t[idx[0] - 1] : NULL;
        int d = r->depth;
        if (d >= 0 && d < MAX_DEPTH && r->sel_on[d] && prev &&
            (is(prev, ",") || is(prev, "select") || is(prev, "distinct")) &&
            (next >= r->n || is(&r->t[next], ",") || is(&r->t[next], "from"))) {
            put(r, " AS \"");
            put(r, names[n - 1]);
            put(r, "\"");
        }
    } else {
        buf_append(&r->out, base.p, base.len);
    }
    buf_free(&base);
    return next;
}

/* The epoch milliseconds of an ISO-8601 string literal token, if it is one. */
static bool literal_ms(const struct tok *k, int64_t *ms)
{
    if (k->type != T_STRING || k->len < 12 || k->len > 40 ||
        memchr(k->p + 1, '\'', k->len - 2) != NULL)
        return false;
    return time_parse_iso8601(sv_make(k->p + 1, k->len - 2), ms);
}

/* The conjunct [first, end) bounds the epoch column to [lo, hi): when it
 * stands alone in the top AND chain of the statement's WHERE (not under NOT
 * or OR, not a BETWEEN's bound), the statement's window narrows to it. */
static void note_span(struct rw *r, size_t first, size_t end, int64_t lo, int64_t hi)
{
    if (first == 0 || r->depth != 0)
        return;
    const struct tok *before = &r->t[first - 1];
    bool after_and = is(before, "and");
    if (!after_and && !is(before, "where"))
        return;
    size_t b, e;
    and_chain(r, first, &b, &e);
    if (e < r->n && is(&r->t[e], "or"))
        return;
    if (after_and && (b == 0 || !is(&r->t[b - 1], "where") ||
                      (first >= 3 && at(r, first - 3, "between"))))
        return;
    if (end < r->n && !is(&r->t[end], "and") && !is(&r->t[end], "order") &&
        !is(&r->t[end], "limit") && !is(&r->t[end], ";"))
        return;
    if (lo > r->span_lo)
        r->span_lo = lo;
    if (hi < r->span_hi)
        r->span_hi = hi;
}

/* eventtime <op> 'ISO' and eventtime BETWEEN 'ISO' AND 'ISO' at i (the column
 * token, maybe qualified: first is the qualifier). The string comparison stays
 * (it is the semantics); a range on the indexed epoch column is added, widened
 * by a second so it can only keep more rows than the string test (fractional
 * seconds, date-only bounds). Returns the index after, or 0 when not this shape. */
static size_t emit_time_filter(struct rw *r, size_t first, size_t i)
{
    const struct tok *op = i + 1 < r->n ? &r->t[i + 1] : NULL;
    int64_t a, b;
    size_t end;
    char range[200];
    if (op == NULL || r->derived)
        return 0;
    /* In a slice, only the slice's own range may bound the index (a wider
     * one SQLite might pick would walk the whole window per slice). */
    char qual[NAME_LEN + 6] = "";
    if (i > first) {
        char q[NAME_LEN];
        name_of(&r->t[first], q);
        snprintf(qual, sizeof(qual), "%s\"%s\".", r->slice ? "+" : "", q);
    } else if (r->slice) {
        qual[0] = '+';
    }
    int64_t lo = INT64_MIN, hi = INT64_MAX; /* [lo, hi) */
    if (is(op, "between") && i + 4 < r->n && literal_ms(&r->t[i + 2], &a) &&
        at(r, i + 3, "and") && literal_ms(&r->t[i + 4], &b)) {
        snprintf(range, sizeof(range), " AND %s\"eventtime.ms\" BETWEEN %lld AND %lld)", qual,
                 (long long)(a - 1000), (long long)(b + 1000));
        end = i + 5;
        lo = a - 1000, hi = b + 1001;
    } else if ((is(op, ">") || is(op, ">=")) && i + 2 < r->n && literal_ms(&r->t[i + 2], &a)) {
        snprintf(range, sizeof(range), " AND %s\"eventtime.ms\" >= %lld)", qual,
                 (long long)(a - 1000));
        end = i + 3;
        lo = a - 1000;
    } else if (is(op, "=") && i + 2 < r->n && literal_ms(&r->t[i + 2], &a)) {
        snprintf(range, sizeof(range), " AND %s\"eventtime.ms\" BETWEEN %lld AND %lld)", qual,
                 (long long)(a - 1000), (long long)(a + 1000));
        end = i + 3;
        lo = a - 1000, hi = a + 1001;
    } else if ((is(op, "<") || is(op, "<=")) && i + 2 < r->n && literal_ms(&r->t[i + 2], &a)) {
        snprintf(range, sizeof(range), " AND %s\"eventtime.ms\" <= %lld)", qual,
                 (long long)(a + 1000));
        end = i + 3;
        hi = a + 1001;
    } else {
        return 0;
    }
    note_span(r, first, end, lo, hi);
    if (r->t[first].space)
        buf_putc(&r->out, ' ');
    map_add(r, r->t[first].line);
    put(r, "(");
    for (size_t k = first; k < end; k++)
        put_tok(r, &r->t[k]);
    put(r, range);
    return end;
}

/* requestparameters LIKE 'pattern' [ESCAPE 'c'] at i (the column token, maybe
 * qualified: first is the qualifier), standing alone in the top AND chain of
 * a WHERE over cloudtrail_logs. The runs of the pattern with at least three
 * literal characters (trigrams) must all occur in a matching row's text, so
 * the rows of the text index that contain them (an FTS5 phrase each) are a
 * superset of the LIKE's: the filter is added before the LIKE, which stays
 * (it is the semantics). The LIKE's NULL (no requestParameters) becomes
 * false, which a WHERE's AND/OR chain cannot tell apart; hence only there.
 * Returns the index after, or 0 when not this shape. */

/* Appends the FTS5 phrase string of p[0..len) to b, as the body of an SQL
 * string literal: '"' around, '"' doubled (FTS5), '\'' doubled (SQL). */
static void put_phrase(struct buf *b, const char *p, size_t len)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '"')
            buf_putc(b, '"');
        else if (p[i] == '\'')
            buf_putc(b, '\'');
        buf_putc(b, p[i]);
    }
    buf_putc(b, '"');
}

/* The SQL string literal token k's value (quotes undoubled) into out, false
 * when longer than cap. */
static bool string_value(const struct tok *k, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    for (size_t i = 1; i + 1 < k->len; i++) {
        if (k->p[i] == '\'' && i + 2 < k->len && k->p[i + 1] == '\'')
            i++;
        if (n == cap)
            return false;
        out[n++] = k->p[i];
    }
    *len = n;
    return true;
}

/* The FTS5 query (as an SQL string body) of the LIKE pattern pat: its runs
 * of >= 3 literal characters as phrases, which FTS5 ANDs; false when it has
 * none. esc is the ESCAPE character, -1 for none. */
static bool like_query(const char *pat, size_t len, int esc, struct buf *q)
{
    char run[1024];
    size_t rl = 0, chars = 0;
    bool any = false, full = false;
    for (size_t i = 0; i <= len; i++) {
        bool lit = false;
        char c = 0;
        if (i < len) {
            c = pat[i];
            if (esc >= 0 && (unsigned char)c == (unsigned)esc) {
                if (i + 1 >= len)
                    return false; /* a dangling escape: SQLite's error, left to it */
                c = pat[++i];
                lit = true;
            } else {
                lit = c != '%' && c != '_';
            }
        }
        if (lit) {
            /* A long run is cut at a character boundary: its prefix is
             * still in every matching text. */
            bool start = ((unsigned char)c & 0xC0) != 0x80;
            if (start && rl + 4 > sizeof(run))
                full = true;
            if (!full) {
                run[rl++] = c;
                chars += start;
            }
            continue;
        }
        if (chars >= 3) {
            if (any)
                buf_putc(q, ' ');
            put_phrase(q, run, rl);
            any = true;
        }
        rl = chars = 0;
        full = false;
    }
    return any;
}

/* How the text filter's list starts: query_sql_prepare looks for it. */
#define TEXT_LIST_HEAD "IN (SELECT rowid FROM main." STORE_TEXT_TABLE

static size_t emit_text_filter(struct rw *r, size_t first, size_t i)
{
    if (!r->text_index || r->derived || !r->ct_only || first == 0 || !at(r, i + 1, "like") ||
        i + 2 >= r->n || r->t[i + 2].type != T_STRING)
        return 0;
    /* Alone in the WHERE's top chain: after WHERE, or after an AND of a
     * chain that starts at WHERE (not BETWEEN's). */
    const struct tok *before = &r->t[first - 1];
    if (is(before, "and")) {
        size_t b, e;
        and_chain(r, first, &b, &e);
        if (b == 0 || !is(&r->t[b - 1], "where") || (first >= 3 && at(r, first - 3, "between")))
            return 0;
    } else if (!is(before, "where")) {
        return 0;
    }
    size_t end = i + 3;
    int esc = -1;
    if (at(r, end, "escape")) {
        char e[8];
        size_t el;
        if (end + 1 >= r->n || r->t[end + 1].type != T_STRING ||
            !string_value(&r->t[end + 1], e, sizeof(e), &el) || el != 1)
            return 0;
        esc = (unsigned char)e[0];
        end += 2;
    }
    static const char *const next_ok[] = { "and",   "or",     "group", "order", "limit",
                                           "having", "union", "except", "intersect", ")",
                                           ";",     "window", NULL };
    if (end < r->n) {
        bool ok = false;
        for (size_t k = 0; next_ok[k] && !ok; k++)
            ok = is(&r->t[end], next_ok[k]);
        if (!ok)
            return 0;
    }
    char pat[4096];
    size_t pl;
    if (!string_value(&r->t[i + 2], pat, sizeof(pat), &pl))
        return 0;
    struct buf q;
    buf_init(&q, 64u << 10);
    if (!like_query(pat, pl, esc, &q)) {
        buf_free(&q);
        return 0;
    }
    char qual[NAME_LEN + 4] = "";
    if (i > first) {
        char qn[NAME_LEN];
        name_of(&r->t[first], qn);
        snprintf(qual, sizeof(qual), "\"%s\".", qn);
    }
    if (r->t[first].space)
        buf_putc(&r->out, ' ');
    map_add(r, r->t[first].line);
    /* The index filter first: SQLite tests a row's terms in order, and the
     * LIKE reads the record. */
    put(r, "(");
    if (r->text_probe) {
        put(r, "vq_text_has(");
        put(r, qual);
        put(r, "\"$id\", '");
    } else {
        put(r, qual);
        put(r, "\"$id\" " TEXT_LIST_HEAD " WHERE " STORE_TEXT_TABLE " MATCH '");
    }
    buf_append(&r->out, q.p, q.len);
    put(r, "') AND");
    buf_free(&q);
    for (size_t k = first; k < end; k++)
        put_tok(r, &r->t[k]);
    put(r, ")");
    return end;
}

/* The partition columns of cloudtrail_logs (year, month, day, date_partition,
 * "timestamp") are the event's UTC date, computed from the epoch column; a
 * predicate on them alone would compute them for every row. Compared with
 * literals they are a time range, so they are rewritten as that range of the
 * indexed column, exactly: `year = '2026' AND month = '11' AND day = '23'` (in
 * one AND chain, any order) becomes the day's range with the month and day
 * tests replaced by 1; `date_partition >= '2026/11/01'` its bound. Literals
 * that are not dates (placeholders such as '####', '2021/02/31') are left to
 * the column's own comparison. */

#define DAY_MS ((int64_t)86400000)

/* A string literal of exactly `digits` digits (then its value), else false. */
static bool digits_lit(const struct rw *r, size_t i, size_t digits, int *out)
{
    if (i >= r->n || r->t[i].type != T_STRING || r->t[i].len != digits + 2)
        return false;
    int v = 0;
    for (size_t k = 1; k <= digits; k++) {
        char c = r->t[i].p[k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

/* The epoch ms of y-m-d's start when it is a real date (2021-02-31 is not). */
static bool civil_ms(int y, int m, int d, int64_t *ms)
{
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    *ms = time_days_from_civil(y, (unsigned)m, (unsigned)d) * DAY_MS;
    return true;
}

/* 'YYYY/MM/DD' -> the epoch ms of that day's start. A day past its month's
 * end ('2024/06/31', '2023/02/29': analysts end every month on the 31st) sits,
 * as text, between the month's last date and the next month's first: *ms is
 * then the next month's start and *past is set; = on it matches nothing. */
static bool day_bound(const struct rw *r, size_t i, int64_t *ms, bool *past)
{
    *past = false;
    if (i >= r->n || r->t[i].type != T_STRING || r->t[i].len != 12)
        return false;
    const char *p = r->t[i].p + 1;
    int y = 0, m = 0, d = 0;
    for (int k = 0; k < 10; k++) {
        if (k == 4 || k == 7) {
            if (p[k] != '/')
                return false;
            continue;
        }
        if (p[k] < '0' || p[k] > '9')
            return false;
        int *f = k < 4 ? &y : k < 7 ? &m : &d;
        *f = *f * 10 + (p[k] - '0');
    }
    if (civil_ms(y, m, d, ms))
        return true;
    if (y < 1 || m < 1 || m > 12 || d < 29 || d > 31 || !civil_ms(y, m, 28, ms))
        return false;
    *past = true;
    return civil_ms(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1, ms);
}

/* 'YYYY/MM/DD' -> the epoch ms of that day's start; false for a day past its
 * month's end. */
static bool day_lit(const struct rw *r, size_t i, int64_t *ms)
{
    bool past;
    return day_bound(r, i, ms, &past) && !past;
}

/* Tokens that end an AND chain: anything binding looser than AND, and the
 * clause keywords around an expression. */
static bool ends_chain(const struct tok *k)
{
    static const char *const stop[] = { "or",   "where", "on",    "having", "when",  "then",
                                        "else", "end",   "select", "from",  "group", "order",
                                        "limit", "union", "except", "intersect", "join", ",",
                                        "case", "by",    NULL };
    for (size_t i = 0; stop[i]; i++)
        if (is(k, stop[i]))
            return true;
    return false;
}

/* [*b, *e): the AND chain, at the paren depth of token i, that holds i. */
static void and_chain(const struct rw *r, size_t i, size_t *b, size_t *e)
{
    int d = 0;
    size_t k = i;
    while (k > 0) {
        const struct tok *t = &r->t[k - 1];
        if (is(t, ")") || is(t, "]"))
            d++;
        else if (is(t, "(") || is(t, "[")) {
            if (d == 0)
                break;
            d--;
        } else if (d == 0 && ends_chain(t))
            break;
        k--;
    }
    *b = k;
    d = 0;
    for (k = i; k < r->n; k++) {
        const struct tok *t = &r->t[k];
        if (is(t, "(") || is(t, "["))
            d++;
        else if (is(t, ")") || is(t, "]")) {
            if (d == 0)
                break;
            d--;
        } else if (d == 0 && ends_chain(t))
            break;
    }
    *e = k;
}

/* In the chain [b, e) at its own depth, the first conjunct `[qual.]col = 'N..'`
 * (of `digits` digits, standing alone between ANDs): its value and the index
 * of its first token (the qualifier or the column), else -1. */
static int chain_eq(const struct rw *r, size_t b, size_t e, const char *qual, const char *col,
                    size_t digits, size_t *at_out)
{
    int d = 0;
    for (size_t k = b; k < e; k++) {
        if (is(&r->t[k], "(") || is(&r->t[k], "["))
            d++;
        else if (is(&r->t[k], ")") || is(&r->t[k], "]"))
            d--;
        if (d != 0 || (r->t[k].type != T_IDENT && r->t[k].type != T_QIDENT))
            continue;
        char nm[NAME_LEN];
        name_of(&r->t[k], nm);
        size_t c = k;
        if (qual[0]) {
            if (strcmp(nm, qual) != 0 || !at(r, k + 1, ".") || k + 2 >= e)
                continue;
            c = k + 2;
            name_of(&r->t[c], nm);
        } else if (k > b && at(r, k - 1, ".")) {
            continue;
        }
        bool alone = (k == b || (at(r, k - 1, "and") && !(k >= b + 3 && at(r, k - 3, "between")))) &&
                     (c + 3 >= e || at(r, c + 3, "and"));
        int v;
        if (alone && r->t[c].type == T_IDENT && strcmp(nm, col) == 0 && at(r, c + 1, "=") &&
            c + 2 < e && digits_lit(r, c + 2, digits, &v)) {
            *at_out = k;
            return v;
        }
    }
    return -1;
}

/* The year/month/day conjuncts of the chain holding token `first` (qualified
 * by qual or not): which of them fold into one range, and that range. */
struct ymd {
    size_t at[3]; /* first token of the year, month, day conjuncts folded */
    int n;        /* how many fold: 0 (none), 1 (year), 2 (+month), 3 (+day) */
    int64_t lo, hi;
};

static void chain_ymd(const struct rw *r, size_t first, const char *qual, struct ymd *out)
{
    size_t b, e;
    and_chain(r, first, &b, &e);
    out->n = 0;
    int y = chain_eq(r, b, e, qual, "year", 4, &out->at[0]);
    if (y < 1)
        return;
    int m = chain_eq(r, b, e, qual, "month", 2, &out->at[1]);
    int d = m >= 1 ? chain_eq(r, b, e, qual, "day", 2, &out->at[2]) : -1;
    if (m >= 1 && d >= 1 && civil_ms(y, m, d, &out->lo)) {
        out->hi = out->lo + DAY_MS;
        out->n = 3;
    } else if (m >= 1 && m <= 12 && civil_ms(y, m, 1, &out->lo)) {
        civil_ms(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1, &out->hi);
        out->n = 2;
    } else if (civil_ms(y, 1, 1, &out->lo) && civil_ms(y + 1, 1, 1, &out->hi)) {
        out->n = 1;
    }
}

static size_t emit_partition_filter(struct rw *r, size_t first, size_t i)
{
    if (r->derived || !r->ct_only || i + 2 >= r->n)
        return 0;
    char col[NAME_LEN], qual[NAME_LEN] = "";
    name_of(&r->t[i], col);
    if (i > first)
        name_of(&r->t[first], qual);
    char q[NAME_LEN + 6] = ""; /* "+" in a slice, as in emit_time_filter */
    if (qual[0])
        snprintf(q, sizeof(q), "%s\"%s\".", r->slice ? "+" : "", qual);
    else if (r->slice)
        q[0] = '+';
    int64_t lo = INT64_MIN, hi = INT64_MAX; /* [lo, hi) */
    size_t end;
    if (r->t[i].type == T_IDENT &&
        (strcmp(col, "year") == 0 || strcmp(col, "month") == 0 || strcmp(col, "day") == 0)) {
        struct ymd f;
        chain_ymd(r, first, qual, &f);
        int which = col[0] == 'y' ? 0 : col[0] == 'm' ? 1 : 2;
        if (which >= f.n || f.at[which] != first)
            return 0;
        end = i + 3;
        if (which > 0) {
            /* folded into the range the year's conjunct stands for */
            if (r->t[first].space)
                buf_putc(&r->out, ' ');
            map_add(r, r->t[first].line);
            put(r, "1");
            return end;
        }
        lo = f.lo;
        hi = f.hi;
    } else if (strcmp(col, "date_partition") == 0 ||
               (strcmp(col, "timestamp") == 0 && r->t[i].type == T_QIDENT)) {
        const struct tok *op = &r->t[i + 1];
        int64_t a, c;
        bool pa, pc; /* a day past its month's end: a and c are the next month's start */
        if (is(op, "between") && i + 4 < r->n && day_bound(r, i + 2, &a, &pa) &&
            at(r, i + 3, "and") && day_bound(r, i + 4, &c, &pc)) {
            lo = a, hi = pc ? c : c + DAY_MS, end = i + 5;
        } else if (is(op, "=") && day_lit(r, i + 2, &a)) {
            lo = a, hi = a + DAY_MS, end = i + 3;
        } else if (is(op, ">=") && day_bound(r, i + 2, &a, &pa)) {
            lo = a, end = i + 3;
        } else if (is(op, ">") && day_bound(r, i + 2, &a, &pa)) {
            lo = pa ? a : a + DAY_MS, end = i + 3;
        } else if (is(op, "<=") && day_bound(r, i + 2, &a, &pa)) {
            hi = pa ? a : a + DAY_MS, end = i + 3;
        } else if (is(op, "<") && day_bound(r, i + 2, &a, &pa)) {
            hi = a, end = i + 3;
        } else {
            return 0;
        }
        if (first > 0 && (at(r, first - 1, "||") || at(r, first - 1, "+") || at(r, first - 1, "-")))
            return 0;
    } else {
        return 0;
    }
    /* an operand of something binding tighter than the comparison */
    if (end < r->n && (at(r, end, "||") || at(r, end, "=") || at(r, end, "+") ||
                       at(r, end, "-") || at(r, end, "*") || at(r, end, "/")))
        return 0;
    note_span(r, first, end, lo, hi);
    char range[2 * NAME_LEN + 120];
    if (lo == INT64_MIN)
        snprintf(range, sizeof(range), "%s\"eventtime.ms\" < %lld", q, (long long)hi);
    else if (hi == INT64_MAX)
        snprintf(range, sizeof(range), "%s\"eventtime.ms\" >= %lld", q, (long long)lo);
    else
        snprintf(range, sizeof(range), "%s\"eventtime.ms\" >= %lld AND %s\"eventtime.ms\" < %lld",
                 q, (long long)lo, q, (long long)hi);
    if (r->t[first].space)
        buf_putc(&r->out, ' ');
    map_add(r, r->t[first].line);
    put(r, "(");
    put(r, range);
    put(r, ")");
    return end;
}

/* ---- functions ----------------------------------------------------------------- */

/* Top-level (depth 0 inside the call) index of word in (open, close), or close. */
static size_t find_top(const struct rw *r, size_t open, size_t close, const char *word)
{
    int d = 0;
    for (size_t i = open + 1; i < close; i++) {
        if (is(&r->t[i], "(") || is(&r->t[i], "["))
            d++;
        else if (is(&r->t[i], ")") || is(&r->t[i], "]"))
            d--;
        else if (d == 0 && is(&r->t[i], word))
            return i;
    }
    return close;
}

static bool same_tokens(const struct rw *r, size_t a, size_t a_end, size_t b, size_t b_end)
{
    /* strip one level of parentheses: array_agg(DISTINCT(x) ORDER BY x) */
    if (a_end > a + 2 && is(&r->t[a], "(") && match_paren(r, a) == a_end - 1) {
        a++;
        a_end--;
    }
    if (a_end - a != b_end - b)
        return false;
    for (size_t i = 0; i < a_end - a; i++) {
        const struct tok *x = &r->t[a + i], *y = &r->t[b + i];
        if (x->len != y->len || strncasecmp(x->p, y->p, x->len) != 0)
            return false;
    }
    return true;
}

static size_t emit_cast(struct rw *r, size_t i, size_t open, size_t close)
{
    size_t as = find_top(r, open, close, "as");
    if (as == close) {
        fail(r, &r->t[i], "CAST without AS");
        return close + 1;
    }
    char type[NAME_LEN];
    name_of(&r->t[as + 1], type);
    const char *sql_type = NULL, *fn = NULL;
    if (strcmp(type, "varchar") == 0 || strcmp(type, "char") == 0 || strcmp(type, "string") == 0)
        sql_type = "TEXT";
    else if (strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
             strcmp(type, "int") == 0 || strcmp(type, "smallint") == 0 ||
             strcmp(type, "tinyint") == 0)
        sql_type = "INTEGER";
    else if (strcmp(type, "double") == 0 || strcmp(type, "real") == 0 ||
             strcmp(type, "decimal") == 0 || strcmp(type, "float") == 0)
        sql_type = "REAL";
    else if (strcmp(type, "timestamp") == 0)
        fn = "vq_timestamp";
    else if (strcmp(type, "date") == 0)
        fn = "vq_date";
    else if (strcmp(type, "ipaddress") == 0)
        fn = "vq_ip";
    else if (strcmp(type, "json") == 0)
        fn = "";
    if (sql_type == NULL && fn == NULL) {
        char what[96];
        snprintf(what, sizeof(what), "CAST to %s", type);
        for (char *c = what + 8; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        fail(r, &r->t[as + 1], what);
        return close + 1;
    }
    size_t start = r->out.len;
    if (sql_type) {
        put_at(r, &r->t[i], "CAST(");
        emit_range(r, open + 1, as);
        put(r, " AS ");
        put(r, sql_type);
        put(r, ")");
    } else {
        put_at(r, &r->t[i], fn);
        put(r, "(");
        emit_range(r, open + 1, as);
        put(r, ")");
    }
    r->operand_start = start;
    return close + 1;
}

static size_t emit_lambda_fn(struct rw *r, size_t i, size_t open, size_t close, const char *kind)
{
    size_t comma = find_top(r, open, close, ",");
    size_t p = comma + 1;
    bool paren = at(r, p, "(");
    if (paren)
        p++;
    if (comma == close || p >= close || r->t[p].type != T_IDENT ||
        !at(r, p + (paren ? 2 : 1), "->") || r->n_lam >= MAX_DEPTH) {
        char what[64];
        snprintf(what, sizeof(what), "%s without a one-parameter lambda", kind);
        fail(r, &r->t[i], what);
        return close + 1;
    }
    size_t body = p + (paren ? 3 : 2);
    int l = (int)r->n_lam;
    size_t start = r->out.len;
    char head[160];
    if (strcmp(kind, "filter") == 0)
        snprintf(head, sizeof(head), "(SELECT json_group_array(_l%d.value) FROM json_each(", l);
    else if (strcmp(kind, "transform") == 0)
        snprintf(head, sizeof(head), "(SELECT json_group_array(");
    else if (strcmp(kind, "any_match") == 0)
        snprintf(head, sizeof(head), "EXISTS(SELECT 1 FROM json_each(");
    else
        snprintf(head, sizeof(head), "NOT EXISTS(SELECT 1 FROM json_each(");
    put_at(r, &r->t[i], head);
    if (strcmp(kind, "transform") == 0) {
        name_of(&r->t[p], r->lam_var[r->n_lam]);
        r->n_lam++;
        emit_range(r, body, close);
        r->n_lam--;
        put(r, ") FROM json_each(");
        emit_range(r, open + 1, comma);
        buf_printf(&r->out, ") AS _l%d)", l);
    } else {
        emit_range(r, open + 1, comma);
        buf_printf(&r->out, ") AS _l%d WHERE ", l);
        if (strcmp(kind, "all_match") == 0)
            put(r, "NOT (");
        /* named only now: the array argument may hold lambdas of its own */
        name_of(&r->t[p], r->lam_var[r->n_lam]);
        r->n_lam++;
        emit_range(r, body, close);
        r->n_lam--;
        put(r, strcmp(kind, "all_match") == 0 ? "))" : ")");
    }
    r->operand_start = start;
    return close + 1;
}

static const char *const unsupported_fns[] = {
    "map_agg", "multimap_agg", "approx_most_frequent", "histogram",
    "numeric_histogram", "map", "map_keys", "map_values", "map_filter", "reduce", "zip",
    "zip_with", "sequence", "array_sort", "flatten", "slice", "ngrams", "max_by", "min_by",
    "json_array_contains", "json_size", "url_extract_host", "url_extract_path",
    "url_extract_parameter", "to_utf8", "from_utf8", "md5", "sha256", "to_hex", "from_hex",
    "levenshtein_distance", "hamming_distance",
    "with_timezone", "at_timezone", "from_base64", "to_base64", NULL
};

/* A function call name( at i. */
static size_t emit_call(struct rw *r, size_t i)
{
    size_t open = i + 1, close = match_paren(r, open);
    if (close >= r->n) {
        fail(r, &r->t[i], "unbalanced parentheses");
        return r->n;
    }
    char name[NAME_LEN];
    name_of(&r->t[i], name);
    size_t start = r->out.len;
    if (strcmp(name, "cast") == 0 || strcmp(name, "try_cast") == 0)
        return emit_cast(r, i, open, close);
    if (strcmp(name, "filter") == 0 || strcmp(name, "transform") == 0 ||
        strcmp(name, "any_match") == 0 || strcmp(name, "all_match") == 0 ||
        strcmp(name, "none_match") == 0)
        return emit_lambda_fn(r, i, open, close, name);
    if (in_list(name, unsupported_fns)) {
        char what[NAME_LEN + 16];
        size_t l = strlen(name);
        for (size_t k = 0; k <= l; k++)
            what[k] = (char)toupper((unsigned char)name[k]);
        fail(r, &r->t[i], what);
        return close + 1;
    }
    if (strcmp(name, "unnest") == 0) {
        if (find_top(r, open, close, ",") != close) {
            fail(r, &r->t[i], "UNNEST of several arrays");
            return close + 1;
        }
        put_at(r, &r->t[i], "json_each(");
        emit_range(r, open + 1, close);
        put(r, ")");
        size_t k = close + 1;
        if (at(r, k, "with") && at(r, k + 1, "ordinality"))
            k += 2;
        char alias[NAME_LEN], c1[NAME_LEN], c2[NAME_LEN];
        size_t after = scan_alias(r, k, alias, c1, c2);
        if (alias[0]) {
            put(r, " AS \"");
            put(r, alias);
            put(r, "\"");
        }
        return after;
    }
    if (strcmp(name, "try") == 0) {
        put_at(r, &r->t[i], "(");
        emit_range(r, open + 1, close);
        put(r, ")");
    } else if (strcmp(name, "now") == 0 || strcmp(name, "localtimestamp") == 0) {
        put_at(r, &r->t[i], "vq_now()");
    } else if (strcmp(name, "date") == 0) {
        put_at(r, &r->t[i], "vq_date(");
        emit_range(r, open + 1, close);
        put(r, ")");
    } else if (strcmp(name, "approx_distinct") == 0) {
        size_t comma = find_top(r, open, close, ",");
        put_at(r, &r->t[i], "count(DISTINCT ");
        emit_range(r, open + 1, comma);
        put(r, ")");
    } else if (strcmp(name, "arbitrary") == 0 || strcmp(name, "any_value") == 0) {
        put_at(r, &r->t[i], "min(");
        emit_range(r, open + 1, close);
        put(r, ")");
    } else if (strcmp(name, "replace") == 0 && find_top(r, open, close, ",") != close &&
               find_top(r, find_top(r, open, close, ","), close, ",") == close) {
        /* Trino's two-argument replace removes the search string */
        put_at(r, &r->t[i], "replace(");
        emit_range(r, open + 1, close);
        put(r, ", '')");
    } else if (strcmp(name, "if") == 0) {
        put_at(r, &r->t[i], "iif(");
        emit_range(r, open + 1, close);
        put(r, ")");
    } else if (strcmp(name, "json_parse") == 0 || strcmp(name, "json_format") == 0) {
        put_at(r, &r->t[i], "(");
        emit_range(r, open + 1, close);
        put(r, ")");
    } else if (strcmp(name, "concat") == 0) {
        put_at(r, &r->t[i], "(");
        size_t a = open + 1;
        for (;;) {
            size_t c;
            int d = 0;
            for (c = a; c < close; c++) {
                if (is(&r->t[c], "(") || is(&r->t[c], "["))
                    d++;
                else if (is(&r->t[c], ")") || is(&r->t[c], "]"))
                    d--;
                else if (d == 0 && is(&r->t[c], ","))
                    break;
            }
            put(r, "(");
            emit_range(r, a, c);
            put(r, ")");
            if (c >= close)
                break;
            put(r, " || ");
            a = c + 1;
        }
        put(r, ")");
    } else if (strcmp(name, "array_agg") == 0) {
        size_t ob = find_top(r, open, close, "order");
        if (ob == close) {
            put_at(r, &r->t[i], "array_agg(");
            emit_range(r, open + 1, close);
            put(r, ")");
        } else {
            size_t a = open + 1;
            bool distinct = at(r, a, "distinct");
            if (distinct)
                a++;
            size_t key = ob + 2, key_end = close;
            if (key_end > key && at(r, key_end - 1, "asc"))
                key_end--;
            if (!at(r, ob + 1, "by") || !same_tokens(r, a, ob, key, key_end)) {
                fail(r, &r->t[ob], "array_agg(... ORDER BY) on another expression than the "
                                   "aggregated one, or DESC");
                return close + 1;
            }
            put_at(r, &r->t[i], distinct ? "vq_array_agg_sorted(DISTINCT " : "vq_array_agg_sorted(");
            emit_range(r, a, ob);
            put(r, ")");
        }
    } else {
        put_tok(r, &r->t[i]);
        put_tok(r, &r->t[open]);
        emit_range(r, open + 1, close);
        put_tok(r, &r->t[close]);
    }
    r->operand_start = start;
    return close + 1;
}

/* ---- ORDER BY null ordering ------------------------------------------------------- */

static void ob_item_end(struct rw *r)
{
    int d = r->depth;
    if (d >= 0 && d < MAX_DEPTH && r->ob_on[d]) {
        if (!r->ob_desc[d] && !r->ob_nulls[d])
            put(r, " NULLS LAST");
        r->ob_desc[d] = r->ob_nulls[d] = false;
    }
}

static void ob_end(struct rw *r)
{
    ob_item_end(r);
    if (r->depth >= 0 && r->depth < MAX_DEPTH)
        r->ob_on[r->depth] = false;
}

/* True when the table reference at i is the one table of its FROM clause and
 * stands for cloudtrail_logs: SELECT * then lists only the public columns. */
static bool star_is_cloudtrail(const struct rw *r, size_t i)
{
    if (i >= r->n || (r->t[i].type != T_IDENT && r->t[i].type != T_QIDENT) || is_keyword(&r->t[i]))
        return false;
    char last[NAME_LEN];
    size_t first = i;
    name_of(&r->t[i], last);
    while (at(r, i + 1, ".") && i + 2 < r->n) {
        i += 2;
        name_of(&r->t[i], last);
    }
    const char *view = view_for(last, i > first);
    if (view == NULL || strcmp(view, "cloudtrail_logs") != 0)
        return false;
    if (strcmp(last, "table") == 0 || strcmp(last, "<table>") == 0)
        for (size_t k = 0; k < r->n; k++)
            if (is(&r->t[k], "sourceaddress") || is(&r->t[k], "numbytes") ||
                is(&r->t[k], "srcaddr") || is(&r->t[k], "dstaddr") || is(&r->t[k], "query_name"))
                return false;
    char alias[NAME_LEN], c1[NAME_LEN], c2[NAME_LEN];
    size_t k = scan_alias(r, i + 1, alias, c1, c2);
    return !(k < r->n && (is(&r->t[k], ",") || is(&r->t[k], "join") || is(&r->t[k], "cross") ||
                          is(&r->t[k], "inner") || is(&r->t[k], "left") || is(&r->t[k], "right") ||
                          is(&r->t[k], "full") || is(&r->t[k], "natural")));
}

/* ---- main loop ------------------------------------------------------------------ */

static size_t emit_one(struct rw *r, size_t i, size_t end)
{
    const struct tok *k = &r->t[i];
    int d = r->depth;
    bool ob = d >= 0 && d < MAX_DEPTH && r->ob_on[d];

    if (ob) {
        if (is(k, ",")) {
            ob_item_end(r);
            put_tok(r, k);
            return i + 1;
        }
        if (is(k, "limit") || is(k, "offset") || is(k, "fetch") || is(k, "union") ||
            is(k, "except") || is(k, "intersect") || is(k, ";") || is(k, ")"))
            ob_end(r);
        else if (is(k, "desc"))
            r->ob_desc[d] = true;
        else if (is(k, "nulls"))
            r->ob_nulls[d] = true;
    }

    if (k->type == T_OP) {
        if (is(k, "*") && i > 0 && (is(&r->t[i - 1], "select") || is(&r->t[i - 1], "distinct")) &&
            at(r, i + 1, "from") && star_is_cloudtrail(r, i + 2)) {
            put_at(r, k, ct_star);
            return i + 1;
        }
        if (is(k, ";")) {
            if (i + 1 < r->n)
                fail(r, k, "several statements (run one at a time)");
            return i + 1;
        }
        if (is(k, "(")) {
            size_t close = match_paren(r, i);
            if (close >= end) {
                fail(r, k, "unbalanced parentheses");
                return end;
            }
            size_t start = r->out.len;
            put_tok(r, k);
            r->depth++;
            if (r->depth < MAX_DEPTH)
                r->ob_on[r->depth] = false;
            emit_range(r, i + 1, close);
            if (r->depth < MAX_DEPTH && r->ob_on[r->depth])
                ob_end(r);
            r->depth--;
            put_tok(r, &r->t[close]);
            r->operand_start = start;
            return close + 1;
        }
        if ((is(k, "+") || is(k, "-")) && at(r, i + 1, "interval")) {
            if (i + 3 >= r->n || r->t[i + 2].type != T_STRING || r->t[i + 3].type != T_IDENT) {
                fail(r, &r->t[i + 1], "INTERVAL other than 'n' unit");
                return i + 2;
            }
            char unit[NAME_LEN];
            name_of(&r->t[i + 3], unit);
            struct buf head;
            buf_init(&head, 4096);
            const struct tok *num = &r->t[i + 2];
            buf_printf(&head, "date_add('%s', %s(%.*s), ", unit, is(k, "-") ? "-" : "",
                       (int)(num->len - 2), num->p + 1);
            size_t at_ = r->operand_start;
            while (at_ < r->out.len && r->out.p[at_] == ' ')
                at_++;
            if (buf_reserve(&r->out, head.len) == 0) {
                memmove(r->out.p + at_ + head.len, r->out.p + at_, r->out.len - at_);
                memcpy(r->out.p + at_, head.p, head.len);
                r->out.len += head.len;
                /* later map entries shift with the text */
                for (size_t m = 0; m < r->q->n_map; m++)
                    if (r->q->map_off[m] >= at_)
                        r->q->map_off[m] += (uint32_t)head.len;
            }
            buf_free(&head);
            put(r, ")");
            return i + 4;
        }
        if (is(k, "->")) {
            fail(r, k, "lambda outside filter/transform/any_match");
            return i + 1;
        }
        if (is(k, "[")) {
            /* x[i] / m['key'] -> element_at(x, ...), spliced around the operand */
            size_t close = match_paren(r, i);
            if (close >= end || i == 0) {
                fail(r, k, "subscript []");
                return end;
            }
            static const char head[] = "element_at(";
            size_t at_ = r->operand_start, hl = sizeof(head) - 1;
            while (at_ < r->out.len && r->out.p[at_] == ' ')
                at_++;
            if (buf_reserve(&r->out, hl) == 0) {
                memmove(r->out.p + at_ + hl, r->out.p + at_, r->out.len - at_);
                memcpy(r->out.p + at_, head, hl);
                r->out.len += hl;
                for (size_t m = 0; m < r->q->n_map; m++)
                    if (r->q->map_off[m] >= at_)
                        r->q->map_off[m] += (uint32_t)hl;
            }
            size_t start = at_;
            put(r, ", ");
            emit_range(r, i + 1, close);
            put(r, ")");
            r->operand_start = start;
            return close + 1;
        }
        put_tok(r, k);
        return i + 1;
    }

    if (k->type == T_STRING || k->type == T_NUMBER) {
        r->operand_start = r->out.len;
        put_tok(r, k);
        return i + 1;
    }

    /* identifiers and keywords */
    if (is(k, "from") || is(k, "join")) {
        put_tok(r, k);
        if (i + 1 < end && (r->t[i + 1].type == T_IDENT || r->t[i + 1].type == T_QIDENT) &&
            !is_keyword(&r->t[i + 1]))
            return emit_table(r, i + 1);
        return i + 1;
    }
    if (is(k, "select") && d >= 0 && d < MAX_DEPTH)
        r->sel_on[d] = true;
    else if ((is(k, "from") || is(k, "where") || is(k, "group") || is(k, "order") ||
              is(k, "limit")) && d >= 0 && d < MAX_DEPTH)
        r->sel_on[d] = false;
    if (is(k, "order") && at(r, i + 1, "by") && d >= 0 && d < MAX_DEPTH) {
        put_tok(r, k);
        put_tok(r, &r->t[i + 1]);
        r->ob_on[d] = true;
        r->ob_desc[d] = r->ob_nulls[d] = false;
        return i + 2;
    }
    if (k->type == T_IDENT && at(r, i + 1, "(") && !is_keyword(k))
        return emit_call(r, i);
    if (k->type == T_IDENT && (is(k, "cast") || is(k, "try_cast") || is(k, "unnest")) &&
        at(r, i + 1, "("))
        return emit_call(r, i);
    if (is(k, "current_timestamp") || is(k, "localtimestamp")) {
        r->operand_start = r->out.len;
        put_at(r, k, "vq_now()");
        return i + 1;
    }
    if (is(k, "current_date")) {
        r->operand_start = r->out.len;
        put_at(r, k, "vq_date(vq_now())");
        return i + 1;
    }
    if ((is(k, "date") || is(k, "timestamp") || is(k, "ipaddress")) && i + 1 < end &&
        r->t[i + 1].type == T_STRING) {
        r->operand_start = r->out.len;
        put_at(r, k, is(k, "date") ? "vq_date(" : is(k, "timestamp") ? "vq_timestamp(" : "vq_ip(");
        put_tok(r, &r->t[i + 1]);
        put(r, ")");
        return i + 2;
    }
    if (is(k, "interval")) {
        fail(r, k, "INTERVAL outside date +/- INTERVAL 'n' unit");
        return i + 1;
    }
    if (is(k, "array") && at(r, i + 1, "[")) {
        size_t close = match_paren(r, i + 1);
        r->operand_start = r->out.len;
        put_at(r, k, "json_array(");
        emit_range(r, i + 2, close);
        put(r, ")");
        return close + 1;
    }
    if (is(k, "ilike")) {
        fail(r, k, "ILIKE (not Trino SQL; use lower(x) LIKE ...)");
        return i + 1;
    }
    if ((k->type == T_IDENT && !is_keyword(k)) || k->type == T_QIDENT) {
        r->operand_start = r->out.len;
        if (ob && r->time_order) {
            size_t next = emit_time_key(r, i);
            if (next != 0)
                return next;
        }
        return emit_chain(r, i);
    }
    put_tok(r, k);
    return i + 1;
}

static void emit_range(struct rw *r, size_t i, size_t end)
{
    while (i < end && r->rc == 0)
        i = emit_one(r, i, end);
}

/* ---- statements -------------------------------------------------------------- */

static int classify_ddl(const struct rw *r, struct query_sql *q, struct err *err)
{
    const struct tok *t = r->t;
    size_t n = r->n;
    if (n == 0)
        return err_set(err, ERR_USAGE, "empty statement");
    if (is(&t[0], "create")) {
        size_t i = 1;
        if (at(r, i, "or") && at(r, i + 1, "replace"))
            i += 2;
        bool external = at(r, i, "external");
        if (external)
            i++;
        if (at(r, i, "view"))
            return err_set(err, ERR_USAGE,
                           "unsupported: CREATE VIEW at line %u (the store is read-only; run "
                           "the view's SELECT instead)", t[0].line);
        if (!at(r, i, "table") && !at(r, i, "database") && !at(r, i, "schema"))
            return err_set(err, ERR_USAGE, "unsupported: CREATE at line %u", t[0].line);
        if (at(r, i, "database") || at(r, i, "schema")) {
            q->kind = QUERY_SQL_NOOP;
            snprintf(q->note, sizeof(q->note), "CREATE DATABASE: nothing to do (the store is "
                                               "the database)");
            return 0;
        }
        for (size_t k = i; k < n; k++)
            if (is(&t[k], "select"))
                return err_set(err, ERR_USAGE,
                               "unsupported: CREATE TABLE AS SELECT at line %u (the store is "
                               "read-only; run the SELECT instead)", t[0].line);
        i++;
        if (at(r, i, "if") && at(r, i + 1, "not") && at(r, i + 2, "exists"))
            i += 3;
        char last[NAME_LEN] = "";
        if (i < n) {
            name_of(&t[i], last);
            while (at(r, i + 1, ".") && i + 2 < n) {
                i += 2;
                name_of(&t[i], last);
            }
        }
        const char *view = view_for(last, true);
        if (view != NULL && strcmp(view, "vpc_flow_logs") == 0 && flow_json_layout(r))
            view = "vpc_flow_json";
        q->kind = QUERY_SQL_NOOP;
        if (view)
            snprintf(q->note, sizeof(q->note),
                     "CREATE TABLE %s: nothing to do; vigil query serves it as the view %s over "
                     "the store (partition columns come from the data)", last, view);
        else
            snprintf(q->note, sizeof(q->note),
                     "CREATE TABLE %s: nothing to do, and no local data for it (SHOW TABLES "
                     "lists what the store serves)", last);
        return 0;
    }
    if (is(&t[0], "alter") || is(&t[0], "msck")) {
        bool partition = false;
        for (size_t k = 0; k < n; k++)
            partition |= is(&t[k], "partition") || is(&t[k], "repair");
        if (!partition)
            return err_set(err, ERR_USAGE, "unsupported: %.*s at line %u (the store is read-only)",
                           (int)t[0].len, t[0].p, t[0].line);
        q->kind = QUERY_SQL_NOOP;
        snprintf(q->note, sizeof(q->note),
                 "%s: nothing to do; partition columns (year, month, day, region, "
                 "date_partition, ...) come from the data", is(&t[0], "msck") ? "MSCK REPAIR TABLE"
                                                                               : "ALTER TABLE ADD PARTITION");
        return 0;
    }
    if (is(&t[0], "insert") || is(&t[0], "delete") || is(&t[0], "update") ||
        is(&t[0], "drop") || is(&t[0], "merge") || is(&t[0], "truncate"))
        return err_set(err, ERR_USAGE, "unsupported: %.*s at line %u (the store is read-only)",
                       (int)t[0].len, t[0].p, t[0].line);
    /* SHOW TABLES, DESCRIBE t, SHOW COLUMNS FROM|IN t: answered from the views. */
    if (is(&t[0], "show") && at(r, 1, "tables")) {
        q->kind = QUERY_SQL_SELECT;
        q->sql = xstrdup("SELECT name AS tab_name FROM temp.sqlite_master WHERE type = 'view' "
                         "ORDER BY name");
        q->len = strlen(q->sql);
        return 0;
    }
    size_t ti = 0;
    if (is(&t[0], "describe") || is(&t[0], "desc"))
        ti = 1;
    else if (is(&t[0], "show") && at(r, 1, "columns") && (at(r, 2, "from") || at(r, 2, "in")))
        ti = 3;
    if (ti != 0) {
        if (ti >= n || (t[ti].type != T_IDENT && t[ti].type != T_QIDENT))
            return err_set(err, ERR_USAGE, "%.*s: which table? (line %u)", (int)t[0].len, t[0].p,
                           t[0].line);
        char last[NAME_LEN];
        size_t k = ti;
        name_of(&t[k], last);
        while (at(r, k + 1, ".") && k + 2 < n) {
            k += 2;
            name_of(&t[k], last);
        }
        const char *view = view_for(last, k > ti);
        if (view == NULL)
            return err_set(err, ERR_USAGE, "unknown table %s at line %u (vigil query has "
                           TABLES_HINT ")",
                           last, t[ti].line);
        struct buf b;
        buf_init(&b, 0);
        /* hidden helper columns have a '.' or '$' in their names */
        buf_printf(&b, "SELECT name AS col_name FROM pragma_table_info('%s', 'temp') "
                       "WHERE instr(name, '.') = 0 AND instr(name, '$') = 0 ORDER BY cid", view);
        q->kind = QUERY_SQL_SELECT;
        q->len = b.len;
        q->sql = buf_steal(&b);
        return 0;
    }
    if (!is(&t[0], "select") && !is(&t[0], "with") && !is(&t[0], "(") && !is(&t[0], "values"))
        return err_set(err, ERR_USAGE, "unsupported: statement %.*s at line %u (only queries)",
                       (int)t[0].len, t[0].p, t[0].line);
    return 1; /* a query */
}

/* ---- late materialization ----------------------------------------------------------- */

/* Trino aggregates: a query with one is not a plain top-n. */
static const char *const agg_funcs[] = {
    "count", "sum", "min", "max", "avg", "array_agg", "approx_distinct", "arbitrary",
    "any_value", "count_if", "max_by", "min_by", "bool_and", "bool_or", "every", "stddev",
    "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "approx_percentile",
    "approx_set", "listagg", "map_agg", "multimap_agg", "histogram", "checksum",
    "geometric_mean", "set_agg", "set_union", "merge", "numeric_histogram", "corr",
    "covar_pop", "covar_samp", "kurtosis", "skewness", "reduce_agg", "bitwise_and_agg",
    "bitwise_or_agg", "group_concat", "total", NULL
};

/* Names an ORDER BY may use for the plan below to hold: columns of
 * cloudtrail_logs, which mean the same inside the id subquery. */
static bool ct_column(const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = ct_star; *p;) {
        while (*p == ' ' || *p == ',' || *p == '"')
            p++;
        size_t l = strcspn(p, ",\"");
        if (l == nl && memcmp(p, name, l) == 0)
            return true;
        p += l;
    }
    return in_list(name, struct_cols) || in_list(name, json_string_cols);
}

/* True when the name is given to a select-list item (AS name, or expr name). */
static bool select_alias(const struct rw *r, size_t from, const char *name)
{
    for (size_t i = 2; i < from; i++) {
        const struct tok *k = &r->t[i], *p = &r->t[i - 1];
        if (k->type != T_IDENT && k->type != T_QIDENT)
            continue;
        if (is_keyword(k))
            continue;
        bool alias = is(p, "as") || (!is_keyword(p) && (p->type != T_OP || is(p, ")")));
        char n[NAME_LEN];
        name_of(k, n);
        if (alias && !at(r, i + 1, "(") && !at(r, i + 1, ".") && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Where the clauses of a plain statement on cloudtrail_logs sit: "SELECT
 * cols FROM t [alias] [WHERE w] [ORDER BY keys] [LIMIT n]", one table, no
 * aggregate, DISTINCT, subquery, join, window or OFFSET. Positions are 0
 * when the clause is absent; end excludes a trailing ';'. */
struct plain {
    size_t from_i, where_i, order_i, limit_i;
};

static bool plain_ct_select(const struct rw *r, size_t end, struct plain *p)
{
    static const char *const refused[] = {
        "join", "group", "having", "distinct", "union", "except", "intersect", "over", "unnest",
        "with", "offset", "fetch", "window", "lateral", "tablesample", "values", "exists", NULL
    };
    memset(p, 0, sizeof(*p));
    if (!r->ct_only || r->derived || end < 4 || !is(&r->t[0], "select"))
        return false;
    size_t n_select = 0, n_from = 0;
    int depth = 0;
    for (size_t i = 0; i < end; i++) {
        const struct tok *k = &r->t[i];
        if (is(k, "(") || is(k, "["))
            depth++;
        else if (is(k, ")") || is(k, "]"))
            depth--;
        if (k->type != T_IDENT)
            continue;
        char name[NAME_LEN];
        name_of(k, name);
        if (in_list(name, refused))
            return false;
        if (at(r, i + 1, "(") && in_list(name, agg_funcs))
            return false;
        if (strcmp(name, "select") == 0)
            n_select++;
        if (depth != 0)
            continue;
        if (strcmp(name, "from") == 0) {
            n_from++;
            p->from_i = i;
        } else if (strcmp(name, "where") == 0 && p->where_i == 0) {
            p->where_i = i;
        } else if (strcmp(name, "order") == 0 && at(r, i + 1, "by")) {
            p->order_i = i;
        } else if (strcmp(name, "limit") == 0) {
            p->limit_i = i;
        }
    }
    if (n_select != 1 || n_from != 1)
        return false;
    size_t last = p->limit_i ? p->limit_i : end;
    if (p->order_i && !(p->from_i < p->order_i && p->order_i < last))
        return false;
    if (p->where_i && !(p->from_i < p->where_i && p->where_i < (p->order_i ? p->order_i : last)))
        return false;
    return !p->limit_i || (p->limit_i + 2 == end && r->t[p->limit_i + 1].type == T_NUMBER);
}

/* A plain top-n on cloudtrail_logs: a plain statement with ORDER BY and LIMIT
 * whose keys are the view's columns (not output aliases, not ordinals).
 * Fills the positions of FROM, WHERE (or ORDER) and ORDER. */
static bool late_candidate(const struct rw *r, size_t end, size_t *from_i, size_t *body_i,
                           size_t *order_i)
{
    struct plain p;
    if (end < 8 || !plain_ct_select(r, end, &p) || p.order_i == 0 || p.limit_i == 0)
        return false;
    *from_i = p.from_i;
    *order_i = p.order_i;
    for (size_t i = p.order_i + 2; i < p.limit_i; i++) {
        const struct tok *k = &r->t[i];
        if (k->type == T_NUMBER || k->type == T_STRING)
            return false; /* an ordinal, or a constant key: left as it is */
        if ((k->type != T_IDENT && k->type != T_QIDENT) || is_keyword(k) || at(r, i + 1, "("))
            continue;
        if (i > 0 && is(&r->t[i - 1], "."))
            continue; /* a struct field or a column after its table alias */
        char name[NAME_LEN];
        name_of(k, name);
        if ((!ct_column(name) && !is_alias(r, name)) || select_alias(r, p.from_i, name))
            return false;
    }
    *body_i = p.where_i ? p.where_i : p.order_i;
    return true;
}

/* Whether ORDER BY eventtime may read as ORDER BY "eventtime.ms": the store
 * says every row's text is the canonical form of its epoch (QUERY_SQL_TIME_ORDER,
 * store_db_ct_times_canonical), so both orders are the same, ties included,
 * and the statement is plain, so eventtime is the view's column and not an
 * output alias. The time-ordered indexes then deliver the rows in order:
 * no sort of every selected row (with its JSON columns) before the first. */
static bool time_order_candidate(const struct rw *r, size_t end)
{
    struct plain p;
    return plain_ct_select(r, end, &p) && p.order_i != 0 && !select_alias(r, p.from_i, "eventtime");
}

/* At i inside an ORDER BY: an item that is the bare key eventtime or
 * alias.eventtime. Emits it as the epoch column and returns the index after
 * it, or returns 0. */
static size_t emit_time_key(struct rw *r, size_t i)
{
    if (i == 0 || !(is(&r->t[i - 1], "by") || is(&r->t[i - 1], ",")))
        return 0;
    size_t key = i;
    char name[NAME_LEN];
    if (at(r, i + 1, ".") && i + 2 < r->n) {
        name_of(&r->t[i], name);
        if (!is_alias(r, name))
            return 0;
        key = i + 2;
    }
    const struct tok *k = &r->t[key];
    if (k->type != T_IDENT && k->type != T_QIDENT)
        return 0;
    name_of(k, name);
    if (strcmp(name, "eventtime") != 0)
        return 0;
    size_t next = key + 1;
    if (next < r->n && !is(&r->t[next], ",") && !is(&r->t[next], "asc") &&
        !is(&r->t[next], "desc") && !is(&r->t[next], "nulls") && !is(&r->t[next], "limit") &&
        !is(&r->t[next], ";"))
        return 0;
    if (key != i) {
        put_tok(r, &r->t[i]);
        put_tok(r, &r->t[i + 1]);
        put(r, "\"eventtime.ms\"");
    } else {
        put_at(r, k, "\"eventtime.ms\"");
    }
    return next;
}

/* ORDER BY ... LIMIT n picks its n rows in a subquery that reads only the
 * indexed columns it filters and sorts on, and the select list (the record's
 * JSON fields above all) is computed for those n rows alone. SQLite would
 * otherwise compute every selected column of every candidate row before its
 * sort: 257 k JSON extractions for "the newest 25 errors". */
static void emit_late(struct rw *r, size_t end, size_t from_i, size_t body_i, size_t order_i)
{
    emit_range(r, 0, body_i);
    put(r, " WHERE \"$id\" IN (SELECT \"$id\"");
    emit_range(r, from_i, end);
    put(r, ")");
    emit_range(r, order_i, end);
}

/* ---- daily rollup ------------------------------------------------------------ */

/* The columns of "$cloudtrail_daily" (sql_funcs.c): the partition columns,
 * which are the same for every event of a day, account and Region. */
static const char *const rollup_cols[] = {
    "region", "account", "awsregion", "account_partition", "region_partition", "date_partition",
    "year", "month", "day", "timestamp", NULL,
};

/* Whether t[i..] is count ( * ). */
static bool is_count_star(const struct tok *t, size_t n, size_t i)
{
    return i + 3 < n && is(&t[i], "count") && is(&t[i + 1], "(") && is(&t[i + 2], "*") &&
           is(&t[i + 3], ")");
}

/* Whether t[i] names the select item before it without AS. */
static bool implicit_alias(const struct tok *t, size_t n, size_t i)
{
    return i < n && (t[i].type == T_IDENT || t[i].type == T_QIDENT) && !is_keyword(&t[i]);
}

/* A rewritten statement that only counts events by partition columns over
 * whole days (SELECT region_partition, count(*) FROM cloudtrail_logs WHERE
 * <partition predicates> GROUP BY region_partition) reads the daily counts
 * the store keeps (store.c, migration 7) instead of one index entry per
 * event: the same groups and counts, exactly, since every column it uses is
 * constant over a (day, account, Region) and its time bounds are midnights.
 * Anything else (another column, a function, a subquery, a bound inside a
 * day, rows without GROUP BY) keeps the statement as it is. Returns the new
 * statement (malloc'd) or NULL. */
static char *rollup(const char *sql, size_t len)
{
    struct tok *t = NULL;
    size_t n = 0;
    struct err e;
    if (tokenize(sql, len, &t, &n, &e) != 0)
        return NULL;
    while (n > 0 && is(&t[n - 1], ";"))
        n--;
    bool ok = n > 4 && is(&t[0], "select"), grouped = false;
    size_t from_i = 0, table_i = 0;
    char alias[NAME_LEN] = "", sel_alias[MAX_NAMES][NAME_LEN];
    size_t n_sel_alias = 0;
    for (size_t i = 1; ok && i < n && from_i == 0; i++)
        if (is(&t[i], "from"))
            from_i = i;
    /* FROM cloudtrail_logs [AS] [alias], then WHERE, GROUP or the end */
    ok = ok && from_i > 1 && from_i + 1 < n && t[from_i + 1].type == T_IDENT;
    size_t after = from_i + 2;
    if (ok) {
        char nm[NAME_LEN];
        name_of(&t[from_i + 1], nm);
        ok = strcmp(nm, "cloudtrail_logs") == 0;
        table_i = from_i + 1;
        if (after < n && is(&t[after], "as"))
            after++;
        if (ok && after < n && (t[after].type == T_IDENT || t[after].type == T_QIDENT) &&
            !is_keyword(&t[after]))
            name_of(&t[after++], alias);
        ok = ok && (after == n || is(&t[after], "where") || is(&t[after], "group"));
    }
    /* select-list aliases, which ORDER BY and HAVING may name */
    for (size_t i = 1; ok && i + 1 < from_i; i++)
        if ((is(&t[i], "as") ||
             (i >= 3 && is_count_star(t, n, i - 3) && implicit_alias(t, n, i + 1))) &&
            n_sel_alias < MAX_NAMES)
            name_of(&t[i + 1], sel_alias[n_sel_alias++]);
    static const char *const kw_ok[] = {
        "select", "where", "and", "or", "not", "in", "is", "null", "group", "by", "order",
        "desc", "asc", "nulls", "first", "last", "limit", "as", "having", "between", "like",
        NULL,
    };
    static const char *const op_ok[] = { "(", ")", ",", "=", "<>", "!=", "<", "<=", ">", ">=",
                                         ".", NULL };
    for (size_t i = 1; ok && i < n; i++) {
        if (i >= from_i && i < after)
            continue;
        const struct tok *k = &t[i];
        char nm[NAME_LEN];
        if (is_count_star(t, n, i)) {
            i += 3;
            if (i < from_i && implicit_alias(t, n, i + 1))
                i++; /* count(*) c */
            continue;
        }
        if (k->type == T_STRING || k->type == T_NUMBER)
            continue;
        if (k->type == T_OP) {
            char op[4] = "";
            if (k->len < sizeof(op)) {
                memcpy(op, k->p, k->len);
                op[k->len] = '\0';
            }
            ok = in_list(op, op_ok);
            continue;
        }
        name_of(k, nm);
        if (k->type == T_IDENT && is_keyword(k)) {
            ok = in_list(nm, kw_ok);
            grouped |= strcmp(nm, "group") == 0;
            continue;
        }
        if (at_op(t, n, i + 1, "(")) {
            ok = false; /* a function other than count(*) */
            continue;
        }
        if (at_op(t, n, i + 1, ".")) { /* the table's alias, then a column */
            ok = alias[0] != '\0' && strcmp(nm, alias) == 0;
            continue;
        }
        if (strcmp(nm, "eventtime.ms") == 0) {
            /* only ">= midnight" and "< midnight": a day is in or out whole */
            ok = i + 2 < n && (is(&t[i + 1], ">=") || is(&t[i + 1], "<")) &&
                 t[i + 2].type == T_NUMBER && !(i + 3 < n && is(&t[i + 3], "."));
            if (ok) {
                char num[32] = "";
                char *end = NULL;
                if (t[i + 2].len < sizeof(num))
                    memcpy(num, t[i + 2].p, t[i + 2].len);
                long long v = strtoll(num, &end, 10);
                ok = end != num && *end == '\0' && v % DAY_MS == 0;
            }
            i += 2;
            continue;
        }
        bool named = in_list(nm, rollup_cols);
        for (size_t a = 0; !named && a < n_sel_alias; a++)
            named = strcmp(nm, sel_alias[a]) == 0;
        ok = named;
    }
    /* Without GROUP BY, only counts may be selected (one row, as before). */
    for (size_t i = 1; ok && !grouped && i < from_i; i++) {
        if (is_count_star(t, n, i))
            i += 3 + implicit_alias(t, n, i + 4);
        else if (is(&t[i], "as"))
            i++;
        else
            ok = is(&t[i], ",");
    }
    char *res = NULL;
    if (ok) {
        struct buf b;
        buf_init(&b, 2 * len + 256);
        size_t done = 0; /* bytes of sql copied */
        for (size_t i = 0; i < n; i++) {
            bool cs = is_count_star(t, n, i);
            if (!cs && i != table_i)
                continue;
            buf_append(&b, sql + done, (size_t)(t[i].p - sql) - done);
            if (i == table_i) {
                buf_append_cstr(&b, "\"$cloudtrail_daily\"");
                done = (size_t)(t[i].p - sql) + t[i].len;
                continue;
            }
            const char *end = t[i + 3].p + 1;
            buf_append_cstr(&b, "ifnull(sum(n), 0)");
            /* a select item keeps the name SQLite gave it: its text */
            if (i < from_i && !at_op(t, n, i + 4, "as") && !implicit_alias(t, n, i + 4))
                buf_printf(&b, " AS \"%.*s\"", (int)(end - t[i].p), t[i].p);
            done = (size_t)(end - sql);
            i += 3;
        }
        buf_append(&b, sql + done, len - done);
        if (buf_putc(&b, '\0') == 0)
            res = buf_steal(&b);
        buf_free(&b);
    }
    free(t);
    return res;
}

int query_sql_rewrite(const char *in, size_t len, struct query_sql *out, struct err *err)
{
    return query_sql_rewrite_flags(in, len, 0, out, err);
}

/* Whether the statement can run as slices of its time window, concatenated
 * in order: a plain statement with a WHERE whose top AND chain bounds the
 * epoch column on both sides, no LIMIT, and either no ORDER BY or the one key
 * eventtime read through the epoch (time_order). *desc: the slices go newest
 * first. */
static bool sliceable(const struct rw *r, size_t end, bool *desc)
{
    struct plain p;
    *desc = false;
    if (!plain_ct_select(r, end, &p) || p.limit_i != 0 || p.where_i == 0 ||
        r->span_lo == INT64_MIN || r->span_hi == INT64_MAX || r->span_lo >= r->span_hi)
        return false;
    if (p.order_i == 0)
        return true;
    if (!r->time_order)
        return false;
    size_t k = p.order_i + 2;
    if (k + 2 < end && at(r, k + 1, "."))
        k += 2;
    char name[NAME_LEN];
    if (k >= end || (r->t[k].type != T_IDENT && r->t[k].type != T_QIDENT))
        return false;
    name_of(&r->t[k], name);
    if (strcmp(name, "eventtime") != 0)
        return false;
    k++;
    if (k < end && is(&r->t[k], "desc"))
        *desc = true, k++;
    else if (k < end && is(&r->t[k], "asc"))
        k++;
    if (k + 1 < end && is(&r->t[k], "nulls")) /* the column is NOT NULL */
        k += 2;
    return k == end;
}

/* The statement with "eventtime.ms" in [lo, hi) added to its WHERE. */
static void emit_slice(struct rw *r, size_t end)
{
    struct plain p;
    plain_ct_select(r, end, &p);
    size_t body_end = p.order_i ? p.order_i : end;
    emit_range(r, 0, p.where_i + 1);
    put(r, " (");
    emit_range(r, p.where_i + 1, body_end);
    char range[128];
    snprintf(range, sizeof(range), ") AND \"eventtime.ms\" >= %lld AND \"eventtime.ms\" < %lld",
             (long long)r->slice_lo, (long long)r->slice_hi);
    put(r, range);
    emit_range(r, body_end, r->n);
}

static int rewrite(const char *in, size_t len, unsigned flags, const int64_t *slice,
                   struct query_sql *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > QUERY_SQL_MAX_INPUT)
        return err_set(err, ERR_LIMIT, "statement longer than %u bytes", QUERY_SQL_MAX_INPUT);
    struct tok *toks = NULL;
    size_t n = 0;
    int rc = tokenize(in, len, &toks, &n, err);
    if (rc != 0)
        return rc;
    struct rw *r = xcalloc(1, sizeof(*r));
    r->t = toks;
    r->n = n;
    r->q = out;
    r->err = err;
    r->text_index = (flags & QUERY_SQL_TEXT_INDEX) != 0;
    r->text_probe = (flags & QUERY_SQL_TEXT_PROBE) != 0;
    r->span_lo = INT64_MIN;
    r->span_hi = INT64_MAX;
    if (slice != NULL) {
        r->slice = true;
        r->slice_lo = slice[0];
        r->slice_hi = slice[1];
    }
    buf_init(&r->out, 8u * QUERY_SQL_MAX_INPUT);
    rc = classify_ddl(r, out, err);
    if (rc == 0 && out->kind == QUERY_SQL_SELECT && out->sql != NULL)
        map_add(r, 1); /* SHOW / DESCRIBE: one line */
    if (rc == 1) {
        rc = 0;
        prescan(r);
        size_t end = n, from_i, body_i, order_i;
        while (end > 0 && is(&toks[end - 1], ";"))
            end--;
        r->time_order = (flags & QUERY_SQL_TIME_ORDER) != 0 && time_order_candidate(r, end);
        struct plain p;
        if (r->slice && !(plain_ct_select(r, end, &p) && p.where_i != 0 && p.limit_i == 0))
            rc = err_set(err, ERR_USAGE, "this statement cannot run in slices");
        else if (r->slice)
            emit_slice(r, end);
        else if (late_candidate(r, end, &from_i, &body_i, &order_i))
            emit_late(r, end, from_i, body_i, order_i);
        else
            emit_range(r, 0, n);
        if (r->rc == 0 && r->depth == 0 && r->ob_on[0])
            ob_end(r);
        if (rc == 0)
            rc = r->rc;
        if (rc == 0 && buf_putc(&r->out, '\0') != 0)
            rc = err_set(err, ERR_LIMIT, "rewritten statement too long");
        if (rc == 0) {
            out->kind = QUERY_SQL_SELECT;
            out->len = r->out.len - 1;
            out->sql = buf_steal(&r->out);
            out->sliceable = sliceable(r, end, &out->slice_desc);
            out->span_lo = r->span_lo;
            out->span_hi = r->span_hi;
            char *daily = rollup(out->sql, out->len);
            if (daily != NULL) {
                /* the line map stays: the rollup moves no clause */
                free(out->sql);
                out->sql = daily;
                out->len = strlen(daily);
            }
        }
    }
    buf_free(&r->out);
    free(r);
    free(toks);
    if (rc != 0)
        query_sql_free(out);
    return rc;
}

int query_sql_rewrite_flags(const char *in, size_t len, unsigned flags, struct query_sql *out,
                            struct err *err)
{
    return rewrite(in, len, flags, NULL, out, err);
}

int query_sql_rewrite_slice(const char *in, size_t len, unsigned flags, int64_t lo, int64_t hi,
                            struct query_sql *out, struct err *err)
{
    int64_t slice[2] = { lo, hi };
    return rewrite(in, len, flags, slice, out, err);
}

void query_sql_free(struct query_sql *q)
{
    if (q == NULL)
        return;
    free(q->sql);
    free(q->map_off);
    free(q->map_line);
    memset(q, 0, sizeof(*q));
}

unsigned query_sql_line_at(const struct query_sql *q, size_t off)
{
    unsigned line = 0;
    for (size_t i = 0; i < q->n_map && q->map_off[i] <= off; i++)
        line = q->map_line[i];
    return line;
}

/* ---- running ----------------------------------------------------------------------- */

int query_sql_setup(struct sqlite3 *db, struct err *err)
{
    int on = 0;
    /* "x" must be an identifier, never a string: a misspelt quoted column would
     * otherwise compare against its own name. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, &on);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, &on);
    char *msg = NULL;
    if (sqlite3_exec(db, "PRAGMA case_sensitive_like = ON", NULL, NULL, &msg) != SQLITE_OK) {
        int rc = err_set(err, ERR_DB, "case_sensitive_like: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    int rc = query__sql_functions(db, err);
    if (rc == 0)
        rc = query__sql_views(db, err);
    return rc;
}

/* Line of the first whole-word occurrence of word in the rewritten SQL. */
static unsigned line_of_word(const struct query_sql *q, const char *word, size_t wl)
{
    if (wl == 0)
        return 0;
    for (size_t i = 0; i + wl <= q->len; i++) {
        if (strncasecmp(q->sql + i, word, wl) != 0)
            continue;
        bool left = i == 0 || !(isalnum((unsigned char)q->sql[i - 1]) || q->sql[i - 1] == '_');
        bool right = i + wl == q->len ||
                     !(isalnum((unsigned char)q->sql[i + wl]) || q->sql[i + wl] == '_');
        if (left && right)
            return query_sql_line_at(q, i);
    }
    return 0;
}

int query_sql_plan(struct sqlite3 *db, const char *sql, query_plan_fn fn, void *ctx,
                   struct err *err)
{
    size_t cap = strlen(sql) + 32;
    char *q = xmalloc(cap);
    snprintf(q, cap, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        rc = err_set(err, ERR_DB, "%s", sqlite3_errmsg(db));
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            fn(ctx, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1), d ? d : "");
        }
    }
    sqlite3_finalize(st);
    free(q);
    return rc;
}

/* The nodes of a plan text_list_drives looks at. */
struct plan_nodes {
    struct plan_node {
        int id, parent;
        bool text_scan, row_by_id;
    } v[512];
    size_t n;
    bool full;
};

static void collect_node(void *ctx, int id, int parent, const char *d)
{
    struct plan_nodes *p = ctx;
    if (p->n == sizeof(p->v) / sizeof(p->v[0])) {
        p->full = true;
        return;
    }
    struct plan_node *x = &p->v[p->n++];
    x->id = id;
    x->parent = parent;
    x->text_scan = strstr(d, "main." STORE_TEXT_TABLE " VIRTUAL TABLE") != NULL;
    x->row_by_id = strncmp(d, "SEARCH main.cloudtrail USING INTEGER PRIMARY KEY", 48) == 0;
}

/* Whether SQLite would read CloudTrail rows through a text filter's list
 * (a row search by id beside the list, at the list's level of the plan):
 * then the list must stay an IN. Otherwise another index drives, and the
 * list is only tested per row, which vq_text_has does faster. When the plan
 * cannot be had, the IN stays (the prepare that follows reports why). */
static bool text_list_drives(struct sqlite3 *db, const struct query_sql *q)
{
    struct plan_nodes *p = xcalloc(1, sizeof(*p));
    struct err e;
    bool drives = query_sql_plan(db, q->sql, collect_node, p, &e) != 0 || p->full;
    for (size_t i = 0; i < p->n && !drives; i++) {
        if (!p->v[i].text_scan)
            continue;
        int list = p->v[i].parent, level = -1;
        for (size_t k = 0; k < p->n; k++)
            if (p->v[k].id == list)
                level = p->v[k].parent;
        for (size_t k = 0; k < p->n && !drives; k++)
            drives = p->v[k].parent == level && p->v[k].row_by_id;
    }
    free(p);
    return drives;
}

struct time_reads {
    int searches, timed;
};

static void count_time_reads(void *ctx, int id, int parent, const char *d)
{
    struct time_reads *t = ctx;
    (void)id, (void)parent;
    if (strstr(d, "main.cloudtrail ") == NULL)
        return;
    t->searches++;
    if (strncmp(d, "SEARCH main.cloudtrail USING ", 29) == 0 &&
        (strstr(d, "event_time_ms>") != NULL || strstr(d, "event_time_ms<") != NULL))
        t->timed++;
}

/* Whether the plan reads CloudTrail rows through an index bounded by the
 * event time (so a slice of the window reads only its own part of it). */
static bool plan_reads_by_time(struct sqlite3 *db, const struct query_sql *q)
{
    struct time_reads t = { 0, 0 };
    struct err e;
    return query_sql_plan(db, q->sql, count_time_reads, &t, &e) == 0 && t.searches == 1 &&
           t.timed == 1;
}

static unsigned store_flags(struct sqlite3 *db)
{
    unsigned flags = store_db_has_table(db, STORE_TEXT_TABLE) == 1 ? QUERY_SQL_TEXT_INDEX : 0;
    if (store_db_ct_times_canonical(db) == 1)
        flags |= QUERY_SQL_TIME_ORDER;
    return flags;
}

int query_sql_split(struct sqlite3 *db, const char *in, size_t len, struct query_sql_split *sp,
                    struct err *err)
{
    memset(sp, 0, sizeof(*sp));
    sp->flags = store_flags(db);
    struct query_sql q;
    int rc = query_sql_rewrite_flags(in, len, sp->flags, &q, err);
    if (rc != 0)
        return rc;
    if (q.kind == QUERY_SQL_SELECT && q.sliceable && strstr(q.sql, TEXT_LIST_HEAD) != NULL) {
        /* a text filter: sliced only where another index drives, as the
         * per-row test; each slice builds its set once */
        bool drives = text_list_drives(db, &q);
        query_sql_free(&q);
        if (drives)
            return 0;
        sp->flags |= QUERY_SQL_TEXT_PROBE;
        sp->setup_cost = true;
        rc = query_sql_rewrite_flags(in, len, sp->flags, &q, err);
        if (rc != 0)
            return rc;
    }
    if (q.kind == QUERY_SQL_SELECT && q.sliceable && plan_reads_by_time(db, &q)) {
        sp->desc = q.slice_desc;
        sp->lo = q.span_lo;
        sp->hi = q.span_hi;
        /* The window, narrowed to the events the store holds (a month's
         * query on a week of events would leave most slices empty). */
        sqlite3_stmt *st = NULL;
        /* one aggregate per SELECT: SQLite reads one end of the time
         * index for each, where min and max together scan it all */
        if (sqlite3_prepare_v2(db, "SELECT (SELECT min(event_time_ms) FROM main.cloudtrail),"
                                   " (SELECT max(event_time_ms) FROM main.cloudtrail)",
                               -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
            int64_t first = sqlite3_column_int64(st, 0), last = sqlite3_column_int64(st, 1);
            if (first > sp->lo)
                sp->lo = first;
            if (last < INT64_MAX && last + 1 < sp->hi)
                sp->hi = last + 1;
            sp->ok = sp->lo < sp->hi;
        }
        sqlite3_finalize(st);
    }
    query_sql_free(&q);
    return 0;
}

int query_sql_prepare_slice(struct sqlite3 *db, const char *in, size_t len,
                            const struct query_sql_split *sp, int64_t lo, int64_t hi,
                            struct sqlite3_stmt **stmt_out, struct err *err)
{
    struct query_sql q;
    *stmt_out = NULL;
    int rc = query_sql_rewrite_slice(in, len, sp->flags, lo, hi, &q, err);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(db, q.sql, (int)q.len + 1, stmt_out, NULL) != SQLITE_OK)
        rc = err_set(err, ERR_USAGE, "%s", sqlite3_errmsg(db));
    query_sql_free(&q);
    return rc;
}

int query_sql_prepare(struct sqlite3 *db, const char *in, size_t len, struct sqlite3_stmt **stmt_out,
                      char note_out[256], struct err *err)
{
    struct query_sql q;
    *stmt_out = NULL;
    note_out[0] = '\0';
    /* Read per statement: an ingest may turn the index on meanwhile. A
     * schema error shows again when the statement is prepared. */
    unsigned flags = store_flags(db);
    int rc = query_sql_rewrite_flags(in, len, flags, &q, err);
    if (rc != 0)
        return rc;
    if (q.kind == QUERY_SQL_SELECT && strstr(q.sql, TEXT_LIST_HEAD) != NULL &&
        !text_list_drives(db, &q)) {
        query_sql_free(&q);
        rc = query_sql_rewrite_flags(in, len, flags | QUERY_SQL_TEXT_PROBE, &q, err);
        if (rc != 0)
            return rc;
    }
    if (q.kind == QUERY_SQL_NOOP) {
        memcpy(note_out, q.note, sizeof(q.note));
        query_sql_free(&q);
        return 0;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q.sql, (int)q.len + 1, &st, NULL) != SQLITE_OK) {
        const char *msg = sqlite3_errmsg(db);
        int off = sqlite3_error_offset(db);
        unsigned line = off >= 0 ? query_sql_line_at(&q, (size_t)off) : 0;
        static const struct {
            const char *prefix, *what;
        } known[] = { { "no such column: ", "unknown column" },
                      { "no such function: ", "unsupported: function" },
                      { "no such table: ", "unknown table" },
                      { "wrong number of arguments to function ", "wrong number of arguments to" } };
        rc = ERR_USAGE;
        bool done = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && !done; i++) {
            size_t pl = strlen(known[i].prefix);
            if (strncmp(msg, known[i].prefix, pl) != 0)
                continue;
            const char *name = msg + pl;
            size_t nl = strcspn(name, "(");
            const char *dot = memchr(name, '.', nl);
            const char *word = dot ? dot + 1 : name;
            if (line == 0)
                line = line_of_word(&q, word, nl - (size_t)(word - name));
            if (i == 2)
                err_set(err, rc, "%s %.*s at line %u (vigil query has " TABLES_HINT ")",
                        known[i].what, (int)nl, name, line);
            else
                err_set(err, rc, "%s %.*s at line %u", known[i].what, (int)nl, name, line);
            done = true;
        }
        if (!done) {
            const char *near = strstr(msg, "near \"");
            if (line == 0 && near != NULL) {
                const char *w = near + 6;
                line = line_of_word(&q, w, strcspn(w, "\""));
            }
            err_set(err, rc, "%s at line %u", msg, line);
        }
        sqlite3_finalize(st);
        query_sql_free(&q);
        return rc;
    }
    query_sql_free(&q);
    *stmt_out = st;
    return 0;
}
