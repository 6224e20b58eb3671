/*
 * chaostracing: the spool — spans that were not delivered when a run ended,
 * kept on disk as OTLP JSON and sent later (by the next run's batch
 * processor while it is idle, or by `chaostracing replay`).
 *
 * A spool is a directory of files, one OTLP JSON ExportTraceServiceRequest
 * per line, named "<unix ns>-<pid>-<random>-<span count>.jsonl" so the oldest
 * sort first and their span count is known without reading them. Writes go to
 * a temporary name, are fsync'ed and renamed: a reader never sees a torn
 * file, even after a kill -9. A sender claims a file by renaming it
 * ("….claimed.<pid>"), so two processes never send the same file; a claim
 * left by a dead process is given back. A file that does not decode is moved
 * to "corrupt/" and reported, never sent. The directory is bounded in bytes:
 * writing evicts the oldest unclaimed files first (their spans counted).
 * Delivery is at least once: a file that fails half way is sent again whole,
 * and spans keep their ids.
 */
#ifndef CHAOSTRACING_SPOOL_H
#define CHAOSTRACING_SPOOL_H

#include "exporter.h"

#define CTR_SPOOL_DEFAULT_MAX_BYTES ((uint64_t)64 << 20)

struct ctr_spool;

/*
 * Open (creating it and its parents, mode 0700) the spool in `dir`, bounded
 * to `max_bytes` (0: the default). Returns 0, CTR_EIO (message in `err`) or
 * CTR_ENOMEM.
 */
int ctr_spool_open(const char *dir, uint64_t max_bytes, struct ctr_spool **out, char *err,
                   size_t errlen);
void ctr_spool_close(struct ctr_spool *s);
const char *ctr_spool_dir(const struct ctr_spool *s);

/*
 * The default spool directory: $XDG_CACHE_HOME/chaostracing/spool, else
 * $HOME/.cache/chaostracing/spool, into `out`, the variables read through
 * `get` (getenv when NULL). Returns 0, or CTR_EINVAL when neither variable is
 * set (or the path does not fit).
 */
int ctr_spool_default_dir(const char *(*get)(void *ud, const char *name), void *ud, char *out,
                          size_t size);

/*
 * Write `len` bytes of OTLP JSON, one request a line (lines joined by
 * newlines; a newline is added at the end), holding `n_spans` spans as a
 * new file. Older files are evicted first when the spool would exceed its
 * bound; the spans they held are added to *evicted (may be NULL). Returns 0,
 * CTR_EFULL (the file alone does not fit, or everything left is claimed),
 * CTR_EIO or CTR_ENOMEM.
 */
int ctr_spool_write(struct ctr_spool *s, const uint8_t *line, size_t len, uint64_t n_spans,
                    uint64_t *evicted);

struct ctr_replay_stats {
    uint64_t files_sent;    /* delivered and deleted */
    uint64_t spans_sent;    /* in those files */
    uint64_t files_failed;  /* given back after a failed export */
    uint64_t files_corrupt; /* moved to corrupt/ */
    uint64_t files_busy;    /* claimed by another live process */
    uint64_t files_left;    /* still waiting when the call returned */
    int last_error;         /* the export error that stopped the replay, 0 if none */
};

/* Asked between batches: false stops the replay (the file is given back). */
typedef bool (*ctr_replay_continue_fn)(void *ud);

/*
 * Send the oldest file that no one has claimed through `e`, batch by batch,
 * each export bounded by `deadline_ns`. Returns 1 when a file was handled
 * (sent, given back or found corrupt: see `st`), 0 when there is none left
 * to send, or a negative CTR_E* when the directory cannot be read. A failed
 * export gives the file back and sets st->last_error.
 */
int ctr_spool_replay_one(struct ctr_spool *s, struct ctr_exporter *e, uint64_t deadline_ns,
                         ctr_replay_continue_fn keep_going, void *ud, struct ctr_replay_stats *st);

#endif
