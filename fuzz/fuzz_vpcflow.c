/*
 * Fuzz target for the input module's vpcflow path: the bytes are one input file
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
    /* Odd-length inputs also try a headerless custom format. */
    if (n % 2 == 1)
        opt.vpcflow_fields = "srcaddr dstaddr dstport action start account-id";
    fuzz_input(d, n, &opt);
    return 0;
}
