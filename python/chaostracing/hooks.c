/*
 * The experiment, method, rollbacks and hypothesis hooks. Chaos Toolkit calls
 * them with keyword arguments only (see the text signatures); each copies
 * what it needs out of the Python objects into spans owned by the library.
 */
#include "binding.h"

#include <string.h>

#define BEFORE_SIG(name)                                                                           \
#name "($module, /, context, configuration=None, secrets=None, **kwargs)\n--\n\n"
#define AFTER_SIG(name)                                                                            \
#name "($module, /, context, state, configuration=None, secrets=None, **kwargs)\n--\n\n"

PyObject *ctl_kwarg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *name)
{
    for (Py_ssize_t i = 0; kwnames && i < PyTuple_GET_SIZE(kwnames); i++)
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, i), name) == 0)
            return args[nargs + i];
    return NULL;
}

PyObject *ctl_context_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return nargs > 0 ? args[0] : ctl_kwarg(args, nargs, kwnames, "context");
}

PyObject *ctl_state_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return nargs > 1 ? args[1] : ctl_kwarg(args, nargs, kwnames, "state");
}

struct ctr_span *ctl_start(ctl_state *st, const char *name, size_t nlen, struct ctr_span *parent,
                           ctr_span_kind kind, const char *type)
{
    struct ctr_span_context pctx;
    ctr_span_get_context(parent, &pctx);
    struct ctr_span *s =
        ctr_tracer_start_span(st->tracer, name, nlen, parent ? &pctx : NULL, kind, 0);
    if (s)
        ctr_span_set_str(s, "chaostoolkit.type", type, strlen(type));
    return s;
}

/* A span named after a str value (or `fallback`). */
static struct ctr_span *start_named(ctl_state *st, PyObject *title, const char *fallback,
                                    struct ctr_span *parent, const char *type)
{
    const char *p = fallback;
    Py_ssize_t n = (Py_ssize_t)strlen(fallback);
    PyObject *b = ctl_utf8(title, &p, &n);
    struct ctr_span *s = ctl_start(st, p, (size_t)n, parent, CTR_KIND_INTERNAL, type);
    Py_XDECREF(b);
    return s;
}

/* ---- experiment ---- */

/* The experiment's parent from the environment (a CI pipeline's trace),
 * keeping its tracestate and baggage for HTTP activities; BAGGAGE is kept
 * even without a parent. */
static bool env_parent(ctl_state *st, struct ctr_span_context *parent)
{
    char ts[CTR_TRACESTATE_MAX + 1], bag[CTR_BAGGAGE_MAX + 1];
    int rc = ctr_propagation_extract_env(&st->prop, parent, ts, sizeof ts, bag, sizeof bag);
    if (bag[0] && !st->baggage) /* BAGGAGE travels on without a TRACEPARENT too */
        st->baggage = strdup(bag);
    if (rc)
        return false;
    if (ts[0] && (st->tracestate = strdup(ts)) != NULL) {
        parent->trace_state.ptr = st->tracestate;
        parent->trace_state.len = strlen(ts);
    }
    return true;
}

/* chaostoolkit.platform.full: platform.platform(), as upstream records. */
static void set_platform(struct ctr_span *s)
{
    PyObject *mod = PyImport_ImportModule("platform");
    PyObject *full = mod ? PyObject_CallMethod(mod, "platform", NULL) : NULL;
    ctl_set_str(s, "chaostoolkit.platform.full", full);
    Py_XDECREF(full);
    Py_XDECREF(mod);
    ctl_hold_error();
}

/* Baggage member → attribute of the same name (value decoded). */
static void baggage_attr(void *span, const char *k, size_t kn, const char *v, size_t vn)
{
    char key[256];
    if (kn >= sizeof key)
        return;
    memcpy(key, k, kn);
    key[kn] = '\0';
    ctr_span_set_str(span, key, v, vn);
}

/* A --dry run: which activities were skipped (chaoslib's Dry enum). */
static void set_dry(struct ctr_span *s, PyObject *dry)
{
    if (!dry || dry == Py_None)
        return;
    PyObject *v = PyObject_GetAttrString(dry, "value");
    if (!v) {
        ctl_hold_error();
        v = PyObject_Str(dry);
    }
    if (v && !PyUnicode_Check(v))
        Py_SETREF(v, PyObject_Str(v));
    ctl_set_str(s, "chaostoolkit.experiment.dry", v);
    Py_XDECREF(v);
    ctl_hold_error();
}

