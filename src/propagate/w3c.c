/*
 * W3C Trace Context (traceparent, tracestate) and W3C Baggage: formatting and
 * strict validation of header values.
 */
#include <chaostracing/propagate.h>

#include <string.h>

#include "propagate/internal.h"

void ctr_traceparent_format(const struct ctr_span_context *ctx, char out[CTR_TRACEPARENT_LEN + 1])
{
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, out + 3);
    out[35] = '-';
    ctr_hex_encode(ctx->span_id, CTR_SPAN_ID_LEN, out + 36);
    out[52] = '-';
    uint8_t flags = ctx->trace_flags & CTR_TRACE_FLAG_SAMPLED;
    ctr_hex_encode(&flags, 1, out + 53);
}

int ctr_traceparent_parse(const char *s, size_t len, struct ctr_span_context *out)
{
    if (!s)
        return CTR_EPARSE;
    ctr__trim_ows(&s, &len);
    if (len < CTR_TRACEPARENT_LEN)
        return CTR_EPARSE;
    uint8_t version, flags;
    struct ctr_span_context ctx = {0};
    if (ctr_hex_decode(s, 1, &version) || version == 0xff || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return CTR_EPARSE;
    if (version == 0 && len != CTR_TRACEPARENT_LEN)
        return CTR_EPARSE;
    if (version > 0 && len > CTR_TRACEPARENT_LEN && s[CTR_TRACEPARENT_LEN] != '-')
        return CTR_EPARSE;
    if (ctr_hex_decode(s + 3, CTR_TRACE_ID_LEN, ctx.trace_id) ||
        ctr_hex_decode(s + 36, CTR_SPAN_ID_LEN, ctx.span_id) || ctr_hex_decode(s + 53, 1, &flags))
        return CTR_EPARSE;
    if (ctr__all_zero(ctx.trace_id, CTR_TRACE_ID_LEN) ||
        ctr__all_zero(ctx.span_id, CTR_SPAN_ID_LEN))
        return CTR_EPARSE;
    ctx.trace_flags = flags;
    ctx.is_remote = true;
    *out = ctx;
    return 0;
}

static bool lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool key_char(char c)
{
    return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* A tracestate key: simple-key or tenant@system (W3C trace-context 3.3.1.3). */
static bool tracestate_key_ok(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !lcalpha(k[0]))
            return false;
        for (size_t i = 1; i < n; i++)
            if (!key_char(k[i]))
                return false;
        return true;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14)
        return false;
    if (!lcalpha(k[0]) && !digit(k[0]))
        return false;
    for (size_t i = 1; i < tn; i++)
        if (!key_char(k[i]))
            return false;
    if (!lcalpha(at[1]))
        return false;
    for (size_t i = 1; i < sn; i++)
        if (!key_char(at[1 + i]))
            return false;
    return true;
}

static bool tracestate_value_ok(const char *v, size_t n)
{
    if (n < 1 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return v[n - 1] != ' ';
}

int ctr_tracestate_validate(const char *s, size_t len)
{
    if (!s)
        return CTR_EPARSE;
    int members = 0;
    struct {
        const char *k;
        size_t n;
    } keys[32];
    size_t i = 0;
    while (i <= len) {
        const char *comma = memchr(s + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - s) : len;
        const char *m = s + i;
        size_t mn = end - i;
        ctr__trim_ows(&m, &mn);
        if (mn) {
            const char *eq = memchr(m, '=', mn);
            if (!eq || members == 32)
                return CTR_EPARSE;
            size_t kn = (size_t)(eq - m);
            if (!tracestate_key_ok(m, kn) || !tracestate_value_ok(eq + 1, mn - kn - 1))
                return CTR_EPARSE;
            for (int j = 0; j < members; j++)
                if (keys[j].n == kn && memcmp(keys[j].k, m, kn) == 0)
                    return CTR_EPARSE;
            keys[members].k = m;
            keys[members].n = kn;
            members++;
        }
        if (!comma)
            break;
        i = end + 1;
    }
    return members;
}

/* RFC 7230 tchar. */
static bool tchar(unsigned char c)
{
    if (digit((char)c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool baggage_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/* "key [= value]" with OWS; value optional only when `value_optional`. */
static bool baggage_kv_ok(const char *p, size_t n, bool value_optional)
{
    ctr__trim_ows(&p, &n);
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    const char *k = p;
    ctr__trim_ows(&k, &kn);
    if (kn == 0)
        return false;
    for (size_t i = 0; i < kn; i++)
        if (!tchar((unsigned char)k[i]))
            return false;
    if (!eq)
        return value_optional;
    const char *v = eq + 1;
    size_t vn = n - (size_t)(v - p);
    ctr__trim_ows(&v, &vn);
    for (size_t i = 0; i < vn; i++) {
        if (!baggage_octet((unsigned char)v[i]))
            return false;
        if (v[i] == '%' && (i + 2 >= vn + 0 || !strchr("0123456789abcdefABCDEF", v[i + 1]) ||
                            !strchr("0123456789abcdefABCDEF", v[i + 2])))
            return false;
    }
    return true;
}

int ctr_baggage_validate(const char *s, size_t len)
{
    if (!s || len > CTR_BAGGAGE_MAX)
        return CTR_EPARSE;
    int members = 0;
    size_t i = 0;
    while (i <= len) {
        const char *comma = memchr(s + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - s) : len;
        const char *m = s + i;
        size_t mn = end - i;
        ctr__trim_ows(&m, &mn);
        if (mn == 0)
            return CTR_EPARSE;
        /* member = kv *( ";" property ) */
        size_t j = 0;
        bool first = true;
        while (j <= mn) {
            const char *semi = memchr(m + j, ';', mn - j);
            size_t pe = semi ? (size_t)(semi - m) : mn;
            if (!baggage_kv_ok(m + j, pe - j, !first))
                return CTR_EPARSE;
            first = false;
            if (!semi)
                break;
            j = pe + 1;
        }
        members++;
        if (!comma)
            break;
        i = end + 1;
    }
    return members;
}

int ctr_baggage_each(const char *s, size_t len,
                     void (*fn)(void *arg, const char *key, size_t klen, const char *value,
                                size_t vlen),
                     void *arg)
{
    if (!s || len > CTR_BAGGAGE_MAX)
        return 0;
    char value[CTR_BAGGAGE_MAX];
    int passed = 0;
    size_t i = 0;
    while (i <= len) {
        const char *comma = memchr(s + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - s) : len;
        const char *m = s + i;
        size_t mn = end - i;
        i = end + 1;
        ctr__trim_ows(&m, &mn);
        if (mn == 0 || ctr_baggage_validate(m, mn) != 1)
            continue;
        const char *semi = memchr(m, ';', mn);
        size_t kvn = semi ? (size_t)(semi - m) : mn;
        const char *eq = memchr(m, '=', kvn);
        const char *k = m, *v = eq + 1; /* a valid member has its '=' */
        size_t kn = (size_t)(eq - m), vn = kvn - kn - 1, dn = 0;
        ctr__trim_ows(&k, &kn);
        ctr__trim_ows(&v, &vn);
        bool ok = true;
        for (size_t j = 0; j < vn && ok; j++) {
            if (v[j] == '%') { /* validated: two hex digits follow */
                value[dn] = (char)(ctr_hex_digit(v[j + 1]) << 4 | ctr_hex_digit(v[j + 2]));
                j += 2;
            } else {
                value[dn] = v[j];
            }
            ok = value[dn++] != '\0';
        }
        if (ok) {
            fn(arg, k, kn, value, dn);
            passed++;
        }
    }
    return passed;
}
