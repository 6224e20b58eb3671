/*
 * Test helper (header-only) for the processor tests (test_batch.c,
 * test_spool.c): a test double of the exporter interface (not of a real
 * backend) that records what it receives, can sleep, block or fail per
 * call, and checks that it is never called concurrently; spans that carry
 * their sequence number; batch processors over it; stats checks. Every wait
 * is bounded.
 */
#ifndef CTR_TEST_TEXP_H
#define CTR_TEST_TEXP_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <chaostracing/processor.h>
#include <chaostracing/tracer.h>

/* The fork tests start a worker thread in the child of a multi-threaded
 * process, which ThreadSanitizer refuses by default. */
#if defined(__SANITIZE_THREAD__)
#define CTR_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CTR_TEST_TSAN 1
#endif
#endif
#ifdef CTR_TEST_TSAN
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}
#endif

/* --- time helpers ------------------------------------------------------ */

static inline uint64_t now_ns(void)
{
    return ctr_monotonic_ns();
}

static inline double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* --- the test exporter ------------------------------------------------- */

/* Outlives the exporter, so a test can see that a detached worker shut the
 * exporter down and destroyed it. */
struct watch {
    atomic_int destroyed;
    atomic_int shutdown_calls;
    atomic_bool final_at_shutdown;
    /* With texp.read_resource: the export, once unblocked, found
     * service.name=lifetime-test in the batch's resource. */
    atomic_int resource_read, service_name_ok;
};

#define SIZES_KEPT 64

struct texp {
    struct ctr_exporter base;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; signalled by release */
    /* Behaviour, guarded by mu. */
    unsigned sleep_ms;
    bool block;         /* wait until released (or the export deadline) */
    int block_from;     /* calls from this number on block too (0: none) */
    int fail_every;     /* fail every Nth call, 0 = never */
    uint64_t fail_mask; /* bit N-1 set: call N fails */
    int fail_rc;        /* what a failing call returns (0: CTR_EIO) */
    int reject_each;    /* partial success: spans rejected per delivered batch */
    /* Observations, guarded by mu unless atomic. */
    atomic_int active, overlap, calls_started;
    int calls;
    size_t sizes[SIZES_KEPT];
    uint64_t call_ns[SIZES_KEPT]; /* when each call began */
    size_t max_size;
    uint64_t spans, spans_ok;
    uint64_t first_call_ns, last_deadline;
    uint64_t next_seq; /* for order checks in single-producer tests */
    bool order_ok, batch_ok;
    uint64_t *seqs; /* every span received, by sequence number (see make_span) */
    size_t n_seqs, cap_seqs;
    bool ids_ok; /* every span carried the ids make_span gives its number */
    const struct ctr_resource *resource;
    const struct ctr_scope *scope;
    int after_fork_calls;
    bool read_resource; /* read batch->resource after blocking, as a retry would */
    struct watch *w;
};

static inline void texp_sync_init(struct texp *t)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_init(&t->mu, NULL);
}

/* The ids make_span gives span number `seq`: the span id is seq + 1 (big
 * endian), the trace id 0x7e... followed by the same 8 bytes. */
static inline void seq_ids(uint64_t seq, uint8_t trace_id[CTR_TRACE_ID_LEN],
                           uint8_t span_id[CTR_SPAN_ID_LEN])
{
    for (int i = 0; i < 8; i++) {
        span_id[i] = (uint8_t)((seq + 1) >> (56 - 8 * i));
        trace_id[i] = 0x7e;
        trace_id[8 + i] = span_id[i];
    }
}

/* The sequence number of a span made by make_span; false for other ids. */
static inline bool seq_of(const struct ctr_span *s, uint64_t *seq)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | s->ctx.span_id[i];
    uint8_t tid[CTR_TRACE_ID_LEN], sid[CTR_SPAN_ID_LEN];
    if (v == 0)
        return false;
    seq_ids(v - 1, tid, sid);
    *seq = v - 1;
    return memcmp(tid, s->ctx.trace_id, sizeof tid) == 0;
}

/* Remember span number `seq` as received; the caller holds t->mu. */
static inline void texp_record(struct texp *t, uint64_t seq)
{
    if (t->n_seqs == t->cap_seqs) {
        size_t nc = t->cap_seqs ? t->cap_seqs * 2 : 256;
        uint64_t *nv = realloc(t->seqs, nc * sizeof *nv);
        if (!nv)
            abort();
        t->seqs = nv;
        t->cap_seqs = nc;
    }
    t->seqs[t->n_seqs++] = seq;
}

