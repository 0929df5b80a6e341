/* Unit tests for src/json. */
#include "json/json.h"
#include "harness.h"

#include <math.h>
#include <stdlib.h>

static const char *const type_names[] = { "null", "false", "true", "num", "str", "obj", "arr" };

/* Renders the leaves one per line: path=type:value[@array:index,...] (escaped
 * strings decoded), so each test states its whole expected output. */
static const char *dump(const char *json, const struct json_pathset *ps, struct arena *a,
                        struct buf *b)
{
    struct json_flat f;
    struct err e;
    json_flat_init(&f);
    err_clear(&e);
    buf_reset(b);
    int rc = json_flatten(json, strlen(json), ps, a, &f, &e);
    if (rc != 0) {
        buf_printf(b, "error %d at %llu: %s", rc, (unsigned long long)e.offset, e.msg);
        json_flat_free(&f);
        return b->p;
    }
    for (size_t i = 0; i < f.n; i++) {
        const struct json_leaf *l = &f.leaves[i];
        struct sv v = l->type == JSON_STRING ? json_leaf_str(l, a) : sv_make(l->val, l->val_len);
        CHECK_INT(l->path_len, strlen(l->path));
        CHECK(l->path_hash == json_path_hash(l->path, l->path_len));
        CHECK(l->path_hash == hash64(l->path, l->path_len, 0));
        buf_printf(b, "%s=%s:%.*s", l->path, type_names[l->type], (int)v.len, v.p);
        for (uint16_t k = 0; k < l->n_arr; k++)
            buf_printf(b, "%c%u:%u", k == 0 ? '@' : ',', l->arr[k].array, l->arr[k].index);
        buf_putc(b, '\n');
    }
    json_flat_free(&f);
    return b->p ? b->p : "";
}

#define CHECK_FLAT(json, ps, expect)                                                  \
    do {                                                                              \
        struct arena ar_;                                                              \
        struct buf bu_;                                                                \
        arena_init(&ar_, 0);                                                           \
        buf_init(&bu_, 0);                                                             \
        CHECK_STR(dump((json), (ps), &ar_, &bu_), (expect));                            \
        buf_free(&bu_);                                                                \
        arena_free(&ar_);                                                              \
    } while (0)

static void test_flatten_paths(void)
{
    CHECK_FLAT("{\"a\":1,\"b\":{\"c\":\"x\",\"d\":{\"e\":true}},\"f\":null,\"g\":false}", NULL,
               "a=num:1\nb.c=str:x\nb.d.e=true:true\nf=null:null\ng=false:false\n");
    /* whitespace everywhere */
    CHECK_FLAT(" \n{ \"a\" :\t1 , \"b\" : { \"c\" : -2.5e+3 } }\r\n", NULL,
               "a=num:1\nb.c=num:-2.5e+3\n");
    /* a scalar root has the empty path */
    CHECK_FLAT("\"hi\"", NULL, "=str:hi\n");
    CHECK_FLAT(" 42 ", NULL, "=num:42\n");
}

static void test_flatten_numbers_as_written(void)
{
    CHECK_FLAT("{\"a\":0,\"b\":-0,\"c\":1.50,\"d\":1E5,\"e\":123456789012345678901234567890,"
               "\"f\":-0.0e-0}",
               NULL,
               "a=num:0\nb=num:-0\nc=num:1.50\nd=num:1E5\ne=num:123456789012345678901234567890\n"
               "f=num:-0.0e-0\n");
}

static void test_flatten_arrays(void)
{
    /* arrays add no segment; each leaf knows its element */
    CHECK_FLAT("{\"a\":[1,2,3]}", NULL, "a=num:1@0:0\na=num:2@0:1\na=num:3@0:2\n");
    CHECK_FLAT("{\"r\":[{\"arn\":\"x\",\"t\":\"T\"},{\"arn\":\"y\"}],\"z\":[true]}", NULL,
               "r.arn=str:x@0:0\nr.t=str:T@0:0\nr.arn=str:y@0:1\nz=true:true@1:0\n");
    /* nested arrays: one entry per enclosing array, outermost first, ids unique */
    CHECK_FLAT("{\"m\":[[1,2],[3]],\"n\":[{\"o\":[4,5]},{\"o\":[6]}]}", NULL,
               "m=num:1@0:0,1:0\nm=num:2@0:0,1:1\nm=num:3@0:1,2:0\n"
               "n.o=num:4@3:0,4:0\nn.o=num:5@3:0,4:1\nn.o=num:6@3:1,5:0\n");
    /* a root array */
    CHECK_FLAT("[{\"a\":1},2]", NULL, "a=num:1@0:0\n=num:2@0:1\n");
    /* after a nested array ends, its leaves' positions are not reused */
    CHECK_FLAT("{\"a\":[[1],2]}", NULL, "a=num:1@0:0,1:0\na=num:2@0:1\n");
}

static void test_flatten_empty_containers(void)
{
    CHECK_FLAT("{\"a\":{},\"b\":[],\"c\":{\"d\":[ ]},\"e\":[{}],\"f\":[[]]}", NULL,
               "a=obj:{}\nb=arr:[]\nc.d=arr:[ ]\ne=obj:{}@0:0\nf=arr:[]@1:0\n");
    CHECK_FLAT("{}", NULL, "=obj:{}\n");
    CHECK_FLAT(" [ ] ", NULL, "=arr:[ ]\n");
}

