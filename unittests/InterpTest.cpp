//===- InterpTest.cpp - Tests of the float64 reference interpreter --------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// Each test parses a small module, runs its @main with attnc::interp::run and
// compares the results with values computed by hand or by a direct loop in
// the test.
//
//===----------------------------------------------------------------------===//

#include "attnc/InitAll.h"
#include "attnc/Interp/Interpreter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace mlir;
using ::attnc::interp::ElemKind;
using ::attnc::interp::Tensor;

namespace {

Tensor makeT(std::vector<int64_t> shape, std::vector<double> data,
             ElemKind kind = ElemKind::Float) {
  Tensor t;
  t.kind = kind;
  t.shape = std::move(shape);
  t.data = std::move(data);
  return t;
}

/// A deterministic, irregular fill: 0.1 * ((i * 7 + seed) mod 11) - 0.5.
Tensor filled(std::vector<int64_t> shape, int seed) {
  Tensor t = makeT(shape, {});
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data.push_back(0.1 * double((i * 7 + seed) % 11) - 0.5);
  return t;
}

void expectNear(const Tensor &actual, const Tensor &expected,
                double tolerance = 1e-12) {
  ASSERT_EQ(actual.shape, expected.shape);
  ASSERT_EQ(actual.data.size(), expected.data.size());
  for (size_t i = 0; i < actual.data.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected.data[i], tolerance) << "element " << i;
}

class InterpTest : public ::testing::Test {
protected:
  InterpTest() {
    DialectRegistry registry;
    mlir::attnc::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Parses `source` and runs its @main on `args`; the diagnostics go to
  /// `diagnostics`.
  FailureOr<std::vector<Tensor>> runMain(StringRef source,
                                         std::vector<Tensor> args) {
    diagnostics.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    module = parseSourceString<ModuleOp>(source, &context);
    if (!module) {
      ADD_FAILURE() << "does not parse:\n" << diagnostics;
      return failure();
    }
    auto main = module->lookupSymbol<func::FuncOp>("main");
    if (!main) {
      ADD_FAILURE() << "no @main";
      return failure();
    }
    return ::attnc::interp::run(main, args);
  }

  /// runMain, expecting success.
  std::vector<Tensor> runOk(StringRef source, std::vector<Tensor> args) {
    FailureOr<std::vector<Tensor>> results = runMain(source, std::move(args));
    EXPECT_TRUE(succeeded(results)) << diagnostics;
    return succeeded(results) ? *results : std::vector<Tensor>();
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::string diagnostics;
};

//===----------------------------------------------------------------------===//
// linalg
//===----------------------------------------------------------------------===//

TEST_F(InterpTest, Matmul) {
  auto r = runOk(R"mlir(
    func.func @main(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
      %z = arith.constant 0.0 : f32
      %e = tensor.empty() : tensor<2x2xf32>
      %c = linalg.fill ins(%z : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
      %m = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x2xf32>)
                         outs(%c : tensor<2x2xf32>) -> tensor<2x2xf32>
      return %m : tensor<2x2xf32>
    })mlir",
                 {makeT({2, 3}, {1, 2, 3, 4, 5, 6}),
                  makeT({3, 2}, {7, 8, 9, 10, 11, 12})});
  ASSERT_EQ(r.size(), 1u);
  // [1 2 3; 4 5 6] @ [7 8; 9 10; 11 12] = [58 64; 139 154]
  expectNear(r[0], makeT({2, 2}, {58, 64, 139, 154}));
}

TEST_F(InterpTest, MatmulWithUserMapsAndProducts) {
  // A is given transposed ([k, i]); matvec, vecmat and dot of the same data.
  auto r = runOk(R"mlir(
    func.func @main(%at: tensor<3x2xf32>, %b: tensor<3x2xf32>, %x: tensor<3xf32>)
        -> (tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<f32>) {
      %z = arith.constant 0.0 : f32
      %e = tensor.empty() : tensor<2x2xf32>
      %c = linalg.fill ins(%z : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
      %m = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                                          affine_map<(d0, d1, d2) -> (d2, d1)>,
                                          affine_map<(d0, d1, d2) -> (d0, d1)>]
          ins(%at, %b : tensor<3x2xf32>, tensor<3x2xf32>)
          outs(%c : tensor<2x2xf32>) -> tensor<2x2xf32>
      %e2 = tensor.empty() : tensor<2xf32>
      %c2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<2xf32>) -> tensor<2xf32>
      %t = tensor.empty() : tensor<2x3xf32>
      %a = linalg.transpose ins(%at : tensor<3x2xf32>) outs(%t : tensor<2x3xf32>) permutation = [1, 0]
      %mv = linalg.matvec ins(%a, %x : tensor<2x3xf32>, tensor<3xf32>) outs(%c2 : tensor<2xf32>) -> tensor<2xf32>
      %vm = linalg.vecmat ins(%x, %b : tensor<3xf32>, tensor<3x2xf32>) outs(%c2 : tensor<2xf32>) -> tensor<2xf32>
      %e0 = tensor.empty() : tensor<f32>
      %c0 = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
      %d = linalg.dot ins(%x, %x : tensor<3xf32>, tensor<3xf32>) outs(%c0 : tensor<f32>) -> tensor<f32>
      return %m, %mv, %vm, %d : tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<f32>
    })mlir",
                 {makeT({3, 2}, {1, 4, 2, 5, 3, 6}),
                  makeT({3, 2}, {7, 8, 9, 10, 11, 12}), makeT({3}, {1, 2, 3})});
  ASSERT_EQ(r.size(), 4u);
  expectNear(r[0], makeT({2, 2}, {58, 64, 139, 154}));
  // [1 2 3; 4 5 6] [1 2 3] = [14, 32]
  expectNear(r[1], makeT({2}, {14, 32}));
  // [1 2 3] [7 8; 9 10; 11 12] = [58, 64]
  expectNear(r[2], makeT({2}, {58, 64}));
  expectNear(r[3], makeT({}, {14}));
}

