"""chaostracing: distributed tracing for Chaos Toolkit experiments.

The control lives in the C extension module ``chaostracing.control`` and the
``chaostracing`` command in ``chaostracing._cli``; this package file only
carries the version, CTR_VERSION of the C library.
"""

from chaostracing._cli import __version__

__all__ = ["__version__"]
