//===- ChunkScans.cpp - Chunkwise-parallel linear scans -------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The `attn-chunk-scans` pass: an `attn.scan` with chunkwise factors
/// (ScanFactors.h: `M_t = diag(a_t) M_{t-1} + beta_t k_t v_t^T`, or the delta
/// rule `M_t = a_t (I - beta_t k_t k_t^T) M_{t-1} + beta_t k_t v_t^T`, emit
/// `M_t^T q_t`, perhaps over `z_t . q_t`) becomes
///
///   %chunked:2+S = scf.if (N >= C) {
///     phase 1: scf.forall (b..., t) evaluates the factors region into
///              [b..., N, K] tensors (scalars into [b..., N] buffers)
///     phase 2: scf.forall (b...), one task per batch index, on memrefs:
///              the chunk loop of the pass description (Passes.td)
///     yield (every result finite), out, finals...
///   } else { yield false, empty tensors }
///   %r = scf.if %chunked#0 { yield %chunked } else { the step-by-step scan }
///
/// With u_t the update row (`beta_t v_t` for the linear form; for the delta
/// rule `u_t = beta_t (v_t - a_t M_{t-1}^T k_t)`, so that
/// `M_t = a_t M_{t-1} + k_t u_t^T` in both), and g the cumulative log decay
/// within the chunk, the chunk's rows are
///
///   o_t = e^{g_t} M_0^T q_t + sum_{s <= t} e^{g_t - g_s} (q_t . k_s) u_s
///   M_C = e^{g_C} M_0 + sum_s e^{g_C - g_s} k_s u_s^T
///
/// and the delta rule's u solve the unit lower-triangular system
/// `u_t + beta_t sum_{s < t} e^{g_t - g_s} (k_t . k_s) u_s =
/// beta_t v_t - beta_t e^{g_t} M_0^T k_t` (the UT transform), by forward
/// substitution on `[beta V | beta e^g K]`. With s <= t every exponent is
/// <= 0 for decays in (0, 1]: no exp of a large positive value. A per-key
/// gate (GLA) has g per key, and its intra-chunk product is formed element
/// by element for the same reason.
///
/// The chunked path is exact up to reassociation; where its result is not
/// finite (a decay <= 0 or NaN has no logarithm, an input is NaN, a product
/// overflows), the step-by-step scan recomputes it, so that such inputs get
/// the interpreter's answer and never a silent NaN.
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::attnc {
#define GEN_PASS_DEF_ATTNCHUNKSCANSPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace mlir::attnc

using namespace mlir;
using namespace mlir::attnc;

namespace {

/// How a matrix product combines with its destination.
enum class Combine { Set, Add, Sub };

/// Builds the chunkwise form of one scan. Members hold what every part of
/// the nest reads: the sizes, the factor buffers and the task's buffers.
class ChunkScanLowering {
public:
  ChunkScanLowering(attn::ScanOp scan, int64_t chunk, int64_t blockVectors)
      : scan(scan), loc(scan.getLoc()), b(scan), c(chunk),
        blockVectors(blockVectors) {}

  /// Whether the scan's factors have a form and sizes this lowering
  /// handles; if not, `why` says why.
  bool analyze(std::string &why);
  /// Replaces the scan (analyze() must have succeeded).
  void run();

private:
  Value cIdx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cF(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32Type(),
                                     b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value fAdd(Value x, Value y) {
    return arith::AddFOp::create(b, loc, x, y, fastFlags);
  }
  Value fSub(Value x, Value y) {
    return arith::SubFOp::create(b, loc, x, y, fastFlags);
  }
  Value fMul(Value x, Value y) {
    return arith::MulFOp::create(b, loc, x, y, fastFlags);
  }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  Value splat(Value scalar) {
    return vector::BroadcastOp::create(b, loc, vecType, scalar);
  }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(Value value, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, value, memref, indices);
  }
  Value vload(Value memref, ValueRange indices) {
    return vector::LoadOp::create(b, loc, vecType, memref, indices);
  }
  void vstore(Value value, Value memref, ValueRange indices) {
    vector::StoreOp::create(b, loc, value, memref, indices);
  }
  /// `for (iv = lb; iv < ub; iv += step) body(iv)`.
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, cIdx(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }
  void loop(int64_t ub, function_ref<void(Value)> body) {
    Value first = cIdx(0), end = cIdx(ub);
    loop(first, end, 1, body);
  }
  /// A loop carrying `inits`; returns the final values.
  SmallVector<Value>
  loopCarry(Value lb, Value ub, ValueRange inits,
            function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, cIdx(1), inits);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    scf::YieldOp::create(
        b, loc, body(forOp.getInductionVar(), forOp.getRegionIterArgs()));
    return SmallVector<Value>(forOp.getResults());
  }
  /// `then()` if `cond`, else `otherwise()` (either may be null).
  void ifElse(Value cond, function_ref<void()> then,
              function_ref<void()> otherwise) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    if (then)
      then();
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    if (otherwise)
      otherwise();
  }
  /// A heap buffer of a static shape (freed by the deallocation pipeline).
  Value buffer(ArrayRef<int64_t> shape, Type elem = {}) {
    return memref::AllocOp::create(
        b, loc, MemRefType::get(shape, elem ? elem : b.getF32Type()));
  }
  /// `prefix` followed by `rest`.
  static SmallVector<Value> concat(ValueRange prefix, ValueRange rest) {
    SmallVector<Value> all(prefix);
    llvm::append_range(all, rest);
    return all;
  }

  /// A buffer of the type of `result` (whose dynamic extents are batch
  /// sizes or the length).
  Value allocLike(Value result);
  /// Writes the factors of step `t` into row `i` of the chunk's buffers.
  void emitFactorRow(ValueRange batch, Value t, Value i);
  /// The tasks of the chunked recurrence, writing outBuf and finalBufs.
  void emitChunked();
  void emitTask(ValueRange batch);
  void emitChunk(ValueRange batch, Value t0, Value len);
  /// The step-by-step scan: a clone without its factors.
  SmallVector<Value> emitStepScan();

  /// dst[i, :cols] (Set: =, Add: +=, Sub: -=) sum_p a(i, p) bm[p, :cols]
  /// for i < rows, in blocks of kRows rows x blockVectors vectors (single
  /// vectors for the last columns), where a(i, p) is a[i, p], or a[p, i] with
  /// `transA`. With `lowerA`, p < min(i0 + 4, depth) for the block of rows i0
  /// .. i0 + 3 (a lower-triangular a); with `lowerResult`, only the column
  /// vectors that reach j <= i0 + 3 (the caller masks the rest).
  void emitMatmul(Value dst, Value a, bool transA, Value bm, int64_t rows,
                  int64_t cols, int64_t depth, bool lowerA, bool lowerResult,
                  Combine combine, Value colLimit = {});
  /// Multiplies row i of `rows` ([n, width]) by `scale(i)`.
  void scaleRows(Value rows, int64_t n, int64_t width,
                 function_ref<Value(Value, int64_t)> scale);
  /// e^{g_i - g_j} for the 16 columns j0 .. j0 + 15 (scalar decay).
  Value decayBetween(Value gi, Value j0);
  /// Sets the entries j > i (j >= i when `strict`) of row i of the square
  /// [C, C] `tile` to 0, after multiplying the kept ones by
  /// `rowScale(i)` (may be null) and e^{g_i - g_j}; returns the row sums.
  void maskLower(Value tile, bool strict, function_ref<Value(Value)> rowScale,
                 Value rowSums);
  /// The per-key gate's P[i, j] = sum_d q_i[d] k_j[d] e^{g_i[d] - g_j[d]}:
  /// element by element within a sub-chunk of 16 steps; for the steps
  /// before sub-chunk I, with r its step before, a product of
  /// q_i e^{g_i - g_r} and k_j e^{g_r - g_j} (both exponents <= 0).
  void emitGatedScores();
  /// probe += x * 0 (NaN once any x is NaN or infinite).
  void probeFinite(Value x);

  attn::ScanOp scan;
  Location loc;
  OpBuilder b;
  int64_t c;
  int64_t keys = 0, values = 0;
  unsigned numBatch = 0;
  bool delta = false, hasBeta = false, scalarDecay = false, vectorGate = false;
  int matrixState = -1, normalizerState = -1;
  bool valueKey = false;

  // The products' register blocks: kRows rows by blockVectors vectors of
  // kLanes. With 2 (AVX-512), 8 accumulators: enough independent FMAs to
  // cover their latency; AVX2 has half the registers, and 1 fills them.
  static constexpr int64_t kLanes = 16, kRows = 4;
  int64_t blockVectors;
  VectorType vecType;
  arith::FastMathFlags fastFlags =
      arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;

  // The results and the flag (i32): 0 while the chunked results stand.
  Value outBuf, flag;
  SmallVector<Value> finalBufs;
  // Per task: the state, normalizer, the chunk's rows and products.
  Value stateM, stateZ, rowQ, rowK, rowKT, rowV, logG, rowBeta, tileP, tileA,
      rowW, rowO, rowSum, probe;
  // Per task, for a per-key gate: g transposed, a sub-chunk's scaled
  // queries and the scaled transposed keys before it.
  Value logGT, subQ, subKT;
};

} // namespace

