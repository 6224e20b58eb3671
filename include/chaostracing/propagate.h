/*
 * chaostracing: context propagation formats. Extraction is strict: a
 * malformed header yields CTR_EPARSE and no context, never a crash.
 */
#ifndef CHAOSTRACING_PROPAGATE_H
#define CHAOSTRACING_PROPAGATE_H

#include "span.h"

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

#endif
