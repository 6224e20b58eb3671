/*
 * Test helper (header-only) for test_settings.c and test_setup.c: settings
 * written as tables of strings, a setup built over a fake environment, and
 * what it resolved to copied out (so the setup is freed before asserting).
 */
#ifndef CTR_TEST_SETUP_BUILD_H
#define CTR_TEST_SETUP_BUILD_H

#include <chaostracing/settings.h>

#include "env_table.h"
#include "export/settings.h" /* struct ctr_setup: whether an exporter was built */
#include "test.h"

#define CMD CTR_FROM_COMMAND
#define ARG CTR_FROM_ARGUMENT
#define CONF CTR_FROM_CONFIGURATION

#define HTTP_DEFAULT "http://localhost:4318/v1/traces"
#define GRPC_DEFAULT "http://localhost:4317"
#define ZIPKIN_DEFAULT "http://localhost:9411/api/v2/spans"
#define AGENT_DEFAULT "udp://localhost:6831"
#define W3C (CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE)
#define EXPORTERS                                                                                  \
    "otlp-http (also oltp-http), otlp-json (also otlp-http-json), otlp-grpc (also oltp-grpc), "    \
    "otlp, jaeger-thrift, jaeger-grpc, zipkin, file, console, none"
#define PROPAGATORS                                                                                \
    "tracecontext, w3c, baggage, b3, b3multi, b3single, b3-single, jaeger, xray, none"

/* One string setting as a test writes it; a NULL key ends a list. */
struct put {
    enum ctr_setting_source src;
    const char *key, *value; /* value NULL_VALUE: a null (CTR_SV_NULL) */
};
static const char NULL_VALUE[] = "(null)";

#define PUTS(...) ((const struct put[]){__VA_ARGS__, {0, NULL, NULL}})
#define ENV(...) ((const struct var[]){__VA_ARGS__, {NULL, NULL}})
#define OTEL ((const struct put[]){{CONF, "tracing_provider", "opentelemetry"}, {0, NULL, NULL}})

/* New settings holding `a` then `b` (either may be NULL). Exits when out of
 * memory, which no test provokes. */
static inline struct ctr_settings *settings_of(const struct put *a, const struct put *b)
{
    struct ctr_settings *s;
    if (ctr_settings_new(&s))
        exit(2);
    const struct put *lists[] = {a, b};
    for (size_t l = 0; l < 2; l++) {
        for (const struct put *p = lists[l]; p && p->key; p++) {
            struct ctr_setting_value null = {.type = CTR_SV_NULL};
            int rc = p->value == NULL_VALUE
                         ? ctr_settings_put(s, p->src, p->key, strlen(p->key), &null)
                         : ctr_settings_put_str(s, p->src, p->key, p->value);
            if (rc)
                exit(2);
        }
    }
    return s;
}

/* Build a setup from `s` (freed here: a setup must not borrow from it). */
static inline struct ctr_setup *build(struct ctr_settings *s, unsigned flags, const struct var *env)
{
    struct ctr_setup *st;
    int rc = ctr_setup_build(s, flags, table_get, (void *)env, &st);
    ctr_settings_free(s);
    if (rc)
        exit(2);
    return st;
}

/* What a test looks at, copied out so the setup is freed before asserting. */
struct outcome {
    bool enabled, failed, exporter;
    size_t n;   /* problems */
    int level;  /* of the first problem */
    bool fatal; /* of the first problem */
    char first[1024];
    char all[4096]; /* every problem, one a line */
    char dest[512];
    struct ctr_propagation prop;
};

static inline void outcome_of(struct ctr_setup *st, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->enabled = ctr_setup_enabled(st);
    o->failed = ctr_setup_failed(st);
    o->exporter = st->exporter != NULL;
    o->n = ctr_setup_problem_count(st);
    for (size_t i = 0, used = 0; i < o->n; i++) {
        const char *p = ctr_setup_problem(st, i, i ? NULL : &o->level, i ? NULL : &o->fatal);
        if (i == 0)
            snprintf(o->first, sizeof o->first, "%s", p);
        used += (size_t)snprintf(o->all + used, sizeof o->all - used, "%s\n", p);
        if (used >= sizeof o->all)
            used = sizeof o->all - 1;
    }
    snprintf(o->dest, sizeof o->dest, "%s", ctr_setup_destination(st));
    o->prop = *ctr_setup_propagation(st);
    ctr_setup_free(st);
}

static inline void run(struct outcome *o, unsigned flags, const struct var *env,
                       const struct put *a, const struct put *b)
{
    outcome_of(build(settings_of(a, b), flags, env), o);
}

/* Print what differs from a working setup sending to `dest` with no
 * problem; true when nothing does. */
static inline bool works(const struct outcome *o, const char *dest, size_t row)
{
    if (o->enabled && !o->failed && o->n == 0 && strcmp(o->dest, dest) == 0)
        return true;
    fprintf(stderr, "row %zu: enabled %d failed %d destination \"%s\" (want \"%s\"), problems:\n%s",
            row, o->enabled, o->failed, o->dest, dest, o->all);
    return false;
}

/* Print what differs from one fatal WARNING `want`; true when nothing does. */
static inline bool refused(const struct outcome *o, const char *want, size_t row)
{
    if (!o->enabled && o->failed && o->n == 1 && o->fatal && o->level == CTR_LOG_WARNING &&
        strcmp(o->first, want) == 0)
        return true;
    fprintf(stderr, "row %zu: enabled %d failed %d fatal %d level %d, problems:\n%swant:\n%s\n",
            row, o->enabled, o->failed, o->fatal, o->level, o->all, want);
    return false;
}

#endif
