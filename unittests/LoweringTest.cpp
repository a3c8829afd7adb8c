//===- LoweringTest.cpp - attn-lower-scan/selection against the interpreter ==//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// The lowering passes must not change what a program computes. Each test
// builds the IR of a reference program from examples/*.attn (with small
// constants and sizes), runs the entry on the float64 interpreter on seeded
// random inputs, applies attn-lower-scan and attn-lower-selection, checks
// that no attn.scan/topk/topp/argmax/gather/pool/conv1d is left, runs the
// entry again on the same inputs and compares: the largest absolute
// difference must be at most 1e-12 (the lowered loops do the same float
// operations in the same order, so it is 0 in practice). Small hand-written
// modules cover what the programs do not: ties, NaN, chunked scans without
// batch dimensions, scalar emits, gather, conv1d.
//
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/MLIRGen.h"
#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Sema.h"
#include "attnc/InitAll.h"
#include "attnc/Interp/Interpreter.h"
#include "attnc/Support/Random.h"
#include "attnc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#ifndef ATTNC_SOURCE_DIR
#error "ATTNC_SOURCE_DIR must name the source tree (for examples/)"
#endif

using namespace mlir;
using ::attnc::interp::ElemKind;
using ::attnc::interp::Tensor;

namespace {

/// The ops the two passes remove.
bool isLoweredOp(Operation *op) {
  return llvm::is_contained({"attn.scan", "attn.topk", "attn.topp",
                             "attn.argmax", "attn.gather", "attn.pool",
                             "attn.conv1d"},
                            op->getName().getStringRef());
}

/// Parameters drawn from (0, 1) instead of N(0, 1), as `attnc run` does.
bool isGateName(llvm::StringRef name) {
  return llvm::is_contained(
      {"alpha", "beta", "gamma", "eta", "theta", "g", "gate"}, name);
}

class LoweringTest : public ::testing::Test {
protected:
  LoweringTest() {
    DialectRegistry registry;
    mlir::attnc::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Builds the IR of examples/`file` with the constant `overrides`, and
  /// the inputs of `entry` with the `sizes` of its size symbols (seeded).
  void buildProgram(const std::string &file, const std::string &entry,
                    const std::map<std::string, int64_t> &overrides,
                    const std::map<std::string, int64_t> &sizes,
                    std::vector<Tensor> &args) {
    std::string frontendErrors;
    ::attnc::DiagnosticEngine diags(
        [&](const std::string &message) { frontendErrors += message + "\n"; });
    std::string path = std::string(ATTNC_SOURCE_DIR) + "/examples/" + file;
    ast = ::attnc::parseFile(path, diags);
    ASSERT_TRUE(ast) << frontendErrors;
    ::attnc::CheckOptions options;
    for (const auto &[name, value] : overrides)
      options.overrides[name] = ::attnc::ConstValue::ofInt(value);
    ASSERT_TRUE(::attnc::checkModule(*ast, diags, options)) << frontendErrors;

    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    module = ::attnc::mlirGen(context, *ast);
    ASSERT_TRUE(module) << diagnostics;

    const ::attnc::FnDecl *fn = nullptr;
    for (const ::attnc::DeclPtr &decl : ast->decls)
      if (auto *f = llvm::dyn_cast<::attnc::FnDecl>(decl.get()))
        if (f->getName() == entry)
          fn = f;
    ASSERT_TRUE(fn) << "no fn " << entry;
    std::map<std::string, ::attnc::DimExpr> bindings;
    for (const auto &[name, value] : sizes)
      bindings[name] = ::attnc::DimExpr::constant(value);
    // A group parameter is passed member by member, as MLIRGen flattens it.
    std::function<void(const std::string &, const ::attnc::ValueType &)> add =
        [&](const std::string &name, const ::attnc::ValueType &type) {
          if (!type.isTensor()) {
            for (const auto &[member, memberType] : type.getMembers())
              add(name + "." + member, memberType);
            return;
          }
          Tensor t;
          ::attnc::ElemType elem = type.getElemType();
          t.kind = elem == ::attnc::ElemType::I1 ? ElemKind::Bool
                   : ::attnc::isInteger(elem)    ? ElemKind::Int
                                                 : ElemKind::Float;
          for (const ::attnc::DimExpr &dim : type.getShape()) {
            std::optional<int64_t> extent =
                dim.substitute(bindings).getConstant();
            ASSERT_TRUE(extent)
                << "no size for " << dim.str() << " of " << name;
            t.shape.push_back(*extent);
          }
          ::attnc::SplitMix64 rng(1234 ^ ::attnc::fnv1a64(name));
          t.data.resize(t.numElements());
          for (double &x : t.data) {
            if (t.kind == ElemKind::Bool)
              x = double(rng.next() >> 63);
            else if (t.kind == ElemKind::Int)
              x = double(rng.below(2));
            else if (isGateName(name))
              x = static_cast<float>(rng.uniformOpen());
            else
              x = static_cast<float>(rng.normal());
          }
          args.push_back(std::move(t));
        };
    for (const ::attnc::Param &param : fn->params) {
      ASSERT_TRUE(param.checkedType) << param.name;
      add(param.name, *param.checkedType);
    }
  }

  /// Runs @`entry` of `module` on `args`.
  std::vector<Tensor> run(const std::string &entry,
                          const std::vector<Tensor> &args) {
    auto func = module->lookupSymbol<func::FuncOp>(entry);
    EXPECT_TRUE(func) << "no func.func @" << entry;
    if (!func)
      return {};
    diagnostics.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    FailureOr<std::vector<Tensor>> results = ::attnc::interp::run(func, args);
    EXPECT_TRUE(succeeded(results)) << diagnostics;
    return succeeded(results) ? *results : std::vector<Tensor>();
  }

  /// Runs `pipeline` on the module, expecting success.
  void applyPasses(bool differentiate, bool lower) {
    diagnostics.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    PassManager pm(&context);
    if (differentiate)
      pm.addPass(mlir::attnc::createAttnDifferentiatePass());
    if (lower) {
      pm.addNestedPass<func::FuncOp>(mlir::attnc::createAttnLowerScanPass());
      pm.addNestedPass<func::FuncOp>(
          mlir::attnc::createAttnLowerSelectionPass());
    }
    ASSERT_TRUE(succeeded(pm.run(*module))) << diagnostics;
  }

  /// The number of ops the passes should have removed.
  int countLoweredOps() {
    int count = 0;
    module->walk([&](Operation *op) { count += isLoweredOp(op); });
    return count;
  }

  /// Interprets @`entry` before and after the passes and compares.
  void checkLowering(const std::string &entry, const std::vector<Tensor> &args,
                     int expectLowered) {
    std::vector<Tensor> before = run(entry, args);
    ASSERT_FALSE(before.empty());
    EXPECT_GE(countLoweredOps(), expectLowered);
    applyPasses(/*differentiate=*/false, /*lower=*/true);
    EXPECT_EQ(countLoweredOps(), 0);
    std::vector<Tensor> after = run(entry, args);
    ASSERT_EQ(after.size(), before.size());
    double maxDiff = 0, maxAbs = 0;
    for (size_t r = 0; r < before.size(); ++r) {
      ASSERT_EQ(after[r].shape, before[r].shape) << "result " << r;
      ASSERT_EQ(after[r].data.size(), before[r].data.size());
      for (size_t i = 0; i < before[r].data.size(); ++i) {
        double a = after[r].data[i], b = before[r].data[i];
        if (std::isnan(a) || std::isnan(b)) {
          EXPECT_TRUE(std::isnan(a) && std::isnan(b))
              << "result " << r << " element " << i << ": " << a << " vs " << b;
          continue;
        }
        maxDiff = std::max(maxDiff, std::fabs(a - b));
        maxAbs = std::max(maxAbs, std::fabs(b));
      }
    }
    EXPECT_LE(maxDiff, 1e-12) << entry;
    // A result that is all zeros would compare equal whatever the passes do.
    EXPECT_GT(maxAbs, 0.0) << entry;
    RecordProperty("max_abs_diff", std::to_string(maxDiff));
    llvm::errs() << entry << ": " << before.size()
                 << " result(s), max abs diff " << maxDiff << " (max abs value "
                 << maxAbs << ")\n";
  }

  /// buildProgram, optionally attn-differentiate, then checkLowering.
  void checkProgram(const std::string &file, const std::string &entry,
                    const std::map<std::string, int64_t> &overrides,
                    const std::map<std::string, int64_t> &sizes,
                    int expectLowered, bool differentiate = false) {
    std::vector<Tensor> args;
    buildProgram(file, entry, overrides, sizes, args);
    if (HasFatalFailure())
      return;
    if (differentiate)
      applyPasses(/*differentiate=*/true, /*lower=*/false);
    checkLowering(entry, args, expectLowered);
  }

  /// Parses `source` as the module.
  void parse(StringRef source) {
    diagnostics.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    module = parseSourceString<ModuleOp>(source, &context);
    ASSERT_TRUE(module) << diagnostics;
  }

  MLIRContext context;
  std::unique_ptr<::attnc::Module> ast;
  OwningOpRef<ModuleOp> module;
  std::string diagnostics;
};

Tensor makeT(std::vector<int64_t> shape, std::vector<double> data,
             ElemKind kind = ElemKind::Float) {
  Tensor t;
  t.kind = kind;
  t.shape = std::move(shape);
  t.data = std::move(data);
  return t;
}

//===----------------------------------------------------------------------===//
// The reference programs
//===----------------------------------------------------------------------===//

TEST_F(LoweringTest, FlexPrefill) {
  // pool (q and k) and topp over N / BS = 4 blocks.
  checkProgram("r05_flexprefill.attn", "flexprefill",
               {{"H", 2}, {"D", 4}, {"BS", 2}}, {{"B", 2}, {"N", 8}}, 3);
}

TEST_F(LoweringTest, RoutingAttention) {
  checkProgram("r06_routing_attention.attn", "routing_attention",
               {{"H", 2}, {"D", 4}, {"C", 3}}, {{"B", 2}, {"N", 7}}, 2);
}

TEST_F(LoweringTest, LinearAttention) {
  checkProgram("r07_linear_attention.attn", "linear_attention",
               {{"H", 2}, {"Dk", 4}, {"Dv", 3}}, {{"B", 2}, {"N", 7}}, 1);
}

TEST_F(LoweringTest, RetNet) {
  checkProgram("r08_gated_linear_attention.attn", "retnet",
               {{"H", 2}, {"Dk", 4}, {"Dv", 3}}, {{"B", 2}, {"N", 7}}, 1);
}

TEST_F(LoweringTest, GatedLinearAttention) {
  checkProgram("r08_gated_linear_attention.attn", "gla",
               {{"H", 2}, {"Dk", 4}, {"Dv", 3}}, {{"B", 2}, {"N", 7}}, 1);
}

TEST_F(LoweringTest, GatedDeltaRule) {
  checkProgram("r09_gated_delta_rule.attn", "gated_delta_rule",
               {{"H", 2}, {"Dk", 4}, {"Dv", 3}}, {{"B", 2}, {"N", 7}}, 1);
}

TEST_F(LoweringTest, Titans) {
  // Chunks of 3 over N = 7: two full chunks and a partial one.
  checkProgram("r10_titans.attn", "titans",
               {{"H", 2}, {"D", 4}, {"Hid", 6}, {"C", 3}}, {{"B", 2}, {"N", 7}},
               1, /*differentiate=*/true);
}

TEST_F(LoweringTest, MixtureOfHeads) {
  checkProgram("r11_mixture_of_heads.attn", "moh",
               {{"H", 4}, {"Hs", 1}, {"K", 2}, {"D", 4}, {"Dm", 8}},
               {{"B", 2}, {"N", 7}}, 1);
}

//===----------------------------------------------------------------------===//
// Hand-written cases
//===----------------------------------------------------------------------===//

TEST_F(LoweringTest, SelectionTiesAndNaN) {
  parse(R"mlir(
    func.func @main(%x: tensor<4x6xf32>, %mass: f32)
        -> (tensor<4x3xi32>, tensor<4x6xi1>, tensor<4xi32>, tensor<6xi32>,
            tensor<6xi1>) {
      %k = attn.topk %x k = 3 : tensor<4x6xf32> -> tensor<4x3xi32>
      %p = attn.topp %x, %mass : tensor<4x6xf32> -> tensor<4x6xi1>
      %a = attn.argmax %x : tensor<4x6xf32> -> tensor<4xi32>
      %c = arith.constant 0 : index
      %row = tensor.extract_slice %x[0, 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<6xf32>
      %k1 = attn.topk %row k = 6 : tensor<6xf32> -> tensor<6xi32>
      %p1 = attn.topp %row, %mass : tensor<6xf32> -> tensor<6xi1>
      return %k, %p, %a, %k1, %p1 : tensor<4x3xi32>, tensor<4x6xi1>, tensor<4xi32>, tensor<6xi32>, tensor<6xi1>
    })mlir");
  double nan = std::nan("");
  // Ties, NaN first and in the middle, -0 and +0, negative mass prefixes,
  // and a row whose total is below the mass.
  Tensor x = makeT({4, 6}, {0.5, 0.25, 0.5, -1,  0.25, 0.5,  //
                            nan, 0.1,  nan, 0.7, 0.7,  -0.0, //
                            0.0, -0.0, 0.9, -2,  0.8,  0.6,  //
                            0.1, 0.1,  0.1, 0.1, 0.1,  0.1});
  std::vector<Tensor> before = run("main", {x, makeT({}, {1.0})});
  ASSERT_EQ(before.size(), 5u);
  // Row 0: 0.5 at 0, 2, 5 (ties to the lower index), then 0.25 at 1, 4.
  EXPECT_EQ(before[3].data, (std::vector<double>{0, 2, 5, 1, 4, 3}));
  // Row 1: NaN ranks last; argmax is the first 0.7.
  EXPECT_EQ(before[2].data[1], 3);
  // A single row (no row dimensions): 0.5 at 0 and 2 reach the mass 1.
  EXPECT_EQ(before[4].data, (std::vector<double>{1, 0, 1, 0, 0, 0}));
  applyPasses(false, true);
  EXPECT_EQ(countLoweredOps(), 0);
  std::vector<Tensor> after = run("main", {x, makeT({}, {1.0})});
  ASSERT_EQ(after.size(), 5u);
  for (size_t r = 0; r < 5; ++r)
    EXPECT_EQ(after[r].data, before[r].data) << "result " << r;
}

TEST_F(LoweringTest, GatherPoolConv1D) {
  parse(R"mlir(
    func.func @main(%src: tensor<5x3xf32>, %idx: tensor<2x2xi32>,
                    %x: tensor<?x3xf32>, %w: tensor<4x3xf32>)
        -> (tensor<2x2x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>) {
      %g = attn.gather %src[%idx] : tensor<5x3xf32>, tensor<2x2xi32> -> tensor<2x2x3xf32>
      %p = attn.pool %x block_size = 3 : tensor<?x3xf32> -> tensor<?x3xf32>
      %c = attn.conv1d %x, %w : tensor<?x3xf32>, tensor<4x3xf32> -> tensor<?x3xf32>
      return %g, %p, %c : tensor<2x2x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>
    })mlir");
  std::vector<Tensor> args;
  ::attnc::SplitMix64 rng(7);
  auto random = [&](std::vector<int64_t> shape) {
    Tensor t = makeT(shape, {});
    t.data.resize(t.numElements());
    for (double &v : t.data)
      v = rng.normal();
    return t;
  };
  args.push_back(random({5, 3}));
  args.push_back(makeT({2, 2}, {4, 0, 2, 4}, ElemKind::Int));
  args.push_back(random({6, 3}));
  args.push_back(random({4, 3}));
  checkLowering("main", args, 3);
}

TEST_F(LoweringTest, ScanWithoutBatchChunkedScalarEmit) {
  // A chunked scan without batch dimensions, emitting a scalar: the emit is
  // S_t + C_t (the state and its chunk-start value), so the chunk-start
  // states are observable.
  parse(R"mlir(
    func.func @main(%x: tensor<?xf32>) -> (tensor<?xf32>, tensor<f32>) {
      %c0 = arith.constant 0 : index
      %n = tensor.dim %x, %c0 : tensor<?xf32>
      %y, %s = attn.scan length(%n) chunk 3 -> tensor<?xf32>, tensor<f32>
        init {
          %z = arith.constant dense<0.0> : tensor<f32>
          attn.yield %z : tensor<f32>
        } body {
        ^bb0(%t: index, %S: tensor<f32>, %C: tensor<f32>):
          %xt = tensor.extract %x[%t] : tensor<?xf32>
          %sv = tensor.extract %S[] : tensor<f32>
          %cv = tensor.extract %C[] : tensor<f32>
          %s1 = arith.addf %sv, %xt : f32
          %e = arith.addf %s1, %cv : f32
          %S1 = tensor.from_elements %s1 : tensor<f32>
          attn.scan_yield emit(%e : f32) state(%S1 : tensor<f32>)
        }
      return %y, %s : tensor<?xf32>, tensor<f32>
    })mlir");
  checkLowering("main", {makeT({7}, {1, 2, 3, 4, 5, 6, 7})}, 1);
}

TEST_F(LoweringTest, ScanTwoBatchDimsTwoStates) {
  parse(R"mlir(
    func.func @main(%x: tensor<?x2x?x3xf32>) -> (tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>) {
      %c0 = arith.constant 0 : index
      %c2 = arith.constant 2 : index
      %b = tensor.dim %x, %c0 : tensor<?x2x?x3xf32>
      %n = tensor.dim %x, %c2 : tensor<?x2x?x3xf32>
      %two = arith.constant 2 : index
      %y, %s, %m = attn.scan batch(%b, %two) length(%n) chunk 2 -> tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>
        init {
        ^bb0(%i: index, %j: index):
          %z = arith.constant dense<0.0> : tensor<3xf32>
          %o = arith.constant dense<1.0> : tensor<f32>
          attn.yield %z, %o : tensor<3xf32>, tensor<f32>
        } body {
        ^bb0(%i: index, %j: index, %t: index, %S: tensor<3xf32>, %M: tensor<f32>, %CS: tensor<3xf32>, %CM: tensor<f32>):
          %xt = tensor.extract_slice %x[%i, %j, %t, 0] [1, 1, 1, 3] [1, 1, 1, 1] : tensor<?x2x?x3xf32> to tensor<3xf32>
          %S1 = arith.addf %S, %xt : tensor<3xf32>
          %e = arith.mulf %S1, %CS : tensor<3xf32>
          %M1 = arith.mulf %M, %CM : tensor<f32>
          %h = arith.constant dense<0.5> : tensor<f32>
          %M2 = arith.addf %M1, %h : tensor<f32>
          attn.scan_yield emit(%e : tensor<3xf32>) state(%S1, %M2 : tensor<3xf32>, tensor<f32>)
        }
      return %y, %s, %m : tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>
    })mlir");
  Tensor x = makeT({2, 2, 5, 3}, {});
  for (int i = 0; i < 60; ++i)
    x.data.push_back(0.1 * ((i * 7) % 11) - 0.5);
  checkLowering("main", {x}, 1);
}

TEST_F(LoweringTest, NestedScans) {
  // The inner scan (innermost first) reads the outer time index and state.
  parse(R"mlir(
    func.func @main(%x: tensor<?xf32>) -> (tensor<?x3xf32>, tensor<f32>) {
      %c0 = arith.constant 0 : index
      %c3 = arith.constant 3 : index
      %n = tensor.dim %x, %c0 : tensor<?xf32>
      %y, %s = attn.scan length(%n) -> tensor<?x3xf32>, tensor<f32>
        init {
          %z = arith.constant dense<1.0> : tensor<f32>
          attn.yield %z : tensor<f32>
        } body {
        ^bb0(%t: index, %S: tensor<f32>):
          %xt = tensor.extract %x[%t] : tensor<?xf32>
          %sv = tensor.extract %S[] : tensor<f32>
          %row, %last = attn.scan length(%c3) -> tensor<3xf32>, tensor<f32>
            init {
              attn.yield %S : tensor<f32>
            } body {
            ^bb0(%u: index, %A: tensor<f32>):
              %av = tensor.extract %A[] : tensor<f32>
              %a1 = arith.mulf %av, %xt : f32
              %a2 = arith.addf %a1, %sv : f32
              %A1 = tensor.from_elements %a2 : tensor<f32>
              attn.scan_yield emit(%a2 : f32) state(%A1 : tensor<f32>)
            }
          attn.scan_yield emit(%row : tensor<3xf32>) state(%last : tensor<f32>)
        }
      return %y, %s : tensor<?x3xf32>, tensor<f32>
    })mlir");
  checkLowering("main", {makeT({4}, {0.5, -0.25, 0.75, 0.125})}, 2);
}

TEST_F(LoweringTest, GradIsAnError) {
  parse(R"mlir(
    func.func @main(%w: tensor<4xf32>) -> tensor<4xf32> {
      %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>
          loss {
          ^bb0(%a: tensor<4xf32>):
            %c0 = arith.constant 0 : index
            %a0 = tensor.extract %a[%c0] : tensor<4xf32>
            attn.yield %a0 : f32
          }
      return %g : tensor<4xf32>
    })mlir");
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    return success();
  });
  PassManager pm(&context);
  pm.addNestedPass<func::FuncOp>(mlir::attnc::createAttnLowerScanPass());
  EXPECT_TRUE(failed(pm.run(*module)));
  EXPECT_NE(diagnostics.find("run attn-differentiate first"), std::string::npos)
      << diagnostics;
}

} // namespace
