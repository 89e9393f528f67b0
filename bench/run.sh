#!/usr/bin/env bash
# Runs every msnpd-load scenario against a freshly started release server and writes
# BENCHMARKS.md. The server runs on one CPU (taskset -c $SERVER_CPU, --threads 1) and the load
# generator on another (taskset -c $GEN_CPU). Used by `make bench`; not part of `make test`.
#
# Environment: BENCH_ACCOUNTS (10000), BENCH_DURATION (seconds per streaming run, 5),
# BENCH_PACED_DURATION (seconds per paced run at 1,000 and 10,000 msg/s, 10: the VM's noise averages out better than in 5),
# BENCH_SERVER_CPU (0), BENCH_GEN_CPU (1), BENCH_OUT (BENCHMARKS.md), BENCH_LOG (server RUST_LOG,
# info), BENCH_FRESH=1 (re-create the cached account database), BENCH_XMPP_DURATION (10),
# BENCH_XMPP_RT (unset; a real-time priority for the XMPP latency run, see there).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/msnpd
LOAD=target/release/msnpd-load
N=${BENCH_ACCOUNTS:-10000}
DUR=${BENCH_DURATION:-5}
PDUR=${BENCH_PACED_DURATION:-10}
SCPU=${BENCH_SERVER_CPU:-0}
GCPU=${BENCH_GEN_CPU:-1}
OUT=${BENCH_OUT:-BENCHMARKS.md}
WORK=target/bench
mkdir -p "$WORK"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
[ -x "$BIN" ] && [ -x "$LOAD" ] || { echo "build first: cargo build --release"; exit 1; }

# 10,000 sessions need 10,000 descriptors on each side: soft limit up to the hard one.
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if [ "$NOFILE" -lt $((N + 500)) ]; then
    echo "warning: ulimit -n is $NOFILE; the idle scenario needs about $((N + 500))" >&2
fi
if pgrep -f 'cargo fuzz|fuzz/target' >/dev/null; then
    echo "warning: a fuzzer is running; figures will be low" >&2
fi

# Accounts user1..userN@example.com / password, imported once (Argon2 makes this take minutes)
# and copied for every server start.
DB="$WORK/accounts-$N.db"
if [ -n "${BENCH_FRESH:-}" ] || [ ! -s "$DB" ]; then
    echo "creating $N accounts in $DB (once)..." >&2
    rm -f "$DB" "$DB".tmp*
    seq 1 "$N" | awk '{print "user" $1 "@example.com password"}' > "$WORK/users.txt"
    RUST_LOG=warn "$BIN" user import "$WORK/users.txt" --db "$DB.tmp" >&2
    mv "$DB.tmp" "$DB"
fi

# Server options this build understands (limits must not get in the way of 10,000 sessions).
EXTRA=()
HELP=$("$BIN" serve --help 2>&1 || true)
grep -q -- '--max-per-ip' <<<"$HELP" && EXTRA+=(--max-per-ip 100000)
grep -q -- '--max-connections' <<<"$HELP" && EXTRA+=(--max-connections 100000)

# The certificate kit for the HTTPS runs, made once (RSA key generation) like the accounts.
TLS="$WORK/tls"
[ -s "$TLS/ca.pem" ] || RUST_LOG=warn "$BIN" tls init --tls-dir "$TLS" >/dev/null