TEST_F(InterpTest, BatchMatmul) {
  auto r =
      runOk(R"mlir(
    func.func @main(%a: tensor<2x1x2xf32>, %b: tensor<2x2x1xf32>) -> tensor<2x1x1xf32> {
      %z = arith.constant 0.0 : f32
      %e = tensor.empty() : tensor<2x1x1xf32>
      %c = linalg.fill ins(%z : f32) outs(%e : tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
      %m = linalg.batch_matmul ins(%a, %b : tensor<2x1x2xf32>, tensor<2x2x1xf32>)
                               outs(%c : tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
      return %m : tensor<2x1x1xf32>
    })mlir",
            {makeT({2, 1, 2}, {1, 2, 3, 4}), makeT({2, 2, 1}, {5, 6, 7, 8})});
  ASSERT_EQ(r.size(), 1u);
  expectNear(r[0], makeT({2, 1, 1}, {17, 53}));
}

TEST_F(InterpTest, SoftmaxRows) {
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
      %e = tensor.empty() : tensor<2x3xf32>
      %s = linalg.softmax dimension(1) ins(%x : tensor<2x3xf32>)
                          outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
      return %s : tensor<2x3xf32>
    })mlir",
                 {makeT({2, 3}, {1, 2, 3, 0, 0, 1000})});
  ASSERT_EQ(r.size(), 1u);
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expectNear(r[0], makeT({2, 3}, {std::exp(1.0) / z, std::exp(2.0) / z,
                                  std::exp(3.0) / z, 0, 0, 1}));
}

TEST_F(InterpTest, GenericReductionWithIndexAndReduce) {
  // out[i] = sum_j (x[i, j] * j), then the sum of all of x with linalg.reduce.
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<f32>) {
      %z = arith.constant 0.0 : f32
      %e = tensor.empty() : tensor<2xf32>
      %c = linalg.fill ins(%z : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
      %g = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                           iterator_types = ["parallel", "reduction"]}
          ins(%x : tensor<2x3xf32>) outs(%c : tensor<2xf32>) {
      ^bb0(%in: f32, %acc: f32):
        %j = linalg.index 1 : index
        %ji = arith.index_cast %j : index to i64
        %jf = arith.sitofp %ji : i64 to f32
        %p = arith.mulf %in, %jf : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      } -> tensor<2xf32>
      %e0 = tensor.empty() : tensor<f32>
      %c0 = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
      %red = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%c0 : tensor<f32>) dimensions = [0, 1]
        (%in: f32, %init: f32) {
          %s = arith.addf %init, %in : f32
          linalg.yield %s : f32
        }
      return %g, %red : tensor<2xf32>, tensor<f32>
    })mlir",
                 {makeT({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], makeT({2}, {2 + 6, 5 + 12}));
  expectNear(r[1], makeT({}, {21}));
}

TEST_F(InterpTest, MapAndBroadcastGeneric) {
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<2x3xf32>, %b: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
      %e = tensor.empty() : tensor<2x3xf32>
      %m = linalg.map { arith.mulf } ins(%x, %x : tensor<2x3xf32>, tensor<2x3xf32>) outs(%e : tensor<2x3xf32>)
      %g = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
                           iterator_types = ["parallel", "parallel"]}
          ins(%x, %b : tensor<2x3xf32>, tensor<3xf32>) outs(%e : tensor<2x3xf32>) {
      ^bb0(%in: f32, %bias: f32, %out: f32):
        %s = arith.addf %in, %bias : f32
        linalg.yield %s : f32
      } -> tensor<2x3xf32>
      return %m, %g : tensor<2x3xf32>, tensor<2x3xf32>
    })mlir",
                 {makeT({2, 3}, {1, 2, 3, 4, 5, 6}), makeT({3}, {10, 20, 30})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], makeT({2, 3}, {1, 4, 9, 16, 25, 36}));
  expectNear(r[1], makeT({2, 3}, {11, 22, 33, 14, 25, 36}));
}

