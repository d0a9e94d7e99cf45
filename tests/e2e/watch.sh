# pull --watch and push --watch: each kind of change reaches the mirror
# while the session stays up, a burst and a lost-events rescan lose
# nothing, a file still being written arrives whole, the client comes
# back after its server is killed and restarted, and a signal leaves no
# temporaries. Sourced by tests/e2e.sh.

# until_same SECONDS A B: waits up to SECONDS for B to mirror A.
until_same() { eventually "$1" same_tree "$2" "$3"; }

# watch_start MODE SRC DEST [OPTIONS...]: a server and a watching client
# keeping DEST a mirror of SRC: MODE pull serves SRC and pulls into DEST,
# push serves DEST's parent (writable) and pushes SRC into it. Sets
# W_SERVER, W_CLIENT, W_PORT, W_OUT (the client's stdout), W_ERR.
watch_start() {
  local mode=$1 src=$2 dest=$3; shift 3
  W_LOG=$WORK/watch-server.$RANDOM.log
  W_OUT=$WORK/watch.$RANDOM.out
  W_ERR=$W_OUT.err
  if [ "$mode" = pull ]; then
    "$TS" serve --port 0 --bind 127.0.0.1 "$src" 2>"$W_LOG" &
  else
    mkdir -p "$(dirname "$dest")"
    "$TS" serve --port 0 --bind 127.0.0.1 --writable "$(dirname "$dest")" 2>"$W_LOG" &
  fi
  W_SERVER=$!
  W_PORT=$(port_from_log "$W_LOG")
  if [ "$mode" = pull ]; then
    "$TS" pull --watch --json "$@" "127.0.0.1:$W_PORT" "$dest" >"$W_OUT" 2>"$W_ERR" &
  else
    "$TS" push --watch --json "$@" "$src" "127.0.0.1:$W_PORT/$(basename "$dest")" \
      >"$W_OUT" 2>"$W_ERR" &
  fi
  W_CLIENT=$!
}

# watch_stop: SIGINT to the client (exit 20 expected), then the server.
watch_stop() {
  kill -INT "$W_CLIENT" 2>/dev/null
  local i rc=
  for i in $(seq 1 100); do
    kill -0 "$W_CLIENT" 2>/dev/null || break
    sleep 0.05
  done
  wait "$W_CLIENT" 2>/dev/null
  rc=$?
  kill "$W_SERVER" 2>/dev/null
  wait "$W_SERVER" 2>/dev/null
  return $((rc == 20 ? 0 : 1))
}

for mode in pull push; do
  SRC=$WORK/$mode-src DEST=$WORK/$mode-mirror/copy
  mkdir -p "$SRC/a/b" "$SRC/gone"
  printf one > "$SRC/a/one"
  printf two > "$SRC/a/b/two"
  printf bye > "$SRC/gone/file"
  ln -s a/one "$SRC/link"
  watch_start $mode "$SRC" "$DEST"
  check "[$mode] --watch: the first round mirrors the tree" until_same 5 "$SRC" "$DEST"

  printf new > "$SRC/a/created"
  check "[$mode] --watch: a created file arrives" until_same 5 "$SRC" "$DEST"
  printf 'changed, and longer' > "$SRC/a/one"
  check "[$mode] --watch: a modified file arrives" until_same 5 "$SRC" "$DEST"
  mv "$SRC/a/created" "$SRC/a/b/renamed"
  check "[$mode] --watch: a rename arrives (old name gone)" until_same 5 "$SRC" "$DEST"
  rm "$SRC/a/b/two"
  check "[$mode] --watch: a deleted file goes" until_same 5 "$SRC" "$DEST"
  chmod 600 "$SRC/a/one"
  check "[$mode] --watch: chmod arrives" until_same 5 "$SRC" "$DEST"
  touch -d '2001-02-03 04:05:06' "$SRC/a/b/renamed"
  check "[$mode] --watch: a new mtime arrives" until_same 5 "$SRC" "$DEST"
  ln -s b/renamed "$SRC/a/newlink" && rm "$SRC/link" && ln -s elsewhere "$SRC/link"
  check "[$mode] --watch: symlinks made and replaced arrive" until_same 5 "$SRC" "$DEST"
  mkdir -p "$SRC/new/deep/er" && printf x > "$SRC/new/deep/er/x" && printf y > "$SRC/new/y"
  check "[$mode] --watch: a new folder tree arrives" until_same 5 "$SRC" "$DEST"
  mv "$SRC/new" "$SRC/moved" && rm -r "$SRC/gone"
  check "[$mode] --watch: folders moved and removed arrive" until_same 5 "$SRC" "$DEST"
  printf 'in the moved folder' > "$SRC/moved/deep/later"
  check "[$mode] --watch: a file made in a moved folder arrives" until_same 5 "$SRC" "$DEST"

  mkdir "$SRC/burst"
  (cd "$SRC/burst" && seq 1 10000 | xargs touch && for i in $(seq 1 200); do printf $i > f$i; done)
  check "[$mode] --watch: a burst of 10,000 new files arrives" until_same 20 "$SRC" "$DEST"

  # Written over about 2 s, with pauses, through one open descriptor: the
  # mirror never holds a part of it.
  (exec 3>"$SRC/slow"; for i in $(seq 1 8); do head -c 100000 /dev/urandom >&3; sleep 0.25; done)&
  writer=$!
  torn=0
  while kill -0 $writer 2>/dev/null; do
    if [ -e "$DEST/slow" ] && [ "$(stat -c %s "$DEST/slow")" != 800000 ]; then torn=1; fi
    sleep 0.05
  done
  wait $writer
  check "[$mode] --watch: a file being written is not sent half done" test $torn = 0
  check "[$mode] --watch: the slowly written file arrives whole" until_same 10 "$SRC" "$DEST"

  rounds=$(grep -c '"event":"summary","round":' "$W_OUT")
  check "[$mode] --watch --json: one summary per round ($rounds)" test "$rounds" -ge 10
  check "[$mode] --watch: rounds after the first list what changed, not the tree" \
    test "$(grep '"round":3,' "$W_OUT" | sed 's/.*"files_total":\([0-9]*\).*/\1/')" -le 2
  check "[$mode] --watch: SIGINT ends it with exit 20" watch_stop
  check "[$mode] --watch: nothing on stderr but the interrupt" \
    test "$(grep -vc 'interrupted' "$W_ERR")" = 0
