# Core mirror: exact copies, re-pulls, deletes, concurrency, a killed client.
# Sourced by tests/e2e.sh.
# directions: pull push

SRC=$WORK/src
bash "$HERE/../scripts/make-sample-tree.sh" "$SRC"
start_server "$SRC"

expect_exit "first pull exits 0" 0 mirror "$WORK/copy"
check "first pull is silent" test ! -s "$WORK/last.out" -a ! -s "$WORK/last.err"
check "copy is an exact mirror (bytes, empty files and folders, symlinks, modes, mtimes)" \
  same_tree "$SRC" "$WORK/copy"
check "markers and command words arrive intact" \
  cmp -s "$SRC/End-at-chunk-boundary" "$WORK/copy/End-at-chunk-boundary"
check "empty file exists" test -f "$WORK/copy/empty-file" -a ! -s "$WORK/copy/empty-file"
check "dangling symlink recreated as a symlink" \
  test "$(readlink "$WORK/copy/dangling-link")" = does/not/exist
check "exec bit kept" test -x "$WORK/copy/run.sh"
check "no temporaries left" no_temporaries "$WORK/copy"

expect_exit "re-pull of an unchanged tree exits 0" 0 mirror --json "$WORK/copy"
check "re-pull transfers nothing" grep -q '"event":"summary".*"files_transferred":0,' "$WORK/last.out"
check "re-pull summary has the documented fields" \
  grep -q '"files_total":.*"files_transferred":.*"files_deleted":.*"dirs_created":.*"bytes_transferred":.*"bytes_on_wire":.*"elapsed_ms":.*"errors":0' "$WORK/last.out"

# Changes on both sides.
printf 'new' > "$SRC/added.txt"
rm "$SRC/size-4095"
printf 'changed content' > "$SRC/marker-begin.txt"
rm "$SRC/just-End" && mkdir "$SRC/just-End" && printf in > "$SRC/just-End/inside"
rm -r "$SRC/empty-folder" && printf now-a-file > "$SRC/empty-folder"
rm "$SRC/link-to-file" && ln -s marker-end.txt "$SRC/link-to-file"
printf extra > "$WORK/copy/extraneous.txt"
mkdir -p "$WORK/copy/extra-dir/sub" && printf x > "$WORK/copy/extra-dir/sub/f"
printf 'local edit' > "$WORK/copy/size-4096"
printf 'partial' > "$WORK/copy/.treesync-0123456789abcdef.tmp"
expect_exit "re-pull after changes on both sides exits 0" 0 \
  mirror -v "$WORK/copy"
check "re-pull after changes mirrors again" same_tree "$SRC" "$WORK/copy"
check "-v names each change" grep -q 'delete *extraneous.txt' "$WORK/last.out"
check "leftover temporary removed" no_temporaries "$WORK/copy"

mkdir -p "$WORK/keep" && printf mine > "$WORK/keep/mine.txt"
expect_exit "--no-delete pull exits 0" 0 mirror --no-delete "$WORK/keep"
check "--no-delete keeps extraneous files" test -f "$WORK/keep/mine.txt"
check "--no-delete still copies everything" cmp -s "$SRC/random-5MiB.bin" "$WORK/keep/random-5MiB.bin"

for i in 1 2 3 4; do mirror "$WORK/conc$i" 2>"$WORK/conc$i.err" & done
conc_ok=0
for job in $(jobs -p); do
  [ "$job" = "$SERVER_PID" ] && continue
  wait "$job" || conc_ok=1
done
[ $conc_ok -eq 0 ] || head -3 "$WORK"/conc?.err >&2  # why, when one failed
check "four concurrent clients all exit 0" test $conc_ok -eq 0
check "four concurrent clients all get a mirror" \
  bash -c "for i in 1 2 3 4; do cmp -s <(cd '$SRC' && find . | sort) <(cd '$WORK/conc'\$i && find . | sort) || exit 1; done"
check "concurrent copies are byte-exact" same_tree "$SRC" "$WORK/conc4"
pull_only && check "server logs one line per session" test "$(grep -c ' ok entries=' "$SERVER_LOG")" -ge 7
stop_server

# A client killed mid-transfer leaves no partial file under a final name,
# and the server keeps serving.
killed_client_case 200 0.15 same_tree

# Special files are never opened: with --no-specials they are skipped with
# a note (tests/e2e/specials.sh has them recreated).
SPECIAL=$WORK/special
mkdir -p "$SPECIAL" && printf ok > "$SPECIAL/regular" && mkfifo "$SPECIAL/fifo"
start_server "$SPECIAL"
expect_exit "FIFO in the served tree: pull --no-specials exits 0" 0 mirror --no-specials "$WORK/special-copy"
check "FIFO skipped with a warning" grep -q 'special file skipped' "$WORK/last.err"
check "regular file next to the FIFO arrives" test -f "$WORK/special-copy/regular" -a ! -e "$WORK/special-copy/fifo"
stop_server

# IPv6 loopback, when the host has it.
ipv6_case "$SRC" same_tree