SPID=""
RUN=""
# HTTPS is off in every run but the idle-HTTPS reading and the WLM sign-in (login-sso), which set
# HTTPS_ARGS for one start each.
HTTPS_ARGS=(--https-listen none)
start_server() {
    RUN=$(mktemp -d "$WORK/run.XXXXXX")
    cp "$DB" "$RUN/msnpd.db"
    RUST_LOG=${BENCH_LOG:-info} taskset -c "$SCPU" "$BIN" serve --db "$RUN/msnpd.db" \
        --listen 127.0.0.1:0 --sb-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 "${HTTPS_ARGS[@]}" \
        --threads 1 "${EXTRA[@]}" "$@" 2>"$RUN/server.log" &
    SPID=$!
    local want=3
    [ "${HTTPS_ARGS[1]}" = none ] || want=4
    for _ in $(seq 100); do
        [ "$(grep -c 'listening on' "$RUN/server.log" || true)" -ge "$want" ] && break
        sleep 0.1
    done
    NS=$(sed -n 's/.*notification listening on //p' "$RUN/server.log" | head -n1)
    HTTP=$(sed -n 's/.*http listening on //p' "$RUN/server.log" | head -n1)
    [ -n "$NS" ] && [ -n "$HTTP" ] || { cat "$RUN/server.log" >&2; echo "server did not start" >&2; exit 1; }
    sleep 0.5   # let it settle before RSS readings
}
stop_server() {
    kill -TERM "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    rm -rf "$RUN"
}
trap 'stop_server' EXIT

# run NAME ARGS...: generator on its CPU against the current server; keeps the RESULT line.
declare -A RES CMD
ORDER=()
run() {
    local name=$1; shift
    local shown="taskset -c $GCPU msnpd-load $*"
    echo "== $name: $shown" >&2
    local out
    out=$(taskset -c "$GCPU" "$LOAD" "$@" | grep '^RESULT' | tail -n1) || true
    [ -n "$out" ] || out="RESULT scenario=$name error=failed"
    echo "$out" >&2
    RES[$name]=$out
    CMD[$name]=$shown
    ORDER+=("$name")
}
# val NAME KEY: one value from a RESULT line.
val() { tr ' ' '\n' <<<"${RES[$1]}" | sed -n "s/^$2=//p" | head -n1; }
fresh() { stop_server; start_server "$@"; }

start_server
run relay-n     --server "$NS" relay --pairs 20 --window 8 --size 100 --ack N --duration "$DUR" --server-pid "$SPID"
fresh; run relay-a     --server "$NS" relay --pairs 20 --window 8 --size 100 --ack A --duration "$DUR" --server-pid "$SPID"
fresh; run relay-1664  --server "$NS" relay --pairs 20 --window 8 --size 1664 --ack N --duration "$DUR" --server-pid "$SPID"
HALF=$(awk -v r="$(val relay-n msgs_per_s)" 'BEGIN { printf "%d", (r > 0 ? r : 100000) / 2 }')
fresh; run relay-half  --server "$NS" relay --pairs 20 --window 8 --size 100 --ack N --duration "$DUR" --rate "$HALF" --server-pid "$SPID"
run raw-relay          raw-relay --pairs 20 --window 8 --size 100 --duration "$DUR" --relay-cpu "$SCPU"
run raw-relay-1664     raw-relay --pairs 20 --window 8 --size 1664 --duration "$DUR" --relay-cpu "$SCPU"
# Paced: the loads a home server sees. Each msnpd run and the raw relay at the same pace and size,
# one after the other in this run; the generator sleeps between sends (--no-spin), as a client does.
for pace in 1000 10000; do
    for size in 100 1664; do
        sfx="$((pace / 1000))k-$size"
        fresh; run "paced-$sfx" --server "$NS" relay --pairs 20 --window 8 --size "$size" --ack N --duration "$PDUR" --rate "$pace" --no-spin --server-pid "$SPID"
        run "raw-paced-$sfx"   raw-relay --pairs 20 --window 8 --size "$size" --duration "$PDUR" --rate "$pace" --no-spin --relay-cpu "$SCPU"
    done