static void test_flatten_escapes(void)
{
    struct arena a;
    struct json_flat f;
    arena_init(&a, 0);
    json_flat_init(&f);
    const char *j = "{\"k\\\"ey\":\"a\\nb\\u00e9\\ud83d\\ude00\",\"p\":\"plain\",\"s\":\"x\\/y\"}";
    CHECK_INT(json_flatten(j, strlen(j), NULL, &a, &f, NULL), 0);
    CHECK_INT(f.n, 3);
    /* the path holds the decoded key */
    CHECK_STR(f.leaves[0].path, "k\"ey");
    CHECK(f.leaves[0].escaped);
    CHECK_SV(sv_make(f.leaves[0].val, f.leaves[0].val_len), "a\\nb\\u00e9\\ud83d\\ude00");
    CHECK_SV(json_leaf_str(&f.leaves[0], &a), "a\nb\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(!f.leaves[1].escaped);
    struct sv plain = json_leaf_str(&f.leaves[1], &a);
    CHECK(plain.p == f.leaves[1].val); /* no copy when nothing to decode */
    CHECK_SV(json_leaf_str(&f.leaves[2], &a), "x/y");
    CHECK(json_flat_get(&f, "k\"ey") == &f.leaves[0]);
    json_flat_free(&f);
    arena_free(&a);
    /* a key with an escaped dot is still one segment in the path text */
    CHECK_FLAT("{\"a\\u002eb\":{\"c\":1}}", NULL, "a.b.c=num:1\n");
}

static void test_unescape(void)
{
    struct buf b;
    buf_init(&b, 0);
    const char *in = "\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\uD834\\uDD1E";
    CHECK_INT(json_unescape(in, strlen(in), &b), 0);
    CHECK_STR(b.p, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e");
    /* lone surrogates become U+FFFD; what follows a lone high one stays */
    buf_reset(&b);
    CHECK_INT(json_unescape("\\ud800x", 7, &b), 0);
    CHECK_STR(b.p, "\xef\xbf\xbdx");
    buf_reset(&b);
    CHECK_INT(json_unescape("\\udc00", 6, &b), 0);
    CHECK_STR(b.p, "\xef\xbf\xbd");
    buf_reset(&b);
    CHECK_INT(json_unescape("\\ud800\\u0041", 12, &b), 0);
    CHECK_STR(b.p, "\xef\xbf\xbd" "A");
    buf_reset(&b);
    CHECK_INT(json_unescape("\\ud800\\ud800\\udc00", 18, &b), 0);
    CHECK_STR(b.p, "\xef\xbf\xbd\xf0\x90\x80\x80");
    /* \u0000 is a NUL byte inside the decoded text */
    buf_reset(&b);
    CHECK_INT(json_unescape("a\\u0000b", 8, &b), 0);
    CHECK_INT(b.len, 3);
    CHECK(memcmp(b.p, "a\0b", 3) == 0);
    /* appends; raw UTF-8 and invalid bytes pass through */
    buf_reset(&b);
    buf_append_cstr(&b, "<");
    CHECK_INT(json_unescape("\xc3\xa9\xff", 3, &b), 0);
    CHECK_STR(b.p, "<\xc3\xa9\xff");
    /* bad escapes */
    CHECK_INT(json_unescape("\\x", 2, &b), ERR_FORMAT);
    CHECK_INT(json_unescape("\\u12", 4, &b), ERR_FORMAT);
    CHECK_INT(json_unescape("\\u12g4", 6, &b), ERR_FORMAT);
    CHECK_INT(json_unescape("ab\\", 3, &b), ERR_FORMAT);
    buf_free(&b);
}

static void test_pathset(void)
{
    const char *rec = "{\"eventName\":\"X\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"a\","
                      "\"sessionContext\":{\"attributes\":{\"mfa\":\"true\"}}},"
                      "\"requestParameters\":{\"bucket\":\"b\",\"deep\":{\"x\":[1,{\"y\":2}]}},"
                      "\"responseElements\":{\"big\":[1,2,3]},\"resources\":[{\"ARN\":\"r1\","
                      "\"type\":\"t\"},{\"ARN\":\"r2\"}],\"tags\":{},\"list\":[]}";
    struct json_pathset *ps = json_pathset_new();
    json_pathset_add(ps, "eventName", 9);
    json_pathset_add(ps, "userIdentity.arn", 16);
    json_pathset_add(ps, "resources.ARN", 13);
    json_pathset_add_subtree(ps, "requestParameters", 17);
    json_pathset_add(ps, "tags", 4);
    /* array ids count only the arrays that were walked */
    CHECK_FLAT(rec, ps,
               "eventName=str:X\nuserIdentity.arn=str:a\nrequestParameters.bucket=str:b\n"
               "requestParameters.deep.x=num:1@0:0\nrequestParameters.deep.x.y=num:2@0:1\n"
               "resources.ARN=str:r1@1:0\nresources.ARN=str:r2@1:1\ntags=obj:{}\n");
    json_pathset_free(ps);

    /* a prefix of a wanted path is descended but is not itself a leaf */
    ps = json_pathset_new();
    json_pathset_add(ps, "a.b", 3);
    CHECK_FLAT("{\"a\":{\"b\":1,\"c\":2},\"b\":3}", ps, "a.b=num:1\n");
    CHECK_FLAT("{\"a\":5}", ps, "");
    CHECK_FLAT("{\"a\":{}}", ps, "");
    /* a wanted path holding an object yields only wanted children */
    CHECK_FLAT("{\"a\":{\"b\":{\"z\":1}}}", ps, "");
    CHECK_FLAT("{\"a\":{\"b\":[7,{\"z\":1},[8]]}}", ps, "a.b=num:7@0:0\na.b=num:8@0:2,1:0\n");
    json_pathset_free(ps);

    /* an empty set wants nothing but still validates everything */
    ps = json_pathset_new();
    CHECK_FLAT("{\"a\":{\"b\":[1,2]},\"c\":\"d\"}", ps, "");
    CHECK_FLAT("{\"a\":{\"b\":[1,2,]},\"c\":\"d\"}", ps,
               "error 2 at 15: expected a value, got ']' (trailing comma?)");
    CHECK_FLAT("{\"a\":\"x\ty\"}", ps, "error 2 at 7: control character in string (must be escaped)");
    CHECK_FLAT("{\"a\":\"\\q\"}", ps, "error 2 at 6: invalid escape in string");
    json_pathset_add(ps, "", 0); /* the root itself */
    CHECK_FLAT("3", ps, "=num:3\n");
    json_pathset_free(ps);

    /* escaped keys match decoded paths; many paths force the table to grow */
    ps = json_pathset_new();
    char p[32];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(p, sizeof(p), "k%d.v", i);
        json_pathset_add(ps, p, (size_t)n);
    }
    CHECK_FLAT("{\"k\\u0031\":{\"v\":1,\"w\":2},\"k499\":{\"v\":true},\"k500\":{\"v\":0}}", ps,
               "k1.v=num:1\nk499.v=true:true\n");
    json_pathset_free(ps);
}

static void test_duplicate_keys_flat(void)
{
    struct arena a;
    struct json_flat f;
    arena_init(&a, 0);
    json_flat_init(&f);
    const char *j = "{\"a\":1,\"b\":2,\"a\":3}";
    CHECK_INT(json_flatten(j, strlen(j), NULL, &a, &f, NULL), 0);
    CHECK_INT(f.n, 3);
    const struct json_leaf *l = json_flat_get(&f, "a");
    CHECK(l == &f.leaves[0]); /* the first leaf with that path */
    CHECK(json_flat_get(&f, "c") == NULL);
    CHECK(json_flat_get(&f, "") == NULL);
    /* reuse of the same json_flat across records keeps storage */
    struct json_leaf *keep = f.leaves;
    CHECK_INT(json_flatten("{\"x\":1}", 7, NULL, &a, &f, NULL), 0);
    CHECK_INT(f.n, 1);
    CHECK(f.leaves == keep);
    json_flat_free(&f);
    arena_free(&a);
}

struct bad_case {
    const char *json;
    int code;
    size_t offset;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    { "", ERR_FORMAT, 0, "unexpected end of input (expected a value)" },
    { "   ", ERR_FORMAT, 3, "unexpected end of input (expected a value)" },
    { "{\"a\":1,}", ERR_FORMAT, 7, "trailing comma in object" },
    { "[1,2,]", ERR_FORMAT, 5, "expected a value, got ']' (trailing comma?)" },
    { "{\"a\" 1}", ERR_FORMAT, 5, "expected ':' after object key" },
    { "{\"a\":1 \"b\":2}", ERR_FORMAT, 7, "expected ',' or '}' after object member" },
    { "[1 2]", ERR_FORMAT, 3, "expected ',' or ']' after array element" },
    { "{a:1}", ERR_FORMAT, 1, "expected '\"' to begin an object key" },
    { "{\"a\":\"abc", ERR_FORMAT, 5, "unterminated string" },
    { "\"abc\\", ERR_FORMAT, 0, "unterminated string" },
    { "{\"a\":1", ERR_FORMAT, 6, "unexpected end of input (unclosed object)" },
    { "[1,", ERR_FORMAT, 3, "unexpected end of input (expected a value)" },
    { "[1", ERR_FORMAT, 2, "unexpected end of input (unclosed array)" },
    { "{", ERR_FORMAT, 1, "unexpected end of input (expected an object key)" },
    { "01", ERR_FORMAT, 0, "leading zeros are not allowed in numbers" },
    { "[-01]", ERR_FORMAT, 1, "leading zeros are not allowed in numbers" },
    { "-", ERR_FORMAT, 1, "expected a digit in number" },
    { "-a", ERR_FORMAT, 1, "expected a digit in number" },
    { "1.", ERR_FORMAT, 2, "expected a digit after '.' in number" },
    { "1.e5", ERR_FORMAT, 2, "expected a digit after '.' in number" },
    { "1e", ERR_FORMAT, 2, "expected a digit in number exponent" },
    { "1e+", ERR_FORMAT, 3, "expected a digit in number exponent" },
    { "NaN", ERR_FORMAT, 0, "invalid number (NaN, Infinity, '+' and a leading '.' are not JSON)" },
    { "[Infinity]", ERR_FORMAT, 1,
      "invalid number (NaN, Infinity, '+' and a leading '.' are not JSON)" },
    { "+1", ERR_FORMAT, 0, "invalid number (NaN, Infinity, '+' and a leading '.' are not JSON)" },
    { ".5", ERR_FORMAT, 0, "invalid number (NaN, Infinity, '+' and a leading '.' are not JSON)" },
    { "tru", ERR_FORMAT, 0, "invalid literal (expected true, false or null)" },
    { "[nul]", ERR_FORMAT, 1, "invalid literal (expected true, false or null)" },
    { "True", ERR_FORMAT, 0, "expected a value" },
    { "\"a\nb\"", ERR_FORMAT, 2, "control character in string (must be escaped)" },
    { "\"a\x01\"", ERR_FORMAT, 2, "control character in string (must be escaped)" },
    { "\"\\x\"", ERR_FORMAT, 1, "invalid escape in string" },
    { "\"\\u12G4\"", ERR_FORMAT, 1, "invalid \\u escape: expected 4 hex digits" },
    { "\"\\u12", ERR_FORMAT, 0, "unterminated string" },
    { "{} x", ERR_FORMAT, 3, "unexpected data after the JSON value" },
    { "1 2", ERR_FORMAT, 2, "unexpected data after the JSON value" },
    { "[}", ERR_FORMAT, 1, "expected a value, got '}'" },
    { "{\"a\":}", ERR_FORMAT, 5, "expected a value, got '}'" },
    { "{\"a\":1]", ERR_FORMAT, 6, "expected ',' or '}' after object member" },
    { "'a'", ERR_FORMAT, 0, "expected a value" },
    { "[1,]", ERR_FORMAT, 3, "expected a value, got ']' (trailing comma?)" },
    { "\xef\xbb\xbf{}", ERR_FORMAT, 0, "expected a value" }, /* RFC 8259: no BOM */
};

static void test_errors(void)
{
    struct arena a;
    struct json_flat f;
    struct json_value *v;
    arena_init(&a, 0);
    json_flat_init(&f);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        size_t len = strlen(bc->json);
        struct err e;
        /* the three entry points agree on code, offset and message */
        for (int which = 0; which < 3; which++) {
            err_clear(&e);
            size_t pos = 0;
            int rc = which == 0   ? json_flatten(bc->json, len, NULL, &a, &f, &e)
                     : which == 1 ? json_parse(bc->json, len, &a, &v, &e)
                                  : json_skip_value(bc->json, len, &pos, &e);
            if (which == 2 && rc == 0 && pos != len)
                continue; /* skip_value stops after one value: trailing data is not its error */
            if (rc != bc->code || e.offset != bc->offset || strcmp(e.msg, bc->msg) != 0) {
                printf("#   case %zu (%s) via %d: rc %d offset %llu msg \"%s\"\n", i, bc->json,
                       which, rc, (unsigned long long)e.offset, e.msg);
                harness_failures++;
            }
            CHECK_INT(e.code, rc);
        }
        /* and fail the same way without an err to fill */
        CHECK_INT(json_flatten(bc->json, len, NULL, &a, &f, NULL), bc->code);
        CHECK_INT(f.n, 0);
    }
    json_flat_free(&f);
    arena_free(&a);
}

