//===- OutlineKernels.cpp - Outline and deduplicate kernel ops -----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attn-outline-kernels pass. Every "kernel" op of a function (an
/// `attn.attention` or a linalg op with a loop nest worth compiling on its
/// own) is moved into a private `func.func` and replaced by a `func.call`
/// marked `no_inline`. Ops that are the same kernel share one function, so
/// an unrolled architecture (einspace's 8 heads x 2 layers of identical
/// attention, projections and norms) is lowered, optimized and compiled
/// once per distinct kernel instead of once per copy.
///
/// Two ops are the same kernel when OperationEquivalence says so with these
/// value callbacks:
///   - the op's own operands only need equal types (they become the
///     function's arguments, by position);
///   - values defined inside the op's regions must correspond one to one
///     (block arguments and results are paired as the walk goes), so
///     `cmpi sge, %i, %j` and `cmpi sge, %j, %i` are different kernels;
///   - values the regions read from above are compared separately, because
///     OperationEquivalence skips the callback for identical values: an
///     `arith.constant` (cloned into the kernel) by its attribute, any other
///     value by its position among the captured values (an extra argument).
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir {
namespace attnc {
#define GEN_PASS_DEF_ATTNOUTLINEKERNELSPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace attnc
} // namespace mlir

using namespace mlir;
using namespace mlir::attnc;

namespace {

/// Whether `op` is worth a function of its own: attention, and linalg ops on
/// tensors whose loop nest does arithmetic (contractions, generics with a
/// computing body, softmax, reductions) or moves data with a non-trivial
/// access pattern (transpose). linalg.fill, copy and broadcast are a memset
/// or a plain copy loop: cheap to compile, and better left next to their
/// users (fills of zero-initialized accumulators fold into the kernel
/// call's operand).
bool isKernel(Operation *op) {
  if (isa<attn::AttentionOp>(op))
    return true;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp) {
    // linalg.softmax is not a LinalgOp (it has no indexing maps).
    if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op))
      return isa<RankedTensorType>(softmax.getOutput().getType());
    return false;
  }
  if (!linalgOp.hasPureTensorSemantics() || op->getNumResults() == 0)
    return false;
  if (isa<linalg::FillOp, linalg::CopyOp, linalg::BroadcastOp>(op))
    return false;
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    // A body that only yields block arguments is a copy, broadcast or
    // transposition spelled as a generic.
    Block *body = generic.getBody();
    return !llvm::hasSingleElement(*body);
  }
  return true;
}

/// Whether kernels are looked for inside `op`'s regions: function bodies and
/// structured control flow. Not inside attn ops (scan steps are lowered by
/// their own pass) nor inside other kernels.
bool isContainer(Operation *op) {
  return isa<func::FuncOp>(op) || isa<scf::SCFDialect>(op->getDialect());
}

/// The ops that produce the destination operands of `op` (a linalg op),
/// which go into the kernel with it: `tensor.empty`, or `linalg.fill` of a
/// `tensor.empty`. Then the kernel returns a buffer it allocates; a kernel
/// that wrote into a buffer its caller passed would return that argument,
/// and buffer deallocation would copy it (bufferization.clone). Returns
/// false when a destination comes from anything else.
bool getInitOps(Operation *op, SmallVectorImpl<Operation *> &initOps) {
  auto dps = dyn_cast<DestinationStyleOpInterface>(op);
  if (!dps)
    return true;
  for (Value init : dps.getDpsInits()) {
    Operation *def = init.getDefiningOp();
    if (!def)
      return false;
    if (auto fill = dyn_cast<linalg::FillOp>(def)) {
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      if (!empty || !fill.hasPureTensorSemantics())
        return false;
      initOps.push_back(empty);
      initOps.push_back(fill);
    } else if (isa<tensor::EmptyOp>(def)) {
      initOps.push_back(def);
    } else {
      return false;
    }
  }
  return true;
}

/// One kernel: the op and the producers of its destinations, and what they
/// read from outside.
struct Kernel {
  /// The destinations' producers, then the op itself (the last one).
  SmallVector<Operation *> ops;
  /// The positions of the op's operands that become the function's first
  /// arguments (all but the destinations).
  SmallVector<unsigned> argOperands;
  /// The other values read from outside `ops` (by the producers, or inside
  /// the op's regions), except constants, in order of first use: the
  /// function's arguments after those of `argOperands`.
  SmallVector<Value> captures;
  /// The constants read from outside (cloned into the kernel).
  SmallVector<Value> constants;
  /// Per read counted in `captures`/`constants`, in walk order: the
  /// constant's attribute, or null and the capture's position.
  SmallVector<std::pair<Attribute, unsigned>> outsideUses;
  llvm::hash_code hash;

