//===- InputChecks.cpp - Refuse input MLIR would recurse too deeply on ---===//
//
// MLIR's parser and printer recurse once per level of bracket nesting, once per operator of an
// affine expression, and (when printing or diagnosing) once per level of the attributes and
// types an alias stands for. This scan follows MLIR's lexer closely enough to bound all three
// from above before the parser sees the text:
//  - `//` comments and string literals are skipped, except inside the body of a dialect
//    attribute or type (`#ttg.blocked<...>`), which MLIR scans for balanced punctuation without
//    knowing comments;
//  - `->` and `>=` do not close a bracket (outside dialect bodies, where MLIR's scan does the
//    same for `->` only);
//  - inside `affine_map<...>` / `affine_set<...>` every operator adds a level;
//  - an alias (`#name = ...`, `!name = ...`) nests as deep as its definition, and a use adds
//    that depth to the depth where it appears.
// Counting more than MLIR recurses on only refuses absurd input; counting less is a crash, so
// every approximation here errs on the high side.
//===----------------------------------------------------------------------===//
#include "driver/Driver.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <vector>

namespace tle {
namespace {

bool isIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c == '.';
}

class NestingScan {
public:
  explicit NestingScan(llvm::StringRef text) : text(text) {}

  std::optional<std::string> run() {
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
      char c = text[i];
      if (c == '\n') {
        ++line;
        ++i;
        continue;
      }
      if (c == '/' && !inDialectBody() && i + 1 < n && text[i + 1] == '/') {
        while (i < n && text[i] != '\n')
          ++i;
        continue;
      }
      if (c == '"') {
        i = skipString(i);
        continue;
      }
      if (c == '(' || c == '[' || c == '{' || c == '<') {
        ++depth;
        if (auto err = noteDepth())
          return err;
        ++i;
        continue;
      }
      if (c == '-' && i + 1 < n && text[i + 1] == '>') {
        i += 2;
        continue;
      }
      if (c == ')' || c == ']' || c == '}' ||
          (c == '>' && (inDialectBody() || i + 1 >= n || text[i + 1] != '='))) {
        close();
        ++i;
        continue;
      }
      if (c == '#' || c == '!') {
        size_t j = i + 1;
        while (j < n && isIdentifierChar(text[j]))
          ++j;
        if (auto err = symbol(c, text.slice(i + 1, j), j))
          return err;
        i = j;
        continue;
      }
      if (isIdentifierChar(c)) {
        size_t j = i + 1;
        while (j < n && isIdentifierChar(text[j]))
          ++j;
        if (auto err = identifier(text.slice(i, j), j))
          return err;
        i = j;
        continue;
      }
      if (inAffineBody() && (c == '+' || c == '-' || c == '*')) {
        ++affineOperators;
        if (auto err = noteDepth())
          return err;
      }
      ++i;
    }
    return resolveAliases();
  }

private:
  struct Use {
    unsigned depth; // nesting where the alias is used
    unsigned target;
    unsigned line;
  };
  struct Alias {
    std::string name;
    unsigned line;
    unsigned ownDepth = 0;      // deepest nesting inside the definition text
    std::vector<Use> uses;      // aliases used inside the definition (all defined earlier)
    unsigned depth = 0;         // resolved: own depth and what the used aliases bring
  };
  struct PendingUse {
    std::string name;
    unsigned depth;
    unsigned line;
  };

  bool inDialectBody() const { return dialectBodyBase >= 0; }
  bool inAffineBody() const { return affineBase >= 0; }
  unsigned effectiveDepth() const { return depth + affineOperators; }

  std::optional<std::string> noteDepth() {
    unsigned d = effectiveDepth();
    if (current >= 0 && d > aliases[current].ownDepth)
      aliases[current].ownDepth = d;
    if (d <= Limits::kMaxNestingDepth)
      return std::nullopt;
    if (affineOperators)
      return ("input has an affine map or set nested deeper than " +
              llvm::Twine(Limits::kMaxNestingDepth) +
              " levels, counting each operator as one (line " + llvm::Twine(line) +
              "); refusing to parse it")
          .str();
    return ("input nests brackets deeper than " + llvm::Twine(Limits::kMaxNestingDepth) +
            " levels (line " + llvm::Twine(line) + "); refusing to parse it")
        .str();
  }

  void close() {
    if (depth > 0)
      --depth;
    if (dialectBodyBase >= 0 && depth <= unsigned(dialectBodyBase))
      dialectBodyBase = -1;
    if (affineBase >= 0 && depth <= unsigned(affineBase)) {
      affineBase = -1;
      affineOperators = 0;
    }
  }

  size_t skipString(size_t i) const {
    const size_t n = text.size();
    for (++i; i < n; ++i) {
      if (text[i] == '\\')
        ++i;
      else if (text[i] == '"')
        return i + 1;
      else if (text[i] == '\n')
        return i; // MLIR strings end at a newline (with an error); keep counting after it
    }
    return n;
  }

  size_t skipSpaces(size_t j) const {
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'))
      ++j;
    return j;
  }

