/*
 * Errors, clocks, logging, the byte buffer and hex helpers.
 */
#include <chaostracing/common.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ctr_strerror(int err)
{
    switch (err) {
    case CTR_OK:
        return "success";
#define CTR__ERR_MSG(name, val, msg)                                                               \
    case CTR_E##name:                                                                              \
        return msg;
        CTR_ERRNO_MAP(CTR__ERR_MSG)
#undef CTR__ERR_MSG
    }
    return "unknown error";
}

const char *ctr_err_name(int err)
{
    switch (err) {
    case CTR_OK:
        return "CTR_OK";
#define CTR__ERR_NAME(name, val, msg)                                                              \
    case CTR_E##name:                                                                              \
        return "CTR_E" #name;
        CTR_ERRNO_MAP(CTR__ERR_NAME)
#undef CTR__ERR_NAME
    }
    return "CTR_EUNKNOWN";
}

uint64_t ctr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ctr_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ctr_deadline_after_ms(uint64_t ms)
{
    return ctr_monotonic_ns() + ms * 1000000u;
}

/* The process-wide log sink, swapped atomically as a pair under a lock. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static ctr_log_fn log_fn;
static void *log_ud;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

/* Hold the log lock across fork() so a child never inherits it locked. */
static void log_prepare(void)
{
    pthread_mutex_lock(&log_lock);
}

static void log_parent(void)
{
    pthread_mutex_unlock(&log_lock);
}

/* The child's only thread is the one that took the lock in log_prepare, so
 * it releases it (initialising a mutex twice is undefined, and
 * ThreadSanitizer then believes the child holds it for ever). */
static void log_child(void)
{
    pthread_mutex_unlock(&log_lock);
}

static void log_register_atfork(void)
{
    pthread_atfork(log_prepare, log_parent, log_child);
}

void ctr_log_set_sink(ctr_log_fn fn, void *ud)
{
    pthread_once(&log_once, log_register_atfork);
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ud = ud;
    pthread_mutex_unlock(&log_lock);
}

void ctr_log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    pthread_once(&log_once, log_register_atfork);
    pthread_mutex_lock(&log_lock);
    ctr_log_fn fn = log_fn;
    void *ud = log_ud;
    pthread_mutex_unlock(&log_lock);
    if (fn)
        fn(ud, level, msg);
    else if (level >= CTR_LOG_WARNING)
        fprintf(stderr, "%s\n", msg);
}

int ctr_buf_reserve(struct ctr_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (b->cap - b->len >= extra)
        return 0;
    size_t need = b->len + extra;
    if (need < b->len) {
        b->err = CTR_ENOMEM;
        return b->err;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->err = CTR_ENOMEM;
        return b->err;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void ctr_buf_append(struct ctr_buf *b, const void *p, size_t n)
{
    if (n == 0 || ctr_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ctr_buf_putc(struct ctr_buf *b, uint8_t c)
{
    if (ctr_buf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
}

void ctr_buf_puts(struct ctr_buf *b, const char *s)
{
    ctr_buf_append(b, s, strlen(s));
}

void ctr_buf_printf(struct ctr_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ctr_buf_append(b, small, (size_t)n);
        return;
    }
    if (ctr_buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ctr_buf_reset(struct ctr_buf *b)
{
    b->len = 0;
    b->err = 0;
}

void ctr_buf_free(struct ctr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}