//===----------------------------------------------------------------------===//
// tensor, scf, func
//===----------------------------------------------------------------------===//

TEST_F(InterpTest, GenerateWithExtracts) {
  // r[i, j] = 2 * x[j, i] + i, with the dynamic size of x's dimension 1.
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<3x?xf32>) -> tensor<?x3xf32> {
      %c1 = arith.constant 1 : index
      %n = tensor.dim %x, %c1 : tensor<3x?xf32>
      %g = tensor.generate %n {
      ^bb0(%i: index, %j: index):
        %v = tensor.extract %x[%j, %i] : tensor<3x?xf32>
        %two = arith.constant 2.0 : f32
        %d = arith.mulf %v, %two : f32
        %ii = arith.index_cast %i : index to i32
        %if = arith.sitofp %ii : i32 to f32
        %s = arith.addf %d, %if : f32
        tensor.yield %s : f32
      } : tensor<?x3xf32>
      return %g : tensor<?x3xf32>
    })mlir",
                 {makeT({3, 2}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(r.size(), 1u);
  expectNear(r[0], makeT({2, 3}, {2, 6, 10, 5, 9, 13}));
}

TEST_F(InterpTest, SlicesAndReshapes) {
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<2x4xf32>) -> (tensor<2xf32>, tensor<2x4xf32>, tensor<8xf32>, tensor<2x1x4xf32>, tensor<4x4xf32>, tensor<2x4xf32>) {
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      // Column 1 and 3 of row 1, strided, rank-reduced.
      %s = tensor.extract_slice %x[1, %c1] [1, 2] [1, %c2] : tensor<2x4xf32> to tensor<2xf32>
      // Write them into row 0, columns 0 and 1.
      %ins = tensor.insert_slice %s into %x[0, 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<2x4xf32>
      %flat = tensor.collapse_shape %x [[0, 1]] : tensor<2x4xf32> into tensor<8xf32>
      %ex = tensor.expand_shape %x [[0, 1], [2]] output_shape [2, 1, 4] : tensor<2x4xf32> into tensor<2x1x4xf32>
      %cat = tensor.concat dim(0) %x, %ins : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
      %dyn = tensor.cast %x : tensor<2x4xf32> to tensor<?x4xf32>
      %back = tensor.cast %dyn : tensor<?x4xf32> to tensor<2x4xf32>
      %nine = arith.constant 9.0 : f32
      %c3 = arith.constant 3 : index
      %upd = tensor.insert %nine into %back[%c1, %c3] : tensor<2x4xf32>
      return %s, %ins, %flat, %ex, %cat, %upd : tensor<2xf32>, tensor<2x4xf32>, tensor<8xf32>, tensor<2x1x4xf32>, tensor<4x4xf32>, tensor<2x4xf32>
    })mlir",
                 {makeT({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7})});
  ASSERT_EQ(r.size(), 6u);
  expectNear(r[0], makeT({2}, {5, 7}));
  expectNear(r[1], makeT({2, 4}, {5, 7, 2, 3, 4, 5, 6, 7}));
  expectNear(r[2], makeT({8}, {0, 1, 2, 3, 4, 5, 6, 7}));
  expectNear(r[3], makeT({2, 1, 4}, {0, 1, 2, 3, 4, 5, 6, 7}));
  expectNear(r[4],
             makeT({4, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 5, 7, 2, 3, 4, 5, 6, 7}));
  expectNear(r[5], makeT({2, 4}, {0, 1, 2, 3, 4, 5, 6, 9}));
}

TEST_F(InterpTest, ForSumAndIf) {
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<4xf32>) -> (f32, f32) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %z = arith.constant 0.0 : f32
      %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %z) -> (f32) {
        %v = tensor.extract %x[%i] : tensor<4xf32>
        %s = arith.addf %acc, %v : f32
        scf.yield %s : f32
      }
      %pos = arith.cmpf ogt, %sum, %z : f32
      %r = scf.if %pos -> (f32) {
        scf.yield %sum : f32
      } else {
        %n = arith.negf %sum : f32
        scf.yield %n : f32
      }
      return %sum, %r : f32, f32
    })mlir",
                 {makeT({4}, {1, -2, 3, -10})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], makeT({}, {-8}));
  expectNear(r[1], makeT({}, {8}));
}

