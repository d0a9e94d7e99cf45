// Fuzzes NoiseHandshake::ReadMessage: the two handshake messages as a peer
// sends them, to sides with fixed keys, in plain IK and in IKpsk2.
// Input: one byte of flags, then
//   raw (bit 1 clear): a message, read as message 1 by a responder and as
//     message 2 by an initiator that has written its message 1;
//   built (bit 1 set): two bytes of position (little-endian), then a
//     payload: the genuine messages carrying it, one of them (bit 4: 1 or
//     2) altered by bits 2-3 (kept, one bit flipped at the position, cut
//     at the position, a byte appended).
// Bit 0: with the psk.
// Invariants: ReadMessage returns; once it returns false the handshake is
// dead (no further read or write) and not done; a genuine message passes
// and any alteration of one fails; after a pass the payload is the one
// sent, both sides agree on the handshake hash and the initiator's static
// key, and the transport ciphers carry messages both ways and refuse
// altered and replayed ones.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "noise.h"

namespace treesync {
namespace {

constexpr char kPrologue[] = "noise_handshake_fuzz";
// The payload of the initiator's message 1 in raw mode (any would do).
constexpr char kRawPayload1[] = "hello from the initiator";
// Bytes of a handshake message besides its payload: e, the sealed s and
// the payload's tag (message 1); e and the payload's tag (message 2).
constexpr size_t kFixed1 = 2 * kNoiseKeySize + 2 * kNoiseTagSize;
constexpr size_t kFixed2 = kNoiseKeySize + kNoiseTagSize;

enum Alteration { kKept = 0, kFlipBit = 1, kCut = 2, kAppend = 3 };

// The fixed keys of both sides, made once (each X25519 is costly under
// the sanitizers).
struct Keys {
  NoiseKeyPair si, ei, sr, er;
  uint8_t psk[kNoiseKeySize];
  static NoiseKeyPair Pair(uint8_t fill) {
    uint8_t private_key[kNoiseKeySize];
    for (size_t i = 0; i < kNoiseKeySize; ++i) private_key[i] = uint8_t(fill + 7 * i);
    return NoiseKeyPair(private_key);
  }
  Keys() : si(Pair(1)), ei(Pair(2)), sr(Pair(3)), er(Pair(4)) {
    for (size_t i = 0; i < kNoiseKeySize; ++i) psk[i] = uint8_t(0xa0 ^ i);
  }
};

const Keys& FixedKeys() {
  static const Keys keys;
  return keys;
}

NoiseHandshake MakeInitiator(bool psk) {
  const Keys& k = FixedKeys();
  return NoiseHandshake::Initiator(k.si, k.ei, k.sr.public_key, kPrologue, psk ? k.psk : nullptr);
}

NoiseHandshake MakeResponder(bool psk) {
  const Keys& k = FixedKeys();
  return NoiseHandshake::Responder(k.sr, k.er, kPrologue, psk ? k.psk : nullptr);
}

std::string Seal(NoiseCipher* c, const std::string& plain) {
  std::string out(plain.size() + kNoiseTagSize, '\0');
  FUZZ_CHECK(c->Encrypt(nullptr, 0, reinterpret_cast<const uint8_t*>(plain.data()), plain.size(),
                        reinterpret_cast<uint8_t*>(&out[0])));
  return out;
}

bool Open(NoiseCipher* c, const std::string& sealed, std::string* plain) {
  plain->assign(sealed.size() - kNoiseTagSize, '\0');
  return c->Decrypt(nullptr, 0, reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size(),
                    reinterpret_cast<uint8_t*>(&(*plain)[0]));
}

// A handshake whose ReadMessage failed: it is not done and takes nothing
// more, reading or writing.
void CheckDead(NoiseHandshake* h, const std::string& message) {
  FUZZ_CHECK(!h->done());
  std::string payload, out;
  FUZZ_CHECK(!h->ReadMessage(message, &payload));
  FUZZ_CHECK(!h->WriteMessage("", &out));
  FUZZ_CHECK(out.empty());
}

// One message from send to receive: it arrives, and the same bytes again
// (a replay) or altered do not, leaving receive's nonce as it was.
void CheckDirection(NoiseCipher* send, NoiseCipher* receive, const std::string& plain) {
  const std::string sealed = Seal(send, plain);
  std::string altered = sealed;
  altered[plain.size() % altered.size()] ^= 0x01;
  std::string got;
  const uint64_t nonce = receive->nonce();
  FUZZ_CHECK(!Open(receive, altered, &got));
  FUZZ_CHECK(receive->nonce() == nonce);
  FUZZ_CHECK(Open(receive, sealed, &got) && got == plain);
  FUZZ_CHECK(!Open(receive, sealed, &got));
  FUZZ_CHECK(receive->nonce() == nonce + 1);
}

// Both sides have passed both messages: they agree on everything, and the
// transport works both ways.
void CheckTransport(NoiseHandshake* initiator, NoiseHandshake* responder) {
  FUZZ_CHECK(initiator->done() && responder->done());
  FUZZ_CHECK(std::memcmp(initiator->handshake_hash(), responder->handshake_hash(),
                         kNoiseKeySize) == 0);
  FUZZ_CHECK(std::memcmp(responder->remote_static(), FixedKeys().si.public_key, kNoiseKeySize) ==
             0);
  NoiseCipher i_send, i_receive, r_send, r_receive;
  initiator->Split(&i_send, &i_receive);
  responder->Split(&r_send, &r_receive);
  FUZZ_CHECK(i_send.has_key() && i_receive.has_key() && r_send.has_key() && r_receive.has_key());
  CheckDirection(&i_send, &r_receive, "initiator to responder");
  CheckDirection(&r_send, &i_receive, "responder to initiator");
  CheckDirection(&i_send, &r_receive, std::string(1000, 'x'));
  // The two directions have different keys.
  std::string got;
  FUZZ_CHECK(!Open(&i_receive, Seal(&i_send, "crossed"), &got));
}

// A handshake that passed both messages with a peer not at hand: its
// ciphers still seal.
void CheckLoneTransport(NoiseHandshake* h) {
  FUZZ_CHECK(h->done());
  NoiseCipher send, receive;
  h->Split(&send, &receive);
  FUZZ_CHECK(send.has_key() && receive.has_key());
  FUZZ_CHECK(Seal(&send, "x").size() == 1 + kNoiseTagSize);
}

// The raw message as message 1, to a responder.
void RawMessage1(const std::string& message, bool psk) {
  NoiseHandshake responder = MakeResponder(psk);
  std::string out, payload;
  FUZZ_CHECK(!responder.WriteMessage("", &out));  // not its turn yet
  FUZZ_CHECK(out.empty());
  if (!responder.ReadMessage(message, &payload)) {
    CheckDead(&responder, message);
    return;
  }
  FUZZ_CHECK(message.size() >= kFixed1 && payload.size() == message.size() - kFixed1);
  FUZZ_CHECK(!responder.done());
  // Anyone knowing the responder's public key can write a message 1; when
  // it is the fixed initiator's, finish the handshake with it.
  NoiseHandshake initiator = MakeInitiator(psk);
  std::string genuine;
  FUZZ_CHECK(initiator.WriteMessage(payload, &genuine));
  std::string message2;
  FUZZ_CHECK(responder.WriteMessage("reply", &message2));
  FUZZ_CHECK(message2.size() == kFixed2 + 5);
  if (genuine != message) {
    CheckLoneTransport(&responder);
    return;
  }
  std::string reply;
  FUZZ_CHECK(initiator.ReadMessage(message2, &reply) && reply == "reply");
  CheckTransport(&initiator, &responder);
}

// The raw message as message 2, to an initiator that sent message 1.
void RawMessage2(const std::string& message, bool psk) {
  NoiseHandshake initiator = MakeInitiator(psk);
  std::string message1, payload;
  FUZZ_CHECK(initiator.WriteMessage(kRawPayload1, &message1));
  if (!initiator.ReadMessage(message, &payload)) {
    CheckDead(&initiator, message);
    return;
  }
  FUZZ_CHECK(message.size() >= kFixed2 && payload.size() == message.size() - kFixed2);
  // Only the holder of the responder's private key can have written it;
  // when it is the fixed responder's, check the pair.
  NoiseHandshake responder = MakeResponder(psk);
  std::string got1, genuine;
  FUZZ_CHECK(responder.ReadMessage(message1, &got1) && got1 == kRawPayload1);
  FUZZ_CHECK(responder.WriteMessage(payload, &genuine));
  if (genuine != message) {
    CheckLoneTransport(&initiator);
    return;
  }
  CheckTransport(&initiator, &responder);
}

std::string Alter(const std::string& message, Alteration how, uint16_t position) {
  std::string m = message;
  switch (how) {
    case kKept:
      break;
    case kFlipBit:
      m[(position >> 3) % m.size()] ^= char(1 << (position & 7));
      break;
    case kCut:
      m.resize(position % m.size());
      break;
    case kAppend:
      m.push_back(char(position));
      break;
  }
  return m;
}

// The genuine messages carrying payload, one of them altered.
void Built(const std::string& payload, bool psk, Alteration how, bool alter_second,
           uint16_t position) {
  NoiseHandshake initiator = MakeInitiator(psk), responder = MakeResponder(psk);
  std::string message1, got;
  const bool fits1 = payload.size() <= kNoiseMaxMessage - kFixed1;
  FUZZ_CHECK(initiator.WriteMessage(payload, &message1) == fits1);
  if (!fits1) return;
  FUZZ_CHECK(message1.size() == kFixed1 + payload.size());
  const std::string sent1 = Alter(message1, alter_second ? kKept : how, position);
  const bool ok1 = responder.ReadMessage(sent1, &got);
  FUZZ_CHECK(ok1 == (sent1 == message1));
  if (!ok1) {
    CheckDead(&responder, message1);
    return;
  }
  FUZZ_CHECK(got == payload);

  // The responder answers with the payload reversed.
  const std::string reply(payload.rbegin(), payload.rend());
  std::string message2;
  const bool fits2 = reply.size() <= kNoiseMaxMessage - kFixed2;
  FUZZ_CHECK(responder.WriteMessage(reply, &message2) == fits2);
  if (!fits2) return;
  const std::string sent2 = Alter(message2, alter_second ? how : kKept, position);
  const bool ok2 = initiator.ReadMessage(sent2, &got);
  FUZZ_CHECK(ok2 == (sent2 == message2));
  if (!ok2) {
    CheckDead(&initiator, message2);
    return;
  }
  FUZZ_CHECK(got == reply);
  CheckTransport(&initiator, &responder);
}

}  // namespace
}  // namespace treesync

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  using namespace treesync;
  // Genuine messages 1 and 2, with and without the psk, so a run from
  // scratch starts at the passing path; and built inputs of each kind.
  std::vector<std::string> seeds;
  for (bool psk : {false, true}) {
    const std::string flags(1, psk ? '\x01' : '\x00');
    NoiseHandshake initiator = MakeInitiator(psk), responder = MakeResponder(psk);
    std::string message1, message2, payload;
    initiator.WriteMessage(kRawPayload1, &message1);
    responder.ReadMessage(message1, &payload);
    responder.WriteMessage("welcome", &message2);
    seeds.push_back(flags + message1);
    seeds.push_back(flags + message2);
    for (int how = 0; how < 4; ++how) {
      for (int second = 0; second < 2; ++second) {
        const char built = char(0x02 | (psk ? 1 : 0) | (how << 2) | (second << 4));
        seeds.push_back(std::string(1, built) + std::string("\x29\x01", 2) + "built payload");
      }
    }
  }
  fuzz::SeedCorpus(argc, argv, seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treesync;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const bool psk = (flags & 0x01) != 0;
  if ((flags & 0x02) == 0) {
    const std::string message(reinterpret_cast<const char*>(data + 1), size - 1);
    RawMessage1(message, psk);
    RawMessage2(message, psk);
    return 0;
  }
  if (size < 3) return 0;
  const uint16_t position = uint16_t(data[1] | (data[2] << 8));
  const std::string payload(reinterpret_cast<const char*>(data + 3), size - 3);
  Built(payload, psk, Alteration((flags >> 2) & 3), (flags & 0x10) != 0, position);
  return 0;
}
