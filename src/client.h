// The connecting side of a session: reaches the server over TCP or through
// a command's stdin and stdout (ssh, --via), says in its Hello which way
// the tree flows, and runs the receiving role (pull) or the sending role
// (push) on the local folder.
#ifndef TREESYNC_CLIENT_H_
#define TREESYNC_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "byte_stream.h"
#include "connection.h"
#include "subprocess.h"
#include "protocol.h"
#include "receiver.h"
#include "report.h"
#include "secure_channel.h"
#include "send_session.h"
#include "status.h"

namespace treesync {

// A watching client that lost its server tries again after 1 s, then
// twice as long each time, up to this.
constexpr int kMaxBackoffMs = 30000;

struct TransferOptions {
  // Where the server is: a command whose stdin and stdout carry the
  // session (ssh ... treesync serve --stdio, or --via), when not empty;
  // else TCP to host:port.
  std::vector<std::string> command;
  std::string host;
  uint16_t port = 0;
  // The sub-folder of the served tree to pull from or push into ("": all).
  std::string remote_folder;
  std::string dir;  // the local folder
  bool delete_extraneous = true;
  bool checksum = false;  // compare content hashes, not size and mtime
  bool dry_run = false;   // report what would change, change nothing
  int timeout_ms = -1;    // -1: wait forever, like rsync without --timeout
  // Connecting over TCP gives up after this (kConnectTimeout); -1: after
  // timeout_ms, or the OS's own limit.
  int contimeout_ms = -1;
  uint64_t bwlimit = 0;
  std::string backup_dir;  // replaced and deleted entries go here (--backup-dir)
  std::string suffix;      // added to their names there (--suffix)
  // What to leave out (--exclude and the rest), in command-line order: the
  // receiver's rules travel to the sender, so both sides apply them.
  FilterList rules;
  bool delete_excluded = false;  // excluded entries on the receiver go too
  int64_t max_delete = -1;       // more deletions than this: none (exit 25)
  bool size_only = false;        // same size is current, whatever the mtime
  bool ignore_existing = false;  // never update a file the receiver has
  bool update = false;           // keep receiver files newer than the sender's
  // Owners and groups, kept where the receiver may set them (root): by
  // name unless numeric_ids; --no-owner and --no-group leave them out.
  bool owner = true, group = true;
  bool numeric_ids = false;
  bool specials = true;   // FIFOs, sockets and devices travel (--no-specials)
  bool devices = false;   // a pull makes device nodes (--devices, as root)
  bool xattrs = true;     // extended attributes and ACLs travel (--no-xattrs)
  bool hard_links = true;  // hard-linked files arrive linked (--no-hard-links)
  // Compression level both ways (-z, --compress-level); 0: none.
  int compress_level = 0;
  // --chown USER:GROUP as ResolveChown gives each part: its number (-1:
  // not given) and its name ("" when given as a number).
  int64_t chown_uid = -1, chown_gid = -1;
  std::string chown_user, chown_group;
  // Stay connected and mirror each change as it settles (--watch), coming
  // back after the server goes away; only an interrupt ends it.
  bool watch = false;
  // A pull builds each new version of dir beside the current one and
  // switches it in whole (--atomic: see versioned_folder.h), keeping
  // keep_previous older versions.
  bool atomic = false;
  int keep_previous = 0;
  // Over TCP: the keys of an encrypted session (--key and the rest; see
  // ClientSecurityFor). Null: plain TCP.
  std::shared_ptr<const ClientSecurity> security;
};

// One part of --chown as the receiver (pull: this host) or the sender
// (push) gives it: a number, or a name known here, to its number (*id)
// and name (*name: "" for a number). "" is *id -1. kUsage for a name
// unknown here.
Status ResolveChown(const std::string& part, bool user, int64_t* id, std::string* name);

// The receiver's share of the options.
ReceiverOptions ReceiverOptionsFor(const TransferOptions& options);

// Opens the target folder (Receiver::Open) and connects to the server over
// TCP (the legacy protocol's only way).
Status OpenAndConnect(const TransferOptions& options, Receiver* rx, platform::Socket* sock);

// Reaches the server as options say: a TCP connection, or the command
// started with its pipes as the stream (*child then owns it).
Status OpenTransport(const TransferOptions& options, std::unique_ptr<ByteStream>* stream,
                     platform::ChildProcess* child);

// Runs a whole pull. OK when the local folder mirrors the server's; kPartial
// when some entries failed but the rest is done; another error otherwise.
// With options.watch it goes on until interrupted (kInterrupted), printing
// a summary per round, reconnecting (kMaxBackoffMs apart at most) after
// the server goes away; it stops only on errors a retry can't mend.
Status RunPull(const TransferOptions& options, Reporter* reporter, PullStats* stats);
// Runs a whole push: the same results, for the server's folder, with the
// server's receiver's report printed through reporter and its counts in
// *stats; options.watch as for RunPull.
Status RunPush(const TransferOptions& options, Reporter* reporter, PullStats* stats);

// The protocol part of a pull over an established connection, for tests.
// hello_flags: what to ask the server for (kHelloWantHashes,
// kHelloPackedListing, kHelloStreaming); one frame per entry is accepted
// from servers that don't grant the packed listing. request: a sub-folder
// of the served tree and the receiver's filter rules, sent in a Session
// frame unless both are empty.
// REQUIRES: receiver->Open() succeeded.
Status PullSession(Connection* conn, Receiver* receiver, uint32_t hello_flags,
                   const SessionRequest& request = SessionRequest());
// The protocol part of a push of the local folder dir, likewise: the
// server's receiver takes request (its options and sub-folder).
Status PushSession(Connection* conn, const std::string& dir, uint32_t hello_flags,
                   const SessionRequest& request, Reporter* reporter, PullStats* stats,
                   const OwnerListing& owners = OwnerListing());

}  // namespace treesync

#endif  // TREESYNC_CLIENT_H_
