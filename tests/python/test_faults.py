"""The fault matrix (issue 11, item 7): a real `chaos run` per case against
loopback receivers that misbehave, signals in every phase and during
cleanup, a full queue, the spool (write, replay, corruption, concurrent
runs, kill -9, bound, off), secrets, misconfiguration.

Every case prints one FIGURES line (spans made / delivered / spooled /
dropped, and the exit time the control added), so `pytest -rA` output is a
table a reader can check against the assertions.

Conventions:
- every run gets its own spool directory (clean_env() turns the spool off);
- "delivered" is what a receiver answered 200 to, decoded with the official
  opentelemetry-proto classes, counted by span id;
- the exit time the control added is measured two ways: the time its
  cleanup_control took (experiments/cleanupclock.py, declared before and
  after it), and, for runs no test gate holds, the run's wall time minus the
  wall time of the same experiment run without the control just before.
"""

import base64
import copy
import json
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from cli_support import run_cli
from conftest import (
    CONTROL_MODULE,
    STATUS_ERROR,
    OtlpReceiver,
    Spans,
    chaostracing_records,
    flatten,
    load_experiment,
    parse_otlp_json_line,
    refused_port,
    summary,
)

FAULTS_TITLE = "chaostracing faults experiment"
# experiments/faults.json: the spans a complete run makes.
FAULTS_NAMES = sorted(
    [FAULTS_TITLE, "method", "rollbacks", "rollback-gate"]
    + ["service is healthy", "probe-http-health", "probe-gate"] * 2
    + ["action-http-post", "action-long", "action-background"]
)
FLUSH_S = 1.0  # tracing_flush_timeout's default
# What a bounded exit may take beyond the flush deadline. The deadline itself
# covers the spool write (the batch processor keeps its last tenth for it:
# cleanup measured 0.94 s with a silent collector); on top come logging the
# summary and the scheduler of a 2-core machine shared with the test
# process, its receiver threads and whatever else runs.
EXIT_TOLERANCE_S = 0.15
# After a signal during cleanup the figure also holds the interpreter's exit.
SIGNAL_EXIT_TOLERANCE_S = 0.3
# The wall-time comparison adds the noise of two whole `chaos run`s
# (interpreter start, imports): a looser bound, there to catch an exit that
# hangs after cleanup_control returned.
WALL_TOLERANCE_S = 0.6
SIGNALS = {
    "SIGINT": signal.SIGINT,
    "SIGTERM": signal.SIGTERM,
    "SIGUSR1": signal.SIGUSR1,
    "SIGUSR2": signal.SIGUSR2,
}
REPLAY_LINE = re.compile(
    r"^sent=(\d+) files=(\d+) failed=(\d+) corrupt=(\d+) left=(\d+) busy=(\d+) "
    r"dir=(\S+) destination=(\S+)$"
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def figures(case: str, **kw: Any) -> None:
    """One line of the table `pytest -rA` shows."""
    cells = " ".join(
        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in kw.items()
    )
    print(f"FIGURES {case:<34} {cells}")


class Gates:
    """The test's side of the gates of experiments/faults.json (a shell
    process) and of ctkhelpers.gate (a Python activity): the gate writes
    <dir>/<name>.reached and waits for <dir>/<name>.go."""

    def __init__(self, path: Path):
        self.dir = path
        path.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> Dict[str, str]:
        return {"CHAOSTRACING_TEST_GATES": str(self.dir)}

    def open(self, *names: str) -> None:
        for n in names:
            (self.dir / f"{n}.go").write_text("go")

    def open_all(self) -> None:
        self.open("hypothesis", "method", "background", "rollback", "next-run")

    def reached(self, name: str) -> bool:
        return (self.dir / f"{name}.reached").exists()

    def wait(self, name: str, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not self.reached(name):
            assert time.monotonic() < end, f"gate {name!r} not reached within {timeout} s"
            time.sleep(0.01)


def wait_until(pred, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"{what}: not within {timeout} s"
        time.sleep(0.01)


def otlp_config(endpoint: str, **extra: Any) -> Dict[str, Any]:
    cfg = {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "otlp-http",
        "tracing_opentelemetry_collector_endpoint": endpoint,
    }
    cfg.update(extra)
    return cfg


def clocked(experiment: Dict[str, Any], configuration=None, arguments=None, traced=True):
    """A copy of the experiment with the tracing control (when `traced`)
    between two cleanupclock controls, and `configuration` merged in."""
    exp = copy.deepcopy(experiment)
    exp.setdefault("configuration", {}).update(configuration or {})
    clock = {"type": "python", "module": "cleanupclock"}
    tracing: Dict[str, Any] = {"type": "python", "module": CONTROL_MODULE}
    if arguments is not None:
        tracing["arguments"] = arguments
    exp["controls"] = (
        [{"name": "clock-before", "provider": clock}]
        + ([{"name": "tracing", "provider": tracing}] if traced else [])
        + [{"name": "clock-after", "provider": clock}]
    )
    return exp


def cleanup_seconds(clock_file: Path) -> float:
    """The time between the two cleanupclock calls: the tracing control's
    cleanup_control."""
    lines = clock_file.read_text().split()
    assert len(lines) == 2, f"expected two cleanup clock readings, got {lines}"
    return float(lines[1]) - float(lines[0])


def faults_experiment(target_url: str) -> Dict[str, Any]:
    exp = load_experiment("faults")
    exp["configuration"]["target_url"] = target_url
    return exp


def spool_files(d: Path) -> List[Path]:
    """The spool's files that a replay would send (claimed ones included)."""
    if not d.exists():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and ".jsonl" in p.name and not p.name.endswith(".tmp"))


def spool_spans(d: Path) -> List[Dict[str, Any]]:
    """Every span of every spool file, decoded (a file that does not decode
    fails the test: a torn or corrupt file)."""
    spans = []
    for f in spool_files(d):
        text = f.read_text()
        assert text.endswith("\n"), f"{f.name}: not a whole file"
        reqs = [parse_otlp_json_line(ln) for ln in text.splitlines() if ln.strip()]
        got = flatten(reqs)
        n = int(f.name.split(".jsonl")[0].rsplit("-", 1)[1])
        assert len(got) == n, f"{f.name} names {n} spans and holds {len(got)}"
        spans += got
    return spans


def replay_cli(cli: str, spool: Path, endpoint: Optional[str], *extra: str, timeout_ms=5000):
    """`chaostracing replay SPOOL -e otlp-http -u ENDPOINT`; (exit, fields)."""
    args = ["replay", "-t", str(timeout_ms)]
    if endpoint:
        args += ["-e", "otlp-http", "-u", endpoint]
    p = run_cli(cli, *args, *extra, str(spool), timeout=60)
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and REPLAY_LINE.match(lines[0]), (
        f"exit={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    )
    m = REPLAY_LINE.match(lines[0])
    keys = ["sent", "files", "failed", "corrupt", "left", "busy"]
    fields: Dict[str, Any] = {k: int(m.group(i + 1)) for i, k in enumerate(keys)}
    fields["dir"], fields["destination"], fields["stderr"] = m.group(7), m.group(8), p.stderr
    return p.returncode, fields


def ids(spans) -> List[str]:
    return [s["span_id"] for s in spans]


def assert_one_tree(spans: List[Dict[str, Any]], trace_id: Optional[str] = None) -> None:
    """One trace, one root, every parent present (no orphans)."""
    by_id = {s["span_id"]: s for s in spans}
    assert len(by_id) == len(spans), "a span id appears twice"
    tids = {s["trace_id"] for s in spans}
    assert len(tids) == 1, f"spans of {len(tids)} traces: {tids}"
    if trace_id:
        assert tids == {trace_id}, f"trace {tids} is not the run's trace {trace_id}"
    roots = [s for s in spans if not s["parent"]]
    assert len(roots) == 1, f"roots: {[s['name'] for s in roots]}"
    orphans = [s["name"] for s in spans if s["parent"] and s["parent"] not in by_id]
    assert not orphans, f"spans whose parent was never exported: {orphans}"


def propagated(target) -> Dict[str, Any]:
    """The trace id and the span ids the run's HTTP activities sent to the
    target in traceparent: the ids the run's spans had, seen by a third party."""
    tps = [r["headers"]["traceparent"].split("-") for r in target.requests]
    assert tps, "the target saw no request"
    tids = {t[1] for t in tps}
    assert len(tids) == 1, tids
    return {"trace_id": tids.pop(), "span_ids": {t[2] for t in tps}}


def the_root(spans) -> Dict[str, Any]:
    roots = [s for s in spans if not s["parent"]]
    assert len(roots) == 1, [s["name"] for s in roots]
    return roots[0]


@pytest.fixture
def receivers():
    """Make started OtlpReceivers (on `port` if given); all stopped at the end."""
    made: List[OtlpReceiver] = []

    def make(port: int = 0) -> OtlpReceiver:
        rx = OtlpReceiver(port=port)
        made.append(rx)
        return rx.start()

    yield make
    for rx in made:
        if rx.thread.is_alive():
            rx.stop()


# --------------------------------------------------------------------------
# 1. Collector faults: nothing lost, bounded exit, replay
# --------------------------------------------------------------------------
class Collector:
    """One fault mode of the collector during a run of experiments/faults.json:
    setup(receivers) makes the receiver (or none) and returns the endpoint;
    drive(gates) holds the run at its gates while the collector changes
    (gated modes), or lets it through at once. `env`: the run's extra
    variables (a short schedule delay where the fault must meet an export
    during the run, not only the one at cleanup)."""

    def __init__(self, name: str, gated: bool = False, env: Optional[Dict[str, str]] = None):
        self.name = name
        self.gated = gated
        self.env = env or {}
        self.rx: Optional[OtlpReceiver] = None
        self.port = 0

    def setup(self, receivers) -> str:
        if self.name == "refused":
            self.port = refused_port()
            return f"http://127.0.0.1:{self.port}"
        if self.name == "late":
            # Bound (so listening) only when drive() makes it.
            self.port = refused_port()
            self.receivers = receivers
            return f"http://127.0.0.1:{self.port}"
        self.rx = receivers()
        self.port = self.rx.port
        self.rx.script = {
            "silent": [],
            "silent-mid-export": [],
            "503-then-200": [503],
            "429-retry-after-1": [(429, {"Retry-After": "1"})],
            "429-retry-after-30": [],
            "hang-mid-body": [],
            "restarted": [],
        }[self.name]
        self.rx.default = {
            "silent": "silent",
            "silent-mid-export": "silent",
            "429-retry-after-30": (429, {"Retry-After": "30"}),
            "hang-mid-body": "hang-body",
        }.get(self.name, 200)
        return self.rx.endpoint

    def drive(self, gates: Gates) -> None:
        """Hold the run at its gates while the collector changes."""
        if self.name == "restarted":
            # The spans ended before the method's gate reach a live collector...
            gates.open("hypothesis")
            gates.wait("method")
            wait_until(lambda: len(self.rx.acked_spans()) >= 4, 10, "the first export")
            # ...which goes away (its connections closed) while the next ones
            # are exported, and is back on the same port 0.5 s later, once
            # action-long has ended. The run waits for the export that failed
            # to be retried (the exporter's backoff, or the batch processor's
            # pause), then goes on.
            self.rx.stop()
            self.down_ns = time.time_ns()
            gates.open("method")
            gates.wait("background")
            time.sleep(0.5)
            self.rx.restart()
            self.up_ns = time.time_ns()
            wait_until(lambda: len(self.rx.acked_spans()) >= 5, 10, "the retried export")
            gates.open_all()
        elif self.name == "late":
            # Nobody listens until 0.5 s after the method's gate: the export of
            # the spans ended before it fails and is retried until it lands.
            gates.open("hypothesis")
            gates.wait("method")
            time.sleep(0.5)
            self.up_ns = time.time_ns()
            self.rx = self.receivers(port=self.port)
            wait_until(lambda: len(self.rx.acked_spans()) >= 4, 10, "the retried export")
            gates.open_all()
        elif self.name == "silent-mid-export":
            # The first export lands and is never answered: the worker is
            # still inside it (10 s export timeout) when cleanup begins, with
            # the rest of the spans queued behind it.
            gates.open("hypothesis")
            gates.wait("method")
            assert self.rx.wait_posts(1, 10), "no export during the run"
            gates.open_all()
        elif self.name == "429-retry-after-1":
            # Held until the retry the collector asked for has come.
            gates.open("hypothesis")
            gates.wait("method")
            assert self.rx.wait_posts(2, 10), "no retry after the 429"
            gates.open_all()
        else:
            gates.open_all()


COLLECTOR_MODES = [
    Collector("refused"),
    Collector("silent"),
    Collector("silent-mid-export", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("503-then-200", env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("429-retry-after-1", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("429-retry-after-30"),
    Collector("late", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("restarted", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("hang-mid-body"),
]


def next_run_experiment() -> dict:
    """The run after a failed one: held at the "next-run" gate while its
    worker replays the spool."""
    exp = load_experiment("minimal")
    exp["title"] = "chaostracing next run"
    exp["method"].append(
        {
            "type": "action",
            "name": "wait-for-replay",
            "provider": {
                "type": "python",
                "module": "ctkhelpers",
                "func": "gate",
                "arguments": {"name": "next-run", "timeout": 20},
            },
        }
    )
    return exp


def next_run_replays(run_chaos, receivers, spool: Path, tmp: Path, old_trace: str, expected=None):
    """The next traced run, with the collector back: its worker sends the
    spool while idle. Held at a gate until the receiver has every span of
    `old_trace` the spool held (`expected`, by default all the spool holds;
    bounded), so the run's length does not decide. Returns (receiver, spans
    of old_trace it got, the run)."""
    if expected is None:
        expected = len(spool_spans(spool))
    back = receivers()
    gates = Gates(tmp / "next-run-gates")
    exp = next_run_experiment()
    exp = clocked(exp, otlp_config(back.endpoint), traced=True)
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool), "OTEL_BSP_SCHEDULE_DELAY": "100", **gates.env}
    env["CHAOSTRACING_TEST_CLEANUP_CLOCK"] = str(tmp / "next-run-clock")
    proc = run_chaos.start(exp, env=env)
    gates.wait("next-run")

    def old():
        return [s for s in back.acked_spans() if s["trace_id"] == old_trace]

    try:
        wait_until(lambda: len(old()) >= expected, 15, "the next run's replay of the spool")
    finally:
        gates.open("next-run")
    run = proc.wait()
    assert run.returncode == 0, run.describe()
    return back, old(), run


@pytest.mark.parametrize("mode", COLLECTOR_MODES, ids=lambda m: m.name)
def test_collector_fault(mode, run_chaos, target, receivers, tmp_path, cli):
    mode = copy.copy(mode)  # its state is this test's
    spool = tmp_path / "spool"
    clock = tmp_path / "clock"
    gates = Gates(tmp_path / "gates")
    endpoint = mode.setup(receivers)
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool), **mode.env}
    exp = faults_experiment(target.url)

    base = None
    if not mode.gated:
        # The same experiment without the control, for the wall-time figure.
        base = run_chaos(clocked(exp, traced=False), env=env)
        target.requests.clear()
    env["CHAOSTRACING_TEST_CLEANUP_CLOCK"] = str(clock)
    proc = run_chaos.start(clocked(exp, otlp_config(endpoint)), env={**env, **gates.env})
    try:
        mode.drive(gates)
    finally:
        gates.open_all()
    run = proc.wait()
    rx = mode.rx
    if rx is not None and mode.name in ("silent", "silent-mid-export", "hang-mid-body"):
        rx.release.set()  # let the held handlers go

    assert run.returncode == 0 and run.journal["status"] == "completed", run.describe()
    s = summary(run.log)
    acked = rx.acked_spans() if rx else []
    acked_ids = set(ids(acked))
    spooled = spool_spans(spool)
    spooled_ids = set(ids(spooled))
    cleanup = cleanup_seconds(clock)
    added = run.wall - base.wall if base else None

    # The figures, then the accounting: made = delivered + spooled + dropped.
    figures(
        f"collector {mode.name}",
        made=s["made"],
        delivered=s["exported"],
        spooled=s["spooled"],
        dropped=s["dropped"],
        flying=s["flying"],
        failed_exports=s["failed"],
        cleanup_s=cleanup,
        wall_added_s=added if added is not None else "n/a(gated)",
    )
    assert s["made"] == len(FAULTS_NAMES), s
    assert s["dropped"] == 0 and s["flying"] == 0, f"spans lost with a spool: {s}"
    assert s["exported"] == len(acked_ids), (s, len(acked_ids))
    assert s["spooled"] == len(spooled) == len(spooled_ids), (s, len(spooled))
    assert not acked_ids & spooled_ids, "a delivered span was spooled too"
    assert len(acked_ids | spooled_ids) == s["made"]
    if s["spooled"]:
        assert s["spool"] == str(spool), s
    # Which spans each mode delivers at once.
    if mode.name in ("refused", "silent", "silent-mid-export", "429-retry-after-30", "hang-mid-body"):
        assert s["exported"] == 0 and s["spooled"] == s["made"], s
    else:
        assert s["exported"] == s["made"] and s["spooled"] == 0, s
    if mode.name == "silent-mid-export":
        # Only the export that was running landed; it and the queue were spooled.
        assert len(rx.posts) == 1 and rx.posts[0]["answered"] is None
        assert 4 <= len(flatten([rx.posts[0]["request"]])) < s["made"]
    if mode.name == "late":
        # The fault was met: spans ended while nobody listened, delivered later.
        early = [x for x in acked if x["end"] < mode.up_ns]
        assert len(early) >= 4, "no span was exported before the collector came up"
    if mode.name == "restarted":
        # action-long ended while the collector was down, and was delivered.
        (long_,) = [x for x in acked if x["name"] == "action-long"]
        assert mode.down_ns < long_["end"] < mode.up_ns, "action-long did not end while down"
    if mode.name == "503-then-200":
        first, second = rx.posts[0], rx.posts[1]
        assert (first["answered"], second["answered"]) == (503, 200)
        assert first["raw"] == second["raw"], "the retry did not resend the same spans"
    if mode.name == "429-retry-after-1":
        first, second = rx.posts[0], rx.posts[1]
        assert first["answered"] == 429 and second["answered"] == 200
        gap = second["time"] - first["time"]
        assert gap >= 0.95, f"retried {gap:.2f} s after a 429 asking for 1 s"
    # A bounded exit: the flush deadline, whatever the collector does.
    assert cleanup <= FLUSH_S + EXIT_TOLERANCE_S, f"cleanup_control took {cleanup:.2f} s"
    if added is not None:
        assert added <= FLUSH_S + WALL_TOLERANCE_S, (
            f"the run took {run.wall:.2f} s, {added:.2f} s more than without the control"
        )

    # The ids the run's spans had, as a third party saw them.
    prop = propagated(target)
    everything = acked + spooled
    assert sorted(s_["name"] for s_ in everything) == FAULTS_NAMES
    assert_one_tree(everything, prop["trace_id"])
    assert prop["span_ids"] <= acked_ids | spooled_ids, "an HTTP activity's span id changed"
    assert the_root(everything)["resource"]["process.pid"] == run.pid
    # A span can reach a collector twice only if a request carrying it
    # landed and was never answered (so it was spooled, and is replayed).
    unanswered = set()
    if rx is not None:
        unanswered = set(ids(flatten([p["request"] for p in rx.posts if p["answered"] is None])))
        assert unanswered <= spooled_ids

    if not spooled:
        assert not spool_files(spool)
        return
    # The collector is back: `chaostracing replay` sends a copy of the spool...
    copy_dir = tmp_path / "spool-copy"
    shutil.copytree(spool, copy_dir)
    back_cli = receivers()
    rc, rep = replay_cli(cli, copy_dir, back_cli.endpoint)
    assert rc == 0, rep
    assert (rep["sent"], rep["failed"], rep["corrupt"], rep["left"]) == (len(spooled), 0, 0, 0), rep
    assert not spool_files(copy_dir), "replay left files behind"
    # ...and the next run sends the spool itself.
    back_run, from_run, next_run = next_run_replays(
        run_chaos, receivers, spool, tmp_path, prop["trace_id"]
    )
    assert not spool_files(spool), "the next run left spool files behind"
    for name, got in (("chaostracing replay", back_cli.acked_spans()), ("the next run", from_run)):
        # Exactly the spans that were missing, once each, ids unchanged.
        assert sorted(ids(got)) == sorted(spooled_ids), f"{name} sent other spans"
        assert_one_tree(acked + got, prop["trace_id"])
        assert {(x["span_id"], x["parent"], x["name"], x["start"], x["end"]) for x in got} == {
            (x["span_id"], x["parent"], x["name"], x["start"], x["end"]) for x in spooled
        }
    ns = summary(next_run.log)
    assert ns["exported"] == ns["made"], ns
    infos = [r.message for r in chaostracing_records(next_run.log, "INFO")]
    assert any(f"{len(spooled)} spans of an earlier run sent from the spool" in m for m in infos), infos
    figures(
        f"  replay after {mode.name}",
        cli_sent=rep["sent"],
        next_run_sent=len(from_run),
        landed_twice=len(unanswered),
    )


# --------------------------------------------------------------------------
# 2. Signals in every phase
# --------------------------------------------------------------------------
# gate -> the activity holding it, the gates opened before it, and the spans
# the run makes when interrupted there (no rollbacks after an interrupted
# method: chaoslib's default rollback strategy).
PHASES = {
    "hypothesis": ("probe-gate", [], 4),
    "method": ("action-long", ["hypothesis"], 7),
    "background": ("action-background", ["hypothesis", "method"], 8),
    "rollback": ("rollback-gate", ["hypothesis", "method", "background"], 13),
}


def start_held(run_chaos, exp, env, gates: Gates, phase: str, clock: Path):
    proc = run_chaos.start(exp, env={**env, **gates.env, "CHAOSTRACING_TEST_CLEANUP_CLOCK": str(clock)})
    gates.open(*PHASES[phase][1])
    return proc


def signal_at_gate(runs, phase: str, sig: int) -> None:
    """runs: (process, gates, cleanup clock file). Wait until every run holds
    the phase's gate and signal each; once each has reached cleanup, open
    every gate: a background activity the signal did not stop runs on until
    then (and the process waits for it at exit)."""
    for _, gates, _ in runs:
        gates.wait(phase)
    for proc, _, _ in runs:
        proc.signal(sig)
    try:
        for _, _, clock in runs:
            wait_until(clock.exists, 20, "cleanup after the signal")
    finally:
        for _, gates, _ in runs:
            gates.open_all()


@pytest.mark.parametrize("sig_name", list(SIGNALS))
@pytest.mark.parametrize("phase", list(PHASES))
def test_signal_in_phase(phase, sig_name, run_chaos, target, receivers, tmp_path):
    sig = SIGNALS[sig_name]
    rx = receivers()
    spool = tmp_path / "spool"
    exp = faults_experiment(target.url)
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool)}
    gb, gt = Gates(tmp_path / "gates-base"), Gates(tmp_path / "gates-traced")
    cb, ct = tmp_path / "clock-base", tmp_path / "clock-traced"
    # The same run without the control, side by side: how chaos ends on its own.
    base = start_held(run_chaos, clocked(exp, traced=False), env, gb, phase, cb)
    traced = start_held(run_chaos, clocked(exp, otlp_config(rx.endpoint)), env, gt, phase, ct)
    signal_at_gate([(base, gb, cb), (traced, gt, ct)], phase, sig)
    b, t = base.wait(journal=False), traced.wait(journal=False)

    assert t.returncode == b.returncode, f"exit {t.returncode}, without the control {b.returncode}\n" + t.describe()
    assert bool(t.journal) == bool(b.journal)
    assert t.journal.get("status") == b.journal.get("status"), (t.journal.get("status"), b.journal.get("status"))
    s = summary(t.log)
    spans = rx.acked_spans()
    figures(
        f"signal {sig_name} in {phase}",
        exit=t.returncode,
        exit_without=b.returncode,
        status=t.journal.get("status"),
        made=s["made"],
        delivered=s["exported"],
        spooled=s["spooled"],
        dropped=s["dropped"],
    )
    assert s["made"] == s["exported"] == len(spans) == PHASES[phase][2], s
    assert s["dropped"] == 0, s
    assert_one_tree(spans)
    if phase != "background":  # that one runs on after its method span ended
        Spans(spans).assert_nested_times()
    root = the_root(spans)
    assert root["name"] == FAULTS_TITLE
    a = root["attributes"]
    interrupted = t.journal.get("status") == "interrupted"
    assert a["chaostoolkit.experiment.interrupted"] is interrupted, (a, t.journal.get("status"))
    if interrupted:
        assert a["chaostoolkit.experiment.exit_signal"] == sig_name, a
        assert root["status_code"] == STATUS_ERROR
        assert root["status_message"] == f"experiment interrupted by {sig_name}"
    # The activity the signal cut short (in the background: still running
    # when the interrupted experiment ended) says so.
    (cut,) = [x for x in spans if x["name"] == PHASES[phase][0]]
    assert (cut["status_code"], cut["status_message"]) == (STATUS_ERROR, "interrupted"), cut
    assert cut["attributes"]["chaostoolkit.activity.status"] == "interrupted"


# --------------------------------------------------------------------------
# 2b. Signals during cleanup_control
# --------------------------------------------------------------------------
def slow_log_action(marker: Path, match: str) -> Dict[str, Any]:
    return {
        "type": "action",
        "name": "install-slow-log-handler",
        "provider": {
            "type": "python",
            "module": "ctkhelpers",
            "func": "install_slow_log_handler",
            "arguments": {"match": match, "marker": str(marker), "seconds": 3},
        },
    }


@pytest.mark.parametrize("sig_name", list(SIGNALS))
@pytest.mark.parametrize("where", ["waiting", "logging"])
def test_signal_during_cleanup(where, sig_name, run_chaos, receivers, tmp_path):
    """A signal that lands while cleanup_control waits for a silent collector
    (the Python handler runs as soon as the wait ends, inside the control's
    logging) or while a logging handler is busy with one of its records ends
    the process as it does when it lands in another control's cleanup."""
    sig = SIGNALS[sig_name]
    spool = tmp_path / "spool"
    exp = load_experiment("minimal")
    # How chaos ends on this signal in cleanup: another control's slow cleanup.
    slow = tmp_path / "slow-cleanup"
    base = run_chaos.start(
        clocked(exp, traced=False), env={"CHAOSTRACING_TEST_SLOW_CLEANUP": str(slow)}
    )
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool), "OTEL_BSP_SCHEDULE_DELAY": "30000"}
    marker = tmp_path / "in-emit"
    if where == "waiting":
        rx = receivers()
        rx.default = "silent"
        endpoint = rx.endpoint
    else:
        endpoint = f"http://127.0.0.1:{refused_port()}"
        exp = copy.deepcopy(exp)
        exp["method"].append(slow_log_action(marker, "failed: connection refused"))
    traced = run_chaos.start(clocked(exp, otlp_config(endpoint)), env=env)
    wait_until(slow.exists, 20, "the baseline's slow cleanup")
    base.signal(sig)
    if where == "waiting":
        assert rx.wait_posts(1, 20), "cleanup never sent anything"
    else:
        wait_until(marker.exists, 20, "the slow logging handler")
    t_sig = time.monotonic()
    traced.signal(sig)
    b, t = base.wait(journal=False), traced.wait(journal=False)
    after_signal = time.monotonic() - t_sig

    figures(
        f"cleanup {sig_name} while {where}",
        exit=t.returncode,
        exit_without=b.returncode,
        journal=bool(t.journal),
        journal_without=bool(b.journal),
        exit_after_signal_s=after_signal,
    )
    assert t.returncode == b.returncode, (
        f"exit {t.returncode}, {b.returncode} without the control\n{t.describe()}"
    )
    assert bool(t.journal) == bool(b.journal), "one wrote a journal, the other did not"
    assert ("Aborted!" in t.proc.stderr) == ("Aborted!" in b.proc.stderr), t.proc.stderr[-2000:]
    # The control finished its bookkeeping before letting the signal through:
    # the spans are in the spool, the summary and the export warning logged.
    made = 4 + (where == "logging")  # experiment, method, action(s), rollbacks
    s = summary(t.log)
    assert s["spooled"] == s["made"] == made, s
    assert len(spool_spans(spool)) == made
    # Bounded all the same: the flush deadline at most.
    assert after_signal <= FLUSH_S + SIGNAL_EXIT_TOLERANCE_S, (
        f"exit {after_signal:.2f} s after the signal"
    )
    if where == "logging":
        warnings = [r.message for r in chaostracing_records(t.log, "WARNING")]
        assert any("connection refused" in m for m in warnings), warnings


