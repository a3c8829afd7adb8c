//===- LowerAttention.cpp - attn.attention to online-softmax loops --------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The `attn-lower-attention` pass: every attn.attention becomes
///
///   for each dot product p:
///     scf.forall (b, hk, kt) in (B, Hk_p, ceil(M / TK))   -- pack the keys
///       keyPacked_p[b, hk, kt] = key_p tile kt, transposed, zero past M
///   scf.forall (b, h, qt) in (B, H, ceil(N / TQ))        -- one task per tile
///     acc[TQ, Dv] = 0, m[TQ] = -inf, l[TQ] = 0
///     scf.for kt in [0, ceil(M / TK))                    -- key tiles
///       (may, must) = interval evaluation of the mask on the tile,
///                     data reads bounded per tile (below)
///       if may:                                          -- empty: skipped
///         s_p[r, :] = q_p[i0 + r] . keyPacked_p[b, h / Gk_p, kt]  -- 4 rows
///         per row, on vectors of 16 keys:
///           s = score(s_1, ..., s_P); masked entries = -inf  -- mask if !must
///           m' = max(m, max s), p = exp(s - m'), alpha = exp(m - m'),
///           l = l alpha + sum p
///         acc[r] = acc[r] alpha + p[r] . v[b, h / Gv, tile]  -- 4-row blocks
///     out[b, h, i0 + r] = acc[r] / l[r]
///
/// The loops are written on memrefs (bufferization.to_buffer of the operands,
/// bufferization.to_tensor of the result). The two products are vector
/// micro-kernels: 4 query rows x 4 vectors of 16 keys (or value columns) of
/// accumulators, each loaded key or value vector used 4 times. The keys are
/// packed once for all query tiles, so that a score vector is one contiguous
/// load. The score and mask regions are cloned on vectors of keys
/// (VectorizeRegion.h); a region that reads data at the key index falls
/// back to a loop over keys, except in the partial tiles described below.
/// Reductions carry `reassoc`, and f32 exponentials use MLIR's polynomial
/// approximation, which vectorizes where a libm call would not. The result
/// therefore differs from the float64 interpreter by the usual float32 rounding
/// (tolerances in docs/Testing.md).
///
/// Run-time block lists (issue 12, item 3). A mask that reads data (r05's
/// keep[b, h, i / BS, j / BS], a document id doc[b, i] == doc[b, j], r06's
/// cluster ids, r04's per-head flag) cannot be classified at compile time;
/// instead each of its reads (BlockLists.h: a tensor.extract of a tensor
/// from outside the region) is bounded per tile at run time, by the least
/// and greatest value it takes there (for i1: all true, any true), and the
/// interval evaluation (MaskIntervals.h) turns the ranges into (may, must):
///
///   first phase, scf.forall (b, h', kt):     -- reads at j only
///     lo[b, h', kt], hi[b, h', kt] = range of the read over key tile kt
///     vals[b, h', kt, c] = the read at key j0 + c (padded with the last)
///   per task (b, h, qt), before the key tiles: -- reads at i, or at b, h
///     (lo, hi) = range of the read over the query tile's rows
///   per key tile:                             -- reads at i and j
///     (lo, hi) = reduction of the tensor over the box of its index
///                intervals (a few blocks), when it holds <= TQ x TK
///                elements and lies in bounds
///
/// (h' is h when the read depends on it, else 0.) A read of ids compared by
/// == is "may" when the ranges overlap and "must" when both are the same
/// single value; r05's keep is "may" when a block of the box is kept,
/// "must" when all are. The region's cf.asserts (the front end's index
/// checks) and the box conditions are what the classification assumes: a
/// tile where one may fail is partial, so that the per-element mask runs,
/// with its checks; arithmetic on read values is checked for wrap-around
/// the same way. So a tile is skipped only when no element is visible,
/// unmasked only when all are, and a run-time check fails exactly where the
/// interpreter's does.
///
/// The key-tile loop keeps its shape: the per-tile test is a few loads and
/// compares (2 per key-side read), which at N = 16384 (256 x 512 tiles per
/// head) costs less than the key packing, so no explicit list of visible
/// tiles is built (measured: a document mask with one token per document
/// runs about as fast as a static sliding window of one tile).
///
/// Partial tiles. The op's mask reads data at j, which has no vector form
/// (one key at a time). When that is so, a copy of the mask with reads as
/// arguments (specializeMask) serves partial tiles on vectors: Columns, the
/// key-side reads loaded from vals[b, h', kt, c0 ...] (document ids,
/// cluster ids); or Points, on tiles where every read that depends on i or
/// j has a single value (r05's keep inside one block), that value. The
/// other reads are arguments too, read once per row (at i: from a per-task
/// copy the query-tile phase fills) or per task (at b, h), so that a read
/// of a computed tensor (r06's cluster ids, whose tensor.generate later
/// folds into each tensor.extract) is not recomputed per vector of keys.
/// Both forms drop the region's checks and so run only on exact tiles; the
/// others run the op's mask.
///
//===----------------------------------------------------------------------===//

#include "BlockLists.h"
#include "MaskIntervals.h"
#include "VectorizeRegion.h"

#include "attnc/Transforms/Passes.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <functional>
#include <limits>

namespace mlir::attnc {
#define GEN_PASS_DEF_ATTNLOWERATTENTIONPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace mlir::attnc

using namespace mlir;
using namespace mlir::attnc;

namespace {

/// Builds the loops of one attn.attention. Members hold what every part of
/// the nest reads: the buffers, the sizes and the tile sizes.
class AttentionLowering {
public:
  AttentionLowering(attn::AttentionOp op, int64_t tileQ, int64_t tileK)
      : op(op), loc(op.getLoc()), b(op), tq(tileQ), tk(tileK) {}

