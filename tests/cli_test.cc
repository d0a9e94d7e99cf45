#include "cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace treesync {
namespace {

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

TEST(Cli, CompressionOptionsAreChecked) {
  EXPECT_EQ(RunCli({"pull", "--compress-level", "10", "host", "dir"}), 1);
  EXPECT_EQ(RunCli({"pull", "--compress-level", "fast", "host", "dir"}), 1);
  EXPECT_EQ(RunCli({"pull", "--legacy-cmb", "-z", "host", "dir"}), 1);
  EXPECT_EQ(RunCli({"serve", "-z", "dir"}), 1);  // the client asks for it
}

TEST(Cli, VersionSucceeds) {
  EXPECT_EQ(RunCli({"--version"}), 0);
  EXPECT_EQ(RunCli({"-V"}), 0);
}

TEST(Cli, HelpSucceeds) { EXPECT_EQ(RunCli({"--help"}), 0); }

}  // namespace
}  // namespace treesync
