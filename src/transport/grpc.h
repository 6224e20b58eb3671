/*
 * chaostracing: unary gRPC calls over libcurl's HTTP/2 (grpc/grpc
 * doc/PROTOCOL-HTTP2.md), on top of the HTTP client in transport/http.h.
 *
 * A channel belongs to one exporter and is used by one thread at a time. It
 * knows one method (e.g. "/jaeger.api_v2.CollectorService/PostSpans") and
 * sends length-prefixed messages to it: POST with content-type
 * application/grpc, te: trailers, grpc-timeout from the deadline, optional
 * gzip (grpc-encoding), and the caller's metadata. The answer's status comes
 * from grpc-status / grpc-message in the trailers, or in the headers of a
 * trailers-only answer; an answer without grpc-status is mapped from its HTTP
 * status (doc/http-grpc-status-mapping.md). The channel never retries: the
 * exporter decides, with the helpers below.
 *
 * The pure helpers (framing, grpc-timeout, percent-decoding, status tables,
 * RetryInfo) are exposed for the unit tests.
 */
#ifndef CTR_TRANSPORT_GRPC_H
#define CTR_TRANSPORT_GRPC_H

#include <chaostracing/common.h>

#include "transport/http.h"

/* The largest request message (after compression) a channel sends. */
#define CTR__GRPC_MAX_MESSAGE (64u * 1024u * 1024u)

/* gRPC status codes (doc/statuscodes.md). */
enum ctr__grpc_code {
    CTR__GRPC_OK = 0,
    CTR__GRPC_CANCELLED = 1,
    CTR__GRPC_UNKNOWN = 2,
    CTR__GRPC_INVALID_ARGUMENT = 3,
    CTR__GRPC_DEADLINE_EXCEEDED = 4,
    CTR__GRPC_NOT_FOUND = 5,
    CTR__GRPC_ALREADY_EXISTS = 6,
    CTR__GRPC_PERMISSION_DENIED = 7,
    CTR__GRPC_RESOURCE_EXHAUSTED = 8,
    CTR__GRPC_FAILED_PRECONDITION = 9,
    CTR__GRPC_ABORTED = 10,
    CTR__GRPC_OUT_OF_RANGE = 11,
    CTR__GRPC_UNIMPLEMENTED = 12,
    CTR__GRPC_INTERNAL = 13,
    CTR__GRPC_UNAVAILABLE = 14,
    CTR__GRPC_DATA_LOSS = 15,
    CTR__GRPC_UNAUTHENTICATED = 16,
};

/* "UNAVAILABLE" etc.; "UNKNOWN" for a code outside 0..16. Never NULL. */
const char *ctr__grpc_code_name(int code);

/* The gRPC code for an answer without grpc-status, from its HTTP status. */
int ctr__grpc_code_from_http(long http_status);

/*
 * True for the codes the OTLP specification calls retryable: CANCELLED,
 * DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
 * RESOURCE_EXHAUSTED only when the server sent a RetryInfo.
 */
bool ctr__grpc_code_retryable(int code, bool has_retry_info);

/* Longest grpc-timeout value, NUL included ("99999999m"). */
#define CTR__GRPC_TIMEOUT_MAX 10

/*
 * Format a grpc-timeout value for `ns` nanoseconds: whole milliseconds
 * ("1234m", rounded down, at least "1m") while they fit the protocol's 8
 * digits, then seconds, minutes or hours (rounded up). Returns the length.
 */
size_t ctr__grpc_format_timeout(uint64_t ns, char out[CTR__GRPC_TIMEOUT_MAX]);

/*
 * Percent-decode a grpc-message value of `n` bytes into `out` (NUL
 * terminated, cut at `size` - 1 bytes). A '%' not followed by two hex digits
 * is kept as it is, as the protocol asks. Returns the decoded length.
 */
size_t ctr__grpc_percent_decode(const char *in, size_t n, char *out, size_t size);

/*
 * Find a google.rpc.RetryInfo in a serialized google.rpc.Status (the decoded
 * grpc-status-details-bin): Status{3 details: Any{1 type_url, 2 value}} with
 * type_url ".../google.rpc.RetryInfo" and value RetryInfo{1 retry_delay:
 * Duration{1 seconds, 2 nanos}}. Sets *delay_ms to the delay rounded up to a
 * millisecond (capped at one day), or -1 when there is no RetryInfo.
 * Returns 0 or CTR_EPARSE (then *delay_ms is -1).
 */
int ctr__grpc_parse_retry_info(const uint8_t *status, size_t n, int64_t *delay_ms);

/*
 * Replace `out` with one length-prefixed message: a compressed-flag byte (1
 * when `gzip`, the message then gzip-compressed), a 4-byte big-endian length
 * and the message. Returns 0, CTR_ETOOBIG (over CTR__GRPC_MAX_MESSAGE) or
 * CTR_ENOMEM.
 */
int ctr__grpc_frame(struct ctr_buf *out, const uint8_t *msg, size_t len, bool gzip);

