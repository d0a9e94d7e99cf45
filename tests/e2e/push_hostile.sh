# A writable server against a hand-written hostile pushing client
# (tests/tools/hostile_pusher.cc, written from docs/PROTOCOL.md alone): every
# scenario is refused with the documented Error, or contained; nothing is
# created, written, followed or deleted outside the served folder, no
# temporary or lock is left behind, and the server goes on serving. Every
# case runs twice: in clear text, then over an encrypted session (the
# pusher's handshake is the library's own; its hostile bytes go sealed), with
# the same expectations and " [encrypted]" after each check's name.
# Sourced by tests/e2e.sh.
#
# Each case gets $S = $WORK/CASE holding served/ (the writable folder, with
# some content), outside/ (a folder beside it, with a sentinel file: the
# target of every symlink and absolute path the pusher aims) and
# outside.orig/ (a copy, to prove outside/ unchanged).
# compress: skip: its pushing clients are test tools, which the -z wrapper does not reach

if [ ! -x "$TOOLS/hostile_pusher" ]; then
  echo "SKIP hostile pusher cases (no $TOOLS/hostile_pusher)"
  return 0
fi
HP=$TOOLS/hostile_pusher

# The keys of the encrypted round: the pusher's key may push, or (for a
# server that takes no pushes, the clear round's server without
# --writable) only pull.
PH_KEYS=$WORK/keys
mkdir -p "$PH_KEYS"
"$TS" keygen -C server "$PH_KEYS/server.key" >/dev/null
"$TS" keygen -C pusher "$PH_KEYS/pusher.key" >/dev/null
echo "writable $(cat "$PH_KEYS/pusher.key.pub")" > "$PH_KEYS/writable"
echo "read-only $(cat "$PH_KEYS/pusher.key.pub")" > "$PH_KEYS/read-only"

# Each round (ph_in, at the end) sets ENC, the suffix of its checks' names,
# and CLIENT_SECURITY, the options that make the pusher and the real client
# speak encrypted (none in clear text).
ph_check() { check "$1$ENC" "${@:2}"; }
ph_expect_exit() { expect_exit "$1$ENC" "${@:2}"; }
hp() { "$HP" "${CLIENT_SECURITY[@]}" "$@"; }

# ph_serve DIR [OPTIONS...]: start_server, with keys in the encrypted
# round. There what a session may do comes from its key's authorized line,
# not from --writable: the pusher's key is writable on a server started
# with --writable, read-only on one without.
ph_serve() {
  local auth=read-only
  [[ " $* " == *" --writable "* ]] && auth=writable
  if [ -n "$ENC" ]; then
    start_server "$@" --key "$PH_KEYS/server.key" --authorized-keys "$PH_KEYS/$auth"
  else
    start_server "$@"
  fi
}

# ph_setup CASE: fresh folders for one case; sets S.
ph_setup() {
  S=$WORK/$1
  rm -rf "$S"
  mkdir -p "$S/served/keepdir" "$S/outside/inner"
  printf 'existing\n' > "$S/served/existing"
  printf 'kept\n' > "$S/served/keepdir/kept"
  printf 'sentinel\n' > "$S/outside/sentinel"
  printf 'inner\n' > "$S/outside/inner/file"
  touch -d '2001-02-03 04:05:06' "$S/outside/sentinel" "$S/outside/inner/file" \
    "$S/outside/inner" "$S/outside"
}

# ph_freeze: remembers outside/ (and served/, for the cases that compare it)
# once the case's traps are laid.
ph_freeze() {
  rm -rf "$S/outside.orig" "$WORK/served.orig"
  cp -a "$S/outside" "$S/outside.orig"
  cp -a "$S/served" "$WORK/served.orig"
}

# ph_push CASE WANT SCENARIO [PUSHER OPTIONS...]: runs the pusher against
# $PORT; WANT is an extended regex for the start of its answer line, e.g.
# "error 12" or "summary (0|23)".
ph_push() {
  local name=$1 want=$2 scenario=$3
  shift 3
  ph_expect_exit "$name: the pusher plays to its end" 0 \
    hp --port "$PORT" --scenario "$scenario" --outside "$S/outside" "$@"
  ph_check "$name: answered $want (got: $(head -1 "$WORK/last.out" | cut -c1-140))" \
    grep -Eq "^($want)( |\$)" "$WORK/last.out"
}

