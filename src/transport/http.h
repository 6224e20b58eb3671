/*
 * chaostracing: a thin HTTP POST client over one libcurl easy handle:
 * HTTP/1.1 by default, HTTP/2 on request (the gRPC transport uses that).
 *
 * One client belongs to one exporter and is used by one thread at a time (the
 * export worker); its easy handle keeps the connection alive between calls.
 * Every call has a hard monotonic deadline. The client never retries: it
 * classifies what happened and leaves the policy to the exporter.
 */
#ifndef CTR_TRANSPORT_HTTP_H
#define CTR_TRANSPORT_HTTP_H

#include <chaostracing/common.h>

/* The most response body kept; a longer answer is cut there. */
#define CTR__HTTP_MAX_RESPONSE (4u * 1024u * 1024u)

/* The HTTP version a client speaks. */
enum ctr__http_version {
    CTR__HTTP_VERSION_1_1 = 0, /* the default */
    /* HTTP/2 without an Upgrade for http:// URLs (h2c "prior knowledge");
     * https:// URLs negotiate h2 through ALPN. */
    CTR__HTTP_VERSION_2_PRIOR_KNOWLEDGE,
    /* HTTP/2 through ALPN for https:// URLs, HTTP/1.1 for http:// ones. */
    CTR__HTTP_VERSION_2_TLS,
};

struct ctr__http_options {
    /* Complete request header lines ("Name: value"), copied at creation; the
     * caller has checked them for CR/LF. */
    const char *const *headers;
    size_t n_headers;
    const char *ca_file;     /* PEM bundle; NULL = system store */
    const char *client_cert; /* PEM; NULL = none */
    const char *client_key;  /* PEM; NULL = none */
    bool insecure_skip_verify;
    enum ctr__http_version version; /* 0: HTTP/1.1 */
    const char *user_agent;         /* NULL: "chaostracing/<version>" */
    /* A new connection for every request, closed after it (for libcurl
     * versions whose connection reuse is broken in a mode). */
    bool no_reuse;
};

/* What became of one request. */
enum ctr__http_outcome {
    CTR__HTTP_ANSWERED = 0, /* the server answered: `status` is valid */
    CTR__HTTP_CONNECT,      /* no answer: refused, unreachable, reset, closed */
    CTR__HTTP_TIMEOUT,      /* no answer before the deadline (or connect timeout) */
    CTR__HTTP_TLS,          /* TLS handshake, certificate or key problem */
    CTR__HTTP_FAILED,       /* anything else (protocol error, bad option, OOM) */
};

struct ctr__http_response {
    enum ctr__http_outcome outcome;
    long status;            /* HTTP status when ANSWERED, else 0 */
    struct ctr_buf body;    /* at most CTR__HTTP_MAX_RESPONSE bytes */
    bool body_truncated;    /* the answer was longer and has been cut */
    int64_t retry_after_ms; /* Retry-After of the answer, -1 when absent */
    int os_errno;           /* errno behind a connect failure, or 0 */
    char reason[256];       /* human text for any outcome but ANSWERED */
    int curl_code;          /* the CURLcode of the transfer (0 when it completed) */
    int http_major;         /* HTTP version the answer came in: 1 or 2; 0 unknown */
};

/*
 * Called for every response header line as libcurl delivers it, trailers
 * included: status lines ("HTTP/2 200"), "name: value" lines (with their line
 * ending) and the blank line that ends a block. HTTP/2 trailers arrive after
 * the body. The line is not NUL-terminated.
 */
typedef void (*ctr__http_header_fn)(void *ud, const char *line, size_t len);

/* One request with everything that may vary per call. */
struct ctr__http_request {
    const char *url;
    const void *body;
    size_t len;
    uint64_t deadline_ns; /* monotonic */
    /* Extra header lines ("Name: value") for this request only, after the
     * client's own; the caller has checked them for CR/LF. */
    const char *const *headers;
    size_t n_headers;
    ctr__http_header_fn on_header; /* may be NULL */
    void *on_header_ud;
};

struct ctr__http_client;

/*
 * Create a client. Copies everything in `o`; the curl handle itself is made
 * lazily on the first request. Returns 0, CTR_EINVAL (curl could not be
 * initialised) or CTR_ENOMEM. Free with ctr__http_client_free().
 */
int ctr__http_client_new(const struct ctr__http_options *o, struct ctr__http_client **out);

/*
 * POST `len` bytes of `body` to `url` and wait for the answer, returning by
 * `deadline_ns` (monotonic). `resp` is filled in every case (initialise it
 * with ctr__http_response_init(); the caller frees it with
 * ctr__http_response_free()). Returns 0 when the request was attempted and
 * its outcome is in `resp`, CTR_ETIMEOUT when the deadline had already passed
 * (nothing was sent), or CTR_ENOMEM.
 */
int ctr__http_post(struct ctr__http_client *c, const char *url, const void *body, size_t len,
                   uint64_t deadline_ns, struct ctr__http_response *resp);

/*
 * Send `req` as a POST and wait for the answer; otherwise as ctr__http_post()
 * (same return values, `resp` filled in every case).
 */
int ctr__http_send(struct ctr__http_client *c, const struct ctr__http_request *req,
                   struct ctr__http_response *resp);

void ctr__http_response_init(struct ctr__http_response *r);
void ctr__http_response_free(struct ctr__http_response *r);

/*
 * In a forked child: forget the handle (and its connections) inherited from
 * the parent without cleaning it up, so nothing is written to sockets the
 * parent still uses; a fresh handle is made on the next request.
 */
void ctr__http_client_after_fork(struct ctr__http_client *c);

/* Close the connection and release the curl handle; the client stays usable
 * (the next request reconnects). */
void ctr__http_client_close(struct ctr__http_client *c);

/* Free the client and its handle; NULL-safe. */
void ctr__http_client_free(struct ctr__http_client *c);

#endif
