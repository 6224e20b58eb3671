/*
 * Tests for the thrift compact writer (encode/thrift.h), the Jaeger thrift
 * encoder (encode/jaeger_thrift.c), the UDP transport and the Jaeger agent
 * exporter.
 *
 * Byte sequences are worked out by hand from apache/thrift
 * doc/specs/thrift-compact-protocol.md and jaeger-idl thrift/jaeger.thrift
 * and thrift/agent.thrift. The exporter tests send real datagrams to a UDP
 * socket on loopback, read by a thread, and walk them with the small
 * compact-protocol reader below (tests/python/test_jaeger_agent.py decodes
 * the same datagrams with the thrift package and Jaeger's generated classes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chaostracing/encode.h"
#include "chaostracing/exporter.h"
#include "encode/jaeger_thrift.h"
#include "encode/thrift.h"
#include "test.h"
#include "transport/udp.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }
/* Compare a buffer with a byte-string literal (length without the NUL). */
#define ASSERT_BYTES(buf, lit)                                                                     \
    do {                                                                                           \
        ASSERT_EQ((buf)->err, 0);                                                                  \
        ASSERT_UEQ((buf)->len, sizeof(lit) - 1);                                                   \
        ASSERT_MEMEQ((buf)->data, (lit), sizeof(lit) - 1);                                         \
    } while (0)

/* ---- captured log lines ---- */

#include "log_capture.h"

/* ---- compact protocol primitives ---- */

static void test_zigzag(void)
{
    ASSERT_UEQ(ctr__thrift_zigzag32(0), 0);
    ASSERT_UEQ(ctr__thrift_zigzag32(-1), 1);
    ASSERT_UEQ(ctr__thrift_zigzag32(1), 2);
    ASSERT_UEQ(ctr__thrift_zigzag32(-2), 3);
    ASSERT_UEQ(ctr__thrift_zigzag32(2), 4);
    ASSERT_UEQ(ctr__thrift_zigzag32(INT32_MAX), 0xfffffffeu);
    ASSERT_UEQ(ctr__thrift_zigzag32(INT32_MIN), 0xffffffffu);
    ASSERT_UEQ(ctr__thrift_zigzag64(0), 0);
    ASSERT_UEQ(ctr__thrift_zigzag64(-1), 1);
    ASSERT_UEQ(ctr__thrift_zigzag64(63), 126);
    ASSERT_UEQ(ctr__thrift_zigzag64(-64), 127);
    ASSERT_UEQ(ctr__thrift_zigzag64(INT64_MAX), UINT64_C(0xfffffffffffffffe));
    ASSERT_UEQ(ctr__thrift_zigzag64(INT64_MIN), UINT64_MAX);
}

