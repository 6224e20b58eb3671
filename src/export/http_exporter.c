/*
 * HTTP exporters: encoder + optional gzip + the libcurl transport + the retry
 * policy, all inside one deadline. See http_exporter.h.
 */
#include "export/http_exporter.h"

#include <chaostracing/endpoint.h>

#include "export/retry.h"
#include "transport/gzip.h"
#include "transport/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REQUEST CTR__HTTP_EXPORTER_MAX_REQUEST
#define DEFAULT_TIMEOUT_MS 10000u
/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct http_exporter {
    struct ctr_exporter base;
    /* This exporter's ops: the functions below under def->name. base.ops
     * points here. */
    struct ctr_exporter_ops ops;
    const struct ctr__http_exporter_def *def;
    char *url;
    bool gzip;
    uint32_t timeout_ms;
    struct ctr__http_client *http;
    struct ctr_buf enc; /* the encoded request */
    struct ctr_buf gz;  /* its gzip form */
    struct ctr__http_response resp;
    struct ctr__retry_state retry; /* jitter and logged-failure state */
    bool shut;
};

/* ---- sending ---- */

/* True for the answers the OTLP specification calls retryable. */
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

/* Describe in `f` an answer that is not a 2xx ("HTTP 503: <body excerpt>").
 * Returns true when its status is worth another attempt. */
static bool status_failure(struct ctr__retry_failure *f, const struct ctr__http_response *r)
{
    char excerpt[200];
    body_excerpt(&r->body, excerpt, sizeof excerpt);
    snprintf(f->key, sizeof f->key, "HTTP %ld", r->status);
    snprintf(f->reason, sizeof f->reason, "HTTP %ld%s%s", r->status, excerpt[0] ? ": " : "",
             excerpt);
    bool retry = retryable_status(r->status);
    f->err = retry ? CTR_ERETRYABLE : CTR_EHTTP;
    return retry;
}

/* The retry policy's name for a request that got no answer. */
static enum ctr__retry_fault fault_of(enum ctr__http_outcome o)
{
    switch (o) {
    case CTR__HTTP_CONNECT:
        return CTR__RETRY_FAULT_CONNECT;
    case CTR__HTTP_TIMEOUT:
        return CTR__RETRY_FAULT_TIMEOUT;
    case CTR__HTTP_TLS:
        return CTR__RETRY_FAULT_TLS;
    default:
        return CTR__RETRY_FAULT_IO;
    }
}

/* Account for a 2xx answer: read the partial success from its body when the
 * kind has a reader, update the counters, log a rejection and a recovery. */
static void on_success(struct http_exporter *x, size_t n_spans)
{
    int64_t rejected = 0;
    char msg[256] = "";
    const struct ctr_buf *body = &x->resp.body;
    if (x->def->decode_response && body->len > 0 &&
        x->def->decode_response(body->data, body->len, &rejected, msg, sizeof msg) != 0) {
        ctr_log(CTR_LOG_DEBUG,
                "chaostracing: export to %s: could not decode the response body (%zu bytes)",
                x->base.destination, body->len);
        rejected = 0;
        msg[0] = '\0';
    }
    ctr__retry_delivered(&x->retry, &x->base, x->base.destination, n_spans, rejected, msg);
}

/*
 * Send `len` bytes of `body` with retries until a 2xx, a final answer, or the
 * deadline. Returns 0 (delivered) or the CTR_E* of the last attempt; counts
 * and logs the outcome.
 */
static int send_with_retries(struct http_exporter *x, const uint8_t *body, size_t len,
                             size_t n_spans, uint64_t deadline_ns)
{
    uint64_t backoff_ms = CTR__RETRY_BACKOFF_FIRST_MS;
    int attempts = 0;
    struct ctr__retry_failure f = {0};
    const struct ctr__http_response *r = &x->resp;

    for (;;) {
        int rc = ctr__http_post(x->http, x->url, body, len, deadline_ns, &x->resp);
        if (rc == CTR_ETIMEOUT) {
            /* The deadline passed before this attempt could start; keep the
             * previous attempt's reason if there was one. */
            if (attempts == 0)
                ctr__retry_failure_set(&f, CTR_ETIMEOUT, "timeout",
                                       "deadline passed before the request was sent");
            break;
        }
        if (rc == CTR_ENOMEM) {
            ctr__retry_failure_set(&f, CTR_ENOMEM, "nomem", "out of memory");
            break;
        }
        attempts++;
        bool retry;
        if (r->outcome == CTR__HTTP_ANSWERED) {
            if (r->status >= 200 && r->status < 300) {
                on_success(x, n_spans);
                return 0;
            }
            retry = status_failure(&f, r);
        } else {
            retry = ctr__retry_fault(&f, fault_of(r->outcome), r->reason, &x->base, deadline_ns);
        }
        if (!retry)
            break;
        /* A server that answered is worth waiting for even during shutdown;
         * a connection failure is not. */
        bool stop_on_final = f.err == CTR_ECONNECT || f.err == CTR_ETIMEOUT;
        if (!ctr__retry_backoff(&x->retry, &x->base, &backoff_ms, r->retry_after_ms, deadline_ns,
                                stop_on_final))
            break;
    }
    return ctr__retry_give_up(&x->retry, &x->base, x->base.destination, &f, attempts, n_spans);
}

