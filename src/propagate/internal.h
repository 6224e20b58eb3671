/* Small helpers shared by the header parsers of src/propagate. */
#ifndef CTR_PROPAGATE_INTERNAL_H
#define CTR_PROPAGATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strip optional white space (spaces and tabs) from both ends of s[0..*n). */
static inline void ctr__trim_ows(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* True when the n bytes at p are all zero (an invalid trace or span id). */
static inline bool ctr__all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

#endif
