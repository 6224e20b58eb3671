"""chaostracing.oltp: the stand-in for chaostoolkit-opentracing 0.18.1's
OpenTelemetry control of that name, driven through the real `chaos run`.

It is configured by the OTEL_* variables alone, names spans as upstream did
("experiment", "hypothesis", "method", "rollbacks", "activity: {name}") with
upstream's attributes, and shares chaostracing.control's state: declaring
both gives one trace. Where upstream is broken (continuous hypothesis with
timezone-aware timestamps, outputs json.dumps cannot encode, configuration
None) these tests show the run traced.
"""

import copy
import errno
import json
import platform
import re
import socket
import time

import pytest

from conftest import (
    CONTROL_MODULE,
    MAIN_SPAN_COUNT,
    MAIN_TITLE,
    METHOD_ACTIVITIES,
    PROBES,
    ROLLBACKS,
    STATUS_ERROR,
    STATUS_UNSET,
    OtlpReceiver,
    Spans,
    _HTTPServer,
    _OtlpHandler,
    chaostracing_records,
    load_experiment,
    main_experiment,
    summary,
    tracing_control,
)

OLTP_MODULE = "chaostracing.oltp"
SIGNALS = ["SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2"]


def oltp_control(arguments=None):
    provider = {"type": "python", "module": OLTP_MODULE}
    if arguments is not None:
        provider["arguments"] = arguments
    return {"name": "oltp", "provider": provider}


def with_oltp(experiment, configuration=None, arguments=None):
    exp = copy.deepcopy(experiment)
    exp.setdefault("configuration", {}).update(configuration or {})
    exp["controls"] = [oltp_control(arguments)]
    return exp


def otel_env(receiver, **more):
    """OTEL_* pointing the control at a loopback receiver (base endpoint:
    the control appends /v1/traces)."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
    env.update(more)
    return env


def activity(name):
    return f"activity: {name}"


def assert_no_orphans(spans):
    """One trace, and every parent a span of it (the root's parent may be
    remote when given)."""
    assert len(spans.trace_ids()) == 1, spans.trace_ids()
    roots = [s for s in spans.all if s["parent"] not in spans.by_id]
    assert len(roots) == 1, [(s["name"], s["parent"]) for s in roots]
    return roots[0]


def records(log, level, text):
    return [r for r in chaostracing_records(log, level) if text in r.message]


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------
def test_module_loads_with_upstream_signatures():
    """The module chaoslib imports by name, with upstream's configure_control
    parameters, sharing the control module's hooks."""
    import importlib
    import inspect

    oltp = importlib.import_module(OLTP_MODULE)
    control = importlib.import_module(CONTROL_MODULE)
    sig = inspect.signature(oltp.configure_control)
    names = list(sig.parameters)
    for name in ("experiment", "event_registry", "trace_request", "trace_httpx",
                 "trace_botocore", "trace_urllib3", "configuration", "secrets"):
        assert name in names, sig
        assert sig.parameters[name].kind in (
            inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
        ), sig
    assert sig.parameters["trace_request"].default is False
    assert list(sig.parameters.values())[-1].kind == inspect.Parameter.VAR_KEYWORD
    assert list(inspect.signature(oltp.cleanup_control).parameters) == []
    for level in ("experiment", "hypothesis", "method", "rollback", "activity"):
        before = inspect.signature(getattr(oltp, f"before_{level}_control"))
        after = inspect.signature(getattr(oltp, f"after_{level}_control"))
        assert "context" in before.parameters and "state" in after.parameters
        # The hooks made by the control module, bound to its state.
        assert getattr(oltp, f"before_{level}_control") is control._oltp[f"before_{level}_control"]
    assert oltp.__version__ == control.__version__
    with pytest.raises(TypeError):
        oltp.configure_control({}, None)  # keywords only


