"""Every exporter and provider, through a real OpenTelemetry Collector (its
file exporter's OTLP JSON) and a real Jaeger v2 (its /api/v3 query API):
the experiment's trace arrives whole, with the target service's own server
spans inside it.

Each (backend, scenario) is one real `chaos run` of
tests/python/experiments/main.json (a hypothesis before and after, Python,
process and HTTP activities, a background activity, a failing activity,
a rollback) against service.py, made once and shared by the tests below.
What a protocol cannot carry is described by the scenario's wire
(scenarios.py); everything else must come back as the control made it.

Python activities that call the service from inside a client span of their
own (other extensions' spans) are test_e2e_extensions.py's.
"""

import json
import platform
import socket

import pytest

from conftest import KIND_SERVER, SERVICE_SPANS, ours, propagation_headers, theirs
from python_tests_conftest import (
    HYPOTHESIS,
    KIND_CLIENT,
    MAIN_SPAN_COUNT,
    METHOD_ACTIVITIES,
    PROBES,
    ROLLBACKS,
    SEQUENTIAL_METHOD,
    STATUS_ERROR,
    Spans,
    chaostracing_records,
    load_experiment,
    summary_line,
)
from scenarios import SCENARIOS

OUTPUT = "chaostoolkit.activity.output"
HTTP_ACTIVITIES = ("probe-http-health", "action-http-post")
CASES = [(b, s) for b in ("collector", "jaeger") for s in SCENARIOS]


@pytest.fixture(params=CASES, ids=[f"{b}-{s.id}" for b, s in CASES])
def traced(request, e2e):
    backend, scenario = request.param
    return e2e.run(backend, scenario)


def tree(spans: Spans, title: str):
    """(root, [hypothesis before, after], method, rollbacks)."""
    hyps = sorted(spans.named(HYPOTHESIS), key=lambda s: s["start"])
    assert len(hyps) == 2, f"expected 2 hypothesis spans, got {len(hyps)}"
    return spans.one(title), hyps, spans.one("method"), spans.one("rollbacks")


def http_spans(spans: Spans, title: str):
    """The HTTP activity spans in the order they called the service."""
    _, (before, after), _, _ = tree(spans, title)

    def probe(h):
        return [c for c in spans.children(h) if c["name"] == "probe-http-health"][0]

    return [probe(before), spans.one("action-http-post"), probe(after)]


# --------------------------------------------------------------------------
# The run and the trace as a whole
# --------------------------------------------------------------------------
def test_run_completed_and_logged_every_span_exported(traced):
    run = traced.run
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed" and run.journal["deviated"] is False
    n, _, dropped, failed = summary_line(run.log)
    assert (n, dropped, failed) == (MAIN_SPAN_COUNT, 0, 0), run.describe()
    bad = [r.message for r in chaostracing_records(run.log) if r.level not in ("INFO", "DEBUG")]
    assert not bad, bad


def test_one_trace_with_every_span_once(traced):
    assert traced.trace_id, f"no trace rooted at {traced.title!r} arrived\n" + traced.run.describe()
    spans = ours(traced)
    assert {s["trace_id"] for s in traced.spans} == {traced.trace_id}
    expected = sorted(
        [traced.title, "method", "rollbacks"]
        + [HYPOTHESIS] * 2
        + PROBES * 2
        + METHOD_ACTIVITIES
        + ROLLBACKS
    )
    assert sorted(s["name"] for s in spans.all) == expected
    assert len(theirs(traced)) == SERVICE_SPANS
    Spans(traced.spans)  # span ids unique across both services


def test_parent_links_form_the_experiment_tree(traced):
    spans = ours(traced)
    root, (before, after), method, rollbacks = tree(spans, traced.title)
    assert root["parent"] == ""
    assert [c["span_id"] for c in spans.children(root)] == [
        before["span_id"],
        method["span_id"],
        after["span_id"],
        rollbacks["span_id"],
    ]
    for h in (before, after):
        assert [c["name"] for c in spans.children(h)] == PROBES
    kids = [c["name"] for c in spans.children(method)]
    assert sorted(kids) == sorted(METHOD_ACTIVITIES)
    assert [k for k in kids if k != "action-background-sleep"] == SEQUENTIAL_METHOD
    assert [c["name"] for c in spans.children(rollbacks)] == ROLLBACKS
    for s in spans.all:
        assert s is root or s["parent"] in spans.by_id, f"{s['name']!r} has an unknown parent"


