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

#ifdef CHAOSTRACING_INTERNAL /* the library's own view; see common.h */
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
#endif

/* Where the exporter sends (URL, path, "stderr"), for log lines; never NULL. */
const char *ctr_exporter_destination(const struct ctr_exporter *e);

/* Set up the embedded base of a new exporter: ops, zeroed counters, final
 * cleared, empty destination. */
void ctr_exporter_init(struct ctr_exporter *e, const struct ctr_exporter_ops *ops);

/* Call the ops; NULL-safe. ctr_exporter_destroy() does not shut down. */
int ctr_exporter_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                        uint64_t deadline_ns);
int ctr_exporter_shutdown(struct ctr_exporter *e, uint64_t deadline_ns);
void ctr_exporter_destroy(struct ctr_exporter *e);

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

/* Each batch as the span tree of chaostracing/render.h (the `chaostracing
 * view` format, box drawing, no colour) written to `stream` (stderr when
 * NULL), which it borrows. Returns 0 or CTR_ENOMEM. */
int ctr_console_exporter_new(FILE *stream, struct ctr_exporter **out);

struct ctr_otlp_grpc_options {
    /* "http://host:port" (cleartext HTTP/2, prior knowledge), "https://host:port"
     * (TLS + ALPN h2), or "host:port" (TLS unless `insecure`). */
    const char *endpoint;
    bool insecure;
    const struct ctr_header *headers; /* sent as gRPC metadata (lower-cased names) */
    size_t n_headers;
    uint32_t timeout_ms; /* per export, retries included; 0 = 10000 */
    bool gzip;           /* grpc-encoding: gzip */
    struct ctr_tls_options tls;
};

/*
 * OTLP over gRPC through libcurl's HTTP/2: length-prefixed framing,
 * grpc-status/grpc-message trailers (also trailers-only answers), retries of
 * the spec's retryable codes with backoff inside the deadline, and
 * grpc-timeout. Returns 0, CTR_EINVAL (message in `err`), CTR_EUNSUPPORTED
 * (libcurl without HTTP/2) or CTR_ENOMEM.
 */
int ctr_otlp_grpc_exporter_new(const struct ctr_otlp_grpc_options *opt, struct ctr_exporter **out,
                               char *err, size_t errlen);

struct ctr_jaeger_agent_options {
    const char *host;    /* default "localhost" */
    uint16_t port;       /* default 6831 */
    uint32_t max_packet; /* default 65000 */
};

/*
 * Jaeger agent: emitBatch in thrift compact over UDP. Batches are split so no
 * datagram exceeds max_packet; a span too big alone is cut down (attributes
 * and events truncated, marked with a tag) rather than lost. Returns 0,
 * CTR_EINVAL (message in `err`) or CTR_ENOMEM.
 */
int ctr_jaeger_agent_exporter_new(const struct ctr_jaeger_agent_options *opt,
                                  struct ctr_exporter **out, char *err, size_t errlen);

struct ctr_jaeger_grpc_options {
    const char *endpoint; /* "host:port" or a URL; default "localhost:14250" */
    bool insecure;        /* cleartext for a scheme-less endpoint */
    uint32_t timeout_ms;
    struct ctr_tls_options tls;
};

/* Jaeger collector gRPC (api_v2 CollectorService/PostSpans). */
int ctr_jaeger_grpc_exporter_new(const struct ctr_jaeger_grpc_options *opt,
                                 struct ctr_exporter **out, char *err, size_t errlen);

struct ctr_zipkin_options {
    const char *url; /* default http://localhost:9411/api/v2/spans */
    uint32_t timeout_ms;
    struct ctr_tls_options tls;
};

/* Zipkin v2 JSON over HTTP POST. */
int ctr_zipkin_exporter_new(const struct ctr_zipkin_options *opt, struct ctr_exporter **out,
                            char *err, size_t errlen);

#endif
