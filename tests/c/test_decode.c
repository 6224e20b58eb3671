/*
 * Tests for the OTLP JSON decoder (chaostracing/decode.h) and the JSON reader
 * under it: round trips through the encoder, the golden fixtures, the forms
 * generic protobuf JSON writes, and malformed input.
 */
#include <math.h>

#include <chaostracing/decode.h>

#include "core/internal.h"
#include "encode/json_read.h"
#include "fixture.h"
#include "test.h"

#define T0 FX_T0

/* ---- helpers ------------------------------------------------------------ */

/* Encode one batch as a NUL-terminated JSON line (malloc'd), NULL on error. */
static char *encode_line(const struct ctr_batch *b)
{
    struct ctr_buf out = {0};
    if (ctr_otlp_json_encode(b, &out) != 0) {
        ctr_buf_free(&out);
        return NULL;
    }
    ctr_buf_putc(&out, '\0');
    return (char *)out.data;
}

/* Decode `line` into a fresh container; returns the append status. */
static int decode(struct ctr_trace_data *d, const char *line, char *err, size_t errlen)
{
    ctr_trace_data_init(d);
    return ctr_trace_data_append_line(d, line, strlen(line), err, errlen);
}

/* The one span of a one-span line; NULL unless the line decodes to exactly
 * one span. */
static const struct ctr_span *only_span(struct ctr_trace_data *d, const char *line)
{
    char err[256];
    if (decode(d, line, err, sizeof err) != 0 || d->n_spans != 1 || d->n_batches != 1) {
        fprintf(stderr, "decode: %s (%zu spans)\n", err, d->n_spans);
        return NULL;
    }
    return d->batches[0].spans[0];
}

/* A line with one span whose members after the ids are `extra`. */
static char *span_line(const char *extra)
{
    struct ctr_buf b = {0};
    ctr_buf_printf(&b,
                   "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
                   "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
                   "\"spanId\":\"b7ad6b7169203331\"%s%s}]}]}]}",
                   *extra ? "," : "", extra);
    ctr_buf_putc(&b, '\0');
    return (char *)b.data;
}

/* ---- the model for round trips ------------------------------------------ */

static struct ctr_value arr_str[] = {VSTR("a"), VSTR(""), VSTR("\xc3\xbc")};
static struct ctr_value arr_int[] = {VINT(1), VINT(-2), VINT(INT64_MIN)};
static struct ctr_value arr_bool[] = {VBOOL(true), VBOOL(false)};
static struct ctr_value arr_dbl[] = {VDBL(1.5), VDBL(-0.25), VDBL(1e-300)};
static struct ctr_value arr_bytes[] = {VBYTES("\x00\xff"), VBYTES("")};
static struct ctr_value arr_inner[] = {VINT(7), VSTR("x")};
static struct ctr_value arr_nested[] = {VARR(arr_inner), VBOOL(true)};
static struct ctr_attr rt_attrs[] = {
    {S("s"), VSTR("quote\" backslash\\ nl\n nul\x00 \xe2\x80\xa8 \xf0\x9f\x9a\x80 \xe6\x97\xa5")},
    {S("s.empty"), VSTR("")},
    {S("b.t"), VBOOL(true)},
    {S("b.f"), VBOOL(false)},
    {S("i.min"), VINT(INT64_MIN)},
    {S("i.max"), VINT(INT64_MAX)},
    {S("i.neg"), VINT(-42)},
    {S("d.tenth"), VDBL(0.1)},
    {S("d.negzero"), VDBL(-0.0)},
    {S("d.big"), VDBL(1.7976931348623157e308)},
    {S("d.tiny"), VDBL(5e-324)},
    {S("d.nan"), VDBL(NAN)},
    {S("d.inf"), VDBL(INFINITY)},
    {S("d.ninf"), VDBL(-INFINITY)},
    {S("bytes"), VBYTES("\x00\x01\xfe\xff\x80")},
    {S("bytes.empty"), VBYTES("")},
    {S("arr.str"), VARR(arr_str)},
    {S("arr.int"), VARR(arr_int)},
    {S("arr.bool"), VARR(arr_bool)},
    {S("arr.dbl"), VARR(arr_dbl)},
    {S("arr.bytes"), VARR(arr_bytes)},
    {S("arr.nested"), VARR(arr_nested)},
    {S("arr.empty"), {.type = CTR_VALUE_ARRAY}},
    {S("empty"), {.type = CTR_VALUE_EMPTY}},
    {S(""), VSTR("no key")},
};
static struct ctr_attr ev_attrs[] = {{S("exception.type"), VSTR("ValueError")}};
static struct ctr_attr link_attrs[] = {{S("link.kind"), VSTR("follows")}};
static struct ctr_attr res_a_attrs[] = {{S("service.name"), VSTR("svc-a")},
                                        {S("process.pid"), VINT(4242)},
                                        {S("host.arch"), VARR(arr_str)}};
