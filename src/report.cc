#include "report.h"

#include "path.h"

namespace treesync {

namespace {

const char* ChangeName(Change c) {
  switch (c) {
    case Change::kCreate: return "create";
    case Change::kUpdate: return "update";
    case Change::kDelete: return "delete";
  }
  return "?";
}

}  // namespace

std::string JsonString(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = Utf8SequenceLength(s, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (n == 0) {
      out += "\\ufffd";
      n = 1;
    } else {
      out.append(s, i, n);
    }
    i += n == 0 ? 1 : n;
  }
  out += '"';
  return out;
}

void Reporter::OnChange(Change change, EntryType type, const std::string& path, uint64_t bytes) {
  if (mode_ == OutputMode::kVerbose) {
    const char* suffix = type == EntryType::kFolder ? "/" : type == EntryType::kSymlink ? "@" : "";
    std::fprintf(out_, "%-6s %s%s\n", ChangeName(change), Printable(path).c_str(), suffix);
  } else if (mode_ == OutputMode::kJson) {
    std::fprintf(out_, "{\"event\":\"%s\",\"type\":\"%s\",\"path\":%s,\"bytes\":%llu}\n",
                 ChangeName(change), EntryTypeName(type), JsonString(path).c_str(),
                 static_cast<unsigned long long>(bytes));
  }
}

void Reporter::OnEntryError(const std::string& path, const std::string& message) {
  std::fprintf(err_, "treesync: error: %s\n", message.c_str());
  if (mode_ == OutputMode::kJson) {
    std::fprintf(out_, "{\"event\":\"error\",\"path\":%s,\"message\":%s}\n",
                 JsonString(path).c_str(), JsonString(message).c_str());
  }
}

void Reporter::OnWarning(const std::string& message) {
  std::fprintf(err_, "treesync: warning: %s\n", message.c_str());
}

void Reporter::OnSummary(const PullStats& s, const std::string& result) {
  if (mode_ == OutputMode::kVerbose) {
    std::fprintf(out_,
                 "%llu files (%llu transferred, %llu unchanged), %llu deleted, %llu bytes "
                 "written, %llu bytes on the wire, %.2f s: %s\n",
                 static_cast<unsigned long long>(s.files_total),
                 static_cast<unsigned long long>(s.files_transferred),
                 static_cast<unsigned long long>(s.files_skipped),
                 static_cast<unsigned long long>(s.files_deleted + s.dirs_deleted),
                 static_cast<unsigned long long>(s.bytes_transferred),
                 static_cast<unsigned long long>(s.bytes_on_wire), s.elapsed_ms / 1000.0,
                 result.c_str());
  }
  if (mode_ != OutputMode::kJson) return;
  std::fprintf(out_,
               "{\"event\":\"summary\",\"result\":%s,\"files_total\":%llu,"
               "\"files_transferred\":%llu,\"files_skipped\":%llu,\"files_deleted\":%llu,"
               "\"dirs_created\":%llu,\"dirs_deleted\":%llu,\"symlinks_created\":%llu,"
               "\"bytes_transferred\":%llu,\"bytes_on_wire\":%llu,\"elapsed_ms\":%lld,"
               "\"errors\":%llu}\n",
               JsonString(result).c_str(), static_cast<unsigned long long>(s.files_total),
               static_cast<unsigned long long>(s.files_transferred),
               static_cast<unsigned long long>(s.files_skipped),
               static_cast<unsigned long long>(s.files_deleted),
               static_cast<unsigned long long>(s.dirs_created),
               static_cast<unsigned long long>(s.dirs_deleted),
               static_cast<unsigned long long>(s.symlinks_created),
               static_cast<unsigned long long>(s.bytes_transferred),
               static_cast<unsigned long long>(s.bytes_on_wire),
               static_cast<long long>(s.elapsed_ms), static_cast<unsigned long long>(s.errors));
  std::fflush(out_);
}

}  // namespace treesync
