// Status: the result of an operation that can fail, carried as a value.
#ifndef TREESYNC_STATUS_H_
#define TREESYNC_STATUS_H_

#include <string>
#include <utility>

namespace treesync {

// What went wrong, coarse enough that the CLI can map it to an exit code
// (rsync's numbering where the meaning matches; see ExitCode()).
enum class ErrorKind {
  kOk = 0,
  kUsage,        // 1: bad command line
  kVersion,      // 2: peer speaks another protocol version
  kBadFolder,    // 3: a folder that cannot be used
  kRefused,      // 5: the server refused the session
  kSocket,       // 10: connect/accept/send/recv failed
  kIo,           // 11: local file I/O failed
  kProtocol,     // 12: malformed or hostile stream
  kInterrupted,  // 20: a signal asked us to stop
  kPartial,      // 23: some entries failed, the rest done
  kMaxDelete,    // 25: more deletions than --max-delete: none done, the rest done
  kTimeout,      // 30: the peer went quiet for too long
  kConnectTimeout,  // 35: no connection within --contimeout
  // 11 if it reaches the CLI: this file system refused one entry's name or
  // access to it (too long, an encoding it can't hold, permission). A
  // receiver fails just that entry; other I/O errors (a full disk) stay
  // kIo and end the pull.
  kLocalName,
};

// Cheap when OK; otherwise carries a kind and a one-line message.
class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Usage(std::string m) { return Status(ErrorKind::kUsage, std::move(m)); }
  static Status Version(std::string m) { return Status(ErrorKind::kVersion, std::move(m)); }
  static Status BadFolder(std::string m) { return Status(ErrorKind::kBadFolder, std::move(m)); }
  static Status Refused(std::string m) { return Status(ErrorKind::kRefused, std::move(m)); }
  static Status Socket(std::string m) { return Status(ErrorKind::kSocket, std::move(m)); }
  static Status Io(std::string m) { return Status(ErrorKind::kIo, std::move(m)); }
  static Status Protocol(std::string m) { return Status(ErrorKind::kProtocol, std::move(m)); }
  static Status Interrupted(std::string m) { return Status(ErrorKind::kInterrupted, std::move(m)); }
  static Status Partial(std::string m) { return Status(ErrorKind::kPartial, std::move(m)); }
  static Status Timeout(std::string m) { return Status(ErrorKind::kTimeout, std::move(m)); }
  static Status LocalName(std::string m) { return Status(ErrorKind::kLocalName, std::move(m)); }
  static Status Make(ErrorKind k, std::string m) { return Status(k, std::move(m)); }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // The same error with "context: " put in front of the message.
  Status Prefixed(const std::string& context) const {
    return ok() ? *this : Status(kind_, context + ": " + message_);
  }

 private:
  Status(ErrorKind k, std::string m) : kind_(k), message_(std::move(m)) {}
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// The process exit code for a status (0 when OK).
int ExitCode(ErrorKind kind);

// A transfer whose work went through: OK, or done but for some entries
// (kPartial) or for the deletions --max-delete held back (kMaxDelete).
// Its results stand (a push's Summary goes out, a version is switched in,
// a watch session goes on); anything else ended it.
inline bool Completed(const Status& s) {
  return s.ok() || s.kind() == ErrorKind::kPartial || s.kind() == ErrorKind::kMaxDelete;
}

}  // namespace treesync

// Returns early from the enclosing function when `expr` yields an error.
#define TS_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::treesync::Status ts_status_ = (expr);    \
    if (!ts_status_.ok()) return ts_status_;   \
  } while (0)

#endif  // TREESYNC_STATUS_H_
