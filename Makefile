# msnpd build, test, cross-compile and packaging targets.
# `make test` is the suite the README and CI run; `make test-arm` is the ARM leg (qemu).

CARGO   ?= cargo
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
TARGETS := aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf

# GNU cross tools per target (used when `cross` is not installed).
GCC_aarch64-unknown-linux-gnu       := aarch64-linux-gnu-gcc
GCC_armv7-unknown-linux-gnueabihf   := arm-linux-gnueabihf-gcc
SYSROOT_aarch64-unknown-linux-gnu     := /usr/aarch64-linux-gnu
SYSROOT_armv7-unknown-linux-gnueabihf := /usr/arm-linux-gnueabihf

.PHONY: all build release test test-arm aarch64 armv7 dist install clean bench check-unit fuzz fuzz-build

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# The whole suite: unit tests and integration tests against the real server on loopback.
test:
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost $(CARGO) test --all-targets -- --test-threads=4

aarch64: target/aarch64-unknown-linux-gnu/release/msnpd
armv7: target/armv7-unknown-linux-gnueabihf/release/msnpd

# Uses `cross` when installed, else cargo with the GNU cross linker. Installs nothing: it says
# what is missing instead.
target/%/release/msnpd: FORCE
	@if command -v cross >/dev/null 2>&1; then \
		echo "building $* with cross"; \
		CROSS_CONFIG=cross/Cross.toml cross build --release --target $* --bin msnpd; \
	else \
		missing=""; \
		rustup target list --installed 2>/dev/null | grep -qx "$*" || missing="$$missing rustup-target:$*"; \
		command -v $(GCC_$*) >/dev/null 2>&1 || missing="$$missing $(GCC_$*)"; \
		if [ -n "$$missing" ]; then \
			echo "cannot build $*: missing$$missing"; \
			echo "  install with: rustup target add $* && sudo apt-get install gcc-$$(echo $(GCC_$*) | sed 's/-gcc$$//')"; \
			exit 1; \
		fi; \
		echo "building $* with cargo and $(GCC_$*)"; \
		env CARGO_TARGET_$$(echo $* | tr 'a-z-' 'A-Z_')_LINKER=$(GCC_$*) \
		    CC_$$(echo $* | tr '-' '_')=$(GCC_$*) \
		    $(CARGO) build --release --target $* --bin msnpd; \
	fi
	@ls -l $@

FORCE:

# Per-target tarballs: binary, systemd unit, README, LICENSE.
dist: aarch64 armv7 release
	@mkdir -p dist
	@for t in x86_64-unknown-linux-gnu $(TARGETS); do \
		bin=target/$$t/release/msnpd; [ "$$t" = x86_64-unknown-linux-gnu ] && bin=target/release/msnpd; \
		d=dist/msnpd-$(VERSION)-$$t; rm -rf $$d; mkdir -p $$d; \
		cp $$bin systemd/msnpd.service README.md LICENSE $$d/; \
		tar -C dist -czf $$d.tar.gz msnpd-$(VERSION)-$$t; rm -rf $$d; \
		echo "dist/msnpd-$(VERSION)-$$t.tar.gz"; \
	done

# End-to-end on ARM: the aarch64 binary under qemu-user, driven by host-side tests.
test-arm: aarch64
	@command -v qemu-aarch64 >/dev/null 2>&1 || { echo "qemu-aarch64 missing: sudo apt-get install qemu-user"; exit 1; }
	MSNPD_BIN=$(CURDIR)/target/aarch64-unknown-linux-gnu/release/msnpd \
	MSNPD_RUNNER="qemu-aarch64 -L $(SYSROOT_aarch64-unknown-linux-gnu)" \
	$(CARGO) test --test arm_qemu -- --ignored --test-threads=1

install: release
	install -D -m 0755 target/release/msnpd $(DESTDIR)$(PREFIX)/bin/msnpd
	install -D -m 0644 systemd/msnpd.service $(DESTDIR)/etc/systemd/system/msnpd.service
	@[ "$(PREFIX)" = /usr/local ] || sed -i 's|/usr/local/bin/msnpd|$(PREFIX)/bin/msnpd|' $(DESTDIR)/etc/systemd/system/msnpd.service

clean:
	$(CARGO) clean
	rm -rf dist

# The systemd unit: `systemd-analyze verify` must pass and `security` must rate it OK or better.
check-unit: release
	@command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze missing (package systemd)"; exit 1; }
	@tmp=$$(mktemp -d); sed "s|/usr/local/bin/msnpd|$(CURDIR)/target/release/msnpd|" systemd/msnpd.service > $$tmp/msnpd.service; \
	systemd-analyze verify $$tmp/msnpd.service && echo "systemd-analyze verify: ok"; \
	systemd-analyze security --offline=yes $$tmp/msnpd.service | tail -n 1 | tee $$tmp/score; \
	grep -Eq 'level for msnpd.service: [0-9.]+ (OK|SAFE)' $$tmp/score; rc=$$?; rm -rf $$tmp; exit $$rc

# Load benchmarks with msnpd-load (not part of `make test`): every scenario against a fresh
# release server pinned to CPU 0, generator on CPU 1; writes BENCHMARKS.md. See bench/run.sh.
bench: release
	bench/run.sh

# The fuzz targets (fuzz/, a cargo-fuzz crate) built with libFuzzer's coverage instrumentation on
# stable Rust; `make fuzz` runs each for FUZZ_SECS (30) seconds and prints its corpus figures.
fuzz-build:
	fuzz/build.sh

fuzz:
	fuzz/run.sh
