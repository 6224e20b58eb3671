/*
 * The coroutine a decorated coroutine function returns: start_as_current_
 * span(...) over an `async def` (otel_types.c). As the API's decorator does,
 * the span starts with the coroutine's first step, is current in the
 * coroutine's context (an asyncio task's own) until it ends, and ends when
 * the function returns or raises, is closed or collected. In between, every
 * step is handed to the function's own coroutine.
 *
 * It is a collections.abc.Coroutine (__await__, send, throw, close), so
 * asyncio.run(), create_task() and `await` take it.
 */
#include "binding.h"

enum { CORO_NEW, CORO_RUNNING, CORO_DONE };

typedef struct {
    PyObject_HEAD PyObject *cm; /* the decorator: name, parent, options */
    PyObject *func, *args, *kwargs;
    PyObject *inner; /* the function's coroutine (or its __await__ iterator) */
    PyObject *span, *token;
    int state;
    bool executing; /* a step is running (a coroutine cannot re-enter itself) */
} CoroObject;

static int coro_traverse(CoroObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->cm);
    Py_VISIT(self->func);
    Py_VISIT(self->args);
    Py_VISIT(self->kwargs);
    Py_VISIT(self->inner);
    Py_VISIT(self->span);
    Py_VISIT(self->token);
    return 0;
}

static int coro_clear(CoroObject *self)
{
    Py_CLEAR(self->cm);
    Py_CLEAR(self->func);
    Py_CLEAR(self->args);
    Py_CLEAR(self->kwargs);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->span);
    Py_CLEAR(self->token);
    return 0;
}

