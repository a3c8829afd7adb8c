//===- RecognizeAttention.cpp - Raise linalg SDPA to attn.attention -------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attn-recognize-attention pass. The front end spells scaled
/// dot-product attention (einspace's `scaled_dot_product` + `softmax` +
/// `dot_product`) as a chain of linalg ops on rank-3 tensors
/// `q : [B, N, D]`, `k : [B, M, D]`, `v : [B, M, Dv]`:
///
///   kt  = linalg.transpose k permutation = [0, 2, 1]
///   s   = linalg.batch_matmul q, kt          outs(fill 0)   s = q k^T
///   s1  = linalg.generic { s * c | s / c }   (optional)     score scale
///   s2  = linalg.generic { select(cond(b, i, j), s1, -inf) } (optional) mask
///   p   = linalg.softmax dimension(2) s2                    p = softmax_j
///   o   = linalg.batch_matmul p, v           outs(fill 0)   o = p v
///
/// The pattern, rooted at the last batch_matmul, walks this chain back and
/// replaces `o` with one single-head `attn.attention softmax` on
/// `[B, 1, N, D]` operands (tensor.expand_shape before, tensor.collapse_shape
/// after). The scale becomes the score region, the mask condition the mask
/// region. Anything else leaves the IR untouched.
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace attnc {
#define GEN_PASS_DEF_ATTNRECOGNIZEATTENTIONPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace attnc
} // namespace mlir

using namespace mlir;
using namespace mlir::attnc;

namespace {

/// The score scale: the pure elementwise generic computing `s * c`, `c * s`
/// or `s / c` for a float constant `c`.
struct ScaleMatch {
  linalg::GenericOp generic;
  /// The arith.mulf or arith.divf that computes the scaled score.
  Operation *scaleOp;
  /// The constant `c`.
  APFloat factor;
};

/// The mask: the elementwise generic computing `select(cond, s, -inf)`, or
/// `select(cond, -inf, s)` when `negated`.
struct MaskMatch {
  linalg::GenericOp generic;
  /// The i1 visibility condition inside the generic's body.
  Value cond;
  /// True when the condition selects -inf, i.e. marks the hidden keys.
  bool negated;
  /// The ops `cond` is computed from, in block order: linalg.index ops,
  /// arith integer/index ops and constants (possibly defined above the
  /// generic).
  SmallVector<Operation *> slice;
};

} // namespace

/// True when `init` is the result of a linalg.fill with a float zero.
static bool isZeroFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill || fill.getInputs().size() != 1)
    return false;
  return matchPattern(fill.getInputs().front(), m_AnyZeroFloat());
}

