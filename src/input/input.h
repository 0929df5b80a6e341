/*
 * input: finds log files, decompresses them, recognises their format and
 * splits them into records, each handed out as a normalized struct event.
 *
 * Formats accepted, exactly as AWS delivers them (gzip or plain; the content
 * decides, the file name is only a hint):
 *   CloudTrail      - log files {"Records":[...]} (S3 delivery, compact or
 *                     pretty); a top-level JSON array of records; one record per
 *                     line (JSON lines); a single record; concatenated records.
 *                   - EventBridge events carrying a CloudTrail record in
 *                     "detail" ("AWS API Call via CloudTrail", "AWS Console Sign
 *                     In via CloudTrail", "AWS Service Event via CloudTrail",
 *                     "AWS Insight via CloudTrail", ...): the record is detail,
 *                     the envelope's fields are kept in event.envelope.
 *                   - CloudWatch Logs: export-to-S3 lines ("<ISO 8601 or epoch
 *                     ms timestamp> <record>"), subscription/Firehose payloads
 *                     {"messageType":"DATA_MESSAGE",...,"logEvents":[{"message":
 *                     "<record as a JSON string>"}]} (CONTROL_MESSAGE ignored), and
 *                     filter-log-events output {"events":[{"message":...}]}.
 *                   - `aws cloudtrail lookup-events` output {"Events":[...]}, with
 *                     each record inline or in "CloudTrailEvent" as a string.
 *                   - Insights events (eventCategory "Insight"): flagged with
 *                     EVENT_F_INSIGHT.
 *                   - Digest files (CloudTrail-Digest) are recognised and skipped
 *                     with a note; so are SNS "new log file" notifications, AWS
 *                     Config snapshot/history files, other EventBridge events and
 *                     the CloudWatch Logs export's "Permission Check Successful"
 *                     object.
 *   VPC Flow Logs   - text records, versions 2-8: the default v2 format (14
 *                     fields, with or without the header line), any custom format
 *                     described by the header line S3 delivery writes (field
 *                     names in any order), "-" for absent values, NODATA/SKIPDATA
 *                     records, IPv4 and IPv6; also behind a CloudWatch Logs export
 *                     timestamp. A headerless custom format can be given in
 *                     input_options.vpcflow_fields. Parquet is reported, not read.
 *   Route 53 Resolver query logs - JSON lines (answers[], srcids{}, DNS
 *                     Firewall fields), as delivered to S3 under vpcdnsquerylogs.
 *   S3 server access logs - space-delimited records with "quoted" and [time]
 *                     fields (EVENT_S3ACCESS; see weblog.c).
 *   CloudFront standard logs - #Version/#Fields header, tab-separated
 *                     records (EVENT_CLOUDFRONT).
 *   AWS WAF logs    - JSON lines with webaclId (EVENT_WAF).
 *
 * Bad input is expected. Each bad record or file yields one error naming the
 * file, the record (1-based) and what was wrong; the reader then resynchronises
 * (next line, next array element, next file) and goes on. Nothing crashes and
 * nothing is dropped without an error or a note.
 *
 * Threading: a reader is used by one thread at a time. Several readers over
 * disjoint file lists may run in parallel; they share nothing.
 */
#ifndef VIGIL_INPUT_H
#define VIGIL_INPUT_H

#include "core/core.h"
#include "event/event.h"
#include "json/json.h"

/* ---- file discovery ------------------------------------------------------ */

/* What the S3 key layout (or the file name) suggests a file holds. */
enum input_hint {
    INPUT_HINT_NONE = 0,
    INPUT_HINT_CLOUDTRAIL,         /* AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/... */
    INPUT_HINT_CLOUDTRAIL_INSIGHT, /* AWSLogs/<acct>/CloudTrail-Insight/... */
    INPUT_HINT_CLOUDTRAIL_DIGEST,  /* AWSLogs/<acct>/CloudTrail-Digest/...: skipped */
    INPUT_HINT_VPCFLOW,            /* AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]... */
    INPUT_HINT_DNS                 /* AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/... */
};

struct input_file {
    char *path;           /* owned by the list; "-" is standard input */
    enum input_hint hint;
    char account[32];     /* from the S3 layout, "" if none */
    char region[32];      /* region (CloudTrail, flow logs) or VPC id (DNS), "" if none */
};

struct input_list {
    struct input_file *files;
    size_t n;
    size_t cap;
};

void input_list_init(struct input_list *l);
void input_list_free(struct input_list *l); /* NULL-safe; frees the paths too */

/* Appends to out every file named by paths[0..n): a file is taken as is
 * (whatever its name), a directory is walked recursively in sorted (bytewise)
 * order, "-" stands for standard input. In a walk, dot-files and files that are
 * plainly not logs (*.md, *.txt, *.csv, *.tsv, *.yml, *.yaml, *.sh, *.py,
 * LICENSE*, NOTICE*, README*, MANIFEST*) are left out. Each file gets the hint its S3 key gives
 * (standard and Hive-compatible layouts, organization trails).
 * A path that does not exist or cannot be read is an error (ERR_IO naming it);
 * the remaining paths are still collected and the first error is returned.
 * Directory depth is capped (ERR_LIMIT) so symlink loops terminate. */
int input_collect(const char *const *paths, size_t n, struct input_list *out, struct err *err);

/* Fills hint/account/region from a path's S3 key layout; false if none. */
bool input_hint_from_path(const char *path, struct input_file *f);

