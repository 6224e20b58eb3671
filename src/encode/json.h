/*
 * JSON writer helpers shared by the JSON encoders (OTLP JSON, Zipkin) and the
 * command-line tool. Every helper appends to a ctr_buf and inherits its
 * sticky error; none allocates anything but buffer space. The string writer
 * itself is public: ctr_json_put_string() in chaostracing/encode.h.
 */
#ifndef CTR_ENCODE_JSON_H
#define CTR_ENCODE_JSON_H

#include "chaostracing/encode.h"

/* Longest text ctr__json_format_double() produces, NUL included. */
#define CTR__JSON_DOUBLE_MAX 32

/*
 * Format `d` as Python's repr() does (the shortest digits that read back to
 * the same double; fixed notation with ".0" for exponents -4..15, otherwise
 * "1.5e+300" style), or "NaN", "Infinity", "-Infinity". Writes a NUL-terminated
 * string to `out` and returns its length. The result does not depend on the
 * C locale.
 */
size_t ctr__json_format_double(double d, char out[CTR__JSON_DOUBLE_MAX]);

/* Append `n` raw bytes (already valid JSON). */
void ctr__json_put_raw(struct ctr_buf *b, const char *s, size_t n);
/* Append an unsigned / signed decimal number, bare (`123`) or as a JSON
 * string (`"123"`, as protobuf JSON writes 64-bit integers). */
void ctr__json_put_u64(struct ctr_buf *b, uint64_t v);
void ctr__json_put_i64(struct ctr_buf *b, int64_t v);
void ctr__json_put_u64_str(struct ctr_buf *b, uint64_t v);
void ctr__json_put_i64_str(struct ctr_buf *b, int64_t v);
/* Append a double as a JSON number, or "NaN" / "Infinity" / "-Infinity" as
 * JSON strings (the protobuf JSON convention). */
void ctr__json_put_double(struct ctr_buf *b, double d);
/* Append `true` or `false`. */
void ctr__json_put_bool(struct ctr_buf *b, bool v);
/* Append `n` bytes as a quoted lower-case hex string. */
void ctr__json_put_hex(struct ctr_buf *b, const uint8_t *p, size_t n);
/* Append `n` bytes as a quoted standard base64 string (with padding). */
void ctr__json_put_base64(struct ctr_buf *b, const uint8_t *p, size_t n);

#endif
