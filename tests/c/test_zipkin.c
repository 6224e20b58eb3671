/*
 * The Zipkin v2 JSON encoder (exact text for hand-built spans) and the Zipkin
 * exporter against a small scriptable HTTP/1.1 server running in a thread of
 * this test on 127.0.0.1: request shape, 202/2xx, retries, failures logged
 * once, bad URLs, the insecure warning.
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
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- spans built by hand ---- */

#define T0 1700000000000000000ull /* 2023-11-14T22:13:20Z */

#define V_STR(x)                                                                                   \
    {                                                                                              \
        .type = CTR_VALUE_STRING, .u.s = { x, sizeof(x) - 1 }                                      \
    }
#define V_INT(v)                                                                                   \
    {                                                                                              \
        .type = CTR_VALUE_INT, .u.i = (v)                                                          \
    }
#define V_BOOL(v)                                                                                  \
    {                                                                                              \
        .type = CTR_VALUE_BOOL, .u.b = (v)                                                         \
    }
#define V_DBL(v)                                                                                   \
    {                                                                                              \
        .type = CTR_VALUE_DOUBLE, .u.d = (v)                                                       \
    }
#define KEY_(k)                                                                                    \
    {                                                                                              \
        k, sizeof(k) - 1                                                                           \
    }

static struct ctr_attr res_attrs[] = {
    {KEY_("host.name"), V_STR("box")},
    {KEY_("service.name"), V_STR("chaos-svc")},
    {KEY_("http.method"), V_STR("POST")}, /* span 2's own http.method wins */
};
static struct ctr_resource resource = {.attrs = {res_attrs, 3, 3, 0}};
static struct ctr_scope scope = {{"chaostracing", 12}, {"1.2.3", 5}};

static struct ctr_value str_items[] = {V_STR("a\"b"), V_STR("c")};
static struct ctr_value int_items[] = {V_INT(1), V_INT(-2)};
static struct ctr_value dbl_items[] = {V_DBL(0.5), V_DBL(1e300)};
static struct ctr_value bool_items[] = {V_BOOL(true), V_BOOL(false)};

static struct ctr_attr root_attrs[] = {
    {KEY_("s"), V_STR("h\xc3\xa9llo \"w\"\n")},
    {KEY_("i"), V_INT(-42)},
    {KEY_("big"), V_INT(INT64_MIN)},
    {KEY_("b.true"), V_BOOL(true)},
    {KEY_("b.false"), V_BOOL(false)},
    {KEY_("d"), V_DBL(2.5)},
    {KEY_("d.int"), V_DBL(3.0)},
    {KEY_("d.tiny"), V_DBL(1e-7)},
    {KEY_("bytes"), {.type = CTR_VALUE_BYTES, .u.s = {"\x00\x01\x02\xff", 4}}},
    {KEY_("arr.s"), {.type = CTR_VALUE_ARRAY, .u.array = {str_items, 2}}},
    {KEY_("arr.i"), {.type = CTR_VALUE_ARRAY, .u.array = {int_items, 2}}},
    {KEY_("arr.d"), {.type = CTR_VALUE_ARRAY, .u.array = {dbl_items, 2}}},
    {KEY_("arr.b"), {.type = CTR_VALUE_ARRAY, .u.array = {bool_items, 2}}},
    {KEY_("arr.empty"), {.type = CTR_VALUE_ARRAY, .u.array = {NULL, 0}}},
};
static struct ctr_attr ev_attrs[] = {
    {KEY_("exception.type"), V_STR("ValueError")},
    {KEY_("n"), V_INT(7)},
    {KEY_("ok"), V_BOOL(false)},
};
static struct ctr_event root_events[] = {
    {T0 + 2000000, {"started", 7}, {NULL, 0, 0, 0}},
    {T0 + 3000999, {"exception", 9}, {ev_attrs, 3, 3, 0}},
    {T0 + 4000000, {"with \"quotes\"", 13}, {NULL, 0, 0, 2}},
};
static struct ctr_link root_links[] = {
    {{{9}, {9}, 1, false, {NULL, 0}}, {NULL, 0, 0, 0}},
};

