#include "client.h"

#include <chrono>
#include <deque>

#include "path.h"

namespace treesync {

namespace {

// A fatal Error frame from the server becomes our error of the same kind.
Status ServerError(const Frame& f) {
  ErrorMessage e;
  TS_RETURN_IF_ERROR(DecodeError(f, &e));
  return Status::Make(e.kind, "server: " + e.message);
}

// Receives the next frame, turning a server's Error frame into a Status.
Status ReceiveFrom(Connection* conn, Frame* f) {
  TS_RETURN_IF_ERROR(conn->Receive(f));
  if (f->type == FrameType::kError) return ServerError(*f);
  return Status::Ok();
}

// *granted: the flags the server granted.
Status Handshake(Connection* conn, uint32_t flags, uint32_t* granted) {
  Hello mine;
  mine.flags = flags;
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHello, EncodeHello(mine)));
  Frame f;
  TS_RETURN_IF_ERROR(ReceiveFrom(conn, &f));
  Hello h;
  TS_RETURN_IF_ERROR(DecodeHello(f, &h));
  if (h.version != kProtocolVersion) {
    return Status::Version("server speaks protocol version " + std::to_string(h.version) +
                           ", this client speaks " + std::to_string(kProtocolVersion));
  }
  *granted = h.flags & flags;
  return Status::Ok();
}

// packed: the server may send Entries frames (kHelloPackedListing granted).
Status ReceiveListing(Connection* conn, Receiver* rx, Reporter* reporter, bool packed,
                      bool* complete) {
  Frame f;
  TS_RETURN_IF_ERROR(ReceiveFrom(conn, &f));
  SyncStart sync;
  TS_RETURN_IF_ERROR(DecodeSync(f, &sync));
  rx->SetRootTime(sync.mtime_ns);
  uint32_t count = 0;
  for (;;) {
    TS_RETURN_IF_ERROR(ReceiveFrom(conn, &f));
    switch (f.type) {
      case FrameType::kFolder:
      case FrameType::kFile:
      case FrameType::kSymlink: {
        Entry e;
        TS_RETURN_IF_ERROR(DecodeEntry(f, &e));
        TS_RETURN_IF_ERROR(rx->AddEntry(std::move(e)));
        ++count;
        break;
      }
      case FrameType::kEntries: {
        if (!packed) return Status::Protocol("Entries frame the client did not ask for");
        TS_RETURN_IF_ERROR(DecodeEntries(f.payload.data(), f.payload.size(), [&](Entry& e) {
          ++count;
          return rx->AddEntry(std::move(e));
        }));
        break;
      }
      case FrameType::kWarning: {
        std::string path, message;
        TS_RETURN_IF_ERROR(DecodeWarning(f, &path, &message));
        reporter->OnWarning("server: " + message);
        break;
      }
      case FrameType::kListEnd: {
        ListEnd end;
        TS_RETURN_IF_ERROR(DecodeListEnd(f, &end));
        if (end.count != count) {
          return Status::Protocol("listing ended after " + std::to_string(count) +
                                  " entries, but the server counted " +
                                  std::to_string(end.count));
        }
        *complete = end.complete;
        return Status::Ok();
      }
      default:
        return Status::Protocol("unexpected " + FrameName(f) + " frame in the listing");
    }
  }
}

// Delta requests in flight at once: each holds a signature in the server's
// memory, and a few are enough to keep the pipe full.
constexpr size_t kMaxDeltasInFlight = 4;

struct Asked {
  Want want;
  bool delta;
};

