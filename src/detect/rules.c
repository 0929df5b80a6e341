/*
 * Rule files: YAML (libyaml's document loader) -> struct detect_rule.
 *
 * Accepted: one or more documents per file, each a mapping with the fields of
 * docs/rules.md. Unknown fields, duplicate fields and wrong types are errors
 * with the file and 1-based line (libyaml marks). A file is loaded all or
 * nothing, so a typo never leaves half a pack running.
 *
 * libyaml's loader resolves aliases to shared nodes; the pattern converter
 * walks nodes with a visit budget so an alias bomb cannot blow up, and with a
 * depth cap so deep nesting cannot exhaust the stack.
 */
#include "detect/detect_int.h"
#include "detect/detect_config.h"
#include "match/match.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define RULE_FILE_MAX (4u << 20)
#define RULES_MAX 10000
#define PATTERN_MAX (256u << 10)
#define YAML_DEPTH_MAX 64
#define YAML_VISIT_MAX 20000
#define TITLE_MAX 1024
#define DESC_MAX 8192
#define LIST_MAX 64

struct rule_int {
    struct detect_rule pub;
    struct tmpl title_t;
    struct tmpl desc_t;
    const struct detect_check *chk;
};

struct detect_rules {
    struct rule_int **v;
    size_t n, cap;
    struct hmap ids; /* id -> index + 1 */
};

const struct tmpl *detect__rule_title(const struct detect_rule *r)
{
    return &((const struct rule_int *)(const void *)r)->title_t;
}

const struct tmpl *detect__rule_desc(const struct detect_rule *r)
{
    return &((const struct rule_int *)(const void *)r)->desc_t;
}

const struct detect_check *detect__rule_check(const struct detect_rule *r)
{
    return ((const struct rule_int *)(const void *)r)->chk;
}

/* ---- small pieces ------------------------------------------------------------- */

const char *detect_resource_name(enum detect_resource r)
{
    switch (r) {
    case DETECT_RES_ACCESS_KEY: return "AccessKey";
    case DETECT_RES_INSTANCE: return "Instance";
    case DETECT_RES_S3_BUCKET: return "S3Bucket";
    }
    return "AccessKey";
}

bool detect_resource_parse(struct sv name, enum detect_resource *out)
{
    if (sv_eq_cstr(name, "AccessKey"))
        *out = DETECT_RES_ACCESS_KEY;
    else if (sv_eq_cstr(name, "Instance"))
        *out = DETECT_RES_INSTANCE;
    else if (sv_eq_cstr(name, "S3Bucket"))
        *out = DETECT_RES_S3_BUCKET;
    else
        return false;
    return true;
}

const char *detect_severity_label(double severity)
{
    if (severity < 4.0)
        return "Low";
    if (severity < 7.0)
        return "Medium";
    return "High";
}

/* The source names of rule files. Kept here rather than calling the event
 * module's parser so rule loading does not depend on the readers. */
static bool source_parse(struct sv s, enum event_source *out)
{
    if (sv_eq_cstr(s, "cloudtrail"))
        *out = EVENT_CLOUDTRAIL;
    else if (sv_eq_cstr(s, "vpcflow"))
        *out = EVENT_VPCFLOW;
    else if (sv_eq_cstr(s, "dns"))
        *out = EVENT_DNS;
    else if (sv_eq_cstr(s, "s3access"))
        *out = EVENT_S3ACCESS;
    else
        return false;
    return true;
}

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static bool valid_id(const char *s, size_t len)
{
    if (len == 0 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_id_char(s[i]))
            return false;
    return true;
}

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* ThreatPurpose:ResourceTypeAffected/ThreatFamilyName[.Mechanism][!Artifact] */
static bool valid_type(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 200)
        return false;
    while (i < len && is_alpha(s[i]))
        i++;
    if (i == 0 || i >= len || s[i] != ':')
        return false;
    size_t j = ++i;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i])))
        i++;
    if (i == j || i >= len || s[i] != '/')
        return false;
    j = ++i;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || strchr(".!&_-", s[i])))
        i++;
    return i == len && i > j && (is_alpha(s[j]) || is_digit(s[j]));
}

/* T1234 or T1234.001 */
static bool valid_mitre(const char *s, size_t len)
{
    if (len != 5 && len != 9)
        return false;
    if (s[0] != 'T')
        return false;
    for (size_t i = 1; i < 5; i++)
        if (!is_digit(s[i]))
            return false;
    if (len == 9) {
        if (s[5] != '.')
            return false;
        for (size_t i = 6; i < 9; i++)
            if (!is_digit(s[i]))
                return false;
    }
    return true;
}

bool detect__valid_path(const char *s, size_t len)
{
    if (len == 0 || len > 256 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(is_id_char(c) || c == ':' || c == '@' || c == '/'))
            return false;
        if (c == '.' && s[i + 1] == '.')
            return false;
    }
    return true;
}

/* JSON number grammar, so a plain YAML scalar is typed as EventBridge would. */
static bool is_json_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !is_digit(s[i]))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < len && is_digit(s[i]))
            i++;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || !is_digit(s[i]))
            return false;
        while (i < len && is_digit(s[i]))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || !is_digit(s[i]))
            return false;
        while (i < len && is_digit(s[i]))
            i++;
    }
    return i == len;
}

/* ---- rule lifetime ------------------------------------------------------------ */

static void free_strlist(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)v[i]);
    free((void *)v);
}

static void rule_free(struct rule_int *r)
{
    if (!r)
        return;
    detect__tmpl_free(&r->title_t);
    detect__tmpl_free(&r->desc_t);
    free((void *)r->pub.id);
    free((void *)r->pub.type);
    free((void *)r->pub.title);
    free((void *)r->pub.description);
    free((void *)r->pub.pattern);
    free((void *)r->pub.check);
    free((void *)r->pub.key);
    free((void *)r->pub.file);
    free_strlist(r->pub.mitre, r->pub.n_mitre);
    free_strlist(r->pub.references, r->pub.n_references);
    free((void *)r->pub.where);
    free_strlist(r->pub.group_by, r->pub.n_group_by);
    free((void *)r->pub.sum);
    free((void *)r->pub.distinct);
    free_strlist(r->pub.value, r->pub.n_value);
    free((void *)r->pub.when);
    free_strlist(r->pub.unusual, r->pub.n_unusual);
    free_strlist(r->pub.then, r->pub.n_then);
    free(r);
}

