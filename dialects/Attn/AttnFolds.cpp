//===- AttnFolds.cpp - Folders and canonicalizations of attn ops ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Folders and canonicalization patterns of the attn ops. Only rewrites that
/// are exact belong here; anything with a cost model is a pass.
///
//===----------------------------------------------------------------------===//

#include "dialects/Attn/AttnOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::attnc::attn;

//===----------------------------------------------------------------------===//
// PoolOp
//===----------------------------------------------------------------------===//

/// pool(x, 1) = x: each block is one row, its mean is the row.
OpFoldResult PoolOp::fold(FoldAdaptor) {
  if (getBlockSize() == 1 && getInput().getType() == getResult().getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Erases the single block of `region`, leaving it empty.
static void eraseRegionBody(PatternRewriter &rewriter, Operation *op,
                            Region &region) {
  rewriter.modifyOpInPlace(op, [&] { rewriter.eraseBlock(&region.front()); });
}

/// The one value a region's `attn.yield` returns, or null when the region is
/// empty or yields something else.
static Value getSingleYielded(Region &region) {
  if (region.empty())
    return {};
  auto yield = dyn_cast<YieldOp>(region.front().getTerminator());
  if (!yield || yield.getValues().size() != 1)
    return {};
  return yield.getValues().front();
}

namespace {

/// A mask region that yields the constant true makes every key visible,
/// which is what the empty region means: drop it.
struct AttentionTrueMaskCanonicalization
    : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value yielded = getSingleYielded(op.getMask());
    if (!yielded || !matchPattern(yielded, m_One()))
      return failure();
    eraseRegionBody(rewriter, op, op.getMask());
    return success();
  }
};

/// A score region that yields its score argument unchanged is the identity
/// score, which is what the empty region means: drop it.
struct AttentionIdentityScoreCanonicalization
    : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value yielded = getSingleYielded(op.getScore());
    if (!yielded || op.getNumDots() != 1 ||
        yielded != op.getScore().getArgument(0))
      return failure();
    eraseRegionBody(rewriter, op, op.getScore());
    return success();
  }
};

/// A block mask that is the constant splat true hides nothing: drop the
/// operand and its block sizes.
struct AttentionTrueBlockMaskCanonicalization
    : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value blockMask = op.getBlockMask();
    DenseElementsAttr attr;
    if (!blockMask || !matchPattern(blockMask, m_Constant(&attr)) ||
        !attr.isSplat() || !attr.getSplatValue<bool>())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getBlockMaskMutable().clear();
      op.removeBlockSizesAttr();
    });
    return success();
  }
};

} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<AttentionTrueMaskCanonicalization,
              AttentionIdentityScoreCanonicalization,
              AttentionTrueBlockMaskCanonicalization>(context);
}