/* ---- the ops ---- */

/* export_batch op. Returns 0 or a CTR_E* error (the batch is then counted
 * failed). */
static int http_export(struct ctr_exporter *e, const struct ctr_batch *batch, uint64_t deadline_ns)
{
    struct http_exporter *x = (struct http_exporter *)e;
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
    int rc = x->def->encode(batch, &x->enc);
    if (rc == 0 && x->enc.err)
        rc = x->enc.err;
    const uint8_t *body = x->enc.data;
    size_t len = x->enc.len;
    if (rc == 0 && x->gzip) {
        ctr_buf_reset(&x->gz);
        rc = ctr__gzip_compress(x->enc.data, x->enc.len, &x->gz, MAX_REQUEST);
        body = x->gz.data;
        len = x->gz.len;
    }
    if (rc == 0 && len > MAX_REQUEST)
        rc = CTR_ETOOBIG;
    if (rc != 0)
        ctr__retry_encode_failed(&x->retry, &x->base, x->base.destination, rc, MAX_REQUEST,
                                 batch->len);
    else
        rc = send_with_retries(x, body, len, batch->len, deadline_ns);

    /* Do not keep a one-off huge batch's memory around. */
    if (x->enc.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->enc);
    if (x->gz.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->gz);
    if (x->resp.body.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->resp.body);
    return rc;
}

/* shutdown op: nothing is buffered here; close the connection. Idempotent. */
static int http_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct http_exporter *x = (struct http_exporter *)e;
    x->shut = true;
    ctr__http_client_close(x->http);
    return 0;
}

/* after_fork_child op: abandon the parent's curl handle, reseed the jitter. */
static void http_after_fork(struct ctr_exporter *e)
{
    struct http_exporter *x = (struct http_exporter *)e;
    ctr__http_client_after_fork(x->http);
    ctr__retry_after_fork(&x->retry, x);
}

/* destroy op: free everything the exporter owns (its ops included, which
 * ctr_exporter_destroy() no longer reads once it has called this). */
static void http_destroy(struct ctr_exporter *e)
{
    struct http_exporter *x = (struct http_exporter *)e;
    ctr__http_client_free(x->http);
    ctr_buf_free(&x->enc);
    ctr_buf_free(&x->gz);
    ctr__http_response_free(&x->resp);
    free(x->url);
    free(x);
}

/* ---- creation ---- */

/* True when `name` is a valid header token (RFC 9110 tchar). */
static bool header_name_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
            return false;
    }
    return true;
}

/* Headers the exporter sets itself and that a user may not replace. */
static bool header_reserved(const char *name)
{
    static const char *const reserved[] = {"content-type", "content-encoding", "content-length",
                                           "transfer-encoding", "expect"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    }
    return false;
}

/* Format "Name: value" (or "Name;" for an empty value, which is how curl
 * sends an empty header) into a new string; NULL when out of memory. */
static char *header_line(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return NULL;
    if (*value)
        snprintf(line, n, "%s: %s", name, value);
    else
        snprintf(line, n, "%s;", name);
    return line;
}

/*
 * Fill `lines` (room for o->n_headers + 2) with the request's header lines:
 * Content-Type, Content-Encoding when gzip, then the user's headers that pass
 * the checks (the others are skipped with a WARNING). Sets *n to the lines
 * made, which the caller frees even on error. Returns 0 or CTR_ENOMEM.
 */
