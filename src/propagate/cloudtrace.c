/*
 * Google Cloud Trace context header (Cloud Trace documentation, "Trace
 * context"): X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS, where
 * TRACE_ID is 32 hex digits, SPAN_ID the 64-bit span id written in decimal
 * and o=1 asks for the request to be traced (sampled). otel_vendor gcp
 * injects it beside the configured formats.
 */
#include <chaostracing/propagate.h>

#include <string.h>

#include "propagate/internal.h"

/* The longest decimal form of a 64-bit number. */
#define SPAN_ID_DIGITS_MAX 20

/* Decode 32 hex digits of either case into `out`; false on any other byte. */
static bool hex32(const char *s, uint8_t out[CTR_TRACE_ID_LEN])
{
    for (size_t i = 0; i < 2 * CTR_TRACE_ID_LEN; i++) {
        int v = ctr_hex_digit(s[i]);
        if (v < 0)
            return false;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | v : v);
    }
    return true;
}

/*
 * Parse "{32 hex}/{1-20 decimal digits}" optionally followed by ";o=0" or
 * ";o=1", with optional white space around the whole. The span id must fit
 * in 64 bits; neither id may be zero. Returns 0 and fills `out`, or
 * CTR_EPARSE leaving it untouched.
 */
int ctr_cloudtrace_parse(const char *s, size_t len, struct ctr_span_context *out)
{
    if (!s || !out)
        return CTR_EPARSE;
    ctr__trim_ows(&s, &len);
    struct ctr_span_context ctx = {0};
    if (len < 2 * CTR_TRACE_ID_LEN + 2 || s[2 * CTR_TRACE_ID_LEN] != '/' || !hex32(s, ctx.trace_id))
        return CTR_EPARSE;
    size_t i = 2 * CTR_TRACE_ID_LEN + 1, digits = 0;
    uint64_t span = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (digits == SPAN_ID_DIGITS_MAX || span > (UINT64_MAX - d) / 10)
            return CTR_EPARSE;
        span = span * 10 + d;
    }
    if (digits == 0 || span == 0)
        return CTR_EPARSE;
    if (i < len) {
        if (len - i != 4 || memcmp(s + i, ";o=", 3) != 0 || (s[i + 3] != '0' && s[i + 3] != '1'))
            return CTR_EPARSE;
        ctx.trace_flags = s[i + 3] == '1' ? CTR_TRACE_FLAG_SAMPLED : 0;
    }
    if (ctr__all_zero(ctx.trace_id, CTR_TRACE_ID_LEN))
        return CTR_EPARSE;
    for (int b = CTR_SPAN_ID_LEN - 1; b >= 0; b--, span >>= 8)
        ctx.span_id[b] = (uint8_t)(span & 0xff);
    ctx.is_remote = true;
    *out = ctx;
    return 0;
}

/* Format "{32 hex}/{decimal};o={0|1}" (at most 57 chars) into `out`. */
void ctr_cloudtrace_format(const struct ctr_span_context *ctx, char out[64])
{
    ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, out);
    size_t n = 2 * CTR_TRACE_ID_LEN;
    out[n++] = '/';
    uint64_t span = 0;
    for (int b = 0; b < CTR_SPAN_ID_LEN; b++)
        span = span << 8 | ctx->span_id[b];
    char digits[SPAN_ID_DIGITS_MAX];
    size_t d = 0;
    do {
        digits[d++] = (char)('0' + span % 10);
        span /= 10;
    } while (span && d < sizeof digits);
    while (d)
        out[n++] = digits[--d];
    memcpy(out + n, ";o=", 3);
    n += 3;
    out[n++] = (ctx->trace_flags & CTR_TRACE_FLAG_SAMPLED) ? '1' : '0';
    out[n] = '\0';
}
