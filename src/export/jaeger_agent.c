/*
 * The Jaeger agent exporter: Jaeger thrift (compact protocol) emitBatch
 * messages over UDP, as the Jaeger agent and the OpenTelemetry Collector's
 * jaeger receiver (thrift_compact, port 6831) accept them.
 *
 * Datagrams. Every datagram is one complete oneway emitBatch message with
 * its own sequence id (increasing, also sent as Batch.seqNo), the Process and
 * as many spans as fit in the packet limit (max_packet, 65000 bytes by
 * default). Spans are encoded one by one first, so their sizes are known and
 * a batch is split over as many datagrams as it needs; nothing is dropped
 * silently.
 *
 * Oversized spans. A span whose encoding does not fit in a datagram on its
 * own is cut down rather than lost: its logs (events) are left out; if that
 * is not enough, its longest tag values (and its name) are truncated to the
 * largest length that fits; if even empty values do not fit, tags are
 * dropped from the end. Such a span carries the tag chaostracing.truncated =
 * true, plus chaostracing.dropped_logs / chaostracing.dropped_tags counts
 * (see encode/jaeger_thrift.h). A process (resource) larger than half a
 * datagram is cut down the same way, with a WARNING once.
 *
 * Delivery. UDP says nothing about delivery: spans_exported counts the spans
 * of datagrams the kernel accepted. A failed datagram's spans are counted as
 * failed (nothing is delivered) or rejected (the rest of the batch was
 * delivered: the processor then counts the batch as exported less those),
 * and logged once per kind of failure: "chaostracing: export to
 * udp://host:port failed: <reason>; N spans not delivered" at WARNING, later the
 * same failure at DEBUG (the shared policy of export/retry.h). Failures:
 *  - ECONNREFUSED: an ICMP port unreachable came back (nobody listens).
 *    The kernel reports it on the call after the datagram that caused it, so
 *    the socket's pending error is checked right after each send as well: on
 *    loopback the ICMP has already arrived by then and the refused datagram
 *    itself is counted failed; on a real network it may be the next datagram
 *    or batch that is. The rest of the batch is then not sent;
 *  - EAGAIN: the socket buffer stayed full (a bounded wait, see udp.h);
 *  - EMSGSIZE: the datagram was too big for the socket or the path. The
 *    limit in force is lowered (by an eighth of the refused size, never
 *    below MIN_PACKET), logged at WARNING, and the same spans are sent again
 *    in smaller datagrams.
 *
 * Fork. after_fork_child is not needed: a connected UDP socket has no
 * connection state in user space or in the kernel beyond its destination,
 * every send() is one whole datagram, so a parent and a child sharing the
 * descriptor cannot interleave partial messages; the child simply keeps
 * sending to the same agent. (Either process may see a pending ECONNREFUSED
 * caused by the other's datagram, which only moves that failure report.)
 */
#include <chaostracing/exporter.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encode/jaeger_thrift.h"
#include "encode/thrift.h"
#include "export/retry.h"
#include "transport/udp.h"

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 6831
#define DEFAULT_MAX_PACKET 65000u
/* The UDP length field's limit for the payload; an IPv4 datagram can carry
 * at most 65507 bytes, so a larger setting triggers the EMSGSIZE path. */
#define MAX_PACKET 65535u
#define MIN_PACKET 1024u
/* Values cut to this many bytes when tags have to be dropped as well. */
#define SHORT_VALUE 64u
/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

enum { IN_ENC = 0, IN_CUT = 1, UNSENDABLE = 2 };

/* Where the encoding of one span of the batch being exported lives. */
struct slot {
    size_t off, len;
    int where; /* IN_ENC, IN_CUT or UNSENDABLE */
};

struct jaeger_agent {
    struct ctr_exporter base;
    char host[256];
    uint16_t port;
    struct ctr__udp *udp;   /* opened on the first export, in the worker thread */
    uint32_t max_packet;    /* as configured */
    uint32_t limit;         /* in force: lowered after EMSGSIZE */
    int32_t seq;            /* next sequence id, 0..INT32_MAX */
    struct ctr_buf process; /* the encoded Process of the current batch */
    struct ctr_buf enc;     /* every span of the batch, as encoded first */
    struct ctr_buf cut;     /* cut-down versions */
    struct ctr_buf trial;   /* scratch for sizing cuts */
    struct ctr_buf pkt;     /* the datagram being built */
    struct ctr_buf scratch; /* JSON of array values */
    struct slot *slots;
    size_t slots_cap;
    struct ctr__retry_state rs;
    bool warned_process;
    bool shut;
};

