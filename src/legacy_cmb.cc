#include "legacy_cmb.h"
#include "clock.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "console.h"
#include "fs_meta.h"
#include "path.h"
#include "random.h"
#include "walk.h"
#include "xxh3.h"

namespace treesync {

namespace {

bool StartsWith(const char* p, size_t n, std::string_view word) {
  return n >= word.size() && std::memcmp(p, word.data(), word.size()) == 0;
}

bool StartsWith(const std::string& s, std::string_view word) {
  return StartsWith(s.data(), s.size(), word);
}

// Whether an old client would take a command starting at p for one of its
// command words (End by its first three bytes, File: and Folder: by prefix;
// Sync by equality, which starting with it covers).
bool StartsWithCommandWord(const char* p, size_t n) {
  return StartsWith(p, n, "End") || StartsWith(p, n, "File:") || StartsWith(p, n, "Folder:") ||
         StartsWith(p, n, "Sync");
}

// Slices of a longer wait, so that an interrupt is noticed quickly.
constexpr int kPollSliceMs = 200;

}  // namespace

std::string LegacyFrame(const std::string& command) {
  std::string out;
  out.reserve(kCmbBeginSize + command.size() + kCmbEndSize);
  out += kCmbBegin;
  out += command;
  out += kCmbEnd;
  return out;
}

bool IsSafeLegacyData(const char* data, size_t n) {
  if (n == 0 || n > kLegacyDataChunk) return false;
  if (std::string_view(data, n).find(kCmbEnd) != std::string_view::npos) return false;
  if (StartsWith(data, n, "End") || StartsWith(data, n, "File:") ||
      StartsWith(data, n, "Folder:")) {
    return false;
  }
  return std::string_view(data, n) != "Sync";
}

std::vector<std::string> LegacySplitData(const char* data, size_t n) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p < n) {
    const char* s = data + p;
    size_t left = n - p;
    if (StartsWithCommandWord(s, left)) {
      // One byte can't be a command word, and the bytes after the first
      // letter of a word ('n', 'i', 'o', 'y') start none.
      out.emplace_back(s, 1);
      ++p;
      continue;
    }
    size_t len = std::min(left, kLegacyDataChunk);
    size_t marker = std::string_view(s, len).find(kCmbEnd);
    if (marker != std::string_view::npos) len = marker + kCmbEndSize - 1;  // "...CMB_EN"
    out.emplace_back(s, len);
    p += len;
  }
  return out;
}

// ---------------------------------------------------------------------------
// LegacyCommandReader

void LegacyCommandReader::Feed(const char* data, size_t n) { buf_.append(data, n); }

void LegacyCommandReader::Compact() {
  // Dropping consumed bytes costs a copy of what is left: do it only once
  // they are the larger part.
  if (start_ > 4096 && start_ * 2 > buf_.size()) {
    buf_.erase(0, start_);
    start_ = 0;
  }
}

Status LegacyCommandReader::Next(std::string* command, bool* got) {
  *got = false;
  if (!started_) {
    std::string_view rest(buf_.data() + start_, buf_.size() - start_);
    size_t begin = rest.find(kCmbBegin);
    size_t drop = begin;
    if (begin == std::string_view::npos) {
      // The tail may be the start of a CMB_BEGIN still on its way.
      drop = rest.size() - std::min(rest.size(), kCmbBeginSize - 1);
    }
    skipped_ += drop;
    start_ += drop;
    if (skipped_ > kMaxLegacyGreetingBytes) {
      return Status::Protocol("no CMB_BEGIN in the first " +
                              std::to_string(kMaxLegacyGreetingBytes) +
                              " bytes: the server does not speak the CMB protocol");
    }
    if (begin == std::string_view::npos) {
      Compact();
      return Status::Ok();
    }
    started_ = true;
    scan_ = kCmbBeginSize;
  }
  for (;;) {
    std::string_view rest(buf_.data() + start_, buf_.size() - start_);
    size_t end = rest.find(kCmbEnd, scan_);
    if (end == std::string_view::npos) {
      // A CMB_END may be arriving in pieces: look again from its possible
      // start next time.
      size_t tail = std::min(rest.size(), kCmbEndSize - 1);
      scan_ = std::max(scan_, rest.size() - tail);
      if (scan_ - kCmbBeginSize > kMaxLegacyCommandBytes) {
        return Status::Protocol("a command longer than " +
                                std::to_string(kMaxLegacyCommandBytes) + " bytes");
      }
      Compact();
      return Status::Ok();
    }
    if (end - kCmbBeginSize > kMaxLegacyCommandBytes) {
      return Status::Protocol("a command longer than " + std::to_string(kMaxLegacyCommandBytes) +
                              " bytes");
    }
    size_t after = end + kCmbEndSize;
    size_t look = std::min(rest.size() - after, kCmbBeginSize);
    if (std::memcmp(rest.data() + after, kCmbBegin, look) == 0) {
      if (look < kCmbBeginSize) {  // can't tell yet
        scan_ = end;
        Compact();
        return Status::Ok();
      }
      command->assign(rest.data() + kCmbBeginSize, end - kCmbBeginSize);
      start_ += after;
      scan_ = kCmbBeginSize;
      *got = true;
      Compact();
      return Status::Ok();
    }
    // This CMB_END is followed by something other than a command: it is
    // part of the data. CMB_END can't overlap itself, so the next one
    // starts after it.
    scan_ = after;
  }
}

