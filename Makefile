# Organic KV — the two commands of the README:
#   make run    build a Release binary and start it with the embedded defaults (port 6379)
#   make test   build and run every suite: unit, integration, redis-compat
# Both install missing Debian packages first (deps/install-deps.sh).

BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SERVER := $(BUILD_DIR)/organic-server

.PHONY: all build run test test-unit test-integration test-compat test-diff test-tcl \
        test-clients test-asan test-tsan deps deps-build bench clean

all: build

deps-build:
	@bash deps/install-deps.sh --build-only

deps:
	@bash deps/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

build: deps-build $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	./$(SERVER)

test: deps build test-unit test-integration test-compat

test-unit:
	./$(BUILD_DIR)/unit_tests

test-integration:
	./$(BUILD_DIR)/integration_tests

test-compat: test-diff test-tcl test-clients

# Each suite runs twice: with the default budget (keys stay in memory) and through
# small-budget-server.sh, where a flush follows almost every write so most keys are on disk.
test-diff:
	/usr/bin/python3 redis-compat/diff/runner.py --organic-bin $(SERVER)
	ORGANIC_SERVER_BIN=$(CURDIR)/$(SERVER) /usr/bin/python3 redis-compat/diff/runner.py \
	  --organic-bin redis-compat/small-budget-server.sh

test-tcl:
	bash redis-compat/tcl/fetch-redis-tests.sh
	bash redis-compat/tcl/run-tcl.sh --server-bin $(SERVER)
	ORGANIC_SERVER_BIN=$(CURDIR)/$(SERVER) bash redis-compat/tcl/run-tcl.sh \
	  --server-bin $(CURDIR)/redis-compat/small-budget-server.sh

test-clients:
	bash redis-compat/clients/run-clients.sh --server-bin $(SERVER)

# Unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DORGANIC_SANITIZE=ON
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)
	./$(ASAN_BUILD_DIR)/unit_tests
	./$(ASAN_BUILD_DIR)/integration_tests

# The engine's threaded unit tests (WAL fsync, flushes and compactions on the worker, the
# background worker, the file layer) under ThreadSanitizer.
TSAN_BUILD_DIR ?= build-tsan
test-tsan: deps-build
	cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DORGANIC_TSAN=ON
	cmake --build $(TSAN_BUILD_DIR) -j$(JOBS) --target unit_tests
	./$(TSAN_BUILD_DIR)/unit_tests -tc="engine:*,tiering:*,fault points:*,file:*,fault injection:*,wal:*,wal faults:*,flush faults:*,worker:*"

# Every libFuzzer target (tests/fuzz) for FUZZ_SECONDS seconds under ASan + UBSan, built with
# clang in build-fuzz; fails on any finding (docs/reliability.md, "Fuzzing").
FUZZ_SECONDS ?= 30
.PHONY: fuzz
fuzz:
	bash tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS)

bench: build
	bash tools/bench-vs-redis.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