done
fresh; run fanout      --server "$NS" fanout --watchers 200 --rounds 500 --first 1 --server-pid "$SPID"
run raw-fanout         raw-fanout --watchers 200 --rounds 500 --relay-cpu "$SCPU"
# The idle RSS is read at the start of this run: past the first housekeeping tick (2 s), so it is
# the RSS of a server that has done its periodic work once, not of one just started.
fresh; sleep 2.5; run idle        --server "$NS" idle --sessions "$N" --concurrency 50 --hold 30 --ping 30 --server-pid "$SPID"
fresh; run login-md5   --server "$NS" login --concurrency 20 --duration "$DUR" --accounts 1000 --server-pid "$SPID"
fresh; run login-burst --server "$NS" login --concurrency 1000 --count 1000 --accounts 1000 --server-pid "$SPID"
# "Back under" is what the target asks: read the RSS again after the housekeeping tick (2 s) that
# shrinks the buffer pools and returns freed memory to the system.
sleep 3
BSETTLED=$(awk '/^VmRSS/{print $2}' "/proc/$SPID/status")
# Idle RSS with HTTPS on (the certificate kit loaded, OpenSSL initialised), read like the idle
# scenario's "before" figure: a fresh server, settled, no client.
# XMPP on (its default) on a loopback port, so that a program holding 5222 does not turn it off.
stop_server; HTTPS_ARGS=(--https-listen 127.0.0.1:0 --tls-dir "$TLS"); start_server --xmpp-listen 127.0.0.1:0
sleep 2.5   # past the first housekeeping tick, as the idle run's reading
HTTPS_RSS=$(awk '/^VmRSS/{print $2}' "/proc/$SPID/status")
HTTPS_RSS_DETAIL=$(awk '/^RssAnon|^RssFile/{printf "%s %s ", $1, $2}' "/proc/$SPID/status")
HTTPS_ARGS=(--https-listen none)
# Idle XMPP sessions (issue 20 item 6): STARTTLS, SCRAM, bind and presence (so each has its MSN
# bridge), the server's RSS growth per session over 200 of them after 20 to warm up.
fresh --xmpp-listen 127.0.0.1:0 --tls-dir "$TLS"
for _ in $(seq 50); do grep -q 'xmpp listening on' "$RUN/server.log" && break; sleep 0.1; done
XMPP=$(sed -n 's/.*xmpp listening on //p' "$RUN/server.log" | head -n1)
echo "== xmpp-idle: bench/xmpp-idle.py --server $XMPP --sessions 200 --warm 20" >&2
XOUT=$(taskset -c "$GCPU" python3 bench/xmpp-idle.py --server "$XMPP" --ca "$TLS/ca.pem" \
    --server-pid "$SPID" --sessions 200 --warm 20 | grep '^RESULT' | tail -n1) || true
