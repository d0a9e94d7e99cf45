#!/usr/bin/env bash
# cross-test.sh: builds the static and cross binaries and runs the
# end-to-end cases with each, in both directions against the host build:
#   aarch64 and armhf under qemu-user, Windows under Wine.
# A target whose tools are missing is skipped and said so. Exit 1 if any
# case failed. Run by hand, and by CI when the tools are installed.
#   CROSS_TARGETS (default "aarch64 armhf windows"): which targets to run.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
status=0
TARGETS=" ${CROSS_TARGETS:-aarch64 armhf windows} "
have() { command -v "$1" >/dev/null 2>&1; }

# The static host binary, built twice in two folders: the same bytes, or
# the build is not reproducible (make reproducible).
make -s -j"$(nproc)" all || exit 1
make -s -j"$(nproc)" reproducible 2>&1 | grep -v 'statically linked\|in function' || status=1
echo "static host binary: $(stat -c %s build/static/treesync) bytes"

# wrapper DIR SERVE_CMD PULL_CMD: a treesync stand-in that serves with one
# binary and pulls with the other, so the e2e cases cross the two.
wrapper() {
  mkdir -p "$1"
  cat > "$1/treesync" <<W
#!/usr/bin/env bash
case "\$1" in
  serve) exec $2 "\$@" ;;
  *) exec $3 "\$@" ;;
esac
W
  chmod +x "$1/treesync"
}

run_pair() { # name emu binary cases...
  local name=$1 emu=$2 bin=$3; shift 3
  local foreign="$emu $ROOT/$bin" host="$ROOT/build/treesync"
  [ -z "$emu" ] && foreign="$ROOT/$bin"
  wrapper "build/cross/$name-serves" "$foreign" "$host"
  wrapper "build/cross/$name-pulls" "$host" "$foreign"
  for dir in "$name-serves" "$name-pulls"; do
    echo "== $dir"
    # FOREIGN_OS and FOREIGN_SIDE tell the cases which side runs what;
    # FOREIGN_EXE is the foreign binary itself, for a foreign client to spawn.
    FOREIGN_OS=$([ "$name" = windows ] && echo windows || echo linux) FOREIGN_EXE="$ROOT/$bin" \
    FOREIGN_SIDE=$([ "$dir" = "$name-serves" ] && echo server || echo client) \
      timeout 900 bash tests/e2e.sh "build/cross/$dir" "$@" > "build/cross/$dir.log" 2>&1 || status=1
    tail -n 1 "build/cross/$dir.log"
    grep -B2 '^FAIL' "build/cross/$dir.log"
    # The first case once more with -z: compression across the two builds.
    FOREIGN_OS=$([ "$name" = windows ] && echo windows || echo linux) FOREIGN_EXE="$ROOT/$bin" \
    FOREIGN_SIDE=$([ "$dir" = "$name-serves" ] && echo server || echo client) E2E_COMPRESS=1 \
      timeout 900 bash tests/e2e.sh "build/cross/$dir" "$1" > "build/cross/$dir-z.log" 2>&1 || status=1
    echo "$(tail -n 1 "build/cross/$dir-z.log") (-z)"
    grep -B2 '^FAIL' "build/cross/$dir-z.log"
  done
}

# encryption.sh: the crypto across the two builds (armhf has no 128-bit
# product, so its Poly1305 is the portable 26-bit form).
CASES=(tests/e2e/core.sh tests/e2e/exit_codes.sh tests/e2e/encryption.sh)

for arch in aarch64 armhf; do
  [[ $TARGETS == *" $arch "* ]] || continue
  case $arch in
    aarch64) cxx=aarch64-linux-gnu-g++ emu=qemu-aarch64-static ;;
    armhf) cxx=arm-linux-gnueabihf-g++ emu=qemu-arm-static ;;
  esac
  if ! have "$cxx" || ! have "$emu"; then
    echo "SKIP $arch: needs $cxx and $emu (apt-get install g++-${arch/armhf/arm-linux-gnueabihf} qemu-user-static)"
    continue
  fi
  make -s "static-$arch" || { status=1; continue; }
  echo "$arch binary: $(stat -c %s "build/$arch/treesync") bytes ($(file -b "build/$arch/treesync" | cut -d, -f1-2))"
  run_pair "$arch" "$emu" "build/$arch/treesync" "${CASES[@]}"
done

if [[ $TARGETS != *" windows "* ]]; then
  :
elif have x86_64-w64-mingw32-g++-posix && have wine; then
  make -s windows || status=1
  if [ -f build/windows/treesync.exe ]; then
    echo "windows binary: $(stat -c %s build/windows/treesync.exe) bytes"
    export WINEDEBUG=-all
    wine build/windows/treesync.exe --version >/dev/null 2>&1 || true  # first run sets up the prefix
    run_pair windows wine build/windows/treesync.exe tests/e2e/windows.sh tests/e2e/exit_codes.sh
  fi
else
  echo "SKIP windows: needs x86_64-w64-mingw32-g++-posix and wine (apt-get install g++-mingw-w64-x86-64 wine)"
fi
exit $status
