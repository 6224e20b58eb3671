"""Other extensions' spans around calls to the system under test, through a
real OpenTelemetry Collector (its file exporter's OTLP JSON) and a real
Jaeger v2 (its /api/v3 and /api/traces query APIs).

Each extension scenario (scenarios.py) is one real `chaos run` of two Python
activities, one in the background and one in the foreground, that call
service.py from inside a CLIENT span made through one of chaostracing's APIs
for other extensions (tests/python/experiments/apihelpers.py): the official
requests instrumentation turned on by `trace_requests: true`, the original
chaostoolkit-opentracing README's OpenTracing snippet, the OpenTelemetry API
(propagate.inject) and chaostracing's own (tracer().start_span(kind=
"client") and inject()); the requests instrumentation once more with
`tracing_propagation: b3multi`. The service's SDK reads only the scenario's
format, so its SERVER span has a parent only if the request carried that
format's headers naming the client span. Checked on what each backend
stored: server span → client span → activity span → method → experiment,
in the experiment's one trace.
"""

import pytest

from conftest import KIND_SERVER, TracedRun, ours, propagation_headers, theirs
from e2e_support import v1_spans
from python_tests_conftest import KIND_CLIENT, Spans, chaostracing_records, summary_line
from scenarios import EXTENSION_SCENARIOS
from service import SERVICE_NAME

CASES = [(b, s) for b in ("collector", "jaeger") for s in EXTENSION_SCENARIOS]


@pytest.fixture(params=CASES, ids=[f"{b}-{s.id}" for b, s in CASES])
def traced(request, e2e) -> TracedRun:
    backend, scenario = request.param
    return e2e.run(backend, scenario)


@pytest.fixture(params=EXTENSION_SCENARIOS, ids=[s.id for s in EXTENSION_SCENARIOS])
def jaeger_run(request, e2e) -> TracedRun:
    return e2e.run("jaeger", request.param)


def api_chain(spans: Spans, activity, names):
    """The spans called `names` under `activity`, each the child of the one
    before (the first the activity's), each the only one of its name among
    its parent's children."""
    chain, parent = [], activity
    for name in names:
        found = [c for c in spans.children(parent) if c["name"] == name]
        assert len(found) == 1, (
            f"{activity['name']}: expected one {name!r} under {parent['name']!r}, "
            f"found {[c['name'] for c in spans.children(parent)]}"
        )
        chain.append(found[0])
        parent = found[0]
    return chain


# --------------------------------------------------------------------------
# The run and the trace as a whole
# --------------------------------------------------------------------------
def test_run_completed_and_every_span_exported(traced):
    run = traced.run
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed", run.describe()
    statuses = {r["activity"]["name"]: r["status"] for r in run.journal["run"]}
    assert statuses == {name: "succeeded" for name, _ in traced.scenario.activities}, statuses
    n, _, dropped, failed = summary_line(run.log)
    expected = len(traced.scenario.span_names(traced.title))
    assert (n, dropped, failed) == (expected, 0, 0), run.describe()
    bad = [r.message for r in chaostracing_records(run.log) if r.level not in ("INFO", "DEBUG")]
    assert not bad, bad


def test_one_trace_with_every_span_once(traced):
    assert traced.trace_id, f"no trace rooted at {traced.title!r} arrived\n" + traced.run.describe()
    scenario = traced.scenario
    assert {s["trace_id"] for s in traced.spans} == {traced.trace_id}
    assert sorted(s["name"] for s in ours(traced).all) == scenario.span_names(traced.title)
    assert sorted(s["name"] for s in theirs(traced)) == scenario.server_span_names()
    Spans(traced.spans)  # span ids unique across both services


# --------------------------------------------------------------------------
# Server span -> client span -> activity span
# --------------------------------------------------------------------------
def test_server_span_is_a_child_of_the_client_span_of_the_activity(traced):
    scenario, api = traced.scenario, traced.scenario.api
    spans = ours(traced)
    root = spans.one(traced.title)
    method = spans.one("method")
    assert root["parent"] == "" and method["parent"] == root["span_id"]
    servers = {s["name"]: s for s in theirs(traced)}
    for name, background in scenario.activities:
        activity = spans.one(name)
        assert activity["parent"] == method["span_id"], name
        assert activity["attributes"]["chaostoolkit.activity.background"] is background
        chain = api_chain(spans, activity, api.chain)
        client = chain[-1]
        assert client["kind"] == KIND_CLIENT, f"{name}: {client['name']!r} is not a CLIENT span"
        if api.scope:  # made through the OpenTelemetry API, by that library
            assert client["attributes"]["otel.scope.name"] == api.scope, name
        # Nothing else under the client span; the API's other spans are
        # under its first one.
        assert spans.children(client) == [], name
        first = chain[0]
        assert sorted(c["name"] for c in spans.children(first)) == sorted(
            ([] if first is client else [chain[1]["name"]]) + list(api.other)
        ), name
        server = servers.get(f"GET {scenario.path(name)}")
        assert server, f"{name}: the service's span is not in the run's trace"
        assert server["kind"] == KIND_SERVER
        assert server["scope"] == "opentelemetry.instrumentation.wsgi"
        assert server["trace_id"] == activity["trace_id"] == traced.trace_id
        assert server["parent"] == client["span_id"], (
            f"{server['name']} is not a child of {name}'s {client['name']!r} "
            f"({scenario.propagation} headers)"
        )
        # One clock on one machine: the request reached the service while
        # the client span was open.
        assert activity["start"] <= client["start"] <= server["start"] <= client["end"], name
        assert propagation_headers(server) == scenario.headers, name
    spans.assert_nested_times()


# --------------------------------------------------------------------------
# Jaeger's v1 API (what its UI reads)
# --------------------------------------------------------------------------
def test_jaeger_v1_api_shows_the_same_parents(jaeger_run):
    v1 = jaeger_run.jaeger_v1
    assert v1 is not None, f"/api/traces/{jaeger_run.trace_id} found nothing"
    assert v1["traceID"] == jaeger_run.trace_id
    got = v1_spans(v1)
    assert len(got) == jaeger_run.scenario.trace_span_count
    for s in jaeger_run.spans:
        name, parent, service, _, _ = got[s["span_id"]]
        assert (name, parent, service) == (s["name"], s["parent"], s["resource"]["service.name"])
    servers = [(n, p) for n, p, service, _, _ in got.values() if service == SERVICE_NAME]
    assert len(servers) == len(jaeger_run.scenario.activities)
    for name, parent in servers:
        assert parent in got and got[parent][2] == "chaostoolkit", f"{name}: parent {parent!r}"
