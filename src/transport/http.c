/*
 * HTTP/1.1 POST over one libcurl easy handle, with a hard deadline.
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
    bool insecure;
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
    c->insecure = o->insecure_skip_verify;

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
    *out = c;
    return 0;
}

/* The per-request state the curl callbacks write into. */
struct xfer {
    struct ctr__http_response *resp;
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
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "chaostracing/" CTR_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
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

/* Copy `s` into r->reason, lower-casing the first letter. */
static void set_reason(struct ctr__http_response *r, const char *s)
{
    snprintf(r->reason, sizeof r->reason, "%s", s);
    if (r->reason[0] >= 'A' && r->reason[0] <= 'Z')
        r->reason[0] = (char)(r->reason[0] - 'A' + 'a');
}

/* Map a curl result to an outcome and a reason. */
static void classify(struct ctr__http_client *c, CURLcode rc, struct ctr__http_response *r)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
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

/* Posts one request; see http.h. */
int ctr__http_post(struct ctr__http_client *c, const char *url, const void *body, size_t len,
                   uint64_t deadline_ns, struct ctr__http_response *resp)
{
    ctr_buf_reset(&resp->body);
    resp->outcome = CTR__HTTP_FAILED;
    resp->status = 0;
    resp->body_truncated = false;
    resp->retry_after_ms = -1;
    resp->os_errno = 0;
    resp->reason[0] = '\0';

    uint64_t now = ctr_monotonic_ns();
    if (now >= deadline_ns) {
        resp->outcome = CTR__HTTP_TIMEOUT;
        set_reason(resp, "deadline passed before the request");
        return CTR_ETIMEOUT;
    }
    /* Round up so a sub-millisecond remainder still gets 1 ms, not "none". */
    uint64_t timeout_ms = (deadline_ns - now + 999999u) / 1000000u;
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
    CURL *h = c->curl;
    struct xfer x = {.resp = resp};
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);

    CURLcode rc = curl_easy_perform(h);

    /* The callbacks' pointer goes out of scope: do not leave it behind. */
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);

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
    free(c);
}