# --------------------------------------------------------------------------
# 3. A full queue: the experiment and its phases still arrive
# --------------------------------------------------------------------------
ESSENTIAL_TYPES = {"experiment", "method", "rollback", "hypothesis"}


def flood_experiment(count: int) -> Dict[str, Any]:
    exp = load_experiment("minimal")
    exp["title"] = "chaostracing flood experiment"
    exp["steady-state-hypothesis"] = {
        "title": "always true",
        "probes": [
            {
                "type": "probe",
                "name": "probe-true",
                "tolerance": True,
                "provider": {"type": "python", "module": "ctkhelpers", "func": "always_true"},
            }
        ],
    }
    exp["method"].insert(
        0,
        {
            "type": "action",
            "name": "flood",
            "provider": {
                "type": "python",
                "module": "spanhelpers",
                "func": "flood",
                "arguments": {"count": count},
            },
        },
    )
    exp["rollbacks"] = [
        {
            "type": "action",
            "name": "rollback-python",
            "provider": {"type": "python", "module": "ctkhelpers", "func": "rollback_ok"},
        }
    ]
    return exp


def test_queue_overflow_keeps_the_experiment(run_chaos, receivers, tmp_path):
    """OTEL_BSP_MAX_QUEUE_SIZE=16 and a collector that holds the first
    request until cleanup_control has begun: 300 spans from the span API
    overflow the queue while every later span ends, the experiment, phase
    and hypothesis spans included. Those take the reserve; the rest are
    dropped, counted as "queue full", with one warning."""
    rx = receivers()
    rx.script = [("block", 200)]
    clock = tmp_path / "clock"
    env = {
        "OTEL_BSP_MAX_QUEUE_SIZE": "16",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "CHAOSTRACING_SPOOL_DIR": str(tmp_path / "spool"),
        "CHAOSTRACING_TEST_CLEANUP_CLOCK": str(clock),
    }
    proc = run_chaos.start(clocked(flood_experiment(300), otlp_config(rx.endpoint)), env=env)
    # cleanupclock writes its first reading as cleanup begins: every span
    # has ended by then, while the collector still held the first request.
    try:
        wait_until(clock.exists, 30, "cleanup")
        assert len(rx.posts) == 1, "the collector answered before cleanup"
    finally:
        rx.unblock.set()
    run = proc.wait()
    assert run.returncode == 0, run.describe()
    s = summary(run.log)
    spans = rx.acked_spans()
    figures(
        "queue overflow (queue 16, 300 extra)",
        made=s["made"],
        delivered=s["exported"],
        spooled=s["spooled"],
        dropped=s["dropped"],
        queue_full=s["reasons"].get("queue full", 0),
        cleanup_s=cleanup_seconds(clock),
    )
    # The flood, the experiment, 2 x (hypothesis, probe), method, 2 actions,
    # rollbacks, rollback.
    assert s["made"] == 300 + 10, s
    assert s["exported"] == len(spans) and s["spooled"] == 0, s
    assert s["dropped"] == s["reasons"]["queue full"] > 250, s
    assert s["reasons"] == {"queue full": s["dropped"]}, s
    kept = {x["name"] for x in spans if x["attributes"].get("chaostoolkit.type") in ESSENTIAL_TYPES}
    assert {"chaostracing flood experiment", "method", "rollbacks", "always true"} <= kept
    assert len([x for x in spans if x["name"] == "always true"]) == 2
    assert_one_tree([x for x in spans if x["attributes"].get("chaostoolkit.type") in ESSENTIAL_TYPES])
    warnings = [r.message for r in chaostracing_records(run.log, "WARNING")]
    assert len(warnings) == 1 and "span queue full" in warnings[0], warnings