  /// Replaces the op. Fails (with an error) on what is not supported yet.
  LogicalResult run(SmallVectorImpl<Operation *> &exps);

private:
  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cF(double v) {
    return arith::ConstantOp::create(b, loc, elemType,
                                     b.getFloatAttr(elemType, v));
  }
  Value dimOf(Value memref, int64_t i) {
    auto type = cast<MemRefType>(memref.getType());
    if (!type.isDynamicDim(i))
      return cIdx(type.getDimSize(i));
    return memref::DimOp::create(b, loc, memref, i);
  }
  /// A memref of `shape` (kDynamic entries taken from `dynSizes`) allocated
  /// on the stack of the current task.
  Value stackBuffer(ArrayRef<int64_t> shape, ValueRange dynSizes) {
    return memref::AllocaOp::create(b, loc, MemRefType::get(shape, elemType),
                                    dynSizes);
  }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(Value value, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, value, memref, indices);
  }
  /// `for (iv = 0; iv < ub; ++iv) body(iv)`.
  void loop(Value ub, function_ref<void(Value)> body) {
    loopFrom(cIdx(0), ub, body);
  }
  /// `for (iv = lb; iv < ub; ++iv) body(iv)`.
  void loopFrom(Value lb, Value ub, function_ref<void(Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, cIdx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }
  /// A loop carrying one value (a float or a vector); returns its final value.
  Value reduce(Value ub, Value init, function_ref<Value(Value, Value)> body) {
    Value lb = cIdx(0), step = cIdx(1);
    auto forOp = scf::ForOp::create(b, loc, lb, ub, step, init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      Value next = body(forOp.getInductionVar(), forOp.getRegionIterArg(0));
      scf::YieldOp::create(b, loc, next);
    }
    return forOp.getResult(0);
  }
  Value fastAdd(Value x, Value y) {
    return arith::AddFOp::create(b, loc, x, y, fastFlags);
  }
  Value fastMul(Value x, Value y) {
    return arith::MulFOp::create(b, loc, x, y, fastFlags);
  }
  Value exp(Value x) {
    Value e = math::ExpOp::create(b, loc, x);
    exps->push_back(e.getDefiningOp());
    return e;
  }

  /// Clones the single-block region `region` with its arguments bound to
  /// `args` and returns the yielded value.
  Value inlineRegion(Region &region, ValueRange args) {
    IRMapping mapping;
    Block &block = region.front();
    mapping.map(block.getArguments(), args);
    for (Operation &inner : block.without_terminator())
      b.clone(inner, mapping);
    auto yield = cast<attn::YieldOp>(block.getTerminator());
    return mapping.lookupOrDefault(yield.getValues().front());
  }

  /// Whether key `j` is visible to query `i`, per element.
  Value visibleAt(Value bi, Value hi, Value i, Value j, bool applyMask) {
    Value visible;
    if (applyMask && !op.getMask().empty())
      visible = inlineRegion(op.getMask(), {bi, hi, i, j});
    if (blockMask) {
      ArrayRef<int64_t> sizes = *op.getBlockSizes();
      Value bi0 = arith::DivUIOp::create(b, loc, i, cIdx(sizes[0]));
      Value bj0 = arith::DivUIOp::create(b, loc, j, cIdx(sizes[1]));
      Value inBlock = load(blockMask, {bi, hi, bi0, bj0});
      visible =
          visible ? arith::AndIOp::create(b, loc, visible, inBlock).getResult()
                  : inBlock;
    }
    return visible;
  }

  /// keyPacked_p[b, h, kt, d, c] = key_p[b, h, kt * TK + c, d], zero past
  /// the last key: each key tile transposed once, contiguous, for all the
  /// query tiles that read it.
  void emitKeyPacking(unsigned p, Value batch, Value numKeyTiles);
  void emitTask(Value bi, Value hi, Value qt);
  /// Calls `body(r0, count)` for blocks of kRowBlock rows of [0, rows), then
  /// for each row left over with count 1.
  void forRowBlocks(Value rows, function_ref<void(Value, int64_t)> body);
  /// s_p[r0 .. r0 + count) = q_p rows . kT_p, with count x numVecs
  /// accumulators.
  void emitScoreRows(unsigned p, Value bi, Value hi, Value hk, Value kt,
                     Value i0, Value r0, int64_t count, int64_t numVecs,
                     VectorType vecType, Value zeroVec);
  /// Whether the score and mask regions (and the block mask) can be
  /// evaluated on a vector of keys at once: see VectorizeRegion.h.
  bool canVectorizeWeights(bool applyMask);
  /// Row r of the score tile to weights, a vector of keys at a time; the
  /// running max and sum of the row are updated and its rescale factor is
  /// stored in rowAlpha[r].
  void emitRowWeightsVector(Value bi, Value hi, Value i, Value r, Value j0,
                            Value cols, bool applyMask, VectorType vecType);
  /// The same, one key at a time, for regions that read keys' data.
  void emitRowWeightsScalar(Value bi, Value hi, Value i, Value r, Value j0,
                            Value cols, bool applyMask);
  /// acc[r0 .. r0 + count) += p rows . v[tile], with count accumulators per
  /// vector of a value row. With `skipZeroWeights` (partial tiles), a key
  /// whose weight is 0 leaves the accumulator as it is, so that a value the
  /// mask removes cannot reach it (0 * NaN is NaN).
  void emitValueRows(Value bi, Value hv, Value j0, Value cols, Value r0,
                     int64_t count, VectorType vecType, bool skipZeroWeights);
  /// Whether every value v[b, hv, j0 + c, :] for c < cols is finite. Then
  /// 0 * v is 0 and the partial tile's value rows need no zero-weight
  /// selects: one pass over the tile's values, shared by all its rows.
  Value valuesFinite(Value bi, Value hv, Value j0, Value cols,
                     VectorType vecType, Value zeroVec);
  void emitKeyTile(Value bi, Value hi, ValueRange hks, Value hv, Value i0,
                   Value rows, Value kt, Value j0, Value cols, bool applyMask);
  /// The score region's arguments before the indices: the raw dot products
  /// of row `r` at column `c` (scalars) or at columns `c ...` (vectors).
  SmallVector<Value> rawScoresAt(Value r, Value c, VectorType vecType);

  attn::AttentionOp op;
  Location loc;
  OpBuilder b;
  int64_t tq, tk;
  FloatType elemType;
  /// Elements per vector register of 512 bits (LLVM splits them on AVX2).
  int64_t vectorWidth = 16;
  /// Query rows per register block: 4 rows x 4 vectors of the 64-key tile
  /// are 16 accumulators, half of AVX-512's registers.
  static constexpr int64_t kRowBlock = 4;
  arith::FastMathFlags fastFlags =
      arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
  SmallVectorImpl<Operation *> *exps = nullptr;

  unsigned numDots = 0;
  // Per dot product p: the query, key, packed keys, head dim and group.
  SmallVector<Value> queries, keys, keyPacked, dqks, keyGroups;
  Value value, blockMask, bias, out, lse;
  Value numQ, numK, dv, valueGroup;
  // Per task: the accumulator, running max, sum and rescale factor of each
  // row, the weights tile and the raw score tile of each dot product (the
  // weights tile itself when there is one).
  Value acc, rowMax, rowSum, rowAlpha, scores;
  SmallVector<Value> rawScores;

  // Run-time block lists (file comment). The mask's data reads; for each
  // read on the key side only, its range per key tile (lo, hi: [B, H',
  // ceil(M / TK)], H' = H when it depends on h, else 1) and, for the column
  // form, its values per key tile ([B, H', ceil(M / TK), TK], i1 as i8).
  SmallVector<MaskRead> maskReads;
  struct KeyRange {
    unsigned read;
    Value lo, hi, values;
  };
  SmallVector<KeyRange> keyRanges;
  /// The mask the vector weights clone (the op's, or specialMask), which of
  /// its arguments vary along a vector, and its arguments after (b, h, i, j)
  /// at column c0 of the tile.
  Region *weightsMask = nullptr;
  SmallVector<bool> weightsMaskVarying;
  std::function<SmallVector<Value>(Value, int64_t)> weightsMaskExtras;
  /// How partial tiles run the mask on vectors when the op's mask has no
  /// vector form: Columns reads the key-side reads from their per-tile
  /// values; Points takes every read that depends on i or j as one value
  /// per tile, on tiles where each such read has a single value. Either
  /// way, every other read is an argument too, read once per task (b, h
  /// only) or per row (i only): a read of a computed tensor (r06's cluster
  /// ids, a tensor.generate) is not recomputed per vector of keys.
  enum class Special { None, Columns, Points } special = Special::None;
  std::unique_ptr<Region> specialMask;
  /// Where each argument of specialMask after (b, h, i, j) comes from.
  enum class Source { Column, Row, Task, Point };
  SmallVector<unsigned> specialReads;
  SmallVector<Source> specialSources;
  /// Per task: the value of each Row read at each row of the query tile
  /// ([TQ] buffers), and of each Task read, by read.
  llvm::DenseMap<unsigned, Value> rowValues, taskValues;
  /// Chooses `special` (after maskReads).
  void chooseSpecialMask();
  /// The first phase: the key-side ranges (and values) of keyRanges.
  void emitKeyRanges(Value batch, Value heads, Value numKeyTiles);
  /// The ranges, over the task's query tile, of the reads that do not
  /// depend on j, by their op.
  void emitQueryRanges(Value bi, Value hi, Value i0, Value rows,
                       llvm::DenseMap<Operation *, ReadRange> &known);
};

} // namespace

void AttentionLowering::forRowBlocks(Value rows,
                                     function_ref<void(Value, int64_t)> body) {
  Value blocks = arith::DivUIOp::create(b, loc, rows, cIdx(kRowBlock));
  loop(blocks, [&](Value blk) {
    body(arith::MulIOp::create(b, loc, blk, cIdx(kRowBlock)), kRowBlock);
  });
  Value done = arith::MulIOp::create(b, loc, blocks, cIdx(kRowBlock));
  loopFrom(done, rows, [&](Value r) { body(r, 1); });
}

void AttentionLowering::emitScoreRows(unsigned p, Value bi, Value hi, Value hk,
                                      Value kt, Value i0, Value r0,
                                      int64_t count, int64_t numVecs,
                                      VectorType vecType, Value zeroVec) {
  SmallVector<Value> inits(count * numVecs, zeroVec);
  Value lb = cIdx(0), step = cIdx(1);
  auto dLoop = scf::ForOp::create(b, loc, lb, dqks[p], step, inits);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(dLoop.getBody());
    Value d = dLoop.getInductionVar();
    SmallVector<Value> kv;
    for (int64_t v = 0; v < numVecs; ++v)
      kv.push_back(vector::LoadOp::create(
          b, loc, vecType, keyPacked[p],
          ValueRange{bi, hk, kt, d, cIdx(v * vectorWidth)}));
    SmallVector<Value> next;
    for (int64_t k = 0; k < count; ++k) {
      Value i = arith::AddIOp::create(
          b, loc, i0, arith::AddIOp::create(b, loc, r0, cIdx(k)));
      Value qv = vector::BroadcastOp::create(b, loc, vecType,
                                             load(queries[p], {bi, hi, i, d}));
      for (int64_t v = 0; v < numVecs; ++v)
        next.push_back(vector::FMAOp::create(
            b, loc, qv, kv[v], dLoop.getRegionIterArg(k * numVecs + v)));
    }
    scf::YieldOp::create(b, loc, next);
  }
  for (int64_t k = 0; k < count; ++k) {
    Value r = arith::AddIOp::create(b, loc, r0, cIdx(k));
    for (int64_t v = 0; v < numVecs; ++v)
      vector::StoreOp::create(b, loc, dLoop.getResult(k * numVecs + v),
                              rawScores[p],
                              ValueRange{r, cIdx(v * vectorWidth)});
  }
}

