#include "filter.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "fs_meta.h"
#include "manifest.h"
#include "path.h"

namespace treesync {

namespace {

enum Wild { kMatch, kNoMatch, kAbortAll, kAbortToStarStar };

// Matches one [...] class at *p against c; advances *p past it. False in
// *ok when the class is not closed (then '[' is an ordinary character).
bool ClassMatches(const char** pp, unsigned char c, bool* ok) {
  const char* p = *pp + 1;  // past '['
  bool negated = false;
  if (*p == '!' || *p == '^') {
    negated = true;
    ++p;
  }
  bool matched = false;
  bool first = true;
  unsigned char prev = 0;
  for (;; first = false) {
    unsigned char pc = static_cast<unsigned char>(*p);
    if (pc == 0) {
      *ok = false;
      return false;
    }
    if (pc == ']' && !first) break;
    if (pc == '\\' && p[1] != 0) {
      pc = static_cast<unsigned char>(*++p);
      if (pc == c) matched = true;
      prev = pc;
    } else if (pc == '-' && prev != 0 && p[1] != 0 && p[1] != ']') {
      unsigned char hi = static_cast<unsigned char>(*++p);
      if (hi == '\\' && p[1] != 0) hi = static_cast<unsigned char>(*++p);
      if (c >= prev && c <= hi) matched = true;
      prev = 0;
    } else if (pc == '[' && p[1] == ':') {
      const char* end = p + 2;
      while (*end != 0 && !(end[0] == ':' && end[1] == ']')) ++end;
      if (*end == 0) {
        if (pc == c) matched = true;
        prev = pc;
      } else {
        std::string name(p + 2, end);
        bool in = (name == "alpha" && std::isalpha(c)) || (name == "digit" && std::isdigit(c)) ||
                  (name == "alnum" && std::isalnum(c)) || (name == "upper" && std::isupper(c)) ||
                  (name == "lower" && std::islower(c)) || (name == "space" && std::isspace(c)) ||
                  (name == "punct" && std::ispunct(c)) || (name == "xdigit" && std::isxdigit(c)) ||
                  (name == "blank" && (c == ' ' || c == '\t')) ||
                  (name == "print" && std::isprint(c)) || (name == "graph" && std::isgraph(c)) ||
                  (name == "cntrl" && std::iscntrl(c));
        if (in) matched = true;
        p = end + 1;
        prev = 0;
      }
    } else {
      if (pc == c) matched = true;
      prev = pc;
    }
    ++p;
  }
  *pp = p;  // at the closing ']'
  *ok = true;
  return matched != negated;
}

// rsync's (and git's) wildmatch with '/' special: '*' and '?' and classes
// never match it, "**" does. The abort codes keep it polynomial: a '*'
// that failed with the rest of the text can't succeed further on.
Wild DoWild(const char* p, const char* t) {
  for (; *p != 0; ++t, ++p) {
    unsigned char tc = static_cast<unsigned char>(*t);
    if (tc == 0 && *p != '*') return kAbortAll;
    switch (*p) {
      case '\\':
        ++p;
        if (*p == 0) return kNoMatch;
        if (tc != static_cast<unsigned char>(*p)) return kNoMatch;
        continue;
      case '?':
        if (tc == '/') return kNoMatch;
        continue;
      case '*': {
        bool slash = false;
        if (*++p == '*') {
          while (*++p == '*') {
          }
          slash = true;
        }
        if (*p == 0) {
          if (!slash) {
            for (const char* k = t; *k != 0; ++k)
              if (*k == '/') return kAbortToStarStar;
          }
          return kMatch;
        }
        for (;; ++t) {
          if (*t == 0) break;
          Wild m = DoWild(p, t);
          if (m != kNoMatch) {
            if (!slash || m != kAbortToStarStar) return m;
          } else if (!slash && *t == '/') {
            return kAbortToStarStar;
          }
        }
        return kAbortAll;
      }
      case '[': {
        if (tc == '/') return kNoMatch;
        bool ok = false;
        const char* q = p;
        bool in = ClassMatches(&q, tc, &ok);
        if (!ok) {
          if (tc != '[') return kNoMatch;
          continue;
        }
        if (!in) return kNoMatch;
        p = q;
        continue;
      }
      default:
        if (tc != static_cast<unsigned char>(*p)) return kNoMatch;
        continue;
    }
  }
  return *t != 0 ? kNoMatch : kMatch;
}

// Calls line(text, number) for each line of in that holds a rule: CR LF
// ends taken off, blank lines and '#' or ';' comments skipped. Stops at the
// first line that returns false.
template <typename Line>
void ForEachRuleLine(std::istream& in, Line line) {
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (!line(text, number)) return;
  }
}

bool WildMatch(const std::string& pattern, const char* text) {
  return DoWild(pattern.c_str(), text) == kMatch;
}

// The pattern against text, as rsync's wildmatch_array with slash
// handling: 0 the whole text, -1 the text or any tail after a '/', N the
// last N components.
bool MatchWithSlashes(const FilterRule& r, const std::string& text) {
  auto match = [&](const char* s) {
    return r.wild ? WildMatch(r.pattern, s) : r.pattern == s;
  };
  if (r.slash_handling == 0) {
    // A leading "**/" may stand for no folder at all, as in rsync.
    return match(text.c_str()) ||
           (!r.anchored && r.pattern.compare(0, 3, "**/") == 0 &&
            WildMatch(r.pattern.substr(3), text.c_str()));
  }
  if (r.slash_handling < 0) {
    if (match(text.c_str())) return true;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '/' && match(text.c_str() + i + 1)) return true;
    }
    return false;
  }
  // The last N components (the whole text if it has no more).
  size_t start = text.size();
  int slashes = 0;
  while (start > 0) {
    if (text[start - 1] == '/' && ++slashes == r.slash_handling) break;
    --start;
  }
  return match(text.c_str() + start);
}

}  // namespace

