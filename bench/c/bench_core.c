/*
 * bench_core: micro-benchmarks of the chaostracing C core, the counterpart of
 * bench/go/main.go (same span names, same ten attributes, same batch sizes).
 *
 *   bench_core span    [reps] [n] [only] span start+end: sampled (batch processor,
 *                                         discarding exporter), +10 attributes,
 *                                         unsampled (always_off), SDK disabled;
 *                                         `only` picks one of sampled, attrs,
 *                                         noproc, unsampled, disabled (profiling)
 *   bench_core enqueue THREADS [reps] [n] start+end into the batch processor from
 *                                         THREADS threads
 *   bench_core encode  [reps] [iters]     OTLP protobuf encoding of 512 spans
 *   bench_core memory  [n] [reps]         RSS per queued span, exporter blocked
 *   bench_core export  URL|- [n]          spans/s and CPU through the OTLP/HTTP
 *                                         exporter ("-": no exporter, the baseline)
 *
 * Each measurement is printed as one JSON line {"impl","metric","unit",
 * "samples",...}; bench/py/report.py computes medians and spreads. Built by
 * bench/run.sh against build/release/libchaostracing.a with the Makefile's
 * release flags.
 */
#include <chaostracing/chaostracing.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SPAN_NAME "action-python-answer"
#define BATCH 512

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Resident set size in bytes, from /proc/self/statm; 0 when unreadable. */
static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* User + system CPU seconds of the whole process. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Print one measurement as a JSON line; `extra` is appended verbatim (may be
 * empty, else starts with a comma). */
static void emit(const char *metric, const char *unit, const double *samples, int n,
                 const char *extra)
{
    printf("{\"impl\": \"c\", \"metric\": \"%s\", \"unit\": \"%s\", \"samples\": [", metric, unit);
    for (int i = 0; i < n; i++)
        printf("%s%.6g", i ? ", " : "", samples[i]);
    printf("]%s}\n", extra ? extra : "");
    fflush(stdout);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, ctr_strerror(rc));
    exit(1);
}

/* The environment is ignored: every setting is explicit below. */
static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

/* Ten attributes like an activity span's, the same as bench/go/main.go. */
static void set_activity_attrs(struct ctr_span *s)
{
    ctr_span_set_str(s, "chaostoolkit.activity.name", "action-python-answer", 20);
    ctr_span_set_str(s, "chaostoolkit.activity.type", "action", 6);
    ctr_span_set_str(s, "chaostoolkit.activity.provider.type", "python", 6);
    ctr_span_set_str(s, "chaostoolkit.activity.provider.module", "bench_actions", 13);
    ctr_span_set_str(s, "chaostoolkit.activity.provider.func", "answer", 6);
    ctr_span_set_str(s, "chaostoolkit.activity.status", "succeeded", 9);
    ctr_span_set_str(s, "chaostoolkit.activity.output", "{\"answer\": 42}", 14);
    ctr_span_set_bool(s, "chaostoolkit.activity.background", false);
    ctr_span_set_int(s, "chaostoolkit.activity.timeout", 30);
    ctr_span_set_double(s, "chaostoolkit.activity.duration", 0.0123);
}

/* ------------------------------------------------------------------------ */
/* Exporters for the benchmarks                                             */
/* ------------------------------------------------------------------------ */

/* Accepts every batch at once (the spans are then freed by the processor);
 * or, when `blocked`, waits until released. */
struct bench_exporter {
    struct ctr_exporter base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool blocked;
};

static int bench_export(struct ctr_exporter *e, const struct ctr_batch *batch, uint64_t deadline_ns)
{
    struct bench_exporter *b = (struct bench_exporter *)e;
    (void)deadline_ns;
    pthread_mutex_lock(&b->mu);
    while (b->blocked)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    atomic_fetch_add(&e->stats.spans_exported, batch->len);
    return 0;
}

