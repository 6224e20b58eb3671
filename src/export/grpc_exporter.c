/*
 * gRPC exporters: encoder + length-prefixed framing + a unary call through a
 * transport/grpc.h channel + the retry policy, all inside one deadline.
 *
 * Retry policy (OTLP specification, "OTLP/gRPC Throttling" and "Failures"):
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and
 * DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the server sent a
 * RetryInfo, and connection failures unless shutdown has begun; each wait is
 * the backoff of export/retry.h, at least the RetryInfo delay. Every other
 * status fails the batch at once with one WARNING naming the code.
 */
#include "export/grpc_exporter.h"

#include "export/retry.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 10000u
/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct grpc_exporter {
    struct ctr_exporter base;
    const struct ctr__grpc_exporter_def *def;
    struct ctr__grpc_channel *ch;
    uint32_t timeout_ms;
    struct ctr_buf enc;   /* the encoded request message */
    struct ctr_buf frame; /* its length-prefixed (maybe compressed) form */
    struct ctr__grpc_result res;
    struct ctr__retry_state retry;
    bool shut;
};

/* Account for an OK answer: read the partial success, update the counters,
 * log a rejection and a recovery. */
static void on_success(struct grpc_exporter *x, size_t n_spans)
{
    const char *dest = x->base.destination;
    int64_t rejected = 0;
    char msg[256] = "";
    if (x->res.response_err) {
        ctr_log(CTR_LOG_DEBUG,
                "chaostracing: export to %s: the answer's message could not be read (%s)", dest,
                ctr_strerror(x->res.response_err));
    } else if (x->def->decode_response && x->res.response.len > 0) {
        if (x->def->decode_response(x->res.response.data, x->res.response.len, &rejected, msg,
                                    sizeof msg) != 0) {
            ctr_log(CTR_LOG_DEBUG,
                    "chaostracing: export to %s: could not decode the response (%zu bytes)", dest,
                    x->res.response.len);
            rejected = 0;
            msg[0] = '\0';
        }
    }
    ctr__retry_delivered(&x->retry, &x->base, dest, n_spans, rejected, msg);
}

/* Describe in `f` a status other than OK; true when the OTLP specification
 * calls it retryable (RESOURCE_EXHAUSTED only with a RetryInfo). */
static bool status_failure(struct ctr__retry_failure *f, const struct ctr__grpc_result *r)
{
    const char *name = ctr__grpc_code_name(r->code);
    snprintf(f->key, sizeof f->key, "grpc:%s", name);
    snprintf(f->reason, sizeof f->reason, "gRPC status %s (%d)%s%s", name, r->code,
             r->message[0] ? ": " : "", r->message);
    bool retry = ctr__grpc_code_retryable(r->code, r->has_retry_info);
    f->err = retry                                    ? CTR_ERETRYABLE
             : r->code == CTR__GRPC_DEADLINE_EXCEEDED ? CTR_ETIMEOUT
                                                      : CTR_EHTTP;
    return retry;
}

/* The retry policy's name for a call that got no status. */
static enum ctr__retry_fault fault_of(enum ctr__grpc_outcome o)
{
    switch (o) {
    case CTR__GRPC_CONNECT:
        return CTR__RETRY_FAULT_CONNECT;
    case CTR__GRPC_TIMEOUT:
        return CTR__RETRY_FAULT_TIMEOUT;
    case CTR__GRPC_TLS:
        return CTR__RETRY_FAULT_TLS;
    default:
        return CTR__RETRY_FAULT_IO;
    }
}

/*
 * Call with retries until an OK status, a final answer, or the deadline.
 * Returns 0 or the CTR_E* of the last attempt; counts and logs failures.
 */
