# msnpd build and test targets. `make test` is what CI and the README run.
CARGO ?= cargo

.PHONY: all build release test run clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# The whole suite: unit tests and integration tests against the real server on loopback.
test:
	$(CARGO) test --all-targets -- --test-threads=4

run: build
	$(CARGO) run -- serve

clean:
	$(CARGO) clean
