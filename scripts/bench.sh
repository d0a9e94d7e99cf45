#!/usr/bin/env bash
# bench.sh [RUNS]: treesync against rsync's daemon, tar | nc and cp -a, side
# by side in one run on loopback, trees on a tmpfs. Tools alternate within
# each round so a noisy neighbour hurts them alike. Prints medians, each
# tool's ratio to rsync, bytes on the wire, and treesync's peak RSS.
#   RUNS (default 5): rounds per case. BENCH_DIR (default /dev/shm/tsbench).
#   BENCH_CASES (default "1 2 3 4 5 8 9 10 11 12 13 14 15 16 17 18 20"): which cases to run.
#   Cases 6, 7 and 19 (1,000,000 files) take minutes and run only when
#   named: BENCH_CASES="6 7 19"; BIG_RUNS (default 3) rounds each. They
#   need room for 2,000,000 inodes in BENCH_DIR. Case 19 times one change
#   reaching a pull --watch mirror of that tree against the no-op re-pull a
#   cron job would run; case 20 a chain of watching mirrors, A -> B -> C.
# Case 8 pushes cases 1 and 2's trees into an empty `serve --writable` and
# pulls them back, alternating (target: push <= 1.1 x pull). Cases 9 and 10
# go over ssh to a throwaway sshd on 127.0.0.1 (scripts/loopback-sshd.sh),
# against scp -r and rsync -e ssh, all with the same ssh client options and
# so ssh's default cipher, and beside floors through the same ssh (`ssh
# HOST tar cf - | tar xf -`, that stream into /dev/null, `ssh HOST true`);
# they print SKIP when sshd is missing. Case 10
# runs scp once, capped at SCP_CAP seconds (default 300). BENCH_CASES="8 9
# 10" runs only those: about 2 minutes with RUNS=3 on 2 cores, and the
# whole default run about 3.5.
set -u
RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TS=${TS:-$HERE/build/treesync}
PROXY=${PROXY:-$HERE/build/tools/fault_proxy}
B=${BENCH_DIR:-/dev/shm/tsbench}
CASES=${BENCH_CASES:-1 2 3 4 5 8 9 10 11 12 13 14 15 16 17 18 20}
[ -x "$TS" ] || { echo "build first: make (and make build/tools/fault_proxy)" >&2; exit 1; }
TS=$(cd "$(dirname "$TS")" && pwd)/$(basename "$TS")  # absolute: the ssh cases run it "remotely"
SSHD_HELPER=$HERE/scripts/loopback-sshd.sh
# shellcheck source=loopback-sshd.sh
[ -f "$SSHD_HELPER" ] && . "$SSHD_HELPER"
SSH_STATE=  # up once cases 9 and 10 started the loopback sshd
have() { command -v "$1" >/dev/null 2>&1; }
have rsync || echo "SKIP rsync: not installed (apt-get install rsync)"
have nc || echo "SKIP tar | nc: nc not installed (apt-get install netcat-openbsd)"
rm -rf "$B"; mkdir -p "$B"
trap '[ "$SSH_STATE" = up ] && sshd_stop; kill $(jobs -p) 2>/dev/null; rm -rf "$B"' EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }
free_port() { echo $((20000 + RANDOM % 20000)); }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- trees ----
make_large() { # dir [MiB a file, default 128]: 4 files of random bytes
  mkdir -p "$1"; for i in 1 2 3 4; do head -c $((${2:-128} << 20)) /dev/urandom > "$1/big$i"; done
}
make_small() {
  mkdir -p "$1"
  local seed=$B/seed.bin; head -c $((8 << 20)) /dev/urandom > "$seed"
  python3 - "$1" "$seed" <<'PY'
import os, random, sys
root, seed = sys.argv[1], open(sys.argv[2], 'rb').read()
rnd = random.Random(42)
for d in range(400):
    p = os.path.join(root, 'dir%03d' % d); os.makedirs(p)
    for f in range(50):
        n = rnd.randint(1024, 8192); o = rnd.randint(0, len(seed) - n)
        with open(os.path.join(p, 'f%02d' % f), 'wb') as fh: fh.write(seed[o:o + n])
PY
}

# 1,000,000 small files: 100 x 100 folders of 100 files of 0-49 bytes.
make_million() {
  mkdir -p "$1"
  python3 - "$1" <<'PY'
import os, sys
root = sys.argv[1]
for a in range(100):
    for b in range(100):
        d = os.path.join(root, 'd%02d' % a, 'e%02d' % b); os.makedirs(d)
        for c in range(100):
            with open(os.path.join(d, 'f%02d' % c), 'wb') as fh: fh.write(b'x' * (c % 50))
PY
}

# ---- servers ----
start_treesync() { # dir [serve options]: each server logs to a file of its own
  TS_LOG=$(mktemp "$B/ts.XXXXXX.log"); "$TS" serve --port 0 --bind 127.0.0.1 "${@:2}" "$1" 2>"$TS_LOG" & TS_PID=$!
  for _ in $(seq 100); do TS_PORT=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TS_LOG" | head -1); [ -n "$TS_PORT" ] && break; sleep 0.05; done
}
start_rsyncd() { # dir
  cat > "$B/rsyncd.conf" <<CONF
use chroot = no
[src]
path = $1
read only = yes
CONF
  # A random port may be taken: try another until the daemon answers.
  for _ in 1 2 3 4 5; do
    RS_PORT=$(free_port)
    rsync --daemon --no-detach --config="$B/rsyncd.conf" --port "$RS_PORT" --address 127.0.0.1 \
      2>>"$B/rsyncd.log" & RS_PID=$!
    for _ in $(seq 40); do
      rsync "rsync://127.0.0.1:$RS_PORT/" >/dev/null 2>&1 && return 0
      kill -0 "$RS_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop "$RS_PID"
  done
  echo "rsync daemon did not start: $(tail -1 "$B/rsyncd.log")" >&2
}
stop() { kill "$@" 2>/dev/null; wait "$@" 2>/dev/null; }

