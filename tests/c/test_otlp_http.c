/*
 * The OTLP/HTTP exporter against a scriptable HTTP/1.1 server running in a
 * thread of this test on 127.0.0.1: request shape, gzip, retry policy,
 * Retry-After, deadlines, partial success, log de-duplication and fork.
 */
#include <chaostracing/exporter.h>

#include "http_server.h"
#include "log_capture.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- spans built by hand ---- */

#define T0 1700000000000000000ull

static struct ctr_attr res_attrs[] = {
    {{"service.name", 12}, {.type = CTR_VALUE_STRING, .u.s = {"chaostoolkit", 12}}},
};
static struct ctr_resource test_resource = {.attrs = {res_attrs, 1, 1, 0}};
static struct ctr_scope test_scope = {{"chaostracing", 12}, {CTR_VERSION, sizeof CTR_VERSION - 1}};
static struct ctr_attr span_attrs[] = {
    {{"chaos.activity", 14}, {.type = CTR_VALUE_STRING, .u.s = {"probe-latency", 13}}},
    {{"attempt", 7}, {.type = CTR_VALUE_INT, .u.i = -3}},
};

static struct ctr_span spans_store[3];
static struct ctr_span *spans_ptrs[3];

/* A batch of three spans of one trace (root, child, grandchild). */
static struct ctr_batch test_batch(void)
{
    static const char *names[] = {"experiment", "method", "probe"};
    for (int i = 0; i < 3; i++) {
        struct ctr_span *s = &spans_store[i];
        memset(s, 0, sizeof *s);
        memset(s->ctx.trace_id, 0x5a, CTR_TRACE_ID_LEN);
        memset(s->ctx.span_id, i + 1, CTR_SPAN_ID_LEN);
        s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
        if (i > 0) {
            s->has_parent = true;
            memset(s->parent_span_id, i, CTR_SPAN_ID_LEN);
        }
        s->recording = s->ended = true;
        s->kind = CTR_KIND_INTERNAL;
        s->name = (struct ctr_str){names[i], strlen(names[i])};
        s->start_ns = T0 + (uint64_t)i * 1000000u;
        s->end_ns = T0 + 50000000u;
        s->attrs = (struct ctr_attr_list){span_attrs, 2, 2, 0};
        spans_ptrs[i] = s;
    }
    return (struct ctr_batch){&test_resource, &test_scope, spans_ptrs, 3};
}

/* ---- helpers ---- */

static char url_buf[128];

static const char *url_for(int port)
{
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d/v1/traces", port);
    return url_buf;
}

static struct ctr_exporter *make_exporter(struct ctr_otlp_http_options *o)
{
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    ctr_log_set_sink(log_sink, NULL);
    setenv("no_proxy", "127.0.0.1", 1); /* loopback never goes through a proxy */
    int rc = ctr_otlp_http_exporter_new(o, &e, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "exporter_new: %s (%s)\n", ctr_err_name(rc), err);
        return NULL;
    }
    return e;
}

static uint64_t ms_since(uint64_t t0)
{
    return (ctr_monotonic_ns() - t0) / 1000000u;
}

