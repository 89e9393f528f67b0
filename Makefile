# msnpd build, test, cross-compile and packaging targets.
# `make test` is the suite the README and CI run; `make test-arm` is the ARM leg (qemu).

CARGO   ?= cargo
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
# ARMv6 hard float (Pi Zero / Zero W / Pi 1, ARM1176JZF-S), a static musl binary: see the rule below.
ARMV6   := arm-unknown-linux-musleabihf

TARGETS := aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf $(ARMV6)

# GNU cross tools per target (used when `cross` is not installed).
GCC_aarch64-unknown-linux-gnu       := aarch64-linux-gnu-gcc
GCC_armv7-unknown-linux-gnueabihf   := arm-linux-gnueabihf-gcc
SYSROOT_aarch64-unknown-linux-gnu     := /usr/aarch64-linux-gnu
SYSROOT_armv7-unknown-linux-gnueabihf := /usr/arm-linux-gnueabihf

.PHONY: all build release test test-arm aarch64 armv7 armv6 dist install uninstall clean bench check-unit fuzz fuzz-build

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
armv6: target/$(ARMV6)/release/msnpd

# ARMv6: every part must run on an ARM1176, which Debian's armhf cross gcc and glibc (ARMv7,
# Thumb-2) do not. Rust's std for this target is ARMv6 but rustup may not offer it prebuilt, so
# it is built from rust-src (`-Z build-std`, allowed on stable by RUSTC_BOOTSTRAP=1, for this
# build only). SQLite, OpenSSL and the C library are compiled by zig's clang for the ARM1176, with
# zig's musl (cross/zig-cc): one static binary, no libc needed on the Pi. Needs
# `pip install ziglang` and `rustup component add rust-src`; docs/pi.md.
ZIG_DIR = $(shell python3 -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))' 2>/dev/null)
target/$(ARMV6)/release/msnpd: FORCE
	@missing=""; \
	[ -n "$(ZIG_DIR)" ] || missing="$$missing ziglang(pip)"; \
	[ -d "$$(rustc --print sysroot)/lib/rustlib/src/rust/library" ] || missing="$$missing rust-src(rustup)"; \
	if [ -n "$$missing" ]; then \
		echo "cannot build $(ARMV6): missing$$missing"; \
		echo "  install with: python3 -m pip install ziglang && rustup component add rust-src"; \
		exit 1; \
	fi
	env ZIG=$(ZIG_DIR)/zig \
	    CC_$(subst -,_,$(ARMV6))=$(CURDIR)/cross/armv6-cc \
	    AR_$(subst -,_,$(ARMV6))=$(CURDIR)/cross/zig-ar \
	    CARGO_TARGET_$(shell echo $(ARMV6) | tr 'a-z-' 'A-Z_')_LINKER=$(CURDIR)/cross/armv6-cc \
	    RUSTC_BOOTSTRAP=1 \
	    $(CARGO) build --release --target $(ARMV6) -Z build-std=std,panic_unwind --bin msnpd
	@ls -l $@

# The aarch64 binary is a PIE with ~20,000 relative relocations (vtables, tables of pointers):
# 24 bytes each in .rela.dyn, 480 KB. DT_RELR (`-z pack-relative-relocs`) stores them as a bitmap
# of a few KB; Debian 12's GNU ld (2.40) ignores that option on aarch64 (2.41 added it), so the
# link goes through the lld that ships with the Rust toolchain (its gcc-ld/ld.lld, as rustc uses
# for x86_64), still driven by the cross gcc. Needs glibc 2.36+ on the Pi (Raspberry Pi OS 12
# "Bookworm" or newer). Without that lld the build goes on without DT_RELR. docs/pi.md.
RUST_GCC_LD = $(shell rustc --print sysroot 2>/dev/null)/lib/rustlib/$(HOST)/bin/gcc-ld
RELR_aarch64-unknown-linux-gnu = -C link-arg=-B$(RUST_GCC_LD) -C link-arg=-fuse-ld=lld -C link-arg=-Wl,-z,pack-relative-relocs

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
		relr=""; \
		if [ -n "$(RELR_$*)" ]; then \
			if [ -x "$(RUST_GCC_LD)/ld.lld" ]; then relr="$(RELR_$*)"; \
			else echo "note: $(RUST_GCC_LD)/ld.lld missing: linking without DT_RELR (480 KB larger)"; fi; \
		fi; \
		env CARGO_TARGET_$$(echo $* | tr 'a-z-' 'A-Z_')_LINKER=$(GCC_$*) \
		    CARGO_TARGET_$$(echo $* | tr 'a-z-' 'A-Z_')_RUSTFLAGS="$$relr" \
		    CC_$$(echo $* | tr '-' '_')=$(GCC_$*) \
		    $(CARGO) build --release --target $* --bin msnpd; \
	fi
	@ls -l $@

