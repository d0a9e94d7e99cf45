#include "cli.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "address.h"
#include "client.h"
#include "console.h"
#include "fs_meta.h"
#include "key_files.h"
#include "legacy_cmb.h"
#include "net.h"
#include "path.h"
#include "protocol.h"
#include "rate_limit.h"
#include "secure_channel.h"
#include "secure_wipe.h"
#include "report.h"
#include "server.h"
#include "zstd_encoder.h"

namespace treesync {

namespace {

const char kUsage[] =
    "usage: treesync serve [options] DIR\n"    "       treesync keygen [-C COMMENT] [FILE]\n"
    "       treesync pull [options] REMOTE DIR\n"
    "       treesync push [options] DIR REMOTE\n"
    "       treesync [options] SRC DEST     (one of them remote: pull or push)\n"
    "       treesync --help | --version [--json]\n";

// The help, a section a command: `treesync CMD --help` prints its own,
// `treesync --help` all of them.
const char kHelpIntro[] =
    "treesync: mirror a folder tree from one host to another, over TCP or ssh.\n"
    "\n"
    "  treesync -V, --version [--json]\n"
    "      Print the version and the protocol's (--json: one JSON object with\n"
    "      name, version, protocol and json_schema; see docs/JSON.md).\n"
    "  treesync [COMMAND] -h, --help\n"
    "      This help; after a command, that command's part of it.\n"
    "\n";

const char kHelpServe[] =
    "  treesync serve [options] DIR\n"
    "      Serve DIR to any number of clients: read-only unless --writable (with\n"
    "      keys, unless the client's line in --authorized-keys says writable).\n"
    "      --port N          TCP port (default 1234; 0 picks a free one)\n"
    "      --bind ADDR       listen on ADDR only (default: every interface, IPv6 and IPv4)\n"
    "      --writable        also accept pushes into DIR. Without keys, on TCP this\n"
    "                        needs --bind to a loopback address, or --insecure; over\n"
    "                        ssh or --stdio it needs neither\n"
    "      --insecure        let --writable listen beyond loopback without keys:\n"
    "                        anyone who can reach the port can then change DIR\n"
    "      --key FILE        this server's private key (treesync keygen): TCP sessions\n"
    "                        are then encrypted and authenticated (Noise_IK), and\n"
    "                        only clients in --authorized-keys get one\n"
    "      --authorized-keys FILE  clients' public keys, one a line, each after\n"
    "                        options (comma-separated): writable, read-only (the\n"
    "                        default), from=ADDR/BITS, folder=SUB\n"
    "      --psk-file FILE   also require this pre-shared key (32 bytes, 64 hex digits\n"
    "                        or base64), given by clients with --psk-file\n"
    "      --stdio           one session on stdin/stdout (for ssh, inetd, systemd\n"
    "                        socket activation, --via); the log goes to stderr\n"
    "      --once            exit after the first client session ends\n"
    "      --max-clients N   refuse clients beyond N at once (default 32)\n"
    "      --timeout SECS    drop a client silent for SECS seconds (default 300)\n"
    "      --legacy-cmb      speak the original CMB protocol to old clients\n"
    "                        (see docs/PROTOCOL.md)\n"
    "      --bwlimit RATE    at most RATE each way per session (KiB/s, or K, M, G)\n"
    "      --devices         pushes may make device nodes in DIR (when root)\n"
    "      --atomic          with --writable: each push builds a new version of its\n"
    "                        target beside the current one and switches it in whole\n"
    "                        (as pull --atomic)\n"
    "      --keep-previous N with --atomic: keep N older versions (default 0)\n"
    "      --exclude, --include, --exclude-from, --include-from, --filter-file:\n"
    "                        as for pull, about DIR: what they exclude is never\n"
    "                        offered, reachable as a sub-folder, written or deleted\n"
    "\n";

const char kHelpKeygen[] =
    "  treesync keygen [-C COMMENT] [FILE]\n"
    "      Write a new private key to FILE (mode 0600; default\n"
    "      ~/.config/treesync/key) and its public key line to FILE.pub, and print\n"
    "      its fingerprint. A key file others may read is refused wherever it is read.\n"
    "      -C, --comment TEXT  a comment for the end of the public key line (who or\n"
    "                        what the key is for; default: none)\n"
    "\n";

const char kHelpTransfer[] =
    "  treesync pull [options] REMOTE DIR\n"
    "      Make DIR an exact mirror of REMOTE's folder: files, empty files and\n"
    "      folders, symlinks, exec bits and modification times. Entries in DIR the\n"
    "      server does not have are deleted.\n"
    "  treesync push [options] DIR REMOTE\n"
    "      The same the other way: REMOTE's folder becomes an exact mirror of DIR\n"
    "      (the server must run with --writable, or be reached over ssh).\n"
    "  treesync [options] SRC DEST\n"
    "      Short for pull when SRC is remote, push when DEST is, as with scp.\n"
    "\n"
    "      Files whose size and mtime match are skipped; a transfer that was cut\n"
    "      off resumes where it stopped. Every file is verified (XXH3-128) before\n"
    "      it replaces the old one. Two sessions never write one folder at once:\n"
    "      the second is refused (exit 5).\n"
    "\n"
    "      REMOTE is one of\n"
    "        HOST  HOST:PORT  [IPV6]:PORT   a treesync server (port 1234 by default)\n"
    "        HOST[:PORT]/SUB/PATH           a sub-folder of what that server serves\n"
    "        treesync://HOST[:PORT][/SUB/PATH]   the same, as a URL\n"
    "        [USER@]HOST:PATH               over ssh: runs 'treesync serve --stdio PATH'\n"
    "                                       there (PATH relative to the login folder)\n"
    "        ssh://[USER@]HOST[:PORT]/PATH  over ssh, PATH absolute\n"
    "      -e, --rsh COMMAND the ssh command and its options (default: $TREESYNC_RSH,\n"
    "                        or ssh), e.g. -e 'ssh -p 2222 -i key'\n"
    "      --remote-path P   the treesync binary on the far side (default: treesync)\n"
    "      --via COMMAND     run COMMAND and speak over its stdin/stdout instead of\n"
    "                        REMOTE, e.g. --via 'docker exec -i box treesync serve\n"
    "                        --stdio /data' (then give only DIR)\n"
    "      --port N          server port (default 1234)\n"
    "      --no-delete       keep entries the source does not have\n"
    "      --exclude PATTERN leave out what PATTERN matches (rsync's patterns: * ? [..]\n"
    "                        within a name, ** across /, trailing / folders only,\n"
    "                        leading / at the root, dir/*** a folder and all in it)\n"
    "      --include PATTERN keep what PATTERN matches; the first rule that matches\n"
    "                        decides, in command-line order (\"- \" and \"+ \" prefixes\n"
    "                        make a pattern an exclude or an include)\n"
    "      --exclude-from FILE, --include-from FILE  patterns, one a line (# comments)\n"
    "      --filter-file NAME  rules from the file NAME in each folder of the source,\n"
    "                        for that folder and below (rsync's dir-merge)\n"
    "      --delete-excluded also delete excluded entries in the destination\n"
    "      --max-delete N    if more than N entries would be deleted, delete none,\n"
    "                        copy the rest, and exit 25\n"
    "      --backup-dir DIR  move files the sync replaces or deletes into DIR (inside\n"
    "                        the destination, kept out of the mirror; or absolute,\n"
    "                        pull only), under their paths\n"
    "      --suffix SUF      with --backup-dir: add SUF to the backups' names\n"
    "      --size-only       a file of the same size is current, whatever its mtime\n"
    "      --ignore-existing never update a file the destination has\n"
    "      -u, --update      keep destination files newer than the source's\n"
    "      --no-owner, --no-group  leave owners / groups as the receiver makes them\n"
    "                        (kept by default where the receiver is root, by name)\n"
    "      --numeric-ids     owners and groups by number, not by name\n"
    "      --no-specials     leave out FIFOs, sockets and device nodes\n"
    "      --no-xattrs       leave out extended attributes (user.*; as root also\n"
    "                        trusted.*, security.* and POSIX ACLs)\n"
    "      --no-hard-links   copy each name of a hard-linked file on its own (by\n"
    "                        default they arrive linked, their data sent once)\n"
    "      --devices         pull: make device nodes the server lists (as root;\n"
    "                        without it they are skipped with a warning)\n"
    "      --chown USER:GROUP  give every entry this owner and group (either part\n"
    "                        may be left out; a name or a number)\n"
    "      --watch           stay connected and mirror each change within a second\n"
    "                        of it settling (the sender watches its tree: inotify,\n"
    "                        Windows notifications, else a rescan every 5 s);\n"
    "                        reconnects after the other side goes away (backoff up\n"
    "                        to 30 s); SIGINT or SIGTERM stops it (exit 20); --json\n"
    "                        prints a summary per round\n"
    "      --atomic          pull: readers of DIR never see a half-updated tree: each\n"
    "                        new version is built beside the current one (unchanged\n"
    "                        files hard-linked) and switched in with one rename; DIR\n"
    "                        becomes a symlink into .DIR.treesync/ beside it\n"
    "      --keep-previous N pull, with --atomic: keep N older versions (default 0)\n"
    "      -c, --checksum    compare contents (hashes), not size and mtime\n"
    "      -n, --dry-run     list what would change; change nothing\n"
    "      --timeout SECS    give up when the peer is silent for SECS (default: never)\n"
    "      --bwlimit RATE    at most RATE each way: KiB/s, or with a K, M or G suffix\n"
    "      -z, --compress    compress both ways (Zstandard, one stream per session, so\n"
    "                        small similar files compress together; data that does\n"
    "                        not shrink is sent as it is). For slow links: on a fast\n"
    "                        one it costs more time than it saves\n"
    "      --compress-level N  1 (fastest) to 9 (smallest), default 3; implies -z\n"
    "                        (0: none)\n"
    "      --no-compress     no compression (undoes an earlier -z)\n"
    "      --contimeout SECS give up connecting to a treesync server after SECS (exit\n"
    "                        35; for ssh use -e 'ssh -o ConnectTimeout=SECS')\n"
    "      -v, --verbose     one line per change, and a summary\n"
    "      -i, --itemize     one line per change: action code and path\n"
    "                        (+ created, > data sent, - deleted, . metadata only,\n"
    "                         h hard-linked;\n"
    "                         then f file, d folder, l symlink: \"+f a/b.txt\")\n"
    "      --json            one JSON object per line: events, then a summary\n"
    "      -q, --quiet       no output except errors, no progress line\n"
    "      --key FILE        this client's private key (default: the one treesync\n"
    "                        keygen wrote in ~/.config/treesync, if any): the\n"
    "                        session is encrypted; the server must have keys too\n"
    "      --known-hosts FILE  servers' keys by HOST:PORT (default\n"
    "                        ~/.config/treesync/known_hosts)\n"
    "      --server-key KEY  the server's public key (its .pub line, or its base64)\n"
    "      --trust-new-server  record an unknown server's key and go on; a changed\n"
    "                        key is always refused\n"
    "      --psk-file FILE   the server's pre-shared key\n"
    "      --insecure        plain TCP even when there is a key\n"
    "      --legacy-cmb      pull only: from an old CMB server (see docs/PROTOCOL.md)\n"
    "      --idle-timeout SECS  with --legacy-cmb: end the pull when the server is\n"
    "                        silent this long after a complete entry (default 2)\n"
    "      Progress is shown on a terminal, never on a pipe, with --json or -q.\n"
    "\n";

const char kHelpExitCodes[] =
    "Exit codes:\n"
    "   0  success\n"
    "   1  usage error\n"
    "   2  protocol version mismatch\n"
    "   3  a folder that cannot be used (DIR to serve or push missing, DIR to pull\n"
    "      into is a file, a sub-folder the server does not have)\n"
    "   5  session refused (server busy, read-only, its folder being written, or\n"
    "      keys: authentication failed, an unknown or changed server key)\n"
    "  10  transport error (connection refused or reset; ssh failed or exited)\n"
    "  11  file I/O error (disk full, permission denied)\n"
    "  12  protocol stream error (malformed or hostile data)\n"
    "  20  interrupted by a signal\n"
    "  23  partial transfer (some entries failed, the rest done)\n"
    "  25  --max-delete held the deletions back (the rest done)\n"
    "  30  timeout\n"
    "  35  no connection within --contimeout\n";


int UsageError(const std::string& message) {
  std::fprintf(stderr, "treesync: %s\n%s", message.c_str(), kUsage);
  return ExitCode(ErrorKind::kUsage);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "treesync: %s\n", s.message().c_str());
  return ExitCode(s.kind());
}

// Whether --bind addr keeps a server to this host. Empty (every
// interface) does not.
bool IsLoopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.compare(0, 4, "127.") == 0 ||
         addr.compare(0, 11, "::ffff:127.") == 0;
}

