/*
 * bench_input: records/s of the input module on generated data, per core.
 *
 *   vigil-bench-input [lines] [runs]
 *
 * Generates VPC Flow Logs v2 lines (default format, S3 header line, ~2.5 %
 * NODATA/SKIPDATA, ~10 % REJECT, IPv4, random ports) and Route 53 Resolver
 * query log lines, then times input_open_mem + input_next to the end over the
 * plain text and over its gzip (libdeflate level 6, as AWS delivers), i.e.
 * sniff, split, inflate, leaves, common fields and ids: everything input
 * does for a record. Prints the median of the runs (min-max). Pin it to one
 * core (taskset -c 1) for per-core figures; the machine's noise is +-10-25 %.
 * Goal (perf-limits.md G4/G5): flow >= 2.5 M lines/s/core gzip end to end,
 * Resolver >= 1 M lines/s/core.
 */
#include "core/core.h"
#include "input/input.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void gen_flow(struct buf *b, size_t lines)
{
    (void)buf_append_cstr(b, "version account-id interface-id srcaddr dstaddr srcport dstport "
                             "protocol packets bytes start end action log-status\n");
    uint64_t t = 1700000000;
    for (size_t i = 0; i < lines; i++) {
        uint32_t r = next_rand();
        if (i % 60 == 0)
            t += 1;
        if (r % 40 == 0) {
            (void)buf_printf(b, "2 123456789012 eni-0a1b2c3d4e5f6%04u - - - - - - - %llu %llu - %s\n",
                             r % 10000, (unsigned long long)t, (unsigned long long)t + 60,
                             (r & 64) ? "NODATA" : "SKIPDATA");
            continue;
        }
        uint32_t s = next_rand(), d = next_rand();
        (void)buf_printf(b,
                         "2 123456789012 eni-0a1b2c3d4e5f6%04u 10.%u.%u.%u %u.%u.%u.%u %u %u %u "
                         "%u %u %llu %llu %s OK\n",
                         r % 10000, s & 255, (s >> 8) & 255, (s >> 16) & 255, 1 + (d & 127),
                         (d >> 8) & 255, (d >> 16) & 255, (d >> 24) & 255, 1024 + r % 60000,
                         (d % 3 == 0) ? 443u : (d % 3 == 1 ? 22u : r % 65536),
                         (r % 7 == 0) ? 17u : 6u, 1 + r % 90, 40 + r % 90000,
                         (unsigned long long)t, (unsigned long long)t + 60,
                         r % 10 == 0 ? "REJECT" : "ACCEPT");
    }
}

static void gen_dns(struct buf *b, size_t lines)
{
    static const char *const names[] = { "api.github.com.", "sts.us-east-1.amazonaws.com.",
                                         "s3.amazonaws.com.", "xmr.moneropool.ru.",
                                         "www.example.com." };
    for (size_t i = 0; i < lines; i++) {
        uint32_t r = next_rand();
        (void)buf_printf(
            b,
            "{\"version\":\"1.100000\",\"account_id\":\"123456789012\",\"region\":\"us-east-1\","
            "\"vpc_id\":\"vpc-0a1b2c3d4e5f60718\",\"query_timestamp\":\"2023-11-20T09:%02u:%02uZ\","
            "\"query_name\":\"%s\",\"query_type\":\"A\",\"query_class\":\"IN\",\"rcode\":\"%s\","
            "\"answers\":[{\"Rdata\":\"52.216.%u.%u\",\"Type\":\"A\",\"Class\":\"IN\"}],"
            "\"srcaddr\":\"10.0.%u.%u\",\"srcport\":\"%u\",\"transport\":\"UDP\",\"srcids\":{"
            "\"instance\":\"i-0abc1234def5%05u\"}}\n",
            (unsigned)(i / 60) % 60, (unsigned)i % 60, names[r % 5],
            r % 8 == 0 ? "NXDOMAIN" : "NOERROR", r & 255, (r >> 8) & 255, (r >> 16) & 255,
            (r >> 24) & 255, 1024 + r % 60000, r % 100000);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One pass over data; returns seconds, checks the record count. */
static double one_run(struct input_reader *r, size_t expect)
{
    struct event ev;
    struct err err;
    size_t n = 0;
    uint64_t sink = 0;
    int rc;
    double t0 = now();
    while ((rc = input_next(r, &ev, &err)) != INPUT_END) {
        if (rc == 0) {
            n++;
            sink += (uint64_t)ev.time_ms + ev.src_ip.len;
        }
    }
    double t = now() - t0;
    if (n != expect) {
        fprintf(stderr, "bench_input: %zu records, expected %zu\n", n, expect);
        exit(2);
    }
    if (sink == 42)
        fputs("", stderr);
    return t;
}

static void bench(const char *what, const char *data, size_t len, size_t lines, int runs,
                  size_t raw_len)
{
    double *t = xcalloc((size_t)runs, sizeof(double));
    /* One reader per run, as per file in a real run; the first run warms up
     * the page cache and the allocator, the others reuse nothing but the heap. */
    for (int i = 0; i < runs; i++) {
        struct input_reader *r = NULL;
        struct err err;
        if (input_open_mem(what, data, len, NULL, &r, &err) != 0)
            exit(2);
        t[i] = one_run(r, lines);
        input_close(r);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    double med = t[runs / 2];
    printf("%-24s %10.2f M lines/s  %8.1f MB/s uncompressed  (min-max %.2f-%.2f M lines/s, "
           "median of %d)\n",
           what, (double)lines / med / 1e6, (double)raw_len / med / 1e6,
           (double)lines / t[runs - 1] / 1e6, (double)lines / t[0] / 1e6, runs);
    free(t);
}

static char *gzip(const char *in, size_t len, size_t *out_len)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t bound = libdeflate_gzip_compress_bound(c, len);
    char *out = xmalloc(bound);
    *out_len = libdeflate_gzip_compress(c, in, len, out, bound);
    libdeflate_free_compressor(c);
    return out;
}

int main(int argc, char **argv)
{
    size_t lines = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 2000000;
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    if (lines == 0 || runs < 1) {
        fputs("usage: vigil-bench-input [lines] [runs]\n", stderr);
        return 1;
    }
    struct buf flow, dns;
    buf_init(&flow, 0);
    buf_init(&dns, 0);
    gen_flow(&flow, lines);
    gen_dns(&dns, lines / 2);
    size_t gzf_len, gzd_len;
    char *gzf = gzip(flow.p, flow.len, &gzf_len);
    char *gzd = gzip(dns.p, dns.len, &gzd_len);
    printf("flow: %zu lines, %.1f MB (gzip %.1f MB); dns: %zu lines, %.1f MB (gzip %.1f MB)\n",
           lines, flow.len / 1e6, gzf_len / 1e6, lines / 2, dns.len / 1e6, gzd_len / 1e6);
    bench("vpcflow v2 plain", flow.p, flow.len, lines, runs, flow.len);
    bench("vpcflow v2 gzip", gzf, gzf_len, lines, runs, flow.len);
    bench("resolver plain", dns.p, dns.len, lines / 2, runs, dns.len);
    bench("resolver gzip", gzd, gzd_len, lines / 2, runs, dns.len);
    free(gzf);
    free(gzd);
    buf_free(&flow);
    buf_free(&dns);
    return 0;
}
