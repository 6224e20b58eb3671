# chaostracing — build, test and demo.
#   make demo   a real `chaos run` traced to a local file (no collector)
#   make test   lint, C unit tests (ASan+UBSan, TSan), pytest end to end
# Both first install what the machine lacks (tools/ensure-build-deps.sh).
# V=1 shows the compiler and pip output that is otherwise hidden.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
CC     ?= cc

SRCS    := $(sort $(wildcard src/*/*.c))
HDRS    := $(wildcard include/chaostracing/*.h src/*/*.h)
CTESTS  := $(sort $(basename $(notdir $(wildcard tests/c/test_*.c))))
# Tests that exercise threads also run under ThreadSanitizer.
TSAN_TESTS := test_batch test_otlp_http test_grpc

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
BASE    := -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) -g
# The library, its C tests and tools see its internals (src/, struct layouts);
# the command-line tool sees only include/.
INTERNAL := -Isrc -DCHAOSTRACING_INTERNAL
LIBS    := -lcurl -lz -lpthread -lm
ASAN    := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN    := -O1 -fsanitize=thread

.PHONY: all lib cli tools ctest tsan lint format venv install pytest test demo clean fuzz bench
.PHONY: deps deps-test deps-fuzz deps-wheel wheel wheel-check docker-check k8s-check

# What the build needs from the system (compiler, libcurl/zlib/Python
# headers, venv; clang-format and openssl for the tests; clang for fuzzing),
# installed with apt-get when missing. Order-only prerequisites of the first
# compiling or venv step, so it runs before them even with -j.
ENSURE_DEPS = @PYTHON='$(PYTHON)' CC='$(CC)' sh tools/ensure-build-deps.sh
deps:
	$(ENSURE_DEPS) build
deps-test:
	$(ENSURE_DEPS) test
deps-fuzz:
	$(ENSURE_DEPS) fuzz
deps-wheel:
	$(ENSURE_DEPS) wheel
$(foreach v,release asan tsan,$(SRCS:%.c=build/$(v)/%.o)) build/chaostracing $(VPY): | deps
lint ctest tsan pytest: | deps-test

all: lib cli

build/release/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) -O2 -fPIC -c $< -o $@
build/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(ASAN) -c $< -o $@
build/tsan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(TSAN) -c $< -o $@

build/release/libchaostracing.a: $(SRCS:%.c=build/release/%.o)
	rm -f $@ && ar rcs $@ $^
build/asan/libchaostracing.a: $(SRCS:%.c=build/asan/%.o)
	rm -f $@ && ar rcs $@ $^
build/tsan/libchaostracing.a: $(SRCS:%.c=build/tsan/%.o)
	rm -f $@ && ar rcs $@ $^

lib: build/release/libchaostracing.a