static inline bool same_str(struct ctr_str a, struct ctr_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int texp_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                              uint64_t deadline_ns)
{
    struct texp *t = (struct texp *)e;
    if (atomic_fetch_add(&t->active, 1) != 0)
        atomic_fetch_add(&t->overlap, 1);
    atomic_fetch_add(&t->calls_started, 1);
    pthread_mutex_lock(&t->mu);
    int call = ++t->calls;
    if (call == 1)
        t->first_call_ns = now_ns();
    t->last_deadline = deadline_ns;
    if (call <= SIZES_KEPT) {
        t->sizes[call - 1] = batch->len;
        t->call_ns[call - 1] = now_ns();
    }
    if (batch->len > t->max_size)
        t->max_size = batch->len;
    /* The processor exports with its own copy of the resource; the scope is
     * the library's (or, from the spool, a decoded copy of it). */
    const struct ctr_attr *marker =
        batch->resource ? ctr_attr_list_get(&batch->resource->attrs, "test.marker", 11) : NULL;
    if (batch->len == 0 || batch->resource == t->resource || !marker ||
        marker->value.type != CTR_VALUE_INT || marker->value.u.i != 42 || !batch->scope ||
        !same_str(batch->scope->name, t->scope->name) ||
        !same_str(batch->scope->version, t->scope->version))
        t->batch_ok = false;
    for (size_t i = 0; i < batch->len; i++) {
        const struct ctr_span *s = batch->spans[i];
        uint64_t seq = 0;
        if (!s || !s->ended || !s->recording)
            t->batch_ok = false;
        else if (s->start_ns != t->next_seq++)
            t->order_ok = false;
        if (s && seq_of(s, &seq) && seq == s->start_ns)
            texp_record(t, seq);
        else
            t->ids_ok = false;
    }
    t->spans += batch->len;
    if (t->sleep_ms) {
        uint64_t until = now_ns() + (uint64_t)t->sleep_ms * 1000000u;
        if (until > deadline_ns)
            until = deadline_ns;
        struct timespec ts = {(time_t)(until / 1000000000u), (long)(until % 1000000000u)};
        while (now_ns() < until)
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    struct timespec dl = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    while ((t->block || (t->block_from && call >= t->block_from)) && now_ns() < deadline_ns)
        pthread_cond_timedwait(&t->cv, &t->mu, &dl);
    if (t->read_resource) {
        const struct ctr_attr_list *ra = &batch->resource->attrs;
        for (size_t i = 0; i < ra->len; i++) {
            const struct ctr_attr *a = &ra->items[i];
            if (a->key.len == 12 && memcmp(a->key.ptr, "service.name", 12) == 0 &&
                a->value.type == CTR_VALUE_STRING && a->value.u.s.len == 13 &&
                memcmp(a->value.u.s.ptr, "lifetime-test", 13) == 0)
                atomic_store(&t->w->service_name_ok, 1);
        }
        atomic_store(&t->w->resource_read, 1);
    }
    bool fail = (t->fail_every && call % t->fail_every == 0) ||
                (call <= 64 && (t->fail_mask >> (call - 1) & 1));
    int reject = fail ? 0 : t->reject_each;
    int rc = fail ? (t->fail_rc ? t->fail_rc : CTR_EIO) : 0;
    if (!fail)
        t->spans_ok += batch->len;
    pthread_mutex_unlock(&t->mu);
    if (reject)
        atomic_fetch_add(&e->stats.spans_rejected, (uint64_t)reject);
    atomic_fetch_sub(&t->active, 1);
    return rc;
}

static inline int texp_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    struct texp *t = (struct texp *)e;
    (void)deadline_ns;
    atomic_store(&t->w->final_at_shutdown, atomic_load(&e->final));
    atomic_fetch_add(&t->w->shutdown_calls, 1);
    return 0;
}

/* The child owns none of the parent's locks or counts: start again. */
static inline void texp_after_fork_child(struct ctr_exporter *e)
{
    struct texp *t = (struct texp *)e;
    texp_sync_init(t);
    atomic_store(&t->active, 0);
    atomic_store(&t->overlap, 0);
    atomic_store(&t->calls_started, 0);
    t->calls = 0;
    t->spans = t->spans_ok = 0;
    t->n_seqs = 0;
    t->block = false;
    t->block_from = 0;
    t->sleep_ms = 0;
    t->after_fork_calls++;
}

static inline void texp_destroy(struct ctr_exporter *e)
{
    struct texp *t = (struct texp *)e;
    struct watch *w = t->w;
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t->seqs);
    free(t);
    atomic_fetch_add(&w->destroyed, 1);
}

static const struct ctr_exporter_ops texp_ops = {
    .name = "test",
    .export_batch = texp_export,
    .shutdown = texp_shutdown,
    .after_fork_child = texp_after_fork_child,
    .destroy = texp_destroy,
};

static struct ctr_resource test_resource;
static const struct ctr_scope test_scope = {{"chaostracing", 12}, {CTR_VERSION, 5}};

