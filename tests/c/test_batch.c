/*
 * Tests of the batch and simple span processors, through the exporter test
 * double of texp.h (records what it receives, sleeps, blocks or fails per
 * call). Every wait is bounded; elapsed times are printed. The spool's part
 * of the batch processor is tested in test_spool.c.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chaostracing/processor.h>
#include <chaostracing/tracer.h>

#include "test.h"
#include "texp.h"

static atomic_int log_warnings, log_queue_full_warnings;
static char log_last_warning[256];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_sink(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level < CTR_LOG_WARNING)
        return;
    atomic_fetch_add(&log_warnings, 1);
    if (strstr(msg, "queue full"))
        atomic_fetch_add(&log_queue_full_warnings, 1);
    pthread_mutex_lock(&log_mu);
    snprintf(log_last_warning, sizeof log_last_warning, "%s", msg);
    pthread_mutex_unlock(&log_mu);
}

static void log_reset(void)
{
    atomic_store(&log_warnings, 0);
    atomic_store(&log_queue_full_warnings, 0);
    ctr_log_set_sink(log_sink, NULL);
}

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* --- tests --------------------------------------------------------------- */

/* Defaults match OTEL_BSP_*; bad options are refused and the exporter is
 * still freed; a batch size above the queue size is lowered to it. */
static void test_options(void)
{
    struct ctr_bsp_options o;
    memset(&o, 0xff, sizeof o);
    ctr_bsp_options_default(&o);
    ASSERT_EQ(o.max_queue_size, 2048);
    ASSERT_EQ(o.schedule_delay_ms, 5000);
    ASSERT_EQ(o.export_timeout_ms, 30000);
    ASSERT_EQ(o.max_export_batch_size, 512);

    struct ctr_processor *p = (struct ctr_processor *)1;
    ASSERT_EQ(ctr_batch_processor_new(NULL, &test_resource, &test_scope, &o, &p), CTR_EINVAL);
    ASSERT(p == NULL);

    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_bsp_options bad = {0, 10, 10, 10};
    ASSERT_EQ(ctr_batch_processor_new(&t->base, &test_resource, &test_scope, &bad, &p), CTR_EINVAL);
    ASSERT_EQ(atomic_load(&w.destroyed), 1);

    /* Batch 8 over a queue of 4: batches are capped at 4. */
    t = texp_new(&w);
    p = new_bsp(t, 4, 60000, 1000, 8);
    for (uint64_t i = 0; i < 4; i++)
        p->ops->on_end(p, make_span(i));
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(5000)), 0);
    struct texp_view v = texp_view(t);
    ASSERT_EQ(v.calls, 1);
    ASSERT_EQ(v.sizes[0], 4);
    ASSERT(v.batch_ok && v.order_ok);
    /* The export deadline is now + export timeout. */
    ASSERT(v.last_deadline > v.first_call_ns + 900000000u);
    ASSERT(v.last_deadline <= v.first_call_ns + 1000000000u);
    p->ops->destroy(p);
    ASSERT(wait_atomic_at_least(&w.destroyed, 1, 2000));
}

/* No thread until the first span; the worker is joined at shutdown. */
static void test_lazy_worker(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    int base = count_threads();
    ASSERT(base > 0);
    struct ctr_processor *p = new_bsp(t, 16, 60000, 1000, 8);
    ASSERT_EQ(count_threads(), base);
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(1000)), 0); /* nothing queued */
    ASSERT_EQ(count_threads(), base);
    p->ops->on_end(p, make_span(0));
    ASSERT_EQ(count_threads(), base + 1);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    uint64_t t0 = now_ns();
    while (count_threads() != base && ms_since(t0) < 1000)
        sleep_ms(1);
    ASSERT_EQ(count_threads(), base);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_exported, 1);
    p->ops->destroy(p);
    ASSERT_EQ(atomic_load(&w.destroyed), 1);
}

/* 1000 spans with batch size 512 and a long delay: one batch of 512 when the
 * queue reaches it, then 488 on flush, in order. */
