# pull --atomic and serve --atomic: a reader of the mirror never sees two
# versions at once, unchanged files are shared with the previous version
# and a change of mode is not, an interrupted pull leaves the current
# version alone and the next one reuses its work, and --watch switches once
# a round. Sourced by tests/e2e.sh.

# stamp_tree DIR N: every file of DIR says N.
stamp_tree() {
  mkdir -p "$1/sub/deeper"
  for f in a b sub/c sub/deeper/d; do printf '%s' "$2" > "$1/$f"; done
}

# consistent_reader DIR LOG: reads the mirror as a reader that resolves it
# once (cd -P, then relative paths) until stopped; each read that finds
# files of two versions is a line in LOG, each read a dot in LOG.reads. A
# read that finds a file gone (its version removed meanwhile, as
# --keep-previous allows) does not count.
consistent_reader() {
  : > "$2"; : > "$2.reads"
  while :; do
    (cd -P "$1" 2>/dev/null || exit 0
     v=
     for f in a b sub/c sub/deeper/d; do x=$(cat "$f" 2>/dev/null) || exit 0; v="$v $x"; done
     first=$(cat a 2>/dev/null) || exit 0
     [ "$v" = " $first $first $first $first" ] || echo "$(pwd -P):$v" >> "$2"
     printf . >> "$2.reads")
  done
}

