//===- ParseTest.cpp - Parse tree to AST mapping tests --------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Tests of the parser island: what AST each construct becomes, where its
/// nodes are, and which errors (with which positions) bad input gives. Also
/// covers the diagnostic format and the AST printer's basics.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/AST.h"
#include "attnc/Frontend/ASTPrinter.h"
#include "attnc/Frontend/Diagnostic.h"

#include "llvm/Support/Casting.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace attnc;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace {

/// Parses `text` as `test.attn`, collecting the printed diagnostics.
class ParseTest : public ::testing::Test {
protected:
  std::unique_ptr<Module> parse(const std::string &text,
                                const std::string &name = "test.attn") {
    return parseString(name, text, diags);
  }

  /// The first statement of the body of the first function.
  const Stmt &firstStmt(const Module &module) {
    const auto *fn = cast<FnDecl>(module.decls.front().get());
    return *fn->body.front();
  }

  /// The returned value of `fn f(...) = e`.
  const Expr &shortBody(const Module &module, size_t decl = 0) {
    const auto *fn = cast<FnDecl>(module.decls.at(decl).get());
    return *cast<ReturnStmt>(fn->body.front().get())->values.front();
  }

  std::string output;
  DiagnosticEngine diags{[this](const std::string &text) { output += text; }};
};

TEST_F(ParseTest, BinaryPrecedenceAndPositions) {
  auto module = parse("fn f(a, b, c: f32) = a + b * c ^ 2 ^ 3");
  ASSERT_TRUE(module) << output;
  const auto &add = cast<BinaryExpr>(shortBody(*module));
  EXPECT_EQ(add.op, BinaryOp::Add);
  // A binary expression sits at its operator; columns are 1-based.
  EXPECT_EQ(add.getLoc().line, 1u);
  EXPECT_EQ(add.getLoc().col, 24u);
  EXPECT_EQ(add.getLoc().file, "test.attn");
  EXPECT_EQ(cast<NameExpr>(*add.lhs).name, "a");
  EXPECT_EQ(add.lhs->getLoc().col, 22u);
  const auto &mul = cast<BinaryExpr>(*add.rhs);
  EXPECT_EQ(mul.op, BinaryOp::Mul);
  // `^` is right-associative: c ^ (2 ^ 3).
  const auto &pow = cast<BinaryExpr>(*mul.rhs);
  EXPECT_EQ(pow.op, BinaryOp::Pow);
  EXPECT_TRUE(isa<NameExpr>(*pow.lhs));
  EXPECT_EQ(cast<BinaryExpr>(*pow.rhs).op, BinaryOp::Pow);
}

TEST_F(ParseTest, UnaryComparisonAndLogicPrecedence) {
  auto module = parse("fn f(a, b: f32) = -a ^ 2 < b && !true || a - b >= 0");
  ASSERT_TRUE(module) << output;
  const auto &orExpr = cast<BinaryExpr>(shortBody(*module));
  EXPECT_EQ(orExpr.op, BinaryOp::Or);
  const auto &andExpr = cast<BinaryExpr>(*orExpr.lhs);
  EXPECT_EQ(andExpr.op, BinaryOp::And);
  const auto &lt = cast<BinaryExpr>(*andExpr.lhs);
  EXPECT_EQ(lt.op, BinaryOp::Lt);
  // `-a ^ 2` is -(a ^ 2).
  const auto &neg = cast<UnaryExpr>(*lt.lhs);
  EXPECT_EQ(neg.op, UnaryOp::Neg);
  EXPECT_EQ(cast<BinaryExpr>(*neg.operand).op, BinaryOp::Pow);
  EXPECT_EQ(cast<UnaryExpr>(*andExpr.rhs).op, UnaryOp::Not);
  EXPECT_TRUE(cast<BoolLitExpr>(*cast<UnaryExpr>(*andExpr.rhs).operand).value);
  const auto &ge = cast<BinaryExpr>(*orExpr.rhs);
  EXPECT_EQ(ge.op, BinaryOp::Ge);
  EXPECT_EQ(cast<BinaryExpr>(*ge.lhs).op, BinaryOp::Sub);
}

