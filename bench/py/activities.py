"""Realistic activity dicts and their runs, shared by the per-activity benchmark.

The three providers a Chaos Toolkit experiment uses most: python, http and
process, with the run states chaoslib builds for them.
"""

import copy

CONFIGURATION = {
    "target_url": "http://127.0.0.1:8080",
    "tracing_provider": "opentelemetry",
}
SECRETS = {}

PYTHON = {
    "type": "action",
    "name": "action-python-answer",
    "provider": {
        "type": "python",
        "module": "bench_actions",
        "func": "answer",
        "arguments": {"value": 42},
    },
}
PYTHON_RUN = {
    "status": "succeeded",
    "output": {"answer": 42},
    "start": "2024-05-01T10:00:00.000001",
    "end": "2024-05-01T10:00:00.001201",
    "duration": 0.0012,
}

HTTP = {
    "type": "probe",
    "name": "probe-http-health",
    "tolerance": 200,
    "provider": {
        "type": "http",
        "url": "http://127.0.0.1:8080/health",
        "method": "GET",
        "timeout": 3,
        "headers": {"Accept": "application/json"},
    },
}
HTTP_RUN = {
    "status": "succeeded",
    "output": {
        "status": 200,
        "headers": {"Content-Type": "application/json", "Content-Length": "15"},
        "body": {"status": "ok"},
    },
    "start": "2024-05-01T10:00:00.000001",
    "end": "2024-05-01T10:00:00.004001",
    "duration": 0.004,
    "tolerance_met": True,
}

PROCESS = {
    "type": "action",
    "name": "action-process-echo",
    "provider": {
        "type": "process",
        "path": "echo",
        "arguments": ["hello", "world"],
        "timeout": 10,
    },
}
PROCESS_RUN = {
    "status": "succeeded",
    "output": {"status": 0, "stdout": "hello world\n", "stderr": ""},
    "start": "2024-05-01T10:00:00.000001",
    "end": "2024-05-01T10:00:00.002001",
    "duration": 0.002,
}


def activity_set():
    """Fresh (activity, run) pairs, one per provider type; each run refers to
    its activity as chaoslib's do."""
    out = []
    for act, run in ((PYTHON, PYTHON_RUN), (HTTP, HTTP_RUN), (PROCESS, PROCESS_RUN)):
        a = copy.deepcopy(act)
        r = copy.deepcopy(run)
        r["activity"] = a
        out.append((a, r))
    return out


EXPERIMENT = {
    "version": "1.0.0",
    "title": "chaostracing benchmark",
    "description": "per-activity control overhead",
    "configuration": CONFIGURATION,
    "method": [PYTHON, HTTP, PROCESS],
    "rollbacks": [],
}


# The span every Python-API and export benchmark makes (same as bench/c and
# bench/go): an activity-like name and ten attributes.
SPAN_NAME = "action-python-answer"
SPAN_ATTRS = {
    "chaostoolkit.activity.name": "action-python-answer",
    "chaostoolkit.activity.type": "action",
    "chaostoolkit.activity.provider.type": "python",
    "chaostoolkit.activity.provider.module": "bench_actions",
    "chaostoolkit.activity.provider.func": "answer",
    "chaostoolkit.activity.status": "succeeded",
    "chaostoolkit.activity.output": '{"answer": 42}',
    "chaostoolkit.activity.background": False,
    "chaostoolkit.activity.timeout": 30,
    "chaostoolkit.activity.duration": 0.0123,
}
