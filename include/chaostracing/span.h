/*
 * chaostracing: the span model, as OTLP has it.
 *
 * A span owns every byte it references through its arena: strings set on it
 * are copied at the call, so callers (the Python binding among them) may free
 * their own copies at once. Before ctr_span_end() a span belongs to the one
 * caller that started it and is not thread-safe; ctr_span_end() hands it to
 * the tracer's processor and the caller must not touch it again.
 */
#ifndef CHAOSTRACING_SPAN_H
#define CHAOSTRACING_SPAN_H

#include "common.h"

#define CTR_TRACE_ID_LEN 16
#define CTR_SPAN_ID_LEN 8
#define CTR_TRACE_FLAG_SAMPLED 0x01
#define CTR_TRACE_FLAG_RANDOM 0x02
/* OTLP Span.flags bits above the W3C trace flags. */
#define CTR_SPAN_FLAG_HAS_IS_REMOTE 0x100
#define CTR_SPAN_FLAG_IS_REMOTE 0x200

typedef enum {
    CTR_KIND_UNSPECIFIED = 0,
    CTR_KIND_INTERNAL = 1,
    CTR_KIND_SERVER = 2,
    CTR_KIND_CLIENT = 3,
    CTR_KIND_PRODUCER = 4,
    CTR_KIND_CONSUMER = 5,
} ctr_span_kind;

typedef enum {
    CTR_STATUS_UNSET = 0,
    CTR_STATUS_OK = 1,
    CTR_STATUS_ERROR = 2,
} ctr_status_code;

typedef enum {
    CTR_VALUE_EMPTY = 0,
    CTR_VALUE_STRING,
    CTR_VALUE_BOOL,
    CTR_VALUE_INT,
    CTR_VALUE_DOUBLE,
    CTR_VALUE_BYTES,
    CTR_VALUE_ARRAY, /* homogeneous array of primitive values */
} ctr_value_type;

/* A typed attribute value. STRING and BYTES use `s`; ARRAY uses `array`,
 * whose items are never arrays themselves. Strings are UTF-8. */
struct ctr_value {
    ctr_value_type type;
    union {
        struct ctr_str s;
        bool b;
        int64_t i;
        double d;
        struct {
            struct ctr_value *items;
            size_t len;
        } array;
    } u;
};

struct ctr_attr {
    struct ctr_str key;
    struct ctr_value value;
};

/* An attribute list with the count of attributes dropped by limits. */
struct ctr_attr_list {
    struct ctr_attr *items;
    uint32_t len;
    uint32_t cap;
    uint32_t dropped;
};

/* The propagated part of a span. `trace_state` is borrowed in contexts built
 * by callers and arena-owned in contexts stored in spans. */
struct ctr_span_context {
    uint8_t trace_id[CTR_TRACE_ID_LEN];
    uint8_t span_id[CTR_SPAN_ID_LEN];
    uint8_t trace_flags;
    bool is_remote;
    struct ctr_str trace_state;
};

/* True when both ids are non-zero. */
bool ctr_span_context_is_valid(const struct ctr_span_context *ctx);

struct ctr_event {
    uint64_t time_ns;
    struct ctr_str name;
    struct ctr_attr_list attrs;
};

struct ctr_link {
    struct ctr_span_context ctx;
    struct ctr_attr_list attrs;
};

/* Limits from OTEL_*_LIMIT. UINT32_MAX means unlimited. */
struct ctr_limits {
    uint32_t attr_count;
    uint32_t attr_value_len; /* in Unicode characters */
    uint32_t event_count;
    uint32_t link_count;
    uint32_t event_attr_count;
    uint32_t link_attr_count;
};
/* The spec defaults: 128 everywhere, unlimited value length. */
void ctr_limits_default(struct ctr_limits *l);

/*
 * Set or replace `key` in `list`, deep-copying key and value into `arena`.
 * Applies the count limit `max_count` (a new key past it is dropped and
 * counted) and truncates strings (and string array items) to `max_value_len`
 * characters without splitting a UTF-8 sequence. Invalid UTF-8 in strings is
 * replaced by U+FFFD. Returns 0, CTR_EINVAL (empty key or bad value type; the
 * attribute is counted as dropped) or CTR_ENOMEM.
 */
int ctr_attr_list_set(struct ctr_attr_list *list, struct ctr_arena *arena,
                      const struct ctr_attr *attr, uint32_t max_count, uint32_t max_value_len);
/* Find an attribute by key; NULL when absent. */
const struct ctr_attr *ctr_attr_list_get(const struct ctr_attr_list *list, const char *key,
                                         size_t klen);