TEST_F(InterpTest, ForallParallelInsertSlice) {
  // out[i, :] = 2 * x[i, :] for i = 0, 1, one row per iteration.
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
      %init = tensor.empty() : tensor<2x3xf32>
      %r = scf.forall (%i) in (2) shared_outs(%o = %init) -> (tensor<2x3xf32>) {
        %row = tensor.extract_slice %x[%i, 0] [1, 3] [1, 1] : tensor<2x3xf32> to tensor<3xf32>
        %d = arith.addf %row, %row : tensor<3xf32>
        scf.forall.in_parallel {
          tensor.parallel_insert_slice %d into %o[%i, 0] [1, 3] [1, 1] : tensor<3xf32> into tensor<2x3xf32>
        }
      }
      return %r : tensor<2x3xf32>
    })mlir",
                 {makeT({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(r.size(), 1u);
  expectNear(r[0], makeT({2, 3}, {2, 4, 6, 8, 10, 12}));
}

TEST_F(InterpTest, FuncCall) {
  auto r = runOk(R"mlir(
    func.func @square(%a: f32) -> f32 {
      %s = arith.mulf %a, %a : f32
      return %s : f32
    }
    func.func @main(%a: f32) -> f32 {
      %s = func.call @square(%a) : (f32) -> f32
      %t = call @square(%s) : (f32) -> f32
      return %t : f32
    })mlir",
                 {makeT({}, {3})});
  ASSERT_EQ(r.size(), 1u);
  expectNear(r[0], makeT({}, {81}));
}

//===----------------------------------------------------------------------===//
// arith and math
//===----------------------------------------------------------------------===//

TEST_F(InterpTest, IntegerSemantics) {
  auto r = runOk(R"mlir(
    func.func @main() -> (i8, i64, i64, i32, i1, i1, i64, i64, i32) {
      %big = arith.constant 300 : i64
      %t = arith.trunci %big : i64 to i8
      %m7 = arith.constant -7 : i64
      %two = arith.constant 2 : i64
      %fd = arith.floordivsi %m7, %two : i64
      %rs = arith.remsi %m7, %two : i64
      %max = arith.constant 2147483647 : i32
      %one = arith.constant 1 : i32
      %wrap = arith.addi %max, %one : i32
      %nan = arith.constant 0x7FF8000000000000 : f64
      %uno = arith.cmpf uno, %nan, %nan : f64
      %oeq = arith.cmpf oeq, %nan, %nan : f64
      %true = arith.constant true
      %ext = arith.extsi %true : i1 to i64
      %three = arith.constant 3 : i64
      %p = math.ipowi %three, %three : i64
      %f = arith.constant -2.75 : f32
      %fi = arith.fptosi %f : f32 to i32
      return %t, %fd, %rs, %wrap, %uno, %oeq, %ext, %p, %fi : i8, i64, i64, i32, i1, i1, i64, i64, i32
    })mlir",
                 {});
  ASSERT_EQ(r.size(), 9u);
  EXPECT_EQ(r[0].data[0], 44); // 300 mod 256
  EXPECT_EQ(r[1].data[0], -4); // floor(-3.5)
  EXPECT_EQ(r[2].data[0], -1); // sign of the dividend
  EXPECT_EQ(r[3].data[0], -2147483648.0);
  EXPECT_EQ(r[4].data[0], 1);
  EXPECT_EQ(r[5].data[0], 0);
  EXPECT_EQ(r[6].data[0], -1);
  EXPECT_EQ(r[7].data[0], 27);
  EXPECT_EQ(r[8].data[0], -2);
  EXPECT_EQ(r[0].kind, ElemKind::Int);
  EXPECT_EQ(r[4].kind, ElemKind::Bool);
}

TEST_F(InterpTest, UnsignedAndSplat) {
  // -1 : i8 is 255 unsigned; splat to a dynamic shape.
  auto r = runOk(R"mlir(
    func.func @main(%n: index) -> (i32, f32, i1, tensor<?x2xf32>) {
      %m1 = arith.constant -1 : i8
      %z = arith.extui %m1 : i8 to i32
      %f = arith.uitofp %m1 : i8 to f32
      %one = arith.constant 1 : i8
      %lt = arith.cmpi ult, %one, %m1 : i8
      %s = tensor.splat %f[%n] : tensor<?x2xf32>
      return %z, %f, %lt, %s : i32, f32, i1, tensor<?x2xf32>
    })mlir",
                 {makeT({}, {2}, ElemKind::Int)});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].data[0], 255);
  EXPECT_EQ(r[1].data[0], 255);
  EXPECT_EQ(r[2].data[0], 1);
  expectNear(r[3], makeT({2, 2}, {255, 255, 255, 255}));
}

