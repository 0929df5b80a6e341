/* Unit tests for src/input: every accepted format, gzip, discovery, bad input. */
#include "event/event.h"
#include "harness.h"
#include "input/input.h"
#include "json/json.h"

#include <dirent.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

/* What a reader produced, kept as text so tests can look after the reader is
 * gone. */
struct run {
    int events, errors, notes;
    int n_ct, n_flow, n_dns;
    char first_err[ERR_MSG_MAX + 300];
    int first_err_code;
    uint64_t first_err_record;
    char first_note[ERR_MSG_MAX];
    char names[64][64];  /* event_name / query_name / srcaddr per event, in order */
    int64_t times[64];
    uint32_t flags[64];
};

static void note_event(struct run *run, const struct event *ev)
{
    int i = run->events;
    if (i < 64) {
        struct sv s = ev->source == EVENT_CLOUDTRAIL ? ev->event_name : ev->src_ip;
        if (ev->source == EVENT_DNS) {
            const struct json_leaf *l = json_flat_get(&ev->flat, "query_name");
            s = l ? sv_make(l->val, l->val_len) : SV_NULL;
        }
        snprintf(run->names[i], sizeof(run->names[i]), "%.*s", (int)s.len, s.p ? s.p : "");
        run->times[i] = ev->time_ms;
        run->flags[i] = ev->flags;
    }
    run->events++;
    if (ev->source == EVENT_CLOUDTRAIL)
        run->n_ct++;
    else if (ev->source == EVENT_VPCFLOW)
        run->n_flow++;
    else
        run->n_dns++;
}

static void drain(struct input_reader *r, struct run *run)
{
    struct event ev;
    struct err err;
    int rc;
    while ((rc = input_next(r, &ev, &err)) != INPUT_END) {
        if (rc == 0) {
            note_event(run, &ev);
        } else if (rc == INPUT_NOTE) {
            if (run->notes++ == 0)
                snprintf(run->first_note, sizeof(run->first_note), "%s", err.msg);
        } else {
            if (run->errors++ == 0) {
                err_format(&err, run->first_err, sizeof(run->first_err));
                run->first_err_code = rc;
                run->first_err_record = err.record;
            }
            CHECK(rc == ERR_FORMAT || rc == ERR_LIMIT || rc == ERR_IO);
            CHECK(err.file[0] != '\0');
        }
    }
}

static struct run run_mem_opt(const char *name, const void *data, size_t len,
                              const struct input_options *opt)
{
    struct run run;
    memset(&run, 0, sizeof(run));
    struct input_reader *r = NULL;
    struct err err;
    CHECK_INT(input_open_mem(name, data, len, opt, &r, &err), 0);
    if (r != NULL) {
        drain(r, &run);
        input_close(r);
    }
    return run;
}

static struct run run_mem(const char *text)
{
    return run_mem_opt("test", text, strlen(text), NULL);
}

static char *gzip_bytes(const void *in, size_t len, size_t *out_len)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t bound = libdeflate_gzip_compress_bound(c, len);
    char *out = xmalloc(bound);
    *out_len = libdeflate_gzip_compress(c, in, len, out, bound);
    libdeflate_free_compressor(c);
    return out;
}

static char tmpdir[256];

static void make_tmpdir(void)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-test-input-XXXXXX");
        CHECK(mkdtemp(tmpdir) != NULL);
    }
}

static void write_file(const char *rel, const void *data, size_t len)
{
    char path[512], dir[512];
    make_tmpdir();
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    /* mkdir -p of the parents */
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *s = dir + strlen(tmpdir) + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(dir, 0755);
            *s = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        rm_rf(sub);
    }
    closedir(d);
    rmdir(path);
}

/* Reads the one event of text and calls check on it. */
static void with_one_event(const char *text, void (*check)(const struct event *ev))
{
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("one", text, strlen(text), NULL, &r, &err), 0);
    int rc = input_next(r, &ev, &err);
    CHECK_INT(rc, 0);
    if (rc == 0)
        check(&ev);
    else
        printf("#   error: %s\n", err.msg);
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);
}

/* ---- AWS-format fixtures --------------------------------------------------- */

#define CT_REC(name, t)                                                                        \
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":"      \
    "\"AIDAEXAMPLE\",\"arn\":\"arn:aws:iam::111122223333:user/alice\",\"accountId\":"          \
    "\"111122223333\",\"accessKeyId\":\"AKIAEXAMPLE\",\"userName\":\"alice\"},\"eventTime\":" \
    "\"" t "\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"" name "\","              \
    "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"198.51.100.7\",\"userAgent\":"         \
    "\"aws-cli/2.13.5\",\"requestParameters\":{\"userName\":\"bob\"},\"responseElements\":"    \
    "null,\"requestID\":\"r-1\",\"eventID\":\"e-" name "\",\"readOnly\":false,\"eventType\":" \
    "\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"111122223333\","        \
    "\"eventCategory\":\"Management\",\"resources\":[{\"ARN\":\"arn:aws:iam::1:user/bob\","   \
    "\"accountId\":\"999999999999\"}]}"

static const char ct_file[] = "{\"Records\":[" CT_REC("CreateUser", "2023-07-10T12:24:49Z") ","
                              CT_REC("AttachUserPolicy", "2023-07-10T12:24:50Z") ","
                              CT_REC("CreateAccessKey", "2023-07-10T12:24:50.250Z") "]}";

static const char flow_v2[] =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status\n"
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 "
    "1418530010 1418530070 ACCEPT OK\n"
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 "
    "1418530010 1418530070 REJECT OK\n"
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n"
    "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n"
    "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 "
    "2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT "
    "OK\n";

static const char dns_lines[] =
    "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
    "\"vpc_id\":\"vpc-0a1b\",\"query_timestamp\":\"2026-11-20T09:00:10Z\",\"query_name\":"
    "\"api.github.com.\",\"query_type\":\"A\",\"query_class\":\"IN\",\"rcode\":\"NOERROR\","
    "\"answers\":[{\"Rdata\":\"140.82.112.6\",\"Type\":\"A\",\"Class\":\"IN\"}],\"srcaddr\":"
    "\"10.0.1.15\",\"srcport\":\"53000\",\"transport\":\"UDP\",\"srcids\":{\"instance\":"
    "\"i-0abc\"}}\n"
    "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
    "\"vpc_id\":\"vpc-0a1b\",\"query_timestamp\":\"2026-11-20T09:01:10.500Z\",\"query_name\":"
    "\"xmr.moneropool.ru.\",\"query_type\":\"TXT\",\"query_class\":\"IN\",\"rcode\":"
    "\"NXDOMAIN\",\"answers\":[],\"srcaddr\":\"10.0.1.16\",\"srcport\":\"53001\",\"transport\":"
    "\"UDP\",\"srcids\":{\"instance\":\"i-0abc\"},\"firewall_rule_action\":\"BLOCK\"}\n";

/* ---- VPC flow logs ------------------------------------------------------ */