static void test_varints(void)
{
    struct ctr_buf b = {0};
    ctr__thrift_put_varint(&b, 0);
    ASSERT_BYTES(&b, "\x00");
    ctr_buf_reset(&b);
    ctr__thrift_put_varint(&b, 127);
    ASSERT_BYTES(&b, "\x7f");
    ctr_buf_reset(&b);
    ctr__thrift_put_varint(&b, 128);
    ASSERT_BYTES(&b, "\x80\x01");
    ctr_buf_reset(&b);
    ctr__thrift_put_varint(&b, 50399); /* the specification's example */
    ASSERT_BYTES(&b, "\xdf\x89\x03");
    ctr_buf_reset(&b);
    ctr__thrift_put_varint(&b, UINT64_MAX);
    ASSERT_BYTES(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    ctr_buf_reset(&b);
    ctr__thrift_put_i32(&b, -1);
    ASSERT_BYTES(&b, "\x01");
    ctr_buf_reset(&b);
    ctr__thrift_put_i32(&b, 64); /* zigzag 128 */
    ASSERT_BYTES(&b, "\x80\x01");
    ctr_buf_reset(&b);
    ctr__thrift_put_i32(&b, INT32_MAX);
    ASSERT_BYTES(&b, "\xfe\xff\xff\xff\x0f");
    ctr_buf_reset(&b);
    ctr__thrift_put_i32(&b, INT32_MIN);
    ASSERT_BYTES(&b, "\xff\xff\xff\xff\x0f");
    ctr_buf_reset(&b);
    ctr__thrift_put_i64(&b, -64);
    ASSERT_BYTES(&b, "\x7f");
    ctr_buf_reset(&b);
    ctr__thrift_put_i64(&b, INT64_MIN);
    ASSERT_BYTES(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    ctr_buf_reset(&b);
    ctr__thrift_put_i64(&b, INT64_MAX);
    ASSERT_BYTES(&b, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    ASSERT_UEQ(ctr__thrift_varint_size(0), 1);
    ASSERT_UEQ(ctr__thrift_varint_size(127), 1);
    ASSERT_UEQ(ctr__thrift_varint_size(128), 2);
    ASSERT_UEQ(ctr__thrift_varint_size(UINT64_MAX), 10);
    ctr_buf_free(&b);
}

static void test_double_and_binary(void)
{
    struct ctr_buf b = {0};
    ctr__thrift_put_double(&b, 1.0); /* 0x3ff0000000000000, little-endian */
    ASSERT_BYTES(&b, "\x00\x00\x00\x00\x00\x00\xf0\x3f");
    ctr_buf_reset(&b);
    ctr__thrift_put_double(&b, -2.5); /* 0xc004000000000000 */
    ASSERT_BYTES(&b, "\x00\x00\x00\x00\x00\x00\x04\xc0");
    ctr_buf_reset(&b);
    ctr__thrift_put_binary(&b, "abc", 3);
    ASSERT_BYTES(&b, "\x03"
                     "abc");
    ctr_buf_reset(&b);
    ctr__thrift_put_binary(&b, "", 0);
    ASSERT_BYTES(&b, "\x00");
    ctr_buf_reset(&b);
    char big[200];
    memset(big, 'z', sizeof big);
    ctr__thrift_put_binary(&b, big, sizeof big);
    ASSERT_UEQ(b.len, 202);
    ASSERT_MEMEQ(b.data, "\xc8\x01", 2);
    ASSERT_MEMEQ(b.data + 2, big, sizeof big);
    ctr_buf_free(&b);
}

static void test_list_headers(void)
{
    struct ctr_buf b = {0};
    ctr__thrift_put_list_header(&b, CTR__THRIFT_STRUCT, 0);
    ASSERT_BYTES(&b, "\x0c");
    ctr_buf_reset(&b);
    ctr__thrift_put_list_header(&b, CTR__THRIFT_I32, 14);
    ASSERT_BYTES(&b, "\xe5");
    ctr_buf_reset(&b);
    ctr__thrift_put_list_header(&b, CTR__THRIFT_BINARY, 15);
    ASSERT_BYTES(&b, "\xf8\x0f");
    ctr_buf_reset(&b);
    ctr__thrift_put_list_header(&b, CTR__THRIFT_STRUCT, 300);
    ASSERT_BYTES(&b, "\xfc\xac\x02");
    ASSERT_UEQ(ctr__thrift_list_header_size(14), 1);
    ASSERT_UEQ(ctr__thrift_list_header_size(15), 2);
    ASSERT_UEQ(ctr__thrift_list_header_size(300), 3);
    ctr_buf_free(&b);
}

static void test_field_headers(void)
{
    struct ctr_buf b = {0};
    struct ctr__thrift_writer w;
    ctr__thrift_writer_init(&w, &b);
    ctr__thrift_struct_begin(&w);
    ctr__thrift_field_i32(&w, 1, 5);         /* delta 1, I32: 0x15, zigzag 10 */
    ctr__thrift_field_i64(&w, 3, -1);        /* delta 2, I64: 0x26, zigzag 1 */
    ctr__thrift_field_bool(&w, 4, true);     /* delta 1, TRUE: 0x11 */
    ctr__thrift_field_bool(&w, 5, false);    /* delta 1, FALSE: 0x12 */
    ctr__thrift_field_binary(&w, 20, "", 0); /* delta 15: 0xf8, length 0 */
    ctr__thrift_field_i32(&w, 37, 0);        /* delta 17: long form 0x05, zigzag(37) = 74 */
    ctr__thrift_field_i32(&w, 38, 0);        /* delta 1 again: 0x15 */
    ctr__thrift_field_i32(&w, 2, 0);         /* going back: long form, zigzag(2) = 4 */
    ctr__thrift_field_i32(&w, 300, 0);       /* long form, zigzag(300) = 600 = 0xd8 0x04 */
    ctr__thrift_field_double(&w, 301, 1.0);  /* delta 1, DOUBLE: 0x17 */
    ctr__thrift_field_list(&w, 302, CTR__THRIFT_I64, 2); /* 0x19, list header 0x26 */
    ctr__thrift_put_i64(&b, 1);
    ctr__thrift_put_i64(&b, -2);
    ctr__thrift_struct_end(&w);
    ASSERT_EQ(ctr__thrift_writer_error(&w), 0);
    ASSERT_EQ(w.depth, 0);
    ASSERT_BYTES(&b, "\x15\x0a"
                     "\x26\x01"
                     "\x11"
                     "\x12"
                     "\xf8\x00"
                     "\x05\x4a\x00"
                     "\x15\x00"
                     "\x05\x04\x00"
                     "\x05\xd8\x04\x00"
                     "\x17\x00\x00\x00\x00\x00\x00\xf0\x3f"
                     "\x19\x26\x02\x03"
                     "\x00");

    /* A negative field id is written in the long form too. */
    ctr_buf_reset(&b);
    ctr__thrift_put_field_header(&b, 0, -1, CTR__THRIFT_BINARY);
    ASSERT_BYTES(&b, "\x08\x01");
    ctr_buf_free(&b);
}

static void test_nested_structs(void)
{
    struct ctr_buf b = {0};
    struct ctr__thrift_writer w;
    ctr__thrift_writer_init(&w, &b);
    ctr__thrift_struct_begin(&w);
    ctr__thrift_field_i32(&w, 1, 1);
    ctr__thrift_field(&w, 2, CTR__THRIFT_STRUCT); /* 0x1c */
    ctr__thrift_struct_begin(&w);
    ctr__thrift_field_i32(&w, 5, 2); /* measured from 0 inside: 0x55 */
    ctr__thrift_field_bool(&w, 6, true);
    ctr__thrift_struct_end(&w);
    ctr__thrift_field_list(&w, 3, CTR__THRIFT_STRUCT, 2); /* from 2 in the outer struct: 0x19 */
    for (int i = 0; i < 2; i++) {
        ctr__thrift_struct_begin(&w);
        ctr__thrift_field_i32(&w, 1, i); /* every element starts from 0 */
        ctr__thrift_struct_end(&w);
    }
    ctr__thrift_field_i32(&w, 4, 0); /* back in the outer struct: delta 1 */
    ctr__thrift_struct_end(&w);
    ASSERT_EQ(ctr__thrift_writer_error(&w), 0);
    ASSERT_BYTES(&b, "\x15\x02"
                     "\x1c"
                     "\x55\x04"
                     "\x11"
                     "\x00"
                     "\x19\x2c"
                     "\x15\x00\x00"
                     "\x15\x02\x00"
                     "\x15\x00"
                     "\x00");
    ctr_buf_free(&b);
}

static void test_writer_misuse(void)
{
    struct ctr_buf b = {0};
    struct ctr__thrift_writer w;
    ctr__thrift_writer_init(&w, &b);
    ctr__thrift_field_i32(&w, 1, 1); /* outside any struct */
    ASSERT_EQ(ctr__thrift_writer_error(&w), CTR_EINVAL);
    ASSERT_UEQ(b.len, 0);

    ctr__thrift_writer_init(&w, &b);
    ctr__thrift_struct_end(&w); /* nothing open */
    ASSERT_EQ(ctr__thrift_writer_error(&w), CTR_EINVAL);

    ctr__thrift_writer_init(&w, &b);
    for (int i = 0; i <= CTR__THRIFT_MAX_DEPTH; i++)
        ctr__thrift_struct_begin(&w);
    ASSERT_EQ(ctr__thrift_writer_error(&w), CTR_EINVAL);
    ctr_buf_free(&b);
}

static void test_message_header(void)
{
    struct ctr_buf b = {0};
    ctr__thrift_put_message_begin(&b, "emitBatch", 9, CTR__THRIFT_ONEWAY, 0);
    ASSERT_BYTES(&b, "\x82\x81\x00\x09"
                     "emitBatch");
    ctr_buf_reset(&b);
    ctr__thrift_put_message_begin(&b, "emitBatch", 9, CTR__THRIFT_ONEWAY, 300);
    ASSERT_BYTES(&b, "\x82\x81\xac\x02\x09"
                     "emitBatch");
    ctr_buf_reset(&b);
    ctr__thrift_put_message_begin(&b, "ping", 4, CTR__THRIFT_CALL, 1);
    ASSERT_BYTES(&b, "\x82\x21\x01\x04"
                     "ping");
    ctr_buf_free(&b);
}

/* ---- the Jaeger encoder ---- */

#define T_START 2000u /* ns: 2 µs */
#define T_END 5000u   /* 3 µs later */

static struct ctr_attr svc_attrs[] = {
    {S("service.name"), {.type = CTR_VALUE_STRING, .u.s = S("svc")}},
};
static struct ctr_resource svc_resource = {.attrs = {svc_attrs, 1, 1, 0}};

/* A span with small ids so their zigzag varints are one byte:
 * traceIdHigh 1, traceIdLow 2, spanId 3. */
static void small_span(struct ctr_span *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->ctx.trace_id[7] = 1;
    s->ctx.trace_id[15] = 2;
    s->ctx.span_id[7] = 3;
    s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    s->recording = s->ended = true;
    s->kind = CTR_KIND_INTERNAL;
    s->name = (struct ctr_str){name, strlen(name)};
    s->start_ns = T_START;
    s->end_ns = T_END;
}

static void test_encode_minimal_batch(void)
{
    struct ctr_span sp;
    small_span(&sp, "op");
    struct ctr_span *spans[] = {&sp};
    struct ctr_batch batch = {&svc_resource, NULL, spans, 1};
    struct ctr_buf b = {0};
    ASSERT_EQ(ctr_jaeger_thrift_encode(&batch, 7, &b), 0);
    ASSERT_BYTES(&b, "\x82\x81\x07\x09"
                     "emitBatch" /* oneway call, seqid 7 */
                     "\x1c"      /* emitBatch_args.batch (1, struct) */
                     "\x1c"      /* Batch.process (1, struct) */
                     "\x18\x03"
                     "svc"      /* Process.serviceName */
                     "\x00"     /* end of Process */
                     "\x19\x1c" /* Batch.spans (2, list): 1 struct */
                     "\x16\x04" /* traceIdLow 2 */
                     "\x16\x02" /* traceIdHigh 1 */
                     "\x16\x06" /* spanId 3 */
                     "\x16\x00" /* parentSpanId 0 (required) */
                     "\x18\x02"
                     "op"       /* operationName */
                     "\x25\x02" /* flags (7, delta 2): 1 */
                     "\x16\x04" /* startTime 2 µs */
                     "\x16\x06" /* duration 3 µs */
                     "\x00"     /* end of Span: no tags, logs or references */
                     "\x16\x0e" /* Batch.seqNo (3): 7 */
                     "\x00"     /* end of Batch */
                     "\x00");   /* end of the arguments */
    ASSERT_UEQ(b.len, ctr__jaeger_head_size(7, 6, 1) + 19 + ctr__jaeger_tail_size(7));

    struct ctr_batch empty = {&svc_resource, NULL, spans, 0};
    ASSERT_EQ(ctr_jaeger_thrift_encode(&empty, 0, &b), CTR_EINVAL);
    ASSERT_EQ(ctr_jaeger_thrift_encode(NULL, 0, &b), CTR_EINVAL);
    ctr_buf_free(&b);
}

/* The duration is end minus start, each truncated to microseconds: a span
 * of 1.002 µs from 2.999 µs lasts 2 µs (4 - 2), so it still contains a child
 * or an event at 4.000 µs, as it does in nanoseconds. */
static void test_duration_truncates_both_ends(void)
{
    struct ctr_span sp;
    small_span(&sp, "op");
    sp.start_ns = 2999u;
    sp.end_ns = 4001u;
    struct ctr_span *spans[] = {&sp};
    struct ctr_batch batch = {&svc_resource, NULL, spans, 1};
    struct ctr_buf b = {0};
    ASSERT_EQ(ctr_jaeger_thrift_encode(&batch, 7, &b), 0);
    static const char times[] = "\x16\x04" /* startTime 2 µs */
                                "\x16\x04" /* duration 2 µs */
                                "\x00";    /* end of Span */
    bool found = memmem(b.data, b.len, times, sizeof times - 1) != NULL;
    ctr_buf_free(&b);
    ASSERT(found);
}

static void test_encode_full_span(void)
{
    static struct ctr_value arr[] = {{.type = CTR_VALUE_INT, .u.i = 1},
                                     {.type = CTR_VALUE_INT, .u.i = 2}};
    static struct ctr_attr attrs[] = {
        {S("s"), {.type = CTR_VALUE_STRING, .u.s = S("v")}},
        {S("b"), {.type = CTR_VALUE_BOOL, .u.b = true}},
        {S("i"), {.type = CTR_VALUE_INT, .u.i = -3}},
        {S("d"), {.type = CTR_VALUE_DOUBLE, .u.d = 1.0}},
        {S("y"), {.type = CTR_VALUE_BYTES, .u.s = {"\0", 1}}},
        {S("a"), {.type = CTR_VALUE_ARRAY, .u.array = {arr, 2}}},
        {S("error"), {.type = CTR_VALUE_STRING, .u.s = S("replaced")}},
    };
    static struct ctr_attr ev_attrs[] = {{S("k"), {.type = CTR_VALUE_STRING, .u.s = S("w")}}};
    struct ctr_event ev = {.time_ns = 7000, .name = S("e"), .attrs = {ev_attrs, 1, 1, 0}};
    struct ctr_link link = {0};
    link.ctx.trace_id[15] = 9;
    link.ctx.span_id[7] = 5;
    struct ctr_scope scope = {S("sc"), S("1")};

    struct ctr_span sp;
    small_span(&sp, "x");
    memset(sp.ctx.span_id, 0xff, CTR_SPAN_ID_LEN); /* -1 as a signed i64 */
    sp.has_parent = true;
    sp.parent_span_id[7] = 3;
    sp.kind = CTR_KIND_SERVER;
    sp.status = CTR_STATUS_ERROR;
    sp.status_message = (struct ctr_str)S("bad");
    sp.attrs = (struct ctr_attr_list){attrs, NELEM(attrs), NELEM(attrs), 0};
    sp.events = &ev;
    sp.events_len = 1;
    sp.links = &link;
    sp.links_len = 1;

    struct ctr__jaeger_cut none;
    ctr__jaeger_cut_none(&none);
    struct ctr_buf b = {0}, scratch = {0};
    ASSERT_EQ(ctr__jaeger_put_span(&b, &scratch, &sp, &scope, &none), 0);
    ASSERT_BYTES(&b, "\x16\x04" /* traceIdLow 2 */
                     "\x16\x02" /* traceIdHigh 1 */
                     "\x16\x01" /* spanId -1 */
                     "\x16\x06" /* parentSpanId 3 */
                     "\x18\x01"
                     "x"
                     "\x19\x2c"                             /* references (6): 2 structs */
                     "\x15\x00\x16\x04\x16\x02\x16\x06\x00" /* CHILD_OF 1/2 span 3 */
                     "\x15\x02\x16\x12\x16\x00\x16\x0a\x00" /* FOLLOWS_FROM 0/9 span 5 */
                     "\x15\x02"                             /* flags 1 */
                     "\x16\x04"                             /* startTime */
                     "\x16\x06"                             /* duration */
                     "\x19\xcc"                             /* tags (10): 12 structs */
                     "\x18\x01"
                     "s"
                     "\x15\x00\x18\x01"
                     "v"
                     "\x00" /* STRING */
                     "\x18\x01"
                     "b"
                     "\x15\x04\x31\x00" /* BOOL: vBool (5) in the header */
                     "\x18\x01"
                     "i"
                     "\x15\x06\x46\x05\x00" /* LONG: vLong (6) -3 */
                     "\x18\x01"
                     "d"
                     "\x15\x02\x27\x00\x00\x00\x00\x00\x00\xf0\x3f\x00" /* DOUBLE */
                     "\x18\x01"
                     "y"
                     "\x15\x08\x58\x01\x00\x00" /* BINARY: vBinary (7) */
                     "\x18\x01"
                     "a"
                     "\x15\x00\x18\x05"
                     "[1,2]"
                     "\x00" /* array as JSON */
                     "\x18\x0f"
                     "otel.scope.name"
                     "\x15\x00\x18\x02"
                     "sc"
                     "\x00"
                     "\x18\x12"
                     "otel.scope.version"
                     "\x15\x00\x18\x01"
                     "1"
                     "\x00"
                     "\x18\x09"
                     "span.kind"
                     "\x15\x00\x18\x06"
                     "server"
                     "\x00"
                     "\x18\x10"
                     "otel.status_code"
                     "\x15\x00\x18\x05"
                     "ERROR"
                     "\x00"
                     "\x18\x17"
                     "otel.status_description"
                     "\x15\x00\x18\x03"
                     "bad"
                     "\x00"
                     "\x18\x05"
                     "error"
                     "\x15\x04\x31\x00" /* error=true replaces the attribute */
                     "\x19\x1c"         /* logs (11): 1 struct */
                     "\x16\x0e"         /* timestamp 7 µs */
                     "\x19\x2c"         /* fields: 2 tags */
                     "\x18\x05"
                     "event"
                     "\x15\x00\x18\x01"
                     "e"
                     "\x00"
                     "\x18\x01"
                     "k"
                     "\x15\x00\x18\x01"
                     "w"
                     "\x00"
                     "\x00"   /* end of Log */
                     "\x00"); /* end of Span */

    /* An event attribute named "event" takes the place of the name; a
     * dropped count is reported. */
    static struct ctr_attr own[] = {{S("event"), {.type = CTR_VALUE_STRING, .u.s = S("mine")}}};
    struct ctr_event ev2 = {.time_ns = 0, .name = S("ignored"), .attrs = {own, 1, 1, 2}};
    struct ctr_span sp2;
    small_span(&sp2, "y");
    sp2.events = &ev2;
    sp2.events_len = 1;
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr__jaeger_put_span(&b, &scratch, &sp2, NULL, &none), 0);
    ASSERT_BYTES(&b, "\x16\x04\x16\x02\x16\x06\x16\x00\x18\x01"
                     "y"
                     "\x25\x02\x16\x04\x16\x06"
                     "\x29\x1c" /* logs (11, delta 2 from 9): 1 struct */
                     "\x16\x00\x19\x2c"
                     "\x18\x05"
                     "event"
                     "\x15\x00\x18\x04"
                     "mine"
                     "\x00"
                     "\x18\x23"
                     "otel.event.dropped_attributes_count"
                     "\x15\x06\x46\x04\x00"
                     "\x00\x00");
    ctr_buf_free(&b);
    ctr_buf_free(&scratch);
}

static void test_encode_process(void)
{
    static struct ctr_attr attrs[] = {
        {S("host.name"), {.type = CTR_VALUE_STRING, .u.s = S("h")}},
        {S("service.name"), {.type = CTR_VALUE_STRING, .u.s = S("chaostoolkit")}},
        {S("process.pid"), {.type = CTR_VALUE_INT, .u.i = 42}},
    };
    struct ctr_resource r = {.attrs = {attrs, 3, 3, 0}};
    struct ctr__jaeger_cut none;
    ctr__jaeger_cut_none(&none);
    struct ctr_buf b = {0}, scratch = {0};
    ASSERT_EQ(ctr__jaeger_put_process(&b, &scratch, &r, &none), 0);
    ASSERT_BYTES(&b, "\x18\x0c"
                     "chaostoolkit"
                     "\x19\x2c"
                     "\x18\x09"
                     "host.name"
                     "\x15\x00\x18\x01"
                     "h"
                     "\x00"
                     "\x18\x0b"
                     "process.pid"
                     "\x15\x06\x46\x54\x00"
                     "\x00");
    /* Without a service.name: the specification's default. */
    ctr_buf_reset(&b);
    ASSERT_EQ(ctr__jaeger_put_process(&b, &scratch, NULL, &none), 0);
    ASSERT_BYTES(&b, "\x18\x0f"
                     "unknown_service"
                     "\x00");
    ctr_buf_free(&b);
    ctr_buf_free(&scratch);
}

/* ---- a compact-protocol reader for the datagrams ---- */

struct rd {
    const uint8_t *p, *end;
    int err;
};

static uint64_t rd_varint(struct rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) {
            r->err = 1;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->err = 1;
    return 0;
}

static int64_t rd_zz(struct rd *r)
{
    uint64_t v = rd_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static const uint8_t *rd_bytes(struct rd *r, size_t *n)
{
    *n = (size_t)rd_varint(r);
    if (r->err || (size_t)(r->end - r->p) < *n) {
        r->err = 1;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += *n;
    return p;
}

/* Next field of a struct: false at the stop byte. Booleans come back with
 * `*bval` set and type CTR__THRIFT_BOOL_TRUE. */
static bool rd_field(struct rd *r, int16_t *last, int16_t *id, int *type, bool *bval)
{
    if (r->p >= r->end) {
        r->err = 1;
        return false;
    }
    uint8_t h = *r->p++;
    if (h == 0)
        return false;
    *type = h & 0x0f;
    if (h >> 4)
        *id = (int16_t)(*last + (h >> 4));
    else
        *id = (int16_t)rd_zz(r);
    *last = *id;
    if (*type == CTR__THRIFT_BOOL_TRUE || *type == CTR__THRIFT_BOOL_FALSE) {
        *bval = *type == CTR__THRIFT_BOOL_TRUE;
        *type = CTR__THRIFT_BOOL_TRUE;
    }
    return true;
}

static void rd_skip(struct rd *r, int type);

static void rd_skip_struct(struct rd *r)
{
    int16_t last = 0, id;
    int type;
    bool bv;
    while (!r->err && rd_field(r, &last, &id, &type, &bv))
        rd_skip(r, type);
}

static uint32_t rd_list(struct rd *r, int *elem)
{
    if (r->p >= r->end) {
        r->err = 1;
        return 0;
    }
    uint8_t h = *r->p++;
    *elem = h & 0x0f;
    return (h >> 4) == 15 ? (uint32_t)rd_varint(r) : (uint32_t)(h >> 4);
}

static void rd_skip(struct rd *r, int type)
{
    size_t n;
    int elem;
    switch (type) {
    case CTR__THRIFT_BOOL_TRUE:
        break;
    case CTR__THRIFT_I8:
        r->p++;
        break;
    case CTR__THRIFT_I16:
    case CTR__THRIFT_I32:
    case CTR__THRIFT_I64:
        rd_varint(r);
        break;
    case CTR__THRIFT_DOUBLE:
        r->p += 8;
        break;
    case CTR__THRIFT_BINARY:
        rd_bytes(r, &n);
        break;
    case CTR__THRIFT_LIST:
    case CTR__THRIFT_SET: {
        uint32_t k = rd_list(r, &elem);
        for (uint32_t i = 0; i < k && !r->err; i++)
            rd_skip(r, elem == CTR__THRIFT_ELEM_BOOL ? CTR__THRIFT_I8 : elem);
        break;
    }
    case CTR__THRIFT_STRUCT:
        rd_skip_struct(r);
        break;
    default:
        r->err = 1;
    }
    if (r->p > r->end)
        r->err = 1;
}

struct t_tag {
    const char *key;
    size_t klen;
    int vtype;
    const uint8_t *str; /* vStr or vBinary */
    size_t slen;
    bool b;
    int64_t l;
    double d;
};

struct t_span {
    int64_t trace_low, trace_high, span_id, parent;
    const uint8_t *name;
    size_t name_len;
    uint32_t n_refs, n_logs;
    struct t_tag tags[8192];
    uint32_t n_tags;
};

static void rd_tag(struct rd *r, struct t_tag *t)
{
    memset(t, 0, sizeof *t);
    int16_t last = 0, id;
    int type;
    bool bv = false;
    while (!r->err && rd_field(r, &last, &id, &type, &bv)) {
        if (id == 1 && type == CTR__THRIFT_BINARY)
            t->key = (const char *)rd_bytes(r, &t->klen);
        else if (id == 2 && type == CTR__THRIFT_I32)
            t->vtype = (int)rd_zz(r);
        else if ((id == 3 || id == 7) && type == CTR__THRIFT_BINARY)
            t->str = rd_bytes(r, &t->slen);
        else if (id == 5 && type == CTR__THRIFT_BOOL_TRUE)
            t->b = bv;
        else if (id == 6 && type == CTR__THRIFT_I64)
            t->l = rd_zz(r);
        else if (id == 4 && type == CTR__THRIFT_DOUBLE) {
            uint64_t bits = 0;
            for (int i = 0; i < 8 && r->p + i < r->end; i++)
                bits |= (uint64_t)r->p[i] << (8 * i);
            memcpy(&t->d, &bits, 8);
            r->p += 8;
        } else
            rd_skip(r, type);
    }
}

/* Read a Span struct into `s` (tags beyond the array are skipped). */
static void rd_span(struct rd *r, struct t_span *s)
{
    s->n_tags = s->n_refs = s->n_logs = 0;
    s->parent = 0;
    int16_t last = 0, id;
    int type, elem;
    bool bv;
    while (!r->err && rd_field(r, &last, &id, &type, &bv)) {
        switch (id) {
        case 1:
            s->trace_low = rd_zz(r);
            break;
        case 2:
            s->trace_high = rd_zz(r);
            break;
        case 3:
            s->span_id = rd_zz(r);
            break;
        case 4:
            s->parent = rd_zz(r);
            break;
        case 5:
            s->name = rd_bytes(r, &s->name_len);
            break;
        case 6:
            s->n_refs = rd_list(r, &elem);
            for (uint32_t i = 0; i < s->n_refs && !r->err; i++)
                rd_skip_struct(r);
            break;
        case 10: {
            uint32_t k = rd_list(r, &elem);
            for (uint32_t i = 0; i < k && !r->err; i++) {
                if (s->n_tags < NELEM(s->tags))
                    rd_tag(r, &s->tags[s->n_tags++]);
                else
                    rd_skip_struct(r);
            }
            break;
        }
        case 11:
            s->n_logs = rd_list(r, &elem);
            for (uint32_t i = 0; i < s->n_logs && !r->err; i++)
                rd_skip_struct(r);
            break;
        default:
            rd_skip(r, type);
        }
    }
}

static const struct t_tag *find_tag(const struct t_span *s, const char *key)
{
    for (uint32_t i = 0; i < s->n_tags; i++) {
        if (s->tags[i].key && s->tags[i].klen == strlen(key) &&
            memcmp(s->tags[i].key, key, s->tags[i].klen) == 0)
            return &s->tags[i];
    }
    return NULL;
}

/*
 * Walk one datagram: message header (oneway emitBatch), the arguments, the
 * Batch. Calls `on_span` for each span. Returns the number of spans, or -1
 * when the bytes are malformed. `*seq` gets the message seqid, `*seqno` the
 * Batch.seqNo, `service` the process's service name.
 */
typedef void (*span_cb)(void *ud, const struct t_span *s);

static struct t_span scratch_span; /* large: kept out of the stack */

static long walk_datagram(const uint8_t *p, size_t n, int64_t *seq, int64_t *seqno, char *service,
                          size_t service_size, span_cb on_span, void *ud)
{
    struct rd r = {p, p + n, 0};
    if (n < 2 || p[0] != 0x82 || p[1] != 0x81)
        return -1;
    r.p += 2;
    *seq = (int64_t)rd_varint(&r);
    size_t nl;
    const uint8_t *name = rd_bytes(&r, &nl);
    if (r.err || nl != 9 || memcmp(name, "emitBatch", 9) != 0)
        return -1;
    long count = -1;
    *seqno = -1;
    int16_t la = 0, id;
    int type, elem;
    bool bv;
    while (!r.err && rd_field(&r, &la, &id, &type, &bv)) {
        if (id != 1 || type != CTR__THRIFT_STRUCT)
            return -1;
        int16_t lb = 0;
        while (!r.err && rd_field(&r, &lb, &id, &type, &bv)) {
            if (id == 1 && type == CTR__THRIFT_STRUCT) {
                int16_t lp = 0;
                while (!r.err && rd_field(&r, &lp, &id, &type, &bv)) {
                    if (id == 1 && type == CTR__THRIFT_BINARY) {
                        size_t sl;
                        const uint8_t *sv = rd_bytes(&r, &sl);
                        snprintf(service, service_size, "%.*s", (int)sl, (const char *)sv);
                    } else {
                        rd_skip(&r, type);
                    }
                }
            } else if (id == 2 && type == CTR__THRIFT_LIST) {
                uint32_t k = rd_list(&r, &elem);
                if (elem != CTR__THRIFT_STRUCT)
                    return -1;
                for (uint32_t i = 0; i < k && !r.err; i++) {
                    rd_span(&r, &scratch_span);
                    if (on_span && !r.err)
                        on_span(ud, &scratch_span);
                }
                count = (long)k;
            } else if (id == 3 && type == CTR__THRIFT_I64) {
                *seqno = rd_zz(&r);
            } else {
                rd_skip(&r, type);
            }
        }
    }
    if (r.err || r.p != r.end)
        return -1;
    return count;
}

/* ---- a UDP receiver thread ---- */

struct dgram {
    uint8_t *p;
    size_t n;
};

struct rx {
    int fd;
    int port;
    pthread_t th;
    atomic_bool stop;
    struct dgram *d;
    size_t n, cap;
};

static void *rx_main(void *arg)
{
    struct rx *x = arg;
    uint8_t *buf = malloc(70000);
    for (;;) {
        bool stopping = atomic_load(&x->stop);
        struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, stopping ? 0 : 10);
        if (pr <= 0) {
            if (stopping)
                break;
            continue;
        }
        ssize_t got = recv(x->fd, buf, 70000, MSG_DONTWAIT);
        if (got < 0)
            continue;
        if (x->n == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 64;
            x->d = realloc(x->d, x->cap * sizeof *x->d);
        }
        x->d[x->n].p = malloc((size_t)got ? (size_t)got : 1);
        memcpy(x->d[x->n].p, buf, (size_t)got);
        x->d[x->n].n = (size_t)got;
        x->n++;
    }
    free(buf);
    return NULL;
}

/* Bind a UDP socket on 127.0.0.1 (or ::1) with a big receive buffer and
 * start reading it. */
static struct rx *rx_start(bool v6)
{
    struct rx *x = calloc(1, sizeof *x);
    x->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    int big = 16 << 20;
    /* As root the buffer can go past net.core.rmem_max; else it is capped. */
    if (setsockopt(x->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    }
    if (bind(x->fd, (struct sockaddr *)&ss, sl) != 0 ||
        getsockname(x->fd, (struct sockaddr *)&ss, &sl) != 0) {
        perror("rx_start");
        exit(2);
    }
    x->port =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    atomic_init(&x->stop, false);
    pthread_create(&x->th, NULL, rx_main, x);
    return x;
}

/* Stop the thread once it has read everything already queued (loopback
 * delivers during send(), so all datagrams of a finished export are). */
static void rx_stop(struct rx *x)
{
    atomic_store(&x->stop, true);
    pthread_join(x->th, NULL);
}

static void rx_free(struct rx *x)
{
    close(x->fd);
    for (size_t i = 0; i < x->n; i++)
        free(x->d[i].p);
    free(x->d);
    free(x);
}

/* A loopback UDP port where nothing listens. */
static int closed_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        perror("closed_udp_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static struct ctr_exporter *make_exporter(const char *host, int port, uint32_t max_packet)
{
    struct ctr_jaeger_agent_options o = {
        .host = host, .port = (uint16_t)port, .max_packet = max_packet};
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    int rc = ctr_jaeger_agent_exporter_new(&o, &e, err, sizeof err);
    if (rc) {
        fprintf(stderr, "exporter: %s (%s)\n", err, ctr_strerror(rc));
        return NULL;
    }
    return e;
}

/* ---- spans for the exporter tests ---- */

struct span_set {
    struct ctr_span *spans;
    struct ctr_span **ptrs;
    size_t n;
};

static struct ctr_attr common_attrs[] = {
    {S("chaos.activity"), {.type = CTR_VALUE_STRING, .u.s = S("probe-latency")}},
    {S("attempt"), {.type = CTR_VALUE_INT, .u.i = 3}},
    {S("ok"), {.type = CTR_VALUE_BOOL, .u.b = true}},
};

/* `n` spans of one trace with span ids 1..n (big-endian), each a child of
 * span 1. */
static struct span_set make_spans(size_t n)
{
    struct span_set ss = {calloc(n, sizeof(struct ctr_span)), calloc(n, sizeof(void *)), n};
    for (size_t i = 0; i < n; i++) {
        struct ctr_span *s = &ss.spans[i];
        memset(s->ctx.trace_id, 0x5a, CTR_TRACE_ID_LEN);
        uint64_t id = i + 1;
        for (int k = 0; k < 8; k++)
            s->ctx.span_id[7 - k] = (uint8_t)(id >> (8 * k));
        s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
        if (i > 0) {
            s->has_parent = true;
            s->parent_span_id[7] = 1;
        }
        s->recording = s->ended = true;
        s->kind = i % 2 ? CTR_KIND_CLIENT : CTR_KIND_INTERNAL;
        s->name = (struct ctr_str)S("a span with a name");
        s->start_ns = 1700000000000000000ull + i * 1000u;
        s->end_ns = s->start_ns + 250000u;
        s->attrs =
            (struct ctr_attr_list){common_attrs, NELEM(common_attrs), NELEM(common_attrs), 0};
        ss.ptrs[i] = s;
    }
    return ss;
}

static void free_spans(struct span_set *ss)
{
    free(ss->spans);
    free(ss->ptrs);
}

static struct ctr_scope test_scope = {S("chaostracing"), S(CTR_VERSION)};

/* What the datagrams of one test carried. */
struct tally {
    long spans;
    long bad;
    size_t max_len;
    int64_t last_seq;
    bool seq_increasing;
    bool seqno_matches;
    bool ids_in_order;
    int64_t next_id;
    char service[64];
};

static void tally_span(void *ud, const struct t_span *s)
{
    struct tally *t = ud;
    if (s->span_id != t->next_id)
        t->ids_in_order = false;
    t->next_id++;
}

static void tally_all(struct rx *x, struct tally *t)
{
    memset(t, 0, sizeof *t);
    t->last_seq = -1;
    t->seq_increasing = t->seqno_matches = t->ids_in_order = true;
    t->next_id = 1;
    for (size_t i = 0; i < x->n; i++) {
        int64_t seq, seqno;
        long k = walk_datagram(x->d[i].p, x->d[i].n, &seq, &seqno, t->service, sizeof t->service,
                               tally_span, t);
        if (k < 0) {
            t->bad++;
            continue;
        }
        t->spans += k;
        if (x->d[i].n > t->max_len)
            t->max_len = x->d[i].n;
        if (seq <= t->last_seq)
            t->seq_increasing = false;
        if (seqno != seq)
            t->seqno_matches = false;
        t->last_seq = seq;
    }
}

/* ---- exporter tests ---- */

static void test_e2e_one_datagram_matches_encoder(void)
{
    struct rx *x = rx_start(false);
    struct ctr_exporter *e = make_exporter("127.0.0.1", x->port, 0);
    ASSERT(e != NULL);
    char want_dest[64];
    snprintf(want_dest, sizeof want_dest, "udp://127.0.0.1:%d", x->port);
    ASSERT_STREQ(e->destination, want_dest);
    struct span_set ss = make_spans(3);
    struct ctr_batch batch = {&svc_resource, &test_scope, ss.ptrs, 3};
    int rc = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(5000));
    rx_stop(x);
    struct ctr_buf want = {0};
    int erc = ctr_jaeger_thrift_encode(&batch, 0, &want); /* the first seqid is 0 */
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    ctr_exporter_shutdown(e, 0);
    ctr_exporter_destroy(e);
    size_t n = x->n;
    bool same = n == 1 && x->d[0].n == want.len && memcmp(x->d[0].p, want.data, want.len) == 0;
    rx_free(x);
    ctr_buf_free(&want);
    free_spans(&ss);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(erc, 0);
    ASSERT_UEQ(exported, 3);
    ASSERT_UEQ(failed, 0);
    ASSERT_UEQ(n, 1);
    ASSERT(same);
}

static void test_split_across_datagrams(void)
{
    const size_t N = 2000;
    const uint32_t MAXP = 4000;
    struct rx *x = rx_start(false);
    struct ctr_exporter *e = make_exporter("127.0.0.1", x->port, MAXP);
    ASSERT(e != NULL);
    struct span_set ss = make_spans(N);
    struct ctr_batch batch = {&svc_resource, &test_scope, ss.ptrs, N};
    int rc = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(10000));
    /* A second batch continues the sequence ids. */
    struct ctr_batch small = {&svc_resource, &test_scope, ss.ptrs, 1};
    int rc2 = ctr_exporter_export(e, &small, ctr_deadline_after_ms(10000));
    rx_stop(x);
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    ctr_exporter_shutdown(e, 0);
    ctr_exporter_destroy(e);

    /* Per-span size, to know how many fit. */
    struct ctr__jaeger_cut none;
    ctr__jaeger_cut_none(&none);
    struct ctr_buf one = {0}, scratch = {0};
    ctr__jaeger_put_span(&one, &scratch, ss.ptrs[1], &test_scope, &none);
    size_t span_len = one.len;
    ctr_buf_free(&one);
    ctr_buf_free(&scratch);

    size_t n_dgrams = x->n;
    int64_t last_seq = -1;
    /* The last datagram is the one-span batch: leave it out of the tally. */
    if (x->n > 0) {
        int64_t seqno;
        char svc[64];
        last_seq = -2;
        if (walk_datagram(x->d[x->n - 1].p, x->d[x->n - 1].n, &last_seq, &seqno, svc, sizeof svc,
                          NULL, NULL) != 1)
            last_seq = -3;
        free(x->d[x->n - 1].p);
        x->n--;
    }
    struct tally t;
    tally_all(x, &t);
    rx_free(x);
    free_spans(&ss);

    ASSERT_EQ(rc, 0);
    ASSERT_EQ(rc2, 0);
    ASSERT_UEQ(exported, N + 1);
    ASSERT_EQ(t.bad, 0);
    ASSERT_EQ(t.spans, (long)N);
    ASSERT(t.max_len <= MAXP);
    ASSERT(t.ids_in_order);
    ASSERT(t.seq_increasing);
    ASSERT(t.seqno_matches);
    ASSERT_STREQ(t.service, "svc");
    ASSERT_EQ(last_seq, t.last_seq + 1);
    /* Datagrams are full: no more of them than the spans need, plus one. */
    size_t per = (MAXP - 64) / span_len;
    ASSERT(n_dgrams - 1 <= (N + per - 1) / per + 1);
    ASSERT(n_dgrams - 1 >= N * span_len / MAXP);
}

/* Spans for the cut-down tests, receiving one datagram each. */
static void export_one(struct ctr_span *s, uint32_t max_packet, struct rx **out_rx, int *rc)
{
    struct rx *x = rx_start(false);
    struct ctr_exporter *e = make_exporter("127.0.0.1", x->port, max_packet);
    struct ctr_span *ptrs[] = {s};
    struct ctr_batch batch = {&svc_resource, &test_scope, ptrs, 1};
    *rc = e ? ctr_exporter_export(e, &batch, ctr_deadline_after_ms(10000)) : -100;
    rx_stop(x);
    if (e) {
        ctr_exporter_shutdown(e, 0);
        ctr_exporter_destroy(e);
    }
    *out_rx = x;
}

static struct t_span got_span;
static void keep_span(void *ud, const struct t_span *s)
{
    (void)ud;
    memcpy(&got_span, s, sizeof got_span);
}

/* What the cut-down tests look at in the one span they receive. */
struct cut_result {
    int rc;
    size_t n_dgrams, len;
    long k;
    int64_t span_id;
    uint32_t n_logs;
    bool has_small, has_n, has_truncated, has_dropped_tags;
    size_t small_len, huge_len;
    bool huge_prefix_ok;
    int truncated_vtype, dropped_logs_vtype;
    bool truncated_value;
    int64_t dropped_logs, dropped_tags;
    uint32_t kept;       /* leading "attribute.NNNNNN" tags, in order */
    bool kept_values_64; /* each of them with a 64-byte value */
};

/* Export span `s` alone and read back what arrived. */
static void export_and_read(struct ctr_span *s, struct cut_result *out)
{
    memset(out, 0, sizeof *out);
    out->k = -1;
    struct rx *x;
    export_one(s, 0, &x, &out->rc);
    out->n_dgrams = x->n;
    if (x->n == 1) {
        int64_t seq, seqno;
        char svc[64];
        out->len = x->d[0].n;
        out->k =
            walk_datagram(x->d[0].p, x->d[0].n, &seq, &seqno, svc, sizeof svc, keep_span, NULL);
        const struct t_span *g = &got_span;
        out->span_id = g->span_id;
        out->n_logs = g->n_logs;
        const struct t_tag *t;
        if ((t = find_tag(g, "small"))) {
            out->has_small = true;
            out->small_len = t->slen;
        }
        if ((t = find_tag(g, "huge"))) {
            out->huge_len = t->slen;
            out->huge_prefix_ok = t->slen >= 4 && memcmp(t->str, "\xc3\xa9\xc3\xa9", 4) == 0;
        }
        out->has_n = find_tag(g, "n") != NULL;
        if ((t = find_tag(g, CTR__JAEGER_TAG_TRUNCATED))) {
            out->has_truncated = true;
            out->truncated_vtype = t->vtype;
            out->truncated_value = t->b;
        }
        if ((t = find_tag(g, CTR__JAEGER_TAG_DROPPED_LOGS))) {
            out->dropped_logs_vtype = t->vtype;
            out->dropped_logs = t->l;
        }
        if ((t = find_tag(g, CTR__JAEGER_TAG_DROPPED_TAGS))) {
            out->has_dropped_tags = true;
            out->dropped_tags = t->l;
        }
        out->kept_values_64 = true;
        for (uint32_t i = 0; i < g->n_tags; i++) {
            t = &g->tags[i];
            if (t->klen == 16 && memcmp(t->key, "attribute.", 10) == 0) {
                char want[24];
                snprintf(want, sizeof want, "attribute.%06u", out->kept);
                if (memcmp(t->key, want, 16) != 0 || t->slen != 64)
                    out->kept_values_64 = false;
                out->kept++;
            }
        }
    }
    rx_free(x);
}

static void test_oversize_span_is_cut_down(void)
{
    const size_t BIG = 200 * 1024;
    char *big = malloc(BIG);
    /* "\xc3\xa9" (2 bytes) repeated: a cut must not split one. */
    for (size_t i = 0; i < BIG; i += 2) {
        big[i] = (char)0xc3;
        big[i + 1] = (char)0xa9;
    }
    struct ctr_attr attrs[] = {
        {S("small"), {.type = CTR_VALUE_STRING, .u.s = S("kept as is")}},
        {S("huge"), {.type = CTR_VALUE_STRING, .u.s = {big, BIG}}},
        {S("n"), {.type = CTR_VALUE_INT, .u.i = 7}},
    };
    struct ctr_event evs[3];
    for (int i = 0; i < 3; i++)
        evs[i] = (struct ctr_event){.time_ns = 1, .name = S("ev")};
    struct ctr_span sp;
    small_span(&sp, "big one");
    sp.attrs = (struct ctr_attr_list){attrs, 3, 3, 0};
    sp.events = evs;
    sp.events_len = 3;

    struct cut_result r;
    export_and_read(&sp, &r);
    free(big);
    ASSERT_EQ(r.rc, 0);
    ASSERT_UEQ(r.n_dgrams, 1);
    ASSERT(r.len <= 65000);
    ASSERT(r.len > 64000); /* the value was cut to what fits, not much less */
    ASSERT_EQ(r.k, 1);
    ASSERT_EQ(r.span_id, 3);
    ASSERT_EQ(r.n_logs, 0);
    ASSERT(r.has_small);
    ASSERT_EQ(r.small_len, 10);
    ASSERT(r.has_n);
    ASSERT(r.huge_len > 60000 && r.huge_len < 65000);
    ASSERT_EQ(r.huge_len % 2, 0); /* whole characters */
    ASSERT(r.huge_prefix_ok);
    ASSERT(r.has_truncated);
    ASSERT_EQ(r.truncated_vtype, 2); /* BOOL */
    ASSERT(r.truncated_value);
    ASSERT_EQ(r.dropped_logs_vtype, 3); /* LONG */
    ASSERT_EQ(r.dropped_logs, 3);
    ASSERT(!r.has_dropped_tags);
}

static void test_too_many_tags_are_dropped(void)
{
    const uint32_t N = 6000;
    struct ctr_attr *attrs = calloc(N, sizeof *attrs);
    char(*keys)[24] = calloc(N, 24);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(keys[i], 24, "attribute.%06u", i);
        attrs[i].key = (struct ctr_str){keys[i], strlen(keys[i])};
        attrs[i].value = (struct ctr_value){.type = CTR_VALUE_STRING,
                                            .u.s = S("a value of a hundred bytes ........."
                                                     "..................................."
                                                     "..............................")};
    }
    struct ctr_span sp;
    small_span(&sp, "many tags");
    sp.attrs = (struct ctr_attr_list){attrs, N, N, 0};

    struct cut_result r;
    export_and_read(&sp, &r);
    free(attrs);
    free(keys);
    ASSERT_EQ(r.rc, 0);
    ASSERT_UEQ(r.n_dgrams, 1);
    ASSERT(r.len <= 65000);
    ASSERT_EQ(r.k, 1);
    ASSERT(r.has_truncated);
    ASSERT(r.has_dropped_tags);
    /* The first attributes are kept, in order, with values of 64 bytes. */
    ASSERT(r.kept > 100);
    ASSERT(r.kept_values_64);
    ASSERT_EQ(r.dropped_tags, (int64_t)(N - r.kept));
}

static void test_closed_port_fails_fast_and_logs_once(void)
{
    logs_reset();
    int port = closed_udp_port();
    struct ctr_exporter *e = make_exporter("127.0.0.1", port, 0);
    ASSERT(e != NULL);
    struct span_set ss = make_spans(3);
    struct ctr_batch batch = {&svc_resource, &test_scope, ss.ptrs, 3};
    uint64_t t0 = ctr_monotonic_ns();
    int rc1 = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(5000));
    int rc2 = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(5000));
    uint64_t ms = (ctr_monotonic_ns() - t0) / 1000000u;
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    uint64_t batches_failed = atomic_load(&e->stats.batches_failed);
    ctr_exporter_shutdown(e, 0);
    ctr_exporter_destroy(e);
    free_spans(&ss);
    char want[200];
    snprintf(want, sizeof want,
             "chaostracing: export to udp://127.0.0.1:%d failed: connection refused (no agent "
             "listening on that port); 3 spans not delivered",
             port);
    ASSERT_EQ(rc1, CTR_ECONNECT);
    ASSERT_EQ(rc2, CTR_ECONNECT);
    ASSERT(ms < 1000);
    ASSERT_UEQ(exported, 0);
    ASSERT_UEQ(failed, 6);
    ASSERT_UEQ(batches_failed, 2);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, want), 1);
    ASSERT_EQ(logs_count(CTR_LOG_DEBUG, want), 1);
}

