/*
 * Inject and extract span contexts and baggage through a carrier (HTTP
 * headers or environment variables), in every format OTEL_PROPAGATORS can
 * name: tracecontext, baggage, b3, b3multi, jaeger and xray; and Google
 * Cloud's X-Cloud-Trace-Context, which otel_vendor gcp turns on.
 *
 * Extraction reads each header once, validates it strictly and ignores it
 * when malformed; a carrier's value pointers are used only until the next
 * call to `get`. Injection writes only values the library formatted or
 * validated, so no header can carry CR, LF or other control bytes.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "propagate/internal.h"

#define JAEGER_DEFAULT_HEADER "uber-trace-id"
#define JAEGER_DEFAULT_PREFIX "uberctx-"
#define XRAY_HEADER "X-Amzn-Trace-Id"
#define CLOUDTRACE_HEADER "X-Cloud-Trace-Context"
/* The W3C baggage ABNF allows 180 list-members. */
#define BAGGAGE_MAX_MEMBERS 180
/* W3C trace-context: when tracestate must be truncated, entries longer than
 * this go first. */
#define TRACESTATE_LONG_MEMBER 128

/*
 * Names and values of every entry of a carrier. `struct ctr_carrier` cannot
 * list its names yet, and Jaeger's baggage lives in headers whose names are
 * only known by prefix ("uberctx-{key}"); carriers that can list pass this
 * through ctr__propagation_extract_each().
 */
typedef void (*ctr__carrier_pair_fn)(void *arg, const char *name, const char *value);
typedef void (*ctr__carrier_each_fn)(void *ud, ctr__carrier_pair_fn fn, void *arg);
int ctr__propagation_extract_each(const struct ctr_propagation *p, const struct ctr_carrier *c,
                                  ctr__carrier_each_fn each, struct ctr_span_context *out,
                                  char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size);

/* Copy a default name into a fixed field. */
static void set_name(char dst[64], const char *src)
{
    size_t n = strlen(src);
    memcpy(dst, src, n + 1);
}

/* Fill `p` with `formats` and the Jaeger default header names. */
void ctr_propagation_default(struct ctr_propagation *p, unsigned formats)
{
    memset(p, 0, sizeof *p);
    p->formats = formats;
    set_name(p->jaeger_trace_header, JAEGER_DEFAULT_HEADER);
    set_name(p->jaeger_baggage_prefix, JAEGER_DEFAULT_PREFIX);
}

/* A configured name, or `dflt` when the field is empty or not terminated. */
static const char *name_or(const char field[64], const char *dflt)
{
    size_t n = strnlen(field, 64);
    return (n == 0 || n == 64) ? dflt : field;
}

/* Next ','-separated member of s[*pos..len), trimmed; false at the end.
 * Empty members are returned as empty. */
static bool next_member(const char *s, size_t len, size_t *pos, const char **m, size_t *mn)
{
    if (*pos > len)
        return false;
    const char *comma = memchr(s + *pos, ',', len - *pos);
    size_t end = comma ? (size_t)(comma - s) : len;
    *m = s + *pos;
    *mn = end - *pos;
    *pos = end + 1;
    ctr__trim_ows(m, mn);
    return true;
}

/* ---- baggage ------------------------------------------------------------ */

/* A W3C baggage string being built in a caller's buffer. */
struct bag {
    char *buf;
    size_t cap; /* bytes usable, excluding the NUL */
    size_t len;
    int members;
};

static void bag_init(struct bag *b, char *buf, size_t size)
{
    b->buf = buf;
    b->len = 0;
    b->members = 0;
    b->cap = size ? size - 1 : 0;
    if (b->cap > CTR_BAGGAGE_MAX)
        b->cap = CTR_BAGGAGE_MAX;
    if (buf && size)
        buf[0] = '\0';
}

/* Append one whole member if it fits (never a part of one); false if not. */
static bool bag_add(struct bag *b, const char *m, size_t mn)
{
    size_t need = mn + (b->len ? 1 : 0);
    if (!b->buf || b->members >= BAGGAGE_MAX_MEMBERS || need > b->cap - b->len)
        return false;
    if (b->len)
        b->buf[b->len++] = ',';
    memcpy(b->buf + b->len, m, mn);
    b->len += mn;
    b->buf[b->len] = '\0';
    b->members++;
    return true;
}

