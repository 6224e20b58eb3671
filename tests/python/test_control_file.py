"""The control traced to a file (OTLP JSON lines), driven by a real `chaos run`."""

import json
import re
import socket

import pytest

from conftest import (
    HYPOTHESIS,
    KIND_CLIENT,
    KIND_INTERNAL,
    MAIN_SPAN_COUNT,
    MAIN_TITLE,
    METHOD_ACTIVITIES,
    PROBES,
    ROLLBACKS,
    SEQUENTIAL_METHOD,
    STATUS_ERROR,
    TRACEPARENT_RE,
    ChaosRunner,
    Spans,
    TargetService,
    chaostracing_records,
    file_config,
    file_spans,
    load_experiment,
    main_experiment,
    propagation_leaks,
    read_trace_file,
    strip_volatile,
    summary_line,
    with_tracing,
)


def names(spans):
    return [s["name"] for s in spans]


def traceparents(request):
    """All traceparent header values of one recorded request."""
    return [v for k, v in request["header_list"] if k.lower() == "traceparent"]


# --------------------------------------------------------------------------
# One traced run of the main experiment (plus the same run without the
# control), shared by the tests of this module.
# --------------------------------------------------------------------------
class MainRun:
    pass


@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("main")
    runner = ChaosRunner(tmp)
    srv = TargetService().start()
    try:
        r = MainRun()
        r.baseline = runner(main_experiment(srv.url))
        r.baseline_requests = list(srv.requests)
        srv.requests.clear()
        r.trace_file = tmp / "traces.jsonl"
        r.run = runner(with_tracing(main_experiment(srv.url), file_config(r.trace_file)))
        r.requests = list(srv.requests)
        r.target_url = srv.url
        r.spans = Spans(file_spans(r.trace_file)) if r.trace_file.exists() else None
        yield r
    finally:
        srv.stop()


def spans_of(main_run) -> Spans:
    assert main_run.spans is not None, (
        f"no trace file written at {main_run.trace_file}\n" + main_run.run.describe()
    )
    return main_run.spans


def tree(spans: Spans):
    """(root, [hypothesis before, after], method, rollbacks) of the main run."""
    root = spans.one(MAIN_TITLE)
    hyps = sorted(spans.named(HYPOTHESIS), key=lambda s: s["start"])
    assert len(hyps) == 2, f"expected 2 hypothesis spans, got {len(hyps)}"
    return root, hyps, spans.one("method"), spans.one("rollbacks")


# --------------------------------------------------------------------------
def test_experiment_outcome_unchanged_by_the_control(main_run):
    base, run = main_run.baseline, main_run.run
    assert base.returncode == 0, base.describe()
    assert run.returncode == base.returncode, run.describe()
    assert run.journal["status"] == base.journal["status"] == "completed"
    assert run.journal["deviated"] is base.journal["deviated"] is False
    assert strip_volatile(run.journal) == strip_volatile(base.journal), (
        "the journal's activities/statuses differ from the run without the control"
    )


def test_one_trace_with_exact_span_set(main_run):
    spans = spans_of(main_run)
    assert len(spans) == MAIN_SPAN_COUNT, (
        f"expected {MAIN_SPAN_COUNT} spans, got {len(spans)}: {sorted(names(spans.all))}"
    )
    ids = spans.trace_ids()
    assert len(ids) == 1, f"expected one trace id, got {ids}"
    (tid,) = ids
    assert re.fullmatch("[0-9a-f]{32}", tid) and tid != "0" * 32
    assert {s["scope"] for s in spans.all} == {"chaostracing"}
    expected_names = sorted(
        [MAIN_TITLE, "method", "rollbacks"]
        + [HYPOTHESIS] * 2
        + PROBES * 2
        + METHOD_ACTIVITIES
        + ROLLBACKS
    )
    assert sorted(names(spans.all)) == expected_names


