/*
 * Tests of the Athena SQL front-end (src/query/sql_rewrite.c, sql_funcs.c):
 * each rewrite on its own, then whole statements run on a small store
 * ingested from hand-written CloudTrail, VPC flow and Resolver records, with
 * results compared to what Athena returns for the same rows.
 */
#include "harness.h"
#include "query/query.h"
#include "query/query_int.h"
#include "store/store.h"
#include "input/input.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[256];

static const char *tmp_path(const char *name, char *out, size_t cap)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-test-sql-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }
    snprintf(out, cap, "%s/%s", tmpdir, name);
    return out;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* The rewritten SQL of in, or the error message prefixed with "ERR: ". */
static char out_buf[8192];
static const char *rw(const char *in)
{
    struct query_sql q;
    struct err e;
    err_clear(&e);
    if (query_sql_rewrite(in, strlen(in), &q, &e) != 0) {
        snprintf(out_buf, sizeof(out_buf), "ERR: %s", e.msg);
        return out_buf;
    }
    if (q.kind == QUERY_SQL_NOOP)
        snprintf(out_buf, sizeof(out_buf), "NOOP: %s", q.note);
    else
        snprintf(out_buf, sizeof(out_buf), "%s", q.sql);
    query_sql_free(&q);
    return out_buf;
}

static bool has(const char *hay, const char *needle)
{
    if (strstr(hay, needle) != NULL)
        return true;
    printf("#   expected \"%s\" in \"%s\"\n", needle, hay);
    return false;
}

/* ---- rewrites -------------------------------------------------------------------- */

static void test_struct_access(void)
{
    CHECK(has(rw("select useridentity.username from cloudtrail_logs"),
              "vq_get(\"$raw\", 'useridentity.username') AS \"username\""));
    /* fields the store indexes map to their columns */
    CHECK(has(rw("select useridentity.arn from cloudtrail_logs where userIdentity.accessKeyId = 'A'"),
              "select \"useridentity.arn\" AS \"arn\" from cloudtrail_logs where "
              "\"useridentity.accesskeyid\" = 'A'"));
    CHECK(has(rw("select ct.useridentity.sessioncontext.sessionissuer.arn from cloudtrail_logs ct"),
              "ct.\"useridentity.sessioncontext.sessionissuer.arn\""));
    /* SELECT * lists the public columns only */
    CHECK(has(rw("select * from cloudtrail_logs where x = 1"),
              "select eventversion, useridentity, eventtime,"));
    CHECK(has(rw("select * from cloudtrail_logs t cross join unnest(t.resources) u (r)"), "select *"));
    CHECK(has(rw("select x from t where userIdentity.sessionContext.sessionIssuer.userName = 'a'"),
              "vq_get(\"$raw\", 'useridentity.sessioncontext.sessionissuer.username') = 'a'"));
    /* a table alias in front */
    CHECK(has(rw("select ct.useridentity.invokedby a from cloudtrail_logs ct"),
              "vq_get(ct.\"$raw\", 'useridentity.invokedby') a"));
    /* plain table.column is left alone */
    CHECK(has(rw("select ct.eventname from cloudtrail_logs ct"), "ct.eventname"));
    /* group by keeps no alias */
    CHECK(has(rw("select count(*) from cloudtrail group by useridentity.username, eventname"),
              "group by vq_get(\"$raw\", 'useridentity.username'), eventname"));
    /* the requestParameters.x extension */
    CHECK(has(rw("select requestParameters.bucketName from cloudtrail_logs"),
              "vq_get(\"$raw\", 'requestparameters.bucketname')"));
}

static void test_tables(void)
{
    CHECK(has(rw("select * from cloudtrail_000000000000 where year = '2020'"),
              "from cloudtrail_logs AS \"cloudtrail_000000000000\""));
    CHECK(has(rw("select * from cloudtrail"), "from cloudtrail_logs AS \"cloudtrail\""));
    CHECK(has(rw("SELECT * FROM DATABASE.TABLE WHERE eventname = 'x'"), "FROM cloudtrail_logs"));
    CHECK(has(rw("select * from \"<database>\".\"<table>\" where sourceaddress = 'x'"),
              "from vpcflow"));
    CHECK(has(rw("select * from r53dns limit 1"), "from r53_rlogs AS \"r53dns\""));
    CHECK(has(rw("select * from vpc_flow_logs_000000000000 v"), "from vpcflow v"));
    CHECK(has(rw("SELECT * FROM \"db\".\"amazon_security_lake_table_us_east_1_vpc_flow_1_0\""),
              "FROM ocsf_vpc_flow"));
    CHECK(has(rw("SELECT * FROM \"db\".\"amazon_security_lake_table_us_east_1_sh_findings_1_0\""),
              "ERR: unsupported: this Security Lake (OCSF) table"));
}

static void test_literals_and_time(void)
{
    CHECK(has(rw("select 1 from t where d = DATE '2020-01-02'"), "vq_date( '2020-01-02')"));
    CHECK(has(rw("select TIMESTAMP '2020-01-02 03:04:05'"), "vq_timestamp( '2020-01-02 03:04:05')"));
    CHECK(has(rw("select 1 where x > IPADDRESS '10.0.0.0'"), "vq_ip( '10.0.0.0')"));
    CHECK(has(rw("select current_timestamp, now()"), "vq_now(), vq_now()"));
    CHECK(has(rw("select 1 where d > current_date - interval '7' day"),
              "date_add('day', -(7), vq_date(vq_now()))"));
    CHECK(has(rw("select 1 where d > from_iso8601_timestamp(x) + interval '2' hour"),
              "date_add('hour', (2), from_iso8601_timestamp(x))"));
}

static void test_functions(void)
{
    CHECK(has(rw("select cast(x as varchar), cast(y AS BIGINT), try_cast(z as double)"),
              "CAST(x AS TEXT), CAST(y AS INTEGER), CAST(z AS REAL)"));
    CHECK(has(rw("select cast(ip as IPADDRESS), cast(t as timestamp), cast(t as date)"),
              "vq_ip(ip), vq_timestamp(t), vq_date(t)"));
    CHECK(has(rw("select cast(m as map(varchar, varchar))"), "ERR: unsupported: CAST to MAP at line 1"));
    CHECK(has(rw("select approx_distinct(x), arbitrary(y), try(z)"),
              "count(DISTINCT x), min(y), (z)"));
    CHECK(has(rw("select array_agg(DISTINCT(ip) ORDER BY ip) as s"),
              "vq_array_agg_sorted(DISTINCT (ip))"));
    CHECK(has(rw("select array_agg(ip ORDER BY t)"), "ERR: unsupported: array_agg(... ORDER BY)"));
    CHECK(has(rw("select concat(a, 'x', b)"), "((a) || ( 'x') || ( b))"));
    CHECK(has(rw("select replace(a, 'x')"), "replace(a, 'x', '')"));
    CHECK(has(rw("select m['k'], a[1] from t"), "element_at(m, 'k'), element_at(a, 1)"));
    CHECK(has(rw("select\nmap_agg(a, b)"), "ERR: unsupported: MAP_AGG at line 2"));
}

static void test_lambdas_unnest(void)
{
    CHECK(has(rw("select filter(a, x -> x.b IS NOT NULL)"),
              "(SELECT json_group_array(_l0.value) FROM json_each(a) AS _l0 WHERE  vq_get(_l0.value, 'b') IS NOT NULL)"));
    CHECK(has(rw("select transform(a, x -> x.rdata)"),
              "(SELECT json_group_array( vq_get(_l0.value, 'rdata')) FROM json_each(a) AS _l0)"));
    CHECK(has(rw("select 1 where any_match(transform(r, x -> x.uid), y -> y like '%f%')"),
              "EXISTS(SELECT 1 FROM json_each( (SELECT json_group_array( vq_get(_l0.value, 'uid')) "
              "FROM json_each(r) AS _l0)) AS _l0 WHERE  _l0.value like '%f%')"));
    CHECK(has(rw("select e.arn from cloudtrail_logs t CROSS JOIN UNNEST(t.resources) u (e)"),
              "select vq_get(\"u\".value, 'arn') AS \"arn\" from cloudtrail_logs t CROSS JOIN json_each(t.resources) AS \"u\""));
    CHECK(has(rw("select u.e.arn from t CROSS JOIN UNNEST(r) AS u (e)"), "vq_get(\"u\".value, 'arn')"));
    CHECK(has(rw("select x -> 1"), "ERR: unsupported: lambda"));
}

static void test_order_by_nulls(void)
{
    CHECK(has(rw("select a from t order by a, b desc, c asc limit 3"),
              "order by a NULLS LAST, b desc, c asc NULLS LAST limit 3"));
    CHECK(has(rw("select a from (select a from t order by a) order by a nulls first"),
              "(select a from t order by a NULLS LAST) order by a nulls first"));
}

static void test_ddl_and_errors(void)
{
    CHECK(has(rw("CREATE EXTERNAL TABLE cloudtrail_logs (a string) LOCATION 's3://x/'"),
              "NOOP: CREATE TABLE cloudtrail_logs: nothing to do"));
    CHECK(has(rw("ALTER TABLE t ADD PARTITION (year='2020') LOCATION 's3://x'"),
              "NOOP: ALTER TABLE ADD PARTITION"));
    CHECK(has(rw("MSCK REPAIR TABLE t"), "NOOP: MSCK"));
    CHECK(has(rw("CREATE VIEW v AS SELECT 1"), "ERR: unsupported: CREATE VIEW"));
    CHECK(has(rw("INSERT INTO t SELECT 1"), "ERR: unsupported: INSERT"));
    CHECK(has(rw("select 1; select 2"), "ERR: unsupported: several statements"));
    CHECK(has(rw("select 'abc"), "ERR: unterminated string at line 1"));
    CHECK(has(rw("select a -- comment\nfrom t;"), "select a from t"));
    CHECK(has(rw(""), "ERR: empty statement"));
}

/* ---- running on a store ------------------------------------------------------------ */

static const char *ct_json =
    "{\"Records\":["
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDA1\","
    "\"arn\":\"arn:aws:iam::111122223333:user/alice\",\"accountId\":\"111122223333\","
    "\"accessKeyId\":\"AKIA1\",\"userName\":\"alice\"},\"eventTime\":\"2024-01-02T03:04:05Z\","
    "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"awsRegion\":\"us-east-1\","
    "\"sourceIPAddress\":\"203.0.113.9\",\"userAgent\":\"aws-cli\",\"requestParameters\":"
    "{\"bucketName\":\"b1\",\"key\":\"k1\"},\"responseElements\":null,\"additionalEventData\":"
    "{\"bytesTransferredOut\":100},\"requestID\":\"r1\",\"eventID\":\"e1\",\"readOnly\":true,"
    "\"resources\":[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::b1/k1\"},"
    "{\"accountId\":\"111122223333\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::b1\"}],"
    "\"eventType\":\"AwsApiCall\",\"managementEvent\":false,\"recipientAccountId\":\"111122223333\","
    "\"eventCategory\":\"Data\"},"
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AssumedRole\",\"principalId\":"
    "\"AROA1:sess\",\"arn\":\"arn:aws:sts::111122223333:assumed-role/r/sess\",\"accountId\":"
    "\"111122223333\",\"accessKeyId\":\"ASIA1\",\"sessionContext\":{\"sessionIssuer\":{\"type\":"
    "\"Role\",\"arn\":\"arn:aws:iam::111122223333:role/r\",\"userName\":\"r\"},\"attributes\":"
    "{\"mfaAuthenticated\":\"false\"}}},\"eventTime\":\"2024-01-03T10:00:00Z\",\"eventSource\":"
    "\"iam.amazonaws.com\",\"eventName\":\"CreateAccessKey\",\"awsRegion\":\"us-east-1\","
    "\"sourceIPAddress\":\"10.1.2.3\",\"userAgent\":\"boto3\",\"requestParameters\":{\"userName\":"
    "\"bob\"},\"responseElements\":{\"accessKey\":{\"userName\":\"bob\",\"accessKeyId\":"
    "\"AKIA2\",\"status\":\"Active\"}},\"requestID\":\"r2\",\"eventID\":\"e2\",\"readOnly\":false,"
    "\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"111122223333\"},"
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":"
    "\"ec2.amazonaws.com\"},\"eventTime\":\"2024-01-03T11:00:00Z\",\"eventSource\":"
    "\"sts.amazonaws.com\",\"eventName\":\"AssumeRole\",\"awsRegion\":\"eu-west-1\","
    "\"sourceIPAddress\":\"ec2.amazonaws.com\",\"userAgent\":\"ec2.amazonaws.com\","
    "\"errorCode\":\"AccessDenied\",\"requestParameters\":null,\"requestID\":\"r3\",\"eventID\":"
    "\"e3\",\"readOnly\":true,\"eventType\":\"AwsApiCall\",\"managementEvent\":true,"
    "\"recipientAccountId\":\"111122223333\"}"
    "]}";

static const char *flow_txt =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status\n"
    "2 111122223333 eni-1 10.0.0.1 52.94.76.7 49152 443 6 10 1000 1700000000 1700000060 ACCEPT OK\n"
    "2 111122223333 eni-1 52.94.76.7 10.0.0.1 443 49152 6 8 5000 1700000000 1700000060 ACCEPT OK\n"
    "2 111122223333 eni-1 172.16.0.5 172.20.0.9 5555 22 6 1 40 1700000100 1700000160 REJECT OK\n"
    "2 111122223333 eni-1 - - - - - - - 1700000060 1700000120 - NODATA\n";

