//===- StepEntry.cpp - Entries that resume their recurrences --------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// createStepEntry and the attn-add-step-entries pass (StepEntry.h).
///
/// `@NAME_step` is a clone of `@NAME` whose scans read their initial
/// states from new arguments,
///
///   init { ^bb0(%b...): attn.yield (tensor.extract_slice %S_in[%b..., 0...]) }
///
/// and whose return also yields the scans' final states. It resumes a
/// sequence exactly when every time step of every result depends only on
/// the same time step of the inputs and on the scans' states. The check
/// follows the time axis of each tensor of the function's top level:
///
///  - arguments: given, or inferred (StepEntry.h); an index argument with
///    a time axis is the sequence length;
///  - `tensor.dim` of a time axis is the sequence length. It may only be a
///    scan's length or a time extent of `tensor.empty`/`tensor.generate`;
///    anything that computes with it depends on where the sequence starts;
///  - `tensor.generate` is element-wise in time: it reads time-indexed
///    tensors with one of its own indices at their time axis (which becomes
///    its result's), and uses that index for nothing else;
///  - `tensor.empty`, `linalg.fill`: time axis of their time extent;
///  - `attn.scan` (at the top level, `chunk = 1`, its final states at most
///    returned, its length the sequence length, its batch sizes not): its
///    body (the init region is replaced) reads captured time-indexed
///    tensors only at the step `t` (`tensor.extract`, or `extract_slice`
///    of size 1 there) and uses `t` for nothing else; its output has the
///    time axis after its batch axes;
///  - any other op (`attn.conv1d`, `attn.attention`, `attn.pool`, a linalg
///    reduction, ...) may only read time-independent values: over a time
///    axis it would need the tokens of earlier calls.
///
/// A chunked scan (`chunk = C > 1`) is refused: a call starts a new chunk
/// at its first token, which only matches one long run when every call
/// but the last covers a multiple of C tokens, and never for decoding.
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/StepEntry.h"
#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::attnc {
#define GEN_PASS_DEF_ATTNADDSTEPENTRIESPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace mlir::attnc

using namespace mlir;
using namespace mlir::attnc;

std::string mlir::attnc::getStepEntryName(StringRef name) {
  return (name + "_step").str();
}

/// The scans directly in the body of `func`, in order.
static SmallVector<attn::ScanOp> getTopLevelScans(func::FuncOp func) {
  SmallVector<attn::ScanOp> scans;
  for (Operation &op : func.getBody().front())
    if (auto scan = dyn_cast<attn::ScanOp>(op))
      scans.push_back(scan);
  return scans;
}

/// The index position of `index` among the indices of `user`, a
/// tensor.extract or tensor.extract_slice reading `source`, or -1.
static int64_t getIndexPosition(Operation *user, Value source, Value index) {
  if (auto extract = dyn_cast<tensor::ExtractOp>(user)) {
    if (extract.getTensor() != source)
      return -1;
    for (auto [p, v] : llvm::enumerate(extract.getIndices()))
      if (v == index)
        return p;
    return -1;
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user)) {
    if (slice.getSource() != source)
      return -1;
    for (auto [p, ofr] : llvm::enumerate(slice.getMixedOffsets()))
      if (dyn_cast<Value>(ofr) == index)
        return slice.getStaticSizes()[p] == 1 ? static_cast<int64_t>(p) : -1;
  }
  return -1;
}

/// Calls `fn` on every operand of `op` and of the ops nested in it whose
/// value is defined outside `op`.
static void forEachCapturedOperand(Operation *op,
                                   function_ref<void(OpOperand &)> fn) {
  op->walk([&](Operation *nested) {
    for (OpOperand &operand : nested->getOpOperands()) {
      Operation *owner = operand.get().getParentRegion()->getParentOp();
      if (!op->isAncestor(owner))
        fn(operand);
    }
  });
}

