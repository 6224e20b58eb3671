# libFuzzer targets for the header and wire parsers (make fuzz).
#
# Each tests/fuzz/fuzz_NAME.c is linked against the library compiled with the
# same instrumentation (clang, ASan + UBSan, no recovery) into build/fuzz/,
# then run for FUZZ_SECONDS with a corpus in build/fuzz/corpus/NAME seeded
# from tests/fuzz/seeds/NAME/. A crash, leak, sanitizer report or timeout
# stops the run with a non-zero status; the input is saved as
# build/fuzz/artifacts/NAME-crash-* (replay: build/fuzz/bin/fuzz_NAME FILE).
#
#   make fuzz                         every target, 60 s each
#   make fuzz FUZZ_SECONDS=10         shorter
#   make fuzz FUZZ_TARGETS="b3 xray"  some targets only

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_ALL)

FUZZ_WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
FUZZ_BASE := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -DCHAOSTRACING_INTERNAL $(FUZZ_WARN) -g -O1 -fno-omit-frame-pointer
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIBS := -lcurl -lz -lpthread -lm

FUZZ_SRCS := $(sort $(wildcard src/*/*.c))
FUZZ_HDRS := $(wildcard include/chaostracing/*.h src/*/*.h)
FUZZ_OBJS := $(FUZZ_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)

.PHONY: fuzz fuzz-build
.SECONDARY:

fuzz: fuzz-build $(FUZZ_TARGETS:%=fuzz-run-%)
	@echo "fuzz ok: $(FUZZ_TARGETS) ($(FUZZ_SECONDS) s each)"

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/fuzz_%)

# The library: coverage instrumentation without libFuzzer's main(). Other
# parts of the tree may warn under clang; only the harnesses use -Werror.
$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_BASE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/libchaostracing.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/bin/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libchaostracing.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_BASE) -Werror $(FUZZ_SAN) -fsanitize=fuzzer $< \
	  $(FUZZ_DIR)/libchaostracing.a $(FUZZ_LIBS) -o $@

# New inputs go to the first directory; the committed seeds are read only.
fuzz-run-%: $(FUZZ_DIR)/bin/fuzz_%
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/artifacts
	@echo "== fuzz $* ($(FUZZ_SECONDS) s)"
	@status=0; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(FUZZ_DIR)/bin/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	  -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_DIR)/artifacts/$*- \
	  $(FUZZ_DIR)/corpus/$* $(wildcard tests/fuzz/seeds/$*) >$(FUZZ_DIR)/$*.log 2>&1 || status=$$?; \
	grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' \
	  $(FUZZ_DIR)/$*.log | tr '\n' ' '; echo; \
	if [ $$status -ne 0 ]; then tail -n 60 $(FUZZ_DIR)/$*.log; \
	  echo "fuzz $*: FAILED (status $$status), log in $(FUZZ_DIR)/$*.log"; exit 1; fi