static void test_batch_by_size(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 2048, 60000, 30000, 512);
    for (uint64_t i = 0; i < 1000; i++)
        p->ops->on_end(p, make_span(i));
    uint64_t t0 = now_ns();
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(5000)), 0);
    fprintf(stderr, "  flush of 1000 spans: %.2f ms\n", ms_since(t0));
    struct texp_view v = texp_view(t);
    ASSERT_EQ(v.calls, 2);
    ASSERT_EQ(v.sizes[0], 512);
    ASSERT_EQ(v.sizes[1], 488);
    ASSERT(v.order_ok);
    ASSERT(v.batch_ok);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_ended, 1000);
    ASSERT_EQ(st.spans_exported, 1000);
    ASSERT_EQ(st.spans_dropped, 0);
    ASSERT_EQ(st.queue_len, 0);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
    p->ops->destroy(p);
}

/* Without a flush, the schedule delay exports what is queued. */
static void test_schedule_delay(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 2048, 200, 30000, 512);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < 3; i++)
        p->ops->on_end(p, make_span(i));
    sleep_ms(100);
    ASSERT_EQ(texp_view(t).calls, 0);
    ASSERT(wait_handled(p, 3, 3000));
    struct texp_view v = texp_view(t);
    double at = (double)(v.first_call_ns - t0) / 1e6;
    fprintf(stderr, "  delay 200 ms: exported after %.2f ms\n", at);
    ASSERT(at >= 199.0);
    ASSERT(at < 700.0);
    ASSERT_EQ(v.calls, 1);
    ASSERT_EQ(v.sizes[0], 3);

    /* The timer starts again for the next span. */
    uint64_t t1 = now_ns();
    p->ops->on_end(p, make_span(3));
    ASSERT(wait_handled(p, 4, 3000));
    double again = ms_since(t1);
    fprintf(stderr, "  second span exported after %.2f ms\n", again);
    ASSERT(again >= 199.0);
    ASSERT(texp_view(t).order_ok);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    p->ops->destroy(p);
}

/* Queue 100, exporter blocked on a first span, 150 more ended: exactly 50
 * dropped with one warning naming the queue size; after release the 100
 * queued spans are exported. */
static void test_queue_full(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    log_reset();
    struct ctr_processor *p = new_bsp(t, 100, 60000, 30000, 100);
    texp_set_block(t, true);
    p->ops->on_end(p, make_span(0));
    uint64_t t0 = now_ns();
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(50)), CTR_ETIMEOUT);
    double el = ms_since(t0);
    fprintf(stderr, "  flush against a blocked exporter, 50 ms deadline: %.2f ms\n", el);
    ASSERT(el >= 49.0 && el < 100.0);
    ASSERT(wait_atomic_at_least(&t->calls_started, 1, 2000));

    t0 = now_ns();
    for (uint64_t i = 1; i <= 150; i++)
        p->ops->on_end(p, make_span(i));
    double on_end_ms = ms_since(t0);
    fprintf(stderr, "  150 on_end with the exporter blocked: %.3f ms\n", on_end_ms);
    ASSERT(on_end_ms < 50.0);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_ended, 151);
    ASSERT_EQ(st.spans_dropped, 50);
    ASSERT_EQ(st.queue_len, 101); /* 100 queued + 1 being exported */
    ASSERT_EQ(st.spans_exported, 0);
    ASSERT(stats_consistent(&st));
    ASSERT_EQ(atomic_load(&log_queue_full_warnings), 1);
    pthread_mutex_lock(&log_mu);
    bool names_size = strstr(log_last_warning, "100") != NULL;
    pthread_mutex_unlock(&log_mu);
    ASSERT(names_size);

    texp_set_block(t, false);
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(5000)), 0);
    st = stats_of(p);
    ASSERT_EQ(st.spans_exported, 101);
    ASSERT_EQ(st.spans_dropped, 50);
    ASSERT_EQ(st.queue_len, 0);
    struct texp_view v = texp_view(t);
    ASSERT_EQ(v.calls, 2);
    ASSERT_EQ(v.sizes[0], 1);
    ASSERT_EQ(v.sizes[1], 100);
    ASSERT_EQ(atomic_load(&log_queue_full_warnings), 1);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    p->ops->destroy(p);
    ctr_log_set_sink(NULL, NULL);
}

