/*
 * The gRPC transport's pure parts (framing, grpc-timeout, grpc-message
 * decoding, status tables, RetryInfo, base64), the Jaeger api_v2 protobuf
 * encoder decoded field by field with the pb reader, and the gRPC exporters'
 * behaviour without a gRPC server: endpoint and metadata checks, refused
 * connections with and without shutdown, and a silent loopback listener
 * that must not hold an export past its deadline. The exchange with a real
 * gRPC server is in tests/python/test_otlp_grpc.py and test_jaeger_grpc.py.
 */
#include <chaostracing/exporter.h>

#include "encode/pb.h"
#include "transport/grpc.h"

#include "test.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

/* ---- captured log lines ---- */

#include "log_capture.h"

static uint64_t ms_since(uint64_t t0)
{
    return (ctr_monotonic_ns() - t0) / 1000000u;
}

/* ---- framing ---- */

static void test_frame_plain_and_unframe(void)
{
    static const uint8_t msg[] = "\x0a\x03"
                                 "abc";
    struct ctr_buf f = {0};
    ASSERT_EQ(ctr__grpc_frame(&f, msg, 5, false), 0);
    ASSERT_UEQ(f.len, 10);
    static const uint8_t want[] = {0, 0, 0, 0, 5, 0x0a, 0x03, 'a', 'b', 'c'};
    ASSERT_MEMEQ(f.data, want, 10);

    bool comp = true;
    const uint8_t *m = NULL;
    size_t ml = 0;
    ASSERT_EQ(ctr__grpc_unframe(f.data, f.len, &comp, &m, &ml), 0);
    ASSERT(!comp);
    ASSERT_UEQ(ml, 5);
    ASSERT(m == f.data + 5);

    /* Empty body: no message at all (an error answer). */
    ASSERT_EQ(ctr__grpc_unframe(f.data, 0, &comp, &m, &ml), 0);
    ASSERT(m == NULL && ml == 0);
    /* A zero-length message is a message. */
    static const uint8_t empty[] = {0, 0, 0, 0, 0};
    ASSERT_EQ(ctr__grpc_unframe(empty, 5, &comp, &m, &ml), 0);
    ASSERT(m == empty + 5 && ml == 0);
    /* Truncated prefix, truncated message, trailing second message, bad flag. */
    ASSERT_EQ(ctr__grpc_unframe(f.data, 4, &comp, &m, &ml), CTR_EPARSE);
    ASSERT_EQ(ctr__grpc_unframe(f.data, 9, &comp, &m, &ml), CTR_EPARSE);
    uint8_t two[20];
    memcpy(two, f.data, 10);
    memcpy(two + 10, f.data, 10);
    ASSERT_EQ(ctr__grpc_unframe(two, 20, &comp, &m, &ml), CTR_EPARSE);
    uint8_t bad[10];
    memcpy(bad, f.data, 10);
    bad[0] = 2;
    ASSERT_EQ(ctr__grpc_unframe(bad, 10, &comp, &m, &ml), CTR_EPARSE);
    /* A length prefix far beyond the body. */
    static const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff, 1, 2};
    ASSERT_EQ(ctr__grpc_unframe(huge, sizeof huge, &comp, &m, &ml), CTR_EPARSE);
    ctr_buf_free(&f);
}

static void test_frame_gzip_roundtrip(void)
{
    uint8_t msg[5000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i % 7 == 0 ? i : 'x');
    struct ctr_buf f = {0}, out = {0};
    ASSERT_EQ(ctr__grpc_frame(&f, msg, sizeof msg, true), 0);
    ASSERT_EQ(f.data[0], 1);
    size_t n =
        (size_t)f.data[1] << 24 | (size_t)f.data[2] << 16 | (size_t)f.data[3] << 8 | f.data[4];
    ASSERT_UEQ(n, f.len - 5);
    ASSERT(n < sizeof msg); /* it did compress */
    ASSERT_EQ(f.data[5], 0x1f);
    ASSERT_EQ(f.data[6], 0x8b);

    bool comp = false;
    const uint8_t *m;
    size_t ml;
    ASSERT_EQ(ctr__grpc_unframe(f.data, f.len, &comp, &m, &ml), 0);
    ASSERT(comp);
    ASSERT_EQ(ctr__grpc_gunzip(m, ml, &out, 1u << 20), 0);
    ASSERT_UEQ(out.len, sizeof msg);
    ASSERT_MEMEQ(out.data, msg, sizeof msg);
    /* Output cap, corrupt data, truncated data. */
    ASSERT_EQ(ctr__grpc_gunzip(m, ml, &out, 100), CTR_EPARSE);
    ASSERT_EQ(ctr__grpc_gunzip((const uint8_t *)"not gzip at all", 15, &out, 1000), CTR_EPARSE);
    ASSERT_EQ(ctr__grpc_gunzip(m, ml - 4, &out, 1u << 20), CTR_EPARSE);
    ctr_buf_free(&f);
    ctr_buf_free(&out);
}

/* ---- header values ---- */

static void test_timeout_format(void)
{
    char t[CTR__GRPC_TIMEOUT_MAX];
    ASSERT_UEQ(ctr__grpc_format_timeout(1234000000ull, t), 5);
    ASSERT_STREQ(t, "1234m");
    ctr__grpc_format_timeout(1234999999ull, t); /* rounded down */
    ASSERT_STREQ(t, "1234m");
    ctr__grpc_format_timeout(0, t);
    ASSERT_STREQ(t, "1m");
    ctr__grpc_format_timeout(400000, t); /* 0.4 ms */
    ASSERT_STREQ(t, "1m");
    ctr__grpc_format_timeout(10000000000ull, t);
    ASSERT_STREQ(t, "10000m");
    ctr__grpc_format_timeout(99999999ull * 1000000u, t); /* the last value in ms */
    ASSERT_STREQ(t, "99999999m");
    ctr__grpc_format_timeout(100000000ull * 1000000u, t);
    ASSERT_STREQ(t, "100000S");
    ctr__grpc_format_timeout(100000000ull * 1000000u + 1, t); /* seconds round up */
    ASSERT_STREQ(t, "100001S");
    ctr__grpc_format_timeout(UINT64_MAX, t); /* 18446744073.7 s -> hours */
    ASSERT_STREQ(t, "5124096H");
    ASSERT(strlen(t) <= 9);
}

