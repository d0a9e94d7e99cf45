// Filters: which entries a transfer leaves out, with rsync's rules and
// pattern meaning (docs/PROTOCOL.md "Rules" says it exactly; the rsync
// comparison test checks it against rsync itself). The sending side leaves
// excluded entries out of its walk and never descends into an excluded
// folder; the receiving side neither applies nor deletes them (unless
// --delete-excluded).
#ifndef TREESYNC_FILTER_H_
#define TREESYNC_FILTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

// Most rules one list may hold, and the longest pattern: bounds what a
// hostile peer's Settings frame can make us match against every entry.
constexpr size_t kMaxFilterRules = 4096;
constexpr size_t kMaxPatternBytes = 4096;
// A per-folder rule file larger than this is not read (the folder is then
// a gap: its listing is incomplete, so nothing in it is deleted).
constexpr uint64_t kMaxRuleFileBytes = 1 << 20;

struct FilterRule {
  enum Kind : uint8_t {
    kExclude = 1,
    kInclude = 2,
    // Read the rule file named text in every folder of the sending side
    // (rsync's dir-merge): its rules apply to that folder and below, the
    // deeper folder's first, at this rule's place in the list.
    kPerFolder = 3,
  };
  Kind kind = kExclude;
  std::string text;  // the pattern (or file name) as given, prefix removed
  // Parsed from text (patterns only).
  std::string pattern;  // without the leading '/', trailing '/' or "/***"
  bool anchored = false;       // leading '/': at the list's root only
  bool folders_only = false;   // trailing '/'
  bool with_contents = false;  // trailing "/***": the folder and all below
  bool wild = false;           // has * ? or [: else compared literally
  int slash_handling = 0;      // rsync's: 0 whole path, -1 any tail, N last N parts
  bool name_only = false;      // no '/' and no "**": the last component
};

// Makes a rule of kind from text, checking it: kUsage for an empty
// pattern or name, a NUL, a pattern over kMaxPatternBytes, or a per-folder
// file name that is not a plain name.
Status MakeRule(FilterRule::Kind kind, const std::string& text, FilterRule* out);

// Whether rule (a pattern) matches path, relative to the rule's root: the
// transfer root, or the folder holding the rule file. REQUIRES: path is a
// wire path (no leading '/').
bool RuleMatches(const FilterRule& rule, const std::string& path, bool is_folder);

// An ordered rule list: the options' rules, in command-line order.
class FilterList {
 public:
  // --exclude / --include PATTERN: "- " or "+ " before the pattern makes it
  // an exclude or an include whatever the option.
  Status AddPattern(bool include, const std::string& text);
  // --exclude-from / --include-from FILE: one pattern a line; blank lines and
  // lines starting with '#' or ';' are skipped. kUsage naming the file and
  // line when it can't be read or a line is refused.
  Status AddPatternFile(bool include, const std::string& file);
  // --filter-file NAME.
  Status AddPerFolderFile(const std::string& name);
  // A rule as it came over the wire.
  Status AddRule(FilterRule rule);

  bool empty() const { return rules_.empty(); }
  const std::vector<FilterRule>& rules() const { return rules_; }
  // The per-folder rule file names, in order.
  std::vector<std::string> PerFolderFiles() const;

 private:
  std::vector<FilterRule> rules_;
};

// Parses a rule file's text (a per-folder file): "- PATTERN" excludes,
// "+ PATTERN" includes, a line without either prefix excludes, '#' and ';'
// start comments, "!" drops the rules inherited from the folders above.
// Lines it can't take are skipped and named in *problems.
void ParseRuleFile(const std::string& text, std::vector<FilterRule>* rules, bool* clear,
                   std::vector<std::string>* problems);

// The per-folder rules in force in one folder: that folder's rule files'
// rules, then those of the folders above it.
struct FolderRules {
  std::string folder;  // wire path of the folder holding the files ("" root)
  // A folder above the transfer root (a server's, when a client names a
  // sub-folder): the transfer root's path from it; folder is then unused.
  bool above_root = false;
  std::string below;
  // One list per per-folder file name read there.
  struct File {
    std::string name;
    std::vector<FilterRule> rules;
    bool clear = false;  // "!": the folders above add nothing for this name
  };
  std::vector<File> files;
  std::shared_ptr<const FolderRules> parent;
};