bool ChunkScanLowering::analyze(std::string &why) {
  std::optional<StringRef> recurrence = scan.getChunkRecurrence();
  if (!recurrence)
    return false;
  if (blockVectors != 1 && blockVectors != 2) {
    why = "block-vectors is " + std::to_string(blockVectors) + ", not 1 or 2";
    return false;
  }
  if (c % kLanes != 0 || c < kLanes || c > 256) {
    why = "the chunk size " + std::to_string(c) +
          " is not a multiple of 16 in [16, 256]";
    return false;
  }
  delta = *recurrence == "delta";
  hasBeta = scan.getChunkBeta();
  StringRef decay = scan.getChunkDecay().value_or("none");
  scalarDecay = decay == "scalar";
  vectorGate = decay == "vector";
  numBatch = scan.getNumBatchDims();
  for (auto [i, role] : llvm::enumerate(*scan.getChunkStates())) {
    StringRef r = cast<StringAttr>(role).getValue();
    // The finals are [batch..., state...].
    ArrayRef<int64_t> shape =
        cast<RankedTensorType>(scan.getFinals()[i].getType())
            .getShape()
            .drop_front(numBatch);
    if (r == "normalizer") {
      normalizerState = i;
      continue;
    }
    matrixState = i;
    valueKey = r == "value_key";
    keys = shape[valueKey ? 1 : 0];
    values = shape[valueKey ? 0 : 1];
  }
  if (keys % kLanes != 0 || values % kLanes != 0) {
    why = "the key and value sizes (" + std::to_string(keys) + ", " +
          std::to_string(values) + ") are not multiples of 16";
    return false;
  }
  if (vectorGate && (delta || normalizerState >= 0)) {
    why = "a per-key gate with the delta rule or a normalizer";
    return false;
  }
  vecType = VectorType::get({kLanes}, b.getF32Type());
  return true;
}

