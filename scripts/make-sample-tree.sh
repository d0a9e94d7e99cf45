#!/usr/bin/env bash
# make-sample-tree.sh DIR: fills DIR with the cases that broke the original
# CMB design, for the demo and the end-to-end tests: the markers and command
# words inside file data (also right at 4096-byte chunk boundaries), empty
# files and folders, sizes around 4096, a 5 MiB random file, 24 levels of
# nesting, exotic names, symlinks (one dangling) and exec bits.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

printf 'CMB_BEGIN' > marker-begin.txt
printf 'before CMB_END after' > marker-end.txt
printf 'CMB_BEGINSyncCMB_END' > whole-command.txt
printf 'End' > just-End
printf 'End of the line\n' > starts-with-End
printf 'File:notreal' > starts-with-File
printf 'Folder:notreal' > starts-with-Folder
printf 'Sync' > just-Sync
# A command word at the start of the second 4096-byte chunk.
{ head -c 4096 /dev/zero | tr '\0' 'a'; printf 'End'; printf 'CMB_END'; } > End-at-chunk-boundary
: > empty-file
mkdir -p empty-folder nested-empty/inner
for n in 4095 4096 4097; do head -c $n /dev/zero | tr '\0' 'x' > size-$n; done
# Random bytes, with every marker spliced in somewhere.
head -c 5242880 /dev/urandom > random-5MiB.bin
printf 'CMB_ENDEndFile:' | dd of=random-5MiB.bin bs=1 seek=1048576 conv=notrunc status=none

deep=.
for i in $(seq 1 24); do deep=$deep/level$i; done
mkdir -p "$deep"
printf 'deep\n' > "$deep/bottom.txt"

mkdir -p names
printf 1 > 'names/with space'
printf 2 > 'names/-leading-dash'
printf 3 > "names/new
line"
printf 4 > 'names/back\slash'
printf 5 > "names/$(printf 'bad\377utf8')"
printf 6 > 'names/ünïcødé ✓'
printf 7 > 'names/CMB_END'

printf '#!/bin/sh\necho hi\n' > run.sh
chmod 755 run.sh
chmod 640 marker-end.txt
ln -s run.sh link-to-file
ln -s names link-to-folder
ln -s does/not/exist dangling-link
ln -s ../../marker-end.txt nested-empty/inner/up-link
# Fixed times make the mirror's times easy to check.
touch -h -d '2001-02-03 04:05:06.123456789' link-to-file marker-begin.txt
