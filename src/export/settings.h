/*
 * Internals shared by settings.c (the names, the values as written, their
 * precedence and types) and setup.c (what they resolve to).
 */
#ifndef CTR_EXPORT_SETTINGS_H
#define CTR_EXPORT_SETTINGS_H

#include <chaostracing/settings.h>

/* Every setting the library knows. */
enum ctr__setting_id {
    CTR__S_PROVIDER,
    CTR__S_EXPORTER,
    CTR__S_ENDPOINT,
    CTR__S_INSECURE,
    CTR__S_HEADERS,
    CTR__S_FILE_PATH,
    CTR__S_HOST,
    CTR__S_PORT,
    CTR__S_PROPAGATION,
    CTR__S_ID_NAME,
    CTR__S_JAEGER_BAGGAGE_PREFIX,
    CTR__S_OTEL_BAGGAGE_PREFIX,
    CTR__S_GZIP,
    CTR__S_CA_FILE,
    CTR__S_CLIENT_CERT,
    CTR__S_CLIENT_KEY,
    CTR__S_TIMEOUT,
    CTR__S_FLUSH_TIMEOUT,
    CTR__S_SPOOL_DIR,
    CTR__S_SPOOL_MAX_MB,
    CTR__S_RECORD_OUTPUT,
    CTR__S_OUTPUT_LIMIT,
    CTR__S_REDACT,
    CTR__S_TRACE_URL,
    CTR__S_TRACE_REQUEST,
    CTR__S_TRACE_REQUESTS,
    CTR__S_TRACE_HTTPX,
    CTR__S_TRACE_URLLIB3,
    CTR__S_TRACE_BOTOCORE,
    CTR__S_VENDOR,
    CTR__S_GCP_SERVICE_ACCOUNT, /* upstream's GCP keys: accepted, not used */
    CTR__S_GCP_PROJECT_ID,
    CTR__S_COUNT
};

/* One value as recorded (owned copies). */
struct ctr__entry {
    enum ctr_setting_source src;
    char *key;
    struct ctr_setting_value v; /* text and map owned */
};

struct ctr__problem {
    int level;
    bool fatal;
    char *text;
};

struct ctr_setup {
    struct ctr__problem *problems;
    size_t n_problems, cap_problems;
    bool enabled, failed, started, oom;
    struct ctr_config cfg;
    bool cfg_loaded;
    struct ctr_exporter *exporter; /* owned until started */
    struct ctr_spool *spool;       /* owned until started; NULL: no spool */
    char *spool_dir;               /* its directory, kept after the start */
    struct ctr_redactor *redactor; /* owned until started; NULL for a check */
    struct ctr_propagation prop;
    char destination[512];
    uint32_t flush_timeout_ms;
    enum ctr_output_mode output_mode;
    uint32_t output_limit;
    char *trace_url;
    unsigned instrumentations; /* CTR_INSTRUMENT_* */
};

/* Add a problem (formatted, at most 1 KiB); `fatal` turns tracing off. */
void ctr__problem(struct ctr_setup *st, int level, bool fatal, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/*
 * The value of setting `id` by precedence (command, argument, configuration),
 * or NULL when none was written. *name (may be NULL) gets the name as written
 * (the configuration key or the argument name).
 */
const struct ctr__entry *ctr__setting(const struct ctr_settings *s, enum ctr__setting_id id,
                                      const char **name);

/*
 * Typed reads: 1 with the value, 0 when not written, -1 when written with the
 * wrong type (a fatal problem naming the setting and the value was added).
 * Strings are borrowed from `s`.
 */
int ctr__setting_str(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                     const char *expected, const char **out);
int ctr__setting_bool(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                      bool *out);
/* An int or a string, as text (a port to be checked with its host). */
int ctr__setting_text(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                      const char *expected, char *out, size_t size);
int ctr__setting_uint(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                      uint32_t *out);
/* A whole number in [lo, hi] (an int or a string of digits); `expected`
 * names the range in the message. */
int ctr__setting_range(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                       long long lo, long long hi, const char *expected, long long *out);
int ctr__setting_map(struct ctr_setup *st, const struct ctr_settings *s, enum ctr__setting_id id,
                     const struct ctr_header **map, size_t *n);

/* Characters of a value quoted in a message, and a buffer that holds them. */
#define CTR__SHOWN_MAX 120
#define CTR__SHOWN_SIZE (CTR__SHOWN_MAX * 4 + 16)

/* Write t[0..len) into `out` for a message: control characters (NUL
 * included) escaped as \xHH, cut after CTR__SHOWN_MAX characters with
 * "...". Always NUL-terminated. */
void ctr__shown(const char *t, size_t len, char *out, size_t size);

/* Read the run's options (setup_run.c): flush deadline, outputs, spool,
 * redaction, trace link. Returns 0 or CTR_ENOMEM. */
int ctr__setup_run_options(struct ctr_setup *st, const struct ctr_settings *s, unsigned flags,
                           ctr_getenv_fn get, void *ud);

/* A value as messages show it (its text, number or type). */
void ctr__entry_shown(const struct ctr__entry *e, char *out, size_t size);

/*
 * For CTR_SETUP_OTEL_ONLY: a copy of `s` without the configuration keys that
 * flag does not read (every key but otel_*), named in one INFO problem.
 * Returns 0 with *out set (free it with ctr_settings_free()) or CTR_ENOMEM.
 */
int ctr__settings_otel_only(struct ctr_setup *st, const struct ctr_settings *s,
                            struct ctr_settings **out);

/* One WARNING per name that no setting has, with the closest known name. */
void ctr__report_unknown(struct ctr_setup *st, const struct ctr_settings *s);

#endif