/* The trimmed key of a baggage member. */
static void member_key(const char *m, size_t mn, const char **k, size_t *kn)
{
    const char *eq = memchr(m, '=', mn);
    *k = m;
    *kn = eq ? (size_t)(eq - m) : mn;
    ctr__trim_ows(k, kn);
}

/* True when the baggage being built has a member with key k. */
static bool bag_has_key(const struct bag *b, const char *k, size_t kn)
{
    size_t pos = 0;
    const char *m, *mk;
    size_t mn, mkn;
    while (b->len && next_member(b->buf, b->len, &pos, &m, &mn)) {
        member_key(m, mn, &mk, &mkn);
        if (mkn == kn && memcmp(mk, k, kn) == 0)
            return true;
    }
    return false;
}

/*
 * Append the valid members of a W3C baggage value, each trimmed: malformed
 * members are dropped (w3c/baggage allows removing them), empty ones
 * skipped, and members that would overflow the buffer, CTR_BAGGAGE_MAX or
 * 180 members are left out whole. Returns the number of members added.
 */
static int bag_add_w3c(struct bag *b, const char *s, size_t len)
{
    int added = 0;
    size_t pos = 0;
    const char *m;
    size_t mn;
    while (next_member(s, len, &pos, &m, &mn))
        if (mn && ctr_baggage_validate(m, mn) == 1 && bag_add(b, m, mn))
            added++;
    return added;
}

/* State for collecting Jaeger's prefixed baggage headers. */
struct jaeger_bag {
    struct bag *bag;
    const char *prefix;
    size_t prefix_len;
    char *scratch; /* CTR_BAGGAGE_MAX + 1 bytes */
};

/*
 * One carrier entry: when its name starts with the Jaeger baggage prefix
 * (case-insensitively) and the rest is a token, its value is URL-decoded,
 * trimmed, re-encoded with W3C percent escapes and added as "key=value"
 * unless the key is already present (W3C wins, then the first header). A
 * value with a bad '%' escape is skipped.
 */
static void jaeger_bag_pair(void *arg, const char *name, const char *value)
{
    struct jaeger_bag *j = arg;
    if (!name || !value || strncasecmp(name, j->prefix, j->prefix_len) != 0)
        return;
    const char *k = name + j->prefix_len;
    size_t kn = strlen(k);
    if (kn == 0 || kn > CTR_BAGGAGE_MAX)
        return;
    for (size_t i = 0; i < kn; i++)
        if (!ctr__tchar((unsigned char)k[i]))
            return;
    if (bag_has_key(j->bag, k, kn))
        return;

    /* URL-decode the value, then write "key=value" with W3C escapes. */
    size_t vn = strlen(value);
    const char *v = value;
    ctr__trim_ows(&v, &vn);
    char dec[CTR_BAGGAGE_MAX];
    long dl = ctr__pct_decode(v, vn, dec, sizeof dec);
    if (dl < 0)
        return;
    const char *d = dec;
    size_t dn = (size_t)dl;
    ctr__trim_ows(&d, &dn);
    char *out = j->scratch;
    memcpy(out, k, kn);
    out[kn] = '=';
    long en = ctr__pct_encode(d, dn, out + kn + 1, CTR_BAGGAGE_MAX - kn - 1);
    if (en < 0)
        return;
    size_t on = kn + 1 + (size_t)en;
    bag_add(j->bag, out, on);
}

/* ---- tracestate --------------------------------------------------------- */

/*
 * Copy a tracestate value into `buf` as trimmed members joined by ','. When
 * the whole does not fit, members longer than 128 characters are dropped
 * first, then members from the end (W3C trace-context truncation). An
 * invalid value yields "". Returns the length written.
 */
static size_t tracestate_copy(const char *s, size_t len, char *buf, size_t size)
{
    if (!buf || !size)
        return 0;
    buf[0] = '\0';
    if (ctr_tracestate_validate(s, len) <= 0)
        return 0;
    size_t total = 0, pos = 0, mn;
    const char *m;
    int n = 0;
    while (next_member(s, len, &pos, &m, &mn))
        if (mn)
            total += mn + (n++ ? 1 : 0);
    bool drop_long = total > size - 1;
    size_t out = 0;
    pos = 0;
    while (next_member(s, len, &pos, &m, &mn)) {
        if (!mn || (drop_long && mn > TRACESTATE_LONG_MEMBER))
            continue;
        size_t need = mn + (out ? 1 : 0);
        if (need > size - 1 - out)
            break;
        if (out)
            buf[out++] = ',';
        memcpy(buf + out, m, mn);
        out += mn;
    }
    buf[out] = '\0';
    return out;
}