static void test_flow_v2_header(void)
{
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("flow.log", flow_v2, strlen(flow_v2), NULL, &r, &err), 0);
    /* 1: SSH accepted */
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_VPCFLOW);
    CHECK_INT(ev.flat.n, 14);
    CHECK_SV(ev.account, "123456789010");
    CHECK_SV(ev.src_ip, "172.31.16.139");
    CHECK_INT(ev.time_ms, 1418530010000LL);
    CHECK_INT(ev.record_no, 1);
    CHECK_INT(ev.id.len, 16);
    const struct json_leaf *l = json_flat_get(&ev.flat, "dstport");
    CHECK(l != NULL && l->type == JSON_NUMBER && l->val_len == 2 && memcmp(l->val, "22", 2) == 0);
    l = json_flat_get(&ev.flat, "account-id");
    CHECK(l != NULL && l->type == JSON_STRING);
    l = json_flat_get(&ev.flat, "log-status");
    CHECK(l != NULL && l->val_len == 2);
    char id1[17];
    snprintf(id1, sizeof(id1), "%.*s", (int)ev.id.len, ev.id.p);
    /* 2: RDP rejected */
    CHECK_INT(input_next(r, &ev, &err), 0);
    l = json_flat_get(&ev.flat, "action");
    CHECK(l != NULL && l->type == JSON_STRING && memcmp(l->val, "REJECT", 6) == 0);
    l = json_flat_get(&ev.flat, "dstport");
    CHECK(l != NULL && memcmp(l->val, "3389", 4) == 0);
    CHECK(memcmp(ev.id.p, id1, 16) != 0);
    /* 3: NODATA: the "-" fields are absent */
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.flat.n, 6);
    CHECK(json_flat_get(&ev.flat, "srcaddr") == NULL);
    CHECK(json_flat_get(&ev.flat, "action") == NULL);
    CHECK_INT(ev.src_ip.len, 0);
    l = json_flat_get(&ev.flat, "log-status");
    CHECK(l != NULL && memcmp(l->val, "NODATA", 6) == 0);
    /* 4: SKIPDATA, 5: IPv6 */
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.src_ip, "2001:db8:1234:a100:8d6e:3477:df66:f105");
    CHECK_INT(ev.record_no, 5);
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);

    /* The same line in another file, without the header, has the same id. */
    const char *line2 = strchr(flow_v2, '\n') + 1;
    CHECK_INT(input_open_mem("other.log", line2, (size_t)(strchr(line2, '\n') - line2 + 1), NULL,
                             &r, &err),
              0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK(ev.id.len == 16 && memcmp(ev.id.p, id1, 16) == 0);
    CHECK(ev.file != NULL && strcmp(ev.file, "other.log") == 0);
    input_close(r);
}

static void test_flow_v2_no_header(void)
{
    const char *text = strchr(flow_v2, '\n') + 1;
    struct run run = run_mem(text);
    CHECK_INT(run.n_flow, 5);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[1], "172.31.9.69");
}

static void test_flow_custom_v5(void)
{
    /* Fields in a non-default order, as in the v5 documentation example; a
     * double space between two fields; CRLF line ends. */
    const char *text =
        "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id "
        "vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id "
        "action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service "
        "traffic-path flow-direction log-status\r\n"
        "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 "
        "vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b "
        "eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 "
        "S3 - - ingress OK\r\n"
        "5 10.0.0.71 52.95.128.179 34210  80 6 1616729292 1616729349 IPv4 7 471 123456789012 "
        "vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b "
        "eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - "
        "S3 8 egress OK\r\n";
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("v5.log", text, strlen(text), NULL, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.region, "ap-southeast-2");
    CHECK_SV(ev.account, "123456789012");
    CHECK(json_flat_get(&ev.flat, "traffic-path") == NULL);
    const struct json_leaf *l = json_flat_get(&ev.flat, "pkt-src-aws-service");
    CHECK(l != NULL && l->val_len == 2 && memcmp(l->val, "S3", 2) == 0);
    l = json_flat_get(&ev.flat, "tcp-flags");
    CHECK(l != NULL && l->type == JSON_NUMBER);
    CHECK_INT(input_next(r, &ev, &err), 0);
    l = json_flat_get(&ev.flat, "traffic-path");
    CHECK(l != NULL && l->type == JSON_NUMBER && l->val[0] == '8');
    l = json_flat_get(&ev.flat, "dstport");
    CHECK(l != NULL && l->val_len == 2);
    l = json_flat_get(&ev.flat, "flow-direction");
    CHECK(l != NULL && l->val_len == 6 && memcmp(l->val, "egress", 6) == 0);
    l = json_flat_get(&ev.flat, "log-status");
    CHECK(l != NULL && l->val_len == 2); /* no '\r' */
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);
}


/* The field splitter works 16 bytes at a time: check it against a plain
 * reference on generated lines (tabs and runs of spaces, "-", fields from 1 to
 * 40 bytes that straddle blocks, digits with one stray byte anywhere), each in
 * an exactly sized heap copy so reading past the end would trip ASan. */
static void test_flow_fields_generated(void)
{
    static const char *const names[] = { "version", "srcport", "dstaddr", "bytes", "action" };
    uint32_t seed = 7;
    char line[512], want[5][64];
    int want_type[5], checked = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0;
        if (iter % 3 == 0)
            line[len++] = ' ';
        for (int f = 0; f < 5; f++) {
            seed = seed * 1103515245u + 12345u;
            /* a long number first would pass for a CloudWatch Logs timestamp */
            size_t n = f == 0 ? 1 + (seed >> 16) % 3 : 1 + (seed >> 16) % 40;
            bool dash = (seed >> 8) % 9 == 0;
            bool stray = (seed >> 4) % 4 == 0;
            size_t stray_at = (seed >> 20) % n;
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                char c = (char)('0' + (seed >> 16) % 10);
                if (stray && i == stray_at)
                    c = "x.:a/"[(seed >> 8) % 5];
                want[f][i] = c;
            }
            if (dash) {
                n = 1;
                want[f][0] = '-';
            }
            want[f][n] = '\0';
            memcpy(line + len, want[f], n);
            len += n;
            bool digits = !dash && !stray; /* every stray byte is a non-digit */
            /* srcport and bytes are documented integers; dstaddr is not */
            want_type[f] = dash ? -1 : (f == 1 || f == 3 || f == 0) && digits ? JSON_NUMBER
                                                                             : JSON_STRING;
            if (f < 4) {
                seed = seed * 1103515245u + 12345u;
                size_t gap = 1 + (seed >> 16) % 3;
                for (size_t g = 0; g < gap; g++)
                    line[len++] = (seed >> (g + 3)) & 1 ? '\t' : ' ';
            }
        }
        if (iter % 5 == 0)
            line[len++] = ' ';
        char *copy = xmalloc(len);
        memcpy(copy, line, len);
        struct input_options opt;
        memset(&opt, 0, sizeof(opt));
        opt.vpcflow_fields = "version srcport dstaddr bytes action";
        struct input_reader *r = NULL;
        struct err err;
        struct event ev;
        CHECK_INT(input_open_mem("gen.log", copy, len, &opt, &r, &err), 0);
        int rc = input_next(r, &ev, &err);
        CHECK_INT(rc, 0);
        if (rc == 0) {
            for (int f = 0; f < 5; f++) {
                const struct json_leaf *l = json_flat_get(&ev.flat, names[f]);
                if (want_type[f] < 0) {
                    CHECK(l == NULL);
                    continue;
                }
                CHECK(l != NULL);
                if (l == NULL)
                    continue;
                CHECK_INT(l->type, want_type[f]);
                CHECK_SV(sv_make(l->val, l->val_len), want[f]);
                checked++;
            }
        }
        input_close(r);
        free(copy);
    }
    CHECK(checked > 12000);
}

static void test_flow_bad_lines(void)
{
    /* A short line, a long line and a line of junk are each reported with
     * their line number; the good lines around them still come out. */
    const char *text =
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
        "start end action log-status\n"
        "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n"
        "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010\n"
        "2 123456789010 eni-1 10.0.0.3 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK x y\n"
        "2 123456789010 eni-1 10.0.0.4 10.0.0.2 1 2 6 1 1 14185x0010 1418530070 ACCEPT OK\n"
        "2 123456789010 eni-1 10.0.0.5 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n";
    struct run run = run_mem(text);
    CHECK_INT(run.n_flow, 2);
    CHECK_INT(run.errors, 3);
    CHECK(strstr(run.first_err, "line 3") != NULL);
    CHECK(strstr(run.first_err, "has 11 fields, the format has 14") != NULL);
    CHECK(strstr(run.first_err, "test:") == run.first_err);
    CHECK_STR(run.names[1], "10.0.0.5");
}

