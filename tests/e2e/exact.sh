# The comparison that sums up exact copies: one tree of owners, set-uid
# bits, attributes, ACLs, a sparse file, a FIFO, a socket, a device node,
# symlinks and odd times, copied by `rsync -aAXS --devices --specials` and
# pulled by treesync --devices: the two copies agree on types, contents,
# modes, owners, attributes, ACLs, holes and mtimes. (Hard links are not
# kept yet, so neither copy is asked to: no -H.) Root only.
# Sourced by tests/e2e.sh.

if [ "$(id -u)" != 0 ] || ! command -v rsync >/dev/null || ! command -v getfattr >/dev/null ||
   ! command -v setfacl >/dev/null; then
  echo "SKIP exact: needs root, rsync, getfattr and setfacl"
else
  E=$WORK/esrc
  rm -rf "$E" "$WORK/e-rsync" "$WORK/e-ts"; mkdir -p "$E/d/deeper"
  echo plain > "$E/plain"; echo s > "$E/setuid"; chmod 4750 "$E/setuid"; chown nobody:nogroup "$E/setuid"
  echo n > "$E/d/numbers"; chown 4321:8765 "$E/d/numbers"
  chmod 2770 "$E/d"; chown nobody:nogroup "$E/d"
  truncate -s 50M "$E/sparse"; printf 'data' | dd of="$E/sparse" bs=1M seek=20 conv=notrunc 2>/dev/null
  mkfifo "$E/fifo"; python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$E/d/sock"
  mknod "$E/d/null" c 1 3
  ln -s plain "$E/link"; ln -s ../../nowhere "$E/d/deeper/dangling"; chown -h nobody "$E/link"
  setfattr -n user.note -v 'kept' "$E/plain"; setfattr -n user.bin -v 0x00ff "$E/d/deeper"
  setfacl -m u:nobody:r "$E/plain"; setfacl -d -m g:nogroup:rwx "$E/d/deeper"
  touch -h -d '1999-12-31 23:59:59.123456789' "$E/plain" "$E/link" "$E/fifo"
  touch -d '2038-01-19 03:14:08' "$E/d/deeper"
  rsync -aAXS --devices --specials "$E/" "$WORK/e-rsync/"
  start_server "$E"
  expect_exit "exact: treesync pull --devices exits 0" 0 "$TS" pull --devices "127.0.0.1:$PORT" "$WORK/e-ts"
  stop_server
  # exact_listing DIR [notimes]: per entry: type, path, mode, owner, group,
  # size, mtime (unless notimes), link target; each device's numbers; each
  # regular file's checksum; then every attribute (ACLs too).
  exact_listing() {
    local fmt='%y %P %m %U %G %s %T@ %l\n'
    [ "${2:-}" = notimes ] && fmt='%y %P %m %U %G %s %l\n'
    (cd "$1" && find . -mindepth 1 -printf "$fmt" | sort
     find . -mindepth 1 -type c -printf '%P ' -exec stat -c '%t:%T' {} \; | sort
     find . -type f -exec md5sum {} + | sort -k2
     getfattr -R -h -d -m - -e hex . 2>/dev/null | grep -v '^$')
  }
  check "treesync's copy is the source: every type, byte, mode, owner, time and attribute" \
    diff <(exact_listing "$E") <(exact_listing "$WORK/e-ts")
  check "treesync's copy and rsync -aAXS's agree on all but times" \
    diff <(exact_listing "$WORK/e-rsync" notimes) <(exact_listing "$WORK/e-ts" notimes)
  # rsync 3.2 leaves some times behind (sockets, devices, a folder it wrote
  # into after): say which, as a note.
  echo "NOTE exact: times rsync -aAXS did not keep: $(diff <(exact_listing "$E") <(exact_listing "$WORK/e-rsync") | grep -c '^>')"
  check "and both keep the holes (50 MiB in under 1 MiB on disk: rsync $(du -k "$WORK/e-rsync/sparse" | cut -f1) KiB, treesync $(du -k "$WORK/e-ts/sparse" | cut -f1) KiB)" \
    test "$(du -k "$WORK/e-ts/sparse" | cut -f1)" -lt 1024 -a "$(du -k "$WORK/e-rsync/sparse" | cut -f1)" -lt 1024
fi
