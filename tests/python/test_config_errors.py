"""Bad or unsupported configuration: one clear warning, tracing off, experiment unaffected."""

import pytest

from conftest import (
    ChaosRunner,
    chaostracing_records,
    load_experiment,
    main_experiment,
    parse_log,
    propagation_leaks,
    strip_volatile,
    with_tracing,
)

DEFAULT_FILE = "chaostracing-traces.jsonl"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The minimal experiment run without the control."""
    return ChaosRunner(tmp_path_factory.mktemp("baseline"))(load_experiment("minimal"))


def otel(**kw):
    cfg = {"tracing_provider": "opentelemetry"}
    cfg.update({f"tracing_opentelemetry_{k}": v for k, v in kw.items()})
    return cfg


# (id, configuration, arguments, key named in the warning, text naming the value)
BAD = [
    ("unknown-provider", {"tracing_provider": "zipkinx"}, None, "tracing_provider", "zipkinx"),
    ("unknown-exporter", otel(exporter="foo"), None, "tracing_opentelemetry_exporter", "foo"),
    (
        "headers-not-mapping",
        otel(exporter="otlp-http", collector_headers=["My-Header", "My-value"]),
        None,
        "tracing_opentelemetry_collector_headers",
        # Described, not shown: header values carry credentials.
        "(a value of another type, not shown)",
    ),
    (
        "endpoint-not-string",
        otel(exporter="otlp-http", collector_endpoint=4318),
        None,
        "tracing_opentelemetry_collector_endpoint",
        "4318",
    ),
    ("unknown-provider-argument", None, {"provider": "zipkinx"}, "provider", "zipkinx"),
    (
        "unknown-exporter-argument",
        None,
        {"provider": "opentelemetry", "exporter": "foo"},
        "exporter",
        "foo",
    ),
    (
        "jaeger-port-not-a-number",
        {"tracing_provider": "jaeger", "tracing_port": "68x31"},
        None,
        "tracing_port",
        "68x31",
    ),
    (
        "jaeger-port-out-of-range",
        {"tracing_provider": "jaeger", "tracing_port": 70000},
        None,
        "tracing_port",
        "70000",
    ),
    (
        "insecure-not-boolean",
        otel(exporter="otlp-grpc", collector_endpoint_insecure="maybe"),
        None,
        "tracing_opentelemetry_collector_endpoint_insecure",
        "maybe",
    ),
    (
        "jaeger-host-not-string",
        {"tracing_provider": "jaeger", "tracing_host": ["127.0.0.1"]},
        None,
        "tracing_host",
        "127.0.0.1",
    ),
]

def assert_tracing_off(run, receiver, trace_file):
    assert not trace_file.exists(), f"a trace file was written: {trace_file.read_text()[:500]}"
    assert not (run.cwd / DEFAULT_FILE).exists(), "the default trace file was written"
    assert receiver.posts == [], f"{len(receiver.posts)} POST(s) reached the receiver"
    assert "resourceSpans" not in run.proc.stdout, "spans were printed on stdout"


def assert_same_outcome(run, baseline):
    assert run.returncode == baseline.returncode == 0, run.describe()
    assert run.journal["status"] == baseline.journal["status"] == "completed"
    assert strip_volatile(run.journal) == strip_volatile(baseline.journal)


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_configuration_warns_once_and_turns_tracing_off(
    case, run_chaos, otlp_receiver, baseline, tmp_path
):
    _, config, arguments, key, value_text = case
    trace_file = tmp_path / "traces.jsonl"
    config = dict(config or {})
    config.setdefault("tracing_opentelemetry_file_path", str(trace_file))
    # Where an endpoint is valid, point it at a live receiver so that a
    # control carrying on anyway would be caught sending.
    if "tracing_opentelemetry_collector_endpoint" not in config:
        config["tracing_opentelemetry_collector_endpoint"] = otlp_receiver.endpoint
    run = run_chaos(
        with_tracing(load_experiment("minimal"), config, arguments),
        env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": otlp_receiver.endpoint + "/v1/traces"},
    )
    assert_same_outcome(run, baseline)
    warnings = chaostracing_records(run.log, "WARNING")
    assert len(warnings) == 1, (
        "expected exactly one 'chaostracing:' WARNING, got:\n"
        + "\n".join(
            f"{r.level} {r.message}" for r in parse_log(run.log) if "chaostracing" in r.message
        )
        + "\n"
        + run.describe()
    )
    msg = warnings[0].message
    assert "\n" not in msg, f"the warning must be one line: {msg!r}"
    assert key in msg, f"the warning does not name the key {key!r}: {msg}"
    assert value_text in msg, f"the warning does not name the value {value_text!r}: {msg}"
    others = [
        r
        for r in parse_log(run.log)
        if "chaostracing" in r.message
        and r.level in ("WARNING", "ERROR", "CRITICAL")
        and r.message != msg
    ]
    assert not others, [r.message for r in others]
    assert_tracing_off(run, otlp_receiver, trace_file)


@pytest.mark.parametrize(
    "config, env, said",
    [
        ({}, {}, "tracing_provider is not set and nothing says where spans go"),
        (
            {"tracing_provider": "noop", "tracing_opentelemetry_exporter": "otlp-http"},
            "otlp",
            "tracing_provider is noop: no spans are recorded",
        ),
    ],
    ids=["provider-absent", "provider-noop"],
)
def test_noop_provider_produces_nothing_and_says_so_once(
    config, env, said, run_chaos, target, otlp_receiver, tmp_path
):
    config = dict(config)
    trace_file = tmp_path / "traces.jsonl"
    if env:  # even a configured environment does not turn an explicit noop on
        env = {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": otlp_receiver.endpoint + "/v1/traces",
            "OTEL_TRACES_EXPORTER": "otlp",
        }
    run = run_chaos(with_tracing(main_experiment(target.url), config), env=env or None)
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed"
    assert_tracing_off(run, otlp_receiver, trace_file)
    assert len(target.requests) == 3
    for req in target.requests:
        assert "traceparent" not in req["headers"], "noop must not inject headers"
    loud = [r for r in chaostracing_records(run.log) if r.level != "DEBUG"]
    assert [(r.level, r.message.startswith("chaostracing: " + said)) for r in loud] == [
        ("INFO", True)
    ], [(r.level, r.message) for r in loud]
    assert not propagation_leaks(run.journal), propagation_leaks(run.journal)


@pytest.mark.parametrize(
    "config, env, why",
    [
        ({"tracing_opentelemetry_file_path": "traces.jsonl"}, {}, "tracing_opentelemetry_file_path"),
        ({"tracing_opentelemetry_exporter": "file"}, {}, "tracing_opentelemetry_exporter"),
        ({}, {"OTEL_TRACES_EXPORTER": "console"}, "OTEL_TRACES_EXPORTER"),
        ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "ENDPOINT"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ],
    ids=["file-path", "exporter", "otel-exporter", "otel-endpoint"],
)
def test_without_a_provider_an_exporter_endpoint_or_file_means_opentelemetry(
    config, env, why, run_chaos, target, otlp_receiver, tmp_path
):
    env = {k: (otlp_receiver.endpoint if v == "ENDPOINT" else v) for k, v in env.items()}
    run = run_chaos(with_tracing(main_experiment(target.url), dict(config)), env=env or None)
    assert run.returncode == 0, run.describe()
    infos = [r.message for r in chaostracing_records(run.log, "INFO")]
    assert (
        f"chaostracing: tracing_provider is not set; tracing with opentelemetry as {why} is set"
        in infos
    ), infos
    # Spans were made and went where that setting says.
    assert all("traceparent" in req["headers"] for req in target.requests)
    if why == "OTEL_EXPORTER_OTLP_ENDPOINT":
        assert otlp_receiver.spans(), "nothing reached the receiver"
    elif why != "OTEL_TRACES_EXPORTER":
        assert (run.cwd / "traces.jsonl").exists() or (
            run.cwd / DEFAULT_FILE
        ).exists(), "no trace file was written"