# --------------------------------------------------------------------------
# The trace of the main experiment
# --------------------------------------------------------------------------
def test_main_experiment_names_parents_and_attributes(run_chaos, target, otlp_receiver):
    exp = with_oltp(main_experiment(target.url))
    run = run_chaos(exp, env=otel_env(otlp_receiver, OTEL_SERVICE_NAME="oltp-svc"))
    assert run.returncode == 0, run.describe()
    assert "Could not find Python module" not in run.log + run.proc.stderr
    spans = Spans(otlp_receiver.spans())
    assert len(spans) == MAIN_SPAN_COUNT, sorted(s["name"] for s in spans.all)
    root = assert_no_orphans(spans)
    spans.assert_nested_times()
    assert root["name"] == "experiment" and root["parent"] == ""
    a = root["attributes"]
    assert a["chaostoolkit.experiment.title"] == MAIN_TITLE
    assert a["chaostoolkit.experiment.status"] == "completed"
    assert a["chaostoolkit.experiment.deviated"] is False
    assert a["chaostoolkit.experiment.interrupted"] is False
    assert "chaostoolkit.experiment.exit_signal" not in a
    assert a["chaostoolkit.platform.full"] == platform.platform()
    assert root["resource"]["service.name"] == "oltp-svc"

    hyps = spans.named("hypothesis")
    assert sorted(h["attributes"]["chaostoolkit.hypothesis.phase"] for h in hyps) == [
        "after", "before"
    ]
    for h in hyps:
        assert h["parent"] == root["span_id"]
        assert h["attributes"]["chaostoolkit.hypothesis.met"] is True
        assert "chaostoolkit.hypothesis.iteration" not in h["attributes"]
        assert sorted(c["name"] for c in spans.children(h)) == sorted(activity(p) for p in PROBES)
    method, rollbacks = spans.one("method"), spans.one("rollbacks")
    assert method["parent"] == rollbacks["parent"] == root["span_id"]
    assert sorted(c["name"] for c in spans.children(method)) == sorted(
        activity(n) for n in METHOD_ACTIVITIES
    )
    assert [c["name"] for c in spans.children(rollbacks)] == [activity(n) for n in ROLLBACKS]

    answer = spans.one(activity("action-python-answer"))["attributes"]
    assert answer["chaostoolkit.activity.name"] == "action-python-answer"
    assert answer["chaostoolkit.activity.background"] is False
    assert json.loads(answer["chaostoolkit.activity.output"]) == {"answer": 42}
    assert answer["chaostoolkit.activity.status"] == "succeeded"
    assert "chaostoolkit.activity.error" not in answer
    sleep = spans.one(activity("action-background-sleep"))["attributes"]
    assert sleep["chaostoolkit.activity.background"] is True

    # A failed activity: ERROR, upstream's error attribute, our exception event.
    failed = spans.one(activity("action-python-fails"))
    assert failed["status_code"] == STATUS_ERROR
    assert failed["attributes"]["chaostoolkit.activity.status"] == "failed"
    assert "ValueError: ctk-boom" in failed["attributes"]["chaostoolkit.activity.error"]
    assert [e["name"] for e in failed["events"]] == ["exception"]
    assert spans.one(activity("action-python-answer"))["status_code"] == STATUS_UNSET

    # The http activities carried this trace to the target.
    (tid,) = spans.trace_ids()
    http_ids = {spans.one(activity("action-http-post"))["span_id"]} | {
        s["span_id"] for s in spans.named(activity("probe-http-health"))
    }
    assert len(target.requests) == 3
    for req in target.requests:
        _, t, s, _ = req["headers"]["traceparent"].split("-")
        assert t == tid and s in http_ids
    assert summary(run.log)["exported"] == MAIN_SPAN_COUNT
    assert not chaostracing_records(run.log, "WARNING")


def test_experiment_configuration_is_not_read(run_chaos, otlp_receiver, tmp_path):
    """tracing_* keys are chaostracing.control's: the oltp front says it does
    not read them and traces by OTEL_* (here: in spite of a noop provider)."""
    trace_file = tmp_path / "never.jsonl"
    exp = with_oltp(
        load_experiment("minimal"),
        {
            "tracing_provider": "noop",
            "tracing_opentelemetry_exporter": "file",
            "tracing_opentelemetry_file_path": str(trace_file),
        },
    )
    run = run_chaos(exp, env=otel_env(otlp_receiver))
    assert run.returncode == 0, run.describe()
    assert sorted(s["name"] for s in otlp_receiver.spans()) == [
        "activity: minimal-action", "experiment", "method", "rollbacks"
    ]
    assert not trace_file.exists()
    said = records(run.log, "INFO", "configured by OTEL_* variables only")
    assert len(said) == 1 and "tracing_provider" in said[0].message, said


def test_sdk_disabled_records_nothing(run_chaos, otlp_receiver):
    run = run_chaos(with_oltp(load_experiment("minimal")),
                    env=otel_env(otlp_receiver, OTEL_SDK_DISABLED="true"))
    assert run.returncode == 0, run.describe()
    time.sleep(0.2)
    assert otlp_receiver.posts == []
    assert records(run.log, "INFO", "OTEL_SDK_DISABLED is true")