# ---- one timed run each; prints "milliseconds wire_bytes", or nothing (and
# a line on stderr) when the run failed, so a failure never counts as a time ----
failed() { echo "  $1 failed (exit $2): $3" >&2; }
run_ts() { # pull|push args...: one treesync client run; sets CLIENT_RSS
  local verb=$1 t0 t1 out rc; shift; t0=$(now_ns)
  out=$(/usr/bin/time -f '%M' -o "$B/client.rss" "$TS" "$verb" --json "$@" 2>"$B/client.err")
  rc=$?; t1=$(now_ns)
  [ "$rc" = 0 ] || { failed "treesync $verb" "$rc" "$(tail -1 "$B/client.err")"; return; }
  CLIENT_RSS=$(tail -1 "$B/client.rss")
  echo "$(( (t1 - t0) / 1000000 )) $(tail -1 <<<"$out" | sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p')"
}
run_treesync() { run_ts pull "127.0.0.1:$1" "$2"; } # port dst
run_rsync() { run_rsync_from "rsync://127.0.0.1:$1/src/" "$2/"; } # port dst
run_rsync_from() { # rsync args...: rsync -a --delete --stats ARGS
  local t0 t1 out rc; t0=$(now_ns)
  out=$(rsync -a --delete --stats "$@" 2>&1); rc=$?; t1=$(now_ns)
  [ "$rc" = 0 ] || { failed rsync "$rc" "$(tail -1 <<<"$out")"; return; }
  local s r; s=$(sed -n 's/^Total bytes sent: \([0-9,]*\).*/\1/p' <<<"$out" | tr -d ,)
  r=$(sed -n 's/^Total bytes received: \([0-9,]*\).*/\1/p' <<<"$out" | tr -d ,)
  echo "$(( (t1 - t0) / 1000000 )) $(( ${s:-0} + ${r:-0} ))"
}
run_tarnc() { # src dst
  local port t0 t1; port=$(free_port); mkdir -p "$2"
  t0=$(now_ns)
  (cd "$2" && nc -l 127.0.0.1 "$port" | tar xf -) 2>"$B/tarnc.err" & local rx=$!
  sleep 0.1
  (cd "$1" && tar ${TAR_OPTS:-} -cf - . | nc -N 127.0.0.1 "$port") 2>>"$B/tarnc.err"
  wait $rx; local rc=$?; t1=$(now_ns)
  [ "$rc" = 0 ] && [ ! -s "$B/tarnc.err" ] || { failed "tar | nc" "$rc" "$(tail -1 "$B/tarnc.err")"; return; }
  # wall time minus the 0.1 s head start given to the listener
  echo "$(( (t1 - t0) / 1000000 - 100 )) $(du -sb "$1" | cut -f1)"
}
run_cp() { local t0 t1; t0=$(now_ns); cp -a "$1" "$2"; t1=$(now_ns); echo "$(( (t1 - t0) / 1000000 )) 0"; }

report() { # name tool-results...
  local name=$1; shift
  printf '\n%s\n' "$name"
  printf '  %-10s %10s %8s %14s  %s\n' tool median_ms x_rsync wire_bytes each_run_ms
  local rs_med; rs_med=$(median < "$B/res.rsync" 2>/dev/null)
  for tool in treesync rsync tarnc cp; do
    [ -s "$B/res.$tool" ] || continue
    local med wire ratio
    med=$(cut -d' ' -f1 "$B/res.$tool" | median)
    wire=$(cut -d' ' -f2 "$B/res.$tool" | median)
    ratio=-; [ -n "$rs_med" ] && [ "$rs_med" != - ] && [ "$rs_med" -gt 0 ] && ratio=$(awk -v a="$med" -v b="$(cut -d' ' -f1 "$B/res.rsync" | median)" 'BEGIN{printf "%.2f", a/b}')
    printf '  %-10s %10s %8s %14s  %s\n' "$tool" "$med" "$ratio" "$wire" \
      "$(cut -d' ' -f1 "$B/res.$tool" | paste -sd' ')"
  done
  printf '  treesync peak RSS: client %s KiB, server %s KiB\n' "${CLIENT_RSS:-?}" "${SERVER_RSS:-?}"
}

initial_case() { # name src [proxy]
  local name=$1 src=$2; rm -f "$B"/res.*
  start_treesync "$src"; have rsync && start_rsyncd "$src"
  for r in $(seq "$RUNS"); do
    rm -rf "$B/dst"; run_treesync "$TS_PORT" "$B/dst" >> "$B/res.treesync"
    if have rsync; then rm -rf "$B/dst"; run_rsync "$RS_PORT" "$B/dst" >> "$B/res.rsync"; fi
    if have nc; then rm -rf "$B/dst"; run_tarnc "$src" "$B/dst" >> "$B/res.tarnc"; fi
    rm -rf "$B/dst"; run_cp "$src" "$B/dst" >> "$B/res.cp"
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-}; RS_PID=
  report "$name"
}

noop_case() { # name src [shared]: with shared, both tools re-pull one copy
  local name=$1 src=$2 rs_dst=$B/dst-rs; rm -f "$B"/res.*
  [ -n "${3:-}" ] && rs_dst=$B/dst-ts  # a tmpfs may not hold three trees' inodes
  start_treesync "$src"; have rsync && start_rsyncd "$src"
  rm -rf "$B/dst-ts" "$B/dst-rs"
  run_treesync "$TS_PORT" "$B/dst-ts" >/dev/null; have rsync && run_rsync "$RS_PORT" "$rs_dst" >/dev/null
  for r in $(seq "$RUNS"); do
    run_treesync "$TS_PORT" "$B/dst-ts" >> "$B/res.treesync"
    have rsync && run_rsync "$RS_PORT" "$rs_dst" >> "$B/res.rsync"
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-}; RS_PID=
  report "$name"
}