/* What went wrong with a batch (the first failure decides the log line). */
struct failure {
    int rc;
    char key[64];
    char reason[256];
};

/* Remember the first failure of the batch. */
static void note_failure(struct failure *f, int rc, const char *key, const char *reason)
{
    if (f->rc)
        return;
    f->rc = rc;
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->reason, sizeof f->reason, "%s", reason);
}

/* ---- fitting a span (or the process) into a budget ------------------------ */

/* One encoder under a cut: a span (ctx = scope) or a process (obj = resource). */
typedef int (*encode_fn)(struct jaeger_agent *x, struct ctr_buf *out, const void *obj,
                         const void *ctx, const struct ctr__jaeger_cut *cut);

/* encode_fn for spans. */
static int encode_span(struct jaeger_agent *x, struct ctr_buf *out, const void *obj,
                       const void *ctx, const struct ctr__jaeger_cut *cut)
{
    return ctr__jaeger_put_span(out, &x->scratch, obj, ctx, cut);
}

/* encode_fn for the process. */
static int encode_process(struct jaeger_agent *x, struct ctr_buf *out, const void *obj,
                          const void *ctx, const struct ctr__jaeger_cut *cut)
{
    (void)ctx;
    return ctr__jaeger_put_process(out, &x->scratch, obj, cut);
}

/* Size of the encoding under `cut` (via x->trial), or SIZE_MAX on error. */
static size_t trial_size(struct jaeger_agent *x, encode_fn fn, const void *obj, const void *ctx,
                         const struct ctr__jaeger_cut *cut)
{
    ctr_buf_reset(&x->trial);
    if (fn(x, &x->trial, obj, ctx, cut) != 0 || x->trial.err)
        return SIZE_MAX;
    return x->trial.len;
}

/*
 * Find a cut under which the encoding takes at most `budget` bytes: logs out;
 * then the largest value cap that fits; else values cut to SHORT_VALUE bytes
 * and as many leading attributes as fit. Returns 0 with *cut set, CTR_ETOOBIG
 * when even no attribute at all does not fit, or CTR_ENOMEM.
 */
static int find_cut(struct jaeger_agent *x, encode_fn fn, const void *obj, const void *ctx,
                    size_t longest, uint32_t n_attrs, size_t budget, struct ctr__jaeger_cut *cut)
{
    ctr__jaeger_cut_none(cut);
    cut->drop_logs = true;
    cut->mark = true;
    size_t n = trial_size(x, fn, obj, ctx, cut);
    if (n == SIZE_MAX)
        return CTR_ENOMEM;
    if (n <= budget)
        return 0;

    /* Values capped at `lo` fit, at `hi` do not (hi = no cap at all). */
    cut->max_value = 0;
    n = trial_size(x, fn, obj, ctx, cut);
    if (n == SIZE_MAX)
        return CTR_ENOMEM;
    if (n <= budget) {
        size_t lo = 0, hi = longest + 1;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            cut->max_value = mid;
            n = trial_size(x, fn, obj, ctx, cut);
            if (n == SIZE_MAX)
                return CTR_ENOMEM;
            if (n <= budget)
                lo = mid;
            else
                hi = mid;
        }
        cut->max_value = lo;
        return 0;
    }

    /* Too many tags even empty: keep the first `lo` attributes that fit. */
    cut->max_value = SHORT_VALUE;
    cut->max_attrs = 0;
    n = trial_size(x, fn, obj, ctx, cut);
    if (n == SIZE_MAX)
        return CTR_ENOMEM;
    if (n > budget)
        return CTR_ETOOBIG;
    uint32_t lo = 0, hi = n_attrs; /* hi: all attributes, known not to fit */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        cut->max_attrs = mid;
        n = trial_size(x, fn, obj, ctx, cut);
        if (n == SIZE_MAX)
            return CTR_ENOMEM;
        if (n <= budget)
            lo = mid;
        else
            hi = mid;
    }
    cut->max_attrs = lo;
    return 0;
}

/* ---- one batch ---------------------------------------------------------- */

/* Bytes of a datagram around its spans, for sequence id `seq`, except the
 * list header. */
static size_t frame_size(const struct jaeger_agent *x, int32_t seq)
{
    return ctr__jaeger_head_size(seq, x->process.len, 0) - 1 + ctr__jaeger_tail_size(seq);
}

/* Encode the process into x->process, cut down when larger than half a
 * datagram. Returns 0, CTR_ETOOBIG or CTR_ENOMEM. */