struct detect_rules *detect_rules_new(void)
{
    struct detect_rules *rs = xcalloc(1, sizeof(*rs));
    hmap_init(&rs->ids);
    return rs;
}

void detect_rules_free(struct detect_rules *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        rule_free(rs->v[i]);
    free(rs->v);
    hmap_free(&rs->ids);
    free(rs);
}

size_t detect_rules_count(const struct detect_rules *rs) { return rs ? rs->n : 0; }

const struct detect_rule *detect_rules_get(const struct detect_rules *rs, size_t i)
{
    return i < rs->n ? &rs->v[i]->pub : NULL;
}

const struct detect_rule *detect_rules_find(const struct detect_rules *rs, const char *id)
{
    void *v = hmap_get(&rs->ids, id, strlen(id));
    return v ? &rs->v[(size_t)(uintptr_t)v - 1]->pub : NULL;
}

/* ---- YAML -> rule ----------------------------------------------------------- */

struct loader {
    yaml_document_t *doc;
    const char *file;
    struct err *err;
    const char *rule_id; /* for messages, once known */
    size_t visits;
    bool reported; /* lerr ran: the message is set, callers must not replace it */
};

static unsigned node_line(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }

static int lerr(struct loader *ld, const yaml_node_t *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int lerr(struct loader *ld, const yaml_node_t *n, int code, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ld->reported = true;
    if (ld->rule_id)
        err_set(ld->err, code, "line %u: rule \"%s\": %s", n ? node_line(n) : 0, ld->rule_id, msg);
    else
        err_set(ld->err, code, "line %u: %s", n ? node_line(n) : 0, msg);
    err_where(ld->err, ld->file, 0, 0);
    return code;
}

static const char *scalar(const yaml_node_t *n, size_t *len)
{
    *len = n->data.scalar.length;
    return (const char *)n->data.scalar.value;
}

/* A plain scalar that YAML's core schema reads as null/bool/number. */
static bool plain(const yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

static int want_scalar(struct loader *ld, const yaml_node_t *n, const char *field, size_t max,
                       const char **s, size_t *len)
{
    *s = "";
    *len = 0;
    if (n->type != YAML_SCALAR_NODE)
        return lerr(ld, n, ERR_FORMAT, "%s: expected a string", field);
    *s = scalar(n, len);
    if (*len > max)
        return lerr(ld, n, ERR_LIMIT, "%s: longer than %zu bytes", field, max);
    if (memchr(*s, '\0', *len))
        return lerr(ld, n, ERR_FORMAT, "%s: contains a NUL byte", field);
    return 0;
}

static int to_json(struct loader *ld, yaml_node_t *n, struct buf *out, int depth)
{
    if (++ld->visits > YAML_VISIT_MAX)
        return lerr(ld, n, ERR_LIMIT, "pattern: more than %d nodes (alias loop?)", YAML_VISIT_MAX);
    if (depth > YAML_DEPTH_MAX)
        return lerr(ld, n, ERR_LIMIT, "pattern: nested deeper than %d", YAML_DEPTH_MAX);
    int rc = 0;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        size_t len;
        const char *s = scalar(n, &len);
        if (plain(n) && (len == 0 || (len == 1 && s[0] == '~') ||
                         (len == 4 && memcmp(s, "null", 4) == 0)))
            rc = buf_append_cstr(out, "null");
        else if (plain(n) && ((len == 4 && memcmp(s, "true", 4) == 0) ||
                              (len == 5 && memcmp(s, "false", 5) == 0) || is_json_number(s, len)))
            rc = buf_append(out, s, len);
        else {
            rc = buf_putc(out, '"');
            if (rc == 0) {
                json_escape(out, s, len);
                rc = buf_putc(out, '"');
            }
        }
        break;
    }
    case YAML_SEQUENCE_NODE: {
        rc = buf_putc(out, '[');
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             rc == 0 && it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start)
                rc = buf_putc(out, ',');
            if (rc == 0)
                rc = to_json(ld, yaml_document_get_node(ld->doc, *it), out, depth + 1);
        }
        if (rc == 0)
            rc = buf_putc(out, ']');
        break;
    }
    case YAML_MAPPING_NODE: {
        rc = buf_putc(out, '{');
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             rc == 0 && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
            if (k->type != YAML_SCALAR_NODE)
                return lerr(ld, k, ERR_FORMAT, "pattern: a key must be a string");
            if (p != n->data.mapping.pairs.start)
                rc = buf_putc(out, ',');
            size_t len;
            const char *s = scalar(k, &len);
            if (rc == 0)
                rc = buf_putc(out, '"');
            if (rc == 0) {
                json_escape(out, s, len);
                rc = buf_append(out, "\":", 2);
            }
            if (rc == 0)
                rc = to_json(ld, yaml_document_get_node(ld->doc, p->value), out, depth + 1);
        }
        if (rc == 0)
            rc = buf_putc(out, '}');
        break;
    }
    default:
        return lerr(ld, n, ERR_FORMAT, "pattern: empty node");
    }
    if (rc == ERR_LIMIT && !ld->reported)
        return lerr(ld, n, ERR_LIMIT, "pattern: longer than %u bytes", PATTERN_MAX);
    return rc;
}

/* A string or a sequence of strings. */
static int str_list(struct loader *ld, yaml_node_t *n, const char *field,
                    bool (*valid)(const char *, size_t), const char *what,
                    const char *const **out, size_t *n_out)
{
    yaml_node_t *one[1];
    yaml_node_t **items = one;
    size_t cnt = 0;
    yaml_node_t *tmp[LIST_MAX];
    if (n->type == YAML_SCALAR_NODE) {
        one[0] = n;
        cnt = 1;
    } else if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            if (cnt == LIST_MAX)
                return lerr(ld, n, ERR_LIMIT, "%s: more than %d entries", field, LIST_MAX);
            tmp[cnt++] = yaml_document_get_node(ld->doc, *it);
        }
        items = tmp;
    } else {
        return lerr(ld, n, ERR_FORMAT, "%s: expected a string or a list of strings", field);
    }
    const char **v = xcalloc(cnt ? cnt : 1, sizeof(*v));
    for (size_t i = 0; i < cnt; i++) {
        const char *s;
        size_t len;
        int rc = want_scalar(ld, items[i], field, 2048, &s, &len);
        if (rc == 0 && !valid(s, len))
            rc = lerr(ld, items[i], ERR_FORMAT, "%s: \"%.*s\" is not %s", field,
                      (int)(len > 80 ? 80 : len), s, what);
        if (rc != 0) {
            free_strlist(v, i);
            return rc;
        }
        v[i] = xstrndup(s, len);
    }
    *out = v;
    *n_out = cnt;
    return 0;
}

