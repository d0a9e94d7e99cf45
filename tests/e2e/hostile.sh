# The client against a hand-written hostile or broken server
# (tests/tools/hostile_server.cc): every refusal is a clear one-line error
# with the documented exit code, and nothing lands outside the target.
# Every case runs twice: in clear text, then over an encrypted session (the
# server's handshake is the library's own; its hostile bytes come sealed),
# with the same expectations and " [encrypted]" after each check's name.
# Sourced by tests/e2e.sh.
# compress: skip: its servers are test tools that grant no compression unless a scenario is about it, and those scenarios set -z themselves

if [ ! -x "$TOOLS/hostile_server" ]; then
  echo "SKIP hostile server cases (no $TOOLS/hostile_server)"
  return 0
fi

# The keys of the encrypted round.
HS_KEYS=$WORK/keys
mkdir -p "$HS_KEYS"
"$TS" keygen -C server "$HS_KEYS/server.key" >/dev/null
"$TS" keygen -C client "$HS_KEYS/client.key" >/dev/null
cat "$HS_KEYS/client.key.pub" > "$HS_KEYS/authorized"

# Each round (hostile_in, below) sets ENC, the suffix of its checks' names,
# and SERVER_SECURITY and CLIENT_SECURITY, the options that make
# hostile_server and the client speak encrypted (none in clear text).
hs_check() { check "$1$ENC" "${@:2}"; }
hs_expect_exit() { expect_exit "$1$ENC" "${@:2}"; }

# hostile_start SCENARIO: starts hostile_server on a free port; sets
# HOSTILE_PID and HOSTILE_PORT.
hostile_start() {
  rm -f "$WORK/port"
  "$TOOLS/hostile_server" --port-file "$WORK/port" "${SERVER_SECURITY[@]}" "$1" &
  HOSTILE_PID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  HOSTILE_PORT=$(cat "$WORK/port")
}

# hostile SCENARIO CODE [PULL OPTIONS...]: one pull against one scenario.
hostile() {
  local scenario=$1 code=$2; shift 2
  hostile_start "$scenario"
  hs_expect_exit "hostile $scenario: exit $code" "$code" \
    "$TS" pull "${CLIENT_SECURITY[@]}" "$@" "127.0.0.1:$HOSTILE_PORT" "$WORK/target-$scenario"
  wait $HOSTILE_PID 2>/dev/null
  hs_check "hostile $scenario: one error line" \
    test "$(grep -c '^treesync:' "$WORK/last.err")" -ge 1 -a "$(grep -vc '^treesync: \(error\|warning\)' "$WORK/last.err")" -le 1
}

# hostile_round: every case, each pull into a target of $WORK (a round's own
# sub-folder, so the two rounds' targets and escapes stay apart).
hostile_round() {
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
    hs_check "hostile device-node: a root client makes no device node it was not told to" \
      test ! -e "$WORK/target-device-node/f" -a -n "$(grep 'device node skipped: f' "$WORK/last.err")"
  fi
  hs_check "hostile hole-past-end: no 1 TiB file, no temporary" \
    test -z "$(find "$WORK/target-hole-past-end" -type f -size +1M)" -a ! -e "$WORK/target-hole-past-end/good"
  hs_check "hostile link-*: no file of a refused link group is installed" \
    test -z "$(find "$WORK"/target-link-* -mindepth 1)"
  hs_check "hostile: nothing written outside the targets" \
    test ! -e "$WORK/evil" -a ! -e /tmp/treesync-evil -a -z "$(ls -A "$WORK/outside")"
  hs_check "hostile symlink-parent: no file below the symlink" test ! -e "$WORK/target-symlink-parent/s/evil"
  hs_check "hostile dotdot: refused before anything was written" test -z "$(ls -A "$WORK/target-dotdot")"

  # A compressed stream that breaks the format: exit 12, nothing installed;
  # one cut short is a dropped connection (exit 10), as a plain one is.
  for s in zstd-huge-window zstd-reserved-block zstd-rle-bomb; do
    hostile "$s" 12 -z
    hs_check "hostile $s: says the compressed stream is bad" grep -q 'compressed stream' "$WORK/last.err"
  done
  hostile zstd-truncated 10 -z
  hostile zstd-pass-cut 10 -z
  hs_check "hostile zstd-*: nothing installed" test -z "$(find "$WORK"/target-zstd-* -type f)"

  hostile version 2
  hs_check "version mismatch names both versions" grep -q 'version 99' "$WORK/last.err"
  hostile refuse 5
  hostile reset 10
  hostile truncated 10
  hostile stall 30 --timeout 1
  hostile file-error 23
  hs_check "file-error: the good file is installed" test "$(cat "$WORK/target-file-error/good" 2>/dev/null)" = good
  hs_check "file-error: the failed file is not" test ! -e "$WORK/target-file-error/other"
  hostile bad-hash 23
  hs_check "bad-hash: nothing under the final names" \
    test ! -e "$WORK/target-bad-hash/good" -a ! -e "$WORK/target-bad-hash/other"
  hs_check "bad-hash: no temporary left" no_temporaries "$WORK/target-bad-hash"

  # A signal mid-transfer: exit 20, no partial file under the final name.
  hostile_start slow
  "$TS" pull "${CLIENT_SECURITY[@]}" "127.0.0.1:$HOSTILE_PORT" "$WORK/target-slow" 2>"$WORK/last.err" &
  local cpid=$! code
  sleep 1
  kill -TERM $cpid
  wait $cpid
  code=$?
  kill $HOSTILE_PID 2>/dev/null; wait $HOSTILE_PID 2>/dev/null
  hs_check "SIGTERM mid-transfer: exit 20 (got $code)" test "$code" = 20
  hs_check "SIGTERM mid-transfer: nothing under the final name" test ! -e "$WORK/target-slow/good"
}

# hostile_in ROUND: hostile_round in $WORK/ROUND, "clear" or "encrypted"
# (keys on both sides, and " [encrypted]" after every check's name).
hostile_in() {
  local WORK=$WORK/$1 ENC= SERVER_SECURITY=() CLIENT_SECURITY=()
  if [ "$1" = encrypted ]; then
    ENC=" [encrypted]"
    SERVER_SECURITY=(--key "$HS_KEYS/server.key" --authorized-keys "$HS_KEYS/authorized")
    CLIENT_SECURITY=(--key "$HS_KEYS/client.key" --server-key "$(cat "$HS_KEYS/server.key.pub")")
  fi
  mkdir -p "$WORK"
  hostile_round
}

hostile_in clear
hostile_in encrypted
