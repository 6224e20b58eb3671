/*
 * The bridge to the OpenTelemetry API, used only when opentelemetry-api is
 * installed (importing the control never imports it; a traced run does).
 *
 * While a run is traced: our TracerProvider (otel_types.c) is the global one
 * unless the process set its own; every activity's span is OpenTelemetry's
 * current span in the thread the activity runs in, so
 * get_tracer(...).start_as_current_span() nests under it and
 * opentelemetry.propagate.inject() carries it; and our Span type is
 * registered as an opentelemetry.trace.Span.
 */
#include "binding.h"

#include <string.h>

bool ctl_otel_on(const ctl_state *st)
{
    return st->otel.get_current_span != NULL;
}

/* Borrowed attribute of a module into a new reference slot. */
static int take(PyObject *mod, const char *name, PyObject **slot)
{
    *slot = PyObject_GetAttrString(mod, name);
    return *slot ? 0 : -1;
}

static int abc_register(PyObject *mod, const char *abc, PyObject *type)
{
    PyObject *base = PyObject_GetAttrString(mod, abc);
    PyObject *r = base ? PyObject_CallMethod(base, "register", "O", type) : NULL;
    Py_XDECREF(base);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* Import the API once; false when it is not installed (or broken). */
static bool load(ctl_state *st)
{
    if (st->otel.tried)
        return ctl_otel_on(st);
    st->otel.tried = true;
    PyObject *trace = PyImport_ImportModule("opentelemetry.trace");
    PyObject *context = trace ? PyImport_ImportModule("opentelemetry.context") : NULL;
    struct ctl_otel o = {.tried = true};
    bool ok = context && take(trace, "get_current_span", &o.get_current_span) == 0 &&
              take(trace, "set_span_in_context", &o.set_span_in_context) == 0 &&
              take(trace, "SpanContext", &o.span_context) == 0 &&
              take(trace, "TraceFlags", &o.trace_flags) == 0 &&
              take(trace, "TraceState", &o.trace_state) == 0 &&
              take(context, "attach", &o.attach) == 0 && take(context, "detach", &o.detach) == 0 &&
              abc_register(trace, "Span", st->span_type) == 0 &&
              abc_register(trace, "Tracer", st->otel_tracer_type) == 0 &&
              abc_register(trace, "TracerProvider", st->otel_provider_type) == 0;
    if (ok) {
        /* The fast path, when the runtime context is the contextvars one. */
        PyObject *rc = PyObject_GetAttrString(context, "_RUNTIME_CONTEXT");
        PyObject *rc_mod =
            rc ? PyImport_ImportModule("opentelemetry.context.contextvars_context") : NULL;
        PyObject *rc_cls =
            rc_mod ? PyObject_GetAttrString(rc_mod, "ContextVarsRuntimeContext") : NULL;
        /* Exactly that class: a subclass may attach differently. */
        PyObject *cv = rc_cls && (PyObject *)Py_TYPE(rc) == rc_cls
                           ? PyObject_GetAttrString(rc, "_current_context")
                           : NULL;
        Py_XDECREF(rc_cls);
        Py_XDECREF(rc_mod);
        PyObject *prop = PyImport_ImportModule("opentelemetry.trace.propagation");
        PyObject *key = prop ? PyObject_GetAttrString(prop, "_SPAN_KEY") : NULL;
        PyObject *cmod = PyImport_ImportModule("opentelemetry.context.context");
        PyObject *cls = cmod ? PyObject_GetAttrString(cmod, "Context") : NULL;
        ctl_hold_error();
        if (cv && PyContextVar_CheckExact(cv) && key && PyUnicode_Check(key) && cls &&
            PyType_Check(cls) && PyType_IsSubtype((PyTypeObject *)cls, &PyDict_Type)) {
            o.cv = Py_NewRef(cv);
            o.span_key = Py_NewRef(key);
            o.context_cls = Py_NewRef(cls);
            PyTypeObject *t = (PyTypeObject *)cls;
            o.context_plain = t->tp_new == PyDict_Type.tp_new && t->tp_init == PyDict_Type.tp_init;
        }
        Py_XDECREF(cls);
        Py_XDECREF(cmod);
        Py_XDECREF(key);
        Py_XDECREF(prop);
        Py_XDECREF(cv);
        Py_XDECREF(rc);
    }
    if (!ok) {
        bool missing = PyErr_ExceptionMatches(PyExc_ImportError);
        if (!missing)
            ctl_log(st, CTR_LOG_WARNING,
                    "the OpenTelemetry API is installed but could not be loaded; spans made with "
                    "it are not in this trace");
        ctl_hold_error();
        PyObject **slots[] = {&o.get_current_span,
                              &o.set_span_in_context,
                              &o.span_context,
                              &o.trace_flags,
                              &o.trace_state,
                              &o.attach,
                              &o.detach};
        for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
            Py_CLEAR(*slots[i]);
    } else {
        st->otel = o;
    }
    Py_XDECREF(context);
    Py_XDECREF(trace);
    return ok;
}

/* Make our provider the global one unless the process has its own. */
static void install_provider(ctl_state *st, PyObject *module)
{
    PyObject *trace = PyImport_ImportModule("opentelemetry.trace");
    if (!trace) {
        ctl_hold_error();
        return;
    }
    if (!st->otel.provider)
        st->otel.provider = ctl_otel_provider_new(module);
    PyObject *current = PyObject_CallMethod(trace, "get_tracer_provider", NULL);
    PyObject *proxy = PyObject_GetAttrString(trace, "ProxyTracerProvider");
    int is_proxy =
        current && proxy && PyType_Check(proxy) ? PyObject_IsInstance(current, proxy) : -1;
    if (current && current == st->otel.provider) {
        st->otel.ours = true;
    } else if (is_proxy == 1 && st->otel.provider) {
        PyObject *r = PyObject_CallMethod(trace, "set_tracer_provider", "O", st->otel.provider);
        st->otel.ours = r != NULL;
        Py_XDECREF(r);
    } else if (current) {
        PyObject *type = PyObject_GetAttrString((PyObject *)Py_TYPE(current), "__qualname__");
        const char *tn = type && PyUnicode_Check(type) ? PyUnicode_AsUTF8(type) : "?";
        ctl_logf(st, CTR_LOG_WARNING,
                 "the process already has an OpenTelemetry tracer provider (%s): spans made with "
                 "opentelemetry.trace go there, not into this run's trace (they still take the "
                 "activity's span as parent)",
                 tn ? tn : "?");
        Py_XDECREF(type);
    }
    Py_XDECREF(proxy);
    Py_XDECREF(current);
    Py_DECREF(trace);
    ctl_hold_error();
}

void ctl_otel_setup(ctl_state *st, PyObject *module, unsigned which)
{
    if (!load(st)) {
        if (which)
            ctl_log(st, CTR_LOG_WARNING,
                    "the trace_* arguments need the OpenTelemetry API: pip install "
                    "opentelemetry-api and the instrumentation packages; nothing is instrumented");
        return;
    }
    install_provider(st, module);
    ctl_otel_set_propagator(st, module);
    ctl_instrument(st, which);
}

void ctl_otel_teardown(ctl_state *st)
{
    ctl_uninstrument(st);
    ctl_otel_unset_propagator(st);
}

/* OpenTelemetry's current span object (new reference), None when none. */
static PyObject *current_object(ctl_state *st)
{
    if (!st->otel.cv)
        return PyObject_CallNoArgs(st->otel.get_current_span);
    PyObject *ctx = NULL;
    if (PyContextVar_Get(st->otel.cv, NULL, &ctx) < 0)
        return NULL;
    PyObject *s = ctx && PyDict_Check(ctx) ? PyDict_GetItemWithError(ctx, st->otel.span_key) : NULL;
    Py_XINCREF(s);
    Py_XDECREF(ctx);
    if (!s && PyErr_Occurred())
        return NULL;
    return s ? s : Py_NewRef(Py_None);
}

PyObject *ctl_otel_push(ctl_state *st, PyObject *span)
{
    if (!st->otel.cv) {
        PyObject *c = PyObject_CallOneArg(st->otel.set_span_in_context, span);
        PyObject *t = c ? PyObject_CallOneArg(st->otel.attach, c) : NULL;
        Py_XDECREF(c);
        return t;
    }
    PyObject *cur = NULL;
    if (PyContextVar_Get(st->otel.cv, NULL, &cur) < 0)
        return NULL;
    PyObject *ctx = NULL;
    if (st->otel.context_plain) {
        /* Context.__setitem__ refuses: the dict's own C functions fill it. */
        PyTypeObject *t = (PyTypeObject *)st->otel.context_cls;
        PyObject *no_args = PyTuple_New(0);
        ctx = no_args ? t->tp_new(t, no_args, NULL) : NULL;
        Py_XDECREF(no_args);
        if (ctx && ((cur && PyDict_Check(cur) && PyDict_Update(ctx, cur) < 0) ||
                    PyDict_SetItem(ctx, st->otel.span_key, span) < 0))
            Py_CLEAR(ctx);
    } else {
        PyObject *d = cur && PyDict_Check(cur) ? PyDict_Copy(cur) : PyDict_New();
        ctx = d && PyDict_SetItem(d, st->otel.span_key, span) == 0
                  ? PyObject_CallOneArg(st->otel.context_cls, d)
                  : NULL;
        Py_XDECREF(d);
    }
    Py_XDECREF(cur);
    PyObject *token = ctx ? PyContextVar_Set(st->otel.cv, ctx) : NULL;
    Py_XDECREF(ctx);
    return token;
}

void ctl_otel_pop(ctl_state *st, PyObject *token)
{
    if (!token || token == Py_None)
        return;
    if (st->otel.cv) {
        if (PyContextVar_Reset(st->otel.cv, token) < 0)
            ctl_hold_error(); /* a token of another context: that one keeps it */
        return;
    }
    PyObject *r = st->otel.detach ? PyObject_CallOneArg(st->otel.detach, token) : NULL;
    Py_XDECREF(r);
    ctl_hold_error();
}

int ctl_otel_current(ctl_state *st, struct ctr_span_context *out, PyObject **span, char *ts_buf)
{
    *span = NULL;
    memset(out, 0, sizeof *out);
    PyObject *s = current_object(st);
    if (!s)
        return -1;
    if (s == Py_None) {
        Py_DECREF(s);
        return 0;
    }
    int r;
    if (ctl_span_check(st, s)) {
        ctl_span *o = (ctl_span *)s;
        /* Ours: only while open (a view of an activity that ended, left
         * attached, is no parent). */
        bool open = o->view ? ctl_span_target(st, o) != NULL : !o->ended;
        r = open && ctr_span_context_is_valid(&o->ctx) ? 1 : 0;
        if (r) {
            *out = o->ctx;
            ctl_ctx_keep_tracestate(out, ts_buf);
        }
    } else {
        r = ctl_context_from_py(st, s, out, NULL, ts_buf);
    }
    if (r > 0)
        *span = s;
    else
        Py_DECREF(s);
    return r;
}

/* An id as a Python int (big-endian bytes). */
static PyObject *int_of(const uint8_t *id, size_t n)
{
    unsigned long long hi = 0, lo = 0;
    for (size_t i = 0; i < n; i++) {
        if (n == CTR_TRACE_ID_LEN && i < 8)
            hi = hi << 8 | id[i];
        else
            lo = lo << 8 | id[i];
    }
    if (n != CTR_TRACE_ID_LEN)
        return PyLong_FromUnsignedLongLong(lo);
    PyObject *h = PyLong_FromUnsignedLongLong(hi), *l = PyLong_FromUnsignedLongLong(lo);
    PyObject *sixty_four = PyLong_FromLong(64);
    PyObject *shifted = h && sixty_four ? PyNumber_Lshift(h, sixty_four) : NULL;
    PyObject *r = shifted && l ? PyNumber_Or(shifted, l) : NULL;
    Py_XDECREF(h);
    Py_XDECREF(l);
    Py_XDECREF(sixty_four);
    Py_XDECREF(shifted);
    return r;
}

PyObject *ctl_otel_span_context(ctl_state *st, const struct ctr_span_context *ctx)
{
    if (!load(st)) {
        PyErr_SetString(PyExc_ImportError,
                        "get_span_context() returns an OpenTelemetry SpanContext: pip install "
                        "opentelemetry-api (or use span.trace_id, span.span_id, span.context)");
        return NULL;
    }
    PyObject *tid = int_of(ctx->trace_id, CTR_TRACE_ID_LEN);
    PyObject *sid = int_of(ctx->span_id, CTR_SPAN_ID_LEN);
    PyObject *flags = PyObject_CallFunction(st->otel.trace_flags, "i", ctx->trace_flags);
    PyObject *args =
        tid && sid ? PyTuple_Pack(3, tid, sid, ctx->is_remote ? Py_True : Py_False) : NULL;
    PyObject *kw = flags ? Py_BuildValue("{sO}", "trace_flags", flags) : NULL;
    if (kw && ctx->trace_state.ptr && ctx->trace_state.len) {
        PyObject *h =
            PyUnicode_DecodeUTF8(ctx->trace_state.ptr, (Py_ssize_t)ctx->trace_state.len, "replace");
        PyObject *list = h ? PyList_New(1) : NULL;
        if (list)
            PyList_SET_ITEM(list, 0, Py_NewRef(h));
        PyObject *ts =
            list ? PyObject_CallMethod(st->otel.trace_state, "from_header", "(O)", list) : NULL;
        if (!ts || PyDict_SetItemString(kw, "trace_state", ts) < 0)
            ctl_hold_error(); /* no tracestate rather than no context */
        Py_XDECREF(ts);
        Py_XDECREF(list);
        Py_XDECREF(h);
    }
    PyObject *r = args && kw ? PyObject_Call(st->otel.span_context, args, kw) : NULL;
    Py_XDECREF(kw);
    Py_XDECREF(args);
    Py_XDECREF(flags);
    Py_XDECREF(sid);
    Py_XDECREF(tid);
    return r;
}

void ctl_otel_attach(ctl_state *st, PyObject *module, struct open_entry *e)
{
    if (!ctl_otel_on(st) || e->otel_token)
        return;
    struct ctr_span_context ctx;
    ctr_span_get_context(e->span, &ctx);
    PyObject *view = ctl_span_new(module, NULL, &ctx, true, NULL);
    e->otel_token = view ? ctl_otel_push(st, view) : NULL;
    Py_XDECREF(view);
    ctl_hold_error();
}

void ctl_otel_detach(ctl_state *st, struct open_entry *e)
{
    PyObject *token = e->otel_token;
    e->otel_token = NULL;
    ctl_otel_pop(st, token);
    Py_XDECREF(token);
}