/// The arguments' time axes read off the IR (StepEntry.h).
static SmallVector<int64_t> inferTimeAxes(func::FuncOp func) {
  SmallVector<int64_t> axes(func.getNumArguments(), kNoTimeAxis);
  auto record = [&](Value v, int64_t axis) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &func.getBody().front())
      return;
    if (arg.getType().isIndex())
      axis = 0;
    int64_t &a = axes[arg.getArgNumber()];
    a = a == kNoTimeAxis || a == axis ? axis : kMixedTimeAxis;
  };
  for (attn::ScanOp scan : getTopLevelScans(func)) {
    if (scan.getLength().getType().isIndex())
      record(scan.getLength(), 0);
    if (auto dim = scan.getLength().getDefiningOp<tensor::DimOp>())
      if (std::optional<int64_t> index = dim.getConstantIndex())
        record(dim.getSource(), *index);
    Value t = scan.getBody().front().getArgument(scan.getNumBatchDims());
    for (OpOperand &use : t.getUses()) {
      Operation *user = use.getOwner();
      Value source = isa<tensor::ExtractOp>(user)
                         ? cast<tensor::ExtractOp>(user).getTensor()
                     : isa<tensor::ExtractSliceOp>(user)
                         ? cast<tensor::ExtractSliceOp>(user).getSource()
                         : Value();
      if (!source)
        continue;
      int64_t p = getIndexPosition(user, source, t);
      if (p >= 0)
        record(source, p);
    }
  }
  // What a generate over the sequence length reads at that index runs over
  // time too (GLA's gate, computed before the scan).
  auto isLength = [&](Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg.getOwner() == &func.getBody().front() &&
             v.getType().isIndex() && axes[arg.getArgNumber()] >= 0;
    auto dim = v.getDefiningOp<tensor::DimOp>();
    auto source = dim ? dyn_cast<BlockArgument>(dim.getSource()) : nullptr;
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    return source && source.getOwner() == &func.getBody().front() && index &&
           axes[source.getArgNumber()] == *index;
  };
  for (auto generate : func.getBody().front().getOps<tensor::GenerateOp>()) {
    unsigned next = 0;
    for (auto [d, extent] : llvm::enumerate(generate.getType().getShape())) {
      if (!ShapedType::isDynamic(extent))
        continue;
      Value size = generate.getDynamicExtents()[next++];
      if (!isLength(size))
        continue;
      Value index = generate.getBody().front().getArgument(d);
      generate.walk([&](tensor::ExtractOp extract) {
        int64_t p = getIndexPosition(extract, extract.getTensor(), index);
        if (p >= 0)
          record(extract.getTensor(), p);
      });
    }
  }
  return axes;
}

namespace {
/// Follows the time axes of the top level of a function (see the file
/// comment) and says why it cannot resume, if it cannot.
class TimeLocality {
public:
  TimeLocality(func::FuncOp func, ArrayRef<int64_t> argAxes) : func(func) {
    // An index argument with a time axis is the sequence length itself.
    for (auto [arg, axis] : llvm::zip(func.getArguments(), argAxes)) {
      if (arg.getType().isIndex() && axis >= 0)
        lengths.insert(arg);
      else
        axes[arg] = axis;
    }
  }

  /// Fails with `reason` set when the function cannot resume.
  LogicalResult check(std::string &reason);

private:
  int64_t axisOf(Value v) const {
    auto it = axes.find(v);
    return it == axes.end() ? kNoTimeAxis : it->second;
  }
  LogicalResult fail(Operation *op, const Twine &why) {
    message = ("'" + op->getName().getStringRef() + "' " + why).str();
    return failure();
  }
  LogicalResult checkDim(tensor::DimOp dim);
  LogicalResult checkScan(attn::ScanOp scan);
  LogicalResult checkGenerate(tensor::GenerateOp generate);
  LogicalResult checkOther(Operation *op);
  /// The time axis a result gets from its dynamic extents `sizes` (those of
  /// `type`): kNoTimeAxis, or the position of the one sequence length.
  FailureOr<int64_t> getExtentAxis(Operation *op, RankedTensorType type,
                                   ValueRange sizes);