  Operation *getOp() const { return ops.back(); }

  /// Whether `value` is defined by one of `ops` or inside their regions.
  bool isInside(Value value) const {
    Operation *def = value.getDefiningOp();
    if (!def)
      def = value.getParentRegion()->getParentOp();
    return llvm::any_of(ops,
                        [&](Operation *op) { return op->isAncestor(def); });
  }
};

std::optional<Kernel> analyze(Operation *op, bool outlineCaptures) {
  Kernel k;
  if (!getInitOps(op, k.ops))
    return std::nullopt;
  k.ops.push_back(op);
  for (OpOperand &operand : op->getOpOperands())
    if (!k.isInside(operand.get()))
      k.argOperands.push_back(operand.getOperandNumber());

  DenseMap<Value, unsigned> captureIndex;
  llvm::SetVector<Value> constants;
  auto visit = [&](Operation *nested) {
    for (Value operand : nested->getOperands()) {
      if (k.isInside(operand))
        continue;
      Attribute attr;
      if (matchPattern(operand, m_Constant(&attr))) {
        // The attribute carries the type (1 : index differs from 1 : i64).
        constants.insert(operand);
        k.outsideUses.push_back({attr, 0});
        continue;
      }
      auto [it, inserted] =
          captureIndex.try_emplace(operand, k.captures.size());
      if (inserted)
        k.captures.push_back(operand);
      k.outsideUses.push_back({Attribute(), it->second});
    }
  };
  for (Operation *member : k.ops)
    member->walk<WalkOrder::PreOrder>([&](Operation *nested) {
      // The op's own operands are arguments by position.
      if (nested != op)
        visit(nested);
    });
  k.constants = constants.takeVector();
  // Kernels whose regions read values from above other than constants are
  // outlined only with outline-captures: r06's routing attention (its mask
  // reads the cluster ids of queries and keys) computed wrong results once
  // outlined, with the right arguments in the call; until that is
  // understood, such ops stay in place by default. Constants are cloned, so
  // einspace's heads are still shared.
  if (!k.captures.empty() && !outlineCaptures)
    return std::nullopt;

  // The ops themselves (name, attributes, properties, result types),
  // operand types, and the shape of their regions. Collisions only cost a
  // full comparison.
  k.hash = llvm::hash_value(k.ops.size());
  for (Operation *member : k.ops) {
    k.hash = llvm::hash_combine(
        k.hash, OperationEquivalence::computeHash(
                    member, OperationEquivalence::ignoreHashValue,
                    OperationEquivalence::ignoreHashValue,
                    OperationEquivalence::IgnoreLocations));
    for (Type type : member->getOperandTypes())
      k.hash = llvm::hash_combine(k.hash, type);
    member->walk([&](Operation *nested) {
      k.hash = llvm::hash_combine(k.hash, nested->getName());
    });
  }
  for (auto [attr, index] : k.outsideUses)
    k.hash = llvm::hash_combine(k.hash, attr, index);
  return k;
}

/// Whether `a` and `b` compute the same function of their arguments and
/// captured values, so that one outlined function serves both.
bool isSameKernel(const Kernel &a, const Kernel &b) {
  if (a.hash != b.hash || a.ops.size() != b.ops.size() ||
      a.argOperands != b.argOperands || a.outsideUses != b.outsideUses ||
      a.captures.size() != b.captures.size())
    return false;
  for (auto [x, y] : llvm::zip_equal(a.captures, b.captures))
    if (x.getType() != y.getType())
      return false;
  // Values defined inside the two kernels, paired as OperationEquivalence
  // walks them (results and block arguments, in order).
  DenseMap<Value, Value> inner;
  auto check = [&](Value lhs, Value rhs) -> LogicalResult {
    bool lhsInside = a.isInside(lhs);
    if (lhsInside != b.isInside(rhs))
      return failure();
    // The op's argument operands (same position, types already compared)
    // and values read from above (compared through `outsideUses`).
    if (!lhsInside)
      return success();
    return success(inner.lookup(lhs) == rhs);
  };
  auto mark = [&](Value lhs, Value rhs) { inner[lhs] = rhs; };
  // No commutative callback: operands are compared pairwise, so an
  // `addf %x, %y` does not match an `addf %y, %x` (a missed merge, never a
  // wrong one).
  return llvm::all_of_zip(a.ops, b.ops, [&](Operation *x, Operation *y) {
    return OperationEquivalence::isEquivalentTo(
        x, y, check, mark, OperationEquivalence::IgnoreLocations);
  });
}