Status MakeRule(FilterRule::Kind kind, const std::string& text, FilterRule* out) {
  FilterRule r;
  r.kind = kind;
  r.text = text;
  if (text.empty()) return Status::Usage("empty filter pattern");
  if (text.find('\0') != std::string::npos) return Status::Usage("filter pattern holds a NUL");
  if (text.size() > kMaxPatternBytes) {
    return Status::Usage("filter pattern longer than " + std::to_string(kMaxPatternBytes) +
                         " bytes");
  }
  if (kind == FilterRule::kPerFolder) {
    if (text.find('/') != std::string::npos || text.find('\\') != std::string::npos ||
        text == "." || text == ".." || IsReservedName(text)) {
      return Status::Usage("--filter-file takes a plain file name, not '" + Printable(text) +
                           "'");
    }
    *out = std::move(r);
    return Status::Ok();
  }
  std::string p = text;
  if (p.size() >= 4 && p.compare(p.size() - 4, 4, "/***") == 0) {
    r.with_contents = true;
    p.resize(p.size() - 4);
  } else if (p.size() > 1 && p.back() == '/') {
    r.folders_only = true;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
  }
  if (!p.empty() && p[0] == '/') {
    r.anchored = true;
    p.erase(0, 1);
  }
  if (p.empty() && !r.with_contents) return Status::Usage("filter pattern '" + text + "' names nothing");
  r.wild = p.find_first_of("*?[") != std::string::npos || r.with_contents;
  const bool wild2 = p.find("**") != std::string::npos || r.with_contents;
  const bool wild2_prefix = p.compare(0, 2, "**") == 0;
  int slashes = 0;
  for (char c : p) slashes += c == '/';
  if (r.with_contents) ++slashes;  // the "/" of "/***"
  r.name_only = !r.anchored && slashes == 0 && !wild2;
  if (r.anchored || r.name_only) {
    r.slash_handling = 0;
  } else if (!wild2) {
    r.slash_handling = slashes + 1;
  } else if (!wild2_prefix) {
    r.slash_handling = -1;
  } else {
    r.slash_handling = 0;
  }
  // A pattern without wildcards is compared as it is: its backslashes are
  // ordinary characters (rsync's rule).
  r.pattern = r.with_contents ? p + (p.empty() ? "**" : "/**") : p;
  *out = std::move(r);
  return Status::Ok();
}

bool RuleMatches(const FilterRule& r, const std::string& path, bool is_folder) {
  if (r.folders_only && !is_folder) return false;
  if (r.name_only) {
    size_t slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    return r.wild ? WildMatch(r.pattern, name.c_str()) : r.pattern == name;
  }
  if (MatchWithSlashes(r, path)) return true;
  if (r.with_contents && r.pattern.size() > 3) {
    // "dir/***" matches dir itself too.
    FilterRule base = r;
    base.pattern.resize(r.pattern.size() - 3);
    base.with_contents = false;
    if (base.slash_handling > 0) --base.slash_handling;
    base.wild = base.pattern.find_first_of("*?[") != std::string::npos;
    return MatchWithSlashes(base, path);
  }
  return false;
}

