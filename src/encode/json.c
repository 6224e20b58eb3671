/*
 * JSON writer helpers: string escaping with UTF-8 repair, numbers as protobuf
 * JSON writes them, hex and base64. See json.h.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/json.h"

/*
 * Length of the well-formed UTF-8 sequence starting at p[0] (a byte >= 0x80),
 * or 0 when it is ill-formed; then *bad gets the length of its maximal
 * subpart (at least 1), which is replaced by a single U+FFFD as the Unicode
 * standard recommends (and as Python's "replace" error handler does).
 */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end, size_t *bad)
{
    uint8_t c = p[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* no overlongs */
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    size_t avail = (size_t)(end - p);
    for (size_t i = 1; i < need; i++) {
        uint8_t lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
        if (i >= avail || p[i] < lo_i || p[i] > hi_i) {
            *bad = i;
            return 0;
        }
    }
    return need;
}

/* Whether the well-formed sequence p[0..n) is U+0085, U+2028 or U+2029. */
static inline bool line_break(const uint8_t *p, size_t n)
{
    if (n == 2)
        return p[0] == 0xC2 && p[1] == 0x85;
    return n == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9);
}

/*
 * Append `s` as a JSON string literal. Quotes, backslash and control
 * characters are escaped (\b \f \n \r \t or \u00xx), and so are the Unicode
 * line breaks U+0085, U+2028 and U+2029 so that the text stays on one line
 * for any line splitter; other valid UTF-8 is copied as is; each maximal
 * ill-formed subsequence becomes U+FFFD. A NULL `s` is written as "".
 * `s` must not point into `b`. Errors are sticky in b->err.
 */
void ctr_json_put_string(struct ctr_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        s = "";
        len = 0;
    }
    /* Most strings need no escaping: reserve for that case up front. */
    if (ctr_buf_reserve(b, len + 2))
        return;
    b->data[b->len++] = '"';
    const uint8_t *p = (const uint8_t *)s, *end = p + len, *run = p;
    while (p < end) {
        uint8_t c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        size_t bad = 0;
        if (c >= 0x80) {
            size_t n = utf8_seq(p, end, &bad);
            if (n && !line_break(p, n)) {
                p += n;
                continue;
            }
            if (n) {
                /* U+0085, U+2028, U+2029: \u escapes keep the output one line
                 * for readers that split on every Unicode line break. */
                ctr_buf_append(b, run, (size_t)(p - run));
                ctr_buf_append(b, n == 2 ? "\\u0085" : p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                p += n;
                run = p;
                continue;
            }
        }
        ctr_buf_append(b, run, (size_t)(p - run));
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        if (bad) {
            ctr_buf_append(b, "\xEF\xBF\xBD", 3);
            p += bad;
            run = p;
            continue;
        }
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        ctr_buf_append(b, esc, elen);
        p++;
        run = p;
    }
    ctr_buf_append(b, run, (size_t)(p - run));
    ctr_buf_putc(b, '"');
}

/* Append raw bytes. */
void ctr__json_put_raw(struct ctr_buf *b, const char *s, size_t n)
{
    ctr_buf_append(b, s, n);
}

/* Decimal digits of `v` written backwards ending at `end`; returns start. */
static char *u64_digits(uint64_t v, char *end)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

/* Append `v` in decimal, optionally negative and optionally quoted. */
static void put_decimal(struct ctr_buf *b, uint64_t mag, bool neg, bool quoted)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    if (quoted)
        *--end = '"';
    char *p = u64_digits(mag, end);
    if (neg)
        *--p = '-';
    if (quoted)
        *--p = '"';
    ctr_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Magnitude of a signed value, INT64_MIN included. */