// A tiny getopt: options anywhere, "--opt=value" or "--opt value", "--"
// ends options (so names that start with '-' can be given).
class Args {
 public:
  explicit Args(const std::vector<std::string>& args) : args_(args) {}

  // Next argument; sets *is_option. False when done.
  bool Next(std::string* arg, bool* is_option) {
    if (i_ >= args_.size()) return false;
    *arg = args_[i_++];
    *is_option = !rest_ && arg->size() > 1 && (*arg)[0] == '-';
    if (*is_option && *arg == "--") {
      rest_ = true;
      return Next(arg, is_option);
    }
    if (*is_option) {
      size_t eq = arg->find('=');
      if (arg->compare(0, 2, "--") == 0 && eq != std::string::npos) {
        inline_value_ = arg->substr(eq + 1);
        has_inline_ = true;
        arg->resize(eq);
      } else {
        has_inline_ = false;
      }
    }
    return true;
  }

  bool Value(const std::string& option, std::string* value, std::string* error) {
    if (has_inline_) {
      *value = inline_value_;
      has_inline_ = false;
      return true;
    }
    if (i_ >= args_.size()) {
      *error = option + " needs a value";
      return false;
    }
    *value = args_[i_++];
    return true;
  }

  bool HasInlineValue() const { return has_inline_; }