TEST_F(InterpTest, FloatMath) {
  auto r = runOk(R"mlir(
    func.func @main(%x: f32) -> (f32, f32, f32, f32, f32, f32, tensor<2xf32>) {
      %a = math.rsqrt %x : f32
      %b = math.log1p %x : f32
      %c = math.erf %x : f32
      %n = arith.constant 3 : i32
      %d = math.fpowi %x, %n : f32, i32
      %nan = arith.constant 0x7FC00000 : f32
      %e = arith.maximumf %x, %nan : f32
      %f = arith.minnumf %x, %nan : f32
      %v = arith.constant dense<[1.0, -2.0]> : tensor<2xf32>
      %w = math.absf %v : tensor<2xf32>
      return %a, %b, %c, %d, %e, %f, %w : f32, f32, f32, f32, f32, f32, tensor<2xf32>
    })mlir",
                 {makeT({}, {4})});
  ASSERT_EQ(r.size(), 7u);
  EXPECT_DOUBLE_EQ(r[0].data[0], 0.5);
  EXPECT_DOUBLE_EQ(r[1].data[0], std::log1p(4.0));
  EXPECT_DOUBLE_EQ(r[2].data[0], std::erf(4.0));
  EXPECT_DOUBLE_EQ(r[3].data[0], 64);
  EXPECT_TRUE(std::isnan(r[4].data[0]));
  EXPECT_DOUBLE_EQ(r[5].data[0], 4);
  expectNear(r[6], makeT({2}, {1, 2}));
}

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

enum class Norm { Softmax, Sigmoid, Sum, None };

/// attention written directly: scores q.k * scale, causal mask j <= i when
/// `causal`, key head h / (Hq / Hkv).
Tensor referenceAttention(const Tensor &q, const Tensor &k, const Tensor &v,
                          Norm norm, bool causal, double scale, double bias,
                          Tensor *lse = nullptr) {
  int64_t nb = q.shape[0], hq = q.shape[1], n = q.shape[2], d = q.shape[3];
  int64_t hkv = k.shape[1], m = k.shape[2], dv = v.shape[3];
  Tensor out = makeT({nb, hq, n, dv}, std::vector<double>(nb * hq * n * dv));
  if (lse)
    *lse = makeT({nb, hq, n}, std::vector<double>(nb * hq * n));
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < n; ++i) {
        int64_t hk = h / (hq / hkv);
        std::vector<double> s(m);
        double max = -INFINITY, total = 0, expSum = 0;
        int64_t last = causal ? std::min(i, m - 1) : m - 1;
        for (int64_t j = 0; j <= last; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c)
            dot += q.data[((b * hq + h) * n + i) * d + c] *
                   k.data[((b * hkv + hk) * m + j) * d + c];
          s[j] = dot * scale;
          max = std::max(max, s[j]);
          total += s[j];
        }
        for (int64_t j = 0; j <= last; ++j)
          expSum += std::exp(s[j] - max);
        if (lse)
          lse->data[(b * hq + h) * n + i] = max + std::log(expSum);
        for (int64_t j = 0; j <= last; ++j) {
          double w = norm == Norm::Softmax ? std::exp(s[j] - max) / expSum
                     : norm == Norm::Sigmoid
                         ? 1 / (1 + std::exp(-(s[j] + bias)))
                     : norm == Norm::Sum ? s[j] / total
                                         : s[j];
          for (int64_t c = 0; c < dv; ++c)
            out.data[((b * hq + h) * n + i) * dv + c] +=
                w * v.data[((b * hkv + hk) * m + j) * dv + c];
        }
      }
  return out;
}

TEST_F(InterpTest, AttentionCausalSoftmaxWithLse) {
  Tensor q = filled({1, 2, 3, 2}, 1), k = filled({1, 2, 3, 2}, 4),
         v = filled({1, 2, 3, 3}, 6);
  auto r = runOk(R"mlir(
    func.func @main(%q: tensor<1x2x3x2xf32>, %k: tensor<1x2x3x2xf32>, %v: tensor<1x2x3x3xf32>)
        -> (tensor<1x2x3x3xf32>, tensor<1x2x3xf32>) {
      %o, %l = attn.attention softmax with_lse ins(%q, %k, %v : tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x3xf32>)
          -> tensor<1x2x3x3xf32>, tensor<1x2x3xf32>
          score {
          ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
            %c = arith.constant 0.5 : f32
            %r = arith.mulf %s, %c : f32
            attn.yield %r : f32
          }
          mask {
          ^bb0(%b: index, %h: index, %i: index, %j: index):
            %m = arith.cmpi ule, %j, %i : index
            attn.yield %m : i1
          }
      return %o, %l : tensor<1x2x3x3xf32>, tensor<1x2x3xf32>
    })mlir",
                 {q, k, v});
  ASSERT_EQ(r.size(), 2u);
  Tensor lse;
  expectNear(r[0],
             referenceAttention(q, k, v, Norm::Softmax, true, 0.5, 0, &lse));
  expectNear(r[1], lse);
}