def test_span_tree_parents(main_run):
    spans = spans_of(main_run)
    root, (h_before, h_after), method, rollbacks = tree(spans)
    assert root["parent"] == "", "the experiment span must be a root span"
    assert [s["span_id"] for s in spans.children(root)] == [
        h_before["span_id"],
        method["span_id"],
        h_after["span_id"],
        rollbacks["span_id"],
    ], f"children of the experiment: {names(spans.children(root))}"
    for h in (h_before, h_after):
        kids = spans.children(h)
        assert names(kids) == PROBES, f"children of hypothesis: {names(kids)}"
    m_kids = spans.children(method)
    assert sorted(names(m_kids)) == sorted(METHOD_ACTIVITIES)
    assert [n for n in names(m_kids) if n != "action-background-sleep"] == SEQUENTIAL_METHOD
    bg = spans.one("action-background-sleep")
    assert bg["parent"] == method["span_id"], (
        "the background activity (run in a worker thread) must be a child of the method span"
    )
    assert names(spans.children(rollbacks)) == ROLLBACKS
    # Nothing else hangs anywhere: every span is reachable from the root.
    for s in spans.all:
        if s is not root:
            assert s["parent"] in spans.by_id, f"span {s['name']!r} has an unknown parent"


def test_span_times_nest_and_background_overlaps(main_run):
    spans = spans_of(main_run)
    run = main_run.run
    spans.assert_nested_times()
    root = spans.one(MAIN_TITLE)
    assert run.started_ns <= root["start"] and root["end"] <= run.ended_ns, (
        "the experiment span is outside the chaos process's lifetime (not unix ns?)"
    )
    bg = spans.one("action-background-sleep")
    nxt = spans.one("action-http-post")
    assert bg["end"] - bg["start"] >= 290_000_000, "background activity lasted < 0.3 s"
    assert bg["start"] < nxt["end"] and nxt["start"] < bg["end"], (
        "the background activity should overlap the next method activity"
    )
    # Sequential activities of the method do not overlap each other.
    seq = [spans.one(n) for n in SEQUENTIAL_METHOD]
    for a, b in zip(seq, seq[1:]):
        assert a["end"] <= b["start"], f"{a['name']} overlaps {b['name']}"


def test_experiment_hypothesis_method_rollback_attributes(main_run):
    spans = spans_of(main_run)
    root, (h_before, h_after), method, rollbacks = tree(spans)
    a = root["attributes"]
    assert root["kind"] == KIND_INTERNAL
    assert a["chaostoolkit.type"] == "experiment"
    assert a["chaostoolkit.experiment.title"] == MAIN_TITLE
    assert a["chaostoolkit.experiment.tags"] == ["tracing", "e2e"]
    assert a["chaostoolkit.experiment.contributions.reliability"] == "high"
    assert a["chaostoolkit.experiment.contributions.security"] == "none"
    assert a["chaostoolkit.experiment.status"] == "completed"
    assert a["chaostoolkit.experiment.deviated"] is False
    assert root["status_code"] != STATUS_ERROR
    for h, phase in ((h_before, "before"), (h_after, "after")):
        ha = h["attributes"]
        assert ha["chaostoolkit.type"] == "hypothesis"
        assert ha["chaostoolkit.hypothesis.phase"] == phase
        assert ha["chaostoolkit.hypothesis.met"] is True
        assert h["status_code"] != STATUS_ERROR
        assert not [e for e in h["events"] if e["name"] == "chaostoolkit.hypothesis.deviated"]
        assert h["kind"] == KIND_INTERNAL
    assert method["attributes"]["chaostoolkit.type"] == "method"
    assert rollbacks["attributes"]["chaostoolkit.type"] == "rollback"