static void test_depth_limit(void)
{
    struct arena a;
    struct json_flat f;
    struct json_value *v;
    struct err e;
    struct buf b;
    arena_init(&a, 0);
    json_flat_init(&f);
    buf_init(&b, 0);
    /* exactly JSON_MAX_DEPTH levels pass, one more is ERR_LIMIT */
    for (int extra = 0; extra <= 1; extra++) {
        int d = JSON_MAX_DEPTH + extra;
        for (int variant = 0; variant < 2; variant++) {
            buf_reset(&b);
            for (int i = 0; i < d; i++)
                buf_append_cstr(&b, variant ? "[" : "{\"k\":");
            buf_append_cstr(&b, "1");
            for (int i = 0; i < d; i++)
                buf_append_cstr(&b, variant ? "]" : "}");
            int want = extra ? ERR_LIMIT : 0;
            size_t pos = 0;
            err_clear(&e);
            CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, &e), want);
            if (extra)
                CHECK_INT(e.offset, variant ? JSON_MAX_DEPTH : 5 * JSON_MAX_DEPTH);
            else
                CHECK_INT(f.n, 1);
            CHECK_INT(json_parse(b.p, b.len, &a, &v, NULL), want);
            CHECK_INT(json_skip_value(b.p, b.len, &pos, NULL), want);
            /* skipped subtrees count their depth from where they start */
            struct json_pathset *ps = json_pathset_new();
            CHECK_INT(json_flatten(b.p, b.len, ps, &a, &f, NULL), want);
            json_pathset_free(ps);
        }
    }
    /* a deep but unclosed input is a format error, not a crash */
    buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        buf_putc(&b, '[');
    CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, NULL), ERR_LIMIT);
    buf_free(&b);
    json_flat_free(&f);
    arena_free(&a);
}