# --------------------------------------------------------------------------
# 4. The spool
# --------------------------------------------------------------------------
def refused_runs(run_chaos, spool: Path, n: int, exp=None, extra_env=None, arguments=None):
    """n runs of `exp` (minimal by default) at once, the collector refused,
    all spooling to `spool`. Returns the runs."""
    endpoint = f"http://127.0.0.1:{refused_port()}"
    exp = exp or load_experiment("minimal")
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool), **(extra_env or {})}
    procs = [
        run_chaos.start(clocked(exp, otlp_config(endpoint), arguments=arguments), env=env)
        for _ in range(n)
    ]
    return [p.wait() for p in procs]


def by_trace(spans) -> Dict[str, List[Dict[str, Any]]]:
    out: Dict[str, List[Dict[str, Any]]] = {}
    for x in spans:
        out.setdefault(x["trace_id"], []).append(x)
    return out


def test_spool_corrupt_file_is_set_aside(run_chaos, receivers, tmp_path, cli):
    spool = tmp_path / "spool"
    (run,) = refused_runs(run_chaos, spool, 1)
    s = summary(run.log)
    good = spool_spans(spool)
    assert s["spooled"] == len(good) == 4, s
    # Older than the good file (names sort by time), so met first.
    corrupt_name = "00000000000000000001-1-00000000000000ab-3.jsonl"
    (spool / corrupt_name).write_text('{"resourceSpans": [{"resource": {"attrib\n')
    copy_dir = tmp_path / "spool-copy"
    shutil.copytree(spool, copy_dir)

    rx = receivers()
    rc, rep = replay_cli(cli, copy_dir, rx.endpoint)
    assert rc == 0, rep
    assert (rep["sent"], rep["files"], rep["corrupt"], rep["left"]) == (4, 1, 1, 0), rep
    assert "not OTLP JSON" in rep["stderr"] and corrupt_name in rep["stderr"], rep["stderr"]
    assert (copy_dir / "corrupt" / corrupt_name).exists(), "the corrupt file was not set aside"
    assert not spool_files(copy_dir)
    assert sorted(ids(rx.acked_spans())) == sorted(ids(good))
    # A second replay finds nothing to do, and does not send the corrupt file.
    rc, rep2 = replay_cli(cli, copy_dir, rx.endpoint)
    assert rc == 0 and rep2["sent"] == rep2["corrupt"] == 0, rep2

    # The next run does the same in the background, and says so.
    back, got, nxt = next_run_replays(
        run_chaos, receivers, spool, tmp_path, good[0]["trace_id"], expected=len(good)
    )
    assert sorted(ids(got)) == sorted(ids(good))
    assert (spool / "corrupt" / corrupt_name).exists()
    infos = [r.message for r in chaostracing_records(nxt.log, "INFO")]
    assert any("a corrupt file was set aside" in m for m in infos), infos
    warnings = [r.message for r in chaostracing_records(nxt.log, "WARNING")]
    assert any(corrupt_name in m for m in warnings), warnings
    figures("spool corrupt file", spooled=4, cli_sent=rep["sent"], corrupt=rep["corrupt"],
            next_run_sent=len(got))


