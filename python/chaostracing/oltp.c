/*
 * chaostracing.oltp — the module experiments written for
 * chaostoolkit-opentracing's control of that name declare. It holds no state
 * of its own: chaostracing.control makes its hooks, bound to that module's
 * state (fronts.c), and keeps them in `_oltp`; importing this module copies
 * them in. So either module, or both, trace one run with one tracer.
 *
 * Built as its own extension from this file alone: it uses nothing of the C
 * library, only the version macro to check both modules come from one
 * install.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"

#include <chaostracing/common.h>

static int oltp_exec(PyObject *module)
{
    PyObject *control = PyImport_ImportModule("chaostracing.control");
    if (!control)
        return -1;
    PyObject *hooks = PyObject_GetAttrString(control, "_oltp");
    PyObject *version = hooks ? PyObject_GetAttrString(control, "__version__") : NULL;
    Py_DECREF(control);
    int rc = -1;
    if (!version) {
        /* the AttributeError says what is missing */
    } else if (!PyDict_Check(hooks) || !PyUnicode_Check(version) ||
               PyUnicode_CompareWithASCIIString(version, CTR_VERSION) != 0) {
        PyErr_Format(PyExc_ImportError,
                     "chaostracing.oltp %s and chaostracing.control %R come from different "
                     "installs; reinstall chaostracing",
                     CTR_VERSION, version);
    } else {
        rc = PyModule_AddObjectRef(module, "__version__", version);
        PyObject *name, *hook;
        Py_ssize_t pos = 0;
        while (rc == 0 && PyDict_Next(hooks, &pos, &name, &hook))
            rc = PyObject_SetAttr(module, name, hook);
    }
    Py_XDECREF(version);
    Py_XDECREF(hooks);
    return rc;
}

static PyModuleDef_Slot oltp_slots[] = {
    {Py_mod_exec, oltp_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef oltp_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "chaostracing.oltp",
    .m_doc = "The chaostracing control under the name chaostoolkit-opentracing's OpenTelemetry "
             "control had: configured by the OTEL_* variables, with that control's span names. "
             "It shares chaostracing.control's state: declaring both gives one trace.",
    .m_size = 0,
    .m_slots = oltp_slots,
};

PyMODINIT_FUNC PyInit_oltp(void)
{
    return PyModuleDef_Init(&oltp_module);
}
