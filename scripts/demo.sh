#!/usr/bin/env bash
# make demo: serve a generated sample tree on a free loopback port, pull it
# into BUILD/demo/copy, check that the copy is exact, and say what happened.
set -eu
BUILD=${1:-build}
TS=$BUILD/treesync
DEMO=$BUILD/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
bash "$(dirname "$0")/make-sample-tree.sh" "$DEMO/source"
echo "1. Sample tree in $DEMO/source: $(find "$DEMO/source" -mindepth 1 | wc -l) entries, including"
echo "   files holding CMB_BEGIN/CMB_END and command words, empty files and folders,"
echo "   24 levels of nesting, odd names, symlinks (one dangling) and an executable."

"$TS" serve --port 0 --bind 127.0.0.1 --once "$DEMO/source" 2>"$DEMO/server.log" &
server=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*serving .* on .*:\([0-9][0-9]*\)$/\1/p' "$DEMO/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$DEMO/server.log"; exit 1; }
echo "2. Serving it:  $TS serve --port $port --bind 127.0.0.1 --once $DEMO/source"

echo "3. Pulling it:  $TS pull -v 127.0.0.1:$port $DEMO/copy"
"$TS" pull -v "127.0.0.1:$port" "$DEMO/copy" | sed 's/^/     /' | tail -n 8
wait $server || true
echo "   (server log: $(tail -n 1 "$DEMO/server.log"))"

listing() {
  (cd "$1" && find . -mindepth 1 -type d -printf 'd %P %m %T@\0' &&
     find . -mindepth 1 ! -type d -printf '%y %P %m %T@ %s %l\0') | sort -z
}
if cmp -s <(listing "$DEMO/source") <(listing "$DEMO/copy") &&
   diff -r --no-dereference "$DEMO/source" "$DEMO/copy" >/dev/null; then
  echo "4. Checked: the copy matches byte for byte, with the same symlinks, modes and mtimes."
else
  echo "4. MISMATCH between $DEMO/source and $DEMO/copy" >&2
  exit 1
fi
echo
echo "Next: serve a real folder with '$TS serve DIR' and pull it from another host with"
echo "'$TS pull HOST DIR'. '$TS --help' lists the options and exit codes."
