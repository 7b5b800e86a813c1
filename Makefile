# vigie: the two commands a new user needs are `make demo` and `make check`.
# Each installs what is missing (scripts/setup.sh), configures and builds.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
# make install PREFIX=/usr/local DESTDIR=/tmp/stage: headers, libvigie.a and .so, vigie.pc,
# bin/vigie and the rule pack (the prefix is compiled in: vigie_pack_dir looks there last)
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build setup demo check check-asan bench fuzz clean install

all: build

setup:
	@scripts/setup.sh build

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

install: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

demo: build
	@scripts/demo.sh $(BUILD)/vigie $(BUILD)/vigie-sim

check:
	@scripts/setup.sh check
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIE_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) check-asan

check-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVIGIE_WERROR=ON -DVIGIE_SANITIZE=ON -DVIGIE_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

bench:
	@scripts/setup.sh bench
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	bench/run.sh $(BUILD)

fuzz:
	@scripts/setup.sh check
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DVIGIE_FUZZ=ON -DVIGIE_BENCH=OFF >/dev/null
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
