# What a Windows peer must get right, checked with bytes, folders and times
# (Windows keeps no exec bits; symlinks need a privilege). Used by
# scripts/cross-test.sh with a Windows binary under Wine on one side, named
# by FOREIGN_OS=windows and FOREIGN_SIDE (server or client); run natively,
# both sides are POSIX. Runs as pull and as push: the Windows side then
# receives when it serves.
# directions: pull push
WINDOWS_CLIENT=0 WINDOWS_SERVER=0
[ "${FOREIGN_OS:-}/${FOREIGN_SIDE:-}" = windows/client ] && WINDOWS_CLIENT=1
[ "${FOREIGN_OS:-}/${FOREIGN_SIDE:-}" = windows/server ] && WINDOWS_SERVER=1
if [ "$DIRECTION" = push ]; then
  WINDOWS_RECEIVER=$WINDOWS_SERVER WINDOWS_SENDER=$WINDOWS_CLIENT
else
  WINDOWS_RECEIVER=$WINDOWS_CLIENT WINDOWS_SENDER=$WINDOWS_SERVER
fi

SRC=$WORK/src
mkdir -p "$SRC/empty-folder" "$SRC/a/b/c" "$SRC/ünïcødé ✓"
printf 'before CMB_END after' > "$SRC/marker-end.txt"
printf 'End' > "$SRC/just-End"
: > "$SRC/empty-file"
for n in 4095 4096 4097; do head -c $n /dev/zero | tr '\0' x > "$SRC/a/size-$n"; done
head -c 5242880 /dev/urandom > "$SRC/a/b/c/random.bin"
printf 'snowman' > "$SRC/ünïcødé ✓/☃.txt"
# Past Windows' 260-character MAX_PATH: the \\?\ prefix must carry it.
LONG=$SRC/long
for i in 1 2 3 4 5 6 7; do LONG=$LONG/folder-$i-with-a-rather-long-name-to-pass-max-path; done
mkdir -p "$LONG"
printf deep > "$LONG/deep-file.txt"
touch -d '2001-02-03 04:05:06' "$SRC/marker-end.txt"

# Entry names, types and times to the second: what survives any OS.
portable_listing() {
  (cd "$1" && find . -mindepth 1 -printf '%y %P %s %T@\n' | sed 's/^d \(.*\) [0-9]* \([0-9]*\)\.[0-9]*$/d \1 \2/; s/^f \(.*\)\.[0-9]*$/f \1/' | sort)
}
same_portable_tree() {
  diff <(portable_listing "$1") <(portable_listing "$2") >&2 && diff -r "$1" "$2" >/dev/null
}

start_server "$SRC"
expect_exit "pull exits 0" 0 mirror "$WORK/copy"
check "bytes, empty files and folders, non-ASCII names and times arrive" same_portable_tree "$SRC" "$WORK/copy"
expect_exit "no-op re-pull exits 0" 0 mirror --json "$WORK/copy"
check "no-op re-pull transfers nothing" grep -q '"files_transferred":0,' "$WORK/last.out"
for i in 1 2 3 4; do mirror "$WORK/conc$i" >/dev/null 2>&1 & done
conc_ok=0
for job in $(jobs -p); do [ "$job" = "$SERVER_PID" ] || wait "$job" || conc_ok=1; done
check "four concurrent clients all exit 0" test $conc_ok = 0
check "four concurrent clients all get a mirror" \
  bash -c "for i in 1 2 3 4; do diff <(cd '$SRC' && find . | sort) <(cd '$WORK/conc'\$i && find . | sort) >/dev/null || exit 1; done"
check "concurrent copies are byte-exact" diff -r "$SRC" "$WORK/conc4"
printf 'changed' > "$SRC/a/size-4096"
rm "$SRC/just-End"
expect_exit "re-pull after changes exits 0" 0 mirror "$WORK/copy"
check "re-pull after changes mirrors" same_portable_tree "$SRC" "$WORK/copy"
stop_server

# A client killed mid-transfer leaves no partial file under a final name;
# the next pull completes the mirror and removes the temporaries.
killed_client_case 100 0.3 same_portable_tree

