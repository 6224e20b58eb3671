"""make demo-jaeger: the demo experiment traced into a real Jaeger v2.

Builds (or reuses) Jaeger with tests/e2e/build.sh, starts it on free
loopback ports with in-memory storage, starts the instrumented target
service (service.py) exporting to the same Jaeger, runs
examples/demo/experiment.json against it with the exporter switched to
OTLP/HTTP (`chaos run --var`; the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT),
prints the trace id, the query URLs and the span tree as Jaeger's /api/v3
returned it (drawn by `chaostracing view`), and stops both. Logs and the
trace are left in demo-out/jaeger/.

    usage: demo_jaeger.py CLI   (the path of build/chaostracing)
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from e2e_support import Jaeger, TargetService, build, clean_env, running

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "examples" / "demo" / "experiment.json"
OUT = ROOT / "demo-out" / "jaeger"
CHAOS = Path(sys.executable).parent / "chaos"


def run_experiment(jaeger: Jaeger, target_url: str) -> int:
    """`chaos run` of the demo experiment into Jaeger; its exit status."""
    cmd = [str(CHAOS), "--no-version-check", "--log-file", str(OUT / "chaostoolkit.log")]
    cmd += ["run", "--journal-path", str(OUT / "journal.json")]
    cmd += ["--var", "tracing_opentelemetry_exporter=otlp-http", str(EXPERIMENT)]
    env = {
        "DEMO_TARGET_URL": target_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{jaeger.ports.otlp_http}",
        # Read by the experiment's configuration, unused by this exporter.
        "DEMO_TRACE_FILE": os.devnull,
    }
    with open(OUT / "chaos-output.log", "w") as output:
        return subprocess.run(
            cmd, cwd=OUT, env=clean_env(env), stdout=output, stderr=subprocess.STDOUT, timeout=120
        ).returncode


def main(cli: str) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    title = json.loads(EXPERIMENT.read_text())["title"]
    with running(Jaeger(build("jaeger"), OUT)) as jaeger:
        started = time.time_ns()
        service = TargetService(jaeger.ports.otlp_http_traces, "tracecontext", OUT / "service.log")
        with running(service):
            status = run_experiment(jaeger, service.url + "/")
        trace_id, spans = jaeger.wait_trace(title, 1, since_ns=started)
        if not trace_id:
            print(f"Jaeger has no trace of {title!r}; see {OUT}/chaostoolkit.log", file=sys.stderr)
            return 1
        _, body = jaeger.get(f"/api/v3/traces/{trace_id}")
        trace_file = OUT / "trace.json"
        trace_file.write_text(json.dumps(body["result"]) + "\n")
        services = ", ".join(sorted({s["resource"]["service.name"] for s in spans}))
        print(f"trace id:  {trace_id}  ({len(spans)} spans from {services})")
        print(f"query:     {jaeger.trace_url(trace_id)}")
        print(f"           {jaeger.query_url}/api/traces/{trace_id}\n", flush=True)
        subprocess.run([cli, "view", str(trace_file)], timeout=30)
    print(f"\nchaos run exited {status}; Jaeger stopped; logs in {OUT.relative_to(ROOT)}/")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "chaostracing")))
