#include "receive_session.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "path.h"
#include "send_session.h"

namespace treesync {

namespace {

// Delta requests in flight at once: each holds a signature in the sender's
// memory, and a few are enough to keep the pipe full.
constexpr size_t kMaxDeltasInFlight = 4;
// Requests sent and not yet answered, at most: the sender answers in order
// and a huge backlog gains nothing.
constexpr size_t kMaxRequestsInFlight = 4 * kMaxWantsPerFrame;
// Listing credit is granted back in steps of at least this much, so a
// ListCredit frame goes out every few thousand entries, not every entry.
constexpr uint64_t kCreditStep = kInitialListCredit / 4;
// What a sender that does not stream may make us hold of files to fetch
// (listing weight): it grants no credit, and answers no request before its
// listing ends, so past this we can only give up.
constexpr uint64_t kMaxUncreditedWeight = 32u << 20;
// Below this much credit the sender may be unable to send its next entry
// (one weighs at most about 4 KiB): whatever is owed is granted at once.
constexpr uint64_t kCreditLow = 2 * (kEntryWeightBase + kMaxPathBytes);

// The receiving role after the Hellos: the listing and the transfer run
// together, the connection's loop keeping both directions moving.
class ReceiveLoop {
 public:
  ReceiveLoop(Connection* conn, Receiver* rx, uint32_t granted)
      : conn_(conn),
        peer_(PeerOfReceiver(granted)),
        pushed_((granted & kHelloPush) != 0),
        rx_(rx),
        streaming_((granted & kHelloStreaming) != 0),
        hashes_((granted & kHelloWantHashes) != 0),
        packed_((granted & kHelloPackedListing) != 0),
        holes_((granted & kHelloHoles) != 0),
        sized_sums_((granted & kHelloSizedSums) != 0),
        owners_((granted & kHelloOwners) != 0),
        specials_((granted & kHelloSpecials) != 0),
        xattrs_((granted & kHelloXattrs) != 0),
        links_((granted & kHelloHardLinks) != 0) {
    rx_->SetXattrsListed(xattrs_ && packed_);
  }

  Status Run(bool* complete);

 private:
  struct Asked {
    Want want;
    bool delta;
    bool short_sums;  // a delta whose signature kept fewer than 8 strong bytes
  };
  Status SendRequests();
  Status GrantCredit();
  Status OnListing(const Frame& f);
  Status TakeEntry(Entry& e);
  Status OnAnswer(const Frame& f, bool* done);
  // The file of `index` is over: its retry count goes.
  void Forget(uint32_t index) {
    tries_.erase(index);
    full_sums_.erase(index);
  }

