/*
 * vigil events: EventBridge operations over local data, with the AWS CLI's
 * flags and output shapes.
 *
 *   vigil events test-event-pattern --event-pattern P --event E [--output json|text]
 *       -> {"Result": true|false}
 *
 * P and E are JSON text, or file://PATH to read it from a file, as the AWS CLI
 * accepts. The pattern language is EventBridge's (event-ruler's semantics;
 * docs/internals/match.md). An invalid pattern is reported on stderr the way
 * the AWS CLI reports InvalidEventPatternException, with exit status 1.
 * Unlike the service, the event's envelope fields (id, account, source, time,
 * region, resources, detail-type) are not required: any JSON object is tested.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "json/json.h"
#include "match/match.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_MAX_FILE ((size_t)64 << 20)
/* TestEventPattern's EventPattern length constraint */
#define EVENTS_MAX_PATTERN 4096

static void usage(FILE *out)
{
    fputs("usage: vigil events test-event-pattern --event-pattern P --event E [--output json|text]\n"
          "\n"
          "  P and E are JSON text or file://PATH. Prints {\"Result\": true} when the event\n"
          "  matches the EventBridge pattern, {\"Result\": false} when it does not.\n",
          out);
}

__attribute__((format(printf, 2, 3))) static void aws_error(const char *code, const char *fmt,
                                                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nAn error occurred (%s) when calling the TestEventPattern operation: ", code);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The AWS CLI's parameter value: the text itself, or a file's content. */
static int load_param(const char *name, const char *v, struct buf *out)
{
    buf_reset(out);
    if (strncmp(v, "file://", 7) != 0)
        return buf_append(out, v, strlen(v)) == 0 ? 0 : 1;
    const char *path = v + 7;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "\nError parsing parameter '%s': Unable to load paramfile %s: %s\n", name,
                v, strerror(errno));
        return 1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(out, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc != 0 || bad) {
        fprintf(stderr, "\nError parsing parameter '%s': Unable to load paramfile %s: %s\n", name,
                v, rc ? "file too large" : "read error");
        return 1;
    }
    if (!out->p)
        buf_putc(out, '\0');
    return 0;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int test_event_pattern(int argc, char **argv)
{
    const char *pattern = NULL, *event = NULL, *output = "json";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--event-pattern") == 0 && i + 1 < argc)
            pattern = argv[++i];
        else if (strncmp(a, "--event-pattern=", 16) == 0)
            pattern = a + 16;
        else if (strcmp(a, "--event") == 0 && i + 1 < argc)
            event = argv[++i];
        else if (strncmp(a, "--event=", 8) == 0)
            event = a + 8;
        else if (strcmp(a, "--output") == 0 && i + 1 < argc)
            output = argv[++i];
        else if (strncmp(a, "--output=", 9) == 0)
            output = a + 9;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "vigil events test-event-pattern: unexpected argument '%s'\n", a);
            usage(stderr);
            return 1;
        }
    }
    if (!pattern || !event) {
        fprintf(stderr, "vigil events test-event-pattern: the following arguments are required: "
                        "%s\n",
                !pattern && !event ? "--event-pattern, --event"
                : !pattern         ? "--event-pattern"
                                   : "--event");
        usage(stderr);
        return 1;
    }
    if (strcmp(output, "json") != 0 && strcmp(output, "text") != 0) {
        fprintf(stderr, "vigil events test-event-pattern: --output must be json or text\n");
        return 1;
    }
    struct buf p, e;
    buf_init(&p, EVENTS_MAX_FILE);
    buf_init(&e, EVENTS_MAX_FILE);
    int status = 1;
    if (load_param("event-pattern", pattern, &p) != 0 || load_param("event", event, &e) != 0)
        goto done;
    if (utf8_chars(p.p, p.len) > EVENTS_MAX_PATTERN) {
        aws_error("ValidationException",
                  "1 validation error detected: Value at 'eventPattern' failed to satisfy "
                  "constraint: Member must have length less than or equal to %d",
                  EVENTS_MAX_PATTERN);
        goto done;
    }
    bool result = false;
    struct err err;
    err_clear(&err);
    int rc = match_test(p.p, p.len, e.p, e.len, &result, &err);
    if (rc == ERR_USAGE || rc == ERR_LIMIT) {
        aws_error("InvalidEventPatternException", "Event pattern is not valid. Reason: %s",
                  err.msg);
        goto done;
    }
    if (rc != 0) {
        aws_error("InvalidEventPatternException", "Event is not valid. Reason: %s", err.msg);
        goto done;
    }
    if (strcmp(output, "text") == 0) {
        puts(result ? "True" : "False");
    } else {
        /* the AWS CLI prints JSON with 4-space indentation */
        struct buf out;
        buf_init(&out, 0);
        struct json_writer w;
        jw_init(&w, &out, 4);
        jw_object_begin(&w);
        jw_key(&w, "Result");
        jw_bool(&w, result);
        jw_object_end(&w);
        fwrite(out.p, 1, out.len, stdout);
        fputc('\n', stdout);
        buf_free(&out);
    }
    status = 0;
done:
    buf_free(&p);
    buf_free(&e);
    return status;
}

int cmd_events(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "test-event-pattern") == 0)
        return test_event_pattern(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vigil events: unknown operation '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