delta_case() {
  local src=$B/delta-src old=$B/delta-old; rm -f "$B"/res.*
  mkdir -p "$src" "$old"
  head -c $((256 << 20)) /dev/urandom > "$old/file"
  cp "$old/file" "$src/file"
  head -c $((1 << 20)) /dev/urandom | dd of="$src/file" bs=1M seek=128 conv=notrunc status=none
  # Clearly older, so no tool's quick check can take the old file as current.
  touch -d '2 hours ago' "$old/file"
  start_treesync "$src"; have rsync && start_rsyncd "$src"
  for r in $(seq "$RUNS"); do
    rm -rf "$B/dst"; cp -a "$old" "$B/dst"; run_treesync "$TS_PORT" "$B/dst" >> "$B/res.treesync"
    if have rsync; then rm -rf "$B/dst"; cp -a "$old" "$B/dst"; run_rsync "$RS_PORT" "$B/dst" >> "$B/res.rsync"; fi
    rm -rf "$B/dst"; cp -a "$old" "$B/dst"; run_ts pull -z "127.0.0.1:$TS_PORT" "$B/dst" >> "$B/res.ts-z"
    if have rsync; then rm -rf "$B/dst"; cp -a "$old" "$B/dst"; run_rsync_from -z "rsync://127.0.0.1:$RS_PORT/src/" "$B/dst/" >> "$B/res.rsync-z"; fi
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-}; RS_PID=
  rm -rf "$src" "$old" "$B/dst"
  report_vs "4. 1 MiB changed in the middle of a 256 MiB file (client holds the old version)" \
    "rsync rsync-z" treesync rsync ts-z rsync-z
  target_wire "-z wire bytes (x rsync -z)" ts-z rsync-z 1.0
}

start_proxy() { # delay_ms [throttle B/s [port, default TS_PORT]]; sets PROXY_PID and PROXY_PORT
  rm -f "$B/proxy.port"
  "$PROXY" --to "127.0.0.1:${3:-$TS_PORT}" --port-file "$B/proxy.port" --delay-ms "$1" \
    ${2:+--throttle "$2"} & PROXY_PID=$!
  for _ in $(seq 100); do [ -s "$B/proxy.port" ] && break; sleep 0.05; done
  PROXY_PORT=$(cat "$B/proxy.port")
}

# The ratio is against the direct pull. The proxy itself copies every byte
# on the same cores, so the pull through it with no delay is shown too: the
# gap between those two is the proxy's cost, not latency's.
latency_case() { # src
  local src=$1; rm -f "$B"/res.*
  [ -x "$PROXY" ] || { echo "SKIP case 5: no $PROXY"; return; }
  start_treesync "$src"
  start_proxy 0; local p0=$PROXY_PORT px0=$PROXY_PID
  start_proxy 10; local p10=$PROXY_PORT px10=$PROXY_PID
  for r in $(seq "$RUNS"); do
    rm -rf "$B/dst"; run_treesync "$TS_PORT" "$B/dst" >> "$B/res.zero"
    rm -rf "$B/dst"; run_treesync "$p0" "$B/dst" >> "$B/res.proxied"
    rm -rf "$B/dst"; run_treesync "$p10" "$B/dst" >> "$B/res.delay"
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" "$px0" "$px10"
  local z p d; z=$(cut -d' ' -f1 "$B/res.zero" | median); d=$(cut -d' ' -f1 "$B/res.delay" | median)
  p=$(cut -d' ' -f1 "$B/res.proxied" | median)
  printf '\n5. case 2 through a proxy adding 20 ms round trip\n'
  printf '  treesync: %s ms without, %s ms with the delay: x%s\n' "$z" "$d" "$(awk -v a="$d" -v b="$z" 'BEGIN{printf "%.2f", a/b}')"
  printf '  through the proxy with no delay: %s ms (the delay alone: x%s)\n' "$p" \
    "$(awk -v a="$d" -v b="$p" 'BEGIN{printf "%.2f", a/b}')"
  printf '  each run: %s without; %s proxied; %s with\n' "$(cut -d' ' -f1 "$B/res.zero" | paste -sd' ')" \
    "$(cut -d' ' -f1 "$B/res.proxied" | paste -sd' ')" "$(cut -d' ' -f1 "$B/res.delay" | paste -sd' ')"
}

# ---- cases 19-20: keeping a copy current ----
# until_equal A B: waits (polling every 10 ms, 120 s at most) until file B
# has A's bytes; prints the milliseconds since T0_NS.
until_equal() {
  for _ in $(seq 12000); do cmp -s "$1" "$2" && break; sleep 0.01; done
  echo $(( ($(now_ns) - T0_NS) / 1000000 ))
}
# wait_round FILE N: until FILE (a watching client's --json) holds round N's summary.
wait_round() {
  for _ in $(seq 6000); do grep -q "\"round\":$2," "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "  no round $2 in $1: $(tail -c 300 "$1")" >&2; return 1
}

