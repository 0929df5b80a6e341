/*
 * vpcflow: VPC Flow Logs text records (versions 2 to 8).
 *
 * A record is one line of fields separated by spaces (the AWS documentation
 * itself shows a record with two spaces between fields, so runs of spaces
 * count as one separator). Which field is which comes from the log format: in
 * files delivered to S3 the first line is a header naming the fields in order
 * ("version account-id interface-id srcaddr ..."); without a header the
 * default format is assumed: the 14 version-2 fields in the documented order.
 * A field AWS could not compute is "-" and becomes no leaf at all, so
 * "exists": false patterns behave as on EventBridge.
 *
 * Leaves are named exactly as the header names the fields ("srcaddr",
 * "dstport", "account-id", "log-status"). Fields that AWS documents as integers
 * (Parquet INT_32/INT_64) are typed JSON_NUMBER when their text is all digits,
 * so numeric patterns ({"numeric": [">=", 1024]}) apply to them.
 *
 * This is the hot loop for flow logs (millions of lines per second): no
 * allocation per line, one pass over the bytes.
 */
#include "input/input_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Every field of the published formats, v2-v8. Unknown names of the same shape
 * are accepted too (AWS adds fields over time). */
static const char *const known_fields[] = {
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
    /* v3 */
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
    /* v4 */
    "region", "az-id", "sublocation-type", "sublocation-id",
    /* v5 */
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
    /* v7 */
    "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn",
    "ecs-container-instance-id", "ecs-container-id", "ecs-second-container-id",
    "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn", "ecs-task-id",
    /* v8 */
    "reject-reason",
};

static const char *const numeric_fields[] = {
    "version", "srcport", "dstport", "protocol", "packets", "bytes",
    "start", "end", "tcp-flags", "traffic-path",
};

static const char *const default_v2 =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status";

static bool in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return true;
    return false;
}