static int prepare_process(struct jaeger_agent *x, const struct ctr_resource *r)
{
    struct ctr__jaeger_cut cut;
    ctr__jaeger_cut_none(&cut);
    ctr_buf_reset(&x->process);
    int rc = ctr__jaeger_put_process(&x->process, &x->scratch, r, &cut);
    if (rc)
        return rc;
    size_t budget = x->limit / 2;
    if (x->process.len <= budget)
        return 0;
    size_t before = x->process.len;
    rc = find_cut(x, encode_process, r, NULL, ctr__jaeger_process_longest_value(r),
                  r ? r->attrs.len : 0, budget, &cut);
    if (rc)
        return rc;
    ctr_buf_reset(&x->process);
    rc = ctr__jaeger_put_process(&x->process, &x->scratch, r, &cut);
    if (rc == 0 && x->process.len > budget)
        rc = CTR_ETOOBIG;
    if (rc == 0) {
        ctr_log(x->warned_process ? CTR_LOG_DEBUG : CTR_LOG_WARNING,
                "chaostracing: %s: the resource takes %zu bytes, more than half a datagram; "
                "its attributes were cut down to %zu bytes (tag " CTR__JAEGER_TAG_TRUNCATED ")",
                x->base.destination, before, x->process.len);
        x->warned_process = true;
    }
    return rc;
}

/* Grow the slot array to `n` entries. 0 or CTR_ENOMEM. */
static int reserve_slots(struct jaeger_agent *x, size_t n)
{
    if (n <= x->slots_cap)
        return 0;
    struct slot *s = realloc(x->slots, n * sizeof *s);
    if (!s)
        return CTR_ENOMEM;
    x->slots = s;
    x->slots_cap = n;
    return 0;
}

/* The bytes of span slot `s`. */
static const uint8_t *slot_data(const struct jaeger_agent *x, const struct slot *s)
{
    return (s->where == IN_CUT ? x->cut.data : x->enc.data) + s->off;
}

/*
 * Make span `i` fit alone in a datagram of sequence id `seq`: re-encode it
 * cut down into x->cut. Returns 0, CTR_ETOOBIG (marked UNSENDABLE) or
 * CTR_ENOMEM.
 */
static int cut_span(struct jaeger_agent *x, const struct ctr_batch *batch, size_t i, int32_t seq)
{
    size_t frame = frame_size(x, seq) + 1;
    struct slot *s = &x->slots[i];
    if (frame >= x->limit) {
        s->where = UNSENDABLE;
        return CTR_ETOOBIG;
    }
    const struct ctr_span *span = batch->spans[i];
    struct ctr__jaeger_cut cut;
    int rc = find_cut(x, encode_span, span, batch->scope, ctr__jaeger_span_longest_value(span),
                      span->attrs.items ? span->attrs.len : 0, x->limit - frame, &cut);
    if (rc == 0) {
        size_t off = x->cut.len;
        rc = ctr__jaeger_put_span(&x->cut, &x->scratch, span, batch->scope, &cut);
        if (rc == 0 && x->cut.err)
            rc = x->cut.err;
        if (rc == 0 && frame + (x->cut.len - off) > x->limit)
            rc = CTR_ETOOBIG;
        if (rc == 0) {
            ctr_log(CTR_LOG_DEBUG,
                    "chaostracing: %s: span of %zu bytes cut down to %zu bytes to fit a datagram",
                    x->base.destination, s->len, x->cut.len - off);
            s->off = off;
            s->len = x->cut.len - off;
            s->where = IN_CUT;
            return 0;
        }
    }
    if (rc == CTR_ETOOBIG)
        s->where = UNSENDABLE;
    return rc;
}

/* Account for a batch: counters, the log line, and the return value. */
static int finish(struct jaeger_agent *x, size_t sent, size_t failed, const struct failure *f)
{
    if (sent)
        atomic_fetch_add(&x->base.stats.spans_exported, (uint_fast64_t)sent);
    if (failed == 0) {
        ctr__retry_report_success(&x->rs, x->base.destination);
        return 0;
    }
    ctr__retry_report_failure(&x->rs, x->base.destination, f->key, f->reason, 0, failed);
    if (sent == 0) {
        ctr__retry_count_failed(&x->base, failed);
        return f->rc ? f->rc : CTR_EIO;
    }
    /* Part of the batch went out: the processor counts it exported less the
     * spans reported here. */
    atomic_fetch_add(&x->base.stats.spans_rejected, (uint_fast64_t)failed);
    return 0;
}