watch_case() { # 19: one change in case 6's tree
  rm -f "$B"/res.*
  [ -d "$B/million" ] || make_million "$B/million"
  start_treesync "$B/million"; have rsync && start_rsyncd "$B/million"
  rm -rf "$B/dst-ts"
  local t0 t1; t0=$(now_ns)
  "$TS" pull --watch --json "127.0.0.1:$TS_PORT" "$B/dst-ts" > "$B/watch.json" 2>"$B/watch.err" &
  local w=$!
  wait_round "$B/watch.json" 1 || { stop $w "$TS_PID" ${RS_PID:-}; RS_PID=; return; }
  t1=$(now_ns)
  sleep 2  # the watcher's first events (the initial pull's own reads) settle
  for r in $(seq "$RUNS"); do
    local f=$B/million/d$(printf %02d $((r * 7 % 100)))/e$(printf %02d $((r * 13 % 100)))/f42
    T0_NS=$(now_ns); printf 'changed in round %s' "$r" >> "$f"
    until_equal "$f" "$B/dst-ts/${f#"$B/million/"}" >> "$B/res.watch"
    sleep 1
  done
  local wrss; wrss=$(peak_kib "$TS_PID")
  kill -INT $w; wait $w 2>/dev/null
  # What a cron job pays to find that one change: a whole no-op re-pull.
  for r in $(seq "$RUNS"); do
    run_treesync "$TS_PORT" "$B/dst-ts" >> "$B/res.treesync"
    have rsync && run_rsync "$RS_PORT" "$B/dst-ts" >> "$B/res.rsync"
  done
  stop "$TS_PID" ${RS_PID:-}; RS_PID=
  local lat ts rs; lat=$(median < "$B/res.watch"); ts=$(cut -d' ' -f1 "$B/res.treesync" | median)
  rs=$(cut -d' ' -f1 "$B/res.rsync" 2>/dev/null | median)
  printf '\n19. one file changed in case 6'"'"'s tree (1,000,000 files): pull --watch vs a no-op re-pull\n'
  printf '  pull --watch: the change is in the mirror %s ms after the write (each run: %s)\n' \
    "$lat" "$(paste -sd' ' "$B/res.watch")"
  printf '  a cron job instead: no-op re-pull %s ms (treesync), %s ms (rsync); watch latency x%s rsync'"'"'s no-op\n' \
    "$ts" "$rs" "$(ratio "$lat" "$rs")"
  printf '  the watching pull'"'"'s first round: %s ms; server peak RSS while watching: %s KiB\n' \
    "$(( (t1 - t0) / 1000000 ))" "$wrss"
}

chain_case() { # 20: A -> B -> C, each pull --watch, B serving its mirror
  rm -f "$B"/res.*
  [ -d "$B/small" ] || make_small "$B/small"
  local a=$B/chain-a; rm -rf "$a" "$B/chain-b" "$B/chain-c"; cp -a "$B/small" "$a"
  local mode
  for mode in plain atomic; do
    rm -rf "$B/chain-b" "$B/.chain-b.treesync" "$B/chain-c"
    start_treesync "$a"; local pa=$TS_PORT sa=$TS_PID
    local opt=(); [ $mode = atomic ] && opt=(--atomic --keep-previous 1)
    "$TS" pull --watch --json "${opt[@]}" "127.0.0.1:$pa" "$B/chain-b" > "$B/chain-b.json" 2>"$B/chain-b.err" &
    local wb=$!
    wait_round "$B/chain-b.json" 1 || { stop $wb "$sa"; return; }
    start_treesync "$B/chain-b"; local pb=$TS_PORT sb=$TS_PID
    "$TS" pull --watch --json "127.0.0.1:$pb" "$B/chain-c" > "$B/chain-c.json" 2>"$B/chain-c.err" &
    local wc=$!
    wait_round "$B/chain-c.json" 1 || { stop $wb $wc "$sa" "$sb"; return; }
    sleep 1
    for r in $(seq "$RUNS"); do
      local f=dir$(printf %03d $((r * 37 % 400)))/f$(printf %02d $((r * 11 % 50)))
      T0_NS=$(now_ns); printf 'changed %s' "$r" >> "$a/$f"
      until_equal "$a/$f" "$B/chain-b/$f" >> "$B/res.$mode-b"
      until_equal "$a/$f" "$B/chain-c/$f" >> "$B/res.$mode-c"
      sleep 1
    done
    kill -INT $wb $wc; wait $wb $wc 2>/dev/null; stop "$sa" "$sb"
  done
  printf '\n20. a chain of mirrors of case 2'"'"'s tree: A -> B (pull --watch, serving its copy) -> C (pull --watch)\n'
  printf '  one file changed in A reaches B in %s ms, C in %s ms (each run, C: %s)\n' \
    "$(median < "$B/res.plain-b")" "$(median < "$B/res.plain-c")" "$(paste -sd' ' "$B/res.plain-c")"
  printf '  with --atomic on B (C rescans B'"'"'s tree at each switch): B %s ms, C %s ms (each run, C: %s)\n' \
    "$(median < "$B/res.atomic-b")" "$(median < "$B/res.atomic-c")" "$(paste -sd' ' "$B/res.atomic-c")"
  rm -rf "$a" "$B/chain-b" "$B/.chain-b.treesync" "$B/chain-c"
}

# ---- cases 8-10: push, and ssh ----
# tree_sig DIR: "files bytes" of the regular files under DIR.
tree_sig() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{n++; s+=$1} END {print n+0, s+0}'; }
# checked SRC DST RUNNER ARGS...: RUNNER's line, kept only when DST then holds
# the files SRC holds (a run that left the copy short never counts as a time).
checked() {
  local src=$1 dst=$2; shift 2
  "$@" > "$B/line"; [ -s "$B/line" ] || return
  local want got; want=$(tree_sig "$src"); got=$(tree_sig "$dst")
  [ "$want" = "$got" ] || { failed "$1 $2" 0 "copy holds $got (files bytes), not $want"; return; }
  cat "$B/line"
}
empty_dir() { find "$1" -mindepth 1 -delete; }
med_of() { cut -d' ' -f1 "$B/res.$1" 2>/dev/null | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b + 0 <= 0) print "-"; else printf "%.2f", a / b}'; }
# report_vs TITLE "BASE..." TOOL...: a row per TOOL that has results: its
# median, its ratio to each BASE's median, wire bytes, each run.
report_vs() {
  local title=$1 bases=$2 tool b; shift 2
  printf '\n%s\n' "$title"
  printf '  %-10s %10s' tool median_ms; for b in $bases; do printf ' %8s' "x_$b"; done
  printf ' %14s  %s\n' wire_bytes each_run_ms
  for tool in "$@"; do
    [ -s "$B/res.$tool" ] || continue
    printf '  %-10s %10s' "$tool" "$(med_of "$tool")"
    for b in $bases; do printf ' %8s' "$(ratio "$(med_of "$tool")" "$(med_of "$b")")"; done
    printf ' %14s  %s\n' "$(cut -d' ' -f2 "$B/res.$tool" | median)" "$(cut -d' ' -f1 "$B/res.$tool" | paste -sd' ')"
  done
}
wire_of() { cut -d' ' -f2 "$B/res.$1" 2>/dev/null | median; }
# judge WHAT A B LIMIT DIGITS: "target WHAT <= LIMIT: A/B, met|MISSED",
# judged on the ratio itself, not the rounded one printed.
judge() {
  awk -v w="$1" -v a="$2" -v b="$3" -v l="$4" -v d="$5" 'BEGIN {
    if (a == "-" || a == "" || b == "-" || b == "" || b + 0 <= 0) { printf "  target %s <= %s: no result\n", w, l; exit }
    printf "  target %s <= %s: %.*f, %s\n", w, l, d, a / b, (a <= b * l ? "met" : "MISSED") }'
}
target_wire() { judge "$1" "$(wire_of "$2")" "$(wire_of "$3")" "$4" 4; }  # of the median wire bytes
target() { judge "$1" "$(med_of "$2")" "$(med_of "$3")" "$4" 2; }  # of the median times

