/*
 * Test helper (header-only): a scratch directory under /tmp made once per
 * test binary, and reading a whole file back.
 */
#ifndef CTR_TEST_SCRATCH_H
#define CTR_TEST_SCRATCH_H

#include <chaostracing/common.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

/* Make `tmpdir` on the first call; exits the test binary when it cannot. */
static inline void make_tmpdir(void)
{
    if (tmpdir[0])
        return;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ctr_test_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(2);
    }
}

/* Remove `tmpdir` if it was made (it must be empty by then). */
static inline void cleanup_tmpdir(void)
{
    if (tmpdir[0])
        rmdir(tmpdir);
}

/* Read a whole file into a NUL-terminated malloc'd string; NULL when it
 * cannot be opened. `len` (may be NULL) gets the length without the NUL. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct ctr_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ctr_buf_append(&b, chunk, n);
    fclose(f);
    ctr_buf_putc(&b, '\0');
    if (len)
        *len = b.len - 1;
    return (char *)b.data;
}

#endif
