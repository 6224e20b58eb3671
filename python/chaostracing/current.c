/*
 * The current span, shared by the three APIs.
 *
 * In order: OpenTelemetry's current span, when its API is loaded (our spans
 * entered with `with` are attached there too, and so is every activity's
 * span, so OpenTelemetry code sees one nesting); else the span entered last
 * in this context (a ContextVar, so asyncio tasks and threads keep their
 * own); else the activity (or hypothesis) running in this thread, which is
 * how background activities get theirs; else the current phase. A span
 * entered and then ended without leaving its block no longer counts.
 */
#include "binding.h"

/* The span a context-variable value stands for, if it is still open. */
static PyObject *open_entered(ctl_state *st, PyObject *v)
{
    if (!ctl_span_check(st, v))
        return NULL;
    ctl_span *s = (ctl_span *)v;
    bool open = s->view ? ctl_span_target(st, s) != NULL : !s->ended;
    return open && ctr_span_context_is_valid(&s->ctx) ? v : NULL;
}

/* The innermost span the control owns for this thread: its activity or
 * hypothesis, else the current phase. Read with no Python code running. */
static struct ctr_span *owned_current(ctl_state *st)
{
    if (!st->tracer)
        return NULL;
    struct ctr_span *s = open_table_innermost(&st->open, PyThread_get_thread_ident());
    return s ? s : st->rollbacks ? st->rollbacks : st->method ? st->method : st->experiment;
}

PyObject *ctl_current_span(ctl_state *st, PyObject *module)
{
    struct ctr_span_context ctx;
    PyObject *otel = NULL;
    int r = ctl_otel_on(st) ? ctl_otel_current(st, &ctx, &otel, NULL) : 0;
    if (r > 0 && otel)
        return otel; /* ours, or another SDK's: that one is current */
    Py_XDECREF(otel);
    ctl_hold_error();
    PyObject *v = NULL;
    if (PyContextVar_Get(st->current, NULL, &v) == 0 && v) {
        PyObject *s = open_entered(st, v);
        Py_DECREF(v);
        if (s)
            return Py_NewRef(s);
    }
    ctl_hold_error();
    struct ctr_span *own = owned_current(st);
    if (!own)
        return NULL;
    ctr_span_get_context(own, &ctx);
    return ctl_span_new(module, NULL, &ctx, true, NULL);
}

bool ctl_current_context(ctl_state *st, struct ctr_span_context *out, PyObject **baggage,
                         char *ts_buf)
{
    if (baggage)
        *baggage = NULL;
    if (ctl_otel_on(st)) {
        PyObject *span = NULL;
        int r = ctl_otel_current(st, out, &span, ts_buf);
        if (r > 0 && baggage && ctl_span_check(st, span))
            *baggage = ((ctl_span *)span)->baggage; /* the span entered keeps it */
        Py_XDECREF(span);
        ctl_hold_error();
        if (r > 0)
            return true;
    }
    PyObject *v = NULL;
    if (PyContextVar_Get(st->current, NULL, &v) == 0 && v) {
        PyObject *s = open_entered(st, v);
        if (s) {
            *out = ((ctl_span *)s)->ctx;
            ctl_ctx_keep_tracestate(out, ts_buf);
            if (baggage)
                *baggage = ((ctl_span *)s)->baggage;
        }
        Py_DECREF(v); /* the context still holds it */
        if (s)
            return true;
    }
    ctl_hold_error();
    struct ctr_span *own = owned_current(st);
    ctr_span_get_context(own, out);
    ctl_ctx_keep_tracestate(out, ts_buf); /* the span may end while Python runs */
    return own != NULL;
}

PyObject *ctl_current_push(ctl_state *st, PyObject *span)
{
    PyObject *cv = PyContextVar_Set(st->current, span);
    if (!cv)
        return NULL;
    PyObject *ot = NULL;
    if (ctl_otel_on(st) && !(ot = ctl_otel_push(st, span)))
        ctl_hold_error(); /* our own nesting still works */
    PyObject *token = PyTuple_Pack(2, cv, ot ? ot : Py_None);
    if (!token) {
        ctl_otel_pop(st, ot);
        PyContextVar_Reset(st->current, cv);
        PyErr_NoMemory();
    }
    Py_DECREF(cv);
    Py_XDECREF(ot);
    return token;
}

void ctl_current_pop(ctl_state *st, PyObject *token)
{
    if (!token || !PyTuple_Check(token) || PyTuple_GET_SIZE(token) != 2)
        return;
    ctl_otel_pop(st, PyTuple_GET_ITEM(token, 1));
    /* A token of another context (a scope closed in another thread) cannot
     * be reset there: that context keeps its value. */
    if (PyContextVar_Reset(st->current, PyTuple_GET_ITEM(token, 0)) < 0)
        ctl_hold_error();
}
