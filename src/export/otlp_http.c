/*
 * The OTLP/HTTP exporter: OTLP protobuf (or JSON) encoder + optional gzip +
 * the libcurl transport + the OTLP retry policy, all inside one deadline.
 *
 * Retry policy (OTLP specification, "OTLP/HTTP Throttling" and "Retryable
 * Response Codes"): 429, 502, 503 and 504 answers and connection failures are
 * retried with exponential backoff (100 ms doubling to 5 s, equal jitter),
 * waiting at least what Retry-After asks; an attempt that could not start
 * before the deadline is not made. Once the processor has set `final`
 * (shutdown), connection failures are not retried. Every other answer fails
 * the batch at once.
 */
#include <chaostracing/exporter.h>

#include "export/retry.h"
#include "transport/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define MAX_REQUEST (64u * 1024u * 1024u)
#define DEFAULT_TIMEOUT_MS 10000u
/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct otlp_http {
    struct ctr_exporter base;
    char *url;
    bool gzip;
    bool json;
    uint32_t timeout_ms;
    struct ctr__http_client *http;
    struct ctr_buf enc; /* the encoded request */
    struct ctr_buf gz;  /* its gzip form */
    struct ctr__http_response resp;
    struct ctr__retry_state retry; /* jitter and logged-failure state */
    bool shut;
};

/* Count a batch of `n` spans as not delivered. */
static void count_failed(struct otlp_http *x, size_t n)
{
    ctr__retry_count_failed(&x->base, n);
}

/* Log a failed export (WARNING the first time a `key` is seen, then DEBUG). */
static void report_failure(struct otlp_http *x, const char *key, const char *reason, int attempts,
                           size_t n_spans)
{
    ctr__retry_report_failure(&x->retry, x->url, key, reason, attempts, n_spans);
}

/*
 * Compress `len` bytes into `out` as a gzip member. Returns 0, CTR_ETOOBIG
 * (the result would exceed the request cap) or CTR_ENOMEM.
 */
static int gzip_into(struct ctr_buf *out, const uint8_t *in, size_t len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return CTR_ENOMEM;
    ctr_buf_reset(out);
    int rc = 0;
    size_t left = len;
    const uint8_t *p = in;
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
        if (zs.avail_in == 0 && left > 0) {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.next_in = (Bytef *)(uintptr_t)p;
            zs.avail_in = chunk;
            p += chunk;
            left -= chunk;
        }
        if (out->len > MAX_REQUEST) {
            rc = CTR_ETOOBIG;
            break;
        }
        if (ctr_buf_reserve(out, 64 * 1024)) {
            rc = CTR_ENOMEM;
            break;
        }
        size_t room = out->cap - out->len;
        if (room > (1u << 30))
            room = 1u << 30;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        ret = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
            rc = CTR_ENOMEM;
            break;
        }
    }
    deflateEnd(&zs);
    if (rc == 0 && out->len > MAX_REQUEST)
        rc = CTR_ETOOBIG;
    return rc;
}

/* True for the answers the OTLP specification calls retryable. */
static bool retryable_status(long s)
{
    return s == 429 || s == 502 || s == 503 || s == 504;
}

/* Append to `dst` a printable excerpt of an error answer's body (the
 * collector's message), without control or non-ASCII bytes. */
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

/* Account for a 2xx answer: decode the partial success of a protobuf
 * response and update the counters. */
static void on_success(struct otlp_http *x, size_t n_spans)
{
    int64_t rejected = 0;
    char msg[256] = "";
    if (!x->json && x->resp.body.len > 0) {
        if (ctr_otlp_proto_decode_response(x->resp.body.data, x->resp.body.len, &rejected, msg,
                                           sizeof msg) != 0) {
            ctr_log(CTR_LOG_DEBUG,
                    "chaostracing: export to %s: could not decode the response body (%zu bytes)",
                    x->url, x->resp.body.len);
            rejected = 0;
            msg[0] = '\0';
        }
    }
    for (char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' '; /* keep the log line one line */
    }
    if (rejected < 0)
        rejected = 0;
    if ((uint64_t)rejected > n_spans)
        rejected = (int64_t)n_spans;
    if (rejected > 0) {
        atomic_fetch_add(&x->base.stats.spans_rejected, (uint_fast64_t)rejected);
        ctr_log(CTR_LOG_WARNING, "chaostracing: %s rejected %lld of %zu spans: %s", x->url,
                (long long)rejected, n_spans, msg[0] ? msg : "(no message)");
    } else if (msg[0]) {
        ctr_log(CTR_LOG_DEBUG, "chaostracing: %s accepted the spans with a message: %s", x->url,
                msg);
    }
    atomic_fetch_add(&x->base.stats.spans_exported, (uint_fast64_t)(n_spans - (size_t)rejected));
    ctr__retry_report_success(&x->retry, x->url);
}

