# ssh transport against the real OpenSSH on loopback: pull and push with
# [USER@]HOST:PATH, the shorthand, ssh:// URLs, TREESYNC_RSH, paths relative
# to the login folder, quoting through the far side's shell, ssh's and the
# far side's failures (exit 10 with ssh's own words), refusals, interrupted
# sessions, and no process left behind. Sourced by tests/e2e.sh; skipped
# when there is no sshd (scripts/loopback-sshd.sh).

# shellcheck source=../../scripts/loopback-sshd.sh
source "$HERE/../scripts/loopback-sshd.sh"
if ! sshd_start "$WORK/sshd" 2>"$WORK/sshd-start.err"; then
  echo "SKIP ssh (no sshd: ${SSHD_ERROR:-$(head -1 "$WORK/sshd-start.err")})"
  return 0
fi

ssh_case() {
  local U=$SSH_USER@127.0.0.1 SRC=$WORK/src R=$WORK/remote
  # ssh options, then the far side's binary: every ssh session here.
  local -a E=(-e "$SSH_CMD" --remote-path "$TS")
  # A folder below the login folder, for HOST:relative paths; unique, and
  # removed at the end.
  local REL=treesync-e2e-ssh-$$-$RANDOM
  mkdir -p "$R"
  bash "$HERE/../scripts/make-sample-tree.sh" "$SRC"

  # Pull.
  expect_exit "ssh pull USER@HOST:/ABS exits 0" 0 "$TS" pull "${E[@]}" "$U:$SRC" "$WORK/copy"
  check "ssh pull is silent" test ! -s "$WORK/last.out" -a ! -s "$WORK/last.err"
  check "ssh pull: copy is an exact mirror" same_tree "$SRC" "$WORK/copy"
  check "ssh pull: no temporaries left" no_temporaries "$WORK/copy"
  expect_exit "ssh re-pull of an unchanged tree exits 0" 0 \
    "$TS" pull --json "${E[@]}" "$U:$SRC" "$WORK/copy"
  check "ssh re-pull transfers nothing" grep -q '"event":"summary".*"files_transferred":0,' "$WORK/last.out"

  # Push into a new folder, then changes.
  local P=$R/pushed
  expect_exit "ssh push into a new remote folder exits 0" 0 "$TS" push "${E[@]}" "$SRC" "$U:$P"
  check "ssh push: remote folder is an exact mirror" same_tree "$SRC" "$P"
  check "ssh push: no temporaries left" no_temporaries "$P"
  cp -a "$SRC" "$WORK/src2"
  printf 'changed over ssh' > "$WORK/src2/marker-end.txt"
  rm "$WORK/src2/size-4095"
  expect_exit "ssh push -i after a change and a delete exits 0" 0 \
    "$TS" push -i "${E[@]}" "$WORK/src2" "$U:$P"
  check "ssh push -i: remote mirrors again" same_tree "$WORK/src2" "$P"
  check "ssh push -i names the delete (-f size-4095)" grep -qx -- '-f size-4095' "$WORK/last.out"
  check "ssh push -i names the change (>f marker-end.txt)" grep -qx -- '>f marker-end.txt' "$WORK/last.out"
  check "ssh push -i names nothing else" test "$(wc -l < "$WORK/last.out")" -eq 2
  expect_exit "ssh push into missing parents exits 0" 0 "$TS" push -q "${E[@]}" "$SRC" "$U:$R/new1/new2/new3"
  check "ssh push creates the missing parents" same_tree "$SRC" "$R/new1/new2/new3"
  expect_exit "ssh push -n into a new remote folder exits 0" 0 \
    "$TS" push -n "${E[@]}" "$SRC" "$U:$R/dry-run"
  check "ssh push -n creates nothing on the far side" test ! -e "$R/dry-run"

  # Shorthand, both ways.
  expect_exit "shorthand push: treesync DIR USER@HOST:PATH exits 0" 0 \
    "$TS" "${E[@]}" "$SRC" "$U:$R/short-push"
  check "shorthand push: remote is a mirror" same_tree "$SRC" "$R/short-push"
  expect_exit "shorthand pull: treesync USER@HOST:PATH DIR exits 0" 0 \
    "$TS" "${E[@]}" "$U:$SRC" "$WORK/short-pull"
  check "shorthand pull: copy is a mirror" same_tree "$SRC" "$WORK/short-pull"

  # ssh:// URLs: the port comes from the URL, not from -e.
  local -a E_NOPORT=(-e "ssh $SSH_OPTS" --remote-path "$TS")
  expect_exit "ssh://USER@HOST:PORT/ABS pull exits 0" 0 \
    "$TS" pull "${E_NOPORT[@]}" "ssh://$U:$SSHD_PORT$SRC" "$WORK/url-pull"
  check "ssh:// pull: copy is a mirror" same_tree "$SRC" "$WORK/url-pull"
  expect_exit "ssh://USER@HOST:PORT/ABS push exits 0" 0 \
    "$TS" push "${E_NOPORT[@]}" "$SRC" "ssh://$U:$SSHD_PORT$R/url-push"
  check "ssh:// push: remote is a mirror" same_tree "$SRC" "$R/url-push"

  # TREESYNC_RSH instead of -e; -e wins over it.
  expect_exit "TREESYNC_RSH in the environment: pull exits 0" 0 \
    env TREESYNC_RSH="$SSH_CMD" "$TS" pull --remote-path "$TS" "$U:$SRC" "$WORK/env-pull"
  check "TREESYNC_RSH pull: copy is a mirror" same_tree "$SRC" "$WORK/env-pull"
  expect_exit "-e overrides TREESYNC_RSH" 0 \
    env TREESYNC_RSH=/nonexistent/ssh "$TS" pull "${E[@]}" "$U:$SRC" "$WORK/env-pull"

  # Paths relative to the login folder, and ~/.
  local home
  home=$(getent passwd "$SSH_USER" | cut -d: -f6)
  expect_exit "push to HOST:relative/path exits 0" 0 "$TS" push "${E[@]}" "$SRC" "$U:$REL/sub"
  check "HOST:relative/path lands in the login folder" same_tree "$SRC" "$home/$REL/sub"
  expect_exit "pull from HOST:~/relative/path exits 0" 0 "$TS" pull "${E[@]}" "$U:~/$REL/sub" "$WORK/tilde-pull"
  check "HOST:~/path is the same folder" same_tree "$SRC" "$WORK/tilde-pull"
  rm -rf "${home:?}/$REL"

  # A remote path the far side's shell must not interpret.
  local odd="$R/sp ace 'q' \"d\" \$HOME \$(touch $WORK/pwned) \`touch $WORK/pwned\`; touch $WORK/pwned"
  expect_exit "push to a remote path with blanks, quotes and \$(...) exits 0" 0 \
    "$TS" push -q "${E[@]}" "$SRC" "$U:$odd"
  check "that path is taken literally" same_tree "$SRC" "$odd"
  check "nothing in that path ran on the far side" test ! -e "$WORK/pwned"

  # An option in place of a host never reaches ssh.
  expect_exit "a host starting with '-' is a usage error" 1 \
    "$TS" pull "${E[@]}" -- "-oProxyCommand=touch pwned-proxy:x" "$WORK/x-dash"
  check "and ssh never ran it" test ! -e pwned-proxy -a ! -e "$WORK/pwned-proxy"

  # Failures.
  expect_exit "-e /nonexistent/ssh: exit 10" 10 \
    "$TS" pull -e /nonexistent/ssh "$U:$SRC" "$WORK/x-rsh"
  check "the message names the missing ssh program" grep -q '/nonexistent/ssh' "$WORK/last.err"
  expect_exit "--remote-path /nonexistent/treesync: exit 10" 10 \
    "$TS" pull -e "$SSH_CMD" --remote-path /nonexistent/treesync "$U:$SRC" "$WORK/x-remote"
  check "the message gives ssh's exit status 127" grep -q 'status 127' "$WORK/last.err"
  check "the far side's shell's own words reach our stderr" \
    grep -q '/nonexistent/treesync.*[Nn]ot found\|/nonexistent/treesync: No such file' "$WORK/last.err"
  expect_exit "unreachable port via ssh: exit 10" 10 \
    "$TS" pull -e "ssh -p 1 $SSH_OPTS" --remote-path "$TS" "$U:$SRC" "$WORK/x-port"
  check "ssh's own 'Connection refused' reaches our stderr" grep -q 'Connection refused' "$WORK/last.err"
  check "the message gives ssh's exit status 255" grep -q 'status 255' "$WORK/last.err"
  ssh-keygen -q -N '' -t ed25519 -f "$WORK/wrong_key" </dev/null
  expect_exit "a user key the server refuses: exit 10" 10 \
    "$TS" pull -e "ssh -p $SSHD_PORT -F /dev/null -i $WORK/wrong_key -o IdentitiesOnly=yes \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes" \
    --remote-path "$TS" "$U:$SRC" "$WORK/x-key"
  check "ssh's own 'Permission denied' reaches our stderr" grep -q 'Permission denied' "$WORK/last.err"
  expect_exit "a far side that prints text instead of treesync: fails, never hangs" 12 \
    timeout 20 "$TS" pull -e "$SSH_CMD" --remote-path echo "$U:$SRC" "$WORK/x-echo"
  expect_exit "pulling a remote folder that does not exist: exit 3" 3 \
    "$TS" pull "${E[@]}" "$U:$R/missing" "$WORK/x-missing"
  check "the message names the missing folder" grep -q "$R/missing" "$WORK/last.err"
  expect_exit "pulling from ~/ a folder that does not exist: exit 3" 3 \
    "$TS" pull "${E[@]}" "$U:~/$REL-missing" "$WORK/x-missing2"
  printf file > "$R/a-file"
  "$TS" push "${E[@]}" "$SRC" "$U:$R/a-file/sub/dir" >"$WORK/last.out" 2>"$WORK/last.err"
  local code=$?
  check "push under a remote file: nonzero exit (got $code)" test "$code" -ne 0
  check "push under a remote file: one clear line naming the path" \
    bash -c "test \$(wc -l < '$WORK/last.err') -eq 1 && grep -q 'a-file.*Not a directory' '$WORK/last.err'"
  check "push under a remote file: the file is untouched" test "$(cat "$R/a-file")" = file

  # Another session writing the remote folder: refused, exit 5.
  flock "$P/.treesync-lock" sleep 10 &
  local holder=$!
  for _ in $(seq 1 40); do [ -e "$P/.treesync-lock" ] && break; sleep 0.05; done
  sleep 0.1
  expect_exit "ssh push into a folder being written: exit 5" 5 "$TS" push "${E[@]}" "$SRC" "$U:$P"
  check "exit 5 says another session is writing" grep -q 'another treesync session' "$WORK/last.err"
  kill "$holder" 2>/dev/null
  wait "$holder" 2>/dev/null

  # Interrupted sessions: the far side ends too, and the next run completes.
  local big=$WORK/big i
  mkdir -p "$big"
  for i in $(seq 1 80); do head -c 1048576 /dev/urandom > "$big/f$i"; done
  "$TS" pull -q "${E[@]}" "$U:$big" "$WORK/killed" >/dev/null 2>&1 &
  local victim=$!
  first_data_in "$WORK/killed"
  kill -9 $victim 2>/dev/null
  wait $victim 2>/dev/null
  same_tree "$big" "$WORK/killed" 2>/dev/null && echo "    note: the pull had finished before the kill"
  check "client killed -9 mid-pull: nothing left on either side" ssh_no_leftovers
  expect_exit "client killed -9: the next ssh pull exits 0" 0 "$TS" pull "${E[@]}" "$U:$big" "$WORK/killed"
  check "client killed -9: the next ssh pull completes the mirror" same_tree "$big" "$WORK/killed"
  check "client killed -9: no temporaries left" no_temporaries "$WORK/killed"
  "$TS" push -q "${E[@]}" "$big" "$U:$R/interrupted" >/dev/null 2>"$WORK/int.err" &
  victim=$!
  first_data_in "$R/interrupted"
  kill -INT $victim 2>/dev/null
  wait $victim
  code=$?
  # The push may have finished first on a fast machine: then 0 is right.
  check "ssh push interrupted by SIGINT: exit 20 (got $code)" test "$code" = 20 -o "$code" = 0
  check "SIGINT mid-push: nothing left on either side" ssh_no_leftovers
  expect_exit "SIGINT mid-push: the next ssh push exits 0" 0 "$TS" push "${E[@]}" "$big" "$U:$R/interrupted"
  check "SIGINT mid-push: the next push completes the mirror" same_tree "$big" "$R/interrupted"
  check "SIGINT mid-push: no temporaries left on the far side" no_temporaries "$R/interrupted"

  check "after every ssh session: no serve --stdio, ssh or sshd session left" ssh_no_leftovers
}