static void test_percent_decode(void)
{
    char out[64];
    const char *in = "bad%20spans%3A%0A%E2%9C%93";
    ASSERT_UEQ(ctr__grpc_percent_decode(in, strlen(in), out, sizeof out), 14);
    ASSERT_STREQ(out, "bad spans:\n\xe2\x9c\x93");
    /* Lower-case hex is accepted; broken escapes stay as they are. */
    in = "a%2fb 100% %zz %4";
    ctr__grpc_percent_decode(in, strlen(in), out, sizeof out);
    ASSERT_STREQ(out, "a/b 100% %zz %4");
    /* Not NUL-terminated input: only n bytes are read. */
    ctr__grpc_percent_decode("ab%41XYZ", 5, out, sizeof out);
    ASSERT_STREQ(out, "abA");
    ctr__grpc_percent_decode("ab%4", 3, out, sizeof out);
    ASSERT_STREQ(out, "ab%");
    /* The output is cut, always terminated. */
    ASSERT_UEQ(ctr__grpc_percent_decode("abcdef", 6, out, 4), 3);
    ASSERT_STREQ(out, "abc");
    ASSERT_UEQ(ctr__grpc_percent_decode("", 0, out, sizeof out), 0);
    ASSERT_STREQ(out, "");
}

static void test_status_tables(void)
{
    ASSERT_STREQ(ctr__grpc_code_name(0), "OK");
    ASSERT_STREQ(ctr__grpc_code_name(3), "INVALID_ARGUMENT");
    ASSERT_STREQ(ctr__grpc_code_name(8), "RESOURCE_EXHAUSTED");
    ASSERT_STREQ(ctr__grpc_code_name(14), "UNAVAILABLE");
    ASSERT_STREQ(ctr__grpc_code_name(16), "UNAUTHENTICATED");
    ASSERT_STREQ(ctr__grpc_code_name(17), "UNKNOWN");
    ASSERT_STREQ(ctr__grpc_code_name(-1), "UNKNOWN");

    ASSERT_EQ(ctr__grpc_code_from_http(400), CTR__GRPC_INTERNAL);
    ASSERT_EQ(ctr__grpc_code_from_http(401), CTR__GRPC_UNAUTHENTICATED);
    ASSERT_EQ(ctr__grpc_code_from_http(403), CTR__GRPC_PERMISSION_DENIED);
    ASSERT_EQ(ctr__grpc_code_from_http(404), CTR__GRPC_UNIMPLEMENTED);
    ASSERT_EQ(ctr__grpc_code_from_http(429), CTR__GRPC_UNAVAILABLE);
    ASSERT_EQ(ctr__grpc_code_from_http(502), CTR__GRPC_UNAVAILABLE);
    ASSERT_EQ(ctr__grpc_code_from_http(503), CTR__GRPC_UNAVAILABLE);
    ASSERT_EQ(ctr__grpc_code_from_http(504), CTR__GRPC_UNAVAILABLE);
    ASSERT_EQ(ctr__grpc_code_from_http(500), CTR__GRPC_UNKNOWN);
    ASSERT_EQ(ctr__grpc_code_from_http(302), CTR__GRPC_UNKNOWN);

    /* Exactly the OTLP retryable set; RESOURCE_EXHAUSTED only with RetryInfo. */
    unsigned mask = 0, mask_ri = 0;
    for (int c = 0; c <= 16; c++) {
        mask |= (unsigned)ctr__grpc_code_retryable(c, false) << c;
        mask_ri |= (unsigned)ctr__grpc_code_retryable(c, true) << c;
    }
    unsigned want = 1u << 1 | 1u << 4 | 1u << 10 | 1u << 11 | 1u << 14 | 1u << 15;
    ASSERT_UEQ(mask, want);
    ASSERT_UEQ(mask_ri, want | 1u << 8);
    ASSERT(!ctr__grpc_code_retryable(99, true));
}

static void test_base64_decode(void)
{
    struct ctr_buf b = {0};
    ASSERT_EQ(ctr_base64_decode("aGVsbG8=", 8, &b), 0);
    ASSERT_UEQ(b.len, 5);
    ASSERT_MEMEQ(b.data, "hello", 5);
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr_base64_decode("aGVsbG8", 7, &b), 0); /* unpadded */
    ASSERT_UEQ(b.len, 5);
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr_base64_decode("-_8", 3, &b), 0); /* URL-safe alphabet */
    ASSERT_UEQ(b.len, 2);
    ASSERT_EQ(b.data[0], 0xfb);
    ASSERT_EQ(b.data[1], 0xff);
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr_base64_decode("+/8=", 4, &b), 0);
    ASSERT_EQ(b.data[0], 0xfb);
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr_base64_decode("aGV*bG8", 7, &b), CTR_EPARSE);
    ASSERT_EQ(ctr_base64_decode("a", 1, &b), CTR_EPARSE);
    ctr_buf_free(&b);
}

/* ---- RetryInfo ---- */

/* Append google.protobuf.Any{type_url, value} as field 3 of a Status. */
static void put_any(struct ctr_buf *b, const char *type_url, const struct ctr_buf *value)
{
    size_t m = ctr__pb_begin(b, 3);
    ctr__pb_put_bytes_field(b, 1, type_url, strlen(type_url));
    ctr__pb_put_bytes_field(b, 2, value->data, value->len);
    ctr__pb_end(b, m);
}

/* RetryInfo{retry_delay: Duration{seconds, nanos}}. */
static void retry_info(struct ctr_buf *b, int64_t secs, int32_t nanos)
{
    ctr_buf_reset(b);
    size_t m = ctr__pb_begin(b, 1);
    if (secs) {
        ctr__pb_put_tag(b, 1, CTR__PB_VARINT);
        ctr__pb_put_varint(b, (uint64_t)secs);
    }
    if (nanos) {
        ctr__pb_put_tag(b, 2, CTR__PB_VARINT);
        ctr__pb_put_varint(b, (uint64_t)(int64_t)nanos);
    }
    ctr__pb_end(b, m);
}

