# The systemd units in scripts/: treesync.service (the long-running server,
# with keys), treesync.socket and treesync@.service (socket activation,
# `serve --stdio` per connection). Where systemd-analyze is installed,
# `systemd-analyze verify` passes on them (their ExecStart pointed at $TS)
# and says nothing about them; everywhere, they hold the lines that matter,
# and their ExecStart commands, run as they are (the binary, the folder and
# the key folder replaced by this run's), are treesync commands that serve:
# the server's with its keys, the keyless alternative its comment offers,
# and the --stdio one through --via.
# Sourced by tests/e2e.sh.
# compress: skip: it is about the units' commands; its few pulls are smoke tests

UNITS=$HERE/../scripts

# unit_has UNIT LINE...: UNIT has each LINE, whole.
unit_has() {
  local unit=$1 line; shift
  : >"$WORK/last.err"
  for line in "$@"; do
    grep -qxF -- "$line" "$UNITS/$unit" || echo "$unit has no line: $line" >>"$WORK/last.err"
  done
  [ ! -s "$WORK/last.err" ]
}

# unit_command UNIT [PREFIX]: the words of UNIT's one ExecStart= line (or,
# with PREFIX "#", of its one commented-out alternative) into the array cmd,
# the binary /usr/local/bin/treesync replaced by $TS, ${TREESYNC_DIR} by
# $WORK/tree and ${STATE_DIRECTORY} or ${CREDENTIALS_DIRECTORY} by
# $WORK/keys. Fails if the line is not there once, runs another binary, or
# holds a variable or specifier left unreplaced.
# shellcheck disable=SC2016 # '${TREESYNC_DIR}' and the like: the unit's words
unit_command() {
  local lines line
  lines=$(grep -c "^${2:-}ExecStart=" "$UNITS/$1")
  [ "$lines" = 1 ] || { echo "$1: $lines ${2:-}ExecStart= lines" >"$WORK/last.err"; return 1; }
  line=$(sed -n "s/^${2:-}ExecStart=//p" "$UNITS/$1")
  line=${line//'${TREESYNC_DIR}'/$WORK/tree}
  line=${line//'${STATE_DIRECTORY}'/$WORK/keys}
  line=${line//'${CREDENTIALS_DIRECTORY}'/$WORK/keys}
  case $line in
    *'$'* | *'%'*) echo "$1: unreplaced in: $line" >"$WORK/last.err"; return 1 ;;
  esac
  read -r -a cmd <<<"$line"
  [ "${cmd[0]}" = /usr/local/bin/treesync ] ||
    { echo "$1: ExecStart runs ${cmd[0]}" >"$WORK/last.err"; return 1; }
  cmd[0]=$TS
}

# The lines that matter.
sandbox=(DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes
  PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes
  ProtectControlGroups=yes RestrictNamespaces=yes LockPersonality=yes MemoryDenyWriteExecute=yes
  SystemCallFilter=@system-service CapabilityBoundingSet= AmbientCapabilities=)
for unit in treesync.service treesync@.service; do
  check "$unit: the sandbox lines" unit_has "$unit" "${sandbox[@]}"
  check "$unit: ExecStart runs treesync serve" grep -q '^ExecStart=/usr/local/bin/treesync serve ' "$UNITS/$unit"
  # The folder served and the folder bound read-only are one.
  dir=$(sed -n 's/^Environment=TREESYNC_DIR=//p' "$UNITS/$unit")
  check "$unit: serves TREESYNC_DIR, bound read-only" \
    unit_has "$unit" "Environment=TREESYNC_DIR=/srv/treesync" "BindReadOnlyPaths=$dir"
done
check "treesync.service: keys, restarts, network families" unit_has treesync.service \
  Restart=on-failure "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" StateDirectory=treesync
check "treesync.service: ExecStart has --key and --authorized-keys" \
  grep -q '^ExecStart=.* --key .* --authorized-keys ' "$UNITS/treesync.service"
check "treesync@.service: the connection as stdin and stdout, --stdio" unit_has treesync@.service \
  StandardInput=socket StandardOutput=socket StandardError=journal
check "treesync@.service: ExecStart serves --stdio" \
  grep -q '^ExecStart=/usr/local/bin/treesync serve --stdio ' "$UNITS/treesync@.service"
check "treesync.socket: port 1234, a service per connection" unit_has treesync.socket \
  ListenStream=1234 Accept=yes

# systemd's own reading of them.
verify_check="systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP $verify_check (systemd not installed)"
else
  # Copies whose ExecStart runs $TS, as verify checks that it is there.
  V=$WORK/units
  mkdir -p "$V"
  cp "$UNITS/treesync.service" "$UNITS/treesync.socket" "$UNITS/treesync@.service" "$V/"
  sed -i "s|^ExecStart=/usr/local/bin/treesync |ExecStart=$TS |" "$V/treesync.service" "$V/treesync@.service"
  # --man=no: Documentation= names treesync(1), which make install puts in
  # place, not this run. --recursive-errors=no where there is the option:
  # what the host's own units (targets, dependencies) say is not ours.
  verify_opts=(--man=no)
  systemd-analyze verify --help 2>&1 | grep -q -- '--recursive-errors' &&
    verify_opts+=(--recursive-errors=no)
  printf '[Unit]\nDescription=known good\n\n[Service]\nType=oneshot\nExecStart=%s\n' \
    "$(type -P true)" >"$V/known-good.service"
  if ! systemd-analyze verify "${verify_opts[@]}" "$V/known-good.service" >"$V/probe.out" 2>&1 ||
      [ -s "$V/probe.out" ]; then
    echo "SKIP $verify_check (it fails here on a known-good unit too: $(head -n 1 "$V/probe.out"))"
  else
    (cd "$V" && systemd-analyze verify "${verify_opts[@]}" ./treesync.service ./treesync.socket \
       ./treesync@.service) >"$V/verify.out" 2>&1
    verify_rc=$?
    cp "$V/verify.out" "$WORK/last.err"
    check "$verify_check passes on the three units" test "$verify_rc" = 0
    check "$verify_check says nothing about them" bash -c "! grep -q treesync '$V/verify.out'"
  fi
fi

# The commands themselves. The tree, and the keys where the unit has them:
# the server's, and a client's in authorized_keys.
mkdir -p "$WORK/tree/sub" "$WORK/keys"
printf 'served\n' >"$WORK/tree/sub/a.txt"
head -c 100000 /dev/urandom >"$WORK/tree/b.bin"
ln -s sub/a.txt "$WORK/tree/link"
"$TS" keygen "$WORK/keys/key" >/dev/null
"$TS" keygen "$WORK/client" >/dev/null
cp "$WORK/client.pub" "$WORK/keys/authorized_keys"

# serve_unit_command NAME PULL_OPTION...: runs cmd (a TCP server) on a free
# loopback port for one session, pulls from it with PULL_OPTIONs, and
# checks the copy and that the server then exits.
serve_unit_command() {
  local name=$1; shift
  rm -rf "$WORK/copy"
  "${cmd[@]}" --port 0 --bind 127.0.0.1 --once 2>"$WORK/unit-server.log" &
  local pid=$! port
  if port=$(port_from_log "$WORK/unit-server.log"); then
    pass "$name: it serves (logs \"serving\")"
    expect_exit "$name: a pull from it" 0 "$TS" pull -q "$@" "127.0.0.1:$port" "$WORK/copy"
    check "$name: the copy is a mirror" same_tree "$WORK/tree" "$WORK/copy"
    check "$name: it exits after the session (--once)" exits_within $pid 10
  else
    cp "$WORK/unit-server.log" "$WORK/last.err"
    fail "$name: it serves (logs \"serving\")"
    exits_within $pid 1
  fi
}

if unit_command treesync.service; then
  pass "treesync.service: ExecStart parses"
  serve_unit_command "treesync.service's command" \
    --key "$WORK/client" --server-key "$(cat "$WORK/keys/key.pub")"
else
  fail "treesync.service: ExecStart parses"
fi

if unit_command treesync.service "#"; then
  pass "treesync.service: the keyless alternative parses"
  serve_unit_command "treesync.service's keyless alternative" --insecure
else
  fail "treesync.service: the keyless alternative parses"
fi

if unit_command treesync@.service; then
  pass "treesync@.service: ExecStart parses"
  # No client: the stream ends at once, a transport error, not a usage error.
  "${cmd[@]}" </dev/null >/dev/null 2>"$WORK/last.err"
  stdio_rc=$?
  check "treesync@.service's command, stdin empty: exit 10, not 1 (usage)" test "$stdio_rc" = 10
  rm -rf "$WORK/copy"
  expect_exit "treesync@.service's command: a pull through it (--via)" 0 \
    "$TS" pull -q --via "${cmd[*]}" "$WORK/copy"
  check "treesync@.service's command: the copy is a mirror" same_tree "$WORK/tree" "$WORK/copy"
else
  fail "treesync@.service: ExecStart parses"
fi
