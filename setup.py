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
# `make pytest-asan`: the extension built with ASan+UBSan (the interpreter is
# not, so the runtimes are LD_PRELOADed), in its own build directory so that
# setuptools never reuses objects of the normal build.
SANITIZE = os.environ.get("CHAOSTRACING_SANITIZE") == "1"
LDFLAGS = []
OPTIONS = {}
if SANITIZE:
    SAN = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    CFLAGS += ["-O1", "-g", "-fno-sanitize-recover=all"] + SAN
    LDFLAGS += SAN
    OPTIONS = {"build": {"build_base": "build/py-asan"}}

setup(
    ext_modules=[
        Extension(
            "chaostracing.control",
            sources=["python/chaostracing/control.c"] + LIBRARY,
            include_dirs=["include", "src"],
            libraries=["curl", "z", "pthread"],
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
            depends=sorted(glob("include/chaostracing/*.h") + glob("src/*/*.h")),
        )
    ],
    options=OPTIONS,
)
