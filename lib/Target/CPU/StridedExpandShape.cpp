//===- StridedExpandShape.cpp - expand_shape of strided memrefs -----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// See StridedExpandShape.h. Static sizes, strides and offsets of the result
/// type are passed as attributes, so that memref.reinterpret_cast verifies
/// against the type expand_shape inferred.
///
//===----------------------------------------------------------------------===//

#include "StridedExpandShape.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace {
struct StridedExpandShapePass
    : PassWrapper<StridedExpandShapePass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(StridedExpandShapePass)

  StringRef getArgument() const override {
    return "attnc-cpu-strided-expand-shape";
  }
  StringRef getDescription() const override {
    return "Rewrite expand_shape of strided memrefs to reinterpret_cast";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, memref::MemRefDialect>();
  }

  void runOnOperation() override {
    SmallVector<memref::ExpandShapeOp> ops;
    getOperation()->walk([&](memref::ExpandShapeOp op) {
      if (!op.getSrcType().getLayout().isIdentity() ||
          !op.getResultType().getLayout().isIdentity())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (memref::ExpandShapeOp op : ops) {
      MemRefType result = op.getResultType();
      SmallVector<int64_t> staticStrides;
      int64_t staticOffset;
      if (failed(result.getStridesAndOffset(staticStrides, staticOffset)))
        continue;
      rewriter.setInsertionPoint(op);
      Location loc = op.getLoc();
      auto meta =
          memref::ExtractStridedMetadataOp::create(rewriter, loc, op.getSrc());
      SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
      auto mul = [&](OpFoldResult a, OpFoldResult b) -> OpFoldResult {
        std::optional<int64_t> x = getConstantIntValue(a);
        std::optional<int64_t> y = getConstantIntValue(b);
        if (x && y)
          return rewriter.getIndexAttr(*x * *y);
        return arith::MulIOp::create(
                   rewriter, loc,
                   getValueOrCreateConstantIndexOp(rewriter, loc, a),
                   getValueOrCreateConstantIndexOp(rewriter, loc, b))
            .getResult();
      };
      SmallVector<OpFoldResult> strides(sizes.size());
      for (auto [src, group] : llvm::enumerate(op.getReassociationIndices())) {
        OpFoldResult stride = meta.getStrides()[src];
        if (ShapedType::isStatic(staticStrides[group.back()]))
          stride = rewriter.getIndexAttr(staticStrides[group.back()]);
        for (size_t j = group.size(); j-- > 0;) {
          strides[group[j]] = stride;
          if (j > 0)
            stride = mul(stride, sizes[group[j]]);
        }
      }
      // What the result type states statically is given as it states it.
      for (size_t d = 0; d < strides.size(); ++d)
        if (ShapedType::isStatic(staticStrides[d]))
          strides[d] = rewriter.getIndexAttr(staticStrides[d]);
      OpFoldResult offset =
          ShapedType::isStatic(staticOffset)
              ? OpFoldResult(rewriter.getIndexAttr(staticOffset))
              : OpFoldResult(meta.getOffset());
      auto cast = memref::ReinterpretCastOp::create(
          rewriter, loc, result, meta.getBaseBuffer(), offset, sizes, strides);
      rewriter.replaceOp(op, cast.getResult());
    }
  }
};
} // namespace

std::unique_ptr<Pass> mlir::attnc::cpu::createStridedExpandShapePass() {
  return std::make_unique<StridedExpandShapePass>();
}
