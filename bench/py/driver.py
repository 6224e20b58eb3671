"""Run every benchmark of bench/ and collect the raw samples in one JSON file.

    python3 driver.py --repo R --ours-venv V --upstream-venv U --otel-venv O \
                      --go-bench G --c-bench C --out results.json [--only SECTIONS]

Standard library only: it runs with any Python 3.9+. Each measurement runs in
its own process (a fresh interpreter per import sample, one process per
configuration elsewhere), against loopback receivers served by the Go program
(bench/go: `receiver -mode ok|503|silent`). A failing measurement is recorded
as an error and the others still run. bench/py/report.py turns the file into
the table and bench/RESULTS.md.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
T_START = time.monotonic()

# Repetitions: medians need >= 5 samples (7 where a run is cheap); chaos runs
# with a failing upstream collector take 7-10 s each, so they get 3.
IMPORT_REPS = 7
IMPORTTIME_REPS = 5
ACTIVITY_REPS = 7
ACTIVITY_N = 1500
# Separate processes per configuration, interleaved. Whole processes differ
# (string hashing is seeded per process, so dict layouts differ; the shared
# machine's other work comes and goes) by up to 2x in these sub-microsecond
# loops: the least disturbed process of each configuration is kept, per
# provider type as well, the same way for every implementation.
ACTIVITY_PROCS = 5
SDK_SPAN_REPS = 7
SDK_SPAN_N = 5000
CHAOS_ACTIVITIES = 50
CHAOS_RUNS = 7
CHAOS_FAIL_RUNS_OURS = 5
CHAOS_FAIL_RUNS_UPSTREAM = 3
CHAOS_TIMEOUT = 120
C_SPAN_N = 500000
EXPORT_REPS = 5
EXPORT_N_NATIVE = 200000
EXPORT_N_PY = 20000


def log(msg):
    print(f"[bench {time.monotonic() - T_START:6.1f}s] {msg}", file=sys.stderr, flush=True)


class Ctx:
    def __init__(self, a):
        self.repo = Path(a.repo).resolve()
        self.ours = Path(a.ours_venv).resolve()
        self.upstream = Path(a.upstream_venv).resolve()
        self.otel = Path(a.otel_venv).resolve()
        self.baseline = Path(a.baseline_venv).resolve() if a.baseline_venv else None
        self.baseline_rev = a.baseline_rev
        self.gobench = Path(a.go_bench).resolve()
        self.cbench = Path(a.c_bench).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="ctr-bench-"))
        self.results = {"errors": {}, "meta": {}}
        self.receivers = {}
        self.procs = []

    def py(self, venv):
        return str(venv / "bin" / "python")

    def env(self, extra=None):
        """os.environ without OTEL_* and propagation variables, with bench/py
        on PYTHONPATH and loopback excluded from proxies."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith("OTEL_")
            and k.upper() not in ("TRACEPARENT", "TRACESTATE", "BAGGAGE")
        }
        env["PYTHONPATH"] = str(HERE)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for k, v in (extra or {}).items():
            env[k] = str(v)
        return env

    def put(self, key, value):
        self.results[key] = value

    # -- receivers -------------------------------------------------------
    def start_receivers(self):
        for mode in ("ok", "503", "silent"):
            p = subprocess.Popen(
                [str(self.gobench), "receiver", "-mode", mode],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self.procs.append(p)
            line = p.stdout.readline()
            m = re.match(r"PORT (\d+)", line)
            if not m:
                raise RuntimeError(f"receiver {mode} did not start: {line!r}")
            self.receivers[mode] = int(m.group(1))
        # Refused: a port that was free a moment ago, with nothing listening.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.receivers["refused"] = s.getsockname()[1]
        s.close()
        log(f"receivers: {self.receivers}")

    def url(self, mode):
        return f"http://127.0.0.1:{self.receivers[mode]}/v1/traces"

    def receiver_stats(self):
        import urllib.request

        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.receivers['ok']}/stats", timeout=5
        ) as r:
            return json.loads(r.read())

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def run_json(cmd, env=None, timeout=300, cwd=None):
    """Run a probe and return the JSON objects it printed, one per line."""
    p = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    if p.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stderr[-3000:]}"
        )
    out = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    if not out:
        raise RuntimeError(f"{cmd} printed no result:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return out


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


def section(ctx, name, fn):
    log(f"== {name} (load average {loadavg()})")
    ctx.results["meta"].setdefault("loadavg", {})[name] = loadavg()
    t0 = time.monotonic()
    try:
        fn(ctx)
    except Exception as e:  # keep going: the report shows the error
        ctx.results["errors"][name] = f"{type(e).__name__}: {e}"
        log(f"!! {name} failed: {e}")
    ctx.results["meta"].setdefault("section_seconds", {})[name] = round(
        time.monotonic() - t0, 1
    )


# ---------------------------------------------------------------------------
# 1 + 7: import + configure, RSS
# ---------------------------------------------------------------------------
IMPORTTIME_RE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)(\S+)")
PRELOAD = "import chaoslib, chaoslib.control, chaoslib.run, chaoslib.types\n"