/* gunzip `in` into `out`; 0 or -1. */
static int gunzip(const void *in, size_t len, struct ctr_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    int ret;
    do {
        if (ctr_buf_reserve(out, 65536)) {
            inflateEnd(&zs);
            return -1;
        }
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)(out->cap - out->len);
        size_t before = zs.avail_out;
        ret = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
    } while (ret == Z_OK);
    inflateEnd(&zs);
    return ret == Z_STREAM_END && zs.avail_in == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_request_shape_gzip_protobuf(void)
{
    logs_reset();
    struct server *s = server_start(NULL, 0);
    struct ctr_header hdrs[] = {
        {"X-Api-Key", "secret-1"}, {"Authorization", "Bearer abc"}, {"X-Bad", "a\r\nX-Evil: 1"},
        {"Bad Name", "v"},         {"Content-Type", "text/plain"},  {"X-Empty", ""},
    };
    struct ctr_otlp_http_options o = {
        .url = url_for(s->port), .headers = hdrs, .n_headers = 6, .gzip = true};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    size_t n = server_nreqs(s);
    struct ctr_buf want = {0}, got = {0};
    ctr_otlp_proto_encode(&b, &want);
    int gz = n >= 1 ? gunzip(s->reqs[0].body, s->reqs[0].body_len, &got) : -1;
    char ct[128] = "", ce[128] = "", key[128] = "", auth[128] = "", ua[128] = "", xe[8] = "?";
    bool evil = true, empty = false;
    if (n >= 1) {
        const char *h = s->reqs[0].headers;
        header_value(h, "Content-Type", ct, sizeof ct);
        header_value(h, "Content-Encoding", ce, sizeof ce);
        header_value(h, "X-Api-Key", key, sizeof key);
        header_value(h, "Authorization", auth, sizeof auth);
        header_value(h, "User-Agent", ua, sizeof ua);
        empty = header_value(h, "X-Empty", xe, sizeof xe);
        evil = strstr(h, "Evil") != NULL || strstr(h, "text/plain") != NULL;
    }
    char method[16] = "", path[256] = "";
    if (n >= 1) {
        memcpy(method, s->reqs[0].method, sizeof method);
        memcpy(path, s->reqs[0].path, sizeof path);
    }
    uint64_t exported = e ? atomic_load(&e->stats.spans_exported) : 0;
    char dest[512] = "";
    if (e)
        memcpy(dest, e->destination, sizeof dest);
    char url[128];
    memcpy(url, url_buf, sizeof url);
    int same = got.len == want.len && want.len > 0 && memcmp(got.data, want.data, want.len) == 0;
    ctr_buf_free(&want);
    ctr_buf_free(&got);
    ctr_exporter_destroy(e);
    server_free(s);

    ASSERT(e != NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(method, "POST");
    ASSERT_STREQ(path, "/v1/traces");
    ASSERT_STREQ(ct, "application/x-protobuf");
    ASSERT_STREQ(ce, "gzip");
    ASSERT_STREQ(key, "secret-1");
    ASSERT_STREQ(auth, "Bearer abc");
    ASSERT_STREQ(ua, "chaostracing/" CTR_VERSION);
    ASSERT(empty);
    ASSERT_STREQ(xe, "");
    ASSERT(!evil);
    ASSERT_EQ(gz, 0);
    ASSERT(same);
    ASSERT_UEQ(exported, 3);
    ASSERT_STREQ(dest, url);
    /* Three skipped headers, each named in one warning, never their values. */
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "X-Bad"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "Content-Type"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "header #4"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "Evil"), 0);
}

static void test_json_without_gzip(void)
{
    static const char jbody[] = "{}";
    struct step script[] = {{RESPOND, 200, "Content-Type: application/json\r\n", jbody, 2}};
    struct server *s = server_start(script, 1);
    struct ctr_otlp_http_options o = {.url = url_for(s->port), .json = true};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    size_t n = server_nreqs(s);
    struct ctr_buf want = {0};
    ctr_otlp_json_encode(&b, &want);
    char ct[128] = "", ce[128] = "";
    bool has_ce = true;
    int same = 0;
    if (n >= 1) {
        header_value(s->reqs[0].headers, "Content-Type", ct, sizeof ct);
        has_ce = header_value(s->reqs[0].headers, "Content-Encoding", ce, sizeof ce);
        same = s->reqs[0].body_len == want.len && memcmp(s->reqs[0].body, want.data, want.len) == 0;
    }
    uint64_t exported = e ? atomic_load(&e->stats.spans_exported) : 0;
    ctr_buf_free(&want);
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(ct, "application/json");
    ASSERT(!has_ce);
    ASSERT(same);
    ASSERT_UEQ(exported, 3);
}

