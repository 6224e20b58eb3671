# chaostracing — build, test and demo.
#   make demo   a real `chaos run` traced to a local file (no collector)
#   make test   lint, C unit tests (ASan+UBSan, TSan), pytest end to end, and
#               pytest again against the extension built with ASan+UBSan

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

.PHONY: all lib cli tools cli-asan tools-asan ctest tsan lint format venv install pytest install-asan pytest-asan test \
	demo clean fuzz bench

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
	@if command -v clang-format >/dev/null; then \
	  clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h' 2>/dev/null || find src include python cli tests -name '*.[ch]'); \
	else echo "clang-format not installed: format check skipped"; fi
	@echo "lint ok"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The venv for the demo and the tests. chaostoolkit is the latest that
# supports this Python; the rest are test-only decoders and peers, never
# imported by the package. Two packages only ship generated Jaeger classes we
# decode with; their declared dependencies pin an old protobuf, so they go in
# without them.
TEST_PKGS := setuptools wheel chaostoolkit opentelemetry-proto pytest \
	grpcio==1.85.1 cryptography==50.0.2 googleapis-common-protos==1.76.0 thrift==0.22.0 \
	opentelemetry-api==1.45.2 opentelemetry-propagator-b3==1.45.1 \
	opentelemetry-propagator-jaeger==1.45.1 opentelemetry-propagator-aws-xray==1.0.2
NODEPS_PKGS := opentelemetry-exporter-jaeger-thrift==1.21.0 \
	opentelemetry-exporter-jaeger-proto-grpc==1.21.0

# Both venvs (.venv and .venv-asan) are made by these two rules.
$(VPY) $(ASAN_VPY): %/bin/python:
	$(PYTHON) -m venv $*
	$@ -m pip install -q --upgrade pip

$(VENV)/.deps $(ASAN_VENV)/.deps: %/.deps: Makefile | %/bin/python
	$*/bin/python -m pip install -q $(TEST_PKGS)
	$*/bin/python -m pip install -q --no-deps $(NODEPS_PKGS)
	@touch $@

venv: $(VENV)/.deps

# The package, built and installed into the venv with pip.
install: $(VENV)/.deps $(SRCS) $(HDRS) $(wildcard python/chaostracing/*) setup.py pyproject.toml
	CHAOSTRACING_WERROR=1 $(VPY) -m pip install -q --no-build-isolation --force-reinstall --no-deps .
	@touch $(VENV)/.installed

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

install-asan: $(ASAN_VENV)/.deps $(SRCS) $(HDRS) $(wildcard python/chaostracing/*) setup.py pyproject.toml
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

demo: install cli
	@examples/demo/run.sh $(VENV) build/chaostracing

# libFuzzer targets for the header and wire parsers (tests/fuzz/).
fuzz:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

# Benchmarks side by side with the Python upstream and the Go SDK (bench/).
bench: install cli
	@bench/run.sh $(VENV)

clean:
	rm -rf build *.egg-info python/*.egg-info demo-out
