# Odd trees that must not break a pull: a served mirror holding another
# pull's temporaries, mirror chains, paths too long to send, names the
# target can't hold. Sourced by tests/e2e.sh.
# directions: pull push

# A served folder that is itself a mirror, with temporaries of a pull in
# progress (any letter case): it serves, and none of them is listed.
SRC=$WORK/with-temps
mkdir -p "$SRC/d"
printf a > "$SRC/a"
printf partial > "$SRC/.treesync-0123456789abcdef.tmp"
printf partial > "$SRC/d/.TREESYNC-0123456789ABCDEF.TMP"
printf kept > "$SRC/d/.treesync-not-a-temp.tmp"
start_server "$SRC"
expect_exit "a served folder holding temporaries serves (exit 0)" 0 \
  mirror "$WORK/from-temps"
check "its temporaries are not listed" \
  test "$(cd "$WORK/from-temps" && find . -mindepth 1 | sort | tr '\n' ' ')" = "./a ./d ./d/.treesync-not-a-temp.tmp "
stop_server

# (Pull only: it is about a served tree changing under a pull.)
if pull_only; then
  # A mirror chain: C pulls from B while B is being updated from A. Every file
  # C gets is complete, in its old or its new version.
  A=$WORK/chain-a B=$WORK/chain-b C=$WORK/chain-c
  mkdir -p "$A/sub"
  write_version() {  # write_version VERSION: every file of A in that version
    local i
    for i in $(seq 1 60); do
      head -c $((20000 + i * 100 + $1 * 7)) /dev/zero | tr '\0' "$1" > "$A/sub/f$i"
    done
  }
  write_version 1
  start_server "$A"
  PORT_A=$PORT PID_A=$SERVER_PID
  "$TS" pull "127.0.0.1:$PORT_A" "$B" 2>/dev/null
  start_server "$B"
  PORT_B=$PORT PID_B=$SERVER_PID
  (
    for v in 2 3 4 5 6 7 8 9 2 3 4 5; do
      write_version "$v"
      "$TS" pull "127.0.0.1:$PORT_A" "$B" 2>/dev/null
    done
  ) &
  updater=$!
  chain_ok=1
  chain_codes=""
  for round in 1 2 3 4 5 6; do
    "$TS" pull "127.0.0.1:$PORT_B" "$C" >/dev/null 2>"$WORK/chain.err"
    code=$?
    chain_codes="$chain_codes $code"
    [ "$code" = 0 ] || [ "$code" = 23 ] || chain_ok=0
    grep -q 'reserved\|protocol' "$WORK/chain.err" && chain_ok=0
    for f in "$C"/sub/f*; do
      [ -e "$f" ] || continue
      # One version throughout: every byte the same digit, and the size that
      # version has.
      v=$(head -c 1 "$f")
      i=${f##*/f}
      [ "$(stat -c %s "$f")" = $((20000 + i * 100 + v * 7)) ] || { echo "torn: $f" >&2; chain_ok=0; }
      [ -z "$(tr -d "$v" < "$f" | head -c 1)" ] || { echo "mixed: $f" >&2; chain_ok=0; }
    done
    no_temporaries "$C" || chain_ok=0
  done
  wait $updater
  check "mirror chain: C's every file is complete, old or new (exits:$chain_codes)" test "$chain_ok" = 1
  expect_exit "mirror chain: once B is still, C mirrors it" 0 "$TS" pull "127.0.0.1:$PORT_B" "$C"
  check "mirror chain: C is B" same_tree "$B" "$C"
  kill $PID_A $PID_B 2>/dev/null; wait $PID_A $PID_B 2>/dev/null
fi

# A path longer than the wire allows: skipped with a warning that fits the
# protocol's limits; the pull reports it, mirrors the rest, exits 23.
LONG=$WORK/long
name=$(printf 'n%.0s' $(seq 1 250))
rel=$name
for _ in $(seq 2 16); do rel=$rel/$name; done
mkdir -p "$LONG/$rel" 2>/dev/null
if [ -d "$LONG/$rel" ]; then
  (cd "$LONG/$rel" && printf x > "$(printf 'f%.0s' $(seq 1 100))")
  printf ok > "$LONG/ok"
  start_server "$LONG"
  expect_exit "a path too long to send: the pull exits 23" 23 \
    mirror --json "$WORK/long-copy"
  check "a path too long to send is reported" grep -q 'too long to send' "$WORK/last.err"
  check "a path too long to send: the rest arrives" test "$(cat "$WORK/long-copy/ok")" = ok
  check "a path too long to send: counted in the summary" grep -q '"errors":1}' "$WORK/last.out"
  expect_exit "a path too long to send: the server still serves" 23 \
    mirror "$WORK/long-copy2"
  stop_server
else
  echo "SKIP paths too long to send (can't make one here)"
fi
rm -rf "$LONG" "$WORK/long-copy" "$WORK/long-copy2"

# A name the target can't hold (its path there passes the host's limit):
# that entry fails with one line naming it, the rest arrives, exit 23, and
# the summary counts it.
DEEP=$WORK/deep-target
deep=$DEEP
while [ ${#deep} -lt 3700 ]; do deep=$deep/$(printf 'q%.0s' $(seq 1 200)); done
mkdir -p "$deep"
HOLD=$WORK/hold
long200=$(printf 'z%.0s' $(seq 1 200))
mkdir -p "$HOLD/$long200/$long200"
printf inside > "$HOLD/$long200/$long200/f"
printf fine > "$HOLD/fine"
start_server "$HOLD"
expect_exit "a name the target can't hold: the pull exits 23" 23 \
  mirror --json "$deep/copy"
check "a name the target can't hold: one error line naming it" \
  test "$(grep -c "^treesync: error: .*zzzz" "$WORK/last.err")" = 1
check "a name the target can't hold: the rest arrives" test "$(cat "$deep/copy/fine")" = fine
check "a name the target can't hold: counted in the summary" grep -q '"errors":1}' "$WORK/last.out"
stop_server
rm -rf "$DEEP" "$HOLD"