# IPv6 loopback, when the host has it.
ipv6_case "$SRC" same_portable_tree

# Names Windows can't hold, and names that would escape the target there
# (a drive, a UNC path, an alternate data stream, a backslashed ..):
# refused per file (exit 23) by a Windows client; the rest arrives, and
# nothing lands outside the target.
HARD=$WORK/hard
mkdir -p "$HARD"
printf ok > "$HARD/fine.txt"
for name in 'a:b' 'C:' 'CON' 'con.txt' 'trailing.' 'trailing ' 'star*' '..\\escaped' '\\\\server\\share'; do
  printf x > "$HARD/$name"
done
start_server "$HARD"
mirror "$WORK/hard-copy" >"$WORK/last.out" 2>"$WORK/last.err"
code=$?
if [ "$WINDOWS_RECEIVER" = 1 ]; then
  check "Windows receiver: such names refused per file (exit 23)" test "$code" = 23
  check "Windows receiver: each refusal names its file" \
    grep -q "CON.*reserved device name" "$WORK/last.err"
  check "Windows receiver: the other files arrive" test -f "$WORK/hard-copy/fine.txt"
  check "Windows receiver: only the fine file arrives" \
    test "$(ls -A "$WORK/hard-copy")" = fine.txt
  check "Windows receiver: nothing written outside the target" \
    test ! -e "$WORK/escaped" -a ! -e "$WORK/b" -a ! -e "$WORK/hard-copy/a"
else
  # A Windows sender under Wine can't open such names: they fail per entry
  # on its side, and the copy still brings the rest.
  check "POSIX receiver: the pull brings the rest (exit $code)" \
    test "$code" = 0 -o "$code" = 23 -a -f "$WORK/hard-copy/fine.txt"
fi
stop_server

# Names that differ only in case: a Windows client keeps the first and
# refuses the other, naming both; a POSIX client keeps both.
CASES=$WORK/cases
mkdir -p "$CASES"
printf upper > "$CASES/README"
printf lower > "$CASES/readme"
start_server "$CASES"
mirror "$WORK/cases-copy" >"$WORK/last.out" 2>"$WORK/last.err"
code=$?
if [ "$WINDOWS_RECEIVER" = 1 ]; then
  check "Windows receiver: a name differing only in case is refused (exit 23)" test "$code" = 23
  check "Windows receiver: the refusal names both" \
    grep -q "readme: differs only in case from README" "$WORK/last.err"
  check "Windows receiver: the first one arrives intact" test "$(cat "$WORK/cases-copy/README")" = upper
else
  check "POSIX receiver: names differing only in case both arrive" \
    test "$code" = 0 -a "$(cat "$WORK/cases-copy/README" "$WORK/cases-copy/readme")" = upperlower
fi
stop_server

