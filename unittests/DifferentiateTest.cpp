//===- DifferentiateTest.cpp - attn-differentiate against finite diffs ----===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Checks the adjoints of attn-differentiate numerically. Each case is a
/// loss body over one or more `wrt` tensors; the test builds
///
///   func.func @grad(wrt...) -> grads...   (an attn.grad, then the pass)
///   func.func @loss(wrt...) -> f32-tensor (the body as a plain function)
///
/// runs @grad in the float64 interpreter and compares every gradient entry
/// with the central finite difference (L(w + h e) - L(w - h e)) / 2h of
/// @loss, also run in the interpreter.
///
//===----------------------------------------------------------------------===//

#include "attnc/InitAll.h"
#include "attnc/Interp/Interpreter.h"
#include "attnc/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "gtest/gtest.h"

#include <cmath>
#include <string>
#include <vector>

using attnc::interp::Tensor;

namespace {

struct Arg {
  std::string type; // e.g. "tensor<3x4xf32>"
  std::vector<int64_t> shape;
};

/// Deterministic, non-symmetric test values in about [-1, 1].
Tensor makeInput(const Arg &arg, int salt) {
  Tensor t;
  t.shape = arg.shape;
  int64_t n = 1;
  for (int64_t d : arg.shape)
    n *= d;
  for (int64_t i = 0; i < n; ++i)
    t.data.push_back(std::sin(0.7 * (i + 1) + 1.3 * salt) * 0.9 + 0.05);
  return t;
}

/// Builds the module for `body` (which uses %a0, %a1, ... and yields %loss
/// with `attn.yield %loss : f32`), differentiates @grad, checks every
/// gradient entry against central differences of @loss.
void checkGradient(const std::vector<Arg> &args, const std::string &body) {
  mlir::DialectRegistry registry;
  mlir::attnc::registerAllDialects(registry);
  mlir::attnc::registerAllExtensions(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::string params, types, blockArgs, argNames;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string sep = i ? ", " : "";
    params += sep + "%w" + std::to_string(i) + ": " + args[i].type;
    types += sep + args[i].type;
    blockArgs += sep + "%a" + std::to_string(i) + ": " + args[i].type;
    argNames += sep + "%w" + std::to_string(i);
  }
  std::string lossParams;
  for (size_t i = 0; i < args.size(); ++i)
    lossParams += std::string(i ? ", " : "") + "%a" + std::to_string(i) + ": " +
                  args[i].type;
  std::string lossBody = body;
  size_t at = lossBody.rfind("attn.yield");
  ASSERT_NE(at, std::string::npos);
  lossBody = lossBody.substr(0, at) +
             "%lt = tensor.from_elements %loss : tensor<f32>\n"
             "return %lt : tensor<f32>\n";
  std::string source = "func.func @grad(" + params + ") -> (" + types +
                       ") {\n" + "  %g:" + std::to_string(args.size()) +
                       " = attn.grad(" + argNames + " : " + types + ") -> " +
                       types + " loss {\n  ^bb0(" + blockArgs + "):\n" + body +
                       "\n  }\n  return %g#0" +
                       [&] {
                         std::string rest;
                         for (size_t i = 1; i < args.size(); ++i)
                           rest += ", %g#" + std::to_string(i);
                         return rest;
                       }() +
                       " : " + types + "\n}\n" + "func.func @loss(" +
                       lossParams + ") -> tensor<f32> {\n" + lossBody + "}\n";

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  ASSERT_TRUE(module) << source;
  mlir::PassManager pm(&context);
  pm.addPass(mlir::attnc::createAttnDifferentiatePass());
  ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << source;

  auto gradFn = module->lookupSymbol<mlir::func::FuncOp>("grad");
  auto lossFn = module->lookupSymbol<mlir::func::FuncOp>("loss");
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < args.size(); ++i)
    inputs.push_back(makeInput(args[i], static_cast<int>(i)));

  mlir::FailureOr<std::vector<Tensor>> grads =
      attnc::interp::run(gradFn, inputs);
  ASSERT_TRUE(mlir::succeeded(grads));
  auto lossAt = [&](const std::vector<Tensor> &in) {
    mlir::FailureOr<std::vector<Tensor>> l = attnc::interp::run(lossFn, in);
    EXPECT_TRUE(mlir::succeeded(l));
    return mlir::succeeded(l) ? (*l)[0].data[0] : NAN;
  };
  const double h = 1e-5;
  for (size_t i = 0; i < args.size(); ++i) {
    for (size_t e = 0; e < inputs[i].data.size(); ++e) {
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[i].data[e] += h;
      minus[i].data[e] -= h;
      double fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
      double ad = (*grads)[i].data[e];
      EXPECT_NEAR(ad, fd, 1e-6 * std::max(1.0, std::abs(fd)))
          << "argument " << i << " element " << e;
    }
  }
}

const char *kSumPrologue = R"(
    %zero = arith.constant 0.0 : f32
    %e0 = tensor.empty() : tensor<f32>
    %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
)";