# --------------------------------------------------------------------------
# The system under test joins the trace
# --------------------------------------------------------------------------
def test_service_server_spans_are_children_of_the_http_activities(traced):
    """The service's SDK reads only the scenario's propagation format (b3
    and b3multi read either B3 form), so a wrong or missing header leaves
    its span a root of another trace; the span also names the headers the
    request carried, which must be that format's and no others."""
    spans = ours(traced)
    clients = http_spans(spans, traced.title)
    servers = theirs(traced)
    assert [s["name"] for s in servers] == ["GET /probe", "POST /action", "GET /probe"]
    for client, server in zip(clients, servers):
        assert server["kind"] == KIND_SERVER
        assert server["scope"] == "opentelemetry.instrumentation.wsgi"
        assert server["trace_id"] == client["trace_id"]
        assert server["parent"] == client["span_id"], (
            f"{server['name']} is not a child of {client['name']} "
            f"({traced.scenario.propagation} headers)"
        )
        assert client["start"] <= server["start"] <= traced.run.ended_ns
        assert propagation_headers(server) == traced.scenario.headers


# --------------------------------------------------------------------------
# Names, kinds, attributes, status, events
# --------------------------------------------------------------------------
def _output_matches(name: str, text: str) -> bool:
    """The activity output attribute (JSON text) of each activity."""
    fixed = {
        "probe-python-true": True,
        "action-python-answer": {"answer": 42},
        "action-process-echo": {"status": 0, "stdout": "hello-from-process\n", "stderr": ""},
        "action-background-sleep": "slept",
        "action-python-fails": None,
        "rollback-python": "rolled back",
    }
    if name in fixed:
        return json.loads(text) == fixed[name]
    if name in HTTP_ACTIVITIES:
        out = json.loads(text)
        return out["status"] == 200 and out["body"] == {"ok": True}
    assert name == "action-python-big-output"
    return 1000 < len(text) <= 4096 and text.startswith('"xxxxxxxx')


def _activity_definitions():
    exp = load_experiment("main")
    yield from exp["steady-state-hypothesis"]["probes"]
    yield from exp["method"]
    yield from exp["rollbacks"]


def expected_attributes(traced):
    """{span name: the attributes the control sets on it}, outputs aside."""
    out = {
        traced.title: {
            "chaostoolkit.type": "experiment",
            "chaostoolkit.experiment.title": traced.title,
            "chaostoolkit.experiment.tags": ["tracing", "e2e"],
            "chaostoolkit.experiment.contributions.reliability": "high",
            "chaostoolkit.experiment.contributions.security": "none",
            "chaostoolkit.experiment.status": "completed",
            "chaostoolkit.experiment.deviated": False,
            "chaostoolkit.experiment.interrupted": False,
            # chaos runs with this interpreter, on this machine
            "chaostoolkit.platform.full": platform.platform(),
        },
        "method": {"chaostoolkit.type": "method"},
        "rollbacks": {"chaostoolkit.type": "rollback"},
    }
    for a in _activity_definitions():
        p = a["provider"]
        attrs = {
            "chaostoolkit.type": "activity",
            "chaostoolkit.activity.name": a["name"],
            "chaostoolkit.activity.type": a["type"],
            "chaostoolkit.activity.provider.type": p["type"],
            "chaostoolkit.activity.background": a.get("background", False),
            "chaostoolkit.activity.status": "failed" if "fails" in a["name"] else "succeeded",
        }
        if p["type"] == "python":
            attrs["chaostoolkit.activity.provider.module"] = p["module"]
            attrs["chaostoolkit.activity.provider.func"] = p["func"]
        elif p["type"] == "process":
            attrs["chaostoolkit.activity.provider.path"] = p["path"]
        else:
            attrs["http.request.method"] = p.get("method", "get").upper()
            attrs["url.full"] = p["url"].replace("${target_url}", traced.target_url)
            attrs["http.response.status_code"] = 200
        if a["type"] == "probe":
            attrs["chaostoolkit.activity.tolerance_met"] = True
        out[a["name"]] = attrs
    return out


def comparable(span, wire):
    """A span's attributes with what the protocol adds or renames undone:
    otel.* tags (scope, status) and Zipkin's "error" tag are checked
    elsewhere; Jaeger receivers may rename http.response.status_code to
    http.status_code."""
    attrs = {
        k: v
        for k, v in span["attributes"].items()
        if not k.startswith("otel.") and not (k == "error" and wire.status_message_in_error_tag)
    }
    if "http.status_code" in attrs and "http.response.status_code" not in attrs:
        attrs["http.response.status_code"] = attrs.pop("http.status_code")
    return attrs


ERROR = "chaostoolkit.activity.error"