namespace {

// Where the command at the start of rest ends when the stream ends here:
// at the last CMB_END followed by nothing, or by a CMB_BEGIN (whole or
// cut), as in Next(). npos when there is none: the command was cut.
size_t LastCommandEnd(std::string_view rest) {
  size_t end = rest.size();
  while (end > 0) {
    end = rest.rfind(kCmbEnd, end - 1);
    if (end == std::string_view::npos || end < kCmbBeginSize) return std::string_view::npos;
    size_t after = end + kCmbEndSize;
    size_t look = std::min(rest.size() - after, kCmbBeginSize);
    if (std::memcmp(rest.data() + after, kCmbBegin, look) == 0) return end;
  }
  return std::string_view::npos;
}

}  // namespace

bool LegacyCommandReader::PeekLast(std::string* command) const {
  if (!started_) return false;
  std::string_view rest(buf_.data() + start_, buf_.size() - start_);
  size_t end = LastCommandEnd(rest);
  if (end == std::string_view::npos) return false;
  command->assign(rest.data() + kCmbBeginSize, end - kCmbBeginSize);
  return true;
}

void LegacyCommandReader::Finish(std::string* command, bool* got, bool* truncated) {
  *got = false;
  *truncated = false;
  if (!started_) return;  // a greeting and nothing else
  // After the last command taken, rest starts with the next CMB_BEGIN, so
  // it is never empty here.
  std::string_view rest(buf_.data() + start_, buf_.size() - start_);
  size_t end = LastCommandEnd(rest);
  if (end == std::string_view::npos || end - kCmbBeginSize > kMaxLegacyCommandBytes) {
    *truncated = true;
  } else {
    command->assign(rest.data() + kCmbBeginSize, end - kCmbBeginSize);
    *got = true;
    *truncated = end + kCmbEndSize != rest.size();
  }
  buf_.clear();
  start_ = 0;
  scan_ = 0;
  started_ = false;
}

// ---------------------------------------------------------------------------
// LegacyParser

namespace {

bool IsCommandWord(const std::string& c) {
  return c == "Sync" || StartsWith(c, "Folder:") || StartsWith(c, "File:");
}

// The wire-path rules, plus: no component may use a temporary-file name
// (the Receiver would refuse it later; failing here fails early).
Status CheckLegacyPath(const std::string& p) {
  TS_RETURN_IF_ERROR(CheckWirePath(p));
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string component = p.substr(start, slash == std::string::npos ? slash : slash - start);
    if (IsTempName(component)) {
      return Status::Protocol("name reserved for temporary files: " + Printable(p));
    }
    if (slash == std::string::npos) return Status::Ok();
    start = slash + 1;
  }
}

}  // namespace

Status LegacyParser::Feed(const char* data, size_t n) {
  reader_.Feed(data, n);
  std::string c;
  for (;;) {
    bool got = false;
    TS_RETURN_IF_ERROR(reader_.Next(&c, &got));
    if (!got) return Status::Ok();
    TS_RETURN_IF_ERROR(Command(c));
  }
}

Status LegacyParser::Command(const std::string& c) {
  ++commands_;
  switch (state_) {
    case State::kInFile:
      if (c == "End") {
        state_ = State::kAfterEnd;
        entry_done_ = true;
        return Status::Ok();
      }
      return handler_->OnFileData(c.data(), c.size());
    case State::kAfterEnd:
      if (c == "End") return handler_->OnFileData("End", 3);  // the previous End was data
      if (!IsCommandWord(c)) {
        TS_RETURN_IF_ERROR(handler_->OnFileData("End", 3));
        state_ = State::kInFile;
        return handler_->OnFileData(c.data(), c.size());
      }
      TS_RETURN_IF_ERROR(handler_->OnFileEnd());
      state_ = State::kOutside;
      break;
    case State::kOutside:
      break;
  }
  if (c == "Sync") return handler_->OnSync();
  if (StartsWith(c, "Folder:")) {
    std::string path = c.substr(7);
    TS_RETURN_IF_ERROR(CheckLegacyPath(path).Prefixed("Folder command"));
    entry_done_ = true;
    return handler_->OnFolder(path);
  }
  if (StartsWith(c, "File:")) {
    std::string path = c.substr(5);
    TS_RETURN_IF_ERROR(CheckLegacyPath(path).Prefixed("File command"));
    state_ = State::kInFile;
    return handler_->OnFileBegin(path);
  }
  if (StartsWith(c, "End")) return Status::Protocol("End outside a file");
  return Status::Protocol("data outside a file (" + std::to_string(c.size()) + " bytes)");
}

