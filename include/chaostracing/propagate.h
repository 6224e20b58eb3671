/*
 * chaostracing: context propagation formats. Extraction is strict: a
 * malformed header yields CTR_EPARSE and no context, never a crash.
 */
#ifndef CHAOSTRACING_PROPAGATE_H
#define CHAOSTRACING_PROPAGATE_H

#include "span.h"

/* Bit set of propagators, in OTEL_PROPAGATORS order of importance. */
enum {
    CTR_PROP_TRACECONTEXT = 1u << 0,
    CTR_PROP_BAGGAGE = 1u << 1,
    CTR_PROP_B3 = 1u << 2,
    CTR_PROP_B3MULTI = 1u << 3,
    CTR_PROP_JAEGER = 1u << 4,
    CTR_PROP_XRAY = 1u << 5,
    CTR_PROP_CLOUDTRACE = 1u << 6, /* X-Cloud-Trace-Context (otel_vendor gcp) */
};

#define CTR_TRACEPARENT_LEN 55
#define CTR_TRACESTATE_MAX 512
#define CTR_BAGGAGE_MAX 8192

/* Format "00-<trace>-<span>-<flags>" into `out` (at least 56 bytes). */
void ctr_traceparent_format(const struct ctr_span_context *ctx, char out[CTR_TRACEPARENT_LEN + 1]);

/*
 * Parse a W3C traceparent value (leading/trailing spaces allowed). Version
 * 00 must be exactly 55 chars; higher versions are parsed by position and may
 * carry more fields after '-'; version ff, upper-case hex and all-zero ids are
 * invalid. On success fills ids and flags, sets is_remote and clears
 * trace_state. Returns 0 or CTR_EPARSE.
 */
int ctr_traceparent_parse(const char *s, size_t len, struct ctr_span_context *out);

/*
 * Validate a tracestate value: at most 32 list members of key=value with the
 * W3C character rules. Returns the number of members, or CTR_EPARSE.
 */
int ctr_tracestate_validate(const char *s, size_t len);

/*
 * Validate a W3C baggage value: members "key=value(;property)*", keys are
 * tokens, values contain only baggage-octets or percent escapes, total length
 * at most CTR_BAGGAGE_MAX. Returns the member count or CTR_EPARSE.
 */
int ctr_baggage_validate(const char *s, size_t len);

/*
 * Baggage items (src/propagate/baggage.c). ctr_baggage_put() appends to `out`
 * the W3C baggage `base` (may be NULL; malformed members dropped) with the
 * member `key` set to `value`, percent-encoded, replacing a member of that
 * key. Returns 0, CTR_EINVAL (nothing appended) for a key that is not a
 * token or a result over CTR_BAGGAGE_MAX, or CTR_ENOMEM.
 */
int ctr_baggage_put(const char *base, const char *key, size_t klen, const char *value, size_t vlen,
                    struct ctr_buf *out);
/*
 * Call fn(arg, key, klen, value, vlen) for every valid member of a W3C
 * baggage value, in order: the key trimmed, the value trimmed and
 * percent-decoded (not NUL-terminated; may hold any byte but NUL),
 * properties left out. Malformed members, and members whose value decodes to
 * a NUL byte, are skipped. Returns the number of members passed to `fn`.
 */
int ctr_baggage_each(const char *s, size_t len,
                     void (*fn)(void *arg, const char *key, size_t klen, const char *value,
                                size_t vlen),
                     void *arg);

/* Formats. Parse functions accept exactly what the format allows and return
 * 0 or CTR_EPARSE; format functions write NUL-terminated text. */

/* B3 single header "{trace}-{span}[-{sampling}[-{parent}]]" or "0"/"1"/"d"
 * alone (a sampling decision without ids: CTR_EPARSE). */
int ctr_b3_parse(const char *s, size_t len, struct ctr_span_context *out);
void ctr_b3_format(const struct ctr_span_context *ctx, char out[64]);

/* Jaeger "{trace}:{span}:{parent}:{flags}" (ids left-padded, 0 invalid). */
int ctr_jaeger_parse(const char *s, size_t len, struct ctr_span_context *out);
void ctr_jaeger_format(const struct ctr_span_context *ctx, char out[80]);

