/*
 * chaostracing.control — the Chaos Toolkit control, as a CPython extension
 * module written in C: module definition, state, initialisation and GC.
 *
 * Interpreters and threads:
 *  - Main interpreter only. The library's log sink and fork handlers are
 *    process-wide, so two interpreters would share (and steal) each other's
 *    messages. Importing the module in a sub-interpreter raises ImportError
 *    (and Python 3.12+ is told so through Py_mod_multiple_interpreters).
 *  - The GIL is required: hooks from chaoslib's worker threads share the
 *    module state and rely on it. On a free-threaded build (3.13t) the
 *    module declares Py_MOD_GIL_USED, so importing it turns the GIL back on.
 */
#include "binding.h"

#include <pthread.h>
#include <stdlib.h>

ctl_state *ctl_get_state(PyObject *module)
{
    return (ctl_state *)PyModule_GetState(module);
}

#define HOOK(name)                                                                                 \
    {                                                                                              \
#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL | METH_KEYWORDS, name##_doc        \
    }

/* The Chaos Toolkit hooks, exposed as Hook objects by control_exec(). */
static PyMethodDef hook_defs[] = {
    {"configure_control", (PyCFunction)(void (*)(void))ctl_native_configure_control,
     METH_FASTCALL | METH_KEYWORDS, configure_control_doc},
    {"cleanup_control", ctl_cleanup_control, METH_NOARGS, cleanup_control_doc},
    HOOK(before_experiment_control),
    HOOK(after_experiment_control),
    HOOK(before_hypothesis_control),
    HOOK(after_hypothesis_control),
    HOOK(before_method_control),
    HOOK(after_method_control),
    HOOK(before_rollback_control),
    HOOK(after_rollback_control),
    HOOK(before_activity_control),
    HOOK(after_activity_control),
    {NULL, NULL, 0, NULL},
};

static PyMethodDef control_methods[] = {
    {"start_span", (PyCFunction)(void (*)(void))ctl_start_span, METH_VARARGS | METH_KEYWORDS,
     ctl_start_span_doc},
    {NULL, NULL, 0, NULL},
};

static void register_atfork(void)
{
    pthread_atfork(ctl_logq_atfork_prepare, ctl_logq_atfork_parent, ctl_logq_atfork_child);
}

static int control_exec(PyObject *module)
{
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_SetString(PyExc_ImportError,
                        "chaostracing.control can only be used in the main interpreter");
        return -1;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    ctl_state *st = ctl_get_state(module);
    memset(st, 0, sizeof *st);
    if (PyModule_AddStringConstant(module, "__version__", CTR_VERSION) < 0)
        return -1;
    st->span_type = PyType_FromModuleAndSpec(module, &ctl_span_spec, NULL);
    if (!st->span_type || PyModule_AddObjectRef(module, "Span", st->span_type) < 0)
        return -1;
    st->hook_type = PyType_FromModuleAndSpec(module, &ctl_hook_spec, NULL);
    st->run_events_type = PyType_FromModuleAndSpec(module, &ctl_run_events_spec, NULL);
    if (!st->hook_type || !st->run_events_type)
        return -1;
    PyObject *modname = PyModule_GetNameObject(module);
    if (!modname)
        return -1;
    int rc = 0;
    for (PyMethodDef *def = hook_defs; def->ml_name && rc == 0; def++) {
        PyObject *func = PyCFunction_NewEx(def, module, modname);
        PyObject *hook = func ? ctl_hook_new((PyTypeObject *)st->hook_type, func) : NULL;
        rc = hook ? PyModule_AddObjectRef(module, def->ml_name, hook) : -1;
        Py_XDECREF(hook);
        Py_XDECREF(func);
    }
    Py_DECREF(modname);
    return rc ? rc : ctl_add_oltp_hooks(module);
}

static int control_traverse(PyObject *module, visitproc visit, void *arg)
{
    ctl_state *st = ctl_get_state(module);
    if (!st)
        return 0;
    Py_VISIT(st->logger);
    Py_VISIT(st->substitute);
    Py_VISIT(st->span_type);
    Py_VISIT(st->hook_type);
    Py_VISIT(st->run_events_type);
    return open_table_traverse(&st->open, visit, arg);
}

static int control_clear(PyObject *module)
{
    ctl_state *st = ctl_get_state(module);
    if (!st)
        return 0;
    Py_CLEAR(st->logger);
    Py_CLEAR(st->substitute);
    Py_CLEAR(st->span_type);
    Py_CLEAR(st->hook_type);
    Py_CLEAR(st->run_events_type);
    return 0;
}

static void control_free(void *module)
{
    ctl_state *st = ctl_get_state((PyObject *)module);
    if (!st)
        return;
    /* At interpreter exit: never wait on the network here. */
    size_t n;
    struct open_entry **all = open_table_take_all(&st->open, &n);
    for (size_t i = 0; i < n; i++) {
        ctr_span_free(all[i]->span);
        open_entry_free(all[i]);
    }
    free(all);
    ctr_span_free(st->continuous);
    ctr_span_free(st->method);
    ctr_span_free(st->rollbacks);
    ctr_span_free(st->experiment);
    ctr_tracer_free(st->tracer); /* zero deadline */
    st->tracer = NULL;
    free(st->tracestate);
    free(st->baggage);
    free(st->trace_url);
    control_clear((PyObject *)module);
}

static PyModuleDef_Slot control_slots[] = {
    {Py_mod_exec, control_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef control_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "chaostracing.control",
    .m_doc = "The chaostracing control for the Chaos Toolkit: one span per experiment, phase and "
             "activity, exported by the chaostracing C library.",
    .m_size = sizeof(ctl_state),
    .m_methods = control_methods,
    .m_slots = control_slots,
    .m_traverse = control_traverse,
    .m_clear = control_clear,
    .m_free = control_free,
};

PyMODINIT_FUNC PyInit_control(void)
{
    return PyModuleDef_Init(&control_module);
}
