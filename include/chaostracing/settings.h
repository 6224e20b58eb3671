/*
 * chaostracing: from what a user wrote to a working tracer.
 *
 * Every rule about settings lives here and in src/export/settings.c: which
 * names exist (control arguments, experiment configuration keys, options of
 * the command-line tool), their precedence (command line, then control
 * arguments, then the experiment's configuration, then OTEL_* variables),
 * which exporter a name means, which endpoint is the default, and the one
 * message per problem a user sees. The Python binding and the command-line
 * tool only convert their values into ctr_setting_value and call this.
 *
 *   struct ctr_settings *s;  ctr_settings_new(&s);
 *   ctr_settings_put(s, CTR_FROM_ARGUMENT, "exporter", 8, &value);   ...
 *   struct ctr_setup *setup;  ctr_setup_build(s, 0, NULL, NULL, &setup);
 *   for each problem: log it;  if (ctr_setup_enabled(setup)) ctr_setup_start(setup, NULL, &t);
 */
#ifndef CHAOSTRACING_SETTINGS_H
#define CHAOSTRACING_SETTINGS_H

#include "config.h"
#include "propagate.h"
#include "redact.h"
#include "tracer.h"

/* Where a value was written, highest precedence first. */
enum ctr_setting_source {
    CTR_FROM_COMMAND = 0,   /* an option of the chaostracing command */
    CTR_FROM_ARGUMENT,      /* an argument of the control's declaration */
    CTR_FROM_CONFIGURATION, /* a key of the experiment's configuration */
};

typedef enum {
    CTR_SV_NULL = 0, /* absent or null: as if not written */
    CTR_SV_STR,
    CTR_SV_INT,
    CTR_SV_FLOAT,
    CTR_SV_BOOL,
    CTR_SV_MAP,   /* name → string pairs */
    CTR_SV_OTHER, /* any other type (a list, a mapping with non-string items...) */
} ctr_setting_type;

/* One value as the user wrote it. Strings are borrowed for the call. */
struct ctr_setting_value {
    ctr_setting_type type;
    /* STR: the text (may hold NUL bytes, which a setting refuses). OTHER and
     * every other type: optional display text for messages (e.g. Python's
     * repr()); NULL lets the library describe the value itself. `len` is the
     * byte length of `text` in every case. */
    const char *text;
    size_t len;
    int64_t i;
    double d;
    bool b;
    const struct ctr_header *map; /* MAP */
    size_t n_map;
};

struct ctr_settings;

/* A new, empty set of settings; 0 or CTR_ENOMEM. */
int ctr_settings_new(struct ctr_settings **out);
void ctr_settings_free(struct ctr_settings *s);

/* True when `key` is a configuration key this library reads or reserves
 * ("tracing_*", "baggage_prefix", and "otel_*" of the upstream
 * chaostracing.oltp control): the binding converts only those. */
bool ctr_settings_is_config_key(const char *key, size_t len);

/*
 * Record one value (copied). An unknown name is kept and reported by
 * ctr_setup_build() with the closest known one. A later value for the same
 * name and source replaces the earlier. Returns 0 or CTR_ENOMEM.
 */
int ctr_settings_put(struct ctr_settings *s, enum ctr_setting_source src, const char *key,
                     size_t klen, const struct ctr_setting_value *v);
/* Shorthand for a NUL-terminated string value. */
int ctr_settings_put_str(struct ctr_settings *s, enum ctr_setting_source src, const char *key,
                         const char *value);

/* What the settings resolved to; see ctr_setup_build(). */
struct ctr_setup;

enum {
    /* For `chaostracing check`: tracing is on whatever the provider says or
     * OTEL_SDK_DISABLED, every span is sampled. */
    CTR_SETUP_CHECK = 1, /* the provider setting is not read */
    /* For chaostracing.oltp, the stand-in for the upstream control of that
     * name: configured by the OTEL_* variables only. The provider is
     * opentelemetry whatever is written; the experiment's configuration keys
     * other than otel_* (otel_vendor...) are not read (one INFO names them);
     * control arguments are read as for the native control. */
    CTR_SETUP_OTEL_ONLY = 2,
};

/*
 * Resolve `s` and the OTEL_* variables (read through `get`, getenv when
 * NULL) into an exporter, propagators and tracer options. Never fails for a
 * bad setting: *out is always made (unless out of memory) and says whether
 * tracing is on and what was wrong. Returns 0 or CTR_ENOMEM.
 */
int ctr_setup_build(const struct ctr_settings *s, unsigned flags, ctr_getenv_fn get, void *ud,
                    struct ctr_setup **out);
void ctr_setup_free(struct ctr_setup *setup);