bool LegacyParser::HasCompleteEntry() const {
  if (entry_done_) return true;
  std::string c;
  if (!reader_.PeekLast(&c)) return false;
  if (state_ == State::kInFile) return c == "End";
  return StartsWith(c, "Folder:");
}

Status LegacyParser::Finish(bool* complete) {
  std::string c;
  bool got = false, truncated = false;
  reader_.Finish(&c, &got, &truncated);
  if (got) TS_RETURN_IF_ERROR(Command(c));
  if (state_ == State::kAfterEnd) {
    TS_RETURN_IF_ERROR(handler_->OnFileEnd());
    state_ = State::kOutside;
  }
  *complete = !truncated && state_ == State::kOutside && commands_ > 0;
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Serving

namespace {

// Queued output larger than this is sent before more is queued.
constexpr size_t kSendBatch = 64 * 1024;
// File bytes read at once; LegacySplitData cuts them into data commands.
constexpr size_t kReadBlock = 64 * 1024;
// How long a finished session waits for the old client to close, so our
// last bytes are not lost to a reset caused by its unread greeting.
constexpr int kLingerMs = 2000;

void Warn(FILE* log, const std::string& path, const std::string& message) {
  LogLine(log, "warning: " + Printable(path) + ": " + message);
}

// Frames commands and sends them; reads and drops whatever the client sends
// meanwhile, so neither side can block the other.
class LegacyWriter {
 public:
  LegacyWriter(platform::Socket* sock, int timeout_ms) : sock_(sock), timeout_ms_(timeout_ms) {}

  Status Send(const char* command, size_t n) {
    out_.append(kCmbBegin, kCmbBeginSize);
    out_.append(command, n);
    out_.append(kCmbEnd, kCmbEndSize);
    return out_.size() - pos_ >= kSendBatch ? Flush() : Status::Ok();
  }
  Status Send(const std::string& command) { return Send(command.data(), command.size()); }

  Status Flush() {
    last_progress_ms_ = SteadyMs();
    while (pos_ < out_.size()) TS_RETURN_IF_ERROR(Pump(true));
    out_.clear();
    pos_ = 0;
    return Status::Ok();
  }

  // Sends everything, closes our side and waits (briefly) for the client
  // to close its side.
  Status Close() {
    TS_RETURN_IF_ERROR(Flush());
    sock_->ShutdownWrite();
    int64_t deadline = SteadyMs() + kLingerMs;
    while (!peer_eof_ && SteadyMs() < deadline && !platform::Interrupted()) {
      if (!Pump(false).ok()) break;
    }
    return Status::Ok();
  }

  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t bytes_in() const { return bytes_in_; }
  void CountIn(uint64_t n) { bytes_in_ += n; }

 private:
  Status Pump(bool want_write) {
    if (platform::Interrupted()) return Status::Interrupted("interrupted");
    platform::Readiness r;
    TS_RETURN_IF_ERROR(platform::Poll(*sock_, !peer_eof_, want_write, kPollSliceMs, &r));
    if (r.readable && !peer_eof_) {
      char sink[4096];
      size_t got = 0;
      bool eof = false;
      TS_RETURN_IF_ERROR(sock_->Read(sink, sizeof sink, &got, &eof));
      bytes_in_ += got;
      if (eof) peer_eof_ = true;
    }
    if (r.writable && want_write) {
      size_t wrote = 0;
      TS_RETURN_IF_ERROR(sock_->Write(out_.data() + pos_, out_.size() - pos_, &wrote));
      if (wrote > 0) {
        pos_ += wrote;
        bytes_out_ += wrote;
        last_progress_ms_ = SteadyMs();
      }
    }
    if (want_write && timeout_ms_ >= 0 && SteadyMs() - last_progress_ms_ > timeout_ms_) {
      return Status::Timeout("the client took no data for " + std::to_string(timeout_ms_ / 1000) +
                             " s");
    }
    return Status::Ok();
  }

  platform::Socket* sock_;
  int timeout_ms_;
  std::string out_;
  size_t pos_ = 0;
  bool peer_eof_ = false;
  int64_t last_progress_ms_ = 0;
  uint64_t bytes_out_ = 0;
  uint64_t bytes_in_ = 0;
};

// Waits up to wait_ms for the client's first bytes and drops them.
Status AwaitGreeting(platform::Socket* sock, int wait_ms, uint64_t* bytes_in) {
  int64_t deadline = SteadyMs() + wait_ms;
  for (;;) {
    if (platform::Interrupted()) return Status::Interrupted("interrupted");
    int64_t left = deadline - SteadyMs();
    if (left <= 0) return Status::Ok();  // a silent client gets the stream anyway
    platform::Readiness r;
    TS_RETURN_IF_ERROR(platform::Poll(*sock, true, false,
                                      static_cast<int>(std::min<int64_t>(left, kPollSliceMs)), &r));
    if (!r.readable) continue;
    char buf[4096];
    size_t got = 0;
    bool eof = false;
    TS_RETURN_IF_ERROR(sock->Read(buf, sizeof buf, &got, &eof));
    *bytes_in += got;
    if (got > 0) return Status::Ok();
    if (eof) return Status::Socket("the client closed the connection before the stream started");
  }
}

// Sends one file: File:, data commands, End. A file that can't be opened is
// skipped with a warning; one that fails once its File: is out ends the
// session.
Status SendLegacyFile(LegacyWriter* w, const std::string& root, const Entry& e, FILE* log,
                      std::vector<char>* buf, LegacyServeSummary* summary) {
  std::string full = JoinPath(root, e.path);
  platform::File file;
  platform::FileInfo before, after;
  Status s = platform::File::OpenRead(full, &file);
  if (s.ok()) s = file.Stat(&before);
  if (s.ok() && before.type != platform::FileType::kRegular) {
    s = Status::Io("no longer a regular file");
  }
  if (!s.ok()) {
    Warn(log, e.path, "skipped: " + s.message());
    ++summary->skipped;
    return Status::Ok();
  }
  if (before.size == 0) {
    Warn(log, e.path, "empty file: old CMB clients never create empty files");
  }
  TS_RETURN_IF_ERROR(w->Send("File:" + e.path));
  uint64_t total = 0;
  for (;;) {
    size_t got = 0;
    s = file.Read(buf->data(), buf->size(), &got);
    if (!s.ok()) return s.Prefixed("sending " + Printable(e.path));
    if (got == 0) break;
    total += got;
    for (const std::string& chunk : LegacySplitData(buf->data(), got)) {
      TS_RETURN_IF_ERROR(w->Send(chunk));
    }
  }
  s = file.Stat(&after);
  if (!s.ok() || after.size != total || after.mtime_ns != before.mtime_ns) {
    Warn(log, e.path, "changed while being sent: the client's copy may mix two versions");
  }
  ++summary->files_sent;
  return w->Send("End");
}

}  // namespace

Status LegacyServeSession(platform::Socket* sock, const std::string& root, int timeout_ms,
                          FILE* log, LegacyServeSummary* summary) {
  uint64_t greeting = 0;
  int wait = timeout_ms >= 0 ? std::min(timeout_ms, kLegacyGreetingWaitMs) : kLegacyGreetingWaitMs;
  Status s = AwaitGreeting(sock, wait, &greeting);
  summary->bytes_in = greeting;
  TS_RETURN_IF_ERROR(s);
  WalkResult walk;
  TS_RETURN_IF_ERROR(WalkTree(root, &walk));
  for (const WalkProblem& p : walk.problems) LogLine(log, "warning: " + p.message);
  for (const std::string& p : walk.skipped) {
    Warn(log, p, "special file skipped");
    ++summary->skipped;
  }

  LegacyWriter w(sock, timeout_ms);
  w.CountIn(greeting);
  // Sync first, always: the old client appends data to files, so it must
  // wipe its folder before a new sync.
  s = w.Send("Sync");
  std::vector<char> buf(kReadBlock);
  std::string skipped_folder;  // "dir/" of a folder left out, with its contents
  for (size_t i = 0; s.ok() && i < walk.entries.size(); ++i) {
    const Entry& e = walk.entries[i];
    if (!skipped_folder.empty() && StartsWith(e.path, skipped_folder)) continue;
    skipped_folder.clear();
    if (e.type == EntryType::kSymlink) {
      Warn(log, e.path, "symlink skipped: the legacy protocol has no symlinks");
      ++summary->skipped;
      continue;
    }
    if (e.path.find(kCmbEnd) != std::string::npos) {
      // The old client would cut the command at it and take the rest of the
      // name for data.
      bool folder = e.type == EntryType::kFolder;
      Warn(log, e.path,
           std::string("skipped") + (folder ? " with its contents" : "") +
               ": old CMB clients can't read a name containing CMB_END");
      ++summary->skipped;
      if (folder) skipped_folder = e.path + "/";
      continue;
    }
    if (e.type == EntryType::kFolder) {
      s = w.Send("Folder:" + e.path);
      ++summary->folders_sent;
    } else {
      s = SendLegacyFile(&w, root, e, log, &buf, summary);
    }
  }
  if (s.ok()) s = w.Close();
  summary->bytes_out = w.bytes_out();
  summary->bytes_in = w.bytes_in();
  return s;
}

namespace {

void RunLegacySession(platform::Socket sock, const std::string& peer, const ServeOptions& options,
                      FILE* log) {
  auto start = std::chrono::steady_clock::now();
  LegacyServeSummary summary;
  Status s = LegacyServeSession(&sock, options.root, options.timeout_ms, log, &summary);
  LogSessionEnd(log, peer + " legacy", s,
                "folders=" + std::to_string(summary.folders_sent) +
                    " files_sent=" + std::to_string(summary.files_sent) +
                    " skipped=" + std::to_string(summary.skipped) +
                    " bytes_out=" + std::to_string(summary.bytes_out) +
                    " bytes_in=" + std::to_string(summary.bytes_in),
                start);
}

}  // namespace

Status RunLegacyServer(const ServeOptions& options, FILE* log) {
  // The old protocol has no way to say "busy": a client past the limit sees
  // a connection closed before any command, and changes nothing.
  return AcceptLoop(options, Greeting::kNone, log,
                    [options, log](platform::Socket s, const std::string& peer, const Frame*) {
                      RunLegacySession(std::move(s), peer, options, log);
                    });
}

// ---------------------------------------------------------------------------
// Pulling

namespace {

const char kLegacyGreeting[] = "treesync legacy client\r\n";
// Bytes read from the socket at once.
constexpr size_t kRecvBlock = 64 * 1024;
// Spooled bytes kept in memory before they are written out.
constexpr size_t kSpoolBuffer = 256 * 1024;

// The stream's file data, appended in arrival order to one file and read
// back in that order. Not in the target: the Receiver removes every
// temporary name it finds there, and a dry run must leave the target alone.
// Removes its file when destroyed.
class Spool {
 public:
  // dir: where the file goes; empty: the system's temporary folder.
  explicit Spool(std::string dir) : dir_(std::move(dir)) {}
  ~Spool() { Remove(); }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Starts over with a new, empty file.
  Status Create() {
    Remove();
    std::string dir = dir_;
    if (dir.empty()) {
      std::error_code ec;
      dir = std::filesystem::temp_directory_path(ec).u8string();
      if (ec) return Status::Io("no folder for temporary files: " + ec.message());
    }
    static const char kHex[] = "0123456789abcdef";
    uint64_t r = platform::Random64();
    std::string name = "treesync-legacy-";
    for (int i = 0; i < 16; ++i) name += kHex[(r >> (4 * i)) & 15];
    path_ = JoinPath(dir, name + ".spool");
    // CreateNew never follows a symlink nor opens an existing file, so a
    // name planted in a shared folder can't redirect us.
    TS_RETURN_IF_ERROR(platform::File::CreateNew(path_, &write_));
    created_ = true;
    TS_RETURN_IF_ERROR(platform::File::OpenRead(path_, &read_));
    size_ = 0;
    read_pos_ = 0;
    return Status::Ok();
  }

  Status Append(const char* data, size_t n) {
    pending_.append(data, n);
    size_ += n;
    return pending_.size() >= kSpoolBuffer ? WritePending() : Status::Ok();
  }

  // Writes what is buffered and closes the writing handle.
  Status FinishWriting() {
    TS_RETURN_IF_ERROR(WritePending());
    return write_.Close();
  }

  // Feeds the bytes [offset, offset + n) to sink. Reads go forward only.
  Status Read(uint64_t offset, uint64_t n, const std::function<Status(const char*, size_t)>& sink) {
    if (offset < read_pos_) return Status::Io("spool read out of order");
    std::vector<char> buf(kSpoolBuffer);
    uint64_t end = offset + n;
    while (read_pos_ < end) {
      uint64_t want = std::min<uint64_t>(buf.size(), end - read_pos_);
      if (read_pos_ < offset) want = std::min<uint64_t>(want, offset - read_pos_);
      size_t got = 0;
      TS_RETURN_IF_ERROR(read_.Read(buf.data(), static_cast<size_t>(want), &got));
      if (got == 0) return Status::Io(Printable(path_) + " is shorter than what was written");
      if (read_pos_ >= offset) TS_RETURN_IF_ERROR(sink(buf.data(), got));
      read_pos_ += got;
    }
    return Status::Ok();
  }

  uint64_t size() const { return size_; }

 private:
  Status WritePending() {
    if (pending_.empty()) return Status::Ok();
    TS_RETURN_IF_ERROR(write_.Write(pending_.data(), pending_.size()));
    pending_.clear();
    return Status::Ok();
  }

  void Remove() {
    write_.Close();
    read_.Close();
    if (created_) platform::RemoveEntry(path_);
    created_ = false;
    pending_.clear();
  }

  std::string dir_;
  std::string path_;
  bool created_ = false;
  platform::File write_;
  platform::File read_;
  std::string pending_;
  uint64_t size_ = 0;
  uint64_t read_pos_ = 0;
};

// One folder or file of the stream.
struct LegacyItem {
  std::string path;
  bool folder = false;
  bool ended = false;     // files: the End arrived
  bool replaced = false;  // files: sent again later, this copy is dropped
  uint64_t offset = 0;    // files: where the data starts in the spool
  uint64_t size = 0;
  Hash128 hash;
};

// Collects the stream: the listing in arrival order, the data in the spool.
class LegacyCollector : public LegacyHandler {
 public:
  explicit LegacyCollector(Spool* spool) : spool_(spool) {}

  Status OnSync() override {
    if (items_.empty() && spool_->size() == 0) return Status::Ok();
    // A new sync: what came before is stale.
    items_.clear();
    index_.clear();
    return spool_->Create();
  }

  Status OnFolder(const std::string& path) override {
    auto it = index_.find(path);
    if (it != index_.end()) {
      if (items_[it->second].folder) return Status::Ok();  // sent again: nothing new
      return Status::Protocol("sent as a file, then as a folder: " + Printable(path));
    }
    TS_RETURN_IF_ERROR(AddParents(path));
    return Add(path, true);
  }

  Status OnFileBegin(const std::string& path) override {
    auto it = index_.find(path);
    if (it != index_.end()) {
      if (items_[it->second].folder) {
        return Status::Protocol("sent as a folder, then as a file: " + Printable(path));
      }
      // Sent again: the later copy wins. It goes to the end of the listing,
      // so the listing stays in spool order.
      items_[it->second].replaced = true;
      index_.erase(it);
    }
    TS_RETURN_IF_ERROR(AddParents(path));
    TS_RETURN_IF_ERROR(Add(path, false));
    items_.back().offset = spool_->size();
    current_ = items_.size() - 1;
    hasher_.Reset();
    return Status::Ok();
  }

  Status OnFileData(const char* data, size_t n) override {
    hasher_.Update(data, n);
    items_[current_].size += n;
    return spool_->Append(data, n);
  }

  Status OnFileEnd() override {
    items_[current_].ended = true;
    items_[current_].hash = hasher_.Digest();
    return Status::Ok();
  }

  const std::vector<LegacyItem>& items() const { return items_; }

 private:
  Status Add(const std::string& path, bool folder) {
    if (items_.size() >= kMaxEntries) {
      return Status::Protocol("more than " + std::to_string(kMaxEntries) + " entries");
    }
    LegacyItem item;
    item.path = path;
    item.folder = folder;
    index_.emplace(path, items_.size());
    items_.push_back(std::move(item));
    return Status::Ok();
  }

  // Old servers may leave out a folder's Folder: command; add the folder.
  Status AddParents(const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string parent = path.substr(0, slash);
      auto it = index_.find(parent);
      if (it == index_.end()) {
        TS_RETURN_IF_ERROR(Add(parent, true));
      } else if (!items_[it->second].folder) {
        return Status::Protocol("entry inside a file: " + Printable(path));
      }
    }
    return Status::Ok();
  }

  Spool* spool_;
  std::vector<LegacyItem> items_;
  std::unordered_map<std::string, size_t> index_;  // live items only
  size_t current_ = 0;
  Xxh3Hasher hasher_;
};

// What the target folder holds, looked at only through real folders: a
// symlinked folder in the target is the plan's to replace, never ours to
// read through.
class LocalView {
 public:
  explicit LocalView(std::string root) : root_(std::move(root)) {}

  // Info about root/rel if every folder above it is a real folder.
  bool Lookup(const std::string& rel, platform::FileInfo* info) {
    *info = platform::FileInfo();
    if (!RealFolder(ParentOf(rel)) || !platform::Lstat(JoinPath(root_, rel), info).ok()) {
      *info = platform::FileInfo();
      return false;
    }
    return info->type != platform::FileType::kMissing;
  }

  // Whether root/rel is a regular file holding exactly `size` bytes that
  // hash to `hash`; *info gets its metadata.
  bool SameFile(const std::string& rel, uint64_t size, const Hash128& hash,
                platform::FileInfo* info) {
    if (!Lookup(rel, info) || info->type != platform::FileType::kRegular || info->size != size) {
      return false;
    }
    platform::File file;
    if (!platform::File::OpenRead(JoinPath(root_, rel), &file).ok()) return false;
    Xxh3Hasher hasher;
    std::vector<char> buf(kSpoolBuffer);
    uint64_t total = 0;
    for (;;) {
      size_t got = 0;
      if (!file.Read(buf.data(), buf.size(), &got).ok()) return false;
      if (got == 0) break;
      hasher.Update(buf.data(), got);
      total += got;
    }
    return total == size && hasher.Digest() == hash;
  }

 private:
  bool RealFolder(const std::string& rel) {
    if (rel.empty()) return true;  // the target itself may be a symlink the user made
    auto it = real_.find(rel);
    if (it != real_.end()) return it->second;
    bool real = RealFolder(ParentOf(rel));
    if (real) {
      platform::FileInfo info;
      real = platform::Lstat(JoinPath(root_, rel), &info).ok() &&
             info.type == platform::FileType::kDirectory;
    }
    real_.emplace(rel, real);
    return real;
  }

  std::string root_;
  std::unordered_map<std::string, bool> real_;
};

Status SendGreeting(platform::Socket* sock, int timeout_ms, uint64_t* bytes_out) {
  const char* p = kLegacyGreeting;
  size_t left = sizeof kLegacyGreeting - 1;
  int64_t last = SteadyMs();
  while (left > 0) {
    if (platform::Interrupted()) return Status::Interrupted("interrupted");
    platform::Readiness r;
    TS_RETURN_IF_ERROR(platform::Poll(*sock, false, true, kPollSliceMs, &r));
    if (r.writable) {
      size_t wrote = 0;
      TS_RETURN_IF_ERROR(sock->Write(p, left, &wrote));
      p += wrote;
      left -= wrote;
      *bytes_out += wrote;
      if (wrote > 0) last = SteadyMs();
    }
    if (timeout_ms >= 0 && SteadyMs() - last > timeout_ms) {
      return Status::Timeout("could not send the greeting");
    }
  }
  return Status::Ok();
}

// Receives the stream into parser until the server closes the connection
// or falls idle after a complete entry.
Status ReceiveStream(platform::Socket* sock, int timeout_ms, int idle_timeout_ms,
                     LegacyParser* parser, uint64_t* bytes_in) {
  std::vector<char> buf(kRecvBlock);
  int64_t last = SteadyMs();
  for (;;) {
    if (platform::Interrupted()) return Status::Interrupted("interrupted");
    bool idle_ends = parser->HasCompleteEntry();
    int limit = idle_ends ? idle_timeout_ms : timeout_ms;
    int64_t quiet = SteadyMs() - last;
    if (limit >= 0 && quiet >= limit) {
      if (idle_ends) return Status::Ok();
      return Status::Timeout("the server sent no complete folder or file for " +
                             std::to_string(quiet / 1000) + " s");
    }
    int slice = kPollSliceMs;
    if (limit >= 0) slice = static_cast<int>(std::min<int64_t>(slice, limit - quiet));
    platform::Readiness r;
    TS_RETURN_IF_ERROR(platform::Poll(*sock, true, false, slice, &r));
    if (!r.readable) continue;
    size_t got = 0;
    bool eof = false;
    TS_RETURN_IF_ERROR(sock->Read(buf.data(), buf.size(), &got, &eof));
    if (eof) return Status::Ok();
    if (got == 0) continue;
    last = SteadyMs();
    *bytes_in += got;
    TS_RETURN_IF_ERROR(parser->Feed(buf.data(), got));
  }
}

}  // namespace