TEST_F(InterpTest, AttentionEmptyRowIsZero) {
  // The mask hides every key of row 0: its output is 0 and its lse -inf.
  auto r = runOk(R"mlir(
    func.func @main(%q: tensor<1x1x2x1xf32>, %k: tensor<1x1x2x1xf32>, %v: tensor<1x1x2x1xf32>)
        -> (tensor<1x1x2x1xf32>, tensor<1x1x2xf32>) {
      %o, %l = attn.attention softmax with_lse ins(%q, %k, %v : tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>)
          -> tensor<1x1x2x1xf32>, tensor<1x1x2xf32>
          mask {
          ^bb0(%b: index, %h: index, %i: index, %j: index):
            %m = arith.cmpi ult, %j, %i : index
            attn.yield %m : i1
          }
      return %o, %l : tensor<1x1x2x1xf32>, tensor<1x1x2xf32>
    })mlir",
                 {makeT({1, 1, 2, 1}, {1, 1}), makeT({1, 1, 2, 1}, {1, 1}),
                  makeT({1, 1, 2, 1}, {5, 7})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], makeT({1, 1, 2, 1}, {0, 5}));
  EXPECT_TRUE(std::isinf(r[1].data[0]) && r[1].data[0] < 0);
  EXPECT_DOUBLE_EQ(r[1].data[1], 1.0);
}

TEST_F(InterpTest, AttentionSigmoidSumNoneGQA) {
  // Four query heads share two key/value heads (G = 2).
  Tensor q = filled({1, 4, 3, 2}, 2), k = filled({1, 2, 4, 2}, 5),
         v = filled({1, 2, 4, 2}, 8);
  auto r = runOk(R"mlir(
    func.func @main(%q: tensor<1x4x3x2xf32>, %k: tensor<1x2x4x2xf32>, %v: tensor<1x2x4x2xf32>, %bias: f32)
        -> (tensor<1x4x3x2xf32>, tensor<1x4x3x2xf32>, tensor<1x4x3x2xf32>, tensor<1x4x3x2xf32>) {
      %a = attn.attention sigmoid ins(%q, %k, %v : tensor<1x4x3x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
          bias(%bias : f32) -> tensor<1x4x3x2xf32>
      %b = attn.attention sum ins(%q, %k, %v : tensor<1x4x3x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
          -> tensor<1x4x3x2xf32>
      %c = attn.attention none ins(%q, %k, %v : tensor<1x4x3x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
          -> tensor<1x4x3x2xf32>
      %d = attn.attention softmax ins(%q, %k, %v : tensor<1x4x3x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>)
          -> tensor<1x4x3x2xf32>
      return %a, %b, %c, %d : tensor<1x4x3x2xf32>, tensor<1x4x3x2xf32>, tensor<1x4x3x2xf32>, tensor<1x4x3x2xf32>
    })mlir",
                 {q, k, v, makeT({}, {-1.5})});
  ASSERT_EQ(r.size(), 4u);
  expectNear(r[0], referenceAttention(q, k, v, Norm::Sigmoid, false, 1, -1.5));
  expectNear(r[1], referenceAttention(q, k, v, Norm::Sum, false, 1, 0), 1e-9);
  expectNear(r[2], referenceAttention(q, k, v, Norm::None, false, 1, 0));
  expectNear(r[3], referenceAttention(q, k, v, Norm::Softmax, false, 1, 0));
}

TEST_F(InterpTest, AttentionBlockMask) {
  // Blocks of 2 queries x 2 keys; block (1, 0) hidden, so queries 2 and 3
  // see only keys 2 and 3.
  Tensor q = filled({1, 1, 4, 1}, 3), k = filled({1, 1, 4, 1}, 1),
         v = makeT({1, 1, 4, 1}, {1, 2, 3, 4});
  auto r = runOk(R"mlir(
    func.func @main(%q: tensor<1x1x4x1xf32>, %k: tensor<1x1x4x1xf32>, %v: tensor<1x1x4x1xf32>)
        -> tensor<1x1x4x1xf32> {
      %bm = arith.constant dense<[[[[true, true], [false, true]]]]> : tensor<1x1x2x2xi1>
      %o = attn.attention none ins(%q, %k, %v : tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>)
          block_mask(%bm : tensor<1x1x2x2xi1>) block_sizes = [2, 2] -> tensor<1x1x4x1xf32>
      return %o : tensor<1x1x4x1xf32>
    })mlir",
                 {q, k, v});
  ASSERT_EQ(r.size(), 1u);
  Tensor expected = makeT({1, 1, 4, 1}, {0, 0, 0, 0});
  for (int i = 0; i < 4; ++i)
    for (int j = (i < 2 ? 0 : 2); j < 4; ++j)
      expected.data[i] += q.data[i] * k.data[j] * v.data[j];
  expectNear(r[0], expected);
}

//===----------------------------------------------------------------------===//
// attn.scan
//===----------------------------------------------------------------------===//

TEST_F(InterpTest, ScanRunningSum) {
  // S_t = S_{t-1} + x[b, t], emitting S_t, for two batch rows.
  auto r =
      runOk(R"mlir(
    func.func @main(%x: tensor<2x3x2xf32>) -> (tensor<2x3x2xf32>, tensor<2x2xf32>) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %nb = tensor.dim %x, %c0 : tensor<2x3x2xf32>
      %n = tensor.dim %x, %c1 : tensor<2x3x2xf32>
      %y, %s = attn.scan batch(%nb) length(%n) linear_in_state
          -> tensor<2x3x2xf32>, tensor<2x2xf32>
          init {
          ^bb0(%b: index):
            %z = arith.constant dense<0.0> : tensor<2xf32>
            attn.yield %z : tensor<2xf32>
          }
          body {
          ^bb0(%b: index, %t: index, %S: tensor<2xf32>):
            %xt = tensor.extract_slice %x[%b, %t, 0] [1, 1, 2] [1, 1, 1]
                : tensor<2x3x2xf32> to tensor<2xf32>
            %S1 = arith.addf %S, %xt : tensor<2xf32>
            attn.scan_yield emit(%S1 : tensor<2xf32>) state(%S1 : tensor<2xf32>)
          }
      return %y, %s : tensor<2x3x2xf32>, tensor<2x2xf32>
    })mlir",
            {makeT({2, 3, 2}, {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0],
             makeT({2, 3, 2}, {1, 2, 4, 6, 9, 12, 10, 20, 40, 60, 90, 120}));
  expectNear(r[1], makeT({2, 2}, {9, 12, 90, 120}));
}

TEST_F(InterpTest, ScanChunkStartStates) {
  // S_t = S_{t-1} + 1 from S = 0; chunk 2; emits the chunk-start state,
  // which is S as of step 2 * floor(t / 2): 0, 0, 2, 2, 4.
  auto r = runOk(R"mlir(
    func.func @main() -> (tensor<5xf32>, tensor<f32>) {
      %n = arith.constant 5 : index
      %y, %s = attn.scan length(%n) chunk 2 -> tensor<5xf32>, tensor<f32>
          init {
            %z = arith.constant dense<0.0> : tensor<f32>
            attn.yield %z : tensor<f32>
          }
          body {
          ^bb0(%t: index, %S: tensor<f32>, %S0: tensor<f32>):
            %one = arith.constant dense<1.0> : tensor<f32>
            %S1 = arith.addf %S, %one : tensor<f32>
            %e = tensor.extract %S0[] : tensor<f32>
            attn.scan_yield emit(%e : f32) state(%S1 : tensor<f32>)
          }
      return %y, %s : tensor<5xf32>, tensor<f32>
    })mlir",
                 {});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], makeT({5}, {0, 0, 2, 2, 4}));
  expectNear(r[1], makeT({}, {5}));
}

