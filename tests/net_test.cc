#include "net.h"

#include <gtest/gtest.h>

#include <string>

namespace treesync {
namespace {

TEST(Net, AcceptedAndConnectedSocketsKeepAlive) {
  platform::Socket listener, client, served;
  ASSERT_TRUE(platform::Listen("127.0.0.1", 0, &listener).ok());
  uint16_t port = 0;
  ASSERT_TRUE(platform::LocalPort(listener, &port).ok());
  ASSERT_TRUE(platform::Connect("127.0.0.1", port, 5000, &client).ok());
  std::string peer;
  ASSERT_TRUE(platform::Accept(listener, 5000, &served, &peer).ok());
  ASSERT_TRUE(served.valid());
  EXPECT_TRUE(platform::KeepsAlive(client));
  EXPECT_TRUE(platform::KeepsAlive(served));
}

}  // namespace
}  // namespace treesync