TEST_F(ParseTest, SubscriptMemberCallAndLiterals) {
  auto module = parse("fn f(q: f32[B, N], g: Mlp) = "
                      "dot<C = 4, 2>(q[b, i], g.W1) + 1.5 * inf + 7 + 1e-05");
  ASSERT_TRUE(module) << output;
  // ((((dot + 1.5 * inf) + 7) + 1e-05)
  const auto &outer = cast<BinaryExpr>(shortBody(*module));
  EXPECT_DOUBLE_EQ(cast<FloatLitExpr>(*outer.rhs).value, 1e-05);
  const auto &mid = cast<BinaryExpr>(*outer.lhs);
  EXPECT_EQ(cast<IntLitExpr>(*mid.rhs).value, 7);
  const auto &inner = cast<BinaryExpr>(*mid.lhs);
  const auto &call = cast<CallExpr>(*inner.lhs);
  EXPECT_EQ(call.callee, "dot");
  ASSERT_EQ(call.constArgs.size(), 2u);
  EXPECT_EQ(call.constArgs[0].name, "C");
  EXPECT_EQ(cast<IntLitExpr>(*call.constArgs[0].value).value, 4);
  EXPECT_EQ(call.constArgs[1].name, "");
  ASSERT_EQ(call.args.size(), 2u);
  const auto &sub = cast<SubscriptExpr>(*call.args[0]);
  EXPECT_EQ(cast<NameExpr>(*sub.base).name, "q");
  ASSERT_EQ(sub.indices.size(), 2u);
  EXPECT_EQ(cast<NameExpr>(*sub.indices[1]).name, "i");
  const auto &member = cast<MemberExpr>(*call.args[1]);
  EXPECT_EQ(member.member, "W1");
  EXPECT_EQ(cast<NameExpr>(*member.base).name, "g");
  const auto &scaled = cast<BinaryExpr>(*inner.rhs);
  EXPECT_DOUBLE_EQ(cast<FloatLitExpr>(*scaled.lhs).value, 1.5);
  double inf = cast<FloatLitExpr>(*scaled.rhs).value;
  EXPECT_TRUE(std::isinf(inf) && inf > 0);
}

TEST_F(ParseTest, ReduceBodyExtendsToTheRight) {
  auto module = parse("fn f(a, b: f32[N]) = sum(j < N) a[j] * b[j]\n"
                      "fn g(x: f32[C]) = topk(c < C, 8) x[c] + 1\n"
                      "fn h(x: f32[N]) = max(x) + sum(x)");
  ASSERT_TRUE(module) << output;
  const auto &sum = cast<ReduceExpr>(shortBody(*module, 0));
  EXPECT_EQ(sum.op, "sum");
  EXPECT_EQ(sum.index, "j");
  EXPECT_EQ(sum.indexLoc.col, 26u);
  EXPECT_EQ(cast<NameExpr>(*sum.extent).name, "N");
  EXPECT_FALSE(sum.param);
  // The body is the whole product, not just a[j].
  EXPECT_EQ(cast<BinaryExpr>(*sum.body).op, BinaryOp::Mul);

  const auto &topk = cast<ReduceExpr>(shortBody(*module, 1));
  EXPECT_EQ(topk.op, "topk");
  EXPECT_EQ(cast<IntLitExpr>(*topk.param).value, 8);
  EXPECT_EQ(cast<BinaryExpr>(*topk.body).op, BinaryOp::Add);

  // One-argument max/sum are calls, not reductions.
  const auto &add = cast<BinaryExpr>(shortBody(*module, 2));
  EXPECT_EQ(cast<CallExpr>(*add.lhs).callee, "max");
  EXPECT_EQ(cast<CallExpr>(*add.rhs).callee, "sum");
}