static void bench_destroy(struct ctr_exporter *e)
{
    struct bench_exporter *b = (struct bench_exporter *)e;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

static const struct ctr_exporter_ops bench_ops = {
    .name = "bench",
    .export_batch = bench_export,
    .destroy = bench_destroy,
};

static struct bench_exporter *bench_exporter_new(bool blocked)
{
    struct bench_exporter *b = calloc(1, sizeof *b);
    if (!b)
        die("calloc", CTR_ENOMEM);
    ctr_exporter_init(&b->base, &bench_ops);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->blocked = blocked;
    snprintf(b->base.destination, sizeof b->base.destination, "bench");
    return b;
}

static void bench_exporter_release(struct bench_exporter *b)
{
    pthread_mutex_lock(&b->mu);
    b->blocked = false;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* A tracer from the default configuration (environment ignored) with the
 * given sampler/disabled switches, queue size and exporter (owned). */
static struct ctr_tracer *make_tracer(ctr_sampler_kind sampler, bool disabled, uint32_t queue,
                                      uint32_t delay_ms, struct ctr_exporter *exporter)
{
    struct ctr_config cfg;
    int rc = ctr_config_from_env(&cfg, no_env, NULL);
    if (rc)
        die("config", rc);
    cfg.sampler = sampler;
    cfg.sdk_disabled = disabled;
    cfg.bsp.max_queue_size = queue;
    cfg.bsp.max_export_batch_size = BATCH;
    if (delay_ms)
        cfg.bsp.schedule_delay_ms = delay_ms;
    struct ctr_tracer *t = NULL;
    rc = ctr_tracer_new(&cfg, exporter, true, &t);
    ctr_config_free(&cfg);
    if (rc)
        die("tracer", rc);
    return t;
}

/* ------------------------------------------------------------------------ */
/* span                                                                     */
/* ------------------------------------------------------------------------ */

/* ns per start+end, `reps` repetitions of `n` spans (after a warm-up). */
static void time_spans(struct ctr_tracer *t, const struct ctr_span_context *parent, int reps, int n,
                       bool attrs, double *out)
{
    for (int r = -1; r < reps; r++) {
        int k = r < 0 ? n / 10 + 1 : n;
        uint64_t t0 = now_ns();
        for (int i = 0; i < k; i++) {
            struct ctr_span *s = ctr_tracer_start_span(t, SPAN_NAME, sizeof SPAN_NAME - 1, parent,
                                                       CTR_KIND_INTERNAL, 0);
            if (attrs)
                set_activity_attrs(s);
            ctr_span_end(s, 0);
        }
        if (r >= 0)
            out[r] = (double)(now_ns() - t0) / k;
    }
}

/* True when variant `v` is to run: all of them, or only the one named. */
static bool want(const char *only, const char *v)
{
    return !only || !strcmp(only, v);
}

static void cmd_span(int reps, int n, const char *only)
{
    double *s = calloc((size_t)reps, sizeof *s);
    char extra[128];
    struct ctr_processor_stats st;

    if (want(only, "sampled") || want(only, "attrs")) {
        struct bench_exporter *ex = bench_exporter_new(false);
        struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_ON, false, 65536, 0, &ex->base);
        struct ctr_span *root = ctr_tracer_start_span(t, "parent", 6, NULL, CTR_KIND_INTERNAL, 0);
        if (want(only, "sampled")) {
            time_spans(t, &root->ctx, reps, n, false, s);
            ctr_tracer_stats(t, &st);
            snprintf(extra, sizeof extra, ", \"dropped\": %llu",
                     (unsigned long long)st.spans_dropped);
            emit("span_sampled", "ns/span", s, reps, extra);
        }
        if (want(only, "attrs")) {
            time_spans(t, &root->ctx, reps, n / 4, true, s);
            ctr_tracer_stats(t, &st);
            snprintf(extra, sizeof extra, ", \"dropped\": %llu",
                     (unsigned long long)st.spans_dropped);
            emit("span_sampled_attrs10", "ns/span", s, reps, extra);
        }
        ctr_span_end(root, 0);
        ctr_tracer_shutdown(t, ctr_deadline_after_ms(5000));
        ctr_tracer_free(t);
    }

    /* Diagnostic: sampled, but a tracer without processor, so the span is
     * freed at end on this thread: what the span costs without the hand-off
     * to the export thread. */
    if (want(only, "noproc")) {
        struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_ON, false, 2048, 0, NULL);
        struct ctr_span *root = ctr_tracer_start_span(t, "parent", 6, NULL, CTR_KIND_INTERNAL, 0);
        time_spans(t, &root->ctx, reps, n, false, s);
        emit("span_sampled_noproc", "ns/span", s, reps, NULL);
        ctr_span_end(root, 0);
        ctr_tracer_free(t);
    }

    /* A sampled remote parent, so that only the sampler decides below. */
    struct ctr_span_context pctx = {.trace_flags = CTR_TRACE_FLAG_SAMPLED};
    ctr_new_trace_id(pctx.trace_id);
    ctr_new_span_id(pctx.span_id);

    /* Unsampled: OTEL_TRACES_SAMPLER=always_off. */
    if (want(only, "unsampled")) {
        struct bench_exporter *ex = bench_exporter_new(false);
        struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_OFF, false, 2048, 0, &ex->base);
        time_spans(t, &pctx, reps, n, false, s);
        emit("span_unsampled", "ns/span", s, reps, NULL);
        ctr_tracer_free(t);
    }

    /* OTEL_SDK_DISABLED=true: the tracer has no processor, spans record
     * nothing. */
    if (want(only, "disabled")) {
        struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_ON, true, 2048, 0, NULL);
        time_spans(t, &pctx, reps, n, false, s);
        emit("span_disabled", "ns/span", s, reps, NULL);
        ctr_tracer_free(t);
    }
    free(s);
}

