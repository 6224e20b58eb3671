/*
 * The Zipkin exporter: the Zipkin v2 JSON encoder + the libcurl transport +
 * the shared retry policy (export/retry.h), all inside one deadline.
 *
 * A batch is POSTed as one JSON array (Content-Type: application/json) to
 * the spans URL, by default http://localhost:9411/api/v2/spans. Zipkin
 * answers 202 Accepted; any 2xx counts as delivered. As for OTLP/HTTP, 429,
 * 502, 503 and 504 answers and connection failures are retried with backoff
 * (Retry-After respected) until the deadline; every other answer, and any
 * TLS failure, fails the batch at once.
 */
#include <chaostracing/exporter.h>

#include "export/retry.h"
#include "transport/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_URL "http://localhost:9411/api/v2/spans"
#define DEFAULT_TIMEOUT_MS 10000u
#define MAX_REQUEST (64u * 1024u * 1024u)
/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct zipkin {
    struct ctr_exporter base;
    char *url;
    uint32_t timeout_ms;
    struct ctr__http_client *http;
    struct ctr_buf enc; /* the encoded request */
    struct ctr__http_response resp;
    struct ctr__retry_state retry;
    bool shut;
};

/* True for the answers worth another attempt. */
static bool retryable_status(long s)
{
    return s == 429 || s == 502 || s == 503 || s == 504;
}

/* Write into `dst` a printable, one-line excerpt of an error answer's body
 * (the server's message), without control or non-ASCII bytes. */
static void body_excerpt(const struct ctr_buf *body, char *dst, size_t size)
{
    size_t o = 0;
    bool space = true; /* collapse runs and drop leading blanks */
    for (size_t i = 0; i < body->len && o + 4 < size; i++) {
        uint8_t c = body->data[i];
        if (c >= 0x21 && c < 0x7f) {
            dst[o++] = (char)c;
            space = false;
        } else if (!space) {
            dst[o++] = ' ';
            space = true;
        }
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

/*
 * Send `len` bytes with retries until an answer is final or the deadline
 * comes. Returns 0 (delivered) or the CTR_E* of the last attempt; counts and
 * logs the outcome.
 */
static int send_with_retries(struct zipkin *x, const uint8_t *body, size_t len, size_t n_spans,
                             uint64_t deadline_ns)
{
    uint64_t backoff_ms = CTR__RETRY_BACKOFF_FIRST_MS;
    int attempts = 0;
    int err = 0;
    char key[64] = "";
    char reason[512] = "";

    for (;;) {
        int rc = ctr__http_post(x->http, x->url, body, len, deadline_ns, &x->resp);
        if (rc == CTR_ETIMEOUT) {
            /* The deadline passed before this attempt could start: keep the
             * previous attempt's reason, if any. */
            if (attempts == 0) {
                err = CTR_ETIMEOUT;
                snprintf(key, sizeof key, "timeout");
                snprintf(reason, sizeof reason, "deadline passed before the request was sent");
            }
            break;
        }
        if (rc == CTR_ENOMEM) {
            err = CTR_ENOMEM;
            snprintf(key, sizeof key, "nomem");
            snprintf(reason, sizeof reason, "out of memory");
            break;
        }
        attempts++;
        bool retry = false;
        const struct ctr__http_response *r = &x->resp;
        switch (r->outcome) {
        case CTR__HTTP_ANSWERED:
            if (r->status >= 200 && r->status < 300) {
                atomic_fetch_add(&x->base.stats.spans_exported, (uint_fast64_t)n_spans);
                ctr__retry_report_success(&x->retry, x->url);
                return 0;
            }
            snprintf(key, sizeof key, "HTTP %ld", r->status);
            {
                char excerpt[200];
                body_excerpt(&r->body, excerpt, sizeof excerpt);
                snprintf(reason, sizeof reason, "HTTP %ld%s%s", r->status, excerpt[0] ? ": " : "",
                         excerpt);
            }
            retry = retryable_status(r->status);
            err = retry ? CTR_ERETRYABLE : CTR_EHTTP;
            break;
        case CTR__HTTP_CONNECT:
            err = CTR_ECONNECT;
            snprintf(key, sizeof key, "connect:%.50s", r->reason);
            snprintf(reason, sizeof reason, "%s", r->reason);
            retry = !atomic_load(&x->base.final);
            break;
        case CTR__HTTP_TIMEOUT:
            err = CTR_ETIMEOUT;
            snprintf(key, sizeof key, "timeout");
            snprintf(reason, sizeof reason, "%s", r->reason);
            /* Only a connect timeout leaves time for another attempt. */
            retry = !atomic_load(&x->base.final) && ctr_monotonic_ns() < deadline_ns;
            break;
        case CTR__HTTP_TLS:
            err = CTR_ETLS;
            snprintf(key, sizeof key, "tls");
            snprintf(reason, sizeof reason, "%s", r->reason);
            break;
        case CTR__HTTP_FAILED:
        default:
            err = CTR_EIO;
            snprintf(key, sizeof key, "io:%.50s", r->reason);
            snprintf(reason, sizeof reason, "%s", r->reason);
            break;
        }
        if (!retry)
            break;
        /* A server that answered is worth waiting for even during shutdown;
         * a connection failure is not. */
        bool stop_on_final = err == CTR_ECONNECT || err == CTR_ETIMEOUT;
        if (!ctr__retry_backoff(&x->retry, &x->base, &backoff_ms, r->retry_after_ms, deadline_ns,
                                stop_on_final))
            break;
    }
    ctr__retry_count_failed(&x->base, n_spans);
    ctr__retry_report_failure(&x->retry, x->url, key, reason, attempts, n_spans);
    return err;
}

/* export_batch op. Returns 0 or a CTR_E* error (the batch is then counted
 * failed). */
static int zipkin_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                         uint64_t deadline_ns)
{
    struct zipkin *x = (struct zipkin *)e;
    if (!batch || batch->len == 0)
        return 0; /* never send an empty request */
    if (x->shut) {
        ctr__retry_count_failed(&x->base, batch->len);
        return CTR_ESHUTDOWN;
    }
    uint64_t own = ctr_deadline_after_ms(x->timeout_ms);
    if (own < deadline_ns)
        deadline_ns = own;

    ctr_buf_reset(&x->enc);
    int rc = ctr_zipkin_json_encode(batch, &x->enc);
    if (rc == 0 && x->enc.err)
        rc = x->enc.err;
    if (rc == 0 && x->enc.len > MAX_REQUEST)
        rc = CTR_ETOOBIG;
    if (rc != 0) {
        char reason[160];
        if (rc == CTR_ETOOBIG)
            snprintf(reason, sizeof reason, "request larger than the %u MiB limit",
                     MAX_REQUEST >> 20);
        else
            snprintf(reason, sizeof reason, "could not encode the request: %s", ctr_strerror(rc));
        ctr__retry_count_failed(&x->base, batch->len);
        ctr__retry_report_failure(&x->retry, x->url, rc == CTR_ETOOBIG ? "toobig" : "encode",
                                  reason, 0, batch->len);
    } else {
        rc = send_with_retries(x, x->enc.data, x->enc.len, batch->len, deadline_ns);
    }

    /* Do not keep a one-off huge batch's memory around. */
    if (x->enc.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->enc);
    if (x->resp.body.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->resp.body);
    return rc;
}

/* shutdown op: nothing is buffered here; close the connection. Idempotent. */
static int zipkin_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct zipkin *x = (struct zipkin *)e;
    x->shut = true;
    ctr__http_client_close(x->http);
    return 0;
}