def test_output_json_cannot_encode_still_ends_the_span(run_chaos, otlp_receiver):
    """upstream calls json.dumps(output) and never ends the span of an
    output holding a Decimal; ours is ended, with the output as text."""
    exp = load_experiment("minimal")
    exp["method"][0] = {
        "type": "action",
        "name": "action-rich",
        "provider": {"type": "python", "module": "ctkhelpers", "func": "rich_output"},
    }
    run = run_chaos(with_oltp(exp), env=otel_env(otlp_receiver))
    assert run.returncode == 0, run.describe()
    assert run.journal["run"][0]["status"] == "succeeded"
    spans = Spans(otlp_receiver.spans())
    assert_no_orphans(spans)
    rich = spans.one(activity("action-rich"))
    out = json.loads(rich["attributes"]["chaostoolkit.activity.output"])
    assert out["amount"] == "1.50" and out["answer"] == 42
    assert rich["end"] >= rich["start"] > 0


def test_deviated_hypothesis_is_an_error(run_chaos, otlp_receiver, tmp_path):
    exp = with_oltp(load_experiment("deviated"), {"marker_path": str(tmp_path / "marker")})
    run = run_chaos(exp, env=otel_env(otlp_receiver))
    assert run.journal["deviated"] is True, run.describe()
    spans = Spans(otlp_receiver.spans())
    root = assert_no_orphans(spans)
    by_phase = {h["attributes"]["chaostoolkit.hypothesis.phase"]: h
                for h in spans.named("hypothesis")}
    assert by_phase["before"]["attributes"]["chaostoolkit.hypothesis.met"] is True
    assert by_phase["before"]["status_code"] == STATUS_UNSET
    after = by_phase["after"]
    assert after["attributes"]["chaostoolkit.hypothesis.met"] is False
    assert after["status_code"] == STATUS_ERROR
    assert root["attributes"]["chaostoolkit.experiment.deviated"] is True
    assert root["status_code"] == STATUS_ERROR


# --------------------------------------------------------------------------
# Continuous hypothesis
# --------------------------------------------------------------------------
CONTINUOUS_ARGS = ["--hypothesis-strategy", "continuously", "--hypothesis-frequency", "0.1"]


def test_continuous_hypothesis_has_iteration_spans(run_chaos, otlp_receiver):
    """upstream rebuilds iterations from journal timestamps it cannot parse
    since chaostoolkit-lib 1.43.1; ours are live spans, one per iteration
    under a "hypothesis" span over the continuous run, probes below."""
    run = run_chaos(with_oltp(load_experiment("continuous")), env=otel_env(otlp_receiver),
                    args=CONTINUOUS_ARGS)
    assert run.returncode == 0, run.describe()
    during = run.journal["steady_states"]["during"]
    assert len(during) >= 2, "the method sleeps 0.6 s: several iterations"
    spans = Spans(otlp_receiver.spans())
    root = assert_no_orphans(spans)
    spans.assert_nested_times()
    hyps = spans.named("hypothesis")
    phases = sorted(h["attributes"]["chaostoolkit.hypothesis.phase"] for h in hyps)
    assert phases == ["after", "before"] + ["continuous"] * (len(during) + 1), phases
    (outer,) = [h for h in hyps if h["parent"] == root["span_id"]
                and h["attributes"]["chaostoolkit.hypothesis.phase"] == "continuous"]
    assert "chaostoolkit.hypothesis.iteration" not in outer["attributes"]
    assert outer["attributes"]["chaostoolkit.hypothesis.iterations"] == len(during)
    iterations = spans.children(outer)
    assert [i["attributes"]["chaostoolkit.hypothesis.iteration"] for i in iterations] == list(
        range(1, len(during) + 1)
    )
    for it in iterations:
        assert it["name"] == "hypothesis"
        assert it["attributes"]["chaostoolkit.hypothesis.phase"] == "continuous"
        assert it["attributes"]["chaostoolkit.hypothesis.met"] is True
        assert [c["name"] for c in spans.children(it)] == [activity("probe-steady")]