def own_cumulative_us(stderr):
    """Cumulative -X importtime (us) of the chaostracing modules, each counted
    once: an entry nested under another chaostracing entry is already in its
    parent's cumulative figure."""
    entries = []
    for line in stderr.splitlines():
        m = IMPORTTIME_RE.match(line)
        if m:
            entries.append((len(m.group(3)), m.group(4), int(m.group(2))))
    total = 0
    stack = []  # (indent, under_ours) of the enclosing entries, walking backwards
    for indent, name, cum in reversed(entries):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        under = stack[-1][1] if stack else False
        ours = name == "chaostracing" or name.startswith("chaostracing.")
        if ours and not under:
            total += cum
        stack.append((indent, under or ours))
    return total


def bench_import(ctx):
    impls = [
        ("ours", ctx.ours, {}),
        ("ours-file", ctx.ours, {}),
        ("ours-otel", ctx.ours, {}),
        ("upstream-control", ctx.upstream, {}),
        ("upstream-oltp", ctx.upstream, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ctx.url("ok")}),
    ]
    probe = str(HERE / "probe_import.py")
    res = {}
    for rep in range(IMPORT_REPS):  # round-robin: drift hits every impl alike
        for impl, venv, extra in impls:
            r = run_json(
                [ctx.py(venv), probe, impl, ctx.url("ok")], env=ctx.env(extra), cwd=ctx.work
            )[0]
            d = res.setdefault(impl, {"ns": [], "rss_added": [], "anon_added": [], "file_added": []})
            for k in d:
                d[k].append(r[k])
    ctx.put("import", res)

    modules = {
        "ours": (ctx.ours, "chaostracing.control"),
        "upstream-control": (ctx.upstream, "chaostracing.control"),
        "upstream-oltp": (ctx.upstream, "chaostracing.oltp"),
    }
    it = {}
    for rep in range(IMPORTTIME_REPS):
        for impl, (venv, mod) in modules.items():
            p = subprocess.run(
                [ctx.py(venv), "-X", "importtime", "-c", PRELOAD + f"import {mod}\n"],
                env=ctx.env(),
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ctx.work,
            )
            if p.returncode != 0:
                raise RuntimeError(f"importtime {impl}: {p.stderr[-2000:]}")
            it.setdefault(impl, []).append(own_cumulative_us(p.stderr))
    ctx.put("importtime_us", it)


# ---------------------------------------------------------------------------
# 2: Python-API spans: the OTel SDK, and ours (start_span) when the control has it
# ---------------------------------------------------------------------------
def bench_sdk_span(ctx):
    out = run_json(
        [
            ctx.py(ctx.otel),
            str(HERE / "probe_sdk.py"),
            "span",
            ctx.url("ok"),
            "--reps",
            str(SDK_SPAN_REPS),
            "--n",
            str(SDK_SPAN_N),
        ],
        env=ctx.env(),
    )
    ctx.put("sdk_span", {o["metric"]: o for o in out})
    out = run_json(
        [
            ctx.py(ctx.ours),
            str(HERE / "probe_pyspan.py"),
            ctx.url("ok"),
            "--reps",
            str(SDK_SPAN_REPS),
            "--n",
            str(SDK_SPAN_N),
        ],
        env=ctx.env({"OTEL_BSP_MAX_QUEUE_SIZE": 262144}),
    )
    ctx.put("ours_span", {o["metric"]: o for o in out})