TEST_F(ParseTest, AttendClauses) {
  auto module = parse(R"(fn f(q, k, v: f32[B, H, N, D]) {
  out[b, h, i] = attend j < N {
    score dot(q[b, h, i], k[b, h, j])
    mask j <= i; normalize sigmoid(bias = -4.5)
    value v[b, h, j]
  }
  return out
})");
  ASSERT_TRUE(module) << output;
  const auto &def = cast<IndexedDefStmt>(firstStmt(*module));
  EXPECT_EQ(def.name, "out");
  ASSERT_EQ(def.indices.size(), 3u);
  EXPECT_EQ(def.indices[2].name, "i");
  EXPECT_FALSE(def.indices[2].extent);
  EXPECT_EQ(def.getLoc().line, 2u);
  EXPECT_EQ(def.getLoc().col, 3u);
  const auto &attend = cast<AttendExpr>(*def.value);
  EXPECT_EQ(attend.getLoc().col, 18u);
  EXPECT_EQ(attend.index, "j");
  EXPECT_EQ(attend.indexLoc.col, 25u);
  EXPECT_EQ(cast<NameExpr>(*attend.extent).name, "N");
  EXPECT_EQ(cast<CallExpr>(*attend.score).callee, "dot");
  EXPECT_EQ(cast<BinaryExpr>(*attend.mask).op, BinaryOp::Le);
  EXPECT_TRUE(attend.hasNormalizer);
  EXPECT_EQ(attend.normalizer.kind, Normalizer::Kind::Sigmoid);
  EXPECT_EQ(attend.normalizer.loc.line, 4u);
  const auto &bias = cast<UnaryExpr>(*attend.normalizer.bias);
  EXPECT_DOUBLE_EQ(cast<FloatLitExpr>(*bias.operand).value, 4.5);
  EXPECT_TRUE(isa<SubscriptExpr>(*attend.value));
}

TEST_F(ParseTest, AttendDuplicateAndMissingClauses) {
  // Missing clauses are the checker's business, not a parse error.
  auto ok = parse("fn f(x: f32[N]) = attend j < N { mask j < 3 }");
  ASSERT_TRUE(ok) << output;
  const auto &attend = cast<AttendExpr>(shortBody(*ok));
  EXPECT_FALSE(attend.score);
  EXPECT_FALSE(attend.value);
  EXPECT_FALSE(attend.hasNormalizer);
  EXPECT_EQ(attend.normalizer.kind, Normalizer::Kind::Softmax);

  auto bad = parse("fn f(x: f32[N]) = attend j < N {\n"
                   "  score 1.0\n"
                   "  score 2.0 value x[j]\n"
                   "}");
  EXPECT_FALSE(bad);
  EXPECT_EQ(diags.getNumErrors(), 1u);
  EXPECT_NE(output.find("test.attn:3:3: error: duplicate 'score' clause in "
                        "attend"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("test.attn:2:3: note:"), std::string::npos) << output;
}

TEST_F(ParseTest, ScanWithStateAndChunk) {
  auto module = parse(R"(fn f(k, v: f32[N, D], a: f32[N]) {
  out[t] = scan t < N chunk 16 {
    state S: f32[D, D] = 0
    S = a[t] * S + outer(v[t], k[t])
    S[d, e] = S[d, e] * 0.5
    emit S @ k[t]
  }
  return out
})");
  ASSERT_TRUE(module) << output;
  const auto &def = cast<IndexedDefStmt>(firstStmt(*module));
  const auto &scan = cast<ScanExpr>(*def.value);
  EXPECT_EQ(scan.index, "t");
  EXPECT_EQ(cast<NameExpr>(*scan.extent).name, "N");
  EXPECT_EQ(cast<IntLitExpr>(*scan.chunk).value, 16);
  ASSERT_EQ(scan.body.size(), 4u);
  const auto &state = cast<StateDeclStmt>(*scan.body[0]);
  EXPECT_EQ(state.name, "S");
  const auto &type = cast<TensorTypeExpr>(*state.type);
  EXPECT_EQ(type.elem, ElemType::F32);
  EXPECT_EQ(type.dims.size(), 2u);
  EXPECT_EQ(cast<IntLitExpr>(*state.init).value, 0);
  const auto &update = cast<LetStmt>(*scan.body[1]);
  ASSERT_EQ(update.names.size(), 1u);
  EXPECT_EQ(update.names[0].name, "S");
  EXPECT_EQ(cast<IndexedDefStmt>(*scan.body[2]).indices.size(), 2u);
  const auto &emit = cast<EmitStmt>(*scan.body[3]);
  EXPECT_EQ(cast<BinaryExpr>(*emit.value).op, BinaryOp::MatMul);
}

