#include "address.h"

#include "path.h"

namespace treesync {

namespace {

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status ParsePort(const std::string& text, const std::string& arg, uint16_t* port) {
  long v = 0;
  if (!ParseNumber(text, 1, 65535, &v)) return Status::Usage("bad port '" + text + "' in " + arg);
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

// Whether s could only be a bare IPv6 address: hex digits, colons and dots,
// with two colons at least.
bool BareIpv6(const std::string& s) {
  size_t colons = 0;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (c == ':') {
      ++colons;
    } else if (!hex && c != '.') {
      return false;
    }
  }
  return colons >= 2;
}

// Splits "AUTHORITY/REST" where AUTHORITY may be bracketed: *authority
// and *rest (without the slash; has_rest says whether there was one).
void SplitAuthority(const std::string& s, std::string* authority, std::string* rest,
                    bool* has_rest) {
  size_t from = 0;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close != std::string::npos) from = close;
  }
  size_t slash = s.find('/', from);
  *has_rest = slash != std::string::npos;
  *authority = s.substr(0, slash);
  *rest = *has_rest ? s.substr(slash + 1) : std::string();
}

Status TcpRemote(const std::string& authority, const std::string& sub, const std::string& arg,
                 Remote* out) {
  out->kind = Remote::kTcp;
  if (authority.find('@') != std::string::npos) {
    return Status::Usage("a user goes with an ssh address (USER@HOST:PATH), not " + arg);
  }
  TS_RETURN_IF_ERROR(ParseHostPort(authority, &out->host, &out->port, &out->has_port));
  // "host/" and "host/a/" name the same as "host" and "host/a".
  std::string path = sub;
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (!path.empty()) {
    Status s = CheckWirePath(path);
    if (!s.ok()) return Status::Usage("bad folder in " + arg + ": " + s.message());
  }
  out->path = path;
  return Status::Ok();
}

// "[USER@]HOST" -> user, host.
Status UserHost(const std::string& s, const std::string& arg, Remote* out) {
  size_t at = s.rfind('@');
  out->user = at == std::string::npos ? std::string() : s.substr(0, at);
  out->host = at == std::string::npos ? s : s.substr(at + 1);
  if (out->host.size() >= 2 && out->host.front() == '[' && out->host.back() == ']') {
    out->host = out->host.substr(1, out->host.size() - 2);
  }
  if (out->host.empty()) return Status::Usage("missing host in '" + arg + "'");
  if (at != std::string::npos && out->user.empty()) {
    return Status::Usage("missing user before '@' in '" + arg + "'");
  }
  // ssh would take a host starting with '-' for an option.
  if (out->host[0] == '-' || (!out->user.empty() && out->user[0] == '-')) {
    return Status::Usage("a host or user may not start with '-': " + arg);
  }
  return Status::Ok();
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

}  // namespace

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
  if (*has_port) TS_RETURN_IF_ERROR(ParsePort(port_text, arg, port));
  return Status::Ok();
}

