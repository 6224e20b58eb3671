/*
 * Pieces of the Jaeger thrift encoder (jaeger_thrift.c) that the Jaeger agent
 * exporter assembles itself, so that it can split a batch across datagrams
 * and cut down a span that does not fit alone.
 *
 * An agent message is
 *
 *   head:  message header (oneway "emitBatch", seqid)
 *          emitBatch_args { 1: Batch {
 *              1: Process (pre-encoded bytes)
 *              2: list<Span> header (n spans)
 *   spans: n Span structs, each pre-encoded on its own (a struct inside a list
 *          starts its own field-id context, so the bytes do not depend on
 *          their position)
 *   tail:      3: seqNo (i64, the seqid again)
 *          } stop } stop
 *
 * The sizes of head and tail are known exactly, which is what lets the
 * exporter fill a datagram span by span.
 */
#ifndef CTR_ENCODE_JAEGER_THRIFT_H
#define CTR_ENCODE_JAEGER_THRIFT_H

#include "chaostracing/encode.h"

/*
 * How to shrink a span (or the process) that does not fit in one datagram.
 * The "none" cut (ctr__jaeger_cut_none) encodes everything as it is.
 */
struct ctr__jaeger_cut {
    bool drop_logs;     /* leave every event out */
    size_t max_value;   /* string, binary and JSON-array tag values longer than
                           this many bytes are truncated (UTF-8 safe); the
                           operation / service name to max(max_value,
                           CTR__JAEGER_NAME_MIN); SIZE_MAX = no cap */
    uint32_t max_attrs; /* keep the first max_attrs attributes; UINT32_MAX = all */
    bool mark;          /* add the tags that say the span was cut down */
};

/* Names are never cut below this many bytes. */
#define CTR__JAEGER_NAME_MIN 128

/*
 * Tags added to a span (or the process) that was cut down to fit a datagram:
 *   chaostracing.truncated = true (BOOL), always;
 *   chaostracing.dropped_logs = N (LONG), when N > 0 events were left out;
 *   chaostracing.dropped_tags = N (LONG), when N > 0 attributes were left out.
 */
#define CTR__JAEGER_TAG_TRUNCATED "chaostracing.truncated"
#define CTR__JAEGER_TAG_DROPPED_LOGS "chaostracing.dropped_logs"
#define CTR__JAEGER_TAG_DROPPED_TAGS "chaostracing.dropped_tags"

/* A cut that changes nothing. */
void ctr__jaeger_cut_none(struct ctr__jaeger_cut *c);

/*
 * Append span `s` as a Span struct (its fields and its stop byte). `scratch`
 * is working space for JSON-array values (reset and reused; the caller frees
 * it). Returns 0 or CTR_ENOMEM (also sticky in b->err).
 */
int ctr__jaeger_put_span(struct ctr_buf *b, struct ctr_buf *scratch, const struct ctr_span *s,
                         const struct ctr_scope *scope, const struct ctr__jaeger_cut *cut);

/*
 * Append the Process struct for `r`: serviceName from the string attribute
 * service.name ("unknown_service" without one), every other resource
 * attribute as a tag. Returns 0 or CTR_ENOMEM.
 */
int ctr__jaeger_put_process(struct ctr_buf *b, struct ctr_buf *scratch,
                            const struct ctr_resource *r, const struct ctr__jaeger_cut *cut);

/* Longest value (in bytes) a cut could shorten in span `s` / resource `r`:
 * names, string/binary attribute values, the status description and
 * JSON-array values (estimated from above). */
size_t ctr__jaeger_span_longest_value(const struct ctr_span *s);
size_t ctr__jaeger_process_longest_value(const struct ctr_resource *r);

/* Append the head of a message with sequence id `seq`, the encoded process
 * `process` (`plen` bytes) and the header of a list of `n_spans` spans. */
void ctr__jaeger_put_head(struct ctr_buf *b, int32_t seq, const uint8_t *process, size_t plen,
                          uint32_t n_spans);
/* Exact size of that head. */
size_t ctr__jaeger_head_size(int32_t seq, size_t plen, uint32_t n_spans);
/* Append the tail (seqNo, then the stops of Batch and of the arguments). */
void ctr__jaeger_put_tail(struct ctr_buf *b, int32_t seq);
/* Exact size of that tail. */
size_t ctr__jaeger_tail_size(int32_t seq);

#endif
