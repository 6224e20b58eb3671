/*
 * What the binding's small types share: objects that hold their module and
 * nothing else (a tracer, a scope manager, a provider, a propagator, the run
 * event handler: everything they do goes through the module's state), and
 * deallocation through the type's own tp_clear.
 */
#include "binding.h"

void ctl_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tp->tp_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

int ctl_holder_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((ctl_holder *)self)->module);
    return 0;
}

int ctl_holder_clear(PyObject *self)
{
    Py_CLEAR(((ctl_holder *)self)->module);
    return 0;
}

PyObject *ctl_holder_new(PyObject *type, PyObject *module)
{
    ctl_holder *h = PyObject_GC_New(ctl_holder, (PyTypeObject *)type);
    if (!h)
        return NULL;
    h->module = Py_NewRef(module);
    PyObject_GC_Track(h);
    return (PyObject *)h;
}