/* google.rpc.Status{code 8, message, details...}. */
static void status_head(struct ctr_buf *b)
{
    ctr_buf_reset(b);
    ctr__pb_put_tag(b, 1, CTR__PB_VARINT);
    ctr__pb_put_varint(b, 8);
    ctr__pb_put_bytes_field(b, 2, "slow down", 9);
}

static void test_retry_info(void)
{
    struct ctr_buf st = {0}, ri = {0}, other = {0};
    int64_t ms = 0;

    status_head(&st);
    retry_info(&ri, 1, 500000000);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len, &ms), 0);
    ASSERT_EQ(ms, 1500);

    /* After another detail; sub-millisecond nanos round up. */
    status_head(&st);
    ctr__pb_put_bytes_field(&other, 1, "stack", 5);
    put_any(&st, "type.googleapis.com/google.rpc.DebugInfo", &other);
    retry_info(&ri, 0, 1);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len, &ms), 0);
    ASSERT_EQ(ms, 1);

    /* A RetryInfo without a delay: retry, no minimum wait. */
    status_head(&st);
    ctr_buf_reset(&ri);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len, &ms), 0);
    ASSERT_EQ(ms, 0);

    /* A day at most; negative delays are no delay. */
    status_head(&st);
    retry_info(&ri, 10 * 86400, 0);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len, &ms), 0);
    ASSERT_EQ(ms, 86400000);
    status_head(&st);
    retry_info(&ri, -5, 0);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len, &ms), 0);
    ASSERT_EQ(ms, 0);

    /* No RetryInfo: other types only, or a look-alike type name. */
    status_head(&st);
    put_any(&st, "type.googleapis.com/google.rpc.DebugInfo", &other);
    retry_info(&ri, 3, 0);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfoX", &ri);
    put_any(&st, "type.googleapis.com/xgoogle.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len, &ms), 0);
    ASSERT_EQ(ms, -1);
    ASSERT_EQ(ctr__grpc_parse_retry_info(NULL, 0, &ms), 0);
    ASSERT_EQ(ms, -1);

    /* Malformed: cut in the middle of a detail. */
    status_head(&st);
    retry_info(&ri, 2, 0);
    put_any(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
    ASSERT_EQ(ctr__grpc_parse_retry_info(st.data, st.len - 3, &ms), CTR_EPARSE);
    ASSERT_EQ(ms, -1);

    ctr_buf_free(&st);
    ctr_buf_free(&ri);
    ctr_buf_free(&other);
}

/* ---- Jaeger api_v2 protobuf ---- */

/* One decoded protobuf field. */
struct fld {
    uint32_t num;
    enum ctr__pb_wire wire;
    uint64_t v; /* VARINT and I64 */
    const uint8_t *p;
    size_t len; /* LEN */
};

#define MAX_FLDS 256

/* Every top-level field of a message, in order; -1 when malformed. */
static int fields(const uint8_t *p, size_t n, struct fld *out, size_t max)
{
    struct ctr__pb_reader r = {p, p + n};
    int k = 0;
    while (r.p < r.end) {
        if ((size_t)k == max)
            return -1;
        struct fld *f = &out[k];
        memset(f, 0, sizeof *f);
        if (ctr__pb_read_tag(&r, &f->num, &f->wire))
            return -1;
        int rc;
        switch (f->wire) {
        case CTR__PB_VARINT:
            rc = ctr__pb_read_varint(&r, &f->v);
            break;
        case CTR__PB_I64:
            rc = ctr__pb_read_fixed64(&r, &f->v);
            break;
        case CTR__PB_LEN:
            rc = ctr__pb_read_len(&r, &f->p, &f->len);
            break;
        default:
            rc = -1;
        }
        if (rc)
            return -1;
        k++;
    }
    return k;
}

/* A message's fields, kept for the lookups below. */
struct msg {
    struct fld f[MAX_FLDS];
    int n;
};

static void parse(struct msg *m, const uint8_t *p, size_t n)
{
    m->n = fields(p, n, m->f, MAX_FLDS);
}

/* The i-th occurrence of field `num`, or NULL. */
static const struct fld *nth(const struct msg *m, uint32_t num, int i)
{
    for (int k = 0; k < m->n; k++) {
        if (m->f[k].num == num && i-- == 0)
            return &m->f[k];
    }
    return NULL;
}

static int count(const struct msg *m, uint32_t num)
{
    int c = 0;
    for (int k = 0; k < m->n; k++)
        c += m->f[k].num == num;
    return c;
}

/* True when field `num` is a LEN field equal to the string `s`. */
static bool str_is(const struct msg *m, uint32_t num, const char *s)
{
    const struct fld *f = nth(m, num, 0);
    return f && f->wire == CTR__PB_LEN && f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

/* A varint field's value, 0 when absent (the proto3 default). */
static uint64_t uint_of(const struct msg *m, uint32_t num)
{
    const struct fld *f = nth(m, num, 0);
    return f && f->wire == CTR__PB_VARINT ? f->v : 0;
}

/* A decoded KeyValue. */
struct kv {
    char key[64];
    uint64_t type;
    char str[256];
    bool b;
    int64_t i;
    double d;
    uint8_t bin[16];
    size_t bin_len;
    bool has_str;
};

static void decode_kv(const struct fld *f, struct kv *kv)
{
    static struct msg m; /* one at a time, not re-entrant */
    memset(kv, 0, sizeof *kv);
    parse(&m, f->p, f->len);
    const struct fld *x = nth(&m, 1, 0);
    if (x)
        snprintf(kv->key, sizeof kv->key, "%.*s", (int)x->len, (const char *)x->p);
    kv->type = uint_of(&m, 2);
    if ((x = nth(&m, 3, 0))) {
        snprintf(kv->str, sizeof kv->str, "%.*s", (int)x->len, (const char *)x->p);
        kv->has_str = true;
    }
    kv->b = uint_of(&m, 4) != 0;
    kv->i = (int64_t)uint_of(&m, 5);
    if ((x = nth(&m, 6, 0)) && x->wire == CTR__PB_I64)
        memcpy(&kv->d, &x->v, sizeof kv->d);
    if ((x = nth(&m, 7, 0))) {
        kv->bin_len = x->len < sizeof kv->bin ? x->len : sizeof kv->bin;
        memcpy(kv->bin, x->p, kv->bin_len);
    }
}

/* Find the KeyValue `key` among the `field` entries of `m`; returns how many
 * have that key and fills `out` with the last. */
static int find_tag(const struct msg *m, uint32_t field, const char *key, struct kv *out)
{
    int found = 0;
    for (int k = 0; k < m->n; k++) {
        if (m->f[k].num != field)
            continue;
        struct kv kv;
        decode_kv(&m->f[k], &kv);
        if (strcmp(kv.key, key) == 0) {
            *out = kv;
            found++;
        }
    }
    return found;
}

/* Seconds and nanos of a Timestamp/Duration field, as nanoseconds. */
static uint64_t time_of(const struct msg *m, uint32_t num)
{
    const struct fld *f = nth(m, num, 0);
    if (!f)
        return UINT64_MAX;
    struct msg t;
    parse(&t, f->p, f->len);
    return uint_of(&t, 1) * 1000000000u + uint_of(&t, 2);
}

#define T0 1700000000123456789ull

static struct ctr_value arr_str[] = {{.type = CTR_VALUE_STRING, .u.s = {"a\"b", 3}},
                                     {.type = CTR_VALUE_STRING, .u.s = {"c", 1}}};
static struct ctr_value arr_int[] = {{.type = CTR_VALUE_INT, .u.i = 1},
                                     {.type = CTR_VALUE_INT, .u.i = -2}};
static struct ctr_value arr_mix[] = {{.type = CTR_VALUE_BOOL, .u.b = true},
                                     {.type = CTR_VALUE_DOUBLE, .u.d = 1.5}};
static struct ctr_attr root_attrs[] = {
    {{"s", 1}, {.type = CTR_VALUE_STRING, .u.s = {"h\xc3\xa9llo", 6}}},
    {{"i", 1}, {.type = CTR_VALUE_INT, .u.i = -42}},
    {{"zero", 4}, {.type = CTR_VALUE_INT, .u.i = 0}},
    {{"b", 1}, {.type = CTR_VALUE_BOOL, .u.b = true}},
    {{"f", 1}, {.type = CTR_VALUE_BOOL, .u.b = false}},
    {{"d", 1}, {.type = CTR_VALUE_DOUBLE, .u.d = 2.5}},
    {{"bytes", 5}, {.type = CTR_VALUE_BYTES, .u.s = {"\x00\x01\x02", 3}}},
    {{"as", 2}, {.type = CTR_VALUE_ARRAY, .u.array = {arr_str, 2}}},
    {{"ai", 2}, {.type = CTR_VALUE_ARRAY, .u.array = {arr_int, 2}}},
    {{"am", 2}, {.type = CTR_VALUE_ARRAY, .u.array = {arr_mix, 2}}},
};
static struct ctr_attr ev_attrs[] = {
    {{"ev.k", 4}, {.type = CTR_VALUE_STRING, .u.s = {"v", 1}}},
};
static struct ctr_attr ev2_attrs[] = {
    {{"event", 5}, {.type = CTR_VALUE_STRING, .u.s = {"own", 3}}},
};
static struct ctr_attr child_attrs[] = {
    {{"error", 5}, {.type = CTR_VALUE_STRING, .u.s = {"replaced", 8}}},
};
static struct ctr_attr res_attrs[] = {
    {{"host.name", 9}, {.type = CTR_VALUE_STRING, .u.s = {"h1", 2}}},
    {{"service.name", 12}, {.type = CTR_VALUE_STRING, .u.s = {"svc", 3}}},
    {{"process.pid", 11}, {.type = CTR_VALUE_INT, .u.i = 4242}},
};
static struct ctr_event root_events[2];
static struct ctr_link child_links[1];
static struct ctr_span jspans[3];
static struct ctr_span *jptrs[3];
static struct ctr_resource jres = {.attrs = {res_attrs, 3, 3, 0}};
static struct ctr_scope jscope = {{"chaostracing", 12}, {"0.1.0", 5}};

/* Root SERVER span with every attribute type and two events; an ERROR
 * CLIENT child with a link; an INTERNAL OK grandchild with dropped counts. */
static struct ctr_batch jaeger_batch(void)
{
    memset(jspans, 0, sizeof jspans);
    for (int i = 0; i < 3; i++) {
        struct ctr_span *s = &jspans[i];
        for (int k = 0; k < CTR_TRACE_ID_LEN; k++)
            s->ctx.trace_id[k] = (uint8_t)(0xa0 + k);
        memset(s->ctx.span_id, 0x11 * (i + 1), CTR_SPAN_ID_LEN);
        s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
        s->recording = s->ended = true;
        s->start_ns = T0 + (uint64_t)i * 1000u;
        s->end_ns = T0 + 2500000000ull + 7;
        jptrs[i] = s;
    }
    jspans[0].name = (struct ctr_str){"root op", 7};
    jspans[0].kind = CTR_KIND_SERVER;
    jspans[0].attrs = (struct ctr_attr_list){root_attrs, 10, 10, 0};
    root_events[0] = (struct ctr_event){T0 + 5, {"ev one", 6}, {ev_attrs, 1, 1, 0}};
    root_events[1] = (struct ctr_event){T0 + 6, {"ev two", 6}, {ev2_attrs, 1, 1, 0}};
    jspans[0].events = root_events;
    jspans[0].events_len = 2;

    jspans[1].name = (struct ctr_str){"child", 5};
    jspans[1].kind = CTR_KIND_CLIENT;
    jspans[1].has_parent = true;
    memcpy(jspans[1].parent_span_id, jspans[0].ctx.span_id, CTR_SPAN_ID_LEN);
    jspans[1].status = CTR_STATUS_ERROR;
    jspans[1].status_message = (struct ctr_str){"boom", 4};
    jspans[1].attrs = (struct ctr_attr_list){child_attrs, 1, 1, 0};
    memset(child_links[0].ctx.trace_id, 0x77, CTR_TRACE_ID_LEN);
    memset(child_links[0].ctx.span_id, 0x99, CTR_SPAN_ID_LEN);
    jspans[1].links = child_links;
    jspans[1].links_len = 1;

    jspans[2].name = (struct ctr_str){"grandchild", 10};
    jspans[2].kind = CTR_KIND_INTERNAL;
    jspans[2].has_parent = true;
    memcpy(jspans[2].parent_span_id, jspans[1].ctx.span_id, CTR_SPAN_ID_LEN);
    jspans[2].status = CTR_STATUS_OK;
    jspans[2].ctx.trace_flags = 0;
    jspans[2].attrs.dropped = 3;
    jspans[2].events_dropped = 4;
    jspans[2].links_dropped = 5;
    return (struct ctr_batch){&jres, &jscope, jptrs, 3};
}

static struct msg req_m, batch_m, span_m[3], proc_m, ref_m, log_m, tmp_m;

static void test_jaeger_proto_request(void)
{
    struct ctr_batch b = jaeger_batch();
    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_jaeger_proto_encode(&b, &out), 0);

    parse(&req_m, out.data, out.len);
    ASSERT_EQ(req_m.n, 1);
    ASSERT_EQ(req_m.f[0].num, 1); /* PostSpansRequest.batch */
    parse(&batch_m, req_m.f[0].p, req_m.f[0].len);
    ASSERT_EQ(count(&batch_m, 1), 3); /* spans */
    ASSERT_EQ(count(&batch_m, 2), 1); /* process */
    for (int i = 0; i < 3; i++)
        parse(&span_m[i], nth(&batch_m, 1, i)->p, nth(&batch_m, 1, i)->len);

    /* Process: service name from the resource, other attributes as tags. */
    parse(&proc_m, nth(&batch_m, 2, 0)->p, nth(&batch_m, 2, 0)->len);
    ASSERT(str_is(&proc_m, 1, "svc"));
    ASSERT_EQ(count(&proc_m, 2), 2);
    struct kv kv;
    ASSERT_EQ(find_tag(&proc_m, 2, "host.name", &kv), 1);
    ASSERT_STREQ(kv.str, "h1");
    ASSERT_EQ(find_tag(&proc_m, 2, "process.pid", &kv), 1);
    ASSERT_UEQ(kv.type, 2);
    ASSERT_EQ(kv.i, 4242);
    ASSERT_EQ(find_tag(&proc_m, 2, "service.name", &kv), 0);
    ctr_buf_free(&out);
}

static void test_jaeger_proto_root_span(void)
{
    struct ctr_batch b = jaeger_batch();
    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_jaeger_proto_encode(&b, &out), 0);
    parse(&req_m, out.data, out.len);
    parse(&batch_m, req_m.f[0].p, req_m.f[0].len);
    struct msg *s = &span_m[0];
    parse(s, nth(&batch_m, 1, 0)->p, nth(&batch_m, 1, 0)->len);
    ASSERT(s->n > 0);

    /* Ids as raw bytes, the name, no reference, flags, times. */
    const struct fld *f = nth(s, 1, 0);
    ASSERT(f && f->len == 16);
    ASSERT_MEMEQ(f->p, jspans[0].ctx.trace_id, 16);
    f = nth(s, 2, 0);
    ASSERT(f && f->len == 8);
    ASSERT_MEMEQ(f->p, jspans[0].ctx.span_id, 8);
    ASSERT(str_is(s, 3, "root op"));
    ASSERT_EQ(count(s, 4), 0);
    ASSERT_UEQ(uint_of(s, 5), 1);
    ASSERT_UEQ(time_of(s, 6), T0);
    ASSERT_UEQ(time_of(s, 7), 2500000007ull);
    {
        struct msg *t = &tmp_m;
        parse(t, nth(s, 6, 0)->p, nth(s, 6, 0)->len);
        ASSERT_UEQ(uint_of(t, 1), 1700000000u);
        ASSERT_UEQ(uint_of(t, 2), 123456789u);
    }

    /* Every attribute type. */
    struct kv kv;
    ASSERT_EQ(find_tag(s, 8, "s", &kv), 1);
    ASSERT_UEQ(kv.type, 0);
    ASSERT_STREQ(kv.str, "h\xc3\xa9llo");
    ASSERT_EQ(find_tag(s, 8, "i", &kv), 1);
    ASSERT_UEQ(kv.type, 2);
    ASSERT_EQ(kv.i, -42);
    ASSERT_EQ(find_tag(s, 8, "zero", &kv), 1);
    ASSERT_UEQ(kv.type, 2);
    ASSERT_EQ(kv.i, 0);
    ASSERT_EQ(find_tag(s, 8, "b", &kv), 1);
    ASSERT_UEQ(kv.type, 1);
    ASSERT(kv.b);
    ASSERT_EQ(find_tag(s, 8, "f", &kv), 1);
    ASSERT_UEQ(kv.type, 1);
    ASSERT(!kv.b);
    ASSERT_EQ(find_tag(s, 8, "d", &kv), 1);
    ASSERT_UEQ(kv.type, 3);
    ASSERT(kv.d == 2.5);
    ASSERT_EQ(find_tag(s, 8, "bytes", &kv), 1);
    ASSERT_UEQ(kv.type, 4);
    ASSERT_UEQ(kv.bin_len, 3);
    ASSERT_MEMEQ(kv.bin, "\x00\x01\x02", 3);
    ASSERT_EQ(find_tag(s, 8, "as", &kv), 1);
    ASSERT_UEQ(kv.type, 0);
    ASSERT_STREQ(kv.str, "[\"a\\\"b\",\"c\"]");
    ASSERT_EQ(find_tag(s, 8, "ai", &kv), 1);
    ASSERT_STREQ(kv.str, "[1,-2]");
    ASSERT_EQ(find_tag(s, 8, "am", &kv), 1);
    ASSERT_STREQ(kv.str, "[true,1.5]");

    /* Kind, scope; no status tags for UNSET. */
    ASSERT_EQ(find_tag(s, 8, "span.kind", &kv), 1);
    ASSERT_STREQ(kv.str, "server");
    ASSERT_EQ(find_tag(s, 8, "otel.scope.name", &kv), 1);
    ASSERT_STREQ(kv.str, "chaostracing");
    ASSERT_EQ(find_tag(s, 8, "otel.scope.version", &kv), 1);
    ASSERT_STREQ(kv.str, "0.1.0");
    ASSERT_EQ(find_tag(s, 8, "otel.library.name", &kv), 1);
    ASSERT_STREQ(kv.str, "chaostracing");
    ASSERT_EQ(find_tag(s, 8, "otel.library.version", &kv), 1);
    ASSERT_EQ(find_tag(s, 8, "otel.status_code", &kv), 0);
    ASSERT_EQ(find_tag(s, 8, "error", &kv), 0);
    ASSERT_EQ(count(s, 8), 10 + 5);

    /* Events as logs: timestamp, "event" field, attributes; an event's own
     * "event" attribute wins over its name. */
    ASSERT_EQ(count(s, 9), 2);
    parse(&log_m, nth(s, 9, 0)->p, nth(s, 9, 0)->len);
    ASSERT_UEQ(time_of(&log_m, 1), T0 + 5);
    ASSERT_EQ(count(&log_m, 2), 2);
    ASSERT_EQ(find_tag(&log_m, 2, "event", &kv), 1);
    ASSERT_STREQ(kv.str, "ev one");
    ASSERT_EQ(find_tag(&log_m, 2, "ev.k", &kv), 1);
    ASSERT_STREQ(kv.str, "v");
    parse(&log_m, nth(s, 9, 1)->p, nth(s, 9, 1)->len);
    ASSERT_UEQ(time_of(&log_m, 1), T0 + 6);
    ASSERT_EQ(find_tag(&log_m, 2, "event", &kv), 1);
    ASSERT_STREQ(kv.str, "own");
    ctr_buf_free(&out);
}

