// Key files for encrypted sessions, laid out the way ssh users know them:
// a private key file and its FILE.pub, an authorized-keys file on the
// server saying which client keys may do what, and a known-hosts file on
// the client remembering each server's key. Keys are X25519 (32 bytes),
// written in base64.
//
// Parsers take file text and report problems as kUsage with "line N: ..."
// (1-based); callers put the file's name in front (Status::Prefixed).
// Lines may end in "\r\n", and a leading UTF-8 byte order mark is skipped,
// so files edited on Windows read the same.
#ifndef TREESYNC_KEY_FILES_H_
#define TREESYNC_KEY_FILES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

constexpr size_t kKeySize = 32;

// The type word in front of a public key, and in front of a private key.
constexpr char kPublicKeyType[] = "treesync-x25519";
constexpr char kPrivateKeyType[] = "treesync-x25519-private";

// Base64 (RFC 4648 section 4: standard alphabet, '=' padding) of n bytes.
// Runs in time that depends on n only, since private keys pass through.
std::string Base64Encode(const void* data, size_t n);

// Decodes canonical padded base64 into *out (replacing it): false for a
// length that is not a multiple of 4, a character outside the alphabet,
// '=' anywhere but the last one or two places, or non-zero bits in the
// unused part of the last character (which has a single canonical form).
// No whitespace is skipped. *out is reserved at its final size before any
// byte is written, so a caller wiping it afterwards wipes the only copy.
bool Base64Decode(const std::string& text, std::string* out);

// "treesync-x25519 BASE64 COMMENT" (no trailing newline); without the
// space and comment when comment is empty. Line breaks in comment become
// spaces, so the result is always one line.
std::string FormatPublicKey(const uint8_t key[kKeySize], const std::string& comment);

// Parses a public key: either a whole FormatPublicKey line (as in a .pub
// file; surrounding whitespace and one trailing newline are fine) or the
// bare base64 part (as given to --server-key). *comment gets the comment
// ("" when none); comment may be null. kUsage, with a one-line message,
// for a wrong type word, bad base64, a key that is not 32 bytes, or more
// than one line.
Status ParsePublicKey(const std::string& text, uint8_t key[kKeySize], std::string* comment);

// "BLAKE2s:" then the unpadded base64 of BLAKE2s-256 of the 32 key bytes
// (51 characters), for showing and comparing keys by eye, like ssh's
// "SHA256:..." fingerprints.
std::string Fingerprint(const uint8_t key[kKeySize]);

// Makes a new key pair from platform::SecretRandom (kIo "no secure random
// source" if it fails) and writes it: path gets "treesync-x25519-private
// BASE64\n" with mode 0600, created exclusively with that mode, so it is
// never readable by others, not even for an instant; path + ".pub" gets
// FormatPublicKey(public, comment) and a newline, mode 0644. Missing
// parent folders are created. Refuses (kUsage) when path or path.pub
// already exists; if writing either file fails, neither is left behind.
// *public_key_out gets the public key.
Status WriteKeyPair(const std::string& path, const std::string& comment,
                    uint8_t public_key_out[kKeySize]);

// The most bytes an authorized keys or known hosts file may have: some
// 100,000 lines, far beyond any real one, and a bound on what a mistaken
// path (a device, a log) makes us read.
constexpr size_t kMaxKeyListFileBytes = 16u << 20;

// Reads a list of keys whole (authorized keys, known hosts) into *text.
// A missing file is an empty list when missing_ok, else kUsage; so is one
// that can't be read or is larger than kMaxKeyListFileBytes (naming the
// file).
Status ReadKeyListFile(const std::string& path, bool missing_ok, std::string* text);

// The most bytes a private key file may have; it is one short line, and
// the bound keeps a mistaken path (a device, a log) from being read whole.
constexpr size_t kMaxPrivateKeyFileBytes = 4096;

// Reads a private key file written by WriteKeyPair (a symlink is
// followed) and derives its public key. kUsage naming the file when, where
// the platform keeps permission bits, the file allows its group or others
// any access (as ssh refuses an "unprotected private key file"; the
// message says to chmod 600 it), or when its content is not one
// "treesync-x25519-private BASE64" line of a 32-byte key; kIo (or
// kLocalName) when it can't be read. Buffers that held the key are wiped.
Status ReadPrivateKey(const std::string& path, uint8_t private_key[kKeySize],
                      uint8_t public_key[kKeySize]);