static const char *dns_json =
    "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
    "\"vpc_id\":\"vpc-1\",\"query_timestamp\":\"2024-01-02T00:00:01Z\",\"query_name\":"
    "\"evil.example.com.\",\"query_type\":\"A\",\"query_class\":\"IN\",\"rcode\":\"NOERROR\","
    "\"answers\":[{\"Rdata\":\"203.0.113.2\",\"Type\":\"A\",\"Class\":\"IN\"}],\"srcaddr\":"
    "\"10.0.0.1\",\"srcport\":\"5353\",\"transport\":\"UDP\",\"srcids\":{\"instance\":\"i-1\"}}\n"
    "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
    "\"vpc_id\":\"vpc-1\",\"query_timestamp\":\"2024-01-02T00:00:02Z\",\"query_name\":"
    "\"good.example.org.\",\"query_type\":\"AAAA\",\"query_class\":\"IN\",\"rcode\":\"NOERROR\","
    "\"answers\":[],\"srcaddr\":\"10.0.0.2\",\"srcport\":\"5354\",\"transport\":\"UDP\","
    "\"srcids\":{\"instance\":\"i-2\"}}\n";

/* Web access logs, in the formats the AWS documentation gives. */
static const char *s3_txt =
    "79a59df9 finance-reports [28/May/2024:14:02:11 +0000] 203.0.113.50 "
    "arn:aws:iam::111122223333:user/bob 3E57427F3EXAMPLE REST.GET.OBJECT q1/pay.csv "
    "\"GET /finance-reports/q1/pay.csv HTTP/1.1\" 200 - 52311 52311 45 12 \"-\" "
    "\"aws-cli/2.15.0 Python/3.11\" - hostid= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader "
    "finance-reports.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1\n"
    "79a59df9 finance-reports [28/May/2024:16:02:11 +0200] 198.51.100.23 - A1206F460EXAMPLE "
    "REST.GET.OBJECT q1/pay.csv \"GET /finance-reports/q1/pay.csv HTTP/1.1\" 403 AccessDenied "
    "243 - 7 - \"-\" \"curl/8.4.0\" - hostid2= - - - finance-reports.s3.amazonaws.com - - -\n";

static const char *cf_txt =
    "#Version: 1.0\n"
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end\n"
    "2026-01-01\t14:10:31\tSEA19-C1\t523\t198.51.100.99\tPOST\td1.cloudfront.net\t/login\t503\t-\t"
    "python-requests/2.31.0\t-\t-\tError\treq1==\twww.example.com\thttps\t301\t1.250\t-\tTLSv1.3\t"
    "TLS_AES_128_GCM_SHA256\tError\tHTTP/1.1\t-\t-\t40112\t1.249\tError\ttext/html\t523\t-\t-\n"
    "2026-01-01\t14:10:33\tSEA19-C1\t1201\t198.51.100.99\tGET\td1.cloudfront.net\t/login\t200\t-\t"
    "python-requests/2.31.0\t-\t-\tMiss\treq2==\twww.example.com\thttps\t180\t0.120\t-\tTLSv1.3\t"
    "TLS_AES_128_GCM_SHA256\tMiss\tHTTP/1.1\t-\t-\t40116\t0.119\tMiss\ttext/html\t1005\t-\t-\n";

static const char *waf_json =
    "{\"timestamp\":1716904805000,\"formatVersion\":1,\"webaclId\":\"arn:aws:wafv2:us-east-1:1:"
    "regional/webacl/a/1\",\"terminatingRuleId\":\"rate-limit\",\"terminatingRuleType\":"
    "\"RATE_BASED\",\"action\":\"BLOCK\",\"httpRequest\":{\"clientIp\":\"198.51.100.99\","
    "\"country\":\"NL\",\"headers\":[{\"name\":\"Host\",\"value\":\"www.example.com\"}],"
    "\"uri\":\"/login\",\"args\":\"\",\"httpVersion\":\"HTTP/1.1\",\"httpMethod\":\"POST\","
    "\"requestId\":\"r1\"},\"labels\":[{\"name\":\"awswaf:1:rate\"}]}\n"
    "{\"timestamp\":1716904900000,\"formatVersion\":1,\"webaclId\":\"arn:aws:wafv2:us-east-1:1:"
    "regional/webacl/a/1\",\"terminatingRuleId\":\"Default_Action\",\"action\":\"ALLOW\","
    "\"httpRequest\":{\"clientIp\":\"192.0.2.44\",\"country\":\"US\",\"uri\":\"/\","
    "\"httpMethod\":\"GET\",\"requestId\":\"r2\"},\"labels\":[]}\n";

static struct store *test_store;

static struct store *get_store(void)
{
    if (test_store != NULL)
        return test_store;
    char dir[512], p[600], db[600];
    tmp_path("in", dir, sizeof(dir));
    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/ct.json", dir);
    write_file(p, ct_json);
    snprintf(p, sizeof(p), "%s/flow.log", dir);
    write_file(p, flow_txt);
    snprintf(p, sizeof(p), "%s/resolver.log", dir);
    write_file(p, dns_json);
    snprintf(p, sizeof(p), "%s/2024-05-28-14-05-11-EXAMPLE", dir);
    write_file(p, s3_txt);
    snprintf(p, sizeof(p), "%s/E2EXAMPLE.2026-01-01-14.abcd", dir);
    write_file(p, cf_txt);
    snprintf(p, sizeof(p), "%s/waf.log", dir);
    write_file(p, waf_json);
    tmp_path("t.db", db, sizeof(db));
    struct err e;
    err_clear(&e);
    CHECK_INT(store_open(db, &test_store, &e), 0);
    const char *paths[] = { dir };
    struct store_ingest_stats s;
    CHECK_INT(store_ingest(test_store, paths, 1, NULL, &s, &e), 0);
    CHECK_INT(s.bad, 0);
    CHECK_INT(query_sql_setup(store_db(test_store), &e), 0);
    return test_store;
}

/* Runs sql; returns rows as "a|b\n" lines (NULL as "N"), or "ERR: ..." */
static char res_buf[16384];
static const char *run(const char *sql)
{
    struct store *st = get_store();
    sqlite3_stmt *stmt = NULL;
    char note[256];
    struct err e;
    err_clear(&e);
    if (query_sql_prepare(store_db(st), sql, strlen(sql), &stmt, note, &e) != 0) {
        snprintf(res_buf, sizeof(res_buf), "ERR: %s", e.msg);
        return res_buf;
    }
    if (stmt == NULL) {
        snprintf(res_buf, sizeof(res_buf), "NOOP: %s", note);
        return res_buf;
    }
    size_t len = 0;
    res_buf[0] = '\0';
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(stmt); c++) {
            const char *v = (const char *)sqlite3_column_text(stmt, c);
            len += (size_t)snprintf(res_buf + len, sizeof(res_buf) - len, "%s%s", c ? "|" : "",
                                    v ? v : "N");
            if (len >= sizeof(res_buf) - 2)
                break;
        }
        if (len < sizeof(res_buf) - 2)
            res_buf[len++] = '\n', res_buf[len] = '\0';
    }
    if (rc != SQLITE_DONE)
        snprintf(res_buf, sizeof(res_buf), "ERR: %s", sqlite3_errmsg(store_db(st)));
    sqlite3_finalize(stmt);
    return res_buf;
}

/* in with " || ''" after each partition column name (year, month, day,
 * date_partition, "timestamp"), which keeps the value but hides the column
 * from the rewriter's range. */
static void hide_parts(const char *in, char *out, size_t cap)
{
    static const char *const cols[] = { "year", "month", "day", "date_partition",
                                        "\"timestamp\"" };
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 8 < cap;) {
        size_t w = 0;
        if (i == 0 || in[i - 1] == ' ' || in[i - 1] == '(')
            for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
                size_t l = strlen(cols[k]);
                if (strncmp(in + i, cols[k], l) == 0 && in[i + l] == ' ')
                    w = l;
            }
        if (w > 0 && o + w + 7 < cap) {
            memcpy(out + o, in + i, w);
            memcpy(out + o + w, " || ''", 6);
            o += w + 6;
            i += w;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
}