void AttentionLowering::emitValueRows(Value bi, Value hv, Value j0, Value cols,
                                      Value r0, int64_t count,
                                      VectorType vecType,
                                      bool skipZeroWeights) {
  int64_t numVecs = *getConstantIntValue(dv) / vectorWidth;
  SmallVector<Value> rowsOf;
  for (int64_t k = 0; k < count; ++k)
    rowsOf.push_back(arith::AddIOp::create(b, loc, r0, cIdx(k)));
  // The accumulator rows, rescaled by the rows' alpha on the way in.
  bool rescale = op.getNormalizer() == attn::Normalizer::Softmax;
  SmallVector<Value> inits;
  for (int64_t k = 0; k < count; ++k) {
    Value alpha;
    if (rescale)
      alpha = vector::BroadcastOp::create(b, loc, vecType,
                                          load(rowAlpha, {rowsOf[k]}));
    for (int64_t v = 0; v < numVecs; ++v) {
      Value row = vector::LoadOp::create(
          b, loc, vecType, acc, ValueRange{rowsOf[k], cIdx(v * vectorWidth)});
      inits.push_back(rescale ? fastMul(row, alpha) : row);
    }
  }
  Value lb = cIdx(0), step = cIdx(1);
  auto cLoop = scf::ForOp::create(b, loc, lb, cols, step, inits);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(cLoop.getBody());
    Value c = cLoop.getInductionVar();
    Value j = arith::AddIOp::create(b, loc, j0, c);
    SmallVector<Value> vv;
    for (int64_t v = 0; v < numVecs; ++v)
      vv.push_back(
          vector::LoadOp::create(b, loc, vecType, value,
                                 ValueRange{bi, hv, j, cIdx(v * vectorWidth)}));
    SmallVector<Value> next;
    for (int64_t k = 0; k < count; ++k) {
      Value weight = load(scores, {rowsOf[k], c});
      Value p = vector::BroadcastOp::create(b, loc, vecType, weight);
      // Unordered: a NaN weight (a NaN score) still reaches the result.
      Value kept = skipZeroWeights
                       ? arith::CmpFOp::create(
                             b, loc, arith::CmpFPredicate::UNE, weight, cF(0.0))
                             .getResult()
                       : Value();
      for (int64_t v = 0; v < numVecs; ++v) {
        Value sum = cLoop.getRegionIterArg(k * numVecs + v);
        Value fma = vector::FMAOp::create(b, loc, p, vv[v], sum);
        next.push_back(
            kept ? arith::SelectOp::create(b, loc, kept, fma, sum).getResult()
                 : fma);
      }
    }
    scf::YieldOp::create(b, loc, next);
  }
  for (int64_t k = 0; k < count; ++k)
    for (int64_t v = 0; v < numVecs; ++v)
      vector::StoreOp::create(b, loc, cLoop.getResult(k * numVecs + v), acc,
                              ValueRange{rowsOf[k], cIdx(v * vectorWidth)});
}

bool AttentionLowering::canVectorizeWeights(bool applyMask) {
  // The block mask is one load per vector when a vector never straddles two
  // key blocks (tiles and vectors start at multiples of the vector width).
  if (blockMask && (*op.getBlockSizes())[1] % vectorWidth != 0)
    return false;
  // Score arguments (s_1, ..., s_P, b, h, i, j), mask arguments (b, h, i,
  // j).
  SmallVector<bool> scoreVarying(numDots, true);
  scoreVarying.append({false, false, false, true});
  return isVectorizableRegion(op.getScore(), scoreVarying) &&
         (!applyMask || isVectorizableRegion(*weightsMask, weightsMaskVarying));
}