const char before_experiment_control_doc[] =
    BEFORE_SIG(before_experiment_control) "Start the experiment span.";

PyObject *before_experiment_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                    PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    ctl_drain_logs(st);
    PyObject *ctx = ctl_context_arg(args, nargs, kwnames);
    if (!st->tracer || st->experiment || !ctx || !PyDict_Check(ctx))
        return ctl_hook_return();
    struct ctr_span_context parent;
    bool has_parent = env_parent(st, &parent);
    ctl_drain_logs(st);
    PyObject *title = ctl_dget(ctx, "title");
    const char *p = "experiment";
    Py_ssize_t n = 10;
    PyObject *tb = ctl_oltp(st) ? NULL : ctl_utf8(title, &p, &n);
    struct ctr_span *s = ctr_tracer_start_span(st->tracer, p, (size_t)n,
                                               has_parent ? &parent : NULL, CTR_KIND_INTERNAL, 0);
    Py_XDECREF(tb);
    if (!s)
        return PyErr_NoMemory();
    st->experiment = s;
    st->experiment_thread = PyThread_get_thread_ident();
    ctr_span_set_essential(s);
    ctr_span_set_str(s, "chaostoolkit.type", "experiment", 10);
    set_dry(s, ctl_dget(ctx, "dry"));
    /* Upstream's oltp control copies the baggage (BAGGAGE) onto the root. */
    if (ctl_oltp(st) && st->baggage)
        ctr_baggage_each(st->baggage, strlen(st->baggage), baggage_attr, s);
    ctl_set_str(s, "chaostoolkit.experiment.title", title);
    ctl_set_str_list(s, "chaostoolkit.experiment.tags", ctl_dget(ctx, "tags"));
    PyObject *contrib = ctl_dget(ctx, "contributions");
    PyObject *items = contrib && PyDict_Check(contrib) ? PyDict_Items(contrib) : NULL;
    for (Py_ssize_t i = 0; items && i < PyList_GET_SIZE(items); i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        const char *kp;
        Py_ssize_t kn;
        PyObject *kb = ctl_utf8(PyTuple_GET_ITEM(kv, 0), &kp, &kn);
        if (!kb)
            continue;
        char key[256];
        snprintf(key, sizeof key, "chaostoolkit.experiment.contributions.%.*s", (int)kn, kp);
        PyObject *v = PyTuple_GET_ITEM(kv, 1);
        if (PyUnicode_Check(v))
            ctl_set_str(s, key, v);
        else
            ctl_set_json(s, key, v);
        Py_DECREF(kb);
    }
    Py_XDECREF(items);
    ctl_hold_error();
    set_platform(s);
    return ctl_hook_return();
}

/* Say where the run's trace is: one INFO line (with the link when a template
 * is configured) and an entry "chaostracing" in the journal's experiment
 * extensions, set with chaoslib's own helper, so `chaos report` and readers
 * of the journal find it. */
static void link_trace(ctl_state *st, struct ctr_span *root, PyObject *journal)
{
    struct ctr_span_context ctx;
    ctr_span_get_context(root, &ctx);
    char tid[2 * CTR_TRACE_ID_LEN + 1], sid[2 * CTR_SPAN_ID_LEN + 1];
    ctr_hex_encode(ctx.trace_id, CTR_TRACE_ID_LEN, tid);
    ctr_hex_encode(ctx.span_id, CTR_SPAN_ID_LEN, sid);
    struct ctr_buf url = {0};
    if (st->trace_url) {
        ctr_trace_link(st->trace_url, ctx.trace_id, ctx.span_id, &url);
        ctr_buf_putc(&url, 0);
    }
    const char *link = st->trace_url && !url.err ? (const char *)url.data : NULL;
    ctl_logf(st, CTR_LOG_INFO, "the run's trace is %s%s%s", tid, link ? ": " : "",
             link ? link : "");
    PyObject *exp = ctl_dget(journal, "experiment");
    PyObject *mod = exp && PyDict_Check(exp) ? PyImport_ImportModule("chaoslib.extension") : NULL;
    PyObject *ext = mod ? Py_BuildValue("{s:s,s:s,s:s}", "name", "chaostracing", "trace_id", tid,
                                        "span_id", sid)
                        : NULL;
    if (ext && link) {
        PyObject *u = PyUnicode_FromString(link);
        if (!u || PyDict_SetItemString(ext, "trace_url", u) < 0)
            ctl_hold_error();
        Py_XDECREF(u);
    }
    PyObject *r = ext ? PyObject_CallMethod(mod, "set_extension", "OO", exp, ext) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(ext);
    Py_XDECREF(mod);
    ctl_hold_error();
    ctr_buf_free(&url);
}

