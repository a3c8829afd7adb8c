//===- BlockLists.cpp - Data reads of attention masks, per tile ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// See BlockLists.h. The analysis is a forward pass over the mask's single
/// block: each value gets the set of region arguments it depends on, and
/// each read the backward slice of ops that compute it.
///
//===----------------------------------------------------------------------===//

#include "BlockLists.h"
#include "MaskIntervals.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::attnc;

namespace {
/// Bits of the region arguments a value depends on.
enum : unsigned { kOnB = 1, kOnH = 2, kOnI = 4, kOnJ = 8 };
} // namespace

SmallVector<MaskRead> mlir::attnc::findMaskReads(Region &mask) {
  SmallVector<MaskRead> reads;
  if (mask.empty())
    return reads;
  Block &block = mask.front();
  llvm::DenseMap<Value, unsigned> deps;
  for (auto [n, arg] : llvm::enumerate(block.getArguments()))
    deps[arg] = 1u << n;
  auto isOutside = [&](Value v) {
    Region *r = v.getParentRegion();
    return !r || !mask.isAncestor(r);
  };
  for (Operation &op : block.without_terminator()) {
    unsigned d = 0;
    for (Value operand : op.getOperands())
      d |= deps.lookup(operand);
    for (Value result : op.getResults())
      deps[result] = d;
    auto extract = dyn_cast<tensor::ExtractOp>(op);
    if (!extract || !isOutside(extract.getTensor()) ||
        !isBoundableReadType(extract.getType()))
      continue;
    // The slice: every op of the block an index is computed by.
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> worklist(extract.getIndices());
    bool ok = true;
    while (!worklist.empty() && ok) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || def->getBlock() != &block || slice.contains(def))
        continue;
      if (def->getNumRegions() != 0 || !isMemoryEffectFree(def)) {
        ok = false;
        break;
      }
      slice.insert(def);
      llvm::append_range(worklist, def->getOperands());
    }
    if (!ok)
      continue;
    MaskRead read;
    read.op = extract;
    read.onH = d & kOnH;
    read.onI = d & kOnI;
    read.onJ = d & kOnJ;
    // In block order, the read last.
    for (Operation &inner : block)
      if (slice.contains(&inner))
        read.slice.push_back(&inner);
    read.slice.push_back(extract);
    reads.push_back(std::move(read));
  }
  return reads;
}

Value mlir::attnc::emitMaskReadAt(OpBuilder &builder, Region &mask,
                                  const MaskRead &read, ArrayRef<Value> args) {
  IRMapping mapping;
  for (auto [arg, value] : llvm::zip(mask.front().getArguments(), args))
    if (value)
      mapping.map(arg, value);
  for (Operation *op : read.slice)
    builder.clone(*op, mapping);
  return mapping.lookup(read.op->getResult(0));
}

std::unique_ptr<Region>
mlir::attnc::specializeMask(Region &mask, ArrayRef<Operation *> replaced) {
  auto region = std::make_unique<Region>(nullptr);
  Block &old = mask.front();
  Block *block = new Block();
  region->push_back(block);
  IRMapping mapping;
  for (BlockArgument arg : old.getArguments())
    mapping.map(arg, block->addArgument(arg.getType(), arg.getLoc()));
  for (Operation *op : replaced)
    mapping.map(op->getResult(0),
                block->addArgument(op->getResult(0).getType(), op->getLoc()));
  // A detached region has no context of its own: take the mask's.
  OpBuilder builder(mask.getContext());
  builder.setInsertionPointToEnd(block);
  for (Operation &op : old) {
    if (isa<cf::AssertOp>(op) || llvm::is_contained(replaced, &op))
      continue;
    builder.clone(op, mapping);
  }
  // What only the replaced reads used (their indices, clamps) is dead.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*block)))
    if (isOpTriviallyDead(&op))
      op.erase();
  return region;
}
