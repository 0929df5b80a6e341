/*
 * kill -9 during `vigil ingest`, then re-run: every record must be in the
 * store exactly once.
 *
 * usage: test_store_kill VIGIL GEN_CORPUS
 *
 * Generates a multi-file corpus (CloudTrail, VPC flow, Resolver) with the
 * benchmark generator, ingests it into a reference store without
 * interruption, then ingests it into a second store in a child `vigil ingest`
 * that is killed with SIGKILL at several points (right after start, and when
 * about 20%, 50% and 80% of the rows are in), re-running each time; a last
 * run completes. The second store must then hold exactly the reference's
 * rows (every column but rowids), as many as the generator wrote, with no
 * duplicate and a finished ledger row per file. The killed store has the
 * text index of requestParameters on from the start: it must end holding
 * exactly the trigrams of its records, as an index built afresh does.
 */
#include "unit/harness.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *vigil, *gen;
static char dir[256], corpus[512], ref_db[512], db[512];
static long long want_ct, want_flow, want_dns, want_files;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

static int run(char *const argv[])
{
    int st = wait_status(spawn(argv));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long long query_ll(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Rows in the store so far (max rowid: cheap while a writer runs). */
static long long rows_in(const char *path)
{
    sqlite3 *h = NULL;
    long long n = -1;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 1000);
        long long a = query_ll(h, "SELECT ifnull(max(id),0) FROM cloudtrail");
        long long b = query_ll(h, "SELECT ifnull(max(id),0) FROM vpcflow");
        long long c = query_ll(h, "SELECT ifnull(max(id),0) FROM dns");
        if (a >= 0 && b >= 0 && c >= 0)
            n = a + b + c;
    }
    sqlite3_close(h);
    return n;
}

