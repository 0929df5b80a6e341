/*
 * Suppression rules: GuardDuty filters (FindingCriteria) with action ARCHIVE.
 *
 * A filter is evaluated against the finding as GuardDuty shows it: the
 * finding is rendered to its GuardDuty JSON and flattened (arrays add no path
 * segment), so any field a user sees in the output is a field a rule can
 * name, with the same path. Findings are few after aggregation; rendering
 * each once per evaluation is cheaper than keeping a second field map in step
 * with the writer.
 *
 * Files are JSON or YAML; YAML documents are converted to JSON text (YAML 1.2
 * core schema for plain scalars, as the rule loader does) and then read by
 * the same code.
 */
#include "finding/finding_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define FILTER_FILE_MAX (1u << 20)
#define FILTER_FIELDS_MAX 50 /* GuardDuty: 1-50 attributes per filter */
#define FILTER_VALUES_MAX 50 /* GuardDuty: up to 50 values per Eq/Neq */
#define FILTERS_MAX 10000

enum op { OP_EQ = 0, OP_NEQ, OP_GT, OP_GTE, OP_LT, OP_LTE };

struct cond {
    char *field;
    enum op op;
    char **vals; /* OP_EQ / OP_NEQ */
    size_t n_vals;
    double num; /* the others */
};

struct filter {
    char *name;
    bool archive;
    struct cond *conds;
    size_t n_conds;
};

struct finding_filters {
    struct filter *v;
    size_t n, cap;
    size_t n_noop;
};

static const struct {
    const char *name;
    enum op op;
} OPS[] = {
    { "Eq", OP_EQ },          { "Equals", OP_EQ },
    { "Neq", OP_NEQ },        { "NotEquals", OP_NEQ },
    { "Gt", OP_GT },          { "GreaterThan", OP_GT },
    { "Gte", OP_GTE },        { "GreaterThanOrEqual", OP_GTE },
    { "Lt", OP_LT },          { "LessThan", OP_LT },
    { "Lte", OP_LTE },        { "LessThanOrEqual", OP_LTE },
};

struct finding_filters *finding_filters_new(void) { return xcalloc(1, sizeof(struct finding_filters)); }

static void filter_free(struct filter *f)
{
    for (size_t i = 0; i < f->n_conds; i++) {
        struct cond *c = &f->conds[i];
        for (size_t k = 0; k < c->n_vals; k++)
            free(c->vals[k]);
        free(c->vals);
        free(c->field);
    }
    free(f->conds);
    free(f->name);
}

void finding_filters_free(struct finding_filters *fs)
{
    if (fs == NULL)
        return;
    for (size_t i = 0; i < fs->n; i++)
        filter_free(&fs->v[i]);
    free(fs->v);
    free(fs);
}

size_t finding_filters_count(const struct finding_filters *fs)
{
    size_t n = 0;
    for (size_t i = 0; fs && i < fs->n; i++)
        n += fs->v[i].archive;
    return n;
}

size_t finding_filters_noop(const struct finding_filters *fs) { return fs ? fs->n_noop : 0; }

/* ---- numbers and times -------------------------------------------------------- */

/* A decimal number filling all of s[0..len). */
static bool parse_num(const char *s, size_t len, double *out)
{
    char tmp[64], *end;
    if (len == 0 || len >= sizeof(tmp))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + len || errno != 0 || tmp[0] == ' ')
        return false;
    *out = v;
    return true;
}

/* A leaf as a number: numbers as they are, numeric strings ("asn": "16509"),
 * and ISO 8601 times as epoch milliseconds, which is how GuardDuty's
 * criteria compare updatedAt and the other timestamps. */
static bool leaf_num(const struct json_leaf *l, struct arena *a, double *out)
{
    if (l->type == JSON_NUMBER)
        return parse_num(l->val, l->val_len, out);
    if (l->type != JSON_STRING)
        return false;
    struct sv s = json_leaf_str(l, a);
    int64_t ms;
    if (parse_num(s.p, s.len, out))
        return true;
    if (s.len >= 10 && time_parse_iso8601(s, &ms)) {
        *out = (double)ms;
        return true;
    }
    return false;
}

/* ---- loading -------------------------------------------------------------------- */

struct loader {
    struct finding_filters *fs;
    const char *name;
    struct err *err;
    struct filter *added; /* filters of this file, moved into fs at the end */
    size_t n_added, cap_added;
};