static void test_retry_503_then_200(void)
{
    logs_reset();
    struct step script[] = {{RESPOND, 503, "", "busy", 4}, {RESPOND, 200, "", NULL, 0}};
    struct server *s = server_start(script, 2);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t el = ms_since(t0);
    size_t n = server_nreqs(s);
    int same = n == 2 && s->reqs[0].body_len == s->reqs[1].body_len &&
               memcmp(s->reqs[0].body, s->reqs[1].body, s->reqs[0].body_len) == 0;
    uint64_t gap = n == 2 ? (s->reqs[1].t_ns - s->reqs[0].t_ns) / 1000000u : 0;
    uint64_t retries = e ? atomic_load(&e->stats.retries) : 0;
    uint64_t exported = e ? atomic_load(&e->stats.spans_exported) : 0;
    uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 0;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 2);
    ASSERT(same);
    ASSERT_UEQ(retries, 1);
    ASSERT_UEQ(exported, 3);
    ASSERT_UEQ(failed, 0);
    /* First backoff: 100 ms with equal jitter, i.e. 50..100 ms. */
    ASSERT(gap >= 45);
    ASSERT(el < 1000);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 0); /* a retried success logs no warning */
}

static void test_no_retry_on_other_codes(void)
{
    static const int codes[] = {400, 401, 404, 413, 500, 501};
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++) {
        logs_reset();
        static const char msg[] = "bad request: field x";
        struct step script[] = {{RESPOND, codes[k], "", msg, sizeof msg - 1}};
        struct server *s = server_start(script, 1);
        struct ctr_otlp_http_options o = {.url = url_for(s->port)};
        struct ctr_exporter *e = make_exporter(&o);
        struct ctr_batch b = test_batch();
        uint64_t t0 = ctr_monotonic_ns();
        int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
        uint64_t el = ms_since(t0);
        size_t n = server_nreqs(s);
        uint64_t retries = e ? atomic_load(&e->stats.retries) : 9;
        uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 0;
        uint64_t bfailed = e ? atomic_load(&e->stats.batches_failed) : 0;
        uint64_t exported = e ? atomic_load(&e->stats.spans_exported) : 9;
        char want[320];
        snprintf(want, sizeof want,
                 "export to %s failed: HTTP %d: bad request: field x (1 attempt)", url_buf,
                 codes[k]);
        ctr_exporter_destroy(e);
        server_free(s);
        ASSERT_EQ(rc, CTR_EHTTP);
        ASSERT_EQ(n, 1);
        ASSERT_UEQ(retries, 0);
        ASSERT_UEQ(failed, 3);
        ASSERT_UEQ(bfailed, 1);
        ASSERT_UEQ(exported, 0);
        ASSERT(el < 500);
        ASSERT_EQ(logs_count(CTR_LOG_WARNING, want), 1);
    }
}

static void test_retry_after_seconds(void)
{
    struct step script[] = {{RESPOND, 429, "Retry-After: 1\r\n", NULL, 0},
                            {RESPOND, 200, "", NULL, 0}};
    struct server *s = server_start(script, 2);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t el = ms_since(t0);
    size_t n = server_nreqs(s);
    uint64_t gap = n == 2 ? (s->reqs[1].t_ns - s->reqs[0].t_ns) / 1000000u : 0;
    uint64_t retries = e ? atomic_load(&e->stats.retries) : 0;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 2);
    ASSERT_UEQ(retries, 1);
    ASSERT(el >= 1000);
    ASSERT(gap >= 1000);
    ASSERT(el < 2500);
}

static void test_retry_after_http_date(void)
{
    /* A date two seconds ahead: at one-second resolution the wait is 1..2 s. */
    char hdr[128];
    time_t when = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(hdr, sizeof hdr, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    struct step script[] = {{RESPOND, 503, hdr, NULL, 0}, {RESPOND, 200, "", NULL, 0}};
    struct server *s = server_start(script, 2);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    size_t n = server_nreqs(s);
    uint64_t gap = n == 2 ? (s->reqs[1].t_ns - s->reqs[0].t_ns) / 1000000u : 0;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 2);
    ASSERT(gap >= 900);
    ASSERT(gap < 2600);
}

