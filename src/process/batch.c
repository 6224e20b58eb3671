/*
 * The batch span processor (OpenTelemetry BatchSpanProcessor semantics).
 *
 * Ending a span pushes a pointer into a bounded ring under one mutex and
 * returns: it never waits on the worker or the network. A full queue, or a
 * processor that is shut down, frees the span and counts it as dropped. One
 * worker thread, started lazily by the first span, wakes when the schedule
 * delay has passed since the oldest queued span arrived, when the queue holds
 * a full batch, when a flush is requested, or at shutdown; it exports batches
 * of at most max_export_batch_size spans outside the lock, then frees them.
 *
 * Every counter changes under the mutex, so a stats snapshot always satisfies
 *   spans_ended = exported + failed + dropped + rejected + spooled + lost + queue_len
 * where queue_len counts the spans queued plus the batch being exported plus
 * the spans shutdown has encoded for the spool and is still writing.
 *
 * Lifetime: the processor and its worker share one block with a reference
 * count (guarded by the mutex). shutdown() joins the worker when it finishes
 * by the deadline; otherwise it detaches it and the worker, once its export
 * returns (exporters are bound by their own deadline), shuts the exporter down
 * and drops its reference. Whoever drops the last reference destroys the
 * exporter and frees the block, so a detached worker never touches freed
 * memory and the exporter outlives it.
 *
 * fork(): every live batch processor is listed in a global registry, and
 * pthread_atfork handlers (registered once) lock the registry and every
 * processor's mutex before fork and unlock them after it, so the child never
 * inherits a mutex held by a thread it does not have. In the child:
 *   - the mutexes (held by the forking thread) are released and the condition
 *     variables re-initialised, since their waiters do not exist there;
 *   - the worker is marked not started (only the forking thread survives),
 *     and its reference to the shared block is given back;
 *   - the spans inherited from the parent, queued or being exported, are
 *     freed without being exported: they are the parent's to export, and the
 *     child frees only its own copy of the memory;
 *   - pending flushes are marked done and every counter starts again at zero,
 *     so the child's stats describe only what the child did;
 *   - exporter->ops->after_fork_child() drops the parent's connections before
 *     the child exports anything;
 *   - the child's first span starts the child's own worker.
 * A processor that was shut down in the parent stays shut down in the child.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chaostracing/processor.h>
#include <chaostracing/spool.h>

/* How long past its deadline shutdown waits for an export that is returning. */
#define SHUTDOWN_GRACE_NS 20000000u
/* Of the time left until the caller's shutdown deadline, the end (a tenth,
 * at most this) is kept for what follows the exports: an export coming back
 * (SHUTDOWN_GRACE_NS) and the spool write. Shutdown as a whole then ends by
 * the deadline the user set, not a grace and a spool write after it. */
#define SHUTDOWN_RESERVE_NS 60000000u
/* Ring slots beyond max_queue_size that only essential spans (the
 * experiment and its phases) may take: they are never dropped for a full
 * queue of activity spans. */
#define RESERVE 64u
/* After a failed replay of the spool, wait this long before the next try
 * (unless a live export succeeds first). */
#define REPLAY_PAUSE_MS 30000u

struct bsp {
    struct ctr_processor base;    /* first: the public handle */
    struct ctr_resource resource; /* our own copy: a detached worker may outlive the tracer */
    const struct ctr_scope *scope;
    struct ctr_bsp_options opt;
    uint32_t cap;            /* ring slots: max_queue_size + RESERVE */
    struct ctr_spool *spool; /* owned; NULL: nothing is spooled or replayed */

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* the worker waits here */
    pthread_cond_t done_cv; /* flushers and shutdown wait here */

    /* Guarded by mu from here on. */
    int refs; /* the processor handle + a running worker */
    struct ctr_span **ring;
    uint32_t head, len;         /* ring[head] is the oldest span */
    struct ctr_span **inflight; /* the batch being exported, max_export_batch_size */
    uint32_t inflight_len;
    uint64_t inflight_deadline; /* the deadline that export was given */

    pthread_t thread;
    bool worker_started;       /* a worker thread exists in this process */
    bool worker_exited;        /* it has left its loop (set under mu) */
    bool worker_idle;          /* it waits without timeout on an empty queue */
    bool stop;                 /* shutdown asked the worker to drain and exit */
    bool abandoned;            /* shutdown gave up on the worker: it must not export again */
    bool worker_owns_exporter; /* detached mid-export: it shuts the exporter down */
    bool shut;                 /* shutdown was called: on_end drops */
    bool overflow_warned;
    bool start_failed_warned;
    uint64_t shutdown_deadline;
    uint64_t flush_req;  /* generations requested */
    uint64_t flush_done; /* generations completed (exported or given up) */
    uint64_t flush_ok;   /* generations completed by exporting */