const char after_experiment_control_doc[] =
    AFTER_SIG(after_experiment_control) "End the experiment span.";

PyObject *after_experiment_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    ctl_drain_logs(st);
    struct ctr_span *s = st->experiment;
    if (!s)
        return ctl_hook_return();
    st->experiment = NULL;
    PyObject *journal = ctl_state_arg(args, nargs, kwnames);
    PyObject *status = ctl_dget(journal, "status");
    const char *sv = status && PyUnicode_Check(status) ? PyUnicode_AsUTF8(status) : NULL;
    ctl_hold_error();
    bool interrupted = st->interrupted || (sv && strcmp(sv, "interrupted") == 0);
    /* Anything still open below the experiment ends now, children first;
     * an activity still running when an interrupt ended the run (in the
     * background) was cut short by it. */
    size_t n;
    struct open_entry **all = open_table_take_all(&st->open, &n);
    for (size_t i = n; i-- > 0;) {
        if (interrupted)
            open_entry_mark_interrupted(all[i]);
        open_entry_close(all[i]);
    }
    free(all);
    PyObject *deviated = ctl_dget(journal, "deviated");
    ctl_set_str(s, "chaostoolkit.experiment.status", status);
    bool dev = deviated && PyObject_IsTrue(deviated) == 1;
    ctl_hold_error();
    ctr_span_set_bool(s, "chaostoolkit.experiment.deviated", dev);
    ctr_span_set_bool(s, "chaostoolkit.experiment.interrupted", interrupted);
    if (st->exit_signal)
        ctr_span_set_str(s, "chaostoolkit.experiment.exit_signal", st->exit_signal,
                         strlen(st->exit_signal));
    /* A hypothesis not met before the method stops the run: chaoslib may
     * still call it "completed". */
    PyObject *before = ctl_dget(ctl_dget(journal, "steady_states"), "before");
    bool gate_failed = ctl_dget(before, "steady_state_met") == Py_False;
    if (gate_failed)
        ctr_span_set_bool(s, "chaostoolkit.experiment.steady_state_before_met", false);
    char msg[160];
    if (interrupted) {
        snprintf(msg, sizeof msg, "experiment interrupted%s%s", st->exit_signal ? " by " : "",
                 st->exit_signal ? st->exit_signal : "");
        ctr_span_set_status(s, CTR_STATUS_ERROR, msg, strlen(msg));
    } else if (sv && strcmp(sv, "completed") != 0) {
        snprintf(msg, sizeof msg, "experiment %.100s", sv);
        ctr_span_set_status(s, CTR_STATUS_ERROR, msg, strlen(msg));
    } else if (gate_failed) {
        snprintf(msg, sizeof msg, "steady-state hypothesis not met before the method");
        ctr_span_set_status(s, CTR_STATUS_ERROR, msg, strlen(msg));
    } else if (dev) {
        ctr_span_set_status(s, CTR_STATUS_ERROR, "experiment deviated", 19);
    }
    struct ctr_span **phases[] = {&st->continuous, &st->method, &st->rollbacks};
    for (size_t i = 0; i < 3; i++) {
        ctr_span_end(*phases[i], 0);
        *phases[i] = NULL;
    }
    link_trace(st, s, journal);
    ctr_span_end(s, 0);
    return ctl_hook_return();
}

/* ---- method and rollbacks ---- */