static void test_emsgsize_lowers_the_limit(void)
{
    /* 65535 is more than an IPv4 datagram can carry (65507). The first span
     * has a 100 KB attribute, so it is cut down to fill a whole 65535-byte
     * datagram, which send() refuses with EMSGSIZE: the limit is lowered and
     * the same spans go again, smaller (the big one cut down again). */
    logs_reset();
    const size_t N = 1500, BIG = 100 * 1024;
    char *big = malloc(BIG);
    memset(big, 'b', BIG);
    struct ctr_attr big_attr[] = {{S("huge"), {.type = CTR_VALUE_STRING, .u.s = {big, BIG}}}};
    struct rx *x = rx_start(false);
    struct ctr_exporter *e = make_exporter("127.0.0.1", x->port, 65535);
    ASSERT(e != NULL);
    struct span_set ss = make_spans(N);
    ss.spans[0].attrs = (struct ctr_attr_list){big_attr, 1, 1, 0};
    struct ctr_batch batch = {&svc_resource, &test_scope, ss.ptrs, N};
    int rc = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(10000));
    rx_stop(x);
    uint64_t exported = atomic_load(&e->stats.spans_exported);
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    ctr_exporter_shutdown(e, 0);
    ctr_exporter_destroy(e);
    struct tally t;
    tally_all(x, &t);
    size_t first_len = x->n ? x->d[0].n : 0;
    rx_free(x);
    free_spans(&ss);
    free(big);
    ASSERT_EQ(rc, 0);
    ASSERT_UEQ(exported, N);
    ASSERT_UEQ(failed, 0);
    ASSERT_EQ(t.bad, 0);
    ASSERT_EQ(t.spans, (long)N);
    ASSERT(t.ids_in_order);
    ASSERT(t.seq_increasing);
    ASSERT(t.max_len <= 65535 - 65535 / 8);
    ASSERT(first_len > 50000); /* the big span, cut down to the new limit */
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "refused a datagram of 65535 bytes (EMSGSIZE); sending "
                                          "at most 57344 bytes per datagram"),
              1);
}

