# Push-only behaviour: who may push, one writer per folder, sub-folders,
# --via and serve --stdio, and what a push prints. Every other case of
# pull runs as a push too (the files marked "directions: pull push").
# Sourced by tests/e2e.sh.

SRC=$WORK/src
bash "$HERE/../scripts/make-sample-tree.sh" "$SRC"

# A read-only server refuses a push before any data moves.
RO=$WORK/read-only
mkdir -p "$RO" && printf keep > "$RO/keep"
start_server "$RO"
expect_exit "push to a server without --writable: exit 5" 5 "$TS" push "$SRC" "127.0.0.1:$PORT"
check "the refusal says why" grep -q 'does not accept pushes' "$WORK/last.err"
check "the refusal is one line" test "$(wc -l < "$WORK/last.err")" -eq 1
check "a refused push changes nothing" test "$(ls -A "$RO")" = keep
stop_server

# --writable on TCP: loopback only, unless --insecure.
expect_exit "serve --writable on every interface: exit 1" 1 "$TS" serve --writable --port 0 "$RO"
check "it says why and what to do" grep -q 'without keys: anyone who reaches the port.*--insecure' "$WORK/last.err"
expect_exit "serve --writable --bind 0.0.0.0: exit 1" 1 \
  "$TS" serve --writable --bind 0.0.0.0 --port 0 "$RO"
mkdir -p "$WORK/insecure"
"$TS" serve --writable --insecure --bind 0.0.0.0 --port 0 --once "$WORK/insecure" \
  2>"$WORK/insecure.log" &
ins=$!
ins_port=$(port_from_log "$WORK/insecure.log")
check "serve --writable --insecure starts on every interface" test -n "$ins_port"
if [ -n "$ins_port" ]; then
  expect_exit "serve --writable --insecure listens beyond loopback and takes a push" 0 \
    "$TS" push "$SRC" "127.0.0.1:$ins_port"
  check "the insecure server's copy is a mirror" same_tree "$SRC" "$WORK/insecure"
fi
exits_within $ins 10

# Sub-folders: created as needed, never reached through a symlink, no '..'.
W=$WORK/served
mkdir -p "$W" "$WORK/outside"
printf secret > "$WORK/outside/sentinel"
ln -s "$WORK/outside" "$W/escape"
start_server "$W" --writable
expect_exit "push into a new sub-folder: exit 0" 0 "$TS" push "$SRC" "127.0.0.1:$PORT/a/b"
check "the sub-folder is a mirror" same_tree "$SRC" "$W/a/b"
check "the served folder's other entries stay" test -L "$W/escape"
expect_exit "push through a symlinked sub-folder: exit 3" 3 \
  "$TS" push "$SRC" "127.0.0.1:$PORT/escape"
expect_exit "push below a symlinked sub-folder: exit 3" 3 \
  "$TS" push "$SRC" "127.0.0.1:$PORT/escape/deeper"
check "nothing written through the symlink" test "$(ls -A "$WORK/outside")" = sentinel
expect_exit "a sub-folder with '..': usage error, exit 1" 1 \
  "$TS" push "$SRC" "127.0.0.1:$PORT/a/../../x"
expect_exit "treesync:// URL with a sub-folder: exit 0" 0 \
  "$TS" push "$SRC" "treesync://127.0.0.1:$PORT/url/sub"
check "the URL's sub-folder is a mirror" same_tree "$SRC" "$W/url/sub"
expect_exit "pull of a sub-folder: exit 0" 0 "$TS" pull "127.0.0.1:$PORT/a/b" "$WORK/back"
check "pulled sub-folder is the pushed tree" same_tree "$SRC" "$WORK/back"
expect_exit "pull of a missing sub-folder: exit 3" 3 "$TS" pull "127.0.0.1:$PORT/nope" "$WORK/nope"
expect_exit "push of a missing folder: exit 3" 3 "$TS" push "$WORK/missing" "127.0.0.1:$PORT/m"
printf x > "$W/a-file"
expect_exit "push into a path that is a file there: exit 3" 3 \
  "$TS" push "$SRC" "127.0.0.1:$PORT/a-file"

# The shorthand: exactly one side remote.
expect_exit "treesync SRC HOST:PORT/SUB pushes" 0 "$TS" "$SRC" "127.0.0.1:$PORT/short"
check "shorthand push mirrors" same_tree "$SRC" "$W/short"
expect_exit "treesync HOST:PORT/SUB DEST pulls" 0 "$TS" -q "127.0.0.1:$PORT/short" "$WORK/short-back"
check "shorthand pull mirrors" same_tree "$SRC" "$WORK/short-back"
expect_exit "treesync LOCAL LOCAL: usage error" 1 "$TS" "$SRC" "$WORK/elsewhere"
check "it says exactly one side must be remote" grep -q 'exactly one must be' "$WORK/last.err"

# Two writers never share a folder: the second is refused, the first
# completes; a pull meanwhile sees each file old or new.
# The first push goes through a throttling proxy, so it lasts a while.
mkdir -p "$WORK/bigsrc"
for i in 1 2 3 4 5 6; do head -c 1000000 /dev/urandom > "$WORK/bigsrc/f$i"; done
rm -f "$WORK/proxy.port"
"$TOOLS/fault_proxy" --to "127.0.0.1:$PORT" --port-file "$WORK/proxy.port" --throttle 2500000 &
proxy=$!
for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
"$TS" push "$WORK/bigsrc" "127.0.0.1:$(cat "$WORK/proxy.port")/busy" >"$WORK/first.out" 2>&1 &
first=$!
for _ in $(seq 1 200); do [ -e "$W/busy/.treesync-lock" ] && break; sleep 0.02; done
expect_exit "a second push into a folder being pushed: exit 5" 5 \
  "$TS" push "$SRC" "127.0.0.1:$PORT/busy"