void ChunkScanLowering::emitMatmul(Value dst, Value a, bool transA, Value bm,
                                   int64_t rows, int64_t cols, int64_t depth,
                                   bool lowerA, bool lowerResult,
                                   Combine combine, Value colLimit) {
  // One block: rows i0 .. i0 + kRows - 1 by `vecs` column vectors from j,
  // its kRows x vecs accumulators in registers.
  auto block = [&](Value i0, Value pEnd, Value j, int64_t vecs) {
    SmallVector<Value> rowIdx, colIdx, inits;
    for (int64_t r = 0; r < kRows; ++r)
      rowIdx.push_back(add(i0, cIdx(r)));
    for (int64_t v = 0; v < vecs; ++v)
      colIdx.push_back(add(j, cIdx(v * kLanes)));
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t v = 0; v < vecs; ++v)
        inits.push_back(combine == Combine::Set
                            ? splat(cF(0.0))
                            : vload(dst, {rowIdx[r], colIdx[v]}));
    SmallVector<Value> sums =
        loopCarry(cIdx(0), pEnd, inits, [&](Value p, ValueRange acc) {
          SmallVector<Value> bv;
          for (int64_t v = 0; v < vecs; ++v)
            bv.push_back(vload(bm, {p, colIdx[v]}));
          SmallVector<Value> next;
          for (int64_t r = 0; r < kRows; ++r) {
            Value av =
                transA ? load(a, {p, rowIdx[r]}) : load(a, {rowIdx[r], p});
            if (combine == Combine::Sub)
              av = arith::NegFOp::create(b, loc, av);
            Value as = splat(av);
            for (int64_t v = 0; v < vecs; ++v)
              next.push_back(
                  vector::FMAOp::create(b, loc, as, bv[v], acc[r * vecs + v]));
          }
          return next;
        });
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t v = 0; v < vecs; ++v)
        vstore(sums[r * vecs + v], dst, {rowIdx[r], colIdx[v]});
  };
  Value firstRow = cIdx(0), endRow = cIdx(rows);
  loop(firstRow, endRow, kRows, [&](Value i0) {
    Value reach = add(i0, cIdx(kRows));
    Value pEnd =
        lowerA ? arith::MinUIOp::create(b, loc, reach, cIdx(depth)).getResult()
               : cIdx(depth);
    Value colEnd;
    if (lowerResult) {
      Value reachVecs = arith::CeilDivUIOp::create(b, loc, reach, cIdx(kLanes));
      colEnd = mul(reachVecs, cIdx(kLanes));
    } else {
      colEnd = colLimit ? colLimit : cIdx(cols);
    }
    if (blockVectors == 1) {
      loop(cIdx(0), colEnd, kLanes, [&](Value j) { block(i0, pEnd, j, 1); });
      return;
    }
    // Blocks of blockVectors vectors, then single vectors for the rest.
    int64_t wide = blockVectors * kLanes;
    Value wideEnd = arith::SubIOp::create(
        b, loc, colEnd, arith::RemUIOp::create(b, loc, colEnd, cIdx(wide)));
    loop(cIdx(0), wideEnd, wide,
         [&](Value j) { block(i0, pEnd, j, blockVectors); });
    loop(wideEnd, colEnd, kLanes, [&](Value j) { block(i0, pEnd, j, 1); });
  });
}

