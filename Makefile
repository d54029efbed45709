# Makefile - the entry points: `make test`, `make bench` and `make fuzz`
# (FUZZ_SECONDS=60 by default).  Each first makes sure the Debian packages
# it needs are present (scripts/deps.sh).
FUZZ_SECONDS ?= 60
.PHONY: all test bench fuzz clean
all:
	bash scripts/deps.sh build
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
	cmake --build build/release -j

test:
	bash scripts/deps.sh test
	bash scripts/test.sh

bench:
	bash scripts/deps.sh bench
	bash bench/run

fuzz:
	bash scripts/deps.sh test
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