static void test_path_limit(void)
{
    struct arena a;
    struct json_flat f;
    struct buf b;
    struct err e;
    arena_init(&a, 0);
    json_flat_init(&f);
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"");
    for (int i = 0; i < JSON_MAX_PATH + 1; i++)
        buf_putc(&b, 'k');
    buf_append_cstr(&b, "\":1}");
    CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, &e), ERR_LIMIT);
    CHECK_INT(e.offset, 1);
    /* a skipped long key costs nothing */
    struct json_pathset *ps = json_pathset_new();
    json_pathset_add(ps, "x", 1);
    CHECK_INT(json_flatten(b.p, b.len, ps, &a, &f, &e), 0);
    CHECK_INT(f.n, 0);
    json_pathset_free(ps);
    buf_free(&b);
    json_flat_free(&f);
    arena_free(&a);
}

static void test_path_budget(void)
{
    /* one long key over many leaves would copy its path once per leaf: the
     * total is capped relative to the input size */
    struct arena a;
    struct json_flat f;
    struct buf b;
    struct err e;
    arena_init(&a, 0);
    json_flat_init(&f);
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"");
    for (int i = 0; i < 4000; i++)
        buf_putc(&b, 'k');
    buf_append_cstr(&b, "\":{");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%s\"%c%c\":1", i ? "," : "", 'a' + i % 26, 'a' + i / 26);
    buf_append_cstr(&b, "}}");
    CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, &e), ERR_LIMIT);
    CHECK_STR(e.msg, "flattened paths too large for this input");
    /* the same leaves under a short key are fine */
    CHECK_INT(json_flatten(b.p + 3998, b.len - 3998, NULL, &a, &f, &e), ERR_FORMAT);
    b.p[3998] = '{';
    b.p[3999] = '"';
    CHECK_INT(json_flatten(b.p + 3998, b.len - 3998, NULL, &a, &f, &e), 0);
    CHECK_INT(f.n, 1000);
    buf_free(&b);
    json_flat_free(&f);
    arena_free(&a);
}

