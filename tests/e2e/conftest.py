"""Fixtures of the end-to-end tests: a real OpenTelemetry Collector and a
real Jaeger (built from Go modules by build.sh, started once per session on
free loopback ports, stopped at the end), and one traced `chaos run` per
(backend, scenario), made on first use and shared by every test that asks:
main.json for a Scenario, two activities of another extension's API for an
ExtensionScenario (scenarios.py).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import pytest
import yaml

from e2e_support import Backend, Collector, Jaeger, Ports, TargetService, build, running
from python_tests_conftest import (
    MAIN_SPAN_COUNT,
    MAIN_TITLE,
    ChaosRun,
    ChaosRunner,
    Spans,
    main_experiment,
    tracing_control,
    with_tracing,
)
from scenarios import EXTENSION_TITLE, ExtensionScenario, Scenario
from service import SERVICE_NAME

BACKENDS = {"collector": Collector, "jaeger": Jaeger}
BINARIES = {"collector": "otelcol", "jaeger": "jaeger"}
# The experiment's spans plus the target service's three server spans (two
# probes and one action call it).
SERVICE_SPANS = 3
TRACE_SPAN_COUNT = MAIN_SPAN_COUNT + SERVICE_SPANS


@dataclass
class TracedRun:
    backend: str
    scenario: Union[Scenario, ExtensionScenario]
    title: str
    run: ChaosRun
    target_url: str
    spans: List[Dict[str, Any]]  # the experiment's trace, as the backend gave it
    trace_id: Optional[str]
    jaeger_v1: Optional[Dict[str, Any]] = None  # /api/traces/{id} (Jaeger only)


KIND_SERVER = 2
# Headers every request has; the rest are the propagation headers.
ORDINARY_HEADERS = {"host", "user-agent", "accept", "accept-encoding", "connection", "x-test"}


def ours(traced: TracedRun) -> Spans:
    """The experiment's spans (service.name chaostoolkit)."""
    return Spans([s for s in traced.spans if s["resource"]["service.name"] == "chaostoolkit"])


def theirs(traced: TracedRun) -> List[Dict[str, Any]]:
    """The target service's spans, in start order."""
    found = [s for s in traced.spans if s["resource"]["service.name"] == SERVICE_NAME]
    return sorted(found, key=lambda s: s["start"])


def propagation_headers(server: Dict[str, Any]) -> List[str]:
    """The names of the headers a request to the service carried, the
    ordinary ones aside (service.py records them on its server span)."""
    names = server["attributes"]["test.request.header_names"]
    if isinstance(names, str):  # Jaeger keeps arrays as JSON text
        names = json.loads(names)
    return sorted(set(names) - ORDINARY_HEADERS)


class Session:
    """The backends, started on first use, and the runs made so far."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.backends: Dict[str, Backend] = {}
        self.runs: Dict[Tuple[str, str], Any] = {}

    def backend(self, name: str) -> Backend:
        if name not in self.backends:
            b = BACKENDS[name](build(BINARIES[name]), self.workdir / name)
            self.backends[name] = b.start()
        return self.backends[name]

    def stop(self) -> None:
        for b in self.backends.values():
            b.stop()

    def run(self, backend: str, scenario: Union[Scenario, ExtensionScenario]) -> TracedRun:
        """The traced run of `scenario` into `backend`, made once; a failure
        to make it is raised again for every test that asks."""
        key = (backend, scenario.id)
        if key not in self.runs:
            try:
                self.runs[key] = self._make(backend, scenario)
            except BaseException as e:  # noqa: B036 (pytest.fail is BaseException)
                self.runs[key] = e
        got = self.runs[key]
        if isinstance(got, BaseException):
            raise got
        return got

    def _make(self, name: str, scenario: Union[Scenario, ExtensionScenario]) -> TracedRun:
        backend = self.backend(name)
        workdir = self.workdir / f"{name}-{scenario.id}"
        workdir.mkdir()
        if isinstance(scenario, ExtensionScenario):
            title = f"{EXTENSION_TITLE} ({scenario.id} to {name})"
            count = scenario.trace_span_count
        else:
            title = f"{MAIN_TITLE} ({scenario.id} to {name})"
            count = TRACE_SPAN_COUNT
        with running(
            TargetService(
                backend.ports.otlp_http_traces, scenario.sdk_propagator, workdir / "service.log"
            )
        ) as service:
            if isinstance(scenario, ExtensionScenario):
                exp = scenario.experiment(title, service.url, backend.ports)
                run = ChaosRunner(workdir)(exp)
            else:
                run = self._run_main(scenario, title, service.url, backend.ports, workdir)
        # The service has stopped, so its spans are flushed too.
        trace_id, spans = backend.wait_trace(title, count, since_ns=run.started_ns)
        traced = TracedRun(name, scenario, title, run, service.url, spans, trace_id)
        if name == "jaeger" and trace_id:
            traced.jaeger_v1 = backend.v1_trace(trace_id)
        return traced

    @staticmethod
    def _run_main(
        scenario: Scenario, title: str, url: str, ports: Ports, workdir: Path
    ) -> ChaosRun:
        """main.json against `url`, the control declared as the scenario says."""
        settings: Dict[str, Any] = {}
        args: List[str] = []
        exp = main_experiment(url)
        exp["title"] = title
        declared = scenario.settings(ports)
        if scenario.declare == "experiment":
            exp = with_tracing(exp, declared)
        else:
            control = tracing_control(declared)
            controls = {control.pop("name"): control}
            if scenario.declare == "settings":
                settings = {"controls": controls}
            else:
                path = workdir / "controls.yaml"
                path.write_text(yaml.safe_dump(controls))
                args = ["--control-file", str(path)]
        return ChaosRunner(workdir)(exp, env=scenario.env, settings=settings, args=args)


@pytest.fixture(scope="session")
def e2e(tmp_path_factory):
    session = Session(tmp_path_factory.mktemp("e2e"))
    yield session
    session.stop()