/* force_flush honours its deadline against a slow exporter and returns 0
 * when the exporter keeps up. */
static void test_flush_deadline(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 2048, 60000, 30000, 512);
    texp_set_sleep(t, 300);
    for (uint64_t i = 0; i < 10; i++)
        p->ops->on_end(p, make_span(i));
    uint64_t t0 = now_ns();
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(100)), CTR_ETIMEOUT);
    double slow = ms_since(t0);
    fprintf(stderr, "  flush, exporter 300 ms, deadline 100 ms: CTR_ETIMEOUT after %.2f ms\n",
            slow);
    ASSERT(slow >= 99.0 && slow < 150.0);
    t0 = now_ns();
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(2000)), 0);
    double rest = ms_since(t0);
    fprintf(stderr, "  second flush, deadline 2 s: 0 after %.2f ms\n", rest);
    ASSERT(rest < 300.0);
    ASSERT_EQ(stats_of(p).spans_exported, 10);

    texp_set_sleep(t, 0);
    for (uint64_t i = 10; i < 20; i++)
        p->ops->on_end(p, make_span(i));
    t0 = now_ns();
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(100)), 0);
    double fast = ms_since(t0);
    fprintf(stderr, "  flush, fast exporter: 0 after %.3f ms\n", fast);
    ASSERT(fast < 100.0);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_exported, 20);
    ASSERT_EQ(st.queue_len, 0);
    ASSERT(texp_view(t).order_ok);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    p->ops->destroy(p);
}

/* Shutdown with the exporter blocked: returns CTR_ETIMEOUT by the deadline
 * (its last tenth kept for the spool; 50 ms of scheduling noise allowed),
 * drops and counts the queued spans, leaves the exporter
 * to the detached worker which shuts it down once its export returns. */
static void test_shutdown_blocked(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 100, 60000, 30000, 10);
    texp_set_block(t, true);
    for (uint64_t i = 0; i < 10; i++) /* a full batch wakes the worker */
        p->ops->on_end(p, make_span(i));
    ASSERT(wait_atomic_at_least(&t->calls_started, 1, 2000));
    for (uint64_t i = 10; i < 40; i++)
        p->ops->on_end(p, make_span(i));
    uint64_t t0 = now_ns();
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(200)), CTR_ETIMEOUT);
    double el = ms_since(t0);
    fprintf(stderr, "  shutdown, blocked exporter, deadline 200 ms: %.2f ms\n", el);
    ASSERT(el >= 175.0 && el < 250.0);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_ended, 40);
    ASSERT_EQ(st.spans_dropped, 0);
    ASSERT_EQ(st.spans_lost, 30); /* missed the deadline, no spool */
    ASSERT_EQ(st.queue_len, 10);  /* the batch still being exported */
    ASSERT(stats_consistent(&st));
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 0); /* not while exporting */

    texp_set_block(t, false);
    ASSERT(wait_handled(p, 10, 2000));
    ASSERT(wait_atomic_at_least(&w.shutdown_calls, 1, 2000));
    ASSERT(atomic_load(&w.final_at_shutdown));
    st = stats_of(p);
    ASSERT_EQ(st.spans_exported, 10);
    ASSERT_EQ(st.queue_len, 0);
    ASSERT(stats_consistent(&st));
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(100)), 0);
    p->ops->destroy(p);
    /* The worker may drop the last reference just after the handle. */
    ASSERT(wait_atomic_at_least(&w.destroyed, 1, 2000));
    ASSERT_EQ(atomic_load(&w.destroyed), 1);
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
}

/* An export that starts during shutdown gets the shutdown deadline less
 * its reserve (a tenth of the time left: 10 ms here; shorter than the
 * export timeout); the exporter honours it, so shutdown joins the worker
 * and shuts the exporter down itself, by the deadline. */