    uint64_t spans_ended, spans_dropped, spans_exported, spans_failed, spans_rejected,
        batches_failed, spans_spooled, spans_lost, spans_replayed, spool_corrupt;
    uint64_t retry_at;       /* after a retryable failure: no export before (monotonic) */
    uint64_t retry_delay_ms; /* the wait after the next failure */
    uint64_t replay_at;      /* no replay of the spool before (monotonic) */
    bool replay_done;        /* the spool was empty once this run */
    bool replaying;          /* the worker is sending a spool file (without mu) */
    bool inflight_settled;   /* shutdown accounted for the in-flight batch */
    uint64_t spilling;       /* encoded for the spool, not yet written: still queued */
    uint64_t overflow_drops; /* spans dropped because the queue was full */
    uint64_t fork_discarded; /* spans inherited from the parent at fork */

    struct bsp *reg_next; /* registry list, guarded by reg_mu */
};

static const struct ctr_processor_ops bsp_ops;

/* --- fork registry ---------------------------------------------------- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bsp *reg_head;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

/* Before fork: take the registry lock, then every processor's mutex. */
static void bsp_atfork_prepare(void)
{
    pthread_mutex_lock(&reg_mu);
    for (struct bsp *b = reg_head; b; b = b->reg_next)
        pthread_mutex_lock(&b->mu);
}

/* In the parent after fork: release what prepare took. */
static void bsp_atfork_parent(void)
{
    for (struct bsp *b = reg_head; b; b = b->reg_next)
        pthread_mutex_unlock(&b->mu);
    pthread_mutex_unlock(&reg_mu);
}

/* Initialise a condition variable on CLOCK_MONOTONIC; 0 or an errno. */
static int mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc)
        return rc;
    rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

/* Reset one processor in a forked child (see the comment at the top). The
 * caller holds b->mu (taken in prepare by this very thread). */
static void bsp_child_reset(struct bsp *b)
{
    mono_cond_init(&b->work_cv);
    mono_cond_init(&b->done_cv);
    if (b->worker_started && !b->worker_exited)
        b->refs--; /* that worker does not exist here */
    b->worker_started = false;
    b->worker_exited = false;
    b->worker_idle = false;
    b->replaying = false;
    for (uint32_t i = 0; i < b->inflight_len; i++)
        ctr_span_free(b->inflight[i]);
    uint32_t cap = b->cap;
    for (uint32_t i = 0; i < b->len; i++)
        ctr_span_free(b->ring[(b->head + i) % cap]);
    b->fork_discarded += (uint64_t)b->inflight_len + b->len;
    b->inflight_len = 0;
    b->head = b->len = 0;
    b->flush_done = b->flush_ok = b->flush_req;
    b->spans_ended = b->spans_dropped = b->spans_exported = 0;
    b->spans_failed = b->spans_rejected = b->batches_failed = 0;
    b->spans_spooled = b->spans_lost = b->spans_replayed = b->spool_corrupt = 0;
    b->overflow_drops = 0;
    b->spilling = 0;
    if (!b->shut && b->base.exporter && b->base.exporter->ops &&
        b->base.exporter->ops->after_fork_child)
        b->base.exporter->ops->after_fork_child(b->base.exporter);
}

/* In the child after fork: reset every processor and release the locks. A
 * processor whose last reference belonged to the (vanished) worker is taken
 * off the list and left alone; its memory is the parent's business. */
static void bsp_atfork_child(void)
{
    struct bsp **pp = &reg_head;
    while (*pp) {
        struct bsp *b = *pp;
        bsp_child_reset(b);
        pthread_mutex_unlock(&b->mu);
        if (b->refs == 0)
            *pp = b->reg_next;
        else
            pp = &b->reg_next;
    }
    pthread_mutex_unlock(&reg_mu);
}

static void bsp_register_atfork(void)
{
    pthread_atfork(bsp_atfork_prepare, bsp_atfork_parent, bsp_atfork_child);
}

/* --- helpers ----------------------------------------------------------- */

/* Convert a monotonic deadline in nanoseconds to a timespec. */
static struct timespec ns_to_ts(uint64_t ns)
{
    struct timespec ts;
    uint64_t sec = ns / 1000000000u;
    /* Far-future deadlines are clamped to something time_t can hold. */
    if (sec > (uint64_t)1 << 40)
        sec = (uint64_t)1 << 40;
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

/* Wait on `cv` until `deadline_ns` (monotonic); returns ETIMEDOUT or 0. */
static int cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_ns)
{
    struct timespec ts = ns_to_ts(deadline_ns);
    return pthread_cond_timedwait(cv, mu, &ts);
}

