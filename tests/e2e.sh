#!/usr/bin/env bash
# End-to-end tests: run the real treesync binary on loopback.
#   tests/e2e.sh BUILD_DIR [CASE_FILE...]   (default: every tests/e2e/*.sh)
# Each case file is sourced with $TS (the binary), $TOOLS (built test tools)
# and $WORK (its own scratch folder) set, and uses check / expect_exit below.
# A case file with the line "# directions: pull push" runs twice: as it is,
# then with DIRECTION=push, where `mirror` pushes instead of pulling (its
# checks are then named "[push] ..."). Prints one line per check and
# closes with "N passed, N failed". KEEP_SCRATCH=1 keeps the scratch folder.
# E2E_COMPRESS=1 runs every case with compression: $TS then gives every
# pull and push -z (but --legacy-cmb ones, which have none), and check
# names end in " [-z]". A case file with a line "# compress: skip: WHY" is
# left out of that run. Every line a run with --json prints is kept, and
# the last check is that all of them match docs/json-schema.json
# (docs/JSON.md; tests/tools/check_json.py, skipped without python3).
set -u
BUILD=$(cd "${1:-build}" && pwd)
shift || true
TS=$BUILD/treesync
TOOLS=$BUILD/tools
HERE=$(cd "$(dirname "$0")" && pwd)
# tmpfs when there is one: the trees here are large and disposable.
SCRATCH=$(mktemp -d /dev/shm/treesync-e2e.XXXXXX 2>/dev/null || mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -n "${KEEP_SCRATCH:-}" ] || rm -rf "$SCRATCH"' EXIT
# The user's own keys and known hosts (~/.config/treesync) stay out of it.
export XDG_CONFIG_HOME=$SCRATCH/config
COMPRESSED=
[ "${E2E_COMPRESS:-0}" = 1 ] && COMPRESSED=" [-z]"
# $TS is a stand-in for $BUILD/treesync (whatever that is: cross-test.sh
# makes it a script of its own) that ends in an exec of it, so that the
# run's pid, stdin, stdout, exit code and signals are the binary's own.
# Under E2E_COMPRESS=1 it adds -z. Of a run with --json it keeps a copy
# of stdout in $JSON_DIR/PID-N.jsonl (PID-N.args: the case and the
# command), for the check at the end:
# - stdout a regular file (> FILE, as the cases do): the binary writes it
#   itself, as without the stand-in, so a case reading FILE right after
#   the run reads all of it. Once the binary is gone, a reader copies
#   what it wrote there. expect_exit waits for that (json_settle); a case
#   that writes FILE again at once may leave no copy (PID-N.lost);
# - stdout anything else (a pipe, /dev/null): through tee;
# - stdout and stderr the same file or pipe, or no stdout: no copy.
# While a copy is being made, PID-N.pending exists.
REAL_TS=$TS
TS=$SCRATCH/bin/treesync
JSON_DIR=$SCRATCH/json
mkdir -p "$SCRATCH/bin" "$JSON_DIR"
{
  echo "#!$BASH"
  printf 'REAL=%q JSON_DIR=%q COMPRESS=%q TEE=%q HEAD=%q STAT=%q\n' "$REAL_TS" "$JSON_DIR" \
    "${E2E_COMPRESS:-0}" "$(command -v tee)" "$(command -v head)" "$(command -v stat)"
  cat <<'WRAPPER'
if [ "$COMPRESS" = 1 ]; then
  case "$1" in
    pull|push) [[ " $* " == *" --legacy-cmb "* ]] || set -- "$1" -z "${@:2}" ;;
  esac
fi
[[ " $* " == *" --json "* ]] || exec "$REAL" "$@"
[ -e /proc/$$/fd/1 ] && [ ! /proc/$$/fd/1 -ef /proc/$$/fd/2 ] || exec "$REAL" "$@"
base=$JSON_DIR/$$-$RANDOM$RANDOM
{ printf '%s\n' "${E2E_CASE_NAME:-}"; printf 'treesync'; printf ' %q' "$@"; echo; } \
  2>/dev/null >"$base.args" || exec "$REAL" "$@"