RES[xmpp-idle]=${XOUT:-"RESULT scenario=xmpp-idle error=failed"}
CMD[xmpp-idle]="taskset -c $GCPU python3 bench/xmpp-idle.py --server $XMPP --ca $TLS/ca.pem --server-pid $SPID --sessions 200 --warm 20"
ORDER+=(xmpp-idle)
echo "${RES[xmpp-idle]}" >&2
fresh; run login-twn   --server "$NS" --version 11 --nexus "http://$HTTP/rdr/pprdr.asp" login --concurrency 1 --count 200 --server-pid "$SPID"
fresh; run login-twn-c2 --server "$NS" --version 11 --nexus "http://$HTTP/rdr/pprdr.asp" login --concurrency 2 --count 40
# WLM 2009 sign-in (MSNP18 single sign-on): RST.srf over HTTPS, checked against the kit's CA as
# the real client checks it, the MBI_KEY_OLD answer, USR SSO S with a machine GUID, ADL, CHG.
stop_server; HTTPS_ARGS=(--https-listen 127.0.0.1:0 --tls-dir "$TLS"); start_server
HTTPS=$(sed -n 's/.*https listening on //p' "$RUN/server.log" | head -n1)
run login-sso          --server "$NS" --version 18 --rst "https://$HTTPS/RST.srf" --ca "$TLS/ca.pem" login --concurrency 1 --count 200 --server-pid "$SPID"
HTTPS_ARGS=(--https-listen none)
# WLM address book: ABFindAll of user1's 300 contacts (added over SOAP first), server CPU per answer.
fresh; run abfindall   abfindall --http "$HTTP" --contacts 300 --count 500 --server-pid "$SPID"
stop_server
# XMPP -> MSN message latency (issue 20): bench/xmpp_latency.py starts a server of its own (fresh
# database, --threads 1, pinned to the server CPU) and runs its XMPP and MSNP7 clients on the
# generator CPU: 100 XMPP users each chatting with an MSNP7 user, 1,000 msg/s in all.
# BENCH_XMPP_RT=PRIO runs it all (server and clients) under `chrt -f PRIO`, so other processes
# on a shared machine cannot preempt it: on a busy 2-CPU box their time slices are the p99.
XDUR=${BENCH_XMPP_DURATION:-10}
XRT=()
[ -n "${BENCH_XMPP_RT:-}" ] && XRT=(chrt -f "$BENCH_XMPP_RT")
XSHOWN="XMPP_BENCH_SERVER_CPU=$SCPU ${XRT[*]} taskset -c $GCPU bench/xmpp_latency.py target/release/msnpd 100 1000 $XDUR"
echo "== xmpp-latency: $XSHOWN" >&2
XOUT=$(XMPP_BENCH_SERVER_CPU=$SCPU "${XRT[@]}" taskset -c "$GCPU" python3 bench/xmpp_latency.py "$BIN" 100 1000 "$XDUR" 2>/dev/null | grep '^RESULT' | tail -n1) || true
RES[xmpp-latency]=${XOUT:-"RESULT scenario=xmpp-latency error=failed"}
CMD[xmpp-latency]=$XSHOWN
ORDER+=(xmpp-latency)
echo "${RES[xmpp-latency]}" >&2

# ---------------------------------------------------------------- report
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }
# num_le A B: A is a number (not "n/a" from a failed run) and at most B.
num_le() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] && le "$1" "$2"; }
mark() { if "$@"; then echo "met"; else echo "**missed**"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "n/a" }'; }
kib2mib() { awk -v k="$1" 'BEGIN { if (k != "") printf "%.2f", k / 1024; else print "n/a" }'; }