/* AWS X-Ray "Root=1-{8}-{24};Parent={16};Sampled={0|1}" in any order. */
int ctr_xray_parse(const char *s, size_t len, struct ctr_span_context *out);
void ctr_xray_format(const struct ctr_span_context *ctx, char out[96]);

/* Google Cloud Trace "X-Cloud-Trace-Context: {32 hex}/{span id in
 * decimal}[;o={0|1}]": o=1 is sampled; without it the context is not. */
int ctr_cloudtrace_parse(const char *s, size_t len, struct ctr_span_context *out);
void ctr_cloudtrace_format(const struct ctr_span_context *ctx, char out[64]);

/*
 * A carrier: how propagators read and write headers (or environment
 * variables). `get` must match names case-insensitively for HTTP headers and
 * return NULL when absent; `set` replaces any existing value.
 */
struct ctr_carrier {
    const char *(*get)(void *ud, const char *name);
    void (*set)(void *ud, const char *name, const char *value);
    void *ud;
    /* Optional (NULL when the carrier cannot list its entries): call
     * fn(arg, name, value) for every entry. Needed to read prefixed baggage
     * headers such as Jaeger's uberctx-{key}. */
    void (*each)(void *ud, void (*fn)(void *arg, const char *name, const char *value), void *arg);
};

/* Which formats to use (CTR_PROP_* bits from config.h) and the Jaeger
 * header names (tracing_id_name, baggage_prefix). */
struct ctr_propagation {
    unsigned formats;
    char jaeger_trace_header[64];   /* default "uber-trace-id" */
    char jaeger_baggage_prefix[64]; /* default "uberctx-" */
};
void ctr_propagation_default(struct ctr_propagation *p, unsigned formats);

/*
 * Inject `ctx` (and `baggage`, W3C form, may be NULL) in every configured
 * format. Returns 0 or CTR_EINVAL for an invalid context.
 */
int ctr_propagation_inject(const struct ctr_propagation *p, const struct ctr_span_context *ctx,
                           const char *baggage, const struct ctr_carrier *c);
/*
 * Inject `baggage` (W3C form, may be NULL) alone, for a context that holds
 * no span: the W3C `baggage` header when that format is configured (its
 * malformed members dropped, within CTR_BAGGAGE_MAX and 180 members), as
 * OpenTelemetry's baggage propagator does; nothing else. Returns 0, or
 * CTR_EINVAL for a missing argument.
 */
int ctr_propagation_inject_baggage(const struct ctr_propagation *p, const char *baggage,
                                   const struct ctr_carrier *c);

/*
 * Extract a remote context: formats are tried in order (tracecontext, b3,
 * b3multi, jaeger, xray, cloudtrace), the first valid one wins; a malformed header is
 * ignored. tracestate (W3C only) is copied into `ts_buf`, baggage (W3C and
 * Jaeger's prefixed headers, merged into W3C form) into `bag_buf`; both are
 * set to "" when absent. Returns 0 or CTR_EPARSE when no valid context.
 */
int ctr_propagation_extract(const struct ctr_propagation *p, const struct ctr_carrier *c,
                            struct ctr_span_context *out, char *ts_buf, size_t ts_size,
                            char *bag_buf, size_t bag_size);

/*
 * The environment carrier (src/propagate/env_carrier.c). Header "x-b3-traceid"
 * travels as variable X_B3_TRACEID: ctr_env_var_name() writes that name into
 * `out` (0, or CTR_EINVAL when empty or longer than `size` - 1).
 */
int ctr_env_var_name(const char *header, char *out, size_t size);
/* A carrier reading the process environment (get only; empty = unset). */
void ctr_carrier_env(struct ctr_carrier *c);
/*
 * Extract the context a parent process passed in the environment (a CI
 * pipeline's trace), trying W3C tracecontext and baggage besides the formats
 * of `p`. Fills the outputs as ctr_propagation_extract() does. Returns 0, or
 * CTR_EPARSE when there is no valid context (a malformed TRACEPARENT is
 * logged as a WARNING).
 */
int ctr_propagation_extract_env(const struct ctr_propagation *p, struct ctr_span_context *out,
                                char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size);

#endif
