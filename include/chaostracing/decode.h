/*
 * chaostracing: decoding OTLP JSON (one ExportTraceServiceRequest per line, as
 * the file exporter writes it) back into the library's model: resources,
 * scopes and spans, grouped into the same struct ctr_batch the encoders and
 * the renderer take.
 *
 * Accepted input: the OTLP JSON rules (lowerCamelCase keys, hex ids, enums as
 * integers, 64-bit integers as strings) and also what protobuf's generic JSON
 * mapping writes: base64 ids, enum names ("SPAN_KIND_CLIENT"), 64-bit
 * integers as numbers, doubles as numbers or "NaN"/"Infinity" strings,
 * "instrumentationLibrarySpans" (OTLP < 0.19). Unknown members are ignored,
 * as OTLP/JSON receivers must.
 *
 * Model decisions:
 * - kvlistValue has no counterpart in struct ctr_value, so a key-value list
 *   that is an attribute's value is flattened: {"k": {a: 1, b: {c: 2}}}
 *   becomes the attributes "k.a" = 1 and "k.b.c" = 2 (an empty list gives "k"
 *   with an empty value). A kvlistValue inside an arrayValue, which cannot be
 *   flattened, becomes a string holding its compact JSON text.
 * - Arrays inside arrays are kept as nested CTR_VALUE_ARRAY items, and an
 *   AnyValue without a known member as CTR_VALUE_EMPTY, so whatever the
 *   encoders write reads back to the same model.
 * - Span.flags gives the trace flags (low 8 bits) and the parent's remoteness
 *   (bits 8 and 9); other bits are not kept. Scope attributes and schema URLs
 *   are not kept.
 * - Strings are valid UTF-8: the JSON reader rejects ill-formed bytes and
 *   turns lone surrogate escapes into U+FFFD.
 * - No attribute, event or link limits apply: decoded data is kept whole.
 *
 * Inside a valid request, decoding is lenient where a viewer should be: a
 * span is skipped only when it is not an object or its traceId, spanId or
 * parentSpanId is not a valid id; an attribute, event or link that cannot
 * be read is dropped and added to the matching dropped count; any other
 * member of the wrong type or out of range (a time that is not a number, a
 * name that is not a string, an unknown enum name) is ignored as if absent.
 */
#ifndef CHAOSTRACING_DECODE_H
#define CHAOSTRACING_DECODE_H

#include "encode.h"

/* Default cap on the memory of one line's JSON tree (see max_tree_bytes). */
#define CTR_DECODE_TREE_LIMIT ((size_t)1 << 31)

/* Called for each span skipped as malformed: `span_no` is its 1-based
 * position among the spans of the line, `reason` a static text such as
 * "traceId is not 32 hex digits (or is all zero)". */
typedef void (*ctr_decode_skip_fn)(void *ud, size_t span_no, const char *reason);

/*
 * Spans decoded from any number of lines. Each ScopeSpans that yields spans
 * becomes one batch (resource, scope, spans) in input order; batches of one
 * ResourceSpans share its resource. Every span is a struct ctr_span with its
 * own arena, ended and recording, as the tracer makes them; resources and
 * scopes live in the container (do not ctr_resource_free() them). Everything
 * is owned by the container and freed by ctr_trace_data_free().
 */
struct ctr_trace_data {
    struct ctr_batch *batches;
    size_t n_batches;
    size_t n_spans;       /* in all batches */
    size_t spans_skipped; /* malformed spans left out */
    /* Settings, filled by ctr_trace_data_init() and changeable before the
     * first line. */
    ctr_decode_skip_fn on_skip; /* NULL: skipped spans are only counted */
    void *on_skip_ud;
    size_t max_tree_bytes; /* JSON tree memory for one line */
    /* Private. */
    size_t cap_batches;
    struct ctr_arena meta; /* resources, scopes, span pointer arrays */
    struct ctr_arena tree; /* the current line's JSON tree */
    struct ctr_buf scratch;
    struct ctr_attr *pending; /* attributes being collected */
    size_t n_pending, cap_pending;
};

/* Initialise an empty container. Cannot fail. */
void ctr_trace_data_init(struct ctr_trace_data *d);

/*
 * Decode one line (`len` bytes, no newline needed) and append its spans.
 * Returns:
 *   0                 an ExportTraceServiceRequest (possibly without spans,
 *                     e.g. "{}"); spans that are malformed are skipped,
 *                     counted and reported through on_skip;
 *   CTR_EFORMAT       valid JSON that is not a request: not an object, or a
 *                     non-empty object without "resourceSpans" (e.g. a Chaos
 *                     Toolkit journal); nothing appended;
 *   CTR_EPARSE        invalid JSON ("invalid JSON at column N: ...", N being
 *                     the 1-based byte offset in the line), or a request of
 *                     the wrong shape ("resourceSpans is not an array");
 *   CTR_ETOOBIG       the line's JSON tree needs more than max_tree_bytes;
 *   CTR_ENOMEM        out of memory; the line's spans are not appended.
 * On every error `err` (when not NULL) gets a NUL-terminated message; the
 * container stays valid and keeps the earlier lines' spans.
 */
int ctr_trace_data_append_line(struct ctr_trace_data *d, const char *line, size_t len, char *err,
                               size_t err_size);

/* Free every span, resource, scope and buffer; `d` can be initialised again. */
void ctr_trace_data_free(struct ctr_trace_data *d);

/* What a whole text is, for a reader that expected OTLP JSON lines. */
enum ctr_json_kind {
    CTR_JSON_NOT_JSON,       /* not exactly one JSON value */
    CTR_JSON_REQUEST,        /* an object with resourceSpans, or {} */
    CTR_JSON_CTK_JOURNAL,    /* a Chaos Toolkit journal: "experiment" with "run",
                                "steady_states" or "chaoslib-version" */
    CTR_JSON_CTK_EXPERIMENT, /* a Chaos Toolkit experiment: "title" with "method" or
                                "steady-state-hypothesis" */
    CTR_JSON_OTHER,          /* any other JSON value */
};

/*
 * Tell what the `len` bytes at `text` are (a whole file, say, whose lines
 * were not OTLP JSON requests), building at most `max_tree_bytes` of JSON
 * tree (0: CTR_DECODE_TREE_LIMIT). Returns 0 with *kind set, or CTR_ENOMEM
 * or CTR_ETOOBIG when the text cannot be looked at within that memory.
 */
int ctr_json_kind(const char *text, size_t len, size_t max_tree_bytes, enum ctr_json_kind *kind);

#endif