static int value_text(const struct json_value *v, char **out)
{
    switch (v->type) {
    case JSON_STRING:
        *out = xstrndup(v->str, v->len);
        return 0;
    case JSON_NUMBER:
        *out = xstrndup(v->str, v->len);
        return 0;
    case JSON_TRUE:
        *out = xstrdup("true");
        return 0;
    case JSON_FALSE:
        *out = xstrdup("false");
        return 0;
    default:
        return ERR_FORMAT;
    }
}

static int add_field(struct loader *ld, struct filter *f, const struct json_value *field)
{
    const char *fname = field->key;
    if (field->key_len == 0)
        return err_set(ld->err, ERR_FORMAT, "filter \"%s\": empty field name", f->name);
    if (field->type != JSON_OBJECT || field->n == 0)
        return err_set(ld->err, ERR_FORMAT,
                       "filter \"%s\": field \"%s\": a condition is an object of operators "
                       "(Eq, Neq, Gt, Gte, Lt, Lte or their long names)",
                       f->name, fname);
    for (size_t i = 0; i < field->n; i++) {
        const struct json_value *o = &field->items[i];
        size_t k = 0;
        while (k < sizeof(OPS) / sizeof(OPS[0]) && strcmp(OPS[k].name, o->key) != 0)
            k++;
        if (k == sizeof(OPS) / sizeof(OPS[0]))
            return err_set(ld->err, ERR_FORMAT, "filter \"%s\": field \"%s\": unknown operator \"%s\"",
                           f->name, fname, o->key);
        struct cond c = { 0 };
        c.op = OPS[k].op;
        if (c.op == OP_EQ || c.op == OP_NEQ) {
            if (o->type != JSON_ARRAY || o->n == 0)
                return err_set(ld->err, ERR_FORMAT,
                               "filter \"%s\": field \"%s\": %s takes a non-empty list of values",
                               f->name, fname, o->key);
            if (o->n > FILTER_VALUES_MAX)
                return err_set(ld->err, ERR_LIMIT,
                               "filter \"%s\": field \"%s\": %zu values, GuardDuty allows %d",
                               f->name, fname, o->n, FILTER_VALUES_MAX);
            c.vals = xcalloc(o->n, sizeof(*c.vals));
            for (size_t j = 0; j < o->n; j++) {
                if (value_text(&o->items[j], &c.vals[j]) != 0) {
                    for (size_t q = 0; q < j; q++)
                        free(c.vals[q]);
                    free(c.vals);
                    return err_set(ld->err, ERR_FORMAT,
                                   "filter \"%s\": field \"%s\": %s values are strings", f->name,
                                   fname, o->key);
                }
            }
            c.n_vals = o->n;
        } else {
            bool ok = o->type == JSON_NUMBER && parse_num(o->str, o->len, &c.num);
            int64_t ms;
            if (!ok && o->type == JSON_STRING) {
                ok = parse_num(o->str, o->len, &c.num);
                if (!ok && time_parse_iso8601(sv_make(o->str, o->len), &ms)) {
                    c.num = (double)ms;
                    ok = true;
                }
            }
            if (!ok)
                return err_set(ld->err, ERR_FORMAT,
                               "filter \"%s\": field \"%s\": %s takes a number (epoch milliseconds "
                               "for times)",
                               f->name, fname, o->key);
        }
        c.field = xstrndup(fname, field->key_len);
        f->conds = xrealloc(f->conds, (f->n_conds + 1) * sizeof(*f->conds));
        f->conds[f->n_conds++] = c;
    }
    return 0;
}

