#include "installer.h"

namespace treesync {

Installer::~Installer() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

void Installer::Hand(InstallJob job) {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return jobs_.size() < kMaxQueued; });
  jobs_.push_back(std::move(job));
  ++handed_;
  changed_.notify_all();
}

void Installer::Take(std::vector<InstallResult>* out, bool wait) {
  out->clear();
  if (handed_ == taken_) return;
  std::unique_lock<std::mutex> lock(mu_);
  if (wait) changed_.wait(lock, [this] { return done_.size() == handed_ - taken_; });
  out->swap(done_);
  taken_ += out->size();
}

void Installer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing is left to do
    InstallJob job = std::move(jobs_.front());
    jobs_.pop_front();
    changed_.notify_all();
    lock.unlock();
    Status s;
    // The owner first: a change of owner clears set-uid and set-gid bits.
    if (job.uid != platform::kKeep || job.gid != platform::kKeep) {
      s = platform::SetOwner(job.folder->PathOf(job.temp_name), job.uid, job.gid);
    }
    if (s.ok() && job.set_mode) s = job.file.SetMode(job.mode);
    if (s.ok()) s = job.file.SetMtime(job.mtime_ns);
    InstallResult r;
    r.index = job.index;
    platform::FileInfo info;
    if (s.ok() && job.identify && job.file.Stat(&info).ok()) {
      r.identified = true;
      r.device = info.device;
      r.inode = info.inode;
    }
    Status closed = job.file.Close();  // Windows can't rename an open file
    if (s.ok()) s = closed;
    if (s.ok()) s = job.folder->Rename(job.temp_name, job.final_name);
    if (!s.ok()) platform::RemoveEntry(job.folder->PathOf(job.temp_name));
    r.status = s;
    lock.lock();
    done_.push_back(std::move(r));
    changed_.notify_all();
  }
}

}  // namespace treesync
