#!/usr/bin/env bash
# Where a paced relay's server CPU time goes: a fresh release server pinned to one CPU
# (--threads 1), `msnpd-load relay --rate` on the other, `perf record` on the server for the
# streaming part, then `perf report` by symbol (self time) and by thread (the worker against
# async-io's helper thread, see src/node/worker.rs), and the syscalls and context switches made
# in 2 s (`perf stat -e 'syscalls:sys_enter_*' -e context-switches` when tracepoints are
# available; divide by 2 x RATE for a count per message).
#
# Usage: bench/profile.sh [RATE (1000)] [SIZE (1664)] [SECONDS (10)]; needs linux-perf and a
# release build (cargo build --release). Output in target/bench/profile-RATE-SIZE/.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-1000} SIZE=${2:-1664} SECS=${3:-10}
BIN=target/release/msnpd LOAD=target/release/msnpd-load
OUT=target/bench/profile-$RATE-$SIZE
mkdir -p "$OUT"
command -v perf >/dev/null || { echo "perf missing: apt-get install linux-perf"; exit 1; }
ulimit -n "$(ulimit -Hn)"
DB=target/bench/accounts-100.db
if [ ! -s "$DB" ]; then
    seq 1 100 | awk '{print "user" $1 "@example.com password"}' > "$OUT/users.txt"
    RUST_LOG=warn "$BIN" user import "$OUT/users.txt" --db "$DB.tmp" >&2 && mv "$DB.tmp" "$DB"
fi
cp "$DB" "$OUT/msnpd.db"
RUST_LOG=info taskset -c 0 "$BIN" serve --db "$OUT/msnpd.db" --listen 127.0.0.1:0 \
    --sb-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --https-listen none --threads 1 \
    2>"$OUT/server.log" &
SPID=$!
trap 'kill -TERM $SPID 2>/dev/null; wait $SPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'notification listening on' "$OUT/server.log" && break; sleep 0.1; done
NS=$(sed -n 's/.*notification listening on //p' "$OUT/server.log" | head -n1)
# Setup (logins, switchboard invitations) first, then perf over the streaming window only: the
# generator streams for SECS + 6 seconds; perf record starts 2 s in and records SECS seconds,
# then perf stat counts the server's system calls for 2 s.
taskset -c 1 "$LOAD" --server "$NS" relay --pairs 20 --window 8 --size "$SIZE" --ack N \
    --duration $((SECS + 6)) --rate "$RATE" --no-spin --server-pid "$SPID" > "$OUT/load.txt" &
LPID=$!
sleep 2
perf record -e cpu-clock -F 4999 -g -p "$SPID" -o "$OUT/perf.data" -- sleep "$SECS" 2>"$OUT/perf-record.log"
if [ "$(perf list 2>/dev/null | grep -c 'syscalls:sys_enter_write ')" -gt 0 ]; then
    perf stat -e 'syscalls:sys_enter_*' -e context-switches -p "$SPID" -- sleep 2 \
        2>"$OUT/syscalls.txt" || true
fi
wait "$LPID" || true
grep '^RESULT' "$OUT/load.txt"
perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -v '^$' > "$OUT/report.txt"
perf report -i "$OUT/perf.data" --no-children --sort dso --stdio 2>/dev/null \
    | grep -v '^$' > "$OUT/report-dso.txt"
echo "== by symbol (self):"; { grep -E '^ +[0-9]' "$OUT/report.txt" | head -n 40; } || true
perf report -i "$OUT/perf.data" --no-children --sort comm --stdio 2>/dev/null \
    | grep -v '^$' > "$OUT/report-thread.txt"
echo "== by object:"; grep -E '^ +[0-9]' "$OUT/report-dso.txt" | head -n 10
echo "== by thread:"; grep -E '^ +[0-9]' "$OUT/report-thread.txt" | head -n 10
[ -s "$OUT/syscalls.txt" ] && { echo "== syscalls in 2 s:"; grep -E '^ +[0-9,]+ +(syscalls|context-switches)' "$OUT/syscalls.txt" | sort -rn | grep -v ' 0 ' | head -n 20; }
echo "full reports in $OUT"