void AttentionLowering::emitRowWeightsVector(Value bi, Value hi, Value i,
                                             Value r, Value j0, Value cols,
                                             bool applyMask,
                                             VectorType vecType) {
  attn::Normalizer normalizer = op.getNormalizer();
  auto idxVecType = VectorType::get({vectorWidth}, b.getIndexType());
  SmallVector<int64_t> lanes = llvm::to_vector(llvm::seq<int64_t>(vectorWidth));
  Value iota = arith::ConstantOp::create(
      b, loc, idxVecType, DenseElementsAttr::get(idxVecType, ArrayRef(lanes)));
  Value colsVec = vector::BroadcastOp::create(b, loc, idxVecType, cols);
  auto splat = [&](Value scalar) -> Value {
    return vector::BroadcastOp::create(b, loc, vecType, scalar);
  };
  Value zero = cF(0.0);
  Value negInf = cF(-std::numeric_limits<double>::infinity());

  // The modified scores of the row, one vector per vectorWidth keys, with
  // the invisible keys (masked, or past the last key) set to `hidden`.
  auto scoresOfRow = [&](Value hidden) {
    SmallVector<Value> vecs;
    for (int64_t c0 = 0; c0 < tk; c0 += vectorWidth) {
      SmallVector<Value> args = rawScoresAt(r, cIdx(c0), vecType);
      Value cVec = arith::AddIOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, idxVecType, cIdx(c0)),
          iota);
      Value jVec = arith::AddIOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, idxVecType, j0), cVec);
      Value s = args.empty() ? Value() : args.front();
      if (!op.getScore().empty()) {
        args.append({bi, hi, i, jVec});
        s = cloneRegionOnVectors(b, loc, op.getScore(), args, vectorWidth);
      }
      if (normalizer == attn::Normalizer::Sigmoid) {
        if (bias)
          s = arith::AddFOp::create(b, loc, s, splat(bias));
        Value e = exp(arith::NegFOp::create(b, loc, s));
        Value one = splat(cF(1.0));
        Value den = arith::AddFOp::create(b, loc, splat(cF(1.0)), e);
        s = arith::DivFOp::create(b, loc, one, den);
      }
      Value visible = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                            cVec, colsVec);
      if (applyMask && !op.getMask().empty()) {
        SmallVector<Value> maskArgs = {bi, hi, i, jVec};
        if (weightsMaskExtras)
          llvm::append_range(maskArgs, weightsMaskExtras(r, c0));
        visible = arith::AndIOp::create(
            b, loc, visible,
            cloneRegionOnVectors(b, loc, *weightsMask, maskArgs, vectorWidth));
      }
      if (blockMask) {
        ArrayRef<int64_t> sizes = *op.getBlockSizes();
        Value bq = arith::DivUIOp::create(b, loc, i, cIdx(sizes[0]));
        Value firstKey = arith::AddIOp::create(b, loc, j0, cIdx(c0));
        Value bk = arith::DivUIOp::create(b, loc, firstKey, cIdx(sizes[1]));
        Value inBlock = load(blockMask, {bi, hi, bq, bk});
        visible = arith::AndIOp::create(
            b, loc, visible,
            vector::BroadcastOp::create(
                b, loc, VectorType::get({vectorWidth}, b.getI1Type()),
                inBlock));
      }
      vecs.push_back(
          arith::SelectOp::create(b, loc, visible, s, splat(hidden)));
    }
    return vecs;
  };

  if (normalizer != attn::Normalizer::Softmax) {
    Value sumVec = splat(zero);
    SmallVector<Value> weights = scoresOfRow(zero);
    for (auto [v, w] : llvm::enumerate(weights)) {
      vector::StoreOp::create(b, loc, w, scores,
                              ValueRange{r, cIdx(v * vectorWidth)});
      sumVec = fastAdd(sumVec, w);
    }
    if (normalizer == attn::Normalizer::Sum) {
      Value sum = vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, sumVec, fastFlags);
      store(arith::AddFOp::create(b, loc, load(rowSum, {r}), sum), rowSum, {r});
    }
    return;
  }

  // Online softmax: m' = max(m, max s), p = exp(s - m'), l = l alpha + sum p
  // with alpha = exp(m - m'); the accumulator is rescaled by alpha when the
  // value product loads it.
  SmallVector<Value> s = scoresOfRow(negInf);
  Value maxVec = s.front();
  for (Value v : llvm::drop_begin(s))
    maxVec = arith::MaxNumFOp::create(b, loc, maxVec, v);
  Value oldMax = load(rowMax, {r});
  Value newMax = arith::MaxNumFOp::create(
      b, loc, oldMax,
      vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF,
                                  maxVec));
  // A row with no visible key yet keeps m = -inf: subtract 0 instead, so
  // that exp(-inf - 0) = 0 rather than exp(-inf + inf) = NaN.
  Value isEmpty =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, newMax, negInf);
  Value safeMax = arith::SelectOp::create(b, loc, isEmpty, zero, newMax);
  Value alpha = exp(arith::SubFOp::create(b, loc, oldMax, safeMax));
  Value sumVec = splat(zero);
  for (auto [v, sv] : llvm::enumerate(s)) {
    Value p = exp(arith::SubFOp::create(b, loc, sv, splat(safeMax)));
    vector::StoreOp::create(b, loc, p, scores,
                            ValueRange{r, cIdx(v * vectorWidth)});
    sumVec = fastAdd(sumVec, p);
  }
  Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                          sumVec, fastFlags);
  store(
      arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, load(rowSum, {r}), alpha), sum),
      rowSum, {r});
  store(newMax, rowMax, {r});
  store(alpha, rowAlpha, {r});
}

void AttentionLowering::emitRowWeightsScalar(Value bi, Value hi, Value i,
                                             Value r, Value j0, Value cols,
                                             bool applyMask) {
  attn::Normalizer normalizer = op.getNormalizer();
  Value negInf = cF(-std::numeric_limits<double>::infinity());
  Value zero = cF(0.0);
  // The score region and the mask, then the weights in place of s.
  auto scoreAt = [&](Value c, Value &visible) {
    Value j = arith::AddIOp::create(b, loc, j0, c);
    SmallVector<Value> args = rawScoresAt(r, c, VectorType());
    Value s = args.empty() ? Value() : args.front();
    if (!op.getScore().empty()) {
      args.append({bi, hi, i, j});
      s = inlineRegion(op.getScore(), args);
    }
    visible = visibleAt(bi, hi, i, j, applyMask);
    return s;
  };
  if (normalizer == attn::Normalizer::Softmax) {
    Value oldMax = load(rowMax, {r});
    Value newMax = reduce(cols, oldMax, [&](Value c, Value running) {
      Value visible;
      Value s = scoreAt(c, visible);
      if (visible)
        s = arith::SelectOp::create(b, loc, visible, s, negInf);
      store(s, scores, {r, c});
      return arith::MaxNumFOp::create(b, loc, running, s).getResult();
    });
    // As in the vector form.
    Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                          newMax, negInf);
    Value safeMax = arith::SelectOp::create(b, loc, isEmpty, zero, newMax);
    Value alpha = exp(arith::SubFOp::create(b, loc, oldMax, safeMax));
    Value sum = reduce(cols, zero, [&](Value c, Value running) {
      Value p =
          exp(arith::SubFOp::create(b, loc, load(scores, {r, c}), safeMax));
      store(p, scores, {r, c});
      return fastAdd(running, p);
    });
    store(arith::AddFOp::create(
              b, loc, arith::MulFOp::create(b, loc, load(rowSum, {r}), alpha),
              sum),
          rowSum, {r});
    store(newMax, rowMax, {r});
    store(alpha, rowAlpha, {r});
  } else {
    Value sum = reduce(cols, zero, [&](Value c, Value running) {
      Value visible;
      Value w = scoreAt(c, visible);
      if (normalizer == attn::Normalizer::Sigmoid) {
        if (bias)
          w = arith::AddFOp::create(b, loc, w, bias);
        Value e = exp(arith::NegFOp::create(b, loc, w));
        Value one = cF(1.0);
        Value den = arith::AddFOp::create(b, loc, cF(1.0), e);
        w = arith::DivFOp::create(b, loc, one, den);
      }
      if (visible)
        w = arith::SelectOp::create(b, loc, visible, w, zero);
      store(w, scores, {r, c});
      return fastAdd(running, w);
    });
    if (normalizer == attn::Normalizer::Sum)
      store(arith::AddFOp::create(b, loc, load(rowSum, {r}), sum), rowSum, {r});
  }
  // Weights past the last key are 0 (the vector loop of the value product
  // reads them).
  loopFrom(cols, cIdx(tk), [&](Value c) { store(zero, scores, {r, c}); });
}

