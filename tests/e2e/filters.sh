# directions: pull push
# Filters against rsync itself, the receiver's protection of excluded
# entries, a server's own excludes, --max-delete and the skip options.
# Sourced by tests/e2e.sh.

F=$WORK/ftree
rm -rf "$F"
mkdir -p "$F"/{build,a/b,deep/a/b/c/d,"sp ace dir",dir.with.dots,node_modules/x,foo,x/foo,x/build,.git/objects,CMakeFiles,b/b}
for f in file.o keep.txt notes.txt 'a*b' '[x]' 'q?' qq num1 Upper .hidden build/out.o build/keep.txt \
    a/b/c.txt a/b/d.o a/c.txt deep/a/b/c/d/e.txt deep/a/top.txt 'sp ace dir/f 1.txt' \
    dir.with.dots/in.txt node_modules/x/y node_modules/z.js foo/bar x/foo/bar x/build/out.o \
    .git/objects/ab .git/HEAD CMakeFiles/cache lib.a b/b/keep.txt b/only-here.txt; do
  printf '%s\n' "$f" > "$F/$f"
done
# Per-folder rule files, in rsync's dir-merge syntax.
printf -- '- *.o\n# a comment\n+ keep.txt\n- *.txt\n' > "$F/build/.tsignore"
printf -- '- /only-here.txt\n' > "$F/b/.tsignore"
printf -- '- node_modules/\n' > "$F/.tsignore"
printf -- '# patterns\n*.o\n\n; another comment\n/CMakeFiles\n' > "$WORK/exclude.list"
printf -- '*.txt\n*/\n' > "$WORK/include.list"

# Rule sets, one a line, as words for both tools; FILTER-FILE NAME stands
# for --filter-file NAME (rsync: --filter=': NAME').
RULE_SETS=$(cat <<'EOF'
--exclude '*.o'
--exclude 'build/'
--exclude '/build'
--exclude 'build'
--exclude '.git/'
--exclude '.*'
--exclude '**/c.txt'
--exclude 'a/b'
--exclude '/a/b'
--exclude 'deep/**/e.txt'
--exclude 'deep/***'
--include '*.txt' --exclude '*.o'
--include '*/' --include '*.txt' --exclude '*'
--exclude '[x]'
--exclude '\[x\]'
--exclude 'a\*b'
--exclude 'a*b'
--exclude 'q?'
--exclude '*[0-9]*'
--exclude '[!a-m]*'
--exclude 'sp ace dir/'
--exclude 'f 1.txt'
--exclude '*.with.*/'
--exclude 'node_modules/'
--exclude 'node_modules/x'
--exclude '**/x/y'
--exclude '*/x'
--exclude '/*/'
--include '/a/' --exclude '/*'
--include '/deep/***' --exclude '*'
--exclude 'foo/bar'
--exclude '/foo/bar'
--exclude '**/foo/bar'
--exclude 'b/'
--exclude '*.txt' --include 'keep.txt'
--include 'keep.txt' --exclude '*.txt'
--exclude '+ *.txt' --exclude '*'
--exclude-from EXCLUDE_LIST
--include-from INCLUDE_LIST --exclude '*'
FILTER-FILE .tsignore
FILTER-FILE .tsignore --exclude '*.txt'
--exclude 'CMakeFiles/' --exclude '*.a'
--exclude '**'
--exclude '*/'
--exclude 'dir.with.dots/***'
--exclude 'a/**/c.txt'
--exclude 'deep/a/**'
--exclude '[[:upper:]]*'
--exclude 'x' --include 'x/foo/***'
--exclude '/x/build/'
EOF
)

# A tree's entries (type and path) and, with diff -r, their bytes.
entries_of() { (cd "$1" && find . -mindepth 1 -printf '%y %P\n' | sort); }