def test_span_attributes_as_the_control_set_them(traced):
    wire = traced.scenario.wire
    spans = ours(traced)
    expected = expected_attributes(traced)
    hyps = sorted(spans.named(HYPOTHESIS), key=lambda s: s["start"])
    for phase, h in zip(("before", "after"), hyps):
        assert comparable(h, wire) == {
            k: wire.value(v)
            for k, v in {
                "chaostoolkit.type": "hypothesis",
                "chaostoolkit.hypothesis.title": HYPOTHESIS,
                "chaostoolkit.hypothesis.phase": phase,
                "chaostoolkit.hypothesis.met": True,
            }.items()
        }
    for s in spans.all:
        if s["name"] == HYPOTHESIS:
            continue
        got = comparable(s, wire)
        output = got.pop(OUTPUT, None)
        # The failed activity's exception text (its traceback), as upstream records it.
        error = got.pop(ERROR, None)
        if s["name"] == "action-python-fails":
            assert error and error.startswith("Traceback"), error
            assert error.endswith("ValueError: ctk-boom\n"), error
        else:
            assert error is None, s["name"]
        want = {k: wire.value(v) for k, v in expected[s["name"]].items()}
        assert got == want, f"attributes of {s['name']!r}"
        if want.get("chaostoolkit.type") == wire.value("activity"):
            assert output is not None and _output_matches(s["name"], output), (s["name"], output)


def test_kinds_scope_and_resource(traced):
    wire = traced.scenario.wire
    spans = ours(traced)
    for s in spans.all:
        want = KIND_CLIENT if s["name"] in HTTP_ACTIVITIES else wire.internal_kind
        assert s["kind"] == want, f"kind of {s['name']!r}"
        # The scope survives as the scope or, where the receiver does not
        # map it back, as the otel.scope.name tag.
        assert "chaostracing" in (s["scope"], s["attributes"].get("otel.scope.name")), s["name"]
        r = s["resource"]
        assert r["service.name"] == "chaostoolkit"
        assert r["telemetry.sdk.name"] == "chaostracing"
        assert r["telemetry.sdk.language"] == "c"
        assert r["host.name"] == socket.gethostname()
        assert r["process.pid"] == wire.value(traced.run.pid)


def test_status_and_exception_event(traced):
    wire = traced.scenario.wire
    spans = ours(traced)
    failed = spans.one("action-python-fails")
    assert failed["status_code"] == STATUS_ERROR
    message = (
        failed["attributes"]["error"]
        if wire.status_message_in_error_tag
        else failed["status_message"]
    )
    assert message == "ValueError: ctk-boom"
    events = wire.events(failed)
    assert [e["name"] for e in events] == ["exception"], events
    ev = events[0]
    assert ev["attributes"]["exception.type"] == "chaoslib.exceptions.ActivityFailed"
    assert ev["attributes"]["exception.message"] == "ValueError: ctk-boom"
    stack = ev["attributes"]["exception.stacktrace"]
    assert "Traceback" in stack and "fail_with_exception" in stack, stack
    assert failed["start"] <= ev["time"] <= failed["end"]
    for s in spans.all:
        if s is not failed:
            assert s["status_code"] != STATUS_ERROR, s["name"]
            assert s["events"] == [], s["name"]


# --------------------------------------------------------------------------
# Timestamps at the protocol's precision
# --------------------------------------------------------------------------
def test_timestamps_at_the_protocols_precision(traced):
    unit = traced.scenario.wire.time_unit_ns
    run = traced.run
    spans = ours(traced)
    times = [t for s in spans.all for t in (s["start"], s["end"])]
    times += [e["time"] for s in spans.all for e in s["events"]]
    if unit == 1:
        # Nanoseconds survive: not every time is a whole microsecond.
        assert any(t % 1000 for t in times), "OTLP times were truncated to microseconds"
    else:
        assert all(t % unit == 0 for t in times), f"times not in whole {unit} ns"
    for s in spans.all:
        assert run.started_ns // unit * unit <= s["start"] <= s["end"] <= run.ended_ns, s["name"]
    spans.assert_nested_times()
    bg, nxt = spans.one("action-background-sleep"), spans.one("action-http-post")
    assert bg["end"] - bg["start"] >= 290_000_000
    assert bg["start"] < nxt["end"] and nxt["start"] < bg["end"], "background did not overlap"
    seq = [spans.one(n) for n in SEQUENTIAL_METHOD]
    for a, b in zip(seq, seq[1:]):
        assert a["end"] <= b["start"], f"{a['name']} overlaps {b['name']}"