static struct ctr_attr client_attrs[] = {
    {KEY_("http.method"), V_STR("GET")},          {KEY_("error"), V_BOOL(true)},
    {KEY_("otel.status_code"), V_STR("spoofed")}, {KEY_("server.address"), V_STR("example.com")},
    {KEY_("peer.service"), V_STR("backend")},
};
static struct ctr_attr internal_attrs[] = {
    {KEY_("error"), V_STR("FALSE")},
};
static struct ctr_attr producer_attrs[] = {
    {KEY_("network.peer.address"), V_STR("2001:db8::1")},
    {KEY_("network.peer.port"), V_INT(5672)},
    {KEY_("error"), V_BOOL(false)},
};
static struct ctr_attr producer4_attrs[] = {
    {KEY_("net.sock.peer.addr"), V_STR("10.1.2.3")},
    {KEY_("net.sock.peer.port"), V_STR("443")},
};
static struct ctr_attr consumer_attrs[] = {
    {KEY_("peer.service"), V_STR("queue")},
    {KEY_("error"), V_STR("disk full")},
};

static struct ctr_span spans_store[6];
static struct ctr_span *spans_ptrs[6];

static void ids(struct ctr_span *s, uint8_t n, bool parent)
{
    for (int i = 0; i < CTR_TRACE_ID_LEN; i++)
        s->ctx.trace_id[i] = (uint8_t)(0xa0 + i);
    memset(s->ctx.span_id, 0, CTR_SPAN_ID_LEN);
    s->ctx.span_id[0] = 0xf0;
    s->ctx.span_id[7] = n;
    s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    s->has_parent = parent;
    if (parent) {
        memset(s->parent_span_id, 0, CTR_SPAN_ID_LEN);
        s->parent_span_id[0] = 0xf0;
        s->parent_span_id[7] = 1;
    }
    s->recording = s->ended = true;
}

/* Six spans of one trace covering the mapping's cases. */
static struct ctr_batch test_batch(void)
{
    struct ctr_span *s;
    memset(spans_store, 0, sizeof spans_store);

    s = &spans_store[0]; /* root SERVER, OK, every attribute type, events, a link */
    ids(s, 1, false);
    s->kind = CTR_KIND_SERVER;
    s->name = (struct ctr_str){"chaos run", 9};
    s->start_ns = T0 + 1234567;
    s->end_ns = T0 + 9876543210ull;
    s->status = CTR_STATUS_OK;
    s->attrs = (struct ctr_attr_list){root_attrs, 14, 14, 0};
    s->events = root_events;
    s->events_len = 3;
    s->links = root_links;
    s->links_len = 1;
    s->ctx.trace_state = (struct ctr_str){"k=v", 3};

    s = &spans_store[1]; /* CLIENT, ERROR, dropped counts, peer attributes */
    ids(s, 2, true);
    s->kind = CTR_KIND_CLIENT;
    s->name = (struct ctr_str){"GET /health", 11};
    s->start_ns = T0 + 5000000;
    s->end_ns = T0 + 5000500; /* 500 ns: rounds up to 1 us */
    s->status = CTR_STATUS_ERROR;
    s->status_message = (struct ctr_str){"boom \"x\"", 8};
    s->attrs = (struct ctr_attr_list){client_attrs, 5, 5, 3};
    s->events_dropped = 4;
    s->links_dropped = 5;

    s = &spans_store[2]; /* INTERNAL, unset status, only an "error" saying false */
    ids(s, 3, true);
    s->kind = CTR_KIND_INTERNAL;
    s->name = (struct ctr_str){"\xe2\x9c\x93 step", 8};
    s->start_ns = T0 + 6000000;
    s->end_ns = T0 + 5000000; /* ends before it starts */
    s->attrs = (struct ctr_attr_list){internal_attrs, 1, 1, 0};

