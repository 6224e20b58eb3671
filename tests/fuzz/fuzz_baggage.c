/*
 * libFuzzer target: W3C baggage validation. A valid value is at most
 * CTR_BAGGAGE_MAX bytes and has at least one member, each of which is valid
 * on its own.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int n = ctr_baggage_validate(s, size);
    if (n == CTR_EPARSE)
        return 0;
    if (n < 1 || size > CTR_BAGGAGE_MAX)
        abort();
    /* Every ','-separated part of a valid value is a valid single member. */
    int members = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && s[i] != ',')
            continue;
        if (ctr_baggage_validate(s + start, i - start) != 1)
            abort();
        members++;
        start = i + 1;
    }
    if (members != n)
        abort();
    return 0;
}