/*
 * Read the length-prefixed messages of a unary answer body: zero or one.
 * On success *msg / *len point into `body` (NULL / 0 when there is none) and
 * *compressed tells the flag. Returns 0, or CTR_EPARSE for a truncated
 * prefix or message, a flag other than 0 and 1, or more than one message.
 */
int ctr__grpc_unframe(const uint8_t *body, size_t n, bool *compressed, const uint8_t **msg,
                      size_t *len);

/*
 * Gunzip `len` bytes into `out` (replacing its content), refusing more than
 * `max_out` bytes of output. Returns 0, CTR_EPARSE (not gzip data, or too
 * big) or CTR_ENOMEM.
 */
int ctr__grpc_gunzip(const uint8_t *in, size_t len, struct ctr_buf *out, size_t max_out);

struct ctr__grpc_options {
    /* "http://host:port" (cleartext HTTP/2 with prior knowledge),
     * "https://host:port" (TLS, ALPN h2) or "host:port" (TLS unless
     * `insecure`). A path in a URL is ignored. */
    const char *endpoint;
    bool insecure;
    const char *method;                /* "/package.Service/Method" */
    const struct ctr_header *metadata; /* sent with lower-cased names */
    size_t n_metadata;
    bool gzip;
    const struct ctr_tls_options *tls; /* may be NULL */
    const char *what;                  /* "OTLP/gRPC": names the exporter in messages */
};

/* What became of one call. */
enum ctr__grpc_outcome {
    CTR__GRPC_STATUS = 0, /* a status is known (`code`, `message`) */
    CTR__GRPC_CONNECT,    /* no answer: refused, unreachable, reset, stream or connection lost */
    CTR__GRPC_TIMEOUT,    /* no answer before the deadline (or connect timeout) */
    CTR__GRPC_TLS,        /* TLS handshake, certificate or key problem */
    CTR__GRPC_FAILED,     /* anything else (protocol error, no HTTP/2, ...) */
};

struct ctr__grpc_result {
    enum ctr__grpc_outcome outcome;
    int code;               /* gRPC status when outcome is STATUS */
    char message[512];      /* grpc-message, percent-decoded, control chars replaced */
    bool has_retry_info;    /* grpc-status-details-bin carried a RetryInfo */
    int64_t retry_delay_ms; /* its delay, -1 when none */
    long http_status;       /* the HTTP status, 0 when there was no answer */
    bool from_http_status;  /* `code` was mapped from the HTTP status */
    /* The answer's message when code is OK, decompressed; `response_err` is
     * CTR_EPARSE when the body could not be read as one message. */
    struct ctr_buf response;
    int response_err;
    char reason[256]; /* human text for any outcome but STATUS */
    /* internal */
    struct ctr__http_response http;
    struct ctr_buf details; /* raw grpc-status-details-bin value */
    struct ctr_buf tmp;     /* for decompression */
    char raw_message[1024];
    size_t raw_message_len;
    char encoding[32];
    bool saw_status;
    int header_code;
};

/* Zero a result so it can be passed to ctr__grpc_call() and freed. */
void ctr__grpc_result_init(struct ctr__grpc_result *r);
void ctr__grpc_result_free(struct ctr__grpc_result *r);

struct ctr__grpc_channel;

/*
 * Make a channel. Checks that libcurl has HTTP/2 (CTR_EUNSUPPORTED
 * otherwise), parses the endpoint (CTR_EINVAL with a message in `err`),
 * checks the metadata (bad names or values are skipped with a WARNING) and
 * warns when TLS verification is off. Returns 0, CTR_EINVAL,
 * CTR_EUNSUPPORTED or CTR_ENOMEM; free with ctr__grpc_channel_free().
 */
int ctr__grpc_channel_new(const struct ctr__grpc_options *o, struct ctr__grpc_channel **out,
                          char *err, size_t errlen);

/* The URL the channel posts to (scheme, authority and method). */
const char *ctr__grpc_channel_url(const struct ctr__grpc_channel *ch);
/* "scheme://authority": what log lines name as the destination. */
const char *ctr__grpc_channel_target(const struct ctr__grpc_channel *ch);
/* True when the channel sends gzip-compressed messages. */
bool ctr__grpc_channel_gzip(const struct ctr__grpc_channel *ch);

/*
 * Make one call with an already framed request (ctr__grpc_frame) and wait for
 * its status until `deadline_ns`. `res` is filled in every case. Returns 0
 * when the call was attempted (its outcome is in `res`), CTR_ETIMEOUT when
 * the deadline had passed before it could start, or CTR_ENOMEM.
 */
int ctr__grpc_call(struct ctr__grpc_channel *ch, const uint8_t *frame, size_t len,
                   uint64_t deadline_ns, struct ctr__grpc_result *res);

/* In a forked child: forget the parent's connection without touching it. */
void ctr__grpc_channel_after_fork(struct ctr__grpc_channel *ch);
/* Close the connection; the channel reconnects on the next call. */
void ctr__grpc_channel_close(struct ctr__grpc_channel *ch);
/* Free the channel; NULL-safe. */
void ctr__grpc_channel_free(struct ctr__grpc_channel *ch);

#endif