    s = &spans_store[3]; /* PRODUCER, IPv6 peer with port, ERROR without message */
    ids(s, 4, true);
    s->kind = CTR_KIND_PRODUCER;
    s->name = (struct ctr_str){"publish", 7};
    s->start_ns = T0 + 7000000;
    s->end_ns = T0 + 7002999;
    s->status = CTR_STATUS_ERROR;
    s->attrs = (struct ctr_attr_list){producer_attrs, 3, 3, 0};

    s = &spans_store[4]; /* PRODUCER, IPv4 peer with a port given as text */
    ids(s, 5, true);
    s->kind = CTR_KIND_PRODUCER;
    s->start_ns = T0 + 8000000;
    s->end_ns = T0 + 8001000;
    s->attrs = (struct ctr_attr_list){producer4_attrs, 2, 2, 0};

    s = &spans_store[5]; /* CONSUMER: no remote endpoint; a true "error" stays */
    ids(s, 6, true);
    s->kind = CTR_KIND_CONSUMER;
    s->name = (struct ctr_str){"consume", 7};
    s->start_ns = T0 + 9000000;
    s->end_ns = T0 + 9000000;
    s->attrs = (struct ctr_attr_list){consumer_attrs, 2, 2, 0};

    for (int i = 0; i < 6; i++)
        spans_ptrs[i] = &spans_store[i];
    return (struct ctr_batch){&resource, &scope, spans_ptrs, 6};
}

#define TID "\"traceId\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\""
#define LOCAL "\"localEndpoint\":{\"serviceName\":\"chaos-svc\"}"
#define SCOPE_TAGS                                                                                 \
    "\"otel.scope.name\":\"chaostracing\",\"otel.scope.version\":\"1.2.3\","                       \
    "\"otel.library.name\":\"chaostracing\",\"otel.library.version\":\"1.2.3\""
#define RES_TAGS "\"host.name\":\"box\",\"http.method\":\"POST\""

static const char golden[] =
    "["
    /* span 1 */
    "{" TID ",\"id\":\"f000000000000001\",\"kind\":\"SERVER\",\"name\":\"chaos run\","
    "\"timestamp\":1700000000001234,\"duration\":9875309," LOCAL ","
    "\"annotations\":["
    "{\"timestamp\":1700000000002000,\"value\":\"started\"},"
    "{\"timestamp\":1700000000003000,\"value\":"
    "\"\\\"exception\\\":{\\\"exception.type\\\":\\\"ValueError\\\",\\\"n\\\":7,"
    "\\\"ok\\\":false}\"},"
    "{\"timestamp\":1700000000004000,\"value\":"
    "\"\\\"with \\\\\\\"quotes\\\\\\\"\\\":{\\\"otel.dropped_attributes_count\\\":2}\"}"
    "],"
    "\"tags\":{"
    "\"s\":\"h\xc3\xa9llo \\\"w\\\"\\n\","
    "\"i\":\"-42\","
    "\"big\":\"-9223372036854775808\","
    "\"b.true\":\"true\","
    "\"b.false\":\"false\","
    "\"d\":\"2.5\","
    "\"d.int\":\"3.0\","
    "\"d.tiny\":\"1e-07\","
    "\"bytes\":\"AAEC/w==\","
    "\"arr.s\":\"[\\\"a\\\\\\\"b\\\",\\\"c\\\"]\","
    "\"arr.i\":\"[1,-2]\","
    "\"arr.d\":\"[0.5,1e+300]\","
    "\"arr.b\":\"[true,false]\","
    "\"arr.empty\":\"[]\"," RES_TAGS "," SCOPE_TAGS ",\"otel.status_code\":\"OK\"}"
    "},"
    /* span 2 */
    "{" TID ",\"parentId\":\"f000000000000001\",\"id\":\"f000000000000002\","
    "\"kind\":\"CLIENT\",\"name\":\"GET /health\",\"timestamp\":1700000000005000,"
    "\"duration\":1," LOCAL ",\"remoteEndpoint\":{\"serviceName\":\"backend\"},"
    "\"tags\":{\"http.method\":\"GET\",\"server.address\":\"example.com\","
    "\"peer.service\":\"backend\",\"host.name\":\"box\",\"otel.dropped_attributes_count\":\"3\","
    "\"otel.dropped_events_count\":\"4\",\"otel.dropped_links_count\":\"5\"," SCOPE_TAGS ","
    "\"otel.status_code\":\"ERROR\",\"error\":\"boom \\\"x\\\"\"}"
    "},"
    /* span 3 */
    "{" TID ",\"parentId\":\"f000000000000001\",\"id\":\"f000000000000003\","
    "\"name\":\"\xe2\x9c\x93 step\",\"timestamp\":1700000000006000,\"duration\":1," LOCAL ","
    "\"tags\":{" RES_TAGS "," SCOPE_TAGS "}"
    "},"
    /* span 4 */
    "{" TID ",\"parentId\":\"f000000000000001\",\"id\":\"f000000000000004\","
    "\"kind\":\"PRODUCER\",\"name\":\"publish\",\"timestamp\":1700000000007000,"
    "\"duration\":2," LOCAL ",\"remoteEndpoint\":{\"ipv6\":\"2001:db8::1\",\"port\":5672},"
    "\"tags\":{\"network.peer.address\":\"2001:db8::1\",\"network.peer.port\":\"5672\","
    "" RES_TAGS "," SCOPE_TAGS ",\"otel.status_code\":\"ERROR\",\"error\":\"\"}"
    "},"
    /* span 5 */
    "{" TID ",\"parentId\":\"f000000000000001\",\"id\":\"f000000000000005\","
    "\"kind\":\"PRODUCER\",\"timestamp\":1700000000008000,\"duration\":1," LOCAL ","
    "\"remoteEndpoint\":{\"ipv4\":\"10.1.2.3\",\"port\":443},"
    "\"tags\":{\"net.sock.peer.addr\":\"10.1.2.3\",\"net.sock.peer.port\":\"443\"," RES_TAGS
    "," SCOPE_TAGS "}"
    "},"
    /* span 6 */
    "{" TID ",\"parentId\":\"f000000000000001\",\"id\":\"f000000000000006\","
    "\"kind\":\"CONSUMER\",\"name\":\"consume\",\"timestamp\":1700000000009000,"
    "\"duration\":1," LOCAL ","
    "\"tags\":{\"peer.service\":\"queue\",\"error\":\"disk full\"," RES_TAGS "," SCOPE_TAGS "}"
    "}"
    "]";

