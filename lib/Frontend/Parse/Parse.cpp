//===- Parse.cpp - Parsing attnc source into the AST ----------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The entry points of the parser island: reading files, checking their
/// encoding, running the ANTLR lexer and parser, turning syntax errors into
/// readable diagnostics, guarding against input that nests deeply enough to
/// overflow the stack, and following imports.
///
/// Nothing thrown inside (ANTLR throws) escapes: every entry point catches
/// everything and reports an internal error instead.
///
/// Depth and time guards: ANTLR's parser, the AST builder and the checker
/// all recurse on nesting, and ANTLR's lookahead can explode. These checks
/// keep every input bounded:
///   1. a pre-scan of the tokens rejects brackets nested deeper than
///      kMaxNesting, longer runs of prefix operators, and more than
///      kMaxAngles `<` in one statement (`a < b` and `f<C>(x)` look alike,
///      which makes ANTLR's lookahead cost grow steeply with runs of `<`);
///   2. the parser itself counts the nesting of expressions, pipelines and
///      types on rule entry and stops at the limit (prefix `-` between
///      spaces, `^` chains, reductions: nesting without brackets);
///   3. adaptive prediction runs under a deterministic work budget, a
///      backstop for inputs that get past 1 and still make it slow;
///   4. after the parse, an iterative walk measures the depth of the tree,
///      which long left-associative chains (`a + a + ... + a`) make deep
///      without making the parser recurse.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Limits.h"

#include "ASTBuilder.h"

#include "AttnLexer.h"
#include "AttnParser.h"
#include "antlr4-runtime.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <set>

using namespace attnc;
using namespace attnc::parse;

using grammar::AttnLexer;
using grammar::AttnParser;

/// How deeply expressions, pipelines and types may nest.
static constexpr unsigned kMaxNesting = 256;

namespace {
/// Thrown by the parser's depth guard (after reporting) to stop the parse.
struct NestingLimitReached {};

/// Thrown by the prediction budget (before reporting) to stop the parse.
struct PredictionBudgetExceeded {};
} // namespace

//===----------------------------------------------------------------------===//
// Readable syntax errors
//===----------------------------------------------------------------------===//

/// `'text'` for a token, shortened and with control characters escaped;
/// `end of file` for EOF.
static std::string describeToken(antlr4::Token *token) {
  if (!token || token->getType() == antlr4::Token::EOF)
    return "end of file";
  std::string text = token->getText();
  std::string shown;
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && ++chars > 24) {
      shown += "...";
      break;
    }
    if (c == '\n') {
      shown += "\\n";
    } else if (c == '\t') {
      shown += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      static const char *hex = "0123456789abcdef";
      shown += "\\x";
      shown += hex[c >> 4];
      shown += hex[c & 15];
    } else {
      shown += static_cast<char>(c);
    }
  }
  return "'" + shown + "'";
}

namespace {
/// Describes a set of expected tokens for a user: the usual groups become
/// words ("an expression", "a name", "a declaration", ...), the rest are
/// quoted, and the list is kept short. (The stage keywords are also names,
/// so a stage is "a name" too.)
class ExpectedTokens {
public:
  ExpectedTokens(const antlr4::misc::IntervalSet &set,
                 const antlr4::dfa::Vocabulary &vocab)
      : vocab(vocab) {
    for (ssize_t type : set.toList())
      pending.insert(type);
  }