done

# The server killed and restarted on the same port: the client comes back
# (backoff 1 s, 2 s, ...) and catches up on what changed meanwhile.
SRC=$WORK/restart-src DEST=$WORK/restart-copy
mkdir -p "$SRC" && printf a > "$SRC/a"
watch_start pull "$SRC" "$DEST"
check "restart: first round" until_same 5 "$SRC" "$DEST"
kill -9 "$W_SERVER"; wait "$W_SERVER" 2>/dev/null
printf b > "$SRC/b" && rm "$SRC/a"
sleep 1.5
"$TS" serve --port "$W_PORT" --bind 127.0.0.1 "$SRC" 2>"$WORK/restarted.log" &
W_SERVER=$!
check "restart: the client reconnects and catches up" until_same 15 "$SRC" "$DEST"
check "restart: it said it lost the server" grep -q 'trying again in' "$W_ERR"
printf c > "$SRC/c"
check "restart: and watches again" until_same 5 "$SRC" "$DEST"
check "restart: SIGINT still ends it with exit 20" watch_stop

# Lost events: a burst of mkdir/rmdir longer than the inotify queue, while
# the server (the sender) is stopped, overflows it; the rescan that follows
# misses nothing. 300 files nobody touches show it was a rescan: only a
# whole listing names them.
Q=/proc/sys/fs/inotify/max_queued_events
if [ "$(uname)" = Linux ] && [ -r "$Q" ] && [ "$(cat "$Q")" -le 200000 ]; then
  SRC=$WORK/overflow-src DEST=$WORK/overflow-copy
  mkdir -p "$SRC/still" && printf a > "$SRC/a"
  (cd "$SRC/still" && seq 1 300 | xargs touch)
  watch_start pull "$SRC" "$DEST"
  until_same 10 "$SRC" "$DEST" 2>/dev/null
  kill -STOP "$W_SERVER"
  python3 - "$SRC" "$(cat "$Q")" <<'PY'
import os, sys
churn = os.path.join(sys.argv[1], 'churn')
for _ in range(int(sys.argv[2]) // 2 + 1000):
    os.mkdir(churn); os.rmdir(churn)
PY
  mkdir "$SRC/many" && (cd "$SRC/many" && seq 1 500 | xargs touch)
  rm "$SRC/a"
  kill -CONT "$W_SERVER"
  check "overflow: a rescan after lost events misses nothing" until_same 15 "$SRC" "$DEST"
  check "overflow: it was a rescan (a round listed the untouched files)" \
    test "$(sed -n 's/.*"round":\([2-9]\|[1-9][0-9]*\),.*"files_total":\([0-9]*\).*/\2/p' "$W_OUT" | sort -n | tail -1)" -ge 800
  check "overflow: SIGINT ends it" watch_stop
else
  echo "SKIP overflow (no inotify queue small enough to overflow here)"
fi

# SIGINT and SIGTERM in the middle of a file: no temporaries left.
SRC=$WORK/sig-src
mkdir -p "$SRC" && head -c 30000000 /dev/urandom > "$SRC/big"
for sig in INT TERM; do
  DEST=$WORK/sig-$sig
  watch_start pull "$SRC" "$DEST" --bwlimit 2M
  for i in $(seq 1 50); do
    [ -n "$(find "$DEST" -name '.treesync-*.tmp' 2>/dev/null)" ] && break
    sleep 0.1
  done
  kill -$sig "$W_CLIENT"
  wait "$W_CLIENT"
  rc=$?
  check "SIG$sig mid-file: exit 20 ($rc)" test $rc = 20
  check "SIG$sig mid-file: no temporaries left" no_temporaries "$DEST"
  check "SIG$sig mid-file: no lock left" test ! -e "$DEST/.treesync-lock"
  kill "$W_SERVER"; wait "$W_SERVER" 2>/dev/null
done

expect_exit "--watch with --dry-run: usage error" 1 "$TS" pull --watch -n 127.0.0.1:1 "$WORK/x"
expect_exit "--watch with --legacy-cmb: usage error" 1 \
  "$TS" pull --watch --legacy-cmb 127.0.0.1:1 "$WORK/x"