/* Encode `b` into a fresh NUL-terminated string (caller frees), or NULL. */
static char *encode(const struct ctr_batch *b, int *rc)
{
    struct ctr_buf out = {0};
    *rc = ctr_zipkin_json_encode(b, &out);
    ctr_buf_putc(&out, '\0');
    if (out.err) {
        ctr_buf_free(&out);
        return NULL;
    }
    return (char *)out.data;
}

/* Print where two strings first differ, to make a golden mismatch readable. */
static void show_diff(const char *got, const char *want)
{
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    size_t from = i > 60 ? i - 60 : 0;
    fprintf(stderr, "first difference at byte %zu\n  got:  ...%.120s\n  want: ...%.120s\n", i,
            got + from, want + from);
}

/* ---- encoder tests ---- */

static void test_golden_batch(void)
{
    struct ctr_batch b = test_batch();
    int rc;
    char *got = encode(&b, &rc);
    ASSERT(got != NULL);
    ASSERT_EQ(rc, 0);
    if (strcmp(got, golden) != 0)
        show_diff(got, golden);
    int same = strcmp(got, golden) == 0;
    free(got);
    ASSERT(same);
}

static void test_service_name_fallbacks(void)
{
    struct ctr_batch b = test_batch();
    b.len = 1;
    spans_store[0].attrs.len = 0;
    spans_store[0].events_len = 0;
    spans_store[0].status = CTR_STATUS_UNSET;
    b.scope = NULL;
    static const char want_unknown[] =
        "[{" TID ",\"id\":\"f000000000000001\",\"kind\":\"SERVER\",\"name\":\"chaos run\","
        "\"timestamp\":1700000000001234,\"duration\":9875309,"
        "\"localEndpoint\":{\"serviceName\":\"unknown_service\"}}]";
    int rc;
    /* No resource at all. */
    b.resource = NULL;
    char *got = encode(&b, &rc);
    ASSERT(got != NULL);
    int ok1 = strcmp(got, want_unknown) == 0;
    if (!ok1)
        show_diff(got, want_unknown);
    free(got);
    /* A resource whose service.name is not a string. */
    struct ctr_attr bad[] = {{KEY_("service.name"), V_INT(5)}};
    struct ctr_resource r = {.attrs = {bad, 1, 1, 0}};
    b.resource = &r;
    got = encode(&b, &rc);
    ASSERT(got != NULL);
    int ok2 = strcmp(got, want_unknown) == 0;
    free(got);
    ASSERT(ok1);
    ASSERT(ok2);
    ASSERT_EQ(rc, 0);
    /* A span without a start time has neither timestamp nor duration. */
    spans_store[0].start_ns = 0;
    static const char want_no_times[] =
        "[{" TID ",\"id\":\"f000000000000001\",\"kind\":\"SERVER\",\"name\":\"chaos run\","
        "\"localEndpoint\":{\"serviceName\":\"unknown_service\"}}]";
    got = encode(&b, &rc);
    ASSERT(got != NULL);
    int ok3 = strcmp(got, want_no_times) == 0;
    if (!ok3)
        show_diff(got, want_no_times);
    free(got);
    ASSERT(ok3);
}