def test_spool_concurrent_runs(run_chaos, receivers, tmp_path):
    """Six runs spool to one directory, three at a time (six whole files),
    then two runs send it at once to a slow collector (0.3 s an answer), so
    both are sending at the same time: every span arrives exactly once."""
    spool = tmp_path / "spool"
    runs = refused_runs(run_chaos, spool, 3) + refused_runs(run_chaos, spool, 3)
    files = spool_files(spool)
    spooled = spool_spans(spool)  # each file whole and decodable
    traces = by_trace(spooled)
    assert len(files) == 6 and len(traces) == 6, [f.name for f in files]
    assert all(len(v) == 4 for v in traces.values())
    assert {summary(r.log)["spooled"] for r in runs} == {4}

    rx = receivers()
    rx.delay = 0.3
    gates = [Gates(tmp_path / f"gates{i}") for i in range(2)]
    exp = next_run_experiment()
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool), "OTEL_BSP_SCHEDULE_DELAY": "100"}
    procs = [
        run_chaos.start(clocked(exp, otlp_config(rx.endpoint)), env={**env, **g.env})
        for g in gates
    ]

    def old():
        return [x for x in rx.acked_spans() if x["trace_id"] in traces]

    try:
        wait_until(lambda: len(old()) >= len(spooled), 20, "the replay of the spool")
        time.sleep(0.3)  # a file sent twice would arrive now
    finally:
        for g in gates:
            g.open("next-run")
    nexts = [p.wait() for p in procs]
    got = old()
    per_run = []
    for r in nexts:
        assert r.returncode == 0, r.describe()
        m = re.findall(r"chaostracing: (\d+) spans of an earlier run sent from the spool", r.log)
        per_run.append(sum(int(x) for x in m))
    figures(
        "spool 6 writers, 2 senders",
        spooled=len(spooled),
        files=len(files),
        delivered=len(got),
        sent_by_each_run=per_run,
    )
    assert sorted(ids(got)) == sorted(ids(spooled)), "a span was sent twice, or not at all"
    assert sum(per_run) == len(spooled), per_run
    assert all(per_run), f"one run sent every file: the senders never overlapped {per_run}"
    assert not spool_files(spool) and not (spool / "corrupt").exists()


