#include "path.h"

#include <gtest/gtest.h>

#include <string>

namespace treesync {
namespace {

std::string S(const char* p, size_t n) { return std::string(p, n); }

TEST(Path, AcceptsOrdinaryAndOddButSafeNames) {
  const std::string good[] = {
      "a",
      "a/b/c",
      "with space/and more",
      "-leading-dash",
      "a/--rf",
      "new\nline",
      "tab\there",
      "back\\slash",
      "C:\\not\\absolute\\here",
      "\xff\xfe not utf-8",
      "caf\xc3\xa9",
      ".hidden",
      "a/.b",
      "...",
      "..a",
      "a..",
      "a/b../.c.",
      std::string(kMaxPathBytes, 'x'),
  };
  for (const std::string& p : good) {
    Status s = CheckWirePath(p);
    EXPECT_TRUE(s.ok()) << Printable(p) << ": " << s.message();
  }
}

TEST(Path, RefusesEmptyPath) { EXPECT_EQ(CheckWirePath("").kind(), ErrorKind::kProtocol); }

TEST(Path, RefusesAbsolutePath) {
  EXPECT_EQ(CheckWirePath("/etc/passwd").kind(), ErrorKind::kProtocol);
  EXPECT_EQ(CheckWirePath("/").kind(), ErrorKind::kProtocol);
}

TEST(Path, RefusesDotDotComponent) {
  for (const char* p : {"..", "../a", "a/..", "a/../b", "a/b/../../.."}) {
    EXPECT_EQ(CheckWirePath(p).kind(), ErrorKind::kProtocol) << p;
  }
}

TEST(Path, RefusesDotComponent) {
  for (const char* p : {".", "./a", "a/.", "a/./b"}) {
    EXPECT_EQ(CheckWirePath(p).kind(), ErrorKind::kProtocol) << p;
  }
}

TEST(Path, RefusesEmptyComponent) {
  for (const char* p : {"a//b", "a/", "a/b/", "//a"}) {
    EXPECT_EQ(CheckWirePath(p).kind(), ErrorKind::kProtocol) << p;
  }
}

TEST(Path, RefusesNulByte) {
  EXPECT_EQ(CheckWirePath(S("a\0b", 3)).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(CheckWirePath(S("\0", 1)).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(CheckWirePath(S("a/b\0", 4)).kind(), ErrorKind::kProtocol);
}

TEST(Path, RefusesPathOverTheLimit) {
  EXPECT_EQ(CheckWirePath(std::string(kMaxPathBytes + 1, 'x')).kind(), ErrorKind::kProtocol);
  std::string deep;
  while (deep.size() <= kMaxPathBytes) deep += "ab/";
  deep += "c";
  EXPECT_EQ(CheckWirePath(deep).kind(), ErrorKind::kProtocol);
}

TEST(Path, ErrorMessagesAreEscaped) {
  Status s = CheckWirePath("a/../\x1b[2J");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find('\x1b'), std::string::npos) << s.message();
}

TEST(Path, ParentOfAndBaseName) {
  EXPECT_EQ(ParentOf("a/b/c"), "a/b");
  EXPECT_EQ(ParentOf("a/b"), "a");
  EXPECT_EQ(ParentOf("a"), "");
  EXPECT_EQ(BaseName("a/b/c"), "c");
  EXPECT_EQ(BaseName("a"), "a");
  EXPECT_EQ(BaseName("dir/.hidden"), ".hidden");
}

TEST(Path, JoinPath) {
  EXPECT_EQ(JoinPath("/tmp/root", "a/b"), "/tmp/root/a/b");
  EXPECT_EQ(JoinPath("/tmp/root/", "a"), "/tmp/root/a");
  EXPECT_EQ(JoinPath("/tmp/root", ""), "/tmp/root");
  EXPECT_EQ(JoinPath("", "a/b"), "a/b");
  EXPECT_EQ(JoinPath("rel", "x"), "rel/x");
}

TEST(Path, PrintableLeavesPlainTextAndValidUtf8Alone) {
  EXPECT_EQ(Printable("plain/name.txt"), "plain/name.txt");
  EXPECT_EQ(Printable("with space"), "with space");
  EXPECT_EQ(Printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(Path, PrintableEscapesControlBytes) {
  EXPECT_EQ(Printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(Printable("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(Printable("\r"), "\\x0d");
  EXPECT_EQ(Printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(Printable(S("nul\0", 4)), "nul\\x00");
}

// Found by path_fuzz: U+009B is valid UTF-8 (C2 9B) and was passed
// through, yet a UTF-8 terminal reads it as CSI, the same as ESC [.
TEST(Path, PrintableEscapesC1ControlCharacters) {
  EXPECT_EQ(Printable("c1\xc2\x9b" "31m"), "c1\\xc2\\x9b31m");
  EXPECT_EQ(Printable("\xc2\x80"), "\\xc2\\x80");
  EXPECT_EQ(Printable("\xc2\x9f"), "\\xc2\\x9f");
  EXPECT_EQ(Printable("\xc2\xa0"), "\xc2\xa0");  // no-break space: printable
  EXPECT_EQ(Printable("\xc2\xa9"), "\xc2\xa9");  // copyright sign
}

TEST(Path, PrintableEscapesInvalidUtf8) {
  EXPECT_EQ(Printable("\xff"), "\\xff");
  EXPECT_EQ(Printable("a\xc3"), "a\\xc3");             // truncated sequence
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");      // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // UTF-16 surrogate
  EXPECT_EQ(Printable("\x80x"), "\\x80x");             // stray continuation
}

TEST(Path, PrintableOutputIsAlwaysSafe) {
  // No byte value survives as a control byte or as invalid UTF-8.
  for (int a = 0; a < 256; ++a) {
    for (int b : {0x00, 0x41, 0x80, 0xbf, 0xc3}) {
      std::string in{static_cast<char>(a), static_cast<char>(b)};
      std::string out = Printable(in);
      for (size_t i = 0; i < out.size();) {
        unsigned char c = static_cast<unsigned char>(out[i]);
        ASSERT_FALSE(c < 0x20 || c == 0x7f) << a << "," << b;
        size_t n = Utf8SequenceLength(out, i);
        ASSERT_GT(n, 0u) << a << "," << b;
        i += n;
      }
    }
  }
}

TEST(Path, PrintableKeepsDistinctNamesDistinct) {
  // A name spelling out an escape must not print like the byte it names.
  EXPECT_NE(Printable("\\x0a"), Printable("\n"));
  EXPECT_NE(Printable("\\xff"), Printable("\xff"));
}

TEST(Path, Utf8SequenceLengthOfValidSequences) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xc3\xa9", 0), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98\x80", 0), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xf4\x8f\xbf\xbf", 0), 4u);  // U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xef\xbf\xbf", 0), 3u);      // U+FFFF
  EXPECT_EQ(Utf8SequenceLength("x\xc3\xa9", 1), 2u);
}

TEST(Path, Utf8SequenceLengthOfInvalidSequences) {
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);              // continuation first
  EXPECT_EQ(Utf8SequenceLength("\xc3", 0), 0u);              // truncated at the end
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82", 0), 0u);          // truncated at the end
  EXPECT_EQ(Utf8SequenceLength("\xc3x", 0), 0u);             // not a continuation
  EXPECT_EQ(Utf8SequenceLength("\xc0\x80", 0), 0u);          // overlong NUL
  EXPECT_EQ(Utf8SequenceLength("\xe0\x80\xaf", 0), 0u);      // overlong
  EXPECT_EQ(Utf8SequenceLength("\xf0\x80\x80\xaf", 0), 0u);  // overlong
  EXPECT_EQ(Utf8SequenceLength("\xed\xa0\x80", 0), 0u);      // surrogate D800
  EXPECT_EQ(Utf8SequenceLength("\xed\xbf\xbf", 0), 0u);      // surrogate DFFF
  EXPECT_EQ(Utf8SequenceLength("\xf4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xf8\x88\x80\x80\x80", 0), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xff", 0), 0u);
}

}  // namespace
}  // namespace treesync
