// Where a remote tree is, as the command line names it, and the command
// that reaches it over ssh; and the command line's numbers. Pure string
// work: nothing here connects.
#ifndef TREESYNC_ADDRESS_H_
#define TREESYNC_ADDRESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

struct Remote {
  enum Kind { kTcp, kSsh };
  Kind kind = kTcp;
  std::string user;       // kSsh only; "" for ssh's default
  std::string host;       // without brackets
  uint16_t port = 0;
  bool has_port = false;
  // kTcp: a sub-folder of the served tree ("" for all of it), checked by
  // the wire path rules. kSsh: the folder on the far side, as the user
  // wrote it ("." for the login folder when empty).
  std::string path;
};

// Whether s is a whole number from min to max (decimal digits only, at
// most 9 of them); then *out is it.
bool ParseNumber(const std::string& s, long min, long max, long* out);

// Splits "HOST[:PORT]" ("[v6addr]:PORT" for IPv6; a bare address with
// several colons is taken as IPv6 without a port). *port is left alone
// when the argument has none.
Status ParseHostPort(const std::string& arg, std::string* host, uint16_t* port, bool* has_port);

// Parses a remote address (kUsage when malformed):
//   HOST, HOST:PORT, [V6]:PORT, HOST[:PORT]/SUB/PATH,
//   treesync://HOST[:PORT][/SUB/PATH]              -> kTcp
//   [USER@]HOST:PATH (PATH not all digits, nor digits then '/'),
//   ssh://[USER@]HOST[:PORT]/PATH (PATH absolute)  -> kSsh
Status ParseRemote(const std::string& arg, Remote* out);

// Whether a `treesync SRC DEST` argument names a remote rather than a
// local folder: a treesync:// or ssh:// URL, or a colon before any slash,
// as rsync and scp decide; "C:\x" and "C:/x" (one letter, then a
// separator) are Windows drives, so local.
bool LooksRemote(const std::string& arg);

// Splits a command given as one string (-e, TREESYNC_RSH, --via) into
// words: blanks separate; '...' keeps everything literally; "..." keeps
// all but \" and \\; a backslash outside quotes escapes the next byte.
// kUsage for an unclosed quote or an empty command.
Status SplitCommand(const std::string& command, std::vector<std::string>* words);

// word quoted for a POSIX shell, unchanged when it needs no quoting. A
// leading "~/" (or a lone "~") stays unquoted, so the far side's shell
// still expands it to the login folder.
std::string ShellQuote(const std::string& word);

// The command that starts a session with r over ssh: rsh (the ssh program
// and its options), "-p PORT" when r has a port, [USER@]HOST, then
// "REMOTE_BINARY serve --stdio [--writable] -- PATH" quoted for the far
// side's shell. REQUIRES: r.kind == kSsh and !rsh.empty().
std::vector<std::string> SshCommand(const std::vector<std::string>& rsh, const Remote& r,
                                    const std::string& remote_binary, bool writable);

}  // namespace treesync

#endif  // TREESYNC_ADDRESS_H_
