# Encrypted sessions (serve --key / --authorized-keys, pull and push
# --key): keys, known hosts, authorization options, the pre-shared key,
# and what a tampered or cut encrypted stream does. Sourced by tests/e2e.sh.

E=$WORK/enc
rm -rf "$E"; mkdir -p "$E/src/sub" "$E/src/other"
printf 'alpha\n' > "$E/src/sub/a.txt"
printf 'beta\n' > "$E/src/other/b.txt"
head -c 3000000 /dev/urandom > "$E/src/big.bin"

expect_exit "keygen: exit 0" 0 "$TS" keygen -C server "$E/server.key"
check "keygen prints the fingerprint" grep -q '^BLAKE2s:' "$WORK/last.out"
check "keygen: private key is 0600" test "$(stat -c %a "$E/server.key")" = 600
check "keygen: public key is one treesync-x25519 line" \
  grep -qE '^treesync-x25519 [A-Za-z0-9+/]{43}= server$' "$E/server.key.pub"
expect_exit "keygen refuses to overwrite a key: exit 1" 1 "$TS" keygen "$E/server.key"
"$TS" keygen -C alice "$E/alice.key" >/dev/null
"$TS" keygen -C bob "$E/bob.key" >/dev/null
"$TS" keygen -C eve "$E/eve.key" >/dev/null

{
  echo "# who may connect"
  echo "writable $(cat "$E/alice.key.pub")"
  echo "folder=sub $(cat "$E/bob.key.pub")"
} > "$E/authorized"

start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized"
KH=$E/known_hosts
expect_exit "an unknown server is refused: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --known-hosts "$KH" "127.0.0.1:$PORT" "$E/d1"
check "  ... with its fingerprint and how to accept it" \
  grep -q "unknown server 127.0.0.1:$PORT, key fingerprint BLAKE2s:.*--trust-new-server" "$WORK/last.err"
check "  ... and nothing installed" test ! -e "$E/d1/big.bin"
expect_exit "--trust-new-server records it and pulls: exit 0" 0 \
  "$TS" pull --key "$E/alice.key" --known-hosts "$KH" --trust-new-server "127.0.0.1:$PORT" "$E/d1"
check "  ... the copy is exact" same_tree "$E/src" "$E/d1"
check "  ... known_hosts has the server's key" grep -q "^127.0.0.1:$PORT $(cut -d' ' -f1,2 "$E/server.key.pub")$" "$KH"
rm -rf "$E/d1"
expect_exit "a recorded server needs nothing more: exit 0" 0 \
  "$TS" pull --key "$E/alice.key" --known-hosts "$KH" "127.0.0.1:$PORT" "$E/d1"
check "  ... the copy is exact" same_tree "$E/src" "$E/d1"

cp "$KH" "$E/kh-changed"
sed -i "s|^127.0.0.1:$PORT .*|127.0.0.1:$PORT $(cut -d' ' -f1,2 "$E/eve.key.pub")|" "$E/kh-changed"
expect_exit "a changed server key is refused: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --known-hosts "$E/kh-changed" --trust-new-server "127.0.0.1:$PORT" "$E/d2"
check "  ... loudly" grep -q "HAS CHANGED" "$WORK/last.err"
check "  ... and nothing installed" test ! -e "$E/d2/big.bin"

expect_exit "--server-key pins the key (the .pub line): exit 0" 0 \
  "$TS" pull --key "$E/alice.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT" "$E/d3"
check "  ... the copy is exact" same_tree "$E/src" "$E/d3"
expect_exit "--server-key with another key: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --server-key "$(cut -d' ' -f2 "$E/eve.key.pub")" "127.0.0.1:$PORT" "$E/d4"

expect_exit "a key not in the authorized keys: exit 5" 5 \
  "$TS" pull --key "$E/eve.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT" "$E/d5"
check "  ... told only that authentication failed" grep -q "authentication failed" "$WORK/last.err"
check "  ... and nothing installed" test ! -e "$E/d5/big.bin"
check "  ... the server logs the attempt" grep -q "refused: authentication failed: key BLAKE2s:" "$SERVER_LOG"
expect_exit "a client without a key: exit 5" 5 "$TS" pull "127.0.0.1:$PORT" "$E/d6"
check "  ... told to use one" grep -q "encrypted sessions only" "$WORK/last.err"

expect_exit "folder=sub limits the key to that folder: exit 0" 0 \
  "$TS" pull --key "$E/bob.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT" "$E/d7"
check "  ... the copy is that folder's" same_tree "$E/src/sub" "$E/d7"
expect_exit "  ... a folder beside it is not there for the key: exit 3" 3 \
  "$TS" pull --key "$E/bob.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT/other" "$E/d8"
check "  ... nothing of it arrives" test ! -e "$E/d8/b.txt"

# A key limited to a folder that is gone: one Error, so one line.
mv "$E/src/sub" "$E/sub-away"
expect_exit "a key's folder= that is missing: exit 3" 3 \
  "$TS" pull --key "$E/bob.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT" "$E/d9"
check "  ... said once, in one line, without the server's path" \
  test "$(cat "$WORK/last.err")" = "treesync: server: the folder this key is limited to is missing"
mv "$E/sub-away" "$E/src/sub"

mkdir -p "$E/up/new"; printf 'pushed\n' > "$E/up/new/p.txt"
expect_exit "a read-only key can't push: exit 5" 5 \
  "$TS" push --key "$E/bob.key" --server-key "$(cat "$E/server.key.pub")" "$E/up" "127.0.0.1:$PORT/pushed"