SmallVector<Value> AttentionLowering::rawScoresAt(Value r, Value c,
                                                  VectorType vecType) {
  SmallVector<Value> raw;
  for (Value tile : rawScores)
    raw.push_back(vecType ? vector::LoadOp::create(b, loc, vecType, tile,
                                                   ValueRange{r, c})
                                .getResult()
                          : load(tile, {r, c}));
  return raw;
}

void AttentionLowering::emitKeyTile(Value bi, Value hi, ValueRange hks,
                                    Value hv, Value i0, Value rows, Value kt,
                                    Value j0, Value cols, bool applyMask) {
  auto vecType = VectorType::get({vectorWidth}, elemType);
  Value zeroVec = arith::ConstantOp::create(
      b, loc, vecType,
      DenseElementsAttr::get(vecType, b.getFloatAttr(elemType, 0.0)));
  int64_t numVecs = tk / vectorWidth;
  std::optional<int64_t> dvStatic = getConstantIntValue(dv);
  bool vectorPV = dvStatic && *dvStatic % vectorWidth == 0;
  // s[r, :] = q[b, h, i0 + r, :] . kT for every row, kRowBlock rows at a
  // time, then the rows left over one by one.
  for (unsigned p = 0; p < numDots; ++p)
    forRowBlocks(rows, [&](Value r0, int64_t count) {
      emitScoreRows(p, bi, hi, hks[p], kt, i0, r0, count, numVecs, vecType,
                    zeroVec);
    });
  bool vectorWeights = canVectorizeWeights(applyMask);
  bool softmax = op.getNormalizer() == attn::Normalizer::Softmax;
  loop(rows, [&](Value r) {
    Value i = arith::AddIOp::create(b, loc, i0, r);
    if (vectorWeights)
      emitRowWeightsVector(bi, hi, i, r, j0, cols, applyMask, vecType);
    else
      emitRowWeightsScalar(bi, hi, i, r, j0, cols, applyMask);
    if (!vectorPV) {
      // acc[r, :] = acc[r, :] alpha + sum_c p[r, c] * v[b, hk, j0 + c, :]
      if (softmax) {
        Value alpha = load(rowAlpha, {r});
        loop(dv, [&](Value e) {
          store(fastMul(load(acc, {r, e}), alpha), acc, {r, e});
        });
      }
      loop(cols, [&](Value c) {
        Value p = load(scores, {r, c});
        Value j = arith::AddIOp::create(b, loc, j0, c);
        // As in emitValueRows: a removed key's value must not reach acc.
        Value kept =
            applyMask ? arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE,
                                              p, cF(0.0))
                            .getResult()
                      : Value();
        loop(dv, [&](Value e) {
          Value prod = fastMul(p, load(value, {bi, hv, j, e}));
          Value old = load(acc, {r, e});
          Value sum = fastAdd(old, prod);
          if (kept)
            sum = arith::SelectOp::create(b, loc, kept, sum, old);
          store(sum, acc, {r, e});
        });
      });
    }
  });
  // acc[r, :] = acc[r, :] alpha + sum_c p[r, c] * v[b, hk, j0 + c, :],
  // kRowBlock rows at a time, each value vector loaded once per block.
  auto valueRows = [&](bool skipZeroWeights) {
    forRowBlocks(rows, [&](Value r0, int64_t count) {
      emitValueRows(bi, hv, j0, cols, r0, count, vecType, skipZeroWeights);
    });
  };
  if (!vectorPV)
    return;
  if (!applyMask) {
    valueRows(/*skipZeroWeights=*/false);
    return;
  }
  // Selects on every weight and vector cost 9% on sliding-window attention
  // (W = 256, N = 2048-4096); this check costs 1/rows of the products.
  Value finite = valuesFinite(bi, hv, j0, cols, vecType, zeroVec);
  auto ifFinite = scf::IfOp::create(b, loc, finite, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifFinite.thenBlock()->getTerminator());
  valueRows(/*skipZeroWeights=*/false);
  b.setInsertionPoint(ifFinite.elseBlock()->getTerminator());
  valueRows(/*skipZeroWeights=*/true);
}

Value AttentionLowering::valuesFinite(Value bi, Value hv, Value j0, Value cols,
                                      VectorType vecType, Value zeroVec) {
  int64_t numVecs = *getConstantIntValue(dv) / vectorWidth;
  // sum_c v * 0 is NaN exactly when some v is inf or NaN. No fast-math
  // flags: they would let LLVM fold v * 0 to 0.
  Value sum = reduce(cols, zeroVec, [&](Value c, Value sum) {
    Value j = arith::AddIOp::create(b, loc, j0, c);
    for (int64_t v = 0; v < numVecs; ++v) {
      Value row = vector::LoadOp::create(
          b, loc, vecType, value, ValueRange{bi, hv, j, cIdx(v * vectorWidth)});
      sum = vector::FMAOp::create(b, loc, row, zeroVec, sum);
    }
    return sum;
  });
  Value total =
      vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, sum);
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ORD, total, total);
}

void AttentionLowering::emitKeyPacking(unsigned p, Value batch,
                                       Value numKeyTiles) {
  Value key = keys[p], packed = keyPacked[p], dqk = dqks[p];
  SmallVector<OpFoldResult> ubs = {batch, dimOf(key, 1), numKeyTiles};
  auto forall = scf::ForallOp::create(b, loc, ubs, ValueRange{}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getBody()->getTerminator());
  // getInductionVars() returns a new vector: keep it.
  SmallVector<Value> ivs = forall.getInductionVars();
  Value bi = ivs[0], hk = ivs[1], kt = ivs[2];
  Value j0 = arith::MulIOp::create(b, loc, kt, cIdx(tk));
  Value tileCols = cIdx(tk);
  Value cols = arith::MinSIOp::create(b, loc, tileCols,
                                      arith::SubIOp::create(b, loc, numK, j0));
  loop(cols, [&](Value c) {
    Value j = arith::AddIOp::create(b, loc, j0, c);
    loop(dqk, [&](Value d) {
      store(load(key, {bi, hk, j, d}), packed, {bi, hk, kt, d, c});
    });
  });
  Value zero = cF(0.0);
  loopFrom(cols, cIdx(tk), [&](Value c) {
    loop(dqk, [&](Value d) { store(zero, packed, {bi, hk, kt, d, c}); });
  });
}

void AttentionLowering::chooseSpecialMask() {
  weightsMask = &op.getMask();
  weightsMaskVarying = {false, false, false, true};
  // Only where the op's own mask has no vector form (it reads data at j,
  // or checks an index that depends on j).
  if (maskReads.empty() || canVectorizeWeights(/*applyMask=*/true))
    return;
  auto tryForm = [&](Special form) {
    SmallVector<unsigned> chosen;
    SmallVector<Source> sources;
    SmallVector<Operation *> ops;
    SmallVector<bool> varying = {false, false, false, true};
    for (auto [n, read] : llvm::enumerate(maskReads)) {
      std::optional<Source> source;
      if (!read.onI && !read.onJ)
        source = Source::Task;
      else if (form == Special::Points)
        source = Source::Point;
      else if (!read.onI)
        source = Source::Column;
      else if (!read.onJ)
        source = Source::Row;
      if (!source)
        continue;
      chosen.push_back(n);
      sources.push_back(*source);
      ops.push_back(read.op);
      varying.push_back(*source == Source::Column);
    }
    if (!llvm::is_contained(sources, form == Special::Points ? Source::Point
                                                             : Source::Column))
      return false;
    std::unique_ptr<Region> region = specializeMask(op.getMask(), ops);
    Region *saved = weightsMask;
    SmallVector<bool> savedVarying = weightsMaskVarying;
    weightsMask = region.get();
    weightsMaskVarying = varying;
    bool ok = canVectorizeWeights(/*applyMask=*/true);
    weightsMask = saved;
    weightsMaskVarying = savedVarying;
    if (!ok)
      return false;
    special = form;
    specialMask = std::move(region);
    specialReads = std::move(chosen);
    specialSources = std::move(sources);
    return true;
  };
  if (!tryForm(Special::Columns))
    tryForm(Special::Points);
}