static void test_appends_and_errors(void)
{
    struct ctr_batch b = test_batch();
    struct ctr_buf out = {0};
    ctr_buf_puts(&out, "prefix");
    ASSERT_EQ(ctr_zipkin_json_encode(&b, &out), 0);
    ASSERT_UEQ(out.len, 6 + strlen(golden));
    ASSERT_MEMEQ(out.data, "prefix", 6);
    ASSERT_MEMEQ(out.data + 6, golden, strlen(golden));
    /* Empty batch, NULL span, NULL arguments: CTR_EINVAL, nothing written. */
    size_t len = out.len;
    struct ctr_batch empty = {&resource, &scope, spans_ptrs, 0};
    ASSERT_EQ(ctr_zipkin_json_encode(&empty, &out), CTR_EINVAL);
    struct ctr_span *with_null[2] = {spans_ptrs[0], NULL};
    struct ctr_batch holey = {&resource, &scope, with_null, 2};
    ASSERT_EQ(ctr_zipkin_json_encode(&holey, &out), CTR_EINVAL);
    ASSERT_EQ(ctr_zipkin_json_encode(NULL, &out), CTR_EINVAL);
    ASSERT_EQ(ctr_zipkin_json_encode(&b, NULL), CTR_EINVAL);
    ASSERT_UEQ(out.len, len);
    /* A buffer already in error: the error comes back, nothing is written. */
    out.err = CTR_ENOMEM;
    ASSERT_EQ(ctr_zipkin_json_encode(&b, &out), CTR_ENOMEM);
    ASSERT_UEQ(out.len, len);
    ctr_buf_free(&out);
}

/* ---- the server ---- */

/* A server answering `script` in order, then 202 Accepted as Zipkin does. */
static struct server *zipkin_server(const int *script, size_t n)
{
    return server_start_statuses(script, n, 202);
}

static char url_buf[128];

static const char *url_for(int port)
{
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d/api/v2/spans", port);
    return url_buf;
}

static struct ctr_exporter *make_exporter(const struct ctr_zipkin_options *o)
{
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    setenv("no_proxy", "127.0.0.1", 1); /* loopback never goes through a proxy */
    int rc = ctr_zipkin_exporter_new(o, &e, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "zipkin_exporter_new: %s (%s)\n", ctr_err_name(rc), err);
        return NULL;
    }
    return e;
}

static uint64_t ms_since(uint64_t t0)
{
    return (ctr_monotonic_ns() - t0) / 1000000u;
}

/* ---- exporter tests ---- */

