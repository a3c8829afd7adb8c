//===- VectorizeRegion.cpp - Clone an element-wise region on vectors ------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "VectorizeRegion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpDefinition.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

/// Whether `value` is a vector produced for a varying value.
static bool isVector(Value value) { return isa<VectorType>(value.getType()); }

/// The exponent of `x ^ n` when it is a constant of at most 64.
static std::optional<int64_t> constantExponent(math::FPowIOp op) {
  APInt n;
  if (!matchPattern(op.getRhs(), m_ConstantInt(&n)) || n.abs().ugt(64))
    return std::nullopt;
  return n.getSExtValue();
}

/// `x ^ n` on a vector by repeated squaring, for the constant n of
/// constantExponent (1 / x^-n for a negative n).
static Value expandPowI(OpBuilder &builder, Location loc, Value x, int64_t n) {
  auto type = cast<VectorType>(x.getType());
  Value one = arith::ConstantOp::create(
      builder, loc, type,
      DenseElementsAttr::get(type,
                             builder.getFloatAttr(type.getElementType(), 1.0)));
  Value result = one, square = x;
  for (uint64_t e = n < 0 ? -n : n; e; e >>= 1) {
    if (e & 1)
      result = result == one
                   ? square
                   : arith::MulFOp::create(builder, loc, result, square);
    if (e > 1)
      square = arith::MulFOp::create(builder, loc, square, square);
  }
  if (n < 0)
    result = arith::DivFOp::create(builder, loc, one, result);
  return result;
}

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
    // LLVM's powi takes a scalar exponent: only a constant one, expanded
    // into multiplications, has a vector form here.
    if (auto powi = dyn_cast<math::FPowIOp>(op);
        powi && !constantExponent(powi))
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
    if (auto powi = dyn_cast<math::FPowIOp>(op)) {
      Value base = operands.front();
      if (!isVector(base))
        base = broadcast(base);
      mapping.map(powi.getResult(), expandPowI(builder, op.getLoc(), base,
                                               *constantExponent(powi)));
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
