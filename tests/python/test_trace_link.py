"""The run links to its trace: one INFO line, and an entry in the journal."""

import pytest

from conftest import Spans, chaostracing_records, file_config, file_spans, load_experiment, with_tracing

TITLE = "chaostracing minimal experiment"


@pytest.mark.parametrize(
    "arguments, env, want_url",
    [
        (None, None, None),
        ({"trace_url": "https://jaeger.example/trace/{trace_id}?span={span_id}"}, None,
         "https://jaeger.example/trace/{trace_id}?span={span_id}"),
        (None, {"CHAOSTRACING_TRACE_URL": "http://jaeger:16686/trace/{trace_id}"},
         "http://jaeger:16686/trace/{trace_id}"),
    ],
    ids=["no-template", "argument", "environment"],
)
def test_the_journal_names_the_trace_the_spans_carry(run_chaos, tmp_path, arguments, env, want_url):
    trace_file = tmp_path / "traces.jsonl"
    exp = with_tracing(load_experiment("minimal"), file_config(trace_file), arguments)
    run = run_chaos(exp, env=env)
    assert run.returncode == 0, run.describe()
    spans = Spans(file_spans(trace_file))
    (trace_id,) = spans.trace_ids()
    root = spans.one(TITLE)

    exts = [e for e in run.journal["experiment"].get("extensions", []) if e["name"] == "chaostracing"]
    assert len(exts) == 1, run.journal["experiment"].get("extensions")
    ext = exts[0]
    assert ext["trace_id"] == trace_id
    assert ext["span_id"] == root["span_id"]
    infos = [r.message for r in chaostracing_records(run.log, "INFO")]
    if want_url is None:
        assert "trace_url" not in ext
        assert f"chaostracing: the run's trace is {trace_id}" in infos, infos
    else:
        url = want_url.replace("{trace_id}", trace_id).replace("{span_id}", root["span_id"])
        assert ext["trace_url"] == url
        assert f"chaostracing: the run's trace is {trace_id}: {url}" in infos, infos
