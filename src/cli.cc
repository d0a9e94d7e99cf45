#include "cli.h"

#include <cstdio>
#include <cstdlib>

#include "client.h"
#include "console.h"
#include "legacy_cmb.h"
#include "net.h"
#include "protocol.h"
#include "report.h"
#include "server.h"

namespace treesync {

namespace {

const char kUsage[] =
    "usage: treesync serve [options] DIR\n"
    "       treesync pull [options] HOST[:PORT] DIR\n"
    "       treesync --help | --version\n";

const char kHelp[] =
    "treesync: mirror a folder tree from one host to another over TCP.\n"
    "\n"
    "  treesync serve [options] DIR\n"
    "      Serve DIR (read-only) to any number of clients.\n"
    "      --port N          TCP port (default 1234; 0 picks a free one)\n"
    "      --bind ADDR       listen on ADDR only (default: every interface, IPv6 and IPv4)\n"
    "      --once            exit after the first client session ends\n"
    "      --max-clients N   refuse clients beyond N at once (default 32)\n"
    "      --timeout SECS    drop a client silent for SECS seconds (default 300)\n"
    "      --legacy-cmb      speak the original CMB protocol to old clients\n"
    "                        (see docs/PROTOCOL.md)\n"
    "\n"
    "  treesync pull [options] HOST[:PORT] DIR\n"
    "      Make DIR an exact mirror of the folder HOST serves: files, empty files\n"
    "      and folders, symlinks, exec bits and modification times. Entries in DIR\n"
    "      the server does not have are deleted. IPv6: [::1]:1234.\n"
    "      --port N          server port (default 1234)\n"
    "      Files whose size and mtime match are skipped; a pull that was cut off\n"
    "      resumes where it stopped. Every file is verified (XXH3-128) before it\n"
    "      replaces the old one.\n"
    "      --port N          server port (default 1234)\n"
    "      --no-delete       keep entries in DIR that the server does not have\n"
    "      -c, --checksum    compare contents (hashes), not size and mtime\n"
    "      -n, --dry-run     list what would change; change nothing\n"
    "      --timeout SECS    give up when the server is silent for SECS (default: never)\n"
    "      -v, --verbose     one line per change, and a summary\n"
    "      -i, --itemize     one line per change: action code and path\n"
    "                        (+ created, > data sent, - deleted, . metadata only;\n"
    "                         then f file, d folder, l symlink: \"+f a/b.txt\")\n"
    "      --json            one JSON object per line: events, then a summary\n"
    "      -q, --quiet       no output except errors, no progress line\n"
    "      --legacy-cmb      pull from an old CMB server (see docs/PROTOCOL.md)\n"
    "      --idle-timeout SECS  with --legacy-cmb: end the pull when the server is\n"
    "                        silent this long after a complete entry (default 2)\n"
    "      Progress is shown on a terminal, never on a pipe, with --json or -q.\n"
    "\n"
    "Exit codes:\n"
    "   0  success\n"
    "   1  usage error\n"
    "   2  protocol version mismatch\n"
    "   3  a folder that cannot be used (DIR to serve missing, DIR to pull into is a file)\n"
    "   5  session refused by the server (too many clients)\n"
    "  10  socket error (connection refused or reset)\n"
    "  11  file I/O error (disk full, permission denied)\n"
    "  12  protocol stream error (malformed or hostile data)\n"
    "  20  interrupted by a signal\n"
    "  23  partial transfer (some entries failed, the rest done)\n"
    "  30  timeout\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "treesync: %s\n%s", message.c_str(), kUsage);
  return ExitCode(ErrorKind::kUsage);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "treesync: %s\n", s.message().c_str());
  return ExitCode(s.kind());
}

bool ParseNumber(const std::string& s, long min, long max, long* out) {
  if (s.empty() || s.size() > 9) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return false;
  *out = v;
  return true;
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

int RunServe(const std::vector<std::string>& argv) {
  ServeOptions o;
  o.port = kDefaultPort;
  bool legacy = false;
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
    } else if (arg == "--bind") {
      if (!a.Value(arg, &o.bind, &error)) return UsageError(error);
    } else if (arg == "--once") {
      o.once = true;
    } else if (arg == "--legacy-cmb") {
      legacy = true;
    } else if (arg == "--max-clients") {
      if (!NumberOption(&a, arg, 1, 10000, &n, &error)) return UsageError(error);
      o.max_sessions = static_cast<int>(n);
    } else if (arg == "--timeout") {
      if (!NumberOption(&a, arg, 1, 86400 * 7, &n, &error)) return UsageError(error);
      o.timeout_ms = static_cast<int>(n * 1000);
    } else {
      return UsageError("serve: unknown option " + arg);
    }
    if (a.HasInlineValue()) return UsageError(arg + " takes no value");
  }
  if (positional.size() != 1) {
    return UsageError(positional.empty() ? "serve: missing DIR" : "serve: too many arguments");
  }
  o.root = positional[0];
  Status s = legacy ? RunLegacyServer(o, stderr) : RunServer(o, stderr);
  return s.ok() ? 0 : Fail(s);
}

