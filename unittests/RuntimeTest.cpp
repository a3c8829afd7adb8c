//===- RuntimeTest.cpp - Tests of the runtime library ---------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// EntryCall's packing, output shapes and errors, with a packed entry written
// in C++ in place of a compiled one; the calls of real libraries are the
// lit tests' (run-basic.test, entry-description.test, test/Python).
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/EntryCall.h"
#include "attnc/Runtime/Library.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace attnc;
using namespace attnc::runtime;

namespace {

/// `y[N, 2] (f32) = x[N] (f32) * [1, 2]`, `count (i32) = N`, in the
/// packed form.
int32_t scaleTwice(void *const *tensors, const int64_t *sizes) {
  const float *x = static_cast<const float *>(tensors[0]);
  float *y = static_cast<float *>(tensors[1]);
  int32_t *count = static_cast<int32_t *>(tensors[2]);
  if (sizes[0] < 0)
    return kEntryBadSize;
  for (int64_t i = 0; i < sizes[0]; ++i) {
    y[2 * i] = x[i];
    y[2 * i + 1] = 2 * x[i];
  }
  *count = static_cast<int32_t>(sizes[0]);
  return kEntryOk;
}

EntrySignature getScaleTwice() {
  DimExpr n = DimExpr::symbol("N");
  return {"scale_twice",
          {{"x", ElemType::F32, {n}}},
          {{"y", ElemType::F32, {n, DimExpr::constant(2)}},
           {"count", ElemType::I32, {}}},
          {"N"}};
}

TEST(EntryCallTest, PacksCallsAndReadsBack) {
  EntrySignature sig = getScaleTwice();
  std::vector<double> x = {1.5, -2, 4};
  std::string error;
  std::optional<EntryCall> call =
      EntryCall::prepare(sig, {{"N", 3}}, {&x}, error);
  ASSERT_TRUE(call) << error;
  ASSERT_EQ(call->getNumOutputs(), 2u);
  EXPECT_EQ(call->getOutputShape(0), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(call->getOutputShape(1), std::vector<int64_t>{});

  // Before the call, float outputs are NaN: an unwritten element shows.
  std::vector<double> y;
  ASSERT_TRUE(call->readOutput(0, y, error)) << error;
  ASSERT_EQ(y.size(), 6u);
  EXPECT_TRUE(std::isnan(y[0]));

  ASSERT_EQ(call->call(scaleTwice), kEntryOk);
  ASSERT_TRUE(call->readOutput(0, y, error)) << error;
  EXPECT_EQ(y, (std::vector<double>{1.5, 3, -2, -4, 4, 8}));
  std::vector<double> count;
  ASSERT_TRUE(call->readOutput(1, count, error)) << error;
  EXPECT_EQ(count, std::vector<double>{3});
}

TEST(EntryCallTest, RefusesMissingSizesAndWrongArity) {
  EntrySignature sig = getScaleTwice();
  std::vector<double> x = {1};
  std::string error;
  EXPECT_FALSE(EntryCall::prepare(sig, {}, {&x}, error));
  EXPECT_EQ(error, "the extent 'N' of 'y' has no value with these sizes");
  EXPECT_FALSE(EntryCall::prepare(sig, {{"N", 1}}, {}, error));
  EXPECT_EQ(error, "'scale_twice' takes 1 inputs, not 0");
}

TEST(EntryCallTest, RefusesSixteenBitFloats) {
  EntrySignature sig = getScaleTwice();
  sig.inputs[0].elem = ElemType::BF16;
  std::vector<double> x = {1};
  std::string error;
  EXPECT_FALSE(EntryCall::prepare(sig, {{"N", 1}}, {&x}, error));
  EXPECT_EQ(error, "not supported yet: calling 'scale_twice' with the bf16 "
                   "tensor 'x'");
}

TEST(EvaluateShapeTest, FormulasOfTheSizes) {
  DimExpr n = DimExpr::symbol("N");
  ABITensor t{
      "t", ElemType::F64, {n * DimExpr::constant(2) + DimExpr::constant(1), n}};
  std::vector<int64_t> shape;
  std::string error;
  ASSERT_TRUE(evaluateShape(t, {{"N", 5}}, shape, error)) << error;
  EXPECT_EQ(shape, (std::vector<int64_t>{11, 5}));
  ABITensor negative{"t", ElemType::F64, {n - DimExpr::constant(9)}};
  EXPECT_FALSE(evaluateShape(negative, {{"N", 5}}, shape, error));
}

TEST(LibraryTest, DescribesCodesAndLoadErrors) {
  EXPECT_EQ(describeEntryCode("f", kEntryCheckFailed),
            "the compiled 'f' failed a run-time check (code 3); run it with "
            "'attnc run --backend=interp' to see where");
  EXPECT_EQ(describeEntryCode("f", 42),
            "the compiled 'f' returned the unknown error code 42");
  std::string error;
  EXPECT_FALSE(LoadedLibrary::load("/nonexistent/libnone.so", error));
  EXPECT_NE(error.find("libnone.so"), std::string::npos) << error;
}

} // namespace
