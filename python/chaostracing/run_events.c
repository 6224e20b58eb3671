/*
 * A Chaos Toolkit run event handler (chaoslib.run.RunEventHandler's methods,
 * duck-typed as chaoslib only calls them): it is how the control learns that
 * a run was interrupted and by which signal, which no hook says.
 *
 * chaoslib calls signal_exit() inside its `except KeyboardInterrupt` (SIGINT)
 * and `except SystemExit` (SIGUSR1 raises SystemExit(20), SIGUSR2
 * SystemExit(30)) blocks, and interrupted() inside `except
 * InterruptExecution` (SIGTERM, or a control's own interruption): the
 * exception being handled names the signal.
 *
 * It also learns when a continuous hypothesis (--hypothesis-strategy
 * continuously) starts and ends, in the thread that runs it: iterations are
 * counted from there, and under chaostracing.oltp one "hypothesis" span
 * covers them all, each iteration's hypothesis span its child.
 */
#include "binding.h"

#include <string.h>

typedef ctl_holder RunEventsObject;

/* The signal behind the exception being handled, or NULL. */
static const char *signal_of_current_exception(bool *interrupt_execution)
{
    *interrupt_execution = false;
    PyObject *type, *exc, *tb;
    PyErr_GetExcInfo(&type, &exc, &tb); /* what sys.exc_info() returns */
    Py_XDECREF(type);
    Py_XDECREF(tb);
    if (!exc || exc == Py_None) {
        Py_XDECREF(exc);
        return NULL;
    }
    const char *sig = NULL;
    if (PyErr_GivenExceptionMatches(exc, PyExc_KeyboardInterrupt)) {
        sig = "SIGINT";
    } else if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit)) {
        PyObject *code = PyObject_GetAttrString(exc, "code");
        long c = code && PyLong_Check(code) ? PyLong_AsLong(code) : -1;
        Py_XDECREF(code);
        sig = c == 20 ? "SIGUSR1" : c == 30 ? "SIGUSR2" : NULL;
    } else {
        *interrupt_execution = true;
        PyObject *text = PyObject_Str(exc);
        const char *t = text ? PyUnicode_AsUTF8(text) : NULL;
        if (t && strstr(t, "SIGTERM"))
            sig = "SIGTERM";
        Py_XDECREF(text);
    }
    Py_DECREF(exc);
    ctl_hold_error();
    return sig;
}

static PyObject *record(RunEventsObject *self)
{
    ctl_state *st = ctl_get_state(self->module);
    bool ie;
    const char *sig = signal_of_current_exception(&ie);
    st->interrupted = true;
    if (sig)
        st->exit_signal = sig;
    return ctl_hook_return();
}

void ctl_note_exit_signal(ctl_state *st)
{
    bool ie;
    const char *sig = signal_of_current_exception(&ie);
    if (sig) {
        st->interrupted = true;
        st->exit_signal = sig;
    }
}

static PyObject *ev_interrupted(RunEventsObject *self, PyObject *args)
{
    (void)args;
    return record(self);
}

static PyObject *ev_signal_exit(RunEventsObject *self, PyObject *args)
{
    (void)args;
    return record(self);
}

/* start_continuous_hypothesis(frequency) */
static PyObject *ev_start_continuous(RunEventsObject *self, PyObject *args)
{
    (void)args;
    ctl_state *st = ctl_get_state(self->module);
    ctl_drain_logs(st);
    st->iteration = 0;
    if (st->tracer && ctl_oltp(st) && st->experiment && !st->continuous) {
        struct ctr_span *s =
            ctl_start(st, "hypothesis", 10, st->experiment, CTR_KIND_INTERNAL, "hypothesis");
        if (!s)
            return PyErr_NoMemory();
        ctr_span_set_essential(s);
        ctr_span_set_str(s, "chaostoolkit.hypothesis.phase", "continuous", 10);
        st->continuous = s;
    }
    return ctl_hook_return();
}

/* continuous_hypothesis_completed(experiment, journal, exception=None):
 * the span ends with the number of iterations; an exception that stopped the
 * hypothesis is its error. */
static PyObject *ev_continuous_completed(RunEventsObject *self, PyObject *args)
{
    ctl_state *st = ctl_get_state(self->module);
    ctl_drain_logs(st);
    if (!st->continuous)
        return ctl_hook_return();
    PyObject *exc = PyTuple_GET_SIZE(args) > 2 ? PyTuple_GET_ITEM(args, 2) : NULL;
    PyObject *text = exc && exc != Py_None ? PyObject_Str(exc) : NULL;
    const char *p = NULL;
    Py_ssize_t n = 0;
    PyObject *b = ctl_utf8(text, &p, &n);
    ctl_hold_error();
    /* Read after the Python code above: the experiment may have ended it. */
    struct ctr_span *s = st->continuous;
    st->continuous = NULL;
    if (s) {
        ctr_span_set_int(s, "chaostoolkit.hypothesis.iterations", st->iteration);
        if (b)
            ctr_span_set_status(s, CTR_STATUS_ERROR, p, (size_t)n);
        ctr_span_end(s, 0);
    }
    Py_XDECREF(b);
    Py_XDECREF(text);
    return ctl_hook_return();
}

static PyObject *ev_nothing(RunEventsObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self, (void)args, (void)kwargs;
    Py_RETURN_NONE;
}

#define NOTHING(name)                                                                              \
    {                                                                                              \
#name, (PyCFunction)(void (*)(void))ev_nothing, METH_VARARGS | METH_KEYWORDS, NULL         \
    }

static PyMethodDef ev_methods[] = {
    {"interrupted", (PyCFunction)ev_interrupted, METH_VARARGS, NULL},
    {"signal_exit", (PyCFunction)ev_signal_exit, METH_VARARGS, NULL},
    NOTHING(started),
    NOTHING(running),
    NOTHING(finish),
    {"start_continuous_hypothesis", (PyCFunction)ev_start_continuous, METH_VARARGS, NULL},
    NOTHING(continuous_hypothesis_iteration),
    {"continuous_hypothesis_completed", (PyCFunction)ev_continuous_completed, METH_VARARGS, NULL},
    NOTHING(start_hypothesis_before),
    NOTHING(hypothesis_before_completed),
    NOTHING(start_hypothesis_after),
    NOTHING(hypothesis_after_completed),
    NOTHING(start_method),
    NOTHING(method_completed),
    NOTHING(start_rollbacks),
    NOTHING(rollbacks_completed),
    NOTHING(start_cooldown),
    NOTHING(cooldown_completed),
    NOTHING(start_activity),
    NOTHING(activity_completed),
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ev_slots[] = {
    CTL_HOLDER_SLOTS,
    {Py_tp_methods, ev_methods},
    {Py_tp_doc, "The control's run event handler: notes interruptions and their signal, and "
                "when a continuous hypothesis starts and ends."},
    CTL_COMPAT_NO_NEW /* 3.9: no Py_TPFLAGS_DISALLOW_INSTANTIATION */
    {0, NULL},
};

PyType_Spec ctl_run_events_spec = {
    .name = "chaostracing.control.RunEvents",
    .basicsize = sizeof(ctl_holder),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = ev_slots,
};

int ctl_register_run_events(ctl_state *st, PyObject *module, PyObject *registry)
{
    if (!registry || registry == Py_None)
        return 0;
    PyObject *h = ctl_holder_new(st->run_events_type, module);
    if (!h)
        return -1;
    PyObject *r = PyObject_CallMethod(registry, "register", "O", h);
    Py_DECREF(h);
    Py_XDECREF(r);
    ctl_hold_error();
    return 0;
}
