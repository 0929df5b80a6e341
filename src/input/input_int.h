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
    uint64_t id;                        /* event.flow_fmt: a hash of the names, not 0 */
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

/* ---- web access logs (weblog.c) ------------------------------------------ */

#define W3C_MAX_FIELDS 64

struct w3c_format {
    size_t n;
    const char *names[W3C_MAX_FIELDS]; /* NUL-terminated, in buf */
    bool numeric[W3C_MAX_FIELDS];
    char buf[W3C_MAX_FIELDS * 40];
};

/* True when the line starts an S3 server access log record: two fields, then
 * a [dd/Mon/yyyy:HH:MM:SS +0000] time. */
bool input__s3access_is(const char *line, size_t len);
/* Splits an S3 server access log line into leaves named after the Athena
 * DDL's columns ("-" gives none). Values point into line. ERR_FORMAT for an
 * unterminated quoted field or fewer than 18 fields. */
int input__s3access_line(const char *line, size_t len, struct json_flat *out, struct err *err);
/* True for a W3C header line (#Version: or #Fields:), as CloudFront writes. */
bool input__w3c_is(const char *line, size_t len);
/* Reads the names of a "#Fields: a b c" line. ERR_FORMAT when empty,
 * ERR_LIMIT past W3C_MAX_FIELDS. */
int input__w3c_fields(struct w3c_format *wf, const char *line, size_t len, struct err *err);
/* Splits a tab-separated record into leaves named after wf. ERR_FORMAT when
 * the field count differs or no #Fields line came first. */
int input__w3c_line(const struct w3c_format *wf, const char *line, size_t len,
                    struct json_flat *out, struct err *err);

#endif
