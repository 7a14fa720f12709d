# dslmodel: `make demo` and `make test` install what is missing, build, and run.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-unit test-asan format format-check tidy bench install clean

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
	$(if $(CI),$(MAKE) tidy)

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DDSLMODEL_SANITIZE=address,undefined -DDSLMODEL_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS) -LE no-sanitizer

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

format-check: deps
	clang-format --dry-run -Werror $$(git ls-files '*.h' '*.cc')

tidy: $(BUILD)/build.ninja
	run-clang-tidy -quiet -j $(JOBS) -p $(BUILD) 'src/.*\.cc$$' > $(BUILD)/clang-tidy.log 2>&1 \
	  || { grep -E 'error:' $(BUILD)/clang-tidy.log; exit 1; }
	@echo "clang-tidy: clean"

bench: build
	@bash bench/run.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