  /// `#name` or `!name` ending at `end`.
  std::optional<std::string> symbol(char sigil, llvm::StringRef name, size_t end) {
    if (name.empty())
      return std::nullopt;
    if (end < text.size() && text[end] == '<') {
      // A dialect attribute or type with a body (`#ttg.blocked<...>`, `#foo<...>`).
      if (dialectBodyBase < 0)
        dialectBodyBase = int(depth);
      return std::nullopt;
    }
    if (name.contains('.'))
      return std::nullopt; // a dialect attribute or type without a body
    std::string key = std::string(1, sigil) + name.str();
    size_t next = skipSpaces(end);
    if (depth == 0 && next < text.size() && text[next] == '=' &&
        (next + 1 >= text.size() || text[next + 1] != '=')) {
      // A definition; it lasts (at most) until the next one.
      current = int(aliases.size());
      aliases.push_back(Alias{key, line});
      aliasIndex[key] = unsigned(current);
      return std::nullopt;
    }
    unsigned d = effectiveDepth();
    auto it = aliasIndex.find(key);
    if (it == aliasIndex.end()) {
      // Not defined yet: only an operation's `loc(#alias)` may refer forward.
      pending.push_back(PendingUse{key, d, line});
    } else if (current >= 0 && int(it->second) < current) {
      aliases[current].uses.push_back(Use{d, it->second, line});
    } else {
      topUses.push_back(Use{d, it->second, line});
    }
    return std::nullopt;
  }

  std::optional<std::string> identifier(llvm::StringRef word, size_t end) {
    if (word == "array") {
      // MLIR 22's parser asserts on a dense array of `index` (it asks index for a bit width).
      size_t next = skipSpaces(end);
      if (next < text.size() && text[next] == '<') {
        size_t type = skipSpaces(next + 1);
        size_t typeEnd = type;
        while (typeEnd < text.size() && isIdentifierChar(text[typeEnd]))
          ++typeEnd;
        if (text.slice(type, typeEnd) == "index")
          return ("input has a dense array of index (line " + llvm::Twine(line) +
                  "), which MLIR's parser cannot read safely; refusing to parse it")
              .str();
      }
      return std::nullopt;
    }
    if ((word == "affine_map" || word == "affine_set") && affineBase < 0) {
      size_t next = skipSpaces(end);
      if (next < text.size() && text[next] == '<')
        affineBase = int(depth);
      return std::nullopt;
    }
    if (inAffineBody() && (word == "floordiv" || word == "ceildiv" || word == "mod")) {
      ++affineOperators;
      return noteDepth();
    }
    return std::nullopt;
  }

  std::optional<std::string> tooDeep(const Alias &alias, unsigned d, unsigned useLine) {
    return ("input uses alias '" + alias.name + "' (defined on line " + llvm::Twine(alias.line) +
            ") where it nests " + llvm::Twine(d) + " levels deep (line " + llvm::Twine(useLine) +
            "); TLE accepts at most " + llvm::Twine(Limits::kMaxNestingDepth))
        .str();
  }

  std::optional<std::string> resolveAliases() {
    // Definitions only use earlier definitions, so one pass in order resolves them all.
    for (Alias &alias : aliases) {
      alias.depth = alias.ownDepth;
      for (const Use &use : alias.uses) {
        unsigned d = use.depth + aliases[use.target].depth;
        if (d > Limits::kMaxNestingDepth)
          return tooDeep(aliases[use.target], d, use.line);
        alias.depth = std::max(alias.depth, d);
      }
    }
    for (const PendingUse &use : pending) {
      auto it = aliasIndex.find(use.name);
      if (it != aliasIndex.end())
        topUses.push_back(Use{use.depth, it->second, use.line});
    }
    for (const Use &use : topUses) {
      unsigned d = use.depth + aliases[use.target].depth;
      if (d > Limits::kMaxNestingDepth)
        return tooDeep(aliases[use.target], d, use.line);
    }
    return std::nullopt;
  }

  llvm::StringRef text;
  unsigned line = 1;
  unsigned depth = 0;
  int dialectBodyBase = -1; // depth outside the outermost open dialect body
  int affineBase = -1;      // depth outside the open affine map/set
  unsigned affineOperators = 0;
  int current = -1; // alias definition being scanned
  std::vector<Alias> aliases;
  llvm::StringMap<unsigned> aliasIndex;
  std::vector<Use> topUses;
  std::vector<PendingUse> pending;
};

} // namespace

std::optional<std::string> checkInputSafety(llvm::StringRef input) {
  if (input.size() > Limits::kMaxInputBytes)
    return ("input is " + llvm::Twine(input.size()) + " bytes; TLE accepts at most " +
            llvm::Twine(Limits::kMaxInputBytes))
        .str();
  size_t nul = input.find('\0');
  if (nul != llvm::StringRef::npos)
    return ("input contains a NUL byte (offset " + llvm::Twine(nul) +
            "): binary data, not MLIR text")
        .str();
  return NestingScan(input).run();
}

std::optional<std::string> checkPipelineSafety(llvm::StringRef pipeline) {
  if (pipeline.size() > Limits::kMaxPipelineBytes)
    return ("pass pipeline is " + llvm::Twine(pipeline.size()) + " bytes; TLE accepts at most " +
            llvm::Twine(Limits::kMaxPipelineBytes))
        .str();
  size_t nul = pipeline.find('\0');
  if (nul != llvm::StringRef::npos)
    return ("pass pipeline contains a NUL byte (offset " + llvm::Twine(nul) + ")").str();
  unsigned depth = 0;
  for (char c : pipeline) {
    if (c == '(' || c == '{' || c == '[') {
      if (++depth > Limits::kMaxPipelineNesting)
        return ("pass pipeline nests deeper than " + llvm::Twine(Limits::kMaxPipelineNesting) +
                " levels")
            .str();
    } else if ((c == ')' || c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

} // namespace tle