  std::string str() {
    std::vector<std::string> items;
    std::vector<ssize_t> identTokens = {AttnParser::ID};
    for (const char *word : {"sum", "softmax", "sigmoid", "none", "bias",
                             "score", "mask", "normalize", "value", "chunk",
                             "residual", "repeat", "seq", "branch", "route"})
      identTokens.push_back(literal(word));

    if (has(AttnParser::INT) && has(AttnParser::FLOAT) && has(literal("("))) {
      items.push_back("an expression");
      take(identTokens);
      take({AttnParser::INT, AttnParser::FLOAT, literal("inf"), literal("true"),
            literal("false"), literal("("), literal("{"), literal("attend"),
            literal("scan"), literal("-"), literal("!")});
    }
    if (has(AttnParser::ELEMTYPE) && has(AttnParser::ID)) {
      items.push_back("a type");
      take(identTokens);
      take({AttnParser::ELEMTYPE, literal("{")});
    }
    if (has(literal("fn")) && has(literal("arch"))) {
      items.push_back("a declaration");
      take({literal("import"), literal("const"), literal("type"), literal("fn"),
            literal("block"), literal("arch"), literal(";")});
    }
    if (has(literal("emit")) && has(literal("return"))) {
      items.push_back("a statement");
      take(identTokens);
      take(
          {literal("state"), literal("emit"), literal("return"), literal(";")});
    }
    if (has(AttnParser::ID)) {
      items.push_back("a name");
      take(identTokens);
    }
    for (ssize_t type : pending) {
      if (type == static_cast<ssize_t>(antlr4::Token::EOF)) {
        items.push_back("end of file");
        continue;
      }
      switch (type) {
      case AttnParser::INT:
        items.push_back("an integer");
        break;
      case AttnParser::FLOAT:
        items.push_back("a number");
        break;
      case AttnParser::STRING:
        items.push_back("a string");
        break;
      case AttnParser::ELEMTYPE:
        items.push_back("an element type");
        break;
      case AttnParser::ERRCHAR:
      case AttnParser::COMMENT:
      case AttnParser::WS:
        break;
      default:
        items.push_back(vocab.getLiteralName(static_cast<size_t>(type)));
        break;
      }
    }

    constexpr size_t kMaxItems = 6;
    if (items.size() > kMaxItems) {
      items.resize(kMaxItems);
      items.push_back("...");
    }
    if (items.empty())
      return "";
    if (items.size() == 1)
      return items[0];
    if (items.size() == 2)
      return items[0] + " or " + items[1];
    std::string result = "one of ";
    for (size_t i = 0; i < items.size(); ++i)
      result += (i ? ", " : "") + items[i];
    return result;
  }

private:
  /// The type of the literal token `'spelling'`.
  ssize_t literal(const std::string &spelling) const {
    std::string quoted = "'" + spelling + "'";
    for (size_t type = 1; type <= AttnParser::ERRCHAR; ++type)
      if (vocab.getLiteralName(type) == quoted)
        return static_cast<ssize_t>(type);
    return static_cast<ssize_t>(antlr4::Token::INVALID_TYPE);
  }
  bool has(ssize_t type) const { return pending.count(type) != 0; }
  void take(const std::vector<ssize_t> &types) {
    for (ssize_t type : types)
      pending.erase(type);
  }

  const antlr4::dfa::Vocabulary &vocab;
  std::set<ssize_t> pending;
};
} // namespace

/// The message for an unexpected token, or for a stray character.
static std::string unexpectedMessage(antlr4::Token *token,
                                     const std::string &expected) {
  if (token && token->getType() == AttnParser::ERRCHAR) {
    if (token->getText() == "\"")
      return "unterminated string literal";
    return "unexpected character " + describeToken(token);
  }
  std::string message = "unexpected " + describeToken(token);
  if (!expected.empty())
    message += "; expected " + expected;
  return message;
}

namespace {
/// DefaultErrorStrategy's recovery with messages written for users instead
/// of ANTLR's "mismatched input 'x' expecting {...}".
class ReadableErrorStrategy : public antlr4::DefaultErrorStrategy {
protected:
  void
  reportNoViableAlternative(antlr4::Parser *parser,
                            const antlr4::NoViableAltException &e) override {
    antlr4::Token *token = e.getOffendingToken();
    // The expected set belongs to where the decision started; it is only
    // meaningful when the decision failed at its first token.
    std::string expected;
    if (token && e.getStartToken() &&
        e.getStartToken()->getTokenIndex() == token->getTokenIndex())
      expected = describe(parser, e.getExpectedTokens());
    parser->notifyErrorListeners(token, unexpectedMessage(token, expected),
                                 std::make_exception_ptr(e));
  }

  void reportInputMismatch(antlr4::Parser *parser,
                           const antlr4::InputMismatchException &e) override {
    antlr4::Token *token = e.getOffendingToken();
    parser->notifyErrorListeners(
        token,
        unexpectedMessage(token, describe(parser, e.getExpectedTokens())),
        std::make_exception_ptr(e));
  }

  void
  reportFailedPredicate(antlr4::Parser *parser,
                        const antlr4::FailedPredicateException &e) override {
    antlr4::Token *token = e.getOffendingToken();
    parser->notifyErrorListeners(token, unexpectedMessage(token, ""),
                                 std::make_exception_ptr(e));
  }

