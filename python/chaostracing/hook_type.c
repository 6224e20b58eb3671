/*
 * Hooks with a ready signature.
 *
 * chaoslib calls inspect.signature() on a hook before every call. For a C
 * function that means parsing __text_signature__ with ast each time (about
 * 70 µs, two orders of magnitude more than the hook itself). So each hook is
 * exposed as a Hook: a vectorcall object forwarding to the C function, whose
 * __signature__ is computed once and then handed out, which
 * inspect.signature() returns at once. It deliberately has no __wrapped__.
 */
#include "binding.h"

#include <stddef.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD vectorcallfunc vectorcall;
    PyObject *func; /* the builtin function */
    PyObject *sig;  /* inspect.Signature, lazily */
} HookObject;

static PyObject *hook_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames)
{
    return PyObject_Vectorcall(((HookObject *)callable)->func, args, nargsf, kwnames);
}

static int hook_traverse(HookObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    Py_VISIT(self->sig);
    return 0;
}

static int hook_clear(HookObject *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->sig);
    return 0;
}

static void hook_dealloc(HookObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    hook_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *hook_get_signature(HookObject *self, void *unused)
{
    (void)unused;
    if (!self->sig) {
        PyObject *inspect = PyImport_ImportModule("inspect");
        if (!inspect)
            return NULL;
        PyObject *sig = PyObject_CallMethod(inspect, "signature", "O", self->func);
        Py_DECREF(inspect);
        if (!sig)
            return NULL;
        if (!self->sig) /* another thread may have made it meanwhile */
            self->sig = sig;
        else
            Py_DECREF(sig);
    }
    return Py_NewRef(self->sig);
}

/* __name__, __qualname__, __doc__ and __text_signature__ of the function. */
static PyObject *hook_get_attr(HookObject *self, void *name)
{
    return PyObject_GetAttrString(self->func, (const char *)name);
}

static PyObject *hook_repr(HookObject *self)
{
    return PyUnicode_FromFormat("<chaostracing hook %R>", self->func);
}

static PyMemberDef hook_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(HookObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef hook_getset[] = {
    {"__signature__", (getter)hook_get_signature, NULL, NULL, NULL},
    {"__name__", (getter)hook_get_attr, NULL, NULL, "__name__"},
    {"__qualname__", (getter)hook_get_attr, NULL, NULL, "__qualname__"},
    {"__doc__", (getter)hook_get_attr, NULL, NULL, "__doc__"},
    {"__text_signature__", (getter)hook_get_attr, NULL, NULL, "__text_signature__"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot hook_slots[] = {
    {Py_tp_dealloc, hook_dealloc},
    {Py_tp_traverse, hook_traverse},
    {Py_tp_clear, hook_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_repr, hook_repr},
    {Py_tp_members, hook_members},
    {Py_tp_getset, hook_getset},
    CTL_COMPAT_NO_NEW /* 3.9: no Py_TPFLAGS_DISALLOW_INSTANTIATION */
    {0, NULL},
};

PyType_Spec ctl_hook_spec = {
    .name = "chaostracing.control.Hook",
    .basicsize = sizeof(HookObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = hook_slots,
};

PyObject *ctl_hook_new(PyTypeObject *type, PyObject *func)
{
    HookObject *h = PyObject_GC_New(HookObject, type);
    if (!h)
        return NULL;
    h->vectorcall = hook_vectorcall;
    h->sig = NULL;
    h->func = Py_NewRef(func);
    PyObject_GC_Track(h);
    return (PyObject *)h;
}