static void test_jaeger_proto_child_spans(void)
{
    struct ctr_batch b = jaeger_batch();
    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_jaeger_proto_encode(&b, &out), 0);
    parse(&req_m, out.data, out.len);
    parse(&batch_m, req_m.f[0].p, req_m.f[0].len);
    struct msg *s = &span_m[1];
    parse(s, nth(&batch_m, 1, 1)->p, nth(&batch_m, 1, 1)->len);

    /* Parent first (CHILD_OF, the default 0 left out), then the link. */
    ASSERT(str_is(s, 3, "child"));
    ASSERT_EQ(count(s, 4), 2);
    parse(&ref_m, nth(s, 4, 0)->p, nth(s, 4, 0)->len);
    ASSERT_MEMEQ(nth(&ref_m, 1, 0)->p, jspans[1].ctx.trace_id, 16);
    ASSERT_MEMEQ(nth(&ref_m, 2, 0)->p, jspans[0].ctx.span_id, 8);
    ASSERT_UEQ(uint_of(&ref_m, 3), 0);
    ASSERT_EQ(count(&ref_m, 3), 0);
    parse(&ref_m, nth(s, 4, 1)->p, nth(s, 4, 1)->len);
    ASSERT_MEMEQ(nth(&ref_m, 1, 0)->p, child_links[0].ctx.trace_id, 16);
    ASSERT_MEMEQ(nth(&ref_m, 2, 0)->p, child_links[0].ctx.span_id, 8);
    ASSERT_UEQ(uint_of(&ref_m, 3), 1);
    ASSERT_UEQ(time_of(s, 6), T0 + 1000);
    ASSERT_UEQ(time_of(s, 7), 2500000007ull - 1000);

    /* ERROR: status tags and error=true replacing the "error" attribute. */
    struct kv kv;
    ASSERT_EQ(find_tag(s, 8, "span.kind", &kv), 1);
    ASSERT_STREQ(kv.str, "client");
    ASSERT_EQ(find_tag(s, 8, "otel.status_code", &kv), 1);
    ASSERT_STREQ(kv.str, "ERROR");
    ASSERT_EQ(find_tag(s, 8, "otel.status_description", &kv), 1);
    ASSERT_STREQ(kv.str, "boom");
    ASSERT_EQ(find_tag(s, 8, "error", &kv), 1);
    ASSERT_UEQ(kv.type, 1);
    ASSERT(kv.b);
    ASSERT_EQ(count(s, 9), 0);

    /* INTERNAL, OK, unsampled, dropped counts. */
    s = &span_m[2];
    parse(s, nth(&batch_m, 1, 2)->p, nth(&batch_m, 1, 2)->len);
    ASSERT(str_is(s, 3, "grandchild"));
    ASSERT_EQ(count(s, 4), 1);
    parse(&ref_m, nth(s, 4, 0)->p, nth(s, 4, 0)->len);
    ASSERT_MEMEQ(nth(&ref_m, 2, 0)->p, jspans[1].ctx.span_id, 8);
    ASSERT_EQ(count(s, 5), 0); /* flags 0 */
    ASSERT_EQ(find_tag(s, 8, "span.kind", &kv), 0);
    ASSERT_EQ(find_tag(s, 8, "otel.status_code", &kv), 1);
    ASSERT_STREQ(kv.str, "OK");
    ASSERT_EQ(find_tag(s, 8, "otel.status_description", &kv), 0);
    ASSERT_EQ(find_tag(s, 8, "error", &kv), 0);
    ASSERT_EQ(find_tag(s, 8, "otel.dropped_attributes_count", &kv), 1);
    ASSERT_EQ(kv.i, 3);
    ASSERT_EQ(find_tag(s, 8, "otel.dropped_events_count", &kv), 1);
    ASSERT_EQ(kv.i, 4);
    ASSERT_EQ(find_tag(s, 8, "otel.dropped_links_count", &kv), 1);
    ASSERT_EQ(kv.i, 5);
    ctr_buf_free(&out);
}