: >"$base.pending"
if [ -f /proc/$$/fd/1 ]; then
  { exec {copy}</proc/$$/fd/1; } 2>/dev/null || { rm -f "$base.pending"; exec "$REAL" "$@"; }
  # Where this run's output starts: the offset, or with O_APPEND the end.
  start=0 flags=0
  while read -r key value _; do
    case $key in pos:) start=$value ;; flags:) flags=$value ;; esac
  done </proc/$$/fdinfo/1
  (( 8#$flags & 02000 )) && start=$("$STAT" -L -c %s /proc/$$/fd/1)
  # The reader: its stdin is a pipe the binary inherits, which closes
  # when the binary exits (or, should a child of it keep it open, the
  # binary's pid is gone). Its stdout shares the binary's offset, which
  # then says where the binary's output ends. Should the file be shorter
  # by then (written again at once), what it had is lost: PID-N.lost.
  exec {running}> >(
    exec {out}>&1 >/dev/null 2>&1
    trap '' INT
    while read -r -t 0.5 _; [ $? -gt 128 ] && kill -0 $$ 2>/dev/null; do :; done
    end=$start
    while read -r key value _; do [ "$key" = pos: ] && end=$value; done </proc/self/fdinfo/$out
    n=$((end > start ? end - start : 0))
    { "$HEAD" -c "$start" >/dev/null; "$HEAD" -c "$n"; } <&$copy >"$base.part"
    if [ "$("$STAT" -c %s "$base.part")" = "$n" ]; then
      mv -f "$base.part" "$base.jsonl"
    else
      mv -f "$base.part" "$base.lost"
    fi
    rm -f "$base.pending"
  )
  exec "$REAL" "$@" {copy}<&-
fi
exec "$REAL" "$@" > >(trap '' INT; "$TEE" -a "$base.jsonl" 2>/dev/null; rm -f "$base.pending")
WRAPPER
} >"$TS"
chmod +x "$TS"
passed=0
failed=0
failures=()

DIRECTION=pull
label() { if [ "$DIRECTION" = push ]; then echo "[push] $1$COMPRESSED"; else echo "$1$COMPRESSED"; fi; }
pass() { passed=$((passed + 1)); echo "PASS $(label "$1")"; }
fail() {
  failed=$((failed + 1)); failures+=("$(label "$1")"); echo "FAIL $(label "$1")"
  [ -s "$WORK/last.err" ] && sed 's/^/    stderr: /' "$WORK/last.err" | head -5
  return 0
}

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# json_settle [SECONDS]: waits (up to SECONDS, default 5, for each) until
# the copies of what finished --json runs printed are whole; runs still
# going (a --watch in the background) are not waited for. A copy not done
# by then is not waited for again (its marker becomes PID-N.stuck).
json_settle() {
  local m pid n
  for m in "$JSON_DIR"/*.pending; do
    [ -e "$m" ] || continue
    pid=${m##*/}
    kill -0 "${pid%%-*}" 2>/dev/null && continue
    n=$((${1:-5} * 50))
    while [ -e "$m" ] && [ $n -gt 0 ]; do sleep 0.02; n=$((n - 1)); done
    [ -e "$m" ] && mv -f "$m" "${m%.pending}.stuck" 2>/dev/null
  done
  return 0
}

# expect_exit NAME CODE COMMAND...: passes when COMMAND exits with CODE.
# Its stdout and stderr are kept in $WORK/last.out and $WORK/last.err.
expect_exit() {
  local name=$1 want=$2; shift 2
  "$@" >"$WORK/last.out" 2>"$WORK/last.err"
  local got=$?
  json_settle  # so that the next expect_exit can't write last.out under its copy
  if [ "$got" = "$want" ]; then pass "$name"; else
    echo "    exit $got, wanted $want: $(head -c 300 "$WORK/last.err" | head -n 2)"; fail "$name"
  fi
}