/* ------------------------------------------------------------------------ */
/* enqueue                                                                  */
/* ------------------------------------------------------------------------ */

struct enq_arg {
    struct ctr_tracer *t;
    const struct ctr_span_context *parent;
    int n;
    pthread_barrier_t *go;
};

static void *enq_thread(void *p)
{
    struct enq_arg *a = p;
    pthread_barrier_wait(a->go);
    for (int i = 0; i < a->n; i++)
        ctr_span_end(ctr_tracer_start_span(a->t, SPAN_NAME, sizeof SPAN_NAME - 1, a->parent,
                                           CTR_KIND_INTERNAL, 0),
                     0);
    return NULL;
}

static void cmd_enqueue(int threads, int reps, int n)
{
    struct bench_exporter *ex = bench_exporter_new(false);
    struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_ON, false, 1u << 20, 0, &ex->base);
    struct ctr_span *root = ctr_tracer_start_span(t, "parent", 6, NULL, CTR_KIND_INTERNAL, 0);
    double *per = calloc((size_t)reps, sizeof *per), *rate = calloc((size_t)reps, sizeof *rate);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    for (int r = -1; r < reps; r++) { /* -1: warm-up */
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
        struct enq_arg a = {t, &root->ctx, n, &go};
        for (int i = 0; i < threads; i++)
            pthread_create(&th[i], NULL, enq_thread, &a);
        pthread_barrier_wait(&go);
        uint64_t t0 = now_ns();
        for (int i = 0; i < threads; i++)
            pthread_join(th[i], NULL);
        double el = (double)(now_ns() - t0);
        pthread_barrier_destroy(&go);
        if (r >= 0) {
            per[r] = el / n;
            rate[r] = (double)threads * n / el * 1e3; /* Mspans/s */
        }
        /* Every repetition starts from an empty queue. */
        ctr_tracer_force_flush(t, ctr_deadline_after_ms(10000));
    }
    ctr_span_end(root, 0);
    ctr_tracer_shutdown(t, ctr_deadline_after_ms(10000));
    struct ctr_processor_stats st;
    ctr_tracer_stats(t, &st);
    char metric[64], extra[96];
    snprintf(extra, sizeof extra, ", \"dropped\": %llu", (unsigned long long)st.spans_dropped);
    snprintf(metric, sizeof metric, "enqueue_%dt_ns", threads);
    emit(metric, "ns/span/thread", per, reps, extra);
    snprintf(metric, sizeof metric, "enqueue_%dt_rate", threads);
    emit(metric, "Mspans/s", rate, reps, extra);
    ctr_tracer_free(t);
    free(per);
    free(rate);
    free(th);
}