//===----------------------------------------------------------------------===//
// Selections, gather, pool, conv1d
//===----------------------------------------------------------------------===//

TEST_F(InterpTest, TopKTopPArgMax) {
  auto r = runOk(R"mlir(
    func.func @main(%x: tensor<2x4xf32>, %mass: f32) -> (tensor<2x2xi32>, tensor<2x4xi1>, tensor<2xi32>) {
      %k = attn.topk %x k = 2 : tensor<2x4xf32> -> tensor<2x2xi32>
      %p = attn.topp %x, %mass : tensor<2x4xf32> -> tensor<2x4xi1>
      %a = attn.argmax %x : tensor<2x4xf32> -> tensor<2xi32>
      return %k, %p, %a : tensor<2x2xi32>, tensor<2x4xi1>, tensor<2xi32>
    })mlir",
                 {makeT({2, 4}, {0.1, 0.4, 0.4, 0.1, 0.05, 0.05, 0.1, 0.2}),
                  makeT({}, {0.75})});
  ASSERT_EQ(r.size(), 3u);
  // Row 0: 0.4 at 1 and 2 (tie: 1 first). Row 1: 0.2 at 3, then 0.1 at 2.
  expectNear(r[0], makeT({2, 2}, {1, 2, 3, 2}));
  // Row 0: 0.4 + 0.4 = 0.8 >= 0.75 with two entries. Row 1: total 0.4 <
  // 0.75, everything.
  expectNear(r[1], makeT({2, 4}, {0, 1, 1, 0, 1, 1, 1, 1}));
  expectNear(r[2], makeT({2}, {1, 3}));
}

