//===- LowerSelection.cpp - Lower selection and data-movement ops ---------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attn-lower-selection pass: `attn.topk`, `attn.topp`, `attn.argmax`,
/// `attn.gather`, `attn.pool` and `attn.conv1d` become `tensor.generate`s
/// whose bodies are `tensor.extract`s, `arith`/`math` scalars and `scf.for`
/// loops with scalar iter_args. Each is the loop nest of its run* function
/// in lib/Interp/AttnOps.cpp, with the same order of floating-point
/// operations, so the lowered IR gives bit-identical float64 results.
///
/// The selections rank the entries of a row by the strict total order of
/// the interpreter's rankDescending: x_i comes before x_j when
///
///   x_i > x_j,  or x_i == x_j and i < j,                 (numbers)
///   or x_i is a number and x_j is NaN,
///   or both are NaN and i < j,
///
/// (NaN ranks below every number; +0 and -0 tie). From it:
///
///   rank[r, j]  = #{i : x_i comes before x_j}               O(C) each
///   order[r, k] = the j with rank[r, j] == k                 O(C) each
///   topk[r, k]  = order[r, k]
///   reached[r]  = the first k with S_k >= mass (else C), where  O(C)
///                 S_k = x[order[r, 0]] + ... + x[order[r, k - 1]]
///                 (summed in rank order, as the interpreter does)
///   topp[r, j]  = rank[r, j] < reached[r]: not (S_k >= mass) for every
///                 k <= rank[r, j]
///   argmax[r]   = a left-to-right scan keeping the first maximum.
///
/// These are O(C^2) per row. rank, order and reached are read many times, so
/// they are materialized: as linalg.generic ops rather than
/// tensor.generate, because canonicalization folds a tensor.extract of a
/// tensor.generate into a copy of its body, which would recompute every
/// rank at every read (O(C^5) per row for topp).
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h" // for dependentDialects
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::attnc {
#define GEN_PASS_DEF_ATTNLOWERSELECTIONPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace mlir::attnc

using namespace mlir;
using namespace mlir::attnc;

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// The `sizes[d]` (one value per dimension) of the dynamic dimensions d of
/// `type`: the operands that give a new tensor of that type its extents.
static SmallVector<Value> dynamicSizes(RankedTensorType type,
                                       ArrayRef<Value> sizes) {
  SmallVector<Value> dynamic;
  for (auto [d, extent] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(extent))
      dynamic.push_back(sizes[d]);
  return dynamic;
}

/// A tensor.generate of `type` (whose dynamic extents are `sizes[d]` for
/// each dynamic d; `sizes` has one value per dimension) yielding `body`.
static Value generate(OpBuilder &b, Location loc, RankedTensorType type,
                      ArrayRef<Value> sizes, BodyFn body) {
  return tensor::GenerateOp::create(
      b, loc, type, dynamicSizes(type, sizes),
      [&](OpBuilder &nb, Location l, ValueRange ivs) {
        tensor::YieldOp::create(nb, l, body(nb, l, ivs));
      });
}

/// Like generate, but a linalg.generic: a tensor that canonicalization
/// keeps, for values that are read more than once (the file comment).
static Value materialize(OpBuilder &b, Location loc, RankedTensorType type,
                         ArrayRef<Value> sizes, BodyFn body) {
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes(type, sizes));
  int64_t rank = type.getRank();
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank)},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange) {
        SmallVector<Value> ivs;
        for (int64_t d = 0; d < rank; ++d)
          ivs.push_back(linalg::IndexOp::create(nb, l, d));
        linalg::YieldOp::create(nb, l, body(nb, l, ivs));
      });
  return generic.getResult(0);
}

static Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The extent of every dimension of `value`: a constant when static, else
/// a tensor.dim.
static SmallVector<Value> getSizes(OpBuilder &b, Location loc, Value value) {
  SmallVector<Value> sizes;
  auto type = cast<RankedTensorType>(value.getType());
  for (auto [d, extent] : llvm::enumerate(type.getShape()))
    sizes.push_back(ShapedType::isDynamic(extent)
                        ? tensor::DimOp::create(b, loc, value, d).getResult()
                        : constIndex(b, loc, extent));
  return sizes;
}

