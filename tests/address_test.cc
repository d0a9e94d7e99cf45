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

TEST(Address, ParsesBareHost) {
  HostPort r = Parse("example.org");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "example.org");
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(r.port, 7);
}

TEST(Address, ParsesHostAndPort) {
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

TEST(Address, ParsesBracketedIpv6WithPort) {
  HostPort r = Parse("[::1]:1234");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "::1");
  EXPECT_TRUE(r.has_port);
  EXPECT_EQ(r.port, 1234);
}

TEST(Address, ParsesBracketedIpv6WithoutPort) {
  HostPort r = Parse("[::1]");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.host, "::1");
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(r.port, 7);
}

TEST(Address, TakesBareIpv6AsAnAddressWithoutPort) {
  for (const char* a : {"::1", "fe80::1:2", "2001:db8::8:80"}) {
    HostPort r = Parse(a);
    ASSERT_TRUE(r.status.ok()) << a << ": " << r.status.message();
    EXPECT_EQ(r.host, a);
    EXPECT_FALSE(r.has_port) << a;
  }
}

TEST(Address, RefusesBadPorts) {
  for (const char* a : {"1.2.3.4:0", "host:65536", "host:", "host:12x", "host:-1",
                        "[::1]:", "[::1]:0", "host:99999999999"}) {
    HostPort r = Parse(a);
    EXPECT_EQ(r.status.kind(), ErrorKind::kUsage) << a;
  }
}

TEST(Address, RefusesUnclosedBracket) {
  EXPECT_EQ(Parse("[::1").status.kind(), ErrorKind::kUsage);
  EXPECT_EQ(Parse("[::1]x").status.kind(), ErrorKind::kUsage);
}

TEST(Address, RefusesMissingHost) {
  EXPECT_EQ(Parse(":5").status.kind(), ErrorKind::kUsage);
  EXPECT_EQ(Parse("").status.kind(), ErrorKind::kUsage);
  EXPECT_EQ(Parse("[]:5").status.kind(), ErrorKind::kUsage);
}

Remote MustParse(const std::string& arg) {
  Remote r;
  Status s = ParseRemote(arg, &r);
  EXPECT_TRUE(s.ok()) << arg << ": " << s.message();
  return r;
}

TEST(Address, BareHostAndHostPortAreTreesyncServers) {
  Remote r = MustParse("example.org");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_EQ(r.host, "example.org");
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(r.path, "");
  r = MustParse("example.org:4000");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_EQ(r.port, 4000);
  r = MustParse("[::1]:4000");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_EQ(r.host, "::1");
  r = MustParse("fe80::1");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_EQ(r.host, "fe80::1");
}

TEST(Address, ASlashAfterTheAuthorityNamesASubFolder) {
  Remote r = MustParse("host:4000/a/b");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_EQ(r.host, "host");
  EXPECT_EQ(r.port, 4000);
  EXPECT_EQ(r.path, "a/b");
  r = MustParse("host/a/b/");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(r.path, "a/b");
  r = MustParse("[::1]:9/x");
  EXPECT_EQ(r.host, "::1");
  EXPECT_EQ(r.path, "x");
  r = MustParse("treesync://host:5/sub/dir");
  EXPECT_EQ(r.kind, Remote::kTcp);
  EXPECT_EQ(r.port, 5);
  EXPECT_EQ(r.path, "sub/dir");
  r = MustParse("treesync://host");
  EXPECT_EQ(r.path, "");
  EXPECT_FALSE(r.has_port);
}

TEST(Address, SubFoldersObeyTheWirePathRules) {
  Remote r;
  EXPECT_EQ(ParseRemote("host:1/../etc", &r).kind(), ErrorKind::kUsage);
  EXPECT_EQ(ParseRemote("host/a/./b", &r).kind(), ErrorKind::kUsage);
  EXPECT_EQ(ParseRemote("treesync://host//abs", &r).kind(), ErrorKind::kUsage);
  EXPECT_EQ(ParseRemote("treesync://host:1/a/..", &r).kind(), ErrorKind::kUsage);
}

