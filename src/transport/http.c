/*
 * HTTP POST over one libcurl easy handle (HTTP/1.1, or HTTP/2 when asked),
 * with a hard deadline.
 */
#include "transport/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The longest a connection attempt may take, whatever the deadline. */
#define CONNECT_TIMEOUT_CAP_MS 5000u

struct ctr__http_client {
    CURL *curl; /* NULL until the first request, and after a fork */
    struct curl_slist *headers;
    char *ca_file;
    char *client_cert;
    char *client_key;
    char *user_agent; /* NULL: the default */
    bool insecure;
    bool no_reuse;
    enum ctr__http_version version;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* curl_global_init, exactly once per process. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* strdup that keeps NULL as NULL; sets *oom on failure. */
static char *dup_opt(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) {
        *oom = true;
        return NULL;
    }
    memcpy(d, s, n + 1);
    return d;
}

/* Creates a client; see http.h. On error nothing is left allocated. */
int ctr__http_client_new(const struct ctr__http_options *o, struct ctr__http_client **out)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return CTR_EINVAL;

    struct ctr__http_client *c = calloc(1, sizeof *c);
    if (!c)
        return CTR_ENOMEM;
    bool oom = false;
    c->ca_file = dup_opt(o->ca_file, &oom);
    c->client_cert = dup_opt(o->client_cert, &oom);
    c->client_key = dup_opt(o->client_key, &oom);
    c->user_agent = dup_opt(o->user_agent, &oom);
    c->insecure = o->insecure_skip_verify;
    c->version = o->version;
    c->no_reuse = o->no_reuse;

    /* Our headers first; "Expect:" stops curl from waiting for a
     * 100-continue on large bodies. curl_slist_append copies the strings. */
    static const char *const fixed[] = {"Expect:"};
    for (size_t i = 0; !oom && i < sizeof fixed / sizeof fixed[0]; i++) {
        struct curl_slist *n = curl_slist_append(c->headers, fixed[i]);
        if (!n)
            oom = true;
        else
            c->headers = n;
    }
    for (size_t i = 0; !oom && i < o->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(c->headers, o->headers[i]);
        if (!n)
            oom = true;
        else
            c->headers = n;
    }
    if (oom) {
        ctr__http_client_free(c);
        return CTR_ENOMEM;
    }
    /* Verification is only ever off on request; say so once, at creation. */
    if (c->insecure)
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: TLS certificate verification is disabled (insecure_skip_verify): "
                "the server's identity is not checked");
    if (c->client_key && !c->client_cert)
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: a TLS client key was given without a client certificate; the key "
                "is ignored");
    *out = c;
    return 0;
}

/* The per-request state the curl callbacks write into. */
struct xfer {
    struct ctr__http_response *resp;
    ctr__http_header_fn on_header; /* the caller's, may be NULL */
    void *on_header_ud;
};

/* CURLOPT_WRITEFUNCTION: keep the body up to the cap; past it, stop the
 * transfer (curl then reports CURLE_WRITE_ERROR, which we map back). */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    struct ctr_buf *b = &x->resp->body;
    if (b->len + n > CTR__HTTP_MAX_RESPONSE) {
        size_t room = CTR__HTTP_MAX_RESPONSE - b->len;
        ctr_buf_append(b, ptr, room);
        x->resp->body_truncated = true;
        return 0;
    }
    ctr_buf_append(b, ptr, n);
    if (b->err)
        return 0;
    return n;
}

/* Milliseconds until an HTTP-date or a delay in seconds; -1 when unparsable. */
static int64_t parse_retry_after(const char *v)
{
    if (*v >= '0' && *v <= '9') {
        int64_t secs = 0;
        const char *p = v;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (secs < 86400)
                secs = secs * 10 + (*p - '0');
        }
        if (*p != '\0')
            return -1;
        if (secs > 86400)
            secs = 86400;
        return secs * 1000;
    }
    time_t when = curl_getdate(v, NULL);
    if (when == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    if (when <= now)
        return 0;
    int64_t d = (int64_t)(when - now);
    return (d > 86400 ? 86400 : d) * 1000;
}

/* CURLOPT_HEADERFUNCTION: note Retry-After of the last response (a new status
 * line, e.g. after a 100 Continue, resets it). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->on_header)
        x->on_header(x->on_header_ud, ptr, n);
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        x->resp->retry_after_ms = -1;
        return n;
    }
    static const char name[] = "retry-after:";
    size_t nl = sizeof name - 1;
    if (n <= nl || strncasecmp(ptr, name, nl) != 0)
        return n;
    const char *v = ptr + nl;
    size_t vl = n - nl;
    while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    char tmp[128];
    if (vl == 0 || vl >= sizeof tmp)
        return n;
    memcpy(tmp, v, vl);
    tmp[vl] = '\0';
    x->resp->retry_after_ms = parse_retry_after(tmp);
    return n;
}

/* Make the easy handle and set the options that never change.
 * Returns 0 or CTR_ENOMEM. */
