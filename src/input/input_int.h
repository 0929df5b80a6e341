/*
 * input_int.h: what the input module's files share. Not a public header.
 */
#ifndef VIGIL_INPUT_INT_H
#define VIGIL_INPUT_INT_H

#include "input/input.h"

struct libdeflate_decompressor;

/* ---- gzip (gz.c) --------------------------------------------------------- */

/* A reusable decompressor with one output buffer that only grows, so steady
 * state touches no fresh pages (page faults cost as much as inflating). */
struct input_gz {
    struct libdeflate_decompressor *d;
    char *out;
    size_t cap;
};

void input__gz_init(struct input_gz *g);
void input__gz_free(struct input_gz *g);
bool input__is_gzip(const void *p, size_t len);
/* Inflates every gzip member of in[0..len) into g->out; *out_len gets the
 * decompressed size. ERR_LIMIT past max bytes, ERR_FORMAT for corrupt or
 * truncated data (err->offset = compressed offset of the bad member). When a
 * later member is bad, *out_len still holds what the good members gave. */
int input__gunzip(struct input_gz *g, const void *in, size_t len, size_t max, size_t *out_len,
                  struct err *err);

/* ---- VPC flow logs (vpcflow.c) ------------------------------------------- */

#define FLOW_MAX_FIELDS 64

struct flow_format {
    size_t n;
    const char *names[FLOW_MAX_FIELDS]; /* NUL-terminated, in buf */
    uint32_t lens[FLOW_MAX_FIELDS];
    uint64_t hashes[FLOW_MAX_FIELDS];   /* json_path_hash of each name */
    bool numeric[FLOW_MAX_FIELDS];      /* typed JSON_NUMBER when all digits */
    char buf[FLOW_MAX_FIELDS * 40];
};

/* True when the line is a flow log header: field names only (known ones and
 * any future name of the same shape), at least one of them known. */
bool input__flow_is_header(const char *line, size_t len);
/* Builds a format from space-separated field names. ERR_FORMAT on an empty or
 * malformed list, a duplicate name; ERR_LIMIT past FLOW_MAX_FIELDS. */
int input__flow_format(struct flow_format *ff, const char *names, size_t len, struct err *err);
/* The 14 fields of the default (version 2) format. */
void input__flow_default(struct flow_format *ff);
/* Counts the space-separated fields of a line. */
size_t input__flow_count_fields(const char *line, size_t len);
/* Splits one record line into leaves named after the format ("-" fields give
 * none). Values point into line. ERR_FORMAT when the field count differs. */
int input__flow_line(const struct flow_format *ff, const char *line, size_t len,
                     struct json_flat *out, struct err *err);

#endif