// Everything that judges one side's entries: one or more lists, each with
// the path of the transfer root under the list's own root (a server's
// rules are about its whole served folder, a client's about the
// sub-folder it names). An entry is excluded when any list excludes it.
class Filter {
 public:
  // prefix: the transfer root under list's root ("" the same). binding:
  // this side's own rules (a server's), which the peer's entries must obey
  // too (Refused); a list that is not binding only says what this side
  // asks the peer to leave out and what its deletions spare.
  void AddList(FilterList list, std::string prefix = std::string(), bool binding = false);
  bool empty() const { return lists_.empty(); }
  // Whether any list names per-folder rule files.
  bool reads_rule_files() const { return !rule_files_.empty(); }
  const std::vector<std::string>& rule_files() const { return rule_files_; }

  // path: a wire path under the transfer root; here: the per-folder rules
  // in force in path's folder (null: none).
  bool Excluded(const std::string& path, bool is_folder, const FolderRules* here) const;
  // Whether a binding list excludes path: an entry a peer may not send.
  bool Refused(const std::string& path, bool is_folder, const FolderRules* here) const;

  // The per-folder rules in force in the transfer root before its own rule
  // files are read (those of the folders above it; null: none).
  void set_root_rules(std::shared_ptr<const FolderRules> r) { root_rules_ = std::move(r); }
  const std::shared_ptr<const FolderRules>& root_rules() const { return root_rules_; }

  // The per-folder rules in force in folder (a wire path), given those of its
  // parent and a reader of a rule file's text in folder. reader(name,
  // &text) returns false when there is no such file. problems: lines or
  // files that could not be taken, one line each.
  template <typename Reader>
  std::shared_ptr<const FolderRules> Enter(const std::string& folder,
                                           std::shared_ptr<const FolderRules> parent,
                                           Reader reader,
                                           std::vector<std::string>* problems) const {
    if (rule_files_.empty()) return parent;
    auto here = std::make_shared<FolderRules>();
    here->folder = folder;
    here->parent = std::move(parent);
    for (const std::string& name : rule_files_) {
      std::string text;
      if (!reader(name, &text)) continue;
      FolderRules::File f;
      f.name = name;
      ParseRuleFile(text, &f.rules, &f.clear, problems);
      here->files.push_back(std::move(f));
    }
    if (here->files.empty()) return here->parent;
    return here;
  }

 private:
  struct List {
    FilterList list;
    std::string prefix;
    bool binding = false;
  };
  // The first rule of list that matches: 1 exclude, 2 include, 0 none.
  int Judge(const List& list, const std::string& path, bool is_folder,
            const FolderRules* here) const;
  std::vector<List> lists_;
  std::vector<std::string> rule_files_;
  std::shared_ptr<const FolderRules> root_rules_;
};

// Answers, for paths a peer asks for by name, whether the filter excludes
// them or a folder on their way, reading the per-folder rule files along
// the way (those of the folder asked last are kept for the next ask).
class PathGuard {
 public:
  // root: the folder the paths are under. REQUIRES: filter outlives this.
  PathGuard(const Filter* filter, std::string root) : filter_(filter), root_(std::move(root)) {}
  // path: a wire path of a file below root.
  bool Excluded(const std::string& path);

 private:
  const Filter* filter_;
  std::string root_;
  std::string folder_;  // the folder asked last, and the rules in force in it
  std::shared_ptr<const FolderRules> rules_;
  bool folder_excluded_ = false;
  bool known_ = false;
};

// Reads the rule file at path into *text: false when there is none (or it
// is not a regular file: a symlink is never followed); a file that can't
// be read or is over kMaxRuleFileBytes is false with a line in *problems.
bool ReadRuleFile(const std::string& path, std::string* text, std::vector<std::string>* problems);

// For a server whose rules are `own` (prefix ""), asked for the sub-folder
// sub of the folder root: kBadFolder when sub or a folder on the way is
// excluded (the per-folder rule files of root and the folders on the way
// are read). *above: the per-folder rules those folders put in force in
// sub, for Filter::set_root_rules.
Status CheckServedPath(const Filter& own, const std::string& root, const std::string& sub,
                       std::shared_ptr<const FolderRules>* above);

}  // namespace treesync

#endif  // TREESYNC_FILTER_H_
