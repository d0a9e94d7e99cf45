# directions: pull push
# Sparse files: holes are found on the sender and not sent; the receiver
# leaves them as holes; the whole-file hash covers every byte; delta and
# resume keep them. Sourced by tests/e2e.sh.

# disk_bytes FILE: what FILE takes on disk.
disk_bytes() { echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") )); }
wire_bytes() { sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p' "$1" | tail -1; }

S=$WORK/ssrc
rm -rf "$S" "$WORK/sdst"; mkdir -p "$S"
# A 100 MiB disk image holding 4 KiB of data, one that ends in data, and
# one that is all hole.
truncate -s 100M "$S/image"
head -c 4096 /dev/urandom | dd of="$S/image" bs=4096 seek=6000 conv=notrunc 2>/dev/null
truncate -s 10M "$S/tail"; printf 'the end' >> "$S/tail"
truncate -s 5M "$S/empty-image"
touch -d '2020-02-02' "$S"/*
if [ "$(disk_bytes "$S/image")" -ge $((1 << 20)) ]; then
  echo "SKIP sparse: this file system does not keep holes ($WORK)"
else
  serve_mirror "$S"
  expect_exit "a tree of sparse files: exit 0" 0 mirror --json "$WORK/sdst"
  w=$(wire_bytes "$WORK/last.out")
  check "100 MiB with 4 KiB of data and 15 MiB of other holes cross in under 64 KiB (${w:-?} B)" \
    test -n "$w" -a "${w:-999999}" -lt 65536
  check "the copies are byte-exact" same_tree "$S" "$WORK/sdst"
  d=$(disk_bytes "$WORK/sdst/image")
  check "the 100 MiB image takes under 1 MiB of the receiver's disk ($d B)" test "$d" -lt $((1 << 20))
  check "an all-hole file takes no data blocks" test "$(disk_bytes "$WORK/sdst/empty-image")" -lt 65536
  check "a file ending in data ends in it" test "$(tail -c 7 "$WORK/sdst/tail")" = "the end"

  # A change inside the image: sent as a delta against the old version,
  # whose holes stay holes in the new one. Zeros a file without holes
  # holds as data arrive as data.
  head -c $((1 << 20)) /dev/zero > "$S/written-zeros"; printf x >> "$S/written-zeros"
  printf 'changed in the middle' | dd of="$S/image" bs=1 seek=$((50 << 20)) conv=notrunc 2>/dev/null
  touch -d '2020-02-03' "$S/image"
  expect_exit "a re-sync after a change in the image: exit 0" 0 mirror --json "$WORK/sdst"
  check "the image is byte-exact again" cmp -s "$S/image" "$WORK/sdst/image"
  d=$(disk_bytes "$WORK/sdst/image")
  check "and still sparse after the delta, the change's block and the data's ($d B on disk)" \
    test "$d" -le $((64 << 10))
  check "written zeros of a file without holes arrive as written" \
    test "$(disk_bytes "$WORK/sdst/written-zeros")" -ge $((1 << 20))
  stop_server

  # Resume: a transfer cut off between two runs of data picks up after
  # what arrived, holes included.
  R=$WORK/rsrc
  rm -rf "$R" "$WORK/rdst"; mkdir -p "$R"
  truncate -s 64M "$R/scattered"
  for i in 1 2 3 4 5 6 7 8; do
    head -c $((128 << 10)) /dev/urandom | dd of="$R/scattered" bs=1M seek=$((i * 7)) conv=notrunc 2>/dev/null
  done
  serve_mirror "$R"
  if pull_only; then
    "$TS" pull -q --bwlimit 256K "127.0.0.1:$PORT" "$WORK/rdst" 2>/dev/null &
  else
    "$TS" push -q --bwlimit 256K "$R" "127.0.0.1:$PORT/rdst" 2>/dev/null &
  fi
  cut=$!
  sleep 1.5
  kill -9 $cut 2>/dev/null; wait $cut 2>/dev/null
  if [ "$DIRECTION" = push ]; then
    for _ in $(seq 1 200); do grep -q ' push entries_received=' "$SERVER_LOG" && break; sleep 0.05; done
  fi
  check "the cut-off transfer left its temporary" test -n "$(find "$WORK/rdst" -name '.treesync-*.tmp')"
  expect_exit "the next transfer: exit 0" 0 mirror_at "127.0.0.1:$PORT" --json "$WORK/rdst"
  check "it resumed" grep -q '"bytes_resumed":[1-9]' "$WORK/last.out"
  check "the resumed file is byte-exact" cmp -s "$R/scattered" "$WORK/rdst/scattered"
  d=$(disk_bytes "$WORK/rdst/scattered")
  check "and sparse: 1 MiB of data, $d B on disk" test "$d" -lt $((2 << 20))
  check "no temporaries left" no_temporaries "$WORK/rdst"
  stop_server
fi