TEST(Differentiate, ScalarMath) {
  checkGradient({{"tensor<f32>", {}}, {"tensor<f32>", {}}}, R"(
    %x = tensor.extract %a0[] : tensor<f32>
    %y = tensor.extract %a1[] : tensor<f32>
    %e = math.exp %x : f32
    %s = math.sin %y : f32
    %m = arith.mulf %e, %s : f32
    %d = arith.divf %m, %e : f32
    %t = math.tanh %d : f32
    %c = math.cos %x : f32
    %sq = arith.mulf %c, %c : f32
    %one = arith.constant 1.5 : f32
    %p = arith.addf %sq, %one : f32
    %l = math.log %p : f32
    %r = math.sqrt %p : f32
    %q = math.rsqrt %p : f32
    %er = math.erf %y : f32
    %em = math.expm1 %x : f32
    %lp = math.log1p %p : f32
    %ab = math.absf %y : f32
    %pw = math.powf %p, %y : f32
    %two = arith.constant 3 : i32
    %pi = math.fpowi %x, %two : f32, i32
    %mx = arith.maximumf %x, %y : f32
    %mn = arith.minimumf %x, %y : f32
    %n = arith.negf %mn : f32
    %sub = arith.subf %mx, %n : f32
    %s1 = arith.addf %t, %l : f32
    %s2 = arith.addf %s1, %r : f32
    %s3 = arith.addf %s2, %q : f32
    %s4 = arith.addf %s3, %er : f32
    %s5 = arith.addf %s4, %em : f32
    %s6 = arith.addf %s5, %lp : f32
    %s7 = arith.addf %s6, %ab : f32
    %s8 = arith.addf %s7, %pw : f32
    %s9 = arith.addf %s8, %pi : f32
    %loss = arith.addf %s9, %sub : f32
    attn.yield %loss : f32
  )");
}

TEST(Differentiate, ElementwiseAndBroadcast) {
  checkGradient({{"tensor<3x4xf32>", {3, 4}},
                 {"tensor<4xf32>", {4}},
                 {"tensor<1x4xf32>", {1, 4}},
                 {"tensor<f32>", {}}},
                std::string(kSumPrologue) + R"(
    %s = tensor.extract %a3[] : tensor<f32>
    %gen = tensor.generate {
    ^bb0(%i: index, %j: index):
      %c0 = arith.constant 0 : index
      %x = tensor.extract %a0[%i, %j] : tensor<3x4xf32>
      %w = tensor.extract %a1[%j] : tensor<4xf32>
      %v = tensor.extract %a2[%c0, %j] : tensor<1x4xf32>
      %p = arith.mulf %x, %w : f32
      %q = arith.addf %p, %v : f32
      %t = math.tanh %q : f32
      %u = arith.mulf %t, %s : f32
      %neg = arith.negf %x : f32
      %ex = math.exp %neg : f32
      %o = arith.addf %u, %ex : f32
      %c2 = arith.constant 2 : i32
      %sq = math.fpowi %o, %c2 : f32, i32
      tensor.yield %sq : f32
    } : tensor<3x4xf32>
    %r = linalg.reduce { arith.addf } ins(%gen : tensor<3x4xf32>)
        outs(%f0 : tensor<f32>) dimensions = [0, 1]
    %loss = tensor.extract %r[] : tensor<f32>
    attn.yield %loss : f32
  )");
}

TEST(Differentiate, MatvecMatmulSoftmax) {
  checkGradient({{"tensor<3x4xf32>", {3, 4}},
                 {"tensor<4xf32>", {4}},
                 {"tensor<4x2xf32>", {4, 2}}},
                std::string(kSumPrologue) + R"(
    %ev = tensor.empty() : tensor<3xf32>
    %fv = linalg.fill ins(%zero : f32) outs(%ev : tensor<3xf32>) -> tensor<3xf32>
    %y = linalg.matvec ins(%a0, %a1 : tensor<3x4xf32>, tensor<4xf32>)
        outs(%fv : tensor<3xf32>) -> tensor<3xf32>
    %em = tensor.empty() : tensor<3x2xf32>
    %fm = linalg.fill ins(%zero : f32) outs(%em : tensor<3x2xf32>) -> tensor<3x2xf32>
    %m = linalg.matmul ins(%a0, %a2 : tensor<3x4xf32>, tensor<4x2xf32>)
        outs(%fm : tensor<3x2xf32>) -> tensor<3x2xf32>
    %es = tensor.empty() : tensor<3x2xf32>
    %sm = linalg.softmax dimension(1) ins(%m : tensor<3x2xf32>)
        outs(%es : tensor<3x2xf32>) -> tensor<3x2xf32>
    %et = tensor.empty() : tensor<2x3xf32>
    %tr = linalg.transpose ins(%sm : tensor<3x2xf32>)
        outs(%et : tensor<2x3xf32>) permutation = [1, 0]
    %w = tensor.generate {
    ^bb0(%i: index, %j: index):
      %t = tensor.extract %tr[%i, %j] : tensor<2x3xf32>
      %yy = tensor.extract %y[%j] : tensor<3xf32>
      %p = arith.mulf %t, %yy : f32
      %c = arith.constant 0 : index
      %k = arith.index_cast %i : index to i32
      %kf = arith.sitofp %k : i32 to f32
      %q = arith.mulf %p, %kf : f32
      %r = arith.addf %q, %yy : f32
      tensor.yield %r : f32
    } : tensor<2x3xf32>
    %ed = tensor.empty() : tensor<2xf32>
    %fd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2xf32>) -> tensor<2xf32>
    %mx = linalg.reduce { arith.maximumf } ins(%w : tensor<2x3xf32>)
        outs(%fd : tensor<2xf32>) dimensions = [1]
    %dot = linalg.dot ins(%mx, %mx : tensor<2xf32>, tensor<2xf32>)
        outs(%f0 : tensor<f32>) -> tensor<f32>
    %loss = tensor.extract %dot[] : tensor<f32>
    attn.yield %loss : f32
  )");
}

} // namespace