TEST_F(ParseTest, GroupTypesLiteralsAndDestructuring) {
  auto module = parse(R"(type Mlp = {W1: f32[Hid, D], W2: f32[D, Hid],}
fn f(W: Mlp, x: f32) {
  g1, g2 = grad(x, W)
  return {W1: g1, W2: g2}
})");
  ASSERT_TRUE(module) << output;
  const auto &alias = cast<TypeDecl>(*module->decls[0]);
  EXPECT_EQ(alias.getName(), "Mlp");
  const auto &group = cast<GroupTypeExpr>(*alias.type);
  ASSERT_EQ(group.members.size(), 2u);
  EXPECT_EQ(group.members[1].name, "W2");
  EXPECT_TRUE(isa<TensorTypeExpr>(*group.members[1].type));

  const auto &fn = cast<FnDecl>(*module->decls[1]);
  EXPECT_EQ(cast<NamedTypeExpr>(*fn.params[0].type).name, "Mlp");
  // `f32` alone is a scalar.
  EXPECT_TRUE(cast<TensorTypeExpr>(*fn.params[1].type).dims.empty());
  const auto &let = cast<LetStmt>(*fn.body[0]);
  ASSERT_EQ(let.names.size(), 2u);
  EXPECT_EQ(let.names[1].name, "g2");
  EXPECT_EQ(let.names[1].loc.col, 7u);
  const auto &ret = cast<ReturnStmt>(*fn.body[1]);
  const auto &lit = cast<GroupLitExpr>(*ret.values[0]);
  ASSERT_EQ(lit.fields.size(), 2u);
  EXPECT_EQ(lit.fields[0].name, "W1");
  EXPECT_EQ(cast<NameExpr>(*lit.fields[1].value).name, "g2");
}

TEST_F(ParseTest, ParamGroupsShareTheirTypeAndConstParams) {
  auto module = parse("fn f<H = 8, S = -0.5, D>(q, k, v: f32[B, H, N, D], "
                      "m: i1[N, N]) { return q }");
  ASSERT_TRUE(module) << output;
  const auto &fn = cast<FnDecl>(*module->decls[0]);
  ASSERT_EQ(fn.constParams.size(), 3u);
  EXPECT_EQ(fn.constParams[0].name, "H");
  ASSERT_TRUE(fn.constParams[0].defaultValue);
  EXPECT_TRUE(fn.constParams[0].defaultValue->isInt);
  EXPECT_EQ(fn.constParams[0].defaultValue->intValue, 8);
  EXPECT_FALSE(fn.constParams[1].defaultValue->isInt);
  EXPECT_DOUBLE_EQ(fn.constParams[1].defaultValue->floatValue, -0.5);
  EXPECT_FALSE(fn.constParams[2].defaultValue);

  ASSERT_EQ(fn.params.size(), 4u);
  EXPECT_EQ(fn.params[1].name, "k");
  EXPECT_EQ(fn.params[1].loc.col, 29u);
  EXPECT_EQ(fn.params[0].type.get(), fn.params[2].type.get());
  EXPECT_NE(fn.params[0].type.get(), fn.params[3].type.get());
  EXPECT_EQ(cast<TensorTypeExpr>(*fn.params[3].type).elem, ElemType::I1);
}