static bool valid_url(const char *s, size_t len)
{
    struct sv v = sv_make(s, len);
    if (!(sv_starts_with(v, SV("https://")) || sv_starts_with(v, SV("http://"))))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ')
            return false;
    return true;
}

static int parse_severity(struct loader *ld, yaml_node_t *n, double *out)
{
    const char *s = NULL;
    size_t len = 0;
    int rc = want_scalar(ld, n, "severity", 32, &s, &len);
    if (rc != 0)
        return rc;
    struct sv v = sv_make(s, len);
    if (sv_eq_nocase(v, SV("low"))) {
        *out = DETECT_SEV_LOW;
        return 0;
    }
    if (sv_eq_nocase(v, SV("medium"))) {
        *out = DETECT_SEV_MEDIUM;
        return 0;
    }
    if (sv_eq_nocase(v, SV("high"))) {
        *out = DETECT_SEV_HIGH;
        return 0;
    }
    char tmp[40];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end = NULL;
    double d = is_json_number(s, len) ? strtod(tmp, &end) : -1.0;
    if (!(d >= 1.0 && d <= 8.9))
        return lerr(ld, n, ERR_FORMAT,
                    "severity: \"%s\" is not a number from 1.0 to 8.9 nor low/medium/high", tmp);
    *out = d;
    return 0;
}

static int parse_bool(struct loader *ld, yaml_node_t *n, const char *field, bool *out)
{
    const char *s;
    size_t len;
    int rc = want_scalar(ld, n, field, 16, &s, &len);
    if (rc != 0)
        return rc;
    if (plain(n) && len == 4 && memcmp(s, "true", 4) == 0)
        *out = true;
    else if (plain(n) && len == 5 && memcmp(s, "false", 5) == 0)
        *out = false;
    else
        return lerr(ld, n, ERR_FORMAT, "%s: expected true or false", field);
    return 0;
}

static const char *const known_fields[] = {
    "id", "type", "severity", "title", "description", "source", "pattern", "check",
    "resource", "key", "mitre", "references", "enabled",
    /* stateful kinds */
    "kind", "where", "group_by", "window", "threshold", "sum", "distinct", "value", "when",
    "unusual", "learning", "then", "bucket", "baseline", "sigma", "quiet", "insight",
    "retention", NULL
};

#define N_FIELDS 31

const char *detect_kind_name(enum detect_kind k)
{
    switch (k) {
    case DETECT_KIND_MATCH: return "match";
    case DETECT_KIND_THRESHOLD: return "threshold";
    case DETECT_KIND_DISTINCT: return "distinct";
    case DETECT_KIND_NEW_VALUE: return "new_value";
    case DETECT_KIND_RATE: return "rate";
    case DETECT_KIND_SEQUENCE: return "sequence";
    }
    return "match";
}

bool detect_parse_duration(const char *s, int64_t *ms_out)
{
    int64_t v;
    if (!s || !detect__parse_duration(sv_cstr(s), &v) || v <= 0)
        return false;
    *ms_out = v;
    return true;
}

static bool kind_parse(struct sv s, enum detect_kind *out)
{
    for (int k = DETECT_KIND_MATCH; k <= DETECT_KIND_SEQUENCE; k++)
        if (sv_eq_cstr(s, detect_kind_name((enum detect_kind)k))) {
            *out = (enum detect_kind)k;
            return true;
        }
    return false;
}

/* "500ms", "30s", "10m", "1h", "7d". */
bool detect__parse_duration(struct sv s, int64_t *ms_out)
{
    size_t i = 0;
    int64_t v = 0;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9') {
        if (v > (INT64_MAX / 10 - 9))
            return false;
        v = v * 10 + (s.p[i] - '0');
        i++;
    }
    if (i == 0)
        return false;
    struct sv unit = sv_make(s.p + i, s.len - i);
    int64_t mul;
    if (sv_eq_cstr(unit, "ms"))
        mul = 1;
    else if (sv_eq_cstr(unit, "s"))
        mul = 1000;
    else if (sv_eq_cstr(unit, "m"))
        mul = 60 * 1000;
    else if (sv_eq_cstr(unit, "h"))
        mul = 3600 * 1000;
    else if (sv_eq_cstr(unit, "d"))
        mul = 86400 * 1000;
    else
        return false;
    /* A year is plenty; it keeps every later sum far from overflow. */
    if (v > (int64_t)366 * 86400 * 1000 / mul)
        return false;
    *ms_out = v * mul;
    return true;
}

static int field_index(const char *s, size_t len)
{
    for (int i = 0; known_fields[i]; i++)
        if (strlen(known_fields[i]) == len && memcmp(known_fields[i], s, len) == 0)
            return i;
    return -1;
}

/* Validates the pattern by compiling it alone, so the error names the rule
 * (the engine compiles all patterns together later). */
static int check_pattern(struct loader *ld, yaml_node_t *n, const char *text, size_t len)
{
    struct match_set *ms = match_set_new();
    struct err e;
    err_clear(&e);
    int rc = match_set_add(ms, text, len, 0, &e);
    match_set_free(ms);
    if (rc != 0)
        return lerr(ld, n, ERR_FORMAT, "invalid pattern: %s", e.msg);
    return 0;
}

/* A pattern written as a YAML mapping or as JSON text, validated; *out is
 * owned compact JSON. */
