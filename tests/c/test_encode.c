/*
 * Tests for the OTLP encoders (protobuf and JSON), the protobuf primitives,
 * the JSON helpers and the ExportTraceServiceResponse decoder.
 *
 * The golden files under fixtures/ come from tests/python/make_golden.py,
 * which builds the same messages with the official opentelemetry-proto
 * classes; the spans below must stay in step with it.
 */
#include <math.h>

#include "chaostracing/encode.h"
#include "encode/json.h"
#include "encode/pb.h"
#include "fixture.h"
#include "test.h"

#define T0 UINT64_C(1700000000000000000)

/* ---- fixtures ----------------------------------------------------------- */

/* The resource and scope shared by every fixture. */
static struct ctr_attr resource_attrs[] = {
    {S("service.name"), VSTR("chaostoolkit")},
    {S("telemetry.sdk.language"), VSTR("c")},
    {S("process.pid"), VINT(4242)},
};
static const struct ctr_scope scope = {S("chaostracing"), S("0.1.0")};

static void init_resource(struct ctr_resource *r, uint32_t dropped)
{
    memset(r, 0, sizeof *r);
    r->attrs = (struct ctr_attr_list)ATTRS_D(resource_attrs, dropped);
    r->dropped = dropped;
}

static void set_ids(struct ctr_span_context *c, const char *trace_hex, const char *span_hex)
{
    ctr_hex_decode(trace_hex, CTR_TRACE_ID_LEN, c->trace_id);
    ctr_hex_decode(span_hex, CTR_SPAN_ID_LEN, c->span_id);
}

/* otlp_basic: one sampled root span with one attribute. */
static struct ctr_attr basic_attrs[] = {{S("chaostoolkit.experiment.title"), VSTR("basic")}};

