# loopback-sshd.sh: a throwaway OpenSSH server on 127.0.0.1, for tests and
# benchmarks of treesync's ssh transport. Meant to be sourced:
#
#   source scripts/loopback-sshd.sh
#   sshd_start WORKDIR || { echo "SKIP ssh (no sshd: $SSHD_ERROR)"; ...; }
#   treesync pull -e "$SSH_CMD" --remote-path "$PWD/build/treesync" \
#     "$(id -un)@127.0.0.1:/some/dir" copy
#   sshd_stop
#
# sshd_start WORKDIR makes, in WORKDIR, a host key and a user key (ed25519,
# no passphrase), an authorized_keys holding the user key, and an
# sshd_config that listens on 127.0.0.1 only, on a free port, accepts only
# that key (no passwords, no PAM), and lets the current user log in, root
# included. It starts `sshd -D -e` in the background (log: WORKDIR/sshd.log)
# and returns once the port accepts connections. It sets and exports:
#   SSHD_PORT  the port
#   SSHD_PID   the server's process id
#   SSHD_DIR   WORKDIR
#   SSH_KEY    the user's private key
#   SSH_USER   the login name ($(id -un)); log in as "$SSH_USER@127.0.0.1"
#   SSH_OPTS   the client options without the port: -F /dev/null -i KEY
#              -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
#              -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR
#   SSH_CMD    "ssh -p PORT $SSH_OPTS": for treesync -e / TREESYNC_RSH
#   SCP_CMD    "scp -P PORT $SSH_OPTS"
# The client options ignore ~/.ssh/config, /etc/ssh/ssh_config, the agent
# and known_hosts, so nothing on the machine changes the outcome.
# On failure it returns 1, prints why on stderr and leaves the reason in
# SSHD_ERROR (so a caller can print SKIP): no sshd, no ssh-keygen, no free
# port, or a server that would not start (its log is quoted).
#
# sshd_stop ends the server that sshd_start started (by its pid) and waits
# for it (sessions already open run on to their end). Safe to call twice or without a
# server.
#
# The command a client asks for runs in the user's login shell with sshd's
# default PATH, not the caller's: give treesync --remote-path an absolute
# path. Run as root, sshd needs its privilege separation folder /run/sshd,
# which sshd_start creates when missing.

# _sshd_quote WORD: WORD as one word for treesync's command splitter and
# for a POSIX shell ('...' when it holds anything unusual).
_sshd_quote() {
  case $1 in
    *[!A-Za-z0-9/._,:@+=-]* | '') printf "'%s'" "${1//\'/\'\\\'\'}" ;;
    *) printf '%s' "$1" ;;
  esac
}

# _sshd_port_busy PORT: whether something on 127.0.0.1 accepts on PORT.
_sshd_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

sshd_start() {
  local dir=${1:?usage: sshd_start WORKDIR}
  SSHD_ERROR=
  local sshd=
  for sshd in /usr/sbin/sshd "$(command -v sshd 2>/dev/null)"; do
    [ -n "$sshd" ] && [ -x "$sshd" ] && break
    sshd=
  done
  if [ -z "$sshd" ]; then
    SSHD_ERROR="no /usr/sbin/sshd (apt-get install openssh-server)"
  elif ! command -v ssh-keygen >/dev/null || ! command -v ssh >/dev/null; then
    SSHD_ERROR="no ssh or ssh-keygen (apt-get install openssh-client)"
  fi
  if [ -n "$SSHD_ERROR" ]; then
    echo "sshd_start: $SSHD_ERROR" >&2
    return 1
  fi

  if ! mkdir -p "$dir" || ! dir=$(cd "$dir" && pwd); then
    SSHD_ERROR="cannot use $1 as a work folder"; echo "sshd_start: $SSHD_ERROR" >&2; return 1
  fi
  rm -f "$dir/host_ed25519" "$dir/host_ed25519.pub" "$dir/user_ed25519" "$dir/user_ed25519.pub"
  if ! ssh-keygen -q -N '' -t ed25519 -C treesync-test-host -f "$dir/host_ed25519" </dev/null ||
     ! ssh-keygen -q -N '' -t ed25519 -C treesync-test-user -f "$dir/user_ed25519" </dev/null; then
    SSHD_ERROR="ssh-keygen failed"; echo "sshd_start: $SSHD_ERROR" >&2; return 1
  fi
  cp "$dir/user_ed25519.pub" "$dir/authorized_keys"
  chmod 600 "$dir/host_ed25519" "$dir/user_ed25519" "$dir/authorized_keys"

  # Privilege separation: sshd run as root refuses to start without it.
  if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
  fi

  local port pid status log=$dir/sshd.log config=$dir/sshd_config
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    _sshd_port_busy "$port" && continue
    cat > "$config" <<EOF
# Throwaway loopback sshd for treesync tests (scripts/loopback-sshd.sh).
ListenAddress 127.0.0.1:$port
AddressFamily inet
HostKey "$dir/host_ed25519"
AuthorizedKeysFile "$dir/authorized_keys"
PidFile "$dir/sshd.pid"
PubkeyAuthentication yes
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin yes
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
AllowAgentForwarding no
LoginGraceTime 30
MaxStartups 64:30:128
MaxSessions 64
Subsystem sftp internal-sftp
EOF
    : > "$log"
    "$sshd" -D -e -f "$config" >>"$log" 2>&1 </dev/null &
    pid=$!
    local up=0
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      if _sshd_port_busy "$port"; then up=1; break; fi
      sleep 0.05
    done
    if [ "$up" = 1 ] && kill -0 "$pid" 2>/dev/null; then
      SSHD_PORT=$port SSHD_PID=$pid SSHD_DIR=$dir SSH_KEY=$dir/user_ed25519
      SSH_USER=$(id -un)
      SSH_OPTS="-F /dev/null -i $(_sshd_quote "$SSH_KEY") -o IdentitiesOnly=yes"
      SSH_OPTS+=" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
      SSH_OPTS+=" -o BatchMode=yes -o LogLevel=ERROR"
      SSH_CMD="ssh -p $port $SSH_OPTS"
      SCP_CMD="scp -P $port $SSH_OPTS"
      export SSHD_PORT SSHD_PID SSHD_DIR SSH_KEY SSH_USER SSH_OPTS SSH_CMD SCP_CMD
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    status=0
    wait "$pid" 2>/dev/null || status=$?
    # Someone took the port between the check and the bind: try another.
    grep -qi 'address already in use\|cannot bind' "$log" && continue
    break
  done
  SSHD_ERROR="$sshd did not start (exit $status): $(tr '\n' ' ' < "$log" | cut -c1-300)"
  echo "sshd_start: $SSHD_ERROR" >&2
  return 1
}

sshd_stop() {
  if [ -n "${SSHD_PID:-}" ]; then
    kill "$SSHD_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SSHD_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$SSHD_PID" 2>/dev/null || true
    wait "$SSHD_PID" 2>/dev/null || true
  fi
  SSHD_PID=
  return 0
}