static int call_with_retries(struct grpc_exporter *x, size_t n_spans, uint64_t deadline_ns)
{
    uint64_t backoff_ms = CTR__RETRY_BACKOFF_FIRST_MS;
    int attempts = 0;
    struct ctr__retry_failure f = {0};
    struct ctr__grpc_result *r = &x->res;

    for (;;) {
        int rc = ctr__grpc_call(x->ch, x->frame.data, x->frame.len, deadline_ns, r);
        if (rc == CTR_ETIMEOUT) {
            /* The deadline passed before this attempt could start; keep the
             * previous attempt's reason if there was one. */
            if (attempts == 0)
                ctr__retry_failure_set(&f, CTR_ETIMEOUT, "timeout",
                                       "deadline passed before the call was made");
            break;
        }
        if (rc) {
            ctr__retry_failure_set(&f, rc, "nomem", "out of memory");
            break;
        }
        attempts++;
        bool retry;
        int64_t min_wait_ms = -1;
        if (r->outcome == CTR__GRPC_STATUS) {
            if (r->code == CTR__GRPC_OK) {
                on_success(x, n_spans);
                return 0;
            }
            retry = status_failure(&f, r);
            min_wait_ms = r->retry_delay_ms;
        } else {
            retry = ctr__retry_fault(&f, fault_of(r->outcome), r->reason, &x->base, deadline_ns);
        }
        if (!retry)
            break;
        /* A server that answered is worth waiting for even during shutdown;
         * a connection failure is not. */
        bool stop_on_final = f.err == CTR_ECONNECT || f.err == CTR_ETIMEOUT;
        if (!ctr__retry_backoff(&x->retry, &x->base, &backoff_ms, min_wait_ms, deadline_ns,
                                stop_on_final))
            break;
    }
    return ctr__retry_give_up(&x->retry, &x->base, x->base.destination, &f, attempts, n_spans);
}

int ctr__grpc_exporter_export(struct ctr_exporter *e, const struct ctr_batch *batch,
                              uint64_t deadline_ns)
{
    struct grpc_exporter *x = (struct grpc_exporter *)e;
    if (!batch || batch->len == 0)
        return 0; /* never send an empty request */
    if (x->shut) {
        ctr__retry_count_failed(&x->base, batch->len);
        return CTR_ESHUTDOWN;
    }
    uint64_t own = ctr_deadline_after_ms(x->timeout_ms);
    if (own < deadline_ns)
        deadline_ns = own;

    ctr_buf_reset(&x->enc);
    int rc = x->def->encode(batch, &x->enc);
    if (rc == 0 && x->enc.err)
        rc = x->enc.err;
    if (rc == 0)
        rc = ctr__grpc_frame(&x->frame, x->enc.data, x->enc.len, ctr__grpc_channel_gzip(x->ch));
    if (rc != 0)
        ctr__retry_encode_failed(&x->retry, &x->base, x->base.destination, rc,
                                 CTR__GRPC_MAX_MESSAGE, batch->len);
    else
        rc = call_with_retries(x, batch->len, deadline_ns);

    /* Do not keep a one-off huge batch's memory around. */
    if (x->enc.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->enc);
    if (x->frame.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->frame);
    if (x->res.http.body.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->res.http.body);
    if (x->res.response.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->res.response);
    return rc;
}

/* Nothing is buffered here: close the connection. Idempotent. */
int ctr__grpc_exporter_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct grpc_exporter *x = (struct grpc_exporter *)e;
    x->shut = true;
    ctr__grpc_channel_close(x->ch);
    return 0;
}

/* Abandon the parent's connection (a fresh one is made on the next call) and
 * reseed the jitter. */
void ctr__grpc_exporter_after_fork(struct ctr_exporter *e)
{
    struct grpc_exporter *x = (struct grpc_exporter *)e;
    ctr__grpc_channel_after_fork(x->ch);
    ctr__retry_after_fork(&x->retry, x);
}

/* Free everything the exporter owns. */
void ctr__grpc_exporter_destroy(struct ctr_exporter *e)
{
    struct grpc_exporter *x = (struct grpc_exporter *)e;
    ctr__grpc_channel_free(x->ch);
    ctr_buf_free(&x->enc);
    ctr_buf_free(&x->frame);
    ctr__grpc_result_free(&x->res);
    free(x);
}

int ctr__grpc_exporter_new(const struct ctr__grpc_exporter_def *def,
                           const struct ctr__grpc_options *o, uint32_t timeout_ms,
                           struct ctr_exporter **out, char *err, size_t errlen)
{
    *out = NULL;
    struct grpc_exporter *x = calloc(1, sizeof *x);
    if (!x) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return CTR_ENOMEM;
    }
    struct ctr__grpc_options co = *o;
    co.method = def->method;
    co.what = def->what;
    int rc = ctr__grpc_channel_new(&co, &x->ch, err, errlen);
    if (rc) {
        free(x);
        return rc;
    }
    ctr_exporter_init(&x->base, def->ops);
    snprintf(x->base.destination, sizeof x->base.destination, "%s",
             ctr__grpc_channel_target(x->ch));
    x->def = def;
    x->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
    ctr__grpc_result_init(&x->res);
    ctr__retry_init(&x->retry, x);
    *out = &x->base;
    return 0;
}