static PyObject *before_phase(ctl_state *st, struct ctr_span **slot, const char *name,
                              const char *type)
{
    ctl_drain_logs(st);
    if (st->tracer && !*slot) {
        *slot = ctl_start(st, name, strlen(name), st->experiment, CTR_KIND_INTERNAL, type);
        if (!*slot)
            return PyErr_NoMemory();
        ctr_span_set_essential(*slot);
    }
    return ctl_hook_return();
}

static PyObject *after_phase(ctl_state *st, struct ctr_span **slot)
{
    ctl_drain_logs(st);
    ctr_span_end(*slot, 0);
    *slot = NULL;
    return ctl_hook_return();
}

const char before_method_control_doc[] = BEFORE_SIG(before_method_control) "Start the method span.";
PyObject *before_method_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    ctl_state *st = ctl_get_state(module);
    st->method_seen = true;
    return before_phase(st, &st->method, "method", "method");
}

const char after_method_control_doc[] = AFTER_SIG(after_method_control) "End the method span.";
PyObject *after_method_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    ctl_state *st = ctl_get_state(module);
    return after_phase(st, &st->method);
}

const char before_rollback_control_doc[] =
    BEFORE_SIG(before_rollback_control) "Start the rollbacks span.";
PyObject *before_rollback_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    ctl_state *st = ctl_get_state(module);
    return before_phase(st, &st->rollbacks, "rollbacks", "rollback");
}

const char after_rollback_control_doc[] =
    AFTER_SIG(after_rollback_control) "End the rollbacks span.";
PyObject *after_rollback_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    (void)args, (void)nargs, (void)kwnames;
    ctl_state *st = ctl_get_state(module);
    /* A signal during the rollbacks unwinds through here; chaoslib catches
     * it afterwards and sends no run event about it. */
    if (st->rollbacks)
        ctl_note_exit_signal(st);
    return after_phase(st, &st->rollbacks);
}

/* ---- hypothesis ---- */

const char before_hypothesis_control_doc[] =
    BEFORE_SIG(before_hypothesis_control) "Start a hypothesis span.";

PyObject *before_hypothesis_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                    PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    ctl_drain_logs(st);
    PyObject *ctx = ctl_context_arg(args, nargs, kwnames);
    unsigned long thread = PyThread_get_thread_ident();
    if (!st->tracer || !ctx || open_table_has(&st->open, ENTRY_HYPOTHESIS, ctx, thread))
        return ctl_hook_return();
    bool continuous = thread != st->experiment_thread;
    const char *phase = continuous ? "continuous" : st->method_seen ? "after" : "before";
    PyObject *title = ctl_dget(ctx, "title");
    /* chaostracing.oltp: "hypothesis", each iteration of a continuous one
     * under the span that covers them all (run_events.c). */
    struct ctr_span *parent = continuous && st->continuous ? st->continuous : st->experiment;
    struct ctr_span *s =
        start_named(st, ctl_oltp(st) ? NULL : title, "hypothesis", parent, "hypothesis");
    if (!s)
        return PyErr_NoMemory();
    ctr_span_set_essential(s);
    ctl_set_str(s, "chaostoolkit.hypothesis.title", title);
    ctr_span_set_str(s, "chaostoolkit.hypothesis.phase", phase, strlen(phase));
    if (continuous) /* chaoslib numbers them from 1 */
        ctr_span_set_int(s, "chaostoolkit.hypothesis.iteration", ++st->iteration);
    struct open_entry *e = open_entry_new(ENTRY_HYPOTHESIS, ctx, thread, s);
    if (!e || open_table_add(&st->open, e) < 0) {
        open_entry_free(e);
        ctr_span_free(s);
        return PyErr_NoMemory();
    }
    return ctl_hook_return();
}

/* The run that made the hypothesis deviate: the first probe run whose
 * tolerance was not met or that failed, else the last one. New reference. */
static PyObject *deviating_run(PyObject *probes)
{
    if (!probes || !PyList_Check(probes) || PyList_GET_SIZE(probes) == 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(probes);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *run = PyList_GET_ITEM(probes, i);
        PyObject *status = ctl_dget(run, "status");
        if (ctl_dget(run, "tolerance_met") == Py_False ||
            (status && PyUnicode_Check(status) &&
             PyUnicode_CompareWithASCIIString(status, "failed") == 0))
            return Py_NewRef(run);
    }
    return Py_NewRef(PyList_GET_ITEM(probes, n - 1));
}