static void test_flow_concatenated_and_option(void)
{
    /* Two S3 files joined with cat: the second header switches the format. */
    const char *text = "version srcaddr dstport action\n"
                       "2 10.0.0.1 22 ACCEPT\n"
                       "account-id srcaddr start\n"
                       "123456789012 10.0.0.9 1600000000\n";
    struct run run = run_mem(text);
    CHECK_INT(run.n_flow, 2);
    CHECK_INT(run.errors, 0);
    CHECK_INT(run.times[1], 1600000000000LL);

    /* A headerless custom format (as CloudWatch Logs delivers it) needs the
     * format from the caller. */
    struct input_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.vpcflow_fields = "srcaddr dstaddr dstport action";
    const char *body = "10.1.1.1 10.2.2.2 443 ACCEPT\n10.1.1.2 10.2.2.2 80 REJECT\n";
    run = run_mem_opt("cw", body, strlen(body), &opt);
    CHECK_INT(run.n_flow, 2);
    CHECK_STR(run.names[1], "10.1.1.2");
    /* Without it, the same data is not recognised. */
    run = run_mem(body);
    CHECK_INT(run.n_flow, 0);
    CHECK_INT(run.errors, 1);
    CHECK(strstr(run.first_err, "not a recognised log format") != NULL);
    /* A bad format in the options is a usage error. */
    opt.vpcflow_fields = "srcaddr Bad!";
    struct input_reader *r = NULL;
    struct err err;
    CHECK_INT(input_open_mem("x", body, strlen(body), &opt, &r, &err), ERR_USAGE);
    CHECK(r == NULL);
}

static void test_flow_cwl_export(void)
{
    /* Flow logs delivered to CloudWatch Logs and exported to S3: each line
     * starts with the event's timestamp. */
    const char *text =
        "2019-11-14T00:51:00.000Z 2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 "
        "1418530070 ACCEPT OK\n"
        "2019-11-14T00:51:01.000Z 2 123456789010 eni-1 10.0.0.7 10.0.0.2 1 2 6 1 1 1418530010 "
        "1418530070 REJECT OK\n";
    struct run run = run_mem(text);
    CHECK_INT(run.n_flow, 2);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[1], "10.0.0.7");
}

/* ---- CloudTrail ------------------------------------------------------------- */

static void check_ct_first(const struct event *ev)
{
    CHECK_INT(ev->source, EVENT_CLOUDTRAIL);
    CHECK_SV(ev->event_name, "CreateUser");
    CHECK_SV(ev->event_source, "iam.amazonaws.com");
    CHECK_SV(ev->account, "111122223333");
    CHECK_SV(ev->region, "us-east-1");
    CHECK_SV(ev->src_ip, "198.51.100.7");
    CHECK_SV(ev->principal_arn, "arn:aws:iam::111122223333:user/alice");
    CHECK_SV(ev->principal_type, "IAMUser");
    CHECK_SV(ev->user_name, "alice");
    CHECK_SV(ev->access_key, "AKIAEXAMPLE");
    CHECK_SV(ev->id, "e-CreateUser");
    CHECK_SV(ev->event_category, "Management");
    CHECK_INT(ev->time_ms, 1688991889000LL);
    CHECK(json_flat_get(&ev->flat, "requestParameters.userName") != NULL);
}

static void test_ct_records_file(void)
{
    struct run run = run_mem(ct_file);
    CHECK_INT(run.n_ct, 3);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[2], "CreateAccessKey");
    CHECK_INT(run.times[2], 1688991890250LL);

    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("ct.json", ct_file, strlen(ct_file), NULL, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    check_ct_first(&ev);
    CHECK_INT(ev.record_no, 1);
    CHECK(ev.raw.len > 100 && ev.raw.p[0] == '{' && ev.raw.p[ev.raw.len - 1] == '}');
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.record_no, 2);
    input_close(r);

    /* Pretty-printed, with other members around Records. */
    const char *pretty = "{\n  \"Other\": [1, {\"a\": \"]\"}],\n  \"Records\": [\n    " CT_REC(
        "CreateUser", "2023-07-10T12:24:49Z") ",\n    " CT_REC("DeleteUser",
                                                               "2023-07-10T12:25:49Z") "\n  ],\n"
                                                                                       "  \"x\": "
                                                                                       "true\n}"
                                                                                       "\n";
    run = run_mem(pretty);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[1], "DeleteUser");

    /* An empty Records array is a valid (quiet) file. */
    run = run_mem("{\"Records\":[]}");
    CHECK_INT(run.events + run.errors + run.notes, 0);
}

static void test_ct_other_shapes(void)
{
    /* one record per line */
    const char *lines = CT_REC("CreateUser", "2023-07-10T12:24:49Z") "\n" CT_REC(
        "DeleteUser", "2023-07-10T12:24:49Z") "\n\n" CT_REC("ListUsers", "2023-07-10T12:24:49Z");
    struct run run = run_mem(lines);
    CHECK_INT(run.n_ct, 3);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[2], "ListUsers");
    /* a single record */
    with_one_event(CT_REC("CreateUser", "2023-07-10T12:24:49Z"), check_ct_first);
    /* a JSON array of records (Stratus Red Team detonation logs) */
    const char *arr = "[\n " CT_REC("CreateUser", "2023-07-10T12:24:49Z") ",\n " CT_REC(
        "GetObject", "2023-07-10T12:24:49Z") "\n]\n";
    run = run_mem(arr);
    CHECK_INT(run.n_ct, 2);
    CHECK_STR(run.names[1], "GetObject");
    /* concatenated pretty records */
    const char *cat = "{\n \"eventVersion\": \"1.08\",\n \"eventName\": \"A\",\n \"eventTime\": "
                      "\"2023-01-01T00:00:00Z\"\n}\n{\n \"eventVersion\": \"1.08\",\n "
                      "\"eventName\": \"B\",\n \"eventTime\": \"2023-01-01T00:00:00Z\"\n}\n";
    run = run_mem(cat);
    CHECK_INT(run.n_ct, 2);
    CHECK_STR(run.names[1], "B");
}

static void check_envelope(const struct event *ev)
{
    CHECK_SV(ev->event_name, "ConsoleLogin");
    CHECK_SV(ev->envelope.detail_type, "AWS Console Sign In via CloudTrail");
    CHECK_SV(ev->envelope.source, "aws.signin");
    CHECK_SV(ev->envelope.id, "6f87d04b-9f74-4f04-a780-7acf4b0a9b38");
    CHECK_SV(ev->envelope.time, "2022-11-10T16:24:34Z");
    CHECK(ev->flags & EVENT_F_ENVELOPE);
    CHECK(ev->envelope.raw.len > ev->raw.len);
    /* leaves are record-rooted, as for a bare record */
    const struct json_leaf *l = json_flat_get(&ev->flat, "additionalEventData.MFAUsed");
    CHECK(l != NULL && l->val_len == 2);
    CHECK(json_flat_get(&ev->flat, "detail.eventName") == NULL);
    CHECK_SV(ev->region, "us-east-1");
}