def test_activity_attributes(main_run):
    spans = spans_of(main_run)
    for name in PROBES + METHOD_ACTIVITIES + ROLLBACKS:
        for s in spans.named(name):
            a = s["attributes"]
            assert a["chaostoolkit.type"] == "activity", name
            assert a["chaostoolkit.activity.name"] == name
            assert a["chaostoolkit.activity.type"] == ("probe" if name in PROBES else "action")
            assert a["chaostoolkit.activity.background"] is (name == "action-background-sleep")
            failing = name == "action-python-fails"
            assert a["chaostoolkit.activity.status"] == ("failed" if failing else "succeeded")
            if not failing:
                assert s["status_code"] != STATUS_ERROR, name
                assert not [e for e in s["events"] if e["name"] == "exception"], name
            if not name.startswith(("probe-http", "action-http")):
                assert s["kind"] == KIND_INTERNAL, name

    def attrs(name):
        return spans.one(name)["attributes"]

    a = attrs("action-python-answer")
    assert a["chaostoolkit.activity.provider.type"] == "python"
    assert a["chaostoolkit.activity.provider.module"] == "ctkhelpers"
    assert a["chaostoolkit.activity.provider.func"] == "answer"
    assert json.loads(a["chaostoolkit.activity.output"]) == {"answer": 42}

    a = attrs("action-process-echo")
    assert a["chaostoolkit.activity.provider.type"] == "process"
    assert a["chaostoolkit.activity.provider.path"] == "/bin/echo"
    assert json.loads(a["chaostoolkit.activity.output"]) == {
        "status": 0,
        "stdout": "hello-from-process\n",
        "stderr": "",
    }

    a = attrs("action-background-sleep")
    assert a["chaostoolkit.activity.provider.func"] == "sleep_then_return"
    assert json.loads(a["chaostoolkit.activity.output"]) == "slept"

    out = attrs("action-python-big-output")["chaostoolkit.activity.output"]
    assert 1000 < len(out) <= 4096, f"output attribute not truncated to 4096 chars: {len(out)}"
    assert out.startswith('"xxxxxxxx'), out[:20]

    for s in spans.named("probe-python-true"):
        assert json.loads(s["attributes"]["chaostoolkit.activity.output"]) is True
        assert s["attributes"]["chaostoolkit.activity.provider.func"] == "always_true"

    a = attrs("rollback-python")
    assert a["chaostoolkit.activity.provider.func"] == "rollback_ok"
    assert json.loads(a["chaostoolkit.activity.output"]) == "rolled back"


def test_hypothesis_probes_carry_tolerance_met(main_run):
    spans = spans_of(main_run)
    probes = [s for s in spans.all if s["name"] in PROBES]
    assert len(probes) == 4
    for s in probes:
        assert s["attributes"]["chaostoolkit.activity.tolerance_met"] is True, s["name"]


def test_failing_activity_has_error_status_and_exception_event(main_run):
    spans = spans_of(main_run)
    s = spans.one("action-python-fails")
    assert s["status_code"] == STATUS_ERROR
    assert s["status_message"].endswith("ValueError: ctk-boom"), s["status_message"]
    assert "\n" not in s["status_message"].strip(), "status message must be one line"
    events = [e for e in s["events"] if e["name"] == "exception"]
    assert len(events) == 1, f"expected one exception event, got {s['events']}"
    ev = events[0]
    ea = ev["attributes"]
    assert "ActivityFailed" in ea["exception.type"], ea
    assert ea["exception.message"].endswith("ValueError: ctk-boom"), ea
    st = ea["exception.stacktrace"]
    assert "Traceback" in st and "fail_with_exception" in st and "ctk-boom" in st, st
    assert s["start"] <= ev["time"] <= s["end"], "exception event outside its span"
    if "chaostoolkit.activity.output" in s["attributes"]:
        assert json.loads(s["attributes"]["chaostoolkit.activity.output"]) is None


def test_http_activities_are_client_spans(main_run):
    spans = spans_of(main_run)
    url = main_run.target_url
    post = spans.one("action-http-post")
    probes = spans.named("probe-http-health")
    assert len(probes) == 2
    for s, method, path in [(post, "POST", "/action")] + [(p, "GET", "/probe") for p in probes]:
        a = s["attributes"]
        assert s["kind"] == KIND_CLIENT, s["name"]
        assert a["chaostoolkit.activity.provider.type"] == "http"
        assert a["http.request.method"] == method
        assert a["url.full"] == url + path
        assert a["http.response.status_code"] == 200
        assert isinstance(a["http.response.status_code"], int)
        out = json.loads(a["chaostoolkit.activity.output"])
        assert out["status"] == 200 and out["body"] == {"ok": True}


def test_traceparent_injected_into_http_requests(main_run):
    spans = spans_of(main_run)
    (tid,) = spans.trace_ids()
    root, (h_before, h_after), method, rollbacks = tree(spans)
    reqs = main_run.requests
    assert [(r["method"], r["path"]) for r in reqs] == [
        ("GET", "/probe"),
        ("POST", "/action"),
        ("GET", "/probe"),
    ], "the target service saw unexpected requests"
    expected_span = [
        [c for c in spans.children(h_before) if c["name"] == "probe-http-health"][0],
        spans.one("action-http-post"),
        [c for c in spans.children(h_after) if c["name"] == "probe-http-health"][0],
    ]
    for req, span in zip(reqs, expected_span):
        tps = traceparents(req)
        assert len(tps) == 1, f"{req['path']}: expected one traceparent header, got {tps}"
        m = TRACEPARENT_RE.match(tps[0])
        assert m, f"bad traceparent {tps[0]!r}"
        assert m.group(1) == tid, "traceparent carries another trace id"
        assert m.group(2) == span["span_id"], (
            f"traceparent span id {m.group(2)} is not the http activity span "
            f"{span['name']} ({span['span_id']})"
        )
        assert "tracestate" not in req["headers"] and "baggage" not in req["headers"]
    # The user's own header is still sent.
    assert reqs[1]["headers"].get("x-test") == "yes"
    # Without the control, no traceparent at all.
    assert all(not traceparents(r) for r in main_run.baseline_requests)