static void test_run_cloudtrail(void)
{
    CHECK_STR(run("select eventname, useridentity.arn, useridentity.sessioncontext.sessionissuer.username "
                  "from cloudtrail_logs order by eventtime"),
              "GetObject|arn:aws:iam::111122223333:user/alice|N\n"
              "CreateAccessKey|arn:aws:sts::111122223333:assumed-role/r/sess|r\n"
              "AssumeRole|N|N\n");
    /* the streaming field walk agrees with the tree lookup on every record */
    static const char *const paths[] = { "useridentity.arn", "useridentity.sessioncontext",
        "useridentity.sessioncontext.attributes.mfaauthenticated", "requestparameters.bucketname",
        "additionaleventdata.bytestransferredout", "resources", "readonly", "nosuch.field",
        "responseelements.accesskey.status", "eventtime" };
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        char q[512];
        snprintf(q, sizeof(q), "select count(*) from cloudtrail_logs where vq_get(\"$raw\", '%s') "
                 "IS NOT DISTINCT FROM vq_get_tree(\"$raw\", '%s')", paths[k], paths[k]);
        CHECK_STR(run(q), "3\n");
    }
    CHECK_STR(run("select vq_get('{\"a\":{\"B\":\"x\\u0041\"},\"a\":{\"b\":[1,2]}}', 'A.b'), "
                  "vq_get('{\"n\":1.5,\"i\":-3,\"t\":true}', 'n'), vq_get('{\"i\":-3}', 'i'), "
                  "vq_get('[1]', 'x'), vq_get('{\"a\":', 'a')"), "[1,2]|1.5|-3|N|N\n");
    /* the indexed copies agree with the record, and the lookup uses the index */
    CHECK_STR(run("select count(*) from cloudtrail_logs where useridentity.arn IS NOT DISTINCT FROM "
                  "vq_get(useridentity, 'arn') and useridentity.accesskeyid IS NOT DISTINCT FROM "
                  "vq_get(useridentity, 'accessKeyId') and useridentity.type IS NOT DISTINCT FROM "
                  "vq_get(useridentity, 'type') and useridentity.principalid IS NOT DISTINCT FROM "
                  "vq_get(useridentity, 'principalId') and "
                  "useridentity.sessioncontext.sessionissuer.arn IS NOT DISTINCT FROM "
                  "vq_get(useridentity, 'sessionContext.sessionIssuer.arn')"), "3\n");
    {
        struct query_sql q;
        struct err e;
        const char *in = "select eventname from cloudtrail_logs where useridentity.accesskeyid = 'ASIA1'";
        CHECK_INT(query_sql_rewrite(in, strlen(in), &q, &e), 0);
        char plan[4096], detail[4096] = "";
        snprintf(plan, sizeof(plan), "EXPLAIN QUERY PLAN %s", q.sql);
        query_sql_free(&q);
        sqlite3_stmt *stmt = NULL;
        CHECK_INT(sqlite3_prepare_v2(store_db(get_store()), plan, -1, &stmt, NULL), SQLITE_OK);
        while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(stmt, 3);
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s;", d ? d : "");
        }
        sqlite3_finalize(stmt);
        CHECK(has(detail, "cloudtrail_key"));
    }
    CHECK_STR(run("select count(*) from (select * from cloudtrail_logs)"), "3\n");
    /* derived tables and CTEs may redefine names: no indexed-column rewrites there */
    CHECK_STR(run("WITH x AS (SELECT eventtime, useridentity FROM cloudtrail_logs) SELECT count(*) "
                  "FROM x WHERE eventtime > '2024-01-03' AND useridentity.arn IS NOT NULL"), "1\n");
    CHECK_STR(run("SELECT count(*) FROM (SELECT eventtime, useridentity FROM cloudtrail) t "
                  "WHERE t.eventtime >= '2024-01-02T03:04:05Z' AND t.useridentity.accesskeyid LIKE 'A%'"),
              "2\n");
    /* eventtime against ISO literals also bounds the indexed epoch column, and
     * agrees with the plain string comparison (date-only bounds included) */
    CHECK(has(rw("select 1 from cloudtrail_logs t where t.eventtime >= '2024-01-03'"),
              "( t.eventtime >= '2024-01-03' AND \"t\".\"eventtime.ms\" >= 1704239999000)"));
    static const char *const conds[] = {
        "> '2024-01-03'", ">= '2024-01-03T10:00:00Z'", "> '2024-01-03T10:00:00Z'",
        "< '2024-01-03'", "<= '2024-01-03T10:00:00Z'", "< '2024-01-03T10:00:00Z'",
        "= '2024-01-03T10:00:00Z'", "BETWEEN '2024-01-02' AND '2024-01-03'",
        "BETWEEN '2024-01-02T03:04:05Z' AND '2024-01-03T10:00:00Z'",
    };
    for (size_t c = 0; c < sizeof(conds) / sizeof(conds[0]); c++) {
        char a[256], b[256], want[64];
        snprintf(a, sizeof(a), "select count(*) from cloudtrail_logs where eventtime %s", conds[c]);
        snprintf(b, sizeof(b), "select count(*) from cloudtrail_logs where eventtime || '' %s", conds[c]);
        snprintf(want, sizeof(want), "%s", run(b));
        CHECK_STR(run(a), want);
    }
    /* partition columns compared with literals bound the epoch column too
     * (same results as the text alone), inside their own AND chain only */
    CHECK(has(rw("select 1 from cloudtrail_1 where year = '2024' and month = '01' and day = '03'"),
              "where (\"eventtime.ms\" >= 1704240000000 AND \"eventtime.ms\" < 1704326400000) and 1 and 1"));
    CHECK(has(rw("select 1 from cloudtrail c where c.month = '01' and c.year = '2024'"),
              "where 1 and (\"c\".\"eventtime.ms\" >= 1704067200000 AND "
              "\"c\".\"eventtime.ms\" < 1706745600000)"));
    CHECK(has(rw("select 1 from cloudtrail where (month = '01' or x = 1) and year = '2024'"),
              "(month = '01' or x = 1) and (\"eventtime.ms\" >= 1704067200000 AND "
              "\"eventtime.ms\" < 1735689600000)"));
    CHECK(has(rw("select 1 from cloudtrail where not year = '2024' and month = '01'"),
              "not year = '2024' and month"));
    CHECK(has(rw("select 1 from cloudtrail where date_partition between '2024/01/02' and '2024/01/03'"),
              "where (\"eventtime.ms\" >= 1704153600000 AND \"eventtime.ms\" < 1704326400000)"));
    CHECK(has(rw("select 1 from vpc_flow_logs where date_partition >= '2024/01/02'"),
              "where date_partition >= '2024/01/02'"));
    CHECK(has(rw("select 1 from cloudtrail where year = '####' and month = '##'"),
              "where year = '####' and month"));
    /* a day past its month's end bounds the range at the next month's start
     * (as text it sorts after the month's last date); = on it stays text */
    CHECK(has(rw("select 1 from cloudtrail where date_partition <= '2024/02/30'"),
              "where (\"eventtime.ms\" < 1709251200000)"));
    CHECK(has(rw("select 1 from cloudtrail where date_partition > '2023/11/31'"),
              "where (\"eventtime.ms\" >= 1701388800000)"));
    CHECK(has(rw("select 1 from cloudtrail where date_partition between '2023/02/29' and '2024/01/31'"),
              "where (\"eventtime.ms\" >= 1677628800000 AND \"eventtime.ms\" < 1706745600000)"));
    CHECK(has(rw("select 1 from cloudtrail where date_partition = '2024/02/30'"),
              "where date_partition = '2024/02/30'"));
    CHECK(has(rw("select 1 from cloudtrail where date_partition <= '2024/02/32'"),
              "where date_partition <= '2024/02/32'"));
    static const char *const past_ends[] = {
        "<= '2023/12/32'", "<= '2024/02/30'", "< '2023/11/31'", ">= '2023/11/31'", "> '2023/12/31'",
        "> '2024/01/31'", "> '2023/02/29'", "between '2023/11/31' and '2024/02/30'",
        "between '2024/01/31' and '2024/02/31'", "= '2024/02/30'", "<= '2023/06/31'",
    };
    for (size_t c = 0; c < sizeof(past_ends) / sizeof(past_ends[0]); c++) {
        char a[256], b[256], want[64];
        snprintf(a, sizeof(a), "select count(*) from cloudtrail where date_partition %s", past_ends[c]);
        snprintf(b, sizeof(b), "select count(*) from cloudtrail where date_partition || '' %s",
                 past_ends[c]);
        snprintf(want, sizeof(want), "%s", run(b));
        CHECK_STR(run(a), want);
    }
    static const char *const parts[] = {
        "year = '2024'", "year = '2024' and month = '01'", "year = '2024' and month = '01' and day = '03'",
        "day = '02' and month = '01' and year = '2024'", "year = '2024' and month = '01' or day = '03'",
        "year = '2024' and month = '01' and day = '02' or eventname = 'AssumeRole'",
        "year = '2023' or (year = '2024' and day = '03')", "not (year = '2024' and day = '02')",
        "date_partition = '2024/01/03'", "date_partition >= '2024/01/03'", "date_partition > '2024/01/02'",
        "date_partition <= '2024/01/02'", "date_partition < '2024/01/03'",
        "\"timestamp\" between '2024/01/02' and '2024/01/02'", "date_partition <= '2024/01/02'",
        "year = '2024' and not month = '01' and day = '03'", "month = '01' and day = '02'",
        "year = '2024' and month = '01' and day = '02' and day = '03'",
    };
    for (size_t c = 0; c < sizeof(parts) / sizeof(parts[0]); c++) {
        char a[256], b[300], want[64];
        snprintf(a, sizeof(a), "select count(*) from cloudtrail_logs where %s", parts[c]);
        /* the same predicate with every partition column hidden behind || '' */
        char nb[256];
        hide_parts(parts[c], nb, sizeof(nb));
        snprintf(b, sizeof(b), "select count(*) from cloudtrail_logs where %s", nb);
        CHECK(strstr(rw(b), "eventtime.ms") == NULL);
        snprintf(want, sizeof(want), "%s", run(b));
        CHECK_STR(run(a), want);
    }
    /* case-insensitive identifiers and struct fields; ISO string compare */
    CHECK_STR(run("SELECT eventName FROM cloudtrail_000000000000 WHERE userIdentity.accessKeyId = 'ASIA1' "
                  "AND eventTime BETWEEN '2024-01-03T00:00:00Z' AND '2024-01-04T00:00:00Z'"),
              "CreateAccessKey\n");
    /* LIKE is case-sensitive; NOT LIKE drops NULLs */
    CHECK_STR(run("select count(*) from cloudtrail where eventname like 'get%'"), "0\n");
    CHECK_STR(run("select count(*) from cloudtrail where errorcode not like 'X%'"), "1\n");
    CHECK_STR(run("select count(errorcode), count(*) from cloudtrail"), "1|3\n");
    /* partitions from the data */
    CHECK_STR(run("select count(*) from cloudtrail_logs where year = '2024' and month = '01' and "
                  "day = '03' and region = 'us-east-1'"), "1\n");
    CHECK_STR(run("select count(*) from cloudtrail where date_partition >= '2024/01/03' and "
                  "account_partition = '111122223333'"), "2\n");
    /* JSON functions */
    CHECK_STR(run("SELECT JSON_EXTRACT_SCALAR(JSON_EXTRACT(responseelements, '$.accessKey'), "
                  "'$.accessKeyId'), json_extract_scalar(requestparameters, '$.userName'), "
                  "json_extract_scalar(responseelements, '$.accessKey') FROM cloudtrail "
                  "WHERE eventname = 'CreateAccessKey'"),
              "AKIA2|bob|N\n");
    CHECK_STR(run("SELECT SUM(CAST(additionalEventData.bytesTransferredOut AS BIGINT)), "
                  "requestParameters.bucketName FROM cloudtrail_logs WHERE eventName = 'GetObject' "
                  "GROUP BY requestParameters.bucketName"), "100|b1\n");
    /* UNNEST resources */
    CHECK_STR(run("SELECT eventid, unnested.resources_entry.ARN FROM cloudtrail_logs CROSS JOIN "
                  "UNNEST(resources) unnested (resources_entry) ORDER BY 2"),
              "e1|arn:aws:s3:::b1\ne1|arn:aws:s3:::b1/k1\n");
    /* array functions, sorted distinct aggregation, lambdas */
    CHECK_STR(run("select array_agg(DISTINCT(awsregion) ORDER BY awsregion), cardinality(array_agg(eventname)) "
                  "from cloudtrail"),
              "[\"eu-west-1\",\"us-east-1\"]|3\n");
    CHECK_STR(run("select contains(array_agg(eventname), 'AssumeRole'), contains(array_agg(eventname), 'x') "
                  "from cloudtrail"), "1|0\n");
    CHECK_STR(run("select eventid from cloudtrail_logs where any_match(transform(resources, x -> x.arn), "
                  "y -> y like '%b1/%')"), "e1\n");
    /* time functions */
    CHECK_STR(run("select date_trunc('hour', from_iso8601_timestamp(eventtime)), "
                  "date_format(from_iso8601_timestamp(eventtime), '%Y/%m/%d %H:%i:%s'), "
                  "to_iso8601(from_iso8601_timestamp(eventtime)) from cloudtrail where eventid = 'e1'"),
              "2024-01-02 03:00:00.000|2024/01/02 03:04:05|2024-01-02T03:04:05.000Z\n");
    CHECK_STR(run("select date_add('day', -30, TIMESTAMP '2024-03-01 00:00:00'), "
                  "date_add('month', 1, DATE '2024-01-31'), "
                  "date_diff('hour', from_iso8601_timestamp('2024-01-01T00:00:00Z'), "
                  "from_iso8601_timestamp('2024-01-02T06:30:00Z')), "
                  "date_diff('month', DATE '2024-01-31', DATE '2024-02-29'), " /* Joda: Jan 31 + 1 month = Feb 29 */
                  "day_of_week(DATE '2024-01-01'), from_unixtime(1700000000)"),
              "2024-01-31 00:00:00.000|2024-02-29|30|1|1|2023-11-14 22:13:20.000\n");
    CHECK_STR(run("select parse_datetime('2024-01-02T03:04:05Z', 'yyyy-MM-dd''T''HH:mm:ss''Z'''), "
                  "date_parse('2024/01/02 03:04', '%Y/%m/%d %H:%i')"),
              "2024-01-02 03:04:05.000|2024-01-02 03:04:00.000\n");
    CHECK_STR(run("select TIMESTAMP '2024-01-02 00:00:00' - interval '1' day"), "2024-01-01 00:00:00.000\n");
    /* regexp, strings */
    CHECK_STR(run("select eventid from cloudtrail where regexp_like(sourceipaddress, '^\\d') order by 1"),
              "e1\ne2\n");
    CHECK_STR(run("select regexp_extract('arn:aws:iam::1:user/x', 'user/(\\w+)', 1), "
                  "element_at(split('a.b.c.', '.'), -2), split_part('a:b:c', ':', 2), strpos('abc', 'c')"),
              "x|c|b|3\n");
    /* IP addresses: public (non-RFC 1918) sources */
    CHECK_STR(run("SELECT eventid FROM cloudtrail WHERE regexp_like(sourceipaddress, '^\\d') "
                  "AND NOT ((CAST(sourceipaddress AS IPADDRESS) > IPADDRESS '10.0.0.0' "
                  "AND CAST(sourceipaddress AS IPADDRESS) < IPADDRESS '10.255.255.255'))"),
              "e1\n");
    /* Trino orders NULLs last */
    CHECK_STR(run("select errorcode from cloudtrail order by errorcode"), "AccessDenied\nN\nN\n");
    /* SHOW TABLES, DESCRIBE, SHOW COLUMNS: the public columns only */
    CHECK(has(run("SHOW TABLES"), "cloudtrail_logs\nocsf_cloudtrail\n"));
    CHECK(has(run("DESCRIBE cloudtrail_000000000000"), "eventversion\nuseridentity\neventtime\n"));
    CHECK(strstr(run("show columns from \"db\".\"cloudtrail\""), "useridentity.arn") == NULL);
    CHECK(strstr(run("show columns in vpcflow"), "sourceaddress\n") != NULL);
    CHECK_STR(run("describe nosuch"), "ERR: unknown table nosuch at line 1 (vigil query has "
                                      "cloudtrail_logs, vpc_flow_logs, vpcflow, r53_rlogs, "
                                      "s3_access_logs, cloudfront_logs, waf_logs, the Security "
                                      "Lake tables and their aliases)");
    /* errors name the construct and the line */
    CHECK_STR(run("select evenname\nfrom cloudtrail"), "ERR: unknown column evenname at line 1");
    CHECK_STR(run("select *\nfrom cloudtrail\nwhere nosuchfn(eventname)"),
              "ERR: unsupported: function nosuchfn at line 3");
    CHECK_STR(run("select *\nfrom cloudtrail_000000000000\nand year = '2020'"),
              "ERR: near \"and\": syntax error at line 3");
    CHECK(has(run("select * from apache_logs"),
              "ERR: unknown table apache_logs at line 1 (vigil query has cloudtrail_logs, "));
    CHECK_STR(run("select \"nosuch\" from cloudtrail"), "ERR: unknown column nosuch at line 1");
}

/* ORDER BY ... LIMIT n on cloudtrail_logs picks the n ids first and computes
 * the select list for those rows only; the same rows as the plain query (a
 * derived table is never rewritten this way: it is the plain plan). */