def test_native_front_counts_iterations_too(run_chaos, otlp_receiver):
    exp = load_experiment("continuous")
    exp["controls"] = [tracing_control()]
    run = run_chaos(exp, env=otel_env(otlp_receiver), args=CONTINUOUS_ARGS)
    assert run.returncode == 0, run.describe()
    during = run.journal["steady_states"]["during"]
    spans = Spans(otlp_receiver.spans())
    root = assert_no_orphans(spans)
    continuous = sorted(
        (h for h in spans.named("always steady")
         if h["attributes"]["chaostoolkit.hypothesis.phase"] == "continuous"),
        key=lambda h: h["start"],
    )
    assert len(continuous) == len(during) >= 2
    assert [h["attributes"]["chaostoolkit.hypothesis.iteration"] for h in continuous] == list(
        range(1, len(during) + 1)
    )
    assert all(h["parent"] == root["span_id"] for h in continuous)


# --------------------------------------------------------------------------
# Interrupted runs
# --------------------------------------------------------------------------
def signal_experiment(name):
    exp = load_experiment("minimal")
    exp["steady-state-hypothesis"] = {
        "title": "fine",
        "probes": [{
            "type": "probe", "name": "probe-true", "tolerance": True,
            "provider": {"type": "python", "module": "ctkhelpers", "func": "always_true"},
        }],
    }
    # A process activity, so the signal comes while chaoslib waits on it: a
    # Python activity would turn SIGTERM's InterruptExecution into a failure.
    exp["method"].append({
        "type": "action",
        "name": "action-signal",
        "provider": {"type": "process", "path": "/bin/sh", "timeout": 20,
                     "arguments": ["-c", f"kill -s {name[3:]} $PPID; sleep 10"]},
    })
    exp["method"].append({
        "type": "action", "name": "action-never",
        "provider": {"type": "python", "module": "ctkhelpers", "func": "answer"},
    })
    exp["rollbacks"] = [{
        "type": "action", "name": "rollback-python",
        "provider": {"type": "python", "module": "ctkhelpers", "func": "rollback_ok"},
    }]
    return with_oltp(exp)


@pytest.mark.parametrize("sig", SIGNALS)
def test_interrupted_run_exports_its_root(run_chaos, otlp_receiver, sig):
    # Rollbacks "always": chaoslib plays them after an interruption, except
    # after SIGUSR2, which means "leave now".
    run = run_chaos(signal_experiment(sig), env=otel_env(otlp_receiver),
                    settings={"runtime": {"rollbacks": {"strategy": "always"}}})
    assert run.journal["status"] == "interrupted", run.describe()
    spans = Spans(otlp_receiver.spans())
    root = assert_no_orphans(spans)
    assert root["name"] == "experiment"
    a = root["attributes"]
    assert a["chaostoolkit.experiment.interrupted"] is True
    assert a["chaostoolkit.experiment.exit_signal"] == sig
    assert root["status_code"] == STATUS_ERROR
    method = spans.one("method")
    sent = spans.one(activity("action-signal"))
    assert sent["parent"] == method["span_id"]
    assert sent["status_code"] == STATUS_ERROR  # cut short
    assert not spans.named(activity("action-never"))
    rolled = spans.named(activity("rollback-python"))
    assert len(rolled) == (0 if sig == "SIGUSR2" else 1), sorted(s["name"] for s in spans.all)
    assert summary(run.log)["exported"] == len(spans)


# --------------------------------------------------------------------------
# Propagation: TRACEPARENT, BAGGAGE, vendors
# --------------------------------------------------------------------------
def test_traceparent_is_the_roots_parent(run_chaos, otlp_receiver):
    tid, sid = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    run = run_chaos(with_oltp(load_experiment("minimal")),
                    env=otel_env(otlp_receiver, TRACEPARENT=f"00-{tid}-{sid}-01"))
    assert run.returncode == 0, run.describe()
    spans = Spans(otlp_receiver.spans())
    root = assert_no_orphans(spans)
    assert root["name"] == "experiment"
    assert root["parent"] == sid
    assert spans.trace_ids() == {tid}


def test_baggage_becomes_root_attributes(run_chaos, target, otlp_receiver):
    exp = with_oltp(load_experiment("minimal"), {"target_url": target.url})
    exp["method"].append({"type": "action", "name": "action-http",
                          "provider": {"type": "http", "url": "${target_url}/x"}})
    run = run_chaos(exp, env=otel_env(otlp_receiver,
                                      BAGGAGE="team=chaos%20eng,run=42;prop=1,bad key=x"))
    assert run.returncode == 0, run.describe()
    root = Spans(otlp_receiver.spans()).one("experiment")
    assert root["attributes"]["team"] == "chaos eng"
    assert root["attributes"]["run"] == "42"
    assert "bad key" not in root["attributes"]
    (req,) = target.requests
    assert req["headers"]["baggage"] == "team=chaos%20eng,run=42;prop=1"