static uint64_t add_ms(uint64_t t, uint32_t ms)
{
    uint64_t d = (uint64_t)ms * 1000000u;
    return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

/* Free the shared block: spans left over, the exporter, the queue and the
 * block itself. Called by whoever dropped the last reference, without mu. */
static void bsp_free(struct bsp *b)
{
    pthread_mutex_lock(&reg_mu);
    for (struct bsp **pp = &reg_head; *pp; pp = &(*pp)->reg_next) {
        if (*pp == b) {
            *pp = b->reg_next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);

    uint32_t cap = b->cap;
    for (uint32_t i = 0; i < b->len; i++)
        ctr_span_free(b->ring[(b->head + i) % cap]);
    for (uint32_t i = 0; i < b->inflight_len; i++)
        ctr_span_free(b->inflight[i]);
    ctr_exporter_destroy(b->base.exporter);
    pthread_cond_destroy(&b->work_cv);
    pthread_cond_destroy(&b->done_cv);
    pthread_mutex_destroy(&b->mu);
    free(b->ring);
    free(b->inflight);
    ctr_resource_free(&b->resource);
    ctr_spool_close(b->spool);
    free(b);
}

/* Drop one reference; the caller holds mu, which this releases. Frees the
 * block when it was the last one. */
static void bsp_unref_unlock(struct bsp *b)
{
    bool last = --b->refs == 0;
    pthread_mutex_unlock(&b->mu);
    if (last)
        bsp_free(b);
}

/* --- the worker ------------------------------------------------------- */

/* True for failures worth another try: the collector was not reached, was
 * too slow, or asked to come back later. A refusal (HTTP 400, a bad
 * request) is final. */
static bool retryable(int rc)
{
    return rc == CTR_ECONNECT || rc == CTR_ETIMEOUT || rc == CTR_ERETRYABLE || rc == CTR_EIO ||
           rc == CTR_ETLS || rc == CTR_ESHUTDOWN;
}

/* Put the `k` spans of a batch that failed back at the head of the queue,
 * essential ones first, as far as room allows; the rest are dropped and
 * counted. The caller holds mu. On return b->inflight[0..] holds the spans
 * not kept, and their number is returned (the caller frees them). */
static uint32_t requeue(struct bsp *b, uint32_t k)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = k; i-- > 0;) {
            struct ctr_span *s = b->inflight[i];
            if (!s || (pass == 0) != s->essential)
                continue;
            uint32_t limit = s->essential ? b->cap : b->opt.max_queue_size;
            if (b->len < limit) {
                b->head = (b->head + b->cap - 1) % b->cap;
                b->ring[b->head] = s;
                b->len++;
                b->inflight[i] = NULL;
            }
        }
    }
    uint32_t left = 0;
    for (uint32_t i = 0; i < k; i++)
        if (b->inflight[i])
            b->inflight[left++] = b->inflight[i];
    b->spans_dropped += left;
    return left;
}

/* Export `n` spans from the head of the queue in batches; the caller holds mu
 * and holds it again on return. Returns true when all `n` were handled, false
 * when shutdown's deadline, abandonment or a failure to retry later cut the
 * round short. */