CLI_SRCS := $(wildcard cli/*.c)
build/chaostracing: $(CLI_SRCS) $(wildcard cli/*.h) build/release/libchaostracing.a $(HDRS)
	$(CC) $(BASE) -O2 -Icli $(CLI_SRCS) build/release/libchaostracing.a $(LIBS) -o $@
cli: $(if $(CLI_SRCS),build/chaostracing)

# Small C programs the Python tests drive (tests/c/tools/NAME.c → build/tools/NAME).
TOOLS := $(basename $(notdir $(wildcard tests/c/tools/*.c)))
build/tools/%: tests/c/tools/%.c build/release/libchaostracing.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) -O2 $< build/release/libchaostracing.a $(LIBS) -o $@
tools: $(TOOLS:%=build/tools/%)

build/asan/tests/%: tests/c/%.c $(wildcard tests/c/*.h) build/asan/libchaostracing.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(ASAN) $< build/asan/libchaostracing.a $(LIBS) -o $@
build/tsan/tests/%: tests/c/%.c $(wildcard tests/c/*.h) build/tsan/libchaostracing.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(TSAN) $< build/tsan/libchaostracing.a $(LIBS) -o $@

# Each test binary runs in its own process with a time limit.
ctest: $(CTESTS:%=build/asan/tests/%)
	@set -e; for t in $(CTESTS); do echo "== $$t (asan+ubsan)"; \
	  (cd tests/c && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	   timeout 120 ../../build/asan/tests/$$t); done

tsan: $(TSAN_TESTS:%=build/tsan/tests/%)
	@set -e; for t in $(TSAN_TESTS); do echo "== $$t (tsan)"; \
	  (cd tests/c && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	   setarch $$(uname -m) -R timeout 300 ../../build/tsan/tests/$$t); done

BANNED := '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|strncpy)\s*\('
lint:
	@if grep -rnE $(BANNED) src include python cli --include='*.c' --include='*.h'; then \
	  echo "banned function used (see above)"; exit 1; fi
	@if grep -rln 'Python.h' src include; then echo "Python.h in the core"; exit 1; fi
	@if command -v clang-format >/dev/null; then \
	  clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h' 2>/dev/null || find src include python cli tests -name '*.[ch]'); \
	else echo "clang-format not installed: format check skipped"; fi
	@echo "lint ok"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The venv for the demo and the tests. The demo needs Chaos Toolkit and what
# `pip install .` builds with (no build isolation, so nothing is fetched
# twice); pip stays the one that came with the Python. The tests add a newer
# pip and TEST_PKGS: chaostoolkit is the latest that supports this Python;
# the rest are test-only decoders and peers, never imported by the package. Two packages only ship generated Jaeger classes we
# decode with; their declared dependencies pin an old protobuf, so they go in
# without them.
TEST_PKGS := setuptools wheel chaostoolkit opentelemetry-proto pytest \
	grpcio==1.85.1 cryptography==50.0.2 googleapis-common-protos==1.76.0 thrift==0.22.0 \
	opentelemetry-api==1.45.2 opentelemetry-propagator-b3==1.45.1 \
	opentelemetry-propagator-jaeger==1.45.1 opentelemetry-propagator-aws-xray==1.0.2
NODEPS_PKGS := opentelemetry-exporter-jaeger-thrift==1.21.0 \
	opentelemetry-exporter-jaeger-proto-grpc==1.21.0

DEMO_PKGS := chaostoolkit 'setuptools>=70.1'
Q   := $(if $(V),,@)
PIP := $(VPY) -m pip --disable-pip-version-check $(if $(V),-v,-q)

$(VPY):
	@echo "== $(VENV): a venv of $$($(PYTHON) -c 'import sys; print(sys.executable)')"
	$(Q)$(PYTHON) -m venv $(VENV)

$(VENV)/.base: | $(VPY)
	@echo "== $(VENV): $(DEMO_PKGS)"
	$(Q)$(PIP) install $(DEMO_PKGS)
	@touch $@

$(VENV)/.deps: Makefile $(VENV)/.base
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q $(TEST_PKGS)
	$(VPY) -m pip install -q --no-deps $(NODEPS_PKGS)
	@touch $@

venv: $(VENV)/.deps

# The package (the control and the `chaostracing` command), built and
# installed into the venv with pip; `install` also brings the test packages.
PKG_SRCS := $(SRCS) $(HDRS) $(wildcard src/*/*.h python/*/*.c python/*/*.h python/*/*.py) \
	$(wildcard cli/*.c cli/*.h) setup.py pyproject.toml MANIFEST.in
$(VENV)/.installed: $(VENV)/.base $(PKG_SRCS)
	@echo "== $(VENV): chaostracing, compiled by pip install .$(if $(V),, (V=1 shows the compiler))"
	$(Q)CHAOSTRACING_WERROR=1 $(PIP) install --no-build-isolation --force-reinstall --no-deps .
	@touch $@
install: $(VENV)/.deps $(VENV)/.installed

pytest: install cli tools
	$(VPY) -m pytest -q tests/python

test: lint ctest tsan pytest

# The demo uses the `chaostracing` command pip installed: one compilation.
demo: $(VENV)/.installed
	@examples/demo/run.sh $(VENV)

# libFuzzer targets for the header and wire parsers (tests/fuzz/).
fuzz: | deps-fuzz
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

# The sdist and one manylinux wheel per supported CPython (pyenv's, or
# PYTHON_3_12=/path...), libcurl inside (tools/build-wheels.sh); then each
# wheel installed and tracing real runs in a bare Debian root made with
# debootstrap, cached in ~/.cache/chaostracing (tests/install/).
WHEEL_PYTHONS ?= 3.9 3.10 3.11 3.12 3.13
wheel: | deps-wheel
	@WHEEL_PYTHONS='$(WHEEL_PYTHONS)' tools/build-wheels.sh dist
wheel-check: wheel venv
	WHEEL_PYTHONS='$(WHEEL_PYTHONS)' $(VPY) -m pytest -q tests/install/test_wheels.py

# examples/docker/Dockerfile without a container engine: its stages built in
# debootstrap roots standing in for debian:*-slim, then the image run as the
# README's `docker run` and as the Kubernetes Job (tests/install/).
docker-check: venv | deps-wheel
	$(VPY) -m pytest -q tests/install/test_dockerfile.py

# examples/kubernetes validated against the Kubernetes API types (Go).
k8s-check:
	@command -v go >/dev/null || { echo "chaostracing: make k8s-check needs Go (go.dev/doc/install)"; exit 1; }
	cd tests/k8s && go test -count=1 ./...

# Benchmarks side by side with the Python upstream and the Go SDK (bench/).
bench: install cli
	@bench/run.sh $(VENV)

clean:
	rm -rf build dist *.egg-info python/*.egg-info demo-out