/* Many leaves: storage grows across arena chunks and the leaf array grows,
 * and every leaf keeps its own path and position. */
static void test_many_leaves(void)
{
    struct arena a;
    struct json_flat f;
    struct buf b;
    char want[32];
    arena_init(&a, 4096);
    json_flat_init(&f);
    buf_init(&b, 0);
    buf_putc(&b, '{');
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "%s\"key%d\":{\"v\":[%d,\"s%d\"]}", i ? "," : "", i, i, i);
    buf_putc(&b, '}');
    CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, NULL), 0);
    CHECK_INT(f.n, 10000);
    for (int i = 0; i < 5000 && harness_failures == 0; i++) {
        const struct json_leaf *n = &f.leaves[2 * i], *s = &f.leaves[2 * i + 1];
        snprintf(want, sizeof(want), "key%d.v", i);
        CHECK_STR(n->path, want);
        CHECK(s->path == n->path); /* elements of one array share the path */
        CHECK_INT(n->n_arr, 1);
        CHECK_INT(n->arr[0].array, i);
        CHECK_INT(n->arr[0].index, 0);
        CHECK_INT(s->arr[0].array, i);
        CHECK_INT(s->arr[0].index, 1);
        CHECK_INT(n->type, JSON_NUMBER);
        CHECK_INT(s->type, JSON_STRING);
        CHECK(n->path_hash == hash64(want, strlen(want), 0));
    }
    buf_free(&b);
    json_flat_free(&f);
    arena_free(&a);
}

static void test_skip_value(void)
{
    const char *in = " {\"a\":[1,{\"b\":null}]}\n[2] \"s\"  3 ";
    size_t len = strlen(in), pos = 0;
    struct err e;
    CHECK_INT(json_skip_value(in, len, &pos, &e), 0);
    CHECK_INT(pos, 21);
    CHECK_INT(json_skip_value(in, len, &pos, &e), 0);
    CHECK_INT(pos, 25);
    CHECK_INT(json_skip_value(in, len, &pos, &e), 0);
    CHECK_INT(pos, 29);
    CHECK_INT(json_skip_value(in, len, &pos, &e), 0);
    CHECK_INT(pos, 32);
    CHECK_INT(json_skip_value(in, len, &pos, &e), ERR_FORMAT);
    CHECK_INT(e.offset, 33);
    CHECK_INT(pos, 32); /* unchanged on error */
    pos = 100;
    CHECK_INT(json_skip_value(in, len, &pos, NULL), ERR_USAGE);
}

static void test_invalid_utf8_passes(void)
{
    /* not validated, never crashes, kept as is */
    CHECK_FLAT("{\"a\":\"\xff\xfe\xc3\"}", NULL, "a=str:\xff\xfe\xc3\n");
    CHECK_FLAT("{\"\xc3\xa9t\xc3\xa9\":\"\xe2\x82\xac\"}", NULL, "\xc3\xa9t\xc3\xa9=str:\xe2\x82\xac\n");
}

/* Long strings exercise the vector string scanner on both sides of 16 bytes. */
static void test_long_strings(void)
{
    struct arena a;
    struct json_flat f;
    struct buf b;
    arena_init(&a, 0);
    json_flat_init(&f);
    buf_init(&b, 0);
    for (size_t n = 0; n < 70; n++) {
        for (size_t at = 0; at <= n; at++) {
            buf_reset(&b);
            buf_append_cstr(&b, "[\"");
            for (size_t i = 0; i < n; i++)
                buf_append_cstr(&b, i == at ? "\\n" : "x");
            buf_append_cstr(&b, "\"]");
            CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, NULL), 0);
            CHECK_INT(f.n, 1);
            CHECK_INT(f.leaves[0].val_len, n + (at < n));
            CHECK_INT(f.leaves[0].escaped, at < n);
            /* a control character at any position is found */
            if (at < n) {
                b.p[2 + at] = '\x1f';
                struct err e;
                CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, &e), ERR_FORMAT);
                CHECK_INT(e.offset, 2 + at);
                b.p[2 + at] = '\x7f'; /* DEL and high bytes are fine */
                CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, NULL), 0);
                b.p[2 + at] = '\x80';
                CHECK_INT(json_flatten(b.p, b.len, NULL, &a, &f, NULL), 0);
            }
        }
    }
    buf_free(&b);
    json_flat_free(&f);
    arena_free(&a);
}

