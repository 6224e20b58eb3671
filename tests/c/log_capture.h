/*
 * Test helper (header-only): capture the library's log lines so a test can
 * count them. Install with logs_reset() (or ctr_log_set_sink(log_sink,
 * NULL)); the first 64 lines since the last reset are kept.
 */
#ifndef CTR_TEST_LOG_CAPTURE_H
#define CTR_TEST_LOG_CAPTURE_H

#include <chaostracing/common.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LOG_CAPTURE_MAX 64

struct logline {
    int level;
    char msg[1024];
};
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct logline logs[LOG_CAPTURE_MAX];
static size_t n_logs;

/* The sink: keeps the line (from any thread) while there is room. */
static inline void log_sink(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    if (n_logs < LOG_CAPTURE_MAX) {
        logs[n_logs].level = level;
        snprintf(logs[n_logs].msg, sizeof logs[n_logs].msg, "%s", msg);
        n_logs++;
    }
    pthread_mutex_unlock(&log_mu);
}

/* Install the sink and forget the lines captured so far. */
static inline void logs_reset(void)
{
    ctr_log_set_sink(log_sink, NULL);
    pthread_mutex_lock(&log_mu);
    n_logs = 0;
    pthread_mutex_unlock(&log_mu);
}

/* Captured lines at `level` (any level when < 0) that contain `needle`. */
static inline size_t logs_count(int level, const char *needle)
{
    size_t n = 0;
    pthread_mutex_lock(&log_mu);
    for (size_t i = 0; i < n_logs; i++)
        n += (level < 0 || logs[i].level == level) && strstr(logs[i].msg, needle) != NULL;
    pthread_mutex_unlock(&log_mu);
    return n;
}

#endif