/* True when spans are to be recorded; false for the noop provider, a
 * disabled SDK, or a setting that made tracing impossible. */
bool ctr_setup_enabled(const struct ctr_setup *setup);

/*
 * The problems found, in order: problem `i` (0-based) as one sentence,
 * NUL-terminated, without a "chaostracing:" prefix; its log level
 * (CTR_LOG_DEBUG, INFO or WARNING) and whether it turned tracing off (both
 * outputs may be NULL). NULL past the last one. Messages never contain
 * credentials.
 */
size_t ctr_setup_problem_count(const struct ctr_setup *setup);
const char *ctr_setup_problem(const struct ctr_setup *setup, size_t i, int *level, bool *fatal);
/* True when a problem turned tracing off (a user error, as the command-line
 * tool reports it), rather than a choice such as the noop provider. */
bool ctr_setup_failed(const struct ctr_setup *setup);

/* Where spans go ("http://host:4318/v1/traces", "udp://host:6831", a path,
 * "stderr", "nowhere"), credentials redacted; never NULL. */
const char *ctr_setup_destination(const struct ctr_setup *setup);
/* The propagation formats and header names for HTTP activities and the
 * environment carrier. */
const struct ctr_propagation *ctr_setup_propagation(const struct ctr_setup *setup);

/* How activity outputs are recorded. */
enum ctr_output_mode {
    CTR_OUTPUT_TRUNCATED = 0, /* the default: the first output_limit characters */
    CTR_OUTPUT_FULL,          /* whole (the span limits still apply) */
    CTR_OUTPUT_NONE,          /* not at all */
};
#define CTR_OUTPUT_DEFAULT_LIMIT 4096

/* tracing_record_output / tracing_output_limit: *limit is 0 for "full". */
enum ctr_output_mode ctr_setup_output(const struct ctr_setup *setup, uint32_t *limit);
/* tracing_flush_timeout: how long cleanup waits for delivery (ms). */
uint32_t ctr_setup_flush_timeout_ms(const struct ctr_setup *setup);
/* Where undelivered spans are spooled, or NULL when spooling is off. */
const char *ctr_setup_spool_dir(const struct ctr_setup *setup);
/* tracing_trace_url / CHAOSTRACING_TRACE_URL: a link template with
 * "{trace_id}", or NULL. */
const char *ctr_setup_trace_url(const struct ctr_setup *setup);
/* Append the link for a trace to `out`: `tmpl` with every "{trace_id}"
 * replaced by the 32 hex digits of `trace_id` and "{span_id}" by the 16 of
 * `span_id` (may be NULL: left as written). */
void ctr_trace_link(const char *tmpl, const uint8_t trace_id[CTR_TRACE_ID_LEN],
                    const uint8_t *span_id, struct ctr_buf *out);
/* HTTP and AWS client libraries whose calls get spans of their own, through
 * the OpenTelemetry API (control arguments trace_request or trace_requests,
 * trace_httpx, trace_urllib3, trace_botocore). */
enum {
    CTR_INSTRUMENT_REQUESTS = 1u << 0,
    CTR_INSTRUMENT_HTTPX = 1u << 1,
    CTR_INSTRUMENT_URLLIB3 = 1u << 2,
    CTR_INSTRUMENT_BOTOCORE = 1u << 3,
};
/* The CTR_INSTRUMENT_* bits the settings ask for. */
unsigned ctr_setup_instrumentations(const struct ctr_setup *setup);
/*
 * Never export this: `value` is one of the run's secrets (key NULL), or a
 * configuration value whose key is sensitive (e.g. "api_token"; others are
 * ignored). Call before ctr_setup_start(). Returns 0 or CTR_ENOMEM.
 */
int ctr_setup_add_secret(struct ctr_setup *setup, const char *key, const char *value, size_t len);

struct ctr_start_options {
    uint32_t batch_size; /* > 0: queue and batch size (one request for a check) */
    uint32_t timeout_ms; /* > 0: export timeout of the batch processor */
};

/*
 * Make the tracer (batch processor, the chosen exporter). Can be called once;
 * `o` may be NULL. Returns 0 with *out set, CTR_EINVAL when the setup is not
 * enabled, or CTR_ENOMEM.
 */
int ctr_setup_start(struct ctr_setup *setup, const struct ctr_start_options *o,
                    struct ctr_tracer **out);

/* Take the exporter the setup made, to send spans made elsewhere (what a
 * spool holds): the caller shuts it down and destroys it. NULL when there is
 * none (the none exporter, a failed or started setup). */
struct ctr_exporter *ctr_setup_take_exporter(struct ctr_setup *setup);

#endif
