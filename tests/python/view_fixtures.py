"""Trace files from real `chaos run`s for the `view` golden tests, and the
script that makes them again.

The golden tests (test_view_golden.py) compare `chaostracing view` output
with files committed under fixtures/view/. A waterfall depends on timing, so
the traces are recorded once, from real runs of experiments/waterfall.json
(a background action beside a probe, an action that fails, a hypothesis that
deviates after the method) and experiments/continuous.json (the hypothesis
run continuously during the method), and committed with the expected
output of each case in CASES. What keeps the goldens honest:

- the traces are what the control really writes: this script runs them with
  the installed control, nothing is edited by hand;
- test_view_golden.py runs the same experiments again and fails when the
  fresh trace no longer has the recorded one's shape (span names, nesting,
  Chaos Toolkit attributes, statuses and events, with timing left out), or
  when `view` of the fresh trace, durations and bars masked, differs from the
  golden masked the same way. Then the fixtures are stale: run

      .venv/bin/python tests/python/view_fixtures.py

  (it needs `make install cli`), look at the diff of fixtures/view/*.txt,
  and commit what is right.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "view"

# name -> (experiment under experiments/, extra `chaos run` arguments)
RUNS = {
    "waterfall": ("waterfall", []),
    "continuous": (
        "continuous",
        ["--hypothesis-strategy", "continuously", "--hypothesis-frequency", "0.1"],
    ),
}

# golden file -> (trace, view options); plain output (NO_COLOR, piped).
CASES = {
    "waterfall.txt": ("waterfall", ["--width", "100"]),
    "waterfall-verbose.txt": ("waterfall", ["--width", "100", "-v"]),
    "waterfall-ascii.txt": ("waterfall", ["--width", "72", "--ascii", "--no-attrs"]),
    "continuous.txt": ("continuous", ["--width", "100"]),
}


def run_experiment(runner, name: str, trace_file: Path):
    """Run RUNS[name] with the file exporter writing `trace_file`; returns the
    ChaosRun (conftest.ChaosRunner)."""
    from conftest import file_config, load_experiment, with_tracing

    experiment, args = RUNS[name]
    return runner(with_tracing(load_experiment(experiment), file_config(trace_file)), args=args)


def view(cli: str, trace_file: Path, options: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli, "view", *options, str(trace_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "LANG": "C.UTF-8"},
    )


# ------------------------------------------------------------ comparisons --

_ROW = re.compile(
    r"^(?P<tree>.*?) +(?P<dur>[0-9.?]+) ms(?:  [\u2588\u258f#| ]*)?(?P<notes>(?:  [^\u2588\u258f#| ].*)?)$"
)


def masked(text: str) -> List[str]:
    """The lines of `view` output without what timing decides: the trace
    header's id and start, the time axis, durations and bars. Sorted, since
    spans starting together (a background action and the probe beside it)
    may swap places between runs."""
    out = []
    for line in text.splitlines():
        if line.startswith("trace "):
            out.append(re.sub(r"trace [0-9a-f]{32}|start=\S+", "", line))
        elif re.fullmatch(r" *0 .*ms", line):
            continue  # the time axis
        else:
            m = _ROW.match(line)
            out.append(f"{m.group('tree').rstrip()} D ms{m.group('notes')}" if m else line)
    return sorted(out)


def shape(spans: List[Dict[str, Any]]) -> List[Tuple]:
    """What a trace holds once timing is left out: per span its path of
    names, Chaos Toolkit attributes, status and event names (continuous
    hypotheses collapsed into one entry, as their number depends on timing).
    Sorted."""
    by_id = {s["span_id"]: s for s in spans}

    def path(s):
        names = []
        while s is not None:
            names.append(s["name"])
            s = by_id.get(s["parent"])
        return tuple(reversed(names))

    keys = ("chaostoolkit.type", "chaostoolkit.activity.type", "chaostoolkit.activity.status",
            "chaostoolkit.activity.background", "chaostoolkit.hypothesis.phase",
            "chaostoolkit.hypothesis.met", "chaostoolkit.experiment.status",
            "chaostoolkit.experiment.deviated")
    out = set()
    for s in spans:
        anc, phase = s, None
        while anc is not None and phase is None:
            phase = anc["attributes"].get("chaostoolkit.hypothesis.phase")
            anc = by_id.get(anc["parent"])
        entry = (
            path(s),
            phase,
            tuple(sorted((k, str(s["attributes"].get(k))) for k in keys)),
            s["status_code"],
            tuple(sorted(e["name"] for e in s["events"])),
        )
        out.add(entry)
    return sorted(out, key=repr)


# ------------------------------------------------------------- regenerate --


def main() -> int:
    sys.path.insert(0, str(HERE))
    from cli_support import build_cli
    from conftest import ChaosRunner

    cli = str(build_cli())
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        runner = ChaosRunner(Path(tmp))
        for name in RUNS:
            trace = Path(tmp) / f"{name}.jsonl"
            run = run_experiment(runner, name, trace)
            print(f"{name}: chaos run exit {run.returncode}, status {run.journal['status']}")
            shutil.copyfile(trace, FIXTURES / f"{name}.jsonl")
    for golden, (name, options) in CASES.items():
        proc = view(cli, FIXTURES / f"{name}.jsonl", options)
        assert proc.returncode == 0, proc.stderr
        (FIXTURES / golden).write_text(proc.stdout)
        print(f"wrote {FIXTURES / golden}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