/*
 * Send `body` with retries until success, a final answer, or the deadline.
 * Returns 0 or the CTR_E* of the last attempt; logs failures.
 */
static int send_with_retries(struct otlp_http *x, const uint8_t *body, size_t len, size_t n_spans,
                             uint64_t deadline_ns)
{
    uint64_t backoff_ms = CTR__RETRY_BACKOFF_FIRST_MS;
    int attempts = 0;
    int err = 0;
    char key[64];
    char reason[512];

    for (;;) {
        int rc = ctr__http_post(x->http, x->url, body, len, deadline_ns, &x->resp);
        if (rc == CTR_ETIMEOUT) {
            /* The deadline passed before this attempt could start; keep the
             * previous attempt's reason if there was one. */
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
                on_success(x, n_spans);
                return 0;
            }
            snprintf(key, sizeof key, "HTTP %ld", r->status);
            {
                char excerpt[200];
                body_excerpt(&r->body, excerpt, sizeof excerpt);
                snprintf(reason, sizeof reason, "HTTP %ld%s%s", r->status, excerpt[0] ? ": " : "",
                         excerpt);
            }
            if (retryable_status(r->status)) {
                err = CTR_ERETRYABLE;
                retry = true;
            } else {
                err = CTR_EHTTP;
            }
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
    count_failed(x, n_spans);
    report_failure(x, key, reason, attempts, n_spans);
    return err;
}

/* export_batch op. Returns 0 or a CTR_E* error (the batch is then counted
 * failed). */
static int otlp_http_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                            uint64_t deadline_ns)
{
    struct otlp_http *x = (struct otlp_http *)e;
    if (!batch || batch->len == 0)
        return 0; /* never send an empty request */
    if (x->shut) {
        count_failed(x, batch->len);
        return CTR_ESHUTDOWN;
    }
    uint64_t own = ctr_deadline_after_ms(x->timeout_ms);
    if (own < deadline_ns)
        deadline_ns = own;

    ctr_buf_reset(&x->enc);
    int rc = x->json ? ctr_otlp_json_encode(batch, &x->enc) : ctr_otlp_proto_encode(batch, &x->enc);
    if (rc == 0 && x->enc.err)
        rc = x->enc.err;
    const uint8_t *body = x->enc.data;
    size_t len = x->enc.len;
    if (rc == 0 && x->gzip) {
        rc = gzip_into(&x->gz, x->enc.data, x->enc.len);
        body = x->gz.data;
        len = x->gz.len;
    }
    if (rc == 0 && len > MAX_REQUEST)
        rc = CTR_ETOOBIG;

    if (rc != 0) {
        char reason[160];
        if (rc == CTR_ETOOBIG)
            snprintf(reason, sizeof reason, "request larger than the %u MiB limit",
                     MAX_REQUEST >> 20);
        else
            snprintf(reason, sizeof reason, "could not encode the request: %s", ctr_strerror(rc));
        count_failed(x, batch->len);
        report_failure(x, rc == CTR_ETOOBIG ? "toobig" : "encode", reason, 0, batch->len);
    } else {
        rc = send_with_retries(x, body, len, batch->len, deadline_ns);
    }

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
static int otlp_http_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct otlp_http *x = (struct otlp_http *)e;
    x->shut = true;
    ctr__http_client_close(x->http);
    return 0;
}

/* after_fork_child op: abandon the parent's curl handle, reseed the jitter. */
static void otlp_http_after_fork(struct ctr_exporter *e)
{
    struct otlp_http *x = (struct otlp_http *)e;
    ctr__http_client_after_fork(x->http);
    ctr__retry_after_fork(&x->retry, x);
}