void AttentionLowering::emitKeyRanges(Value batch, Value heads,
                                      Value numKeyTiles) {
  for (auto [n, read] : llvm::enumerate(maskReads)) {
    if (!read.onJ || read.onI)
      continue;
    bool columns = special == Special::Columns;
    Type type = read.op->getResult(0).getType();
    Value perHeads = read.onH ? heads : cIdx(1);
    auto buffer = [&](ArrayRef<Value> sizes, Type elementType) -> Value {
      SmallVector<int64_t> shape;
      SmallVector<Value> dyn;
      for (Value size : sizes) {
        std::optional<int64_t> c = getConstantIntValue(size);
        shape.push_back(c ? *c : ShapedType::kDynamic);
        if (!c)
          dyn.push_back(size);
      }
      return memref::AllocOp::create(b, loc,
                                     MemRefType::get(shape, elementType), dyn);
    };
    KeyRange range{unsigned(n), buffer({batch, perHeads, numKeyTiles}, type),
                   buffer({batch, perHeads, numKeyTiles}, type), Value()};
    Type stored = type.isInteger(1) ? b.getI8Type() : type;
    if (columns)
      range.values = buffer({batch, perHeads, numKeyTiles, cIdx(tk)}, stored);
    SmallVector<OpFoldResult> ubs = {batch, perHeads, numKeyTiles};
    auto forall =
        scf::ForallOp::create(b, loc, ubs, ValueRange{}, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(forall.getBody()->getTerminator());
      SmallVector<Value> ivs = forall.getInductionVars();
      Value bi = ivs[0], hh = ivs[1], kt = ivs[2];
      Value j0 = arith::MulIOp::create(b, loc, kt, cIdx(tk));
      Value tileCols = cIdx(tk);
      Value cols = arith::MinSIOp::create(
          b, loc, tileCols, arith::SubIOp::create(b, loc, numK, j0));
      Value last = arith::SubIOp::create(b, loc, cols, cIdx(1));
      // Columns past the last key repeat the last one: the range is the
      // same, and the padded values are ones the mask sees anyway.
      ReadRange init = emitEmptyRange(b, loc, type);
      Value lb = cIdx(0), ub = cIdx(tk), step = cIdx(1);
      auto forOp = scf::ForOp::create(b, loc, lb, ub, step,
                                      ValueRange{init.lo, init.hi});
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(forOp.getBody());
        Value c = forOp.getInductionVar();
        Value j = arith::AddIOp::create(
            b, loc, j0, arith::MinSIOp::create(b, loc, c, last));
        Value x = emitMaskReadAt(b, op.getMask(), read, {bi, hh, Value(), j});
        if (range.values) {
          Value v = x;
          if (type.isInteger(1))
            v = arith::ExtUIOp::create(b, loc, stored, x);
          store(v, range.values, {bi, hh, kt, c});
        }
        ReadRange next = emitRangeUnion(
            b, loc, {forOp.getRegionIterArg(0), forOp.getRegionIterArg(1)}, x);
        scf::YieldOp::create(b, loc, ValueRange{next.lo, next.hi});
      }
      store(forOp.getResult(0), range.lo, {bi, hh, kt});
      store(forOp.getResult(1), range.hi, {bi, hh, kt});
    }
    keyRanges.push_back(range);
  }
}

void AttentionLowering::emitQueryRanges(
    Value bi, Value hi, Value i0, Value rows,
    llvm::DenseMap<Operation *, ReadRange> &known) {
  rowValues.clear();
  taskValues.clear();
  for (auto [n, read] : llvm::enumerate(maskReads)) {
    if (read.onJ)
      continue;
    if (!read.onI) {
      Value x =
          emitMaskReadAt(b, op.getMask(), read, {bi, hi, Value(), Value()});
      known[read.op] = {x, x};
      taskValues[n] = x;
      continue;
    }
    // The row values, when the specialized mask takes them.
    Value rowBuffer;
    if (special == Special::Columns) {
      rowBuffer = memref::AllocaOp::create(
          b, loc, MemRefType::get({tq}, read.op->getResult(0).getType()));
      rowValues[n] = rowBuffer;
    }
    ReadRange init = emitEmptyRange(b, loc, read.op->getResult(0).getType());
    Value lb = cIdx(0), step = cIdx(1);
    auto forOp = scf::ForOp::create(b, loc, lb, rows, step,
                                    ValueRange{init.lo, init.hi});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      Value i = arith::AddIOp::create(b, loc, i0, forOp.getInductionVar());
      Value x = emitMaskReadAt(b, op.getMask(), read, {bi, hi, i, Value()});
      if (rowBuffer)
        store(x, rowBuffer, {forOp.getInductionVar()});
      ReadRange next = emitRangeUnion(
          b, loc, {forOp.getRegionIterArg(0), forOp.getRegionIterArg(1)}, x);
      scf::YieldOp::create(b, loc, ValueRange{next.lo, next.hi});
    }
    known[read.op] = {forOp.getResult(0), forOp.getResult(1)};
  }
}