TEST_F(ParseTest, ShortFunctionFormIsOneReturn) {
  auto module = parse("const D = 64\nfn double(x: f32[N]) = x * 2.0");
  ASSERT_TRUE(module) << output;
  ASSERT_EQ(module->decls.size(), 2u);
  const auto &c = cast<ConstDecl>(*module->decls[0]);
  EXPECT_EQ(c.getName(), "D");
  EXPECT_EQ(cast<IntLitExpr>(*c.value).value, 64);
  const auto &fn = cast<FnDecl>(*module->decls[1]);
  EXPECT_EQ(fn.getLoc().line, 2u);
  EXPECT_EQ(fn.getLoc().col, 1u);
  ASSERT_EQ(fn.body.size(), 1u);
  const auto &ret = cast<ReturnStmt>(*fn.body[0]);
  ASSERT_EQ(ret.values.size(), 1u);
  EXPECT_EQ(cast<BinaryExpr>(*ret.values[0]).op, BinaryOp::Mul);
}

TEST_F(ParseTest, BlockAndArchStages) {
  auto module = parse(R"(block layer<D = 512, H = 8> {
  residual { rmsnorm -> project_qkv(H) -> attn linear(D) }
  repeat(2) { seq(linear(D), relu) }
}
arch net<L = 4>(x: f32[B, N, 64]) {
  layer<D = 64, 8> -> branch(clone(2), [linear(64), identity -> gelu], add)
  route(permute(0, 2, 1), linear(N), permute(0, 2, 1)) -> softmax
})");
  ASSERT_TRUE(module) << output;
  const auto &block = cast<BlockDecl>(*module->decls[0]);
  ASSERT_EQ(block.body.size(), 2u);
  const auto &residual = cast<ResidualStage>(*block.body[0]);
  ASSERT_EQ(residual.body.size(), 4u); // `->` is optional
  const auto &norm = cast<TermStage>(*residual.body[0]);
  EXPECT_EQ(norm.term.name, "rmsnorm");
  EXPECT_FALSE(norm.term.hasParens);
  const auto &qkv = cast<TermStage>(*residual.body[1]);
  EXPECT_TRUE(qkv.term.hasParens);
  ASSERT_EQ(qkv.term.args.size(), 1u);
  const auto &repeat = cast<RepeatStage>(*block.body[1]);
  EXPECT_EQ(cast<IntLitExpr>(*repeat.count).value, 2);
  const auto &seq = cast<SeqStage>(*repeat.body[0]);
  EXPECT_EQ(seq.parts.size(), 2u);

  const auto &arch = cast<ArchDecl>(*module->decls[1]);
  ASSERT_EQ(arch.params.size(), 1u);
  ASSERT_EQ(arch.body.size(), 4u);
  const auto &use = cast<TermStage>(*arch.body[0]);
  EXPECT_EQ(use.term.name, "layer");
  ASSERT_EQ(use.term.constArgs.size(), 2u);
  EXPECT_EQ(use.term.constArgs[0].name, "D");
  EXPECT_FALSE(use.term.hasParens);
  const auto &branch = cast<BranchStage>(*arch.body[1]);
  EXPECT_EQ(branch.fanout.name, "clone");
  EXPECT_EQ(branch.combiner.name, "add");
  ASSERT_EQ(branch.branches.size(), 2u);
  EXPECT_EQ(branch.branches[1].size(), 2u);
  const auto &route = cast<RouteStage>(*arch.body[2]);
  EXPECT_EQ(route.pre.size(), 1u);
  EXPECT_EQ(cast<TermStage>(*route.body[0]).term.name, "linear");
  EXPECT_EQ(cast<TermStage>(*route.post[0]).term.args.size(), 3u);
  EXPECT_EQ(arch.body[3]->getLoc().line, 7u);
}

TEST_F(ParseTest, SyntaxErrorsAreReadable) {
  EXPECT_FALSE(parse("fn f(x: f32[N]) { y = x $ 2 }"));
  EXPECT_NE(output.find("test.attn:1:25: error: unexpected character '$'\n"
                        "fn f(x: f32[N]) { y = x $ 2 }\n"
                        "                        ^\n"),
            std::string::npos)
      << output;

  output.clear();
  EXPECT_FALSE(parse("fn f(x: f32[N]) = @ x"));
  EXPECT_NE(output.find("1:19: error: unexpected '@'; expected an expression"),
            std::string::npos)
      << output;

  output.clear();
  EXPECT_FALSE(parse("fn f(x: f32[N]) {\n  return x\n"));
  EXPECT_NE(output.find("error: unexpected end of file; expected"),
            std::string::npos)
      << output;

  output.clear();
  EXPECT_FALSE(parse("fn f(x f32) = x"));
  EXPECT_NE(output.find("1:8: error: unexpected 'f32'; expected ',' or ':'"),
            std::string::npos)
      << output;
  EXPECT_EQ(output.find("mismatched"), std::string::npos) << output;
  EXPECT_EQ(output.find("viable"), std::string::npos) << output;
}

