/*
 * AWS X-Ray trace header (X-Amzn-Trace-Id, X-Ray developer guide "Tracing
 * header"): "Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled={0|1}", keys in
 * any order, unknown keys (Self, Lineage, ...) ignored. The X-Ray trace id
 * maps to the 128-bit OpenTelemetry id by dropping the version and dashes:
 * the first 8 hex digits (the epoch seconds) become its first 4 bytes.
 */
#include <chaostracing/propagate.h>

#include <string.h>

#include "propagate/internal.h"

/* Decode exactly 2*n hex digits of either case (X-Ray writes lower case and
 * does not specify the case) into `out`; false on any other character. */
static bool xray_hex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            return false;
        if (i % 2)
            out[i / 2] = (uint8_t)(out[i / 2] << 4 | v);
        else
            out[i / 2] = (uint8_t)v;
    }
    return true;
}

static bool xray_key_is(const char *k, size_t kn, const char *want)
{
    return kn == strlen(want) && memcmp(k, want, kn) == 0;
}

/*
 * Parse an X-Amzn-Trace-Id value: ';'-separated "Key=Value" members with
 * optional white space around keys and values; empty members are skipped.
 * Root ("1-" + 8 hex + "-" + 24 hex) and Parent (16 hex) are required and
 * must be non-zero; Sampled is "1", "0" or "?" (the X-Ray "decision
 * requested" marker, taken as not sampled) and defaults to not sampled.
 * A member without '=' or a repeated Root/Parent/Sampled key makes the whole
 * value invalid. Returns 0 and fills `out`, or CTR_EPARSE leaving it
 * untouched.
 */
int ctr_xray_parse(const char *s, size_t len, struct ctr_span_context *out)
{
    if (!s || !out)
        return CTR_EPARSE;
    struct ctr_span_context ctx = {0};
    bool have_root = false, have_parent = false, have_sampled = false;
    size_t i = 0;
    while (i <= len) {
        const char *semi = memchr(s + i, ';', len - i);
        size_t end = semi ? (size_t)(semi - s) : len;
        const char *m = s + i;
        size_t mn = end - i;
        i = end + 1;
        ctr__trim_ows(&m, &mn);
        if (mn == 0)
            continue;
        const char *eq = memchr(m, '=', mn);
        if (!eq)
            return CTR_EPARSE;
        const char *k = m, *v = eq + 1;
        size_t kn = (size_t)(eq - m), vn = mn - kn - 1;
        ctr__trim_ows(&k, &kn);
        ctr__trim_ows(&v, &vn);
        if (xray_key_is(k, kn, "Root")) {
            if (have_root || vn != 35 || v[0] != '1' || v[1] != '-' || v[10] != '-' ||
                !xray_hex(v + 2, 4, ctx.trace_id) || !xray_hex(v + 11, 12, ctx.trace_id + 4))
                return CTR_EPARSE;
            have_root = true;
        } else if (xray_key_is(k, kn, "Parent")) {
            if (have_parent || vn != 16 || !xray_hex(v, 8, ctx.span_id))
                return CTR_EPARSE;
            have_parent = true;
        } else if (xray_key_is(k, kn, "Sampled")) {
            if (have_sampled || vn != 1 || (v[0] != '0' && v[0] != '1' && v[0] != '?'))
                return CTR_EPARSE;
            ctx.trace_flags = v[0] == '1' ? CTR_TRACE_FLAG_SAMPLED : 0;
            have_sampled = true;
        }
    }
    if (!have_root || !have_parent || ctr__all_zero(ctx.trace_id, CTR_TRACE_ID_LEN) ||
        ctr__all_zero(ctx.span_id, CTR_SPAN_ID_LEN))
        return CTR_EPARSE;
    ctx.is_remote = true;
    *out = ctx;
    return 0;
}

/* Format "Root=1-{8}-{24};Parent={16};Sampled={0|1}" (74 chars) into `out`. */
void ctr_xray_format(const struct ctr_span_context *ctx, char out[96])
{
    char tid[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, tid);
    memcpy(out, "Root=1-", 7);
    memcpy(out + 7, tid, 8);
    out[15] = '-';
    memcpy(out + 16, tid + 8, 24);
    memcpy(out + 40, ";Parent=", 8);
    ctr_hex_encode(ctx->span_id, CTR_SPAN_ID_LEN, out + 48);
    memcpy(out + 64, ";Sampled=", 9);
    out[73] = (ctx->trace_flags & CTR_TRACE_FLAG_SAMPLED) ? '1' : '0';
    out[74] = '\0';
}