# ---------------------------------------------------------------------------
# 3: per-activity control overhead
# ---------------------------------------------------------------------------
def bench_activity(ctx):
    probe = str(HERE / "probe_activity.py")
    big_queue = {"OTEL_BSP_MAX_QUEUE_SIZE": 65536}
    configs = [
        ("ours/none", ctx.ours, ["ours", "none"], {"OTEL_TRACES_EXPORTER": "none"}),
        ("ours/file", ctx.ours, ["ours", "file"], {}),
        ("ours/otlp", ctx.ours, ["ours", "otlp", ctx.url("ok")], {}),
        ("empty", ctx.ours, ["empty", "none"], {}),
        (
            "upstream-control/otlp",
            ctx.upstream,
            ["upstream-control", "otlp", ctx.url("ok")],
            {},
        ),
        (
            "upstream-oltp/otlp",
            ctx.upstream,
            ["upstream-oltp", "otlp"],
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ctx.url("ok")},
        ),
    ]
    if ctx.baseline:
        # Our own hooks at an earlier commit, measured in the same minutes.
        configs.append(
            ("baseline/none", ctx.baseline, ["ours", "none"], {"OTEL_TRACES_EXPORTER": "none"})
        )
    # The same hooks reached the way `chaos run` reaches them: chaoslib's
    # apply_python_control (module lookup, inspect.signature, argument copy)
    # and its event registry.
    for key, venv, args, extra in list(configs):
        if key in ("ours/otlp", "empty", "upstream-control/otlp", "upstream-oltp/otlp"):
            configs.append((key + "/chaoslib", venv, args + ["--via-chaoslib"], extra))
    runs = {}
    for _ in range(ACTIVITY_PROCS):
        for key, venv, args, extra in configs:
            env = ctx.env({**big_queue, **extra})
            r = run_json(
                [ctx.py(venv), probe, *args, "--reps", str(ACTIVITY_REPS), "--n", str(ACTIVITY_N)],
                env=env,
            )[0]
            runs.setdefault(key, []).append(r)
    res = {}
    for key, rs in runs.items():
        best = dict(min(rs, key=lambda r: statistics.median(r["samples"])))
        best["by_kind"] = {
            kind: min((r["by_kind"][kind] for r in rs), key=statistics.median)
            for kind in best["by_kind"]
        }
        best["processes"] = len(rs)
        best["process_medians"] = [statistics.median(r["samples"]) for r in rs]
        res[key] = best
    ctx.put("activity", res)


# ---------------------------------------------------------------------------
# 4 + 8: chaos run wall time, exit delay with failing collectors
# ---------------------------------------------------------------------------
def experiment(control=None, configuration=None):
    acts = [
        {
            "type": "action",
            "name": f"action-{i:02d}",
            "provider": {
                "type": "python",
                "module": "bench_actions",
                "func": "answer",
                "arguments": {"value": i},
            },
        }
        for i in range(CHAOS_ACTIVITIES)
    ]
    exp = {
        "version": "1.0.0",
        "title": f"chaostracing benchmark: {CHAOS_ACTIVITIES} python actions",
        "description": "Quick python actions, one span each.",
        "configuration": dict(configuration or {}),
        "method": acts,
        "rollbacks": [],
    }
    if control:
        exp["controls"] = [
            {"name": "tracing", "provider": {"type": "python", "module": control}}
        ]
    return exp


def chaos_configs(ctx, collector):
    """(key, venv, experiment, env) for each implementation exporting to the
    given collector mode (ok, refused, silent, 503)."""
    url = ctx.url(collector)
    return [
        (
            "ours",
            ctx.ours,
            experiment(
                "chaostracing.control",
                {
                    "tracing_provider": "opentelemetry",
                    "tracing_opentelemetry_exporter": "otlp-http",
                    "tracing_opentelemetry_collector_endpoint": url,
                },
            ),
            {},
        ),
        (
            "upstream-control",
            ctx.upstream,
            experiment(
                "chaostracing.control",
                {
                    "tracing_provider": "opentelemetry",
                    "tracing_opentelemetry_exporter": "oltp-http",
                    "tracing_opentelemetry_collector_endpoint": url,
                },
            ),
            {},
        ),
        (
            "upstream-oltp",
            ctx.upstream,
            experiment("chaostracing.oltp"),
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url},
        ),
    ]


