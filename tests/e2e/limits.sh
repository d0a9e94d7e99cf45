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

# --backup-dir: what a sync replaces or deletes is moved there, under its
# path (with --suffix), and the backup folder is never mirrored itself.
K=$WORK/ksrc
rm -rf "$K" "$WORK/kdst"; mkdir -p "$K/sub"
printf v1 > "$K/sub/file"; printf gone > "$K/doomed"
touch -d '2001-01-01' "$K/sub/file"
serve_mirror "$K"
expect_exit "a first copy: exit 0" 0 mirror -q "$WORK/kdst"
printf v2-longer > "$K/sub/file"; rm "$K/doomed"
expect_exit "a sync with --backup-dir old --suffix .bak: exit 0" 0 \
  mirror -q --backup-dir old --suffix .bak "$WORK/kdst"
check "the new version is in place" test "$(cat "$WORK/kdst/sub/file")" = v2-longer
check "the replaced version is in the backup folder under its path" \
  test "$(cat "$WORK/kdst/old/sub/file.bak" 2>/dev/null)" = v1
check "the deleted file is in the backup folder" test "$(cat "$WORK/kdst/old/doomed.bak" 2>/dev/null)" = gone
check "and no longer in the mirror" test ! -e "$WORK/kdst/doomed"
expect_exit "the next sync: exit 0" 0 mirror -q --backup-dir old --suffix .bak "$WORK/kdst"
check "the backup folder inside the target is not deleted as extraneous" test -f "$WORK/kdst/old/doomed.bak"
check "no temporaries left" no_temporaries "$WORK/kdst"
expect_exit "--suffix without --backup-dir: exit 1" 1 "$TS" pull --suffix .bak "127.0.0.1:1" "$WORK/none"
expect_exit "--backup-dir outside the target by '..': exit 1" 1 \
  "$TS" pull --backup-dir ../x "127.0.0.1:1" "$WORK/none"
stop_server

# --backup-dir on a resumed file: a pull cut off mid-file leaves its
# temporary; the next pull resumes it and still backs up the old version.
if pull_only; then
  R=$WORK/rsrc
  rm -rf "$R" "$WORK/rdst"; mkdir -p "$R" "$WORK/rdst"
  head -c $((4 << 20)) /dev/urandom > "$R/big"
  head -c $((4 << 20)) /dev/urandom > "$WORK/rdst/big"
  cp "$WORK/rdst/big" "$WORK/old-big"
  start_server "$R"
  "$TS" pull -q --bwlimit 2M "127.0.0.1:$PORT" "$WORK/rdst" 2>/dev/null &
  cut=$!
  sleep 1
  kill -9 $cut 2>/dev/null; wait $cut 2>/dev/null
  check "the cut-off pull left its temporary" test -n "$(find "$WORK/rdst" -name '.treesync-*.tmp')"
  expect_exit "a resumed pull with --backup-dir: exit 0" 0 \
    "$TS" pull --json --backup-dir old "127.0.0.1:$PORT" "$WORK/rdst"
  check "it resumed" grep -q '"bytes_resumed":[1-9]' "$WORK/last.out"
  check "the new version is in place" cmp -s "$R/big" "$WORK/rdst/big"
  check "the old version is in the backup folder" cmp -s "$WORK/old-big" "$WORK/rdst/old/big"
  stop_server
fi
