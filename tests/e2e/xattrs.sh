# directions: pull push
# Extended attributes: user.* always, POSIX ACLs as root; a change in
# attributes alone is mirrored, one the source lacks is removed;
# --no-xattrs leaves them alone. Needs Debian's attr and acl (installed by
# .ci/run) and a file system with user attributes. Sourced by tests/e2e.sh.

A=$WORK/asrc
rm -rf "$A" "$WORK/adst"; mkdir -p "$A/sub"
echo a > "$A/file"; echo b > "$A/sub/inner"
if ! command -v setfattr >/dev/null || ! command -v getfattr >/dev/null; then
  echo "SKIP xattrs: needs setfattr and getfattr (apt-get install attr)"
elif ! setfattr -n user.probe -v 1 "$A/file" 2>/dev/null; then
  echo "SKIP xattrs: $WORK holds no user attributes"
else
  # attrs_of DIR: every entry's attributes, names and values, sorted.
  attrs_of() { (cd "$1" && getfattr -R -d -m - -e hex . 2>/dev/null | grep -v '^$' | sort); }
  setfattr -x user.probe "$A/file"
  setfattr -n user.comment -v 'a comment' "$A/file"
  setfattr -n user.binary -v 0x00ff00ff "$A/file"
  setfattr -n user.on-a-folder -v yes "$A/sub"
  acl=
  if [ "$(id -u)" = 0 ] && command -v setfacl >/dev/null && setfacl -m u:nobody:rw "$A/file" 2>/dev/null; then
    setfacl -d -m g:nogroup:rx "$A/sub"
    acl=yes
  fi
  serve_mirror "$A"
  expect_exit "attributes: exit 0" 0 mirror_at "127.0.0.1:$PORT" "$WORK/adst"
  check "every attribute arrives${acl:+, ACLs and default ACLs too}" diff <(attrs_of "$A") <(attrs_of "$WORK/adst")
  expect_exit "a re-sync: exit 0" 0 mirror_at "127.0.0.1:$PORT" -i "$WORK/adst"
  check "a re-sync changes nothing (inherited ACLs included)" test ! -s "$WORK/last.out"
  setfattr -n user.comment -v 'another comment' "$A/file"
  setfattr -n user.stray -v x "$WORK/adst/sub/inner"
  expect_exit "after a change in attributes alone: exit 0" 0 mirror_at "127.0.0.1:$PORT" -i "$WORK/adst"
  check "it is reported as a metadata change" grep -q '^\.f file' "$WORK/last.out"
  check "the change is mirrored and the stray attribute removed" \
    diff <(attrs_of "$A") <(attrs_of "$WORK/adst")
  rm -rf "$WORK/adst2"
  expect_exit "--no-xattrs: exit 0" 0 mirror_at "127.0.0.1:$PORT" --no-xattrs "$WORK/adst2"
  check "--no-xattrs: no user attributes" test -z "$(getfattr -R -d "$WORK/adst2" 2>/dev/null)"
  stop_server
fi