static void test_shutdown_deadline_to_export(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 100, 60000, 30000, 10);
    texp_set_block(t, true); /* blocks until its deadline */
    for (uint64_t i = 0; i < 5; i++)
        p->ops->on_end(p, make_span(i));
    uint64_t t0 = now_ns();
    uint64_t deadline = ctr_deadline_after_ms(100);
    ASSERT_EQ(p->ops->shutdown(p, deadline), 0);
    double el = ms_since(t0);
    fprintf(stderr, "  shutdown, exporter honouring a 100 ms deadline: %.2f ms\n", el);
    ASSERT(el >= 89.0 && el < 150.0);
    uint64_t given = texp_view(t).last_deadline;
    ASSERT(given < deadline && given >= deadline - 10000000u);
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_exported, 5);
    ASSERT_EQ(st.queue_len, 0);
    p->ops->destroy(p);
    ASSERT_EQ(atomic_load(&w.destroyed), 1);
}

/* destroy() while the worker is stuck in an export: destroy returns at once
 * and the worker, when released, shuts down and frees the exporter. */
static void test_destroy_detached(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 100, 60000, 30000, 5);
    texp_set_block(t, true);
    for (uint64_t i = 0; i < 5; i++)
        p->ops->on_end(p, make_span(i));
    ASSERT(wait_atomic_at_least(&t->calls_started, 1, 2000));
    for (uint64_t i = 5; i < 8; i++)
        p->ops->on_end(p, make_span(i));
    uint64_t t0 = now_ns();
    p->ops->destroy(p);
    double el = ms_since(t0);
    fprintf(stderr, "  destroy with a blocked export: %.3f ms\n", el);
    ASSERT(el < 50.0);
    ASSERT_EQ(atomic_load(&w.destroyed), 0);
    texp_set_block(t, false);
    ASSERT(wait_atomic_at_least(&w.destroyed, 1, 2000));
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
    ASSERT(atomic_load(&w.final_at_shutdown));
}

/* The configuration of test_detached_export_outlives_the_tracer. */
static const char *lifetime_env(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "OTEL_SERVICE_NAME") == 0 ? "lifetime-test" : NULL;
}

/* A batch points to the tracer's resource. Shutdown gives up on an export
 * that outlives its deadline and detaches the worker; the tracer is then
 * freed while that export still holds the batch, and reads the resource
 * when it is released (as a retry re-encoding it would). Intended: what a
 * batch points to lives as long as the export holding it (ASan reports the
 * read of freed memory otherwise). */
static void test_detached_export_outlives_the_tracer(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    t->read_resource = true;
    t->block = true;
    struct ctr_config cfg;
    ASSERT_EQ(ctr_config_from_env(&cfg, lifetime_env, NULL), 0);
    cfg.bsp.schedule_delay_ms = 1;
    struct ctr_tracer *tracer = NULL;
    int rc = ctr_tracer_new(&cfg, &t->base, true, &tracer);
    ctr_config_free(&cfg);
    ASSERT_EQ(rc, 0);
    pthread_mutex_lock(&t->mu);
    t->resource = &tracer->resource;
    t->scope = tracer->scope;
    pthread_mutex_unlock(&t->mu);

    struct ctr_span *s = ctr_tracer_start_span(tracer, "held", 4, NULL, CTR_KIND_INTERNAL, 0);
    ASSERT(s != NULL);
    ctr_span_end(s, 0);
    ASSERT(wait_atomic_at_least(&t->calls_started, 1, 2000));
    ASSERT_EQ(ctr_tracer_shutdown(tracer, ctr_deadline_after_ms(50)), CTR_ETIMEOUT);
    ctr_tracer_free(tracer); /* the worker is still inside texp_export */
    ASSERT_EQ(atomic_load(&w.resource_read), 0);

    texp_set_block(t, false); /* t lives until the worker destroys it */
    ASSERT(wait_atomic_at_least(&w.resource_read, 1, 2000));
    ASSERT(wait_atomic_at_least(&w.destroyed, 1, 2000));
    ASSERT(atomic_load(&w.service_name_ok));
}

