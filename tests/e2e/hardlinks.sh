# directions: pull push
# Hard links: the names a file has on the sender arrive as names of one
# file, its data sent once; a later sync links split copies again and
# follows a change to the file. Sourced by tests/e2e.sh.

# link_groups DIR: each set of names of one file below DIR (files with
# more than one name), a line each, names sorted.
link_groups() {
  (cd "$1" && find . -type f -links +1 -printf '%i %P\n') | sort -k1,1n -k2,2 |
    awk '$1 != last { if (line != "") print line; line = $2; last = $1; next }
         { line = line " " $2 } END { if (line != "") print line }' | sort
}
same_links() { test "$(link_groups "$1")" = "$(link_groups "$2")"; }
wire_bytes() { sed -n 's/.*"bytes_on_wire":\([0-9]*\).*/\1/p' "$1" | tail -1; }

H=$WORK/hsrc
rm -rf "$H" "$WORK"/hdst*; mkdir -p "$H/a" "$H/b/deep" "$H/c"
head -c $((2 << 20)) /dev/urandom > "$H/a/big"
ln "$H/a/big" "$H/b/deep/big-link"
ln "$H/a/big" "$H/c/zz-third"
printf small > "$H/a/small"; ln "$H/a/small" "$H/a/small2"
echo single > "$H/c/single"
touch -d 2020-03-03 "$H"/a/* "$H"/c/* "$H/b/deep/big-link" "$H/b/deep" "$H/b" "$H/a" "$H/c"

serve_mirror "$H"
expect_exit "a tree with hard links across folders: exit 0" 0 mirror --json "$WORK/hdst"
check "the copy is exact, folder times included" same_tree "$H" "$WORK/hdst"
check "its names of one file are names of one file" same_links "$H" "$WORK/hdst"
check "there are two such groups" test "$(link_groups "$WORK/hdst" | wc -l)" = 2
w=$(wire_bytes "$WORK/last.out")
check "a 2 MiB file with three names crosses once (${w:-?} B)" \
  test -n "$w" -a "${w:-99999999}" -lt $((3 << 20))

expect_exit "a re-sync: exit 0" 0 mirror -i "$WORK/hdst"
check "a re-sync of linked files changes nothing" test ! -s "$WORK/last.out"

# Split copies (a tool that copied one name over): linked again.
rm "$WORK/hdst/b/deep/big-link"; cp -p "$WORK/hdst/a/big" "$WORK/hdst/b/deep/big-link"
expect_exit "a re-sync after a name was split off: exit 0" 0 mirror -i "$WORK/hdst"
check "the split name is linked again, itemized hf" grep -qx 'hf b/deep/big-link' "$WORK/last.out"
check "and nothing else changes" test "$(wc -l < "$WORK/last.out")" = 1
check "the groups are the source's again" same_links "$H" "$WORK/hdst"
check "the copy is still exact" same_tree "$H" "$WORK/hdst"

# A change to the file: its data crosses once and every name follows; a
# new name is linked, not sent.
printf 'changed' | dd of="$H/a/big" bs=1 seek=1000 conv=notrunc 2>/dev/null
touch -d 2020-03-04 "$H/a/big"
ln "$H/a/big" "$H/c/new-name"
touch -d 2020-03-03 "$H/c"
expect_exit "a dry run of that: exit 0" 0 mirror -n -i "$WORK/hdst"
check "a dry run says every name of the changed file would be linked again" \
  test "$(grep -c -e '^>f a/big$' -e '^hf b/deep/big-link$' -e '^hf c/zz-third$' -e '^hf c/new-name$' \
          "$WORK/last.out")" = 4
expect_exit "a re-sync after the file changed and got a new name: exit 0" 0 mirror -i "$WORK/hdst"
check "the new name is linked" grep -qx 'hf c/new-name' "$WORK/last.out"
check "the changed file is exact under every name" same_tree "$H" "$WORK/hdst"
check "and its names are one file" same_links "$H" "$WORK/hdst"

# A name split off at the source and changed there: its new version
# replaces that name only, never the file's other name. (Split off and
# unchanged, it stays a link here, as with rsync -H: the links a file has
# beyond the listing, an older snapshot's say, are kept.)
rm "$H/a/small2"; printf "split off" > "$H/a/small2"; touch -d 2020-03-03 "$H/a/small2" "$H/a"
expect_exit "a re-sync after a name was split off at the source and changed: exit 0" 0 \
  mirror "$WORK/hdst"
check "it is split off here too" same_links "$H" "$WORK/hdst"
check "the other name keeps its data" test "$(cat "$WORK/hdst/a/small")" = small
check "and the copy is exact" same_tree "$H" "$WORK/hdst"

expect_exit "--no-hard-links: exit 0" 0 mirror --no-hard-links "$WORK/hdst2"
check "--no-hard-links copies each name on its own" test -z "$(link_groups "$WORK/hdst2")"
check "--no-hard-links: the copy is exact otherwise" same_tree "$H" "$WORK/hdst2"

# The group's first name left out: the other names still arrive linked.
expect_exit "a group whose first name is excluded: exit 0" 0 mirror --exclude /a/big "$WORK/hdst3"
check "its other names are one file" \
  test "$(link_groups "$WORK/hdst3")" = "b/deep/big-link c/new-name c/zz-third"
check "the excluded name is not there" test ! -e "$WORK/hdst3/a/big"

expect_exit "a dry run of linked files: exit 0" 0 mirror -n -i "$WORK/hdst4"
check "a dry run says which names it would link" grep -qx 'hf c/zz-third' "$WORK/last.out"
check "and makes nothing" test ! -e "$WORK/hdst4/c/zz-third"
stop_server

# Memory: 100,000 files with a second name each in a folder listed after
# all of them, so every group stays open: the sender keeps 65,536 groups
# at most (the rest arrive as copies) and neither side passes 64 MiB.
if pull_only && command -v python3 >/dev/null && [ -x /usr/bin/time ]; then
  M=$WORK/many-links
  rm -rf "$M" "$WORK/mdst"
  python3 - "$M" <<'PY'
import os, sys
root = sys.argv[1]
os.makedirs(root + "/a"); os.makedirs(root + "/z")
for i in range(100000):
    p = "%s/a/f%06d" % (root, i)
    with open(p, "w") as f:
        f.write("x%d" % i)
    os.link(p, "%s/z/g%06d" % (root, i))
PY
  log=$WORK/many-links.server
  /usr/bin/time -f 'peak %M' -o "$WORK/many-links.srss" \
    "$TS" serve --once --port 0 --bind 127.0.0.1 "$M" 2>"$log" &
  spid=$!
  mport=$(port_from_log "$log")
  expect_exit "100,000 open link groups: exit 0" 0 \
    /usr/bin/time -f 'peak %M' -o "$WORK/many-links.crss" "$TS" pull -q "127.0.0.1:$mport" "$WORK/mdst"
  exits_within $spid 20
  crss=$(sed -n 's/^peak //p' "$WORK/many-links.crss"); srss=$(sed -n 's/^peak //p' "$WORK/many-links.srss")
  check "65,536 of them arrive linked, the rest as copies" \
    test "$(find "$WORK/mdst" -type f -links 2 | wc -l)" = 131072
  check "every name's data is exact" diff -r "$M" "$WORK/mdst"
  check "the client stays within 64 MiB (${crss:-?} KiB)" test "${crss:-999999}" -lt 65536
  check "the server stays within 64 MiB (${srss:-?} KiB)" test "${srss:-999999}" -lt 65536
  rm -rf "$M" "$WORK/mdst"
fi
