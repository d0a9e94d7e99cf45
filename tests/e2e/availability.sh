# A server that stays available: connections that never finish the
# handshake take no client's place and are closed after 10 s; a client
# turned away because the server is full always reads why (exit 5, never
# a reset, exit 10). Uses tests/tools/flood_client.cc. Sourced by
# tests/e2e.sh.
# compress: skip: it is about the lobby and client floods, which happen before any compression is agreed

if [ ! -x "$TOOLS/flood_client" ]; then
  echo "SKIP availability cases (no $TOOLS/flood_client)"
  return 0
fi

# wait_for_file F SECONDS: whether F appears within SECONDS.
wait_for_file() {
  local i
  for i in $(seq 1 $(($2 * 20))); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  echo "no $1 after $2 s" >&2
  return 1
}

# ms_since T0: milliseconds since T0 (from date +%s%N).
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

SMALL=$WORK/small
mkdir -p "$SMALL/d" && printf hello > "$SMALL/a" && printf x > "$SMALL/d/b"
# One connection that never sends a byte, watched while the next case runs
# (on a server of its own: the next case's flood may push it out).
start_server "$SMALL"
lone_pid=$SERVER_PID
lone_log=$SERVER_LOG
"$TOOLS/flood_client" --idle 1 --hold-ms 25000 127.0.0.1 "$PORT" > "$WORK/one-idle.out" &
one_idle=$!

start_server "$SMALL"

# 300 connections that never say hello, held open, do not keep out a real
# client (before, 32 such locked everyone out for the 300 s timeout).
rm -f "$WORK/ready"
"$TOOLS/flood_client" --idle 300 --hold-ms 6000 --ready-file "$WORK/ready" \
  127.0.0.1 "$PORT" > "$WORK/idle.out" &
flood=$!
check "300 idle connections opened" wait_for_file "$WORK/ready" 20
t0=$(date +%s%N)
expect_exit "300 idle connections held: a pull still exits 0" 0 \
  timeout 20 "$TS" pull "127.0.0.1:$PORT" "$WORK/copy"
took=$(ms_since "$t0")
check "300 idle connections held: the pull is prompt (${took} ms, under 5 s)" test "$took" -lt 5000
check "300 idle connections held: the copy is a mirror" same_tree "$SMALL" "$WORK/copy"
wait $flood
# The server lets a quarter of its descriptors wait for a Hello: under a
# hard limit below 1200, fewer than 300 (the oldest are closed first).
hard=$(ulimit -Hn)
held=300
[ "$hard" != unlimited ] && [ $((hard / 4)) -le 300 ] && held=$((hard / 4 - 1))  # and the pull
open_now=$(sed -n 's/^open=\([0-9]*\) .*/\1/p' "$WORK/idle.out")
check "300 idle connections: $held or more still open after 6 s ($(cat "$WORK/idle.out"))" \
  test "${open_now:-0}" -ge "$held"

# The one idle connection: closed about 10 s after it opened, and told why.
wait $one_idle
closed_at=$(sed -n 's/.*first_close_s=\([0-9]*\).*/\1/p' "$WORK/one-idle.out")
check "a connection without a Hello is closed after ~10 s ($(cat "$WORK/one-idle.out"))" \
  test -n "$closed_at" -a "${closed_at:-0}" -ge 8 -a "${closed_at:-99}" -lt 20
check "the server logs why it dropped it" grep -q 'dropped: no Hello within 10 s' "$lone_log"
stop_server
kill "$lone_pid" 2>/dev/null
wait "$lone_pid" 2>/dev/null

# --max-clients 1, its one session busy sending a large file to a client
# that never reads: every other client is turned away with exit 5, one
# after another and many at once.
LARGE=$WORK/large
mkdir -p "$LARGE" && truncate -s 64M "$LARGE/big"
start_server "$LARGE" --max-clients 1
rm -f "$WORK/busy-ready"
"$TOOLS/flood_client" --stall 1 --want 1 --hold-ms 60000 --ready-file "$WORK/busy-ready" \
  127.0.0.1 "$PORT" > /dev/null &
busy=$!
check "the busy client is connected" wait_for_file "$WORK/busy-ready" 20
sleep 0.5
codes=""
for i in $(seq 1 20); do
  "$TS" pull -q "127.0.0.1:$PORT" "$WORK/refused" >/dev/null 2>"$WORK/last.err"
  codes="$codes $?"
done
check "server full: 20 clients one after another all exit 5 (got:$codes)" \
  test "$(echo $codes | tr ' ' '\n' | sort -u | tr -d '\n')" = 5
pids=()
for i in $(seq 1 40); do
  "$TS" pull -q "127.0.0.1:$PORT" "$WORK/refused$i" >/dev/null 2>&1 &
  pids+=($!)
done
codes=""
for p in "${pids[@]}"; do
  wait "$p"
  codes="$codes $?"
done
check "server full: 40 clients at once all exit 5 (got:$codes)" \
  test "$(echo $codes | tr ' ' '\n' | sort -u | tr -d '\n')" = 5
check "server full: each refusal is logged" \
  test "$(grep -c 'refused: too many sessions' "$SERVER_LOG")" -eq 60
kill "$busy" 2>/dev/null
wait "$busy" 2>/dev/null
# Once the busy client has gone, its place is free again.
sleep 0.3
expect_exit "the busy client gone: a pull exits 0" 0 timeout 60 "$TS" pull -q "127.0.0.1:$PORT" "$WORK/after"
stop_server

# 64 sessions whose clients ask for large files and never read: the
# server's memory stays bounded as a whole (it held ~157 MB before the
# sessions shared a budget). Linux only: it reads /proc.
HUGE=$WORK/huge
mkdir -p "$HUGE"
for i in 1 2 3 4; do truncate -s 64M "$HUGE/big$i"; done  # sparse: no memory, fast reads
start_server "$HUGE" --max-clients 64
if [ -r "/proc/$SERVER_PID/status" ] && [ "${FOREIGN_SIDE:-}" != server ]; then
  rm -f "$WORK/stall-ready"
  "$TOOLS/flood_client" --stall 64 --want 4 --hold-ms 3000 --ready-file "$WORK/stall-ready" \
    127.0.0.1 "$PORT" > /dev/null &
  stall=$!
  check "64 never-reading clients connected" wait_for_file "$WORK/stall-ready" 20
  sleep 2  # every session fills what it may queue in well under this
  threads=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$SERVER_PID/status")
  hwm_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status")
  check "64 never-reading clients: all 64 sessions run ($threads threads)" test "${threads:-0}" -gt 64
  check "64 never-reading clients: server peak RSS under 128 MiB (VmHWM ${hwm_kb} kB)" \
    test "${hwm_kb:-999999}" -lt 131072
  check "64 never-reading clients: none refused" test "$(grep -c refused "$SERVER_LOG")" -eq 0
  wait "$stall"
else
  echo "SKIP server memory check (no /proc for the server)"
fi
stop_server
rm -rf "$HUGE" "$LARGE"
