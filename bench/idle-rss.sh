#!/usr/bin/env bash
# Idle RSS of a fresh server, read as bench/run.sh reads it (VmRSS, with RssAnon and RssFile, of a
# server pinned to CPU 0 with --threads 1, 1.5 s after it was started, no client), three starts
# each with HTTPS off and on. XMPP is on (as by default) on a loopback port: the default 0.0.0.0:5222
# is skipped when another program holds it, which would change what is measured. For comparing
# builds one step at a time (docs/pi.md, "Size and memory").
# Usage: bench/idle-rss.sh [BINARY (target/release/msnpd)].
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/msnpd}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
TLS=target/bench/tls
[ -s "$TLS/ca.pem" ] || { mkdir -p target/bench; RUST_LOG=warn "$BIN" tls init --tls-dir "$TLS" >/dev/null; }
RUST_LOG=warn "$BIN" user add a@example.com --password pw --db "$W/base.db" >/dev/null 2>&1
echo "$BIN: $(stat -c %s "$BIN") B"
for mode in off on; do
    for i in 1 2 3; do
        cp "$W/base.db" "$W/db.db"
        if [ "$mode" = off ]; then https=(--https-listen none); else https=(--https-listen 127.0.0.1:0 --tls-dir "$TLS"); fi
        RUST_LOG=info taskset -c 0 "$BIN" serve --db "$W/db.db" --listen 127.0.0.1:0 --sb-listen 127.0.0.1:0 \
            --http-listen 127.0.0.1:0 "${https[@]}" --xmpp-listen 127.0.0.1:0 --threads 1 2>"$W/log" &
        pid=$!
        sleep 1.5
        echo "HTTPS $mode, start $i: $(awk '/^VmRSS|^RssAnon|^RssFile/{printf "%s %s kB  ", $1, $2}' "/proc/$pid/status")"
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
done
