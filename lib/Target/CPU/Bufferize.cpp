//===- Bufferize.cpp - One-shot bufferization with strided boundaries -----===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// See Bufferize.h. The options mirror what upstream's OneShotBufferizePass
/// sets from its default textual options, plus the two the CPU pipeline
/// needs; only the function boundary type converter differs.
///
//===----------------------------------------------------------------------===//

#include "Bufferize.h"

#include "attnc/Target/CPU/EntryABI.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/Bufferize.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace {
struct BufferizePass : PassWrapper<BufferizePass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(BufferizePass)

  StringRef getArgument() const override { return "attnc-cpu-bufferize"; }
  // Upstream's pass with another boundary layout; named like it in --timing.
  StringRef getName() const override { return "StridedOneShotBufferizePass"; }
  StringRef getDescription() const override {
    return "One-shot module bufferization; function boundaries take memrefs "
           "with dynamic strides and a unit innermost stride";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry
        .insert<bufferization::BufferizationDialect, memref::MemRefDialect>();
  }

  void runOnOperation() override {
    using namespace bufferization;
    OneShotBufferizationOptions opts;
    opts.bufferizeFunctionBoundaries = true;
    // Loops that carry a tensor they rebuild each iteration (MLIRGen's
    // reductions of tensor-valued bodies) yield a new buffer; the
    // deallocation pipeline frees the old ones.
    opts.allowReturnAllocsFromLoops = true;
    // Arguments: the layout of the C entries, so that views are passed on
    // without a copy. Results (of internal functions only: the C entries
    // return nothing) keep the layout their body gives, usually the identity
    // of a fresh buffer: a strided result would make a later collapse_shape
    // of it copy.
    opts.functionArgTypeConverterFn =
        [](TensorLikeType type, Attribute memorySpace, func::FuncOp,
           const BufferizationOptions &) -> BufferLikeType {
      auto ranked = dyn_cast<RankedTensorType>(type);
      if (!ranked)
        return cast<BufferLikeType>(getMemRefTypeWithFullyDynamicLayout(
            cast<TensorType>(type), memorySpace));
      return cast<BufferLikeType>(
          mlir::attnc::cpu::getEntryMemRefType(ranked, memorySpace));
    };
    opts.inferFunctionResultLayout = true;
    // A copy into such an argument (a call operand whose view cannot be
    // cast to it, e.g. a row of an [N, 1] tensor with a dynamic stride) is
    // allocated with the argument's type, whose dynamic offset memref.alloc
    // rejects: allocate the identity layout and cast it.
    opts.allocationFn = [](OpBuilder &b, Location loc, MemRefType type,
                           ValueRange dynShape,
                           unsigned alignment) -> FailureOr<Value> {
      auto identity =
          MemRefType::get(type.getShape(), type.getElementType(),
                          MemRefLayoutAttrInterface(), type.getMemorySpace());
      MemRefType allocType =
          memref::CastOp::areCastCompatible(identity, type) ? identity : type;
      IntegerAttr align =
          alignment ? b.getI64IntegerAttr(alignment) : IntegerAttr();
      Value alloc = memref::AllocOp::create(b, loc, allocType, dynShape, align);
      if (allocType == type)
        return alloc;
      return memref::CastOp::create(b, loc, type, alloc).getResult();
    };
    // Upstream's default for values whose layout nothing determines.
    opts.unknownTypeConverterFn = [](TensorType type, Attribute memorySpace,
                                     const BufferizationOptions &) {
      return getMemRefTypeWithFullyDynamicLayout(type, memorySpace);
    };

    BufferizationState state;
    BufferizationStatistics statistics;
    if (failed(runOneShotModuleBufferize(getOperation(), opts, state,
                                         &statistics)))
      signalPassFailure();
  }
};
} // namespace

std::unique_ptr<Pass> mlir::attnc::cpu::createBufferizePass() {
  return std::make_unique<BufferizePass>();
}
