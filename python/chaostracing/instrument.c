/*
 * The official OpenTelemetry instrumentations the control arguments name
 * (trace_request or trace_requests, trace_httpx, trace_urllib3,
 * trace_botocore), turned on against our TracerProvider for the run and off
 * again at cleanup. Which argument means which package is the library's
 * policy (CTR_INSTRUMENT_*); the Python names of the packages live here.
 */
#include "binding.h"

static const struct {
    unsigned bit;
    const char *argument, *module, *cls, *package;
} known[] = {
    {CTR_INSTRUMENT_REQUESTS, "trace_requests", "opentelemetry.instrumentation.requests",
     "RequestsInstrumentor", "opentelemetry-instrumentation-requests"},
    {CTR_INSTRUMENT_HTTPX, "trace_httpx", "opentelemetry.instrumentation.httpx",
     "HTTPXClientInstrumentor", "opentelemetry-instrumentation-httpx"},
    {CTR_INSTRUMENT_URLLIB3, "trace_urllib3", "opentelemetry.instrumentation.urllib3",
     "URLLib3Instrumentor", "opentelemetry-instrumentation-urllib3"},
    {CTR_INSTRUMENT_BOTOCORE, "trace_botocore", "opentelemetry.instrumentation.botocore",
     "BotocoreInstrumentor", "opentelemetry-instrumentation-botocore"},
};

/* Turn one instrumentation on; the instrumentor, or NULL (logged). */
static PyObject *turn_on(ctl_state *st, size_t i)
{
    PyObject *mod = PyImport_ImportModule(known[i].module);
    if (!mod) {
        bool missing = PyErr_ExceptionMatches(PyExc_ImportError);
        ctl_hold_error();
        if (missing)
            ctl_logf(st, CTR_LOG_WARNING, "%s is set but %s is not installed: pip install %s",
                     known[i].argument, known[i].package, known[i].package);
        else
            ctl_logf(st, CTR_LOG_WARNING, "%s is set but %s could not be loaded", known[i].argument,
                     known[i].module);
        return NULL;
    }
    PyObject *inst = PyObject_CallMethod(mod, known[i].cls, NULL); /* a singleton */
    Py_DECREF(mod);
    PyObject *already =
        inst ? PyObject_GetAttrString(inst, "is_instrumented_by_opentelemetry") : NULL;
    int on = already ? PyObject_IsTrue(already) : -1;
    Py_XDECREF(already);
    PyObject *r = NULL;
    if (on == 0) {
        PyObject *kw = Py_BuildValue("{sO}", "tracer_provider", st->otel.provider);
        PyObject *meth = kw ? PyObject_GetAttrString(inst, "instrument") : NULL;
        PyObject *empty = meth ? PyTuple_New(0) : NULL;
        r = empty ? PyObject_Call(meth, empty, kw) : NULL;
        Py_XDECREF(empty);
        Py_XDECREF(meth);
        Py_XDECREF(kw);
    }
    if (on == 1)
        ctl_logf(st, CTR_LOG_INFO, "%s: %s was already instrumented by someone else; left as it is",
                 known[i].argument, known[i].package);
    else if (!r)
        ctl_logf(st, CTR_LOG_WARNING, "%s: %s.%s().instrument() failed", known[i].argument,
                 known[i].module, known[i].cls);
    ctl_hold_error();
    Py_XDECREF(r);
    if (!r)
        Py_CLEAR(inst);
    return inst;
}

void ctl_instrument(ctl_state *st, unsigned which)
{
    if (!which || !st->otel.provider)
        return;
    if (!st->otel.instrumented && !(st->otel.instrumented = PyList_New(0))) {
        ctl_hold_error();
        return;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (!(which & known[i].bit))
            continue;
        PyObject *inst = turn_on(st, i);
        if (inst && PyList_Append(st->otel.instrumented, inst) < 0)
            ctl_hold_error();
        if (inst)
            ctl_logf(st, CTR_LOG_DEBUG, "%s: %s calls are traced", known[i].argument,
                     known[i].package);
        Py_XDECREF(inst);
    }
}

void ctl_uninstrument(ctl_state *st)
{
    PyObject *list = st->otel.instrumented;
    st->otel.instrumented = NULL;
    for (Py_ssize_t i = 0; list && i < PyList_GET_SIZE(list); i++) {
        PyObject *r = PyObject_CallMethod(PyList_GET_ITEM(list, i), "uninstrument", NULL);
        Py_XDECREF(r);
        ctl_hold_error();
    }
    Py_XDECREF(list);
}