static void test_retry_after_beyond_deadline_gives_up(void)
{
    logs_reset();
    struct step script[] = {{RESPOND, 503, "Retry-After: 30\r\n", NULL, 0}};
    struct server *s = server_start(script, 1);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(2000)) : -99;
    uint64_t el = ms_since(t0);
    size_t n = server_nreqs(s);
    uint64_t failed = e ? atomic_load(&e->stats.batches_failed) : 0;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, CTR_ERETRYABLE);
    ASSERT_EQ(n, 1);
    ASSERT(el < 300); /* no sleep that could not end before the deadline */
    ASSERT_UEQ(failed, 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "HTTP 503"), 1);
}

static void test_refused_final_returns_fast(void)
{
    logs_reset();
    struct ctr_otlp_http_options o = {.url = url_for(closed_port())};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    atomic_store(&e->final, true);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t el = ms_since(t0);
    uint64_t retries = atomic_load(&e->stats.retries);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    char want[320];
    snprintf(
        want, sizeof want,
        "chaostracing: export to %s failed: connection refused (1 attempt); 3 spans not delivered",
        url_buf);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc, CTR_ECONNECT);
    ASSERT(el < 200);
    ASSERT_UEQ(retries, 0);
    ASSERT_UEQ(failed, 3);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, want), 1);
}

static void test_refused_retries_until_deadline(void)
{
    struct ctr_otlp_http_options o = {.url = url_for(closed_port())};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(700));
    uint64_t el = ms_since(t0);
    uint64_t retries = atomic_load(&e->stats.retries);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc, CTR_ECONNECT);
    /* Backoffs of 50-100, 100-200, 200-400 ms (equal jitter): the third or
     * fourth attempt is the last one that can start before 700 ms; the next
     * backoff (at least 400 ms) would end past the deadline, so it gives up
     * there rather than sleep past it. */
    ASSERT(retries >= 2 && retries <= 3);
    ASSERT(el >= 250);
    ASSERT(el <= 750);
}

struct finisher {
    struct ctr_exporter *e;
    unsigned delay_ms;
    uint64_t set_at_ns;
};

static void *set_final_later(void *arg)
{
    struct finisher *f = arg;
    struct timespec ts = {(time_t)(f->delay_ms / 1000), (long)(f->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    f->set_at_ns = ctr_monotonic_ns();
    atomic_store(&f->e->final, true);
    return NULL;
}

/* Shutdown beginning while the exporter sleeps between attempts on a refused
 * connection: the sleep is cut short (it is polled every 20 ms) instead of
 * running to its end, which would be up to 1.6 s at these stages. */
static void test_final_cuts_backoff_short(void)
{
    static const unsigned delays[] = {600, 1100};
    for (size_t k = 0; k < 2; k++) {
        struct ctr_otlp_http_options o = {.url = url_for(closed_port())};
        struct ctr_exporter *e = make_exporter(&o);
        ASSERT(e != NULL);
        struct finisher f = {e, delays[k], 0};
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, NULL, set_final_later, &f), 0);
        struct ctr_batch b = test_batch();
        uint64_t t0 = ctr_monotonic_ns();
        int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
        uint64_t end = ctr_monotonic_ns();
        pthread_join(th, NULL);
        uint64_t retries = atomic_load(&e->stats.retries);
        ctr_exporter_destroy(e);
        ASSERT_EQ(rc, CTR_ECONNECT);
        ASSERT((end - t0) / 1000000u >= delays[k]);
        ASSERT(retries >= 2);
        /* Returned within 100 ms of `final` being set. */
        if (end - f.set_at_ns > 100000000u)
            TEST_FAIL_AT("returned %llu ms after final was set",
                         (unsigned long long)((end - f.set_at_ns) / 1000000u));
    }
}

static void test_silent_server_deadline(void)
{
    struct step script[] = {{SILENT, 0, NULL, NULL, 0}};
    struct server *s = server_start(script, 1);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(600)) : -99;
    uint64_t el = ms_since(t0);
    size_t n = server_nreqs(s);
    uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 0;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, CTR_ETIMEOUT);
    ASSERT_EQ(n, 1);
    ASSERT(el >= 550);
    ASSERT(el < 900);
    ASSERT_UEQ(failed, 3);
}