static int add_filter(struct loader *ld, const struct json_value *v)
{
    if (v->type != JSON_OBJECT)
        return err_set(ld->err, ERR_FORMAT, "a filter is an object with a Criterion");
    const struct json_value *crit = json_get(v, "Criterion");
    const struct json_value *name = json_get(v, "Name");
    const struct json_value *action = json_get(v, "Action");
    const struct json_value *fc = json_get(v, "FindingCriteria");
    if (crit == NULL && fc != NULL)
        crit = json_get(fc, "Criterion");
    if (crit == NULL)
        return err_set(ld->err, ERR_FORMAT,
                       "a filter needs \"Criterion\" (or \"FindingCriteria\": {\"Criterion\": ...})");
    for (size_t i = 0; i < v->n; i++) {
        static const char *const known[] = { "Criterion", "Name", "Action", "FindingCriteria",
                                             "Description", "Rank", "DetectorId", "Tags",
                                             "ClientToken", NULL };
        size_t k = 0;
        while (known[k] && strcmp(known[k], v->items[i].key) != 0)
            k++;
        if (known[k] == NULL)
            return err_set(ld->err, ERR_FORMAT, "unknown filter field \"%s\"", v->items[i].key);
    }
    if (ld->fs->n + ld->n_added >= FILTERS_MAX)
        return err_set(ld->err, ERR_LIMIT, "more than %d filters", FILTERS_MAX);

    struct filter f = { 0 };
    if (name != NULL && name->type == JSON_STRING && name->len > 0) {
        f.name = xstrndup(name->str, name->len);
    } else {
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s[%zu]", ld->name ? ld->name : "filter", ld->n_added + 1);
        f.name = buf_steal(&b);
    }
    f.archive = true;
    int rc = 0;
    if (action != NULL) {
        if (action->type == JSON_STRING && strcmp(action->str, "NOOP") == 0)
            f.archive = false;
        else if (action->type != JSON_STRING || strcmp(action->str, "ARCHIVE") != 0)
            rc = err_set(ld->err, ERR_FORMAT, "filter \"%s\": Action is ARCHIVE or NOOP", f.name);
    }
    if (rc == 0 && (crit->type != JSON_OBJECT || crit->n == 0))
        rc = err_set(ld->err, ERR_FORMAT, "filter \"%s\": Criterion is a non-empty object",
                     f.name);
    if (rc == 0 && crit->n > FILTER_FIELDS_MAX)
        rc = err_set(ld->err, ERR_LIMIT, "filter \"%s\": %zu fields, GuardDuty allows %d", f.name,
                     crit->n, FILTER_FIELDS_MAX);
    for (size_t i = 0; rc == 0 && i < crit->n; i++)
        rc = add_field(ld, &f, &crit->items[i]);
    if (rc != 0) {
        filter_free(&f);
        return rc;
    }
    if (ld->n_added == ld->cap_added) {
        ld->cap_added = ld->cap_added ? 2 * ld->cap_added : 4;
        ld->added = xrealloc(ld->added, ld->cap_added * sizeof(*ld->added));
    }
    ld->added[ld->n_added++] = f;
    return 0;
}

static int add_document(struct loader *ld, const struct json_value *v)
{
    const struct json_value *list = NULL;
    if (v->type == JSON_ARRAY)
        list = v;
    else if (v->type == JSON_OBJECT && (list = json_get(v, "Filters")) != NULL &&
             list->type != JSON_ARRAY)
        return err_set(ld->err, ERR_FORMAT, "\"Filters\" is a list");
    if (list == NULL)
        return add_filter(ld, v);
    int rc = 0;
    for (size_t i = 0; i < list->n && rc == 0; i++)
        rc = add_filter(ld, &list->items[i]);
    return rc;
}

static int add_json_text(struct loader *ld, const char *text, size_t len)
{
    struct arena a;
    struct json_value *v;
    arena_init(&a, 0);
    int rc = json_parse(text, len, &a, &v, ld->err);
    if (rc == 0)
        rc = add_document(ld, v);
    arena_free(&a);
    return rc;
}

/* ---- YAML ------------------------------------------------------------------------- */

static bool json_number_text(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == len;
}

static int yaml_to_json(yaml_document_t *doc, yaml_node_t *n, struct buf *out, int depth,
                        struct err *err)
{
    if (n == NULL)
        return buf_append_cstr(out, "null");
    if (depth > 64)
        return err_set(err, ERR_LIMIT, "line %u: nesting deeper than 64",
                       (unsigned)n->start_mark.line + 1);
    int rc = 0;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            if (len == 0 || (len == 1 && s[0] == '~') || (len == 4 && memcmp(s, "null", 4) == 0))
                return buf_append_cstr(out, "null");
            if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 5 && memcmp(s, "false", 5) == 0) ||
                json_number_text(s, len))
                return buf_append(out, s, len);
        }
        rc = buf_putc(out, '"');
        json_escape(out, s, len);
        if (rc == 0)
            rc = buf_putc(out, '"');
        return rc;
    }
    case YAML_SEQUENCE_NODE:
        rc = buf_putc(out, '[');
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             rc == 0 && it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start)
                rc = buf_putc(out, ',');
            if (rc == 0)
                rc = yaml_to_json(doc, yaml_document_get_node(doc, *it), out, depth + 1, err);
        }
        return rc ? rc : buf_putc(out, ']');
    case YAML_MAPPING_NODE:
        rc = buf_putc(out, '{');
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             rc == 0 && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k == NULL || k->type != YAML_SCALAR_NODE)
                return err_set(err, ERR_FORMAT, "line %u: keys are plain strings",
                               (unsigned)n->start_mark.line + 1);
            if (p != n->data.mapping.pairs.start)
                rc = buf_putc(out, ',');
            if (rc == 0)
                rc = buf_putc(out, '"');
            json_escape(out, (const char *)k->data.scalar.value, k->data.scalar.length);
            if (rc == 0)
                rc = buf_append_cstr(out, "\":");
            if (rc == 0)
                rc = yaml_to_json(doc, yaml_document_get_node(doc, p->value), out, depth + 1, err);
        }
        return rc ? rc : buf_putc(out, '}');
    default:
        return buf_append_cstr(out, "null");
    }
}