/* ---- tree parser ------------------------------------------------------------------ */

static void test_parse_tree(void)
{
    struct arena a;
    struct json_value *v;
    struct err e;
    arena_init(&a, 0);
    const char *j = "{\"n\":-1.50e2,\"s\":\"a\\u0000b\\n\",\"t\":true,\"f\":false,\"z\":null,"
                    "\"arr\":[1,[],{}],\"d\":1,\"d\":2,\"o\":{\"x\":\"y\"}}";
    CHECK_INT(json_parse(j, strlen(j), &a, &v, &e), 0);
    CHECK_INT(v->type, JSON_OBJECT);
    CHECK_INT(v->n, 9);
    CHECK_INT(v->offset, 0);
    const struct json_value *n = json_get(v, "n");
    CHECK(n != NULL && n->type == JSON_NUMBER);
    CHECK_STR(n->str, "-1.50e2");
    CHECK(n->num == -150.0);
    CHECK_INT(n->offset, 5);
    const struct json_value *s = json_get(v, "s");
    CHECK_INT(s->len, 4);
    CHECK(memcmp(s->str, "a\0b\n", 5) == 0);
    CHECK_INT(json_get(v, "t")->type, JSON_TRUE);
    CHECK_INT(json_get(v, "f")->type, JSON_FALSE);
    CHECK_INT(json_get(v, "z")->type, JSON_NULL);
    const struct json_value *arr = json_get(v, "arr");
    CHECK_INT(arr->n, 3);
    CHECK_INT(arr->items[1].type, JSON_ARRAY);
    CHECK_INT(arr->items[1].n, 0);
    CHECK_INT(arr->items[2].type, JSON_OBJECT);
    CHECK(arr->items[0].key == NULL);
    /* duplicates are kept in order; json_get returns the last */
    CHECK_STR(v->items[6].key, "d");
    CHECK_STR(v->items[6].str, "1");
    CHECK_STR(json_get(v, "d")->str, "2");
    CHECK_STR(json_get(json_get(v, "o"), "x")->str, "y");
    CHECK(json_get(v, "missing") == NULL);
    CHECK(json_get(arr, "x") == NULL);
    CHECK(json_get(NULL, "x") == NULL);
    arena_free(&a);
}

static void roundtrip(const char *in, const char *expect)
{
    struct arena a;
    struct json_value *v, *v2;
    struct buf b, b2;
    arena_init(&a, 0);
    buf_init(&b, 0);
    buf_init(&b2, 0);
    CHECK_INT(json_parse(in, strlen(in), &a, &v, NULL), 0);
    CHECK_INT(json_write_value(&b, v), 0);
    CHECK_STR(b.p, expect);
    CHECK_INT(json_parse(b.p, b.len, &a, &v2, NULL), 0);
    CHECK_INT(json_write_value(&b2, v2), 0);
    CHECK_STR(b2.p, b.p);
    buf_free(&b);
    buf_free(&b2);
    arena_free(&a);
}

static void test_write_value(void)
{
    roundtrip(" { \"a\" : [ 1 , 2.50 , -0 , 1E+2 ] , \"b\" : { } , \"c\" : [ ] } ",
              "{\"a\":[1,2.50,-0,1E+2],\"b\":{},\"c\":[]}");
    roundtrip("\"\\u00e9\\/\\u001f\\t\\\"\\\\\"", "\"\xc3\xa9/\\u001f\\t\\\"\\\\\"");
    roundtrip("{\"k\\nk\":null,\"k\\nk\":true}", "{\"k\\nk\":null,\"k\\nk\":true}");
    roundtrip("\"a\\u0000b\"", "\"a\\u0000b\"");
    roundtrip("false", "false");
    struct buf b;
    buf_init(&b, 5);
    struct json_value big = { .type = JSON_STRING, .str = "abcdefgh", .len = 8 };
    CHECK_INT(json_write_value(&b, &big), ERR_LIMIT);
    buf_free(&b);
}

static void test_escape(void)
{
    struct buf b;
    buf_init(&b, 0);
    const char *raw = "a\"b\\c\x01\x1f\b\f\n\r\t\x7f\xc3\xa9/";
    json_escape(&b, raw, strlen(raw));
    CHECK_STR(b.p, "a\\\"b\\\\c\\u0001\\u001f\\b\\f\\n\\r\\t\x7f\xc3\xa9/");
    buf_reset(&b);
    json_escape(&b, "\0x", 2);
    CHECK_STR(b.p, "\\u0000x");
    buf_free(&b);
}

static void test_writer_compact(void)
{
    struct buf b;
    struct json_writer w;
    buf_init(&b, 0);
    jw_init(&w, &b, 0);
    jw_object_begin(&w);
    jw_key(&w, "s");
    jw_str(&w, "q\"\n");
    jw_key_sv(&w, SV("i"));
    jw_int(&w, -9223372036854775807LL - 1);
    jw_key(&w, "a");
    jw_array_begin(&w);
    jw_bool(&w, true);
    jw_bool(&w, false);
    jw_null(&w);
    jw_double(&w, 2.0);
    jw_raw(&w, SV("{\"r\":1}"));
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_object_begin(&w);
    jw_object_end(&w);
    jw_str_sv(&w, sv_make("x\0y", 3));
    jw_array_end(&w);
    jw_key(&w, "k\x01");
    jw_double(&w, NAN);
    jw_object_end(&w);
    CHECK_INT(w.rc, 0);
    CHECK_INT(w.depth, 0);
    CHECK_STR(b.p, "{\"s\":\"q\\\"\\n\",\"i\":-9223372036854775808,\"a\":[true,false,null,2,"
                   "{\"r\":1},[],{},\"x\\u0000y\"],\"k\\u0001\":null}");
    /* the output is valid JSON */
    struct arena a;
    struct json_value *v;
    arena_init(&a, 0);
    CHECK_INT(json_parse(b.p, b.len, &a, &v, NULL), 0);
    arena_free(&a);
    buf_free(&b);
}