static void test_late_topn(void)
{
    CHECK(has(rw("select eventname, responseelements from cloudtrail_123 where errorcode = 'X' "
                 "order by eventtime desc limit 25;"),
              "select eventname, responseelements from cloudtrail_logs AS \"cloudtrail_123\" "
              "WHERE \"$id\" IN (SELECT \"$id\" from cloudtrail_logs AS \"cloudtrail_123\" where "
              "errorcode = 'X' order by eventtime desc limit 25) order by eventtime desc limit 25"));
    CHECK(has(rw("select t.eventname from cloudtrail t order by t.eventtime limit 2"),
              "WHERE \"$id\" IN (SELECT \"$id\" from cloudtrail_logs t order by t.eventtime "
              "NULLS LAST limit 2) order by t.eventtime NULLS LAST limit 2"));
    /* left as they are: aggregates, DISTINCT, ordinals, output aliases, no LIMIT, joins,
     * subqueries, OFFSET, other tables */
    static const char *const plain[] = {
        "select count(*) c from cloudtrail order by c limit 2",
        "select distinct eventname from cloudtrail order by eventname limit 2",
        "select eventname from cloudtrail order by 1 limit 2",
        "select eventname as n from cloudtrail order by n limit 2",
        "select lower(eventname) eventtime from cloudtrail order by eventtime limit 2",
        "select eventname from cloudtrail order by eventtime",
        "select a.eventname from cloudtrail a join cloudtrail b on a.eventid = b.eventid "
        "order by a.eventtime limit 2",
        "select eventname from cloudtrail where eventid in (select eventid from cloudtrail) "
        "order by eventtime limit 2",
        "select eventname from cloudtrail order by eventtime offset 1 limit 2",
        "select srcaddr from vpc_flow_logs order by start limit 2",
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        CHECK(strstr(rw(plain[i]), "$id") == NULL);
    static const char *const queries[] = {
        "select eventname, useridentity.arn, requestparameters from cloudtrail_logs "
        "order by eventtime limit 2",
        "select eventname, responseelements, errorcode from cloudtrail where errorcode is null "
        "order by eventtime desc limit 1",
        "select * from cloudtrail c where c.eventsource like '%.amazonaws.com' "
        "order by c.eventname desc, eventtime limit 2",
        "select eventname from cloudtrail order by useridentity.arn, eventname limit 3",
        "select eventname from cloudtrail where year = '2024' order by eventtime limit 5",
    };
    {
        /* the plan: the ids from the error index, then each row by its id */
        struct query_sql q;
        struct err e;
        const char *in = "select eventname, responseelements from cloudtrail where errorcode = 'X' "
                         "order by eventtime desc limit 25";
        CHECK_INT(query_sql_rewrite(in, strlen(in), &q, &e), 0);
        char plan[4096], detail[4096] = "";
        snprintf(plan, sizeof(plan), "EXPLAIN QUERY PLAN %s", q.sql);
        query_sql_free(&q);
        sqlite3_stmt *stmt = NULL;
        CHECK_INT(sqlite3_prepare_v2(store_db(get_store()), plan, -1, &stmt, NULL), SQLITE_OK);
        while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(stmt, 3);
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s;", d ? d : "");
        }
        sqlite3_finalize(stmt);
        CHECK(has(detail, "SEARCH main.cloudtrail USING INTEGER PRIMARY KEY (rowid=?);LIST SUBQUERY"));
        CHECK(has(detail, "USING INDEX cloudtrail_error"));
    }
    {
        /* counts by Region over a month of partitions read the time index alone */
        struct query_sql q;
        struct err e;
        const char *in = "SELECT region_partition, count(*) as eventcount FROM cloudtrail "
                         "WHERE date_partition >= '2024/01/01' AND date_partition <= '2024/01/31' "
                         "AND account_partition = '111122223333' AND region_partition in "
                         "('us-east-1','us-west-2') GROUP BY region_partition ORDER BY eventcount DESC";
        CHECK_INT(query_sql_rewrite(in, strlen(in), &q, &e), 0);
        char plan[4096], detail[4096] = "";
        snprintf(plan, sizeof(plan), "EXPLAIN QUERY PLAN %s", q.sql);
        query_sql_free(&q);
        sqlite3_stmt *stmt = NULL;
        CHECK_INT(sqlite3_prepare_v2(store_db(get_store()), plan, -1, &stmt, NULL), SQLITE_OK);
        while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(stmt, 3);
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s;", d ? d : "");
        }
        sqlite3_finalize(stmt);
        CHECK(has(detail, "USING INDEX cloudtrail_daily_key"));
    }
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char late[4096], derived[1024];
        CHECK(has(rw(queries[i]), "IN (SELECT \"$id\""));
        snprintf(late, sizeof(late), "%s", run(queries[i]));
        snprintf(derived, sizeof(derived), "select * from (%s)", queries[i]);
        CHECK(strstr(rw(derived), "$id") == NULL);
        CHECK_STR(late, run(derived));
        CHECK(strncmp(late, "ERR", 3) != 0 && late[0] != '\0');
    }
}

/* Counts by partition columns read the daily counts, with the rows a scan
 * gives; anything the counts cannot answer exactly keeps the scan. The
 * same statement as a derived table is never rolled up: the reference. */
static void test_rollup(void)
{
    static const struct {
        const char *sql;
        bool daily;
    } cases[] = {
        { "SELECT region_partition, count(*) as eventcount FROM cloudtrail WHERE date_partition >= "
          "'2024/01/01' AND date_partition <= '2024/01/31' GROUP BY region_partition "
          "ORDER BY eventcount DESC, region_partition", true },
        { "select year, month, day, account, count(*) from cloudtrail group by year, month, day, "
          "account order by 1, 2, 3, 4", true },
        { "select count(*) from cloudtrail_logs", true },
        { "select count(*) AS c, COUNT( * ) from cloudtrail where year = '2024' and month = '01' "
          "and day = '03'", true },
        { "select awsregion, count(*) from cloudtrail where year = '2023' group by awsregion", true },
        { "select t.region, count(*) c from cloudtrail t where t.day = '03' group by t.region "
          "having count(*) > 1", true },
        { "select region, count(*) from cloudtrail where eventname = 'ConsoleLogin' group by region",
          false },
        { "select region, count(*) from cloudtrail where eventtime >= '2024-01-03T10:30:00Z' "
          "group by region", false },
        { "select region from cloudtrail where year = '2024'", false },
        { "select region, count(distinct eventname) from cloudtrail group by region", false },
        { "select region, count(*) from cloudtrail where sourceipaddress = '1.2.3.4' group by region",
          false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ref[4096], derived[1024];
        CHECK_INT(strstr(rw(cases[i].sql), "$cloudtrail_daily") != NULL, cases[i].daily);
        snprintf(ref, sizeof(ref), "%s", run(cases[i].sql));
        snprintf(derived, sizeof(derived), "select * from (%s)", cases[i].sql);
        CHECK(strstr(rw(derived), "$cloudtrail_daily") == NULL);
        CHECK_STR(ref, run(derived));
        CHECK(strncmp(ref, "ERR", 3) != 0);
    }
    /* the column SQLite names after a bare count(*) keeps its text */
    struct store *st = get_store();
    sqlite3_stmt *stmt = NULL;
    char note[256];
    struct err e;
    const char *q = "select COUNT( * ) from cloudtrail";
    CHECK_INT(query_sql_prepare(store_db(st), q, strlen(q), &stmt, note, &e), 0);
    CHECK_STR(stmt ? sqlite3_column_name(stmt, 0) : "", "COUNT( * )");
    sqlite3_finalize(stmt);
}

/* ct_field gives what SQLite's own -> and ->> give on the stored record, for
 * every shape of value, and sees the record change under the connection. */
/* vq_utc_date, the partition columns' fast strftime, against SQLite's own
 * strftime(fmt, ms / 1000, 'unixepoch'): edges, every type, other formats,
 * and a sweep over 1970-9999. */
static void test_utc_date(void)
{
    sqlite3 *db = NULL;
    struct err e;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    CHECK_INT(query__sql_functions(db, &e), 0);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT vq_utc_date(?1, ?2) IS strftime(?2, ?1 / 1000, 'unixepoch'),"
                                 " quote(vq_utc_date(?1, ?2)), quote(strftime(?2, ?1 / 1000,"
                                 " 'unixepoch'))",
                                 -1, &st, NULL),
              SQLITE_OK);
    static const char *const fmts[] = { "%Y", "%m", "%d", "%Y/%m/%d", "%H", "%Y-%m", NULL };
    static const int64_t ints[] = { 0, 1, 999, 1000, 86399999, 86400000, 951782400000,
                                    951868799999, 1795132802000, 253402300799999,
                                    253402300800000, -1, -999, -1000, -86400001,
                                    -210866760000001, INT64_MAX, INT64_MIN };
    size_t n_fmt = sizeof(fmts) / sizeof(fmts[0]), checked = 0, bad = 0;
    /* 0..17 the integers, then a real, two texts, NULL and a blob, then a
     * sweep of pseudo-random times */
    uint64_t x = 88172645463325252u;
    for (size_t v = 0; v < 18 + 5 + 20000; v++) {
        for (size_t f = 0; f < n_fmt; f++) {
            sqlite3_reset(st);
            if (v < 18) {
                sqlite3_bind_int64(st, 1, ints[v]);
            } else if (v == 18) {
                sqlite3_bind_double(st, 1, 1795132802123.7);
            } else if (v == 19) {
                sqlite3_bind_text(st, 1, "1795132802000", -1, SQLITE_STATIC);
            } else if (v == 20) {
                sqlite3_bind_text(st, 1, "abc", -1, SQLITE_STATIC);
            } else if (v == 21) {
                sqlite3_bind_null(st, 1);
            } else if (v == 22) {
                sqlite3_bind_blob(st, 1, "\x01\x02", 2, SQLITE_STATIC);
            } else {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                sqlite3_bind_int64(st, 1, (int64_t)(x % UINT64_C(253402300800000)));
            }
            if (fmts[f])
                sqlite3_bind_text(st, 2, fmts[f], -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, 2);
            CHECK_INT(sqlite3_step(st), SQLITE_ROW);
            checked++;
            if (sqlite3_column_int(st, 0) != 1 && bad++ < 5)
                CHECK_STR((const char *)sqlite3_column_text(st, 1),
                          (const char *)sqlite3_column_text(st, 2));
        }
    }
    CHECK_INT((long long)bad, 0);
    CHECK(checked > 100000);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_ct_field(void)
{
    static const char *const recs[] = {
        "{\"a\":\"x\\u0041\\\"y\\u00e9\\ud83d\\ude00\",\"b\":{\"c\":[1,2],\"d\":\"q\"},\"a\":\"dup\","
        "\"n\":12,\"neg\":-7,\"big\":123456789012345678901,\"r\":1.5e3,\"t\":true,\"f\":false,"
        "\"z\":null,\"e\":\"\",\"s\":\"plain\",\"arr\":[],\"o\":{},\"k\\\"q\":1}",
        "{ \"s\" : \"v w\" ,\n \"b\" : { \"c\" : [ 1 , \"x y\" ] } , \"n\" : 3 }\n",
        "{\"a\":1,",
        "[1,2]",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,}",
        "{\"a\":1} x",
    };
    static const char *const keys[] = { "a", "b", "n", "neg", "big", "r", "t", "f", "z", "e",
                                        "s", "arr", "o", "k\\\"q", "missing", "" };
    sqlite3 *db = NULL;
    struct err e;
    char path[600];
    tmp_path("ctf.db", path, sizeof(path));
    unlink(path);
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(query__sql_ct_record(db, &e), 0);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE cloudtrail_raw(id INTEGER PRIMARY KEY, raw TEXT)",
                           NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *ins = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "INSERT INTO cloudtrail_raw VALUES(?1, ?2)", -1, &ins, NULL),
              SQLITE_OK);
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        sqlite3_bind_int(ins, 1, (int)i + 1);
        sqlite3_bind_text(ins, 2, recs[i], -1, SQLITE_STATIC);
        CHECK_INT(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    /* One statement per (record, key, arrow): value, type and error alike. */
    int compared = 0;
    for (int id = 1; id <= (int)(sizeof(recs) / sizeof(recs[0])); id++)
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            for (int mode = 0; mode < 2; mode++) {
                char sql[512];
                const char *arrow = mode ? "->" : "->>";
                snprintf(sql, sizeof(sql),
                         "SELECT x.raw %s '$.%s', ct_field(x.id, '%s', %d)"
                         " FROM cloudtrail_raw x WHERE x.id = %d",
                         arrow, keys[k], keys[k], mode, id);
                if (keys[k][0] == '\0')
                    snprintf(sql, sizeof(sql),
                             "SELECT x.raw, ct_field(x.id, '', 2) FROM cloudtrail_raw x"
                             " WHERE x.id = %d", id);
                sqlite3_stmt *st = NULL;
                CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
                int rc = sqlite3_step(st);
                if (id >= 3 && id != 4 && keys[k][0] != '\0') {
                    CHECK_INT(rc, SQLITE_ERROR); /* malformed: SQLite refuses it too */
                } else {
                    CHECK_INT(rc, SQLITE_ROW);
                    if (rc == SQLITE_ROW) {
                        sqlite3_value *a = sqlite3_column_value(st, 0);
                        sqlite3_value *b = sqlite3_column_value(st, 1);
                        CHECK_INT(sqlite3_value_type(b), sqlite3_value_type(a));
                        const char *ta = (const char *)sqlite3_value_text(a);
                        const char *tb = (const char *)sqlite3_value_text(b);
                        CHECK_STR(tb ? tb : "NULL", ta ? ta : "NULL");
                        CHECK_INT(sqlite3_value_subtype(b), sqlite3_value_subtype(a));
                        compared++;
                    }
                }
                sqlite3_finalize(st);
            }
    /* Records 1 and 2 on every key, the array (4: valid JSON, not an object:
     * NULL for every key, as SQLite says) too, the malformed ones whole. */
    CHECK_INT(compared, 3 * 2 * 16 + 4 * 2);
    /* The record read last changes under the cache: by this connection, and
     * by a new row given a deleted row's id. */
    static const char *const steps[] = {
        "UPDATE cloudtrail_raw SET raw = '{\"s\":\"new\"}' WHERE id = 1",
        "DELETE FROM cloudtrail_raw WHERE id = 1",
        "INSERT INTO cloudtrail_raw VALUES(1, '{\"s\":\"reused\"}')",
    };
    static const char *const want[] = { "new", "NULL", "reused" };
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st = NULL;
        CHECK_INT(sqlite3_exec(db, steps[i], NULL, NULL, NULL), SQLITE_OK);
        CHECK_INT(sqlite3_prepare_v2(db, "SELECT ifnull(ct_field(1, 's', 0), 'NULL')", -1, &st,
                                     NULL), SQLITE_OK);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        CHECK_STR((const char *)sqlite3_column_text(st, 0), want[i]);
        sqlite3_finalize(st);
    }
    /* A statement done but not reset keeps its cache alive; another
     * connection then changes the record (this one's change count does not
     * move): the next statement reads it again. */
    sqlite3_stmt *kept = NULL, *again = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT ct_field(1, 's', 0)", -1, &kept, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(kept), SQLITE_ROW);
    CHECK_INT(sqlite3_step(kept), SQLITE_DONE);
    sqlite3 *other = NULL;
    CHECK_INT(sqlite3_open(path, &other), SQLITE_OK);
    CHECK_INT(sqlite3_exec(other, "UPDATE cloudtrail_raw SET raw = '{\"s\":\"later\"}' WHERE id = 1",
                           NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT ct_field(1, 's', 0)", -1, &again, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(again), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(again, 0), "later");
    sqlite3_finalize(again);
    sqlite3_finalize(kept);
    CHECK_INT(sqlite3_close(db), SQLITE_OK); /* nothing of ct_field's left open */
    unlink(path);
}

static void test_run_flow_dns(void)
{
    CHECK_STR(run("select destinationport, sum(numbytes) as b from vpcflow where action = 'ACCEPT' "
                  "group by destinationport order by b desc"),
              "49152|5000\n443|1000\n");
    CHECK_STR(run("SELECT count(*) FROM vpcflow WHERE logstatus = 'OK' AND "
                  "contains('172.16.0.0/12', cast(sourceaddress as IPADDRESS)) AND "
                  "contains('172.16.0.0/12', cast(destinationaddress as IPADDRESS))"), "1\n");
    /* '-' fields are NULL: the CAST yields NULL instead of failing */
    CHECK_STR(run("SELECT count(*) FROM vpc_flow_logs WHERE CAST(srcaddr AS IPADDRESS) IS NULL"), "1\n");
    CHECK_STR(run("select count(*) from vpc_flow_logs where \"date\" = DATE('2023-11-14') and "
                  "\"end\" <= 1700000060 and start >= 1700000000"), "2\n");
    CHECK_STR(run("SELECT query_name FROM r53dns WHERE contains(transform(answers, x-> x.rdata), "
                  "'203.0.113.2')"), "evil.example.com.\n");
    CHECK_STR(run("SELECT element_at(split(query_name,'.'),-2) AS tld, srcids.instance FROM r53_rlogs "
                  "ORDER BY 1"), "com|i-1\norg|i-2\n");
    CHECK_STR(run("SELECT cardinality(array_distinct(filter(array_agg(srcids), q -> q.instance IS "
                  "NOT NULL))) FROM r53dns"), "2\n");
    CHECK_STR(run("SELECT q.query_name FROM r53_rlogs q CROSS JOIN UNNEST(q.answers) as st(answer) "
                  "WHERE answer.rdata = '203.0.113.2'"), "evil.example.com.\n");
    /* the customer-playbook JSON layout under the same name: the peer address
     * (the public end of v2 records), local/remote ports, bytes in and out */
    CHECK(has(rw("select ip, count(*) cnt from vpc_flow_logs group by ip"), "from vpc_flow_json"));
    CHECK(has(rw("select srcaddr as ip from vpc_flow_logs"), "from vpc_flow_logs"));
    CHECK(has(rw("CREATE EXTERNAL TABLE vpc_flow_logs (ip STRING, local_port INT) LOCATION 's3://b/'"),
              "serves it as the view vpc_flow_json"));
    CHECK_STR(run("select ip, local_port, remote_port, in_bytes, out_bytes, start_time, "
                  "is_rejected_packet from vpc_flow_logs order by start_time, ip"),
              "52.94.76.7|49152|443|0|1000|2023-11-14T22:13:20Z|false\n"
              "52.94.76.7|49152|443|5000|0|2023-11-14T22:13:20Z|false\n"
              "172.16.0.5|22|5555|40|0|2023-11-14T22:15:00Z|true\n");
}

static void test_run_ocsf(void)
{
    const char *ct = "\"amazon_security_lake_glue_db_us_east_1\"."
                     "\"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_1_0\"";
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT api.operation, actor.user.uuid, unmapped['responseElements.accessKey.accessKeyId'], "
             "src_endpoint.ip, user.name FROM %s WHERE eventday >= '20240101' ORDER BY time", ct);
    CHECK_STR(run(sql), "CreateAccessKey|arn:aws:sts::111122223333:assumed-role/r/sess|AKIA2|10.1.2.3|bob\n"
                        "AssumeRole|N|N|N|N\n");
    snprintf(sql, sizeof(sql),
             "SELECT src_endpoint.ip, sum(traffic.bytes) FROM \"db\"."
             "\"amazon_security_lake_table_us_east_1_vpc_flow_1_0\" WHERE src_endpoint.ip <> '-' "
             "AND contains('10.0.0.0/8', CAST(src_endpoint.ip AS IPADDRESS)) GROUP BY 1");
    CHECK_STR(run(sql), "10.0.0.1|1000\n");
    snprintf(sql, sizeof(sql),
             "SELECT query.hostname FROM \"db\".\"amazon_security_lake_table_us_east_1_route53_1_0\" "
             "WHERE contains(transform(answers, x-> x.rdata), '203.0.113.2')");
    CHECK_STR(run(sql), "evil.example.com.\n");
}