Status FilterList::AddRule(FilterRule rule) {
  if (rules_.size() >= kMaxFilterRules) {
    return Status::Usage("more than " + std::to_string(kMaxFilterRules) + " filter rules");
  }
  rules_.push_back(std::move(rule));
  return Status::Ok();
}

Status FilterList::AddPattern(bool include, const std::string& text) {
  FilterRule::Kind kind = include ? FilterRule::kInclude : FilterRule::kExclude;
  std::string p = text;
  if (p.compare(0, 2, "- ") == 0 || p.compare(0, 2, "+ ") == 0) {
    kind = p[0] == '+' ? FilterRule::kInclude : FilterRule::kExclude;
    p.erase(0, 2);
  }
  FilterRule r;
  TS_RETURN_IF_ERROR(MakeRule(kind, p, &r));
  return AddRule(std::move(r));
}

Status FilterList::AddPatternFile(bool include, const std::string& file) {
  std::ifstream in(platform::FsPath(file), std::ios::binary);
  if (!in) return Status::Usage("can't read " + Printable(file));
  Status result;
  ForEachRuleLine(in, [&](const std::string& line, int number) {
    Status s = AddPattern(include, line);
    if (!s.ok()) {
      result = Status::Usage(Printable(file) + ":" + std::to_string(number) + ": " + s.message());
    }
    return s.ok();
  });
  if (!result.ok()) return result;
  if (in.bad()) return Status::Usage("can't read " + Printable(file));
  return Status::Ok();
}

Status FilterList::AddPerFolderFile(const std::string& name) {
  FilterRule r;
  TS_RETURN_IF_ERROR(MakeRule(FilterRule::kPerFolder, name, &r));
  return AddRule(std::move(r));
}

std::vector<std::string> FilterList::PerFolderFiles() const {
  std::vector<std::string> names;
  for (const FilterRule& r : rules_) {
    if (r.kind == FilterRule::kPerFolder) names.push_back(r.text);
  }
  return names;
}

void ParseRuleFile(const std::string& text, std::vector<FilterRule>* rules, bool* clear,
                   std::vector<std::string>* problems) {
  std::istringstream in(text);
  ForEachRuleLine(in, [&](std::string line, int number) {
    if (line == "!") {
      *clear = true;
      rules->clear();
      return true;
    }
    FilterRule::Kind kind = FilterRule::kExclude;
    if (line.compare(0, 2, "- ") == 0 || line.compare(0, 2, "+ ") == 0) {
      kind = line[0] == '+' ? FilterRule::kInclude : FilterRule::kExclude;
      line.erase(0, 2);
    }
    FilterRule r;
    Status s = MakeRule(kind, line, &r);
    if (!s.ok() || rules->size() >= kMaxFilterRules) {
      if (problems != nullptr) {
        problems->push_back("line " + std::to_string(number) + ": " +
                            (s.ok() ? "too many rules" : s.message()));
      }
      return true;
    }
    rules->push_back(std::move(r));
    return true;
  });
}

void Filter::AddList(FilterList list, std::string prefix, bool binding) {
  for (const std::string& name : list.PerFolderFiles()) {
    bool known = false;
    for (const std::string& n : rule_files_) known = known || n == name;
    if (!known) rule_files_.push_back(name);
  }
  lists_.push_back({std::move(list), std::move(prefix), binding});
}

int Filter::Judge(const List& l, const std::string& path, bool is_folder,
                  const FolderRules* here) const {
  const std::string full = l.prefix.empty() ? path : l.prefix + "/" + path;
  for (const FilterRule& r : l.list.rules()) {
    if (r.kind != FilterRule::kPerFolder) {
      if (RuleMatches(r, full, is_folder)) return r.kind == FilterRule::kExclude ? 1 : 2;
      continue;
    }
    // The per-folder rules, deepest folder first; each anchored at the
    // folder holding its file.
    for (const FolderRules* f = here; f != nullptr; f = f->parent.get()) {
      const FolderRules::File* file = nullptr;
      for (const FolderRules::File& x : f->files) {
        if (x.name == r.text) file = &x;
      }
      if (file == nullptr) continue;
      const std::string rel = f->above_root ? (f->below.empty() ? path : f->below + "/" + path)
                              : f->folder.empty() ? path
                                                  : path.substr(f->folder.size() + 1);
      for (const FilterRule& fr : file->rules) {
        if (RuleMatches(fr, rel, is_folder)) return fr.kind == FilterRule::kExclude ? 1 : 2;
      }
      if (file->clear) break;
    }
  }
  return 0;
}