FORCE:

# Per-target tarballs: binary, systemd unit, example config, README, SECURITY.md, LICENSE and a
# SHA256SUMS of those files; dist/SHA256SUMS covers the tarballs. `make dist TARGET=<triple>`
# builds one target; without TARGET, the host and every ARM target.
HOST        := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
DIST_TARGETS = $(if $(TARGET),$(TARGET),$(HOST) $(TARGETS))

dist:
	@mkdir -p dist
	@set -e; for t in $(DIST_TARGETS); do \
		if [ "$$t" = "$(HOST)" ]; then $(CARGO) build --release --bin msnpd; bin=target/release/msnpd; \
		else $(MAKE) --no-print-directory target/$$t/release/msnpd; bin=target/$$t/release/msnpd; fi; \
		d=dist/msnpd-$(VERSION)-$$t; rm -rf $$d; mkdir -p $$d; \
		cp $$bin systemd/msnpd.service systemd/msnpd.toml README.md SECURITY.md LICENSE $$d/; \
		(cd $$d && sha256sum msnpd msnpd.service msnpd.toml README.md SECURITY.md LICENSE > SHA256SUMS); \
		tar -C dist -czf $$d.tar.gz msnpd-$(VERSION)-$$t; rm -rf $$d; \
		echo "dist/msnpd-$(VERSION)-$$t.tar.gz"; \
	done
	@cd dist && sha256sum msnpd-$(VERSION)-*.tar.gz > SHA256SUMS && echo "dist/SHA256SUMS"

# End-to-end on ARM, driven by host-side tests (tests/arm_qemu.rs): the aarch64 binary under
# qemu-aarch64, and the ARMv6 binary under `qemu-arm -cpu arm1176`, an ARM1176 that raises
# SIGILL on any ARMv7 instruction (that test also proves the emulator does so).
test-arm: aarch64 armv6
	@command -v qemu-aarch64 >/dev/null 2>&1 && command -v qemu-arm >/dev/null 2>&1 || { echo "qemu-aarch64/qemu-arm missing: sudo apt-get install qemu-user"; exit 1; }
	MSNPD_BIN=$(CURDIR)/target/aarch64-unknown-linux-gnu/release/msnpd \
	MSNPD_RUNNER="qemu-aarch64 -L $(SYSROOT_aarch64-unknown-linux-gnu)" \
	$(CARGO) test --test arm_qemu -- --ignored --test-threads=1 arm_binary_
	MSNPD_BIN=$(CURDIR)/target/$(ARMV6)/release/msnpd \
	MSNPD_RUNNER="qemu-arm -cpu arm1176" MSNPD_ARM_ARCH=v6 \
	MSNPD_ARMV6_CC=$(CURDIR)/cross/armv6-cc ZIG=$(ZIG_DIR)/zig \
	$(CARGO) test --test arm_qemu -- --ignored --test-threads=1

# Installs the binary built earlier (`make release`, as your user): install never builds, so
# `sudo make install` works where cargo is installed per user. The example config is installed
# only if /etc/msnpd/msnpd.toml does not exist yet.
BIN ?= target/release/msnpd

install:
	@[ -x "$(BIN)" ] || { echo "$(BIN) is missing: run 'make release' first (as your user); install does not build" >&2; exit 1; }
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/msnpd
	install -D -m 0644 systemd/msnpd.service $(DESTDIR)/etc/systemd/system/msnpd.service
	[ -e $(DESTDIR)/etc/msnpd/msnpd.toml ] || install -D -m 0644 systemd/msnpd.toml $(DESTDIR)/etc/msnpd/msnpd.toml
	@[ "$(PREFIX)" = /usr/local ] || sed -i 's|/usr/local/bin/msnpd|$(PREFIX)/bin/msnpd|' $(DESTDIR)/etc/systemd/system/msnpd.service

# Removes what `install` put in place and stops the service; keeps the data (the database and
# the HTTPS kit in /var/lib/msnpd, i.e. /var/lib/private/msnpd) and /etc/msnpd/msnpd.toml,
# which docs/operations.md says how to remove.
uninstall:
	-systemctl disable --now msnpd 2>/dev/null
	rm -f $(DESTDIR)/etc/systemd/system/msnpd.service $(DESTDIR)$(PREFIX)/bin/msnpd
	-systemctl daemon-reload 2>/dev/null
	@echo "kept: /etc/msnpd/msnpd.toml and the data in /var/lib/msnpd (see docs/operations.md, Uninstall)"

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
