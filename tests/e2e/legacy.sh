# The legacy CMB protocol, both ways, against tests/tools/legacy_peer.py: a
# stand-in for the original scripts written from the protocol description.
# Sourced by tests/e2e.sh.
# compress: skip: the legacy CMB protocol has no compression: the -z wrapper leaves --legacy-cmb runs as they are

if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP legacy (no python3)"
  return 0
fi
PEER=$HERE/tools/legacy_peer.py

# start_old_server DIR [OPTIONS...]: the stand-in old server on a free
# loopback port; sets OLD_PID and OLD_PORT.
start_old_server() {
  local dir=$1; shift
  local log=$WORK/old-server.$RANDOM.log
  python3 "$PEER" server "$@" "$dir" 2>"$log" &
  OLD_PID=$!
  OLD_PORT=$(port_from_log "$log")
}

stop_old_server() {
  kill "$OLD_PID" 2>/dev/null
  wait "$OLD_PID" 2>/dev/null
  return 0
}

legacy_pull() {  # legacy_pull PORT DIR [OPTIONS...]
  local port=$1 dir=$2; shift 2
  timeout 60 "$TS" pull --legacy-cmb --idle-timeout 1 "$@" "127.0.0.1:$port" "$dir"
}

now_ms() { date +%s%3N; }

SRC=$WORK/src
bash "$HERE/../scripts/make-sample-tree.sh" "$SRC"
# The old protocol's worst cases, beyond the sample tree's.
printf 'CMB_ENDCMB_BEGINSyncCMB_END' > "$SRC/end-then-begin"
{ head -c 4093 /dev/zero | tr '\0' a; printf 'CMB_ENDEnd'; } > "$SRC/marker-across-4096"
for _ in $(seq 1 600); do printf 'CMB_END'; done > "$SRC/only-markers"

# What each side can hold. treesync serves no symlinks and no name holding
# CMB_END; the old client makes no empty files; the old server can't send
# data holding "CMB_ENDCMB_BEGIN" in a way any reader can take apart.
SERVED=$WORK/expect-served
cp -a "$SRC" "$SERVED"
find "$SERVED" -type l -delete
find "$SERVED" -name '*CMB_END*' -prune -exec rm -rf {} +
OLD_CLIENT_GETS=$WORK/expect-old-client
cp -a "$SERVED" "$OLD_CLIENT_GETS"
find "$OLD_CLIENT_GETS" -type f -empty -delete
OLD_SRC=$WORK/old-src
cp -a "$SRC" "$OLD_SRC"
find "$OLD_SRC" -type l -delete
rm "$OLD_SRC/end-then-begin"

# --- treesync serve --legacy-cmb, old client -------------------------------
start_server "$SRC" --legacy-cmb
mkdir -p "$WORK/old-client" && printf stale > "$WORK/old-client/stale"
expect_exit "old client pulls from serve --legacy-cmb" 0 \
  timeout 60 python3 "$PEER" client 127.0.0.1 "$PORT" "$WORK/old-client" --idle 30
check "serve --legacy-cmb closes the connection when done, so the old client stops" \
  grep -q 'stopped: closed' "$WORK/last.out"
check "old client: every file intact (markers, command words, 4096 boundaries, 5 MiB random)" \
  diff -r "$OLD_CLIENT_GETS" "$WORK/old-client"
check "old client: no data command outside a file" test -z "$(grep orphan "$WORK/last.out")"
check "serve --legacy-cmb warns about the empty file by name" \
  grep -q 'warning: empty-file: empty file' "$SERVER_LOG"
check "serve --legacy-cmb warns about each symlink it can't send" \
  grep -q 'warning: dangling-link: symlink skipped' "$SERVER_LOG"
check "serve --legacy-cmb skips a name holding CMB_END, with a warning" \
  grep -q 'warning: names/CMB_END: skipped' "$SERVER_LOG"

# --- treesync to treesync over the legacy protocol ---------------------------
mkdir -p "$WORK/ts-copy" && printf x > "$WORK/ts-copy/extraneous"
t0=$(now_ms)
expect_exit "pull --legacy-cmb from serve --legacy-cmb exits 0" 0 \
  timeout 60 "$TS" pull --legacy-cmb --idle-timeout 30 "127.0.0.1:$PORT" "$WORK/ts-copy"
t1=$(now_ms)
check "pull --legacy-cmb: content, folders and empty files mirrored, extraneous deleted" \
  diff -r "$SERVED" "$WORK/ts-copy"
check "pull --legacy-cmb: the empty file exists" \
  test -f "$WORK/ts-copy/empty-file" -a ! -s "$WORK/ts-copy/empty-file"
check "pull --legacy-cmb: ends when serve --legacy-cmb closes, without the idle wait" \
  test $((t1 - t0)) -lt 20000
check "pull --legacy-cmb: no temporaries left" no_temporaries "$WORK/ts-copy"
touch -d '2001-01-01' "$WORK/ts-copy/just-End"
expect_exit "re-pull --legacy-cmb of an unchanged tree exits 0" 0 \
  legacy_pull "$PORT" "$WORK/ts-copy" --json
check "re-pull --legacy-cmb rewrites no file" grep -q '"files_transferred":0,' "$WORK/last.out"
check "re-pull --legacy-cmb keeps an unchanged file's time" \
  test "$(stat -c %Y "$WORK/ts-copy/just-End")" = "$(date -d 2001-01-01 +%s)"
stop_server