/* destroy op: free everything the exporter owns. */
static void otlp_http_destroy(struct ctr_exporter *e)
{
    struct otlp_http *x = (struct otlp_http *)e;
    ctr__http_client_free(x->http);
    ctr_buf_free(&x->enc);
    ctr_buf_free(&x->gz);
    ctr__http_response_free(&x->resp);
    free(x->url);
    free(x);
}

static const struct ctr_exporter_ops otlp_http_ops = {
    .name = "otlp-http",
    .export_batch = otlp_http_export,
    .shutdown = otlp_http_shutdown,
    .after_fork_child = otlp_http_after_fork,
    .destroy = otlp_http_destroy,
};

/* Write `msg` into the caller's error buffer when there is one. */
static void set_err(char *err, size_t errlen, const char *msg, const char *arg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s%s", msg, arg ? arg : "");
}

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

/* Creates the exporter; see exporter.h. On error nothing is left allocated. */
int ctr_otlp_http_exporter_new(const struct ctr_otlp_http_options *opt, struct ctr_exporter **out,
                               char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!opt || !opt->url) {
        set_err(err, errlen, "OTLP/HTTP exporter: no URL given", NULL);
        return CTR_EINVAL;
    }
    if (!url_ok(opt->url)) {
        set_err(err, errlen,
                "OTLP/HTTP endpoint must be an http:// or https:// URL, got: ", opt->url);
        return CTR_EINVAL;
    }

    struct otlp_http *x = calloc(1, sizeof *x);
    char **lines = calloc(opt->n_headers + 2, sizeof *lines);
    size_t n_lines = 0;
    int rc = 0;
    if (!x || !lines) {
        rc = CTR_ENOMEM;
        goto out;
    }
    x->url = malloc(strlen(opt->url) + 1);
    if (!x->url) {
        rc = CTR_ENOMEM;
        goto out;
    }
    memcpy(x->url, opt->url, strlen(opt->url) + 1);

    lines[n_lines++] =
        header_line("Content-Type", opt->json ? "application/json" : "application/x-protobuf");
    if (opt->gzip)
        lines[n_lines++] = header_line("Content-Encoding", "gzip");
    for (size_t i = 0; i < n_lines; i++) {
        if (!lines[i]) {
            rc = CTR_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < opt->n_headers; i++) {
        const struct ctr_header *h = &opt->headers[i];
        const char *value = h->value ? h->value : "";
        if (!header_name_ok(h->name)) {
            /* Never echo the bytes: they may hold a token or CR/LF. */
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: OTLP header #%zu skipped: its name is empty or has "
                    "characters not allowed in a header name",
                    i + 1);
            continue;
        }
        if (strpbrk(value, "\r\n")) {
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: OTLP header %s skipped: its value contains CR or LF", h->name);
            continue;
        }
        if (header_reserved(h->name)) {
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: OTLP header %s skipped: the exporter sets it itself", h->name);
            continue;
        }
        lines[n_lines] = header_line(h->name, value);
        if (!lines[n_lines]) {
            rc = CTR_ENOMEM;
            goto out;
        }
        n_lines++;
    }

    struct ctr__http_options ho = {
        .headers = (const char *const *)lines,
        .n_headers = n_lines,
        .ca_file = opt->ca_file,
        .client_cert = opt->client_cert,
        .client_key = opt->client_key,
        .insecure_skip_verify = opt->insecure_skip_verify,
    };
    rc = ctr__http_client_new(&ho, &x->http);
    if (rc) {
        if (rc == CTR_EINVAL)
            set_err(err, errlen, "OTLP/HTTP exporter: libcurl could not be initialised", NULL);
        goto out;
    }

    ctr_exporter_init(&x->base, &otlp_http_ops);
    snprintf(x->base.destination, sizeof x->base.destination, "%s", opt->url);
    x->gzip = opt->gzip;
    x->json = opt->json;
    x->timeout_ms = opt->timeout_ms ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
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
    if (rc == CTR_ENOMEM)
        set_err(err, errlen, "out of memory", NULL);
    return rc;
}