static void test_ct_eventbridge(void)
{
    const char *env =
        "{\"version\":\"0\",\"id\":\"6f87d04b-9f74-4f04-a780-7acf4b0a9b38\",\"detail-type\":"
        "\"AWS Console Sign In via CloudTrail\",\"source\":\"aws.signin\",\"account\":"
        "\"111122223333\",\"time\":\"2022-11-10T16:24:34Z\",\"region\":\"us-east-1\","
        "\"resources\":[],\"detail\":{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":"
        "\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/anaya\",\"userName\":\"anaya\"},"
        "\"eventTime\":\"2022-11-10T16:24:34Z\",\"eventSource\":\"signin.amazonaws.com\","
        "\"eventName\":\"ConsoleLogin\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":"
        "\"192.0.2.0\",\"responseElements\":{\"ConsoleLogin\":\"Success\"},"
        "\"additionalEventData\":{\"MFAUsed\":\"No\"},\"eventID\":\"e1\",\"eventType\":"
        "\"AwsConsoleSignIn\",\"recipientAccountId\":\"111122223333\"}}";
    with_one_event(env, check_envelope);

    /* Other EventBridge events are named in a note, not dropped silently. */
    struct run run = run_mem("{\"version\":\"0\",\"id\":\"x\",\"detail-type\":\"GuardDuty "
                             "Finding\",\"source\":\"aws.guardduty\",\"detail\":{\"type\":\"x\"}}");
    CHECK_INT(run.events, 0);
    CHECK_INT(run.notes, 1);
    CHECK(strstr(run.first_note, "GuardDuty Finding") != NULL);
}

static void test_ct_cloudwatch(void)
{
    /* CloudWatch Logs export to S3: a timestamp, a space, the record. */
    const char *exp = "2023-07-10T12:24:49.000Z " CT_REC("CreateUser", "2023-07-10T12:24:49Z") "\n"
                      "2023-07-10T12:24:50.000Z " CT_REC("DeleteUser", "2023-07-10T12:24:49Z") "\n";
    struct run run = run_mem(exp);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[1], "DeleteUser");
    /* The export's aws-logs-write-test object is not an error. */
    run = run_mem("Permission Check Successful");
    CHECK_INT(run.notes, 1);
    CHECK_INT(run.errors + run.events, 0);

    /* Subscription payload (Firehose to S3): records as JSON strings, and a
     * CONTROL_MESSAGE that carries nothing. */
    const char *fh =
        "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\","
        "\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\",\"timestamp\":"
        "1,\"message\":\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}"
        "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"111122223333\",\"logGroup\":\"aws-"
        "cloudtrail-logs\",\"logStream\":\"111122223333_CloudTrail_us-east-1\","
        "\"subscriptionFilters\":[\"f\"],\"logEvents\":[{\"id\":\"1\",\"timestamp\":1688991889000,"
        "\"message\":\"{\\\"eventVersion\\\":\\\"1.08\\\",\\\"eventTime\\\":\\\"2023-07-10T12:24:"
        "49Z\\\",\\\"eventName\\\":\\\"StopLogging\\\",\\\"eventSource\\\":\\\"cloudtrail."
        "amazonaws.com\\\"}\"},{\"id\":\"2\",\"timestamp\":1,\"message\":\"{\\\"eventVersion\\\":"
        "\\\"1.08\\\",\\\"eventTime\\\":\\\"2023-07-10T12:24:50Z\\\",\\\"eventName\\\":\\\"Delete"
        "Trail\\\"}\"}]}";
    size_t gzlen;
    char *gz = gzip_bytes(fh, strlen(fh), &gzlen);
    run = run_mem_opt("firehose.gz", gz, gzlen, NULL);
    free(gz);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 0);
    CHECK_STR(run.names[0], "StopLogging");
    CHECK_STR(run.names[1], "DeleteTrail");
}

static void test_ct_lookup_events_and_insights(void)
{
    /* lookup-events output: CloudTrailEvent is the record as a string. */
    const char *lk =
        "{\"Events\":[{\"EventId\":\"e1\",\"EventName\":\"ConsoleLogin\",\"CloudTrailEvent\":"
        "\"{\\\"eventVersion\\\":\\\"1.08\\\",\\\"eventTime\\\":\\\"2023-07-10T12:23:15Z\\\","
        "\\\"eventName\\\":\\\"ConsoleLogin\\\",\\\"userIdentity\\\":{\\\"userName\\\":\\\"r\\u00e9"
        "my\\\"}}\"}],\"NextToken\":\"abc\"}";
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("lookup.json", lk, strlen(lk), NULL, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.event_name, "ConsoleLogin");
    CHECK_SV(ev.user_name, "r\xc3\xa9my");
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);

    /* Insights Start/End pair, as delivered under CloudTrail-Insight/. */
    const char *ins =
        "{\"Records\":[{\"eventVersion\":\"1.07\",\"eventTime\":\"2019-11-14T00:51:00Z\","
        "\"awsRegion\":\"us-east-1\",\"eventID\":\"E1\",\"eventType\":\"AwsCloudTrailInsight\","
        "\"recipientAccountId\":\"123456789012\",\"sharedEventID\":\"S1\",\"insightDetails\":{"
        "\"state\":\"Start\",\"eventSource\":\"ssm.amazonaws.com\",\"eventName\":"
        "\"UpdateInstanceInformation\",\"insightType\":\"ApiCallRateInsight\",\"insightContext\":"
        "{\"statistics\":{\"baseline\":{\"average\":85.4202380952},\"insight\":{\"average\":664}}}"
        "},\"eventCategory\":\"Insight\"},{\"eventVersion\":\"1.07\",\"eventTime\":\"2019-11-14T00:"
        "52:00Z\",\"eventID\":\"E2\",\"eventType\":\"AwsCloudTrailInsight\",\"eventCategory\":"
        "\"Insight\",\"insightDetails\":{\"state\":\"End\",\"eventName\":\"UpdateInstance"
        "Information\"}}]}";
    CHECK_INT(input_open_mem("insight.json", ins, strlen(ins), NULL, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK(ev.flags & EVENT_F_INSIGHT);
    CHECK_SV(ev.event_name, "UpdateInstanceInformation");
    CHECK_SV(ev.event_source, "ssm.amazonaws.com");
    CHECK_SV(ev.event_category, "Insight");
    const struct json_leaf *l =
        json_flat_get(&ev.flat, "insightDetails.insightContext.statistics.insight.average");
    CHECK(l != NULL && l->type == JSON_NUMBER);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK(ev.flags & EVENT_F_INSIGHT);
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);

    /* A management record is not an insight. */
    struct run run = run_mem(ct_file);
    CHECK_INT(run.flags[0] & EVENT_F_INSIGHT, 0);
}

static void test_ct_skipped_kinds(void)
{
    const char *digest =
        "{\"awsAccountId\":\"111122223333\",\"digestStartTime\":\"2015-08-17T14:01:31Z\","
        "\"digestEndTime\":\"2015-08-17T15:01:31Z\",\"digestS3Bucket\":\"b\",\"digestS3Object\":"
        "\"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/x.json.gz\","
        "\"logFiles\":[]}";
    struct run run = run_mem(digest);
    CHECK_INT(run.events + run.errors, 0);
    CHECK_INT(run.notes, 1);
    CHECK(strstr(run.first_note, "digest") != NULL);

    run = run_mem("{\"Type\":\"Notification\",\"TopicArn\":\"arn:aws:sns:us-east-1:1:t\","
                  "\"Message\":\"{\\\"s3Bucket\\\":\\\"b\\\"}\"}");
    CHECK_INT(run.notes, 1);
    CHECK_INT(run.events + run.errors, 0);
    run = run_mem("{\"Type\":\"Notification\",\"TopicArn\":\"arn:aws:sns:us-east-1:1:t\","
                  "\"Messagess\":\"x\"}");
    CHECK_INT(run.errors, 1);
    CHECK_INT(run.events, 0);
    run = run_mem("{\"fileVersion\":\"1.0\",\"configurationItems\":[]}");
    CHECK_INT(run.notes, 1);
    run = run_mem("{\"hello\":\"world\"}");
    CHECK_INT(run.errors, 1);
    CHECK(strstr(run.first_err, "not a CloudTrail record") != NULL);
}

