/*
 * The machinery shared by the exporters that POST one encoded batch over
 * HTTP (OTLP/HTTP, Zipkin): URL and header checks, the libcurl transport of
 * transport/http.h, optional gzip, and the retry policy of export/retry.h,
 * all inside one deadline.
 *
 * Retry policy (OTLP specification, "OTLP/HTTP Throttling" and "Retryable
 * Response Codes", which Zipkin follows too): 429, 502, 503 and 504 answers
 * and connection failures are retried with exponential backoff (100 ms
 * doubling to 5 s, equal jitter), waiting at least what Retry-After asks; an
 * attempt that could not start before the deadline is not made. Once the
 * processor has set `final` (shutdown), connection failures are not retried.
 * Every other answer, and any TLS failure, fails the batch at once; any 2xx
 * delivers it.
 *
 * Each exporter file supplies a definition (its name, body format and answer
 * reader) and a thin constructor that checks its options.
 */
#ifndef CTR_EXPORT_HTTP_EXPORTER_H
#define CTR_EXPORT_HTTP_EXPORTER_H

#include <chaostracing/exporter.h>

/* The largest request body sent (after compression). */
#define CTR__HTTP_EXPORTER_MAX_REQUEST (64u * 1024u * 1024u)

/* What one kind of HTTP exporter sends and how it reads the answer. */
struct ctr__http_exporter_def {
    const char *name;         /* the ops name: "otlp-http", "zipkin" */
    const char *what;         /* "OTLP/HTTP": names the exporter in error messages */
    const char *headers_what; /* "OTLP": names the user's headers in warnings */
    const char *content_type; /* "application/x-protobuf" */
    /* Append the request body for a batch; 0, CTR_ENOMEM or CTR_EINVAL. */
    int (*encode)(const struct ctr_batch *batch, struct ctr_buf *out);
    /* Read a 2xx answer's body: spans the server rejected and its message
     * (NUL-terminated). 0 or CTR_EPARSE. NULL: every span is delivered. */
    int (*decode_response)(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                           size_t msg_size);
};

struct ctr__http_exporter_options {
    const char *url;                  /* http:// or https:// with a host; checked here */
    const struct ctr_header *headers; /* extra request headers; bad ones are skipped */
    size_t n_headers;
    uint32_t timeout_ms;               /* per export, retries included; 0 = 10000 */
    bool gzip;                         /* Content-Encoding: gzip */
    const struct ctr_tls_options *tls; /* NULL: system trust store, no client certificate */
};

/*
 * Create an HTTP exporter of kind `def` (which must outlive it). A header
 * whose name is not a token, whose value holds CR or LF, or that the
 * exporter sets itself (Content-Type, Content-Encoding, Content-Length,
 * Transfer-Encoding, Expect) is skipped with a WARNING. Returns 0, CTR_EINVAL
 * (a URL that is not http(s)://host..., or libcurl could not be initialised;
 * the message is in `err`) or CTR_ENOMEM. On error nothing is left allocated.
 */
int ctr__http_exporter_new(const struct ctr__http_exporter_def *def,
                           const struct ctr__http_exporter_options *o, struct ctr_exporter **out,
                           char *err, size_t errlen);

#endif