/* The event of a deviated hypothesis: which probe, its tolerance, output and
 * status. Its attributes are gathered in a builder, outside any sampler. */
static void add_deviation(struct ctr_span *s, PyObject *state)
{
    PyObject *run = deviating_run(ctl_dget(state, "probes"));
    PyObject *activity = Py_XNewRef(ctl_dget(run, "activity"));
    PyObject *tolerance = Py_XNewRef(ctl_dget(activity, "tolerance"));
    PyObject *output = Py_XNewRef(ctl_dget(run, "output"));
    struct ctr_attr_builder b = {0};
    ctl_builder_set_str(&b, "chaostoolkit.probe.name", ctl_dget(activity, "name"));
    ctl_builder_set_json(&b, "chaostoolkit.probe.tolerance", tolerance);
    ctl_builder_set_json(&b, "chaostoolkit.probe.output", output);
    ctl_builder_set_str(&b, "chaostoolkit.probe.status", ctl_dget(run, "status"));
    size_t n;
    const struct ctr_attr *items = ctr_attr_builder_items(&b, &n);
    ctr_span_add_event(s, "chaostoolkit.hypothesis.deviated", 32, 0, items, n);
    ctr_attr_builder_free(&b);
    Py_XDECREF(output);
    Py_XDECREF(tolerance);
    Py_XDECREF(activity);
    Py_XDECREF(run);
}

const char after_hypothesis_control_doc[] =
    AFTER_SIG(after_hypothesis_control) "End a hypothesis span.";

PyObject *after_hypothesis_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    ctl_state *st = ctl_get_state(module);
    ctl_drain_logs(st);
    PyObject *ctx = ctl_context_arg(args, nargs, kwnames);
    /* The hypothesis and its probes leave the table before any Python code. */
    struct open_entry *e =
        open_table_take(&st->open, ENTRY_HYPOTHESIS, ctx, PyThread_get_thread_ident());
    if (!e)
        return ctl_hook_return();
    size_t nprobe;
    struct open_entry **probe = open_table_take_probes(&st->open, e->span, &nprobe);
    PyObject *state = ctl_state_arg(args, nargs, kwnames);
    PyObject *met = ctl_dget(state, "steady_state_met");
    if (met == Py_True || met == Py_False)
        ctr_span_set_bool(e->span, "chaostoolkit.hypothesis.met", met == Py_True);
    if (met == Py_False) {
        ctr_span_set_status(e->span, CTR_STATUS_ERROR, "steady-state hypothesis deviated", 32);
        add_deviation(e->span, state);
        /* An iteration deviated: so did the continuous hypothesis. No Python
         * code ran since the span was read. */
        if (st->continuous && e->thread != st->experiment_thread)
            ctr_span_set_status(st->continuous, CTR_STATUS_ERROR,
                                "steady-state hypothesis deviated", 32);
    }
    /* The probes, in the order they ran, get their tolerance_met from the
     * runs in the same order. */
    PyObject *runs = ctl_dget(state, "probes");
    for (size_t k = 0; k < nprobe; k++) {
        PyObject *tm = runs && PyList_Check(runs) && (Py_ssize_t)k < PyList_GET_SIZE(runs)
                           ? ctl_dget(PyList_GET_ITEM(runs, (Py_ssize_t)k), "tolerance_met")
                           : NULL;
        struct ctr_span *ps = probe[k]->span;
        if (probe[k]->end_ns && (tm == Py_True || tm == Py_False)) {
            ctr_span_set_bool(ps, "chaostoolkit.activity.tolerance_met", tm == Py_True);
            /* A failed activity keeps its own error message. */
            if (tm == Py_False && ctr_span_get_status(ps) == CTR_STATUS_UNSET)
                ctr_span_set_status(ps, CTR_STATUS_ERROR, "tolerance not met", 17);
        }
        open_entry_close(probe[k]);
    }
    free(probe);
    e->end_ns = ctr_now_ns();
    open_entry_close(e);
    return ctl_hook_return();
}