/// A short name for the kernel function of `op`: `attn.attention` ->
/// `attention`, `linalg.batch_matmul` -> `batch_matmul`.
/// The dots keep it apart from any name of the source language.
std::string kernelName(Operation *op) {
  return ("attnc.kernel." + op->getName().stripDialect()).str();
}

/// Creates the private function computing `k` and returns it. Arguments:
/// the op's operands but its destinations, then the captured values;
/// constants and the destinations' producers are cloned.
func::FuncOp outline(const Kernel &k, ModuleOp module, SymbolTable &symbols,
                     Operation *insertBefore) {
  Operation *op = k.getOp();
  SmallVector<Type> argTypes;
  for (unsigned i : k.argOperands)
    argTypes.push_back(op->getOperand(i).getType());
  for (Value capture : k.captures)
    argTypes.push_back(capture.getType());
  OpBuilder builder(module.getContext());
  auto type = builder.getFunctionType(argTypes, op->getResultTypes());
  auto func = func::FuncOp::create(op->getLoc(), kernelName(op), type);
  func.setPrivate();
  // Renamed with a numeric suffix when the name is taken.
  symbols.insert(func, insertBefore->getIterator());

  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  IRMapping mapping;
  unsigned numArgOperands = k.argOperands.size();
  for (auto [i, capture] : llvm::enumerate(k.captures))
    mapping.map(capture, entry->getArgument(numArgOperands + i));
  for (Value constant : k.constants)
    builder.clone(*constant.getDefiningOp(), mapping);
  for (Operation *init : ArrayRef(k.ops).drop_back())
    builder.clone(*init, mapping);
  // The regions read captures through their arguments; the op's argument
  // operands are set afterwards, so that a value that is both an operand
  // and captured still gets one argument per role (another op of the same
  // class may pass different values in the two).
  Operation *clone = builder.clone(*op, mapping);
  for (auto [i, operand] : llvm::enumerate(k.argOperands))
    clone->setOperand(operand, entry->getArgument(i));
  func::ReturnOp::create(builder, op->getLoc(), clone->getResults());
  return func;
}

struct AttnOutlineKernelsPass
    : attnc::impl::AttnOutlineKernelsPassBase<AttnOutlineKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);

    // The candidates, in program order. Functions are listed first: the
    // outlined ones are added to the module as we go.
    std::vector<Kernel> kernels;
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>()))
      func->walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (isKernel(op)) {
          if (std::optional<Kernel> kernel = analyze(op, outlineCaptures))
            kernels.push_back(std::move(*kernel));
          return WalkResult::skip();
        }
        return isContainer(op) ? WalkResult::advance() : WalkResult::skip();
      });

    // Group the candidates into classes of the same kernel; the first op
    // of a class is its representative.
    DenseMap<llvm::hash_code, SmallVector<unsigned>> byHash;
    SmallVector<unsigned> classOf(kernels.size());
    SmallVector<unsigned> uses(kernels.size(), 0);
    for (auto [i, k] : llvm::enumerate(kernels)) {
      SmallVector<unsigned> &bucket = byHash[k.hash];
      auto same = llvm::find_if(
          bucket, [&](unsigned rep) { return isSameKernel(kernels[rep], k); });
      if (same == bucket.end()) {
        bucket.push_back(i);
        classOf[i] = i;
      } else {
        classOf[i] = *same;
      }
      ++uses[classOf[i]];
    }

    // Outline each class used often enough, then replace its ops by calls.
    DenseMap<unsigned, func::FuncOp> functions;
    for (auto [i, k] : llvm::enumerate(kernels)) {
      unsigned rep = classOf[i];
      if (uses[rep] < minUses)
        continue;
      func::FuncOp &callee = functions[rep];
      Operation *op = k.getOp();
      if (!callee) {
        Operation *parentFunc = op->getParentOfType<func::FuncOp>();
        callee = outline(kernels[rep], module, symbols, parentFunc);
        if (uses[rep] > 1 && llvmNoInline)
          callee->setAttr(
              "passthrough",
              ArrayAttr::get(&getContext(),
                             {StringAttr::get(&getContext(), "noinline")}));
        ++numFunctions;
      }
      SmallVector<Value> args;
      for (unsigned operand : k.argOperands)
        args.push_back(op->getOperand(operand));
      llvm::append_range(args, k.captures);
      OpBuilder builder(op);
      auto call = func::CallOp::create(builder, op->getLoc(), callee, args);
      call.setNoInline(true);
      op->replaceAllUsesWith(call.getResults());
      op->erase();
      // The destinations' producers, unless something else uses them.
      for (Operation *init : llvm::reverse(ArrayRef(k.ops).drop_back()))
        if (init->use_empty())
          init->erase();
      ++numOutlined;
    }
  }
};

} // namespace