  func::FuncOp func;
  DenseMap<Value, int64_t> axes;
  /// The values that are the sequence length.
  DenseSet<Value> lengths;
  std::string message;
};
} // namespace

LogicalResult TimeLocality::check(std::string &reason) {
  for (Operation &op : func.getBody().front()) {
    LogicalResult ok = success();
    if (auto dim = dyn_cast<tensor::DimOp>(op))
      ok = checkDim(dim);
    else if (auto scan = dyn_cast<attn::ScanOp>(op))
      ok = checkScan(scan);
    else if (auto generate = dyn_cast<tensor::GenerateOp>(op))
      ok = checkGenerate(generate);
    else
      ok = checkOther(&op);
    if (failed(ok)) {
      reason = "not supported yet: a step entry for '" +
               func.getSymName().str() + "': " + message;
      return failure();
    }
  }
  return success();
}

LogicalResult TimeLocality::checkDim(tensor::DimOp dim) {
  int64_t axis = axisOf(dim.getSource());
  std::optional<int64_t> index = dim.getConstantIndex();
  if (axis == kMixedTimeAxis)
    return fail(dim, "takes an extent of a tensor whose time axis cannot be "
                     "split");
  if (axis >= 0 && (!index || *index == axis))
    lengths.insert(dim.getResult());
  return success();
}

FailureOr<int64_t> TimeLocality::getExtentAxis(Operation *op,
                                               RankedTensorType type,
                                               ValueRange sizes) {
  int64_t axis = kNoTimeAxis;
  unsigned next = 0;
  for (auto [d, extent] : llvm::enumerate(type.getShape())) {
    if (!ShapedType::isDynamic(extent))
      continue;
    if (next < sizes.size() && lengths.contains(sizes[next])) {
      if (axis != kNoTimeAxis)
        return fail(op, "has two time axes");
      axis = d;
    }
    ++next;
  }
  return axis;
}

LogicalResult TimeLocality::checkScan(attn::ScanOp scan) {
  if (scan.getChunk() > 1)
    return fail(scan, "has chunk " + Twine(scan.getChunk()) +
                          ": a call would start a new chunk at its first "
                          "token, and the chunk-start states are not carried");
  if (!lengths.contains(scan.getLength()))
    return fail(scan, "runs over a length that is not the run-time extent of "
                      "the inputs' time axis");
  for (Value size : scan.getBatchSizes())
    if (lengths.contains(size))
      return fail(scan, "has the sequence length as a batch size");
  for (Value final : scan.getFinals())
    for (Operation *user : final.getUsers())
      if (!isa<func::ReturnOp>(user))
        return fail(scan, "has final states that the function computes with");

  Block &body = scan.getBody().front();
  Value t = body.getArgument(scan.getNumBatchDims());
  std::string problem;
  forEachCapturedOperand(scan, [&](OpOperand &operand) {
    // The init region is replaced by the step's state arguments; the
    // scan's own operands are its sizes.
    // The factors region is dropped from the step entry (a step runs one
    // step, not chunks).
    if (!problem.empty() || operand.getOwner() == scan.getOperation() ||
        scan.getInit().isAncestor(operand.getOwner()->getParentRegion()) ||
        scan.getFactors().isAncestor(operand.getOwner()->getParentRegion()))
      return;
    Value v = operand.get();
    if (lengths.contains(v)) {
      problem = "computes with the sequence length in its body";
      return;
    }
    int64_t axis = axisOf(v);
    if (axis == kMixedTimeAxis)
      problem = "reads a tensor whose time axis cannot be split";
    else if (axis >= 0 && getIndexPosition(operand.getOwner(), v, t) != axis)
      problem = "reads a time-indexed tensor other than at its step t (op '" +
                operand.getOwner()->getName().getStringRef().str() + "')";
  });
  if (!problem.empty())
    return fail(scan, problem);
  for (OpOperand &use : t.getUses()) {
    Operation *user = use.getOwner();
    bool asIndex = false;
    for (Value source : user->getOperands())
      if (source != t &&
          !scan->isAncestor(source.getParentRegion()->getParentOp()) &&
          axisOf(source) >= 0 &&
          getIndexPosition(user, source, t) == axisOf(source))
        asIndex = true;
    if (!asIndex)
      return fail(scan, "computes with its time index t (op '" +
                            user->getName().getStringRef() +
                            "'), which restarts at 0 in every call");
  }
  axes[scan.getOutput()] = scan.getNumBatchDims();
  return success();
}

