/*
 * A small test harness: each test file defines a table of tests and calls
 * harness_run(). Output is TAP (Meson reads it) followed by a plain
 * "N passed, N failed" line. Failed checks print both sides and file:line.
 */
#ifndef VIGIL_HARNESS_H
#define VIGIL_HARNESS_H

#include <stdio.h>
#include <string.h>

struct harness_test {
    const char *name;
    void (*fn)(void);
};

/* Failures counted in the running test; reset by harness_run per test. */
extern int harness_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);       \
            harness_failures++;                                                       \
        }                                                                             \
    } while (0)

#define CHECK_INT(a, b)                                                               \
    do {                                                                              \
        long long a_ = (long long)(a), b_ = (long long)(b);                           \
        if (a_ != b_) {                                                               \
            printf("#   %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
                   a_, b_);                                                           \
            harness_failures++;                                                       \
        }                                                                             \
    } while (0)

#define CHECK_STR(a, b)                                                               \
    do {                                                                              \
        const char *a_ = (a), *b_ = (b);                                              \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                        \
            printf("#   %s:%d: %s == %s:\n#     \"%s\"\n#  != \"%s\"\n", __FILE__,     \
                   __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");         \
            harness_failures++;                                                       \
        }                                                                             \
    } while (0)

#define CHECK_SV(sv_, lit)                                                            \
    do {                                                                              \
        struct sv s_ = (sv_);                                                         \
        const char *l_ = (lit);                                                       \
        if (s_.len != strlen(l_) || (s_.len && memcmp(s_.p, l_, s_.len) != 0)) {      \
            printf("#   %s:%d: %s == \"%s\": got \"%.*s\"\n", __FILE__, __LINE__, #sv_, \
                   l_, (int)s_.len, s_.p ? s_.p : "");                                \
            harness_failures++;                                                       \
        }                                                                             \
    } while (0)

/* Runs every test of the table; returns the process exit status. */
int harness_run(const struct harness_test *tests, size_t n);

/* Root of ../shared/datasets, or NULL (with a "skip" note printed) when absent.
 * VIGIL_SHARED overrides the default "<source root>/../shared". */
const char *harness_datasets(void);

#define HARNESS_MAIN(table)                                                           \
    int main(void) { return harness_run(table, sizeof(table) / sizeof(table[0])); }

#endif
