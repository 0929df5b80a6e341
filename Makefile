# Thin wrapper over Meson so the README's two commands stay short.
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON      ?= meson

# The game-day test's summary and the scenarios still waiting for a detector,
# which meson would otherwise only show on failure.
GAME_DAYS = grep -h '^\# simulate:\|^\# PENDING\|^\# GAP' $(BUILD)/meson-logs/testlog.txt 2>/dev/null || true

.PHONY: all deps demo test test-fast test-asan bench clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	@scripts/install-deps.sh --check || scripts/install-deps.sh
	$(MESON) setup $(BUILD) --buildtype=release -Dc_args=-march=x86-64-v2

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all

deps:
	scripts/install-deps.sh

demo: deps all
	$(BUILD)/vigil detect --output table --threat-list examples/threats.txt --tor-list examples/tor.txt examples/AWSLogs/

# The whole suite: release build, then again under ASan+UBSan.
test: deps all $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	$(MESON) test -C $(BUILD) --print-errorlogs
	@$(GAME_DAYS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON) test -C $(ASAN_BUILD) --print-errorlogs --timeout-multiplier=4

test-fast: all
	$(MESON) test -C $(BUILD) --print-errorlogs
	@$(GAME_DAYS)

bench: all
	bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
