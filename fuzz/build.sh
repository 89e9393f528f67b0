#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation on the stable toolchain: the
# SanitizerCoverage flags cargo-fuzz passes are stable `-C` options; only AddressSanitizer
# (`-Zsanitizer`) is not, and the parsers are safe Rust, so it is left out. Used by `make fuzz`
# and by CI (`make fuzz-build`). Prints nothing but cargo's output; the binaries land in
# fuzz/target/x86_64-unknown-linux-gnu/release/.
set -euo pipefail
cd "$(dirname "$0")"
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
# An explicit --target keeps these flags off build scripts and proc macros (as cargo-fuzz does).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --target "$TRIPLE" --bins