static int pattern_text(struct loader *ld, yaml_node_t *pn, const char *field, char **out)
{
    struct buf pb;
    buf_init(&pb, PATTERN_MAX);
    int rc;
    if (pn->type == YAML_SCALAR_NODE) {
        size_t len;
        const char *s = scalar(pn, &len);
        if (len > PATTERN_MAX)
            rc = lerr(ld, pn, ERR_LIMIT, "%s: longer than %u bytes", field, PATTERN_MAX);
        else
            rc = buf_append(&pb, s, len);
    } else if (pn->type == YAML_MAPPING_NODE) {
        ld->visits = 0;
        ld->reported = false;
        rc = to_json(ld, pn, &pb, 0);
    } else {
        rc = lerr(ld, pn, ERR_FORMAT, "%s: expected a mapping or a JSON string", field);
    }
    if (rc == 0)
        rc = check_pattern(ld, pn, pb.p ? pb.p : "", pb.len);
    if (rc != 0) {
        buf_free(&pb);
        return rc;
    }
    *out = buf_steal(&pb);
    return 0;
}

static bool any_text(const char *s, size_t len)
{
    (void)s;
    return len > 0;
}

/* A field reference: a record path, alternatives "a|b", or "$name" (a derived
 * field of the rule's source). */
static bool valid_ref(enum event_source src, const char *s, size_t len)
{
    if (len > 0 && s[0] == '$')
        return detect__derived_find(src, s + 1, len - 1) >= 0;
    const char *end = s + len;
    for (;;) {
        const char *bar = memchr(s, '|', (size_t)(end - s));
        const char *e = bar ? bar : end;
        if (!detect__valid_path(s, (size_t)(e - s)))
            return false;
        if (!bar)
            return true;
        s = bar + 1;
    }
}

static int ref_list(struct loader *ld, yaml_node_t *n, const char *field, enum event_source src,
                    const char *const **out, size_t *n_out)
{
    int rc = str_list(ld, n, field, any_text, "a field", out, n_out);
    for (size_t i = 0; rc == 0 && i < *n_out; i++)
        if (!valid_ref(src, (*out)[i], strlen((*out)[i])))
            rc = lerr(ld, n, ERR_FORMAT,
                      "%s: \"%.80s\" is not a field path nor a derived field of %s "
                      "(docs/rules.md)", field, (*out)[i], detect__source_name(src));
    return rc;
}

static int one_ref(struct loader *ld, yaml_node_t *n, const char *field, enum event_source src,
                   const char **out)
{
    const char *s;
    size_t len;
    int rc = want_scalar(ld, n, field, 256, &s, &len);
    if (rc == 0 && !valid_ref(src, s, len))
        rc = lerr(ld, n, ERR_FORMAT,
                  "%s: \"%.*s\" is not a field path nor a derived field of %s (docs/rules.md)",
                  field, (int)(len > 80 ? 80 : len), s, detect__source_name(src));
    if (rc == 0)
        *out = xstrndup(s, len);
    return rc;
}

static int parse_duration(struct loader *ld, yaml_node_t *n, const char *field, int64_t *out)
{
    const char *s;
    size_t len;
    int rc = want_scalar(ld, n, field, 32, &s, &len);
    if (rc == 0 && (!detect__parse_duration(sv_make(s, len), out) || *out <= 0))
        rc = lerr(ld, n, ERR_FORMAT,
                  "%s: \"%.*s\" is not a duration like 90s, 10m, 1h or 7d (at most a year)",
                  field, (int)len, s);
    return rc;
}

static int parse_num(struct loader *ld, yaml_node_t *n, const char *field, double lo, double hi,
                     double *out)
{
    const char *s;
    size_t len;
    int rc = want_scalar(ld, n, field, 32, &s, &len);
    if (rc != 0)
        return rc;
    char tmp[40];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    double d = is_json_number(s, len) ? strtod(tmp, NULL) : -1e300;
    if (!(d >= lo && d <= hi))
        return lerr(ld, n, ERR_FORMAT, "%s: \"%s\" is not a number from %g to %g", field, tmp,
                    lo, hi);
    *out = d;
    return 0;
}

/* Top-level fields of the flow log formats and of Resolver query logs: a
 * `where` key is one of these, a CloudTrail path, or a derived field, so a
 * misspelt derived field is an error rather than a filter that never holds. */
static const char *const flow_fields[] = {
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id",
    "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id",
    "sublocation-type", "sublocation-id", "pkt-src-aws-service", "pkt-dst-aws-service",
    "flow-direction", "traffic-path", "reject-reason", NULL
};
static const char *const dns_fields[] = {
    "version", "account_id", "region", "vpc_id", "query_timestamp", "query_name", "query_type",
    "query_class", "rcode", "answers", "srcaddr", "srcport", "transport", "srcids",
    "firewall_rule_action", "firewall_rule_group_id", "firewall_domain_list_id", NULL
};

/* S3 server access log fields, by the names input/weblog.c gives them. */
static const char *const s3access_fields[] = {
    "bucketowner", "bucket_name", "requestdatetime", "remoteip", "requester", "requestid",
    "operation", "key", "request_uri", "httpstatus", "errorcode", "bytessent", "objectsize",
    "totaltime", "turnaroundtime", "referrer", "useragent", "versionid", "hostid", "sigv",
    "ciphersuite", "authtype", "endpoint", "tlsversion", "accesspointarn", "aclrequired", NULL
};

static bool in_list(const char *const *l, const char *s, size_t len)
{
    for (size_t i = 0; l[i]; i++)
        if (strlen(l[i]) == len && memcmp(l[i], s, len) == 0)
            return true;
    return false;
}

static bool where_key_ok(enum event_source src, const char *s, size_t len)
{
    if (detect__derived_find(src, s, len) >= 0)
        return true;
    const char *dot = memchr(s, '.', len);
    size_t first = dot ? (size_t)(dot - s) : len;
    switch (src) {
    case EVENT_VPCFLOW: return in_list(flow_fields, s, first) || sv_starts_with(sv_make(s, first), SV("ecs-"));
    case EVENT_DNS: return in_list(dns_fields, s, first);
    case EVENT_S3ACCESS: return in_list(s3access_fields, s, first);
    default: return memchr(s, '_', first) == NULL; /* CloudTrail names are camelCase */
    }
}

static int check_where_keys(struct loader *ld, yaml_node_t *n, enum event_source src)
{
    if (n->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        size_t len;
        const char *s = scalar(k, &len);
        if (len == 3 && memcmp(s, "$or", 3) == 0) {
            yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
            if (v->type == YAML_SEQUENCE_NODE)
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                    int rc = check_where_keys(ld, yaml_document_get_node(ld->doc, *it), src);
                    if (rc != 0)
                        return rc;
                }
            continue;
        }
        if (!where_key_ok(src, s, len))
            return lerr(ld, k, ERR_FORMAT,
                        "where: \"%.*s\" is neither a field of %s records nor one of its derived "
                        "fields", (int)(len > 64 ? 64 : len), s, detect__source_name(src));
    }
    return 0;
}

