//===- BlockLists.h - Data reads of attention masks, per tile ---*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The data reads of an attention mask region (a `tensor.extract` of a
/// tensor defined outside it: document ids `doc[b, i]`, cluster ids,
/// FlexPrefill's `keep[b, h, i / BS, j / BS]`) and the pieces that
/// attn-lower-attention builds its run-time block lists from: which region
/// arguments a read depends on, the read evaluated on its own at given
/// indices (the first phase, which bounds it per query tile or per key
/// tile), and a copy of the mask in which chosen reads are arguments (the
/// per-element mask of a tile whose reads are known, on vectors). See
/// LowerAttention.cpp's file comment for the design.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TRANSFORMS_BLOCKLISTS_H
#define ATTNC_LIB_TRANSFORMS_BLOCKLISTS_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Region.h"

#include <memory>

namespace mlir::attnc {

/// One data read of a mask region `(%b, %h, %i, %j) -> i1`.
struct MaskRead {
  tensor::ExtractOp op;
  /// Whether its indices depend (through other ops of the region, other
  /// reads included) on %h, %i and %j.
  bool onH = false, onI = false, onJ = false;
  /// The ops of the region's block that compute it, in block order, the
  /// read last: pure, without regions.
  SmallVector<Operation *> slice;
};

/// The reads of `mask` that can be bounded per tile: tensor.extract ops of
/// its block reading a tensor defined outside the region, with an element
/// type isBoundableReadType accepts, computed by pure, region-free ops.
SmallVector<MaskRead> findMaskReads(Region &mask);

/// Emits `read` on its own: its slice cloned with the region's arguments
/// bound to `args` = (b, h, i, j). An argument the read does not depend on
/// may be a null Value. Returns the value read.
Value emitMaskReadAt(OpBuilder &builder, Region &mask, const MaskRead &read,
                     ArrayRef<Value> args);

/// A detached copy of `mask` in which the result of each op of `replaced`
/// is a new block argument, after (b, h, i, j) and in the order given; the
/// cf.assert ops are dropped (the caller runs this copy only on tiles whose
/// checks hold: TileVisibility::exact), and ops left unused are erased.
std::unique_ptr<Region> specializeMask(Region &mask,
                                       ArrayRef<Operation *> replaced);

} // namespace mlir::attnc

#endif // ATTNC_LIB_TRANSFORMS_BLOCKLISTS_H
