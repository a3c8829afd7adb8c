//===- VectorizeRegion.cpp - Clone an element-wise region on vectors ------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "VectorizeRegion.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/OpDefinition.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

/// Whether `value` is a vector produced for a varying value.
static bool isVector(Value value) { return isa<VectorType>(value.getType()); }

bool mlir::attnc::isVectorizableRegion(Region &region, ArrayRef<bool> varying) {
  if (region.empty())
    return true;
  Block &block = region.front();
  llvm::DenseSet<Value> varyingValues;
  for (auto [arg, isVarying] : llvm::zip(block.getArguments(), varying))
    if (isVarying)
      varyingValues.insert(arg);
  for (Operation &op : block.without_terminator()) {
    bool readsVarying = llvm::any_of(op.getOperands(), [&](Value operand) {
      return varyingValues.contains(operand);
    });
    // A nested region could read a varying value without an operand.
    if (op.getNumRegions() != 0)
      return false;
    if (!readsVarying)
      continue;
    if (!op.hasTrait<OpTrait::Elementwise>() ||
        !op.hasTrait<OpTrait::Vectorizable>())
      return false;
    for (Value result : op.getResults()) {
      if (!result.getType().isIntOrIndexOrFloat())
        return false;
      varyingValues.insert(result);
    }
  }
  return true;
}

Value mlir::attnc::cloneRegionOnVectors(OpBuilder &builder, Location loc,
                                        Region &region, ValueRange args,
                                        int64_t width) {
  Block &block = region.front();
  IRMapping mapping;
  mapping.map(block.getArguments(), args);
  auto broadcast = [&](Value scalar) -> Value {
    auto type = VectorType::get({width}, scalar.getType());
    return vector::BroadcastOp::create(builder, loc, type, scalar);
  };
  for (Operation &op : block.without_terminator()) {
    SmallVector<Value> operands;
    for (Value operand : op.getOperands())
      operands.push_back(mapping.lookupOrDefault(operand));
    if (!llvm::any_of(operands, isVector)) {
      builder.clone(op, mapping);
      continue;
    }
    for (Value &operand : operands)
      if (!isVector(operand))
        operand = broadcast(operand);
    OperationState state(op.getLoc(), op.getName());
    state.addOperands(operands);
    state.addAttributes(op.getAttrs());
    for (Type type : op.getResultTypes())
      state.addTypes(VectorType::get({width}, type));
    Operation *vectorOp = builder.create(state);
    mapping.map(op.getResults(), vectorOp->getResults());
  }
  Value yielded = mapping.lookupOrDefault(block.getTerminator()->getOperand(0));
  return isVector(yielded) ? yielded : broadcast(yielded);
}