static void test_post_shape_and_202(void)
{
    logs_reset();
    struct server *s = zipkin_server(NULL, 0);
    struct ctr_zipkin_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    ASSERT_STREQ(e->ops->name, "zipkin");
    ASSERT_STREQ(e->destination, url_for(s->port));
    struct ctr_batch b = test_batch();
    int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    ASSERT_EQ(ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000)), 0);
    /* After shutdown nothing more is sent. */
    int rc2 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(1000));
    ctr_exporter_destroy(e);
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_reqs;
    struct req r = n ? s->reqs[0] : (struct req){0};
    bool body_ok = n && r.body && strcmp(r.body, golden) == 0;
    bool ctype = n && strcasestr(r.headers, "\r\nContent-Type: application/json\r\n") != NULL;
    bool no_gzip = n && strcasestr(r.headers, "Content-Encoding") == NULL;
    pthread_mutex_unlock(&s->mu);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(rc2, CTR_ESHUTDOWN);
    ASSERT_UEQ(exported, 6);
    ASSERT_UEQ(failed, 0);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(r.line, "POST /api/v2/spans HTTP/1.1");
    ASSERT(ctype);
    ASSERT(no_gzip);
    ASSERT(body_ok);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 0);
    server_free(s);
}

static void test_any_2xx_is_success(void)
{
    logs_reset();
    int script[] = {200, 204};
    struct server *s = zipkin_server(script, 2);
    struct ctr_zipkin_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    struct ctr_batch b = test_batch();
    int rc1 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    int rc2 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t retries = atomic_load(&e->stats.retries);
    ctr_exporter_destroy(e);
    server_free(s);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc2, 0);
    ASSERT_UEQ(exported, 12);
    ASSERT_UEQ(retries, 0);
}

static void test_retry_503_then_202(void)
{
    logs_reset();
    int script[] = {503, 429};
    struct server *s = zipkin_server(script, 2);
    struct ctr_zipkin_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t el = ms_since(t0);
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t retries = atomic_load(&e->stats.retries);
    ctr_exporter_destroy(e);
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_reqs;
    bool same = n == 3 && strcmp(s->reqs[0].body, s->reqs[2].body) == 0 &&
                strcmp(s->reqs[1].body, s->reqs[2].body) == 0;
    pthread_mutex_unlock(&s->mu);
    server_free(s);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 3);
    ASSERT(same);
    ASSERT_UEQ(exported, 6);
    ASSERT_UEQ(retries, 2);
    /* Backoff 100 ms then 200 ms, each with equal jitter: 50..300 ms. */
    ASSERT(el >= 50 && el < 2000);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 0);
}

static void test_no_retry_on_400_and_500(void)
{
    logs_reset();
    int script[] = {400, 500, 400};
    struct server *s = zipkin_server(script, 3);
    struct ctr_zipkin_options o = {.url = url_for(s->port)};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    struct ctr_batch b = test_batch();
    int rc1 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    int rc2 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    int rc3 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    int rc4 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)); /* 202 */
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    uint64_t batches_failed = atomic_load(&e->stats.batches_failed);
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t retries = atomic_load(&e->stats.retries);
    ctr_exporter_destroy(e);
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_reqs;
    pthread_mutex_unlock(&s->mu);
    server_free(s);
    ASSERT_EQ(rc1, CTR_EHTTP);
    ASSERT_EQ(rc2, CTR_EHTTP);
    ASSERT_EQ(rc3, CTR_EHTTP);
    ASSERT_EQ(rc4, 0);
    ASSERT_EQ(n, 4);
    ASSERT_UEQ(retries, 0);
    ASSERT_UEQ(failed, 18);
    ASSERT_UEQ(batches_failed, 3);
    ASSERT_UEQ(exported, 6);
    /* One WARNING per kind of failure: 400, then 500, then 400 again (a new
     * kind after a different one); the recovery is an INFO line. */
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "HTTP 400"), 2);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "HTTP 500"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "6 spans not delivered"), 3);
    ASSERT_EQ(logs_count(CTR_LOG_INFO, "works again"), 1);
}