def test_spool_kill_9(run_chaos, receivers, tmp_path, cli):
    """kill -9 of a run in the middle of sending a spool file (it claimed the
    file) and of a run in cleanup: what was spooled before is still whole
    and is sent by the next replay."""
    spool = tmp_path / "spool"
    (first,) = refused_runs(run_chaos, spool, 1)
    spooled = spool_spans(spool)
    assert len(spooled) == 4
    # A run whose worker sends that file to a collector that never answers
    # (it answers the run's own first export: the spool goes once that is done).
    silent = receivers()
    silent.script = [200]
    silent.default = "silent"
    gates = Gates(tmp_path / "gates")
    exp = faults_experiment("http://127.0.0.1:9")
    exp["steady-state-hypothesis"]["probes"].pop(0)  # no target needed
    exp["method"].pop(0)
    env = {"CHAOSTRACING_SPOOL_DIR": str(spool), "OTEL_BSP_SCHEDULE_DELAY": "100", **gates.env}
    victim = run_chaos.start(clocked(exp, otlp_config(silent.endpoint)), env=env)
    gates.open("hypothesis")
    old_trace = spooled[0]["trace_id"]

    def sending_old():
        return any(
            x["trace_id"] == old_trace for p in list(silent.posts) for x in flatten([p["request"]])
        )

    wait_until(sending_old, 20, "the victim's replay of the spool")
    claimed = [f.name for f in spool_files(spool) if ".claimed." in f.name]
    assert claimed == [f"{spool_files(spool)[0].name}"], claimed
    assert claimed[0].endswith(f".claimed.{victim.pid}")
    victim.kill_group()
    killed = victim.wait(journal=False)
    assert killed.returncode == -signal.SIGKILL

    # A run killed in cleanup, as its flush deadline ends (when it writes).
    silent2 = receivers()
    silent2.default = "silent"
    env2 = {"CHAOSTRACING_SPOOL_DIR": str(spool), "OTEL_BSP_SCHEDULE_DELAY": "30000"}
    victim2 = run_chaos.start(clocked(load_experiment("minimal"), otlp_config(silent2.endpoint)), env=env2)
    assert silent2.wait_posts(1, 20)
    time.sleep(FLUSH_S - 0.02)
    victim2.kill_group()
    victim2.wait(journal=False)

    # Nothing torn: every file a replay would read decodes whole (a file
    # victim2 may have finished writing is whole too).
    left = spool_spans(spool)
    assert set(ids(spooled)) <= set(ids(left))
    rx = receivers()
    rc, rep = replay_cli(cli, spool, rx.endpoint)
    assert rc == 0 and rep["corrupt"] == 0 and rep["left"] == 0, rep
    got = rx.acked_spans()
    assert sorted(ids(got)) == sorted(ids(left)), "the replay sent other spans"
    assert set(ids(spooled)) <= set(ids(got))
    assert_one_tree([x for x in got if x["trace_id"] == old_trace], old_trace)
    figures(
        "spool kill -9 (sending, in cleanup)",
        spooled_before=len(spooled),
        claimed_by_killed=1,
        replayed=rep["sent"],
        from_killed_in_cleanup=len(left) - len(spooled),
    )


