//===- SemaTest.cpp - The checker's inferred types ------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Sema.h"
#include "attnc/Frontend/Parse.h"

#include "llvm/Support/Casting.h"

#include "gtest/gtest.h"

using namespace attnc;

namespace {

/// Parses and checks `source`; collects the printed diagnostics.
struct Checked {
  std::string diagnostics;
  std::unique_ptr<Module> module;
  bool ok = false;

  explicit Checked(const std::string &source, CheckOptions options = {}) {
    DiagnosticEngine diags(
        [this](const std::string &text) { diagnostics += text; });
    module = parseString("test.attn", source, diags);
    if (module)
      ok = checkModule(*module, diags, options);
  }

  FnDecl &fn(size_t i = 0) {
    size_t seen = 0;
    for (DeclPtr &d : module->decls)
      if (auto *f = llvm::dyn_cast<FnDecl>(d.get()))
        if (seen++ == i)
          return *f;
    ADD_FAILURE() << "no function " << i;
    return *llvm::cast<FnDecl>(module->decls.front().get());
  }
  std::string result(size_t fnIndex = 0) {
    FnDecl &f = fn(fnIndex);
    return f.checkedResults.empty() ? "?" : f.checkedResults.front().str();
  }
};

TEST(SemaTest, AttendInfersOutputShape) {
  Checked c(R"(
fn gqa<Hq = 8, Hkv = 2, D = 64>(q: f32[B, Hq, N, D], k, v: f32[B, Hkv, M, D]) {
  G = Hq / Hkv
  out[b, h, i] = attend j < M {
    score dot(q[b, h, i], k[b, h / G, j]) / sqrt(D)
    mask j <= i
    value v[b, h / G, j]
  }
  return out
})");
  ASSERT_TRUE(c.ok) << c.diagnostics;
  EXPECT_EQ(c.result(), "f32[B, 8, N, 64]");
  auto *let = llvm::dyn_cast<LetStmt>(c.fn().body[0].get());
  ASSERT_TRUE(let && let->checkedDim);
  EXPECT_EQ(let->checkedDim->getConstant(), 4);
}

TEST(SemaTest, OverridesChangeShapes) {
  CheckOptions options;
  options.overrides["D"] = ConstValue::ofInt(128);
  Checked c("fn f<D = 64>(x: f32[N, D]) { return x }", options);
  ASSERT_TRUE(c.ok) << c.diagnostics;
  EXPECT_EQ(c.result(), "f32[N, 128]");
}

TEST(SemaTest, BadHeadGroupIsReported) {
  Checked c(R"(
fn f<Hq = 8, Hkv = 3>(q: f32[Hq, D], k: f32[Hkv, D]) {
  G = Hq / Hkv
  return q
})");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.diagnostics.find("8 is not divisible by 3"), std::string::npos)
      << c.diagnostics;
}

TEST(SemaTest, ScanEmitsPerStep) {
  Checked c(R"(
fn delta<Dk = 16, Dv = 8>(q, k: f32[B, N, Dk], v: f32[B, N, Dv], beta: f32[B, N]) {
  out[b, t] = scan t < N {
    state S: f32[Dv, Dk] = 0
    S = S - beta[b, t] * outer(S @ k[b, t] - v[b, t], k[b, t])
    emit S @ q[b, t]
  }
  return out
})");
  ASSERT_TRUE(c.ok) << c.diagnostics;
  EXPECT_EQ(c.result(), "f32[B, N, 8]");
}

TEST(SemaTest, StateShapeChangeIsReported) {
  Checked c(R"(
fn f<D = 4, E = 8>(k: f32[N, D], v: f32[N, E]) {
  out[t] = scan t < N {
    state S: f32[D, E] = 0
    S = outer(v[t], k[t])
    emit S
  }
  return out
})");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.diagnostics.find("has shape [8, 4], but it must have shape "
                               "[4, 8]"),
            std::string::npos)
      << c.diagnostics;
}

TEST(SemaTest, GradOfGroupStateIsAGroup) {
  Checked c(R"(
type Mlp = {W1: f32[Hid, D], W2: f32[D, Hid]}
fn mem(W: Mlp, x: f32[D]) = W.W2 @ silu(W.W1 @ x)
fn titans<D = 8, Hid = 16>(k, v: f32[N, D], w1: f32[Hid, D], w2: f32[D, Hid]) {
  y[t] = scan t < N chunk 4 {
    state W: Mlp = {W1: w1, W2: w2}
    state S: Mlp = 0
    loss = sum((mem(W, k[t]) - v[t]) ^ 2)
    S = 0.9 * S - 0.1 * grad(loss, W)
    W = W + S
    emit mem(W, k[t])
  }
  return y
})");
  ASSERT_TRUE(c.ok) << c.diagnostics;
  EXPECT_EQ(c.result(1), "f32[N, 8]");
}

TEST(SemaTest, UserFunctionUnifiesSizes) {
  Checked c(R"(
fn phi(x: f32[D]) = elu(x) + 1
fn f<E = 32>(q: f32[N, E]) {
  y[i] = phi(q[i])
  return y
})");
  ASSERT_TRUE(c.ok) << c.diagnostics;
  EXPECT_EQ(c.result(1), "f32[N, 32]");
}

TEST(SemaTest, SelectionPrimitives) {
  Checked c(R"(
fn f<C = 16, K = 4>(x: f32[N, C]) {
  top[i] = topk(c < C, K) x[i, c]
  keep[i] = topp(c < C, 0.9) x[i, c]
  best[i] = argmax(c < C) x[i, c]
  return top, keep, best
})");
  ASSERT_TRUE(c.ok) << c.diagnostics;
  FnDecl &f = c.fn();
  ASSERT_EQ(f.checkedResults.size(), 3u);
  EXPECT_EQ(f.checkedResults[0].str(), "i32[N, 4]");
  EXPECT_EQ(f.checkedResults[1].str(), "i1[N, 16]");
  EXPECT_EQ(f.checkedResults[2].str(), "i32[N]");
}

TEST(SemaTest, ArchitectureShapeFlow) {
  Checked c(R"(
fn sdpa(q, k, v: f32[B, H, N, Dh]) {
  o[b, h, i] = attend j < N { score dot(q[b, h, i], k[b, h, j]); value v[b, h, j] }
  return o
}
block layer<D = 64, H = 4> {
  residual { rmsnorm -> project_qkv(H) -> sdpa -> merge_heads -> linear(D) }
  residual { rmsnorm -> linear(4 * D) -> gelu -> linear(D) }
}
arch lm<V = 100, D = 64>(tokens: i32[B, N]) { embed(V, D) -> layer<D, 4> -> linear(V) }
)");
  ASSERT_TRUE(c.ok) << c.diagnostics;
  auto *arch = llvm::dyn_cast<ArchDecl>(c.module->decls.back().get());
  ASSERT_TRUE(arch && arch->checkedResult);
  EXPECT_EQ(arch->checkedResult->str(), "f32[B, N, 100]");
}

TEST(SemaTest, EinspaceBranchArity) {
  Checked c(R"(
arch a(x: f32[B, N, D]) { branch(clone(3), [linear, linear], add) }
)");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.diagnostics.find("fans out to 3 paths but lists 2 branches"),
            std::string::npos)
      << c.diagnostics;
}

TEST(SemaTest, SeveralErrorsInOneRun) {
  Checked c(R"(
fn f(x: f32[N]) { a = y; b = z; return x }
)");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.diagnostics.find("unknown name 'y'"), std::string::npos);
  EXPECT_NE(c.diagnostics.find("unknown name 'z'"), std::string::npos);
}

} // namespace