int RunPullCommand(const std::vector<std::string>& argv) {
  PullOptions o;
  ReportOptions ro;
  bool quiet = false;
  bool port_option = false;
  long port = kDefaultPort;
  bool legacy = false;
  bool idle_option = false;
  LegacyPullOptions lo;
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
    } else if (arg == "--timeout") {
      if (!NumberOption(&a, arg, 1, 86400 * 7, &n, &error)) return UsageError(error);
      o.timeout_ms = static_cast<int>(n * 1000);
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
    } else if (arg == "--legacy-cmb") {
      legacy = true;
    } else if (arg == "--idle-timeout") {
      if (!NumberOption(&a, arg, 1, 86400, &n, &error)) return UsageError(error);
      lo.idle_timeout_ms = static_cast<int>(n * 1000);
      idle_option = true;
    } else {
      return UsageError("pull: unknown option " + arg);
    }
    if (a.HasInlineValue()) return UsageError(arg + " takes no value");
  }
  if (positional.size() != 2) {
    return UsageError(positional.size() < 2 ? "pull: needs HOST[:PORT] and DIR"
                                            : "pull: too many arguments");
  }
  if (idle_option && !legacy) return UsageError("pull: --idle-timeout goes with --legacy-cmb");
  uint16_t host_port = 0;
  bool has_port = false;
  Status s = ParseHostPort(positional[0], &o.host, &host_port, &has_port);
  if (!s.ok()) return UsageError(s.message());
  if (has_port && port_option && host_port != port) {
    return UsageError("pull: --port " + std::to_string(port) + " contradicts " + positional[0]);
  }
  o.port = has_port ? host_port : static_cast<uint16_t>(port);
  o.dir = positional[1];

  if (quiet) ro.verbose = ro.itemize = false;
  // A dry run exists to be read: it lists its changes even when not asked.
  if (o.dry_run && !ro.json && !ro.verbose && !quiet) ro.itemize = true;
  ro.progress = !quiet && !ro.json && platform::StderrIsTerminal();
  Reporter reporter(ro, stdout, stderr);
  PullStats stats;
  s = legacy ? RunLegacyPull(o, lo, &reporter, &stats) : RunPull(o, &reporter, &stats);
  std::string result = s.ok() ? "ok" : s.message();
  reporter.OnSummary(stats, result);
  std::fflush(stdout);
  return s.ok() ? 0 : Fail(s);
}

}  // namespace

Status ParseHostPort(const std::string& arg, std::string* host, uint16_t* port, bool* has_port) {
  *has_port = false;
  std::string port_text;
  if (!arg.empty() && arg[0] == '[') {
    size_t close = arg.find(']');
    if (close == std::string::npos) return Status::Usage("missing ']' in " + arg);
    *host = arg.substr(1, close - 1);
    if (close + 1 < arg.size()) {
      if (arg[close + 1] != ':') return Status::Usage("bad address " + arg);
      port_text = arg.substr(close + 2);
      *has_port = true;
    }
  } else {
    size_t colon = arg.find(':');
    if (colon != std::string::npos && arg.find(':', colon + 1) == std::string::npos) {
      *host = arg.substr(0, colon);
      port_text = arg.substr(colon + 1);
      *has_port = true;
    } else {
      *host = arg;  // a name, IPv4, or a bare IPv6 address
    }
  }
  if (host->empty()) return Status::Usage("missing host in '" + arg + "'");
  if (*has_port) {
    long n = 0;
    if (!ParseNumber(port_text, 1, 65535, &n)) {
      return Status::Usage("bad port '" + port_text + "' in " + arg);
    }
    *port = static_cast<uint16_t>(n);
  }
  return Status::Ok();
}

int RunCli(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError("missing command");
  const std::string& cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    std::printf("treesync %s (protocol %u)\n", kVersionString, kProtocolVersion);
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const std::string& a : rest) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
  }
  if (cmd != "serve" && cmd != "pull") return UsageError("unknown command '" + cmd + "'");
  Status s = platform::NetInit();
  if (!s.ok()) return Fail(s);
  platform::InstallInterruptHandlers();
  return cmd == "serve" ? RunServe(rest) : RunPullCommand(rest);
}

}  // namespace treesync