/* Shutdown flushes, is idempotent, and spans ended after it are dropped. */
static void test_shutdown_idempotent(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = new_bsp(t, 2048, 60000, 30000, 512);
    for (uint64_t i = 0; i < 5; i++)
        p->ops->on_end(p, make_span(i));
    uint64_t t0 = now_ns();
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    fprintf(stderr, "  shutdown with 5 queued spans: %.3f ms\n", ms_since(t0));
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
    ASSERT(atomic_load(&w.final_at_shutdown));
    ASSERT(atomic_load(&t->base.final));
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    ASSERT_EQ(p->ops->shutdown(p, 0), 0);
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
    for (uint64_t i = 5; i < 8; i++)
        p->ops->on_end(p, make_span(i));
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(100)), 0);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_ended, 8);
    ASSERT_EQ(st.spans_exported, 5);
    ASSERT_EQ(st.spans_dropped, 3);
    ASSERT_EQ(st.queue_len, 0);
    ASSERT_EQ(texp_view(t).calls, 1);
    p->ops->destroy(p);
    ASSERT_EQ(atomic_load(&w.destroyed), 1);
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
}

/* Failed batches count as failed; partial success counts rejected spans. */
static void test_failed_and_rejected(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    t->fail_every = 2; /* calls 2 and 4 fail */
    t->reject_each = 1;
    struct ctr_processor *p = new_bsp(t, 100, 60000, 30000, 10);
    for (uint64_t i = 0; i < 40; i++)
        p->ops->on_end(p, make_span(i));
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(5000)), 0);
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(texp_view(t).calls, 4);
    ASSERT_EQ(st.spans_failed, 20);
    ASSERT_EQ(st.batches_failed, 2);
    ASSERT_EQ(st.spans_rejected, 2);
    ASSERT_EQ(st.spans_exported, 18);
    ASSERT(stats_consistent(&st));
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(2000)), 0);
    p->ops->destroy(p);
}

/* --- concurrency --------------------------------------------------------- */

struct hammer {
    struct ctr_processor *p;
    int n; /* spans to end, or -1: until stop */
    atomic_bool *stop;
    atomic_long ended;
};

static void *producer(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; h->n < 0 ? !atomic_load(h->stop) : i < h->n; i++) {
        h->p->ops->on_end(h->p, make_span(0));
        atomic_fetch_add(&h->ended, 1);
    }
    return NULL;
}

struct flusher {
    struct ctr_processor *p;
    atomic_bool *stop;
    atomic_int ok, timeouts, other;
};

static void *flusher_run(void *arg)
{
    struct flusher *f = arg;
    while (!atomic_load(f->stop)) {
        int rc = f->p->ops->force_flush(f->p, ctr_deadline_after_ms(1000));
        atomic_fetch_add(rc == 0 ? &f->ok : rc == CTR_ETIMEOUT ? &f->timeouts : &f->other, 1);
        sleep_ms(1);
    }
    return NULL;
}

/* 4 threads x 10,000 spans with two flushing threads and a stats reader:
 * every span is exported or dropped exactly once, stats are consistent in
 * every snapshot, the exporter is never called concurrently. With a queue
 * of `queue` spans; `all` says none may be dropped. */
