/*
 * chaostracing: errors, clocks, logging and the byte buffer shared by every
 * part of the library. Plain C11, no Python.
 */
#ifndef CHAOSTRACING_COMMON_H
#define CHAOSTRACING_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Struct layouts of the library's objects (spans, tracers, exporters,
 * processors) are visible only to code built with CHAOSTRACING_INTERNAL: the
 * library itself and its C tests. Everyone else (the Python binding, the
 * command-line tool) holds pointers and calls accessors, so a layout change
 * can never be misread outside the library.
 */
#define CTR_VERSION "0.1.0"
#define CTR_SCOPE_NAME "chaostracing"

/*
 * Error codes. Fallible functions return 0 on success or one of the negative
 * values below. The X-macro keeps the enum, ctr_strerror() and ctr_err_name()
 * in step.
 */
#define CTR_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(IO, -3, "input/output error")                                                                \
    X(TIMEOUT, -4, "deadline exceeded")                                                            \
    X(CONNECT, -5, "connection failed")                                                            \
    X(HTTP, -6, "non-retryable HTTP status")                                                       \
    X(RETRYABLE, -7, "retryable failure")                                                          \
    X(FULL, -8, "queue full")                                                                      \
    X(SHUTDOWN, -9, "already shut down")                                                           \
    X(TOOBIG, -10, "message too large")                                                            \
    X(PARSE, -11, "malformed input")                                                               \
    X(UNSUPPORTED, -12, "unsupported")                                                             \
    X(DISABLED, -13, "disabled")                                                                   \
    X(TLS, -14, "TLS failure")                                                                     \
    X(FORMAT, -15, "well-formed input of another kind")

enum ctr_errno {
    CTR_OK = 0,
#define CTR__ERR_ENUM(name, val, msg) CTR_E##name = (val),
    CTR_ERRNO_MAP(CTR__ERR_ENUM)
#undef CTR__ERR_ENUM
};

/* Human text for an error code; never NULL. */
const char *ctr_strerror(int err);
/* Symbolic name ("CTR_ETIMEOUT") for an error code; never NULL. */
const char *ctr_err_name(int err);

/* Wall-clock time in nanoseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t ctr_now_ns(void);
/* Monotonic time in nanoseconds; every deadline in the library uses it. */
uint64_t ctr_monotonic_ns(void);
/* A monotonic deadline `ms` milliseconds from now. */
uint64_t ctr_deadline_after_ms(uint64_t ms);

/*
 * Logging. The library never writes to stdout/stderr on its own: every message
 * goes to the process-wide sink. Levels use Python's logging numbers so the
 * binding can forward them unchanged. The sink may be called from any thread,
 * including the export worker, so it must be thread-safe and must not block.
 * Without a sink, messages at WARNING and above go to stderr.
 */
enum ctr_log_level {
    CTR_LOG_DEBUG = 10,
    CTR_LOG_INFO = 20,
    CTR_LOG_WARNING = 30,
    CTR_LOG_ERROR = 40,
};
typedef void (*ctr_log_fn)(void *ud, int level, const char *msg);
void ctr_log_set_sink(ctr_log_fn fn, void *ud);
/* Format and emit one message (truncated at 1 KiB). */
void ctr_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * Growable byte buffer. All writers append; on allocation failure the buffer
 * records CTR_ENOMEM in `err`, later appends become no-ops, and the encoder
 * reports the error once at the end. Initialise with {0}; free with
 * ctr_buf_free().
 */
struct ctr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err;
};
/* Make room for `extra` more bytes; 0 or CTR_ENOMEM (sticky in b->err). */
int ctr_buf_reserve(struct ctr_buf *b, size_t extra);
void ctr_buf_append(struct ctr_buf *b, const void *p, size_t n);
void ctr_buf_putc(struct ctr_buf *b, uint8_t c);
void ctr_buf_puts(struct ctr_buf *b, const char *s);
void ctr_buf_printf(struct ctr_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void ctr_buf_reset(struct ctr_buf *b); /* len = 0, keeps memory, clears err */
void ctr_buf_free(struct ctr_buf *b);

/* A borrowed or arena-owned string; `ptr` is always NUL-terminated when it
 * comes from the library, `len` excludes the NUL. */
struct ctr_str {
    const char *ptr;
    size_t len;
};

/*
 * Bump allocator (src/core/arena.c): memory comes in blocks released all at
 * once. Spans, resources and decoded traces each own one. Initialise with
 * {0}; `limit` (0 = none) caps the bytes held in blocks.
 */
struct ctr_arena_block;
struct ctr_arena {
    struct ctr_arena_block *head;
    size_t used, cap; /* of head */
    size_t total;     /* bytes held in blocks */
    size_t limit;
};
/* `n` bytes aligned to 8; NULL when out of memory or over the limit. */
void *ctr_arena_alloc(struct ctr_arena *a, size_t n);
/* Copy `len` bytes and a NUL; NULL on out of memory. */
char *ctr_arena_strndup(struct ctr_arena *a, const char *s, size_t len);
/* Release every block but the first one allocated, which is kept for reuse. */
void ctr_arena_reset(struct ctr_arena *a);
/* Release everything; the arena can be used again (its limit is kept). */
void ctr_arena_free(struct ctr_arena *a);

/* Hex and base64 (src/core/codec.c). */
/* The value of a hex digit of either case, or -1. */
int ctr_hex_digit(int c);
/* Lower-case hex of `n` bytes into `out` (2n chars + NUL). */
void ctr_hex_encode(const uint8_t *in, size_t n, char *out);
/* Strict lower-case hex decode of exactly 2n chars; 0 or CTR_EPARSE. */
int ctr_hex_decode(const char *in, size_t n_bytes, uint8_t *out);
/* Bytes needed to base64-encode `n` bytes (with padding, no NUL). */
size_t ctr_base64_len(size_t n);
/* Standard base64 with padding into `out` (ctr_base64_len(n) bytes, no NUL);
 * returns the length written. */
size_t ctr_base64_encode(const uint8_t *in, size_t n, char *out);
/* Append the bytes that `n` chars of base64 (standard or URL-safe alphabet,
 * padding optional) stand for to `out`. Returns 0, CTR_EPARSE or CTR_ENOMEM. */
int ctr_base64_decode(const char *in, size_t n, struct ctr_buf *out);

/* A name/value pair (HTTP header, gRPC metadata, key=value list member);
 * both strings are NUL-terminated. */
struct ctr_header {
    char *name;
    char *value;
};

/* TLS settings shared by the network exporters and transports. PEM file
 * paths; NULL means the system trust store and no client certificate. */
struct ctr_tls_options {
    const char *ca_file;
    const char *client_cert;
    const char *client_key;
    bool insecure_skip_verify; /* only when explicitly asked; logs a warning */
};

#endif
