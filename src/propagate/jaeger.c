/*
 * Jaeger's uber-trace-id header (jaegertracing.io client libraries,
 * "Propagation Format"): "{trace-id}:{span-id}:{parent-span-id}:{flags}".
 * Ids are hex of variable length, left-padded with zeros; flags are one byte
 * in hex (0x01 sampled, 0x02 debug). The prefixed baggage headers are
 * handled by propagation.c.
 */
#include <chaostracing/propagate.h>

#include <string.h>

#include "propagate/internal.h"

/*
 * Decode 1..2*size hex digits into `size` bytes, right-aligned (the id is
 * left-padded with zeros). Returns false on an empty or too long field or a
 * non-hex character.
 */
static bool jaeger_hex_padded(const char *s, size_t n, uint8_t *out, size_t size)
{
    if (n == 0 || n > 2 * size)
        return false;
    memset(out, 0, size);
    for (size_t i = 0; i < n; i++) {
        int v = ctr_hex_digit(s[n - 1 - i]);
        if (v < 0)
            return false;
        out[size - 1 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
    }
    return true;
}

/*
 * Parse an uber-trace-id value. The separators may arrive URL-encoded
 * ("%3A" or "%3a" for ':'); surrounding spaces and tabs are allowed. The
 * trace id has 1..32 hex digits, span and parent ids 1..16 (the parent is
 * deprecated and may be 0), flags 1..2 hex digits; zero trace or span ids
 * are invalid. Debug (0x02) implies sampled. On success fills `out` and
 * returns 0; on error leaves it untouched and returns CTR_EPARSE.
 */
int ctr_jaeger_parse(const char *s, size_t len, struct ctr_span_context *out)
{
    if (!s || !out)
        return CTR_EPARSE;
    ctr__trim_ows(&s, &len);

    const char *f[4];
    size_t fn[4], nf = 0, start = 0, i = 0;
    while (i <= len) {
        size_t sep = 0; /* length of the separator at i, 0 if none */
        if (i == len)
            sep = 1;
        else if (s[i] == ':')
            sep = 1;
        else if (s[i] == '%' && i + 2 < len && s[i + 1] == '3' &&
                 (s[i + 2] == 'A' || s[i + 2] == 'a'))
            sep = 3;
        if (!sep) {
            i++;
            continue;
        }
        if (nf == 4)
            return CTR_EPARSE;
        f[nf] = s + start;
        fn[nf] = i - start;
        nf++;
        i += sep;
        start = i;
    }
    if (nf != 4)
        return CTR_EPARSE;

    struct ctr_span_context ctx = {0};
    uint8_t parent[CTR_SPAN_ID_LEN], flags;
    if (!jaeger_hex_padded(f[0], fn[0], ctx.trace_id, CTR_TRACE_ID_LEN) ||
        !jaeger_hex_padded(f[1], fn[1], ctx.span_id, CTR_SPAN_ID_LEN) ||
        !jaeger_hex_padded(f[2], fn[2], parent, CTR_SPAN_ID_LEN) ||
        !jaeger_hex_padded(f[3], fn[3], &flags, 1))
        return CTR_EPARSE;
    if (ctr__all_zero(ctx.trace_id, CTR_TRACE_ID_LEN) ||
        ctr__all_zero(ctx.span_id, CTR_SPAN_ID_LEN))
        return CTR_EPARSE;
    if (flags & 0x03)
        ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    ctx.is_remote = true;
    *out = ctx;
    return 0;
}

/*
 * Format "{32 hex trace}:{16 hex span}:0:{01|00}" into `out`: the parent id
 * is deprecated and written as 0, the flags carry only the sampled bit.
 */
void ctr_jaeger_format(const struct ctr_span_context *ctx, char out[80])
{
    ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, out);
    out[32] = ':';
    ctr_hex_encode(ctx->span_id, CTR_SPAN_ID_LEN, out + 33);
    memcpy(out + 49, ":0:0", 4);
    out[53] = (ctx->trace_flags & CTR_TRACE_FLAG_SAMPLED) ? '1' : '0';
    out[54] = '\0';
}
