# Makefile - the two entry points: `make test` and `make bench`.  Each first
# makes sure the Debian packages it needs are present (scripts/deps.sh).
.PHONY: all test bench clean
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

clean:
	rm -rf build