static int make_handle(struct ctr__http_client *c)
{
    CURL *h = curl_easy_init();
    if (!h)
        return CTR_ENOMEM;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long version = CURL_HTTP_VERSION_1_1;
    if (c->version == CTR__HTTP_VERSION_2_PRIOR_KNOWLEDGE)
        version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    else if (c->version == CTR__HTTP_VERSION_2_TLS)
        version = CURL_HTTP_VERSION_2TLS;
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     c->user_agent ? c->user_agent : "chaostracing/" CTR_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (c->no_reuse) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (c->ca_file) {
        /* The given bundle replaces the system trust store (no CA directory
         * beside it), as the OTLP exporters of the other SDKs do. */
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    }
    if (c->client_cert)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
    if (c->client_key)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    c->curl = h;
    return 0;
}

/* Copy `s` into r->reason, lower-casing the first letter unless it starts
 * an acronym ("HTTP/2 stream ...", "SSL ..."). */
static void set_reason(struct ctr__http_response *r, const char *s)
{
    snprintf(r->reason, sizeof r->reason, "%s", s);
    if (r->reason[0] >= 'A' && r->reason[0] <= 'Z' && !(r->reason[1] >= 'A' && r->reason[1] <= 'Z'))
        r->reason[0] = (char)(r->reason[0] - 'A' + 'a');
}

/*
 * For a send or receive failure: true when the connection died after its TLS
 * handshake and before any answer, i.e. the server refused the TLS session
 * (usually the client certificate: a TLS 1.3 server checks it after the
 * client considers the handshake done, so the refusal surfaces as a send or
 * receive error). `r` then gets a TLS outcome when the server's alert was
 * read, else a connection failure naming the likely cause.
 */
static bool tls_session_refused(struct ctr__http_client *c, const char *detail,
                                struct ctr__http_response *r)
{
#if LIBCURL_VERSION_NUM >= 0x073d00
    curl_off_t tls_us = 0; /* 0 when no handshake was made (plain HTTP, reused connection) */
    long status = 0;
    if (curl_easy_getinfo(c->curl, CURLINFO_APPCONNECT_TIME_T, &tls_us) != CURLE_OK || tls_us <= 0)
        return false;
    if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 0 ||
        r->body.len != 0)
        return false;
    const char *why = c->client_cert
                          ? "probably the client certificate"
                          : "it probably requires a client certificate and none is configured";
    if (strstr(detail, " alert ")) {
        r->outcome = CTR__HTTP_TLS;
        snprintf(r->reason, sizeof r->reason,
                 "TLS error: the server refused the session, %s (%.120s)", why, detail);
    } else {
        r->outcome = CTR__HTTP_CONNECT;
        snprintf(r->reason, sizeof r->reason,
                 "TLS connection closed by the server without an answer, %s", why);
    }
    return true;
#else
    (void)c;
    (void)detail;
    (void)r;
    return false;
#endif
}

/* Map a curl result to an outcome and a reason. */
static void classify(struct ctr__http_client *c, CURLcode rc, struct ctr__http_response *r)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) &&
        tls_session_refused(c, detail, r))
        return;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        r->outcome = CTR__HTTP_TIMEOUT;
        snprintf(r->reason, sizeof r->reason, "timed out (%.200s)", detail);
        return;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE: {
        long os = 0;
        curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os);
        r->outcome = CTR__HTTP_CONNECT;
        r->os_errno = (int)os;
        if (rc == CURLE_COULDNT_CONNECT && os != 0) {
            char eb[128];
            set_reason(r, strerror_r((int)os, eb, sizeof eb));
        } else {
            set_reason(r, detail);
        }
        return;
    }
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        r->outcome = CTR__HTTP_TLS;
        snprintf(r->reason, sizeof r->reason, "TLS error: %.200s", detail);
        return;
    default:
        r->outcome = CTR__HTTP_FAILED;
        set_reason(r, detail);
        return;
    }
}

/* A copy of the client's header list followed by `extra` lines; NULL when
 * out of memory. The caller frees it with curl_slist_free_all(). */
