# dslmodel: `make demo` and `make test` install what is missing, build, and run.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_FUZZ ?= build-fuzz
# `make fuzz` runs each fuzz target this long; `make test` runs a short pass.
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-unit test-asan test-tsan fuzz format format-check tidy bench install clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)/tools/dsl/dsl

# In CI (CI=true) the tests are followed by clang-tidy over src/.
test: format-check build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)
	$(if $(CI),$(MAKE) tidy)

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DDSLMODEL_SANITIZE=address,undefined -DDSLMODEL_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS) -LE no-sanitizer

# ThreadSanitizer (clang) over the threaded parts: the loop, the process supervisor, the agent and
# the HTTP server (docs/testing.md).
TSAN_TARGETS = dsl dslmodel_actuate_tests dslmodel_agent_tests dslmodel_telemetry_tests \
  dslmodel_integration_tests
TSAN_TESTS = ^(ProcessSupervisorTest|ProcessHandleTest|ProcStatTest|CommandActuatorTest|AgentTest|AgentStopTest|ChildRunner|ServerTest|MetricsServer|ReceiverTest|OtlpHttpExporter|FileExporter|MemoryExporter|Observe|CliLoop)\.
test-tsan: deps
	cmake -S . -B $(BUILD_TSAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DDSLMODEL_SANITIZE=thread -DDSLMODEL_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target $(TSAN_TARGETS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --test-dir $(BUILD_TSAN) --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

# libFuzzer (clang, with ASan and UBSan) over the parsers that read outside input (fuzz/).
fuzz: deps
	cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DDSLMODEL_FUZZ=ON -DDSLMODEL_SANITIZE=address,undefined \
	  -DDSLMODEL_BUILD_TESTS=OFF -DDSLMODEL_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzzers
	bash fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

format-check: deps
	clang-format --dry-run -Werror $$(git ls-files '*.h' '*.cc')
	bash scripts/check-sizes.sh

tidy: $(BUILD)/build.ninja
	run-clang-tidy -quiet -j $(JOBS) -p $(BUILD) 'src/.*\.cc$$' > $(BUILD)/clang-tidy.log 2>&1 \
	  || { grep -E 'error:' $(BUILD)/clang-tidy.log; exit 1; }
	@echo "clang-tidy: clean"

bench: build
	@bash bench/run.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)