/* after_fork_child op: abandon the parent's curl handle, reseed the jitter. */
static void zipkin_after_fork(struct ctr_exporter *e)
{
    struct zipkin *x = (struct zipkin *)e;
    ctr__http_client_after_fork(x->http);
    ctr__retry_after_fork(&x->retry, x);
}

/* destroy op: free everything the exporter owns. */
static void zipkin_destroy(struct ctr_exporter *e)
{
    struct zipkin *x = (struct zipkin *)e;
    ctr__http_client_free(x->http);
    ctr_buf_free(&x->enc);
    ctr__http_response_free(&x->resp);
    free(x->url);
    free(x);
}

static const struct ctr_exporter_ops zipkin_ops = {
    .name = "zipkin",
    .export_batch = zipkin_export,
    .shutdown = zipkin_shutdown,
    .after_fork_child = zipkin_after_fork,
    .destroy = zipkin_destroy,
};

/* True when `url` is http:// or https:// with a host and no blanks or
 * control characters. */
static bool url_ok(const char *url)
{
    size_t skip;
    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return false;
    if (url[skip] == '\0' || url[skip] == '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/*
 * Creates the exporter; see exporter.h. Returns 0, CTR_EINVAL (a URL that is
 * not http(s)://host..., or libcurl could not be initialised; the message is
 * in `err`) or CTR_ENOMEM. On error nothing is left allocated.
 */
int ctr_zipkin_exporter_new(const struct ctr_zipkin_options *opt, struct ctr_exporter **out,
                            char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    const char *url = opt && opt->url && opt->url[0] ? opt->url : DEFAULT_URL;
    if (!url_ok(url)) {
        if (err && errlen)
            snprintf(err, errlen, "Zipkin endpoint must be an http:// or https:// URL, got: %s",
                     url);
        return CTR_EINVAL;
    }
    struct zipkin *x = calloc(1, sizeof *x);
    if (!x)
        goto nomem;
    size_t ulen = strlen(url);
    x->url = malloc(ulen + 1);
    if (!x->url)
        goto nomem;
    memcpy(x->url, url, ulen + 1);

    static const char *const headers[] = {"Content-Type: application/json"};
    struct ctr__http_options ho = {
        .headers = headers,
        .n_headers = 1,
        .ca_file = opt ? opt->tls.ca_file : NULL,
        .client_cert = opt ? opt->tls.client_cert : NULL,
        .client_key = opt ? opt->tls.client_key : NULL,
        .insecure_skip_verify = opt ? opt->tls.insecure_skip_verify : false,
    };
    int rc = ctr__http_client_new(&ho, &x->http);
    if (rc == CTR_ENOMEM)
        goto nomem;
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "Zipkin exporter: libcurl could not be initialised");
        free(x->url);
        free(x);
        return rc;
    }

    ctr_exporter_init(&x->base, &zipkin_ops);
    snprintf(x->base.destination, sizeof x->base.destination, "%s", url);
    x->timeout_ms = opt && opt->timeout_ms ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
    ctr__http_response_init(&x->resp);
    ctr__retry_init(&x->retry, x);
    *out = &x->base;
    return 0;

nomem:
    if (x) {
        free(x->url);
        free(x);
    }
    if (err && errlen)
        snprintf(err, errlen, "out of memory");
    return CTR_ENOMEM;
}