LogicalResult TimeLocality::checkGenerate(tensor::GenerateOp generate) {
  FailureOr<int64_t> extentAxis =
      getExtentAxis(generate, generate.getType(), generate.getDynamicExtents());
  if (failed(extentAxis))
    return failure();
  int64_t axis = *extentAxis;
  Block &body = generate.getBody().front();
  std::string problem;
  forEachCapturedOperand(generate, [&](OpOperand &operand) {
    Value v = operand.get();
    if (!problem.empty() || operand.getOwner() == generate.getOperation())
      return;
    if (lengths.contains(v)) {
      problem = "computes with the sequence length";
      return;
    }
    int64_t vAxis = axisOf(v);
    if (vAxis == kMixedTimeAxis) {
      problem = "reads a tensor whose time axis cannot be split";
      return;
    }
    if (vAxis < 0)
      return;
    auto extract = dyn_cast<tensor::ExtractOp>(operand.getOwner());
    auto index = extract ? dyn_cast<BlockArgument>(extract.getIndices()[vAxis])
                         : BlockArgument();
    if (!extract || extract.getTensor() != v || !index ||
        index.getOwner() != &body ||
        (axis != kNoTimeAxis && axis != index.getArgNumber())) {
      problem = "reads a time-indexed tensor other than element-wise in time";
      return;
    }
    axis = index.getArgNumber();
  });
  if (!problem.empty())
    return fail(generate, problem);
  if (axis >= 0)
    for (OpOperand &use : body.getArgument(axis).getUses()) {
      auto extract = dyn_cast<tensor::ExtractOp>(use.getOwner());
      if (!extract ||
          generate->isAncestor(
              extract.getTensor().getParentRegion()->getParentOp()) ||
          axisOf(extract.getTensor()) !=
              static_cast<int64_t>(use.getOperandNumber()) - 1)
        return fail(generate, "computes with its time index (op '" +
                                  use.getOwner()->getName().getStringRef() +
                                  "')");
    }
  axes[generate.getResult()] = axis;
  return success();
}

LogicalResult TimeLocality::checkOther(Operation *op) {
  if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
    FailureOr<int64_t> axis =
        getExtentAxis(op, empty.getType(), empty.getDynamicSizes());
    if (failed(axis))
      return failure();
    axes[empty.getResult()] = *axis;
    return success();
  }
  if (auto fill = dyn_cast<linalg::FillOp>(op);
      fill && fill.getNumDpsInits() == 1 && fill->getNumResults() == 1 &&
      !lengths.contains(fill.getInputs()[0])) {
    axes[fill->getResult(0)] = axisOf(fill.getOutputs()[0]);
    return success();
  }
  if (isa<func::ReturnOp>(op)) {
    for (Value v : op->getOperands())
      if (axisOf(v) == kMixedTimeAxis)
        return fail(op, "returns a value whose time axis cannot be split");
    return success();
  }
  std::string problem;
  forEachCapturedOperand(op, [&](OpOperand &operand) {
    if (!problem.empty())
      return;
    if (lengths.contains(operand.get()))
      problem = "computes with the sequence length";
    else if (axisOf(operand.get()) != kNoTimeAxis)
      problem = "outside the scans reads a tensor over time: a step would "
                "need the tokens of earlier calls too";
  });
  if (!problem.empty())
    return fail(op, problem);
  return success();
}