Status LegacyPullSession(platform::Socket* sock, const TransferOptions& options,
                         const LegacyPullOptions& legacy, Receiver* rx, PullStats* stats) {
  const int64_t start_ns = WallClockNs();
  // The target keeps its own time, as existing folders do.
  platform::FileInfo root_info;
  TS_RETURN_IF_ERROR(platform::Lstat(options.dir, &root_info));
  int64_t root_mtime = root_info.type == platform::FileType::kDirectory ? root_info.mtime_ns
                                                                         : start_ns;
  Spool spool(legacy.spool_dir);
  TS_RETURN_IF_ERROR(spool.Create());
  LegacyCollector collector(&spool);
  LegacyParser parser(&collector);

  uint64_t bytes_out = 0, bytes_in = 0;
  Status s = SendGreeting(sock, options.timeout_ms, &bytes_out);
  if (s.ok()) {
    s = ReceiveStream(sock, options.timeout_ms, legacy.idle_timeout_ms, &parser, &bytes_in);
  }
  stats->bytes_on_wire = bytes_out + bytes_in;
  TS_RETURN_IF_ERROR(s);
  sock->Close();  // the old server never closes: we do
  bool complete = false;
  TS_RETURN_IF_ERROR(parser.Finish(&complete));
  if (!parser.received_commands()) {
    if (bytes_in == 0) return Status::Socket("the server closed the connection at once");
    return Status::Protocol("the server sent no CMB command");
  }
  TS_RETURN_IF_ERROR(spool.FinishWriting());

  // The listing, with times and modes the old protocol doesn't carry.
  Reporter* reporter = rx->reporter();
  LocalView local(options.dir);
  const std::vector<LegacyItem>& items = collector.items();
  // The listing in the order the Receiver takes it (pre-order, names
  // sorted in each folder), whatever order the old server walked in.
  std::vector<std::pair<Entry, size_t>> listing;  // entry, its item
  for (size_t i = 0; i < items.size(); ++i) {
    const LegacyItem& item = items[i];
    if (item.replaced) continue;
    if (!item.folder && !item.ended) {
      ++stats->errors;
      reporter->OnEntryError(item.path, Printable(item.path) +
                                            ": the stream ended inside this file; not installed");
      continue;
    }
    Entry e;
    e.path = item.path;
    platform::FileInfo info;
    if (item.folder) {
      e.type = EntryType::kFolder;
      bool existing = local.Lookup(item.path, &info) &&
                      info.type == platform::FileType::kDirectory;
      e.mode = existing ? info.mode : 0755;
      e.mtime_ns = existing ? info.mtime_ns : start_ns;
    } else {
      e.type = EntryType::kFile;
      e.size = item.size;
      e.has_hash = true;  // for --checksum
      e.hash = item.hash;
      if (local.SameFile(item.path, item.size, item.hash, &info)) {
        e.mode = info.mode;  // unchanged: the plan leaves it alone
        e.mtime_ns = info.mtime_ns;
      } else {
        bool existing = info.type == platform::FileType::kRegular;
        e.mode = existing ? info.mode & 0777 : 0644;
        e.mtime_ns = start_ns;
        // Never let a changed file pass the plan's size-and-time check.
        if (existing && info.size == item.size && info.mtime_ns == start_ns) ++e.mtime_ns;
      }
    }
    listing.emplace_back(std::move(e), i);
  }
  // With '/' as the lowest byte, a path sorts right after its folder and
  // before its folder's later siblings.
  auto key = [](std::string p) {
    std::replace(p.begin(), p.end(), '/', '\0');
    return p;
  };
  std::sort(listing.begin(), listing.end(), [&](const auto& a, const auto& b) {
    return key(a.first.path) < key(b.first.path);
  });
  // Whether the stream was whole is known only now, at its end.
  rx->DeferDeletions();
  rx->SetRootTime(root_mtime);
  std::vector<size_t> item_of;  // listing index -> item
  for (auto& l : listing) {
    item_of.push_back(l.second);
    TS_RETURN_IF_ERROR(rx->AddEntry(std::move(l.first)));
  }
  listing.clear();
  TS_RETURN_IF_ERROR(rx->EndListing(complete));

  // The spool reads forward only: take the files in spool order.
  std::vector<Want> wants;
  for (Want w; rx->NextWant(&w);) wants.push_back(w);
  // An empty file shares its offset with the next one: it goes first.
  std::sort(wants.begin(), wants.end(), [&](const Want& a, const Want& b) {
    const LegacyItem& x = items[item_of[a.index]];
    const LegacyItem& y = items[item_of[b.index]];
    return x.offset != y.offset ? x.offset < y.offset : x.size < y.size;
  });
  for (const Want& want : wants) {
    const LegacyItem& item = items[item_of[want.index]];
    const Entry& e = rx->entry(want.index);
    // A resume offset: the Receiver found partial data of this very entry.
    Begin begin;
    begin.index = want.index;
    begin.offset = std::min(want.offset, item.size);
    TS_RETURN_IF_ERROR(rx->BeginFile(begin));
    TS_RETURN_IF_ERROR(spool.Read(item.offset + begin.offset, item.size - begin.offset,
                                  [rx](const char* d, size_t n) { return rx->FileData(d, n); }));
    End end;
    end.size = item.size;
    end.mtime_ns = e.mtime_ns;
    end.mode = e.mode;
    end.hash = item.hash;
    Receiver::EndResult result;
    TS_RETURN_IF_ERROR(rx->EndFile(end, &result));
    if (result == Receiver::EndResult::kMismatch) {
      rx->FileFailed(want.index, Printable(item.path) + ": spooled data changed on disk");
    }
  }
  TS_RETURN_IF_ERROR(rx->Finish());
  if (!complete) {
    return Status::Partial("the stream was cut off: complete files were installed, nothing "
                           "was deleted");
  }
  if (rx->failures() > 0) {
    return Status::Partial(std::to_string(rx->failures()) + " entries failed");
  }
  return Status::Ok();
}

Status RunLegacyPull(const TransferOptions& options, const LegacyPullOptions& legacy,
                     Reporter* reporter, PullStats* stats) {
  auto start = std::chrono::steady_clock::now();
  Receiver rx(options.dir, ReceiverOptionsFor(options), reporter, stats);
  platform::Socket sock;
  Status s = OpenAndConnect(options, &rx, &sock);
  if (s.ok()) s = LegacyPullSession(&sock, options, legacy, &rx, stats);
  stats->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  return s;
}

}  // namespace treesync