def test_journal_has_no_injected_headers(main_run):
    run = main_run.run
    leaks = propagation_leaks(run.journal)
    assert not leaks, f"injected headers leaked into the journal: {leaks}"
    post = [r for r in run.journal["run"] if r["activity"]["name"] == "action-http-post"][0]
    assert post["activity"]["provider"]["headers"] == {"X-Test": "yes"}
    for phase in ("before", "after"):
        probe = run.journal["steady_states"][phase]["probes"][0]
        assert probe["activity"]["name"] == "probe-http-health"
        assert "headers" not in probe["activity"]["provider"], (
            "the control left a headers mapping on a provider that had none"
        )


def test_log_summary_and_no_warnings(main_run):
    run = main_run.run
    spans = spans_of(main_run)
    n, dest, dropped, failed = summary_line(run.log)
    assert n == len(spans) == MAIN_SPAN_COUNT
    assert str(main_run.trace_file) in dest, dest
    assert (dropped, failed) == (0, 0)
    bad = [r for r in chaostracing_records(run.log) if r.level in ("WARNING", "ERROR", "CRITICAL")]
    assert not bad, f"unexpected chaostracing warnings: {[r.message for r in bad]}"


def test_resource_defaults(main_run):
    spans = spans_of(main_run)
    res = spans.all[0]["resource"]
    assert all(s["resource"] == res for s in spans.all)
    assert res["service.name"] == "chaostoolkit"
    assert res["telemetry.sdk.name"] == "chaostracing"
    assert res["telemetry.sdk.language"] == "c"
    assert isinstance(res["telemetry.sdk.version"], str) and res["telemetry.sdk.version"]
    assert res["process.pid"] == main_run.run.pid
    assert isinstance(res["process.executable.name"], str) and res["process.executable.name"]
    assert res["host.name"] == socket.gethostname()


def test_file_lines_are_otlp_json_with_hex_ids(main_run):
    path = main_run.trace_file
    assert path.exists(), main_run.run.describe()
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        assert list(doc) == ["resourceSpans"], list(doc)
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    assert re.fullmatch("[0-9a-f]{32}", sp["traceId"])
                    assert re.fullmatch("[0-9a-f]{16}", sp["spanId"])
                    assert isinstance(sp["kind"], int), "enums are integers in OTLP JSON"
                    assert isinstance(sp["startTimeUnixNano"], str)


