#include "status.h"

namespace treesync {

int ExitCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return 0;
    case ErrorKind::kUsage: return 1;
    case ErrorKind::kVersion: return 2;
    case ErrorKind::kBadFolder: return 3;
    case ErrorKind::kRefused: return 5;
    case ErrorKind::kSocket: return 10;
    case ErrorKind::kIo: return 11;
    case ErrorKind::kLocalName: return 11;
    case ErrorKind::kProtocol: return 12;
    case ErrorKind::kInterrupted: return 20;
    case ErrorKind::kPartial: return 23;
    case ErrorKind::kMaxDelete: return 25;
    case ErrorKind::kTimeout: return 30;
    case ErrorKind::kConnectTimeout: return 35;
  }
  return 1;
}

}  // namespace treesync