# port_from_log LOG: waits up to 5 s for a server's "serving DIR on
# ADDR:PORT" line in LOG and prints PORT; fails if none comes. (A Windows
# server ends its lines in CR LF.)
port_from_log() {
  local port
  for _ in $(seq 1 100); do
    port=$(tr -d '\r' < "$1" | sed -n 's/.*serving .* on .*:\([0-9][0-9]*\)$/\1/p' | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  echo "server did not start: $(cat "$1")" >&2
  return 1
}

# start_server DIR [OPTIONS...]: serves DIR on a free loopback port; sets
# SERVER_PID, PORT and SERVER_LOG, and MIRROR_SRC (what `mirror` copies).
start_server() {
  local dir=$1; shift
  MIRROR_SRC=$dir
  SERVER_LOG=$WORK/server.$RANDOM.log
  "$TS" serve --port 0 --bind 127.0.0.1 "$@" "$dir" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  PORT=$(port_from_log "$SERVER_LOG")
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  return 0
}

# mirror [OPTIONS...] DEST: makes DEST a mirror of $MIRROR_SRC and exits as
# treesync did. DIRECTION=pull: a pull from the server start_server
# started. DIRECTION=push: a push of $MIRROR_SRC into DEST, through a writable
# server started on DEST's parent for this one session.
mirror() {
  local dest=${!#}
  local opts=("${@:1:$#-1}")
  if [ "$DIRECTION" = pull ]; then
    "$TS" pull "${opts[@]}" "127.0.0.1:$PORT" "$dest"
    return
  fi
  local parent log pid port rc
  parent=$(dirname "$dest")
  log=$WORK/push-server.$RANDOM.log
  "$TS" serve --writable --once --bind 127.0.0.1 --port 0 "$parent" 2>"$log" &
  pid=$!
  port=$(port_from_log "$log") || return 10
  "$TS" push "${opts[@]}" "$MIRROR_SRC" "127.0.0.1:$port/$(basename "$dest")"
  rc=$?
  exits_within $pid 10 || echo "push server did not exit: $(cat "$log")" >&2
  return $rc
}

# serve_mirror SRC: starts the server that mirror_at copies SRC through: a
# server of SRC (pull), or a writable one of $WORK (push).
serve_mirror() {
  if [ "$DIRECTION" = push ]; then start_server "$WORK" --writable; else start_server "$1"; fi
  MIRROR_SRC=$1
}

# mirror_at ADDR [OPTIONS...] DEST: mirror, but through ADDR (a proxy in
# front of the server serve_mirror started). DEST is a folder of $WORK.
mirror_at() {
  local addr=$1; shift
  local dest=${!#}
  local opts=("${@:1:$#-1}")
  if [ "$DIRECTION" = pull ]; then
    "$TS" pull "${opts[@]}" "$addr" "$dest"
  else
    "$TS" push "${opts[@]}" "$MIRROR_SRC" "$addr/$(basename "$dest")"
  fi
}

# pull_only: whether this run is the pull one, for checks that only make
# sense there (the server's own log, a proxy in front of it).
pull_only() { [ "$DIRECTION" = pull ]; }

# tree_listing DIR: every entry's path, type, permission bits, mtime (ns),
# size (files) and link target, NUL-separated and sorted, plus the root's
# mtime. Two trees are mirrors when these and the file contents match.
tree_listing() {
  (cd "$1" && find . -mindepth 1 -type d -printf 'd %P %m %T@\0' &&
     find . -mindepth 1 ! -type d -printf '%y %P %m %T@ %s %l\0') | sort -z
  stat -c 'root %Y' "$1"
}

# same_tree A B: A and B hold the same entries, metadata and bytes.
same_tree() {
  cmp -s <(tree_listing "$1") <(tree_listing "$2") || {
    diff <(tree_listing "$1" | tr '\0' '\n') <(tree_listing "$2" | tr '\0' '\n') | head -10 >&2
    return 1
  }
  diff -r --no-dereference "$1" "$2" >/dev/null
}

# eventually SECONDS COMMAND...: whether COMMAND succeeds within SECONDS,
# tried every 0.1 s (quietly; the last try speaks), for what arrives in
# its own time (a watching mirror).
eventually() {
  local secs=$1 i; shift
  for i in $(seq 1 $((secs * 10))); do
    "$@" 2>/dev/null && return 0
    sleep 0.1
  done
  "$@"
}

# no_temporaries DIR: no leftover .treesync-*.tmp file below DIR.
# exits_within PID SECONDS: whether PID ends within SECONDS; if not, it is
# killed, so a stuck server fails a check instead of hanging the run.
exits_within() {
  local i
  for i in $(seq 1 $(($2 * 20))); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
    sleep 0.05
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 1
}

# ipv6_case SRC SAME_TREE_FN: when the host has IPv6 loopback, serves SRC
# once on [::1], pulls it, and checks the copy and that the server exits.
ipv6_case() {
  if [ "$DIRECTION" = push ]; then
    "$TS" serve --port 0 --bind ::1 --once --writable "$WORK" 2>"$WORK/v6.log" &
  else
    "$TS" serve --port 0 --bind ::1 --once "$1" 2>"$WORK/v6.log" &
  fi
  local pid=$! port6
  if port6=$(port_from_log "$WORK/v6.log" 2>/dev/null); then
    if [ "$DIRECTION" = push ]; then
      expect_exit "IPv6 push to [::1]" 0 "$TS" push "$1" "[::1]:$port6/v6copy"
    else
      expect_exit "IPv6 pull from [::1]" 0 "$TS" pull "[::1]:$port6" "$WORK/v6copy"
    fi
    check "IPv6 copy is a mirror" "$2" "$1" "$WORK/v6copy"
    check "--once server exits after its session" exits_within $pid 10
  else
    echo "SKIP IPv6 (no ::1 here)"
    exits_within $pid 1
  fi
}

# killed_client_case FILES DELAY SAME_TREE_FN: serves FILES 1 MiB random
# files, kills a pull DELAY seconds in, and checks that no partial file sits under a
# final name, that the server still serves, and that the next pull (judged
# by SAME_TREE_FN SRC COPY) completes the mirror without temporaries.
killed_client_case() {
  local big=$WORK/big i
  mkdir -p "$big"
  for i in $(seq 1 "$1"); do head -c 1048576 /dev/urandom > "$big/f$i"; done
  # The same copy both ways: a pull from a server of $big, or a push of it
  # into a writable server of $WORK.
  local copy
  if [ "$DIRECTION" = push ]; then
    start_server "$WORK" --writable
    copy=("$TS" push "$big" "127.0.0.1:$PORT/killed")
  else
    start_server "$big"
    copy=("$TS" pull "127.0.0.1:$PORT" "$WORK/killed")
  fi
  "${copy[@]}" >/dev/null 2>&1 &
  local victim=$!
  sleep "$2"
  kill -9 $victim 2>/dev/null
  wait $victim 2>/dev/null
  # The server lets go of the target once it sees the connection drop.
  # Under Wine the socket belongs to wineserver, which may close it well
  # after the process died: wait (up to 10 s) for the server to log the
  # session's end before asking it for another.
  if [ "$DIRECTION" = push ]; then
    for _ in $(seq 1 200); do grep -q ' push entries_received=' "$SERVER_LOG" && break; sleep 0.05; done
  fi
  check "killed client: every file under a final name is complete" \
    bash -c "cd '$WORK/killed' 2>/dev/null || exit 0; for f in f*; do [ -e \"\$f\" ] || continue; cmp -s \"\$f\" '$big'/\"\$f\" || exit 1; done"
  expect_exit "killed client: the server still serves" 0 "${copy[@]}"
  check "killed client: the next pull completes the mirror" "$3" "$big" "$WORK/killed"
  check "killed client: no temporaries left" no_temporaries "$WORK/killed"
  stop_server
  rm -rf "$big" "$WORK/killed"
}

no_temporaries() {
  [ -z "$(find "$1" -name '.treesync-*.tmp' -print -quit)" ]
}

if [ ! -x "$REAL_TS" ]; then echo "no binary at $REAL_TS; run make first" >&2; exit 1; fi
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=("$HERE"/e2e/*.sh)
for case_file in "${cases[@]}"; do
  # A case that -z can't change (its peers are test tools, or no transfer
  # is compared) says so, and the -z run leaves it out.
  if [ -n "$COMPRESSED" ] && grep -q '^# compress: skip' "$case_file"; then
    echo "SKIP $(basename "$case_file") [-z]: $(sed -n 's/^# compress: skip: //p' "$case_file")"
    continue
  fi
  directions=pull
  grep -q '^# directions: pull push$' "$case_file" && directions="pull push"
  for DIRECTION in $directions; do
    WORK=$SCRATCH/$(basename "$case_file" .sh)-$DIRECTION
    mkdir -p "$WORK"
    export E2E_CASE_NAME
    E2E_CASE_NAME="$(basename "$case_file")$([ "$DIRECTION" = push ] && echo ' (push)')"
    echo "== $E2E_CASE_NAME"
    # shellcheck source=/dev/null
    source "$case_file"
    kill $(jobs -p) 2>/dev/null
    wait 2>/dev/null
  done
  DIRECTION=pull
done

# The last check: every line the --json runs printed (the copies $TS
# kept) against docs/json-schema.json, and docs/JSON.md documents it all.
json_settle 10
json_runs=("$JSON_DIR"/*.jsonl)
json_check="every --json line the tests printed matches docs/JSON.md's schema"
if ! command -v python3 >/dev/null; then
  echo "SKIP $json_check: no python3"
elif [ ! -e "${json_runs[0]}" ]; then
  echo "SKIP $json_check: no run with --json"
elif python3 "$HERE/tools/check_json.py" --one-run --docs "${HERE%/*}/docs/JSON.md" \
    "${HERE%/*}/docs/json-schema.json" "${json_runs[@]}" >"$JSON_DIR/check.out" 2>&1; then
  pass "$json_check"
  json_lost=("$JSON_DIR"/*.lost)
  json_note="$(tail -n 1 "$JSON_DIR/check.out"), from ${#json_runs[@]} runs"
  [ -e "${json_lost[0]}" ] &&
    json_note+=" (and ${#json_lost[@]} runs' output was written over before it was copied)"
  echo "    $json_note"
else
  sed 's/^/    /' "$JSON_DIR/check.out" | head -n 20
  # The runs that printed the bad lines: their case and command.
  grep -o '^[^:]*\.jsonl' "$JSON_DIR/check.out" | sort -u | head -n 5 | while read -r f; do
    echo "    $(basename "$f"): $(paste -sd' ' "${f%.jsonl}.args" 2>/dev/null)"
  done
  WORK=$JSON_DIR fail "$json_check"
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