# 8: push into an empty writable server vs pull from a server, one tree.
push_case() { # name src
  local name=$1 src=$2 tgt=$B/push-target; rm -f "$B"/res.*
  rm -rf "$tgt"; mkdir -p "$tgt"
  start_treesync "$tgt" --writable; local wpid=$TS_PID wport=$TS_PORT
  start_treesync "$src"
  local push_rss pull_rss
  for r in $(seq "$RUNS"); do
    empty_dir "$tgt"; checked "$src" "$tgt" run_ts push "$src" "127.0.0.1:$wport" >> "$B/res.push"
    push_rss=${CLIENT_RSS:-?}
    rm -rf "$B/dst"; checked "$src" "$B/dst" run_treesync "$TS_PORT" "$B/dst" >> "$B/res.pull"
    pull_rss=${CLIENT_RSS:-?}
  done
  local wrss; wrss=$(peak_kib "$wpid"); SERVER_RSS=$(peak_kib "$TS_PID")
  stop "$wpid" "$TS_PID"; rm -rf "$tgt" "$B/dst"
  report_vs "$name" pull push pull
  target "push" push pull 1.1
  printf '  peak RSS: push: client %s KiB, writable server %s KiB; pull: client %s KiB, server %s KiB\n' \
    "$push_rss" "$wrss" "$pull_rss" "$SERVER_RSS"
}

# The ssh cases log in to a throwaway sshd on 127.0.0.1, started once.
ssh_up() { # case: whether the loopback sshd runs (prints SKIP when not)
  if [ -z "$SSH_STATE" ]; then
    SSH_STATE=down SSH_WHY="no $SSHD_HELPER"
    if type sshd_start >/dev/null 2>&1; then
      if sshd_start "$B/sshd" 2>/dev/null; then
        SSH_STATE=up; SSH_AT=$SSH_USER@127.0.0.1
        eval "SCP=($SCP_CMD)"  # SCP_CMD is shell-quoted words
        # The far side's treesync, under /usr/bin/time for its peak RSS.
        printf '#!/bin/sh\nexec /usr/bin/time -f %%M -o %s %s "$@"\n' "$B/remote.rss" "$TS" > "$B/ts-remote"
        chmod +x "$B/ts-remote"
        echo "ssh: loopback sshd on port $SSHD_PORT, $(ssh -V 2>&1 | cut -d, -f1), cipher $($SSH_CMD -v "$SSH_AT" true 2>&1 |
          sed -n 's/.*kex: server->client cipher: \([^ ]*\).*/\1/p' | head -1) (ssh's default, the same for every tool)"
      else
        SSH_WHY=$SSHD_ERROR
      fi
    fi
  fi
  [ "$SSH_STATE" = up ] && return 0
  echo; echo "SKIP case $1: $SSH_WHY"; return 1
}
remote_rss() { tail -1 "$B/remote.rss" 2>/dev/null || echo '?'; }
run_ts_ssh() { # pull|push args...
  rm -f "$B/remote.rss"; run_ts "$1" -e "$SSH_CMD" --remote-path "$B/ts-remote" "${@:2}"
}
run_scp() { # cap_s src dst: scp -r, given at most cap_s seconds
  local t0 t1 rc; t0=$(now_ns)
  timeout "$1" "${SCP[@]}" -r -q "$2" "$3" 2>"$B/scp.err"; rc=$?; t1=$(now_ns)
  [ "$rc" = 124 ] && { echo ">$(( $1 * 1000 ))" >> "$B/scp.capped"; return; }
  [ "$rc" = 0 ] || { failed "scp -r" "$rc" "$(tail -1 "$B/scp.err")"; return; }
  echo "$(( (t1 - t0) / 1000000 )) -"
}

# Floors for the ssh cases, through the same ssh client options: the bare
# pipeline `ssh HOST tar cf - | tar xf -` (no verification, no atomic
# install), the same tar stream into /dev/null (only reading and moving the
# bytes), and `ssh HOST true` (connect, key exchange, login, exec).
run_tar_ssh() { # src dst|-: dst - sends the stream to /dev/null
  local t0 t1 rc; t0=$(now_ns)
  if [ "$2" = - ]; then
    $SSH_CMD "$SSH_AT" "tar cf - -C '$1' ." > /dev/null 2>"$B/tarssh.err"; rc=$?
  else
    mkdir -p "$2"; $SSH_CMD "$SSH_AT" "tar cf - -C '$1' ." 2>"$B/tarssh.err" | tar xf - -C "$2"; rc=$?
  fi
  t1=$(now_ns)
  [ "$rc" = 0 ] || { failed "ssh tar" "$rc" "$(tail -1 "$B/tarssh.err")"; return; }
  echo "$(( (t1 - t0) / 1000000 )) -"
}
run_ssh_true() {
  local t0 t1; t0=$(now_ns); $SSH_CMD "$SSH_AT" true || { failed "ssh true" $? ""; return; }
  t1=$(now_ns); echo "$(( (t1 - t0) / 1000000 )) -"
}

