"""chaostracing: distributed tracing for Chaos Toolkit experiments.

The control lives in the C extension module ``chaostracing.control``; this
package file only carries the version.
"""

__version__ = "0.1.0"
