//===- SCFOps.cpp - The scf dialect ---------------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Structured control flow: scf.for with iter_args, scf.if, and scf.forall
/// with shared_outs, whose iterations the interpreter runs one after the
/// other in row-major order of the induction variables; cf.assert, the
/// run-time checks of the language (a subscript the checker could not prove
/// in range), reported at the source position it carries.
///
//===----------------------------------------------------------------------===//

#include "InterpreterImpl.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace attnc {
namespace interp {

/// scf.for: for iv = lb; iv < ub; iv += step: args = body(iv, args...);
/// the results are the last args (the inits when there is no iteration).
static LogicalResult runFor(Interpreter &interp, scf::ForOp op) {
  FailureOr<int64_t> lb = interp.getInt(op, op.getLowerBound());
  FailureOr<int64_t> ub = interp.getInt(op, op.getUpperBound());
  FailureOr<int64_t> step = interp.getInt(op, op.getStep());
  if (failed(lb) || failed(ub) || failed(step))
    return failure();
  if (*step <= 0)
    return opError(op) << "has a non-positive step " << *step;
  if (op.getUnsignedCmp() && (*lb < 0 || *ub < 0))
    return opError(op) << "compares unsigned with negative bounds";
  std::vector<TensorRef> carried;
  for (Value init : op.getInitArgs()) {
    FailureOr<TensorRef> t = interp.get(op, init);
    if (failed(t))
      return failure();
    carried.push_back(*t);
  }
  ElemKind ivKind = kindOf(op.getInductionVar().getType());
  for (int64_t iv = *lb; iv < *ub; iv += *step) {
    std::vector<TensorRef> args = {share(makeScalar(ivKind, double(iv)))};
    args.insert(args.end(), carried.begin(), carried.end());
    FailureOr<std::vector<TensorRef>> yielded =
        interp.runRegion(op.getRegion(), op, args);
    if (failed(yielded))
      return failure();
    carried = std::move(*yielded);
  }
  return interp.bindResults(op, carried);
}

/// scf.if: the values yielded by the then region when the condition is
/// true, else by the else region (none when it is empty).
static LogicalResult runIf(Interpreter &interp, scf::IfOp op) {
  FailureOr<int64_t> cond = interp.getInt(op, op.getCondition());
  if (failed(cond))
    return failure();
  Region &region = *cond ? op.getThenRegion() : op.getElseRegion();
  if (region.empty())
    return interp.bindResults(op, llvm::ArrayRef<TensorRef>());
  FailureOr<std::vector<TensorRef>> yielded = interp.runRegion(region, op, {});
  if (failed(yielded))
    return failure();
  return interp.bindResults(op, *yielded);
}

/// scf.forall: for every point (iv...) of the iteration space, runs the
/// body, then its scf.forall.in_parallel terminator writes each
/// tensor.parallel_insert_slice's source into the slice of its shared
/// output: out[offset + i * stride] = source[i...]. The results are the
/// shared outputs after every iteration. The body's shared-output arguments
/// are the initial outputs in every iteration.
static LogicalResult runForall(Interpreter &interp, scf::ForallOp op) {
  FailureOr<SmallVector<int64_t>> lbs =
      interp.getInts(op, op.getMixedLowerBound());
  FailureOr<SmallVector<int64_t>> ubs =
      interp.getInts(op, op.getMixedUpperBound());
  FailureOr<SmallVector<int64_t>> steps = interp.getInts(op, op.getMixedStep());
  if (failed(lbs) || failed(ubs) || failed(steps))
    return failure();
  std::vector<TensorRef> inits;
  std::vector<Tensor> outs;
  for (Value init : op.getOutputs()) {
    FailureOr<TensorRef> t = interp.get(op, init);
    if (failed(t))
      return failure();
    inits.push_back(*t);
    outs.push_back(**t);
  }
  // The number of iterations along each dimension.
  std::vector<int64_t> counts;
  for (size_t d = 0; d < lbs->size(); ++d) {
    if ((*steps)[d] <= 0)
      return opError(op) << "has a non-positive step " << (*steps)[d];
    int64_t span = (*ubs)[d] - (*lbs)[d];
    counts.push_back(span <= 0 ? 0 : (span + (*steps)[d] - 1) / (*steps)[d]);
  }
  Block &body = *op.getBody();
  auto terminator = cast<scf::InParallelOp>(body.getTerminator());
  if (failed(forEachIndex(counts, [&](ArrayRef<int64_t> point) {
        std::vector<TensorRef> args;
        for (size_t d = 0; d < point.size(); ++d)
          args.push_back(share(makeScalar(
              ElemKind::Int, double((*lbs)[d] + point[d] * (*steps)[d]))));
        args.insert(args.end(), inits.begin(), inits.end());
        if (failed(interp.runOps(body, op, args)))
          return failure();
        for (Operation &yielding : terminator.getYieldingOps()) {
          auto insert = dyn_cast<tensor::ParallelInsertSliceOp>(yielding);
          if (!insert)
            return LogicalResult(
                opError(&yielding)
                << "is not supported in scf.forall.in_parallel");
          auto dest = dyn_cast<BlockArgument>(insert.getDest());
          unsigned first = op.getRank();
          if (!dest || dest.getOwner() != &body || dest.getArgNumber() < first)
            return LogicalResult(opError(insert)
                                 << "does not insert into a shared output");
          Tensor &out = outs[dest.getArgNumber() - first];
          FailureOr<TensorRef> source = interp.get(insert, insert.getSource());
          FailureOr<SmallVector<int64_t>> offsets =
              interp.getInts(insert, insert.getMixedOffsets());
          FailureOr<SmallVector<int64_t>> sizes =
              interp.getInts(insert, insert.getMixedSizes());
          FailureOr<SmallVector<int64_t>> strides =
              interp.getInts(insert, insert.getMixedStrides());
          if (failed(source) || failed(offsets) || failed(sizes) ||
              failed(strides))
            return failure();
          FailureOr<std::vector<int64_t>> positions =
              slicePositions(insert, out.shape, *offsets, *sizes, *strides);
          if (failed(positions))
            return failure();
          if (static_cast<int64_t>(positions->size()) !=
              (*source)->numElements())
            return LogicalResult(opError(insert)
                                 << "inserts " << (*source)->numElements()
                                 << " elements into a slice of "
                                 << positions->size());
          for (size_t i = 0; i < positions->size(); ++i)
            out.data[(*positions)[i]] = (*source)->data[i];
        }
        return success();
      })))
    return failure();
  return interp.bindResults(op, std::move(outs));
}

static LogicalResult runAssert(Interpreter &interp, cf::AssertOp op) {
  FailureOr<int64_t> holds = interp.getInt(op, op.getArg());
  if (failed(holds))
    return failure();
  if (*holds)
    return success();
  // The message is the language's, at the position of the source construct.
  return emitError(op.getLoc()) << op.getMsg();
}

std::optional<LogicalResult> runSCFOp(Interpreter &interp, Operation *op) {
  if (auto o = dyn_cast<cf::AssertOp>(op))
    return runAssert(interp, o);
  if (auto o = dyn_cast<scf::ForOp>(op))
    return runFor(interp, o);
  if (auto o = dyn_cast<scf::IfOp>(op))
    return runIf(interp, o);
  if (auto o = dyn_cast<scf::ForallOp>(op))
    return runForall(interp, o);
  return std::nullopt;
}

} // namespace interp
} // namespace attnc