static void test_own_timeout_option(void)
{
    struct step script[] = {{SILENT, 0, NULL, NULL, 0}};
    struct server *s = server_start(script, 1);
    struct ctr_otlp_http_options o = {.url = url_for(s->port), .timeout_ms = 300};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t el = ms_since(t0);
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, CTR_ETIMEOUT);
    ASSERT(el >= 280);
    ASSERT(el < 600);
}

static void test_closed_without_answer_is_retried(void)
{
    struct step script[] = {{CLOSE, 0, NULL, NULL, 0}, {RESPOND, 200, "", NULL, 0}};
    struct server *s = server_start(script, 2);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    size_t n = server_nreqs(s);
    uint64_t retries = e ? atomic_load(&e->stats.retries) : 0;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 2);
    ASSERT_UEQ(retries, 1);
}

static void test_partial_success(void)
{
    logs_reset();
    /* ExportTraceServiceResponse{partial_success{rejected_spans: 2,
     * error_message: "bad spans"}} */
    static const uint8_t resp[] = {0x0a, 0x0d, 0x08, 0x02, 0x12, 0x09, 'b', 'a',
                                   'd',  ' ',  's',  'p',  'a',  'n',  's'};
    struct step script[] = {
        {RESPOND, 200, "Content-Type: application/x-protobuf\r\n", resp, sizeof resp}};
    struct server *s = server_start(script, 1);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t rejected = e ? atomic_load(&e->stats.spans_rejected) : 0;
    uint64_t exported = e ? atomic_load(&e->stats.spans_exported) : 0;
    uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 9;
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_UEQ(rejected, 2);
    ASSERT_UEQ(exported, 1);
    ASSERT_UEQ(failed, 0);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "rejected 2 of 3 spans: bad spans"), 1);
}

static void test_failure_logged_once_until_success(void)
{
    logs_reset();
    struct step script[] = {{RESPOND, 400, "", NULL, 0},
                            {RESPOND, 400, "", NULL, 0},
                            {RESPOND, 400, "", NULL, 0},
                            {RESPOND, 200, "", NULL, 0},
                            {RESPOND, 400, "", NULL, 0}};
    struct server *s = server_start(script, 5);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rcs[5];
    for (int i = 0; i < 5; i++)
        rcs[i] = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    size_t warn_after_success = logs_count(CTR_LOG_WARNING, "HTTP 400");
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rcs[0], CTR_EHTTP);
    ASSERT_EQ(rcs[2], CTR_EHTTP);
    ASSERT_EQ(rcs[3], 0);
    ASSERT_EQ(rcs[4], CTR_EHTTP);
    /* 400, 400, 400 -> one WARNING and two DEBUG; the success resets; the
     * next 400 warns again. */
    ASSERT_EQ(warn_after_success, 2);
    ASSERT_EQ(logs_count(CTR_LOG_DEBUG, "HTTP 400"), 2);

    /* The collector being down: one warning for many refused exports. */
    logs_reset();
    struct ctr_otlp_http_options o2 = {.url = url_for(closed_port())};
    e = make_exporter(&o2);
    ASSERT(e != NULL);
    atomic_store(&e->final, true);
    for (int i = 0; i < 4; i++)
        ctr_exporter_export(e, &b, ctr_deadline_after_ms(2000));
    ctr_exporter_destroy(e);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "connection refused"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_DEBUG, "connection refused"), 3);
}

