#include "secure_channel.h"

#include <cstring>
#include <fstream>

#include "chacha20_poly1305.h"
#include "fs_meta.h"
#include "path.h"
#include "protocol.h"
#include "random.h"
#include "secure_wipe.h"
#include "send_session.h"

namespace treesync {

namespace {

std::string Step(HandshakeStep step, const std::string& body) {
  return std::string(1, char(step)) + body;
}

// Takes the next frame, which must be a Handshake (an Error is the peer's
// refusal, reported as such).
Status ReceiveStep(Connection* conn, const std::string& peer, HandshakeStep* step,
                   std::string* body) {
  Frame f;
  TS_RETURN_IF_ERROR(conn->Receive(&f));
  if (f.type == FrameType::kError) return PeerError(f, peer);
  if (f.type != FrameType::kHandshake || f.payload.empty()) {
    return Status::Protocol("expected a Handshake frame, got " +
                            FrameTypeName(uint8_t(f.type)));
  }
  *step = HandshakeStep(uint8_t(f.payload[0]));
  body->assign(f.payload, 1, std::string::npos);
  return Status::Ok();
}

bool SameKey(const uint8_t* a, const uint8_t* b) { return ConstantTimeEqual(a, b, kNoiseKeySize); }

std::string HostPort(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Whether the server's key is the one this client expects; records it
// when it is new and the user said to trust new servers.
Status CheckServerKey(const ClientSecurity& sec, const uint8_t key[kNoiseKeySize]) {
  const std::string where = HostPort(sec.host, sec.port);
  if (sec.pinned) {
    if (SameKey(key, sec.pinned_key)) return Status::Ok();
    return Status::Refused("the key of " + where + " is not the one --server-key gives: it offers " +
                           Fingerprint(key) + ", expected " + Fingerprint(sec.pinned_key) +
                           "; someone may be intercepting this connection");
  }
  std::string text;
  if (!sec.known_hosts.empty()) {
    // Not there yet: no server recorded.
    TS_RETURN_IF_ERROR(ReadKeyListFile(sec.known_hosts, /*missing_ok=*/true, &text));
  }
  bool found = false;
  uint8_t recorded[kNoiseKeySize];
  Status s = LookupKnownHost(text, sec.host, sec.port, &found, recorded);
  if (!s.ok()) return Status::Usage(Printable(sec.known_hosts) + ": " + s.message());
  if (found) {
    if (SameKey(key, recorded)) return Status::Ok();
    return Status::Refused(
        "WARNING: THE KEY OF " + where + " HAS CHANGED. It now offers " + Fingerprint(key) +
        ", but " + Printable(sec.known_hosts) + " records " + Fingerprint(recorded) +
        ". Someone may be intercepting this connection, or the server's key was replaced: "
        "if you know it was, remove its line from that file and connect again");
  }
  if (!sec.trust_new) {
    return Status::Refused("unknown server " + where + ", key fingerprint " + Fingerprint(key) +
                           ": if that is its key, connect again with --trust-new-server to record "
                           "it (or pin it with --server-key)");
  }
  if (sec.known_hosts.empty()) {
    return Status::Usage("--trust-new-server: no known-hosts file (give --known-hosts FILE)");
  }
  TS_RETURN_IF_ERROR(AppendKnownHost(sec.known_hosts, sec.host, sec.port, key));
  std::fprintf(stderr, "treesync: recorded the key of %s (%s) in %s\n", where.c_str(),
               Fingerprint(key).c_str(), Printable(sec.known_hosts).c_str());
  return Status::Ok();
}

Status FreshEphemeral(NoiseKeyPair* e) {
  uint8_t secret[kNoiseKeySize];
  if (!platform::SecretRandom(secret, sizeof(secret))) {
    return Status::Io("no secure random source for the session's keys");
  }
  *e = NoiseKeyPair(secret);
  SecureWipe(secret, sizeof(secret));
  return Status::Ok();
}

// Tells the client no, the same way whatever failed, and says why to the
// server's log.
Status Refuse(Connection* conn, const std::string& why) {
  conn->Send(FrameType::kError, EncodeError(ErrorKind::kRefused, kAuthFailed));
  conn->Finish();
  return Status::Refused(std::string(kAuthFailed) + ": " + why);
}

}  // namespace

Status SecureAsClient(Connection* conn, const ClientSecurity& sec) {
  const int timeout = conn->timeout_ms();
  conn->set_timeout_ms(timeout >= 0 ? std::min(timeout, kHandshakeTimeoutMs) : kHandshakeTimeoutMs);
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHandshake, Step(HandshakeStep::kKeyQuery, "")));
  HandshakeStep step;
  std::string body;
  TS_RETURN_IF_ERROR(ReceiveStep(conn, "server", &step, &body));
  if (step != HandshakeStep::kKeyQuery || body.size() != kNoiseKeySize) {
    return Status::Protocol("the server's key arrived malformed");
  }
  uint8_t server_key[kNoiseKeySize];
  std::memcpy(server_key, body.data(), kNoiseKeySize);
  TS_RETURN_IF_ERROR(CheckServerKey(sec, server_key));