static void test_repeated_failure_warns_once(void)
{
    logs_reset();
    struct ctr_zipkin_options o = {.url = url_for(closed_port()), .timeout_ms = 300};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    atomic_store(&e->final, true); /* shutting down: a refused connection is final */
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc1 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    int rc2 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    int rc3 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t el = ms_since(t0);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc1, CTR_ECONNECT);
    ASSERT_EQ(rc2, CTR_ECONNECT);
    ASSERT_EQ(rc3, CTR_ECONNECT);
    ASSERT(el < 1000);
    ASSERT_UEQ(failed, 18);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "connection refused"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_DEBUG, "connection refused"), 2);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "/api/v2/spans failed"), 1);
}

static void test_refused_retries_until_own_timeout(void)
{
    logs_reset();
    struct ctr_zipkin_options o = {.url = url_for(closed_port()), .timeout_ms = 400};
    struct ctr_exporter *e = make_exporter(&o);
    ASSERT(e != NULL);
    struct ctr_batch b = test_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(10000));
    uint64_t el = ms_since(t0);
    uint64_t retries = atomic_load(&e->stats.retries);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc, CTR_ECONNECT);
    ASSERT(retries >= 1);
    ASSERT(el <= 600); /* the exporter's own 400 ms, not the caller's 10 s */
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "connection refused"), 1);
}

static void test_bad_and_default_urls(void)
{
    logs_reset();
    static const char *const bad[] = {"localhost:9411/api/v2/spans", "ftp://h/x", "http://",
                                      "http:///api/v2/spans", "http://h/a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_exporter *e = (struct ctr_exporter *)1;
        char err[256] = "";
        struct ctr_zipkin_options o = {.url = bad[i]};
        ASSERT_EQ(ctr_zipkin_exporter_new(&o, &e, err, sizeof err), CTR_EINVAL);
        ASSERT(e == NULL);
        ASSERT(strstr(err, "http:// or https://") != NULL);
        ASSERT(strstr(err, bad[i]) != NULL);
    }
    /* No options, or no URL: the Zipkin default. */
    struct ctr_exporter *e = NULL;
    ASSERT_EQ(ctr_zipkin_exporter_new(NULL, &e, NULL, 0), 0);
    ASSERT_STREQ(e->destination, "http://localhost:9411/api/v2/spans");
    ctr_exporter_destroy(e);
    struct ctr_zipkin_options o = {.url = NULL, .timeout_ms = 5};
    ASSERT_EQ(ctr_zipkin_exporter_new(&o, &e, NULL, 0), 0);
    ASSERT_STREQ(e->destination, "http://localhost:9411/api/v2/spans");
    /* An empty batch sends nothing and succeeds. */
    struct ctr_batch empty = {&resource, &scope, spans_ptrs, 0};
    ASSERT_EQ(ctr_exporter_export(e, &empty, ctr_deadline_after_ms(100)), 0);
    ctr_exporter_destroy(e);
    ASSERT_EQ(logs_count(-1, ""), 0);
}

static void test_insecure_warns_once_at_creation(void)
{
    logs_reset();
    struct ctr_exporter *e = NULL;
    struct ctr_zipkin_options o = {.url = "https://127.0.0.1:1/api/v2/spans"};
    ASSERT_EQ(ctr_zipkin_exporter_new(&o, &e, NULL, 0), 0);
    ctr_exporter_destroy(e);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 0);
    o.tls.insecure_skip_verify = true;
    int rc = ctr_zipkin_exporter_new(&o, &e, NULL, 0);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, ""), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "verification"), 1);
}

static void test_setup(void)
{
    ctr_log_set_sink(log_sink, NULL);
}

TEST_MAIN(TEST_CASE(test_setup), TEST_CASE(test_golden_batch),
          TEST_CASE(test_service_name_fallbacks), TEST_CASE(test_appends_and_errors),
          TEST_CASE(test_post_shape_and_202), TEST_CASE(test_any_2xx_is_success),
          TEST_CASE(test_retry_503_then_202), TEST_CASE(test_no_retry_on_400_and_500),
          TEST_CASE(test_repeated_failure_warns_once),
          TEST_CASE(test_refused_retries_until_own_timeout), TEST_CASE(test_bad_and_default_urls),
          TEST_CASE(test_insecure_warns_once_at_creation))