static void test_too_big_is_refused(void)
{
    logs_reset();
    struct server *s = server_start(NULL, 0);
    size_t big_len = 65u * 1024u * 1024u;
    char *big = malloc(big_len);
    ASSERT(big != NULL);
    memset(big, 'z', big_len);
    struct ctr_attr attr = {{"blob", 4}, {.type = CTR_VALUE_STRING, .u.s = {big, big_len}}};
    struct ctr_batch b = test_batch();
    spans_store[0].attrs = (struct ctr_attr_list){&attr, 1, 1, 0};

    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 0;
    uint64_t bfailed = e ? atomic_load(&e->stats.batches_failed) : 0;
    ctr_exporter_destroy(e);
    size_t n_plain = server_nreqs(s);

    /* The same batch gzip'd is far below the cap and goes through. */
    o.gzip = true;
    e = make_exporter(&o);
    int rc_gz = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(10000)) : -99;
    ctr_exporter_destroy(e);
    size_t n_total = server_nreqs(s);
    server_free(s);
    free(big);
    ASSERT_EQ(rc, CTR_ETOOBIG);
    ASSERT_EQ(n_plain, 0);
    ASSERT_UEQ(failed, 3);
    ASSERT_UEQ(bfailed, 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "64 MiB"), 1);
    ASSERT_EQ(rc_gz, 0);
    ASSERT_EQ(n_total, 1);
}

static void test_bad_urls(void)
{
    static const char *bad[] = {"ftp://127.0.0.1/v1/traces",
                                "127.0.0.1:4318",
                                "http://",
                                "http:///v1/traces",
                                "http://host/a b",
                                "",
                                "unix:///tmp/s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_otlp_http_options o = {.url = bad[i]};
        struct ctr_exporter *e = (struct ctr_exporter *)1;
        char err[256] = "";
        int rc = ctr_otlp_http_exporter_new(&o, &e, err, sizeof err);
        if (rc != CTR_EINVAL)
            TEST_FAIL_AT("url \"%s\": %s, want CTR_EINVAL", bad[i], ctr_err_name(rc));
        ASSERT(e == NULL);
        ASSERT(strstr(err, "http://") != NULL);
    }
    struct ctr_otlp_http_options none = {0};
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    ASSERT_EQ(ctr_otlp_http_exporter_new(&none, &e, err, sizeof err), CTR_EINVAL);
    ASSERT(err[0] != '\0');
    /* Scheme is case-insensitive; https is accepted. */
    struct ctr_otlp_http_options ok1 = {.url = "HTTP://127.0.0.1:4318/v1/traces"};
    ASSERT_EQ(ctr_otlp_http_exporter_new(&ok1, &e, err, sizeof err), 0);
    ASSERT_STREQ(e->ops->name, "otlp-http");
    ctr_exporter_destroy(e);
    struct ctr_otlp_http_options ok2 = {.url = "https://collector.example:4318/v1/traces",
                                        .ca_file = "/nonexistent/ca.pem"};
    ASSERT_EQ(ctr_otlp_http_exporter_new(&ok2, &e, err, sizeof err), 0);
    ctr_exporter_destroy(e);
}

static void test_shutdown_then_export(void)
{
    struct server *s = server_start(NULL, 0);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc1 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    int rc2 = ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000));
    int rc3 = ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000));
    int rc4 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 0;
    ctr_exporter_destroy(e);
    size_t n = server_nreqs(s);
    server_free(s);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc2, 0);
    ASSERT_EQ(rc3, 0);
    ASSERT_EQ(rc4, CTR_ESHUTDOWN);
    ASSERT_UEQ(failed, 3);
    ASSERT_EQ(n, 1);
}

static void test_empty_batch_sends_nothing(void)
{
    struct server *s = server_start(NULL, 0);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    b.len = 0;
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    ctr_exporter_destroy(e);
    size_t n = server_nreqs(s);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 0);
}

static void test_after_fork_child_uses_new_connection(void)
{
    struct server *s = server_start(NULL, 0);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    struct ctr_batch b = test_batch();
    int rc1 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000));
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        e->ops->after_fork_child(e);
        int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000));
        _exit(rc == 0 ? 0 : 1);
    }
    int status = -1;
    if (pid > 0)
        waitpid(pid, &status, 0);
    /* The parent's connection still works and is reused. */
    int rc3 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000));
    ctr_exporter_destroy(e);
    size_t n = server_nreqs(s);
    int conns[3] = {0, 0, 0};
    for (size_t i = 0; i < n && i < 3; i++)
        conns[i] = s->reqs[i].conn_no;
    server_free(s);
    ASSERT(pid > 0);
    ASSERT_EQ(rc1, 0);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(rc3, 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(conns[0], 1);
    ASSERT_EQ(conns[1], 2); /* the child opened its own connection */
    ASSERT_EQ(conns[2], 1); /* the parent kept its own */
}