  void reportUnwantedToken(antlr4::Parser *parser) override {
    if (inErrorRecoveryMode(parser))
      return;
    beginErrorCondition(parser);
    antlr4::Token *token = parser->getCurrentToken();
    parser->notifyErrorListeners(
        token,
        unexpectedMessage(token, describe(parser, getExpectedTokens(parser))),
        nullptr);
  }

  void reportMissingToken(antlr4::Parser *parser) override {
    if (inErrorRecoveryMode(parser))
      return;
    beginErrorCondition(parser);
    antlr4::Token *token = parser->getCurrentToken();
    std::string message = "expected " +
                          describe(parser, getExpectedTokens(parser)) +
                          " before " + describeToken(token);
    if (token && token->getType() == AttnParser::ERRCHAR)
      message = unexpectedMessage(token, "");
    parser->notifyErrorListeners(token, message, nullptr);
  }

private:
  static std::string describe(antlr4::Parser *parser,
                              const antlr4::misc::IntervalSet &set) {
    return ExpectedTokens(set, parser->getVocabulary()).str();
  }
};
} // namespace

namespace {
/// Turns lexer and parser errors into diagnostics at the offending token.
class DiagnosticErrorListener : public antlr4::BaseErrorListener {
public:
  DiagnosticErrorListener(std::string file, DiagnosticEngine &diags)
      : file(std::move(file)), diags(diags) {}

  void syntaxError(antlr4::Recognizer *recognizer, antlr4::Token *token,
                   size_t line, size_t charPositionInLine,
                   const std::string &msg, std::exception_ptr) override {
    std::string message = msg;
    if (dynamic_cast<antlr4::Lexer *>(recognizer)) {
      // "token recognition error at: 'x'": ERRCHAR makes this rare.
      std::string::size_type quote = msg.find('\'');
      message = "unexpected character" +
                (quote == std::string::npos ? "" : " " + msg.substr(quote));
    }
    diags.error(Location{file, static_cast<unsigned>(line),
                         static_cast<unsigned>(charPositionInLine + 1)},
                message);
    (void)token;
  }

private:
  std::string file;
  DiagnosticEngine &diags;
};
} // namespace

//===----------------------------------------------------------------------===//
// The depth guard
//===----------------------------------------------------------------------===//

/// The message for nesting beyond kMaxNesting in rule `ruleIndex`.
static std::string nestingMessage(size_t ruleIndex) {
  const char *what = "expression";
  if (ruleIndex == AttnParser::RulePipeline)
    what = "architecture";
  else if (ruleIndex == AttnParser::RuleType)
    what = "type";
  return std::string(what) + " nests too deeply (limit " +
         std::to_string(kMaxNesting) + ")";
}

static bool isNestingRule(size_t ruleIndex) {
  return ruleIndex == AttnParser::RuleExpr ||
         ruleIndex == AttnParser::RulePipeline ||
         ruleIndex == AttnParser::RuleType;
}

namespace {
/// The generated parser, stopping (after an error) when expressions,
/// pipelines or types nest deeper than kMaxNesting, so that the parser's
/// own recursion stays bounded whatever the input.
class GuardedParser : public AttnParser {
public:
  GuardedParser(antlr4::TokenStream *input, std::string file,
                DiagnosticEngine &diags)
      : AttnParser(input), fileName(std::move(file)), diags(diags) {}

  void enterRule(antlr4::ParserRuleContext *localctx, size_t state,
                 size_t ruleIndex) override {
    AttnParser::enterRule(localctx, state, ruleIndex);
    if (isNestingRule(ruleIndex))
      checkDepth(localctx, ruleIndex);
  }

  void enterRecursionRule(antlr4::ParserRuleContext *localctx, size_t state,
                          size_t ruleIndex, int precedence) override {
    AttnParser::enterRecursionRule(localctx, state, ruleIndex, precedence);
    if (isNestingRule(ruleIndex))
      checkDepth(localctx, ruleIndex);
  }

private:
  void checkDepth(antlr4::ParserRuleContext *ctx, size_t ruleIndex) {
    unsigned depth = 0;
    for (antlr4::tree::ParseTree *node = ctx; node; node = node->parent) {
      auto *rule = dynamic_cast<antlr4::RuleContext *>(node);
      if (rule && rule->getRuleIndex() == ruleIndex)
        ++depth;
    }
    if (depth <= kMaxNesting)
      return;
    antlr4::Token *token = getCurrentToken();
    diags.error(
        Location{fileName, static_cast<unsigned>(token->getLine()),
                 static_cast<unsigned>(token->getCharPositionInLine() + 1)},
        nestingMessage(ruleIndex));
    throw NestingLimitReached();
  }