def big_output_experiment(size: int) -> dict:
    """The minimal experiment whose action returns `size` characters."""
    exp = load_experiment("minimal")
    exp["method"][0]["provider"] = {
        "type": "python",
        "module": "ctkhelpers",
        "func": "big_output",
        "arguments": {"size": size},
    }
    return exp


def test_spool_bound_evicts_the_oldest(run_chaos, receivers, tmp_path, cli):
    """tracing_spool_max_mb = 1 and three runs of ~400 KB each: the third
    evicts the first's file, counts and logs it."""
    spool = tmp_path / "spool"
    exp = big_output_experiment(400_000)
    args = {"spool_max_mb": 1, "record_output": "full"}
    runs = [refused_runs(run_chaos, spool, 1, exp, arguments=args)[0] for _ in range(3)]
    sums = [summary(r.log) for r in runs]
    assert [s["spooled"] for s in sums] == [4, 4, 4], sums
    left = spool_spans(spool)
    traces = by_trace(left)
    first_trace = the_root_trace(runs[0])
    assert len(spool_files(spool)) == 2 and first_trace not in traces, list(traces)
    size = sum(f.stat().st_size for f in spool_files(spool))
    assert size <= 1 << 20
    warnings = [r.message for r in chaostracing_records(runs[2].log, "WARNING")]
    evict = [m for m in warnings if "was full" in m]
    assert len(evict) == 1 and "4 older spans removed" in evict[0], warnings
    assert not [m for r in runs[:2] for m in [x.message for x in chaostracing_records(r.log, "WARNING")] if "was full" in m]
    rx = receivers()
    rc, rep = replay_cli(cli, spool, rx.endpoint)
    assert rc == 0 and rep["sent"] == 8, rep
    assert sorted(ids(rx.acked_spans())) == sorted(ids(left))
    figures("spool bound 1 MiB, 3 x 400 KB", spooled=[s["spooled"] for s in sums], evicted=4,
            bytes_left=size, replayed=rep["sent"])


def the_root_trace(run) -> str:
    """The trace id of a run that spooled: its process id is on the resource."""
    m = re.search(r"spooled to (\S+);", run.log)
    assert m, run.log[-2000:]
    for x in spool_spans(Path(m.group(1))):
        if x["resource"]["process.pid"] == run.pid:
            return x["trace_id"]
    return ""


@pytest.mark.parametrize("how", ["variable", "argument"])
def test_spool_off(how, run_chaos, tmp_path):
    """No spool: what a refused collector did not take is dropped, counted
    as not delivered, with one warning at most."""
    spool = tmp_path / "spool"
    if how == "variable":
        env, args = {"CHAOSTRACING_SPOOL_DIR": "off"}, None
    else:  # the argument wins over the variable
        env, args = {"CHAOSTRACING_SPOOL_DIR": str(spool)}, {"spool_dir": "off"}
    endpoint = f"http://127.0.0.1:{refused_port()}"
    run = run_chaos(clocked(load_experiment("minimal"), otlp_config(endpoint), arguments=args), env=env)
    s = summary(run.log)
    warnings = [r.message for r in chaostracing_records(run.log, "WARNING")]
    figures(f"spool off ({how})", made=s["made"], delivered=s["exported"], spooled=s["spooled"],
            dropped=s["dropped"], warnings=len(warnings))
    assert (s["exported"], s["spooled"], s["dropped"]) == (0, 0, s["made"]), s
    assert s["reasons"] == {"not delivered in time with no spool": s["made"]}, s
    assert len(warnings) <= 1, warnings
    assert not spool.exists()