void AttentionLowering::emitTask(Value bi, Value hi, Value qt) {
  auto scope = memref::AllocaScopeOp::create(b, loc, TypeRange{});
  Block *body = b.createBlock(&scope.getBodyRegion());
  b.setInsertionPointToStart(body);

  Value i0 = arith::MulIOp::create(b, loc, qt, cIdx(tq));
  Value tileRows = cIdx(tq);
  Value rows = arith::MinSIOp::create(b, loc, tileRows,
                                      arith::SubIOp::create(b, loc, numQ, i0));
  SmallVector<Value> hks;
  for (Value group : keyGroups)
    hks.push_back(arith::DivUIOp::create(b, loc, hi, group));
  Value hv = arith::DivUIOp::create(b, loc, hi, valueGroup);

  auto dynIfNeeded = [](Value size, SmallVectorImpl<Value> &dyn) -> int64_t {
    if (std::optional<int64_t> c = getConstantIntValue(size))
      return *c;
    dyn.push_back(size);
    return ShapedType::kDynamic;
  };
  SmallVector<Value> accDyn;
  int64_t dvStatic = dynIfNeeded(dv, accDyn);
  acc = stackBuffer({tq, dvStatic}, accDyn);
  rowMax = stackBuffer({tq}, {});
  rowSum = stackBuffer({tq}, {});
  rowAlpha = stackBuffer({tq}, {});
  scores = stackBuffer({tq, tk}, {});
  rawScores.clear();
  for (unsigned p = 0; p < numDots; ++p)
    rawScores.push_back(numDots == 1 ? scores : stackBuffer({tq, tk}, {}));

  Value zero = cF(0.0);
  loop(rows, [&](Value r) {
    store(cF(-std::numeric_limits<double>::infinity()), rowMax, {r});
    store(zero, rowSum, {r});
    loop(dv, [&](Value e) { store(zero, acc, {r, e}); });
  });

  Value iEnd = arith::AddIOp::create(b, loc, i0, rows);
  Value iHi = arith::SubIOp::create(b, loc, iEnd, cIdx(1));
  Value numKeyTiles = arith::CeilDivUIOp::create(b, loc, numK, cIdx(tk));
  // The ranges of the reads that do not depend on j, over this query tile.
  llvm::DenseMap<Operation *, ReadRange> queryRanges;
  emitQueryRanges(bi, hi, i0, rows, queryRanges);
  loop(numKeyTiles, [&](Value kt) {
    Value j0 = arith::MulIOp::create(b, loc, kt, cIdx(tk));
    Value tileCols = cIdx(tk);
    Value cols = arith::MinSIOp::create(
        b, loc, tileCols, arith::SubIOp::create(b, loc, numK, j0));
    Value jEnd = arith::AddIOp::create(b, loc, j0, cols);
    Value jHi = arith::SubIOp::create(b, loc, jEnd, cIdx(1));
    // Every read bounded on the tile: the query side from above, the key
    // side from the first phase, the others over their index box.
    TileReads reads;
    reads.known = queryRanges;
    for (const KeyRange &range : keyRanges) {
      const MaskRead &read = maskReads[range.read];
      Value hh = read.onH ? hi : cIdx(0);
      reads.known[read.op] = {load(range.lo, {bi, hh, kt}),
                              load(range.hi, {bi, hh, kt})};
    }
    reads.maxBoxVolume = tq * tk;
    TileVisibility visibility = emitTileVisibility(b, loc, op.getMask(), bi, hi,
                                                   i0, iHi, j0, jHi, &reads);
    // Empty tiles are never visited; full ones skip the mask.
    auto ifMay = scf::IfOp::create(b, loc, visibility.mayBeVisible);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifMay.thenBlock()->getTerminator());
    if (op.getMask().empty()) {
      emitKeyTile(bi, hi, hks, hv, i0, rows, kt, j0, cols,
                  /*applyMask=*/false);
      return;
    }
    auto ifFull = scf::IfOp::create(b, loc, visibility.mustBeVisible,
                                    /*withElseRegion=*/true);
    b.setInsertionPoint(ifFull.thenBlock()->getTerminator());
    emitKeyTile(bi, hi, hks, hv, i0, rows, kt, j0, cols, /*applyMask=*/false);
    b.setInsertionPoint(ifFull.elseBlock()->getTerminator());
    // Partial tiles whose reads are known run the specialized mask on
    // vectors; the others the op's mask (with its checks).
    Value useSpecial;
    SmallVector<Value> pointValues;
    Value exact = visibility.exact;
    if (special != Special::None && !exact)
      exact = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
    if (special == Special::Columns) {
      useSpecial = exact;
    } else if (special == Special::Points) {
      useSpecial = exact;
      for (auto [n, source] : llvm::zip(specialReads, specialSources)) {
        if (source != Source::Point)
          continue;
        auto it = reads.bounded.find(maskReads[n].op);
        if (it == reads.bounded.end()) {
          useSpecial = Value();
          break;
        }
        useSpecial = arith::AndIOp::create(
            b, loc, useSpecial, emitIsSingleValue(b, loc, it->second));
        pointValues.push_back(it->second.lo);
      }
    }
    if (!useSpecial) {
      emitKeyTile(bi, hi, hks, hv, i0, rows, kt, j0, cols, /*applyMask=*/true);
      return;
    }
    // Without checks to run, the column form serves every partial tile.
    bool always = special == Special::Columns && !visibility.exact;
    scf::IfOp ifSpecial;
    if (!always) {
      ifSpecial =
          scf::IfOp::create(b, loc, useSpecial, /*withElseRegion=*/true);
      b.setInsertionPoint(ifSpecial.thenBlock()->getTerminator());
    }
    weightsMask = specialMask.get();
    weightsMaskVarying = {false, false, false, true};
    for (Source source : specialSources)
      weightsMaskVarying.push_back(source == Source::Column);
    weightsMaskExtras = [&, kt](Value r, int64_t c0) -> SmallVector<Value> {
      SmallVector<Value> extras;
      unsigned point = 0;
      for (auto [n, source] : llvm::zip(specialReads, specialSources)) {
        if (source == Source::Task) {
          extras.push_back(taskValues.lookup(n));
          continue;
        }
        if (source == Source::Row) {
          extras.push_back(load(rowValues.lookup(n), {r}));
          continue;
        }
        if (source == Source::Point) {
          extras.push_back(pointValues[point++]);
          continue;
        }
        const KeyRange *range = llvm::find_if(
            keyRanges, [&](const KeyRange &kr) { return kr.read == n; });
        const MaskRead &read = maskReads[n];
        Value hh = read.onH ? hi : cIdx(0);
        Type stored =
            cast<MemRefType>(range->values.getType()).getElementType();
        Value v = vector::LoadOp::create(
            b, loc, VectorType::get({vectorWidth}, stored), range->values,
            ValueRange{bi, hh, kt, cIdx(c0)});
        if (read.op->getResult(0).getType().isInteger(1)) {
          auto vecType = VectorType::get({vectorWidth}, stored);
          Value zeros = arith::ConstantOp::create(
              b, loc, vecType,
              DenseElementsAttr::get(vecType, b.getIntegerAttr(stored, 0)));
          v = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zeros);
        }
        extras.push_back(v);
      }
      return extras;
    };
    emitKeyTile(bi, hi, hks, hv, i0, rows, kt, j0, cols, /*applyMask=*/true);
    weightsMask = &op.getMask();
    weightsMaskVarying = {false, false, false, true};
    weightsMaskExtras = nullptr;
    if (always)
      return;
    b.setInsertionPoint(ifSpecial.elseBlock()->getTerminator());
    emitKeyTile(bi, hi, hks, hv, i0, rows, kt, j0, cols, /*applyMask=*/true);
  });

  // out[b, h, i0 + r, :] = acc[r, :] normalized; lse = m + log l.
  attn::Normalizer normalizer = op.getNormalizer();
  loop(rows, [&](Value r) {
    Value i = arith::AddIOp::create(b, loc, i0, r);
    Value scale;
    Value sum = load(rowSum, {r});
    if (normalizer == attn::Normalizer::Softmax) {
      // No visible key: the row is 0 (and its lse -inf).
      Value positive =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, sum, zero);
      Value inv = arith::DivFOp::create(b, loc, cF(1.0), sum);
      scale = arith::SelectOp::create(b, loc, positive, inv, zero);
      if (lse) {
        Value logSum = math::LogOp::create(b, loc, sum);
        Value value = arith::AddFOp::create(b, loc, load(rowMax, {r}), logSum);
        value = arith::SelectOp::create(
            b, loc, positive, value,
            cF(-std::numeric_limits<double>::infinity()));
        if (value.getType() != cast<MemRefType>(lse.getType()).getElementType())
          value = arith::TruncFOp::create(
              b, loc, cast<MemRefType>(lse.getType()).getElementType(), value);
        store(value, lse, {bi, hi, i});
      }
    } else if (normalizer == attn::Normalizer::Sum) {
      // Scores summing to 0 (no visible key) give 0, as in the interpreter.
      Value nonZero =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ONE, sum, zero);
      Value inv = arith::DivFOp::create(b, loc, cF(1.0), sum);
      scale = arith::SelectOp::create(b, loc, nonZero, inv, zero);
    }
    loop(dv, [&](Value e) {
      Value o = load(acc, {r, e});
      if (scale)
        o = arith::MulFOp::create(b, loc, o, scale);
      store(o, out, {bi, hi, i, e});
    });
  });
  memref::AllocaScopeReturnOp::create(b, loc, ValueRange{});
}