/// Replaces the init region of `scan` by reads of `states` at the batch
/// indices.
static void readInitialStates(attn::ScanOp scan, ValueRange states) {
  Block &init = scan.getInit().front();
  while (!init.empty())
    init.back().erase();
  Block &body = scan.getBody().front();
  OpBuilder b = OpBuilder::atBlockEnd(&init);
  Location loc = scan.getLoc();
  unsigned numBatch = scan.getNumBatchDims();
  SmallVector<Value> initial;
  for (auto [i, state] : llvm::enumerate(states)) {
    auto type =
        cast<RankedTensorType>(body.getArgument(numBatch + 1 + i).getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (unsigned d = 0; d < numBatch; ++d) {
      offsets.push_back(init.getArgument(d));
      sizes.push_back(b.getIndexAttr(1));
    }
    for (auto [d, extent] : llvm::enumerate(type.getShape())) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(
          ShapedType::isDynamic(extent)
              ? OpFoldResult(tensor::DimOp::create(b, loc, state, numBatch + d)
                                 .getResult())
              : OpFoldResult(b.getIndexAttr(extent)));
    }
    strides.assign(offsets.size(), b.getIndexAttr(1));
    initial.push_back(tensor::ExtractSliceOp::create(b, loc, type, state,
                                                     offsets, sizes, strides));
  }
  attn::YieldOp::create(b, loc, initial);
}

FailureOr<func::FuncOp>
mlir::attnc::createStepEntry(func::FuncOp func, ArrayRef<int64_t> argTimeAxes,
                             std::string &reason) {
  std::string name = getStepEntryName(func.getSymName());
  if (func.isDeclaration() || getTopLevelScans(func).empty()) {
    reason = "not supported yet: a step entry for '" + func.getSymName().str() +
             "', which has no scan at its top level";
    return failure();
  }
  SmallVector<int64_t> axes(argTimeAxes);
  if (axes.empty())
    axes = inferTimeAxes(func);
  if (axes.size() != func.getNumArguments()) {
    reason = "internal error: " + std::to_string(axes.size()) +
             " time axes for the " + std::to_string(func.getNumArguments()) +
             " arguments of '" + func.getSymName().str() + "'";
    return failure();
  }
  TimeLocality locality(func, axes);
  if (failed(locality.check(reason)))
    return failure();
  auto module = func->getParentOfType<ModuleOp>();
  if (module && module.lookupSymbol(name)) {
    reason = "not supported yet: a step entry for '" + func.getSymName().str() +
             "': '" + name + "' is already defined";
    return failure();
  }

  OpBuilder b(func);
  b.setInsertionPointAfter(func);
  auto step = cast<func::FuncOp>(b.clone(*func.getOperation()));
  step.setSymName(name);
  step.setPublic();
  for (attn::ScanOp scan : getTopLevelScans(step)) {
    scan.dropChunkFactors();
    SmallVector<Value> states;
    for (Value final : scan.getFinals()) {
      unsigned index = step.getNumArguments();
      if (failed(
              step.insertArgument(index, final.getType(), {}, scan.getLoc())))
        return failure();
      states.push_back(step.getArgument(index));
    }
    readInitialStates(scan, states);
    step.walk([&](func::ReturnOp ret) {
      ret->insertOperands(ret->getNumOperands(), scan.getFinals());
    });
    for (Value final : scan.getFinals())
      if (failed(step.insertResult(step.getNumResults(), final.getType(), {})))
        return failure();
  }
  return step;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct AttnAddStepEntriesPass
    : mlir::attnc::impl::AttnAddStepEntriesPassBase<AttnAddStepEntriesPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<func::FuncOp> funcs;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isDeclaration() &&
          !getTopLevelScans(func).empty())
        funcs.push_back(func);
    for (func::FuncOp func : funcs) {
      std::string reason;
      if (failed(createStepEntry(func, {}, reason)))
        func.emitRemark() << "no step entry: " << reason;
    }
  }
};
} // namespace
