/*
 * core: the small pieces every other module stands on.
 *
 *   errors      enum err + struct err: a code and a message with its context
 *               (file, record number, byte offset). Only src/cli prints them.
 *   memory      xmalloc family: aborts on OOM, so OOM is never an error path.
 *               Buffers that grow from input carry a cap and fail with ERR_LIMIT.
 *   sv          borrowed string views (pointer + length, not NUL-terminated).
 *   buf         growable byte buffer with an optional cap (curl's dynbuf).
 *   arena       bump allocator reset per record/batch; nothing in it is freed alone.
 *   hash        64-bit string hash and a string-keyed open-addressing map.
 *   time        ISO 8601 <-> milliseconds since the epoch (UTC).
 *
 * core knows nothing of events, JSON or AWS. No function here keeps global state;
 * everything is safe to use from several threads on distinct objects.
 */
#ifndef VIGIL_CORE_H
#define VIGIL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------ */

enum err_code {
    ERR_OK = 0,
    ERR_IO,       /* open/read/write failed */
    ERR_FORMAT,   /* input is not what its format says (bad JSON, truncated gzip) */
    ERR_LIMIT,    /* a cap was hit (field too large, too many variables) */
    ERR_NOTFOUND, /* a named thing does not exist */
    ERR_USAGE,    /* the caller asked for something invalid (bad flag, bad pattern) */
    ERR_DB,       /* SQLite said no */
    ERR_INTERNAL  /* a bug: should never happen */
};

#define ERR_MSG_MAX 512

/* Context filled by the function that fails; any field may be empty/zero. */
struct err {
    int code;              /* enum err_code */
    char msg[ERR_MSG_MAX]; /* what was wrong, one line, no trailing newline */
    char file[256];        /* input file, "" if none */
    uint64_t record;       /* 1-based record or line number, 0 if none */
    uint64_t offset;       /* byte offset in the (decompressed) input, 0 if unknown */
};

/* Sets code and message (printf-style) and returns code, so callers can write
 * `return err_set(err, ERR_FORMAT, "...")`. err may be NULL. Leaves the context
 * fields alone. */