static void test_ipv6_loopback(void)
{
    struct rx *x = rx_start(true);
    struct ctr_exporter *e = make_exporter("::1", x->port, 0);
    ASSERT(e != NULL);
    char want_dest[64];
    snprintf(want_dest, sizeof want_dest, "udp://[::1]:%d", x->port);
    bool dest_ok = strcmp(e->destination, want_dest) == 0;
    struct span_set ss = make_spans(5);
    struct ctr_batch batch = {&svc_resource, &test_scope, ss.ptrs, 5};
    int rc = ctr_exporter_export(e, &batch, ctr_deadline_after_ms(5000));
    ctr_exporter_shutdown(e, 0);
    ctr_exporter_destroy(e);
    /* A bracketed literal works too. */
    struct ctr_exporter *e2 = make_exporter("[::1]", x->port, 0);
    int rc2 = e2 ? ctr_exporter_export(e2, &batch, ctr_deadline_after_ms(5000)) : -100;
    if (e2) {
        ctr_exporter_shutdown(e2, 0);
        ctr_exporter_destroy(e2);
    }
    rx_stop(x);
    struct tally t;
    tally_all(x, &t);
    size_t n = x->n;
    rx_free(x);
    free_spans(&ss);
    ASSERT(dest_ok);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(rc2, 0);
    ASSERT_UEQ(n, 2);
    ASSERT_EQ(t.spans, 10);
    ASSERT_EQ(t.bad, 0);
}