void ChunkScanLowering::scaleRows(Value rows, int64_t n, int64_t width,
                                  function_ref<Value(Value, int64_t)> scale) {
  loop(n, [&](Value i) {
    for (int64_t d = 0; d < width; d += kLanes) {
      Value s = scale(i, d);
      if (!isa<VectorType>(s.getType()))
        s = splat(s);
      Value scaled = fMul(vload(rows, {i, cIdx(d)}), s);
      vstore(scaled, rows, {i, cIdx(d)});
    }
  });
}

Value ChunkScanLowering::decayBetween(Value gi, Value j0) {
  Value giVec = splat(gi);
  return exp(fSub(giVec, vload(logG, {j0})));
}

void ChunkScanLowering::maskLower(Value tile, bool strict,
                                  function_ref<Value(Value)> rowScale,
                                  Value rowSums) {
  auto idxVec = VectorType::get({kLanes}, b.getIndexType());
  SmallVector<int64_t> lanes = llvm::to_vector(llvm::seq<int64_t>(kLanes));
  Value iota = arith::ConstantOp::create(
      b, loc, idxVec, DenseElementsAttr::get(idxVec, ArrayRef(lanes)));
  loop(c, [&](Value i) {
    Value gi = scalarDecay ? load(logG, {i}) : Value();
    Value scale = rowScale ? splat(rowScale(i)) : Value();
    Value iVec = vector::BroadcastOp::create(b, loc, idxVec, i);
    Value sum = splat(cF(0.0));
    for (int64_t j0 = 0; j0 < c; j0 += kLanes) {
      Value jVec = arith::AddIOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, idxVec, cIdx(j0)), iota);
      Value kept = arith::CmpIOp::create(b, loc,
                                         strict ? arith::CmpIPredicate::ult
                                                : arith::CmpIPredicate::ule,
                                         jVec, iVec);
      Value x = vload(tile, {i, cIdx(j0)});
      if (scale)
        x = fMul(x, scale);
      if (scalarDecay)
        x = fMul(x, decayBetween(gi, cIdx(j0)));
      // A select, not a product: the entries past i may be garbage or inf.
      x = arith::SelectOp::create(b, loc, kept, x, splat(cF(0.0)));
      vstore(x, tile, {i, cIdx(j0)});
      sum = fAdd(sum, x);
    }
    if (rowSums)
      store(vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, sum,
                                        fastFlags),
            rowSums, {i});
  });
}

void ChunkScanLowering::emitGatedScores() {
  Value zero = cF(0.0);
  Value sub = cIdx(kLanes);
  loop(c, [&](Value i) {
    for (int64_t j0 = 0; j0 < c; j0 += kLanes) {
      Value zeros = splat(zero);
      vstore(zeros, tileP, {i, cIdx(j0)});
    }
    loop(keys, [&](Value d) { store(load(logG, {i, d}), logGT, {d, i}); });
  });
  // Within the sub-chunk of row i.
  loop(c, [&](Value i) {
    Value start = mul(arith::DivUIOp::create(b, loc, i, sub), sub);
    loop(start, add(i, cIdx(1)), 1, [&](Value j) {
      Value sum = splat(zero);
      for (int64_t d = 0; d < keys; d += kLanes) {
        Value gi = vload(logG, {i, cIdx(d)});
        Value gap = fSub(gi, vload(logG, {j, cIdx(d)}));
        Value qi = vload(rowQ, {i, cIdx(d)});
        Value qk = fMul(qi, vload(rowK, {j, cIdx(d)}));
        sum = vector::FMAOp::create(b, loc, qk, exp(gap), sum);
      }
      store(vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, sum,
                                        fastFlags),
            tileP, {i, j});
    });
  });
  // The steps before each sub-chunk i0 .. i0 + 15, through r = i0 - 1.
  loop(sub, cIdx(c), kLanes, [&](Value i0) {
    Value r = arith::SubIOp::create(b, loc, i0, cIdx(1));
    loop(kLanes, [&](Value ii) {
      Value i = add(i0, ii);
      for (int64_t d = 0; d < keys; d += kLanes) {
        Value gi = vload(logG, {i, cIdx(d)});
        Value gap = fSub(gi, vload(logG, {r, cIdx(d)}));
        Value qi = vload(rowQ, {i, cIdx(d)});
        Value scaled = fMul(qi, exp(gap));
        vstore(scaled, subQ, {ii, cIdx(d)});
      }
    });
    loop(keys, [&](Value d) {
      Value gr = splat(load(logG, {r, d}));
      loop(cIdx(0), i0, kLanes, [&](Value j0) {
        Value gap = fSub(gr, vload(logGT, {d, j0}));
        Value kd = vload(rowKT, {d, j0});
        vstore(fMul(kd, exp(gap)), subKT, {d, j0});
      });
    });
    SmallVector<OpFoldResult> offsets = {i0, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(kLanes),
                                       b.getIndexAttr(c)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    Value rows =
        memref::SubViewOp::create(b, loc, tileP, offsets, sizes, strides);
    emitMatmul(rows, subQ, false, subKT, kLanes, c, keys, false, false,
               Combine::Set, /*colLimit=*/i0);
  });
}