static void test_writer_indent(void)
{
    struct buf b;
    struct json_writer w;
    buf_init(&b, 0);
    jw_init(&w, &b, 2);
    jw_object_begin(&w);
    jw_key(&w, "a");
    jw_int(&w, 1);
    jw_key(&w, "b");
    jw_array_begin(&w);
    jw_int(&w, 2);
    jw_object_begin(&w);
    jw_key(&w, "c");
    jw_str(&w, "d");
    jw_object_end(&w);
    jw_array_end(&w);
    jw_key(&w, "e");
    jw_object_begin(&w);
    jw_object_end(&w);
    jw_object_end(&w);
    CHECK_STR(b.p, "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    {\n      \"c\": \"d\"\n    }\n  ],\n"
                   "  \"e\": {}\n}");
    buf_free(&b);
    /* a full capped buffer makes rc sticky */
    buf_init(&b, 8);
    jw_init(&w, &b, 0);
    jw_array_begin(&w);
    jw_str(&w, "0123456789");
    jw_int(&w, 1);
    jw_array_end(&w);
    CHECK_INT(w.rc, ERR_LIMIT);
    buf_free(&b);
}

static void check_double(double v, const char *expect)
{
    char out[32];
    size_t n = json_format_double(v, out);
    CHECK_INT(n, strlen(out));
    CHECK_STR(out, expect);
    if (isfinite(v))
        CHECK(strtod(out, NULL) == v);
}

static void test_double(void)
{
    check_double(0.0, "0");
    check_double(-3.0, "-3");
    check_double(1e15, "1000000000000000");
    check_double(9007199254740991.0, "9007199254740991");
    check_double(0.1, "0.1");
    check_double(1.5, "1.5");
    check_double(-2.25e-7, "-2.25e-07");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1.0 / 3.0, "0.3333333333333333");
    check_double(1e300, "1e+300");
    check_double(9007199254740992.0, "9007199254740992");
    check_double(5e-324, "4.94065645841247e-324"); /* %.15g reads back */
    check_double(INFINITY, "null");
    check_double(NAN, "null");
    /* every double printed reads back exactly */
    uint64_t x = 0x243f6a8885a308d3ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof(d));
        if (!isfinite(d))
            continue;
        char out[32];
        json_format_double(d, out);
        CHECK(strtod(out, NULL) == d);
    }
}

/* Every file of the shared CloudTrail edge-case dataset that is valid JSON
 * flattens, and flattening agrees with the tree parser on the leaf count. */
static size_t count_leaves(const struct json_value *v)
{
    if ((v->type == JSON_OBJECT || v->type == JSON_ARRAY) && v->n > 0) {
        size_t n = 0;
        for (size_t i = 0; i < v->n; i++)
            n += count_leaves(&v->items[i]);
        return n;
    }
    return 1;
}

static void test_flatten_matches_tree(void)
{
    const char *docs[] = {
        "{\"a\":[1,[2,{\"b\":[]}],{}],\"c\":{\"d\":{\"e\":null}},\"f\":\"\\u0041\"}",
        "[[[[]]],{},{\"x\":[{\"y\":[{\"z\":1}]}]}]",
        "{\"Records\":[{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AssumedRole\"},"
        "\"resources\":[{\"ARN\":\"a\"},{\"ARN\":\"b\"}]}]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct arena a;
        struct json_flat f;
        struct json_value *v;
        arena_init(&a, 0);
        json_flat_init(&f);
        CHECK_INT(json_flatten(docs[i], strlen(docs[i]), NULL, &a, &f, NULL), 0);
        CHECK_INT(json_parse(docs[i], strlen(docs[i]), &a, &v, NULL), 0);
        CHECK_INT(f.n, count_leaves(v));
        json_flat_free(&f);
        arena_free(&a);
    }
}


/* json_flatten_next: what json_skip_value + json_flatten on the value's own
 * bytes give, in one pass: the same leaves, the same end, the same errors. */
static void render_flat(const struct json_flat *f, struct arena *a, struct buf *b)
{
    buf_reset(b);
    for (size_t i = 0; i < f->n; i++) {
        const struct json_leaf *l = &f->leaves[i];
        struct sv v = l->type == JSON_STRING ? json_leaf_str(l, a) : sv_make(l->val, l->val_len);
        CHECK(l->path_hash == json_path_hash(l->path, l->path_len));
        buf_printf(b, "%s=%s:%.*s", l->path, type_names[l->type], (int)v.len, v.p);
        for (uint16_t k = 0; k < l->n_arr; k++)
            buf_printf(b, "%c%u:%u", k == 0 ? '@' : ',', l->arr[k].array, l->arr[k].index);
        buf_putc(b, '\n');
    }
}