static void build_basic(struct ctr_span *s, struct ctr_resource *r)
{
    memset(s, 0, sizeof *s);
    set_ids(&s->ctx, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    s->name = (struct ctr_str)S("experiment");
    s->kind = CTR_KIND_INTERNAL;
    s->start_ns = T0;
    s->end_ns = T0 + 1500000000;
    s->attrs = (struct ctr_attr_list)ATTRS(basic_attrs);
    init_resource(r, 0);
}

/* otlp_full: four spans covering every value type and optional field. */
static char long_x[300];
static char big_payload[20000];
static struct ctr_value arr_str[] = {VSTR("a"), VSTR(""), VSTR("ü")};
static struct ctr_value arr_int[] = {VINT(1), VINT(-2), VINT(0)};
static struct ctr_value arr_bool[] = {VBOOL(true), VBOOL(false)};
static struct ctr_value arr_double[] = {VDBL(1.5), VDBL(-0.25)};
static struct ctr_attr full_attrs[] = {
    {S("s.plain"), VSTR("hello")},
    {S("s.empty"), VSTR("")},
    {S("s.escape"), VSTR("quote\" backslash\\ nl\n tab\t cr\r bell\x07 nul\x00 del\x7f /")},
    {S("s.unicode"), VSTR("héllo wörld — 日本語 🚀 \xe2\x80\xa8\xe2\x80\xa9\xc2\x85")},
    {S("s.long"), {.type = CTR_VALUE_STRING}}, /* filled in build_full */
    {S("b.true"), VBOOL(true)},
    {S("b.false"), VBOOL(false)},
    {S("i.zero"), VINT(0)},
    {S("i.pos"), VINT(42)},
    {S("i.neg"), VINT(-1)},
    {S("i.min"), VINT(INT64_MIN)},
    {S("i.max"), VINT(INT64_MAX)},
    {S("i.big"), VINT(INT64_C(1) << 40)},
    {S("d.zero"), VDBL(0.0)},
    {S("d.negzero"), VDBL(-0.0)},
    {S("d.pi"), VDBL(3.141592653589793)},
    {S("d.tenth"), VDBL(0.1)},
    {S("d.big"), VDBL(1e300)},
    {S("d.small"), VDBL(1.5e-7)},
    {S("d.int"), VDBL(3.0)},
    {S("d.e16"), VDBL(1e16)},
    {S("d.frac"), VDBL(123456.789)},
    {S("d.nan"), VDBL(NAN)},
    {S("d.inf"), VDBL(INFINITY)},
    {S("d.ninf"), VDBL(-INFINITY)},
    {S("bytes.bin"), VBYTES("\x00\x01\xfe\xff")},
    {S("bytes.empty"), VBYTES("")},
    {S("bytes.abc"), VBYTES("abc")},
    {S("bytes.hello"), VBYTES("hello")},
    {S("arr.str"), VARR(arr_str)},
    {S("arr.int"), VARR(arr_int)},
    {S("arr.bool"), VARR(arr_bool)},
    {S("arr.double"), VARR(arr_double)},
    {S("arr.empty"), {.type = CTR_VALUE_ARRAY}},
    {S("empty.value"), {.type = CTR_VALUE_EMPTY}},
};
static struct ctr_attr ev_attrs[] = {
    {S("exception.type"), VSTR("ValueError")},
    {S("exception.message"), VSTR("bad\nthing")},
    {S("count"), VINT(7)},
};
static struct ctr_event full_events[3];
static struct ctr_attr link_attrs[] = {{S("link.kind"), VSTR("follows")}};
static struct ctr_link full_links[2];
static struct ctr_attr child_attrs[] = {{S("http.status_code"), VINT(200)}};
static struct ctr_attr big_attrs[] = {{S("big.payload"), {.type = CTR_VALUE_STRING}}};

static void build_full(struct ctr_span sp[4], struct ctr_resource *r)
{
    memset(sp, 0, 4 * sizeof *sp);
    memset(long_x, 'x', sizeof long_x);
    for (size_t i = 0; i < sizeof big_payload; i++)
        big_payload[i] = "0123456789abcdef"[i % 16];
    full_attrs[4].value.u.s = (struct ctr_str){long_x, sizeof long_x};
    big_attrs[0].value.u.s = (struct ctr_str){big_payload, sizeof big_payload};

    struct ctr_span *root = &sp[0];
    set_ids(&root->ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    root->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    root->ctx.trace_state = (struct ctr_str)S("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    root->name = (struct ctr_str)S("chaos run ✓ éxpériment 日本");
    root->kind = CTR_KIND_SERVER;
    root->start_ns = T0;
    root->end_ns = T0 + 2000000000;
    root->attrs = (struct ctr_attr_list)ATTRS_D(full_attrs, 3);
    memset(full_events, 0, sizeof full_events);
    full_events[0].time_ns = T0 + 1000;
    full_events[0].name = (struct ctr_str)S("exception");
    full_events[0].attrs = (struct ctr_attr_list)ATTRS_D(ev_attrs, 2);
    full_events[1].time_ns = T0 + 2000;
    full_events[1].name = (struct ctr_str)S("tick");
    root->events = full_events;
    root->events_len = root->events_cap = 3;
    root->events_dropped = 1;
    memset(full_links, 0, sizeof full_links);
    set_ids(&full_links[0].ctx, "11112222333344445555666677778888", "99990000aaaabbbb");
    full_links[0].ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    full_links[0].ctx.is_remote = true;
    full_links[0].ctx.trace_state = (struct ctr_str)S("k=v");
    full_links[0].attrs = (struct ctr_attr_list)ATTRS_D(link_attrs, 1);
    set_ids(&full_links[1].ctx, "0102030405060708090a0b0c0d0e0f10", "1112131415161718");
    root->links = full_links;
    root->links_len = root->links_cap = 2;
    root->links_dropped = 4;
    root->status = CTR_STATUS_ERROR;
    root->status_message = (struct ctr_str)S("boom: it failed ✗");

    struct ctr_span *child = &sp[1];
    set_ids(&child->ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "a1a2a3a4a5a6a7a8");
    child->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    ctr_hex_decode("00f067aa0ba902b7", CTR_SPAN_ID_LEN, child->parent_span_id);
    child->has_parent = true;
    child->parent_is_remote = true;
    child->name = (struct ctr_str)S("activity");
    child->kind = CTR_KIND_CLIENT;
    child->start_ns = T0 + 10;
    child->end_ns = T0 + 20;
    child->attrs = (struct ctr_attr_list)ATTRS(child_attrs);
    child->status = CTR_STATUS_OK;

    struct ctr_span *odd = &sp[2];
    set_ids(&odd->ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "b1b2b3b4b5b6b7b8");
    ctr_hex_decode("a1a2a3a4a5a6a7a8", CTR_SPAN_ID_LEN, odd->parent_span_id);
    odd->has_parent = true;
    odd->start_ns = 1;
    odd->end_ns = 2;
    odd->status_message = (struct ctr_str)S("unset but noted");

    struct ctr_span *big = &sp[3];
    set_ids(&big->ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "c1c2c3c4c5c6c7c8");
    big->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    big->name = (struct ctr_str)S("big");
    big->kind = CTR_KIND_PRODUCER;
    big->start_ns = T0;
    big->end_ns = T0 + 1;
    big->attrs = (struct ctr_attr_list)ATTRS(big_attrs);

    init_resource(r, 1);
}

/* otlp_nested: an array value that contains itself; the encoders cut it at
 * eight levels. */
static struct ctr_value cycle_value;
static struct ctr_attr cycle_attrs[] = {{S("cycle"), {.type = CTR_VALUE_EMPTY}}};

static void build_nested(struct ctr_span *s, struct ctr_resource *r)
{
    cycle_value.type = CTR_VALUE_ARRAY;
    cycle_value.u.array.items = &cycle_value;
    cycle_value.u.array.len = 1;
    cycle_attrs[0].value = cycle_value;
    memset(s, 0, sizeof *s);
    set_ids(&s->ctx, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    s->name = (struct ctr_str)S("nested");
    s->kind = CTR_KIND_INTERNAL;
    s->start_ns = T0;
    s->end_ns = T0 + 1;
    s->attrs = (struct ctr_attr_list)ATTRS(cycle_attrs);
    init_resource(r, 0);
}

typedef int (*encode_fn)(const struct ctr_batch *, struct ctr_buf *);

/* Encode `n` spans with `fn` and compare with fixture `name`. */
static int encode_and_compare(encode_fn fn, struct ctr_span *spans, size_t n,
                              const struct ctr_resource *r, const char *name)
{
    struct ctr_span *ptrs[8];
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &spans[i];
    struct ctr_batch batch = {r, &scope, ptrs, n};
    struct ctr_buf out = {0};
    int rc = fn(&batch, &out);
    if (rc) {
        fprintf(stderr, "%s: encoder returned %s\n", name, ctr_err_name(rc));
        ctr_buf_free(&out);
        return -1;
    }
    rc = compare_fixture(name, out.data, out.len);
    ctr_buf_free(&out);
    return rc;
}

/* ---- golden tests ------------------------------------------------------- */

static void test_proto_basic_golden(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_basic(&s, &r);
    ASSERT_EQ(ctr_span_otlp_flags(&s), 0x101);
    ASSERT_EQ(encode_and_compare(ctr_otlp_proto_encode, &s, 1, &r, "otlp_basic.bin"), 0);
}

static void test_proto_full_golden(void)
{
    struct ctr_span sp[4];
    struct ctr_resource r;
    build_full(sp, &r);
    ASSERT_EQ(ctr_span_otlp_flags(&sp[1]), 0x301);
    ASSERT_EQ(ctr_span_otlp_flags(&sp[2]), 0x100);
    ASSERT_EQ(encode_and_compare(ctr_otlp_proto_encode, sp, 4, &r, "otlp_full.bin"), 0);
}

static void test_proto_nested_golden(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_nested(&s, &r);
    ASSERT_EQ(encode_and_compare(ctr_otlp_proto_encode, &s, 1, &r, "otlp_nested.bin"), 0);
}

static void test_json_basic_golden(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_basic(&s, &r);
    ASSERT_EQ(encode_and_compare(ctr_otlp_json_encode, &s, 1, &r, "otlp_basic.json"), 0);
}

static void test_json_full_golden(void)
{
    struct ctr_span sp[4];
    struct ctr_resource r;
    build_full(sp, &r);
    ASSERT_EQ(encode_and_compare(ctr_otlp_json_encode, sp, 4, &r, "otlp_full.json"), 0);
}

static void test_json_nested_golden(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_nested(&s, &r);
    ASSERT_EQ(encode_and_compare(ctr_otlp_json_encode, &s, 1, &r, "otlp_nested.json"), 0);
}

/* Encoders append: earlier content stays, two encodings are identical. */
static void test_encoders_append(void)
{
    struct ctr_span sp[4];
    struct ctr_resource r;
    build_full(sp, &r);
    struct ctr_span *ptrs[4] = {&sp[0], &sp[1], &sp[2], &sp[3]};
    struct ctr_batch batch = {&r, &scope, ptrs, 4};
    encode_fn fns[2] = {ctr_otlp_proto_encode, ctr_otlp_json_encode};
    for (int f = 0; f < 2; f++) {
        struct ctr_buf out = {0};
        ctr_buf_append(&out, "PREFIX", 6);
        ASSERT_EQ(fns[f](&batch, &out), 0);
        size_t one = out.len - 6;
        ASSERT_EQ(fns[f](&batch, &out), 0);
        ASSERT_EQ(out.len, 6 + 2 * one);
        ASSERT_MEMEQ(out.data, "PREFIX", 6);
        ASSERT_MEMEQ(out.data + 6, out.data + 6 + one, one);
        ctr_buf_free(&out);
    }
}

/* Without resource and scope, those messages are omitted. */
static void test_proto_no_resource_no_scope(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_basic(&s, &r);
    s.attrs.len = 0;
    s.ctx.trace_flags = 0;
    s.kind = CTR_KIND_UNSPECIFIED;
    s.name = (struct ctr_str){NULL, 5}; /* no storage: treated as empty */
    s.start_ns = 0x0102030405060708;
    s.end_ns = 0;
    struct ctr_span *ptr = &s;
    struct ctr_batch batch = {NULL, NULL, &ptr, 1};
    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_otlp_proto_encode(&batch, &out), 0);
    static const uint8_t want[] = {
        0x0a, 0x2f,                                                 /* resource_spans */
        0x12, 0x2d,                                                 /*  scope_spans */
        0x12, 0x2b,                                                 /*   span */
        0x0a, 0x10, 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, /* trace_id */
        0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c,             /* */
        0x12, 0x08, 0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31, /* span_id */
        0x39, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,       /* start, fixed64 LE */
        0x85, 0x01, 0x00, 0x01, 0x00, 0x00, /* flags 0x100, two-byte tag, fixed32 */
    };
    ASSERT_EQ(out.len, sizeof want);
    ASSERT_MEMEQ(out.data, want, out.len);
    ctr_buf_free(&out);
}

static void test_empty_batch_einval(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_basic(&s, &r);
    struct ctr_span *ptrs[2] = {&s, NULL};
    struct ctr_batch empty = {&r, &scope, ptrs, 0};
    struct ctr_batch no_spans = {&r, &scope, NULL, 1};
    struct ctr_batch null_span = {&r, &scope, ptrs, 2};
    encode_fn fns[2] = {ctr_otlp_proto_encode, ctr_otlp_json_encode};
    for (int f = 0; f < 2; f++) {
        struct ctr_buf out = {0};
        ctr_buf_append(&out, "x", 1);
        ASSERT_EQ(fns[f](&empty, &out), CTR_EINVAL);
        ASSERT_EQ(fns[f](NULL, &out), CTR_EINVAL);
        ASSERT_EQ(fns[f](&no_spans, &out), CTR_EINVAL);
        ASSERT_EQ(fns[f](&null_span, &out), CTR_EINVAL);
        ASSERT_EQ(fns[f](&empty, NULL), CTR_EINVAL);
        ASSERT_EQ(out.len, 1);
        ASSERT_EQ(out.err, 0);
        /* A buffer already in error reports it and is left alone. */
        out.err = CTR_ENOMEM;
        struct ctr_batch ok = {&r, &scope, ptrs, 1};
        ASSERT_EQ(fns[f](&ok, &out), CTR_ENOMEM);
        ASSERT_EQ(out.len, 1);
        ctr_buf_free(&out);
    }
}

/* A batch larger than the encoder's stack array of span sizes. */
static void test_proto_large_batch(void)
{
    enum { N = 1500 };
    struct ctr_span s;
    struct ctr_resource r;
    build_basic(&s, &r);
    struct ctr_span **ptrs = malloc(N * sizeof *ptrs);
    ASSERT(ptrs != NULL);
    for (size_t i = 0; i < N; i++)
        ptrs[i] = &s;
    struct ctr_batch one = {&r, &scope, ptrs, 1};
    struct ctr_batch many = {&r, &scope, ptrs, N};
    struct ctr_buf a = {0}, b = {0};
    int rc1 = ctr_otlp_proto_encode(&one, &a);
    int rc2 = ctr_otlp_proto_encode(&many, &b);
    free(ptrs);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc2, 0);
    /* Decode the outer layers and count the spans. */
    struct ctr__pb_reader rd = {b.data, b.data + b.len};
    uint32_t field;
    enum ctr__pb_wire wire;
    const uint8_t *p;
    size_t n;
    ASSERT_EQ(ctr__pb_read_tag(&rd, &field, &wire), 0);
    ASSERT_EQ(field, 1);
    ASSERT_EQ(ctr__pb_read_len(&rd, &p, &n), 0);
    ASSERT(rd.p == rd.end);
    struct ctr__pb_reader rs = {p, p + n};
    size_t spans = 0, span_len = 0;
    while (rs.p < rs.end) {
        ASSERT_EQ(ctr__pb_read_tag(&rs, &field, &wire), 0);
        ASSERT_EQ(ctr__pb_read_len(&rs, &p, &n), 0);
        if (field != 2)
            continue;
        struct ctr__pb_reader ss = {p, p + n};
        while (ss.p < ss.end) {
            ASSERT_EQ(ctr__pb_read_tag(&ss, &field, &wire), 0);
            ASSERT_EQ(ctr__pb_read_len(&ss, &p, &n), 0);
            if (field == 2) {
                spans++;
                span_len = n;
            }
        }
    }
    ASSERT_EQ(spans, N);
    /* Each span is what the one-span request holds (its last span bytes). */
    ASSERT(span_len > 0 && span_len < a.len);
    ASSERT_MEMEQ(b.data + b.len - span_len, a.data + a.len - span_len, span_len);
    ctr_buf_free(&a);
    ctr_buf_free(&b);
}

/* ---- protobuf primitives ------------------------------------------------ */

static void test_pb_varint(void)
{
    static const struct {
        uint64_t v;
        size_t n;
        uint8_t bytes[10];
    } cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {300, 2, {0xac, 0x02}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {UINT64_C(1) << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        uint8_t buf[16];
        ASSERT_EQ(ctr__pb_varint_size(cases[i].v), cases[i].n);
        uint8_t *end = ctr__pb_w_varint(buf, cases[i].v);
        ASSERT_EQ(end - buf, cases[i].n);
        ASSERT_MEMEQ(buf, cases[i].bytes, cases[i].n);
        struct ctr__pb_reader r = {buf, buf + cases[i].n};
        uint64_t back = 0;
        ASSERT_EQ(ctr__pb_read_varint(&r, &back), 0);
        ASSERT_UEQ(back, cases[i].v);
        ASSERT(r.p == r.end);
        /* Every strict prefix is truncated. */
        for (size_t k = 0; k < cases[i].n; k++) {
            struct ctr__pb_reader t = {buf, buf + k};
            ASSERT_EQ(ctr__pb_read_varint(&t, &back), CTR_EPARSE);
        }
    }
    /* More than ten bytes is malformed. */
    static const uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                       0x80, 0x80, 0x80, 0x80, 0x01};
    struct ctr__pb_reader r = {eleven, eleven + 11};
    uint64_t v;
    ASSERT_EQ(ctr__pb_read_varint(&r, &v), CTR_EPARSE);
}

static void test_pb_buffer_writers(void)
{
    static uint8_t payload[20000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    const size_t sizes[] = {0, 1, 127, 128, 16383, 16384, 20000};
    for (size_t c = 0; c < NELEM(sizes); c++) {
        struct ctr_buf b = {0};
        ctr__pb_put_tag(&b, 16, CTR__PB_I32);
        ctr__pb_put_fixed32(&b, 0x04030201);
        size_t m = ctr__pb_begin(&b, 3);
        ctr_buf_append(&b, payload, sizes[c]);
        ctr__pb_end(&b, m);
        ctr__pb_put_fixed64(&b, 0x0807060504030201);
        ctr__pb_put_double(&b, -2.0);
        ctr__pb_put_bytes_field(&b, 7, "hi", 2);
        ASSERT_EQ(b.err, 0);

        static const uint8_t head[] = {0x85, 0x01, 0x01, 0x02, 0x03, 0x04, 0x1a};
        ASSERT_MEMEQ(b.data, head, sizeof head);
        struct ctr__pb_reader r = {b.data + sizeof head, b.data + b.len};
        const uint8_t *p;
        size_t n;
        ASSERT_EQ(ctr__pb_read_len(&r, &p, &n), 0);
        ASSERT_EQ(p - (b.data + sizeof head), ctr__pb_varint_size(sizes[c]));
        ASSERT_EQ(n, sizes[c]);
        ASSERT_MEMEQ(p, payload, n);
        uint64_t f64;
        ASSERT_EQ(ctr__pb_read_fixed64(&r, &f64), 0);
        ASSERT_UEQ(f64, 0x0807060504030201);
        ASSERT_EQ(ctr__pb_read_fixed64(&r, &f64), 0);
        ASSERT_UEQ(f64, 0xc000000000000000); /* -2.0 */
        uint32_t field;
        enum ctr__pb_wire wire;
        ASSERT_EQ(ctr__pb_read_tag(&r, &field, &wire), 0);
        ASSERT_EQ(field, 7);
        ASSERT_EQ(wire, CTR__PB_LEN);
        ASSERT_EQ(ctr__pb_read_len(&r, &p, &n), 0);
        ASSERT_EQ(n, 2);
        ASSERT_MEMEQ(p, "hi", 2);
        ASSERT(r.p == r.end);
        ctr_buf_free(&b);
    }
}

/* ---- response decoder --------------------------------------------------- */

static int decode(const uint8_t *p, size_t n, int64_t *rej, char *msg, size_t msg_size)
{
    *rej = 12345;
    if (msg && msg_size)
        memcpy(msg, "junk", msg_size < 5 ? msg_size : 5);
    return ctr_otlp_proto_decode_response(p, n, rej, msg, msg_size);
}

static void test_decode_response_basic(void)
{
    int64_t rej;
    char msg[64];
    /* Empty body: full success. */
    ASSERT_EQ(decode(NULL, 0, &rej, msg, sizeof msg), 0);
    ASSERT_EQ(rej, 0);
    ASSERT_STREQ(msg, "");
    /* Empty partial_success. */
    static const uint8_t empty_ps[] = {0x0a, 0x00};
    ASSERT_EQ(decode(empty_ps, sizeof empty_ps, &rej, msg, sizeof msg), 0);
    ASSERT_EQ(rej, 0);
    ASSERT_STREQ(msg, "");
    /* rejected_spans = 3, error_message = "too old". */
    static const uint8_t ps[] = {0x0a, 0x0b, 0x08, 0x03, 0x12, 0x07, 't',
                                 'o',  'o',  ' ',  'o',  'l',  'd'};
    ASSERT_EQ(decode(ps, sizeof ps, &rej, msg, sizeof msg), 0);
    ASSERT_EQ(rej, 3);
    ASSERT_STREQ(msg, "too old");
    /* NULL outputs are allowed. */
    ASSERT_EQ(ctr_otlp_proto_decode_response(ps, sizeof ps, NULL, NULL, 0), 0);
    /* A negative count is a 10-byte varint. */
    static const uint8_t neg[] = {0x0a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ASSERT_EQ(decode(neg, sizeof neg, &rej, msg, sizeof msg), 0);
    ASSERT_EQ(rej, -1);
    /* Truncated message: cut at a character boundary and NUL-terminated. */
    static const uint8_t utf[] = {0x0a, 0x08, 0x12, 0x06, 'a', 'b', 0xc3, 0xa9, 'c', 'd'};
    char small[4];
    ASSERT_EQ(decode(utf, sizeof utf, &rej, small, sizeof small), 0);
    ASSERT_STREQ(small, "ab");
    char five[5];
    ASSERT_EQ(decode(utf, sizeof utf, &rej, five, sizeof five), 0);
    ASSERT_STREQ(five, "ab\xc3\xa9");
    char one[1];
    ASSERT_EQ(decode(utf, sizeof utf, &rej, one, sizeof one), 0);
    ASSERT_EQ(one[0], 0);
    /* Repeated partial_success fields merge: last value of each wins. */
    static const uint8_t twice[] = {0x0a, 0x05, 0x08, 0x01, 0x12, 0x01,
                                    'x',  0x0a, 0x02, 0x08, 0x09};
    ASSERT_EQ(decode(twice, sizeof twice, &rej, msg, sizeof msg), 0);
    ASSERT_EQ(rej, 9);
    ASSERT_STREQ(msg, "x");
}

static void test_decode_response_unknown_fields(void)
{
    int64_t rej;
    char msg[64];
    static const uint8_t body[] = {
        0x10, 0x96, 0x01,                            /* 2: varint 150 */
        0x19, 1,    2,    3,    4,    5,    6, 7, 8, /* 3: fixed64 */
        0x25, 1,    2,    3,    4,                   /* 4: fixed32 */
        0x2a, 0x03, 'a',  'b',  'c',                 /* 5: bytes */
        0x33, 0x08, 0x01, 0x3b, 0x3c, 0x34,          /* 6: group { 1: 1, 7: group {} } */
        0x08, 0x05,                                  /* 1 as varint: wrong type, skipped */
        0x0a, 0x16,                                  /* 1: partial_success (22 bytes) */
        0x18, 0x01,                                  /*   3: varint */
        0x08, 0x2a,                                  /*   1: 42 */
        0x12, 0x02, 'o',  'k',                       /*   2: "ok" */
        0x2d, 0,    0,    0,    0,                   /*   5: fixed32 */
        0x31, 0,    0,    0,    0,    0,    0, 0, 0, /*   6: fixed64 */
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00,          /* 536870911: varint 0 */
    };
    ASSERT_EQ(decode(body, sizeof body, &rej, msg, sizeof msg), 0);
    ASSERT_EQ(rej, 42);
    ASSERT_STREQ(msg, "ok");
}

static void test_decode_response_malformed(void)
{
    int64_t rej;
    char msg[64];
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t n;
    } bad[] = {
        {"tag only", {0x0a}, 1},
        {"length past end", {0x0a, 0x05, 0x08, 0x01}, 4},
        {"inner varint truncated", {0x0a, 0x02, 0x08, 0x80}, 4},
        {"inner string truncated", {0x0a, 0x04, 0x12, 0x05, 'a', 'b'}, 6},
        {"unterminated varint", {0x10, 0x80, 0x80}, 3},
        {"fixed64 truncated", {0x19, 1, 2, 3}, 4},
        {"fixed32 truncated", {0x25, 1, 2}, 3},
        {"wire type 6", {0x0e, 0x00}, 2},
        {"wire type 7", {0x0f, 0x00}, 2},
        {"field 0", {0x00, 0x00}, 2},
        {"field too large", {0xf8, 0xff, 0xff, 0xff, 0x1f, 0x00}, 6},
        {"end group alone", {0x34}, 1},
        {"group not closed", {0x33, 0x08, 0x01}, 3},
        {"group closed by another", {0x33, 0x3c}, 2},
        {"huge length", {0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 10},
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        int rc = decode(bad[i].bytes, bad[i].n, &rej, msg, sizeof msg);
        if (rc != CTR_EPARSE)
            TEST_FAIL_AT("%s: got %d, want CTR_EPARSE", bad[i].what, rc);
    }
    /* Groups nested beyond the limit. */
    uint8_t deep[200];
    size_t n = 0;
    for (int i = 0; i < 50; i++)
        deep[n++] = 0x33; /* start group 6 */
    for (int i = 0; i < 50; i++)
        deep[n++] = 0x34; /* end group 6 */
    ASSERT_EQ(decode(deep, n, &rej, msg, sizeof msg), CTR_EPARSE);
    /* ...but a few levels are fine. */
    uint8_t shallow[] = {0x33, 0x33, 0x33, 0x34, 0x34, 0x34};
    ASSERT_EQ(decode(shallow, sizeof shallow, &rej, msg, sizeof msg), 0);
}

/* Every prefix of a valid response either parses or is CTR_EPARSE, and the
 * decoder stays inside its input on pseudo-random bytes (run under ASan). */
static void test_decode_response_prefixes_and_noise(void)
{
    static const uint8_t body[] = {0x0a, 0x0d, 0x08, 0x03, 0x12, 0x04, 'f',  'a', 'i',
                                   'l',  0x1a, 0x03, 'x',  'y',  'z',  0x10, 0x01};
    int64_t rej;
    char msg[8];
    for (size_t k = 0; k <= sizeof body; k++) {
        uint8_t *copy = malloc(k ? k : 1); /* exact size, so ASan sees overreads */
        ASSERT(copy != NULL);
        memcpy(copy, body, k);
        int rc = decode(copy, k, &rej, msg, sizeof msg);
        free(copy);
        /* Only the empty prefix, the whole body and the body without the
         * trailing field end on a field boundary. */
        if (k == 0 || k == sizeof body || k == sizeof body - 2)
            ASSERT_EQ(rc, 0);
        else
            ASSERT_EQ(rc, CTR_EPARSE);
    }
    ASSERT_EQ(rej, 3);
    ASSERT_STREQ(msg, "fail");
    uint32_t seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(iter % 40);
        uint8_t *buf = malloc(n ? n : 1);
        ASSERT(buf != NULL);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            uint8_t c = (uint8_t)(seed >> 16);
            /* Bias towards valid tags and small lengths. */
            buf[i] = (seed >> 28) & 1 ? (uint8_t)(c & 0x3f) : c;
        }
        int rc = decode(buf, n, &rej, msg, sizeof msg);
        free(buf);
        ASSERT(rc == 0 || rc == CTR_EPARSE);
        ASSERT(memchr(msg, 0, sizeof msg) != NULL);
    }
}

/* ---- JSON helpers ------------------------------------------------------- */

static void check_json_string(const char *in, size_t n, const char *want)
{
    struct ctr_buf b = {0};
    ctr_json_put_string(&b, in, n);
    ctr_buf_putc(&b, 0);
    if (b.err || strcmp((const char *)b.data, want) != 0) {
        fprintf(stderr, "json string: got [%s], want [%s]\n", b.data ? (char *)b.data : "", want);
        ctr_test_failed_flag = 1;
    }
    ctr_buf_free(&b);
}
#define CHECK_STR(lit, want) check_json_string((lit), sizeof(lit) - 1, (want))

static void test_json_string_escaping(void)
{
    CHECK_STR("", "\"\"");
    CHECK_STR("plain text", "\"plain text\"");
    CHECK_STR("q\"b\\s/", "\"q\\\"b\\\\s/\"");
    CHECK_STR("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    CHECK_STR("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
    CHECK_STR("a\x00z", "\"a\\u0000z\"");
    CHECK_STR("héllo 日本 🚀", "\"héllo 日本 🚀\"");
    /* Unicode line breaks are escaped too: the output stays one line. */
    CHECK_STR("a\xe2\x80\xa8"
              "b\xe2\x80\xa9"
              "c\xc2\x85"
              "d\xc2\x84",
              "\"a\\u2028b\\u2029c\\u0085d\xc2\x84\"");
    /* Ill-formed UTF-8: one U+FFFD per maximal subpart. */
    CHECK_STR("\xff", "\"\xef\xbf\xbd\"");
    CHECK_STR("a\x80z", "\"a\xef\xbf\xbdz\"");
    CHECK_STR("\xe2\x82", "\"\xef\xbf\xbd\"");
    CHECK_STR("\xe2\x82x", "\"\xef\xbf\xbdx\"");
    CHECK_STR("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR("\xe0\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR("\xf0\x9f\x9a", "\"\xef\xbf\xbd\"");
    CHECK_STR("\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK_STR("\xf0\x9f\x9a\x80", "\"\xf0\x9f\x9a\x80\"");
    /* NULL with a length is an empty string. */
    check_json_string(NULL, 5, "\"\"");
}

static void test_json_double_format(void)
{
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"},
        {1e22, "1e+22"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {123456789012345680.0, "1.2345678901234568e+17"},
        {1e15, "1000000000000000.0"},
        {1234567890123456.0, "1234567890123456.0"},
        {1e16, "1e+16"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {0.000123, "0.000123"},
        {2.5, "2.5"},
        {-1.5e-10, "-1.5e-10"},
        {9007199254740993.0, "9007199254740992.0"},
        {100.0, "100.0"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {NAN, "NaN"},
        {INFINITY, "Infinity"},
        {-INFINITY, "-Infinity"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char out[CTR__JSON_DOUBLE_MAX];
        size_t n = ctr__json_format_double(cases[i].d, out);
        ASSERT_EQ(n, strlen(out));
        ASSERT_STREQ(out, cases[i].want);
    }
    struct ctr_buf b = {0};
    ctr__json_put_double(&b, NAN);
    ctr_buf_putc(&b, ',');
    ctr__json_put_double(&b, 2.5);
    ctr_buf_putc(&b, ',');
    ctr__json_put_i64_str(&b, INT64_MIN);
    ctr_buf_putc(&b, ',');
    ctr__json_put_u64(&b, UINT64_MAX);
    ctr_buf_putc(&b, ',');
    ctr__json_put_i64(&b, -7);
    ctr_buf_putc(&b, ',');
    ctr__json_put_u64_str(&b, 0);
    ctr_buf_putc(&b, 0);
    ASSERT_STREQ((char *)b.data,
                 "\"NaN\",2.5,\"-9223372036854775808\",18446744073709551615,-7,\"0\"");
    ctr_buf_free(&b);
}

static void test_base64(void)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *want[] = {"\"\"",         "\"Zg==\"",     "\"Zm8=\"",    "\"Zm9v\"",
                                 "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
    for (size_t i = 0; i < NELEM(in); i++) {
        struct ctr_buf b = {0};
        ctr__json_put_base64(&b, (const uint8_t *)in[i], strlen(in[i]));
        ctr_buf_putc(&b, 0);
        ASSERT_STREQ((char *)b.data, want[i]);
        ASSERT_EQ(ctr_base64_len(strlen(in[i])) + 3, b.len);
        ctr_buf_free(&b);
    }
}

/* Invalid UTF-8 anywhere in a span still gives valid JSON. */
static void test_json_span_invalid_utf8(void)
{
    struct ctr_span s;
    struct ctr_resource r;
    build_basic(&s, &r);
    s.name = (struct ctr_str)S("bad\xff\"name");
    static struct ctr_attr bad[] = {{S("k\xc0"), VSTR("v\xed\xa0\x80")}};
    s.attrs = (struct ctr_attr_list)ATTRS(bad);
    struct ctr_span *ptr = &s;
    struct ctr_batch batch = {NULL, &scope, &ptr, 1};
    struct ctr_buf out = {0};
    ASSERT_EQ(ctr_otlp_json_encode(&batch, &out), 0);
    ctr_buf_putc(&out, 0);
    const char *want = "{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":\"chaostracing\","
                       "\"version\":\"0.1.0\"},\"spans\":[{\"traceId\":"
                       "\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\","
                       "\"name\":\"bad\xef\xbf\xbd\\\"name\",\"kind\":1,\"startTimeUnixNano\":"
                       "\"1700000000000000000\",\"endTimeUnixNano\":\"1700000001500000000\","
                       "\"attributes\":[{\"key\":\"k\xef\xbf\xbd\",\"value\":{\"stringValue\":"
                       "\"v\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}],\"flags\":257}]}]}]}";
    ASSERT_STREQ((char *)out.data, want);
    ctr_buf_free(&out);
}

TEST_MAIN(TEST_CASE(test_proto_basic_golden), TEST_CASE(test_proto_full_golden),
          TEST_CASE(test_proto_nested_golden), TEST_CASE(test_json_basic_golden),
          TEST_CASE(test_json_full_golden), TEST_CASE(test_json_nested_golden),
          TEST_CASE(test_encoders_append), TEST_CASE(test_proto_no_resource_no_scope),
          TEST_CASE(test_empty_batch_einval), TEST_CASE(test_proto_large_batch),
          TEST_CASE(test_pb_varint), TEST_CASE(test_pb_buffer_writers),
          TEST_CASE(test_decode_response_basic), TEST_CASE(test_decode_response_unknown_fields),
          TEST_CASE(test_decode_response_malformed),
          TEST_CASE(test_decode_response_prefixes_and_noise), TEST_CASE(test_json_string_escaping),
          TEST_CASE(test_json_double_format), TEST_CASE(test_base64),
          TEST_CASE(test_json_span_invalid_utf8))