# one_version_each LOG: every read LOG holds (a version's folder, then what
# the reader found) found that version as it is: a watch round may list a
# source caught half-way through its own update, and then its version holds
# both stamps, but a reader must still see one version, not two.
one_version_each() {
  local line dir seen now f
  while IFS= read -r line; do
    dir=${line%%:*} seen=${line#*:} now=
    for f in a b sub/c sub/deeper/d; do now="$now $(cat "$dir/$f")"; done
    [ "$now" = "$seen" ] || { echo "read$seen in $dir, which holds$now" >&2; return 1; }
  done < "$1"
}

SRC=$WORK/atomic-src
DIR=$WORK/atomic-mirror
stamp_tree "$SRC" 0
printf 'never changes' > "$SRC/constant"
start_server "$SRC"
expect_exit "--atomic: the first pull" 0 "$TS" pull --atomic "127.0.0.1:$PORT" "$DIR"
check "--atomic: DIR is a symlink to the version" test -L "$DIR"
check "--atomic: it leads to .NAME.treesync/v1" test "$(readlink "$DIR")" = .atomic-mirror.treesync/v1
check "--atomic: the version is a mirror" same_tree "$SRC" "$DIR/."

# 20 updates with a reader at work: never two versions in one read.
consistent_reader "$DIR" "$WORK/reader.log" &
reader=$!
bad_pull=0
for i in $(seq 1 20); do
  stamp_tree "$SRC" "$i"
  "$TS" pull --atomic --keep-previous 1 "127.0.0.1:$PORT" "$DIR" || bad_pull=1
done
sleep 0.2
kill $reader; wait $reader 2>/dev/null
check "--atomic: 20 updates, each exit 0" test $bad_pull = 0
check "--atomic: the reader read ($(wc -c < "$WORK/reader.log.reads") reads)" \
  test -s "$WORK/reader.log.reads"
check "--atomic: the reader never saw two versions at once" test ! -s "$WORK/reader.log"
check "--atomic: the last version is a mirror" same_tree "$SRC" "$DIR/."
check "--atomic --keep-previous 1: two versions kept" \
  test "$(ls "$WORK/.atomic-mirror.treesync" | grep -c '^v')" = 2
V=$WORK/.atomic-mirror.treesync
cur=$(readlink "$DIR" | sed 's|.*/||')
prev=$(ls "$V" | grep '^v' | grep -vx "$cur")
check "--atomic: an unchanged file is one inode in both versions" \
  test "$(stat -c %i "$V/$cur/constant")" = "$(stat -c %i "$V/$prev/constant")"
chmod 600 "$SRC/constant"
expect_exit "--atomic: a pull after chmod" 0 "$TS" pull --atomic --keep-previous 1 "127.0.0.1:$PORT" "$DIR"
old=$cur
cur=$(readlink "$DIR" | sed 's|.*/||')
check "--atomic: the new mode is in the new version" test "$(stat -c %a "$V/$cur/constant")" = 600
check "--atomic: and not in the previous one" test "$(stat -c %a "$V/$old/constant")" = 644
check "--atomic: no lock or build folder left" test ! -e "$V/next" -a ! -e "$V/.treesync-lock"

# Cut off mid-file: the current version stands, the next pull resumes.
head -c 20000000 /dev/urandom > "$SRC/big"
"$TS" pull --atomic --bwlimit 4M "127.0.0.1:$PORT" "$DIR" 2>/dev/null &
cut=$!
for _ in $(seq 1 50); do
  [ -n "$(find "$V/next" -name '.treesync-*.tmp' 2>/dev/null)" ] && break
  sleep 0.1
done
sleep 0.5
kill -9 $cut; wait $cut 2>/dev/null
check "--atomic cut off: DIR still leads to the version before" test "$(readlink "$DIR" | sed 's|.*/||')" = "$cur"
check "--atomic cut off: that version is untouched" test ! -e "$DIR/big"
check "--atomic cut off: the version being built stays" test -d "$V/next"
"$TS" pull --atomic --json "127.0.0.1:$PORT" "$DIR" > "$WORK/resumed.json"
check "--atomic: the next pull reuses what was built" \
  grep -q '"bytes_resumed":[1-9]' "$WORK/resumed.json"
check "--atomic: and switches to a mirror" same_tree "$SRC" "$DIR/."
check "--atomic --keep-previous 0: only the current version" \
  test "$(ls "$V" | grep -c '^v')" = 1
stop_server

# A plain folder (an earlier mirror) becomes version 1; a symlink treesync
# did not make is refused.
mkdir -p "$WORK/plain" && printf old > "$WORK/plain/f"
start_server "$SRC"
expect_exit "--atomic: a plain folder is taken as version 1" 0 \
  "$TS" pull --atomic --keep-previous 1 "127.0.0.1:$PORT" "$WORK/plain"
check "--atomic: the old folder is version 1" test "$(cat "$WORK/.plain.treesync/v1/f")" = old
check "--atomic: the mirror is version 2" same_tree "$SRC" "$WORK/plain/."
mkdir -p "$WORK/elsewhere"
ln -s elsewhere "$WORK/foreign"
expect_exit "--atomic into a symlink treesync did not make: exit 3" 3 \
  "$TS" pull --atomic "127.0.0.1:$PORT" "$WORK/foreign"
check "--atomic: it says why in one line" test "$(wc -l < "$WORK/last.err")" = 1
stop_server

# --watch --atomic: one switch a round, readers consistent throughout.
WSRC=$WORK/watch-atomic-src WDIR=$WORK/watch-atomic
stamp_tree "$WSRC" 0
start_server "$WSRC"
"$TS" pull --watch --atomic --keep-previous 100 --json "127.0.0.1:$PORT" "$WDIR" \
  > "$WORK/wa.json" 2>"$WORK/wa.err" &
watcher=$!
for _ in $(seq 1 50); do [ -L "$WDIR" ] && break; sleep 0.1; done
consistent_reader "$WDIR" "$WORK/wreader.log" &
reader=$!
for i in 1 2 3 4 5; do
  stamp_tree "$WSRC" "$i"
  for _ in $(seq 1 50); do [ "$(cat "$WDIR/a" 2>/dev/null)" = "$i" ] && break; sleep 0.1; done
done
check "--watch --atomic: the mirror follows" eventually 3 same_tree "$WSRC" "$WDIR/."
kill $reader; wait $reader 2>/dev/null
check "--watch --atomic: the reader never saw two versions" one_version_each "$WORK/wreader.log"
rounds=$(grep -c '"round":' "$WORK/wa.json")
latest=$(readlink "$WDIR" | sed 's|.*/v||')
check "--watch --atomic: one version a round ($rounds rounds, v$latest)" test "$rounds" = "$latest"
kill -INT $watcher; wait $watcher
check "--watch --atomic: SIGINT, exit 20" test $? = 20
stop_server

# serve --atomic: each push into it is switched in whole.
PS=$WORK/atomic-served
mkdir -p "$PS"
start_server "$PS" --writable --atomic --keep-previous 1
expect_exit "serve --atomic: a push" 0 "$TS" push "$SRC" "127.0.0.1:$PORT/copy"
check "serve --atomic: the target is a version symlink" test -L "$PS/copy"
stamp_tree "$SRC" 99
expect_exit "serve --atomic: a second push" 0 "$TS" push "$SRC" "127.0.0.1:$PORT/copy"
check "serve --atomic: the new version is a mirror" same_tree "$SRC" "$PS/copy/."
check "serve --atomic: two versions kept" test "$(ls "$PS/.copy.treesync" | grep -c '^v')" = 2
expect_exit "serve --atomic: its target can be pulled" 0 "$TS" pull "127.0.0.1:$PORT/copy" "$WORK/back"
check "serve --atomic: the pulled copy is the pushed tree" same_tree "$SRC" "$WORK/back"
stop_server

expect_exit "--keep-previous without --atomic: exit 1" 1 "$TS" pull --keep-previous 2 127.0.0.1:1 "$WORK/x"
expect_exit "push --atomic: exit 1 (serve --atomic takes pushes)" 1 "$TS" push --atomic "$SRC" 127.0.0.1:1
expect_exit "serve --atomic without --writable: exit 1" 1 "$TS" serve --atomic --port 0 "$PS"