TEST(Address, HostColonPathIsSsh) {
  Remote r = MustParse("host:backups/www");
  EXPECT_EQ(r.kind, Remote::kSsh);
  EXPECT_EQ(r.host, "host");
  EXPECT_EQ(r.user, "");
  EXPECT_EQ(r.path, "backups/www");
  r = MustParse("me@host:/srv/data");
  EXPECT_EQ(r.kind, Remote::kSsh);
  EXPECT_EQ(r.user, "me");
  EXPECT_EQ(r.path, "/srv/data");
  r = MustParse("host:");
  EXPECT_EQ(r.kind, Remote::kSsh);
  EXPECT_EQ(r.path, ".");
  // All digits is a port; with a user it can only be ssh.
  EXPECT_EQ(MustParse("host:1234").kind, Remote::kTcp);
  EXPECT_EQ(MustParse("me@host:1234").kind, Remote::kSsh);
  EXPECT_EQ(MustParse("host:12ab").kind, Remote::kSsh);
}

TEST(Address, SshUrlsCarryAPortAndAnAbsolutePath) {
  Remote r = MustParse("ssh://me@host:2222/srv/data");
  EXPECT_EQ(r.kind, Remote::kSsh);
  EXPECT_EQ(r.user, "me");
  EXPECT_EQ(r.host, "host");
  EXPECT_TRUE(r.has_port);
  EXPECT_EQ(r.port, 2222);
  EXPECT_EQ(r.path, "/srv/data");
  r = MustParse("ssh://[::1]/x");
  EXPECT_EQ(r.host, "::1");
  EXPECT_FALSE(r.has_port);
  EXPECT_EQ(MustParse("ssh://host").path, ".");
}

TEST(Address, RefusesWhatSshWouldTakeForAnOption) {
  Remote r;
  EXPECT_EQ(ParseRemote("-oProxyCommand=x:path", &r).kind(), ErrorKind::kUsage);
  EXPECT_EQ(ParseRemote("-me@host:path", &r).kind(), ErrorKind::kUsage);
  EXPECT_EQ(ParseRemote("@host:path", &r).kind(), ErrorKind::kUsage);
  EXPECT_EQ(ParseRemote("me@host", &r).kind(), ErrorKind::kUsage);  // TCP has no users
}

TEST(Address, LooksRemoteLikeRsyncAndScp) {
  EXPECT_TRUE(LooksRemote("host:path"));
  EXPECT_TRUE(LooksRemote("me@host:"));
  EXPECT_TRUE(LooksRemote("host:1234"));
  EXPECT_TRUE(LooksRemote("[::1]:1234"));
  EXPECT_TRUE(LooksRemote("ssh://host/x"));
  EXPECT_TRUE(LooksRemote("treesync://host"));
  EXPECT_FALSE(LooksRemote("local/dir"));
  EXPECT_FALSE(LooksRemote("./a:b"));        // a slash before the colon
  EXPECT_FALSE(LooksRemote("C:\\Users\\me"));  // a Windows drive
  EXPECT_FALSE(LooksRemote("c:/data"));
  EXPECT_FALSE(LooksRemote(":x"));
  EXPECT_FALSE(LooksRemote("host"));
}

TEST(Address, SplitsCommandsWithQuotes) {
  std::vector<std::string> w;
  ASSERT_TRUE(SplitCommand("ssh -p 2222  -i 'my key' -o \"A=b c\" x\\ y", &w).ok());
  EXPECT_EQ(w, (std::vector<std::string>{"ssh", "-p", "2222", "-i", "my key", "-o", "A=b c", "x y"}));
  EXPECT_EQ(SplitCommand("ssh 'open", &w).kind(), ErrorKind::kUsage);
  EXPECT_EQ(SplitCommand("   ", &w).kind(), ErrorKind::kUsage);
}

TEST(Address, QuotesForTheFarSidesShell) {
  EXPECT_EQ(ShellQuote("/srv/data"), "/srv/data");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$(rm -rf /)"), "'$(rm -rf /)'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("~/my dir"), "~/'my dir'");
  EXPECT_EQ(ShellQuote("~"), "~");
}

TEST(Address, SshCommandStartsServeStdioOnTheFarSide) {
  Remote r = MustParse("ssh://me@host:2222/srv/my data");
  std::vector<std::string> argv = SshCommand({"ssh", "-i", "key"}, r, "/opt/treesync", true);
  EXPECT_EQ(argv, (std::vector<std::string>{
                      "ssh", "-i", "key", "-p", "2222", "me@host",
                      "/opt/treesync serve --stdio --writable -- '/srv/my data'"}));
  argv = SshCommand({"ssh"}, MustParse("host:x"), "treesync", false);
  EXPECT_EQ(argv.back(), "treesync serve --stdio -- x");
}

}  // namespace
}  // namespace treesync