// An IPv4 or IPv6 network. IPv4 is held as its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d, prefix + 96), so an IPv4 network also matches a peer
// that a dual-stack socket reports as ::ffff:a.b.c.d.
struct Cidr {
  uint8_t addr[16] = {};  // bits past prefix_bits are zero
  int prefix_bits = 0;    // 0..128
};

// Parses an IPv4 dotted quad (four decimal numbers 0..255, no leading
// zeros) or an IPv6 address (RFC 4291 text: up to eight groups of 1..4
// hex digits, at most one "::", optionally ending in a dotted quad) into
// 16 bytes, IPv4 as ::ffff:a.b.c.d. No zone ("%eth0"), brackets or port.
bool ParseIpAddress(const std::string& text, uint8_t out[16]);

// Parses "ADDR/BITS" (BITS 0..32 for IPv4, 0..128 for IPv6) or a bare ADDR
// (/32 or /128). kUsage when malformed, or when ADDR has bits set past the
// prefix ("10.0.0.1/8"), which is usually a typo for another network; the
// message suggests the network meant.
Status ParseCidr(const std::string& text, Cidr* out);

// Whether the 16-byte address addr (as ParseIpAddress gives it) is in net.
bool CidrContains(const Cidr& net, const uint8_t addr[16]);

// One line of an authorized-keys file:
//   [OPTIONS] treesync-x25519 BASE64 [COMMENT]
// OPTIONS is a comma-separated list, without spaces, of
//   writable          the key may push into the tree
//   read-only         it may only pull (the default)
//   from=ADDR[/BITS]  only from these networks (may repeat; any of them)
//   folder=SUB        only this sub-folder of the served tree
struct AuthorizedKey {
  uint8_t key[kKeySize] = {};
  bool writable = false;
  std::vector<Cidr> from;  // empty: from anywhere
  std::string folder;      // relative, '/'-separated; "" for the whole tree
  std::string comment;
  int line = 0;  // where in the file, for log messages
};

// Parses an authorized-keys file into *out (replacing it). Blank lines and
// lines whose first non-blank character is '#' are skipped. kUsage naming
// the line for an unknown, empty or repeated-where-it-can't-be option,
// both writable and read-only, a bad from= network, a folder= that is
// absolute or has an empty, "." or ".." component or a backslash, a
// missing or wrong type word, or a malformed key.
Status ParseAuthorizedKeys(const std::string& text, std::vector<AuthorizedKey>* out);

// The first entry of keys (file order, as ssh) for key whose from list is
// empty or has a network holding peer_ip, or nullptr. peer_ip is a bare
// address as the socket reports it (no port, no brackets; a "%zone" suffix
// is ignored); one that doesn't parse matches only entries without from=.
// Keys are compared in constant time.
const AuthorizedKey* FindAuthorizedKey(const std::vector<AuthorizedKey>& keys,
                                       const uint8_t key[kKeySize], const std::string& peer_ip);

// A known-hosts line, "HOST:PORT treesync-x25519 BASE64" (no trailing
// newline), with host in brackets when it has a ':' (IPv6: "[::1]:1234").
// host is written as given; lookups ignore ASCII case.
std::string KnownHostLine(const std::string& host, int port, const uint8_t key[kKeySize]);

// Looks host (no brackets) and port up in a known-hosts file's text: the
// first line for that HOST:PORT sets *found and *key; otherwise *found is
// false. Blank and '#' lines are skipped, and words after the key are
// ignored (comments). A malformed line anywhere is kUsage naming it rather
// than skipped: skipping a garbled line for this host would make its key
// look unknown and be trusted afresh.
Status LookupKnownHost(const std::string& file_text, const std::string& host, int port, bool* found,
                       uint8_t key[kKeySize]);

// Appends KnownHostLine(host, port, key) and a newline to the file at path,
// creating its missing folders and the file itself, and first ending an
// unfinished last line. kIo when that fails.
Status AppendKnownHost(const std::string& path, const std::string& host, int port,
                       const uint8_t key[kKeySize]);

// UserConfigFolder()/key and UserConfigFolder()/known_hosts, joined with
// the platform's separator; "" when there is no such folder.
std::string DefaultKeyPath();
std::string DefaultKnownHostsPath();

}  // namespace treesync

#endif  // TREESYNC_KEY_FILES_H_
