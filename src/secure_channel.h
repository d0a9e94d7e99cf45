// The encrypted session's start (docs/PROTOCOL.md, "Encryption"): over a
// Connection's first frames the client learns the server's public key
// and checks it against what it expects, the two run a Noise_IK (or
// IKpsk2) handshake in Handshake frames, and both switch the connection to
// sealed records. The client and the server share this one file so the
// two halves can't drift apart.
#ifndef TREESYNC_SECURE_CHANNEL_H_
#define TREESYNC_SECURE_CHANNEL_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "connection.h"
#include "frame.h"
#include "key_files.h"
#include "noise.h"
#include "status.h"

namespace treesync {

// The first byte of a Handshake frame's payload.
enum class HandshakeStep : uint8_t {
  kKeyQuery = 0,  // client: "your public key?"; server: the 32-byte key
  kIk = 1,        // Noise_IK message 1 (client) or 2 (server)
  kIkPsk2 = 2,    // the same with the pre-shared key (Noise_IKpsk2)
};

// Both sides' Noise prologue: binds the handshake to this protocol.
constexpr char kNoisePrologue[] = "treesync 1";
// The whole handshake must be done within this long of the first frame.
constexpr int kHandshakeTimeoutMs = 10000;
// What a client that failed any check is told, whichever check it was.
constexpr char kAuthFailed[] = "authentication failed";

// What a client brings to an encrypted session.
struct ClientSecurity {
  NoiseKeyPair key;
  std::string psk;  // 32 bytes, or empty: none
  // The server's key given with --server-key, if pinned.
  bool pinned = false;
  uint8_t pinned_key[kNoiseKeySize] = {};
  // Else the known-hosts file (may not exist yet) and, for an unknown
  // server, whether to record its key (--trust-new-server).
  std::string known_hosts;
  bool trust_new = false;
  // Where the server is, as the user named it: the known-hosts entry.
  std::string host;
  uint16_t port = 0;
};

// The client's half: asks for the server's key and checks it (pinned,
// recorded, or recorded now), runs the handshake and starts encryption.
// A key that is not the one expected is kRefused and says so loudly, with
// both fingerprints; the server refusing us is kRefused too.
Status SecureAsClient(Connection* conn, const ClientSecurity& sec);

// Failed handshakes by address, to slow down guessing: an address with
// kMaxAuthFailures failures in the last kAuthFailureWindowMs is turned away
// before its handshake until they age out. Thread-safe; remembers at most
// kMaxTrackedAddresses addresses (the stalest is forgotten first), so a
// flood from many addresses costs bounded memory.
class AuthThrottle {
 public:
  static constexpr int kMaxAuthFailures = 5;
  static constexpr int64_t kAuthFailureWindowMs = 60000;
  static constexpr size_t kMaxTrackedAddresses = 4096;

  // Whether ip may try now (now_ms: a steady clock).
  bool Allowed(const std::string& ip, int64_t now_ms) const;
  void Failed(const std::string& ip, int64_t now_ms);

 private:
  struct Record {
    int failures = 0;
    int64_t first_ms = 0;  // of the failures counted
    int64_t last_ms = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;
};

// What a server with keys holds.
struct ServerSecurity {
  NoiseKeyPair key;
  std::vector<AuthorizedKey> authorized;
  std::string psk;  // 32 bytes, or empty: none
  // Shared by all sessions; the only part that changes.
  mutable AuthThrottle throttle;
};

// The server's half, from the client's first frame (a Handshake): answers
// key queries, takes message 1, checks the client's key against the
// authorized ones for peer_ip, answers and starts encryption. *who: the
// client's entry. A client that fails any check is sent Error 5 with
// kAuthFailed whatever the check was, and the returned kRefused says which
// (for the server's log).
Status SecureAsServer(Connection* conn, const Frame& first, const ServerSecurity& sec,
                      const std::string& peer_ip, const AuthorizedKey** who);

// The address part of a peer as platform::Accept names it ("1.2.3.4:5",
// "[::1]:5"): what authorized keys' from= options match.
std::string PeerAddress(const std::string& peer);

// Reads a pre-shared key file: 32 bytes as 64 hex digits or base64 (one
// line), kept from group and others like a private key.
Status ReadPskFile(const std::string& path, std::string* psk);

}  // namespace treesync

#endif  // TREESYNC_SECURE_CHANNEL_H_