  NoiseKeyPair e;
  TS_RETURN_IF_ERROR(FreshEphemeral(&e));
  const bool psk = !sec.psk.empty();
  const HandshakeStep pattern = psk ? HandshakeStep::kIkPsk2 : HandshakeStep::kIk;
  NoiseHandshake hs = NoiseHandshake::Initiator(
      sec.key, e, server_key, kNoisePrologue,
      psk ? reinterpret_cast<const uint8_t*>(sec.psk.data()) : nullptr);
  std::string m1;
  if (!hs.WriteMessage("", &m1)) return Status::Protocol("the server's key is unusable");
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHandshake, Step(pattern, m1)));
  Status s = ReceiveStep(conn, "server", &step, &body);
  if (s.kind() == ErrorKind::kRefused) {
    return Status::Refused(s.message() + " (is this client's key in the server's authorized keys" +
                           std::string(psk ? ", and is the pre-shared key the same" : "") + "?)");
  }
  TS_RETURN_IF_ERROR(s);
  std::string payload;
  if (step != pattern || !hs.ReadMessage(body, &payload)) {
    return Status::Refused("the server's answer failed authentication");
  }
  NoiseCipher send, receive;
  hs.Split(&send, &receive);
  conn->set_timeout_ms(timeout);
  return conn->StartEncryption(std::move(send), std::move(receive));
}

Status SecureAsServer(Connection* conn, const Frame& first, const ServerSecurity& sec,
                      const std::string& peer_ip, const AuthorizedKey** who) {
  *who = nullptr;
  const int timeout = conn->timeout_ms();
  conn->set_timeout_ms(timeout >= 0 ? std::min(timeout, kHandshakeTimeoutMs) : kHandshakeTimeoutMs);
  if (first.type != FrameType::kHandshake || first.payload.empty()) {
    return Status::Protocol("expected a Handshake frame");
  }
  HandshakeStep step = HandshakeStep(uint8_t(first.payload[0]));
  std::string body(first.payload, 1, std::string::npos);
  // Any number of key queries may come first (each is one small frame).
  for (int queries = 0; step == HandshakeStep::kKeyQuery; ++queries) {
    if (queries == 4) return Refuse(conn, "too many key queries");
    TS_RETURN_IF_ERROR(conn->Send(
        FrameType::kHandshake,
        Step(HandshakeStep::kKeyQuery,
             std::string(reinterpret_cast<const char*>(sec.key.public_key), kNoiseKeySize))));
    Status s = ReceiveStep(conn, "client", &step, &body);
    if (s.kind() == ErrorKind::kTimeout) {
      return Status::Timeout("no handshake within " + std::to_string(kHandshakeTimeoutMs / 1000) +
                             " s");
    }
    TS_RETURN_IF_ERROR(s);
  }
  const bool psk = !sec.psk.empty();
  if (step != (psk ? HandshakeStep::kIkPsk2 : HandshakeStep::kIk)) {
    return Refuse(conn, psk ? "the client has no pre-shared key" : "the client sent a pre-shared key handshake");
  }
  NoiseKeyPair e;
  TS_RETURN_IF_ERROR(FreshEphemeral(&e));
  NoiseHandshake hs = NoiseHandshake::Responder(
      sec.key, e, kNoisePrologue, psk ? reinterpret_cast<const uint8_t*>(sec.psk.data()) : nullptr);
  std::string payload;
  if (!hs.ReadMessage(body, &payload)) return Refuse(conn, "the handshake did not decrypt (the client expects another server key)");
  const AuthorizedKey* entry = FindAuthorizedKey(sec.authorized, hs.remote_static(), peer_ip);
  if (entry == nullptr) {
    return Refuse(conn, "key " + Fingerprint(hs.remote_static()) + " is not authorized from " +
                            peer_ip);
  }
  std::string m2;
  if (!hs.WriteMessage("", &m2)) return Refuse(conn, "the client's key is unusable");
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHandshake, Step(step, m2)));
  NoiseCipher send, receive;
  hs.Split(&send, &receive);
  TS_RETURN_IF_ERROR(conn->StartEncryption(std::move(send), std::move(receive)));
  conn->set_timeout_ms(timeout);
  *who = entry;
  return Status::Ok();
}