static uint64_t i64_mag(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Append `v` as a bare decimal number. */
void ctr__json_put_u64(struct ctr_buf *b, uint64_t v)
{
    put_decimal(b, v, false, false);
}

/* Append `v` as a bare decimal number, INT64_MIN included. */
void ctr__json_put_i64(struct ctr_buf *b, int64_t v)
{
    put_decimal(b, i64_mag(v), v < 0, false);
}

/* Append `v` as a quoted decimal (protobuf JSON for 64-bit integers). */
void ctr__json_put_u64_str(struct ctr_buf *b, uint64_t v)
{
    put_decimal(b, v, false, true);
}

/* Append `v` as a quoted decimal (protobuf JSON for 64-bit integers). */
void ctr__json_put_i64_str(struct ctr_buf *b, int64_t v)
{
    put_decimal(b, i64_mag(v), v < 0, true);
}

/*
 * Shortest round-trip digits of a finite non-zero |d|: fills `digits` (no
 * trailing zeros, NUL-terminated) and returns the decimal exponent of the
 * first digit. For normal doubles the nearest 15-digit decimal always reads
 * back when any decimal of 15 or fewer digits does (DBL_DIG), so trying 15,
 * 16, 17 digits and stripping zeros gives the shortest form; subnormals are
 * searched from one digit up. Locale-independent: the radix
 * character printf uses is skipped, whatever it is.
 */
static int shortest_digits(double d, char digits[20])
{
    char tmp[48];
    /* Subnormals carry fewer digits: search them from one digit up. */
    for (int prec = d < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        int n = snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (n <= 0 || (size_t)n >= sizeof tmp)
            continue;
        if (prec < 17 && strtod(tmp, NULL) != d)
            continue;
        /* tmp is "D<radix>DDDDe[+-]XX"; collect digits up to the 'e'. */
        size_t nd = 0;
        const char *p = tmp;
        while (*p && *p != 'e') {
            if (*p >= '0' && *p <= '9' && nd < 19)
                digits[nd++] = *p;
            p++;
        }
        while (nd > 1 && digits[nd - 1] == '0')
            nd--;
        digits[nd] = '\0';
        return *p == 'e' ? atoi(p + 1) : 0;
    }
    digits[0] = '0';
    digits[1] = '\0';
    return 0;
}

/* See json.h: Python repr() formatting of a double. */
size_t ctr__json_format_double(double d, char out[CTR__JSON_DOUBLE_MAX])
{
    const char *special = NULL;
    if (isnan(d))
        special = "NaN";
    else if (isinf(d))
        special = d < 0 ? "-Infinity" : "Infinity";
    if (special) {
        size_t n = strlen(special);
        memcpy(out, special, n + 1);
        return n;
    }
    size_t o = 0;
    if (signbit(d)) {
        out[o++] = '-';
        d = -d;
    }
    if (d == 0) {
        memcpy(out + o, "0.0", 4);
        return o + 3;
    }
    char dg[20];
    int exp = shortest_digits(d, dg);
    int nd = (int)strlen(dg);
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            /* 0.000ddd */
            out[o++] = '0';
            out[o++] = '.';
            for (int i = -1; i > exp; i--)
                out[o++] = '0';
            for (int i = 0; i < nd; i++)
                out[o++] = dg[i];
        } else {
            /* ddd.ddd, or ddd000.0 */
            for (int i = 0; i <= exp; i++)
                out[o++] = i < nd ? dg[i] : '0';
            out[o++] = '.';
            if (nd > exp + 1)
                for (int i = exp + 1; i < nd; i++)
                    out[o++] = dg[i];
            else
                out[o++] = '0';
        }
    } else {
        /* d.ddde+XX with at least two exponent digits */
        out[o++] = dg[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int i = 1; i < nd; i++)
                out[o++] = dg[i];
        }
        out[o++] = 'e';
        out[o++] = exp < 0 ? '-' : '+';
        int ae = exp < 0 ? -exp : exp;
        if (ae >= 100)
            out[o++] = (char)('0' + ae / 100);
        out[o++] = (char)('0' + ae / 10 % 10);
        out[o++] = (char)('0' + ae % 10);
    }
    out[o] = '\0';
    return o;
}

/* Append a double: a number when finite, else "NaN" / "Infinity" /
 * "-Infinity" as JSON strings. */
void ctr__json_put_double(struct ctr_buf *b, double d)
{
    char tmp[CTR__JSON_DOUBLE_MAX];
    size_t n = ctr__json_format_double(d, tmp);
    if (isfinite(d)) {
        ctr_buf_append(b, tmp, n);
    } else {
        ctr_buf_putc(b, '"');
        ctr_buf_append(b, tmp, n);
        ctr_buf_putc(b, '"');
    }
}

/* Append `true` or `false`. */
void ctr__json_put_bool(struct ctr_buf *b, bool v)
{
    if (v)
        ctr_buf_append(b, "true", 4);
    else
        ctr_buf_append(b, "false", 5);
}

/* Append `n` bytes as a quoted lower-case hex string. */
void ctr__json_put_hex(struct ctr_buf *b, const uint8_t *p, size_t n)
{
    /* ctr_hex_encode() adds a NUL, which the closing quote overwrites. */
    if (n > (SIZE_MAX - 3) / 2 || ctr_buf_reserve(b, 2 * n + 3))
        return;
    char *o = (char *)b->data + b->len;
    o[0] = '"';
    ctr_hex_encode(p, n, o + 1);
    o[2 * n + 1] = '"';
    b->len += 2 * n + 2;
}

/* Append `n` bytes as a quoted padded base64 string. */
void ctr__json_put_base64(struct ctr_buf *b, const uint8_t *p, size_t n)
{
    if (!p)
        n = 0;
    if (n > (SIZE_MAX / 4) * 3 - 3)
        return;
    size_t m = ctr_base64_len(n);
    if (ctr_buf_reserve(b, m + 2))
        return;
    char *o = (char *)b->data + b->len;
    o[0] = '"';
    ctr_base64_encode(p, n, o + 1);
    o[m + 1] = '"';
    b->len += m + 2;
}
