# Exit codes that need no hostile server. Sourced by tests/e2e.sh.

expect_exit "--help exits 0" 0 "$TS" --help
check "--help lists exit codes" grep -q '23  partial transfer' "$WORK/last.out"
expect_exit "--version exits 0" 0 "$TS" --version
expect_exit "no arguments: usage, exit 1" 1 "$TS"
check "usage goes to stderr" grep -q '^usage:' "$WORK/last.err"
expect_exit "unknown option: exit 1" 1 "$TS" pull --bogus 127.0.0.1 "$WORK/x"
expect_exit "missing DIR: exit 1" 1 "$TS" pull 127.0.0.1
expect_exit "bad port: exit 1" 1 "$TS" pull 127.0.0.1:99999 "$WORK/x"
expect_exit "serve a missing folder: exit 3" 3 "$TS" serve --port 0 "$WORK/missing"
check "exit 3 message is one line" test "$(wc -l < "$WORK/last.err")" -eq 1

mkdir -p "$WORK/src" && printf data > "$WORK/src/f"
head -c 3000000 /dev/urandom > "$WORK/src/big"
printf x > "$WORK/a-file"
start_server "$WORK/src"
expect_exit "pull into a path that is a file: exit 3" 3 mirror "$WORK/a-file"

# Connection refused: a port nobody listens on (the server's, once stopped).
dead_port=$PORT
stop_server
expect_exit "connection refused: exit 10" 10 "$TS" pull "127.0.0.1:$dead_port" "$WORK/x"
check "exit 10 message names the address" grep -q "127.0.0.1:$dead_port" "$WORK/last.err"

# Disk full: a file-size limit makes the write fail like a full disk.
# (Not for a Windows client under Wine: the limit's signal kills Wine.)
start_server "$WORK/src"
if [ "${FOREIGN_OS:-}/${FOREIGN_SIDE:-}" != windows/client ]; then
  expect_exit "write failure (file size limit): exit 11" 11 \
    bash -c "ulimit -f 1024; exec '$TS' pull 127.0.0.1:$PORT '$WORK/full'"
  check "no partial file under the final name after exit 11" test ! -e "$WORK/full/big"
  check "no temporary left after exit 11" no_temporaries "$WORK/full"
fi

# Too many clients: a connection counts against --max-clients once its
# Hello has arrived, not before. (tests/e2e/availability.sh has more.)
stop_server
start_server "$WORK/src" --max-clients 1
exec 7<>/dev/tcp/127.0.0.1/$PORT
sleep 0.3
expect_exit "a connection that never says hello holds no slot: pull exits 0" 0 \
  mirror "$WORK/not-refused"
# Its Hello (version 1, no flags); it then reads nothing, so its session
# holds the only slot, once the pull's session has let it go.
for _ in $(seq 1 200); do grep -q ' ok ' "$SERVER_LOG" && break; sleep 0.05; done
printf '\x01\x10\x00\x00\x00TREESYNC\x01\x00\x00\x00\x00\x00\x00\x00' >&7
# The server's Hello back: the session has its slot (however slow the host).
timeout 20 head -c 21 <&7 >/dev/null
expect_exit "server at --max-clients: exit 5" 5 mirror "$WORK/refused"
check "exit 5 says the server is busy" grep -q 'server busy' "$WORK/last.err"
exec 7>&-
stop_server

# --once serves one session and exits 0.
"$TS" serve --port 0 --bind 127.0.0.1 --once "$WORK/src" 2>"$WORK/once.log" &
once_pid=$!
once_port=$(port_from_log "$WORK/once.log")
"$TS" pull "127.0.0.1:$once_port" "$WORK/once-copy" >/dev/null 2>&1
wait $once_pid
check "--once server exits 0 after one session" test $? -eq 0

# --contimeout: a listener whose accept queue is full drops the next SYN,
# so that connect hangs until the limit: exit 35.
cat > "$WORK/full_backlog.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
fill = []
for _ in range(4):  # non-blocking: the ones past the queue just wait
    c = socket.socket(); c.setblocking(False); c.connect_ex(s.getsockname()); fill.append(c)
print(s.getsockname()[1], flush=True)
time.sleep(30)
PY
python3 "$WORK/full_backlog.py" > "$WORK/backlog.port" &
backlog_pid=$!
for _ in $(seq 50); do [ -s "$WORK/backlog.port" ] && break; sleep 0.1; done
t0=$(date +%s)
expect_exit "no connection within --contimeout: exit 35" 35 \
  "$TS" pull --contimeout 1 "127.0.0.1:$(cat "$WORK/backlog.port")" "$WORK/never"
check "it gave up after about the limit" test $(( $(date +%s) - t0 )) -le 5
check "exit 35 says why" grep -q 'timed out.*--contimeout 1' "$WORK/last.err"
check "nothing was written" test -z "$(ls -A "$WORK/never" 2>/dev/null)"
kill $backlog_pid 2>/dev/null
expect_exit "--contimeout over ssh: exit 1" 1 "$TS" pull --contimeout 1 host:dir "$WORK/never"
