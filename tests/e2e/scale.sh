# Streaming sessions (docs/PROTOCOL.md, "Streaming") against a scripted
# streaming server, tests/tools/stream_server.cc, written from the protocol
# page alone: large trees within the client's memory budget, a Gap, and
# hostile servers refused with exit 12 and one error line. Every pull runs
# under /usr/bin/time (else /proc polling) for its peak RSS, in a target
# whose parent holds nothing else, with TMPDIR inside that parent too.
# Sourced by tests/e2e.sh.

if [ ! -x "$TOOLS/stream_server" ]; then
  echo "SKIP streaming scale cases (no $TOOLS/stream_server)"
  return 0
fi

SS=$TOOLS/stream_server
SS_MEM_KB=65536  # the client's memory budget: 64 MiB

# ss_peak OUT CMD...: runs CMD; its peak RSS in KiB goes to OUT.
ss_peak() {
  local out=$1 rc pid peak=0 v
  shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f %M -o "$out.time" "$@"
    rc=$?
    tail -n 1 "$out.time" >"$out"
    return $rc
  fi
  "$@" &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    v=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' /proc/$pid/status 2>/dev/null)
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.02
  done
  wait $pid
  rc=$?
  echo "$peak" >"$out"
  return $rc
}

# ss_case NAME CODE "SERVER ARGS" [PULL OPTIONS...]: one stream_server
# session pulled into $SS_DIR/target (SS_DIR=$WORK/NAME, or $WORK/$SS_SHARED
# to pull into an earlier case's target again). Checks the exit code, that
# the server played its scenario, and that nothing lands beside the target.
# --timeout 20: a client stalled on credit fails in seconds, not minutes.
ss_case() {
  local name=$1 code=$2 sargs=$3 pid
  shift 3
  SS_NAME=$name
  SS_DIR=${SS_BASE:-$WORK}/${SS_SHARED:-$name}
  mkdir -p "$SS_DIR/target" "$SS_DIR/tmp"
  rm -f "$WORK/port"
  # shellcheck disable=SC2086  # sargs is a list of plain words
  "$SS" --port-file "$WORK/port" $sargs 2>"$WORK/$name.server" &
  pid=$!
  for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  expect_exit "stream $name: exit $code" "$code" \
    ss_peak "$WORK/$name.rss" env TMPDIR="$SS_DIR/tmp" \
    "$TS" pull --timeout 20 "$@" "127.0.0.1:$(cat "$WORK/port" 2>/dev/null)" "$SS_DIR/target"
  # The server ends with its session; one the client never reached is
  # stopped after 10 s (exit 143).
  for _ in $(seq 1 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  kill $pid 2>/dev/null
  wait $pid
  SS_SERVER_RC=$?
  check "stream $name: the server played its scenario" ss_server_ok
  check "stream $name: nothing written outside the target" ss_nothing_outside
}

ss_server_ok() {
  [ "$SS_SERVER_RC" = 0 ] && return 0
  echo "    server exit $SS_SERVER_RC"
  sed 's/^/    server: /' "$WORK/$SS_NAME.server" | tail -n 3
  return 1
}

ss_nothing_outside() {
  [ "$(ls -A "$SS_DIR" | tr '\n' ' ')" = "target tmp " ] && [ -z "$(ls -A "$SS_DIR/tmp")" ]
}

# ss_peak_ok: the last pull stayed within the memory budget.
ss_peak_ok() {
  local kb
  kb=$(cat "$WORK/$SS_NAME.rss" 2>/dev/null)
  echo "    peak RSS ${kb:-unknown} KiB (budget $SS_MEM_KB)"
  [ -n "$kb" ] && [ "$kb" -le "$SS_MEM_KB" ]
}

# ss_one_error_line: the refusal is one "treesync:" line (as hostile.sh).
ss_one_error_line() {
  test "$(grep -c '^treesync:' "$WORK/last.err")" -ge 1 -a \
    "$(grep -vc '^treesync: \(error\|warning\)' "$WORK/last.err")" -le 1
}

ss_verify() { "$SS" --verify "$SS_DIR/target" "$@"; }

# A small tree with every kind of entry, names sorted bytewise unsigned
# ("\xc3\xa9t\xc3\xa9" after "z"), a file of several Data frames. The server
# answers a Want or WantDelta by index with Error: requests go by path.
ss_case varied 0 want-by-index
check "stream varied: the copy is the served tree" ss_verify want-by-index
check "stream varied: no temporaries left" no_temporaries "$SS_DIR/target"
# The local copy of the big file changes (same size, other time): the
# re-pull fetches it again, by path (WantPaths or WantDeltaPath).
printf 'changed' | dd of="$SS_DIR/target/big/data.bin" bs=1 seek=300000 conv=notrunc 2>/dev/null
touch -d @1 "$SS_DIR/target/big/data.bin"
SS_SHARED=varied ss_case varied-again 0 want-by-index
check "stream varied-again: the copy is the served tree" ss_verify want-by-index
echo "NOTE stream varied-again:" \
  "$(grep -o 'requests=[0-9]* deltas=[0-9]*' "$WORK/varied-again.server")"
rm -rf "$WORK/varied"

# 20,000 entries over a target holding stale entries and a folder where
# the listing has a file: each folder's extraneous entries go as it closes.
# Then a no-op re-pull asks for nothing.
mkdir -p "$WORK/tree/target/d0000/s00/f00/inner" "$WORK/tree/target/d0000/gone/deeper"
touch "$WORK/tree/target/d0000/s00/zz-stale" "$WORK/tree/target/d0000/gone/deeper/x" \
  "$WORK/tree/target/zzz-stale"
ss_case tree 0 "--entries 20000 tree"
check "stream tree: the copy is the served tree" ss_verify --entries 20000 tree
check "stream tree: no temporaries left" no_temporaries "$SS_DIR/target"
SS_SHARED=tree ss_case tree-again 0 "--entries 20000 tree"
check "stream tree-again: a no-op re-pull requests nothing" \
  grep -q ' requests=0 ' "$WORK/tree-again.server"
rm -rf "$WORK/tree"

# 80,000 folders of one empty file: their weight alone is past the initial
# credit, so the client must give a folder's credit back once it is done
# with it, not at the end of the listing.
ss_case many-folders 0 many-folders
check "stream many-folders: the copy is the served tree" ss_verify many-folders
rm -rf "$SS_DIR"

# A million entries (990,000 small files): within 64 MiB. Removing them
# takes seconds of its own: that runs while the next cases do.
ss_case tree-1m 0 "--entries 1000000 tree"
check "stream tree-1m: within the memory budget" ss_peak_ok
check "stream tree-1m: the copy is the served tree" ss_verify --entries 1000000 tree
mv "$SS_DIR" "$WORK/trash-tree-1m"
rm -rf "$WORK/trash-tree-1m" &
ss_trash=$!

# More entries than a non-streaming listing may hold (4,194,305, in folders
# of 100 empty files): a dry run, since a tmpfs here has fewer inodes than
# that and creating them would take minutes. TREESYNC_SCALE_FULL=1 pulls
# them for real into a folder under /var/tmp.
if [ "${TREESYNC_SCALE_FULL:-0}" = 1 ]; then
  SS_BASE=$(mktemp -d /var/tmp/treesync-scale.XXXXXX) ss_case many-entries 0 many-entries
  check "stream many-entries: within the memory budget" ss_peak_ok
  check "stream many-entries: the copy is the served tree" ss_verify many-entries
  rm -rf "$(dirname "$SS_DIR")"
else
  ss_case many-entries 0 many-entries --dry-run
  check "stream many-entries: within the memory budget" ss_peak_ok
  check "stream many-entries: the dry run wrote nothing" test -z "$(ls -A "$SS_DIR/target")"
  : >"$WORK/last.out"
  rm -rf "$SS_DIR"
fi

# 10,000 symlinks with 4,000-byte targets: 40 MB of targets within the
# first 2 MiB of credit, which counts paths, not targets.
ss_case long-symlinks 0 long-symlinks
check "stream long-symlinks: within the memory budget" ss_peak_ok
check "stream long-symlinks: the copy is the served tree" ss_verify long-symlinks
rm -rf "$SS_DIR"

# 1,000,000 Warning frames inside a 2,000-entry listing: they take no
# credit and the client holds none of them.
ss_case warning-flood 0 warning-flood
check "stream warning-flood: within the memory budget" ss_peak_ok
check "stream warning-flood: every warning reported" \
  test "$(wc -l <"$WORK/last.err")" -ge 1000000
check "stream warning-flood: the copy is the served tree" ss_verify warning-flood
: >"$WORK/last.err"
rm -rf "$SS_DIR"

# One Gap naming a folder still being listed (gap: an ancestor of the entry
# listed last; gap-last: the folder listed last; gap-root: the served
# folder): exit 23, the message reported, no extraneous entry deleted
# directly in that folder, every other folder mirrored.
for g in gap gap-root gap-last; do
  t=$WORK/$g/target
  mkdir -p "$t/a/sub" "$t/b"
  touch "$t/a/stale" "$t/a/sub/stale" "$t/b/stale" "$t/stale"
  ss_case "$g" 23 "$g"
  check "stream $g: the Gap's message is reported" \
    grep -q 'vanished\|unreadable\|could not read x' "$WORK/last.err"
  check "stream $g: the listed files are installed" \
    test -s "$t/a/sub/f" -a -s "$t/a/z" -a -s "$t/b/f" -a -s "$t/c/f"
  check "stream $g: closed folders lose their extraneous entries" \
    test ! -e "$t/a/sub/stale" -a ! -e "$t/b/stale"
  if [ "$g" = gap-root ]; then
    check "stream $g: the served folder keeps its extraneous entries" test -e "$t/stale"
    check "stream $g: a/ loses its extraneous entry" test ! -e "$t/a/stale"
  else
    check "stream $g: a/ keeps its extraneous entry" test -e "$t/a/stale"
  fi
  rm -rf "${WORK:?}/$g"
done

# Hostile streaming servers: exit 12, one error line, nothing outside the
# target. long-prefix: 20,039 entries of ~4,000-byte paths, ~150 KB on the
# wire but ~82 MB of weight, sent at once; overdraw: 1,000 entries past the
# 2 MiB of credit; data-overrun: 3 GiB of Data for a 10-byte file;
# restart-loop: 100 Begins for one request; gap-not-open: a Gap naming a
# closed folder; unsorted: a/y before a/x; frame-in-file*: a listing frame
# (Entries, Folder, Warning, Gap) between a Begin and its End.
for s in long-prefix overdraw data-overrun restart-loop gap-not-open unsorted frame-in-file \
         frame-in-file-folder frame-in-file-warning frame-in-file-gap; do
  ss_case "$s" 12 "$s"
  check "stream $s: one error line" ss_one_error_line
  case $s in
    long-prefix) check "stream $s: within the memory budget" ss_peak_ok ;;
    data-overrun | restart-loop | frame-in-file*)
      check "stream $s: the file is not installed" test ! -e "$SS_DIR/target/f" ;;
  esac
  rm -rf "$SS_DIR"
done
wait $ss_trash