/* A field name: a lowercase letter, then lowercase letters, digits, '-'. */
static bool is_name(const char *s, size_t len)
{
    if (len == 0 || len > 39 || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t';
}

bool input__flow_is_header(const char *line, size_t len)
{
    size_t i = 0, known = 0, n = 0;
    while (i < len) {
        while (i < len && is_sep(line[i]))
            i++;
        if (i == len)
            break;
        size_t s = i;
        while (i < len && !is_sep(line[i]))
            i++;
        if (!is_name(line + s, i - s))
            return false;
        n++;
        if (in_list(known_fields, sizeof(known_fields) / sizeof(known_fields[0]), line + s, i - s))
            known++;
    }
    return n > 0 && known > 0;
}

int input__flow_format(struct flow_format *ff, const char *names, size_t len, struct err *err)
{
    size_t i = 0, used = 0;
    ff->n = 0;
    while (i < len) {
        while (i < len && is_sep(names[i]))
            i++;
        if (i == len)
            break;
        size_t s = i;
        while (i < len && !is_sep(names[i]))
            i++;
        size_t n = i - s;
        if (!is_name(names + s, n))
            return err_set(err, ERR_FORMAT, "flow log format: \"%.*s\" is not a field name",
                           (int)(n > 40 ? 40 : n), names + s);
        if (ff->n == FLOW_MAX_FIELDS)
            return err_set(err, ERR_LIMIT, "flow log format: more than %d fields",
                           FLOW_MAX_FIELDS);
        for (size_t k = 0; k < ff->n; k++)
            if (ff->lens[k] == n && memcmp(ff->names[k], names + s, n) == 0)
                return err_set(err, ERR_FORMAT, "flow log format: field \"%.*s\" appears twice",
                               (int)n, names + s);
        /* is_name caps a name at 39 bytes, so buf cannot overflow. */
        memcpy(ff->buf + used, names + s, n);
        ff->buf[used + n] = '\0';
        ff->names[ff->n] = ff->buf + used;
        ff->lens[ff->n] = (uint32_t)n;
        ff->hashes[ff->n] = json_path_hash(ff->buf + used, n);
        ff->numeric[ff->n] =
            in_list(numeric_fields, sizeof(numeric_fields) / sizeof(numeric_fields[0]), names + s, n);
        used += n + 1;
        ff->n++;
    }
    if (ff->n == 0)
        return err_set(err, ERR_FORMAT, "flow log format: no fields");
    /* buf holds the names NUL-separated, so the list hashes unambiguously. */
    ff->id = hash64(ff->buf, used, 0x666c6f77u) | 1;
    return 0;
}

void input__flow_default(struct flow_format *ff)
{
    int rc = input__flow_format(ff, default_v2, strlen(default_v2), NULL);
    (void)rc; /* a constant that parses */
}

size_t input__flow_count_fields(const char *line, size_t len)
{
    size_t i = 0, n = 0;
    while (i < len) {
        while (i < len && is_sep(line[i]))
            i++;
        if (i == len)
            break;
        n++;
        while (i < len && !is_sep(line[i]))
            i++;
    }
    return n;
}

/* The end of the field starting at s (the first separator, or end) and whether
 * all its bytes are digits, 16 bytes at a time: a flow log line is a dozen
 * short fields, and a byte loop spent ~50 instructions on each. The input is
 * not padded, so the bytes before end that do not fill a block are copied into
 * one padded with separators. */
static inline const char *field_end(const char *s, const char *end, bool *digits)
{
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    bool dig = true;
    for (const char *p = s;; p += 16) {
        __m128i v;
        if (end - p >= 16) {
            v = _mm_loadu_si128((const __m128i *)(const void *)p);
        } else {
            char tmp[16];
            memset(tmp, ' ', sizeof(tmp));
            memcpy(tmp, p, (size_t)(end - p));
            v = _mm_loadu_si128((const __m128i *)(const void *)tmp);
        }
        unsigned sep = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, tab)));
        /* a digit d: (d - '0') as an unsigned byte is at most 9 */
        __m128i t = _mm_sub_epi8(v, zero);
        unsigned dm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(t, nine), t));
        if (sep != 0) {
            unsigned k = (unsigned)__builtin_ctz(sep);
            unsigned below = (1u << k) - 1;
            *digits = dig && (dm & below) == below;
            return p + k;
        }
        dig = dig && dm == 0xffffu;
    }
#else
    bool dig = true;
    const char *p = s;
    while (p < end && !is_sep(*p)) {
        dig &= (unsigned)(*p - '0') < 10u;
        p++;
    }
    *digits = dig;
    return p;
#endif
}

int input__flow_line(const struct flow_format *ff, const char *line, size_t len,
                     struct json_flat *out, struct err *err)
{
    if (out->cap < ff->n) {
        out->leaves = xrealloc(out->leaves, ff->n * sizeof(*out->leaves));
        out->cap = ff->n;
    }
    out->n = 0;
    const char *p = line, *end = line + len;
    size_t f = 0;
    for (;;) {
        while (p < end && is_sep(*p))
            p++;
        if (p == end)
            break;
        const char *s = p;
        bool digits;
        p = field_end(s, end, &digits);
        if (f == ff->n) {
            f++;
            break;
        }
        size_t n = (size_t)(p - s);
        if (!(n == 1 && s[0] == '-')) {
            struct json_leaf *l = &out->leaves[out->n++];
            /* Only documented integer fields become numbers. */
            uint8_t type = ff->numeric[f] && digits ? JSON_NUMBER : JSON_STRING;
            l->path = ff->names[f];
            l->path_hash = ff->hashes[f];
            l->val = s;
            l->path_len = ff->lens[f];
            l->val_len = (uint32_t)n;
            l->type = type;
            l->escaped = 0;
            l->n_arr = 0;
            l->arr = NULL;
        }
        f++;
    }
    if (f != ff->n) {
        size_t got = f > ff->n ? input__flow_count_fields(line, len) : f;
        out->n = 0;
        return err_set(err, ERR_FORMAT, "flow log record has %zu fields, the format has %zu", got,
                       ff->n);
    }
    return 0;
}