static void test_jaeger_proto_edge_cases(void)
{
    struct ctr_buf out = {0};
    struct ctr_batch empty = {&jres, &jscope, jptrs, 0};
    ASSERT_EQ(ctr_jaeger_proto_encode(&empty, &out), CTR_EINVAL);
    ASSERT_UEQ(out.len, 0);

    /* No service.name: "unknown_service"; a long span forces multi-byte
     * lengths, which must still decode. */
    struct ctr_batch b = jaeger_batch();
    static struct ctr_resource bare = {0};
    b.resource = &bare;
    static char big[70000];
    memset(big, 'n', sizeof big);
    jspans[0].name = (struct ctr_str){big, sizeof big};
    ASSERT_EQ(ctr_jaeger_proto_encode(&b, &out), 0);
    parse(&req_m, out.data, out.len);
    ASSERT_EQ(req_m.n, 1);
    parse(&batch_m, req_m.f[0].p, req_m.f[0].len);
    ASSERT_EQ(count(&batch_m, 1), 3);
    parse(&proc_m, nth(&batch_m, 2, 0)->p, nth(&batch_m, 2, 0)->len);
    ASSERT(str_is(&proc_m, 1, "unknown_service"));
    ASSERT_EQ(count(&proc_m, 2), 0);
    parse(&span_m[0], nth(&batch_m, 1, 0)->p, nth(&batch_m, 1, 0)->len);
    ASSERT_UEQ(nth(&span_m[0], 3, 0)->len, sizeof big);
    ctr_buf_free(&out);
}

