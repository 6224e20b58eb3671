/* Small helpers shared by the header parsers of src/propagate. */
#ifndef CTR_PROPAGATE_INTERNAL_H
#define CTR_PROPAGATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* RFC 7230 tchar: what a baggage key (and an HTTP header name) is made of. */
static inline bool ctr__tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* W3C baggage-octet: what a baggage value holds unescaped. */
static inline bool ctr__baggage_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/* Percent-decode v[0..vn) into `out` (`size` bytes); the decoded length, or
 * -1 for a bad escape or when it does not fit (baggage.c). */
long ctr__pct_decode(const char *v, size_t vn, char *out, size_t size);
/* Write v[0..vn) into `out` (`size` bytes) with every byte that is not a
 * baggage-octet (and '%') percent-escaped; the length, or -1 when it does
 * not fit (baggage.c). */
long ctr__pct_encode(const char *v, size_t vn, char *out, size_t size);

#endif