/* ---- extraction --------------------------------------------------------- */

/* A carrier value with its length, or NULL. */
static const char *get(const struct ctr_carrier *c, const char *name, size_t *len)
{
    const char *v = c->get ? c->get(c->ud, name) : NULL;
    *len = v ? strlen(v) : 0;
    return v;
}

/*
 * Read one X-B3-* header into `dst` (trimmed, NUL-terminated) when it has
 * one of the lengths allowed and no '-'. Returns 1 when copied, 0 when
 * absent, -1 when malformed.
 */
static int b3_header(const struct ctr_carrier *c, const char *name, char *dst, size_t want_a,
                     size_t want_b)
{
    size_t n;
    const char *v = get(c, name, &n);
    if (!v)
        return 0;
    ctr__trim_ows(&v, &n);
    if ((n != want_a && n != want_b) || memchr(v, '-', n))
        return -1;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 1;
}

/*
 * The B3 multi-header form: X-B3-TraceId and X-B3-SpanId are required,
 * X-B3-Sampled is "1"/"0" (or the legacy "true"/"false" the B3 README lets
 * a lenient reader accept), X-B3-Flags "1" is debug and implies sampled. Any
 * malformed header invalidates the whole. The headers are rewritten as one
 * B3 single value and parsed by ctr_b3_parse().
 */
static int extract_b3_multi(const struct ctr_carrier *c, struct ctr_span_context *out)
{
    char tid[33], sid[17], single[64];
    if (b3_header(c, "X-B3-TraceId", tid, 16, 32) != 1 ||
        b3_header(c, "X-B3-SpanId", sid, 16, 16) != 1)
        return CTR_EPARSE;
    size_t n;
    char sampling = 0;
    const char *v = get(c, "X-B3-Sampled", &n);
    if (v) {
        ctr__trim_ows(&v, &n);
        if ((n == 1 && v[0] == '1') || (n == 4 && memcmp(v, "true", 4) == 0))
            sampling = '1';
        else if ((n == 1 && v[0] == '0') || (n == 5 && memcmp(v, "false", 5) == 0))
            sampling = '0';
        else
            return CTR_EPARSE;
    }
    v = get(c, "X-B3-Flags", &n);
    if (v) {
        ctr__trim_ows(&v, &n);
        if (n == 1 && v[0] == '1')
            sampling = 'd';
        else if (!(n == 1 && v[0] == '0'))
            return CTR_EPARSE;
    }
    size_t tn = strlen(tid), len = 0;
    memcpy(single, tid, tn);
    len = tn;
    single[len++] = '-';
    memcpy(single + len, sid, 16);
    len += 16;
    if (sampling) {
        single[len++] = '-';
        single[len++] = sampling;
    }
    return ctr_b3_parse(single, len, out);
}

/* Try each enabled format in order; 0 with `out` set by the first valid one,
 * or CTR_EPARSE. Fills ts_buf from tracestate when tracecontext wins. */
static int extract_context(const struct ctr_propagation *p, const struct ctr_carrier *c,
                           struct ctr_span_context *out, char *ts_buf, size_t ts_size)
{
    struct ctr_span_context ctx;
    size_t n;
    const char *v;
    if (p->formats & CTR_PROP_TRACECONTEXT) {
        v = get(c, "traceparent", &n);
        if (v && ctr_traceparent_parse(v, n, &ctx) == 0) {
            v = get(c, "tracestate", &n);
            size_t tn = v ? tracestate_copy(v, n, ts_buf, ts_size) : 0;
            if (tn)
                ctx.trace_state = (struct ctr_str){ts_buf, tn};
            *out = ctx;
            return 0;
        }
    }
    if (p->formats & (CTR_PROP_B3 | CTR_PROP_B3MULTI)) {
        v = get(c, "b3", &n);
        if ((v && ctr_b3_parse(v, n, &ctx) == 0) || extract_b3_multi(c, &ctx) == 0) {
            *out = ctx;
            return 0;
        }
    }
    if (p->formats & CTR_PROP_JAEGER) {
        v = get(c, name_or(p->jaeger_trace_header, JAEGER_DEFAULT_HEADER), &n);
        if (v && ctr_jaeger_parse(v, n, &ctx) == 0) {
            *out = ctx;
            return 0;
        }
    }
    if (p->formats & CTR_PROP_XRAY) {
        v = get(c, XRAY_HEADER, &n);
        if (v && ctr_xray_parse(v, n, &ctx) == 0) {
            *out = ctx;
            return 0;
        }
    }
    if (p->formats & CTR_PROP_CLOUDTRACE) {
        v = get(c, CLOUDTRACE_HEADER, &n);
        if (v && ctr_cloudtrace_parse(v, n, &ctx) == 0) {
            *out = ctx;
            return 0;
        }
    }
    return CTR_EPARSE;
}

