# Build glue: the C library (a static archive built first) and the extension
# modules linked against it. Everything else about the package is declared in
# pyproject.toml.
#
# The library is compiled with its internals visible (-Isrc,
# CHAOSTRACING_INTERNAL); the binding only with include/, so it can reach the
# library through its public functions alone.
import os
from glob import glob

from setuptools import Extension, setup

LIBRARY = sorted(glob("src/*/*.c"))
BINDING = sorted(glob("python/chaostracing/*.c"))
HEADERS = sorted(glob("include/chaostracing/*.h"))
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
          "-fvisibility=hidden"]
# Warnings are errors in the project's own builds (make, CI), not for users.
if os.environ.get("CHAOSTRACING_WERROR") == "1":
    CFLAGS.append("-Werror")
MACROS = [("_GNU_SOURCE", None)]
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
    libraries=[
        (
            "chaostracing",
            {
                "sources": LIBRARY,
                "include_dirs": ["include", "src"],
                "macros": MACROS + [("CHAOSTRACING_INTERNAL", None)],
                "cflags": CFLAGS,
                "obj_deps": {"": HEADERS + sorted(glob("src/*/*.h"))},
            },
        )
    ],
    ext_modules=[
        Extension(
            "chaostracing.control",
            sources=BINDING,
            include_dirs=["include"],
            define_macros=MACROS,
            # The archive first: it is what needs libcurl and zlib.
            libraries=["chaostracing", "curl", "z", "pthread"],
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
            # The archive's sources too: a library change must relink.
            depends=HEADERS + LIBRARY + sorted(glob("src/*/*.h") + glob("python/chaostracing/*.h")),
        )
    ],
    options=OPTIONS,
)