/* S3 server access, CloudFront and WAF logs through ingest and their views. */
static void test_run_weblogs(void)
{
    CHECK_STR(run("SELECT request_datetime, remote_ip, requester, key, http_status, bytes_sent "
                  "FROM s3_access_logs WHERE bucket = 'finance-reports' AND operation = "
                  "'REST.GET.OBJECT' AND request_datetime BETWEEN '2024-05-28T14:00:00Z' AND "
                  "'2024-05-28T15:00:00Z' ORDER BY request_datetime ASC"),
              "2024-05-28T14:02:11Z|203.0.113.50|arn:aws:iam::111122223333:user/bob|q1/pay.csv|200|52311\n"
              "2024-05-28T14:02:11Z|198.51.100.23|N|q1/pay.csv|403|243\n");
    /* the DDL's names, the raw time parsed as the Athena docs do */
    CHECK_STR(run("select errorcode, useragent, parse_datetime(requestdatetime, 'dd/MMM/yyyy:HH:mm:ss Z'), "
                  "request_uri, objectsize from s3_access_logs where httpstatus = '403'"),
              "AccessDenied|curl/8.4.0|2024-05-28 14:02:11.000|GET /finance-reports/q1/pay.csv HTTP/1.1|N\n");
    /* CloudFront: the W3C names and the DDL's, typed */
    CHECK_STR(run("SELECT \"c-ip\", COUNT(*), SUM(CASE WHEN \"sc-status\" >= 500 THEN 1 ELSE 0 END), "
                  "AVG(\"time-taken\"), APPROX_PERCENTILE(\"time-taken\", 0.5), "
                  "max(\"cs(User-Agent)\") FROM cloudfront_logs WHERE date = DATE '2026-01-01' "
                  "AND time BETWEEN '14:00:00' AND '15:00:00' GROUP BY \"c-ip\""),
              "198.51.100.99|2|1|0.685|0.12|python-requests/2.31.0\n");
    CHECK_STR(run("select request_ip, method, uri, status, time_taken, c_port from cloudfront_logs "
                  "order by time"),
              "198.51.100.99|POST|/login|503|1.25|40112\n198.51.100.99|GET|/login|200|0.12|40116\n");
    /* WAF: httprequest is a ROW, timestamp epoch ms */
    CHECK_STR(run("SELECT from_unixtime(timestamp/1000), action, terminatingruleid, "
                  "httprequest.clientip, httprequest.country, cardinality(labels) "
                  "FROM waf_logs WHERE timestamp BETWEEN 1716904800000 AND 1716908400000 "
                  "ORDER BY timestamp"),
              "2024-05-28 14:00:05.000|BLOCK|rate-limit|198.51.100.99|NL|1\n"
              "2024-05-28 14:01:40.000|ALLOW|Default_Action|192.0.2.44|US|0\n");
    /* tables still missing say which and why */
    CHECK_STR(run("select * from alb_logs"),
              "ERR: unsupported: table alb_logs (load balancer access logs: vigil ingest does not "
              "read ALB/ELB/NLB logs) at line 1");
    CHECK(has(run("select * from nosuch_logs"), "ERR: unknown table nosuch_logs at line 1 (vigil "
                                                 "query has cloudtrail_logs"));
    /* ingest is idempotent for these too, and works on the query connection
     * itself although its TEMP views are named like the store's tables
     * (vpcflow): the store writes to main.* explicitly */
    char dir[512];
    tmp_path("in", dir, sizeof(dir));
    const char *paths[] = { dir };
    struct store_ingest_opts o = { .force = true };
    struct store_ingest_stats stats;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_ingest(get_store(), paths, 1, &o, &stats, &e), 0);
    CHECK_STR(e.msg, "");
    CHECK_INT(stats.records, 15); /* 3 CloudTrail, 4 flow, 2 DNS, 2 + 2 + 2 web */
    CHECK_INT(stats.inserted, 0);
    struct store_counts counts;
    CHECK_INT(store_counts(get_store(), &counts, &e), 0);
    CHECK_INT(counts.vpcflow, 4);
    CHECK_STR(run("select (select count(*) from s3_access_logs), (select count(*) from cloudfront_logs), "
                  "(select count(*) from waf_logs)"), "2|2|2\n");
}