/*
 * Extract as ctr_propagation_extract() does, reading Jaeger's prefixed
 * baggage headers through `each` (NULL when the carrier cannot list its
 * entries). Same returns and ownership.
 */
int ctr__propagation_extract_each(const struct ctr_propagation *p, const struct ctr_carrier *c,
                                  ctr__carrier_each_fn each, struct ctr_span_context *out,
                                  char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size)
{
    if (ts_buf && ts_size)
        ts_buf[0] = '\0';
    struct bag bag;
    bag_init(&bag, bag_buf, bag_size);
    if (!p || !c || !out)
        return CTR_EPARSE;

    int rc = extract_context(p, c, out, ts_buf, ts_size);

    /* Baggage is independent of the span context. W3C members go first, so
     * they win over Jaeger's on a duplicate key. A header over the W3C size
     * is ignored whole, as the official propagators do. */
    size_t n;
    const char *v;
    if ((p->formats & CTR_PROP_BAGGAGE) && (v = get(c, "baggage", &n)) && n <= CTR_BAGGAGE_MAX)
        bag_add_w3c(&bag, v, n);
    if ((p->formats & CTR_PROP_JAEGER) && each && bag.buf) {
        char *scratch = malloc(CTR_BAGGAGE_MAX + 1);
        if (scratch) {
            const char *prefix = name_or(p->jaeger_baggage_prefix, JAEGER_DEFAULT_PREFIX);
            struct jaeger_bag j = {&bag, prefix, strlen(prefix), scratch};
            each(c->ud, jaeger_bag_pair, &j);
            free(scratch);
        } else {
            ctr_log(CTR_LOG_WARNING, "out of memory: Jaeger baggage headers not extracted");
        }
    }
    return rc;
}

/*
 * Extract a remote context and baggage (see propagate.h). The span
 * context's trace_state points into `ts_buf` when non-empty. Returns 0 or
 * CTR_EPARSE; `out` is untouched on CTR_EPARSE.
 */
int ctr_propagation_extract(const struct ctr_propagation *p, const struct ctr_carrier *c,
                            struct ctr_span_context *out, char *ts_buf, size_t ts_size,
                            char *bag_buf, size_t bag_size)
{
    return ctr__propagation_extract_each(p, c, c ? c->each : NULL, out, ts_buf, ts_size, bag_buf,
                                         bag_size);
}

/* ---- injection ---------------------------------------------------------- */

/*
 * Set "{prefix}{key}" = value for each member of a (filtered) W3C baggage
 * string, properties left out. Values stay percent-encoded, which is also
 * how Jaeger carries them.
 */
static void inject_jaeger_baggage(const char *prefix, const char *bag, size_t len,
                                  const struct ctr_carrier *c)
{
    size_t pn = strlen(prefix);
    char *name = malloc(pn + len + 1), *val = malloc(len + 1);
    if (!name || !val) {
        ctr_log(CTR_LOG_WARNING, "out of memory: Jaeger baggage headers not injected");
        free(name);
        free(val);
        return;
    }
    memcpy(name, prefix, pn);
    size_t pos = 0, mn;
    const char *m;
    while (next_member(bag, len, &pos, &m, &mn)) {
        const char *semi = memchr(m, ';', mn);
        size_t kvn = semi ? (size_t)(semi - m) : mn;
        const char *eq = memchr(m, '=', kvn);
        if (!eq)
            continue;
        const char *k = m, *v = eq + 1;
        size_t kn = (size_t)(eq - m), vn = kvn - kn - 1;
        ctr__trim_ows(&k, &kn);
        ctr__trim_ows(&v, &vn);
        memcpy(name + pn, k, kn);
        name[pn + kn] = '\0';
        memcpy(val, v, vn);
        val[vn] = '\0';
        c->set(c->ud, name, val);
    }
    free(name);
    free(val);
}

/* The W3C `baggage` header, when that format is on and members are left. */
static void inject_w3c_baggage(const struct ctr_propagation *p, const struct bag *bag,
                               const struct ctr_carrier *c)
{
    if ((p->formats & CTR_PROP_BAGGAGE) && bag->len)
        c->set(c->ud, "baggage", bag->buf);
}