void ChunkScanLowering::probeFinite(Value x) {
  // No fast-math flags: x * 0 must stay NaN for an infinite or NaN x.
  Value zero = arith::MulFOp::create(b, loc, x, splat(cF(0.0)));
  Value sum = arith::AddFOp::create(b, loc, vload(probe, {cIdx(0)}), zero);
  vstore(sum, probe, {cIdx(0)});
}

void ChunkScanLowering::emitFactorRow(ValueRange batch, Value t, Value i) {
  IRMapping mapping;
  Block &block = scan.getFactors().front();
  mapping.map(block.getArguments(), concat(batch, {t}));
  for (Operation &op : block.without_terminator())
    b.clone(op, mapping);
  auto yield = cast<attn::YieldOp>(block.getTerminator());
  SmallVector<Value> factors = llvm::map_to_vector(
      yield.getValues(), [&](Value v) { return mapping.lookupOrDefault(v); });
  // Each vector factor is built in (or copied into) its row.
  auto intoRow = [&](Value factor, Value rows, int64_t width) {
    SmallVector<OpFoldResult> offsets = {i, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                       b.getIndexAttr(width)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    auto rowType = memref::SubViewOp::inferRankReducedResultType(
        {width}, cast<MemRefType>(rows.getType()), offsets, sizes, strides);
    Value row = memref::SubViewOp::create(b, loc, cast<MemRefType>(rowType),
                                          rows, offsets, sizes, strides);
    bufferization::MaterializeInDestinationOp::create(
        b, loc, Type(), factor, row, /*restrict=*/true, /*writable=*/true);
  };
  intoRow(factors[0], rowQ, keys);
  intoRow(factors[1], rowK, keys);
  intoRow(factors[2], rowV, values);
  unsigned next = 3;
  if (vectorGate) {
    intoRow(factors[next++], logG, keys);
    for (int64_t d = 0; d < keys; d += kLanes) {
      Value logRow = math::LogOp::create(b, loc, vload(logG, {i, cIdx(d)}));
      vstore(logRow, logG, {i, cIdx(d)});
    }
  }
  if (scalarDecay)
    store(math::LogOp::create(b, loc, factors[next++]), logG, {i});
  if (hasBeta) {
    Value beta = factors[next++];
    store(beta, rowBeta, {i});
    for (int64_t d = 0; d < values; d += kLanes) {
      Value vd = vload(rowV, {i, cIdx(d)});
      Value scaled = fMul(vd, splat(beta));
      vstore(scaled, rowV, {i, cIdx(d)});
    }
  }
  loop(keys, [&](Value d) { store(load(rowK, {i, d}), rowKT, {d, i}); });
}

void ChunkScanLowering::emitChunk(ValueRange batch, Value t0, Value len) {
  Value zero = cF(0.0);
  // The chunk's rows, zero past `len`: a padded row has k = v = beta = 0
  // and decay 1, so it changes nothing.
  loop(c, [&](Value i) {
    Value inChunk =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, len);
    ifElse(
        inChunk, [&] { emitFactorRow(batch, add(t0, i), i); },
        [&] {
          auto zeroAt = [&](Value rows, int64_t d) {
            Value zeros = splat(zero);
            vstore(zeros, rows, {i, cIdx(d)});
          };
          for (int64_t d = 0; d < keys; d += kLanes) {
            zeroAt(rowQ, d);
            zeroAt(rowK, d);
            if (vectorGate)
              zeroAt(logG, d);
          }
          for (int64_t d = 0; d < values; d += kLanes)
            zeroAt(rowV, d);
          if (scalarDecay)
            store(zero, logG, {i});
          if (hasBeta)
            store(zero, rowBeta, {i});
          loop(keys, [&](Value d) { store(zero, rowKT, {d, i}); });
        });
  });
  // A loop over the steps 1 .. C - 1.
  auto loopFromSecond = [&](function_ref<void(Value)> body) {
    Value second = cIdx(1), end = cIdx(c);
    loop(second, end, 1, body);
  };
  // g_i = sum_{s <= i} log a_s.
  if (scalarDecay)
    loopFromSecond([&](Value i) {
      Value prev = load(logG, {arith::SubIOp::create(b, loc, i, cIdx(1))});
      store(fAdd(prev, load(logG, {i})), logG, {i});
    });
  if (vectorGate)
    loopFromSecond([&](Value i) {
      Value prev = arith::SubIOp::create(b, loc, i, cIdx(1));
      for (int64_t d = 0; d < keys; d += kLanes) {
        Value gPrev = vload(logG, {prev, cIdx(d)});
        Value g = fAdd(gPrev, vload(logG, {i, cIdx(d)}));
        vstore(g, logG, {i, cIdx(d)});
      }
    });
  auto decayOfRow = [&](Value i, int64_t d) -> Value {
    if (vectorGate)
      return exp(vload(logG, {i, cIdx(d)}));
    return exp(load(logG, {i}));
  };
  bool decays = scalarDecay || vectorGate;

  // P = (Q K^T) * e^{g_i - g_j}, j <= i.
  if (vectorGate) {
    emitGatedScores();
  } else {
    emitMatmul(tileP, rowQ, false, rowKT, c, c, keys, false, true,
               Combine::Set);
    maskLower(tileP, /*strict=*/false, nullptr, rowSum);
  }

  // The update rows D (in rowV): beta V, or for the delta rule the solution
  // of (I + A) [U | W] = [beta V | beta e^g K], then D = U - W M.
  if (delta) {
    emitMatmul(tileA, rowK, false, rowKT, c, c, keys, false, true,
               Combine::Set);
    maskLower(tileA, /*strict=*/true,
              hasBeta ? function_ref<Value(Value)>(
                            [&](Value i) { return load(rowBeta, {i}); })
                      : nullptr,
              Value());
    loop(c, [&](Value i) {
      Value scale = hasBeta ? load(rowBeta, {i}) : cF(1.0);
      if (scalarDecay)
        scale = fMul(scale, exp(load(logG, {i})));
      for (int64_t d = 0; d < keys; d += kLanes) {
        Value kd = vload(rowK, {i, cIdx(d)});
        Value scaled = fMul(kd, splat(scale));
        vstore(scaled, rowW, {i, cIdx(d)});
      }
    });
    // Forward substitution, row i carried in registers.
    loopFromSecond([&](Value i) {
      SmallVector<Value> row;
      for (int64_t d = 0; d < values; d += kLanes)
        row.push_back(vload(rowV, {i, cIdx(d)}));
      for (int64_t d = 0; d < keys; d += kLanes)
        row.push_back(vload(rowW, {i, cIdx(d)}));
      SmallVector<Value> solved =
          loopCarry(cIdx(0), i, row, [&](Value j, ValueRange acc) {
            Value coef =
                splat(arith::NegFOp::create(b, loc, load(tileA, {i, j})));
            SmallVector<Value> next;
            unsigned n = 0;
            for (int64_t d = 0; d < values; d += kLanes)
              next.push_back(vector::FMAOp::create(
                  b, loc, coef, vload(rowV, {j, cIdx(d)}), acc[n++]));
            for (int64_t d = 0; d < keys; d += kLanes)
              next.push_back(vector::FMAOp::create(
                  b, loc, coef, vload(rowW, {j, cIdx(d)}), acc[n++]));
            return next;
          });
      unsigned n = 0;
      for (int64_t d = 0; d < values; d += kLanes)
        vstore(solved[n++], rowV, {i, cIdx(d)});
      for (int64_t d = 0; d < keys; d += kLanes)
        vstore(solved[n++], rowW, {i, cIdx(d)});
    });
    emitMatmul(rowV, rowW, false, stateM, c, values, keys, false, false,
               Combine::Sub);
  }

  // O = (e^g * Q) M + P D, over (e^g * Q) . z + rowsum P.
  if (decays)
    scaleRows(rowQ, c, keys, decayOfRow);
  emitMatmul(rowO, rowQ, false, stateM, c, values, keys, false, false,
             Combine::Set);
  emitMatmul(rowO, tileP, false, rowV, c, values, c, true, false, Combine::Add);
  if (normalizerState >= 0)
    loop(c, [&](Value i) {
      Value dot = splat(zero);
      for (int64_t d = 0; d < keys; d += kLanes) {
        Value qd = vload(rowQ, {i, cIdx(d)});
        dot = vector::FMAOp::create(b, loc, qd, vload(stateZ, {cIdx(d)}), dot);
      }
      Value rowSumI = load(rowSum, {i});
      Value den = fAdd(rowSumI,
                       vector::ReductionOp::create(
                           b, loc, vector::CombiningKind::ADD, dot, fastFlags));
      for (int64_t d = 0; d < values; d += kLanes) {
        Value od = vload(rowO, {i, cIdx(d)});
        Value normalized = arith::DivFOp::create(b, loc, od, splat(den));
        vstore(normalized, rowO, {i, cIdx(d)});
      }
    });
  loop(cIdx(0), len, 1, [&](Value i) {
    for (int64_t d = 0; d < values; d += kLanes) {
      Value o = vload(rowO, {i, cIdx(d)});
      probeFinite(o);
      vstore(o, outBuf, concat(batch, {add(t0, i), cIdx(d)}));
    }
  });

  // M = e^{g_C} M + (e^{g_C - g} * K)^T D, z = e^{g_C} z + sum_j e^{g_C -
  // g_j} k_j. A padded row keeps g_C = g at the chunk's last step.
  Value last = cIdx(c - 1);
  if (decays) {
    scaleRows(rowK, c, keys, [&](Value j, int64_t d) -> Value {
      if (vectorGate) {
        Value gLast = vload(logG, {last, cIdx(d)});
        return exp(fSub(gLast, vload(logG, {j, cIdx(d)})));
      }
      Value gLast = load(logG, {last});
      return exp(fSub(gLast, load(logG, {j})));
    });
    scaleRows(stateM, keys, values, [&](Value d, int64_t) -> Value {
      return exp(vectorGate ? load(logG, {last, d}) : load(logG, {last}));
    });
  }
  emitMatmul(stateM, rowK, true, rowV, keys, values, c, false, false,
             Combine::Add);
  if (normalizerState >= 0) {
    Value gate = scalarDecay ? splat(exp(load(logG, {last}))) : Value();
    for (int64_t d = 0; d < keys; d += kLanes) {
      Value zd = vload(stateZ, {cIdx(d)});
      if (gate)
        zd = fMul(zd, gate);
      Value first = cIdx(0), end = cIdx(c);
      SmallVector<Value> sum =
          loopCarry(first, end, {zd}, [&](Value j, ValueRange acc) {
            return SmallVector<Value>{fAdd(acc[0], vload(rowK, {j, cIdx(d)}))};
          });
      vstore(sum[0], stateZ, {cIdx(d)});
    }
  }
}

