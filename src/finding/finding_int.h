/* Helpers shared by the finding writers; not part of the module's API. */
#ifndef VIGIL_FINDING_INT_H
#define VIGIL_FINDING_INT_H

#include "finding/finding.h"

struct finding_agg {
    struct hmap map; /* id -> struct finding * (owned) */
};

/* The finding for (account, region, type, key), created empty (count 0, no
 * representative) when absent. Borrowed from agg. */
struct finding *finding__create(struct finding_agg *agg, struct sv account, struct sv region,
                                const char *type, struct sv key, enum detect_resource res);
/* Frees a finding and everything it owns; NULL is fine. */
void finding__free(struct finding *f);
/* Frees the strings of g and clears it. */
void finding__geo_free(struct finding_geo *g);

/* ISO 8601 UTC with milliseconds: "2024-01-02T03:04:05.678Z". */
void finding__iso_ms(int64_t ms, char out[32]);
/* "aws", "aws-cn", "aws-us-gov", ... from a region name (NULL = "aws"). */
const char *finding__partition(const char *region);
/* The service name GuardDuty prints in portName, "Unknown" otherwise. */
const char *finding__port_name(int port);
/* Appends the finding rendered by fn (compact, or re-indented to depth
 * levels of indent) to out; ERR_LIMIT when out's cap is hit. */
int finding__append(struct buf *out, const struct finding *f, int indent, int depth,
                    void (*fn)(struct json_writer *w, const struct finding *f));
/* {"Findings":[...]} around fn's objects. */
int finding__write_list(struct buf *out, const struct finding *const *f, size_t n, int indent,
                        void (*fn)(struct json_writer *w, const struct finding *f));

/* Writes "key": "val" when val is set; nothing when it is NULL (absent fields
 * are left out of every output format). */
static inline void finding__kv(struct json_writer *w, const char *key, const char *val)
{
    if (val == NULL)
        return;
    jw_key(w, key);
    jw_str(w, val);
}

#endif
