"""chaostracing: distributed tracing for Chaos Toolkit experiments.

The control lives in the C extension module ``chaostracing.control`` and the
``chaostracing`` command in ``chaostracing._cli``. This file carries the
version and re-exports the API other extensions use (see the README):
``tracer()``, ``current_span()``, ``start_span()``, ``inject()``,
``extract()``.
"""

from chaostracing._cli import __version__
from chaostracing.control import (
    Span,
    SpanContext,
    Tracer,
    current_span,
    extract,
    inject,
    start_span,
    tracer,
)

__all__ = [
    "__version__",
    "Span",
    "SpanContext",
    "Tracer",
    "current_span",
    "extract",
    "inject",
    "start_span",
    "tracer",
]