/// True when `generic` is a rank-3 elementwise map of one tensor onto a
/// tensor of the same type, whose body does not read the output.
static bool isUnaryElementwise(linalg::GenericOp generic) {
  if (!generic.hasPureTensorSemantics() || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic->getNumResults() != 1)
    return false;
  if (generic.getNumLoops() != 3 ||
      !llvm::all_of(generic.getIteratorTypesArray(),
                    [](utils::IteratorType t) {
                      return t == utils::IteratorType::parallel;
                    }) ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  if (generic.getDpsInputs().front().getType() !=
      generic->getResult(0).getType())
    return false;
  return generic.getRegionOutputArgs().front().use_empty();
}

/// The value yielded by the single-block body of `generic`.
static Value getYielded(linalg::GenericOp generic) {
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  if (yield.getNumOperands() != 1)
    return nullptr;
  return yield.getOperand(0);
}

/// True when every op of the body of `generic` other than the terminator is
/// in `allowed` or is a constant.
static bool bodyOnlyHas(linalg::GenericOp generic,
                        const llvm::SmallPtrSetImpl<Operation *> &allowed) {
  for (Operation &op : generic.getBody()->without_terminator())
    if (!allowed.contains(&op) && !op.hasTrait<OpTrait::ConstantLike>())
      return false;
  return true;
}

/// Matches a pure score scale `s * c`, `c * s` or `s / c`.
static FailureOr<ScaleMatch> matchScale(linalg::GenericOp generic) {
  if (!isUnaryElementwise(generic))
    return failure();
  Value yielded = getYielded(generic);
  if (!yielded)
    return failure();
  Operation *scaleOp = yielded.getDefiningOp();
  if (!scaleOp || scaleOp->getBlock() != generic.getBody() ||
      !isa<arith::MulFOp, arith::DivFOp>(scaleOp))
    return failure();
  Value in = generic.getRegionInputArgs().front();
  Value lhs = scaleOp->getOperand(0), rhs = scaleOp->getOperand(1);
  Value factor;
  if (lhs == in)
    factor = rhs;
  else if (rhs == in && isa<arith::MulFOp>(scaleOp))
    factor = lhs;
  else
    return failure();
  APFloat c(0.0);
  if (!matchPattern(factor, m_ConstantFloat(&c)))
    return failure();
  llvm::SmallPtrSet<Operation *, 1> allowed = {scaleOp};
  if (!bodyOnlyHas(generic, allowed))
    return failure();
  return ScaleMatch{generic, scaleOp, c};
}

/// True when `type` is an integer (i1 included) or index type.
static bool isIntOrIndex(Type type) { return type.isIntOrIndex(); }

/// Collects in `slice` the ops `value` is computed from, failing on anything
/// but linalg.index of dimension 0-2 of `generic`, constants of integer or
/// index type and arith ops on integers and indices inside the body.
static LogicalResult collectCondSlice(linalg::GenericOp generic, Value value,
                                      llvm::SetVector<Operation *> &slice) {
  Operation *def = value.getDefiningOp();
  if (!def)
    return failure(); // A block argument: the score itself or the output.
  if (slice.contains(def))
    return success();
  if (!llvm::all_of(def->getResultTypes(), isIntOrIndex))
    return failure();
  if (def->hasTrait<OpTrait::ConstantLike>()) {
    slice.insert(def);
    return success();
  }
  if (def->getBlock() != generic.getBody())
    return failure();
  if (auto index = dyn_cast<linalg::IndexOp>(def)) {
    if (index.getDim() > 2)
      return failure();
    slice.insert(def);
    return success();
  }
  if (!isa<arith::ArithDialect>(def->getDialect()) ||
      def->getNumRegions() != 0 ||
      !llvm::all_of(def->getOperandTypes(), isIntOrIndex))
    return failure();
  for (Value operand : def->getOperands())
    if (failed(collectCondSlice(generic, operand, slice)))
      return failure();
  slice.insert(def);
  return success();
}

/// Matches a mask `select(cond, s, -inf)` (or `select(cond, -inf, s)`) whose
/// condition depends only on the iteration indices.
static FailureOr<MaskMatch> matchMask(linalg::GenericOp generic) {
  if (!isUnaryElementwise(generic))
    return failure();
  Value yielded = getYielded(generic);
  if (!yielded)
    return failure();
  auto select = yielded.getDefiningOp<arith::SelectOp>();
  if (!select || select->getBlock() != generic.getBody() ||
      !select.getCondition().getType().isInteger(1))
    return failure();
  Value in = generic.getRegionInputArgs().front();
  bool negated;
  if (select.getTrueValue() == in &&
      matchPattern(select.getFalseValue(), m_NegInfFloat()))
    negated = false;
  else if (select.getFalseValue() == in &&
           matchPattern(select.getTrueValue(), m_NegInfFloat()))
    negated = true;
  else
    return failure();

  llvm::SetVector<Operation *> collected;
  if (failed(collectCondSlice(generic, select.getCondition(), collected)))
    return failure();
  llvm::SmallPtrSet<Operation *, 8> allowed(collected.begin(), collected.end());
  allowed.insert(select);
  if (!bodyOnlyHas(generic, allowed))
    return failure();

  // Constants from above the generic first, then the body's ops in order.
  SmallVector<Operation *> slice;
  for (Operation *op : collected)
    if (op->getBlock() != generic.getBody())
      slice.push_back(op);
  for (Operation &op : generic.getBody()->without_terminator())
    if (collected.contains(&op))
      slice.push_back(&op);
  return MaskMatch{generic, select.getCondition(), negated, slice};
}

/// True when the positive, finite constant `c` keeps -inf at -inf under
/// `s * c` and `s / c`, so that the scale commutes with the mask.
static bool keepsNegInf(const APFloat &c) {
  return c.isFiniteNonZero() && !c.isNegative();
}

/// `type` with a unit dimension inserted at position 1.
static RankedTensorType withUnitHead(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + 1, 1);
  return RankedTensorType::get(shape, type.getElementType());
}