static long long manifest(const char *key)
{
    char path[600], line[256];
    snprintf(path, sizeof(path), "%s/MANIFEST", corpus);
    FILE *f = fopen(path, "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == '=')
            v = strtoll(line + kl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void test_generate(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vigil-test-kill-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(corpus, sizeof(corpus), "%s/corpus", dir);
    snprintf(ref_db, sizeof(ref_db), "%s/ref.db", dir);
    snprintf(db, sizeof(db), "%s/killed.db", dir);
    char *argv[] = { (char *)gen, "--out", corpus, "--ct-records", "40000",
                     "--records-per-file", "1000", "--flow-lines", "60000", "--flow-per-file",
                     "5000", "--dns-lines", "20000", "--dns-per-file", "2000", "--jobs", "2",
                     NULL };
    CHECK_INT(run(argv), 0);
    want_ct = manifest("cloudtrail_records");
    want_flow = manifest("vpcflow_records");
    want_dns = manifest("dns_records");
    want_files = manifest("cloudtrail_files") + manifest("vpcflow_files") + manifest("dns_files");
    CHECK_INT(want_ct, 40000);
    CHECK_INT(want_flow, 60000);
    CHECK_INT(want_dns, 20000);
    CHECK_INT(want_files, 62);
}

static void test_reference(void)
{
    char aws[600];
    snprintf(aws, sizeof(aws), "%s/AWSLogs", corpus);
    char *argv[] = { (char *)vigil, "ingest", "--quiet", "--db", ref_db, aws, NULL };
    CHECK_INT(run(argv), 0);
    sqlite3 *h = NULL;
    CHECK_INT(sqlite3_open_v2(ref_db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM cloudtrail"), want_ct);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM vpcflow"), want_flow);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM dns"), want_dns);
    sqlite3_close(h);
}

/* Starts an ingest and kills it once the store holds at least `at` rows (or,
 * with at == 0, after `delay` seconds). Returns the rows found after the kill,
 * or -1 when the run ended before it could be killed. */
static long long kill_at(long long at, double delay, const char *batch, const char *indexes)
{
    char aws[600];
    snprintf(aws, sizeof(aws), "%s/AWSLogs", corpus);
    char *argv[] = { (char *)vigil, "ingest", "--quiet", "--batch", (char *)batch, "--indexes",
                     (char *)indexes, "--db", db, aws, NULL };
    pid_t pid = spawn(argv);
    double t0 = now_s();
    bool killed = false;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break; /* finished on its own: too fast to kill */
        if ((at == 0 && now_s() - t0 >= delay) || (at > 0 && rows_in(db) >= at)) {
            kill(pid, SIGKILL);
            int s2 = wait_status(pid);
            killed = WIFSIGNALED(s2) && WTERMSIG(s2) == SIGKILL;
            break;
        }
        usleep(2000);
    }
    long long n = rows_in(db);
    printf("# kill at %lld rows (%.2f s, indexes %s): %s, %lld rows in the store\n", at,
           now_s() - t0, indexes, killed ? "killed" : "finished first", n);
    return killed ? n : -1;
}

static void test_kill_and_resume(void)
{
    long long total = want_ct + want_flow + want_dns;
    char *on[] = { (char *)vigil, "ingest", "--quiet", "--db", db, "--text-index", NULL };
    CHECK_INT(run(on), 0);
    long long n = kill_at(0, 0.05, "1000", "auto");
    CHECK(n < total); /* a kill this early leaves the work undone */
    int kills = 0;
    static const int pct[] = { 20, 50, 80 };
    static const char *const batches[] = { "1000", "10000", "333" };
    /* The middle run drops the secondary indexes for its load (and dies
     * without rebuilding them); the next runs go on without them. */
    static const char *const modes[] = { "keep", "defer", "keep" };
    for (int i = 0; i < 3; i++) {
        n = kill_at(total * pct[i] / 100, 0, batches[i], modes[i]);
        if (n >= 0) {
            kills++;
            CHECK(n < total);
        }
        if (i == 1 && n >= 0) {
            sqlite3 *h = NULL;
            sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
            CHECK(query_ll(h, "SELECT count(*) FROM sqlite_master WHERE type='index'") < 34);
            sqlite3_close(h);
        }
    }
    CHECK(kills >= 2); /* else the machine was too fast for the test to mean much */
    char aws[600];
    snprintf(aws, sizeof(aws), "%s/AWSLogs", corpus);
    char *argv[] = { (char *)vigil, "ingest", "--quiet", "--db", db, aws, NULL };
    CHECK_INT(run(argv), 0);
}

static void test_exactly_once(void)
{
    sqlite3 *h = NULL;
    CHECK_INT(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM cloudtrail"), want_ct);
    CHECK_INT(query_ll(h, "SELECT count(DISTINCT event_id) FROM cloudtrail"), want_ct);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM vpcflow"), want_flow);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM dns"), want_dns);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM ingest_ledger"), want_files);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM ingest_ledger WHERE finished_at IS NULL"), 0);
    CHECK_INT(query_ll(h, "SELECT count(DISTINCT path) FROM ingest_ledger"), want_files);
    /* The completed run rebuilt what the deferred, killed one dropped. */
    /* 21 of schema 1, schema 2's web log tables (5 secondary, 3 unique rec_id), schema 3's
     * findings (3 and its primary key), schema 4's principal_id, schema 7's
     * daily counts and root index, schema 8's odd-time index (empty: the corpus's times are
     * canonical) */
    CHECK_INT(query_ll(h, "SELECT count(*) FROM sqlite_master WHERE type='index'"), 37);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM cloudtrail INDEXED BY cloudtrail_odd_time WHERE "
                          STORE_CT_ODD_TIME), 0);
    /* The daily counts the triggers kept through kills and resumes are the
     * table's own, key by key. */