static struct curl_slist *headers_with(const struct curl_slist *base, const char *const *extra,
                                       size_t n_extra)
{
    struct curl_slist *list = NULL;
    for (const struct curl_slist *p = base; p; p = p->next) {
        struct curl_slist *n = curl_slist_append(list, p->data);
        if (!n) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = n;
    }
    for (size_t i = 0; i < n_extra; i++) {
        struct curl_slist *n = curl_slist_append(list, extra[i]);
        if (!n) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = n;
    }
    return list;
}

/* The HTTP major version of the last answer on `h`: 1, 2 or 0. */
static int answer_major(CURL *h)
{
    long v = 0;
    if (curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &v) != CURLE_OK)
        return 0;
    if (v == CURL_HTTP_VERSION_2_0)
        return 2;
    if (v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1)
        return 1;
    return 0;
}

/* Sends one request; see http.h. */
int ctr__http_send(struct ctr__http_client *c, const struct ctr__http_request *req,
                   struct ctr__http_response *resp)
{
    ctr_buf_reset(&resp->body);
    resp->outcome = CTR__HTTP_FAILED;
    resp->status = 0;
    resp->body_truncated = false;
    resp->retry_after_ms = -1;
    resp->os_errno = 0;
    resp->reason[0] = '\0';
    resp->curl_code = 0;
    resp->http_major = 0;

    uint64_t now = ctr_monotonic_ns();
    if (now >= req->deadline_ns) {
        resp->outcome = CTR__HTTP_TIMEOUT;
        set_reason(resp, "deadline passed before the request");
        return CTR_ETIMEOUT;
    }
    /* Round up so a sub-millisecond remainder still gets 1 ms, not "none". */
    uint64_t timeout_ms = (req->deadline_ns - now + 999999u) / 1000000u;
    if (timeout_ms > (uint64_t)LONG_MAX)
        timeout_ms = (uint64_t)LONG_MAX;
    uint64_t connect_ms = timeout_ms < CONNECT_TIMEOUT_CAP_MS ? timeout_ms : CONNECT_TIMEOUT_CAP_MS;

    if (!c->curl) {
        int rc = make_handle(c);
        if (rc) {
            set_reason(resp, "out of memory");
            return rc;
        }
    }
    struct curl_slist *extra = NULL;
    if (req->n_headers) {
        extra = headers_with(c->headers, req->headers, req->n_headers);
        if (!extra) {
            set_reason(resp, "out of memory");
            return CTR_ENOMEM;
        }
    }
    CURL *h = c->curl;
    struct xfer x = {.resp = resp, .on_header = req->on_header, .on_header_ud = req->on_header_ud};
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (extra)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra);

    CURLcode rc = curl_easy_perform(h);

    /* The callbacks' pointer and the request's header list go out of scope:
     * do not leave them behind. */
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    if (extra) {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
        curl_slist_free_all(extra);
    }
    resp->curl_code = (int)rc;
    resp->http_major = answer_major(h);

    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && resp->body_truncated)) {
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        resp->outcome = CTR__HTTP_ANSWERED;
        resp->status = status;
        if (resp->body_truncated)
            ctr__http_client_close(c); /* the rest of the answer is still coming */
        return 0;
    }
    if (rc == CURLE_OUT_OF_MEMORY || (rc == CURLE_WRITE_ERROR && resp->body.err)) {
        resp->outcome = CTR__HTTP_FAILED;
        set_reason(resp, "out of memory");
        return CTR_ENOMEM;
    }
    classify(c, rc, resp);
    return 0;
}

/* Posts one request; see http.h. */
int ctr__http_post(struct ctr__http_client *c, const char *url, const void *body, size_t len,
                   uint64_t deadline_ns, struct ctr__http_response *resp)
{
    struct ctr__http_request req = {
        .url = url,
        .body = body,
        .len = len,
        .deadline_ns = deadline_ns,
    };
    return ctr__http_send(c, &req, resp);
}

/* Zero a response so it can be passed to ctr__http_post and freed. */
void ctr__http_response_init(struct ctr__http_response *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after_ms = -1;
}

void ctr__http_response_free(struct ctr__http_response *r)
{
    ctr_buf_free(&r->body);
}

void ctr__http_client_after_fork(struct ctr__http_client *c)
{
    if (c)
        c->curl = NULL; /* the parent's handle: deliberately leaked, not cleaned up */
}

void ctr__http_client_close(struct ctr__http_client *c)
{
    if (c && c->curl) {
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
    }
}

void ctr__http_client_free(struct ctr__http_client *c)
{
    if (!c)
        return;
    ctr__http_client_close(c);
    curl_slist_free_all(c->headers);
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    free(c->user_agent);
    free(c);
}
