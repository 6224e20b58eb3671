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

import copy
import json
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from cli_support import SANITIZED, run_cli
from conftest import (
    CONTROL_MODULE,
    EXPERIMENTS,
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
# What a bounded exit may take beyond the flush deadline: waking from the
# deadline, writing and fsyncing the spool file, logging the summary, and the
# scheduler of a 2-core machine shared with the test process, its receiver
# threads and whatever else runs (measured here: 0.01-0.08 s).
EXIT_TOLERANCE_S = 0.3
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
    """The test's side of experiments/faults.json's gates: a gate process
    writes <dir>/<name>.reached and waits for <dir>/<name>.go."""

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
    """One fault mode of the collector during a run of experiments/faults.json.

    setup(receivers) -> (endpoint, env); during(gates, rx) drives gated
    modes while the run is held; gated modes hold the run."""

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
            "503-then-200": [503],
            "429-retry-after-1": [(429, {"Retry-After": "1"})],
            "429-retry-after-30": [],
            "hang-mid-body": [],
            "restarted": [],
        }[self.name]
        self.rx.default = {
            "silent": "silent",
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
    Collector("silent", env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("503-then-200", env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("429-retry-after-1", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("429-retry-after-30"),
    Collector("late", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("restarted", gated=True, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}),
    Collector("hang-mid-body"),
]


def next_run_replays(run_chaos, receivers, spool: Path, tmp: Path, old_trace: str):
    """The next traced run, with the collector back: its worker sends the
    spool while idle. Held at a gate until the receiver has every span of
    `old_trace` the spool held (bounded), so the run's length does not
    decide. Returns (receiver, spans of old_trace it got, the run)."""
    expected = len(spool_spans(spool))
    back = receivers()
    gates = Gates(tmp / "next-run-gates")
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
    if rx is not None and mode.name in ("silent", "hang-mid-body"):
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
    if mode.name in ("refused", "silent", "429-retry-after-30", "hang-mid-body"):
        assert s["exported"] == 0 and s["spooled"] == s["made"], s
    else:
        assert s["exported"] == s["made"] and s["spooled"] == 0, s
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


def start_held(run_chaos, exp, env, gates: Gates, phase: str):
    proc = run_chaos.start(exp, env={**env, **gates.env})
    gates.open(*PHASES[phase][1])
    return proc


def signal_at_gate(procs_gates, phase: str, sig: int) -> None:
    """Wait until every run holds the phase's gate, signal each, then let
    every run go on (so a signal chaos does not stop on cannot hang it)."""
    for _, gates in procs_gates:
        gates.wait(phase)
    for proc, _ in procs_gates:
        proc.signal(sig)
    time.sleep(0.2)
    for _, gates in procs_gates:
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
    # The same run without the control, side by side: how chaos ends on its own.
    base = start_held(run_chaos, exp, env, gb, phase)
    traced = start_held(run_chaos, clocked(exp, otlp_config(rx.endpoint)), env, gt, phase)
    signal_at_gate([(base, gb), (traced, gt)], phase, sig)
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
    assert after_signal <= FLUSH_S + EXIT_TOLERANCE_S, f"exit {after_signal:.2f} s after the signal"
    if where == "logging":
        warnings = [r.message for r in chaostracing_records(t.log, "WARNING")]
        assert any("connection refused" in m for m in warnings), warnings
