# chaostracing — build, test and demo.
#   make demo   a real `chaos run` traced to a local file (no collector)
#   make test   lint, C unit tests (ASan+UBSan, TSan), pytest end to end, and
#               pytest again against the extension built with ASan+UBSan
# Both first install what the machine lacks (tools/ensure-build-deps.sh).
# V=1 shows the compiler and pip output that is otherwise hidden.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
# The venv of `make pytest-asan` (same packages, extension built with ASan+UBSan).
ASAN_VENV := .venv-asan
ASAN_VPY  := $(ASAN_VENV)/bin/python
CC     ?= cc

SRCS    := $(sort $(wildcard src/*/*.c))
HDRS    := $(wildcard include/chaostracing/*.h src/*/*.h)
CTESTS  := $(sort $(basename $(notdir $(wildcard tests/c/test_*.c))))
# Tests that exercise threads also run under ThreadSanitizer.
TSAN_TESTS := test_batch test_spool test_otlp_http test_grpc

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
BASE    := -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) -g
# The library, its C tests and tools see its internals (src/, struct layouts);
# the command-line tool sees only include/.
INTERNAL := -Isrc -DCHAOSTRACING_INTERNAL
LIBS    := -lcurl -lz -lpthread -lm
ASAN    := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN    := -O1 -fsanitize=thread

.PHONY: all lib cli tools cli-asan tools-asan ctest tsan lint format report-assets venv install pytest install-asan pytest-asan test \
	demo clean fuzz bench
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
$(foreach v,release asan tsan,$(SRCS:%.c=build/$(v)/%.o)) build/chaostracing $(VPY) $(ASAN_VPY): | deps
lint ctest tsan pytest pytest-asan: | deps-test

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