RN=$(val relay-n msgs_per_s); RAW=$(val raw-relay msgs_per_s)
RA=$(val relay-a msgs_per_s); RL=$(val relay-1664 msgs_per_s); RAWL=$(val raw-relay-1664 msgs_per_s)
HP99=$(val relay-half p99_us); HP50=$(val relay-half p50_us); HRATE=$(val relay-half msgs_per_s)
FP99=$(val fanout all_p99_us); FP50=$(val fanout all_p50_us); FLOST=$(val fanout lost)
RFP99=$(val raw-fanout all_p99_us); RFP50=$(val raw-fanout all_p50_us)
# Per idle session: the private memory (RssAnon) the sessions added. The VmRSS delta is shown
# beside it: since start-up code is unmapped once the server runs (ops::residency), the logins map
# part of the binary back, and those pages (shared with the page cache, the same for one session
# as for 10,000) land in a VmRSS delta; before that change they were resident from the start.
IKIB=$(val idle anon_kib_per_session); IRSSKIB=$(val idle kib_per_session)
[ -n "$IKIB" ] || IKIB=$IRSSKIB
IBEFORE=$(val idle rss_before_kib); IAFTER=$(val idle rss_after_kib)
IALIVE=$(val idle alive)
BAFTER=$(val login-burst rss_after_kib); BHWM=$(val login-burst rss_hwm_kib)
LRATE=$(val login-md5 logins_per_s)
TOVER=$(val login-twn server_cpu_beyond_hash_ms); THASH=$(val login-twn server_hash_cpu_ms_per_login); TP50=$(val login-twn p50_ms)
SOVER=$(val login-sso server_cpu_beyond_hash_ms); SHASH=$(val login-sso server_hash_cpu_ms_per_login); SP50=$(val login-sso p50_ms)
IPINGS=$(val idle pings); IUNANS=$(val idle unanswered)
fan_ok() { [ "$FLOST" = 0 ] && le "$FP99" 2000; }
idle_ok() { [ "$IALIVE" = "$N" ] && le "$IKIB" 2 && [ "$IUNANS" = 0 ]; }
# row TARGET MEASURED CHECK...: one Targets row; the verdict is CHECK run on this run's figures,
# and a missed row is remembered for the "Missed targets" list below the table.
MISSED=()
row() {
    local target=$1 measured=$2; shift 2
    if "$@"; then
        echo "| $target | $measured | met |"
    else
        echo "| $target | $measured | **missed** |"
        MISSED+=("$target: measured $measured")
    fi
}
# CPU time per delivered message, and msnpd's relay cost relative to the raw relay's.
cpu() { local v; v=$(val "$1" "$2"); echo "${v:-n/a}"; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
CRN=$(val relay-n server_cpu_us_per_msg); CRAW=$(val raw-relay server_cpu_us_per_msg)
CRL=$(val relay-1664 server_cpu_us_per_msg); CRAWL=$(val raw-relay-1664 server_cpu_us_per_msg)
PCT=$(ratio "$RN" "$RAW"); PCTL=$(ratio "$RL" "$RAWL")

{
cat <<'EOF'
# Benchmarks

Generated by `make bench` (`bench/run.sh`) with `msnpd-load`, the load generator shipped in this
repository (`target/release/msnpd-load`, built by `cargo build --release`). It speaks MSNP to any
MSN server; every scenario ends with one `RESULT key=value ...` line. Do not edit the figures by
hand: rerun `make bench`.

## How to run

Accounts are `user1@example.com` ... `userN@example.com`, all with the password `password`
(`--prefix`, `--domain`, `--password` change the scheme; `--first` the first number). Create them
once with:

```sh
seq 1 10000 | awk '{print "user" $1 "@example.com password"}' > users.txt && msnpd user import users.txt --db msnpd.db
```

Then, with the server running (`msnpd serve --threads 1 --max-per-ip 100000` for many sessions from
one address), for example:

```sh
msnpd-load --server 127.0.0.1:1863 relay --pairs 20 --window 8 --size 100 --ack N --duration 5
msnpd-load --server 127.0.0.1:1863 relay --pairs 20 --window 8 --size 100 --duration 5 --rate 200000
msnpd-load raw-relay --pairs 20 --window 8 --size 100 --duration 5 --relay-cpu 0
msnpd-load --server 127.0.0.1:1863 fanout --watchers 200 --rounds 500
msnpd-load raw-fanout --watchers 200 --rounds 500 --relay-cpu 0
msnpd-load --server 127.0.0.1:1863 idle --sessions 10000 --server-pid $(pidof msnpd)
msnpd-load --server 127.0.0.1:1863 login --concurrency 20 --duration 5 --accounts 1000
msnpd-load --server 127.0.0.1:1863 --version 11 --nexus http://127.0.0.1:8080/rdr/pprdr.asp login --concurrency 1 --count 20
msnpd-load --server 127.0.0.1:1863 --version 18 --rst https://127.0.0.1:443/RST.srf --ca tls/ca.pem login --concurrency 1 --count 20
```

`msnpd-load --help` and `msnpd-load SCENARIO --help` list every option. What each scenario does:

- `login`: full logins (dispatch, `XFR NS` redirect, MD5 for MSNP2-7 or Tweener via nexus and
  login2.srf for MSNP8-12, `SYN`, `CHG NLN`, `OUT`); latency is connect to `CHG` answer. For
  Tweener it also reports the time of one local Argon2 check with msnpd's parameters
  (`local_hash_ms`) and `p50_minus_hash_ms`, the client-seen login time beyond it. With
  `--server-pid` of an msnpd it reports the server's share, both terms from the server over the
  same interval: `server_cpu_ms_per_login` (its process CPU time, /proc/PID/stat),
  `server_hash_cpu_ms_per_login` (the thread CPU time its password checks took, which msnpd counts
  and shows on its operator `/status`; the tool finds the token through the lock file the server
  holds open) and `server_cpu_beyond_hash_ms`, the difference.
  `--version 15`-`18` sign in as Windows Live Messenger does: RST.srf over HTTPS (`--rst`, the
  certificate checked against `--ca` for login.live.com), the `MBI_KEY_OLD` answer, `USR SSO S`
  (with a machine GUID from MSNP16), an empty initial `ADL` instead of `SYN`; the same
  `p50_minus_hash_ms` and server figures.
- `idle`: N sessions logged in and kept alive: every session sends `PNG` at the client interval
  (`--ping`) and counts the `QNG` answers, `CHL` is answered with `QRY`; the hold covers at least
  one interval. Server VmRSS before and after, per session; pings sent and unanswered.
- `relay`: P switchboard pairs (XFR SB, USR, CAL, RNG, ANS); A streams `MSG` to B with W messages in
  flight (ack N: until B has them; ack A: until ACKed). Payloads carry a send timestamp and a
  sequence number: B computes the latency, checks order and loss, and checks every other payload
  byte (`corrupt`). `--rate` paces the total; latency is then timed from each message's
  scheduled send time (no coordinated omission).
- `raw-relay`: the same bytes through a minimal TCP relay built into the tool (a child process,
  pinned like the server): the physical limit of this machine's loopback and syscalls.
- `fanout`: one user, K watchers with it on FL (added with `ADD FL`/`ADC FL`); the user changes
  status repeatedly; time until all K received the `NLN`, and updates lost.
- `raw-fanout`: the same pattern through the tool's minimal relay: each line from the trigger is
  written to the K watchers as an `NLN`, one `write` each and nothing else. The floor `fanout`
  can reach on this machine: on loopback the server's CPU also runs the watchers' TCP receive
  path, so this floor is mostly the kernel's.

The generator runs all clients on one thread: logins and setup as smol tasks, the relay streaming
phase and the fanout rounds as level-triggered epoll loops (each pair's free window in one write,
one read per wake-up, 128 KiB read buffers; both spin in `epoll_wait` while waiting unless
`--no-spin`). Relay results carry `gen_cpu_pct` and `server_cpu_pct` (CPU time over wall
time): a generator near 100% means the figure is the generator's limit, not the server's. They
also carry `server_cpu_us_per_msg`, the server's (or raw relay's) CPU time per delivered message,
and fanout `server_cpu_us_per_nln`: comparable whoever the bottleneck was.

EOF
echo "## Last run"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git rev-parse --short HEAD 2>/dev/null || echo n/a)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes)')"
echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1); $(uname -sr)"
echo "- load average before the run: $LOADAVG_START"
echo "- server: \`taskset -c $SCPU target/release/msnpd serve --db COPY --listen 127.0.0.1:0 --sb-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --https-listen none --threads 1 ${EXTRA[*]}\` (RUST_LOG=${BENCH_LOG:-info}), fresh for each group; generator on CPU $GCPU; \`ulimit -n\` $NOFILE"
echo "- accounts: $N"
echo "- binary: target/release/msnpd, $(stat -c %s "$BIN") B (stripped release build of this commit)"
echo
echo "## Targets"
echo
echo "| target | measured | |"
echo "|---|---|---|"
row "relay >= 400k msg/s (20 pairs x window 8 x 100 B, ack N)" "$RN msg/s" ge "$RN" 400000
row "relay >= 60% of raw-relay" "$PCT% ($RN / $RAW)" ge "$PCT" 60
row "ack A >= 280k msg/s" "$RA msg/s" ge "$RA" 280000
row "1664-byte >= 150k msg/s" "$RL msg/s ($PCTL% of raw-relay's $RAWL)" ge "$RL" 150000
row "p99 <= 1 ms at half load" "p99 $HP99 us, p50 $HP50 us at $HRATE msg/s (from scheduled send times)" le "$HP99" 1000
row "fanout to 200: p99 <= 2 ms, none lost" "p99 $FP99 us, p50 $FP50 us, lost $FLOST (raw-fanout floor: p99 $RFP99 us, p50 $RFP50 us)" fan_ok
row "<= 2 KiB per idle session at $N sessions, every PNG answered" "$IKIB KiB private memory (VmRSS delta $IRSSKIB KiB, with code mapped back by the logins; $IALIVE alive, $IPINGS pings, $IUNANS unanswered)" idle_ok
row "idle server RSS <= 4 MiB" "$(kib2mib "$IBEFORE") MiB" le "$IBEFORE" 4096
row "RSS < 16 MiB after 1,000 concurrent logins" "$(kib2mib "$BSETTLED") MiB 3 s after (right after: $(kib2mib "$BAFTER") MiB, peak $(kib2mib "$BHWM") MiB)" le "$BSETTLED" 16383
row ">= 2,000 MSNP7 logins/s" "$LRATE/s" ge "$LRATE" 2000
for sfx in 1k-100 10k-100 1k-1664 10k-1664; do
    c=$(val "paced-$sfx" server_cpu_us_per_msg); rc=$(val "raw-paced-$sfx" server_cpu_us_per_msg)
    limit=1.5; [ "${sfx#*-}" = 1664 ] && limit=2
    x=$(times "$c" "$rc")
    row "paced ${sfx%-*} msg/s x ${sfx#*-} B: CPU per message <= ${limit}x the raw relay's" "$x x ($c us vs $rc us; p99 $(val "paced-$sfx" p99_us) us vs $(val "raw-paced-$sfx" p99_us) us)" num_le "$x" "$limit"