static int add_yaml_text(struct loader *ld, const char *text, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return err_set(ld->err, ERR_INTERNAL, "cannot start the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    size_t docs = 0;
    while (rc == 0) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            rc = err_set(ld->err, ERR_FORMAT, "line %u: %s", (unsigned)parser.problem_mark.line + 1,
                         parser.problem ? parser.problem : "invalid YAML");
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root == NULL) { /* end of stream */
            yaml_document_delete(&doc);
            break;
        }
        bool empty = root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0;
        if (!empty) {
            struct buf j;
            buf_init(&j, FILTER_FILE_MAX * 2);
            rc = yaml_to_json(&doc, root, &j, 0, ld->err);
            if (rc == ERR_LIMIT && j.len >= FILTER_FILE_MAX)
                rc = err_set(ld->err, ERR_LIMIT, "document too large");
            if (rc == 0) {
                unsigned line = (unsigned)root->start_mark.line + 1;
                rc = add_json_text(ld, j.p, j.len);
                if (rc != 0) {
                    /* Say where the document starts; the message says which filter. */
                    char msg[ERR_MSG_MAX];
                    snprintf(msg, sizeof(msg), "%s", ld->err ? ld->err->msg : "");
                    err_set(ld->err, rc, "document at line %u: %s", line, msg);
                }
            }
            buf_free(&j);
            docs++;
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    if (rc == 0 && docs == 0)
        rc = err_set(ld->err, ERR_FORMAT, "no filter in the file");
    return rc;
}

int finding_filters_load_text(struct finding_filters *fs, const char *name, const char *text,
                              size_t len, struct err *err)
{
    struct loader ld = { fs, name, err, NULL, 0, 0 };
    if (len > FILTER_FILE_MAX)
        return err_set(err, ERR_LIMIT, "file over %u bytes", FILTER_FILE_MAX);
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    int rc = i < len && (text[i] == '{' || text[i] == '[') ? add_json_text(&ld, text, len)
                                                          : add_yaml_text(&ld, text, len);
    if (rc == 0) {
        if (fs->n + ld.n_added > fs->cap) {
            fs->cap = fs->n + ld.n_added;
            fs->v = xrealloc(fs->v, fs->cap * sizeof(*fs->v));
        }
        for (size_t k = 0; k < ld.n_added; k++) {
            fs->v[fs->n++] = ld.added[k];
            if (!ld.added[k].archive)
                fs->n_noop++;
        }
    } else {
        for (size_t k = 0; k < ld.n_added; k++)
            filter_free(&ld.added[k]);
    }
    free(ld.added);
    return rc;
}

int finding_filters_load(struct finding_filters *fs, const char *path, struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        err_where(err, path, 0, 0);
        return err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
    }
    struct buf b;
    buf_init(&b, FILTER_FILE_MAX + 1);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(&b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = err_set(err, ERR_IO, "cannot read: %s", strerror(errno));
    else if (rc == ERR_LIMIT)
        rc = err_set(err, ERR_LIMIT, "file over %u bytes", FILTER_FILE_MAX);
    fclose(f);
    if (rc == 0) {
        const char *slash = strrchr(path, '/');
        rc = finding_filters_load_text(fs, slash ? slash + 1 : path, b.p ? b.p : "", b.len, err);
    }
    if (rc != 0)
        err_where(err, path, 0, err ? err->offset : 0);
    buf_free(&b);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------------- */

static bool leaf_eq(const struct json_leaf *l, const char *want, struct arena *a)
{
    struct sv have;
    switch (l->type) {
    case JSON_STRING: have = json_leaf_str(l, a); break;
    case JSON_NUMBER: have = sv_make(l->val, l->val_len); break;
    case JSON_TRUE: have = SV("true"); break;
    case JSON_FALSE: have = SV("false"); break;
    default: return false;
    }
    if (sv_eq_cstr(have, want))
        return true;
    /* "8" matches a severity of 8.0 */
    double x, y;
    return l->type == JSON_NUMBER && parse_num(have.p, have.len, &x) &&
           parse_num(want, strlen(want), &y) && x == y;
}

static bool cond_holds(const struct cond *c, const struct json_flat *flat, struct arena *a)
{
    for (size_t i = 0; i < flat->n; i++) {
        const struct json_leaf *l = &flat->leaves[i];
        if (l->path_len != strlen(c->field) || memcmp(l->path, c->field, l->path_len) != 0)
            continue;
        bool hit = false;
        if (c->op == OP_EQ || c->op == OP_NEQ) {
            for (size_t k = 0; k < c->n_vals && !hit; k++)
                hit = leaf_eq(l, c->vals[k], a);
            if (c->op == OP_NEQ && hit)
                return false;
        } else {
            double x;
            if (leaf_num(l, a, &x)) {
                switch (c->op) {
                case OP_GT: hit = x > c->num; break;
                case OP_GTE: hit = x >= c->num; break;
                case OP_LT: hit = x < c->num; break;
                case OP_LTE: hit = x <= c->num; break;
                default: break;
                }
            }
        }
        if (hit && c->op != OP_NEQ)
            return true;
    }
    return c->op == OP_NEQ;
}

static bool filter_holds(const struct filter *f, const struct json_flat *flat, struct arena *a)
{
    for (size_t i = 0; i < f->n_conds; i++)
        if (!cond_holds(&f->conds[i], flat, a))
            return false;
    return true;
}

/* Renders f and flattens it into flat (paths in a, values in out). */
static bool flatten_finding(const struct finding *f, struct buf *out, struct arena *a,
                            struct json_flat *flat)
{
    struct json_writer w;
    buf_reset(out);
    jw_init(&w, out, 0);
    finding_to_json(&w, f);
    return w.rc == 0 && json_flatten(out->p, out->len, NULL, a, flat, NULL) == 0;
}

const char *finding_filters_match(const struct finding_filters *fs, const struct finding *f)
{
    if (fs == NULL || finding_filters_count(fs) == 0)
        return NULL;
    struct buf out;
    struct arena a;
    struct json_flat flat;
    const char *hit = NULL;
    buf_init(&out, 0);
    arena_init(&a, 0);
    json_flat_init(&flat);
    if (flatten_finding(f, &out, &a, &flat))
        for (size_t i = 0; i < fs->n && hit == NULL; i++)
            if (fs->v[i].archive && filter_holds(&fs->v[i], &flat, &a))
                hit = fs->v[i].name;
    json_flat_free(&flat);
    arena_free(&a);
    buf_free(&out);
    return hit;
}

/* One finding, archived or not anew: true when a rule matches it. */
static bool archive_one(struct finding *f, const struct finding_filters *fs)
{
    /* Rules see the finding as it would be shown, not yet archived. */
    f->archived = false;
    free(f->archived_by);
    f->archived_by = NULL;
    const char *name = finding_filters_match(fs, f);
    if (name == NULL)
        return false;
    f->archived = true;
    f->archived_by = xstrdup(name);
    return true;
}

size_t finding_agg_archive(struct finding_agg *agg, const struct finding_filters *fs)
{
    size_t n = 0, i = 0;
    struct sv k;
    void *v;
    while (hmap_next(&agg->map, &i, &k, &v))
        n += archive_one(v, fs);
    return n;
}

size_t finding_agg_archive_ids(struct finding_agg *agg, const struct finding_filters *fs,
                               const char (*ids)[33], size_t n_ids)
{
    size_t n = 0;
    for (size_t i = 0; i < n_ids; i++) {
        struct finding *f = hmap_get(&agg->map, ids[i], strlen(ids[i]));
        if (f != NULL)
            n += archive_one(f, fs);
    }
    return n;
}

size_t finding_drop_archived(const struct finding **fs, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!fs[i]->archived)
            fs[k++] = fs[i];
    return k;
}
