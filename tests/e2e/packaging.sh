# What a packager and a newcomer see: make install and uninstall (exactly
# the binary and the man page), make dist (exactly the tracked files), each
# command's --help naming each option once, --version --json.
# Sourced by tests/e2e.sh.
# compress: skip: it is about install, dist and --help; no transfer

ROOT=$(cd "$HERE/.." && pwd)

# Each command's help, and each option in it once.
for cmd in serve pull push keygen; do
  expect_exit "$cmd --help: exit 0" 0 "$TS" $cmd --help
  dups=$(grep -o '^ *-[-a-zA-Z]*\(, --[a-z-]*\)\?' "$WORK/last.out" | tr ',' '\n' | tr -d ' ' |
         grep . | sort | uniq -d | paste -sd' ')
  check "$cmd --help: each option once${dups:+ (twice: $dups)}" test -z "$dups"
done
expect_exit "pull --help: only pull's part" 0 "$TS" pull --help
check "  ... not serve's" test -z "$(grep -e '--max-clients' "$WORK/last.out")"
check "  ... with the exit codes" grep -q '23  partial transfer' "$WORK/last.out"
expect_exit "--help: every command" 0 "$TS" --help
check "  ... serve, keygen, pull and push" \
  test "$(grep -c '^  treesync \(serve\|keygen\|pull\|push\) ' "$WORK/last.out")" = 4

expect_exit "--version --json: exit 0" 0 "$TS" --version --json
if command -v python3 >/dev/null; then
  check "  ... one JSON object with name, version, protocol, json_schema" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
v = json.loads(lines[0])
assert list(v) == ["name", "version", "protocol", "json_schema"], v
assert v["name"] == "treesync" and isinstance(v["protocol"], int) and v["json_schema"] == 1, v
' "$WORK/last.out"
fi
expect_exit "--version with something else: usage error" 1 "$TS" --version --yaml

# make install / uninstall into a staging root.
if command -v make >/dev/null && [ -f "$BUILD/treesync" ]; then
  STAGE=$WORK/stage
  expect_exit "make install DESTDIR PREFIX: exit 0" 0 \
    make -s -C "$ROOT" install BUILD="$BUILD" DESTDIR="$STAGE" PREFIX=/usr/local
  check "  ... the binary and the man page, nothing else" test "$(cd "$STAGE" && find . -type f | sort | paste -sd' ')" = \
    "./usr/local/bin/treesync ./usr/local/share/man/man1/treesync.1"
  check "  ... the installed binary runs" "$STAGE/usr/local/bin/treesync" --version
  check "  ... executable, and the man page not" \
    test -x "$STAGE/usr/local/bin/treesync" -a ! -x "$STAGE/usr/local/share/man/man1/treesync.1"
  expect_exit "make uninstall: exit 0" 0 \
    make -s -C "$ROOT" uninstall BUILD="$BUILD" DESTDIR="$STAGE" PREFIX=/usr/local
  check "  ... removes exactly those" test -z "$(find "$STAGE" -type f)"
fi

# make dist: a tarball of exactly what git tracks at HEAD.
if command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  expect_exit "make dist: exit 0" 0 make -s -C "$ROOT" dist BUILD="$WORK/dist"
  TARBALL=$(ls "$WORK"/dist/treesync-*.tar.gz 2>/dev/null | head -1)
  check "  ... a treesync-VERSION.tar.gz" test -n "$TARBALL"
  if [ -n "$TARBALL" ]; then
    check "  ... holding exactly the tracked files" cmp -s \
      <(tar tzf "$TARBALL" | grep -v '/$' | sed 's|^[^/]*/||' | sort) \
      <(git -C "$ROOT" ls-tree -r --name-only HEAD | sort)
    cp "$TARBALL" "$WORK/first.tar.gz"
    make -s -C "$ROOT" dist BUILD="$WORK/dist" >/dev/null
    check "  ... the same bytes when made again" cmp -s "$TARBALL" "$WORK/first.tar.gz"
  fi
else
  echo "SKIP make dist (not a git checkout)"
fi
