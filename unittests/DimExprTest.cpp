//===- DimExprTest.cpp - Symbolic dimensions and value types --------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Type.h"

#include "gtest/gtest.h"

#include <limits>

using namespace attnc;

namespace {

DimExpr c(int64_t v) { return DimExpr::constant(v); }
DimExpr s(const char *name) { return DimExpr::symbol(name); }

TEST(DimExprTest, ConstantsFold) {
  EXPECT_EQ((c(3) + c(4)).getConstant(), 7);
  EXPECT_EQ((c(3) * c(4)).getConstant(), 12);
  EXPECT_EQ((c(3) - c(3)).getConstant(), 0);
  EXPECT_EQ(c(7).floorDiv(c(2)).getConstant(), 3);
  EXPECT_EQ(c(-7).floorDiv(c(2)).getConstant(), -4);
}

TEST(DimExprTest, OverflowIsRecorded) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  EXPECT_FALSE((c(max - 1) + c(1)).hasOverflowed());
  EXPECT_TRUE((c(max) + c(1)).hasOverflowed());
  EXPECT_TRUE((c(int64_t(1) << 32) * c(int64_t(1) << 32)).hasOverflowed());
  EXPECT_TRUE(c(min).floorDiv(c(-1)).hasOverflowed());
  EXPECT_TRUE((c(min) - c(1)).hasOverflowed());
  // Sticky: later arithmetic keeps the mark.
  EXPECT_TRUE(((c(max) + c(1)) * c(0)).hasOverflowed());
  DimExpr n = DimExpr::symbol("N");
  EXPECT_TRUE((n * c(max) + n * c(max)).hasOverflowed());
  EXPECT_FALSE((n * c(max) - n * c(max)).hasOverflowed());
}

TEST(DimExprTest, PolynomialsAreCanonical) {
  // N + N == 2*N and N*D == D*N: equal dims compare equal however written.
  EXPECT_EQ(s("N") + s("N"), c(2) * s("N"));
  EXPECT_EQ(s("N") * s("D"), s("D") * s("N"));
  EXPECT_EQ((s("N") + c(1)) - c(1), s("N"));
  EXPECT_NE(s("N"), s("M"));
  EXPECT_FALSE(s("N").isConstant());
}

TEST(DimExprTest, ExactDivision) {
  EXPECT_EQ((c(4) * s("N")).floorDiv(c(2)), c(2) * s("N"));
  EXPECT_EQ((s("N") * s("D")).floorDiv(s("D")), s("N"));
  EXPECT_EQ(s("N").floorDiv(s("N")).getConstant(), 1);
}

TEST(DimExprTest, OpaqueQuotientSubstitutes) {
  DimExpr q = s("N").floorDiv(c(64));
  EXPECT_EQ(q.str(), "(N / 64)");
  EXPECT_EQ(q, s("N").floorDiv(c(64)));
  DimExpr bound = q.substitute({{"N", c(1024)}});
  EXPECT_EQ(bound.getConstant(), 16);
  EXPECT_EQ(q.getSymbols(), std::vector<std::string>{"N"});
}

TEST(DimExprTest, Printing) {
  EXPECT_EQ((c(2) * s("N") + c(1)).str(), "2*N + 1");
  EXPECT_EQ((s("N") - c(1)).str(), "N - 1");
  EXPECT_EQ((c(0) - s("N")).str(), "-N");
  EXPECT_EQ(c(0).str(), "0");
  EXPECT_EQ((s("H") * s("D")).str(), "D*H");
}

TEST(ValueTypeTest, PrintsAndCompares) {
  ValueType q = ValueType::tensor(ElemType::F32, {s("B"), c(8), s("N")});
  EXPECT_EQ(q.str(), "f32[B, 8, N]");
  EXPECT_EQ(ValueType::tensor(ElemType::I1).str(), "i1");
  EXPECT_TRUE(ValueType::tensor(ElemType::F32).isScalar());
  EXPECT_NE(q, q.withElemType(ElemType::F64));
  ValueType g = ValueType::group(
      {{"W1", ValueType::tensor(ElemType::F32, {c(64), c(32)})},
       {"W2", ValueType::tensor(ElemType::F32, {c(32), c(64)})}});
  EXPECT_EQ(g.str(), "{W1: f32[64, 32], W2: f32[32, 64]}");
  ASSERT_NE(g.getMember("W2"), nullptr);
  EXPECT_EQ(g.getMember("W3"), nullptr);
}

TEST(ValueTypeTest, SubstituteBindsSizes) {
  ValueType t = ValueType::tensor(ElemType::F32, {s("D"), s("Hid")});
  ValueType bound = t.substitute({{"D", c(64)}, {"Hid", s("H")}});
  EXPECT_EQ(bound.str(), "f32[64, H]");
}

TEST(ElemTypeTest, RoundTrips) {
  for (ElemType t : {ElemType::F16, ElemType::BF16, ElemType::F32,
                     ElemType::F64, ElemType::I1, ElemType::I32, ElemType::I64})
    EXPECT_EQ(parseElemType(toString(t)), t);
  EXPECT_FALSE(parseElemType("f8").has_value());
  EXPECT_TRUE(isFloat(ElemType::BF16));
  EXPECT_FALSE(isInteger(ElemType::I1));
}

} // namespace