/* The resource every test processor gets: one marker attribute. */
static inline void test_resource_init(void)
{
    if (test_resource.attrs.len)
        return;
    struct ctr_attr a = {{"test.marker", 11}, {.type = CTR_VALUE_INT, .u.i = 42}};
    if (ctr_resource_set(&test_resource, &a))
        abort();
}

static inline struct texp *texp_new(struct watch *w)
{
    test_resource_init();
    struct texp *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->base.ops = &texp_ops;
    texp_sync_init(t);
    t->order_ok = t->batch_ok = t->ids_ok = true;
    t->resource = &test_resource;
    t->scope = &test_scope;
    t->w = w;
    memset(w, 0, sizeof *w);
    return t;
}

/* Block every call from now on, or release every call (block_from too). */
static inline void texp_set_block(struct texp *t, bool block)
{
    pthread_mutex_lock(&t->mu);
    t->block = block;
    if (!block)
        t->block_from = 0;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static inline void texp_set_sleep(struct texp *t, unsigned ms)
{
    pthread_mutex_lock(&t->mu);
    t->sleep_ms = ms;
    pthread_mutex_unlock(&t->mu);
}

/* A snapshot of the observations. */
struct texp_view {
    int calls;
    size_t sizes[SIZES_KEPT];
    uint64_t call_ns[SIZES_KEPT];
    size_t max_size;
    uint64_t spans, spans_ok, first_call_ns, last_deadline;
    bool order_ok, batch_ok, ids_ok;
};

static inline struct texp_view texp_view(struct texp *t)
{
    struct texp_view v;
    pthread_mutex_lock(&t->mu);
    v.calls = t->calls;
    memcpy(v.sizes, t->sizes, sizeof v.sizes);
    memcpy(v.call_ns, t->call_ns, sizeof v.call_ns);
    v.max_size = t->max_size;
    v.spans = t->spans;
    v.spans_ok = t->spans_ok;
    v.first_call_ns = t->first_call_ns;
    v.last_deadline = t->last_deadline;
    v.order_ok = t->order_ok;
    v.batch_ok = t->batch_ok;
    v.ids_ok = t->ids_ok;
    pthread_mutex_unlock(&t->mu);
    return v;
}

/* How many times span number `seq` reached the exporter. */
static inline int texp_times_seen(struct texp *t, uint64_t seq)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n_seqs; i++)
        n += t->seqs[i] == seq;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* --- spans, processors, stats ------------------------------------------- */

/* A recording, ended span carrying its sequence number in start_ns and in
 * its ids (see seq_ids). */
static inline struct ctr_span *make_span(uint64_t seq)
{
    struct ctr_span *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->recording = true;
    s->ended = true;
    s->start_ns = seq;
    s->end_ns = seq + 1;
    seq_ids(seq, s->ctx.trace_id, s->ctx.span_id);
    s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    return s;
}

static inline struct ctr_processor *new_bsp(struct texp *t, uint32_t queue, uint32_t delay_ms,
                                            uint32_t timeout_ms, uint32_t batch)
{
    struct ctr_bsp_options o = {queue, delay_ms, timeout_ms, batch};
    struct ctr_processor *p = NULL;
    if (ctr_batch_processor_new(&t->base, &test_resource, &test_scope, &o, &p) != 0)
        abort();
    return p;
}

static inline struct ctr_processor_stats stats_of(struct ctr_processor *p)
{
    struct ctr_processor_stats st;
    p->ops->stats(p, &st);
    return st;
}

static inline bool stats_consistent(const struct ctr_processor_stats *st)
{
    return st->spans_ended == st->spans_exported + st->spans_failed + st->spans_dropped +
                                  st->spans_rejected + st->spans_spooled + st->spans_lost +
                                  st->queue_len;
}

/* Poll until exported + failed + rejected reaches `n` or `ms` pass. */
static inline bool wait_handled(struct ctr_processor *p, uint64_t n, unsigned ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        struct ctr_processor_stats st = stats_of(p);
        if (st.spans_exported + st.spans_failed + st.spans_rejected >= n)
            return true;
        if (now_ns() >= end)
            return false;
        sleep_ms(1);
    }
}

static inline bool wait_atomic_at_least(atomic_int *v, int n, unsigned ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    while (atomic_load(v) < n) {
        if (now_ns() >= end)
            return false;
        sleep_ms(1);
    }
    return true;
}

/* A thread that checks the stats invariant until *stop. */
struct checker {
    struct ctr_processor *p;
    atomic_bool *stop;
    atomic_int snapshots, bad;
};

static inline void *checker_run(void *arg)
{
    struct checker *c = arg;
    while (!atomic_load(c->stop)) {
        struct ctr_processor_stats st = stats_of(c->p);
        if (!stats_consistent(&st))
            atomic_fetch_add(&c->bad, 1);
        atomic_fetch_add(&c->snapshots, 1);
        sleep_ms(1);
    }
    return NULL;
}

#endif