/* ---- the exporters without a gRPC server ---- */

/* A loopback port with nobody listening. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &l)) {
        perror("closed_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static struct ctr_attr one_attr[] = {
    {{"k", 1}, {.type = CTR_VALUE_STRING, .u.s = {"v", 1}}},
};
static struct ctr_span simple_spans[2];
static struct ctr_span *simple_ptrs[2];

static struct ctr_batch simple_batch(void)
{
    memset(simple_spans, 0, sizeof simple_spans);
    for (int i = 0; i < 2; i++) {
        struct ctr_span *s = &simple_spans[i];
        memset(s->ctx.trace_id, 0x42, CTR_TRACE_ID_LEN);
        memset(s->ctx.span_id, i + 1, CTR_SPAN_ID_LEN);
        s->name = (struct ctr_str){"op", 2};
        s->start_ns = T0;
        s->end_ns = T0 + 10;
        s->attrs = (struct ctr_attr_list){one_attr, 1, 1, 0};
        s->recording = s->ended = true;
        simple_ptrs[i] = s;
    }
    return (struct ctr_batch){&jres, &jscope, simple_ptrs, 2};
}

static void test_bad_endpoints(void)
{
    static const char *bad[] = {"",
                                "ftp://host:1",
                                "http://",
                                "https:///v1",
                                "host name:1",
                                "http://a b:1",
                                "user@host:1",
                                "http://h\r\n:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ctr_otlp_grpc_options o = {.endpoint = bad[i]};
        struct ctr_exporter *e = (struct ctr_exporter *)1;
        char err[256] = "";
        int rc = ctr_otlp_grpc_exporter_new(&o, &e, err, sizeof err);
        if (rc != CTR_EINVAL || e != NULL || !err[0])
            TEST_FAIL_AT("endpoint #%zu: rc %d, err '%s'", i, rc, err);
    }
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    ASSERT_EQ(ctr_otlp_grpc_exporter_new(NULL, &e, err, sizeof err), CTR_EINVAL);

    /* Scheme choice and the destination named in logs; the path is ignored. */
    struct {
        const char *ep;
        bool insecure;
        const char *dest;
    } good[] = {
        {"http://127.0.0.1:4317", false, "http://127.0.0.1:4317"},
        {"https://collector:4317/ignored/path", false, "https://collector:4317"},
        {"localhost:4317", false, "https://localhost:4317"},
        {"localhost:4317", true, "http://localhost:4317"},
        {"HTTP://[::1]:4317", true, "http://[::1]:4317"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct ctr_otlp_grpc_options o = {.endpoint = good[i].ep, .insecure = good[i].insecure};
        ASSERT_EQ(ctr_otlp_grpc_exporter_new(&o, &e, err, sizeof err), 0);
        ASSERT_STREQ(e->destination, good[i].dest);
        ASSERT_STREQ(e->ops->name, "otlp-grpc");
        ctr_exporter_destroy(e);
    }
    /* Jaeger: the default endpoint is localhost:14250 (TLS unless insecure). */
    struct ctr_jaeger_grpc_options jo = {.insecure = true};
    ASSERT_EQ(ctr_jaeger_grpc_exporter_new(&jo, &e, err, sizeof err), 0);
    ASSERT_STREQ(e->destination, "http://localhost:14250");
    ASSERT_STREQ(e->ops->name, "jaeger-grpc");
    ctr_exporter_destroy(e);
}

