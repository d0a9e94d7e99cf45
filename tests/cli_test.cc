#include "cli.h"

#include "address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace treesync {
namespace {

struct HostPort {
  Status status;
  std::string host;
  uint16_t port = 7;  // must stay put when the argument has no port
  bool has_port = false;
};

HostPort Parse(const std::string& arg) {
  HostPort r;
  r.status = ParseHostPort(arg, &r.host, &r.port, &r.has_port);
  return r;
}

TEST(Cli, ParsesBareHost) {
  HostPort r = Parse("example.org");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "example.org");
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(r.port, 7);
}

TEST(Cli, ParsesHostAndPort) {
  HostPort r = Parse("host:99");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "host");
  EXPECT_TRUE(r.has_port);
  EXPECT_EQ(r.port, 99);
  r = Parse("1.2.3.4:65535");
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.host, "1.2.3.4");
  EXPECT_EQ(r.port, 65535);
}

TEST(Cli, ParsesBracketedIpv6WithPort) {
  HostPort r = Parse("[::1]:1234");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "::1");
  EXPECT_TRUE(r.has_port);
  EXPECT_EQ(r.port, 1234);
}

TEST(Cli, ParsesBracketedIpv6WithoutPort) {
  HostPort r = Parse("[::1]");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "::1");
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(r.port, 7);
}

TEST(Cli, TakesBareIpv6AsAnAddressWithoutPort) {
  for (const char* a : {"::1", "fe80::1:2", "2001:db8::8:80"}) {
    HostPort r = Parse(a);
    ASSERT_TRUE(r.status.ok()) << a << ": " << r.status.message();
    EXPECT_EQ(r.host, a);
    EXPECT_FALSE(r.has_port) << a;
  }
}

TEST(Cli, RefusesBadPorts) {
  for (const char* a : {"1.2.3.4:0", "host:65536", "host:", "host:12x", "host:-1",
                        "[::1]:", "[::1]:0", "host:99999999999"}) {
    HostPort r = Parse(a);
    EXPECT_EQ(r.status.kind(), ErrorKind::kUsage) << a;
  }
}

TEST(Cli, RefusesUnclosedBracket) {
  EXPECT_EQ(Parse("[::1").status.kind(), ErrorKind::kUsage);
  EXPECT_EQ(Parse("[::1]x").status.kind(), ErrorKind::kUsage);
}

TEST(Cli, RefusesMissingHost) {
  EXPECT_EQ(Parse(":5").status.kind(), ErrorKind::kUsage);
  EXPECT_EQ(Parse("").status.kind(), ErrorKind::kUsage);
  EXPECT_EQ(Parse("[]:5").status.kind(), ErrorKind::kUsage);
}

TEST(Cli, NoArgumentsIsAUsageError) { EXPECT_EQ(RunCli({}), 1); }

TEST(Cli, UnknownCommandIsAUsageError) { EXPECT_EQ(RunCli({"fetch"}), 1); }

TEST(Cli, UnknownOptionIsAUsageError) {
  EXPECT_EQ(RunCli({"--bogus"}), 1);
  EXPECT_EQ(RunCli({"pull", "--bogus", "host", "dir"}), 1);
  EXPECT_EQ(RunCli({"serve", "--bogus", "dir"}), 1);
}

TEST(Cli, BadArgumentsAreUsageErrors) {
  EXPECT_EQ(RunCli({"pull", "host"}), 1);                       // no DIR
  EXPECT_EQ(RunCli({"pull", "a", "b", "c"}), 1);                // too many
  EXPECT_EQ(RunCli({"pull", "1.2.3.4:0", "dir"}), 1);           // bad port
  EXPECT_EQ(RunCli({"pull", "--port", "5", "host:6", "dir"}), 1);  // contradiction
  EXPECT_EQ(RunCli({"pull", "--timeout", "0", "host", "dir"}), 1);
  EXPECT_EQ(RunCli({"pull", "--no-delete=yes", "host", "dir"}), 1);
  EXPECT_EQ(RunCli({"serve"}), 1);                              // no DIR
  EXPECT_EQ(RunCli({"serve", "--port", "65536", "dir"}), 1);
  EXPECT_EQ(RunCli({"serve", "--port"}), 1);                    // no value
}

TEST(Cli, VersionSucceeds) {
  EXPECT_EQ(RunCli({"--version"}), 0);
  EXPECT_EQ(RunCli({"-V"}), 0);
}

TEST(Cli, HelpSucceeds) { EXPECT_EQ(RunCli({"--help"}), 0); }

}  // namespace
}  // namespace treesync