/* Each broken web log record is one error naming the line; the rest is read. */
static void test_weblog_bad_input(void)
{
    static const struct {
        const char *text, *msg;
        int records;
    } cases[] = {
        { "o b [28/May/2024:14:02:11 +0000] 1.2.3.4 - R REST.GET.OBJECT k \"GET /k HTTP/1.1 200\n",
          "line 1: S3 access log field 9 (request_uri): unterminated quoted value", 0 },
        { "o b [28/May/2024:14:02:11 +0000] 1.2.3.4 - R REST.GET.OBJECT k\n",
          "line 1: S3 access log record has 8 fields, expected at least 18", 0 },
        { "o b [28/Foo/2024:14:02:11 +0000] 1.2.3.4 - R O k \"u\" 200 - 1 1 1 1 \"-\" \"a\" - h\n",
          "line 1: S3 access log time \"28/Foo/2024:14:02:11 +0000\" is not dd/Mon/yyyy:HH:MM:SS +hhmm", 0 },
        { "#Version: 1.0\n2026-01-01\t14:00:00\n", "line 2: record before the #Fields line", 0 },
        { "#Version: 1.0\n#Fields: date time c-ip\n2026-01-01\t14:00:00\n2026-01-01\t14:00:01\t1.2.3.4\n",
          "line 3: CloudFront log record has 2 fields, #Fields names 3", 1 },
        { "{\"webaclId\":\"a\",\"timestamp\":\"x\"}\n", "WAF log record without a numeric timestamp", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct input_reader *r = NULL;
        struct err e;
        err_clear(&e);
        CHECK_INT(input_open_mem("t", cases[i].text, strlen(cases[i].text), NULL, &r, &e), 0);
        struct event ev;
        int rc, good = 0;
        bool saw = false;
        while ((rc = input_next(r, &ev, &e)) != INPUT_END) {
            if (rc == 0)
                good++;
            else if (strstr(e.msg, cases[i].msg) != NULL)
                saw = true;
            else
                printf("#   case %zu: unexpected \"%s\"\n", i, e.msg);
        }
        CHECK(saw);
        CHECK_INT(good, cases[i].records);
        input_close(r);
    }
}

/* Java regex semantics (Trino) that POSIX ERE lacked, each against what
 * Athena returns. */
static void test_regex(void)
{
    /* \d \w \s, (?i), lazy quantifiers, look-ahead / look-behind */
    CHECK_STR(run("select regexp_like('abc123', '^\\w+\\d{3}$'), regexp_like('a b', '\\S\\s\\S'), "
                  "regexp_extract('User: Bob', '(?i)user:\\s*(\\w+)', 1), "
                  "regexp_extract('aaa<b>c</b>', '<.+?>'), regexp_extract('aaa<b>c</b>', '<.+>')"),
              "1|1|Bob|<b>|<b>c</b>\n");
    CHECK_STR(run("select regexp_like('foobar', 'foo(?=bar)'), regexp_like('foobaz', 'foo(?=bar)'), "
                  "regexp_extract('price: $42', '(?<=\\$)\\d+'), regexp_like('x', '(?!y)x')"),
              "1|0|42|1\n");
    /* \w is ASCII in Java; (?i) folds any letter */
    CHECK_STR(run("select regexp_like('é', '^\\w$'), regexp_like('ÉCOLE', '(?i)école'), "
                  "regexp_extract('AKIAEXAMPLE123 ASIAX', '\\b(A[KS]IA)\\w+', 1)"),
              "0|1|AKIA\n");
    /* named groups, non-capturing groups, \Q...\E, a group that took no part */
    CHECK_STR(run("select regexp_extract('i-0abc', '(?<kind>[a-z]+)-(?:0)(\\w+)', 2), "
                  "regexp_like('a.b', '^\\Qa.b\\E$'), regexp_like('axb', '^\\Qa.b\\E$'), "
                  "regexp_extract('b', '(a)?b', 1)"),
              "abc|1|0|N\n");
    /* regexp_replace: removal, $n, ${name}, \$, empty matches between characters */
    CHECK_STR(run("select regexp_replace('a1b22c', '\\d+'), regexp_replace('a1b22c', '\\d+', '#'), "
                  "regexp_replace('John Smith', '(\\w+) (\\w+)', '$2, $1'), "
                  "regexp_replace('k=v', '(?<k>\\w)=(?<v>\\w)', '${v}=${k}'), "
                  "regexp_replace('5', '\\d', '\\$$0'), regexp_replace('abc', 'x*', '-'), "
                  "regexp_replace('abc', 'b*', '-')"),
              "abc|a#b#c|Smith, John|v=k|$5|-a-b-c-|-a--c-\n");
    CHECK_STR(run("select regexp_replace('abc', 'b', '$2')"), "ERR: regexp_replace: no group 2");
    /* the other regexp functions */
    CHECK_STR(run("select regexp_count('a1b2c3', '\\d'), regexp_extract_all('a1b22c', '\\d+'), "
                  "regexp_extract_all('a1b22c', '([a-z])\\d', 1), regexp_split('a1b22c', '\\d+'), "
                  "regexp_position('héllo', 'l'), regexp_position('héllo', 'l', 1, 2), "
                  "regexp_position('abc', 'z')"),
              "3|[\"1\",\"22\"]|[\"a\",\"b\"]|[\"a\",\"b\",\"c\"]|3|4|-1\n");
    /* NULL in, NULL out; errors name the problem */
    CHECK_STR(run("select regexp_like(NULL, 'a'), regexp_extract('a', NULL), regexp_replace('a', 'a', NULL)"),
              "N|N|N\n");
    CHECK_STR(run("select regexp_extract('abc', '(b)', 2)"),
              "ERR: Pattern has 1 groups. Cannot access group 2");
    CHECK(has(run("select regexp_like('a', '(')"),
              "ERR: invalid regular expression '(': missing closing parenthesis"));
    /* catastrophic backtracking is an error, not a hang */
    CHECK(has(run("select regexp_like('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', '^(a|aa)+$')"),
              "ERR: regular expression too complex"));
    /* a column pattern (not constant) works row by row */
    CHECK_STR(run("select count(*) from cloudtrail where regexp_like(eventname, eventname)"), "3\n");
}

/* approx_percentile: computed exactly (nearest rank), Athena's type kept. */
static void test_approx_percentile(void)
{
    static const char *five = "(select 1 x, 2 w union all select 2, 1 union all select 3, 1 "
                              "union all select 4, 1 union all select 100, 1)";
    char sql[512];
    snprintf(sql, sizeof(sql), "select approx_percentile(x, 0.5), approx_percentile(x, 0.95), "
             "approx_percentile(x, 0), approx_percentile(x * 1.5, 0.5), "
             "approx_percentile(x, ARRAY[0.25, 1.0]), approx_percentile(x, w, 0.5) from %s", five);
    CHECK_STR(run(sql), "3|100|1|4.5|[2,100]|2\n");
    snprintf(sql, sizeof(sql), "select approx_percentile(x, 1.5) from %s", five);
    CHECK_STR(run(sql), "ERR: approx_percentile: Percentile must be between 0 and 1");
    CHECK_STR(run("select approx_percentile(srcport, 0.5) from vpc_flow_logs where 1 = 0"), "N\n");
    CHECK_STR(run("select approx_distinct(eventname) from cloudtrail"), "3\n");
}

/* ---- the text index of requestParameters --------------------------------- */

/* requestParameters of the generated records (NULL: no such member): the
 * shapes whose view text differs from the record's bytes (whitespace, escapes,
 * numbers), quotes, case, multi-byte characters, LIKE's own % and _. */
static const char *const tx_params[] = {
    "{\"bucketName\":\"acme-prod-user-uploads\",\"key\":\"a/b.txt\"}",
    "{\"bucketName\":\"ACME-PROD-USER-UPLOADS\"}",
    "{ \"bucketName\" : \"acme-prod-user-uploads\" ,\n \"Host\": \"x\" }",
    "{\"key\":\"it's \\\"quoted\\\" o'brien\"}",
    "{\"name\":\"caf\\u00e9\"}",
    "{\"name\":\"caf\xc3\xa9 \xc3\xbc \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}",
    "null",
    NULL,
    "{\"n\":1.50,\"b\":true,\"arr\":[1, 2 ,3]}",
    "{\"policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\"}\"}",
    "{\"k\":\"ab\"}",
    "{\"k\":\"100%_done\"}",
};
#define TX_NP (sizeof(tx_params) / sizeof(tx_params[0]))
#define TX_N 60

static void tx_write(const char *path, int first, int n)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("{\"Records\":[", f);
    for (int i = first; i < first + n; i++) {
        const char *rp = tx_params[(size_t)i % TX_NP];
        fprintf(f,
                "%s{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\","
                "\"arn\":\"arn:aws:iam::111122223333:user/u%d\",\"accountId\":\"111122223333\"},"
                "\"eventTime\":\"2024-02-01T00:%02d:%02dZ\",\"eventSource\":\"s3.amazonaws.com\","
                "\"eventName\":\"%s\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"10.0.0.%d\","
                "%s%s%s\"eventID\":\"t%03d\",\"eventType\":\"AwsApiCall\","
                "\"recipientAccountId\":\"111122223333\"}",
                i > first ? "," : "", i % 7, i / 60, i % 60, i % 2 ? "GetObject" : "PutObject",
                i % 250, rp ? "\"requestParameters\":" : "", rp ? rp : "", rp ? "," : "", i);
    }
    fputs("]}", f);
    fclose(f);
}

/* A store of records [0, n) of the generated file at dir/name: with the text
 * index turned on before the ingest (when = 1), after it (2), or never (0). */
static struct store *tx_store(const char *name, int when, int n)
{
    char dir[512], p[600], db[600], nm[64];
    snprintf(nm, sizeof(nm), "tx-%s", name);
    tmp_path(nm, dir, sizeof(dir));
    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/ct.json", dir);
    tx_write(p, 0, n);
    snprintf(nm, sizeof(nm), "tx-%s.db", name);
    tmp_path(nm, db, sizeof(db));
    struct store *st = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_open(db, &st, &e), 0);
    if (st == NULL)
        return NULL;
    bool built = false;
    if (when == 1) {
        CHECK_INT(store_text_index_enable(st, NULL, NULL, &built, &e), 0);
        CHECK(built);
    }
    const char *paths[] = { dir };
    struct store_ingest_stats s;
    CHECK_INT(store_ingest(st, paths, 1, NULL, &s, &e), 0);
    CHECK_INT((long long)s.inserted, n);
    if (when == 2) {
        CHECK_INT(store_text_index_enable(st, NULL, NULL, &built, &e), 0);
        CHECK(built);
        CHECK_INT(store_text_index_enable(st, NULL, NULL, &built, &e), 0);
        CHECK(!built); /* already on */
    }
    bool have = false;
    CHECK_INT(store_text_index_exists(st, &have, &e), 0);
    CHECK(have == (when != 0));
    CHECK_INT(query_sql_setup(store_db(st), &e), 0);
    return st;
}

/* The rows of sql on st, one line each ("ERR: ..." on failure). With scan,
 * rewritten as if the store had no text index. */
static char tx_buf[2][16384];
static const char *tx_run(struct store *st, const char *sql, bool scan, int slot)
{
    char *out = tx_buf[slot];
    sqlite3_stmt *stmt = NULL;
    char note[256];
    struct err e;
    err_clear(&e);
    int rc;
    if (scan) {
        struct query_sql q;
        rc = query_sql_rewrite(sql, strlen(sql), &q, &e);
        if (rc == 0 && sqlite3_prepare_v2(store_db(st), q.sql, -1, &stmt, NULL) != SQLITE_OK)
            rc = err_set(&e, ERR_DB, "%s", sqlite3_errmsg(store_db(st)));
        query_sql_free(&q);
    } else {
        rc = query_sql_prepare(store_db(st), sql, strlen(sql), &stmt, note, &e);
    }
    if (rc != 0) {
        snprintf(out, sizeof(tx_buf[0]), "ERR: %s", e.msg);
        sqlite3_finalize(stmt);
        return out;
    }
    size_t len = 0;
    out[0] = '\0';
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && len + 80 < sizeof(tx_buf[0])) {
        const char *v = (const char *)sqlite3_column_text(stmt, 0);
        len += (size_t)snprintf(out + len, sizeof(tx_buf[0]) - len, "%s\n", v ? v : "N");
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        snprintf(out, sizeof(tx_buf[0]), "ERR: %s", sqlite3_errmsg(store_db(st)));
    sqlite3_finalize(stmt);
    return out;
}

static long long tx_ll(struct store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    else
        printf("# %s: %s\n", sql, sqlite3_errmsg(store_db(st)));
    sqlite3_finalize(s);
    return v;
}

/* st's text index holds exactly the trigrams of the view's requestparameters
 * of every row: compared, token instance by instance, with an index made
 * from the view now. */
static void tx_check_exact(struct store *st)
{
    sqlite3 *db = store_db(st);
    CHECK_INT(sqlite3_exec(db,
                           "DROP TABLE IF EXISTS temp.chk; DROP TABLE IF EXISTS temp.vchk;"
                           " DROP TABLE IF EXISTS temp.vidx;"
                           "CREATE VIRTUAL TABLE temp.chk USING fts5(t, content='', columnsize=0,"
                           " tokenize='trigram case_sensitive 1');"
                           "INSERT INTO temp.chk(rowid, t) SELECT \"$id\", requestparameters"
                           " FROM cloudtrail_logs;"
                           "CREATE VIRTUAL TABLE temp.vchk USING fts5vocab(temp, chk, instance);"
                           "CREATE VIRTUAL TABLE temp.vidx USING fts5vocab(main, cloudtrail_text,"
                           " instance);"
                           "INSERT INTO cloudtrail_text(cloudtrail_text) VALUES('integrity-check')",
                           NULL, NULL, NULL),
              SQLITE_OK);
    CHECK(tx_ll(st, "SELECT count(*) FROM temp.vchk") > 100);
    CHECK_INT(tx_ll(st, "SELECT count(*) FROM (SELECT * FROM temp.vchk EXCEPT SELECT * FROM"
                        " temp.vidx)"),
              0);
    CHECK_INT(tx_ll(st, "SELECT count(*) FROM (SELECT * FROM temp.vidx EXCEPT SELECT * FROM"
                        " temp.vchk)"),
              0);
}