// Requests files and receives them. Requests flow while data arrives; the
// connection's loop keeps both directions moving.
Status Transfer(Connection* conn, Receiver* rx) {
  std::deque<Want> pending(rx->wants().begin(), rx->wants().end());
  std::deque<Asked> asked;  // sent and not yet answered, in order
  std::vector<uint8_t> tries(rx->entries().size(), 0);
  size_t deltas_in_flight = 0;
  bool want_end_sent = false;
  bool in_file = false;
  for (;;) {
    // Keep requests flowing, but stop queueing once plenty are in flight:
    // the server answers in order and a huge backlog gains nothing.
    std::vector<Want> batch;
    while (!pending.empty() && conn->pending_output() < 64 * 1024 &&
           asked.size() < 4 * kMaxWantsPerFrame) {
      Want w = pending.front();
      bool delta = tries[w.index] == 0 && w.offset == 0 && !rx->BasisFor(w.index).empty();
      if (delta && deltas_in_flight >= kMaxDeltasInFlight) break;
      Signature sig;
      // A basis that can't be read just means the file travels whole.
      if (delta && !rx->BuildSignature(w.index, &sig).ok()) delta = false;
      if (delta || batch.size() == kMaxWantsPerFrame) {
        if (!batch.empty()) {
          TS_RETURN_IF_ERROR(conn->Send(FrameType::kWant, EncodeWants(batch.data(), batch.size())));
          batch.clear();
        }
      }
      pending.pop_front();
      ++tries[w.index];
      asked.push_back({w, delta});
      if (delta) {
        ++deltas_in_flight;
        TS_RETURN_IF_ERROR(conn->Send(FrameType::kWantDelta, EncodeWantDelta(w.index, sig)));
      } else {
        batch.push_back(w);
      }
    }
    if (!batch.empty()) {
      TS_RETURN_IF_ERROR(conn->Send(FrameType::kWant, EncodeWants(batch.data(), batch.size())));
    }
    if (pending.empty() && asked.empty() && !want_end_sent) {
      TS_RETURN_IF_ERROR(conn->Send(FrameType::kWantEnd, std::string()));
      want_end_sent = true;
    }
    // File data is written straight from the receive buffer; the other
    // frames are small and decoded from a copy.
    FrameView v;
    TS_RETURN_IF_ERROR(conn->ReceiveView(&v));
    if (v.type == FrameType::kData) {
      if (!in_file) return Status::Protocol("Data frame outside a file");
      TS_RETURN_IF_ERROR(rx->FileData(v.data, v.size));
      continue;
    }
    Frame f = v.ToFrame();
    if (f.type == FrameType::kError) return ServerError(f);
    switch (f.type) {
      case FrameType::kBegin: {
        Begin b;
        TS_RETURN_IF_ERROR(DecodeBegin(f, &b));
        if (asked.empty() || b.index != asked.front().want.index) {
          return Status::Protocol("server sent file #" + std::to_string(b.index) +
                                  ", which was not the one requested next");
        }
        if (b.offset != 0 && b.offset != asked.front().want.offset) {
          return Status::Protocol("server resumed file #" + std::to_string(b.index) +
                                  " at an offset that was not asked for");
        }
        TS_RETURN_IF_ERROR(rx->BeginFile(b, asked.front().delta));
        in_file = true;
        break;
      }
      case FrameType::kCopy: {
        if (!in_file || !asked.front().delta) return Status::Protocol("Copy frame outside a delta");
        uint32_t first = 0, count = 0;
        TS_RETURN_IF_ERROR(DecodeCopy(f, &first, &count));
        TS_RETURN_IF_ERROR(rx->CopyBlocks(first, count));
        break;
      }
      case FrameType::kEnd: {
        if (!in_file) return Status::Protocol("End frame outside a file");
        End e;
        TS_RETURN_IF_ERROR(DecodeEnd(f, &e));
        bool verified = false;
        TS_RETURN_IF_ERROR(rx->EndFile(e, &verified));
        in_file = false;
        Asked a = asked.front();
        asked.pop_front();
        if (a.delta) --deltas_in_flight;
        if (!verified) {
          if (tries[a.want.index] < 2) {
            pending.push_back({a.want.index, 0});
          } else {
            rx->FileFailed(a.want.index, Printable(rx->entries()[a.want.index].path) +
                                             ": data did not match the server's hash twice");
          }
        }
        break;
      }
      case FrameType::kFileError: {
        uint32_t index;
        std::string message;
        TS_RETURN_IF_ERROR(DecodeFileError(f, &index, &message));
        if (asked.empty() || index != asked.front().want.index) {
          return Status::Protocol("FileError for a file that was not the one requested next");
        }
        if (asked.front().delta) --deltas_in_flight;
        asked.pop_front();
        in_file = false;
        rx->FileFailed(index, "server: " + message);
        break;
      }
      case FrameType::kDone:
        if (!want_end_sent || in_file) return Status::Protocol("Done before all files arrived");
        return Status::Ok();
      default:
        return Status::Protocol("unexpected " + FrameName(f) + " frame during transfer");
    }
  }
}

}  // namespace

Status PullSession(Connection* conn, Receiver* rx, uint32_t hello_flags) {
  uint32_t granted = 0;
  TS_RETURN_IF_ERROR(Handshake(conn, hello_flags, &granted));
  bool complete = true;
  TS_RETURN_IF_ERROR(ReceiveListing(conn, rx, rx->reporter(), (granted & kHelloPackedListing) != 0,
                                    &complete));
  TS_RETURN_IF_ERROR(rx->ApplyListing(complete));
  TS_RETURN_IF_ERROR(Transfer(conn, rx));
  TS_RETURN_IF_ERROR(rx->Finish());
  if (!complete) return Status::Partial("the server could not list every folder");
  if (rx->failures() > 0) {
    return Status::Partial(std::to_string(rx->failures()) + " entries failed");
  }
  return Status::Ok();
}

ReceiverOptions ReceiverOptionsFor(const PullOptions& options) {
  ReceiverOptions ro;
  ro.delete_extraneous = options.delete_extraneous;
  ro.checksum = options.checksum;
  ro.dry_run = options.dry_run;
  return ro;
}

Status OpenAndConnect(const PullOptions& options, Receiver* rx, platform::Socket* sock) {
  TS_RETURN_IF_ERROR(rx->Open());
  return platform::Connect(options.host, options.port, options.timeout_ms, sock);
}

Status RunPull(const PullOptions& options, Reporter* reporter, PullStats* stats) {
  auto start = std::chrono::steady_clock::now();
  Receiver rx(options.dir, ReceiverOptionsFor(options), reporter, stats);
  platform::Socket sock;
  Status s = OpenAndConnect(options, &rx, &sock);
  if (s.ok()) {
    Connection conn(std::move(sock), options.timeout_ms);
    // The packed listing always: a quarter of the bytes of one frame per
    // entry, and far fewer frames to take apart.
    s = PullSession(&conn, &rx, kHelloPackedListing | (options.checksum ? kHelloWantHashes : 0));
    stats->bytes_on_wire = conn.bytes_sent() + conn.bytes_received();
    // Cut off, not refused: what arrived of the current file is kept so
    // the next pull resumes after it.
    if (s.kind() == ErrorKind::kSocket || s.kind() == ErrorKind::kTimeout ||
        s.kind() == ErrorKind::kInterrupted) {
      rx.KeepPartial();
    }
  }
  stats->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  return s;
}

}  // namespace treesync