 private:
  const std::vector<std::string>& args_;
  size_t i_ = 0;
  bool rest_ = false;
  bool has_inline_ = false;
  std::string inline_value_;
};

bool NumberOption(Args* a, const std::string& name, long min, long max, long* out,
                  std::string* error) {
  std::string v;
  if (!a->Value(name, &v, error)) return false;
  if (!ParseNumber(v, min, max, out)) {
    *error = name + " takes a whole number from " + std::to_string(min) + " to " +
             std::to_string(max) + ", not '" + v + "'";
    return false;
  }
  return true;
}

// The filter options, the same on serve, pull and push. Returns false when
// arg is not one of them; otherwise *error is set if it was refused.
bool FilterOption(Args* a, const std::string& arg, FilterList* rules, std::string* error) {
  const bool exclude = arg == "--exclude" || arg == "--exclude-from";
  const bool include = arg == "--include" || arg == "--include-from";
  if (!exclude && !include && arg != "--filter-file") return false;
  std::string v;
  if (!a->Value(arg, &v, error)) return true;
  Status s = arg == "--filter-file"                         ? rules->AddPerFolderFile(v)
             : arg == "--exclude-from" || arg == "--include-from" ? rules->AddPatternFile(include, v)
                                                            : rules->AddPattern(include, v);
  if (!s.ok()) *error = arg + ": " + s.message();
  return true;
}