static bool bsp_export_round(struct bsp *b, uint32_t n)
{
    uint32_t cap = b->cap;
    while (n > 0) {
        if (b->abandoned)
            return false;
        uint64_t now = ctr_monotonic_ns();
        uint64_t deadline = add_ms(now, b->opt.export_timeout_ms);
        if (b->stop) {
            if (now >= b->shutdown_deadline)
                return false;
            if (b->shutdown_deadline < deadline)
                deadline = b->shutdown_deadline;
        }
        uint32_t k = n < b->opt.max_export_batch_size ? n : b->opt.max_export_batch_size;
        if (k > b->len)
            k = b->len;
        if (k == 0)
            return true;
        for (uint32_t i = 0; i < k; i++) {
            b->inflight[i] = b->ring[b->head];
            b->head = (b->head + 1) % cap;
        }
        b->len -= k;
        b->inflight_len = k;
        b->inflight_deadline = deadline;
        b->inflight_settled = false;
        pthread_mutex_unlock(&b->mu);

        struct ctr_exporter *e = b->base.exporter;
        struct ctr_batch batch = {
            .resource = &b->resource, .scope = b->scope, .spans = b->inflight, .len = k};
        uint64_t rej0 = atomic_load(&e->stats.spans_rejected);
        int rc = ctr_exporter_export(e, &batch, deadline);
        uint64_t rej = atomic_load(&e->stats.spans_rejected) - rej0;
        if (rej > k)
            rej = k;

        pthread_mutex_lock(&b->mu);
        uint32_t n_free = k;
        bool again = false;
        if (b->inflight_settled) {
            /* Shutdown gave up on this export and accounted for it. */
        } else if (rc == 0) {
            b->spans_exported += k - rej;
            b->spans_rejected += rej;
            b->retry_delay_ms = 0;
            b->replay_at = 0; /* the collector is back: the spool may go too */
        } else if (b->opt.retry_failed && retryable(rc) && !b->abandoned) {
            /* Kept for another try after a pause (or for the spool). */
            n_free = requeue(b, k);
            b->batches_failed++; /* a failed export, even if its spans get another try */
            b->retry_delay_ms = b->retry_delay_ms ? b->retry_delay_ms * 2 : 1000;
            if (b->retry_delay_ms > b->opt.schedule_delay_ms)
                b->retry_delay_ms = b->opt.schedule_delay_ms ? b->opt.schedule_delay_ms : 1000;
            b->retry_at = add_ms(ctr_monotonic_ns(), (uint32_t)b->retry_delay_ms);
            again = true;
        } else {
            b->spans_failed += k;
            b->batches_failed++;
        }
        /* From here the spans are no longer the processor's: a fork in the
         * middle of freeing them must not make the child free them again. */
        b->inflight_len = 0;
        pthread_mutex_unlock(&b->mu);
        if (rc != 0)
            ctr_log(CTR_LOG_DEBUG, "chaostracing: exporting %u spans to %s failed: %s%s",
                    (unsigned)k, e->destination, ctr_strerror(rc), again ? "; kept to retry" : "");
        for (uint32_t i = 0; i < n_free; i++)
            ctr_span_free(b->inflight[i]);
        pthread_mutex_lock(&b->mu);
        if (again)
            return false;
        n -= k;
    }
    return true;
}

/* Keep replaying? Asked by the spool between batches. */
static bool replay_keep_going(void *ud)
{
    struct bsp *b = ud;
    pthread_mutex_lock(&b->mu);
    bool go = !b->stop && !b->abandoned;
    pthread_mutex_unlock(&b->mu);
    return go;
}

/* Send one file of the spool while nothing live waits; the caller holds mu
 * and holds it again on return. */
static void bsp_replay_step(struct bsp *b)
{
    uint64_t deadline = add_ms(ctr_monotonic_ns(), b->opt.export_timeout_ms);
    b->replaying = true;
    pthread_mutex_unlock(&b->mu);
    struct ctr_replay_stats st = {0};
    int r = ctr_spool_replay_one(b->spool, b->base.exporter, deadline, replay_keep_going, b, &st);
    if (st.files_sent || st.files_corrupt)
        ctr_log(CTR_LOG_INFO,
                "chaostracing: %" PRIu64 " spans of an earlier run sent from the "
                "spool %s%s",
                st.spans_sent, ctr_spool_dir(b->spool),
                st.files_corrupt ? " (a corrupt file was set aside)" : "");
    pthread_mutex_lock(&b->mu);
    b->replaying = false;
    b->spans_replayed += st.spans_sent;
    b->spool_corrupt += st.files_corrupt;
    if (r <= 0)
        b->replay_done = true; /* empty, or unreadable */
    else if (st.last_error)
        b->replay_at = add_ms(ctr_monotonic_ns(), REPLAY_PAUSE_MS);
}

/* The worker thread: wait for a reason to export, export, repeat; on stop,
 * drain by shutdown's deadline and exit. Owns one reference to the block. */