/// A loop from `lb` to `ub` (step 1) over scalar iter_args; `body` gets the
/// induction variable and the iter_args and returns the next ones.
static ValueRange
loop(OpBuilder &b, Location loc, Value lb, Value ub, ValueRange inits,
     function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)>
         body) {
  auto forOp = scf::ForOp::create(
      b, loc, lb, ub, constIndex(b, loc, 1), inits,
      [&](OpBuilder &nb, Location l, Value iv, ValueRange iters) {
        scf::YieldOp::create(nb, l, body(nb, l, iv, iters));
      });
  return forOp.getResults();
}

/// `row` with `last` appended: the index of an entry of a row.
static SmallVector<Value> at(ValueRange row, Value last) {
  SmallVector<Value> index(row);
  index.push_back(last);
  return index;
}

/// Whether x_i (at index i) comes before x_j (at index j): the order of the
/// file comment.
static Value comesBefore(OpBuilder &b, Location loc, Value xi, Value i,
                         Value xj, Value j) {
  using P = arith::CmpFPredicate;
  Value greater = arith::CmpFOp::create(b, loc, P::OGT, xi, xj);
  Value equal = arith::CmpFOp::create(b, loc, P::OEQ, xi, xj);
  Value lower = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, j);
  Value iNumber = arith::CmpFOp::create(b, loc, P::ORD, xi, xi);
  Value jNaN = arith::CmpFOp::create(b, loc, P::UNO, xj, xj);
  Value iNaN = arith::CmpFOp::create(b, loc, P::UNO, xi, xi);
  Value tie = arith::AndIOp::create(b, loc, equal, lower);
  Value numberOverNaN = arith::AndIOp::create(b, loc, iNumber, jNaN);
  Value bothNaN = arith::AndIOp::create(b, loc, iNaN, jNaN);
  Value nanTie = arith::AndIOp::create(b, loc, bothNaN, lower);
  Value result = arith::OrIOp::create(b, loc, greater, tie);
  result = arith::OrIOp::create(b, loc, result, numberOverNaN);
  return arith::OrIOp::create(b, loc, result, nanTie);
}

/// rank[r..., j] (index) = the number of entries of row r that come before
/// x[r..., j].
static Value buildRanks(OpBuilder &b, Location loc, Value input,
                        ArrayRef<Value> sizes) {
  auto type = cast<RankedTensorType>(input.getType());
  Value c = sizes.back();
  auto rankType = RankedTensorType::get(type.getShape(), b.getIndexType());
  return materialize(
      b, loc, rankType, sizes,
      [&](OpBuilder &gb, Location l, ValueRange ivs) -> Value {
        ValueRange row = ivs.drop_back();
        Value j = ivs.back();
        Value xj = tensor::ExtractOp::create(gb, l, input, ivs);
        Value zero = constIndex(gb, l, 0);
        Value one = constIndex(gb, l, 1);
        return loop(gb, l, zero, c, zero,
                    [&](OpBuilder &lb, Location ll, Value i,
                        ValueRange iters) -> SmallVector<Value> {
                      Value xi =
                          tensor::ExtractOp::create(lb, ll, input, at(row, i));
                      Value before = comesBefore(lb, ll, xi, i, xj, j);
                      Value inc =
                          arith::SelectOp::create(lb, ll, before, one, zero);
                      return {arith::AddIOp::create(lb, ll, iters[0], inc)};
                    })[0];
      });
}

/// order[r..., k] (index) = the j whose rank[r..., j] is k.
static Value buildOrder(OpBuilder &b, Location loc, Value ranks,
                        ArrayRef<Value> sizes) {
  auto type = cast<RankedTensorType>(ranks.getType());
  Value c = sizes.back();
  return materialize(
      b, loc, type, sizes, [&](OpBuilder &gb, Location l, ValueRange ivs) {
        ValueRange row = ivs.drop_back();
        Value k = ivs.back();
        Value zero = constIndex(gb, l, 0);
        return loop(
            gb, l, zero, c, zero,
            [&](OpBuilder &lb, Location ll, Value j,
                ValueRange iters) -> SmallVector<Value> {
              Value rank = tensor::ExtractOp::create(lb, ll, ranks, at(row, j));
              Value hit = arith::CmpIOp::create(
                  lb, ll, arith::CmpIPredicate::eq, rank, k);
              return {arith::SelectOp::create(lb, ll, hit, j, iters[0])};
            })[0];
      });
}