# --------------------------------------------------------------------------
# Separate runs
# --------------------------------------------------------------------------
def test_deviated_experiment(run_chaos, tmp_path):
    exp = load_experiment("deviated")
    base_exp = json.loads(json.dumps(exp))
    base_exp["configuration"]["marker_path"] = str(tmp_path / "marker-base")
    base = run_chaos(base_exp)
    trace_file = tmp_path / "traces.jsonl"
    exp["configuration"]["marker_path"] = str(tmp_path / "marker-traced")
    run = run_chaos(with_tracing(exp, file_config(trace_file)))

    assert base.journal["deviated"] is True and base.journal["status"] == "completed"
    assert base.returncode == 1, base.describe()
    assert run.returncode == base.returncode, run.describe()
    assert run.journal["status"] == "completed" and run.journal["deviated"] is True
    assert trace_file.exists(), run.describe()

    spans = Spans(file_spans(trace_file))
    assert len(spans.trace_ids()) == 1
    spans.assert_nested_times()
    root = spans.one("chaostracing deviated experiment")
    ra = root["attributes"]
    assert ra["chaostoolkit.experiment.status"] == "completed"
    assert ra["chaostoolkit.experiment.deviated"] is True
    assert root["status_code"] == STATUS_ERROR

    hyps = sorted(spans.named("marker file is absent"), key=lambda s: s["start"])
    assert len(hyps) == 2
    before, after = hyps
    assert [c["span_id"] for c in spans.children(root)] == [
        before["span_id"],
        spans.one("method")["span_id"],
        after["span_id"],
        spans.one("rollbacks")["span_id"],
    ]
    assert before["attributes"]["chaostoolkit.hypothesis.phase"] == "before"
    assert before["attributes"]["chaostoolkit.hypothesis.met"] is True
    assert before["status_code"] != STATUS_ERROR
    assert after["attributes"]["chaostoolkit.hypothesis.phase"] == "after"
    assert after["attributes"]["chaostoolkit.hypothesis.met"] is False
    assert after["status_code"] == STATUS_ERROR

    devs = [e for e in after["events"] if e["name"] == "chaostoolkit.hypothesis.deviated"]
    assert len(devs) == 1, after["events"]
    da = devs[0]["attributes"]
    assert da["chaostoolkit.probe.name"] == "probe-marker-absent"
    assert json.loads(da["chaostoolkit.probe.tolerance"]) is True
    assert json.loads(da["chaostoolkit.probe.output"]) is False
    assert after["start"] <= devs[0]["time"] <= after["end"]
    assert not [e for e in before["events"] if e["name"] == "chaostoolkit.hypothesis.deviated"]

    (probe_before,) = spans.children(before)
    (probe_after,) = spans.children(after)
    assert probe_before["name"] == probe_after["name"] == "probe-marker-absent"
    assert probe_before["attributes"]["chaostoolkit.activity.tolerance_met"] is True
    assert probe_after["attributes"]["chaostoolkit.activity.tolerance_met"] is False
    assert probe_after["attributes"]["chaostoolkit.activity.status"] == "succeeded"


def test_traceparent_environment_is_the_parent(run_chaos, target, tmp_path):
    tid, sid = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    trace_file = tmp_path / "traces.jsonl"
    run = run_chaos(
        with_tracing(main_experiment(target.url), file_config(trace_file)),
        env={
            "TRACEPARENT": f"00-{tid}-{sid}-01",
            "TRACESTATE": "congo=t61rcWkgMzE",
            "BAGGAGE": "userId=alice,isProduction=false",
        },
    )
    assert run.returncode == 0, run.describe()
    assert trace_file.exists(), run.describe()
    spans = Spans(file_spans(trace_file))
    assert spans.trace_ids() == {tid}
    root = spans.one(MAIN_TITLE)
    assert root["parent"] == sid, "the experiment span's parent must come from TRACEPARENT"
    assert len(spans) == MAIN_SPAN_COUNT
    assert len(target.requests) == 3
    http_ids = {
        s["span_id"] for s in spans.all if s["name"] in ("probe-http-health", "action-http-post")
    }
    seen = set()
    for req in target.requests:
        (tp,) = traceparents(req)
        m = TRACEPARENT_RE.match(tp)
        assert m and m.group(1) == tid, tp
        seen.add(m.group(2))
        assert req["headers"].get("tracestate") == "congo=t61rcWkgMzE", req["headers"]
        members = {p.split(";")[0].strip() for p in req["headers"].get("baggage", "").split(",")}
        assert {"userId=alice", "isProduction=false"} <= members, req["headers"]
    assert seen == http_ids
    assert not propagation_leaks(run.journal), propagation_leaks(run.journal)


def test_settings_file_controls_block(run_chaos, target, tmp_path):
    trace_file = tmp_path / "from-settings.jsonl"
    settings = {
        "controls": {
            "tracing": {
                "provider": {
                    "type": "python",
                    "module": "chaostracing.control",
                    "arguments": {
                        "provider": "opentelemetry",
                        "exporter": "file",
                        "file_path": str(trace_file),
                    },
                }
            }
        }
    }
    exp = main_experiment(target.url)
    assert "controls" not in exp and not any(k.startswith("tracing") for k in exp["configuration"])
    run = run_chaos(exp, settings=settings)
    assert run.returncode == 0, run.describe()
    assert trace_file.exists(), run.describe()
    spans = Spans(file_spans(trace_file))
    assert len(spans) == MAIN_SPAN_COUNT, sorted(names(spans.all))
    assert len(spans.trace_ids()) == 1
    root, _, method, _ = tree(spans)
    assert root["parent"] == ""
    assert spans.one("action-background-sleep")["parent"] == method["span_id"]
    assert summary_line(run.log)[0] == MAIN_SPAN_COUNT