# --------------------------------------------------------------------------
# 5. Secrets never leave, in any byte sent, spooled or logged
# --------------------------------------------------------------------------
SECRET = {
    "env secret": "envS3cret-4a7b9c",
    "inline secret": "inl1neS3cret-5d8e2f",
    "configuration api_token": "cfgT0ken-6f1a3b",
    "URL userinfo password": "urlPassw0rd-7c2d4e",
    "URL token parameter": "qryT0ken-8e3f5a",
    "collector userinfo password": "collPassw0rd-9a4b6c",
    "collector Authorization header": "hdrT0ken-0b5c7d",
}


def secrets_experiment(target_url: str) -> Dict[str, Any]:
    refused = refused_port()
    act = lambda name, provider: {"type": "action", "name": name, "secrets": ["svc"], "provider": provider}  # noqa: E731
    return {
        "version": "1.0.0",
        "title": "chaostracing secrets experiment",
        "description": "Secrets from the environment and inline, a sensitive configuration value, URLs with credentials.",
        "secrets": {
            "svc": {
                "env_secret": {"type": "env", "key": "CHAOSTRACING_TEST_SECRET"},
                "inline_secret": SECRET["inline secret"],
            }
        },
        "configuration": {"target_url": target_url, "api_token": SECRET["configuration api_token"]},
        "method": [
            # Fails (nobody listens): chaoslib's error message carries the URL.
            act(
                "http-with-credentials",
                {
                    "type": "http",
                    "url": f"http://user:{SECRET['URL userinfo password']}@127.0.0.1:{refused}/api"
                    f"?token={SECRET['URL token parameter']}&k=${{api_token}}&s=${{inline_secret}}",
                    "timeout": 2,
                },
            ),
            # Succeeds: url.full carries a substituted secret.
            act("http-secret-in-query", {"type": "http", "url": "${target_url}/probe?q=${env_secret}", "timeout": 5}),
            act(
                "process-prints-secret",
                {
                    "type": "process",
                    "path": "/bin/echo",
                    "arguments": ["the token is ${env_secret}, ${inline_secret} and ${api_token}"],
                    "timeout": 10,
                },
            ),
            act(
                "python-fails-with-secret",
                {
                    "type": "python",
                    "module": "ctkhelpers",
                    "func": "fail_with_exception",
                    "arguments": {"message": "cannot log in with ${env_secret} / ${api_token}"},
                },
            ),
            act(
                "python-returns-secret",
                {"type": "python", "module": "ctkhelpers", "func": "answer", "arguments": {"value": "${inline_secret}"}},
            ),
        ],
        "rollbacks": [],
    }


def leaks(text: str, where: str) -> List[str]:
    return [f"{name} in {where}" for name, value in SECRET.items() if value in text]


def test_secrets_never_sent_nor_logged(run_chaos, target, receivers, tmp_path, cli):
    """Three runs of one experiment full of secrets: traced to a receiver
    whose endpoint carries credentials (userinfo, an Authorization header),
    traced to a refused collector (everything spooled, then replayed), and
    with the Authorization header given as a string (the wrong type: warned
    about, tracing off). Every byte the receivers got (raw and decoded), every
    spool file and every line of chaostoolkit.log the control wrote is
    searched for each secret value; the journal is chaoslib's and excluded."""
    rx = receivers()
    exp = secrets_experiment(target.url)
    auth = f"Bearer {SECRET['collector Authorization header']}"
    userinfo = f"collector:{SECRET['collector userinfo password']}@"
    sent_cfg = otlp_config(
        rx.endpoint.replace("http://", "http://" + userinfo),
        tracing_opentelemetry_collector_headers={"Authorization": auth},
    )
    refused_cfg = otlp_config(
        f"http://{userinfo}127.0.0.1:{refused_port()}",
        tracing_opentelemetry_collector_headers={"Authorization": auth},
    )
    string_cfg = otlp_config(rx.endpoint, tracing_opentelemetry_collector_headers=f"Authorization={auth}")
    spool = tmp_path / "spool"
    env = {"CHAOSTRACING_TEST_SECRET": SECRET["env secret"], "CHAOSTRACING_SPOOL_DIR": str(spool)}
    procs = {
        "sent": run_chaos.start(clocked(exp, sent_cfg), env=env),
        "spooled": run_chaos.start(clocked(exp, refused_cfg), env=env),
        "string header": run_chaos.start(clocked(exp, string_cfg), env=env),
    }
    runs = {k: p.wait() for k, p in procs.items()}
    found: List[str] = []
    n_bytes = 0
    # Every spool file, byte for byte, then replayed to a second receiver.
    files = spool_files(spool)
    assert files, "the refused run spooled nothing"
    for f in files:
        data = f.read_bytes()
        n_bytes += len(data)
        found += leaks(data.decode("latin-1"), f"spool file {f.name}")
    back = receivers()
    rc, rep = replay_cli(cli, spool, back.endpoint)
    assert rc == 0 and rep["sent"] == 8, rep
    # Everything the receivers got: raw bodies, decoded requests.
    for name, r in (("receiver", rx), ("receiver after replay", back)):
        for p in r.posts:
            n_bytes += len(p["raw"])
            found += leaks(p["raw"].decode("latin-1"), f"{name} POST #{p['index']} (raw)")
            found += leaks(str(p["request"]), f"{name} POST #{p['index']} (decoded)")
    # Every line the control logged, in chaostoolkit.log and on stderr,
    # and what `chaostracing replay` printed. chaoslib's own lines may carry
    # the secrets it resolved (outputs at DEBUG, its error messages): not
    # ours to change, counted only.
    chaoslib_lines = 0
    for k, r in runs.items():
        for rec in parse_log_lines(r.log):
            if "chaostracing" in rec:
                found += leaks(rec, f"chaostoolkit.log of the {k!r} run: {rec[:150]!r}")
            elif leaks(rec, ""):
                chaoslib_lines += 1
        ours = [ln for ln in r.proc.stderr.splitlines() if "chaostracing" in ln]
        found += leaks("\n".join(ours), f"stderr of the {k!r} run")
    found += leaks(rep["stderr"], "chaostracing replay's stderr")
    basic = base64.b64encode(userinfo[:-1].encode()).decode()
    for k, r in runs.items():
        assert basic not in r.log, f"the collector's basic credentials are in the {k!r} log"
    figures(
        "secrets (3 runs, 7 values)",
        bytes_sent=n_bytes,
        posts=len(rx.posts) + len(back.posts),
        spans=len(rx.acked_spans()) + len(back.acked_spans()),
        leaks=len(found),
        chaoslib_lines_with_secrets=chaoslib_lines,
    )
    assert not found, "secrets leaked:\n" + "\n".join(found)

    # Not vacuous: the secrets did reach the spans, where they were redacted.
    for name, spans in (("sent", rx.acked_spans()), ("spooled", back.acked_spans())):
        by = {x["name"]: x for x in spans}
        assert len(by) == 8, sorted(by)  # experiment, method, 5 actions, rollbacks
        http = by["http-with-credentials"]
        assert "REDACTED:REDACTED@" in http["attributes"]["url.full"], http["attributes"]["url.full"]
        assert "token=REDACTED" in http["attributes"]["url.full"]
        assert http["status_code"] == STATUS_ERROR and "REDACTED" in http["status_message"], http
        (exc,) = [e for e in http["events"] if e["name"] == "exception"]
        assert "REDACTED" in exc["attributes"]["exception.message"]
        # url.full is filled from the configuration only: a secret stays a template.
        assert by["http-secret-in-query"]["attributes"]["url.full"].endswith("/probe?q=${env_secret}")
        out = by["process-prints-secret"]["attributes"]["chaostoolkit.activity.output"]
        assert out.count("REDACTED") >= 3, out
        fails = by["python-fails-with-secret"]
        assert fails["status_message"].count("REDACTED") == 2, fails["status_message"]
        assert "REDACTED" in by["python-returns-secret"]["attributes"]["chaostoolkit.activity.output"]
    # The string header: one warning naming the key, not its value.
    warnings = [r.message for r in chaostracing_records(runs["string header"].log, "WARNING")]
    assert len(warnings) == 1 and "tracing_opentelemetry_collector_headers" in warnings[0], warnings
    # The collector's credentials went where they belong: the request headers.
    assert rx.posts and all(p["headers"]["authorization"] == auth for p in rx.posts)