static void run_concurrent(uint32_t queue, bool all)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    t->order_ok = true;
    struct ctr_processor *p = new_bsp(t, queue, 2, 30000, 512);
    atomic_bool stop = false;
    struct hammer h[4];
    struct flusher f[2];
    struct checker c = {.p = p, .stop = &stop};
    pthread_t th[4], tf[2], tc;
    uint64_t t0 = now_ns();
    for (int i = 0; i < 2; i++) {
        f[i] = (struct flusher){.p = p, .stop = &stop};
        pthread_create(&tf[i], NULL, flusher_run, &f[i]);
    }
    pthread_create(&tc, NULL, checker_run, &c);
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){.p = p, .n = 10000, .stop = &stop};
        pthread_create(&th[i], NULL, producer, &h[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    double produce = ms_since(t0);
    int flush_rc = p->ops->force_flush(p, ctr_deadline_after_ms(10000));
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(tf[i], NULL);
    pthread_join(tc, NULL);
    ASSERT_EQ(flush_rc, 0);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(10000)), 0);
    struct ctr_processor_stats st = stats_of(p);
    struct texp_view v = texp_view(t);
    fprintf(stderr,
            "  queue %u, 40000 spans from 4 threads in %.1f ms: exported %" PRIu64
            ", dropped %" PRIu64
            ", %d batches (max %zu), flushes ok %d / timeout %d, %d stats snapshots\n",
            (unsigned)queue, produce, st.spans_exported, st.spans_dropped, v.calls, v.max_size,
            atomic_load(&f[0].ok) + atomic_load(&f[1].ok),
            atomic_load(&f[0].timeouts) + atomic_load(&f[1].timeouts), atomic_load(&c.snapshots));
    ASSERT_EQ(st.spans_ended, 40000);
    ASSERT_EQ(st.spans_exported + st.spans_dropped, 40000);
    if (all)
        ASSERT_EQ(st.spans_exported, 40000);
    ASSERT_EQ(st.spans_failed, 0);
    ASSERT_EQ(st.queue_len, 0);
    ASSERT_EQ(v.spans, st.spans_exported);
    ASSERT(v.max_size <= 512);
    ASSERT(v.batch_ok);
    ASSERT_EQ(atomic_load(&t->overlap), 0);
    ASSERT_EQ(atomic_load(&c.bad), 0);
    ASSERT(atomic_load(&c.snapshots) > 0);
    ASSERT_EQ(atomic_load(&f[0].other) + atomic_load(&f[1].other), 0);
    p->ops->destroy(p);
    ASSERT_EQ(atomic_load(&w.destroyed), 1);
}

static void test_concurrent(void)
{
    run_concurrent(2048, false);
}

/* The same with room for every span: all 40,000 are exported. */
static void test_concurrent_no_drop(void)
{
    run_concurrent(65536, true);
}

/* What the forked child checks; returns 0 or the number of the failed step. */
static int fork_child(struct ctr_processor *p, struct texp *t)
{
#ifdef CTR_TEST_TSAN
    /* ThreadSanitizer still counts the parent's other threads as running in
     * the child, and glibc reuses their cached stacks (hence their pthread_t)
     * for new threads: "dup thread with used id". A default stack larger
     * than any cached one makes the child's worker get a fresh one. Test
     * only; nothing to do with the library. */
    pthread_attr_t big;
    pthread_attr_init(&big);
    pthread_attr_setstacksize(&big, (size_t)64 << 20);
    pthread_setattr_default_np(&big);
    pthread_attr_destroy(&big);
#endif
    struct ctr_processor_stats st = stats_of(p);
    if (st.spans_ended || st.spans_exported || st.spans_dropped || st.queue_len)
        return 10;
    if (t->after_fork_calls != 1)
        return 11;
    p->ops->on_end(p, make_span(0));
    int rc = p->ops->force_flush(p, ctr_deadline_after_ms(3000));
    if (rc != 0)
        return 12;
    struct texp_view v = texp_view(t);
    if (v.calls != 1 || v.sizes[0] != 1 || v.spans != 1)
        return 13;
    st = stats_of(p);
    if (st.spans_ended != 1 || st.spans_exported != 1)
        return 14;
    if (p->ops->shutdown(p, ctr_deadline_after_ms(2000)) != 0)
        return 15;
    if (atomic_load(&t->w->shutdown_calls) != 1)
        return 16;
    return 0;
}

/* Fork while one thread hammers on_end and another flushes against a slowish
 * exporter: each child resets, exports its own span by the deadline and exits
 * 0; the parent's counts still add up. */
