// The constants of the Zstandard format (RFC 8878) that its encoder and
// decoder share: magics, the block limit, and the sequence codes' tables.
#ifndef TREESYNC_ZSTD_FORMAT_H_
#define TREESYNC_ZSTD_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace treesync {
namespace zstd {

inline constexpr uint32_t kFrameMagic = 0xFD2FB528U;
// Skippable frames use the 16 magics 0x184D2A50..0x184D2A5F.
inline constexpr uint32_t kSkippableMagic = 0x184D2A50U;
inline constexpr uint32_t kSkippableMask = 0xFFFFFFF0U;

// Block_Maximum_Size: no block holds or decodes to more.
inline constexpr size_t kBlockMax = 128 << 10;

// 3.1.1.3.2.2: the largest accuracy logs and codes per symbol type.
inline constexpr unsigned kLiteralLengthMaxLog = 9, kOffsetMaxLog = 8, kMatchLengthMaxLog = 9;
inline constexpr unsigned kMaxLiteralLengthCode = 35, kMaxOffsetCode = 31,
                          kMaxMatchLengthCode = 52;

// 3.1.1.3.2.1.1: each code's baseline and extra bits.
// clang-format off
inline constexpr uint32_t kLiteralLengthBase[36] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11,  12,   13,   14,   15,   16,   18,
    20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
inline constexpr uint8_t kLiteralLengthBits[36] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  1,  1,
                                                   1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
inline constexpr uint32_t kMatchLengthBase[53] = {
    3,  4,  5,  6,  7,  8,  9,  10, 11,  12,  13,  14,  15,   16,   17,   18,   19,   20,
    21, 22, 23, 24, 25, 26, 27, 28, 29,  30,  31,  32,  33,   34,   35,   37,   39,   41,
    43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};
inline constexpr uint8_t kMatchLengthBits[53] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,
                                                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  1,  1,  1,
                                                 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// 3.1.1.3.2.2, "Default Distributions", and their accuracy logs.
inline constexpr int16_t kDefaultLiteralLengthNorm[36] = {4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                                                          2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
                                                          2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
inline constexpr int16_t kDefaultMatchLengthNorm[53] = {1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1,
                                                        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                        1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
inline constexpr int16_t kDefaultOffsetNorm[29] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1,
                                                   1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};
// clang-format on
inline constexpr unsigned kDefaultLiteralLengthLog = 6, kDefaultOffsetLog = 5,
                          kDefaultMatchLengthLog = 6;

}  // namespace zstd
}  // namespace treesync

#endif  // TREESYNC_ZSTD_FORMAT_H_