done
row "1664-byte at full load: CPU per message <= 2x the raw relay's" "$(times "$CRL" "$CRAWL") x ($CRL us vs $CRAWL us)" num_le "$(times "$CRL" "$CRAWL")" 2
XKIB=$(val xmpp-idle kib_per_session)
row "idle XMPP session (TLS, SCRAM, bind, presence, its MSN bridge) <= 4 KiB" "$XKIB KiB ($(val xmpp-idle opened) sessions; RSS $(val xmpp-idle rss_before_kib) -> $(val xmpp-idle rss_after_kib) kB)" num_le "$XKIB" 4
row "idle server RSS with HTTPS on <= 6 MiB" "$(kib2mib "$HTTPS_RSS") MiB ($HTTPS_RSS_DETAIL kB)" le "$HTTPS_RSS" 6144
ARM64=target/aarch64-unknown-linux-gnu/release/msnpd
if [ -x "$ARM64" ]; then
    A64=$(stat -c %s "$ARM64")
    row "aarch64 binary <= 6 MiB (make aarch64, built $(date -u -r "$ARM64" '+%Y-%m-%d %H:%M'))" "$A64 B" le "$A64" 6291456
else
    row "aarch64 binary <= 6 MiB" "not built: run make aarch64 before make bench" false
fi
row "Tweener login: server CPU beyond the password hash <= 1 ms" "$TOVER ms ($(val login-twn server_cpu_ms_per_login) ms server CPU per login, $THASH ms of it in the hash; client-seen p50 $TP50 ms, $(val login-twn p50_minus_hash_ms) ms over a local Argon2 check)" le "$TOVER" 1
row "WLM sign-in (MSNP18 SSO, RST.srf over HTTPS): server CPU beyond the password hash <= 1 ms" "$SOVER ms ($(val login-sso server_cpu_ms_per_login) ms server CPU per login, $SHASH ms of it in the hash; client-seen p50 $SP50 ms, $(val login-sso p50_minus_hash_ms) ms over a local Argon2 check)" le "$SOVER" 1
XP99=$(val xmpp-latency p99_us); XP50=$(val xmpp-latency p50_us); XMAX=$(val xmpp-latency max_us)
XLOST=$(val xmpp-latency lost)
xmpp_ok() { [ "$XLOST" = 0 ] && le "$XP99" 2000; }
row "XMPP -> MSN message p99 <= 2 ms at 1,000 msg/s (100 XMPP users to 100 MSNP7 users)" "p99 $XP99 us, p50 $XP50 us, max $XMAX us, lost $XLOST" xmpp_ok
ABCPU=$(val abfindall server_cpu_ms_per_request); ABP50=$(val abfindall p50_ms)
row "ABFindAll of 300 contacts <= 10 ms server time" "$ABCPU ms server CPU per answer (client-seen p50 $ABP50 ms, $(val abfindall answer_bytes) bytes)" le "$ABCPU" 10
RAWCPU=$(val raw-relay server_cpu_pct); RAWGEN=$(val raw-relay gen_busy_pct)
if [ -n "$RAWCPU" ] && ! ge "$RAWCPU" 90; then
    echo
    if ge "$RAWGEN" 90; then
        echo "raw-relay was limited by the generator (busy $RAWGEN%), not by the relay process (CPU $RAWCPU%):"
        echo "the physical limit is higher than $RAW msg/s, so the relay/raw-relay ratio is an upper bound."
    else
        echo "raw-relay saturated neither the relay process (CPU $RAWCPU%) nor the generator (busy $RAWGEN%):"
        echo "other load on the machine or the window limited it, so the relay/raw-relay ratio says little;"
        echo "compare the CPU time per message below instead."
    fi