static void *bsp_worker(void *arg)
{
    struct bsp *b = arg;
    bool timer_armed = false;
    uint64_t timer_at = 0;

    pthread_mutex_lock(&b->mu);
    for (;;) {
        /* Wait for a reason to export. */
        bool expired = false;
        for (;;) {
            if (b->abandoned || b->stop)
                break;
            uint64_t now = ctr_monotonic_ns();
            if (b->retry_at > now) { /* a failure asked for a pause */
                cond_wait_until(&b->work_cv, &b->mu, b->retry_at);
                continue;
            }
            if (b->flush_req > b->flush_done || b->len >= b->opt.max_export_batch_size)
                break;
            if (b->len == 0 && b->spool && !b->replay_done && b->replay_at <= now) {
                bsp_replay_step(b); /* the spool goes while nothing live waits */
                continue;
            }
            if (b->len == 0) {
                timer_armed = false;
                b->worker_idle = true;
                pthread_cond_wait(&b->work_cv, &b->mu);
                b->worker_idle = false;
                continue;
            }
            if (!timer_armed) {
                timer_armed = true;
                timer_at = add_ms(now, b->opt.schedule_delay_ms);
            }
            if (now >= timer_at) {
                expired = true;
                break;
            }
            cond_wait_until(&b->work_cv, &b->mu, timer_at);
        }
        if (b->abandoned)
            break;

        /* Everything queued goes on a flush, a stop or the timer; otherwise
         * only full batches do. */
        bool all = expired || b->stop || b->flush_req > b->flush_done;
        uint64_t gen = b->flush_req;
        uint32_t n = all ? b->len : b->len - b->len % b->opt.max_export_batch_size;
        timer_armed = false;
        bool complete = bsp_export_round(b, n);
        if (!complete) {
            /* A batch kept for a retry has waited its schedule delay
             * already: it goes as soon as the pause ends. */
            timer_armed = true;
            timer_at = 0;
        }
        if (all && complete && gen > b->flush_done) {
            b->flush_done = gen;
            b->flush_ok = gen;
            pthread_cond_broadcast(&b->done_cv);
        }
        if (b->abandoned)
            break;
        if (b->stop && (b->len == 0 || !complete))
            break;
    }

    bool shutdown_exporter = b->worker_owns_exporter;
    uint64_t deadline = b->shutdown_deadline;
    b->worker_exited = true;
    pthread_cond_broadcast(&b->done_cv);
    if (shutdown_exporter) {
        /* shutdown() left the exporter to us, since it could not call it
         * while we were still exporting. Its deadline has passed already. */
        pthread_mutex_unlock(&b->mu);
        ctr_exporter_shutdown(b->base.exporter, deadline);
        pthread_mutex_lock(&b->mu);
    }
    bsp_unref_unlock(b);
    return NULL;
}

/* Start the worker; the caller holds mu. Signals are blocked in the worker
 * so that process signals go to the application's threads. Returns 0 or an
 * errno from pthread_create. */
static int bsp_start_worker(struct bsp *b)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    b->refs++;
    int rc = pthread_create(&b->thread, NULL, bsp_worker, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        b->refs--;
        return rc;
    }
    b->worker_started = true;
    b->worker_exited = false;
    return 0;
}

/* --- ops ------------------------------------------------------------------- */

/* Queue an ended span, or drop (free and count) it when the queue is full or
 * the processor is shut down. Takes the lock for a few instructions only. */
static void bsp_on_end(struct ctr_processor *p, struct ctr_span *s)
{
    struct bsp *b = (struct bsp *)p;
    if (!s)
        return;
    int start_rc = 0;
    bool warn_start = false, warn_full = false;
    uint64_t overflows = 0;

    pthread_mutex_lock(&b->mu);
    b->spans_ended++;
    if (b->shut) {
        b->spans_dropped++;
        pthread_mutex_unlock(&b->mu);
        ctr_span_free(s);
        return;
    }
    if (b->len >= (s->essential ? b->cap : b->opt.max_queue_size)) {
        b->spans_dropped++;
        overflows = ++b->overflow_drops;
        if (!b->overflow_warned)
            warn_full = b->overflow_warned = true;
        pthread_mutex_unlock(&b->mu);
        ctr_span_free(s);
        if (warn_full)
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: span queue full (max_queue_size %u), dropping spans; "
                    "raise OTEL_BSP_MAX_QUEUE_SIZE or check the exporter",
                    (unsigned)b->opt.max_queue_size);
        else if ((overflows & (overflows - 1)) == 0) /* 2, 4, 8, ...: logs stay cheap */
            ctr_log(CTR_LOG_DEBUG,
                    "chaostracing: span queue full, %" PRIu64 " spans dropped so far", overflows);
        return;
    }
    b->ring[(b->head + b->len) % b->cap] = s;
    b->len++;
    if (!b->worker_started) {
        start_rc = bsp_start_worker(b);
        if (start_rc && !b->start_failed_warned)
            warn_start = b->start_failed_warned = true;
    } else if (b->len == b->opt.max_export_batch_size || (b->len == 1 && b->worker_idle)) {
        pthread_cond_signal(&b->work_cv);
    }
    pthread_mutex_unlock(&b->mu);
    if (warn_start)
        ctr_log(CTR_LOG_WARNING, "chaostracing: cannot start the export thread: %s",
                strerror(start_rc));
}

