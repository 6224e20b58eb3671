/*
 * libFuzzer target: ctr_trace_data_append_line() on arbitrary bytes.
 *
 * Beyond "no crash, no leak, only documented results": whatever decodes must
 * survive a round trip. Each decoded batch is encoded, that line is decoded
 * again to one batch of as many spans, and encoding it gives the same bytes.
 */
#include <chaostracing/decode.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode batch `b`, decode the line, encode again: the two lines match. */
static void check_round_trip(const struct ctr_batch *b)
{
    struct ctr_buf first = {0}, second = {0};
    struct ctr_trace_data again;
    if (ctr_otlp_json_encode(b, &first) != 0)
        abort();
    ctr_trace_data_init(&again);
    if (ctr_trace_data_append_line(&again, (const char *)first.data, first.len, NULL, 0) != 0 ||
        again.n_batches != 1 || again.batches[0].len != b->len || again.spans_skipped != 0)
        abort();
    if (ctr_otlp_json_encode(&again.batches[0], &second) != 0 || second.len != first.len ||
        memcmp(first.data, second.data, first.len) != 0)
        abort();
    ctr_trace_data_free(&again);
    ctr_buf_free(&first);
    ctr_buf_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctr_trace_data d;
    char err[64];
    memset(err, 'x', sizeof err);
    ctr_trace_data_init(&d);
    int rc = ctr_trace_data_append_line(&d, (const char *)data, size, err, sizeof err);
    if (rc != 0 && rc != CTR_EPARSE && rc != CTR_EFORMAT && rc != CTR_ETOOBIG)
        abort();
    if (memchr(err, '\0', sizeof err) == NULL || (rc != 0 && err[0] == '\0'))
        abort();
    size_t spans = 0;
    for (size_t i = 0; i < d.n_batches; i++) {
        if (d.batches[i].len == 0)
            abort();
        spans += d.batches[i].len;
        check_round_trip(&d.batches[i]);
    }
    if (spans != d.n_spans || (rc != 0 && spans != 0))
        abort();
    ctr_trace_data_free(&d);
    return 0;
}