/* The stateful fields: which a kind needs, which it accepts, defaults. f is
 * indexed like known_fields. */
static int parse_stateful(struct loader *ld, yaml_node_t *root, yaml_node_t **f,
                          struct rule_int *r)
{
    enum { F_KIND = 13 };
    struct detect_rule *p = &r->pub;
    int rc = 0;
    if (f[F_KIND]) {
        const char *s;
        size_t len;
        if ((rc = want_scalar(ld, f[F_KIND], "kind", 32, &s, &len)) != 0)
            return rc;
        if (!kind_parse(sv_make(s, len), &p->kind))
            return lerr(ld, f[F_KIND], ERR_FORMAT,
                        "kind \"%.*s\" is not match, threshold, distinct, new_value, rate or "
                        "sequence", (int)len, s);
    }
    /* Which fields each kind takes (bit per field index from F_KIND + 1). */
    enum { K_WHERE = 14, K_GROUP, K_WINDOW, K_THRESHOLD, K_SUM, K_DISTINCT, K_VALUE, K_WHEN,
           K_UNUSUAL, K_LEARNING, K_THEN, K_BUCKET, K_BASELINE, K_SIGMA, K_QUIET, K_INSIGHT,
           K_RETENTION };
#define B(x) (1u << ((x) - K_WHERE))
    static const unsigned takes[] = {
        [DETECT_KIND_MATCH] = 0,
        [DETECT_KIND_THRESHOLD] = B(K_WHERE) | B(K_GROUP) | B(K_WINDOW) | B(K_THRESHOLD) | B(K_SUM),
        [DETECT_KIND_DISTINCT] = B(K_WHERE) | B(K_GROUP) | B(K_WINDOW) | B(K_THRESHOLD) |
                                 B(K_DISTINCT),
        [DETECT_KIND_NEW_VALUE] = B(K_WHERE) | B(K_GROUP) | B(K_VALUE) | B(K_WHEN) | B(K_UNUSUAL) |
                                  B(K_LEARNING) | B(K_RETENTION),
        [DETECT_KIND_RATE] = B(K_WHERE) | B(K_GROUP) | B(K_THRESHOLD) | B(K_SUM) | B(K_LEARNING) |
                             B(K_BUCKET) | B(K_BASELINE) | B(K_SIGMA) | B(K_QUIET) | B(K_INSIGHT),
        [DETECT_KIND_SEQUENCE] = B(K_WHERE) | B(K_GROUP) | B(K_WINDOW) | B(K_THEN),
    };
    static const unsigned needs[] = {
        [DETECT_KIND_MATCH] = 0,
        [DETECT_KIND_THRESHOLD] = B(K_WINDOW) | B(K_THRESHOLD),
        [DETECT_KIND_DISTINCT] = B(K_WINDOW) | B(K_THRESHOLD) | B(K_DISTINCT),
        [DETECT_KIND_NEW_VALUE] = B(K_VALUE),
        [DETECT_KIND_RATE] = 0,
        [DETECT_KIND_SEQUENCE] = B(K_WINDOW) | B(K_THEN),
    };
    for (int i = K_WHERE; i <= K_RETENTION; i++) {
        bool given = f[i] != NULL, ok = (takes[p->kind] & B(i)) != 0;
        if (given && !ok)
            return lerr(ld, f[i], ERR_FORMAT, "field \"%s\" does not apply to kind %s",
                        known_fields[i], detect_kind_name(p->kind));
        if (!given && (needs[p->kind] & B(i)))
            return lerr(ld, root, ERR_FORMAT, "kind %s needs field \"%s\"",
                        detect_kind_name(p->kind), known_fields[i]);
    }
#undef B
    if (p->kind == DETECT_KIND_MATCH) {
        if (p->key && (p->key[0] == '$' || strchr(p->key, '|')))
            return lerr(ld, root, ERR_FORMAT, "key: derived fields and alternatives need a "
                                              "stateful kind");
        return 0;
    }
    enum event_source src = p->source;
    if (f[K_WHERE]) {
        if ((rc = check_where_keys(ld, f[K_WHERE], src)) != 0 ||
            (rc = pattern_text(ld, f[K_WHERE], "where", (char **)&p->where)) != 0)
            return rc;
    }
    if (f[K_GROUP] && (rc = ref_list(ld, f[K_GROUP], "group_by", src, &p->group_by,
                                     &p->n_group_by)) != 0)
        return rc;
    if (f[K_WINDOW] && (rc = parse_duration(ld, f[K_WINDOW], "window", &p->window_ms)) != 0)
        return rc;
    p->threshold = p->kind == DETECT_KIND_RATE ? 10 : 0;
    if (f[K_THRESHOLD] && (rc = parse_num(ld, f[K_THRESHOLD], "threshold",
                                          p->kind == DETECT_KIND_DISTINCT ? 2 : 1,
                                          p->kind == DETECT_KIND_DISTINCT ? 10000 : 1e15,
                                          &p->threshold)) != 0)
        return rc;
    if (p->kind == DETECT_KIND_DISTINCT && p->threshold != (double)(int)p->threshold)
        return lerr(ld, f[K_THRESHOLD], ERR_FORMAT, "threshold: a whole number of values");
    if (f[K_SUM] && (rc = one_ref(ld, f[K_SUM], "sum", src, &p->sum)) != 0)
        return rc;
    if (f[K_DISTINCT] && (rc = one_ref(ld, f[K_DISTINCT], "distinct", src, &p->distinct)) != 0)
        return rc;
    if (f[K_VALUE] && (rc = ref_list(ld, f[K_VALUE], "value", src, &p->value, &p->n_value)) != 0)
        return rc;
    if (f[K_WHEN] && ((rc = check_where_keys(ld, f[K_WHEN], src)) != 0 ||
                      (rc = pattern_text(ld, f[K_WHEN], "when", (char **)&p->when)) != 0))
        return rc;
    if (f[K_UNUSUAL] &&
        (rc = ref_list(ld, f[K_UNUSUAL], "unusual", src, &p->unusual, &p->n_unusual)) != 0)
        return rc;
    if (p->n_unusual > 8)
        return lerr(ld, f[K_UNUSUAL], ERR_LIMIT, "unusual: at most 8 fields");
    if (f[K_LEARNING] &&
        (rc = parse_duration(ld, f[K_LEARNING], "learning", &p->learning_ms)) != 0)
        return rc;
    if (f[K_THEN]) {
        yaml_node_t *tn = f[K_THEN];
        if (tn->type != YAML_SEQUENCE_NODE)
            return lerr(ld, tn, ERR_FORMAT, "then: expected a list of patterns");
        size_t cnt = (size_t)(tn->data.sequence.items.top - tn->data.sequence.items.start);
        if (cnt == 0 || cnt > 7)
            return lerr(ld, tn, ERR_FORMAT, "then: 1 to 7 steps");
        const char **v = xcalloc(cnt, sizeof(*v));
        p->then = v;
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *it = yaml_document_get_node(ld->doc, tn->data.sequence.items.start[i]);
            if ((rc = pattern_text(ld, it, "then", (char **)&v[i])) != 0)
                return rc;
            p->n_then = i + 1;
        }
    }
    p->bucket_ms = 60 * 1000;
    p->baseline_ms = 7LL * 86400 * 1000;
    p->sigma = 6;
    p->quiet = 5;
    if (p->kind == DETECT_KIND_RATE) {
        if (f[K_BUCKET] && (rc = parse_duration(ld, f[K_BUCKET], "bucket", &p->bucket_ms)) != 0)
            return rc;
        if (f[K_BASELINE] &&
            (rc = parse_duration(ld, f[K_BASELINE], "baseline", &p->baseline_ms)) != 0)
            return rc;
        if (p->baseline_ms < 2 * p->bucket_ms || p->baseline_ms / p->bucket_ms > 100000)
            return lerr(ld, f[K_BASELINE] ? f[K_BASELINE] : root, ERR_FORMAT,
                        "baseline: from 2 to 100000 buckets");
        if (!f[K_LEARNING])
            p->learning_ms = p->baseline_ms;
        if (f[K_SIGMA] && (rc = parse_num(ld, f[K_SIGMA], "sigma", 0.5, 100, &p->sigma)) != 0)
            return rc;
        double q = 0;
        if (f[K_QUIET] && (rc = parse_num(ld, f[K_QUIET], "quiet", 1, 1000, &q)) != 0)
            return rc;
        if (f[K_QUIET])
            p->quiet = (unsigned)q;
        if (f[K_INSIGHT]) {
            const char *s;
            size_t len;
            if ((rc = want_scalar(ld, f[K_INSIGHT], "insight", 64, &s, &len)) != 0)
                return rc;
            if (len == 18 && memcmp(s, "ApiCallRateInsight", 18) == 0)
                p->insight = DETECT_INSIGHT_CALL_RATE;
            else if (len == 19 && memcmp(s, "ApiErrorRateInsight", 19) == 0)
                p->insight = DETECT_INSIGHT_ERROR_RATE;
            else
                return lerr(ld, f[K_INSIGHT], ERR_FORMAT,
                            "insight: ApiCallRateInsight or ApiErrorRateInsight");
            if (p->source != EVENT_CLOUDTRAIL)
                return lerr(ld, f[K_INSIGHT], ERR_FORMAT, "insight: CloudTrail rules only");
        }
    }
    /* Per-key history of new_value rules lasts this long without a sighting
     * (docs/rules.md "Bounded baselines"). */
    p->retention_ms = p->kind == DETECT_KIND_NEW_VALUE ? DETECT_RETENTION_DEFAULT_MS : 0;
    if (f[K_RETENTION]) {
        if ((rc = parse_duration(ld, f[K_RETENTION], "retention", &p->retention_ms)) != 0)
            return rc;
        if (p->retention_ms < 3600LL * 1000)
            return lerr(ld, f[K_RETENTION], ERR_FORMAT, "retention: at least 1h");
    }
    return 0;
}