/* ---- Route 53 Resolver ---------------------------------------------------- */

static void test_dns(void)
{
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("dns.log", dns_lines, strlen(dns_lines), NULL, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_DNS);
    CHECK_SV(ev.account, "111122223333");
    CHECK_SV(ev.region, "us-east-1");
    CHECK_SV(ev.src_ip, "10.0.1.15");
    CHECK_INT(ev.time_ms, 1795165210000LL);
    CHECK_INT(ev.id.len, 16);
    const struct json_leaf *l = json_flat_get(&ev.flat, "answers.Rdata");
    CHECK(l != NULL && l->n_arr == 1);
    l = json_flat_get(&ev.flat, "srcids.instance");
    CHECK(l != NULL && l->val_len == 6);
    char id1[17];
    snprintf(id1, sizeof(id1), "%.*s", (int)ev.id.len, ev.id.p);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.time_ms, 1795165270500LL);
    CHECK(memcmp(ev.id.p, id1, 16) != 0);
    l = json_flat_get(&ev.flat, "firewall_rule_action");
    CHECK(l != NULL);
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);

    /* gzip, as delivered under vpcdnsquerylogs/: same records, same ids */
    size_t gzlen;
    char *gz = gzip_bytes(dns_lines, strlen(dns_lines), &gzlen);
    CHECK_INT(input_open_mem("dns.log.gz", gz, gzlen, NULL, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK(ev.id.len == 16 && memcmp(ev.id.p, id1, 16) == 0);
    input_close(r);
    free(gz);
}

/* ---- gzip --------------------------------------------------------------- */

static void test_gzip(void)
{
    size_t l1, l2;
    char *a = gzip_bytes(ct_file, strlen(ct_file), &l1);
    struct run run = run_mem_opt("ct.json.gz", a, l1, NULL);
    CHECK_INT(run.n_ct, 3);
    CHECK_INT(run.errors, 0);

    /* Two members (gzip a b > c): all records of both. */
    const char *part2 = "\n" CT_REC("Second", "2023-07-10T12:24:49Z") "\n";
    char *b = gzip_bytes(part2, strlen(part2), &l2);
    char *both = xmalloc(l1 + l2);
    memcpy(both, a, l1);
    memcpy(both + l1, b, l2);
    run = run_mem_opt("two.gz", both, l1 + l2, NULL);
    CHECK_INT(run.n_ct, 4);
    CHECK_STR(run.names[3], "Second");
    CHECK_INT(run.errors, 0);

    /* Truncated: one error naming the file, no events, nothing crashes. */
    run = run_mem_opt("cut.json.gz", a, l1 / 2, NULL);
    CHECK_INT(run.events, 0);
    CHECK_INT(run.errors, 1);
    CHECK_INT(run.first_err_code, ERR_FORMAT);
    CHECK(strstr(run.first_err, "cut.json.gz") != NULL);
    CHECK(strstr(run.first_err, "gzip") != NULL);
    /* A header only. */
    run = run_mem_opt("tiny.gz", a, 10, NULL);
    CHECK_INT(run.errors, 1);

    /* Corrupt bytes in the middle (the CRC or the data notices). */
    char *bad = xmalloc(l1);
    memcpy(bad, a, l1);
    bad[l1 / 2] ^= 0x55;
    bad[l1 / 2 + 1] ^= 0x55;
    run = run_mem_opt("bad.gz", bad, l1, NULL);
    CHECK_INT(run.events, 0);
    CHECK_INT(run.errors, 1);

    /* The first member good, junk after it: the good records, then an error. */
    memcpy(both + l1, "garbage!garbage!garbage!", 24);
    run = run_mem_opt("junk.gz", both, l1 + 24, NULL);
    CHECK_INT(run.n_ct, 3);
    CHECK_INT(run.errors, 1);

    /* Very compressible data (ratio in the hundreds): the output buffer grows
     * past its first guess and every record comes out. */
    struct buf many;
    buf_init(&many, 0);
    for (int i = 0; i < 20000; i++)
        (void)buf_append_cstr(&many, CT_REC("Same", "2023-07-10T12:24:49Z") "\n");
    size_t lm;
    char *gm = gzip_bytes(many.p, many.len, &lm);
    CHECK(lm * 32 < many.len);
    run = run_mem_opt("many.gz", gm, lm, NULL);
    CHECK_INT(run.n_ct, 20000);
    CHECK_INT(run.errors, 0);
    free(gm);
    buf_free(&many);

    /* Over the size cap: ERR_LIMIT. */
    struct input_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.max_file = 100;
    run = run_mem_opt("big.gz", a, l1, &opt);
    CHECK_INT(run.events, 0);
    CHECK_INT(run.first_err_code, ERR_LIMIT);
    free(a);
    free(b);
    free(both);
    free(bad);
}

/* ---- bad input -------------------------------------------------------------- */

static void test_bad_json(void)
{
    /* An invalid line in JSON lines costs only itself. */
    const char *lines = CT_REC("A1", "2023-07-10T12:24:49Z") "\n"
                        "{\"eventVersion\":\"1.08\",\"eventName\":\"broken\n" CT_REC(
                            "A3", "2023-07-10T12:24:49Z") "\n"
                                                          "not json at all\n" CT_REC(
                                                              "A5", "2023-07-10T12:24:49Z") "\n";
    struct run run = run_mem(lines);
    CHECK_INT(run.n_ct, 3);
    CHECK_INT(run.errors, 2);
    CHECK(strstr(run.first_err, "line 2") != NULL);
    CHECK_INT(run.first_err_record, 2);
    CHECK_STR(run.names[2], "A5");

    /* A garbled element of a Records array: the others still come out. */
    const char *recs = "{\"Records\":[\n" CT_REC("B1", "2023-07-10T12:24:49Z") ",\n"
                       "{\"eventVersion\":\"1.08\",\"eventName\":\"B2\",garbled,\"x\":[1,2]},\n" CT_REC(
                           "B3", "2023-07-10T12:24:49Z") "]}";
    run = run_mem(recs);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 1);
    CHECK_INT(run.first_err_record, 2);
    CHECK_STR(run.names[1], "B3");

    /* A truncated (uncompressed) Records file: what is whole comes out, the
     * cut is reported. */
    char cut[sizeof(ct_file)];
    size_t n = strlen(ct_file) - 200;
    memcpy(cut, ct_file, n);
    run = run_mem_opt("cut.json", cut, n, NULL);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 1);

    /* eventName a number, userIdentity.arn a boolean: wrong types are errors
     * naming the field; the next record is fine. */
    const char *types = "{\"eventVersion\":\"1.08\",\"eventName\":42,\"eventTime\":"
                        "\"2023-01-01T00:00:00Z\"}\n"
                        "{\"eventVersion\":\"1.08\",\"eventName\":\"X\",\"userIdentity\":{\"arn\":"
                        "true}}\n"
                        "{\"eventVersion\":\"1.08\",\"eventName\":\"X\",\"eventTime\":\"yesterday\"}\n"
                        "{\"eventVersion\":\"1.08\",\"eventName\":null,\"eventTime\":null}\n";
    run = run_mem(types);
    CHECK_INT(run.errors, 3);
    CHECK_INT(run.n_ct, 1); /* nulls are absent values, not errors */
    CHECK(strstr(run.first_err, "eventName is a number, expected a string") != NULL);

    /* Binary junk and an empty file. */
    unsigned char junk[300];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    run = run_mem_opt("junk.bin", junk, sizeof(junk), NULL);
    CHECK_INT(run.events, 0);
    CHECK_INT(run.errors, 1);
    CHECK(strstr(run.first_err, "binary") != NULL);
    run = run_mem_opt("empty", "", 0, NULL);
    CHECK_INT(run.events + run.errors, 0);
    CHECK_INT(run.notes, 1);
    run = run_mem("  \n\n ");
    CHECK_INT(run.notes, 1);
    run = run_mem("PAR1\x15\x04 parquet");
    CHECK_INT(run.errors, 1);
    CHECK(strstr(run.first_err, "Parquet") != NULL);
}

