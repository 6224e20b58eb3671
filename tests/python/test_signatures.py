"""The hooks' signatures as chaoslib sees them through inspect.signature.

chaoslib (chaoslib/control/python.py) looks each hook up by name, calls
inspect.signature on it, injects `experiment`, `secrets`, `configuration`,
`state`, `settings`, `extensions` (hooks) or `experiment`, `secrets`,
`configuration`, `settings`, `event_registry` (configure_control) only when
the name is a parameter, and calls with keywords only: the control's own
`arguments` plus, for hooks, `context=`. A C function without a text
signature makes inspect.signature raise, and a TypeError at call time is
swallowed by chaoslib, so these checks are the only loud failure.
"""

import importlib
import importlib.machinery
import inspect

import pytest

P = inspect.Parameter
KEYWORD_CAPABLE = (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)

HOOK_INJECTED = ("secrets", "configuration", "state", "experiment", "extensions", "settings")
CONFIGURE_INJECTED = ("experiment", "secrets", "configuration", "settings", "event_registry")
# Every argument the control documents (control-spec.md); chaoslib passes
# them as keywords to every function it calls.
CONTROL_ARGUMENTS = {
    "provider": "opentelemetry",
    "exporter": "file",
    "collector_endpoint": "http://127.0.0.1:4318",
    "collector_headers": {"a": "b"},
    "file_path": "/dev/null",
    "collector_insecure": False,
}
LEVELS = ("experiment", "hypothesis", "method", "rollback", "activity")
BEFORE = [f"before_{lvl}_control" for lvl in LEVELS]
AFTER = [f"after_{lvl}_control" for lvl in LEVELS]


@pytest.fixture(scope="module")
def control():
    try:
        return importlib.import_module("chaostracing.control")
    except ImportError as e:  # must fail, never skip
        pytest.fail(f"chaostracing.control cannot be imported: {e}", pytrace=False)


def sig_of(control, name):
    func = getattr(control, name, None)
    assert func is not None, f"chaostracing.control has no {name}"
    assert callable(func)
    try:
        return inspect.signature(func)
    except (ValueError, TypeError) as e:
        pytest.fail(f"inspect.signature({name}) fails ({e}): add a __text_signature__")


def chaoslib_call_kwargs(sig, injected, extra):
    """The keywords chaoslib would pass, given the signature."""
    kwargs = dict(CONTROL_ARGUMENTS)
    kwargs.update(extra)
    for name in injected:
        if name in sig.parameters:
            kwargs[name] = {} if name != "state" else None
    return kwargs


def assert_keyword_capable(sig, name, fname):
    assert name in sig.parameters, f"{fname} has no parameter {name!r}: {sig}"
    kind = sig.parameters[name].kind
    assert kind in KEYWORD_CAPABLE, f"{fname}: {name!r} cannot be passed by keyword ({kind})"


def assert_var_keyword(sig, fname):
    kinds = [p.kind for p in sig.parameters.values()]
    assert P.VAR_KEYWORD in kinds, (
        f"{fname} needs **kwargs: chaoslib passes every control argument as a keyword: {sig}"
    )


def test_is_a_c_extension(control):
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert control.__file__.endswith(suffixes), f"not an extension module: {control.__file__}"


def test_configure_control(control):
    sig = sig_of(control, "configure_control")
    assert_keyword_capable(sig, "configuration", "configure_control")
    assert_var_keyword(sig, "configure_control")
    for p in sig.parameters.values():
        if p.kind in KEYWORD_CAPABLE and p.name != "configuration":
            assert p.default is not P.empty or p.name in CONFIGURE_INJECTED, (
                f"configure_control: {p.name!r} is required but chaoslib does not pass it"
            )
        assert p.kind != P.POSITIONAL_ONLY or p.default is not P.empty, (
            f"configure_control: required positional-only {p.name!r}"
        )
    sig.bind(**chaoslib_call_kwargs(sig, CONFIGURE_INJECTED, {}))
    # Without any control argument (provider from the configuration).
    sig.bind(**{n: {} for n in CONFIGURE_INJECTED if n in sig.parameters})


def test_cleanup_control(control):
    sig = sig_of(control, "cleanup_control")
    required = [
        p.name
        for p in sig.parameters.values()
        if p.default is P.empty and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)
    ]
    assert not required, f"cleanup_control() is called without arguments; required: {required}"
    sig.bind()


@pytest.mark.parametrize("name", BEFORE + AFTER)
def test_hook_signature(control, name):
    sig = sig_of(control, name)
    assert_keyword_capable(sig, "context", name)
    if name.startswith("after_"):
        assert_keyword_capable(sig, "state", name)
    assert_var_keyword(sig, name)
    for p in sig.parameters.values():
        if p.kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD) or p.name == "context":
            continue
        assert p.kind != P.POSITIONAL_ONLY, f"{name}: positional-only {p.name!r}"
        if p.name not in HOOK_INJECTED:
            assert p.default is not P.empty, (
                f"{name}: {p.name!r} is required but chaoslib never passes it"
            )
    # Exactly the call chaoslib makes, with and without control arguments.
    sig.bind(**chaoslib_call_kwargs(sig, HOOK_INJECTED, {"context": {}}))
    kw = {n: {} for n in HOOK_INJECTED if n in sig.parameters}
    sig.bind(context={}, **kw)


def chaoslib_injection(func, names, values):
    """The keywords chaoslib injects into func: the names it declares."""
    params = inspect.signature(func).parameters
    return {n: values[n] for n in names if n in params}


def test_hooks_are_callable_the_way_chaoslib_calls_them(control):
    """With tracing off (noop), every hook accepts exactly chaoslib's call."""
    experiment = {"title": "signature check", "method": []}
    values = {
        "experiment": experiment,
        "secrets": {},
        "configuration": {"tracing_provider": "noop"},
        "settings": {},
        "event_registry": None,
        "extensions": None,
        "state": {},
    }
    control.configure_control(
        **chaoslib_injection(control.configure_control, CONFIGURE_INJECTED, values)
    )
    try:
        for name in BEFORE:
            func = getattr(control, name)
            func(context=experiment, **chaoslib_injection(func, HOOK_INJECTED, values))
        for name in reversed(AFTER):
            func = getattr(control, name)
            func(context=experiment, **chaoslib_injection(func, HOOK_INJECTED, values))
    finally:
        control.cleanup_control()


def test_hook_signatures_are_computed_once():
    """chaoslib calls inspect.signature() before every hook call: the hooks
    hand out one ready Signature instead of re-parsing their text signature
    each time, and still look like functions to chaoslib's logging."""
    import inspect

    import chaostracing.control as control

    for name in ("before_activity_control", "after_activity_control", "configure_control"):
        hook = getattr(control, name)
        first = inspect.signature(hook)
        assert inspect.signature(hook) is first, name
        assert hook.__name__ == name
        assert not hasattr(hook, "__wrapped__")
        try:
            inspect.getfile(hook)
        except TypeError:
            pass  # what chaoslib's load_func expects and catches
        else:
            raise AssertionError(f"inspect.getfile({name}) should raise TypeError")
