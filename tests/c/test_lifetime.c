/*
 * Lifetime of what a tracer lends its processor: the resource and the scope
 * go into every batch, and a worker detached by shutdown (its export ran past
 * the deadline) still holds that batch when the tracer is freed. Run under
 * ASan (make ctest): a read of freed memory is a report, not a silent pass.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <chaostracing/chaostracing.h>

#include "test.h"

/* Outlives the exporter: what the export saw, and whether it was destroyed. */
struct outcome {
    atomic_int entered;   /* the export is blocked */
    atomic_int returned;  /* it has read the batch again and returned */
    atomic_int destroyed; /* the detached worker destroyed the exporter */
    int service_name_ok;  /* the resource still held service.name=lifetime-test */
    size_t scope_len;     /* strlen of the scope name it read */
};

/* An exporter that blocks until released (or 5 s), then reads the batch's
 * resource and scope: what a real exporter does when it encodes a retry. */
struct holding_exporter {
    struct ctr_exporter base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool released;
    struct outcome *out;
};

static int holding_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                          uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct holding_exporter *x = (struct holding_exporter *)e;
    atomic_store(&x->out->entered, 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&x->mu);
    while (!x->released)
        if (pthread_cond_timedwait(&x->cv, &x->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&x->mu);

    const struct ctr_attr_list *attrs = &batch->resource->attrs;
    for (size_t i = 0; i < attrs->len; i++) {
        const struct ctr_attr *a = &attrs->items[i];
        if (a->key.len == 12 && memcmp(a->key.ptr, "service.name", 12) == 0 &&
            a->value.type == CTR_VALUE_STRING && a->value.u.s.len == 13 &&
            memcmp(a->value.u.s.ptr, "lifetime-test", 13) == 0)
            x->out->service_name_ok = 1;
    }
    x->out->scope_len = strnlen(batch->scope->name.ptr, batch->scope->name.len);
    atomic_store(&x->out->returned, 1);
    return 0;
}

static void holding_release(struct holding_exporter *x)
{
    pthread_mutex_lock(&x->mu);
    x->released = true;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

static int holding_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)e, (void)deadline_ns;
    return 0;
}

static void holding_destroy(struct ctr_exporter *e)
{
    struct holding_exporter *x = (struct holding_exporter *)e;
    struct outcome *out = x->out;
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->mu);
    free(x);
    atomic_store(&out->destroyed, 1);
}

static const struct ctr_exporter_ops holding_ops = {
    .name = "holding",
    .export_batch = holding_export,
    .shutdown = holding_shutdown,
    .destroy = holding_destroy,
};

/* The configuration: only OTEL_SERVICE_NAME, whatever the environment. */
static const char *fixed_env(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "OTEL_SERVICE_NAME") == 0 ? "lifetime-test" : NULL;
}

/* Poll `flag` for up to `ms` milliseconds. */
static bool wait_flag(atomic_int *flag, unsigned ms)
{
    for (unsigned i = 0; i < ms && !atomic_load(flag); i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(flag) != 0;
}

/* Shutdown gives up on an export that outlives its deadline and detaches the
 * worker; the tracer is then freed while that export still holds the batch.
 * Intended: whatever a batch points to (resource, scope) lives as long as
 * the export holding it, so the late read sees the tracer's resource. */
static void test_detached_export_outlives_the_tracer(void)
{
    static struct outcome out; /* read by the worker after this returns on failure */
    memset(&out, 0, sizeof out);
    struct holding_exporter *x = calloc(1, sizeof *x);
    ASSERT(x != NULL);
    ctr_exporter_init(&x->base, &holding_ops);
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    x->out = &out;

    struct ctr_config cfg;
    ASSERT_EQ(ctr_config_from_env(&cfg, fixed_env, NULL), 0);
    cfg.bsp.schedule_delay_ms = 1;
    struct ctr_tracer *t = NULL;
    int rc = ctr_tracer_new(&cfg, &x->base, true, &t);
    ctr_config_free(&cfg);
    ASSERT_EQ(rc, 0);

    struct ctr_span *s = ctr_tracer_start_span(t, "held", 4, NULL, CTR_KIND_INTERNAL, 0);
    ASSERT(s != NULL);
    ctr_span_end(s, 0);
    ASSERT(wait_flag(&out.entered, 2000));

    ASSERT_EQ(ctr_tracer_shutdown(t, ctr_deadline_after_ms(50)), CTR_ETIMEOUT);
    ctr_tracer_free(t); /* the worker is still inside holding_export */
    ASSERT_EQ(atomic_load(&out.returned), 0);

    holding_release(x); /* x stays valid until the worker destroys it */
    ASSERT(wait_flag(&out.returned, 2000));
    ASSERT(wait_flag(&out.destroyed, 2000));
    ASSERT(out.service_name_ok);
    ASSERT_EQ(out.scope_len, strlen("chaostracing"));
}

TEST_MAIN(TEST_CASE(test_detached_export_outlives_the_tracer))