def http_experiment(target, configuration=None):
    exp = with_oltp(load_experiment("minimal"), {"target_url": target.url, **(configuration or {})})
    exp["method"].append({"type": "action", "name": "action-http",
                          "provider": {"type": "http", "url": "${target_url}/x"}})
    return exp


def test_vendor_aws_xray_ids_and_header(run_chaos, target, otlp_receiver):
    run = run_chaos(http_experiment(target), env=otel_env(otlp_receiver, OTEL_VENDOR="aws"))
    assert run.returncode == 0, run.describe()
    spans = Spans(otlp_receiver.spans())
    root = assert_no_orphans(spans)
    (tid,) = spans.trace_ids()
    # X-Ray: the trace id starts with the epoch seconds of the root's start.
    secs = int(tid[:8], 16)
    assert run.started_ns // 10**9 - 1 <= secs <= run.ended_ns // 10**9, (tid, run.started_ns)
    assert secs == root["start"] // 10**9
    (req,) = target.requests
    http = spans.one(activity("action-http"))
    assert req["headers"]["x-amzn-trace-id"] == (
        f"Root=1-{tid[:8]}-{tid[8:]};Parent={http['span_id']};Sampled=1"
    )
    assert req["headers"]["traceparent"].split("-")[1] == tid
    assert len(records(run.log, "INFO", "OTEL_VENDOR is aws")) == 1


def test_vendor_gcp_cloud_trace_header(run_chaos, target, otlp_receiver):
    run = run_chaos(
        http_experiment(target, {"otel_vendor": "gcp", "otel_gcp_project_id": "my-project",
                                 "otel_gcp_service_account": "/nonexistent/sa.json"}),
        env=otel_env(otlp_receiver),
    )
    assert run.returncode == 0, run.describe()
    spans = Spans(otlp_receiver.spans())
    assert_no_orphans(spans)
    (tid,) = spans.trace_ids()
    (req,) = target.requests
    http = spans.one(activity("action-http"))
    assert req["headers"]["x-cloud-trace-context"] == f"{tid}/{int(http['span_id'], 16)};o=1"
    (said,) = records(run.log, "INFO", "otel_vendor is gcp")
    assert "OpenTelemetry Collector" in said.message and "Google Cloud" in said.message
    assert "otel_gcp_service_account and otel_gcp_project_id are not used" in said.message
    assert not chaostracing_records(run.log, "WARNING")


@pytest.mark.parametrize("value,level,text", [
    ("azure", "INFO", "OTEL_VENDOR is azure: HTTP activities get W3C traceparent"),
    ("azur", "WARNING", 'OTEL_VENDOR=azur is not one of aws, gcp, azure; did you mean "azure"?'),
])
def test_vendor_azure_and_unknown(run_chaos, target, otlp_receiver, value, level, text):
    run = run_chaos(http_experiment(target), env=otel_env(otlp_receiver, OTEL_VENDOR=value))
    assert run.returncode == 0, run.describe()
    assert len(records(run.log, level, text)) == 1, run.log[-3000:]
    (req,) = target.requests
    assert set(req["headers"]) & {"traceparent", "x-amzn-trace-id", "x-cloud-trace-context"} == {
        "traceparent"
    }
    assert len(Spans(otlp_receiver.spans())) == 5


# --------------------------------------------------------------------------
# Both controls declared
# --------------------------------------------------------------------------
def native_control():
    return {"name": "tracing", "provider": {"type": "python", "module": CONTROL_MODULE}}