# 11: --bwlimit. A pull of 48 MiB with --bwlimit 2M (about 24 s), the
# target's bytes sampled every 0.2 s; every 10 s window's average rate
# against the limit (target: within 5 %), beside rsync --bwlimit=2048.
bwlimit_case() {
  local src=$B/bw d=$B/bw-dst; rm -rf "$src" "$d"; mkdir -p "$src"
  head -c $((48 << 20)) /dev/urandom > "$src/f"
  start_treesync "$src"; have rsync && start_rsyncd "$src"
  echo; echo "11. --bwlimit 2M (2,097,152 B/s), 48 MiB, every 10 s window's rate"
  local tool
  for tool in treesync rsync; do
    [ "$tool" = rsync ] && ! have rsync && continue
    rm -rf "$d"; mkdir -p "$d"; : > "$B/bw.samples"
    if [ "$tool" = treesync ]; then
      "$TS" pull -q --bwlimit 2M "127.0.0.1:$TS_PORT" "$d" & local p=$!
    else
      rsync -a --bwlimit=2048 "rsync://127.0.0.1:$RS_PORT/src/" "$d/" & local p=$!
    fi
    while kill -0 $p 2>/dev/null; do
      echo "$(now_ns) $(du -sb --apparent-size "$d" 2>/dev/null | cut -f1)" >> "$B/bw.samples"; sleep 0.2
    done
    wait $p
    awk -v tool="$tool" -v limit=2097152 '
      { t[NR] = $1 / 1e9; b[NR] = $2 }
      END {
        min = -1; max = 0; j = 1
        for (i = 1; i <= NR; i++) {
          while (j < NR && t[j] - t[i] < 10) j++
          if (t[j] - t[i] < 9.9) break
          r = (b[j] - b[i]) / (t[j] - t[i])
          if (min < 0 || r < min) min = r; if (r > max) max = r; n++
        }
        if (n == 0) { printf "  %-9s no 10 s window\n", tool; exit }
        printf "  %-9s %d windows: %.0f..%.0f B/s, %+.1f%%..%+.1f%% of the limit\n", tool, n, min, max,
          (min / limit - 1) * 100, (max / limit - 1) * 100
      }' "$B/bw.samples"
  done
  stop "$TS_PID" ${RS_PID:-}; RS_PID=; rm -rf "$src" "$d"
}

# 12: a 1 GiB sparse disk image holding 10 MiB of data (40 runs of 256
# KiB), pulled into an empty target: treesync against rsync -S (sparse),
# tar -S | nc and cp -a (which keeps holes by itself); target: <= 0.5 x
# rsync -S. Prints each copy's blocks on disk.
sparse_case() {
  local src=$B/sparse d=$B/dst i; rm -rf "$src"; mkdir -p "$src"; rm -f "$B"/res.*
  truncate -s 1G "$src/image"
  for i in $(seq 0 39); do
    head -c $((256 << 10)) /dev/urandom | dd of="$src/image" bs=256K seek=$((i * 100 + 7)) conv=notrunc status=none
  done
  start_treesync "$src"; have rsync && start_rsyncd "$src"
  local ts_disk=- rs_disk=-
  for r in $(seq "$RUNS"); do
    rm -rf "$d"; run_treesync "$TS_PORT" "$d" >> "$B/res.treesync"; ts_disk=$(du -sk "$d" | cut -f1)
    cmp -s "$src/image" "$d/image" || echo "  treesync's copy differs"
    if have rsync; then rm -rf "$d"; run_rsync_from -S "rsync://127.0.0.1:$RS_PORT/src/" "$d/" >> "$B/res.rsync"
      rs_disk=$(du -sk "$d" | cut -f1); fi
    if have nc; then rm -rf "$d"; TAR_OPTS=-S run_tarnc "$src" "$d" >> "$B/res.tarnc"; fi
    rm -rf "$d"; run_cp "$src" "$d" >> "$B/res.cp"
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-}; RS_PID=
  report "12. sparse: a 1 GiB image holding 10 MiB of data, into an empty target (rsync -S, tar -S)"
  printf '  on disk: source %s KiB, treesync copy %s KiB, rsync -S copy %s KiB\n' \
    "$(du -sk "$src" | cut -f1)" "$ts_disk" "$rs_disk"
  target "sparse pull (x rsync -S)" treesync rsync 0.5
  rm -rf "$src" "$d"
}

# 13: hard links: case 2's 20,000 files as two snapshots that share them
# (cp -al: 40,000 names, 20,000 files), into an empty target: treesync
# against rsync -H, tar | nc and cp -a, which all keep the links.
links_case() {
  local src=$B/linked d=$B/dst; rm -rf "$src"; mkdir -p "$src"; rm -f "$B"/res.*
  [ -d "$B/small" ] || make_small "$B/small"
  cp -al "$B/small" "$src/snap1"; cp -al "$B/small" "$src/snap2"
  start_treesync "$src"; have rsync && start_rsyncd "$src"
  local ts_files=- rs_files=-
  for r in $(seq "$RUNS"); do
    rm -rf "$d"; run_treesync "$TS_PORT" "$d" >> "$B/res.treesync"
    ts_files=$(find "$d" -type f -links 2 | wc -l)
    if have rsync; then rm -rf "$d"; run_rsync_from -H "rsync://127.0.0.1:$RS_PORT/src/" "$d/" >> "$B/res.rsync"
      rs_files=$(find "$d" -type f -links 2 | wc -l); fi
    if have nc; then rm -rf "$d"; run_tarnc "$src" "$d" >> "$B/res.tarnc"; fi
    rm -rf "$d"; run_cp "$src" "$d" >> "$B/res.cp"
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-}; RS_PID=
  report "13. hard links: 20,000 files of 1-8 KiB, each with 2 names in 2 snapshots, into an empty target (rsync -H)"
  printf '  names with 2 links in the copy: treesync %s, rsync -H %s (of 40,000)\n' "$ts_files" "$rs_files"
  rm -rf "$src" "$d"
}