bool AuthThrottle::Allowed(const std::string& ip, int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(ip);
  if (it == records_.end()) return true;
  const Record& r = it->second;
  return r.failures < kMaxAuthFailures || now_ms - r.first_ms >= kAuthFailureWindowMs;
}

void AuthThrottle::Failed(const std::string& ip, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(ip);
  if (it == records_.end()) {
    if (records_.size() >= kMaxTrackedAddresses) {
      auto stalest = records_.begin();
      for (auto j = records_.begin(); j != records_.end(); ++j) {
        if (j->second.last_ms < stalest->second.last_ms) stalest = j;
      }
      records_.erase(stalest);
    }
    it = records_.emplace(ip, Record()).first;
  }
  Record& r = it->second;
  if (r.failures == 0 || now_ms - r.first_ms >= kAuthFailureWindowMs) {
    r.failures = 0;
    r.first_ms = now_ms;
  }
  ++r.failures;
  r.last_ms = now_ms;
}

std::string PeerAddress(const std::string& peer) {
  if (!peer.empty() && peer[0] == '[') {
    const size_t close = peer.find(']');
    return close == std::string::npos ? peer : peer.substr(1, close - 1);
  }
  const size_t colon = peer.rfind(':');
  if (colon == std::string::npos || peer.find(':') != colon) return peer;
  return peer.substr(0, colon);
}

Status ReadPskFile(const std::string& path, std::string* psk) {
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(path, &info));
  if (info.type == platform::FileType::kMissing) {
    return Status::Usage(Printable(path) + ": no such pre-shared key file");
  }
  if (platform::KeepsPermissionBits() && (info.mode & 0077) != 0) {
    return Status::Usage(Printable(path) + ": a pre-shared key readable by others is refused " +
                         "(chmod 600 " + Printable(path) + ")");
  }
  std::ifstream f(platform::FsPath(path), std::ios::binary);
  std::string line;
  std::getline(f, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  std::string bytes;
  if (line.size() == 64) {
    bytes.resize(32);
    for (size_t i = 0; i < 32; ++i) {
      unsigned v = 0;
      for (int j = 0; j < 2; ++j) {
        const char c = line[2 * i + j];
        const int d = c >= '0' && c <= '9' ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return Status::Usage(Printable(path) + ": not 64 hex digits or base64");
        v = v * 16 + unsigned(d);
      }
      bytes[i] = char(v);
    }
  } else if (!Base64Decode(line, &bytes) || bytes.size() != 32) {
    SecureWipe(&line[0], line.size());
    return Status::Usage(Printable(path) + ": a pre-shared key is 32 bytes, as 64 hex digits or " +
                         "base64 on one line");
  }
  SecureWipe(&line[0], line.size());
  *psk = bytes;
  SecureWipe(&bytes[0], bytes.size());
  return Status::Ok();
}

}  // namespace treesync
