# The comparison that sums up exact copies: one tree of owners, set-uid
# bits, attributes, ACLs, hard links across folders, a sparse file, a FIFO,
# a socket, a device node, symlinks and odd times, copied by
# `rsync -aHAXS --devices --specials` and pulled by treesync --devices: the
# two copies agree on types, contents, modes, owners, link groups,
# attributes, ACLs, holes and the mtimes of files (rsync leaves those of a
# socket, a device, a dangling symlink and a folder behind; treesync's copy
# has every time of the source). On tmpfs, then on ext4 where a loop device
# can be mounted. Root only. Sourced by tests/e2e.sh.

# exact_listing DIR [notimes]: per entry: type, path, mode, owner, group,
# size, mtime (unless notimes), link target; each device's numbers; each
# regular file's checksum; the names of each file with more than one;
# then every attribute (ACLs too).
exact_listing() {
  local fmt='%y %P %m %U %G %s %T@ %l\n'
  [ "${2:-}" = notimes ] && fmt='%y %P %m %U %G %s %l\n'
  (cd "$1" && find . -mindepth 1 -printf "$fmt" | sort
   find . -mindepth 1 -type c -printf '%P ' -exec stat -c '%t:%T' {} \; | sort
   find . -type f -exec md5sum {} + | sort -k2
   find . -type f -links +1 -printf '%i %P\n' | sort -k1,1n -k2,2 |
     awk '$1 != last { if (line != "") print "linked:" line; line = ""; last = $1 }
          { line = line " " $2 } END { if (line != "") print "linked:" line }' | sort
   getfattr -R -h -d -m - -e hex . 2>/dev/null | grep -v '^$')
}

# exact_case BASE NAME: builds the tree in BASE, copies it both ways there,
# and compares; NAME labels the checks.
exact_case() {
  local B=$1 n=$2
  local E=$B/esrc
  rm -rf "$E" "$B/e-rsync" "$B/e-ts"; mkdir -p "$E/d/deeper"
  echo plain > "$E/plain"; echo s > "$E/setuid"; chmod 4750 "$E/setuid"; chown nobody:nogroup "$E/setuid"
  echo n > "$E/d/numbers"; chown 4321:8765 "$E/d/numbers"
  chmod 2770 "$E/d"; chown nobody:nogroup "$E/d"
  truncate -s 50M "$E/sparse"; printf 'data' | dd of="$E/sparse" bs=1M seek=20 conv=notrunc 2>/dev/null
  mkfifo "$E/fifo"; python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$E/d/sock"
  mknod "$E/d/null" c 1 3
  ln -s plain "$E/link"; ln -s ../../nowhere "$E/d/deeper/dangling"; chown -h nobody "$E/link"
  setfattr -n user.note -v 'kept' "$E/plain"; setfattr -n user.bin -v 0x00ff "$E/d/deeper"
  setfacl -m u:nobody:r "$E/plain"; setfacl -d -m g:nogroup:rwx "$E/d/deeper"
  ln "$E/plain" "$E/d/deeper/plain-too"; ln "$E/plain" "$E/d/plain-three"
  ln "$E/d/numbers" "$E/numbers-too"; ln "$E/sparse" "$E/d/sparse-too"
  touch -h -d '1999-12-31 23:59:59.123456789' "$E/plain" "$E/link" "$E/fifo"
  touch -d '2038-01-19 03:14:08' "$E/d/deeper"
  rsync -aHAXS --devices --specials "$E/" "$B/e-rsync/"
  start_server "$E"
  expect_exit "exact $n: treesync pull --devices exits 0" 0 "$TS" pull --devices "127.0.0.1:$PORT" "$B/e-ts"
  stop_server
  check "exact $n: treesync's copy is the source: every type, byte, mode, owner, link, time and attribute" \
    diff <(exact_listing "$E") <(exact_listing "$B/e-ts")
  check "exact $n: treesync's copy and rsync -aHAXS's agree on all but times" \
    diff <(exact_listing "$B/e-rsync" notimes) <(exact_listing "$B/e-ts" notimes)
  check "exact $n: both keep the three link groups" \
    test "$(exact_listing "$B/e-ts" | grep -c "^linked:")" = 3 -a \
         "$(exact_listing "$B/e-rsync" | grep -c "^linked:")" = 3
  check "exact $n: and on the mtime of every file and FIFO (rsync's times of the rest lag)" \
    diff <(cd "$B/e-rsync" && find . \( -type f -o -type p \) -printf '%P %T@\n' | sort) \
         <(cd "$B/e-ts" && find . \( -type f -o -type p \) -printf '%P %T@\n' | sort)
  # rsync 3.2 leaves some times behind (sockets, devices, a folder it wrote
  # into after): say which, as a note.
  echo "NOTE exact $n: times rsync -aHAXS did not keep: $(diff <(exact_listing "$E") <(exact_listing "$B/e-rsync") | grep -c '^>')"
  check "exact $n: both keep the holes (50 MiB in under 1 MiB on disk: rsync $(du -k "$B/e-rsync/sparse" | cut -f1) KiB, treesync $(du -k "$B/e-ts/sparse" | cut -f1) KiB)" \
    test "$(du -k "$B/e-ts/sparse" | cut -f1)" -lt 1024 -a "$(du -k "$B/e-rsync/sparse" | cut -f1)" -lt 1024
}

if [ "$(id -u)" != 0 ] || ! command -v rsync >/dev/null || ! command -v getfattr >/dev/null ||
   ! command -v setfacl >/dev/null; then
  echo "SKIP exact: needs root, rsync, getfattr and setfacl"
else
  exact_case "$WORK" "on $(stat -f -c %T "$WORK")"
  # ext4 keeps attributes, ACLs and holes its own way: the same case on an
  # image mounted through a loop device, where this host allows one.
  EXT4=$WORK/ext4
  mkdir -p "$EXT4"
  if truncate -s 256M "$WORK/ext4.img" && mkfs.ext4 -q -F "$WORK/ext4.img" 2>/dev/null &&
     mount -o loop "$WORK/ext4.img" "$EXT4" 2>/dev/null; then
    exact_case "$EXT4" "on ext4"
    # An attribute this ext4 refuses (its values must fit in one 1 KiB
    # block): that entry fails, the rest arrive, exit 23.
    X=$WORK/xsrc
    rm -rf "$X"; mkdir -p "$X"; echo big > "$X/big-attribute"; echo fine > "$X/fine"
    setfattr -n user.big -v "0x$(head -c 8192 /dev/zero | od -An -tx1 -v | tr -d ' \n' | tr 0 a)" \
      "$X/big-attribute"
    setfattr -n user.small -v ok "$X/fine"
    start_server "$X"
    expect_exit "an attribute the receiver's file system refuses: exit 23" 23 \
      "$TS" pull "127.0.0.1:$PORT" "$EXT4/x-ts"
    stop_server
    check "it is one error line, naming the entry" \
      test "$(grep -c 'big-attribute' "$WORK/last.err")" = 1
    check "the entry's data arrives all the same, and the other entry whole" \
      test "$(cat "$EXT4/x-ts/big-attribute")" = big -a \
      "$(getfattr --only-values -n user.small "$EXT4/x-ts/fine" 2>/dev/null)" = ok
    umount "$EXT4" || umount -l "$EXT4"
  else
    echo "SKIP exact on ext4: no loop device can be mounted here (a container without it, or no mkfs.ext4)"
  fi
  rm -f "$WORK/ext4.img"
fi