/* Describe a send failure `rc` (errno `e`) of a datagram of `len` bytes. */
static void describe_send_failure(struct failure *f, int rc, int e, size_t len)
{
    char reason[160];
    switch (rc) {
    case CTR_ECONNECT:
        note_failure(f, rc, "refused", "connection refused (no agent listening on that port)");
        return;
    case CTR_ETIMEOUT:
        note_failure(f, rc, "full", "socket send buffer full (EAGAIN)");
        return;
    case CTR_ETOOBIG:
        snprintf(reason, sizeof reason, "datagram of %zu bytes too large (EMSGSIZE)", len);
        note_failure(f, rc, "msgsize", reason);
        return;
    default:
        snprintf(reason, sizeof reason, "send: %s", strerror(e));
        note_failure(f, rc, "send", reason);
        return;
    }
}

/* export_batch op. Returns 0 when every span went out in an accepted
 * datagram (or some did and the rest were counted as rejected), else the
 * CTR_E* of the first failure. */
static int jaeger_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                         uint64_t deadline_ns)
{
    struct jaeger_agent *x = (struct jaeger_agent *)e;
    struct failure f = {0};
    size_t n = batch ? batch->len : 0;
    if (n == 0)
        return 0;
    if (x->shut) {
        note_failure(&f, CTR_ESHUTDOWN, "shutdown", "the exporter is shut down");
        return finish(x, 0, n, &f);
    }
    if (!x->udp) {
        /* Name resolution may wait on DNS: it happens here, on the export
         * path, never in the thread that configures tracing. */
        char uerr[256] = "";
        int orc = ctr__udp_open(x->host, x->port, &x->udp, uerr, sizeof uerr);
        if (orc) {
            note_failure(&f, orc, orc == CTR_ENOMEM ? "nomem" : "open",
                         uerr[0] ? uerr : ctr_strerror(orc));
            return finish(x, 0, n, &f);
        }
    }

    /* 1. The process, then every span on its own. */
    int rc = prepare_process(x, batch->resource);
    if (rc == 0)
        rc = reserve_slots(x, n);
    if (rc) {
        note_failure(&f, rc, rc == CTR_ENOMEM ? "nomem" : "process",
                     rc == CTR_ENOMEM ? "out of memory"
                                      : "the resource does not fit in a datagram");
        return finish(x, 0, n, &f);
    }
    ctr_buf_reset(&x->enc);
    ctr_buf_reset(&x->cut);
    struct ctr__jaeger_cut none;
    ctr__jaeger_cut_none(&none);
    for (size_t i = 0; i < n; i++) {
        size_t off = x->enc.len;
        rc = ctr__jaeger_put_span(&x->enc, &x->scratch, batch->spans[i], batch->scope, &none);
        if (rc == 0 && x->enc.err)
            rc = x->enc.err;
        if (rc) {
            note_failure(&f, rc, "nomem", "out of memory");
            return finish(x, 0, n, &f);
        }
        x->slots[i] = (struct slot){.off = off, .len = x->enc.len - off, .where = IN_ENC};
    }

    /* 2. Fill datagrams span by span and send them. */
    size_t sent = 0, failed = 0, i = 0;
    while (i < n) {
        if (ctr_monotonic_ns() >= deadline_ns) {
            note_failure(&f, CTR_ETIMEOUT, "timeout", "deadline passed before every span was sent");
            failed += n - i;
            break;
        }
        int32_t seq = x->seq;
        size_t frame = frame_size(x, seq);
        if (frame + ctr__thrift_list_header_size(1) + x->slots[i].len > x->limit) {
            rc = cut_span(x, batch, i, seq);
            if (rc) {
                char reason[160];
                snprintf(reason, sizeof reason,
                         "a span does not fit in a %u-byte datagram even cut down", x->limit);
                note_failure(&f, rc, rc == CTR_ENOMEM ? "nomem" : "toobig",
                             rc == CTR_ENOMEM ? "out of memory" : reason);
                failed++;
                i++;
                continue;
            }
        }
        size_t k = 1, total = x->slots[i].len;
        while (i + k < n) {
            size_t l = x->slots[i + k].len;
            if (frame + ctr__thrift_list_header_size((uint32_t)(k + 1)) + total + l > x->limit)
                break;
            total += l;
            k++;
        }

        ctr_buf_reset(&x->pkt);
        ctr__jaeger_put_head(&x->pkt, seq, x->process.data, x->process.len, (uint32_t)k);
        for (size_t j = i; j < i + k; j++)
            ctr_buf_append(&x->pkt, slot_data(x, &x->slots[j]), x->slots[j].len);
        ctr__jaeger_put_tail(&x->pkt, seq);
        if (x->pkt.err) {
            note_failure(&f, x->pkt.err, "nomem", "out of memory");
            failed += n - i;
            break;
        }
        x->seq = seq == INT32_MAX ? 0 : seq + 1;

        int err_no = 0;
        rc = ctr__udp_send(x->udp, x->pkt.data, x->pkt.len, deadline_ns, &err_no);
        if (rc == 0) {
            int pending = ctr__udp_pending_error(x->udp);
            if (pending) {
                err_no = pending;
                rc = pending == ECONNREFUSED ? CTR_ECONNECT : CTR_EIO;
            }
        }
        if (rc == 0) {
            sent += k;
            i += k;
            continue;
        }
        if (rc == CTR_ETOOBIG && x->limit > MIN_PACKET) {
            size_t lower = x->pkt.len - x->pkt.len / 8;
            if (lower >= x->limit)
                lower = x->limit - x->limit / 8;
            if (lower < MIN_PACKET)
                lower = MIN_PACKET;
            ctr_log(CTR_LOG_WARNING,
                    "chaostracing: %s refused a datagram of %zu bytes (EMSGSIZE); sending at "
                    "most %zu bytes per datagram from now on",
                    x->base.destination, x->pkt.len, lower);
            x->limit = (uint32_t)lower;
            /* The process may now be too big for half a datagram. */
            if (prepare_process(x, batch->resource) != 0) {
                note_failure(&f, CTR_ETOOBIG, "process", "the resource does not fit in a datagram");
                failed += n - i;
                break;
            }
            continue; /* the same spans again, in smaller datagrams */
        }
        describe_send_failure(&f, rc, err_no, x->pkt.len);
        if (rc == CTR_ECONNECT) {
            failed += n - i; /* nobody listens: do not send the rest */
            break;
        }
        failed += k;
        i += k;
    }

    if (x->enc.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->enc);
    if (x->cut.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->cut);
    if (x->trial.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->trial);
    if (x->scratch.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->scratch);
    return finish(x, sent, failed, &f);
}

