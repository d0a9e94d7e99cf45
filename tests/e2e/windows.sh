# What a Windows peer must get right, checked with bytes, folders and times
# (Windows keeps no exec bits; symlinks need a privilege). Used by
# scripts/cross-test.sh with a Windows binary under Wine on one side.

SRC=$WORK/src
mkdir -p "$SRC/empty-folder" "$SRC/a/b/c" "$SRC/ünïcødé ✓"
printf 'before CMB_END after' > "$SRC/marker-end.txt"
printf 'End' > "$SRC/just-End"
: > "$SRC/empty-file"
for n in 4095 4096 4097; do head -c $n /dev/zero | tr '\0' x > "$SRC/a/size-$n"; done
head -c 5242880 /dev/urandom > "$SRC/a/b/c/random.bin"
printf 'snowman' > "$SRC/ünïcødé ✓/☃.txt"
touch -d '2001-02-03 04:05:06' "$SRC/marker-end.txt"

# Entry names, types and times to the second: what survives any OS.
portable_listing() {
  (cd "$1" && find . -mindepth 1 -printf '%y %P %s %T@\n' | sed 's/^d \(.*\) [0-9]* \([0-9]*\)\.[0-9]*$/d \1 \2/; s/^f \(.*\)\.[0-9]*$/f \1/' | sort)
}
same_portable_tree() {
  diff <(portable_listing "$1") <(portable_listing "$2") >&2 && diff -r "$1" "$2" >/dev/null
}

start_server "$SRC"
expect_exit "pull exits 0" 0 "$TS" pull "127.0.0.1:$PORT" "$WORK/copy"
check "bytes, empty files and folders, non-ASCII names and times arrive" same_portable_tree "$SRC" "$WORK/copy"
expect_exit "no-op re-pull exits 0" 0 "$TS" pull --json "127.0.0.1:$PORT" "$WORK/copy"
check "no-op re-pull transfers nothing" grep -q '"files_transferred":0,' "$WORK/last.out"
printf 'changed' > "$SRC/a/size-4096"
rm "$SRC/just-End"
expect_exit "re-pull after changes exits 0" 0 "$TS" pull "127.0.0.1:$PORT" "$WORK/copy"
check "re-pull after changes mirrors" same_portable_tree "$SRC" "$WORK/copy"
stop_server

# Names Windows can't hold: refused per file (exit 23) by a Windows client,
# the rest arrives, and nothing lands outside the target.
HARD=$WORK/hard
mkdir -p "$HARD"
printf ok > "$HARD/fine.txt"
printf x > "$HARD/a:b"
printf x > "$HARD/CON"
printf x > "$HARD/trailing."
printf x > "$HARD/star*"
start_server "$HARD"
"$TS" pull "127.0.0.1:$PORT" "$WORK/hard-copy" >"$WORK/last.out" 2>"$WORK/last.err"
code=$?
if [ "$code" = 23 ]; then
  check "Windows client: reserved names refused per file (exit 23)" grep -q 'CON' "$WORK/last.err"
  check "Windows client: the other files arrive" test -f "$WORK/hard-copy/fine.txt"
  check "Windows client: nothing written outside the target" test ! -e "$WORK/a" -a ! -e "$WORK/b"
else
  # A Windows server under Wine sees such names mangled; the pull must
  # still complete.
  check "POSIX client: the pull completes (exit $code)" test "$code" = 0 -a -f "$WORK/hard-copy/fine.txt"
fi
stop_server
