/*
 * Backoff, deadline and log de-duplication shared by the network exporters.
 * See retry.h.
 */
#include "export/retry.h"

#include <string.h>
#include <time.h>

/* Sleep in slices this long so that shutdown can cut a backoff short. */
#define SLEEP_SLICE_NS 20000000u

/* A non-zero seed mixed from the clocks and `salt`'s address. */
static uint64_t seed(const void *salt)
{
    uint64_t s = ctr_monotonic_ns() ^ ctr_now_ns() ^ (uint64_t)(uintptr_t)salt;
    s ^= s >> 33;
    s *= 0xff51afd7ed558ccdULL;
    s ^= s >> 33;
    return s ? s : 0x9e3779b97f4a7c15ULL;
}

void ctr__retry_init(struct ctr__retry_state *s, const void *salt)
{
    s->rng = seed(salt);
    s->warned[0] = '\0';
}

void ctr__retry_after_fork(struct ctr__retry_state *s, const void *salt)
{
    s->rng = seed(salt);
}

/* Next xorshift64 value. */
static uint64_t next_rand(struct ctr__retry_state *s)
{
    uint64_t v = s->rng;
    v ^= v << 13;
    v ^= v >> 7;
    v ^= v << 17;
    s->rng = v;
    return v;
}

uint64_t ctr__retry_jitter_ms(struct ctr__retry_state *s, uint64_t backoff_ms)
{
    uint64_t half = backoff_ms / 2;
    return half + next_rand(s) % (backoff_ms - half + 1);
}

bool ctr__retry_sleep_until(struct ctr_exporter *e, uint64_t until_ns, bool stop_on_final)
{
    for (;;) {
        if (stop_on_final && atomic_load(&e->final))
            return false;
        uint64_t now = ctr_monotonic_ns();
        if (now >= until_ns)
            return true;
        uint64_t d = until_ns - now;
        if (d > SLEEP_SLICE_NS)
            d = SLEEP_SLICE_NS;
        struct timespec ts = {.tv_sec = (time_t)(d / 1000000000u),
                              .tv_nsec = (long)(d % 1000000000u)};
        nanosleep(&ts, NULL); /* EINTR: the loop re-checks the clock */
    }
}

bool ctr__retry_backoff(struct ctr__retry_state *s, struct ctr_exporter *e, uint64_t *backoff_ms,
                        int64_t min_wait_ms, uint64_t deadline_ns, bool stop_on_final)
{
    uint64_t wait_ms = ctr__retry_jitter_ms(s, *backoff_ms);
    if (min_wait_ms >= 0 && (uint64_t)min_wait_ms > wait_ms)
        wait_ms = (uint64_t)min_wait_ms;
    uint64_t now = ctr_monotonic_ns();
    if (now >= deadline_ns || wait_ms >= (deadline_ns - now) / 1000000u)
        return false; /* the next attempt could not start before the deadline */
    if (!ctr__retry_sleep_until(e, now + wait_ms * 1000000u, stop_on_final))
        return false;
    atomic_fetch_add(&e->stats.retries, 1);
    *backoff_ms =
        *backoff_ms * 2 > CTR__RETRY_BACKOFF_MAX_MS ? CTR__RETRY_BACKOFF_MAX_MS : *backoff_ms * 2;
    return true;
}

void ctr__retry_count_failed(struct ctr_exporter *e, size_t n_spans)
{
    atomic_fetch_add(&e->stats.spans_failed, (uint_fast64_t)n_spans);
    atomic_fetch_add(&e->stats.batches_failed, 1);
}

void ctr__retry_report_failure(struct ctr__retry_state *s, const char *dest, const char *key,
                               const char *reason, int attempts, size_t n_spans)
{
    int level = strcmp(s->warned, key) == 0 ? CTR_LOG_DEBUG : CTR_LOG_WARNING;
    char tries[32] = "";
    if (attempts > 0)
        snprintf(tries, sizeof tries, " (%d attempt%s)", attempts, attempts == 1 ? "" : "s");
    ctr_log(level, "chaostracing: export to %s failed: %s%s; %zu span%s not delivered", dest,
            reason, tries, n_spans, n_spans == 1 ? "" : "s");
    snprintf(s->warned, sizeof s->warned, "%s", key);
}

