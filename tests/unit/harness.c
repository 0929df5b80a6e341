/* The test harness; see harness.h. */
#include "harness.h"

#include <stdlib.h>
#include <sys/stat.h>

int harness_failures;

int harness_run(const struct harness_test *tests, size_t n)
{
    int failed = 0;
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        harness_failures = 0;
        tests[i].fn();
        if (harness_failures == 0) {
            printf("ok %zu - %s\n", i + 1, tests[i].name);
        } else {
            printf("not ok %zu - %s\n", i + 1, tests[i].name);
            failed++;
        }
        fflush(stdout);
    }
    printf("# %zu passed, %d failed\n", n - (size_t)failed, failed);
    return failed ? 1 : 0;
}

const char *harness_datasets(void)
{
    static char path[4096];
    struct stat st;
    const char *shared = getenv("VIGIL_SHARED");
    snprintf(path, sizeof(path), "%s/datasets", shared ? shared : VIGIL_SOURCE_ROOT "/../shared");
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("# skip: shared datasets not found at %s (set VIGIL_SHARED)\n", path);
        return NULL;
    }
    return path;
}