Status ParseRemote(const std::string& arg, Remote* out) {
  *out = Remote();
  std::string authority, rest;
  bool has_rest = false;
  if (StartsWith(arg, "treesync://")) {
    SplitAuthority(arg.substr(11), &authority, &rest, &has_rest);
    return TcpRemote(authority, rest, arg, out);
  }
  if (StartsWith(arg, "ssh://")) {
    SplitAuthority(arg.substr(6), &authority, &rest, &has_rest);
    out->kind = Remote::kSsh;
    size_t at = authority.rfind('@');
    std::string user = at == std::string::npos ? std::string() : authority.substr(0, at + 1);
    std::string hostport = at == std::string::npos ? authority : authority.substr(at + 1);
    std::string host;
    TS_RETURN_IF_ERROR(ParseHostPort(hostport, &host, &out->port, &out->has_port));
    TS_RETURN_IF_ERROR(UserHost(user + host, arg, out));
    // As in git's ssh:// URLs, the path after the host is absolute.
    out->path = has_rest ? "/" + rest : ".";
    return Status::Ok();
  }
  if (!arg.empty() && arg[0] == '[') {
    size_t close = arg.find(']');
    if (close == std::string::npos) return Status::Usage("missing ']' in " + arg);
    SplitAuthority(arg, &authority, &rest, &has_rest);
    return TcpRemote(authority, rest, arg, out);
  }
  size_t colon = arg.find(':');
  size_t slash = arg.find('/');
  if (colon == std::string::npos || (slash != std::string::npos && slash < colon)) {
    SplitAuthority(arg, &authority, &rest, &has_rest);
    return TcpRemote(authority, rest, arg, out);
  }
  std::string before = arg.substr(0, colon);
  std::string after = arg.substr(colon + 1);
  if (BareIpv6(arg.substr(0, slash))) {
    SplitAuthority(arg, &authority, &rest, &has_rest);
    return TcpRemote(authority, rest, arg, out);
  }
  const bool has_user = before.find('@') != std::string::npos;
  size_t port_end = after.find('/');
  if (!has_user && AllDigits(after.substr(0, port_end))) {
    SplitAuthority(arg, &authority, &rest, &has_rest);
    return TcpRemote(authority, rest, arg, out);
  }
  out->kind = Remote::kSsh;
  TS_RETURN_IF_ERROR(UserHost(before, arg, out));
  out->path = after.empty() ? "." : after;
  return Status::Ok();
}

bool LooksRemote(const std::string& arg) {
  if (StartsWith(arg, "treesync://") || StartsWith(arg, "ssh://")) return true;
  if (!arg.empty() && arg[0] == '[') return arg.find("]:") != std::string::npos;
  size_t colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  size_t slash = arg.find_first_of("/\\");
  if (slash != std::string::npos && slash < colon) return false;
  const char c = arg[0];
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (colon == 1 && letter && (arg.size() == 2 || arg[2] == '/' || arg[2] == '\\')) return false;
  return true;
}

Status SplitCommand(const std::string& command, std::vector<std::string>* words) {
  words->clear();
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words->push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = command.find('\'', i + 1);
      if (end == std::string::npos) return Status::Usage("unclosed ' in: " + command);
      word.append(command, i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= command.size()) return Status::Usage("unclosed \" in: " + command);
        if (command[i] == '"') break;
        if (command[i] == '\\' && i + 1 < command.size() &&
            (command[i + 1] == '"' || command[i + 1] == '\\')) {
          ++i;
        }
        word += command[i];
      }
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
    } else {
      word += c;
    }
  }
  if (in_word) words->push_back(word);
  if (words->empty()) return Status::Usage("empty command");
  return Status::Ok();
}

std::string ShellQuote(const std::string& word) {
  if (word == "~") return word;
  if (StartsWith(word, "~/")) return "~/" + (word.size() > 2 ? ShellQuote(word.substr(2)) : "");
  bool plain = !word.empty();
  for (char c : word) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '/' || c == '.' || c == '-' || c == '_' || c == ',' || c == ':' ||
                c == '@' || c == '+' || c == '=';
    if (!safe) plain = false;
  }
  if (plain) return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::vector<std::string> SshCommand(const std::vector<std::string>& rsh, const Remote& r,
                                    const std::string& remote_binary, bool writable) {
  std::vector<std::string> argv = rsh;
  if (r.has_port) {
    argv.push_back("-p");
    argv.push_back(std::to_string(r.port));
  }
  argv.push_back(r.user.empty() ? r.host : r.user + "@" + r.host);
  // ssh joins the words after the host into one line for the far side's
  // shell, so each is quoted for it.
  std::string line = ShellQuote(remote_binary) + " serve --stdio";
  if (writable) line += " --writable";
  line += " -- " + ShellQuote(r.path);
  argv.push_back(line);
  return argv;
}

}  // namespace treesync
