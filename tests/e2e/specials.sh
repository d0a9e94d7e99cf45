# directions: pull push
# Special files: FIFOs and sockets are recreated with their mode and time;
# device nodes only by a root receiver told to (pull --devices, serve
# --devices), otherwise skipped with a warning; --no-specials leaves them
# all out. Sourced by tests/e2e.sh.

if ! command -v mkfifo >/dev/null || ! command -v python3 >/dev/null; then
  echo "SKIP specials: needs mkfifo and python3"
else
  X=$WORK/xsrc
  rm -rf "$X" "$WORK/xdst"; mkdir -p "$X/sub" "$WORK/xdst/sub"
  mkfifo -m 640 "$X/fifo"
  python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$X/sub/sock"
  echo data > "$X/file"
  touch -h -d '2020-03-04' "$X/fifo" "$X/sub/sock"
  # In the target: a file where the FIFO goes, an extraneous FIFO.
  echo in-the-way > "$WORK/xdst/fifo"; mkfifo "$WORK/xdst/sub/stale-fifo"
  serve_mirror "$X"
  expect_exit "FIFOs and sockets: exit 0" 0 mirror_at "127.0.0.1:$PORT" -i "$WORK/xdst"
  check "the FIFO arrives as a FIFO with its mode and time, replacing a file" \
    test -p "$WORK/xdst/fifo" -a "$(stat -c '%a %Y' "$WORK/xdst/fifo")" = "640 $(stat -c %Y "$X/fifo")"
  check "the socket arrives as a socket" test -S "$WORK/xdst/sub/sock"
  check "the extraneous FIFO is deleted" test ! -e "$WORK/xdst/sub/stale-fifo"
  check "they are itemized as special files" grep -q '^+S fifo' "$WORK/last.out"
  expect_exit "a re-sync: exit 0" 0 mirror_at "127.0.0.1:$PORT" -i "$WORK/xdst"
  check "a re-sync changes nothing" test ! -s "$WORK/last.out"
  rm -rf "$WORK/xdst2"
  expect_exit "--no-specials: exit 0" 0 mirror_at "127.0.0.1:$PORT" --no-specials "$WORK/xdst2"
  check "--no-specials: no FIFO, no socket, the file" \
    test ! -e "$WORK/xdst2/fifo" -a ! -e "$WORK/xdst2/sub/sock" -a -f "$WORK/xdst2/file"
  stop_server

  if [ "$(id -u)" = 0 ] && mknod "$X/null" c 1 3 2>/dev/null; then
    rm -rf "$WORK/xdst3"
    serve_mirror "$X"
    expect_exit "a device node without --devices: exit 0" 0 mirror_at "127.0.0.1:$PORT" "$WORK/xdst3"
    check "it is skipped, with a warning" \
      test ! -e "$WORK/xdst3/null" -a -n "$(grep 'device node skipped: null' "$WORK/last.err")"
    stop_server
    if pull_only; then
      start_server "$X"
      expect_exit "pull --devices: exit 0" 0 "$TS" pull --devices "127.0.0.1:$PORT" "$WORK/xdst3"
    else
      start_server "$WORK" --writable --devices
      expect_exit "a push into serve --devices: exit 0" 0 "$TS" push "$X" "127.0.0.1:$PORT/xdst3"
    fi
    check "the device node arrives with its numbers" \
      test -c "$WORK/xdst3/null" -a "$(stat -c '%t:%T' "$WORK/xdst3/null")" = "1:3"
    stop_server
    rm -f "$X/null"
  fi
fi