  Connection* conn_;
  const std::string peer_;
  // The sender is the client (a push): its listing warnings are its own
  // user's, who has seen them (RunSender).
  const bool pushed_;
  Receiver* rx_;
  const bool streaming_;
  const bool hashes_;
  const bool packed_;
  const bool holes_;  // Hole frames were granted
  const bool sized_sums_;  // signatures name their strong sums' length
  const bool owners_;    // entries carry owners
  const bool specials_;  // special files are listed
  const bool xattrs_;    // entries carry attributes
  const bool links_;     // files carry link records
  uint64_t credit_ = kInitialListCredit;  // what the sender may still send
  uint64_t owed_ = 0;                     // credit finished with, not yet granted
  uint64_t count_ = 0;                    // entries received
  bool listing_done_ = false;
  bool complete_ = true;
  // Files to request before asking the receiver for more: one taken from it
  // that had to wait (its delta, for room), and retries.
  std::deque<Want> unsent_;
  std::deque<Asked> asked_;  // sent and not yet answered, in order
  std::unordered_map<uint32_t, uint8_t> tries_;
  std::unordered_set<uint32_t> full_sums_;  // asked again after a short-sum delta failed
  size_t deltas_in_flight_ = 0;
  bool want_end_sent_ = false;
  bool in_file_ = false;
};

Status ReceiveLoop::SendRequests() {
  std::string batch;
  size_t in_batch = 0;
  auto flush = [&]() -> Status {
    if (in_batch == 0) return Status::Ok();
    Status s = conn_->Send(streaming_ ? FrameType::kWantPaths : FrameType::kWant, batch);
    batch.clear();
    in_batch = 0;
    return s;
  };
  // Keep requests flowing, but only while our output is drained: a Send
  // that had to wait could leave the sender's answers unread.
  while (conn_->pending_output() < 64 * 1024 && asked_.size() < kMaxRequestsInFlight) {
    Want w;
    if (!unsent_.empty()) {
      w = unsent_.front();
    } else if (!rx_->NextWant(&w)) {
      break;
    } else {
      unsent_.push_front(w);  // popped below once it is sure to go now
    }
    uint8_t& tries = tries_[w.index];
    bool delta = tries == 0 && w.offset == 0 && !rx_->BasisFor(w.index).empty();
    if (delta && deltas_in_flight_ >= kMaxDeltasInFlight) break;
    unsent_.pop_front();
    Signature sig;
    // A basis that can't be read just means the file travels whole.
    if (delta && !rx_->BuildSignature(w.index, &sig).ok()) delta = false;
    if (delta && sized_sums_ && full_sums_.count(w.index) == 0) {
      sig.strong_bytes = StrongBytesFor(sig.basis_size, sig.block_size);
    }
    ++tries;
    asked_.push_back({w, delta, delta && sig.strong_bytes < 8});
    const Entry& e = rx_->entry(w.index);
    PathWant pw;
    pw.tag = w.index;
    pw.offset = w.offset;
    pw.size = e.size;
    pw.path = e.path;
    if (delta) {
      TS_RETURN_IF_ERROR(flush());
      ++deltas_in_flight_;
      TS_RETURN_IF_ERROR(streaming_ ? conn_->Send(FrameType::kWantDeltaPath,
                                                  EncodeWantDeltaPath(pw, sig, sized_sums_))
                                    : conn_->Send(FrameType::kWantDelta,
                                                  EncodeWantDelta(w.index, sig, sized_sums_)));
      continue;
    }
    if (streaming_) {
      if (batch.size() + PathWantBytes(pw) > kMaxFramePayload) TS_RETURN_IF_ERROR(flush());
      AppendPathWant(pw, &batch);
    } else {
      batch += EncodeWants(&w, 1);
    }
    if (++in_batch == kMaxWantsPerFrame) TS_RETURN_IF_ERROR(flush());
  }
  TS_RETURN_IF_ERROR(flush());
  if (listing_done_ && unsent_.empty() && asked_.empty() && !want_end_sent_ &&
      rx_->outstanding() == 0) {
    TS_RETURN_IF_ERROR(conn_->Send(FrameType::kWantEnd, std::string()));
    want_end_sent_ = true;
  }
  return Status::Ok();
}

Status ReceiveLoop::GrantCredit() {
  if (!streaming_) return Status::Ok();
  owed_ += rx_->TakeCredit();
  if (owed_ == 0 || listing_done_) return Status::Ok();
  if (owed_ < kCreditStep && credit_ >= kCreditLow) return Status::Ok();
  uint32_t grant = static_cast<uint32_t>(std::min<uint64_t>(owed_, 0xffffffffu));
  owed_ -= grant;
  credit_ += grant;
  return conn_->Send(FrameType::kListCredit, EncodeListCredit(grant));
}

Status ReceiveLoop::TakeEntry(Entry& e) {
  // The hash is optional on the wire only when granted; bytes the sender
  // was not asked for are a payload with bytes left over.
  if (e.has_hash && !hashes_) {
    return Status::Protocol(peer_ + " sent a content hash that was not asked for");
  }
  if (streaming_) {
    uint64_t weight = EntryWeight(e);
    if (weight > credit_) return Status::Protocol(peer_ + " sent more listing than it was granted");
    credit_ -= weight;
  }
  ++count_;
  TS_RETURN_IF_ERROR(rx_->AddEntry(std::move(e)));
  if (!streaming_ && rx_->outstanding_weight() > kMaxUncreditedWeight) {
    return Status::Protocol("the " + peer_ +
                            "'s listing holds more files to fetch than fit in memory (" +
                            std::to_string(rx_->outstanding()) +
                            "); one that streams has no such limit");
  }
  return Status::Ok();
}

Status ReceiveLoop::OnListing(const Frame& f) {
  if (in_file_) return Status::Protocol(FrameName(f) + " frame inside a file's data");
  if (listing_done_) return Status::Protocol(FrameName(f) + " frame after the listing ended");
  switch (f.type) {
    case FrameType::kFolder:
    case FrameType::kFile:
    case FrameType::kSymlink: {
      Entry e;
      TS_RETURN_IF_ERROR(DecodeEntry(f, &e));
      return TakeEntry(e);
    }
    case FrameType::kEntries:
      if (!packed_) return Status::Protocol("Entries frame the client did not ask for");
      return DecodeEntries(f.payload.data(), f.payload.size(),
                           [this](Entry& e) { return TakeEntry(e); }, owners_,
                           specials_, xattrs_, links_);
    case FrameType::kGap: {
      if (!streaming_) return Status::Protocol("Gap frame outside a streaming session");
      std::string folder, message;
      TS_RETURN_IF_ERROR(DecodeGap(f, &folder, &message));
      // A pushing client's user knows whose folder it is: it is theirs.
      return rx_->AddGap(folder, pushed_ ? message : peer_ + ": " + message);
    }
    case FrameType::kWhole: {
      std::string folder;
      bool tree = false;
      TS_RETURN_IF_ERROR(DecodeWhole(f, &folder, &tree));
      return rx_->AddWhole(folder, tree);
    }
    case FrameType::kWarning: {
      std::string path, message;
      TS_RETURN_IF_ERROR(DecodeWarning(f, &path, &message));
      if (!pushed_) rx_->reporter()->OnWarning(peer_ + ": " + message);
      return Status::Ok();
    }
    default: {  // kListEnd
      ListEnd end;
      TS_RETURN_IF_ERROR(DecodeListEnd(f, &end));
      if (end.count != count_) {
        return Status::Protocol("listing ended after " + std::to_string(count_) +
                                " entries, but the " + peer_ + " counted " +
                                std::to_string(end.count));
      }
      complete_ = end.complete;
      listing_done_ = true;
      return rx_->EndListing(end.complete);
    }
  }
}

Status ReceiveLoop::OnAnswer(const Frame& f, bool* done) {
  switch (f.type) {
    case FrameType::kBegin: {
      Begin b;
      TS_RETURN_IF_ERROR(DecodeBegin(f, &b));
      if (asked_.empty() || b.index != asked_.front().want.index) {
        return Status::Protocol(peer_ + " sent file #" + std::to_string(b.index) +
                                ", which was not the one requested next");
      }
      if (b.offset != 0 && b.offset != asked_.front().want.offset) {
        return Status::Protocol(peer_ + " resumed file #" + std::to_string(b.index) +
                                " at an offset that was not asked for");
      }
      TS_RETURN_IF_ERROR(rx_->BeginFile(b, asked_.front().delta));
      in_file_ = true;
      return Status::Ok();
    }
    case FrameType::kCopy: {
      if (!in_file_ || !asked_.front().delta) return Status::Protocol("Copy frame outside a delta");
      uint32_t first = 0, count = 0;
      TS_RETURN_IF_ERROR(DecodeCopy(f, &first, &count));
      return rx_->CopyBlocks(first, count);
    }
    case FrameType::kHole: {
      if (!holes_) return Status::Protocol("Hole frame in a session that did not grant them");
      if (!in_file_) return Status::Protocol("Hole frame outside a file");
      uint64_t n = 0;
      TS_RETURN_IF_ERROR(DecodeHole(f, &n));
      return rx_->FileHole(n);
    }
    case FrameType::kEnd: {
      if (!in_file_) return Status::Protocol("End frame outside a file");
      End e;
      TS_RETURN_IF_ERROR(DecodeEnd(f, &e));
      Asked a = asked_.front();
      std::string path = rx_->entry(a.want.index).path;
      Receiver::EndResult result;
      TS_RETURN_IF_ERROR(rx_->EndFile(e, &result));
      in_file_ = false;
      asked_.pop_front();
      if (a.delta) --deltas_in_flight_;
      if (result != Receiver::EndResult::kMismatch) {
        Forget(a.want.index);
      } else if (a.short_sums && full_sums_.insert(a.want.index).second) {
        // Most likely a block matched on its short strong sum alone (rsync
        // bets on about 1 in 1,000 files): a delta again, with whole sums,
        // and it does not count as a try.
        --tries_[a.want.index];
        unsent_.push_back({a.want.index, 0});
      } else if (tries_[a.want.index] < 2) {
        unsent_.push_back({a.want.index, 0});
      } else {
        rx_->FileFailed(a.want.index,
                        Printable(path) + ": data did not match the " + peer_ + "'s hash twice");
        Forget(a.want.index);
      }
      return Status::Ok();
    }
    case FrameType::kFileError: {
      uint32_t index;
      std::string message;
      TS_RETURN_IF_ERROR(DecodeFileError(f, &index, &message));
      if (asked_.empty() || index != asked_.front().want.index) {
        return Status::Protocol("FileError for a file that was not the one requested next");
      }
      if (asked_.front().delta) --deltas_in_flight_;
      asked_.pop_front();
      in_file_ = false;
      rx_->FileFailed(index, pushed_ ? message : peer_ + ": " + message);
      Forget(index);
      return Status::Ok();
    }
    case FrameType::kDone:
      if (!want_end_sent_ || in_file_) return Status::Protocol("Done before all files arrived");
      *done = true;
      return Status::Ok();
    default:
      return Status::Protocol("unexpected " + FrameName(f) + " frame");
  }
}

Status ReceiveLoop::Run(bool* complete) {
  Frame f;
  TS_RETURN_IF_ERROR(conn_->Receive(&f));
  if (f.type == FrameType::kError) return PeerError(f, peer_);
  SyncStart sync;
  TS_RETURN_IF_ERROR(DecodeSync(f, &sync));
  rx_->SetRootTime(sync.mtime_ns);
  for (bool done = false; !done;) {
    // Names of link groups hold listing credit, and the session's end,
    // until the installer has put their file in place: with nothing else
    // to wait for, wait for that.
    if (asked_.empty() && unsent_.empty() && !in_file_ && rx_->LinksWaitOnInstalls()) {
      TS_RETURN_IF_ERROR(rx_->DrainInstalls(true));
    }
    TS_RETURN_IF_ERROR(SendRequests());
    TS_RETURN_IF_ERROR(GrantCredit());
    // File data is written straight from the receive buffer; the other
    // frames are small and decoded from a copy.
    FrameView v;
    TS_RETURN_IF_ERROR(conn_->ReceiveView(&v));
    if (v.type == FrameType::kData) {
      if (!in_file_) return Status::Protocol("Data frame outside a file");
      TS_RETURN_IF_ERROR(rx_->FileData(v.data, v.size));
      continue;
    }
    f = v.ToFrame();
    switch (f.type) {
      case FrameType::kError:
        return PeerError(f, peer_);
      case FrameType::kFolder:
      case FrameType::kFile:
      case FrameType::kSymlink:
      case FrameType::kEntries:
      case FrameType::kGap:
      case FrameType::kWhole:
      case FrameType::kWarning:
      case FrameType::kListEnd:
        TS_RETURN_IF_ERROR(OnListing(f));
        break;
      default:
        TS_RETURN_IF_ERROR(OnAnswer(f, &done));
    }
  }
  *complete = complete_;
  return Status::Ok();
}

}  // namespace

Status RunReceiver(Connection* conn, Receiver* rx, uint32_t granted) {
  if (granted & kHelloStreaming) {
    rx->set_max_entries(kMaxStreamedEntries);
  } else {
    // Whether the listing is complete is known only at its end.
    rx->DeferDeletions();
  }
  ReceiveLoop loop(conn, rx, granted);
  bool complete = true;
  TS_RETURN_IF_ERROR(loop.Run(&complete));
  TS_RETURN_IF_ERROR(rx->Finish());
  if (rx->deletions_held() > 0) {
    return Status::Make(ErrorKind::kMaxDelete,
                        "would delete " + std::to_string(rx->deletions_held()) +
                            " entries, more than --max-delete " +
                            std::to_string(rx->max_delete()) + ": deleted none");
  }
  if (rx->failures() > 0) {
    return Status::Partial(std::to_string(rx->failures()) + " entries failed");
  }
  if (!complete) {
    return Status::Partial(std::string("the ") + PeerOfReceiver(granted) +
                           " could not list every folder");
  }
  return Status::Ok();
}

}  // namespace treesync
