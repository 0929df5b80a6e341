/*
 * CloudTrail check: event selectors that stop a trail from logging
 * management events (the Stratus "cloudtrail-event-selectors" technique).
 *
 * Basic selectors: a management event is logged when some selector has
 * includeManagementEvents true (the API default when omitted) and the writes
 * that matter survive when its readWriteType is not ReadOnly (default All).
 * Advanced selectors: management events are logged only by a selector whose
 * field selectors include eventCategory = Management; readOnly = true keeps
 * only reads.
 */
#include "detect/detect_int.h"

#include <string.h>

static struct sv jsv(const struct json_value *v)
{
    return v && v->type == JSON_STRING ? sv_make(v->str, v->len) : SV_NULL;
}

static bool equals_has(const struct json_value *fs, const char *want)
{
    const struct json_value *eq = detect__jget_nocase(fs, "equals");
    if (!eq || eq->type != JSON_ARRAY)
        return sv_eq_nocase(jsv(eq), sv_cstr(want));
    for (size_t i = 0; i < eq->n; i++)
        if (sv_eq_nocase(jsv(&eq->items[i]), sv_cstr(want)))
            return true;
    return false;
}

/* Does this advanced selector log management write events? */
static bool advanced_logs_mgmt_writes(const struct json_value *sel)
{
    const struct json_value *fss = detect__jget_nocase(sel, "fieldSelectors");
    if (!fss || fss->type != JSON_ARRAY)
        return false;
    bool mgmt = false, read_only = false;
    for (size_t i = 0; i < fss->n; i++) {
        const struct json_value *fs = &fss->items[i];
        struct sv field = jsv(detect__jget_nocase(fs, "field"));
        if (sv_eq_nocase(field, SV("eventCategory")) && equals_has(fs, "Management"))
            mgmt = true;
        if (sv_eq_nocase(field, SV("readOnly")) && equals_has(fs, "true") &&
            !equals_has(fs, "false"))
            read_only = true;
    }
    return mgmt && !read_only;
}

bool detect__check_trail_mgmt_excluded(struct detect_check_ctx *cx)
{
    const struct json_value *rp = detect__jpath(cx->rec, "requestParameters");
    const struct json_value *es = detect__jget_nocase(rp, "eventSelectors");
    const struct json_value *aes = detect__jget_nocase(rp, "advancedEventSelectors");
    if (es && es->type == JSON_ARRAY) {
        bool any = false, writes = false;
        for (size_t i = 0; i < es->n; i++) {
            const struct json_value *sel = &es->items[i];
            if (sel->type != JSON_OBJECT)
                continue;
            if (detect__jfalse(detect__jget_nocase(sel, "includeManagementEvents")))
                continue;
            any = true;
            struct sv rw = jsv(detect__jget_nocase(sel, "readWriteType"));
            if (!sv_eq_nocase(rw, SV("ReadOnly")))
                writes = true;
        }
        if (!any) {
            cx->detail = "includeManagementEvents is false: management events are no longer logged";
            return true;
        }
        if (!writes) {
            cx->detail = "readWriteType ReadOnly: write management events are no longer logged";
            return true;
        }
        return false;
    }
    if (aes && aes->type == JSON_ARRAY) {
        for (size_t i = 0; i < aes->n; i++)
            if (aes->items[i].type == JSON_OBJECT && advanced_logs_mgmt_writes(&aes->items[i]))
                return false;
        cx->detail = "advanced event selectors no longer select management write events";
        return true;
    }
    return false;
}
