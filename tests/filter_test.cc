#include "filter.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "test_util.h"
#include "walk.h"

namespace treesync {
namespace {

bool Matches(const std::string& pattern, const std::string& path, bool is_folder = false) {
  FilterRule r;
  EXPECT_TRUE(MakeRule(FilterRule::kExclude, pattern, &r).ok()) << pattern;
  return RuleMatches(r, path, is_folder);
}

TEST(Filter, PatternWithoutSlashMatchesTheLastComponentAnywhere) {
  EXPECT_TRUE(Matches("*.o", "a/b/x.o"));
  EXPECT_TRUE(Matches("build", "x/build", true));
  EXPECT_FALSE(Matches("*.o", "a.o/x"));
  EXPECT_FALSE(Matches("b*", "ab"));
}

TEST(Filter, LeadingSlashAnchorsAtTheRoot) {
  EXPECT_TRUE(Matches("/build", "build", true));
  EXPECT_FALSE(Matches("/build", "x/build", true));
  EXPECT_TRUE(Matches("/*", "a"));
  EXPECT_FALSE(Matches("/*", "a/b"));
}

TEST(Filter, InnerSlashMatchesTheLastComponentsOnly) {
  EXPECT_TRUE(Matches("a/b", "a/b"));
  EXPECT_TRUE(Matches("a/b", "x/a/b"));
  EXPECT_FALSE(Matches("a/b", "xa/b"));
  EXPECT_FALSE(Matches("a/b", "a/b/c"));
  EXPECT_TRUE(Matches("*/x", "node_modules/x", true));
}

TEST(Filter, SingleStarStopsAtSlashesDoubleStarCrossesThem) {
  EXPECT_FALSE(Matches("/a*c", "ab/c"));
  EXPECT_TRUE(Matches("/a**c", "ab/c"));
  EXPECT_TRUE(Matches("deep/**/e.txt", "deep/a/b/e.txt"));
  EXPECT_FALSE(Matches("a/**/c.txt", "a/c.txt"));
  // A leading "**/" may stand for no folder at all.
  EXPECT_TRUE(Matches("**/foo/bar", "foo/bar"));
  EXPECT_TRUE(Matches("**/foo/bar", "x/foo/bar"));
}

TEST(Filter, TrailingSlashMatchesFoldersOnly) {
  EXPECT_TRUE(Matches("build/", "build", true));
  EXPECT_FALSE(Matches("build/", "build", false));
}

TEST(Filter, TripleStarMatchesTheFolderAndEverythingInIt) {
  EXPECT_TRUE(Matches("deep/***", "deep", true));
  EXPECT_TRUE(Matches("deep/***", "deep/a/b"));
  EXPECT_TRUE(Matches("deep/***", "x/deep/a"));
  EXPECT_FALSE(Matches("deep/***", "deeper"));
}

TEST(Filter, ClassesQuestionMarksAndEscapes) {
  EXPECT_TRUE(Matches("[x]", "x"));
  EXPECT_FALSE(Matches("[x]", "[x]"));
  EXPECT_TRUE(Matches("\\[x\\]", "[x]"));
  EXPECT_TRUE(Matches("a\\*b", "a*b"));
  EXPECT_FALSE(Matches("a\\*b", "axb"));
  EXPECT_TRUE(Matches("q?", "qq"));
  EXPECT_FALSE(Matches("q?", "q"));
  EXPECT_TRUE(Matches("[!a-m]*", "zeta"));
  EXPECT_FALSE(Matches("[!a-m]*", "beta"));
  EXPECT_TRUE(Matches("[[:upper:]]*", "Upper"));
  EXPECT_FALSE(Matches("[[:upper:]]*", "upper"));
  // Without a wildcard a backslash is an ordinary character.
  EXPECT_TRUE(Matches("back\\slash", "back\\slash"));
}

TEST(Filter, ManyStarsStayFastOnLongNames) {
  std::string name(4000, 'a');
  EXPECT_FALSE(Matches("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
  EXPECT_FALSE(Matches("**a**a**a**a**a**a**a**a**a**b", name + "/" + name));
}

TEST(Filter, FirstMatchingRuleWinsInCommandLineOrder) {
  FilterList l;
  ASSERT_TRUE(l.AddPattern(true, "keep.txt").ok());
  ASSERT_TRUE(l.AddPattern(false, "*.txt").ok());
  Filter f;
  f.AddList(l);
  EXPECT_FALSE(f.Excluded("a/keep.txt", false, nullptr));
  EXPECT_TRUE(f.Excluded("a/other.txt", false, nullptr));
  EXPECT_FALSE(f.Excluded("a/other.c", false, nullptr));
  // "- " and "+ " prefixes override the option.
  FilterList p;
  ASSERT_TRUE(p.AddPattern(false, "+ *.txt").ok());
  ASSERT_TRUE(p.AddPattern(false, "*").ok());
  Filter g;
  g.AddList(p);
  EXPECT_FALSE(g.Excluded("x.txt", false, nullptr));
  EXPECT_TRUE(g.Excluded("x.c", false, nullptr));
}

TEST(Filter, ListsJudgeOnTheirOwnAndABindingListRefuses) {
  FilterList server, client;
  ASSERT_TRUE(server.AddPattern(false, "/sub/secret").ok());
  ASSERT_TRUE(client.AddPattern(true, "secret").ok());
  Filter f;
  f.AddList(server, "sub", /*binding=*/true);  // the client pulls sub
  f.AddList(client);
  // The client's include can't undo the server's exclude.
  EXPECT_TRUE(f.Excluded("secret", false, nullptr));
  EXPECT_TRUE(f.Refused("secret", false, nullptr));
  FilterList mine;
  ASSERT_TRUE(mine.AddPattern(false, "*.o").ok());
  Filter c;
  c.AddList(mine);
  EXPECT_TRUE(c.Excluded("x.o", false, nullptr));
  EXPECT_FALSE(c.Refused("x.o", false, nullptr));
}

TEST(Filter, RuleFilesRefuseBadNamesAndBadPatterns) {
  FilterList l;
  EXPECT_EQ(l.AddPerFolderFile("a/b").kind(), ErrorKind::kUsage);
  EXPECT_EQ(l.AddPerFolderFile("..").kind(), ErrorKind::kUsage);
  EXPECT_EQ(l.AddPattern(false, "").kind(), ErrorKind::kUsage);
  EXPECT_EQ(l.AddPattern(false, std::string(kMaxPatternBytes + 1, 'a')).kind(),
            ErrorKind::kUsage);
  EXPECT_EQ(l.AddPatternFile(false, "/nonexistent/list").kind(), ErrorKind::kUsage);
}

TEST(Filter, PatternFilesSkipCommentsAndBlankLines) {
  test::TempFolder t;
  test::WriteFile(t.Join("list"), "# comment\n\n; also\n*.o\r\n+ keep.o\n");
  FilterList l;
  ASSERT_TRUE(l.AddPatternFile(false, t.Join("list")).ok());
  ASSERT_EQ(l.rules().size(), 2u);
  EXPECT_EQ(l.rules()[0].text, "*.o");
  EXPECT_EQ(l.rules()[1].kind, FilterRule::kInclude);
}

TEST(Filter, WalkLeavesOutExcludedEntriesAndNeverEntersExcludedFolders) {
  test::TempFolder t;
  test::WriteFile(t.Join("a.o"), "");
  test::WriteFile(t.Join("a.c"), "");
  test::WriteFile(t.Join("build/x.c"), "");
  test::WriteFile(t.Join("sub/.ignore"), "- *.c\n+ keep\n- /only\n");
  test::WriteFile(t.Join("sub/y.c"), "");
  test::WriteFile(t.Join("sub/only"), "");
  test::WriteFile(t.Join("sub/deeper/only"), "");
  test::WriteFile(t.Join("sub/deeper/z.c"), "");
  FilterList l;
  ASSERT_TRUE(l.AddPattern(false, "*.o").ok());
  ASSERT_TRUE(l.AddPattern(false, "build/").ok());
  ASSERT_TRUE(l.AddPerFolderFile(".ignore").ok());
  Filter f;
  f.AddList(l);
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w, &f).ok());
  std::vector<std::string> paths;
  for (const Entry& e : w.entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a.c", "sub", "sub/.ignore", "sub/deeper",
                                             "sub/deeper/only"}));
  EXPECT_TRUE(w.problems.empty());
}

TEST(Filter, ServedPathThroughAnExcludedFolderIsRefused) {
  test::TempFolder t;
  test::WriteFile(t.Join("pub/x"), "");
  test::WriteFile(t.Join("priv/x"), "");
  test::WriteFile(t.Join("pub/.ignore"), "- hidden\n");
  test::WriteFile(t.Join("pub/hidden/y"), "");
  FilterList l;
  ASSERT_TRUE(l.AddPattern(false, "/priv").ok());
  ASSERT_TRUE(l.AddPerFolderFile(".ignore").ok());
  Filter own;
  own.AddList(l);
  std::shared_ptr<const FolderRules> above;
  EXPECT_TRUE(CheckServedPath(own, t.path(), "pub", &above).ok());
  EXPECT_EQ(CheckServedPath(own, t.path(), "priv", &above).kind(), ErrorKind::kBadFolder);
  // Excluded by a rule file in a folder on the way.
  EXPECT_EQ(CheckServedPath(own, t.path(), "pub/hidden", &above).kind(), ErrorKind::kBadFolder);
}

}  // namespace
}  // namespace treesync