# No temporary or lock file anywhere in DIR.
ph_clean() {
  local left
  left=$(find "$1" \( -iname '.treesync-*.tmp' -o -iname '.treesync-lock' \) -print 2>/dev/null)
  [ -z "$left" ] || { echo "    left behind: $left" | head -3; return 1; }
}

# Nothing new beside the served folder, nothing escaped into $WORK or /tmp.
ph_contained() {
  local top
  top=$(cd "$S" && ls -A | tr '\n' ' ')
  [ "$top" = "outside outside.orig served " ] || { echo "    beside served/: $top"; return 1; }
  [ ! -e "$WORK/escape" ] && [ ! -e /tmp/hostile-pusher-outside ] && [ ! -e "$S/up" ]
}

# ph_after CASE [noclean]: the checks every case ends with.
ph_after() {
  local name=$1
  ph_check "$name: outside folder unchanged" same_tree "$S/outside.orig" "$S/outside"
  ph_check "$name: nothing created beside the served folder" ph_contained
  [ "${2:-}" = noclean ] || ph_check "$name: no temporary or lock left" ph_clean "$S/served"
  ph_check "$name: the server is alive" kill -0 "$SERVER_PID"
  ph_expect_exit "$name: the server still serves a pull" 0 "$TS" pull -q "${CLIENT_SECURITY[@]}" "127.0.0.1:$PORT" "$WORK/pull"
  rm -rf "$WORK/pull"
}

# The target's own content survived (for listings refused before their end:
# no folder's listing was complete, so nothing may have been deleted).
ph_kept() {
  ph_check "$1: the target's entries are kept" \
    test "$(cat "$S/served/existing" 2>/dev/null)" = existing -a \
    "$(cat "$S/served/keepdir/kept" 2>/dev/null)" = kept
}

# ph_case CASE WANT SCENARIO [PUSHER OPTIONS...]: a case without traps.
ph_case() {
  ph_setup "$1"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push "$@"
  ph_after "$1"
  stop_server
}
# ph_refused CASE SCENARIO: a listing the server must refuse (Error 12)
# before its end, changing nothing it already had.
ph_refused() {
  ph_setup "$1"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push "$1" "error 12" "$2"
  ph_kept "$1"
  ph_after "$1"
  stop_server
}