static void test_huge_line(void)
{
    /* A 100 MB line between two good ones: ERR_LIMIT for it, the rest read. */
    size_t big = 100u << 20;
    const char *a = CT_REC("Before", "2023-07-10T12:24:49Z") "\n";
    const char *c = CT_REC("After", "2023-07-10T12:24:49Z") "\n";
    size_t la = strlen(a), lc = strlen(c);
    char *buf = xmalloc(la + big + 1 + lc);
    memcpy(buf, a, la);
    memset(buf + la, ' ', big);
    memcpy(buf + la, "{\"eventName\":\"", 14);
    memcpy(buf + la + big - 2, "\"}", 2);
    buf[la + big] = '\n';
    memcpy(buf + la + big + 1, c, lc);
    struct run run = run_mem_opt("huge.json", buf, la + big + 1 + lc, NULL);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 1);
    CHECK_INT(run.first_err_code, ERR_LIMIT);
    CHECK(strstr(run.first_err, "line 2") != NULL);
    CHECK_STR(run.names[1], "After");

    /* The same inside a Records array (one compact line): the element is
     * refused with ERR_LIMIT, its neighbours are read. */
    struct input_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.max_record = 1000;
    const char *recs = "{\"Records\":[" CT_REC("R1", "2023-07-10T12:24:49Z") ",{\"eventName\":\"" 
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "\"}," CT_REC("R3", "2023-07-10T12:24:49Z") "]}";
    run = run_mem_opt("recs", recs, strlen(recs), &opt);
    CHECK_INT(run.n_ct, 2);
    CHECK_INT(run.errors, 1);
    CHECK_INT(run.first_err_code, ERR_LIMIT);
    CHECK_INT(run.first_err_record, 2);
    free(buf);
}

/* ---- discovery ------------------------------------------------------------ */

static void test_hints(void)
{
    struct input_file f;
    CHECK(input_hint_from_path("bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/"
                               "111122223333_CloudTrail_us-east-1_20261120T1000Z_63FE92F442FD4051."
                               "json.gz",
                               &f));
    CHECK_INT(f.hint, INPUT_HINT_CLOUDTRAIL);
    CHECK_STR(f.account, "111122223333");
    CHECK_STR(f.region, "us-east-1");
    CHECK(input_hint_from_path("AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1/"
                               "2015/08/17/x.json.gz",
                               &f));
    CHECK_INT(f.hint, INPUT_HINT_CLOUDTRAIL_DIGEST);
    CHECK_STR(f.region, "eu-west-1");
    CHECK(input_hint_from_path("/x/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/"
                               "aws-region=us-east-2/year=2023/month=01/day=02/f.log.gz",
                               &f));
    CHECK_INT(f.hint, INPUT_HINT_VPCFLOW);
    CHECK_STR(f.account, "123456789012");
    CHECK_STR(f.region, "us-east-2");
    CHECK(input_hint_from_path("AWSLogs/111122223333/vpcdnsquerylogs/vpc-0a1b2c3d4e5f60718/2026/11/"
                               "20/a.log.gz",
                               &f));
    CHECK_INT(f.hint, INPUT_HINT_DNS);
    CHECK_STR(f.region, "vpc-0a1b2c3d4e5f60718");
    CHECK(input_hint_from_path("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2019/11/14/a", &f));
    CHECK_INT(f.hint, INPUT_HINT_CLOUDTRAIL_INSIGHT);
    CHECK(input_hint_from_path("/tmp/218007301253_CloudTrail_us-east-1_20230710T1220Z_WMiH.json",
                               &f));
    CHECK_INT(f.hint, INPUT_HINT_CLOUDTRAIL);
    CHECK_STR(f.account, "218007301253");
    CHECK(!input_hint_from_path("/tmp/notes/whatever.json", &f));
    CHECK_INT(f.hint, INPUT_HINT_NONE);
}

static void test_name_time(void)
{
    int64_t ms = 0;
    size_t off = 0, plen = 0;
    const char *ct = "bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/"
                     "111122223333_CloudTrail_us-east-1_20261120T1005Z_63FE92F442FD4051.json.gz";
    CHECK(input_name_time(ct, &ms, &off, &plen));
    char iso[32];
    time_format_iso8601(ms, false, iso);
    CHECK_STR(iso, "2026-11-20T10:05:00Z");
    CHECK_STR(ct + off, "111122223333_CloudTrail_us-east-1_20261120T1005Z_63FE92F442FD4051.json.gz");
    CHECK_INT(plen, strlen("111122223333_CloudTrail_us-east-1"));
    /* Flow logs: the flow log id sits between the Region and the time. */
    const char *fl = "111122223333_vpcflowlogs_us-east-1_fl-1234abcd_20240229T2355Z_hash.log.gz";
    CHECK(input_name_time(fl, &ms, &off, &plen));
    time_format_iso8601(ms, false, iso);
    CHECK_STR(iso, "2024-02-29T23:55:00Z");
    CHECK_INT(off, 0);
    CHECK_INT(plen, strlen("111122223333_vpcflowlogs_us-east-1_fl-1234abcd"));
    /* Ends with '.' after Z too; a bad first candidate does not hide a good one. */
    CHECK(input_name_time("/x/a_20261399T0000Z_b_20261231T2359Z.log", &ms, &off, &plen));
    time_format_iso8601(ms, false, iso);
    CHECK_STR(iso, "2026-12-31T23:59:00Z");
    CHECK_INT(off, 3);
    CHECK_INT(plen, strlen("a_20261399T0000Z_b"));
    /* No valid time: days a month lacks, 29 February of a common year, hour 24,
     * minute 60, a letter among the digits, no separator after Z, no '_' before. */
    static const char *bad[] = {
        "a_20260231T0000Z_x", "a_20250229T0000Z_x", "a_20260101T2400Z_x", "a_20260101T0060Z_x",
        "a_2026O101T0000Z_x", "a_20260101T0000Zx",  "a20260101T0000Z_x",  "a_20260101T0000Z",
        "a_20260431T0000Z_x", "AWSLogs/a_20260101T0000Z_x/plain.json", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (input_name_time(bad[i], &ms, &off, &plen)) {
            printf("#   %s: a time was found\n", bad[i]);
            harness_failures++;
        }
    }
}

