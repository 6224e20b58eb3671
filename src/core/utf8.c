/*
 * UTF-8 helpers shared by the span setters, the JSON reader and the
 * renderer: one decoder (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF), one encoder and the bounded walk that truncates by characters.
 */
#include <string.h>

#include "core/internal.h"

size_t ctr__utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    size_t len;
    uint32_t min, v;
    if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, v = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (u[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if (cp)
        *cp = v;
    return len;
}

size_t ctr__utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t ctr__utf8_valid_prefix(const char *s, size_t len, uint32_t max_chars, bool *valid)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    uint32_t chars = 0;
    *valid = true;
    while (i < len && chars < max_chars) {
        /* Eight ASCII bytes at a time: the common case for names and keys. */
        if (len - i >= 8 && max_chars - chars >= 8) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (!(w & 0x8080808080808080u)) {
                i += 8;
                chars += 8;
                continue;
            }
        }
        size_t k = ctr__utf8_decode(s + i, len - i, NULL);
        if (!k) {
            *valid = false;
            k = 1;
        }
        i += k;
        chars++;
    }
    return i;
}
