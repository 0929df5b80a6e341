/*
 * Fuzz target for the input module's dns path: the bytes are one input file
 * (plain or gzip) read to the end; see fuzz_input.h.
 */
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct input_options opt;
    memset(&opt, 0, sizeof(opt));
    /* Small caps so the limit paths are reached by small inputs too. */
    opt.max_record = 4096;
    opt.max_file = 1 << 20;
    /* A path set like a rule pack's, so skipped subtrees are exercised. */
    struct json_pathset *ps = json_pathset_new();
    event_add_common_paths(ps);
    json_pathset_add(ps, "query_name", 10);
    json_pathset_add_subtree(ps, "answers", 7);
    opt.want = ps;
    fuzz_input(d, n, &opt);
    json_pathset_free(ps);
    return 0;
}