/* ------------------------------------------------------------------------ */
/* encode                                                                   */
/* ------------------------------------------------------------------------ */

static void cmd_encode(int reps, int iters)
{
    struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_ON, false, 2048, 0, NULL);
    struct ctr_span *root = ctr_tracer_start_span(t, "parent", 6, NULL, CTR_KIND_INTERNAL, 0);
    struct ctr_span *spans[BATCH];
    for (int i = 0; i < BATCH; i++) {
        spans[i] = ctr_tracer_start_span(t, SPAN_NAME, sizeof SPAN_NAME - 1, &root->ctx,
                                         CTR_KIND_INTERNAL, 0);
        set_activity_attrs(spans[i]);
        /* Ended by hand: ctr_span_end() would hand them to a processor. */
        spans[i]->end_ns = ctr_now_ns();
        spans[i]->ended = true;
    }
    struct ctr_batch batch = {&t->resource, t->scope, spans, BATCH};
    struct ctr_buf buf = {0};
    double *s = calloc((size_t)reps, sizeof *s);
    size_t bytes = 0;
    for (int r = -1; r < reps; r++) {
        int k = r < 0 ? iters / 10 + 1 : iters;
        uint64_t t0 = now_ns();
        for (int i = 0; i < k; i++) {
            ctr_buf_reset(&buf);
            int rc = ctr_otlp_proto_encode(&batch, &buf);
            if (rc)
                die("encode", rc);
        }
        if (r >= 0)
            s[r] = (double)(now_ns() - t0) / k / BATCH;
        bytes = buf.len;
    }
    char extra[64];
    snprintf(extra, sizeof extra, ", \"batch\": %d", BATCH);
    emit("encode_ns", "ns/span", s, reps, extra);
    double per = (double)bytes / BATCH;
    emit("encode_bytes", "bytes/span", &per, 1, extra);
    ctr_buf_free(&buf);
    for (int i = 0; i < BATCH; i++)
        ctr_span_free(spans[i]);
    ctr_span_free(root);
    ctr_tracer_free(t);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* memory                                                                   */
/* ------------------------------------------------------------------------ */

