/*
 * A minimal unit-test harness: each test is a function; ASSERT_* macros print
 * both values and the location, then return from the test. main() runs the
 * listed tests and prints "N passed, N failed".
 */
#ifndef CTR_TEST_H
#define CTR_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ctr_test_failed_flag;

#define TEST_FAIL_AT(...)                                                                          \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        ctr_test_failed_flag = 1;                                                                  \
        return;                                                                                    \
    } while (0)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TEST_FAIL_AT("assertion failed: %s", #cond);                                           \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            TEST_FAIL_AT("%s == %s: %lld != %lld", #a, #b, a_, b_);                                \
    } while (0)

#define ASSERT_UEQ(a, b)                                                                           \
    do {                                                                                           \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);             \
        if (a_ != b_)                                                                              \
            TEST_FAIL_AT("%s == %s: %llu != %llu", #a, #b, a_, b_);                                \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            TEST_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",                 \
                         b_ ? b_ : "(null)");                                                      \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                      \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0)                                                            \
            TEST_FAIL_AT("%s and %s differ in their first %zu bytes", #a, #b, (size_t)(n));        \
    } while (0)

struct ctr_test_case {
    const char *name;
    void (*fn)(void);
};

#define TEST_CASE(fn)                                                                              \
    {                                                                                              \
#fn, fn                                                                                    \
    }

/* Run the tests named on the command line, or all; print a summary line. */
static int ctr_test_main(int argc, char **argv, const struct ctr_test_case *cases, size_t n)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1) {
            int want = 0;
            for (int a = 1; a < argc; a++)
                want |= strcmp(argv[a], cases[i].name) == 0;
            if (!want)
                continue;
        }
        ctr_test_failed_flag = 0;
        cases[i].fn();
        if (ctr_test_failed_flag) {
            fprintf(stderr, "FAIL %s\n", cases[i].name);
            failed++;
        } else {
            fprintf(stderr, "ok   %s\n", cases[i].name);
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed ? 1 : 0;
}

#define TEST_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct ctr_test_case cases_[] = {__VA_ARGS__};                                \
        return ctr_test_main(argc, argv, cases_, sizeof(cases_) / sizeof(cases_[0]));              \
    }

#endif