  std::string fileName;
  DiagnosticEngine &diags;
};
} // namespace

namespace {
/// ANTLR's adaptive prediction with a budget: the work of every lookahead
/// step (the configurations it advances) is counted, and the parse stops
/// once the total exceeds the budget. The grammar's `a < b` versus
/// `f<C>(x)` ambiguity makes the lookahead cost grow with a high power of
/// the nesting of `<` in a statement; no real program comes near the budget,
/// and the count is deterministic, so the same input always gets the same
/// answer.
class BudgetedSimulator : public antlr4::atn::ParserATNSimulator {
public:
  BudgetedSimulator(antlr4::Parser *parser,
                    antlr4::atn::ParserATNSimulator &base, uint64_t budget)
      : ParserATNSimulator(parser, parser->getATN(), base.decisionToDFA,
                           base.getSharedContextCache()),
        budget(budget) {}

protected:
  std::unique_ptr<antlr4::atn::ATNConfigSet>
  computeReachSet(antlr4::atn::ATNConfigSet *closure, size_t t,
                  bool fullCtx) override {
    work += closure->size();
    if (work > budget)
      throw PredictionBudgetExceeded();
    return ParserATNSimulator::computeReachSet(closure, t, fullCtx);
  }

private:
  uint64_t work = 0;
  uint64_t budget;
};
} // namespace

/// The prediction budget of a file: a base plus a share per token. A cold
/// parse of the design document's examples costs about 7,500 (the DFA cache
/// makes repeated shapes nearly free); a budget of 1,000,000 is spent in
/// about two seconds.
static constexpr uint64_t kPredictionBudgetBase = 1000000;
static constexpr uint64_t kPredictionBudgetPerToken = 20;

/// How many `<` one expression may hold. `a < b` and `f<C = 4>(x)` look
/// the same until a `>` and `(` come, so ANTLR's lookahead explores both
/// readings; its cost grows with the cube of a run of `<`, and hundreds of
/// them would make the parse seem to hang.
static constexpr unsigned kMaxAngles = 32;

/// True for the tokens that end any expression before them (`;` and the
/// keywords that start statements and declarations), so that a lookahead
/// never runs across them. `=` is handled by the caller.
static bool endsExpressions(const std::string &text) {
  static const char *const words[] = {";",    "import", "const", "type",
                                      "fn",   "block",  "arch",  "state",
                                      "emit", "return"};
  for (const char *word : words)
    if (text == word)
      return true;
  return false;
}

/// Check 1: brackets nested deeper than kMaxNesting, a run of more than
/// kMaxNesting prefix operators, or more than kMaxAngles `<` in one
/// statement at one bracket level. Reports the first
/// offending token.
static bool preScanNesting(const std::vector<antlr4::Token *> &tokens,
                           const std::string &file, DiagnosticEngine &diags) {
  unsigned prefixRun = 0;
  // The number of `<` in the current expression of each open bracket.
  std::vector<unsigned> angles{0};
  for (size_t i = 0; i < tokens.size(); ++i) {
    antlr4::Token *token = tokens[i];
    std::string text = token->getText();
    std::string message;
    if (text == "(" || text == "[" || text == "{") {
      angles.push_back(0);
      if (angles.size() - 1 > kMaxNesting)
        message = text == "{" ? "braces nest too deeply (limit " +
                                    std::to_string(kMaxNesting) + ")"
                              : nestingMessage(AttnParser::RuleExpr);
    } else if (text == ")" || text == "]" || text == "}") {
      if (angles.size() > 1)
        angles.pop_back();
    } else if (text == "<") {
      if (++angles.back() > kMaxAngles)
        message = "too many '<' in one expression (limit " +
                  std::to_string(kMaxAngles) + ")";
    } else if (endsExpressions(text)) {
      angles.back() = 0;
    } else if (text == "=") {
      // `x = ...` starts a statement, but `f<C = 4>` and `a, b = ...` do
      // not end the expression (or statement) before them.
      bool named = i >= 2 && (tokens[i - 2]->getText() == "<" ||
                              tokens[i - 2]->getText() == ",");
      if (!named)
        angles.back() = 0;
    }
    if (text == "-" || text == "!") {
      if (++prefixRun > kMaxNesting)
        message = nestingMessage(AttnParser::RuleExpr);
    } else {
      prefixRun = 0;
    }
    if (!message.empty()) {
      diags.error(
          Location{file, static_cast<unsigned>(token->getLine()),
                   static_cast<unsigned>(token->getCharPositionInLine() + 1)},
          message);
      return false;
    }
  }
  return true;
}

