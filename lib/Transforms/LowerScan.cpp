//===- LowerScan.cpp - Lower attn.scan to scf loops -----------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attn-lower-scan pass: every `attn.scan` (innermost first) becomes
///
///   %out0 = tensor.empty [batch..., L, emit...]
///   %fin0 = tensor.empty [batch..., state...]           (one per state)
///   scf.forall (%b...) in (%B...) shared_outs(%o = %out0, %f = %fin0...) {
///     S_0 = <init region>(%b...)
///     %row = tensor.extract_slice %o[%b..., 0, 0...] : [L, emit...]
///     %r, S_L... = scf.for %t = 0 to L iter_args(%acc = %row, S = S_0...,
///                                               [C = S_0... if chunk > 1]) {
///       C' = t mod chunk == 0 ? linalg.copy S into C : C  (chunk start)
///       e, S' = <body region>(%b..., %t, S..., [C'...])
///       %acc' = insert e into %acc[%t]
///       scf.yield %acc', (linalg.copy S' into S)..., [C'...]
///     }
///     parallel_insert_slice %r into %o[%b..., 0, 0...]
///     parallel_insert_slice S_L into %f[%b..., 0...]      (one per state)
///   }
///
/// which is runScan of lib/Interp/AttnOps.cpp step for step: the batch
/// indices are independent, so they become an scf.forall; time is
/// sequential and carries the states as tensor iter_args. A scan without
/// batch dimensions is just the scf.for, writing into the whole output.
/// The regions are moved (not cloned) into the loops.
///
/// The copies make every yielded iter_arg equivalent to its block argument
/// (the emits are inserted into %acc, the states and chunk-start states are
/// copied into their own tensors), so one-shot-bufferize keeps the loop
/// carried buffers in place and needs no allow-return-allocs-from-loops.
/// The copy into S is made after the emit's insertion, after every read of
/// S in the body.
///
/// The result tensors are allocated before the loops, so every extent of
/// the emits and states must be static (the batch and time extents are the
/// op's operands); a dynamic one is reported as not supported yet.
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::attnc {
#define GEN_PASS_DEF_ATTNLOWERSCANPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace mlir::attnc

using namespace mlir;
using namespace mlir::attnc;

/// The dynamic sizes of a result of `scan` of type `type`, whose first
/// `numBatch` dimensions are the batch sizes and, when `withTime`, the next
/// one is the length. Fails (with an error) on any other dynamic extent.
static LogicalResult getDynamicSizes(attn::ScanOp scan, RankedTensorType type,
                                     bool withTime,
                                     SmallVectorImpl<Value> &sizes) {
  unsigned numBatch = scan.getNumBatchDims();
  for (auto [d, extent] : llvm::enumerate(type.getShape())) {
    if (!ShapedType::isDynamic(extent))
      continue;
    if (d < numBatch)
      sizes.push_back(scan.getBatchSizes()[d]);
    else if (withTime && d == numBatch)
      sizes.push_back(scan.getLength());
    else
      return scan.emitOpError("not supported yet by attn-lower-scan: the "
                              "dynamic extent ")
             << d << " of the result type " << type
             << " (only batch and time extents may be dynamic)";
  }
  return success();
}

/// `type` without its first `n` dimensions.
static RankedTensorType dropLeading(RankedTensorType type, unsigned n) {
  return RankedTensorType::get(type.getShape().drop_front(n),
                               type.getElementType());
}

/// Offsets [lead..., 0...], sizes [1..., extents of `type` after the lead]
/// and unit strides of the slice of `type` at the leading indices `lead`;
/// `dynamicSize(d)` gives a dynamic trailing extent d.
static void getSlice(OpBuilder &b, RankedTensorType type, ValueRange lead,
                     function_ref<OpFoldResult(unsigned)> dynamicSize,
                     SmallVectorImpl<OpFoldResult> &offsets,
                     SmallVectorImpl<OpFoldResult> &sizes,
                     SmallVectorImpl<OpFoldResult> &strides) {
  for (Value index : lead) {
    offsets.push_back(index);
    sizes.push_back(b.getIndexAttr(1));
  }
  for (unsigned d = lead.size(); d < type.getRank(); ++d) {
    offsets.push_back(b.getIndexAttr(0));
    int64_t extent = type.getDimSize(d);
    sizes.push_back(ShapedType::isDynamic(extent) ? dynamicSize(d)
                                                  : b.getIndexAttr(extent));
  }
  strides.assign(type.getRank(), b.getIndexAttr(1));
}

/// Extent `d` of `value`, as an OpFoldResult.
static OpFoldResult dimOf(OpBuilder &b, Location loc, Value value, unsigned d) {
  return tensor::DimOp::create(b, loc, value, d).getResult();
}

/// Moves `block` (whose terminator is of type TerminatorOp) before
/// `rewriter`'s insertion point with `args` for its arguments, erases the
/// terminator and returns it operands.
template <typename TerminatorOp>
static SmallVector<Value> inlineBlock(IRRewriter &rewriter, Block &block,
                                      ValueRange args) {
  Block *dest = rewriter.getInsertionBlock();
  Block::iterator point = rewriter.getInsertionPoint();
  auto terminator = cast<TerminatorOp>(block.getTerminator());
  rewriter.inlineBlockBefore(&block, dest, point, args);
  SmallVector<Value> values(terminator->getOperands());
  rewriter.eraseOp(terminator);
  return values;
}

/// linalg.copy of `from` into `to` (tensors of the same type).
static Value copyInto(OpBuilder &b, Location loc, Value from, Value to) {
  return linalg::CopyOp::create(b, loc, TypeRange{to.getType()},
                                ValueRange{from}, ValueRange{to})
      ->getResult(0);
}

/// The time loop of one batch index (`batchIvs`, empty without batch
/// dimensions): S_0 = `initial`, writing the emits into `dest` : [L,
/// emit...]. Returns the filled `dest` and the final states.
static SmallVector<Value> buildTimeLoop(IRRewriter &rewriter, attn::ScanOp scan,
                                        ValueRange batchIvs, Value dest,
                                        ValueRange initial) {
  Location loc = scan.getLoc();
  int64_t chunk = static_cast<int64_t>(scan.getChunk());
  unsigned numStates = scan.getNumStates();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value chunkSize;
  if (chunk > 1)
    chunkSize = arith::ConstantIndexOp::create(rewriter, loc, chunk);

  SmallVector<Value> inits = {dest};
  llvm::append_range(inits, initial);
  // The chunk-start states start as the initial states.
  if (chunk > 1)
    llvm::append_range(inits, initial);
  Block &body = scan.getBody().front();
  auto loop = scf::ForOp::create(
      rewriter, loc, zero, scan.getLength(), one, inits,
      [&](OpBuilder &b, Location l, Value t, ValueRange iters) {
        Value acc = iters[0];
        ValueRange states = iters.slice(1, numStates);
        SmallVector<Value> starts;
        if (chunk > 1) {
          // C_t = S_t when t starts a chunk (t mod C == 0), else C_{t-1}:
          // copied into C's own tensor, so that C stays in place when
          // bufferized.
          Value rem = arith::RemUIOp::create(b, l, t, chunkSize);
          Value isStart =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, rem, zero);
          ValueRange previous = iters.slice(1 + numStates, numStates);
          auto ifOp = scf::IfOp::create(
              b, l, isStart,
              [&](OpBuilder &tb, Location tl) {
                SmallVector<Value> copies;
                for (unsigned s = 0; s < numStates; ++s)
                  copies.push_back(copyInto(tb, tl, states[s], previous[s]));
                scf::YieldOp::create(tb, tl, copies);
              },
              [&](OpBuilder &eb, Location el) {
                scf::YieldOp::create(eb, el, previous);
              });
          llvm::append_range(starts, ifOp.getResults());
        }
        SmallVector<Value> args(batchIvs);
        args.push_back(t);
        llvm::append_range(args, states);
        llvm::append_range(args, starts);
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPoint(b.getInsertionBlock(),
                                   b.getInsertionPoint());
        SmallVector<Value> yielded =
            inlineBlock<attn::ScanYieldOp>(rewriter, body, args);
        b.setInsertionPointToEnd(b.getInsertionBlock());
        // output[b..., t] = e_t.
        Value emit = yielded[0];
        Value filled;
        auto emitType = dyn_cast<RankedTensorType>(emit.getType());
        if (!emitType) {
          filled = tensor::InsertOp::create(b, l, emit, acc, ValueRange{t});
        } else if (emitType.getRank() == 0) {
          Value scalar = tensor::ExtractOp::create(b, l, emit, ValueRange{});
          filled = tensor::InsertOp::create(b, l, scalar, acc, ValueRange{t});
        } else {
          SmallVector<OpFoldResult> offsets, sizes, strides;
          getSlice(
              b, cast<RankedTensorType>(acc.getType()), ValueRange{t},
              [&](unsigned d) { return dimOf(b, l, emit, d - 1); }, offsets,
              sizes, strides);
          filled = tensor::InsertSliceOp::create(b, l, emit, acc, offsets,
                                                 sizes, strides);
        }
        // S_{t+1}, copied into S_t's tensor (after every read of S_t) so
        // that the loop's states bufferize in place.
        SmallVector<Value> next = {filled};
        for (unsigned s = 0; s < numStates; ++s)
          next.push_back(copyInto(b, l, yielded[1 + s], states[s]));
        llvm::append_range(next, starts);
        scf::YieldOp::create(b, l, next);
      });
  SmallVector<Value> results(loop.getResults().take_front(1 + numStates));
  return results;
}

