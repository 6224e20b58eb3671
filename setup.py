# Build glue: the C extension modules and the C library they embed.
# Everything else about the package is declared in pyproject.toml.
import os
from glob import glob

from setuptools import Extension, setup

LIBRARY = sorted(glob("src/*/*.c"))
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra",
          "-Wno-missing-field-initializers", "-fvisibility=hidden"]
# Warnings are errors in the project's own builds (make, CI), not for users.
if os.environ.get("CHAOSTRACING_WERROR") == "1":
    CFLAGS.append("-Werror")

setup(
    ext_modules=[
        Extension(
            "chaostracing.control",
            sources=["python/chaostracing/control.c"] + LIBRARY,
            include_dirs=["include", "src"],
            libraries=["curl", "z", "pthread"],
            extra_compile_args=CFLAGS,
            depends=sorted(glob("include/chaostracing/*.h") + glob("src/*/*.h")),
        )
    ],
)
