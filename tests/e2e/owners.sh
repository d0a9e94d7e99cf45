# directions: pull push
# Owners and groups: kept by name where the receiver is root, by number
# when a name is unknown there (or --numeric-ids); set-uid and friends only
# with them; --no-owner, --no-group, --chown; a receiver that is not root
# keeps its own, silently. Sourced by tests/e2e.sh.

# owners_of DIR: each entry's path, owner, group and mode, sorted.
owners_of() { (cd "$1" && find . -mindepth 1 -printf '%P %u %g %m\n' | sort); }

if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1 || ! getent group nogroup >/dev/null; then
  echo "SKIP owners: needs root and the user nobody and group nogroup"
else
  O=$WORK/osrc
  rm -rf "$O" "$WORK/odst"; mkdir -p "$O/sub"
  echo a > "$O/by-name"; echo n > "$O/by-number"; echo s > "$O/setuid"; echo r > "$O/sub/root"
  ln -s by-name "$O/link"
  chown nobody:nogroup "$O/by-name" "$O/sub"
  chown 12345:23456 "$O/by-number"   # no such user or group here: numbers
  chown -h nobody:23456 "$O/link"
  chown nobody:nogroup "$O/setuid"; chmod 6755 "$O/setuid"; chmod 2775 "$O/sub"
  serve_mirror "$O"
  expect_exit "owners: exit 0" 0 mirror "$WORK/odst"
  check "every owner, group and mode arrives (names, numbers, set-uid, set-gid, a symlink's)" \
    diff <(owners_of "$O") <(owners_of "$WORK/odst")

  # A change of owner alone is mirrored on the next sync.
  chown daemon "$O/sub/root"
  expect_exit "after a change of owner alone: exit 0" 0 mirror -i "$WORK/odst"
  check "it is reported as a metadata change" grep -q '^\.f sub/root' "$WORK/last.out"
  check "and mirrored" test "$(stat -c %U "$WORK/odst/sub/root")" = daemon
  # A new root:root file in a set-gid folder of group nogroup: the folder
  # would give it nogroup; it still gets root.
  echo new > "$O/sub/new"; chgrp root "$O/sub/new"  # the folder gave it nogroup
  expect_exit "a new file in a set-gid folder: exit 0" 0 mirror "$WORK/odst"
  check "it keeps its own group, not the folder's" test "$(stat -c %G "$WORK/odst/sub/new")" = root

  rm -rf "$WORK/odst2"
  expect_exit "--no-owner: exit 0" 0 mirror --no-owner "$WORK/odst2"
  check "--no-owner: files are the receiver's user's, groups kept, no set-uid" \
    test "$(stat -c '%u %G %a' "$WORK/odst2/setuid")" = "0 nogroup 755"
  rm -rf "$WORK/odst2"
  expect_exit "--no-group: exit 0" 0 mirror --no-group "$WORK/odst2"
  check "--no-group: owners kept, groups the receiver's" \
    test "$(stat -c '%U %g %a' "$WORK/odst2/by-name")" = "nobody 0 644"
  rm -rf "$WORK/odst2"
  expect_exit "--chown daemon:12 : exit 0" 0 mirror --chown daemon:12 "$WORK/odst2"
  check "--chown: every entry has that owner and group" \
    test "$(owners_of "$WORK/odst2" | awk '{print $2, $3}' | sort -u)" = "daemon $(getent group 12 | cut -d: -f1 || echo 12)"
  expect_exit "--chown with an unknown name: exit 1" 1 mirror --chown no-such-user-here "$WORK/odst2"
  check "it says to give a number" grep -q 'give its number' "$WORK/last.err"
  stop_server

  # A receiver that is not root: everything is its own, silently, and no
  # set-uid bit survives.
  if pull_only && command -v runuser >/dev/null; then
    rm -rf "$WORK/nobody"; mkdir -p "$WORK/nobody"; chown nobody "$WORK/nobody"
    chmod o+x "$SCRATCH" "$WORK"  # so that nobody can reach its folder
    cp "$TS" "$WORK/treesync-copy"  # and the binary, wherever the clone is
    start_server "$O"
    runuser -u nobody -- "$WORK/treesync-copy" pull "127.0.0.1:$PORT" "$WORK/nobody/copy" >"$WORK/last.out" 2>"$WORK/last.err"
    check "a pull by nobody: exit 0, quiet" test $? = 0 -a ! -s "$WORK/last.err"
    check "a pull by nobody: every entry is nobody's" \
      test "$(owners_of "$WORK/nobody/copy" | awk '{print $2}' | sort -u)" = nobody
    check "a pull by nobody: no set-uid or set-gid bit" \
      test "$(stat -c %a "$WORK/nobody/copy/setuid")" = 755 -a "$(stat -c %a "$WORK/nobody/copy/sub")" = 775
    stop_server
  fi
fi