void ChunkScanLowering::emitTask(ValueRange batch) {
  stateM = buffer({keys, values});
  rowQ = buffer({c, keys});
  rowK = buffer({c, keys});
  rowKT = buffer({keys, c});
  rowV = buffer({c, values});
  rowO = buffer({c, values});
  tileP = buffer({c, c});
  probe = buffer({kLanes});
  Value zeros = splat(cF(0.0));
  vstore(zeros, probe, {cIdx(0)});
  if (scalarDecay)
    logG = buffer({c});
  if (vectorGate) {
    logG = buffer({c, keys});
    logGT = buffer({keys, c});
    subQ = buffer({kLanes, keys});
    subKT = buffer({keys, c});
  }
  if (hasBeta)
    rowBeta = buffer({c});
  if (delta) {
    tileA = buffer({c, c});
    rowW = buffer({c, keys});
  }
  if (normalizerState >= 0) {
    stateZ = buffer({keys});
    rowSum = buffer({c});
  }

  // The initial states.
  IRMapping mapping;
  Block &init = scan.getInit().front();
  mapping.map(init.getArguments(), batch);
  for (Operation &op : init.without_terminator())
    b.clone(op, mapping);
  auto initYield = cast<attn::YieldOp>(init.getTerminator());
  auto initialOf = [&](int s) -> Value {
    Value tensor = mapping.lookupOrDefault(initYield.getValues()[s]);
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), b.getF32Type()), tensor,
        /*read_only=*/true);
  };
  Value m0 = initialOf(matrixState);
  loop(keys, [&](Value d) {
    loop(values, [&](Value e) {
      SmallVector<Value> at =
          valueKey ? SmallVector<Value>{e, d} : SmallVector<Value>{d, e};
      store(load(m0, at), stateM, {d, e});
    });
  });
  if (normalizerState >= 0) {
    Value z0 = initialOf(normalizerState);
    for (int64_t d = 0; d < keys; d += kLanes) {
      Value zd = vload(z0, {cIdx(d)});
      vstore(zd, stateZ, {cIdx(d)});
    }
  }

  Value length = scan.getLength();
  Value chunks = arith::CeilDivUIOp::create(b, loc, length, cIdx(c));
  loop(cIdx(0), chunks, 1, [&](Value ci) {
    Value t0 = mul(ci, cIdx(c));
    Value full = cIdx(c);
    Value len = arith::MinUIOp::create(
        b, loc, full, arith::SubIOp::create(b, loc, length, t0));
    emitChunk(batch, t0, len);
  });

  // The final states, checked finite too.
  Value mFinal = finalBufs[matrixState];
  loop(keys, [&](Value d) {
    for (int64_t e = 0; e < values; e += kLanes)
      probeFinite(vload(stateM, {d, cIdx(e)}));
    loop(values, [&](Value e) {
      SmallVector<Value> at =
          valueKey ? SmallVector<Value>{e, d} : SmallVector<Value>{d, e};
      store(load(stateM, {d, e}), mFinal, concat(batch, at));
    });
  });
  if (normalizerState >= 0)
    for (int64_t d = 0; d < keys; d += kLanes) {
      Value zd = vload(stateZ, {cIdx(d)});
      vstore(zd, finalBufs[normalizerState], concat(batch, {cIdx(d)}));
    }

  Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                          vload(probe, {cIdx(0)}));
  Value notFinite =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, sum, sum);
  ifElse(
      notFinite,
      [&] {
        Value one = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 1);
        memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::assign, one,
                                    flag, ValueRange{cIdx(0)});
      },
      nullptr);
}

