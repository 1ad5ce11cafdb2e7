# Troupe — the README's commands. Each target bootstraps (installs missing
# Debian packages) first, so a fresh Debian 12 machine needs nothing else.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
CONFIG ?= config/troupe.toml
CTEST_TIMEOUT ?= 300
PREFIX ?= /usr/local

# ccache, when installed (bootstrap installs it), makes rebuilds and other
# checkouts of the same sources cheap; paths are taken relative to the tree.
LAUNCHER := $(if $(shell command -v ccache 2>/dev/null),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: bootstrap build run test install deb install-check deb-check asan tsan fuzz soak bench clean

bootstrap:
	@bash .ci/bootstrap

$(BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(LAUNCHER)

build: bootstrap $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p -m 700 var
	$(BUILD)/bin/troupe serve --config $(CONFIG)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout $(CTEST_TIMEOUT) -j $(JOBS)

# Headers, static libraries, the troupe binary and the CMake package
# (find_package(troupe CONFIG)) under PREFIX.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# $(BUILD)/troupe_<version>_<arch>.deb: the same files under /usr.
deb: build
	rm -f $(BUILD)/troupe_*.deb
	cd $(BUILD) && cpack -G DEB

# docs/examples/notes built against Troupe installed into a temporary prefix
# (only CMAKE_PREFIX_PATH given), then driven by notes_example_test.
install-check: build
	bash tests/install/check.sh prefix $(BUILD)

# The same against the .deb installed to /usr with apt-get (needs root or
# sudo; the package is removed afterwards unless it was installed before).
deb-check: deb
	bash tests/install/check.sh deb $(BUILD)

# The tests under AddressSanitizer + UndefinedBehaviorSanitizer (suppressions in
# tests/sanitizers/, each one commented).
asan: bootstrap
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTROUPE_SANITIZE=address $(LAUNCHER)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizers/ubsan.supp \
	  ctest --output-on-failure --timeout $(CTEST_TIMEOUT) -j $(JOBS)

# The transport, shutdown, auth and database suites under ThreadSanitizer
# (suppressions in tests/sanitizers/tsan.supp, each one commented).
TSAN_TESTS := transport_tests shutdown_tests troupe_auth_tests troupe_db_tests troupe_db_call_tests
# ignore_noninstrumented_modules: accesses by Debian's uninstrumented gRPC,
# CAF and libpq themselves are not checked (TSan cannot see their locks).
TSAN_OPTIONS := halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp
# Only those are built: leave out what the build did not make.
TSAN_EXCLUDE := _NOT_BUILT|^cli_|^fuzz_|^bench_|^notes_example
tsan: bootstrap
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTROUPE_SANITIZE=thread $(LAUNCHER)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TESTS)
	cd $(TSAN_BUILD) && \
	  TSAN_OPTIONS=$(TSAN_OPTIONS) \
	  ctest --output-on-failure --timeout $(CTEST_TIMEOUT) -j $(JOBS) -E '$(TSAN_EXCLUDE)'

# Each fuzz target (tests/fuzz) for FUZZ_SECONDS under libFuzzer, ASan and UBSan.
fuzz: bootstrap
	@bash .ci/bootstrap fuzz
	CXX=clang++ CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTROUPE_FUZZ=ON $(LAUNCHER)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target troupe_fuzzers
	bash tests/fuzz/run.sh $(FUZZ_BUILD)/bin $(FUZZ_SECONDS)

# Mixed load with cancels, timeouts and dropped connections for SOAK_SECONDS;
# memory, descriptors, threads and actors must end within 5 % of warm-up.
SOAK_SECONDS ?= 1800
soak: build
	cmake --build $(BUILD) -j $(JOBS) --target troupe_soak
	TROUPE_SOAK_SECONDS=$(SOAK_SECONDS) $(BUILD)/bin/troupe_soak

bench: build
	@bash .ci/bootstrap bench
	bash bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
