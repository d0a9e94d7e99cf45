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

TEST(Net, ARefusedConnectionSaysWhatToCheck) {
  platform::Socket listener;
  ASSERT_TRUE(platform::Listen("127.0.0.1", 0, &listener).ok());
  uint16_t port = 0;
  ASSERT_TRUE(platform::LocalPort(listener, &port).ok());
  listener = platform::Socket();  // closed: nobody listens on port now
  platform::Socket client;
  Status s = platform::Connect("127.0.0.1", port, 5000, &client);
  ASSERT_EQ(s.kind(), ErrorKind::kSocket);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is treesync serve running there"), std::string::npos) << s.message();
}

TEST(Net, APortInUseSaysToChooseAnother) {
  platform::Socket first, second;
  ASSERT_TRUE(platform::Listen("127.0.0.1", 0, &first).ok());
  uint16_t port = 0;
  ASSERT_TRUE(platform::LocalPort(first, &port).ok());
  Status s = platform::Listen("127.0.0.1", port, &second);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--port"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace treesync