static void test_tls_errors_are_not_retried(void)
{
    logs_reset();
    struct server *s = server_start(NULL, 0);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/v1/traces", s->port);
    /* A plain-HTTP server behind an https:// URL: the handshake fails. */
    struct ctr_otlp_http_options o = {.url = url, .insecure_skip_verify = true};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    uint64_t el = ms_since(t0);
    uint64_t retries = e ? atomic_load(&e->stats.retries) : 9;
    ctr_exporter_destroy(e);
    /* A CA bundle that does not exist. */
    struct ctr_otlp_http_options o2 = {.url = url, .ca_file = "/nonexistent/ca.pem"};
    e = make_exporter(&o2);
    int rc2 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    ctr_exporter_destroy(e);
    pthread_mutex_lock(&s->mu);
    int tls = s->n_tls;
    pthread_mutex_unlock(&s->mu);
    size_t n = server_nreqs(s);
    server_free(s);
    ASSERT_EQ(rc, CTR_ETLS);
    ASSERT_UEQ(retries, 0);
    ASSERT(el < 1000);
    ASSERT_EQ(rc2, CTR_ETLS);
    ASSERT(tls >= 1 && tls <= 2);
    ASSERT_EQ(n, 0);
    ASSERT(logs_count(CTR_LOG_WARNING, "TLS error") >= 1);
}

static void test_large_response_is_cut(void)
{
    logs_reset();
    size_t big = 5u * 1024u * 1024u;
    uint8_t *body = malloc(big);
    ASSERT(body != NULL);
    memset(body, 0x0a, big); /* field 1, length 10, ...: garbage past the cap */
    struct step script[] = {{RESPOND, 200, "", body, big}, {RESPOND, 200, "", NULL, 0}};
    struct server *s = server_start(script, 2);
    struct ctr_otlp_http_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    struct ctr_batch b = test_batch();
    int rc1 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    int rc2 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t exported = e ? atomic_load(&e->stats.spans_exported) : 0;
    ctr_exporter_destroy(e);
    size_t n = server_nreqs(s);
    int conn2 = n >= 2 ? s->reqs[1].conn_no : 0;
    server_free(s);
    free(body);
    ASSERT_EQ(rc1, 0); /* 200 is a success even if the body cannot be read */
    ASSERT_EQ(rc2, 0);
    ASSERT_UEQ(exported, 6);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(conn2, 2); /* the cut connection was not reused */
    ASSERT_EQ(logs_count(CTR_LOG_DEBUG, "could not decode the response"), 1);
}

static void test_setup(void)
{
    ctr_log_set_sink(log_sink, NULL);
}

TEST_MAIN(TEST_CASE(test_setup), TEST_CASE(test_request_shape_gzip_protobuf),
          TEST_CASE(test_json_without_gzip), TEST_CASE(test_retry_503_then_200),
          TEST_CASE(test_no_retry_on_other_codes), TEST_CASE(test_retry_after_seconds),
          TEST_CASE(test_retry_after_http_date),
          TEST_CASE(test_retry_after_beyond_deadline_gives_up),
          TEST_CASE(test_refused_final_returns_fast),
          TEST_CASE(test_refused_retries_until_deadline), TEST_CASE(test_final_cuts_backoff_short),
          TEST_CASE(test_silent_server_deadline), TEST_CASE(test_own_timeout_option),
          TEST_CASE(test_closed_without_answer_is_retried), TEST_CASE(test_partial_success),
          TEST_CASE(test_failure_logged_once_until_success), TEST_CASE(test_too_big_is_refused),
          TEST_CASE(test_bad_urls), TEST_CASE(test_shutdown_then_export),
          TEST_CASE(test_empty_batch_sends_nothing),
          TEST_CASE(test_after_fork_child_uses_new_connection),
          TEST_CASE(test_tls_errors_are_not_retried), TEST_CASE(test_large_response_is_cut))