/* shutdown op: nothing is buffered; close the socket. Idempotent. */
static int jaeger_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct jaeger_agent *x = (struct jaeger_agent *)e;
    x->shut = true;
    ctr__udp_close(x->udp);
    x->udp = NULL;
    return 0;
}

/* destroy op: free everything the exporter owns. */
static void jaeger_destroy(struct ctr_exporter *e)
{
    struct jaeger_agent *x = (struct jaeger_agent *)e;
    ctr__udp_close(x->udp);
    ctr_buf_free(&x->process);
    ctr_buf_free(&x->enc);
    ctr_buf_free(&x->cut);
    ctr_buf_free(&x->trial);
    ctr_buf_free(&x->pkt);
    ctr_buf_free(&x->scratch);
    free(x->slots);
    free(x);
}

static const struct ctr_exporter_ops jaeger_agent_ops = {
    .name = "jaeger-thrift",
    .export_batch = jaeger_export,
    .shutdown = jaeger_shutdown,
    .after_fork_child = NULL, /* nothing to drop: see the comment at the top */
    .destroy = jaeger_destroy,
};

/* Creates the exporter; see exporter.h. On error nothing is left allocated. */
int ctr_jaeger_agent_exporter_new(const struct ctr_jaeger_agent_options *opt,
                                  struct ctr_exporter **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    const char *host = opt && opt->host && *opt->host ? opt->host : DEFAULT_HOST;
    uint16_t port = opt && opt->port ? opt->port : DEFAULT_PORT;
    uint32_t max_packet = opt && opt->max_packet ? opt->max_packet : DEFAULT_MAX_PACKET;
    if (max_packet < MIN_PACKET || max_packet > MAX_PACKET) {
        if (err && errlen)
            snprintf(err, errlen, "Jaeger agent: max_packet must be %u..%u bytes, got %u",
                     MIN_PACKET, MAX_PACKET, max_packet);
        return CTR_EINVAL;
    }
    struct jaeger_agent *x = calloc(1, sizeof *x);
    if (!x)
        return CTR_ENOMEM;
    if (strlen(host) >= sizeof x->host) {
        if (err && errlen)
            snprintf(err, errlen, "Jaeger agent: the host name is too long");
        free(x);
        return CTR_EINVAL;
    }
    /* Resolved on the first export (ctr__udp_open), not here. */
    snprintf(x->host, sizeof x->host, "%s", host);
    x->port = port;
    ctr_exporter_init(&x->base, &jaeger_agent_ops);
    bool v6 = strchr(host, ':') && host[0] != '[';
    snprintf(x->base.destination, sizeof x->base.destination, "udp://%s%s%s:%u", v6 ? "[" : "",
             host, v6 ? "]" : "", (unsigned)port);
    x->max_packet = max_packet;
    x->limit = max_packet;
    ctr__retry_init(&x->rs, x);
    *out = &x->base;
    return 0;
}
