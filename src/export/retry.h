/*
 * The retry and failure-reporting policy shared by the network exporters
 * (OTLP/HTTP, OTLP/gRPC, Jaeger gRPC):
 *
 *  - exponential backoff, 100 ms doubling to 5 s, with "equal jitter" (half
 *    fixed, half random), never shorter than what the server asked for
 *    (Retry-After, gRPC RetryInfo);
 *  - an attempt that could not start before the export deadline is not made;
 *  - once the processor has set `final` (shutdown), waits after a connection
 *    failure are cut short, since nobody is listening;
 *  - failures are logged once: the first failure of a kind is a WARNING, the
 *    same kind again before any success a DEBUG line, and the first success
 *    after a failure an INFO "works again".
 *
 * It also holds the parts of the failure and success accounting that do not
 * depend on the protocol: how a transport failure without an answer (refused,
 * timed out, TLS, other) is described and whether it is retried, the log line
 * of a request that could not be encoded, and the counting of a delivered
 * batch with its partial success. What an answer means (HTTP status, gRPC
 * code) stays with each exporter.
 *
 * One struct ctr__retry_state belongs to one exporter and is used by its
 * export thread only.
 */
#ifndef CTR_EXPORT_RETRY_H
#define CTR_EXPORT_RETRY_H

#include <chaostracing/exporter.h>

#define CTR__RETRY_BACKOFF_FIRST_MS 100u
#define CTR__RETRY_BACKOFF_MAX_MS 5000u

struct ctr__retry_state {
    uint64_t rng;    /* xorshift64 state for the jitter; never 0 */
    char warned[64]; /* key of the failure last logged; "" after a success */
};

/* Seed the jitter generator (differently per exporter and process, using
 * `salt`'s address) and forget any logged failure. */
void ctr__retry_init(struct ctr__retry_state *s, const void *salt);

/* In a forked child: reseed, so parent and child do not retry in step. */
void ctr__retry_after_fork(struct ctr__retry_state *s, const void *salt);

/* A wait of `backoff_ms` with equal jitter: in [backoff/2, backoff]. */
uint64_t ctr__retry_jitter_ms(struct ctr__retry_state *s, uint64_t backoff_ms);

/*
 * Sleep until the monotonic time `until_ns`, in short slices. Returns true
 * when the time came; false as soon as e->final is set, when `stop_on_final`.
 */
bool ctr__retry_sleep_until(struct ctr_exporter *e, uint64_t until_ns, bool stop_on_final);

/*
 * Wait before the next attempt: the jittered `*backoff_ms`, or `min_wait_ms`
 * when that is longer (-1: no minimum). Returns false without waiting when
 * the next attempt could not start before `deadline_ns`, or when shutdown cut
 * the wait short (`stop_on_final`); otherwise counts a retry in e->stats,
 * doubles `*backoff_ms` (up to the cap) and returns true.
 */
bool ctr__retry_backoff(struct ctr__retry_state *s, struct ctr_exporter *e, uint64_t *backoff_ms,
                        int64_t min_wait_ms, uint64_t deadline_ns, bool stop_on_final);

/* Count a batch of `n_spans` spans as not delivered. */
void ctr__retry_count_failed(struct ctr_exporter *e, size_t n_spans);

/*
 * Log a failed export to `dest`: "chaostracing: export to DEST failed: REASON
 * (N attempts); M spans not delivered". WARNING for a new `key`, DEBUG for the key
 * logged last. `attempts` 0 leaves the count out.
 */
void ctr__retry_report_failure(struct ctr__retry_state *s, const char *dest, const char *key,
                               const char *reason, int attempts, size_t n_spans);

/* After a delivered export: log "works again" (INFO) when the previous
 * export had failed, and forget the failure. */
void ctr__retry_report_success(struct ctr__retry_state *s, const char *dest);

/* Why an export failed: the CTR_E* to return, a key that de-duplicates the
 * log line ("timeout", "connect:...", "HTTP 503") and the reason logged. */
struct ctr__retry_failure {
    int err;
    char key[64];
    char reason[768];
};

/* A transport failure where no answer came, whatever the protocol. */
enum ctr__retry_fault {
    CTR__RETRY_FAULT_CONNECT, /* refused, unreachable, reset, closed: CTR_ECONNECT */
    CTR__RETRY_FAULT_TIMEOUT, /* no answer before the deadline or connect timeout: CTR_ETIMEOUT */
    CTR__RETRY_FAULT_TLS,     /* handshake, certificate or key problem: CTR_ETLS */
    CTR__RETRY_FAULT_IO,      /* anything else: CTR_EIO */
};

/* Fill `f` with `err`, `key` and `reason` (each cut to fit). */
void ctr__retry_failure_set(struct ctr__retry_failure *f, int err, const char *key,
                            const char *reason);

/*
 * Describe in `f` a transport `fault` whose text is `reason`, and tell
 * whether another attempt is worth making: after a connection failure unless
 * e->final is set; after a timeout likewise, and only while `deadline_ns` is
 * still ahead (only a connect timeout leaves time); never after a TLS or any
 * other failure.
 */
bool ctr__retry_fault(struct ctr__retry_failure *f, enum ctr__retry_fault fault, const char *reason,
                      struct ctr_exporter *e, uint64_t deadline_ns);

/*
 * Give up on a batch of `n_spans` spans after `attempts` attempts: count it
 * failed and log `f` (ctr__retry_report_failure). Returns f->err.
 */
int ctr__retry_give_up(struct ctr__retry_state *s, struct ctr_exporter *e, const char *dest,
                       const struct ctr__retry_failure *f, int attempts, size_t n_spans);

/*
 * A batch of `n_spans` spans whose request could not be made: `rc` is
 * CTR_ETOOBIG (over `max_bytes`) or the encoder's error. Counts the batch
 * failed, logs it and returns `rc`.
 */
int ctr__retry_encode_failed(struct ctr__retry_state *s, struct ctr_exporter *e, const char *dest,
                             int rc, size_t max_bytes, size_t n_spans);

/*
 * A batch of `n_spans` spans was delivered, of which the server says it
 * rejected `rejected` (clamped to 0..n_spans) with the message `msg` (may be
 * "", control characters are blanked in place). Counts the spans exported
 * and rejected, logs a rejection (WARNING) or a message (DEBUG), and reports
 * the success.
 */
void ctr__retry_delivered(struct ctr__retry_state *s, struct ctr_exporter *e, const char *dest,
                          size_t n_spans, int64_t rejected, char *msg);

#endif