bool Filter::Excluded(const std::string& path, bool is_folder, const FolderRules* here) const {
  for (const List& l : lists_) {
    if (Judge(l, path, is_folder, here) == 1) return true;
  }
  return false;
}

bool Filter::Refused(const std::string& path, bool is_folder, const FolderRules* here) const {
  for (const List& l : lists_) {
    if (l.binding && Judge(l, path, is_folder, here) == 1) return true;
  }
  return false;
}

}  // namespace treesync

namespace treesync {

bool ReadRuleFile(const std::string& path, std::string* text, std::vector<std::string>* problems) {
  platform::FileInfo info;
  if (!platform::Lstat(path, &info).ok() || info.type != platform::FileType::kRegular) return false;
  if (info.size > kMaxRuleFileBytes) {
    problems->push_back(BaseName(path) + ": rule file larger than " +
                        std::to_string(kMaxRuleFileBytes) + " bytes, not read");
    return false;
  }
  platform::File f;
  Status s = platform::File::OpenRead(path, &f);
  text->assign(static_cast<size_t>(info.size), '\0');
  size_t got = 0;
  while (s.ok() && got < text->size()) {
    size_t n = 0;
    s = f.ReadAt(got, &(*text)[got], text->size() - got, &n);
    if (n == 0) break;
    got += n;
  }
  if (!s.ok()) {
    problems->push_back(BaseName(path) + ": " + s.message());
    return false;
  }
  text->resize(got);
  return true;
}

bool PathGuard::Excluded(const std::string& path) {
  const std::string folder = ParentOf(path);
  if (!known_ || folder != folder_) {
    // Down from the root, as the walk went.
    std::shared_ptr<const FolderRules> here = filter_->root_rules();
    std::string at;
    bool excluded = false;
    size_t start = 0;
    for (;;) {
      std::vector<std::string> problems;
      const std::string full = JoinPath(root_, at);
      here = filter_->Enter(at, here,
                            [&](const std::string& name, std::string* text) {
                              return ReadRuleFile(JoinPath(full, name), text, &problems);
                            },
                            &problems);
      if (at == folder) break;
      size_t slash = folder.find('/', start);
      at = folder.substr(0, slash);
      if (filter_->Excluded(at, true, here.get())) {
        excluded = true;
        break;
      }
      if (slash == std::string::npos) {
        // One more round reads the rules of folder itself.
        start = folder.size();
      } else {
        start = slash + 1;
      }
    }
    folder_ = folder;
    rules_ = here;
    folder_excluded_ = excluded;
    known_ = true;
  }
  return folder_excluded_ || filter_->Excluded(path, false, rules_.get());
}

Status CheckServedPath(const Filter& own, const std::string& root, const std::string& sub,
                       std::shared_ptr<const FolderRules>* above) {
  above->reset();
  if (sub.empty() || own.empty()) return Status::Ok();
  std::shared_ptr<const FolderRules> here;  // in served-root terms
  std::string folder;                       // the ancestor being read
  size_t start = 0;
  for (;;) {
    std::vector<std::string> problems;
    const std::string full = JoinPath(root, folder);
    auto reader = [&](const std::string& name, std::string* text) {
      return ReadRuleFile(JoinPath(full, name), text, &problems);
    };
    auto read = own.Enter(folder, here, reader, &problems);
    if (read != here) {
      // The same rules again, seen from the transfer root.
      auto up = std::make_shared<FolderRules>(*read);
      up->above_root = true;
      up->below = folder.empty() ? sub : sub.substr(folder.size() + 1);
      up->parent = *above;
      *above = up;
    }
    here = read;
    size_t slash = sub.find('/', start);
    const std::string next = sub.substr(0, slash);
    if (own.Excluded(next, true, here.get())) {
      return Status::BadFolder(Printable(sub) + ": excluded by the server's filters");
    }
    if (slash == std::string::npos) return Status::Ok();
    folder = next;
    start = slash + 1;
  }
}

}  // namespace treesync
