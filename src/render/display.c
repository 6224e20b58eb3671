/*
 * Display-safe text for the renderers: escapes for terminal controls and
 * bidirectional overrides, the columns a terminal gives each code point
 * (two for wide CJK and emoji, none for combining marks: widths.h), cut
 * with an ellipsis.
 */
#include <stdio.h>

#include "core/internal.h"
#include "render/internal.h"
#include "render/widths.h"

size_t ctr__cp_width(uint32_t cp)
{
    if (cp < 0x300)
        return 1;
    size_t lo = 0, hi = sizeof ctr__width_ranges / sizeof ctr__width_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < ctr__width_ranges[mid].first)
            hi = mid;
        else if (cp > ctr__width_ranges[mid].last)
            lo = mid + 1;
        else
            return ctr__width_ranges[mid].width;
    }
    return 1;
}

/* The escape that stands for code point `cp` on screen, written to esc[16],
 * and its length; 0 when the code point is printed as itself. */
static int display_escape(uint32_t cp, char *esc)
{
    if (cp < 0x20 || cp == 0x7F)
        return snprintf(esc, 16, "\\x%02x", (unsigned)cp);
    if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return snprintf(esc, 16, "\\u%04x", (unsigned)cp);
    return 0;
}

/* The next code point of s[0..len) (len >= 1) in *cp and its byte length;
 * an ill-formed byte is one U+FFFD (and *bad is set). */
static size_t next_cp(const char *s, size_t len, uint32_t *cp, bool *bad)
{
    size_t n = ctr__utf8_decode(s, len, cp);
    *bad = n == 0;
    if (*bad) {
        *cp = 0xFFFD;
        n = 1;
    }
    return n;
}

/* Columns that `len` bytes take once escaped, counting no further than
 * `stop` (so the scan is bounded for long text). */
static size_t display_cols(const char *s, size_t len, size_t stop)
{
    size_t cols = 0;
    for (size_t i = 0; i < len && cols <= stop;) {
        uint32_t cp;
        bool bad;
        char esc[16];
        i += next_cp(s + i, len - i, &cp, &bad);
        int elen = display_escape(cp, esc);
        cols += elen > 0 ? (size_t)elen : ctr__cp_width(cp);
    }
    return cols;
}

size_t ctr__display_put(struct ctr_buf *b, const char *s, size_t len, size_t max_cols)
{
    if (!s)
        len = 0;
    /* Text that does not fit is cut one column early to make room for "…". */
    size_t limit = display_cols(s, len, max_cols) > max_cols ? max_cols - 1 : max_cols;
    size_t cols = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        bool bad;
        char esc[16];
        size_t n = next_cp(s + i, len - i, &cp, &bad);
        int elen = display_escape(cp, esc);
        size_t w = elen > 0 ? (size_t)elen : ctr__cp_width(cp);
        if (cols + w > limit) {
            if (b)
                ctr_buf_append(b, "\xe2\x80\xa6", 3); /* U+2026 */
            return cols + 1;
        }
        if (b && elen > 0)
            ctr_buf_append(b, esc, (size_t)elen);
        else if (b && bad)
            ctr_buf_append(b, "\xef\xbf\xbd", 3);
        else if (b)
            ctr_buf_append(b, s + i, n);
        cols += w;
        i += n;
    }
    return cols;
}

void ctr__spaces(struct ctr_buf *b, size_t n)
{
    static const char sp[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        ctr_buf_append(b, sp, k);
        n -= k;
    }
}
