#include "secure_channel.h"

#include <gtest/gtest.h>

#include <string>

namespace treesync {
namespace {

TEST(AuthThrottle, TurnsAnAddressAwayAfterRepeatedFailuresUntilTheyAgeOut) {
  AuthThrottle t;
  const int64_t start = 1000000;
  for (int i = 0; i < AuthThrottle::kMaxAuthFailures; ++i) {
    EXPECT_TRUE(t.Allowed("10.0.0.1", start + i)) << i;
    t.Failed("10.0.0.1", start + i);
  }
  EXPECT_FALSE(t.Allowed("10.0.0.1", start + 10));
  EXPECT_TRUE(t.Allowed("10.0.0.2", start + 10)) << "other addresses are not held back";
  EXPECT_TRUE(t.Allowed("10.0.0.1", start + AuthThrottle::kAuthFailureWindowMs));
}

TEST(AuthThrottle, RemembersABoundedNumberOfAddresses) {
  AuthThrottle t;
  for (int i = 0; i < AuthThrottle::kMaxAuthFailures; ++i) t.Failed("victim", 1);
  // A flood from many addresses pushes out the stalest record, not memory.
  for (size_t i = 0; i < AuthThrottle::kMaxTrackedAddresses; ++i) {
    t.Failed("flood-" + std::to_string(i), 2 + int64_t(i));
  }
  EXPECT_TRUE(t.Allowed("victim", 100)) << "forgotten once the table is full";
}

TEST(SecureChannel, PeerAddressDropsThePort) {
  EXPECT_EQ(PeerAddress("192.0.2.7:5000"), "192.0.2.7");
  EXPECT_EQ(PeerAddress("[::1]:5000"), "::1");
  EXPECT_EQ(PeerAddress("[fe80::1%eth0]:22"), "fe80::1%eth0");
  EXPECT_EQ(PeerAddress("::1"), "::1");
}

}  // namespace
}  // namespace treesync