def run_chaos(ctx, venv, exp, extra_env):
    """One `chaos run`; returns (wall seconds, exit code, journal status)."""
    d = Path(tempfile.mkdtemp(dir=ctx.work))
    (d / "experiment.json").write_text(json.dumps(exp))
    (d / "settings.yaml").write_text("{}\n")
    cmd = [
        str(venv / "bin" / "chaos"),
        "--no-version-check",
        "--settings",
        str(d / "settings.yaml"),
        "--log-file",
        str(d / "chaostoolkit.log"),
        "run",
        "--journal-path",
        str(d / "journal.json"),
        str(d / "experiment.json"),
    ]
    t0 = time.monotonic()
    p = subprocess.Popen(
        cmd,
        cwd=str(d),
        env=ctx.env(extra_env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Popen.wait(timeout=) polls with sleeps of up to 50 ms, which would
    # quantise the wall time; a blocking wait() with a kill timer does not.
    killed = []

    def kill():
        killed.append(True)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(CHAOS_TIMEOUT, kill)
    timer.start()
    rc = p.wait()
    wall = time.monotonic() - t0
    timer.cancel()
    if killed:
        rc = "timeout"
    status = None
    try:
        status = json.loads((d / "journal.json").read_text()).get("status")
    except Exception:
        pass
    logtail = ""
    try:
        logtail = [
            ln
            for ln in (d / "chaostoolkit.log").read_text(errors="replace").splitlines()
            if "chaostracing" in ln or "ERROR" in ln
        ][-3:]
    except Exception:
        pass
    shutil.rmtree(d, ignore_errors=True)
    return wall, rc, status, logtail


def bench_chaos(ctx):
    runs = {}
    plan = [("none-ours", ctx.ours, experiment(), {}, CHAOS_RUNS),
            ("none-upstream", ctx.upstream, experiment(), {}, CHAOS_RUNS),
            ("empty-ours", ctx.ours, experiment("empty_control"), {}, CHAOS_RUNS),
            ("empty-upstream", ctx.upstream, experiment("empty_control"), {}, CHAOS_RUNS)]
    for key, venv, exp, env in chaos_configs(ctx, "ok"):
        plan.append((key, venv, exp, env, CHAOS_RUNS))
    for i in range(CHAOS_RUNS + 1):  # run 0 warms the page cache, not recorded
        for key, venv, exp, env, n in plan:
            if i > n:
                continue
            wall, rc, status, tail = run_chaos(ctx, venv, exp, env)
            if i == 0:
                continue
            r = runs.setdefault(key, {"wall_s": [], "rc": [], "status": [], "log": []})
            r["wall_s"].append(wall)
            r["rc"].append(rc)
            r["status"].append(status)
            r["log"] = tail
    ctx.put("chaos", runs)


def bench_exit(ctx):
    res = {}
    for collector in ("refused", "silent", "503"):
        plan = []
        for key, venv, exp, env in chaos_configs(ctx, collector):
            n = CHAOS_FAIL_RUNS_OURS if key == "ours" else CHAOS_FAIL_RUNS_UPSTREAM
            plan.append((key, venv, exp, env, n))
        for i in range(max(p[4] for p in plan)):
            for key, venv, exp, env, n in plan:
                if i >= n:
                    continue
                wall, rc, status, tail = run_chaos(ctx, venv, exp, env)
                r = res.setdefault(f"{collector}/{key}", {"wall_s": [], "rc": [], "status": []})
                r["wall_s"].append(wall)
                r["rc"].append(rc)
                r["status"].append(status)
                r["log"] = tail
        log(f"   exit with {collector} collector done")
    ctx.put("exit", res)


# ---------------------------------------------------------------------------
# 5 + 7: C core and Go SDK micro-benchmarks
# ---------------------------------------------------------------------------
def bench_native(ctx):
    res = {}

    def add(objs):
        for o in objs:
            res[f"{o['impl']}.{o['metric']}"] = o

    c, g = str(ctx.cbench), str(ctx.gobench)
    add(run_json([c, "span", "7", str(C_SPAN_N)]))
    add(run_json([g, "span", "-reps", "7", "-n", str(C_SPAN_N // 2)]))
    for t in ("1", "2"):
        add(run_json([c, "enqueue", t, "7", "200000"]))
        add(run_json([g, "enqueue", "-threads", t, "-reps", "7", "-n", "200000"]))
    add(run_json([c, "encode", "7", "200"]))
    add(run_json([g, "encode", "-reps", "7", "-iters", "40"]))
    add(run_json([c, "memory", "20000", "5"]))
    add(run_json([g, "memory", "-n", "20000", "-reps", "5"]))
    ctx.put("native", res)


# ---------------------------------------------------------------------------
# 6: export throughput and exporter CPU
# ---------------------------------------------------------------------------
def bench_export(ctx):
    url = ctx.url("ok")
    s0 = ctx.receiver_stats()
    impls = {
        "c": (
            lambda: [str(ctx.cbench), "export", url, str(EXPORT_N_NATIVE)],
            lambda: [str(ctx.cbench), "export", "-", str(EXPORT_N_NATIVE)],
        ),
        "go": (
            lambda: [str(ctx.gobench), "export", "-url", url, "-n", str(EXPORT_N_NATIVE)],
            lambda: [str(ctx.gobench), "export", "-n", str(EXPORT_N_NATIVE)],
        ),
        "otel-sdk": (
            lambda: [ctx.py(ctx.otel), str(HERE / "probe_sdk.py"), "export", url,
                     "--n", str(EXPORT_N_PY)],
            lambda: [ctx.py(ctx.otel), str(HERE / "probe_sdk.py"), "export", "-",
                     "--n", str(EXPORT_N_PY)],
        ),
    }
    res = {}
    for rep in range(EXPORT_REPS):
        for impl, (live, base) in impls.items():
            for kind, mk in (("live", live), ("base", base)):
                o = run_json(mk(), env=ctx.env())[0]
                r = res.setdefault(impl, {"live": [], "base": []})
                r[kind].append(o)
    s1 = ctx.receiver_stats()
    ctx.put("export", res)
    ctx.put("export_receiver", {"requests": s1["requests"] - s0["requests"],
                                "bytes": s1["bytes"] - s0["bytes"]})


# ---------------------------------------------------------------------------
# machine and versions
# ---------------------------------------------------------------------------
def sh(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw).stdout.strip()
    except Exception as e:
        return f"? ({e})"


def meta(ctx):
    m = ctx.results["meta"]
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    m["cpu"] = cpu
    m["cores"] = os.cpu_count()
    m["kernel"] = os.uname().release
    m["python"] = sh([ctx.py(ctx.ours), "-c", "import sys; print(sys.version.split()[0])"])
    m["go"] = sh(["go", "version"])
    m["cc"] = sh(["cc", "--version"]).splitlines()[0] if sh(["cc", "--version"]) else "?"
    m["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    m["commit"] = sh(["git", "-C", str(ctx.repo), "rev-parse", "--short", "HEAD"])
    if ctx.baseline_rev:
        m["baseline"] = ctx.baseline_rev
    m["dirty"] = bool(sh(["git", "-C", str(ctx.repo), "status", "--porcelain", "--", "src",
                          "include", "python"]))
    pkgs = {}
    for name, venv in (("upstream", ctx.upstream), ("otel", ctx.otel), ("ours", ctx.ours)):
        frz = sh([ctx.py(venv), "-m", "pip", "freeze", "--disable-pip-version-check"])
        keep = [ln for ln in frz.splitlines()
                if re.match(r"(?i)(chaostoolkit|opentelemetry-(sdk|api|exporter-otlp-proto-http|"
                            r"opentracing-shim)|opentracing|protobuf)\b", ln)]
        pkgs[name] = keep
    m["packages"] = pkgs
    gomod = (ctx.repo / "bench" / "go" / "go.mod").read_text()
    m["go_modules"] = re.findall(r"^\s+(go\.opentelemetry\.io/\S+ \S+|google\.golang\.org/protobuf \S+)$",
                                 gomod, re.M)


SECTIONS = {
    "import": bench_import,
    "sdk_span": bench_sdk_span,
    "activity": bench_activity,
    "chaos": bench_chaos,
    "native": bench_native,
    "export": bench_export,
    "exit": bench_exit,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--ours-venv", required=True)
    ap.add_argument("--upstream-venv", required=True)
    ap.add_argument("--otel-venv", required=True)
    ap.add_argument("--go-bench", required=True)
    ap.add_argument("--c-bench", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--baseline-venv", default="", help="this repository at an earlier commit")
    ap.add_argument("--baseline-rev", default="")
    ap.add_argument("--only", default="", help="comma-separated sections")
    a = ap.parse_args()
    ctx = Ctx(a)
    only = [s for s in a.only.split(",") if s]
    try:
        ctx.start_receivers()
        meta(ctx)
        for name, fn in SECTIONS.items():
            if not only or name in only:
                section(ctx, name, fn)
    finally:
        ctx.stop()
    ctx.results["meta"]["bench_seconds"] = round(time.monotonic() - T_START, 1)
    out = Path(a.out)
    if only and out.exists():  # partial run: merge into the previous results
        old = json.loads(out.read_text())
        old_err = old.get("errors", {})
        for k in only:
            old_err.pop(k, None)
        old.update({k: v for k, v in ctx.results.items() if k not in ("errors", "meta")})
        old_err.update(ctx.results["errors"])
        old["errors"] = old_err
        saved = {k: old.get("meta", {}).get(k, {}) for k in ("section_seconds", "loadavg")}
        old.setdefault("meta", {}).update(ctx.results["meta"])
        old["meta"].update(saved)
        for k in ("section_seconds", "loadavg"):
            old["meta"].setdefault(k, {}).update(ctx.results["meta"].get(k, {}))
        old["meta"]["bench_seconds"] = "partial rerun"
        ctx.results = old
    out.write_text(json.dumps(ctx.results, indent=1))
    log(f"results in {out}")


if __name__ == "__main__":
    main()