TEST_F(ParseTest, LiteralRanges) {
  EXPECT_TRUE(parse("fn f<A = -9223372036854775808>(x: f32) = x + "
                    "9223372036854775807"))
      << output;
  EXPECT_FALSE(parse("const X = 9223372036854775808"));
  EXPECT_NE(output.find("1:11: error: integer literal is too large"),
            std::string::npos)
      << output;
}

TEST_F(ParseTest, InvalidUtf8AndNul) {
  EXPECT_FALSE(parse("fn f(x: f32) = x\n# caf\xC3\xA9 \xFF\n"));
  EXPECT_NE(output.find("test.attn:2:8: error: invalid UTF-8 byte 0xFF"),
            std::string::npos)
      << output;

  output.clear();
  EXPECT_FALSE(parse("fn f(x: f32) = x\xC3"));
  EXPECT_NE(output.find("1:17: error: invalid UTF-8 byte 0xC3"),
            std::string::npos)
      << output;

  output.clear();
  EXPECT_FALSE(parse(std::string("fn f(x: f32) = x\0", 17)));
  EXPECT_NE(output.find("1:17: error: unexpected NUL byte"), std::string::npos)
      << output;

  // Valid UTF-8 outside the grammar is an unexpected character.
  output.clear();
  EXPECT_FALSE(parse("fn f(x: f32) = x \xCE\xBB"));
  EXPECT_NE(output.find("1:18: error: unexpected character '\xCE\xBB'"),
            std::string::npos)
      << output;
}

TEST_F(ParseTest, EmptyFile) {
  EXPECT_FALSE(parse("  # nothing here\n// nor here\n"));
  EXPECT_NE(output.find("test.attn:1:1: error: file is empty: it defines "
                        "nothing"),
            std::string::npos)
      << output;
  output.clear();
  EXPECT_FALSE(parse(""));
  EXPECT_NE(output.find("file is empty"), std::string::npos) << output;
}

TEST_F(ParseTest, DeepNestingIsAnErrorNotACrash) {
  const std::string prefix = "fn f(x: f32) = ";
  EXPECT_FALSE(parse(prefix + std::string(100000, '(') + "x" +
                     std::string(100000, ')')));
  EXPECT_NE(output.find("error: expression nests too deeply (limit 256)"),
            std::string::npos);
  EXPECT_EQ(diags.getNumErrors(), 1u);

  output.clear();
  EXPECT_FALSE(parse(prefix + std::string(100000, '-') + "x"));
  EXPECT_NE(output.find("expression nests too deeply"), std::string::npos);

  // Nesting without brackets: prefix operators between spaces, `^`
  // chains, reductions, and left-associative chains (a deep tree).
  std::string spaced, power, reduce, chain;
  for (int i = 0; i < 20000; ++i) {
    spaced += "- ";
    power += "x ^ ";
    reduce += "sum(j < N) ";
    chain += "x + ";
  }
  for (const std::string &body : {spaced, power, reduce, chain}) {
    output.clear();
    EXPECT_FALSE(parse(prefix + body + "x"));
    EXPECT_NE(output.find("nests too deeply (limit 256)"), std::string::npos)
        << output.substr(0, 200);
  }

  // Moderate nesting is fine.
  EXPECT_TRUE(
      parse(prefix + std::string(100, '(') + "x" + std::string(100, ')')));
}

