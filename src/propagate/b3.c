/*
 * Zipkin B3 single header (openzipkin/b3-propagation, "Single Header"):
 * "{TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]" with lower-hex ids.
 * The multi-header form is read and written by propagation.c, which turns
 * the X-B3-* headers into this single form and parses it here.
 */
#include <chaostracing/propagate.h>

#include <string.h>

#include "propagate/internal.h"

/* True when `s[0..n)` is all lower-case hex digits (the B3 README's
 * "lower-hex"; upper case is refused). */
static bool b3_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/*
 * Parse a `b3` header value. Surrounding spaces and tabs are allowed. The
 * trace id has 16 or 32 lower-hex digits (16 are left-padded with zeros to
 * 128 bits), the span id and parent id 16; the sampling state is "0", "1" or
 * "d" (debug, which implies sampled) and absent means "defer" (not sampled).
 * A sampling state alone ("0", "1", "d") carries no ids and is refused, as
 * are zero ids and any fifth field. On success fills `out` (ids, flags,
 * is_remote, an empty trace_state); on error leaves it untouched and returns
 * CTR_EPARSE.
 */
int ctr_b3_parse(const char *s, size_t len, struct ctr_span_context *out)
{
    if (!s || !out)
        return CTR_EPARSE;
    ctr__trim_ows(&s, &len);

    /* Split into at most four '-' separated fields. */
    const char *f[4];
    size_t fn[4], nf = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '-') {
            if (nf == 4)
                return CTR_EPARSE;
            f[nf] = s + start;
            fn[nf] = i - start;
            nf++;
            start = i + 1;
        }
    }
    if (nf < 2)
        return CTR_EPARSE; /* empty, or a sampling state without ids */

    struct ctr_span_context ctx = {0};
    if ((fn[0] != 16 && fn[0] != 32) || !b3_lower_hex(f[0], fn[0]))
        return CTR_EPARSE;
    if (ctr_hex_decode(f[0], fn[0] / 2, ctx.trace_id + CTR_TRACE_ID_LEN - fn[0] / 2))
        return CTR_EPARSE;
    if (fn[1] != 16 || !b3_lower_hex(f[1], 16) || ctr_hex_decode(f[1], 8, ctx.span_id))
        return CTR_EPARSE;
    if (ctr__all_zero(ctx.trace_id, CTR_TRACE_ID_LEN) ||
        ctr__all_zero(ctx.span_id, CTR_SPAN_ID_LEN))
        return CTR_EPARSE;
    if (nf >= 3) {
        if (fn[2] != 1)
            return CTR_EPARSE;
        if (f[2][0] == '1' || f[2][0] == 'd')
            ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
        else if (f[2][0] != '0')
            return CTR_EPARSE;
    }
    if (nf == 4 && (fn[3] != 16 || !b3_lower_hex(f[3], 16)))
        return CTR_EPARSE;
    ctx.is_remote = true;
    *out = ctx;
    return 0;
}

/*
 * Format "{32 hex trace}-{16 hex span}-{1|0}" into `out`. The parent span id
 * is never written (OpenTelemetry does not share span ids between the two
 * sides of a request).
 */
void ctr_b3_format(const struct ctr_span_context *ctx, char out[64])
{
    ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, out);
    out[32] = '-';
    ctr_hex_encode(ctx->span_id, CTR_SPAN_ID_LEN, out + 33);
    out[49] = '-';
    out[50] = (ctx->trace_flags & CTR_TRACE_FLAG_SAMPLED) ? '1' : '0';
    out[51] = '\0';
}
