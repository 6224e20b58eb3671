"""An extension module decorating its activity with the OpenTelemetry API
at import time (chaoslib imports it when the activity runs, after the
control has installed its provider; a ProxyTracer takes it either way)."""

from opentelemetry import trace

tracer = trace.get_tracer("decorating.extension")


@tracer.start_as_current_span("decorated-work", attributes={"step": "one"})
def decorated(count: int, label: str = "x") -> dict:
    span = trace.get_current_span()
    span.set_attribute("count", count)
    return {"label": label, "span_id": format(span.get_span_context().span_id, "016x")}



class _Step:
    """An awaitable that yields once to whoever drives the coroutine."""

    def __await__(self):
        yield "paused"


def _coroutines(tr):
    """Coroutine functions decorated with tr.start_as_current_span."""
    import asyncio

    @tr.start_as_current_span("async-fetch")
    async def fetch(i: int, delay: float) -> dict:
        span = trace.get_current_span()
        span.set_attribute("i", i)
        await asyncio.sleep(delay)
        return {
            "span_id": format(span.get_span_context().span_id, "016x"),
            "still_current": trace.get_current_span() is span,
        }

    @tr.start_as_current_span("async-outer")
    async def outer(delay: float) -> dict:
        return await fetch(3, delay)

    @tr.start_as_current_span("async-fail")
    async def fail() -> None:
        await asyncio.sleep(0)
        raise ValueError("async failure")

    @tr.start_as_current_span("async-cancelled")
    async def cancelled() -> None:
        await asyncio.sleep(30)

    @tr.start_as_current_span("async-abandoned")
    async def abandoned() -> None:
        await _Step()
        await _Step()

    return fetch, outer, fail, cancelled, abandoned


def decorated_async(delay: float, tracer_from: str) -> dict:
    """Coroutine functions decorated with start_as_current_span, run by
    asyncio in the activity: concurrent, nested, failing, cancelled, and one
    left half-way and collected. tracer_from "run": decorated with the tracer
    of the running control; "import": with this module's tracer, got at
    import (chaoslib imports the module to validate the experiment, before
    the control is configured: OpenTelemetry's proxy tracer)."""
    import asyncio
    import gc
    import inspect

    tr = trace.get_tracer("decorating.extension") if tracer_from == "run" else tracer
    fetch, outer, fail, cancelled, abandoned = _coroutines(tr)

    async def main() -> dict:
        before = trace.get_current_span()
        a, b, c = await asyncio.gather(fetch(1, delay), fetch(2, delay), outer(delay))
        try:
            await fail()
            failed = None
        except ValueError as e:
            failed = str(e)
        task = asyncio.ensure_future(cancelled())
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
            was_cancelled = False
        except asyncio.CancelledError:
            was_cancelled = True
        return {
            "fetched": [a, b, c],
            "failed": failed,
            "cancelled": was_cancelled,
            "current_kept": trace.get_current_span() is before,
        }

    out = asyncio.run(main())
    co = abandoned()
    out["first_step"] = co.send(None)
    del co
    gc.collect()
    out["tracer"] = type(tr).__name__
    out["iscoroutinefunction"] = [
        inspect.iscoroutinefunction(fetch),
        asyncio.iscoroutinefunction(fetch),
        inspect.iscoroutinefunction(decorated),
    ]
    return out
