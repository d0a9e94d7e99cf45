# directions: pull push
# --bwlimit: the rate a transfer reports over its whole run, within 20 %
# of the limit (the limit is per direction, so the data side's rate).
# Sourced by tests/e2e.sh.

L=$WORK/lsrc
rm -rf "$L"; mkdir -p "$L"
head -c $((3 << 20)) /dev/urandom > "$L/big"
serve_mirror "$L"
# rate_of: bytes on the wire a second, from the JSON summary.
rate_of() {
  sed -n 's/.*"bytes_on_wire":\([0-9]*\).*"elapsed_ms":\([0-9]*\).*/\1 \2/p; s/.*"elapsed_ms":\([0-9]*\).*"bytes_on_wire":\([0-9]*\).*/\2 \1/p' "$1" |
    tail -1 | awk '{ if ($2 > 0) printf "%d", $1 * 1000 / $2 }'
}
expect_exit "--bwlimit 1M: exit 0" 0 mirror --json --bwlimit 1M "$WORK/ldst"
r=$(rate_of "$WORK/last.out")
check "--bwlimit 1M moves 1 MiB/s within 20 % (measured ${r:-?} B/s)" \
  test -n "$r" -a "${r:-0}" -ge $(( 1048576 * 8 / 10 )) -a "${r:-0}" -le $(( 1048576 * 12 / 10 ))
check "the copy is whole" cmp -s "$L/big" "$WORK/ldst/big"
stop_server
expect_exit "--bwlimit with a bad rate: exit 1" 1 "$TS" pull --bwlimit 10X "127.0.0.1:1" "$WORK/none"
check "it says what a rate looks like" grep -q '500 (KiB/s), 100K, 10M' "$WORK/last.err"

if pull_only; then
  rm -rf "$WORK/ldst"
  start_server "$L" --bwlimit 2M
  expect_exit "a pull from serve --bwlimit 2M: exit 0" 0 "$TS" pull --json "127.0.0.1:$PORT" "$WORK/ldst"
  r=$(rate_of "$WORK/last.out")
  check "serve --bwlimit 2M serves 2 MiB/s within 20 % (measured ${r:-?} B/s)" \
    test -n "$r" -a "${r:-0}" -ge $(( 2097152 * 8 / 10 )) -a "${r:-0}" -le $(( 2097152 * 12 / 10 ))
  stop_server
fi
