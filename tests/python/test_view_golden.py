"""Golden output of `chaostracing view` for real Chaos Toolkit runs.

The traces under fixtures/view/ were recorded from real `chaos run`s by
view_fixtures.py (see there why and how to make them again): a background
action beside a probe, an action that fails with an exception, a
hypothesis that deviates after the method, and a hypothesis run
continuously. Each case of view_fixtures.CASES must print exactly its
golden file. The same experiments are then run afresh, so the goldens
cannot drift from what the control writes today.
"""

import re
import subprocess

import pytest

from conftest import Spans, file_spans
from view_fixtures import CASES, FIXTURES, RUNS, masked, run_experiment, shape, view


@pytest.mark.parametrize("golden", sorted(CASES))
def test_golden_output(cli, golden):
    name, options = CASES[golden]
    proc = view(cli, FIXTURES / f"{name}.jsonl", options)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == (FIXTURES / golden).read_text()


def test_goldens_show_what_the_issue_asks_for():
    """The goldens are not just any output: they show the parallel
    background action, the failure and its exception, the deviated probe
    with its value and tolerance, and numbered continuous iterations."""
    text = (FIXTURES / "waterfall.txt").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"─ (\S+) +[0-9.]+ ms  ([█▏ ]+)", text)}
    bg, probe = rows["action-background-sleep"], rows["probe-during-fault"]
    overlap = [i for i, (a, b) in enumerate(zip(bg, probe)) if a == b == "█"]
    assert len(overlap) >= 5, "the background action and the probe beside it must overlap"
    assert "[action background succeeded]" in text
    assert "exception chaoslib.exceptions.ActivityFailed: ValueError: ctk-boom" in text
    assert "deviated: probe-marker-absent returned false (tolerance: true)" in text
    assert "[hypothesis before met]" in text and "[hypothesis after deviated]" in text
    cont = (FIXTURES / "continuous.txt").read_text()
    numbers = [int(n) for n in re.findall(r"continuous iteration (\d+) met", cont)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
    verbose = (FIXTURES / "waterfall-verbose.txt").read_text()
    assert "chaostoolkit.activity.background = true" in verbose
    assert "event chaostoolkit.hypothesis.deviated  +" in verbose
    assert "exception.stacktrace =\n" in verbose


@pytest.mark.parametrize("name", sorted(RUNS))
def test_recorded_traces_match_a_fresh_run(cli, run_chaos, tmp_path, name):
    """Run the experiment again: the fresh trace has the recorded one's
    shape, and its view matches the golden once timing is masked."""
    trace = tmp_path / f"{name}.jsonl"
    run = run_experiment(run_chaos, name, trace)
    assert run.journal["status"] == "completed", run.describe()
    fresh, recorded = file_spans(trace), file_spans(FIXTURES / f"{name}.jsonl")
    stale = "fixtures/view is stale: run `.venv/bin/python tests/python/view_fixtures.py`"
    assert shape(fresh) == shape(recorded), stale
    proc = view(cli, trace, ["--width", "100"])
    assert proc.returncode == 0, proc.stderr
    golden = (FIXTURES / f"{name}.txt").read_text()
    if name == "continuous":
        # How many iterations run depends on timing; they are numbered from
        # 1 in start order whatever their number.
        spans = Spans(fresh)
        cont = sorted(
            (s for s in spans.all if s["attributes"].get("chaostoolkit.hypothesis.phase") == "continuous"),
            key=lambda s: s["start"],
        )
        numbers = [int(n) for n in re.findall(r"continuous iteration (\d+) met", proc.stdout)]
        assert numbers == list(range(1, len(cont) + 1)), proc.stdout
        keep = lambda text: [ln for ln in masked(text) if "continuous" not in ln and "probe-steady" not in ln]
        assert keep(proc.stdout) == keep(golden), stale
    else:
        assert masked(proc.stdout) == masked(golden), stale


def test_a_journal_is_not_a_trace_file(cli, run_chaos, tmp_path):
    """The journal a run writes, given by mistake: one clear message, which
    lines were skipped, exit 1, nothing on stdout."""
    run = run_experiment(run_chaos, "waterfall", tmp_path / "traces.jsonl")
    journal = run.cwd / "journal.json"
    lines = len(journal.read_text().splitlines())
    assert lines > 50
    for cmd in (["view"], ["report", "-o", str(tmp_path / "r.html")]):
        proc = subprocess.run([cli, *cmd, str(journal)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.splitlines() == [
            f"chaostracing: {journal} is not an OTLP JSON trace file (it looks like a Chaos "
            f"Toolkit journal): all of its {lines} lines were skipped. Give the file the "
            "control's file exporter writes (tracing_opentelemetry_file_path, one "
            "ExportTraceServiceRequest per line)."
        ]
    assert not (tmp_path / "r.html").exists()


def test_trace_option_picks_one_of_several_runs(cli, tmp_path):
    both = tmp_path / "both.jsonl"
    both.write_text((FIXTURES / "continuous.jsonl").read_text() + (FIXTURES / "waterfall.jsonl").read_text())
    trace_id = (FIXTURES / "waterfall.txt").read_text().split()[1]
    proc = view(cli, both, ["--width", "100", "--trace", trace_id[:8].upper()])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (FIXTURES / "waterfall.txt").read_text()