static void test_metadata_and_tls_warnings(void)
{
    logs_reset();
    struct ctr_header hs[] = {
        {"X-Tenant", "abc"},           {"bad name", "v"},     {"x-crlf", "a\r\nb"},
        {"grpc-timeout", "1S"},        {"Content-Type", "x"}, {"x-bin-ok-bin", "\x01\x02"},
        {"x-nonascii", "caf\xc3\xa9"}, {"x:colon", "v"},
    };
    struct ctr_otlp_grpc_options o = {
        .endpoint = "https://127.0.0.1:1",
        .headers = hs,
        .n_headers = sizeof hs / sizeof hs[0],
        .tls = {.insecure_skip_verify = true},
    };
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    ASSERT_EQ(ctr_otlp_grpc_exporter_new(&o, &e, err, sizeof err), 0);
    ctr_exporter_destroy(e);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "metadata #2 skipped"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "metadata x-crlf skipped"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "metadata grpc-timeout skipped"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "metadata content-type skipped"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "metadata x-nonascii skipped"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "metadata #8 skipped"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "does not verify the server's TLS certificate"), 1);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "tenant"), 0);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "x-bin-ok-bin"), 0);
}

static void test_refused_final_returns_fast(void)
{
    logs_reset();
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", closed_port());
    struct ctr_otlp_grpc_options o = {.endpoint = ep};
    struct ctr_exporter *e = NULL;
    char err[256];
    ASSERT_EQ(ctr_otlp_grpc_exporter_new(&o, &e, err, sizeof err), 0);
    atomic_store(&e->final, true);
    struct ctr_batch b = simple_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc1 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t el = ms_since(t0);
    int rc2 = ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000));
    uint64_t retries = atomic_load(&e->stats.retries);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    uint64_t batches = atomic_load(&e->stats.batches_failed);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc1, CTR_ECONNECT);
    ASSERT_EQ(rc2, CTR_ECONNECT);
    ASSERT(el < 300);
    ASSERT_UEQ(retries, 0);
    ASSERT_UEQ(failed, 4);
    ASSERT_UEQ(batches, 2);
    char want[256];
    snprintf(
        want, sizeof want,
        "chaostracing: export to %s failed: connection refused (1 attempt); 2 spans not delivered",
        ep);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, want), 1);
    ASSERT_EQ(logs_count(CTR_LOG_DEBUG, want), 1);
}