static void test_collect_and_read(void)
{
    size_t gzlen;
    char *gz = gzip_bytes(ct_file, strlen(ct_file), &gzlen);
    const char *acct = "AWSLogs/111122223333/";
    char rel[512];
    snprintf(rel, sizeof(rel), "%sCloudTrail/us-east-1/2026/11/20/"
                               "111122223333_CloudTrail_us-east-1_20261120T1000Z_B.json.gz",
             acct);
    write_file(rel, gz, gzlen);
    snprintf(rel, sizeof(rel), "%sCloudTrail/us-east-1/2026/11/20/"
                               "111122223333_CloudTrail_us-east-1_20261120T0900Z_A.json.gz",
             acct);
    write_file(rel, gz, gzlen);
    snprintf(rel, sizeof(rel), "%sCloudTrail-Digest/us-east-1/2026/11/20/"
                               "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_"
                               "20261120T1000Z.json.gz",
             acct);
    write_file(rel, "not even read", 13);
    free(gz);
    gz = gzip_bytes(flow_v2, strlen(flow_v2), &gzlen);
    snprintf(rel, sizeof(rel), "%svpcflowlogs/us-east-1/2026/11/20/"
                               "111122223333_vpcflowlogs_us-east-1_fl-1_20261120T1030Z_0.log.gz",
             acct);
    write_file(rel, gz, gzlen);
    free(gz);
    gz = gzip_bytes(dns_lines, strlen(dns_lines), &gzlen);
    snprintf(rel, sizeof(rel), "%svpcdnsquerylogs/vpc-0a1b/2026/11/20/"
                               "111122223333_vpcdnsquerylogs_vpc-0a1b_20261120T1045Z_0.log.gz",
             acct);
    write_file(rel, gz, gzlen);
    free(gz);
    write_file("README.md", "# not a log", 11);
    write_file(".hidden", "x", 1);
    write_file("empty.json", "", 0);

    struct input_list list;
    input_list_init(&list);
    struct err err;
    const char *paths[] = { tmpdir };
    CHECK_INT(input_collect(paths, 1, &list, &err), 0);
    CHECK_INT(list.n, 6);
    if (list.n == 6) {
        /* sorted: AWSLogs/... before empty.json; 0900Z before 1000Z */
        CHECK(strstr(list.files[0].path, "0900Z_A") != NULL);
        CHECK(strstr(list.files[1].path, "1000Z_B") != NULL);
        CHECK_INT(list.files[2].hint, INPUT_HINT_CLOUDTRAIL_DIGEST);
        CHECK_INT(list.files[3].hint, INPUT_HINT_DNS);
        CHECK_INT(list.files[4].hint, INPUT_HINT_VPCFLOW);
        CHECK(strstr(list.files[5].path, "empty.json") != NULL);
    }
    struct input_reader *r = NULL;
    CHECK_INT(input_open(&list, NULL, &r, &err), 0);
    struct run run;
    memset(&run, 0, sizeof(run));
    drain(r, &run);
    CHECK_INT(run.n_ct, 6);
    CHECK_INT(run.n_dns, 2);
    CHECK_INT(run.n_flow, 5);
    CHECK_INT(run.errors, 0);
    CHECK_INT(run.notes, 2); /* the digest and the empty file */
    struct input_stats st;
    input_get_stats(r, &st);
    CHECK_INT(st.files, 6);
    CHECK_INT(st.records, 13);
    CHECK_INT(st.notes, 2);
    CHECK(st.bytes_out > st.bytes_in);
    input_close(r);

    /* A missing path is an error naming it; the others are still listed. */
    input_list_free(&list);
    input_list_init(&list);
    const char *two[] = { "/nonexistent/vigil/x.json", tmpdir, "-" };
    CHECK_INT(input_collect(two, 3, &list, &err), ERR_NOTFOUND);
    CHECK_STR(err.file, "/nonexistent/vigil/x.json");
    CHECK_INT(list.n, 7);
    CHECK_STR(list.files[6].path, "-");
    input_list_free(&list);
    input_list_free(NULL);
    input_close(NULL);
    rm_rf(tmpdir);
    tmpdir[0] = '\0';
}

static void test_stdin(void)
{
    /* "-" reads standard input (whole, then sniffed like a file). */
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    CHECK(write(fds[1], dns_lines, strlen(dns_lines)) == (ssize_t)strlen(dns_lines));
    close(fds[1]);
    int saved = dup(0);
    dup2(fds[0], 0);
    close(fds[0]);
    struct input_list list;
    struct err err;
    input_list_init(&list);
    const char *paths[] = { "-" };
    CHECK_INT(input_collect(paths, 1, &list, &err), 0);
    struct input_reader *r = NULL;
    CHECK_INT(input_open(&list, NULL, &r, &err), 0);
    struct event ev;
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_DNS);
    CHECK_STR(ev.file, "-");
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);
    input_list_free(&list);
    dup2(saved, 0);
    close(saved);
}

/* ---- live streams ------------------------------------------------------------ */

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    CHECK(write(fd, s, n) == (ssize_t)n);
}

static void test_stream_lines(void)
{
    /* Records come out as their lines complete; nothing waits for EOF. */
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    struct input_options opt = { .max_record = 1024 };
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_stream(NULL, fds[0], &opt, &r, &err), 0);
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    const char *rec = CT_REC("CreateUser", "2023-07-10T12:24:49Z") "\n";
    size_t half = strlen(rec) / 2;
    CHECK(write(fds[1], rec, half) == (ssize_t)half);
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN); /* half a line is no record */
    put(fds[1], rec + half);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_CLOUDTRAIL);
    CHECK_SV(ev.event_name, "CreateUser");
    CHECK_STR(ev.file, "-");
    CHECK_INT(ev.record_no, 1);
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    /* A bad line costs itself, with its record number. */
    put(fds[1], "{\"eventVersion\": broken\n");
    CHECK_INT(input_next(r, &ev, &err), ERR_FORMAT);
    CHECK_INT(err.record, 2);
    /* A line over max_record: ERR_LIMIT, skipped up to its newline. */
    char big[3000];
    memset(big, 'x', sizeof(big));
    big[0] = '{';
    CHECK(write(fds[1], big, sizeof(big)) == (ssize_t)sizeof(big));
    int rc = input_next(r, &ev, &err);
    CHECK_INT(rc, ERR_LIMIT);
    CHECK_INT(err.record, 3);
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    put(fds[1], "xxxx}\n" CT_REC("AttachUserPolicy", "2023-07-10T12:24:50Z") "\n");
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.event_name, "AttachUserPolicy");
    CHECK_INT(ev.record_no, 4);
    /* The last line needs no newline: EOF ends it. */
    put(fds[1], CT_REC("CreateAccessKey", "2023-07-10T12:24:51Z"));
    close(fds[1]);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.event_name, "CreateAccessKey");
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);
    close(fds[0]);
}

static void test_stream_flow_and_document(void)
{
    /* Flow logs: the header line sets the format for the lines that follow. */
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_stream("flow", fds[0], NULL, &r, &err), 0);
    const char *nl = strchr(flow_v2, '\n');
    CHECK(write(fds[1], flow_v2, (size_t)(nl - flow_v2) + 1) > 0); /* the header alone */
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    const char *l2 = strchr(nl + 1, '\n');
    CHECK(write(fds[1], nl + 1, (size_t)(l2 - nl)) > 0);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_VPCFLOW);
    CHECK_SV(ev.src_ip, "172.31.16.139");
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    put(fds[1], l2 + 1);
    close(fds[1]);
    int n = 0;
    while (input_next(r, &ev, &err) == 0)
        n++;
    CHECK_INT(n, 4);
    input_close(r);
    close(fds[0]);

    /* A pretty-printed document is read to its end, then split. */
    CHECK_INT(pipe(fds), 0);
    CHECK_INT(input_open_stream(NULL, fds[0], NULL, &r, &err), 0);
    put(fds[1], "{\"Records\": [\n" CT_REC("CreateUser", "2023-07-10T12:24:49Z") ",\n");
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    put(fds[1], CT_REC("CreateAccessKey", "2023-07-10T12:24:50Z") "\n]}\n");
    CHECK_INT(input_next(r, &ev, &err), INPUT_AGAIN);
    close(fds[1]);
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.event_name, "CreateUser");
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_SV(ev.event_name, "CreateAccessKey");
    CHECK_INT(input_next(r, &ev, &err), INPUT_END);
    input_close(r);
    close(fds[0]);
}

