# Makefile - the entry points: `make test`, `make bench` and `make fuzz`
# (FUZZ_SECONDS=60 by default).  Each first makes sure the Debian packages
# it needs are present (scripts/deps.sh).  `make bench` takes QUICK=1,
# ONLY=name, RUNS=n, NOBUILD=1 and RECORD=1 (bench/run says what each does;
# make passes command-line variables on in the environment); its results go
# to the ignored bench/results/latest/, and only RECORD=1 touches the
# tracked bench/results/.
FUZZ_SECONDS ?= 60
.PHONY: all test test-aarch64 bench fuzz clean
all:
	bash scripts/deps.sh build
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
	cmake --build build/release -j

# scripts/test.sh ends with the aarch64 run of scripts/test-aarch64.sh.
test:
	bash scripts/deps.sh test
	bash scripts/deps.sh aarch64
	bash scripts/test.sh

# The aarch64 cross build alone, its tests under qemu-aarch64.
test-aarch64:
	bash scripts/deps.sh aarch64
	bash scripts/test-aarch64.sh

bench:
	bash scripts/deps.sh bench
	bash bench/run

fuzz:
	bash scripts/deps.sh test
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
