/*
 * libFuzzer target: ctr_parse_kv_list(), the OTEL_*_HEADERS and
 * OTEL_RESOURCE_ATTRIBUTES parser. A success returns a non-empty array (or
 * NULL and 0 for a blank list) of non-NULL names and values; a failure
 * returns nothing.
 */
#include <chaostracing/config.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct ctr_header *h = (struct ctr_header *)1;
    size_t n = 12345;
    int rc = ctr_parse_kv_list(s, &h, &n);
    if (rc == 0) {
        if ((h == NULL) != (n == 0))
            abort();
        for (size_t i = 0; i < n; i++)
            if (!h[i].name || !h[i].value)
                abort();
        ctr_headers_free(h, n);
    } else if ((rc != CTR_EPARSE && rc != CTR_ENOMEM) || h != NULL || n != 0) {
        abort();
    }
    free(s);
    return 0;
}