bool RateOption(Args* a, const std::string& name, uint64_t* out, std::string* error) {
  std::string v;
  if (!a->Value(name, &v, error)) return false;
  Status s = ParseRate(v, out);
  if (!s.ok()) *error = s.message();
  return s.ok();
}

// serve --key, --authorized-keys and --psk-file, read and checked at start.
Status LoadServerSecurity(const std::string& key_path, const std::string& authorized_path,
                          const std::string& psk_path, std::shared_ptr<ServerSecurity>* out) {
  auto sec = std::make_shared<ServerSecurity>();
  uint8_t priv[kKeySize], pub[kKeySize];
  TS_RETURN_IF_ERROR(ReadPrivateKey(key_path, priv, pub));
  sec->key = NoiseKeyPair(priv);
  SecureWipe(priv, sizeof(priv));
  std::string text;
  TS_RETURN_IF_ERROR(ReadKeyListFile(authorized_path, /*missing_ok=*/false, &text));
  Status s = ParseAuthorizedKeys(text, &sec->authorized);
  if (!s.ok()) return s.Prefixed(Printable(authorized_path));
  if (sec->authorized.empty()) {
    return Status::Usage(Printable(authorized_path) + ": no keys: no client could connect");
  }
  if (!psk_path.empty()) TS_RETURN_IF_ERROR(ReadPskFile(psk_path, &sec->psk));
  *out = sec;
  return Status::Ok();
}

// pull and push: the keys of an encrypted session over TCP. Null when
// there is no key (none given, no default) or --insecure.
Status LoadClientSecurity(const std::string& key_option, const std::string& known_hosts,
                          const std::string& server_key, bool trust_new,
                          const std::string& psk_path, const TransferOptions& o,
                          std::shared_ptr<const ClientSecurity>* out) {
  std::string key_path = key_option;
  if (key_path.empty()) {
    const std::string def = DefaultKeyPath();
    platform::FileInfo info;
    if (!def.empty() && platform::Lstat(def, &info).ok() &&
        info.type != platform::FileType::kMissing) {
      key_path = def;
    }
  }
  if (key_path.empty()) {
    if (!server_key.empty() || trust_new || !psk_path.empty() || !known_hosts.empty()) {
      return Status::Usage("--server-key, --trust-new-server, --known-hosts and --psk-file need a "
                           "key of this client's: --key FILE (make one with treesync keygen FILE)");
    }
    return Status::Ok();
  }
  auto sec = std::make_shared<ClientSecurity>();
  uint8_t priv[kKeySize], pub[kKeySize];
  TS_RETURN_IF_ERROR(ReadPrivateKey(key_path, priv, pub));
  sec->key = NoiseKeyPair(priv);
  SecureWipe(priv, sizeof(priv));
  if (!server_key.empty()) {
    std::string comment;
    Status s = ParsePublicKey(server_key, sec->pinned_key, &comment);
    if (!s.ok()) return s.Prefixed("--server-key");
    sec->pinned = true;
  }
  sec->known_hosts = known_hosts.empty() ? DefaultKnownHostsPath() : known_hosts;
  sec->trust_new = trust_new;
  if (!psk_path.empty()) TS_RETURN_IF_ERROR(ReadPskFile(psk_path, &sec->psk));
  sec->host = o.host;
  sec->port = o.port;
  *out = sec;
  return Status::Ok();
}

int RunKeygen(const std::vector<std::string>& argv) {
  std::string comment, path;
  Args a(argv);
  std::string arg, error;
  bool is_option;
  while (a.Next(&arg, &is_option)) {
    if (!is_option) {
      if (!path.empty()) return UsageError("keygen: too many arguments");
      path = arg;
    } else if (arg == "-C" || arg == "--comment") {
      if (!a.Value(arg, &comment, &error)) return UsageError(error);
    } else {
      return UsageError("keygen: unknown option " + arg);
    }
    if (a.HasInlineValue()) return UsageError(arg + " takes no value");
  }
  if (path.empty()) path = DefaultKeyPath();
  if (path.empty()) return UsageError("keygen: missing FILE (and no config folder for a default)");
  uint8_t pub[kKeySize];
  Status s = WriteKeyPair(path, comment, pub);
  if (!s.ok()) return Fail(s);
  std::printf("%s\n", Fingerprint(pub).c_str());
  std::fflush(stdout);
  return 0;
}