int err_set(struct err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the file/record/offset context; file may be NULL (kept as is). */
void err_where(struct err *err, const char *file, uint64_t record, uint64_t offset);

/* Clears err to "no error". NULL is fine. */
void err_clear(struct err *err);

/* Writes "file: record N: msg" (only the parts that are set) to out. */
void err_format(const struct err *err, char *out, size_t cap);

/* Name of a code, e.g. "format". */
const char *err_name(int code);

/* ---- memory ------------------------------------------------------------- */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* ---- string views --------------------------------------------------------- */

struct sv {
    const char *p;
    size_t len;
};

#define SV(lit) ((struct sv){ (lit), sizeof(lit) - 1 })
#define SV_NULL ((struct sv){ NULL, 0 })

/* Value of a hexadecimal digit, or -1. */
static inline int core_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline struct sv sv_make(const char *p, size_t len) { return (struct sv){ p, len }; }
struct sv sv_cstr(const char *s);
bool sv_eq(struct sv a, struct sv b);
bool sv_eq_cstr(struct sv a, const char *s);
bool sv_eq_nocase(struct sv a, struct sv b); /* ASCII case only */
bool sv_starts_with(struct sv s, struct sv prefix);
bool sv_ends_with(struct sv s, struct sv suffix);
/* Parses a decimal integer that fills the whole view; false on junk or overflow. */
bool sv_to_i64(struct sv s, int64_t *out);
bool sv_to_u64(struct sv s, uint64_t *out);

/* ---- buf: growable byte buffer -------------------------------------------- */

/* Always NUL-terminated after any successful append (p may be NULL while empty).
 * max == 0 means no cap. */
struct buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);                /* frees storage, keeps max */
void buf_reset(struct buf *b);               /* len = 0, keeps storage */
int buf_reserve(struct buf *b, size_t extra); /* ERR_LIMIT past max */
int buf_append(struct buf *b, const void *p, size_t len);
int buf_append_cstr(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hands the storage to the caller (who frees it); b is left empty. */
char *buf_steal(struct buf *b);

/* ---- arena ---------------------------------------------------------------- */

/* Blocks are kept across arena_reset so steady-state use does not touch malloc
 * (page faults are expensive on the target VMs). */
struct arena {
    struct arena_block *head; /* current block */
    struct arena_block *free; /* blocks kept from earlier resets */
    size_t block_size;
};

void arena_init(struct arena *a, size_t block_size); /* 0 = 64 KiB */
void *arena_alloc(struct arena *a, size_t n);           /* 16-byte aligned */
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

/* ---- hash ------------------------------------------------------------------ */

uint64_t hash64(const void *p, size_t len, uint64_t seed);
/* Continues a hash: hash64_more(hash64(a), b) == hash of the concatenation is NOT
 * promised; it is a cheap, stable way to hash a path segment by segment. */
uint64_t hash64_more(uint64_t h, const void *p, size_t len);

/* A string-keyed map. Keys are copied into the map; values are borrowed
 * pointers or integers (the map never frees them). */
struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
/* Returns the slot value for key, or NULL when absent. */
void *hmap_get(const struct hmap *m, const char *key, size_t len);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(struct hmap *m, const char *key, size_t len, void *val);
/* Iteration: *i starts at 0; returns false when done. */
bool hmap_next(const struct hmap *m, size_t *i, struct sv *key, void **val);

/* ---- time ------------------------------------------------------------------ */

/* Parses ISO 8601 / RFC 3339 UTC forms AWS writes: "2023-01-02T03:04:05Z",
 * with optional fractional seconds and "+hh:mm" offsets, and "YYYY-MM-DD".
 * Returns false on anything else. */
bool time_parse_iso8601(struct sv s, int64_t *ms_out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (or with ".mmm" when ms != 0 and frac is true).
 * out must hold 32 bytes. Returns the length. */
size_t time_format_iso8601(int64_t ms, bool frac, char out[32]);
/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---- IP addresses and CIDR --------------------------------------------------- */

/* IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so one comparison serves both. */
struct ipaddr {
    uint8_t b[16];
    bool v4;
};

/* Parses a dotted-quad IPv4 or an RFC 4291 IPv6 text address (with "::" and a
 * trailing dotted quad). No surrounding spaces, no zone ids. IPv4 octets are
 * 1-3 decimal digits; a leading zero is decimal ("010" is 10), never octal. */
bool ip_parse(struct sv s, struct ipaddr *out);
/* Parses "addr/len" (len within the family: 0-32 or 0-128) or a bare address
 * (full length). *bits_out is relative to the family. Host bits are cleared. */
bool cidr_parse(struct sv s, struct ipaddr *net_out, unsigned *bits_out);
bool ip_in_cidr(const struct ipaddr *ip, const struct ipaddr *net, unsigned bits);
/* Canonical text (RFC 5952 for IPv6); out holds 46 bytes. Returns the length. */
size_t ip_format(const struct ipaddr *ip, char out[46]);
/* RFC 1918, loopback, link-local, CGNAT, ULA and the other non-routable ranges. */
bool ip_is_private(const struct ipaddr *ip);

/* ---- indicator lists: IPs, CIDRs and domain names -------------------------- */

/* A longest-prefix-match set of CIDRs, each tagged with a borrowed string (the
 * list's name), built once and then read by any number of threads. */
struct iplist;
struct iplist *iplist_new(void);
void iplist_free(struct iplist *l);
void iplist_add(struct iplist *l, const struct ipaddr *net, unsigned bits, const char *tag);
/* Tag of the longest prefix containing ip, or NULL. */
const char *iplist_lookup(const struct iplist *l, const struct ipaddr *ip);
size_t iplist_count(const struct iplist *l);

/* A set of domain names; a name matches itself and every subdomain. Case and
 * a trailing dot are ignored. */
struct domlist;
struct domlist *domlist_new(void);
void domlist_free(struct domlist *l);
void domlist_add(struct domlist *l, struct sv name, const char *tag);
/* Tag of the closest listed ancestor of name (or name itself), or NULL. */
const char *domlist_lookup(const struct domlist *l, struct sv name);
size_t domlist_count(const struct domlist *l);

/* Loads a GuardDuty-style TXT list (one IPv4/IPv6 address, CIDR or domain per
 * line, '#' comments, blank lines ignored) into ips and doms with tag (borrowed,
 * must outlive the lists). A bad line stops nothing: it is counted in *bad_out and
 * the first one is described in err (file, line number); the return is then
 * ERR_FORMAT after the whole file was read. ERR_IO when the file cannot be read. */
int indicators_load(const char *path, const char *tag, struct iplist *ips, struct domlist *doms,
                    size_t *bad_out, struct err *err);
/* The same over text in memory (len bytes, need not be NUL-terminated); name is
 * the file name used in err (may be NULL). For stdin, tests and fuzzing. */
int indicators_parse(const char *text, size_t len, const char *name, const char *tag,
                     struct iplist *ips, struct domlist *doms, size_t *bad_out, struct err *err);

#endif
