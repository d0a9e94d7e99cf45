# Incremental, verified and resumable pulls. Sourced by tests/e2e.sh.
# directions: pull push

SRC=$WORK/src
mkdir -p "$SRC/d"
for i in $(seq 1 50); do printf 'file %s\n' "$i" > "$SRC/d/f$i"; done
head -c 2000000 /dev/urandom > "$SRC/big"
start_server "$SRC"
mirror "$WORK/copy" >/dev/null 2>&1

expect_exit "no-op re-pull exits 0" 0 mirror --json "$WORK/copy"
check "no-op re-pull: files_transferred 0, files_skipped 51" \
  grep -q '"files_transferred":0,"files_skipped":51,' "$WORK/last.out"
wire=$(sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p' "$WORK/last.out")
check "no-op re-pull: under 200 bytes on the wire per entry ($wire for 52)" test "$wire" -lt $((52 * 200))

# An edit that keeps size and mtime: only --checksum sees it.
stamp=$(stat -c %y "$SRC/d/f1")
printf 'FILE 1\n' > "$SRC/d/f1"
touch -d "$stamp" "$SRC/d/f1"
expect_exit "quick check pull exits 0" 0 mirror "$WORK/copy"
check "quick check skips a same-size, same-mtime edit" grep -q 'file 1' "$WORK/copy/d/f1"
expect_exit "--checksum pull exits 0" 0 mirror -c -i "$WORK/copy"
check "--checksum finds the same-size, same-mtime edit" grep -q 'FILE 1' "$WORK/copy/d/f1"
check "--checksum transfers only that file" test "$(cat "$WORK/last.out")" = ">f d/f1"
# The server's hash cache must not answer for a file changed since.
printf 'FiLe 1\n' > "$SRC/d/f1"
touch -d "$stamp" "$SRC/d/f1"
expect_exit "second --checksum pull exits 0" 0 mirror -c "$WORK/copy"
check "the server's hash cache never gives a stale answer" grep -q 'FiLe 1' "$WORK/copy/d/f1"
check "--checksum leaves an exact mirror" same_tree "$SRC" "$WORK/copy"

# Dry run: lists, changes nothing.
printf new > "$SRC/d/new-file"
rm "$SRC/d/f2"
printf changed-size > "$SRC/d/f3"
cp -a "$WORK/copy" "$WORK/before"
expect_exit "--dry-run exits 0" 0 mirror -n "$WORK/copy"
check "--dry-run leaves the copy byte-identical" same_tree "$WORK/before" "$WORK/copy"
check "--dry-run lists a new file as +f" grep -qx '+f d/new-file' "$WORK/last.out"
check "--dry-run lists a deletion as -f" grep -qx -- '-f d/f2' "$WORK/last.out"
check "--dry-run lists an update as >f" grep -qx '>f d/f3' "$WORK/last.out"
expect_exit "--dry-run --json exits 0" 0 mirror -n --json "$WORK/copy"
check "--dry-run --json has code fields" grep -q '"code":"+f"' "$WORK/last.out"
expect_exit "--dry-run into a missing folder exits 0" 0 mirror -n "$WORK/nothing-here"
check "--dry-run does not create the target" test ! -e "$WORK/nothing-here"
expect_exit "itemized pull exits 0" 0 mirror -i "$WORK/copy"
check "itemize: one line per change" test "$(wc -l < "$WORK/last.out")" -eq 3
check "itemized pull mirrors" same_tree "$SRC" "$WORK/copy"

# Progress: on a terminal only.
if ! pull_only; then
  :  # a push's progress is the receiver's, relayed: tests/e2e/push.sh
elif command -v script >/dev/null; then
  rm -rf "$WORK/progress-copy"
  script -qfec "'$TS' pull 127.0.0.1:$PORT '$WORK/progress-copy'" /dev/null > "$WORK/pty.out" 2>&1
  check "progress line appears under a pseudo-terminal" grep -q 'files 51/51' "$WORK/pty.out"
else
  echo "SKIP progress under a pty (no 'script' command)"
fi
rm -rf "$WORK/progress-copy"
mirror "$WORK/progress-copy" > "$WORK/pipe.out" 2>&1
check "no progress on a pipe" test ! -s "$WORK/pipe.out"
stop_server

# Fault injection through a proxy: a flipped bit never lands; a cut
# connection resumes and sends only the remainder.
if [ -x "$TOOLS/fault_proxy" ]; then
  BIGSRC=$WORK/bigsrc
  mkdir -p "$BIGSRC"
  head -c 8000000 /dev/urandom > "$BIGSRC/large.bin"
  serve_mirror "$BIGSRC"
  # The faults go where the file data flows.
  faults=$([ "$DIRECTION" = push ] && echo up || echo down)

  rm -f "$WORK/proxy.port"
  "$TOOLS/fault_proxy" --to "127.0.0.1:$PORT" --port-file "$WORK/proxy.port" --faults "$faults" --flip-at 3000000 &
  proxy=$!
  for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
  expect_exit "pull through a bit-flipping proxy exits 0" 0 \
    mirror_at "127.0.0.1:$(cat "$WORK/proxy.port")" --json "$WORK/flipped"
  check "flipped bit: file re-fetched, copy is exact" cmp -s "$BIGSRC/large.bin" "$WORK/flipped/large.bin"
  check "flipped bit: summary counts the file once" grep -q '"files_transferred":1,' "$WORK/last.out"
  kill $proxy 2>/dev/null; wait $proxy 2>/dev/null

  rm -f "$WORK/proxy.port" "$WORK/bytes"
  "$TOOLS/fault_proxy" --to "127.0.0.1:$PORT" --port-file "$WORK/proxy.port" --faults "$faults" \
    --cut-at 3000000 --bytes-file "$WORK/bytes" &
  proxy=$!
  for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
  pport=$(cat "$WORK/proxy.port")
  expect_exit "pull cut at 3 MB exits 10" 10 mirror_at "127.0.0.1:$pport" "$WORK/resumed"
  check "cut pull: nothing under the final name" test ! -e "$WORK/resumed/large.bin"
  check "cut pull: partial data kept" test -n "$(find "$WORK/resumed" -name '.treesync-*.tmp' -size +1000k)"
  expect_exit "resumed pull exits 0" 0 mirror_at "127.0.0.1:$pport" --json "$WORK/resumed"
  check "resumed pull: copy verified and exact" cmp -s "$BIGSRC/large.bin" "$WORK/resumed/large.bin"
  resumed=$(sed -n 's/.*"bytes_resumed":\([0-9]*\).*/\1/p' "$WORK/last.out")
  wire=$(sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p' "$WORK/last.out")
  check "resumed pull kept the first part ($resumed bytes)" test "$resumed" -gt 2000000
  check "resumed pull sent only the remainder ($wire bytes on the wire)" test "$wire" -lt 6000000
  check "resumed pull: no temporaries" no_temporaries "$WORK/resumed"
  kill $proxy 2>/dev/null; wait $proxy 2>/dev/null

  # Partial data that no longer matches the server's file is cleaned up.
  rm -f "$WORK/proxy.port"
  "$TOOLS/fault_proxy" --to "127.0.0.1:$PORT" --port-file "$WORK/proxy.port" --faults "$faults" --cut-at 3000000 &
  proxy=$!
  for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
  mirror_at "127.0.0.1:$(cat "$WORK/proxy.port")" "$WORK/stale" >/dev/null 2>&1
  kill $proxy 2>/dev/null; wait $proxy 2>/dev/null
  head -c 7000000 /dev/urandom > "$BIGSRC/large.bin"
  expect_exit "pull after the server's file changed exits 0" 0 mirror "$WORK/stale"
  check "stale partial data cleaned up, copy exact" same_tree "$BIGSRC" "$WORK/stale"
  stop_server
else
  echo "SKIP fault injection (no $TOOLS/fault_proxy)"
fi