//===----------------------------------------------------------------------===//
// topk, topp, argmax
//===----------------------------------------------------------------------===//

/// topk[r..., k] = order[r..., k] as i32.
static Value lowerTopK(OpBuilder &b, attn::TopKOp op) {
  Location loc = op.getLoc();
  Value input = op.getInput();
  SmallVector<Value> sizes = getSizes(b, loc, input);
  Value order = buildOrder(b, loc, buildRanks(b, loc, input, sizes), sizes);
  auto type = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> resultSizes(sizes);
  resultSizes.back() = constIndex(b, loc, op.getK());
  return generate(b, loc, type, resultSizes,
                  [&](OpBuilder &gb, Location l, ValueRange ivs) -> Value {
                    Value j = tensor::ExtractOp::create(gb, l, order, ivs);
                    return arith::IndexCastOp::create(gb, l,
                                                      type.getElementType(), j);
                  });
}

/// reached[r...] (index) = the first k with S_k >= mass, where S_k is the
/// sum of the k entries of rank below k, added in rank order; the row's
/// length when there is none. topp[r..., j] = rank[r..., j] < reached[r...]:
/// no prefix up to its own rank has reached the mass (a NaN sum has not).
static Value lowerTopP(OpBuilder &b, attn::TopPOp op) {
  Location loc = op.getLoc();
  Value input = op.getInput();
  Value mass = op.getMass();
  SmallVector<Value> sizes = getSizes(b, loc, input);
  Value ranks = buildRanks(b, loc, input, sizes);
  Value order = buildOrder(b, loc, ranks, sizes);
  auto type = cast<RankedTensorType>(op.getResult().getType());
  ArrayRef<int64_t> shape = type.getShape();
  Value c = sizes.back();
  Type floatType = mass.getType();
  auto rowsType = RankedTensorType::get(shape.drop_back(), b.getIndexType());
  Value reached = materialize(
      b, loc, rowsType, ArrayRef<Value>(sizes).drop_back(),
      [&](OpBuilder &gb, Location l, ValueRange row) -> Value {
        Value zero = constIndex(gb, l, 0);
        Value sum0 = arith::ConstantOp::create(gb, l, floatType,
                                               gb.getFloatAttr(floatType, 0));
        ValueRange last = loop(
            gb, l, zero, c, ValueRange{sum0, c},
            [&](OpBuilder &lb, Location ll, Value k,
                ValueRange iters) -> SmallVector<Value> {
              Value reached = arith::CmpFOp::create(
                  lb, ll, arith::CmpFPredicate::OGE, iters[0], mass);
              Value noneYet = arith::CmpIOp::create(
                  lb, ll, arith::CmpIPredicate::eq, iters[1], c);
              Value isFirst = arith::AndIOp::create(lb, ll, reached, noneYet);
              Value first =
                  arith::SelectOp::create(lb, ll, isFirst, k, iters[1]);
              Value j = tensor::ExtractOp::create(lb, ll, order, at(row, k));
              Value x = tensor::ExtractOp::create(lb, ll, input, at(row, j));
              return {arith::AddFOp::create(lb, ll, iters[0], x), first};
            });
        return last[1];
      });
  return generate(b, loc, type, sizes,
                  [&](OpBuilder &gb, Location l, ValueRange ivs) -> Value {
                    Value rank = tensor::ExtractOp::create(gb, l, ranks, ivs);
                    Value first = tensor::ExtractOp::create(gb, l, reached,
                                                            ivs.drop_back());
                    return arith::CmpIOp::create(
                        gb, l, arith::CmpIPredicate::ult, rank, first);
                  });
}