/// Check 3: the depth of the finished tree, measured without recursion.
static bool checkTreeDepth(antlr4::tree::ParseTree *root,
                           const std::string &file, DiagnosticEngine &diags) {
  struct Item {
    antlr4::tree::ParseTree *node;
    unsigned exprs, pipelines, types;
  };
  std::vector<Item> stack{{root, 0, 0, 0}};
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    auto *rule = dynamic_cast<antlr4::ParserRuleContext *>(item.node);
    if (!rule)
      continue;
    size_t index = rule->getRuleIndex();
    unsigned *counter = index == AttnParser::RuleExpr       ? &item.exprs
                        : index == AttnParser::RulePipeline ? &item.pipelines
                        : index == AttnParser::RuleType     ? &item.types
                                                            : nullptr;
    if (counter && ++*counter > kMaxNesting) {
      antlr4::Token *token = rule->getStart();
      diags.error(
          Location{file, static_cast<unsigned>(token->getLine()),
                   static_cast<unsigned>(token->getCharPositionInLine() + 1)},
          nestingMessage(index));
      return false;
    }
    for (antlr4::tree::ParseTree *child : rule->children)
      stack.push_back({child, item.exprs, item.pipelines, item.types});
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

/// The length of the well-formed UTF-8 sequence at `i`, or 0 when the bytes
/// there are not one (RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF).
static size_t utf8SequenceLength(const std::string &text, size_t i) {
  auto byte = [&](size_t k) -> unsigned {
    return k < text.size() ? static_cast<unsigned char>(text[k]) : 0x100;
  };
  auto isCont = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  unsigned b0 = byte(i);
  if (b0 < 0x80)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return isCont(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    unsigned b1 = byte(i + 1);
    if (!isCont(i + 1) || !isCont(i + 2))
      return 0;
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 >= 0xA0))
      return 0;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    unsigned b1 = byte(i + 1);
    if (!isCont(i + 1) || !isCont(i + 2) || !isCont(i + 3))
      return 0;
    if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 >= 0x90))
      return 0;
    return 4;
  }
  return 0;
}