@pytest.mark.parametrize("where", [
    "settings-native+experiment-oltp",
    "settings-oltp+experiment-native",
    "experiment-native,oltp",
    "experiment-oltp,native",
])
def test_both_controls_make_one_trace(run_chaos, target, otlp_receiver, where):
    """The first configured owns the run (settings-file controls are
    configured first); the other says it joins; one trace, each span once,
    activities under their method even where chaoslib skips the settings
    file's control (method level, when the experiment declares controls)."""
    exp = main_experiment(target.url)
    settings = {}
    decl = {"native": native_control(), "oltp": oltp_control()}
    place, _, order = where.partition("+")
    if where.startswith("settings-"):
        first = place.split("-")[1]
        second = order.split("-")[1]
        settings = {"controls": {decl[first]["name"]: {"provider": decl[first]["provider"]}}}
        exp["controls"] = [decl[second]]
    else:
        first, second = place.split("-")[1].split(",")
        exp["controls"] = [decl[first], decl[second]]
    run = run_chaos(exp, env=otel_env(otlp_receiver), settings=settings)
    assert run.returncode == 0, run.describe()
    spans = Spans(otlp_receiver.spans())
    assert len(spans) == MAIN_SPAN_COUNT, sorted(s["name"] for s in spans.all)
    root = assert_no_orphans(spans)
    spans.assert_nested_times()
    oltp_owns = first == "oltp"
    assert root["name"] == ("experiment" if oltp_owns else MAIN_TITLE)
    name = activity if oltp_owns else (lambda n: n)
    method = spans.one("method")
    assert sorted(c["name"] for c in spans.children(method)) == sorted(
        name(n) for n in METHOD_ACTIVITIES
    )
    rollbacks = spans.one("rollbacks")
    assert [c["name"] for c in spans.children(rollbacks)] == [name(n) for n in ROLLBACKS]
    owner, joiner = ((OLTP_MODULE, CONTROL_MODULE) if oltp_owns
                     else (CONTROL_MODULE, OLTP_MODULE))
    joined = records(run.log, "INFO", f"{joiner} joins the trace {owner} started")
    assert len(joined) == 1, [r.message for r in chaostracing_records(run.log)]
    assert summary(run.log)["exported"] == MAIN_SPAN_COUNT
    assert not chaostracing_records(run.log, "WARNING")


# --------------------------------------------------------------------------
# The default endpoint
# --------------------------------------------------------------------------
class FixedPortReceiver(OtlpReceiver):
    """An OtlpReceiver on a given loopback port (OtlpReceiver picks a free
    one)."""

    def __init__(self, port):
        try:
            httpd = _HTTPServer(("127.0.0.1", port), _OtlpHandler)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                pytest.skip(f"127.0.0.1:{port} is in use: the default endpoint cannot be tested")
            raise
        httpd.server_close()
        # The parent binds port 0; bind the port asked for instead.
        super().__init__()
        self.httpd.server_close()
        self.httpd = _HTTPServer(("127.0.0.1", port), _OtlpHandler)
        self.httpd.owner = self
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        import threading

        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )


def ipv6_listener(port):
    """True when something answers on [::1]:port (localhost may resolve
    there first)."""
    try:
        with socket.create_connection(("::1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_default_endpoint_without_otel_variables(run_chaos):
    if ipv6_listener(4318):
        pytest.skip("something listens on [::1]:4318: localhost:4318 would reach it")
    receiver = FixedPortReceiver(4318).start()
    try:
        run = run_chaos(with_oltp(load_experiment("minimal")))
    finally:
        receiver.stop()
    assert run.returncode == 0, run.describe()
    assert receiver.posts and all(p["path"] == "/v1/traces" for p in receiver.posts)
    assert all(p["headers"]["content-type"] == "application/x-protobuf" for p in receiver.posts)
    names = sorted(s["name"] for s in receiver.spans())
    assert names == ["activity: minimal-action", "experiment", "method", "rollbacks"]
    assert re.search(r"localhost:4318/v1/traces", summary(run.log)["dest"])


def test_trace_request_with_vendor_aws(run_chaos, target, otlp_receiver):
    """Upstream's arguments: trace_request instruments requests against our
    provider; with OTEL_VENDOR=aws the instrumented call carries X-Ray's
    header too, as the control's own HTTP activities do."""
    pytest.importorskip("opentelemetry.instrumentation.requests")
    exp = with_oltp(load_experiment("minimal"), arguments={"trace_request": True})
    exp["method"].append(
        {
            "type": "action",
            "name": "py-get",
            "background": True,
            "provider": {
                "type": "python",
                "module": "apihelpers",
                "func": "requests_get",
                "arguments": {"url": target.url + "/instrumented"},
            },
        }
    )
    run = run_chaos(exp, env=otel_env(otlp_receiver, OTEL_VENDOR="aws"))
    assert run.returncode == 0, run.describe()
    spans = Spans(otlp_receiver.spans())
    assert_no_orphans(spans)
    act = spans.one(activity("py-get"))
    get = spans.one("GET")
    assert get["parent"] == act["span_id"] and get["kind"] == 3
    (tid,) = spans.trace_ids()
    (req,) = [r for r in target.requests if r["path"] == "/instrumented"]
    assert req["headers"]["x-amzn-trace-id"] == (
        f"Root=1-{tid[:8]}-{tid[8:]};Parent={get['span_id']};Sampled=1"
    )
    assert "unknown control argument" not in run.log