LogicalResult AttentionLowering::run(SmallVectorImpl<Operation *> &expOps) {
  exps = &expOps;
  numDots = op.getNumDots();
  auto outType = cast<RankedTensorType>(op.getOutput().getType());
  Type scoreType = op.getScoreType();
  elemType = dyn_cast<FloatType>(scoreType);
  SmallVector<Value> typed(op.getQueries());
  llvm::append_range(typed, op.getKeys());
  typed.append({op.getValue(), op.getOutput()});
  for (Value v : typed)
    if (cast<RankedTensorType>(v.getType()).getElementType() != scoreType)
      return op.emitError("not supported yet: lowering attn.attention with "
                          "mixed element types");
  if (!elemType || !(elemType.isF32() || elemType.isF64()))
    return op.emitError("not supported yet: lowering attn.attention on ")
           << scoreType << " (only f32 and f64)";
  vectorWidth = 512 / elemType.getWidth();
  if (tk % vectorWidth != 0)
    return op.emitError("attn-lower-attention: tile-k (")
           << tk << ") must be a multiple of " << vectorWidth
           << ", the elements of a 512-bit vector";

  // Read-only views of the operands, in any layout.
  auto bufferOf = [&](Value tensor) -> Value {
    auto type = cast<RankedTensorType>(tensor.getType());
    // Unit innermost stride, so that rows are read with vector loads.
    SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
    strides.back() = 1;
    auto layout =
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
    auto memrefType =
        MemRefType::get(type.getShape(), type.getElementType(), layout);
    return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                             /*read_only=*/true);
  };
  for (auto [q, k] : llvm::zip(op.getQueries(), op.getKeys())) {
    queries.push_back(bufferOf(q));
    keys.push_back(bufferOf(k));
  }
  value = bufferOf(op.getValue());
  // B, H and N come from the first query, or from the init without one
  // (only its sizes are read: it is never bufferized).
  auto rowDim = [&](int64_t i) -> Value {
    if (numDots)
      return dimOf(queries.front(), i);
    auto type = cast<RankedTensorType>(op.getInit().getType());
    if (!type.isDynamicDim(i))
      return cIdx(type.getDimSize(i));
    return tensor::DimOp::create(b, loc, op.getInit(), i);
  };
  if (op.getBlockMask())
    blockMask = bufferOf(op.getBlockMask());
  bias = op.getBias();
  if (bias && bias.getType() != elemType)
    bias = bias.getType().getIntOrFloatBitWidth() < elemType.getWidth()
               ? arith::ExtFOp::create(b, loc, elemType, bias).getResult()
               : arith::TruncFOp::create(b, loc, elemType, bias).getResult();

  Value batch = rowDim(0), heads = rowDim(1);
  numQ = rowDim(2);
  numK = dimOf(value, 2);
  dv = dimOf(value, 3);
  for (unsigned p = 0; p < numDots; ++p) {
    dqks.push_back(dimOf(queries[p], 3));
    keyGroups.push_back(
        arith::DivUIOp::create(b, loc, heads, dimOf(keys[p], 1)));
  }
  valueGroup = arith::DivUIOp::create(b, loc, heads, dimOf(value, 1));

  SmallVector<Value> outDyn;
  for (int64_t i = 0; i < 4; ++i)
    if (outType.isDynamicDim(i))
      outDyn.push_back(i == 3 ? dv : rowDim(i));
  out = memref::AllocOp::create(
      b, loc, MemRefType::get(outType.getShape(), elemType), outDyn);
  if (op.getWithLse()) {
    auto lseType = cast<RankedTensorType>(op.getLse().getType());
    SmallVector<Value> lseDyn;
    for (int64_t i = 0; i < 3; ++i)
      if (lseType.isDynamicDim(i))
        lseDyn.push_back(rowDim(i));
    lse = memref::AllocOp::create(
        b, loc, MemRefType::get(lseType.getShape(), lseType.getElementType()),
        lseDyn);
  }

  // The packed keys: allocated here, freed by the deallocation pipeline
  // after their last use, like `out`.
  Value numKeyTiles = arith::CeilDivUIOp::create(b, loc, numK, cIdx(tk));
  for (unsigned p = 0; p < numDots; ++p) {
    SmallVector<Value> packedDyn;
    SmallVector<int64_t> packedShape;
    for (Value size :
         {batch, dimOf(keys[p], 1), numKeyTiles, dqks[p], cIdx(tk)}) {
      std::optional<int64_t> c = getConstantIntValue(size);
      packedShape.push_back(c ? *c : ShapedType::kDynamic);
      if (!c)
        packedDyn.push_back(size);
    }
    keyPacked.push_back(memref::AllocOp::create(
        b, loc, MemRefType::get(packedShape, elemType), packedDyn));
    emitKeyPacking(p, batch, numKeyTiles);
  }

  // Run-time block lists: the mask's data reads, bounded per tile; the
  // key side first, for all query tiles.
  maskReads = findMaskReads(op.getMask());
  chooseSpecialMask();
  emitKeyRanges(batch, heads, numKeyTiles);

  Value numQueryTiles = arith::CeilDivUIOp::create(b, loc, numQ, cIdx(tq));
  SmallVector<OpFoldResult> ubs = {batch, heads, numQueryTiles};
  auto forall = scf::ForallOp::create(b, loc, ubs, ValueRange{}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forall.getBody()->getTerminator());
    // getInductionVars() returns a new vector: keep it.
    SmallVector<Value> ivs = forall.getInductionVars();
    emitTask(ivs[0], ivs[1], ivs[2]);
  }

  SmallVector<Value> results = {bufferization::ToTensorOp::create(
      b, loc, outType, out, /*restrict=*/true, /*writable=*/true)};
  if (lse)
    results.push_back(bufferization::ToTensorOp::create(
        b, loc, op.getLse().getType(), lse, /*restrict=*/true,
        /*writable=*/true));
  op->replaceAllUsesWith(results);
  op->erase();
  return success();
}

namespace {
struct AttnLowerAttentionPass
    : mlir::attnc::impl::AttnLowerAttentionPassBase<AttnLowerAttentionPass> {
  using AttnLowerAttentionPassBase::AttnLowerAttentionPassBase;

  void runOnOperation() override {
    if (tileQ <= 0 || tileK <= 0) {
      getOperation().emitError("attn-lower-attention: tile sizes must be "
                               "positive");
      return signalPassFailure();
    }
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    SmallVector<Operation *> exps;
    for (attn::AttentionOp op : ops)
      if (failed(AttentionLowering(op, tileQ, tileK).run(exps)))
        return signalPassFailure();

    // Polynomial exponentials in the f32 kernels, which vectorize.
    SmallVector<Operation *> f32Exps;
    for (Operation *e : exps)
      if (getElementTypeOrSelf(e->getResult(0).getType()).isF32())
        f32Exps.push_back(e);
    if (f32Exps.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name == "math.exp"; });
    if (failed(applyOpPatternsGreedily(f32Exps, std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