static void test_reset_mem(void)
{
    /* One reader over successive messages (a queue's), each sniffed anew. */
    struct input_reader *r = NULL;
    struct err err;
    struct event ev;
    CHECK_INT(input_open_mem("m1", dns_lines, strlen(dns_lines), NULL, &r, &err), 0);
    int n = 0;
    while (input_next(r, &ev, &err) == 0)
        n++;
    CHECK_INT(n, 2);
    input_reset_mem(r, "m2", ct_file, strlen(ct_file));
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_CLOUDTRAIL);
    CHECK_STR(ev.file, "m2");
    CHECK_INT(ev.record_no, 1);
    n = 1;
    while (input_next(r, &ev, &err) == 0)
        n++;
    CHECK_INT(n, 3);
    input_reset_mem(r, "m3", flow_v2, strlen(flow_v2));
    CHECK_INT(input_next(r, &ev, &err), 0);
    CHECK_INT(ev.source, EVENT_VPCFLOW);
    input_close(r);
}

/* ---- datasets ------------------------------------------------------------- */

struct expect {
    const char *rel;
    int events, errors, notes;
};

static void test_datasets(void)
{
    const char *ds = harness_datasets();
    if (ds == NULL)
        return;
    /* Counts from each dataset's MANIFEST (edge cases) and from the samples
     * themselves (docs): records per file, the one invalid file, the SQS
     * bodies that hold no records. */
    static const struct expect files[] = {
        { "cloudtrail-parser-edge-cases/SerializerTestFile.json", 6, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileCompact.json", 6, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileCompact.json.gz", 6, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileLocation.json", 6, 0, 0 },
        /* record 4's eventTime is "ThisIsAWrongEventTime": reported, not guessed */
        { "cloudtrail-parser-edge-cases/SerializerTestFileMissField.json", 3, 1, 0 },
        { "cloudtrail-parser-edge-cases/SerializerAllFieldsNull.json", 2, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileBadFieldName.json", 2, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileNewFieldName.json", 2, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileNewFieldsInRoot.json", 2, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileNewFieldsInUserIdentity.json", 2, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerTestFileNewFieldAtRandomPlaces.json", 2, 0, 0 },
        { "cloudtrail-parser-edge-cases/SerializerVariousUserIdentityTestFile.json", 1, 0, 0 },
        { "cloudtrail-parser-edge-cases/SQSMessageBody", 0, 0, 1 },
        { "cloudtrail-parser-edge-cases/SQSMessageBodyWrongFormat", 0, 1, 0 },
        { "aws-docs-log-samples/vpcflow/v2-default-format.log", 7, 0, 0 },
        { "aws-docs-log-samples/vpcflow/v3-custom-tcp-flags.log", 8, 0, 0 },
        { "aws-docs-log-samples/vpcflow/custom-nat-gateway.log", 6, 0, 0 },
        { "aws-docs-log-samples/vpcflow/v3-custom-transit-gateway-path.log", 4, 0, 0 },
        { "aws-docs-log-samples/vpcflow/v5-custom-service-traffic-path.log", 2, 0, 0 },
        { "aws-docs-log-samples/route53resolver/"
          "resolver-query-logs-example-json__00__route-53-resolver-query-log-example.json",
          1, 0, 0 },
        { "aws-docs-log-samples/cloudtrail/"
          "cloudtrail-log-file-examples__09__cloudtrail-insights-event-log-example.json",
          2, 0, 0 },
        { "aws-docs-log-samples/cloudtrail/view-insights-events-cli__02__looking-up-insights-"
          "events.json",
          2, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", ds, files[i].rel);
        struct input_list list;
        input_list_init(&list);
        struct err err;
        const char *p[] = { path };
        if (input_collect(p, 1, &list, &err) != 0) {
            printf("#   missing %s\n", path);
            harness_failures++;
            continue;
        }
        struct input_reader *r = NULL;
        CHECK_INT(input_open(&list, NULL, &r, &err), 0);
        struct run run;
        memset(&run, 0, sizeof(run));
        drain(r, &run);
        input_close(r);
        input_list_free(&list);
        if ((files[i].events >= 0 && run.events != files[i].events) ||
            (files[i].events < 0 && run.events < 1) || run.errors != files[i].errors ||
            run.notes != files[i].notes) {
            printf("#   %s: %d events %d errors %d notes (%s)\n", files[i].rel, run.events,
                   run.errors, run.notes, run.first_err);
            harness_failures++;
        }
    }

    /* The invalid file: one clean error naming it, the record and what is wrong;
     * the records before and after the damage are still read. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/cloudtrail-parser-edge-cases/SerializerTestFileBadJsonFormat.json",
             ds);
    struct input_list list;
    input_list_init(&list);
    struct err err;
    const char *p[] = { path };
    CHECK_INT(input_collect(p, 1, &list, &err), 0);
    struct input_reader *r = NULL;
    CHECK_INT(input_open(&list, NULL, &r, &err), 0);
    struct run run;
    memset(&run, 0, sizeof(run));
    drain(r, &run);
    input_close(r);
    input_list_free(&list);
    /* Record 1 lost a '}' (its userIdentity never closes); record 2 is whole. */
    CHECK_INT(run.errors, 1);
    CHECK_INT(run.events, 1);
    CHECK_INT(run.first_err_record, 1);
    CHECK(strstr(run.first_err, "SerializerTestFileBadJsonFormat.json") != NULL);
    printf("#   bad file: %d events, %d errors: %s\n", run.events, run.errors, run.first_err);

    /* Whole trees: every sample directory reads with no unexpected error. */
    static const struct expect trees[] = {
        { "aws-docs-log-samples/cloudtrail", 22, 0, 0 },
        { "aws-docs-log-samples/vpcflow", 27, 0, 0 },
        { "invictus-aws-stratus-2023/CloudTrail", 2900, 0, 0 },
        { "stratus-detonation-logs", 310, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", ds, trees[i].rel);
        input_list_init(&list);
        const char *q[] = { path };
        CHECK_INT(input_collect(q, 1, &list, &err), 0);
        CHECK_INT(input_open(&list, NULL, &r, &err), 0);
        memset(&run, 0, sizeof(run));
        drain(r, &run);
        input_close(r);
        input_list_free(&list);
        printf("#   %s: %d events (%d CloudTrail, %d flow, %d DNS), %d errors, %d notes\n",
               trees[i].rel, run.events, run.n_ct, run.n_flow, run.n_dns, run.errors, run.notes);
        if ((trees[i].events >= 0 && run.events != trees[i].events) ||
            (trees[i].events < 0 && run.events < 1) || run.errors != trees[i].errors) {
            printf("#   %s: unexpected (%s)\n", trees[i].rel, run.first_err);
            harness_failures++;
        }
    }
}

static const struct harness_test tests[] = {
    { "flow_v2_header", test_flow_v2_header },
    { "flow_v2_no_header", test_flow_v2_no_header },
    { "flow_custom_v5", test_flow_custom_v5 },
    { "flow_fields_generated", test_flow_fields_generated },
    { "flow_bad_lines", test_flow_bad_lines },
    { "flow_concatenated_and_option", test_flow_concatenated_and_option },
    { "flow_cwl_export", test_flow_cwl_export },
    { "ct_records_file", test_ct_records_file },
    { "ct_other_shapes", test_ct_other_shapes },
    { "ct_eventbridge", test_ct_eventbridge },
    { "ct_cloudwatch", test_ct_cloudwatch },
    { "ct_lookup_events_and_insights", test_ct_lookup_events_and_insights },
    { "ct_skipped_kinds", test_ct_skipped_kinds },
    { "dns", test_dns },
    { "gzip", test_gzip },
    { "bad_json", test_bad_json },
    { "huge_line", test_huge_line },
    { "hints", test_hints },
    { "name_time", test_name_time },
    { "collect_and_read", test_collect_and_read },
    { "stdin", test_stdin },
    { "stream_lines", test_stream_lines },
    { "stream_flow_and_document", test_stream_flow_and_document },
    { "reset_mem", test_reset_mem },
    { "datasets", test_datasets },
};

HARNESS_MAIN(tests)
