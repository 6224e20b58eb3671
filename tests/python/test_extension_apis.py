"""Other extensions' spans, through each of the three APIs (OpenTracing as the
original README teaches it, the OpenTelemetry API and its instrumentations,
chaostracing's own), in foreground and background activities of a real
`chaos run`; the trace context of process activities; and the optional
packages staying optional. Spans are read back with the official
opentelemetry-proto classes (conftest.file_spans)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import by_name, clean_env, file_config, file_spans, propagation_leaks, with_tracing

EXPERIMENTS = os.path.join(os.path.dirname(__file__), "experiments")


def experiment(method, title="extension apis"):
    return {"version": "1.0.0", "title": title, "description": "x", "method": method}


def py(name, func, background=False, **arguments):
    a = {
        "type": "action",
        "name": name,
        "provider": {"type": "python", "module": "apihelpers", "func": func},
    }
    if arguments:
        a["provider"]["arguments"] = arguments
    if background:
        a["background"] = True
    return a


def outputs(run):
    return {r["activity"]["name"]: r for r in run.journal["run"]}


def traceparent_of(span):
    return f"00-{span['trace_id']}-{span['span_id']}-01"


def children(spans, name, parent):
    """The spans called `name` whose parent is `parent`'s span."""
    return [s for s in spans if s["name"] == name and s["parent"] == parent["span_id"]]


def assert_one_tree(spans):
    """One trace, and every parent is a span of it (no orphans)."""
    ids = {s["span_id"] for s in spans}
    assert len({s["trace_id"] for s in spans}) == 1
    roots = [s for s in spans if not s["parent"]]
    assert len(roots) == 1, roots
    orphans = [s["name"] for s in spans if s["parent"] and s["parent"] not in ids]
    assert not orphans, orphans


pytest.importorskip("opentracing")


