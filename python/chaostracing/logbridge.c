/*
 * The log bridge: the library logs from any thread (the export worker among
 * them) into a bounded queue; each hook drains it into the "chaostoolkit"
 * logger with the GIL held, so every message lands in chaostoolkit.log.
 */
#include "binding.h"

#include <pthread.h>
#include <string.h>

#define LOGQ_CAP 64
#define LOGQ_MSG 1024

static struct {
    pthread_mutex_t lock;
    int level[LOGQ_CAP];
    char msg[LOGQ_CAP][LOGQ_MSG];
    unsigned head, len, lost;
} logq = {.lock = PTHREAD_MUTEX_INITIALIZER};

void ctl_log_sink(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&logq.lock);
    if (logq.len == LOGQ_CAP) {
        logq.lost++;
    } else {
        unsigned i = (logq.head + logq.len) % LOGQ_CAP;
        logq.level[i] = level;
        snprintf(logq.msg[i], LOGQ_MSG, "%s", msg);
        logq.len++;
    }
    pthread_mutex_unlock(&logq.lock);
}

void ctl_logq_atfork_prepare(void)
{
    pthread_mutex_lock(&logq.lock);
}

void ctl_logq_atfork_parent(void)
{
    pthread_mutex_unlock(&logq.lock);
}

void ctl_logq_atfork_child(void)
{
    pthread_mutex_init(&logq.lock, NULL);
}

void ctl_log(ctl_state *st, int level, const char *msg)
{
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    if (!st->logger) {
        PyObject *logging = PyImport_ImportModule("logging");
        if (logging) {
            st->logger = PyObject_CallMethod(logging, "getLogger", "s", "chaostoolkit");
            Py_DECREF(logging);
        }
        if (!st->logger) {
            PyErr_Clear();
            fprintf(stderr, "%s\n", msg);
            PyErr_Restore(et, ev, etb);
            return;
        }
    }
    const char *prefix = strncmp(msg, "chaostracing", 12) == 0 ? "" : "chaostracing: ";
    PyObject *text = PyUnicode_FromFormat("%s%s", prefix, msg);
    if (!text) {
        PyErr_Clear();
        text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    }
    if (text) {
        PyObject *r = PyObject_CallMethod(st->logger, "log", "iO", level, text);
        Py_XDECREF(r);
        Py_DECREF(text);
    }
    ctl_hold_error(); /* a Ctrl-C inside a logging handler is not lost */
    PyErr_Restore(et, ev, etb);
}

void ctl_logf(ctl_state *st, int level, const char *fmt, ...)
{
    char msg[LOGQ_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctl_log(st, level, msg);
}

void ctl_drain_logs(ctl_state *st)
{
    for (;;) {
        int level;
        char msg[LOGQ_MSG];
        pthread_mutex_lock(&logq.lock);
        if (logq.len == 0) {
            unsigned lost = logq.lost;
            logq.lost = 0;
            pthread_mutex_unlock(&logq.lock);
            if (lost)
                ctl_logf(st, CTR_LOG_WARNING, "%u further messages were dropped", lost);
            return;
        }
        level = logq.level[logq.head];
        memcpy(msg, logq.msg[logq.head], LOGQ_MSG);
        logq.head = (logq.head + 1) % LOGQ_CAP;
        logq.len--;
        pthread_mutex_unlock(&logq.lock);
        ctl_log(st, level, msg);
    }
}