/* Ask the worker to export everything queued now and wait for it until the
 * deadline. Returns 0, CTR_ETIMEOUT (the rest stays queued), CTR_ESHUTDOWN
 * (shutdown dropped the spans first) or CTR_ENOMEM (no worker thread). */
static int bsp_force_flush(struct ctr_processor *p, uint64_t deadline_ns)
{
    struct bsp *b = (struct bsp *)p;
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    if (b->len == 0 && b->inflight_len == 0) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    if (b->shut) {
        pthread_mutex_unlock(&b->mu);
        return CTR_ESHUTDOWN;
    }
    if (!b->worker_started && bsp_start_worker(b) != 0) {
        pthread_mutex_unlock(&b->mu);
        return CTR_ENOMEM;
    }
    uint64_t gen = ++b->flush_req;
    pthread_cond_signal(&b->work_cv);
    while (b->flush_done < gen) {
        if (cond_wait_until(&b->done_cv, &b->mu, deadline_ns) == ETIMEDOUT && b->flush_done < gen) {
            rc = CTR_ETIMEOUT;
            break;
        }
    }
    if (rc == 0 && b->flush_ok < gen)
        rc = CTR_ESHUTDOWN;
    pthread_mutex_unlock(&b->mu);
    return rc;
}

/* --- spilling to the spool at shutdown ---------------------------------- */

/* The spans left at shutdown as OTLP JSON lines, a batch a line, made under
 * mu (a batch still inside the exporter is only read while the worker cannot
 * free it) and written without it, all in one spool file: one write, and the
 * spool never evicts part of a run's spill to make room for the rest. */
struct spill {
    struct ctr_buf text; /* the lines, joined by newlines */
    uint64_t n_spans;
};

/* Encode the `left` queued spans and the `running` in-flight ones. The
 * caller holds mu. Spans that cannot be encoded (out of memory) are counted
 * lost. */
static void spill_encode(struct bsp *b, struct spill *sp, uint32_t left, uint32_t running)
{
    uint32_t total = left + running, per = b->opt.max_export_batch_size;
    struct ctr_span **all = malloc((size_t)total * sizeof *all);
    if (!all) {
        b->spans_lost += total;
        return;
    }
    for (uint32_t i = 0; i < running; i++)
        all[i] = b->inflight[i];
    for (uint32_t i = 0; i < left; i++)
        all[running + i] = b->ring[(b->head + i) % b->cap];
    for (uint32_t at = 0; at < total; at += per) {
        uint32_t k = total - at < per ? total - at : per;
        struct ctr_batch batch = {&b->resource, b->scope, all + at, k};
        struct ctr_buf line = {0};
        if (ctr_otlp_json_encode(&batch, &line) == 0 && !line.err) {
            if (sp->text.len)
                ctr_buf_putc(&sp->text, '\n');
            ctr_buf_append(&sp->text, line.data, line.len);
            sp->n_spans += k;
        } else {
            b->spans_lost += k;
        }
        ctr_buf_free(&line);
    }
    if (sp->text.err) {
        b->spans_lost += sp->n_spans;
        sp->n_spans = 0;
        ctr_buf_free(&sp->text);
    }
    /* Counted in queue_len until spill_write() knows spooled from lost. */
    b->spilling += sp->n_spans;
    free(all);
}

/* Write the encoded spans to the spool, count, log, free them. */
static void spill_write(struct bsp *b, struct spill *sp)
{
    uint64_t spooled = 0, lost = 0, evicted = 0;
    if (sp->n_spans &&
        ctr_spool_write(b->spool, sp->text.data, sp->text.len, sp->n_spans, &evicted) == 0)
        spooled = sp->n_spans;
    else
        lost = sp->n_spans;
    ctr_buf_free(&sp->text);
    pthread_mutex_lock(&b->mu);
    b->spilling -= sp->n_spans;
    b->spans_spooled += spooled;
    b->spans_lost += lost;
    pthread_mutex_unlock(&b->mu);
    if (spooled)
        ctr_log(CTR_LOG_INFO,
                "chaostracing: %" PRIu64 " spans not delivered by the deadline were spooled to "
                "%s; the next run (or `chaostracing replay`) sends them",
                spooled, ctr_spool_dir(b->spool));
    if (lost)
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: %" PRIu64 " spans could not be spooled to %s (full or not "
                "writable); they are lost",
                lost, ctr_spool_dir(b->spool));
    if (evicted)
        ctr_log(CTR_LOG_WARNING,
                "chaostracing: the spool %s was full: %" PRIu64 " older spans removed",
                ctr_spool_dir(b->spool), evicted);
}

