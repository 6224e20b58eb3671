/*
 * libFuzzer target: ctr_otlp_proto_decode_response() on arbitrary bytes.
 * The message must always come back NUL-terminated within its buffer.
 */
#include <chaostracing/encode.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[64];
    int64_t rejected = -12345;
    memset(msg, 'x', sizeof msg);
    int rc = ctr_otlp_proto_decode_response(data, size, &rejected, msg, sizeof msg);
    if (rc != 0 && rc != CTR_EPARSE)
        abort();
    if (rc == 0 && memchr(msg, '\0', sizeof msg) == NULL)
        abort();
    /* A tiny message buffer must be honoured too. */
    char one[1];
    rc = ctr_otlp_proto_decode_response(data, size, &rejected, one, sizeof one);
    if (rc == 0 && one[0] != '\0')
        abort();
    return 0;
}