# ph_round: every case, each in a folder of $WORK (a round's own
# sub-folder, so the two rounds' cases stay apart).
ph_round() {
  # ---- Slow ones first, in the background, each on its own server ----------

  # slowloris: 3 bytes of a Hello, then silence: Error 30 within the 10 s
  # Hello timeout. slowloris-session: a whole Hello announcing a Session
  # frame that never comes, on a server with --timeout 3 (and, reported
  # only, on one with the default timeout). stall-listing: silence after the
  # first entry, on a server with --timeout 2.
  mkdir -p "$WORK/slow"
  slows="slowloris slowloris-session slowloris-session-default stall-listing"
  for slow in $slows; do
    v=$(echo $slow | tr - _)
    mkdir -p "$WORK/slow/$slow/served"
    case $slow in
      stall-listing) ph_serve "$WORK/slow/$slow/served" --writable --timeout 2 ;;
      slowloris-session) ph_serve "$WORK/slow/$slow/served" --writable --timeout 3 ;;
      *) ph_serve "$WORK/slow/$slow/served" --writable ;;
    esac
    eval "slow_pid_$v=$SERVER_PID slow_port_$v=$PORT"
    (
      start=$(date +%s)
      hp --port "$PORT" --scenario "${slow%-default}" --max-seconds $([ $slow = slowloris-session-default ] && echo 14 || echo 25) \
        >"$WORK/slow/$slow.out" 2>"$WORK/slow/$slow.err"
      echo "rc=$? seconds=$(($(date +%s) - start))" >>"$WORK/slow/$slow.out"
    ) &
    eval "slow_job_$v=$!"
  done

  # ---- The handshake ---------------------------------------------------------

  ph_case no-session "error 12" no-session
  ph_case session-missing "error 12" session-missing
  ph_case bad-options "error 12" bad-options
  ph_case huge-hello "error 12" huge-hello
  ph_refused wrong-direction wrong-direction
  ph_refused hello-again hello-again

  # A server without --writable refuses a push (Error 5) and changes nothing.
  ph_setup read-only
  ph_freeze
  ph_serve "$S/served"
  ph_push read-only "error 5" honest
  ph_check "read-only: the served folder is unchanged" same_tree "$WORK/served.orig" "$S/served"
  ph_after read-only
  stop_server

  # Session paths: bad ones are refused before anything moves.
  for bad in ../up /abs a//b ./x x/. x/..; do
    ph_setup "bad-session-path"
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "bad-session-path '$bad'" "error [0-9]+" session-path --path "$bad"
    ph_kept "bad-session-path '$bad'"
    ph_after "bad-session-path '$bad'"
    stop_server
  done
  # A symlink in the Session path: Error 3, nothing made through it.
  for p in lnk lnk/new lnk/new/deeper lnk/inner; do
    ph_setup session-path-symlink
    ln -s "$S/outside" "$S/served/lnk"
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "session-path-symlink '$p'" "error 3" session-path --path "$p"
    ph_kept "session-path-symlink '$p'"
    ph_after "session-path-symlink '$p'"
    stop_server
  done
  # A Session path naming a file: Error 3.
  ph_setup session-path-file
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push "session-path-file" "error 3" session-path --path existing/x
  ph_kept session-path-file
  ph_after session-path-file
  stop_server
  # A missing sub-folder is created, and only the sub-folder is mirrored.
  ph_setup session-path-new
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push session-path-new "summary 0" session-path --path new/deeper
  ph_check "session-path-new: the push landed in new/deeper" \
    test "$(cat "$S/served/new/deeper/top" 2>/dev/null)" = "top file, pushed"
  ph_kept session-path-new
  ph_after session-path-new
  stop_server

  # ---- Paths -----------------------------------------------------------------

  for s in dotdot dotdot-packed dotdot-deep absolute dot empty-component trailing-slash nul \
           path-too-long empty-path; do
    ph_refused "$s" "$s"
  done

  # ---- Structure and order ---------------------------------------------------

  for s in symlink-then-file symlink-then-folder symlink-folder-swap out-of-order duplicate \
           file-parent temp-name temp-name-upper temp-name-nested lock-name lock-name-upper \
           lock-name-nested symlink-empty-target symlink-nul-target count-mismatch; do
    ph_refused "$s" "$s"
  done
  ph_check "symlink-then-file: no file through the symlink" test ! -e "$WORK/symlink-then-file/outside/owned"

  # A file whose parent was never listed, where the target has that parent
  # as a symlink to outside/.
  ph_setup unlisted-parent
  ln -s "$S/outside" "$S/served/a"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push unlisted-parent "error 12" unlisted-parent
  ph_kept unlisted-parent
  ph_after unlisted-parent
  stop_server

  # Two steps: the symlink symlink-then-file may have left, then a push into
  # a sub-folder through it.
  ph_setup two-step-symlink
  ph_serve "$S/served" --writable
  hp --port "$PORT" --scenario symlink-then-file --outside "$S/outside" >/dev/null 2>&1
  ph_freeze
  for p in link link/sub; do
    ph_push "two-step-symlink '$p'" "error 3" session-path --path "$p"
  done
  ph_after two-step-symlink
  stop_server

  # Two steps: a lock-named symlink in x/ (if the first push did not refuse
  # it), then a push into x, which would take x/.treesync-lock as its lock.
  ph_setup two-step-lock
  ph_serve "$S/served" --writable
  ph_freeze
  ph_push "two-step-lock: step 1" "error 12" lock-name-nested
  ph_push "two-step-lock: step 2" "summary 0|error [0-9]+" session-path --path x
  ph_check "two-step-lock: no lock file made outside" test ! -e "$S/outside/lockvictim"
  ph_after two-step-lock
  stop_server

  # ---- Framing and flags -----------------------------------------------------

  for s in huge-frame unknown-type hash-unasked packed-unasked packed-overshare packed-headbits \
           packed-varint packed-empty gap-bad gap-nostream; do
    ph_refused "$s" "$s"
  done

  # The optional fields, past their limits: a 10 KB owner name, a link to an
  # entry not listed yet or beyond the listing, a TiB hole in a 10-byte
  # file, a 10 MiB attribute. And a device node, from a pusher trusted with
  # bytes only: never made (the server was not started with --devices).
  for s in owner-name-10k link-not-yet-sent link-outside-listing xattr-10m; do
    ph_refused "$s" "$s"
  done
  ph_case hole-past-end "error 12" hole-past-end
  ph_check "hole-past-end: no file under the final name" test ! -e "$WORK/hole-past-end/served/f"
  ph_check "hole-past-end: nothing larger than 1 MiB was written" \
    test -z "$(find "$WORK/hole-past-end/served" -size +1M)"
  if [ "$(id -u)" = 0 ]; then
    ph_case device-node "summary 0" device-node
    ph_check "device-node: no device node made" test ! -e "$WORK/device-node/served/disk"
  fi

  # ---- Data ------------------------------------------------------------------

  for s in oversize-data restart-loop begin-unrequested begin-offset data-outside end-outside \
           copy-unasked frame-in-file done-early; do
    ph_case "$s" "error 12" "$s"
  done
  ph_check "oversize-data: no file under the final name" test ! -e "$WORK/oversize-data/served/big"
  ph_check "oversize-data: no temporary holds more than the 10 bytes listed" \
    test -z "$(find "$WORK/oversize-data/served" -name '.treesync-*' -size +10c)"

  ph_case begin-interleave "error 12" begin-interleave

  # Delta answers that break the rules: a Copy past the basis, Copy frames
  # adding up to more than the listed size. The target holds a regular
  # extraneous file of the same size, which the server takes as the basis.
  for s in delta-copy-outside delta-copy-overrun; do
    ph_setup "$s"
    head -c 204800 /dev/urandom > "$S/served/old"
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "$s" "error 12" "$s"
    ph_check "$s: the server did ask for a delta" grep -q 'stat delta-request renamed' "$WORK/last.err"
    ph_check "$s: no file under the final name" test ! -e "$S/served/renamed"
    ph_after "$s"
    stop_server
  done

  # A FileError for one file: the push ends partial, the other file lands.
  ph_case file-error "summary 23" file-error
  ph_check "file-error: the failed file is not installed" test ! -e "$WORK/file-error/served/a"
  ph_check "file-error: the other one is" test -f "$WORK/file-error/served/b"

  # Fewer bytes than listed, with an End that agrees with them: reported.
  ph_setup short-data
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push short-data "summary [0-9]+|error [0-9]+" short-data
  echo "INFO short-data$ENC: listed 8 bytes, sent 4 with a matching End: $(head -1 "$WORK/last.out" | cut -c1-10)..., installed size $(stat -c %s "$S/served/short" 2>/dev/null || echo none)"
  ph_after short-data
  stop_server

  # The client gives up with its own Error mid-file: the session ends, the
  # lock is released (the next push is not refused as busy).
  ph_setup client-error
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push client-error "closed|error [0-9]+" client-error
  ph_check "client-error: no file under the final name" test ! -e "$S/served/a"
  ph_push "client-error: the next push" "summary 0" honest
  ph_after client-error
  stop_server

  # Wrong hash twice: asked once more, then given up; the push ends partial.
  ph_setup wrong-hash
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push wrong-hash "summary 23" wrong-hash
  ph_check "wrong-hash: asked for the file exactly twice" \
    test "$(grep -c '^hostile_pusher: stat request bad ' "$WORK/last.err")" = 2
  ph_check "wrong-hash: nothing under the bad file's name" test ! -e "$S/served/bad"
  ph_check "wrong-hash: the good file is installed" test "$(cat "$S/served/good" 2>/dev/null)" = good
  ph_after wrong-hash
  stop_server

  # A push cut off mid-file keeps the partial file, and the next push resumes
  # it ("Push": "A cut-off push keeps the partial file on the server").
  ph_setup cut
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push cut "cut" cut
  sleep 0.3
  ph_check "cut: the partial file is kept as a temporary" \
    test -n "$(find "$S/served" -maxdepth 1 -name '.treesync-*.tmp')"
  ph_check "cut: nothing under the final name" test ! -e "$S/served/big"
  ph_push resume "summary 0" resume
  ph_check "resume: asked from where the cut-off push stopped" \
    grep -Eq '^hostile_pusher: stat request big offset [1-9]' "$WORK/last.err"
  ph_check "resume: the file is complete" test "$(stat -c %s "$S/served/big" 2>/dev/null)" = 600000
  ph_after cut
  stop_server

  # ---- Streaming -------------------------------------------------------------

  ph_setup gap-root
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push gap-root "summary 23" gap-root
  ph_kept gap-root
  ph_check "gap-root: the listed file is installed" test -f "$S/served/a"
  ph_after gap-root
  stop_server

  # Without streaming, ListEnd's complete = 0: nothing is deleted.
  ph_setup incomplete-nostream
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push incomplete-nostream "summary 23" incomplete-nostream
  ph_kept incomplete-nostream
  ph_after incomplete-nostream
  stop_server

  ph_case credit-exact "summary 0" credit-exact
  ph_check "credit-exact: all 5548 files arrived" \
    test "$(find "$WORK/credit-exact/served" -maxdepth 1 -type f -name 'f*' | wc -l)" = 5548
  ph_case credit-overrun "error 12" credit-overrun

  # ---- Metadata --------------------------------------------------------------

  ph_case setuid "summary 0" setuid
  ph_check "setuid: no setuid, setgid or sticky bit applied" \
    test -z "$(find "$WORK/setuid/served" -perm /7000)"
  ph_case mtime-extremes "summary (0|23)" mtime-extremes
  ph_case long-name "summary 23|error 11" long-name
  ph_case odd-names "summary 0" odd-names
  ph_case folder-mode-0 "summary 0" folder-mode-0
  ph_check "folder-mode-0: the files inside arrived" \
    test -f "$WORK/folder-mode-0/served/locked/f" -a -f "$WORK/folder-mode-0/served/locked/inner/g"
  chmod -R u+rwx "$WORK/folder-mode-0" 2>/dev/null

  # ---- Honest pushes onto traps in the target ---------------------------------

  ph_case honest "summary 0" honest
  ph_check "honest: the target mirrors the push" test \
    "$(cat "$WORK/honest/served/top")" = "top file, pushed" -a \
    "$(readlink "$WORK/honest/served/zlink")" = sub/pushed -a ! -e "$WORK/honest/served/existing"
  ph_case honest-packed "summary 0" honest-packed
  ph_case honest-nostream "summary 0" honest-nostream
  ph_case honest-checksum "summary 0" honest-checksum

  # The listing's file "top" is a symlink to an outside twin of the pushed
  # file (same bytes, size and mtime): a receiver that looked through the
  # symlink would find it current and leave the symlink. By size and mtime,
  # then by hash (--checksum).
  for how in honest honest-checksum; do
    ph_setup "twin-over-symlink-$how"
    printf 'top file, pushed\n' > "$S/outside/twin"
    touch -d @1600000000.123456789 "$S/outside/twin"
    touch -d '2001-02-03 04:05:06' "$S/outside"
    ln -s "$S/outside/twin" "$S/served/top"
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "twin-over-symlink-$how" "summary 0" "$how"
    ph_check "twin-over-symlink-$how: top is a regular file now" test -f "$S/served/top" -a ! -L "$S/served/top"
    ph_after "twin-over-symlink-$how"
    stop_server
  done

  # The listing's folder "sub" is a symlink to outside/ in the target.
  ph_setup folder-over-symlink
  ln -s "$S/outside" "$S/served/sub"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push folder-over-symlink "summary 0" honest
  ph_check "folder-over-symlink: nothing written through the symlink" test ! -e "$S/outside/pushed"
  ph_check "folder-over-symlink: sub is now a real folder holding the pushed file" \
    test -d "$S/served/sub" -a ! -L "$S/served/sub" -a -f "$S/served/sub/pushed"
  ph_after folder-over-symlink
  stop_server

  # The listing's file "top" is a symlink to outside/sentinel, then a hard
  # link to it: installed by rename, the outside file keeps its bytes.
  for kind in symlink hardlink; do
    ph_setup "file-over-$kind"
    if [ $kind = symlink ]; then ln -s "$S/outside/sentinel" "$S/served/top"; else ln "$S/outside/sentinel" "$S/served/top"; fi
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "file-over-$kind" "summary 0" honest
    ph_check "file-over-$kind: top is now the pushed file" \
      test ! -L "$S/served/top" -a "$(cat "$S/served/top" 2>/dev/null)" = "top file, pushed"
    ph_after "file-over-$kind"
    stop_server
  done

  # Extraneous symlinks to outside/, a folder holding them, and a folder the
  # listing turns into a file: deleted without following anything.
  ph_setup delete-through-symlinks
  ln -s "$S/outside" "$S/served/lnk"
  ln -s "$S/outside/sentinel" "$S/served/lnkfile"
  mkdir -p "$S/served/e/deep" "$S/served/top"
  ln -s "$S/outside" "$S/served/e/l"
  ln -s "$S/outside/inner" "$S/served/e/deep/l2"
  ln -s "$S/outside" "$S/served/top/inner"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push delete-through-symlinks "summary 0" honest
  ph_check "delete-through-symlinks: the extraneous entries are gone" \
    test ! -e "$S/served/lnk" -a ! -L "$S/served/lnk" -a ! -e "$S/served/e" -a -f "$S/served/top"
  ph_after delete-through-symlinks
  stop_server

  # The same with --no-delete: the traps stay, outside/ too.
  ph_setup no-delete
  ln -s "$S/outside" "$S/served/lnk"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push no-delete "summary 0" no-delete
  ph_kept no-delete
  ph_check "no-delete: the symlink is kept" test -L "$S/served/lnk"
  ph_after no-delete
  stop_server

  # A dry run changes nothing in the target (no lock file, no missing folder
  # created), and nothing outside.
  ph_setup dry-run
  ln -s "$S/outside" "$S/served/lnk"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push dry-run "summary 0" dry-run
  ph_check "dry-run: the target is unchanged" same_tree "$WORK/served.orig" "$S/served"
  ph_push "dry-run into a missing sub-folder" "summary 0" dry-run --path not/there
  ph_check "dry-run: the missing sub-folder was not created" test ! -e "$S/served/not"
  ph_after dry-run
  stop_server

  # .treesync-lock in the target is a symlink to a missing file outside, then
  # to the outside sentinel: the lock is never taken through it.
  for lockto in lockvictim sentinel; do
    ph_setup "lock-symlink-$lockto"
    ln -s "$S/outside/$lockto" "$S/served/.treesync-lock"
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "lock-symlink-$lockto" "summary 0|error [0-9]+" honest
    ph_check "lock-symlink-$lockto: no temporary left" no_temporaries "$S/served"
    ph_after "lock-symlink-$lockto" noclean
    stop_server
  done

  # The temporary a resumed push would continue is a symlink to the outside
  # sentinel: never written through, the file fetched from 0.
  # ph_first_request_from_0 PATH: the pusher's first request for PATH was
  # from offset 0 (nothing was resumed).
  ph_first_request_from_0() {
    grep "^hostile_pusher: stat request $1 " "$WORK/last.err" | head -1 | grep -q " offset 0 "
  }
  tmpname=$("$HP" --temp-name victim 100)
  ph_setup temp-symlink
  ln -s "$S/outside/sentinel" "$S/served/$tmpname"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push temp-symlink "summary 0" temp-symlink
  ph_check "temp-symlink: fetched from offset 0" ph_first_request_from_0 victim
  ph_check "temp-symlink: victim is complete" test "$(stat -c %s "$S/served/victim" 2>/dev/null)" = 100
  ph_after temp-symlink
  stop_server
  # The same temporary as a hard link to the outside sentinel. A pusher can't
  # make hard links; a local user who can write the served folder can (to
  # any file of the same file system, where fs.protected_hardlinks is off).
  ph_setup temp-hardlink
  ln "$S/outside/sentinel" "$S/served/$tmpname"
  ph_freeze
  ph_serve "$S/served" --writable
  ph_push temp-hardlink "summary 0" temp-symlink
  ph_check "temp-hardlink: not resumed into the hard-linked temporary ($(grep 'request victim' "$WORK/last.err" | tr '\n' ' ' | sed 's/hostile_pusher: stat //g'))" \
    ph_first_request_from_0 victim
  ph_after temp-hardlink
  stop_server

  # A symlink to a big outside file must not serve as a delta basis (its
  # signature would tell the pusher about the outside file); a regular
  # extraneous file of the same size may (the control).
  for basis in symlink regular; do
    ph_setup "delta-basis-$basis"
    head -c 204800 /dev/urandom > "$S/outside/big"
    if [ $basis = symlink ]; then ln -s "$S/outside/big" "$S/served/old"; else cp "$S/outside/big" "$S/served/old"; fi
    ph_freeze
    ph_serve "$S/served" --writable
    ph_push "delta-basis-$basis" "summary 0" delta-basis
    if [ $basis = symlink ]; then
      ph_check "delta-basis-symlink: no delta request (no basis read through the symlink)" \
        test -z "$(grep 'stat delta-request' "$WORK/last.err")"
    else
      echo "INFO delta-basis-regular$ENC: $(grep -c 'stat delta-request' "$WORK/last.err") delta request(s) with a regular same-size basis"
    fi
    ph_after "delta-basis-$basis"
    stop_server
  done

  # ---- One writer per folder ---------------------------------------------------

  ph_setup concurrent
  ph_freeze
  ph_serve "$S/served" --writable
  hp --port "$PORT" --scenario hold --hold 4 >"$WORK/hold.out" 2>"$WORK/hold.err" &
  hold_pid=$!
  for _ in $(seq 1 100); do grep -q holding "$WORK/hold.out" 2>/dev/null && break; sleep 0.05; done
  ph_push "concurrent: a second push while one writes" "error 5" honest
  ph_expect_exit "concurrent: a pull while a push writes" 0 "$TS" pull -q "${CLIENT_SECURITY[@]}" "127.0.0.1:$PORT" "$WORK/pull"
  rm -rf "$WORK/pull"
  hp --port "$PORT" --scenario session-path --path keepdir --outside "$S/outside" >"$WORK/nested.out" 2>/dev/null
  echo "INFO concurrent$ENC: a push into the sub-folder keepdir while the whole tree is written: $(head -1 "$WORK/nested.out" | cut -c1-80)"
  wait $hold_pid
  ph_check "concurrent: the first push completes (got: $(head -2 "$WORK/hold.out" | tail -1 | cut -c1-60))" \
    grep -q '^summary 0' "$WORK/hold.out"
  ph_check "concurrent: its file is complete" test "$(stat -c %s "$S/served/big" 2>/dev/null)" = 600000
  ph_after concurrent
  stop_server

  # ---- The slow ones' results --------------------------------------------------

  for slow in $slows; do
    v=$(echo $slow | tr - _)
    eval "job=\$slow_job_$v SERVER_PID=\$slow_pid_$v PORT=\$slow_port_$v"
    wait "$job"
    out=$(tr '\n' ' ' < "$WORK/slow/$slow.out")
    if [ $slow = slowloris-session-default ]; then
      echo "INFO $slow$ENC: a Hello announcing a Session frame that never comes, default --timeout: $out"
      stop_server
      continue
    fi
    case $slow in
      stall-listing) want="error 30|closed"; limit=6 ;;
      slowloris-session) want="error 30|closed"; limit=7 ;;
      *) want="error 30"; limit=14 ;;
    esac
    ph_check "$slow: answered $want (got: $out)" grep -Eq "^($want)( |\$)" "$WORK/slow/$slow.out"
    secs=$(sed -n 's/.*seconds=\([0-9]*\).*/\1/p' "$WORK/slow/$slow.out")
    ph_check "$slow: dropped within $limit s (took ${secs:-?} s)" test "${secs:-99}" -le $limit
    ph_check "$slow: the server is alive" kill -0 "$SERVER_PID"
    ph_check "$slow: no temporary or lock left" ph_clean "$WORK/slow/$slow/served"
    S=$WORK/slow/$slow
    ph_expect_exit "$slow: the server takes the next push" 0 hp --port "$PORT" --scenario honest
    ph_check "$slow: the next push completes (got: $(head -1 "$WORK/last.out" | cut -c1-60))" grep -q '^summary 0' "$WORK/last.out"
    stop_server
  done
}

# ph_in ROUND: ph_round in $WORK/ROUND, "clear" or "encrypted" (keys on
# both sides, and " [encrypted]" after every check's name).
ph_in() {
  local WORK=$WORK/$1 ENC= CLIENT_SECURITY=()
  if [ "$1" = encrypted ]; then
    ENC=" [encrypted]"
    CLIENT_SECURITY=(--key "$PH_KEYS/pusher.key" --server-key "$(cat "$PH_KEYS/server.key.pub")")
  fi
  mkdir -p "$WORK"
  ph_round
}

ph_in clear
ph_in encrypted