# Small C programs the Python tests drive (tests/c/tools/NAME.c → build/tools/NAME),
# and LD_PRELOAD shims (tests/c/tools/preload_NAME.c → build/tools/preload_NAME.so).
PRELOADS := $(basename $(notdir $(wildcard tests/c/tools/preload_*.c)))
TOOLS := $(filter-out $(PRELOADS),$(basename $(notdir $(wildcard tests/c/tools/*.c))))
build/tools/%: tests/c/tools/%.c build/release/libchaostracing.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) -O2 $< build/release/libchaostracing.a $(LIBS) -o $@
build/tools/preload_%.so: tests/c/tools/preload_%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O2 -fPIC -shared $< -ldl -o $@
tools: $(TOOLS:%=build/tools/%) $(PRELOADS:%=build/tools/%.so)

# The command and the tools built with ASan+UBSan, for `make pytest-asan`.
build/asan/chaostracing: $(CLI_SRCS) $(wildcard cli/*.h) build/asan/libchaostracing.a $(HDRS)
	$(CC) $(BASE) $(ASAN) -Icli $(CLI_SRCS) build/asan/libchaostracing.a $(LIBS) -o $@
build/asan/tools/%: tests/c/tools/%.c build/asan/libchaostracing.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(ASAN) $< build/asan/libchaostracing.a $(LIBS) -o $@
cli-asan: $(if $(CLI_SRCS),build/asan/chaostracing)
tools-asan: $(TOOLS:%=build/asan/tools/%) $(PRELOADS:%=build/tools/%.so)

build/asan/tests/%: tests/c/%.c $(wildcard tests/c/*.h) build/asan/libchaostracing.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(ASAN) $< build/asan/libchaostracing.a $(LIBS) -o $@
build/tsan/tests/%: tests/c/%.c $(wildcard tests/c/*.h) build/tsan/libchaostracing.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(INTERNAL) $(TSAN) $< build/tsan/libchaostracing.a $(LIBS) -o $@

# Each test binary runs in its own process with a time limit; all run, and
# the failed ones are listed at the end.
ctest: $(CTESTS:%=build/asan/tests/%)
	@failed=; for t in $(CTESTS); do echo "== $$t (asan+ubsan)"; \
	  (cd tests/c && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	   timeout 120 ../../build/asan/tests/$$t) || failed="$$failed $$t"; done; \
	if [ -n "$$failed" ]; then echo "failed C tests:$$failed"; exit 1; fi

tsan: $(TSAN_TESTS:%=build/tsan/tests/%)
	@failed=; for t in $(TSAN_TESTS); do echo "== $$t (tsan)"; \
	  (cd tests/c && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	   setarch $$(uname -m) -R timeout 300 ../../build/tsan/tests/$$t) || failed="$$failed $$t"; \
	done; if [ -n "$$failed" ]; then echo "failed TSan tests:$$failed"; exit 1; fi

BANNED := '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|strncpy)\s*\('
lint:
	@if grep -rnE $(BANNED) src include python cli --include='*.c' --include='*.h'; then \
	  echo "banned function used (see above)"; exit 1; fi
	@if grep -rln 'Python.h' src include; then echo "Python.h in the core"; exit 1; fi
	@$(PYTHON) tools/embed-report-assets.py --check
	@if command -v clang-format >/dev/null; then \
	  clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h' 2>/dev/null || find src include python cli tests -name '*.[ch]'); \
	else echo "clang-format not installed: format check skipped"; fi
	@echo "lint ok"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# src/render/report_assets.h from report.css and report.js (the HTML report).
report-assets:
	$(PYTHON) tools/embed-report-assets.py

# The venv for the demo and the tests. The demo needs Chaos Toolkit and what
# `pip install .` builds with (no build isolation, so nothing is fetched
# twice); pip stays the one that came with the Python. The tests add a newer
# pip and TEST_PKGS: chaostoolkit is the latest that supports this Python;
# the rest are test-only decoders and peers, never imported by the package
# (websocket-client talks to headless Chromium's DevTools in the report
# tests). Two packages only ship generated Jaeger classes we decode with;
# their declared dependencies pin an old protobuf, so they go in without them.
# The optional integrations (OpenTracing, the OpenTelemetry API and its
# instrumentations) are here to test them; the package never needs them.
TEST_PKGS := setuptools wheel chaostoolkit opentelemetry-proto==1.45.1 pytest \
	grpcio==1.85.1 cryptography==50.0.2 googleapis-common-protos==1.76.0 thrift==0.22.0 \
	opentelemetry-api==1.45.1 opentelemetry-sdk==1.45.1 opentelemetry-propagator-b3==1.45.1 \
	opentelemetry-propagator-jaeger==1.45.1 opentelemetry-propagator-aws-xray==1.0.2 \
	opentracing==2.4.0 opentelemetry-instrumentation-requests==0.66b1 \
	opentelemetry-instrumentation-urllib3==0.66b1 opentelemetry-instrumentation-httpx==0.66b1 \
	opentelemetry-instrumentation-botocore==0.66b1 httpx==0.28.1 botocore==1.44.8 \
	websocket-client==1.9.2
NODEPS_PKGS := opentelemetry-exporter-jaeger-thrift==1.21.0 \
	opentelemetry-exporter-jaeger-proto-grpc==1.21.0

DEMO_PKGS := chaostoolkit 'setuptools>=70.1'
Q   := $(if $(V),,@)
PIPQ := --disable-pip-version-check $(if $(V),-v,-q)
PIP := $(VPY) -m pip $(PIPQ)

# Both venvs (.venv, and .venv-asan for pytest-asan) are made by these rules:
# the demo needs only .base; the tests need .deps.
$(VPY) $(ASAN_VPY): %/bin/python:
	@echo "== $*: a venv of $$($(PYTHON) -c 'import sys; print(sys.executable)')"
	$(Q)$(PYTHON) -m venv $*

$(VENV)/.base $(ASAN_VENV)/.base: %/.base: | %/bin/python
	@echo "== $*: $(DEMO_PKGS)"
	$(Q)$*/bin/python -m pip $(PIPQ) install $(DEMO_PKGS)
	@touch $@

$(VENV)/.deps $(ASAN_VENV)/.deps: %/.deps: Makefile %/.base
	$*/bin/python -m pip install -q --upgrade pip
	$*/bin/python -m pip install -q $(TEST_PKGS)
	$*/bin/python -m pip install -q --no-deps $(NODEPS_PKGS)
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

# PYTEST_ARGS: what to run, e.g. make pytest-asan PYTEST_ARGS="tests/python -k binding"
PYTEST_ARGS ?= tests/python
pytest: install cli tools
	$(VPY) -m pytest -q $(PYTEST_ARGS)

# The same suite against the extension built with ASan+UBSan, in .venv-asan.
# The interpreter is not instrumented, so the sanitizer runtimes are
# LD_PRELOADed, and every process the tests start (each `chaos run`) inherits
# them; the CLI and tools the tests run are the ASan builds (cli_support.py
# picks them). Reports go to files under build/asan-reports, never only to a
# stderr a test might not read: conftest.py fails the test during which a
# report appeared, and this target fails when any report is left.
# PYTHONMALLOC=malloc: Python objects freed too early are seen by ASan, not
# recycled silently by pymalloc.
ASAN_REPORTS := $(CURDIR)/build/asan-reports
ASAN_RUNTIMES = $(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)

install-asan: $(ASAN_VENV)/.deps $(PKG_SRCS)
	CHAOSTRACING_SANITIZE=1 CHAOSTRACING_WERROR=1 \
	  $(ASAN_VPY) -m pip install -q --no-build-isolation --force-reinstall --no-deps .

pytest-asan: install-asan cli-asan tools-asan
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS)
	@set +e; \
	LD_PRELOAD="$(ASAN_RUNTIMES)" PYTHONMALLOC=malloc CHAOSTRACING_SANITIZER_REPORTS=$(ASAN_REPORTS) \
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:handle_abort=1:exitcode=86:log_path=$(ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$(ASAN_REPORTS)/ubsan \
	  $(ASAN_VPY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ -n "$$(ls -A $(ASAN_REPORTS))" ]; then \
	  for f in $(ASAN_REPORTS)/*; do echo "== sanitizer report $$f"; head -40 $$f; done; rc=1; fi; \
	exit $$rc

test: lint ctest tsan pytest pytest-asan

# The demo uses the `chaostracing` command pip installed: one compilation.
demo: $(VENV)/.installed
	@examples/demo/run.sh $(VENV)

# End to end through a real OpenTelemetry Collector and Jaeger v2, built from
# Go modules once into ~/.cache/chaostracing-e2e (tests/e2e/build.sh; needs
# Go >= 1.25, `make test` does not). The target service of the scenarios is
# instrumented with the OpenTelemetry Python SDK: test-only packages.
E2E_PKGS := opentelemetry-sdk==1.45.1 opentelemetry-exporter-otlp-proto-http==1.45.1 \
	opentelemetry-instrumentation-wsgi==0.66b1

.PHONY: e2e e2e-backends demo-jaeger

$(VENV)/.e2e-deps: Makefile $(VENV)/.deps
	$(VPY) -m pip install -q --no-warn-conflicts $(E2E_PKGS)
	@touch $@

e2e-backends:
	@tests/e2e/build.sh otelcol jaeger >/dev/null

e2e: install $(VENV)/.e2e-deps e2e-backends
	$(VPY) -m pytest -q tests/e2e

# The demo experiment traced into Jaeger; prints the trace as Jaeger has it.
# The build's output goes to demo-out/build.log (shown when it fails).
demo-jaeger:
	@mkdir -p demo-out
	@$(MAKE) --no-print-directory install cli $(VENV)/.e2e-deps >demo-out/build.log 2>&1 || \
	  { tail -n 30 demo-out/build.log; exit 1; }
	@$(VPY) tests/e2e/demo_jaeger.py build/chaostracing

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
