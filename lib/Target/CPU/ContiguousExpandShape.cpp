//===- ContiguousExpandShape.cpp - expand_shape as reinterpret_cast -------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// See ContiguousExpandShape.h. The view of a contiguous buffer with a new
/// row-major shape is the buffer itself with strides that are the suffix
/// products of the new shape, which memref.reinterpret_cast states directly.
///
//===----------------------------------------------------------------------===//

#include "ContiguousExpandShape.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace {
struct ContiguousExpandShapePass
    : PassWrapper<ContiguousExpandShapePass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ContiguousExpandShapePass)

  StringRef getArgument() const override {
    return "attnc-cpu-contiguous-expand-shape";
  }
  StringRef getDescription() const override {
    return "Rewrite expand_shape of contiguous memrefs to reinterpret_cast";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, memref::MemRefDialect>();
  }

  void runOnOperation() override {
    SmallVector<memref::ExpandShapeOp> ops;
    getOperation()->walk([&](memref::ExpandShapeOp op) {
      MemRefType source = op.getSrcType();
      MemRefType result = op.getResultType();
      if (source.getLayout().isIdentity() && result.getLayout().isIdentity())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (memref::ExpandShapeOp op : ops) {
      rewriter.setInsertionPoint(op);
      Location loc = op.getLoc();
      SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
      SmallVector<OpFoldResult> strides(sizes.size());
      OpFoldResult stride = rewriter.getIndexAttr(1);
      for (size_t d = sizes.size(); d-- > 0;) {
        strides[d] = stride;
        std::optional<int64_t> s = getConstantIntValue(stride);
        std::optional<int64_t> n = getConstantIntValue(sizes[d]);
        if (s && n) {
          stride = rewriter.getIndexAttr(*s * *n);
          continue;
        }
        stride = arith::MulIOp::create(
                     rewriter, loc,
                     getValueOrCreateConstantIndexOp(rewriter, loc, stride),
                     getValueOrCreateConstantIndexOp(rewriter, loc, sizes[d]))
                     .getResult();
      }
      auto cast = memref::ReinterpretCastOp::create(
          rewriter, loc, op.getResultType(), op.getSrc(),
          rewriter.getIndexAttr(0), sizes, strides);
      rewriter.replaceOp(op, cast.getResult());
    }
  }
};
} // namespace

std::unique_ptr<Pass> mlir::attnc::cpu::createContiguousExpandShapePass() {
  return std::make_unique<ContiguousExpandShapePass>();
}
