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
 */
#include "binding.h"

#include <string.h>

typedef struct {
    PyObject_HEAD PyObject *module;
} RunEventsObject;

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
    NOTHING(start_continuous_hypothesis),
    NOTHING(continuous_hypothesis_iteration),
    NOTHING(continuous_hypothesis_completed),
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

static int ev_traverse(RunEventsObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    return 0;
}

static int ev_clear(RunEventsObject *self)
{
    Py_CLEAR(self->module);
    return 0;
}

static void ev_dealloc(RunEventsObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    ev_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyType_Slot ev_slots[] = {
    {Py_tp_dealloc, ev_dealloc},
    {Py_tp_traverse, ev_traverse},
    {Py_tp_clear, ev_clear},
    {Py_tp_methods, ev_methods},
    {Py_tp_doc, "The control's run event handler: notes interruptions and their signal."},
    CTL_COMPAT_NO_NEW /* 3.9: no Py_TPFLAGS_DISALLOW_INSTANTIATION */
    {0, NULL},
};

PyType_Spec ctl_run_events_spec = {
    .name = "chaostracing.control.RunEvents",
    .basicsize = sizeof(RunEventsObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = ev_slots,
};

int ctl_register_run_events(ctl_state *st, PyObject *module, PyObject *registry)
{
    if (!registry || registry == Py_None)
        return 0;
    RunEventsObject *h = PyObject_GC_New(RunEventsObject, (PyTypeObject *)st->run_events_type);
    if (!h)
        return -1;
    h->module = Py_NewRef(module);
    PyObject_GC_Track(h);
    PyObject *r = PyObject_CallMethod(registry, "register", "O", (PyObject *)h);
    Py_DECREF(h);
    Py_XDECREF(r);
    ctl_hold_error();
    return 0;
}
