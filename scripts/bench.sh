#!/usr/bin/env bash
# bench.sh [RUNS]: treesync against rsync's daemon, tar | nc and cp -a, side
# by side in one run on loopback, trees on a tmpfs. Tools alternate within
# each round so a noisy neighbour hurts them alike. Prints medians, each
# tool's ratio to rsync, bytes on the wire, and treesync's peak RSS.
#   RUNS (default 5): rounds per case. BENCH_DIR (default /dev/shm/tsbench).
#   BENCH_CASES (default "1 2 3 4 5"): which cases to run. Cases 6 and 7
#   (1,000,000 files) take minutes and run only when named:
#   BENCH_CASES="6 7"; BIG_RUNS (default 3) rounds each. They need room
#   for 2,000,000 inodes in BENCH_DIR.
set -u
RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TS=${TS:-$HERE/build/treesync}
PROXY=${PROXY:-$HERE/build/tools/fault_proxy}
B=${BENCH_DIR:-/dev/shm/tsbench}
CASES=${BENCH_CASES:-1 2 3 4 5}
[ -x "$TS" ] || { echo "build first: make (and make build/tools/fault_proxy)" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
have rsync || echo "SKIP rsync: not installed (apt-get install rsync)"
have nc || echo "SKIP tar | nc: nc not installed (apt-get install netcat-openbsd)"
rm -rf "$B"; mkdir -p "$B"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$B"' EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }
free_port() { echo $((20000 + RANDOM % 20000)); }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- trees ----
make_large() { mkdir -p "$1"; for i in 1 2 3 4; do head -c $((128 << 20)) /dev/urandom > "$1/big$i"; done; }
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
start_treesync() { # dir
  TS_LOG=$B/ts.log; "$TS" serve --port 0 --bind 127.0.0.1 "$1" 2>"$TS_LOG" & TS_PID=$!
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
run_treesync() { # port dst [extra]
  local t0 t1 out rc; t0=$(now_ns)
  out=$(/usr/bin/time -f '%M' -o "$B/client.rss" "$TS" pull --json "127.0.0.1:$1" "$2" 2>"$B/client.err")
  rc=$?; t1=$(now_ns)
  [ "$rc" = 0 ] || { failed treesync "$rc" "$(tail -1 "$B/client.err")"; return; }
  CLIENT_RSS=$(tail -1 "$B/client.rss")
  echo "$(( (t1 - t0) / 1000000 )) $(tail -1 <<<"$out" | sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p')"
}
run_rsync() { # port dst
  local t0 t1 out rc; t0=$(now_ns)
  out=$(rsync -a --delete --stats "rsync://127.0.0.1:$1/src/" "$2/" 2>&1); rc=$?; t1=$(now_ns)
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
  (cd "$1" && tar cf - . | nc -N 127.0.0.1 "$port") 2>>"$B/tarnc.err"
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
  done
  SERVER_RSS=$(peak_kib "$TS_PID"); stop "$TS_PID" ${RS_PID:-}; RS_PID=
  rm -rf "$src" "$old" "$B/dst"
  report "4. 1 MiB changed in the middle of a 256 MiB file (client holds the old version)"
}

start_proxy() { # delay_ms; sets PROXY_PID and PROXY_PORT
  rm -f "$B/proxy.port"
  "$PROXY" --to "127.0.0.1:$TS_PORT" --port-file "$B/proxy.port" --delay-ms "$1" & PROXY_PID=$!
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
  esac
done
