// EncryptedStream: a ByteStream over another whose bytes travel as
// records sealed with the ciphers a Noise handshake gave
// (docs/PROTOCOL.md, "Encryption"). Every byte read has been authenticated;
// a flipped, replayed, reordered, dropped or cut record is kProtocol, and
// the end of the stream is itself a sealed record, so a cut connection
// can't pass for a clean close.
#ifndef TREESYNC_ENCRYPTED_STREAM_H_
#define TREESYNC_ENCRYPTED_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "byte_stream.h"
#include "noise.h"

namespace treesync {

// The most plaintext one record carries: Noise's 65,535-byte message less
// the tag.
constexpr size_t kMaxRecordPlain = kNoiseMaxMessage - kNoiseTagSize;
// Records each cipher seals or opens before both sides rekey it (Noise's
// Rekey, with no message about it): 2^20 records, at most 64 GiB under one
// key, far below ChaChaPoly's limits and the nonce's.
constexpr uint64_t kRekeyRecords = uint64_t(1) << 20;

// Wraps below: send seals what is written, receive opens what is read.
// already_read: bytes read from below before the wrap that belong to the
// encrypted stream. rekey_records: kRekeyRecords except in tests.
std::unique_ptr<ByteStream> Encrypted(std::unique_ptr<ByteStream> below, NoiseCipher send,
                                      NoiseCipher receive, std::string already_read,
                                      uint64_t rekey_records = kRekeyRecords);

// Memory one encrypted stream holds (its record buffers).
size_t EncryptionMemory();

}  // namespace treesync

#endif  // TREESYNC_ENCRYPTED_STREAM_H_
