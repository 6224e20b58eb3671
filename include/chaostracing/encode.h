/*
 * chaostracing: wire encoders. Encoders know nothing of transports: each
 * turns a batch of ended spans into bytes appended to a ctr_buf.
 */
#ifndef CHAOSTRACING_ENCODE_H
#define CHAOSTRACING_ENCODE_H

#include "resource.h"

/* What an exporter receives: spans sharing one resource and scope. */
struct ctr_batch {
    const struct ctr_resource *resource;
    const struct ctr_scope *scope;
    struct ctr_span *const *spans;
    size_t len;
};

/*
 * Append an OTLP ExportTraceServiceRequest in protobuf binary form.
 * Returns 0, CTR_ENOMEM, or CTR_EINVAL for an empty batch.
 */
int ctr_otlp_proto_encode(const struct ctr_batch *batch, struct ctr_buf *out);

/*
 * Append an OTLP ExportTraceServiceRequest in OTLP JSON form (lowerCamelCase
 * keys, hex ids, enums as integers, 64-bit integers as decimal strings,
 * bytes as base64) on a single line, without a trailing newline.
 * Returns 0, CTR_ENOMEM or CTR_EINVAL.
 */
int ctr_otlp_json_encode(const struct ctr_batch *batch, struct ctr_buf *out);

/*
 * Decode an ExportTraceServiceResponse body and report its partial_success:
 * *rejected gets rejected_spans, `msg` (NUL-terminated, may be truncated) the
 * error_message. An empty body is a full success. Returns 0 or CTR_EPARSE.
 */
int ctr_otlp_proto_decode_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                                   size_t msg_size);

/* JSON helpers shared by the JSON encoders: append `s` as a JSON string
 * literal with quotes, escaping as RFC 8259 requires and replacing invalid
 * UTF-8 with U+FFFD. */
void ctr_json_put_string(struct ctr_buf *b, const char *s, size_t len);

/*
 * Jaeger thrift compact: append one complete agent message
 * (emitBatch oneway call, seqid `seq_id`) for spans [0, batch->len) with the
 * resource's service.name as the process. Returns 0, CTR_ENOMEM or CTR_EINVAL.
 */
int ctr_jaeger_thrift_encode(const struct ctr_batch *batch, int32_t seq_id, struct ctr_buf *out);

/* Jaeger api_v2 PostSpansRequest in protobuf. */
int ctr_jaeger_proto_encode(const struct ctr_batch *batch, struct ctr_buf *out);

/* Zipkin v2 JSON: a JSON array of spans, with localEndpoint.serviceName from
 * the resource. */
int ctr_zipkin_json_encode(const struct ctr_batch *batch, struct ctr_buf *out);

#endif
