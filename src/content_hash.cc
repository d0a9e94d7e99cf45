#include "content_hash.h"
#include "clock.h"

#include <chrono>
#include <vector>

#include "path.h"

namespace treesync {

namespace {
constexpr size_t kHashChunk = 256 * 1024;
}  // namespace

Status HashFile(const std::string& path, Hash128* hash, platform::FileInfo* info) {
  platform::File file;
  TS_RETURN_IF_ERROR(platform::File::OpenRead(path, &file));
  TS_RETURN_IF_ERROR(file.Stat(info));
  if (info->type != platform::FileType::kRegular) {
    return Status::Io(Printable(path) + ": not a regular file");
  }
  Xxh3Hasher hasher;
  std::vector<char> buf(kHashChunk);
  for (;;) {
    size_t got = 0;
    TS_RETURN_IF_ERROR(file.Read(buf.data(), buf.size(), &got));
    if (got == 0) break;
    hasher.Update(buf.data(), got);
  }
  *hash = hasher.Digest();
  return Status::Ok();
}

Status HashFileCached(const std::string& path, HashCache* cache, int64_t now_ns, Hash128* hash,
                      platform::FileInfo* info) {
  {
    platform::File file;
    TS_RETURN_IF_ERROR(platform::File::OpenRead(path, &file));
    TS_RETURN_IF_ERROR(file.Stat(info));
    if (cache != nullptr && cache->Lookup(*info, hash)) return Status::Ok();
  }
  TS_RETURN_IF_ERROR(HashFile(path, hash, info));
  if (cache != nullptr) cache->Store(*info, *hash, now_ns);
  return Status::Ok();
}

Status HashPrefix(platform::File* file, uint64_t n, Xxh3Hasher* hasher) {
  std::vector<char> buf(kHashChunk);
  while (n > 0) {
    size_t want = n < buf.size() ? static_cast<size_t>(n) : buf.size();
    size_t got = 0;
    TS_RETURN_IF_ERROR(file->Read(buf.data(), want, &got));
    if (got == 0) return Status::Io("file is shorter than expected");
    hasher->Update(buf.data(), got);
    n -= got;
  }
  return Status::Ok();
}

bool HashCache::Lookup(const platform::FileInfo& info, Hash128* hash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find({info.device, info.inode});
  if (it == map_.end()) return false;
  const Value& v = it->second;
  if (v.size != info.size || v.mtime_ns != info.mtime_ns || v.ctime_ns != info.ctime_ns) {
    return false;
  }
  *hash = v.hash;
  return true;
}

void HashCache::Store(const platform::FileInfo& info, const Hash128& hash, int64_t now_ns) {
  int64_t changed = info.mtime_ns > info.ctime_ns ? info.mtime_ns : info.ctime_ns;
  if (now_ns - changed < kSettleNs) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.size() >= kMaxEntries) map_.clear();
  map_[{info.device, info.inode}] = {info.size, info.mtime_ns, info.ctime_ns, hash};
}

}  // namespace treesync