static int parse_rule(struct loader *ld, yaml_node_t *root, struct rule_int **out)
{
    if (root->type != YAML_MAPPING_NODE)
        return lerr(ld, root, ERR_FORMAT, "a rule must be a mapping of fields");
    yaml_node_t *f[N_FIELDS] = { 0 };
    ld->rule_id = NULL;
    /* Name the rule in every message, even for fields that come before id. */
    char idbuf[129];
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == 2 &&
            memcmp(k->data.scalar.value, "id", 2) == 0 && v->type == YAML_SCALAR_NODE &&
            valid_id((const char *)v->data.scalar.value, v->data.scalar.length)) {
            memcpy(idbuf, v->data.scalar.value, v->data.scalar.length);
            idbuf[v->data.scalar.length] = '\0';
            ld->rule_id = idbuf;
        }
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        if (k->type != YAML_SCALAR_NODE)
            return lerr(ld, k, ERR_FORMAT, "field names must be strings");
        size_t len;
        const char *s = scalar(k, &len);
        int i = field_index(s, len);
        if (i < 0)
            return lerr(ld, k, ERR_FORMAT, "unknown field \"%.*s\"", (int)(len > 64 ? 64 : len), s);
        if (f[i])
            return lerr(ld, k, ERR_FORMAT, "field \"%s\" given twice", known_fields[i]);
        f[i] = yaml_document_get_node(ld->doc, p->value);
    }
    enum { F_ID, F_TYPE, F_SEV, F_TITLE, F_DESC, F_SOURCE, F_PATTERN, F_CHECK, F_RES, F_KEY,
           F_MITRE, F_REFS, F_ENABLED, F_KIND, F_WHERE, F_GROUP_BY, F_WINDOW, F_THRESHOLD, F_SUM,
           F_DISTINCT, F_VALUE, F_WHEN, F_UNUSUAL, F_LEARNING, F_THEN, F_BUCKET, F_BASELINE,
           F_SIGMA, F_QUIET };
    const char *s = NULL;
    size_t len = 0;
    int rc;
    if (!f[F_ID])
        return lerr(ld, root, ERR_FORMAT, "missing field \"id\"");
    if ((rc = want_scalar(ld, f[F_ID], "id", 128, &s, &len)) != 0)
        return rc;
    if (!valid_id(s, len))
        return lerr(ld, f[F_ID], ERR_FORMAT, "id \"%.*s\" must be letters, digits, '.', '_', '-'",
                    (int)len, s);
    struct rule_int *r = xcalloc(1, sizeof(*r));
    r->pub.id = xstrndup(s, len);
    r->pub.enabled = true;
    r->pub.file = xstrdup(ld->file);
    r->pub.line = node_line(root);
    ld->rule_id = r->pub.id;
    static const char *const required[] = { "type", "severity", "title", "source", "pattern" };
    static const int req_idx[] = { F_TYPE, F_SEV, F_TITLE, F_SOURCE, F_PATTERN };
    /* A stateful rule may leave the pattern out and select with `where`. */
    bool stateful = f[F_KIND] && f[F_KIND]->type == YAML_SCALAR_NODE &&
                    !(f[F_KIND]->data.scalar.length == 5 &&
                      memcmp(f[F_KIND]->data.scalar.value, "match", 5) == 0);
    for (size_t i = 0; i < 5; i++)
        if (!f[req_idx[i]] && !(req_idx[i] == F_PATTERN && stateful)) {
            rc = lerr(ld, root, ERR_FORMAT, "missing field \"%s\"", required[i]);
            goto fail;
        }

    if ((rc = want_scalar(ld, f[F_TYPE], "type", 200, &s, &len)) != 0)
        goto fail;
    if (!valid_type(s, len)) {
        rc = lerr(ld, f[F_TYPE], ERR_FORMAT,
                  "type \"%.*s\" is not ThreatPurpose:ResourceType/ThreatName", (int)len, s);
        goto fail;
    }
    r->pub.type = xstrndup(s, len);

    if ((rc = parse_severity(ld, f[F_SEV], &r->pub.severity)) != 0)
        goto fail;

    if ((rc = want_scalar(ld, f[F_TITLE], "title", TITLE_MAX, &s, &len)) != 0)
        goto fail;
    if (len == 0) {
        rc = lerr(ld, f[F_TITLE], ERR_FORMAT, "title is empty");
        goto fail;
    }
    r->pub.title = xstrndup(s, len);
    if (f[F_DESC]) {
        if ((rc = want_scalar(ld, f[F_DESC], "description", DESC_MAX, &s, &len)) != 0)
            goto fail;
        r->pub.description = xstrndup(s, len);
    } else {
        r->pub.description = xstrdup(r->pub.title);
    }
    struct err te;
    err_clear(&te);
    if (detect__tmpl_compile(r->pub.title, &r->title_t, &te) != 0) {
        rc = lerr(ld, f[F_TITLE], ERR_FORMAT, "title: %s", te.msg);
        goto fail;
    }
    if (detect__tmpl_compile(r->pub.description, &r->desc_t, &te) != 0) {
        rc = lerr(ld, f[F_DESC] ? f[F_DESC] : f[F_TITLE], ERR_FORMAT, "description: %s", te.msg);
        goto fail;
    }

    if ((rc = want_scalar(ld, f[F_SOURCE], "source", 32, &s, &len)) != 0)
        goto fail;
    if (!source_parse(sv_make(s, len), &r->pub.source)) {
        rc = lerr(ld, f[F_SOURCE], ERR_FORMAT,
                  "source \"%.*s\" is not cloudtrail, vpcflow or dns", (int)len, s);
        goto fail;
    }
    r->pub.resource = r->pub.source == EVENT_CLOUDTRAIL ? DETECT_RES_ACCESS_KEY
                                                         : DETECT_RES_INSTANCE;

    if (f[F_PATTERN] &&
        (rc = pattern_text(ld, f[F_PATTERN], "pattern", (char **)&r->pub.pattern)) != 0)
        goto fail;

    if (f[F_CHECK]) {
        if ((rc = want_scalar(ld, f[F_CHECK], "check", 64, &s, &len)) != 0)
            goto fail;
        r->chk = detect__check_find(s, len);
        if (!r->chk) {
            rc = lerr(ld, f[F_CHECK], ERR_FORMAT, "unknown check \"%.*s\"", (int)len, s);
            goto fail;
        }
        r->pub.check = xstrndup(s, len);
    }
    if (f[F_RES]) {
        if ((rc = want_scalar(ld, f[F_RES], "resource", 32, &s, &len)) != 0)
            goto fail;
        if (!detect_resource_parse(sv_make(s, len), &r->pub.resource)) {
            rc = lerr(ld, f[F_RES], ERR_FORMAT,
                      "resource \"%.*s\" is not AccessKey, Instance or S3Bucket", (int)len, s);
            goto fail;
        }
    }
    if (f[F_KEY]) {
        if ((rc = want_scalar(ld, f[F_KEY], "key", 256, &s, &len)) != 0)
            goto fail;
        if (!valid_ref(r->pub.source, s, len)) {
            rc = lerr(ld, f[F_KEY], ERR_FORMAT, "key \"%.*s\" is not a dotted field path",
                      (int)len, s);
            goto fail;
        }
        r->pub.key = xstrndup(s, len);
    }
    if (f[F_MITRE] && (rc = str_list(ld, f[F_MITRE], "mitre", valid_mitre,
                                     "an ATT&CK technique id (T1234 or T1234.001)",
                                     &r->pub.mitre, &r->pub.n_mitre)) != 0)
        goto fail;
    if (f[F_REFS] && (rc = str_list(ld, f[F_REFS], "references", valid_url, "an http(s) URL",
                                    &r->pub.references, &r->pub.n_references)) != 0)
        goto fail;
    if (f[F_ENABLED] && (rc = parse_bool(ld, f[F_ENABLED], "enabled", &r->pub.enabled)) != 0)
        goto fail;
    if ((rc = parse_stateful(ld, root, f, r)) != 0)
        goto fail;
    *out = r;
    return 0;