/// Replaces `scan` by the loops of the file comment.
static LogicalResult lowerScan(IRRewriter &rewriter, attn::ScanOp scan) {
  Location loc = scan.getLoc();
  unsigned numBatch = scan.getNumBatchDims();
  unsigned numStates = scan.getNumStates();
  auto outType = cast<RankedTensorType>(scan.getOutput().getType());
  SmallVector<RankedTensorType> finalTypes;
  for (Value final : scan.getFinals())
    finalTypes.push_back(cast<RankedTensorType>(final.getType()));

  rewriter.setInsertionPoint(scan);
  SmallVector<Value> outSizes;
  if (failed(getDynamicSizes(scan, outType, /*withTime=*/true, outSizes)))
    return failure();
  Block &init = scan.getInit().front();

  if (numBatch == 0) {
    // No batch: the time loop writes the whole output.
    SmallVector<Value> initial =
        inlineBlock<attn::YieldOp>(rewriter, init, ValueRange{});
    Value out = tensor::EmptyOp::create(rewriter, loc, outType, outSizes);
    SmallVector<Value> results =
        buildTimeLoop(rewriter, scan, ValueRange{}, out, initial);
    for (unsigned s = 0; s < numStates; ++s)
      if (results[1 + s].getType() != finalTypes[s])
        results[1 + s] = tensor::CastOp::create(rewriter, loc, finalTypes[s],
                                                results[1 + s]);
    rewriter.replaceOp(scan, results);
    return success();
  }

  SmallVector<Value> outputs = {
      tensor::EmptyOp::create(rewriter, loc, outType, outSizes)};
  for (RankedTensorType type : finalTypes) {
    SmallVector<Value> sizes;
    if (failed(getDynamicSizes(scan, type, /*withTime=*/false, sizes)))
      return failure();
    outputs.push_back(tensor::EmptyOp::create(rewriter, loc, type, sizes));
  }
  SmallVector<OpFoldResult> upper =
      getAsOpFoldResult(ValueRange(scan.getBatchSizes()));
  auto forall = scf::ForallOp::create(rewriter, loc, upper, outputs,
                                      /*mapping=*/std::nullopt);
  SmallVector<Value> ivs(forall.getInductionVars());
  SmallVector<Value> shared(forall.getRegionIterArgs());
  scf::InParallelOp terminator = forall.getTerminator();

  rewriter.setInsertionPoint(terminator);
  SmallVector<Value> initial = inlineBlock<attn::YieldOp>(rewriter, init, ivs);
  // The row of this batch index: [L, emit...].
  SmallVector<OpFoldResult> offsets, sizes, strides;
  // Only the batch and time extents can be dynamic (getDynamicSizes).
  getSlice(
      rewriter, outType, ivs,
      [&](unsigned d) -> OpFoldResult {
        if (d == numBatch)
          return scan.getLength();
        return dimOf(rewriter, loc, shared[0], d);
      },
      offsets, sizes, strides);
  Value row = tensor::ExtractSliceOp::create(
      rewriter, loc, dropLeading(outType, numBatch), shared[0], offsets, sizes,
      strides);
  SmallVector<Value> results = buildTimeLoop(rewriter, scan, ivs, row, initial);

  // The slices of the final states (their extents are static, so this
  // creates no op; see getDynamicSizes).
  SmallVector<SmallVector<OpFoldResult>> fOffsets(numStates), fSizes(numStates),
      fStrides(numStates);
  for (unsigned s = 0; s < numStates; ++s)
    getSlice(
        rewriter, finalTypes[s], ivs,
        [&](unsigned d) {
          return dimOf(rewriter, loc, results[1 + s], d - numBatch);
        },
        fOffsets[s], fSizes[s], fStrides[s]);

  rewriter.setInsertionPointToStart(terminator.getBody());
  tensor::ParallelInsertSliceOp::create(rewriter, loc, results[0], shared[0],
                                        offsets, sizes, strides);
  for (unsigned s = 0; s < numStates; ++s)
    tensor::ParallelInsertSliceOp::create(rewriter, loc, results[1 + s],
                                          shared[1 + s], fOffsets[s], fSizes[s],
                                          fStrides[s]);
  rewriter.replaceOp(scan, forall.getResults());
  return success();
}

namespace {
struct AttnLowerScanPass
    : mlir::attnc::impl::AttnLowerScanPassBase<AttnLowerScanPass> {
  using Base::Base;

  /// The state copies are linalg.copy ops.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registry.insert<linalg::LinalgDialect>();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // The scans' regions may hold attn.grad, which needs the scan op.
    WalkResult grads = func.walk([](attn::GradOp grad) {
      grad.emitOpError("attn-lower-scan: run attn-differentiate first");
      return WalkResult::interrupt();
    });
    if (grads.wasInterrupted())
      return signalPassFailure();

    // Post-order: an inner scan is lowered before the scan that holds it.
    SmallVector<attn::ScanOp> scans;
    func.walk([&](attn::ScanOp scan) { scans.push_back(scan); });
    IRRewriter rewriter(&getContext());
    for (attn::ScanOp scan : scans)
      if (failed(lowerScan(rewriter, scan)))
        return signalPassFailure();
  }
};
} // namespace
