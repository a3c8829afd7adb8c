//===- MaskIntervals.h - Classify mask tiles by interval evaluation -*- C++
//-*-//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Evaluates an attention mask region over a whole (query tile, key tile)
/// at once, with interval arithmetic, to decide whether the tile is empty
/// (no key visible to any query), full (every key visible to every query)
/// or partial. The evaluation is emitted as IR, because tile bounds depend
/// on run-time sequence lengths; what is decided at compile time is the
/// classification rule, derived from the region's ops.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TRANSFORMS_MASKINTERVALS_H
#define ATTNC_LIB_TRANSFORMS_MASKINTERVALS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Region.h"
#include "mlir/IR/Value.h"

namespace mlir::attnc {

/// The run-time classification of one tile: `mayBeVisible` is false when the
/// tile is empty, `mustBeVisible` true when it is full. Both are i1 values.
struct TileVisibility {
  Value mayBeVisible;
  Value mustBeVisible;
};

/// Emits, at the builder's insertion point, the classification of the tile
/// `b x h x [iLo, iHi] x [jLo, jHi]` (inclusive bounds, index values) under
/// `mask`, a region `(%b, %h, %i, %j: index) -> i1` ending in attn.yield.
///
/// Integers are bounded by intervals through constants, index casts, add,
/// sub, mul, min, max and floor/trunc division by a positive constant;
/// comparisons give "must"/"may" from the operand intervals; and/or/xor-with-
/// true and select combine them. Anything else (a tensor.extract of document
/// ids, an unsigned comparison) is unknown, which makes the tile partial:
/// always correct, only slower. Returns the classification; when the region
/// is empty, every key is visible (full).
TileVisibility emitTileVisibility(OpBuilder &builder, Location loc,
                                  Region &mask, Value b, Value h, Value iLo,
                                  Value iHi, Value jLo, Value jHi);

} // namespace mlir::attnc

#endif // ATTNC_LIB_TRANSFORMS_MASKINTERVALS_H