TEST_F(ParseTest, AngleBracketRuns) {
  // `a < b` and `f<C>(x)` look alike: long runs are refused quickly instead
  // of making the parser's lookahead explode.
  std::string chain = "fn f(x: f32) = x";
  for (int i = 0; i < 5000; ++i)
    chain += " < x";
  EXPECT_FALSE(parse(chain));
  EXPECT_NE(output.find("too many '<' in one expression"), std::string::npos)
      << output.substr(0, 200);
  // Ordinary uses, one statement each, are fine however many there are.
  std::string body = "fn f(x: f32[N]) {\n";
  for (int i = 0; i < 200; ++i)
    body += "  y = x < 1 && sum(j < N) x[j] < 2\n";
  EXPECT_TRUE(parse(body + "  return y\n}")) << output.substr(0, 200);
}

/// A temporary directory with files, removed afterwards.
class TempDir {
public:
  TempDir() { llvm::sys::fs::createUniqueDirectory("attnc-parse-test", path); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string write(const std::string &name, const std::string &text) {
    llvm::SmallString<256> file(path);
    llvm::sys::path::append(file, name);
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(file));
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    os << text;
    return std::string(file);
  }
  llvm::SmallString<256> path;
};

TEST_F(ParseTest, ImportsInOrderOnce) {
  TempDir dir;
  dir.write("lib/base.attn", "const D = 64");
  dir.write("lib/a.attn", "import \"base.attn\"\nfn a(x: f32) = x");
  dir.write("b.attn", "import \"lib/base.attn\"\nfn b(x: f32) = x");
  std::string main = dir.write(
      "main.attn",
      "import \"lib/a.attn\"\nimport \"b.attn\"\nfn main(x: f32) = x");
  auto module = parseFile(main, diags);
  ASSERT_TRUE(module) << output;
  // Imported declarations first, depth first in import order; each file
  // once; the main file last.
  std::vector<std::string> names;
  for (const DeclPtr &decl : module->decls)
    names.push_back(decl->getName());
  EXPECT_EQ(names, (std::vector<std::string>{"D", "a", "b", "main"}));
  ASSERT_EQ(module->files.size(), 4u);
  EXPECT_EQ(module->files.back(), main);
  EXPECT_EQ(module->mainFile, main);
  EXPECT_EQ(llvm::sys::path::filename(module->files[0]), "base.attn");
  EXPECT_EQ(llvm::sys::path::filename(module->decls[0]->getLoc().file),
            "base.attn");
}

TEST_F(ParseTest, ImportCycleAndMissingImport) {
  TempDir dir;
  std::string a = dir.write("a.attn", "import \"b.attn\"\nfn a(x: f32) = x");
  dir.write("b.attn", "fn b(x: f32) = x\n  import \"a.attn\"");
  EXPECT_FALSE(parseFile(a, diags));
  EXPECT_NE(output.find("b.attn:2:3: error: import cycle: "), std::string::npos)
      << output;
  EXPECT_NE(
      output.find("import cycle: " + a + " imports b.attn imports a.attn\n"),
      std::string::npos)
      << output;

  output.clear();
  std::string c = dir.write("c.attn", "import \"nope.attn\"\nfn c(x: f32) = x");
  EXPECT_FALSE(parseFile(c, diags));
  EXPECT_NE(output.find("c.attn:1:1: error: cannot open imported file "
                        "'nope.attn': No such file or directory"),
            std::string::npos)
      << output;

  output.clear();
  EXPECT_FALSE(parseFile(dir.path.str().str(), diags));
  EXPECT_NE(output.find(": error: cannot open file '"), std::string::npos)
      << output;
  EXPECT_NE(output.find("Is a directory"), std::string::npos) << output;
}