static void test_text_index(void)
{
    struct store *none = tx_store("none", 0, TX_N);
    struct store *ingest = tx_store("ingest", 1, TX_N);
    struct store *later = tx_store("later", 2, TX_N);
    if (none == NULL || ingest == NULL || later == NULL)
        goto out;
    /* The patterns, and whether a run of >= 3 characters lets the index in. */
    static const struct {
        const char *like;
        bool indexed;
        int rows; /* -1: not checked, but the same as the scan's */
    } pats[] = {
        { "'%acme-prod-user-uploads%'", true, 10 },
        { "'%ACME-PROD%'", true, 5 },
        { "'%Acme%'", true, 0 },
        { "'%acme_prod%user%'", true, 10 },
        { "'%ab%'", false, -1 },
        { "'%\"k\":\"ab\"%'", true, 5 },
        { "'%o''brien%'", true, 5 },
        { "'%\\\"quoted\\\" o%'", true, 5 },
        { "'%\"bucketName\":\"acme%'", true, 10 },
        { "'{\"bucketName%'", true, 15 },
        { "'%\"Host\":\"x\"}'", true, 5 },
        { "'%caf\xc3\xa9%'", true, 5 },
        { "'%\xe6\x97\xa5\xe6\x9c\xac%'", false, 5 },
        { "'%\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e%'", true, 5 },
        { "'%caf\\u00e9%'", true, 5 },
        { "'%100!%!_done%' ESCAPE '!'", true, 5 },
        { "'%100%done%'", true, 5 },
        { "'%[1,2,3]%'", true, 5 },
        { "'%1.50,%'", true, 5 },
        { "'%Version%'", true, 5 },
        { "'%'", false, 50 },
        { "'__%'", false, 50 },
        { "'%\"\"%'", false, -1 },
        { "'%null%'", true, 0 },
    };
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        char sql[512], sq[512];
        snprintf(sql, sizeof(sql),
                 "SELECT eventid FROM cloudtrail_logs WHERE requestparameters LIKE %s"
                 " ORDER BY eventid",
                 pats[i].like);
        struct query_sql q;
        struct err e;
        err_clear(&e);
        CHECK_INT(query_sql_rewrite_flags(sql, strlen(sql), QUERY_SQL_TEXT_INDEX, &q, &e), 0);
        bool used = q.sql != NULL && strstr(q.sql, "cloudtrail_text MATCH") != NULL;
        if (used != pats[i].indexed)
            printf("# %s -> %s\n", pats[i].like, q.sql ? q.sql : "?");
        CHECK(used == pats[i].indexed);
        query_sql_free(&q);
        const char *want = tx_run(none, sql, false, 0);
        CHECK(strncmp(want, "ERR", 3) != 0);
        if (pats[i].rows >= 0) {
            int lines = 0;
            for (const char *c = want; *c; c++)
                lines += *c == '\n';
            if (lines != pats[i].rows)
                printf("# %s: %d rows\n", pats[i].like, lines);
            CHECK_INT(lines, pats[i].rows);
        }
        CHECK_STR(tx_run(ingest, sql, false, 1), want);
        CHECK_STR(tx_run(later, sql, false, 1), want);
        CHECK_STR(tx_run(later, sql, true, 1), want);
        /* Other shapes: qualified, with more conjuncts, the late top-n. */
        snprintf(sq, sizeof(sq),
                 "SELECT c.eventid FROM cloudtrail_logs c WHERE c.eventname = 'GetObject' AND"
                 " c.requestparameters LIKE %s AND c.eventtime BETWEEN '2024-01-01T00:00:00Z'"
                 " AND '2024-12-31T00:00:00Z' ORDER BY c.eventid DESC LIMIT 3",
                 pats[i].like);
        CHECK_STR(tx_run(ingest, sq, false, 0), tx_run(none, sq, false, 1));
    }
    /* Where the LIKE's NULL would differ from the index's false, the index
     * is left out; the results stay the scan's. */
    static const char *const kept[] = {
        "SELECT eventid FROM cloudtrail_logs WHERE NOT requestparameters LIKE '%acme%'"
        " ORDER BY 1",
        "SELECT eventid FROM cloudtrail_logs WHERE (requestparameters LIKE '%acme%') IS NOT TRUE"
        " ORDER BY 1",
        "SELECT eventid FROM cloudtrail_logs WHERE requestparameters NOT LIKE '%acme%' ORDER BY 1",
        "SELECT requestparameters LIKE '%acme%' FROM cloudtrail_logs ORDER BY eventid",
        "SELECT eventid FROM cloudtrail_logs WHERE eventname = 'x' OR requestparameters LIKE"
        " '%acme%' ORDER BY 1",
    };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        struct query_sql q;
        struct err e;
        err_clear(&e);
        CHECK_INT(query_sql_rewrite_flags(kept[i], strlen(kept[i]), QUERY_SQL_TEXT_INDEX, &q, &e),
                  0);
        CHECK(q.sql != NULL && strstr(q.sql, "MATCH") == NULL);
        query_sql_free(&q);
        CHECK_STR(tx_run(ingest, kept[i], false, 0), tx_run(none, kept[i], false, 1));
    }
    /* Without the flag, never. */
    CHECK(strstr(rw("SELECT 1 FROM cloudtrail_logs WHERE requestparameters LIKE '%acme%'"),
                 "MATCH") == NULL);
    /* The rewritten SQL (a literal's quotes, FTS5's quotes). */
    {
        const char *in = "SELECT 1 FROM cloudtrail_logs WHERE eventname = 'a' AND requestparameters"
                         " LIKE '%o''b\"r%x_yz%'";
        struct query_sql q;
        struct err e;
        err_clear(&e);
        CHECK_INT(query_sql_rewrite_flags(in, strlen(in), QUERY_SQL_TEXT_INDEX, &q, &e), 0);
        CHECK(q.sql != NULL && has(q.sql, "(\"$id\" IN (SELECT rowid FROM main.cloudtrail_text"
                                          " WHERE cloudtrail_text MATCH '\"o''b\"\"r\"') AND"
                                          " requestparameters LIKE '%o''b\"r%x_yz%')"));
        query_sql_free(&q);
    }

    /* Which form the statement gets: the IN list where SQLite reads rows
     * through it, vq_text_has where another index drives. */
    {
        static const struct {
            const char *sql;
            bool probe;
        } forms[] = {
            { "SELECT eventid FROM cloudtrail_logs WHERE requestparameters LIKE '%acme-prod%'",
              false },
            { "SELECT eventid FROM cloudtrail_logs WHERE requestparameters LIKE '%acme-prod%'"
              " ORDER BY eventtime DESC LIMIT 2", false },
            { "SELECT eventid FROM cloudtrail_logs WHERE eventname = 'PutObject' AND"
              " requestparameters LIKE '%acme-prod%'", true },
            { "SELECT eventid FROM cloudtrail_logs WHERE eventsource = 's3.amazonaws.com' AND"
              " requestparameters LIKE '%acme-prod%' AND eventtime > '2024-01-01T00:00:00Z'"
              " ORDER BY eventtime", true },
        };
        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
            sqlite3_stmt *stmt = NULL;
            char note[256];
            struct err e;
            err_clear(&e);
            CHECK_INT(query_sql_prepare(store_db(ingest), forms[i].sql, strlen(forms[i].sql), &stmt,
                                        note, &e), 0);
            const char *got = stmt ? sqlite3_sql(stmt) : "";
            bool probe = strstr(got, "vq_text_has(") != NULL;
            bool list = strstr(got, "IN (SELECT rowid FROM main.cloudtrail_text") != NULL;
            if (probe != forms[i].probe || list == forms[i].probe)
                printf("#   %s\n#   -> %s\n", forms[i].sql, got);
            CHECK(probe == forms[i].probe && list != forms[i].probe);
            sqlite3_finalize(stmt);
            char want[16384];
            snprintf(want, sizeof(want), "%s", tx_run(none, forms[i].sql, false, 0));
            if (strncmp(want, "ERR", 3) == 0 || want[0] == '\0')
                printf("#   %s: %s\n", forms[i].sql, want);
            CHECK(strncmp(want, "ERR", 3) != 0 && want[0] != '\0');
            CHECK_STR(tx_run(ingest, forms[i].sql, false, 1), want);
        }
    }
    /* vq_text_has over ids too far apart for its bitmap (a binary search),
     * and over dense ones, against the IN list it stands for. */
    {
        sqlite3 *mem = NULL;
        struct err e;
        CHECK_INT(sqlite3_open(":memory:", &mem), SQLITE_OK);
        CHECK_INT(query_sql_setup(mem, &e), 0);
        CHECK_INT(sqlite3_exec(mem,
                               "CREATE VIRTUAL TABLE cloudtrail_text USING fts5(t);"
                               "CREATE TABLE ids(id INTEGER PRIMARY KEY);"
                               "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                               " WHERE i < 3000) INSERT INTO ids SELECT i * 7919 FROM n;"
                               "INSERT INTO ids VALUES(1099511627776), (1099511627777), (-5);"
                               "INSERT INTO cloudtrail_text(rowid, t) SELECT id, CASE"
                               " WHEN id % 3 = 0 THEN 'red fox' WHEN id % 3 = 1 THEN 'blue fox'"
                               " ELSE 'red hen' END FROM ids;",
                               NULL, NULL, NULL),
                  SQLITE_OK);
        static const char *const qs[] = { "red", "fox", "hen", "red AND fox", "absent" };
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
            char sql[512];
            snprintf(sql, sizeof(sql),
                     "SELECT count(*), sum(vq_text_has(id, '%s') IS NOT (id IN (SELECT rowid FROM"
                     " cloudtrail_text WHERE cloudtrail_text MATCH '%s'))),"
                     " sum(vq_text_has(id, '%s')) FROM (SELECT id FROM ids UNION ALL"
                     " SELECT id + 1 FROM ids UNION ALL SELECT 0)",
                     qs[i], qs[i], qs[i]);
            sqlite3_stmt *stmt = NULL;
            CHECK_INT(sqlite3_prepare_v2(mem, sql, -1, &stmt, NULL), SQLITE_OK);
            CHECK_INT(sqlite3_step(stmt), SQLITE_ROW);
            CHECK_INT(sqlite3_column_int(stmt, 0), 2 * 3003 + 1);
            CHECK_INT(sqlite3_column_int(stmt, 1), 0);
            if (strcmp(qs[i], "absent") == 0)
                CHECK_INT(sqlite3_column_int(stmt, 2), 0);
            else
                CHECK(sqlite3_column_int(stmt, 2) > 900);
            sqlite3_finalize(stmt);
        }
        /* dense ids: the bitmap */
        CHECK_INT(sqlite3_exec(mem, "DELETE FROM cloudtrail_text WHERE rowid > 100000000 OR rowid < 0",
                               NULL, NULL, NULL), SQLITE_OK);
        sqlite3_stmt *stmt = NULL;
        CHECK_INT(sqlite3_prepare_v2(mem,
                                     "SELECT sum(vq_text_has(id, 'fox') IS NOT (id IN (SELECT rowid"
                                     " FROM cloudtrail_text WHERE cloudtrail_text MATCH 'fox'))),"
                                     " sum(vq_text_has(id, 'fox')), vq_text_has(NULL, 'fox')"
                                     " FROM (SELECT id FROM ids UNION ALL SELECT id + 1 FROM ids)",
                                     -1, &stmt, NULL), SQLITE_OK);
        CHECK_INT(sqlite3_step(stmt), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(stmt, 0), 0);
        CHECK_INT(sqlite3_column_int(stmt, 1), 2000);
        CHECK_INT(sqlite3_column_type(stmt, 2), SQLITE_NULL);
        sqlite3_finalize(stmt);
        /* a bad query is SQLite's error */
        CHECK(sqlite3_exec(mem, "SELECT vq_text_has(1, 'AND')", NULL, NULL, NULL) != SQLITE_OK);
        sqlite3_close(mem);
    }

    /* The index made at ingest and the one built later are the view's. */
    tx_check_exact(ingest);
    tx_check_exact(later);

    /* Retention deletes (and an update) go through the triggers. */
    struct err e;
    err_clear(&e);
    sqlite3 *db = store_db(ingest);
    CHECK_INT(sqlite3_exec(db,
                           "DELETE FROM cloudtrail WHERE id % 3 = 0;"
                           "DELETE FROM cloudtrail_raw WHERE id % 3 = 0;"
                           "UPDATE cloudtrail_raw SET raw = replace(raw, 'acme', 'ACMX')"
                           " WHERE id % 3 = 1",
                           NULL, NULL, NULL),
              SQLITE_OK);
    tx_check_exact(ingest);
    CHECK_STR(tx_run(ingest, "SELECT count(*) FROM cloudtrail_logs WHERE requestparameters LIKE"
                             " '%ACMX%'", false, 0),
              tx_run(ingest, "SELECT count(*) FROM cloudtrail_logs WHERE requestparameters LIKE"
                             " '%ACMX%'", true, 1));
    /* A writer that does not maintain the index (an older Vigil, the sqlite3
     * shell) is refused rather than leave records out of it. */
    {
        sqlite3 *other = NULL;
        char path[600];
        tmp_path("tx-ingest.db", path, sizeof(path));
        CHECK_INT(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(other, 5000);
        char *msg = NULL;
        CHECK(sqlite3_exec(other, "INSERT INTO cloudtrail_raw(id, raw) VALUES(100000, '{}')",
                           NULL, NULL, &msg) != SQLITE_OK);
        CHECK(msg != NULL && strstr(msg, "vigil_text_maintained") != NULL);
        sqlite3_free(msg);
        sqlite3_close(other);
    }
    /* ... and the records come back (ids reused) with a forced ingest. */
    char dir[512];
    tmp_path("tx-ingest", dir, sizeof(dir));
    const char *paths[] = { dir };
    struct store_ingest_opts o = { .force = true };
    struct store_ingest_stats s;
    CHECK_INT(store_ingest(ingest, paths, 1, &o, &s, &e), 0);
    CHECK_INT((long long)s.inserted, TX_N / 3);
    tx_check_exact(ingest);
    CHECK_STR(tx_run(ingest, "SELECT eventid FROM cloudtrail_logs WHERE requestparameters LIKE"
                             " '%acme-prod%' ORDER BY 1", false, 0),
              tx_run(ingest, "SELECT eventid FROM cloudtrail_logs WHERE requestparameters LIKE"
                             " '%acme-prod%' ORDER BY 1", true, 1));
out:
    store_close(none);
    store_close(ingest);
    store_close(later);
}


/* ---- ORDER BY eventtime through the epoch column -------------------------------- */

/* The rewrite of in with QUERY_SQL_TIME_ORDER. */
static const char *rw_timed(const char *in)
{
    struct query_sql q;
    struct err e;
    err_clear(&e);
    if (query_sql_rewrite_flags(in, strlen(in), QUERY_SQL_TIME_ORDER, &q, &e) != 0) {
        snprintf(out_buf, sizeof(out_buf), "ERR: %s", e.msg);
        return out_buf;
    }
    snprintf(out_buf, sizeof(out_buf), "%s", q.sql ? q.sql : "");
    query_sql_free(&q);
    return out_buf;
}

