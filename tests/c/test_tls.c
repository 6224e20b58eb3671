/*
 * TLS settings of the HTTP exporters (OTLP/HTTP and Zipkin) that can be
 * checked without a TLS server: skipping verification is announced once, at
 * creation; a client key without a certificate is reported; unreadable CA,
 * certificate and key files are TLS failures that name the file and are not
 * retried. The handshakes themselves (verification, host names, client
 * certificates) are tested end to end in tests/python/test_tls.py.
 */
#include <chaostracing/exporter.h>

#include "log_capture.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- helpers ---- */

enum kind { OTLP, ZIPKIN };

/* Create an exporter of `kind` for `url` with the TLS settings `tls`.
 * Returns the CTR_E* of the constructor. */
static int make(enum kind kind, const char *url, const struct ctr_tls_options *tls,
                struct ctr_exporter **out)
{
    char err[256] = "";
    int rc;
    setenv("no_proxy", "127.0.0.1", 1);
    if (kind == OTLP) {
        struct ctr_otlp_http_options o = {
            .url = url,
            .ca_file = tls->ca_file,
            .client_cert = tls->client_cert,
            .client_key = tls->client_key,
            .insecure_skip_verify = tls->insecure_skip_verify,
        };
        rc = ctr_otlp_http_exporter_new(&o, out, err, sizeof err);
    } else {
        struct ctr_zipkin_options o = {.url = url, .tls = *tls};
        rc = ctr_zipkin_exporter_new(&o, out, err, sizeof err);
    }
    if (rc)
        fprintf(stderr, "exporter_new: %s (%s)\n", ctr_err_name(rc), err);
    return rc;
}

/* A loopback socket that listens but never accepts: TCP connects, nothing
 * ever answers. Returns the fd; *port gets its port. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        perror("silent_listener");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A one-span batch. */
static struct ctr_span one_span;
static struct ctr_span *one_ptr = &one_span;
static struct ctr_scope scope = {{"chaostracing", 12}, {CTR_VERSION, sizeof CTR_VERSION - 1}};

static struct ctr_batch batch(void)
{
    memset(&one_span, 0, sizeof one_span);
    memset(one_span.ctx.trace_id, 0x11, CTR_TRACE_ID_LEN);
    memset(one_span.ctx.span_id, 0x22, CTR_SPAN_ID_LEN);
    one_span.name = (struct ctr_str){"s", 1};
    one_span.start_ns = 1700000000000000000ull;
    one_span.end_ns = one_span.start_ns + 1000;
    one_span.recording = one_span.ended = true;
    return (struct ctr_batch){NULL, &scope, &one_ptr, 1};
}

/* ---- tests ---- */

static void check_insecure_warning(enum kind kind)
{
    logs_reset();
    struct ctr_exporter *e = NULL;
    struct ctr_tls_options tls = {0};
    int rc1 = make(kind, "https://127.0.0.1:1/x", &tls, &e);
    ctr_exporter_destroy(e);
    size_t before = logs_count(-1, "");
    tls.insecure_skip_verify = true;
    e = NULL;
    int rc2 = make(kind, "https://127.0.0.1:1/x", &tls, &e);
    size_t at_creation = logs_count(CTR_LOG_WARNING, "verification is disabled");
    /* Using the exporter does not repeat it. */
    struct ctr_batch b = batch();
    if (e)
        atomic_store(&e->final, true);
    int rc3 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(2000)) : -99;
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc2, 0);
    ASSERT_EQ(rc3, CTR_ECONNECT);
    ASSERT_UEQ(before, 0);
    ASSERT_UEQ(at_creation, 1);
    ASSERT_UEQ(logs_count(CTR_LOG_WARNING, "verification is disabled"), 1);
    ASSERT_UEQ(logs_count(CTR_LOG_WARNING, "insecure_skip_verify"), 1);
}

static void test_insecure_warns_once_otlp_http(void)
{
    check_insecure_warning(OTLP);
}

static void test_insecure_warns_once_zipkin(void)
{
    check_insecure_warning(ZIPKIN);
}

static void test_client_key_without_certificate_warns(void)
{
    for (int k = OTLP; k <= ZIPKIN; k++) {
        logs_reset();
        struct ctr_exporter *e = NULL;
        struct ctr_tls_options tls = {.client_key = "/some/client.key"};
        int rc = make((enum kind)k, "https://127.0.0.1:1/x", &tls, &e);
        ctr_exporter_destroy(e);
        ASSERT_EQ(rc, 0);
        ASSERT_UEQ(logs_count(CTR_LOG_WARNING, "client key was given without a client"), 1);
        ASSERT_UEQ(logs_count(-1, ""), 1);
        /* With the certificate as well, nothing to say. */
        logs_reset();
        tls.client_cert = "/some/client.pem";
        rc = make((enum kind)k, "https://127.0.0.1:1/x", &tls, &e);
        ctr_exporter_destroy(e);
        ASSERT_EQ(rc, 0);
        ASSERT_UEQ(logs_count(-1, ""), 0);
    }
}

/* An unreadable file in `tls`: the export is a TLS failure naming `file`,
 * made once (not retried) and well before the deadline. */
static void check_bad_file(enum kind kind, const struct ctr_tls_options *tls, const char *file)
{
    logs_reset();
    int port;
    int lfd = silent_listener(&port);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/x", port);
    struct ctr_exporter *e = NULL;
    int rc = make(kind, url, tls, &e);
    struct ctr_batch b = batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc2 = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(3000)) : -99;
    uint64_t ms = (ctr_monotonic_ns() - t0) / 1000000u;
    uint64_t retries = e ? atomic_load(&e->stats.retries) : 99;
    uint64_t failed = e ? atomic_load(&e->stats.spans_failed) : 0;
    ctr_exporter_destroy(e);
    close(lfd);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(rc2, CTR_ETLS);
    ASSERT_UEQ(retries, 0);
    ASSERT_UEQ(failed, 1);
    ASSERT(ms < 1000);
    ASSERT_UEQ(logs_count(CTR_LOG_WARNING, "TLS error"), 1);
    ASSERT_UEQ(logs_count(CTR_LOG_WARNING, file), 1);
    ASSERT_UEQ(logs_count(CTR_LOG_WARNING, "(1 attempt)"), 1);
}

static void test_missing_ca_file(void)
{
    struct ctr_tls_options tls = {.ca_file = "/nonexistent/chaostracing-ca.pem"};
    check_bad_file(OTLP, &tls, "chaostracing-ca.pem");
    check_bad_file(ZIPKIN, &tls, "chaostracing-ca.pem");
}

static void test_missing_client_certificate_file(void)
{
    struct ctr_tls_options tls = {.client_cert = "/nonexistent/chaostracing-client.pem",
                                  .client_key = "/nonexistent/chaostracing-client.key"};
    check_bad_file(OTLP, &tls, "chaostracing-client.pem");
    check_bad_file(ZIPKIN, &tls, "chaostracing-client.pem");
}

static void test_setup(void)
{
    ctr_log_set_sink(log_sink, NULL);
}

TEST_MAIN(TEST_CASE(test_setup), TEST_CASE(test_insecure_warns_once_otlp_http),
          TEST_CASE(test_insecure_warns_once_zipkin),
          TEST_CASE(test_client_key_without_certificate_warns), TEST_CASE(test_missing_ca_file),
          TEST_CASE(test_missing_client_certificate_file))
