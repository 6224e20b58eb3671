"""Building and running the project's programs for the end-to-end tests.

- `build_cli()`: `make -C <root> cli tools` once per session (build/chaostracing
  and build/tools/prop_tool; `cli-asan tools-asan` and build/asan/... under
  `make pytest-asan`); a failed build fails the calling test, never skips it.
- `clean_env()`: the environment every subprocess gets: no OTEL_*, no
  TRACEPARENT/TRACESTATE/BAGGAGE, no proxy for loopback.
- `run_cli()`: run build/chaostracing with that environment and a timeout.
- `run_python()`: run a Python snippet the same way (a fresh interpreter).
- `run_check()`: run `chaostracing check` and parse the one line it prints,
  "trace_id=<hex> exported=N failed=N dropped=N destination=<where>".

The session fixtures `cli` and `version` (conftest.py) are built on these.

Under `make pytest-asan` every process runs with the ASan+UBSan runtimes
preloaded and writes any report to a file in CHAOSTRACING_SANITIZER_REPORTS:
`SANITIZED` tells, `sanitizer_reports()` lists the report files.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import pytest

# Set by `make pytest-asan`: the directory sanitizer reports are written to.
SANITIZER_REPORTS = os.environ.get("CHAOSTRACING_SANITIZER_REPORTS") or None
SANITIZED = SANITIZER_REPORTS is not None

ROOT = Path(__file__).resolve().parents[2]
# Under `make pytest-asan` the command and the tools are the ASan+UBSan builds
# (a program built without them hangs at exit with the runtimes preloaded).
_BUILD = ROOT / "build" / "asan" if SANITIZED else ROOT / "build"
_MAKE_TARGETS = ["cli-asan", "tools-asan"] if SANITIZED else ["cli", "tools"]
CLI = _BUILD / "chaostracing"
PROP_TOOL = _BUILD / "tools" / "prop_tool"
# An LD_PRELOAD shim whose getaddrinfo() sleeps SLOW_GETADDRINFO_MS and appends
# the host asked for to SLOW_GETADDRINFO_LOG (tests/c/tools/preload_*.c; never
# instrumented: it is preloaded after the sanitizer runtimes).
SLOW_GETADDRINFO = ROOT / "build" / "tools" / "preload_slow_getaddrinfo.so"
EXPERIMENTS = Path(__file__).resolve().parent / "experiments"
LOOPBACK = "127.0.0.1,localhost,::1"

CHECK_LINE = re.compile(
    r"^trace_id=([0-9a-f]{32}) exported=(\d+) failed=(\d+) dropped=(\d+) destination=(\S+)$"
)

_DROPPED_VARS = {"TRACEPARENT", "TRACESTATE", "BAGGAGE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------
_build: Dict[str, str] = {}


def build_cli() -> Path:
    """`make -C <root> cli tools` once per session; fail the test if it fails.

    Returns the path of build/chaostracing (build/tools/prop_tool is PROP_TOOL).
    """
    if "error" not in _build:
        proc = subprocess.run(
            ["make", "-C", str(ROOT), *_MAKE_TARGETS],
            capture_output=True,
            text=True,
            timeout=900,
        )
        _build["error"] = (
            "" if proc.returncode == 0 else (proc.stdout[-4000:] + proc.stderr[-4000:])
        )
    if _build["error"]:
        pytest.fail(f"make {' '.join(_MAKE_TARGETS)} failed:\n" + _build["error"], pytrace=False)
    assert CLI.is_file(), f"make did not produce {CLI}"
    assert PROP_TOOL.is_file(), f"make did not produce {PROP_TOOL}"
    assert SLOW_GETADDRINFO.is_file(), f"make did not produce {SLOW_GETADDRINFO}"
    return CLI


def sanitizer_reports() -> Dict[str, str]:
    """{path: text} of every sanitizer report written so far (empty unless
    SANITIZED)."""
    if not SANITIZER_REPORTS:
        return {}
    d = Path(SANITIZER_REPORTS)
    return {str(p): p.read_text(errors="replace") for p in sorted(d.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def clean_env(extra: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """A copy of os.environ for a subprocess of the tests.

    Without OTEL_*, TRACEPARENT/TRACESTATE/BAGGAGE and proxy variables;
    loopback excluded from any proxy; the experiments' helper module directory
    first on PYTHONPATH (for `chaos run`). Then `extra` is applied: a value of
    None removes the variable.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("OTEL_") and k.upper() not in _DROPPED_VARS
    }
    pp = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(EXPERIMENTS) + (os.pathsep + pp if pp else "")
    env["NO_PROXY"] = env["no_proxy"] = LOOPBACK
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # A spool shared between tests would send one test's spans to another's
    # receiver: off unless a test asks for one.
    env["CHAOSTRACING_SPOOL_DIR"] = "off"
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_cli(
    cli: Union[str, Path],
    *args: str,
    env: Optional[Dict[str, Any]] = None,
    timeout: float = 60,
    cwd: Optional[Path] = None,
) -> subprocess.CompletedProcess:
    """Run `cli *args` with clean_env(env) in `cwd`; text output, bounded by
    `timeout` s."""
    return subprocess.run(
        [str(cli), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(env),
        cwd=None if cwd is None else str(cwd),
    )


def run_python(
    code: str, env: Optional[Dict[str, Any]] = None, timeout: float = 60, cwd: Optional[Path] = None
) -> subprocess.CompletedProcess:
    """Run `python -c code` (this interpreter, so the installed control) with
    clean_env(env) in `cwd`; text output, bounded by `timeout` s. For code
    that may crash the interpreter, or that needs a fresh one."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(env),
        cwd=None if cwd is None else str(cwd),
    )


class CheckRun:
    """One `chaostracing check`: the process, its wall-clock bounds and the
    parsed result line (exactly one stdout line, matching CHECK_LINE)."""

    def __init__(self, proc: subprocess.CompletedProcess, t0_ns: int, t1_ns: int, wall: float):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.t0_us = t0_ns // 1000
        self.t1_us = t1_ns // 1000
        self.wall = wall
        self.stderr_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        lines = proc.stdout.splitlines()
        assert len(lines) == 1, self.describe()
        m = CHECK_LINE.match(lines[0])
        assert m, self.describe()
        self.fields: Dict[str, str] = dict(p.partition("=")[::2] for p in lines[0].split())
        self.trace_id = m.group(1)
        self.exported, self.failed, self.dropped = (int(m.group(i)) for i in (2, 3, 4))
        self.destination = m.group(5)

    def describe(self) -> str:
        """Text to attach to assertion messages."""
        return f"exit={self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def run_check(
    cli: Union[str, Path],
    *args: str,
    env: Optional[Dict[str, Any]] = None,
    timeout: float = 60,
    cwd: Optional[Path] = None,
) -> CheckRun:
    """Run `cli check *args` (see run_cli) and parse its result line."""
    t0 = time.time_ns()
    m0 = time.monotonic()
    proc = run_cli(cli, "check", *args, env=env, timeout=timeout, cwd=cwd)
    return CheckRun(proc, t0, time.time_ns(), time.monotonic() - m0)