/* A store of the CloudTrail records with these event times (ids t0, t1, ...). */
static struct store *times_store(const char *name, const char *const *times, size_t n)
{
    char dir[512], p[600], db[600], nm[64];
    snprintf(nm, sizeof(nm), "to-%s", name);
    tmp_path(nm, dir, sizeof(dir));
    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/ct.json", dir);
    static char json[16384];
    size_t len = (size_t)snprintf(json, sizeof(json), "{\"Records\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, sizeof(json) - len,
                                "%s{\"eventVersion\":\"1.08\",\"eventTime\":\"%s\",\"eventSource\":"
                                "\"iam.amazonaws.com\",\"eventName\":\"E%zu\",\"awsRegion\":"
                                "\"us-east-1\",\"eventID\":\"t%zu\",\"userIdentity\":{\"type\":"
                                "\"IAMUser\",\"accessKeyId\":\"AKIAT\"},\"eventType\":\"AwsApiCall\"}",
                                i ? "," : "", times[i], i % 3, i);
    snprintf(json + len, sizeof(json) - len, "]}");
    write_file(p, json);
    snprintf(nm, sizeof(nm), "to-%s.db", name);
    tmp_path(nm, db, sizeof(db));
    struct store *st = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_open(db, &st, &e), 0);
    if (st == NULL)
        return NULL;
    const char *paths[] = { dir };
    struct store_ingest_stats s;
    CHECK_INT(store_ingest(st, paths, 1, NULL, &s, &e), 0);
    CHECK_INT((long long)s.inserted, (long long)n);
    CHECK_INT(query_sql_setup(store_db(st), &e), 0);
    return st;
}

static void test_time_order(void)
{
    /* plain statements on cloudtrail_logs: the key becomes the epoch column */
    CHECK(has(rw_timed("select eventname from cloudtrail order by eventtime"),
              "order by \"eventtime.ms\" NULLS LAST"));
    CHECK(has(rw_timed("select eventname from cloudtrail where errorcode = 'X' "
                       "order by eventTime DESC;"), "order by \"eventtime.ms\" DESC"));
    CHECK(has(rw_timed("select eventname from cloudtrail order by account_partition, eventtime asc, "
                       "eventname"), "order by account_partition NULLS LAST, \"eventtime.ms\" asc "
                                     "NULLS LAST, eventname NULLS LAST"));
    CHECK(has(rw_timed("select t.eventname from cloudtrail_123 t order by t.eventtime desc limit 2"),
              "order by t.\"eventtime.ms\" desc limit 2) order by t.\"eventtime.ms\" desc limit 2"));
    /* left as they are: not the bare key, an output alias, another shape */
    static const char *const kept[] = {
        "select eventname from cloudtrail order by from_iso8601_timestamp(eventtime)",
        "select eventname from cloudtrail order by eventtime || 'x'",
        "select eventname from cloudtrail order by eventname, substr(eventtime, 1, 10)",
        "select lower(eventname) eventtime from cloudtrail order by eventtime",
        "select eventname, eventtime as eventtime from cloudtrail order by eventtime",
        "select eventtime, count(*) from cloudtrail group by eventtime order by eventtime",
        "select distinct eventtime from cloudtrail order by eventtime",
        "select * from (select eventtime, eventname from cloudtrail) order by eventtime",
        "select a.eventname from cloudtrail a join cloudtrail b on a.eventid = b.eventid "
        "order by a.eventtime",
        "select eventname from cloudtrail where eventid in (select eventid from cloudtrail) "
        "order by eventtime",
        "select srcaddr from vpc_flow_logs order by start",
        "select eventname from cloudtrail order by eventtime offset 1 limit 2",
    };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        CHECK(strstr(rw_timed(kept[i]), "eventtime.ms\" ") == NULL &&
              strstr(out_buf, "eventtime.ms\" DESC") == NULL);
    /* without the flag, never */
    CHECK(strstr(rw("select eventname from cloudtrail order by eventtime"), "eventtime.ms") == NULL);

    /* The window a statement may be sliced over: top-level bounds only. */
    static const struct {
        const char *sql;
        bool sliceable, desc;
        long long lo, hi;
    } spans[] = {
        { "select eventname from cloudtrail where eventtime between '2024-01-01T00:00:00Z' and "
          "'2024-01-02T00:00:00Z' order by eventtime desc", true, true, 1704067199000LL,
          1704153601001LL },
        { "select * from cloudtrail where year = '2024' and month = '02' and eventname = 'x'",
          true, false, 1706745600000LL, 1709251200000LL },
        { "select eventname from cloudtrail where eventtime >= '2024-01-01T00:00:00Z' and "
          "eventname = 'x' and eventtime < '2024-01-03T00:00:00Z'", true, false,
          1704067199000LL, 1704240001001LL },
        { "select eventname from cloudtrail where eventtime >= '2024-01-01T00:00:00Z'", false },
        { "select eventname from cloudtrail where not eventtime >= '2024-01-01T00:00:00Z' and "
          "eventtime < '2024-01-03T00:00:00Z'", false },
        { "select eventname from cloudtrail where eventname = 'x' or eventtime between "
          "'2024-01-01T00:00:00Z' and '2024-01-02T00:00:00Z'", false },
        { "select eventname from cloudtrail where (eventtime between '2024-01-01T00:00:00Z' and "
          "'2024-01-02T00:00:00Z')", false },
        { "select eventname from cloudtrail where eventtime between '2024-01-01T00:00:00Z' and "
          "'2024-01-02T00:00:00Z' limit 3", false },
        { "select eventname from cloudtrail where eventtime between '2024-01-01T00:00:00Z' and "
          "'2024-01-02T00:00:00Z' order by eventname", false },
        /* a text filter: sliceable here; query_sql_split decides from the plan */
        { "select eventname from cloudtrail where eventtime between '2024-01-01T00:00:00Z' and "
          "'2024-01-02T00:00:00Z' and requestparameters like '%acme-bucket%'", true, false,
          1704067199000LL, 1704153601001LL },
    };
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        struct query_sql q;
        struct err e;
        CHECK_INT(query_sql_rewrite_flags(spans[i].sql, strlen(spans[i].sql),
                                          QUERY_SQL_TIME_ORDER | QUERY_SQL_TEXT_INDEX, &q, &e), 0);
        if (q.sliceable != spans[i].sliceable)
            printf("#   %s: sliceable %d\n", spans[i].sql, q.sliceable);
        CHECK(q.sliceable == spans[i].sliceable);
        if (spans[i].sliceable) {
            CHECK(q.slice_desc == spans[i].desc);
            CHECK_INT(q.span_lo, spans[i].lo);
            CHECK_INT(q.span_hi, spans[i].hi);
        }
        query_sql_free(&q);
    }
    /* A slice: the window's own bounds no longer bound the index ("+"),
     * the slice's do. */
    {
        const char *in = "select eventname from cloudtrail c where c.eventtime between "
                         "'2024-01-01T00:00:00Z' and '2024-01-02T00:00:00Z' and year = '2024' "
                         "order by eventtime";
        struct query_sql q;
        struct err e;
        CHECK_INT(query_sql_rewrite_slice(in, strlen(in), QUERY_SQL_TIME_ORDER, 5, 9, &q, &e), 0);
        CHECK(has(q.sql, "where ( ( c.eventtime between '2024-01-01T00:00:00Z' and "
                         "'2024-01-02T00:00:00Z' AND +\"c\".\"eventtime.ms\" BETWEEN"));
        CHECK(has(q.sql, "and (+\"eventtime.ms\" >= 1704067200000 AND +\"eventtime.ms\" < "
                         "1735689600000)) AND \"eventtime.ms\" >= 5 AND \"eventtime.ms\" < 9 "
                         "order by \"eventtime.ms\""));
        query_sql_free(&q);
        const char *lim = "select eventname from cloudtrail where eventtime > '2024-01-01T00:00:00Z'"
                          " limit 3";
        CHECK_INT(query_sql_rewrite_slice(lim, strlen(lim), 0, 5, 9, &q, &e), ERR_USAGE);
    }

    /* On a store: canonical times (ties, years apart, a leap day) order the
     * same both ways; the plan reads the key's index in time order. */
    static const char *const good[] = {
        "2024-02-29T23:59:59Z", "2023-12-31T00:00:00Z", "2024-03-01T00:00:00Z",
        "2024-02-29T23:59:59Z", "1999-01-01T12:00:00Z", "2024-03-01T00:00:00Z",
        "2031-07-04T08:09:10Z",
    };
    static const char *const queries[] = {
        "select eventid from cloudtrail order by eventtime, eventid",
        "select eventid from cloudtrail order by eventtime desc, eventid desc",
        "select eventid from cloudtrail where useridentity.accesskeyid = 'AKIAT' "
        "order by eventtime, eventid",
        "select eventid from cloudtrail order by eventname, eventtime, eventid",
        "select eventid from cloudtrail order by eventtime desc, eventid limit 3",
    };
    struct store *st = times_store("good", good, sizeof(good) / sizeof(good[0]));
    if (st == NULL)
        return;
    CHECK_INT(store_db_ct_times_canonical(store_db(st)), 1);
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char fast[4096];
        snprintf(fast, sizeof(fast), "%s", tx_run(st, queries[i], false, 0));
        CHECK_STR(fast, tx_run(st, queries[i], true, 1));
        CHECK(strncmp(fast, "ERR", 3) != 0 && strchr(fast, '\n') != NULL);
    }
    CHECK_STR(tx_run(st, "select eventid from cloudtrail order by eventtime, eventid", false, 0),
              "t4\nt1\nt0\nt3\nt2\nt5\nt6\n");
    {
        sqlite3_stmt *stmt = NULL;
        char note[256], plan[4096], detail[2048] = "";
        struct err e;
        const char *in = "select eventid from cloudtrail where useridentity.accesskeyid = 'AKIAT' "
                         "order by eventtime desc";
        CHECK_INT(query_sql_prepare(store_db(st), in, strlen(in), &stmt, note, &e), 0);
        snprintf(plan, sizeof(plan), "EXPLAIN QUERY PLAN %s", sqlite3_sql(stmt));
        sqlite3_finalize(stmt);
        CHECK_INT(sqlite3_prepare_v2(store_db(st), plan, -1, &stmt, NULL), SQLITE_OK);
        while (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(stmt, 3);
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s;", d ? d : "");
        }
        sqlite3_finalize(stmt);
        CHECK(has(detail, "USING INDEX cloudtrail_key"));
        CHECK(strstr(detail, "TEMP B-TREE") == NULL);
    }
    /* An older store (no index) cannot tell: 0, and the text order stays. */
    CHECK_INT(sqlite3_exec(store_db(st), "DROP INDEX cloudtrail_odd_time", NULL, NULL, NULL),
              SQLITE_OK);
    CHECK_INT(store_db_ct_times_canonical(store_db(st)), 0);
    store_close(st);

    /* One odd text (a fraction, an offset, zero milliseconds written out)
     * and the store says so: the order is the text's, as Athena's. */
    static const char *const odd[][8] = {
        { "2024-07-01T00:00:03Z", "2024-07-01T00:00:03.5Z", "2024-07-01T00:00:02Z" },
        { "2024-07-01T00:00:03Z", "2024-07-01T01:00:02+01:00", "2024-07-01T00:00:04Z" },
        { "2024-07-01T00:00:03Z", "2024-07-01T00:00:03.000Z", "2024-07-01T00:00:02Z" },
    };
    static const char *const want[] = { "t2\nt1\nt0\n", "t0\nt2\nt1\n", "t2\nt1\nt0\n" };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "odd%zu", i);
        st = times_store(name, odd[i], 3);
        if (st == NULL)
            return;
        CHECK_INT(store_db_ct_times_canonical(store_db(st)), 0);
        const char *q = "select eventid from cloudtrail order by eventtime";
        CHECK_STR(tx_run(st, q, false, 0), want[i]);
        CHECK_STR(tx_run(st, q, true, 1), want[i]);
        store_close(st);
    }
}

static void test_cleanup(void)
{
    store_close(test_store);
    test_store = NULL;
    char cmd[400];
    if (tmpdir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        CHECK_INT(system(cmd), 0);
    }
}

static const struct harness_test tests[] = {
    { "struct_access", test_struct_access },
    { "tables", test_tables },
    { "literals_and_time", test_literals_and_time },
    { "functions", test_functions },
    { "lambdas_unnest", test_lambdas_unnest },
    { "order_by_nulls", test_order_by_nulls },
    { "ddl_and_errors", test_ddl_and_errors },
    { "run_cloudtrail", test_run_cloudtrail },
    { "late_topn", test_late_topn },
    { "rollup", test_rollup },
    { "ct_field", test_ct_field },
    { "utc_date", test_utc_date },
    { "run_flow_dns", test_run_flow_dns },
    { "run_ocsf", test_run_ocsf },
    { "run_weblogs", test_run_weblogs },
    { "weblog_bad_input", test_weblog_bad_input },
    { "regex", test_regex },
    { "approx_percentile", test_approx_percentile },
    { "text_index", test_text_index },
    { "time_order", test_time_order },
    { "cleanup", test_cleanup },
};

HARNESS_MAIN(tests)
