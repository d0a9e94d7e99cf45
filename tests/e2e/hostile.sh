# The client against a hand-written hostile or broken server
# (tests/tools/hostile_server.cc): every refusal is a clear one-line error
# with the documented exit code, and nothing lands outside the target.
# Sourced by tests/e2e.sh.

if [ ! -x "$TOOLS/hostile_server" ]; then
  echo "SKIP hostile server cases (no $TOOLS/hostile_server)"
  return 0
fi

# hostile SCENARIO CODE [PULL OPTIONS...]: one pull against one scenario.
hostile() {
  local scenario=$1 code=$2; shift 2
  rm -f "$WORK/port"
  "$TOOLS/hostile_server" --port-file "$WORK/port" "$scenario" &
  local pid=$!
  for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  expect_exit "hostile $scenario: exit $code" "$code" \
    "$TS" pull "$@" "127.0.0.1:$(cat "$WORK/port")" "$WORK/target-$scenario"
  wait $pid 2>/dev/null
  check "hostile $scenario: one error line" \
    test "$(grep -c '^treesync:' "$WORK/last.err")" -ge 1 -a "$(grep -vc '^treesync: \(error\|warning\)' "$WORK/last.err")" -le 1
}

mkdir -p "$WORK/outside"
for s in dotdot absolute dot empty-component nul dup-types symlink-parent file-parent \
         unlisted-parent temp-name count-mismatch bad-magic oversized-frame \
         unknown-frame-type begin-unrequested data-outside packed-dotdot packed-unasked \
         packed-overshare hole-past-end hole-ungranted owner-name-10k link-not-yet-sent \
         link-past-listing link-one-name xattr-10m; do
  hostile "$s" 12
done
if [ "$(id -u)" = 0 ]; then
  hostile device-node 0
  check "hostile device-node: a root client makes no device node it was not told to" \
    test ! -e "$WORK/target-device-node/f" -a -n "$(grep 'device node skipped: f' "$WORK/last.err")"
fi
check "hostile hole-past-end: no 1 TiB file, no temporary" \
  test -z "$(find "$WORK/target-hole-past-end" -type f -size +1M)" -a ! -e "$WORK/target-hole-past-end/good"
check "hostile link-*: no file of a refused link group is installed" \
  test -z "$(find "$WORK"/target-link-* -mindepth 1)"
check "hostile: nothing written outside the targets" \
  test ! -e "$WORK/evil" -a ! -e /tmp/treesync-evil -a -z "$(ls -A "$WORK/outside")"
check "hostile symlink-parent: no file below the symlink" test ! -e "$WORK/target-symlink-parent/s/evil"
check "hostile dotdot: refused before anything was written" test -z "$(ls -A "$WORK/target-dotdot")"

# A compressed stream that breaks the format: exit 12, nothing installed;
# one cut short is a dropped connection (exit 10), as a plain one is.
for s in zstd-huge-window zstd-reserved-block zstd-rle-bomb; do
  hostile "$s" 12 -z
  check "hostile $s: says the compressed stream is bad" grep -q 'compressed stream' "$WORK/last.err"
done
hostile zstd-truncated 10 -z
hostile zstd-pass-cut 10 -z
check "hostile zstd-*: nothing installed" test -z "$(find "$WORK"/target-zstd-* -type f)"

hostile version 2
check "version mismatch names both versions" grep -q 'version 99' "$WORK/last.err"
hostile refuse 5
hostile reset 10
hostile truncated 10
hostile stall 30 --timeout 1
hostile file-error 23
check "file-error: the good file is installed" test "$(cat "$WORK/target-file-error/good" 2>/dev/null)" = good
check "file-error: the failed file is not" test ! -e "$WORK/target-file-error/other"
hostile bad-hash 23
check "bad-hash: nothing under the final names" \
  test ! -e "$WORK/target-bad-hash/good" -a ! -e "$WORK/target-bad-hash/other"
check "bad-hash: no temporary left" no_temporaries "$WORK/target-bad-hash"

# A signal mid-transfer: exit 20, no partial file under the final name.
rm -f "$WORK/port"
"$TOOLS/hostile_server" --port-file "$WORK/port" slow &
spid=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
"$TS" pull "127.0.0.1:$(cat "$WORK/port")" "$WORK/target-slow" 2>"$WORK/last.err" &
cpid=$!
sleep 1
kill -TERM $cpid
wait $cpid
code=$?
kill $spid 2>/dev/null; wait $spid 2>/dev/null
check "SIGTERM mid-transfer: exit 20 (got $code)" test "$code" = 20
check "SIGTERM mid-transfer: nothing under the final name" test ! -e "$WORK/target-slow/good"