static void test_options_and_errors(void)
{
    struct ctr_exporter *e = NULL;
    char err[256] = "";
    struct ctr_jaeger_agent_options o = {.host = "127.0.0.1", .port = 6831, .max_packet = 100};
    ASSERT_EQ(ctr_jaeger_agent_exporter_new(&o, &e, err, sizeof err), CTR_EINVAL);
    ASSERT(e == NULL);
    ASSERT(strstr(err, "max_packet") != NULL);
    o.max_packet = 70000;
    ASSERT_EQ(ctr_jaeger_agent_exporter_new(&o, &e, err, sizeof err), CTR_EINVAL);
    o.max_packet = 0;
    /* The host is resolved on the first export (the worker's thread), not
     * when the exporter is made: a bad name fails that export, logged. */
    o.host = "no-such-host.invalid";
    ASSERT_EQ(ctr_jaeger_agent_exporter_new(&o, &e, err, sizeof err), 0);
    struct span_set bad_ss = make_spans(2);
    struct ctr_batch bad_two = {&svc_resource, &test_scope, bad_ss.ptrs, 2};
    ctr_log_set_sink(log_sink, NULL);
    logs_reset();
    ASSERT(ctr_exporter_export(e, &bad_two, ctr_deadline_after_ms(5000)) != 0);
    ASSERT_UEQ(atomic_load(&e->stats.spans_failed), 2);
    ASSERT_EQ(logs_count(CTR_LOG_WARNING, "no-such-host.invalid"), 1);
    ctr_log_set_sink(NULL, NULL);
    ctr_exporter_destroy(e);
    free_spans(&bad_ss);
    /* Defaults: localhost:6831. */
    ASSERT_EQ(ctr_jaeger_agent_exporter_new(NULL, &e, err, sizeof err), 0);
    ASSERT_STREQ(e->destination, "udp://localhost:6831");
    ASSERT(e->ops->after_fork_child == NULL);
    ASSERT_STREQ(e->ops->name, "jaeger-thrift");
    /* An empty batch sends nothing; after shutdown a batch fails. */
    struct span_set ss = make_spans(2);
    struct ctr_batch empty = {&svc_resource, &test_scope, ss.ptrs, 0};
    ASSERT_EQ(ctr_exporter_export(e, &empty, ctr_deadline_after_ms(1000)), 0);
    ctr_exporter_shutdown(e, 0);
    struct ctr_batch two = {&svc_resource, &test_scope, ss.ptrs, 2};
    int rc = ctr_exporter_export(e, &two, ctr_deadline_after_ms(1000));
    uint64_t failed = atomic_load(&e->stats.spans_failed);
    ctr_exporter_destroy(e);
    free_spans(&ss);
    ASSERT_EQ(rc, CTR_ESHUTDOWN);
    ASSERT_UEQ(failed, 2);
}