static void test_fork(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    texp_set_sleep(t, 2);
    struct ctr_processor *p = new_bsp(t, 256, 1, 30000, 64);
    atomic_bool stop = false;
    struct hammer h = {.p = p, .n = -1, .stop = &stop};
    struct flusher f = {.p = p, .stop = &stop};
    pthread_t th, tf;
    pthread_create(&th, NULL, producer, &h);
    pthread_create(&tf, NULL, flusher_run, &f);
    int forks = 0, failures = 0;
    double worst = 0;
    for (int i = 0; i < 12; i++) {
        sleep_ms(7);
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0)
            _exit(fork_child(p, t));
        if (pid < 0) {
            failures++;
            break;
        }
        forks++;
        int status = 0;
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && ms_since(t0) < 15000)
            sleep_ms(1);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "  child %d hung\n", i);
            failures++;
            continue;
        }
        double el = ms_since(t0);
        if (el > worst)
            worst = el;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "  child %d: status %d (exit %d)\n", i, status,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            failures++;
        }
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    pthread_join(tf, NULL);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(10000)), 0);
    struct ctr_processor_stats st = stats_of(p);
    fprintf(stderr,
            "  %d forks, slowest child round trip %.1f ms; parent ended %" PRIu64
            ", exported %" PRIu64 ", dropped %" PRIu64 "\n",
            forks, worst, st.spans_ended, st.spans_exported, st.spans_dropped);
    ASSERT_EQ(failures, 0);
    ASSERT_EQ(forks, 12);
    ASSERT_EQ(st.spans_ended, (uint64_t)atomic_load(&h.ended));
    ASSERT_EQ(st.spans_exported + st.spans_dropped, st.spans_ended);
    ASSERT_EQ(texp_view(t).spans, st.spans_exported);
    ASSERT_EQ(atomic_load(&t->overlap), 0);
    p->ops->destroy(p);
}

/* The simple processor exports each span in on_end, as a batch of one. */
static void test_simple(void)
{
    struct watch w;
    struct texp *t = texp_new(&w);
    struct ctr_processor *p = NULL;
    ASSERT_EQ(ctr_simple_processor_new(&t->base, &test_resource, &test_scope, &p), 0);
    for (uint64_t i = 0; i < 3; i++) {
        p->ops->on_end(p, make_span(i));
        ASSERT_EQ(texp_view(t).calls, (int)i + 1);
    }
    struct texp_view v = texp_view(t);
    ASSERT_EQ(v.sizes[0], 1);
    ASSERT(v.order_ok && v.batch_ok);
    uint64_t left = v.last_deadline - now_ns();
    ASSERT(left > 29000000000u && left <= 30000000000u);
    ASSERT_EQ(p->ops->force_flush(p, ctr_deadline_after_ms(10)), 0);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(1000)), 0);
    ASSERT_EQ(p->ops->shutdown(p, ctr_deadline_after_ms(1000)), 0);
    ASSERT_EQ(atomic_load(&w.shutdown_calls), 1);
    ASSERT(atomic_load(&w.final_at_shutdown));
    p->ops->on_end(p, make_span(3));
    struct ctr_processor_stats st = stats_of(p);
    ASSERT_EQ(st.spans_ended, 4);
    ASSERT_EQ(st.spans_exported, 3);
    ASSERT_EQ(st.spans_dropped, 1);
    ASSERT(stats_consistent(&st));
    p->ops->destroy(p);
    ASSERT_EQ(atomic_load(&w.destroyed), 1);
    ASSERT_EQ(ctr_simple_processor_new(NULL, &test_resource, &test_scope, &p), CTR_EINVAL);
}

TEST_MAIN(TEST_CASE(test_options), TEST_CASE(test_lazy_worker), TEST_CASE(test_batch_by_size),
          TEST_CASE(test_schedule_delay), TEST_CASE(test_queue_full),
          TEST_CASE(test_flush_deadline), TEST_CASE(test_shutdown_blocked),
          TEST_CASE(test_shutdown_deadline_to_export), TEST_CASE(test_destroy_detached),
          TEST_CASE(test_shutdown_idempotent), TEST_CASE(test_failed_and_rejected),
          TEST_CASE(test_concurrent), TEST_CASE(test_concurrent_no_drop), TEST_CASE(test_fork),
          TEST_CASE(test_simple),
          /* Last: on today's code ASan aborts the binary in it. */
          TEST_CASE(test_detached_export_outlives_the_tracer))
