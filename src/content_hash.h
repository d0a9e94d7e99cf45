// Content hashes of files on disk (XXH3-128), and a cache that lets a
// server answer repeated --checksum pulls without reading every file again.
#ifndef TREESYNC_CONTENT_HASH_H_
#define TREESYNC_CONTENT_HASH_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "clock.h"
#include "fs_meta.h"
#include "status.h"
#include "xxh3.h"

namespace treesync {

// Hashes the regular file at path; *info gets its metadata as of opening.
Status HashFile(const std::string& path, Hash128* hash, platform::FileInfo* info);
// Feeds the first n bytes of an open file (read from its current offset)
// into *hasher. kIo if the file is shorter.
Status HashPrefix(platform::File* file, uint64_t n, Xxh3Hasher* hasher);

// Hashes keyed by a file's identity (device, inode) and every stamp a
// change moves (size, mtime, ctime). ctime can't be set back by users, so
// an edit that restores size and mtime still misses the cache. Thread-safe.
class HashCache {
 public:
  // Files changed less than this long ago are not cached: within one tick
  // of the file system's clock a second write could leave every stamp
  // unchanged (git's "racy clean" problem).
  static constexpr int64_t kSettleNs = 2000000000;
  // Beyond this many entries the cache starts over: a bound on memory.
  static constexpr size_t kMaxEntries = 1 << 20;

  bool Lookup(const platform::FileInfo& info, Hash128* hash);
  void Store(const platform::FileInfo& info, const Hash128& hash, int64_t now_ns);

 private:
  struct Key {
    uint64_t device, inode;
    bool operator==(const Key& o) const { return device == o.device && inode == o.inode; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return static_cast<size_t>(k.inode * 0x9E3779B97F4A7C15ull ^ k.device);
    }
  };
  struct Value {
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    Hash128 hash;
  };
  std::mutex mu_;
  std::unordered_map<Key, Value, KeyHash> map_;
};

// HashFile through a cache (may be null: then just HashFile): a hit costs
// an open and a stat, no reading.
Status HashFileCached(const std::string& path, HashCache* cache, int64_t now_ns, Hash128* hash,
                      platform::FileInfo* info);


}  // namespace treesync

#endif  // TREESYNC_CONTENT_HASH_H_