/// argmax[r...] = the first j with the largest x[r..., j]: a scan that
/// moves to j when x_j > x_best, or x_best is NaN and x_j is not.
static Value lowerArgMax(OpBuilder &b, attn::ArgMaxOp op) {
  Location loc = op.getLoc();
  Value input = op.getInput();
  SmallVector<Value> sizes = getSizes(b, loc, input);
  Value c = sizes.back();
  auto type = cast<RankedTensorType>(op.getResult().getType());
  return generate(
      b, loc, type, ArrayRef<Value>(sizes).drop_back(),
      [&](OpBuilder &gb, Location l, ValueRange row) -> Value {
        using P = arith::CmpFPredicate;
        Value zero = constIndex(gb, l, 0);
        Value one = constIndex(gb, l, 1);
        Value x0 = tensor::ExtractOp::create(gb, l, input, at(row, zero));
        ValueRange best = loop(
            gb, l, one, c, ValueRange{zero, x0},
            [&](OpBuilder &lb, Location ll, Value j,
                ValueRange iters) -> SmallVector<Value> {
              Value xj = tensor::ExtractOp::create(lb, ll, input, at(row, j));
              Value greater =
                  arith::CmpFOp::create(lb, ll, P::OGT, xj, iters[1]);
              Value bestNaN =
                  arith::CmpFOp::create(lb, ll, P::UNO, iters[1], iters[1]);
              Value jNumber = arith::CmpFOp::create(lb, ll, P::ORD, xj, xj);
              Value take = arith::OrIOp::create(
                  lb, ll, greater,
                  arith::AndIOp::create(lb, ll, bestNaN, jNumber));
              return {arith::SelectOp::create(lb, ll, take, j, iters[0]),
                      arith::SelectOp::create(lb, ll, take, xj, iters[1])};
            });
        return arith::IndexCastOp::create(gb, l, type.getElementType(),
                                          best[0]);
      });
}

//===----------------------------------------------------------------------===//
// gather, pool, conv1d
//===----------------------------------------------------------------------===//

/// `row` checked within [0, rows) (the interpreter's error, as a run-time
/// check) and clamped into it, so that no read leaves the source.
static Value checkedRow(OpBuilder &b, Location l, Value row, Value rows) {
  Value zero = constIndex(b, l, 0);
  Value atLeastZero =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, row, zero);
  Value belowRows =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, row, rows);
  Value ok = arith::AndIOp::create(b, l, atLeastZero, belowRows);
  cf::AssertOp::create(b, l, ok,
                       "'gather' reads a row outside its source: an index is "
                       "negative or not below the number of rows");
  Value last = arith::SubIOp::create(b, l, rows, constIndex(b, l, 1));
  return arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, row, zero),
                                last);
}

/// gather[k..., r...] = source[indices[k...], r...].
static Value lowerGather(OpBuilder &b, attn::GatherOp op) {
  Location loc = op.getLoc();
  Value source = op.getSource(), indices = op.getIndices();
  unsigned numK = cast<RankedTensorType>(indices.getType()).getRank();
  SmallVector<Value> sizes = getSizes(b, loc, indices);
  SmallVector<Value> sourceSizes = getSizes(b, loc, source);
  sizes.append(sourceSizes.begin() + 1, sourceSizes.end());
  auto type = cast<RankedTensorType>(op.getResult().getType());
  return generate(b, loc, type, sizes,
                  [&](OpBuilder &gb, Location l, ValueRange ivs) -> Value {
                    Value id = tensor::ExtractOp::create(gb, l, indices,
                                                         ivs.take_front(numK));
                    Value row = arith::IndexCastOp::create(
                        gb, l, gb.getIndexType(), id);
                    SmallVector<Value> index = {
                        checkedRow(gb, l, row, sourceSizes[0])};
                    llvm::append_range(index, ivs.drop_front(numK));
                    return tensor::ExtractOp::create(gb, l, source, index);
                  });
}