/*
 * Attributes gathered before there is a span to put them on (an event's
 * attributes, say): the same copies, UTF-8 repair and value checks as span
 * attributes, in an arena of its own and through no sampler. No count or
 * length limit applies here; the span applies its own when they are copied
 * in. Initialise with {0}; free with ctr_attr_builder_free().
 */
struct ctr_attr_builder {
    struct ctr_attr_list list;
    struct ctr_arena arena;
};
/* Set or replace one attribute. Returns 0, CTR_EINVAL (empty key, bad value;
 * not kept) or CTR_ENOMEM. */
int ctr_attr_builder_set(struct ctr_attr_builder *b, const struct ctr_attr *attr);
/* The attributes gathered so far, in the order first set; *n gets the count. */
const struct ctr_attr *ctr_attr_builder_items(const struct ctr_attr_builder *b, size_t *n);
/* Release the attributes; the builder can be used again. */
void ctr_attr_builder_free(struct ctr_attr_builder *b);

struct ctr_tracer;
struct ctr_span;

#ifdef CHAOSTRACING_INTERNAL /* the library's own view; see common.h */
struct ctr_span {
    struct ctr_span_context ctx;
    uint8_t parent_span_id[CTR_SPAN_ID_LEN];
    bool has_parent;
    bool parent_is_remote;
    bool recording; /* false for unsampled / disabled spans: setters are no-ops */
    bool essential; /* never dropped for a full queue (see ctr_span_set_essential) */
    bool ended;
    ctr_span_kind kind;
    ctr_status_code status;
    struct ctr_str status_message;
    struct ctr_str name;
    uint64_t start_ns;
    uint64_t end_ns;
    struct ctr_attr_list attrs;
    struct ctr_event *events;
    uint32_t events_len, events_cap, events_dropped;
    struct ctr_link *links;
    uint32_t links_len, links_cap, links_dropped;
    struct ctr_tracer *tracer;
    struct ctr_arena arena;
};
#endif

/* The lower-case name of a span kind ("internal", "client", ...; "unspecified"
 * for anything else). Never NULL. */
const char *ctr_span_kind_name(ctr_span_kind k);

/* The OTLP Span.flags value of a span (trace flags + remote-parent bits). */
uint32_t ctr_span_otlp_flags(const struct ctr_span *s);

/* Accessors: what a caller outside the library may know of a span. */
/* True while the span records (sampled and not yet ended). */
bool ctr_span_is_recording(const struct ctr_span *s);
/* Copy the span's context into `out`: ids, flags, remote-ness, and its
 * trace_state, which points into the span and is valid only while the span
 * is neither ended nor freed. A NULL span gives an invalid (all-zero)
 * context. */
void ctr_span_get_context(const struct ctr_span *s, struct ctr_span_context *out);
ctr_span_kind ctr_span_get_kind(const struct ctr_span *s);
ctr_status_code ctr_span_get_status(const struct ctr_span *s);

/* Mark a span the trace cannot do without (an experiment, a phase): the batch
 * processor keeps room for such spans when the queue is full of others. */
void ctr_span_set_essential(struct ctr_span *s);

/* Attribute setters. No-ops returning 0 on non-recording or ended spans. */
int ctr_span_set_attr(struct ctr_span *s, const struct ctr_attr *attr);
int ctr_span_set_str(struct ctr_span *s, const char *key, const char *val, size_t vlen);
int ctr_span_set_int(struct ctr_span *s, const char *key, int64_t v);
int ctr_span_set_bool(struct ctr_span *s, const char *key, bool v);
int ctr_span_set_double(struct ctr_span *s, const char *key, double v);
/* Add an event; time 0 means now. Attributes are deep-copied. */
int ctr_span_add_event(struct ctr_span *s, const char *name, size_t nlen, uint64_t time_ns,
                       const struct ctr_attr *attrs, size_t n_attrs);
int ctr_span_add_link(struct ctr_span *s, const struct ctr_span_context *ctx,
                      const struct ctr_attr *attrs, size_t n_attrs);
/* Set the status. OK is final; UNSET never overrides; the message is kept only
 * for ERROR, as the API spec says. */
int ctr_span_set_status(struct ctr_span *s, ctr_status_code code, const char *msg, size_t mlen);
int ctr_span_update_name(struct ctr_span *s, const char *name, size_t nlen);
/* Change the kind while the span is open (OpenTracing's span.kind tag can
 * come after the start); UNSPECIFIED and unknown values are ignored. */
int ctr_span_set_kind(struct ctr_span *s, ctr_span_kind kind);
/*
 * End the span at `end_ns` (0 = now) and hand it to the tracer's processor,
 * which frees it after export. After this call the
 * caller must not use `s`.
 */
void ctr_span_end(struct ctr_span *s, uint64_t end_ns);
/* Free a span that was never ended or that a processor is done with. */
void ctr_span_free(struct ctr_span *s);

#endif