if command -v rsync >/dev/null; then
  serve_mirror "$F"
  n=0 agree=0
  while IFS= read -r set; do
    [ -n "$set" ] || continue
    n=$((n + 1))
    set=${set//EXCLUDE_LIST/\'$WORK/exclude.list\'}
    set=${set//INCLUDE_LIST/\'$WORK/include.list\'}
    eval "words=($set)"
    ts_words=() rs_words=()
    for ((i = 0; i < ${#words[@]}; i++)); do
      if [ "${words[$i]}" = FILTER-FILE ]; then
        i=$((i + 1)); ts_words+=(--filter-file "${words[$i]}"); rs_words+=("--filter=: ${words[$i]}")
      else
        ts_words+=("${words[$i]}"); rs_words+=("${words[$i]}")
      fi
    done
    rm -rf "$WORK/rs" "$WORK/ts"
    rsync -a "${rs_words[@]}" "$F/" "$WORK/rs/" 2>"$WORK/rsync.err" || { fail "rsync ran: $set"; continue; }
    mirror -q "${ts_words[@]}" "$WORK/ts" 2>"$WORK/last.err" || {
      fail "treesync $set: exit $? ($(head -1 "$WORK/last.err"))"; continue; }
    if cmp -s <(entries_of "$WORK/rs") <(entries_of "$WORK/ts") && diff -r "$WORK/rs" "$WORK/ts" >/dev/null; then
      agree=$((agree + 1))
    else
      fail "the same tree as rsync -a $set"
      diff <(entries_of "$WORK/rs") <(entries_of "$WORK/ts") | head -6 >&2
    fi
  done <<<"$RULE_SETS"
  check "$agree of $n rule sets give rsync's tree (at least 40 sets)" test "$agree" -eq "$n" -a "$n" -ge 40
  stop_server
else
  echo "SKIP rsync comparison: rsync not installed (apt-get install rsync)"
fi

# The receiver keeps what it excludes, unless --delete-excluded.
S=$WORK/fsrc
rm -rf "$S" "$WORK/fdst"
mkdir -p "$S/sub"
printf a > "$S/a.txt"; printf b > "$S/sub/b.txt"; printf o > "$S/sub/x.o"
serve_mirror "$S"
mirror -q "$WORK/fdst" >/dev/null
printf local > "$WORK/fdst/local.o"
printf gone > "$WORK/fdst/extra.txt"
expect_exit "a pull with --exclude '*.o': exit 0" 0 mirror -q --exclude '*.o' "$WORK/fdst"
check "an excluded local file is not deleted" test -f "$WORK/fdst/local.o"
check "an excluded file the sender has is kept as it was" test -f "$WORK/fdst/sub/x.o"
check "an extraneous file not excluded is deleted" test ! -e "$WORK/fdst/extra.txt"
expect_exit "--delete-excluded --dry-run: exit 0" 0 \
  mirror -n --delete-excluded --exclude '*.o' "$WORK/fdst"
check "the dry run lists the excluded file it would delete" grep -q 'local.o' "$WORK/last.out"
check "the dry run deletes nothing" test -f "$WORK/fdst/local.o"
expect_exit "--delete-excluded: exit 0" 0 mirror -q --delete-excluded --exclude '*.o' "$WORK/fdst"
check "--delete-excluded deletes excluded local files" test ! -e "$WORK/fdst/local.o" -a ! -e "$WORK/fdst/sub/x.o"
check "and keeps the rest" test -f "$WORK/fdst/sub/b.txt"
expect_exit "--delete-excluded with --no-delete: exit 1" 1 \
  "$TS" pull --delete-excluded --no-delete "127.0.0.1:1" "$WORK/none"

# --max-delete: all or nothing, the rest transferred, exit 25.
mkdir -p "$WORK/fdst/many"
for i in 1 2 3 4; do printf x > "$WORK/fdst/many/$i"; done
printf changed > "$S/a.txt"; touch -d '2001-01-01' "$S/a.txt"
expect_exit "more deletions than --max-delete: exit 25" 25 mirror -q --max-delete 4 "$WORK/fdst"
check "it says how many it would have deleted" grep -q 'would delete 5 entries, more than --max-delete 4' "$WORK/last.err"
check "none were deleted" test -f "$WORK/fdst/many/4"
check "the rest was transferred" test "$(cat "$WORK/fdst/a.txt")" = changed
expect_exit "as many deletions as --max-delete: exit 0" 0 mirror -q --max-delete 5 "$WORK/fdst"
check "then they are deleted" test ! -e "$WORK/fdst/many"

# --size-only, --ignore-existing, --update.
printf 'same size' > "$S/s.txt"; printf 'SAME SIZE' > "$WORK/fdst/s.txt"
touch -d '2002-01-01' "$S/s.txt"
expect_exit "--size-only: exit 0" 0 mirror -q --size-only "$WORK/fdst"
check "--size-only leaves a same-size file's bytes" test "$(cat "$WORK/fdst/s.txt")" = 'SAME SIZE'
check "--size-only still sets the file's time" test "$(stat -c %Y "$WORK/fdst/s.txt")" = "$(stat -c %Y "$S/s.txt")"
expect_exit "a pull with --checksum: exit 0" 0 mirror -q --checksum "$WORK/fdst"
check "compared by content, the file is replaced" test "$(cat "$WORK/fdst/s.txt")" = 'same size'
printf 'old' > "$S/e.txt"; touch -d '2003-01-01' "$S/e.txt"; printf 'mine, longer' > "$WORK/fdst/e.txt"
expect_exit "--ignore-existing: exit 0" 0 mirror -q --ignore-existing "$WORK/fdst"
check "--ignore-existing leaves an existing file" test "$(cat "$WORK/fdst/e.txt")" = 'mine, longer'
touch -d '2030-01-01' "$WORK/fdst/e.txt"
expect_exit "--update: exit 0" 0 mirror -q --update "$WORK/fdst"
check "--update keeps a newer receiver file" test "$(cat "$WORK/fdst/e.txt")" = 'mine, longer'
touch -d '2000-01-01' "$WORK/fdst/e.txt"
expect_exit "--update with an older receiver file: exit 0" 0 mirror -q --update "$WORK/fdst"
check "--update replaces an older receiver file" test "$(cat "$WORK/fdst/e.txt")" = old
stop_server

# A server's own excludes: never offered, never reachable by sub-folder.
if pull_only; then
  mkdir -p "$S/secret/inner"
  printf s > "$S/secret/inner/key"
  printf -- '- private\n' > "$S/sub/.srvignore"
  printf p > "$S/sub/private"
  start_server "$S" --exclude secret/ --filter-file .srvignore
  expect_exit "a pull from a server with excludes: exit 0" 0 "$TS" pull -q "127.0.0.1:$PORT" "$WORK/srvdst"
  check "the server's excluded folder is not offered" test ! -e "$WORK/srvdst/secret"
  check "the server's per-folder rule file is obeyed" test ! -e "$WORK/srvdst/sub/private" -a -f "$WORK/srvdst/sub/b.txt"
  expect_exit "asking for an excluded sub-folder: exit 3" 3 \
    "$TS" pull -q "127.0.0.1:$PORT/secret/inner" "$WORK/srvsub"
  check "the refusal names the server's filters" grep -q "excluded by the server" "$WORK/last.err"
  check "nothing of it arrived" test ! -e "$WORK/srvsub/key"
  expect_exit "a client --include cannot undo a server exclude: exit 0" 0 \
    "$TS" pull -q --include 'secret/***' "127.0.0.1:$PORT" "$WORK/srvdst2"
  check "the excluded folder still did not arrive" test ! -e "$WORK/srvdst2/secret"
  stop_server
  start_server "$S" --writable --exclude '*.keep'
  mkdir -p "$WORK/pushsrc"; printf n > "$WORK/pushsrc/new.txt"; printf k > "$WORK/pushsrc/x.keep"
  printf server > "$S/mine.keep"
  expect_exit "a push into a server with excludes: exit 0" 0 \
    "$TS" push -q "$WORK/pushsrc" "127.0.0.1:$PORT"
  check "the server keeps the entry its filters exclude" test "$(cat "$S/mine.keep")" = server
  check "and takes none the pusher sends under such a name" test ! -e "$S/x.keep"
  stop_server
fi