TEST_F(InterpTest, GatherPoolConv1D) {
  auto r = runOk(R"mlir(
    func.func @main(%src: tensor<3x2xf32>, %idx: tensor<2x2xi32>, %w: tensor<2x2xf32>)
        -> (tensor<2x2x2xf32>, tensor<1x2xf32>, tensor<3x2xf32>) {
      %g = attn.gather %src[%idx] : tensor<3x2xf32>, tensor<2x2xi32> -> tensor<2x2x2xf32>
      %e = tensor.extract_slice %src[0, 0] [2, 2] [1, 1] : tensor<3x2xf32> to tensor<2x2xf32>
      %p = attn.pool %e block_size = 2 : tensor<2x2xf32> -> tensor<1x2xf32>
      %c = attn.conv1d %src, %w : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
      return %g, %p, %c : tensor<2x2x2xf32>, tensor<1x2xf32>, tensor<3x2xf32>
    })mlir",
                 {makeT({3, 2}, {1, 2, 3, 4, 5, 6}),
                  makeT({2, 2}, {2, 0, 1, 1}, ElemKind::Int),
                  makeT({2, 2}, {10, 100, 1, 2})});
  ASSERT_EQ(r.size(), 3u);
  expectNear(r[0], makeT({2, 2, 2}, {5, 6, 1, 2, 3, 4, 3, 4}));
  expectNear(r[1], makeT({1, 2}, {2, 3}));
  // r[n, c] = w[0, c] * x[n - 1, c] + w[1, c] * x[n, c]
  expectNear(r[2], makeT({3, 2}, {1, 4, 10 + 3, 200 + 8, 30 + 5, 400 + 12}));
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_F(InterpTest, UnsupportedOpIsAnError) {
  FailureOr<std::vector<Tensor>> r = runMain(R"mlir(
    func.func @main(%x: f32) -> f32 {
      %y = math.atan %x : f32
      return %y : f32
    })mlir",
                                             {makeT({}, {1})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("the interpreter does not support 'math.atan'"),
            std::string::npos)
      << diagnostics;
}

TEST_F(InterpTest, OutOfBoundsExtractIsAnError) {
  FailureOr<std::vector<Tensor>> r = runMain(R"mlir(
    func.func @main(%x: tensor<?xf32>) -> f32 {
      %c5 = arith.constant 5 : index
      %y = tensor.extract %x[%c5] : tensor<?xf32>
      return %y : f32
    })mlir",
                                             {makeT({2}, {1, 2})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("'tensor.extract': index [5] out of bounds"),
            std::string::npos)
      << diagnostics;
}

TEST_F(InterpTest, OutOfBoundsSliceIsAnError) {
  FailureOr<std::vector<Tensor>> r = runMain(R"mlir(
    func.func @main(%x: tensor<?xf32>) -> tensor<2xf32> {
      %c1 = arith.constant 1 : index
      %y = tensor.extract_slice %x[%c1] [2] [1] : tensor<?xf32> to tensor<2xf32>
      return %y : tensor<2xf32>
    })mlir",
                                             {makeT({2}, {1, 2})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("'tensor.extract_slice': slice out of bounds"),
            std::string::npos)
      << diagnostics;
}

TEST_F(InterpTest, ArgumentOfWrongShapeIsAnError) {
  FailureOr<std::vector<Tensor>> r = runMain(R"mlir(
    func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
      return %x : tensor<3xf32>
    })mlir",
                                             {makeT({2}, {1, 2})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("does not match its type"), std::string::npos)
      << diagnostics;
}

TEST_F(InterpTest, GradIsAnError) {
  FailureOr<std::vector<Tensor>> r =
      runMain(R"mlir(
    func.func @main(%w: tensor<4xf32>, %x: f32) -> tensor<4xf32> {
      %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>
          loss {
          ^bb0(%a: tensor<4xf32>):
            %c0 = arith.constant 0 : index
            %a0 = tensor.extract %a[%c0] : tensor<4xf32>
            %l = arith.mulf %a0, %x : f32
            attn.yield %l : f32
          }
      return %g : tensor<4xf32>
    })mlir",
              {makeT({4}, {1, 2, 3, 4}), makeT({}, {2})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("attn.grad must be expanded by "
                             "--attn-differentiate before it is interpreted"),
            std::string::npos)
      << diagnostics;
}

TEST_F(InterpTest, DivisionByZeroIsAnError) {
  FailureOr<std::vector<Tensor>> r = runMain(R"mlir(
    func.func @main(%a: i32) -> i32 {
      %z = arith.constant 0 : i32
      %q = arith.divsi %a, %z : i32
      return %q : i32
    })mlir",
                                             {makeT({}, {1}, ElemKind::Int)});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("divides by zero"), std::string::npos)
      << diagnostics;
}

} // namespace