# 14 and 15: a copy of /usr/include (some 130 MB in 8,000 files) into an
# empty target through a proxy that throttles each direction to 100 Mbit/s
# (14) or 1 Gbit/s (15): treesync with and without -z against rsync and
# rsync -z (zstd where both ends have it), each through a proxy of its own.
link_case() { # name bytes_per_second
  local name=$1 bps=$2 src=$B/include d=$B/dst; rm -f "$B"/res.*
  [ -x "$PROXY" ] || { echo "SKIP $name: no $PROXY"; return; }
  [ -d /usr/include ] || { echo "SKIP $name: no /usr/include"; return; }
  [ -d "$src" ] || cp -a /usr/include "$src"
  start_treesync "$src"; start_proxy 0 "$bps"; local tp=$PROXY_PORT tpx=$PROXY_PID
  local rp= rpx=
  if have rsync; then start_rsyncd "$src"; start_proxy 0 "$bps" "$RS_PORT"; rp=$PROXY_PORT rpx=$PROXY_PID; fi
  for r in $(seq "$RUNS"); do
    rm -rf "$d"; run_treesync "$tp" "$d" >> "$B/res.treesync"
    rm -rf "$d"; checked "$src" "$d" run_ts pull -z "127.0.0.1:$tp" "$d" >> "$B/res.ts-z"
    if [ -n "$rp" ]; then
      rm -rf "$d"; run_rsync "$rp" "$d" >> "$B/res.rsync"
      rm -rf "$d"; run_rsync_from -z "rsync://127.0.0.1:$rp/src/" "$d/" >> "$B/res.rsync-z"
    fi
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-} "$tpx" $rpx; RS_PID=
  rm -rf "$d"
  report_vs "$name" "rsync rsync-z" treesync ts-z rsync rsync-z
  printf '  source: %s files, %s bytes\n' $(tree_sig "$src")
}

# 16: 4 x 64 MiB of random bytes on loopback, with -z and without: data
# that does not shrink must cost compression almost nothing.
random_z_case() {
  local src=$B/random d=$B/dst; rm -f "$B"/res.*
  make_large "$src" 64
  start_treesync "$src"
  for r in $(seq "$RUNS"); do
    rm -rf "$d"; checked "$src" "$d" run_treesync "$TS_PORT" "$d" >> "$B/res.treesync"
    rm -rf "$d"; checked "$src" "$d" run_ts pull -z "127.0.0.1:$TS_PORT" "$d" >> "$B/res.ts-z"
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID"
  rm -rf "$src" "$d"
  report_vs "16. 4 files of 64 MiB of random bytes, with -z and without" treesync treesync ts-z
  target "-z on random data (x without)" ts-z treesync 1.05
}

# 17 and 18: encrypted sessions (serve --key). 17: case 2's tree pulled
# encrypted and in clear text, alternating; 18: 1 GiB in 4 files pulled
# encrypted, in clear text, and with rsync -e ssh (the loopback sshd,
# ssh's default cipher).
make_keys() {
  [ -s "$B/keys/server.key" ] && return
  rm -rf "$B/keys"; mkdir -p "$B/keys"
  "$TS" keygen "$B/keys/server.key" >/dev/null && "$TS" keygen "$B/keys/client.key" >/dev/null
  cat "$B/keys/client.key.pub" > "$B/keys/authorized"
}
run_ts_enc() { # port dst
  run_ts pull --key "$B/keys/client.key" --server-key "$(cat "$B/keys/server.key.pub")" "127.0.0.1:$1" "$2"
}
encrypted_case() { # name src with_rsync_ssh
  local name=$1 src=$2 d=$B/dst; rm -f "$B"/res.*
  make_keys
  start_treesync "$src"; local plain_port=$TS_PORT plain_pid=$TS_PID
  start_treesync "$src" --key "$B/keys/server.key" --authorized-keys "$B/keys/authorized"
  for r in $(seq "$RUNS"); do
    rm -rf "$d"; checked "$src" "$d" run_treesync "$plain_port" "$d" >> "$B/res.treesync"
    rm -rf "$d"; checked "$src" "$d" run_ts_enc "$TS_PORT" "$d" >> "$B/res.ts-enc"
    if [ "$3" = yes ]; then
      rm -rf "$d"; checked "$src" "$d" run_rsync_from -e "$SSH_CMD" "$SSH_AT:$src/" "$d/" >> "$B/res.rsync-ssh"
    fi
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" "$plain_pid"
  rm -rf "$d"
  if [ "$3" = yes ]; then
    report_vs "$name" "treesync rsync-ssh" treesync ts-enc rsync-ssh
  else
    report_vs "$name" treesync treesync ts-enc
  fi
}