# first_data_in DIR: waits up to 5 s for a first file (or temporary) in
# DIR, so a session is interrupted mid-transfer rather than mid-handshake.
first_data_in() {
  for _ in $(seq 1 500); do
    [ -n "$(find "$1" -type f -print -quit 2>/dev/null)" ] && return 0
    sleep 0.01
  done
  return 0
}

# ssh_no_leftovers: waits up to 5 s until no process of this case is left: no
# far-side "treesync serve --stdio" for a path of this case, no ssh client
# with this case's keys, no sshd session process. (Only this case's: other
# tests may be running treesync serve --stdio on this machine at the time.)
ssh_no_leftovers() {
  local left
  for _ in $(seq 1 100); do
    left=$(pgrep -af "serve --stdio.* -- .*($WORK|treesync-e2e-ssh-$$)" ;
           pgrep -af "$SSHD_DIR/user_ed25519|$WORK/wrong_key" ; pgrep -a -P "$SSHD_PID")
    [ -z "$left" ] && return 0
    sleep 0.05
  done
  echo "$left" | sed 's/^/    left: /' >&2
  return 1
}

ssh_case
sshd_stop
# (A function, not bash -c: pgrep -f would find that bash's own command line.)
ssh_no_serve_left() { ! pgrep -f "serve --stdio.* -- .*($WORK|treesync-e2e-ssh-$$)" >/dev/null; }
check "ssh: no treesync serve --stdio process of this case left" ssh_no_serve_left