static struct ctr_attr res_b_attrs[] = {{S("service.name"), VSTR("svc-b")}};

static void ids(struct ctr_span_context *c, const char *trace_hex, const char *span_hex)
{
    ctr_hex_decode(trace_hex, CTR_TRACE_ID_LEN, c->trace_id);
    ctr_hex_decode(span_hex, CTR_SPAN_ID_LEN, c->span_id);
}

/* Three spans covering every field: a root with everything, a child of a
 * remote parent, and a span with an unknown kind and a message without a
 * status code. */
static void build_spans(struct ctr_span sp[3], struct ctr_event ev[2], struct ctr_link ln[2])
{
    memset(sp, 0, 3 * sizeof *sp);
    memset(ev, 0, 2 * sizeof *ev);
    memset(ln, 0, 2 * sizeof *ln);
    ids(&sp[0].ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    sp[0].ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED | CTR_TRACE_FLAG_RANDOM;
    sp[0].ctx.trace_state = (struct ctr_str)S("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    sp[0].name = (struct ctr_str)S("root \xe2\x9c\x93");
    sp[0].kind = CTR_KIND_SERVER;
    sp[0].start_ns = T0;
    sp[0].end_ns = T0 + 2000000001;
    sp[0].attrs = (struct ctr_attr_list)ATTRS_D(rt_attrs, 3);
    ev[0] = (struct ctr_event){T0 + 5, S("exception"), ATTRS_D(ev_attrs, 2)};
    sp[0].events = ev;
    sp[0].events_len = 2; /* ev[1]: no time, no name, no attributes */
    sp[0].events_dropped = 4;
    ids(&ln[0].ctx, "11112222333344445555666677778888", "99990000aaaabbbb");
    ln[0].ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    ln[0].ctx.is_remote = true;
    ln[0].ctx.trace_state = (struct ctr_str)S("k=v");
    ln[0].attrs = (struct ctr_attr_list)ATTRS_D(link_attrs, 1);
    ids(&ln[1].ctx, "0102030405060708090a0b0c0d0e0f10", "1112131415161718");
    sp[0].links = ln;
    sp[0].links_len = 2;
    sp[0].links_dropped = 5;
    sp[0].status = CTR_STATUS_ERROR;
    sp[0].status_message = (struct ctr_str)S("boom \xe2\x9c\x97");

    ids(&sp[1].ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "a1a2a3a4a5a6a7a8");
    sp[1].ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    ctr_hex_decode("00f067aa0ba902b7", CTR_SPAN_ID_LEN, sp[1].parent_span_id);
    sp[1].has_parent = sp[1].parent_is_remote = true;
    sp[1].name = (struct ctr_str)S("child");
    sp[1].kind = CTR_KIND_CLIENT;
    sp[1].start_ns = T0 + 10;
    sp[1].end_ns = T0 + 20;
    sp[1].status = CTR_STATUS_OK;

    ids(&sp[2].ctx, "0af7651916cd43dd8448eb211c80319c", "b1b2b3b4b5b6b7b8");
    sp[2].kind = (ctr_span_kind)7; /* a kind newer than this code */
    sp[2].status_message = (struct ctr_str)S("unset but noted");
}

/* Decode `line` (one request) and check that re-encoding batch i of the
 * result gives want[i], for every i < n. */
static int reencodes_to(const char *line, char *const *want, size_t n)
{
    struct ctr_trace_data d;
    char err[256];
    int rc = decode(&d, line, err, sizeof err), bad = rc != 0 || d.n_batches != n;
    if (rc)
        fprintf(stderr, "decode: %s\n", err);
    for (size_t i = 0; !bad && i < n; i++) {
        char *got = encode_line(&d.batches[i]);
        bad = !got || strcmp(got, want[i]) != 0;
        if (bad)
            fprintf(stderr, "batch %zu:\n got  %s\n want %s\n", i, got ? got : "(error)", want[i]);
        free(got);
    }
    ctr_trace_data_free(&d);
    return bad ? -1 : 0;
}

/* Encoder -> decoder -> encoder gives the same bytes, one line per batch and
 * for several resources and scopes in one request. */
static void test_round_trip(void)
{
    struct ctr_span sp[3];
    struct ctr_event ev[2];
    struct ctr_link ln[2];
    build_spans(sp, ev, ln);
    struct ctr_resource ra = {.attrs = ATTRS_D(res_a_attrs, 1), .dropped = 1};
    struct ctr_resource rb = {.attrs = ATTRS(res_b_attrs)};
    struct ctr_scope sa = {S("lib-a"), S("1.2.3")}, sb = {S("lib-b"), {NULL, 0}};
    struct ctr_span *pa[] = {&sp[0], &sp[1]}, *pb[] = {&sp[2]}, *pc[] = {&sp[1], &sp[2]};
    struct ctr_batch batches[] = {
        {&ra, &sa, pa, 2}, {&rb, &sb, pb, 1}, {NULL, NULL, pc, 2}, /* no resource, no scope */
    };
    char *lines[3];
    for (size_t i = 0; i < 3; i++) {
        lines[i] = encode_line(&batches[i]);
        ASSERT(lines[i] != NULL);
    }
    int one_by_one = 0;
    for (size_t i = 0; i < 3; i++)
        one_by_one |= reencodes_to(lines[i], &lines[i], 1);
    /* All three ResourceSpans in one request. */
    struct ctr_buf all = {0};
    ctr_buf_puts(&all, "{\"resourceSpans\":[");
    for (size_t i = 0; i < 3; i++) {
        size_t prefix = strlen("{\"resourceSpans\":["), len = strlen(lines[i]);
        if (i)
            ctr_buf_putc(&all, ',');
        ctr_buf_append(&all, lines[i] + prefix, len - prefix - 2);
    }
    ctr_buf_puts(&all, "]}");
    ctr_buf_putc(&all, '\0');
    int together = reencodes_to((const char *)all.data, lines, 3);
    ctr_buf_free(&all);
    for (size_t i = 0; i < 3; i++)
        free(lines[i]);
    ASSERT_EQ(one_by_one, 0);
    ASSERT_EQ(together, 0);
}

/* The decoded model itself: fields, ownership, resource and scope. */
static void test_decoded_model(void)
{
    struct ctr_span sp[3];
    struct ctr_event ev[2];
    struct ctr_link ln[2];
    build_spans(sp, ev, ln);
    struct ctr_resource ra = {.attrs = ATTRS(res_a_attrs)};
    struct ctr_scope sa = {S("lib-a"), S("1.2.3")};
    struct ctr_span *pa[] = {&sp[0], &sp[1]};
    struct ctr_batch b = {&ra, &sa, pa, 2};
    char *line = encode_line(&b);
    ASSERT(line != NULL);
    struct ctr_trace_data d;
    int rc = decode(&d, line, NULL, 0);
    free(line);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(d.n_batches, 1);
    ASSERT_EQ(d.n_spans, 2);
    const struct ctr_batch *got = &d.batches[0];
    const struct ctr_attr *svc = ctr_attr_list_get(&got->resource->attrs, "service.name", 12);
    ASSERT(svc && svc->value.type == CTR_VALUE_STRING);
    ASSERT_STREQ(svc->value.u.s.ptr, "svc-a");
    ASSERT_STREQ(got->scope->name.ptr, "lib-a");
    ASSERT_STREQ(got->scope->version.ptr, "1.2.3");
    const struct ctr_span *root = got->spans[0], *child = got->spans[1];
    ASSERT(root->ended && root->recording && !root->has_parent);
    ASSERT(ctr__arena_owns(&root->arena, root));
    ASSERT(ctr__arena_owns(&root->arena, root->name.ptr));
    ASSERT(ctr__arena_owns(&root->arena, root->attrs.items[0].value.u.s.ptr));
    ASSERT_MEMEQ(root->ctx.span_id, sp[0].ctx.span_id, CTR_SPAN_ID_LEN);
    ASSERT_EQ(root->ctx.trace_flags, 3);
    ASSERT_EQ(root->attrs.len, NELEM(rt_attrs));
    ASSERT_EQ(root->attrs.dropped, 3);
    ASSERT_EQ(root->attrs.items[0].value.u.s.len, rt_attrs[0].value.u.s.len); /* NUL kept */
    ASSERT_EQ(root->events_len, 2);
    ASSERT_EQ(root->events_dropped, 4);
    ASSERT_EQ(root->links_len, 2);
    ASSERT(root->links[0].ctx.is_remote && !root->links[1].ctx.is_remote);
    ASSERT_EQ(root->status, CTR_STATUS_ERROR);
    ASSERT(child->has_parent && child->parent_is_remote);
    ASSERT_EQ(child->kind, CTR_KIND_CLIENT);
    ctr_trace_data_free(&d);
    ASSERT_EQ(d.n_spans, 0);
}

/* The golden fixtures read back to the bytes the official protobuf runtime
 * wrote: JSON through the JSON encoder, and protobuf through the protobuf
 * encoder (the .bin of the same message). */
static void test_golden_fixtures(void)
{
    static const char *const names[] = {"otlp_basic", "otlp_full", "otlp_nested"};
    for (size_t i = 0; i < NELEM(names); i++) {
        char file[64];
        size_t len = 0;
        snprintf(file, sizeof file, "%s.json", names[i]);
        uint8_t *text = read_fixture(file, &len);
        ASSERT(text != NULL);
        struct ctr_trace_data d;
        char err[256];
        ctr_trace_data_init(&d);
        int rc = ctr_trace_data_append_line(&d, (const char *)text, len, err, sizeof err);
        free(text);
        struct ctr_buf json = {0}, proto = {0};
        int erc = rc || d.n_batches != 1 ? -1 : ctr_otlp_json_encode(&d.batches[0], &json);
        int prc = rc || d.n_batches != 1 ? -1 : ctr_otlp_proto_encode(&d.batches[0], &proto);
        ctr_trace_data_free(&d);
        int same_json = erc == 0 ? compare_fixture(file, json.data, json.len) : -1;
        snprintf(file, sizeof file, "%s.bin", names[i]);
        int same_proto = prc == 0 ? compare_fixture(file, proto.data, proto.len) : -1;
        ctr_buf_free(&json);
        ctr_buf_free(&proto);
        if (rc)
            TEST_FAIL_AT("%s: %s", names[i], err);
        ASSERT_EQ(same_json, 0);
        ASSERT_EQ(same_proto, 0);
    }
}

/* What protobuf's generic JSON mapping writes reads the same as OTLP JSON. */
static void test_generic_protobuf_json(void)
{
    const char *otlp = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
                       "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
                       "\"spanId\":\"b7ad6b7169203331\",\"parentSpanId\":\"00f067aa0ba902b7\","
                       "\"kind\":3,\"startTimeUnixNano\":\"1700000000000000000\","
                       "\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":\"-5\"}},"
                       "{\"key\":\"d\",\"value\":{\"doubleValue\":2.5}}],"
                       "\"status\":{\"code\":2}}]}]}]}";
    const char *generic =
        "{\"resourceSpans\":[{\"instrumentationLibrarySpans\":[{\"spans\":[{"
        "\"traceId\":\"CvdlGRbNQ92ESOshHIAxnA==\","
        "\"spanId\":\"t61rcWkgMzE\",\"parentSpanId\":\"APBnqgupArc=\","
        "\"kind\":\"SPAN_KIND_CLIENT\",\"startTimeUnixNano\":1700000000000000000,"
        "\"traceState\":null,\"name\":null,"
        "\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":-5}},"
        "{\"key\":\"d\",\"value\":{\"doubleValue\":\"2.5\"}}],"
        "\"status\":{\"code\":\"STATUS_CODE_ERROR\"},\"unknownMember\":[1]}]}]}]}";
    char *upper = strdup(otlp); /* hex ids of either case */
    ASSERT(upper != NULL);
    for (char *p = strstr(upper, "0af7"); p && *p != '"'; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    struct ctr_trace_data a, b, c;
    const struct ctr_span *sa = only_span(&a, otlp), *sb = only_span(&b, generic),
                          *sc = only_span(&c, upper);
    free(upper);
    char *ea = NULL, *eb = NULL, *ec = NULL;
    if (sa && sb && sc) {
        ea = encode_line(&a.batches[0]);
        eb = encode_line(&b.batches[0]);
        ec = encode_line(&c.batches[0]);
    }
    int same = ea && eb && ec && strcmp(ea, eb) == 0 && strcmp(ea, ec) == 0;
    if (!same)
        fprintf(stderr, "otlp    %s\ngeneric %s\nupper   %s\n", ea, eb, ec);
    free(ea);
    free(eb);
    free(ec);
    ctr_trace_data_free(&a);
    ctr_trace_data_free(&b);
    ctr_trace_data_free(&c);
    ASSERT(same);
}

/* kvlistValue: flattened into dotted keys as an attribute's value, JSON
 * text inside an array, the key alone when empty. */
static void test_kvlist(void)
{
    char *line = span_line(
        "\"attributes\":[{\"key\":\"k\",\"value\":{\"kvlistValue\":{\"values\":["
        "{\"key\":\"a\",\"value\":{\"intValue\":\"1\"}},"
        "{\"key\":\"b\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"c\","
        "\"value\":{\"boolValue\":true}}]}}}]}}},"
        "{\"key\":\"e\",\"value\":{\"kvlistValue\":{}}},"
        "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"kvlistValue\":{\"values\":"
        "[{\"key\":\"x\",\"value\":{\"stringValue\":\"y\\n\"}}]}}]}}}]");
    struct ctr_trace_data d;
    const struct ctr_span *s = only_span(&d, line);
    free(line);
    ASSERT(s != NULL);
    const struct ctr_attr_list *l = &s->attrs;
    ASSERT_EQ(l->len, 4);
    ASSERT_EQ(l->dropped, 0);
    ASSERT_STREQ(l->items[0].key.ptr, "k.a");
    ASSERT_EQ(l->items[0].value.u.i, 1);
    ASSERT_STREQ(l->items[1].key.ptr, "k.b.c");
    ASSERT(l->items[1].value.type == CTR_VALUE_BOOL && l->items[1].value.u.b);
    ASSERT_STREQ(l->items[2].key.ptr, "e");
    ASSERT_EQ(l->items[2].value.type, CTR_VALUE_EMPTY);
    ASSERT_STREQ(l->items[3].key.ptr, "arr");
    const struct ctr_value *item = &l->items[3].value.u.array.items[0];
    ASSERT_EQ(item->type, CTR_VALUE_STRING);
    ASSERT_STREQ(item->u.s.ptr,
                 "{\"values\":[{\"key\":\"x\",\"value\":{\"stringValue\":\"y\\n\"}}]}");
    ctr_trace_data_free(&d);
}

/* Attributes, events and links that cannot be read (not objects, bad values,
 * bad link ids) are dropped and added to the dropped counts; the span
 * stays. */
static void test_unreadable_parts_are_counted(void)
{
    char *line = span_line(
        "\"attributes\":[{\"key\":\"ok\",\"value\":{\"intValue\":\"1\"}},"
        "{\"key\":\"i\",\"value\":{\"intValue\":\"12x\"}},"
        "{\"key\":\"two\",\"value\":{\"intValue\":\"1\",\"stringValue\":\"x\"}},"
        "{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"!!\"}},"
        "{\"key\":\"d\",\"value\":{\"doubleValue\":\"inf\"}},"
        "{\"key\":\"b\",\"value\":{\"boolValue\":1}},"
        "{\"key\":5,\"value\":{}},7,"
        "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":true}]}}}],"
        "\"droppedAttributesCount\":10,"
        "\"events\":[{\"name\":\"e\"},{\"timeUnixNano\":\"-1\"},{\"name\":3},[]],"
        "\"links\":[{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
        "\"spanId\":\"b7ad6b7169203331\"},{\"traceId\":\"00000000000000000000000000000000\","
        "\"spanId\":\"b7ad6b7169203331\"},{\"spanId\":\"b7ad6b7169203331\"}],"
        "\"droppedLinksCount\":1");
    struct ctr_trace_data d;
    const struct ctr_span *s = only_span(&d, line);
    free(line);
    ASSERT(s != NULL);
    ASSERT_EQ(s->attrs.len, 1);
    ASSERT_EQ(s->attrs.dropped, 10 + 8);
    ASSERT_EQ(s->events_len, 3); /* an event with a bad time or name is still an event */
    ASSERT_EQ(s->events_dropped, 1);
    ASSERT_UEQ(s->events[1].time_ns, 0);
    ASSERT_EQ(s->events[2].name.len, 0);
    ASSERT_EQ(s->links_len, 1);
    ASSERT_EQ(s->links_dropped, 1 + 2);
    ctr_trace_data_free(&d);
}