/* The delivery time AWS writes into a log file's base name, "_YYYYMMDDTHHmmZ"
 * followed by "_" or ".": CloudTrail (<acct>_CloudTrail_<region>_<ts>_<id>),
 * VPC flow logs (<acct>_vpcflowlogs_<region>_<fl-id>_<ts>_<hash>) and Route 53
 * Resolver query logs (<acct>_vpcdnsquerylogs_<vpc-id>_<ts>_<hash>). On a
 * match: *ms_out is that minute (UTC, ms since the epoch), *base_off the offset
 * of the base name in path and *prefix_len the bytes of the base name before
 * the "_" of the time (the delivery stream: account, service, region, flow log
 * id). False when the name holds no valid time (a day the month lacks, hour
 * 24, ...): the first valid one wins. */
bool input_name_time(const char *path, int64_t *ms_out, size_t *base_off, size_t *prefix_len);

/* ---- reading -------------------------------------------------------------- */

struct input_options {
    /* Paths the consumers need (rules, output, event_add_common_paths);
     * borrowed, must outlive the reader. NULL = every leaf. */
    const struct json_pathset *want;
    /* Cap on one file's decompressed size; 0 = 4 GiB. Over it: ERR_LIMIT for
     * that file. */
    size_t max_file;
    /* Cap on one record (JSON value or text line); 0 = 16 MiB. Over it:
     * ERR_LIMIT for that record, the rest of the file is processed. */
    size_t max_record;
    /* Flow log field names, space-separated ("version srcaddr ..."), used for
     * files without a header line; NULL = the default v2 format. Borrowed. */
    const char *vpcflow_fields;
};

struct input_reader;

/* What input_next returns besides 0 and an enum err_code. */
enum {
    INPUT_END = -1, /* no more input */
    INPUT_NOTE = -2, /* err holds an informational note (a skipped digest file,
                        an empty file, ...): report it and call again */
    INPUT_AGAIN = -3 /* streams only: no complete record has arrived yet; wait
                        until the fd is readable (poll) and call again */
};

/* Opens a reader over files (borrowed: the list must outlive the reader).
 * Files are read in list order. opt may be NULL (defaults). ERR_USAGE when
 * opt->vpcflow_fields is not a valid field list (err says why). The reader's
 * buffers (file, inflated data, leaves, arena) are reused from file to file
 * and only grow. */
int input_open(const struct input_list *files, const struct input_options *opt,
               struct input_reader **out, struct err *err);

/* Opens a reader over one in-memory input (gzip or plain), e.g. for fuzzing
 * or data already read. data and name are borrowed and must outlive the
 * reader. */
int input_open_mem(const char *name, const void *data, size_t len,
                   const struct input_options *opt, struct input_reader **out, struct err *err);

/*
 * Opens a reader over a live stream (a pipe, a terminal, a socket: standard
 * input for `vigil detect -`). name is used in messages (NULL = "-"); fd is
 * borrowed and never closed. Records come out as their lines arrive: the format
 * is sniffed on the first line (JSON lines, CloudTrail records one per line,
 * EventBridge envelopes, CloudWatch Logs lines, VPC flow with or without its
 * header, Resolver, S3 access and CloudFront lines), then each complete line
 * is read as in a file. input_next never blocks: it returns INPUT_AGAIN when no
 * complete line is buffered. Memory is bounded by max_record (one line) plus a
 * read chunk; a line over max_record is an ERR_LIMIT for that record and is
 * skipped. Record numbers count from the start of the stream, and a stream never
 * gives up after many bad records. Inputs that cannot be cut at line ends
 * (gzip data, a whole JSON document such as a pretty-printed
 * {"Records":[...]}) are read to the end first (capped by max_file) and then
 * split as a file is.
 */
int input_open_stream(const char *name, int fd, const struct input_options *opt,
                      struct input_reader **out, struct err *err);

/* Points a reader opened by input_open_mem at another in-memory input (a
 * message of a queue), reusing its buffers; records count from 1 again. data
 * and name are borrowed until the input is read or the reader reset again. */
void input_reset_mem(struct input_reader *r, const char *name, const void *data, size_t len);

/*
 * Reads the next record into *ev. Returns
 *   0           an event; ev (its views, leaves, paths) is valid until the next
 *               input_next or input_close on this reader: copy what must live on;
 *   INPUT_END   no more input (*ev untouched);
 *   INPUT_NOTE  err->msg describes something skipped on purpose (with the file);
 *   INPUT_AGAIN a stream has no complete record yet (input_open_stream);
 *   ERR_IO, ERR_FORMAT, ERR_LIMIT
 *               one bad file or record, described in err (file, record number,
 *               byte offset in the decompressed data, message; for line-based
 *               inputs the message starts with "line N: "). The reader has
 *               already moved past it: report it and call again. After 1000 bad
 *               records in one file the rest of that file is skipped (said in
 *               the last message).
 * Record numbers (err->record, ev->record_no) count the records of the file
 * from 1, bad ones included; a flow log header line is not a record.
 * err must not be NULL.
 */
int input_next(struct input_reader *r, struct event *ev, struct err *err);

/* For a record just read from a VPC flow log whose format is not the default
 * v2 one: appends the format's field names (space-separated, the header line
 * that makes the record's line readable on its own) to out and returns true.
 * False for default-format flow lines (they stand alone) and other records. */
bool input_flow_header(const struct input_reader *r, struct buf *out);

/* Counts since the reader was opened. */
struct input_stats {
    uint64_t files;         /* files opened (including skipped ones) */
    uint64_t records;       /* events returned */
    uint64_t errors;        /* errors returned */
    uint64_t notes;         /* notes returned */
    uint64_t bytes_in;      /* bytes read from files (compressed) */
    uint64_t bytes_out;     /* bytes after decompression */
};
void input_get_stats(const struct input_reader *r, struct input_stats *out);

void input_close(struct input_reader *r); /* NULL-safe */

#endif
