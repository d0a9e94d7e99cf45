// hostile_server --port-file F [--key FILE --authorized-keys FILE] SCENARIO:
// a scripted server that breaks the protocol in one way, for the end-to-end
// tests of the client's defences. Listens on 127.0.0.1 (port 0), writes the
// port to F, serves one client, exits. It never runs longer than about 20 s.
// With --key and --authorized-keys it first runs the server's half of the
// encrypted handshake (the library's own), then plays the same scenario:
// the same bytes, sealed.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "connection.h"
#include "key_files.h"
#include "manifest.h"
#include "net.h"
#include "protocol.h"
#include "secure_channel.h"
#include "secure_wipe.h"
#include "xxh3.h"
#include "zstd_encoder.h"

using namespace treesync;

namespace {

Entry MakeEntry(EntryType type, const std::string& path, uint64_t size = 0,
                const std::string& target = std::string()) {
  Entry e;
  e.type = type;
  e.path = path;
  e.mode = type == EntryType::kFile ? 0644 : 0755;
  e.size = size;
  e.target = target;
  return e;
}

Status SendEntries(Connection* c, const std::vector<Entry>& entries, bool with_end = true) {
  TS_RETURN_IF_ERROR(c->Send(FrameType::kSync, EncodeSync(SyncStart{0755, 0})));
  for (const Entry& e : entries) TS_RETURN_IF_ERROR(c->Send(EntryFrameType(e.type), EncodeEntry(e)));
  if (!with_end) return Status::Ok();
  ListEnd end;
  end.count = static_cast<uint32_t>(entries.size());
  return c->Send(FrameType::kListEnd, EncodeListEnd(end));
}

// Reads client frames until a WantEnd (or an error), collecting the wants.
Status ReadWants(Connection* c, std::vector<Want>* wants) {
  for (;;) {
    Frame f;
    TS_RETURN_IF_ERROR(c->Receive(&f));
    if (f.type == FrameType::kWantEnd) return Status::Ok();
    if (f.type == FrameType::kWant) TS_RETURN_IF_ERROR(DecodeWants(f, wants));
  }
}

Status Next(Connection* c, Want* w) {
  std::vector<Want> wants;
  for (;;) {
    Frame f;
    TS_RETURN_IF_ERROR(c->Receive(&f));
    if (f.type == FrameType::kWant) {
      TS_RETURN_IF_ERROR(DecodeWants(f, &wants));
      *w = wants.front();
      return Status::Ok();
    }
    if (f.type == FrameType::kWantEnd) return Status::Socket("no more wants");
  }
}

Status SendFile(Connection* c, uint32_t index, const std::string& data, bool good_hash) {
  Begin b;
  b.index = index;
  TS_RETURN_IF_ERROR(c->Send(FrameType::kBegin, EncodeBegin(b)));
  if (!data.empty()) TS_RETURN_IF_ERROR(c->Send(FrameType::kData, data));
  End e;
  e.size = data.size();
  e.mode = 0644;
  e.hash = Xxh3_128(data.data(), data.size());
  if (!good_hash) e.hash.low ^= 1;
  return c->Send(FrameType::kEnd, EncodeEnd(e));
}

// Hands bytes to the stream as they are, below the frames: for the
// compressed-stream scenarios, which break the compression itself.
Status WriteRaw(Connection* c, const std::string& bytes) {
  TS_RETURN_IF_ERROR(c->Flush());
  size_t done = 0;
  for (int round = 0; done < bytes.size() && round < 10000; ++round) {
    platform::Readiness r;
    TS_RETURN_IF_ERROR(c->stream().Poll(false, true, 100, &r));
    size_t wrote = 0;
    TS_RETURN_IF_ERROR(c->stream().Write(bytes.data() + done, bytes.size() - done, &wrote));
    done += wrote;
  }
  return Status::Ok();
}

// The zstd-* scenarios: compression granted, then a valid frame header
// and a first block holding Sync and a one-file listing (no ListEnd), then
// the trouble.
Status PlayCompressed(const std::string& scenario, Connection* c) {
  Hello reply;
  reply.flags = kHelloCompress;
  TS_RETURN_IF_ERROR(c->Send(FrameType::kHello, EncodeHello(reply)));
  std::string frames;
  AppendFrame(&frames, FrameType::kSync, EncodeSync(SyncStart{0755, 0}));
  Entry good = MakeEntry(EntryType::kFile, "good", 4);
  AppendFrame(&frames, EntryFrameType(good.type), EncodeEntry(good));
  ZstdEncoder enc;
  std::string z;
  enc.Compress(frames.data(), frames.size(), &z);
  if (scenario == "zstd-huge-window") {
    z[5] = static_cast<char>(31 << 3);  // Window_Descriptor: 2^41 bytes
  } else if (scenario == "zstd-reserved-block") {
    z += std::string("\x06\x00\x00", 3);  // Block_Type 3, reserved
  } else if (scenario == "zstd-rle-bomb") {
    z += std::string("\x03\x00\x40", 3);  // an RLE block of 512 KiB, past 128 KiB
    z += "x";
  } else if (scenario == "zstd-pass-cut") {
    // The frame closed, then a pass promising 4 GiB - 1 that stops after
    // one more listing entry: nothing waits for the rest, which is a cut.
    enc.End(&z);
    std::string entry;
    Entry more = MakeEntry(EntryType::kFile, "more", 4);
    AppendFrame(&entry, EntryFrameType(more.type), EncodeEntry(more));
    z += std::string("\x5e\x2a\x4d\x18\xff\xff\xff\xff", 8) + entry;
  } else if (scenario == "zstd-truncated") {
    std::string more;
    enc.Compress(std::string(100000, 'q').data(), 100000, &more);
    z += more.substr(0, more.size() / 2);
  } else {
    return Status::Usage("unknown scenario " + scenario);
  }
  return WriteRaw(c, z);
}

// Answers with reply, then Sync, one Entries frame of payload (count
// entries) and ListEnd; takes the requests and ends with Done.
Status PlayPackedListing(Connection* c, const Hello& reply, const std::string& payload,
                         uint32_t count) {
  TS_RETURN_IF_ERROR(c->Send(FrameType::kHello, EncodeHello(reply)));
  TS_RETURN_IF_ERROR(c->Send(FrameType::kSync, EncodeSync(SyncStart{0755, 0})));
  TS_RETURN_IF_ERROR(c->Send(FrameType::kEntries, payload));
  ListEnd end;
  end.count = count;
  TS_RETURN_IF_ERROR(c->Send(FrameType::kListEnd, EncodeListEnd(end)));
  std::vector<Want> wants;
  TS_RETURN_IF_ERROR(ReadWants(c, &wants));
  return c->Send(FrameType::kDone, std::string());
}

Status Play(const std::string& scenario, Connection* c) {
  Frame hello;
  TS_RETURN_IF_ERROR(c->Receive(&hello));
  if (scenario == "version") {
    Hello h;
    h.version = 99;
    return c->Send(FrameType::kHello, EncodeHello(h));
  }
  if (scenario == "refuse") {
    return c->Send(FrameType::kError, EncodeError(ErrorKind::kRefused, "server busy"));
  }
  if (scenario == "bad-magic") {
    return c->Send(FrameType::kHello, std::string("NOTTREES\1\0\0\0\0\0\0\0", 16));
  }
  if (scenario == "reset") return Status::Ok();  // close right away
  if (scenario.compare(0, 5, "zstd-") == 0) return PlayCompressed(scenario, c);
  // The packed-* scenarios grant the packed listing (but packed-unasked).
  Hello reply;
  if (scenario.compare(0, 7, "packed-") == 0 && scenario != "packed-unasked") {
    reply.flags = kHelloPackedListing;
  }
  if (scenario == "hole-past-end") reply.flags = kHelloHoles;
  if (scenario == "owner-name-10k") reply.flags = kHelloPackedListing | kHelloOwners;
  if (scenario == "device-node") reply.flags = kHelloPackedListing | kHelloSpecials;
  if (scenario == "xattr-10m") {
    // An attribute claiming 10 MiB, half a MiB of it sent: the client
    // refuses the record, holding no more than the frame.
    reply.flags = kHelloPackedListing | kHelloXattrs;
    // head: file with attributes; shares 0, "f", mode 0644, mtime 0, size 0;
    // one attribute "user.huge" of 10 MiB (varint 0x80 0x80 0x80 0x05).
    std::string payload("\x42\x00\x01" "f" "\xa4\x03\x00\x00\x01\x09" "user.huge"
                        "\x80\x80\x80\x05", 23);
    payload += std::string(512 * 1024, 'v');
    return PlayPackedListing(c, reply, payload, 1);
  }
  if (scenario.compare(0, 5, "link-") == 0) {
    // A link group whose later name points past itself: at an entry not yet
    // sent, or beyond any listing; or a group of one name.
    reply.flags = kHelloPackedListing | kHelloHardLinks;
    Entry a = MakeEntry(EntryType::kFile, "a", 3);
    a.has_link = true;
    a.link_first = kLinkFirst;
    a.link_names = scenario == "link-one-name" ? 1 : 2;
    Entry b = MakeEntry(EntryType::kFile, "b", 3);
    b.has_link = true;
    b.link_first = scenario == "link-not-yet-sent" ? 2 : 0xFFFFFFFEu;
    EntryPacker packer;
    packer.Add(a);
    packer.Add(b);
    packer.Add(MakeEntry(EntryType::kFile, "c", 3));
    return PlayPackedListing(c, reply, packer.Take(), 3);
  }
  if (scenario == "owner-name-10k" || scenario == "device-node") {
    Entry e = MakeEntry(EntryType::kFile, "f", 0);
    EntryPacker packer(scenario == "owner-name-10k");
    if (scenario == "owner-name-10k") {
      // A 10 KB name, and a 4 GiB uid: the client refuses the frame.
      e.has_owner = true;
      e.user = std::string(10000, 'u');
      e.uid = 0xFFFFFFFEu;
    } else {
      // The host's first disk, open to everyone, from a server the client
      // trusts with bytes only.
      e.type = EntryType::kSpecial;
      e.special = SpecialKind::kBlockDevice;
      e.rdev_major = 8;
      e.rdev_minor = 0;
      e.mode = 0666;
    }
    packer.Add(e);
    return PlayPackedListing(c, reply, packer.Take(), 1);
  }
  TS_RETURN_IF_ERROR(c->Send(FrameType::kHello, EncodeHello(reply)));
  if (scenario == "stall") {
    std::this_thread::sleep_for(std::chrono::seconds(8));
    return Status::Ok();
  }
  if (scenario == "oversized-frame") {
    TS_RETURN_IF_ERROR(c->Send(FrameType::kSync, EncodeSync(SyncStart{})));
    TS_RETURN_IF_ERROR(c->Flush());
    std::string header("\x31\xff\xff\xff\x7f", 5);  // a Data frame of 2 GiB
    size_t wrote = 0;
    return c->stream().Write(header.data(), header.size(), &wrote);
  }
  if (scenario == "unknown-frame-type") {
    TS_RETURN_IF_ERROR(c->Flush());
    size_t wrote = 0;
    std::string junk("\x7f\x00\x00\x00\x00", 5);
    return c->stream().Write(junk.data(), junk.size(), &wrote);
  }
  using T = EntryType;
  if (scenario == "dotdot") return SendEntries(c, {MakeEntry(T::kFile, "../evil", 1)});
  if (scenario == "absolute") return SendEntries(c, {MakeEntry(T::kFile, "/tmp/treesync-evil", 1)});
  if (scenario == "dot") return SendEntries(c, {MakeEntry(T::kFolder, "a"), MakeEntry(T::kFile, "a/./b", 1)});
  if (scenario == "empty-component") {
    return SendEntries(c, {MakeEntry(T::kFolder, "a"), MakeEntry(T::kFile, "a//b", 1)});
  }
  if (scenario == "nul") return SendEntries(c, {MakeEntry(T::kFile, std::string("a\0b", 3), 1)});
  if (scenario == "dup-types") {
    return SendEntries(c, {MakeEntry(T::kFolder, "x"), MakeEntry(T::kFile, "x", 1)});
  }
  if (scenario == "symlink-parent") {
    return SendEntries(c, {MakeEntry(T::kSymlink, "s", 0, ".."), MakeEntry(T::kFile, "s/evil", 4)});
  }
  if (scenario == "file-parent") {
    return SendEntries(c, {MakeEntry(T::kFile, "f", 1), MakeEntry(T::kFile, "f/x", 1)});
  }
  if (scenario == "unlisted-parent") return SendEntries(c, {MakeEntry(T::kFile, "a/b", 1)});
  if (scenario == "temp-name") {
    return SendEntries(c, {MakeEntry(T::kFile, ".treesync-0123456789abcdef.tmp", 1)});
  }
  if (scenario == "packed-dotdot" || scenario == "packed-unasked" ||
      scenario == "packed-overshare") {
    EntryPacker packer;
    packer.Add(MakeEntry(T::kFolder, "a"));
    std::string payload = packer.Take();
    if (scenario == "packed-overshare") {
      payload += std::string("\x02\x05\x01x\x00\x00\x01", 7);  // shares 5 bytes of "a"
    } else {
      EntryPacker evil;  // the packer does not check what it is given
      evil.Add(MakeEntry(T::kFile, "../evil", 1));
      payload = evil.Take();
    }
    TS_RETURN_IF_ERROR(c->Send(FrameType::kSync, EncodeSync(SyncStart{0755, 0})));
    TS_RETURN_IF_ERROR(c->Send(FrameType::kEntries, payload));
    ListEnd end;
    end.count = 2;
    return c->Send(FrameType::kListEnd, EncodeListEnd(end));
  }
  if (scenario == "count-mismatch") {
    TS_RETURN_IF_ERROR(SendEntries(c, {MakeEntry(T::kFile, "a", 1)}, false));
    ListEnd end;
    end.count = 7;
    return c->Send(FrameType::kListEnd, EncodeListEnd(end));
  }
  if (scenario == "truncated") {
    TS_RETURN_IF_ERROR(SendEntries(c, {MakeEntry(T::kFile, "a", 1)}, false));
    TS_RETURN_IF_ERROR(c->Flush());
    std::string half("\x12\x40\x00\x00\x00partial", 12);
    size_t wrote = 0;
    return c->stream().Write(half.data(), half.size(), &wrote);
  }
  // Scenarios with a valid listing of two files, then trouble in the data.
  // In listing order; "slow" sends up to 100 KiB of the first.
  std::vector<Entry> two = {
      MakeEntry(T::kFile, "good", scenario == "slow" ? 100 * 1024 : 4),
      MakeEntry(T::kFile, "other", 5), MakeEntry(T::kFolder, "zdir")};
  TS_RETURN_IF_ERROR(SendEntries(c, two));
  Want w;
  if (scenario == "begin-unrequested") {
    TS_RETURN_IF_ERROR(Next(c, &w));
    return SendFile(c, 2, "evil", true);  // the folder's index
  }
  if (scenario == "hole-past-end" || scenario == "hole-ungranted") {
    // A hole that would make "good" (listed at 4 bytes) 1 TiB long.
    TS_RETURN_IF_ERROR(Next(c, &w));
    Begin b;
    b.index = w.index;
    TS_RETURN_IF_ERROR(c->Send(FrameType::kBegin, EncodeBegin(b)));
    TS_RETURN_IF_ERROR(c->Send(FrameType::kData, std::string("go")));
    return c->Send(FrameType::kHole, EncodeHole(1ull << 40));
  }
  if (scenario == "data-outside") {
    TS_RETURN_IF_ERROR(Next(c, &w));
    return c->Send(FrameType::kData, std::string("stray"));
  }
  if (scenario == "file-error") {
    std::vector<Want> wants;
    for (int i = 0; i < 2; ++i) {
      Frame f;
      TS_RETURN_IF_ERROR(c->Receive(&f));
      if (f.type == FrameType::kWant) TS_RETURN_IF_ERROR(DecodeWants(f, &wants));
      if (wants.size() >= 2) break;
    }
    TS_RETURN_IF_ERROR(SendFile(c, 0, "good", true));
    TS_RETURN_IF_ERROR(c->Send(FrameType::kFileError, EncodeFileError(1, "other: unreadable")));
    std::vector<Want> rest;
    TS_RETURN_IF_ERROR(ReadWants(c, &rest));
    return c->Send(FrameType::kDone, std::string());
  }
  if (scenario == "bad-hash") {
    // Every answer's hash is wrong; the client asks again once, then gives up.
    std::vector<Want> wants;
    int answered = 0;
    for (;;) {
      Frame f;
      TS_RETURN_IF_ERROR(c->Receive(&f));
      if (f.type == FrameType::kWantEnd) break;
      if (f.type != FrameType::kWant) continue;
      wants.clear();
      TS_RETURN_IF_ERROR(DecodeWants(f, &wants));
      for (const Want& x : wants) {
        TS_RETURN_IF_ERROR(SendFile(c, x.index, x.index == 0 ? "good" : "other", false));
        ++answered;
      }
    }
    return c->Send(FrameType::kDone, std::string());
  }
  if (scenario == "slow") {
    TS_RETURN_IF_ERROR(Next(c, &w));
    Begin b;
    b.index = w.index;
    TS_RETURN_IF_ERROR(c->Send(FrameType::kBegin, EncodeBegin(b)));
    for (int i = 0; i < 100; ++i) {
      TS_RETURN_IF_ERROR(c->Send(FrameType::kData, std::string(1024, 's')));
      TS_RETURN_IF_ERROR(c->Flush());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::Ok();
  }
  return Status::Usage("unknown scenario " + scenario);
}

// Reads --key and --authorized-keys into *sec, as serve does.
Status LoadSecurity(const std::string& key_path, const std::string& authorized_path,
                    ServerSecurity* sec) {
  uint8_t priv[kKeySize], pub[kKeySize];
  TS_RETURN_IF_ERROR(ReadPrivateKey(key_path, priv, pub));
  sec->key = NoiseKeyPair(priv);
  SecureWipe(priv, sizeof(priv));
  std::ifstream f(authorized_path, std::ios::binary);
  if (!f) return Status::Usage(authorized_path + ": can't read it");
  std::ostringstream text;
  text << f.rdbuf();
  return ParseAuthorizedKeys(text.str(), &sec->authorized).Prefixed(authorized_path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file, key_path, authorized_path, scenario;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else if (a == "--key" && i + 1 < argc) {
      key_path = argv[++i];
    } else if (a == "--authorized-keys" && i + 1 < argc) {
      authorized_path = argv[++i];
    } else if (scenario.empty() && a.compare(0, 2, "--") != 0) {
      scenario = a;
    } else {
      scenario.clear();
      break;
    }
  }
  if (port_file.empty() || scenario.empty() || key_path.empty() != authorized_path.empty()) {
    std::fprintf(stderr,
                 "usage: hostile_server --port-file F [--key FILE --authorized-keys FILE] "
                 "SCENARIO\n");
    return 1;
  }
  const bool encrypted = !key_path.empty();
  ServerSecurity security;
  if (encrypted) {
    Status s = LoadSecurity(key_path, authorized_path, &security);
    if (!s.ok()) {
      std::fprintf(stderr, "hostile_server: %s\n", s.message().c_str());
      return 1;
    }
  }
  platform::NetInit();
  platform::Socket listener;
  uint16_t port = 0;
  if (!platform::Listen("127.0.0.1", 0, &listener).ok() || !platform::LocalPort(listener, &port).ok()) {
    std::fprintf(stderr, "hostile_server: cannot listen\n");
    return 1;
  }
  std::string tmp = port_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return 1;
  std::fprintf(f, "%u\n", port);
  std::fclose(f);
  std::rename(tmp.c_str(), port_file.c_str());
  platform::Socket sock;
  std::string peer;
  for (int i = 0; i < 100 && !sock.valid(); ++i) platform::Accept(listener, 200, &sock, &peer);
  if (!sock.valid()) return 1;
  Connection conn(std::move(sock), 15000);
  Status s = Status::Ok();
  if (encrypted) {
    Frame first;
    const AuthorizedKey* who = nullptr;
    s = conn.Receive(&first);
    if (s.ok()) s = SecureAsServer(&conn, first, security, PeerAddress(peer), &who);
    if (!s.ok()) {
      std::fprintf(stderr, "hostile_server: handshake: %s\n", s.message().c_str());
      return 1;
    }
  }
  s = Play(scenario, &conn);
  // The end of what we send: a FIN, as closing would send; encrypted, the
  // sealed end record first, without which the client would see a cut
  // stream (exit 12) rather than the close a scenario means.
  conn.Finish();
  // Give the client a moment to read our last frames before we close.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (!s.ok() && s.kind() == ErrorKind::kUsage) {
    std::fprintf(stderr, "hostile_server: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