int RunServe(const std::vector<std::string>& argv) {
  ServeOptions o;
  o.port = kDefaultPort;
  bool legacy = false;
  bool stdio = false;
  bool insecure = false;
  bool serve_keep = false;
  std::string key_path, authorized_path, psk_path;
  std::string listening_option;  // one that means nothing with --stdio
  std::vector<std::string> positional;
  Args a(argv);
  std::string arg, error;
  bool is_option;
  while (a.Next(&arg, &is_option)) {
    long n = 0;
    if (!is_option) {
      positional.push_back(arg);
    } else if (arg == "--port") {
      if (!NumberOption(&a, arg, 0, 65535, &n, &error)) return UsageError(error);
      o.port = static_cast<uint16_t>(n);
      listening_option = arg;
    } else if (arg == "--bind") {
      if (!a.Value(arg, &o.bind, &error)) return UsageError(error);
      listening_option = arg;
    } else if (arg == "--once") {
      o.once = true;
      listening_option = arg;
    } else if (arg == "--writable") {
      o.writable = true;
    } else if (arg == "--insecure") {
      insecure = true;
    } else if (arg == "--stdio") {
      stdio = true;
    } else if (arg == "--legacy-cmb") {
      legacy = true;
    } else if (arg == "--max-clients") {
      if (!NumberOption(&a, arg, 1, 10000, &n, &error)) return UsageError(error);
      o.max_sessions = static_cast<int>(n);
      listening_option = arg;
    } else if (arg == "--timeout") {
      if (!NumberOption(&a, arg, 1, 86400 * 7, &n, &error)) return UsageError(error);
      o.timeout_ms = static_cast<int>(n * 1000);
    } else if (FilterOption(&a, arg, &o.rules, &error)) {
      if (!error.empty()) return UsageError(error);
    } else if (arg == "--bwlimit") {
      if (!RateOption(&a, arg, &o.bwlimit, &error)) return UsageError(error);
    } else if (arg == "--devices") {
      o.devices = true;
    } else if (arg == "--atomic") {
      o.atomic = true;
    } else if (arg == "--keep-previous") {
      if (!NumberOption(&a, arg, 0, 1000, &n, &error)) return UsageError(error);
      o.keep_previous = static_cast<int>(n);
      serve_keep = true;
    } else if (arg == "--key") {
      if (!a.Value(arg, &key_path, &error)) return UsageError(error);
    } else if (arg == "--authorized-keys") {
      if (!a.Value(arg, &authorized_path, &error)) return UsageError(error);
    } else if (arg == "--psk-file") {
      if (!a.Value(arg, &psk_path, &error)) return UsageError(error);
    } else {
      return UsageError("serve: unknown option " + arg);
    }
    if (a.HasInlineValue()) return UsageError(arg + " takes no value");
  }
  if (positional.size() != 1) {
    return UsageError(positional.empty() ? "serve: missing DIR" : "serve: too many arguments");
  }
  o.root = positional[0];
  if (o.atomic && !o.writable) {
    return UsageError("serve --atomic is about pushes: it goes with --writable");
  }
  if (serve_keep && !o.atomic) return UsageError("--keep-previous goes with --atomic");
  if (legacy && (o.writable || stdio || !o.rules.empty() || o.bwlimit > 0)) {
    return UsageError("serve: --legacy-cmb has no pushes, no --stdio, no filters and no --bwlimit");
  }
  if (stdio && !listening_option.empty()) {
    return UsageError("serve: " + listening_option + " means nothing with --stdio");
  }
  const bool keys = !key_path.empty() || !authorized_path.empty() || !psk_path.empty();
  if (keys) {
    if (key_path.empty() || authorized_path.empty()) {
      return UsageError("serve: --key and --authorized-keys go together (and --psk-file with them)");
    }
    if (stdio || legacy) {
      return UsageError("serve: keys are for TCP sessions, not --stdio or --legacy-cmb (ssh "
                        "secures its own)");
    }
    std::shared_ptr<ServerSecurity> sec;
    Status ls = LoadServerSecurity(key_path, authorized_path, psk_path, &sec);
    if (!ls.ok()) return Fail(ls);
    o.security = sec;
  }
  if (o.writable && !stdio && !insecure && !keys && !IsLoopback(o.bind)) {
    return UsageError(
        "serve --writable without keys: anyone who reaches the port could change " + o.root +
        "; give clients keys (--key, --authorized-keys with 'writable'), bind to loopback "
        "(--bind 127.0.0.1), serve over ssh (--stdio), or accept the risk with --insecure");
  }
  std::error_code ec;
  if (!keys && !stdio && !legacy && !IsLoopback(o.bind) &&
      std::filesystem::is_directory(platform::FsPath(o.root), ec)) {
    std::fprintf(stderr,
                 "treesync: warning: serving without keys: anyone who reaches the port can read "
                 "%s, and names and data cross the network in clear text (see serve --key)\n",
                 o.root.c_str());
  }
  if (stdio) {
    Status s = RunStdioServer(o);
    // The client was told why, and its user reads it there (ssh shows our
    // stderr too): a second line would only repeat it. Not told when the
    // stream itself broke.
    const bool told = s.kind() != ErrorKind::kSocket && s.kind() != ErrorKind::kTimeout &&
                      s.kind() != ErrorKind::kInterrupted;
    return s.ok() ? 0 : told ? ExitCode(s.kind()) : Fail(s);
  }
  Status s = legacy ? RunLegacyServer(o, stderr) : RunServer(o, stderr);
  return s.ok() ? 0 : Fail(s);
}

enum class Direction { kPull, kPush, kEither };

