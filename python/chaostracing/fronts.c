/*
 * Two control modules, one run. chaostracing.control (the hooks module.c
 * adds) and chaostracing.oltp (the stand-in for chaostoolkit-opentracing's
 * control of that name: oltp.c copies the hooks made here) share this
 * module's state, so a process has one tracer and the span API other
 * extensions call sees the same run whichever module was declared.
 *
 * The first module whose configure_control runs owns the run (st->front):
 * its configuration is used (the OTEL_* variables alone for
 * chaostracing.oltp) and the hook bodies name spans its way (ctl_oltp()).
 * A module configured later logs one INFO line and configures nothing.
 *
 * Both modules' hooks call the same bodies, which de-duplicate by identity
 * (a phase slot already filled, an open entry for the same dict and thread):
 * the second call adds nothing. This also keeps the trace whole when
 * chaoslib skips the owner's hooks: with a control in the settings file and
 * another in the experiment, it calls only the experiment's at method and
 * rollback level.
 */
#include "binding.h"

#define OLTP_NAME "chaostracing.oltp"

static const char *front_name(int front)
{
    return front == CTL_FRONT_OLTP ? OLTP_NAME : "chaostracing.control";
}

/* configure_control for `front`: the run's owner configures tracing,
 * another front joins it. */
static PyObject *configure_as(int front, PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    if (st->front != CTL_FRONT_NONE && st->front != front) {
        st->configured++; /* its cleanup_control comes too */
        if (st->tracer)
            ctl_logf(st, CTR_LOG_INFO,
                     "chaostracing: %s joins the trace %s started: one trace for the run, with "
                     "%s's span "
                     "names and configuration",
                     front_name(front), front_name(st->front), front_name(st->front));
        else
            ctl_logf(st, CTR_LOG_INFO,
                     "chaostracing: %s was configured first and records no spans for this run; %s "
                     "adds none",
                     front_name(st->front), front_name(front));
        return ctl_hook_return();
    }
    if (st->front == CTL_FRONT_NONE)
        st->iteration = 0;
    st->configuring = front;
    PyObject *r = configure_control(module, args, nargs, kwnames);
    st->configuring = CTL_FRONT_NONE;
    if (st->front == CTL_FRONT_NONE)
        st->front = front;
    return r;
}

PyObject *ctl_native_configure_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames)
{
    return configure_as(CTL_FRONT_NATIVE, module, args, nargs, kwnames);
}

static const char oltp_configure_control_doc[] =
    "configure_control($module, /, *, experiment=None, event_registry=None, trace_request=False, "
    "trace_httpx=False, trace_botocore=False, trace_urllib3=False, configuration=None, "
    "secrets=None, **kwargs)\n--\n\n"
    "Configure tracing for this run as chaostoolkit-opentracing's chaostracing.oltp did: from\n"
    "the OTEL_* environment variables (OTLP/HTTP to http://localhost:4318/v1/traces by\n"
    "default) and otel_vendor / OTEL_VENDOR.";

/* Keywords only: the parameters are not in chaostracing.control's order. */
static PyObject *oltp_configure_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                        PyObject *kwnames)
{
    if (nargs > 0) {
        PyErr_SetString(PyExc_TypeError, "configure_control() takes keyword arguments only");
        return NULL;
    }
    return configure_as(CTL_FRONT_OLTP, module, args, nargs, kwnames);
}

PyObject *ctl_cleanup_control(PyObject *module, PyObject *unused)
{
    PyObject *r = cleanup_control(module, unused);
    ctl_state *st = ctl_get_state(module);
    if (st->configured == 0) /* the run is over: the next one may be owned by either */
        st->front = CTL_FRONT_NONE;
    return r;
}

/* chaostracing.oltp's hooks: its own configure_control, the bodies of the
 * others. */
static PyMethodDef oltp_defs[] = {
    {"configure_control", (PyCFunction)(void (*)(void))oltp_configure_control,
     METH_FASTCALL | METH_KEYWORDS, oltp_configure_control_doc},
    {"cleanup_control", ctl_cleanup_control, METH_NOARGS, cleanup_control_doc},
    CTL_SHARED_HOOK_DEFS,
    {NULL, NULL, 0, NULL},
};

int ctl_add_oltp_hooks(PyObject *module)
{
    ctl_state *st = ctl_get_state(module);
    PyObject *hooks = PyDict_New();
    PyObject *modname = PyUnicode_FromString(OLTP_NAME);
    int rc = hooks && modname ? 0 : -1;
    for (PyMethodDef *def = oltp_defs; def->ml_name && rc == 0; def++) {
        /* Bound to this module (its state), named as chaostracing.oltp's. */
        PyObject *func = PyCFunction_NewEx(def, module, modname);
        PyObject *hook = func ? ctl_hook_new((PyTypeObject *)st->hook_type, func) : NULL;
        rc = hook ? PyDict_SetItemString(hooks, def->ml_name, hook) : -1;
        Py_XDECREF(hook);
        Py_XDECREF(func);
    }
    if (rc == 0)
        rc = PyModule_AddObjectRef(module, "_oltp", hooks);
    Py_XDECREF(modname);
    Py_XDECREF(hooks);
    return rc;
}