static void test_udp_transport_errors(void)
{
    struct ctr__udp *u = NULL;
    char err[256];
    ASSERT_EQ(ctr__udp_open("", 1, &u, err, sizeof err), CTR_EINVAL);
    ASSERT_EQ(ctr__udp_open("127.0.0.1", 0, &u, err, sizeof err), CTR_EINVAL);
    struct rx *x = rx_start(false);
    ASSERT_EQ(ctr__udp_open("127.0.0.1", (uint16_t)x->port, &u, err, sizeof err), 0);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%d", x->port);
    bool peer_ok = strcmp(ctr__udp_peer(u), want) == 0;
    /* Larger than any IPv4 datagram. */
    uint8_t *huge = calloc(1, 70000);
    int e1 = 0;
    int rc1 = ctr__udp_send(u, huge, 70000, ctr_deadline_after_ms(1000), &e1);
    int rc2 = ctr__udp_send(u, "hi", 2, ctr_deadline_after_ms(1000), NULL);
    rx_stop(x);
    size_t n = x->n;
    bool hi = n == 1 && x->d[0].n == 2 && memcmp(x->d[0].p, "hi", 2) == 0;
    ctr__udp_close(u);
    rx_free(x);
    free(huge);
    ASSERT(peer_ok);
    ASSERT_EQ(rc1, CTR_ETOOBIG);
    ASSERT_EQ(e1, EMSGSIZE);
    ASSERT_EQ(rc2, 0);
    ASSERT(hi);
}

TEST_MAIN(TEST_CASE(test_zigzag), TEST_CASE(test_varints), TEST_CASE(test_double_and_binary),
          TEST_CASE(test_list_headers), TEST_CASE(test_field_headers),
          TEST_CASE(test_nested_structs), TEST_CASE(test_writer_misuse),
          TEST_CASE(test_message_header), TEST_CASE(test_encode_minimal_batch),
          TEST_CASE(test_duration_truncates_both_ends), TEST_CASE(test_encode_full_span),
          TEST_CASE(test_encode_process), TEST_CASE(test_e2e_one_datagram_matches_encoder),
          TEST_CASE(test_split_across_datagrams), TEST_CASE(test_oversize_span_is_cut_down),
          TEST_CASE(test_too_many_tags_are_dropped),
          TEST_CASE(test_closed_port_fails_fast_and_logs_once),
          TEST_CASE(test_emsgsize_lowers_the_limit), TEST_CASE(test_ipv6_loopback),
          TEST_CASE(test_options_and_errors), TEST_CASE(test_udp_transport_errors))