def test_arguments_win_over_configuration_and_environment(run_chaos, tmp_path):
    config_file = tmp_path / "from-configuration.jsonl"
    arg_file = tmp_path / "from-arguments.jsonl"
    exp = with_tracing(
        load_experiment("minimal"),
        configuration={
            "tracing_provider": "opentelemetry",
            "tracing_opentelemetry_exporter": "console",
            "tracing_opentelemetry_file_path": str(config_file),
        },
        arguments={"exporter": "file", "file_path": str(arg_file)},
    )
    run = run_chaos(exp, env={"OTEL_TRACES_EXPORTER": "console"})
    assert run.returncode == 0, run.describe()
    assert arg_file.exists(), (
        "the file exporter chosen by the arguments wrote nothing\n" + run.describe()
    )
    assert not config_file.exists(), "the configuration's file_path should have been overridden"
    spans = Spans(file_spans(arg_file))
    assert sorted(names(spans.all)) == sorted(
        ["chaostracing minimal experiment", "method", "minimal-action", "rollbacks"]
    )


def test_configuration_wins_over_environment(run_chaos, tmp_path):
    trace_file = tmp_path / "traces.jsonl"
    run = run_chaos(
        with_tracing(load_experiment("minimal"), file_config(trace_file)),
        env={
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        },
    )
    assert run.returncode == 0, run.describe()
    spans = Spans(file_spans(trace_file))
    assert len(spans) == 4


def test_service_name_and_resource_attributes_from_environment(run_chaos, tmp_path):
    trace_file = tmp_path / "traces.jsonl"
    run = run_chaos(
        with_tracing(load_experiment("minimal"), file_config(trace_file)),
        env={
            "OTEL_SERVICE_NAME": "checkout-chaos",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,deployment.environment=staging,"
            "team=sre%20core",
        },
    )
    assert run.returncode == 0, run.describe()
    spans = Spans(file_spans(trace_file))
    res = spans.all[0]["resource"]
    assert res["service.name"] == "checkout-chaos", "OTEL_SERVICE_NAME must win"
    assert res["deployment.environment"] == "staging"
    assert res["team"] == "sre core", "OTEL_RESOURCE_ATTRIBUTES values are percent-decoded"
    assert res["telemetry.sdk.name"] == "chaostracing"


def test_resource_attributes_service_name_without_otel_service_name(run_chaos, tmp_path):
    trace_file = tmp_path / "traces.jsonl"
    run = run_chaos(
        with_tracing(load_experiment("minimal"), file_config(trace_file)),
        env={"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attributes"},
    )
    assert run.returncode == 0, run.describe()
    res = Spans(file_spans(trace_file)).all[0]["resource"]
    assert res["service.name"] == "from-attributes"


def test_file_exporter_appends(run_chaos, tmp_path):
    trace_file = tmp_path / "traces.jsonl"
    exp = with_tracing(load_experiment("minimal"), file_config(trace_file))
    first = run_chaos(exp)
    assert first.returncode == 0, first.describe()
    content1 = trace_file.read_text()
    second = run_chaos(exp)
    assert second.returncode == 0, second.describe()
    content2 = trace_file.read_text()
    assert content2.startswith(content1) and len(content2) > len(content1), (
        "the second run must append to the file, not rewrite it"
    )
    spans = Spans(file_spans(trace_file))
    assert len(spans) == 8
    assert len(spans.trace_ids()) == 2, "each run is its own trace"
    assert len(spans.named("chaostracing minimal experiment")) == 2


def test_default_file_path_in_working_directory(run_chaos):
    cwd = run_chaos.new_dir()
    exp = with_tracing(
        load_experiment("minimal"),
        {"tracing_provider": "opentelemetry", "tracing_opentelemetry_exporter": "file"},
    )
    run = run_chaos(exp, cwd=cwd)
    assert run.returncode == 0, run.describe()
    default = cwd / "chaostracing-traces.jsonl"
    assert default.exists(), f"no {default.name} in the working directory\n" + run.describe()
    assert len(read_trace_file(default)) >= 1
    assert len(Spans(file_spans(default))) == 4


