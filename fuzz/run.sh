#!/usr/bin/env bash
# `make fuzz`: builds the fuzz targets (fuzz/build.sh) and runs each for a fixed time
# (FUZZ_SECS, default 30 s) from the committed seeds plus the working corpus fuzz/corpus/<target>
# (git-ignored; FUZZ_FRESH=1 empties it first), with the dictionaries. Prints one summary line per
# target: executions, exec/s, corpus entries and size, coverage (edges `cov`, features `ft`) and
# peak RSS. Fails if a target crashes, panics or breaks one of its assertions.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${FUZZ_SECS:-30}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
./build.sh
summary=()
for t in msnp_frame http_request wlm_payloads; do
    corpus=corpus/$t
    [ -n "${FUZZ_FRESH:-}" ] && rm -rf "$corpus"
    mkdir -p "$corpus" "artifacts/$t"
    extra=()
    # The HTTP target must reach the 8 KiB head and 16 KiB body limits.
    [ "$t" = http_request ] && extra+=(-max_len=32768)
    # The WLM target must reach the 16 KiB SOAP body limit.
    [ "$t" = wlm_payloads ] && extra+=(-max_len=20000)
    log=$(mktemp)
    echo "== $t: ${SECS} s" >&2
    rc=0
    "target/$TRIPLE/release/$t" "$corpus" "seeds/$t" -dict="dict/$t.dict" "${extra[@]}" \
        -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        >"$log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz target $t failed (exit $rc); the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1)
    stat() { sed -n "s/^stat::$1:[[:space:]]*//p" "$log" | tail -n1; }
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")
    summary+=("FUZZ target=$t secs=$SECS execs=$(stat number_of_executed_units) execs_per_s=$(stat average_exec_per_sec) corpus=$corp cov=$cov ft=$ft peak_rss_mb=$(stat peak_rss_mb) crashes=0")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
