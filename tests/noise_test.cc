#include "noise.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_reader.h"

namespace treesync {
namespace {

using namespace test_vectors;  // NOLINT: the vector readers

std::string S(const uint8_t* p, size_t n) { return std::string(reinterpret_cast<const char*>(p), n); }

NoiseKeyPair Pair(const std::string& hex) { return NoiseKeyPair(U(Unhex(hex))); }

std::string Seal(NoiseCipher* c, const std::string& plain) {
  std::string out(plain.size() + kNoiseTagSize, '\0');
  EXPECT_TRUE(c->Encrypt(nullptr, 0, U(plain), plain.size(), reinterpret_cast<uint8_t*>(&out[0])));
  return out;
}

bool Open(NoiseCipher* c, const std::string& sealed, std::string* plain) {
  plain->assign(sealed.size() - kNoiseTagSize, '\0');
  return c->Decrypt(nullptr, 0, U(sealed), sealed.size(), reinterpret_cast<uint8_t*>(&(*plain)[0]));
}

// Runs one published vector: both sides from their keys, every message
// compared byte for byte, handshake and transport.
void RunVector(const JsonValue& v) {
  const std::string name = v["protocol_name"].string;
  SCOPED_TRACE(name);
  std::string ipsk, rpsk;
  if (v.has("init_psks") && !v["init_psks"].array.empty()) ipsk = Unhex(v["init_psks"].array[0].string);
  if (v.has("resp_psks") && !v["resp_psks"].array.empty()) rpsk = Unhex(v["resp_psks"].array[0].string);
  ASSERT_EQ(name.find("psk2") != std::string::npos, !ipsk.empty());
  const std::string rs = Unhex(v["init_remote_static"].string);
  NoiseHandshake init = NoiseHandshake::Initiator(
      Pair(v["init_static"].string), Pair(v["init_ephemeral"].string), U(rs),
      Unhex(v["init_prologue"].string), ipsk.empty() ? nullptr : U(ipsk));
  NoiseHandshake resp = NoiseHandshake::Responder(
      Pair(v["resp_static"].string), Pair(v["resp_ephemeral"].string),
      Unhex(v["resp_prologue"].string), rpsk.empty() ? nullptr : U(rpsk));
  const std::vector<JsonValue>& messages = v["messages"].array;
  ASSERT_GE(messages.size(), 2u);
  std::string wire, payload;
  const std::string p0 = Unhex(messages[0]["payload"].string);
  ASSERT_TRUE(init.WriteMessage(p0, &wire));
  EXPECT_EQ(wire, Unhex(messages[0]["ciphertext"].string));
  ASSERT_TRUE(resp.ReadMessage(wire, &payload));
  EXPECT_EQ(payload, p0);
  EXPECT_EQ(S(resp.remote_static(), kNoiseKeySize), S(Pair(v["init_static"].string).public_key, 32));
  wire.clear();
  const std::string p1 = Unhex(messages[1]["payload"].string);
  ASSERT_TRUE(resp.WriteMessage(p1, &wire));
  EXPECT_EQ(wire, Unhex(messages[1]["ciphertext"].string));
  ASSERT_TRUE(init.ReadMessage(wire, &payload));
  EXPECT_EQ(payload, p1);
  ASSERT_TRUE(init.done());
  ASSERT_TRUE(resp.done());
  EXPECT_EQ(S(init.handshake_hash(), 32), S(resp.handshake_hash(), 32));
  if (v.has("handshake_hash")) {
    EXPECT_EQ(S(init.handshake_hash(), 32), Unhex(v["handshake_hash"].string));
  }
  NoiseCipher isend, irecv, rsend, rrecv;
  init.Split(&isend, &irecv);
  resp.Split(&rsend, &rrecv);
  for (size_t i = 2; i < messages.size(); ++i) {
    const std::string p = Unhex(messages[i]["payload"].string);
    const bool from_initiator = i % 2 == 0;
    const std::string sealed = Seal(from_initiator ? &isend : &rsend, p);
    EXPECT_EQ(sealed, Unhex(messages[i]["ciphertext"].string)) << "message " << i;
    std::string got;
    ASSERT_TRUE(Open(from_initiator ? &rrecv : &irecv, sealed, &got)) << "message " << i;
    EXPECT_EQ(got, p);
  }
}

TEST(Noise, MatchesEveryPublishedIkVector) {
  size_t run = 0;
  for (const char* file : {"noise_cacophony.json", "noise_snow.json"}) {
    const JsonValue doc = ReadJsonFile(VectorPath(__FILE__, file));
    for (const JsonValue& v : doc["vectors"].array) {
      RunVector(v);
      ++run;
    }
  }
  // IK and IKpsk2 from cacophony, IK from snow.
  EXPECT_EQ(run, 3u);
}

struct Session {
  NoiseKeyPair server{U(std::string(32, 's'))}, client{U(std::string(32, 'c'))};
  NoiseKeyPair server_e{U(std::string(32, 'e'))}, client_e{U(std::string(32, 'f'))};
};

TEST(Noise, RefusesAServerWithAnotherKey) {
  Session k;
  const NoiseKeyPair impostor(U(std::string(32, 'i')));
  NoiseHandshake init = NoiseHandshake::Initiator(k.client, k.client_e, k.server.public_key, "p", nullptr);
  NoiseHandshake resp = NoiseHandshake::Responder(impostor, k.server_e, "p", nullptr);
  std::string m1, payload;
  ASSERT_TRUE(init.WriteMessage("hello", &m1));
  EXPECT_FALSE(resp.ReadMessage(m1, &payload));
  EXPECT_FALSE(resp.WriteMessage("", &m1));  // dead after a failure
}

TEST(Noise, RefusesAnyChangeToEitherMessage) {
  Session k;
  for (int which = 0; which < 2; ++which) {
    for (size_t byte = 0; byte < 100; byte += 7) {
      NoiseHandshake init = NoiseHandshake::Initiator(k.client, k.client_e, k.server.public_key, "p", nullptr);
      NoiseHandshake resp = NoiseHandshake::Responder(k.server, k.server_e, "p", nullptr);
      std::string m1, m2, payload;
      ASSERT_TRUE(init.WriteMessage("first", &m1));
      if (which == 0) {
        if (byte >= m1.size()) continue;
        m1[byte] = char(m1[byte] ^ 1);
        EXPECT_FALSE(resp.ReadMessage(m1, &payload)) << "byte " << byte;
        continue;
      }
      ASSERT_TRUE(resp.ReadMessage(m1, &payload));
      ASSERT_TRUE(resp.WriteMessage("second", &m2));
      if (byte >= m2.size()) continue;
      m2[byte] = char(m2[byte] ^ 1);
      EXPECT_FALSE(init.ReadMessage(m2, &payload)) << "byte " << byte;
    }
  }
}

TEST(Noise, RefusesAPeerWithAnotherPskOrPrologue) {
  Session k;
  const std::string psk_a(32, 'a'), psk_b(32, 'b');
  {
    NoiseHandshake init = NoiseHandshake::Initiator(k.client, k.client_e, k.server.public_key, "p", U(psk_a));
    NoiseHandshake resp = NoiseHandshake::Responder(k.server, k.server_e, "p", U(psk_b));
    std::string m1, m2, payload;
    ASSERT_TRUE(init.WriteMessage("", &m1));
    ASSERT_TRUE(resp.ReadMessage(m1, &payload));  // psk2: checked in message 2
    ASSERT_TRUE(resp.WriteMessage("", &m2));
    EXPECT_FALSE(init.ReadMessage(m2, &payload));
  }
  {
    NoiseHandshake init = NoiseHandshake::Initiator(k.client, k.client_e, k.server.public_key, "p1", nullptr);
    NoiseHandshake resp = NoiseHandshake::Responder(k.server, k.server_e, "p2", nullptr);
    std::string m1, payload;
    ASSERT_TRUE(init.WriteMessage("", &m1));
    EXPECT_FALSE(resp.ReadMessage(m1, &payload));
  }
}

TEST(Noise, RefusesCutMessagesAndWritesOutOfTurn) {
  Session k;
  NoiseHandshake init = NoiseHandshake::Initiator(k.client, k.client_e, k.server.public_key, "", nullptr);
  NoiseHandshake resp = NoiseHandshake::Responder(k.server, k.server_e, "", nullptr);
  std::string m1, payload;
  EXPECT_FALSE(resp.WriteMessage("", &m1));
  EXPECT_FALSE(init.ReadMessage("", &payload));
  ASSERT_TRUE(init.WriteMessage("abc", &m1));
  EXPECT_FALSE(init.WriteMessage("abc", &m1));
  EXPECT_FALSE(resp.ReadMessage(m1.substr(0, m1.size() - 1), &payload));
}

TEST(Noise, RefusesALowOrderEphemeral) {
  Session k;
  NoiseHandshake resp = NoiseHandshake::Responder(k.server, k.server_e, "", nullptr);
  std::string m1(96, '\0'), payload;  // e = 0: every DH with it is zero
  EXPECT_FALSE(resp.ReadMessage(m1, &payload));
}

TEST(NoiseCipher, RefusesReplayedReorderedAndDroppedMessages) {
  Session k;
  NoiseHandshake init = NoiseHandshake::Initiator(k.client, k.client_e, k.server.public_key, "", nullptr);
  NoiseHandshake resp = NoiseHandshake::Responder(k.server, k.server_e, "", nullptr);
  std::string m1, m2, payload;
  ASSERT_TRUE(init.WriteMessage("", &m1));
  ASSERT_TRUE(resp.ReadMessage(m1, &payload));
  ASSERT_TRUE(resp.WriteMessage("", &m2));
  ASSERT_TRUE(init.ReadMessage(m2, &payload));
  NoiseCipher isend, irecv, rsend, rrecv;
  init.Split(&isend, &irecv);
  resp.Split(&rsend, &rrecv);
  const std::string a = Seal(&isend, "one"), b = Seal(&isend, "two"), c = Seal(&isend, "three");
  std::string got;
  EXPECT_FALSE(Open(&rrecv, b, &got));  // reordered (or a dropped)
  ASSERT_TRUE(Open(&rrecv, a, &got));
  EXPECT_EQ(got, "one");
  EXPECT_FALSE(Open(&rrecv, a, &got));  // replayed
  EXPECT_FALSE(Open(&rrecv, c, &got));  // b dropped
  ASSERT_TRUE(Open(&rrecv, b, &got));
  ASSERT_TRUE(Open(&rrecv, c, &got));
  EXPECT_EQ(rrecv.nonce(), 3u);
  // The directions have keys of their own: a message can't be reflected.
  const std::string back = Seal(&rsend, "reply");
  EXPECT_FALSE(Open(&rrecv, back, &got));
  ASSERT_TRUE(Open(&irecv, back, &got));
}

TEST(NoiseCipher, RekeyingBothSidesKeepsThemInStep) {
  const std::string key(32, 'k');
  NoiseCipher a, b;
  a.SetKey(U(key));
  b.SetKey(U(key));
  a.Rekey();
  std::string got;
  const std::string m = Seal(&a, "after rekey");
  EXPECT_FALSE(Open(&b, m, &got));
  b.Rekey();
  ASSERT_TRUE(Open(&b, m, &got));
  EXPECT_EQ(got, "after rekey");
}

}  // namespace
}  // namespace treesync