TEST_F(ParseTest, DiagnosticFormat) {
  std::string text;
  DiagnosticEngine engine([&](const std::string &s) { text += s; });
  engine.addSource("t.attn", "fn f()\n\tx = qq\n");
  engine.error(Location{"t.attn", 2, 6}, "unknown name 'qq'");
  engine.note(Location{"t.attn", 1, 1}, "in here");
  engine.warning(Location{"other.attn", 0, 0}, "no position");
  EXPECT_EQ(text, "t.attn:2:6: error: unknown name 'qq'\n"
                  "\tx = qq\n"
                  "\t    ^\n"
                  "t.attn:1:1: note: in here\n"
                  "fn f()\n"
                  "^\n"
                  "other.attn: warning: no position\n");

  text.clear();
  for (unsigned i = 0; i < DiagnosticEngine::kMaxPrintedErrors + 5; ++i)
    engine.error(Location{"t.attn", 0, 0}, "e");
  EXPECT_EQ(engine.getNumErrors(), DiagnosticEngine::kMaxPrintedErrors + 6);
  size_t limitLine = text.find("error: too many errors emitted, stopping now");
  EXPECT_NE(limitLine, std::string::npos);
  EXPECT_EQ(text.find("stopping now", limitLine + 40), std::string::npos);
  engine.note(Location{"t.attn", 0, 0}, "late note");
  EXPECT_EQ(text.find("late note"), std::string::npos);
}

TEST_F(ParseTest, ConstValueText) {
  EXPECT_EQ(ConstValue::ofInt(64).str(), "64");
  EXPECT_EQ(ConstValue::ofInt(-3).str(), "-3");
  EXPECT_EQ(ConstValue::ofFloat(0.9).str(), "0.9");
  EXPECT_EQ(ConstValue::ofFloat(1e-05).str(), "1e-05");
  EXPECT_EQ(ConstValue::ofFloat(2.0).str(), "2.0");
  EXPECT_EQ(ConstValue::ofFloat(0.1 + 0.2).str(), "0.30000000000000004");
  EXPECT_STREQ(toString(BinaryOp::MatMul), "@");
  EXPECT_STREQ(toString(BinaryOp::And), "&&");
  EXPECT_STREQ(toString(UnaryOp::Not), "!");
  EXPECT_STREQ(toString(Normalizer::Kind::Sigmoid), "sigmoid");
}

TEST_F(ParseTest, PrinterShowsStructureBeforeChecking) {
  auto module = parse("fn f<H = 8>(q, k: f32[N, D]) = sum(j < N) q[j] * 2",
                      "/some/dir/x.attn");
  ASSERT_TRUE(module) << output;
  std::string ast = printAST(*module);
  EXPECT_EQ(ast, "FnDecl f @x.attn:1:1 consts=[H=8]\n"
                 "  Param q : f32[N, D] @1:13\n"
                 "  Param k : f32[N, D] @1:16\n"
                 "  Return @1:32\n"
                 "    Reduce sum j < N @1:32\n"
                 "      Binary * @1:48\n"
                 "        Subscript @1:43\n"
                 "          Name q @1:43\n"
                 "          Name j @1:45\n"
                 "        IntLit 2 @1:50\n");
  EXPECT_EQ(printSignatures(*module), "fn f<H = 8>(q: ?, k: ?) -> ?\n");
}

} // namespace

namespace {
TEST(DiagnosticQuoteTest, LongLinesAreWindowedAroundTheCaret) {
  std::string out;
  DiagnosticEngine diags([&](const std::string &text) { out += text; });
  std::string line(1000, 'x');
  line[499] = 'Y';
  diags.addSource("f.attn", line);
  diags.error(Location{"f.attn", 1, 500}, "here");
  size_t first = out.find('\n'), second = out.find('\n', first + 1);
  std::string quoted = out.substr(first + 1, second - first - 1);
  std::string caret = out.substr(second + 1, out.size() - second - 2);
  EXPECT_LT(quoted.size(), 200u);
  EXPECT_EQ(quoted.substr(0, 3), "...");
  ASSERT_EQ(caret.back(), '^');
  EXPECT_EQ(quoted[caret.size() - 1], 'Y');
}

TEST(DiagnosticQuoteTest, ControlBytesArePrintable) {
  std::string out;
  DiagnosticEngine diags([&](const std::string &text) { out += text; });
  diags.addSource("f.attn", std::string("ab\x01\x1b[31mcd", 10));
  diags.error(Location{"f.attn", 1, 3}, "bad");
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("ab??[31mcd\n  ^"), std::string::npos) << out;
}
} // namespace
