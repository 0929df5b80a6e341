/*
 * Replays fuzz corpora without libFuzzer: every regular file named on the
 * command line, or found directly inside a directory named there, is read and
 * passed to LLVMFuzzerTestOneInput once. Files run in name order so a failure
 * reproduces the same way. Built into each fuzz_<name> executable by
 * fuzz/meson.build, so `meson test --suite fuzz` replays the seeds under the
 * sanitizers of the build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define REPLAY_MAX_FILE (64u << 20)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *d = malloc(cap);
    size_t got;
    while (d != NULL && (got = fread(d + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            if (cap >= REPLAY_MAX_FILE)
                break;
            cap *= 2;
            uint8_t *nd = realloc(d, cap);
            if (nd == NULL) {
                free(d);
                d = NULL;
            } else {
                d = nd;
            }
        }
    }
    fclose(f);
    if (d == NULL) {
        fprintf(stderr, "replay: out of memory on %s\n", path);
        return 1;
    }
    /* An exact-size copy so ASan catches reads one past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(d);
        return 1;
    }
    memcpy(exact, d, len);
    free(d);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *files)
{
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL)
                break;
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n] != NULL)
            n++;
    }
    closedir(dp);
    qsort(names, n, sizeof(*names), cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(plen);
        if (path != NULL) {
            snprintf(path, plen, "%s/%s", dir, names[i]);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                rc |= run_file(path);
                (*files)++;
            }
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t files = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= run_dir(argv[i], &files);
        } else {
            rc |= run_file(argv[i]);
            files++;
        }
    }
    printf("replayed %zu inputs\n", files);
    return rc;
}