# --- old server, treesync pull --legacy-cmb ----------------------------------
start_old_server "$OLD_SRC"
mkdir -p "$WORK/from-old/extra-dir" && printf x > "$WORK/from-old/extraneous"
t0=$(now_ms)
expect_exit "pull --legacy-cmb from an old server exits 0" 0 \
  legacy_pull "$OLD_PORT" "$WORK/from-old"
t1=$(now_ms)
check "pull --legacy-cmb from an old server (which never closes) ends after the idle timeout" \
  test $((t1 - t0)) -ge 900 -a $((t1 - t0)) -lt 10000
check "pull --legacy-cmb from an old server: every file intact, CMB_END in data and names too" \
  diff -r "$OLD_SRC" "$WORK/from-old"
check "pull --legacy-cmb from an old server: File: then End makes an empty file" \
  test -f "$WORK/from-old/empty-file" -a ! -s "$WORK/from-old/empty-file"
check "pull --legacy-cmb from an old server: extraneous entries deleted after the whole stream" \
  test ! -e "$WORK/from-old/extraneous" -a ! -e "$WORK/from-old/extra-dir"
check "pull --legacy-cmb from an old server: no temporaries left" no_temporaries "$WORK/from-old"
stop_old_server

# The stand-ins are as naive as the originals: together they lose data.
mkdir -p "$WORK/pair-src" && printf 'before CMB_END after' > "$WORK/pair-src/m"
start_old_server "$WORK/pair-src"
timeout 60 python3 "$PEER" client 127.0.0.1 "$OLD_PORT" "$WORK/pair-dst" --idle 1 >/dev/null 2>&1
check "stand-in check: the old client and old server corrupt data holding CMB_END" \
  test "$(cat "$WORK/pair-dst/m" 2>/dev/null)" != 'before CMB_END after'
stop_old_server

# An old server that leaves out Folder: commands: the parents are added.
EXPECT_NO_FOLDERS=$WORK/expect-no-folders
cp -a "$OLD_SRC" "$EXPECT_NO_FOLDERS"
find "$EXPECT_NO_FOLDERS" -depth -type d -empty -delete
start_old_server "$OLD_SRC" --omit-folders
expect_exit "old server without Folder: commands: pull exits 0" 0 \
  legacy_pull "$OLD_PORT" "$WORK/no-folders"
check "old server without Folder: commands: files land in created parents" \
  diff -r "$EXPECT_NO_FOLDERS" "$WORK/no-folders"
stop_old_server

# A file sent twice: the later copy wins.
start_old_server "$OLD_SRC" --inject-after 'File:marker-begin.txt' --inject-after 'second copy' \
  --inject-after End
expect_exit "old server resending a file: pull exits 0" 0 legacy_pull "$OLD_PORT" "$WORK/resent"
check "old server resending a file: the later copy wins" \
  test "$(cat "$WORK/resent/marker-begin.txt")" = 'second copy'
stop_old_server

# Hostile names: exit 12, nothing outside DIR, DIR and the spool folder clean.
mkdir -p "$WORK/h-src" && printf ok > "$WORK/h-src/ok"
for inj in 'Folder:../evil' 'File:$WORK/abs-evil' 'File:sub/../../evil' \
           'File:.treesync-0123456789abcdef.tmp'; do
  start_old_server "$WORK/h-src" --inject "${inj/\$WORK/$WORK}" --inject pwned --inject End
  rm -rf "$WORK/h-dst" "$WORK/spool"
  mkdir -p "$WORK/h-dst" "$WORK/spool" && printf mine > "$WORK/h-dst/mine"
  expect_exit "hostile old server ($inj): exit 12" 12 \
    env TMPDIR="$WORK/spool" timeout 60 "$TS" pull --legacy-cmb --idle-timeout 1 \
    "127.0.0.1:$OLD_PORT" "$WORK/h-dst"
  check "hostile old server ($inj): nothing written outside DIR" \
    test ! -e "$WORK/evil" -a ! -e "$WORK/abs-evil"
  check "hostile old server ($inj): DIR untouched, spool removed" \
    test "$(ls -A "$WORK/h-dst")" = mine -a "$(cat "$WORK/h-dst/mine")" = mine \
    -a -z "$(ls -A "$WORK/spool")"
  stop_old_server
done

# A stream cut inside a file: complete files installed, nothing deleted.
start_old_server "$WORK/h-src" --inject-after 'File:cut-off' --inject-after 'partial' --close-after
mkdir -p "$WORK/cut" && printf keep > "$WORK/cut/extraneous"
expect_exit "stream cut inside a file: exit 23" 23 legacy_pull "$OLD_PORT" "$WORK/cut"
check "stream cut inside a file: that file is not installed, the rest is, nothing deleted" \
  test ! -e "$WORK/cut/cut-off" -a "$(cat "$WORK/cut/ok")" = ok -a -e "$WORK/cut/extraneous"
check "stream cut inside a file: no temporaries left" no_temporaries "$WORK/cut"
stop_old_server

# An old server with an empty folder sends only Sync, which can't be told
# from a slow start: the pull waits for --timeout and changes nothing.
mkdir -p "$WORK/empty-src" "$WORK/empty-dst" && printf kept > "$WORK/empty-dst/mine"
start_old_server "$WORK/empty-src"
expect_exit "old server with an empty folder: --timeout ends the pull with exit 30" 30 \
  legacy_pull "$OLD_PORT" "$WORK/empty-dst" --timeout 2
check "old server with an empty folder: DIR untouched" test "$(cat "$WORK/empty-dst/mine")" = kept
stop_old_server