fail:
    ld->rule_id = NULL;
    rule_free(r);
    return rc;
}

static bool empty_doc(const yaml_node_t *root)
{
    return root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 && plain(root);
}

int detect_rules_load_text(struct detect_rules *rs, const char *name, const char *text,
                           size_t len, struct err *err)
{
    if (len > RULE_FILE_MAX) {
        err_set(err, ERR_LIMIT, "rule file larger than %u bytes", RULE_FILE_MAX);
        err_where(err, name, 0, 0);
        return ERR_LIMIT;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        abort(); /* only fails on OOM */
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    struct loader ld = { .file = name, .err = err };
    struct rule_int **fresh = NULL;
    size_t n_fresh = 0, cap_fresh = 0;
    struct hmap seen;
    hmap_init(&seen);
    int rc = 0;
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            err_set(err, ERR_FORMAT, "line %zu, column %zu: %s%s%s",
                    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "invalid YAML",
                    parser.context ? " " : "", parser.context ? parser.context : "");
            err_where(err, name, 0, 0);
            rc = ERR_FORMAT;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) {
            yaml_document_delete(&doc);
            break; /* end of stream */
        }
        if (!empty_doc(root)) {
            ld.doc = &doc;
            struct rule_int *r = NULL;
            rc = parse_rule(&ld, root, &r);
            if (rc == 0) {
                size_t idlen = strlen(r->pub.id);
                if (hmap_get(&seen, r->pub.id, idlen) || hmap_get(&rs->ids, r->pub.id, idlen)) {
                    rc = lerr(&ld, root, ERR_FORMAT, "duplicate rule id");
                    rule_free(r);
                } else if (rs->n + n_fresh >= RULES_MAX) {
                    rc = lerr(&ld, root, ERR_LIMIT, "more than %d rules", RULES_MAX);
                    rule_free(r);
                } else {
                    hmap_put(&seen, r->pub.id, idlen, (void *)1);
                    if (n_fresh == cap_fresh) {
                        cap_fresh = cap_fresh ? cap_fresh * 2 : 16;
                        fresh = xrealloc(fresh, cap_fresh * sizeof(*fresh));
                    }
                    fresh[n_fresh++] = r;
                }
            }
        }
        yaml_document_delete(&doc);
        if (rc != 0)
            break;
    }
    yaml_parser_delete(&parser);
    hmap_free(&seen);
    if (rc != 0) {
        for (size_t i = 0; i < n_fresh; i++)
            rule_free(fresh[i]);
        free(fresh);
        return rc;
    }
    if (rs->n + n_fresh > rs->cap) {
        rs->cap = rs->n + n_fresh + 16;
        rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
    }
    for (size_t i = 0; i < n_fresh; i++) {
        rs->v[rs->n] = fresh[i];
        hmap_put(&rs->ids, fresh[i]->pub.id, strlen(fresh[i]->pub.id),
                 (void *)(uintptr_t)(rs->n + 1));
        rs->n++;
    }
    free(fresh);
    return 0;
}