PyObject *ctl_otel_coroutine_new(ctl_state *st, PyObject *cm, PyObject *func, PyObject *args,
                                 PyObject *kwargs)
{
    CoroObject *c = PyObject_GC_New(CoroObject, (PyTypeObject *)st->otel_coro_type);
    if (!c)
        return NULL;
    c->cm = Py_NewRef(cm);
    c->func = Py_NewRef(func);
    c->args = Py_NewRef(args);
    c->kwargs = kwargs && PyDict_GET_SIZE(kwargs) ? PyDict_Copy(kwargs) : NULL;
    c->inner = c->span = c->token = NULL;
    c->state = CORO_NEW;
    c->executing = false;
    PyObject_GC_Track(c);
    if (kwargs && PyDict_GET_SIZE(kwargs) && !c->kwargs) {
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

/* The coroutine is over: the span stops being current and ends, with the
 * exception `exc` (NULL: returned; borrowed) recorded as the API does. */
static void coro_end(CoroObject *self, PyObject *exc)
{
    PyObject *span = self->span, *token = self->token;
    self->span = self->token = NULL;
    self->state = CORO_DONE;
    Py_CLEAR(self->inner);
    Py_CLEAR(self->args);
    Py_CLEAR(self->kwargs);
    if (span)
        ctl_otel_cm_finish(self->cm, span, token, exc);
    Py_XDECREF(span);
    Py_XDECREF(token);
}

/* First step: the span starts and is made current, then the function is
 * called (an error there ends the span with it). 0, or -1 with an
 * exception. */
static int coro_begin(CoroObject *self)
{
    self->state = CORO_RUNNING;
    self->span = ctl_otel_cm_start(self->cm, &self->token);
    if (!self->span) {
        coro_end(self, NULL);
        return -1;
    }
    PyObject *r = PyObject_Call(self->func, self->args, self->kwargs);
    PyObject *it = NULL;
    if (r) {
        PyAsyncMethods *am = Py_TYPE(r)->tp_as_async;
        if (PyCoro_CheckExact(r))
            it = Py_NewRef(r);
        else if (am && am->am_await)
            it = am->am_await(r);
        else
            PyErr_Format(PyExc_TypeError, "%R returned %R, not an awaitable", self->func, r);
        Py_DECREF(r);
    }
    if (!it) {
        PyObject *exc = ctl_err_take();
        coro_end(self, exc);
        ctl_err_restore(exc);
        return -1;
    }
    self->inner = it;
    return 0;
}

/* After a step of the inner coroutine: a value it yields passes through;
 * its end (StopIteration with the return value, or an exception) ends the
 * span and goes on to the caller. */
static PyObject *coro_after(CoroObject *self, PyObject *r)
{
    if (r)
        return r;
    if (!PyErr_Occurred())
        PyErr_SetNone(PyExc_StopIteration); /* an iterator that just stopped */
    PyObject *exc = ctl_err_take();
    coro_end(self, PyErr_GivenExceptionMatches(exc, PyExc_StopIteration) ? NULL : exc);
    ctl_err_restore(exc);
    return ctl_api_return(NULL); /* an interrupt held while ending wins */
}

/* Raise what throw() was given: throw(exc) or throw(type[, value[, tb]]). */
static PyObject *raise_thrown(PyObject *args)
{
    PyObject *typ = PyTuple_GET_ITEM(args, 0);
    PyObject *val = PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : Py_None;
    if (PyExceptionInstance_Check(typ))
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    else if (PyExceptionClass_Check(typ))
        PyErr_SetObject(typ, val);
    else
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must be classes or instances deriving from BaseException");
    return NULL;
}

/* True (with ValueError) when a step is already running: the function's
 * coroutine is the one to say so, but ours must not end its span for it. */
static bool coro_busy(CoroObject *self)
{
    if (self->executing)
        PyErr_SetString(PyExc_ValueError, "coroutine already executing");
    return self->executing;
}

/* One step of the inner coroutine: send(value) or throw(*args). The inner
 * object is held for the call, whatever the step does to `self`. */
static PyObject *coro_step(CoroObject *self, PyObject *value, PyObject *throw_args)
{
    PyObject *inner = Py_NewRef(self->inner), *r;
    self->executing = true;
    if (throw_args) {
        PyObject *meth = PyObject_GetAttrString(inner, "throw");
        r = meth ? PyObject_Call(meth, throw_args, NULL) : NULL;
        Py_XDECREF(meth);
    } else if (value == Py_None && PyIter_Check(inner)) {
        r = Py_TYPE(inner)->tp_iternext(inner);
    } else {
        r = PyObject_CallMethod(inner, "send", "(O)", value);
    }
    self->executing = false;
    Py_DECREF(inner);
    return coro_after(self, r);
}

static PyObject *coro_send(CoroObject *self, PyObject *value)
{
    if (coro_busy(self))
        return NULL;
    if (self->state == CORO_DONE) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
        return NULL;
    }
    if (self->state == CORO_NEW) {
        if (value != Py_None) {
            PyErr_SetString(PyExc_TypeError,
                            "can't send non-None value to a just-started coroutine");
            return NULL;
        }
        if (coro_begin(self) < 0)
            return NULL;
    }
    return coro_step(self, value, NULL);
}

static PyObject *coro_next(CoroObject *self)
{
    return coro_send(self, Py_None);
}

static PyObject *coro_throw(CoroObject *self, PyObject *args)
{
    if (PyTuple_GET_SIZE(args) < 1 || PyTuple_GET_SIZE(args) > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    if (coro_busy(self))
        return NULL;
    if (self->state != CORO_RUNNING) { /* nothing ran: no span, as for a coroutine */
        if (self->state == CORO_NEW)
            coro_end(self, NULL);
        return raise_thrown(args);
    }
    return coro_step(self, NULL, args);
}

static PyObject *coro_close(CoroObject *self, PyObject *unused)
{
    (void)unused;
    if (coro_busy(self))
        return NULL;
    if (self->state != CORO_RUNNING) {
        coro_end(self, NULL);
        Py_RETURN_NONE;
    }
    /* GeneratorExit is not an Exception: the span ends without an error. */
    PyObject *inner = Py_NewRef(self->inner);
    self->executing = true;
    PyObject *r = PyObject_CallMethod(inner, "close", NULL);
    self->executing = false;
    Py_DECREF(inner);
    PyObject *exc = r ? NULL : ctl_err_take();
    coro_end(self, exc);
    if (!r)
        ctl_err_restore(exc);
    return ctl_api_return(r);
}

/* Collected while running (never awaited to the end): closed, as a
 * coroutine is, so the span ends. Never started: the RuntimeWarning a
 * coroutine gives (no span was made). */
static void coro_finalize(PyObject *self)
{
    CoroObject *c = (CoroObject *)self;
    if (c->state == CORO_DONE)
        return;
    PyObject *saved = ctl_err_take();
    if (c->state == CORO_NEW) {
        PyObject *name = PyObject_GetAttrString(c->func, "__qualname__");
        if (!name ||
            PyErr_WarnFormat(PyExc_RuntimeWarning, 1, "coroutine '%S' was never awaited", name) < 0)
            PyErr_WriteUnraisable(self);
        Py_XDECREF(name);
    } else {
        PyObject *r = coro_close(c, NULL);
        if (!r)
            PyErr_WriteUnraisable(self);
        Py_XDECREF(r);
    }
    ctl_err_restore(saved);
}

static void coro_dealloc(PyObject *self)
{
    if (PyObject_CallFinalizerFromDealloc(self) < 0)
        return; /* resurrected */
    ctl_dealloc(self);
}

static PyObject *coro_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *coro_name(CoroObject *self, void *name)
{
    return PyObject_GetAttrString(self->func, (const char *)name);
}

static PyMethodDef coro_methods[] = {
    {"send", (PyCFunction)coro_send, METH_O, "send(value): the next step."},
    {"throw", (PyCFunction)coro_throw, METH_VARARGS, "throw(exc): raise it at the current step."},
    {"close", (PyCFunction)coro_close, METH_NOARGS, "close(): end it (and its span)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef coro_getset[] = {
    {"__name__", (getter)coro_name, NULL, NULL, "__name__"},
    {"__qualname__", (getter)coro_name, NULL, NULL, "__qualname__"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot coro_slots[] = {
    {Py_tp_dealloc, coro_dealloc},
    {Py_tp_finalize, coro_finalize},
    {Py_tp_traverse, coro_traverse},
    {Py_tp_clear, coro_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, coro_next},
    {Py_am_await, coro_await},
    {Py_tp_methods, coro_methods},
    {Py_tp_getset, coro_getset},
    {Py_tp_doc, "A decorated coroutine function's coroutine, run in its span."},
    CTL_COMPAT_NO_NEW{0, NULL},
};

PyType_Spec ctl_otel_coro_spec = {
    .name = "chaostracing.control.SpanCoroutine",
    .basicsize = sizeof(CoroObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = coro_slots,
};