void ctr__retry_report_success(struct ctr__retry_state *s, const char *dest)
{
    if (s->warned[0])
        ctr_log(CTR_LOG_INFO, "chaostracing: export to %s works again", dest);
    s->warned[0] = '\0';
}

void ctr__retry_failure_set(struct ctr__retry_failure *f, int err, const char *key,
                            const char *reason)
{
    f->err = err;
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->reason, sizeof f->reason, "%s", reason);
}

bool ctr__retry_fault(struct ctr__retry_failure *f, enum ctr__retry_fault fault, const char *reason,
                      struct ctr_exporter *e, uint64_t deadline_ns)
{
    snprintf(f->reason, sizeof f->reason, "%s", reason);
    switch (fault) {
    case CTR__RETRY_FAULT_CONNECT:
        f->err = CTR_ECONNECT;
        snprintf(f->key, sizeof f->key, "connect:%.50s", reason);
        return !atomic_load(&e->final);
    case CTR__RETRY_FAULT_TIMEOUT:
        f->err = CTR_ETIMEOUT;
        snprintf(f->key, sizeof f->key, "timeout");
        /* Only a connect timeout leaves time for another attempt. */
        return !atomic_load(&e->final) && ctr_monotonic_ns() < deadline_ns;
    case CTR__RETRY_FAULT_TLS:
        f->err = CTR_ETLS;
        snprintf(f->key, sizeof f->key, "tls");
        return false;
    case CTR__RETRY_FAULT_IO:
    default:
        f->err = CTR_EIO;
        snprintf(f->key, sizeof f->key, "io:%.50s", reason);
        return false;
    }
}

int ctr__retry_give_up(struct ctr__retry_state *s, struct ctr_exporter *e, const char *dest,
                       const struct ctr__retry_failure *f, int attempts, size_t n_spans)
{
    ctr__retry_count_failed(e, n_spans);
    ctr__retry_report_failure(s, dest, f->key, f->reason, attempts, n_spans);
    return f->err;
}

int ctr__retry_encode_failed(struct ctr__retry_state *s, struct ctr_exporter *e, const char *dest,
                             int rc, size_t max_bytes, size_t n_spans)
{
    char reason[160];
    if (rc == CTR_ETOOBIG)
        snprintf(reason, sizeof reason, "request larger than the %zu MiB limit", max_bytes >> 20);
    else
        snprintf(reason, sizeof reason, "could not encode the request: %s", ctr_strerror(rc));
    ctr__retry_count_failed(e, n_spans);
    ctr__retry_report_failure(s, dest, rc == CTR_ETOOBIG ? "toobig" : "encode", reason, 0, n_spans);
    return rc;
}

void ctr__retry_delivered(struct ctr__retry_state *s, struct ctr_exporter *e, const char *dest,
                          size_t n_spans, int64_t rejected, char *msg)
{
    for (char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' '; /* keep the log line one line */
    }
    if (rejected < 0)
        rejected = 0;
    if ((uint64_t)rejected > n_spans)
        rejected = (int64_t)n_spans;
    if (rejected > 0) {
        atomic_fetch_add(&e->stats.spans_rejected, (uint_fast64_t)rejected);
        ctr_log(CTR_LOG_WARNING, "chaostracing: %s rejected %lld of %zu spans: %s", dest,
                (long long)rejected, n_spans, msg[0] ? msg : "(no message)");
    } else if (msg[0]) {
        ctr_log(CTR_LOG_DEBUG, "chaostracing: %s accepted the spans with a message: %s", dest, msg);
    }
    atomic_fetch_add(&e->stats.spans_exported, (uint_fast64_t)(n_spans - (size_t)rejected));
    ctr__retry_report_success(s, dest);
}