/* Spans without valid ids are skipped, counted and reported with their
 * position and reason; the other spans of the line are kept. */
struct skip_log {
    size_t n;
    size_t no[8];
    const char *why[8];
};

static void on_skip(void *ud, size_t span_no, const char *reason)
{
    struct skip_log *log = ud;
    if (log->n < 8) {
        log->no[log->n] = span_no;
        log->why[log->n] = reason;
    }
    log->n++;
}

static void test_malformed_spans(void)
{
    static const struct {
        const char *span;
        const char *why;
    } cases[] = {
        {"7", "not a JSON object"},
        {"{\"spanId\":\"b7ad6b7169203331\"}", "traceId is not 32 hex digits (or is all zero)"},
        {"{\"traceId\":\"zz\",\"spanId\":\"b7ad6b7169203331\"}", "traceId is not 32 hex"},
        {"{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"b7ad6b7169203331\"}",
         "traceId is not 32 hex"},
        {"{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"0000000000000000\"}",
         "spanId is not 16 hex digits (or is all zero)"},
        {"{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b716920333\"}",
         "spanId is not 16 hex"},
        {"{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\","
         "\"parentSpanId\":\"xyz\"}",
         "parentSpanId is not 16 hex digits"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        struct ctr_buf line = {0};
        /* A good span, then the bad one, in a second ScopeSpans. */
        ctr_buf_printf(&line,
                       "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
                       "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
                       "\"spanId\":\"00f067aa0ba902b7\"}]},{\"spans\":[%s]}]}]}",
                       cases[i].span);
        struct skip_log log = {0};
        struct ctr_trace_data d;
        ctr_trace_data_init(&d);
        d.on_skip = on_skip;
        d.on_skip_ud = &log;
        int rc = ctr_trace_data_append_line(&d, (const char *)line.data, line.len, NULL, 0);
        size_t spans = d.n_spans, skipped = d.spans_skipped, batches = d.n_batches;
        ctr_trace_data_free(&d);
        ctr_buf_free(&line);
        if (rc || spans != 1 || skipped != 1 || batches != 1 || log.n != 1 || log.no[0] != 2 ||
            strncmp(log.why[0], cases[i].why, strlen(cases[i].why)) != 0)
            TEST_FAIL_AT("case %zu (%s): rc %d, %zu spans, %zu skipped, %zu batches, reason %s", i,
                         cases[i].span, rc, spans, skipped, batches, log.n ? log.why[0] : "-");
    }
}

/* Members of the wrong type or out of range are ignored: the span is kept
 * with their defaults (a viewer still shows it, its duration unknown). */
static void test_ill_typed_members_are_ignored(void)
{
    char *line = span_line(
        "\"parentSpanId\":\"\",\"name\":[\"x\"],\"kind\":-1,\"traceState\":7,"
        "\"startTimeUnixNano\":\"1.5\",\"endTimeUnixNano\":\"17e999\",\"flags\":4294967296,"
        "\"droppedEventsCount\":-3,\"droppedLinksCount\":\"x\",\"status\":{\"code\":3.5,"
        "\"message\":{}},\"attributes\":{},\"droppedAttributesCount\":true,\"events\":{},"
        "\"links\":\"none\"");
    struct ctr_trace_data d;
    const struct ctr_span *s = only_span(&d, line);
    free(line);
    ASSERT(s != NULL);
    ASSERT(!s->has_parent);
    ASSERT_EQ(s->name.len, 0);
    ASSERT_EQ(s->kind, CTR_KIND_UNSPECIFIED);
    ASSERT_EQ(s->ctx.trace_state.len, 0);
    ASSERT_UEQ(s->start_ns, 0);
    ASSERT_UEQ(s->end_ns, 0);
    ASSERT_EQ(s->ctx.trace_flags, 0);
    ASSERT_EQ(s->events_dropped + s->links_dropped + s->attrs.dropped, 0);
    ASSERT_EQ(s->status, CTR_STATUS_UNSET);
    ASSERT_EQ(s->status_message.len, 0);
    ASSERT_EQ(s->attrs.len + s->events_len + s->links_len, 0);
    ctr_trace_data_free(&d);
    /* Enum names and values newer than this code. */
    line = span_line("\"kind\":\"SPAN_KIND_CONSUMER\",\"status\":{\"code\":\"STATUS_CODE_OK\"}");
    s = only_span(&d, line);
    free(line);
    ASSERT(s != NULL);
    ASSERT_EQ(s->kind, CTR_KIND_CONSUMER);
    ASSERT_EQ(s->status, CTR_STATUS_OK);
    ctr_trace_data_free(&d);
    line = span_line("\"kind\":9,\"status\":{\"code\":\"4\"}");
    s = only_span(&d, line);
    free(line);
    ASSERT(s != NULL);
    ASSERT_EQ(s->kind, 9);
    ASSERT_EQ(s->status, 4);
    ctr_trace_data_free(&d);
}

/* Lines that are not requests: each outcome and message, and the container
 * keeps what earlier lines gave. */
static void test_line_outcomes(void)
{
    static const struct {
        const char *line;
        int rc;
        const char *err;
    } cases[] = {
        {"{}", 0, ""},
        {"{\"resourceSpans\":[]}", 0, ""},
        {"  {\"resourceSpans\":[{},{\"scopeSpans\":7},{\"scopeSpans\":[{\"spans\":{}}]}]}\r", 0,
         ""},
        {"[1,2,3]", CTR_EFORMAT, "not an OTLP ExportTraceServiceRequest (not a JSON object)"},
        {"\"text\"", CTR_EFORMAT, "not an OTLP ExportTraceServiceRequest (not a JSON object)"},
        {"{\"experiment\":{\"title\":\"x\"},\"status\":\"completed\"}", CTR_EFORMAT,
         "not an OTLP ExportTraceServiceRequest (no resourceSpans)"},
        {"{\"resourceSpans\":null}", CTR_EPARSE, "resourceSpans is not an array"},
        {"{\"resourceSpans\":{}}", CTR_EPARSE, "resourceSpans is not an array"},
        {"", CTR_EPARSE, "invalid JSON at column 1: empty input"},
        {"this is not json", CTR_EPARSE, "invalid JSON at column 1: invalid literal"},
        {"{\"resourceSpans\": [", CTR_EPARSE, "invalid JSON at column 20: unterminated array"},
        {"{\"a\":1,}", CTR_EPARSE, "invalid JSON at column 8: expected a string key"},
        {"{\"a\":01}", CTR_EPARSE, "invalid JSON at column 6: invalid number"},
        {"{\"a\":NaN}", CTR_EPARSE, "invalid JSON at column 6: unexpected character"},
        {"{\"a\":\"\\x\"}", CTR_EPARSE, "invalid JSON at column 7: invalid escape"},
        {"{\"a\":\"\\u12\"}", CTR_EPARSE, "invalid JSON at column 7: invalid \\u escape"},
        {"{\"a\":\"tab\there\"}", CTR_EPARSE,
         "invalid JSON at column 10: control character in string"},
        {"{\"a\":\"\xc3\x28\"}", CTR_EPARSE, "invalid JSON at column 7: invalid UTF-8 in string"},
        {"{\"a\":\"\xed\xa0\x80\"}", CTR_EPARSE, "invalid JSON at column 7: invalid UTF-8"},
        {"{\"a\":\"\xc0\xaf\"}", CTR_EPARSE, "invalid JSON at column 7: invalid UTF-8"},
        {"{\"a\":\"\xff\"}", CTR_EPARSE, "invalid JSON at column 7: invalid UTF-8"},
        {"{\"a\":1} x", CTR_EPARSE, "invalid JSON at column 9: unexpected data after the JSON"},
    };
    struct ctr_trace_data d;
    ctr_trace_data_init(&d);
    char *first = span_line("");
    ASSERT(first != NULL);
    int rc0 = ctr_trace_data_append_line(&d, first, strlen(first), NULL, 0);
    free(first);
    ASSERT_EQ(rc0, 0);
    for (size_t i = 0; i < NELEM(cases); i++) {
        char err[256] = "untouched";
        int rc =
            ctr_trace_data_append_line(&d, cases[i].line, strlen(cases[i].line), err, sizeof err);
        if (rc != cases[i].rc || strncmp(err, cases[i].err, strlen(cases[i].err)) != 0 ||
            (cases[i].rc == 0 && err[0]) || d.n_spans != 1 || d.n_batches != 1)
            TEST_FAIL_AT("case %zu: rc %s, err \"%s\" (want %s, \"%s\"), %zu spans", i,
                         ctr_err_name(rc), err, ctr_err_name(cases[i].rc), cases[i].err, d.n_spans);
    }
    /* An error message never overflows a small buffer. */
    char tiny[8];
    ASSERT_EQ(ctr_trace_data_append_line(&d, "[1]", 3, tiny, sizeof tiny), CTR_EFORMAT);
    ASSERT_EQ(strlen(tiny), sizeof tiny - 1);
    ASSERT_EQ(ctr_trace_data_append_line(&d, NULL, 1, NULL, 0), CTR_EINVAL);
    ASSERT_EQ(ctr_trace_data_append_line(NULL, "{}", 2, NULL, 0), CTR_EINVAL);
    ctr_trace_data_free(&d);
}

/* Deep, wide and over-limit input is refused or read without trouble. */
static void test_limits(void)
{
    enum { DEEP = 100000 };
    char *deep = malloc(2 * DEEP + 1);
    ASSERT(deep != NULL);
    memset(deep, '[', DEEP);
    memset(deep + DEEP, ']', DEEP);
    deep[2 * DEEP] = '\0';
    struct ctr_trace_data d;
    char err[256];
    int rc = decode(&d, deep, err, sizeof err);
    free(deep);
    ASSERT_EQ(rc, CTR_EPARSE);
    ASSERT_STREQ(err, "invalid JSON at column 65: nesting deeper than 64 levels");

    /* A tree over max_tree_bytes: CTR_ETOOBIG, and the next line is fine. */
    struct ctr_buf wide = {0};
    ctr_buf_puts(&wide, "{\"resourceSpans\":[],\"junk\":[");
    for (int i = 0; i < 100000; i++)
        ctr_buf_puts(&wide, "1,");
    ctr_buf_puts(&wide, "1]}");
    d.max_tree_bytes = 1 << 20;
    rc = ctr_trace_data_append_line(&d, (const char *)wide.data, wide.len, err, sizeof err);
    ASSERT_EQ(rc, CTR_ETOOBIG);
    ASSERT(strstr(err, "line too large to decode at column ") == err);
    d.max_tree_bytes = CTR_DECODE_TREE_LIMIT;
    rc = ctr_trace_data_append_line(&d, (const char *)wide.data, wide.len, err, sizeof err);
    ctr_buf_free(&wide);
    ASSERT_EQ(rc, 0);
    ctr_trace_data_free(&d);

    /* Lone surrogate escapes become U+FFFD; a pair becomes one character. */
    char *line = span_line("\"name\":\"a\\ud800b\\udc00c\\ud83d\\ude00\"");
    const struct ctr_span *s = only_span(&d, line);
    free(line);
    ASSERT(s != NULL);
    ASSERT_STREQ(s->name.ptr, "a\xef\xbf\xbd"
                              "b\xef\xbf\xbd"
                              "c\xf0\x9f\x98\x80");
    ctr_trace_data_free(&d);
}

/* The reader on its own: numbers as 64-bit integers, and writing back. */
static void test_json_reader(void)
{
    struct ctr_arena a = {0};
    struct ctr__json_value *root;
    struct ctr__json_error e;
    const char *text = "{\"u\":\"18446744073709551615\",\"big\":18446744073709551616,"
                       "\"neg\":-9223372036854775808,\"exp\":1.5e3,\"frac\":1.5,"
                       "\"s\":\"a\\u0000\\\"\",\"l\":[true,false,null,{}]}";
    ASSERT_EQ(ctr__json_parse(&a, text, strlen(text), &root, &e), 0);
    uint64_t u;
    int64_t i;
    ASSERT(ctr__json_to_u64(ctr__json_get(root, "u"), &u) && u == UINT64_MAX);
    ASSERT(!ctr__json_to_u64(ctr__json_get(root, "big"), &u));
    ASSERT(ctr__json_to_i64(ctr__json_get(root, "neg"), &i) && i == INT64_MIN);
    ASSERT(!ctr__json_to_u64(ctr__json_get(root, "neg"), &u));
    ASSERT(ctr__json_to_i64(ctr__json_get(root, "exp"), &i) && i == 1500);
    ASSERT(!ctr__json_to_i64(ctr__json_get(root, "frac"), &i));
    ASSERT(!ctr__json_to_i64(ctr__json_get(root, "missing"), &i));
    ASSERT_EQ(ctr__json_get(root, "s")->u.s.len, 3);
    struct ctr_buf b = {0};
    ctr__json_write(&b, root);
    ctr_buf_putc(&b, '\0');
    int same = b.data && strcmp((const char *)b.data, text) == 0;
    if (!same)
        fprintf(stderr, "wrote %s\n", (const char *)b.data);
    ctr_buf_free(&b);
    ctr_arena_free(&a);
    ASSERT(same);
}

TEST_MAIN(TEST_CASE(test_round_trip), TEST_CASE(test_decoded_model),
          TEST_CASE(test_golden_fixtures), TEST_CASE(test_generic_protobuf_json),
          TEST_CASE(test_kvlist), TEST_CASE(test_unreadable_parts_are_counted),
          TEST_CASE(test_malformed_spans), TEST_CASE(test_ill_typed_members_are_ignored),
          TEST_CASE(test_line_outcomes), TEST_CASE(test_limits), TEST_CASE(test_json_reader))
