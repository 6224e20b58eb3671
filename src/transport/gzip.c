/*
 * gzip compression through zlib. See gzip.h.
 */
#include "transport/gzip.h"

#include <string.h>
#include <zlib.h>

/* zlib counts in uInt: feed and drain it in slices of at most this. */
#define SLICE (1u << 30)
/* Room made in `out` before each deflate() call. */
#define OUT_STEP (64u * 1024u)

int ctr__gzip_compress(const uint8_t *in, size_t len, struct ctr_buf *out, size_t max_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 16: the largest window, with a gzip header and trailer. */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return CTR_ENOMEM;
    int rc = 0;
    size_t left = len;
    const uint8_t *p = in;
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
        if (zs.avail_in == 0 && left > 0) {
            uInt chunk = left > SLICE ? SLICE : (uInt)left;
            zs.next_in = (Bytef *)(uintptr_t)p;
            zs.avail_in = chunk;
            p += chunk;
            left -= chunk;
        }
        if (out->len > max_len) {
            rc = CTR_ETOOBIG;
            break;
        }
        if (ctr_buf_reserve(out, OUT_STEP)) {
            rc = CTR_ENOMEM;
            break;
        }
        size_t room = out->cap - out->len;
        if (room > SLICE)
            room = SLICE;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        ret = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
            rc = CTR_ENOMEM;
            break;
        }
    }
    deflateEnd(&zs);
    if (rc == 0 && out->len > max_len)
        rc = CTR_ETOOBIG;
    return rc;
}