def test_continuous_hypothesis_runs_in_its_own_spans(run_chaos, tmp_path):
    trace_file = tmp_path / "traces.jsonl"
    run = run_chaos(
        with_tracing(load_experiment("continuous"), file_config(trace_file)),
        args=["--hypothesis-strategy", "continuously", "--hypothesis-frequency", "0.1"],
    )
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed"
    during = run.journal["steady_states"]["during"]
    assert len(during) >= 2, "the hypothesis should have run several times during the method"
    spans = Spans(file_spans(trace_file))
    assert len(spans.trace_ids()) == 1
    spans.assert_nested_times()
    root = spans.one("chaostracing continuous experiment")
    method = spans.one("method")
    hyps = spans.named("always steady")
    phases = sorted(h["attributes"]["chaostoolkit.hypothesis.phase"] for h in hyps)
    assert phases == ["after", "before"] + ["continuous"] * len(during), (
        f"hypothesis phases {phases}; the journal has {len(during)} continuous runs"
    )
    for h in hyps:
        assert h["parent"] == root["span_id"], "a hypothesis span must be a child of the experiment"
        kids = spans.children(h)
        assert names(kids) == ["probe-steady"], (
            f"{h['attributes']['chaostoolkit.hypothesis.phase']} hypothesis children: {names(kids)}"
        )
        assert h["attributes"]["chaostoolkit.hypothesis.met"] is True
    assert names(spans.children(method)) == ["action-sleep"], (
        "only the method's own activity may be a child of the method span "
        "(probes of the continuous hypothesis run concurrently in another thread)"
    )
    assert len(spans) == 1 + len(hyps) * 2 + 2 + 1  # + rollbacks span
    before = [h for h in hyps if h["attributes"]["chaostoolkit.hypothesis.phase"] == "before"][0]
    for h in hyps:
        if h["attributes"]["chaostoolkit.hypothesis.phase"] == "continuous":
            assert before["end"] <= h["start"], (
                "a continuous run started before the gate hypothesis ended"
            )
    for h in hyps:
        (probe,) = spans.children(h)
        assert probe["attributes"]["chaostoolkit.activity.tolerance_met"] is True


def test_failed_gate_hypothesis(run_chaos, tmp_path):
    """A probe raising in the gate hypothesis: status "failed", no method run."""
    exp = load_experiment("minimal")
    exp["title"] = "chaostracing failed experiment"
    exp["steady-state-hypothesis"] = {
        "title": "probe crashes",
        "probes": [
            {
                "type": "probe",
                "name": "probe-crashes",
                "tolerance": True,
                "provider": {
                    "type": "python",
                    "module": "ctkhelpers",
                    "func": "fail_with_exception",
                    "arguments": {"message": "probe-boom"},
                },
            }
        ],
    }
    base = run_chaos(exp)
    trace_file = tmp_path / "traces.jsonl"
    run = run_chaos(with_tracing(exp, file_config(trace_file)))
    assert base.journal["status"] == "failed" and base.returncode == 1, base.describe()
    assert run.returncode == base.returncode, run.describe()
    assert run.journal["status"] == "failed" and run.journal["deviated"] is False

    spans = Spans(file_spans(trace_file))
    assert sorted(names(spans.all)) == sorted(
        ["chaostracing failed experiment", "probe crashes", "probe-crashes"]
    ), "neither the method nor the rollbacks ran, so they must have no span"
    spans.assert_nested_times()
    root = spans.one("chaostracing failed experiment")
    hyp = spans.one("probe crashes")
    probe = spans.one("probe-crashes")
    assert hyp["parent"] == root["span_id"] and probe["parent"] == hyp["span_id"]
    assert root["attributes"]["chaostoolkit.experiment.status"] == "failed"
    assert root["attributes"]["chaostoolkit.experiment.deviated"] is False
    assert root["status_code"] == STATUS_ERROR
    assert hyp["attributes"]["chaostoolkit.hypothesis.phase"] == "before"
    assert hyp["attributes"]["chaostoolkit.hypothesis.met"] is False
    assert hyp["status_code"] == STATUS_ERROR
    devs = [e for e in hyp["events"] if e["name"] == "chaostoolkit.hypothesis.deviated"]
    assert len(devs) == 1 and devs[0]["attributes"]["chaostoolkit.probe.name"] == "probe-crashes"
    assert probe["status_code"] == STATUS_ERROR
    assert probe["status_message"].endswith("ValueError: probe-boom"), probe["status_message"]
    assert probe["attributes"]["chaostoolkit.activity.status"] == "failed"
    assert [e["name"] for e in probe["events"]] == ["exception"]
    assert probe["attributes"]["chaostoolkit.activity.tolerance_met"] is False