# Symlinks: made where the host allows, otherwise skipped with a warning
# naming each link; never a failed pull.
LINKS=$WORK/links
mkdir -p "$LINKS/d"
printf hi > "$LINKS/d/f"
ln -s d/f "$LINKS/filelink"
ln -s d "$LINKS/dirlink"
ln -s nowhere "$LINKS/dangling"
links_made_or_skipped() {
  local n target
  for n in filelink:d/f dirlink:d dangling:nowhere; do
    target=${n#*:}; n=${n%%:*}
    if [ -L "$WORK/links-copy/$n" ]; then
      [ "$(readlink "$WORK/links-copy/$n")" = "$target" ] || return 1
    else
      grep -q "symlink skipped: .*$n" "$WORK/last.err" || return 1
    fi
  done
}
if [ "$WINDOWS_SENDER" = 0 ]; then  # Wine hides links
  start_server "$LINKS"
  expect_exit "symlinks: the pull completes (exit 0)" 0 mirror "$WORK/links-copy"
  check "symlinks: each made with its target, or skipped with a warning" links_made_or_skipped
  check "symlinks: the file beside them arrives" test "$(cat "$WORK/links-copy/d/f")" = hi
  stop_server
fi

# Hard links: two names of one file, in two folders, arrive as names of
# one file (NTFS links them as POSIX does; Wine maps them onto the host's).
HL=$WORK/hl
mkdir -p "$HL/a" "$HL/b"
head -c 100000 /dev/urandom > "$HL/a/first"
ln "$HL/a/first" "$HL/b/second"
# An attribute, which a Windows receiver can't keep: one warning says so.
attr=0
command -v setfattr >/dev/null && setfattr -n user.kept -v yes "$HL/a/first" 2>/dev/null && attr=1
start_server "$HL"
expect_exit "hard links: exit 0" 0 mirror "$WORK/hl-copy"
if [ "$attr" = 1 ] && [ "$WINDOWS_RECEIVER" = 1 ]; then
  check "attributes: a Windows receiver says once that it keeps none" \
    test "$(grep -c 'extended attributes not kept: this system has none (a/first' "$WORK/last.err")" = 1
elif [ "$attr" = 1 ] && [ "$WINDOWS_SENDER" = 0 ]; then  # a Windows sender lists none
  check "attributes: kept" test "$(getfattr --only-values -n user.kept "$WORK/hl-copy/a/first" 2>/dev/null)" = yes
fi
check "hard links: both names hold the file" \
  cmp -s "$HL/a/first" "$WORK/hl-copy/b/second"
check "hard links: and are names of one file" test "$WORK/hl-copy/a/first" -ef "$WORK/hl-copy/b/second"
stop_server

# --via: the session over a child's pipes, the Windows binary at one end
# (serving on its stdin/stdout, or spawning the child), both ways.
if pull_only; then
  via_server="$TS serve --stdio"
  # A Windows client can't start the shell script $TS is under cross-test:
  # it starts the Windows binary itself.
  [ "$WINDOWS_CLIENT" = 1 ] && via_server="${FOREIGN_EXE:?} serve --stdio"
  expect_exit "push --via serve --stdio: exit 0" 0 \
    "$TS" push --via "$via_server --writable $WORK/via" "$SRC"
  check "push --via mirrors" same_portable_tree "$SRC" "$WORK/via"
  expect_exit "pull --via serve --stdio: exit 0" 0 \
    "$TS" pull --via "$via_server $WORK/via" "$WORK/via-back"
  check "pull --via mirrors" same_portable_tree "$SRC" "$WORK/via-back"
  expect_exit "--via a read-only serve --stdio refuses a push: exit 5" 5 \
    "$TS" push --via "$via_server $WORK/via" "$SRC"
  expect_exit "--via a program that does not exist: exit 10" 10 \
    "$TS" pull --via "no-such-program-here" "$WORK/via-none"
fi

# Encrypted sessions with the Windows binary at one end (docs/PROTOCOL.md,
# "Encryption"): keys it made under Wine, a keyed server on one OS pulled
# from and pushed to by a keyed client on the other. Once, not per
# direction: each case says which way it copies.
if pull_only; then
  # The Windows binary itself, whichever side it is in this run, so that
  # the keys are its keygen's (natively: the POSIX binary).
  WIN_TS=("$TS")
  [ "${FOREIGN_OS:-}" = windows ] && WIN_TS=("${WINE:-wine}" "${FOREIGN_EXE:?}")
  K=$WORK/keys
  mkdir -p "$K"
  expect_exit "keygen (the Windows binary): exit 0" 0 "${WIN_TS[@]}" keygen -C server "$K/server.key"
  check "  ... prints the fingerprint" grep -q '^BLAKE2s:' "$WORK/last.out"
  check "  ... writes the private key, one line" \
    grep -qE '^treesync-x25519-private [A-Za-z0-9+/]{43}=$' "$K/server.key"
  check "  ... and the public key, one treesync-x25519 line" \
    grep -qE '^treesync-x25519 [A-Za-z0-9+/]{43}= server$' "$K/server.key.pub"
  # Windows keeps no permission bits (platform::KeepsPermissionBits): a key
  # written under Wine has the host's default mode, and no 0600 to check.
  if [ "${FOREIGN_OS:-}" != windows ]; then
    check "  ... private key is 0600" test "$(stat -c %a "$K/server.key")" = 600
  fi
  "${WIN_TS[@]}" keygen -C client "$K/client.key" >/dev/null 2>&1
  "${WIN_TS[@]}" keygen -C reader "$K/reader.key" >/dev/null 2>&1
  check "keygen: the client's key files exist" \
    test -s "$K/client.key" -a -s "$K/client.key.pub" -a -s "$K/reader.key.pub"
  # A POSIX side refuses a key others may read; as for a key copied from a
  # Windows host, the user makes it private.
  chmod 600 "$K/server.key" "$K/client.key" "$K/reader.key"
  {
    echo "writable $(cat "$K/client.key.pub")"
    cat "$K/reader.key.pub"
  } > "$K/authorized"
  PIN=$(cat "$K/server.key.pub")

  start_server "$SRC" --key "$K/server.key" --authorized-keys "$K/authorized"
  expect_exit "encrypted pull (--key, --server-key): exit 0" 0 \
    "$TS" pull --key "$K/client.key" --server-key "$PIN" "127.0.0.1:$PORT" "$WORK/enc-copy"
  check "  ... the copy is exact" same_portable_tree "$SRC" "$WORK/enc-copy"
  expect_exit "encrypted pull with a read-only key: exit 0" 0 \
    "$TS" pull --key "$K/reader.key" --server-key "$PIN" "127.0.0.1:$PORT" "$WORK/enc-reader"
  check "  ... the copy is exact" same_portable_tree "$SRC" "$WORK/enc-reader"
  expect_exit "encrypted pull pinning another server key: exit 5" 5 \
    "$TS" pull --key "$K/client.key" --server-key "$(cat "$K/reader.key.pub")" \
    "127.0.0.1:$PORT" "$WORK/enc-wrong"
  check "  ... nothing installed" test ! -e "$WORK/enc-wrong/a"
  stop_server

  mkdir -p "$WORK/enc-target"
  start_server "$WORK/enc-target" --key "$K/server.key" --authorized-keys "$K/authorized"
  expect_exit "encrypted push with a writable key: exit 0" 0 \
    "$TS" push --key "$K/client.key" --server-key "$PIN" "$SRC" "127.0.0.1:$PORT/pushed"
  check "  ... the copy is exact" same_portable_tree "$SRC" "$WORK/enc-target/pushed"
  expect_exit "encrypted push with a read-only key: exit 5" 5 \
    "$TS" push --key "$K/reader.key" --server-key "$PIN" "$SRC" "127.0.0.1:$PORT/refused"
  check "  ... nothing written" test ! -e "$WORK/enc-target/refused"
  stop_server
fi

# --watch across the two: when the Windows side sends, its changes come
# from ReadDirectoryChangesW (when it receives, each round is installed as
# Windows installs files).
WSRC=$WORK/watch-src
mkdir -p "$WSRC/d" && printf a > "$WSRC/a" && printf x > "$WSRC/d/x"
WDEST=$WORK/watch-copy
if [ "$DIRECTION" = push ]; then
  mkdir -p "$WORK/watch-served"
  start_server "$WORK/watch-served" --writable
  WDEST=$WORK/watch-served/copy
  "$TS" push --watch "$WSRC" "127.0.0.1:$PORT/copy" >/dev/null 2>"$WORK/watch.err" &
else
  start_server "$WSRC"
  "$TS" pull --watch "127.0.0.1:$PORT" "$WDEST" >/dev/null 2>"$WORK/watch.err" &
fi
wclient=$!
# until_portable SECONDS: waits for WDEST to mirror WSRC.
until_portable() { eventually "$1" same_portable_tree "$WSRC" "$WDEST"; }
check "--watch: the first round" until_portable 30
printf 'a, changed' > "$WSRC/a"
printf b > "$WSRC/b"
check "--watch: created and modified files arrive" until_portable 15
rm "$WSRC/d/x" && mkdir -p "$WSRC/e/f" && printf g > "$WSRC/e/f/g" && mv "$WSRC/b" "$WSRC/e/b"
check "--watch: deletions, new folders and renames arrive" until_portable 15
kill "$wclient" 2>/dev/null; wait "$wclient" 2>/dev/null
stop_server