/// True when two sizes can be equal.
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// The reassociation between `[B, N, D]` and `[B, 1, N, D]`.
static SmallVector<ReassociationIndices> unitHeadReassociation() {
  return {{0, 1}, {2}, {3}};
}

/// Expands `[B, N, D]` to `[B, 1, N, D]`.
static Value expandUnitHead(PatternRewriter &rewriter, Location loc,
                            Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(rewriter, loc, tensor);
  sizes.insert(sizes.begin() + 1, rewriter.getIndexAttr(1));
  return tensor::ExpandShapeOp::create(rewriter, loc, withUnitHead(type),
                                       tensor, unitHeadReassociation(), sizes)
      .getResult();
}

/// Clones `ops` in order at the insertion point, after the constants they
/// read that are not among `ops` (defined in the generic's body or above
/// it), so the new region only reads its own values.
static void cloneOps(PatternRewriter &rewriter, ArrayRef<Operation *> ops,
                     IRMapping &mapping) {
  for (Operation *op : ops) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!mapping.contains(operand) && def &&
          def->hasTrait<OpTrait::ConstantLike>())
        rewriter.clone(*def, mapping);
    }
    rewriter.clone(*op, mapping);
  }
}

namespace {

/// Replaces the `p v` batch_matmul ending a linalg SDPA chain with
/// attn.attention.
struct SDPAToAttentionPattern : OpRewritePattern<linalg::BatchMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::BatchMatmulOp pv,
                                PatternRewriter &rewriter) const override {
    // o = p v, accumulated into zero.
    if (!pv.hasPureTensorSemantics() || pv.hasUserDefinedMaps() ||
        pv.getNumDpsInputs() != 2 || pv.getNumDpsInits() != 1 ||
        pv->getNumResults() != 1)
      return rewriter.notifyMatchFailure(pv, "not a plain batch_matmul");
    if (!isZeroFill(pv.getDpsInits().front()))
      return rewriter.notifyMatchFailure(pv, "accumulator is not a zero fill");
    Value probs = pv.getDpsInputs()[0];
    Value value = pv.getDpsInputs()[1];

    // p = softmax_j(s''), the only use of p.
    auto softmax = probs.getDefiningOp<linalg::SoftmaxOp>();
    if (!softmax || !probs.hasOneUse() || softmax->getNumResults() != 1 ||
        softmax.getDimension() != 2)
      return rewriter.notifyMatchFailure(pv, "lhs is not a row softmax");

    // Walk back through at most one mask and one scale generic, in either
    // order. `scaleBeforeMask` is their order in the program: the walk meets
    // the later one first.
    std::optional<ScaleMatch> scale;
    std::optional<MaskMatch> mask;
    bool scaleBeforeMask = true;
    Value scores = softmax.getInput();
    while (auto generic = scores.getDefiningOp<linalg::GenericOp>()) {
      if (!scores.hasOneUse())
        return rewriter.notifyMatchFailure(pv, "score has other uses");
      if (!mask) {
        FailureOr<MaskMatch> m = matchMask(generic);
        if (succeeded(m)) {
          mask = *m;
          scores = generic.getDpsInputs().front();
          continue;
        }
      }
      if (!scale) {
        FailureOr<ScaleMatch> s = matchScale(generic);
        if (succeeded(s)) {
          scale = *s;
          scaleBeforeMask = mask.has_value();
          scores = generic.getDpsInputs().front();
          continue;
        }
      }
      return rewriter.notifyMatchFailure(pv, "unrecognized score generic");
    }
    // A scale applied after the mask must keep -inf at -inf.
    if (scale && mask && !scaleBeforeMask && !keepsNegInf(scale->factor))
      return rewriter.notifyMatchFailure(pv, "scale does not keep -inf");

    // s = q k^T, accumulated into zero, the only use of s.
    auto qk = scores.getDefiningOp<linalg::BatchMatmulOp>();
    if (!qk || !scores.hasOneUse() || !qk.hasPureTensorSemantics() ||
        qk.getNumDpsInputs() != 2 || qk.getNumDpsInits() != 1 ||
        qk->getNumResults() != 1)
      return rewriter.notifyMatchFailure(pv, "scores are not a batch_matmul");
    if (!isZeroFill(qk.getDpsInits().front()))
      return rewriter.notifyMatchFailure(pv, "QK accumulator not a zero fill");
    Value query = qk.getDpsInputs()[0];
    Value key;
    if (isa<linalg::BatchMatmulTransposeBOp>(qk.getOperation())) {
      key = qk.getDpsInputs()[1];
    } else if (!qk.hasUserDefinedMaps()) {
      Value keyT = qk.getDpsInputs()[1];
      auto transpose = keyT.getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !keyT.hasOneUse() ||
          !transpose.hasPureTensorSemantics() ||
          transpose.getPermutation() != ArrayRef<int64_t>{0, 2, 1})
        return rewriter.notifyMatchFailure(pv, "rhs of QK is not k^T");
      key = transpose.getInput();
    } else {
      return rewriter.notifyMatchFailure(pv, "QK has unsupported maps");
    }

    // One float element type; [B, N, D] x [B, M, D] x [B, M, Dv].
    auto qTy = dyn_cast<RankedTensorType>(query.getType());
    auto kTy = dyn_cast<RankedTensorType>(key.getType());
    auto vTy = dyn_cast<RankedTensorType>(value.getType());
    auto oTy = dyn_cast<RankedTensorType>(pv->getResult(0).getType());
    auto sTy = dyn_cast<RankedTensorType>(scores.getType());
    auto pTy = dyn_cast<RankedTensorType>(probs.getType());
    if (!qTy || !kTy || !vTy || !oTy || !sTy || !pTy)
      return rewriter.notifyMatchFailure(pv, "not ranked tensors");
    Type elem = qTy.getElementType();
    if (!isa<FloatType>(elem) ||
        llvm::any_of(ArrayRef<RankedTensorType>{kTy, vTy, oTy, sTy, pTy},
                     [&](RankedTensorType t) {
                       return t.getElementType() != elem || t.getRank() != 3;
                     }) ||
        qTy.getRank() != 3)
      return rewriter.notifyMatchFailure(pv, "not one float type at rank 3");
    ArrayRef<int64_t> q = qTy.getShape(), k = kTy.getShape(),
                      v = vTy.getShape(), o = oTy.getShape(),
                      s = sTy.getShape();
    if (!compatible(q[0], k[0]) || !compatible(q[0], v[0]) ||
        !compatible(q[0], o[0]) || !compatible(q[2], k[2]) ||
        !compatible(k[1], v[1]) || !compatible(o[1], q[1]) ||
        !compatible(o[2], v[2]) || !compatible(s[1], q[1]) ||
        !compatible(s[2], k[1]))
      return rewriter.notifyMatchFailure(pv, "inconsistent shapes");

    // o = collapse(attention(expand(q), expand(k), expand(v))).
    Location loc = pv.getLoc();
    Value q4 = expandUnitHead(rewriter, loc, query);
    Value k4 = expandUnitHead(rewriter, loc, key);
    Value v4 = expandUnitHead(rewriter, loc, value);
    auto attention = attn::AttentionOp::create(
        rewriter, loc, withUnitHead(oTy), /*lse=*/Type(),
        attn::Normalizer::Softmax, ValueRange{q4}, ValueRange{k4}, v4,
        /*init=*/Value(), /*bias=*/Value(),
        /*block_mask=*/Value(), /*block_sizes=*/DenseI64ArrayAttr(),
        /*with_lse=*/false);
    Value result = tensor::CollapseShapeOp::create(rewriter, loc, oTy,
                                                   attention.getOutput(),
                                                   unitHeadReassociation())
                       .getResult();

    Type indexTy = rewriter.getIndexType();
    if (scale) {
      // score(%s, %b, %h, %i, %j) = %s * c (or %s / c).
      OpBuilder::InsertionGuard guard(rewriter);
      Block *block = rewriter.createBlock(
          &attention.getScore(), {}, {elem, indexTy, indexTy, indexTy, indexTy},
          SmallVector<Location>(5, scale->generic.getLoc()));
      IRMapping mapping;
      mapping.map(scale->generic.getRegionInputArgs().front(),
                  block->getArgument(0));
      cloneOps(rewriter, {scale->scaleOp}, mapping);
      attn::YieldOp::create(rewriter, scale->generic.getLoc(),
                            mapping.lookup(scale->scaleOp->getResult(0)));
    }
    if (mask) {
      // mask(%b, %h, %i, %j) = cond with linalg.index 0, 1, 2 -> %b, %i, %j.
      OpBuilder::InsertionGuard guard(rewriter);
      Location maskLoc = mask->generic.getLoc();
      Block *block = rewriter.createBlock(&attention.getMask(), {},
                                          {indexTy, indexTy, indexTy, indexTy},
                                          SmallVector<Location>(4, maskLoc));
      const unsigned argOfDim[] = {0, 2, 3};
      IRMapping mapping;
      SmallVector<Operation *> toClone;
      for (Operation *op : mask->slice) {
        if (auto index = dyn_cast<linalg::IndexOp>(op))
          mapping.map(index.getResult(),
                      block->getArgument(argOfDim[index.getDim()]));
        else
          toClone.push_back(op);
      }
      cloneOps(rewriter, toClone, mapping);
      Value visible = mapping.lookupOrDefault(mask->cond);
      if (mask->negated) {
        Value trueVal = arith::ConstantOp::create(
            rewriter, maskLoc,
            rewriter.getIntegerAttr(rewriter.getI1Type(), 1));
        visible = arith::XOrIOp::create(rewriter, maskLoc, visible, trueVal);
      }
      attn::YieldOp::create(rewriter, maskLoc, visible);
    }

    rewriter.replaceOp(pv, result);
    return success();
  }
};

/// The attn-recognize-attention pass: applies SDPAToAttentionPattern
/// greedily. Folding and constant CSE are off, so unmatched IR stays as it
/// is; the driver erases the ops of a matched chain once they are dead.
struct AttnRecognizeAttentionPass
    : attnc::impl::AttnRecognizeAttentionPassBase<AttnRecognizeAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    GreedyRewriteConfig config;
    config.enableFolding(false).enableConstantCSE(false);
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    // First, sizes read with tensor.dim from a chain's intermediates (the
    // front end sizes its init tensors that way) are read from the
    // intermediates' inits instead, so that the chain is single-use.
    RewritePatternSet dims(&getContext());
    tensor::DimOp::getCanonicalizationPatterns(dims, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(dims), config)))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add<SDPAToAttentionPattern>(&getContext());
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