static int read_file(const char *path, struct buf *out, struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
        err_where(err, path, 0, 0);
        return ERR_IO;
    }
    char chunk[16384];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(out, chunk, got) != 0) {
            rc = err_set(err, ERR_LIMIT, "rule file larger than %u bytes", RULE_FILE_MAX);
            err_where(err, path, 0, 0);
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = err_set(err, ERR_IO, "read error: %s", strerror(errno));
        err_where(err, path, 0, 0);
    }
    fclose(f);
    return rc;
}

static int load_file(struct detect_rules *rs, const char *path, struct err *err)
{
    struct buf b;
    buf_init(&b, RULE_FILE_MAX);
    int rc = read_file(path, &b, err);
    if (rc == 0)
        rc = detect_rules_load_text(rs, path, b.p ? b.p : "", b.len, err);
    buf_free(&b);
    return rc;
}

static bool rule_file_name(const char *n)
{
    struct sv s = sv_cstr(n);
    return n[0] != '.' && (sv_ends_with(s, SV(".yaml")) || sv_ends_with(s, SV(".yml")));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int detect_rules_load(struct detect_rules *rs, const char *path, struct err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
        err_where(err, path, 0, 0);
        return ERR_IO;
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(rs, path, err);
    DIR *d = opendir(path);
    if (!d) {
        err_set(err, ERR_IO, "cannot open directory: %s", strerror(errno));
        err_where(err, path, 0, 0);
        return ERR_IO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!rule_file_name(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    int rc = 0;
    struct buf p;
    buf_init(&p, 4096);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            buf_reset(&p);
            if (buf_printf(&p, "%s/%s", path, names[i]) != 0) {
                rc = err_set(err, ERR_LIMIT, "path too long");
                err_where(err, path, 0, 0);
            } else {
                rc = load_file(rs, p.p, err);
            }
        }
        free(names[i]);
    }
    buf_free(&p);
    free(names);
    return rc;
}

/* ---- where the built-in pack lives ------------------------------------------- */

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int detect_rules_builtin_dir(const char *exe_path, char *out, size_t cap, struct err *err)
{
    char dir[4096];
    dir[0] = '\0';
    if (exe_path) {
        char *real = realpath(exe_path, NULL);
        const char *src = real ? real : exe_path;
        const char *slash = strrchr(src, '/');
        size_t dl = slash ? (size_t)(slash - src) : 0;
        if (!slash) {
            dir[0] = '.';
            dir[1] = '\0';
        } else if (dl < sizeof(dir)) {
            memcpy(dir, src, dl);
            dir[dl] = '\0';
            if (dl == 0) {
                dir[0] = '/';
                dir[1] = '\0';
            }
        }
        free(real);
    }
    const char *suffixes[] = { "/../rules", "/rules", "/../share/vigil/rules" };
    char cand[4200];
    if (dir[0]) {
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
            snprintf(cand, sizeof(cand), "%s%s", dir, suffixes[i]);
            if (is_dir(cand))
                goto found;
        }
    }
    snprintf(cand, sizeof(cand), "%s", VIGIL_RULES_INSTALL_DIR);
    if (is_dir(cand))
        goto found;
    return err_set(err, ERR_NOTFOUND,
                   "built-in rules not found next to %s nor in %s (use --rules DIR)",
                   exe_path ? exe_path : "the binary", VIGIL_RULES_INSTALL_DIR);
found:;
    char *real = realpath(cand, NULL);
    const char *res = real ? real : cand;
    size_t len = strlen(res);
    if (len + 1 > cap) {
        free(real);
        return err_set(err, ERR_LIMIT, "rules directory path too long");
    }
    memcpy(out, res, len + 1);
    free(real);
    return 0;
}
