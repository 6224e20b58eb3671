/*
 * Core tests: arena, attribute limits and UTF-8 handling, span setters,
 * sampling, ids and the resource.
 */
#include <chaostracing/chaostracing.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* A tracer with no exporter, from an environment given as name/value pairs. */
static const char *const *test_env;

static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    for (const char *const *e = test_env; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

/* A tracer configured from `env` (NULL: none) exporting to `e` (may be
 * NULL; the tracer owns it), or NULL. */
static struct ctr_tracer *tracer_to(const char *const *env, struct ctr_exporter *e)
{
    struct ctr_config cfg;
    test_env = env;
    if (ctr_config_from_env(&cfg, env_get, NULL)) {
        ctr_config_free(&cfg);
        return NULL;
    }
    struct ctr_tracer *t = NULL;
    ctr_tracer_new(&cfg, e, true, &t);
    ctr_config_free(&cfg);
    return t;
}

static struct ctr_tracer *tracer_with(const char *const *env)
{
    return tracer_to(env, NULL);
}

/* A tracer configured from `env` exporting to /dev/null, or NULL. */
static struct ctr_tracer *dev_null_tracer(const char *const *env)
{
    struct ctr_exporter *e = NULL;
    char err[128];
    return ctr_file_exporter_new("/dev/null", &e, err, sizeof err) ? NULL : tracer_to(env, e);
}

static void test_arena_blocks(void)
{
    struct ctr_arena a = {0};
    char *p = ctr_arena_strndup(&a, "hello", 5);
    ASSERT_STREQ(p, "hello");
    /* A large allocation gets its own block and stays usable. */
    char *big = ctr_arena_alloc(&a, 100000);
    ASSERT(big != NULL);
    memset(big, 'x', 100000);
    ASSERT_STREQ(p, "hello");
    ASSERT_EQ((uintptr_t)ctr_arena_alloc(&a, 3) % 8, 0);
    ctr_arena_free(&a);
    ASSERT(a.head == NULL);
}

static void test_arena_limit_and_reset(void)
{
    struct ctr_arena a = {.limit = 8192};
    ASSERT(ctr_arena_alloc(&a, 1000) != NULL);
    ASSERT(ctr_arena_alloc(&a, 5000) != NULL);
    ASSERT(ctr_arena_alloc(&a, 9000) == NULL); /* over the limit */
    ASSERT(a.total <= a.limit);
    ctr_arena_reset(&a); /* keeps the first block only */
    ASSERT(a.head != NULL);
    ASSERT_EQ(a.total, 2048);
    char *p = ctr_arena_strndup(&a, "again", 5);
    ASSERT_STREQ(p, "again");
    ctr_arena_free(&a);
    ASSERT(a.head == NULL && a.limit == 8192);
}

static void test_attr_limits_and_replace(void)
{
    static const char *const env[] = {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3",
                                      "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4", NULL};
    struct ctr_tracer *t = tracer_with(env);
    ASSERT(t != NULL);
    struct ctr_span *s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
    ASSERT(s && s->recording);
    ASSERT_EQ(ctr_span_set_str(s, "a", "abcdefgh", 8), 0);
    ASSERT_EQ(ctr_span_set_int(s, "b", -5), 0);
    ASSERT_EQ(ctr_span_set_bool(s, "c", true), 0);
    ASSERT_EQ(ctr_span_set_double(s, "d", 1.5), 0); /* past the count limit */
    ASSERT_EQ(ctr_span_set_int(s, "b", 7), 0);      /* replacing is not adding */
    ASSERT_EQ(s->attrs.len, 3);
    ASSERT_EQ(s->attrs.dropped, 1);
    const struct ctr_attr *a = ctr_attr_list_get(&s->attrs, "a", 1);
    ASSERT(a && a->value.type == CTR_VALUE_STRING);
    ASSERT_STREQ(a->value.u.s.ptr, "abcd");
    ASSERT_EQ(ctr_attr_list_get(&s->attrs, "b", 1)->value.u.i, 7);
    ctr_span_free(s);
    ctr_tracer_free(t);
}

static void test_utf8_truncation_and_repair(void)
{
    static const char *const env[] = {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3", NULL};
    struct ctr_tracer *t = tracer_with(env);
    struct ctr_span *s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
    /* Three characters of "héllo" are four bytes: never split "é". */
    ctr_span_set_str(s, "k", "h\xc3\xa9llo", 6);
    ASSERT_STREQ(ctr_attr_list_get(&s->attrs, "k", 1)->value.u.s.ptr, "h\xc3\xa9l");
    /* An invalid byte becomes U+FFFD; an overlong form too. */
    ctr_span_set_str(s, "bad", "a\xff", 2);
    ASSERT_STREQ(ctr_attr_list_get(&s->attrs, "bad", 3)->value.u.s.ptr, "a\xef\xbf\xbd");
    ctr_span_set_str(s, "overlong", "\xc0\xaf", 2);
    ASSERT_STREQ(ctr_attr_list_get(&s->attrs, "overlong", 8)->value.u.s.ptr,
                 "\xef\xbf\xbd\xef\xbf\xbd");
    /* Surrogates encoded in UTF-8 are invalid. */
    ctr_span_set_str(s, "sur", "\xed\xa0\x80", 3);
    ASSERT_STREQ(ctr_attr_list_get(&s->attrs, "sur", 3)->value.u.s.ptr,
                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* Names are repaired as well. */
    ASSERT_EQ(ctr_span_update_name(s, "n\xfe", 2), 0);
    ASSERT_STREQ(s->name.ptr, "n\xef\xbf\xbd");
    ctr_span_free(s);
    ctr_tracer_free(t);
}

static void test_bad_attributes_are_counted(void)
{
    struct ctr_tracer *t = tracer_with(NULL);
    struct ctr_span *s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
    struct ctr_attr empty_key = {{"", 0}, {.type = CTR_VALUE_INT, .u.i = 1}};
    ASSERT_EQ(ctr_span_set_attr(s, &empty_key), CTR_EINVAL);
    struct ctr_value nested[1] = {{.type = CTR_VALUE_ARRAY}};
    struct ctr_attr arr = {{"arr", 3}, {.type = CTR_VALUE_ARRAY}};
    arr.value.u.array.items = nested;
    arr.value.u.array.len = 1;
    ASSERT_EQ(ctr_span_set_attr(s, &arr), CTR_EINVAL);
    ASSERT_EQ(s->attrs.len, 0);
    ASSERT_EQ(s->attrs.dropped, 2);
    /* A proper array is deep-copied. */
    char buf[8] = "one";
    struct ctr_value items[2] = {{.type = CTR_VALUE_STRING, .u.s = {buf, 3}},
                                 {.type = CTR_VALUE_STRING, .u.s = {"two", 3}}};
    arr.value.u.array.items = items;
    arr.value.u.array.len = 2;
    ASSERT_EQ(ctr_span_set_attr(s, &arr), 0);
    buf[0] = 'X';
    const struct ctr_attr *got = ctr_attr_list_get(&s->attrs, "arr", 3);
    ASSERT_EQ(got->value.u.array.len, 2);
    ASSERT_STREQ(got->value.u.array.items[0].u.s.ptr, "one");
    ctr_span_free(s);
    ctr_tracer_free(t);
}

static void test_events_links_status(void)
{
    static const char *const env[] = {"OTEL_SPAN_EVENT_COUNT_LIMIT", "2",
                                      "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1", NULL};
    struct ctr_tracer *t = tracer_with(env);
    struct ctr_span *s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
    struct ctr_attr two[2] = {{{"x", 1}, {.type = CTR_VALUE_INT, .u.i = 1}},
                              {{"y", 1}, {.type = CTR_VALUE_INT, .u.i = 2}}};
    ASSERT_EQ(ctr_span_add_event(s, "e1", 2, 123, two, 2), 0);
    ASSERT_EQ(ctr_span_add_event(s, "e2", 2, 0, NULL, 0), 0);
    ASSERT_EQ(ctr_span_add_event(s, "e3", 2, 0, NULL, 0), 0);
    ASSERT_EQ(s->events_len, 2);
    ASSERT_EQ(s->events_dropped, 1);
    ASSERT_UEQ(s->events[0].time_ns, 123);
    ASSERT_EQ(s->events[0].attrs.len, 1);
    ASSERT_EQ(s->events[0].attrs.dropped, 1);
    ASSERT(s->events[1].time_ns > 0);

    struct ctr_span_context zero = {0};
    ASSERT_EQ(ctr_span_add_link(s, &zero, NULL, 0), CTR_EINVAL);
    ASSERT_EQ(ctr_span_add_link(s, &s->ctx, two, 1), 0);
    ASSERT_EQ(s->links_len, 1);

    /* UNSET never overrides; ERROR keeps its message; OK is final. */
    ctr_span_set_status(s, CTR_STATUS_ERROR, "boom", 4);
    ctr_span_set_status(s, CTR_STATUS_UNSET, NULL, 0);
    ASSERT_EQ(s->status, CTR_STATUS_ERROR);
    ASSERT_STREQ(s->status_message.ptr, "boom");
    ctr_span_set_status(s, CTR_STATUS_OK, "ignored", 7);
    ASSERT_EQ(s->status, CTR_STATUS_OK);
    ASSERT(s->status_message.ptr == NULL);
    ctr_span_set_status(s, CTR_STATUS_ERROR, "late", 4);
    ASSERT_EQ(s->status, CTR_STATUS_OK);
    ctr_span_free(s);
    ctr_tracer_free(t);
}

static void test_parent_and_flags(void)
{
    struct ctr_tracer *t = tracer_with(NULL);
    struct ctr_span_context remote;
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ASSERT_EQ(ctr_traceparent_parse(tp, strlen(tp), &remote), 0);
    remote.trace_state.ptr = "k=v";
    remote.trace_state.len = 3;
    struct ctr_span *s = ctr_tracer_start_span(t, "child", 5, &remote, CTR_KIND_SERVER, 0);
    ASSERT(s->recording);
    ASSERT_MEMEQ(s->ctx.trace_id, remote.trace_id, 16);
    ASSERT_MEMEQ(s->parent_span_id, remote.span_id, 8);
    ASSERT(memcmp(s->ctx.span_id, remote.span_id, 8) != 0);
    ASSERT_STREQ(s->ctx.trace_state.ptr, "k=v");
    ASSERT_UEQ(ctr_span_otlp_flags(s), 0x301);
    struct ctr_span *c = ctr_tracer_start_span(t, "grandchild", 10, &s->ctx, CTR_KIND_INTERNAL, 0);
    ASSERT_UEQ(ctr_span_otlp_flags(c), 0x101);
    ASSERT(!c->parent_is_remote);
    /* An invalid parent gives a root span. */
    struct ctr_span_context bad = {0};
    struct ctr_span *r = ctr_tracer_start_span(t, "root", 4, &bad, CTR_KIND_INTERNAL, 0);
    ASSERT(!r->has_parent);
    ctr_span_free(r);
    ctr_span_free(c);
    ctr_span_free(s);
    ctr_tracer_free(t);
}

static void test_samplers(void)
{
    static const char *const off[] = {"OTEL_TRACES_SAMPLER", "always_off", NULL};
    struct ctr_tracer *t = tracer_with(off);
    struct ctr_span *s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
    ASSERT(!s->recording);
    ASSERT_EQ(s->ctx.trace_flags, 0);
    ASSERT(ctr_span_context_is_valid(&s->ctx)); /* still propagates */
    ASSERT_EQ(ctr_span_set_int(s, "k", 1), 0);
    ASSERT_EQ(s->attrs.len, 0);
    ctr_span_free(s);
    ctr_tracer_free(t);

    /* parentbased: an unsampled remote parent wins over a root decision. */
    t = tracer_with(NULL);
    struct ctr_span_context parent;
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    ctr_traceparent_parse(tp, strlen(tp), &parent);
    s = ctr_tracer_start_span(t, "s", 1, &parent, CTR_KIND_INTERNAL, 0);
    ASSERT(!s->recording);
    ctr_span_free(s);
    ctr_tracer_free(t);

    /* traceidratio 0.25 samples about a quarter of 4000 roots. */
    static const char *const ratio[] = {"OTEL_TRACES_SAMPLER", "traceidratio",
                                        "OTEL_TRACES_SAMPLER_ARG", "0.25", NULL};
    t = tracer_with(ratio);
    int sampled = 0;
    for (int i = 0; i < 4000; i++) {
        s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
        sampled += s->recording;
        ctr_span_free(s);
    }
    ASSERT(sampled > 800 && sampled < 1200);
    ctr_tracer_free(t);

    static const char *const disabled[] = {"OTEL_SDK_DISABLED", "true", NULL};
    t = tracer_with(disabled);
    s = ctr_tracer_start_span(t, "s", 1, NULL, CTR_KIND_INTERNAL, 0);
    ASSERT(!s->recording);
    ctr_span_end(s, 0); /* frees a non-recording span */
    ctr_tracer_free(t);
}

static void test_ids_unique_and_fork(void)
{
    uint8_t a[16], b[16];
    ctr_new_trace_id(a);
    ctr_new_trace_id(b);
    ASSERT(memcmp(a, b, 16) != 0);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        uint8_t c[8];
        ctr_new_span_id(c);
        ssize_t w = write(fds[1], c, 8);
        _exit(w == 8 ? 0 : 1);
    }
    uint8_t parent_next[8], child[8];
    ctr_new_span_id(parent_next);
    ASSERT_EQ(read(fds[0], child, 8), 8);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    /* Without reseeding, the child would produce the parent's next id. */
    ASSERT(memcmp(parent_next, child, 8) != 0);
}

static void test_resource(void)
{
    static const char *const env[] = {"OTEL_RESOURCE_ATTRIBUTES",
                                      "service.name=from-attrs,deployment.environment=ci", NULL};
    struct ctr_tracer *t = tracer_with(env);
    const struct ctr_attr *svc = ctr_attr_list_get(&t->resource.attrs, "service.name", 12);
    ASSERT_STREQ(svc->value.u.s.ptr, "from-attrs");
    ASSERT_STREQ(ctr_attr_list_get(&t->resource.attrs, "deployment.environment", 22)->value.u.s.ptr,
                 "ci");
    ASSERT_STREQ(ctr_attr_list_get(&t->resource.attrs, "telemetry.sdk.name", 18)->value.u.s.ptr,
                 "chaostracing");
    ASSERT_EQ(ctr_attr_list_get(&t->resource.attrs, "process.pid", 11)->value.u.i, getpid());
    ctr_tracer_free(t);

    static const char *const env2[] = {"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs",
                                       "OTEL_SERVICE_NAME", "from-name", NULL};
    t = tracer_with(env2);
    ASSERT_STREQ(ctr_attr_list_get(&t->resource.attrs, "service.name", 12)->value.u.s.ptr,
                 "from-name");
    ctr_tracer_free(t);

    t = tracer_with(NULL);
    ASSERT_STREQ(ctr_attr_list_get(&t->resource.attrs, "service.name", 12)->value.u.s.ptr,
                 "chaostoolkit");
    ctr_tracer_free(t);
}

/* A span keeps its tracer alive: setters, events and end after the tracer
 * was shut down and freed are safe (ASan checks), and the late span is
 * dropped, never exported. */
static void test_span_outlives_tracer(void)
{
    static const char *const env[] = {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3", NULL};
    struct ctr_tracer *t = dev_null_tracer(env);
    ASSERT(t != NULL);
    struct ctr_span *a = ctr_tracer_start_span(t, "a", 1, NULL, CTR_KIND_INTERNAL, 0);
    struct ctr_span *b = ctr_tracer_start_span(t, "b", 1, NULL, CTR_KIND_INTERNAL, 0);
    ASSERT(a && b);
    ctr_tracer_free(t);
    ASSERT(ctr_span_is_recording(a));
    ASSERT_EQ(ctr_span_set_str(a, "k", "abcdef", 6), 0);
    const struct ctr_attr *k = ctr_attr_list_get(&a->attrs, "k", 1);
    ASSERT(k && k->value.u.s.len == 3); /* the tracer's limits still apply */
    ASSERT_EQ(ctr_span_add_event(a, "ev", 2, 0, NULL, 0), 0);
    ASSERT_EQ(ctr_span_set_status(a, CTR_STATUS_ERROR, "late", 4), 0);
    ctr_span_end(a, 0); /* after shutdown: dropped */
    ctr_span_free(b);   /* the last reference: the tracer goes now */
}

/* A reference taken with ctr_tracer_retain() keeps the tracer (shut down
 * by its owner) usable for a flush until ctr_tracer_release(); the last
 * release frees it (ASan would see a leak or a use after free). */
static void test_retained_tracer(void)
{
    struct ctr_tracer *t = dev_null_tracer(NULL);
    ASSERT(t != NULL);
    ASSERT(ctr_tracer_retain(t) == t);
    ASSERT(ctr_tracer_retain(NULL) == NULL);
    ctr_span_end(ctr_tracer_start_span(t, "a", 1, NULL, CTR_KIND_INTERNAL, 0), 0);
    ctr_tracer_free(t); /* the owner is done: shut down, its reference dropped */
    ASSERT_EQ(ctr_tracer_force_flush(t, ctr_deadline_after_ms(100)), 0);
    struct ctr_processor_stats ps;
    ctr_tracer_stats(t, &ps);
    ASSERT_EQ(ps.spans_ended, 1);
    ctr_tracer_release(t); /* the last reference */
    ctr_tracer_release(NULL);
}

/* Event attributes gathered in a builder reach a recorded event whatever
 * the sampler would say of a root span. */
static void test_attr_builder(void)
{
    static const char *const env[] = {"OTEL_TRACES_SAMPLER", "parentbased_always_off", NULL};
    struct ctr_tracer *t = tracer_with(env);
    ASSERT(t != NULL);
    struct ctr_span_context parent = {
        .trace_id = {1}, .span_id = {2}, .is_remote = true, .trace_flags = CTR_TRACE_FLAG_SAMPLED};
    struct ctr_span *s = ctr_tracer_start_span(t, "s", 1, &parent, CTR_KIND_INTERNAL, 0);
    ASSERT(ctr_span_is_recording(s));
    struct ctr_attr_builder b = {0};
    struct ctr_attr one = {{"one", 3}, {.type = CTR_VALUE_INT, .u.i = 1}};
    struct ctr_attr bad = {{"x\xff", 2}, {.type = CTR_VALUE_STRING, .u.s = {"v\xfe", 2}}};
    struct ctr_attr empty = {{"", 0}, {.type = CTR_VALUE_BOOL, .u.b = true}};
    ASSERT_EQ(ctr_attr_builder_set(&b, &one), 0);
    ASSERT_EQ(ctr_attr_builder_set(&b, &bad), 0);
    ASSERT_EQ(ctr_attr_builder_set(&b, &empty), CTR_EINVAL);
    size_t n;
    const struct ctr_attr *items = ctr_attr_builder_items(&b, &n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(ctr_span_add_event(s, "ev", 2, 0, items, n), 0);
    ctr_attr_builder_free(&b);
    ASSERT_EQ(s->events_len, 1);
    ASSERT_EQ(s->events[0].attrs.len, 2);
    ASSERT_STREQ(s->events[0].attrs.items[1].key.ptr, "x\xef\xbf\xbd");
    ctr_span_free(s);
    ctr_tracer_free(t);
}

static void test_errors_and_buf(void)
{
    ASSERT_STREQ(ctr_err_name(CTR_ETIMEOUT), "CTR_ETIMEOUT");
    ASSERT_STREQ(ctr_strerror(CTR_ENOMEM), "out of memory");
    ASSERT_STREQ(ctr_err_name(-999), "CTR_EUNKNOWN");
    struct ctr_buf b = {0};
    ctr_buf_printf(&b, "%s-%d", "x", 42);
    for (int i = 0; i < 100; i++)
        ctr_buf_printf(&b, "%0300d", i);
    ASSERT_EQ(b.len, 4 + 100 * 300);
    ASSERT_MEMEQ(b.data, "x-42", 4);
    ctr_buf_free(&b);
    uint8_t out[2];
    ASSERT_EQ(ctr_hex_decode("aB", 1, out), CTR_EPARSE);
    ASSERT_EQ(ctr_hex_decode("ab01", 2, out), 0);
    ASSERT_EQ(out[0], 0xab);
}

TEST_MAIN(TEST_CASE(test_arena_blocks), TEST_CASE(test_arena_limit_and_reset),
          TEST_CASE(test_span_outlives_tracer), TEST_CASE(test_retained_tracer),
          TEST_CASE(test_attr_builder), TEST_CASE(test_attr_limits_and_replace),
          TEST_CASE(test_utf8_truncation_and_repair), TEST_CASE(test_bad_attributes_are_counted),
          TEST_CASE(test_events_links_status), TEST_CASE(test_parent_and_flags),
          TEST_CASE(test_samplers), TEST_CASE(test_ids_unique_and_fork), TEST_CASE(test_resource),
          TEST_CASE(test_errors_and_buf))