/* Flush by the deadline (less its reserve, SHUTDOWN_RESERVE_NS), stop the
 * worker (join it, or detach it when it is still inside the exporter
 * SHUTDOWN_GRACE_NS later), spool or drop and count what is left, then shut
 * the exporter down (a detached worker does that itself when its export
 * returns). Returns by the deadline, give or take a slow disk and scheduling
 * noise. Idempotent: later calls return 0 at once.
 * Returns 0, CTR_ETIMEOUT (spans were dropped or the worker was left
 * running) or the exporter's shutdown error. */
static int bsp_shutdown(struct ctr_processor *p, uint64_t deadline_ns)
{
    struct bsp *b = (struct bsp *)p;
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    if (b->shut) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    b->shut = true;
    b->stop = true;
    uint64_t final_deadline = deadline_ns, now = ctr_monotonic_ns();
    if (deadline_ns != UINT64_MAX && deadline_ns > now) {
        uint64_t reserve = (deadline_ns - now) / 10;
        deadline_ns -= reserve < SHUTDOWN_RESERVE_NS ? reserve : SHUTDOWN_RESERVE_NS;
    }
    b->shutdown_deadline = deadline_ns;
    atomic_store(&b->base.exporter->final, true);
    pthread_cond_signal(&b->work_cv);

    bool join = false, detach = false;
    if (b->worker_started) {
        while (!b->worker_exited) {
            if (cond_wait_until(&b->done_cv, &b->mu, deadline_ns) == ETIMEDOUT)
                break;
        }
        /* An export that got our deadline (it started during shutdown)
         * returns right at it: allow it a short grace to come back. */
        uint64_t grace = deadline_ns > UINT64_MAX - SHUTDOWN_GRACE_NS
                             ? UINT64_MAX
                             : deadline_ns + SHUTDOWN_GRACE_NS;
        if (grace > final_deadline && final_deadline > deadline_ns)
            grace = final_deadline;
        while (!b->worker_exited && b->inflight_len > 0 && b->inflight_deadline <= grace) {
            if (cond_wait_until(&b->done_cv, &b->mu, grace) == ETIMEDOUT)
                break;
        }
        if (!b->worker_exited) {
            /* Past the deadline: it must not start another export. */
            b->abandoned = true;
            pthread_cond_signal(&b->work_cv);
            if (b->inflight_len == 0 && !b->replaying) {
                /* Not inside the exporter, so it leaves at once. */
                while (!b->worker_exited)
                    pthread_cond_wait(&b->done_cv, &b->mu);
            } else {
                detach = true;
                b->worker_owns_exporter = true; /* shut down when it returns */
            }
        }
        join = !detach;
    }

    /* Whatever is still queued, and a batch still inside the exporter,
     * missed the deadline: it goes to the spool, or is dropped. */
    uint32_t cap = b->cap;
    uint32_t left = b->len, running = detach && b->spool ? b->inflight_len : 0;
    struct spill sp = {0};
    if (b->spool && left + running)
        spill_encode(b, &sp, left, running);
    else
        b->spans_lost += left; /* without a spool a running export counts itself later */
    /* After failures the exporter has warned already: the summary counts. */
    int level = b->retry_delay_ms ? CTR_LOG_DEBUG : CTR_LOG_WARNING;
    for (uint32_t i = 0; i < left; i++)
        ctr_span_free(b->ring[(b->head + i) % cap]);
    b->inflight_settled = running > 0; /* spooled: the worker must not count it again */
    b->head = b->len = 0;
    b->flush_done = b->flush_req;
    pthread_cond_broadcast(&b->done_cv);
    pthread_t th = b->thread;
    pthread_mutex_unlock(&b->mu);

    if (sp.n_spans)
        spill_write(b, &sp);
    else if (left || detach)
        ctr_log(level, "chaostracing: shutdown deadline reached: %u queued spans not delivered%s",
                (unsigned)left, detach ? ", an export is still running" : "");
    if (left || detach)
        rc = CTR_ETIMEOUT;
    if (join)
        pthread_join(th, NULL);
    else if (detach)
        pthread_detach(th);
    if (!detach) {
        int er = ctr_exporter_shutdown(b->base.exporter, final_deadline);
        if (rc == 0)
            rc = er;
    }
    return rc;
}

/* A consistent snapshot of the counters; queue_len includes the batch being
 * exported and the spans being written to the spool. */