static int make_header_lines(const struct ctr__http_exporter_def *def,
                             const struct ctr__http_exporter_options *o, char **lines, size_t *n)
{
    lines[(*n)++] = header_line("Content-Type", def->content_type);
    if (o->gzip)
        lines[(*n)++] = header_line("Content-Encoding", "gzip");
    for (size_t i = 0; i < *n; i++) {
        if (!lines[i])
            return CTR_ENOMEM;
    }
    for (size_t i = 0; i < o->n_headers; i++) {
        const struct ctr_header *h = &o->headers[i];
        const char *value = h->value ? h->value : "";
        if (!header_name_ok(h->name)) {
            /* Never echo the bytes: they may hold a token or CR/LF. */
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: %s header #%zu skipped: its name is empty or has "
                    "characters not allowed in a header name",
                    def->headers_what, i + 1);
            continue;
        }
        if (strpbrk(value, "\r\n")) {
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: %s header %s skipped: its value contains CR or LF",
                    def->headers_what, h->name);
            continue;
        }
        if (header_reserved(h->name)) {
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: %s header %s skipped: the exporter sets it itself",
                    def->headers_what, h->name);
            continue;
        }
        lines[*n] = header_line(h->name, value);
        if (!lines[*n])
            return CTR_ENOMEM;
        (*n)++;
    }
    return 0;
}

int ctr__http_exporter_new(const struct ctr__http_exporter_def *def,
                           const struct ctr__http_exporter_options *o, struct ctr_exporter **out,
                           char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct ctr_endpoint ep;
    char why[128];
    int prc = ctr_endpoint_parse(o->url, &ep, why, sizeof why);
    if (prc == 0 && !ep.scheme[0])
        snprintf(why, sizeof why, "it needs an http:// or https:// scheme");
    if (prc || !ep.scheme[0]) {
        ctr_endpoint_error(err, errlen, def->what, o->url, "an http:// or https:// URL", why);
        return CTR_EINVAL;
    }

    struct http_exporter *x = calloc(1, sizeof *x);
    char **lines = calloc(o->n_headers + 2, sizeof *lines);
    size_t n_lines = 0;
    int rc = 0;
    if (!x || !lines) {
        rc = CTR_ENOMEM;
        goto out;
    }
    size_t ulen = strlen(o->url);
    x->url = malloc(ulen + 1);
    if (!x->url) {
        rc = CTR_ENOMEM;
        goto out;
    }
    memcpy(x->url, o->url, ulen + 1);
    rc = make_header_lines(def, o, lines, &n_lines);
    if (rc)
        goto out;

    const struct ctr_tls_options *tls = o->tls;
    struct ctr__http_options ho = {
        .headers = (const char *const *)lines,
        .n_headers = n_lines,
        .ca_file = tls ? tls->ca_file : NULL,
        .client_cert = tls ? tls->client_cert : NULL,
        .client_key = tls ? tls->client_key : NULL,
        .insecure_skip_verify = tls ? tls->insecure_skip_verify : false,
    };
    rc = ctr__http_client_new(&ho, &x->http);
    if (rc) {
        if (rc == CTR_EINVAL && err && errlen)
            snprintf(err, errlen, "%s exporter: libcurl could not be initialised", def->what);
        goto out;
    }

    x->ops = (struct ctr_exporter_ops){
        .name = def->name,
        .export_batch = http_export,
        .shutdown = http_shutdown,
        .after_fork_child = http_after_fork,
        .destroy = http_destroy,
    };
    ctr_exporter_init(&x->base, &x->ops);
    /* Log lines name the destination: never with its credentials. */
    struct ctr_buf dest = {0};
    ctr_url_redact(&dest, o->url, strlen(o->url));
    ctr_buf_putc(&dest, 0);
    snprintf(x->base.destination, sizeof x->base.destination, "%s",
             dest.err ? "(url)" : (const char *)dest.data);
    ctr_buf_free(&dest);
    x->def = def;
    x->gzip = o->gzip;
    x->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    ctr__http_response_init(&x->resp);
    ctr__retry_init(&x->retry, x);
    *out = &x->base;
    x = NULL;

out:
    if (lines) {
        for (size_t i = 0; i < n_lines; i++)
            free(lines[i]);
        free(lines);
    }
    if (x) {
        ctr__http_client_free(x->http);
        free(x->url);
        free(x);
    }
    if (rc == CTR_ENOMEM && err && errlen)
        snprintf(err, errlen, "out of memory");
    return rc;
}
