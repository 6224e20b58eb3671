/*
 * chaostracing: exporters. An exporter = encoder + transport + retry policy,
 * composed through this small ops table. Exporters are called from one
 * thread at a time (the batch processor's worker) and must return by the
 * deadline they are given.
 */
#ifndef CHAOSTRACING_EXPORTER_H
#define CHAOSTRACING_EXPORTER_H

#include <stdio.h>
#include <stdatomic.h>

#include "encode.h"

struct ctr_exporter;

struct ctr_exporter_ops {
    const char *name; /* "otlp-http", "file", "console", ... */
    /* Send one batch. Returns 0, or a negative CTR_E* when the batch was not
     * delivered (it is then counted as failed, never retried by the caller).
     * Must return by `deadline_ns` (monotonic). */
    int (*export_batch)(struct ctr_exporter *e, const struct ctr_batch *batch,
                        uint64_t deadline_ns);
    /* Flush and release transport resources; may be NULL. */
    int (*shutdown)(struct ctr_exporter *e, uint64_t deadline_ns);
    /* Called in a forked child before it exports anything: drop state that
     * belongs to the parent (connections, handles) without touching it. May be
     * NULL. */
    void (*after_fork_child)(struct ctr_exporter *e);
    /* Free the exporter. */
    void (*destroy)(struct ctr_exporter *e);
};

/* Counters an exporter keeps; read from any thread. */
struct ctr_exporter_stats {
    atomic_uint_fast64_t spans_exported; /* delivered and accepted */
    atomic_uint_fast64_t spans_rejected; /* partial_success.rejected_spans */
    atomic_uint_fast64_t spans_failed;   /* in batches that were not delivered */
    atomic_uint_fast64_t batches_failed;
    atomic_uint_fast64_t retries;
};

/* Every exporter embeds this as its first member. */
struct ctr_exporter {
    const struct ctr_exporter_ops *ops;
    struct ctr_exporter_stats stats;
    /* Set by the processor when shutdown begins. From then on a connection
     * failure is not retried (the process is about to exit and the collector
     * is not there); answers the server gave (429/502/503/504) still are,
     * inside the deadline. */
    atomic_bool final;
    char destination[512]; /* for log lines: URL, path, "stderr" */
};

/* Set up the embedded base of a new exporter: ops, zeroed counters, final
 * cleared, empty destination. */
void ctr_exporter_init(struct ctr_exporter *e, const struct ctr_exporter_ops *ops);

/* Call the ops; NULL-safe. ctr_exporter_destroy() does not shut down. */
int ctr_exporter_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                        uint64_t deadline_ns);
int ctr_exporter_shutdown(struct ctr_exporter *e, uint64_t deadline_ns);
void ctr_exporter_destroy(struct ctr_exporter *e);

struct ctr_header {
    char *name;
    char *value;
};

struct ctr_otlp_http_options {
    const char *url;                  /* full URL, path included */
    const struct ctr_header *headers; /* extra request headers */
    size_t n_headers;
    uint32_t timeout_ms; /* per export, retries included; 0 = 10000 */
    bool gzip;
    bool json;               /* http/json instead of http/protobuf */
    const char *ca_file;     /* PEM; NULL = system store */
    const char *client_cert; /* PEM */
    const char *client_key;  /* PEM */
    bool insecure_skip_verify;
};

/*
 * OTLP over HTTP through libcurl. Retries 429, 502, 503, 504 and connection
 * failures with exponential backoff, jitter and Retry-After, all inside the
 * export deadline; logs partial success. Returns 0, CTR_EINVAL (bad URL,
 * message in `err`) or CTR_ENOMEM.
 */
int ctr_otlp_http_exporter_new(const struct ctr_otlp_http_options *opt, struct ctr_exporter **out,
                               char *err, size_t errlen);

/*
 * OTLP JSON lines appended to `path` (one ExportTraceServiceRequest per line),
 * created 0644 if missing, fsync'd on shutdown. Returns 0 or CTR_EIO (message
 * in `err`).
 */
int ctr_file_exporter_new(const char *path, struct ctr_exporter **out, char *err, size_t errlen);

/* A readable span tree written to `stream` (stderr when NULL). */
int ctr_console_exporter_new(FILE *stream, struct ctr_exporter **out);

#endif