static void bsp_stats(struct ctr_processor *p, struct ctr_processor_stats *out)
{
    struct bsp *b = (struct bsp *)p;
    pthread_mutex_lock(&b->mu);
    out->spans_ended = b->spans_ended;
    out->spans_dropped = b->spans_dropped;
    out->spans_exported = b->spans_exported;
    out->spans_failed = b->spans_failed;
    out->spans_rejected = b->spans_rejected;
    out->batches_failed = b->batches_failed;
    out->spans_spooled = b->spans_spooled;
    out->spans_lost = b->spans_lost;
    out->spans_replayed = b->spans_replayed;
    out->spool_corrupt = b->spool_corrupt;
    out->queue_len = (uint64_t)b->len + (b->inflight_settled ? 0 : b->inflight_len) + b->spilling;
    pthread_mutex_unlock(&b->mu);
}

/* Shut down now if that was not done, then drop the handle's reference; a
 * detached worker still exporting frees everything when it returns. */
static void bsp_destroy(struct ctr_processor *p)
{
    struct bsp *b = (struct bsp *)p;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    bool shut = b->shut;
    pthread_mutex_unlock(&b->mu);
    if (!shut)
        bsp_shutdown(p, ctr_monotonic_ns());
    pthread_mutex_lock(&b->mu);
    bsp_unref_unlock(b);
}

static const struct ctr_processor_ops bsp_ops = {
    .on_end = bsp_on_end,
    .force_flush = bsp_force_flush,
    .shutdown = bsp_shutdown,
    .stats = bsp_stats,
    .destroy = bsp_destroy,
};

/* --- construction ------------------------------------------------------ */

void ctr_bsp_options_default(struct ctr_bsp_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_queue_size = 2048;
    o->schedule_delay_ms = 5000;
    o->export_timeout_ms = 30000;
    o->max_export_batch_size = 512;
}

/*
 * Create a batch processor (see processor.h). `opt` NULL means the defaults;
 * a zero export timeout means the default 30 s; a batch size above the queue
 * size is lowered to it. The exporter is owned from here on, and destroyed
 * on error. Returns 0, CTR_EINVAL (no exporter, zero queue or batch size) or
 * CTR_ENOMEM.
 */
int ctr_batch_processor_new(struct ctr_exporter *exporter, const struct ctr_resource *resource,
                            const struct ctr_scope *scope, const struct ctr_bsp_options *opt,
                            struct ctr_processor **out)
{
    *out = NULL;
    struct ctr_bsp_options o;
    ctr_bsp_options_default(&o);
    if (opt)
        o = *opt;
    int rc = CTR_ENOMEM;
    struct bsp *b = NULL;
    if (!exporter || o.max_queue_size == 0 || o.max_export_batch_size == 0 ||
        o.max_queue_size > UINT32_MAX - RESERVE) {
        rc = CTR_EINVAL;
        goto fail;
    }
    if (o.export_timeout_ms == 0)
        o.export_timeout_ms = 30000;
    if (o.max_export_batch_size > o.max_queue_size)
        o.max_export_batch_size = o.max_queue_size;
    if (!(b = calloc(1, sizeof *b)) || ctr_resource_copy(&b->resource, resource))
        goto fail;
    b->cap = o.max_queue_size + RESERVE;
    b->ring = calloc(b->cap, sizeof *b->ring);
    b->inflight = calloc(o.max_export_batch_size, sizeof *b->inflight);
    bool mu_ok = false, work_ok = false, done_ok = false;
    if (b->ring && b->inflight) {
        mu_ok = pthread_mutex_init(&b->mu, NULL) == 0;
        work_ok = mu_ok && mono_cond_init(&b->work_cv) == 0;
        done_ok = work_ok && mono_cond_init(&b->done_cv) == 0;
    }
    if (!done_ok) {
        if (work_ok)
            pthread_cond_destroy(&b->work_cv);
        if (mu_ok)
            pthread_mutex_destroy(&b->mu);
        goto fail;
    }
    b->base.ops = &bsp_ops;
    b->base.exporter = exporter;
    b->spool = o.spool;
    b->scope = scope;
    b->opt = o;
    b->refs = 1;

    pthread_once(&reg_once, bsp_register_atfork);
    pthread_mutex_lock(&reg_mu);
    b->reg_next = reg_head;
    reg_head = b;
    pthread_mutex_unlock(&reg_mu);
    *out = &b->base;
    return 0;

fail:
    if (b) {
        free(b->ring);
        free(b->inflight);
        ctr_resource_free(&b->resource);
        free(b);
    }
    ctr_spool_close(o.spool);
    ctr_exporter_destroy(exporter);
    return rc;
}