check "  ... nothing written" test ! -e "$E/src/sub/pushed"
stop_server

mkdir -p "$E/target"
start_server "$E/target" --key "$E/server.key" --authorized-keys "$E/authorized"
expect_exit "a writable key pushes: exit 0" 0 \
  "$TS" push --key "$E/alice.key" --server-key "$(cat "$E/server.key.pub")" "$E/up" "127.0.0.1:$PORT/pushed"
check "  ... the copy is exact" same_tree "$E/up" "$E/target/pushed"
stop_server

echo "from=10.0.0.0/8 $(cat "$E/alice.key.pub")" > "$E/authorized-from"
start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized-from"
expect_exit "from= refuses a key from elsewhere: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT" "$E/d9"
stop_server
echo "from=127.0.0.0/8,from=::1 $(cat "$E/alice.key.pub")" > "$E/authorized-from"
start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized-from"
expect_exit "  ... and takes it from a listed network: exit 0" 0 \
  "$TS" pull --key "$E/alice.key" --server-key "$(cat "$E/server.key.pub")" "127.0.0.1:$PORT" "$E/d9"
stop_server

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$E/psk"; echo >> "$E/psk"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$E/psk2"; echo >> "$E/psk2"
chmod 600 "$E/psk" "$E/psk2"
start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized" --psk-file "$E/psk"
PIN=$(cat "$E/server.key.pub")
expect_exit "with the same --psk-file: exit 0" 0 \
  "$TS" pull --key "$E/alice.key" --server-key "$PIN" --psk-file "$E/psk" "127.0.0.1:$PORT" "$E/d10"
check "  ... the copy is exact" same_tree "$E/src" "$E/d10"
expect_exit "with another pre-shared key: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --server-key "$PIN" --psk-file "$E/psk2" "127.0.0.1:$PORT" "$E/d11"
expect_exit "without one: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --server-key "$PIN" "127.0.0.1:$PORT" "$E/d11"
check "  ... nothing installed" test ! -e "$E/d11/big.bin"
stop_server

chmod 644 "$E/alice.key"
expect_exit "a private key readable by others is refused: exit 1" 1 \
  "$TS" pull --key "$E/alice.key" --server-key "$PIN" "127.0.0.1:1" "$E/d12"
check "  ... saying how to fix it" grep -q "chmod 600" "$WORK/last.err"
chmod 600 "$E/alice.key"
start_server "$E/src"
expect_exit "a keyed client and a server without keys: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --server-key "$PIN" "127.0.0.1:$PORT" "$E/d13"
stop_server
check "  ... no fallback to clear text" test ! -e "$E/d13/big.bin"

# A tampered or cut encrypted stream: exit 12, nothing installed.
if [ -x "$TOOLS/fault_proxy" ]; then
  start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized"
  for fault in "--flip-at 1500000" "--cut-at 1500000"; do
    rm -f "$E/proxy.port"; rm -rf "$E/dt"
    "$TOOLS/fault_proxy" --to "127.0.0.1:$PORT" --port-file "$E/proxy.port" $fault &
    proxy=$!
    for _ in $(seq 1 100); do [ -s "$E/proxy.port" ] && break; sleep 0.05; done
    expect_exit "an encrypted pull through ${fault%% *}: exit 12" 12 \
      "$TS" pull --key "$E/alice.key" --server-key "$PIN" "127.0.0.1:$(cat "$E/proxy.port")" "$E/dt"
    check "  ... big.bin not installed" test ! -e "$E/dt/big.bin"
    kill $proxy 2>/dev/null; wait $proxy 2>/dev/null
  done
  stop_server
fi

# Repeated failures from one address are turned away for a while, before
# any handshake, with a message saying so.
start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized"
for i in 1 2 3 4 5; do
  "$TS" pull --key "$E/eve.key" --server-key "$PIN" "127.0.0.1:$PORT" "$E/d14" 2>/dev/null
done
expect_exit "after 5 failures the address waits: exit 5" 5 \
  "$TS" pull --key "$E/alice.key" --server-key "$PIN" "127.0.0.1:$PORT" "$E/d14"
check "  ... told why" grep -q "too many failed attempts" "$WORK/last.err"
stop_server

# 100 idle and 100 half-open connections (a key query, then nothing) never
# keep an authorized client out: they wait in the lobby, which answers key
# queries without a thread, and take no session's place.
if [ -x "$TOOLS/flood_client" ]; then
  start_server "$E/src" --key "$E/server.key" --authorized-keys "$E/authorized" --max-clients 4
  rm -f "$E/flood.ready"
  "$TOOLS/flood_client" --idle 100 --half-open 100 --hold-ms 6000 --ready-file "$E/flood.ready" \
    127.0.0.1 "$PORT" > "$E/flood.out" 2>&1 &
  flood=$!
  for _ in $(seq 1 100); do [ -s "$E/flood.ready" ] && break; sleep 0.05; done
  rm -rf "$E/d15"
  expect_exit "with 200 idle and half-open connections held, an authorized pull: exit 0" 0 \
    "$TS" pull --key "$E/alice.key" --server-key "$PIN" "127.0.0.1:$PORT" "$E/d15"
  check "  ... the copy is exact" same_tree "$E/src" "$E/d15"
  wait $flood
  stop_server
fi
