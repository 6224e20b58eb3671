"""The backends as configured, and Jaeger's two query APIs.

The generated configs put every receiver and Jaeger's query API on the free
loopback ports the harness picked, and nothing else: Jaeger's defaults would
take 16 fixed ports, some on all interfaces. Jaeger's v1 API
(/api/traces/{id}, the one its UI reads) must show the same trace as v3.
"""

import pytest

from conftest import TRACE_SPAN_COUNT
from e2e_support import listening_sockets, v1_spans
from scenarios import SCENARIOS
from service import SERVICE_NAME


@pytest.mark.parametrize("name", ["collector", "jaeger"])
def test_backend_listens_only_where_its_config_says(e2e, name):
    backend = e2e.backend(name)
    assert listening_sockets(backend.proc.pid) == backend.sockets()


@pytest.fixture(params=SCENARIOS, ids=[s.id for s in SCENARIOS])
def jaeger_run(request, e2e):
    return e2e.run("jaeger", request.param)


SKEW_NOTE = "clock skew adjustment disabled"


def test_v1_api_shows_the_same_trace_as_v3(jaeger_run):
    v1 = jaeger_run.jaeger_v1
    assert v1 is not None, f"/api/traces/{jaeger_run.trace_id} found nothing"
    assert v1["traceID"] == jaeger_run.trace_id
    assert not v1.get("warnings"), v1["warnings"]
    got = v1_spans(v1)
    for s in v1["spans"]:
        # A server span may end a little after the client got its answer;
        # Jaeger notes it (clock skew adjustment is off). Our spans nest.
        ok = SKEW_NOTE if got[s["spanID"]][2] == SERVICE_NAME else ()
        assert all(w.startswith(ok) for w in s.get("warnings") or []), s["warnings"]
    assert len(got) == TRACE_SPAN_COUNT
    for s in jaeger_run.spans:
        name, parent, service, start_us, duration_us = got[s["span_id"]]
        assert (name, parent, service) == (s["name"], s["parent"], s["resource"]["service.name"])
        assert start_us == s["start"] // 1000
        assert abs(duration_us - (s["end"] - s["start"]) / 1000) <= 1, s["name"]


def test_v1_api_marks_the_failed_activity(jaeger_run):
    (failed,) = [
        s for s in jaeger_run.jaeger_v1["spans"] if s["operationName"] == "action-python-fails"
    ]
    tags = {t["key"]: t["value"] for t in failed["tags"]}
    assert tags.get("error") is True, tags
    wire = jaeger_run.scenario.wire
    events = [f["value"] for log in failed["logs"] for f in log["fields"] if f["key"] == "event"]
    assert [wire.event(e, {})[0] for e in events] == ["exception"], failed["logs"]


def test_jaeger_holds_only_the_runs_services(jaeger_run, e2e):
    """No trace of Jaeger's own queries (its query extension traces itself
    unless told not to)."""
    status, body = e2e.backend("jaeger").get("/api/v3/services")
    assert status == 200
    assert sorted(body["services"]) == sorted(["chaostoolkit", SERVICE_NAME])
