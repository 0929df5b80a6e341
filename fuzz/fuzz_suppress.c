/*
 * Fuzz target for suppression rules (GuardDuty filters, JSON or YAML). A file
 * that loads is applied to a sample finding of each resource kind, so every
 * criterion the loader accepts must also evaluate.
 */
#include "finding/finding.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct finding_filters *fs = finding_filters_new();
    struct err err;
    err_clear(&err);
    if (finding_filters_load_text(fs, "fuzz", (const char *)d, n, &err) == 0) {
        static const struct finding_sample_spec specs[] = {
            { "Recon:IAMUser/MaliciousIPCaller.Custom", 5.0, DETECT_RES_ACCESS_KEY,
              EVENT_CLOUDTRAIL, "r", NULL, NULL, NULL },
            { "UnauthorizedAccess:EC2/SSHBruteForce", 2.0, DETECT_RES_INSTANCE, EVENT_VPCFLOW,
              NULL, NULL, NULL, NULL },
            { "Trojan:EC2/DNSDataExfiltration", 8.0, DETECT_RES_INSTANCE, EVENT_DNS, NULL, NULL,
              NULL, NULL },
            { "Policy:S3/BucketAnonymousAccessGranted", 8.0, DETECT_RES_S3_BUCKET,
              EVENT_CLOUDTRAIL, NULL, NULL, NULL, NULL },
        };
        struct finding_agg *agg = finding_agg_new();
        for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
            finding_sample_add(agg, &specs[i], "123456789012", "us-east-1", 1700000000000LL);
        size_t archived = finding_agg_archive(agg, fs);
        if (archived > finding_agg_count(agg))
            abort();
        finding_agg_free(agg);
    } else if (finding_filters_count(fs) + finding_filters_noop(fs) != 0) {
        abort(); /* a failed file adds nothing */
    }
    finding_filters_free(fs);
    return 0;
}