def parse_log_lines(text: str) -> List[str]:
    """chaostoolkit.log's records, continuation lines joined."""
    from conftest import parse_log

    return [f"[{r.level}] [{r.where}] {r.message}" for r in parse_log(text)]


@pytest.mark.parametrize(
    "mode,limit,expect",
    [("full", None, 10002), ("truncated", 100, 100), ("truncated", None, 4096), ("none", None, None)],
    ids=["full", "truncated-100", "truncated-default", "none"],
)
def test_output_modes(mode, limit, expect, run_chaos, receivers):
    rx = receivers()
    exp = big_output_experiment(10000)
    cfg = otlp_config(rx.endpoint, tracing_record_output=mode)
    if limit:
        cfg["tracing_output_limit"] = limit
    run = run_chaos(clocked(exp, cfg))
    assert run.returncode == 0, run.describe()
    (span,) = [x for x in rx.acked_spans() if x["name"] == "minimal-action"]
    out = span["attributes"].get("chaostoolkit.activity.output")
    figures(f"output {mode} limit={limit}", recorded_chars=len(out) if out is not None else "absent")
    if expect is None:
        assert out is None, out[:100]
    else:
        assert len(out) == expect, len(out)
        assert out.startswith('"xxxx'), out[:20]
    assert not [r for r in chaostracing_records(run.log) if r.level == "WARNING"]


# --------------------------------------------------------------------------
# 6. Misconfiguration is loud, and what is implied works
# --------------------------------------------------------------------------
MINIMAL_SPANS = sorted(["chaostracing minimal experiment", "method", "minimal-action", "rollbacks"])


@pytest.mark.parametrize(
    "variables",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "{url}"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "{url}/v1/traces"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "{url}"},
    ],
    ids=["endpoint", "traces-endpoint", "traces-exporter"],
)
def test_no_provider_only_otel_variables_traces(variables, run_chaos, receivers):
    rx = receivers()
    env = {k: v.format(url=rx.endpoint) for k, v in variables.items()}
    exp = load_experiment("minimal")
    exp["controls"] = [{"name": "tracing", "provider": {"type": "python", "module": CONTROL_MODULE}}]
    run = run_chaos(exp, env=env)
    assert run.returncode == 0, run.describe()
    assert sorted(x["name"] for x in rx.acked_spans()) == MINIMAL_SPANS
    infos = [r.message for r in chaostracing_records(run.log, "INFO")]
    why = [m for m in infos if "tracing_provider is not set; tracing with opentelemetry" in m]
    assert len(why) == 1 and list(variables)[0] in why[0], infos
    assert not chaostracing_records(run.log, "WARNING")
    s = summary(run.log)
    figures(f"no provider, {'+'.join(variables)}", made=s["made"], delivered=s["exported"])


def test_control_that_records_nothing_says_so_once(run_chaos):
    exp = load_experiment("minimal")
    exp["controls"] = [{"name": "tracing", "provider": {"type": "python", "module": CONTROL_MODULE}}]
    run = run_chaos(exp)
    assert run.returncode == 0, run.describe()
    records = chaostracing_records(run.log)
    infos = [r.message for r in records if r.level == "INFO"]
    assert len([m for m in infos if "no spans are recorded" in m]) == 1, infos
    assert not [r for r in records if r.level in ("WARNING", "ERROR")]


@pytest.mark.parametrize(
    "where,name,closest",
    [
        ("argument", "endpoint", "collector_endpoint"),
        ("configuration", "tracing_opentelemetry_colector_endpoint", "tracing_opentelemetry_collector_endpoint"),
    ],
)
def test_unknown_setting_warns_with_the_closest(where, name, closest, run_chaos, receivers):
    """One warning naming the closest known name; the rest of the settings
    still apply (here the OTEL_* endpoint, so the spans arrive)."""
    rx = receivers()
    cfg = {"tracing_provider": "opentelemetry"}
    args = None
    if where == "argument":
        args = {"exporter": "otlp-http", name: "http://127.0.0.1:1/ignored"}
    else:
        cfg[name] = "http://127.0.0.1:1/ignored"
    exp = clocked(load_experiment("minimal"), cfg, arguments=args)
    run = run_chaos(exp, env={"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint})
    assert run.returncode == 0, run.describe()
    warnings = [r.message for r in chaostracing_records(run.log, "WARNING")]
    figures(f"unknown {where} {name}", warnings=len(warnings))
    assert len(warnings) == 1, warnings
    assert f'"{name}"' in warnings[0] and f'did you mean "{closest}"' in warnings[0], warnings
    assert sorted(x["name"] for x in rx.acked_spans()) == MINIMAL_SPANS


def test_otlp_http_honours_http_json_protocol(run_chaos, receivers):
    rx = receivers()
    run = run_chaos(
        clocked(load_experiment("minimal"), otlp_config(rx.endpoint)),
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
    )
    assert run.returncode == 0, run.describe()
    assert rx.posts
    for p in rx.posts:
        assert p["headers"]["content-type"] == "application/json", p["headers"]
        assert p["raw"].lstrip().startswith(b"{"), p["raw"][:40]
        json.loads(p["raw"])  # JSON indeed, decoded as OTLP JSON by the receiver
    assert sorted(x["name"] for x in rx.acked_spans()) == MINIMAL_SPANS
    s = summary(run.log)
    figures("otlp-http + http/json", made=s["made"], delivered=s["exported"])
    assert s["exported"] == s["made"] == 4


# --------------------------------------------------------------------------
# The root span tells a dry run and a failed first hypothesis
# --------------------------------------------------------------------------
def test_dry_run_and_failed_first_hypothesis(run_chaos, target, receivers):
    rx = receivers()
    exp = faults_experiment(target.url)
    dry = run_chaos.start(clocked(exp, otlp_config(rx.endpoint)), args=["--dry", "actions"])
    broken = faults_experiment("http://127.0.0.1:%d" % refused_port())  # the HTTP probe fails
    gate = run_chaos.start(clocked(broken, otlp_config(rx.endpoint)))
    d, g = dry.wait(), gate.wait()
    assert d.returncode == 0, d.describe()
    assert g.returncode == 1, g.describe()  # chaos fails a run whose first hypothesis fails
    by_pid = {x["resource"]["process.pid"]: x for x in rx.acked_spans() if not x["parent"]}
    droot, groot = by_pid[d.pid], by_pid[g.pid]
    assert droot["attributes"]["chaostoolkit.experiment.dry"] == "actions", droot["attributes"]
    assert "chaostoolkit.experiment.dry" not in groot["attributes"]
    assert groot["attributes"]["chaostoolkit.experiment.steady_state_before_met"] is False
    assert groot["status_code"] == STATUS_ERROR, groot
    assert "chaostoolkit.experiment.steady_state_before_met" not in droot["attributes"]