#define DAILY "SELECT day_ms, account, region, sum(n) FROM cloudtrail_daily GROUP BY 1, 2, 3"
#define ROWS                                                                                  \
    "SELECT event_time_ms - (event_time_ms % 86400000 + 86400000) % 86400000 AS d, account," \
    " region, count(*) FROM cloudtrail GROUP BY d, account, region"
    CHECK_INT(query_ll(h, "SELECT count(*) FROM (" DAILY " EXCEPT " ROWS ")"), 0);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM (" ROWS " EXCEPT " DAILY ")"), 0);
    CHECK_INT(query_ll(h, "SELECT sum(n) FROM cloudtrail_daily"), want_ct);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM resources r LEFT JOIN cloudtrail c ON c.id=r.event"
                          " WHERE c.id IS NULL"),
              0);
    char sql[700];
    snprintf(sql, sizeof(sql), "ATTACH '%s' AS ref", ref_db);
    CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    /* Same rows as the uninterrupted reference, in every column but ids. */
    static const char *const same[] = {
        "SELECT count(*) FROM (SELECT event_id, event_time_ms, event_time, user_name, read_only,"
        " event_category, raw FROM cloudtrail JOIN cloudtrail_raw USING (id) EXCEPT SELECT"
        " event_id, event_time_ms, event_time, user_name, read_only, event_category, raw FROM"
        " ref.cloudtrail JOIN ref.cloudtrail_raw USING (id))",
        "SELECT count(*) FROM (SELECT event_id, event_time_ms, raw FROM ref.cloudtrail JOIN"
        " ref.cloudtrail_raw USING (id) EXCEPT SELECT event_id, event_time_ms, raw FROM"
        " cloudtrail JOIN cloudtrail_raw USING (id))",
        "SELECT (SELECT count(*) FROM cloudtrail) - (SELECT count(*) FROM cloudtrail_raw)",
        "SELECT count(*) FROM (SELECT c.event_id, r.seq, r.resource_type, r.resource_name FROM"
        " resources r JOIN cloudtrail c ON c.id=r.event EXCEPT SELECT c.event_id, r.seq,"
        " r.resource_type, r.resource_name FROM ref.resources r JOIN ref.cloudtrail c ON"
        " c.id=r.event)",
        "SELECT (SELECT count(*) FROM resources) - (SELECT count(*) FROM ref.resources)",
        "SELECT count(*) FROM (SELECT version, account_id, interface_id, srcaddr, dstaddr,"
        " srcport, dstport, protocol, packets, bytes, start, \"end\", action, log_status FROM"
        " vpcflow EXCEPT SELECT version, account_id, interface_id, srcaddr, dstaddr, srcport,"
        " dstport, protocol, packets, bytes, start, \"end\", action, log_status FROM ref.vpcflow)",
        "SELECT count(*) FROM (SELECT query_time_ms, query_name, query_type, rcode, answers,"
        " srcaddr, srcport, srcids_instance FROM dns EXCEPT SELECT query_time_ms, query_name,"
        " query_type, rcode, answers, srcaddr, srcport, srcids_instance FROM ref.dns)",
        "SELECT count(*) FROM (SELECT path, size, sha256, records FROM ref.ingest_ledger EXCEPT"
        " SELECT path, size, sha256, records FROM ingest_ledger)",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        long long d = query_ll(h, same[i]);
        if (d != 0)
            printf("#   differs: %s\n", same[i]);
        CHECK_INT(d, 0);
    }
    /* The text index the triggers kept through kills and resumes holds the
     * trigrams of every record, as many times, in as many records, as an
     * index built now from the records. */
    CHECK_INT(sqlite3_exec(h,
                           "CREATE VIRTUAL TABLE temp.chk USING fts5(t, content='',"
                           " columnsize=0, tokenize='trigram case_sensitive 1');"
                           "INSERT INTO temp.chk(rowid, t) SELECT id, CASE WHEN json_valid(raw)"
                           " THEN nullif(raw -> '$.requestParameters', 'null') END"
                           " FROM cloudtrail_raw;"
                           "CREATE VIRTUAL TABLE temp.vchk USING fts5vocab(temp, chk, row);"
                           "CREATE VIRTUAL TABLE temp.vidx USING fts5vocab(main, cloudtrail_text,"
                           " row);"
                           "INSERT INTO cloudtrail_text(cloudtrail_text) VALUES('integrity-check')",
                           NULL, NULL, NULL),
              SQLITE_OK);
    CHECK(query_ll(h, "SELECT count(*) FROM temp.vidx") > 1000);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM (SELECT * FROM temp.vidx EXCEPT"
                          " SELECT * FROM temp.vchk)"),
              0);
    CHECK_INT(query_ll(h, "SELECT count(*) FROM (SELECT * FROM temp.vchk EXCEPT"
                          " SELECT * FROM temp.vidx)"),
              0);
    /* The killed runs re-read unfinished files: some records were read more
     * than once but stored once. */
    CHECK(query_ll(h, "SELECT sum(inserted) FROM ingest_ledger") <=
          want_ct + want_flow + want_dns);
    sqlite3_close(h);
}

static void test_cleanup(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

static const struct harness_test tests[] = {
    { "generate corpus", test_generate },
    { "reference ingest", test_reference },
    { "kill -9 and resume", test_kill_and_resume },
    { "exactly once", test_exactly_once },
    { "cleanup", test_cleanup },
};

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_store_kill VIGIL GEN_CORPUS\n");
        return 2;
    }
    vigil = argv[1];
    gen = argv[2];
    return harness_run(tests, sizeof(tests) / sizeof(tests[0]));
}