Value ChunkScanLowering::allocLike(Value result) {
  auto type = cast<RankedTensorType>(result.getType());
  SmallVector<Value> dynamic;
  for (auto [d, extent] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(extent))
      dynamic.push_back(d < numBatch ? scan.getBatchSizes()[d]
                                     : scan.getLength());
  return memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape(), b.getF32Type()), dynamic);
}

void ChunkScanLowering::emitChunked() {
  if (numBatch == 0)
    return emitTask(ValueRange{});
  auto forall = scf::ForallOp::create(
      b, loc, getAsOpFoldResult(ValueRange(scan.getBatchSizes())), ValueRange{},
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getBody()->getTerminator());
  SmallVector<Value> ivs = forall.getInductionVars();
  emitTask(ivs);
}

SmallVector<Value> ChunkScanLowering::emitStepScan() {
  Operation *clone = b.clone(*scan.getOperation());
  auto step = cast<attn::ScanOp>(clone);
  step.dropChunkFactors();
  return SmallVector<Value>(step->getResults());
}

void ChunkScanLowering::run() {
  outBuf = allocLike(scan.getOutput());
  for (Value final : scan.getFinals())
    finalBufs.push_back(allocLike(final));
  // flag = 1 (the step-by-step scan) for N < C.
  Value longEnough = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                           scan.getLength(), cIdx(c));
  flag = memref::AllocOp::create(b, loc, MemRefType::get({1}, b.getI32Type()));
  Value initialFlag = arith::ExtUIOp::create(
      b, loc, b.getI32Type(),
      arith::XOrIOp::create(
          b, loc, longEnough,
          arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1)));
  store(initialFlag, flag, {cIdx(0)});
  ifElse(longEnough, [&] { emitChunked(); }, nullptr);
  SmallVector<Value> buffers = concat({outBuf}, finalBufs);
  Value flagValue = load(flag, {cIdx(0)});
  Value useSteps = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ne, flagValue,
      arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0));
  ifElse(
      useSteps,
      [&] {
        SmallVector<Value> stepResults = emitStepScan();
        for (auto [result, buf] : llvm::zip(stepResults, buffers))
          bufferization::MaterializeInDestinationOp::create(
              b, loc, Type(), result, buf, /*restrict=*/true,
              /*writable=*/true);
      },
      nullptr);
  SmallVector<Value> results;
  for (auto [result, buf] : llvm::zip(scan->getResults(), buffers))
    results.push_back(bufferization::ToTensorOp::create(
        b, loc, result.getType(), buf, /*restrict=*/true, /*writable=*/true));
  scan->replaceAllUsesWith(results);
  scan->erase();
}

namespace {
struct AttnChunkScansPass
    : mlir::attnc::impl::AttnChunkScansPassBase<AttnChunkScansPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<attn::ScanOp> scans;
    getOperation().walk([&](attn::ScanOp scan) {
      if (scan.getChunkRecurrence())
        scans.push_back(scan);
    });
    for (attn::ScanOp scan : scans) {
      ChunkScanLowering lowering(scan, chunkSize, blockVectors);
      std::string why;
      if (lowering.analyze(why)) {
        lowering.run();
        continue;
      }
      scan.emitRemark("this scan is not lowered chunkwise: ") << why;
      // The step-by-step form: attn-lower-scan ignores the factors.
    }
  }
};
} // namespace
