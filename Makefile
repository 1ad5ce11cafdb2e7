# Troupe — the README's commands. Each target bootstraps (installs missing
# Debian packages) first, so a fresh Debian 12 machine needs nothing else.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
CONFIG ?= config/troupe.toml
CTEST_TIMEOUT ?= 300

.PHONY: bootstrap build run test asan bench clean

bootstrap:
	@bash .ci/bootstrap

$(BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: bootstrap $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p -m 700 var
	$(BUILD)/bin/troupe serve --config $(CONFIG)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout $(CTEST_TIMEOUT) -j $(JOBS)

# The tests under AddressSanitizer + UndefinedBehaviorSanitizer (suppressions in
# tests/sanitizers/, each one commented).
asan: bootstrap
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTROUPE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizers/ubsan.supp \
	  ctest --output-on-failure --timeout $(CTEST_TIMEOUT) -j $(JOBS)

bench: build
	@bash .ci/bootstrap bench
	bash bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
