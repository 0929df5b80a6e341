/*
 * evids: prints the event id of every record under the given paths, one per
 * line, as `vigil detect` computes it (CloudTrail's eventID; for flows and
 * DNS queries the hash id of the record). The game-day test uses it to check
 * that a finding's evidence names records that are in the scenario's logs.
 *
 *   evids [--raw] PATH...
 *
 * With --raw each id is followed by a tab and the record itself (CloudTrail
 * JSON or the log line), its tabs, carriage returns and newlines turned into
 * spaces, so that a test can look for an address or resource in it.
 *
 * Exit status 0, or 1 when a path or record could not be read.
 */
#include "event/event.h"
#include "input/input.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    bool raw = argc > 1 && strcmp(argv[1], "--raw") == 0;
    int first = raw ? 2 : 1;
    if (argc <= first) {
        fprintf(stderr, "usage: evids [--raw] PATH...\n");
        return 1;
    }
    struct input_list files;
    input_list_init(&files);
    struct err err = { 0 };
    int status = 0;
    if (input_collect((const char *const *)(argv + first), (size_t)(argc - first), &files, &err) != 0) {
        fprintf(stderr, "evids: %s\n", err.msg);
        status = 1;
    }
    struct input_reader *r = NULL;
    if (input_open(&files, NULL, &r, &err) != 0) {
        fprintf(stderr, "evids: %s\n", err.msg);
        input_list_free(&files);
        return 1;
    }
    for (;;) {
        struct event ev;
        int rc = input_next(r, &ev, &err);
        if (rc == INPUT_END)
            break;
        if (rc == INPUT_NOTE)
            continue;
        if (rc != 0) {
            fprintf(stderr, "evids: %s: %s\n", err.file, err.msg);
            status = 1;
            continue;
        }
        fwrite(ev.id.p, 1, ev.id.len, stdout);
        if (raw) {
            fputc('\t', stdout);
            for (size_t i = 0; i < ev.raw.len; i++) {
                char c = ev.raw.p[i];
                fputc(c == '\t' || c == '\n' || c == '\r' ? ' ' : c, stdout);
            }
        }
        fputc('\n', stdout);
    }
    input_close(r);
    input_list_free(&files);
    return status;
}