static void test_flatten_next(void)
{
    struct arena a;
    struct json_flat f1, f2;
    struct buf b1, b2;
    struct err e1, e2;
    arena_init(&a, 0);
    json_flat_init(&f1);
    json_flat_init(&f2);
    buf_init(&b1, 0);
    buf_init(&b2, 0);
    struct json_pathset *ps = json_pathset_new();
    json_pathset_add(ps, "a.b", 3);
    json_pathset_add_subtree(ps, "r", 1);
    json_pathset_add(ps, "x", 1);
    const char *stream = "  {\"a\":{\"b\":1,\"c\":[2,{\"d\":3}]},\"r\":[{\"s\":\"t\\u0041\"},[]],\"x\":{}}"
                         "\n[1,{\"a\":{\"b\":[true,null]}}] \"str\"\t-1.5e3{}";
    size_t len = strlen(stream);
    for (int with_ps = 0; with_ps < 2; with_ps++) {
        const struct json_pathset *want = with_ps ? ps : NULL;
        size_t pos = 0, n_values = 0;
        for (;;) {
            size_t skip_pos = pos;
            while (skip_pos < len && (stream[skip_pos] == ' ' || stream[skip_pos] == '\n' ||
                                      stream[skip_pos] == '\t'))
                skip_pos++;
            if (skip_pos == len)
                break;
            size_t vs = skip_pos;
            CHECK_INT(json_skip_value(stream, len, &skip_pos, NULL), 0);
            CHECK_INT(json_flatten(stream + vs, skip_pos - vs, want, &a, &f1, NULL), 0);
            render_flat(&f1, &a, &b1);
            size_t next = pos;
            CHECK_INT(json_flatten_next(stream, len, &next, want, &a, &f2, NULL), 0);
            CHECK_INT(next, skip_pos);
            render_flat(&f2, &a, &b2);
            CHECK_STR(b2.p ? b2.p : "", b1.p ? b1.p : "");
            pos = next;
            n_values++;
        }
        CHECK_INT(n_values, 5);
    }
    CHECK_FLAT("{\"a\":{\"b\":1,\"c\":2},\"r\":{\"s\":[1]}}", ps, "a.b=num:1\nr.s=num:1@0:0\n");

    /* errors: those of json_skip_value, and *pos stays */
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        size_t n = strlen(bc->json), p1 = 0, p2 = 0;
        err_clear(&e1);
        err_clear(&e2);
        int r1 = json_skip_value(bc->json, n, &p1, &e1);
        int r2 = json_flatten_next(bc->json, n, &p2, NULL, &a, &f2, &e2);
        CHECK_INT(r2, r1);
        CHECK_INT(p2, p1);
        CHECK_INT(e2.offset, e1.offset);
        CHECK_STR(e2.msg, e1.msg);
        if (r2 != 0)
            CHECK_INT(f2.n, 0);
    }
    size_t past = len + 1;
    CHECK_INT(json_flatten_next(stream, len, &past, NULL, &a, &f2, NULL), ERR_USAGE);
    CHECK_INT(past, len + 1);

    /* the path budget counts the value's bytes, not what follows it */
    struct buf big;
    buf_init(&big, 0);
    buf_append_cstr(&big, "{\"");
    for (int i = 0; i < 4000; i++)
        buf_putc(&big, 'k');
    buf_append_cstr(&big, "\":{");
    for (int i = 0; i < 1000; i++)
        buf_printf(&big, "%s\"%c%c\":1", i ? "," : "", 'a' + i % 26, 'a' + i / 26);
    buf_append_cstr(&big, "}}");
    size_t vlen = big.len;
    for (int i = 0; i < 200000; i++)
        buf_putc(&big, ' ');
    buf_append_cstr(&big, "[]");
    size_t at = 0;
    err_clear(&e1);
    CHECK_INT(json_flatten(big.p, vlen, NULL, &a, &f1, &e1), ERR_LIMIT);
    err_clear(&e2);
    CHECK_INT(json_flatten_next(big.p, big.len, &at, NULL, &a, &f2, &e2), ERR_LIMIT);
    CHECK_STR(e2.msg, e1.msg);
    CHECK_INT(at, 0);
    CHECK_INT(f2.n, 0);
    buf_free(&big);

    json_pathset_free(ps);
    buf_free(&b1);
    buf_free(&b2);
    json_flat_free(&f1);
    json_flat_free(&f2);
    arena_free(&a);
}

static const struct harness_test tests[] = {
    { "flatten_paths", test_flatten_paths },
    { "flatten_numbers_as_written", test_flatten_numbers_as_written },
    { "flatten_arrays", test_flatten_arrays },
    { "flatten_empty_containers", test_flatten_empty_containers },
    { "flatten_escapes", test_flatten_escapes },
    { "unescape", test_unescape },
    { "pathset", test_pathset },
    { "duplicate_keys_flat", test_duplicate_keys_flat },
    { "errors", test_errors },
    { "depth_limit", test_depth_limit },
    { "path_limit", test_path_limit },
    { "path_budget", test_path_budget },
    { "many_leaves", test_many_leaves },
    { "skip_value", test_skip_value },
    { "flatten_next", test_flatten_next },
    { "invalid_utf8_passes", test_invalid_utf8_passes },
    { "long_strings", test_long_strings },
    { "parse_tree", test_parse_tree },
    { "write_value", test_write_value },
    { "escape", test_escape },
    { "writer_compact", test_writer_compact },
    { "writer_indent", test_writer_indent },
    { "double", test_double },
    { "flatten_matches_tree", test_flatten_matches_tree },
};

HARNESS_MAIN(tests)