check "it says another session is writing there" grep -q 'another treesync session is writing' "$WORK/last.err"
expect_exit "a pull into the folder being pushed (same host): exit 5" 5 \
  "$TS" pull "127.0.0.1:$PORT/short" "$W/busy"
"$TS" pull "127.0.0.1:$PORT/busy" "$WORK/during" >/dev/null 2>&1
check "a pull during a push gets every file whole or not at all" \
  bash -c "cd '$WORK/during' && for f in f*; do [ -e \"\$f\" ] || continue; cmp -s \"\$f\" '$WORK/bigsrc'/\"\$f\" || exit 1; done"
wait $first
check "the first push completes" test $? -eq 0
kill $proxy 2>/dev/null; wait $proxy 2>/dev/null
check "the first push's copy is exact" same_tree "$WORK/bigsrc" "$W/busy"
check "the lock is gone once the push ends" test ! -e "$W/busy/.treesync-lock"
rm -rf "$WORK/bigsrc" "$W/busy" "$WORK/during"

# A partial push reports per entry, exits 23, and the rest arrives.
mkdir -p "$WORK/partial-src/ok" && printf ok > "$WORK/partial-src/ok/f"
mkdir -p "$WORK/partial-src/locked" && printf no > "$WORK/partial-src/locked/f"
chmod 000 "$WORK/partial-src/locked"
if [ ! -r "$WORK/partial-src/locked/f" ]; then
  expect_exit "push with an unreadable local folder: exit 23" 23 \
    "$TS" push --json "$WORK/partial-src" "127.0.0.1:$PORT/partial"
  check "the rest of a partial push arrives" test "$(cat "$W/partial/ok/f")" = ok
  check "the partial push's summary counts the error" grep -q '"result":"server: .*"errors":1}' "$WORK/last.out"
else
  echo "SKIP unreadable folder (running as root)"
fi
chmod 755 "$WORK/partial-src/locked"

# A full disk on the server: the push fails with exit 11, nothing partial
# under a final name.
head -c 3000000 /dev/urandom > "$WORK/full-src-big" && mkdir -p "$WORK/full-src" &&
  mv "$WORK/full-src-big" "$WORK/full-src/big"
stop_server
if [ "${FOREIGN_OS:-}/${FOREIGN_SIDE:-}" != windows/server ]; then
  bash -c "ulimit -f 1024; exec '$TS' serve --writable --bind 127.0.0.1 --port 0 --once '$W'" \
    2>"$WORK/full.log" &
  full=$!
  full_port=$(port_from_log "$WORK/full.log")
  expect_exit "push onto a full disk: exit 11" 11 "$TS" push "$WORK/full-src" "127.0.0.1:$full_port/full"
  check "no partial file under the final name after exit 11" test ! -e "$W/full/big"
  check "no temporary left after exit 11" no_temporaries "$W/full"
  exits_within $full 10
fi

# --via: any command whose stdin and stdout carry the session.
rm -rf "$WORK/via"
expect_exit "push --via 'treesync serve --stdio --writable DIR': exit 0" 0 \
  "$TS" push -i --via "$TS serve --stdio --writable $WORK/via" "$SRC"
check "--via push mirrors" same_tree "$SRC" "$WORK/via"
check "--via push itemizes each change" grep -qx '+f run.sh' "$WORK/last.out"
check "serve --stdio says nothing when all is well" test ! -s "$WORK/last.err"
expect_exit "pull --via 'treesync serve --stdio DIR': exit 0" 0 \
  "$TS" pull --via "$TS serve --stdio $WORK/via" "$WORK/via-back"
check "--via pull mirrors" same_tree "$SRC" "$WORK/via-back"
expect_exit "push --via to a read-only serve --stdio: exit 5" 5 \
  "$TS" push --via "$TS serve --stdio $WORK/via" "$SRC"
check "...with one line saying why" test "$(wc -l < "$WORK/last.err")" -eq 1
expect_exit "--via a program that does not exist: exit 10" 10 \
  "$TS" push --via "/nonexistent/program arg" "$SRC"
check "...naming it" grep -q '/nonexistent/program' "$WORK/last.err"
expect_exit "--via a command that exits at once: exit 10" 10 \
  "$TS" pull --via "sh -c 'echo gone >&2; exit 7'" "$WORK/via-gone"
check "...with its status and its stderr" \
  bash -c "grep -q 'exited with status 7' '$WORK/last.err' && grep -q gone '$WORK/last.err'"
expect_exit "--via with a local DIR and a remote: usage error" 1 \
  "$TS" pull --via "$TS serve --stdio $WORK/via" "127.0.0.1:1" "$WORK/x"

# Progress of a push is the server's receiver's, relayed.
if command -v script >/dev/null; then
  script -qfec "'$TS' push --via '$TS serve --stdio --writable $WORK/progress' '$SRC'" /dev/null \
    > "$WORK/pty.out" 2>&1
  check "a push shows progress under a pseudo-terminal" grep -q 'files 23/23' "$WORK/pty.out"
fi
check "no serve --stdio left running" test -z "$(pgrep -f "serve --stdio.*$WORK" || true)"