static void test_refused_retries_until_deadline(void)
{
    logs_reset();
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", closed_port());
    struct ctr_jaeger_grpc_options o = {.endpoint = ep, .insecure = true};
    struct ctr_exporter *e = NULL;
    char err[256];
    ASSERT_EQ(ctr_jaeger_grpc_exporter_new(&o, &e, err, sizeof err), 0);
    struct ctr_batch b = simple_batch();
    uint64_t t0 = ctr_monotonic_ns();
    int rc = ctr_exporter_export(e, &b, ctr_deadline_after_ms(700));
    uint64_t el = ms_since(t0);
    uint64_t retries = atomic_load(&e->stats.retries);
    ctr_exporter_destroy(e);
    ASSERT_EQ(rc, CTR_ECONNECT);
    /* Backoffs 50-100, 100-200, 200-400 ms: two or three retries fit. */
    ASSERT(retries >= 2 && retries <= 3);
    ASSERT(el >= 150);
    ASSERT(el <= 750);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "attempts); 2 spans not delivered"), 1);
}

/* A listener that accepts and never answers, for the deadline test. */
struct silent {
    int lfd;
    int port;
    pthread_t th;
    int fds[8];
    int n;
    atomic_int stop;
};

static void *silent_main(void *arg)
{
    struct silent *s = arg;
    while (!atomic_load(&s->stop)) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            break;
        if (s->n < 8)
            s->fds[s->n++] = fd;
        else
            close(fd);
    }
    return NULL;
}

static void test_silent_server_deadline(void)
{
    logs_reset();
    static struct silent s;
    memset(&s, 0, sizeof s);
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    ASSERT(bind(s.lfd, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(listen(s.lfd, 8) == 0);
    getsockname(s.lfd, (struct sockaddr *)&a, &l);
    s.port = ntohs(a.sin_port);
    pthread_create(&s.th, NULL, silent_main, &s);

    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", s.port);
    struct ctr_otlp_grpc_options o = {.endpoint = ep, .timeout_ms = 400};
    struct ctr_exporter *e = NULL;
    char err[256];
    int rc_new = ctr_otlp_grpc_exporter_new(&o, &e, err, sizeof err);
    struct ctr_batch b = simple_batch();
    uint64_t t0 = ctr_monotonic_ns();
    /* The caller's deadline is later: the exporter's own 400 ms wins. */
    int rc = e ? ctr_exporter_export(e, &b, ctr_deadline_after_ms(5000)) : -99;
    uint64_t el = ms_since(t0);
    ctr_exporter_destroy(e);
    atomic_store(&s.stop, 1);
    shutdown(s.lfd, SHUT_RDWR);
    close(s.lfd);
    pthread_join(s.th, NULL);
    for (int i = 0; i < s.n; i++)
        close(s.fds[i]);
    ASSERT_EQ(rc_new, 0);
    ASSERT_EQ(rc, CTR_ETIMEOUT);
    ASSERT(el >= 380);
    ASSERT(el <= 700);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "timed out"), 1);
}

static void test_shutdown_then_export_and_fork(void)
{
    struct ctr_otlp_grpc_options o = {.endpoint = "http://127.0.0.1:1"};
    struct ctr_exporter *e = NULL;
    char err[256];
    ASSERT_EQ(ctr_otlp_grpc_exporter_new(&o, &e, err, sizeof err), 0);
    struct ctr_batch b = simple_batch();
    struct ctr_batch none = {&jres, &jscope, simple_ptrs, 0};
    ASSERT_EQ(ctr_exporter_export(e, &none, ctr_deadline_after_ms(100)), 0);
    e->ops->after_fork_child(e); /* nothing connected yet: harmless */
    ASSERT_EQ(ctr_exporter_shutdown(e, ctr_deadline_after_ms(100)), 0);
    ASSERT_EQ(ctr_exporter_shutdown(e, ctr_deadline_after_ms(100)), 0);
    ASSERT_EQ(ctr_exporter_export(e, &b, ctr_deadline_after_ms(100)), CTR_ESHUTDOWN);
    ASSERT_UEQ(atomic_load(&e->stats.spans_failed), 2);
    ctr_exporter_destroy(e);
}

static void test_setup(void)
{
    logs_reset();
}

TEST_MAIN(TEST_CASE(test_setup), TEST_CASE(test_frame_plain_and_unframe),
          TEST_CASE(test_frame_gzip_roundtrip), TEST_CASE(test_timeout_format),
          TEST_CASE(test_percent_decode), TEST_CASE(test_status_tables),
          TEST_CASE(test_base64_decode), TEST_CASE(test_retry_info),
          TEST_CASE(test_jaeger_proto_request), TEST_CASE(test_jaeger_proto_root_span),
          TEST_CASE(test_jaeger_proto_child_spans), TEST_CASE(test_jaeger_proto_edge_cases),
          TEST_CASE(test_bad_endpoints), TEST_CASE(test_metadata_and_tls_warnings),
          TEST_CASE(test_refused_final_returns_fast),
          TEST_CASE(test_refused_retries_until_deadline), TEST_CASE(test_silent_server_deadline),
          TEST_CASE(test_shutdown_then_export_and_fork))