// pull, push and the `treesync SRC DEST` shorthand: one parser, since they
// take the same options.
int RunTransfer(Direction direction, const std::vector<std::string>& argv) {
  const char* name = direction == Direction::kPull ? "pull" : direction == Direction::kPush
                                                                ? "push"
                                                                : "treesync";
  TransferOptions o;
  ReportOptions ro;
  bool quiet = false;
  bool port_option = false;
  long port = kDefaultPort;
  bool legacy = false;
  bool idle_option = false;
  LegacyPullOptions lo;
  std::string rsh, remote_binary = "treesync", via;
  bool rsh_option = false;
  std::string key_path, known_hosts, server_key, psk_path, key_option;
  bool trust_new = false, insecure = false;
  bool keep_option = false;
  std::vector<std::string> positional;
  Args a(argv);
  std::string arg, error;
  bool is_option;
  while (a.Next(&arg, &is_option)) {
    long n = 0;
    if (!is_option) {
      positional.push_back(arg);
    } else if (arg == "--port") {
      if (!NumberOption(&a, arg, 1, 65535, &port, &error)) return UsageError(error);
      port_option = true;
    } else if (arg == "--no-delete") {
      o.delete_extraneous = false;
    } else if (arg == "--delete-excluded") {
      o.delete_excluded = true;
    } else if (arg == "--max-delete") {
      if (!NumberOption(&a, arg, 0, 2147483647, &n, &error)) return UsageError(error);
      o.max_delete = n;
    } else if (arg == "--size-only") {
      o.size_only = true;
    } else if (arg == "--ignore-existing") {
      o.ignore_existing = true;
    } else if (arg == "-u" || arg == "--update") {
      o.update = true;
    } else if (arg == "--no-xattrs") {
      o.xattrs = false;
    } else if (arg == "--no-hard-links") {
      o.hard_links = false;
    } else if (arg == "-z" || arg == "--compress") {
      if (o.compress_level == 0) o.compress_level = ZstdEncoder::kDefaultLevel;
    } else if (arg == "--no-compress") {
      o.compress_level = 0;
    } else if (arg == "--compress-level") {
      if (!NumberOption(&a, arg, 0, ZstdEncoder::kMaxLevel, &n, &error)) return UsageError(error);
      o.compress_level = static_cast<int>(n);
    } else if (arg == "--no-specials") {
      o.specials = false;
    } else if (arg == "--devices" && direction != Direction::kPush) {
      o.devices = true;
    } else if (arg == "--no-owner") {
      o.owner = false;
    } else if (arg == "--no-group") {
      o.group = false;
    } else if (arg == "--numeric-ids") {
      o.numeric_ids = true;
    } else if (arg == "--chown") {
      std::string spec;
      if (!a.Value(arg, &spec, &error)) return UsageError(error);
      size_t colon = spec.find(':');
      const std::string user = spec.substr(0, colon);
      const std::string group = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
      if (user.empty() && group.empty()) {
        return UsageError("--chown needs USER, USER:GROUP or :GROUP");
      }
      Status st = ResolveChown(user, true, &o.chown_uid, &o.chown_user);
      if (st.ok()) st = ResolveChown(group, false, &o.chown_gid, &o.chown_group);
      if (!st.ok()) return UsageError(st.message());
    } else if (FilterOption(&a, arg, &o.rules, &error)) {
      if (!error.empty()) return UsageError(error);
    } else if (arg == "--timeout") {
      if (!NumberOption(&a, arg, 1, 86400 * 7, &n, &error)) return UsageError(error);
      o.timeout_ms = static_cast<int>(n * 1000);
    } else if (arg == "--bwlimit") {
      if (!RateOption(&a, arg, &o.bwlimit, &error)) return UsageError(error);
    } else if (arg == "--backup-dir") {
      if (!a.Value(arg, &o.backup_dir, &error)) return UsageError(error);
      if (o.backup_dir.empty()) return UsageError("--backup-dir needs a folder");
    } else if (arg == "--suffix") {
      if (!a.Value(arg, &o.suffix, &error)) return UsageError(error);
      if (o.suffix.find('/') != std::string::npos || o.suffix.find('\\') != std::string::npos) {
        return UsageError("--suffix is added to a name: no '/' or '\\' in it");
      }
    } else if (arg == "--contimeout") {
      if (!NumberOption(&a, arg, 1, 86400, &n, &error)) return UsageError(error);
      o.contimeout_ms = static_cast<int>(n * 1000);
    } else if (arg == "--watch") {
      o.watch = true;
    } else if (arg == "--atomic" && direction != Direction::kPush) {
      o.atomic = true;
    } else if (arg == "--keep-previous" && direction != Direction::kPush) {
      if (!NumberOption(&a, arg, 0, 1000, &n, &error)) return UsageError(error);
      o.keep_previous = static_cast<int>(n);
      keep_option = true;
    } else if (arg == "-c" || arg == "--checksum") {
      o.checksum = true;
    } else if (arg == "-n" || arg == "--dry-run") {
      o.dry_run = true;
    } else if (arg == "-v" || arg == "--verbose") {
      ro.verbose = true;
    } else if (arg == "-i" || arg == "--itemize") {
      ro.itemize = true;
    } else if (arg == "-q" || arg == "--quiet") {
      quiet = true;
    } else if (arg == "--json") {
      ro.json = true;
    } else if (arg == "-e" || arg == "--rsh") {
      if (!a.Value(arg, &rsh, &error)) return UsageError(error);
      rsh_option = true;
    } else if (arg == "--remote-path") {
      if (!a.Value(arg, &remote_binary, &error)) return UsageError(error);
    } else if (arg == "--via") {
      if (!a.Value(arg, &via, &error)) return UsageError(error);
    } else if (arg == "--key") {
      if (!a.Value(arg, &key_path, &error)) return UsageError(error);
      key_option = arg;
    } else if (arg == "--known-hosts") {
      if (!a.Value(arg, &known_hosts, &error)) return UsageError(error);
      key_option = arg;
    } else if (arg == "--server-key") {
      if (!a.Value(arg, &server_key, &error)) return UsageError(error);
      key_option = arg;
    } else if (arg == "--trust-new-server") {
      trust_new = true;
      key_option = arg;
    } else if (arg == "--psk-file") {
      if (!a.Value(arg, &psk_path, &error)) return UsageError(error);
      key_option = arg;
    } else if (arg == "--insecure") {
      insecure = true;
    } else if (arg == "--legacy-cmb" && direction != Direction::kPush) {
      legacy = true;
    } else if (arg == "--idle-timeout" && direction != Direction::kPush) {
      if (!NumberOption(&a, arg, 1, 86400, &n, &error)) return UsageError(error);
      lo.idle_timeout_ms = static_cast<int>(n * 1000);
      idle_option = true;
    } else {
      return UsageError(std::string(name) + ": unknown option " + arg);
    }
    if (a.HasInlineValue()) return UsageError(arg + " takes no value");
  }
  if (idle_option && !legacy) return UsageError("--idle-timeout goes with --legacy-cmb");
  if (o.delete_excluded && !o.delete_extraneous) {
    return UsageError("--delete-excluded deletes, --no-delete keeps: choose one");
  }
  if (legacy && (!o.rules.empty() || o.bwlimit > 0 || o.delete_excluded || o.max_delete >= 0 || o.size_only ||
                 o.ignore_existing || o.update || o.chown_uid >= 0 || o.chown_gid >= 0)) {
    return UsageError("--legacy-cmb pulls everything: no filters, limits, skip options or --chown");
  }
  if (legacy && o.compress_level > 0) {
    return UsageError("--legacy-cmb has no compression (-z)");
  }
  if (legacy && !o.backup_dir.empty()) {
    return UsageError("--legacy-cmb keeps no backups (--backup-dir)");
  }

  // Which side is remote, and where.
  std::string remote_arg;
  const size_t want = via.empty() ? 2 : 1;
  if (positional.size() != want) {
    std::string shape = !via.empty() ? "--via COMMAND DIR"
                        : direction == Direction::kPull ? "REMOTE DIR"
                        : direction == Direction::kPush ? "DIR REMOTE"
                                                        : "SRC DEST";
    return UsageError(std::string(name) + ": " +
                      (positional.size() < want ? "needs " : "too many arguments; wants ") +
                      shape);
  }
  if (!via.empty()) {
    if (direction == Direction::kEither) {
      return UsageError("--via goes with pull or push: treesync pull --via COMMAND DIR");
    }
    o.dir = positional[0];
  } else if (direction == Direction::kEither) {
    const bool src_remote = LooksRemote(positional[0]);
    const bool dest_remote = LooksRemote(positional[1]);
    if (src_remote == dest_remote) {
      return UsageError(std::string("treesync SRC DEST: ") +
                        (src_remote ? "both sides are remote" : "neither side is remote") +
                        "; exactly one must be (HOST:PATH, ssh://..., treesync://...)");
    }
    direction = src_remote ? Direction::kPull : Direction::kPush;
    remote_arg = positional[src_remote ? 0 : 1];
    o.dir = positional[src_remote ? 1 : 0];
  } else {
    const bool pull = direction == Direction::kPull;
    remote_arg = positional[pull ? 0 : 1];
    o.dir = positional[pull ? 1 : 0];
  }
  const bool push = direction == Direction::kPush;
  if (!o.suffix.empty() && o.backup_dir.empty()) {
    return UsageError("--suffix names backups: it goes with --backup-dir");
  }
  if (!o.backup_dir.empty()) {
    while (o.backup_dir.size() > 1 && o.backup_dir.back() == '/') o.backup_dir.pop_back();
    const bool absolute = platform::FsPath(o.backup_dir).is_absolute();
    if (push && absolute) {
      return UsageError("push: --backup-dir is a folder inside the target (relative), "
                        "not " + o.backup_dir);
    }
    if (!absolute && !CheckWirePath(o.backup_dir).ok()) {
      return UsageError("--backup-dir: '" + o.backup_dir +
                        "' must stay inside the target (no '..', '.' or empty parts)");
    }
  }
  if (push && legacy) return UsageError("push: the legacy CMB protocol only pulls");
  if (o.watch && legacy) return UsageError("--legacy-cmb can't --watch: its servers list once");
  if (keep_option && !o.atomic) return UsageError("--keep-previous goes with --atomic");
  if (o.atomic && legacy) return UsageError("--legacy-cmb has no --atomic");
  if (o.atomic && push) {
    return UsageError("--atomic is for pulls; a server takes pushes atomically with serve --atomic");
  }
  if (o.atomic && !o.backup_dir.empty()) {
    return UsageError("--atomic keeps whole versions (--keep-previous): no --backup-dir");
  }
  if (o.watch && o.dry_run) return UsageError("--watch changes the destination: no --dry-run");
  if (legacy && !via.empty()) return UsageError("--legacy-cmb speaks TCP only, not --via");
  if (!via.empty()) {
    Status s = SplitCommand(via, &o.command);
    if (!s.ok()) return UsageError("--via: " + s.message());
  } else {
    Remote r;
    Status s = ParseRemote(remote_arg, &r);
    if (!s.ok()) return UsageError(s.message());
    if (r.kind == Remote::kSsh) {
      if (legacy) return UsageError("--legacy-cmb speaks TCP only, not ssh: " + remote_arg);
      if (port_option) return UsageError("--port is for treesync servers; for ssh use " +
                                         std::string("ssh://HOST:PORT/PATH or -e 'ssh -p N'"));
      if (!rsh_option) {
        const char* env = std::getenv("TREESYNC_RSH");
        rsh = env != nullptr && *env != '\0' ? env : "ssh";
      }
      std::vector<std::string> rsh_words;
      s = SplitCommand(rsh, &rsh_words);
      if (!s.ok()) return UsageError("--rsh: " + s.message());
      o.command = SshCommand(rsh_words, r, remote_binary, push);
    } else {
      if (r.has_port && port_option && r.port != port) {
        return UsageError("--port " + std::to_string(port) + " contradicts " + remote_arg);
      }
      if (legacy && !r.path.empty()) {
        return UsageError("--legacy-cmb serves one folder; no sub-folder: " + remote_arg);
      }
      o.host = r.host;
      o.port = r.has_port ? r.port : static_cast<uint16_t>(port);
      o.remote_folder = r.path;
    }
  }

  if (!key_option.empty() && (legacy || !o.command.empty())) {
    return UsageError(key_option + " is for treesync servers over TCP: ssh and --via secure "
                      "their own");
  }
  if (!key_option.empty() && insecure) {
    return UsageError(key_option + " and --insecure: choose one");
  }
  if (!legacy && o.command.empty() && !insecure) {
    Status ks = LoadClientSecurity(key_path, known_hosts, server_key, trust_new, psk_path, o,
                                   &o.security);
    if (!ks.ok()) return Fail(ks);
  }
  if (o.contimeout_ms >= 0 && !o.command.empty()) {
    return UsageError("--contimeout is for treesync servers over TCP; for ssh use "
                      "-e 'ssh -o ConnectTimeout=SECS'");
  }
  if (quiet) ro.verbose = ro.itemize = false;
  // A dry run exists to be read: it lists its changes even when not asked.
  if (o.dry_run && !ro.json && !ro.verbose && !quiet) ro.itemize = true;
  ro.progress = !quiet && !ro.json && platform::StderrIsTerminal();
  Reporter reporter(ro, stdout, stderr);
  PullStats stats;
  Status s = legacy ? RunLegacyPull(o, lo, &reporter, &stats)
             : push ? RunPush(o, &reporter, &stats)
                    : RunPull(o, &reporter, &stats);
  std::string result = s.ok() ? "ok" : s.message();
  // A watch has printed a summary per round.
  if (!o.watch) reporter.OnSummary(stats, result);
  std::fflush(stdout);
  return s.ok() ? 0 : Fail(s);
}

}  // namespace