fi
echo
echo "### Missed targets in this run"
echo
if ((${#MISSED[@]})); then
    for m in "${MISSED[@]}"; do echo "- $m"; done
else
    echo "None: every row above is met."
fi
echo
echo "## Server CPU time per delivered message"
echo
echo "The server's (or the raw relay's) user + system CPU time from /proc/PID/stat over each run's"
echo "measured window, divided by the messages delivered in it. Unlike msg/s this does not depend on"
echo "whether the generator or the server was the bottleneck."
echo
echo "| run | delivered msg/s | server CPU % | server CPU us per message |"
echo "|---|---|---|---|"
for n in relay-n relay-a relay-1664 relay-half raw-relay raw-relay-1664 \
    paced-1k-100 raw-paced-1k-100 paced-10k-100 raw-paced-10k-100 \
    paced-1k-1664 raw-paced-1k-1664 paced-10k-1664 raw-paced-10k-1664; do
    echo "| $n | $(cpu "$n" msgs_per_s) | $(cpu "$n" server_cpu_pct) | $(cpu "$n" server_cpu_us_per_msg) |"
done
echo "| fanout (per NLN delivered to one watcher) | | $(cpu fanout server_cpu_pct) | $(cpu fanout server_cpu_us_per_nln) |"
echo "| raw-fanout (the same, one write per watcher and nothing else) | | $(cpu raw-fanout server_cpu_pct) | $(cpu raw-fanout server_cpu_us_per_nln) |"
echo
echo "Efficiency: msnpd spends $(times "$CRN" "$CRAW") times the raw relay's CPU time per 100-byte message ($CRN us vs $CRAW us) and $(times "$CRL" "$CRAWL") times per 1664-byte message ($CRL us vs $CRAWL us), measured in the same run."
echo
echo "## Results"
echo
for n in "${ORDER[@]}"; do
    echo "### $n"
    echo
    echo '```'
    echo "${CMD[$n]}"
    echo "${RES[$n]}"
    echo '```'
    echo
done
[ -f "$(dirname "$0")/analysis.md" ] && cat "$(dirname "$0")/analysis.md"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