def test_opentracing_snippet_in_foreground_and_background(run_chaos, target, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment(
        [
            py("ot-fg", "opentracing_snippet", url=target.url + "/fg"),
            py("ot-bg", "opentracing_snippet", background=True, url=target.url + "/bg"),
            py("ot-bg2", "opentracing_snippet", background=True, url=target.url + "/bg2"),
        ]
    )
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    named = by_name([s for s in spans if s["name"] != "call-service1"])
    got = {r["path"]: r["headers"] for r in target.requests}
    for activity, path in (("ot-fg", "/fg"), ("ot-bg", "/bg"), ("ot-bg2", "/bg2")):
        act = named[activity]
        (call,) = children(spans, "call-service1", act)
        a = call["attributes"]
        assert a["http.method"] == "GET" and a["http.url"] == target.url + path
        assert a["http.status_code"] == 200 and a["span.kind"] == "client"
        assert call["kind"] == 3  # CLIENT, from the span.kind tag
        assert act["start"] <= call["start"] <= call["end"] <= act["end"]
        # The target got headers naming the child span, not the activity.
        assert got[path]["traceparent"] == traceparent_of(call), activity
        assert outputs(run)[activity]["output"]["parent"] == act["span_id"]
    assert named["ot-bg"]["attributes"]["chaostoolkit.activity.background"] is True


def test_opentracing_scopes_baggage_references(run_chaos, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment([py("ot", "opentracing_active", background=True, url="http://x")])
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    s = by_name(spans)
    assert s["ot-outer"]["parent"] == s["ot"]["span_id"]
    assert s["ot-inner"]["parent"] == s["ot-outer"]["span_id"]
    assert s["ot-outer"]["attributes"]["component"] == "ext"
    (ev,) = s["ot-outer"]["events"]
    assert ev["name"] == "started" and ev["attributes"]["step"] == 1
    # follows_from: the active span is not taken when a reference is given.
    assert s["ot-follows"]["parent"] == s["ot-inner"]["span_id"]
    out = outputs(run)["ot"]["output"]
    assert out["carrier"]["traceparent"] == traceparent_of(s["ot-inner"])
    # Baggage set on the outer span travels with the inner one's context.
    assert out["carrier"]["baggage"] == "user=alice%20smith"
    assert out["extracted"] == [
        s["ot-inner"]["trace_id"],
        s["ot-inner"]["span_id"],
        {"user": "alice smith"},
    ]
    assert out["binary_refused"] is True


def test_opentracing_global_tracer_is_restored_and_noop_when_off(run_chaos, tmp_path):
    exp = experiment([py("ot", "opentracing_snippet", url="http://127.0.0.1:9/none")])
    exp["method"][0]["provider"]["func"] = "opentracing_snippet"
    # Tracing off: the snippet still runs (opentracing's no-op tracer).
    off = run_chaos(with_tracing(experiment([py("env", "environment")]), {"tracing_provider": "noop"}))
    assert off.returncode == 0, off.describe()
    code = textwrap.dedent(
        """
        import opentracing, chaostracing.control as c
        before = opentracing.global_tracer()
        c.configure_control(configuration={"tracing_provider": "opentelemetry",
                                           "tracing_opentelemetry_exporter": "none"})
        during = opentracing.global_tracer()
        c.cleanup_control()
        after = opentracing.global_tracer()
        print(type(during).__name__, after is before, opentracing.is_global_tracer_registered())
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["OpenTracingTracer", "True", "False"]


def test_opentelemetry_api_in_a_background_activity(run_chaos, target, tmp_path):
    pytest.importorskip("opentelemetry.trace")
    trace = tmp_path / "t.jsonl"
    exp = experiment(
        [
            py("otel-bg", "otel_api", background=True, url=target.url + "/otel"),
            py("inject-only", "otel_inject_only", background=True),
        ]
    )
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    s = by_name(spans)
    assert s["otel-step"]["parent"] == s["otel-bg"]["span_id"]
    assert s["otel-inner"]["parent"] == s["otel-step"]["span_id"]
    assert s["otel-inner"]["kind"] == 3
    assert s["otel-thread"]["parent"] == s["otel-step"]["span_id"]
    assert s["otel-step"]["attributes"]["k"] == "v"
    assert s["otel-step"]["attributes"]["otel.scope.name"] == "my.extension"
    assert s["otel-step"]["status_code"] == 1  # OK
    err = s["otel-error"]
    assert err["status_code"] == 2 and err["status_message"] == "KeyError: 'missing'"
    assert [e["name"] for e in err["events"]] == ["exception"]
    (req,) = [r for r in target.requests if r["path"] == "/otel"]
    assert req["headers"]["traceparent"] == traceparent_of(s["otel-inner"])
    out = outputs(run)
    assert out["otel-bg"]["output"]["valid"] is True
    # opentelemetry.propagate.inject with no span of its own: the activity's.
    inj = out["inject-only"]["output"]
    assert inj["span_id"] == s["inject-only"]["span_id"]
    assert inj["headers"]["traceparent"] == traceparent_of(s["inject-only"])
    assert inj["context_type"] == "opentelemetry.context.context.Context"
    assert inj["immutable"] is True and inj["value_kept"] == 7
    assert not propagation_leaks(run.journal["experiment"])


def test_a_decorated_activity_keeps_its_signature(run_chaos, tmp_path):
    pytest.importorskip("opentelemetry.trace")
    trace = tmp_path / "t.jsonl"
    act = py("deco", "decorated", count=3)
    act["provider"]["module"] = "otelhelpers"
    run = run_chaos(with_tracing(experiment([act]), file_config(trace)))
    assert run.returncode == 0, run.describe()
    s = by_name(file_spans(trace))
    work = s["decorated-work"]
    assert work["parent"] == s["deco"]["span_id"]
    assert work["attributes"]["count"] == 3 and work["attributes"]["step"] == "one"
    assert outputs(run)["deco"]["output"] == {"label": "x", "span_id": work["span_id"]}
    # chaoslib validates arguments against the function's own signature.
    code = (
        "import inspect, sys; sys.path.insert(0, %r); import otelhelpers; "
        "print(inspect.signature(otelhelpers.decorated), otelhelpers.decorated.__name__)"
    ) % EXPERIMENTS
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "(count: int, label: str = 'x') -> dict decorated", p.stderr


@pytest.mark.parametrize("tracer_from", ["run", "import"])
def test_decorated_coroutine_functions_run_in_their_spans(run_chaos, tmp_path, tracer_from):
    """start_as_current_span over an `async def`, as OpenTelemetry's decorator:
    each call's span lasts from its first step to its end, is current only in
    its own task, records an exception, ends on cancellation and when the
    coroutine is collected half-way."""
    pytest.importorskip("opentelemetry.trace")
    trace = tmp_path / "t.jsonl"
    delay = 0.05
    act = py("deco-async", "decorated_async", delay=delay, tracer_from=tracer_from)
    act["provider"]["module"] = "otelhelpers"
    run = run_chaos(with_tracing(experiment([act]), file_config(trace)))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    fetches = {s["attributes"]["i"]: s for s in spans if s["name"] == "async-fetch"}
    assert sorted(fetches) == [1, 2, 3]
    for s in fetches.values():
        s["name"] = f"async-fetch-{s['attributes']['i']}"  # names unique for by_name()
    assert_one_tree(spans)
    out = outputs(run)["deco-async"]["output"]
    assert out["tracer"] == {"run": "OpenTelemetryTracer", "import": "ProxyTracer"}[tracer_from]
    act_id = by_name(spans)["deco-async"]["span_id"]
    outer = by_name(spans)["async-outer"]
    assert fetches[1]["parent"] == fetches[2]["parent"] == outer["parent"] == act_id
    assert fetches[3]["parent"] == outer["span_id"]
    # Each span covers its coroutine's await, not just the call making it.
    for s in [*fetches.values(), outer]:
        assert s["end"] - s["start"] >= 0.9 * delay * 1e9, (s["name"], s["end"] - s["start"])
    # The two gathered calls ran at once, each in its own task's context.
    assert fetches[2]["start"] < fetches[1]["end"] and fetches[1]["start"] < fetches[2]["end"]
    assert [f["span_id"] for f in out["fetched"]] == [fetches[i]["span_id"] for i in (1, 2, 3)]
    assert all(f["still_current"] for f in out["fetched"]) and out["current_kept"]
    fail = by_name(spans)["async-fail"]
    assert out["failed"] == "async failure"
    assert fail["status_code"] == 2 and fail["status_message"] == "ValueError: async failure"
    assert [e["name"] for e in fail["events"]] == ["exception"]
    # Cancelled (a BaseException) or collected half-way: ended, not an error.
    cancelled, abandoned = by_name(spans)["async-cancelled"], by_name(spans)["async-abandoned"]
    assert out["cancelled"] is True and out["first_step"] == "paused"
    for s in (cancelled, abandoned):
        assert s["parent"] == act_id and s["status_code"] == 0 and not s["events"], s
        assert s["end"] - s["start"] < 10e9
    # Callers that ask whether it is a coroutine function are told so (the
    # `run` tracer's decorator: by inspect from 3.10, which takes a callable
    # with a function's attributes for one; by asyncio on every version).
    inspect_sees = tracer_from == "import" or sys.version_info >= (3, 10)
    assert out["iscoroutinefunction"] == [inspect_sees, True, False]


@pytest.mark.parametrize("argument", ["trace_requests", "trace_request"])
def test_requests_instrumentation(run_chaos, target, tmp_path, argument):
    pytest.importorskip("opentelemetry.instrumentation.requests")
    trace = tmp_path / "t.jsonl"
    exp = experiment(
        [
            py("fg-get", "requests_get", url=target.url + "/fg"),
            py("bg-get", "requests_get", background=True, url=target.url + "/bg"),
        ]
    )
    run = run_chaos(with_tracing(exp, file_config(trace), arguments={argument: True}))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    named = by_name([s for s in spans if s["name"] != "GET"])
    got = {r["path"]: r["headers"] for r in target.requests}
    for activity, path in (("fg-get", "/fg"), ("bg-get", "/bg")):
        (client,) = children(spans, "GET", named[activity])
        assert client["kind"] == 3
        assert client["attributes"]["otel.scope.name"] == "opentelemetry.instrumentation.requests"
        assert client["attributes"]["http.status_code"] == 200  # the instrumentation's semconv
        assert got[path]["traceparent"] == traceparent_of(client)


@pytest.mark.parametrize(
    "argument,func,package,span_name",
    [
        ("trace_httpx", "httpx_get", "httpx", "GET"),
        ("trace_urllib3", "urllib3_get", "urllib3", "GET"),
        ("trace_botocore", "botocore_call", "botocore", "DynamoDB.ListTables"),
    ],
)
def test_other_instrumentations(run_chaos, target, tmp_path, argument, func, package, span_name):
    pytest.importorskip(f"opentelemetry.instrumentation.{package}")
    trace = tmp_path / "t.jsonl"
    exp = experiment([py("call", func, background=True, url=target.url + "/x")])
    run = run_chaos(with_tracing(exp, file_config(trace), arguments={argument: True}))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    act = by_name(spans)["call"]
    (client,) = children(spans, span_name, act)
    assert client["kind"] == 3
    scope = client["attributes"]["otel.scope.name"]
    assert scope.startswith(f"opentelemetry.instrumentation.{package}"), scope
    (req,) = target.requests
    if package == "botocore":  # AWS calls carry X-Ray's header, as the instrumentation does
        t = client["trace_id"]
        want = f"Root=1-{t[:8]}-{t[8:]};Parent={client['span_id']};Sampled=1"
        assert req["headers"]["x-amzn-trace-id"] == want
    else:
        assert req["headers"]["traceparent"] == traceparent_of(client)
    assert "not-a-real-secret" not in trace.read_text()


def test_opentelemetry_propagation_uses_the_configured_formats(run_chaos, target, tmp_path):
    """With b3 configured, instrumented calls and opentelemetry.propagate send
    what the control's own HTTP activities send."""
    pytest.importorskip("opentelemetry.instrumentation.requests")
    trace = tmp_path / "t.jsonl"
    exp = experiment(
        [
            py("get", "requests_get", url=target.url + "/b3"),
            py("rt", "otel_extract_round_trip"),
        ]
    )
    conf = {**file_config(trace), "tracing_propagation": "b3multi"}
    run = run_chaos(with_tracing(exp, conf, arguments={"trace_requests": True}))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    s = by_name(spans)
    (req,) = target.requests
    assert req["headers"]["x-b3-spanid"] == s["GET"]["span_id"]
    assert req["headers"]["x-b3-traceid"] == s["GET"]["trace_id"]
    assert "traceparent" not in req["headers"]
    out = outputs(run)["rt"]["output"]
    assert {k.lower(): v for k, v in out["headers"].items()}["x-b3-spanid"] == s["rt"]["span_id"]
    assert s["from-extracted"]["parent"] == s["rt"]["span_id"]
    fields = {f.lower() for f in out["fields"]}
    assert "x-b3-traceid" in fields and "traceparent" not in fields


def test_opentelemetry_globals_come_back_after_cleanup():
    pytest.importorskip("opentelemetry.propagate")
    code = textwrap.dedent(
        """
        from opentelemetry import propagate
        before = propagate.get_global_textmap()
        import chaostracing.control as c
        c.configure_control(configuration={"tracing_provider": "opentelemetry",
                                           "tracing_opentelemetry_exporter": "none"})
        during = type(propagate.get_global_textmap()).__name__
        c.cleanup_control()
        print(during, propagate.get_global_textmap() is before)
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["Propagator", "True"]


BAGGAGE_ORACLE = """
import json
from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
import chaostracing.control as c

official = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
c.configure_control(configuration={"tracing_provider": "opentelemetry",
                                   "tracing_opentelemetry_exporter": "none"})
ours = propagate.get_global_textmap()
assert type(ours).__name__ == "Propagator", type(ours)
span = trace.NonRecordingSpan(trace.SpanContext(
    0x0af7651916cd43dd8448eb211c80319c, 0xb7ad6b7169203331, False,
    trace.TraceFlags(1)))
bag_only = baggage.set_baggage("tenant", "a b,c", context=Context())
bag_only = baggage.set_baggage("k", "v", context=bag_only)
cases = {
    "baggage, no span": bag_only,
    "span and baggage": trace.set_span_in_context(span, bag_only),
    "nothing": Context(),
}
out = {"inject": {}, "extract": {}}
for name, ctx in cases.items():
    mine, theirs = {}, {}
    ours.inject(mine, context=ctx)
    official.inject(theirs, context=ctx)
    # OpenTelemetry Python writes a space as '+' (W3C baggage says %20):
    # the values are compared as the official propagator reads them back.
    read = [dict(baggage.get_all(official.extract(h))) for h in (mine, theirs)]
    out["inject"][name] = [mine, theirs, read]
carriers = {
    "baggage, no span": {"baggage": "a=1, b=x%20y, bad key=3"},
    # OpenTelemetry Python leaves a property in the value; W3C makes it
    # metadata (compared below with our reading only).
    "property": {"baggage": "b=x%20y;prop=1"},
    "bad traceparent": {"traceparent": "00-zz-11-01", "baggage": "a=1"},
    "span and baggage": {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "baggage": "a=1"},
}
start = baggage.set_baggage("kept", "yes", context=Context())
for name, carrier in carriers.items():
    got = []
    for p in (ours, official):
        ctx = p.extract(carrier, context=start)
        sc = trace.get_current_span(ctx).get_span_context()
        got.append([dict(baggage.get_all(ctx)), sc.is_valid and format(sc.span_id, "016x")])
    out["extract"][name] = got
c.cleanup_control()
print(json.dumps(out))
"""


def test_opentelemetry_propagator_carries_baggage_without_a_span():
    """Our global propagator writes and reads what OpenTelemetry's default one
    (tracecontext + baggage) does, also for a context with baggage and no span."""
    pytest.importorskip("opentelemetry.propagate")
    p = subprocess.run(
        [sys.executable, "-c", BAGGAGE_ORACLE],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    for name, (mine, theirs, (read_mine, read_theirs)) in out["inject"].items():
        assert sorted(mine) == sorted(theirs), (name, mine, theirs)
        assert mine.get("traceparent") == theirs.get("traceparent"), name
        assert read_mine == read_theirs, (name, mine, theirs)
    assert out["inject"]["baggage, no span"][0] == {"baggage": "tenant=a%20b%2Cc,k=v"}
    assert out["inject"]["nothing"][0] == {}
    prop = out["extract"].pop("property")
    assert prop[0] == [{"kept": "yes", "b": "x y"}, False], prop
    for name, (mine, theirs) in out["extract"].items():
        assert mine == theirs, (name, mine, theirs)
    assert out["extract"]["baggage, no span"][0] == [
        {"kept": "yes", "a": "1", "b": "x y"},
        False,
    ]
    assert out["extract"]["span and baggage"][0][1] == "b7ad6b7169203331"


def test_requests_not_instrumented_without_the_argument(run_chaos, target, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment([py("fg-get", "requests_get", url=target.url + "/fg")])
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    assert "GET" not in {s["name"] for s in file_spans(trace)}
    assert "traceparent" not in target.requests[0]["headers"]


def test_own_api_current_span_and_threads(run_chaos, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment([py("own", "own_api", background=True)])
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace)
    assert_one_tree(spans)
    s = by_name(spans)
    out = outputs(run)["own"]["output"]
    assert out["activity"] == s["own"]["span_id"]
    assert s["own"]["attributes"]["ext.marker"] == "set-by-extension"
    assert s["own-thread"]["parent"] == s["own"]["span_id"]
    assert out["thread"] == s["own-thread"]["span_id"] == out["current_in_block"]
    assert out["headers"]["traceparent"] == traceparent_of(s["own"])


def process_activity(name, code):
    return {
        "type": "action",
        "name": name,
        "provider": {"type": "process", "path": sys.executable, "arguments": ["-c", code]},
    }


PRINT_ENV = "import os, json; print(json.dumps({k: os.environ.get(k) for k in ('TRACEPARENT', 'BAGGAGE')}))"


def test_process_activities_get_their_context(run_chaos, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment(
        [
            process_activity("proc-fg", PRINT_ENV),
            process_activity("proc-bg", PRINT_ENV),
        ]
    )
    exp["method"][1]["background"] = True
    # A rollback runs once the method (and its background activity) is over.
    exp["rollbacks"] = [py("after", "environment")]
    run = run_chaos(
        with_tracing(exp, file_config(trace)), env={"BAGGAGE": "team=chaos", "TRACEPARENT": None}
    )
    assert run.returncode == 0, run.describe()
    s = by_name(file_spans(trace))
    out = outputs(run)
    for name in ("proc-fg", "proc-bg"):
        seen = json.loads(out[name]["output"]["stdout"])
        assert seen["TRACEPARENT"] == traceparent_of(s[name]), name
        assert seen["BAGGAGE"] == "team=chaos"
    # Put back after the activities: later ones, and the journal, never see them.
    (after,) = run.journal["rollbacks"]
    assert after["output"] == {"TRACEPARENT": None, "TRACESTATE": None, "BAGGAGE": "team=chaos"}
    # The journal's activities carry no context (the outputs above echo it).
    assert not propagation_leaks(run.journal["experiment"])


def test_process_child_continues_the_trace_from_an_outer_traceparent(run_chaos, tmp_path):
    """A TRACEPARENT the run itself was given comes back afterwards."""
    outer = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    trace = tmp_path / "t.jsonl"
    exp = experiment([process_activity("proc", PRINT_ENV), py("after", "environment")])
    run = run_chaos(with_tracing(exp, file_config(trace)), env={"TRACEPARENT": outer})
    assert run.returncode == 0, run.describe()
    s = by_name(file_spans(trace))
    seen = json.loads(outputs(run)["proc"]["output"]["stdout"])
    assert seen["TRACEPARENT"] == traceparent_of(s["proc"])
    assert s["proc"]["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert outputs(run)["after"]["output"]["TRACEPARENT"] == outer


def test_process_context_stays_out_of_the_c_environment(run_chaos, tmp_path):
    """The values go where chaoslib reads them (os.environ) and not into the
    interpreter's C environment, where glibc's setenv would keep each one for
    the life of the process and in-process C code would see them."""
    trace = tmp_path / "t.jsonl"
    slow = process_activity("proc-slow", "import time; time.sleep(1.5)")
    slow["background"] = True
    exp = experiment([slow, py("probe-env", "environment_while_running", seconds=0.5)])
    run = run_chaos(with_tracing(exp, file_config(trace)), env={"TRACEPARENT": None})
    assert run.returncode == 0, run.describe()
    s = by_name(file_spans(trace))
    seen = outputs(run)["probe-env"]["output"]
    assert seen["os_environ"] == traceparent_of(s["proc-slow"]), seen
    assert seen["getenv"] is None, seen


BLOCKER = """
import sys

class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("opentelemetry", "opentracing"):
            raise ImportError("blocked by the test: " + name)
        return None

sys.meta_path.insert(0, _Block())
"""


def test_optional_packages_stay_optional(run_chaos, tmp_path):
    # Importing the control (and the package) loads none of them.
    code = (
        "import sys, chaostracing, chaostracing.control; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('opentelemetry', 'opentracing', 'requests', 'httpx', 'botocore', 'urllib3')))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stdout + p.stderr
    # Without them a run is traced, the API works, processes get their context,
    # and a trace_* argument says what is missing.
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(BLOCKER)
    trace = tmp_path / "t.jsonl"
    exp = experiment([py("own", "own_api"), process_activity("proc", PRINT_ENV)])
    run = run_chaos(
        with_tracing(exp, file_config(trace), arguments={"trace_requests": True}),
        env={"PYTHONPATH": f"{block}{os.pathsep}{EXPERIMENTS}"},
    )
    assert run.returncode == 0, run.describe()
    s = by_name(file_spans(trace))
    assert s["own-thread"]["parent"] == s["own"]["span_id"]
    seen = json.loads(outputs(run)["proc"]["output"]["stdout"])
    assert seen["TRACEPARENT"] == traceparent_of(s["proc"])
    assert "the trace_* arguments need the OpenTelemetry API" in run.log
    assert "blocked by the test" not in run.log


def test_a_provider_set_by_the_process_is_kept(tmp_path):
    # The test packages include the SDK (Makefile TEST_PKGS): never skipped.
    code = textwrap.dedent(
        """
        import logging, sys
        logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(message)s")
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        mine = TracerProvider()
        trace.set_tracer_provider(mine)
        import chaostracing.control as c
        c.configure_control(configuration={"tracing_provider": "opentelemetry",
                                           "tracing_opentelemetry_exporter": "none"})
        print("kept", trace.get_tracer_provider() is mine)
        c.cleanup_control()
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "kept True" in p.stdout
    assert p.stdout.count("already has an OpenTelemetry tracer provider (TracerProvider)") == 1


def run_snippet(code, trace_file=None):
    """Run `code` in a fresh interpreter (the control configured first, with
    no exporter, or the file exporter writing `trace_file`); its stdout's
    last line, or the failure."""
    exporter = (
        f'"tracing_opentelemetry_exporter": "file", '
        f'"tracing_opentelemetry_file_path": {str(trace_file)!r}'
        if trace_file
        else '"tracing_opentelemetry_exporter": "none"'
    )
    prelude = textwrap.dedent(
        f"""
        import chaostracing, chaostracing.control as c
        c.configure_control(configuration={{"tracing_provider": "opentelemetry", {exporter}}})
        """
    )
    p = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.strip().splitlines()[-1]


def test_bad_arguments_raise_what_they_should():
    out = run_snippet(
        """
        import opentracing
        t = opentracing.global_tracer()
        errors = []
        for call in (lambda: t.start_span("s").set_tag(1, "v"),
                     lambda: t.start_span("s", tags={1: "a"}),
                     lambda: chaostracing.start_span("s", attributes=[("a", 1)]),
                     lambda: chaostracing.start_span("s", parent=object())):
            try:
                call()
                errors.append("none")
            except Exception as e:
                errors.append(type(e).__name__)
        print(",".join(errors))
        """
    )
    assert out == "TypeError,TypeError,TypeError,TypeError"


def test_attribute_values_and_mappings_as_opentelemetry_has_them(tmp_path):
    trace = tmp_path / "t.jsonl"
    code = f"""
        import types
        c.cleanup_control()
        c.configure_control(configuration={{"tracing_provider": "opentelemetry",
            "tracing_opentelemetry_exporter": "file",
            "tracing_opentelemetry_file_path": {str(trace)!r}}})
        with chaostracing.start_span("m", attributes=types.MappingProxyType({{"a": 1}})) as s:
            s.set_attribute("gone", None)
            s.set_attributes(types.MappingProxyType({{"b": "x", "none": None}}))
            s.add_event("e", types.MappingProxyType({{"k": True}}))
        c.cleanup_control()
        print("done")
        """
    assert run_snippet(code) == "done"
    (span,) = file_spans(trace)
    assert dict(span["attributes"]) == {"a": 1, "b": "x"}
    assert span["events"][0]["attributes"] == {"k": True}


def test_tracestate_travels_through_every_api():
    pytest.importorskip("opentelemetry.propagate")
    out = run_snippet(
        """
        from opentelemetry import propagate, trace
        incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "tracestate": "vendor=abc,other=1"}
        ours = chaostracing.start_span("ours", parent=chaostracing.extract(incoming)).inject({})
        ctx = propagate.extract(incoming)
        with trace.get_tracer("t").start_as_current_span("otel", context=ctx):
            h = {}
            propagate.inject(h)
        print(ours.get("tracestate"), "|", h.get("tracestate"))
        """
    )
    assert out == "vendor=abc,other=1 | vendor=abc,other=1"


def test_decorated_methods_bind_and_exceptions_follow_opentelemetry(tmp_path):
    pytest.importorskip("opentelemetry.trace")
    trace_file = tmp_path / "t.jsonl"
    out = run_snippet(
        """
        from opentelemetry import trace
        tr = trace.get_tracer("t")

        class Probe:
            @tr.start_as_current_span("method-span")
            def check(self, x):
                return (x, trace.get_current_span().is_recording())

        s = tr.start_span("no-record", record_exception=False, set_status_on_exception=False)
        try:
            with s:
                raise ValueError("x")
        except ValueError:
            pass
        try:
            with tr.start_as_current_span("recorded"):
                raise ValueError("y")
        except ValueError:
            pass
        def gen():
            with tr.start_as_current_span("gen"):
                yield 1
        it = gen(); next(it); it.close()   # GeneratorExit: no error
        r = Probe().check(3)
        c.cleanup_control()
        print(r)
        """,
        trace_file,
    )
    assert out == "(3, True)"
    s = by_name(file_spans(trace_file))
    assert "method-span" in s
    assert s["no-record"]["status_code"] == 0 and not s["no-record"]["events"]
    assert s["recorded"]["status_code"] == 2 and s["recorded"]["status_message"] == "ValueError: y"
    assert [e["name"] for e in s["recorded"]["events"]] == ["exception"]
    assert s["gen"]["status_code"] == 0 and not s["gen"]["events"]


def test_a_decorated_coroutine_driven_by_hand_behaves_as_a_coroutine(tmp_path):
    """The protocol corners asyncio does not reach: values sent in and
    returned, throw() and close() before the first step (no span), a step
    that re-enters its own coroutine, reuse after the end."""
    pytest.importorskip("opentelemetry.trace")
    trace_file = tmp_path / "t.jsonl"
    out = run_snippet(
        """
        import types
        from opentelemetry import trace
        tr = trace.get_tracer("t")

        @types.coroutine
        def receive():
            return (yield "ready")

        @tr.start_as_current_span("echo")
        async def echo():
            got = await receive()
            return ("returned", got)

        res = []
        co = echo()
        res.append(co.send(None))
        try:
            co.send((1, 2))          # a tuple is one value, not arguments
        except StopIteration as e:
            res.append(e.value)
        try:
            co.send(None)
        except RuntimeError as e:
            res.append("reuse: " + str(e))

        never = echo()
        try:
            never.throw(KeyError("k"))
        except KeyError:
            res.append("thrown before start")
        echo().close()

        me = []
        @tr.start_as_current_span("reenter")
        async def reenter():
            await receive()
            try:
                me[0].send(None)
            except ValueError as e:
                res.append(str(e))
            return "done"
        co = reenter(); me.append(co)
        co.send(None)
        try:
            co.send(None)
        except StopIteration as e:
            res.append(e.value)
        try:
            echo().send(1)
        except TypeError as e:
            res.append("non-None first")
        import gc, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            forgotten = echo()
            del forgotten
            gc.collect()
        res.append([str(w.message) for w in caught if w.category is RuntimeWarning])
        c.cleanup_control()
        print(res)
        """,
        trace_file,
    )
    assert out == str(
        [
            "ready",
            ("returned", (1, 2)),
            "reuse: cannot reuse already awaited coroutine",
            "thrown before start",
            "coroutine already executing",
            "done",
            "non-None first",
            ["coroutine 'echo' was never awaited"],
        ]
    )
    names = sorted(s["name"] for s in file_spans(trace_file))
    assert names == ["echo", "reenter"], names  # nothing for the ones never started
    s = by_name(file_spans(trace_file))
    assert s["reenter"]["status_code"] == 0 and s["echo"]["status_code"] == 0


def test_force_flush_while_the_run_ends_is_safe():
    pytest.importorskip("opentelemetry.trace")
    out = run_snippet(
        """
        import threading
        from opentelemetry import trace
        provider = trace.get_tracer_provider()
        stop = threading.Event()
        def flush():
            for _ in range(300):
                provider.force_flush(timeout_millis=20)
                if stop.is_set():
                    break
        t = threading.Thread(target=flush)
        t.start()
        for _ in range(50):
            with chaostracing.start_span("s"):
                pass
        c.cleanup_control()
        stop.set()
        t.join(30)
        print("alive", t.is_alive())
        """
    )
    assert out == "alive False"