/// pool[I, r...] = (sum_{i < bs} x[I * bs + i, r...]) / bs.
static Value lowerPool(OpBuilder &b, attn::PoolOp op) {
  Location loc = op.getLoc();
  Value input = op.getInput();
  int64_t blockSize = static_cast<int64_t>(op.getBlockSize());
  SmallVector<Value> sizes = getSizes(b, loc, input);
  Value bs = constIndex(b, loc, blockSize);
  // The interpreter's error, as a run-time check: the blocks must tile it.
  Value rest = arith::RemUIOp::create(b, loc, sizes[0], bs);
  Value whole = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rest,
                                      constIndex(b, loc, 0));
  cf::AssertOp::create(b, loc, whole,
                       "'pool' needs a first dimension that is a multiple of " +
                           std::to_string(blockSize));
  sizes[0] = arith::DivUIOp::create(b, loc, sizes[0], bs);
  auto type = cast<RankedTensorType>(op.getResult().getType());
  Type elem = type.getElementType();
  return generate(
      b, loc, type, sizes, [&](OpBuilder &gb, Location l, ValueRange ivs) {
        Value zero = constIndex(gb, l, 0);
        Value first = arith::MulIOp::create(gb, l, ivs[0], bs);
        Value sum0 =
            arith::ConstantOp::create(gb, l, elem, gb.getFloatAttr(elem, 0));
        Value sum = loop(gb, l, zero, bs, sum0,
                         [&](OpBuilder &lb, Location ll, Value i,
                             ValueRange iters) -> SmallVector<Value> {
                           SmallVector<Value> index(ivs);
                           index[0] = arith::AddIOp::create(lb, ll, first, i);
                           Value x =
                               tensor::ExtractOp::create(lb, ll, input, index);
                           return {arith::AddFOp::create(lb, ll, iters[0], x)};
                         })[0];
        Value count = arith::ConstantOp::create(
            gb, l, elem, gb.getFloatAttr(elem, double(blockSize)));
        return arith::DivFOp::create(gb, l, sum, count).getResult();
      });
}

/// conv1d[n, c] = sum_{k < K, n + k >= K - 1} w[k, c] * x[n + k - (K - 1), c],
/// skipping (not adding zero for) the rows before the first.
static Value lowerConv1D(OpBuilder &b, attn::Conv1DOp op) {
  Location loc = op.getLoc();
  Value input = op.getInput(), filter = op.getFilter();
  SmallVector<Value> sizes = getSizes(b, loc, input);
  Value kk = getSizes(b, loc, filter)[0];
  Value lag = arith::SubIOp::create(b, loc, kk, constIndex(b, loc, 1));
  auto type = cast<RankedTensorType>(op.getResult().getType());
  Type elem = type.getElementType();
  return generate(
      b, loc, type, sizes, [&](OpBuilder &gb, Location l, ValueRange ivs) {
        Value n = ivs[0], c = ivs[1];
        Value zero = constIndex(gb, l, 0);
        Value sum0 =
            arith::ConstantOp::create(gb, l, elem, gb.getFloatAttr(elem, 0));
        return loop(
            gb, l, zero, kk, sum0,
            [&](OpBuilder &lb, Location ll, Value k,
                ValueRange iters) -> SmallVector<Value> {
              // from = n + k - (K - 1), read only when >= 0.
              Value shifted = arith::AddIOp::create(lb, ll, n, k);
              Value valid = arith::CmpIOp::create(
                  lb, ll, arith::CmpIPredicate::uge, shifted, lag);
              Value from = arith::SelectOp::create(
                  lb, ll, valid, arith::SubIOp::create(lb, ll, shifted, lag),
                  zero);
              Value w =
                  tensor::ExtractOp::create(lb, ll, filter, ValueRange{k, c});
              Value x =
                  tensor::ExtractOp::create(lb, ll, input, ValueRange{from, c});
              Value added = arith::AddFOp::create(
                  lb, ll, iters[0], arith::MulFOp::create(lb, ll, w, x));
              return {arith::SelectOp::create(lb, ll, valid, added, iters[0])};
            })[0];
      });
}

namespace {
struct AttnLowerSelectionPass
    : mlir::attnc::impl::AttnLowerSelectionPassBase<AttnLowerSelectionPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<attn::TopKOp, attn::TopPOp, attn::ArgMaxOp, attn::GatherOp,
              attn::PoolOp, attn::Conv1DOp>(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      Value result =
          TypeSwitch<Operation *, Value>(op)
              .Case([&](attn::TopKOp o) { return lowerTopK(rewriter, o); })
              .Case([&](attn::TopPOp o) { return lowerTopP(rewriter, o); })
              .Case([&](attn::ArgMaxOp o) { return lowerArgMax(rewriter, o); })
              .Case([&](attn::GatherOp o) { return lowerGather(rewriter, o); })
              .Case([&](attn::PoolOp o) { return lowerPool(rewriter, o); })
              .Case([&](attn::Conv1DOp o) { return lowerConv1D(rewriter, o); });
      rewriter.replaceOp(op, result);
    }
  }
};
} // namespace