# 9 and 10: each tool into an empty target over ssh; scp in the first
# scp_rounds rounds only (it takes long on many files).
ssh_case() { # name src scp_rounds
  local name=$1 src=$2 scp_rounds=$3 d=$B/dst; rm -f "$B"/res.* "$B/scp.capped"
  local pull_rss push_rss pull_rrss push_rrss
  for r in $(seq "$RUNS"); do
    rm -rf "$d"; checked "$src" "$d" run_ts_ssh pull "$SSH_AT:$src" "$d" >> "$B/res.ts-pull"
    pull_rss=${CLIENT_RSS:-?} pull_rrss=$(remote_rss)
    if [ "$r" -le "$scp_rounds" ]; then
      rm -rf "$d"; checked "$src" "$d" run_scp "${SCP_CAP:-300}" "$SSH_AT:$src" "$d" >> "$B/res.scp"
    fi
    if have rsync; then rm -rf "$d"; checked "$src" "$d" run_rsync_from -e "$SSH_CMD" "$SSH_AT:$src/" "$d/" >> "$B/res.rsync"; fi
    rm -rf "$d"; checked "$src" "$d" run_ts_ssh push "$src" "$SSH_AT:$d" >> "$B/res.ts-push"
    push_rss=${CLIENT_RSS:-?} push_rrss=$(remote_rss)
    if have rsync; then rm -rf "$d"; checked "$src" "$d" run_rsync_from -e "$SSH_CMD" "$src/" "$SSH_AT:$d/" >> "$B/res.rsync-push"; fi
    rm -rf "$d"; checked "$src" "$d" run_tar_ssh "$src" "$d" >> "$B/res.tar-ssh"
    run_tar_ssh "$src" - >> "$B/res.tar-null"
    run_ssh_true >> "$B/res.ssh-true"
  done
  rm -rf "$d"
  report_vs "$name" "scp rsync" ts-pull scp rsync ts-push rsync-push tar-ssh tar-null ssh-true
  printf '  pulls: scp -r and rsync from ssh; pushes: treesync and rsync to ssh; scp ran %s of %s rounds\n' \
    "$(wc -l < "$B/res.scp" 2>/dev/null || echo 0)" "$RUNS"
  [ -s "$B/scp.capped" ] && printf '  scp -r stopped at the %s s cap (SCP_CAP) in %s rounds: no time counted\n' \
    "${SCP_CAP:-300}" "$(wc -l < "$B/scp.capped")"
  printf '  floors: tar-ssh = ssh HOST tar cf - | tar xf -; tar-null = the same stream into /dev/null; ssh-true = ssh HOST true\n'
  printf '  push vs rsync push: x%s\n' "$(ratio "$(med_of ts-push)" "$(med_of rsync-push)")"
  printf '  treesync peak RSS: pull: client %s KiB, far side %s KiB; push: client %s KiB, far side %s KiB\n' \
    "$pull_rss" "$pull_rrss" "$push_rss" "$push_rrss"
}

echo "treesync bench: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), trees in $B, $RUNS rounds, $(date -u +%F)"
for c in $CASES; do
  case $c in
    1) make_large "$B/large"; initial_case "1. initial pull, 4 files of 128 MiB" "$B/large"; rm -rf "$B/large" ;;
    2) [ -d "$B/small" ] || make_small "$B/small"; initial_case "2. initial pull, 20,000 files of 1-8 KiB in 400 folders" "$B/small" ;;
    3) [ -d "$B/small" ] || make_small "$B/small"; noop_case "3. no-op re-pull of case 2" "$B/small" ;;
    4) delta_case ;;
    5) [ -d "$B/small" ] || make_small "$B/small"; latency_case "$B/small" ;;
    6) [ -d "$B/million" ] || make_million "$B/million"
       RUNS=${BIG_RUNS:-3} initial_case "6. initial pull, 1,000,000 files of 0-49 bytes in 10,100 folders" "$B/million" ;;
    7) [ -d "$B/million" ] || make_million "$B/million"
       RUNS=${BIG_RUNS:-3} noop_case "7. no-op re-pull of case 6" "$B/million" shared ;;
    12) sparse_case ;;
    13) links_case ;;
    14) link_case "14. /usr/include through a 100 Mbit/s link, into an empty target (rsync -z)" 12500000
        target "-z time (x rsync -z)" ts-z rsync-z 1.0; target_wire "-z wire bytes (x rsync -z)" ts-z rsync-z 1.05 ;;
    15) link_case "15. /usr/include through a 1 Gbit/s link, into an empty target (rsync -z)" 125000000
        target "-z time (x rsync -z)" ts-z rsync-z 0.8 ;;
    16) random_z_case ;;
    17) [ -d "$B/small" ] || make_small "$B/small"
        encrypted_case "17. encrypted pull of case 2's tree (serve --key) vs the plain pull" "$B/small" no
        target "encrypted pull (x plain)" ts-enc treesync 1.3 ;;
    18) if ssh_up 18; then make_large "$B/large1g" 256
          encrypted_case "18. encrypted pull of 1 GiB in 4 files vs plain and rsync -e ssh" "$B/large1g" yes
          target "encrypted pull (x rsync -e ssh)" ts-enc rsync-ssh 0.5
          rm -rf "$B/large1g"
        fi ;;
    19) RUNS=${BIG_RUNS:-3} watch_case ;;
    20) chain_case ;;
    8) make_large "$B/large"; push_case "8a. push into an empty writable server vs pull, case 1's tree" "$B/large"; rm -rf "$B/large"
       [ -d "$B/small" ] || make_small "$B/small"; push_case "8b. push vs pull, case 2's tree" "$B/small" ;;
    9) if ssh_up 9; then make_large "$B/large1g" 256
         ssh_case "9. ssh large: 1 GiB in 4 files over ssh, into an empty target" "$B/large1g" "$RUNS"
         target "pull over ssh (x scp -r)" ts-pull scp 1.05; target "pull over ssh (x rsync -e ssh)" ts-pull rsync 0.9
         rm -rf "$B/large1g"
       fi ;;
    11) bwlimit_case ;;
    10) if ssh_up 10; then [ -d "$B/small" ] || make_small "$B/small"
         ssh_case "10. ssh small: case 2's tree over ssh, into an empty target" "$B/small" 1
         target "pull over ssh (x rsync -e ssh)" ts-pull rsync 0.6
         target "push over ssh (x rsync -e ssh push)" ts-push rsync-push 0.6
       fi ;;
  esac
done