/// Reports the first byte that is not valid UTF-8, or a NUL byte, at its
/// line and column (columns count characters, as ANTLR's do).
static bool checkEncoding(const std::string &text, const std::string &file,
                          DiagnosticEngine &diags) {
  unsigned line = 1, col = 1;
  for (size_t i = 0; i < text.size();) {
    size_t length = utf8SequenceLength(text, i);
    if (length == 0 || text[i] == '\0') {
      static const char *hex = "0123456789ABCDEF";
      unsigned char c = static_cast<unsigned char>(text[i]);
      std::string message = c == 0 ? std::string("unexpected NUL byte")
                                   : std::string("invalid UTF-8 byte 0x") +
                                         hex[c >> 4] + hex[c & 15];
      diags.error(Location{file, line, col}, message);
      return false;
    }
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += length;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Parsing one file
//===----------------------------------------------------------------------===//

/// Parses the text of one file. Returns false when an error was reported;
/// on success the builder holds the file's declarations and imports.
static bool parseText(const std::string &file, const std::string &text,
                      ASTBuilder &builder, DiagnosticEngine &diags) {
  if (!checkEncoding(text, file, diags))
    return false;

  unsigned errorsBefore = diags.getNumErrors();
  DiagnosticErrorListener listener(file, diags);
  antlr4::ANTLRInputStream input(text);
  AttnLexer lexer(&input);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();

  // A file of nothing but comments, whitespace and `;` defines nothing.
  bool empty = true;
  for (antlr4::Token *token : tokens.getTokens())
    if (token->getType() != antlr4::Token::EOF && token->getText() != ";")
      empty = false;
  if (empty) {
    diags.error(Location{file, 1, 1}, "file is empty: it defines nothing");
    return false;
  }

  if (!preScanNesting(tokens.getTokens(), file, diags))
    return false;

  GuardedParser parser(&tokens, file, diags);
  parser.removeErrorListeners();
  // setInterpreter deletes the generated interpreter, and the parser deletes
  // the budgeted one when it goes.
  auto *original = parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
  auto *simulator = new BudgetedSimulator(
      &parser, *original,
      kPredictionBudgetBase + kPredictionBudgetPerToken * tokens.size());
  parser.setInterpreter(simulator);

  AttnParser::FileContext *tree = nullptr;
  try {
    // Stage 1: fast SLL prediction that gives up at the first error ...
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    try {
      tree = parser.file();
    } catch (antlr4::ParseCancellationException &) {
      // ... stage 2: full LL with error reporting and recovery, so the
      // errors are exact and there can be several.
      tokens.seek(0);
      parser.setErrorHandler(std::make_shared<ReadableErrorStrategy>());
      parser.reset();
      parser.addErrorListener(&listener);
      parser.getInterpreter<antlr4::atn::ParserATNSimulator>()
          ->setPredictionMode(antlr4::atn::PredictionMode::LL);
      tree = parser.file();
    }
  } catch (NestingLimitReached &) {
    return false;
  } catch (PredictionBudgetExceeded &) {
    antlr4::Token *token = parser.getCurrentToken();
    diags.error(
        Location{file, static_cast<unsigned>(token->getLine()),
                 static_cast<unsigned>(token->getCharPositionInLine() + 1)},
        "this is too complex to parse: simplify the nesting of '<' "
        "(comparisons and const arguments) in it");
    return false;
  }
  if (diags.getNumErrors() != errorsBefore || !tree)
    return false;

  if (!checkTreeDepth(tree, file, diags))
    return false;
  builder.buildFile(tree);
  return diags.getNumErrors() == errorsBefore;
}

//===----------------------------------------------------------------------===//
// Files and imports
//===----------------------------------------------------------------------===//

/// A name for a path that is the same however the file is reached: the real
/// path when the file exists, else the absolute path without dots.
static std::string canonicalPath(const std::string &path) {
  llvm::SmallString<256> real;
  if (!llvm::sys::fs::real_path(path, real))
    return std::string(real);
  llvm::SmallString<256> absolute(path);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  return std::string(absolute);
}

namespace {
/// Parses a main file and, depth first, the files it imports.
class ModuleLoader {
public:
  ModuleLoader(Module &module, DiagnosticEngine &diags)
      : module(module), diags(diags) {}

  /// Reads and parses `path`. `written` is the name the user wrote (the
  /// import string, or the path itself); `importLoc` the import statement
  /// that asks for the file, null for the main file.
  void loadFile(const std::string &path, const std::string &written,
                const Location *importLoc) {
    std::string canonical = canonicalPath(path);
    if (checkCycle(canonical, written, importLoc) || done.count(canonical))
      return;

    std::string reason;
    std::optional<std::string> text = readFile(path, reason);
    if (!text) {
      if (importLoc)
        diags.error(*importLoc,
                    "cannot open imported file '" + written + "': " + reason);
      else
        diags.error(Location{path, 0, 0},
                    "cannot open file '" + path + "': " + reason);
      return;
    }
    loadText(path, std::move(*text), canonical, written);
  }

  /// Parses `text` as the contents of `file`, then its imports.
  void loadText(const std::string &file, std::string text,
                const std::string &canonical, const std::string &written) {
    done.insert(canonical);
    // A byte order mark is not part of the program.
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
      text.erase(0, 3);
    diags.addSource(file, text);

    ASTBuilder builder(file, diags);
    if (!parseText(file, text, builder, diags)) {
      module.files.push_back(file);
      return;
    }

    stack.push_back({canonical, written});
    for (const ImportRequest &import : builder.imports) {
      std::string resolved = import.path;
      if (!llvm::sys::path::is_absolute(import.path)) {
        llvm::SmallString<256> joined(llvm::sys::path::parent_path(file));
        llvm::sys::path::append(joined, import.path);
        llvm::sys::path::remove_dots(joined, /*remove_dot_dot=*/true);
        resolved = std::string(joined);
      }
      loadFile(resolved, import.path, &import.loc);
    }
    stack.pop_back();

    for (DeclPtr &decl : builder.decls)
      module.decls.push_back(std::move(decl));
    module.files.push_back(file);
  }

private:
  /// Reports and returns true when `canonical` is being loaded already,
  /// i.e. this import closes a cycle.
  bool checkCycle(const std::string &canonical, const std::string &written,
                  const Location *importLoc) {
    for (size_t i = 0; i < stack.size(); ++i) {
      if (stack[i].first != canonical)
        continue;
      std::string chain;
      for (size_t k = i; k < stack.size(); ++k)
        chain += stack[k].second + " imports ";
      chain += written;
      diags.error(importLoc ? *importLoc : Location{},
                  "import cycle: " + chain);
      return true;
    }
    return false;
  }

  /// The text of a source file: a regular file, or a pipe (`<(...)`), of
  /// at most kMaxSourceBytes, so that `import "/dev/zero"` is an error and
  /// not an endless read.
  static std::optional<std::string> readFile(const std::string &path,
                                             std::string &reason) {
    auto failed = [&](std::error_code ec) -> std::nullopt_t {
      reason = ec.message();
      // Capitalised like strerror, which the user may know from other tools.
      if (!reason.empty())
        reason[0] = static_cast<char>(std::toupper(reason[0]));
      return std::nullopt;
    };
    llvm::sys::fs::file_status status;
    if (std::error_code ec = llvm::sys::fs::status(path, status))
      return failed(ec);
    llvm::sys::fs::file_type type = status.type();
    if (type == llvm::sys::fs::file_type::directory_file) {
      reason = "Is a directory";
      return std::nullopt;
    }
    std::string limit = std::to_string(kMaxSourceBytes >> 20) + " MiB";
    if (type != llvm::sys::fs::file_type::regular_file &&
        type != llvm::sys::fs::file_type::fifo_file) {
      reason = "Not a regular file";
      return std::nullopt;
    }
    if (status.getSize() > kMaxSourceBytes) {
      reason = "Larger than " + limit + ", the limit for a source file";
      return std::nullopt;
    }
    llvm::Expected<llvm::sys::fs::file_t> file =
        llvm::sys::fs::openNativeFileForRead(path);
    if (!file)
      return failed(llvm::errorToErrorCode(file.takeError()));
    std::string text;
    char chunk[65536];
    while (true) {
      llvm::Expected<size_t> read =
          llvm::sys::fs::readNativeFile(*file, llvm::MutableArrayRef(chunk));
      if (!read) {
        llvm::sys::fs::closeFile(*file);
        return failed(llvm::errorToErrorCode(read.takeError()));
      }
      if (*read == 0)
        break;
      text.append(chunk, *read);
      if (text.size() > kMaxSourceBytes) {
        llvm::sys::fs::closeFile(*file);
        reason = "Larger than " + limit + ", the limit for a source file";
        return std::nullopt;
      }
    }
    llvm::sys::fs::closeFile(*file);
    return text;
  }

  Module &module;
  DiagnosticEngine &diags;
  /// Files parsed or being parsed, by canonical path.
  std::set<std::string> done;
  /// The chain of files being loaded: canonical path, name as written.
  std::vector<std::pair<std::string, std::string>> stack;
};
} // namespace

/// Runs `load` with every exception turned into a diagnostic; returns the
/// module when no error was reported.
template <typename Fn>
static std::unique_ptr<Module> guardedLoad(const std::string &name,
                                           DiagnosticEngine &diags, Fn load) {
  unsigned errorsBefore = diags.getNumErrors();
  auto module = std::make_unique<Module>();
  module->mainFile = name;
  try {
    ModuleLoader loader(*module, diags);
    load(loader);
  } catch (const std::exception &e) {
    diags.error(Location{name, 0, 0},
                std::string("internal error in the parser: ") + e.what());
  } catch (...) {
    diags.error(Location{name, 0, 0},
                "internal error in the parser: unknown exception");
  }
  if (diags.getNumErrors() != errorsBefore)
    return nullptr;
  return module;
}

std::unique_ptr<Module> attnc::parseFile(const std::string &path,
                                         DiagnosticEngine &diags) {
  return guardedLoad(path, diags, [&](ModuleLoader &loader) {
    loader.loadFile(path, path, nullptr);
  });
}

std::unique_ptr<Module> attnc::parseString(const std::string &name,
                                           const std::string &text,
                                           DiagnosticEngine &diags) {
  return guardedLoad(name, diags, [&](ModuleLoader &loader) {
    loader.loadText(name, text, canonicalPath(name), name);
  });
}