static void cmd_memory(int n, int reps)
{
    double *s = calloc((size_t)reps, sizeof *s);
    for (int r = 0; r < reps; r++) {
        struct bench_exporter *ex = bench_exporter_new(true);
        struct ctr_tracer *t =
            make_tracer(CTR_SAMPLER_ALWAYS_ON, false, (uint32_t)n + 1024, 3600000, &ex->base);
        struct ctr_span *root = ctr_tracer_start_span(t, "parent", 6, NULL, CTR_KIND_INTERNAL, 0);
        /* One full batch first: the worker starts and parks in the blocked
         * export, so its stack and the in-flight batch are not counted. */
        for (int i = 0; i < BATCH; i++) {
            struct ctr_span *sp = ctr_tracer_start_span(t, SPAN_NAME, sizeof SPAN_NAME - 1,
                                                        &root->ctx, CTR_KIND_INTERNAL, 0);
            set_activity_attrs(sp);
            ctr_span_end(sp, 0);
        }
        struct timespec pause = {0, 50000000};
        nanosleep(&pause, NULL);
        double r0 = rss_bytes();
        for (int i = 0; i < n; i++) {
            struct ctr_span *sp = ctr_tracer_start_span(t, SPAN_NAME, sizeof SPAN_NAME - 1,
                                                        &root->ctx, CTR_KIND_INTERNAL, 0);
            set_activity_attrs(sp);
            ctr_span_end(sp, 0);
        }
        double r1 = rss_bytes();
        struct ctr_processor_stats st;
        ctr_tracer_stats(t, &st);
        if (st.spans_dropped)
            fprintf(stderr, "bench_core memory: %llu spans dropped\n",
                    (unsigned long long)st.spans_dropped);
        s[r] = (r1 - r0) / n;
        bench_exporter_release(ex);
        ctr_span_end(root, 0);
        ctr_tracer_shutdown(t, ctr_deadline_after_ms(10000));
        ctr_tracer_free(t);
    }
    char extra[64];
    snprintf(extra, sizeof extra, ", \"n\": %d", n);
    emit("queued_span_rss", "bytes/span", s, reps, extra);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* export                                                                   */
/* ------------------------------------------------------------------------ */

/* Make `n` spans with ten attributes each, as fast as the queue allows: the
 * producer naps while the queue is three-quarters full, so no span is dropped
 * and the figure is the exporter's sustained rate. URL "-" is the baseline:
 * the same spans with no exporter (freed at end). */
static void cmd_export(const char *url, int n)
{
    struct ctr_exporter *e = NULL;
    bool baseline = strcmp(url, "-") == 0;
    if (!baseline) {
        char err[256] = "";
        struct ctr_otlp_http_options opt = {.url = url, .timeout_ms = 10000};
        int rc = ctr_otlp_http_exporter_new(&opt, &e, err, sizeof err);
        if (rc) {
            fprintf(stderr, "bench_core: exporter: %s\n", err);
            exit(1);
        }
    }
    const uint32_t queue = 2048;
    struct ctr_tracer *t = make_tracer(CTR_SAMPLER_ALWAYS_ON, false, queue, 0, e);
    struct ctr_span *root = ctr_tracer_start_span(t, "parent", 6, NULL, CTR_KIND_INTERNAL, 0);
    double c0 = cpu_seconds();
    uint64_t t0 = now_ns();
    uint64_t naps = 0;
    for (int i = 0; i < n; i++) {
        if (!baseline && (i & 63) == 0) {
            struct ctr_processor_stats st;
            for (;;) {
                ctr_tracer_stats(t, &st);
                if (st.queue_len < queue * 3 / 4)
                    break;
                struct timespec nap = {0, 100000};
                nanosleep(&nap, NULL);
                naps++;
            }
        }
        struct ctr_span *sp = ctr_tracer_start_span(t, SPAN_NAME, sizeof SPAN_NAME - 1, &root->ctx,
                                                    CTR_KIND_INTERNAL, 0);
        set_activity_attrs(sp);
        ctr_span_end(sp, 0);
    }
    ctr_span_end(root, 0);
    ctr_tracer_shutdown(t, ctr_deadline_after_ms(30000));
    double wall = (double)(now_ns() - t0) / 1e9;
    double cpu = cpu_seconds() - c0;
    struct ctr_processor_stats st;
    ctr_tracer_stats(t, &st);
    printf("{\"impl\": \"c\", \"metric\": \"export\", \"n\": %d, \"wall_s\": %.6f, \"cpu_s\": "
           "%.6f, \"exported\": %lld, \"dropped\": %llu, \"failed\": %llu, \"naps\": %llu, "
           "\"baseline\": %s}\n",
           n, wall, cpu, baseline ? -1LL : (long long)st.spans_exported,
           (unsigned long long)st.spans_dropped, (unsigned long long)st.spans_failed,
           (unsigned long long)naps, baseline ? "true" : "false");
    ctr_tracer_free(t);
}

/* ------------------------------------------------------------------------ */

static int arg_int(int argc, char **argv, int i, int def)
{
    return argc > i ? atoi(argv[i]) : def;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_core span|enqueue|encode|memory|export ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "span"))
        cmd_span(arg_int(argc, argv, 2, 7), arg_int(argc, argv, 3, 1000000),
                 argc > 4 ? argv[4] : NULL);
    else if (!strcmp(cmd, "enqueue"))
        cmd_enqueue(arg_int(argc, argv, 2, 1), arg_int(argc, argv, 3, 7),
                    arg_int(argc, argv, 4, 200000));
    else if (!strcmp(cmd, "encode"))
        cmd_encode(arg_int(argc, argv, 2, 7), arg_int(argc, argv, 3, 200));
    else if (!strcmp(cmd, "memory"))
        cmd_memory(arg_int(argc, argv, 2, 20000), arg_int(argc, argv, 3, 5));
    else if (!strcmp(cmd, "export") && argc > 2)
        cmd_export(argv[2], arg_int(argc, argv, 3, 200000));
    else {
        fprintf(stderr, "bench_core: unknown command %s\n", cmd);
        return 2;
    }
    return 0;
}
