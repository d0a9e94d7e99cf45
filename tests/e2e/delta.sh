# Delta transfer of changed files and local copies for renamed ones.
# Sourced by tests/e2e.sh.
# directions: pull push

SRC=$WORK/src
mkdir -p "$SRC/sub"
head -c 4194304 /dev/urandom > "$SRC/big.bin"
head -c 3000000 /dev/urandom > "$SRC/sub/other.bin"
start_server "$SRC"
mirror "$WORK/copy" >/dev/null 2>&1

wire_of() { sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p' "$WORK/last.out"; }

# 64 KiB changed in the middle of 4 MiB.
head -c 65536 /dev/urandom | dd of="$SRC/big.bin" bs=1 seek=2000000 conv=notrunc status=none
expect_exit "delta pull after an edit exits 0" 0 mirror --json "$WORK/copy"
check "delta: edited file is byte-exact" cmp -s "$SRC/big.bin" "$WORK/copy/big.bin"
w=$(wire_of)
check "delta: an edit of 64 KiB in 4 MiB costs little on the wire ($w bytes)" test "$w" -lt 600000

# Bytes inserted at the front: every block shifts.
{ printf 'inserted at the front'; cat "$SRC/big.bin"; } > "$WORK/shifted" && mv "$WORK/shifted" "$SRC/big.bin"
expect_exit "delta pull after an insertion exits 0" 0 mirror --json "$WORK/copy"
check "delta: shifted file is byte-exact" cmp -s "$SRC/big.bin" "$WORK/copy/big.bin"
w=$(wire_of)
check "delta: an insertion at the front costs little ($w bytes)" test "$w" -lt 600000

# Truncation and growth.
truncate -s 2500000 "$SRC/big.bin"
head -c 100000 /dev/urandom >> "$SRC/sub/other.bin"
expect_exit "delta pull after truncation and growth exits 0" 0 mirror "$WORK/copy"
check "delta: truncated and grown files are byte-exact" same_tree "$SRC" "$WORK/copy"

# A block whose rolling sum and first two strong bytes are the basis's,
# with other bytes: the first delta (2-byte strong sums for a basis of
# 128 KiB) rebuilds the basis, the file's hash says so, and the next try,
# with whole sums, gets it right.
"$TOOLS/sum_collision" "$SRC/collide.bin" "$WORK/collide.new"
touch -d '2 hours ago' "$SRC/collide.bin"
expect_exit "delta: a pull of the basis exits 0" 0 mirror "$WORK/copy"
cp "$WORK/collide.new" "$SRC/collide.bin"
expect_exit "delta: a pull after a change the short sums miss exits 0" 0 mirror "$WORK/copy"
check "delta: a block the short sums took for the basis's is fetched again, byte-exact" \
  cmp -s "$WORK/collide.new" "$WORK/copy/collide.bin"
rm -f "$SRC/collide.bin"

# A rename and a copy on the server: the client rebuilds from what it has.
mv "$SRC/sub/other.bin" "$SRC/renamed.bin"
cp -p "$SRC/big.bin" "$SRC/sub/copy-of-big.bin"
expect_exit "pull after a rename and a copy exits 0" 0 mirror --json "$WORK/copy"
check "rename: mirror is exact, old name gone" same_tree "$SRC" "$WORK/copy"
w=$(wire_of)
check "rename and copy travel as local copies ($w bytes on the wire for 5.6 MB)" test "$w" -lt 600000
stop_server
