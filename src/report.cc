#include "report.h"
#include "clock.h"

#include <chrono>

#include "path.h"

namespace treesync {

namespace {

const char* ChangeName(Change c) {
  switch (c) {
    case Change::kCreate: return "create";
    case Change::kUpdate: return "update";
    case Change::kDelete: return "delete";
    case Change::kMetadata: return "touch";
    case Change::kLink: return "link";
  }
  return "?";
}

// "12.3 MiB" and friends.
std::string HumanBytes(double b) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, kUnits[u]);
  return buf;
}

}  // namespace

std::string ItemizeCode(Change change, EntryType type) {
  std::string code;
  switch (change) {
    case Change::kCreate: code = "+"; break;
    case Change::kUpdate: code = ">"; break;
    case Change::kDelete: code = "-"; break;
    case Change::kMetadata: code = "."; break;
    case Change::kLink: code = "h"; break;
  }
  code += type == EntryType::kFolder    ? 'd'
          : type == EntryType::kSymlink ? 'l'
          : type == EntryType::kSpecial ? 'S'
                                        : 'f';
  return code;
}

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
  if (options_.json) {
    ClearProgress();
    std::fprintf(out_,
                 "{\"event\":\"%s\",\"code\":\"%s\",\"type\":\"%s\",\"path\":%s,"
                 "\"bytes\":%llu}\n",
                 ChangeName(change), ItemizeCode(change, type).c_str(), EntryTypeName(type),
                 JsonString(path).c_str(), static_cast<unsigned long long>(bytes));
  } else if (options_.itemize) {
    ClearProgress();
    std::fprintf(out_, "%s %s\n", ItemizeCode(change, type).c_str(), Printable(path).c_str());
  } else if (options_.verbose) {
    ClearProgress();
    const char* suffix = type == EntryType::kFolder ? "/" : type == EntryType::kSymlink ? "@" : "";
    std::fprintf(out_, "%-6s %s%s\n", ChangeName(change), Printable(path).c_str(), suffix);
  }
}

void Reporter::OnEntryError(const std::string& path, const std::string& message) {
  ClearProgress();
  std::fprintf(err_, "treesync: error: %s\n", message.c_str());
  if (options_.json) {
    std::fprintf(out_, "{\"event\":\"error\",\"path\":%s,\"message\":%s}\n",
                 JsonString(path).c_str(), JsonString(message).c_str());
  }
}

void Reporter::OnWarning(const std::string& message) {
  ClearProgress();
  std::fprintf(err_, "treesync: warning: %s\n", message.c_str());
}

void Reporter::OnProgress(uint64_t bytes_done, uint64_t bytes_total, uint64_t files_done,
                          uint64_t files_total) {
  if (!options_.progress) return;
  bytes_done_ = bytes_done;
  bytes_total_ = bytes_total;
  files_done_ = files_done;
  files_total_ = files_total;
  int64_t now = SteadyMs();
  if (start_ms_ < 0) start_ms_ = now;
  if (progress_shown_ && now - last_draw_ms_ < 250) return;
  last_draw_ms_ = now;
  DrawProgress();
}

void Reporter::DrawProgress() {
  double secs = (SteadyMs() - start_ms_) / 1000.0;
  double rate = secs > 0.05 ? bytes_done_ / secs : 0;
  std::string eta = "--:--";
  if (rate > 0 && bytes_total_ >= bytes_done_) {
    long left = static_cast<long>((bytes_total_ - bytes_done_) / rate + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
    eta = buf;
  }
  int pct = bytes_total_ ? static_cast<int>(100.0 * bytes_done_ / bytes_total_) : 100;
  // \r and a clear-to-end-of-line: the line is redrawn in place.
  std::fprintf(err_, "\r%s / %s %3d%%  %s/s  ETA %s  files %llu/%llu\x1b[K",
               HumanBytes(static_cast<double>(bytes_done_)).c_str(),
               HumanBytes(static_cast<double>(bytes_total_)).c_str(), pct,
               HumanBytes(rate).c_str(), eta.c_str(),
               static_cast<unsigned long long>(files_done_),
               static_cast<unsigned long long>(files_total_));
  std::fflush(err_);
  progress_shown_ = true;
}

void Reporter::ClearProgress() {
  if (!progress_shown_) return;
  std::fprintf(err_, "\r\x1b[K");
  progress_shown_ = false;
}

void Reporter::OnSummary(const PullStats& s, const std::string& result) {
  if (options_.progress && start_ms_ >= 0) {
    DrawProgress();  // the final state stays on screen
    std::fputc('\n', err_);
    progress_shown_ = false;
  }
  if (options_.verbose && !options_.json) {
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
  if (!options_.json) {
    std::fflush(out_);
    return;
  }
  if (s.round > 0) {
    std::fprintf(out_, "{\"event\":\"summary\",\"round\":%llu,",
                 static_cast<unsigned long long>(s.round));
  } else {
    std::fputs("{\"event\":\"summary\",", out_);
  }
  std::fprintf(out_,
               "\"result\":%s,\"files_total\":%llu,"
               "\"files_transferred\":%llu,\"files_skipped\":%llu,\"files_deleted\":%llu,"
               "\"dirs_created\":%llu,\"dirs_deleted\":%llu,\"symlinks_created\":%llu,"
               "\"bytes_transferred\":%llu,\"bytes_resumed\":%llu,\"bytes_on_wire\":%llu,"
               "\"elapsed_ms\":%lld,"
               "\"errors\":%llu}\n",
               JsonString(result).c_str(), static_cast<unsigned long long>(s.files_total),
               static_cast<unsigned long long>(s.files_transferred),
               static_cast<unsigned long long>(s.files_skipped),
               static_cast<unsigned long long>(s.files_deleted),
               static_cast<unsigned long long>(s.dirs_created),
               static_cast<unsigned long long>(s.dirs_deleted),
               static_cast<unsigned long long>(s.symlinks_created),
               static_cast<unsigned long long>(s.bytes_transferred),
               static_cast<unsigned long long>(s.bytes_resumed),
               static_cast<unsigned long long>(s.bytes_on_wire),
               static_cast<long long>(s.elapsed_ms), static_cast<unsigned long long>(s.errors));
  std::fflush(out_);
}

}  // namespace treesync