int RunCli(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError("missing command");
  const std::string& cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    for (const char* part : {kHelpIntro, kHelpServe, kHelpKeygen, kHelpTransfer, kHelpExitCodes}) {
      std::fputs(part, stdout);
    }
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    if (args.size() == 2 && args[1] == "--json") {
      std::printf("{\"name\":\"treesync\",\"version\":%s,\"protocol\":%u,\"json_schema\":%d}\n",
                  JsonString(kVersionString).c_str(), kProtocolVersion, kJsonSchemaVersion);
      return 0;
    }
    if (args.size() > 1) return UsageError("--version takes only --json");
    std::printf("treesync %s (protocol %u)\n", kVersionString, kProtocolVersion);
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const std::string& a : rest) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      // The command's own section; the shorthand's is pull's and push's.
      const char* own = cmd == "serve" ? kHelpServe : cmd == "keygen" ? kHelpKeygen : kHelpTransfer;
      std::fputs(own, stdout);
      if (own != kHelpKeygen) std::fputs(kHelpExitCodes, stdout);
      return 0;
    }
  }
  const bool command = cmd == "serve" || cmd == "pull" || cmd == "push" || cmd == "keygen";
  // Anything else is `treesync SRC DEST` (options may come first), unless
  // it looks like a mistyped command.
  if (!command && cmd[0] != '-' && args.size() == 1) {
    return UsageError("unknown command '" + cmd + "'");
  }
  Status s = platform::NetInit();
  if (!s.ok()) return Fail(s);
  platform::InstallInterruptHandlers();
  if (cmd == "keygen") return RunKeygen(rest);
  if (cmd == "serve") return RunServe(rest);
  if (cmd == "pull") return RunTransfer(Direction::kPull, rest);
  if (cmd == "push") return RunTransfer(Direction::kPush, rest);
  return RunTransfer(Direction::kEither, args);
}

}  // namespace treesync