/*
 * Baggage without a span context (see propagate.h): only the W3C baggage
 * format is independent of the span; Jaeger's uberctx-* headers and the
 * other formats travel with a span context or not at all.
 */
int ctr_propagation_inject_baggage(const struct ctr_propagation *p, const char *baggage,
                                   const struct ctr_carrier *c)
{
    if (!p || !c || !c->set)
        return CTR_EINVAL;
    char bagbuf[CTR_BAGGAGE_MAX + 1];
    struct bag bag;
    bag_init(&bag, bagbuf, sizeof bagbuf);
    if (baggage && (p->formats & CTR_PROP_BAGGAGE))
        bag_add_w3c(&bag, baggage, strlen(baggage));
    inject_w3c_baggage(p, &bag, c);
    return 0;
}

/*
 * Inject `ctx` and `baggage` in every format of p->formats (see
 * propagate.h). tracestate is written only when valid; baggage is written
 * with its malformed members dropped and within CTR_BAGGAGE_MAX and 180
 * members. Returns 0, or CTR_EINVAL (nothing written) for an invalid
 * context or missing argument.
 */
int ctr_propagation_inject(const struct ctr_propagation *p, const struct ctr_span_context *ctx,
                           const char *baggage, const struct ctr_carrier *c)
{
    if (!p || !ctx || !c || !c->set || !ctr_span_context_is_valid(ctx))
        return CTR_EINVAL;

    if (p->formats & CTR_PROP_TRACECONTEXT) {
        char tp[CTR_TRACEPARENT_LEN + 1];
        ctr_traceparent_format(ctx, tp);
        c->set(c->ud, "traceparent", tp);
        const struct ctr_str *ts = &ctx->trace_state;
        if (ts->ptr && ts->len && ctr_tracestate_validate(ts->ptr, ts->len) > 0) {
            char *copy = malloc(ts->len + 1);
            if (copy) {
                memcpy(copy, ts->ptr, ts->len);
                copy[ts->len] = '\0';
                c->set(c->ud, "tracestate", copy);
                free(copy);
            } else {
                ctr_log(CTR_LOG_WARNING, "out of memory: tracestate not injected");
            }
        }
    }

    char bagbuf[CTR_BAGGAGE_MAX + 1];
    struct bag bag;
    bag_init(&bag, bagbuf, sizeof bagbuf);
    if (baggage && (p->formats & (CTR_PROP_BAGGAGE | CTR_PROP_JAEGER)))
        bag_add_w3c(&bag, baggage, strlen(baggage));
    inject_w3c_baggage(p, &bag, c);

    if (p->formats & CTR_PROP_B3) {
        char b3[64];
        ctr_b3_format(ctx, b3);
        c->set(c->ud, "b3", b3);
    }
    if (p->formats & CTR_PROP_B3MULTI) {
        char tid[2 * CTR_TRACE_ID_LEN + 1], sid[2 * CTR_SPAN_ID_LEN + 1];
        ctr_hex_encode(ctx->trace_id, CTR_TRACE_ID_LEN, tid);
        ctr_hex_encode(ctx->span_id, CTR_SPAN_ID_LEN, sid);
        c->set(c->ud, "X-B3-TraceId", tid);
        c->set(c->ud, "X-B3-SpanId", sid);
        c->set(c->ud, "X-B3-Sampled", (ctx->trace_flags & CTR_TRACE_FLAG_SAMPLED) ? "1" : "0");
    }
    if (p->formats & CTR_PROP_JAEGER) {
        char j[80];
        ctr_jaeger_format(ctx, j);
        c->set(c->ud, name_or(p->jaeger_trace_header, JAEGER_DEFAULT_HEADER), j);
        if (bag.len)
            inject_jaeger_baggage(name_or(p->jaeger_baggage_prefix, JAEGER_DEFAULT_PREFIX), bag.buf,
                                  bag.len, c);
    }
    if (p->formats & CTR_PROP_XRAY) {
        char x[96];
        ctr_xray_format(ctx, x);
        c->set(c->ud, XRAY_HEADER, x);
    }
    if (p->formats & CTR_PROP_CLOUDTRACE) {
        char g[64];
        ctr_cloudtrace_format(ctx, g);
        c->set(c->ud, CLOUDTRACE_HEADER, g);
    }
    return 0;
}
